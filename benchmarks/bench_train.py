"""Time to 90% test accuracy on Fashion-MNIST: the tutorial loop against cnnspec's LeNet-5 recipe.

Both run in this one process, one after the other, on the same device with the same number of
threads, on the same data (Debian's Fashion-MNIST, normalised and padded to 32x32 the same way)
and the same network (the lecture's LeNet-5, 61,706 parameters, the same initial weights):

* tutorial: what a user writes (``benchmarks/baselines/tutorial_lenet.py``): its ``nn.Sequential``
  (NCHW, conv -> ReLU -> pool), a ``DataLoader`` over a ``TensorDataset``, batch 64, Adam at 1e-3,
  test after every epoch, stop at the target;
* cnnspec: ``reference.train.train("lenet5", recipe=..., target_acc=...)``.

``time to target`` counts from the first training step to the evaluation that first reaches the
target, evaluation time included (the baseline's ``train_s``). Also printed: the training FLOP/s
each run achieved (6 × the forward multiply-adds per image × images/s, the usual estimate of
forward + backward) as a fraction of this machine's fp32 peak *measured here* with ``torch.mm``
(best of ten 2048x2048 products before the two runs and ten after them, same threads: on a shared
machine single measurements swung from 78 to 112 GFLOP/s); name and figure of the peak are printed.
Where CUDA is available (``--device all`` or ``cuda``) it runs there too, plus ResNet-20 to 93.5%.

    python benchmarks/bench_train.py                 # CPU, torch's default threads
    python benchmarks/bench_train.py --threads 1 --json reports/bench_train.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cnnspec.reference import data as datasets, models, train as trainer  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent / "baselines"))
import tutorial_lenet as tutorial_baseline  # noqa: E402 - the baseline's own model, in this repository


def forward_macs(model: nn.Module, x: torch.Tensor) -> int:
    """Multiply-adds of one forward pass of one image (convolutions and linear layers)."""
    total = 0

    def hook(m, inp, out):
        nonlocal total
        if isinstance(m, nn.Conv2d):
            total += out[0].numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            total += m.in_features * m.out_features

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(x[:1])
    for h in hs:
        h.remove()
    return total


def mm_peak(device: torch.device, n: int = 2048, reps: int = 10) -> float:
    """fp32 FLOP/s of torch.mm on n x n matrices: the best of ``reps`` timed products."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.mm(a, b)
    sync()
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        torch.mm(a, b)
        sync()
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best


def tutorial_lenet() -> nn.Module:
    """The baseline's own model (``baselines/tutorial_lenet.py``): NCHW, conv -> ReLU -> pool (the
    reference LeNet5 pools before the ReLU, bit-identical and cheaper; the baseline keeps the
    lecture's order). Same layers in the same order as ``reference.lenet.LeNet5``, so a seed gives
    the same init."""
    return tutorial_baseline.model()


def tutorial(d: datasets.DeviceData, device: torch.device, target: float, seed: int,
             max_epochs: int) -> dict:
    """The baseline loop: DataLoader(TensorDataset), batch 64, Adam 1e-3, test every epoch."""
    torch.manual_seed(seed)
    model = tutorial_lenet().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xtr, ytr, xte, yte = d.train_x.cpu(), d.train_y.cpu(), d.test_x.cpu(), d.test_y.cpu()
    train = DataLoader(TensorDataset(xtr, ytr), batch_size=64, shuffle=True)
    test = DataLoader(TensorDataset(xte, yte), batch_size=1000)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    history, seen, train_s = [], 0, 0.0
    t0 = time.perf_counter()
    for epoch in range(1, max_epochs + 1):
        tick = time.perf_counter()
        model.train()
        for x, y in train:
            x, y = x.to(device), y.to(device)
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
            seen += len(y)
        sync()
        train_s += time.perf_counter() - tick
        model.eval()
        with torch.no_grad():
            acc = sum((model(x.to(device)).argmax(1) == y.to(device)).sum().item() for x, y in test) / len(yte)
        history.append({"epoch": epoch, "elapsed_s": round(time.perf_counter() - t0, 3), "test_acc": acc})
        print(f"  tutorial epoch {epoch}: test acc {acc:.4f} at {history[-1]['elapsed_s']:.1f} s",
              file=sys.stderr, flush=True)
        if acc >= target:
            break
    reached = next((h for h in history if h["test_acc"] >= target), None)
    return {"time_to_target_s": reached["elapsed_s"] if reached else None,
            "epochs": history[-1]["epoch"], "test_acc": history[-1]["test_acc"],
            "images_per_s": seen / train_s, "history": history}


def run_on(device: torch.device, args) -> dict:
    ds = datasets.load(args.data)
    d = datasets.to_device(ds, device, pad_to=32)
    macs = forward_macs(models.build("lenet5").to(device), d.test_x)
    peak_before = mm_peak(device)
    print(f"[{device}] threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f}; "
          f"fp32 peak before (torch.mm 2048^2): {peak_before / 1e9:.1f} GFLOP/s", file=sys.stderr, flush=True)
    mine = trainer.train("lenet5", data=args.data, recipe=args.recipe, device=str(device),
                         seed=args.seed, progress=False, target_acc=args.target)
    print(f"  cnnspec {args.recipe}: {mine['time_to_target_s']} s to {args.target:.2%} "
          f"(epoch {mine['epoch_to_target']})", file=sys.stderr, flush=True)
    base = tutorial(d, device, args.target, args.seed, args.max_epochs)
    peak_after = mm_peak(device)
    peak = max(peak_before, peak_after)
    res = {"device": str(device), "device_name": mine["device_name"], "threads": torch.get_num_threads(),
           "load_average_1min_end": round(os.getloadavg()[0], 2), "target": args.target,
           "peak_flops": peak, "peak_before_flops": peak_before, "peak_after_flops": peak_after,
           "peak_source": "torch.mm fp32 2048x2048, best of 10 before and 10 after the runs, in this run",
           "train_flops_per_image": 6 * macs, "tutorial": base,
           "cnnspec": {k: mine[k] for k in ("time_to_target_s", "epoch_to_target", "test_acc",
                                            "images_per_s", "history")} | {"recipe": args.recipe}}
    for k in ("tutorial", "cnnspec"):
        r = res[k]
        r["flops_per_s"] = 6 * macs * r["images_per_s"]
        r["fraction_of_peak"] = r["flops_per_s"] / peak
    a, b = base["time_to_target_s"], mine["time_to_target_s"]
    res["speedup"] = a / b if a and b else None
    if device.type == "cuda" and args.resnet:
        r20 = trainer.train("resnet20", data=args.data, recipe="resnet20", device="cuda",
                            seed=args.seed, progress=False, target_acc=0.935)
        res["resnet20"] = {k: r20[k] for k in ("time_to_target_s", "epoch_to_target", "test_acc",
                                               "images_per_s")}
    return res


def report(res: dict) -> str:
    t, c = res["tutorial"], res["cnnspec"]
    fmt = lambda v: f"{v:.1f} s" if v is not None else "not reached"  # noqa: E731
    lines = [
        f"device {res['device']} ({res['device_name']}), {res['threads']} threads, "
        f"load average at the end {res['load_average_1min_end']}",
        f"time to {res['target']:.1%} test accuracy: tutorial {fmt(t['time_to_target_s'])} "
        f"({t['epochs']} epochs, batch 64, Adam 1e-3)  |  cnnspec {c['recipe']} "
        f"{fmt(c['time_to_target_s'])} (epoch {c['epoch_to_target']})",
        f"speed-up: {res['speedup']:.2f}x" if res["speedup"] else "speed-up: n/a",
        f"training FLOP/s (6 x {res['train_flops_per_image'] // 6:,} MACs/image): tutorial "
        f"{t['flops_per_s'] / 1e9:.2f} GFLOP/s = {t['fraction_of_peak']:.1%}, cnnspec "
        f"{c['flops_per_s'] / 1e9:.2f} GFLOP/s = {c['fraction_of_peak']:.1%} of the peak "
        f"{res['peak_flops'] / 1e9:.1f} GFLOP/s ({res['peak_source']})",
    ]
    if "resnet20" in res:
        r = res["resnet20"]
        lines.append(f"ResNet-20 to 93.5%: {fmt(r['time_to_target_s'])} (epoch {r['epoch_to_target']}, "
                     f"final {r['test_acc']:.4f})")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=None, help="MNIST-format folder (default: Fashion-MNIST)")
    p.add_argument("--recipe", default=trainer.QUICK_RECIPE)
    p.add_argument("--target", type=float, default=0.90)
    p.add_argument("--threads", type=int, default=None, help="torch threads for both (default: torch's)")
    p.add_argument("--device", choices=("cpu", "cuda", "all"), default="all",
                   help="all: the CPU, and CUDA where available")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-epochs", type=int, default=30)
    p.add_argument("--no-resnet", dest="resnet", action="store_false", help="skip ResNet-20 on CUDA")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] if args.device in ("cpu", "all") else []
    if args.device in ("cuda", "all") and torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    elif args.device == "cuda":
        print("bench_train: no CUDA device here", file=sys.stderr)
        return 2
    results = []
    for dev in devices:
        res = run_on(dev, args)
        results.append(res)
        print(report(res), flush=True)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
