"""cnnspec.spec.equivariance: circulants, the interior region, stride counterexamples."""
import itertools

import numpy as np
import pytest
import sympy

from cnnspec.spec.convolution import ConvSpec, SpecError
from cnnspec.spec.equivariance import (border_free, circular_spec, commuting_matrices,
                                       cyclic_shift_matrix, equivariance_by_row, interior,
                                       is_circulant, smallest_stride_counterexample)
from cnnspec.spec.toeplitz import ConvMatrix


def test_cyclic_shift_moves_entries():
    u = sympy.Matrix(sympy.symbols("u0:4"))
    assert list(cyclic_shift_matrix(4) * u) == [u[3], u[0], u[1], u[2]]


def test_circular_convolution_is_circulant_and_commutes():
    T = ConvMatrix(circular_spec(5, 3)).symbolic()
    assert is_circulant(T)
    P = cyclic_shift_matrix(5)
    assert (T * P - P * T).expand() == sympy.zeros(5, 5)
    Z = ConvMatrix(ConvSpec.make(5, 3, padding=1)).symbolic()   # zero padding breaks it
    assert not is_circulant(Z)


def test_commuting_matrices_are_circulant():
    A, free = commuting_matrices([cyclic_shift_matrix(4)])
    assert len(free) == 4 and is_circulant(A)


@pytest.mark.parametrize("n,k,s,p,d,conv", [
    (7, 3, 1, 1, 1, False), (7, 3, 1, "full", 1, True), (9, 3, 2, 2, 2, False), (8, 2, 2, "same", 1, False),
    (6, 1, 3, 0, 1, False),
])
def test_interior_is_exactly_where_equivariance_holds(n, k, s, p, d, conv):
    spec = ConvSpec.make(n, k, stride=s, padding=p, dilation=d, convolution=conv)
    for t in (s, -s, 2 * s):
        equal, predicted = equivariance_by_row(spec, (t,))
        assert np.array_equal(equal, predicted)


def test_interior_2d_with_channels():
    spec = ConvSpec.make((6, 5), (3, 3), in_channels=2, out_channels=3, padding=1)
    equal, predicted = equivariance_by_row(spec, (1, -1))
    assert np.array_equal(equal, predicted) and 0 < equal.sum() < equal.size


def test_border_free_rows_are_inside_the_interior():
    spec = ConvSpec.make((8, 8), (3, 3), padding=1)
    bf = border_free(spec)
    assert bf.sum() == 36                                         # the 6x6 centre
    for t in itertools.product((1, -1), repeat=2):
        inner = border_free(spec)
        inner_shifted = np.zeros_like(inner)
        # an output whose window and shifted window both avoid the padding is in the interior
        assert np.all(interior(spec, t)[1:-1, 1:-1] >= (bf[1:-1, 1:-1] & np.roll(bf, t, (0, 1))[1:-1, 1:-1]))


def test_interior_rejects_shifts_that_are_not_stride_multiples():
    with pytest.raises(SpecError, match="not a multiple of the stride"):
        interior(ConvSpec.make(8, 3, stride=2), (1,))


def test_smallest_counterexample_is_not_equivariant_and_stride_one_has_none():
    cex = smallest_stride_counterexample(2)
    T = ConvMatrix(circular_spec(cex["n"], cex["k"], 2)).numeric(np.array(cex["w"]), np.int64)
    u = np.array(cex["u"])
    assert list(T @ u) == cex["T_u"] and list(T @ np.roll(u, cex["shift"])) == cex["T_shifted_u"]
    assert smallest_stride_counterexample(1, max_n=4) is None
