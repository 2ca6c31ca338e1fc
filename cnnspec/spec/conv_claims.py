"""The lecture's statements about convolution, as registered claims with checks (group ``spec``).

Sources: the CNN lecture's slides (named by topic) and Goodfellow, Bengio & Courville, *Deep
Learning* (2016), chapter 9, which the lecture follows. Every check returns evidence: the
configurations it covered, exact counts, timings, and the first difference when it fails.
Checks take their inputs as keyword arguments with defaults, so a test can feed a broken matrix or
formula and watch the claim fail.
"""
from __future__ import annotations

import itertools
import math
import time
from typing import Callable, Sequence

import numpy as np
import scipy.sparse as sp
import sympy

from ..claims import Outcome, claim
from .convolution import ConvSpec, flip, input_symbols, output_size, sum_formula, weight_symbols
from .equivariance import (commuting_matrices, cyclic_shift_matrix, equivariance_by_row,
                           interior, is_circulant, smallest_stride_counterexample, circular_spec)
from .toeplitz import BilinearTable, ConvMatrix, sum_formula_table, transposed_pattern

LECTURE = "CNN lecture"
GOODFELLOW = "Goodfellow, Bengio & Courville, Deep Learning (2016)"

# Geometries the symbolic claims run on: every feature of a real layer, small enough for sympy.
SMALL: list[dict] = [
    dict(input_size=6, kernel_size=3),
    dict(input_size=6, kernel_size=3, padding="full", convolution=True),
    dict(input_size=7, kernel_size=3, padding="same"),
    dict(input_size=6, kernel_size=2, padding="same"),
    dict(input_size=9, kernel_size=3, stride=2, padding=1, dilation=2),
    dict(input_size=(3, 4), kernel_size=(2, 2)),
    dict(input_size=(4, 5), kernel_size=(3, 2), stride=(2, 1), padding=((1, 0), (1, 1))),
    dict(input_size=(5, 5), kernel_size=(2, 3), dilation=(2, 1), convolution=True, padding=1),
    dict(input_size=(3, 4), kernel_size=(2, 2), in_channels=2, out_channels=3),
    dict(input_size=(3, 3), kernel_size=(2, 2), in_channels=4, out_channels=2, groups=2, stride=2,
         padding=1),
    dict(input_size=(2, 3, 3), kernel_size=(1, 2, 2), in_channels=2, out_channels=2),
]
# Real layer geometries, checked through coefficient tables (exact, linear in the non-zeros).
LARGE: dict[str, dict] = {
    "LeNet-5 C1 (32x32x1, 6 filters 5x5)": dict(input_size=(32, 32), kernel_size=(5, 5),
                                               out_channels=6),
    "LeNet-5 C3 (14x14x6, 16 filters 5x5x6)": dict(input_size=(14, 14), kernel_size=(5, 5),
                                                  in_channels=6, out_channels=16),
    "ResNet-20 conv (32x32x16, 16 filters 3x3x16, padding 1)": dict(
        input_size=(32, 32), kernel_size=(3, 3), in_channels=16, out_channels=16, padding=1),
    "ResNet-18 conv1 (56x56x3 crop, 8 filters 7x7, stride 2, padding 3)": dict(
        input_size=(56, 56), kernel_size=(7, 7), in_channels=3, out_channels=8, stride=2, padding=3),
    "depthwise 3x3 (16x16x8, groups 8, dilation 2)": dict(
        input_size=(16, 16), kernel_size=(3, 3), in_channels=8, out_channels=8, groups=8,
        dilation=2, padding=2),
}


def _specs(configs: Sequence[dict]) -> list[ConvSpec]:
    return [ConvSpec.make(**c) for c in configs]


def _expand_equal(a: Sequence, b: Sequence) -> int | None:
    """Index of the first entry where ``a − b`` does not expand to zero, or None."""
    for i, (x, y) in enumerate(zip(a, b)):
        if sympy.expand(x - y) != 0:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def _diff_message(spec: ConvSpec, what: str, i: int, got, want) -> str:
    idx = np.unravel_index(i, spec.output_shape)
    return f"{what}: out{list(map(int, idx))} = {got}, but should be {want} [{spec.describe()}]"


# --- the matrix form ---------------------------------------------------------------------------

@claim("conv.toeplitz.sum_formula",
       "A convolutional layer is a fully connected layer with a specific weight matrix: "
       "vec(s) = T(w) vec(u), T Toeplitz (1-D) or doubly block Toeplitz (2-D), block-structured over "
       "channels and groups; T(w)·vec(u) equals the sum formula entry by entry and the im2col form "
       "U(u)·vec(w).",
       f"{LECTURE}, 'Convolution as matrix multiplication'; {GOODFELLOW} §9.1", "symbolic")
def check_toeplitz(matrix: Callable[[ConvSpec], ConvMatrix] = ConvMatrix,
                   small: Sequence[dict] = SMALL, large: dict = LARGE) -> Outcome:
    rows = []
    for spec in _specs(small):
        T = matrix(spec)
        u, w = sympy.Matrix(input_symbols(spec)), sympy.Matrix(weight_symbols(spec))
        lhs = list(T.symbolic(list(w)) * u)
        rhs = sum_formula(spec, list(u), list(w))
        bad = _expand_equal(lhs, rhs)
        if bad is not None:
            return Outcome(False, _diff_message(spec, "T(w)·u", bad, lhs[bad], rhs[bad]),
                           {"checked": rows})
        im2col = list(T.im2col(list(u)) * w)
        bad = _expand_equal(im2col, rhs)
        if bad is not None:
            return Outcome(False, _diff_message(spec, "U(u)·w", bad, im2col[bad], rhs[bad]),
                           {"checked": rows})
        rows.append({"geometry": spec.describe(), "method": "sympy expand", "nnz": T.nnz})
    for name, cfg in large.items():
        spec = ConvSpec.make(**cfg)
        t0 = time.perf_counter()
        T = matrix(spec)
        got, want = T.table, sum_formula_table(spec)
        ok = got == want
        secs = time.perf_counter() - t0
        if not ok:
            r, wi, c, a, b = got.first_difference(want)
            return Outcome(False, f"{name}: coefficient of w[{wi}]·u[{c}] in output {r} is {a}, "
                                  f"but should be {b} [{spec.describe()}]", {"checked": rows})
        rows.append({"geometry": name, "method": "bilinear coefficient tables", "nnz": T.nnz,
                     "matrix_shape": list(T.shape), "weight_symbols": spec.n_weights,
                     "seconds": round(secs, 3)})
    return Outcome(True, f"{len(rows)} geometries: T(w)·u = sum formula = U(u)·w", {"checked": rows},
                   examples=len(rows))


@claim("conv.flip",
       "Convolution equals cross-correlation with the kernel flipped along every spatial axis; "
       "deep-learning frameworks compute cross-correlation and call it convolution.",
       f"{LECTURE}, 'Convolution vs cross-correlation'; {GOODFELLOW} §9.1, eq. 9.6", "symbolic")
def check_flip(configs: Sequence[dict] = SMALL,
               flipper: Callable[[ConvSpec, Sequence], list] = flip) -> Outcome:
    n = 0
    for cfg in configs:
        conv = ConvSpec.make(**{**cfg, "convolution": True})
        corr = ConvSpec.make(**{**cfg, "convolution": False})
        u, w = input_symbols(conv), weight_symbols(conv)
        a, b = sum_formula(conv, u, w), sum_formula(corr, u, flipper(corr, w))
        bad = _expand_equal(a, b)
        if bad is not None:
            return Outcome(False, _diff_message(conv, "convolution", bad, a[bad], b[bad]))
        n += 1
    return Outcome(True, f"conv(u, w) = xcorr(u, flip(w)) on {n} geometries (1-D, 2-D, 3-D)",
                   examples=n)


# --- the lecture's worked examples -------------------------------------------------------------

A_F = sympy.symbols("a b c d e f")
X_Z = sympy.symbols("x y z")


def lecture_1d(u: Sequence = A_F, w: Sequence = (X_Z[2], X_Z[1], X_Z[0])) -> list:
    """The 1-D example: full convolution of ``u=[a..f]`` with ``w=[z,y,x]``; outputs s_0 … s_7."""
    spec = ConvSpec.make(6, 3, padding="full", convolution=True)
    return list(ConvMatrix(spec).symbolic(list(w)) * sympy.Matrix(list(u)))


def lecture_2d() -> list:
    """The 2-D example: cross-correlation of a 3x4 input with the 2x2 kernel [[w,x],[y,z]], valid."""
    spec = ConvSpec.make((3, 4), (2, 2))
    u = sympy.symbols("a b c d e f g h i j k l")
    w = sympy.symbols("w x y z")
    return list(ConvMatrix(spec).symbolic(list(w)) * sympy.Matrix(u))


@claim("conv.lecture.examples",
       "The lecture's worked examples: 1-D u=[a,b,c,d,e,f], w=[z,y,x] gives x·b+y·c+z·d, "
       "x·c+y·d+z·e, x·d+y·e+z·f and, at the boundary, x·e+y·f; 2-D input [[a,b,c,d],[e,f,g,h],"
       "[i,j,k,l]] with kernel [[w,x],[y,z]] gives w·a+x·b+y·e+z·f and w·b+x·c+y·f+z·g.",
       f"{LECTURE}, worked examples (1-D convolution, boundary case; 2-D convolution)", "symbolic")
def check_lecture(one_d: Callable[[], list] = lecture_1d,
                  two_d: Callable[[], list] = lecture_2d) -> Outcome:
    a, b, c, d, e, f = A_F
    x, y, z = X_Z
    w_, g, = sympy.symbols("w g")
    s1 = one_d()
    expected_1d = {3: x * b + y * c + z * d, 4: x * c + y * d + z * e, 5: x * d + y * e + z * f,
                   6: x * e + y * f}
    for t, want in expected_1d.items():
        if sympy.expand(s1[t] - want) != 0:
            return Outcome(False, f"1-D: s_{t} = {s1[t]}, but should be {want} [conv1d(full, flipped)]")
    s2 = two_d()
    expected_2d = {0: w_ * a + x * b + y * e + z * f, 1: w_ * b + x * c + y * f + z * g}
    for i, want in expected_2d.items():
        if sympy.expand(s2[i] - want) != 0:
            return Outcome(False, f"2-D: out[0,{i}] = {s2[i]}, but should be {want} [conv2d(valid)]")
    return Outcome(True, "all six expressions reproduced exactly",
                   {"1-D (full convolution, s_3..s_6)": [str(s1[t]) for t in range(3, 7)],
                    "2-D (valid cross-correlation, out[0,0..1])": [str(s2[i]) for i in range(2)]},
                   examples=6)


# --- sparse interaction and parameter sharing ----------------------------------------------------

COUNT_CONFIGS: dict[str, dict] = {
    "1-D, n=10, k=3, valid": dict(input_size=10, kernel_size=3),
    "1-D, n=10, k=3, same": dict(input_size=10, kernel_size=3, padding="same"),
    "1-D, n=16, k=5, stride 2, dilation 2": dict(input_size=16, kernel_size=5, stride=2, dilation=2),
    **{k: v for k, v in LARGE.items()},
}


@claim("conv.sparse_interaction",
       "Sparse interactions: each output depends on at most k inputs, so T has at most m·k non-zeros "
       "(exactly m·k without padding) against m·n for a fully connected layer.",
       f"{LECTURE}, 'Sparse interaction'; {GOODFELLOW} §9.2, fig. 9.2", "exact")
def check_sparse(configs: dict = COUNT_CONFIGS,
                 matrix: Callable[[ConvSpec], ConvMatrix] = ConvMatrix) -> Outcome:
    rows = []
    for name, cfg in configs.items():
        spec = ConvSpec.make(**cfg)
        T = matrix(spec)
        m, n, k = spec.n_out, spec.n_in, spec.taps
        per_row = np.bincount(T.rows, minlength=m)
        unpadded = all(p == (0, 0) for p in spec.padding)
        row = {"geometry": name, "m": m, "n": n, "k": k, "nnz": T.nnz, "m*k": m * k, "m*n": m * n,
               "fraction_of_dense": round(T.nnz / (m * n), 6)}
        rows.append(row)
        if per_row.max(initial=0) > k or T.nnz > m * k:
            return Outcome(False, f"{name}: an output row has {per_row.max()} non-zeros, but should "
                                  f"have at most k={k}", {"counts": rows})
        if unpadded and T.nnz != m * k:
            return Outcome(False, f"{name}: nnz(T)={T.nnz}, but should be m·k={m * k} without "
                                  f"padding", {"counts": rows})
    return Outcome(True, f"nnz(T) ≤ m·k on {len(rows)} geometries (equality without padding)",
                   {"counts": rows}, examples=len(rows))


def tap_uses(spec: ConvSpec) -> np.ndarray:
    """How many output positions each weight serves, from window arithmetic alone (no matrix):
    per axis, the number of outputs ``o`` whose tap ``j`` reads inside the signal."""
    per_axis = []
    for m, s, (lo, _), d, n, k in zip(spec.output_size, spec.stride, spec.padding, spec.dilation,
                                      spec.input_size, spec.kernel_size):
        pos = np.arange(m)[:, None] * s - lo + np.arange(k)[None, :] * d
        if spec.padding_mode == "circular":
            counts = np.full(k, m)
        else:
            counts = ((pos >= 0) & (pos < n)).sum(axis=0)
        per_axis.append(counts[::-1] if spec.convolution else counts)
    grid = per_axis[0]
    for c in per_axis[1:]:
        grid = np.multiply.outer(grid, c)
    cpg_in = spec.in_channels // spec.groups
    return np.broadcast_to(grid, (spec.out_channels, cpg_in, *spec.kernel_size)).reshape(-1)


@claim("conv.parameter_sharing",
       "Parameter sharing: T(w) has exactly C_out·(C_in/groups)·Πk distinct free symbols, and every "
       "weight is reused at every output position where its tap meets the input.",
       f"{LECTURE}, 'Parameter sharing'; {GOODFELLOW} §9.2, fig. 9.5", "exact")
def check_sharing(configs: dict = COUNT_CONFIGS,
                  matrix: Callable[[ConvSpec], ConvMatrix] = ConvMatrix) -> Outcome:
    rows = []
    for name, cfg in configs.items():
        spec = ConvSpec.make(**cfg)
        T = matrix(spec)
        uses = np.bincount(T.widx, minlength=spec.n_weights)
        distinct = int((uses > 0).sum())
        positions = math.prod(spec.output_size)
        expected = tap_uses(spec)
        rows.append({"geometry": name, "weights": spec.n_weights, "distinct_symbols_in_T": distinct,
                     "nnz": T.nnz, "mean_uses_per_weight": round(T.nnz / spec.n_weights, 2),
                     "output_positions": positions})
        if distinct != spec.n_weights:
            return Outcome(False, f"{name}: T has {distinct} distinct symbols, but should have "
                                  f"{spec.n_weights}", {"counts": rows})
        if not np.array_equal(uses, expected):
            i = int(np.flatnonzero(uses != expected)[0])
            return Outcome(False, f"{name}: weight {i} is used {uses[i]} times, but its tap meets the "
                                  f"input at {expected[i]} output positions", {"counts": rows})
        if positions > 1 and uses.min() < 2:
            return Outcome(False, f"{name}: weight {int(np.argmin(uses))} is used once only",
                           {"counts": rows})
    return Outcome(True, f"{len(rows)} geometries: one symbol per weight, each reused across positions",
                   {"counts": rows}, examples=len(rows))


# --- receptive fields ----------------------------------------------------------------------------

STACKS: list[list[dict]] = [
    [dict(k=3), dict(k=3)],
    [dict(k=3), dict(k=3), dict(k=3)],
    [dict(k=5), dict(k=2, s=2), dict(k=5), dict(k=2, s=2)],     # LeNet-5's C1 S2 C3 S4 as convs
    [dict(k=3, s=2), dict(k=3, d=2), dict(k=3, s=2, d=3)],
    [dict(k=7, s=2), dict(k=3, s=2), dict(k=3), dict(k=3)],      # a ResNet stem and two 3x3
]


def receptive_field_formula(layers: Sequence[dict]) -> int:
    """``1 + Σ d_i(k_i − 1)·Π_{j<i} s_j``: the extent of one output's receptive field."""
    rf, jump = 1, 1
    for L in layers:
        rf += L.get("d", 1) * (L["k"] - 1) * jump
        jump *= L.get("s", 1)
    return rf


def stacked_support(layers: Sequence[dict], n: int) -> tuple[int, int]:
    """(min, max) extent of the rows of ``T_L ⋯ T_1`` for a 1-D input of length n, valid mode."""
    P = None
    size = n
    for L in layers:
        spec = ConvSpec.make(size, L["k"], stride=L.get("s", 1), dilation=L.get("d", 1))
        T = ConvMatrix(spec).pattern_matrix()
        P = T if P is None else (T @ P)
        size = spec.output_size[0]
    P = sp.csr_matrix(P)
    spans = []
    for r in range(P.shape[0]):
        cols = P.indices[P.indptr[r]:P.indptr[r + 1]]
        spans.append(int(cols.max() - cols.min() + 1))
    return min(spans), max(spans)


@claim("conv.receptive_field",
       "Stacking layers grows the receptive field: a unit of layer L sees 1 + Σ d_i(k_i − 1)·Π_{j<i} s_j "
       "inputs along each axis — the extent of the support of the rows of T_L ⋯ T_1.",
       f"{LECTURE}, 'Receptive field'; {GOODFELLOW} §9.2, fig. 9.4; "
       "Araujo et al., Computing Receptive Fields of CNNs, Distill (2019), eq. 2", "exact")
def check_receptive_field(stacks: Sequence[Sequence[dict]] = STACKS,
                          formula: Callable[[Sequence[dict]], int] = receptive_field_formula) -> Outcome:
    rows = []
    for layers in stacks:
        want = formula(layers)
        n = want + 3 * math.prod(L.get("s", 1) for L in layers) + 5
        lo, hi = stacked_support(layers, n)
        rows.append({"layers": [dict(L) for L in layers], "formula": want, "support_extent": [lo, hi]})
        if not lo == hi == want:
            return Outcome(False, f"layers {layers}: rows of the product reach {lo}..{hi} inputs, but "
                                  f"the formula says {want}", {"stacks": rows})
    # no cancellation: the symbolic product has a non-zero entry wherever the pattern product does
    s1, s2 = ConvSpec.make(6, 3), ConvSpec.make(4, 2, stride=2)
    sym = ConvMatrix(s2).symbolic(sympy.symbols("v0 v1")) * ConvMatrix(s1).symbolic()
    pattern = (ConvMatrix(s2).pattern_matrix() @ ConvMatrix(s1).pattern_matrix()).toarray() > 0
    nonzero = np.array([[sympy.expand(sym[i, j]) != 0 for j in range(sym.cols)]
                        for i in range(sym.rows)])
    if not np.array_equal(nonzero, pattern):
        return Outcome(False, "the symbolic product T2·T1 has cancellations the pattern misses",
                       {"stacks": rows})
    return Outcome(True, f"{len(rows)} stacks: every row's extent equals the formula",
                   {"stacks": rows, "symbolic_product": str(sym.row(0))}, examples=len(rows))


# --- equivariance ------------------------------------------------------------------------------

@claim("conv.equivariance.circulant",
       "Circular convolution has a circulant matrix (doubly block circulant in 2-D), which commutes "
       "with the cyclic shift: T P = P T, i.e. shifting the input shifts the output.",
       f"{LECTURE}, 'Equivariance'; {GOODFELLOW} §9.2; Gray, Toeplitz and Circulant Matrices (2006) §3",
       "symbolic")
def check_circulant(sizes: Sequence[tuple[int, int]] = ((5, 3), (6, 6), (4, 2)),
                    make: Callable[[int, int], ConvSpec] = circular_spec) -> Outcome:
    ev = []
    for n, k in sizes:
        T = ConvMatrix(make(n, k)).symbolic()
        P = cyclic_shift_matrix(n)
        if not is_circulant(T):
            return Outcome(False, f"n={n}, k={k}: T is not circulant: row 1 = {list(T.row(1))}")
        if (T * P - P * T).expand() != sympy.zeros(n, n):
            return Outcome(False, f"n={n}, k={k}: T·P ≠ P·T")
        ev.append({"n": n, "k": k, "row0": [str(v) for v in T.row(0)]})
    # 2-D: the doubly block circulant commutes with both shifts
    spec = ConvSpec.make((3, 4), (2, 2), padding=((0, 1), (0, 1)), padding_mode="circular")
    T = ConvMatrix(spec).symbolic()
    I3, I4 = sympy.eye(3), sympy.eye(4)
    Pr = sympy.kronecker_product(cyclic_shift_matrix(3), I4)
    Pc = sympy.kronecker_product(I3, cyclic_shift_matrix(4))
    for name, P in (("rows", Pr), ("columns", Pc)):
        if (T * P - P * T).expand() != sympy.zeros(12, 12):
            return Outcome(False, f"2-D 3x4, kernel 2x2: T does not commute with the shift along {name}")
    ev.append({"2-D": "3x4 input, 2x2 kernel: T commutes with both cyclic shifts"})
    return Outcome(True, f"{len(sizes)} 1-D and one 2-D circular convolution: circulant, TP = PT",
                   {"cases": ev}, examples=len(ev))


@claim("conv.equivariance.converse",
       "Conversely, every linear map that commutes with the cyclic shift is circulant — a circular "
       "convolution: solving P A = A P for a generic matrix A leaves exactly the circulants.",
       f"{LECTURE}, 'Equivariance'; Gray, Toeplitz and Circulant Matrices (2006) §3; "
       "Kondor & Trivedi, ICML 2018 (equivariance implies convolution)", "symbolic")
def check_converse(n: int = 5, shape2d: tuple[int, int] = (2, 3)) -> Outcome:
    A, free = commuting_matrices([cyclic_shift_matrix(n)])
    if len(free) != n or not is_circulant(A):
        return Outcome(False, f"n={n}: the solutions of PA = AP have {len(free)} parameters, "
                              f"circulant: {is_circulant(A)}", {"A": str(A)})
    # and each is the circular convolution with the kernel read off its first row
    w = [A[0, j] for j in range(n)]
    T = ConvMatrix(circular_spec(n, n)).symbolic(w)
    if (T - A).expand() != sympy.zeros(n, n):
        return Outcome(False, f"n={n}: A is not the circular convolution with kernel {w}")
    h, wd = shape2d
    Pr = sympy.kronecker_product(cyclic_shift_matrix(h), sympy.eye(wd))
    Pc = sympy.kronecker_product(sympy.eye(h), cyclic_shift_matrix(wd))
    A2, free2 = commuting_matrices([Pr, Pc], prefix="b")
    spec = ConvSpec.make((h, wd), (h, wd), padding=((0, h - 1), (0, wd - 1)), padding_mode="circular")
    k2 = [A2[0, j] for j in range(h * wd)]
    if len(free2) != h * wd or (ConvMatrix(spec).symbolic(k2) - A2).expand() != sympy.zeros(h * wd, h * wd):
        return Outcome(False, f"2-D {h}x{wd}: the maps commuting with both shifts are not exactly the "
                              f"2-D circular convolutions ({len(free2)} parameters)")
    return Outcome(True, f"1-D n={n}: {n}-parameter family = circulants = circular convolutions; "
                         f"2-D {h}x{wd}: {h * wd} parameters, doubly block circulant",
                   {"A_1d": [[str(v) for v in A.row(i)] for i in range(n)], "parameters_2d": len(free2)},
                   examples=2)


INTERIOR_CONFIGS: list[dict] = [
    dict(input_size=8, kernel_size=3, padding=1),
    dict(input_size=8, kernel_size=3, padding="full", convolution=True),
    dict(input_size=9, kernel_size=2, padding="same", dilation=2),
    dict(input_size=(6, 7), kernel_size=(3, 2), padding=1, in_channels=2, out_channels=2),
    dict(input_size=(7, 6), kernel_size=(3, 3), padding=2, stride=(2, 1), dilation=(1, 2)),
    dict(input_size=(32, 32), kernel_size=(3, 3), padding=1, in_channels=3, out_channels=4),
]


@claim("conv.equivariance.interior",
       "A zero-padded convolution is shift-equivariant on its interior: T S^t u = S^{t/s} T u exactly "
       "on the output positions the spec computes (no tap in the padding where the shift brings a "
       "value in), and on no other position.",
       f"{LECTURE}, 'Equivariance' (boundary effects); {GOODFELLOW} §9.2", "symbolic")
def check_interior(configs: Sequence[dict] = INTERIOR_CONFIGS,
                   region: Callable = interior) -> Outcome:
    ev = []
    for cfg in configs:
        spec = ConvSpec.make(**cfg)
        for mult in (1, 2, -1):
            t = tuple(mult * s for s in spec.stride)
            equal, _ = equivariance_by_row(spec, t)
            predicted = np.broadcast_to(region(spec, t), spec.output_shape).reshape(-1)
            if not np.array_equal(equal, predicted):
                i = int(np.flatnonzero(equal != predicted)[0])
                o = list(map(int, np.unravel_index(i, spec.output_shape)))
                return Outcome(False, f"shift {t}: out{o} is {'equal' if equal[i] else 'not equal'} "
                                      f"after the shift, but the interior says "
                                      f"{'yes' if predicted[i] else 'no'} [{spec.describe()}]",
                               {"cases": ev})
            ev.append({"geometry": spec.describe(), "shift": t, "equal_rows": int(equal.sum()),
                       "rows": int(equal.size)})
    return Outcome(True, f"{len(ev)} (geometry, shift) pairs: equality exactly on the interior",
                   {"cases": ev}, examples=len(ev))


@claim("conv.equivariance.stride",
       "With stride s, a convolution is equivariant exactly to shifts by multiples of s (the output "
       "moves by t/s); for any other shift no output shift matches, and a smallest counterexample "
       "exists.",
       f"{LECTURE}, 'Equivariance' and 'Stride'; Zhang, Making Convolutional Networks Shift-Invariant "
       "Again, ICML 2019", "symbolic")
def check_stride(strides: Sequence[int] = (2, 3), n_per_stride: int = 4, k: int = 3) -> Outcome:
    ev = []
    for s in strides:
        n = s * n_per_stride
        T = ConvMatrix(circular_spec(n, k, stride=s)).symbolic()
        m = T.rows
        for t in range(1, n):
            lhs = T * cyclic_shift_matrix(n, t)
            matches = [q for q in range(m) if (lhs - cyclic_shift_matrix(m, q) * T).expand()
                       == sympy.zeros(m, n)]
            want = [t // s] if t % s == 0 else []
            if matches != want:
                return Outcome(False, f"stride {s}, shift {t}: T S^t = S^q T for q in {matches}, but "
                                      f"should be {want}", {"cases": ev})
        cex = smallest_stride_counterexample(s)
        ev.append({"stride": s, "n": n, "k": k, "smallest_counterexample": cex})
    return Outcome(True, "equivariant exactly for shifts by multiples of the stride; counterexamples: "
                   + "; ".join(f"s={c['stride']}: u={c['smallest_counterexample']['u']}, "
                               f"w={c['smallest_counterexample']['w']}, shift "
                               f"{c['smallest_counterexample']['shift']}: T u = "
                               f"{c['smallest_counterexample']['T_u']} but T S u = "
                               f"{c['smallest_counterexample']['T_shifted_u']}" for c in ev),
                   {"cases": ev}, examples=len(ev),
                   counterexample={"args": ev[0]["smallest_counterexample"]} if ev else None)


# --- adjoint and gradients -----------------------------------------------------------------------

@claim("conv.adjoint",
       "The transposed convolution is the adjoint: its matrix is T(w)ᵀ, so ⟨T u, v⟩ = ⟨u, Tᵀ v⟩.",
       f"{LECTURE}, 'Convolution as matrix multiplication'; {GOODFELLOW} §9.5 (eq. 9.12–9.14); "
       "Dumoulin & Visin (2016) §4", "symbolic")
def check_adjoint(small: Sequence[dict] = SMALL, large: dict = LARGE,
                  transposed: Callable = transposed_pattern) -> Outcome:
    ev = []
    for spec in _specs(small) + [ConvSpec.make(**c) for c in large.values()]:
        T = ConvMatrix(spec)
        r, c, wi = transposed(spec)
        Tt = BilinearTable(c, wi, r, np.ones(len(r), np.int64))  # rows of Tᵀ are T's columns
        if Tt != T.table:
            row, widx, col, a, b = T.table.first_difference(Tt)
            return Outcome(False, f"T[{row},{col}] has w[{widx}]×{a}, but the transposed "
                                  f"convolution puts w[{widx}]×{b} there [{spec.describe()}]",
                           {"checked": ev})
        if spec.n_out * spec.n_in <= 400:  # the inner products, with sympy
            v = sympy.Matrix([sympy.Symbol(f"v_{i}") for i in range(spec.n_out)])
            u = sympy.Matrix(input_symbols(spec))
            Tsym = T.symbolic()
            TtV = sympy.SparseMatrix(spec.n_in, spec.n_out,
                                     {(int(a_), int(b_)): weight_symbols(spec)[int(k)]
                                      for a_, b_, k in zip(r, c, wi)}) * v
            if sympy.expand((Tsym * u).dot(v) - u.dot(TtV)) != 0:
                return Outcome(False, f"⟨Tu, v⟩ ≠ ⟨u, Tᵀv⟩ [{spec.describe()}]", {"checked": ev})
        ev.append({"geometry": spec.describe(), "nnz": T.nnz})
    return Outcome(True, f"{len(ev)} geometries: transposed convolution = Tᵀ", {"checked": ev},
                   examples=len(ev))


def weight_gradient(spec: ConvSpec, u: Sequence, g: Sequence) -> list:
    """∂L/∂w for L = ⟨g, conv(u, w)⟩: per (out, in) channel pair, the cross-correlation of the input
    with the output gradient ``g`` used as kernel, with stride and dilation swapped (stride d,
    dilation s) and the same padding, cut to the kernel size."""
    cpg_in, cpg_out = spec.in_channels // spec.groups, spec.out_channels // spec.groups
    n_sp, m_sp = math.prod(spec.input_size), math.prod(spec.output_size)
    out = []
    for co in range(spec.out_channels):
        for cl in range(cpg_in):
            ci = (co // cpg_out) * cpg_in + cl
            corr = ConvSpec.make(spec.input_size, spec.output_size, stride=spec.dilation,
                                 dilation=spec.stride, padding=spec.padding)
            full = sum_formula(corr, u[ci * n_sp:(ci + 1) * n_sp], g[co * m_sp:(co + 1) * m_sp])
            full = np.array(full, dtype=object).reshape(corr.output_size)
            part = full[tuple(slice(0, k) for k in spec.kernel_size)]
            if spec.convolution:
                part = part[tuple(slice(None, None, -1) for _ in spec.kernel_size)]
            out.extend(part.reshape(-1).tolist())
    return out


@claim("conv.gradients",
       "Backpropagation through a convolution: with L = ⟨g, T(w) u⟩, ∂L/∂u = T(w)ᵀ g (a transposed "
       "convolution) and ∂L/∂w is the cross-correlation of the input u with the output gradient g.",
       f"{LECTURE}, 'Convolution as matrix multiplication'; {GOODFELLOW} §9.5, eq. 9.12–9.14",
       "symbolic")
def check_gradients(configs: Sequence[dict] = SMALL,
                    dw_formula: Callable = weight_gradient) -> Outcome:
    n = 0
    for spec in _specs(configs):
        u, w = input_symbols(spec), weight_symbols(spec)
        g = [sympy.Symbol(f"g_{i}") for i in range(spec.n_out)]
        L = sympy.Add(*[gi * si for gi, si in zip(g, sum_formula(spec, u, w))])
        r, c, wi = transposed_pattern(spec)
        Ttg = [sympy.Integer(0)] * spec.n_in
        for a_, b_, k in zip(r, c, wi):
            Ttg[int(a_)] += w[int(k)] * g[int(b_)]
        du = [sympy.diff(L, x) for x in u]
        bad = _expand_equal(du, Ttg)
        if bad is not None:
            return Outcome(False, f"∂L/∂u[{bad}] = {du[bad]}, but Tᵀg gives {Ttg[bad]} [{spec.describe()}]")
        dw = [sympy.diff(L, x) for x in w]
        corr = dw_formula(spec, u, g)
        bad = _expand_equal(dw, corr)
        if bad is not None:
            return Outcome(False, f"∂L/∂w[{bad}] = {dw[bad]}, but the cross-correlation of u with g "
                                  f"gives {corr[bad]} [{spec.describe()}]")
        n += 1
    return Outcome(True, f"{n} geometries: ∂L/∂u = Tᵀg and ∂L/∂w = xcorr(u, g), derived with sympy.diff",
                   examples=n)


# --- output size -----------------------------------------------------------------------------------

def window_count(n: int, k: int, s: int, lo: int, hi: int, d: int) -> int:
    """Number of window placements o = 0, 1, … with o·s + d(k−1) inside the padded input."""
    count = 0
    while count * s + d * (k - 1) <= n + lo + hi - 1:
        count += 1
    return count


@claim("conv.output_size",
       "The output size is floor((n + 2p − d(k − 1) − 1)/s) + 1 (full: n + d(k−1), same: ceil(n/s), "
       "valid: n − d(k−1)); it agrees with the matrix shape for every configuration.",
       f"{LECTURE}, 'Convolution' (output size); Dumoulin & Visin (2016), relationship 15; "
       "PyTorch Conv2d documentation", "exact")
def check_output_size(max_n: int = 12, size: Callable = output_size) -> Outcome:
    cases = 0
    for n, k, s, d, lo, hi in itertools.product(range(1, max_n + 1), range(1, 6), range(1, 4),
                                                range(1, 4), range(0, 4), range(0, 4)):
        if d * (k - 1) + 1 > n + lo + hi:
            continue
        want = window_count(n, k, s, lo, hi, d)
        got = size(n, k, s, (lo, hi), d)
        if got != want:
            return Outcome(False, f"output_size(n={n}, k={k}, s={s}, p=({lo},{hi}), d={d}) = {got}, "
                                  f"but {want} windows fit", examples=cases)
        cases += 1
    # the modes, and the matrix shape on multi-axis layers
    for n, k, s, d in itertools.product(range(1, 10), range(1, 5), range(1, 4), range(1, 3)):
        span = d * (k - 1) + 1
        for mode, want in (("full", (n + span - 1 - 1) // s + 1), ("same", -(-n // s)),
                           ("valid", (n - span) // s + 1 if n >= span else None)):
            if want is None:
                continue
            spec = ConvSpec.make(n, k, stride=s, dilation=d, padding=mode)
            T = ConvMatrix(spec)
            if spec.output_size[0] != want or T.shape[0] != want or (T.nnz and T.rows.max() >= want):
                return Outcome(False, f"mode {mode}, n={n}, k={k}, s={s}, d={d}: output "
                                      f"{spec.output_size[0]} (matrix rows {T.shape[0]}), but should "
                                      f"be {want}", examples=cases)
            cases += 1
    for cfg in SMALL + list(LARGE.values()):
        spec = ConvSpec.make(**cfg)
        T = ConvMatrix(spec)
        if T.shape != (spec.out_channels * math.prod(spec.output_size), spec.n_in):
            return Outcome(False, f"matrix shape {T.shape} disagrees with {spec.describe()}")
        cases += 1
    return Outcome(True, f"{cases} configurations: formula = window count = matrix shape",
                   examples=cases)
