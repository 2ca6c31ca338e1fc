"""Layout invariance: the same values in another memory layout, or unbatched, give bit-identical
results (convolutions, transposed convolutions, max pooling).

An op of the calling convention is a function of the *values* of its arrays: the strides they are
stored with are not part of the mathematics. Libraries nonetheless take other code paths for other
layouts — PyTorch's channels-last kernels (``memory_format=torch.channels_last``), a copy to C
order, a raw buffer handed to C code — and a path that reads a buffer as if it were C-contiguous
gives wrong values only for the layouts it was never tried on. The claim calls the target on each
exact-tier case (certified integer data, where every summation order gives the exact integer, so
any two correct code paths agree bit for bit) as it is, contiguous and batched, and then

* with its arrays in each layout of :data:`~.call_forms.LAYOUTS` (made in the child, right before
  the call: channels-last, column-major, strided views; negative strides for NumPy);
* unbatched: ``x[0]`` of shape ``(C, *spatial)``, which ``torch.nn.functional`` accepts for
  convolutions and pooling; the result must be the batched call's ``[0]``.

A different value is a failure naming the layout, with the exact value beside it; a target that
raises on unbatched input is a warning (strictness about the call form, as with invalid
arguments), not a failure. Average and Lp pooling divide or take roots, where two correct paths may
round differently even on integer data: they are not claimed here.

References: PyTorch tutorial "(beta) Channels Last Memory Format in PyTorch"; PyTorch docs,
``torch.nn.functional.conv2d`` and ``max_pool2d`` (input ``(minibatch, in_channels, iH, iW)`` or
``(in_channels, iH, iW)``); NumPy manual, "Internal memory layout of an ndarray".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..claims import Outcome
from . import conv_claims as cc
from . import conv_family_claims as cf
from . import pool_claims as pc
from . import pool_family_claims as pf
from .call_forms import LAYOUTS, WORDS
from .isolation import Call, Result
from .properties import Failure, OpContext, Property, Verdict, first_mismatch, fmt, idx, op_claim, \
    result_problem, run_property

CONV = ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
MAX_POOL = ("max_pool1d", "max_pool2d", "max_pool3d")
UNBATCHED = "unbatched"
SRC = ("PyTorch tutorial, (beta) Channels Last Memory Format in PyTorch; PyTorch docs, "
       "torch.nn.functional.conv1d/2d/3d, conv_transpose1d/2d/3d and max_pool1d/2d/3d (batched or "
       "unbatched input); NumPy manual, Internal memory layout of an ndarray")


@dataclass(frozen=True)
class _Op:
    """How one op's exact-tier cases are drawn, called, sized, printed and computed exactly (the
    values claim's own pieces, so that its cases and contiguous calls are shared, not repeated)."""

    cases: Callable
    key: str
    call: Callable
    shape: Callable
    words: Callable
    expected: Callable


def _spec(op: str) -> _Op:
    if op in ("conv1d", "conv2d"):
        return _Op(cc._exact_cases, "conv-exact", cc._call, cc.out_shape, cc.words, cc.expected)
    if op == "conv3d" or op.startswith("conv_transpose"):
        fam = "conv3d" if op == "conv3d" else "conv_transpose"
        return _Op(cf._cases, f"{fam}-exact", cc._call, cc.out_shape, cc.words,
                   cc.expected if op == "conv3d" else cf.t_expected)
    if op == "max_pool2d":
        return _Op(pc._cases, "pool", pc._call, pc.out_shape, pc.words, pc.expected)
    return _Op(pf._cases, "nd", pf._call, pf.out_shape, pf._words, pf.expected)


def layouts(array: str) -> tuple[str, ...]:
    """The layouts tried for an array library, then ``unbatched``."""
    return (*LAYOUTS[array], UNBATCHED)


def _calls(c: dict, ctx: OpContext) -> list[Call]:
    spec = _spec(ctx.op)
    base = spec.call(c)
    return [base] + [Call(base.args, base.kwargs, layout=name) for name in LAYOUTS[ctx.array]] + \
        [spec.call(c, x=c["x"][0])]


def _differs(name: str, got: np.ndarray, ref: np.ndarray, exact: np.ndarray, line: str) -> Failure | None:
    i = first_mismatch(got, ref)
    if i is None:
        return None
    what = "f(x[0])" if name == UNBATCHED else "out"
    how = "the unbatched input x[0] (C, *spatial)" if name == UNBATCHED else WORDS[name]
    rhs = "f(x)[0] of the batched call" if name == UNBATCHED else "with contiguous arrays"
    n_bad = int((~((got == ref) | (np.isnan(got) & np.isnan(ref)))).sum())
    return Failure(f"{what}{idx(i)}={fmt(got[i])} with {how}, but should be {fmt(ref[i])} as {rhs} "
                   f"(the exact value is {fmt(exact[i])}) [{line}; layout {name}] "
                   f"({n_bad} of {got.size} entries differ)",
                   args={"layout": name}, expected=ref.tolist(), got=got.tolist())


def _checker(rejected: list[str]):
    def check(c: dict, res, ctx: OpContext) -> Verdict:
        spec = _spec(ctx.op)
        line = spec.words(ctx, c)
        problem = result_problem(res[0], "out", spec.shape(c), ctx, line)
        if problem:
            return Verdict(problem)
        y, exact, inexact = res[0].value, None, 0
        for name, r in zip(layouts(ctx.array), res[1:]):
            unbatched = name == UNBATCHED
            if unbatched and r.raised:      # strictness about the call form: a warning, below
                rejected.append(r.error)
                continue
            ref = y[0] if unbatched else y
            problem = result_problem(r, "f(x[0])" if unbatched else f"out ({name})", ref.shape, ctx,
                                     f"{line}; layout {name}")
            if problem is None and first_mismatch(r.value, ref) is not None:
                if _within_bound(c, r, ctx, unbatched):
                    inexact += 1
                    continue
                exact = spec.expected(c) if exact is None else exact
                problem = _differs(name, r.value, ref, exact[0] if unbatched else exact, line)
            if problem:
                return Verdict(problem)
        return Verdict(inexact=inexact)
    return check


def _within_bound(c: dict, r: Result, ctx: OpContext, unbatched: bool) -> bool:
    """With ``--input-rounding`` (TF32 tensor cores, autocast) the rounded inputs may leave the
    certificate, and two code paths may then round differently: a layout's result that differs from
    the contiguous one is accepted when the values claim's own check (exact, or within Higham's
    bound widened for the rounding) accepts it. Without it, certified data leave no such room."""
    values = cf._check_values_t if ctx.op.startswith("conv_transpose") else \
        cc._check_values if ctx.op.startswith("conv") else None
    if ctx.input_rounding is None or values is None:
        return False
    case = {**c, "x": c["x"][:1]} if unbatched else c
    got = Result(True, r.value[None] if unbatched else r.value, dtype=r.dtype)
    return values(case, [got], ctx).failure is None


def relaid_snippet(python: str, layout: str, array: str) -> str:
    """The counterexample's snippet with its arrays in ``layout`` before the call (the child's own
    :func:`~.call_forms.arrange`), so that pasting it shows the failing value, not the contiguous one."""
    names = [n for n in ("x", "weight", "bias") if f"\n{n} = " in python]
    line = ("x = x[0]  # unbatched (C, *spatial)" if layout == UNBATCHED else
            f"from cnnspec.conformance.call_forms import arrange\n{', '.join(names)}, = "
            f"arrange([{', '.join(names)}], {layout!r}, {array!r})  # the same values, laid out as {layout}")
    lines = python.split("\n")
    at = next((i for i, t in enumerate(lines) if t.startswith(("got = f(", "print(f("))), len(lines))
    return "\n".join(lines[:at] + [line] + lines[at:])


def _layout(ctx: OpContext) -> Outcome:
    spec, rejected = _spec(ctx.op), []
    out = run_property(Property(spec.cases, _calls, _checker(rejected), key=spec.key), ctx)
    out.evidence["layouts"] = list(layouts(ctx.array))
    ce = out.counterexample or {}
    if not out.holds and ce.get("python") and (ce.get("args") or {}).get("layout"):
        ce["python"] = relaid_snippet(ce["python"], ce["args"]["layout"], ctx.array)
    if out.holds and not out.skipped and rejected:
        out.warn = True
        out.message = (f"rejects the unbatched input (C, *spatial) that torch.nn.functional.{ctx.op} "
                       f"accepts: it raised {rejected[0].split(' (at ')[0][:200]}; every other layout "
                       f"gave bit-identical results")
        out.evidence["unbatched_rejected"] = len(rejected)
    return out


op_claim("conformance.layout.invariance",
         "On certified integer data the result depends on the values only: the same arrays as "
         "channels-last, column-major or strided views (and with negative strides, for NumPy) give "
         "the contiguous call's result bit for bit, and the unbatched input x[0] of shape "
         "(C, *spatial) gives f(x)[0]; rejecting unbatched input is a warning.",
         SRC, "exact", CONV + MAX_POOL)(_layout)
