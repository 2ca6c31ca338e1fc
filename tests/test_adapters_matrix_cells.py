"""Matrix cells (``cnnspec.adapters.matrix_cells``): statuses, diagnoses, reasons and the one worker
process per framework, on torch (always there) and ONNX Runtime (installed by setup.sh)."""
import dataclasses
import importlib.util
import json

import numpy as np
import pytest

import adapter_cases as A
import cnnspec.adapters as ad
from cnnspec.adapters import matrix_cells as mc
from cnnspec.errors import UsageError

JAX = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed: pip install 'cnnspec[jax]'")
TINYGRAD = pytest.mark.skipif(importlib.util.find_spec("tinygrad") is None,
                              reason="tinygrad is not installed: pip install 'cnnspec[tinygrad]'")
ORT = pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None,
                         reason="ONNX Runtime is not installed: pip install 'cnnspec[onnxruntime]'")
TF = pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None,
                        reason="TensorFlow is not installed: pip install 'cnnspec[tensorflow]'")


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


def _reciprocal_average(dtype):
    """torch's avg_pool2d made to divide as some kernels do: the window sum times a reciprocal of
    the divisor rounded to ``dtype`` (1-2 ulp off the exact quotient, within γ_2)."""
    from cnnspec.spec.pooling import avg_divisors, pool_geometry
    right = ad.adapter("torch", "avg_pool2d")

    def reciprocal(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        geo = pool_geometry(x.shape[2:], kernel_size, stride, padding, 1, ceil_mode)
        d = avg_divisors(x.shape[2:], geo, count_include_pad).astype(np.float64)
        sums = right(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override=1)
        inv = (1 / d).astype(dtype).astype(np.float64)
        # both factors carry at most 24 significant bits: their float64 product is exact
        return (sums.astype(np.float64) * inv).astype(dtype)
    return reciprocal


def test_inexact_averages_are_not_bit_exact_within_bound():
    reciprocal = _reciprocal_average(np.float32)
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
    assert cell["reason"].startswith("torch has no float16 kernel on cpu for this avg_pool3d call (NotImplementedError: ")
    assert "not implemented for 'Half'" in cell["reason"] and cell["reason"].count("kernel") == 1
    assert mc.run_cell("torch", "avg_pool3d", dtype="float32")["status"] == "pass"


@pytest.mark.parametrize("message, dtype, gap", [
    ('"avg_pool3d_out_frame" not implemented for \'Half\'', "float16", True),
    ('"avg_pool3d_out_frame" not implemented for \'Half\'', "float32", False),   # another dtype
    ('"index_select" not implemented for \'Long\'', "float16", False),            # not the data's
    ("Could not find device for node: {{node AvgPool3D}} = AvgPool3D[T=DT_HALF, ksize=[1, 2, 2, 2, 1]]",
     "float16", True),
    ("Could not find device for node: {{node AvgPool3D}} = AvgPool3D[T=DT_HALF]", "float64", False),
    ("Value for attr 'T' of double is not in the list of allowed values: half, bfloat16, float\n\t; "
     "NodeDef: {{node MaxPool3D}}", "float64", True),
    ("Value for attr 'T' of double is not in the list of allowed values: half, bfloat16, float",
     "float16", False),
    ("Value for attr 'Targmax' of int32 is not in the list of allowed values: int64", "float32", False),
    ("[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Could not find an implementation for MaxPool(12) node "
     "with name ''", "float16", True),
    ("{{function_node __wrapped__Conv3D_device_/job:localhost/replica:0/task:0/device:CPU:0}} CPU "
     "implementation of Conv3D currently only supports dilated rates of 1. [Op:Conv3D]", "float64", True),
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
    with pytest.raises(UsageError, match="dtype: 'tf32' is not one of"):
        mc.run_cell("torch", "conv2d", dtype="tf32")   # a rounding of float32 inputs, not an array dtype


# --- bfloat16: ml_dtypes arrays in and out ----------------------------------------------------------

BF16 = ("conv2d", "conv_transpose1d", "conv3d", "max_pool2d", "avg_pool2d", "pad", "adaptive_max_pool2d",
        "lp_pool1d", "max_unpool2d", "avg_pool3d")


@pytest.mark.parametrize("op", BF16)
def test_torch_at_bfloat16_passes_or_says_it_has_no_kernel(op):
    seen = set()
    right = ad.adapter("torch", op)

    def spy(*a, **k):
        seen.update(np.asarray(v).dtype.name for v in a if isinstance(v, np.ndarray) and v.dtype.kind != "i")
        y = right(*a, **k)
        seen.add(np.asarray(y[0] if isinstance(y, tuple) else y).dtype.name)
        return y
    cell = mc.run_cell("torch", op, dtype="bfloat16", fn=spy)
    if op == "avg_pool3d":   # torch 2.13's CPU has no bfloat16 avg_pool3d
        assert cell["status"] == "skipped" and "not implemented for 'BFloat16'" in cell["reason"], cell
        return
    if op in ("conv2d", "conv3d"):
        assert A.onednn_bf16_only(cell, op)
    else:
        assert cell["status"] == "pass", cell
    assert seen == {"bfloat16"}, seen     # the data went in, and came out, as bfloat16


def test_a_wrong_bfloat16_max_pool_is_diagnosed_with_bfloat16s_lowest_value():
    import ml_dtypes
    right = ad.adapter("torch", "max_pool2d")
    low = ml_dtypes.finfo(ml_dtypes.bfloat16).min

    def lowest_pad(x, *a, **k):   # pads with the lowest finite bfloat16, as TensorFlow's CPU kernel does
        return right(np.where(np.isneginf(x.astype(np.float64)), float(low), x.astype(np.float64)).astype(x.dtype),
                     *a, **k)
    cell = mc.run_cell("torch", "max_pool2d", dtype="bfloat16", fn=lowest_pad)
    assert cell["status"] == "fail" and [r["case"] for r in cell["cases"] if r["status"] == "fail"] == \
        ["minus-inf-padding"]
    assert "max-pad-value: pads (or starts) max pooling with the lowest finite value -3.389531e+38" in \
        cell["diagnosis"], cell["diagnosis"]


def test_bfloat16_averages_rounded_through_a_reciprocal_are_within_bfloat16s_bound():
    import ml_dtypes
    reciprocal = _reciprocal_average(ml_dtypes.bfloat16)
    cell = mc.run_cell("torch", "avg_pool2d", dtype="bfloat16", fn=reciprocal)
    assert cell["status"] in ("pass", "not-bit-exact-within-bound"), cell
    assert any(r["status"] == "not-bit-exact-within-bound" for r in cell["cases"]), cell["cases"]


@TINYGRAD
def test_tinygrad_at_bfloat16_passes_or_says_its_compiler_has_no_kernel():
    cell = mc.run_cell("tinygrad", "max_pool2d", dtype="bfloat16")
    assert cell["status"] == "pass" or (cell["status"] == "skipped" and cell["reason"].startswith(
        "tinygrad has no bfloat16 kernel on cpu for this max_pool2d call (clang")), cell


@ORT
def test_onnx_runtime_at_bfloat16_says_in_its_words_that_its_cpu_provider_has_no_kernel():
    # ONNX Runtime's CPU provider registers no bfloat16 Conv or MaxPool: a gap of the provider,
    # not something ONNX cannot express (ONNX's Conv and MaxPool both list tensor(bfloat16))
    for op in ("conv2d", "max_pool2d"):
        cell = mc.run_cell("onnxruntime", op, dtype="bfloat16")
        assert cell["status"] == "skipped", cell
        assert cell["reason"].startswith(f"onnxruntime has no bfloat16 kernel on cpu for this {op} call "
                                         "([ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : "), cell["reason"]


def test_a_kernel_gap_of_another_dtype_is_no_gap():
    gap = ad.NoKernel("tinygrad", "bfloat16", "CPU", "clang: __bf16 is not supported on this target")
    assert ad.no_kernel(gap, "bfloat16") and not ad.no_kernel(gap, "float16")


def _run_alone(snippet: str) -> dict:
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, cwd="/", timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return ad._frontend.parse_output(out.stdout)


@pytest.mark.parametrize("framework", ["torch", pytest.param("jax", marks=JAX)])
def test_a_bfloat16_snippet_runs_alone_and_prints_the_adapters_value(framework):
    import ml_dtypes
    x = np.arange(-12, 12, dtype=np.float64).reshape(1, 2, 3, 4).astype(ml_dtypes.bfloat16)
    x[0, 0, 1, 1] = np.nan
    kw = {"kernel_size": 3, "stride": 1, "padding": 1, "count_include_pad": False}
    want, _ = mc.expected("avg_pool2d", (x.astype(np.float64),), kw)
    text = ad.reproduce(framework, "avg_pool2d", (x,), kw, want)
    # torch's snippet casts a float32 literal; JAX's takes ml_dtypes' bfloat16 (a dependency of JAX)
    assert ("import ml_dtypes\n" in text) == ("ml_dtypes.bfloat16" in text) == (framework == "jax"), text
    assert "cnnspec" not in text.split("\n", 1)[1]
    printed = _run_alone(text)
    mine = ad.adapter(framework, "avg_pool2d")(x, **kw)
    assert mine.dtype.name == "bfloat16"
    assert np.array_equal(printed["got"], mine.astype(np.float64), equal_nan=True)
    assert np.array_equal(printed["expected"], want, equal_nan=True)


def test_integer_ops_are_compared_exactly_whatever_the_float_dtype():
    # 791 has no bfloat16 (8 significant bits), but an int32 output of 791 is exact
    assert mc.rounded("conv2d_integer", np.array([791.0]), "bfloat16")[0] == 791.0
    assert mc.rounded("conv2d", np.array([791.0]), "bfloat16")[0] == 792.0


@ORT
def test_onnxruntime_conv_integer_passes_in_a_bfloat16_matrix():
    assert mc.run_cell("onnxruntime", "conv2d_integer", dtype="bfloat16")["status"] == "pass"


def test_a_case_that_kills_the_worker_fails_alone_and_the_rest_run(tmp_path, monkeypatch):
    # torch.nn.functional.conv3d made to segfault in the worker on inputs 4 wide (a sitecustomize
    # the child imports first): that case of conv3d's cell fails saying so, with its snippet; a
    # fresh worker runs conv3d's other cases and the cells after it
    (tmp_path / "sitecustomize.py").write_text(
        "import os, signal\n"
        "import torch.nn.functional as F\n"
        "_conv3d = F.conv3d\n"
        "def conv3d(*a, **k):\n"
        "    if (a[0] if a else k['input']).shape[-1] == 4:\n"
        "        os.kill(os.getpid(), signal.SIGSEGV)\n"
        "    return _conv3d(*a, **k)\n"
        "F.conv3d = conv3d\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    cells = mc.run_framework("torch", ["conv2d", "conv3d", "max_pool2d"])
    assert [c["op"] for c in cells] == ["conv2d", "conv3d", "max_pool2d"]
    assert cells[0]["status"] == cells[2]["status"] == "pass", cells
    why = "worker failed: the worker process died on conv3d, case kernel-spans-padding (killed by signal 11, SIGSEGV)"
    assert cells[1]["status"] == "fail" and cells[1]["diagnosis"] == why, cells[1]
    rows = {r["case"]: r for r in cells[1]["cases"]}
    assert [r["status"] for r in rows.values()] == ["pass", "pass", "pass", "fail"], rows
    crashed = rows["kernel-spans-padding"]
    assert crashed["message"] == why and "F.conv3d(" in crashed["snippet"], crashed


def _crashed_row(framework: str, op: str, case: str, dtype: str, signal_words: str) -> dict | None:
    """The row of ``case`` in ``framework``'s ``op`` cell, which a framework crash fails while the
    cell's other cases run and pass; None where the framework takes the case (it then passes)."""
    (cell,) = mc.run_framework(framework, [op], dtype=dtype)
    rows = {r["case"]: r for r in cell["cases"]}
    assert set(rows) == {name for name, *_ in mc.cases(op)}, rows
    assert all(r["status"] == "pass" for name, r in rows.items() if name != case), rows
    if rows[case]["status"] == "pass":
        return None
    assert rows[case]["status"] == "fail" and rows[case]["message"].endswith(
        f"died on {op}, case {case} ({signal_words})"), rows[case]
    return rows[case]


def _alone(snippet: str, **env):
    import os
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, cwd="/",
                          timeout=300, env={**os.environ, **env})


@JAX
def test_jax_transposed_conv_on_one_padded_row_aborts_in_xla_alone_or_passes():
    # JAX 0.10.2's XLA CPU aborts (algebraic_simplifier.cc) on the valid lax.conv_general_dilated
    # that torch's conv_transpose2d(x(2,4,1,3), w(4,3,3,2), stride=(1,2), padding=(1,1)) becomes:
    # that case fails with the crash, the cell's other cases still run, and the native snippet
    # (JAX only) aborts the same way alone; a JAX that takes the call passes it
    row = _crashed_row("jax", "conv_transpose2d", "one-padded-row", "float32", "killed by signal 6, SIGABRT")
    if row is not None:
        alone = _alone(row["snippet"])
        assert alone.returncode == -6 and "Window dimensions do not match RHS shape" in alone.stderr, \
            alone.stderr[-2000:]


def test_a_case_that_hangs_the_worker_is_named_and_the_unfinished_cells_fail(tmp_path, monkeypatch):
    # torch's conv3d made to hang on inputs 4 wide: the cells before it are kept, and the ones it
    # had not finished fail naming the case the worker was in (a hang is not retried)
    (tmp_path / "sitecustomize.py").write_text(
        "import time\n"
        "import torch.nn.functional as F\n"
        "_conv3d = F.conv3d\n"
        "def conv3d(*a, **k):\n"
        "    if (a[0] if a else k['input']).shape[-1] == 4:\n"
        "        time.sleep(1000)\n"
        "    return _conv3d(*a, **k)\n"
        "F.conv3d = conv3d\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    cells = mc.run_framework("torch", ["conv2d", "conv3d", "max_pool2d"], timeout=10)
    assert [c["status"] for c in cells] == ["pass", "fail", "fail"], cells
    assert all(c["diagnosis"] == "worker failed: the worker ran past 10 s on conv3d, case kernel-spans-padding"
               for c in cells[1:]), cells


@TF
def test_tensorflow_float16_conv2d_on_asymmetric_dilated_pads_crashes_in_onednn_alone_or_passes():
    # TensorFlow 2.21's CPU conv2d segfaults at float16 on (lo, hi) pads ((1, 3), (1, 2)) with
    # dilation (3, 1) over a 1-wide input: that case fails with the crash, the cell's other cases
    # run, and the native snippet crashes alone, and is exact with oneDNN off (so the crash is
    # oneDNN's, on any CPU where it happens); a TensorFlow that takes the call passes it
    row = _crashed_row("tensorflow", "conv2d", "asymmetric-dilated-pads", "float16", "killed by signal 11, SIGSEGV")
    if row is not None:
        assert _alone(row["snippet"]).returncode == -11
        off = _alone(row["snippet"], TF_ENABLE_ONEDNN_OPTS="0")
        assert off.returncode == 0, off.stderr[-2000:]
        printed = ad._frontend.parse_output(off.stdout)
        assert np.array_equal(printed["got"], printed["expected"]), off.stdout
