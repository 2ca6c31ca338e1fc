"""``cnnspec matrix [FRAMEWORK...]``: every framework × op × dtype through cnnspec's adapters.

One worker process per framework and dtype, ``--jobs`` of them at a time
(:func:`cnnspec.adapters.matrix.run_matrix`); ``--confirm`` then runs every divergence's native
snippet alone. Writes ``matrix.json``, ``index.html`` and ``summary.md`` into ``--out`` as one swap.
Exit 0 when no cell fails, 1 when one does, 2 for usage errors.
"""
from __future__ import annotations

import argparse
import json
import os

from .. import options
from ..errors import UsageError, argument_names


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
    p.add_argument("--confirm", action="store_true",
                   help="run each diverging case's native snippet alone (python3 snippet.py in an empty "
                        "folder) and record whether it reproduces")
    p.add_argument("--out", metavar="DIR", default="reports/matrix", help="default reports/matrix")
    return p


def split(text: str | None) -> list[str] | None:
    """``"a, b,"`` -> ``["a", "b"]``; ``None`` stays ``None``."""
    return None if text is None else [s.strip() for s in text.split(",") if s.strip()]


def run(args: argparse.Namespace) -> int:
    from ..adapters.matrix import confirm, run_matrix
    from ..report import matrix as view
    from ..report.output import write_folder

    if args.jobs < 1:
        raise UsageError(f"{args.jobs} must be at least 1", argument="--jobs")
    if not split(args.dtypes):
        raise UsageError(f"{args.dtypes!r} names no dtype", argument="--dtypes")
    if args.ops is not None and not split(args.ops):
        raise UsageError(f"{args.ops!r} names no op", argument="--ops")
    with argument_names(frameworks="FRAMEWORK", ops="--ops", dtypes="--dtypes", jobs="--jobs"):
        from ..adapters.matrix import check_frameworks, check_ops
        from ..adapters.matrix_cells import DTYPES
        check_frameworks(args.frameworks)
        check_ops(split(args.ops))
        bad = [d for d in split(args.dtypes) if d not in DTYPES]
        if bad:
            raise UsageError(f"{bad[0]!r} is not one of {', '.join(DTYPES)}", argument="dtypes")
        out = options.output_folder(args.out, "--out")    # before the work
        doc = run_matrix(args.frameworks, split(args.ops), split(args.dtypes), device=args.device,
                         jobs=args.jobs, progress=lambda msg: print(f"matrix: {msg}", flush=True))
    if args.confirm:
        confirm(doc, jobs=args.jobs, progress=lambda msg: print(f"confirm: {msg}", flush=True))
    texts = {"matrix.json": json.dumps(doc, indent=1, default=str) + "\n", "index.html": view.html(doc),
             "summary.md": view.markdown(doc)}
    files = write_folder(texts, out)
    print(f"matrix: {view.counts(doc['cells'])} in {doc['seconds']:.1f} s -> {files['index.html']}")
    for c in doc["cells"]:
        if c["status"] == "fail":
            seen = view.confirmation(c)
            print(f"FAILED {c['framework']} {c['op']} {c['dtype']}: {c.get('diagnosis') or ''}"[:300]
                  + (f" [native snippet: {seen}]" if seen else ""))
    return 1 if any(c["status"] == "fail" for c in doc["cells"]) else 0
