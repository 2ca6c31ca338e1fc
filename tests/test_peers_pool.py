"""The pooling oracle against its peers: every ONNX node case of MaxPool, AveragePool, LpPool,
GlobalAveragePool, GlobalMaxPool and MaxUnpool, and PyTorch's own OpInfo sample inputs for the
pooling family (``torch.testing._internal.common_methods_invocations.op_db``) run on CPU.

Agreement: maxima and indices bit for bit; averages within the rigorous float32 bound
``γ_{K+2}·Σ|x|/|divisor|`` of the exact rational (Higham §3.1; DESIGN of the comparison in
:mod:`test_onnx_cases`). max_unpool with repeated indices: torch documents the value written at a
shared position as nondeterministic (the ``MaxUnpool2d`` note), so such positions must hold one of
the colliding values and every other position is compared exactly. Skips say why; the counts are
printed (``pytest -s``).
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

onnx = pytest.importorskip("onnx")
sys.path.insert(0, str(Path(__file__).parent))
from test_onnx_cases import attrs, cases, compare, run_case  # noqa: E402

from cnnspec import oracle  # noqa: E402
from cnnspec.oracle.unpool import colliding  # noqa: E402

ONNX_OPS = ("MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool", "MaxUnpool")


def run_pool_case(case):
    """:func:`test_onnx_cases.run_case` plus the global pools and MaxUnpool."""
    op = case.model.graph.node[0].op_type
    ins, outs = case.data_sets[0]
    x = ins[0].astype(np.float64)
    want = np.asarray(outs[0], np.float64)
    if op == "GlobalMaxPool":
        return (oracle.global_max_pool(x), want, np.zeros(want.shape), 1, x, ins, None), ""
    if op == "GlobalAveragePool":
        k = math.prod(x.shape[2:])
        return (oracle.global_avg_pool(x), want, oracle.global_avg_pool(np.abs(x)), k, x, ins, None), ""
    if op == "MaxUnpool":
        a = attrs(case)
        if any(a.get("pads", [0])):
            return None, "MaxUnpool pads (the torch signature takes symmetric padding only)"
        full = tuple(int(v) for v in ins[2]) if len(ins) > 2 else None
        default = tuple((m - 1) * s + k for m, s, k in zip(x.shape[2:], a["strides"], a["kernel_shape"]))
        spatial = full[2:] if full else default
        n, c = x.shape[:2]
        # ONNX indexes the whole N×C×default tensor and pads the result up to output_shape at the
        # high end (the case's expected output); torch indexes the plane of the output it makes
        idx = ins[1].astype(np.int64) - math.prod(default) * np.arange(n * c).reshape(n, c, *[1] * (x.ndim - 2))
        idx = np.ravel_multi_index(np.unravel_index(idx, default), spatial)
        got = oracle.max_unpool(x, idx, a["kernel_shape"], a.get("strides"), 0, spatial if full else None)
        return (got, want, np.zeros(want.shape), 1, x, ins, None), ""
    return run_case(case)


@pytest.mark.parametrize("op", ONNX_OPS)
def test_oracle_agrees_with_every_onnx_pooling_case_of(op):
    """Every case of ``op`` (made when this test asks, not while the suite is collected); a
    disagreement names its case."""
    for case in cases(op):
        res, why = run_pool_case(case)
        assert res is not None, f"{case.name}: {why}"
        compare(case, run=run_pool_case)


def test_onnx_pooling_counts(capsys):
    per_op = {op: len(cases(op)) for op in ONNX_OPS}
    with capsys.disabled():
        print(f"\nONNX pooling node cases: {sum(per_op.values())} run and agree, 0 skipped: {per_op}")
    assert all(per_op.values()) and sum(per_op.values()) >= 50


# --- PyTorch's OpInfo sample inputs ---------------------------------------------------------------

NOT_EXPRESSIBLE = {
    "nn.functional.fractional_max_pool2d": "random window placement (fractional max pooling is not in "
                                           "the calling convention)",
    "nn.functional.fractional_max_pool3d": "random window placement (fractional max pooling is not in "
                                           "the calling convention)",
}


@pytest.fixture(scope="module")
def pool_opinfos():
    pytest.importorskip("expecttest", reason="torch's OpInfo database imports expecttest")
    from conftest import opinfo_db

    return [o for o in opinfo_db() if "pool" in o.name]


def _avg_bound(op: str, x: np.ndarray, args, kwargs, got: np.ndarray) -> np.ndarray:
    """γ_{K+2}(2^-24)·(the average of |x|) + half an ulp: K the kernel's size (for adaptive pooling
    the whole plane, an upper bound on every window; γ grows with K, so the bound stays rigorous)."""
    nd = int(op[-2])
    scale = np.abs(getattr(oracle, op)(np.abs(x), *args, **kwargs))
    if op.startswith("adaptive"):
        k = math.prod(x.shape[-nd:])
    else:
        k = math.prod(np.broadcast_to(args[0] if args else kwargs["kernel_size"], (nd,)))
    return oracle.gamma(int(k) + 2, "float32") * scale + 2 ** -24 * np.abs(got)


def unpool_agree(x, idx, got, want, nd: int) -> None:
    """Exact where indices are distinct; a shared target holds one of the values aimed at it."""
    if x.ndim == nd + 1:
        x, idx, got, want = (a[None] for a in (x, idx, got, want))
    planes = x.shape[0] * x.shape[1]
    xv, iv, gv, wv = (a.reshape(planes, -1) for a in (x, idx, got, want))
    dup = colliding(idx).reshape(planes, -1)
    rows = np.broadcast_to(np.arange(planes)[:, None], iv.shape)
    shared = np.zeros(wv.shape, bool)
    shared[rows[dup], iv[dup]] = True
    assert np.array_equal(gv[~shared], wv[~shared]), "unpooled values"
    hit = np.zeros(wv.shape, bool)
    np.logical_or.at(hit, (rows[dup], iv[dup]), xv[dup] == wv[rows[dup], iv[dup]])
    assert hit[shared].all(), "a shared position holds none of the values aimed at it"


def backward_agrees(info, sample) -> None:
    """``max_pool2d_with_indices_backward`` of ``ones``: the oracle's scatter-add at its own indices."""
    x = sample.input.detach().numpy()
    kw = {k: v for k, v in sample.kwargs.items() if k != "return_indices"}
    y, idx = oracle.max_pool2d(x, *sample.args, **kw, return_indices=True)
    unb = x.ndim == 3
    g = oracle.max_pool_backward(np.ones((1, *y.shape) if unb else y.shape, np.float32),
                                 idx[None] if unb else idx, x.shape[-2:])
    assert np.array_equal(g[0] if unb else g, info.op(sample.input, *sample.args, **sample.kwargs).numpy())


def agree(op: str, sample) -> None:
    """The oracle's result for one OpInfo sample against torch's own, at the exactness it allows."""
    conv = lambda v: v.numpy() if isinstance(v, torch.Tensor) else v  # noqa: E731
    x = sample.input.detach().numpy()
    args = [conv(a) for a in sample.args]
    kwargs = {k: (tuple(v) if isinstance(v, torch.Size) else conv(v)) for k, v in sample.kwargs.items()}
    want = getattr(torch.nn.functional, op)(sample.input, *sample.args, **sample.kwargs)
    got = getattr(oracle, op)(x, *args, **kwargs)
    if isinstance(want, tuple):
        assert np.array_equal(got[0], want[0].numpy(), equal_nan=True), "values"
        assert np.array_equal(got[1], want[1].numpy()), "indices"
    elif op.startswith("max_unpool"):
        unpool_agree(x, args[0], got, want.numpy(), int(op[-2]))
    elif "max" in op:
        assert np.array_equal(got, want.numpy(), equal_nan=True)
    else:
        err = np.abs(want.double().numpy() - got)
        assert np.all(err <= _avg_bound(op, x, args, kwargs, got)), np.max(err)


@pytest.fixture
def one_thread():
    """torch on one thread: its pool of threads costs ~15 ms per tiny call on a loaded 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_opinfo_samples_agree_with_torch(pool_opinfos, one_thread, capsys):
    ran, skipped = {}, {}
    for info in pool_opinfos:
        if info.name in NOT_EXPRESSIBLE:
            skipped[info.name] = NOT_EXPRESSIBLE[info.name]
            continue
        op = info.name.removeprefix("nn.functional.")
        assert op in oracle.POOL_OPS or op == "max_pool2d_with_indices_backward", op
        n = 0
        for sample in info.sample_inputs("cpu", torch.float32, requires_grad=False):
            try:
                backward_agrees(info, sample) if op.endswith("_backward") else agree(op, sample)
            except AssertionError as e:
                raise AssertionError(f"{info.name}{'.' + info.variant_test_name if info.variant_test_name else ''}: "
                                     f"{tuple(sample.input.shape)} {sample.args} {sample.kwargs}: {e}") from e
            n += 1
        key = info.name + (f".{info.variant_test_name}" if info.variant_test_name else "")
        ran[key] = n
    with capsys.disabled():
        print(f"\nOpInfo pooling samples: {sum(ran.values())} run and agree over {len(ran)} ops {ran}; "
              f"{len(skipped)} ops skipped: {skipped}")
    assert len(ran) >= 19 and sum(ran.values()) > 1000
