"""The adjoint relation between a target's convolution and its transposed convolution:
``⟨conv(u), v⟩ = ⟨u, conv_transpose(v)⟩``, exact on certified integer data.

A transposed convolution is the adjoint (the matrix transpose ``T(w)ᵀ``) of the convolution with
the same weight tensor, stride, padding, dilation and groups (Dumoulin & Visin 2016, §4; PyTorch's
``ConvTranspose2d`` "can be seen as the gradient of Conv2d with respect to its input"). The weight
``(C_out, C_in/g, *k)`` of ``conv`` is read by ``conv_transpose`` as ``(C_in', C_out'/g, *k)`` with
``C_in' = C_out``: the same tensor serves both. ``conv_transpose`` maps an input of size ``n`` to
``(n − 1)s − 2p + d(k − 1) + output_padding + 1``, the input size of the convolution whose adjoint
it is; where ``output_padding ≥ s`` (allowed when the dilation is larger) that convolution has
more than ``n`` outputs, and the relation holds for its first ``n`` (the outputs ``v`` pairs with).

The claim needs no oracle: it pairs the target with the op beside it in its module
(``torch.nn.functional:conv_transpose2d`` with ``torch.nn.functional:conv2d``, an adapter's op with
the adapter's, ``mypkg.ops:conv1d`` with ``mypkg.ops:conv_transpose1d``) and compares two exact
integers. A target with no such partner is skipped, never failed. So a wrong transposed
convolution — a kernel not flipped, the weight's channel axes read as a direct convolution's
``(C_out, C_in/g)``, ``output_padding`` dropped — is caught even where its values are not compared
with the oracle.

References: Dumoulin & Visin, *A guide to convolution arithmetic for deep learning* (2016), §4;
PyTorch docs, ``torch.nn.ConvTranspose2d`` (output size, weight layout, ``output_padding``) and
``torch.nn.functional.conv_transpose1d/2d/3d``; Higham 2002, §3.1 (the bound tier).
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from .. import oracle
from ..claims import Outcome
from ..spec.convolution import output_size
from ..strategies import conv3d_cases, conv_cases, conv_transpose_cases, int_arrays
from . import conv_claims as cc
from .call_forms import NO_PARTNER
from .isolation import Call, WorkerFailure
from .properties import (Failure, OpContext, Property, Verdict, call_words, fmt, idx, not_expressible,
                         op_claim, result_problem, run_property)

DIRECT = ("conv1d", "conv2d", "conv3d")
TRANSPOSED = ("conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
SRC = ("Dumoulin & Visin 2016, §4 (transposed convolution: the transpose of the convolution "
       "matrix); PyTorch docs, torch.nn.ConvTranspose2d (the gradient of Conv2d with respect to its "
       "input; output size (n−1)s − 2p + d(k−1) + output_padding + 1; weight (C_in, C_out/groups, *k))")


def partner_op(op: str) -> str:
    """The other op of the pair: ``conv2d`` ↔ ``conv_transpose2d``."""
    nd = op[-2]
    return f"conv{nd}d" if op.startswith("conv_transpose") else f"conv_transpose{nd}d"


@st.composite
def adjoint_cases(draw, ctx: OpContext) -> dict:
    """A certified integer case of the target's op (no bias: the relation is about the linear map)
    and the partner's input, small enough that the partner's data are certified too
    (:func:`cnnspec.oracle.certificate` holds for both directions)."""
    nd, direct = int(ctx.op[-2]), ctx.op in DIRECT
    if direct:
        c = draw(conv3d_cases(dtype=ctx.dtype, bias=False, max_side=4) if nd == 3 else
                 conv_cases(ndim=nd, dtype=ctx.dtype, bias=False))
    else:
        c = draw(conv_transpose_cases(ndim=nd, dtype=ctx.dtype, bias=False, max_side=3 if nd == 3 else 5))
    w = c["weight"]
    s, p, d, g, k = c["stride"], c["padding"], c["dilation"], c["groups"], c["kernel"]
    if direct:   # v lives in conv's output space; conv_transpose must map it back onto size n
        m = [output_size(n, ki, si, pi, di) for n, ki, si, pi, di in zip(c["size"], k, s, p, d)]
        out_pad = tuple((n + 2 * pi - di * (ki - 1) - 1) % si for n, ki, si, pi, di in zip(c["size"], k, s, p, d))
        other_shape = (c["x"].shape[0], c["C_out"], *m)
        taps = w.shape[0] // g * math.prod(k)              # conv_transpose's K
        pkw = {"stride": s, "padding": p, "output_padding": out_pad, "groups": g, "dilation": d}
    else:        # u lives in conv_transpose's output space
        out_pad = c["output_padding"]
        other_shape = (c["x"].shape[0], c["C_out"], *c["out_size"])
        taps = w.shape[1] * math.prod(k)                    # conv's K
        pkw = {"stride": s, "padding": p, "dilation": d, "groups": g}
    limit = 2 ** oracle.PRECISION[ctx.dtype] - 1
    if taps * float(np.abs(w).max(initial=0)) > limit:      # the partner's K is larger: smaller weights
        w = np.sign(w)
    bound = max(1, min(16, limit // max(1, taps * int(np.abs(w).max(initial=1)))))
    other = draw(int_arrays(other_shape, bound=bound))
    conv_k = w.shape[1] * math.prod(k)
    u, v = (c["x"], other) if direct else (other, c["x"])
    assume(oracle.certificate(u, w, None, conv_k, ctx.dtype)["holds"] and
           oracle.certificate(v, w, None, w.shape[0] // g * math.prod(k), ctx.dtype)["holds"])
    return {**c, "weight": w, "partner_x": other, "partner_kwargs": pkw,
            "ct_args": {"stride": s, "padding": p, "output_padding": tuple(out_pad), "groups": g,
                        "dilation": d}}


def _calls(c: dict, ctx: OpContext) -> list[Call]:
    return [Call((c["x"], c["weight"]), c["kwargs"]),
            Call((c["partner_x"], c["weight"]), c["partner_kwargs"], partner=partner_op(ctx.op))]


def exact_dot(a: np.ndarray, b: np.ndarray) -> int | Fraction:
    """``Σ a·b`` exactly: int64 for integer-valued arrays whose sum cannot overflow, else rationals
    (every float64 is a rational)."""
    a, b = np.ravel(a), np.ravel(b)
    peak = float(np.abs(a).max(initial=0)) * float(np.abs(b).max(initial=0)) * max(a.size, 1)
    if peak < 2 ** 62 and np.array_equal(a, np.rint(a)) and np.array_equal(b, np.rint(b)):
        return int(np.dot(a.astype(np.int64), b.astype(np.int64)))
    return sum((Fraction(p) * Fraction(q) for p, q in zip(a.tolist(), b.tolist())), Fraction(0))


def _num(v: int | Fraction) -> str:
    return str(v) if isinstance(v, int) or v.denominator == 1 else f"{float(v)!r}"


def _not_finite(y: np.ndarray, what: str, line: str) -> Failure | None:
    bad = ~np.isfinite(y)
    if not bad.any():
        return None
    i = tuple(np.argwhere(bad)[0])
    return Failure(f"{what}{idx(i)}={fmt(y[i])}, but should be finite on integer data [{line}]")


def slack(c: dict, u: np.ndarray, v: np.ndarray, crop: tuple, ctx: OpContext) -> float:
    """The most ``|⟨ŷ, v⟩ − ⟨u, ẑ⟩|`` can be when each output is within Higham's bound of its exact
    value: ``Σ|v|·B_conv + Σ|u|·B_transpose`` (zero difference on certified data, but a target
    reported "not bit-exact" by the values claims is not failed here either)."""
    a, w = c["ct_args"], c["weight"]
    b1 = oracle.error_bound(u, w, None, dtype=ctx.dtype, input_rounding=ctx.input_rounding,
                            stride=a["stride"], padding=a["padding"], dilation=a["dilation"],
                            groups=a["groups"])[crop]
    b2 = oracle.error_bound_transpose(v, w, None, dtype=ctx.dtype, input_rounding=ctx.input_rounding, **a)
    total = float(np.sum(np.abs(v) * b1) + np.sum(np.abs(u) * b2))
    return total * (1 + oracle.gamma(b1.size + b2.size + 2, "float64"))   # the float64 sums' own rounding


def _check(c: dict, res, ctx: OpContext) -> Verdict:
    direct, other = ctx.op in DIRECT, partner_op(ctx.op)
    conv_op, ct_op = (ctx.op, other) if direct else (other, ctx.op)
    tline = cc.words(ctx, c)
    pline = call_words(other, c, c["partner_kwargs"], x=c["partner_x"], weight=c["weight"])
    line = f"{tline}; {pline} beside it"
    u, v = (c["x"], c["partner_x"]) if direct else (c["partner_x"], c["x"])
    problem = result_problem(res[0], "out", cc.out_shape(c), ctx, tline)
    if problem:
        if not direct and res[0].ok:   # the wrong size is not the input space of the convolution
            problem.line += f" (the input size of the {conv_op} whose adjoint it is)"
        return Verdict(problem)
    p_shape = u.shape if direct else (v.shape[0], v.shape[1], *[output_size(n, k, s, p, d) for n, k, s, p, d
                                                                 in zip(u.shape[2:], c["kernel"], c["stride"],
                                                                        c["padding"], c["dilation"])])
    problem = result_problem(res[1], f"{other}(…)", p_shape, ctx, pline)
    if problem:
        problem.line += f" (the {other} beside the target)"
        return Verdict(problem)
    y, z = (res[0].value, res[1].value) if direct else (res[1].value, res[0].value)
    crop = (slice(None), slice(None), *[slice(0, n) for n in v.shape[2:]])
    y = y[crop]    # conv's first n outputs: the ones v pairs with (all of them unless output_padding ≥ s)
    for arr, what in ((y, f"{conv_op}(u)"), (z, f"{ct_op}(v)")):
        problem = _not_finite(arr, what, line)
        if problem:
            return Verdict(problem)
    lhs, rhs = exact_dot(y, v), exact_dot(u, z)
    if lhs == rhs:
        return Verdict(ratio=0.0)
    diff, room = abs(Fraction(lhs) - Fraction(rhs)), slack(c, u, v, crop, ctx)
    if diff <= Fraction(room):
        return Verdict(ratio=float(diff / Fraction(room)), inexact=1)
    left, right = (f"⟨{conv_op}(u), v⟩", lhs), (f"⟨u, {ct_op}(v)⟩", rhs)
    (tw, tv), (ow, ov) = (left, right) if direct else (right, left)
    return Verdict(Failure(
        f"{tw}={_num(tv)}, but should be {ow}={_num(ov)} (the adjoint relation; both exact on "
        f"certified integer data) [{line}]",
        args={"u": u.tolist(), "v": v.tolist(), "partner": other, "partner_kwargs": c["partner_kwargs"]},
        expected=_num(ov), got=_num(tv)), ratio=math.inf)


PROPERTY = Property(adjoint_cases, _calls, _check, share=0.5)


def _probe(op: str) -> Call:
    """A plain valid call of the partner: is there one beside the target?"""
    nd = int(op[-2])
    return Call((np.ones((1, 1, *[3] * nd)), np.ones((1, 1, *[2] * nd))), {}, partner=partner_op(op))


def _adjoint(ctx: OpContext) -> Outcome:
    other = partner_op(ctx.op)
    try:
        (r,) = ctx.worker.call_many([_probe(ctx.op)])
    except WorkerFailure as e:
        return Outcome(False, f"{e} calling the {other} beside the target")
    if r.error.startswith(NO_PARTNER):
        return Outcome(True, f"skipped: {r.error[len(NO_PARTNER):]}", skipped=True)
    if not r.ok:   # not the calling convention's op: never a failure of the target
        why = not_expressible(r) or f"skipped: the {other} beside the target does not take a plain call " \
                                    f"({r.error[:160]})"
        return Outcome(True, why, skipped=True)
    out = run_property(PROPERTY, ctx)
    out.evidence["partner"] = other
    return out


op_claim("conformance.conv.adjoint",
         "The target and the op beside it in its module are adjoint: ⟨conv(u), v⟩ = ⟨u, "
         "conv_transpose(v)⟩ for the same weight, stride, padding, dilation and groups, on inputs u "
         "of size (n−1)s − 2p + d(k−1) + output_padding + 1 (the first n outputs of conv where "
         "output_padding ≥ s), both sides exact integers on certified data; a target with no "
         "partner beside it is skipped.", SRC, "exact", DIRECT + TRANSPOSED, draws=PROPERTY)(_adjoint)
