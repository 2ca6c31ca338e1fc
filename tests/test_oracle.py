"""cnnspec.oracle: proven equal to the spec's convolution matrices, exact, and bounded honestly.

Layers (STYLE.md): literal cases; properties over generated geometries against the Toeplitz form
(cnnspec.spec.toeplitz.ConvMatrix) and exact rationals; comparison with torch as an independent
implementation.
"""
import doctest
from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnspec import oracle
from cnnspec.spec.convolution import ConvSpec
from cnnspec.spec.toeplitz import ConvMatrix
from cnnspec.strategies import conv_cases, pool_cases


def test_doctests():
    assert doctest.testmod(oracle).failed == 0


def test_lecture_example_full_convolution_as_correlation():
    # s = x*b + y*c + z*d is entry 1 of the full 1-D convolution of [a..f] with [z, y, x] flipped
    u = np.arange(1, 7, dtype=float).reshape(1, 1, 6)          # a..f = 1..6
    w = np.array([[[3.0, 2.0, 1.0]]])                           # correlation with (x, y, z) = (3, 2, 1)
    y = oracle.conv1d(u, w, padding=2)
    assert y.tolist() == [[[1.0, 4.0, 10.0, 16.0, 22.0, 28.0, 27.0, 18.0]]]


def _spec(c):
    return ConvSpec.make(c["size"], c["kernel"], in_channels=c["C_in"], out_channels=c["C_out"],
                         groups=c["groups"], stride=c["stride"], padding=c["padding"],
                         dilation=c["dilation"])


@settings(max_examples=60)
@given(st.sampled_from([1, 2]).flatmap(lambda nd: conv_cases(ndim=nd, dtype="float32")))
def test_conv_equals_the_toeplitz_matrix_exactly(c):
    spec = _spec(c)
    T = ConvMatrix(spec).numeric(c["weight"].astype(np.int64))
    n = c["x"].shape[0]
    want = (T @ c["x"].reshape(n, -1).astype(np.int64).T).T.reshape(n, *spec.output_shape)
    if c["bias"] is not None:
        want = want + c["bias"].astype(np.int64).reshape(-1, *[1] * spec.ndim)
    got = oracle.conv(c["x"], c["weight"], c["bias"], c["stride"], c["padding"], c["dilation"], c["groups"])
    assert got.dtype == np.float64 and np.array_equal(got, want)


@settings(max_examples=15)
@given(conv_cases(ndim=2, max_side=5, max_channels=2))
def test_rational_data_are_exact_like_toeplitz_apply(c):
    x = np.vectorize(lambda v: Fraction(int(v), 7), otypes=[object])(c["x"][:1])
    got = oracle.conv(x, c["weight"], None, c["stride"], c["padding"], c["dilation"], c["groups"])
    want = ConvMatrix(_spec(c)).apply(c["weight"].reshape(-1).astype(int), list(x.reshape(-1)))
    assert list(got.reshape(-1)) == list(want)


def test_data_beyond_float64_fall_back_to_integers():
    x = np.array([[[2.0 ** 40, 1.0]]])
    w = np.array([[[2.0 ** 20, 1.0]]])
    y = oracle.conv(x, w)
    assert y.dtype == object and y[0, 0, 0] == 2 ** 60 + 1


def test_certificate():
    x, w = np.full((1, 1, 4), 3.0), np.full((1, 1, 2), 2.0)
    cert = oracle.certificate(x, w, np.array([1.0]), taps=2, dtype="float16")
    assert cert["value"] == 13 and cert["limit"] == 2 ** 11 and cert["holds"]
    assert not oracle.certificate(x * 0.5, w, None, 2)["holds"]          # not integers
    assert not oracle.certificate(x * 2 ** 22, w, None, 2, "float32")["holds"]


@settings(max_examples=30)
@given(st.sampled_from([1, 2]).flatmap(lambda nd: conv_cases(ndim=nd)))
def test_torch_agrees_bit_for_bit_on_certified_data(c):
    fn = F.conv1d if len(c["size"]) == 1 else F.conv2d
    t = lambda a: None if a is None else torch.tensor(a, dtype=torch.float32)  # noqa: E731
    got = fn(t(c["x"]), t(c["weight"]), t(c["bias"]), **{**c["kwargs"], "groups": c["groups"]})
    assert np.array_equal(got.double().numpy(), oracle.conv(c["x"], c["weight"], c["bias"], c["stride"],
                                                            c["padding"], c["dilation"], c["groups"]))


def test_gamma_and_error_bound_hold_for_torch_float32():
    assert oracle.gamma(1, "float32") == pytest.approx(2 ** -24 / (1 - 2 ** -24))
    assert oracle.gamma(2 ** 24, "float32") == np.inf
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 8, 12, 12)).astype(np.float32)
    w = rng.standard_normal((6, 8, 3, 3)).astype(np.float32)
    y = F.conv2d(torch.tensor(x), torch.tensor(w), padding=1).double().numpy()
    exact = oracle.conv(x.astype(np.float64), w.astype(np.float64), padding=1, exact=False)
    bound = oracle.error_bound(x, w, padding=1, dtype="float32")
    assert np.all(np.abs(y - exact) <= bound) and np.any(y != exact)


@settings(max_examples=40)
@given(pool_cases(kind="max", special=True))
def test_max_pool_matches_torch_including_nan_and_inf(c):
    got = F.max_pool2d(torch.tensor(c["x"]), **c["kwargs"]).numpy()
    want = oracle.max_pool2d(c["x"], c["kernel"], c["stride"], c["padding"], c["dilation"], c["ceil_mode"])
    assert np.array_equal(got, want, equal_nan=True)


@settings(max_examples=40)
@given(pool_cases(kind="avg"))
def test_avg_pool_sums_and_divisors_match_torch(c):
    sums, div = oracle.avg_pool2d_parts(c["x"], c["kernel"], c["stride"], c["padding"], c["ceil_mode"],
                                        c["count_include_pad"])
    got = F.avg_pool2d(torch.tensor(c["x"]), **c["kwargs"]).numpy()
    assert np.allclose(got * div, sums, rtol=1e-14, atol=1e-12)
