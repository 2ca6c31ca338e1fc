"""Exact int8 convolution: ONNX ConvInteger and QLinearConv.

Integer arithmetic is exact on any hardware, so these ops have one right answer:

* ``conv2d_integer`` (ConvInteger): ``y = (x − x_zero_point) ⋆ (w − w_zero_point)`` in int32, the
  input padded with ``x_zero_point`` (zeros of the shifted input). ``w_zero_point`` is a scalar or
  one per output channel;
* ``qlinear_conv2d`` (QLinearConv): the same accumulator plus the int32 bias ``B``, requantised ::

      y = saturate(round_half_even(acc · x_scale·w_scale / y_scale) + y_zero_point)

  with the scales read as the exact rationals their float32 values are, the product rounded once
  (ties to even, as ONNX's reference rounds with ``np.round``), saturated to the output dtype
  (the dtype of ``y_zero_point``: uint8 or int8). :func:`requantize` is that step alone.

The accumulator uses :func:`cnnspec.oracle.conv.conv`, exact under its certificate; the
requantisation divides Python integers (``acc·P = q·Q + r``, the multiplier ``P/Q`` in lowest
terms), so no float rounding enters.

>>> import numpy as np
>>> x = np.array([[[[2, 3], [4, 5]]]], np.uint8); w = np.array([[[[1]]]], np.uint8)
>>> conv2d_integer(x, w, x_zero_point=1).tolist()
[[[[1, 2], [3, 4]]]]
>>> requantize(np.array([5, 7, -5]), 0.5, 0, np.int8).tolist()   # 2.5 -> 2, 3.5 -> 4, -2.5 -> -2
[2, 4, -2]

References
----------
ONNX operator docs, ``ConvInteger`` (opset 10: int32 output; "the production MUST never overflow")
and ``QLinearConv`` (opset 10: scales and zero points per tensor or per output channel; bias
quantised with scale ``x_scale·w_scale`` and zero point 0); the ONNX reference implementation,
``onnx/reference/ops/op_qlinear_conv.py`` (clip to the dtype's range, round half to even).
Jacob et al., *Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only
Inference* (CVPR 2018), §2 (the affine map ``r = S(q − Z)`` and the requantised product).
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..errors import UsageError
from .conv import conv

INT_RANGES: dict[str, tuple[int, int]] = {"uint8": (0, 255), "int8": (-128, 127)}
_INT32 = (-2 ** 31, 2 ** 31 - 1)


def _dtype(name: str, a: np.ndarray) -> str:
    if a.dtype.name not in INT_RANGES:
        raise UsageError(f"{name}: dtype {a.dtype}; rule: uint8 or int8 (ONNX ConvInteger, "
                         f"QLinearConv)")
    return a.dtype.name


def _zero_point(name: str, zp, dtype: str, channels: int | None) -> np.ndarray:
    """A zero point as int64: a scalar, or (``channels`` given) one per output channel."""
    z = np.asarray(0 if zp is None else zp)
    if z.dtype.kind not in "iu" and not (z.dtype.kind == "f" and np.all(z == np.round(z))):
        raise UsageError(f"{name}: {zp!r} is not an integer")
    if not (z.ndim == 0 or (channels is not None and z.shape == (channels,))):
        raise UsageError(f"{name}: shape {z.shape}; rule: a scalar"
                         + (f" or one per output channel ({channels},)" if channels else ""))
    lo, hi = INT_RANGES[dtype]
    bad = z[(z < lo) | (z > hi)] if z.ndim else (z if not lo <= z <= hi else None)
    if bad is not None and np.size(bad):
        article = "an" if dtype[0] in "aeiou" else "a"
        raise UsageError(f"{name}: {int(np.ravel(bad)[0])} is out of range; rule: {article} {dtype} zero "
                         f"point lies in [{lo}, {hi}]")
    return z.astype(np.int64)


def _accumulate(x, w, x_zero_point, w_zero_point, bias, stride, padding, dilation, groups):
    x, w = np.asarray(x), np.asarray(w)
    xd, wd = _dtype("input", x), _dtype("weight", w)
    zx = _zero_point("x_zero_point", x_zero_point, xd, None)
    zw = _zero_point("w_zero_point", w_zero_point, wd, w.shape[0])
    xs = x.astype(np.int64) - zx
    ws = w.astype(np.int64) - zw.reshape(-1, *[1] * (w.ndim - 1))
    b = None if bias is None else np.asarray(bias).astype(np.int64)
    acc = conv(xs, ws, b, stride, padding, dilation, groups)
    return np.asarray(acc), xd


def conv_integer(x, w, x_zero_point=0, w_zero_point=0, stride=1, padding=0, dilation=1,
                 groups: int = 1) -> np.ndarray:
    """ONNX ConvInteger on any number of spatial axes: ``(x − zx) ⋆ (w − zw)``, int32 output."""
    acc, _ = _accumulate(x, w, x_zero_point, w_zero_point, None, stride, padding, dilation, groups)
    if acc.size and (acc.min() < _INT32[0] or acc.max() > _INT32[1]):
        raise UsageError(f"input: the exact accumulator reaches {int(acc.max()) if acc.max() > _INT32[1] else int(acc.min())}; "
                         f"rule: ConvInteger's int32 output must hold it")
    return acc.astype(np.int32)


def conv2d_integer(input, weight, x_zero_point=0, w_zero_point=0, stride=1, padding=0,
                   dilation=1, groups: int = 1) -> np.ndarray:
    """ONNX ConvInteger on ``(N, C, H, W)`` uint8/int8 input, torch-style geometry arguments."""
    return conv_integer(input, weight, x_zero_point, w_zero_point, stride, padding, dilation, groups)


def _scale(name: str, v, channels: int | None) -> list[Fraction]:
    a = np.asarray(v, dtype=np.float32)
    if not (a.ndim == 0 or (channels is not None and a.shape == (channels,))):
        raise UsageError(f"{name}: shape {a.shape}; rule: a scalar"
                         + (f" or one per output channel ({channels},)" if channels else ""))
    if not np.all(np.isfinite(a) & (a > 0)):
        raise UsageError(f"{name}: {v!r}; rule: a finite positive float32 scale")
    return [Fraction(float(t)) for t in np.ravel(a)]


def requantize(acc: np.ndarray, multiplier, zero_point, dtype) -> np.ndarray:
    """``saturate(round_half_even(acc·multiplier) + zero_point)`` in ``dtype``, exactly.

    ``multiplier`` (a float, read exactly, or a ``Fraction``; or one per channel along axis 1 of
    ``acc``) must be positive; ``acc`` holds integers.
    """
    dtype = np.dtype(dtype)
    lo, hi = INT_RANGES[dtype.name]
    acc = np.asarray(acc)
    mult = [Fraction(m) for m in np.ravel(np.asarray(multiplier, dtype=object))]
    shape = (1, len(mult), *[1] * (acc.ndim - 2)) if len(mult) > 1 else ()
    P = np.array([m.numerator for m in mult], dtype=object).reshape(shape)
    Q = np.array([m.denominator for m in mult], dtype=object).reshape(shape)
    num = acc.astype(object) * P                      # Python ints: no overflow, no rounding
    q, r = num // Q, num % Q                          # floor division, 0 <= r < Q
    up = (2 * r > Q) | ((2 * r == Q) & (q % 2 == 1))  # round half to even
    zp = np.asarray(zero_point, dtype=object)
    y = q + up.astype(np.int64).astype(object) + (zp.reshape(shape) if zp.size > 1 else zp)
    return np.clip(y.astype(np.float64), lo, hi).astype(dtype)


def qlinear_conv2d(x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point,
                   bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> np.ndarray:
    """ONNX QLinearConv (inputs in ONNX's order, torch-style geometry): the exact int32
    accumulator of ``(x − zx) ⋆ (w − zw) + B`` requantised with :func:`requantize`.

    The output dtype is ``y_zero_point``'s (uint8/int8) or, for a Python int, the input's.
    """
    x, w = np.asarray(x), np.asarray(w)
    co = w.shape[0] if w.ndim else None
    yzp = np.asarray(y_zero_point)
    ydt = yzp.dtype.name if yzp.dtype.name in INT_RANGES else _dtype("input", x)
    zy = _zero_point("y_zero_point", y_zero_point, ydt, co)
    if bias is not None:
        b = np.asarray(bias)
        if b.dtype.kind not in "iu" or b.shape != (co,) or b.min() < _INT32[0] or b.max() > _INT32[1]:
            raise UsageError(f"bias: dtype {b.dtype}, shape {b.shape}; rule: int32, one per output "
                             f"channel ({co},)")
    acc, _ = _accumulate(x, w, x_zero_point, w_zero_point, bias, stride, padding, dilation, groups)
    xs, ys = _scale("x_scale", x_scale, None)[0], _scale("y_scale", y_scale, co)
    ws = _scale("w_scale", w_scale, co)
    n = max(len(ws), len(ys))
    mult = [xs * ws[i % len(ws)] / ys[i % len(ys)] for i in range(n)]
    return requantize(acc, mult if n > 1 else mult[0], zy, ydt)
