"""The oracle's kept working arrays (cnnspec.oracle.workspace) never change a result.

Each kernel reuses per-thread scratch buffers from call to call instead of allocating afresh. What
a kernel reads must be what it wrote in this call, or zeros it asked for: the tests poison every
kept buffer (0xFF bytes, NaN in any float dtype) between calls, run geometries that grow and shrink
the buffers, and run two threads at once; each result must equal ``T(w)·x + b`` in int64.
"""
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnspec import oracle
from cnnspec.oracle import workspace

from test_oracle_conv_paths import ROUTES, _assert_exact, _run, blocking, geometries


def poison() -> int:
    """Fill this thread's kept buffers with 0xFF bytes; return how many there are."""
    pool = workspace._local.__dict__.get("pool", {})
    for buf in pool.values():
        buf.fill(0xFF)
    return len(pool)


@pytest.mark.parametrize("compiled", ROUTES, ids=["numpy", "compiled"])
@settings(max_examples=60, deadline=None)
@given(first=geometries(), second=geometries(), cache=st.sampled_from([40, 10 ** 6]))
def test_a_poisoned_workspace_leaves_every_path_exact(first, second, cache, compiled):
    """Two geometries back to back (the second may need larger or smaller buffers, padding where
    the first had none), every kept buffer poisoned before each call."""
    with blocking(cache=cache, compiled=compiled):
        for c in (first, second, first):
            poison()
            _assert_exact(c, _run(c))


def test_the_kernels_keep_their_buffers_and_poisoning_reaches_them():
    """The test above is not vacuous: a padded convolution and a transposed one leave kept
    buffers, and a poisoned padded border would show in the result if it were not zeroed."""
    workspace.clear()
    rng = np.random.default_rng(1)
    x = rng.integers(-3, 4, (4, 3, 9, 9)).astype(np.float32)
    w = rng.integers(-3, 4, (5, 3, 3, 3)).astype(np.float32)
    want = oracle.conv2d(x, w, None, 1, 2)
    assert poison() >= 3                                  # the padded block, columns, product
    assert np.array_equal(oracle.conv2d(x, w, None, 1, 2), want)
    wt = rng.integers(-3, 4, (3, 4, 3, 3)).astype(np.float32)
    before = len(workspace._local.pool)
    t = oracle.conv_transpose2d(x, wt, None, 2, 1)
    assert len(workspace._local.pool) > before
    poison()
    assert np.array_equal(oracle.conv_transpose2d(x, wt, None, 2, 1), t)


def test_threads_have_their_own_buffers():
    """Two threads convolving different geometries at once (the GEMM releases the GIL) each get
    the exact result every time."""
    rng = np.random.default_rng(2)
    cases = []
    for size, pad, cin in ((12, 1, 4), (7, 3, 2)):
        x = rng.integers(-3, 4, (8, cin, size, size)).astype(np.float32)
        w = rng.integers(-3, 4, (6, cin, 3, 3)).astype(np.float32)
        cases.append((x, w, pad, oracle.conv2d(x, w, None, 1, pad)))
    bad = []

    def work(x, w, pad, want):
        for _ in range(40):
            if not np.array_equal(oracle.conv2d(x, w, None, 1, pad), want):
                bad.append(pad)

    threads = [threading.Thread(target=work, args=c) for c in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bad == []


def test_large_and_object_arrays_are_not_kept():
    """Above MAX_BYTES, and for object arrays, a request is a fresh array each time."""
    big = workspace.scratch("test.big", workspace.MAX_BYTES // 4 + 1, np.float32)
    assert "test.big" not in workspace._local.pool and big.size == workspace.MAX_BYTES // 4 + 1
    obj = workspace.scratch("test.obj", (3,), object, zero=True)
    assert obj.dtype == object and list(obj) == [0, 0, 0]
    small = workspace.scratch("test.small", (5, 7), np.float64)
    again = workspace.scratch("test.small", (3, 2), np.float64, zero=True)
    assert np.shares_memory(small, again) and not again.any()
    workspace.clear()
    assert "pool" not in workspace._local.__dict__
