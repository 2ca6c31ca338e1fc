"""cnnspec.conformance.properties: the one grammar of a mismatch, drawing cases, result checks."""
import numpy as np
import pytest

from cnnspec.conformance.isolation import Result
from cnnspec.conformance.properties import (OpContext, call_words, compare, draw_cases, first_mismatch,
                                            fmt, result_problem)
from cnnspec.strategies import conv_cases


@pytest.mark.parametrize("value,text", [(5.0, "5"), (-0.5, "-0.5"), (float("nan"), "nan"),
                                        (float("inf"), "inf"), (2.0 ** 60, repr(2.0 ** 60)), ((2, 1), "(2, 1)")])
def test_fmt_prints_values_as_the_grammar_does(value, text):
    assert fmt(value) == text


def test_call_words_names_the_call_and_the_shapes():
    case = {"kwargs": {"stride": (2, 1), "groups": 2}}
    x, w = np.zeros((1, 2, 5, 5)), np.zeros((4, 1, 3, 2))
    assert call_words("conv2d", case, x=x, weight=w, bias=None) == \
        "conv2d(stride=(2, 1), groups=2) x(1,2,5,5) weight(4,1,3,2)"


def test_first_mismatch_treats_nan_as_equal_to_nan_and_finds_the_first_difference():
    a = np.array([[1.0, np.nan], [3.0, 4.0]])
    assert first_mismatch(a, a.copy()) is None
    b = a.copy()
    b[1, 0] = 7.0
    assert first_mismatch(b, a) == (1, 0)
    c = a.copy()
    c[0, 1] = 0.0   # NaN expected, a number given: a mismatch
    assert first_mismatch(c, a) == (0, 1)


def test_compare_speaks_the_grammar():
    got, want = np.array([[1.0, 5.0, 2.0]]), np.array([[1.0, 7.0, 3.0]])
    f = compare(got, want, "out", "conv1d() x(1,1,5)")
    assert f.line == "out[0,1]=5, but should be 7 [conv1d() x(1,1,5)] (2 of 3 entries differ)"
    assert f.expected == want.tolist() and f.got == got.tolist()
    assert compare(want, want.copy(), "out", "c") is None


def _ctx(dtype="float32"):
    return OpContext(worker=None, op="conv2d", target="m:f", array="numpy", dtype=dtype)


def test_result_problem_names_raised_calls_wrong_shapes_and_dtypes():
    raised = Result(False, error="ValueError: bad", raised=True)
    assert result_problem(raised, "out", (1, 2), _ctx(), "conv2d()").line == \
        "conv2d() raised ValueError: bad, but should return out of shape (1, 2)"
    shaped = Result(True, np.zeros((1, 3)), dtype="float32")
    assert "out.shape=(1, 3), but should be (1, 2)" in result_problem(shaped, "out", (1, 2), _ctx(), "c").line
    typed = Result(True, np.zeros((1, 2)), dtype="float64")
    assert "out.dtype=float64, but should be float32" in result_problem(typed, "out", (1, 2), _ctx(), "c").line
    assert result_problem(Result(True, np.zeros((1, 2)), dtype="float32"), "out", (1, 2), _ctx(), "c") is None


def test_draw_cases_is_a_function_of_the_seed():
    a = draw_cases(conv_cases(ndim=1), 5, seed=3)
    b = draw_cases(conv_cases(ndim=1), 5, seed=3)
    c = draw_cases(conv_cases(ndim=1), 5, seed=4)
    key = lambda cases: [(k["x"].tobytes(), k["weight"].tobytes(), repr(k["kwargs"])) for k in cases]  # noqa: E731
    assert len(a) == 5 and key(a) == key(b) and key(a) != key(c)


def test_a_pad_calls_words_carry_its_pad_tuple():
    # the pad tuple is a positional argument of pad, not a keyword: every claim's words name it
    case = {"pad": [0, -1], "kwargs": {"mode": "constant"}}
    assert call_words("pad", case, x=np.zeros((1, 1, 5))) == "pad(pad=(0, -1), mode='constant') x(1,1,5)"
    assert call_words("conv2d", {"kwargs": {"stride": 2}}, x=np.zeros((1, 1, 5, 5))) == "conv2d(stride=2) x(1,1,5,5)"
