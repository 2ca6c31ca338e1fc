"""``index.html``: one self-contained page that reads like the lecture, verified.

The page is rendered from the report JSON alone (``docs/report-schema.md`` plus the optional ``stages``,
``artifacts`` and ``targets`` lists that ``cnnspec verify`` adds), so ``cnnspec report`` can render
any saved ``report.json`` again. Nothing is fetched: styles are inline, figures are inline SVG,
formulas are Unicode and HTML sub/superscripts. Every string that comes from a result (claim
messages, counterexamples, target names, layer labels) goes through :func:`html.escape`.
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterable

from . import figures
from .sections import OTHER, SECTIONS, normalize, section_of

STATUS_ORDER = {"fail": 0, "error": 1, "skipped": 2, "pass": 3}
MAX_EVIDENCE_CHARS = 4000


def _e(s: Any) -> str:
    return figures._t("" if s is None else s)


def _slug(s: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]+", "-", s).strip("-") or "x"


def symbolic_html(expr: str) -> str:
    """A sympy string as readable HTML: ``w_0_1*u_2`` → w<sub>0,1</sub>·u<sub>2</sub>. Escapes first."""
    s = _e(expr)
    s = re.sub(r"\*\*(\d+)", r"<sup>\1</sup>", s)
    s = s.replace("*", "·")
    return re.sub(r"\b([A-Za-z]+)((?:_\d+)+)\b",
                  lambda m: f"{m.group(1)}<sub>{m.group(2)[1:].replace('_', ',')}</sub>", s)


def _json(v: Any, limit: int = MAX_EVIDENCE_CHARS) -> str:
    """Compact JSON: one line per top-level key, arrays kept on one line."""
    if isinstance(v, dict):
        text = "\n".join(f"{k}: {json.dumps(x, default=str, ensure_ascii=False)}" for k, x in v.items())
    else:
        text = json.dumps(v, default=str, ensure_ascii=False)
    if len(text) > limit:
        text = text[:limit] + f"\n… ({len(text) - limit} more characters in report.json)"
    return text


def _badge(status: str) -> str:
    status = status if status in STATUS_ORDER else "error"
    return f"<span class='badge {status}'>{status.upper()}</span>"


# --- artifacts ------------------------------------------------------------------------------------

def render_artifact(a: dict[str, Any]) -> str:
    """One figure or table from its stored data; an artifact that cannot be drawn says why."""
    kind = a.get("type")
    try:
        inner = _ARTIFACT_RENDERERS[kind](a)
    except Exception as e:  # noqa: BLE001 - a bad artifact never breaks the page
        inner = f"<p class='warn'>figure could not be drawn: {_e(type(e).__name__)}: {_e(e)}</p>"
    if kind == "note":
        return f"<div class='artifact-note' data-artifact='{_e(a.get('id', ''))}'>{_art_note(a)}</div>"
    cls = "figure" if kind in _FIGURE_TYPES else "table-figure"
    cap = f"<figcaption>{_e(a.get('caption', ''))}</figcaption>" if a.get("caption") else ""
    return (f"<figure class='{cls}' id='fig-{_slug(str(a.get('id', kind)))}' "
            f"data-artifact='{_e(a.get('id', ''))}'>{inner}{cap}</figure>")


def _art_heatmap(a):
    return figures.heatmap(a["values"], title=a.get("title", ""), scale=a.get("scale", "seq"),
                           annotations=a.get("annotations"), row_labels=a.get("row_labels"),
                           col_labels=a.get("col_labels"), xlabel=a.get("xlabel", ""),
                           ylabel=a.get("ylabel", ""),
                           legend=[tuple(x) for x in a["legend"]] if a.get("legend") else None,
                           cell=float(a.get("cell", 22)))


def _art_panels(a):
    return figures.panels(a["items"], title=a.get("title", ""), scale=a.get("scale", "div"),
                          per_row=int(a.get("per_row", 2)), cell=float(a.get("cell", 18)))


def _art_graph(a):
    graphs = a.get("graphs") or [a]
    return "<div class='fig-row'>" + "".join(
        figures.layered_graph(g["layers"], title=g.get("title", ""), width=float(g.get("width", 400)))
        for g in graphs) + "</div>"


def _art_curves(a):
    return "<div class='fig-row'>" + "".join(
        figures.line_chart(c["series"], title=c.get("title", ""), xlabel=c.get("xlabel", ""),
                           ylabel=c.get("ylabel", ""),
                           hline=tuple(c["hline"]) if c.get("hline") else None,
                           ylim=tuple(c["ylim"]) if c.get("ylim") else None)
        for c in a["charts"]) + "</div>"


def _art_confusion(a):
    return figures.confusion(a["matrix"], a["classes"], title=a.get("title", "Confusion matrix"))


def _art_table(a):
    cols = a.get("columns", [])
    head = "".join(f"<th>{_e(c)}</th>" for c in cols)
    body = []
    for row in a.get("rows", []):
        cells = []
        for v in row:
            if isinstance(v, dict):  # {"value": .., "ok": bool} marks a checked figure
                mark = {True: " ok", False: " bad"}.get(v.get("ok"), "")
                cells.append(f"<td class='num{mark}'>{_e(_fmt(v.get('value')))}</td>")
            else:
                cells.append(f"<td class='{'num' if isinstance(v, (int, float)) else ''}'>{_e(_fmt(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    title = f"<div class='fig-title'>{_e(a['title'])}</div>" if a.get("title") else ""
    return f"{title}<div class='scroll'><table class='data'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"


def _art_derivation(a):
    rows = "".join(f"<tr><td class='lhs'>{symbolic_html(l['lhs'])}</td><td>=</td>"
                   f"<td class='rhs'>{symbolic_html(l['rhs'])}</td></tr>" for l in a.get("lines", []))
    intro = f"<p class='deriv-intro'>{_e(a['given'])}</p>" if a.get("given") else ""
    title = f"<div class='fig-title'>{_e(a['title'])}</div>" if a.get("title") else ""
    return f"{title}{intro}<table class='derivation'>{rows}</table>"


def _art_matrix(a):
    rows = "".join("<tr>" + "".join(f"<td>{symbolic_html(v) if v not in ('0', 0) else '<span class=zero>0</span>'}</td>"
                                    for v in row) + "</tr>" for row in a["entries"])
    title = f"<div class='fig-title'>{_e(a['title'])}</div>" if a.get("title") else ""
    return f"{title}<div class='scroll'><table class='matrix'>{rows}</table></div>"


def _art_note(a):
    return f"<p class='note'>{_e(a.get('text', ''))}</p>"


_ARTIFACT_RENDERERS = {"note": _art_note, "heatmap": _art_heatmap, "panels": _art_panels, "graph": _art_graph,
                       "curves": _art_curves, "confusion": _art_confusion, "table": _art_table,
                       "derivation": _art_derivation, "matrix": _art_matrix}
_FIGURE_TYPES = {"heatmap", "panels", "graph", "curves", "confusion"}


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return {True: "yes", False: "no", None: "—"}[v]
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e6 else f"{v:,.0f}"
    return str(v)


# --- claims ---------------------------------------------------------------------------------------

def claim_rows(claims: list[dict[str, Any]], start: int = 0, subjects: bool = True) -> str:
    rows = []
    for k, c in enumerate(sorted(claims, key=lambda c: STATUS_ORDER.get(c.get("status"), 1)), start):
        k = c.get("_anchor", k)
        status = c.get("status", "error")
        ev = []
        if c.get("message"):
            ev.append(f"<div class='msg'>{_e(c['message'])}</div>")
        facts = []
        if c.get("examples") is not None:
            facts.append(f"{_e(c['examples'])} examples")
        if c.get("max_error_over_bound") is not None:
            facts.append(f"max error/bound {_e(_fmt(c['max_error_over_bound']))}")
        if c.get("seconds") is not None:
            facts.append(f"{float(c['seconds']):.2f} s")
        if facts:
            ev.append(f"<div class='facts'>{' · '.join(facts)}</div>")
        cx = c.get("counterexample")
        if cx:
            repro = cx.get("reproduce") or cx.get("command") or c.get("reproduce")
            ev.append("<div class='cx'><div class='cx-title'>Counterexample</div>"
                      f"<pre>{_e(_json({k2: v for k2, v in cx.items() if k2 not in ('reproduce', 'command')}))}</pre>"
                      + (f"<div class='repro'>reproduce: <code>{_e(repro)}</code></div>" if repro else "")
                      + "</div>")
        if c.get("evidence"):
            open_ = " open" if status in ("fail", "error") else ""
            ev.append(f"<details{open_}><summary>evidence</summary><pre>{_e(_json(c['evidence']))}</pre></details>")
        subj = f"<div class='subject'>{_e(c['subject'])}</div>" if subjects and c.get("subject") else ""
        rows.append(
            f"<tr class='claim {status}' id='claim-{k}' data-claim='{_e(c.get('id'))}'>"
            f"<td>{_badge(status)}</td>"
            f"<td><code class='cid'>{_e(c.get('id'))}</code>{subj}<div class='stmt'>{_e(c.get('statement'))}</div></td>"
            f"<td><span class='method {_e(c.get('method'))}'>{_e(c.get('method'))}</span></td>"
            f"<td class='evidence'>{''.join(ev) or '—'}</td>"
            f"<td class='source'>{_e(c.get('source'))}</td></tr>")
    return "".join(rows)


def claims_table(claims: list[dict[str, Any]], start: int = 0, subjects: bool = True) -> str:
    if not claims:
        return ""
    return ("<div class='scroll'><table class='claims'><thead><tr><th>verdict</th><th>claim</th>"
            "<th>method</th><th>evidence</th><th>source</th></tr></thead><tbody>"
            f"{claim_rows(claims, start, subjects)}</tbody></table></div>")


def _counts(claims: Iterable[dict[str, Any]]) -> dict[str, int]:
    n = {"pass": 0, "fail": 0, "error": 0, "skipped": 0}
    for c in claims:
        n[c.get("status") if c.get("status") in n else "error"] += 1
    return n


def _count_chips(n: dict[str, int]) -> str:
    return " ".join(f"<span class='chip {k}'>{v} {k}</span>" for k, v in n.items() if v)


# --- page -----------------------------------------------------------------------------------------

def _target_key(t: dict[str, Any]) -> str:
    return t.get("subject") or t.get("target") or "?"


def _conformance_body(claims: list[dict], report: dict, start: int) -> str:
    targets = list(report.get("targets") or [])
    known = {_target_key(t) for t in targets}
    for c in claims:  # claims of a subject with no target entry still get a card
        if c.get("subject") and c["subject"] not in known:
            targets.append({"subject": c["subject"]})
            known.add(c["subject"])
    out = []
    for t in targets:
        key = _target_key(t)
        mine = [c for c in claims if (c.get("subject") or report.get("target")) == key]
        n = _counts(mine)
        verdict = "fail" if n["fail"] or n["error"] else ("pass" if n["pass"] else "skipped")
        facts = "".join(f"<span><b>{_e(k)}</b> {_e(t[k])}</span>" for k in
                        ("target", "op", "array", "device", "dtype", "examples", "seed") if t.get(k) is not None)
        repro = f"<div class='repro'>reproduce: <code>{_e(t['reproduce'])}</code></div>" if t.get("reproduce") else ""
        note = f"<p class='note'>{_e(t['note'])}</p>" if t.get("note") else ""
        # A target whose claims all hold shows them folded; a failing one shows them open.
        open_ = " open" if verdict != "pass" else ""
        table = (f"<details class='target-claims'{open_}><summary>{len(mine)} claims</summary>"
                 f"{claims_table(mine, start, subjects=False)}</details>") if mine else ""
        out.append(f"<div class='target {verdict}'><div class='target-head'>{_badge(verdict)} "
                   f"<code>{_e(key)}</code> {_count_chips(n)}</div><div class='target-facts'>{facts}</div>"
                   f"{repro}{note}{table}</div>")
        start += len(mine)
    rest = [c for c in claims if (c.get("subject") or report.get("target")) not in known]
    return "".join(out) + claims_table(rest, start)


def _stage_notes(section_stages: tuple[str, ...], stages: list[dict]) -> str:
    notes = [s for s in stages if s.get("name") in section_stages and s.get("status") in ("skipped", "error")]
    return "".join(f"<p class='note stage-note'>stage <b>{_e(s['name'])}</b>: {_e(s.get('reason') or s['status'])}</p>"
                   for s in notes)


def render(report: dict[str, Any]) -> str:
    """The whole page as a string (UTF-8, no external resources)."""
    report = normalize(report)
    claims = [{**c, "_anchor": i} for i, c in enumerate(report.get("claims", []))]
    artifacts = list(report.get("artifacts", []))
    stages = list(report.get("stages", []))
    by_section: dict[str, list] = {s.id: [] for s in SECTIONS + (OTHER,)}
    for c in claims:
        by_section[section_of(c)].append(c)
    arts: dict[str, list] = {s.id: [] for s in SECTIONS + (OTHER,)}
    for a in artifacts:
        arts[a.get("section") if a.get("section") in arts else OTHER.id].append(a)

    n = _counts(claims)
    verdict = report.get("verdict", "fail")
    title = f"cnnspec {report.get('kind', 'report')}"
    if report.get("target"):
        title += f" — {report['target']}"
    nav, body, start = [], [], 0
    shown = [s for s in SECTIONS] + ([OTHER] if by_section[OTHER.id] or arts[OTHER.id] else [])
    for s in shown:
        mine = by_section[s.id]
        sn = _counts(mine)
        state = "fail" if sn["fail"] or sn["error"] else ("pass" if sn["pass"] else "none")
        nav.append(f"<li><a href='#sec-{s.id}'><span class='dot {state}'></span>{_e(s.title)}</a></li>")
        formulas = "".join(f"<div class='formula'>{f}</div>" for f in s.formulas)
        content = "".join(render_artifact(a) for a in arts[s.id])
        if s.id == "conformance":
            content += _conformance_body(mine, report, start)
        else:
            content += claims_table(mine, start)
        start += len(mine)
        if not mine and not arts[s.id]:
            content += "<p class='note empty'>No results for this section in this report.</p>"
        body.append(f"<section class='lecture' id='sec-{s.id}' data-section='{s.id}'>"
                    f"<h2>{_e(s.title)} <span class='counts'>{_count_chips(sn)}</span></h2>"
                    f"<p class='lead'>{s.lead}</p>{formulas}{_stage_notes(s.stages, stages)}{content}</section>")

    failing = [c for c in claims if c.get("status") in ("fail", "error")]
    fail_box = ""
    if failing:
        items = "".join(f"<li>{_badge(c['status'])} <a href='#claim-{c['_anchor']}'><code>{_e(c.get('id'))}</code></a>"
                        f"{' — ' + _e(c['subject']) if c.get('subject') else ''}: {_e(c.get('message', ''))[:300]}</li>"
                        for c in failing[:50])
        more = f"<li>… and {len(failing) - 50} more</li>" if len(failing) > 50 else ""
        fail_box = f"<div class='failbox'><h3>Failing claims</h3><ul>{items}{more}</ul></div>"
    return _PAGE.format(
        title=_e(title), css=_CSS, verdict=_e(verdict), verdict_up=_e(str(verdict).upper()),
        chips=_count_chips(n), meta=_meta(report), stages=_stages_table(stages), failbox=fail_box,
        nav="".join(nav), body="".join(body), env=_env_table(report.get("environment") or {}),
        sources=_sources(report))


def _meta(report: dict) -> str:
    keys = [("kind", report.get("kind")), ("mode", report.get("mode")), ("run", report.get("run_id")),
            ("started", report.get("started")), ("wall time", f"{report['wall_s']:.0f} s" if isinstance(report.get("wall_s"), (int, float)) else None),
            ("target", report.get("target")), ("op", report.get("op")), ("cnnspec", report.get("cnnspec_version"))]
    return "".join(f"<span><b>{_e(k)}</b> {_e(v)}</span>" for k, v in keys if v not in (None, ""))


def _stages_table(stages: list[dict]) -> str:
    if not stages:
        return ""
    rows = "".join(
        f"<tr class='{_e(s.get('status'))}'><td>{_e(s.get('name'))}</td><td>{_e(s.get('title'))}</td>"
        f"<td><span class='chip {_e(s.get('status'))}'>{_e(s.get('status'))}</span></td>"
        f"<td>{_count_chips(s.get('counts') or {})}</td><td class='num'>{float(s.get('seconds') or 0):.1f} s</td>"
        f"<td>{_e(s.get('reason') or '')}</td></tr>" for s in stages)
    return ("<div class='scroll'><table class='stages'><thead><tr><th>stage</th><th>what</th><th>status</th>"
            f"<th>claims</th><th>time</th><th>note</th></tr></thead><tbody>{rows}</tbody></table></div>")


def _env_table(env: dict) -> str:
    return "<table class='env'>" + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in env.items()) + "</table>"


def _sources(report: dict) -> str:
    src = report.get("merged_from")
    if not src:
        return ""
    items = "".join(f"<li><code>{_e(s.get('path'))}</code> — {_e(s.get('kind'))} {_e(s.get('target') or '')} "
                    f"{_badge(s.get('verdict', 'error'))}</li>" for s in src)
    return f"<h3>Merged from</h3><ul>{items}</ul>"


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{css}</style></head>
<body><div class="layout">
<nav class="toc"><div class="brand">cnnspec</div><ul>{nav}</ul><a class="toplink" href="#environment">environment</a></nav>
<main>
<header class="top"><h1>{title}</h1>
<div class="verdict {verdict}">{verdict_up}</div><div class="chips">{chips}</div>
<div class="meta">{meta}</div></header>
{failbox}
<section class="overview" id="stages"><h2>Stages</h2>{stages}</section>
{body}
<section class="overview" id="environment"><h2>Environment</h2>{env}{sources}</section>
</main></div></body></html>
"""

_CSS = """
:root{--pass:#2a9d4b;--fail:#c62f3e;--error:#b35c00;--skipped:#7a8290;--ink:#1d232b;--muted:#5d6673;--line:#e3e6eb;--bg:#f6f7f9}
*{box-sizing:border-box}body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
.layout{display:flex;align-items:flex-start}
nav.toc{position:sticky;top:0;width:230px;flex:none;height:100vh;overflow:auto;padding:18px 14px;background:#1f2933;color:#e8edf2}
nav.toc .brand{font-weight:700;font-size:18px;margin-bottom:12px;letter-spacing:.5px}
nav.toc ul{list-style:none;margin:0;padding:0}nav.toc li{margin:3px 0}
nav.toc a{color:#d7dee6;text-decoration:none;display:block;padding:3px 6px;border-radius:4px}nav.toc a:hover{background:#334150}
nav.toc .toplink{margin-top:12px;font-size:12px}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:8px;background:#69727d}
.dot.pass{background:#46c06a}.dot.fail{background:#ff5a6a}
main{flex:1;min-width:0;max-width:1180px;padding:20px 28px 60px}
header.top{background:#fff;border:1px solid var(--line);border-radius:10px;padding:16px 20px;margin-bottom:16px}
header.top h1{margin:0 0 8px;font-size:22px;word-break:break-word}
.verdict{display:inline-block;font-weight:800;font-size:18px;padding:4px 14px;border-radius:6px;color:#fff;margin-right:10px}
.verdict.pass{background:var(--pass)}.verdict.fail{background:var(--fail)}
.chips{display:inline-block}.chip{display:inline-block;font-size:12px;padding:1px 8px;border-radius:10px;margin:1px 2px;background:#eef0f3;color:var(--ink)}
.chip.pass,.chip.ran{background:#e1f4e6;color:#1d6b34}.chip.fail{background:#fbe3e5;color:#9b1c2a}.chip.error{background:#fdebd9;color:#8a4600}.chip.skipped{background:#eceef1;color:#555}
.meta{margin-top:8px;color:var(--muted);font-size:13px}.meta span{margin-right:16px;display:inline-block}
section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:14px 20px 18px;margin:0 0 16px}
h2{font-size:19px;margin:4px 0 8px}h2 .counts{font-weight:400}
p.lead{margin:4px 0 10px;color:#333;max-width:880px}
.formula{font-family:"Latin Modern Math","STIX Two Math","Cambria Math",Georgia,serif;font-size:17px;background:#f7f8fb;border-left:3px solid #9fb3c8;padding:5px 12px;margin:6px 0;display:block;width:fit-content;max-width:100%}
figure{margin:14px 0;padding:10px;border:1px solid var(--line);border-radius:8px;background:#fff;overflow-x:auto}
figure.figure svg{display:block;max-width:100%;height:auto}
.fig-row{display:flex;flex-wrap:wrap;gap:14px}
figcaption{color:var(--muted);font-size:13px;margin-top:6px}
.fig-title{font-weight:600;margin-bottom:6px}
.scroll{overflow-x:auto}
table{border-collapse:collapse}
table.claims{width:100%;margin-top:10px;font-size:13px}
table.claims th,table.data th,table.stages th{text-align:left;background:#f2f4f7;border-bottom:1px solid var(--line);padding:6px 8px;font-weight:600}
table.claims td{border-bottom:1px solid var(--line);padding:7px 8px;vertical-align:top}
table.claims tr.fail td,table.claims tr.error td{background:#fff6f6}
td.source{color:var(--muted);font-size:12px;max-width:220px;overflow-wrap:anywhere}
details.target-claims>summary{font-size:13px;margin:6px 0}
.cid{font-size:12.5px;background:#f1f3f6;padding:1px 5px;border-radius:4px;word-break:break-all}
.stmt{margin-top:3px}.subject{font-size:12px;color:var(--muted)}
.badge{display:inline-block;font-size:11px;font-weight:700;padding:2px 7px;border-radius:4px;color:#fff;min-width:52px;text-align:center}
.badge.pass{background:var(--pass)}.badge.fail{background:var(--fail)}.badge.error{background:var(--error)}.badge.skipped{background:var(--skipped)}
.method{font-size:11.5px;padding:1px 7px;border-radius:10px;border:1px solid #c5ccd6;white-space:nowrap}
.method.symbolic{background:#eef2ff}.method.exact{background:#eaf7ef}.method.property{background:#fff6e5}.method.empirical{background:#f3ecfa}
td.evidence{max-width:420px}.evidence pre,.cx pre{white-space:pre-wrap;word-break:break-word;font-size:12px;background:#f7f8fa;padding:6px 8px;border-radius:4px;max-height:320px;overflow:auto;margin:4px 0}
.facts{color:var(--muted);font-size:12px}.msg{word-break:break-word}
.cx{border:1px solid #f0b8be;background:#fff8f8;border-radius:6px;padding:6px 8px;margin:6px 0}.cx-title{font-weight:700;color:var(--fail);font-size:12px}
.repro code{font-size:12px;background:#1f2933;color:#e8edf2;padding:2px 6px;border-radius:4px;word-break:break-all}
details summary{cursor:pointer;color:#35608f;font-size:12px}
table.data{font-size:13px}table.data td{padding:4px 10px;border-bottom:1px solid var(--line)}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.ok{background:#e9f7ee}td.bad{background:#fde4e7;font-weight:700}
table.derivation td{padding:3px 6px;font-family:Georgia,serif;font-size:15px}table.derivation td.lhs{text-align:right;white-space:nowrap}
table.matrix{font-family:Georgia,serif;font-size:13px;border-left:2px solid #333;border-right:2px solid #333}table.matrix td{padding:2px 7px;text-align:center}.zero{color:#b5bac2}
table.stages{width:100%;font-size:13px}table.stages td{padding:5px 8px;border-bottom:1px solid var(--line)}
table.env th{text-align:left;padding:2px 12px 2px 0;color:var(--muted);font-weight:500}table.env td{font-family:monospace;font-size:12.5px}
.note{color:var(--muted);font-style:italic}.stage-note{color:#8a4600}.warn{color:var(--error)}
.failbox{background:#fff5f5;border:1px solid #f0b8be;border-radius:10px;padding:8px 18px;margin-bottom:16px}.failbox h3{margin:6px 0;color:var(--fail)}
.target{border:1px solid var(--line);border-radius:8px;padding:10px 12px;margin:12px 0}.target.fail{border-color:#f0b8be}
.target-head{font-size:15px}.target-facts{color:var(--muted);font-size:12.5px;margin:4px 0}.target-facts span{margin-right:14px}
@media (max-width:900px){nav.toc{display:none}main{padding:10px}}
"""
