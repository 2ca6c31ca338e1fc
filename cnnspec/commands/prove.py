"""``cnnspec prove [CLAIM...]``: run the symbolic and exact claims and print a verdict table."""
from __future__ import annotations

import argparse
import difflib
import sys

from ..claims import ClaimResult, load_all, run_claim, select
from ..errors import UsageError
from ..report.schema import build_report, dumps, environment

PROVE_GROUPS = ("spec", "arch")          # torch-free claim groups
PROVE_METHODS = ("symbolic", "exact")


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("prove", help="prove the symbolic and exact claims",
                       description="Run the symbolic and exact claims (all by default, or the ids "
                                   "given; an id ending in '*' selects a prefix) and print verdicts.")
    p.add_argument("claims", nargs="*", metavar="CLAIM", help="claim ids, e.g. conv.flip or 'conv.*'")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--list", action="store_true", help="list the claim ids and statements, run nothing")
    return p


NEEDS_SUBJECT = {"conformance": "a target: cnnspec validate TARGET --op OP --claims {id}",
                 "training": "a trained model: cnnspec train MODEL (or cnnspec verify --claims {id})"}


def unknown_claim(cid: str, known) -> UsageError:
    """One line for an id that matches no claim, with the nearest ids."""
    near = difflib.get_close_matches(cid.rstrip("*"), list(known), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(near)}?" if near else "; cnnspec prove --list shows the ids"
    return UsageError(f"{cid!r} matches no claim{hint}", argument="CLAIM")


def prove(ids: list[str] | None = None, progress=None) -> list[ClaimResult]:
    """Run the provable claims (or the ones named); ``progress(i, n, claim_id)`` is told before each.

    A claim about a subject (a target op, a trained model) cannot be proved on its own: naming one
    is a usage error that says how to run it; a prefix (``conv.*``) keeps only the provable ones.
    """
    try:
        chosen = select(ids or None, groups=None if ids else PROVE_GROUPS,
                        methods=None if ids else PROVE_METHODS)
    except KeyError as e:
        raise unknown_claim(e.args[0], load_all()) from None
    for cid in ids or []:
        if cid.endswith("*"):
            continue
        c = load_all()[cid]
        if c.group in NEEDS_SUBJECT:
            raise UsageError(f"{cid} is a claim about {NEEDS_SUBJECT[c.group].format(id=cid)}; "
                             f"prove runs claims that need no subject", argument="CLAIM")
    chosen = [c for c in chosen if c.group not in NEEDS_SUBJECT]
    if not chosen:
        raise UsageError(f"{' '.join(ids or [])!r} selects only claims about a target or a trained model; "
                         f"run them with cnnspec validate or cnnspec verify", argument="CLAIM")
    results = []
    for i, c in enumerate(chosen):
        if progress:
            progress(i, len(chosen), c.id)
        results.append(run_claim(c))
    return results


def _progress(i: int, n: int, cid: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\r\033[K[{i + 1}/{n}] {cid}")
        sys.stderr.flush()
        if i + 1 == n:
            sys.stderr.write("\r\033[K")


def run(args) -> int:
    if args.list:
        for cid, c in load_all().items():
            print(f"{cid:34s} {c.method:9s} {c.statement}")
        return 0
    results = prove(args.claims, progress=_progress)
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    if args.format == "json":
        sys.stdout.write(dumps(build_report("prove", results, env=environment(device="cpu", seed=None))))
    else:
        width = max((len(r.id) for r in results), default=10)
        for r in results:
            mark = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "skipped": "SKIP"}[r.status]
            print(f"{mark:5s} {r.id:{width}s} {r.method:9s} {r.seconds:6.2f}s  {r.message}")
        bad = [r for r in results if r.status in ("fail", "error")]
        print(f"{len(results) - len(bad)} of {len(results)} claims hold"
              + (f"; failing: {', '.join(r.id for r in bad)}" if bad else ""))
    return 1 if any(r.status in ("fail", "error") for r in results) else 0
