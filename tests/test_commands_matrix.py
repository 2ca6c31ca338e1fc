"""``cnnspec matrix``: frameworks × ops × dtypes through cnnspec's adapters, three files, one line errors."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

import adapter_cases as A

ROOT = Path(__file__).resolve().parents[1]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "cnnspec", "matrix", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_matrix_writes_its_three_files_and_names_each_cell(tmp_path):
    out = tmp_path / "m"
    r = cli("torch", "--ops", "conv2d,max_pool2d,avg_pool2d", "--dtypes", "float32,float64", "--out", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "matrix.json", "summary.md"]
    doc = json.loads((out / "matrix.json").read_text())
    assert [f["name"] for f in doc["frameworks"]] == ["torch"] and doc["frameworks"][0]["version"]
    cells = {(c["op"], c["dtype"]): c for c in doc["cells"]}
    assert set(cells) == {(op, d) for op in ("conv2d", "max_pool2d", "avg_pool2d") for d in ("float32", "float64")}
    assert all(c["status"] in ("pass", "not-bit-exact-within-bound") for c in cells.values()), cells
    assert all(c["cases"] and c["seconds"] >= 0 for c in cells.values())
    page = (out / "index.html").read_text()
    assert "<th>conv2d</th>" in page and "torch" in page and "<script" not in page.split("<main>")[0]
    assert "| torch " in (out / "summary.md").read_text()


def test_bfloat16_cells_run_on_ml_dtypes_arrays_and_a_kernel_gap_is_skipped(tmp_path):
    pytest.importorskip("ml_dtypes", reason="bfloat16 needs ml_dtypes: pip install 'ml_dtypes==0.6.0'")
    r = cli("torch", "--ops", "conv2d,max_pool2d,avg_pool3d", "--dtypes", "bfloat16", "--out", str(tmp_path / "m"))
    cells = {c["op"]: c for c in json.loads((tmp_path / "m" / "matrix.json").read_text())["cells"]}
    assert cells["max_pool2d"]["status"] == "pass" and A.onednn_bf16_only(cells["conv2d"], "conv2d"), cells
    assert r.returncode == (0 if cells["conv2d"]["status"] == "pass" else 1), r.stdout + r.stderr
    assert {c["dtype"] for c in cells.values()} == {"bfloat16"}
    # torch 2.13's CPU has no bfloat16 avg_pool3d: skipped in torch's words, not failed
    assert cells["avg_pool3d"]["status"] == "skipped" and "'BFloat16'" in cells["avg_pool3d"]["reason"]


def test_a_framework_that_differs_fails_its_cell_with_the_diagnosis(tmp_path):
    pytest.importorskip("onnxruntime", reason="ONNX Runtime is not installed: pip install 'cnnspec[onnxruntime]'")
    r = cli("onnxruntime", "--ops", "max_pool2d", "--out", str(tmp_path / "m"))
    assert r.returncode == 1 and "FAILED onnxruntime max_pool2d float32" in r.stdout, r.stdout + r.stderr
    (cell,) = json.loads((tmp_path / "m" / "matrix.json").read_text())["cells"]
    assert cell["status"] == "fail" and "-inf" in cell["diagnosis"]


@pytest.mark.parametrize("args,words", [
    (["mxnet"], "FRAMEWORK: 'mxnet' is not one of torch, jax"),
    (["--jobs", "0"], "--jobs: 0 must be at least 1"),
    (["--ops", "conv9d"], "--ops: 'conv9d' is not an op of the calling convention"),
    (["--dtypes", "int8"], "--dtypes: 'int8' is not one of"),
    (["--out", "/proc/cnnspec-matrix"], "--out: cannot write under '/proc'"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_is_written(args, words, tmp_path):
    r = cli(*args)
    assert r.returncode == 2 and words in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
