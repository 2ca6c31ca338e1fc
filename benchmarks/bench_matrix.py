"""``cnnspec matrix`` end to end: every installed framework × op at float32, ``--jobs 1`` and
``--jobs 2`` side by side, against the budget of three minutes and against the previous run.

    python benchmarks/bench_matrix.py [--repeat 1] [--jobs 1,2] [--frameworks jax,torch] [--budget 180]

Each run is the real command (``python -m cnnspec matrix --out TMP``) in a child process, the
repeats interleaved (jobs 1, jobs 2, jobs 1, ...) so that the load of a shared machine falls on
both alike. Printed: per run the wall time, the matrix's own ``seconds`` and the per-framework
worker seconds (``matrix.json``'s ``timings``, a split framework's parts summed); then per ``--jobs`` the median and spread, the
median against ``--budget`` and against the median of the previous run of this script, which is
kept in ``benchmarks/results/bench_matrix.json`` (overwritten at the end; ``--no-save`` keeps
it). The load average is printed before and after: on a shared 2-core machine compare ratios.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
RESULTS = ROOT / "benchmarks" / "results" / "bench_matrix.json"


def one_run(jobs: int, frameworks: list[str]) -> dict:
    """``cnnspec matrix --jobs N`` once: wall seconds, the matrix's seconds and timings, the counts."""
    with tempfile.TemporaryDirectory(prefix="bench-matrix-") as d:
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "cnnspec", "matrix", *frameworks, "--jobs", str(jobs),
                            "--out", str(Path(d) / "m")], cwd=ROOT, env=ENV, capture_output=True, text=True)
        wall = time.perf_counter() - t
        if r.returncode not in (0, 1):
            raise SystemExit(f"cnnspec matrix failed (exit {r.returncode}): {r.stderr.strip()[-500:]}")
        doc = json.loads((Path(d) / "m" / "matrix.json").read_text())
    return {"jobs": jobs, "wall_s": round(wall, 2), "seconds": doc["seconds"], "timings": doc["timings"],
            "cells": len(doc["cells"]), "statuses": sorted({c["status"] for c in doc["cells"]})}


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--jobs", default="1,2", help="comma-separated --jobs values (default 1,2)")
    p.add_argument("--frameworks", default="", help="comma-separated (default: all installed)")
    p.add_argument("--budget", type=float, default=180.0, help="seconds (default 180)")
    p.add_argument("--no-save", action="store_true")
    a = p.parse_args(argv)
    jobs = [int(j) for j in a.jobs.split(",") if j.strip()]
    frameworks = [f for f in a.frameworks.split(",") if f.strip()]
    print(f"load average before: {load()}")
    runs: dict[int, list[dict]] = {j: [] for j in jobs}
    for i in range(a.repeat):
        for j in jobs:   # interleaved
            r = one_run(j, frameworks)
            runs[j].append(r)
            fw: dict[str, float] = {}
            for k, v in r["timings"].items():   # a split framework's parts summed (worker seconds)
                fw[k.split("/")[0]] = fw.get(k.split("/")[0], 0.0) + v
            per = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(fw.items(), key=lambda kv: -kv[1]))
            print(f"run {i + 1} --jobs {j}: {r['wall_s']:.1f} s end to end, matrix {r['seconds']:.1f} s, "
                  f"{r['cells']} cells; workers: {per}")
    print(f"load average after: {load()}")
    previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    summary = {}
    for j, rs in runs.items():
        walls = [r["wall_s"] for r in rs]
        med = statistics.median(walls)
        spread = f"{min(walls):.1f}-{max(walls):.1f} s" if len(walls) > 1 else "one run"
        before = (previous.get("median_wall_s") or {}).get(str(j))
        vs = f"; previous run {before:.1f} s, ratio {med / before:.2f}" if before else "; no previous run"
        print(f"--jobs {j}: median {med:.1f} s ({spread}) = {med / a.budget:.2f} of the {a.budget:.0f} s budget"
              f" ({'within' if med <= a.budget else 'OVER'}){vs}")
        summary[str(j)] = med
    if len(jobs) > 1 and all(summary.values()):
        base = summary[str(jobs[0])]
        print("ratios against --jobs " + str(jobs[0]) + ": " +
              ", ".join(f"--jobs {j}: {summary[str(j)] / base:.2f}" for j in jobs[1:]))
    if not a.no_save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({"median_wall_s": summary, "load_after": load(),
                                       "runs": {str(j): rs for j, rs in runs.items()}}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
