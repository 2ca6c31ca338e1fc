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

from .bounds import abs_conv, error_bound
from .conv import conv, conv1d, conv2d
from .core import INPUT_ROUNDINGS, PRECISION, certificate, gamma, pad, unit_roundoff, windows
from .pool import avg_pool2d, avg_pool2d_parts, max_pool2d
from .pool import (avg_pool, avg_pool1d, avg_pool3d, avg_pool_parts, lp_pool, lp_pool1d, lp_pool2d,
                   lp_pool3d, lp_pool_parts, max_pool, max_pool1d, max_pool3d)
from .adaptive import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d,
                       adaptive_max_pool1d, adaptive_max_pool2d, adaptive_max_pool3d,
                       global_avg_pool, global_max_pool)
from .unpool import max_pool_backward, max_unpool, max_unpool1d, max_unpool2d, max_unpool3d

OPS = {"conv1d": conv1d, "conv2d": conv2d, "max_pool2d": max_pool2d, "avg_pool2d": avg_pool2d}
POOL_OPS = {f.__name__: f for f in (
    max_pool1d, max_pool2d, max_pool3d, avg_pool1d, avg_pool2d, avg_pool3d, lp_pool1d, lp_pool2d,
    lp_pool3d, max_unpool1d, max_unpool2d, max_unpool3d, adaptive_avg_pool1d, adaptive_avg_pool2d,
    adaptive_avg_pool3d, adaptive_max_pool1d, adaptive_max_pool2d, adaptive_max_pool3d)}

__all__ = ["INPUT_ROUNDINGS", "OPS", "PRECISION", "abs_conv", "avg_pool2d", "avg_pool2d_parts",
           "certificate", "conv", "conv1d", "conv2d", "error_bound", "gamma", "max_pool2d", "pad",
           "unit_roundoff", "windows"]
__all__ += ["POOL_OPS", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
            "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d", "avg_pool",
            "avg_pool1d", "avg_pool3d", "avg_pool_parts", "global_avg_pool", "global_max_pool",
            "lp_pool", "lp_pool1d", "lp_pool2d", "lp_pool3d", "lp_pool_parts", "max_pool",
            "max_pool_backward",
            "max_pool1d", "max_pool3d", "max_unpool", "max_unpool1d", "max_unpool2d", "max_unpool3d"]
