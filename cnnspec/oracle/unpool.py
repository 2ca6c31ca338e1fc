"""Exact max unpooling: zeros of the unpooled size, each value written at its index.

``max_unpool(y, idx)`` is the partial inverse of max pooling with ``return_indices``: it scatters
each pooled value to the flat position (in the output's spatial plane) that its index names and
leaves zeros elsewhere. Indices must be int64 and lie in ``[0, Π output_size)`` (torch raises
"Found an invalid max index" otherwise). When two indices of one plane coincide (overlapping
windows sharing a maximum), torch documents the result as nondeterministic (the ``MaxUnpool2d``
note; pytorch/pytorch#80827); the oracle keeps the value that comes last in row-major order, so a
comparison with any target must use distinct indices or accept any of the colliding values
(:func:`colliding`).

>>> import numpy as np
>>> x = np.array([[[[1., 5., 2., 0.], [3., 4., 8., 6.]]]])
>>> from cnnspec.oracle.pool import max_pool2d
>>> y, i = max_pool2d(x, 2, return_indices=True)
>>> y.tolist(), i.tolist()
([[[[5.0, 8.0]]]], [[[[1, 6]]]])
>>> max_unpool2d(y, i, 2).tolist()
[[[[0.0, 5.0, 0.0, 0.0], [0.0, 0.0, 8.0, 0.0]]]]

References
----------
``torch.nn.functional.max_unpool1d/2d/3d`` and ``_unpool_output_size``;
PyTorch ``aten/src/ATen/native/cpu/MaxUnpoolKernel.cpp``; ONNX operator MaxUnpool.
"""
from __future__ import annotations

import math

import numpy as np

from ..spec.pooling import PoolError, unpool_output_size
from .pool import batched, named, unbatch


def check_indices(indices, values_shape, plane: int) -> np.ndarray:
    """``indices`` as int64 of the values' shape, each in ``[0, plane)``; else :class:`PoolError`."""
    idx = np.asarray(indices)
    if idx.dtype != np.int64:
        raise PoolError(f"indices: dtype {idx.dtype} must be int64 (torch's index dtype)")
    if idx.shape != tuple(values_shape):
        raise PoolError(f"indices: shape {idx.shape} must equal the input's shape {tuple(values_shape)}")
    if idx.size and (idx.min() < 0 or idx.max() >= plane):
        bad = int(idx.min()) if idx.min() < 0 else int(idx.max())
        raise PoolError(f"indices: {bad} is outside [0, {plane}) (the output's spatial plane)")
    return idx


def max_unpool(x: np.ndarray, indices, kernel_size, stride=None, padding=0,
               output_size=None) -> np.ndarray:
    """Max unpooling over the trailing ``x.ndim − 2`` axes of ``(N, C, *m)``."""
    x = np.asarray(x)
    n, c, *m = x.shape
    out = unpool_output_size(m, kernel_size, stride, padding, output_size)
    plane = math.prod(out)
    idx = check_indices(indices, x.shape, plane).reshape(n * c, -1)
    target = (idx + plane * np.arange(n * c)[:, None]).ravel()
    values = x.reshape(-1)
    y = np.zeros(n * c * plane, x.dtype)
    y[target] = values
    # the last occurrence of every target in row-major order wins, without trusting the order in
    # which NumPy's fancy assignment stores repeated indices: where every value reads back
    # bit for bit, the values sharing a target are equal and any order gives the same result;
    # the targets that disagree are written again, explicitly, from their last occurrence
    lost = ~_same_bits(y[target], values)
    if lost.any():
        sel = np.nonzero(np.isin(target, target[lost]))[0]
        uniq, first_rev = np.unique(target[sel][::-1], return_index=True)
        y[uniq] = values[sel[::-1][first_rev]]
    return y.reshape(n, c, *out)


def _same_bits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise identity: float bit patterns (NaN = NaN, 0 ≠ −0), else ``==``."""
    if a.dtype.kind == "f":
        u = np.dtype(f"u{a.dtype.itemsize}")
        return a.view(u) == b.view(u)
    return a == b


def colliding(indices) -> np.ndarray:
    """A mask of the indices that share their target with another index of the same plane."""
    idx = np.asarray(indices)
    planes = idx.reshape(idx.shape[0] * idx.shape[1], -1)
    key = planes + (int(planes.max(initial=0)) + 1) * np.arange(len(planes))[:, None]
    _, inv, cnt = np.unique(key.ravel(), return_inverse=True, return_counts=True)
    return (cnt[inv.ravel()] > 1).reshape(idx.shape)


def _unpool_nd(nd: int, name: str):
    def op(input, indices, kernel_size, stride=None, padding=0, output_size=None):
        x, unb = batched(input, nd, name)
        i = np.asarray(indices)
        return unbatch(max_unpool(x, i[None] if unb else i, kernel_size, stride, padding, output_size), unb)
    return named(op, name, f"``torch.nn.functional.{name}``: zeros with each value at its index "
                           f"(last one wins where indices repeat).")


max_unpool1d = _unpool_nd(1, "max_unpool1d")
max_unpool2d = _unpool_nd(2, "max_unpool2d")
max_unpool3d = _unpool_nd(3, "max_unpool3d")


def max_pool_backward(grad_output: np.ndarray, indices, input_size) -> np.ndarray:
    """The gradient of max pooling with respect to its input: every output's gradient added at its
    index, ``G_Iᵀ·g`` (the adjoint of the gather by the indices; :mod:`cnnspec.spec.pool_claims`,
    ``pool.unpool.adjoint``). Unlike :func:`max_unpool`, repeated indices add up.

    Sums in float64: exact on integer-valued gradients (``torch.ones_like``, the OpInfo samples)
    and whenever no position collects more than ``2^53 / max|g|`` of them. A window without a real
    entry (dilated taps all in the padding) has a constant ``−inf`` output and no gradient; torch's
    index for it points past the window, so such indices must not be passed here (measured on
    torch 2.13 CPU: ``max_pool2d`` of a 2×1 input, kernel (1, 2), padding (0, 1), dilation (1, 2)
    returns indices [1, 2] for two empty windows, and its backward adds 1 to the real entry 1 and
    writes past the plane for index 2).
    """
    g = np.asarray(grad_output)
    n, c = g.shape[:2]
    plane = math.prod(input_size)
    idx = check_indices(indices, g.shape, plane).reshape(n * c, -1)
    keys = (idx + plane * np.arange(n * c)[:, None]).ravel()
    out = np.bincount(keys, weights=g.reshape(-1).astype(np.float64), minlength=n * c * plane)
    return out.reshape(n, c, *input_size).astype(g.dtype)
