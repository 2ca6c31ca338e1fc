"""What the page shows of one claim: the failure panel (call, input, expected against got, the
difference, diagnosis, reproduction, snippet) and the row of the claim tables.

Plain data in, plain data out: dicts of strings and numbers that the templates lay out (and escape).
Arrays are shown as aligned grids, one 2-D slice at a time, with the cells where ``got`` differs
from ``expected`` marked, in the manner of ``numpy.testing.assert_array_equal``'s report of
mismatched elements (https://numpy.org/doc/stable/reference/generated/numpy.testing.assert_array_equal.html).
"""
from __future__ import annotations

import json
import math
import re
import shlex
from typing import Any

import numpy as np

MAX_SIDE = 12          # cells per side of a shown slice; larger slices are cut with "…"
MAX_SLICES = 4
MAX_TEXT = 4000
ARRAY_ARGS = ("x", "input", "weight", "bias")


def sources(text: Any) -> list[str]:
    """The distinct sources of a claim, in order: ``"A; B; A"`` → ``["A", "B"]`` (shown once each)."""
    seen: list[str] = []
    for part in re.split(r"\s*;\s*(?![^()]*\))", str(text or "")):
        part = part.strip()
        if part and part.lower() not in (s.lower() for s in seen):
            seen.append(part)
    return seen


def reproduce_command(claim: dict[str, Any], fallback: str | None = None) -> str | None:
    """The claim's reproduction command, narrowed to this claim (``--claims ID``) when it names one."""
    cx = claim.get("counterexample") or {}
    cmd = cx.get("reproduce") or cx.get("command") or claim.get("reproduce") or fallback
    if not cmd or not isinstance(cmd, str):
        return None
    cid = claim.get("id")
    # (cnnspec matrix has no claim filter: its cell is named by framework, --ops and --dtypes)
    if cid and "--claims" not in cmd and cmd.startswith("cnnspec ") and not cmd.startswith("cnnspec matrix "):
        cmd += f" --claims {shlex.quote(str(cid))}"
    return cmd


def _numeric(v: Any) -> np.ndarray | None:
    if isinstance(v, (str, bytes, dict)) or v is None or isinstance(v, bool):
        return None
    try:
        a = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        return None
    return a if a.size and a.ndim <= 6 else None


def fmt(v: float) -> str:
    """A number as the grids show it: integers without a point, others with 6 significant digits."""
    if not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.6g}"


def _slices(a: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """``(label, 2-D slice)`` for the first :data:`MAX_SLICES` leading indices."""
    if a.ndim == 0:
        return [("", a.reshape(1, 1))]
    if a.ndim == 1:
        return [("", a.reshape(1, -1))]
    lead = a.shape[:-2]
    flat = a.reshape((-1,) + a.shape[-2:])
    out = []
    for k in range(min(len(flat), MAX_SLICES)):
        idx = np.unravel_index(k, lead) if lead else ()
        # A label only where there is more than one slice to tell apart.
        out.append(("[" + ", ".join(map(str, idx)) + ", :, :]" if len(flat) > 1 else "", flat[k]))
    return out


def grid(a: np.ndarray, marks: np.ndarray | None = None) -> list[dict[str, Any]]:
    """An array as slices of rows of cells ``{"text", "bad"}``, cut at :data:`MAX_SIDE` per side."""
    out = []
    mark_slices = _slices(marks) if marks is not None else None
    for k, (label, s) in enumerate(_slices(a)):
        m = mark_slices[k][1] if mark_slices else np.zeros(s.shape, bool)
        rows = []
        for i in range(min(s.shape[0], MAX_SIDE)):
            cells = [{"text": fmt(float(s[i, j])), "bad": bool(m[i, j])} for j in range(min(s.shape[1], MAX_SIDE))]
            if s.shape[1] > MAX_SIDE:
                cells.append({"text": "…", "bad": False})
            rows.append(cells)
        if s.shape[0] > MAX_SIDE:
            rows.append([{"text": "⋮", "bad": False}])
        out.append({"label": label, "rows": rows})
    return out


def _shape(a: np.ndarray) -> str:
    return "×".join(map(str, a.shape)) if a.ndim else "scalar"


def _text(v: Any, limit: int = MAX_TEXT) -> str:
    t = v if isinstance(v, str) else json.dumps(v, default=str, ensure_ascii=False)
    return t if len(t) <= limit else t[:limit] + f" … ({len(t) - limit} more characters in report.json)"


def comparison(expected: Any, got: Any) -> dict[str, Any]:
    """Expected against got: aligned grids with the differing cells marked when both are arrays of
    one shape; otherwise the two values as text, one above the other."""
    e, g = _numeric(expected), _numeric(got)
    if e is not None and g is not None and e.shape == g.shape:
        with np.errstate(invalid="ignore"):
            bad = ~((e == g) | (np.isnan(e) & np.isnan(g)))
        return {"kind": "arrays", "shape": _shape(e), "differ": int(bad.sum()), "total": int(bad.size),
                "expected": grid(e, bad), "got": grid(g, bad)}
    return {"kind": "text", "expected": _text(expected), "got": _text(got)}


def call_text(op: str | None, args: dict[str, Any]) -> str | None:
    """``conv1d(x, weight, stride=[1], padding=[1])`` from a counterexample's arguments."""
    if not isinstance(args, dict):
        return None
    kwargs = args.get("kwargs") if isinstance(args.get("kwargs"), dict) else {}
    if isinstance(args.get("call"), str):
        return f"{op or 'f'}({args['call']})"
    pos = [k for k in ARRAY_ARGS if k in args]
    if not pos and not kwargs:
        return None
    parts = pos + [f"{k}={json.dumps(v, default=str)}" for k, v in kwargs.items()]
    return f"{op or 'f'}({', '.join(parts)})"


def inputs(args: dict[str, Any]) -> list[dict[str, Any]]:
    """The counterexample's inputs: arrays as grids with their shape, other values as text."""
    if not isinstance(args, dict):
        return []
    out = []
    for k, v in args.items():
        if k in ("kwargs", "call"):
            continue
        a = _numeric(v)
        if a is not None and a.ndim >= 1:
            out.append({"name": k, "shape": _shape(a), "grid": grid(a)})
        else:
            out.append({"name": k, "text": _text(v, 600)})
    return out


def panel(claim: dict[str, Any], op: str | None = None, fallback_repro: str | None = None) -> dict[str, Any]:
    """Everything the failure (or warning) panel of ``claim`` shows; ``op`` names the call."""
    from . import plots

    cx = claim.get("counterexample") if isinstance(claim.get("counterexample"), dict) else {}
    args = cx.get("args") if isinstance(cx.get("args"), dict) else {}
    has_values = "expected" in cx or "got" in cx
    cmp = comparison(cx.get("expected"), cx.get("got")) if has_values else None
    diff = None
    if cmp and cmp["kind"] == "arrays" and cmp["differ"]:
        diff = plots.difference(cx.get("expected"), cx.get("got"), title="got − expected")
    diagnosis = claim.get("diagnosis") or cx.get("diagnosis")
    message = str(claim.get("message") or "")
    if diagnosis and message.endswith(f"; diagnosis: {diagnosis}"):   # shown once, in its own box
        message = message[:-len(f"; diagnosis: {diagnosis}")]
    line = cx.get("line") if isinstance(cx.get("line"), str) and not message.startswith(cx["line"]) else None
    return {"anchor": claim.get("_anchor"), "id": claim.get("id"), "status": claim.get("status"),
            "subject": claim.get("subject"), "statement": claim.get("statement"),
            "sources": sources(claim.get("source")), "method": claim.get("method"),
            "message": message, "line": line,
            "call": call_text(op, args), "inputs": inputs(args), "comparison": cmp, "diff_svg": diff,
            "diagnosis": diagnosis,
            "reproduce": reproduce_command(claim, fallback_repro),
            "snippet": cx.get("snippet") or cx.get("python"),
            "evidence": _text(claim["evidence"]) if claim.get("evidence") else None,
            "seconds": claim.get("seconds"), "examples": claim.get("examples")}


def row(claim: dict[str, Any]) -> dict[str, Any]:
    """One row of a claim table. A passing claim whose check exhibits a counterexample (a stride
    that breaks equivariance) shows it as evidence, not as a failure."""
    cx = claim.get("counterexample")
    facts = []
    if claim.get("examples") is not None:
        facts.append(f"{claim['examples']} examples")
    if isinstance(claim.get("max_error_over_bound"), (int, float)):
        facts.append(f"max error/bound {claim['max_error_over_bound']:.4g}")
    if isinstance(claim.get("seconds"), (int, float)):
        facts.append(f"{float(claim['seconds']):.2f} s")
    status = claim.get("status")
    shown_cx = {k: v for k, v in cx.items() if k not in ("reproduce", "command", "python", "snippet")} \
        if isinstance(cx, dict) else None
    return {"anchor": claim.get("_anchor"), "id": claim.get("id"), "status": status,
            "subject": claim.get("subject"), "statement": claim.get("statement"),
            "sources": sources(claim.get("source")), "method": claim.get("method"),
            "message": claim.get("message"), "facts": " · ".join(facts),
            "panel": status in ("fail", "error", "warn"),
            "exhibit": _text(shown_cx, 1500) if shown_cx and status in ("pass", "skipped") else None,
            "evidence": _text(claim["evidence"], 1500) if claim.get("evidence") else None}
