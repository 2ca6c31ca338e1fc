"""Conformance claims for a third-party ``max_pool2d`` / ``avg_pool2d`` (``docs/calling-convention.md``).

Max pooling involves no arithmetic, so every claim is bit-exact, special values included (a NaN
in a window gives NaN; infinities compare as IEEE says). Average pooling divides: correct float32
libraries differ from the exactly rounded quotient by an ulp or two (they multiply by a
reciprocal), so its values are held to a rigorous bound on exact sums and divisors, and its exact
claims use power-of-two window areas, where the division is exact.
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from .. import oracle
from ..claims import Outcome
from ..spec.pooling import avg_divisors, avg_pool_as_conv, pool_geometry, within_window_permutation
from ..spec.toeplitz import ConvMatrix
from ..strategies import exact_bounds, int_arrays, pool_cases
from .generic_claims import (ProbeNotExpressible, batch_claim, bound_verdict, compare_matrix, impulses,
                            invalid_claim, reconstruct)
from .diagnose import diagnoser
from .isolation import Call, WorkerFailure
from .properties import (OpContext, Failure, Property, Verdict, call_words, compare, counterexample,
                         fmt, op_claim, result_problem, run_property)

MAX, AVG = ("max_pool2d",), ("avg_pool2d",)
SRC = "docs/calling-convention.md; PyTorch aten/src/ATen/native/Pool.h (pooling_output_shape) and AvgPoolKernel.cpp"


def _kind(ctx: OpContext) -> str:
    return "max" if ctx.op == "max_pool2d" else "avg"


def _call(case: dict, x=None, **kw) -> Call:
    return Call((case["x"] if x is None else x,), {**case["kwargs"], **kw})


def geometry(case: dict):
    return pool_geometry(case["size"], case["kernel"], case["stride"], case["padding"],
                         case["dilation"], case["ceil_mode"])


def out_shape(case: dict) -> tuple[int, ...]:
    return (case["x"].shape[0], case["C"], *geometry(case).output_size)


def words(ctx: OpContext, case: dict, **over) -> str:
    return call_words(ctx.op, case, {**case["kwargs"], **over}, x=case["x"])


def expected(case: dict) -> np.ndarray:
    a = {"kernel_size": case["kernel"], "stride": case["stride"], "padding": case["padding"],
         "ceil_mode": case["ceil_mode"]}
    if "count_include_pad" in case and case.get("kind") == "avg":
        return oracle.avg_pool2d(case["x"], count_include_pad=case["count_include_pad"], **a)
    return oracle.max_pool2d(case["x"], dilation=case["dilation"], **a)


def _cases(ctx: OpContext, **kw):
    kind = _kind(ctx)
    return pool_cases(kind=kind, **kw).map(lambda c: {**c, "kind": kind})


def _problem(case, res, ctx, shape=None) -> Failure | None:
    line = words(ctx, case)
    for r in res:
        p = result_problem(r, "out", shape or out_shape(case), ctx, line)
        if p:
            return p
    return None


# --- shape and values ------------------------------------------------------------------------------

op_claim("conformance.pool.shape",
         "The output has shape (N, C, ⌊(n + 2p − d(k−1) − 1 (+ s − 1 with ceil_mode))/s⌋ + 1, …), "
         "the last ceil-mode window dropped when it starts beyond the input and its left padding; "
         "stride=None means kernel_size; the dtype is the input's.",
         SRC, "property", MAX + AVG,
         Property(_cases, lambda c, ctx: [_call(c)], lambda c, r, ctx: Verdict(_problem(c, r, ctx)),
                  key="pool"))


def _check_max(case, res, ctx) -> Verdict:
    return Verdict(_problem(case, res, ctx) or compare(res[0].value, expected(case), "out",
                                                        words(ctx, case)))


op_claim("conformance.max_pool.values",
         "Each output is the maximum of its window of the input padded with −inf (dilated, "
         "strided, ceil_mode windows clipped), bit for bit.", SRC, "exact", MAX,
         Property(_cases, lambda c, ctx: [_call(c)], _check_max, key="pool",
                  diagnose=diagnoser(expected)))

op_claim("conformance.max_pool.special",
         "Special values follow IEEE max: a NaN in a window gives NaN; +inf and −inf are ordinary "
         "extremes (an all −inf window gives −inf).",
         SRC + "; IEEE 754-2019 §9.6 (maximum propagates NaN)", "exact", MAX,
         Property(lambda ctx: _cases(ctx, special=True), lambda c, ctx: [_call(c)], _check_max,
                  share=0.5, diagnose=diagnoser(expected)))


def _avg_parts(case):
    sums, div = oracle.avg_pool2d_parts(case["x"], case["kernel"], case["stride"], case["padding"],
                                        case["ceil_mode"], case["count_include_pad"])
    abs_sums, _ = oracle.avg_pool2d_parts(np.abs(case["x"]), case["kernel"], case["stride"],
                                          case["padding"], case["ceil_mode"], case["count_include_pad"])
    return sums.astype(np.float64), div, abs_sums.astype(np.float64)


def _check_avg(case, res, ctx) -> Verdict:
    problem = _problem(case, res, ctx)
    if problem:
        return Verdict(problem)
    sums, div, abs_sums = _avg_parts(case)
    want = sums / div
    k = math.prod(case["kernel"])
    # K − 1 additions, a reciprocal and a product (or a division): γ_{K+2}; plus float64's rounding
    bound = (oracle.gamma(k + 2, ctx.dtype) + oracle.gamma(2, "float64")) * abs_sums / div
    v = bound_verdict(res[0].value, want, bound, words(ctx, case))
    v.inexact = 0   # division is not exact in any float type: an ulp off the quotient is not news
    return v


op_claim("conformance.avg_pool.values",
         "Each output is the window sum of the zero-padded input divided by the window's size "
         "(count_include_pad: clipped to the padded input; else the real entries), within the "
         "rigorous bound γ_{K+2}·Σ|x|/divisor of any order of summation and division.",
         SRC + "; Higham 2002 §3.1", "property", AVG,
         Property(_cases, lambda c, ctx: [_call(c)], _check_avg, key="pool",
                  diagnose=diagnoser(expected, exact=False)))


# --- max pooling invariances -----------------------------------------------------------------------

@st.composite
def _tiled_cases(draw):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    size = (k[0] * draw(st.integers(1, 3)) + draw(st.integers(0, k[0] - 1)),
            k[1] * draw(st.integers(1, 3)) + draw(st.integers(0, k[1] - 1)))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    x = draw(int_arrays((n, c, *size), bound=draw(st.sampled_from([1, 3, 50]))))
    return {"N": n, "C": c, "size": size, "kernel": k, "stride": k, "padding": (0, 0),
            "dilation": (1, 1), "ceil_mode": False, "kwargs": {"kernel_size": k}, "x": x,
            "perm_seed": draw(st.integers(0, 2 ** 32 - 1))}


def _permuted(case):
    perm = within_window_permutation(case["size"], geometry(case), np.random.default_rng(case["perm_seed"]))
    x = case["x"].reshape(*case["x"].shape[:2], -1)[..., perm]
    return x.reshape(case["x"].shape)


def _check_pair(name: str, rhs: str):
    def check(case, res, ctx) -> Verdict:
        problem = _problem(case, res, ctx)
        return Verdict(problem or compare(res[1].value, res[0].value, name, words(ctx, case), rhs))
    return check


op_claim("conformance.max_pool.permutation",
         "Max pooling is invariant under any permutation of the entries within each window "
         "(non-overlapping windows, stride = kernel).", "Goodfellow et al. 2016 §9.3 (pooling "
         "gives invariance to small local changes)", "property", MAX,
         Property(lambda ctx: _tiled_cases(), lambda c, ctx: [_call(c), _call(c, x=_permuted(c))],
                  _check_pair("f(permute_within_windows(x))", "f(x)"), share=0.5))


def _check_monotone(case, res, ctx) -> Verdict:
    problem = _problem(case, res, ctx)
    if problem:
        return Verdict(problem)
    y, y_relu, y_aff = (r.value for r in res)
    # windows that hold no input entry (possible with dilation) hold the padding value on both
    # sides, which no map moves: their value (−inf) is the values claims' to check, not this one's
    # (a target that pads with the lowest finite float fails those, not 2·(−FLT_MAX) + 1 here)
    empty = ~np.isfinite(oracle.max_pool2d(np.zeros_like(case["x"]), case["kernel"], case["stride"],
                                           case["padding"], case["dilation"], case["ceil_mode"]))
    relu_y = np.where(empty, y_relu, np.maximum(y, 0))
    aff_y = np.where(empty, y_aff, 2 * y + 1)
    line = words(ctx, case)
    return Verdict(compare(y_relu, relu_y, "f(relu(x))", line, "relu(f(x))")
                   or compare(y_aff, aff_y, "f(2x + 1)", line, "(2·f(x) + 1)"))


op_claim("conformance.max_pool.monotone",
         "Max pooling commutes with every non-decreasing map: f(relu(x)) = relu(f(x)) and "
         "f(2x + 1) = 2·f(x) + 1.", "Lecture (max pooling); Goodfellow et al. 2016 §9.3",
         "property", MAX,
         Property(_cases, lambda c, ctx: [_call(c), _call(c, x=np.maximum(c["x"], 0)),
                                          _call(c, x=2 * c["x"] + 1)], _check_monotone, share=0.5))


@st.composite
def _global_cases(draw):
    size = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    x = draw(int_arrays((draw(st.integers(1, 2)), draw(st.integers(1, 2)), *size), bound=20))
    shift = (draw(st.integers(0, size[0] - 1)), draw(st.integers(0, size[1] - 1)))
    return {"N": x.shape[0], "C": x.shape[1], "size": size, "kernel": size, "stride": size,
            "padding": (0, 0), "dilation": (1, 1), "ceil_mode": False,
            "kwargs": {"kernel_size": size}, "x": x, "shift": shift}


op_claim("conformance.max_pool.circular",
         "A global max pool (one window over the whole input) is invariant under circular shifts.",
         "Lecture (pooling and invariance to translation)", "property", MAX,
         Property(lambda ctx: _global_cases(),
                  lambda c, ctx: [_call(c), _call(c, x=np.roll(c["x"], c["shift"], axis=(2, 3)))],
                  _check_pair("f(roll(x))", "f(x)"), share=0.5))


# --- average pooling as a convolution --------------------------------------------------------------

@st.composite
def _uniform_cases(draw, dtype: str = "float32"):
    """Power-of-two window areas, count_include_pad (or no padding), no ceil overhang: exact where
    every window sum is an integer of ``dtype`` (area·max|x| <= 2^p; bfloat16: 2^8)."""
    k = draw(st.sampled_from([(1, 1), (1, 2), (2, 1), (2, 2), (2, 4), (4, 2), (4, 4), (1, 4)]))
    s = draw(st.sampled_from([k, (1, 1), (2, 1), (1, 2), (2, 2)]))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    size = tuple(draw(st.integers(max(1, ki - 2 * pi), 8)) for ki, pi in zip(k, p))
    x = draw(int_arrays((draw(st.integers(1, 2)), draw(st.integers(1, 3)), *size),
                        bound=draw(st.sampled_from(exact_bounds([1, 9, 1000], math.prod(k), dtype)))))
    kw = {"kernel_size": k, "stride": s, "padding": p}
    return {"N": x.shape[0], "C": x.shape[1], "size": size, "kernel": k, "stride": s, "padding": p,
            "dilation": (1, 1), "ceil_mode": False, "count_include_pad": True, "kind": "avg",
            "kwargs": kw, "x": x}


def _check_uniform(case, res, ctx) -> Verdict:
    problem = _problem(case, res, ctx)
    if problem:
        return Verdict(problem)
    spec, area = avg_pool_as_conv(case["C"], case["size"], geometry(case))
    ones = np.ones(spec.weight_shape)
    conv = oracle.conv(case["x"], ones, None, spec.stride, [p for p, _ in spec.padding], 1, spec.groups)
    return Verdict(compare(res[0].value * area, conv, f"{area}·out", words(ctx, case),
                           f"conv(x, ones{tuple(case['kernel'])}, groups={case['C']})"))


op_claim("conformance.avg_pool.uniform_conv",
         "Average pooling (count_include_pad, no ceil-mode overhang) is the depthwise convolution "
         "with the uniform kernel 1/(k_h·k_w): exact when the window area is a power of two.",
         "Lecture (pooling as a fixed convolution); Goodfellow et al. 2016 §9.3", "exact", AVG,
         Property(lambda ctx: _uniform_cases(ctx.dtype), lambda c, ctx: [_call(c)], _check_uniform))


def _avg_probe() -> dict:
    """Small geometry where count_include_pad, ceil_mode and stride=None all leave a trace."""
    k, s, p = (2, 3), (2, 2), (1, 1)
    kw = {"kernel_size": k, "stride": s, "padding": p, "ceil_mode": True, "count_include_pad": False}
    return {"N": 1, "C": 1, "size": (5, 6), "kernel": k, "stride": s, "padding": p,
            "dilation": (1, 1), "ceil_mode": True, "count_include_pad": False, "kind": "avg",
            "kwargs": kw, "x": np.zeros((1, 1, 5, 6))}


def _avg_matrix(case: dict, dtype: str) -> np.ndarray:
    """The spec's matrix: entry (o, j) = 1/divisor(o) where input j lies in o's window, rounded
    to ``dtype`` (a unit impulse times 1/d rounds like 1/d itself)."""
    e = impulses(case["x"].shape[1:])
    sums, div = oracle.avg_pool2d_parts(e, case["kernel"], case["stride"], case["padding"],
                                        case["ceil_mode"], case["count_include_pad"])
    from ..strategies import round_to
    return round_to(sums.astype(np.float64) / div, dtype).reshape(len(e), -1).T


def _avg_operator(ctx: OpContext) -> Outcome:
    case = _avg_probe()
    want = _avg_matrix(case, ctx.dtype)
    try:
        got, problem = reconstruct(ctx, case, lambda c, x: _call(c, x=x))
    except WorkerFailure as e:
        return Outcome(False, f"{e} while probing with unit impulses")
    except ProbeNotExpressible as e:
        return Outcome(True, str(e), skipped=True, examples=0)
    line = words(ctx, case)
    if problem is None:
        problem = compare_matrix(got, want, "A", lambda v: f"1/{round(1 / v)}" if v else "0")
    if problem is None:
        return Outcome(True, f"the reconstructed {want.shape[0]}x{want.shape[1]} matrix equals the "
                             f"spec's entry by entry [{line}]", examples=want.shape[1])
    diagnosis = ""
    if got is not None:
        from .diagnose import VARIANTS
        e = impulses(case["x"].shape[1:])
        for name, variant in VARIANTS["avg_pool2d"]:
            alt = variant({**case, "x": e, "N": len(e)})
            if alt is not None and alt.size == got.size and np.allclose(
                    alt.reshape(len(e), -1).T, got, rtol=1e-3):
                diagnosis = f"the target {name}"
                break
    problem.line += f" [{line}]"
    return Outcome(False, problem.line + (f"; diagnosis: {diagnosis}" if diagnosis else ""),
                   examples=want.shape[1], counterexample=counterexample(case, problem, ctx, diagnosis))


op_claim("conformance.avg_pool.operator",
         "Probed with unit impulses, the target's matrix has 1/divisor(o) exactly where input j "
         "lies in output o's window and 0 elsewhere.", SRC, "exact", AVG)(_avg_operator)


def _avg_grad_calls(c, ctx):
    return [Call((c["x"],), c["kwargs"], grad=c["grad"])]


def _check_avg_grad(case, res, ctx) -> Verdict:
    problem = _problem(case, res, ctx)
    if problem:
        return Verdict(problem)
    spec, area = avg_pool_as_conv(case["C"], case["size"], geometry(case))
    cm = ConvMatrix(spec)
    v = case["grad"].reshape(case["N"], -1)
    gx = (cm.numeric(np.ones(spec.n_weights, np.int64)).T @ v.T).T.reshape(case["x"].shape) / area
    g = (res[0].grads or (None,))[0]
    if g is None:
        return Verdict(Failure(f"grad_x is None, but should be computed by autograd [{words(ctx, case)}]"))
    return Verdict(compare(g, gx, "grad_x", words(ctx, case), "(Aᵀ v)"))


@st.composite
def _avg_grad_cases(draw):
    c = draw(_uniform_cases())
    ys = out_shape(c)
    return {**c, "grad": draw(int_arrays(ys, bound=draw(st.sampled_from([1, 4]))))}


_AVG_BACKWARD = Property(lambda ctx: _avg_grad_cases(), _avg_grad_calls, _check_avg_grad, share=0.5)


def _avg_backward(ctx: OpContext) -> Outcome:
    if ctx.array != "torch":
        return Outcome(True, "the target takes NumPy arrays: no autograd to check", skipped=True)
    return run_property(_AVG_BACKWARD, ctx)


op_claim("conformance.avg_pool.backward",
         "Backward through autograd is the adjoint: the input gradient is Aᵀv, the output gradient "
         "spread uniformly over each window (⟨A u, v⟩ = ⟨u, Aᵀ v⟩), bit for bit with power-of-two "
         "window areas.", "Lecture (backpropagation through pooling)", "exact", AVG,
         draws=_AVG_BACKWARD)(_avg_backward)


# --- batch, invalid --------------------------------------------------------------------------------

batch_claim("conformance.pool.batch", MAX + AVG, _cases, lambda c, x: _call(c, x=x), out_shape, SRC)


def invalid_pool_calls(op: str) -> list[tuple[str, Call]]:
    x = np.ones((1, 1, 6, 6))
    calls = [("kernel_size=0", Call((x,), {"kernel_size": 0})),
             ("stride=0", Call((x,), {"kernel_size": 2, "stride": 0})),
             ("padding=-1", Call((x,), {"kernel_size": 2, "padding": -1})),
             ("kernel_size=8 larger than the padded input 6", Call((x,), {"kernel_size": 8}))]
    if op == "max_pool2d":
        calls.append(("dilation=0", Call((x,), {"kernel_size": 2, "dilation": 0})))
    return calls


invalid_claim("conformance.pool.invalid", MAX + AVG, invalid_pool_calls, SRC)

__all__ = ["expected", "out_shape", "fmt", "avg_divisors"]
