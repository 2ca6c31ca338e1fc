"""Convolution as a matrix product: ``vec(s) = T(w) vec(u)`` and ``vec(s) = U(u) vec(w)``.

The lecture: a convolutional layer is a fully connected layer "for a specific kind of weight
matrix W": Toeplitz in 1-D, doubly block Toeplitz in 2-D, block-diagonal over groups. This module
derives that matrix for any :class:`~cnnspec.spec.convolution.ConvSpec`, exactly, in a form that
scales to real layers: the *pattern* ``(row, col, widx)`` says that entry ``T[row, col]`` is the
weight ``w[widx]`` (each entry is a single weight, since distinct taps of one window read distinct
inputs). From the pattern come

* the symbolic matrix (entries are weight symbols; ``sympy.SparseMatrix`` for small cases),
* the exact sparse numeric matrix (``scipy.sparse`` with integer entries, or Python ``Fraction``
  arithmetic through :meth:`ConvMatrix.apply`),
* the im2col form ``U(u)`` with ``U[row, widx] = u[col]``,
* the bilinear coefficient table of ``T(w)·u`` over monomials ``w_i·u_j``: two bilinear forms are
  equal exactly when these tables are equal, which decides symbolic identities on layers with
  millions of non-zeros in linear time.

>>> from cnnspec.spec.convolution import ConvSpec
>>> T = ConvMatrix(ConvSpec.make(4, 2))
>>> T.symbolic()
Matrix([
[w_0_0_0, w_0_0_1,       0,       0],
[      0, w_0_0_0, w_0_0_1,       0],
[      0,       0, w_0_0_0, w_0_0_1]])

References
----------
Goodfellow, Bengio & Courville, *Deep Learning* (2016), §9.1 (Toeplitz and doubly block circulant).
Chellapilla, Puri & Simard, *High performance convolutional neural networks for document
processing* (2006) — the unrolled (im2col) form.
"""
from __future__ import annotations

from fractions import Fraction
from functools import cached_property
from typing import Sequence

import numpy as np
import scipy.sparse as sp
import sympy

from .convolution import ConvSpec, SpecError, input_symbols, weight_symbols


def _axis_grids(spec: ConvSpec) -> list[np.ndarray]:
    """Per axis, the input position read by (output o, tap j): ``o·s − p_lo + j·d`` (shape (m, k))."""
    grids = []
    for n, k, s, p, d, m in zip(spec.input_size, spec.kernel_size, spec.stride, spec.padding,
                                spec.dilation, spec.output_size):
        grids.append(np.arange(m)[:, None] * s - p[0] + np.arange(k)[None, :] * d)
    return grids


def conv_pattern(spec: ConvSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows, cols, widx)`` of ``T(w)``: ``T[rows[i], cols[i]] = w.flat[widx[i]]``.

    Enumerated over kernel taps, vectorised over every output position at once: for output
    ``(co, o)`` and tap ``(c, j)`` the input read is ``(g·C_in/g + c, o·s − p + j·d)``; taps that
    fall in the zero padding are dropped (circular padding wraps them instead).
    """
    nd = spec.ndim
    m, k = spec.output_size, spec.kernel_size
    # Broadcast over (out-channel, in-channel-in-group, o_1..o_nd, j_1..j_nd).
    cpg_in, cpg_out = spec.in_channels // spec.groups, spec.out_channels // spec.groups
    shape = (spec.out_channels, cpg_in, *m, *k)
    full = lambda arr, axes: np.broadcast_to(  # noqa: E731
        arr.reshape([arr.shape[axes.index(a)] if a in axes else 1 for a in range(len(shape))]), shape)
    co = np.arange(spec.out_channels)
    cl = np.arange(cpg_in)
    ci = full((co // cpg_out)[:, None] * cpg_in + cl[None, :], [0, 1])
    valid = np.ones(shape, dtype=bool)
    in_flat = ci.astype(np.int64)
    out_flat = full(co, [0]).astype(np.int64)
    w_flat = full(co, [0]) * cpg_in + full(cl, [1])
    for ax, grid in enumerate(_axis_grids(spec)):
        pos = full(grid, [2 + ax, 2 + nd + ax])
        n = spec.input_size[ax]
        if spec.padding_mode == "circular":
            pos = pos % n
        else:
            valid &= (pos >= 0) & (pos < n)
        in_flat = in_flat * n + pos
        out_flat = out_flat * m[ax] + full(np.arange(m[ax]), [2 + ax])
        j = np.arange(k[ax])
        w_flat = w_flat * k[ax] + full(j[::-1] if spec.convolution else j, [2 + nd + ax])
    return out_flat[valid].astype(np.int64), in_flat[valid].astype(np.int64), w_flat[valid].astype(np.int64)


class ConvMatrix:
    """The convolution matrix ``T(w)`` of a geometry, shape ``(n_out, n_in)``, held as its pattern."""

    def __init__(self, spec: ConvSpec):
        self.spec = spec
        self.rows, self.cols, self.widx = conv_pattern(spec)
        self.shape = (spec.n_out, spec.n_in)

    @property
    def nnz(self) -> int:
        return int(self.rows.size)

    # --- representations ---------------------------------------------------------------------
    def symbolic(self, w: Sequence | None = None) -> sympy.SparseMatrix:
        """``T(w)`` with symbolic entries (default: :func:`weight_symbols`)."""
        w = list(w) if w is not None else weight_symbols(self.spec)
        entries = {(int(r), int(c)): w[int(i)] for r, c, i in zip(self.rows, self.cols, self.widx)}
        return sympy.SparseMatrix(*self.shape, entries)

    def numeric(self, w: np.ndarray, dtype=None) -> sp.csr_matrix:
        """``T(w)`` as a scipy sparse matrix; exact for integer dtypes (duplicates are summed)."""
        w = np.asarray(w).reshape(-1)
        if w.size != self.spec.n_weights:
            raise SpecError(f"weight: {w.size} entries, the geometry needs {self.spec.n_weights}")
        vals = w[self.widx].astype(dtype) if dtype is not None else w[self.widx]
        return sp.csr_matrix((vals, (self.rows, self.cols)), shape=self.shape)

    def pattern_matrix(self) -> sp.csr_matrix:
        """The 0/1 pattern (which input each output reads), as int64 counts."""
        return sp.csr_matrix((np.ones(self.nnz, np.int64), (self.rows, self.cols)), shape=self.shape)

    def apply(self, w: Sequence, u: Sequence) -> np.ndarray:
        """``T(w)·u`` in exact arithmetic: Python ints or ``Fraction``\\ s (object arrays), no rounding."""
        w = np.asarray(list(map(_exact, np.asarray(w, dtype=object).reshape(-1))), dtype=object)
        u = np.asarray(list(map(_exact, np.asarray(u, dtype=object).reshape(-1))), dtype=object)
        out = np.zeros(self.shape[0], dtype=object)
        out[:] = 0
        np.add.at(out, self.rows, w[self.widx] * u[self.cols])
        return out

    def im2col(self, u: Sequence) -> sympy.SparseMatrix:
        """``U(u)``, shape ``(n_out, n_weights)``, with ``vec(s) = U(u)·vec(w)`` (symbolic)."""
        u = list(u) if u is not None else input_symbols(self.spec)
        entries = {(int(r), int(i)): u[int(c)] for r, c, i in zip(self.rows, self.cols, self.widx)}
        return sympy.SparseMatrix(self.shape[0], self.spec.n_weights, entries)

    @cached_property
    def table(self) -> "BilinearTable":
        """Coefficient table of ``T(w)·u``: monomial ``w[widx]·u[col]`` in output ``row``."""
        return BilinearTable(self.rows, self.widx, self.cols, np.ones(self.nnz, np.int64))


def _exact(v):
    if isinstance(v, (int, Fraction)):
        return v
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return Fraction(float(v))  # every binary float is a rational, exactly
    if isinstance(v, sympy.Rational):
        return Fraction(int(v.p), int(v.q))
    raise SpecError(f"value {v!r} is not an integer, rational or float; exact arithmetic needs numbers")


class BilinearTable:
    """A bilinear form ``Σ c · w_i · u_j`` per output row, as coalesced, sorted coefficient arrays.

    Two bilinear forms (vectors of them) are identical polynomials exactly when their tables are
    equal; comparison costs a sort, linear-logarithmic in the number of terms.
    """

    def __init__(self, rows, widx, cols, coef):
        rows, widx, cols, coef = (np.asarray(a, dtype=np.int64).reshape(-1) for a in (rows, widx, cols, coef))
        if rows.size:
            nw, nc = int(widx.max()) + 1, int(cols.max()) + 1
            if (int(rows.max()) + 1) * nw * nc < 2**62:     # one int64 key per monomial: one sort
                key = (rows * nw + widx) * nc + cols
                order = np.argsort(key, kind="stable")
                key = key[order]
                new = np.ones(key.size, dtype=bool)
                new[1:] = key[1:] != key[:-1]
            else:
                order = np.lexsort((cols, widx, rows))
                r, i, c = rows[order], widx[order], cols[order]
                new = np.ones(r.size, dtype=bool)
                new[1:] = (r[1:] != r[:-1]) | (i[1:] != i[:-1]) | (c[1:] != c[:-1])
            rows, widx, cols, coef = rows[order], widx[order], cols[order], coef[order]
            starts = np.flatnonzero(new)
            if starts.size != rows.size:                     # coalesce repeated monomials
                coef = np.add.reduceat(coef, starts)
                rows, widx, cols = rows[starts], widx[starts], cols[starts]
            keep = coef != 0
            if not keep.all():
                rows, widx, cols, coef = rows[keep], widx[keep], cols[keep], coef[keep]
        self.rows, self.widx, self.cols, self.coef = rows, widx, cols, coef

    def __len__(self) -> int:
        return int(self.rows.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BilinearTable):
            return NotImplemented
        return len(self) == len(other) and all(
            np.array_equal(a, b) for a, b in zip(self.arrays(), other.arrays()))

    def arrays(self) -> tuple[np.ndarray, ...]:
        return self.rows, self.widx, self.cols, self.coef

    def first_difference(self, other: "BilinearTable") -> tuple[int, int, int, int, int] | None:
        """``(row, widx, col, coef_self, coef_other)`` of the first monomial that differs, or None."""
        a = {(int(r), int(i), int(c)): int(v) for r, i, c, v in zip(*self.arrays())}
        b = {(int(r), int(i), int(c)): int(v) for r, i, c, v in zip(*other.arrays())}
        for key in sorted(set(a) | set(b)):
            if a.get(key, 0) != b.get(key, 0):
                return (*key, a.get(key, 0), b.get(key, 0))
        return None

    @classmethod
    def from_expressions(cls, exprs: Sequence, w: Sequence, u: Sequence) -> "BilinearTable":
        """Table of sympy expressions that are bilinear in the symbols ``w`` and ``u``."""
        wi = {s: i for i, s in enumerate(w)}
        ui = {s: j for j, s in enumerate(u)}
        rows, widx, cols, coef = [], [], [], []
        for r, e in enumerate(exprs):
            for mono, c in sympy.expand(e).as_coefficients_dict().items():
                fac = mono.as_ordered_factors() if mono != 1 else []
                ws = [f for f in fac if f in wi]
                us = [f for f in fac if f in ui]
                if len(ws) != 1 or len(us) != 1 or len(fac) != 2 or not c.is_Integer:
                    raise SpecError(f"row {r}: term {c}*{mono} is not an integer multiple of w_i*u_j")
                rows.append(r); widx.append(wi[ws[0]]); cols.append(ui[us[0]]); coef.append(int(c))
        return cls(rows, widx, cols, coef)


def sum_formula_table(spec: ConvSpec) -> BilinearTable:
    """The coefficient table of the definition's sum (:func:`~.convolution.sum_formula`), vectorised.

    Like ``sum_formula`` it sums over *input positions* ``a`` of each output's window span and keeps
    the terms whose kernel index ``(a − o·s + p)/d`` (or, for convolution,
    ``(o·s − p + d(k−1) − a)/d``) is a whole number in ``[0, k)``; it never enumerates kernel taps.
    Cost: ``n_out · C_in/g · Π span`` with ``span = d(k−1)+1``.
    """
    nd = spec.ndim
    cpg_in, cpg_out = spec.in_channels // spec.groups, spec.out_channels // spec.groups
    m = spec.output_size
    spans = [d * (k - 1) + 1 for d, k in zip(spec.dilation, spec.kernel_size)]
    co, cl, *rest = np.meshgrid(np.arange(spec.out_channels), np.arange(cpg_in),
                                *[np.arange(v) for v in m], *[np.arange(v) for v in spans],
                                indexing="ij", copy=False)
    o, off = rest[:nd], rest[nd:]
    keep = np.ones(co.shape, dtype=bool)
    row = co.astype(np.int64)
    col = (co // cpg_out) * cpg_in + cl
    wfl = co * cpg_in + cl
    for ax in range(nd):
        s, (pl, _), d, k, n = (spec.stride[ax], spec.padding[ax], spec.dilation[ax],
                               spec.kernel_size[ax], spec.input_size[ax])
        a = o[ax] * s - pl + off[ax]                     # an input position in the window's span
        num = (o[ax] * s - pl + d * (k - 1) - a) if spec.convolution else (a - o[ax] * s + pl)
        keep &= (num % d == 0) & (num >= 0) & (num < d * k)
        if spec.padding_mode == "circular":
            a = a % n
        else:
            keep &= (a >= 0) & (a < n)
        row = row * m[ax] + o[ax]
        col = col * n + a
        wfl = wfl * k + num // d
    return BilinearTable(row[keep], wfl[keep], col[keep], np.ones(int(keep.sum()), np.int64))


def transposed_pattern(spec: ConvSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pattern ``(rows, cols, widx)`` of the transposed convolution ``v ↦ y``, shape ``(n_in, n_out)``.

    Written in the gather form of a transposed (fractionally strided) convolution: input position
    ``a`` receives ``w[j]·v[o]`` for every tap ``j`` with ``o = (a + p − j·d)/s`` a whole output index.
    The claim ``conv.adjoint`` checks that this matrix is ``T(w)ᵀ``.
    """
    nd = spec.ndim
    cpg_in, cpg_out = spec.in_channels // spec.groups, spec.out_channels // spec.groups
    m = spec.output_size
    ci, co_l, *rest = np.meshgrid(np.arange(spec.in_channels), np.arange(cpg_out),
                                  *[np.arange(v) for v in spec.input_size],
                                  *[np.arange(v) for v in spec.kernel_size], indexing="ij", copy=False)
    a, j = rest[:nd], rest[nd:]
    g = ci // cpg_in
    co = g * cpg_out + co_l
    keep = np.ones(ci.shape, dtype=bool)
    row = ci.astype(np.int64)
    col = co.astype(np.int64)
    wfl = co * cpg_in + ci % cpg_in
    for ax in range(nd):
        s, (pl, _), d, k, n = (spec.stride[ax], spec.padding[ax], spec.dilation[ax],
                               spec.kernel_size[ax], spec.input_size[ax])
        if spec.padding_mode == "circular":
            raise SpecError("transposed_pattern: circular padding is not supported")
        num = a[ax] + pl - j[ax] * d
        keep &= (num % s == 0) & (num >= 0) & (num // s < m[ax])
        row = row * n + a[ax]
        col = col * m[ax] + num // s
        wfl = wfl * k + ((k - 1 - j[ax]) if spec.convolution else j[ax])
    return row[keep], col[keep], wfl[keep]
