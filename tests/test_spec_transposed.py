"""cnnspec.spec.transposed: the transposed convolution's matrix, its size, and the oracle equal to it."""
import doctest
import importlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnspec import oracle
from cnnspec.spec.convolution import SpecError
from cnnspec.spec.transposed import (TransposedMatrix, TransposedSpec, transpose_of_matching,
                                     transposed_output_size)

transposed = importlib.import_module("cnnspec.spec.transposed")


def test_doctests():
    assert doctest.testmod(transposed).failed == 0


@st.composite
def specs(draw):
    nd = draw(st.integers(1, 3))
    g = draw(st.integers(1, 2))
    ax = lambda lo, hi: tuple(draw(st.integers(lo, hi)) for _ in range(nd))  # noqa: E731
    s, d = ax(1, 3), ax(1, 2)
    op = tuple(draw(st.integers(0, max(a, b) - 1)) for a, b in zip(s, d))
    pads = tuple((draw(st.integers(0, 1)), draw(st.integers(0, 1))) for _ in range(nd))
    try:
        return TransposedSpec.make(ax(1, 3), ax(1, 3), in_channels=g * draw(st.integers(1, 2)),
                                   out_channels=g * draw(st.integers(1, 2)), groups=g, stride=s,
                                   padding=pads, dilation=d, output_padding=op)
    except SpecError:
        return draw(st.nothing())


@settings(max_examples=60)
@given(specs(), st.integers(0, 2 ** 32 - 1))
def test_oracle_equals_the_scatter_matrix_and_t_transpose(spec, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, (2, *spec.input_shape))
    w = rng.integers(-3, 4, spec.weight_shape)
    T = TransposedMatrix(spec)
    assert T.table == transpose_of_matching(spec)
    want = (T.numeric(w) @ x.reshape(2, -1).T).T.reshape(2, *spec.output_shape)
    got = oracle.conv_transpose(x.astype(float), w.astype(float), None, spec.stride, list(spec.padding),
                                spec.output_padding, spec.groups, spec.dilation)
    assert np.array_equal(got, want)


def test_output_size_formula_matches_torch():
    for n, k, s, p, d, a in [(16, 2, 2, 0, 1, 0), (8, 3, 2, 1, 1, 1), (5, 4, 3, 2, 2, 1), (1, 1, 1, 0, 1, 0)]:
        m = F.conv_transpose1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), None, s, p, a, 1, d).shape[-1]
        assert transposed_output_size(n, k, s, p, d, a) == m == (n - 1) * s - 2 * p + d * (k - 1) + a + 1


@pytest.mark.parametrize("kwargs,word", [
    (dict(stride=2, output_padding=2), "output-padding"),
    (dict(stride=1, dilation=1, output_padding=1), "output-padding"),
    (dict(padding="same"), "padding"),
    (dict(padding=3), "padding"),
])
def test_bad_geometry_is_one_line(kwargs, word):
    with pytest.raises(SpecError) as e:
        TransposedSpec.make(3, 2, **kwargs)
    assert str(e.value).startswith(word + ":") and "\n" not in str(e.value)


def test_a_broken_transpose_is_caught():
    """Reading the weight as (C_out, C_in/g) instead of (C_in, C_out/g) changes the table."""
    spec = TransposedSpec.make((3, 3), (2, 2), in_channels=2, out_channels=3, stride=2)
    T = TransposedMatrix(spec)
    ci, co = np.unravel_index(T.widx, spec.weight_shape)[:2]
    swapped = transposed.BilinearTable(T.rows, (co * 2 + ci) * 4 + T.widx % 4, T.cols, np.ones(T.rows.size))
    assert swapped != transpose_of_matching(spec)
