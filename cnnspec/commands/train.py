"""Train a reference model on MNIST-format data, then verify the trained network (`cnnspec train`).

Writes to ``--out`` (default ``reports/train/MODEL-seedS``): ``checkpoint.pt`` every epoch (a
rerun with the same ``--out`` resumes), ``model.pt`` (the final ``state_dict``), ``metrics.json``
(recipe, code hash, history, accuracy, time to target, images/s) and ``report.json`` (``docs/report-schema.md``,
kind ``train``: the post-training claims and whether the recipe reached its target).
Exit codes: 0 every check holds, 1 a check failed, 2 bad input.
"""
from __future__ import annotations

import argparse
import json
import sys

from .. import options
from ..errors import UsageError

MODELS = ("lenet5", "lenet5-1998", "resnet20", "plain20", "resnet56", "plain56")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "train", help="train a reference model (LeNet-5, ResNet/plain-20/56) and verify it",
        description=__doc__.split("\n\n")[0])
    p.add_argument("model", choices=MODELS, metavar="MODEL", help="one of: " + ", ".join(MODELS))
    p.add_argument("--data", metavar="DIR", help="an MNIST-format folder (IDX files, gz or raw); "
                   "default /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist)")
    p.add_argument("--epochs", type=options.count(options.EPOCHS), metavar="N",
                   help="override the recipe's epochs (1 to 10,000)")
    p.add_argument("--recipe", help="a recipe of reference.train.RECIPES (default: the model's own)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--seed", type=options.seed, default=0, metavar="S", help="0 to 2^32-1")
    p.add_argument("--out", metavar="DIR", help="default reports/train/MODEL-seedS")
    p.add_argument("--target-acc", type=float, metavar="F",
                   help="stop when the test accuracy reaches F (e.g. 0.90)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--no-verify", action="store_true", help="skip the post-training claims")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def run(args: argparse.Namespace) -> int:
    from ..reference import train as trainer  # the command layer may import reference/

    from ..claims import ClaimResult
    from ..report.schema import build_report, dumps, environment, write_atomic

    out = options.output_folder(args.out if args.out is not None else
                                f"reports/train/{args.model}-seed{args.seed}", "--out")
    if args.recipe is not None and args.recipe not in trainer.RECIPES:
        raise UsageError(f"--recipe {args.recipe!r}: not one of {', '.join(trainer.RECIPES)}")
    if args.target_acc is not None and not 0 < args.target_acc <= 1:
        raise UsageError(f"--target-acc {args.target_acc}: must be a fraction in (0, 1]")
    m = trainer.train(args.model, data=args.data, epochs=args.epochs, recipe=args.recipe,
                      device=args.device, seed=args.seed, out=str(out), progress=not args.quiet,
                      target_acc=args.target_acc, compile=args.compile, return_model=True)
    module, dd = m.pop("module"), m.pop("device_data")
    from ..networks.training import target_accuracy_claim

    results: list[ClaimResult] = [target_accuracy_claim(
        m, epochs=args.epochs, target_acc=args.target_acc,
        recipe_epochs=trainer.RECIPES[m["recipe"]["name"]]["epochs"])]
    if not args.no_verify:
        from ..networks.trained_claims import verify_trained

        results += verify_trained(args.model, module, dd, m["device"], seed=args.seed)
    report = build_report("train", results, target=f"reference:{args.model}",
                          env=environment(m["device"], args.seed, device_name=m["device_name"],
                                          threads=m["threads"]), metrics=m)
    write_atomic(out / "report.json", dumps(report))
    for r in results:
        print(f"{r.status.upper():7} {r.id}: {r.message}")
    tt = m["time_to_target_s"]
    print(json.dumps({"model": args.model, "recipe": m["recipe"]["name"], "test_acc": m["test_acc"],
                      "target_acc": m["target_acc"], "time_to_target_s": tt,
                      "elapsed_s": m["elapsed_s"], "images_per_s": m["images_per_s"],
                      "device": m["device"], "out": str(out)}))
    sys.stdout.flush()
    return 1 if report["verdict"] == "fail" else 0
