"""Claim builders and helpers that every op family uses, whatever the op.

* :func:`bound_verdict` — bit-exact, or within a rigorous bound (not bit-exact), or a failure;
* :func:`batch_claim` — batch independence: ``f(x)[n] = f(x[n:n+1])[0]``, permuting the batch
  permutes the output;
* :func:`reconstruct` / :func:`compare_matrix` — a linear op's matrix from unit impulses, compared
  entry by entry with the spec's;
* :func:`typed_snippet` — a reproduction snippet whose arrays keep their own dtypes (int64
  indices, uint8 data), for claims whose calls are not ``f(x, weight, bias)`` in the run's dtype;
* :func:`invalid_claim` — arguments outside the mathematics (stride 0, ...) raise; a target that
  accepts one gets a warning, not a failure: strictness about arguments is PyTorch's convention,
  not a wrong value (``--strict`` makes it fail).

Each family's claims module (``conv_claims``, ``pool_claims``) registers its claims with these.
"""
from __future__ import annotations

import math

import numpy as np

from ..claims import Outcome
from .isolation import WorkerFailure
from .properties import (Failure, OpContext, Property, Verdict, call_words, compare, first_mismatch, fmt,
                         not_expressible,
                         idx, op_claim, result_problem)

HALF = 0.5   # metamorphic properties make several calls per case: half the examples


def bound_verdict(got: np.ndarray, want: np.ndarray, bound: np.ndarray, line: str) -> Verdict:
    """Bit-exact, or within ``bound`` (reported not bit-exact), or a failure in the grammar."""
    if first_mismatch(got, want) is None:
        return Verdict(ratio=0.0)
    err = np.abs(got - want)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(err == 0, 0.0, np.where(bound > 0, err / bound, np.inf))
    r = np.where(np.isnan(r), np.inf, r)
    ratio = float(r.max())
    if ratio <= 1:
        return Verdict(ratio=ratio, inexact=int((err != 0).sum()))
    i = tuple(np.unravel_index(int(np.argmax(r)), r.shape))
    return Verdict(Failure(f"out{idx(i)}={fmt(got[i])}, but should be {fmt(want[i])} ± {bound[i]:.3g} "
                           f"(error/bound {ratio:.3g}) [{line}]", expected=want.tolist(),
                           got=got.tolist(), direct=True, bound=bound.tolist()), ratio=ratio)


def batch_claim(id: str, ops, strategy, call, shape_of, source: str) -> None:
    """Batch independence for any op: each sample's output depends on that sample only."""
    def calls(c, ctx):
        perm = np.arange(c["x"].shape[0])[::-1].copy()
        ends = sorted({0, c["x"].shape[0] - 1})    # the first and the last sample alone
        return [call(c, c["x"]), call(c, c["x"][perm])] + [call(c, c["x"][i:i + 1]) for i in ends]

    op_claim(id, "Samples are independent: f(x)[n] = f(x[n:n+1])[0] for every n, and permuting "
             "the batch permutes the output.", source, "property", ops,
             Property(strategy, calls, lambda c, res, ctx: _check_batch_generic(c, res, ctx, shape_of),
                      share=HALF))


def _check_batch_generic(c, res, ctx, shape_of) -> Verdict:
    line = call_words(ctx.op, c, x=c["x"])
    problem = result_problem(res[0], "out", shape_of(c), ctx, line)
    if problem:
        return Verdict(problem)
    y = res[0].value
    fail = result_problem(res[1], "f(x[::-1])", y.shape, ctx, line) or \
        compare(res[1].value, y[::-1], "f(x[::-1])", line, "f(x)[::-1]")
    for i, r in zip(sorted({0, y.shape[0] - 1}), res[2:]):
        fail = fail or result_problem(r, f"f(x[{i}:{i + 1}])", (1, *y.shape[1:]), ctx, line) or \
            compare(r.value, y[i:i + 1], f"f(x[{i}:{i + 1}])", line, f"f(x)[{i}:{i + 1}]")
    return Verdict(fail)


def impulses(shape: tuple[int, ...]) -> np.ndarray:
    """One unit impulse per input entry: a batch ``(n_in, *shape)`` (the identity, reshaped)."""
    n = math.prod(shape)
    return np.eye(n).reshape(n, *shape)


class ProbeNotExpressible(Exception):
    """A framework adapter cannot express the probe's call: the claim is skipped with this reason."""


def reconstruct(ctx: OpContext, case: dict, call) -> tuple[np.ndarray | None, Failure | None]:
    """The target's matrix, column j its output for the unit impulse e_j (one sample per call).

    Raises :class:`ProbeNotExpressible` when an adapter says it cannot express the call (ONNX
    Runtime's ConvTranspose refuses output_padding >= stride): skipped, never failed."""
    e = impulses(case["x"].shape[1:])
    res = ctx.worker.call_many([call(case, e[j:j + 1]) for j in range(len(e))])
    if res and (why := not_expressible(res[0])):
        raise ProbeNotExpressible(why)
    cols = []
    for j, r in enumerate(res):
        if not r.ok:
            return None, Failure(f"f(e_{j}) failed: {r.error}")
        cols.append(r.value.reshape(-1))
    if len({c.size for c in cols}) != 1:
        return None, Failure("the output size changes with the input values")
    return np.stack(cols, axis=1), None


def compare_matrix(got: np.ndarray, want: np.ndarray, name: str, entry) -> Failure | None:
    """Entry by entry; the first difference in the grammar ``T[r,c]=…, but should be …``."""
    if got.shape != want.shape:
        return Failure(f"{name}.shape={got.shape}, but should be {want.shape}", expected=list(want.shape),
                       got=list(got.shape))
    bad = np.argwhere(got != want)
    if not len(bad):
        return None
    r, c = bad[0]
    return Failure(f"{name}[{r},{c}]={entry(got[r, c])}, but should be {entry(want[r, c])} "
                   f"({len(bad)} of {got.size} entries differ)", expected=want.tolist(), got=got.tolist())


def invalid_claim(id: str, ops, calls_of, source: str, statement: str | None = None,
                  reference: str = "torch.nn.functional.{op}") -> None:
    """Register ``id``: every call of ``calls_of(op)`` (``(what, Call)`` pairs) should raise;
    ``reference`` names who rejects them (``{op}`` is filled in)."""
    def check(ctx: OpContext) -> Outcome:
        cases = calls_of(ctx.op)
        try:
            res = ctx.worker.call_many([c for _, c in cases])
        except WorkerFailure as e:   # crashing on bad arguments is a defect, not strictness
            return Outcome(False, f"{e} on invalid arguments (it should raise an exception)")
        accepted = [(what, r) for (what, _), r in zip(cases, res) if r.ok or not r.raised]
        if not accepted:
            return Outcome(True, f"all {len(cases)} invalid calls raised", examples=len(cases))
        what, r = accepted[0]
        got = f"an array of shape {tuple(r.value.shape)}" if r.ok else (r.mutated or r.error)
        rest = f" (and {len(accepted) - 1} more: {', '.join(a for a, _ in accepted[1:])})" if accepted[1:] else ""
        line = (f"accepts {what}, which {reference.format(op=ctx.op)} rejects: it returned {got} "
                f"instead of raising{rest}")
        return Outcome(True, line, examples=len(cases), warn=True,
                       evidence={"accepted": [a for a, _ in accepted], "calls": len(cases)})

    op_claim(id, statement or "Arguments the mathematics leaves undefined (stride 0, dilation 0, "
             "groups that do not divide the channels, mismatched channels, a kernel larger than the "
             "padded input) are rejected with an exception; accepting one is a warning, not a wrong "
             "value.", source, "property", ops)(check)


def typed_snippet(ctx: OpContext, args: list, kwargs: dict, expected=None) -> str:
    """Python that calls the target on ``args`` (each array in its own dtype, other values as
    written) and, with ``expected``, asserts the exact value (what ``--array`` passes: NumPy arrays
    or torch tensors)."""
    torch = ctx.array == "torch"

    def lit(v) -> str:
        if not isinstance(v, np.ndarray):
            return repr(v)
        lib = "torch" if torch else "np"
        return f"{'torch.tensor' if torch else 'np.array'}({v.tolist()!r}, dtype={lib}.{v.dtype.name})"

    lines = (["import torch"] if torch else []) + [
        "import numpy as np", "nan, inf = float('nan'), float('inf')", "from cnnspec.targets import load_op",
        f"f = load_op({ctx.target!r})", f"got = f({', '.join(lit(a) for a in args)}, **{kwargs!r})"]
    if expected is None:
        return "\n".join(lines + ["print(got)"])
    return "\n".join(lines + [
        "got = np.asarray(got.detach().cpu() if hasattr(got, 'detach') else got).astype(np.float64)",
        f"expected = np.array({expected!r})", "print('got     ', got.tolist())", "print('expected', expected.tolist())",
        "assert np.array_equal(got, expected, equal_nan=True), 'differs from the exact value'"])
