"""Padding as a matrix: ``T_mode = T_valid · R_mode``, and what that does to the Toeplitz structure.

A layer with ``padding_mode`` reflect, replicate or circular (``nn.Conv2d``) pads first and then
convolves without padding. Padding is linear, so it is a matrix ``R`` of shape ``(n+lo+hi, n)``
with one 1 per row (zero padding: a zero row instead): row ``i`` copies input ``src(i)``, with
``j = i − lo`` and ::

    constant  src = j if 0 <= j < n, else no entry (a zero row)
    reflect   src = −j if j < 0;  2(n−1) − j if j >= n   (the edge is not repeated; pad < n)
    replicate src = clip(j, 0, n−1)
    circular  src = j mod n                              (pad <= n: one wrap)

In N-D, ``R`` is the Kronecker product of the axes' ``R`` (C order), the identity over channels.
The layer's matrix is then ``T_mode = T_valid(n + lo + hi) · R``: a column of ``T_valid`` that reads
a padded position is added to the column of its source. Consequences, each a claim:

* zero padding keeps ``T`` Toeplitz (columns of the padding dropped);
* reflect and replicate change exactly the rows whose window has a tap in the padding: there an
  entry is a *sum* of taps (replicate: ``w_0 + w_1`` at the edge), and the row is no longer a shift
  of its neighbours; every other row is the zero-padded Toeplitz row;
* circular padding with ``lo + hi = d(k−1)`` and stride 1 gives a circulant matrix exactly (doubly
  block circulant in 2-D): the circular convolution of :mod:`cnnspec.spec.equivariance`.

SAME padding (:func:`same_pads`) makes the output ``ceil(n/s)`` with total
``max((ceil(n/s)−1)·s + d(k−1) + 1 − n, 0)``; SAME_UPPER (TensorFlow, ONNX's default SAME, torch's
``'same'``) puts the odd pixel on the high side, SAME_LOWER on the low side.

>>> pad_matrix(3, 2, 1, "reflect").tolist()
[[0, 0, 1], [0, 1, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0]]
>>> same_pads(6, 4, stride=1, upper=True), same_pads(6, 4, stride=1, upper=False)
((1, 2), (2, 1))

References
----------
PyTorch docs, ``torch.nn.functional.pad`` and ``torch.nn.Conv2d`` (``padding_mode``).
ONNX operator docs, ``Conv`` (``auto_pad``: SAME_UPPER / SAME_LOWER) and ``Pad`` (modes).
Gray, *Toeplitz and Circulant Matrices: A Review* (2006), §3 (circulant matrices).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import scipy.sparse as sp

from .convolution import ConvSpec, SpecError
from .toeplitz import BilinearTable, ConvMatrix

MODES: tuple[str, ...] = ("constant", "reflect", "replicate", "circular")


def source_index(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """``src(i)`` for every padded position ``i`` (−1: no source, a zero of constant padding)."""
    if mode not in MODES:
        raise SpecError(f"padding-mode: {mode!r} is not one of {', '.join(MODES)}")
    if mode == "reflect" and max(lo, hi) >= n:
        raise SpecError(f"padding: ({lo}, {hi}) with input size {n}; rule: reflect padding must be "
                        f"smaller than the input (pad < {n})")
    if mode == "circular" and max(lo, hi) > n:
        raise SpecError(f"padding: ({lo}, {hi}) with input size {n}; rule: circular padding wraps "
                        f"at most once (pad <= {n})")
    j = np.arange(-lo, n + hi)
    if mode == "constant":
        return np.where((j >= 0) & (j < n), j, -1)
    if mode == "reflect":
        return np.where(j < 0, -j, np.where(j >= n, 2 * (n - 1) - j, j))
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    return j % n


def pad_matrix(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """``R`` along one axis: shape ``(n + lo + hi, n)``, 0/1, ``R[i, src(i)] = 1``."""
    src = source_index(n, lo, hi, mode)
    R = np.zeros((n + lo + hi, n), dtype=np.int64)
    rows = np.flatnonzero(src >= 0)
    R[rows, src[rows]] = 1
    return R


def pad_operator(spec: ConvSpec, mode: str) -> sp.csr_matrix:
    """``R`` for the whole input ``(C_in, *n)``: ``I_C ⊗ R_1 ⊗ … ⊗ R_nd`` (sparse, int64)."""
    R = sp.identity(spec.in_channels, dtype=np.int64, format="csr")
    for n, (lo, hi) in zip(spec.input_size, spec.padding):
        R = sp.kron(R, sp.csr_matrix(pad_matrix(n, lo, hi, mode)), format="csr")
    return R


def valid_spec(spec: ConvSpec) -> ConvSpec:
    """The same layer on the padded input, with no padding (what runs after ``F.pad``)."""
    return ConvSpec.make(tuple(n + lo + hi for n, (lo, hi) in zip(spec.input_size, spec.padding)),
                         spec.kernel_size, in_channels=spec.in_channels,
                         out_channels=spec.out_channels, groups=spec.groups, stride=spec.stride,
                         dilation=spec.dilation, convolution=spec.convolution)


def padded_table(spec: ConvSpec, mode: str) -> BilinearTable:
    """Coefficient table of ``T_valid · R_mode``: each padded column moved to its source column.

    Entries that land on the same input add up (their coefficient table coalesces), so a table row
    may hold ``w_0 + w_2`` on one input: the matrix entry is that sum.
    """
    T = ConvMatrix(valid_spec(spec))
    R = pad_operator(spec, mode).tocsr()
    src = np.full(R.shape[0], -1, dtype=np.int64)
    src[R.nonzero()[0]] = R.nonzero()[1]
    cols = src[T.cols]
    keep = cols >= 0
    return BilinearTable(T.rows[keep], T.widx[keep], cols[keep], np.ones(int(keep.sum()), np.int64))


def rows_touching_padding(spec: ConvSpec) -> np.ndarray:
    """Flat output indices whose window has at least one tap in the padding (sorted)."""
    touch = np.zeros(spec.output_size, dtype=bool)
    for ax, (n, k, s, (lo, _), d, m) in enumerate(zip(spec.input_size, spec.kernel_size, spec.stride,
                                                      spec.padding, spec.dilation, spec.output_size)):
        pos = np.arange(m)[:, None] * s - lo + np.arange(k)[None, :] * d
        edge = ((pos < 0) | (pos >= n)).any(axis=1)
        shape = [1] * spec.ndim
        shape[ax] = m
        touch = touch | edge.reshape(shape)
    per_channel = np.flatnonzero(touch.reshape(-1))
    size = touch.size
    return np.concatenate([c * size + per_channel for c in range(spec.out_channels)])


def changed_rows(a: BilinearTable, b: BilinearTable, n_rows: int) -> np.ndarray:
    """Rows on which two tables differ (sorted flat indices)."""
    def row_sets(t):
        out: list[set] = [set() for _ in range(n_rows)]
        for r, i, c, v in zip(*t.arrays()):
            out[int(r)].add((int(i), int(c), int(v)))
        return out
    ra, rb = row_sets(a), row_sets(b)
    return np.array([r for r in range(n_rows) if ra[r] != rb[r]], dtype=np.int64)


def dense_from_table(t: BilinearTable, shape: tuple[int, int], w: Sequence):
    """The sympy matrix whose entry ``(r, c)`` is ``Σ coef·w[widx]`` over the table's terms."""
    import sympy
    M = sympy.zeros(*shape)
    for r, i, c, v in zip(*t.arrays()):
        M[int(r), int(c)] += int(v) * w[int(i)]
    return M


def same_pads(n: int, k: int, stride: int = 1, dilation: int = 1, upper: bool = True) -> tuple[int, int]:
    """SAME padding ``(lo, hi)`` along one axis: output ``ceil(n/s)``; the odd pixel high (UPPER)
    or low (LOWER). Equals :func:`~.convolution.mode_padding` ``'same'`` for ``upper=True``."""
    out = -(-n // stride)
    total = max((out - 1) * stride + dilation * (k - 1) + 1 - n, 0)
    return (total // 2, total - total // 2) if upper else (total - total // 2, total // 2)
