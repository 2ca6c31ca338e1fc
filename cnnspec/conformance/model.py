"""Conformance of a whole model (an ``nn.Module``) to an architecture spec.

``cnnspec validate --model TARGET --spec NAME`` loads ``TARGET`` (``module:factory`` or
``path/file.py:factory``; the factory is called with no arguments, or the attribute is a module
already), pairs its parametrised layers with the spec's rows (by name when every spec name is
present, as for torchvision-style models; otherwise in order), and decides seven claims:

* ``model.params`` — weights and biases per layer, and the total;
* ``model.geometry`` — kernel, stride, padding of every conv (and dilation 1);
* ``model.shapes`` — output shape of every paired layer, every stage and the network;
* ``model.receptive_field`` — of the last spatial layer, from the model's own kernels and strides;
* ``model.macs`` — multiply-adds measured by hooks (convs, FCs, and modules that define
  ``multiply_adds(out)``) against the spec's, per layer and in total;
* ``model.residual_identity`` — with the last batch norm of every residual branch zeroed (γ = β = 0),
  every block computes exactly ``relu(x)`` (identity shortcut), ``relu(P x)`` (option A or B
  shortcut ``P``), or ``0`` for a plain spec; each stage reduces to its first block's shortcut;
* ``model.stem_equivariance`` — the first conv, given small-integer weights and inputs (exact in
  float32), commutes with a shift by its stride on the interior.

Each failure names the first layer at fault and what differs. Forward passes run in eval mode
under ``torch.no_grad`` on the spec's input shape (batch 1; residual checks batch 2).
"""
from __future__ import annotations

import argparse
import copy
import contextlib
import math
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import torch
from torch import nn

from ..claims import Claim, ClaimResult, Outcome, run_claim
from ..errors import UsageError
from ..report.schema import build_report, dumps, environment, write_atomic
from ..spec import architectures as A

CHECKS = ("params", "geometry", "shapes", "receptive_field", "macs", "residual_identity",
          "stem_equivariance")

_KIND = {"conv": "conv", "sparse_conv": "conv", "subsample": "conv", "fc": "fc", "bn": "bn"}


# --- loading a target -----------------------------------------------------------------------------

def load_target(target: str) -> Any:
    """The object named by ``module:attr`` or ``path/file.py:attr``; a :class:`UsageError` otherwise."""
    from .isolation import resolve_target

    return resolve_target(target, argument="--model", noun="factory")


def instantiate(obj: Any, label: str = "factory") -> nn.Module:
    """``obj`` itself when it is a module, else ``obj()``; it must return an ``nn.Module``."""
    if isinstance(obj, nn.Module):
        return obj
    if not callable(obj):
        raise UsageError(f"--model: {label} is a {type(obj).__name__}, not a callable or nn.Module")
    try:
        model = obj()
    except Exception as e:  # noqa: BLE001
        raise UsageError(f"--model: {label}() raised {type(e).__name__}: {_line(e)}") from None
    if not isinstance(model, nn.Module):
        raise UsageError(f"--model: {label}() returned a {type(model).__name__}, not a torch.nn.Module")
    return model


def _line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:300] if text else ""


@contextlib.contextmanager
def deadline(seconds: float | None, what: str):
    """Raise ``TimeoutError`` in the block after ``seconds`` (main thread, POSIX; else no limit)."""
    if not seconds or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise TimeoutError(f"{what} ran longer than {seconds:g} s (--timeout)")
    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def intra_op_threads(n: int = 1):
    """Run the block with ``n`` intra-op threads, then restore the setting.

    Small-batch passes on 2 shared cores: two threads spin-wait against each other, and a
    ResNet-20 forward takes 0.6 s instead of 0.015 s on one (measured on this project's machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --- pairing model modules with spec rows ---------------------------------------------------------

def _own_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters(recurse=False))


def param_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Modules that hold parameters themselves, in registration order."""
    return [(n, m) for n, m in model.named_modules() if _own_params(m)]


def module_kind(m: nn.Module) -> str | None:
    if isinstance(m, nn.modules.batchnorm._BatchNorm):
        return "bn"
    if isinstance(m, nn.Linear):
        return "fc"
    if isinstance(m, nn.modules.conv._ConvNd) or hasattr(m, "kernel_size"):
        return "conv"
    return None


def _wb(m: nn.Module) -> tuple[int, int]:
    w, b = getattr(m, "weight", None), getattr(m, "bias", None)
    nw = w.numel() if isinstance(w, torch.Tensor) else 0
    nb = b.numel() if isinstance(b, torch.Tensor) else 0
    return nw + (_own_params(m) - nw - nb), nb


@dataclass
class Pairing:
    pairs: list[tuple[A.Layer, str, nn.Module]]
    extra: list[tuple[str, nn.Module]]   # model modules with parameters and no spec row
    missing: list[A.Layer]               # spec rows with parameters and no model module
    by_name: bool

    def name_of(self, spec_name: str) -> str | None:
        for s, n, _ in self.pairs:
            if s.name == spec_name:
                return n
        return None

    def module_of(self, spec_name: str) -> nn.Module | None:
        for s, _, m in self.pairs:
            if s.name == spec_name:
                return m
        return None


def pair_layers(model: nn.Module, arch: A.Architecture) -> Pairing:
    """By name when every parametrised spec row names a parametrised module; else in order, up to
    the first row whose kind (conv / fc / bn) disagrees."""
    mods = param_modules(model)
    rows = arch.param_layers()
    table = dict(mods)
    if all(r.name in table for r in rows):
        names = {r.name for r in rows}
        return Pairing([(r, r.name, table[r.name]) for r in rows],
                       [(n, m) for n, m in mods if n not in names], [], True)
    pairs = []
    for r, (n, m) in zip(rows, mods):
        kind = module_kind(m)
        if kind is not None and kind != _KIND.get(r.kind, kind):
            break
        pairs.append((r, n, m))
    k = len(pairs)
    return Pairing(pairs, mods[k:], rows[k:], False)


# --- one forward pass with hooks -----------------------------------------------------------------

@dataclass
class Trace:
    shapes: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=dict)
    macs: dict[str, int] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)   # leaf modules in the order they first ran
    output: tuple[int, ...] | None = None
    error: str | None = None
    culprit: str | None = None


def _first_tensor(obj: Any) -> torch.Tensor | None:
    if isinstance(obj, torch.Tensor):
        return obj
    if isinstance(obj, (tuple, list)):
        for o in obj:
            t = _first_tensor(o)
            if t is not None:
                return t
    return None


def _macs(m: nn.Module, x: torch.Tensor, out: torch.Tensor) -> int | None:
    if hasattr(m, "multiply_adds"):
        return int(m.multiply_adds(out))
    if isinstance(m, nn.modules.conv._ConvNd):
        return out[0].numel() * (m.in_channels // m.groups) * math.prod(m.kernel_size)
    if isinstance(m, nn.Linear):
        return out[0].numel() * m.in_features
    return None


def trace(model: nn.Module, shape: tuple[int, ...], device: str = "cpu", seed: int = 0,
          timeout: float | None = None) -> Trace:
    """Run ``model`` once on a batch-1 input of ``shape``, recording per module the input and output
    shapes (without the batch), the multiply-adds, the order, and the failing module if any."""
    tr, stack = Trace(), []
    leaves = {n for n, m in model.named_modules() if not list(m.children())}

    def pre(name: str):
        def hook(mod, args):
            stack.append(name)
            if name in leaves and name not in tr.order:
                tr.order.append(name)
        return hook

    def post(name: str):
        def hook(mod, args, out):
            stack.pop()
            x, y = _first_tensor(args), _first_tensor(out)
            if name not in tr.shapes and x is not None and y is not None:
                tr.shapes[name] = (tuple(x.shape[1:]), tuple(y.shape[1:]))
                macs = _macs(mod, x, y)
                if macs is not None:
                    tr.macs[name] = macs
        return hook

    handles = []
    for name, m in model.named_modules():
        if name:
            handles += [m.register_forward_pre_hook(pre(name)), m.register_forward_hook(post(name))]
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, *shape, generator=g).to(device)
    try:
        with torch.no_grad(), deadline(timeout, "the forward pass"):
            out = _first_tensor(model(x))
        tr.output = tuple(out.shape[1:]) if out is not None else None
    except Exception as e:  # noqa: BLE001 - reported with the module that raised
        tr.culprit = stack[-1] if stack else None
        tr.error = f"{type(e).__name__}: {_line(e)}"
    finally:
        for h in handles:
            h.remove()
    return tr


# --- the checks --------------------------------------------------------------------------------

@dataclass
class Context:
    model: nn.Module
    arch: A.Architecture
    pairing: Pairing
    trace: Trace
    device: str = "cpu"
    seed: int = 0


def _fmt(shape: Iterable[int] | None) -> str:
    return "x".join(map(str, shape)) if shape is not None else "?"


def _fault(layer: str, what: str, expected: Any, got: Any, **ev: Any) -> dict[str, Any]:
    return {"args": {"layer": layer, "what": what, **ev}, "expected": [expected], "got": [got]}


def _describe(m: nn.Module) -> str:
    w = getattr(m, "weight", None)
    shape = f", weight {_fmt(w.shape)}" if isinstance(w, torch.Tensor) else ""
    return f"{type(m).__name__}{shape}"


def check_params(ctx: Context) -> Outcome:
    arch, pg = ctx.arch, ctx.pairing
    rows = []
    for s, name, m in pg.pairs:
        w, b = _wb(m)
        rows.append({"layer": name, "spec": s.name, "weights": w, "biases": b,
                     "spec_weights": s.weights, "spec_biases": s.biases})
        if (w, b) == (s.weights, s.biases):
            continue
        msg = (f"{name} has {w + b:,} parameters (weight {w:,}, bias {b:,}), but should have "
               f"{s.params:,} (weight {s.weights:,}, bias {s.biases:,}) as the spec's {s.name} "
               f"({s.kind} {_fmt(s.in_shape)} -> {_fmt(s.out_shape)})")
        nxt = _next_row(arch, s)
        if b and not s.biases and nxt is not None and nxt.kind == "bn":
            msg += (f"; a bias before batch norm {nxt.name} is cancelled by its mean subtraction "
                    "(Ioffe & Szegedy 2015 §3.2), so the spec has none")
        elif s.name == "C3" and s.kind == "sparse_conv":
            msg += "; C3 connects only Table I's 60 map pairs (LeCun et al. 1998), not all 96"
        elif s.kind == "fc" and len(s.in_shape) == 3:
            msg += f"; the spec feeds it {_fmt(s.in_shape)} = {math.prod(s.in_shape)} features"
        return Outcome(False, msg, {"layers": rows}, len(rows),
                       counterexample=_fault(name, "parameters", s.params, w + b))
    if pg.extra:
        name, m = pg.extra[0]
        msg = f"{name} ({_describe(m)}) has {_own_params(m):,} parameters and no counterpart in the spec"
        blk = next((b for b in arch.blocks if name.startswith(b.name + ".")), None)
        if blk is not None and blk.shortcut == "A":
            msg += (f"; the spec's {blk.name} uses an option-A shortcut (identity with zero channels, "
                    "parameter-free, He et al. 2016 §3.3): a projection here is option B")
        return Outcome(False, msg, {"layers": rows}, len(rows),
                       counterexample=_fault(name, "extra layer", 0, _own_params(m)))
    if pg.missing:
        s = pg.missing[0]
        return Outcome(False, f"the spec's {s.name} ({s.kind}, {s.params:,} parameters) has no "
                              f"counterpart in the model (layers paired in order up to here)",
                       {"layers": rows}, len(rows), counterexample=_fault(s.name, "missing layer", s.params, 0))
    total = sum(p.numel() for p in ctx.model.parameters() if p.requires_grad)
    if total != arch.params:
        return Outcome(False, f"the model has {total:,} trainable parameters, but should have {arch.params:,}",
                       {"layers": rows}, len(rows), counterexample=_fault("(total)", "parameters", arch.params, total))
    return Outcome(True, f"{total:,} parameters in {len(rows)} layers, every layer's weights and biases "
                         f"as the spec's ({'paired by name' if pg.by_name else 'paired in order'})",
                   {"layers": rows, "total": total}, len(rows))


def _next_row(arch: A.Architecture, s: A.Layer) -> A.Layer | None:
    i = arch.layers.index(s)
    return arch.layers[i + 1] if i + 1 < len(arch.layers) else None


def _pair2(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)[:2]  # type: ignore[return-value]


def _stride_hint(arch: A.Architecture, s: A.Layer, got: int) -> str:
    if s.block is None:
        return ""
    other = [r for r in arch.block_layers(s.block) if r.stride == got and r.kind == "conv"
             and not r.shortcut and r.name != s.name]
    if not other:
        return ""
    layout = (" (torchvision's v1.5 layout)" if "v1.5" in arch.title else
              " (the paper's layout)" if "paper" in arch.title else "")
    return f"; the spec puts the stride on {other[0].name.rsplit('.', 1)[-1]}{layout}"


def check_geometry(ctx: Context) -> Outcome:
    n = 0
    for s, name, m in ctx.pairing.pairs:
        if s.kind not in ("conv", "sparse_conv", "subsample") or not hasattr(m, "kernel_size"):
            continue
        n += 1
        got = {"kernel": _pair2(m.kernel_size), "stride": _pair2(getattr(m, "stride", 1)),
               "padding": _pair2(getattr(m, "padding", 0)), "dilation": _pair2(getattr(m, "dilation", 1))}
        want = {"kernel": (s.kernel,) * 2, "stride": (s.stride,) * 2, "padding": (s.padding,) * 2,
                "dilation": (1, 1)}
        for key in ("stride", "kernel", "padding", "dilation"):
            if got[key] != want[key]:
                g = got[key][0] if got[key][0] == got[key][1] else got[key]
                w = want[key][0]
                msg = f"{name} has {key} {g}, but the spec's {s.name} has {key} {w}"
                if key == "stride":
                    msg = f"{name} has stride {g}; the spec's {s.name} has stride {w}" + _stride_hint(ctx.arch, s, g)
                return Outcome(False, msg, {"checked": n}, n, counterexample=_fault(name, key, w, g))
    return Outcome(True, f"kernel, stride, padding and dilation of {n} convolutions as the spec's",
                   {"checked": n}, n)


def _forward_failed(ctx: Context) -> Outcome | None:
    tr = ctx.trace
    if tr.error is None:
        return None
    at = f" at {tr.culprit}" if tr.culprit else ""
    return Outcome(False, f"forward on the spec's input 1x{_fmt(ctx.arch.input_shape)} fails{at}: {tr.error}",
                   {"error": tr.error, "layer": tr.culprit},
                   counterexample=_fault(tr.culprit or "(forward)", "forward", "an output", tr.error))


def check_shapes(ctx: Context) -> Outcome:
    failed = _forward_failed(ctx)
    if failed:
        return failed
    arch, tr = ctx.arch, ctx.trace
    checks: list[tuple[str, str, tuple[int, ...], A.Layer | None]] = []
    for s, name, _ in ctx.pairing.pairs:
        checks.append((name, s.name, s.out_shape, s))
    names = dict(ctx.model.named_modules())
    for stage in arch.stages:
        if stage in names:
            last = [r for r in arch.layers if r.name.startswith(stage + ".")][-1]
            checks.append((stage, stage, last.out_shape, None))
    n = 0
    for name, spec_name, want, s in checks:
        got = tr.shapes.get(name, (None, None))[1]
        if got is None:
            continue
        n += 1
        if tuple(got) != tuple(want):
            msg = f"{name} outputs {_fmt(got)}, but the spec's {spec_name} outputs {_fmt(want)}"
            m = names.get(name)
            if s is not None and m is not None and hasattr(m, "stride") and _pair2(m.stride)[0] != s.stride:
                msg += f"; {name} has stride {_pair2(m.stride)[0]}" + _stride_hint(arch, s, _pair2(m.stride)[0])
            if s is not None and s.name == "C1" and arch.input_shape[1] == 28:
                msg += "; a 28x28 input needs C1 padding 2 to give the lecture's 28x28 maps and 16x5x5 at S4"
            return Outcome(False, msg, {"checked": n}, n,
                           counterexample=_fault(name, "output shape", list(want), list(got)))
    want_out = arch.layers[-1].out_shape
    if tr.output != want_out:
        return Outcome(False, f"the model outputs {_fmt(tr.output)} per example, but should output "
                              f"{_fmt(want_out)}", {"checked": n}, n,
                       counterexample=_fault("(output)", "output shape", list(want_out), list(tr.output or ())))
    return Outcome(True, f"output shapes of {n} layers and stages, and the output {_fmt(want_out)}, as the spec's",
                   {"checked": n + 1}, n + 1)


def _spec_rf(arch: A.Architecture) -> tuple[A.Layer, int]:
    spatial = [r for r in arch.layers if r.kind in ("conv", "sparse_conv", "subsample", "maxpool", "add")
               and not r.shortcut and len(r.out_shape) == 3]
    last = spatial[-1]
    return last, last.rf


def check_receptive_field(ctx: Context) -> Outcome:
    failed = _forward_failed(ctx)
    if failed:
        return failed
    # main path: kernels paired with the spec's main-path rows, and parameter-free pools
    main = {n for s, n, _ in ctx.pairing.pairs if not s.shortcut}
    names = dict(ctx.model.named_modules())
    rf, jump, used = 1, 1, []
    for name in ctx.trace.order:
        m = names[name]
        if not hasattr(m, "kernel_size") or (name not in main and _own_params(m)):
            continue
        shp = ctx.trace.shapes.get(name)
        if shp is None or len(shp[1]) != 3 or m is ctx.model:
            continue
        k, st, d = _pair2(m.kernel_size)[0], _pair2(getattr(m, "stride", 1))[0], _pair2(getattr(m, "dilation", 1))[0]
        st = k if st is None else st
        rf, jump = rf + d * (k - 1) * jump, jump * st
        used.append(name)
    last, want = _spec_rf(ctx.arch)
    ev = {"model_rf": rf, "spec_rf": want, "spec_layer": last.name, "layers": len(used)}
    if rf != want:
        return Outcome(False, f"the receptive field after {used[-1] if used else 'the input'} is {rf} pixels, "
                              f"but the spec's after {last.name} is {want}", ev,
                       counterexample=_fault(used[-1] if used else "(input)", "receptive field", want, rf))
    return Outcome(True, f"receptive field {rf} pixels (jump {jump}) after {len(used)} kernels, as the spec's "
                         f"after {last.name}", ev, 1)


def check_macs(ctx: Context) -> Outcome:
    failed = _forward_failed(ctx)
    if failed:
        return failed
    tr = ctx.trace
    for s, name, _ in ctx.pairing.pairs:
        got = tr.macs.get(name)
        if got is not None and got != s.macs:
            return Outcome(False, f"{name} does {got:,} multiply-adds, but the spec's {s.name} does {s.macs:,}",
                           {"total": sum(tr.macs.values()), "spec_total": ctx.arch.macs},
                           counterexample=_fault(name, "multiply-adds", s.macs, got))
    total = sum(tr.macs.values())
    ev = {"total": total, "spec_total": ctx.arch.macs, "layers": len(tr.macs),
          "convention": "convs, FCs and modules with multiply_adds(); BN, activations, pooling, additions not counted"}
    if total != ctx.arch.macs:
        return Outcome(False, f"the model does {total:,} multiply-adds, but should do {ctx.arch.macs:,}", ev,
                       counterexample=_fault("(total)", "multiply-adds", ctx.arch.macs, total))
    return Outcome(True, f"{total:,} multiply-adds in {len(tr.macs)} layers, as the spec's", ev, len(tr.macs))


def _block_prefix(ctx: Context, block: A.Block) -> str | None:
    names = [n for s, n, _ in ctx.pairing.pairs if s.block == block.name]
    if not names:
        return None
    parts = [n.split(".") for n in names]
    common = []
    for level in zip(*parts):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return ".".join(common) or None


Judge = Callable[[torch.Tensor], "tuple[bool, str]"]


def _expected(ctx: Context, zeroed: nn.Module, block: A.Block, x: torch.Tensor) -> Judge:
    """A judge of the block's output ``y`` for input ``x``, with the residual branch zeroed."""
    relu = torch.relu
    if block.shortcut == "none":
        return lambda y: (tuple(y.shape[1:]) == block.out_shape and not y.any(), "0 (plain block)")
    if block.shortcut == "identity":
        return lambda y: (torch.equal(y, relu(x)), "relu(x)")
    if block.shortcut == "A":
        s = block.stride
        sub = relu(x[:, :, ::s, ::s])

        def judge_a(y: torch.Tensor) -> tuple[bool, str]:
            if y.shape[2:] != sub.shape[2:]:
                return False, "relu(x) on the stride grid"
            live = [c for c in range(y.shape[1]) if y[:, c].any()]
            if len(live) != sub.shape[1]:
                return False, (f"relu(x on the stride grid) with {y.shape[1] - sub.shape[1]} zero channels "
                               f"(option A), but {y.shape[1] - len(live)} channels are zero: the shortcut is "
                               "not option A (a projection, option B?)")
            return (torch.equal(y[:, live], sub),
                    "relu(x on the stride grid), zeros in the added channels (option A)")
        return judge_a
    names = dict(zeroed.named_modules())
    conv = names[ctx.pairing.name_of(f"{block.name}.downsample.0")]
    bn = names[ctx.pairing.name_of(f"{block.name}.downsample.1")]
    proj = relu(bn(conv(x)))
    return lambda y: (torch.equal(y, proj), "relu(W_s x), its projection shortcut (option B)")


def check_residual_identity(ctx: Context) -> Outcome:
    arch = ctx.arch
    if not arch.blocks:
        return Outcome(True, f"{arch.name} has no residual blocks", skipped=True)
    zeroed = copy.deepcopy(ctx.model).to(ctx.device).eval()
    names = dict(zeroed.named_modules())
    g = torch.Generator().manual_seed(ctx.seed)
    with torch.no_grad():
        for b in arch.blocks:
            bn_name = ctx.pairing.name_of(b.last_bn)
            if bn_name is None:
                return Outcome(False, f"the spec's {b.last_bn} (last batch norm of {b.name}) has no "
                                      "counterpart in the model",
                               counterexample=_fault(b.last_bn, "missing layer", "a batch norm", None))
            names[bn_name].weight.zero_()
            names[bn_name].bias.zero_()
        # every block, then every stage the model names as the spec does (a stage with its branches
        # zeroed is its first block's shortcut: the later blocks apply relu to a relu)
        units = [(_block_prefix(ctx, b), b) for b in arch.blocks]
        for st in arch.stages:
            if st in names:
                units.append((st, next(b for b in arch.blocks if b.name.startswith(st + "."))))
        checked, ev = 0, []
        for prefix, first in units:
            if prefix is None or prefix not in names:
                return Outcome(False, f"cannot find the module of block {first.name} in the model",
                               counterexample=_fault(first.name, "block module", first.name, None))
            if first.shortcut == "B" and None in (ctx.pairing.name_of(f"{first.name}.downsample.{i}") for i in (0, 1)):
                return Outcome(False, f"{prefix}: the spec's projection shortcut {first.name}.downsample has no "
                                      "counterpart in the model", counterexample=_fault(prefix, "missing layer",
                                                                                         "a projection", None))
            x = torch.randn(2, *first.in_shape, generator=g).to(ctx.device)
            y = names[prefix](x.clone())
            ok, what = _expected(ctx, zeroed, first, x)(y)
            checked += 1
            if not ok:
                return Outcome(False, _residual_message(prefix, first, x, y, what), {"checked": checked},
                               checked, counterexample=_fault(prefix, "zeroed-branch output", what, _sample(x, y)))
            ev.append(prefix)
    kinds = sorted({b.shortcut for b in arch.blocks})
    head = (f"with the last BN of every branch zeroed, {len(arch.blocks)} blocks and "
            f"{checked - len(arch.blocks)} stages")
    if kinds == ["none"]:
        return Outcome(True, f"{head} of the plain net output exactly 0, not the identity",
                       {"checked": ev}, checked)
    return Outcome(True, f"{head} compute exactly relu of their shortcut ({', '.join(kinds)}), bit for bit",
                   {"checked": ev}, checked)


def _sample(x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    if x.shape == y.shape:
        idx = (y != torch.relu(x)).nonzero()
        if len(idx):
            i = tuple(idx[0].tolist())
            return {"index": list(i), "x": float(x[i]), "y": float(y[i]), "relu(x)": float(torch.relu(x)[i])}
    return {"y_shape": list(y.shape), "x_shape": list(x.shape)}


def _residual_message(name: str, b: A.Block, x: torch.Tensor, y: torch.Tensor, what: str) -> str:
    head = f"{name}: with the last batch norm of its branch zeroed"
    if b.shortcut == "none":
        return f"{head} the plain block outputs non-zero values ({int(y.ne(0).sum())} entries); it should output 0"
    if x.shape == y.shape and torch.equal(y, x):
        return (f"{head} it returns x itself, not relu(x): the ReLU after the addition is missing "
                "(post-activation block, He et al. 2016 Fig. 2)")
    if not y.any():
        return f"{head} it returns 0, not {what}: the block has no shortcut (a plain block)"
    if x.shape == y.shape:
        bad = int((y != torch.relu(x)).sum())
        return f"{head} it differs from {what} at {bad:,} of {y.numel():,} entries"
    return f"{head} it does not return {what}"


def check_stem_equivariance(ctx: Context) -> Outcome:
    first = next(((s, n, m) for s, n, m in ctx.pairing.pairs if s.kind == "conv"
                  and isinstance(m, nn.modules.conv._ConvNd)), None)
    if first is None:
        return Outcome(True, "no convolution paired with the spec's first conv", skipped=True)
    s, name, m = first
    conv = copy.deepcopy(m).to(ctx.device)
    g = torch.Generator().manual_seed(ctx.seed)
    with torch.no_grad():
        conv.weight.copy_(torch.randint(-2, 3, conv.weight.shape, generator=g))
        if conv.bias is not None:
            conv.bias.copy_(torch.randint(-2, 3, conv.bias.shape, generator=g))
        x = torch.randint(-3, 4, (1, *s.in_shape), generator=g).to(ctx.device, conv.weight.dtype)
        st, p = _pair2(conv.stride)[0], _pair2(conv.padding)[0]
        k, d = _pair2(conv.kernel_size)[0], _pair2(conv.dilation)[0]
        y, y2 = conv(x), conv(x[:, :, st:, st:])
    h = s.in_shape[1] - st
    idx = [i for i in range(y2.shape[-2]) if i * st - p >= 0 and i * st - p + d * (k - 1) <= h - 1
           and i + 1 < y.shape[-2]]
    jdx = [j for j in range(y2.shape[-1]) if j * st - p >= 0 and j * st - p + d * (k - 1) <= s.in_shape[2] - st - 1
           and j + 1 < y.shape[-1]]
    if not idx or not jdx:
        return Outcome(True, f"{name}: no interior outputs to compare", skipped=True)
    ii, jj = torch.tensor(idx), torch.tensor(jdx)
    a = y2[:, :, ii][:, :, :, jj]
    b = y[:, :, ii + 1][:, :, :, jj + 1]
    ok = torch.equal(a, b)
    ev = {"layer": name, "shift": st, "interior": [len(idx), len(jdx)], "differing": int((a != b).sum())}
    if not ok:
        return Outcome(False, f"{name}: shifting the input by its stride {st} does not shift the output by one "
                              f"on the interior ({ev['differing']} of {a.numel()} entries differ; "
                              "exact-integer data)",
                       ev, 1, counterexample=_fault(name, "shift equivariance", "equal", "different"))
    return Outcome(True, f"{name}: a shift of the input by {st} shifts the output by 1 on the "
                         f"{len(idx)}x{len(jdx)} interior, exactly (small-integer weights and input)", ev, 1)


_SPEC = "cnnspec spec {spec}"
# check name: (function, statement, method, source)
_CHECKS: dict[str, tuple[Callable[[Context], Outcome], str, str, str]] = {
    "params": (check_params, "Every parametrised layer has the spec's weights and biases; the total "
               "is the spec's.", "exact", _SPEC + " (derived; published: {source})"),
    "geometry": (check_geometry, "Every convolution has the spec's kernel, stride, padding and "
                 "dilation.", "exact", _SPEC),
    "shapes": (check_shapes, "Every layer and stage outputs the spec's shape on the spec's input; so "
               "does the network.", "exact", _SPEC),
    "receptive_field": (check_receptive_field, "The receptive field of the last spatial layer is the "
                        "spec's.", "exact", _SPEC + "; Araujo et al. 2019"),
    "macs": (check_macs, "The measured multiply-adds of every layer, and in total, are the spec's.",
             "exact", _SPEC),
    "residual_identity": (check_residual_identity,
                          "With the last batch norm (γ, β) of every residual branch zeroed, each block "
                          "computes exactly relu of its shortcut (relu(x) for identity shortcuts), and "
                          "each stage reduces to its shortcut; a plain block outputs 0.", "exact",
                          "He et al. 2016 §3.1, §3.3, Fig. 2"),
    "stem_equivariance": (check_stem_equivariance,
                          "The first convolution commutes with a shift of the input by its stride on "
                          "the interior.", "exact",
                          "CNN lecture, equivariance to translation; Goodfellow et al. 2016 §9.2"),
}


def _claim(check: str, arch: A.Architecture, group: str = "model") -> Claim:
    fn, statement, method, source = _CHECKS[check]
    src = "; ".join(sorted({p.source for p in arch.published})) or "the layer table"
    return Claim(f"model.{check}", statement, source.format(spec=arch.name, source=src),
                 method, lambda ctx: fn(ctx), group)  # type: ignore[arg-type]


def prepare(factory_or_module: Any, spec_name: str, device: str = "cpu", seed: int = 0,
            label: str = "factory", timeout: float | None = None) -> Context:
    """Build the model (seeded), pair it with the spec, and trace one forward pass."""
    if spec_name not in A.SPECS:
        raise UsageError(f"--spec: {spec_name!r} is not a known architecture; known: {', '.join(A.SPECS)}")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda") and not str(device).startswith("cuda:"):
        raise UsageError(f"--device: {device!r} is not 'cpu' or 'cuda'")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("--device: cuda was asked for but torch.cuda.is_available() is False; use --device cpu")
    arch = A.get(spec_name)
    torch.manual_seed(seed)
    model = instantiate(factory_or_module, label).to(device).eval()
    tr = trace(model, arch.input_shape, device, seed, timeout)
    return Context(model, arch, pair_layers(model, arch), tr, device, seed)


def run_checks(ctx: Context, checks: Iterable[str] | None = None,
               timeout: float | None = None) -> list[ClaimResult]:
    """Run the named checks (all by default); each gets ``timeout`` seconds, or is an ``error``."""
    chosen = list(CHECKS if checks is None else checks)
    unknown = [c for c in chosen if c not in _CHECKS]
    if unknown:
        raise UsageError(f"checks: {unknown[0]!r} is not one of {', '.join(CHECKS)}")
    results = []
    for c in chosen:
        claim = _claim(c, ctx.arch)
        check = claim.check
        timed = Claim(claim.id, claim.statement, claim.source, claim.method,
                      lambda ctx, check=check, c=c: _timed(check, ctx, timeout, c), claim.group)
        results.append(run_claim(timed, ctx=ctx))
    return results


def _timed(check: Callable[[Context], Outcome], ctx: Context, timeout: float | None, name: str) -> Outcome:
    with deadline(timeout, f"check {name}"):
        return check(ctx)


def validate_model(factory_or_module: Any, spec_name: str, device: str = "cpu", seed: int = 0,
                   checks: Iterable[str] | None = None) -> list[ClaimResult]:
    """Every model claim (or those named in ``checks``) of ``factory_or_module`` against ``spec_name``."""
    return run_checks(prepare(factory_or_module, spec_name, device, seed), checks)


def prepare_checked(obj: Any, target: str, spec: str, device: str, seed: int,
                    timeout: float | None) -> Context:
    """:func:`prepare`, and a :class:`UsageError` when the forward pass on the spec's input fails."""
    ctx = prepare(obj, spec, device, seed, label=target, timeout=timeout)
    if ctx.trace.error is not None:
        at = f" at {ctx.trace.culprit}" if ctx.trace.culprit else ""
        raise UsageError(f"--model: forward on the spec's input 1x{_fmt(ctx.arch.input_shape)} "
                         f"({spec}) fails{at}: {ctx.trace.error}")
    return ctx


def validate_model_command(args: argparse.Namespace) -> int:
    """``cnnspec validate --model TARGET --spec NAME``: 0 all hold, 1 a claim fails, 2 bad input."""
    spec = getattr(args, "spec", None)
    if not spec:
        raise UsageError(f"--spec: give --spec NAME with --model; known: {', '.join(A.SPECS)}")
    if spec not in A.SPECS:
        raise UsageError(f"--spec: {spec!r} is not a known architecture; known: {', '.join(A.SPECS)}")
    device = getattr(args, "device", None) or "cpu"
    seed = getattr(args, "seed", None)
    seed = 0 if seed is None else seed
    timeout = getattr(args, "timeout", None)
    from .model_worker import run_isolated    # the factory runs in a child process, never here
    results = run_isolated(args.model, spec, device, seed, timeout)
    verdict = "fail" if any(r.status in ("fail", "error") for r in results) else "pass"
    print(f"cnnspec validate --model {args.model} --spec {spec}: {verdict}")
    width = max(len(r.id) for r in results)
    for r in results:
        print(f"  {r.status.upper():7} {r.id.ljust(width)}  {r.message}")
    report_dir = getattr(args, "report", None)
    if report_dir:
        report = build_report("validate-model", results, target=args.model, op=None,
                              env=environment(device, seed), spec=spec)
        path = write_atomic(Path(report_dir) / "report.json", dumps(report))
        print(f"report: {path}")
    return 0 if verdict == "pass" else 1
