"""The convolution family's mutants (tests/buggy/conv_family_bugs.py): each agrees with the exact
oracle on a simple case and differs on a case hypothesis finds and shrinks (self-contained: the
oracle against the mutant directly, not through cnnspec's conformance runner)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from cnnspec import oracle
from cnnspec.errors import UsageError
from tests.buggy.conv_family_bugs import BUGS

ORACLE = {"conv_transpose2d": oracle.conv_transpose2d, "conv3d": oracle.conv3d, "pad": oracle.functional_pad,
          "conv2d": oracle.conv2d, "conv2d_integer": oracle.conv2d_integer,
          "qlinear_conv2d": oracle.qlinear_conv2d}
FIND = settings(max_examples=600, deadline=None, database=None, derandomize=True,
                phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))


def _ints(draw, shape, lo=-2, hi=2, dtype=np.float64):
    flat = draw(st.lists(st.integers(lo, hi), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    return np.array(flat, dtype=dtype).reshape(shape)


@st.composite
def cases(draw, op: str):
    """(args, kwargs) of a small call of ``op``; the shrinker drives every size and value down."""
    if op == "conv_transpose2d":
        g = draw(st.integers(1, 2))
        ci, cgo = g * draw(st.integers(1, 2)), draw(st.integers(1, 2))
        s, d = (draw(st.integers(1, 2)), draw(st.integers(1, 2))), (draw(st.integers(1, 2)), 1)
        op_ = (draw(st.integers(0, max(s[0], d[0]) - 1)), draw(st.integers(0, s[1] - 1)))
        x = _ints(draw, (1, ci, draw(st.integers(1, 3)), draw(st.integers(1, 3))))
        w = _ints(draw, (ci, cgo, draw(st.integers(1, 3)), draw(st.integers(1, 3))))
        return (x, w, None, s, (draw(st.integers(0, 1)), draw(st.integers(0, 1))), op_, g, d), {}
    if op == "conv3d":
        x = _ints(draw, (1, 1, *[draw(st.integers(2, 4)) for _ in range(3)]))
        w = _ints(draw, (1, 1, *[draw(st.integers(1, 2)) for _ in range(3)]))
        return (x, w, None, tuple(draw(st.integers(1, 2)) for _ in range(3))), {}
    if op == "pad":
        x = _ints(draw, (1, draw(st.integers(2, 4)), draw(st.integers(2, 4))), -9, 9)
        mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
        lim = [x.shape[2] - 1, x.shape[2] - 1, x.shape[1] - 1, x.shape[1] - 1]
        return (x, tuple(draw(st.integers(0, v)) for v in lim), mode), {}
    if op == "conv2d":
        x = _ints(draw, (1, 1, draw(st.integers(2, 5)), draw(st.integers(2, 5))))
        w = _ints(draw, (1, 1, draw(st.integers(1, 2)), draw(st.integers(1, 2))))
        padding = draw(st.one_of(st.just("same"), st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)),
                                                           min_size=2, max_size=2)))
        return (x, w, None, 1, padding), {}
    xt = draw(st.sampled_from([np.uint8, np.int8]))
    lo, hi = np.iinfo(xt).min, np.iinfo(xt).max
    co = draw(st.integers(1, 2))
    x = _ints(draw, (1, 1, draw(st.integers(1, 3)), draw(st.integers(1, 3))), lo, hi, xt)
    w = _ints(draw, (co, 1, draw(st.integers(1, 2)), draw(st.integers(1, 2))), lo, hi, xt)
    zx = xt(draw(st.integers(lo, hi)))
    zw = _ints(draw, (co,), lo, hi, xt)
    pad = draw(st.integers(0, 1))
    if op == "conv2d_integer":
        return (x, w, zx, zw, 1, pad), {}
    scale = lambda: np.float32(2.0 ** draw(st.integers(-4, 1)))  # noqa: E731 - powers of two make ties
    return (x, scale(), zx, w, scale(), zw[0], scale(), xt(draw(st.integers(lo, hi))), None, 1, pad), {}


def _differs(bug, op, case) -> bool:
    args, kw = case
    try:
        want = ORACLE[op](*args, **kw)
    except UsageError:            # not a valid call: no verdict
        return False
    try:
        got = np.asarray(bug(*args, **kw))
    except Exception:             # noqa: BLE001 - a crash on a valid call is a difference too
        return True
    return got.shape != want.shape or not np.array_equal(got.astype(np.float64), np.asarray(want, np.float64))


SIMPLE = {
    "conv_transpose2d": ((np.arange(4.0).reshape(1, 1, 2, 2), np.ones((1, 1, 2, 2))), {}),
    "conv3d": ((np.arange(27.0).reshape(1, 1, 3, 3, 3), np.ones((1, 1, 2, 2, 2))), {}),
    "pad": ((np.arange(9.0).reshape(1, 3, 3), (1, 1, 1, 1), "replicate"), {}),
    "conv2d": ((np.arange(16.0).reshape(1, 1, 4, 4), np.ones((1, 1, 3, 3)), None, 1, [(1, 1), (1, 1)]), {}),
    "conv2d_integer": ((np.arange(9, dtype=np.uint8).reshape(1, 1, 3, 3), np.ones((1, 1, 2, 2), np.uint8), 0, 1), {}),
    "qlinear_conv2d": ((np.arange(9, dtype=np.uint8).reshape(1, 1, 3, 3), np.float32(1), 0,
                        np.ones((1, 1, 1, 1), np.uint8), np.float32(1), 0, np.float32(1), np.uint8(0)), {}),
}


@pytest.mark.parametrize("name", sorted(BUGS))
def test_mutant_is_right_on_a_simple_case_and_caught_on_a_shrunk_one(name, capsys):
    op, bug, convention = BUGS[name]
    assert not _differs(bug, op, SIMPLE[op]), f"{name} is wrong even on the simple case"
    try:
        args, kw = find(cases(op), lambda c: _differs(bug, op, c), settings=FIND)
    except NoSuchExample:
        pytest.fail(f"{name} ({convention}): no counterexample in {FIND.max_examples} cases")
    want = ORACLE[op](*args, **kw)
    small = [a.shape if isinstance(a, np.ndarray) and a.ndim else a for a in args]
    with capsys.disabled():
        print(f"\n{name} ({convention}): caught on {op}{tuple(small)}; oracle out shape "
              f"{np.shape(want)}")
    assert _differs(bug, op, (args, kw))


def test_at_least_twelve_mutants_over_every_new_op():
    assert len(BUGS) >= 12 and {op for op, _, _ in BUGS.values()} == set(ORACLE)
