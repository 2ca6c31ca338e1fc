"""Conformance claims for the rest of the pooling family (``docs/calling-convention.md``):
``max_pool1d/3d``, ``avg_pool1d/3d`` (and ``divisor_override`` on ``avg_pool2d/3d``), ``lp_pool1d/2d``,
``adaptive_avg_pool1d/2d/3d`` and ``adaptive_max_pool1d/2d/3d``.

The tiers follow :mod:`.pool_claims`: maxima are compared bit for bit (NaN and ±inf included);
averages are exact rationals (exact window sums over exact divisors) that a float library may miss
by the rigorous bound ``γ_{K+2}·Σ|x|/divisor``; Lp pooling holds exact power sums to a bound
carried through the root (``t ↦ t^(1/p)``, see :func:`lp_bound`). The lecture's "pooling induces
invariance" is checked on the target itself: max pooling is invariant under permutations within
each window and commutes with ``relu``; every global pool is invariant under circular shifts;
adaptive pooling is ordinary pooling when the output size divides the input size.

Padding over half the kernel is mathematically defined (the windows only see more padding), and
the oracle computes it; torch rejects it (``pool2d_shape_check``), so a target that raises there is
not failed: those cases are skipped for it, and the values of any it returns are claimed.

``max_pool1d/2d/3d(..., return_indices=True)`` and ``max_unpool1d/2d/3d`` are claimed in
:mod:`.pool_indices_claims` (the worker passes int64 indices and returns ``(values, indices)``).

Sources: PyTorch's documentation of each function (``torch.nn.functional``);
``aten/src/ATen/native/Pool.h`` (``pooling_output_shape``, ``pool2d_shape_check``),
``AdaptivePooling.h`` and ``AdaptiveAveragePooling.cpp`` (``start = ⌊i·n/m⌋``,
``end = ⌈(i+1)·n/m⌉``); the lecture (pooling induces invariance); Goodfellow et al. 2016 §9.3.
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from .. import oracle
from ..claims import Outcome
from ..oracle.adaptive import adaptive_avg_pool, adaptive_gather, adaptive_max_pool
from ..spec.pooling import pool_geometry, window_taps
from ..strategies import adaptive_cases, exact_bounds, int_arrays, pool_nd_cases
from .diagnose import diagnoser
from .generic_claims import HALF, batch_claim, bound_verdict, invalid_claim
from .isolation import Call
from .properties import (Failure, OpContext, Property, Verdict, call_words, compare, op_claim,
                         result_problem, run_property)

MAX_ND, AVG_ND, LP = ("max_pool1d", "max_pool3d"), ("avg_pool1d", "avg_pool3d"), ("lp_pool1d", "lp_pool2d")
ADA_AVG = ("adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d")
ADA_MAX = ("adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d")
POOLS, ADAPTIVE = MAX_ND + AVG_ND + LP, ADA_AVG + ADA_MAX
OPS = POOLS + ADAPTIVE
DOCS = "PyTorch docs, torch.nn.functional.{ops}"
SRC = (DOCS.format(ops="max_pool1d/3d, avg_pool1d/3d, lp_pool1d/2d") +
       "; aten/src/ATen/native/Pool.h (pooling_output_shape, pool2d_shape_check)")
ASRC = (DOCS.format(ops="adaptive_avg_pool1d/2d/3d, adaptive_max_pool1d/2d/3d") +
        "; aten/src/ATen/native/AdaptivePooling.h and AdaptiveAveragePooling.cpp (start = ⌊i·n/m⌋, "
        "end = ⌈(i+1)·n/m⌉)")
LECTURE = "Lecture (pooling induces invariance); Goodfellow et al. 2016 §9.3"
SIDES = {1: 9, 2: 7, 3: 5}        # small cases: every claim runs in well under a second per op


def ndim(op: str) -> int:
    return int(op[-2])


def kind(op: str) -> str:
    """``max``, ``avg`` or ``lp``; adaptive ops by what they reduce."""
    return "lp" if op.startswith("lp") else "max" if "max" in op else "avg"


def _call(case: dict, x=None, **kw) -> Call:
    return Call((case["x"] if x is None else x,), {**case["kwargs"], **kw})


def _words(ctx: OpContext, case: dict) -> str:
    return call_words(ctx.op, case, x=case["x"])


def geometry(case: dict):
    return pool_geometry(case["size"], case["kernel"], case["stride"], case["padding"],
                         case["dilation"], case["ceil_mode"], torch_limits=False)


def out_shape(case: dict) -> tuple[int, ...]:
    spatial = case["output"] if "output" in case else geometry(case).output_size
    return (case["x"].shape[0], case["C"], *spatial)


def expected(case: dict) -> np.ndarray:
    """The oracle's value of the case's call (padding over half the kernel allowed)."""
    x = case["x"]
    if "output" in case:
        return (adaptive_max_pool if case["kind"] == "max" else adaptive_avg_pool)(
            x, case["output"])
    a = dict(stride=case["stride"], padding=case["padding"], ceil_mode=case["ceil_mode"], torch_limits=False)
    if case["kind"] == "max":
        return oracle.max_pool(x, case["kernel"], dilation=case["dilation"], **a)
    if case["kind"] == "lp":
        return oracle.lp_pool(x, case["norm_type"], case["kernel"], case["stride"], 0, 1, case["ceil_mode"])
    return oracle.avg_pool(x, case["kernel"], count_include_pad=case["count_include_pad"],
                           divisor_override=case["divisor_override"], **a)


def _cases(ctx: OpContext, **kw) -> st.SearchStrategy[dict]:
    nd, k = ndim(ctx.op), kind(ctx.op)
    if ctx.op.startswith("adaptive"):
        return adaptive_cases(ndim=nd, max_side=SIDES[nd], **kw).map(lambda c: {**c, "kind": k})
    return pool_nd_cases(ndim=nd, kind=k, max_side=SIDES[nd], **kw)


def _problem(case: dict, res, ctx: OpContext, shape=None) -> Failure | None:
    line = _words(ctx, case)
    for r in res:
        p = result_problem(r, "out", out_shape(case) if shape is None else shape, ctx, line)
        if p:
            return p
    return None


def _one(c, ctx):
    return [_call(c)]


# --- shape -------------------------------------------------------------------------------------------

op_claim("conformance.pool_nd.shape",
         "The output has shape (N, C, ⌊(n + 2p − d(k−1) − 1 (+ s − 1 with ceil_mode))/s⌋ + 1, …) "
         "per axis (a last ceil-mode window that starts beyond the input and its left padding is "
         "dropped; stride=None means kernel_size; Lp pooling has no padding); adaptive pooling has "
         "(N, C, *output_size), None keeping that axis's size; the dtype is the input's.",
         SRC + "; " + ASRC, "property", OPS,
         Property(_cases, _one, lambda c, r, ctx: Verdict(_problem(c, r, ctx)), key="nd"))


# --- values ------------------------------------------------------------------------------------------

def _check_exact(case, res, ctx) -> Verdict:
    return Verdict(_problem(case, res, ctx) or compare(res[0].value, expected(case), "out", _words(ctx, case)))


op_claim("conformance.pool_nd.max_values",
         "Each output is the maximum of its window of the input padded with −inf (dilated, strided, "
         "ceil_mode windows clipped), bit for bit; adaptive max pooling takes the window "
         "[⌊i·n/m⌋, ⌈(i+1)·n/m⌉) along each axis.", SRC + "; " + ASRC, "exact", MAX_ND + ADA_MAX,
         Property(_cases, _one, _check_exact, key="nd", diagnose=diagnoser(expected)))

op_claim("conformance.pool_nd.max_special",
         "Special values follow IEEE max: a NaN in a window gives NaN; +inf and −inf are ordinary "
         "extremes.", SRC + "; IEEE 754-2019 §9.6 (maximum propagates NaN)", "exact", MAX_ND + ADA_MAX,
         Property(lambda ctx: _cases(ctx, special=True), _one, _check_exact, share=HALF,
                  diagnose=diagnoser(expected)))


def avg_verdict(got: np.ndarray, sums: np.ndarray, div: np.ndarray, abs_sums: np.ndarray, taps: int,
                dtype: str, line: str) -> Verdict:
    """The exact rational ``sums/div`` against ``got``, within ``γ_{taps+2}·Σ|x|/|div|`` (``taps − 1``
    additions, a reciprocal and a product, or one division; Higham 2002 §3.1) plus float64's
    rounding of the reference quotient. An ulp off the quotient is no news: never "inexact"."""
    sums, abs_sums = np.asarray(sums, np.float64), np.asarray(abs_sums, np.float64)
    want = sums / div
    bound = (oracle.gamma(taps + 2, dtype) + oracle.gamma(2, "float64")) * abs_sums / np.abs(div)
    v = bound_verdict(got, want, bound, line)
    v.inexact = 0
    return v


def _avg_parts(case: dict, x: np.ndarray):
    return oracle.avg_pool_parts(x, case["kernel"], case["stride"], case["padding"], case["ceil_mode"],
                                 case["count_include_pad"], case["divisor_override"], torch_limits=False)


def _check_avg(case, res, ctx) -> Verdict:
    problem = _problem(case, res, ctx)
    if problem:
        return Verdict(problem)
    sums, div = _avg_parts(case, case["x"])
    abs_sums, _ = _avg_parts(case, np.abs(case["x"]))
    return avg_verdict(res[0].value, sums, div, abs_sums, math.prod(case["kernel"]), ctx.dtype,
                       _words(ctx, case))


op_claim("conformance.pool_nd.avg_values",
         "Each output is the window sum of the zero-padded input divided by the window's size "
         "(count_include_pad: clipped to the padded input; else the real entries), within the "
         "rigorous bound γ_{K+2}·Σ|x|/divisor of any order of summation and division.",
         SRC + "; aten/src/ATen/native/cpu/AvgPoolKernel.cpp; Higham 2002 §3.1", "property", AVG_ND,
         Property(_cases, _one, _check_avg, key="nd", diagnose=diagnoser(expected, exact=False)))

op_claim("conformance.pool_nd.divisor_override",
         "With divisor_override=D every output is its window sum divided by D, whatever the window "
         "(count_include_pad and the ceil-mode edge no longer matter), within γ_{K+2}·Σ|x|/D.",
         DOCS.format(ops="avg_pool2d/3d (divisor_override)") + "; aten/src/ATen/native/cpu/AvgPoolKernel.cpp",
         "property", ("avg_pool2d", "avg_pool3d"),
         Property(lambda ctx: _cases(ctx, divisor_override=True), _one, _check_avg, share=HALF,
                  diagnose=diagnoser(expected, exact=False)))


def _ada_parts(case: dict):
    v, valid, _, count = adaptive_gather(case["x"], case["output"])
    s = np.where(valid, v, 0.0)
    return s.sum(-1), count, np.abs(s).sum(-1)      # small integers: exact in float64


def _check_ada_avg(case, res, ctx) -> Verdict:
    problem = _problem(case, res, ctx)
    if problem:
        return Verdict(problem)
    sums, count, abs_sums = _ada_parts(case)
    return avg_verdict(res[0].value, sums, count, abs_sums, int(count.max()), ctx.dtype, _words(ctx, case))


op_claim("conformance.adaptive.avg_values",
         "Each output is the mean of its window [⌊i·n/m⌋, ⌈(i+1)·n/m⌉) along each axis (windows of "
         "two sizes when m does not divide n; repeated windows when m > n), within γ_{K+2}·Σ|x|/|window|.",
         ASRC + "; Higham 2002 §3.1", "property", ADA_AVG,
         Property(_cases, _one, _check_ada_avg, key="nd", diagnose=diagnoser(expected, exact=False)))


def lp_bound(t: np.ndarray, a: np.ndarray, p: float, taps: int, dtype: str) -> np.ndarray:
    """A rigorous bound on ``|fl((K·avg(x^p))^(1/p)) − T^(1/p)|`` for the exact ``T`` (``t``), with
    ``a`` the same sum of ``|x|^p``: the power sum is off by at most ``E = γ_{K+p+4}·a`` (``p − 1``
    products per power, a faithful ``pow``, ``K − 1`` additions, the divisor and ``K``), and the root
    maps an error ``E`` to at most ``E/(p·(T − E)^(1−1/p))`` when ``T > 2E`` (mean value theorem),
    else to at most ``E^(1/p)`` (``t^(1/p)`` is ``1/p``-Hölder with constant 1); plus the root's own
    rounding (a faithful ``pow``: 2u) and float64's rounding of the reference."""
    e = oracle.gamma(taps + int(math.ceil(p)) + 4, dtype) * a
    ta = np.abs(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        far = e / (p * np.maximum(ta - e, 0) ** (1 - 1 / p))
        root = np.where(ta > 2 * e, far, e ** (1 / p))
    want = np.abs(np.power(ta, 1 / p))
    return root + (2 * oracle.unit_roundoff(dtype) + oracle.gamma(2, "float64")) * want


def _check_lp(case, res, ctx) -> Verdict:
    problem = _problem(case, res, ctx)
    if problem:
        return Verdict(problem)
    p = float(case["norm_type"])
    a = dict(kernel_size=case["kernel"], stride=case["stride"], ceil_mode=case["ceil_mode"])
    s, c = oracle.lp_pool_parts(case["x"], p, **a)
    s_abs, _ = oracle.lp_pool_parts(case["x"], p, absolute=True, **a)
    k = math.prod(case["kernel"])
    t, t_abs = np.asarray(s, np.float64) * k / c, np.asarray(s_abs, np.float64) * k / c
    want = expected(case)
    got = res[0].value.copy()
    both = np.isnan(got) & np.isnan(want)          # a negative power sum (odd p): NaN on both sides
    got[both] = 0.0
    return bound_verdict(got, np.where(both, 0.0, want), lp_bound(t, t_abs, p, k, ctx.dtype), _words(ctx, case))


op_claim("conformance.pool_nd.lp_values",
         "Each output is (K·avg_pool(x^p))^(1/p): the p-th root of the window's power sum (scaled by "
         "K/count at a ceil-mode edge), x^p without an absolute value (a negative sum with p ≠ 1 "
         "gives NaN), within the rigorous bound carried through the root.",
         DOCS.format(ops="lp_pool1d/2d") + " (the implementation in torch/nn/functional.py)",
         "property", LP,
         Property(_cases, _one, _check_lp, key="nd", diagnose=diagnoser(expected, exact=False)))


# --- padding over half the kernel ----------------------------------------------------------------------

_OVER_HALF = "over_half"   # ctx.cache key: [raised, total] calls of the claim's first pass


def _check_over_half(case, res, ctx) -> Verdict:
    tally = ctx.cache.setdefault(_OVER_HALF, [0, 0])
    tally[1] += 1
    if not res[0].ok and res[0].raised:   # torch's rule, not a wrong value: the case is skipped
        tally[0] += 1
        return Verdict()
    return _check_avg(case, res, ctx) if case["kind"] == "avg" else _check_exact(case, res, ctx)


_OVER_HALF_PROP = Property(lambda ctx: _cases(ctx, over_half=True, max_kernel=4), _one, _check_over_half,
                           share=HALF)


def _over_half(ctx: OpContext) -> Outcome:
    ctx.cache[_OVER_HALF] = [0, 0]
    out = run_property(_OVER_HALF_PROP, ctx)
    raised, total = ctx.cache[_OVER_HALF]
    if out.holds and raised and raised == total:
        return Outcome(True, f"the target raised on all {total} calls with padding over half the "
                             f"kernel (as torch does): nothing to compare", examples=total, skipped=True)
    if out.holds and raised:
        out.message = (f"{raised} of {total} calls raised (padding over half the kernel, outside torch's "
                       f"limits) and were skipped; the rest agree. " + out.message).strip()
    return out


op_claim("conformance.pool_nd.over_half",
         "Padding over half the kernel (k//2 < p < k, beyond torch's limit but mathematically defined: "
         "each window still holds a real entry) gives the same window values as any padding: −inf "
         "padding for max, the stated divisors for avg. A target that raises there, as torch does, "
         "is not failed: those cases are skipped.",
         SRC + "; ONNX MaxPool and AveragePool (pads are not limited to half the kernel)", "property",
         ("max_pool2d", "avg_pool2d") + MAX_ND + AVG_ND, draws=_OVER_HALF_PROP)(_over_half)


# --- invariances -----------------------------------------------------------------------------------------

@st.composite
def _tiled(draw, nd: int, adaptive: bool) -> dict:
    """Non-overlapping windows (stride = kernel, no padding); adaptive: size = output·kernel."""
    k = tuple(draw(st.integers(1, 3 if nd < 3 else 2)) for _ in range(nd))
    m = tuple(draw(st.integers(1, 3 if nd < 3 else 2)) for _ in range(nd))
    size = tuple(ki * mi + (0 if adaptive else draw(st.integers(0, ki - 1))) for ki, mi in zip(k, m))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    x = draw(int_arrays((n, c, *size), bound=draw(st.sampled_from([1, 3, 50]))))
    kw = {"output_size": m} if adaptive else {"kernel_size": k}
    case = {"N": n, "C": c, "size": size, "kernel": k, "stride": k, "padding": (0,) * nd,
            "dilation": (1,) * nd, "ceil_mode": False, "kind": "max", "kwargs": kw, "x": x,
            "perm_seed": draw(st.integers(0, 2 ** 32 - 1))}
    return {**case, "output": m} if adaptive else case


def _tiles(ctx: OpContext):
    return _tiled(ndim(ctx.op), ctx.op.startswith("adaptive"))


def _permuted(case: dict) -> np.ndarray:
    """``x`` with the entries of each (non-overlapping) window shuffled, in any number of dimensions."""
    geo = pool_geometry(case["size"], case["kernel"])
    flat, _, _ = window_taps(case["size"], geo)
    rows = flat.reshape(-1, flat.shape[-1])
    perm = np.arange(math.prod(case["size"]))
    perm[rows] = np.random.default_rng(case["perm_seed"]).permuted(rows, axis=1)
    return case["x"].reshape(*case["x"].shape[:2], -1)[..., perm].reshape(case["x"].shape)


def _check_pair(name: str, rhs: str, f=lambda y: y):
    def check(case, res, ctx) -> Verdict:
        problem = _problem(case, res, ctx)
        return Verdict(problem or compare(res[1].value, f(res[0].value), name, _words(ctx, case), rhs))
    return check


op_claim("conformance.pool_nd.permutation",
         "Max pooling is invariant under any permutation of the entries within each window "
         "(non-overlapping windows; adaptive pooling whose output size divides the input size).",
         LECTURE, "property", MAX_ND + ADA_MAX,
         Property(_tiles, lambda c, ctx: [_call(c), _call(c, x=_permuted(c))],
                  _check_pair("f(permute_within_windows(x))", "f(x)"), share=HALF))

op_claim("conformance.pool_nd.monotone",
         "Max pooling commutes with every nondecreasing map: f(relu(x)) = relu(f(x)).",
         LECTURE, "property", MAX_ND + ADA_MAX,
         Property(_tiles, lambda c, ctx: [_call(c), _call(c, x=np.maximum(c["x"], 0))],
                  _check_pair("f(relu(x))", "relu(f(x))", lambda y: np.maximum(y, 0)), share=HALF))


@st.composite
def _global(draw, op: str, dtype: str = "float32") -> dict:
    """One window over the whole input (kernel_size = input size; adaptive: output_size 1) and a
    circular shift. Integer data (|x| ≤ 4 for Lp) whose every sum (of ``|x|^p`` for Lp) is an
    integer of ``dtype``, in any order."""
    nd = ndim(op)
    size = tuple(draw(st.integers(1, 5 if nd < 3 else 3)) for _ in range(nd))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    if kind(op) == "lp":   # the largest that fits; norm_type is at most 3 below
        bound = max(exact_bounds([1, 2, 4], math.prod(size), dtype, power=3))
    else:
        bound = draw(st.sampled_from(exact_bounds([1, 9, 100], math.prod(size), dtype)))
    x = draw(int_arrays((n, c, *size), bound=bound))
    shift = tuple(draw(st.integers(-s, s)) for s in size)
    if op.startswith("adaptive"):
        kw = {"output_size": 1}
    elif kind(op) == "lp":
        kw = {"norm_type": draw(st.sampled_from([1, 2, 3])), "kernel_size": size[0] if nd == 1 else size}
    else:
        kw = {"kernel_size": size}
    return {"N": n, "C": c, "size": size, "kwargs": kw, "x": x, "shift": shift}


def _global_problem(case, res, ctx) -> Failure | None:
    return _problem(case, res, ctx, shape=(case["x"].shape[0], case["C"], *(1,) * len(case["size"])))


def _check_global(case, res, ctx) -> Verdict:
    problem = _global_problem(case, res, ctx)
    if problem or kind(ctx.op) != "avg":
        return Verdict(problem or compare(res[1].value, res[0].value, f"f(roll(x, {case['shift']}))",
                                          _words(ctx, case), "f(x)"))
    # An average's exact value is the same for both (the exact sum, divided once); a correct mean
    # computed through rounded intermediates (means of rows, say) may round the two differently:
    # each is held to the average's rigorous bound around that one exact value instead.
    x, axes = case["x"], tuple(range(2, case["x"].ndim))
    taps = math.prod(case["size"])
    sums, abs_sums = x.sum(axis=axes, keepdims=True), np.abs(x).sum(axis=axes, keepdims=True)
    for r in res:
        v = avg_verdict(r.value, sums, np.float64(taps), abs_sums, taps, ctx.dtype, _words(ctx, case))
        if v.failure is not None:
            return v
    return Verdict(None)


op_claim("conformance.pool_nd.circular",
         "A global pool (one window over the whole input: kernel_size = input size, or adaptive "
         "pooling to 1) is invariant under every circular shift of the input, exactly: the one "
         "setting where pooling's invariance to translation is exact (an average: both within its "
         "rigorous bound of the one exact mean).", LECTURE, "property", OPS,
         Property(lambda ctx: _global(ctx.op, ctx.dtype),
                  lambda c, ctx: [_call(c), _call(c, x=np.roll(c["x"], c["shift"],
                                                                axis=tuple(range(2, c["x"].ndim))))],
                  _check_global, share=HALF))


@st.composite
def _dividing(draw, op: str, dtype: str = "float32") -> dict:
    """Output sizes that divide the input sizes, windows of 1, 2 or 4 per axis (so every window
    area is a power of two and the mean is exact: every window sum an integer of ``dtype``)."""
    nd = ndim(op)
    k = tuple(draw(st.sampled_from([1, 2, 4] if nd < 3 else [1, 2])) for _ in range(nd))
    m = tuple(draw(st.integers(1, 3 if nd < 3 else 2)) for _ in range(nd))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    bounds = exact_bounds([1, 9, 1000], math.prod(k), dtype)
    x = draw(int_arrays((n, c, *(a * b for a, b in zip(k, m))), bound=draw(st.sampled_from(bounds))))
    return {"N": n, "C": c, "size": x.shape[2:], "output": m, "kernel": k, "kind": kind(op),
            "kwargs": {"output_size": m}, "x": x}


def _check_divides(case, res, ctx) -> Verdict:
    problem = _problem(case, res, ctx)
    if problem:
        return Verdict(problem)
    k = case["kernel"]
    want = oracle.max_pool(case["x"], k) if case["kind"] == "max" else oracle.avg_pool(case["x"], k)
    return Verdict(compare(res[0].value, want, "out", _words(ctx, case),
                           f"{case['kind']}_pool(x, kernel_size=stride={k})"))


op_claim("conformance.adaptive.divides",
         "When every output size m divides its input size n, adaptive pooling is ordinary pooling "
         "with kernel_size = stride = n/m (exact: windows of power-of-two area).",
         ASRC, "exact", ADAPTIVE,
         Property(lambda ctx: _dividing(ctx.op, ctx.dtype), _one, _check_divides, share=HALF))


# --- batch, invalid ------------------------------------------------------------------------------------

# Not Lp pooling: its root goes through pow, whose vectorised and scalar paths may differ by an ulp
# (measured: torch 2.13 CPU lp_pool2d, p=3, f(x[0:1]) one ulp off f(x)[0:1]); each call's value is
# held to the rigorous bound by lp_values instead.
batch_claim("conformance.pool_nd.batch", tuple(op for op in OPS if op not in LP), _cases,
            lambda c, x: _call(c, x=x), out_shape, SRC + "; " + ASRC)


def invalid_calls(op: str) -> list[tuple[str, Call]]:
    """Arguments the mathematics leaves undefined, for ``op``, each one a torch error. (torch
    accepts ``output_size=0``, returning an empty array, and ``norm_type=-1``; the claim's words say
    "which torch rejects", so those two are left out.)"""
    nd = ndim(op)
    x = np.ones((1, 1, *(6,) * nd))
    if op.startswith("adaptive"):
        return [("output_size=-1", Call((x,), {"output_size": -1})),
                (f"output_size with {nd + 1} entries", Call((x,), {"output_size": (2,) * (nd + 1)}))]
    lead = {"norm_type": 2} if kind(op) == "lp" else {}
    calls = [("kernel_size=0", Call((x,), {**lead, "kernel_size": 0})),
             ("stride=0", Call((x,), {**lead, "kernel_size": 2, "stride": 0})),
             ("kernel_size=8 larger than the input 6", Call((x,), {**lead, "kernel_size": 8}))]
    if kind(op) == "lp":
        calls.append(("norm_type=0", Call((x,), {"norm_type": 0, "kernel_size": 2})))
    else:
        calls.append(("padding=-1", Call((x,), {"kernel_size": 2, "padding": -1})))
    if kind(op) == "max":
        calls.append(("dilation=0", Call((x,), {"kernel_size": 2, "dilation": 0})))
    if op == "avg_pool3d":
        calls.append(("divisor_override=0", Call((x,), {"kernel_size": 2, "divisor_override": 0})))
    return calls


invalid_claim("conformance.pool_nd.invalid", OPS, invalid_calls, SRC + "; " + ASRC)


def probe_calls(op: str) -> list[Call] | None:
    """Three valid, plain calls of ``op`` for the runner's usage probe; None for ops not here."""
    if op not in OPS:
        return None
    nd = ndim(op)
    calls = []
    for size, k in ((5, 2), (6, 3), (7, 1)):
        x = np.arange(size ** nd, dtype=np.float64).reshape(1, 1, *[size] * nd) % 5
        args = (x, k) if op.startswith("adaptive") else (x, 2, max(k, 2)) if kind(op) == "lp" else (x, max(k, 2))
        calls.append(Call(args))
    return calls
