"""``cnnspec validate``: conformance of a third-party op (or, with ``--model``, a model).

Exit 0 when every claim holds, 1 when one fails (each failure printed with its shrunk
counterexample and a reproduction line), 2 for usage errors and targets that cannot be imported.
"""
from __future__ import annotations

import argparse
import sys

from .. import options
from ..errors import UsageError


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("validate", help="check a third-party conv/pool op (or model) against the spec",
                       description="Check a third-party op against every conformance claim: exact "
                                   "values on certified integer data, rigorous error bounds on float "
                                   "data, metamorphic properties, the reconstructed operator.")
    p.add_argument("target", nargs="?", help="package.module:attr or path/to/file.py:attr")
    p.add_argument("--op", choices=["conv1d", "conv2d", "max_pool2d", "avg_pool2d"])
    p.add_argument("--model", help="a model target (see --spec)")
    p.add_argument("--spec", help="architecture to validate a --model against (lenet5, resnet18, ...)")
    p.add_argument("--array", choices=["numpy", "torch"], default="numpy")
    p.add_argument("--device", default="cpu", help="cpu or cuda (with --array torch)")
    p.add_argument("--dtype", choices=["float32", "float64", "float16", "bfloat16"], default="float32")
    p.add_argument("--examples", type=options.count(options.EXAMPLES), default=None,
                   help="cases per property, 1 to 10,000 (default 40)")
    p.add_argument("--seed", type=options.seed, default=0, help="0 to 2^32-1 (default 0)")
    p.add_argument("--timeout", type=options.seconds(), default=60.0,
                   help="seconds per round trip to the target (or per model check), in (0, 86400]")
    p.add_argument("--shrink-seconds", type=options.seconds(options.SHRINK, open_low=False), default=20.0,
                   help="time to shrink each failing claim's counterexample, 0 to 3600 (default 20)")
    p.add_argument("--input-rounding", choices=["tf32", "bfloat16", "float16"],
                   help="the target rounds its inputs to this precision before multiplying (TF32 "
                        "tensor cores, autocast): the bound tier allows for it")
    p.add_argument("--report", metavar="DIR",
                   help="write the report into DIR: report.json, index.html, junit.xml, summary.md")
    p.add_argument("--quiet", action="store_true", help="print failures and the verdict only")
    return p


def run(args) -> int:
    if args.model and args.target:
        raise UsageError(f"target: {args.target!r} beside --model {args.model!r}; validate either an "
                         f"op (TARGET --op OP) or a model (--model TARGET --spec NAME), not both")
    if args.spec and not args.model:
        raise UsageError(f"--spec: {args.spec!r} applies to a model; give --model TARGET with it")
    if args.report is not None:
        options.output_folder(args.report, "--report")
    if args.model:
        from ..conformance.model import validate_model_command
        return validate_model_command(args)
    if not args.target:
        raise UsageError("target: give TARGET (package.module:attr or file.py:attr), or --model")
    if not args.op:
        raise UsageError("op: give --op conv1d|conv2d|max_pool2d|avg_pool2d")
    from ..conformance.runner import validate_op
    from ..report.output import write_report_dir

    say = None if args.quiet else (lambda line: print(line, flush=True))
    results, report = validate_op(args.target, args.op, array=args.array, device=args.device,
                                  dtype=args.dtype, examples=args.examples, seed=args.seed,
                                  timeout=args.timeout, progress=say,
                                  shrink_seconds=getattr(args, "shrink_seconds", 20.0),
                                  input_rounding=getattr(args, "input_rounding", None))
    failed = [r for r in results if r.status in ("fail", "error")]
    for r in failed:
        print(f"\nFAIL {r.id}: {r.statement}\n  {r.message}", file=sys.stderr)
        ce = r.counterexample or {}
        if ce.get("reproduce"):
            print(f"  reproduce: {ce['reproduce']}", file=sys.stderr)
        if ce.get("python"):
            print("  python:\n    " + ce["python"].replace("\n", "\n    "), file=sys.stderr)
    if args.report:
        files = write_report_dir(report, args.report)
        print(f"report: {files['index.html']} ({', '.join(sorted(files))})")
    n_pass = sum(r.status == "pass" for r in results)
    n_skip = sum(r.status == "skipped" for r in results)
    print(f"{report['verdict'].upper()}: {args.target} --op {args.op}: {n_pass} passed, "
          f"{len(failed)} failed, {n_skip} skipped ({report['seconds']:.1f} s)")
    return 1 if failed else 0
