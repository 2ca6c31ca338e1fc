"""Writing a report folder, and reading saved reports back (``cnnspec report``).

A report folder holds ``report.json`` (``docs/report-schema.md``), ``index.html``, ``junit.xml`` and
``summary.md``. Every form is rendered in memory first, so a rendering error writes nothing; then
each file is replaced atomically (:func:`~cnnspec.report.schema.write_atomic`), ``report.json``
last. A run killed at any point leaves each file either wholly old or wholly new.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import UsageError
from . import html, junit, markdown
from .schema import KINDS, dumps, remove_stale_temporaries, verdict, write_atomic
from .sections import normalize, subject_name

FILES = ("index.html", "junit.xml", "summary.md", "report.json")


def render_all(report: dict[str, Any]) -> dict[str, str]:
    """Every file of a report folder, as text, keyed by file name."""
    return {"index.html": html.render(report), "junit.xml": junit.render(report),
            "summary.md": markdown.render(report), "report.json": dumps(report)}


def write_report_dir(report: dict[str, Any], out: str | os.PathLike) -> dict[str, Path]:
    """Render ``report`` and write the four files into ``out`` (created if needed)."""
    texts = render_all(report)
    out = Path(out)
    if out.is_dir():
        remove_stale_temporaries(out)
    return {name: write_atomic(out / name, texts[name]) for name in FILES}


def link_latest(reports_root: str | os.PathLike, run_dir: str | os.PathLike) -> None:
    """Point ``reports_root/latest`` at ``run_dir`` (a relative symlink, replaced atomically)."""
    root = Path(reports_root)
    tmp = root / f".latest.{os.getpid()}.tmp"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(os.path.relpath(run_dir, root), tmp)
        os.replace(tmp, root / "latest")
    except OSError:  # a file system without symlinks: the run folder is still there
        if tmp.is_symlink():
            tmp.unlink()


def load_report(path: str | os.PathLike) -> dict[str, Any]:
    """A saved report (a ``report.json`` or a folder holding one), checked against ``docs/report-schema.md``.

    Raises :class:`UsageError` naming the file and what is wrong with it.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "report.json"
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"RESULTS: {str(path)!r} does not exist; give a report.json written by "
                         f"cnnspec validate --report, train, prove --format json or verify") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"RESULTS: cannot read {str(p)!r}: {e}") from None
    try:
        report = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"RESULTS: {str(p)!r} is not JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    if not isinstance(report, dict):
        raise UsageError(f"RESULTS: {str(p)!r} holds a JSON {type(report).__name__}, not a report object")
    missing = [k for k in ("kind", "claims") if k not in report]
    if missing:
        raise UsageError(f"RESULTS: {str(p)!r} is not a cnnspec report: field {missing[0]!r} is missing "
                         f"(docs/report-schema.md: a report has kind, verdict, claims, environment)")
    if report["kind"] not in KINDS:
        raise UsageError(f"RESULTS: {str(p)!r} has kind={report['kind']!r}, not one of {', '.join(KINDS)}")
    if not isinstance(report["claims"], list) or not all(isinstance(c, dict) and "id" in c and "status" in c
                                                         for c in report["claims"]):
        raise UsageError(f"RESULTS: {str(p)!r}: claims must be a list of objects with id and status")
    return report


def merge_reports(reports: list[dict[str, Any]], paths: list[str]) -> dict[str, Any]:
    """One report from several (validate, train, prove, verify): claims, artifacts, targets joined.

    The claims of a validate report get its target as their ``subject`` so that they land in that
    target's card on the page; the merged verdict is ``fail`` when any claim failed or errored.
    """
    if len(reports) == 1:
        return reports[0]
    claims, artifacts, targets, stages, sources = [], [], [], [], []
    for rep, path in zip(reports, paths):
        rep = normalize(rep)
        for c in rep.get("claims", []):
            claims.append({**c, "stage": c.get("stage") or rep.get("kind")})
        artifacts += rep.get("artifacts", [])
        stages += rep.get("stages", [])
        targets += rep.get("targets", [])
        sources.append({"path": str(path), "kind": rep.get("kind"), "target": rep.get("target"),
                        "verdict": rep.get("verdict")})
    base = reports[0]
    return {"cnnspec_version": base.get("cnnspec_version"), "kind": "verify", "target": None, "op": None,
            "verdict": "fail" if any(c.get("status") in ("fail", "error") for c in claims) else "pass",
            "claims": claims, "environment": base.get("environment", {}), "merged_from": sources,
            "stages": stages, "artifacts": artifacts, "targets": targets}


def verdict_of(report: dict[str, Any]) -> str:
    """The verdict recomputed from the claims (a saved verdict is not trusted over its claims)."""
    return "fail" if any(c.get("status") in ("fail", "error") for c in report.get("claims", [])) else "pass"


__all__ = ["FILES", "render_all", "write_report_dir", "link_latest", "load_report", "merge_reports",
           "normalize", "subject_name", "verdict_of", "verdict"]
