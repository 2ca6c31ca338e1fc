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

from ..errors import UsageError
from .convolution import ConvSpec, SpecError


class PoolError(SpecError, UsageError):
    """A pooling argument that breaks a rule: the message names the argument, the value and the rule.

    A :class:`SpecError` (so the spec's callers keep catching it) and a
    :class:`cnnspec.errors.UsageError` (so the command line prints one line and exits 2).
    """


def _ints(name: str, v, nd: int) -> tuple[int, ...]:
    vals = (v,) * nd if isinstance(v, (int, np.integer)) else tuple(v)
    if len(vals) == 1:
        vals = vals * nd
    if len(vals) != nd or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                                  for a in vals):
        raise PoolError(f"{name}: {v!r} must be an int or {nd} ints")
    return tuple(int(a) for a in vals)


_pair = _ints  # the historical name


def pad_pairs(padding, nd: int) -> tuple[tuple[int, int], ...]:
    """``padding`` (an int, one int per axis, or one ``(lo, hi)`` pair per axis) as ``(lo, hi)`` pairs."""
    if isinstance(padding, (int, np.integer)) or all(isinstance(a, (int, np.integer)) for a in padding):
        return tuple((p, p) for p in _ints("padding", padding, nd))
    pairs = [tuple(a) for a in padding]
    if len(pairs) != nd or any(len(a) != 2 for a in pairs):
        raise PoolError(f"padding: {padding!r} must be one (lo, hi) pair per spatial axis")
    flat = _ints("padding", [v for a in pairs for v in a], 2 * nd)
    return tuple((flat[2 * i], flat[2 * i + 1]) for i in range(nd))


def pool_output_size(n: int, k: int, s: int, p, d: int, ceil_mode: bool) -> int:
    """Output length along one axis, PyTorch's ``pooling_output_shape``; ``p`` an int or ``(lo, hi)``.

    With ``ceil_mode`` the last window is dropped when it would start at or beyond ``n + lo``.
    """
    lo, hi = (p, p) if isinstance(p, (int, np.integer)) else p
    span = d * (k - 1) + 1
    num = n + lo + hi - span + ((s - 1) if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= n + lo:
        out -= 1
    return out


@dataclass(frozen=True)
class PoolGeometry:
    """Validated pooling geometry; ``pads`` per axis ``(lo, hi)`` cover every window exactly.

    ``padding`` holds the low pads (the torch argument); ``pad_pairs`` the declared ``(lo, hi)``.
    """

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    ceil_mode: bool
    output_size: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    pad_pairs: tuple[tuple[int, int], ...] = ()

    def positions(self, axis: int) -> np.ndarray:
        """``(m, k)`` input coordinates of every tap of every window along ``axis`` (may lie in the
        padding: below 0 or at/after the input size)."""
        lo = self.pads[axis][0]
        m, k = self.output_size[axis], self.kernel[axis]
        return (np.arange(m)[:, None] * self.stride[axis] - lo
                + np.arange(k)[None, :] * self.dilation[axis])


def pool_geometry(input_size: Sequence[int], kernel_size, stride=None, padding=0, dilation=1,
                  ceil_mode: bool = False, *, torch_limits: bool = True) -> PoolGeometry:
    """Check the arguments against PyTorch's rules and return the window geometry, any dimension.

    ``padding`` may be ``(lo, hi)`` pairs (the calling convention's extension). ``torch_limits=False``
    lifts torch's ``padding <= kernel_size // 2`` (``pool2d_shape_check``): larger pads are well
    defined (ONNX allows them; onnx/onnx#4958), a window lying wholly in the padding then gives
    ``−inf`` for max pooling, ``0`` for average pooling with ``count_include_pad`` (zeros over the
    kernel's size) and ``0/0 = nan`` without it (no input entry to average).
    Raises :class:`PoolError` naming the argument and the rule.
    """
    nd = len(input_size)
    k = _ints("kernel_size", kernel_size, nd)
    s = k if stride is None or (not isinstance(stride, (int, np.integer)) and len(stride) == 0) \
        else _ints("stride", stride, nd)
    pp, d = pad_pairs(padding, nd), _ints("dilation", dilation, nd)
    for name, vals, lo in (("kernel_size", k, 1), ("stride", s, 1), ("dilation", d, 1),
                           ("padding", tuple(v for a in pp for v in a), 0)):
        if any(v < lo for v in vals):
            raise PoolError(f"{name}: {vals} must be >= {lo}")
    out, pads = [], []
    for n, ki, si, (lo, hi), di in zip(input_size, k, s, pp, d):
        span = di * (ki - 1) + 1
        if torch_limits and max(lo, hi) > ki // 2:
            raise PoolError(f"padding: {max(lo, hi)} is more than half the kernel size {ki}; rule: "
                            f"padding <= kernel_size // 2")
        m = pool_output_size(n, ki, si, (lo, hi), di, ceil_mode)
        if m < 1:
            raise PoolError(f"kernel_size: window {span} does not fit the padded input {n + lo + hi}")
        out.append(m)
        pads.append((lo, max((m - 1) * si + span - n - lo, 0)))
    return PoolGeometry(k, s, tuple(lo for lo, _ in pp), d, bool(ceil_mode), tuple(out), tuple(pads),
                        pp)


def window_taps(input_size: Sequence[int], geo: PoolGeometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(flat, valid, empty)``: ``flat`` and ``valid`` of shape ``(*m, K)``, each tap's flat index
    in the unpadded input plane (row-major, as torch's indices) and whether it lies on a real entry;
    ``empty`` ``(*m)``, the index torch reports for a window without a real entry: per axis the
    first tap at or after 0 (``while (ih0 < 0) ih0 += dilationH`` in ``MaxPoolKernel.cpp``), which
    may lie outside the plane."""
    nd = len(input_size)
    strides = [int(np.prod(input_size[a + 1:])) for a in range(nd)]
    flat, valid = np.zeros((1,) * 2 * nd, np.int64), np.ones((1,) * 2 * nd, bool)
    empty = np.zeros((1,) * nd, np.int64)
    for a in range(nd):
        shape = [1] * 2 * nd
        shape[a], shape[nd + a] = geo.output_size[a], geo.kernel[a]
        pos = geo.positions(a)
        g = pos.reshape(shape)
        flat, valid = flat + g * strides[a], valid & (g >= 0) & (g < input_size[a])
        start, d = pos[:, 0], geo.dilation[a]
        first = np.where(start < 0, start + (-start + d - 1) // d * d, start)
        empty = empty + (first * strides[a]).reshape([-1 if b == a else 1 for b in range(nd)])
    full = (*geo.output_size, int(np.prod(geo.kernel)))
    flat = np.broadcast_to(flat, (*geo.output_size, *geo.kernel)).reshape(full)
    valid = np.broadcast_to(valid, (*geo.output_size, *geo.kernel)).reshape(full)
    return flat, valid, np.broadcast_to(empty, geo.output_size)


def window_counts(input_size: Sequence[int], geo: PoolGeometry, count_include_pad: bool) -> list[np.ndarray]:
    """Per axis, how many taps of each window the divisor counts (any dilation, any pads).

    ``count_include_pad``: the taps inside the padded input ``[−lo, n + hi)`` (ceil-mode overhang
    past the declared padding does not count, as in torch's ``AvgPoolKernel.cpp``); else the taps
    on real input entries ``[0, n)``.
    """
    counts = []
    for a, n in enumerate(input_size):
        pos = geo.positions(a)
        hi = (geo.pad_pairs or tuple((p, p) for p in geo.padding))[a][1]
        keep = pos < n + hi if count_include_pad else (pos >= 0) & (pos < n)
        counts.append(keep.sum(axis=1))
    return counts


def avg_divisors(input_size: Sequence[int], geo: PoolGeometry, count_include_pad: bool,
                 divisor_override: int | None = None) -> np.ndarray:
    """The divisor of every output of average pooling (outer product of the per-axis counts);
    ``divisor_override`` (a non-zero int) replaces every divisor, as in ``torch.nn.functional.avg_pool2d``."""
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, (int, np.integer)) \
                or divisor_override == 0:
            raise PoolError(f"divisor_override: {divisor_override!r} must be a non-zero int")
        return np.full(geo.output_size, int(divisor_override), np.int64)
    counts = window_counts(input_size, geo, count_include_pad)
    div = counts[0]
    for c in counts[1:]:
        div = np.multiply.outer(div, c)
    return np.asarray(div, np.int64)


def adaptive_windows(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive pooling's windows along one axis: ``[⌊i·n/m⌋, ⌈(i+1)·n/m⌉)`` for ``i < m``.

    torch's ``start_index``/``end_index`` (``aten/src/ATen/native/AdaptivePooling.h``). Every window
    is non-empty for ``n, m >= 1``; when ``m`` divides ``n`` they are the windows of pooling with
    ``kernel_size = stride = n/m``.

    >>> [list(map(int, a)) for a in adaptive_windows(5, 3)]
    [[0, 1, 3], [2, 4, 5]]
    """
    i = np.arange(m, dtype=np.int64)
    return (i * n) // m, -((-(i + 1) * n) // m)


def adaptive_output_size(input_size: Sequence[int], output_size) -> tuple[int, ...]:
    """``output_size`` (an int, ints, or ``None`` entries meaning the input's size) checked: >= 1."""
    nd = len(input_size)
    vals = (output_size,) * nd if isinstance(output_size, (int, np.integer)) or output_size is None \
        else tuple(output_size)
    if len(vals) == 1:
        vals = vals * nd
    if len(vals) != nd:
        raise PoolError(f"output_size: {output_size!r} must be an int or {nd} ints")
    out = tuple(n if v is None else v for n, v in zip(input_size, vals))
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in out):
        raise PoolError(f"output_size: {output_size!r} must be ints >= 1 (or None for the input size)")
    return tuple(int(v) for v in out)


def unpool_output_size(input_size: Sequence[int], kernel_size, stride=None, padding=0,
                       output_size=None) -> tuple[int, ...]:
    """The spatial size of ``max_unpool``: by default ``(n − 1)·s − 2p + k`` per axis (inverting
    the floor-mode pooling size); an explicit ``output_size`` (spatial, or with ``N, C`` first) must
    lie strictly between ``default − s`` and ``default + s`` (``torch.nn.functional._unpool_output_size``).
    """
    nd = len(input_size)
    k = _ints("kernel_size", kernel_size, nd)
    s = k if stride is None else _ints("stride", stride, nd)
    p = _ints("padding", padding, nd)
    for name, vals, lo in (("kernel_size", k, 1), ("stride", s, 1), ("padding", p, 0)):
        if any(v < lo for v in vals):
            raise PoolError(f"{name}: {vals} must be >= {lo}")
    default = tuple((n - 1) * si - 2 * pi + ki for n, ki, si, pi in zip(input_size, k, s, p))
    if output_size is None:
        out = default
    else:
        out = tuple(output_size)[-nd:] if len(tuple(output_size)) == nd + 2 else tuple(output_size)
        if len(out) != nd or not all(isinstance(v, (int, np.integer)) for v in out):
            raise PoolError(f"output_size: {output_size!r} must be {nd} ints (or {nd + 2} with N, C)")
        for a, (o, dflt, si) in enumerate(zip(out, default, s)):
            if not dflt - si < o < dflt + si:
                raise PoolError(f"output_size: {o} on axis {a} must be strictly between "
                                f"{dflt - si} and {dflt + si} (default {dflt}, stride {si})")
    if any(o < 1 for o in out):
        raise PoolError(f"output_size: {out} must be >= 1 on every axis")
    return tuple(int(o) for o in out)


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


# --- pooling on plain sequences (symbols or numbers), for the claims ---------------------------------

def pool_reduce(u: Sequence, input_size: Sequence[int], geo: PoolGeometry, reduce) -> list:
    """``reduce`` of the real entries of every window of the flat, row-major sequence ``u``.

    The spec's own pooling: ``reduce=sympy.Max`` over symbols is max pooling,
    ``lambda v: sum(v) / d`` average pooling. One Python step per window: for small sizes.
    """
    flat, valid, _ = window_taps(input_size, geo)
    rows, keep = flat.reshape(-1, flat.shape[-1]), valid.reshape(-1, flat.shape[-1])
    return [reduce([u[int(j)] for j in f[v]]) for f, v in zip(rows, keep)]


def circular_windows(input_size: Sequence[int], kernel: Sequence[int], stride: Sequence[int]) -> np.ndarray:
    """``(M, K)`` flat indices of the windows of pooling a circularly padded input: along each axis
    window ``i`` covers ``(i·s + j) mod n`` for ``j < k``, ``i < n / s`` (``s`` must divide ``n``)."""
    nd = len(input_size)
    if any(n % s for n, s in zip(input_size, stride)):
        raise PoolError(f"stride: {tuple(stride)} must divide the input size {tuple(input_size)}")
    idx = np.zeros((1,) * 2 * nd, np.int64)
    for a, (n, k, s) in enumerate(zip(input_size, kernel, stride)):
        shape = [1] * 2 * nd
        shape[a], shape[nd + a] = n // s, k
        pos = (np.arange(n // s)[:, None] * s + np.arange(k)[None, :]) % n
        idx = idx + pos.reshape(shape) * int(np.prod(input_size[a + 1:]))
    m = [n // s for n, s in zip(input_size, stride)]
    return np.broadcast_to(idx, (*m, *kernel)).reshape(int(np.prod(m)), int(np.prod(kernel)))


def max_with_indices(x: np.ndarray, input_size: Sequence[int], geo: PoolGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling of flat planes ``x[..., N]`` with the index of the *first* maximum of every window
    (torch's rule for ties); windows must hold a real entry. Returns ``(values, indices)`` ``[..., M]``."""
    flat, valid, _ = window_taps(input_size, geo)
    rows, keep = flat.reshape(-1, flat.shape[-1]), valid.reshape(-1, flat.shape[-1])
    v = np.where(keep, x[..., np.where(keep, rows, 0)], -np.inf)
    first = np.argmax(v == v.max(-1, keepdims=True), -1)
    return v.max(-1), np.take_along_axis(np.broadcast_to(rows, v.shape), first[..., None], -1)[..., 0]


def unpool_scatter(values: np.ndarray, indices: np.ndarray, plane: int) -> np.ndarray:
    """Unpooling of ``values[..., M]`` to ``[..., plane]``: zeros, each value written at its index
    (in order, so a repeated index keeps the last value)."""
    out = np.zeros((*values.shape[:-1], plane), values.dtype)
    lead = np.indices(values.shape[:-1]).reshape(len(values.shape) - 1, -1) if values.ndim > 1 else None
    if lead is None:
        out[indices] = values
        return out
    for r in range(indices.shape[-1]):           # one step per output position, in order
        out[(*lead, indices.reshape(-1, indices.shape[-1])[:, r])] = values.reshape(-1, values.shape[-1])[:, r]
    return out


# --- data for the three invariance figures of the report --------------------------------------------

def figure_window_permutation(seed: int = 0) -> dict[str, np.ndarray]:
    """A 4×6 input, the same input with its entries shuffled inside each 2×2 window, and the 2×2/2
    max pooling of both (equal): the lecture's "summarizing the input" ignores order in a window."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 10, (4, 6))
    geo = pool_geometry((4, 6), 2)
    perm = within_window_permutation((4, 6), geo, rng)
    xp = x.reshape(-1)[perm].reshape(4, 6)
    pool = lambda a: a.reshape(2, 2, 3, 2).max(axis=(1, 3))  # noqa: E731
    return {"input": x, "permuted": xp, "permutation": perm.reshape(4, 6), "pooled": pool(x),
            "pooled_permuted": pool(xp), "window": np.arange(24).reshape(4, 6) // 2 % 3
            + 3 * (np.arange(24).reshape(4, 6) // 12)}


def figure_global_shift(shift: tuple[int, int] = (1, 2), seed: int = 1) -> dict[str, np.ndarray]:
    """A 5×5 input, its circular shift by ``shift``, and their global max and mean (equal)."""
    x = np.random.default_rng(seed).integers(0, 10, (5, 5))
    xs = np.roll(x, shift, axis=(0, 1))
    return {"input": x, "shifted": xs, "shift": np.array(shift),
            "global_max": np.array([x.max(), xs.max()]),
            "global_mean": np.array([x.mean(), xs.mean()])}


def one_pixel_shift_changes(x: np.ndarray, k: int) -> np.ndarray:
    """For rows ``x[..., n]`` (``k`` divides ``n``): whether k-wide, stride-k max pooling of the
    circular one-pixel shift differs from that of ``x`` somewhere."""
    n = x.shape[-1]
    pool = lambda a: a.reshape(*a.shape[:-1], n // k, k).max(-1)  # noqa: E731
    return np.any(pool(np.roll(x, 1, axis=-1)) != pool(x), axis=-1)


def figure_one_pixel_counterexample() -> dict[str, np.ndarray]:
    """The smallest counterexample to "max pooling is invariant to a one-pixel shift" (2-wide,
    stride-2 pooling of a circular binary signal): the input, its shift, both poolings."""
    x = np.array([0, 0, 0, 1])
    xs = np.roll(x, 1)
    return {"input": x, "shifted": xs, "pooled": x.reshape(2, 2).max(1),
            "pooled_shifted": xs.reshape(2, 2).max(1),
            "changed": x.reshape(2, 2).max(1) != xs.reshape(2, 2).max(1)}
