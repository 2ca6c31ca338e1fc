"""cnnspec.strategies: a public API, so its bounds are validated and its draws obey the rules."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis.errors import InvalidArgument

from cnnspec import oracle
from cnnspec.conformance.properties import draw_cases
from cnnspec.spec.convolution import ConvSpec
from cnnspec.strategies import (conv_cases, conv_params, float_arrays, int_arrays, pool_cases,
                                pool_params, round_to)


@pytest.mark.parametrize("make,words", [
    (lambda: conv_params(min_side=3, max_side=1), "min_side=3 is larger than max_side=1"),
    (lambda: conv_params(min_batch=4, max_batch=2), "min_batch=4 is larger than max_batch=2"),
    (lambda: conv_params(max_kernel=0), "max_kernel=0 must be a positive integer"),
    (lambda: conv_params(ndim=3), "ndim=3 must be 1 or 2"),
    (lambda: conv_cases(dtype="int8"), "dtype='int8' is not one of"),
    (lambda: int_arrays((2,), bound=0), "bound=0 must be a positive integer"),
    (lambda: int_arrays((2,), bound=3, sign="odd"), "sign='odd' must be"),
    (lambda: pool_params(kind="min"), "kind='min' must be 'max' or 'avg'"),
    (lambda: pool_cases(max_stride=1.5), "max_stride=1.5 must be a positive integer"),
])
def test_bad_bounds_raise_naming_the_argument(make, words):
    with pytest.raises(InvalidArgument, match=None) as e:
        make()
    assert words in str(e.value)


@settings(max_examples=40)
@given(conv_cases(ndim=2, dtype="float16"))
def test_conv_cases_are_valid_geometries_with_a_certificate(c):
    spec = ConvSpec.make(c["size"], c["kernel"], in_channels=c["C_in"], out_channels=c["C_out"],
                         groups=c["groups"], stride=c["stride"], padding=c["padding"],
                         dilation=c["dilation"])
    assert c["x"].shape == (c["N"], *spec.input_shape) and c["weight"].shape == spec.weight_shape
    assert oracle.certificate(c["x"], c["weight"], c["bias"], spec.taps, "float16")["holds"]


@settings(max_examples=40)
@given(pool_cases(kind="max"))
def test_pool_cases_are_accepted_by_torch(c):
    y = F.max_pool2d(torch.tensor(c["x"]), **c["kwargs"])
    assert y.shape[2:] == tuple(oracle.max_pool2d(c["x"], c["kernel"], c["stride"], c["padding"],
                                                  c["dilation"], c["ceil_mode"]).shape[2:])


def test_draws_reach_the_edges_where_kernels_break():
    convs = draw_cases(conv_cases(ndim=2), 150, seed=3)
    pools = draw_cases(pool_cases(kind="max", special=True), 100, seed=3)
    seen = {
        "non-square kernel": any(c["kernel"][0] != c["kernel"][1] for c in convs),
        "stride>1 with dilation>1": any(s > 1 and d > 1 for c in convs for s, d in zip(c["stride"], c["dilation"])),
        "padding k//2": any(p == c["dilation"][0] * (c["kernel"][0] - 1) // 2 > 0 for c in convs for p in c["padding"][:1]),
        "size not divisible by stride": any((n + 2 * p - d * (k - 1) - 1) % s for c in convs for n, k, s, p, d in
                                            zip(c["size"], c["kernel"], c["stride"], c["padding"], c["dilation"])),
        "groups>1": any(c["groups"] > 1 for c in convs),
        "N>1 and C_in>1": any(c["N"] > 1 and c["C_in"] > 1 for c in convs),
        "all-negative input": any(np.all(c["x"] < 0) for c in convs),
        "defaults left out": any("stride" not in c["kwargs"] for c in convs),
        "NaN in a pool": any(np.isnan(c["x"]).any() for c in pools),
        "pool stride=None": any(c["kwargs"].get("stride", None) is None for c in pools),
        "ceil_mode": any(c["ceil_mode"] for c in pools),
        "certificate edge": any(c["cert"][0] * c["cert"][1] * c["cert"][2] > 2 ** 22 for c in convs),
    }
    assert all(seen.values()), [k for k, v in seen.items() if not v]


def test_round_to_bfloat16_matches_torch():
    a = np.random.default_rng(0).standard_normal(1000) * 100
    want = torch.tensor(a, dtype=torch.float32).to(torch.bfloat16).double().numpy()
    assert np.array_equal(round_to(a, "bfloat16"), want)
    x = draw_cases(float_arrays((3, 4), dtype="float16"), 3, seed=0)[0]
    assert np.array_equal(x, x.astype(np.float16).astype(np.float64))
    assert math.isfinite(float(x.sum()))


def test_profiles_are_registered_once_and_the_suite_runs_under_ci(pytestconfig):
    from hypothesis import settings

    from cnnspec.strategies import PROFILES

    assert {n: settings.get_profile(n).max_examples for n in PROFILES} == {"cnnspec-ci": 40,
                                                                           "cnnspec-thorough": 1000}
    chosen = pytestconfig.getoption("hypothesis_profile", None) or "cnnspec-ci"
    assert settings.default.max_examples == settings.get_profile(chosen).max_examples
