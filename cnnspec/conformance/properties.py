"""Properties over a target, searched in batches and shrunk by hypothesis; the counterexample grammar.

A :class:`Property` draws *cases* from a strategy, turns each into calls of the target
(:class:`~cnnspec.conformance.isolation.Call`) and checks the results. :func:`run_property`

1. draws ``examples`` cases with hypothesis (a fixed seed: reproducible),
2. sends all their calls to the child process in a few round trips (low per-call overhead),
3. checks each case; on the first failure it replays the same hypothesis search with the results
   it already has and lets hypothesis *shrink* the failing case, one round trip per step,
4. returns an :class:`~cnnspec.claims.Outcome` with the shrunk counterexample in one grammar::

       out[0,1,2,3]=5.0, but should be 7.0 [conv2d(stride=(2,1), dilation=(2,1)) x(1,2,5,5) weight(4,1,3,2)]

   plus a reproduction command and a Python snippet.
"""
from __future__ import annotations

import hashlib
import pickle
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from hypothesis import HealthCheck, Phase, given, seed as hseed, settings
from hypothesis import strategies as st

from ..claims import Outcome
from . import call_forms, case_cache
from .isolation import Call, Result, Worker, WorkerFailure

BATCH = 64                 # calls per round trip


@dataclass(repr=False)
class OpContext:
    """What a conformance claim needs: the worker running the target and the run's settings."""

    worker: Worker
    target: str
    op: str
    array: str = "numpy"
    device: str = "cpu"
    dtype: str = "float32"
    examples: int = 50
    seed: int = 0
    timeout: float = 60.0
    progress: Callable[[str], None] | None = None
    shrink_seconds: float = 20.0                  # per failing claim
    input_rounding: str | None = None             # the target rounds its inputs (tf32, bfloat16)
    cache: dict = field(default_factory=dict)     # drawn cases, shared by claims with one key
    memo: dict = field(default_factory=dict)      # call fingerprint -> result
    claim: str | None = None                      # the claim running now (its reproduce filter)

    def __repr__(self) -> str:
        """The settings a strategy may draw on (a strategy's ``repr`` names its draw in
        :mod:`.case_cache`), not the worker, the target or what the run has found so far."""
        return (f"OpContext(op={self.op!r}, array={self.array!r}, device={self.device!r}, "
                f"dtype={self.dtype!r}, examples={self.examples}, seed={self.seed}, "
                f"input_rounding={self.input_rounding!r})")

    def _repr_pretty_(self, p, cycle) -> None:   # hypothesis prints strategy arguments this way
        p.text(repr(self))

    def reproduce(self) -> str:
        return (f"cnnspec validate {self.target} --op {self.op} --array {self.array} "
                f"--dtype {self.dtype} --device {self.device} --examples {self.examples} "
                f"--seed {self.seed}" + (f" --claims {self.claim}" if self.claim else ""))


@dataclass
class Failure:
    """A failing case: one line in the grammar, and the arrays for the report."""

    line: str
    args: dict = field(default_factory=dict)
    expected: Any = None
    got: Any = None
    # ``expected`` is the value of the case's own call f(x, weight, bias, **kwargs) (a value claim),
    # so the snippet can assert it; ``bound`` (bound tier) the allowed |got − expected| per entry.
    direct: bool = False
    bound: Any = None


@dataclass
class Verdict:
    failure: Failure | None = None
    ratio: float | None = None          # max(error / bound) over the case (bound tier)
    inexact: int = 0                    # outputs that differ from the exact value but obey the bound


def op_claim(id: str, statement: str, source: str, method: str, ops: tuple[str, ...],
             prop: "Property | None" = None, draws: "Property | None" = None):
    """Register a conformance claim for ``ops``: a :class:`Property` run, or the decorated check.

    The check takes ``ctx`` (a :class:`OpContext`); run without one (e.g. by ``cnnspec prove``) the
    claim is skipped, since it needs a target. A decorated check that runs a property of its own
    names it in ``draws`` (or, built by a factory, carries it as its ``draws`` attribute), so that
    :func:`prepare` draws its cases ahead as it does a ``prop``'s.
    """
    from ..claims import claim

    def register(fn: Callable[[OpContext], Outcome] | None = None):
        body = fn if fn is not None else (lambda ctx: run_property(prop, ctx))

        def check(ctx: OpContext | None = None, **_: Any) -> Outcome:
            if ctx is None:
                return Outcome(True, "needs a target: run `cnnspec validate TARGET --op ...`",
                               skipped=True)
            return body(ctx)

        check.__name__ = id.rsplit(".", 1)[-1]
        claim(id, statement, source, method, group="conformance")(check)
        ahead = prop or draws or getattr(fn, "draws", None)
        if ahead is not None:
            PROPERTIES[id] = ahead
        for op in ops:
            OP_CLAIMS.setdefault(op, [])
            if id not in OP_CLAIMS[op]:
                OP_CLAIMS[op].append(id)
        return fn if fn is not None else check

    return register if prop is None else register(None)


OP_CLAIMS: dict[str, list[str]] = {}   # op -> claim ids, in registration order
PROPERTIES: dict[str, "Property"] = {}  # claim id -> its Property, for claims that are one run


@dataclass
class Property:
    """``strategy(ctx)`` draws cases; ``calls(case, ctx)`` the target calls; ``check`` the verdict."""

    strategy: Callable[[OpContext], st.SearchStrategy]
    calls: Callable[[dict, OpContext], list[Call]]
    check: Callable[[dict, list[Result], OpContext], Verdict]
    key: str = ""                       # cases with the same key are drawn once per run and shared
    diagnose: Callable[[list[tuple[dict, list[Result]]], OpContext], str] | None = None
    share: float = 1.0                  # this property's share of --examples (costly ones: less)


# --- the grammar ------------------------------------------------------------------------------------

def fmt(v: Any) -> str:
    """A value as the grammar prints it: ``5``, ``-0.5``, ``nan``, ``(2, 1)``."""
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return str(int(f)) if f.is_integer() and abs(f) < 2 ** 53 else repr(f)
    return repr(v)


def call_words(op: str, case: dict, kwargs: dict | None = None, **arrays) -> str:
    """``conv2d(stride=(2, 1), groups=2) x(1,2,5,5) weight(4,1,3,2)``: the call, as passed (a
    ``pad`` call's pad tuple first: ``pad(pad=(0, -1), mode='constant') x(1,1,5)``)."""
    kw = case["kwargs"] if kwargs is None else kwargs
    if "pad" in case and "pad" not in kw:
        kw = {"pad": tuple(case["pad"]), **kw}
    params = ", ".join(f"{k}={v!r}" for k, v in kw.items())
    shapes = " ".join(f"{name}({','.join(map(str, a.shape))})" for name, a in arrays.items()
                      if isinstance(a, np.ndarray))
    return f"{op}({params}) {shapes}".strip()


def idx(i) -> str:
    return "[" + ",".join(str(int(a)) for a in i) + "]"


def first_mismatch(got: np.ndarray, want: np.ndarray) -> tuple | None:
    """Index of the first entry where ``got`` and ``want`` differ (NaN equals NaN), or None."""
    bad = ~((got == want) | (np.isnan(got) & np.isnan(want)))
    if not bad.any():
        return None
    return tuple(np.argwhere(bad)[0])


def result_problem(res: Result, what: str, shape: tuple | None, ctx: OpContext,
                   call: str) -> Failure | None:
    """A failure when the call raised, returned a non-array or the wrong shape or dtype, or
    modified one of its inputs (:attr:`Result.mutated`)."""
    if res.mutated:
        return Failure(f"{call} {res.mutated}, but should leave its inputs unchanged (each call "
                       f"gets its own copies; a target reads its inputs, never writes them)")
    if not res.ok:
        verb = "raised" if res.raised else "returned"
        want = f"{what} of shape {tuple(shape)}" if shape is not None else what
        return Failure(f"{call} {verb} {res.error}, but should return {want}")
    if shape is not None and tuple(res.value.shape) != tuple(shape):
        return Failure(f"{what}.shape={tuple(res.value.shape)}, but should be {tuple(shape)} [{call}]",
                       expected=list(shape), got=list(res.value.shape))
    if res.dtype and res.dtype != ctx.dtype:
        return Failure(f"{what}.dtype={res.dtype}, but should be {ctx.dtype} (the input dtype) [{call}]")
    return None


def compare(got: np.ndarray, want: np.ndarray, what: str, call: str,
            want_what: str | None = None) -> Failure | None:
    """Bit-exact comparison in the grammar: ``out[i]=g, but should be w [call]``."""
    i = first_mismatch(got, want)
    if i is None:
        return None
    rhs = f"{want_what}{idx(i)}={fmt(want[i])}" if want_what else fmt(want[i])
    n_bad = int((~((got == want) | (np.isnan(got) & np.isnan(want)))).sum())
    return Failure(f"{what}{idx(i)}={fmt(got[i])}, but should be {rhs} [{call}] "
                   f"({n_bad} of {got.size} entries differ)", expected=want.tolist(), got=got.tolist(),
                   direct=what == "out")  # "out": the case's own output against its exact value


# --- running ----------------------------------------------------------------------------------------

def not_expressible(res: Result) -> str:
    """The reason, when a framework adapter raised ``NotExpressible`` for this call, else ``""``."""
    if res.raised and res.error.startswith("NotExpressible: "):
        return "skipped: " + res.error[len("NotExpressible: "):].split(" (at ")[0]
    return ""


def _fingerprint(case: dict) -> str:
    return hashlib.sha1(pickle.dumps(sorted(case.items(), key=lambda kv: kv[0]))).hexdigest()


def _settings(n: int, phases) -> settings:
    return settings(max_examples=n, database=None, deadline=None, phases=phases,
                    suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
                    derandomize=False, print_blob=False)


def draw_cases(strategy: st.SearchStrategy, n: int, seed: int, cache: tuple | None = None) -> list[dict]:
    """``n`` cases from ``strategy`` in hypothesis's generation order for ``seed``. With ``cache``
    (what names the draw besides these: the claim, the run's settings) they are read back from
    :mod:`.case_cache` when the same draw was made before (the same cases: drawing is
    deterministic), else drawn and stored there."""
    rules = _settings(n, [Phase.generate])
    name = None if cache is None else case_cache.key(*cache, strategy, n, seed, rules)
    cases = case_cache.load(name)
    if cases is not None:
        return cases
    cases = []

    @rules
    @hseed(seed)
    @given(strategy)
    def collect(case):
        cases.append(case)

    collect()
    case_cache.store(name, cases)
    return cases


def call_all(ctx: OpContext, calls: list[Call]) -> list[Result]:
    """Every call's result, ``BATCH`` calls per round trip; calls made before are not repeated."""
    keys = [_fingerprint(vars(c)) for c in calls]
    todo = [i for i, k in enumerate(keys) if k not in ctx.memo]
    todo = list({keys[i]: i for i in todo}.values())
    for j in range(0, len(todo), BATCH):
        chunk = todo[j:j + BATCH]
        for i, r in zip(chunk, ctx.worker.call_many([calls[i] for i in chunk])):
            ctx.memo[keys[i]] = r
    return [ctx.memo[k] for k in keys]


class _Found(Exception):
    pass


# A crash found in a batch is narrowed to one case by halving the batch, a fresh worker each time
# the target kills it: at most this many fresh workers (2·log2(batch) suffice for one bad case).
CRASH_RESTARTS = 24


def _worker_failure(e: WorkerFailure, cases: list[dict], per_case: list[list[Call]], n: int,
                    ctx: OpContext) -> Outcome:
    """The outcome of a batch that crashed or hung the worker: where the crash follows one case, or
    a call hung, that case is the counterexample (``f(...) ended the worker process (...)``) with
    its reproduction; otherwise the batch is named. A crash is traced by running the case whose
    call was running alone, then by halving the batch; a hang is not retried (each retry would
    wait the whole timeout): the call that was running names its case, with how long it had run."""
    running = next((j for j, calls in enumerate(per_case) if any(c is e.running for c in calls)), None)
    if e.hung:
        found = None if running is None else \
            (running, f"{e} (this call had run {e.running_for:.1f} s of that time)", e.running)
    else:
        found = _crashing_case(list(range(len(cases))), per_case, ctx, str(e), CRASH_RESTARTS, running)
    if found is None:
        return Outcome(False, f"{e} during a batch of {n} cases ({ctx.op}); the run goes on",
                       examples=n, counterexample={"reproduce": ctx.reproduce()})
    i, why, call = found
    case, op, target = cases[i], ctx.op, None
    if call is not None and call.partner is not None:
        # the call that crashed or hung is the op beside the target (an adjoint claim's transpose):
        # the words and the snippet are that call's
        op, target = call.partner, call_forms.beside(ctx.target, call.partner)
        case = {**dict(zip(call.names, call.args)), "kwargs": call.kwargs}
    line = f"{call_words(op, case, x=case['x']) if 'x' in case else op}: {why}"
    return Outcome(False, f"{line}; found in a batch of {n} cases, the run goes on", examples=n,
                   counterexample=counterexample(case, Failure(line), ctx, target=target))


def _crashing_case(idx: list[int], per_case: list[list[Call]], ctx: OpContext, why: str,
                   restarts: int, first: int | None = None) -> tuple[int, str, Call | None] | None:
    """``(index, what happened, the call it happened in)`` of the one case among ``idx`` (whose
    calls together ended the worker, saying ``why``) that ends it on its own: ``first`` (the case
    whose call was running) if it does, else the first such by halving, each half's crash seen
    with that half alone. None: the crash needs several cases together, a half hangs, or the
    ``restarts`` run out. Calls that return are kept in ``ctx.memo`` and not made again."""
    running = None
    if first is not None:
        try:
            call_all(ctx, per_case[first])
        except WorkerFailure as e:
            return None if e.hung else (first, str(e), e.running)
    while len(idx) > 1:
        for part in (idx[:len(idx) // 2], idx[len(idx) // 2:]):
            if restarts <= 0:
                return None
            try:
                call_all(ctx, [c for i in part for c in per_case[i]])
            except WorkerFailure as e:
                restarts -= 1
                if e.hung:
                    return None
                idx, why, running = part, str(e), e.running
                break
        else:
            return None        # each half alone runs: the crash needs both
    return (idx[0], why, running) if idx else None


def drawn_cases(prop: Property, ctx: OpContext) -> tuple[list[dict], int, st.SearchStrategy]:
    """``(cases, n, strategy)``: the property's ``n`` cases for this run, drawn once and kept in
    ``ctx.cache`` (properties with one ``key`` share them). Drawing needs only the run's settings
    (op, dtype, examples, seed), not the target: :func:`prepare` draws them while the target's
    process is still starting."""
    n = max(1, round(ctx.examples * prop.share))
    strategy = prop.strategy(ctx)
    ckey = (prop.key or id(prop), n, ctx.seed)
    cases = ctx.cache.get(ckey)
    if cases is None:
        name = prop.key or ctx.claim            # a draw no claim names is not kept on disk
        cases = ctx.cache[ckey] = draw_cases(strategy, n, ctx.seed, (name, ctx) if name else None)
    return cases, n, strategy


def prepare(ctx: OpContext, ids: list[str], stop: Callable[[], bool] = lambda: False) -> int:
    """Draw the cases of every property among the claims ``ids`` into ``ctx.cache`` ahead of the
    run (the same cases, in the same order, that :func:`run_property` would draw for each);
    ``stop()`` is asked between properties (the target's process failed to start: drawing more is
    wasted). The number of properties drawn."""
    done = 0
    for cid in ids:
        prop = PROPERTIES.get(cid)
        if prop is None:
            continue
        if stop():
            break
        ctx.claim, claim = cid, ctx.claim          # the claim names its draw (see drawn_cases)
        try:
            drawn_cases(prop, ctx)
        finally:
            ctx.claim = claim
        done += 1
    return done


def run_property(prop: Property, ctx: OpContext) -> Outcome:
    """Search, check, shrink: the :class:`Outcome` of one property over the target."""
    cases, n, strategy = drawn_cases(prop, ctx)
    per_case = [prop.calls(c, ctx) for c in cases]
    try:
        flat = call_all(ctx, [c for calls in per_case for c in calls])
    except WorkerFailure as e:
        return _worker_failure(e, cases, per_case, n, ctx)
    results, pos = [], 0
    for calls in per_case:
        results.append(flat[pos:pos + len(calls)])
        pos += len(calls)
    # A framework adapter that cannot express a case (TensorFlow has no ceil_mode) says so: the
    # case is left out, never failed and never computed some other way.
    expressible = [not any(not_expressible(r) for r in res) for res in results]
    if not any(expressible):
        return Outcome(True, next(not_expressible(r) for r in results[0] if not_expressible(r)),
                       skipped=True, examples=0)
    left_out = expressible.count(False)
    cases = [c for c, ok in zip(cases, expressible) if ok]
    results = [r for r, ok in zip(results, expressible) if ok]
    known = {_fingerprint(c): r for c, r in zip(cases, results)}
    ratio, inexact, failing = 0.0, 0, None
    for case, res in zip(cases, results):
        v = prop.check(case, res, ctx)
        if v.ratio is not None:
            ratio = max(ratio, v.ratio)
        inexact += v.inexact
        if v.failure is not None and failing is None:
            failing = (case, v)
    evidence = {"examples": n, "calls": pos}
    if left_out:
        evidence["not_expressible"] = left_out
    if inexact:
        evidence["bit_exact"] = False
        evidence["inexact_outputs"] = inexact
    if failing is None:
        msg = (f"not bit-exact: {inexact} outputs differ from the exact value, all within the "
               f"rigorous bound (max error/bound {ratio:.3g})") if inexact else ""
        return Outcome(True, msg, evidence=evidence, examples=n,
                       max_error_over_bound=ratio if (ratio or inexact) else None)
    case, verdict = _shrink(prop, strategy, ctx, n, known) or failing
    case, verdict = simplify_values(prop, ctx, case, verdict)
    diagnosis = ""
    if prop.diagnose is not None:
        diagnosis = prop.diagnose(list(zip(cases, results)), ctx)
    return Outcome(False, verdict.failure.line + (f"; diagnosis: {diagnosis}" if diagnosis else ""),
                   evidence=evidence, examples=n,
                   counterexample=counterexample(case, verdict.failure, ctx, diagnosis),
                   max_error_over_bound=verdict.ratio)


def _shrink(prop: Property, strategy, ctx: OpContext, n: int, known: dict) -> tuple | None:
    """Replay the search with the known results and let hypothesis shrink the first failure."""
    last: list = []
    t0 = time.perf_counter()

    @_settings(n, [Phase.generate, Phase.shrink])
    @hseed(ctx.seed)
    @given(strategy)
    def search(case):
        res = known.get(_fingerprint(case))
        if res is None:
            if time.perf_counter() - t0 > ctx.shrink_seconds:
                return            # out of time: stop shrinking (the last failure stands)
            try:
                res = call_all(ctx, prop.calls(case, ctx))
            except WorkerFailure:
                return
        if any(not_expressible(r) for r in res):
            return                # left out, as in the search: never a counterexample
        v = prop.check(case, res, ctx)
        if v.failure is not None:
            last[:] = [(case, v)]
            raise _Found

    try:
        search()
    except _Found:
        pass
    except Exception:  # noqa: BLE001 - hypothesis flakiness (e.g. a timed-out step): keep what we have
        pass
    return last[0] if last else None


SIMPLIFY_ROUNDS = 8   # greedy passes over the arrays (each pass: one round trip for its candidates)


def _candidates(case: dict) -> list[dict]:
    """Smaller versions of ``case``: each integer-valued array replaced by its sign, halved toward
    zero, or with one non-zero entry set to zero (the first 32 per array)."""
    out = []
    for key, a in case.items():
        if not isinstance(a, np.ndarray) or a.size == 0 or not np.all(np.isfinite(a)) or \
                not np.array_equal(a, np.round(a)) or not a.any():
            continue
        for b in (np.sign(a), np.trunc(a / 2)):
            if not np.array_equal(b, a):
                out.append({**case, key: b})
        for i in np.flatnonzero(a)[:32]:
            b = a.copy()
            b.flat[i] = 0
            out.append({**case, key: b})
    return out


def _weight(case: dict) -> float:
    return sum(float(np.abs(a).sum()) + np.count_nonzero(a) for a in case.values() if isinstance(a, np.ndarray))


def simplify_values(prop: Property, ctx: OpContext, case: dict, verdict: Verdict) -> tuple[dict, Verdict]:
    """Shrink the magnitudes of a failing case that hypothesis has shrunk in shape.

    Integer data are drawn from a seed (fast, and far more varied than element-wise draws), so
    hypothesis shrinks the seed, which does not make the values small. This greedy pass does:
    while a smaller candidate (:func:`_candidates`) still fails the same property, take the
    smallest such; every candidate keeps the case's exactness certificate, since magnitudes only
    shrink. Bounded by :data:`SIMPLIFY_ROUNDS` round trips and ``ctx.shrink_seconds``.
    """
    t0 = time.perf_counter()
    for _ in range(SIMPLIFY_ROUNDS):
        if time.perf_counter() - t0 > ctx.shrink_seconds:
            break
        cands = _candidates(case)
        if not cands:
            break
        per = [prop.calls(c, ctx) for c in cands]
        try:
            flat = call_all(ctx, [c for calls in per for c in calls])
        except WorkerFailure:
            break
        best, pos = None, 0
        for c, calls in zip(cands, per):
            res = flat[pos:pos + len(calls)]
            pos += len(calls)
            if any(not_expressible(r) for r in res):
                continue
            v = prop.check(c, res, ctx)
            if v.failure is not None and (best is None or _weight(c) < _weight(best[0])):
                best = (c, v)
        if best is None or _weight(best[0]) >= _weight(case):
            break
        case, verdict = best
    return case, verdict


def counterexample(case: dict, failure: Failure, ctx: OpContext, diagnosis: str = "",
                   target: str | None = None) -> dict:
    """The report's counterexample: arguments, expected, got, the line, and how to reproduce it
    (``target``: the callable the snippet loads, when it is not the run's target)."""
    arrays = {k: v for k, v in case.items() if isinstance(v, np.ndarray)}
    args = {k: v.tolist() for k, v in arrays.items()}
    args.update(failure.args)
    args["kwargs"] = case.get("kwargs", {})
    return {"args": args, "expected": failure.expected, "got": failure.got, "line": failure.line,
            "diagnosis": diagnosis or None, "reproduce": ctx.reproduce(),
            "python": snippet(case, ctx, failure, target)}


def snippet(case: dict, ctx: OpContext, failure: Failure | None = None, target: str | None = None) -> str:
    """A Python snippet that calls the target (or ``target``) on the counterexample's main arrays.

    For a value claim (``failure.direct``) it prints the target's value beside the exact one and
    asserts them equal (exact tier) or within the rigorous bound (bound tier).
    """
    names = [k for k in ("x", "weight", "bias") if k in case]
    lines = ["import numpy as np", "nan, inf = float('nan'), float('inf')",
             "from cnnspec.targets import load_op",
             f"f = load_op({target or ctx.target!r})"]
    conv = (lambda n: f"torch.tensor({n}, dtype=torch.{ctx.dtype})") if ctx.array == "torch" else \
        (lambda n: f"np.array({n}, dtype={ctx.dtype!r})")
    if ctx.array == "torch":
        lines.insert(0, "import torch")
    elif ctx.dtype == "bfloat16":      # NumPy knows the name 'bfloat16' once ml_dtypes is imported
        lines.insert(1, "import ml_dtypes  # noqa: F401")
    for k in names:
        v = case[k]
        lines.append(f"{k} = None" if v is None else f"{k} = {conv(v.tolist())}")
    args = names + ([repr(tuple(case["pad"]))] if "pad" in case else [])   # pad(input, pad, ...)
    call = f"f({', '.join(args)}, **{case.get('kwargs', {})!r})"
    if ctx.array == "torch" and isinstance(case.get("grad"), np.ndarray):
        # a backward claim's case: the call, then autograd with the case's output gradient
        lines += [f"{k}.requires_grad_(True)" for k in names if case[k] is not None]
        lines += [f"out = {call}", f"out.backward({conv(case['grad'].tolist())})", "print(out)"]
        lines += [f"print('grad_{k}', {k}.grad)" for k in names if case[k] is not None]
        return "\n".join(lines)
    if failure is None or not failure.direct or failure.expected is None:
        lines.append(f"print({call})")
        return "\n".join(lines)
    value = "got = got.detach().cpu().double().numpy()" if ctx.array == "torch" else \
        "got = np.asarray(got, dtype=np.float64)"
    lines += [f"got = {call}", value, f"expected = np.array({failure.expected!r})",
              "print('got     ', got.tolist())", "print('expected', expected.tolist())"]
    if failure.bound is None:
        lines.append("assert np.array_equal(got, expected, equal_nan=True), 'differs from the exact value'")
    else:
        lines += [f"bound = np.array({failure.bound!r})",
                  "assert np.all(np.abs(got - expected) <= bound), 'outside the rigorous error bound'"]
    return "\n".join(lines)
