"""Exact adaptive and global pooling: each output reduces its own window ``[⌊i·n/m⌋, ⌈(i+1)·n/m⌉)``.

Windows differ in size by at most one along an axis. Max pooling gathers every window padded to
the largest size ``K`` along each axis (positions clipped, a validity mask beside them) and
reduces once: the max with torch's index (first maximum; last NaN; see :mod:`cnnspec.oracle.pool`).
Average pooling sums each window's box one axis at a time (global pooling: one reshape and one sum
per plane; large float32 arrays with numba: a compiled gather over each window's taps), exactly
(:mod:`cnnspec.oracle.pool_sums`), and divides by the window's size: the rational rounded once to
float64. Global pooling is adaptive pooling to size 1.

References
----------
PyTorch ``aten/src/ATen/native/AdaptivePooling.h`` (``start_index``, ``end_index``),
``cpu/AdaptiveAvgPoolKernel.cpp``, ``cpu/AdaptiveMaxPoolKernel.cpp``; ONNX operators
GlobalAveragePool, GlobalMaxPool.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..spec.pooling import adaptive_output_size, adaptive_windows
from .pool import argmax_torch, avg_pool, batched, max_pool, named, unbatch
from .pool_sums import divide_pair, gathered, plane_sums, row_sums, tiles, window_sums_exact


def adaptive_gather(x: np.ndarray, output_size) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(v, valid, flat, count)``: ``v`` of shape ``(N, C, *m, K)`` holds every window's taps in
    row-major order (clipped positions where ``valid`` is False), ``flat`` their flat input index,
    ``count`` the window sizes ``(*m)``."""
    idx, valid, flat, count = _windows(x.shape[2:], adaptive_output_size(x.shape[2:], output_size))
    v = x[(slice(None), slice(None), *idx)]                    # (N, C, *m, *k)
    return v.reshape(*v.shape[:2], *valid.shape), valid, flat, count


@functools.lru_cache(maxsize=16)
def _windows(n: tuple[int, ...], m: tuple[int, ...]):
    """``(positions, valid, flat, count)`` of the adaptive windows of a plane ``n`` pooled to
    ``m``, each padded to the largest size ``K`` per axis: per axis the tap positions (clipped to
    the plane) shaped to broadcast to ``(*m, *k)``; whether each tap is a real one and its flat
    index, ``(*m, K)``; the window sizes ``(*m)``."""
    nd = len(n)
    idx, valid, flat, count = [], np.ones((1,) * 2 * nd, bool), np.zeros((1,) * 2 * nd, np.int64), 1
    for a in range(nd):
        start, end = adaptive_windows(n[a], m[a])
        k = int((end - start).max())
        pos = start[:, None] + np.arange(k)[None, :]
        ok = pos < end[:, None]
        shape = [1] * 2 * nd
        shape[a], shape[nd + a] = m[a], k
        clipped = np.minimum(pos, n[a] - 1).reshape(shape)
        idx.append(clipped)
        valid = valid & ok.reshape(shape)
        flat = flat + clipped * math.prod(n[a + 1:])
        count = np.multiply.outer(count, end - start) if a else end - start
    win = tuple(np.broadcast_shapes(valid.shape, flat.shape))
    full = (*win[:nd], math.prod(win[nd:]))
    return (idx, np.broadcast_to(valid, win).reshape(full), np.broadcast_to(flat, win).reshape(full),
            np.asarray(count, np.int64))


@functools.lru_cache(maxsize=16)
def _tap_matrix(n: tuple[int, ...], m: tuple[int, ...]) -> np.ndarray:
    """The adaptive windows' taps as flat indices, ``−1`` past a shorter window: ``(Πm, K)``."""
    _, valid, flat, _ = _windows(n, m)
    return np.where(valid, flat, -1).reshape(-1, flat.shape[-1])


def _divides(x: np.ndarray, output_size) -> tuple[int, ...] | None:
    """``n/m`` per axis when every output size divides its input size (the windows are then those
    of pooling with ``kernel_size = stride = n/m``: the claim ``pool.adaptive.divides``)."""
    n = x.shape[2:]
    m = adaptive_output_size(n, output_size)
    return tuple(a // b for a, b in zip(n, m)) if all(a % b == 0 for a, b in zip(n, m)) else None


def adaptive_avg_pool(x: np.ndarray, output_size) -> np.ndarray:
    """Adaptive average pooling over the trailing ``x.ndim − 2`` axes, exactly (rounded once).

    Global pooling (every output size 1) is one reshape and one sum per plane; sizes that divide
    are pooling with ``kernel = stride = n/m``; other sizes sum each window's box axis by axis. Each sum is exact (:func:`cnnspec.oracle.pool_sums.window_sums_exact`).
    """
    x = np.asarray(x)
    n = x.shape[2:]
    m = adaptive_output_size(n, output_size)
    if all(v == 1 for v in m):
        plane = math.prod(n)
        s, e = window_sums_exact(x, plane, lambda a: row_sums(a.reshape(*a.shape[:2], plane)).reshape(
            *a.shape[:2], *m), windows_of=tiles(n, m), blocks=(plane_sums, m))
        return divide_pair(s, e, np.int64(plane))
    k = _divides(x, output_size)
    if k is not None:
        return avg_pool(x, k)
    count = _outer([e - s for s, e in (adaptive_windows(a, b) for a, b in zip(n, m))])
    s, e = window_sums_exact(x, int(count.max()), gathered(lambda a: _box_sums(a, m),
                                                           lambda size: _tap_matrix(tuple(size), tuple(m)), m))
    return divide_pair(s, e, count)


def _outer(per_axis: list[np.ndarray]) -> np.ndarray:
    out = per_axis[0]
    for c in per_axis[1:]:
        out = np.multiply.outer(out, c)
    return np.asarray(out, np.int64)


def _box_sums(x: np.ndarray, m) -> np.ndarray:
    """The sum over every adaptive window (a box: a product of intervals), one axis at a time: per
    axis, tap ``j`` of window ``i`` is entry ``start_i + j``, masked where the window is shorter.
    Float32 data add into float64, objects exactly."""
    y = x
    for a, mm in enumerate(m):
        axis = 2 + a
        start, end = adaptive_windows(x.shape[axis], mm)
        shape = [1] * y.ndim
        shape[axis] = mm
        acc = None
        for j in range(int((end - start).max())):
            t = np.take(y, np.minimum(start + j, x.shape[axis] - 1), axis=axis)
            if j >= int((end - start).min()):
                t = np.where((start + j < end).reshape(shape), t, np.zeros((), t.dtype))
            acc = t.astype(np.float64 if t.dtype != object else object) if acc is None \
                else np.add(acc, t, dtype=acc.dtype)
        y = acc
    return y


def adaptive_max_pool(x: np.ndarray, output_size, return_indices: bool = False):
    """Adaptive max pooling over the trailing axes; with torch's int64 flat indices."""
    x = np.asarray(x)
    k = _divides(x, output_size)
    if k is not None:
        return max_pool(x, k, return_indices=return_indices)
    v, valid, flat, _ = adaptive_gather(x, output_size)
    low = np.iinfo(x.dtype).min if x.dtype.kind in "iu" else -np.inf
    v = np.where(valid, v, low).astype(x.dtype)
    if not return_indices:
        return v.max(axis=-1)
    return v.max(axis=-1), argmax_torch(v, flat, valid)


def _avg_nd(nd: int, name: str):
    def op(input, output_size):
        x, unb = batched(input, nd, name)
        return unbatch(adaptive_avg_pool(x, output_size), unb)
    return named(op, name, f"``torch.nn.functional.{name}``: exact window means rounded once to float64.")


def _max_nd(nd: int, name: str):
    def op(input, output_size, return_indices: bool = False):
        x, unb = batched(input, nd, name)
        return unbatch(adaptive_max_pool(x, output_size, return_indices), unb)
    return named(op, name, f"``torch.nn.functional.{name}``: exact maxima; with ``return_indices`` "
                           f"torch's int64 flat indices (first maximum; last NaN).")


adaptive_avg_pool1d = _avg_nd(1, "adaptive_avg_pool1d")
adaptive_avg_pool2d = _avg_nd(2, "adaptive_avg_pool2d")
adaptive_avg_pool3d = _avg_nd(3, "adaptive_avg_pool3d")
adaptive_max_pool1d = _max_nd(1, "adaptive_max_pool1d")
adaptive_max_pool2d = _max_nd(2, "adaptive_max_pool2d")
adaptive_max_pool3d = _max_nd(3, "adaptive_max_pool3d")


def global_avg_pool(x: np.ndarray) -> np.ndarray:
    """ONNX GlobalAveragePool: the exact mean over all spatial axes, kept as size-1 axes."""
    x = np.asarray(x)
    return adaptive_avg_pool(x, (1,) * (x.ndim - 2))


def global_max_pool(x: np.ndarray) -> np.ndarray:
    """ONNX GlobalMaxPool: the max over all spatial axes, kept as size-1 axes."""
    x = np.asarray(x)
    return adaptive_max_pool(x, (1,) * (x.ndim - 2))
