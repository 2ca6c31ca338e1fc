"""Exact max, average and power-average pooling in 1-D, 2-D and 3-D: pad, window view, one reduction.

Max pooling pads with ``−inf`` and takes ``max`` over the window axes (a NaN in a window gives NaN,
as IEEE ``max`` and torch do); with ``return_indices`` it also returns torch's index: the flat
position, int64, of the chosen entry in the input's *unpadded* spatial plane (``(d·H + h)·W + w``).
torch's CPU kernels (``aten/src/ATen/native/cpu/MaxPoolKernel.cpp``, and
``AdaptiveMaxPoolKernel.cpp``) scan each window in row-major order and replace the running maximum
when ``val > maxval || isnan(val)``, starting from ``−inf`` at the window's first real entry, so

* ties resolve to the **first** maximum in row-major order;
* a window with NaNs returns NaN and the index of its **last** NaN;
* a window of real ``−inf`` entries returns ``−inf`` and the index of its first real entry.

(Measured on torch 2.13 CPU: ``max_pool1d([3,1,3,0], 4)`` → index 0; ``[1,nan,2,nan,0]`` → 3.)
A window without a real entry (dilated taps that all fall in the padding; or pads over half the
kernel, outside torch's limits) gives ``−inf`` and the index torch computes for it: per axis the
first tap at or after 0, which may lie outside the window and even outside the plane
(measured: ``max_pool2d`` of a ``1×7`` input, kernel ``(2, 1)``, padding ``(1, 0)``, dilation 2
gives indices 7, 10, 13).

Average pooling returns exact window sums and divisors (:func:`avg_pool_parts`). Float32 data
whose exponents span a modest range are summed straight into float64, exactly
(:func:`narrow_certified`); other float data are first scaled by a power of two that makes every
entry an integer (a float is ``m·2^e`` with an integer ``m``) when the scaled sums stay below
``2^53`` (:func:`exact_terms`); the rest in Python ``Fraction`` arithmetic. The quotient of the
exact sum by the integer divisor is one IEEE division: the exact rational rounded once to float64.
Max and sums over a window are reduced one axis at a time (a box is a product of intervals).

References
----------
PyTorch ``aten/src/ATen/native/Pool.h`` (``pooling_output_shape``), ``cpu/AvgPoolKernel.cpp``
(divisors, ``divisor_override``), ``cpu/MaxPoolKernel.cpp`` (ties and NaN);
``torch.nn.functional.lp_pool1d/2d`` (the power average); ONNX operators MaxPool, AveragePool,
LpPool (opset 22).
"""
from __future__ import annotations

import functools
import itertools
import math
from fractions import Fraction

import numpy as np

from ..spec.pooling import PoolError, PoolGeometry, avg_divisors, pool_geometry, window_taps
from .core import _all_integer, _cast, _maxabs, windows


def batched(x, nd: int, op: str) -> tuple[np.ndarray, bool]:
    """``x`` as ``(N, C, *spatial)`` (torch also takes an unbatched ``(C, *spatial)``)."""
    x = np.asarray(x)
    if x.ndim not in (nd + 1, nd + 2):
        raise PoolError(f"input: shape {x.shape} must have {nd + 1} or {nd + 2} dimensions for {op}")
    return (x[None], True) if x.ndim == nd + 1 else (x, False)


def unbatch(out, unbatched: bool):
    """Undo :func:`batched` on an op's output (an array or a tuple of arrays)."""
    if not unbatched:
        return out
    return tuple(o[0] for o in out) if isinstance(out, tuple) else out[0]


def named(op, name: str, doc: str):
    """``op`` under torch's function name, with its docstring."""
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


def exact_terms(x: np.ndarray, taps: int) -> tuple[np.ndarray, int]:
    """``(y, e)`` with ``y = x·2^e`` such that every sum of ``taps`` entries of ``y`` is exact.

    ``e`` is the least exponent that makes every entry an integer (a float ``f = M·2^(ex−53)``
    with an integer ``M`` whose trailing zeros ``tz`` give ``e ≥ 53 − ex − tz``). ``y`` is float64
    when ``taps·max|y| < 2^53``, else an object array of ``int``/``Fraction`` with ``e = 0``.
    Non-finite entries are the caller's business (:func:`_finite_split`).
    """
    if x.dtype == object or x.dtype.kind not in "iubf":
        return _cast(x, np.dtype(object)), 0
    if x.dtype.kind in "iub":
        if _maxabs(x) * taps < 2 ** 53:
            return x.astype(np.float64), 0
        return _cast(x, np.dtype(object)), 0
    f = x.astype(np.float64)
    nz = f[(f != 0) & np.isfinite(f)]
    if nz.size == 0:
        return np.zeros(x.shape), 0
    m, ex = np.frexp(nz)
    big = np.ldexp(m, 53).astype(np.int64)                    # |M| < 2^53: exact
    tz = np.log2((big & -big).astype(np.float64)).astype(np.int64)
    e = int((53 - ex - tz).max())
    with np.errstate(over="ignore"):
        y = np.ldexp(f, e)
    if np.all(np.isfinite(y)) and _maxabs(y) * taps < 2 ** 53:
        return y, e
    return _cast(x, np.dtype(object)), 0


def _finite_split(x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """``(finite part, non-finite part or None)``: IEEE sums with ``±inf``/NaN follow the latter."""
    if x.dtype == object or x.dtype.kind != "f" or np.all(np.isfinite(x)):
        return x, None
    bad = ~np.isfinite(x)
    return np.where(bad, 0, x), np.where(bad, x, 0).astype(np.float64)


def padded(x: np.ndarray, pads, value) -> np.ndarray:
    """``x`` with its trailing axes padded by ``(lo, hi)`` copies of ``value`` (as
    :func:`cnnspec.oracle.core.pad`, by one fill and one copy: ``np.pad`` is 10x slower here)."""
    if not any(lo or hi for lo, hi in pads):
        return x
    nd = len(pads)
    lead = x.shape[:x.ndim - nd]
    y = np.full((*lead, *(lo + n + hi for (lo, hi), n in zip(pads, x.shape[-nd:]))), value, x.dtype)
    y[(..., *(slice(lo, lo + n) for (lo, _), n in zip(pads, x.shape[-nd:])))] = x
    return y


def _view(x: np.ndarray, geo: PoolGeometry, value) -> np.ndarray:
    return windows(padded(x, geo.pads, value), geo.kernel, geo.stride, geo.dilation)


def _reduce(x: np.ndarray, geo: PoolGeometry, value, op: np.ufunc) -> np.ndarray:
    """``op`` (``np.add`` or ``np.maximum``) over every window of ``x`` padded with ``value``.

    A window is a box, and max and (exact) sums over a box are iterated over its axes: one axis at
    a time, one strided slice of the padded input per tap of that axis (``Σ k`` passes, not ``Π k``).
    """
    nd = len(geo.kernel)
    y = padded(x, geo.pads, value)
    for a, (m, k, s, d) in enumerate(zip(geo.output_size, geo.kernel, geo.stride, geo.dilation)):
        lead = (slice(None),) * (y.ndim - nd + a)
        y = functools.reduce(op, (y[lead + (slice(j * d, j * d + s * (m - 1) + 1, s),)] for j in range(k)))
    return y


def argmax_torch(v: np.ndarray, flat: np.ndarray, valid: np.ndarray, empty=-1) -> np.ndarray:
    """torch's index of the max of each window ``v[..., K]`` (taps in row-major order): the first
    maximum, or the last NaN; ``empty`` for a window without a real entry."""
    mx = v.max(axis=-1, keepdims=True)
    hit = (v == mx) & valid
    nan = np.isnan(v) & valid if v.dtype.kind == "f" else np.zeros(v.shape, bool)
    k = v.shape[-1]
    choice = np.where(nan.any(-1), k - 1 - np.argmax(nan[..., ::-1], -1), np.argmax(hit, -1))
    idx = np.take_along_axis(np.broadcast_to(flat, v.shape), choice[..., None], -1)[..., 0]
    return np.where(hit.any(-1) | nan.any(-1), idx, empty).astype(np.int64)


def max_pool(x: np.ndarray, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
             return_indices: bool = False, *, torch_limits: bool = True):
    """Max pooling over the trailing ``x.ndim − 2`` axes of ``(N, C, *n)``; see the module docstring.

    ``padding`` may be ``(lo, hi)`` pairs; ``torch_limits=False`` allows pads over half the kernel.
    """
    x = np.asarray(x)
    x.ndim - 2
    geo = pool_geometry(x.shape[2:], kernel_size, stride, padding, dilation, ceil_mode,
                        torch_limits=torch_limits)
    low = np.iinfo(x.dtype).min if x.dtype.kind in "iu" else -np.inf
    if not return_indices:
        return _reduce(x, geo, low, np.maximum)          # np.maximum propagates NaN
    best = _reduce(x, geo, low, np.maximum)
    # torch's index, tap by tap: the first tap equal to the maximum (a reverse scan keeps the
    # first), the last NaN (a forward scan keeps the last), and for a window whose maximum is −inf
    # torch's starting index (its scan never replaces the start there)
    v = _view(x, geo, low)
    taps = list(itertools.product(*(range(k) for k in geo.kernel)))
    flat, _, empty = window_taps(x.shape[2:], geo)
    idx = np.broadcast_to(empty, best.shape).astype(np.int64)
    hit = np.empty(best.shape, bool)
    for j in reversed(range(len(taps))):
        np.equal(v[(..., *taps[j])], best, out=hit)
        np.copyto(idx, flat[..., j], where=hit)
    if x.dtype.kind == "f" and np.isnan(best).any():
        for j, t in enumerate(taps):
            np.copyto(idx, flat[..., j], where=np.isnan(v[(..., *t)]))
    np.copyto(idx, np.broadcast_to(empty, best.shape), where=best == low)
    return best, idx


def _max_nd(nd: int, name: str):
    def op(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
           return_indices: bool = False):
        x, unb = batched(input, nd, name)
        return unbatch(max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices), unb)
    return named(op, name, f"``torch.nn.functional.{name}``, exactly: values in the input dtype; with "
                           f"``return_indices`` also torch's int64 flat indices (first maximum; last NaN).")


max_pool1d = _max_nd(1, "max_pool1d")
max_pool2d = _max_nd(2, "max_pool2d")
max_pool3d = _max_nd(3, "max_pool3d")


def narrow_certified(x: np.ndarray, taps: int) -> bool:
    """Whether float64 sums of any ``taps`` entries of the float32 (float16) array ``x`` are exact.

    Every entry is an integer multiple of ``2^(e_min − p)`` (``e_min`` the least binary exponent of a
    non-zero entry, ``p`` = 24 or 11 significand bits) and below ``2^e_max`` in magnitude, so every
    partial sum is a multiple of ``2^(e_min − p)`` below ``taps·2^e_max``: exact in float64 when
    ``taps·2^(e_max − e_min + p) <= 2^53``. N(0, 1) float32 samples by the million pass.
    """
    bits = {"float32": 24, "float16": 11}.get(x.dtype.name)
    if bits is None or x.size == 0:
        return False
    a = np.abs(x)
    top = float(a.max())
    if not math.isfinite(top):
        return False
    if top == 0:
        return True
    a[a == 0] = np.inf
    low = float(a.min())
    return taps * 2.0 ** (math.frexp(top)[1] - math.frexp(low)[1] + bits) <= 2.0 ** 53


def _add64(a, b):
    return np.add(a, b, dtype=np.float64)


def window_sums(x: np.ndarray, geo: PoolGeometry) -> np.ndarray:
    """The exact sum of every zero-padded window: float64 when exact there, else ``int``/``Fraction``
    objects; IEEE semantics for windows holding ``±inf`` or NaN."""
    taps = math.prod(geo.kernel)
    if narrow_certified(x, taps):         # certified data are finite: no IEEE part to split off
        return _reduce(x, geo, 0, _add64).astype(np.float64, copy=False)
    finite, bad = _finite_split(x)
    if narrow_certified(finite, taps):    # float32 data, summed straight into float64
        s = _reduce(finite, geo, 0, _add64).astype(np.float64, copy=False)
        e = 0
    else:
        y, e = exact_terms(finite, taps)
        s = _reduce(y, geo, 0, np.add)
    if e:
        s = np.ldexp(s, -e)          # a power of two: exact
    if bad is not None:
        with np.errstate(invalid="ignore"):              # inf − inf is NaN, as IEEE says
            b = _reduce(bad, geo, 0.0, np.add)
        s = np.where(b != 0, b, s) if s.dtype != object else np.where(b != 0, b, s).astype(object)
    return s


def avg_pool_parts(x: np.ndarray, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                   count_include_pad: bool = True, divisor_override: int | None = None,
                   dilation=1, *, torch_limits: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(sums, divisors)`` of average pooling over the trailing axes, both exact.

    Divisors follow torch (:func:`cnnspec.spec.pooling.avg_divisors`); ``dilation`` (ONNX's
    AveragePool) counts only the taps of the dilated window.
    """
    x = np.asarray(x)
    geo = pool_geometry(x.shape[2:], kernel_size, stride, padding, dilation, ceil_mode,
                        torch_limits=torch_limits)
    return window_sums(x, geo), avg_divisors(x.shape[2:], geo, count_include_pad, divisor_override)


def _quotient(s, d):
    if isinstance(s, float):                       # a non-finite sum: IEEE
        return s / d if d else math.nan
    if d == 0:
        return math.nan if s == 0 else math.copysign(math.inf, s)
    return float(Fraction(s) / int(d))             # Fraction -> float rounds correctly


def divide(sums: np.ndarray, div: np.ndarray) -> np.ndarray:
    """The exact quotient ``sums / div`` rounded once to float64 (``0/0`` is NaN).

    Exact float64 operands: IEEE division rounds the exact quotient correctly (IEEE 754 §5.4.1).
    """
    sums, div = np.asarray(sums), np.asarray(div)
    if sums.dtype != object:
        with np.errstate(divide="ignore", invalid="ignore"):
            return sums / div
    return np.vectorize(_quotient, otypes=[np.float64])(sums, div)


def avg_pool(x: np.ndarray, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
             count_include_pad: bool = True, divisor_override: int | None = None, dilation=1,
             *, torch_limits: bool = True) -> np.ndarray:
    """Average pooling over the trailing axes: exact window sum / divisor, rounded once to float64."""
    return divide(*avg_pool_parts(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                  divisor_override, dilation, torch_limits=torch_limits))


def avg_pool2d_parts(x: np.ndarray, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                     count_include_pad: bool = True, divisor_override: int | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``(sums, divisors)``: the exact window sums of the zero-padded input and torch's divisors."""
    return avg_pool_parts(np.asarray(x), kernel_size, stride, padding, ceil_mode, count_include_pad,
                          divisor_override)


def _avg_nd(nd: int, name: str, override: bool):
    def op(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
           count_include_pad: bool = True, divisor_override: int | None = None):
        if divisor_override is not None and not override:
            raise PoolError(f"divisor_override: {divisor_override!r} is not an argument of {name}")
        x, unb = batched(input, nd, name)
        return unbatch(avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                divisor_override), unb)
    return named(op, name, f"``torch.nn.functional.{name}``: the exact window sum over torch's "
                           f"divisor, rounded once to float64.")


avg_pool1d = _avg_nd(1, "avg_pool1d", False)
avg_pool2d = _avg_nd(2, "avg_pool2d", True)
avg_pool3d = _avg_nd(3, "avg_pool3d", True)


def check_norm_type(norm_type) -> float:
    """``norm_type`` as a float; it must be a positive number (``inf`` allowed)."""
    if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float, np.integer, np.floating)) \
            or not norm_type > 0:
        raise PoolError(f"norm_type: {norm_type!r} must be a positive number (p > 0, inf allowed)")
    return float(norm_type)


def lp_pool_parts(x: np.ndarray, norm_type, kernel_size, stride=None, padding=0, dilation=1,
                  ceil_mode: bool = False, *, absolute: bool = False, torch_limits: bool = True
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``(S, c)``: the power sums ``S = Σ x^p`` (``Σ |x|^p`` with ``absolute``) of every window,
    exact for integer ``p``, and the count ``c`` of the window's taps inside the (padded) input."""
    x = np.asarray(x)
    p = check_norm_type(norm_type)
    geo = pool_geometry(x.shape[2:], kernel_size, stride, padding, dilation, ceil_mode,
                        torch_limits=torch_limits)
    base = np.abs(x) if absolute else x
    if p == int(p) and (x.dtype == object or _all_integer(x)):
        powers = _cast(base, np.dtype(object)) ** int(p)        # exact integers or Fractions
        if all(isinstance(v, int) for v in powers.flat) and _maxabs(powers) < 2 ** 53:
            powers = powers.astype(np.float64)
    else:
        with np.errstate(invalid="ignore"):
            powers = np.power(base.astype(np.float64), p)      # x^p itself is irrational: float64
    return window_sums(powers, geo), avg_divisors(x.shape[2:], geo, True)


def lp_pool(x: np.ndarray, norm_type, kernel_size, stride=None, padding=0, dilation=1,
            ceil_mode: bool = False, *, convention: str = "torch", torch_limits: bool = True
            ) -> np.ndarray:
    """Power-average pooling over the trailing axes.

    ``convention="torch"`` (``torch.nn.functional.lp_pool2d``): ``(K·avg_pool(x^p))^(1/p)`` with
    ``K = Πk`` and torch's avg divisor (so a ceil-mode edge window is scaled by ``K/count``), no
    absolute value: a negative power sum (odd ``p``, negative data) gives NaN unless ``p = 1``
    (``sign(f)·relu(|f|)`` in torch's code equals ``f``); ``p = inf`` is ``max_pool(|x|)``.
    ``convention="onnx"`` (LpPool): ``(Σ |x|^p)^(1/p)`` over the zero-padded, dilated window.
    The power sums are exact for integer ``p`` on integer data; the root is rounded in float64.
    """
    p = check_norm_type(norm_type)
    if convention not in ("torch", "onnx"):
        raise PoolError(f"convention: {convention!r} must be 'torch' or 'onnx'")
    x = np.asarray(x)
    if p == math.inf:
        return max_pool(np.abs(x), kernel_size, stride, padding, dilation, ceil_mode,
                        torch_limits=torch_limits).astype(np.float64)
    s, c = lp_pool_parts(x, p, kernel_size, stride, padding, dilation, ceil_mode,
                         absolute=convention == "onnx", torch_limits=torch_limits)
    k = math.prod(pool_geometry(x.shape[2:], kernel_size, stride, padding, dilation, ceil_mode,
                                torch_limits=torch_limits).kernel)
    if convention == "torch":
        s = s * k / c if s.dtype == object else divide(s * k, c)
    with np.errstate(invalid="ignore"):
        return np.power(np.asarray(s, np.float64), 1.0 / p)


def _lp_nd(nd: int, name: str):
    def op(input, norm_type, kernel_size, stride=None, ceil_mode: bool = False):
        x, unb = batched(input, nd, name)
        return unbatch(lp_pool(x, norm_type, kernel_size, stride, 0, 1, ceil_mode), unb)
    return named(op, name, f"``torch.nn.functional.{name}`` (see :func:`lp_pool`, ``convention='torch'``).")


lp_pool1d = _lp_nd(1, "lp_pool1d")
lp_pool2d = _lp_nd(2, "lp_pool2d")
lp_pool3d = _lp_nd(3, "lp_pool3d")
