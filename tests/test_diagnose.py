"""cnnspec.conformance.diagnose: name the convention a wrong target follows, and none for a right one."""
import numpy as np

from cnnspec import oracle
from cnnspec.conformance.diagnose import VARIANTS, conv_args, diagnose
from cnnspec.conformance.isolation import Result


def _case(padding=(0, 0), kernel=(2, 3), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, (1, 2, 5, 6)).astype(np.float64)
    w = rng.integers(-3, 4, (2, 2, *kernel)).astype(np.float64)
    return {"size": (5, 6), "x": x, "weight": w, "bias": None, "stride": (1, 1), "padding": padding,
            "dilation": (1, 1), "groups": 1, "kwargs": {"padding": padding}}


def _expected(case):
    return oracle.conv(case["x"], case["weight"], None, **conv_args(case))


def _as_target(fn, cases):
    return [(c, Result(True, fn(c))) for c in cases]


def test_a_correct_target_gets_no_diagnosis():
    cases = [_case(seed=s) for s in range(3)]
    assert diagnose("conv2d", _as_target(_expected, cases), _expected) == ""


def test_a_flipped_kernel_is_named():
    cases = [_case(seed=s) for s in range(3)]
    flipped = lambda c: oracle.conv(c["x"], np.flip(c["weight"], (2, 3)), None, **conv_args(c))  # noqa: E731
    assert diagnose("conv2d", _as_target(flipped, cases), _expected) == \
        "the target computes a true convolution (kernel flipped), not cross-correlation"


def test_padding_on_one_side_is_named():
    cases = [_case(padding=(1, 1), seed=s) for s in range(3)]

    def high_side(c):
        xp = np.pad(c["x"], [(0, 0), (0, 0), (0, 2), (0, 2)])
        return oracle.conv(xp, c["weight"], None, padding=0)

    words = diagnose("conv2d", _as_target(high_side, cases), _expected)
    assert words.startswith("the target pads") and "one side" in words, words


def test_an_unexplained_error_gets_no_diagnosis():
    cases = [_case(seed=s) for s in range(3)]
    off_by_one = lambda c: _expected(c) + 1   # noqa: E731 - no named convention adds one
    assert diagnose("conv2d", _as_target(off_by_one, cases), _expected) == ""


def test_every_op_has_variants_with_names():
    from cnnspec.conformance import OPS
    assert {"conv1d", "conv2d", "max_pool2d", "avg_pool2d"} <= set(VARIANTS) <= set(OPS)
    for op, variants in VARIANTS.items():
        assert variants and all(isinstance(name, str) and callable(fn) for name, fn in variants), op


def test_max_pools_lowest_finite_start_is_named_with_the_runs_dtype():
    # a window wholly in the padding (dilation 3) is -inf exactly; a target that starts its maximum
    # at the dtype's lowest finite value gives that value instead, and only the run's dtype names it
    from cnnspec.conformance.pool_claims import expected
    x = np.array([[[[1.0, 2.0]]]])
    case = {"size": (1, 2), "x": x, "kernel": (1, 2), "stride": (1, 2), "padding": (0, 1),
            "dilation": (1, 3), "ceil_mode": False, "kwargs": {}}
    assert np.isneginf(expected(case)).any()
    low16 = float(np.finfo(np.float16).min)
    pairs = [(case, Result(True, np.maximum(expected(case), low16)))]
    assert diagnose("max_pool2d", pairs, expected, dtype="float16") == \
        "the target pads (or starts) max pooling with the lowest finite value -65504, not −inf"
    assert diagnose("max_pool2d", pairs, expected, dtype="float32") == ""
