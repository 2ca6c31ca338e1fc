"""Conformance claims for the integer convolutions ``conv2d_integer`` (ONNX ConvInteger) and
``qlinear_conv2d`` (ONNX QLinearConv), against the exact oracle :mod:`cnnspec.oracle.integer`.

Integer arithmetic is exact on any hardware, so every claim compares bit for bit, the output dtype
included: int32 for ConvInteger, the dtype of ``y_zero_point`` (uint8 or int8) for QLinearConv.
The calls are *typed* (:class:`~cnnspec.conformance.isolation.Call`): the target receives uint8 or
int8 data, zero points as 0-d (or, per output channel, 1-D) arrays of their tensor's dtype, scales
as float32 arrays and the bias as int32, as ONNX passes them — never the run's float ``--dtype``.

* values and shape/dtype: random geometries (stride, padding, dilation, groups), all four
  uint8/int8 combinations of input and weight, random zero points;
* the zero-point identity ``(x − zx) ⋆ (w − zw) = x ⋆ w − zw·Σx − zx·Σw + K·zx·zw`` on the target
  itself: the call with zero points against calls with zero points 0 on the input padded with
  ``zx`` (a valid uint8/int8 input, so the identity needs no dtype the op does not take);
* saturation: cases built so that some outputs clamp at each end of the output dtype;
* rounding: requantisation multipliers ``2^−j`` and biases chosen so that exact ``.5`` ties occur,
  which must round half to even;
* per output channel ``w_zero_point`` (and ``w_scale``), which ONNX allows; a target that raises
  on them has that claim skipped;
* invalid calls (zero points outside their dtype's range, float or int32 data, a bias that is not
  int32) through :func:`~.generic_claims.invalid_claim`: accepting one is a warning.

Sources: ONNX operator docs, ConvInteger (opset 10) and QLinearConv (opset 10);
``onnx/reference/ops/op_qlinear_conv.py`` (round half to even, clip to the dtype); Jacob et al.,
*Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference*
(CVPR 2018), §2.2–2.3 (the expansion of the zero points).
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

from ..claims import Outcome
from ..oracle.integer import INT_RANGES, conv2d_integer, qlinear_conv2d, requantize
from ..strategies import conv_params
from .generic_claims import HALF, invalid_claim, typed_snippet
from .isolation import Call, WorkerFailure
from .properties import (Failure, OpContext, Property, Verdict, call_words, compare, idx, op_claim,
                         run_property)

OPS = ("conv2d_integer", "qlinear_conv2d")
CONV_INT, QLINEAR = OPS[:1], OPS[1:]
SRC = "ONNX operator docs, ConvInteger (opset 10: int32 output; x padded with x_zero_point)"
QSRC = ("ONNX operator docs, QLinearConv (opset 10: y = saturate(round(acc·x_scale·w_scale/y_scale) "
        "+ y_zero_point)); onnx/reference/ops/op_qlinear_conv.py (round half to even, clip)")
JACOB = "Jacob et al. 2018 §2.2–2.3 (zero points expanded out of the integer product)"
DTYPES = tuple(INT_RANGES)                 # uint8, int8
CONV_INTEGER_ARGS = ("input", "weight", "x_zero_point", "w_zero_point")
QLINEAR_ARGS = ("x", "x_scale", "x_zero_point", "w", "w_scale", "w_zero_point", "y_scale", "y_zero_point", "bias")
_FLOAT32 = (0.5, 0.25, 0.1, 0.0125, 1.0, 0.03)   # scales: any float32 is read exactly; a few kinds


def _geometry(draw, groups: bool = True, padding: bool = True) -> dict:
    return draw(conv_params(ndim=2, max_batch=2, max_channels=4, max_groups=2 if groups else 1,
                            max_side=6, max_kernel=3, max_stride=2, max_dilation=2,
                            max_padding=2 if padding else 0))


def _ints(draw, shape, lo: int, hi: int) -> np.ndarray:
    """Integers in ``[lo, hi]`` as int64 (from a seed: fast; cast to the dtype at the call)."""
    seed = draw(st.integers(0, 2 ** 32 - 1))
    return np.random.default_rng(seed).integers(lo, hi + 1, shape, dtype=np.int64)


def _zero_point(draw, dtype: str, n: int | None = None):
    lo, hi = INT_RANGES[dtype]
    typical = 0 if dtype == "int8" else 128
    if n is None:
        return np.array(draw(st.one_of(st.just(typical), st.integers(lo, hi))), np.int64)
    return np.array([draw(st.integers(lo, hi)) for _ in range(n)], np.int64)


@st.composite
def int_cases(draw, op: str, per_channel: bool = False, small: bool = False) -> dict:
    """A random case of ``op``: geometry, dtypes, data, zero points (1-D ``w_zero_point`` and
    ``w_scale`` when ``per_channel``), for QLinearConv scales, ``y_zero_point`` and maybe a bias."""
    g = _geometry(draw)
    xdt, wdt = draw(st.sampled_from(DTYPES)), draw(st.sampled_from(DTYPES))
    cin, cout = g["C_in"], g["C_out"]
    x = _ints(draw, (g["N"], cin, *g["size"]), *INT_RANGES[xdt])
    w = _ints(draw, (cout, cin // g["groups"], *g["kernel"]), *INT_RANGES[wdt])
    case = {**g, "xdt": xdt, "wdt": wdt, "x": x, "weight": w, "x_zero_point": _zero_point(draw, xdt),
            "w_zero_point": _zero_point(draw, wdt, cout if per_channel else None)}
    if op == "qlinear_conv2d":
        ydt = draw(st.sampled_from(DTYPES))
        k = cin // g["groups"] * math.prod(g["kernel"])
        xs = draw(st.sampled_from(_FLOAT32))
        ws = tuple(draw(st.sampled_from(_FLOAT32)) for _ in range(cout)) if per_channel else \
            draw(st.sampled_from(_FLOAT32))
        # y_scale so that the requantised accumulator spreads over the output range (saturating
        # sometimes); its float32 value is what both sides read
        spread = draw(st.sampled_from([0.5, 3.0, 37.0, 255.0, 1000.0])) * k
        ys = float(np.float32(xs * (ws[0] if per_channel else ws) * spread))
        bias = _ints(draw, (cout,), -5000, 5000) if draw(st.booleans()) else None
        case.update(ydt=ydt, scales=(xs, ws, ys), y_zero_point=_zero_point(draw, ydt), bias=bias)
    return case


def _cast(case: dict) -> dict:
    """The case's arrays in their dtypes (the case keeps int64, which shrinking may halve)."""
    f32 = lambda v: np.asarray(v, np.float32)  # noqa: E731
    out = {"x": case["x"].astype(case["xdt"]), "w": case["weight"].astype(case["wdt"]),
           "zx": case["x_zero_point"].astype(case["xdt"]), "zw": case["w_zero_point"].astype(case["wdt"])}
    if "ydt" in case:
        xs, ws, ys = case["scales"]
        out.update(xs=f32(xs), ws=f32(ws), ys=f32(ys), zy=case["y_zero_point"].astype(case["ydt"]),
                   b=None if case.get("bias") is None else case["bias"].astype(np.int32))
    return out


def _geo_kwargs(case: dict, **over) -> dict:
    return {**case["kwargs"], **over}


def int_call(case: dict, **over) -> Call:
    """The typed call of the case: ``conv2d_integer(x, w, zx, zw, **geometry)`` or
    ``qlinear_conv2d(x, xs, zx, w, ws, zw, ys, zy[, bias], **geometry)``."""
    a = _cast(case)
    if "ydt" not in case:
        return Call((a["x"], a["w"], a["zx"], a["zw"]), _geo_kwargs(case, **over), typed=True,
                    names=CONV_INTEGER_ARGS)
    args = (a["x"], a["xs"], a["zx"], a["w"], a["ws"], a["zw"], a["ys"], a["zy"])
    return Call(args + ((a["b"],) if a["b"] is not None else ()), _geo_kwargs(case, **over), typed=True,
                names=QLINEAR_ARGS)


def expected(case: dict) -> np.ndarray:
    """The oracle's output of the case, in its dtype."""
    a, kw = _cast(case), dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"],
                              groups=case["groups"])
    if "ydt" not in case:
        return conv2d_integer(a["x"], a["w"], a["zx"], a["zw"], **kw)
    return qlinear_conv2d(a["x"], a["xs"], a["zx"], a["w"], a["ws"], a["zw"], a["ys"], a["zy"], a["b"], **kw)


def words(ctx: OpContext, case: dict) -> str:
    zp = {k: np.asarray(case[k]).astype(np.int64).tolist() for k in ("x_zero_point", "w_zero_point", "y_zero_point") if k in case}
    extra = {"scales": tuple(np.float32(v).item() if np.ndim(v) == 0 else tuple(v) for v in case["scales"])} \
        if "scales" in case else {}
    dt = f"{case['xdt']}/{case['wdt']}" + (f"->{case['ydt']}" if "ydt" in case else "")
    return call_words(ctx.op, case, {**zp, **extra, **case["kwargs"]}, x=case["x"], weight=case["weight"]) + \
        f" [{dt}]"


def int_problem(res, want: np.ndarray, line: str) -> Failure | None:
    """A failure when the call raised, modified an input, or returned the wrong shape or dtype."""
    if res.mutated:
        return Failure(f"{line} {res.mutated}, but should leave its inputs unchanged")
    if not res.ok:
        return Failure(f"{line} {'raised' if res.raised else 'returned'} {res.error}, but should return "
                       f"{want.dtype} of shape {want.shape}")
    if tuple(res.value.shape) != want.shape:
        return Failure(f"out.shape={tuple(res.value.shape)}, but should be {want.shape} [{line}]",
                       expected=list(want.shape), got=list(res.value.shape))
    if res.dtype != want.dtype.name:
        return Failure(f"out.dtype={res.dtype}, but should be {want.dtype.name} [{line}]")
    return None


def _snippet(ctx: OpContext, case: dict, failure: Failure) -> str:
    """A Python snippet that calls the target on the case with every array in its own dtype."""
    a = _cast(case)
    order = ["x", "w", "zx", "zw"] if "ydt" not in case else ["x", "xs", "zx", "w", "ws", "zw", "ys", "zy", "b"]
    return typed_snippet(ctx, [a[k] for k in order if a.get(k) is not None], case["kwargs"],
                         failure.expected if failure.direct else None)


def _int_claim(prop: Property):
    """Run ``prop``; a failure's snippet passes every array in its dtype."""
    def check(ctx: OpContext) -> Outcome:
        out = run_property(prop, ctx)
        ce = out.counterexample
        if ce and "case" in (ce.get("args") or {}):
            case = ce["args"].pop("case")
            ce["python"] = _snippet(ctx, case, Failure(ce["line"], expected=ce["expected"],
                                                       direct=ce["expected"] is not None))
        return out
    return check


def _with_case(fail: Failure | None, case: dict) -> Failure | None:
    """The failure with the report's view of the case (zero points, scales, dtypes: what the
    array arguments alone do not show) and the case itself, for the snippet."""
    if fail is not None:
        shown = {k: np.asarray(case[k]).astype(np.int64).tolist()
                 for k in ("x_zero_point", "w_zero_point", "y_zero_point") if k in case}
        shown["dtypes"] = {k: case[k] for k in ("xdt", "wdt", "ydt") if k in case}
        if "scales" in case:
            shown["scales"] = [np.asarray(v, np.float32).tolist() for v in case["scales"]]
        fail.args = {**fail.args, **shown, "case": case}
    return fail


# Three float32 operations make the real multiplier a float: x_scale·w_scale, / y_scale, · acc (exact
# as a float32 below 2^24), in any order; each errs by at most u = 2^-24 relative (Higham 2002 §3.1).
GAMMA3 = 3 * Fraction(1, 2 ** 24) / (1 - 3 * Fraction(1, 2 ** 24))


def _power_of_two(v: float) -> bool:
    m, _ = math.frexp(v)
    return m == 0.5


def exact_multiplier(case: dict) -> bool:
    """Whether every float computation of acc·x_scale·w_scale/y_scale is exact: all scales powers
    of two (then the products and quotients are powers of two, and acc·2^k is exact)."""
    xs, ws, ys = case["scales"]
    return all(_power_of_two(float(np.float32(v))) for v in (xs, ys, *np.ravel(ws)))


def neighbours(case: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """The outputs of ``acc·M·(1 − γ₃)`` and ``acc·M·(1 + γ₃)`` requantised: where the exact value
    ``acc·M`` lies within a float computation's error of a rounding boundary these two differ, and a
    float implementation may give either; elsewhere both equal the exact output. Also the
    accumulator (with the bias) and the exact multipliers, one per output channel."""
    a = _cast(case)
    acc = conv2d_integer(a["x"], a["w"], a["zx"], a["zw"], case["stride"], case["padding"], case["dilation"],
                         case["groups"]).astype(np.int64)
    if a["b"] is not None:
        acc = acc + a["b"].astype(np.int64).reshape(1, -1, 1, 1)
    xs, ys = Fraction(float(a["xs"])), Fraction(float(a["ys"]))
    ws = np.broadcast_to(np.ravel(a["ws"]), (acc.shape[1],))
    m = [xs * Fraction(float(w)) / ys for w in ws]
    zp = np.asarray(a["zy"]).astype(np.int64)
    lo, hi = (requantize(acc, [f * (1 + t) for f in m] if len(m) > 1 else m[0] * (1 + t), zp, case["ydt"])
              for t in (-GAMMA3, GAMMA3))
    return lo, hi, acc, m


def slack_ratio(acc: np.ndarray, m: list, where: np.ndarray) -> float:
    """max over the entries ``where`` of |acc·M − boundary| / (γ₃·|acc·M|): how much of the float
    error bound the nearest rounding boundary needs (≤ 1 for every accepted neighbour)."""
    worst = 0.0
    for i in np.argwhere(where):
        r = int(acc[tuple(i)]) * m[i[1] % len(m)]
        gap = abs(r - (math.floor(r) + Fraction(1, 2)))
        worst = max(worst, float(gap / (GAMMA3 * abs(r))) if r else math.inf)
    return worst


def _check_values(case, res, ctx) -> Verdict:
    want, line = expected(case), words(ctx, case)
    fail = int_problem(res[0], want, line)
    if fail is None and "ydt" in case and not exact_multiplier(case):
        got, (lo, hi, acc, m) = res[0].value, neighbours(case)
        ok = (got == lo) | (got == hi)
        if ok.all():
            off = got != want
            return Verdict(ratio=slack_ratio(acc, m, off) if off.any() else 0.0, inexact=int(off.sum()))
        i = tuple(np.argwhere(~ok)[0])
        alt = f" (or {int(hi[i] if lo[i] == want[i] else lo[i])}: acc·M lies within the float error " \
              f"of a rounding boundary)" if lo[i] != hi[i] else ""
        fail = Failure(f"out{idx(i)}={int(got[i])}, but should be {int(want[i])}{alt} [{line}] "
                       f"({int((~ok).sum())} of {got.size} entries differ)", expected=want.tolist(),
                       got=got.tolist(), direct=True)
    elif fail is None:
        fail = compare(res[0].value.astype(np.float64), want.astype(np.float64), "out", line)
    return Verdict(_with_case(fail, case))


def _check_shape(case, res, ctx) -> Verdict:
    return Verdict(_with_case(int_problem(res[0], expected(case), words(ctx, case)), case))


def _one(case, ctx):
    return [int_call(case)]


op_claim("conformance.integer.shape",
         "The output has shape (N, C_out, ⌊(n + 2p − d(k−1) − 1)/s⌋ + 1, …) and dtype int32 "
         "(ConvInteger) or the dtype of y_zero_point, uint8 or int8 (QLinearConv), for every uint8/int8 "
         "combination of input and weight.", SRC + "; " + QSRC, "exact", OPS)(
    _int_claim(Property(lambda ctx: int_cases(ctx.op), _one, _check_shape, key="integer")))

op_claim("conformance.integer.values",
         "Every output equals the exact value bit for bit: (x − zx) ⋆ (w − zw) in int32, the input "
         "padded with zx (ConvInteger); that accumulator plus the int32 bias, times M = x_scale·w_scale/"
         "y_scale read as exact rationals, rounded half to even, plus y_zero_point, saturated "
         "(QLinearConv) — where acc·M lies within the rigorous error γ₃·|acc·M| of a float computation "
         "of it from a rounding boundary, either neighbour (exact when every scale is a power of two).",
         SRC + "; " + QSRC + "; Higham 2002 §3.1", "exact", OPS)(
    _int_claim(Property(lambda ctx: int_cases(ctx.op), _one, _check_values, key="integer")))


# --- the zero-point identity (ConvInteger), on the target --------------------------------------------

def _padded(case: dict) -> np.ndarray:
    """The input padded explicitly with x_zero_point (int64; in range of the input dtype)."""
    p = case["padding"]
    pads = [(0, 0), (0, 0)] + [(pi, pi) for pi in p]
    return np.pad(case["x"], pads, constant_values=int(case["x_zero_point"]))


def _identity_calls(case, ctx) -> list[Call]:
    X = _padded(case)
    zero = {**case, "x": X, "x_zero_point": np.array(0), "w_zero_point": np.array(0)}
    g = case["groups"]
    ones = {**zero, "weight": np.ones((g, case["C_in"] // g, *case["kernel"]), np.int64)}
    return [int_call(case), int_call(zero, padding=0), int_call(ones, padding=0)]


def _check_identity(case, res, ctx) -> Verdict:
    line = words(ctx, case)
    want = expected(case)
    shapes = (want.shape, want.shape, (want.shape[0], case["groups"], *want.shape[2:]))
    for r, what, shape in zip(res, ("f(x, w, zx, zw)", "f(X, w, 0, 0)", "f(X, 1, 0, 0)"), shapes):
        fail = int_problem(r, np.zeros(shape, np.int32), line)
        if fail is not None:
            fail.line = f"{what}: {fail.line}"
            return Verdict(_with_case(fail, case))
    lhs, raw, sums = res[0].value, res[1].value, res[2].value
    w = case["weight"]
    cout, g = w.shape[0], case["groups"]
    zx = int(case["x_zero_point"])
    zw = np.broadcast_to(case["w_zero_point"], (cout,)).reshape(1, cout, 1, 1)
    sx = np.repeat(sums, cout // g, axis=1)                     # each output channel's group
    sw = w.reshape(cout, -1).sum(1).reshape(1, cout, 1, 1)
    k = w[0].size
    rhs = raw - zw * sx - zx * sw + k * zx * zw
    return Verdict(_with_case(compare(lhs.astype(np.float64), rhs.astype(np.float64), "f(x, w, zx, zw)",
                                      line, "f(X, w) − zw·ΣX − zx·Σw + K·zx·zw"), case))


op_claim("conformance.conv_integer.zero_point",
         "The zero points expand out of the product: f(x, w, zx, zw) = f(X, w, 0, 0) − zw·f(X, 1, 0, 0) "
         "− zx·Σw + K·zx·zw on the target itself, X the input padded with zx and 1 a weight of ones "
         "(per output channel zw when given), exactly.", SRC + "; " + JACOB, "exact", CONV_INT)(
    _int_claim(Property(lambda ctx: int_cases(ctx.op), _identity_calls, _check_identity, share=HALF)))


# --- saturation and rounding (QLinearConv) ----------------------------------------------------------

@st.composite
def saturating_cases(draw) -> dict:
    """No padding, groups 1, x above its zero point everywhere; output channel 0 has every weight
    above w_zero_point, channel 1 every weight below, so with a multiplier ≥ 300 channel 0 clamps at
    the top of the output dtype and channel 1 at the bottom; further channels are random."""
    g = _geometry(draw, groups=False, padding=False)
    xdt, wdt, ydt = (draw(st.sampled_from(DTYPES)) for _ in range(3))
    (xlo, xhi), (wlo, whi) = INT_RANGES[xdt], INT_RANGES[wdt]
    zx = draw(st.integers(xlo, xhi - 1))
    zw = draw(st.integers(wlo + 1, whi - 1))
    cout = draw(st.integers(2, 4))
    x = _ints(draw, (g["N"], g["C_in"], *g["size"]), zx + 1, xhi)
    shape = (g["C_in"], *g["kernel"])
    w = np.stack([_ints(draw, shape, zw + 1, whi), _ints(draw, shape, wlo, zw - 1)] +
                 [_ints(draw, shape, wlo, whi) for _ in range(cout - 2)])
    xs, ws = draw(st.sampled_from(_FLOAT32)), draw(st.sampled_from(_FLOAT32))
    ys = float(np.float32(xs * ws / draw(st.sampled_from([300.0, 1000.0, 1e4]))))
    return {**g, "C_out": cout, "xdt": xdt, "wdt": wdt, "ydt": ydt, "x": x, "weight": w,
            "x_zero_point": np.array(zx), "w_zero_point": np.array(zw), "scales": (xs, ws, ys),
            "y_zero_point": _zero_point(draw, ydt), "bias": None}


op_claim("conformance.qlinear.saturation",
         "Requantised outputs beyond the output dtype clamp to its range, [0, 255] for uint8 and "
         "[−128, 127] for int8, never wrap: inputs built to overflow at both ends.", QSRC, "exact",
         QLINEAR)(_int_claim(Property(lambda ctx: saturating_cases(), _one, _check_values, share=HALF)))


@st.composite
def tie_cases(draw) -> dict:
    """Multipliers x_scale·w_scale/y_scale = 2^−j (powers of two: exact in float32) and small data,
    so the requantised values are multiples of 2^−j near the middle of the output range; the bias makes
    output [0, c, 0, 0] of every channel land on a .5 tie (of either sign)."""
    g = _geometry(draw)
    xdt, wdt, ydt = (draw(st.sampled_from(DTYPES)) for _ in range(3))
    (xlo, xhi), (wlo, whi) = INT_RANGES[xdt], INT_RANGES[wdt]
    zx, zw = draw(st.integers(xlo + 3, xhi - 3)), draw(st.integers(wlo + 3, whi - 3))
    x = _ints(draw, (g["N"], g["C_in"], *g["size"]), zx - 3, zx + 3)
    w = _ints(draw, (g["C_out"], g["C_in"] // g["groups"], *g["kernel"]), zw - 3, zw + 3)
    j = draw(st.integers(1, 3))
    xs, ws = draw(st.sampled_from([1.0, 0.5, 0.25])), draw(st.sampled_from([1.0, 0.5, 2.0]))
    lo, hi = INT_RANGES[ydt]
    case = {**g, "xdt": xdt, "wdt": wdt, "ydt": ydt, "x": x, "weight": w, "x_zero_point": np.array(zx),
            "w_zero_point": np.array(zw), "scales": (xs, ws, xs * ws * 2.0 ** j),
            "y_zero_point": np.array((lo + hi + 1) // 2), "bias": None}
    # the accumulator at [0, c, 0, 0]; a bias that moves it to an odd multiple of 2^(j−1)
    acc = conv2d_integer(x.astype(xdt), w.astype(wdt), zx, zw, g["stride"], g["padding"], g["dilation"],
                         g["groups"])[0, :, 0, 0].astype(np.int64)
    sign = draw(st.sampled_from([1, -1]))
    want = sign * (2 ** (j - 1)) * draw(st.sampled_from([1, 3, 5]))   # acc + b = that: a tie
    case["bias"] = want - acc
    return case


op_claim("conformance.qlinear.rounding",
         "Requantisation rounds half to even: with multipliers 2^−j and biases that put outputs on "
         "exact .5 ties (2.5 → 2, 3.5 → 4, −2.5 → −2), every output equals the exact value.", QSRC,
         "exact", QLINEAR)(_int_claim(Property(lambda ctx: tie_cases(), _one, _check_values, share=HALF)))


# --- per output channel ------------------------------------------------------------------------------

_PER_CHANNEL = Property(lambda ctx: int_cases(ctx.op, per_channel=True), _one, _check_values, share=HALF)


def _per_channel(ctx: OpContext) -> Outcome:
    probe = {"N": 1, "C_in": 1, "C_out": 2, "groups": 1, "size": (2, 2), "kernel": (1, 1), "stride": (1, 1),
             "padding": (0, 0), "dilation": (1, 1), "kwargs": {}, "xdt": "uint8", "wdt": "uint8",
             "x": np.arange(4).reshape(1, 1, 2, 2), "weight": np.array([3, 4]).reshape(2, 1, 1, 1),
             "x_zero_point": np.array(1), "w_zero_point": np.array([1, 2])}
    if ctx.op == "qlinear_conv2d":
        probe.update(ydt="uint8", scales=(1.0, (1.0, 0.5), 1.0), y_zero_point=np.array(0), bias=None)
    try:
        (r,) = ctx.worker.call_many([int_call(probe)])
    except WorkerFailure as e:
        return Outcome(False, f"{e} on a per-channel w_zero_point")
    if not r.ok and r.raised:
        return Outcome(True, f"skipped: the target does not take a per-channel w_zero_point/w_scale "
                             f"({r.error[:120]})", skipped=True)
    return _int_claim(_PER_CHANNEL)(ctx)


op_claim("conformance.integer.per_channel",
         "w_zero_point (and, for QLinearConv, w_scale) may hold one entry per output channel, as ONNX "
         "allows: channel c uses its own entry, exactly; a target that raises on them is skipped.",
         SRC + "; " + QSRC + " (per-axis quantisation along the output channels)", "exact", OPS)(_per_channel)


# --- invalid calls -----------------------------------------------------------------------------------

def invalid_calls(op: str) -> list[tuple[str, Call]]:
    """Calls ONNX's type constraints and ranges rule out: float or int32 data, a zero point
    outside its dtype's range (passed in a wider dtype), a bias that is not int32, mismatched channels."""
    x, w = np.full((1, 2, 4, 4), 3, np.uint8), np.ones((2, 2, 3, 3), np.uint8)
    z = np.array(0, np.uint8)
    if op == "conv2d_integer":
        return [("float32 input", Call((x.astype(np.float32), w, z, z), typed=True)),
                ("int32 weight", Call((x, w.astype(np.int32), z, z), typed=True)),
                ("x_zero_point 300 for a uint8 input", Call((x, w, np.array(300, np.int32), z), typed=True)),
                ("w_zero_point -200 for an int8 weight",
                 Call((x, w.astype(np.int8), z, np.array(-200, np.int16)), typed=True)),
                ("a weight with 3 input channels for an input with 2",
                 Call((x, np.ones((2, 3, 3, 3), np.uint8), z, z), typed=True))]
    s = np.array(0.5, np.float32)
    ok = (x, s, z, w, s, z, s, z)
    return [("float32 input", Call((x.astype(np.float32),) + ok[1:], typed=True)),
            ("y_zero_point 300 for a uint8 output", Call(ok[:7] + (np.array(300, np.int32),), typed=True)),
            ("x_zero_point -1 for a uint8 input", Call(ok[:2] + (np.array(-1, np.int16),) + ok[3:], typed=True)),
            ("a float32 bias (ONNX wants int32)", Call(ok + (np.zeros(2, np.float32),), typed=True)),
            ("w_scale with 3 entries for 2 output channels",
             Call(ok[:4] + (np.full(3, 0.5, np.float32),) + ok[5:], typed=True))]


invalid_claim("conformance.integer.invalid", OPS, invalid_calls, SRC + "; " + QSRC,
              "Calls outside ONNX's type constraints (float or int32 data, a float bias), zero points "
              "outside their dtype's range, a w_scale of the wrong length and mismatched channels are "
              "rejected with an exception; accepting one is a warning, not a wrong value.",
              reference="ONNX ConvInteger/QLinearConv")


def probe_calls(op: str) -> list[Call] | None:
    """Three valid, plain calls of ``op`` for the runner's usage probe; None for ops not here."""
    if op not in OPS:
        return None
    calls = []
    for size, k, kw in ((5, 2, {}), (6, 3, {"padding": 1}), (7, 1, {"stride": 2})):
        case = {"kwargs": kw, "xdt": "uint8", "wdt": "uint8", "x": np.arange(size * size).reshape(1, 1, size, size) % 5,
                "weight": np.ones((2, 1, k, k), np.int64), "x_zero_point": np.array(1), "w_zero_point": np.array(0)}
        if op == "qlinear_conv2d":
            case.update(ydt="uint8", scales=(0.5, 0.5, 1.0), y_zero_point=np.array(10), bias=None)
        calls.append(int_call(case))
    return calls
