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


def _axes(name: str, v, nd: int, lo: int) -> tuple[int, ...]:
    a = (v,) * nd if isinstance(v, (int, np.integer)) else tuple(v)
    if len(a) == 1:
        a = a * nd
    if len(a) != nd or any(int(t) < lo for t in a):
        raise ValueError(f"{name}={v!r}: expected one or {nd} ints >= {lo}")
    return tuple(int(t) for t in a)


def _pads(padding, nd: int, k, d, s) -> list[tuple[int, int]]:
    """torch's padding argument (int, ints, 'same', 'valid') or (lo, hi) pairs, as pairs."""
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * nd
        if padding != "same" or any(v != 1 for v in s):
            raise ValueError(f"padding={padding!r}: 'valid', or 'same' with stride 1")
        return [((di * (ki - 1)) // 2, di * (ki - 1) - (di * (ki - 1)) // 2) for ki, di in zip(k, d)]
    if not isinstance(padding, (int, np.integer)) and len(padding) and not isinstance(
            tuple(padding)[0], (int, np.integer)):
        pairs = [tuple(int(v) for v in p) for p in padding]
        if len(pairs) != nd or any(len(p) != 2 or min(p) < 0 for p in pairs):
            raise ValueError(f"padding={padding!r}: one (lo, hi) pair >= 0 per axis")
        return pairs
    return [(p, p) for p in _axes("padding", padding, nd, 0)]


def _conv_nd(x, weight, bias, stride, padding, dilation, groups, nd: int, acc=None):
    """Cross-correlation on ``nd`` spatial axes: for each kernel tap, one strided slice of the padded
    input times the tap's ``(C_out/g, C_in/g)`` matrix, accumulated in ``acc`` (default: x's dtype)."""
    x, weight = np.asarray(x), np.asarray(weight)
    unbatched = x.ndim == nd + 1
    if unbatched:
        x = x[None]
    if x.ndim != nd + 2 or weight.ndim != nd + 2:
        raise ValueError(f"input {x.shape} / weight {weight.shape}: expected {nd} spatial axes")
    s, d = _axes("stride", stride, nd, 1), _axes("dilation", dilation, nd, 1)
    n, c, *size = x.shape
    o, cg, *k = weight.shape
    if groups < 1 or c % groups or o % groups or cg * groups != c:
        raise ValueError(f"groups={groups} does not fit input channels {c} and weight {weight.shape}")
    pads = _pads(padding, nd, k, d, s)
    dt = x.dtype if acc is None else np.dtype(acc)
    xp = np.zeros((n, c, *[a + lo + hi for a, (lo, hi) in zip(size, pads)]), dt)
    xp[(slice(None), slice(None), *[slice(lo, lo + a) for a, (lo, _) in zip(size, pads)])] = x
    m = [_out(a + lo + hi, ki, si, 0, di) for a, (lo, hi), ki, si, di in zip(size, pads, k, s, d)]
    out = np.zeros((n, o, *m), dt)
    og = o // groups
    wt = weight.astype(dt)
    for g in range(groups):
        xs, ws = xp[:, g * cg:(g + 1) * cg], wt[g * og:(g + 1) * og]
        for j in np.ndindex(*k):
            sl = tuple(slice(ji * di, ji * di + si * (mi - 1) + 1, si) for ji, di, si, mi in zip(j, d, s, m))
            tap = xs[(slice(None), slice(None), *sl)]
            out[:, g * og:(g + 1) * og] += np.tensordot(ws[(slice(None), slice(None), *j)], tap,
                                                         axes=([1], [1])).swapaxes(0, 1)
    if bias is not None:
        out += np.asarray(bias, dt).reshape(-1, *[1] * nd)
    return out[0] if unbatched else out


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv_nd(x, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv_nd(x, weight, bias, stride, padding, dilation, groups, 2)


def conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv_nd(x, weight, bias, stride, padding, dilation, groups, 3)


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


def _counts(n, k, s, p, m, include_pad):
    start = np.arange(m) * s - p
    end = np.minimum(start + k, n + p)
    return end - start if include_pad else np.minimum(end, n) - np.maximum(start, 0)


def conv2d_tf32(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """:func:`conv2d` on inputs rounded to TF32 (10 fraction bits), as tensor cores read float32:
    correct but not bit-exact; passes with ``--input-rounding tf32``, fails without."""
    from ...strategies import round_to
    dt = np.asarray(x).dtype
    return conv2d(round_to(x, "tf32").astype(dt), round_to(weight, "tf32").astype(dt), bias, stride,
                  padding, dilation, groups)


# --- the convolution family: transposed convolution, padding modes, int8 -------------------------

def _conv_transpose_nd(x, weight, bias, stride, padding, output_padding, groups, dilation, nd: int):
    """Transposed convolution as a direct one (Dumoulin & Visin 2016, §4.5): insert ``s − 1`` zeros
    between inputs, pad by ``d(k−1) − p`` (``output_padding`` more on the high side), then
    cross-correlate with the flipped kernel, its channel axes swapped per group."""
    x, weight = np.asarray(x), np.asarray(weight)
    unbatched = x.ndim == nd + 1
    if unbatched:
        x = x[None]
    s, d = _axes("stride", stride, nd, 1), _axes("dilation", dilation, nd, 1)
    op = _axes("output_padding", output_padding, nd, 0)
    if any(not (a < si or a < di) for a, si, di in zip(op, s, d)):
        raise ValueError(f"output_padding={output_padding!r} must be smaller than stride or dilation")
    ci, cgo, *k = weight.shape
    if groups < 1 or x.shape[1] != ci or ci % groups:
        raise ValueError(f"groups={groups} / weight {weight.shape} do not fit input channels {x.shape[1]}")
    pads = _pads(padding, nd, k, d, s)
    n, _, *size = x.shape
    up = np.zeros((n, ci, *[(a - 1) * si + 1 for a, si in zip(size, s)]), x.dtype)
    up[(slice(None), slice(None), *[slice(None, None, si) for si in s])] = x
    # pad (or crop, where p > d(k-1)) so that a direct convolution gives the transposed output
    widths = [(di * (ki - 1) - lo, di * (ki - 1) - hi + a) for ki, di, (lo, hi), a in zip(k, d, pads, op)]
    up = np.pad(up, [(0, 0), (0, 0)] + [(max(a, 0), max(b, 0)) for a, b in widths])
    up = up[(slice(None), slice(None), *[slice(max(-a, 0), up.shape[2 + i] - max(-b, 0))
                                         for i, (a, b) in enumerate(widths)])]
    cpg = ci // groups
    wf = np.flip(weight, axis=tuple(range(2, 2 + nd)))
    wf = wf.reshape(groups, cpg, cgo, *k).swapaxes(1, 2).reshape(groups * cgo, cpg, *k)
    y = _conv_nd(up, wf, bias, 1, 0, d, groups, nd)
    return y[0] if unbatched else y


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transpose_nd(x, weight, bias, stride, padding, output_padding, groups, dilation, 1)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transpose_nd(x, weight, bias, stride, padding, output_padding, groups, dilation, 2)


def conv_transpose3d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transpose_nd(x, weight, bias, stride, padding, output_padding, groups, dilation, 3)


def _source(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """Index into an axis of size ``n`` for each of its ``lo + n + hi`` padded positions."""
    i = np.arange(-lo, n + hi)
    if mode == "reflect":
        if max(lo, hi) >= n:
            raise ValueError(f"reflect padding ({lo}, {hi}) must be smaller than the size {n}")
        period = 2 * (n - 1) if n > 1 else 1
        i = np.abs(i) % period
        return np.where(i >= n, period - i, i)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if max(lo, hi) > n:
        raise ValueError(f"circular padding ({lo}, {hi}) must be at most the size {n}")
    return np.mod(i, n)


def pad(x, pad, mode="constant", value=None):
    """``torch.nn.functional.pad``: the pad tuple starts at the last axis."""
    x = np.asarray(x)
    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad={pad!r}: an even number of entries, two per padded axis")
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ValueError(f"mode={mode!r}")
    for i in range(len(pad) // 2):
        ax = x.ndim - 1 - i
        lo, hi = pad[2 * i], pad[2 * i + 1]
        if mode == "constant":
            x = np.take(x, np.arange(max(-lo, 0), x.shape[ax] - max(-hi, 0)), axis=ax)
            shape = list(x.shape)
            shape[ax] = max(lo, 0) + x.shape[ax] + max(hi, 0)
            out = np.full(shape, 0 if value is None else value, x.dtype)
            idx = [slice(None)] * x.ndim
            idx[ax] = slice(max(lo, 0), max(lo, 0) + x.shape[ax])
            out[tuple(idx)] = x
            x = out
        else:
            if min(lo, hi) < 0:
                raise ValueError(f"pad={pad!r}: negative pads only in mode 'constant'")
            x = np.take(x, _source(x.shape[ax], lo, hi, mode), axis=ax)
    return x


_RANGE = {np.dtype(np.uint8): (0, 255), np.dtype(np.int8): (-128, 127)}


def _zp(z, dtype) -> np.ndarray:
    z = np.asarray(0 if z is None else z).astype(np.int64)
    lo, hi = _RANGE[np.dtype(dtype)]
    if np.any(z < lo) or np.any(z > hi):
        raise ValueError(f"zero point {z!r} outside the range of {np.dtype(dtype)}")
    return z


def conv2d_integer(x, weight, x_zero_point=0, w_zero_point=0, stride=1, padding=0, dilation=1, groups=1):
    """ONNX ConvInteger: int32 taps of ``x − zx`` and ``w − zw`` (the padding is ``zx``)."""
    x, weight = np.asarray(x), np.asarray(weight)
    if x.dtype not in _RANGE or weight.dtype not in _RANGE:
        raise ValueError(f"dtypes {x.dtype}, {weight.dtype}: uint8 or int8")
    xs = x.astype(np.int32) - _zp(x_zero_point, x.dtype).astype(np.int32)
    zw = _zp(w_zero_point, weight.dtype).astype(np.int32)
    ws = weight.astype(np.int32) - zw.reshape(-1, *[1] * (weight.ndim - 1))
    return _conv_nd(xs, ws, None, stride, padding, dilation, groups, 2, acc=np.int32)


def qlinear_conv2d(x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, bias=None,
                   stride=1, padding=0, dilation=1, groups=1):
    """ONNX QLinearConv: the int32 accumulator (plus ``B``) times ``x_scale·w_scale/y_scale``, rounded
    half to even in integers (the float32 scales are exact fractions), plus ``y_zero_point``, clipped."""
    from fractions import Fraction
    acc = conv2d_integer(x, w, x_zero_point, w_zero_point, stride, padding, dilation, groups)
    if bias is not None:
        b = np.asarray(bias)
        if b.dtype != np.int32 or b.shape != (acc.shape[1],):
            raise ValueError(f"bias: {b.dtype} of shape {b.shape}; expected int32 of shape ({acc.shape[1]},)")
        acc = acc + b.reshape(1, -1, 1, 1)
    yz = np.asarray(y_zero_point)
    ydt = yz.dtype if yz.dtype in _RANGE else np.asarray(x).dtype
    ws = np.broadcast_to(np.asarray(w_scale, np.float32).reshape(-1), (acc.shape[1],))
    m = [Fraction(float(np.float32(x_scale))) * Fraction(float(v)) / Fraction(float(np.float32(y_scale)))
         for v in ws]
    num = np.array([f.numerator for f in m], object).reshape(1, -1, 1, 1)
    den = np.array([f.denominator for f in m], object).reshape(1, -1, 1, 1)
    t = 2 * acc.astype(object) * num + den          # round half up: floor((2·acc·P + Q) / 2Q) ...
    y = t // (2 * den)
    tie = (t % (2 * den) == 0) & (y % 2 == 1)        # ... then a tie rounded up to odd goes down
    y = (y - tie.astype(np.int64)).astype(np.int64) + _zp(y_zero_point, ydt).reshape(
        (1, -1, 1, 1) if np.ndim(y_zero_point) else ())
    lo, hi = _RANGE[np.dtype(ydt)]
    return np.clip(y, lo, hi).astype(ydt)


# --- the pooling family in N dimensions: one shifted slice per kernel tap, one step per output ------
# position along an axis for adaptive pooling. Written from torch's documented semantics, without
# cnnspec.oracle: max pools scan taps in row-major order and replace the running maximum when
# ``val > max or isnan(val)`` (torch's rule: first maximum, last NaN); averages divide by torch's
# per-axis counts.

import itertools as _it  # noqa: E402
import math as _math  # noqa: E402


def _batch(x, nd):
    x = np.asarray(x)
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"input of shape {x.shape}: expected {nd + 1} or {nd + 2} dimensions")
    return (x[None], True) if x.ndim == nd + 1 else (x, False)


def _pool_out(n, k, s, p, d, ceil):
    # torch's pooling_output_shape: with ceil_mode a window may overhang a too-short input
    m = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    return m - 1 if ceil and (m - 1) * s >= n + p else m


def _geometry(x, nd, kernel_size, stride, padding, dilation, ceil_mode):
    k = _axes("kernel_size", kernel_size, nd, 1)
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else _axes("stride", stride, nd, 1)
    p, d = _axes("padding", padding, nd, 0), _axes("dilation", dilation, nd, 1)
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise ValueError(f"padding={padding!r} must be at most half of kernel_size={kernel_size!r}")
    out = tuple(_pool_out(n, ki, si, pi, di, ceil_mode) for n, ki, si, pi, di in zip(x.shape[2:], k, s, p, d))
    if min(out) < 1:
        raise ValueError("output would be empty")
    hi = tuple(max((m - 1) * si + di * (ki - 1) + 1 - n - pi, 0)
               for m, n, ki, si, pi, di in zip(out, x.shape[2:], k, s, p, d))
    return k, s, p, d, out, hi


def _padded(x, p, hi, value):
    xp = np.full((*x.shape[:2], *(lo + n + h for lo, n, h in zip(p, x.shape[2:], hi))), value, x.dtype)
    xp[(slice(None), slice(None), *(slice(lo, lo + n) for lo, n in zip(p, x.shape[2:])))] = x
    return xp


def _slice(xp, tap, d, s, out):
    return xp[(..., *(slice(t * di, t * di + si * (m - 1) + 1, si) for t, di, si, m in zip(tap, d, s, out)))]


def _floating(a: np.ndarray) -> bool:
    """A float array, ml_dtypes' bfloat16 included (NumPy gives it kind 'V')."""
    return a.dtype.kind == "f" or a.dtype.name == "bfloat16"


def _max_pool_nd(nd, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, unb = _batch(x, nd)
    k, s, p, d, out, hi = _geometry(x, nd, kernel_size, stride, padding, dilation, ceil_mode)
    low = np.iinfo(x.dtype).min if x.dtype.kind in "iu" else -np.inf
    xp = _padded(x, p, hi, low)
    best = np.full((*x.shape[:2], *out), low, x.dtype)
    # the index torch starts from: per axis the window's first tap at or after 0
    starts = [np.arange(m) * si - pi for m, si, pi in zip(out, s, p)]
    firsts = [np.where(a < 0, a + (-a + di - 1) // di * di, a) for a, di in zip(starts, d)]
    strides = [_math.prod(x.shape[2 + a + 1:]) for a in range(nd)]
    idx = sum(np.reshape(f * st, [-1 if b == a else 1 for b in range(nd)])
              for a, (f, st) in enumerate(zip(firsts, strides)))
    idx = np.broadcast_to(idx, (*x.shape[:2], *out)).astype(np.int64).copy()
    for tap in _it.product(*(range(ki) for ki in k)):
        pos = [a + t * di for a, t, di in zip(starts, tap, d)]
        real = np.ones(out, bool)
        flat = np.zeros(out, np.int64)
        for a, q in enumerate(pos):
            shape = [-1 if b == a else 1 for b in range(nd)]
            real = real & ((q >= 0) & (q < x.shape[2 + a])).reshape(shape)
            flat = flat + (q * strides[a]).reshape(shape)
        v = _slice(xp, tap, d, s, out)
        take = real & ((v > best) | (np.isnan(v) if _floating(v) else False))
        best = np.where(take, v, best)
        idx = np.where(take, flat, idx)
    if unb:
        best, idx = best[0], idx[0]
    return (best, idx) if return_indices else best


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_pool_nd(1, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Replaces the 2-D version above: the same values, and ``return_indices``."""
    return _max_pool_nd(2, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_pool_nd(3, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _avg_pool_nd(nd, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    x, unb = _batch(x, nd)
    k, s, p, d, out, hi = _geometry(x, nd, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and (isinstance(divisor_override, bool) or divisor_override == 0):
        raise ValueError(f"divisor_override={divisor_override!r} must be a non-zero int")
    xp = _padded(x, p, hi, 0)
    total = sum(_slice(xp, tap, d, s, out) for tap in _it.product(*(range(ki) for ki in k)))
    if divisor_override is not None:
        div = np.full(out, divisor_override)
    else:
        div = np.ones((), np.int64)
        for n, ki, si, pi, m in zip(x.shape[2:], k, s, p, out):
            div = np.multiply.outer(div, _counts(n, ki, si, pi, m, count_include_pad))
    y = (total / div.astype(x.dtype)).astype(x.dtype)
    return y[0] if unb else y


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    return _avg_pool_nd(1, x, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Replaces the 2-D version above: the same values, and ``divisor_override``."""
    return _avg_pool_nd(2, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def avg_pool3d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    return _avg_pool_nd(3, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def _lp_pool_nd(nd, x, norm_type, kernel_size, stride, ceil_mode):
    if not norm_type > 0:
        raise ValueError(f"norm_type={norm_type!r} must be positive")
    x = np.asarray(x)
    if norm_type == np.inf:
        return _max_pool_nd(nd, np.abs(x), kernel_size, stride, 0, 1, ceil_mode, False)
    k = _axes("kernel_size", kernel_size, nd, 1)
    with np.errstate(invalid="ignore"):     # torch: (K · avg_pool(x^p))^(1/p), no absolute value
        a = _avg_pool_nd(nd, x ** norm_type, kernel_size, stride, 0, ceil_mode, True, None)
        # ml_dtypes' bfloat16 to a Python float's power is float32: rounded back, as torch rounds
        return ((a * _math.prod(k)) ** (1.0 / norm_type)).astype(x.dtype, copy=False)


def lp_pool1d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool_nd(1, x, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool_nd(2, x, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool_nd(3, x, norm_type, kernel_size, stride, ceil_mode)


def _adaptive_nd(nd, x, output_size, kind, return_indices=False):
    x, unb = _batch(x, nd)
    m = (output_size,) * nd if isinstance(output_size, (int, np.integer)) or output_size is None \
        else tuple(output_size) * (nd if len(tuple(output_size)) == 1 else 1)
    if len(m) != nd:
        raise ValueError(f"output_size={output_size!r}: expected {nd} sizes >= 1")
    m = tuple(n if v is None else int(v) for n, v in zip(x.shape[2:], m))
    if min(m) < 1:
        raise ValueError(f"output_size={output_size!r}: expected {nd} sizes >= 1")
    y = x.astype(np.float64) if kind == "avg" else x
    # a box window is separable: reduce one axis at a time, last axis first; for indices keep the
    # coordinate of the chosen entry along every axis reduced so far
    coords = [None] * nd
    for a in reversed(range(nd)):
        n, ax = x.shape[2 + a], 2 + a
        parts, picks = [], []
        for i in range(m[a]):                  # one step per output position along this axis
            lo, hi = (i * n) // m[a], -(-(i + 1) * n // m[a])
            w = np.take(y, range(lo, hi), axis=ax)
            if kind == "avg":
                parts.append(w.sum(axis=ax) / (hi - lo))
                continue
            nan = np.isnan(w) if _floating(w) else np.zeros(w.shape, bool)
            last_nan = w.shape[ax] - 1 - np.argmax(np.flip(nan, ax), axis=ax)
            first_max = np.argmax(w == np.max(w, axis=ax, keepdims=True), axis=ax)
            j = np.where(nan.any(axis=ax), last_nan, first_max)
            parts.append(np.take_along_axis(w, np.expand_dims(j, ax), ax).squeeze(ax))
            picks.append((lo + j, [None if c is None else np.take_along_axis(
                np.take(c, range(lo, hi), axis=ax), np.expand_dims(j, ax), ax).squeeze(ax) for c in coords]))
        y = np.stack(parts, axis=ax)
        if kind == "max":
            coords = [np.stack([pk[1][b] for pk in picks], axis=ax) if coords[b] is not None else None
                      for b in range(nd)]
            coords[a] = np.stack([pk[0] for pk in picks], axis=ax)
    y = y.astype(x.dtype)                     # the input's dtype, as torch (the mean in float64, rounded once)
    if kind == "avg" or not return_indices:
        return y[0] if unb else y
    idx = sum(c * _math.prod(x.shape[2 + b + 1:]) for b, c in enumerate(coords)).astype(np.int64)
    return (y[0], idx[0]) if unb else (y, idx)


def adaptive_avg_pool1d(x, output_size):
    return _adaptive_nd(1, x, output_size, "avg")


def adaptive_avg_pool2d(x, output_size):
    return _adaptive_nd(2, x, output_size, "avg")


def adaptive_avg_pool3d(x, output_size):
    return _adaptive_nd(3, x, output_size, "avg")


def adaptive_max_pool1d(x, output_size, return_indices=False):
    return _adaptive_nd(1, x, output_size, "max", return_indices)


def adaptive_max_pool2d(x, output_size, return_indices=False):
    return _adaptive_nd(2, x, output_size, "max", return_indices)


def adaptive_max_pool3d(x, output_size, return_indices=False):
    return _adaptive_nd(3, x, output_size, "max", return_indices)


def _max_unpool_nd(nd, x, indices, kernel_size, stride, padding, output_size):
    x, unb = _batch(x, nd)
    idx = np.asarray(indices)
    idx = idx[None] if unb else idx
    if idx.dtype != np.int64 or idx.shape != x.shape:
        raise ValueError(f"indices: expected int64 of shape {x.shape}, got {idx.dtype} {idx.shape}")
    k = _axes("kernel_size", kernel_size, nd, 1)
    s = k if stride is None else _axes("stride", stride, nd, 1)
    p = _axes("padding", padding, nd, 0)
    size = tuple((m - 1) * si - 2 * pi + ki for m, ki, si, pi in zip(x.shape[2:], k, s, p))
    if output_size is not None:
        want = tuple(int(v) for v in output_size)
        want = want[2:] if len(want) == nd + 2 else want
        if len(want) != nd or any(not d - si < o < d + si for o, d, si in zip(want, size, s)):
            raise ValueError(f"output_size={output_size!r}: {nd} sizes, each strictly between "
                             f"default - stride and default + stride (default {size})")
        size = want
    plane = _math.prod(size)
    if idx.size and (idx.min() < 0 or idx.max() >= plane):
        raise ValueError(f"indices: values must lie in [0, {plane})")
    out = np.zeros((*x.shape[:2], plane), x.dtype)
    np.put_along_axis(out, idx.reshape(*x.shape[:2], -1), x.reshape(*x.shape[:2], -1), axis=-1)
    out = out.reshape(*x.shape[:2], *size)
    return out[0] if unb else out


def max_unpool1d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool_nd(1, x, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool_nd(2, x, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool_nd(3, x, indices, kernel_size, stride, padding, output_size)
