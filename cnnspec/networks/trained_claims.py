"""Claims over a trained network (group ``training``): the spec's properties survive training.

After training, the weights are whatever the optimiser left: arbitrary float32 values. These claims
run the spec's statements on exactly those weights:

* ``trained.conv.toeplitz`` — every convolution layer computes ``T(w)·u + b`` with ``T(w)`` the
  convolution (Toeplitz) matrix of :mod:`cnnspec.spec.toeplitz`, exactly;
* ``trained.conv.equivariance`` — its feature maps are shift-equivariant on the interior;
* ``trained.maxpool.invariance`` — max pooling on the real feature maps of test images ignores the
  order inside each window, commutes with ReLU, and is equivariant to shifts by its stride;
* ``trained.residual.zero_branch`` — with its residual branches zeroed, a trained ResNet block is
  its shortcut (the identity where the shape is kept) — He et al. 2016 §3.1;
* ``trained.shift_consistency`` — Zhang's consistency of the predictions under small shifts.

Exact tier. The layer runs in float64 on inputs ``u ∈ {−1, 0, 1}``. Every trained weight and bias
is ``m·2^e`` with an integer ``m``; writing all of them over the smallest ``2^e`` turns ``T(w)·u + b``
into an integer sum, computed exactly (int64, or Python integers when int64 could overflow). Where
the sum of the magnitudes of an output's terms is below ``2^53``, every partial sum in any order is
a float64 number, so the float64 layer must agree bit for bit; where it is not (weights whose
exponents span too widely), the output is held to the rigorous bound ``γ_n · Σ|terms|`` instead and
the evidence says how many outputs were in which tier.

References
----------
Goodfellow, Bengio & Courville, *Deep Learning* (2016), §9.1–9.3 (Toeplitz form, equivariance,
pooling). He, Zhang, Ren & Sun, *Deep residual learning for image recognition*, CVPR 2016, §3.1.
R. Zhang, *Making Convolutional Networks Shift-Invariant Again*, ICML 2019 (consistency, §4.1).
Higham, *Accuracy and Stability of Numerical Algorithms* (2002), §3.1 (γ_n).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..claims import REGISTRY, ClaimResult, Outcome, claim, load_all, run_claim
from ..oracle import gamma, unit_roundoff
from ..oracle.dyadic import dyadic, ratio, to_float, trim
from ..reference.shifts import shift_consistency
from ..shapes import as_tuple, fmt_shape
from ..spec.convolution import ConvSpec
from ..spec.toeplitz import ConvMatrix

GROUP = "training"
SHIFT = 2                   # Zhang's shifts: up to ±2 pixels per axis
CONSISTENCY_THRESHOLD = 0.50      # "approximately invariant": agreement well above chance (~0.1)
N_IMAGES = 2000             # test images for the feature-map and consistency claims
N_SHIFT_DETAIL = 500        # of which the ±1 px and ±4 px consistency figures use the first
_U53 = unit_roundoff("float64")


def _no_target() -> Outcome:
    return Outcome(True, "no trained model given (run through verify_trained or cnnspec train)",
                   skipped=True)


# --- what the claims are given ------------------------------------------------------------------

@dataclass
class _Test:
    x: torch.Tensor          # (N, C, H, W) as the model reads them
    y: torch.Tensor | None
    background: float        # the value of a black pixel (the fill of shifts)


def _test_images(data: Any, device) -> _Test:
    """``data``: an object with ``test_x`` (and ``test_y``, ``background``), e.g.
    ``reference.data.DeviceData``; or an image tensor; or a pair ``(images, labels)``."""
    if isinstance(data, torch.Tensor):
        x, y, bg = data, None, 0.0
    elif isinstance(data, (tuple, list)):
        x, y, bg = data[0], data[1], 0.0
    else:
        x, y, bg = data.test_x, getattr(data, "test_y", None), float(getattr(data, "background", 0.0))
    return _Test(x[:N_IMAGES].to(device), None if y is None else y[:N_IMAGES].to(device), bg)


# --- convolution layers: geometry and exact evaluation ------------------------------------------

@dataclass
class _Conv:
    name: str
    module: nn.Module
    weight: np.ndarray       # (C_out, C_in/groups, kh, kw), float64 holding the trained values
    bias: np.ndarray | None
    spec: ConvSpec


def _conv_layers(model: nn.Module, x: torch.Tensor) -> list[_Conv]:
    """Every convolution of ``model`` with the geometry it sees on input ``x`` (one forward pass).

    ``nn.Conv2d``, and the reference LeNet-5 (1998)'s own convolutions: a sparse C3 with a
    ``dense_weight()`` and the trainable subsampling (a depthwise 2x2 stride-2 convolution whose four
    taps share one coefficient).
    """
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = []
    for name, m in model.named_modules():
        if _is_conv(m):
            hooks.append(m.register_forward_pre_hook(
                lambda mod, inp, name=name: shapes.__setitem__(name, tuple(inp[0].shape))))
    try:
        with torch.no_grad():
            model(x[:1])
    finally:
        for h in hooks:
            h.remove()
    layers = []
    for name, m in model.named_modules():
        if name not in shapes:
            continue
        w, b, groups, dil = _conv_params(m)
        cin, h, wd = shapes[name][1:]
        spec = ConvSpec.make((h, wd), tuple(w.shape[2:]), in_channels=cin, out_channels=w.shape[0],
                             groups=groups, stride=tuple(m.stride), padding=tuple(m.padding),
                             dilation=dil)
        layers.append(_Conv(name, m, w, b, spec))
    return layers


def _is_conv(m: nn.Module) -> bool:
    if isinstance(m, nn.Conv2d):
        return m.padding_mode == "zeros" and not isinstance(m.padding, str)
    return hasattr(m, "dense_weight") or (  # LeNet-5 (1998): sparse C3, subsampling S2/S4
        hasattr(m, "kernel_size") and hasattr(m, "stride") and isinstance(getattr(m, "weight", None),
                                                                          torch.Tensor)
        and m.weight.ndim == 1)


def _conv_params(m: nn.Module):
    """(weight, bias, groups, dilation) of a convolution module, as float64 NumPy arrays."""
    with torch.no_grad():
        if isinstance(m, nn.Conv2d):
            w, groups, dil = m.weight, m.groups, tuple(m.dilation)
        elif hasattr(m, "dense_weight"):
            w, groups, dil = m.dense_weight(), 1, (1, 1)
        else:
            c = m.weight.numel()
            w, groups, dil = m.weight.view(c, 1, 1, 1).expand(c, 1, *m.kernel_size), c, (1, 1)
        b = getattr(m, "bias", None)
        to = lambda t: t.detach().double().cpu().numpy().copy()  # noqa: E731
        return to(w), (to(b) if b is not None else None), groups, dil


def _float64_layer(m: nn.Module, device) -> nn.Module:
    return copy.deepcopy(m).to(device=device, dtype=torch.float64).eval()


def exact_conv(layer: _Conv, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Exact ``T(w)·u + b`` for integer ``u`` (C_in, H, W): integers ``r`` and ``S`` (the sum of the
    terms' magnitudes) per output, and the exponent ``e`` (value = r·2^e)."""
    params = layer.weight if layer.bias is None else np.concatenate([layer.weight.ravel(), layer.bias])
    m, e = trim(*dyadic(params))
    wm = m[: layer.weight.size]
    bm = m[layer.weight.size:] if layer.bias is not None else None
    T = ConvMatrix(layer.spec)
    u = u.reshape(-1).astype(np.int64)
    n_out_ch = layer.spec.out_channels
    per_ch = layer.spec.n_out // n_out_ch
    biggest = max(abs(int(v)) for v in m.reshape(-1))
    if biggest * int(np.abs(u).max() or 1) * (layer.spec.taps + 1) < 2 ** 62:
        w64 = wm.astype(np.int64).reshape(-1)
        r = T.numeric(w64) @ u                      # int64 sparse product: exact (no overflow)
        s = T.numeric(np.abs(w64)) @ np.abs(u)
        if bm is not None:
            b64 = np.repeat(bm.astype(np.int64), per_ch)
            r, s = r + b64, s + np.abs(b64)
        return r.astype(object), s.astype(object), e
    # Python integers: no overflow whatever the exponent span
    w_obj = wm.reshape(-1)
    vals = w_obj[T.widx] * u[T.cols].astype(object)
    r = np.zeros(layer.spec.n_out, dtype=object)
    s = np.zeros(layer.spec.n_out, dtype=object)
    np.add.at(r, T.rows, vals)
    np.add.at(s, T.rows, np.abs(vals))
    if bm is not None:
        bb = np.repeat(bm, per_ch)
        r, s = r + bb, s + np.abs(bb)
    return r, s, e


def _exact_tier_check(got: np.ndarray, r: np.ndarray, s: np.ndarray, e: int, n_terms: int):
    """Bit equality where provably exact, the γ_n bound elsewhere. Returns (ok, evidence)."""
    exact = np.array([int(v) < 2 ** 53 for v in s], dtype=bool)
    want = to_float(r, e)
    mism = np.flatnonzero(exact & (got != want))
    g = gamma(n_terms, "float64")
    sf = to_float(s, e)
    bound = g * sf + np.abs(want) * _U53 + np.finfo(np.float64).tiny
    ratio = np.where(exact, 0.0, np.abs(got - want) / bound)
    worst = float(ratio.max()) if ratio.size else 0.0
    return mism, exact, want, worst


@claim("trained.conv.toeplitz",
       "Every convolution layer of the trained network computes T(w)·u + b, the product with its "
       "convolution (doubly block Toeplitz) matrix, exactly: float64, inputs u in {-1, 0, 1}.",
       "Lecture: a convolutional layer is a fully connected layer with a Toeplitz weight matrix; "
       "Goodfellow et al. 2016 §9.1", "exact", group=GROUP)
def check_conv_toeplitz(model: nn.Module | None = None, data: Any = None,
                        device="cpu", seed: int = 0, **_: Any) -> Outcome:
    if model is None or data is None:
        return _no_target()
    test = _test_images(data, "cpu")
    model = model.eval()
    layers = _conv_layers(copy.deepcopy(model).cpu(), test.x)
    if not layers:
        return Outcome(True, "the network has no convolution layers", skipped=True)
    g = np.random.default_rng(seed)
    per_layer, worst, n_bound = {}, 0.0, 0
    for L in layers:
        u = g.integers(-1, 2, size=L.spec.input_shape)
        r, s, e = exact_conv(L, u)
        f64 = _float64_layer(L.module, device)
        with torch.no_grad():
            got = f64(torch.from_numpy(u).double().unsqueeze(0).to(device))[0].cpu().numpy().reshape(-1)
        mism, exact, want, w = _exact_tier_check(got, r, s, e, L.spec.taps + 1)
        worst, n_bound = max(worst, w), n_bound + int((~exact).sum())
        per_layer[L.name] = {"geometry": L.spec.describe(), "outputs": int(got.size),
                             "exact_tier": int(exact.sum()), "bound_tier": int((~exact).sum()),
                             "nonzeros_of_T": int(L.spec.n_out * L.spec.taps)}
        if mism.size:
            i = int(mism[0])
            return Outcome(False, f"layer {L.name}: output {i} (of {got.size}) is {got[i]!r} but "
                                  f"T(w)·u + b is exactly {want[i]!r}; {mism.size} outputs differ",
                           evidence={"layers": per_layer},
                           counterexample={"args": {"layer": L.name, "seed": seed},
                                           "expected": [float(want[i])], "got": [float(got[i])]})
        if w > 1:
            return Outcome(False, f"layer {L.name}: error {w:.3g} times the float64 bound",
                           evidence={"layers": per_layer}, max_error_over_bound=w)
    tiers = "all outputs bit-exact" if n_bound == 0 else f"{n_bound} outputs held to the γ_n bound"
    return Outcome(True, f"{len(layers)} convolution layers equal T(w)·u + b ({tiers})",
                   evidence={"layers": per_layer}, examples=len(layers),
                   max_error_over_bound=worst)


def _interior(spec: ConvSpec, shift: tuple[int, int]) -> tuple[slice, slice]:
    """Output positions ``o`` whose window lies inside the input both at ``o`` and (for the input
    shifted by ``shift = s·t``) at ``o + t``: no padding is read by either."""
    sl = []
    for ax in range(2):
        n, k, s, (p, _), d, m = (spec.input_size[ax], spec.kernel_size[ax], spec.stride[ax],
                                 spec.padding[ax], spec.dilation[ax], spec.output_size[ax])
        t = shift[ax] // s
        ok = [o for o in range(m) if 0 <= o * s - p and o * s - p + d * (k - 1) < n
              and 0 <= o + t < m and 0 <= (o + t) * s - p and (o + t) * s - p + d * (k - 1) < n]
        if not ok:
            return slice(0, 0), slice(0, 0)
        sl.append(slice(min(ok), max(ok) + 1))
    return sl[0], sl[1]


@claim("trained.conv.equivariance",
       "The feature maps of every trained convolution layer are equivariant to translation on the "
       "interior: conv(S_t u) = S_{t/s} conv(u) for shifts t that are multiples of the stride s, "
       "wherever neither window reaches the padding (float64, u in {-1, 0, 1}).",
       "Lecture: convolution is equivariant to translation; Goodfellow et al. 2016 §9.2",
       "exact", group=GROUP)
def check_conv_equivariance(model: nn.Module | None = None, data: Any = None,
                            device="cpu", seed: int = 0, **_: Any) -> Outcome:
    if model is None or data is None:
        return _no_target()
    test = _test_images(data, "cpu")
    layers = _conv_layers(copy.deepcopy(model).cpu().eval(), test.x)
    if not layers:
        return Outcome(True, "the network has no convolution layers", skipped=True)
    g = np.random.default_rng(seed + 1)
    checked, evidence = 0, {}
    for L in layers:
        f64 = _float64_layer(L.module, device)
        # Exact tier when S = Σ|w_int·u| + |b_int| < 2^53 for every output: then both sides are
        # the exact value. With |u| <= 1, S is at most the per-channel Σ|w_int| + |b_int|.
        s_max, e = _max_abs_sum(L)
        exact_tier = s_max < 2 ** 53
        n_terms = L.spec.taps + 1
        for t in ((1, 0), (0, 1), (1, 1), (2, -1)):
            shift = (t[0] * L.spec.stride[0], t[1] * L.spec.stride[1])
            u = torch.from_numpy(g.integers(-1, 2, size=L.spec.input_shape)).double()
            us = torch.zeros_like(u)
            H, W = u.shape[1:]
            dy, dx = shift
            us[:, max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
                u[:, max(-dy, 0):H - max(dy, 0), max(-dx, 0):W - max(dx, 0)]
            with torch.no_grad():
                a = f64(u.unsqueeze(0).to(device))[0].cpu()
                b = f64(us.unsqueeze(0).to(device))[0].cpu()
            ri, ci = _interior(L.spec, shift)
            if ri.stop <= ri.start or ci.stop <= ci.start:
                continue
            ty, tx = t
            lhs = b[:, ri.start + ty:ri.stop + ty, ci.start + tx:ci.stop + tx]
            rhs = a[:, ri, ci]
            checked += 1
            if exact_tier:
                bad = torch.nonzero(lhs != rhs)
                if len(bad):
                    c, i, j = (int(v) for v in bad[0])
                    return Outcome(False, f"layer {L.name}, shift {shift}: output ({c},{i + ri.start},"
                                          f"{j + ci.start}) is {float(rhs[c, i, j])!r} but at the shifted "
                                          f"position {float(lhs[c, i, j])!r}",
                                   counterexample={"args": {"layer": L.name, "shift": list(shift),
                                                            "seed": seed},
                                                   "expected": [float(rhs[c, i, j])],
                                                   "got": [float(lhs[c, i, j])]})
            else:
                g = gamma(n_terms, "float64")
                bound = 2 * g * ratio(s_max, -e) if e < 0 else 2 * g * float(s_max * 2 ** e)
                err = float((lhs - rhs).abs().max())
                if err > bound:
                    return Outcome(False, f"layer {L.name}, shift {shift}: differs by {err:.3g} > bound "
                                          f"{bound:.3g}", max_error_over_bound=err / bound)
            evidence.setdefault(L.name, []).append({"shift": list(shift), "interior": [
                [ri.start, ri.stop], [ci.start, ci.stop]], "tier": "exact" if exact_tier else "bound"})
    return Outcome(True, f"{len(layers)} layers, {checked} shifts: equal on the interior",
                   evidence={"layers": evidence}, examples=checked)


def _max_abs_sum(L: _Conv) -> tuple[int, int]:
    """``max over output channels of Σ|w_int| + |b_int|`` and the exponent ``e`` (value = int·2^e):
    a bound on ``S`` of every output for inputs |u| <= 1."""
    params = L.weight if L.bias is None else np.concatenate([L.weight.ravel(), L.bias])
    m, e = trim(*dyadic(params))
    w = np.abs(m[: L.weight.size].reshape(L.weight.shape[0], -1))
    per = [sum(int(v) for v in w[c]) for c in range(w.shape[0])]
    if L.bias is not None:
        per = [p + abs(int(b)) for p, b in zip(per, m[L.weight.size:])]
    return max(per), e


# --- max pooling on the trained feature maps ---------------------------------------------------

def _pool_inputs(model: nn.Module, x: torch.Tensor) -> dict[str, tuple[nn.MaxPool2d, torch.Tensor]]:
    got: dict[str, tuple[nn.MaxPool2d, torch.Tensor]] = {}
    hooks = [m.register_forward_pre_hook(lambda mod, inp, n=n: got.__setitem__(n, (mod, inp[0].clone())))
             for n, m in model.named_modules() if isinstance(m, nn.MaxPool2d)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return got


@claim("trained.maxpool.invariance",
       "Max pooling on the trained network's feature maps (real test images) is invariant to any "
       "reordering inside each window, commutes with ReLU (max(relu) = relu(max)), and is "
       "equivariant to shifts by multiples of its stride on the interior; bit for bit.",
       "Lecture: pooling makes the representation approximately invariant to small translations; "
       "Goodfellow et al. 2016 §9.3", "exact", group=GROUP)
def check_maxpool(model: nn.Module | None = None, data: Any = None,
                  device="cpu", seed: int = 0, **_: Any) -> Outcome:
    if model is None or data is None:
        return _no_target()
    if not any(isinstance(m, nn.MaxPool2d) for m in model.modules()):
        return Outcome(True, "the network has no max pooling layer", skipped=True)
    test = _test_images(data, device)
    pools = _pool_inputs(model.eval(), test.x[:500])
    if not pools:
        return Outcome(True, "the network has no max pooling layer", skipped=True)
    g = torch.Generator().manual_seed(seed)
    evidence = {}
    for name, (pool, x) in pools.items():
        k, s = as_tuple(pool.kernel_size, 2), as_tuple(pool.stride, 2)
        out = pool(x)
        where = f"{name} ({fmt_shape(x.shape[1:])} maps of {len(x)} test images)"
        # 1. any permutation inside every window (non-overlapping windows: k == s, no padding)
        if k == s and as_tuple(pool.padding, 2) == (0, 0) and as_tuple(pool.dilation, 2) == (1, 1):
            n, c, h, w = x.shape
            oh, ow = h // k[0], w // k[1]
            win = x[:, :, :oh * k[0], :ow * k[1]].reshape(n, c, oh, k[0], ow, k[1])
            win = win.permute(0, 1, 2, 4, 3, 5).reshape(n, c, oh, ow, k[0] * k[1])
            perm = torch.argsort(torch.rand(win.shape, generator=g).to(win.device), dim=-1)
            shuffled = torch.gather(win, -1, perm).reshape(n, c, oh, ow, k[0], k[1])
            xs = shuffled.permute(0, 1, 2, 4, 3, 5).reshape(n, c, oh * k[0], ow * k[1])
            if not torch.equal(pool(xs), out[:, :, :oh, :ow]):
                return Outcome(False, f"{where}: shuffling inside the windows changed the output")
        # 2. max commutes with the monotone ReLU
        if not torch.equal(pool(F.relu(x)), F.relu(out)):
            return Outcome(False, f"{where}: maxpool(relu(x)) != relu(maxpool(x))")
        # 3. equivariance to shifts by the stride; and how invariant to a one-pixel shift
        xs = torch.roll(x, shifts=(s[0], s[1]), dims=(2, 3))
        o2 = pool(xs)
        if not torch.equal(o2[:, :, 1:, 1:], out[:, :, :-1, :-1]):
            return Outcome(False, f"{where}: pool(S_s x) != S_1 pool(x) on the interior")
        one = pool(torch.roll(x, shifts=(0, 1), dims=(2, 3)))
        same = float((one[:, :, :, 1:-1] == out[:, :, :, 1:-1]).float().mean())
        evidence[name] = {"kernel": list(k), "stride": list(s), "maps": list(x.shape),
                          "unchanged_by_1px_shift": round(same, 4)}
    return Outcome(True, f"{len(pools)} max-pooling layers: order-invariant, commute with ReLU, "
                         "stride-equivariant; unchanged by a 1-pixel shift: " +
                   ", ".join(f"{n} {e['unchanged_by_1px_shift']:.1%}" for n, e in evidence.items()),
                   evidence=evidence, examples=len(pools))


# --- residual branches ---------------------------------------------------------------------------

def _residual_blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Blocks in the reference ResNet layout: ``residual`` True and a last batch norm (bn2/bn3)."""
    return [(n, m) for n, m in model.named_modules()
            if getattr(m, "residual", False) is True and hasattr(m, "bn2")]


@claim("trained.residual.zero_branch",
       "With its residual branch F zeroed (the branch's last batch norm scaled to 0), every block of "
       "the trained ResNet outputs its shortcut, relu(x + 0) = x for the identity shortcut; bit for "
       "bit on the real activations of test images.",
       "He et al. 2016 §3.1: 'if an identity mapping were optimal, the solvers may simply drive the "
       "weights of the multiple nonlinear layers toward zero'", "exact", group=GROUP)
def check_zero_branch(model: nn.Module | None = None, data: Any = None,
                      device="cpu", **_: Any) -> Outcome:
    if model is None or data is None:
        return _no_target()
    blocks = _residual_blocks(model)
    if not blocks:
        return Outcome(True, "the network has no residual blocks", skipped=True)
    test = _test_images(data, device)
    inputs: dict[str, torch.Tensor] = {}
    hooks = [m.register_forward_pre_hook(lambda mod, inp, n=n: inputs.__setitem__(n, inp[0].clone()))
             for n, m in blocks]
    try:
        with torch.no_grad():
            model.eval()(test.x[:200])
    finally:
        for h in hooks:
            h.remove()
    identity_blocks = 0
    for name, block in blocks:
        z = copy.deepcopy(block).eval()
        last = z.bn3 if hasattr(z, "bn3") else z.bn2
        with torch.no_grad():
            last.weight.zero_()
            last.bias.zero_()
            x = inputs[name]
            got = z(x.clone())
            short = x if z.downsample is None else z.downsample(x)
        identity_blocks += z.downsample is None
        if not torch.equal(got, short):
            d = (got - short).abs().max()
            return Outcome(False, f"block {name}: with the branch zeroed the output differs from the "
                                  f"shortcut by up to {float(d):.3g}")
    # the whole network: branches zeroed == stem, then shortcuts only, then the head
    zm = copy.deepcopy(model).eval()
    for _, b in _residual_blocks(zm):
        last = b.bn3 if hasattr(b, "bn3") else b.bn2
        with torch.no_grad():
            last.weight.zero_()
            last.bias.zero_()
    with torch.no_grad():
        whole = zm(test.x[:200])
        stem = zm.maxpool(zm.relu(zm.bn1(zm.conv1(test.x[:200])))) if hasattr(zm, "conv1") else None
        if stem is not None:
            for _, b in _residual_blocks(zm):
                stem = stem if b.downsample is None else b.downsample(stem)
            direct = zm.fc(torch.flatten(zm.avgpool(stem), 1))
            if not torch.equal(whole, direct):
                return Outcome(False, "network with every branch zeroed is not stem → shortcuts → head")
    return Outcome(True, f"{len(blocks)} blocks ({identity_blocks} with identity shortcut) output "
                         f"their shortcut exactly; the zeroed network is stem → shortcuts → head",
                   evidence={"blocks": len(blocks), "identity_blocks": identity_blocks},
                   examples=len(blocks))


# --- shift consistency (empirical) ---------------------------------------------------------------

@claim("trained.shift_consistency",
       f"Small shifts change some predictions of the trained network, though far fewer than chance "
       f"would: for two independent random shifts of up to ±{SHIFT} px (black fill) of the same "
       f"test image, the predicted class agrees on fewer than 100% of images (convolutional nets are "
       f"not shift-invariant) and on at least {CONSISTENCY_THRESHOLD:.0%} (approximately invariant).",
       "Zhang 2019, ICML, §4.1 (classification consistency); lecture: pooling gives approximate "
       "invariance to small translations", "empirical", group=GROUP)
def check_shift_consistency(model: nn.Module | None = None, data: Any = None,
                            device="cpu", seed: int = 0, **_: Any) -> Outcome:
    if model is None or data is None:
        return _no_target()
    test = _test_images(data, device)
    model.eval()
    res = shift_consistency(model, test.x, max_shift=SHIFT, fill=test.background, seed=seed)
    x1 = test.x[:N_SHIFT_DETAIL]
    by_shift = {k: round(shift_consistency(model, x1, max_shift=k, fill=test.background,
                                           seed=seed)["consistency"], 4) for k in (1, 4)}
    by_shift[SHIFT] = round(res["consistency"], 4)
    res["by_max_shift"] = dict(sorted(by_shift.items()))
    c = res["consistency"]
    return Outcome(CONSISTENCY_THRESHOLD <= c < 1,
                   f"consistency {c:.2%} ({res['agree']}/{res['n']} test images agree; "
                   f"on the first {len(x1)}: ±1 px {by_shift[1]:.2%}, ±4 px {by_shift[4]:.2%}); "
                   f"should be in [{CONSISTENCY_THRESHOLD:.0%}, 100%)", evidence=res, examples=res["n"])


# --- entry point ----------------------------------------------------------------------------------

def verify_trained(model_name: str, model: nn.Module, data: Any, device: Any = "cpu",
                   seed: int = 0) -> list[ClaimResult]:
    """Run every ``training`` claim on a trained ``model``.

    ``data``: the test images as the model reads them, as ``reference.data.DeviceData`` (uses
    ``test_x``, ``test_y``, ``background``), an (N, C, H, W) tensor, or ``(images, labels)``.
    ``device``: where the model and the float64 copies of its layers run. Returns one
    :class:`~cnnspec.claims.ClaimResult` per claim, each with ``evidence["model"] = model_name``.
    """
    load_all()
    dev = torch.device(device)
    model = model.to(dev).eval()
    results = []
    for c in [c for c in REGISTRY.values() if c.group == GROUP]:
        r = run_claim(c, model=model, data=data, device=dev, seed=seed)
        r.evidence = {"model": model_name, **r.evidence}
        results.append(r)
    return results
