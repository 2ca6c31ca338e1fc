"""A cross-framework matrix (frameworks × ops × dtypes) as people read it: the standalone
``index.html`` and ``summary.md`` of ``cnnspec matrix``, and the framework × op table that
``cnnspec verify --frameworks`` puts into the main report.

The matrix document (``matrix.json``, and ``report.json``'s ``matrix`` section) is made by
:mod:`cnnspec.adapters.matrix`; this module only draws it, so that a saved document renders again.
Every string from a framework (diagnoses, exceptions, snippets) is autoescaped by jinja2.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

# status -> (the words a reader sees, the CSS class)
LABELS = {"pass": ("pass", "pass"), "not-bit-exact-within-bound": ("not bit-exact, within bound", "inexact"),
          "fail": ("fail", "fail"), "skipped": ("skipped", "skipped")}
# a matrix cell as a claim status of report.json (an inexact average within its bound holds)
CLAIM_STATUS = {"pass": "pass", "not-bit-exact-within-bound": "pass", "fail": "fail", "skipped": "skipped"}


def counts(cells: list[dict]) -> str:
    """``'40 pass, 2 fail, 3 skipped'`` (``'no cells'`` when empty)."""
    n = Counter(c.get("status") for c in cells)
    return ", ".join(f"{n[k]} {LABELS[k][0]}" for k in LABELS if n[k]) or "no cells"


def ops_of(doc: dict) -> list[str]:
    """The ops of the document's cells, in first-seen order."""
    return list(dict.fromkeys(c["op"] for c in doc.get("cells", [])))


def claim_id(cell: dict) -> str:
    """The claim id a cell has in a verify report: ``matrix.<framework>.<op>.<dtype>``."""
    return f"matrix.{cell['framework']}.{cell['op']}.{cell['dtype']}"


def confirmation(cell: dict) -> str | None:
    """What running the cell's native snippets alone showed: ``'reproduced (2 of 2 cases)'``, or
    ``None`` when they were not run."""
    runs = [r["confirmed"] for r in cell.get("cases", []) if r.get("confirmed")]
    if not runs:
        return None
    ok = sum(bool(r.get("reproduced")) for r in runs)
    return f"{'reproduced' if ok == len(runs) else 'NOT reproduced'} ({ok} of {len(runs)} case" \
           f"{'s' if len(runs) > 1 else ''} alone)"


def table(doc: dict, anchors: dict[str, int] | None = None) -> dict[str, Any]:
    """The view the templates draw: per dtype, rows of frameworks, one entry per op.

    ``anchors``: claim id -> the claim's index in the report, so that a cell links to its claim row.
    """
    anchors = anchors or {}
    by = {(c["framework"], c["op"], c["dtype"]): c for c in doc.get("cells", [])}
    ops, dtypes = ops_of(doc), list(doc.get("dtypes") or [])
    grids = []
    for d in dtypes:
        rows = []
        for f in doc.get("frameworks", []):
            entries = []
            for op in ops:
                c = by.get((f["name"], op, d))
                if c is None:
                    entries.append(None)
                    continue
                label, css = LABELS.get(c.get("status"), (str(c.get("status")), "fail"))
                note = c.get("diagnosis") or c.get("reason") or ""
                snippet = next((r["snippet"] for r in c.get("cases", []) if r.get("snippet")), None)
                entries.append({"label": label, "css": css, "note": note[:240], "snippet": snippet,
                                "anchor": anchors.get(claim_id(c)), "confirmed": confirmation(c),
                                "slug": f"{f['name']}-{op}-{d}",
                                "title": f"{f['name']} {op} {d}: {label} ({float(c.get('seconds') or 0):.2f} s)"})
            rows.append({"name": f["name"], "version": f.get("version"), "installed": f.get("installed", True),
                         "install": f.get("install"), "entries": entries})
        grids.append({"dtype": d, "rows": rows})
    missing = [f for f in doc.get("frameworks", []) if not f.get("installed", True)]
    snippets = [{"slug": e["slug"], "title": e["title"], "text": e["snippet"], "confirmed": e["confirmed"]}
                for g in grids for r in g["rows"] for e in r["entries"] if e and e["snippet"]]
    return {"ops": ops, "grids": grids, "missing": missing, "snippets": snippets,
            "counts": counts(doc.get("cells", [])), "device": doc.get("device"),
            "seconds": doc.get("seconds"), "dtypes": dtypes}


def html(doc: dict) -> str:
    """The standalone page of ``cnnspec matrix`` (one file, no external resources)."""
    import jinja2

    from .html import TEMPLATES

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True)
    css = (Path(TEMPLATES) / "style.css").read_text(encoding="utf-8")
    return env.get_template("matrix.html.j2").render(css=css, t=table(doc))


def _cell(s: Any) -> str:
    from .markdown import cell
    return cell(s, 300)


def markdown(doc: dict) -> str:
    """``summary.md`` of ``cnnspec matrix``: one row per framework and dtype, then the failing cells."""
    ops = ops_of(doc)
    rows = ["| framework | dtype | " + " | ".join(ops) + " |", "|---|---|" + "---|" * len(ops)]
    by = {(c["framework"], c["op"], c["dtype"]): c for c in doc.get("cells", [])}
    for f in doc.get("frameworks", []):
        for d in doc.get("dtypes", []):
            cells = [by.get((f["name"], op, d)) for op in ops]
            rows.append(f"| {f['name']} {f.get('version') or '(not installed)'} | {d} | " + " | ".join(
                "—" if c is None else LABELS.get(c["status"], (c["status"],))[0] for c in cells) + " |")
    lines = ["# cnnspec matrix", "", f"{counts(doc.get('cells', []))} in {doc.get('seconds')} s", "", *rows]
    lines += failing_lines(doc)
    missing = [f for f in doc.get("frameworks", []) if not f.get("installed", True)]
    if missing:
        lines += ["", "## Not installed", ""] + [f"- {f['name']}: `{f.get('install')}`" for f in missing]
    return "\n".join(lines) + "\n"


def failing_lines(doc: dict) -> list[str]:
    """Markdown lines for the failing cells: framework, op, dtype, diagnosis, confirmation."""
    fails = [c for c in doc.get("cells", []) if c.get("status") == "fail"]
    if not fails:
        return []
    return ["", "## Failing cells", ""] + [
        f"- **{c['framework']} {c['op']} {c['dtype']}**: {_cell(c.get('diagnosis') or '')}"
        + (f" — native snippet: {confirmation(c)}" if confirmation(c) else "") for c in fails]


__all__ = ["CLAIM_STATUS", "LABELS", "claim_id", "confirmation", "counts", "html", "markdown", "ops_of", "table"]
