"""``cnnspec verify [--quick|--full] [--out DIR]``: the main job, every claim into one report.

Writes ``reports/<run-id>/`` (or ``--out DIR``): ``index.html``, ``report.json``, ``junit.xml``,
``summary.md``; ``reports/latest`` points at the newest run. Progress goes to stderr, the report's
path and verdict to stdout. Exit 0 when every claim holds, 1 when one fails or errors.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UsageError
from ..report.output import link_latest, write_report_dir
from ..verify import STAGE_NAMES, Progress, parse_claims, parse_stages, run_verify

DEFAULT_ROOT = Path("reports")


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("verify", help="run every claim on the embedded defaults into one report",
                       description=__doc__.split("\n\n")[0])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="mode", action="store_const", const="quick",
                      help="the default: quick training schedule, at most ~10 minutes on 2 CPU cores")
    mode.add_argument("--full", dest="mode", action="store_const", const="full",
                      help="every training recipe and more examples per property (long)")
    p.set_defaults(mode="quick")
    p.add_argument("--out", metavar="DIR", help="write the report here instead of reports/<run-id>/")
    p.add_argument("--stages", metavar="LIST",
                   help=f"comma-separated subset of the stages, in any order: {','.join(STAGE_NAMES)}")
    p.add_argument("--claims", metavar="IDS", help="only these claim ids (comma-separated; a prefix may "
                                                  "end in *), in every stage")
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto: CPU, and CUDA too when present (default)")
    p.add_argument("--data", metavar="DIR", help="Fashion-MNIST/MNIST IDX folder for training "
                                                 "(default: /usr/share/datasets/fashion-mnist)")
    p.add_argument("--quiet", action="store_true", help="no progress display on stderr")
    return p


def run(args: argparse.Namespace) -> int:
    stages = parse_stages(args.stages)
    claims = parse_claims(args.claims)
    if args.device == "cuda":
        import torch
        if not torch.cuda.is_available():
            raise UsageError("--device: 'cuda' was asked for but torch sees no CUDA device; use cpu or auto")
    if args.data is not None and not Path(args.data).is_dir():
        raise UsageError(f"--data: {args.data!r} is not a folder; give a folder of IDX files "
                         f"(train-images-idx3-ubyte[.gz] ...)")
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not out.is_dir():
        raise UsageError(f"--out: {args.out!r} exists and is not a folder; give a folder path")
    progress = None if args.quiet else Progress(stages)
    report = run_verify(stages, mode=args.mode, seed=args.seed, device=args.device, data=args.data,
                        out=out, progress=progress, claims=claims)
    if out is None:
        out = DEFAULT_ROOT / report["run_id"]
        n = 1
        while (out / "report.json").exists():  # two runs in one second get their own folders
            n += 1
            out = DEFAULT_ROOT / f"{report['run_id']}-{n}"
        report["run_id"] = out.name
        write_report_dir(report, out)
        link_latest(DEFAULT_ROOT, out)
    else:
        write_report_dir(report, out)
    if progress:
        progress.done(report["verdict"], out)
    print(f"{report['verdict']}: {out / 'index.html'}")
    return 0 if report["verdict"] == "pass" else 1
