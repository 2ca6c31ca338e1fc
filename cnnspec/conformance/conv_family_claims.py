"""Conformance claims for the convolution family: ``conv3d``, ``conv_transpose1d/2d/3d``, ``pad``, and
the padding forms ``'same'``/``'valid'``/``(lo, hi)`` pairs of ``conv1d``/``conv2d``/``conv3d``.

Targets follow ``docs/calling-convention.md``: the signature and semantics of the same-named
``torch.nn.functional`` function. The claims are those of :mod:`.conv_claims` (whose checks they
reuse: a case states its output size, so one check serves both directions), with a transposed
convolution's own reference: the exact oracle :func:`cnnspec.oracle.conv_transpose`, Higham's
bound :func:`cnnspec.oracle.error_bound_transpose`, and for the operator claim the spec's ``T(w)ᵀ``
of the matching convolution (:func:`cnnspec.spec.transposed.transpose_of_matching`), so a wrong
transposed convolution is caught against the convolution matrix itself.

``conv2d_integer`` and ``qlinear_conv2d`` (ONNX ConvInteger, QLinearConv) are claimed in
:mod:`.integer_claims`, whose typed calls pass the uint8/int8 arrays they take.

References: PyTorch docs of ``torch.nn.functional.conv3d``, ``conv_transpose1d/2d/3d`` and
``torch.nn.ConvTranspose2d`` (output size, weight layout, the ``output_padding`` rule); Dumoulin &
Visin, *A guide to convolution arithmetic for deep learning* (2016), §4 (transposed convolution
arithmetic); Higham 2002, §3.1 and §3.5 (the bound tier).
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from .. import oracle
from ..claims import Outcome
from ..spec.convolution import ConvSpec
from ..spec.toeplitz import ConvMatrix
from ..spec.transposed import TransposedSpec, transpose_of_matching
from ..spec.padding import pad_matrix
from ..strategies import PAD_MODES, conv3d_cases, conv_transpose_cases, float_arrays, int_arrays, pad_cases
from . import conv_claims as cc
from .diagnose import diagnoser
from .generic_claims import (HALF, ProbeNotExpressible, batch_claim, bound_verdict, compare_matrix,
                            invalid_claim, reconstruct)
from .isolation import Call, WorkerFailure
from .properties import (OpContext, Property, Verdict, call_words, compare, counterexample, fmt, op_claim,
                         result_problem, run_property)

CONV3D = ("conv3d",)
TRANSPOSED = ("conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
SRC3 = ("PyTorch docs, torch.nn.functional.conv3d and torch.nn.Conv3d (output size; weight "
        "(C_out, C_in/groups, kD, kH, kW)); docs/calling-convention.md")
SRCT = ("PyTorch docs, torch.nn.functional.conv_transpose1d/2d/3d and torch.nn.ConvTranspose2d "
        "(output size (n−1)s − 2p + d(k−1) + output_padding + 1; weight (C_in, C_out/groups, *k); "
        "output_padding < max(stride, dilation)); Dumoulin & Visin 2016, §4")


def _cases(ctx: OpContext, **kw):
    """Certified integer cases of the op: small volumes in 3-D, so that a claim runs in seconds."""
    if ctx.op == "conv3d":
        return conv3d_cases(dtype=ctx.dtype, max_side=4, **kw)
    nd = int(ctx.op[-2])
    return conv_transpose_cases(ndim=nd, dtype=ctx.dtype, max_side=3 if nd == 3 else 5, **kw)


def t_args(case: dict) -> dict:
    return {"stride": case["stride"], "padding": case["padding"],
            "output_padding": case["output_padding"], "groups": case["groups"],
            "dilation": case["dilation"]}


def t_expected(case: dict) -> np.ndarray:
    """The exact transposed convolution of the case (:func:`cnnspec.oracle.conv_transpose`)."""
    return oracle.conv_transpose(case["x"], case["weight"], case["bias"], **t_args(case))


def _taps(case: dict) -> int:
    """K, the products in one output: ``C_in/g·Πk`` for either direction (the weight's axis 1)."""
    return math.prod(case["weight"].shape[1:]) if "output_padding" not in case else \
        case["weight"].shape[0] // case["groups"] * math.prod(case["kernel"])


# --- shape and values ------------------------------------------------------------------------------

def _check_values_t(case, res, ctx) -> Verdict:
    line = cc.words(ctx, case)
    problem = result_problem(res[0], "out", cc.out_shape(case), ctx, line)
    if problem:
        return Verdict(problem)
    got, want = res[0].value, t_expected(case)
    bound = oracle.error_bound_transpose(case["x"], case["weight"], case["bias"], dtype=ctx.dtype,
                                         input_rounding=ctx.input_rounding, **t_args(case))
    v = bound_verdict(got, want, bound, line)
    if v.failure is not None:   # the grammar's exact form: out[i]=g, but should be w
        v.failure = compare(got, want, "out", line) or v.failure
    return v


def _call1(c, ctx):
    return [cc._call(c)]


for _ops, _src, _check, _expected, _size in (
        (CONV3D, SRC3, cc._check_values, cc.expected, "⌊(n + 2p − d(k−1) − 1)/s⌋ + 1"),
        (TRANSPOSED, SRCT, _check_values_t, t_expected, "(n−1)s − 2p + d(k−1) + output_padding + 1")):
    _fam = "conv3d" if _ops == CONV3D else "conv_transpose"
    op_claim(f"conformance.{_fam}.shape",
             f"The output has shape (N, C_out, …) with {_size} per spatial axis, and the input's dtype.",
             _src, "property", _ops,
             Property(_cases, _call1, cc._check_shape, key=f"{_fam}-exact"))
    op_claim(f"conformance.{_fam}.values",
             "On integer data with the exactness certificate K·max|x|·max|w| + max|b| < 2^p every "
             "output equals its exact sum of products plus the bias, in any summation order; an "
             "output off the exact value but within Higham's bound γ_{K+2}·(Σ|x||w| + |b|) is "
             "reported not bit-exact.", _src + "; Higham 2002 §3.1", "exact", _ops,
             Property(_cases, _call1, _check, key=f"{_fam}-exact", diagnose=diagnoser(_expected)))


# --- the bound tier ---------------------------------------------------------------------------------

@st.composite
def _float_cases(draw, ctx: OpContext):
    """A case's geometry with general float data of the dtype (its integer data dropped)."""
    c = draw(_cases(ctx))
    x = draw(float_arrays(c["x"].shape, dtype=ctx.dtype))
    w = draw(float_arrays(c["weight"].shape, dtype=ctx.dtype))
    b = draw(st.none() | float_arrays((c["C_out"],), dtype=ctx.dtype))
    return {**{k: v for k, v in c.items() if k != "cert"}, "x": x, "weight": w, "bias": b}


def _check_bound_t(case, res, ctx) -> Verdict:
    line = cc.words(ctx, case)
    problem = result_problem(res[0], "out", cc.out_shape(case), ctx, line)
    if problem:
        return Verdict(problem)
    a = t_args(case)
    x, w, b = case["x"], case["weight"], case["bias"]
    want = oracle.conv_transpose(x, w, b, **a, exact=False)
    # the float64 reference's own error is added to the bound, so the bound stays rigorous
    bound = oracle.error_bound_transpose(x, w, b, dtype=ctx.dtype, input_rounding=ctx.input_rounding, **a) \
        + oracle.gamma(_taps(case) + 2, "float64") * oracle.abs_conv_transpose(x, w, b, **a)
    v = bound_verdict(res[0].value, want, bound, line)
    v.inexact = 0   # on general data inexact results are expected; only the ratio is news
    return v


for _ops, _check in ((CONV3D, cc._check_bound), (TRANSPOSED, _check_bound_t)):
    op_claim(f"conformance.{'conv3d' if _ops == CONV3D else 'conv_transpose'}.bound",
             "On general float data |ŷ − y| ≤ γ_{K+2}·(Σ|x||w| + |b|), γ_n = n·u/(1 − n·u), u the "
             "unit roundoff of the dtype, K = C_in/groups·Πk: the forward error bound of any "
             "summation order.", "Higham 2002, §3.1 and §3.5 (inner products)", "property", _ops,
             Property(_float_cases, _call1, _check))


# --- linearity, bias, batch (exact on certified integer data) ---------------------------------------

@st.composite
def _linear_cases(draw, ctx: OpContext):
    """Two inputs and two weights of a case's geometry, small enough that a·x1 + b·x2 (|a|, |b| ≤ 3)
    keeps the certificate."""
    c = draw(_cases(ctx, bias=False))
    room = (2 ** oracle.PRECISION[ctx.dtype] - 1) // (_taps(c) * 2 * 3 * 3 * 2)
    m = max(1, min(3, room))
    xs, ws = c["x"].shape, c["weight"].shape
    return {**c, "a": draw(st.integers(-3, 3)), "b": draw(st.integers(-3, 3)),
            "x": draw(int_arrays(xs, bound=m)), "x2": draw(int_arrays(xs, bound=m)),
            "weight": draw(int_arrays(ws, bound=2)), "w2": draw(int_arrays(ws, bound=2))}


for _ops, _src in ((CONV3D, SRC3), (TRANSPOSED, SRCT)):
    _fam = "conv3d" if _ops == CONV3D else "conv_transpose"
    op_claim(f"conformance.{_fam}.linearity",
             "The layer is linear in the input and in the weight: f(a·x1 + b·x2, w) = a·f(x1, w) + "
             "b·f(x2, w) and f(x, a·w1 + b·w2) = a·f(x, w1) + b·f(x, w2), exactly on integer data.",
             _src + "; Goodfellow et al. 2016 §9.1", "property", _ops,
             Property(_linear_cases, cc._linear_calls, cc._check_linear, share=HALF))
    op_claim(f"conformance.{_fam}.bias",
             "The bias adds b[c] to every output of channel c, of every sample: f(x, w, b) = "
             "f(x, w) + b.", _src, "property", _ops,
             Property(lambda ctx: _cases(ctx, bias=True, min_batch=2),
                      lambda c, ctx: [cc._call(c), cc._call(c, b=None)], cc._check_bias, share=HALF))
    batch_claim(f"conformance.{_fam}.batch", _ops, lambda ctx: _cases(ctx, min_batch=2),
                lambda c, x: cc._call(c, x=x), cc.out_shape, _src)


# --- operator reconstruction ------------------------------------------------------------------------

_PROBES = {   # (size, kernel, stride, padding, dilation, output_padding): every convention leaves a trace
    "conv3d": ((4, 3, 4), (2, 2, 2), (2, 1, 1), (1, 0, 1), (1, 1, 2), None),
    "conv_transpose1d": ((4,), (3,), (2,), (1,), (1,), (1,)),
    "conv_transpose2d": ((3, 4), (3, 2), (2, 1), (1, 0), (1, 2), (1, 1)),
    "conv_transpose3d": ((2, 3, 2), (2, 2, 1), (2, 1, 2), (0, 1, 0), (1, 1, 1), (1, 0, 1)),
}


def probe_case(op: str) -> dict:
    """A small geometry of ``op`` where every convention of :mod:`.diagnose` leaves a trace: a
    non-cubic kernel, stride 2, padding, dilation 2 on one axis, ``output_padding``, two groups of
    two channels each way (so that the weight's two channel axes cannot be confused unnoticed);
    weights numbered 1, 2, … so that a matrix entry names its weight."""
    size, kernel, stride, padding, dilation, out_pad = _PROBES[op]
    cin, cout, g = (2, 4, 2) if op == "conv3d" else (4, 4, 2)
    w_shape = (cout, cin // g, *kernel) if out_pad is None else (cin, cout // g, *kernel)
    kw = {"stride": stride, "padding": padding, "dilation": dilation, "groups": g}
    case = {"N": 1, "C_in": cin, "C_out": cout, "groups": g, "size": size, "kernel": kernel,
            "stride": stride, "padding": padding, "dilation": dilation, "kwargs": kw,
            "x": np.zeros((1, cin, *size)), "bias": None,
            "weight": np.arange(1, math.prod(w_shape) + 1, dtype=np.float64).reshape(w_shape)}
    if out_pad is not None:
        spec = TransposedSpec.make(size, kernel, in_channels=cin, out_channels=cout, groups=g,
                                   stride=stride, padding=padding, dilation=dilation,
                                   output_padding=out_pad)
        kw["output_padding"] = out_pad
        case.update(output_padding=out_pad, out_size=spec.output_size, spec=spec)
    return case


def _operator3d(ctx: OpContext) -> Outcome:
    case = probe_case(ctx.op)
    spec = ConvSpec.make(case["size"], case["kernel"], in_channels=case["C_in"],
                         out_channels=case["C_out"], groups=case["groups"], stride=case["stride"],
                         padding=case["padding"], dilation=case["dilation"])
    want = ConvMatrix(spec).numeric(case["weight"].astype(np.int64)).toarray().astype(np.float64)
    return cc.operator_outcome(ctx, case, want, "T", "T(w) (triply block Toeplitz)", cc.words(ctx, case))


def transposed_matrix(case: dict) -> np.ndarray:
    """``T(w)ᵀ`` of the matching convolution, dense (:func:`~cnnspec.spec.transposed.transpose_of_matching`)."""
    spec = case["spec"]
    table = transpose_of_matching(spec)
    want = np.zeros((math.prod(spec.output_shape), math.prod(spec.input_shape)))
    np.add.at(want, (table.rows, table.cols), case["weight"].reshape(-1)[table.widx] * table.coef)
    return want


def _operator_t(ctx: OpContext) -> Outcome:
    case = probe_case(ctx.op)
    return cc.operator_outcome(ctx, case, transposed_matrix(case), "Tᵀ",
                               "Tᵀ(w) of the matching convolution", cc.words(ctx, case))


op_claim("conformance.conv3d.operator",
         "Probed with unit impulses, the target's matrix equals the spec's convolution matrix T(w) "
         "(triply block Toeplitz in 3-D, block diagonal over groups) entry by entry.",
         SRC3 + "; Goodfellow et al. 2016 §9.1", "exact", CONV3D)(_operator3d)
op_claim("conformance.conv_transpose.operator",
         "Probed with unit impulses, the target's matrix equals T(w)ᵀ, the transpose of the matrix "
         "of the convolution with the same kernel, stride, padding, dilation and groups on inputs "
         "of the transposed output's size (weight read as (C_in, C_out/groups, *k)), entry by entry.",
         SRCT + "; Goodfellow et al. 2016 §9.5", "exact", TRANSPOSED)(_operator_t)


# --- backward (conv3d) --------------------------------------------------------------------------------

@st.composite
def _grad_cases3d(draw, dtype: str = "float32"):
    c = draw(conv3d_cases(dtype="bfloat16", bias=True, max_side=4))   # the forward certificate at bfloat16
    return cc.exact_gradients({**c, "grad": draw(int_arrays(cc.out_shape(c), bound=2))}, dtype)


op_claim("conformance.conv3d.backward",
         "Backward through autograd is the adjoint: the input gradient is T(w)ᵀv, the weight "
         "gradient the cross-correlation of the input with the output gradient, the bias gradient "
         "Σv, bit for bit on integer data.",
         SRC3 + "; Dumoulin & Visin 2016 §4 (transposed convolution)", "exact", CONV3D)(
    lambda ctx: cc.backward_outcome(ctx, lambda ctx: _grad_cases3d(ctx.dtype)))


# --- invalid arguments ------------------------------------------------------------------------------

def invalid_transposed(op: str) -> list[tuple[str, Call]]:
    """Calls torch's ``conv_transpose*d`` rejects: ``output_padding ≥ max(stride, dilation)``, and
    the rules it shares with the convolution."""
    nd = int(op[-2])
    x, w = np.ones((1, 2, *[4] * nd)), np.ones((2, 2, *[3] * nd))
    one = lambda v: v if nd == 1 else (v,) * nd  # noqa: E731
    return [
        ("output_padding=2 with stride=2 and dilation=1 (must be < max(stride, dilation))",
         Call((x, w), {"stride": one(2), "output_padding": one(2)})),
        ("output_padding=1 with stride=1 and dilation=1 (must be < max(stride, dilation))",
         Call((x, w), {"output_padding": one(1)})),
        ("stride=0", Call((x, w), {"stride": one(0)})),
        ("padding=-1", Call((x, w), {"padding": one(-1)})),
        ("dilation=0", Call((x, w), {"dilation": one(0)})),
        ("groups=3 with C_in=2 (groups must divide the channels)", Call((x, w), {"groups": 3})),
        ("weight with 3 input channels for an input with 2", Call((x, np.ones((3, 2, *[3] * nd))), {})),
    ]


invalid_claim("conformance.conv3d.invalid", CONV3D, cc.invalid_calls, SRC3)
invalid_claim("conformance.conv_transpose.invalid", TRANSPOSED, invalid_transposed, SRCT)


# --- pad: torch.nn.functional.pad ------------------------------------------------------------------

PAD = ("pad",)
SRCP = ("PyTorch docs, torch.nn.functional.pad (the pad tuple starts at the last axis; modes "
        "constant, reflect, replicate, circular; torch.nn.Conv2d(padding_mode=…) is F.pad then a "
        "convolution)")


def _pad_call(c: dict, x=None) -> Call:
    return Call((c["x"] if x is None else x, c["pad"]), c["kwargs"])


def pad_expected(c: dict) -> np.ndarray:
    """The exact padded array (:func:`cnnspec.oracle.functional_pad`): entries are copied, never
    computed, so every correct implementation gives these values bit for bit."""
    return oracle.functional_pad(c["x"], c["pad"], c["mode"], c["value"])


def _pad_words(ctx: OpContext, c: dict) -> str:
    return call_words(ctx.op, c, x=c["x"])


def _check_pad(c, res, ctx) -> Verdict:
    want, line = pad_expected(c), _pad_words(ctx, c)
    return Verdict(result_problem(res[0], "out", want.shape, ctx, line) or
                   compare(res[0].value, want, "out", line))


op_claim("conformance.pad.values",
         "Each padded axis grows by lo + hi (a negative constant pad crops); inside, the input; "
         "outside, the fill value (constant), the mirror image without the edge (reflect), the "
         "edge (replicate) or the other end (circular): bit for bit.",
         SRCP, "exact", PAD,
         Property(lambda ctx: pad_cases(), lambda c, ctx: [_pad_call(c)], _check_pad,
                  diagnose=diagnoser(pad_expected)))
batch_claim("conformance.pad.batch", PAD, lambda ctx: pad_cases(), lambda c, x: _pad_call(c, x=x),
            lambda c: pad_expected(c).shape, SRCP)

_PAD_PROBE = ((3, 4), (1, 2, 2, 1))   # H×W, and the pad tuple: W gets (1, 2), H gets (2, 1)


def _pad_operator(ctx: OpContext) -> Outcome:
    size, flat = _PAD_PROBE
    pairs = [(flat[2], flat[3]), (flat[0], flat[1])]
    skipped: list[str] = []
    for mode in PAD_MODES:
        case = {"x": np.zeros((1, 1, *size)), "pad": flat, "mode": mode, "value": None,
                "pairs": tuple(pairs), "kwargs": {"mode": mode}}
        want = np.kron(*[pad_matrix(n, lo, hi, mode) for n, (lo, hi) in zip(size, pairs)]).astype(np.float64)
        try:
            got, problem = reconstruct(ctx, case, lambda c, e: _pad_call(c, x=e))
        except WorkerFailure as e:
            return Outcome(False, f"{e} while probing with unit impulses")
        except ProbeNotExpressible as e:
            skipped.append(f"{mode} ({e})")
            continue
        problem = problem or compare_matrix(got, want, f"R_{mode}", fmt)
        if problem is not None:
            diagnosis = cc.diagnose_matrix(ctx.op, case, got) if got is not None else ""
            problem.line += f" [{_pad_words(ctx, case)}]"
            return Outcome(False, problem.line + (f"; diagnosis: {diagnosis}" if diagnosis else ""),
                           examples=case["x"].size,
                           counterexample=counterexample(case, problem, ctx, diagnosis))
    if len(skipped) == len(PAD_MODES):
        return Outcome(True, "skipped: " + "; ".join(skipped), skipped=True, examples=0)
    done = len(PAD_MODES) - len(skipped)
    return Outcome(True, f"the reconstructed matrices of the {'four' if not skipped else done} modes equal "
                         f"the spec's R = R_H ⊗ R_W [pad{flat} x(1,1,{size[0]},{size[1]})]"
                         + (f"; left out: {'; '.join(skipped)}" if skipped else ""),
                   examples=done * math.prod(size))


op_claim("conformance.pad.operator",
         "Probed with unit impulses, the target's padding is the 0/1 matrix R = R_H ⊗ R_W of the spec, "
         "R[i, src(i)] = 1 per padded position (src: the mirror index without the edge for reflect, the "
         "clamped index for replicate, the index mod n for circular, none for constant), in every mode.",
         SRCP + "; cnnspec.spec.padding", "exact", PAD)(_pad_operator)


def invalid_pad(op: str) -> list[tuple[str, Call]]:
    """Calls torch's ``pad`` rejects."""
    x = np.ones((1, 2, 3, 4))
    return [
        ("reflect pad (4, 0) on an axis of size 4 (must be smaller than the size)",
         Call((x, (4, 0, 0, 0)), {"mode": "reflect"})),
        ("circular pad (5, 0) on an axis of size 4 (wraps more than once)",
         Call((x, (5, 0, 0, 0)), {"mode": "circular"})),
        ("mode='wrap' (not constant, reflect, replicate or circular)", Call((x, (1, 1)), {"mode": "wrap"})),
        ("a pad tuple of odd length (1, 1, 1)", Call((x, (1, 1, 1)), {})),
        ("value=2.0 with mode='reflect' (only constant takes a fill value)",
         Call((x, (1, 1, 1, 1)), {"mode": "reflect", "value": 2.0})),
    ]


invalid_claim("conformance.pad.invalid", PAD, invalid_pad, SRCP,
              "Pads the mode cannot give a meaning to (reflect pads not smaller than the axis, "
              "circular pads over the axis), an unknown mode, an odd-length pad tuple and a fill "
              "value outside mode 'constant' are rejected with an exception; accepting one is a "
              "warning, not a wrong value.")


# --- padding='same' | 'valid' and (lo, hi) pairs on the convolutions --------------------------------

DIRECT = ("conv1d", "conv2d", "conv3d")
SRCS = ("PyTorch docs, torch.nn.functional.conv2d (padding='valid' | 'same', 'same' only with "
        "stride 1: the total d(k−1) split with the odd pixel on the high side); ONNX Conv auto_pad "
        "SAME_UPPER; docs/calling-convention.md ((lo, hi) pairs, an extension of the convention)")


@st.composite
def _padding_form_cases(draw, ctx: OpContext, pairs: bool):
    """A stride-1 convolution case whose ``padding`` is ``'same'``, ``'valid'`` or ``(lo, hi)``
    pairs (``pairs=True``), with the output size it gives."""
    kw = {"max_stride": 1}
    c = draw(conv3d_cases(dtype=ctx.dtype, max_side=4, **kw) if ctx.op == "conv3d" else
             cc.conv_cases(ndim=cc._nd(ctx), dtype=ctx.dtype, **kw))
    span = [d * (k - 1) + 1 for k, d in zip(c["kernel"], c["dilation"])]
    if pairs:
        form = []
        for n, s in zip(c["size"], span):
            lo, hi = draw(st.integers(0, 3)), draw(st.integers(0, 3))
            form.append((lo, hi + max(0, s - n - lo - hi)))   # the dilated kernel fits
        out = [n + lo + hi - s + 1 for n, s, (lo, hi) in zip(c["size"], span, form)]
        form = tuple(form)
    else:
        form = draw(st.sampled_from(["same", "valid"]))
        if form == "valid":   # the kernel must fit the unpadded input
            x = c["x"]
            grow = [max(0, s - n) for n, s in zip(c["size"], span)]
            c["x"] = np.pad(x, [(0, 0), (0, 0)] + [(0, g) for g in grow], constant_values=1)
            c["size"] = tuple(n + g for n, g in zip(c["size"], grow))
        out = list(c["size"]) if form == "same" else [n - s + 1 for n, s in zip(c["size"], span)]
    kwargs = {**{k: v for k, v in c["kwargs"].items() if k != "stride"}, "padding": form}
    return {**c, "padding": form, "out_size": tuple(out), "kwargs": kwargs}


def _padding_claim(pairs: bool):
    prop = Property(lambda ctx: _padding_form_cases(ctx, pairs), _call1, cc._check_values,
                    diagnose=diagnoser(cc.expected))

    def check(ctx: OpContext) -> Outcome:
        # a target written for integer padding only (torch before 1.9 took no strings; torch takes
        # no pairs) is skipped on these forms, not failed: a probe call first
        probe = probe_case("conv3d") if ctx.op == "conv3d" else cc.probe_case(cc._nd(ctx))
        nd = len(probe["size"])
        form, words = (((1, 0),) * nd, "(lo, hi) padding") if pairs else ("valid", "padding='valid'")
        try:
            (r,) = ctx.worker.call_many([Call((probe["x"], probe["weight"]),
                                              {"padding": form, "groups": probe["groups"]})])
        except WorkerFailure as e:
            return Outcome(False, f"{e} on {words}")
        if not r.ok:
            return Outcome(True, f"skipped: the target does not take {words} ({r.error[:120]})",
                           skipped=True)
        return run_property(prop, ctx)
    check.draws = prop   # its cases are drawn ahead, while the target's process starts
    return check


op_claim("conformance.conv_padding.same_valid",
         "padding='valid' is no padding; padding='same' (stride 1) keeps every spatial size, padding "
         "⌊d(k−1)/2⌋ before and the rest after: exact values on integer data; a target that does "
         "not take the strings is skipped.",
         SRCS, "exact", DIRECT)(_padding_claim(False))
op_claim("conformance.conv_padding.pairs",
         "padding as one (lo, hi) pair per axis pads lo before and hi after, the output size "
         "n + lo + hi − d(k−1) (stride 1): exact values; a target that does not take pairs is skipped.",
         SRCS, "exact", DIRECT)(_padding_claim(True))
