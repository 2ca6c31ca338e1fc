"""``index.html``: one self-contained page, failures first, then the lecture's sections that ran.

The page is rendered from the report JSON alone, so ``cnnspec report`` can render any saved
``report.json`` again. Layout lives in jinja2 templates (``templates/``) with autoescaping on: every
string from a result (claim messages, counterexamples, target names, class names) is escaped in
text and attribute context alike; only markup made here (SVG figures, MathML formulas, the
derivations' sub/superscripts, each escaped as it is built) is passed through as ``Markup``.
Nothing is fetched: styles and the few lines of filter script are inline, figures are inline SVG.

What a reader sees first: the verdict and counts, then one full-width panel per failing claim (the
call, the input, expected against got, the difference, the diagnosis, the command that reproduces
it and a Python snippet), then warnings, then the sections. A filter (failures / warnings / all)
and a search box narrow the claim lists.

References: jinja2, "Autoescaping", https://jinja.palletsprojects.com/en/stable/api/#autoescaping;
W3C MathML Core, https://www.w3.org/TR/mathml-core/.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from ..claims import STATUSES, count_statuses
from . import figures, panels
from .sections import OTHER, SECTIONS, formulas, normalize, section_of

TEMPLATES = Path(__file__).with_name("templates")
STATUS_ORDER = {"fail": 0, "error": 1, "warn": 2, "skipped": 3, "pass": 4}
MAX_PANELS = 40


@lru_cache(maxsize=1)
def _env():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True,
                             finalize=_printable)
    env.filters["num"] = _fmt
    env.filters["symbolic"] = symbolic_html
    env.globals["status_of"] = _status
    return env


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _printable(v: Any) -> Any:
    """Text without control characters (HTML does not allow them), before autoescaping."""
    if isinstance(v, str) and not isinstance(v, Markup):
        return _CONTROL.sub("\ufffd", v)
    return v


def _status(s: Any) -> str:
    """A status as the page may use it in a class name: one of the five, anything else ``error``."""
    return s if s in STATUSES else "error"


def _slug(s: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]+", "-", s).strip("-") or "x"


def symbolic_html(expr: Any) -> Markup:
    """A sympy string as readable HTML: ``w_0_1*u_2`` → w<sub>0,1</sub>·u<sub>2</sub>. Escapes first."""
    s = str(escape(str(expr)))
    s = re.sub(r"\*\*(\d+)", r"<sup>\1</sup>", s)
    s = s.replace("*", "·")
    return Markup(re.sub(r"\b([A-Za-z]+)((?:_\d+)+)\b",
                         lambda m: f"{m.group(1)}<sub>{m.group(2)[1:].replace('_', ',')}</sub>", s))


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return {True: "yes", False: "no", None: "—"}[v]
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e6 else f"{v:,.0f}"
    return str(v)


# --- artifacts ------------------------------------------------------------------------------------

_FIGURE_TYPES = {"heatmap", "panels", "graph", "curves", "confusion"}


def _figure_svg(a: dict[str, Any]) -> list[str]:
    """The SVG drawings of a figure artifact: data plots through matplotlib, lecture diagrams by hand."""
    from . import plots

    kind = a["type"]
    if kind == "curves":
        return [plots.line_chart(c["series"], title=c.get("title", ""), xlabel=c.get("xlabel", ""),
                                 ylabel=c.get("ylabel", ""),
                                 hline=tuple(c["hline"]) if c.get("hline") else None,
                                 ylim=tuple(c["ylim"]) if c.get("ylim") else None) for c in a["charts"]]
    if kind == "confusion":
        return [plots.confusion(a["matrix"], a["classes"], title=a.get("title", "Confusion matrix"))]
    if kind == "heatmap":
        return [figures.heatmap(a["values"], title=a.get("title", ""), scale=a.get("scale", "seq"),
                                annotations=a.get("annotations"), row_labels=a.get("row_labels"),
                                col_labels=a.get("col_labels"), xlabel=a.get("xlabel", ""),
                                ylabel=a.get("ylabel", ""),
                                legend=[tuple(x) for x in a["legend"]] if a.get("legend") else None,
                                cell=float(a.get("cell", 22)))]
    if kind == "panels":
        return [figures.panels(a["items"], title=a.get("title", ""), scale=a.get("scale", "div"),
                               per_row=int(a.get("per_row", 2)), cell=float(a.get("cell", 18)))]
    graphs = a.get("graphs") or [a]
    return [figures.layered_graph(g["layers"], title=g.get("title", ""), width=float(g.get("width", 400)))
            for g in graphs]


def artifact_view(a: dict[str, Any]) -> dict[str, Any]:
    """An artifact as the template draws it; one that cannot be drawn says why, never raises."""
    kind = a.get("type")
    view = {"id": str(a.get("id", kind)), "slug": _slug(str(a.get("id", kind))), "type": kind,
            "title": a.get("title"), "caption": a.get("caption"), "error": None,
            "figure": kind in _FIGURE_TYPES}
    try:
        if kind in _FIGURE_TYPES:
            view["svgs"] = [Markup(s) for s in _figure_svg(a)]
        elif kind == "table":
            view["columns"] = list(a.get("columns", []))
            view["rows"] = [[_cell(v) for v in row] for row in a.get("rows", [])]
        elif kind == "derivation":
            view["given"] = a.get("given")
            view["lines"] = [(symbolic_html(l["lhs"]), symbolic_html(l["rhs"])) for l in a.get("lines", [])]
        elif kind == "matrix":
            view["entries"] = [[None if v in ("0", 0) else symbolic_html(v) for v in row] for row in a["entries"]]
        elif kind == "note":
            view["text"] = a.get("text", "")
        else:
            raise KeyError(f"unknown artifact type {kind!r}")
    except Exception as e:  # noqa: BLE001 - a bad artifact never breaks the page
        view["error"] = f"{type(e).__name__}: {e}"
    return view


def _cell(v: Any) -> dict[str, Any]:
    if isinstance(v, dict):   # {"value": .., "ok": bool} marks a checked figure
        return {"text": _fmt(v.get("value")), "num": True, "mark": {True: "ok", False: "bad"}.get(v.get("ok"), "")}
    return {"text": _fmt(v), "num": isinstance(v, (int, float)) and not isinstance(v, bool), "mark": ""}


# --- the page -------------------------------------------------------------------------------------

def _target_key(t: dict[str, Any]) -> str:
    return t.get("subject") or t.get("target") or "?"


def _sorted_rows(claims: list[dict]) -> list[dict]:
    return [panels.row(c) for c in sorted(claims, key=lambda c: STATUS_ORDER.get(c.get("status"), 1))]


def _cards(claims: list[dict], report: dict) -> tuple[list[dict], list[dict]]:
    """The conformance section: one card per validated target, and the claims of no target."""
    targets = [t for t in report.get("targets") or [] if isinstance(t, dict)]
    known = {_target_key(t) for t in targets}
    for c in claims:  # claims of a subject with no target entry still get a card
        if c.get("subject") and c["subject"] not in known:
            targets.append({"subject": c["subject"]})
            known.add(c["subject"])
    cards = []
    for t in targets:
        key = _target_key(t)
        mine = [c for c in claims if (c.get("subject") or report.get("target")) == key]
        n = count_statuses(mine)
        verdict = "fail" if n["fail"] or n["error"] else ("warn" if n["warn"] else ("pass" if n["pass"] else "skipped"))
        facts = [(k, t[k]) for k in ("target", "op", "array", "device", "dtype", "examples", "seed")
                 if t.get(k) is not None]
        cards.append({"key": key, "verdict": verdict, "counts": n, "facts": facts, "note": t.get("note"),
                      "reproduce": t.get("reproduce"), "rows": _sorted_rows(mine)})
    rest = [c for c in claims if (c.get("subject") or report.get("target")) not in known]
    return cards, _sorted_rows(rest)


def _matrix_view(doc: dict, claims: list[dict]) -> dict[str, Any] | None:
    """The framework × op table of a report's ``matrix`` section, each cell linked to its claim row;
    a malformed section is a note on the page, never an exception."""
    from . import matrix

    try:
        return matrix.table(doc, {c.get("id"): c["_anchor"] for c in claims})
    except Exception as e:  # noqa: BLE001 - a bad saved section never breaks the page
        return {"error": f"{type(e).__name__}: {e}", "grids": [], "ops": [], "missing": [], "snippets": []}


def _panel(claim: dict, op: str | None, repro: str | None) -> dict[str, Any]:
    p = panels.panel(claim, op, repro)
    if p["diff_svg"]:   # drawn by matplotlib, which escapes its text
        p["diff_svg"] = Markup(p["diff_svg"])
    return p


def _op_of(claim: dict, report: dict, by_subject: dict) -> str | None:
    t = by_subject.get(claim.get("subject")) or {}
    return t.get("op") or report.get("op")


def render(report: dict[str, Any]) -> str:
    """The whole page as a string (UTF-8, no external resources)."""
    report = normalize(report)
    claims = [{**c, "_anchor": i} for i, c in enumerate(report.get("claims", []))]
    artifacts = [a for a in report.get("artifacts", []) if isinstance(a, dict)]
    stages = [s for s in report.get("stages", []) if isinstance(s, dict)]
    by_section: dict[str, list] = {s.id: [] for s in SECTIONS + (OTHER,)}
    for c in claims:
        by_section[section_of(c)].append(c)
    arts: dict[str, list] = {s.id: [] for s in SECTIONS + (OTHER,)}
    for a in artifacts:
        arts[a.get("section") if a.get("section") in arts else OTHER.id].append(a)
    by_subject = {_target_key(t): t for t in report.get("targets") or [] if isinstance(t, dict)}

    sections = []
    for s in SECTIONS + (OTHER,):
        mine = by_section[s.id]
        if not mine and not arts[s.id]:
            continue   # only sections that ran: a validate report is not seven empty lectures
        n = count_statuses(mine)
        view = {"id": s.id, "title": s.title, "lead": s.lead, "counts": n,
                "state": "fail" if n["fail"] or n["error"] else ("warn" if n["warn"] else ("pass" if n["pass"] else "none")),
                "formulas": [Markup(f) for f in formulas(s.id)], "formula_note": s.formula_note,
                "stage_notes": [st for st in stages if st.get("name") in s.stages
                                and st.get("status") in ("skipped", "error")],
                "artifacts": [artifact_view(a) for a in arts[s.id]], "cards": [], "rows": []}
        if s.id == "conformance":
            view["cards"], view["rows"] = _cards(mine, report)
        elif s.id == "frameworks" and isinstance(report.get("matrix"), dict):
            view["matrix"] = _matrix_view(report["matrix"], mine)
            view["rows"] = _sorted_rows(mine)
        else:
            view["rows"] = _sorted_rows(mine)
        sections.append(view)

    def repro_of(c: dict) -> str | None:
        return (by_subject.get(c.get("subject")) or {}).get("reproduce") or report.get("reproduce")

    failing = [c for c in claims if c.get("status") not in ("pass", "warn", "skipped")]
    warned = [c for c in claims if c.get("status") == "warn"]
    summary = report.get("summary") or {}
    n = count_statuses(claims)
    title = f"cnnspec {report.get('kind', 'report')}" + (f" — {report['target']}" if report.get("target") else "")
    page = {
        "title": title, "verdict": "pass" if report.get("verdict") == "pass" else "fail",
        "counts": n, "exit_code": summary.get("exit_code"), "strict": summary.get("strict"),
        "seconds": summary.get("seconds"), "meta": _meta(report),
        "failures": [_panel(c, _op_of(c, report, by_subject), repro_of(c)) for c in failing[:MAX_PANELS]],
        "more_failures": max(0, len(failing) - MAX_PANELS),
        "warnings": [_panel(c, _op_of(c, report, by_subject), repro_of(c)) for c in warned[:MAX_PANELS]],
        "more_warnings": max(0, len(warned) - MAX_PANELS),
        "stages": stages, "sections": sections,
        "environment": _environment_rows(report.get("environment") or {}),
        "merged_from": [m for m in report.get("merged_from") or [] if isinstance(m, dict)],
        "css": Markup(_asset("style.css")), "script": Markup(_asset("script.js")),
    }
    return _env().get_template("page.html.j2").render(page=page)


@lru_cache(maxsize=None)
def _asset(name: str) -> str:
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    if "</" in text:   # an inline <style>/<script> must not contain a closing tag
        raise ValueError(f"templates/{name} contains '</'")
    return text


def _meta(report: dict) -> list[tuple[str, Any]]:
    wall = report.get("wall_s") if isinstance(report.get("wall_s"), (int, float)) else None
    keys = [("kind", report.get("kind")), ("mode", report.get("mode")), ("run", report.get("run_id")),
            ("started", report.get("started")), ("wall time", f"{wall:.0f} s" if wall is not None else None),
            ("target", report.get("target")), ("op", report.get("op")), ("cnnspec", report.get("cnnspec_version"))]
    return [(k, v) for k, v in keys if v not in (None, "")]


# The environment block, in this order; whatever else a report holds follows.
_ENV_ORDER = ("python", "torch", "torch_backends", "torch_threads", "hypothesis", "numpy", "scipy", "sympy",
              "cnnspec", "git_commit", "cpu", "blas", "device", "seed", "platform")


def _environment_rows(env: dict) -> list[tuple[str, str]]:
    keys = [k for k in _ENV_ORDER if k in env] + [k for k in env if k not in _ENV_ORDER]
    rows = []
    for k in keys:
        v = env[k]
        if isinstance(v, dict):
            v = ", ".join(f"{a} {_fmt(b) if not isinstance(b, bool) else ('on' if b else 'off')}" for a, b in v.items())
        rows.append((k, "null" if v is None else str(v)))
    return rows


__all__ = ["render", "artifact_view", "symbolic_html", "STATUS_ORDER"]
