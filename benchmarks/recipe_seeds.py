"""Accuracy of a training recipe over several seeds: the figures of reference/README.md's table.

Runs ``reference.train.train(model, recipe=R, seed=s)`` for every seed, one after the other in
this process (same device, same threads), and prints for each seed the final test accuracy, when
the recipe's target was first reached (epoch and seconds since the first training step, evaluation
included) and the whole run's wall time; then the mean ± sample standard deviation of the final
accuracy over the seeds, and how many reached the target.

    python benchmarks/recipe_seeds.py lenet5 --seeds 0 1 2
    python benchmarks/recipe_seeds.py lenet5-1998 --seeds 0 1 2 --json reports/seeds-1998.json
    python benchmarks/recipe_seeds.py lenet5 --recipe lenet5-quick --seeds 0 1 2 3 4
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cnnspec.reference import train as trainer  # noqa: E402


def summarise(runs: list[dict]) -> dict:
    """Mean ± sample std of the final accuracy, and how many runs reached their target."""
    accs = [r["test_acc"] for r in runs]
    return {"mean": statistics.fmean(accs), "std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
            "reached": sum(r["time_to_target_s"] is not None for r in runs), "runs": len(runs)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", choices=trainer.MODELS)
    p.add_argument("--recipe", help="default: the model's own recipe")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--data", help="MNIST-format folder (default: Fashion-MNIST)")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    p.add_argument("--json", help="also write every run's metrics and the summary here")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    recipe = a.recipe or trainer.DEFAULT_RECIPE[a.model]
    runs = []
    for seed in a.seeds:
        t = time.perf_counter()
        try:
            m = trainer.train(a.model, recipe=recipe, seed=seed, data=a.data, device=a.device, progress=False)
        except trainer.UsageError as e:
            print(f"recipe_seeds: error: {e}", file=sys.stderr)
            return 2
        m["wall_s"] = round(time.perf_counter() - t, 1)
        runs.append(m)
        hit = (f"{m['target_acc']:.1%} first at epoch {m['epoch_to_target']} ({m['time_to_target_s']:.1f} s)"
               if m["time_to_target_s"] is not None else f"{m['target_acc']:.1%} not reached")
        print(f"{a.model} {recipe} seed {seed}: test accuracy {m['test_acc']:.2%}; {hit}; "
              f"{m['images_per_s']:,.0f} img/s; whole run {m['wall_s']:.0f} s "
              f"(load average {os.getloadavg()[0]:.2f})", flush=True)
    s = summarise(runs)
    print(f"{a.model} {recipe}: {s['mean']:.2%} ± {s['std']:.2%} over seeds {a.seeds} "
          f"(sample std); target reached by {s['reached']} of {s['runs']}; "
          f"{runs[0]['device_name']}, {torch.get_num_threads()} threads", flush=True)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps({"model": a.model, "recipe": recipe, "seeds": a.seeds,
                                            "summary": s, "runs": runs}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
