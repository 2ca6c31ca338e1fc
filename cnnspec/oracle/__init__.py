"""Exact reference ops: convolution (1-D to 3-D, transposed, int8), padding modes, max and average
pooling, and rigorous float error bounds.

Each op is built from three plain pieces, as in JAX's ``lax_reference``: explicit padding
(:func:`pad`), a strided window view (:func:`windows`) and one reduction over the window axes
(a matrix product for convolution, ``max``/``sum`` for pooling). The pooling ops do no validation
(the public layer, :mod:`cnnspec.conformance`, validates first); the convolution family refuses the
arguments it cannot give a meaning to (``output_padding >= max(stride, dilation)``, a zero point
out of its dtype's range, strided ``padding='same'``, an unknown padding mode, reflect padding not
smaller than the input, a kernel larger than the padded input) with a one-line
:class:`~cnnspec.errors.UsageError` naming the argument, the value and the rule.

Exactness. Every result is exact:

* integer-valued data are multiplied and summed in the narrowest float type whose significand
  holds every partial sum (the *exactness certificate* ``K·max|x|·max|w| + max|b| < 2^p``, K the
  reduction length, p = 24 for float32, 53 for float64); within it every product and every partial
  sum is an integer below ``2^p``, so *any* summation order — BLAS blocking, FMA — gives the exact
  integer. This is what makes the oracle fast: an independent float32 GEMM on certified data;
* other data (fractions, large integers, general floats) go through Python ``int``/``Fraction``
  object arithmetic: slow, exact;
* integer convolution (ConvInteger, QLinearConv) is integer arithmetic throughout; QLinearConv's
  requantisation divides Python integers (:func:`requantize`), ties to even, then saturates;
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

from . import padding as _padding
from .bounds import abs_conv, abs_conv_transpose, error_bound, error_bound_transpose
from .conv import conv, conv1d, conv2d, conv3d
from .core import INPUT_ROUNDINGS, PRECISION, certificate, gamma, pad, unit_roundoff, windows
from .integer import conv2d_integer, conv_integer, qlinear_conv2d, requantize
from .padding import PAD_MODES, conv_pads, pad_pairs, torch_pad_pairs
from .pool import (avg_pool, avg_pool1d, avg_pool2d, avg_pool2d_parts, avg_pool3d, avg_pool_parts,
                   lp_pool, lp_pool1d, lp_pool2d, lp_pool3d, lp_pool_parts, max_pool, max_pool1d,
                   max_pool2d, max_pool3d)
from .adaptive import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d,
                       adaptive_max_pool1d, adaptive_max_pool2d, adaptive_max_pool3d,
                       global_avg_pool, global_max_pool)
from .transposed import (conv_transpose, conv_transpose1d, conv_transpose2d, conv_transpose3d,
                         transposed_output_size)
from .unpool import max_pool_backward, max_unpool, max_unpool1d, max_unpool2d, max_unpool3d

# ``pad`` above is the oracle's piece (pairs, constant value); the op ``pad`` of the calling
# convention (torch.nn.functional.pad: flat tuple from the last axis, four modes) is this one.
functional_pad = _padding.pad

POOL_OPS = {f.__name__: f for f in (
    max_pool1d, max_pool2d, max_pool3d, avg_pool1d, avg_pool2d, avg_pool3d, lp_pool1d, lp_pool2d,
    lp_pool3d, max_unpool1d, max_unpool2d, max_unpool3d, adaptive_avg_pool1d, adaptive_avg_pool2d,
    adaptive_avg_pool3d, adaptive_max_pool1d, adaptive_max_pool2d, adaptive_max_pool3d)}

OPS = {"conv1d": conv1d, "conv2d": conv2d, "max_pool2d": max_pool2d, "avg_pool2d": avg_pool2d,
       "conv3d": conv3d, "conv_transpose1d": conv_transpose1d, "conv_transpose2d": conv_transpose2d,
       "conv_transpose3d": conv_transpose3d, "pad": functional_pad,
       "conv2d_integer": conv2d_integer, "qlinear_conv2d": qlinear_conv2d, **POOL_OPS}

__all__ = ["INPUT_ROUNDINGS", "OPS", "PAD_MODES", "PRECISION", "abs_conv", "abs_conv_transpose",
           "avg_pool2d", "avg_pool2d_parts", "certificate", "conv", "conv1d", "conv2d", "conv2d_integer",
           "conv3d", "conv_integer", "conv_pads", "conv_transpose", "conv_transpose1d",
           "conv_transpose2d", "conv_transpose3d", "error_bound", "error_bound_transpose",
           "functional_pad", "gamma", "max_pool2d", "pad", "pad_pairs", "qlinear_conv2d",
           "requantize", "torch_pad_pairs", "transposed_output_size", "unit_roundoff", "windows"]
__all__ += ["POOL_OPS", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
            "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d", "avg_pool",
            "avg_pool1d", "avg_pool3d", "avg_pool_parts", "global_avg_pool", "global_max_pool",
            "lp_pool", "lp_pool1d", "lp_pool2d", "lp_pool3d", "lp_pool_parts", "max_pool",
            "max_pool_backward",
            "max_pool1d", "max_pool3d", "max_unpool", "max_unpool1d", "max_unpool2d", "max_unpool3d"]
