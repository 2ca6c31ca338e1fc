"""``cnnspec report RESULTS.json… [--out DIR]``: render saved results into one report page.

Takes reports written by ``cnnspec validate --report``, ``train``, ``prove --format json`` and
``verify`` (a ``report.json`` or the folder holding it); several are merged into one page. Writes
``index.html``, ``report.json``, ``junit.xml`` and ``summary.md`` to ``--out`` (default: the folder
of the single input, or ``reports/<run-id>/`` for several). Exit 0 when every claim holds, 1 when
one fails or errors, 2 when an input cannot be read.
"""
from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path

from ..errors import UsageError
from ..report.output import link_latest, load_report, merge_reports, verdict_of, write_report_dir

DEFAULT_ROOT = Path("reports")


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("report", help="render saved results (validate/train/prove/verify) into a report",
                       description=__doc__.split("\n\n")[0].replace("``", ""))
    p.add_argument("results", nargs="+", metavar="RESULTS.json",
                   help="report.json files (or folders holding one)")
    p.add_argument("--out", metavar="DIR", help="where to write the report (default: see above)")
    return p


def run(args: argparse.Namespace) -> int:
    reports = [load_report(p) for p in args.results]
    report = merge_reports(reports, list(args.results))
    report["verdict"] = verdict_of(report)
    if args.out:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out: {args.out!r} exists and is not a folder; give a folder path")
    elif len(args.results) == 1:
        src = Path(args.results[0])
        out = src if src.is_dir() else src.parent
    else:
        run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-report"
        report.setdefault("run_id", run_id)
        out = DEFAULT_ROOT / run_id
    write_report_dir(report, out)
    if not args.out and len(args.results) > 1:
        link_latest(DEFAULT_ROOT, out)
    print(f"{report['verdict']}: {out / 'index.html'}")
    return 0 if report["verdict"] == "pass" else 1
