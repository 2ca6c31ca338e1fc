"""Exact convolution: pad, window view, one GEMM per group (im2col) in the narrowest exact arithmetic.

Exactness rests on the certificate alone (:mod:`cnnspec.oracle.core`): within it every product and
partial sum is an integer below ``2^p``, so any blocking, chunking or summation order gives the
same exact result. Speed comes from doing every step on blocks of samples (or slabs of output
rows) that stay in cache: zero padding, the im2col copy, the GEMM, the bias and the write to the
float64 output (Chellapilla, Puri & Simard 2006, im2col; Goto & van de Geijn 2008, why blocking
for the cache decides GEMM speed). The im2col matrix is built transposed, one row per tap and
input channel, so that the GEMM is ``W (C_out/g, K) @ cols (K, B·Πm)``: its short side is the
output channels, the orientation OpenBLAS runs fastest on these shapes (measured 1.0-1.6x faster
than ``cols (B·Πm, K) @ Wᵀ`` on the benchmark's layers), and the product comes out channels-first.
Depthwise convolution is a sum over the kernel's taps of shifted inputs times per-channel weights;
at stride 1 on large inputs, where numba is installed (the ``fast`` extra), one compiled loop adds
the taps of each plane while it is in cache (:func:`_depthwise_compiled`).

``padding`` follows ``torch.nn.functional.conv2d`` (an int, one per axis, ``'same'``, ``'valid'``)
plus the calling convention's ``(lo, hi)`` pairs; ``padding_mode`` is ``nn.Conv2d``'s
(``zeros | reflect | replicate | circular``: pad in that mode, then convolve with no padding).
The ``convNd`` wrappers also take unbatched input ``(C, *n)``, as torch does.
"""
from __future__ import annotations

import functools
import itertools
import math
import os

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from ..errors import UsageError
from . import jit
from .core import _pairs, as_arith, exact_arith, require_finite
from .padding import CONV_PADDING_MODES, conv_pads, pad_pairs
from .workspace import scratch

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
    if cg == 1 and co == groups > 1 and arith != object:
        _depthwise(xa, wa, ba, p, s, d, y)
    else:
        _im2col_kmajor(xa, wa, ba, p, s, d, groups, y)
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


def _im2col_kmajor(x: np.ndarray, w: np.ndarray, b, pads, s, d, groups: int, y: np.ndarray) -> None:
    """``y (N, C_out, *m)``: per group, ``W (C_out/g, C_in/g·Πk) @ cols (C_in/g·Πk, B·Πm)``.

    The im2col matrix is built transposed (one row per tap and input channel, one column per
    output position; Chellapilla et al. 2006), channels-first as the input is, in blocks of
    samples (or slabs of output rows of one sample) that stay in cache. With the weight on the
    left the GEMM's short side (the output channels) is its M, the shape OpenBLAS runs fastest
    here, and the product is already channels-first: it reaches ``y`` (and ``y``'s dtype) in one
    copy, with runs of ``B·Πm`` contiguous outputs.
    """
    nd = x.ndim - 2
    n, c, *size = x.shape
    co, cg, *k = w.shape
    og, kk = co // groups, cg * math.prod(k)
    m = y.shape[2:]
    mm, per_row = math.prod(m), math.prod(m[1:])
    wg = w.reshape(groups, og, kk)
    step = block(n, kk * groups * mm)
    q = m[0] if step > 1 else block(m[0], kk * groups * per_row)   # output rows per slab
    xp = scratch("conv.xp", (step, c, *[a + lo + hi for a, (lo, hi) in zip(size, pads)]), w.dtype,
                 zero=any(lo or hi for lo, hi in pads))                # the border stays zero
    inner = tuple(slice(lo, lo + a) for a, (lo, _) in zip(size, pads))
    cols = scratch("conv.cols", groups * kk * step * q * per_row, w.dtype)
    acc = scratch("conv.acc", groups * og * step * q * per_row, w.dtype)
    # (B, g, C_in/g, *m, *k) -> (g, C_in/g, *k, B, *m)
    order = (1, 2, *range(3 + nd, 3 + 2 * nd), 0, *range(3, 3 + nd))
    yf = y.reshape(n, co, m[0], per_row)
    padded = xp.shape[2:]
    plane = math.prod(padded)
    grid = [math.prod(padded[a + 1:]) for a in range(nd)]              # the plane's strides
    length = plane - sum((ki - 1) * di * gi for ki, di, gi in zip(k, d, grid))
    if all(v == 1 for v in s) and kk * groups * plane <= _CACHE_BLOCK and length > 0 \
            and w.dtype != object:
        _kmajor_flat(x, wg, b, xp, inner, grid, length, k, d, groups, y)
        return
    for i in range(0, n, step):
        nb = min(step, n - i)
        xp[(slice(0, nb), slice(None), *inner)] = x[i:i + nb]          # the border stays zero
        v = _window_view(xp[:nb], tuple(range(2, 2 + nd)), k, s, d)     # (B, C, *m, *k)
        for o0 in range(0, m[0], q):
            nq = min(q, m[0] - o0)
            r = nb * nq * per_row                                        # GEMM columns
            cb = cols[:groups * kk * r].reshape(groups, cg, *k, nb, nq, *m[1:])
            cb[...] = v[:, :, o0:o0 + nq].reshape(nb, groups, cg, nq, *m[1:], *k).transpose(order)
            out = np.matmul(wg, cb.reshape(groups, kk, r), out=acc[:groups * og * r].reshape(groups, og, r))
            if b is not None:
                out += b.reshape(groups, og, 1)
            yf[i:i + nb, :, o0:o0 + nq] = out.reshape(co, nb, nq, per_row).transpose(1, 0, 2, 3)


def _kmajor_flat(x, wg, b, xp, inner, grid, length, k, d, groups, y) -> None:
    """:func:`_im2col_kmajor` at stride 1: tap ``j`` of every output sits at one constant offset
    ``Σ j·d·grid`` in the flattened padded plane, so each row of the im2col matrix is one
    contiguous slice of a plane, copied as one run; the columns past a row's end are computed and
    dropped when the product is read back on the plane's grid."""
    n, c = x.shape[:2]
    co, m = y.shape[1], y.shape[2:]
    _, og, kk = wg.shape
    cg = c // groups
    step = block(n, kk * groups * length)
    if step > xp.shape[0]:
        xp = scratch("conv.xp", (step, *xp.shape[1:]), xp.dtype, zero=True)
    it = xp.itemsize
    cols = scratch("conv.cols", (groups, cg, *k, step, length), xp.dtype)
    acc = scratch("conv.acc", (groups, og, step * length), xp.dtype)
    for i in range(0, n, step):
        nb = min(step, n - i)
        xp[(slice(0, nb), slice(None), *inner)] = x[i:i + nb]
        shifted = as_strided(xp[:nb], (nb, groups, cg, *k, length), (
            xp.strides[0], cg * xp.strides[1], xp.strides[1],
            *[di * gi * it for di, gi in zip(d, grid)], it), writeable=False)
        cb = cols[..., :nb, :]
        cb[...] = np.moveaxis(shifted, 0, -2)
        r = nb * length
        out = np.matmul(wg, cb.reshape(groups, kk, r), out=acc[:, :, :r])
        if b is not None:
            out += b.reshape(groups, og, 1)
        flat = out.reshape(co, r)
        y[i:i + nb] = as_strided(flat, (nb, co, *m), (length * it, flat.strides[0],
                                                       *[gi * it for gi in grid]), writeable=False)


def _depthwise(x: np.ndarray, w: np.ndarray, b, pads, s, d, y: np.ndarray) -> None:
    """``y (N, C, *m)`` of a depthwise convolution (one input channel and one output per group),
    as a sum over the kernel's taps of each tap's shifted input times its per-channel weight.

    Blocks of samples that stay in cache. Stride 1: the block is laid out channel-major, one
    channel's padded planes end to end, so that tap ``j`` of every output of a channel sits at
    one constant offset ``Σ j·d·grid`` of that run: each tap is one multiply and one add over
    ``C`` long contiguous runs (the positions past a row's or a plane's end are computed and
    dropped when the outputs are read back on the planes' grid). Stride > 1: one strided
    multiply-add per tap on the window view. No BLAS call, and no im2col copy: every product and
    partial sum is an integer below ``2^p`` under the certificate, so the order is immaterial.
    """
    nd = x.ndim - 2
    n, c, *size = x.shape
    k = w.shape[2:]
    m = y.shape[2:]
    padded = [a + lo + hi for a, (lo, hi) in zip(size, pads)]
    plane = math.prod(padded)
    taps = list(itertools.product(*map(range, k)))
    wt = w.reshape(c, len(taps))
    inner = tuple(slice(lo, lo + a) for a, (lo, _) in zip(size, pads))
    if not all(v == 1 for v in s):
        step = block(n, c * plane * (len(taps) + 2))
        xp = scratch("conv.xp", (step, c, *padded), w.dtype, zero=True)   # its border stays zero
        wb = wt.reshape(c, *[1] * nd, -1)
        for i in range(0, n, step):
            nb = min(step, n - i)
            xp[(slice(0, nb), slice(None), *inner)] = x[i:i + nb]
            v = _window_view(xp[:nb], tuple(range(2, 2 + nd)), k, s, d)   # (B, C, *m, *k)
            out = v[(Ellipsis, *taps[0])] * wb[..., 0]
            for t in range(1, len(taps)):
                out += v[(Ellipsis, *taps[t])] * wb[..., t]
            if b is not None:
                out += b.reshape(c, *[1] * nd)
            y[i:i + nb] = out
        return
    if x.size >= COMPILED_MIN and _compiled_depthwise() is not None:
        _depthwise_compiled(x, w, b, pads, d, y)
        return
    grid = [math.prod(padded[a + 1:]) for a in range(nd)]
    offsets = [sum(ji * di * gi for ji, di, gi in zip(j, d, grid)) for j in taps]
    step = block(n, 3 * c * plane)                       # the block, its sum and one product
    xp = scratch("conv.xp", (c, step, *padded), w.dtype, zero=True)   # its border stays zero
    acc = scratch("conv.acc", (c, step * plane), w.dtype)
    tmp = scratch("conv.tmp", (c, step * plane), w.dtype)
    for i in range(0, n, step):
        nb = min(step, n - i)
        xp[(slice(None), slice(0, nb), *inner)] = np.moveaxis(x[i:i + nb], 1, 0)
        run = xp.reshape(c, -1)[:, :nb * plane]
        r = nb * plane - offsets[-1]                     # every output of the block lies below r
        out = np.multiply(run[:, offsets[0]:offsets[0] + r], wt[:, :1], out=acc[:, :r])
        for t in range(1, len(taps)):
            out += np.multiply(run[:, offsets[t]:offsets[t] + r], wt[:, t:t + 1], out=tmp[:, :r])
        if b is not None:
            out += b[:, None]
        grid_view = acc[:, :nb * plane].reshape(c, nb, *padded)
        y[i:i + nb] = np.moveaxis(grid_view[(slice(None), slice(None), *[slice(0, v) for v in m])], 0, 1)


COMPILED_MIN = 1 << 18     # input entries from which a stride-1 depthwise convolution runs the
#                            compiled loop (smaller inputs: NumPy's passes cost less than numba's import)


@functools.lru_cache(maxsize=1)
def _compiled_depthwise():
    """``planes(run, wt, bias, offsets, plane, rows, out)`` compiled by numba, or None where numba
    is not installed (:func:`_depthwise`'s NumPy passes are used).

    ``run`` holds ``P = out.shape[0]`` padded planes end to end, ``plane`` entries apart; plane
    ``q`` (sample ``q // C``, channel ``q % C``) is the sum over the taps ``t`` of its run shifted by
    ``offsets[t]`` times ``wt[q % C, t]``, plus ``bias[q % C]``, accumulated in ``run``'s dtype
    (any order is exact under the certificate) over the positions ``0 .. rows[-1] + L`` of the
    plane's grid; output row ``r`` of the plane is the ``L = out.shape[2]`` positions from
    ``rows[r]``, written to ``out`` (float64) as they are.
    """
    def planes(run, wt, bias, offsets, plane, rows, out):
        channels, length = wt.shape[0], out.shape[2]
        span = rows[-1] + length
        acc = np.empty(span, run.dtype)
        for q in range(out.shape[0]):
            ch = q % channels
            acc[:] = bias[ch]
            for t in range(offsets.size):
                src = run[q * plane + offsets[t]:q * plane + offsets[t] + span]
                wv = wt[ch, t]
                for i in range(span):
                    acc[i] += wv * src[i]
            for r in range(rows.size):
                for i in range(length):
                    out[q, r, i] = acc[rows[r] + i]

    return jit.njit(planes)


def _depthwise_compiled(x: np.ndarray, w: np.ndarray, b, pads, d, y: np.ndarray) -> None:
    """:func:`_depthwise` at stride 1 by the compiled loop, on planes laid out with shared borders.

    Each axis of a plane carries ``g = max(lo, hi)`` zeros after its ``n`` entries, and the planes
    of a block lie end to end after ``Σ lo·grid`` leading zeros: the ``hi`` zeros after a row are
    the ``lo`` zeros before the next, and the last zero rows of a plane are the first of the next.
    A window of a kept output reads its plane's entries or zeros only (a tap at ``-lo .. n + hi - 1``
    along an axis lands in the ``g`` zeros on that side), so tap ``j`` of every output sits at one
    constant offset ``Σ j·d·grid``; positions between the outputs are computed and dropped.
    """
    nd = x.ndim - 2
    n, c, *size = x.shape
    k, m = w.shape[2:], y.shape[2:]
    gaps = [max(lo, hi) for lo, hi in pads]
    dims = [a + g for a, g in zip(size, gaps)]
    plane = math.prod(dims)
    grid = [math.prod(dims[a + 1:]) for a in range(nd)]
    lead = sum(lo * gi for (lo, _), gi in zip(pads, grid))
    offsets = np.array([sum(ji * di * gi for ji, di, gi in zip(j, d, grid))
                        for j in itertools.product(*map(range, k))], dtype=np.int64)
    rows = np.array([sum(ri * gi for ri, gi in zip(r, grid))
                     for r in itertools.product(*map(range, m[:-1]))], dtype=np.int64)
    span = int(rows[-1]) + m[-1]
    step = block(n, 2 * c * plane)
    size_run = max(lead + step * c * plane, (step * c - 1) * plane + span + int(offsets[-1]))
    run = scratch("conv.xp", size_run, w.dtype, zero=True)     # its borders stay zero
    planes = run[lead:lead + step * c * plane].reshape(step * c, *dims)
    inner = tuple(slice(0, a) for a in size)
    wt = np.ascontiguousarray(w.reshape(c, -1))
    bias = np.zeros(c, w.dtype) if b is None else np.ascontiguousarray(b, dtype=w.dtype)
    kernel = _compiled_depthwise()
    for i in range(0, n, step):
        nb = min(step, n - i)
        planes[(slice(0, nb * c), *inner)] = x[i:i + nb].reshape(nb * c, *size)
        kernel(run, wt, bias, offsets, plane, rows, y[i:i + nb].reshape(nb * c, len(rows), m[-1]))


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
