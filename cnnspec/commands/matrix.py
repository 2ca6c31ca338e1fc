"""``cnnspec matrix [FRAMEWORK...]``: every framework × op × dtype through cnnspec's adapters.

One worker process per framework and dtype (:func:`cnnspec.adapters.matrix_cells.run_framework`),
``--jobs`` of them at a time. Writes ``matrix.json``, ``index.html`` and ``summary.md`` into
``--out`` as one swap. Exit 0 when no cell fails, 1 when one does, 2 for usage errors.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .. import options
from ..errors import UsageError

LABELS = {"pass": ("pass", "pass"), "not-bit-exact-within-bound": ("not bit-exact, within bound", "inexact"),
          "fail": ("fail", "fail"), "skipped": ("skipped", "skipped")}


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("matrix", help="every installed framework x op x dtype through cnnspec's adapters",
                       description=__doc__.split("\n\n")[0].replace("``", ""))
    p.add_argument("frameworks", nargs="*", metavar="FRAMEWORK",
                   help="jax, onnxruntime, tensorflow, tinygrad, torch (default: all)")
    p.add_argument("--ops", metavar="LIST", help="comma-separated ops (default: each framework's ops)")
    p.add_argument("--dtypes", metavar="LIST", default="float32", help="comma-separated (default float32)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                   help="worker processes at a time (default: 2, or the cores if fewer)")
    p.add_argument("--out", metavar="DIR", default="reports/matrix", help="default reports/matrix")
    return p


def _parse(args) -> tuple[list[str], list[str] | None, list[str]]:
    from .. import adapters
    from ..adapters.matrix_cells import DTYPES

    frameworks = args.frameworks or list(adapters.FRAMEWORKS)
    for f in frameworks:
        if f not in adapters.FRAMEWORKS:
            have = [n for n, a in adapters.available().items() if a.installed]
            raise UsageError(f"{f!r} is not one of {', '.join(adapters.FRAMEWORKS)} "
                             f"(installed: {', '.join(have) or 'none'})", argument="FRAMEWORK")
    ops = None
    if args.ops is not None:
        ops = [o.strip() for o in args.ops.split(",") if o.strip()]
        bad = [o for o in ops if o not in adapters.CONVENTION_OPS]
        if bad or not ops:
            raise UsageError(f"{(bad or [args.ops])[0]!r} is not an op of the calling convention "
                             f"({', '.join(adapters.CONVENTION_OPS)})", argument="--ops")
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    bad = [d for d in dtypes if d not in DTYPES]
    if bad or not dtypes:
        raise UsageError(f"{(bad or [args.dtypes])[0]!r} is not one of {', '.join(DTYPES)}", argument="--dtypes")
    if args.jobs < 1:
        raise UsageError(f"{args.jobs} must be at least 1", argument="--jobs")
    return frameworks, ops, dtypes


def run(args: argparse.Namespace) -> int:
    from .. import adapters
    from ..adapters.matrix_cells import run_framework
    from ..report.output import write_folder

    frameworks, ops, dtypes = _parse(args)
    out = options.output_folder(args.out, "--out")    # before the work
    avail = adapters.available()
    jobs = [(f, d) for f in frameworks for d in dtypes]
    t0 = time.perf_counter()

    def one(job):
        f, d = job
        wanted = None if ops is None else [o for o in ops if o in adapters.FRAMEWORKS[f].ops] + \
            [o for o in ops if o not in adapters.FRAMEWORKS[f].ops]
        print(f"matrix: {f} ({d}) ...", flush=True)
        return run_framework(f, wanted, device=args.device, dtype=d)

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:   # each job is a child process
        cells = [c for batch in pool.map(one, jobs) for c in batch]
    seconds = time.perf_counter() - t0
    doc = {"frameworks": [{"name": f, "version": avail[f].version, "installed": avail[f].installed,
                           "install": avail[f].install, "device": args.device} for f in frameworks],
           "dtypes": dtypes, "device": args.device, "seconds": round(seconds, 2), "cells": cells}
    texts = {"matrix.json": json.dumps(doc, indent=1, default=str) + "\n", "index.html": _html(doc),
             "summary.md": _markdown(doc)}
    files = write_folder(texts, out)
    n = _counts(cells)
    print(f"matrix: {n} in {seconds:.1f} s -> {files['index.html']}")
    for c in cells:
        if c["status"] == "fail":
            print(f"FAILED {c['framework']} {c['op']} {c['dtype']}: {c.get('diagnosis') or ''}"[:300])
    return 1 if any(c["status"] == "fail" for c in cells) else 0


def _counts(cells) -> str:
    from collections import Counter

    n = Counter(c["status"] for c in cells)
    return ", ".join(f"{n[k]} {LABELS[k][0]}" for k in LABELS if n[k]) or "no cells"


def _ops(doc) -> list[str]:
    seen: dict[str, None] = {}
    for c in doc["cells"]:
        seen.setdefault(c["op"], None)
    return list(seen)


def _html(doc) -> str:
    import jinja2

    from ..report.html import TEMPLATES

    cells = {}
    for c in doc["cells"]:
        label, css = LABELS.get(c["status"], (c["status"], "fail"))
        note = c.get("diagnosis") or c.get("reason") or ""
        cells[(c["framework"], c["op"], c["dtype"])] = {
            "label": label, "css": css, "note": note[:240], "title": f"{c['framework']} {c['op']} "
            f"{c['dtype']}: {label} ({c.get('seconds') or 0:.2f} s)"}
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True)
    css = (Path(TEMPLATES) / "style.css").read_text(encoding="utf-8")
    return env.get_template("matrix.html.j2").render(
        css=css, counts=_counts(doc["cells"]), dtypes=doc["dtypes"], device=doc["device"],
        seconds=doc["seconds"], ops=_ops(doc), frameworks=doc["frameworks"], cells=cells)


def _markdown(doc) -> str:
    rows = ["| framework | dtype | " + " | ".join(_ops(doc)) + " |",
            "|---|---|" + "---|" * len(_ops(doc))]
    by = {(c["framework"], c["op"], c["dtype"]): c for c in doc["cells"]}
    for f in doc["frameworks"]:
        for d in doc["dtypes"]:
            cells = [by.get((f["name"], op, d)) for op in _ops(doc)]
            rows.append(f"| {f['name']} {f['version'] or '(not installed)'} | {d} | " + " | ".join(
                "—" if c is None else LABELS.get(c["status"], (c["status"],))[0] for c in cells) + " |")
    fails = [c for c in doc["cells"] if c["status"] == "fail"]
    lines = ["# cnnspec matrix", "", f"{_counts(doc['cells'])} in {doc['seconds']} s", "", *rows]
    if fails:
        lines += ["", "## Failing cells", ""] + [f"- **{c['framework']} {c['op']} {c['dtype']}**: "
                                                  f"{(c.get('diagnosis') or '').replace('|', '/')}" for c in fails]
    return "\n".join(lines) + "\n"
