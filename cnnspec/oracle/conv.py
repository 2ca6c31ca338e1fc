"""Exact convolution: pad, window view, one GEMM per group (im2col) in the narrowest exact arithmetic.

``padding`` follows ``torch.nn.functional.conv2d`` (an int, one per axis, ``'same'``, ``'valid'``)
plus the calling convention's ``(lo, hi)`` pairs; ``padding_mode`` is ``nn.Conv2d``'s
(``zeros | reflect | replicate | circular``: pad in that mode, then convolve with no padding).
The ``convNd`` wrappers also take unbatched input ``(C, *n)``, as torch does.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import UsageError
from .core import _BLOCK, _arith, _cast, _pairs, pad, windows
from .padding import CONV_PADDING_MODES, conv_pads, pad_pairs

def conv(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, stride=1, padding=0,
         dilation=1, groups: int = 1, *, exact: bool = True, padding_mode: str = "zeros") -> np.ndarray:
    """Cross-correlation ``(N, C_in, *n) ⋆ (C_out, C_in/g, *k) → (N, C_out, *m)``, exactly.

    Returns float64 when the result is exactly representable there (integer data within 2^53),
    else an object array of ints/Fractions. ``exact=False`` computes in float64 whatever the data
    (error at most ``γ_{K+1}(2^-53)·(Σ|x||w| + |b|)``; for the bound tier).
    """
    x, w = np.asarray(x), np.asarray(w)
    b = None if b is None else np.asarray(b)
    nd = x.ndim - 2
    s, d = _pairs(stride, nd), _pairs(dilation, nd)
    if isinstance(padding, (int, np.integer)) and padding_mode == "zeros":
        p = [(int(padding), int(padding))] * nd           # the common case, unchanged
    else:
        p = conv_pads(padding, w.shape[2:], d, s)
    if padding_mode != "zeros":
        if padding_mode not in CONV_PADDING_MODES:
            raise UsageError(f"padding_mode: {padding_mode!r} is not one of "
                             f"{', '.join(CONV_PADDING_MODES)}")
        x = pad_pairs(x, p, CONV_PADDING_MODES[padding_mode])   # nn.Conv2d: F.pad, then no padding
        p = [(0, 0)] * nd
    n, c = x.shape[:2]
    co, cg, *k = w.shape
    for ax, (ni, ki, di, (lo, hi)) in enumerate(zip(x.shape[2:], k, d, p)):
        if di * (ki - 1) + 1 > ni + lo + hi:
            raise UsageError(f"weight: kernel {tuple(k)} with dilation {tuple(d)} spans "
                             f"{di * (ki - 1) + 1} on spatial axis {ax}, but the padded input has "
                             f"{ni + lo + hi}; rule: d*(k-1)+1 <= n + p_lo + p_hi")
    arith = _arith(x, w, b, cg * math.prod(k)) if exact else np.dtype(np.float64)
    v = windows(pad(_cast(x, arith), p), k, s, d)            # (N, C, *m, *k)
    m = v.shape[2:2 + nd]
    wg = _cast(w, arith).reshape(groups, co // groups, cg * math.prod(k))
    kk, mm = cg * math.prod(k), math.prod(m)
    y = np.empty((n, groups, co // groups, mm), dtype=arith)
    step = max(1, _BLOCK // (kk * mm))  # samples per im2col block
    for i in range(0, n, step):
        # im2col: (N, g, C_in/g, *m, *k) -> (g, C_in/g·Πk, N·Πm); one GEMM per group
        vb = v[i:i + step].reshape(-1, groups, cg, *m, *k)
        order = (1, 2, *range(3 + nd, 3 + 2 * nd), 0, *range(3, 3 + nd))
        cols = vb.transpose(order).reshape(groups, kk, -1)
        for g in range(groups):
            yg = np.dot(wg[g], cols[g])                           # (C_out/g, N·Πm)
            y[i:i + step, g] = yg.reshape(-1, vb.shape[0], mm).transpose(1, 0, 2)
    y = y.reshape(n, co, *m)
    if b is not None:
        y = y + _cast(b, arith).reshape(co, *[1] * nd)
    return y.astype(np.float64) if arith != object else y


def unbatched(fn, x, nd: int, *args, **kwargs) -> np.ndarray:
    """``fn`` on ``(N, C, *n)`` input, or on unbatched ``(C, *n)`` input as a batch of one (torch)."""
    x = np.asarray(x)
    if x.ndim == nd + 1:
        return fn(x[None], *args, **kwargs)[0]
    if x.ndim != nd + 2:
        raise UsageError(f"input: shape {x.shape} has {x.ndim} axes; rule: a {nd}-D op takes "
                         f"(N, C, {'*n' if nd > 1 else 'L'}) or unbatched (C, ...) input, "
                         f"{nd + 2} or {nd + 1} axes")
    return fn(x, *args, **kwargs)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """:func:`conv` on ``(N, C, H, W)`` input (the ``torch.nn.functional.conv2d`` signature)."""
    return unbatched(conv, x, 2, w, b, stride, padding, dilation, groups)


def conv1d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """:func:`conv` on ``(N, C, L)`` input (the ``torch.nn.functional.conv1d`` signature)."""
    return unbatched(conv, x, 1, w, b, stride, padding, dilation, groups)


def conv3d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """:func:`conv` on ``(N, C, D, H, W)`` input (the ``torch.nn.functional.conv3d`` signature)."""
    return unbatched(conv, x, 3, w, b, stride, padding, dilation, groups)
