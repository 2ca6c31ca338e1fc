"""Shift equivariance: circulant matrices, their converse, the interior of zero-padded layers, stride.

The lecture: "convolution is equivariant to translation": shifting the input shifts the output.
Exactly true for circular convolution, whose matrix is circulant and so commutes with the cyclic
shift ``P``; conversely every linear map that commutes with ``P`` is circulant, i.e. a circular
convolution. With zero padding it holds on an *interior* region that this module computes exactly;
with stride ``s`` only for shifts by multiples of ``s`` (the output moves by ``t/s``).

References
----------
Goodfellow, Bengio & Courville, *Deep Learning* (2016), §9.2 (equivariant representations).
Gray, *Toeplitz and Circulant Matrices: A Review* (2006), §3 (circulants commute; eigenvectors).
Zhang, *Making Convolutional Networks Shift-Invariant Again*, ICML 2019 (stride breaks it).
"""
from __future__ import annotations

import functools
import itertools
from typing import Sequence

import numpy as np
import sympy

from .convolution import ConvSpec, SpecError
from .toeplitz import BilinearTable, ConvMatrix


def cyclic_shift_matrix(n: int, t: int = 1) -> sympy.Matrix:
    """``P`` with ``(P u)[i] = u[(i − t) mod n]``: the cyclic shift by ``t`` places."""
    return sympy.Matrix(n, n, lambda i, j: 1 if j == (i - t) % n else 0)


def is_circulant(A: sympy.Matrix) -> bool:
    """Each row is the previous one shifted cyclically one place to the right: ``A[i,j] = c[(j−i) mod n]``."""
    n = A.rows
    return A.cols == n and all(sympy.expand(A[i, j] - A[0, (j - i) % n]) == 0
                               for i in range(n) for j in range(n))


def commuting_matrices(shifts: Sequence[sympy.Matrix], prefix: str = "a") -> tuple[sympy.Matrix, list]:
    """The general solution of ``P A = A P`` for every ``P`` in ``shifts``: a matrix in free symbols.

    Solves the linear system for a generic ``A`` (n² unknowns) with sympy; returns ``A`` with the
    solution substituted and the free symbols that remain.
    """
    n = shifts[0].rows
    a = sympy.Matrix(n, n, lambda i, j: sympy.Symbol(f"{prefix}_{i}_{j}"))
    eqs = [e for P in shifts for e in (P * a - a * P)]
    sol = sympy.solve(eqs, list(a), dict=True)
    if len(sol) != 1:
        raise SpecError(f"commuting_matrices: expected one parametric solution, got {len(sol)}")
    A = a.subs(sol[0])
    return A, sorted(A.free_symbols, key=str)


def shift_table_input(table: BilinearTable, spec: ConvSpec, t: Sequence[int]) -> BilinearTable:
    """Table of ``T(w)·(S^t u)`` from the table of ``T(w)·u``, zero fill (``(S^t u)[a] = u[a − t]``)."""
    c, *pos = np.unravel_index(table.cols, spec.input_shape)
    keep = np.ones(table.cols.shape, dtype=bool)
    moved = []
    for ax, (p, ti) in enumerate(zip(pos, t)):
        q = p - ti
        keep &= (q >= 0) & (q < spec.input_size[ax])
        moved.append(q)
    cols = np.ravel_multi_index((c, *[np.clip(q, 0, n - 1) for q, n in zip(moved, spec.input_size)]),
                                spec.input_shape)
    return BilinearTable(table.rows[keep], table.widx[keep], cols[keep], table.coef[keep])


def shift_table_output(table: BilinearTable, spec: ConvSpec, q: Sequence[int]) -> BilinearTable:
    """Table of ``S^q (T(w)·u)``: output rows moved by ``q``, zero fill."""
    c, *pos = np.unravel_index(table.rows, spec.output_shape)
    keep = np.ones(table.rows.shape, dtype=bool)
    moved = []
    for ax, (p, qi) in enumerate(zip(pos, q)):
        r = p + qi
        keep &= (r >= 0) & (r < spec.output_size[ax])
        moved.append(r)
    rows = np.ravel_multi_index((c, *[np.clip(r, 0, m - 1) for r, m in zip(moved, spec.output_size)]),
                                spec.output_shape)
    return BilinearTable(rows[keep], table.widx[keep], table.cols[keep], table.coef[keep])


def interior(spec: ConvSpec, t: Sequence[int]) -> np.ndarray:
    """Boolean mask over output positions ``(*m)`` where ``T S^t u = S^{t/s} T u`` for all u, w.

    Needs ``t`` a multiple of the stride on each axis (``q = t/s``). For an output ``o`` whose
    shifted position ``o − q`` exists, equality holds exactly when no tap of ``o``'s window sits in
    the zero padding while the input it reads after the shift (``a − t``) lies inside the signal
    (the padding would hide a value the shift brought in). Where ``o − q`` falls off the output,
    the right side is the zero fill, and equality holds only if every tap reads zero after the
    shift. The first kind of row is the interior proper: border effects cannot reach it.
    """
    m, nd = spec.output_size, spec.ndim
    shifted_in, both_in, window_in, row_ok = [], [], [], []
    for ax, ti in enumerate(t):
        s, (pl, _), d, k, n = (spec.stride[ax], spec.padding[ax], spec.dilation[ax],
                               spec.kernel_size[ax], spec.input_size[ax])
        if ti % s:
            raise SpecError(f"shift: {ti} on axis {ax} is not a multiple of the stride {s}")
        o = np.arange(m[ax])
        a = o[:, None] * s - pl + np.arange(k)[None, :] * d          # (m_ax, k_ax)
        inside, after = (a >= 0) & (a < n), (a - ti >= 0) & (a - ti < n)
        shape = [1] * (2 * nd)
        shape[ax], shape[nd + ax] = m[ax], k
        shifted_in.append(after.reshape(shape))
        both_in.append((after & inside).reshape(shape))
        window_in.append(inside.reshape(shape))
        rshape = [1] * nd
        rshape[ax] = m[ax]
        row_ok.append(((o - ti // s >= 0) & (o - ti // s < m[ax])).reshape(rshape))
    full = tuple(m) + tuple(spec.kernel_size)
    taps = tuple(range(nd, 2 * nd))
    after_all = np.broadcast_to(_all(shifted_in), full)
    inside_all = np.broadcast_to(_all(window_in), full)
    both_all = np.broadcast_to(_all(both_in), full)
    no_hidden = ~(after_all & ~inside_all).any(axis=taps)
    all_zero = ~both_all.any(axis=taps)
    exists = np.broadcast_to(_all(row_ok), tuple(m))
    return np.where(exists, no_hidden, all_zero)


def _all(masks) -> np.ndarray:
    return functools.reduce(np.logical_and, masks)


def border_free(spec: ConvSpec) -> np.ndarray:
    """Output positions whose whole window lies inside the signal (no tap in the padding)."""
    grids = []
    for ax in range(spec.ndim):
        s, (pl, _), d, k, n = (spec.stride[ax], spec.padding[ax], spec.dilation[ax],
                               spec.kernel_size[ax], spec.input_size[ax])
        o = np.arange(spec.output_size[ax])
        grids.append((o * s - pl >= 0) & (o * s - pl + d * (k - 1) < n))
    return _all([g.reshape([-1 if i == ax else 1 for i in range(spec.ndim)])
                 for ax, g in enumerate(grids)])


def equivariance_by_row(spec: ConvSpec, t: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """For each output row: does ``T S^t u`` equal ``S^{t/s} T u`` there, as polynomials in u, w?

    Returns ``(equal, predicted)``: the row-wise verdict from the coefficient tables and the
    spec's :func:`interior`, both over all output rows (channels included).
    """
    q = [ti // s for ti, s in zip(t, spec.stride)]
    base = ConvMatrix(spec).table
    lhs, rhs = shift_table_input(base, spec, t), shift_table_output(base, spec, q)
    nw, nc = spec.n_weights, spec.n_in
    key = lambda tb: (tb.rows * nw + tb.widx) * nc + tb.cols   # noqa: E731 - coefficients are all 1
    equal = np.ones(spec.n_out, dtype=bool)
    for a, b in ((lhs, rhs), (rhs, lhs)):
        missing = ~np.isin(key(a), key(b))
        equal[a.rows[missing]] = False
    predicted = np.broadcast_to(interior(spec, t), spec.output_shape).reshape(-1)
    return equal, predicted


def circular_spec(n: int, k: int, stride: int = 1, dilation: int = 1) -> ConvSpec:
    """1-D circular cross-correlation ``y[o] = Σ_j w_j u[(o·s + j·d) mod n]``, output ``ceil(n/s)``."""
    return ConvSpec.make(n, k, stride=stride, dilation=dilation,
                         padding=[(0, dilation * (k - 1))], padding_mode="circular")


def smallest_stride_counterexample(stride: int, max_n: int = 8) -> dict | None:
    """The smallest case where a stride-``s`` convolution is not shift-equivariant, border effects aside.

    Circular convolutions (no border) of length ``n`` (a multiple of ``s``) are searched in
    increasing ``n``, kernel length ``k``, shift ``t`` (not a multiple of ``s``) and 0/1 signals
    ``u``, ``w``; the first for which ``T S^t u`` equals no cyclic shift of ``T u`` is returned.
    """
    for n in range(stride, max_n + 1, stride):
        for k in range(1, n + 1):
            T = ConvMatrix(circular_spec(n, k, stride))
            for t in range(1, n):
                if t % stride == 0:
                    continue
                for bits in itertools.product((0, 1), repeat=n + k):
                    u, w = np.array(bits[:n]), np.array(bits[n:])
                    if not u.any() or not w.any():
                        continue
                    Tw = T.numeric(w, np.int64)
                    y, ys = Tw @ u, Tw @ np.roll(u, t)
                    if not any(np.array_equal(ys, np.roll(y, q)) for q in range(len(y))):
                        return {"stride": stride, "n": n, "k": k, "shift": t, "u": u.tolist(),
                                "w": w.tolist(), "T_u": y.tolist(), "T_shifted_u": ys.tolist()}
    return None
