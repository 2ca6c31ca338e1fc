"""Exact transposed convolution: one GEMM per group, then every kernel tap scattered into the output.

The transposed convolution is the adjoint of the convolution with the same geometry: input
position ``a`` sends ``w[c_in, c_out, j]·x[a]`` to output position ``o = a·s − p_lo + j·d``
(Dumoulin & Visin 2016, §4; the matrix is ``T(w)ᵀ``, see :mod:`cnnspec.spec.transposed`). Per
axis the output size is ::

    (n − 1)·s − p_lo − p_hi + d·(k − 1) + output_padding + 1

computed here as the full output ``(n−1)s + d(k−1) + 1`` with ``output_padding`` more entries on
the high side, cropped by ``p_lo`` and ``p_hi``. The weight is ``(C_in, C_out/groups, *k)``.

The loop runs over kernel taps (``Πk`` strided slice additions of whole arrays), never over
pixels. Exactness: every output is a sum of at most ``K = C_in/g·Πk`` products, so the exactness
certificate of :mod:`cnnspec.oracle.core` (``K·max|x|·max|w| + max|b| < 2^p``) makes every
partial sum in this order an integer below ``2^p``; other data use Python ints/Fractions.

>>> import numpy as np
>>> conv_transpose1d(np.array([[[1., 2.]]]), np.array([[[1., 10., 100.]]]), stride=2).tolist()
[[[1.0, 10.0, 102.0, 20.0, 200.0]]]

References
----------
Dumoulin & Visin, *A guide to convolution arithmetic for deep learning* (2016), arXiv:1603.07285,
§4 (transposed convolution arithmetic, relationship 14).
PyTorch docs, ``torch.nn.ConvTranspose2d`` (output size; weight ``(C_in, C_out/groups, *k)``;
``output_padding`` must be smaller than the stride or the dilation).
ONNX operator docs, ``ConvTranspose`` (the output-shape equation, pads ``(start, end)``).
"""
from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from ..errors import UsageError
from . import jit
from .conv import block, gemm, unbatched
from .core import _pairs, as_arith, exact_arith, require_finite
from .padding import conv_pads
from .workspace import scratch


COMPILED_MIN = 1 << 18     # products (N·Πn·Πk·C_out) from which the taps are added by the compiled
#                            loop (fewer: NumPy's strided additions cost less than numba's import)


def transposed_output_size(n: int, k: int, stride: int, pads: tuple[int, int], dilation: int,
                           output_padding: int) -> int:
    """``(n−1)s − p_lo − p_hi + d(k−1) + output_padding + 1`` (torch ``ConvTranspose`` docs)."""
    return (n - 1) * stride - pads[0] - pads[1] + dilation * (k - 1) + output_padding + 1


def _check(x, w, b, s, d, op, groups):
    nd = x.ndim - 2
    if w.ndim != nd + 2:
        raise UsageError(f"weight: shape {w.shape} for {nd}-D input; rule: (C_in, C_out/groups, "
                         f"*k) with {nd} kernel axes")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1 \
            or x.shape[1] % groups:
        raise UsageError(f"groups: {groups!r} must be a positive integer dividing the input "
                         f"channels ({x.shape[1]})")
    if w.shape[0] != x.shape[1]:
        raise UsageError(f"weight: shape {w.shape} has {w.shape[0]} input channels but the input "
                         f"has {x.shape[1]}; rule: a transposed convolution's weight is "
                         f"(C_in, C_out/groups, *k)")
    for name, vals in (("stride", s), ("dilation", d)):
        if any(v < 1 for v in vals):
            raise UsageError(f"{name}: {vals} must be >= 1")
    for o, si, di in zip(op, s, d):
        if o < 0 or not (o < si or o < di):
            raise UsageError(f"output_padding: {tuple(op)} with stride {tuple(s)} and dilation "
                             f"{tuple(d)}; rule: 0 <= output_padding < max(stride, dilation) on "
                             f"every axis")
    if b is not None and b.shape != (w.shape[1] * groups,):
        raise UsageError(f"bias: shape {b.shape}; rule: one entry per output channel "
                         f"({w.shape[1] * groups})")


def conv_transpose(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, stride=1, padding=0,
                   output_padding=0, groups: int = 1, dilation=1, *, exact: bool = True) -> np.ndarray:
    """Transposed convolution ``(N, C_in, *n) → (N, C_out, *m)`` with weight ``(C_in, C_out/g, *k)``.

    ``padding`` is an int, one per axis or ``(lo, hi)`` pairs (ONNX ``pads``). Returns float64 when
    the result is exact there, else an object array; ``exact=False`` computes in float64.
    """
    x, w = np.asarray(x), np.asarray(w)
    b = None if b is None else np.asarray(b)
    nd = x.ndim - 2
    s, d, op = _pairs(stride, nd), _pairs(dilation, nd), _pairs(output_padding, nd)
    _check(x, w, b, s, d, op, groups)
    if isinstance(padding, str):
        raise UsageError(f"padding: {padding!r}; rule: a transposed convolution takes an int, one "
                         f"int per axis or (lo, hi) pairs")
    pads = conv_pads(padding, w.shape[2:], d, s)
    n, ci, *size = x.shape
    _, cg_out, *k = w.shape
    co = cg_out * groups
    m = [transposed_output_size(*a) for a in zip(size, k, s, pads, d, op)]
    if any(v < 1 for v in m):
        raise UsageError(f"padding: {pads} leaves an output of size {tuple(m)}; rule: "
                         f"(n-1)s - p_lo - p_hi + d(k-1) + output_padding + 1 >= 1")
    cpg = ci // groups
    arith = exact_arith(x, w, b, cpg * math.prod(k)) if exact else np.dtype(np.float64)
    require_finite(arith, input=x, weight=w, bias=b)
    xa, wa = as_arith(x, arith), as_arith(w, arith)
    ba = None if b is None else as_arith(b, arith)
    y = np.empty((n, co, *m), dtype=np.float64 if arith != object else object)
    _scatter_gemm(xa, wa, ba, s, d, op, pads, groups, y)
    return y


def _scatter_gemm(x: np.ndarray, w: np.ndarray, b, s, d, op, pads, groups: int,
                  y: np.ndarray) -> None:
    """``y (N, C_out, *m)``: per group and block of samples, one GEMM gives every tap's
    contribution ``x[a]·w[:, :, j]``; each tap is added into the full output at ``a·s + j·d``.

    Channels last throughout the block, so every tap's addition moves runs of contiguous channels;
    the block (its input, the GEMM's columns and its full output) stays in cache, and leaves it
    cropped by the padding, biased and written channels-first in ``y``'s dtype in one copy.
    From ``COMPILED_MIN`` products on, and where numba is installed, one compiled loop adds every
    tap of a block at the output position it lands on (:func:`_destinations`; cropped taps are
    skipped) and writes the result channels-first; else NumPy adds one tap at a time (strided
    slices of the full output), or, where the taps tile the output (``k = s``, no padding),
    rearranges the columns in one copy.
    """
    nd = x.ndim - 2
    n, ci, *size = x.shape
    _, cg_out, *k = w.shape
    cpg, taps = ci // groups, math.prod(k)
    full = [(a - 1) * si + di * (ki - 1) + 1 + o for a, si, di, ki, o in zip(size, s, d, k, op)]
    crop = tuple(slice(lo, lo + mi) for (lo, _), mi in zip(pads, y.shape[2:]))
    step = block(n, cg_out * (taps * math.prod(size) + math.prod(full)))
    xc = scratch("tconv.xc", (step, *size, cpg), w.dtype)
    cols = scratch("tconv.cols", (step * math.prod(size), taps * cg_out), w.dtype)
    shuffle = list(k) == list(s) and all(v == 1 for v in d) and not any(op) \
        and not any(lo or hi for lo, hi in pads)
    scatter = None if n * math.prod(size) * taps * cg_out * groups < COMPILED_MIN \
        else _compiled_scatter()
    if scatter is not None:
        lands = _destinations(size, k, s, d, pads, y.shape[2:])
        bias = np.zeros(y.shape[1], w.dtype) if b is None else np.ascontiguousarray(b, w.dtype)
    out = None if scatter is not None or shuffle else scratch("tconv.out", (step, *full, cg_out), w.dtype)
    for g in range(groups):
        # (C_in/g, C_out/g, *k) -> (C_in/g, *k, C_out/g): the columns in (tap, channel) order
        wg = np.ascontiguousarray(np.moveaxis(w[g * cpg:(g + 1) * cpg], 1, -1)).reshape(cpg, -1)
        yg = y[:, g * cg_out:(g + 1) * cg_out]
        for i in range(0, n, step):
            nb = min(step, n - i)
            xc[:nb] = np.moveaxis(x[i:i + nb, g * cpg:(g + 1) * cpg], 1, -1)   # (B, *n, C_in/g)
            part = gemm(xc[:nb].reshape(-1, cpg), wg, cols[:nb * math.prod(size)])
            if scatter is not None:
                # the spatial axes of y are contiguous: merging them is a view, written in place
                scatter(part.reshape(nb, -1, taps, cg_out), lands, bias[g * cg_out:(g + 1) * cg_out],
                        yg[i:i + nb].reshape(nb, cg_out, -1))
                continue
            part = part.reshape(nb, *size, *k, cg_out)
            if shuffle:
                # k = s, no padding: input a's taps fill the disjoint block a·s + [0, s), so the
                # output is the columns rearranged (a pixel shuffle; Shi et al. 2016), one copy
                if b is not None:
                    part += b[g * cg_out:(g + 1) * cg_out]
                yg[i:i + nb].reshape(nb, cg_out, *[v for a, si in zip(size, s) for v in (a, si)])[
                    ...] = part.transpose(0, 1 + 2 * nd, *[v for a in range(nd) for v in (1 + a, 1 + nd + a)])
                continue
            o = out[:nb]
            o[...] = 0
            for j in itertools.product(*map(range, k)):
                # tap j of input position a lands on full-output position a·s + j·d
                dst = tuple(slice(jj * di, jj * di + si * (a - 1) + 1, si)
                            for jj, di, si, a in zip(j, d, s, size))
                o[(slice(None), *dst)] += part[(slice(None), *[slice(None)] * nd, *j)]
            res = o[(slice(None), *crop)]
            if b is not None:
                res = res + b[g * cg_out:(g + 1) * cg_out]
            yg[i:i + nb] = np.moveaxis(res, -1, 1)


def _destinations(size, k, s, d, pads, m) -> np.ndarray:
    """``(Πn, Πk)`` int64: where tap ``j`` of input position ``a`` lands in the cropped output,
    ``Σ (a·s + j·d − p_lo)·stride`` over the axes (C order), or −1 where it falls in the padding."""
    nd = len(size)
    dst = np.zeros([*size, *k], dtype=np.int64)
    keep = np.ones(dst.shape, dtype=bool)
    for ax in range(nd):
        pos = (np.arange(size[ax])[:, None] * s[ax] + np.arange(k[ax])[None, :] * d[ax]
               - pads[ax][0])                                  # (n_ax, k_ax)
        shape = [1] * (2 * nd)
        shape[ax], shape[nd + ax] = size[ax], k[ax]
        pos = pos.reshape(shape)
        keep &= (pos >= 0) & (pos < m[ax])
        dst += pos * math.prod(m[ax + 1:])
    dst[~keep] = -1
    return dst.reshape(math.prod(size), math.prod(k))


@functools.lru_cache(maxsize=1)
def _compiled_scatter():
    """``scatter(part, dst, bias, out)`` compiled by numba, or None where numba is not installed
    (the NumPy strided additions are used): per sample ``b``, output channel ``c`` and position
    ``q``, ``out[b, c, q] = bias[c] + Σ part[b, a, t, c]`` over the ``(a, t)`` with
    ``dst[a, t] = q``, accumulated in ``part``'s dtype (any order is exact under the certificate)
    and written to ``out`` (float64) channels-first."""
    def scatter(part, dst, bias, out):
        channels, positions = out.shape[1], out.shape[2]
        acc = np.empty((positions, channels), part.dtype)
        for b in range(part.shape[0]):
            for q in range(positions):
                acc[q] = bias
            for a in range(part.shape[1]):
                for t in range(part.shape[2]):
                    q = dst[a, t]
                    if q >= 0:
                        for c in range(channels):
                            acc[q, c] += part[b, a, t, c]
            for c in range(channels):
                for q in range(positions):
                    out[b, c, q] = acc[q, c]

    return jit.njit(scatter)


def conv_transpose1d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1) -> np.ndarray:
    """``torch.nn.functional.conv_transpose1d``: ``(N, C_in, L)`` or unbatched ``(C_in, L)``."""
    return unbatched(conv_transpose, x, 1, w, b, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1) -> np.ndarray:
    """``torch.nn.functional.conv_transpose2d``: ``(N, C_in, H, W)`` or unbatched."""
    return unbatched(conv_transpose, x, 2, w, b, stride, padding, output_padding, groups, dilation)


def conv_transpose3d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1) -> np.ndarray:
    """``torch.nn.functional.conv_transpose3d``: ``(N, C_in, D, H, W)`` or unbatched."""
    return unbatched(conv_transpose, x, 3, w, b, stride, padding, output_padding, groups, dilation)
