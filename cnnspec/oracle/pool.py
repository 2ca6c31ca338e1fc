"""Exact max, average and power pooling in 1-D to 3-D: pad, strided taps, one reduction per axis.

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

Average pooling returns exact window sums and divisors (:func:`avg_pool_parts`). Float32 and
float16 data are summed straight into float64 under an exactness certificate read off the data's
exponent range, splitting each value exactly into two float32 parts when the range is wide
(:mod:`cnnspec.oracle.pool_sums`; windows that tile the plane in one cache-blocked pass); other float data are first scaled by a power of two that makes
every entry an integer (a float is ``m·2^e`` with an integer ``m``) when the scaled sums stay below
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

import numpy as np

from ..spec.pooling import PoolError, PoolGeometry, avg_divisors, pool_geometry, window_taps
from .core import _all_integer, _cast, _maxabs
from .pool_sums import (blocked_square_sums, divide_pair, exact_sum_object, exact_terms, finite_split, gathered,
                        tile_sums, tiles, window_sums_exact)

_finite_split = finite_split      # the name the adaptive module imported


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


def _reduce(x: np.ndarray, geo: PoolGeometry, value, op: np.ufunc) -> np.ndarray:
    """``op`` (``np.add`` or ``np.maximum``) over every window of ``x`` padded with ``value``.

    A window is a box, and max and (exact) sums over a box are iterated over its axes: one axis at
    a time, one strided slice of the padded input per tap of that axis (``Σ k`` passes, not ``Π k``).
    """
    nd = len(geo.kernel)
    y = padded(x, geo.pads, value)
    per_axis = list(zip(geo.output_size, geo.kernel, geo.stride, geo.dilation))
    for a, (m, k, s, d) in enumerate(per_axis[:-1]):
        lead = (slice(None),) * (y.ndim - nd + a)
        y = functools.reduce(op, (y[lead + (slice(j * d, j * d + s * (m - 1) + 1, s),)] for j in range(k)))
    y = functools.reduce(op, _last_axis_taps(y, *per_axis[-1]))
    return y.copy() if np.may_share_memory(y, x) else y        # a 1-tap window is a view of x


def _last_axis_taps(y: np.ndarray, m: int, k: int, s: int, d: int) -> list[np.ndarray]:
    """The ``k`` taps ``y[..., j·d :: s][..., :m]`` along the last axis; with a stride, read from
    the ``s`` phases ``y[..., r::s]`` made contiguous first (NumPy's inner loops run several times
    faster on contiguous rows than on strided ones)."""
    phases = [np.ascontiguousarray(y[..., r::s]) for r in range(s)] if s > 1 else [y]
    return [phases[(j * d) % s][..., (j * d) // s:(j * d) // s + m] for j in range(k)]


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
    geo = pool_geometry(x.shape[2:], kernel_size, stride, padding, dilation, ceil_mode,
                        torch_limits=torch_limits)
    low = np.iinfo(x.dtype).min if x.dtype.kind in "iu" else -np.inf
    if not return_indices:
        return _reduce(x, geo, low, np.maximum)          # np.maximum propagates NaN
    xp = padded(x, geo.pads, low)
    taps = _taps(xp, geo)
    best = functools.reduce(np.maximum, taps) if len(taps) > 1 else taps[0].copy()
    # torch's index: the first tap equal to the maximum, the last NaN, and for a window whose
    # maximum is −inf torch's starting index (its scan never replaces the start there). Tap j
    # scores K − j where it equals the maximum, and the best score names the first such tap (one
    # byte per output); a tap's flat index is its window's origin plus the tap's offset, both
    # linear in the coordinates (``Σ_a (o_a·s_a − lo_a + j_a·d_a)·stride_a``).
    k = len(taps)
    kind = np.uint8 if k < 2 ** 8 else np.uint16 if k < 2 ** 16 else np.uint32
    score, hit = np.zeros(best.shape, kind), np.empty(best.shape, bool)
    for j, tap in enumerate(taps):
        np.equal(tap, best, out=hit)
        np.maximum(score, np.multiply(hit, kind(k - j), dtype=kind), out=score)
    choice = np.subtract(kind(k), score, dtype=np.int64 if kind != np.uint8 else kind)
    if x.dtype.kind == "f" and np.isnan(best).any():
        for j, tap in enumerate(taps):
            np.copyto(choice, j, where=np.isnan(tap))
    origin, offset = _tap_index(x.shape[2:], geo)
    idx = origin + offset[np.minimum(choice, k - 1)]
    _, _, empty = window_taps(x.shape[2:], geo)
    np.copyto(idx, np.broadcast_to(empty, best.shape), where=best == low)
    return best, idx


def _taps(xp: np.ndarray, geo: PoolGeometry) -> list[np.ndarray]:
    """Every tap of the padded input ``xp`` as a ``(N, C, *m)`` view, in row-major tap order; the
    last axis is read from contiguous stride phases (:func:`_last_axis_taps`)."""
    last = _last_axis_taps(xp, geo.output_size[-1], geo.kernel[-1], geo.stride[-1], geo.dilation[-1])
    out = []
    for lead in itertools.product(*(range(kk) for kk in geo.kernel[:-1])):
        rows = tuple(slice(j * dd, j * dd + ss * (mm - 1) + 1, ss) for j, dd, ss, mm in
                     zip(lead, geo.dilation, geo.stride, geo.output_size))
        out += [t[(..., *rows, slice(None))] for t in last]
    return out


def _tap_index(size, geo: PoolGeometry) -> tuple[np.ndarray, np.ndarray]:
    """``(origin, offset)``: ``origin + offset[j]`` is the flat input index of tap ``j`` (row-major)
    of each window (:func:`cnnspec.spec.pooling.window_taps`'s ``flat``, separated)."""
    nd = len(size)
    plane = [math.prod(size[a + 1:]) for a in range(nd)]
    origin = np.zeros((1,) * nd, np.int64)
    offset = np.zeros((1,) * nd, np.int64)
    for a in range(nd):
        shape = [-1 if b == a else 1 for b in range(nd)]
        start = np.arange(geo.output_size[a]) * geo.stride[a] - geo.pads[a][0]
        origin = origin + (start * plane[a]).reshape(shape)
        offset = offset + (np.arange(geo.kernel[a]) * geo.dilation[a] * plane[a]).reshape(shape)
    return origin, offset.reshape(-1)


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


def _add64(a, b):
    return np.add(a, b, dtype=np.float64) if a.dtype != object else a + b


def _window_total(geo: PoolGeometry):
    """The zero-padded window sums of an array (float64, or exact objects for object input); large
    float32 arrays by the compiled gather where numba is installed (:func:`pool_sums.gathered`)."""
    return gathered(lambda a: _reduce(a, geo, 0, _add64).astype(np.float64, copy=False) if a.dtype != object
                    else _reduce(a, geo, 0, np.add), lambda size: _tap_matrix(size, geo), geo.output_size)


@functools.lru_cache(maxsize=16)
def _tap_matrix(size: tuple[int, ...], geo: PoolGeometry) -> np.ndarray:
    """Each window's taps as flat indices in the unpadded plane, ``−1`` for a tap in the padding:
    ``(Πm, Πk)`` (:func:`cnnspec.spec.pooling.window_taps`)."""
    flat, valid, _ = window_taps(size, geo)
    return np.where(valid, flat, -1).reshape(-1, flat.shape[-1])


def _tiling(x: np.ndarray, geo: PoolGeometry) -> bool:
    """Whether the windows tile the input (kernel = stride, no dilation or padding, no partial
    window at the end)."""
    return geo.kernel == geo.stride and set(geo.dilation) == {1} and not any(map(any, geo.pads)) \
        and all(m * k <= n for m, k, n in zip(geo.output_size, geo.kernel, x.shape[2:]))


def window_sums_pair(x: np.ndarray, geo: PoolGeometry) -> tuple[np.ndarray, np.ndarray | None]:
    """``(S, E)`` of every zero-padded window, ``S + E`` exact (:mod:`cnnspec.oracle.pool_sums`)."""
    tiling = _tiling(x, geo)
    return window_sums_exact(x, math.prod(geo.kernel), _window_total(geo),
                             windows_of=tiles(geo.kernel, geo.output_size) if tiling else None,
                             blocks=(tile_sums(geo.kernel, geo.output_size), geo.output_size) if tiling else None)


def window_sums(x: np.ndarray, geo: PoolGeometry) -> np.ndarray:
    """The exact sum of every zero-padded window: float64 when exact there, else ``int``/``Fraction``
    objects; IEEE semantics for windows holding ``±inf`` or NaN."""
    return exact_sum_object(*window_sums_pair(np.asarray(x), geo))


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


def divide(sums: np.ndarray, div: np.ndarray) -> np.ndarray:
    """The exact quotient ``sums / div`` rounded once to float64 (``0/0`` is NaN).

    Exact float64 operands: IEEE division rounds the exact quotient correctly (IEEE 754 §5.4.1).
    """
    return divide_pair(sums, None, div)


def avg_pool(x: np.ndarray, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
             count_include_pad: bool = True, divisor_override: int | None = None, dilation=1,
             *, torch_limits: bool = True) -> np.ndarray:
    """Average pooling over the trailing axes: exact window sum / divisor, rounded once to float64."""
    x = np.asarray(x)
    geo = pool_geometry(x.shape[2:], kernel_size, stride, padding, dilation, ceil_mode,
                        torch_limits=torch_limits)
    div = avg_divisors(x.shape[2:], geo, count_include_pad, divisor_override)
    return divide_pair(*window_sums_pair(x, geo), div)


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
    s, e = _power_sums(x, p, geo, absolute)
    return exact_sum_object(s, e), avg_divisors(x.shape[2:], geo, True)


def _power_sums(x: np.ndarray, p: float, geo: PoolGeometry, absolute: bool
                ) -> tuple[np.ndarray, np.ndarray | None]:
    """``(S, E)`` with ``S + E`` the exact window sums of the powers (:func:`lp_pool_parts`).

    The square of a float32 (float16) number is exact in float64 with at most 48 significant bits,
    its first power has 24: both are summed under :func:`~cnnspec.oracle.pool_sums.certified_sums`.
    """
    tiling = _tiling(x, geo)
    if p == 2 and tiling and x.dtype == np.float32:
        done = blocked_square_sums(x, geo.kernel, geo.output_size)
        if done is not None:
            return done
    base = np.abs(x) if absolute else x
    bits = None
    if p in (1, 2) and x.dtype in (np.float32, np.float16):
        powers, bits = np.power(base, int(p), dtype=np.float64), 24 * int(p)   # exact in float64
    elif p == int(p) and (x.dtype == object or _all_integer(x)):
        powers = _cast(base, np.dtype(object)) ** int(p)        # exact integers or Fractions
        if all(isinstance(v, int) for v in powers.flat) and _maxabs(powers) < 2 ** 53:
            powers = powers.astype(np.float64)
    else:
        with np.errstate(invalid="ignore"):
            powers = np.power(base.astype(np.float64), p)      # x^p itself is irrational: float64
    return window_sums_exact(powers, math.prod(geo.kernel), _window_total(geo), bits)


def lp_pool(x: np.ndarray, norm_type, kernel_size, stride=None, padding=0, dilation=1,
            ceil_mode: bool = False, *, convention: str = "torch", torch_limits: bool = True
            ) -> np.ndarray:
    """Power-average pooling over the trailing axes.

    ``convention="torch"`` (``torch.nn.functional.lp_pool2d``): ``(K·avg_pool(x^p))^(1/p)`` with
    ``K = Πk`` and torch's avg divisor (so a ceil-mode edge window is scaled by ``K/count``), no
    absolute value: a negative power sum (odd ``p``, negative data) gives NaN unless ``p = 1``
    (``sign(f)·relu(|f|)`` in torch's code equals ``f``); ``p = inf`` is ``max_pool(|x|)``.
    ``convention="onnx"`` (LpPool): ``(Σ |x|^p)^(1/p)`` over the zero-padded, dilated window.
    The power sums are exact for integer ``p`` on integer data, and for ``p`` = 1, 2 on float32 and
    float16 data (their squares are exact in float64); the root is rounded in float64.
    """
    p = check_norm_type(norm_type)
    if convention not in ("torch", "onnx"):
        raise PoolError(f"convention: {convention!r} must be 'torch' or 'onnx'")
    x = np.asarray(x)
    if p == math.inf:
        return max_pool(np.abs(x), kernel_size, stride, padding, dilation, ceil_mode,
                        torch_limits=torch_limits).astype(np.float64)
    geo = pool_geometry(x.shape[2:], kernel_size, stride, padding, dilation, ceil_mode,
                        torch_limits=torch_limits)
    s, e = _power_sums(x, p, geo, convention == "onnx")
    c, k = avg_divisors(x.shape[2:], geo, True), math.prod(geo.kernel)
    if convention == "torch":
        s = s * k / c if s.dtype == object else _times_k_over_c(s, e, c, k)
    elif e is not None:
        s = s + e                                # the exact S + E rounded once (one IEEE add)
    with np.errstate(invalid="ignore"):
        return np.power(np.asarray(s, np.float64), 1.0 / p)


def _times_k_over_c(s: np.ndarray, e: np.ndarray | None, c: np.ndarray, k: int) -> np.ndarray:
    """``K·(S + E)/c`` in float64: the exact sum rounded once where ``c = K`` (every window inside
    the padded input); at ceil-mode edges the exact ``(S + E)/c`` rounded once, times ``K``."""
    out = s if e is None else s + e
    if np.all(c == k):                                   # no window at a ceil-mode edge
        return out
    edge = np.nonzero(np.broadcast_to(c != k, s.shape))
    if edge[0].size:
        c = np.broadcast_to(c, s.shape)
        out[edge] = divide_pair(s[edge], None if e is None else e[edge], c[edge]) * k
    return out


def _lp_nd(nd: int, name: str):
    def op(input, norm_type, kernel_size, stride=None, ceil_mode: bool = False):
        x, unb = batched(input, nd, name)
        return unbatch(lp_pool(x, norm_type, kernel_size, stride, 0, 1, ceil_mode), unb)
    return named(op, name, f"``torch.nn.functional.{name}`` (see :func:`lp_pool`, ``convention='torch'``).")


lp_pool1d = _lp_nd(1, "lp_pool1d")
lp_pool2d = _lp_nd(2, "lp_pool2d")
lp_pool3d = _lp_nd(3, "lp_pool3d")
