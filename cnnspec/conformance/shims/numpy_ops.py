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
        acc = acc + np.asarray(bias, np.int32).reshape(1, -1, 1, 1)
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
