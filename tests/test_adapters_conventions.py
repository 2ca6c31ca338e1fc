"""The convention detectors (``cnnspec.adapters.conventions``) on constructed outputs — each named
convention found, and no false alarm on correct outputs — and on real framework outputs where the
framework shows the behaviour."""
import importlib.util

import numpy as np
import pytest
import torch
import torch.nn.functional as tnf

import adapter_cases as A
from cnnspec.adapters.conventions import CONVENTIONS, diagnose
from cnnspec.strategies import round_to

NAN_X = np.array([[[[1., np.nan, 2., 0.], [2., 3., np.nan, -1.], [0., 0., 5., 1.], [np.nan, 1., 1., 1.]]]],
                 np.float32)
MINUS_INF = np.full((1, 1, 3, 3), -np.inf, np.float32)
X = A.ints(2, 3, 7, 6)


def _t(*a):
    return [torch.from_numpy(np.asarray(v, np.float64)) for v in a]


def _ids(found):
    return [f.split(":")[0] for f in found]


def test_every_convention_cites_a_public_source():
    assert len({c.id for c in CONVENTIONS}) == len(CONVENTIONS) == 10
    for c in CONVENTIONS:
        assert c.sources and all(s for s in c.sources) and c.words


@pytest.mark.parametrize("cid", [c for c, (op, _, _) in A.CASES.items() if op.startswith(("conv", "max", "avg"))])
def test_no_false_alarm_on_the_correct_answer(cid):
    # a false alarm is as serious as a miss: the exact answer itself shows no convention
    op, args, kw = A.CASES[cid]
    want = A.reference(op, args, kw)
    want = want[0] if isinstance(want, tuple) else want
    assert diagnose(op, args, kw, want.astype(np.float32), want) == []


def test_nan_fmax():
    kw = {"kernel_size": 2, "stride": 1}
    want = A.reference("max_pool2d", (NAN_X,), kw)
    fmax = tnf.max_pool2d(torch.from_numpy(np.nan_to_num(NAN_X, nan=-np.inf)), **kw).numpy()
    assert _ids(diagnose("max_pool2d", (NAN_X,), kw, fmax, want)) == ["nan-fmax"]


def test_max_pad_value_lowest_finite_and_nan():
    kw = {"kernel_size": 3, "stride": 1, "padding": 1}
    want = A.reference("max_pool2d", (MINUS_INF,), kw)
    lowest = np.full_like(MINUS_INF, np.finfo(np.float32).min)
    assert _ids(diagnose("max_pool2d", (MINUS_INF,), kw, lowest, want)) == ["max-pad-value"]
    assert "gives NaN" in diagnose("max_pool2d", (MINUS_INF,), kw, np.full_like(MINUS_INF, np.nan), want)[0]


def test_ceil_last_window_kept():
    x = A.ints(1, 1, 5, 5)
    kw = {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}
    want = A.reference("max_pool2d", (x,), kw)                       # torch: 3 x 3
    kept = np.zeros((1, 1, 4, 4), np.float32)                      # a rule that keeps the 4th window
    found = diagnose("max_pool2d", (x,), kw, kept, want)
    assert _ids(found) == ["ceil-last-window"] and "3)" in found[0]


def test_ceil_edge_divisor_counting_the_overhang():
    kw = {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}
    want = A.reference("avg_pool2d", (X,), kw)
    whole = tnf.avg_pool2d(*_t(X), **kw, divisor_override=9).numpy().astype(np.float32)
    found = diagnose("avg_pool2d", (X,), kw, whole, want)
    assert _ids(found) == ["ceil-edge-divisor"] and "whole kernel" in found[0]


@pytest.mark.parametrize("include", [True, False])
def test_count_include_pad_inverted(include):
    kw = {"kernel_size": 3, "stride": 1, "padding": 1, "count_include_pad": include}
    want = A.reference("avg_pool2d", (X,), kw)
    other = tnf.avg_pool2d(*_t(X), **{**kw, "count_include_pad": not include}).numpy().astype(np.float32)
    found = diagnose("avg_pool2d", (X,), kw, other, want)
    assert _ids(found) == ["count-include-pad"] and f"count_include_pad={not include}" in found[0]


def test_same_extra_pixel_before():
    x, w = A.ints(1, 2, 6, 5), A.ints(2, 2, 2, 4)
    kw = {"padding": "same"}                          # pads (0, 1), (1, 2): the odd pixel after
    want = A.reference("conv2d", (x, w), kw)
    before = tnf.conv2d(tnf.pad(*_t(x), (2, 1, 1, 0)), *_t(w)).numpy().astype(np.float32)
    found = diagnose("conv2d", (x, w), kw, before, want)
    assert _ids(found) == ["same-extra-pixel"] and "((1, 0), (2, 1))" in found[0]


@pytest.mark.parametrize("rounding", ["tf32", "bfloat16"])
def test_input_rounding(rounding):
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((1, 4, 8, 8)).astype(np.float32), rng.standard_normal((4, 4, 3, 3)).astype(np.float32)
    want = A.reference("conv2d", (x, w), {"padding": 1})
    rounded = tnf.conv2d(*_t(round_to(x, rounding), round_to(w, rounding)), padding=1).numpy().astype(np.float32)
    found = diagnose("conv2d", (x, w), {"padding": 1}, rounded, want)
    assert _ids(found) == ["input-rounding"] and rounding in found[0]
    assert diagnose("conv2d", (x, w), {"padding": 1}, want.astype(np.float32), want) == []


def test_reciprocal_average():
    kw = {"kernel_size": (7, 1), "stride": 1}      # divisor 7: 1/7 is inexact, so are most s * fl(1/7)
    want = A.reference("avg_pool2d", (X,), kw)
    sums = tnf.avg_pool2d(*_t(X), **kw, divisor_override=1).numpy().astype(np.float32)
    recip = sums * (np.float32(1) / np.float32(7))
    found = diagnose("avg_pool2d", (X,), kw, recip, want)
    assert _ids(found) == ["reciprocal-average"] and "within bound" in found[0]


# --- real framework outputs -------------------------------------------------------------------------

def _adapter(name):
    from cnnspec.adapters import FRAMEWORKS, load
    if importlib.util.find_spec(name) is None:
        pytest.skip(f"{name} is not installed: {FRAMEWORKS[name].install}")
    return load(name)


@pytest.mark.parametrize("framework", ["onnxruntime", "tinygrad", "tensorflow"])
def test_real_nan_fmax(framework):
    # these three return a number for some windows that hold a NaN (x86 maxps picks an operand)
    m = _adapter(framework)
    kw = {"kernel_size": 2, "stride": 1}
    found = diagnose("max_pool2d", (NAN_X,), kw, m.max_pool2d(NAN_X, **kw), A.reference("max_pool2d", (NAN_X,), kw))
    assert "nan-fmax" in _ids(found)


@pytest.mark.parametrize("framework", ["onnxruntime", "tensorflow"])
def test_real_lowest_finite_padding(framework):
    m = _adapter(framework)
    kw = {"kernel_size": 3, "stride": 1, "padding": 1}
    got = m.max_pool2d(MINUS_INF, **kw)
    assert _ids(diagnose("max_pool2d", (MINUS_INF,), kw, got, A.reference("max_pool2d", (MINUS_INF,), kw))) \
        == ["max-pad-value"]


@pytest.mark.parametrize("framework, kw", [
    ("jax", {"kernel_size": 2, "divisor_override": 3}),
    ("tinygrad", {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}),
])
def test_real_reciprocal_average(framework, kw):
    m = _adapter(framework)
    x = A.ints(2, 4, 7, 6)
    found = diagnose("avg_pool2d", (x,), kw, m.avg_pool2d(x, **kw), A.reference("avg_pool2d", (x,), kw))
    assert _ids(found) == ["reciprocal-average"]


def test_torch_shows_none_of_them():
    m = _adapter("torch")
    for x, op, kw in ((NAN_X, "max_pool2d", {"kernel_size": 2, "stride": 1}),
                      (MINUS_INF, "max_pool2d", {"kernel_size": 3, "stride": 1, "padding": 1}),
                      (X, "avg_pool2d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True})):
        assert diagnose(op, (x,), kw, getattr(m, op)(x, **kw), A.reference(op, (x,), kw)) == []


def test_real_onnxruntime_starts_its_max_at_the_lowest_float_without_padding():
    # found by `cnnspec validate cnnspec.adapters.onnxruntime:max_pool2d`: a 1x1 window over -inf
    m = _adapter("onnxruntime")
    x = np.array([[[[7.0]], [[-np.inf]]]], np.float32)
    got = m.max_pool2d(x, 1)
    assert got[0, 1, 0, 0] == np.finfo(np.float32).min
    assert _ids(diagnose("max_pool2d", (x,), {"kernel_size": 1}, got, x.astype(np.float64))) == ["max-pad-value"]


def test_lp_pool_with_absolute_values_is_named_and_torchs_own_is_not():
    from cnnspec import oracle
    x = np.array([[[[1., -3., 2., 0.], [-1., 1., 2., 2.]]]])
    want = oracle.lp_pool(x, 1, 2)                      # torch: sums, signs kept: [[-2, 6]]
    onnx = oracle.lp_pool(x, 1, 2, convention="onnx")   # Σ|x|: [[6, 6]]
    found = diagnose("lp_pool2d", (x,), {"norm_type": 1, "kernel_size": 2}, onnx.astype(np.float32), want)
    assert _ids(found) == ["lp-absolute-sum"] and "(1 outputs)" in found[0]
    assert diagnose("lp_pool2d", (x,), {"norm_type": 1, "kernel_size": 2}, want.astype(np.float32), want) == []


def test_float_requantisation_is_named_and_the_exact_one_is_not():
    from cnnspec import oracle
    from cnnspec.adapters.matrix_cells import cases
    _, args, kw, _ = cases("qlinear_conv2d")[1]
    exact = oracle.qlinear_conv2d(*args, **kw)
    assert diagnose("qlinear_conv2d", args, kw, exact, exact) == []
    off = exact.copy()
    off.reshape(-1)[0] += 1        # an off-by-one that float32 arithmetic does not explain
    assert diagnose("qlinear_conv2d", args, kw, off, exact) == []


def test_an_adaptive_average_by_a_rounded_reciprocal_is_named():
    # adaptive pooling to size 1 is an average over the whole plane: the same reciprocal diagnosis
    x = np.array([[[1., 2., 3., 4., 5., 6., 0.]]])          # sum 21 over 7 taps: exactly 3
    by_reciprocal = (np.float32(21) * (np.float32(1) / np.float32(7))).reshape(1, 1, 1)   # 3.0000002
    assert by_reciprocal[0, 0, 0] != np.float32(3)
    found = diagnose("adaptive_avg_pool1d", (x,), {"output_size": 1}, by_reciprocal, np.array([[[3.0]]]))
    assert _ids(found) == ["reciprocal-average"]
