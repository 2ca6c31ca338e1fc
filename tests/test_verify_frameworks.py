"""``cnnspec verify --frameworks``: the matrix as a stage of the main job (claims, the report's
``matrix`` section, the framework × op table, JUnit and Markdown entries), the confirmation of a
divergence by its native snippet alone, and bad input. The quick mode is a few ops on torch and
ONNX Runtime (setup.sh installs both)."""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import xml.etree.ElementTree as ET

import pytest

import cnnspec.adapters as ad
from cnnspec.adapters.matrix import confirm, run_matrix, run_snippet
from cnnspec.cli import main
from cnnspec.report import html, junit, markdown
from cnnspec.report.schema import schema_errors
from cnnspec.stages import run_verify

pytest.importorskip("onnxruntime", reason="ONNX Runtime is not installed: pip install 'cnnspec[onnxruntime]'")

OPS = ["conv2d", "max_pool2d"]


@pytest.fixture(scope="module")
def report():
    return run_verify(["frameworks"], frameworks=["torch", "onnxruntime"], framework_ops=OPS)


def test_each_cell_is_a_claim_and_the_matrix_is_a_schema_valid_section(report):
    assert schema_errors(report) == []
    ids = {c["id"]: c for c in report["claims"]}
    assert set(ids) == {f"matrix.{f}.{op}.float32" for f in ("torch", "onnxruntime") for op in OPS}
    assert all(c["stage"] == "frameworks" and c["section"] == "frameworks" for c in ids.values())
    assert ids["matrix.torch.max_pool2d.float32"]["status"] == "pass"
    bad = ids["matrix.onnxruntime.max_pool2d.float32"]
    assert bad["status"] == "fail" and "nan-fmax" in bad["message"] and report["verdict"] == "fail"
    snippet = bad["counterexample"]["python"]
    assert "import onnxruntime" in snippet and "cnnspec" not in snippet.split("\n", 1)[1]
    # the workers run longest first; the cells keep the frameworks' order
    assert [c["framework"] for c in report["matrix"]["cells"]] == ["torch"] * 2 + ["onnxruntime"] * 2
    assert set(report["matrix"]["timings"]) == {"torch/float32", "onnxruntime/float32"}
    assert report["stages"][0]["name"] == "frameworks" and report["stages"][0]["status"] == "fail"


def test_the_page_has_the_framework_by_op_table_linking_claims_and_snippets(report):
    page = html.render(report)
    table = page[page.index('class="matrix-section"'):]
    table = table[:table.index("</table>")]
    assert "<th>conv2d</th>" in table and "<th>max_pool2d</th>" in table
    anchor = next(i for i, c in enumerate(report["claims"]) if c["id"] == "matrix.onnxruntime.max_pool2d.float32")
    assert f'href="#claim-{anchor}"' in table and f'id="claim-{anchor}"' in page
    assert 'href="#snippet-onnxruntime-max_pool2d-float32"' in table
    assert 'id="snippet-onnxruntime-max_pool2d-float32"' in page


def test_junit_and_markdown_name_the_cells(report):
    root = ET.fromstring(junit.render(report).split("\n", 1)[1])
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert cases["matrix.onnxruntime.max_pool2d.float32"].find("failure") is not None
    assert cases["matrix.torch.conv2d.float32"].find("failure") is None
    md = markdown.render(report)
    assert "### Frameworks × ops" in md and "| onnxruntime " in md and "max_pool2d |" in md


def test_a_missing_framework_is_listed_with_its_install_command(monkeypatch):
    fw = ad.FRAMEWORKS["tinygrad"]
    monkeypatch.setitem(ad.FRAMEWORKS, "tinygrad", dataclasses.replace(fw, imports="cnnspec_no_such_framework"))
    rep = run_verify(["frameworks"], frameworks=["tinygrad"], framework_ops=["conv2d"])
    assert schema_errors(rep) == [] and [c["status"] for c in rep["claims"]] == ["skipped"]
    assert rep["matrix"]["frameworks"][0]["installed"] is False
    install = "pip install 'cnnspec[tinygrad]'"
    assert install.replace("'", "&#39;") in html.render(rep) and install in markdown.render(rep)


def test_a_divergence_is_confirmed_by_its_snippet_alone_and_a_wrong_value_is_not():
    doc = run_matrix(["onnxruntime"], ["max_pool2d"])
    (cell,) = doc["cells"]
    confirm(doc)
    runs = [r["confirmed"] for r in cell["cases"] if r.get("confirmed")]
    assert runs and all(r["reproduced"] and r["returncode"] == 0 for r in runs), runs
    assert any("expected -inf" in r["excerpt"] or "expected nan" in r["excerpt"] for r in runs)
    # a snippet whose native value is not the one the adapter reported does not confirm it
    row = next(r for r in cell["cases"] if r.get("snippet"))
    row["got"] = row["got"].replace("3.0", "4.0", 1)
    confirm(doc)
    assert row["confirmed"]["reproduced"] is False


def test_a_snippet_that_imports_cnnspec_is_seen_doing_so():
    plain = run_snippet("import numpy\nprint('got:', [1.0])\n")
    assert plain["returncode"] == 0 and plain["output"].strip() == "got: [1.0]" and not plain["cnnspec_imported"]
    assert run_snippet("import cnnspec.oracle\n")["cnnspec_imported"] is True


def _main(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(["verify", *argv])
        except SystemExit as e:
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


def test_the_option_adds_the_stage_to_the_report(tmp_path):
    rc, out, err = _main("--stages", "spec", "--claims", "conv.flip,matrix.*", "--frameworks", "torch",
                         "--framework-ops", "conv2d", "--out", str(tmp_path), "--quiet")
    assert rc == 0, out + err
    rep = json.loads((tmp_path / "report.json").read_text())
    assert [s["name"] for s in rep["stages"]] == ["spec", "frameworks"]
    assert [c["id"] for c in rep["claims"]] == ["conv.flip", "matrix.torch.conv2d.float32"]


@pytest.mark.parametrize("args, words", [
    (["--frameworks", "caffe"], "--frameworks: 'caffe' is not one of torch, jax"),
    (["--frameworks", "--framework-ops", "conv9d"], "--framework-ops: 'conv9d' is not an op of the calling"),
    (["--frameworks", "--framework-ops", ","], "--framework-ops: ',' names no op"),
    (["--frameworks", "--jobs", "0"], "--jobs: 0 must be at least 1"),
])
def test_bad_input_is_one_line_exit_2(args, words, tmp_path):
    rc, out, err = _main(*args, "--out", str(tmp_path / "r"))
    assert rc == 2 and words in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r").exists()


def test_a_split_framework_runs_in_parts_and_keeps_its_cells_order(monkeypatch):
    from cnnspec.adapters import matrix
    monkeypatch.setitem(matrix._PARTS, "torch", 2)
    ops = ["conv1d", "max_pool1d", "pad"]
    doc = run_matrix(["torch"], ops, jobs=2)
    assert set(doc["timings"]) == {"torch/float32#1", "torch/float32#2"}
    assert [c["op"] for c in doc["cells"]] == ops and all(c["status"] == "pass" for c in doc["cells"])
    assert set(run_matrix(["torch"], ops[:1], jobs=1)["timings"]) == {"torch/float32"}   # one job: one part
