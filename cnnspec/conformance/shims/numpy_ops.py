"""``torch.nn.functional``-compatible conv and pooling in plain NumPy: one shifted slice per kernel tap.

A target for ``cnnspec validate cnnspec.conformance.shims.numpy_ops:conv2d --op conv2d``; written
independently of :mod:`cnnspec.oracle` (taps accumulated in the input dtype, not an im2col GEMM).
"""
from __future__ import annotations

import numpy as np


def _pair(name: str, v, lo: int) -> tuple[int, int]:
    a = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(a) == 1:
        a = (a[0], a[0])
    if len(a) != 2 or any(int(t) < lo for t in a):
        raise ValueError(f"{name}={v!r}: expected one or two ints >= {lo}")
    return int(a[0]), int(a[1])


def _out(n: int, k: int, s: int, p: int, d: int, ceil: bool = False) -> int:
    span = d * (k - 1) + 1
    if n + 2 * p < span:
        raise ValueError(f"kernel span {span} is larger than the padded input {n + 2 * p}")
    m = (n + 2 * p - span + (s - 1 if ceil else 0)) // s + 1
    if ceil and (m - 1) * s >= n + p:
        m -= 1
    return m


def _tap(xp, i, j, dh, dw, sh, sw, oh, ow):
    return xp[..., i * dh: i * dh + sh * (oh - 1) + 1: sh, j * dw: j * dw + sw * (ow - 1) + 1: sw]


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    x, weight = np.asarray(x), np.asarray(weight)
    (sh, sw), (ph, pw), (dh, dw) = (_pair("stride", stride, 1), _pair("padding", padding, 0),
                                    _pair("dilation", dilation, 1))
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    if groups < 1 or c % groups or o % groups or cg * groups != c:
        raise ValueError(f"groups={groups} does not fit input channels {c} and weight {weight.shape}")
    oh, ow = _out(h, kh, sh, ph, dh), _out(w, kw, sw, pw, dw)
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), x.dtype)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    out = np.zeros((n, o, oh, ow), x.dtype)
    og = o // groups
    for g in range(groups):
        xs, ws = xp[:, g * cg:(g + 1) * cg], weight[g * og:(g + 1) * og]
        for i in range(kh):
            for j in range(kw):
                out[:, g * og:(g + 1) * og] += np.einsum(
                    "nchw,oc->nohw", _tap(xs, i, j, dh, dw, sh, sw, oh, ow), ws[:, :, i, j])
    if bias is not None:
        out += np.asarray(bias, x.dtype)[None, :, None, None]
    return out


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    one = lambda v: (1, v if isinstance(v, (int, np.integer)) else tuple(v)[0])  # noqa: E731
    if not isinstance(stride, (int, np.integer)) and len(tuple(stride)) != 1:
        raise ValueError(f"stride={stride!r}: conv1d takes one int")
    y = conv2d(np.asarray(x)[:, :, None, :], np.asarray(weight)[:, :, None, :], bias,
               one(stride), (0, one(padding)[1]), one(dilation), groups)
    return y[:, :, 0, :]


def _pool_setup(x, kernel_size, stride, padding, dilation, ceil_mode):
    x = np.asarray(x)
    k = _pair("kernel_size", kernel_size, 1)
    s = k if stride is None else _pair("stride", stride, 1)
    p, d = _pair("padding", padding, 0), _pair("dilation", dilation, 1)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"padding={padding!r} must be at most half of kernel_size={kernel_size!r}")
    h, w = x.shape[2:]
    oh, ow = (_out(h, k[0], s[0], p[0], d[0], ceil_mode), _out(w, k[1], s[1], p[1], d[1], ceil_mode))
    if oh < 1 or ow < 1:
        raise ValueError("output would be empty")
    hi = (max((oh - 1) * s[0] + d[0] * (k[0] - 1) + 1 - h - p[0], 0),
          max((ow - 1) * s[1] + d[1] * (k[1] - 1) + 1 - w - p[1], 0))
    return x, k, s, p, d, (oh, ow), hi


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    x, k, s, p, d, (oh, ow), hi = _pool_setup(x, kernel_size, stride, padding, dilation, ceil_mode)
    h, w = x.shape[2:]
    xp = np.full((*x.shape[:2], p[0] + h + hi[0], p[1] + w + hi[1]), -np.inf, x.dtype)
    xp[:, :, p[0]:p[0] + h, p[1]:p[1] + w] = x
    out = np.full((*x.shape[:2], oh, ow), -np.inf, x.dtype)
    for i in range(k[0]):
        for j in range(k[1]):
            out = np.maximum(out, _tap(xp, i, j, d[0], d[1], s[0], s[1], oh, ow))  # NaN propagates
    return out


def _counts(n, k, s, p, m, include_pad):
    start = np.arange(m) * s - p
    end = np.minimum(start + k, n + p)
    return end - start if include_pad else np.minimum(end, n) - np.maximum(start, 0)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    x, k, s, p, d, (oh, ow), hi = _pool_setup(x, kernel_size, stride, padding, 1, ceil_mode)
    h, w = x.shape[2:]
    xp = np.zeros((*x.shape[:2], p[0] + h + hi[0], p[1] + w + hi[1]), x.dtype)
    xp[:, :, p[0]:p[0] + h, p[1]:p[1] + w] = x
    total = sum(_tap(xp, i, j, 1, 1, s[0], s[1], oh, ow) for i in range(k[0]) for j in range(k[1]))
    div = np.outer(_counts(h, k[0], s[0], p[0], oh, count_include_pad),
                   _counts(w, k[1], s[1], p[1], ow, count_include_pad))
    return (total / div.astype(x.dtype)).astype(x.dtype)


def conv2d_tf32(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """:func:`conv2d` on inputs rounded to TF32 (10 fraction bits), as tensor cores read float32:
    correct but not bit-exact; passes with ``--input-rounding tf32``, fails without."""
    from ...strategies import round_to
    dt = np.asarray(x).dtype
    return conv2d(round_to(x, "tf32").astype(dt), round_to(weight, "tf32").astype(dt), bias, stride,
                  padding, dilation, groups)
