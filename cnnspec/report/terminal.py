"""What a command prints at the end of a run, in pytest's manner: one line per failing claim (id,
reason, the command that reproduces it), the warnings, then the counts on one line, then where the
report is. Control characters from a target never reach the terminal.

References: pytest, "short test summary info" and the final counts line,
https://docs.pytest.org/en/stable/how-to/output.html#producing-a-detailed-summary-report.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from ..claims import STATUSES, count_statuses
from .panels import reproduce_command

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# How pytest names its counts ("3 failed, 1 error, 2 warnings, 10 passed, 1 skipped").
_WORDS = {"fail": ("failed", "failed"), "error": ("error", "errors"), "warn": ("warning", "warnings"),
          "pass": ("passed", "passed"), "skipped": ("skipped", "skipped")}
_ORDER = ("fail", "error", "warn", "pass", "skipped")


def clean(text: Any, limit: int = 240) -> str:
    """One line of printable text: control characters and newlines become spaces, cut at ``limit``."""
    s = " ".join(_CONTROL.sub(" ", "" if text is None else str(text)).split())
    return s if len(s) <= limit else s[:limit - 1] + "…"


def counts_line(counts: Mapping[str, int], seconds: float | None = None) -> str:
    """``1 failed, 2 warnings, 10 passed in 4.2s`` (``no claims`` when there are none)."""
    parts = [f"{counts[k]} {_WORDS[k][counts[k] != 1]}" for k in _ORDER if counts.get(k)]
    text = ", ".join(parts) or "no claims"
    return text + (f" in {seconds:.1f}s" if isinstance(seconds, (int, float)) else "")


def summary_lines(report: Mapping[str, Any], where: str | None = None, width: int = 88,
                  limit: int = 30) -> list[str]:
    """The closing lines for ``report``: failures (and errors) first, one line each with the
    reproduction under it, then warnings, then the counts line, then ``where`` the report is."""
    claims: Iterable[Mapping[str, Any]] = report.get("claims", [])
    claims = list(claims)
    bad = [c for c in claims if c.get("status") not in STATUSES or c.get("status") in ("fail", "error")]
    warned = [c for c in claims if c.get("status") == "warn"]
    lines: list[str] = []
    if bad or warned:
        lines.append(" short summary ".center(width, "="))
    for c in bad[:limit]:
        word = "ERROR" if c.get("status") == "error" else "FAILED"
        subject = f" [{clean(c['subject'], 80)}]" if c.get("subject") else ""
        lines.append(f"{word} {clean(c.get('id'), 120)}{subject} - {clean(c.get('message'))}")
        repro = reproduce_command(dict(c))
        if repro:
            lines.append(f"    reproduce: {clean(repro, 400)}")
    if len(bad) > limit:
        lines.append(f"... and {len(bad) - limit} more failing claims in the report")
    for c in warned[:limit]:
        lines.append(f"WARNING {clean(c.get('id'), 120)} - {clean(c.get('message'))}")
    if len(warned) > limit:
        lines.append(f"... and {len(warned) - limit} more warnings in the report")
    summary = report.get("summary") or {}
    n = count_statuses(claims)
    verdict = ("FAIL" if summary.get("exit_code", 1 if n["fail"] or n["error"] else 0) else
               "SKIPPED" if claims and n["skipped"] == len(claims) else "PASS")   # nothing was checked
    lines.append(f" {verdict}: {counts_line(n, summary.get('seconds'))} ".center(width, "="))
    if where:
        lines.append(f"report: {where}")
    return lines
