"""``summary.md``: the verdict and a table a pull request can quote.

Failing and erroring claims come first, each with its message and reproduction command (narrowed
to the claim with ``--claims ID``), then warnings; then one row per stage (or per section) with
counts. Cells are escaped for GitHub-flavoured Markdown tables (pipes, newlines, HTML, control
characters), so a target's message cannot break the table.
"""
from __future__ import annotations

import re
from typing import Any

from ..claims import count_statuses
from .panels import reproduce_command
from .sections import BY_ID, normalize, section_of

MAX_ROWS = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def cell(s: Any, limit: int = 160) -> str:
    text = " ".join(_CONTROL.sub(" ", "" if s is None else str(s)).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
            .replace("`", "'"))


def render(report: dict[str, Any]) -> str:
    report = normalize(report)
    claims = report.get("claims", [])
    n = count_statuses(claims)
    passed = report.get("verdict") == "pass"
    icon = ("⚠️" if n["warn"] else "✅") if passed else "❌"
    what = report.get("kind", "report") + (f" `{cell(report['target'])}`" if report.get("target") else "")
    out = [f"## {icon} cnnspec {what}: **{str(report.get('verdict', 'fail')).upper()}**", "",
           f"{n['pass']} pass · {n['fail']} fail · {n['warn']} warn · {n['error']} error · {n['skipped']} skipped"
           + (f" · exit code {(report.get('summary') or {}).get('exit_code')}" if report.get("summary") else "")
           + (f" · {report['wall_s']:.0f} s" if isinstance(report.get("wall_s"), (int, float)) else "")
           + (f" · run `{cell(report['run_id'])}`" if report.get("run_id") else ""), ""]
    stages = report.get("stages")
    if stages:
        out += ["| stage | status | pass | fail | warn | error | skipped | time | note |",
                "|---|---|---:|---:|---:|---:|---:|---:|---|"]
        for s in stages:
            k = s.get("counts") or {}
            out.append(f"| {cell(s.get('name'))} | {cell(s.get('status'))} | {k.get('pass', 0)} | "
                       f"{k.get('fail', 0)} | {k.get('warn', 0)} | {k.get('error', 0)} | {k.get('skipped', 0)} | "
                       f"{float(s.get('seconds') or 0):.1f} s | {cell(s.get('reason') or '')} |")
        out.append("")
    else:
        groups: dict[str, list] = {}
        for c in claims:
            groups.setdefault(section_of(c), []).append(c)
        out += ["| section | pass | fail | warn | error | skipped |", "|---|---:|---:|---:|---:|---:|"]
        for sid, cs in groups.items():
            k = count_statuses(cs)
            out.append(f"| {cell(BY_ID[sid].title)} | {k['pass']} | {k['fail']} | {k['warn']} | {k['error']} | {k['skipped']} |")
        out.append("")
    if isinstance(report.get("matrix"), dict):
        out += _matrix(report["matrix"])
    bad = [c for c in claims if c.get("status") not in ("pass", "warn", "skipped")]
    if bad:
        out += ["### Failing claims", "", "| verdict | claim | method | message | reproduce |",
                "|---|---|---|---|---|"]
        for c in bad[:MAX_ROWS]:
            repro = reproduce_command(c) or ""
            subj = f" ({cell(c['subject'])})" if c.get("subject") else ""
            out.append(f"| {cell(c.get('status', '')).upper()} | `{cell(c.get('id'))}`{subj} | {cell(c.get('method'))} | "
                       f"{cell(c.get('message'), 300)} | {('`' + cell(repro, 300) + '`') if repro else ''} |")
        if len(bad) > MAX_ROWS:
            out.append(f"| … | {len(bad) - MAX_ROWS} more in report.json | | | |")
        out.append("")
    warned = [c for c in claims if c.get("status") == "warn"]
    if warned:
        out += ["### Warnings", "", "These claims hold; the run passes unless it is strict.", "",
                "| claim | warning |", "|---|---|"]
        out += [f"| `{cell(c.get('id'))}`{(' (' + cell(c['subject']) + ')') if c.get('subject') else ''} | "
                f"{cell(c.get('message'), 300)} |" for c in warned[:MAX_ROWS]]
        out.append("")
    out += ["<details><summary>All claims</summary>", "", "| verdict | claim | method | source |",
            "|---|---|---|---|"]
    for c in claims[:1000]:
        subj = f" ({cell(c['subject'])})" if c.get("subject") else ""
        out.append(f"| {cell(c.get('status'))} | `{cell(c.get('id'))}`{subj} | {cell(c.get('method'))} | "
                   f"{cell(c.get('source'), 80)} |")
    out += ["", "</details>", ""]
    return "\n".join(out)


def _matrix(doc: dict[str, Any]) -> list[str]:
    """The frameworks stage: one row per framework (counts and the failing ops), the missing ones
    with their install command."""
    from collections import Counter

    from .matrix import LABELS

    out = ["### Frameworks × ops", "", "| framework | " + " | ".join(v[0] for v in LABELS.values())
           + " | failing ops |", "|---|" + "---:|" * len(LABELS) + "---|"]
    for f in doc.get("frameworks") or []:
        if not isinstance(f, dict):
            continue
        mine = [c for c in doc.get("cells") or [] if isinstance(c, dict) and c.get("framework") == f.get("name")]
        n = Counter(c.get("status") for c in mine)
        name = f"{f.get('name')} {f.get('version') or ''}".strip() if f.get("installed", True) else \
            f"{f.get('name')} (not installed: `{cell(f.get('install'))}`)"
        fails = ", ".join(str(c.get("op")) for c in mine if c.get("status") == "fail")
        out.append(f"| {cell(name) if f.get('installed', True) else name} | "
                   + " | ".join(str(n[k]) for k in LABELS) + f" | {cell(fails, 300)} |")
    return out + [""]
