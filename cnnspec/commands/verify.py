"""``cnnspec verify``: the main job. For now it runs what exists: the spec's proofs (``prove``)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..report.schema import build_report, dumps, environment, write_atomic
from .prove import _progress, prove


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("verify", help="the main job: run every claim and write one report")
    p.add_argument("--out", default=None, help="also write report.json into this folder")
    return p


def run(args) -> int:
    results = prove(progress=_progress)
    report = build_report("verify", results, env=environment(device="cpu", seed=0))
    out = Path(args.out) if args.out else Path("reports") / "latest"
    write_atomic(out / "report.json", dumps(report))
    for r in results:
        print(f"{r.status.upper():5s} {r.id:34s} {r.message}")
    print(f"verdict: {report['verdict']} ({len(results)} claims); report: {out / 'report.json'}")
    return 0 if report["verdict"] == "pass" else 1
