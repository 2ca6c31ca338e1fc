"""Realistic conv/pool bugs, each right on simple cases; the mutation library of the conformance tests.

``BUGS`` lists ``(name, op, array, claim that must fail, diagnosis fragment or None)``.
"""
from __future__ import annotations

import numpy as np

from cnnspec.conformance.shims import numpy_ops as ref


def _p(name, v, lo=0):
    return ref._pair(name, v, lo)


def conv_flipped(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """True convolution: the kernel flipped (right on symmetric kernels)."""
    return ref.conv2d(x, np.flip(weight, (-2, -1)), bias, stride, padding, dilation, groups)


def conv_pad_one_side(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """All 2p padding after the input (right when padding=0)."""
    ph, pw = _p("padding", padding)
    x = np.pad(x, ((0, 0), (0, 0), (0, 2 * ph), (0, 2 * pw)))
    return ref.conv2d(x, weight, bias, stride, 0, dilation, groups)


def conv_dilation_ignored_strided(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Dilation dropped on axes with stride > 1 (a fast path for strided kernels)."""
    s, d = _p("stride", stride, 1), _p("dilation", dilation, 1)
    d = tuple(1 if si > 1 else di for si, di in zip(s, d))
    return ref.conv2d(x, weight, bias, stride, padding, d, groups)


def conv_ceil_size(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Output size ⌈(n + 2p − span)/s⌉ + 1 (right when the stride divides)."""
    s, p, d = _p("stride", stride, 1), _p("padding", padding), _p("dilation", dilation, 1)
    extra = [(-(n + 2 * pi - di * (k - 1) - 1)) % si for n, k, si, pi, di in
             zip(np.shape(x)[2:], np.shape(weight)[2:], s, p, d)]
    x = np.pad(x, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))
    return ref.conv2d(x, weight, bias, stride, padding, dilation, groups)


def conv_batch_mixed(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Reads NCHW memory as CNHW (right when N = 1 or C = 1)."""
    x = np.ascontiguousarray(x)
    n, c = x.shape[:2]
    x = x.reshape(c, n, *x.shape[2:]).transpose(1, 0, 2, 3)
    return ref.conv2d(x, weight, bias, stride, padding, dilation, groups)


def conv_groups_wrong(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Output channel o reads group o % groups (right for groups=1 and depthwise)."""
    y = ref.conv2d(x, weight, bias, stride, padding, dilation, groups)   # validates, sizes
    cg, og = weight.shape[1], weight.shape[0] // groups
    for o in range(weight.shape[0]):
        g = o % groups
        y[:, o] = ref.conv2d(x[:, g * cg:(g + 1) * cg], weight[o:o + 1], None if bias is None
                             else bias[o:o + 1], stride, padding, dilation, 1)[:, 0]
    return y


def conv_khkw_transposed(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Kernel memory read as (kW, kH) (right for square kernels)."""
    o, cg, kh, kw = weight.shape
    return ref.conv2d(x, np.ascontiguousarray(weight).reshape(o, cg, kw, kh), bias, stride, padding,
                      dilation, groups)


def conv_fp16_accumulate(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Computes in float16 and casts back (right on small values)."""
    h = np.float16
    y = ref.conv2d(np.asarray(x).astype(h), np.asarray(weight).astype(h),
                   None if bias is None else np.asarray(bias).astype(h), stride, padding, dilation, groups)
    return y.astype(np.asarray(x).dtype)


def conv_relative_error(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """A systematic relative error of 1e-5: passes torch.allclose's default rtol."""
    y = ref.conv2d(x, weight, bias, stride, padding, dilation, groups)
    return (y * y.dtype.type(1 + 1e-5)).astype(y.dtype)


def conv_bias_first_sample(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Bias added to the first sample only (right when N = 1)."""
    y = ref.conv2d(x, weight, None, stride, padding, dilation, groups)
    if bias is not None:
        y[0] += np.asarray(bias, y.dtype)[:, None, None]
    return y


def conv_last_off_by_one(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """The last output column's window aligned to the end of the padded input (right when the
    stride divides n + 2p − span)."""
    y = ref.conv2d(x, weight, bias, stride, padding, dilation, groups)
    s, p, d = _p("stride", stride, 1), _p("padding", padding), _p("dilation", dilation, 1)
    span = d[1] * (weight.shape[3] - 1) + 1
    xpw = np.pad(x, ((0, 0), (0, 0), (0, 0), (p[1], p[1])))
    start = xpw.shape[3] - span
    y[..., -1:] = ref.conv2d(xpw[..., start:], weight, bias, (s[0], 1), (p[0], 0), dilation, groups)
    return y


def maxpool_zero_pad(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Pads with 0 instead of −inf (right for non-negative inputs or padding=0)."""
    x, k, s, p, d, (oh, ow), hi = ref._pool_setup(x, kernel_size, stride, padding, dilation, ceil_mode)
    h, w = x.shape[2:]
    xp = np.full((*x.shape[:2], p[0] + h + hi[0], p[1] + w + hi[1]), -np.inf, x.dtype)
    xp[:, :, :h + 2 * p[0], :w + 2 * p[1]] = 0
    xp[:, :, p[0]:p[0] + h, p[1]:p[1] + w] = x
    taps = [ref._tap(xp, i, j, d[0], d[1], s[0], s[1], oh, ow) for i in range(k[0]) for j in range(k[1])]
    return np.maximum.reduce(taps)


def maxpool_ceil_ignored(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """ceil_mode accepted and ignored (right when the windows tile exactly)."""
    return ref.max_pool2d(x, kernel_size, stride, padding, dilation, False)


def maxpool_dilation_ignored(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """dilation validated, then ignored."""
    _p("dilation", dilation, 1)
    return ref.max_pool2d(x, kernel_size, stride, padding, 1, ceil_mode)


def maxpool_stride_none_one(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """stride=None read as 1 instead of kernel_size (right for kernel 1 or an explicit stride)."""
    return ref.max_pool2d(x, kernel_size, 1 if stride is None else stride, padding, dilation, ceil_mode)


def avgpool_cip_inverted(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """count_include_pad inverted (right when padding=0 and no ceil overhang)."""
    return ref.avg_pool2d(x, kernel_size, stride, padding, ceil_mode, not count_include_pad)


def avgpool_ceil_ignored(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """ceil_mode accepted and ignored."""
    return ref.avg_pool2d(x, kernel_size, stride, padding, False, count_include_pad)


def avgpool_overhang_counted(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                             count_include_pad=True):
    """Divides by kH·kW even where a ceil-mode window hangs past the padding."""
    x, k, s, p, d, (oh, ow), hi = ref._pool_setup(x, kernel_size, stride, padding, 1, ceil_mode)
    if not count_include_pad:
        return ref.avg_pool2d(x, kernel_size, stride, padding, ceil_mode, False)
    h, w = x.shape[2:]
    xp = np.zeros((*x.shape[:2], p[0] + h + hi[0], p[1] + w + hi[1]), x.dtype)
    xp[:, :, p[0]:p[0] + h, p[1]:p[1] + w] = x
    total = sum(ref._tap(xp, i, j, 1, 1, s[0], s[1], oh, ow) for i in range(k[0]) for j in range(k[1]))
    return (total / x.dtype.type(k[0] * k[1])).astype(x.dtype)


def conv_weight_grad_flipped(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """torch: forward right; the hand-written backward returns the weight gradient with its kernel
    axes flipped (convolution and correlation confused; right for 1x1 kernels)."""
    return _FlippedGrad.apply(x, weight, bias, stride, padding, dilation, groups)


def _make_fn():
    import torch
    import torch.nn.functional as F

    class Fn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, b, stride, padding, dilation, groups):
            ctx.save_for_backward(x, w)
            ctx.args = (stride, padding, dilation, groups)
            ctx.has_bias = b is not None
            return F.conv2d(x, w, b, stride, padding, dilation, groups)

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            stride, padding, dilation, groups = ctx.args
            gx = torch.nn.grad.conv2d_input(x.shape, w, g, stride, padding, dilation, groups)
            gw = torch.nn.grad.conv2d_weight(x, w.shape, g, stride, padding, dilation, groups)
            gw = gw.flip((-2, -1))  # the bug
            gb = g.sum((0, 2, 3)) if ctx.has_bias else None
            return gx, gw, gb, None, None, None, None
    return Fn


class _Lazy:
    fn = None

    def apply(self, *a):
        if _Lazy.fn is None:
            _Lazy.fn = _make_fn()
        return _Lazy.fn.apply(*a)


_FlippedGrad = _Lazy()

BUGS = [
    ("conv_flipped", "conv2d", "numpy", "conformance.conv.values", "kernel flipped"),
    ("conv_pad_one_side", "conv2d", "numpy", "conformance.conv.values", "one side only (2p after"),
    ("conv_dilation_ignored_strided", "conv2d", "numpy", "conformance.conv.operator",
     "ignores dilation where the stride is > 1"),
    ("conv_ceil_size", "conv2d", "numpy", "conformance.conv.shape", None),
    ("conv_batch_mixed", "conv2d", "numpy", "conformance.conv.batch", None),
    ("conv_groups_wrong", "conv2d", "numpy", "conformance.conv.values", "o mod groups"),
    ("conv_khkw_transposed", "conv2d", "numpy", "conformance.conv.operator", "kH/kW transposed"),
    ("conv_fp16_accumulate", "conv2d", "numpy", "conformance.conv.values", None),
    ("conv_relative_error", "conv2d", "numpy", "conformance.conv.values", None),
    ("conv_bias_first_sample", "conv2d", "numpy", "conformance.conv.bias", None),
    ("conv_last_off_by_one", "conv2d", "numpy", "conformance.conv.operator", "last output"),
    ("maxpool_zero_pad", "max_pool2d", "numpy", "conformance.max_pool.values", "pads with 0"),
    ("maxpool_ceil_ignored", "max_pool2d", "numpy", "conformance.pool.shape", None),
    ("maxpool_dilation_ignored", "max_pool2d", "numpy", "conformance.max_pool.values", "ignores dilation"),
    ("maxpool_stride_none_one", "max_pool2d", "numpy", "conformance.pool.shape", None),
    ("avgpool_cip_inverted", "avg_pool2d", "numpy", "conformance.avg_pool.operator", "count_include_pad"),
    ("avgpool_ceil_ignored", "avg_pool2d", "numpy", "conformance.avg_pool.operator", "ceil_mode"),
    ("avgpool_overhang_counted", "avg_pool2d", "numpy", "conformance.avg_pool.values", None),
    ("conv_weight_grad_flipped", "conv2d", "torch", "conformance.conv.backward", None),
]
