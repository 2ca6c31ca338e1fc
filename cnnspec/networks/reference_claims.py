"""Claims on the reference models (group ``reference``; needs torch and ``reference/``).

* ``reference.params`` — every network of ``reference.models.MODELS`` has, layer by layer, the
  parameters of its spec (built on the meta device: no memory, no time);
* ``reference.<name>.conforms`` — every model claim of :mod:`cnnspec.networks.model`;
* ``residual.zero_branch.<name>`` — with the last batch norm of each branch zeroed, every block is
  exactly relu of its shortcut (plain nets: exactly 0), bit for bit on CPU;
* ``residual.gradient_norms`` — at initialisation, ResNet-56 keeps the gradient norm level from
  the last block to the first; plain-56 does not (a trend over seeds, not one number).
"""
from __future__ import annotations

import functools
import math
from typing import Any, Callable

import torch
import torch.nn.functional as F

from ..claims import Outcome, claim
from ..spec import architectures as A
from .model import ModelContext, Trace, check_params, intra_op_threads, pair_layers, prepare, run_checks

GROUP = "reference"

CONFORMING = ("lenet5", "lenet5-28", "lenet5-1998", "resnet20", "resnet20-B", "plain20", "resnet56",
              "resnet18", "resnet50", "resnet50-v1")
ZERO_BRANCH = ("resnet20", "resnet20-B", "resnet56", "resnet50", "plain20", "plain56")


def one_thread(check: Callable[..., Outcome]) -> Callable[..., Outcome]:
    """``check`` run under :func:`intra_op_threads` (1): these are batch-1/2 passes."""
    @functools.wraps(check)
    def run(*args: Any, **kwargs: Any) -> Outcome:
        with intra_op_threads(1):
            return check(*args, **kwargs)
    return run


def reference_factory(spec_name: str):
    """The reference model built for ``spec_name`` (the same name, or LeNet-5 with a 28x28 input)."""
    from cnnspec.reference.models import build

    if spec_name == "lenet5-28":
        return lambda: build("lenet5", input_size=28)
    return lambda: build(spec_name)


@claim("reference.params", "Every reference network has, layer by layer, the weights and biases of its "
       "spec, and the spec's total (LeNet-5 61,706 and 60,000; CIFAR ResNets 269,722 ... 19,421,274; "
       "torchvision's ResNet-18 ... 152 counts).", "reference/models.py against cnnspec.spec.architectures",
       "exact", group=GROUP)
def _reference_params(**_: Any) -> Outcome:
    from cnnspec.reference.models import MODELS, build

    totals: dict[str, int] = {}
    for name in MODELS:
        # the big ones on the meta device: shapes without memory (LeNet's fixed RBF code needs a real RNG)
        with torch.device("cpu" if name.startswith("lenet") else "meta"):
            model = build(name)
        arch = A.get(name)
        out = check_params(ModelContext(model, arch, pair_layers(model, arch), Trace()))
        if not out.holds:
            return Outcome(False, f"{name}: {out.message}", {"checked": totals}, len(totals),
                           counterexample=out.counterexample)
        totals[name] = out.evidence["total"]
    return Outcome(True, f"{len(totals)} reference networks match their specs layer by layer "
                         f"(e.g. resnet50 {totals.get('resnet50', 0):,})", {"totals": totals}, len(totals))


@one_thread
def _conforms(name: str, device: str = "cpu", seed: int = 0, **_: Any) -> Outcome:
    results = run_checks(prepare(reference_factory(name), name, device, seed))
    ev = {r.id: {"status": r.status, "message": r.message} for r in results}
    bad = [r for r in results if r.status in ("fail", "error")]
    if bad:
        return Outcome(False, f"{name}: {bad[0].id}: {bad[0].message}", ev, len(results),
                       counterexample=bad[0].counterexample)
    held = [r.id.split(".", 1)[1] for r in results if r.status == "pass"]
    skipped = [r.id.split(".", 1)[1] for r in results if r.status == "skipped"]
    return Outcome(True, f"{name}: {len(held)} model claims hold ({', '.join(held)})"
                         + (f"; not applicable: {', '.join(skipped)}" if skipped else ""), ev, len(results))


@one_thread
def _zero_branch(name: str, device: str = "cpu", seed: int = 0, **_: Any) -> Outcome:
    (res,) = run_checks(prepare(reference_factory(name), name, device, seed), ["residual_identity"])
    return Outcome(res.status == "pass", res.message, res.evidence, res.examples,
                   counterexample=res.counterexample, skipped=res.status == "skipped")


for _name in CONFORMING:
    claim(f"reference.{_name}.conforms", f"The reference model {_name} conforms to its spec: parameters, "
          "geometry, shapes, receptive field and multiply-adds per layer, residual identity, stem "
          "equivariance.", f"reference/models.py; cnnspec spec {_name}", "exact",
          group=GROUP)(lambda name=_name, **ctx: _conforms(name, **ctx))

for _name in ZERO_BRANCH:
    _plain = _name.startswith("plain")
    claim(f"residual.zero_branch.{_name}",
          ("With the last batch norm's scale and shift of every branch set to zero, every block of the "
           "plain net outputs exactly 0: without a shortcut it cannot represent the identity."
           if _plain else
           "With the last batch norm's scale and shift of every residual branch set to zero, every block "
           "computes exactly relu(x) for any input (negative entries included), or relu of its option-A / "
           "projection shortcut, bit for bit; each stage reduces to its shortcut."),
          "He et al. 2016 §3.1 (identity by zero residual), Fig. 2", "exact",
          group=GROUP)(lambda name=_name, **ctx: _zero_branch(name, **ctx))


def block_gradient_norms(name: str, seed: int, batch: int = 4, size: int = 32) -> list[float]:
    """‖∂L/∂h_l‖ at the output h_l of every block, first to last, at initialisation (BN in
    training mode), for a cross-entropy loss on random data and labels."""
    from cnnspec.reference.models import build

    torch.manual_seed(seed)
    model = build(name).train()
    blocks = [b for stage in model.stages() for b in stage]
    outs: list[torch.Tensor] = []

    def keep(mod, args, out):
        out.retain_grad()
        outs.append(out)

    handles = [b.register_forward_hook(keep) for b in blocks]
    x = torch.randn(batch, 3, size, size)
    y = torch.randint(0, 10, (batch,))
    F.cross_entropy(model(x), y).backward()
    for h in handles:
        h.remove()
    return [float(o.grad.norm()) for o in outs]


RESNET_MAX_RATIO = 100.0   # ResNet-56: first/last block gradient norm stays below this
PLAIN_MIN_RATIO = 500.0    # plain-56: and departs from level by more than this


@claim("residual.gradient_norms", f"At initialisation (He init, batch norm in training mode), the "
       f"gradient norm at the first block's output stays within a factor {RESNET_MAX_RATIO:g} of the last "
       f"block's through ResNet-56 for every seed, while through plain-56 it departs from level by more "
       f"than {PLAIN_MIN_RATIO:g}x (measured: it grows toward the input by three to four orders of "
       "magnitude rather than decaying) — the shortcut keeps the backward signal level.",
       "He et al. 2016 §4.1 (optimisation difficulty of deep plain nets), §4.2 (ResNet-56 vs plain-56); "
       "measured here", "property", group=GROUP)
@one_thread
def _gradient_norms(seeds: tuple[int, ...] = (0, 1, 2, 3), **_: Any) -> Outcome:
    ev: dict[str, Any] = {"seeds": list(seeds), "batch": 4, "input": "3x32x32", "ratios": {}}
    for seed in seeds:
        r = block_gradient_norms("resnet56", seed)
        p = block_gradient_norms("plain56", seed)
        rr, pr = r[0] / r[-1], p[0] / p[-1]
        ev["ratios"][seed] = {"resnet56": rr, "plain56": pr}
        ev.setdefault("profile_seed0", {"resnet56": [round(v / r[-1], 3) for v in r],
                                        "plain56": [round(v / p[-1], 3) for v in p]})
        if not (1 / RESNET_MAX_RATIO < rr < RESNET_MAX_RATIO) or not (pr > PLAIN_MIN_RATIO or pr < 1 / PLAIN_MIN_RATIO):
            return Outcome(False, f"seed {seed}: first/last block gradient norm ResNet-56 {rr:.3g}, plain-56 "
                                  f"{pr:.3g}; should be within {RESNET_MAX_RATIO:g} and beyond {PLAIN_MIN_RATIO:g}",
                           ev, len(ev["ratios"]), counterexample={"args": {"seed": seed}, "expected": [
                               f"< {RESNET_MAX_RATIO:g}", f"> {PLAIN_MIN_RATIO:g}"], "got": [rr, pr]})
    rs = [v["resnet56"] for v in ev["ratios"].values()]
    ps = [v["plain56"] for v in ev["ratios"].values()]
    return Outcome(True, f"first/last block gradient norm over {len(seeds)} seeds: ResNet-56 "
                         f"{min(rs):.3g}..{max(rs):.3g}, plain-56 {min(ps):.3g}..{max(ps):.3g} "
                         f"(log10 gap {math.log10(min(ps) / max(rs)):.1f})", ev, len(seeds))
