"""The exact tier's data fit the run's dtype: every sum a claim compares bit for bit is an integer
of that dtype in any order of summation (bfloat16: 2^8, float16: 2^11), so a correct target at
bfloat16 or float16 is not failed for rounding a value the dtype cannot hold (at bfloat16, torch's
own avg_pool2d, adaptive pools and autograd were: 351 -> 352, -567.75 -> -568, -311 -> -312)."""
import math

import numpy as np
import pytest
from hypothesis import find, given, settings

from cnnspec.conformance import conv_claims as cc
from cnnspec.conformance import conv_family_claims as cf
from cnnspec.conformance import pool_claims as pc
from cnnspec.conformance import pool_family_claims as pf
from cnnspec.oracle import PRECISION
from cnnspec.strategies import exact_bounds

FEW = settings(max_examples=60, deadline=None, database=None)


def test_exact_bounds_keep_what_fits_and_fall_back_to_the_smallest():
    assert exact_bounds([1, 9, 1000], 16, "float32") == [1, 9, 1000]
    assert exact_bounds([1, 9, 1000], 16, "bfloat16") == [1, 9]          # 16·9 = 144 <= 256
    assert exact_bounds([1, 9, 1000], 16, "float16") == [1, 9]           # 16·1000 > 2048
    assert exact_bounds([1, 2, 4], 27, "bfloat16", power=3) == [1, 2]    # 27·8 = 216, 27·64 > 256
    assert exact_bounds([9, 1000], 1000, "bfloat16") == [9]              # none fits: the smallest


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_uniform_average_windows_sum_within_the_dtype(dtype):
    @FEW
    @given(pc._uniform_cases(dtype))
    def check(c):
        assert math.prod(c["kernel"]) * np.abs(c["x"]).max() <= 2 ** PRECISION[dtype]
    check()


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("op", ["adaptive_avg_pool2d", "adaptive_max_pool3d"])
def test_dividing_adaptive_windows_sum_within_the_dtype(op, dtype):
    @FEW
    @given(pf._dividing(op, dtype))
    def check(c):
        assert math.prod(c["kernel"]) * np.abs(c["x"]).max() <= 2 ** PRECISION[dtype]
    check()


@pytest.mark.parametrize("op, power", [("avg_pool2d", 1), ("adaptive_avg_pool3d", 1), ("lp_pool2d", 3)])
def test_global_windows_sum_within_bfloat16(op, power):
    @FEW
    @given(pf._global(op, "bfloat16"))
    def check(c):
        assert math.prod(c["size"]) * np.abs(c["x"]).max() ** power <= 2 ** 8
    check()


def _peak(c):
    mags = cc.grad_expected({**c, "x": np.abs(c["x"]), "weight": np.abs(c["weight"]), "grad": np.abs(c["grad"])})
    return max(float(np.max(m, initial=0)) for m in mags)


@pytest.mark.parametrize("strategy", [lambda d: cc._grad_cases(2, d), lambda d: cc._grad_cases(1, d),
                                      lambda d: cf._grad_cases3d(d)], ids=["conv2d", "conv1d", "conv3d"])
def test_every_gradient_sum_is_an_integer_of_bfloat16(strategy):
    seen = []

    @FEW
    @given(strategy("bfloat16"))
    def check(c):
        assert _peak(c) < 2 ** 8
        seen.append(np.abs(c["grad"]).max(initial=0))
    check()
    assert max(seen) >= 1                       # the gradients are not all zeroed away


def test_exact_gradients_changes_nothing_that_already_fits():
    c = {"N": 1, "C_in": 1, "C_out": 1, "groups": 1, "size": (3, 3), "kernel": (2, 2), "stride": (1, 1),
         "padding": (0, 0), "dilation": (1, 1), "x": np.full((1, 1, 3, 3), 3.0), "weight": np.ones((1, 1, 2, 2)),
         "bias": np.zeros(1), "grad": np.full((1, 1, 2, 2), 2.0)}
    assert cc.exact_gradients(c, "float32") is c
    small = cc.exact_gradients({**c, "x": np.full((1, 1, 3, 3), 200.0)}, "bfloat16")
    assert _peak(small) < 2 ** 8 and np.abs(small["x"]).max() < 200 and np.all(small["x"] == np.trunc(small["x"]))


@pytest.mark.parametrize("strategy", [lambda: pf._dividing("adaptive_avg_pool2d", "float32"),
                                      lambda: pc._uniform_cases("float32"),
                                      lambda: pf._global("avg_pool2d", "float32")],
                         ids=["dividing", "uniform", "global"])
def test_float32_still_draws_the_large_magnitudes(strategy):
    # at float32 every bound fits: the strategies were not narrowed where nothing needed it
    found = find(strategy(), lambda c: np.abs(c["x"]).max() > 9, settings=settings(database=None))
    assert np.abs(found["x"]).max() > 9
