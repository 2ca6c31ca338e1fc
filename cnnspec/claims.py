"""The claim registry: every statement of the lecture and its papers, with a check that decides it.

A claim has an id (``conv.flip``), the statement in words, its source (slide or paper table), a
method (``symbolic``, ``exact``, ``property`` or ``empirical``) and a check. A check returns an
:class:`Outcome` that carries evidence, not just a bool; :func:`run_claim` turns it into a
:class:`ClaimResult`, the unit that every report is made of. A check that raises is an ``error``,
never an abort of the run.

Statuses: ``pass`` (the claim holds), ``warn`` (it holds, but the target does something the
mathematics leaves undefined or a framework refuses, e.g. it accepts ``stride=0``; the run still
passes unless it is strict), ``fail`` (a counterexample), ``error`` (the check could not decide)
and ``skipped`` (the claim cannot be checked here, with the reason). :func:`count_statuses` is the
one place that counts them.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal, Mapping, Union

Method = Literal["symbolic", "exact", "property", "empirical"]
Status = Literal["pass", "fail", "warn", "error", "skipped"]
METHODS: tuple[str, ...] = ("symbolic", "exact", "property", "empirical")
# Every status, in the order reports list their counts.
STATUSES: tuple[str, ...] = ("pass", "fail", "warn", "error", "skipped")


@dataclass
class Outcome:
    """What a check found. ``holds`` decides the verdict; the rest is evidence for the report.

    ``warn`` (with ``holds``) makes the status ``warn``: the claim holds, and ``message`` says what
    the target does that a user should know about (it accepts arguments torch rejects).
    """

    holds: bool
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    examples: int | None = None
    counterexample: dict[str, Any] | None = None
    max_error_over_bound: float | None = None
    skipped: bool = False
    warn: bool = False


@dataclass(frozen=True)
class Claim:
    id: str
    statement: str
    source: str
    method: Method
    check: Callable[..., Outcome]
    group: str = "spec"

    def run(self, **context: Any) -> "ClaimResult":
        return run_claim(self, **context)


@dataclass
class ClaimResult:
    id: str
    statement: str
    source: str
    method: str
    status: Status
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    examples: int | None = None
    counterexample: dict[str, Any] | None = None
    max_error_over_bound: float | None = None
    seconds: float = 0.0
    group: str = "spec"

    def to_json(self) -> dict[str, Any]:
        """The claim entry of report.json (cnnspec/report/report.schema.json), plus evidence and timing."""
        return {
            "id": self.id, "statement": self.statement, "source": self.source,
            "method": self.method, "status": self.status, "examples": self.examples,
            "message": self.message, "counterexample": self.counterexample,
            "max_error_over_bound": self.max_error_over_bound,
            "evidence": self.evidence, "seconds": round(self.seconds, 4), "group": self.group,
        }


REGISTRY: dict[str, Claim] = {}


def count_statuses(results: Iterable[Union[ClaimResult, Mapping[str, Any]]]) -> dict[str, int]:
    """Counts per status, every status of :data:`STATUSES` present (zeros included), in that order.

    Takes :class:`ClaimResult`\\ s or their report entries (dicts with ``status``). A status that is
    not one of :data:`STATUSES` counts as ``error``: a result nobody can read never counts as a pass.
    """
    n = dict.fromkeys(STATUSES, 0)
    for r in results:
        status = r.get("status") if isinstance(r, Mapping) else getattr(r, "status", None)
        n[status if isinstance(status, str) and status in n else "error"] += 1
    return n


def claim(id: str, statement: str, source: str, method: Method, group: str = "spec"):
    """Register the decorated check function as claim ``id``."""
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not one of {METHODS}")

    def register(check: Callable[..., Outcome]) -> Callable[..., Outcome]:
        if id in REGISTRY and REGISTRY[id].check is not check:
            raise ValueError(f"claim id {id!r} is registered twice")
        REGISTRY[id] = Claim(id, statement, source, method, check, group)
        check.claim_id = id  # type: ignore[attr-defined]
        return check

    return register


def run_claim(c: Claim, **context: Any) -> ClaimResult:
    """Run one claim; an exception in the check becomes status ``error`` with its last frame."""
    t0 = time.perf_counter()
    try:
        out = c.check(**context)
        if not isinstance(out, Outcome):
            raise TypeError(f"check of {c.id} returned {type(out).__name__}, not Outcome")
        status: Status = ("skipped" if out.skipped else "fail" if not out.holds
                          else "warn" if out.warn else "pass")
        res = ClaimResult(c.id, c.statement, c.source, c.method, status, out.message, out.evidence,
                          out.examples, out.counterexample, out.max_error_over_bound, group=c.group)
    except Exception as e:  # noqa: BLE001 - a broken check is reported, never fatal
        tb = traceback.extract_tb(e.__traceback__)[-1]
        msg = f"{type(e).__name__}: {e} (at {tb.filename.rsplit('/', 1)[-1]}:{tb.lineno})"
        res = ClaimResult(c.id, c.statement, c.source, c.method, "error", msg, group=c.group)
    res.seconds = time.perf_counter() - t0
    return res


def load_all() -> dict[str, Claim]:
    """Import every module that registers claims and return the registry."""
    return load(_CLAIM_MODULES)


def load_conformance() -> dict[str, Claim]:
    """Import only the modules of conformance claims (what ``validate`` runs) and return the
    registry. The other modules are not needed to validate an op, and one of them
    (``networks.reference_claims``) imports torch: about 2 s that a NumPy target never needs."""
    return load(CONFORMANCE_MODULES)


def load(modules: Iterable[str]) -> dict[str, Claim]:
    """Import these claim modules (in this order) and return the registry; a module of a part
    that is not installed (its import names a missing package it starts with) is left out."""
    import importlib

    for mod in modules:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:  # a module of a part not installed (e.g. torch absent)
            if e.name and mod.startswith(e.name):
                continue
            raise
    return REGISTRY


def select(ids: Iterable[str] | None = None, groups: Iterable[str] | None = None,
           methods: Iterable[str] | None = None) -> list[Claim]:
    """Claims by id (an id may end in ``*`` to match a prefix), group and method, in registry order."""
    load_all()
    chosen = list(REGISTRY.values())
    if groups is not None:
        g = set(groups)
        chosen = [c for c in chosen if c.group in g]
    if methods is not None:
        m = set(methods)
        chosen = [c for c in chosen if c.method in m]
    if ids:
        wanted = list(ids)
        unknown = [i for i in wanted if not any(_match(i, c.id) for c in REGISTRY.values())]
        if unknown:
            raise KeyError(unknown[0])
        chosen = [c for c in chosen if any(_match(i, c.id) for i in wanted)]
    return chosen


def _match(pattern: str, cid: str) -> bool:
    return cid.startswith(pattern[:-1]) if pattern.endswith("*") else cid == pattern


# Modules that register claims. Parts add themselves here; the conformance claims (the ones
# ``validate`` runs) are also listed on their own, in the same relative order, so that an op's
# claims come in the same order whichever of the two lists was loaded first.
CONFORMANCE_MODULES: tuple[str, ...] = (
    "cnnspec.conformance.conv_claims",
    "cnnspec.conformance.pool_claims",
    "cnnspec.conformance.pool_family_claims",
    "cnnspec.conformance.conv_family_claims",
    "cnnspec.conformance.pool_indices_claims",
    "cnnspec.conformance.integer_claims",
    "cnnspec.conformance.adjoint_claims",
    "cnnspec.conformance.layout_claims",
)
_CLAIM_MODULES: list[str] = [
    "cnnspec.spec.conv_claims",
    "cnnspec.spec.conv_family_claims",
    "cnnspec.spec.pool_claims",
    "cnnspec.spec.arch_claims",
    "cnnspec.networks.reference_claims",
    *CONFORMANCE_MODULES,
    "cnnspec.networks.trained_claims",
]
