"""The oracle against a peer: ONNX's own backend node test cases for Conv, MaxPool, AveragePool.

Recent ``onnx`` wheels ship no data files; the package's case generators (``onnx.backend.test.
case.node.{conv,maxpool,averagepool}``) produce them. Every case the calling convention of
docs/calling-convention.md can express runs through the oracle; the others are skipped with the reason.
Pooling cases run through the oracle's N-D pooling with ``(lo, hi)`` pads (any dimension, pads over
half the kernel, dilated averages, MaxPool's Indices); :mod:`test_peers_pool` adds LpPool, the
global pools and MaxUnpool.

Precision: some expected outputs are typed by hand to a few decimals, others computed in float32
by ONNX's reference. Each case is compared at the precision its data carry: exactly when inputs and
outputs are integers; to half a unit of the last typed decimal when the outputs have at most 4
decimals (plus the propagated half unit of the inputs' last typed decimal); else within the rigorous float32 bound γ_{K+2}·Σ|x||w| (γ_{K+2}·Σ|x|/divisor for
average pooling) of a float32 computation in any order.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from cnnspec import oracle  # noqa: E402


@functools.lru_cache(maxsize=None)
def cases(op_type: str) -> tuple:
    """ONNX's generated node cases of ``op_type`` (importing a case module runs its exporters)."""
    import onnx.backend.test.case.node as node
    from onnx.backend.test.case.node import (averagepool, conv, globalaveragepool,  # noqa: F401
                                             globalmaxpool, lppool, maxpool, maxunpool)
    return tuple(c for c in node._NodeTestCases if c.model.graph.node[0].op_type == op_type)


def attrs(case) -> dict:
    n = case.model.graph.node[0]
    out = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in out.items()}


def _same_pads(n, k, s, d, upper: bool) -> tuple[int, int]:
    out = -(-n // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return (total // 2, total - total // 2) if upper else (total - total // 2, total // 2)


POOLS = ("MaxPool", "AveragePool", "LpPool")


def pool_call(case, pairs, k, s, d) -> dict:
    """The oracle's N-D pooling call for an ONNX pooling node: ``(lo, hi)`` pads, any dimension, pads
    over half the kernel (``torch_limits=False``), dilated average pooling."""
    a, op = attrs(case), case.model.graph.node[0].op_type
    call = {"kernel_size": tuple(k), "stride": tuple(s), "padding": [tuple(q) for q in pairs],
            "dilation": tuple(d), "ceil_mode": bool(a.get("ceil_mode", 0)), "torch_limits": False}
    if op == "AveragePool":
        call["count_include_pad"] = bool(a.get("count_include_pad", 0))
    if op == "LpPool":
        call["norm_type"] = a.get("p", 2)
    return call


def convention(case) -> tuple[dict | None, str]:
    """Our call for this ONNX case, or ``(None, why it cannot be expressed)``."""
    a = attrs(case)
    op = case.model.graph.node[0].op_type
    ins, outs = case.data_sets[0]
    x = ins[0]
    nd = x.ndim - 2
    if op == "Conv" and nd not in (1, 2):
        return None, f"{nd}-D input (the convention has conv1d, conv2d and 2-D pooling)"
    if x.dtype.kind not in "f" and x.dtype.kind not in "iu":
        return None, f"dtype {x.dtype}"
    k = a.get("kernel_shape") or list(ins[1].shape[2:])
    s = a.get("strides", [1] * nd)
    d = a.get("dilations", [1] * nd)
    auto = a.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pairs = [_same_pads(n, kk, ss, dd, auto == "SAME_UPPER") for n, kk, ss, dd in zip(x.shape[2:], k, s, d)]
    elif auto == "VALID":
        pairs = [(0, 0)] * nd
    else:
        p = a.get("pads", [0] * 2 * nd)
        pairs = list(zip(p[:nd], p[nd:]))
    if op in POOLS:
        return pool_call(case, pairs, k, s, d), ""
    if len(outs) > 1:
        return None, "a second output"
    if any(lo != hi for lo, hi in pairs):
        return None, f"asymmetric pads {pairs} ({auto if auto != 'NOTSET' else 'explicit'})"
    call = {"stride": tuple(s), "padding": tuple(lo for lo, _ in pairs), "dilation": tuple(d),
            "groups": a.get("group", 1)}
    return call, ""


def onnx_indices(torch_index: np.ndarray, spatial: tuple, storage_order: int) -> np.ndarray:
    """ONNX MaxPool's Indices from torch's: flat over the whole ``N×C×spatial`` tensor, and in
    column-major spatial order when ``storage_order=1`` (ONNX operators, MaxPool)."""
    n, c = torch_index.shape[:2]
    i = torch_index
    if storage_order == 1:
        coords = np.unravel_index(i, spatial)
        i = np.ravel_multi_index(coords, spatial, order="F")
    plane = int(np.prod(spatial))
    return i + plane * np.arange(n * c).reshape(n, c, *([1] * (i.ndim - 2)))


def decimals(v: np.ndarray) -> int | None:
    """The fewest decimals (≤ 4) that reproduce every entry to float32 precision, else None."""
    f = v[np.isfinite(v)].astype(np.float64)
    for dgt in range(5):
        if np.all(np.abs(f - np.round(f, dgt)) <= 2 ** -22 * np.maximum(np.abs(f), 1)):
            return dgt
    return None


def run_case(case):
    op = case.model.graph.node[0].op_type
    call, why = convention(case)
    if call is None:
        return None, why
    ins, outs = case.data_sets[0]
    x = ins[0].astype(np.float64)
    want = np.asarray(outs[0], np.float64)
    extra = None
    if op == "Conv":
        w = ins[1].astype(np.float64)
        b = ins[2].astype(np.float64) if len(ins) > 2 else None
        got = oracle.conv(x, w, b, **call)
        got = np.asarray(got, np.float64)
        scale = oracle.abs_conv(x, w, b, **call)
        k = math.prod(w.shape[1:])
    elif op == "MaxPool":
        got, idx = oracle.max_pool(x, **call, return_indices=True)
        if len(outs) > 1:
            extra = (onnx_indices(idx, x.shape[2:], attrs(case).get("storage_order", 0)), outs[1])
        scale, k = np.zeros_like(got), 1
    elif op == "LpPool":
        p = call.pop("norm_type")
        got = oracle.lp_pool(x, p, **call, convention="onnx")
        # a float32 reference rounds each |x|^p and their sum (relative γ_K on the positive sum S),
        # which moves S^(1/p) by at most γ_K/p relatively, then rounds the root: within γ_{K+2}(1 + 1/p)
        k = math.prod(call["kernel_size"])
        scale = np.abs(got) * (1 + 1 / p)
    else:
        got = oracle.avg_pool(x, **call)
        sums, div = oracle.avg_pool_parts(np.abs(x), **call)
        scale, k = sums.astype(np.float64) / np.where(div == 0, 1, div), math.prod(call["kernel_size"])
    return (got, want, scale, k, x, ins, extra), ""


def compare(case, run=run_case) -> str:
    """How the case agreed ("exact", "4 decimals", "float32 bound"); raises AssertionError if not."""
    (got, want, scale, k, x, ins, extra), _ = run(case)
    assert got.shape == want.shape, f"{case.name}: shape {got.shape} vs ONNX {want.shape}"
    if extra is not None:
        assert np.array_equal(extra[0], extra[1]), f"{case.name}: indices {extra[0]} vs ONNX {extra[1]}"
    integral = all(np.all(np.asarray(a, np.float64) == np.round(np.asarray(a, np.float64))) for a in ins)
    dgt = decimals(want)
    if integral and dgt == 0:
        assert np.array_equal(got, want, equal_nan=True), case.name
        return "exact"
    if dgt is not None and dgt <= 4:
        # the outputs typed to dgt decimals; inputs typed to d_in decimals carry their own error
        d_in = decimals(np.asarray(ins[0], np.float64))
        w_mass = np.abs(ins[1]).reshape(len(ins[1]), -1).sum(1).max() if len(ins) > 1 else 1.0
        tol = 0.5 * 10.0 ** -dgt + 2 ** -23 * np.abs(want) + (
            0.5 * 10.0 ** -d_in * w_mass if d_in else 0.0)
        assert np.all(np.abs(got - want) <= tol), f"{case.name}: {np.max(np.abs(got - want))}"
        return f"{dgt} decimals"
    bound = oracle.gamma(k + 2, "float32") * scale + 2 ** -24 * np.abs(want)
    assert np.all(np.abs(got - want) <= bound), f"{case.name}: {np.max(np.abs(got - want) / bound)}"
    return "float32 bound"


OPS = ("Conv", "MaxPool", "AveragePool")


@functools.lru_cache(maxsize=None)
def outcomes(op: str) -> tuple:
    """``(case, None, how it was compared)`` for every case of ``op`` that runs (a disagreement
    raises, naming the case), ``(case, why, None)`` for one that is skipped. The cases are made
    when a test first asks for them, not while the suite is collected (ONNX's case generators
    run its reference pooling in Python: about 8 s)."""
    out = []
    for case in cases(op):
        res, why = run_case(case)
        out.append((case, why, None) if res is None else (case, None, compare(case)))
    return tuple(out)


@pytest.mark.parametrize("op", OPS)
def test_oracle_agrees_with_every_onnx_case_of(op):
    ran = [case.name for case, why, _ in outcomes(op) if why is None]
    assert ran, op


def test_onnx_agreement_summary(capsys):
    """Counts (printed with -s): every expressible case agrees; skipped ones say why."""
    ran, skipped, how = 0, {}, {}
    for op in OPS:
        for case, why, h in outcomes(op):
            if why is not None:
                key = why.split(" (")[0].split(" [")[0]
                skipped[key] = skipped.get(key, 0) + 1
                continue
            ran += 1
            how[h] = how.get(h, 0) + 1
    with capsys.disabled():
        print(f"\nONNX node cases: {ran} run and agree ({how}), {sum(skipped.values())} skipped: {skipped}")
    assert ran >= 45
    # every pooling case is expressible now: 1-D and 3-D, (lo, hi) pads, pads over half the kernel,
    # dilated average pooling and MaxPool's Indices (storage_order included)
    assert all(convention(c)[0] is not None for op in POOLS if op in OPS for c in cases(op))
