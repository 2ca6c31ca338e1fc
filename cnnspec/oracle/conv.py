"""Exact convolution: pad, window view, one GEMM per group (im2col) in the narrowest exact arithmetic."""
from __future__ import annotations

import math

import numpy as np

from .core import _BLOCK, _arith, _cast, _pairs, pad, windows

def conv(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, stride=1, padding=0,
         dilation=1, groups: int = 1, *, exact: bool = True) -> np.ndarray:
    """Cross-correlation ``(N, C_in, *n) ⋆ (C_out, C_in/g, *k) → (N, C_out, *m)``, exactly.

    Returns float64 when the result is exactly representable there (integer data within 2^53),
    else an object array of ints/Fractions. ``exact=False`` computes in float64 whatever the data
    (error at most ``γ_{K+1}(2^-53)·(Σ|x||w| + |b|)``; for the bound tier).
    """
    x, w = np.asarray(x), np.asarray(w)
    b = None if b is None else np.asarray(b)
    nd = x.ndim - 2
    s, d = _pairs(stride, nd), _pairs(dilation, nd)
    p = [(q, q) for q in _pairs(padding, nd)]
    n, c = x.shape[:2]
    co, cg, *k = w.shape
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


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """:func:`conv` on ``(N, C, H, W)`` input (the ``torch.nn.functional.conv2d`` signature)."""
    return conv(x, w, b, stride, padding, dilation, groups)


def conv1d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """:func:`conv` on ``(N, C, L)`` input (the ``torch.nn.functional.conv1d`` signature)."""
    return conv(x, w, b, stride, padding, dilation, groups)
