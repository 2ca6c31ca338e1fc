"""A bare framework name is a target: cnnspec's adapter for the op (cnnspec.adapters), validated
by the same claims; what a framework cannot express is left out, never failed."""
import pytest

from cnnspec.conformance.runner import framework_target, validate_op
from cnnspec.errors import UsageError

FAST = dict(examples=4, shrink_seconds=2)


def test_a_framework_name_resolves_to_the_adapter():
    assert framework_target("jax", "conv2d") == ("cnnspec.adapters.jax:conv2d", "jax")
    assert framework_target("mypkg.ops:conv2d", "conv2d") == ("mypkg.ops:conv2d", None)
    with pytest.raises(UsageError, match=r"^target: 'mxnet' is not .* or a framework \(torch \("):
        framework_target("mxnet", "conv2d")


def test_jax_conv2d_passes_every_claim():
    pytest.importorskip("jax", reason="JAX is not installed: pip install 'cnnspec[jax]'")
    results, report = validate_op("jax", "conv2d", claims=["conformance.conv.values", "conformance.conv.shape",
                                                            "conformance.conv.invalid"], **FAST)
    assert report["summary"]["exit_code"] == 0, [(r.id, r.status, r.message) for r in results]
    assert report["target"] == "cnnspec.adapters.jax:conv2d"


def test_onnxruntime_max_pool_pads_with_the_lowest_float_not_minus_infinity():
    """onnx/onnx#4958: a window wholly in the padding gives the lowest finite float32, not −inf."""
    pytest.importorskip("onnxruntime", reason="ONNX Runtime is not installed: pip install 'cnnspec[onnxruntime]'")
    results, _ = validate_op("onnxruntime", "max_pool2d", claims=["conformance.max_pool.special"], examples=40,
                             shrink_seconds=5)
    (values,) = results
    assert values.status == "fail" and "=-3.4028234663852886e+38, but should be -inf" in values.message


def test_what_a_framework_cannot_express_is_left_out_not_failed():
    pytest.importorskip("tensorflow", reason="TensorFlow is not installed: pip install 'cnnspec[tensorflow]'")
    results, _ = validate_op("tensorflow", "avg_pool2d", claims=["conformance.avg_pool.values"], examples=12,
                             shrink_seconds=2)
    (r,) = results
    assert r.status in ("pass", "skipped"), r.message
    assert r.status == "skipped" or r.evidence.get("not_expressible", 0) > 0, r.evidence


def test_an_adapter_takes_numpy_arrays():
    with pytest.raises(UsageError, match="adapter takes and returns NumPy arrays"):
        validate_op("torch", "conv2d", array="torch", **FAST)
