"""cnnspec.spec.toeplitz: the convolution matrix, exact and symbolic, against independent evaluations.

Layers of evidence: hand-written cases, a property test over geometries (the exact sparse matrix
times random integer vectors equals a direct evaluation of the sum formula), and torch's conv on
integer data in float64 (exact, since every partial sum is an integer below 2^53).
"""
import itertools
from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import given, strategies as st

from cnnspec.spec.convolution import ConvSpec, SpecError, input_symbols, sum_formula, weight_symbols
from cnnspec.spec.toeplitz import BilinearTable, ConvMatrix, sum_formula_table, transposed_pattern


def direct(spec: ConvSpec, u: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The sum formula in plain Python integers, one output at a time (the slow, obvious way)."""
    u = u.reshape(spec.input_shape)
    w = w.reshape(spec.weight_shape)
    out = np.zeros(spec.output_shape, dtype=object)
    cpg_in, cpg_out = spec.in_channels // spec.groups, spec.out_channels // spec.groups
    for co in range(spec.out_channels):
        for o in itertools.product(*map(range, spec.output_size)):
            acc = 0
            for cl in range(cpg_in):
                ci = (co // cpg_out) * cpg_in + cl
                for j in itertools.product(*map(range, spec.kernel_size)):
                    a = [oi * s - p[0] + ji * d for oi, s, p, ji, d in
                         zip(o, spec.stride, spec.padding, j, spec.dilation)]
                    if all(0 <= ai < n for ai, n in zip(a, spec.input_size)):
                        jj = tuple(k - 1 - x for x, k in zip(j, spec.kernel_size)) if spec.convolution else j
                        acc += int(u[(ci, *a)]) * int(w[(co, cl, *jj)])
            out[(co, *o)] = acc
    return out.reshape(-1)


@st.composite
def geometries(draw, max_ndim=2):
    ndim = draw(st.integers(1, max_ndim))
    groups = draw(st.integers(1, 3))
    cin = groups * draw(st.integers(1, 2))
    cout = groups * draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    d = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    s = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    pads = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(ndim))
    n = tuple(max(draw(st.integers(1, 7)), dd * (kk - 1) + 1 - lo - hi)
              for kk, dd, (lo, hi) in zip(k, d, pads))
    return ConvSpec.make(n, k, in_channels=cin, out_channels=cout, groups=groups, stride=s,
                         padding=pads, dilation=d, convolution=draw(st.booleans()))


@given(spec=geometries(), seed=st.integers(0, 2**32 - 1))
def test_sparse_matrix_times_integers_equals_sum_formula(spec, seed):
    rng = np.random.default_rng(seed)
    u = rng.integers(-50, 51, spec.n_in)
    w = rng.integers(-50, 51, spec.n_weights)
    T = ConvMatrix(spec)
    want = direct(spec, u, w)
    assert list(T.numeric(w, np.int64) @ u.astype(np.int64)) == list(want)
    assert list(T.apply(w, u)) == list(want)
    assert T.table == sum_formula_table(spec)


@given(spec=geometries(), seed=st.integers(0, 2**32 - 1))
def test_exact_apply_with_rationals(spec, seed):
    rng = np.random.default_rng(seed)
    u = [Fraction(int(a), int(b)) for a, b in zip(rng.integers(-9, 10, spec.n_in), rng.integers(1, 7, spec.n_in))]
    w = rng.integers(-9, 10, spec.n_weights)
    got = ConvMatrix(spec).apply(w, u)
    den = np.lcm.reduce([f.denominator for f in u])
    scaled = direct(spec, np.array([int(f * den) for f in u]), w)
    assert all(g * den == s for g, s in zip(got, scaled))


@given(spec=geometries(max_ndim=3))
def test_transposed_convolution_is_the_transpose(spec):
    T = ConvMatrix(spec)
    r, c, wi = transposed_pattern(spec)
    assert BilinearTable(c, wi, r, np.ones(len(r))) == T.table


def test_torch_float64_on_integers_agrees_exactly():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F
    rng = np.random.default_rng(0)
    for spec in [ConvSpec.make((9, 8), (3, 2), in_channels=4, out_channels=6, groups=2, stride=(2, 1),
                               padding=(1, 2), dilation=(2, 1)),
                 ConvSpec.make((14, 14), (5, 5), in_channels=6, out_channels=16)]:
        u = rng.integers(-100, 101, spec.n_in)
        w = rng.integers(-100, 101, spec.n_weights)
        got = F.conv2d(torch.tensor(u, dtype=torch.float64).reshape(1, *spec.input_shape),
                       torch.tensor(w, dtype=torch.float64).reshape(spec.weight_shape),
                       stride=spec.stride, padding=tuple(p[0] for p in spec.padding),
                       dilation=spec.dilation, groups=spec.groups)
        want = ConvMatrix(spec).numeric(w, np.int64) @ u
        assert np.array_equal(got.reshape(-1).numpy().astype(np.int64), want)


def test_symbolic_matrix_of_the_lecture_example_is_toeplitz():
    x, y, z = sympy.symbols("x y z")
    T = ConvMatrix(ConvSpec.make(6, 3, padding="full", convolution=True)).symbolic([z, y, x])
    assert T.shape == (8, 6)
    assert all(T[i, j] == T[i + 1, j + 1] for i in range(7) for j in range(5))
    assert list(T.col(0)) == [z, y, x, 0, 0, 0, 0, 0]


def test_im2col_form_equals_matrix_form():
    spec = ConvSpec.make((4, 4), (2, 3), in_channels=2, out_channels=3, stride=(1, 2), padding=1)
    u, w = input_symbols(spec), weight_symbols(spec)
    T = ConvMatrix(spec)
    a = T.symbolic(w) * sympy.Matrix(u)
    b = T.im2col(u) * sympy.Matrix(w)
    assert (a - b).expand() == sympy.zeros(spec.n_out, 1)


def test_bilinear_table_detects_a_wrong_entry():
    spec = ConvSpec.make((5, 5), (3, 3), in_channels=2, out_channels=2, padding=1)
    T = ConvMatrix(spec)
    good = sum_formula_table(spec)
    assert T.table == good
    widx = T.widx.copy()
    widx[17] = (widx[17] + 1) % spec.n_weights           # one entry holds the wrong weight
    bad = BilinearTable(T.rows, widx, T.cols, np.ones(T.nnz))
    assert bad != good
    diff = bad.first_difference(good)
    assert diff is not None and diff[0] == T.rows[17]


def test_bilinear_table_from_expressions_matches_and_rejects_non_bilinear():
    spec = ConvSpec.make(5, 2, padding=1)
    u, w = input_symbols(spec), weight_symbols(spec)
    tb = BilinearTable.from_expressions(sum_formula(spec, u, w), w, u)
    assert tb == ConvMatrix(spec).table
    with pytest.raises(SpecError, match="not an integer multiple"):
        BilinearTable.from_expressions([u[0] * u[1]], w, u)


def test_numeric_rejects_wrong_weight_count():
    with pytest.raises(SpecError, match="weight: 4 entries, the geometry needs 3"):
        ConvMatrix(ConvSpec.make(5, 3)).numeric(np.ones(4))


def test_real_layer_nonzero_counts():
    c3 = ConvMatrix(ConvSpec.make((14, 14), (5, 5), in_channels=6, out_channels=16))
    assert c3.shape == (1600, 1176) and c3.nnz == 240_000          # 16·100 outputs × 150 taps
    r20 = ConvMatrix(ConvSpec.make((32, 32), (3, 3), in_channels=16, out_channels=16, padding=1))
    # 16·16 channel pairs × (30² interior·9 + 4·30 edges·6 + 4 corners·4) taps inside the image
    assert r20.nnz == 256 * (900 * 9 + 120 * 6 + 4 * 4) == 2_262_016
