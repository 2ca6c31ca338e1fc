"""Exact reference ops: convolution, max and average pooling, and rigorous float error bounds.

Each op is built from three plain pieces, as in JAX's ``lax_reference``: explicit padding
(:func:`pad`), a strided window view (:func:`windows`) and one reduction over the window axes
(a matrix product for convolution, ``max``/``sum`` for pooling). There is no validation here; the
public layer (:mod:`cnnspec.conformance`) validates arguments first.

Exactness. Every result is exact:

* integer-valued data are multiplied and summed in the narrowest float type whose significand
  holds every partial sum (the *exactness certificate* ``K·max|x|·max|w| + max|b| < 2^p``, K the
  reduction length, p = 24 for float32, 53 for float64); within it every product and every partial
  sum is an integer below ``2^p``, so *any* summation order — BLAS blocking, FMA — gives the exact
  integer. This is what makes the oracle fast: an independent float32 GEMM on certified data;
* other data (fractions, large integers, general floats) go through Python ``int``/``Fraction``
  object arithmetic: slow, exact;
* average pooling returns exact sums and divisors (:func:`avg_pool2d_parts`); the quotient is a
  rational that :func:`avg_pool2d` rounds once to float64.

>>> import numpy as np
>>> x = np.arange(6.).reshape(1, 1, 6); w = np.array([[[1., 0., -1.]]])
>>> conv(x, w)
array([[[-2., -2., -2., -2.]]])
>>> max_pool2d(np.array([[[[1., -5.], [3., 2.]]]]), 2, padding=1).tolist()
[[[[1.0, -5.0], [3.0, 2.0]]]]

References
----------
JAX, ``jax/_src/lax_reference.py`` (the pad / window view / einsum construction).
Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed. (2002), §3.1 (γ_n) and §3.5
(inner products): ``|fl(xᵀy) − xᵀy| ≤ γ_n |x|ᵀ|y|``, ``γ_n = n·u / (1 − n·u)``.
PyTorch ``aten/src/ATen/native/Pool.h`` (``pooling_output_shape``; avg-pool divisors).
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .spec.pooling import avg_divisors, pool_geometry

# Significand bits (with the hidden bit) and unit roundoff of the dtypes cnnspec validates.
_BLOCK = 2 ** 25  # entries of one im2col block (128 MiB in float32)
PRECISION = {"float64": 53, "float32": 24, "float16": 11, "bfloat16": 8, "tf32": 11}
INPUT_ROUNDINGS = ("tf32", "bfloat16", "float16")


def unit_roundoff(dtype: str) -> float:
    """``u = 2^-p`` for round to nearest (float32: 2^-24)."""
    return 2.0 ** -PRECISION[dtype]


def gamma(k: int, dtype: str) -> float:
    """Higham's ``γ_k = k·u / (1 − k·u)``; ``inf`` when ``k·u >= 1`` (no bound holds)."""
    ku = k * unit_roundoff(dtype)
    return ku / (1 - ku) if ku < 1 else math.inf


def _pairs(v, nd: int) -> tuple[int, ...]:
    return (v,) * nd if isinstance(v, (int, np.integer)) else tuple(int(a) for a in v) * (nd // len(v))


# --- the three pieces -------------------------------------------------------------------------------

def pad(x: np.ndarray, pads: Sequence[tuple[int, int]], value=0) -> np.ndarray:
    """``x`` with its trailing ``len(pads)`` axes padded by ``(lo, hi)`` copies of ``value``."""
    widths = [(0, 0)] * (x.ndim - len(pads)) + [tuple(p) for p in pads]
    return np.pad(x, widths, constant_values=value)


def windows(x: np.ndarray, kernel: Sequence[int], stride: Sequence[int],
            dilation: Sequence[int]) -> np.ndarray:
    """View ``(..., *out, *kernel)`` of every (dilated, strided) window over the trailing axes."""
    nd = len(kernel)
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    v = sliding_window_view(x, spans, axis=tuple(range(x.ndim - nd, x.ndim)))
    outer = (slice(None),) * (x.ndim - nd) + tuple(slice(None, None, s) for s in stride)
    return v[outer + tuple(slice(None, None, d) for d in dilation)]


# --- certificates ----------------------------------------------------------------------------------

def _all_integer(*arrays) -> bool:
    for a in arrays:
        if a is None:
            continue
        if a.dtype == object:
            if not all(isinstance(v, (int, np.integer)) or (isinstance(v, Fraction) and v.denominator == 1)
                       for v in a.flat):
                return False
        elif a.dtype.kind == "f" and not np.all(np.isfinite(a) & (a == np.round(a))):
            return False
    return True


def _maxabs(a) -> float:
    return 0.0 if a is None or a.size == 0 else float(max(abs(v) for v in a.flat)) \
        if a.dtype == object else float(np.max(np.abs(a)))


def certificate(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, taps: int,
                dtype: str = "float32") -> dict:
    """The exactness certificate of a convolution on integer data: ``K·max|x|·max|w| + max|b| < 2^p``.

    When it holds every partial sum of every output is an integer below ``2^p``, so any
    implementation that multiplies and adds in ``dtype`` (or wider), in any order, is bit-exact.
    """
    integer = _all_integer(x, w, b)
    value = taps * _maxabs(x) * _maxabs(w) + _maxabs(b)
    limit = 2 ** PRECISION[dtype]
    return {"integer": integer, "K": taps, "value": value, "limit": limit, "dtype": dtype,
            "holds": integer and value < limit}


def _arith(x, w, b, taps: int):
    """The narrowest exact arithmetic for these data: float32, float64, or Python objects."""
    if not _all_integer(x, w, b):
        return np.dtype(object)
    value = taps * _maxabs(x) * _maxabs(w) + _maxabs(b)
    for dt in ("float32", "float64"):
        if value < 2 ** PRECISION[dt]:
            return np.dtype(dt)
    return np.dtype(object)


def _cast(a: np.ndarray, arith: np.dtype) -> np.ndarray:
    """``a`` in the arithmetic ``arith``; objects become ``int``/``Fraction`` (a float is a rational)."""
    if arith != object:
        return a.astype(arith)
    return np.vectorize(lambda v: v if isinstance(v, (int, Fraction)) else
                        int(v) if isinstance(v, np.integer) else Fraction(float(v)), otypes=[object])(a)


# --- convolution -----------------------------------------------------------------------------------

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


def abs_conv(x, w, b=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """``Σ|x||w| + |b|`` per output, the scale of Higham's forward error bound (float64, rounded up
    by a relative ``γ_{K+1}(2^-53)`` so that it is never below the exact value)."""
    k = math.prod(np.shape(w)[1:])
    s = conv(np.abs(np.asarray(x, np.float64)), np.abs(np.asarray(w, np.float64)),
             None if b is None else np.abs(np.asarray(b, np.float64)),
             stride, padding, dilation, groups, exact=False)
    return s * (1 + 2 * gamma(k + 1, "float64"))


def error_bound(x, w, b=None, *, dtype: str = "float32", input_rounding: str | None = None,
                stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """Rigorous forward bound on ``|ŷ − y|`` for a convolution computed in ``dtype``, any order.

    ``γ_{K+2}(u)·(Σ|x||w| + |b|)`` (K products, K−1 + 1 additions with the bias, one final rounding
    of the output to ``dtype``). ``input_rounding`` (e.g. ``"tf32"``, ``"bfloat16"``) adds the
    relative error ``(1 + u_in)² − 1`` of rounding both factors before the products.
    """
    w = np.asarray(w)
    k = math.prod(w.shape[1:])
    rel = gamma(k + 2, dtype)
    if input_rounding is not None:
        ui = unit_roundoff(input_rounding)
        rel = (1 + rel) * (1 + ui) ** 2 - 1
    return rel * abs_conv(x, w, b, stride, padding, dilation, groups)


# --- pooling ---------------------------------------------------------------------------------------

def _pool_windows(x: np.ndarray, kernel_size, stride, padding, dilation, ceil_mode, value):
    geo = pool_geometry(x.shape[2:], kernel_size, stride, padding, dilation, ceil_mode)
    xp = pad(x, geo.pads, value)
    return windows(xp, geo.kernel, geo.stride, geo.dilation), geo


def max_pool2d(x: np.ndarray, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False) -> np.ndarray:
    """Max over each window of the ``−inf``-padded input; a NaN in a window gives NaN (IEEE max)."""
    x = np.asarray(x)
    v, _ = _pool_windows(x, kernel_size, stride, padding, dilation, ceil_mode, -np.inf)
    return v.max(axis=(-2, -1))


def avg_pool2d_parts(x: np.ndarray, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                     count_include_pad: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(sums, divisors)``: the exact window sums of the zero-padded input and torch's divisors."""
    x = np.asarray(x)
    arith = np.float64 if _all_integer(x) and _maxabs(x) * math.prod(_pairs(kernel_size, 2)) < 2 ** 53 \
        else object
    v, geo = _pool_windows(_cast(x, np.dtype(arith)), kernel_size, stride, padding, 1, ceil_mode, 0)
    sums = v.sum(axis=(-2, -1))
    return sums, avg_divisors(x.shape[2:], geo, count_include_pad)


def avg_pool2d(x: np.ndarray, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> np.ndarray:
    """Window sum / divisor, the exact rational rounded once to float64."""
    sums, div = avg_pool2d_parts(x, kernel_size, stride, padding, ceil_mode, count_include_pad)
    if sums.dtype == object:
        q = np.vectorize(lambda s, d: Fraction(s) / int(d), otypes=[object])(sums, div)
        return q.astype(np.float64)
    return sums / div  # a correctly rounded division of two exact integers


OPS = {"conv1d": conv1d, "conv2d": conv2d, "max_pool2d": max_pool2d, "avg_pool2d": avg_pool2d}
