"""``cnnspec validate``: conformance of a third-party op (or, with ``--model``, a model).

Exit 0 when every claim holds, 1 when one fails (each failure printed with its shrunk
counterexample and a reproduction line), 2 for usage errors and targets that cannot be imported.
"""
from __future__ import annotations

import argparse

from .. import options
from ..conformance import OPS
from ..errors import UsageError
from ..report.terminal import summary_lines


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("validate", help="check a third-party conv/pool op (or model) against the spec",
                       description="Check a third-party op against every conformance claim: exact "
                                   "values on certified integer data, rigorous error bounds on float "
                                   "data, metamorphic properties, the reconstructed operator.")
    p.add_argument("target", nargs="?", help="package.module:attr or path/to/file.py:attr")
    p.add_argument("--op", choices=OPS)
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
    p.add_argument("--strict", action="store_true",
                   help="hold warnings (arguments torch rejects but the target accepts) as failures")
    p.add_argument("--claims", metavar="IDS",
                   help="only these claims (comma-separated ids; a prefix may end in *), e.g. "
                        "conformance.conv.values")
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
        return run_model(args)
    if not args.target:
        raise UsageError("target: give TARGET (package.module:attr or file.py:attr), or --model")
    if not args.op:
        raise UsageError(f"--op: give --op {'|'.join(OPS)}")
    from ..conformance.runner import claims_for, validate_op
    from ..report.output import write_report_dir

    # --claims is read against the op's claims first (a bad id: one line, nothing started);
    # without it validate_op loads the claims itself, while the target's process starts
    chosen = None if args.claims is None else _chosen_claims(args.claims, claims_for(args.op, args.array),
                                                             args.op)
    say = None if args.quiet else (lambda line: print(line, flush=True))
    results, report = validate_op(args.target, args.op, array=args.array, device=args.device,
                                  dtype=args.dtype, examples=args.examples, seed=args.seed,
                                  timeout=args.timeout, progress=say,
                                  shrink_seconds=getattr(args, "shrink_seconds", 20.0),
                                  input_rounding=getattr(args, "input_rounding", None), claims=chosen,
                                  strict=args.strict)
    path = None
    if args.report:
        files = write_report_dir(report, args.report)
        path = f"{files['index.html']} ({', '.join(sorted(files))})"
    print("\n".join(summary_lines(report, path)))
    return report["summary"]["exit_code"]


def run_model(args: argparse.Namespace) -> int:
    """``cnnspec validate --model TARGET --spec NAME``: 0 all hold, 1 a claim fails, 2 bad input.

    The factory is imported, built and checked in a child process (:mod:`cnnspec.networks.model_worker`):
    a factory that exits, crashes or hangs cannot end or hang cnnspec, and its output is captured.
    """
    from ..devices import resolve_device
    from ..networks.model_worker import run_isolated
    from ..report.output import write_report_dir
    from ..report.schema import build_report, environment
    from ..spec import architectures as A

    spec = args.spec
    if not spec:
        raise UsageError(f"--spec: give --spec NAME with --model; known: {', '.join(A.SPECS)}")
    if spec not in A.SPECS:
        raise UsageError(f"--spec: {spec!r} is not a known architecture; known: {', '.join(A.SPECS)}")
    device = resolve_device(args.device or "cpu", argument="--device")
    seed = 0 if args.seed is None else args.seed
    # A forward that fails at the spec's input is the model's defect against the spec: the checks
    # that need it fail naming the layer, the others (parameters, geometry) still run.
    results = run_isolated(args.model, spec, device, seed, args.timeout)
    report = build_report("validate-model", results, target=args.model, op=None,
                          env=environment(device, seed), spec=spec)
    print(f"cnnspec validate --model {args.model} --spec {spec}: {report['verdict']}")
    width = max((len(r.id) for r in results), default=10)
    for r in results:
        print(f"  {r.status.upper():7} {r.id.ljust(width)}  {r.message}")
    if args.report:
        files = write_report_dir(report, args.report)
        print(f"report: {files['index.html']} ({', '.join(sorted(files))})")
    return report["summary"]["exit_code"]


def _chosen_claims(text: str | None, known: list[str], op: str) -> list[str] | None:
    """``--claims`` as the ids of ``op``'s claims it selects; an id that matches none is one line."""
    from .prove import unknown_claim

    if text is None:
        return None
    pats = [p.strip() for p in text.split(",") if p.strip()]
    if not pats:
        raise UsageError(f"{text!r} names no claim; give ids such as {known[0]}", argument="--claims")
    chosen = []
    for p in pats:
        hits = [c for c in known if (c.startswith(p[:-1]) if p.endswith("*") else c == p)]
        if not hits:
            e = unknown_claim(p, known)
            raise UsageError(f"{e.detail} (claims of --op {op})", argument="--claims")
        chosen += [c for c in hits if c not in chosen]
    return chosen
