"""The oracle's convolution family against two peers: ONNX's backend node cases and PyTorch's OpInfo.

1. Every ONNX node case of Conv, ConvTranspose, ConvInteger and QLinearConv that the installed
   ``onnx`` package generates (``onnx.backend.test.case.node.{conv,convtranspose,convinteger,
   qlinearconv}``) runs through the oracle: ``auto_pad`` SAME_UPPER/SAME_LOWER and asymmetric pads
   become ``(lo, hi)`` pairs, ConvTranspose's ``output_shape`` becomes pads by the equations of
   ONNX's operator docs. Each case agrees at the precision its data carry: bit for bit when inputs
   and outputs are integers (and always for the integer ops), else within the rigorous float32
   bound ``γ_{K+2}·Σ|x||w| + u·|y|`` of a float32 computation in any order.
2. PyTorch's OpInfo sample inputs for ``nn.functional.conv1d/2d/3d`` and
   ``conv_transpose1d/2d/3d`` (``torch.testing._internal.common_methods_invocations.op_db``), float32
   on CPU, against the oracle in float64 within ``(γ_{K+2}(2^-24) + γ_{K+1}(2^-53))·Σ|x||w|``:
   the sum of torch's and the oracle's rigorous error bounds, so no guessed tolerance.

Run with ``-s`` to see the counts (run / agree / skipped with reasons).
"""
from __future__ import annotations

import functools
import inspect
import math
import warnings

import numpy as np
import pytest
import torch

from cnnspec import oracle

onnx = pytest.importorskip("onnx")

ONNX_OPS = ("Conv", "ConvTranspose", "ConvInteger", "QLinearConv")


@functools.lru_cache(maxsize=None)
def onnx_cases() -> tuple:
    import onnx.backend.test.case.node as node
    from onnx.backend.test.case.node import conv, convinteger, convtranspose, qlinearconv  # noqa: F401
    return tuple(c for c in node._NodeTestCases if c.model.graph.node[0].op_type in ONNX_OPS)


def _attrs(case) -> dict:
    out = {a.name: onnx.helper.get_attribute_value(a) for a in case.model.graph.node[0].attribute}
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in out.items()}


def _conv_pairs(a: dict, x_shape, k) -> list[tuple[int, int]]:
    """ONNX Conv's pads as (lo, hi) pairs (``pads`` = starts then ends; SAME_* by the docs' rule)."""
    nd = len(k)
    s, d = a.get("strides", [1] * nd), a.get("dilations", [1] * nd)
    auto = a.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        from cnnspec.spec.padding import same_pads
        return [same_pads(n, kk, ss, dd, auto == "SAME_UPPER") for n, kk, ss, dd in zip(x_shape, k, s, d)]
    if auto == "VALID":
        return [(0, 0)] * nd
    p = a.get("pads", [0] * 2 * nd)
    return list(zip(p[:nd], p[nd:]))


def _transpose_call(a: dict, x_shape, k) -> dict:
    """ONNX ConvTranspose as our call: pads from ``pads``, or from ``output_shape``/``auto_pad``
    (total = s(n−1) + output_padding + d(k−1) + 1 − output_shape; SAME_UPPER puts the odd pixel at
    the end, otherwise at the start: the ONNX operator docs' equations)."""
    nd = len(k)
    s, d = a.get("strides", [1] * nd), a.get("dilations", [1] * nd)
    op = a.get("output_padding", [0] * nd)
    auto = a.get("auto_pad", "NOTSET")
    shape = a.get("output_shape")
    if shape is None and auto in ("SAME_UPPER", "SAME_LOWER"):
        shape = [n * ss for n, ss in zip(x_shape, s)]
    if shape is not None:
        pairs = []
        for n, kk, ss, dd, o, m in zip(x_shape, k, s, d, op, shape[-nd:]):
            tot = ss * (n - 1) + o + dd * (kk - 1) + 1 - m
            pairs.append((tot // 2, tot - tot // 2) if auto == "SAME_UPPER" else (tot - tot // 2, tot // 2))
    else:
        p = a.get("pads", [0] * 2 * nd)
        pairs = list(zip(p[:nd], p[nd:]))
    # an output_shape beyond the full output gives a negative end pad: the same zeros as that much
    # more output_padding (torch's convention has no negative padding)
    op = tuple(o - min(hi, 0) for o, (_, hi) in zip(op, pairs))
    pairs = [(lo, max(hi, 0)) for lo, hi in pairs]
    assert all(lo >= 0 for lo, _ in pairs), "a negative start pad has no (lo, hi) form"
    return dict(stride=tuple(s), padding=pairs, output_padding=op, groups=a.get("group", 1),
                dilation=tuple(d))


def run_onnx_case(case):
    """``(got, want, bound or None)`` for a case; bound None means "bit for bit"."""
    op = case.model.graph.node[0].op_type
    a = _attrs(case)
    ins, outs = case.data_sets[0]
    want = outs[0]
    x = ins[0]
    nd = x.ndim - 2
    if op == "ConvInteger":
        w = ins[1]
        zx = ins[2] if len(ins) > 2 else 0
        zw = ins[3] if len(ins) > 3 else 0
        pairs = _conv_pairs(a, x.shape[2:], w.shape[2:])
        got = oracle.conv_integer(x, w, zx, zw, tuple(a.get("strides", [1] * nd)), pairs,
                                  tuple(a.get("dilations", [1] * nd)), a.get("group", 1))
        return got, want, None
    if op == "QLinearConv":
        xq, xs, zx, w, ws, zw, ys, zy = ins[:8]
        b = ins[8] if len(ins) > 8 else None
        pairs = _conv_pairs(a, x.shape[2:], w.shape[2:])
        got = oracle.qlinear_conv2d(xq, xs, zx, w, ws, zw, ys, zy, b, tuple(a.get("strides", [1] * nd)),
                                    pairs, tuple(a.get("dilations", [1] * nd)), a.get("group", 1))
        return got, want, None
    x, w = x.astype(np.float64), ins[1].astype(np.float64)
    b = ins[2].astype(np.float64) if len(ins) > 2 else None
    if op == "Conv":
        call = dict(stride=tuple(a.get("strides", [1] * nd)), padding=_conv_pairs(a, x.shape[2:], w.shape[2:]),
                    dilation=tuple(a.get("dilations", [1] * nd)), groups=a.get("group", 1))
        got = oracle.conv(x, w, b, **call)
        scale, k = oracle.abs_conv(x, w, b, **call), math.prod(w.shape[1:])
    else:
        call = _transpose_call(a, x.shape[2:], w.shape[2:])
        got = oracle.conv_transpose(x, w, b, **call)
        scale = oracle.abs_conv_transpose(x, w, b, **call)
        k = math.prod(w.shape[2:]) * (w.shape[0] // call["groups"])
    integral = all(np.array_equal(v, np.round(v)) for v in ins) and np.array_equal(want, np.round(want))
    bound = None if integral else oracle.gamma(k + 2, "float32") * scale + 2 ** -24 * np.abs(want)
    return np.asarray(got, np.float64), want.astype(np.float64), bound


def test_onnx_counts(capsys):
    """Every case of the four ops runs (none skipped) and agrees; the counts are printed. The cases
    are made here, not while the suite is collected (ONNX's generators take seconds)."""
    counts: dict[str, dict[str, int]] = {}
    differ = []
    for case in onnx_cases():
        op = case.model.graph.node[0].op_type
        got, want, bound = run_onnx_case(case)
        ok = got.shape == want.shape and (np.array_equal(got, want) if bound is None
                                          else bool(np.all(np.abs(got - want) <= bound)))
        c = counts.setdefault(op, {"run": 0, "agree": 0, "exact": 0})
        c["run"] += 1
        c["agree"] += ok
        c["exact"] += ok and np.array_equal(got, want)
        if not ok or (bound is None and got.dtype != want.dtype):
            differ.append(case.name)
    with capsys.disabled():
        print(f"\nONNX node cases (skipped: 0): {counts}")
    assert not differ, f"the oracle differs from ONNX on {differ}"
    assert set(counts) == set(ONNX_OPS) and all(c["run"] == c["agree"] for c in counts.values())
    assert sum(c["run"] for c in counts.values()) >= 20


# --- PyTorch OpInfo ---------------------------------------------------------------------------------

def _conv_sig(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    pass


def _transpose_sig(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,  # noqa: A002
                   dilation=1):
    pass


OPINFO = ["nn.functional.conv1d", "nn.functional.conv2d", "nn.functional.conv3d",
          "nn.functional.conv_transpose1d", "nn.functional.conv_transpose2d",
          "nn.functional.conv_transpose3d"]


@functools.lru_cache(maxsize=None)
def opinfo_samples() -> tuple:
    from conftest import opinfo_db

    op_db = opinfo_db()
    out = []
    for op in op_db:
        if op.name in OPINFO:
            for i, s in enumerate(op.sample_inputs("cpu", torch.float32, requires_grad=False)):
                out.append((op.name, i, op, s))
    return tuple(out)


def run_sample(name: str, op, sample):
    """``(torch result, oracle float64 result, rigorous bound on their difference)``."""
    transposed = "transpose" in name
    bound_args = inspect.signature(_transpose_sig if transposed else _conv_sig).bind(
        sample.input, *sample.args, **sample.kwargs)
    bound_args.apply_defaults()
    a = {k: (v.double().numpy() if torch.is_tensor(v) else v) for k, v in bound_args.arguments.items()}
    with torch.no_grad(), warnings.catch_warnings():
        # torch's note that padding='same' with an even kernel copies the input: about speed only
        warnings.filterwarnings("ignore", "Using padding='same' with even kernel", UserWarning)
        got = op.op(sample.input, *sample.args, **sample.kwargs).double().numpy()
    x, w, b = a.pop("input"), a.pop("weight"), a.pop("bias")
    nd = w.ndim - 2
    unbatched = x.ndim == nd + 1
    if unbatched:
        x = x[None]
    if transposed:
        want = oracle.conv_transpose(x, w, b, exact=False, **a)
        scale = oracle.abs_conv_transpose(x, w, b, **a)
        k = math.prod(w.shape[2:]) * (w.shape[0] // a["groups"])
    else:
        want = oracle.conv(x, w, b, a["stride"], a["padding"], a["dilation"], a["groups"], exact=False)
        scale = oracle.abs_conv(x, w, b, a["stride"], a["padding"], a["dilation"], a["groups"])
        k = math.prod(w.shape[1:])
    if unbatched:
        want, scale = want[0], scale[0]
    return got, want, (oracle.gamma(k + 2, "float32") + oracle.gamma(k + 1, "float64")) * scale


def test_opinfo_counts(capsys):
    per: dict[str, int] = {}
    worst = 0.0
    for name, i, op, sample in opinfo_samples():      # made here, not while the suite is collected
        got, want, bound = run_sample(name, op, sample)
        assert got.shape == want.shape and np.all(np.abs(got - want) <= bound), (name, i, sample.kwargs)
        per[name.split(".")[-1]] = per.get(name.split(".")[-1], 0) + 1
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(bound > 0, np.abs(got - want) / bound, 0.0)
        worst = max(worst, float(r.max()) if r.size else 0.0)
    with capsys.disabled():
        print(f"\nOpInfo samples (float32, CPU; skipped: 0): {per}, all agree; worst |torch − oracle| / "
              f"bound = {worst:.3g}")
    assert set(per) == {n.split(".")[-1] for n in OPINFO} and sum(per.values()) >= 60
