"""The transposed convolution as a matrix: ``vec(y) = T(w)ᵀ vec(x)`` for the matching convolution.

A transposed (fractionally strided) convolution with stride ``s``, padding ``(p_lo, p_hi)``,
dilation ``d``, ``output_padding`` ``a`` and weight ``(C_in, C_out/g, *k)`` sends input position
``i`` with tap ``j`` to output position ``o = i·s − p_lo + j·d``. Its output size per axis is ::

    m = (n − 1)·s − p_lo − p_hi + d·(k − 1) + a + 1

and its matrix is the transpose of the convolution ``C_out → C_in`` on inputs of size ``m`` with
the same kernel, stride, padding, dilation and groups (the weight array read as
``(C_out', C_in'/g, *k)``, unchanged), restricted to that convolution's first ``n`` outputs per
axis: ``a ≥ s`` makes the convolution produce more than ``n``, and those rows meet no input here.
:class:`TransposedMatrix` derives the matrix in the scatter form directly (no transpose taken), and
:func:`transpose_of_matching` takes the transpose of :class:`~.toeplitz.ConvMatrix`; the claim
``conv.transpose.matrix`` proves the two equal.

``output_padding`` exists because a stride-``s`` convolution maps the ``s`` sizes
``m_0, m_0 + 1, …, m_0 + s − 1`` to the same ``n``; ``a`` picks one (PyTorch ``ConvTranspose2d``
docs), hence the rule ``a < max(s, d)``.

>>> T = TransposedMatrix(TransposedSpec.make(2, 3, stride=2))
>>> T.shape, T.symbolic()
((5, 2), Matrix([
[w_0_0_0,       0],
[w_0_0_1,       0],
[w_0_0_2, w_0_0_0],
[      0, w_0_0_1],
[      0, w_0_0_2]]))

References
----------
Dumoulin & Visin, *A guide to convolution arithmetic for deep learning* (2016), arXiv:1603.07285,
§4 (transposed convolution; relationship 14 and its ``a``).
PyTorch docs, ``torch.nn.ConvTranspose2d`` (shape formula; ``output_padding``).
Goodfellow, Bengio & Courville, *Deep Learning* (2016), §9.5 (the transpose of the convolution
matrix, used to backpropagate).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import sympy

from .convolution import ConvSpec, IntOrSeq, PaddingArg, SpecError, _ravel, _tuple
from .toeplitz import BilinearTable, ConvMatrix


def transposed_output_size(n: int, k: int, stride: int = 1, padding: int | tuple[int, int] = 0,
                           dilation: int = 1, output_padding: int = 0) -> int:
    """``(n−1)s − p_lo − p_hi + d(k−1) + output_padding + 1``.

    >>> transposed_output_size(16, 2, stride=2), transposed_output_size(8, 3, 2, 1, 1, 1)
    (32, 16)
    """
    lo, hi = (padding, padding) if isinstance(padding, int) else padding
    return (n - 1) * stride - lo - hi + dilation * (k - 1) + output_padding + 1


@dataclass(frozen=True)
class TransposedSpec:
    """A transposed-convolution geometry; weight ``(C_in, C_out/groups, *k)``. Build with :meth:`make`."""

    input_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    in_channels: int = 1
    out_channels: int = 1
    groups: int = 1
    stride: tuple[int, ...] = (1,)
    padding: tuple[tuple[int, int], ...] = ((0, 0),)
    dilation: tuple[int, ...] = (1,)
    output_padding: tuple[int, ...] = (0,)

    @classmethod
    def make(cls, input_size: IntOrSeq, kernel_size: IntOrSeq, *, in_channels: int = 1,
             out_channels: int = 1, groups: int = 1, stride: IntOrSeq = 1, padding: PaddingArg = 0,
             dilation: IntOrSeq = 1, output_padding: IntOrSeq = 0) -> "TransposedSpec":
        """Validated geometry (the rules of :meth:`ConvSpec.make`, plus ``0 <= a < max(s, d)``)."""
        if isinstance(padding, str):
            raise SpecError(f"padding: {padding!r}; rule: a transposed convolution takes ints or "
                            f"(lo, hi) pairs")
        probe = ConvSpec.make(input_size, 1, in_channels=out_channels, out_channels=in_channels,
                              groups=groups, stride=stride, dilation=dilation)
        nd = probe.ndim
        k = _tuple("kernel", kernel_size, nd, 1)
        a = _tuple("output-padding", output_padding, nd, 0)
        pads = ConvSpec.make((100,) * nd, 1, padding=padding).padding   # parses ints and pairs
        for ai, s, d in zip(a, probe.stride, probe.dilation):
            if not (ai < s or ai < d):
                raise SpecError(f"output-padding: {a} with stride {probe.stride} and dilation "
                                f"{probe.dilation}; rule: output_padding < max(stride, dilation)")
        spec = cls(probe.input_size, k, in_channels, out_channels, groups, probe.stride, pads,
                   probe.dilation, a)
        if any(m < 1 for m in spec.output_size):
            raise SpecError(f"padding: {pads} leaves output size {spec.output_size}; rule: "
                            f"(n-1)s - p_lo - p_hi + d(k-1) + output_padding + 1 >= 1")
        return spec

    @property
    def ndim(self) -> int:
        return len(self.input_size)

    @property
    def output_size(self) -> tuple[int, ...]:
        return tuple(transposed_output_size(*v) for v in zip(
            self.input_size, self.kernel_size, self.stride, self.padding, self.dilation,
            self.output_padding))

    @property
    def weight_shape(self) -> tuple[int, ...]:
        return (self.in_channels, self.out_channels // self.groups, *self.kernel_size)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.in_channels, *self.input_size)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (self.out_channels, *self.output_size)

    def matching(self) -> ConvSpec:
        """The convolution whose transpose this is: ``C_out → C_in`` on inputs of the output size."""
        return ConvSpec.make(self.output_size, self.kernel_size, in_channels=self.out_channels,
                             out_channels=self.in_channels, groups=self.groups, stride=self.stride,
                             padding=self.padding, dilation=self.dilation)

    def describe(self) -> str:
        x, kk = "x".join(map(str, self.input_size)), "x".join(map(str, self.kernel_size))
        return (f"transposed convolution {self.ndim}-D: input {self.in_channels}x{x}, kernel {kk}, "
                f"{self.out_channels} out-channels, groups {self.groups}, stride {self.stride}, "
                f"padding {self.padding}, dilation {self.dilation}, output_padding "
                f"{self.output_padding} -> output {'x'.join(map(str, self.output_shape))}")


def scatter_pattern(spec: TransposedSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows, cols, widx)``: input ``(c_i, i)`` and tap ``(c_o', j)`` reach output
    ``(g·C_out/g + c_o', i·s − p_lo + j·d)`` when that lies in the output (vectorised)."""
    nd = spec.ndim
    cpg_in, cpg_out = spec.in_channels // spec.groups, spec.out_channels // spec.groups
    m = spec.output_size
    grids = np.meshgrid(np.arange(spec.in_channels), np.arange(cpg_out),
                        *[np.arange(v) for v in spec.input_size],
                        *[np.arange(v) for v in spec.kernel_size], indexing="ij", copy=False)
    ci, col_, pos, taps = grids[0], grids[1], grids[2:2 + nd], grids[2 + nd:]
    keep = np.ones(ci.shape, dtype=bool)
    row = (ci // cpg_in) * cpg_out + col_
    col = ci.astype(np.int64)
    wfl = ci * cpg_out + col_
    for ax in range(nd):
        o = pos[ax] * spec.stride[ax] - spec.padding[ax][0] + taps[ax] * spec.dilation[ax]
        keep &= (o >= 0) & (o < m[ax])
        row = row * m[ax] + o
        col = col * spec.input_size[ax] + pos[ax]
        wfl = wfl * spec.kernel_size[ax] + taps[ax]
    return row[keep].astype(np.int64), col[keep].astype(np.int64), wfl[keep].astype(np.int64)


class TransposedMatrix:
    """The matrix of a transposed convolution, shape ``(n_out, n_in)``, from the scatter form."""

    def __init__(self, spec: TransposedSpec):
        self.spec = spec
        self.rows, self.cols, self.widx = scatter_pattern(spec)
        self.shape = (math.prod(spec.output_shape), math.prod(spec.input_shape))

    def symbolic(self, w: Sequence | None = None) -> sympy.SparseMatrix:
        w = list(w) if w is not None else weight_symbols(self.spec)
        return sympy.SparseMatrix(*self.shape, {(int(r), int(c)): w[int(i)] for r, c, i in
                                                zip(self.rows, self.cols, self.widx)})

    def numeric(self, w: np.ndarray):
        """``scipy.sparse`` matrix with the weight's values (exact for integer dtypes)."""
        import scipy.sparse as sp
        w = np.asarray(w).reshape(-1)
        return sp.csr_matrix((w[self.widx], (self.rows, self.cols)), shape=self.shape)

    @property
    def table(self) -> BilinearTable:
        return BilinearTable(self.rows, self.widx, self.cols, np.ones(self.rows.size, np.int64))


def weight_symbols(spec: TransposedSpec, prefix: str = "w") -> list[sympy.Symbol]:
    """``w_ci_co_j…`` over ``(C_in, C_out/g, *k)`` in C order."""
    return [sympy.Symbol(prefix + "_" + "_".join(map(str, i)))
            for i in itertools.product(*map(range, spec.weight_shape))]


def transpose_of_matching(spec: TransposedSpec) -> BilinearTable:
    """Coefficient table of ``T(w)ᵀ·x``, T the matching convolution's :class:`ConvMatrix`,
    restricted to its outputs inside the transposed op's input (``a ≥ s`` adds rows beyond)."""
    conv = spec.matching()
    T = ConvMatrix(conv)
    c, *o = np.unravel_index(T.rows, conv.output_shape)
    inside = np.ones(T.rows.size, dtype=bool)
    for ax, n in enumerate(spec.input_size):
        inside &= o[ax] < n
    flat_in = np.ravel_multi_index((c[inside], *[v[inside] for v in o]), spec.input_shape) \
        if T.rows.size else T.rows
    return BilinearTable(T.cols[inside], T.widx[inside], flat_in, np.ones(int(inside.sum()), np.int64))


def gather_formula(spec: TransposedSpec, x: Sequence | None = None, w: Sequence | None = None) -> list:
    """Every output as a sympy sum, from the gather definition ``y[o] = Σ_j x[(o + p_lo − j·d)/s]·w[j]``
    (terms with a fractional or out-of-range input index vanish): a third derivation, by output."""
    x = list(x) if x is not None else [sympy.Symbol("x_" + "_".join(map(str, i)))
                                       for i in itertools.product(*map(range, spec.input_shape))]
    w = list(w) if w is not None else weight_symbols(spec)
    cpg_in, cpg_out = spec.in_channels // spec.groups, spec.out_channels // spec.groups
    out = []
    for co in range(spec.out_channels):
        g, cl = divmod(co, cpg_out)
        for o in itertools.product(*map(range, spec.output_size)):
            terms = []
            for ci in range(g * cpg_in, (g + 1) * cpg_in):
                for j in itertools.product(*map(range, spec.kernel_size)):
                    num = [oi + p[0] - ji * d for oi, p, ji, d in
                           zip(o, spec.padding, j, spec.dilation)]
                    if any(v % s or not 0 <= v // s < n for v, s, n in
                           zip(num, spec.stride, spec.input_size)):
                        continue
                    i = tuple(v // s for v, s in zip(num, spec.stride))
                    terms.append(x[_ravel((ci, *i), spec.input_shape)] *
                                 w[_ravel((ci, cl, *j), spec.weight_shape)])
            out.append(sympy.Add(*terms))
    return out
