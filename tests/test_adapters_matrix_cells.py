"""Matrix cells (``cnnspec.adapters.matrix_cells``): statuses, diagnoses, reasons and the one worker
process per framework, on torch (always there) and ONNX Runtime (installed by setup.sh)."""
import dataclasses
import importlib.util
import json

import numpy as np
import pytest

import cnnspec.adapters as ad
from cnnspec.adapters import matrix_cells as mc
from cnnspec.errors import UsageError

ORT = pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None,
                         reason="ONNX Runtime is not installed: pip install 'cnnspec[onnxruntime]'")


@pytest.mark.parametrize("op", [op for op in ad.FRAMEWORKS["torch"].ops if mc.cases(op)])
def test_torch_passes_every_cell(op):
    cell = mc.run_cell("torch", op)
    assert cell["status"] == "pass", cell
    assert json.loads(json.dumps(cell)) == cell and cell["seconds"] > 0 and cell["cases"]


def test_every_op_of_the_convention_has_exact_tier_cases():
    assert [op for op in ad.CONVENTION_OPS if not mc.cases(op)] == []


@ORT
@pytest.mark.parametrize("op, words", [("lp_pool2d", "lp-absolute-sum: computes (Σ|x|^p)^(1/p)"),
                                       ("qlinear_conv2d", "float-requantize: requantizes in float32")])
def test_onnx_definitions_that_differ_from_torch_are_diagnosed(op, words):
    cell = mc.run_cell("onnxruntime", op)
    assert cell["status"] == "fail" and cell["diagnosis"].startswith(words), cell["diagnosis"]
    bad = [r for r in cell["cases"] if r["status"] == "fail"]
    assert bad and all(r["snippet"].startswith("# ONNX Runtime") and r["got"].startswith("[") for r in bad)


def test_a_wrong_result_fails_with_its_diagnosis():
    # max pooling that ignores NaN, as an fmax kernel does: the NaN probe fails and says why
    right = ad.adapter("torch", "max_pool2d")
    fmax = lambda x, *a, **k: right(np.where(np.isnan(x), -np.inf, x).astype(x.dtype), *a, **k)  # noqa: E731
    cell = mc.run_cell("torch", "max_pool2d", fn=fmax)
    assert cell["status"] == "fail" and cell["diagnosis"].startswith("nan-fmax: ignores NaN")
    assert [r["case"] for r in cell["cases"] if r["status"] == "fail"] == ["nan"]


def test_inexact_averages_are_not_bit_exact_within_bound():
    # sums times a rounded reciprocal of the divisor (1-2 ulp): within γ_2, not bit-exact
    from cnnspec.spec.pooling import avg_divisors, pool_geometry
    right = ad.adapter("torch", "avg_pool2d")

    def reciprocal(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        geo = pool_geometry(x.shape[2:], kernel_size, stride, padding, 1, ceil_mode)
        d = avg_divisors(x.shape[2:], geo, count_include_pad).astype(np.float32)
        sums = right(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override=1)
        return sums * (np.float32(1) / d)
    cell = mc.run_cell("torch", "avg_pool2d", fn=reciprocal)
    assert cell["status"] == "not-bit-exact-within-bound", cell["cases"]
    four_ulp = lambda *a, **k: reciprocal(*a, **k) * np.float32(1 + 2 ** -21)  # noqa: E731
    assert mc.run_cell("torch", "avg_pool2d", fn=four_ulp)["status"] == "fail"


def test_a_skipped_case_keeps_its_reason_and_the_rest_decides():
    right = ad.adapter("torch", "avg_pool2d")

    def no_ceil(x, *a, **k):
        if k.get("ceil_mode"):
            raise ad.NotExpressible("torch", "ceil_mode=True")
        return right(x, *a, **k)
    cell = mc.run_cell("torch", "avg_pool2d", fn=no_ceil)
    assert cell["status"] == "pass" and cell["reason"] == "ceil_mode=True is not expressible in PyTorch"
    everything = mc.run_cell("torch", "avg_pool2d", fn=lambda *a, **k: (_ for _ in ()).throw(
        ad.NotExpressible("torch", "anything")))
    assert everything["status"] == "skipped"


def test_a_raising_framework_fails_the_cell():
    cell = mc.run_cell("torch", "conv2d", fn=lambda *a, **k: 1 / 0)
    assert cell["status"] == "fail" and cell["diagnosis"] == "raised ZeroDivisionError: division by zero"


def test_a_dtype_the_framework_has_no_kernel_for_is_a_skipped_cell():
    # torch 2.13 on the CPU has no float16 avg_pool3d: the cell says so, in torch's words
    cell = mc.run_cell("torch", "avg_pool3d", dtype="float16")
    assert cell["status"] == "skipped", cell
    assert cell["reason"].startswith("torch has no float16 kernel for avg_pool3d on cpu (NotImplementedError: ")
    assert "not implemented for 'Half'" in cell["reason"] and cell["reason"].count("kernel") == 1
    assert mc.run_cell("torch", "avg_pool3d", dtype="float32")["status"] == "pass"


@pytest.mark.parametrize("message, dtype, gap", [
    ('"avg_pool3d_out_frame" not implemented for \'Half\'', "float16", True),
    ('"avg_pool3d_out_frame" not implemented for \'Half\'', "float32", False),   # another dtype
    ('"index_select" not implemented for \'Long\'', "float16", False),            # not the data's
    ("Could not find device for node: {{node AvgPool3D}} = AvgPool3D[T=DT_HALF, ksize=[1, 2, 2, 2, 1]]",
     "float16", True),
    ("Could not find device for node: {{node AvgPool3D}} = AvgPool3D[T=DT_HALF]", "float64", False),
    ("[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Could not find an implementation for MaxPool(12) node "
     "with name ''", "float16", True),
    ("Given groups=1, weight of size [3, 2, 3, 2], expected input to have 2 channels", "float16", False),
    ("", "float16", False),
])
def test_only_the_frameworks_words_for_a_missing_kernel_skip(message, dtype, gap):
    assert ad.no_kernel(RuntimeError(message), dtype) is gap
    cell = mc.run_cell("torch", "conv2d", dtype=dtype, fn=lambda *a, **k: (_ for _ in ()).throw(RuntimeError(message)))
    assert cell["status"] == ("skipped" if gap else "fail"), cell


@ORT
def test_onnxruntime_cells_in_one_worker():
    cells = mc.run_framework("onnxruntime", ["conv2d", "max_pool2d", "avg_pool2d"])
    by = {c["op"]: c for c in cells}
    assert by["conv2d"]["status"] == "pass"
    # ONNX Runtime ignores NaN and pads max pooling with the lowest float (onnx/onnx#4958)
    assert by["max_pool2d"]["status"] == "fail"
    assert "nan-fmax" in by["max_pool2d"]["diagnosis"] and "max-pad-value" in by["max_pool2d"]["diagnosis"]
    assert by["avg_pool2d"]["status"] in ("pass", "not-bit-exact-within-bound")


def test_an_op_the_framework_lacks_is_a_skipped_cell():
    cell = mc.run_cell("jax", "max_unpool2d")
    assert cell["status"] == "skipped" and cell["reason"] == ("the op max_unpool2d (JAX has no operator for it) "
                                                              "is not expressible in JAX")


def test_not_installed_framework_cells_say_how_to_install(monkeypatch):
    fw = ad.FRAMEWORKS["tinygrad"]
    monkeypatch.setitem(ad.FRAMEWORKS, "tinygrad", dataclasses.replace(fw, imports="cnnspec_no_such_framework"))
    cells = mc.run_framework("tinygrad", ["conv2d"])
    assert cells[0]["status"] == "skipped" and "pip install 'cnnspec[tinygrad]'" in cells[0]["reason"]


def test_bad_framework_and_dtype_are_usage_errors():
    with pytest.raises(UsageError, match="framework: 'caffe' is not one of"):
        mc.run_framework("caffe")
    with pytest.raises(UsageError, match="dtype: 'bfloat16' is not one of"):
        mc.run_cell("torch", "conv2d", dtype="bfloat16")
