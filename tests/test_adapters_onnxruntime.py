"""The ONNX Runtime adapter (``cnnspec.adapters.onnxruntime``: one-node ``onnx.helper`` graphs on the
CPU execution provider) against ``torch.nn.functional`` on exact data, and the wrong translations
its tests must catch."""
import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="ONNX Runtime is not installed: pip install 'cnnspec[onnxruntime]'")

import adapter_cases as A  # noqa: E402
import cnnspec.adapters as ad  # noqa: E402
from cnnspec.adapters import NotExpressible  # noqa: E402
from cnnspec.adapters import onnxruntime as M  # noqa: E402


def _pads_interleaved(monkeypatch):
    # the classic ONNX mistake: [x1_begin, x1_end, x2_begin, x2_end] instead of all begins, then ends
    monkeypatch.setattr(M, "_onnx_pads", lambda p: [v for lo_hi in p for v in lo_hi])
    M._session.cache_clear()


globals().update(A.suite("onnxruntime", M, skips={"avg_pool2d/divisor-override", "adaptive_avg_pool2d/uneven"},
                         layout_wrong=_pads_interleaved, diverging=A.LP_DIVERGING))


def test_pads_interleaved_is_caught_on_lo_hi_pads(monkeypatch):
    _pads_interleaved(monkeypatch)
    fails, _ = A.run_cases(M, A.cases(["conv2d/lo-hi-pads", "max_pool2d/lo-hi-pads"]))
    assert set(fails) == {"conv2d/lo-hi-pads", "max_pool2d/lo-hi-pads"}


def test_sessions_are_cached_per_attribute_set():
    M._session.cache_clear()
    x, w = A.ints(1, 2, 5, 5), A.ints(3, 2, 3, 3)
    for _ in range(3):
        M.conv2d(x, w, padding=1)
    M.conv2d(A.ints(2, 2, 7, 6), w, padding=1)          # another shape, the same attributes
    assert M._session.cache_info().misses == 1 and M._session.cache_info().hits == 3
    M.conv2d(x, w, padding=2)
    assert M._session.cache_info().misses == 2


def test_indices_are_torch_plane_indices():
    # ONNX flattens Indices over N, C, H, W; torch indexes each plane: the adapter subtracts the offset
    x = A.ints(2, 3, 4, 4, lo=-50, hi=50)
    y, idx = M.max_pool2d(x, 2, return_indices=True)
    assert idx.dtype == np.int64 and idx.max() < 16
    assert np.array_equal(np.take_along_axis(x.reshape(2, 3, 16), idx.reshape(2, 3, -1), 2), y.reshape(2, 3, -1))


def test_divisor_override_is_not_expressible():
    with pytest.raises(NotExpressible, match="divisor_override .* not expressible in ONNX Runtime"):
        M.avg_pool2d(A.ints(1, 1, 4, 4), 2, divisor_override=3)


def test_a_dtype_without_cpu_kernel_is_a_kernel_gap_in_onnx_runtimes_words():
    # ONNX Runtime's CPU provider has no float64 Conv (ONNX's Conv does take double): a skip of that
    # dtype naming the provider's refusal, not a failure and not "not expressible"
    x, w = A.ints(1, 2, 5, 5).astype(np.float64), A.ints(3, 2, 3, 3).astype(np.float64)
    with pytest.raises(ad.NoKernel, match=r"ONNX Runtime has no float64 kernel on cpu: .*NOT_IMPLEMENTED"
                                          r".*implementation for Conv") as gap:
        M.conv2d(x, w)
    assert ad.no_kernel(gap.value, "float64") and not ad.no_kernel(gap.value, "float32")
    assert M.max_pool2d(x, 2).dtype == np.float64     # MaxPool has one


def test_framework_refusals_are_raised_not_hidden():
    # ONNX Runtime refuses pads >= kernel (torch refuses pads > kernel // 2); the adapter passes it on
    with pytest.raises(Exception, match="Pad should be smaller than kernel"):
        M.max_pool2d(A.ints(1, 1, 5, 5), 2, padding=2)


# --- the ops only ONNX has among the frameworks: checked in-process against cnnspec's exact oracle ------

def _uint8(*shape, hi=20):
    return A.RNG.integers(0, hi + 1, shape).astype(np.uint8)


@pytest.mark.parametrize("kwargs", [
    {"x_zero_point": np.uint8(3), "w_zero_point": np.uint8(2)},
    {"x_zero_point": np.uint8(7), "w_zero_point": np.uint8(1), "stride": (2, 1), "padding": (1, 2), "groups": 2},
])
def test_conv_integer_is_the_exact_oracle(kwargs):
    from cnnspec import oracle
    x, w = _uint8(2, 4, 7, 6), _uint8(6, 4 // kwargs.get("groups", 1), 3, 2, hi=10)
    got = M.conv2d_integer(x, w, **kwargs)
    want = oracle.conv2d_integer(x, w, **kwargs)
    assert got.dtype == np.int32 and np.array_equal(got, want)


def test_conv_integer_with_its_zero_points_dropped_is_caught(monkeypatch):
    # a translation that forgets the zero-point inputs computes x ⋆ w, not (x − zx) ⋆ (w − zw)
    from cnnspec import oracle
    right = M._integer_node

    def dropped(req):
        op_type, attrs, feeds, outputs = right(req)
        return op_type, attrs, {k: v for k, v in feeds.items() if "zero_point" not in k}, outputs
    monkeypatch.setattr(M, "_integer_node", dropped)
    M._session.cache_clear()
    x, w = _uint8(1, 2, 5, 5), _uint8(3, 2, 3, 3, hi=10)
    assert not np.array_equal(M.conv2d_integer(x, w, np.uint8(4), np.uint8(3)),
                              oracle.conv2d_integer(x, w, np.uint8(4), np.uint8(3)))
    M._session.cache_clear()


def test_qlinear_conv_is_the_exact_oracle_on_dyadic_scales_and_rounds_ties_to_even():
    # x_scale·w_scale/y_scale = 1/8: every accumulator that is 4 mod 8 is a tie, rounded to even
    from cnnspec import oracle
    x, w, b = _uint8(2, 4, 7, 6), _uint8(6, 2, 3, 2, hi=10), A.RNG.integers(-50, 51, 6).astype(np.int32)
    args = (x, np.float32(0.5), np.uint8(3), w, np.float32(0.25), np.uint8(2), np.float32(1.0), np.uint8(100), b)
    got = M.qlinear_conv2d(*args, stride=2, padding=1, groups=2)
    want = oracle.qlinear_conv2d(*args, stride=2, padding=1, groups=2)
    assert got.dtype == np.uint8 and np.array_equal(got, want)


def test_qlinear_conv_on_decimal_scales_is_the_float32_requantisation():
    # ONNX Runtime multiplies in float32: where that differs from the exact rational scale, the
    # diagnosis says so (and nowhere else does it differ)
    from cnnspec import oracle
    from cnnspec.adapters.conventions import diagnose
    from cnnspec.adapters.matrix_cells import cases
    _, args, kw, _ = cases("qlinear_conv2d")[1]
    got, want = M.qlinear_conv2d(*args, **kw), oracle.qlinear_conv2d(*args, **kw)
    differ = got.astype(np.int64) != want
    assert 0 < differ.sum() <= 3 and np.abs(got.astype(np.int64) - want).max() == 1
    assert any(d.startswith("float-requantize:") for d in diagnose("qlinear_conv2d", args, kw, got, want))


def test_max_unpool_adds_each_planes_offset():
    _, args, kw = A.CASES["max_unpool2d/from-pool"]
    op_type, _, feeds, _ = M._node(M.F.parse("max_unpool2d", args, kw))
    plane = 6 * 7
    assert op_type == "MaxUnpool" and feeds["i"][1, 2].min() >= (1 * 3 + 2) * plane
    assert A.check(M.max_unpool2d, "max_unpool2d", args, kw) == ""


def test_max_unpool_without_the_plane_offset_is_caught(monkeypatch):
    right = M._node

    def no_offset(req):
        op_type, attrs, feeds, outputs = right(req)
        if op_type == "MaxUnpool":
            feeds = {**feeds, "i": req.opts["indices"]}
        return op_type, attrs, feeds, outputs
    monkeypatch.setattr(M, "_node", no_offset)
    _, args, kw = A.CASES["max_unpool2d/from-pool"]
    assert A.check(M.max_unpool2d, "max_unpool2d", args, kw) != ""


def test_adaptive_pool_to_one_is_the_global_pool():
    for op in ("adaptive_avg_pool2d", "adaptive_max_pool1d"):
        _, args, kw = A.CASES[f"{op}/global"]
        assert M._node(M.F.parse(op, args, kw))[0] in ("GlobalAveragePool", "GlobalMaxPool")
    # GlobalMaxPool has no Indices: with return_indices the whole-plane MaxPool is used
    x = A.ints(1, 2, 4, 4, lo=-50, hi=50)
    assert M._node(M.F.parse("adaptive_max_pool2d", (x, 1, True), {}))[0] == "MaxPool"


def test_lp_pool_is_onnx_lppool_on_signed_data():
    # LpPool is (Σ|x|^p)^(1/p): the adapter translates, so ONNX's own definition is what comes back
    from cnnspec import oracle
    x = A.ints(2, 3, 6, 6)
    got = M.lp_pool2d(x, 1, 2)
    assert np.array_equal(got, oracle.lp_pool(x.astype(np.float64), 1, 2, convention="onnx"))
    with pytest.raises(NotExpressible, match="norm_type=2.5 .* not expressible in ONNX Runtime"):
        M.lp_pool2d(x, 2.5, 2)


def test_max_unpool_output_size_below_the_inferred_size_is_not_expressible():
    # torch takes output_size down to one stride below (n - 1)·s + k; MaxUnpool refuses anything
    # below its inferred shape, so the adapter says so instead of computing something else
    x = np.array([[[[1.0, 2.0]]]], np.float32)
    i = np.array([[[[0, 2]]]], np.int64)
    assert M.max_unpool2d(x, i, (2, 1), stride=(1, 2)).shape == (1, 1, 2, 3)
    with pytest.raises(NotExpressible, match="output_size"):
        M.max_unpool2d(x, i, (2, 1), stride=(1, 2), output_size=(1, 1, 2, 2))
    assert M.max_unpool2d(x, i, (2, 1), stride=(1, 2), output_size=(2, 4)).shape == (1, 1, 2, 4)


def test_conv_transpose_output_padding_from_dilation_is_not_expressible():
    # output_padding may reach dilation - 1 in torch; onnxruntime refuses output_padding >= stride
    x, w = np.ones((1, 1, 3, 3), np.float32), np.ones((1, 1, 2, 2), np.float32)
    assert M.conv_transpose2d(x, w, stride=2, output_padding=1).shape == (1, 1, 7, 7)
    with pytest.raises(NotExpressible, match="output_padding"):
        M.conv_transpose2d(x, w, stride=1, dilation=2, output_padding=1)


def test_zero_point_outside_its_dtype_is_refused_not_wrapped():
    # casting 300 to uint8 would give 44 and turn an invalid call into a valid, different one
    x, w = np.ones((1, 1, 3, 3), np.uint8), np.ones((1, 1, 2, 2), np.int8)
    assert M.conv2d_integer(x, w, x_zero_point=255, w_zero_point=-128).dtype == np.int32
    with pytest.raises(M.G.ArgumentError, match=r"x_zero_point=300: must be integers in \[0, 255\]"):
        M.conv2d_integer(x, w, x_zero_point=300)
    with pytest.raises(M.G.ArgumentError, match="w_zero_point"):
        M.conv2d_integer(x, w, w_zero_point=-200)
