"""Train the reference models (LeNet-5, ResNet/plain-20/56) on MNIST-format data, fast and readably.

Hardware, wall times and accuracies of every recipe are in ``reference/README.md``; run one with
``cnnspec train lenet5`` or ``python -m reference.train lenet5 [--recipe NAME]``.

How it is fast (after airbench and the MNIST speed runs): the whole data set lives on the device
as one tensor (no DataLoader), augmentation (random translation; mirroring only where a recipe
asks and the data allows) is one vectorised gather per epoch, and a one-cycle schedule with label
smoothing reaches the target in about half the epochs of constant-rate Adam. Tensors and
weights are channels_last (NHWC) on every device; on CUDA the steps run under bf16 autocast.
``compile=True`` adds torch.compile (on this 2-core CPU it is slower: 7-8k against 11k images/s for
LeNet-5 at batch 512, after 28 s of compiling).

Reproducible: on the CPU a seed fixes the result bit for bit. The shuffling and the shifts of epoch
``e`` come from a generator seeded with ``(seed, e)``, so a run resumed from the checkpoint of epoch
``e`` (written atomically at the end of every epoch) ends with the same weights as one that was
never interrupted (tests/test_train.py checks it).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from cnnspec import devices
from cnnspec.errors import UsageError
from cnnspec.report.schema import remove_stale_temporaries, write_atomic
from .shifts import random_shifts, translate

from . import data as datasets

# --- recipes: every hyperparameter of a run, with its unit -----------------------------------------
_LENET = dict(
    epochs=14,              # passes over the training set
    batch_size=128,         # images per step
    optimizer="adam",       # "adam": AdamW; "sgd": SGD with Nesterov momentum
    lr=3e-3,                # peak learning rate
    momentum=0.9,           # SGD momentum, or Adam's beta1
    weight_decay=0.0,       # decoupled (AdamW) or L2 (SGD)
    warmup=0.15,            # fraction of all steps with a linear ramp 0 → lr; then linear decay to 0
    label_smoothing=0.1,
    shift=1,                # random translation by up to ±1 pixel per axis (fill: black)
    mirror=False,           # random horizontal flips where the data allows (clothes, not digits);
                            # off: Fashion-MNIST's shoes all face left, flips slowed LeNet-5 down
    tta=False,              # test accuracy from the logits of the image plus its mirror image
    eval_every=1.0,         # epochs between test evaluations
    pad_to=32,              # LeNet-5 reads 32x32 (LeCun et al. 1998, §II-A)
    train_subset=None,      # use only the first N training images (None: all)
    test_subset=None,       # evaluate on the first N test images only (None: all 10,000)
    target=0.91,            # the accuracy the recipe is meant to reach (README)
    gpu=False,              # True: a GPU recipe (hours on 2 CPU cores); `cnnspec verify` may skip it
)
RECIPES: dict[str, dict[str, Any]] = {
    # The lecture's LeNet-5 to ≥ 91% on Fashion-MNIST.
    "lenet5": dict(_LENET, model="lenet5"),
    # The default of `cnnspec verify` and the benchmark's: ≥ 90% in 4 epochs, no augmentation, a
    # higher peak rate and a test every half epoch (90% first at epoch 3.5 or 4: reference/README.md).
    "lenet5-quick": dict(_LENET, model="lenet5", epochs=4, lr=4e-3, shift=0, eval_every=0.5,
                         target=0.90),
    # LeNet-5 as published (C3 connection table, scaled tanh, trainable subsampling, RBF output).
    "lenet5-1998": dict(_LENET, model="lenet5-1998", lr=5e-3, epochs=16, shift=0, target=0.90),
    # He et al. 2016 §4.2 (CIFAR-10: SGD 0.1, momentum 0.9, batch 128, wd 1e-4 → here 5e-4 and a
    # one-cycle schedule), on 1-channel 28x28 data: the GPU recipe (unverified here: no GPU).
    "resnet20": dict(_LENET, model="resnet20", epochs=40, optimizer="sgd", lr=0.1, weight_decay=5e-4,
                     warmup=0.05, shift=2, mirror=True, tta=True, pad_to=None, target=0.935, gpu=True),
}
# The shorter CPU schedule of ResNet-20, and the degradation experiment at reduced scale (CPU).
RECIPES["resnet20-cpu"] = dict(RECIPES["resnet20"], epochs=2, train_subset=5000, test_subset=2000,
                               target=None, gpu=False)
for _m in ("plain20", "resnet56", "plain56"):
    RECIPES[_m] = dict(RECIPES["resnet20"], model=_m)
# He et al. 2016 Fig. 6 at reduced scale: 3,000 images, 8 epochs of batch 64 (376 steps) at 0.05
# (their 0.1 at batch 128, scaled linearly), a linear warm-up over the first 20% of the steps (their
# §4.2 warms ResNet-110 up at 0.01: a 56-layer net at 0.1 from the first step did not train in 47
# steps, measured), weight decay 1e-4 as theirs, no augmentation. About 10 minutes for the four nets
# on 2 CPU cores (reference/README.md has the curves).
RECIPES["degradation-cpu"] = dict(RECIPES["resnet20"], model=None, epochs=8, batch_size=64, lr=0.05,
                                  warmup=0.2, train_subset=3000, test_subset=1000, mirror=False,
                                  tta=False, label_smoothing=0.0, shift=0, weight_decay=1e-4,
                                  eval_every=1.0, target=None, gpu=False)
MODELS = ("lenet5", "lenet5-1998", "resnet20", "plain20", "resnet56", "plain56")
DEFAULT_RECIPE = {"lenet5": "lenet5", "lenet5-1998": "lenet5-1998", "resnet20": "resnet20",
                  "plain20": "plain20", "resnet56": "resnet56", "plain56": "plain56"}
QUICK_RECIPE = "lenet5-quick"  # what `cnnspec verify` trains by default


def _family(model: str) -> str:
    """Recipes are shared within a family: LeNet-5s read 32x32 inputs, the CIFAR-style nets 28x28."""
    return "lenet" if model.startswith("lenet") else "resnet"


def build_model(name: str, num_classes: int) -> nn.Module:
    from . import models  # the architectures

    return models.build(name, in_channels=1, num_classes=num_classes)


def code_hash() -> str:
    """SHA-256 over the source of the trainer, the data reader and the model definitions."""
    here = Path(__file__).parent
    h = hashlib.sha256()
    for name in ("train.py", "data.py", "models.py", "lenet.py", "resnet.py"):
        p = here / name
        if p.exists():
            h.update(name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def resolve_device(device: str) -> torch.device:
    """``device`` (auto, cpu, cuda, cuda:N) as a ``torch.device``: :func:`cnnspec.devices.resolve_device`."""
    return torch.device(devices.resolve_device(device, argument="--device"))


def lr_at(step: int, total: int, cfg: dict) -> float:
    """One cycle: linear warm-up to ``lr`` over ``warmup·total`` steps, then linear decay to 0."""
    up = max(1, round(cfg["warmup"] * total))
    if step < up:
        return cfg["lr"] * (step + 1) / up
    return cfg["lr"] * max(0.0, (total - step) / max(1, total - up))


def epoch_batches(d: datasets.DeviceData, epoch: int, seed: int, cfg: dict, mirror: bool):
    """The augmented, shuffled training set of one epoch (a pure function of seed and epoch)."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    n = len(d.train_x)
    order = torch.randperm(n, generator=g).to(d.train_x.device)
    x, y = d.train_x[order], d.train_y[order]
    if cfg["shift"]:
        dy, dx = random_shifts(n, cfg["shift"], g)
        x = translate(x, dy, dx, fill=d.background)
    if mirror:
        flip = (torch.rand(n, generator=g) < 0.5).to(x.device)
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    bs = cfg["batch_size"]
    return [(x[i:i + bs], y[i:i + bs]) for i in range(0, n, bs)]


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, tta: bool, amp: bool,
             batch_size: int = 2000) -> float:
    """Test accuracy; with ``tta`` the logits of each image and its mirror image are averaged."""
    model.eval()
    correct = 0
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size]
        with torch.autocast("cuda", torch.bfloat16, enabled=amp):
            logits = model(xb).float()
            if tta:
                logits = logits + model(xb.flip(-1)).float()
        correct += int((logits.argmax(1) == y[i:i + batch_size]).sum())
    model.train()
    return correct / len(x)


class Progress:
    """Training progress on stderr: epoch, progress, loss, accuracy, images/s.

    On a terminal one line is rewritten in place (twice a second at most); in a log (CI, a pipe) a
    whole line is written at the end of every epoch and at least every ``LOG_EVERY`` seconds, so a
    long stage never goes quiet. Hand-written rather than tqdm or rich: both write carriage-return frames
    (tqdm) or nothing until the end (rich) to a file that is not a terminal.
    """

    LOG_EVERY = 10.0

    def __init__(self, enabled: bool, total_epochs: int, steps: int, stream=None):
        self.on, self.epochs, self.steps, self.last = enabled, total_epochs, steps, 0.0
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def show(self, epoch: int, step: int, loss: torch.Tensor, acc: float | None, ips: float, force=False):
        now = time.perf_counter()
        if not self.on or (not force and now - self.last < (0.5 if self.tty else self.LOG_EVERY)):
            return
        self.last = now
        loss = float(loss)  # the only host-device sync of a step, twice a second at most
        frac = step / self.steps
        bar = "#" * int(20 * frac) + "." * (20 - int(20 * frac))
        a = f"{acc:.4f}" if acc is not None else "  -   "
        line = (f"epoch {epoch + 1}/{self.epochs} [{bar}] loss {loss:.4f} test acc {a} "
                f"{ips:,.0f} img/s")
        self.stream.write(f"\r{line} " if self.tty else f"{line}\n")
        self.stream.flush()

    def end(self):
        if self.on and self.tty:
            self.stream.write("\n")


def save_checkpoint(path: Path, state: dict) -> None:
    """``torch.save`` into a temporary file, then rename: a crash leaves the old checkpoint whole."""
    import io

    buf = io.BytesIO()
    torch.save(state, buf)
    write_atomic(path, buf.getvalue())


def load_checkpoint(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


_META_TYPES = {"model": str, "recipe": str, "seed": int, "epochs": int, "cfg": str, "epoch": int,
               "history": str, "elapsed_s": float, "train_s": float, "seen": int}


def checkpoint_meta(path: Path, ck: Any) -> dict:
    """The ``meta`` of a loaded checkpoint, every field of the right type (a checkpoint that loads
    safely may still be malformed: written by hand, by another program, or truncated in content)."""
    def bad(what: str) -> UsageError:
        return UsageError(f"{path}: not a checkpoint of cnnspec train ({what}); delete it or use "
                          f"another --out")
    if not isinstance(ck, dict) or not {"model", "optimizer", "meta"} <= set(ck):
        held = sorted(map(str, ck))[:5] if isinstance(ck, dict) else f"a {type(ck).__name__}"
        raise bad(f"it holds {held}, not model, optimizer and meta")
    meta = ck["meta"]
    if not isinstance(meta, dict) or not isinstance(ck["model"], dict) or not isinstance(ck["optimizer"], dict):
        raise bad("model, optimizer and meta must be dictionaries")
    for k, t in _META_TYPES.items():
        v = meta.get(k)
        if not (isinstance(v, t) or (t is float and isinstance(v, int))) or isinstance(v, bool):
            raise bad(f"meta[{k!r}] is {type(v).__name__ if k in meta else 'missing'}, not {t.__name__}")
    try:
        history = json.loads(meta["history"])
        json.loads(meta["cfg"])
    except ValueError:
        raise bad("meta history or cfg is not JSON") from None
    if not isinstance(history, list) or not all(isinstance(h, dict) and isinstance(h.get("test_acc"), (int, float))
                                                 for h in history):
        raise bad("meta history is not a list of evaluations")
    if not 0 <= meta["epoch"] <= meta["epochs"]:
        raise bad(f"meta epoch {meta['epoch']} is outside 0..{meta['epochs']}")
    return meta


def train(model: str, *, data: str | None = None, epochs: int | None = None, recipe: str | None = None,
          device: str = "auto", seed: int = 0, out: str | None = None, progress: bool = True,
          target_acc: float | None = None, compile: bool = False, stop_after_epoch: int | None = None,
          return_model: bool = False) -> dict:
    """Train ``model`` with ``recipe`` and return the metrics (also saved as ``out/metrics.json``).

    ``data``: an MNIST-format folder (default: Debian's Fashion-MNIST). ``epochs`` overrides the
    recipe's. ``target_acc``: stop as soon as the test accuracy reaches it (the tutorial's rule);
    without it the whole schedule runs and ``time_to_target_s`` refers to the recipe's target.
    ``out``: a folder for ``checkpoint.pt`` (every epoch; a rerun with the same ``out`` resumes
    from it), ``model.pt`` (final ``state_dict``) and ``metrics.json``. ``stop_after_epoch``
    simulates an interruption (tests of resume). With ``return_model`` the result also holds the
    trained module under ``"module"`` and the device tensors under ``"device_data"`` (not JSON).

    The metrics: ``recipe`` (name and hyperparameters), ``code_sha256``, ``history`` (one entry per
    evaluation: ``epoch``, ``elapsed_s`` since the first training step with evaluation included,
    ``train_loss``, ``train_err`` (both over the steps since the previous evaluation), ``test_acc``),
    ``test_acc`` (final), ``time_to_target_s``, ``epoch_to_target``, ``images_per_s`` (training
    steps only), ``device``, ``device_name``, ``threads``, data set and environment.
    """
    if model not in MODELS:
        raise UsageError(f"model {model!r}: not one of {', '.join(MODELS)}")
    recipe = recipe or DEFAULT_RECIPE[model]
    if recipe not in RECIPES:
        raise UsageError(f"recipe {recipe!r}: not one of {', '.join(RECIPES)}")
    cfg = dict(RECIPES[recipe])
    if _family(cfg.get("model") or "resnet") != _family(model):   # model None: the degradation nets
        raise UsageError(f"--recipe {recipe}: a recipe of {cfg['model'] or 'the degradation nets'} (input {cfg['pad_to'] or 28} px, "
                         f"{cfg['optimizer']}), not of {model}; use one of "
                         f"{', '.join(r for r, c in RECIPES.items() if _family(c.get('model') or 'resnet') == _family(model))}")
    cfg["model"] = model
    if epochs is not None:
        if not isinstance(epochs, int) or epochs < 1:
            raise UsageError(f"--epochs {epochs}: must be a positive whole number")
        cfg["epochs"] = epochs
    if target_acc is not None and not 0 < target_acc <= 1:
        raise UsageError(f"target accuracy {target_acc}: must be a fraction in (0, 1]")
    dev = resolve_device(device)
    cuda = dev.type == "cuda"
    torch.manual_seed(seed)

    # --- data: everything on the device, once ------------------------------------------------
    ds = datasets.load(data)
    if cfg["train_subset"] or cfg.get("test_subset"):
        ds = ds.subset(train=cfg["train_subset"], test=cfg.get("test_subset"))
    d = datasets.to_device(ds, dev, pad_to=cfg["pad_to"])
    mirror = cfg["mirror"] and ds.mirror_ok
    tta = cfg["tta"] and ds.mirror_ok
    # NHWC: on CUDA the layout tensor cores want; on the CPU oneDNN's faster one (LeNet-5 trains
    # 1.6-1.9x faster per image than in NCHW, ResNet-20 1.25x; measured with 2 threads, batch 128)
    d.train_x = d.train_x.contiguous(memory_format=torch.channels_last)
    d.test_x = d.test_x.contiguous(memory_format=torch.channels_last)

    # --- model and optimiser ----------------------------------------------------------------------
    net = build_model(model, ds.num_classes).to(dev, memory_format=torch.channels_last)
    if cfg["optimizer"] == "adam":  # AdamW: decoupled weight decay, betas as momentum
        opt = torch.optim.AdamW(net.parameters(), lr=cfg["lr"], betas=(cfg["momentum"], 0.999),
                                weight_decay=cfg["weight_decay"])
    else:
        opt = torch.optim.SGD(net.parameters(), lr=cfg["lr"], momentum=cfg["momentum"],
                              nesterov=True, weight_decay=cfg["weight_decay"])
    step_fn = torch.compile(net) if compile else net
    steps_per_epoch = math.ceil(len(d.train_x) / cfg["batch_size"])
    total_steps = cfg["epochs"] * steps_per_epoch
    eval_steps = max(1, round(cfg["eval_every"] * steps_per_epoch))
    target = target_acc if target_acc is not None else cfg["target"]

    # --- resume ----------------------------------------------------------------------------------
    outdir = Path(out) if out else None
    ckpt_path = outdir / "checkpoint.pt" if outdir else None
    start_epoch, history, elapsed0, train_time0, seen0 = 0, [], 0.0, 0.0, 0
    data_id = datasets.digest(ds)
    if outdir is not None and outdir.is_dir():   # a killed run's half-written checkpoint or model
        remove_stale_temporaries(outdir)
        (outdir / ".model.pt.tmp").unlink(missing_ok=True)
    if ckpt_path and ckpt_path.exists():
        try:
            ck = load_checkpoint(ckpt_path)
        except Exception as e:  # noqa: BLE001 - any unreadable checkpoint is the user's to remove
            first = (str(e).strip().splitlines() or [""])[0][:160]
            raise UsageError(f"{ckpt_path}: cannot load the checkpoint ({type(e).__name__}: {first}); "
                             f"delete it or use another --out") from None
        meta = checkpoint_meta(ckpt_path, ck)
        mine = {"model": model, "recipe": recipe, "seed": seed, "epochs": cfg["epochs"],
                "data_sha256": data_id}
        theirs = {k: meta.get(k) for k in mine}
        if theirs != mine:
            diff = {k: theirs[k] for k in mine if theirs[k] != mine[k]}
            raise UsageError(f"{ckpt_path}: written by a different run ({', '.join(diff)} differ: "
                             f"{diff}; this run: { {k: mine[k] for k in diff} }); the data is "
                             f"compared by content; use another --out or delete the checkpoint")
        changed = sorted(k for k in cfg if json.loads(meta.get("cfg", "{}")).get(k, "?") != cfg[k])
        if changed:  # same recipe name, other hyperparameters (an edited RECIPES entry, an old file)
            raise UsageError(f"{ckpt_path}: written with other settings of recipe {recipe} "
                             f"({', '.join(changed[:6])}{' ...' if len(changed) > 6 else ''} differ); "
                             f"use another --out or delete the checkpoint")
        try:
            net.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
        except Exception as e:  # noqa: BLE001 - shapes or keys of another model
            first = (str(e).strip().splitlines() or [""])[0][:200]
            raise UsageError(f"{ckpt_path}: its weights or optimizer state do not fit {model} "
                             f"({type(e).__name__}: {first}); delete it or use another --out") from None
        start_epoch, history = meta["epoch"], json.loads(meta["history"])
        elapsed0, train_time0, seen0 = meta["elapsed_s"], meta["train_s"], meta["seen"]

    # --- the training loop ---------------------------------------------------------------------
    bar = Progress(progress, cfg["epochs"], steps_per_epoch)
    acc = history[-1]["test_acc"] if history else None
    reached = next((h for h in history if target is not None and h["test_acc"] >= target), None)
    stop = target_acc is not None and reached is not None
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    sync()
    t0 = time.perf_counter() - elapsed0
    train_time, seen = train_time0, seen0
    net.train()
    for epoch in range(start_epoch, cfg["epochs"]):
        if stop:
            break
        tick = time.perf_counter()
        batches = epoch_batches(d, epoch, seed, cfg, mirror)
        loss_sum, wrong, loss_n = torch.zeros((), device=dev), torch.zeros((), device=dev), 0
        for i, (x, y) in enumerate(batches):
            step = epoch * steps_per_epoch + i
            for group in opt.param_groups:
                group["lr"] = lr_at(step, total_steps, cfg)
            with torch.autocast("cuda", torch.bfloat16, enabled=cuda):
                logits = step_fn(x)
                loss = F.cross_entropy(logits, y, label_smoothing=cfg["label_smoothing"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * len(y)
            wrong += (logits.detach().argmax(1) != y).sum()
            loss_n += len(y)
            seen += len(y)
            last = i == len(batches) - 1
            if last or ((i + 1) % eval_steps == 0 and steps_per_epoch - (i + 1) >= eval_steps // 2):
                sync()
                train_time += time.perf_counter() - tick
                acc = evaluate(net, d.test_x, d.test_y, tta, cuda)
                tick = time.perf_counter()
                ep = round(epoch + (i + 1) / steps_per_epoch, 4)
                history.append({"epoch": ep, "elapsed_s": round(time.perf_counter() - t0, 3),
                                "train_loss": round(float(loss_sum) / loss_n, 5),
                                "train_err": round(float(wrong) / loss_n, 5), "test_acc": acc})
                loss_sum, wrong, loss_n = torch.zeros((), device=dev), torch.zeros((), device=dev), 0
                if reached is None and target is not None and acc >= target:
                    reached = history[-1]
                    stop = target_acc is not None
                if stop:
                    break
            bar.show(epoch, i + 1, loss.detach(), acc,
                     seen / max(train_time + time.perf_counter() - tick, 1e-9), force=last)
        sync()
        train_time += time.perf_counter() - tick
        if ckpt_path and not stop:
            meta = {"model": model, "recipe": recipe, "seed": seed, "epochs": cfg["epochs"],
                    "cfg": json.dumps(cfg), "data_sha256": data_id,
                    "data": ds.root, "epoch": epoch + 1, "history": json.dumps(history),
                    "elapsed_s": time.perf_counter() - t0, "train_s": train_time, "seen": seen}
            save_checkpoint(ckpt_path, {"model": net.state_dict(), "optimizer": opt.state_dict(),
                                        "meta": meta})
        if stop_after_epoch is not None and epoch + 1 >= stop_after_epoch:
            break
    bar.end()
    if acc is None:  # resumed a finished run: nothing was trained, report the saved weights
        acc = evaluate(net, d.test_x, d.test_y, tta, cuda)

    metrics = {
        "kind": "train", "model": model, "recipe": {"name": recipe, **cfg},
        "code_sha256": code_hash(), "seed": seed,
        "data": {"name": ds.name, "root": ds.root, "files": ds.files, "train": len(d.train_x),
                 "test": len(d.test_x), "classes": ds.num_classes, "mean": d.mean, "std": d.std,
                 "mirror": mirror, "tta": tta},
        "device": str(dev), "device_name": (torch.cuda.get_device_name(dev) if cuda else _cpu_name()),
        "threads": torch.get_num_threads(), "torch": torch.__version__, "compile": compile,
        "history": history, "epochs_run": history[-1]["epoch"] if history else 0,
        "test_acc": acc, "target_acc": target,
        "time_to_target_s": reached["elapsed_s"] if reached else None,
        "epoch_to_target": reached["epoch"] if reached else None,
        "elapsed_s": history[-1]["elapsed_s"] if history else 0.0, "train_s": round(train_time, 3),
        "images_per_s": round(seen / train_time, 1) if train_time else None,
        "parameters": sum(p.numel() for p in net.parameters()),
        "resumed_from_epoch": start_epoch or None,
        "interrupted": bool(history) and history[-1]["epoch"] < cfg["epochs"] and not stop,
    }
    if outdir:
        torch.save(net.state_dict(), outdir / ".model.pt.tmp")
        os.replace(outdir / ".model.pt.tmp", outdir / "model.pt")
        write_atomic(outdir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    if return_model:
        metrics["module"] = net.eval()
        metrics["device_data"] = d
    return metrics


def degradation(*, data: str | None = None, recipe: str = "degradation-cpu", device: str = "auto",
                seed: int = 0, out: str | None = None, progress: bool = False,
                models: tuple[str, ...] = ("plain20", "resnet20", "plain56", "resnet56")) -> dict:
    """He et al. 2016 Fig. 6 at reduced scale: training error of plain-20/56 against ResNet-20/56.

    Each net trains with the same recipe; ``train_err`` in each history entry is the fraction of
    training images misclassified during the steps since the previous evaluation. Returns the
    curves and the final figures, whatever they show.
    """
    runs = {}
    for name in models:
        m = train(name, data=data, recipe=recipe, device=device, seed=seed, progress=progress,
                  out=str(Path(out) / name) if out else None)
        runs[name] = {"train_err": [h["train_err"] for h in m["history"]],
                      "epochs": [h["epoch"] for h in m["history"]], "test_acc": m["test_acc"],
                      "elapsed_s": m["elapsed_s"]}
    res = {"recipe": {"name": recipe, **RECIPES[recipe]}, "seed": seed, "runs": runs,
           "deeper_plain_trains_worse": (runs["plain56"]["train_err"][-1] > runs["plain20"]["train_err"][-1]
                                         if {"plain20", "plain56"} <= set(runs) else None),
           "deeper_resnet_trains_no_worse": (runs["resnet56"]["train_err"][-1] <= runs["resnet20"]["train_err"][-1]
                                             if {"resnet20", "resnet56"} <= set(runs) else None)}
    if out:
        write_atomic(Path(out) / "degradation.json", json.dumps(res, indent=2) + "\n")
    return res


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip() + f" ({os.cpu_count()} cores)"
    except OSError:
        pass
    import platform

    return platform.processor() or "cpu"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m reference.train", description=__doc__.split("\n")[0])
    p.add_argument("model", choices=MODELS + ("degradation",))
    p.add_argument("--recipe", choices=list(RECIPES))
    p.add_argument("--data"), p.add_argument("--epochs", type=int), p.add_argument("--out")
    p.add_argument("--device", default="auto"), p.add_argument("--seed", type=int, default=0)
    p.add_argument("--target-acc", type=float), p.add_argument("--compile", action="store_true")
    a = p.parse_args(argv)
    try:
        if a.model == "degradation":
            r = degradation(data=a.data, device=a.device, seed=a.seed, out=a.out, progress=True,
                            recipe=a.recipe or "degradation-cpu")
        else:
            m = train(a.model, data=a.data, epochs=a.epochs, recipe=a.recipe, device=a.device,
                      seed=a.seed, out=a.out, target_acc=a.target_acc, compile=a.compile)
    except UsageError as e:
        print(f"reference.train: error: {e}", file=sys.stderr)
        return 2
    if a.model == "degradation":
        for name, run in r["runs"].items():
            print(f"{name:9} train error {' '.join(f'{e:.3f}' for e in run['train_err'])}  "
                  f"test acc {run['test_acc']:.4f}  {run['elapsed_s']:.0f} s")
        return 0
    print(json.dumps({k: m[k] for k in ("model", "test_acc", "time_to_target_s", "elapsed_s",
                                         "images_per_s")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
