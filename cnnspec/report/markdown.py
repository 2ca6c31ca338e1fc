"""``summary.md``: the verdict and a table a pull request can quote.

Failing and erroring claims come first, each with its message and reproduction command; then one
row per stage (or per section) with counts. Cells are escaped for GitHub-flavoured Markdown tables
(pipes, newlines, HTML), so a target's message cannot break the table.
"""
from __future__ import annotations

from typing import Any

from .sections import BY_ID, normalize, section_of

MAX_ROWS = 200


def cell(s: Any, limit: int = 160) -> str:
    text = " ".join(("" if s is None else str(s)).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
            .replace("`", "'"))


def _counts(claims) -> dict[str, int]:
    n = {"pass": 0, "fail": 0, "error": 0, "skipped": 0}
    for c in claims:
        n[c.get("status") if c.get("status") in n else "error"] += 1
    return n


def render(report: dict[str, Any]) -> str:
    report = normalize(report)
    claims = report.get("claims", [])
    n = _counts(claims)
    icon = "✅" if report.get("verdict") == "pass" else "❌"
    what = report.get("kind", "report") + (f" `{cell(report['target'])}`" if report.get("target") else "")
    out = [f"## {icon} cnnspec {what}: **{str(report.get('verdict', 'fail')).upper()}**", "",
           f"{n['pass']} pass · {n['fail']} fail · {n['error']} error · {n['skipped']} skipped"
           + (f" · {report['wall_s']:.0f} s" if isinstance(report.get("wall_s"), (int, float)) else "")
           + (f" · run `{cell(report['run_id'])}`" if report.get("run_id") else ""), ""]
    stages = report.get("stages")
    if stages:
        out += ["| stage | status | pass | fail | error | skipped | time | note |",
                "|---|---|---:|---:|---:|---:|---:|---|"]
        for s in stages:
            k = s.get("counts") or {}
            out.append(f"| {cell(s.get('name'))} | {cell(s.get('status'))} | {k.get('pass', 0)} | "
                       f"{k.get('fail', 0)} | {k.get('error', 0)} | {k.get('skipped', 0)} | "
                       f"{float(s.get('seconds') or 0):.1f} s | {cell(s.get('reason') or '')} |")
        out.append("")
    else:
        groups: dict[str, list] = {}
        for c in claims:
            groups.setdefault(section_of(c), []).append(c)
        out += ["| section | pass | fail | error | skipped |", "|---|---:|---:|---:|---:|"]
        for sid, cs in groups.items():
            k = _counts(cs)
            out.append(f"| {cell(BY_ID[sid].title)} | {k['pass']} | {k['fail']} | {k['error']} | {k['skipped']} |")
        out.append("")
    bad = [c for c in claims if c.get("status") in ("fail", "error")]
    if bad:
        out += ["### Failing claims", "", "| verdict | claim | method | message | reproduce |",
                "|---|---|---|---|---|"]
        for c in bad[:MAX_ROWS]:
            cx = c.get("counterexample") or {}
            repro = cx.get("reproduce") or cx.get("command") or ""
            subj = f" ({cell(c['subject'])})" if c.get("subject") else ""
            out.append(f"| {c.get('status', '').upper()} | `{cell(c.get('id'))}`{subj} | {cell(c.get('method'))} | "
                       f"{cell(c.get('message'), 300)} | {('`' + cell(repro, 300) + '`') if repro else ''} |")
        if len(bad) > MAX_ROWS:
            out.append(f"| … | {len(bad) - MAX_ROWS} more in report.json | | | |")
        out.append("")
    out += ["<details><summary>All claims</summary>", "", "| verdict | claim | method | source |",
            "|---|---|---|---|"]
    for c in claims[:1000]:
        subj = f" ({cell(c['subject'])})" if c.get("subject") else ""
        out.append(f"| {cell(c.get('status'))} | `{cell(c.get('id'))}`{subj} | {cell(c.get('method'))} | "
                   f"{cell(c.get('source'), 80)} |")
    out += ["", "</details>", ""]
    return "\n".join(out)
