"""Rigorous forward error bounds for convolutions computed in floating point (Higham §3.5).

References
----------
Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed. (2002), §3.5 (inner products):
``|fl(xᵀy) − xᵀy| ≤ γ_n |x|ᵀ|y|``, ``γ_n = n·u / (1 − n·u)``.
"""
from __future__ import annotations

import math

import numpy as np

from .conv import conv
from .transposed import conv_transpose
from .core import gamma, unit_roundoff

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


def abs_conv_transpose(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1,
                       dilation=1) -> np.ndarray:
    """``Σ|x||w| + |b|`` per output of a transposed convolution (float64, rounded up like
    :func:`abs_conv`); every output sums at most ``K = C_in/g·Πk`` products."""
    k = math.prod(np.shape(w)[2:]) * (np.shape(w)[0] // groups)
    s = conv_transpose(np.abs(np.asarray(x, np.float64)), np.abs(np.asarray(w, np.float64)),
                       None if b is None else np.abs(np.asarray(b, np.float64)),
                       stride, padding, output_padding, groups, dilation, exact=False)
    return s * (1 + 2 * gamma(k + 1, "float64"))


def error_bound_transpose(x, w, b=None, *, dtype: str = "float32", input_rounding: str | None = None,
                          stride=1, padding=0, output_padding=0, groups=1, dilation=1) -> np.ndarray:
    """Rigorous bound on ``|ŷ − y|`` for a transposed convolution in ``dtype``, any order:
    ``γ_{K+2}(u)·(Σ|x||w| + |b|)`` with ``K = C_in/g·Πk`` (see :func:`error_bound`)."""
    k = math.prod(np.shape(w)[2:]) * (np.shape(w)[0] // groups)
    rel = gamma(k + 2, dtype)
    if input_rounding is not None:
        rel = (1 + rel) * (1 + unit_roundoff(input_rounding)) ** 2 - 1
    return rel * abs_conv_transpose(x, w, b, stride, padding, output_padding, groups, dilation)
