"""Exact convolution: pad, window view, one GEMM per group (im2col) in the narrowest exact arithmetic.

Exactness rests on the certificate alone (:mod:`cnnspec.oracle.core`): within it every product and
partial sum is an integer below ``2^p``, so any blocking, chunking or summation order gives the
same exact result. Speed comes from doing every step on blocks of samples (or slabs of output
rows) that stay in cache: zero padding, the move to channels-last, the im2col copy, the GEMM in
chunks small enough for the BLAS's unpacked kernels, the bias and the write to the float64 output
(Chellapilla, Puri & Simard 2006, im2col; Goto & van de Geijn 2008, why blocking for the cache
decides GEMM speed). Depthwise convolution is one batched matrix-vector product over the channels.

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
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from ..errors import UsageError
from .core import _pairs, as_arith, exact_arith, pad, require_finite
from .padding import CONV_PADDING_MODES, conv_pads, pad_pairs

def _blas_threads() -> int:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit() and int(os.environ[var]) > 0:
            return int(os.environ[var])
    return os.cpu_count() or 1


# entries of one im2col block: 2^19 (2 MiB of float32) per BLAS thread, to stay in cache while its
# GEMM runs and to give every thread enough work to amortise its start-up
_CACHE_BLOCK = 2 ** 19 * _blas_threads()
# A single-threaded BLAS multiplies a block in chunks of rows whose GEMMs have M·N·K <= 10^6:
# OpenBLAS runs GEMMs that small in its unpacked small-matrix kernels, measured 1.3-2.4x faster on
# the benchmark's shapes than one packed GEMM of the block (any other BLAS just sees small GEMMs);
# with more threads the whole block goes in one GEMM that the BLAS can split across them.
_SMALL_GEMM = 10 ** 6 if _blas_threads() == 1 else 0


def block(n: int, per_sample: int) -> int:
    """Samples per block: as many as fit ``_CACHE_BLOCK`` entries of working data, 1 to ``n``."""
    return max(1, min(n, _CACHE_BLOCK // max(1, per_sample)))


def gemm(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out[...] = a @ b`` for ``a (R, K)``, ``b (K, N)``; ``out (R, N)`` (any dtype, objects too).

    Float data go to the BLAS in chunks of rows (see ``_SMALL_GEMM``); any split of the rows gives
    the same products, so exactness is the caller's certificate alone.
    """
    r = _SMALL_GEMM // max(1, a.shape[1] * b.shape[1])
    if a.dtype == object or r < 16 or a.shape[0] <= r or not out.flags.c_contiguous:
        out[...] = np.dot(a, b)
        return out
    bulk = a.shape[0] // r * r
    np.matmul(a[:bulk].reshape(-1, r, a.shape[1]), b, out=out[:bulk].reshape(-1, r, b.shape[1]))
    if bulk < a.shape[0]:
        out[bulk:] = np.dot(a[bulk:], b)
    return out


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
    _check(x, w, b, s, d, groups)
    if isinstance(padding, (int, np.integer)) and padding >= 0 and padding_mode == "zeros":
        p = [(int(padding), int(padding))] * nd           # the common case, unchanged
    else:
        p = conv_pads(padding, w.shape[2:], d, s)
    if padding_mode != "zeros":
        if padding_mode not in CONV_PADDING_MODES:
            raise UsageError(f"padding_mode: {padding_mode!r} is not one of "
                             f"{', '.join(CONV_PADDING_MODES)}")
        x = pad_pairs(x, p, CONV_PADDING_MODES[padding_mode], name="padding")   # nn.Conv2d: F.pad, then no padding
        p = [(0, 0)] * nd
    co, cg, *k = w.shape
    for ax, (ni, ki, di, (lo, hi)) in enumerate(zip(x.shape[2:], k, d, p)):
        if di * (ki - 1) + 1 > ni + lo + hi:
            raise UsageError(f"weight: kernel {tuple(k)} with dilation {tuple(d)} spans "
                             f"{di * (ki - 1) + 1} on spatial axis {ax}, but the padded input has "
                             f"{ni + lo + hi}; rule: d*(k-1)+1 <= n + p_lo + p_hi")
    arith = exact_arith(x, w, b, cg * math.prod(k)) if exact else np.dtype(np.float64)
    require_finite(arith, input=x, weight=w, bias=b)
    xa, wa = as_arith(x, arith), as_arith(w, arith)
    ba = None if b is None else as_arith(b, arith)
    m = [(a + lo + hi - di * (ki - 1) - 1) // si + 1 for a, (lo, hi), ki, di, si in zip(x.shape[2:], p, k, d, s)]
    y = np.empty((x.shape[0], co, *m), dtype=np.float64 if arith != object else object)
    if groups == 1 and cg == 1 and k[-1] < m[-1]:
        # few input channels (LeNet's C1, an RGB stem): a window row is too short a run to copy
        # channels-last; copy (C·Πk, B·Πm) rows of m contiguous outputs instead
        _im2col_gemm_nchw(pad(xa, p), wa, ba, s, d, y)
    elif cg == 1 and co == groups > 1 and arith != object:
        _depthwise(xa, wa, ba, p, s, d, y)
    else:
        _im2col_gemm(xa, wa, ba, p, s, d, groups, y)
    return y


def _check(x: np.ndarray, w: np.ndarray, b, s, d, groups) -> None:
    """One-line :class:`UsageError` for a geometry ``torch.nn.functional.conv2d`` also refuses."""
    nd = x.ndim - 2
    if w.ndim != x.ndim:
        raise UsageError(f"weight: shape {w.shape} for {nd}-D input {x.shape}; rule: "
                         f"(C_out, C_in/groups, *k) with {nd} kernel axes")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1 \
            or x.shape[1] % groups or w.shape[0] % groups:
        raise UsageError(f"groups: {groups!r} must be a positive integer dividing the input "
                         f"channels ({x.shape[1]}) and the output channels ({w.shape[0]})")
    if w.shape[1] * groups != x.shape[1]:
        raise UsageError(f"weight: shape {w.shape} reads {w.shape[1]} channels per group but the "
                         f"input has {x.shape[1]} in {groups} group(s); rule: C_in = "
                         f"groups * weight.shape[1]")
    for name, vals in (("stride", s), ("dilation", d)):
        if len(vals) != nd or any(v < 1 for v in vals):
            raise UsageError(f"{name}: {vals}; rule: {nd} integer(s) >= 1")
    if b is not None and b.shape != (w.shape[0],):
        raise UsageError(f"bias: shape {b.shape}; rule: one entry per output channel "
                         f"({w.shape[0]},)")


def _window_view(xp: np.ndarray, axes: tuple[int, ...], k, s, d) -> np.ndarray:
    """The (dilated, strided) windows of ``xp`` over ``axes``: ``(..., *m, ..., *k)``."""
    spans = [di * (ki - 1) + 1 for ki, di in zip(k, d)]
    v = sliding_window_view(xp, spans, axis=axes)
    sel = [slice(None)] * xp.ndim
    for a, si in zip(axes, s):
        sel[a] = slice(None, None, si)
    return v[(*sel, *[slice(None, None, di) for di in d])]


def _im2col_gemm_nchw(xp: np.ndarray, w: np.ndarray, b, s, d, y: np.ndarray) -> None:
    """``y (N, C_out, *m)`` for one group: im2col as ``(C·Πk, B·Πm)`` in cache-sized blocks, then
    ``W (C_out, C·Πk)`` times it (the textbook layout; Chellapilla et al. 2006)."""
    nd = xp.ndim - 2
    n = xp.shape[0]
    co, cg, *k = w.shape
    kk = cg * math.prod(k)
    v = _window_view(xp, tuple(range(2, 2 + nd)), k, s, d)              # (N, C, *m, *k)
    m = v.shape[2:2 + nd]
    mm = math.prod(m)
    wk = w.reshape(co, kk)
    step = block(n, kk * mm)
    buf = np.empty((cg, *k, min(step, n), *m), dtype=w.dtype)
    order = (1, *range(2 + nd, 2 + 2 * nd), 0, *range(2, 2 + nd))   # (C, *k, B, *m)
    yf = y.reshape(n, co, mm)
    for i in range(0, n, step):
        vb = v[i:i + step]
        nb = vb.shape[0]
        cols = buf[(slice(None),) * (1 + nd) + (slice(0, nb),)]
        cols[...] = vb.transpose(order)
        # one GEMM per sample, (C_out, C·Πk) @ (C·Πk, Πm): small enough for the BLAS's unpacked
        # kernels (see _SMALL_GEMM), and the result comes out channels-first
        out = np.matmul(wk, cols.reshape(kk, nb, mm).transpose(1, 0, 2))   # (B, C_out, Πm)
        if b is not None:
            out += b[:, None]
        yf[i:i + nb] = out                                          # into float64 while in cache


def _im2col_gemm(x: np.ndarray, w: np.ndarray, b, pads, s, d, groups: int, y: np.ndarray) -> None:
    """``y (N, C_out, *m)``: the padded input's windows, channels last, times the weight, per group.

    Blocks of samples small enough to stay in cache go through every step in turn: zero-padded
    and moved channels-last (so that each window row ``(k_last, C_in/g)`` is one contiguous run),
    copied into im2col rows ``(Πm, g, Πk·C_in/g)``, multiplied by the weight, biased, and written
    to ``y`` channels-first, converted to ``y``'s dtype in the same copy; a sample too large for
    one block goes in slabs of output rows. Only the input and the output ever pass through main
    memory.
    """
    nd = x.ndim - 2
    n, c, *size = x.shape
    co, cg, *k = w.shape
    og, kk = co // groups, cg * math.prod(k)
    m = y.shape[2:]
    mm = math.prod(m)
    # weights as (g, Πk·C_in/g, C_out/g), the taps in the order of the window rows below
    wg = np.ascontiguousarray(w.reshape(groups, og, cg, *k).transpose(
        0, *range(3, 3 + nd), 2, 1)).reshape(groups, kk, og)
    step = block(n, kk * groups * mm)
    # reused buffers: no fresh pages per block, and the padding border of xc is written once
    xc = np.zeros((step, *[a + lo + hi for a, (lo, hi) in zip(size, pads)], c), dtype=w.dtype)
    inner = tuple(slice(lo, lo + a) for a, (lo, _) in zip(size, pads))
    # A channel stride that is a multiple of 4 KiB puts all channels of a pixel in one L1 cache
    # set, and the move to channels-last then runs several times slower (measured: 16x32x32);
    # the padded planes' stride is not such a multiple, so those inputs are padded first.
    aliased = x.dtype != object and (math.prod(size) * x.itemsize) % 4096 == 0 and c > 1 \
        and any(lo or hi for lo, hi in pads)
    xp = np.zeros((step, c, *xc.shape[1:-1]), dtype=w.dtype) if aliased else None
    # one sample too large for a block (a 3-D clip, a large image): slabs of q output rows
    # (first spatial axis) instead
    q = m[0] if step > 1 else block(m[0], kk * groups * (mm // max(1, m[0])))
    slab = q * (mm // max(1, m[0]))                          # output positions per sample and slab
    cols = np.empty(step * slab * groups * kk, dtype=w.dtype)
    acc = np.empty((step * slab, groups, og), dtype=w.dtype)
    part = np.empty((step * slab, og), dtype=w.dtype) if groups > 1 else None
    order = (0, *range(1, 1 + nd), 1 + nd, *range(3 + nd, 3 + 2 * nd), 2 + nd)
    yf = y.reshape(n, co, mm)
    per_row = mm // max(1, m[0])
    for i in range(0, n, step):
        nb = min(step, n - i)
        if c <= 8:   # few channels: one copy per channel runs along rows (a long inner loop)
            for ch in range(c):
                xc[(slice(0, nb), *inner, ch)] = x[i:i + nb, ch]
        elif xp is None:
            xc[(slice(0, nb), *inner)] = np.moveaxis(x[i:i + nb], 1, -1)
        else:   # pad channels-first (contiguous rows), then move the padded planes channels-last
            xp[(slice(0, nb), slice(None), *inner)] = x[i:i + nb]
            xc[:nb] = np.moveaxis(xp[:nb], 1, -1)
        v = _window_view(xc[:nb], tuple(range(1, 1 + nd)), k, s, d)   # (B, *m, C, *k)
        for o0 in range(0, m[0], q):
            nq = min(q, m[0] - o0)
            r = nb * nq * per_row                                          # GEMM rows
            # (B, q, *m', g, C_in/g, *k) -> (B, q, *m', g, *k, C_in/g) -> (rows, g, Πk·C_in/g)
            cb = cols[:r * groups * kk].reshape(nb, nq, *m[1:], groups, *k, cg)
            cb[...] = v[:, o0:o0 + nq].reshape(nb, nq, *m[1:], groups, cg, *k).transpose(order)
            rows = cb.reshape(r, groups, kk)
            out = acc[:r]
            if groups == 1:
                gemm(rows[:, 0], wg[0], out.reshape(r, og))
            else:
                for g in range(groups):             # contiguous per-group products, then placed
                    out[:, g] = gemm(rows[:, g], wg[g], part[:r])
            if b is not None:
                out += b.reshape(groups, og)
            yf[i:i + nb, :, o0 * per_row:(o0 + nq) * per_row] = \
                out.reshape(nb, nq * per_row, co).transpose(0, 2, 1)


def _depthwise(x: np.ndarray, w: np.ndarray, b, pads, s, d, y: np.ndarray) -> None:
    """``y (N, C, *m)`` of a depthwise convolution (one input channel and one output per group),
    as one batched matmul over the channels: ``y[n, c] = w[c] (1, Πk) @ cols[n, c] (Πk, L)``.

    Channels first, in blocks of samples that stay in cache. Stride 1: tap ``j`` of every output
    sits in the flattened padded plane at one constant offset, so the im2col rows of a channel
    are ``Πk`` contiguous slices of its plane, and the outputs are read back from the plane's
    grid (the positions past a row's end are computed and dropped). Stride > 1: one strided
    multiply-add per tap. Every product and partial sum is exact under the certificate.
    """
    nd = x.ndim - 2
    n, c, *size = x.shape
    k = w.shape[2:]
    m = y.shape[2:]
    padded = [a + lo + hi for a, (lo, hi) in zip(size, pads)]
    plane = math.prod(padded)
    taps = list(itertools.product(*map(range, k)))
    step = block(n, c * plane * (len(taps) + 2))
    xp = np.zeros((step, c, *padded), dtype=w.dtype)     # reused; its border stays zero
    inner = tuple(slice(lo, lo + a) for a, (lo, _) in zip(size, pads))
    stride1 = all(v == 1 for v in s)
    if stride1:
        grid = [math.prod(padded[a + 1:]) for a in range(nd)]          # the plane's strides
        length = plane - sum((ki - 1) * di * g for ki, di, g in zip(k, d, grid))  # every output
        cols = np.empty((c, len(taps), step, length), dtype=w.dtype)
        wt = w.reshape(c, 1, len(taps))
    for i in range(0, n, step):
        nb = min(step, n - i)
        xp[(slice(0, nb), slice(None), *inner)] = x[i:i + nb]
        if stride1:
            # view (B, C, *k, L) of the shifted slices (tap j at offset Σ j·d·grid), copied once
            # into channel-major rows, so that each channel is one GEMV (1, Πk) @ (Πk, B·L)
            it = xp.itemsize
            shifted = as_strided(xp[:nb], (nb, c, *k, length), (*xp.strides[:2], *[
                di * g * it for di, g in zip(d, grid)], it), writeable=False)
            cb = cols[:, :, :nb]
            cb.reshape(c, *k, nb, length)[...] = np.moveaxis(shifted, 0, -2)
            acc = np.matmul(wt, cb.reshape(c, len(taps), nb * length))      # (C, 1, B·L)
            it = acc.itemsize
            out = as_strided(acc, (nb, c, *m), (length * it, acc.strides[0],
                                                 *[g * it for g in grid]), writeable=False)
        else:
            v = _window_view(xp[:nb], tuple(range(2, 2 + nd)), k, s, d)   # (B, C, *m, *k)
            wb = w.reshape(c, *[1] * nd, -1)
            out = v[(Ellipsis, *taps[0])] * wb[..., 0]
            for t in range(1, len(taps)):
                out += v[(Ellipsis, *taps[t])] * wb[..., t]
        if b is not None:
            out = out + b.reshape(c, *[1] * nd)
        y[i:i + nb] = out


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
