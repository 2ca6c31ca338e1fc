"""``cnnspec report RESULTS.json… [--out DIR] [--strict]``: render saved results into one report.

Takes reports written by ``cnnspec validate --report``, ``train``, ``prove --format json`` and
``verify`` (a ``report.json`` or the folder holding it); several are merged into one page. Every
input is validated against the report schema before anything is drawn, and its verdict and counts
are recomputed from its claims. Writes ``index.html``, ``report.json``, ``junit.xml`` and
``summary.md`` to ``--out`` (default: the folder of the single input, or ``reports/<run-id>/`` for
several), as one swap. Exit 0 when no claim fails or errors (warnings allowed), 1 when one does (or
warns, with ``--strict``), 2 when an input cannot be read or the output cannot be written.
"""
from __future__ import annotations

import argparse
import os
from datetime import datetime, timezone
from pathlib import Path

from ..errors import UsageError
from ..report.output import (check_output_dir, link_latest, load_report, merge_reports, report_file,
                             write_report_dir)
from ..report.schema import finalize
from ..report.terminal import summary_lines

DEFAULT_ROOT = Path("reports")


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("report", help="render saved results (validate/train/prove/verify) into a report",
                       description=__doc__.split("\n\n")[0].replace("``", ""))
    p.add_argument("results", nargs="+", metavar="RESULTS.json",
                   help="report.json files (or folders holding one)")
    p.add_argument("--out", metavar="DIR", help="where to write the report (default: see above)")
    p.add_argument("--strict", action="store_true", help="warnings fail the run (exit 1)")
    p.add_argument("--quiet", action="store_true", help="print only the verdict line")
    return p


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def run(args: argparse.Namespace) -> int:
    files = [Path(os.path.realpath(report_file(p))) for p in args.results]
    for i, f in enumerate(files):
        if f in files[:i]:
            raise UsageError(f"RESULTS: {args.results[i]!r} names the same report as "
                             f"{args.results[files.index(f)]!r}; give each report once")
    if args.out:
        out = check_output_dir(args.out, "--out")
        real = Path(os.path.realpath(out))
        held = next((a for a, f in zip(args.results, files) if _inside(f, real)), None)
        if held is not None:
            raise UsageError(f"--out: {args.out!r} holds the input {held!r}; the report would replace "
                             f"its own input; give another folder")
    elif len(args.results) == 1:   # one input: rendered again in its own folder
        out = check_output_dir(files[0].parent, "RESULTS")
    else:
        out = check_output_dir(DEFAULT_ROOT / "report", "reports/")
    reports = [load_report(p) for p in args.results]
    report = merge_reports(reports, list(args.results))
    finalize(report, strict=args.strict or None)
    if not args.out and len(args.results) > 1:
        run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-report"
        report.setdefault("run_id", run_id)
        out = DEFAULT_ROOT / run_id
    write_report_dir(report, out)
    if not args.out and len(args.results) > 1:
        link_latest(DEFAULT_ROOT, out)
    where = str(Path(out) / "index.html")
    if not args.quiet:
        for line in summary_lines(report):
            print(line)
    print(f"{report['verdict']}: {where}")
    return int(report["summary"]["exit_code"])
