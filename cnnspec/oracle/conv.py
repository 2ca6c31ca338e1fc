"""Exact convolution: pad, window view, one GEMM per group (im2col) in the narrowest exact arithmetic.

``padding`` follows ``torch.nn.functional.conv2d`` (an int, one per axis, ``'same'``, ``'valid'``)
plus the calling convention's ``(lo, hi)`` pairs; ``padding_mode`` is ``nn.Conv2d``'s
(``zeros | reflect | replicate | circular``: pad in that mode, then convolve with no padding).
The ``convNd`` wrappers also take unbatched input ``(C, *n)``, as torch does.
"""
from __future__ import annotations

import itertools
import math
import os

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import UsageError
from .core import _pairs, as_arith, exact_arith, pad
from .padding import CONV_PADDING_MODES, conv_pads, pad_pairs

def _blas_threads() -> int:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit() and int(os.environ[var]) > 0:
            return int(os.environ[var])
    return os.cpu_count() or 1


# entries of one im2col block: 2^19 (2 MiB of float32) per BLAS thread, to stay in cache while its
# GEMM runs and to give every thread enough work to amortise its start-up
_CACHE_BLOCK = 2 ** 19 * _blas_threads()

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
        x = pad_pairs(x, p, CONV_PADDING_MODES[padding_mode], name="padding")   # nn.Conv2d: F.pad, then no padding
        p = [(0, 0)] * nd
    n, c = x.shape[:2]
    co, cg, *k = w.shape
    for ax, (ni, ki, di, (lo, hi)) in enumerate(zip(x.shape[2:], k, d, p)):
        if di * (ki - 1) + 1 > ni + lo + hi:
            raise UsageError(f"weight: kernel {tuple(k)} with dilation {tuple(d)} spans "
                             f"{di * (ki - 1) + 1} on spatial axis {ax}, but the padded input has "
                             f"{ni + lo + hi}; rule: d*(k-1)+1 <= n + p_lo + p_hi")
    arith = exact_arith(x, w, b, cg * math.prod(k)) if exact else np.dtype(np.float64)
    xa, wa = as_arith(x, arith), as_arith(w, arith)
    m_last = (x.shape[-1] + sum(p[-1]) - d[-1] * (k[-1] - 1) - 1) // s[-1] + 1
    if groups == 1 and cg == 1 and k[-1] < m_last:
        # few input channels (LeNet's C1, an RGB stem): a window row is too short a run to copy
        # channels-last; copy (C·Πk, B·Πm) rows of m contiguous outputs instead
        y = _im2col_gemm_nchw(pad(xa, p), wa, s, d)                        # (N, C_out, *m)
        if b is not None:
            y += as_arith(b, arith).reshape(co, *[1] * nd)
    else:
        y = _im2col_gemm(xa, wa, p, s, d, groups)                          # (N, *m, C_out)
        if b is not None:
            y += as_arith(b, arith)
        y = np.moveaxis(y, -1, 1)                                  # (N, C_out, *m)
    return y.astype(np.float64, order="C") if arith != object else np.ascontiguousarray(y)


def _im2col_gemm_nchw(xp: np.ndarray, w: np.ndarray, s, d) -> np.ndarray:
    """``(N, C_out, *m)`` for one group: im2col as ``(C·Πk, B·Πm)`` in cache-sized blocks, then
    ``W (C_out, C·Πk)`` times it (the textbook layout; Chellapilla et al. 2006)."""
    nd = xp.ndim - 2
    n = xp.shape[0]
    co, cg, *k = w.shape
    kk = cg * math.prod(k)
    spans = [di * (ki - 1) + 1 for ki, di in zip(k, d)]
    v = sliding_window_view(xp, spans, axis=tuple(range(2, 2 + nd)))
    v = v[(slice(None), slice(None), *[slice(None, None, si) for si in s],
           *[slice(None, None, di) for di in d])]                         # (N, C, *m, *k)
    m = v.shape[2:2 + nd]
    mm = math.prod(m)
    y = np.empty((n, co, mm), dtype=w.dtype)
    wk = w.reshape(co, kk)
    step = max(1, _CACHE_BLOCK // max(1, kk * mm))
    buf = np.empty((cg, *k, min(step, n), *m), dtype=w.dtype)
    order = (1, *range(2 + nd, 2 + 2 * nd), 0, *range(2, 2 + nd))   # (C, *k, B, *m)
    for i in range(0, n, step):
        vb = v[i:i + step]
        nb = vb.shape[0]
        cols = buf[(slice(None),) * (1 + nd) + (slice(0, nb),)]
        cols[...] = vb.transpose(order)
        y[i:i + nb] = np.dot(wk, cols.reshape(kk, -1)).reshape(co, nb, mm).transpose(1, 0, 2)
    return y.reshape(n, co, *m)


def channels_last_padded(x: np.ndarray, pads) -> np.ndarray:
    """``(N, *(n + lo + hi), C)``: ``x`` zero-padded and moved channels-last in one copy."""
    nd = x.ndim - 2
    xc = np.zeros((x.shape[0], *[a + lo + hi for a, (lo, hi) in zip(x.shape[2:], pads)], x.shape[1]),
                  dtype=x.dtype)
    if x.dtype == object:
        xc[...] = 0
    xc[(slice(None), *[slice(lo, lo + a) for a, (lo, _) in zip(x.shape[2:], pads)])] = \
        np.moveaxis(x, 1, -1) if nd else x
    return xc


def _im2col_gemm(x: np.ndarray, w: np.ndarray, pads, s, d, groups: int) -> np.ndarray:
    """``(N, *m, C_out)``: the padded input's windows, channels last, times the weight, per group.

    The input goes channels-last once, so that each window row ``(*k, C_in/g)`` is a run of
    contiguous copies; im2col then proceeds in blocks of samples small enough to stay in cache
    while their GEMM consumes them (the blocking is what makes this as fast as a direct kernel).
    One input channel and one output per group (depthwise) is a multiply-add per tap instead.
    """
    nd = x.ndim - 2
    n = x.shape[0]
    co, cg, *k = w.shape
    og, kk = co // groups, cg * math.prod(k)
    xc = channels_last_padded(x, pads)                           # (N, *n_padded, C)
    spans = [di * (ki - 1) + 1 for ki, di in zip(k, d)]
    v = sliding_window_view(xc, spans, axis=tuple(range(1, nd + 1)))  # (N, *m', C, *span)
    v = v[(slice(None), *[slice(None, None, si) for si in s], slice(None),
           *[slice(None, None, di) for di in d])]                    # (N, *m, C, *k)
    m = v.shape[1:1 + nd]
    # weights as (g, Πk·C_in/g, C_out/g), the taps in the order of the window rows below
    wg = np.ascontiguousarray(w.reshape(groups, og, cg, *k).transpose(
        0, *range(3, 3 + nd), 2, 1)).reshape(groups, kk, og)
    if cg == 1 and og == 1 and groups > 1 and w.dtype != object:
        return _depthwise(xc, w, s, d, m)
    y = np.empty((n, *m, co), dtype=w.dtype)
    step = max(1, _CACHE_BLOCK // max(1, kk * groups * math.prod(m)))
    order = (0, *range(1, 1 + nd), 1 + nd, *range(3 + nd, 3 + 2 * nd), 2 + nd)
    buf = np.empty((min(step, n), *m, groups, *k, cg), dtype=w.dtype)   # reused: no fresh pages
    for i in range(0, n, step):
        vb = v[i:i + step]
        b = vb.shape[0]
        # (B, *m, g, C_in/g, *k) -> (B, *m, g, *k, C_in/g) -> (B·Πm, g, Πk·C_in/g): the copy
        buf[:b] = vb.reshape(b, *m, groups, cg, *k).transpose(order)
        cols = buf[:b].reshape(-1, groups, kk)
        out = y[i:i + b].reshape(-1, groups, og)
        if groups == 1 and w.dtype != object:
            np.dot(cols[:, 0], wg[0], out=y[i:i + b].reshape(-1, og))
        elif groups == 1:
            out[:, 0] = np.dot(cols[:, 0], wg[0])
        else:   # one batched GEMM over the groups
            out[...] = np.matmul(cols.transpose(1, 0, 2), wg).transpose(1, 0, 2)
    return y


def _depthwise(xc: np.ndarray, w: np.ndarray, s, d, m) -> np.ndarray:
    """``(N, *m, C)`` of a depthwise convolution (one input channel and one output per group).

    Stride 1: in the flattened channels-last padded input, tap ``j`` is a constant offset, so each
    tap is one contiguous multiply-add over a block of samples (positions past the window are
    computed and dropped). Stride > 1: one strided multiply-add per tap. Either way every product
    and partial sum is exact under the certificate.
    """
    n, *padded, c = xc.shape
    nd = len(padded)
    k = w.shape[2:]
    wt = w.reshape(c, -1)
    taps = list(itertools.product(*map(range, k)))
    if any(v != 1 for v in s):
        spans = [di * (ki - 1) + 1 for ki, di in zip(k, d)]
        v = sliding_window_view(xc, spans, axis=tuple(range(1, nd + 1)))
        v = v[(slice(None), *[slice(None, None, si) for si in s], slice(None),
               *[slice(None, None, di) for di in d])]
        y = np.zeros((n, *m, c), dtype=w.dtype)
        for t, j in enumerate(taps):
            y += v[(Ellipsis, *j)] * wt[:, t]
        return y
    plane = math.prod(padded) * c                                  # one sample, flattened
    strides = [math.prod(padded[a + 1:]) * c for a in range(nd)]
    offs = [sum(ji * di * st for ji, di, st in zip(j, d, strides)) for j in taps]
    y = np.empty((n, *m, c), dtype=w.dtype)
    step = max(1, _CACHE_BLOCK // (4 * plane))
    acc = np.empty(min(step, n) * plane, dtype=w.dtype)
    tmp = np.empty_like(acc)
    for i in range(0, n, step):
        xb = xc[i:i + step].reshape(-1)
        nb = xb.size // plane
        length = nb * plane - max(offs)
        a, t_ = acc[:length].reshape(-1, c), tmp[:length].reshape(-1, c)
        a[...] = 0
        for t, off in enumerate(offs):
            np.multiply(xb[off:off + length].reshape(-1, c), wt[:, t], out=t_)
            a += t_
        full = np.zeros(nb * plane, dtype=w.dtype)
        full[:length] = acc[:length]
        y[i:i + nb] = full.reshape(nb, *padded, c)[(slice(None), *[slice(0, mi) for mi in m])]
    return y


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
