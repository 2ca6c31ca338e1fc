"""Realistic bugs across the pooling family, each right on simple cases.

Every function has the ``torch.nn.functional`` signature of the op it imitates and is built on the
project's plain-NumPy shim (:mod:`cnnspec.conformance.shims.numpy_ops`), changing one convention
that implementations really get wrong: ties resolved to the last maximum, indices in the padded
plane, NaN skipped, the divisor at the ceil edge, count_include_pad on one axis only, an ignored
``divisor_override``, adaptive windows of equal size, unpooling read column-major, ONNX's
``|x|^p`` in torch's Lp pooling, … ``BUGS`` lists ``(name, op, simple case)``; the simple case is
one on which the bug gives the right answer. ``tests/test_pool_family_bugs.py`` shows each one
right there and wrong on a small case that hypothesis finds and shrinks.
"""
from __future__ import annotations

import math

import numpy as np

from cnnspec.conformance.shims import numpy_ops as S


def max_pool2d_last_tie(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                        return_indices=False):
    """Indices of the *last* maximum (a ``>=`` scan; right when every window's maximum is unique)."""
    x = np.asarray(x)
    y, i = S.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode, True)
    k, s, p, d, out, _ = S._geometry(x, 2, kernel_size, stride, padding, dilation, ceil_mode)
    h, w = x.shape[-2:]
    for a in range(k[0]):                       # overwrite with every later tap equal to the max
        for b in range(k[1]):
            r = (np.arange(out[0]) * s[0] - p[0] + a * d[0])[:, None]
            c = (np.arange(out[1]) * s[1] - p[1] + b * d[1])[None, :]
            real = (r >= 0) & (r < h) & (c >= 0) & (c < w)
            v = x[..., np.clip(r, 0, h - 1), np.clip(c, 0, w - 1)]
            i = np.where(real & (v == y), r * w + c, i)
    return (y, i) if return_indices else y


def max_pool2d_padded_plane(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """Indices into the *padded* plane (right without padding)."""
    y, i = S.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode, True)
    p = S._axes("padding", padding, 2, 0)
    w = np.shape(x)[-1]
    r, c = np.divmod(i, w)
    i = (r + p[0]) * (w + 2 * p[1]) + c + p[1]
    return (y, i) if return_indices else y


def max_pool2d_nan_skipped(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                           return_indices=False):
    """NaN skipped (``fmax``): right on data without NaN."""
    x = np.asarray(x)
    low = np.where(np.isnan(x), -np.inf, x)
    return S.max_pool2d(low, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool1d_lowest_start(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """The maximum started at (and the padding filled with) the dtype's lowest finite value, not
    -inf, as ONNX Runtime's and TensorFlow's CPU kernels do: right wherever a window holds an entry
    above it."""
    x = np.asarray(x)
    y = S.max_pool1d(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    low = np.finfo(x.dtype).min
    return (np.maximum(y[0], low), y[1]) if return_indices else np.maximum(y, low)


def max_pool3d_depth_stride_one(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                                return_indices=False):
    """The depth axis strided by 1 whatever the stride (right when the depth stride is 1)."""
    k = S._axes("kernel_size", kernel_size, 3, 1)
    s = list(k if stride is None else S._axes("stride", stride, 3, 1))
    s[0] = 1
    return S.max_pool3d(x, kernel_size, tuple(s), padding, dilation, ceil_mode, return_indices)


def max_pool1d_dilation_ignored(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                                return_indices=False):
    """Dilation ignored, output size kept (right for dilation 1)."""
    y = S.max_pool1d(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    z = S.max_pool1d(x, kernel_size, stride, padding, 1, ceil_mode, return_indices)
    m = (y[0] if return_indices else y).shape[-1]
    return tuple(a[..., :m] for a in z) if return_indices else z[..., :m]


def avg_pool2d_ceil_full_divisor(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                                 count_include_pad=True, divisor_override=None):
    """count_include_pad divides by Πk even where a ceil-mode window overhangs the padding."""
    if not count_include_pad or divisor_override is not None:
        return S.avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    sums = S.avg_pool2d(x, kernel_size, stride, padding, ceil_mode, True, 1)
    return (sums / math.prod(S._axes("kernel_size", kernel_size, 2, 1))).astype(sums.dtype)


def avg_pool2d_include_pad_rows_only(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                                     count_include_pad=True, divisor_override=None):
    """count_include_pad=False applied to the rows only (the columns still count the padding)."""
    if count_include_pad or divisor_override is not None:
        return S.avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    k = S._axes("kernel_size", kernel_size, 2, 1)
    s = k if stride is None else S._axes("stride", stride, 2, 1)
    p = S._axes("padding", padding, 2, 0)
    sums = S.avg_pool2d(np.asarray(x, np.float64), k, s, p, ceil_mode, True, 1)
    h, w = np.shape(x)[-2:]
    oh, ow = sums.shape[-2:]
    div = np.outer(S._counts(h, k[0], s[0], p[0], oh, False), S._counts(w, k[1], s[1], p[1], ow, True))
    return (sums / div).astype(np.asarray(x).dtype)


def avg_pool2d_override_ignored(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                                count_include_pad=True, divisor_override=None):
    """``divisor_override`` ignored (right when it equals the window size)."""
    return S.avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def adaptive_avg_pool1d_floor_end(x, output_size):
    """Windows ``[⌊i·n/m⌋, ⌊(i+1)·n/m⌋)``: right when m divides n."""
    x = np.asarray(x, np.float64)
    n, m = x.shape[-1], int(output_size if np.ndim(output_size) == 0 else output_size[0])
    return np.stack([x[..., (i * n) // m: max((i + 1) * n // m, (i * n) // m + 1)].mean(-1)
                     for i in range(m)], -1)


def adaptive_max_pool2d_equal_windows(x, output_size, return_indices=False):
    """Adaptive windows of one size, kernel = stride = n // m (right when m divides n)."""
    x = np.asarray(x)
    m = S._axes("output_size", output_size, 2, 1)
    k = tuple(max(n // mi, 1) for n, mi in zip(x.shape[-2:], m))
    out = S.max_pool2d(x, k, k, 0, 1, False, return_indices)
    crop = lambda a: a[..., :m[0], :m[1]]  # noqa: E731
    return tuple(crop(a) for a in out) if return_indices else crop(out)


def max_unpool2d_column_major(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Indices read column-major (ONNX ``storage_order=1``): right where every maximum lies on the
    diagonal of a square plane."""
    y = S.max_unpool2d(x, indices, kernel_size, stride, padding, output_size)
    h, w = y.shape[-2:]
    return np.swapaxes(y.reshape(*y.shape[:-2], w, h), -2, -1)


def max_unpool2d_onnx_output_size(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """output_size handled as ONNX does: indices in the default plane, the result padded at the end."""
    y = S.max_unpool2d(x, indices, kernel_size, stride, padding, None)
    if output_size is None:
        return y
    size = tuple(output_size)[-2:]
    out = np.zeros((*y.shape[:-2], *size), y.dtype)
    out[..., :y.shape[-2], :y.shape[-1]] = y[..., :size[0], :size[1]]
    return out


def lp_pool2d_abs(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """ONNX's ``|x|^p`` in torch's Lp pooling: right for even p and for nonnegative data."""
    return S.lp_pool2d(np.abs(np.asarray(x)), norm_type, kernel_size, stride, ceil_mode)


def lp_pool1d_no_edge_scale(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """The plain power sum at a ceil-mode edge, without torch's K/count scale (right without ceil)."""
    sums = S._avg_pool_nd(1, np.asarray(x, np.float64) ** norm_type, kernel_size, stride, 0, ceil_mode,
                          True, 1)
    with np.errstate(invalid="ignore"):
        return sums ** (1.0 / norm_type)


_RISE = np.arange(16.0).reshape(1, 1, 4, 4)           # distinct values: every maximum unique
BUGS = [  # name, op, a simple case on which the bug is right: (input, args, kwargs)
    ("max_pool2d_last_tie", "max_pool2d", (_RISE, (2,), {"return_indices": True})),
    ("max_pool2d_padded_plane", "max_pool2d", (_RISE, (2,), {"return_indices": True})),
    ("max_pool2d_nan_skipped", "max_pool2d", (_RISE, (3, 1, 1), {"return_indices": True})),
    ("max_pool1d_lowest_start", "max_pool1d", (np.arange(6.0).reshape(1, 1, 6), (2,), {"return_indices": True})),
    ("max_pool3d_depth_stride_one", "max_pool3d", (np.arange(64.0).reshape(1, 1, 4, 4, 4), ((1, 2, 2),),
                                                   {"return_indices": True})),
    ("max_pool1d_dilation_ignored", "max_pool1d", (np.arange(9.0).reshape(1, 1, 9), (3, 2),
                                                   {"return_indices": True})),
    ("avg_pool2d_ceil_full_divisor", "avg_pool2d", (_RISE, (2, 2, 1), {})),
    ("avg_pool2d_include_pad_rows_only", "avg_pool2d", (_RISE, (3, 1, 1), {})),
    ("avg_pool2d_override_ignored", "avg_pool2d", (_RISE, (2,), {"divisor_override": 4})),
    ("adaptive_avg_pool1d_floor_end", "adaptive_avg_pool1d", (np.arange(8.0).reshape(1, 1, 8), (4,), {})),
    ("adaptive_max_pool2d_equal_windows", "adaptive_max_pool2d", (_RISE, ((2, 2),),
                                                                  {"return_indices": True})),
    ("max_unpool2d_column_major", "max_unpool2d", (np.array([[[[1.0, 0.0], [0.0, 0.0]]]]), (2,), {})),
    ("max_unpool2d_onnx_output_size", "max_unpool2d", (_RISE, (2,), {})),
    ("lp_pool2d_abs", "lp_pool2d", (_RISE - 8, (2, 2), {})),
    ("lp_pool1d_no_edge_scale", "lp_pool1d", (np.arange(6.0).reshape(1, 1, 6), (2, 2), {})),
]
