"""The oracle's pieces: dtypes and unit roundoff, explicit padding, the strided window view, and the
exactness certificate that lets an independent float GEMM compute exact results.

References
----------
JAX, ``jax/_src/lax_reference.py`` (the pad / window view / einsum construction).
Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed. (2002), §3.1 (γ_n).
"""
from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import UsageError
from ..shapes import as_tuple
from . import jit

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


_pairs = as_tuple  # int-or-sequence arguments as nd ints (cnnspec.shapes)


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


_CHUNK = 2 ** 18   # entries per step of the certificate's scan: its temporaries stay in cache


COMPILED_MIN = 1 << 20     # float entries from which the scan is the compiled loop (numba, the fast
#                            extra; smaller arrays: NumPy's passes cost less than numba's import)
_UINT = {np.dtype(np.float32): (np.uint32, 0x7FFFFFFF), np.dtype(np.float64): (np.uint64, 0x7FFFFFFFFFFFFFFF)}


@functools.lru_cache(maxsize=1)
def _compiled_scan():
    """``scan(values, bits, mask) -> (top, bad)`` compiled by numba, or None where numba is not
    installed: in one pass over a 1-D float array and its bits, the largest magnitude's bits
    (``bits & mask``, the sign cleared; non-negative floats order as their bits do) and whether
    some entry is no finite integer (``v − rint(v)`` is non-zero for a fraction and NaN for a NaN
    or an infinity)."""
    def scan(values, bits, mask):
        top = bits.dtype.type(0)
        bad = False
        for i in range(values.size):
            v = values[i]
            bad |= (v - np.rint(v)) != 0
            top = max(top, bits[i] & mask)
        return top, bad

    return jit.njit(scan)


def _integral_peak(a: np.ndarray) -> float | None:
    """``max |a|`` when every entry of the float or integer array ``a`` is a finite integer, else
    ``None``: one pass in cache-sized chunks (min, max and, for floats, ``a == rint(a)``), or for
    large float arrays where numba is installed one compiled pass (:func:`_compiled_scan`)."""
    flat = a.reshape(-1)
    if flat.size == 0:
        return 0.0
    if flat.size >= COMPILED_MIN and flat.dtype in _UINT and _compiled_scan() is not None:
        uint, mask = _UINT[flat.dtype]
        top, bad = _compiled_scan()(flat, flat.view(uint), uint(mask))
        return None if bad else float(np.array([top], uint).view(flat.dtype)[0])
    buf = np.empty(min(flat.size, _CHUNK), dtype=a.dtype) if a.dtype.kind == "f" else None
    peak = 0.0
    for i in range(0, flat.size, _CHUNK):
        part = flat[i:i + _CHUNK]
        lo, hi = float(part.min()), float(part.max())
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return None                                    # NaN or an infinity
        if buf is not None and not np.array_equal(part, np.rint(part, out=buf[:part.size])):
            return None
        peak = max(peak, abs(lo), abs(hi))
    return peak


def exact_arith(x, w, b, taps: int) -> np.dtype:
    """:func:`_arith`, decided in one chunked pass per float or integer array (see
    :func:`_integral_peak`); other data go to :func:`_arith` itself."""
    if any(a is not None and a.dtype.kind not in "fiu" for a in (x, w, b)):
        return _arith(x, w, b, taps)
    peak = [0.0 if a is None else _integral_peak(a) for a in (x, w, b)]
    if None in peak:
        return np.dtype(object)
    value = taps * peak[0] * peak[1] + peak[2]
    for dt in ("float32", "float64"):
        if value < 2 ** PRECISION[dt]:
            return np.dtype(dt)
    return np.dtype(object)


def require_finite(arith: np.dtype, **arrays) -> None:
    """One-line :class:`UsageError` when exact (object) arithmetic meets a NaN or an infinity:
    an IEEE special value is no rational, so it has no exact product."""
    if arith != object:
        return
    for name, a in arrays.items():
        if a is not None and a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise UsageError(f"{name}: contains NaN or an infinity; rule: the exact oracle takes "
                             f"finite values (exact=False computes in IEEE float64)")


def as_arith(a: np.ndarray, arith: np.dtype) -> np.ndarray:
    """:func:`_cast` without a copy when ``a`` already has the arithmetic's dtype (read-only use)."""
    return a if a.dtype == arith and arith != object else _cast(a, arith)
