"""Exact max and average pooling: pad, window view, ``max`` or an exact ``sum`` over the window.

References
----------
PyTorch ``aten/src/ATen/native/Pool.h`` (``pooling_output_shape``; avg-pool divisors).
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ..spec.pooling import avg_divisors, pool_geometry
from .core import _all_integer, _cast, _maxabs, _pairs, pad, windows

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
