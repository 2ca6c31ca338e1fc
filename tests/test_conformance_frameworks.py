"""A bare framework name is a target: cnnspec's adapter for the op (cnnspec.adapters), validated
by the same claims; what a framework cannot express is left out, never failed."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from cnnspec.conformance.runner import framework_target, validate_op
from cnnspec.errors import UsageError

FAST = dict(examples=4, shrink_seconds=2)
ROOT = Path(__file__).resolve().parents[1]


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


def test_an_op_the_framework_lacks_is_every_claim_skipped_with_the_reason():
    pytest.importorskip("jax", reason="JAX is not installed: pip install 'cnnspec[jax]'")
    results, report = validate_op("jax", "max_unpool2d", **FAST)
    assert results and {r.status for r in results} == {"skipped"}
    assert all(r.message == "skipped: the op max_unpool2d (JAX has no operator for it) is not "
                            "expressible in JAX" for r in results)
    assert report["summary"]["exit_code"] == 0 and report["calls"] == 0
    r = subprocess.run([sys.executable, "-m", "cnnspec", "validate", "jax", "--op", "max_unpool2d", "--quiet"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stderr == "" and "Traceback" not in r.stdout
    assert r.stdout.strip().strip("=").strip().startswith("SKIPPED: 4 skipped"), r.stdout


def test_the_pytest_plugin_takes_a_framework_name(tmp_path):
    from test_conformance_plugin import run_pytest

    r = run_pytest(tmp_path, "-rs", target="torch", op="avg_pool2d")
    assert r.returncode == 0 and "passed" in r.stdout and "error" not in r.stdout, r.stdout + r.stderr
    bad = run_pytest(tmp_path, target="mxnet", op="avg_pool2d")
    assert bad.returncode == 4 and "--cnnspec-target: 'mxnet' is not" in bad.stderr, bad.stdout + bad.stderr
    arr = run_pytest(tmp_path, "--cnnspec-array", "torch", target="torch", op="avg_pool2d")
    assert arr.returncode == 4 and "adapter takes and returns NumPy arrays" in arr.stderr
    if importlib.util.find_spec("jax") is not None:
        lacks = run_pytest(tmp_path, "-rs", target="jax", op="max_unpool2d")
        assert lacks.returncode == 0 and "4 skipped" in lacks.stdout, lacks.stdout
        assert "max_unpool2d (JAX has no operator for it) is not expressible in JAX" in lacks.stdout


def test_onnx_runtimes_lowest_finite_padding_fails_the_values_claim_named_and_no_other():
    # ONNX Runtime pads max pooling with -FLT_MAX: a window wholly in the padding (dilation) gives
    # -3.4e38 where -inf is exact. The values claim fails and names the convention; the monotone
    # claim, about maps of the input, leaves such windows to it (2*(-FLT_MAX)+1 is no float32)
    pytest.importorskip("onnxruntime", reason="ONNX Runtime is not installed: pip install 'cnnspec[onnxruntime]'")
    claims = ["conformance.max_pool.values", "conformance.max_pool.monotone"]
    results, _ = validate_op("onnxruntime", "max_pool2d", claims=claims, examples=200)
    status = {r.id: r for r in results}
    values, monotone = status["conformance.max_pool.values"], status["conformance.max_pool.monotone"]
    assert values.status == "fail" and "should be -inf" in values.message, values.message
    assert "diagnosis: the target pads (or starts) max pooling with the lowest finite value -3.402823e+38" \
        in values.message, values.message
    assert monotone.status == "pass", monotone.message
