"""Max and average pooling: window geometry, output sizes with ``ceil_mode``, divisors, invariances.

Pooling slides a window like a convolution but reduces it with ``max`` or a mean instead of a dot
product. PyTorch's rules, stated here without torch:

* output size ``floor((n + 2p − d(k−1) − 1 + (s−1 if ceil_mode)) / s) + 1``, and with ``ceil_mode``
  the last window is dropped when it would start at or beyond ``n + p`` (it must start inside the
  input or its left padding);
* padding is at most half the kernel: ``p ≤ k // 2`` (``pool2d_shape_check``); ``stride=None`` means ``k``;
* max pooling pads with ``−inf``; average pooling divides each window sum by
  ``(min(start+k, n+p) − start)`` per axis when ``count_include_pad`` (the window clipped to the
  padded input, so ceil-mode overhang does not count), else by the number of real input entries.

Average pooling with ``count_include_pad=True`` and no ceil overhang is a depthwise convolution with
the uniform kernel ``1/(k_h·k_w)`` (:func:`avg_pool_as_conv`). Max pooling is invariant under any
permutation of the entries within each window and commutes with every non-decreasing map ``f``
(``maxpool(f(x)) = f(maxpool(x))``, e.g. ``f = relu``); a global max is invariant under circular
shifts.

>>> pool_output_size(5, 2, 2, 0, 1, ceil_mode=False), pool_output_size(5, 2, 2, 0, 1, ceil_mode=True)
(2, 3)
>>> geo = pool_geometry((4,), 3, 2, 1, 1, ceil_mode=True)   # windows [-1,2), [1,4), [3,6) clipped to 5
>>> avg_divisors((4,), geo, count_include_pad=True).tolist(), avg_divisors((4,), geo, False).tolist()
([3, 3, 2], [2, 3, 1])

References
----------
PyTorch ``aten/src/ATen/native/Pool.h`` (``pooling_output_shape``, ``pool2d_shape_check``) and
``AvgPoolKernel.cpp`` (divisors); Goodfellow et al., *Deep Learning* (2016), §9.3.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .convolution import ConvSpec, SpecError


def _pair(name: str, v, nd: int) -> tuple[int, ...]:
    vals = (v,) * nd if isinstance(v, (int, np.integer)) else tuple(v)
    if len(vals) == 1:
        vals = vals * nd
    if len(vals) != nd or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                                  for a in vals):
        raise SpecError(f"{name}: {v!r} must be an int or {nd} ints")
    return tuple(int(a) for a in vals)


def pool_output_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """Output length along one axis, PyTorch's ``pooling_output_shape``."""
    span = d * (k - 1) + 1
    num = n + 2 * p - span + ((s - 1) if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


@dataclass(frozen=True)
class PoolGeometry:
    """Validated pooling geometry; ``pads`` per axis ``(lo, hi)`` cover every window exactly."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    ceil_mode: bool
    output_size: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]


def pool_geometry(input_size: Sequence[int], kernel_size, stride=None, padding=0, dilation=1,
                  ceil_mode: bool = False) -> PoolGeometry:
    """Check the arguments against PyTorch's rules and return the window geometry.

    Raises :class:`SpecError` naming the argument and the rule.
    """
    nd = len(input_size)
    k = _pair("kernel_size", kernel_size, nd)
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else _pair("stride", stride, nd)
    p, d = _pair("padding", padding, nd), _pair("dilation", dilation, nd)
    for name, vals, lo in (("kernel_size", k, 1), ("stride", s, 1), ("padding", p, 0),
                           ("dilation", d, 1)):
        if any(v < lo for v in vals):
            raise SpecError(f"{name}: {vals} must be >= {lo}")
    out, pads = [], []
    for n, ki, si, pi, di in zip(input_size, k, s, p, d):
        span = di * (ki - 1) + 1
        if pi > ki // 2:
            raise SpecError(f"padding: {pi} is more than half the kernel size {ki}; rule: "
                            f"padding <= kernel_size // 2")
        m = pool_output_size(n, ki, si, pi, di, ceil_mode)
        if m < 1:
            raise SpecError(f"kernel_size: window {span} does not fit the padded input {n + 2 * pi}")
        out.append(m)
        pads.append((pi, max((m - 1) * si + span - n - pi, 0)))
    return PoolGeometry(k, s, p, d, bool(ceil_mode), tuple(out), tuple(pads))


def _axis_counts(n: int, k: int, s: int, p: int, m: int, count_include_pad: bool) -> np.ndarray:
    start = np.arange(m) * s - p
    end = np.minimum(start + k, n + p)
    if count_include_pad:
        return end - start
    return np.minimum(end, n) - np.maximum(start, 0)


def avg_divisors(input_size: Sequence[int], geo: PoolGeometry, count_include_pad: bool) -> np.ndarray:
    """The divisor of every output of average pooling (outer product of the per-axis counts)."""
    counts = [_axis_counts(n, k, s, p, m, count_include_pad) for n, k, s, p, m in
              zip(input_size, geo.kernel, geo.stride, geo.padding, geo.output_size)]
    div = counts[0]
    for c in counts[1:]:
        div = np.multiply.outer(div, c)
    return div.astype(np.int64)


def has_ceil_overhang(input_size: Sequence[int], geo: PoolGeometry) -> bool:
    """Whether some window reaches past the padded input (only possible with ``ceil_mode``)."""
    return any((m - 1) * s + d * (k - 1) + 1 > n + 2 * p for n, k, s, p, d, m in
               zip(input_size, geo.kernel, geo.stride, geo.padding, geo.dilation, geo.output_size))


def avg_pool_as_conv(channels: int, input_size: Sequence[int], geo: PoolGeometry) -> tuple[ConvSpec, int]:
    """Depthwise convolution geometry whose uniform all-ones kernel, divided by ``Πk``, is the pool.

    Valid with ``count_include_pad=True`` and no ceil overhang; returns ``(spec, Πk)``.
    """
    if has_ceil_overhang(input_size, geo) or any(d != 1 for d in geo.dilation):
        raise SpecError("avg_pool_as_conv: a window reaches past the padding (ceil_mode) or is dilated")
    spec = ConvSpec.make(tuple(input_size), geo.kernel, in_channels=channels, out_channels=channels,
                         groups=channels, stride=geo.stride, padding=geo.padding)
    return spec, int(np.prod(geo.kernel))


def within_window_permutation(input_size: Sequence[int], geo: PoolGeometry,
                              rng: np.random.Generator) -> np.ndarray:
    """A permutation of the flat spatial positions that only moves entries within their window.

    Defined for non-overlapping, undilated, unpadded windows (stride = kernel), where max pooling
    is invariant under it; positions outside every window stay put.
    """
    if geo.stride != geo.kernel or any(geo.padding) or any(d != 1 for d in geo.dilation):
        raise SpecError("within_window_permutation: needs stride == kernel, no padding, no dilation")
    h, w = input_size
    idx = np.arange(h * w).reshape(h, w)
    perm = idx.copy()
    kh, kw = geo.kernel
    for i in range(0, (h // kh) * kh, kh):          # one loop step per window row: not per pixel
        block = idx[i:i + kh, : (w // kw) * kw].reshape(kh, -1, kw).transpose(1, 0, 2).reshape(-1, kh * kw)
        shuffled = rng.permuted(block, axis=1)
        perm[i:i + kh, : (w // kw) * kw] = shuffled.reshape(-1, kh, kw).transpose(1, 0, 2).reshape(kh, -1)
    return perm.reshape(-1)
