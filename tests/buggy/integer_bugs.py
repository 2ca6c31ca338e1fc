"""Realistic bugs in integer convolutions (ONNX ConvInteger, QLinearConv), each right on simple cases.

Built on the project's NumPy shim (:mod:`cnnspec.conformance.shims.numpy_ops`), each gets one
thing wrong that quantised kernels get wrong: the zero point's sign, the padding value, the
rounding of ties, saturation, per-channel scales. ``tests/test_conformance_integer.py`` runs each
through ``cnnspec validate`` and checks that it is caught with a shrunk counterexample.
"""
from __future__ import annotations

import numpy as np

from cnnspec.conformance.shims import numpy_ops as S


def _i32(*arrays):
    return [np.asarray(a).astype(np.int32) for a in arrays]


def conv2d_integer_zero_point_added(x, weight, x_zero_point=0, w_zero_point=0, stride=1, padding=0,
                                    dilation=1, groups=1):
    """x + zx instead of x − zx (right whenever x_zero_point is 0)."""
    x32, w32, zx, zw = _i32(x, weight, x_zero_point, w_zero_point)
    xs = x32 + zx
    ws = w32 - zw.reshape(-1, *[1] * (w32.ndim - 1))
    return S._conv_nd(xs, ws, None, stride, padding, dilation, groups, 2, acc=np.int32)


def conv2d_integer_zero_padding(x, weight, x_zero_point=0, w_zero_point=0, stride=1, padding=0,
                                dilation=1, groups=1):
    """The raw input padded with 0 rather than with x_zero_point (right without padding or when
    x_zero_point is 0)."""
    x32, w32, zx, zw = _i32(x, weight, x_zero_point, w_zero_point)
    p = (padding, padding) if isinstance(padding, int) else tuple(padding)
    xp = np.pad(x32, [(0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])])   # zeros, not zx
    ws = w32 - zw.reshape(-1, *[1] * (w32.ndim - 1))
    return S._conv_nd(xp - zx, ws, None, stride, 0, dilation, groups, 2, acc=np.int32)


def _requantised(x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, bias,
                 stride, padding, dilation, groups):
    """acc·x_scale·w_scale/y_scale in float64 (exact where the multiplier is a power of two, as in
    the rounding and saturation claims' cases) and the y_zero_point."""
    acc = S.conv2d_integer(x, w, x_zero_point, w_zero_point, stride, padding, dilation, groups).astype(np.int64)
    if bias is not None:
        acc = acc + np.asarray(bias, np.int64).reshape(1, -1, 1, 1)
    ws = np.broadcast_to(np.asarray(w_scale, np.float64).reshape(-1), (acc.shape[1],)).reshape(1, -1, 1, 1)
    yz = np.asarray(y_zero_point)
    return acc * float(np.float32(x_scale)) * ws / float(np.float32(y_scale)), yz


def qlinear_conv2d_half_away(x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point,
                             bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Ties rounded half away from zero (C's ``round``; right whenever no output is an exact .5)."""
    v, yz = _requantised(x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, bias,
                         stride, padding, dilation, groups)
    q = np.sign(v) * np.floor(np.abs(v) + 0.5) + yz.astype(np.int64)
    lo, hi = (0, 255) if yz.dtype == np.uint8 else (-128, 127)
    return np.clip(q, lo, hi).astype(yz.dtype)


def qlinear_conv2d_wraps(x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point,
                         bias=None, stride=1, padding=0, dilation=1, groups=1):
    """No saturation: the result cast to the output dtype wraps around (right inside the range)."""
    v, yz = _requantised(x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, bias,
                         stride, padding, dilation, groups)
    q = np.round(v).astype(np.int64) + yz.astype(np.int64)
    return q.astype(yz.dtype)          # two's complement wrap-around, no clip


def qlinear_conv2d_first_scale(x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point,
                               bias=None, stride=1, padding=0, dilation=1, groups=1):
    """A per-channel w_scale read as its first entry (right for a per-tensor scale)."""
    ws = np.asarray(w_scale, np.float32).reshape(-1)[:1].reshape(())
    return S.qlinear_conv2d(x, x_scale, x_zero_point, w, ws, w_zero_point, y_scale, y_zero_point, bias,
                            stride, padding, dilation, groups)
