"""The end of a run on the terminal, in pytest's manner: one line per failing claim, then counts.

    ============================ failing claims ============================
    FAIL  conformance.conv.values: out[0,0,0,0]=1, but should be 0 [conv2d(...)] ...
          reproduce: cnnspec validate ... --claims conformance.conv.values
    ================ 1 failed, 9 passed, 1 skipped in 11.3 s ================
    report: out/index.html
"""
from __future__ import annotations

import shutil
import sys
from typing import Any, Iterable, TextIO

ORDER = ("fail", "error", "warn", "pass", "skipped")
WORDS = {"fail": "failed", "error": "errors", "warn": "warnings", "pass": "passed", "skipped": "skipped"}
MAX_MESSAGE = 240   # characters of a claim's message on the terminal (the report has all of it)


def counts(claims: Iterable[dict[str, Any]]) -> dict[str, int]:
    n = {k: 0 for k in ORDER}
    for c in claims:
        n[c.get("status", "error")] = n.get(c.get("status", "error"), 0) + 1
    return n


def count_words(n: dict[str, int]) -> str:
    """``2 failed, 84 passed, 3 skipped`` (statuses that occur, in pytest's order)."""
    return ", ".join(f"{n[k]} {WORDS.get(k, k)}" for k in ORDER if n.get(k)) or "no claims"


def _rule(text: str, width: int) -> str:
    pad = max(width - len(text) - 2, 8)
    return f"{'=' * (pad // 2)} {text} {'=' * (pad - pad // 2)}"


def print_summary(claims: list[dict[str, Any]], seconds: float, report: str | None = None,
                  stream: TextIO | None = None) -> None:
    """Failing claims (id, reason, reproduce command), then the counts, then where the report is."""
    out = stream or sys.stdout
    width = min(shutil.get_terminal_size((100, 24)).columns, 100)
    bad = [c for c in claims if c.get("status") in ("fail", "error")]
    if bad:
        print(_rule("failing claims", width), file=out)
        for c in bad:
            msg = " ".join(str(c.get("message", "")).split())
            msg = msg if len(msg) <= MAX_MESSAGE else msg[:MAX_MESSAGE - 1] + "…"
            print(f"{c['status'].upper():5} {c['id']}: {msg}", file=out)
            repro = (c.get("counterexample") or {}).get("reproduce")
            if repro:
                print(f"      reproduce: {repro}", file=out)
    print(_rule(f"{count_words(counts(claims))} in {seconds:.1f} s", width), file=out)
    if report:
        print(f"report: {report}", file=out)
