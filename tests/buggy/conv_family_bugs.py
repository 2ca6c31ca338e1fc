"""Realistic bugs in the convolution family (transposed and 3-D convolution, padding modes, SAME,
int8), each right on simple cases; tests/test_conv_family_bugs.py finds a shrunk counterexample for
every one against the exact oracle (self-contained: not through cnnspec's conformance runner).

``BUGS`` maps a name to ``(op, buggy function, the convention it follows)``; each function has the
signature of the op it imitates (``torch.nn.functional`` / the calling convention).
"""
from __future__ import annotations

import numpy as np

from cnnspec.conformance.shims import numpy_ops as ref


def _t(v, nd):
    return ref._axes("arg", v, nd, 0)


# --- transposed convolution ------------------------------------------------------------------------

def ct_drops_output_padding(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """output_padding ignored: the extra high-side row is never added (right when it is 0)."""
    return ref.conv_transpose2d(x, w, b, stride, padding, 0, groups, dilation)


def ct_weight_axes_swapped(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The weight's memory read as a direct convolution's (C_out, C_in/g, *k) (right when both are 1)."""
    ci, cgo, *k = w.shape
    wr = np.asarray(w).reshape(groups, cgo, ci // groups, *k)     # the misreading
    w2 = np.swapaxes(wr, 1, 2).reshape(ci, cgo, *k)               # then regrouped correctly
    return ref.conv_transpose2d(x, w2, b, stride, padding, output_padding, groups, dilation)


def ct_no_kernel_flip(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Lowered to a direct convolution without flipping the kernel (right on symmetric kernels)."""
    return ref.conv_transpose2d(x, np.flip(w, (-2, -1)), b, stride, padding, output_padding, groups,
                                dilation)


def ct_ignores_dilation(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Dilation dropped, output size kept by padding the end (right when dilation is 1)."""
    d = _t(dilation, 2)
    y = ref.conv_transpose2d(x, w, b, stride, padding, output_padding, groups, 1)
    extra = [(di - 1) * (k - 1) for di, k in zip(d, w.shape[2:])]
    return np.pad(y, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))


def ct_padding_one_side(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Cropping 2p from the end instead of p from each side (right when padding is 0)."""
    p = _t(padding, 2)
    y = ref.conv_transpose2d(x, w, b, stride, 0, output_padding, groups, dilation)
    return y[:, :, :y.shape[2] - 2 * p[0], :y.shape[3] - 2 * p[1]]


# --- 3-D -------------------------------------------------------------------------------------------

def conv3d_strides_dh_swapped(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Depth and height strides swapped (right when they are equal)."""
    s = _t(stride, 3)
    return ref.conv3d(x, w, b, (s[1], s[0], s[2]), padding, dilation, groups)


# --- padding -----------------------------------------------------------------------------------------

def pad_reflect_repeats_edge(x, pad, mode="constant", value=None):
    """'reflect' as NumPy's 'symmetric' (the edge repeated; right for pads of 0)."""
    if mode != "reflect":
        return ref.pad(x, pad, mode, value)
    pairs = [(pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)][::-1]
    return np.pad(x, [(0, 0)] * (x.ndim - len(pairs)) + pairs, mode="symmetric")


def pad_tuple_from_first_axis(x, pad, mode="constant", value=None):
    """The pad tuple read from the first padded axis instead of the last (right for equal pads)."""
    k = len(pad) // 2
    pairs = [(pad[2 * i], pad[2 * i + 1]) for i in range(k)]
    flat = [v for pr in pairs[::-1] for v in pr]
    return ref.pad(x, tuple(flat), mode, value)


def pad_circular_wrong_side(x, pad, mode="constant", value=None):
    """'circular' that wraps each side with the other side's width (right for symmetric pads)."""
    if mode != "circular":
        return ref.pad(x, pad, mode, value)
    swapped = [pad[i ^ 1] for i in range(len(pad))]
    y = ref.pad(x, swapped, mode, value)
    for i in range(len(pad) // 2):                       # roll back so the sizes look right
        ax = x.ndim - 1 - i
        y = np.roll(y, pad[2 * i] - pad[2 * i + 1], axis=ax)
    return y


def conv_same_odd_pixel_low(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """padding='same' with the odd pixel of the total on the low side (SAME_LOWER; right for odd k)."""
    if padding == "same":
        d = _t(dilation, 2)
        tot = [di * (k - 1) for di, k in zip(d, w.shape[2:])]
        padding = [(t - t // 2, t // 2) for t in tot]
    return ref.conv2d(x, w, b, stride, padding, dilation, groups)


def conv_pairs_read_as_lo_lo(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """(lo, hi) pairs with hi ignored, lo used on both sides (right for symmetric pads)."""
    if not isinstance(padding, (int, str)) and len(padding) and not isinstance(padding[0], (int, np.integer)):
        padding = [(lo, lo) for lo, _ in padding]
    return ref.conv2d(x, w, b, stride, padding, dilation, groups)


# --- int8 --------------------------------------------------------------------------------------------

def convint_pads_raw_zero(x, w, x_zero_point=0, w_zero_point=0, stride=1, padding=0, dilation=1, groups=1):
    """Pads the raw uint8 input with 0 before subtracting x_zero_point (right when zx = 0 or no padding)."""
    p = ref._pads(padding, 2, w.shape[2:], _t(dilation, 2), _t(stride, 2))
    xp = np.pad(np.asarray(x), [(0, 0), (0, 0), *p])
    return ref.conv2d_integer(xp, w, x_zero_point, w_zero_point, stride, 0, dilation, groups)


def convint_first_channel_zero_point(x, w, x_zero_point=0, w_zero_point=0, stride=1, padding=0,
                                     dilation=1, groups=1):
    """A per-channel w_zero_point read as its first entry (right when all are equal)."""
    zw = np.asarray(w_zero_point).reshape(-1)[0]
    return ref.conv2d_integer(x, w, x_zero_point, zw, stride, padding, dilation, groups)


def qlinear_round_half_away(x, xs, zx, w, ws, zw, ys, zy, bias=None, stride=1, padding=0, dilation=1,
                            groups=1):
    """Requantisation rounding ties away from zero (C's round(); right off ties)."""
    acc = ref.conv2d_integer(x, w, zx, zw, stride, padding, dilation, groups).astype(np.float64)
    if bias is not None:
        acc += np.asarray(bias).reshape(1, -1, 1, 1)
    m = np.float64(np.float32(xs)) * np.asarray(ws, np.float64).reshape(1, -1, 1, 1) / np.float64(np.float32(ys))
    r = acc * m
    y = np.sign(r) * np.floor(np.abs(r) + 0.5) + int(zy)
    info = np.iinfo(np.asarray(zy).dtype)
    return np.clip(y, info.min, info.max).astype(np.asarray(zy).dtype)


def qlinear_wraps(x, xs, zx, w, ws, zw, ys, zy, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """No saturation: the int result cast to uint8/int8 wraps around (right inside the range)."""
    acc = ref.conv2d_integer(x, w, zx, zw, stride, padding, dilation, groups).astype(np.int64)
    if bias is not None:
        acc += np.asarray(bias, np.int64).reshape(1, -1, 1, 1)
    from fractions import Fraction
    m = Fraction(float(np.float32(xs))) * Fraction(float(np.float32(ws))) / Fraction(float(np.float32(ys)))
    y = np.vectorize(lambda a: round(Fraction(int(a)) * m), otypes=[np.int64])(acc) + int(zy)
    return y.astype(np.asarray(zy).dtype)


BUGS = {
    "ct_drops_output_padding": ("conv_transpose2d", ct_drops_output_padding, "output_padding dropped"),
    "ct_weight_axes_swapped": ("conv_transpose2d", ct_weight_axes_swapped,
                               "weight channel axes read as (C_out, C_in/g)"),
    "ct_no_kernel_flip": ("conv_transpose2d", ct_no_kernel_flip, "kernel flip missing in the lowering"),
    "ct_ignores_dilation": ("conv_transpose2d", ct_ignores_dilation, "dilation ignored"),
    "ct_padding_one_side": ("conv_transpose2d", ct_padding_one_side, "padding cropped on one side"),
    "conv3d_strides_dh_swapped": ("conv3d", conv3d_strides_dh_swapped, "depth/height strides swapped"),
    "pad_reflect_repeats_edge": ("pad", pad_reflect_repeats_edge, "reflect that repeats the edge"),
    "pad_tuple_from_first_axis": ("pad", pad_tuple_from_first_axis, "pad tuple read from the first axis"),
    "pad_circular_wrong_side": ("pad", pad_circular_wrong_side, "circular wrap widths swapped"),
    "conv_same_odd_pixel_low": ("conv2d", conv_same_odd_pixel_low, "the odd SAME pixel on the low side"),
    "conv_pairs_read_as_lo_lo": ("conv2d", conv_pairs_read_as_lo_lo, "(lo, hi) read as (lo, lo)"),
    "convint_pads_raw_zero": ("conv2d_integer", convint_pads_raw_zero, "padding with raw 0, not x_zero_point"),
    "convint_first_channel_zero_point": ("conv2d_integer", convint_first_channel_zero_point,
                                         "per-channel w_zero_point collapsed"),
    "qlinear_round_half_away": ("qlinear_conv2d", qlinear_round_half_away, "ties rounded away from zero"),
    "qlinear_wraps": ("qlinear_conv2d", qlinear_wraps, "no saturation (wrap-around)"),
}
