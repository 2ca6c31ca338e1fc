"""cnnspec.oracle.integer: ONNX ConvInteger and QLinearConv, exact, against ONNX's own reference
evaluator (an independent implementation) and against per-entry Fraction arithmetic."""
import doctest
import importlib
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnspec import oracle
from cnnspec.errors import UsageError

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

integer = importlib.import_module("cnnspec.oracle.integer")
ONNX_TYPE = {np.dtype(np.uint8): TensorProto.UINT8, np.dtype(np.int8): TensorProto.INT8}


def test_doctests():
    assert doctest.testmod(integer).failed == 0


def _onnx(op: str, inputs: dict, **attrs) -> np.ndarray:
    names = list(inputs)
    node = helper.make_node(op, names, ["y"], **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(n, TensorProto.UNDEFINED, None)
                                            for n in names],
                              [helper.make_tensor_value_info("y", TensorProto.UNDEFINED, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    return ReferenceEvaluator(model).run(None, inputs)[0]


@st.composite
def int8_cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    xt, wt = draw(st.sampled_from([np.uint8, np.int8])), draw(st.sampled_from([np.uint8, np.int8]))
    lo = lambda t: np.iinfo(t).min  # noqa: E731
    hi = lambda t: np.iinfo(t).max  # noqa: E731
    g = draw(st.integers(1, 2))
    ci, co = g * draw(st.integers(1, 2)), g * draw(st.integers(1, 2))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    x = rng.integers(lo(xt), hi(xt) + 1, (draw(st.integers(1, 2)), ci, 5, 6)).astype(xt)
    w = rng.integers(lo(wt), hi(wt) + 1, (co, ci // g, *k)).astype(wt)
    zx = xt(rng.integers(lo(xt), hi(xt) + 1))
    per_channel = draw(st.booleans())
    zw = rng.integers(lo(wt), hi(wt) + 1, co if per_channel else ()).astype(wt)
    s, p, d = (draw(st.integers(1, 2)),) * 2, (draw(st.integers(0, 1)),) * 2, (1, draw(st.integers(1, 2)))
    return dict(x=x, w=w, zx=zx, zw=zw, g=g, s=s, p=p, d=d)


@settings(max_examples=30)
@given(int8_cases())
def test_conv_integer_equals_onnx_reference(c):
    want = _onnx("ConvInteger", {"x": c["x"], "w": c["w"], "zx": np.array(c["zx"]), "zw": c["zw"]},
                 strides=list(c["s"]), pads=list(c["p"]) * 2, dilations=list(c["d"]), group=c["g"])
    got = oracle.conv2d_integer(c["x"], c["w"], c["zx"], c["zw"], c["s"], c["p"], c["d"], c["g"])
    assert got.dtype == np.int32 and np.array_equal(got, want)


def test_zero_point_identity_on_a_layer():
    """conv(x−zx, w−zw) = conv(x,w) − zw·Σx − zx·Σw + K·zx·zw (no padding: every window is full)."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (2, 3, 6, 6)).astype(np.uint8)
    w = rng.integers(-128, 128, (4, 3, 3, 3)).astype(np.int8)
    zx, zw = 17, -5
    xi, wi = x.astype(np.int64), w.astype(np.int64)
    sum_x = oracle.conv(xi, np.ones((1, 3, 3, 3)), None)                 # Σx per window
    sum_w = wi.reshape(4, -1).sum(1).reshape(1, 4, 1, 1)
    K = 27
    want = oracle.conv(xi, wi) - zw * sum_x - zx * sum_w + K * zx * zw
    assert np.array_equal(oracle.conv2d_integer(x, w, zx, zw), want)


def _qlinear_fraction(acc, xs, ws, ys, zy, lo, hi):
    m = Fraction(float(np.float32(xs))) * Fraction(float(np.float32(ws))) / Fraction(float(np.float32(ys)))
    return np.vectorize(lambda a: min(hi, max(lo, round(Fraction(int(a)) * m) + zy)), otypes=[np.int64])(acc)


@settings(max_examples=25)
@given(int8_cases(), st.sampled_from([np.uint8, np.int8]), st.booleans())
def test_qlinear_conv_rounds_half_to_even_and_saturates(c, yt, pow2):
    """Exact against per-entry Fractions; against ONNX's float reference bit for bit when the scales
    are powers of two (its float arithmetic is then exact, ties included), else wherever the exact
    value is farther from a rounding tie than the reference's float error (3·2^-24 relative)."""
    rng = np.random.default_rng(abs(int(c["x"].astype(np.int64).sum())))
    xs, ws, ys = (np.float32(2.0 ** -int(rng.integers(0, 6))) if pow2 else np.float32(rng.uniform(0.01, 0.2))
                  for _ in range(3))
    zy = yt(rng.integers(np.iinfo(yt).min, np.iinfo(yt).max + 1))
    zw = c["zw"] if c["zw"].ndim == 0 else c["zw"][:1].reshape(())      # per-tensor w here
    b = rng.integers(-500, 500, c["w"].shape[0]).astype(np.int32)
    geo = dict(stride=c["s"], padding=c["p"], dilation=c["d"], groups=c["g"])
    got = oracle.qlinear_conv2d(c["x"], xs, c["zx"], c["w"], ws, zw, ys, zy, b, **geo)
    acc = oracle.conv_integer(c["x"], c["w"], c["zx"], zw, c["s"], c["p"], c["d"], c["g"]).astype(np.int64) \
        + b.reshape(1, -1, 1, 1)
    lo, hi = np.iinfo(yt).min, np.iinfo(yt).max
    assert got.dtype == yt and np.array_equal(got, _qlinear_fraction(acc, xs, ws, ys, int(zy), lo, hi))
    ref = _onnx("QLinearConv", {"x": c["x"], "xs": np.array(xs), "zx": np.array(c["zx"]), "w": c["w"],
                                "ws": np.array(ws), "zw": np.array(zw), "ys": np.array(ys),
                                "zy": np.array(zy), "b": b},
                strides=list(c["s"]), pads=list(c["p"]) * 2, dilations=list(c["d"]), group=c["g"])
    real = acc * (float(xs) * float(ws) / float(ys))
    near_tie = np.abs(real - np.floor(real) - 0.5) <= 3 * 2.0 ** -24 * np.abs(real) + 1e-12
    agree = got == ref
    assert np.all(agree) if pow2 else np.all(agree | near_tie)


def test_per_channel_scales_and_zero_points():
    x = np.array([[[[10, 20]]]], np.uint8)
    w = np.array([[[[3]]], [[[5]]]], np.uint8)
    got = oracle.qlinear_conv2d(x, 0.5, 0, w, np.array([1.0, 0.25], np.float32), np.array([1, 3], np.uint8),
                                1.0, np.uint8(2))
    # channel 0: (10, 20)·(3−1)·0.5 + 2 = (12, 22); channel 1: (10, 20)·(5−3)·0.125 + 2 = 4.5 → 4, 7
    assert got.tolist() == [[[[12, 22]], [[4, 7]]]]


@pytest.mark.parametrize("call,arg", [
    (lambda: oracle.conv2d_integer(np.ones((1, 1, 2, 2), np.uint8), np.ones((1, 1, 1, 1), np.uint8), 256),
     "x_zero_point"),
    (lambda: oracle.conv2d_integer(np.ones((1, 1, 2, 2), np.uint8), np.ones((1, 1, 1, 1), np.int8), 0, 128),
     "w_zero_point"),
    (lambda: oracle.conv2d_integer(np.ones((1, 1, 2, 2), np.int8), np.ones((1, 1, 1, 1), np.int8), -129),
     "x_zero_point"),
    (lambda: oracle.conv2d_integer(np.ones((1, 1, 2, 2)), np.ones((1, 1, 1, 1), np.int8)), "input"),
    (lambda: oracle.qlinear_conv2d(np.ones((1, 1, 2, 2), np.uint8), 0.0, 0, np.ones((1, 1, 1, 1), np.uint8),
                                   1.0, 0, 1.0, 0), "x_scale"),
    (lambda: oracle.qlinear_conv2d(np.ones((1, 1, 2, 2), np.uint8), 1.0, 0, np.ones((1, 1, 1, 1), np.uint8),
                                   1.0, 0, 1.0, np.uint8(0), np.ones(2, np.int32)), "bias"),
])
def test_bad_integer_arguments_are_one_line(call, arg):
    with pytest.raises(UsageError) as e:
        call()
    assert str(e.value).startswith(f"{arg}: ") and "\n" not in str(e.value)
