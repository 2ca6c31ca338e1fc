"""``cnnspec verify [--quick|--full] [--out DIR]``: the main job, every claim into one report.

Writes ``reports/<run-id>/`` (or ``--out DIR``): ``index.html``, ``report.json``, ``junit.xml``,
``summary.md``; ``reports/latest`` points at the newest run. Progress goes to stderr, the report's
path and verdict to stdout. Exit 0 when every claim holds (warnings allowed), 1 when one fails or
errors (or warns, with ``--strict``).
"""
from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path

import sys
import time
from typing import TextIO

from ..claims import select
from ..devices import resolve_device
from .. import options
from ..errors import UsageError
from ..report.output import link_latest, write_report_dir
from ..stages import DEFAULT_STAGES, STAGE_NAMES, TARGET_CLAIM, run_verify
from ..report.terminal import summary_lines

DEFAULT_ROOT = Path("reports")


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("verify", help="run every claim on the embedded defaults into one report",
                       description=__doc__.split("\n\n")[0].replace("``", ""))
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
    p.add_argument("--target", action="append", default=[], metavar="TARGET=OP",
                   help="also validate a third-party op in the conformance stage, e.g. "
                        "mypkg.ops:conv2d=conv2d (repeatable; see cnnspec validate)")
    p.add_argument("--array", choices=("numpy", "torch"), default="numpy",
                   help="what the --target ops take and return (default numpy)")
    p.add_argument("--targets-only", action="store_true",
                   help="in the conformance stage, validate the --target ops only (not torch's)")
    p.add_argument("--frameworks", nargs="?", const="", default=None, metavar="LIST",
                   help="add the frameworks stage: every framework x op through cnnspec's adapters at "
                        "float32 (the matrix) into this report; optionally only these frameworks "
                        "(comma-separated; default: all, the missing ones listed with their install command)")
    p.add_argument("--framework-ops", metavar="LIST",
                   help="the frameworks stage's ops (comma-separated; default: each framework's every op)")
    p.add_argument("--jobs", type=int, default=2,
                   help="worker processes at a time in the frameworks stage (default 2)")
    p.add_argument("--seed", type=options.seed, default=0,
                   help="seed of every random choice, 0 to 2^32-1 (default 0)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto: CPU, and CUDA too when present (default)")
    p.add_argument("--data", metavar="DIR", help="Fashion-MNIST/MNIST IDX folder for training "
                                                 "(default: /usr/share/datasets/fashion-mnist)")
    p.add_argument("--strict", action="store_true",
                   help="hold warnings (arguments torch rejects but a target accepts) as failures")
    p.add_argument("--quiet", action="store_true", help="no progress display on stderr")
    return p


def run(args: argparse.Namespace) -> int:
    for flag, text in (("--stages", args.stages), ("--claims", args.claims)):
        if text is not None and not [s for s in text.split(",") if s.strip()]:
            raise UsageError(f"{flag}: {text!r} names nothing; give a comma-separated list (or leave "
                             f"out {flag} for all)")
    stages = parse_stages(args.stages)
    frameworks, framework_ops = _frameworks(args)
    if (frameworks is not None or framework_ops is not None) and "frameworks" not in stages:
        stages = [n for n in STAGE_NAMES if n in stages or n == "frameworks"]
    claims = parse_claims(args.claims)
    if args.device != "auto":
        resolve_device(args.device, argument="--device")
    if args.data is not None and not Path(args.data).is_dir():
        raise UsageError(f"--data: {args.data!r} is not a folder; give a folder of IDX files "
                         f"(train-images-idx3-ubyte[.gz] ...)")
    targets = [_target(t, args.array) for t in args.target]
    if args.targets_only and not targets:
        raise UsageError("--targets-only: give at least one --target TARGET=OP")
    if targets and "conformance" not in stages:
        raise UsageError("--target: the conformance stage validates targets; add conformance to --stages")
    out = options.output_folder(args.out, "--out") if args.out is not None else _new_run_folder()
    if args.data is not None and "training" in stages:
        from ..reference import data as datasets    # a bad data set is the user's: exit 2, now
        datasets.load(args.data)
    progress = None if args.quiet else Progress(stages)
    report = run_verify(stages, mode=args.mode, seed=args.seed, device=args.device, data=args.data,
                        out=out, progress=progress, claims=claims, targets=targets,
                        targets_only=args.targets_only, strict=args.strict, frameworks=frameworks,
                        framework_ops=framework_ops, jobs=args.jobs)
    if not args.out:
        report["run_id"] = out.name
    write_report_dir(report, out)
    if not args.out:
        link_latest(DEFAULT_ROOT, out)
    print("\n".join(summary_lines(report, str(out / "index.html"))))
    return report["summary"]["exit_code"]


def parse_stages(text: str | None) -> list[str]:
    """``"spec,arch"`` → ``["spec", "arch"]`` in run order; unknown names are a usage error."""
    if not text:
        return list(DEFAULT_STAGES)
    names = [s.strip() for s in text.split(",") if s.strip()]
    bad = [n for n in names if n not in STAGE_NAMES]
    if bad or not names:
        raise UsageError(f"--stages: {bad[0] if bad else text!r} is not a stage; choose from "
                         f"{', '.join(STAGE_NAMES)} (comma-separated)")
    return [n for n in STAGE_NAMES if n in names]


def _frameworks(args: argparse.Namespace) -> tuple[list[str] | None, list[str] | None]:
    """``--frameworks [LIST]`` and ``--framework-ops LIST`` checked before any work."""
    from ..adapters.matrix import check_frameworks, check_ops
    from ..errors import argument_names

    if args.jobs < 1:
        raise UsageError(f"--jobs: {args.jobs} must be at least 1")
    names = None if args.frameworks is None else [f.strip() for f in args.frameworks.split(",") if f.strip()]
    ops = None if args.framework_ops is None else [o.strip() for o in args.framework_ops.split(",") if o.strip()]
    if args.framework_ops is not None and not ops:
        raise UsageError(f"--framework-ops: {args.framework_ops!r} names no op; give a comma-separated list")
    with argument_names(frameworks="--frameworks", ops="--framework-ops"):
        return (check_frameworks(names) if names else names), check_ops(ops)


def parse_claims(text: str | None) -> list[str] | None:
    """``"conv.flip,arch.*"`` → id patterns; each must match a registered claim (else a usage error)."""
    if not text:
        return None
    pats = [p.strip() for p in text.split(",") if p.strip()]
    try:   # the frameworks stage's claims (matrix.<framework>.<op>.<dtype>) are made, not registered
        select(ids=[p for p in pats if not TARGET_CLAIM.startswith(p.rstrip("*")) and not p.startswith("matrix.")])
    except KeyError as e:
        raise UsageError(f"--claims: {e.args[0]!r} matches no claim; give ids or prefixes ending in * "
                         f"(cnnspec prove lists the ids)") from None
    return pats



class Progress:
    """What runs and what is left, on stderr: one line per stage, sub-steps under it."""

    def __init__(self, stages: list[str], stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.names = stages
        self.t0 = time.monotonic()
        self.current = 0
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_step = 0.0

    def _clock(self) -> str:
        s = int(time.monotonic() - self.t0)
        return f"{s // 60:2d}:{s % 60:02d}"

    def _write(self, line: str, transient: bool = False) -> None:
        if self.tty:
            self.stream.write("\r\033[K" + line + ("" if transient else "\n"))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def start(self, index: int, name: str, title: str) -> None:
        self.current = index
        self._last_step = 0.0   # the first step of a stage is always shown
        left = self.names[index + 1:]
        self._write(f"[{self._clock()}] ({index + 1}/{len(self.names)}) {name}: {title}"
                    + (f" — then: {', '.join(left)}" if left else " — last stage"))

    def step(self, message: str) -> None:
        now = time.monotonic()
        if not self.tty and now - self._last_step < 2.0 and not message.endswith("done"):
            return  # a log file gets a line every two seconds at most
        self._last_step = now
        name = self.names[self.current] if self.current < len(self.names) else ""
        self._write(f"[{self._clock()}]     {name}: {message}", transient=True)

    def finish(self, name: str, status: str, counts: dict[str, int], seconds: float, reason: str = "") -> None:
        summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "no claims"
        self._write(f"[{self._clock()}]     {name}: {status} — {summary} ({seconds:.1f} s)"
                    + (f" — {reason}" if reason else ""))

    def done(self, verdict: str, out: Path | None) -> None:
        self._write(f"[{self._clock()}] verdict: {verdict.upper()}" + (f" — report: {out}" if out else ""))


def _target(text: str, array: str) -> tuple[str, str, str]:
    from ..conformance import OPS

    target, sep, op = text.rpartition("=")
    if not sep or not target or op not in OPS:
        raise UsageError(f"--target: {text!r} is not TARGET=OP with OP one of {', '.join(OPS)}; "
                         f"e.g. --target mypkg.ops:conv2d=conv2d")
    return target, op, array


def _new_run_folder() -> Path:
    """``reports/<UTC time>``; a second run in the same second gets ``-2``, ``-3`` …"""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out, n = DEFAULT_ROOT / stamp, 1
    while out.exists():
        n += 1
        out = DEFAULT_ROOT / f"{stamp}-{n}"
    return out
