"""cnnspec.assert_conforms (cnnspec/conformance/api.py): the claims in a user's own test, in one call."""
import doctest

import numpy as np
import pytest

import cnnspec
from cnnspec.conformance import api
from cnnspec.conformance.shims.numpy_ops import conv2d, max_pool2d
from cnnspec.errors import UsageError


def test_the_documented_examples_run():
    failures, tried = doctest.testmod(api, optionflags=doctest.ELLIPSIS)
    assert tried >= 4 and failures == 0


def test_a_correct_op_passes_and_a_lambda_works():
    cnnspec.assert_conforms(lambda x, *a, **k: max_pool2d(x, *a, **k), "max_pool2d", examples=5,
                            claims=["conformance.max_pool.values", "conformance.pool.shape"])


def test_a_wrong_op_raises_with_the_counterexample_and_a_snippet_that_asserts():
    def off_by_one(x, weight, bias=None, **kw):
        y = conv2d(x, weight, bias, **kw)
        y[..., -1] += 1
        return y
    with pytest.raises(AssertionError) as e:
        cnnspec.assert_conforms(off_by_one, "conv2d", examples=10, claims=["conformance.conv.values"])
    text = str(e.value)
    assert text.startswith("1 of 1 claims of conv2d fail for ")
    assert "but should be" in text and "assert np.array_equal(got, expected" in text


def test_an_op_that_modifies_its_input_fails():
    def scribbles(x, weight, bias=None, **kw):
        y = conv2d(x, weight, bias, **kw)
        x[...] = 0
        return y
    results = api.conformance_results(scribbles, "conv2d", examples=4, claims=["conformance.conv.values"])
    assert results[0].status == "fail" and "modified its input x" in results[0].message


def test_warnings_fail_only_when_strict():
    def lenient(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        return conv2d(x, weight, bias, max(stride, 1) if isinstance(stride, int) else tuple(max(s, 1) for s in stride),
                      padding if np.min(padding) >= 0 else 0, dilation if np.min(dilation) >= 1 else 1, groups)
    cnnspec.assert_conforms(lenient, "conv2d", examples=4, claims=["conformance.conv.invalid"])
    with pytest.raises(AssertionError, match="conformance.conv.invalid: accepts stride=0"):
        cnnspec.assert_conforms(lenient, "conv2d", examples=4, claims=["conformance.conv.invalid"], strict=True)


def test_bad_options_name_the_argument():
    with pytest.raises(UsageError, match=r"^claims: 'conformance.nope' is not a claim of conv2d"):
        cnnspec.assert_conforms(conv2d, "conv2d", claims=["conformance.nope"])
    with pytest.raises(UsageError, match=r"^array: 'jax' is not one of numpy, torch"):
        cnnspec.assert_conforms(conv2d, "conv2d", array="jax")
