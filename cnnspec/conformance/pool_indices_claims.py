"""Conformance claims for max pooling with ``return_indices=True`` and for ``max_unpool1d/2d/3d``.

``max_pool{1,2,3}d(..., return_indices=True)`` returns ``(values, indices)``: the values are the
window maxima (bit for bit, as without indices), the indices int64, each the flat position of the
chosen entry in the input's *unpadded* spatial plane, ``(d·H + h)·W + w`` (PyTorch docs,
``torch.nn.functional.max_pool2d``; ``aten/src/ATen/native/cpu/MaxPoolKernel.cpp``). Where a
window's maximum is unique, its index is determined and compared exactly with the oracle's
(:func:`cnnspec.oracle.max_pool`). Where several entries of a window hold the maximum (a tie, or
several NaNs), any of them is a right answer: the claim checks that the target's index names one
of them and reports the rule it follows; torch's CPU kernel keeps the **first** maximum in
row-major order and the **last** NaN (the oracle's rule), and a target that follows another rule
gets a warning, not a failure. A window without a real entry (dilated taps all in the padding) has
no position to name, and its index is not claimed.

``max_unpool{1,2,3}d(input, indices, kernel_size, stride=None, padding=0, output_size=None)`` puts
each value at its index in a zero plane of size ``(n − 1)·s − 2p + k`` per axis, or
``output_size`` (``torch.nn.functional._unpool_output_size``); the claims use distinct indices in
each plane, since torch leaves colliding indices nondeterministic (the ``MaxUnpool2d`` note).

Sources: PyTorch docs, ``torch.nn.functional.max_pool1d/2d/3d`` and ``max_unpool1d/2d/3d``,
``torch.nn.MaxUnpool2d``; ``aten/src/ATen/native/cpu/MaxUnpoolKernel.cpp``; Zeiler & Fergus,
*Visualizing and Understanding Convolutional Networks* (ECCV 2014), §2.1 (unpooling with switches).
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from .. import oracle
from ..claims import Outcome
from ..oracle.unpool import max_unpool
from ..spec.pooling import pool_geometry, window_taps
from ..strategies import int_arrays, pool_nd_cases
from .generic_claims import HALF, invalid_claim, typed_snippet
from .isolation import Call, WorkerFailure
from .properties import (Failure, OpContext, Property, Verdict, call_words, compare, fmt, idx,
                         not_expressible, op_claim, result_problem, run_property)

POOLS = ("max_pool1d", "max_pool2d", "max_pool3d")
UNPOOLS = ("max_unpool1d", "max_unpool2d", "max_unpool3d")
OPS = UNPOOLS
SRC = ("PyTorch docs, torch.nn.functional.max_pool1d/2d/3d (return_indices); "
       "aten/src/ATen/native/cpu/MaxPoolKernel.cpp (ties: the first maximum; NaN: the last)")
USRC = ("PyTorch docs, torch.nn.functional.max_unpool1d/2d/3d and torch.nn.MaxUnpool2d "
        "(_unpool_output_size; colliding indices are nondeterministic); "
        "aten/src/ATen/native/cpu/MaxUnpoolKernel.cpp")
SIDES = {1: 9, 2: 6, 3: 4}
_TIES = "pool_indices.ties"       # ctx.cache key: how the target resolved tied windows


def ndim(op: str) -> int:
    return int(op[-2])


def parts_problem(res, names: tuple[str, ...], shapes, dtypes, line: str) -> Failure | None:
    """:func:`result_problem` for a call that returns a tuple: each entry's shape and dtype."""
    if res.mutated or not res.ok:
        want = "(" + ", ".join(f"{n} of shape {tuple(s)}" for n, s in zip(names, shapes)) + ")"
        return Failure(f"{line} {res.mutated}, but should leave its inputs unchanged" if res.mutated
                       else f"{line} {'raised' if res.raised else 'returned'} {res.error}, but should "
                            f"return {want}")
    for v, got_dt, name, shape, dt in zip(res.value, res.dtype, names, shapes, dtypes):
        if tuple(v.shape) != tuple(shape):
            return Failure(f"{name}.shape={tuple(v.shape)}, but should be {tuple(shape)} [{line}]",
                           expected=list(shape), got=list(v.shape))
        if got_dt != dt:
            return Failure(f"{name}.dtype={got_dt}, but should be {dt} [{line}]")
    return None


# --- max pooling with indices --------------------------------------------------------------------

@st.composite
def _pool_cases(draw, op: str) -> dict:
    """Pooling cases whose windows often tie: small integer bounds, sometimes NaN and ±inf."""
    nd = ndim(op)
    special = draw(st.sampled_from([False, False, True]))
    c = draw(pool_nd_cases(ndim=nd, kind="max", max_side=SIDES[nd], special=special,
                           bound=draw(st.sampled_from([1, 2, 9]))))
    return {**c, "kwargs": {**c["kwargs"], "return_indices": True}}


def _geometry(case: dict):
    return pool_geometry(case["size"], case["kernel"], case["stride"], case["padding"], case["dilation"],
                         case["ceil_mode"], torch_limits=False)


def _pool_expected(case: dict) -> tuple[np.ndarray, np.ndarray]:
    return oracle.max_pool(case["x"], case["kernel"], case["stride"], case["padding"], case["dilation"],
                           case["ceil_mode"], return_indices=True, torch_limits=False)


def _admissible(case: dict, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(flat, ok)``: each window's tap positions ``(*m, K)`` and, per output ``(N, C, *m, K)``,
    whether the tap is a real entry that holds the window's value (NaN for a NaN window)."""
    x = case["x"]
    flat, valid, _ = window_taps(case["size"], _geometry(case))
    plane = x.reshape(*x.shape[:2], -1)
    taps = plane[..., np.where(valid, flat, 0)]
    v = values[..., None]
    with np.errstate(invalid="ignore"):
        ok = valid & ((taps == v) | (np.isnan(taps) & np.isnan(v)))
    return flat, ok


def _pool_call(case: dict) -> list[Call]:
    return [Call((case["x"],), case["kwargs"], returns=2)]


def _pool_words(ctx: OpContext, case: dict) -> str:
    return call_words(ctx.op, case, x=case["x"])


def _pair(case, res, ctx):
    """``(line, want_v, want_i, values, indices, problem)`` of a return_indices call."""
    line = _pool_words(ctx, case)
    want_v, want_i = _pool_expected(case)
    problem = parts_problem(res[0], ("values", "indices"), (want_v.shape, want_i.shape),
                            (ctx.dtype, "int64"), line)
    values, got = (None, None) if problem else res[0].value
    return line, want_v, want_i, values, got, problem


def _check_indices(case, res, ctx) -> Verdict:
    line, want_v, want_i, values, got, problem = _pair(case, res, ctx)
    if problem:
        return Verdict(problem)
    fail = compare(values, want_v, "values", line)
    if fail:
        return Verdict(fail)
    flat, ok = _admissible(case, want_v)
    hit = ok & (got[..., None] == flat)
    claimed = ok.any(-1)                        # windows with a position to name
    wrong = claimed & ~hit.any(-1)
    if wrong.any():
        i = tuple(np.argwhere(wrong)[0])
        x = case["x"].reshape(*case["x"].shape[:2], -1)
        at = (f"x.flat[{int(got[i])}]={fmt(x[i[:2]][got[i]])}" if 0 <= got[i] < x.shape[-1]
              else f"{int(got[i])} lies outside the plane of {x.shape[-1]}")
        return Verdict(Failure(f"indices{idx(i)}={int(got[i])}, but should be {int(want_i[i])} ({at}, "
                               f"not a maximum of its window; {int(wrong.sum())} of {got.size} "
                               f"indices wrong) [{line}]", expected=want_i.tolist(), got=got.tolist(),
                               args={"indices_expected": want_i.tolist()}))
    tally = ctx.cache.setdefault(_TIES, {})
    tied = ok.sum(-1) > 1
    nan = np.isnan(want_v) & tied
    rank = np.cumsum(ok, -1) - 1                # the rank of each admissible tap, row-major
    chosen = np.where(hit, rank, 0).sum(-1)
    last = ok.sum(-1) - 1
    for kind, mask in (("tie", tied & ~nan), ("nan", nan)):
        for rule, sel in (("first", chosen == 0), ("last", chosen == last)):
            tally[(kind, rule)] = tally.get((kind, rule), 0) + int((mask & sel).sum())
        tally[(kind, "other")] = tally.get((kind, "other"), 0) + int((mask & (chosen != 0) & (chosen != last)).sum())
        tally[(kind, "all")] = tally.get((kind, "all"), 0) + int(mask.sum())
    return Verdict()


def _tie_words(tally: dict) -> tuple[str, bool]:
    """The tie rule the target follows, in words, and whether it differs from torch's."""
    words, other = [], False
    for kind, torch_rule, what in (("tie", "first", "tied maxima"), ("nan", "last", "several NaNs")):
        n = tally.get((kind, "all"), 0)
        if not n:
            continue
        counts = {r: tally.get((kind, r), 0) for r in ("first", "last", "other")}
        if counts[torch_rule] == n:
            words.append(f"{what}: the {torch_rule} in row-major order in {n} of {n} windows (torch's rule)")
        else:
            other = True
            named = ", ".join(f"the {r} in {c}" for r, c in counts.items() if c)
            words.append(f"{what}: {named} of {n} windows (torch keeps the {torch_rule}; any is a maximum)")
    return "; ".join(words), other


_INDICES = Property(lambda ctx: _pool_cases(ctx.op), lambda c, ctx: _pool_call(c), _check_indices,
                    key="pool_indices")


def _takes_indices(ctx: OpContext) -> Outcome | None:
    """None when the target takes ``return_indices=True``; else the skip (or failure) outcome."""
    nd = ndim(ctx.op)
    x = np.array([1.0, 3.0, 2.0, 0.0, 5.0, 4.0]).reshape(1, 1, 6, *(1,) * (nd - 1))
    kernel = (2,) + (1,) * (nd - 1)
    try:
        (r,) = ctx.worker.call_many([Call((x, kernel), {"return_indices": True}, returns=2)])
    except WorkerFailure as e:
        return Outcome(False, f"{e} on return_indices=True")
    if not r.ok and r.raised:
        # an adapter's own reason (no kernel of the run's dtype, say) names the real gap
        return Outcome(True, not_expressible(r) or
                       f"skipped: the target does not take return_indices=True ({r.error[:120]})", skipped=True)
    return None


def _indices(ctx: OpContext) -> Outcome:
    skip = _takes_indices(ctx)
    if skip is not None:
        return skip
    ctx.cache[_TIES] = {}
    out = run_property(_INDICES, ctx)
    words, other = _tie_words(ctx.cache[_TIES])
    if out.holds and words:
        out.message = (words + ". " + out.message).strip()
        out.warn = out.warn or other
        out.evidence["ties"] = {f"{k}.{r}": n for (k, r), n in ctx.cache[_TIES].items()}
    return out


op_claim("conformance.pool_indices.values",
         "With return_indices=True the result is (values, indices): the values are the window maxima "
         "bit for bit, the indices int64 of the values' shape, each the flat position in the unpadded "
         "input plane of an entry that holds its window's maximum (exactly the oracle's where the "
         "maximum is unique; where several entries hold it, any of them, the rule named: torch keeps "
         "the first maximum and the last NaN, another rule is a warning).",
         SRC, "exact", POOLS)(_indices)


def _check_gather(case, res, ctx) -> Verdict:
    line, want_v, _, values, got, problem = _pair(case, res, ctx)
    if problem:
        return Verdict(problem)
    x = case["x"].reshape(*case["x"].shape[:2], -1)
    _, ok = _admissible(case, want_v)
    claimed = ok.any(-1)                         # an empty window's index names no entry
    inside = (got >= 0) & (got < x.shape[-1])
    if (claimed & ~inside).any():
        i = tuple(np.argwhere(claimed & ~inside)[0])
        return Verdict(Failure(f"indices{idx(i)}={int(got[i])}, but should lie in [0, {x.shape[-1]}) "
                               f"(the input's spatial plane) [{line}]", got=got.tolist()))
    gathered = np.take_along_axis(x, np.where(inside, got, 0).reshape(*x.shape[:2], -1), -1)
    gathered = np.where(claimed, gathered.reshape(got.shape), values)
    return Verdict(compare(gathered, values, "x.flatten(2)[indices]", line, "values"))


def _gather(ctx: OpContext) -> Outcome:
    return _takes_indices(ctx) or run_property(
        Property(lambda ctx: _pool_cases(ctx.op), lambda c, ctx: _pool_call(c), _check_gather,
                 key="pool_indices"), ctx)


op_claim("conformance.pool_indices.gather",
         "The indices are consistent with the values: x.flatten(2)[n, c, indices[n, c, i]] = "
         "values[n, c, i] for every output (NaN matching NaN); every index lies in the input's "
         "spatial plane.", SRC, "exact", POOLS)(_gather)


# --- max_unpool ------------------------------------------------------------------------------------

@st.composite
def _unpool_cases(draw, op: str, resize: bool | None = None) -> dict:
    """An unpooling geometry, values, and distinct indices per plane (a seed: hypothesis shrinks the
    values, never the indices into collisions). ``resize``: an explicit output_size that differs
    from the default (True), none (False), or either (None)."""
    nd = ndim(op)
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    s = tuple(draw(st.integers(2 if resize else 1, 3)) for _ in range(nd))
    m = tuple(draw(st.integers(1, 3 if nd < 3 else 2)) for _ in range(nd))
    p = tuple(draw(st.integers(0, ki // 2)) for ki in k)
    default = [(mi - 1) * si - 2 * pi + ki for mi, si, pi, ki in zip(m, s, p, k)]
    if math.prod(default) < math.prod(m) or min(default) < 1:
        p = (0,) * nd                              # room for distinct indices
        default = [(mi - 1) * si + ki for mi, si, ki in zip(m, s, k)]
    explicit = draw(st.booleans()) if resize is None else resize
    out = tuple(default)
    if explicit:
        out = tuple(max(1, draw(st.integers(d - si + 1, d + si - 1))) for d, si in zip(default, s))
        if resize and out == tuple(default):
            a = draw(st.integers(0, nd - 1))
            out = out[:a] + (default[a] + 1,) + out[a + 1:]
        if math.prod(out) < math.prod(m):
            out = tuple(default)
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    x = draw(int_arrays((n, c, *m), bound=draw(st.sampled_from([1, 9, 100]))))
    kw: dict = {"kernel_size": k if len(set(k)) > 1 or draw(st.booleans()) else k[0]}
    if s != k or draw(st.booleans()):
        kw["stride"] = s
    if any(p):
        kw["padding"] = p
    if explicit:
        kw["output_size"] = out if draw(st.booleans()) else (n, c, *out)
    return {"N": n, "C": c, "size": m, "kernel": k, "stride": s, "padding": p, "out": out,
            "kwargs": kw, "x": x, "seed": draw(st.integers(0, 2 ** 32 - 1))}


def unpool_indices(case: dict) -> np.ndarray:
    """Distinct int64 indices into each ``prod(out)`` plane, one per input entry."""
    n, c, *m = case["x"].shape
    plane, count = math.prod(case["out"]), math.prod(m)
    rng = np.random.default_rng(case["seed"])
    rows = [rng.permutation(plane)[:count] for _ in range(n * c)]
    return np.array(rows, np.int64).reshape(case["x"].shape)


UNPOOL_NAMES = ("input", "indices")


def _unpool_call(case: dict, ind=None, **kw) -> Call:
    return Call((case["x"], unpool_indices(case) if ind is None else ind), {**case["kwargs"], **kw},
                names=UNPOOL_NAMES)


def _unpool_words(ctx: OpContext, case: dict, ind=None) -> str:
    return call_words(ctx.op, case, x=case["x"], indices=unpool_indices(case) if ind is None else ind)


def _check_unpool(case, res, ctx) -> Verdict:
    ind = unpool_indices(case)
    want = max_unpool(case["x"], ind, case["kernel"], case["stride"], case["padding"],
                      case["kwargs"].get("output_size"))
    line = _unpool_words(ctx, case, ind)
    problem = result_problem(res[0], "out", want.shape, ctx, line)
    if problem is None:
        problem = compare(res[0].value, want, "out", line)
    if problem is not None:
        problem.args = {"indices": ind.tolist(), "exact": want.tolist()}
    return Verdict(problem)


def _unpool_claim(prop: Property):
    """Run ``prop``; a failure's snippet passes the int64 indices beside the values."""
    def check(ctx: OpContext) -> Outcome:
        out = run_property(prop, ctx)
        ce = out.counterexample
        args = (ce or {}).get("args") or {}
        first = "values" if "values" in args else "x"
        exact = args.pop("exact", None)
        if "indices" in args and first in args:
            x = np.asarray(args[first], dtype=ctx.dtype if ctx.dtype != "bfloat16" else "float32")
            ce["python"] = typed_snippet(ctx, [x, np.asarray(args["indices"], np.int64)], args["kwargs"], exact)
        return out
    return check


op_claim("conformance.unpool.values",
         "max_unpool puts each input value at its index (distinct indices per plane) in a plane of "
         "zeros of size (n − 1)·s − 2p + k per axis, or output_size when given (spatial, or with N, C "
         "first): bit for bit, shape and dtype included.", USRC, "exact", UNPOOLS)(
    _unpool_claim(Property(lambda ctx: _unpool_cases(ctx.op), lambda c, ctx: [_unpool_call(c)], _check_unpool)))

op_claim("conformance.unpool.output_size",
         "An explicit output_size that differs from the default (strictly between default − s and "
         "default + s per axis) gives that shape, and the flat indices address its plane.", USRC,
         "exact", UNPOOLS)(
    _unpool_claim(Property(lambda ctx: _unpool_cases(ctx.op, resize=True), lambda c, ctx: [_unpool_call(c)],
                           _check_unpool, share=HALF)))


@st.composite
def _roundtrip_cases(draw, op: str) -> dict:
    """Non-overlapping windows (stride = kernel, no padding) on a side that kernel may not divide:
    the unpooled plane is then given its size back with output_size."""
    nd = ndim(op)
    k = tuple(draw(st.integers(1, 3 if nd < 3 else 2)) for _ in range(nd))
    m = tuple(draw(st.integers(1, 3 if nd < 3 else 2)) for _ in range(nd))
    size = tuple(ki * mi + draw(st.integers(0, ki - 1)) for ki, mi in zip(k, m))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    x = draw(int_arrays((n, c, *size), bound=draw(st.sampled_from([1, 3, 50]))))
    kw: dict = {"kernel_size": k}
    if size != tuple(ki * mi for ki, mi in zip(k, m)) or draw(st.booleans()):
        kw["output_size"] = size
    return {"N": n, "C": c, "size": size, "kernel": k, "kwargs": kw, "x": x}


def _roundtrip_call(case: dict) -> list[Call]:
    values, ind = oracle.max_pool(case["x"], case["kernel"], return_indices=True)
    return [Call((values, ind), case["kwargs"], names=UNPOOL_NAMES)]


def _check_roundtrip(case, res, ctx) -> Verdict:
    x, k = case["x"], case["kernel"]
    values, ind = oracle.max_pool(x, k, return_indices=True)
    kept = np.zeros(x.shape, bool).reshape(*x.shape[:2], -1)
    np.put_along_axis(kept, ind.reshape(*x.shape[:2], -1), True, -1)
    want = np.where(kept.reshape(x.shape), x, 0.0)     # each window's maximum in its place, else 0
    line = call_words(ctx.op, case, x=values, indices=ind) + f" (max_pool{len(k)}d of x{x.shape})"
    problem = result_problem(res[0], "out", x.shape, ctx, line) or \
        compare(res[0].value, want, "max_unpool(max_pool(x))", line, "x at each window's maximum, else 0")
    if problem is not None:
        problem.args = {"values": values.tolist(), "indices": ind.tolist(), "exact": want.tolist()}
    return Verdict(problem)


op_claim("conformance.unpool.roundtrip",
         "max_unpool(max_pool(x, k, return_indices=True), k) keeps each window's maximum at its "
         "position and zeros elsewhere (non-overlapping windows; output_size restores a side the "
         "kernel does not divide): the partial inverse of max pooling.",
         USRC + "; Zeiler & Fergus 2014 §2.1", "exact", UNPOOLS)(
    _unpool_claim(Property(lambda ctx: _roundtrip_cases(ctx.op), lambda c, ctx: _roundtrip_call(c),
                           _check_roundtrip, share=HALF)))


def invalid_unpool(op: str) -> list[tuple[str, Call]]:
    """Calls torch's ``max_unpool*d`` rejects: indices outside the output plane, indices that are
    not int64, an output_size outside (default − s, default + s)."""
    nd = ndim(op)
    x = np.ones((1, 1, *(2,) * nd))
    ind = np.arange(2 ** nd, dtype=np.int64).reshape(x.shape)   # a plane of 4**nd with kernel 2
    plane = 4 ** nd
    high, low = ind.copy(), ind.copy()
    high.flat[-1], low.flat[0] = plane, -1
    return [
        (f"an index {plane} outside the output plane of {plane}", Call((x, high, 2))),
        ("an index -1", Call((x, low, 2))),
        ("int32 indices (torch's index dtype is int64)", Call((x, ind.astype(np.int32), 2))),
        ("float indices", Call((x, ind.astype(np.float64), 2))),
        (f"output_size {(6,) * nd} (must lie strictly between 2 and 6)",
         Call((x, ind, 2), {"output_size": (6,) * nd})),
    ]


invalid_claim("conformance.unpool.invalid", UNPOOLS, invalid_unpool, USRC,
              "Indices outside the output plane or not int64, and an output_size outside "
              "(default − s, default + s), are rejected with an exception; accepting one is a warning, "
              "not a wrong value.")


def probe_calls(op: str) -> list[Call] | None:
    """Three valid, plain calls of ``op`` for the runner's usage probe; None for ops not here."""
    if op not in UNPOOLS:
        return None
    nd = ndim(op)
    calls = []
    for k in (1, 2, 3):
        x = np.arange(1.0, 1.0 + 2 ** nd).reshape(1, 1, *(2,) * nd)
        ind = np.arange(2 ** nd, dtype=np.int64).reshape(x.shape) * (k if k > 1 else 1)
        calls.append(Call((x, ind, k)))
    return calls
