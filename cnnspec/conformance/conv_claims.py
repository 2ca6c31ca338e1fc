"""Conformance claims for a third-party ``conv1d`` / ``conv2d`` (``docs/calling-convention.md``).

Each claim quotes the rule it enforces and runs through :func:`~.properties.run_property`: cases
from :mod:`cnnspec.strategies`, the target in a child process, the exact oracle
(:mod:`cnnspec.oracle`) or the spec's convolution matrix (:mod:`cnnspec.spec.toeplitz`) as the
reference, hypothesis to shrink a failure. Comparisons are bit-exact on certified integer data
(exact tier) or within Higham's rigorous bound on general float data (bound tier); never a guessed
tolerance.
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from .. import oracle
from ..claims import Outcome
from ..oracle import PRECISION
from ..spec.convolution import ConvSpec, output_size
from ..spec.toeplitz import ConvMatrix
from ..strategies import conv_cases, conv_params, float_arrays, int_arrays
from .diagnose import conv_args, diagnoser
from .generic_claims import (ProbeNotExpressible, HALF, batch_claim, bound_verdict, compare_matrix, impulses,
                            invalid_claim, reconstruct)
from .isolation import Call, WorkerFailure
from .properties import (OpContext, Failure, Property, Verdict, call_words, compare, counterexample,
                         fmt, op_claim, result_problem, run_property)

OPS = ("conv1d", "conv2d")
SRC = ("docs/calling-convention.md (torch.nn.functional.conv2d/conv1d semantics); PyTorch Conv2d docs; "
       "Dumoulin & Visin 2016")


def _nd(ctx: OpContext) -> int:
    return 1 if ctx.op == "conv1d" else 2


def _args(x, w, b) -> tuple:
    return (x, w) if b is None else (x, w, b)


def _call(case: dict, x=None, w=None, b="case", **kw) -> Call:
    b = case["bias"] if isinstance(b, str) else b
    return Call(_args(case["x"] if x is None else x, case["weight"] if w is None else w, b),
                {**case["kwargs"], **kw})


def out_shape(case: dict) -> tuple[int, ...]:
    if "out_size" in case:   # a geometry that states its output size (transposed convolution)
        return (case["x"].shape[0], case["C_out"], *case["out_size"])
    return (case["x"].shape[0], case["C_out"], *(output_size(n, k, s, p, d) for n, k, s, p, d in zip(
        case["size"], case["kernel"], case["stride"], case["padding"], case["dilation"])))


def words(ctx: OpContext, case: dict, **over) -> str:
    kw = {**case["kwargs"], **over}
    return call_words(ctx.op, case, kw, x=case["x"], weight=case["weight"])


def expected(case: dict) -> np.ndarray:
    a = conv_args(case)
    return oracle.conv(case["x"], case["weight"], case["bias"], a["stride"], a["padding"],
                       a["dilation"], a["groups"])


def all_shaped(case: dict, res, ctx: OpContext, line: str) -> Failure | None:
    """The first result that is not an array of the spec's output shape and the input dtype."""
    for r in res:
        problem = result_problem(r, "out", out_shape(case), ctx, line)
        if problem:
            return problem
    return None


def _exact_cases(ctx: OpContext):
    return conv_cases(ndim=_nd(ctx), dtype=ctx.dtype)


# --- shape and values ------------------------------------------------------------------------------

def _check_shape(case, res, ctx) -> Verdict:
    return Verdict(result_problem(res[0], "out", out_shape(case), ctx, words(ctx, case)))


op_claim("conformance.conv.shape",
         "The output has shape (N, C_out, ⌊(n + 2p − d(k−1) − 1)/s⌋ + 1, …) and the input's dtype.",
         SRC, "property", OPS,
         Property(_exact_cases, lambda c, ctx: [_call(c)], _check_shape, key="conv-exact"))


def _check_values(case, res, ctx) -> Verdict:
    line = words(ctx, case)
    problem = result_problem(res[0], "out", out_shape(case), ctx, line)
    if problem:
        return Verdict(problem)
    got, want = res[0].value, expected(case)
    a = conv_args(case)
    bound = oracle.error_bound(case["x"], case["weight"], case["bias"], dtype=ctx.dtype,
                               input_rounding=ctx.input_rounding, **a)
    v = bound_verdict(got, want, bound, line)
    if v.failure is not None:   # the grammar's exact form: out[i]=g, but should be w
        v.failure = compare(got, want, "out", line) or v.failure
    return v


op_claim("conformance.conv.values",
         "On integer data with the exactness certificate K·max|x|·max|w| + max|b| < 2^p every "
         "output equals Σ x·w + b exactly, in any summation order; an output off the exact value "
         "but within Higham's bound γ_{K+2}·(Σ|x||w| + |b|) is reported not bit-exact.",
         SRC + "; Higham 2002 §3.1", "exact", OPS,
         Property(_exact_cases, lambda c, ctx: [_call(c)], _check_values, key="conv-exact",
                  diagnose=diagnoser(expected)))


@st.composite
def _float_cases(draw, ndim: int, dtype: str):
    geo = draw(conv_params(ndim=ndim))
    x = draw(float_arrays((geo["N"], geo["C_in"], *geo["size"]), dtype=dtype))
    w = draw(float_arrays((geo["C_out"], geo["C_in"] // geo["groups"], *geo["kernel"]), dtype=dtype))
    b = draw(st.none() | float_arrays((geo["C_out"],), dtype=dtype))
    return {**geo, "x": x, "weight": w, "bias": b}


def _check_bound(case, res, ctx) -> Verdict:
    line = words(ctx, case)
    problem = result_problem(res[0], "out", out_shape(case), ctx, line)
    if problem:
        return Verdict(problem)
    a = conv_args(case)
    want = oracle.conv(case["x"], case["weight"], case["bias"], a["stride"], a["padding"],
                       a["dilation"], a["groups"], exact=False)
    # the float64 reference's own error is added to the bound, so the bound stays rigorous
    k = math.prod(case["weight"].shape[1:])
    bound = oracle.error_bound(case["x"], case["weight"], case["bias"], dtype=ctx.dtype,
                               input_rounding=ctx.input_rounding, **a) \
        + oracle.gamma(k + 2, "float64") * oracle.abs_conv(case["x"], case["weight"], case["bias"], **a)
    v = bound_verdict(res[0].value, want, bound, line)
    v.inexact = 0   # on general data inexact results are expected; only the ratio is news
    return v


op_claim("conformance.conv.bound",
         "On general float data |ŷ − y| ≤ γ_{K+2}·(Σ|x||w| + |b|), γ_n = n·u/(1 − n·u), u the unit "
         "roundoff of the dtype: the forward error bound of any summation order.",
         "Higham 2002, §3.1 and §3.5 (inner products)", "property", OPS,
         Property(lambda ctx: _float_cases(_nd(ctx), ctx.dtype), lambda c, ctx: [_call(c)],
                  _check_bound))


# --- metamorphic claims (exact on certified integer data) -------------------------------------------

@st.composite
def _linear_cases(draw, ndim: int, dtype: str):
    geo = draw(conv_params(ndim=ndim))
    k = geo["C_in"] // geo["groups"] * math.prod(geo["kernel"])
    a, b = draw(st.integers(-3, 3)), draw(st.integers(-3, 3))
    room = (2 ** oracle.PRECISION[dtype] - 1) // (k * 2 * 3 * 3 * 2)
    m = max(1, min(3, room))
    xs = (geo["N"], geo["C_in"], *geo["size"])
    ws = (geo["C_out"], geo["C_in"] // geo["groups"], *geo["kernel"])
    return {**geo, "a": a, "b": b, "x": draw(int_arrays(xs, bound=m)), "x2": draw(int_arrays(xs, bound=m)),
            "weight": draw(int_arrays(ws, bound=2)), "w2": draw(int_arrays(ws, bound=2)), "bias": None}


def _linear_calls(c, ctx):
    a, b = c["a"], c["b"]
    return [_call(c, x=a * c["x"] + b * c["x2"]), _call(c), _call(c, x=c["x2"]),
            _call(c, w=a * c["weight"] + b * c["w2"]), _call(c, w=c["w2"])]




def _check_linear(c, res, ctx) -> Verdict:
    line = words(ctx, c)
    problem = all_shaped(c, res, ctx, line)
    if problem:
        return Verdict(problem)
    f_mix, f1, f2, g_mix, g2 = (r.value for r in res)
    a, b = c["a"], c["b"]
    fail = (compare(f_mix, a * f1 + b * f2, f"f({a}·x1 + {b}·x2, w)", line, f"({a}·f(x1,w) + {b}·f(x2,w))")
            or compare(g_mix, a * f1 + b * g2, f"f(x1, {a}·w1 + {b}·w2)", line,
                       f"({a}·f(x1,w1) + {b}·f(x1,w2))"))
    return Verdict(fail)


op_claim("conformance.conv.linearity",
         "The layer is linear in the input and in the weight: f(a·x1 + b·x2, w) = a·f(x1, w) + "
         "b·f(x2, w) and f(x, a·w1 + b·w2) = a·f(x, w1) + b·f(x, w2), exactly on integer data.",
         "Lecture: a convolutional layer is a fully connected layer with a Toeplitz weight matrix; "
         "Goodfellow et al. 2016 §9.1", "property", OPS,
         Property(lambda ctx: _linear_cases(_nd(ctx), ctx.dtype), _linear_calls, _check_linear, share=HALF))


def _check_bias(c, res, ctx) -> Verdict:
    line = words(ctx, c)
    problem = all_shaped(c, res, ctx, line)
    if problem:
        return Verdict(problem)
    with_b, without = res[0].value, res[1].value
    b = c["bias"].reshape(-1, *[1] * len(c["size"]))
    return Verdict(compare(with_b, without + b, "f(x, w, b)", line, "(f(x, w) + b)"))


op_claim("conformance.conv.bias",
         "The bias adds b[c] to every output of channel c, of every sample: f(x, w, b) = f(x, w) + b.",
         SRC, "property", OPS,
         Property(lambda ctx: conv_cases(ndim=_nd(ctx), dtype=ctx.dtype, bias=True, min_batch=2),
                  lambda c, ctx: [_call(c), _call(c, b=None)], _check_bias, share=HALF))


batch_claim("conformance.conv.batch", OPS,
            lambda ctx: conv_cases(ndim=_nd(ctx), dtype=ctx.dtype, min_batch=2),
            lambda c, x: _call(c, x=x), out_shape, SRC)


def _group_calls(c, ctx):
    g, cg, og = c["groups"], c["C_in"] // c["groups"], c["C_out"] // c["groups"]
    parts = [_call(c, x=c["x"][:, i * cg:(i + 1) * cg], w=c["weight"][i * og:(i + 1) * og],
                   b=None if c["bias"] is None else c["bias"][i * og:(i + 1) * og], groups=1)
             for i in range(g)]
    return [_call(c)] + parts


def _check_groups(c, res, ctx) -> Verdict:
    line = words(ctx, c)
    problem = result_problem(res[0], "out", out_shape(c), ctx, line)
    if problem:
        return Verdict(problem)
    og = c["C_out"] // c["groups"]
    for i, r in enumerate(res[1:]):
        sub = (c["x"].shape[0], og, *out_shape(c)[2:])
        fail = result_problem(r, f"f(x_g{i}, w_g{i}, groups=1)", sub, ctx, line) or compare(
            res[0].value[:, i * og:(i + 1) * og], r.value, f"f(x, w, groups={c['groups']})[:, {i * og}:{(i + 1) * og}]",
            line, f"f(x_g{i}, w_g{i}, groups=1)")
        if fail:
            return Verdict(fail)
    return Verdict()


op_claim("conformance.conv.groups",
         "With g groups, output channels [i·C_out/g, (i+1)·C_out/g) see only input channels "
         "[i·C_in/g, (i+1)·C_in/g): the layer is g independent convolutions side by side "
         "(a block-diagonal matrix).", SRC + "; Krizhevsky et al. 2012 (grouped convolution)",
         "property", OPS,
         Property(lambda ctx: conv_cases(ndim=_nd(ctx), dtype=ctx.dtype, min_groups=2),
                  _group_calls, _check_groups, share=HALF))


# --- shift equivariance ----------------------------------------------------------------------------

@st.composite
def _shift_cases(draw, ndim: int, dtype: str):
    c = draw(conv_cases(ndim=ndim, dtype=dtype, max_side=12))
    ax = draw(st.integers(0, ndim - 1))
    s, n = c["stride"][ax], c["size"][ax]
    t = draw(st.integers(1, max(1, (n - 1) // s)))
    return {**c, "axis": ax, "t": t}


def shifted(x: np.ndarray, axis: int, by: int) -> np.ndarray:
    """``x`` moved ``by`` positions towards higher indices along spatial ``axis``, zero-filled."""
    y = np.zeros_like(x)
    a = 2 + axis
    src = [slice(None)] * x.ndim
    dst = [slice(None)] * x.ndim
    src[a], dst[a] = slice(0, max(x.shape[a] - by, 0)), slice(by, None)
    y[tuple(dst)] = x[tuple(src)]
    return y


def interior(case: dict, axis: int, t: int, m: int) -> np.ndarray:
    """Outputs o whose window avoids what the shift by t·s pushes out: o·s − p + d(k−1) < n − t·s."""
    s, p, d, k, n = (case["stride"][axis], case["padding"][axis], case["dilation"][axis],
                     case["kernel"][axis], case["size"][axis])
    o = np.arange(max(m - t, 0))
    return o[o * s - p + d * (k - 1) < n - t * s]


def _check_shift(c, res, ctx) -> Verdict:
    line = words(ctx, c)
    problem = all_shaped(c, res, ctx, line)
    if problem:
        return Verdict(problem)
    ax, t = c["axis"], c["t"]
    a = 2 + ax
    y, ys = res[0].value, res[1].value
    o = interior(c, ax, t, y.shape[a])
    if o.size == 0:
        return Verdict()
    by = t * c["stride"][ax]
    return Verdict(compare(np.take(ys, o + t, axis=a), np.take(y, o, axis=a),
                           f"f(shift(x, {by} along axis {a}))[interior, +{t}]", line,
                           "f(x)[interior]"))


op_claim("conformance.conv.shift",
         "Convolution commutes with translation: shifting the input by t·s positions shifts the "
         "output by t, bit for bit, on the outputs whose windows the shift does not push out "
         "(o·s − p + d(k−1) < n − t·s); for stride s only multiples of s.",
         "Goodfellow et al. 2016 §9.2 (equivariance to translation)", "property", OPS,
         Property(lambda ctx: _shift_cases(_nd(ctx), ctx.dtype),
                  lambda c, ctx: [_call(c), _call(c, x=shifted(c["x"], c["axis"], c["t"] * c["stride"][c["axis"]]))],
                  _check_shift, share=HALF))


# --- operator reconstruction -----------------------------------------------------------------------

def probe_case(ndim: int) -> dict:
    """A small geometry where every convention leaves a trace: non-square kernel, stride 2 with
    dilation 2 on one axis, padding, a size not divisible by the stride, two groups."""
    if ndim == 1:
        size, kernel, stride, padding, dilation = (9,), (3,), (2,), (1,), (2,)
    else:
        size, kernel, stride, padding, dilation = (7, 7), (3, 2), (2, 2), (1, 1), (2, 1)
    cin, cout, g = 2, 4, 2
    nw = cout * (cin // g) * math.prod(kernel)
    w = np.arange(1, nw + 1, dtype=np.float64).reshape(cout, cin // g, *kernel)
    kw = {"stride": stride, "padding": padding, "dilation": dilation, "groups": g}
    return {"N": 1, "C_in": cin, "C_out": cout, "groups": g, "size": size, "kernel": kernel,
            "stride": stride, "padding": padding, "dilation": dilation, "kwargs": kw,
            "x": np.zeros((1, cin, *size)), "weight": w, "bias": None}


def _weight_name(w_shape):
    def name(v: float) -> str:
        if v == 0:
            return "0"
        if float(v).is_integer() and 1 <= v <= math.prod(w_shape):
            return f"w[{','.join(map(str, np.unravel_index(int(v) - 1, w_shape)))}]"
        return fmt(v)
    return name


def diagnose_matrix(op: str, case: dict, got: np.ndarray) -> str:
    """The first convention whose matrix (its output on the impulse batch) is the target's."""
    from .diagnose import VARIANTS
    e = impulses(case["x"].shape[1:])
    big = {**case, "x": e, "N": len(e)}
    for name, variant in VARIANTS.get(op, []):
        try:
            alt = variant(big)
        except Exception:  # noqa: BLE001 - a variant that does not apply to this geometry
            alt = None
        if alt is not None and alt.size == got.size and np.array_equal(
                np.asarray(alt, np.float64).reshape(len(e), -1).T, got):
            return f"the target {name}"
    return ""


def _operator(ctx: OpContext) -> Outcome:
    case = probe_case(_nd(ctx))
    spec = ConvSpec.make(case["size"], case["kernel"], in_channels=case["C_in"],
                         out_channels=case["C_out"], groups=case["groups"], stride=case["stride"],
                         padding=case["padding"], dilation=case["dilation"])
    want = ConvMatrix(spec).numeric(case["weight"].astype(np.int64)).toarray().astype(np.float64)
    return operator_outcome(ctx, case, want, "T", "T(w)", words(ctx, case))


def operator_outcome(ctx: OpContext, case: dict, want: np.ndarray, name: str, spec_name: str,
                     line: str) -> Outcome:
    """Probe the target with unit impulses (:func:`reconstruct`) and compare its matrix with
    ``want`` (the spec's, weights numbered 1, 2, … so that an entry names its weight); a failure
    names the convention whose matrix the target's is (:func:`diagnose_matrix`)."""
    try:
        got, problem = reconstruct(ctx, case, lambda c, x: _call(c, x=x))
    except WorkerFailure as e:
        return Outcome(False, f"{e} while probing with unit impulses")
    except ProbeNotExpressible as e:
        return Outcome(True, str(e), skipped=True, examples=0)
    n_calls = case["x"].size
    if problem is None:
        problem = compare_matrix(got, want, name, _weight_name(case["weight"].shape))
    if problem is None:
        return Outcome(True, f"the reconstructed {want.shape[0]}x{want.shape[1]} matrix equals the "
                             f"spec's {spec_name} entry by entry [{line}]", examples=n_calls,
                       evidence={"matrix_shape": list(want.shape), "nnz": int((want != 0).sum())})
    diagnosis = diagnose_matrix(ctx.op, case, got) if got is not None else ""
    problem.line += f" [{line}]"
    return Outcome(False, problem.line + (f"; diagnosis: {diagnosis}" if diagnosis else ""),
                   examples=n_calls, counterexample=counterexample(case, problem, ctx, diagnosis))


op_claim("conformance.conv.operator",
         "Probed with unit impulses, the target's matrix equals the spec's convolution matrix T(w) "
         "(Toeplitz, doubly block Toeplitz in 2-D, block diagonal over groups) entry by entry.",
         "Lecture: convolution as a matrix product; Goodfellow et al. 2016 §9.1", "exact",
         OPS)(_operator)


# --- backward --------------------------------------------------------------------------------------

@st.composite
def _grad_cases(draw, ndim: int, dtype: str = "float32"):
    c = draw(conv_cases(ndim=ndim, dtype="bfloat16", bias=True))
    return exact_gradients({**c, "grad": draw(int_arrays(out_shape(c), bound=2))}, dtype)


def exact_gradients(c: dict, dtype: str) -> dict:
    """``c`` with its data made small enough that every partial sum of the three gradients is an
    integer below ``2^p`` of ``dtype``, so that any order of summation gives the exact gradient.

    The forward certificate bounds ``K·max|x|·max|w|``; the weight gradient sums ``x·v`` over the
    batch and every output position, and the input gradient ``w·v`` over the taps, which it does not
    cover (at bfloat16, 2^8, they exceed it). The bound is the gradients of ``|x|``, ``|w|``, ``|v|``,
    which no partial sum exceeds; while it is reached, ``v`` is replaced by its sign, then ``x``
    halved (toward zero) down to ±1, then every other non-zero entry of ``v`` zeroed."""
    limit = 2 ** PRECISION[dtype]

    def peak(d):
        mags = grad_expected({**d, "x": np.abs(d["x"]), "weight": np.abs(d["weight"]), "grad": np.abs(d["grad"])})
        return max(float(np.max(m, initial=0)) for m in mags)
    while peak(c) >= limit:
        x, v = c["x"], c["grad"]
        if np.abs(v).max(initial=0) > 1:
            c = {**c, "grad": np.sign(v)}
        elif np.abs(x).max(initial=0) > 1:
            c = {**c, "x": np.trunc(x / 2)}
        else:
            flat = v.reshape(-1).copy()
            nz = np.flatnonzero(flat)
            flat[nz[::2]] = 0
            c = {**c, "grad": flat.reshape(v.shape)}
    return c


def grad_expected(c: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact ``(Tᵀv per sample, Σ_n U(x_n)ᵀ v_n, Σ v)`` from the spec's matrix pattern (int64)."""
    spec = ConvSpec.make(c["size"], c["kernel"], in_channels=c["C_in"], out_channels=c["C_out"],
                         groups=c["groups"], stride=c["stride"], padding=c["padding"],
                         dilation=c["dilation"])
    cm = ConvMatrix(spec)
    n = c["x"].shape[0]
    v = c["grad"].reshape(n, -1).astype(np.int64)
    x = c["x"].reshape(n, -1).astype(np.int64)
    gx = (cm.numeric(c["weight"].astype(np.int64)).T @ v.T).T.reshape(c["x"].shape)
    gw = np.bincount(cm.widx, weights=(v[:, cm.rows] * x[:, cm.cols]).sum(0).astype(np.float64),
                     minlength=spec.n_weights).reshape(c["weight"].shape)
    gb = c["grad"].sum(axis=tuple(i for i in range(c["grad"].ndim) if i != 1))
    return gx.astype(np.float64), gw, gb


def _check_grad(c, res, ctx) -> Verdict:
    line = words(ctx, c)
    r = res[0]
    problem = result_problem(r, "out", out_shape(c), ctx, line)
    if problem:
        return Verdict(problem)
    gx, gw, gb = grad_expected(c)
    got = r.grads or (None, None, None)
    for name, g, want in (("grad_x", got[0], gx), ("grad_w", got[1], gw), ("grad_b", got[2], gb)):
        if g is None:
            return Verdict(Failure(f"{name} is None, but should be computed by autograd [{line}]"))
        if g.shape != want.shape:
            return Verdict(Failure(f"{name}.shape={g.shape}, but should be {want.shape} [{line}]"))
        ref = {"grad_x": "(T(w)ᵀ v)", "grad_w": "(Σ_n U(x_n)ᵀ v_n)", "grad_b": "(Σ v)"}[name]
        fail = compare(g, want, name, line, ref)
        if fail:
            return Verdict(fail)
    return Verdict()


def grad_property(strategy) -> Property:
    """The backward property over ``strategy``'s cases (each with an output gradient ``grad``)."""
    return Property(strategy,
                    lambda c, ctx: [Call(_args(c["x"], c["weight"], c["bias"]), c["kwargs"], grad=c["grad"])],
                    _check_grad, share=HALF)


_BACKWARD = grad_property(lambda ctx: _grad_cases(_nd(ctx), ctx.dtype))


def _backward(ctx: OpContext) -> Outcome:
    return backward_outcome(ctx, _BACKWARD)


def backward_outcome(ctx: OpContext, strategy) -> Outcome:
    """Autograd's gradients on ``strategy``'s cases (``strategy``: a function of ``ctx``, or a
    :func:`grad_property`) against the exact ``(Tᵀv, Σ_n U(x_n)ᵀv_n, Σv)`` of
    :func:`grad_expected`; skipped for NumPy targets."""
    if ctx.array != "torch":
        return Outcome(True, "the target takes NumPy arrays: no autograd to check", skipped=True)
    return run_property(strategy if isinstance(strategy, Property) else grad_property(strategy), ctx)


op_claim("conformance.conv.backward",
         "Backward through autograd is the adjoint: ⟨T u, v⟩ = ⟨u, Tᵀ v⟩, so the input gradient is "
         "the transposed convolution Tᵀv and the weight gradient the cross-correlation of the input "
         "with the output gradient, bit for bit on integer data.",
         "Lecture (backpropagation through a convolution); Dumoulin & Visin 2016 §4 "
         "(transposed convolution)", "exact", OPS, draws=_BACKWARD)(_backward)


# --- invalid arguments -----------------------------------------------------------------------------

def invalid_calls(op: str) -> list[tuple[str, Call]]:
    nd = 1 if op == "conv1d" else 3 if op == "conv3d" else 2
    x = np.ones((1, 3, *[5] * nd))
    w = np.ones((2, 3, *[3] * nd))
    one = lambda v: v if nd == 1 else (v,) * nd  # noqa: E731
    return [
        ("stride=0", Call((x, w), {"stride": one(0)})),
        ("padding=-1", Call((x, w), {"padding": one(-1)})),
        ("dilation=0", Call((x, w), {"dilation": one(0)})),
        ("groups=2 with C_in=3 (groups must divide the channels)",
         Call((x, np.ones((2, 1, *[3] * nd))), {"groups": 2})),
        ("weight with 2 input channels for an input with 3", Call((x, np.ones((2, 2, *[3] * nd))), {})),
        ("kernel 7 larger than the padded input 5", Call((x, np.ones((2, 3, *[7] * nd))), {})),
    ]


invalid_claim("conformance.conv.invalid", OPS, invalid_calls, SRC)
