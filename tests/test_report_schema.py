"""The report schema (``cnnspec/report/report.schema.json``): every report cnnspec writes is valid,
and ``cnnspec report`` refuses every malformed input in one line with exit 2, before drawing anything.

The inputs below are the shapes a hand-edited, truncated or hostile report.json takes: statuses
outside the enum ("FAIL" and "failed" must never read as a pass), markup in attribute position,
wrong types, nesting 5,000 deep.
"""
from __future__ import annotations

import json
import sys

import pytest

from cnnspec.claims import Claim, Outcome, count_statuses, run_claim
from cnnspec.cli import main
from cnnspec.report.output import load_report, write_report_dir
from cnnspec.report.schema import (SCHEMA_PATH, build_report, dumps, exit_code, json_schema, schema_errors,
                                   summary, validate)
from tests.test_report import make_failing_report


def _ok() -> dict:
    rep = build_report("prove", [run_claim(Claim("conv.flip", "s", "src", "exact", lambda: Outcome(True, "ok")))])
    return json.loads(dumps(rep))


def test_the_schema_ships_in_the_package_and_is_a_valid_json_schema():
    from jsonschema import Draft202012Validator

    assert SCHEMA_PATH.parent.name == "report" and SCHEMA_PATH.exists()
    Draft202012Validator.check_schema(json_schema())
    assert set(json_schema()["properties"]["summary"]["required"]) == {
        "pass", "fail", "warn", "error", "skipped", "exit_code", "seconds"}


def test_reports_cnnspec_writes_are_valid(tmp_path):
    rep = make_failing_report()
    write_report_dir(rep, tmp_path)
    saved = json.loads((tmp_path / "report.json").read_text())
    assert schema_errors(saved) == []
    assert schema_errors(_ok()) == []


def test_exit_code_and_summary_follow_the_statuses():
    def claims(*statuses):
        return [{"id": f"c{i}", "status": s, "seconds": 0.5} for i, s in enumerate(statuses)]

    assert exit_code(claims("pass", "skipped", "warn")) == 0
    assert exit_code(claims("pass", "warn"), strict=True) == 1
    assert exit_code(claims("pass", "fail")) == 1 and exit_code(claims("error")) == 1
    assert exit_code(claims("FAIL")) == 1                   # unreadable is never a pass
    assert count_statuses(claims("failed", "pass")) == {"pass": 1, "fail": 0, "warn": 0, "error": 1, "skipped": 0}
    s = summary(claims("pass", "warn", "fail"))
    assert (s["pass"], s["warn"], s["fail"], s["exit_code"], s["seconds"]) == (1, 1, 1, 1, 1.5)


def _deep(n: int):
    root = node = []
    for _ in range(n):
        node.append([])
        node = node[0]
    return root


BAD = {   # name: (change to a valid report, text the one line must contain)
    "status FAIL": (lambda r: r["claims"][0].update(status="FAIL"), 'claims[0].status: "FAIL" is not one of'),
    "status failed": (lambda r: r["claims"][0].update(status="failed"), 'claims[0].status: "failed"'),
    "status markup": (lambda r: r["claims"][0].update(status="'><script>alert(3)</script>"), "claims[0].status"),
    "status attribute": (lambda r: r["claims"][0].update(status="pass' onmouseover='alert(1)"), "claims[0].status"),
    "seconds abc": (lambda r: r["claims"][0].update(seconds="abc"), 'claims[0].seconds: "abc" is not of type number'),
    "counterexample oops": (lambda r: r["claims"][0].update(counterexample="oops"),
                            'claims[0].counterexample: "oops" is neither null nor an object'),
    "environment list": (lambda r: r.update(environment=[1, 2]), "environment: [1, 2] is not of type object"),
    "nesting 5000": (lambda r: r["claims"][0].update(evidence={"x": _deep(5000)}), "nested deeper than 64"),
    "claims object": (lambda r: r.update(claims={"a": 1}), "claims: {\"a\": 1} is not of type array"),
    "id missing": (lambda r: r["claims"][0].pop("id"), "claims[0]: field 'id' is missing"),
    "examples negative": (lambda r: r["claims"][0].update(examples=-3), "claims[0].examples: -3 is below 0"),
    "verdict maybe": (lambda r: r.update(verdict="maybe"), 'verdict: "maybe" is not one of pass, fail'),
    "summary exit 7": (lambda r: r["summary"].update(exit_code=7), "summary.exit_code: 7 is not one of 0, 1"),
    "stages string": (lambda r: r.update(stages="all"), 'stages: "all" is not of type array'),
    "message number": (lambda r: r["claims"][0].update(message=3), "claims[0].message: 3 is not of type string"),
    "method magic": (lambda r: r["claims"][0].update(method="magic"), "claims[0].method"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_report_refuses_a_malformed_input_in_one_line(name, tmp_path, capsys):
    change, expect = BAD[name]
    rep = _ok()
    change(rep)
    f = tmp_path / "r.json"
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10000)   # only so that json.dumps can write the 5,000-deep case
    try:
        f.write_text(json.dumps(rep))
    finally:
        sys.setrecursionlimit(limit)
    assert main(["report", str(f), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert expect in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()                      # nothing drawn, nothing written


def test_a_saved_verdict_or_count_is_not_trusted(tmp_path):
    rep = _ok()
    rep["claims"].append({"id": "conv.other", "status": "fail", "message": "out[0]=1, but should be 2"})
    rep["verdict"], rep["summary"]["fail"], rep["summary"]["exit_code"] = "pass", 0, 0   # a forged summary
    (tmp_path / "r.json").write_text(json.dumps(rep))
    loaded = load_report(tmp_path / "r.json")
    assert loaded["verdict"] == "fail" and loaded["summary"]["fail"] == 1 and loaded["summary"]["exit_code"] == 1
    assert main(["report", str(tmp_path / "r.json"), "--out", str(tmp_path / "o"), "--quiet"]) == 1


def test_a_report_without_a_summary_is_read_and_gets_one(tmp_path):
    rep = _ok()
    del rep["summary"]
    (tmp_path / "old.json").write_text(json.dumps(rep))
    assert load_report(tmp_path / "old.json")["summary"]["pass"] == 1


def test_validate_names_the_first_bad_field_in_document_order():
    rep = _ok()
    rep["claims"][0]["status"] = "nope"
    rep["environment"] = "x"
    with pytest.raises(Exception) as e:
        validate(rep, where="r.json")
    assert str(e.value).startswith('r.json: claims[0].status: "nope"') and "(and 1 more)" in str(e.value)


def test_report_of_a_folder_without_report_json_says_so(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "holds no report.json" in err and "does not exist" not in err


def test_report_refuses_an_out_folder_that_holds_its_input(tmp_path, capsys):
    (tmp_path / "R").mkdir()
    (tmp_path / "R" / "report.json").write_text(dumps(_ok()))
    before = (tmp_path / "R" / "report.json").read_text()
    assert main(["report", str(tmp_path / "R"), "--out", str(tmp_path / "R")]) == 2
    assert main(["report", str(tmp_path / "R" / "report.json"), "--out", str(tmp_path)]) == 2
    assert main(["report", str(tmp_path / "R"), str(tmp_path / "R" / "report.json"), "--out",
                 str(tmp_path / "o")]) == 2                       # the same report twice
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "holds the input" in err[0] and "same report" in err[2]
    assert (tmp_path / "R" / "report.json").read_text() == before


def test_the_smallest_valid_entries_render_in_every_form(tmp_path):
    """What the schema allows, the page draws: stages, targets and sources with only their required fields."""
    rep = _ok()
    rep.update(stages=[{"name": "spec"}], targets=[{}], merged_from=[{"path": "a.json"}],
               artifacts=[{"type": "note"}])
    rep["claims"].append({"id": "x.y", "status": "warn"})
    assert schema_errors(rep) == []
    write_report_dir(rep, tmp_path / "r")
    assert "x.y" in (tmp_path / "r" / "index.html").read_text()


def test_the_environment_names_the_byte_the_workers_perturbed_memory_with(monkeypatch):
    from cnnspec.report.schema import environment
    monkeypatch.delenv("MALLOC_PERTURB_", raising=False)
    assert environment()["worker_malloc_perturb"] == "165"
    monkeypatch.setenv("MALLOC_PERTURB_", "0")          # the user's choice: off
    assert environment()["worker_malloc_perturb"] == "0"


def test_the_environment_names_numpys_blas_its_kernels_and_what_overrides_them(monkeypatch):
    """The oracle's speed is NumPy's BLAS kernels': the report says which run, and names the
    variables that made OpenBLAS run others than it would pick (a machine may set them)."""
    from threadpoolctl import threadpool_info

    from cnnspec.report.html import _environment_rows
    from cnnspec.report.schema import BLAS_OVERRIDES, blas_info, environment

    for var in BLAS_OVERRIDES:
        monkeypatch.delenv(var, raising=False)
    info = blas_info()
    numpy_pools = [p for p in threadpool_info() if p["user_api"] == "blas" and "numpy" in p["filepath"]]
    if numpy_pools:                      # NumPy's wheels bundle OpenBLAS
        assert info["library"] == numpy_pools[0]["internal_api"] == "openblas"
        assert info["kernels"] and info["version"] and info["threads"] >= 1
    assert info is None or info["overrides"] is None
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("OPENBLAS_L2_SIZE", "512")
    env = environment()
    if info is not None:
        assert env["blas"]["overrides"] == "OPENBLAS_CORETYPE=Haswell OPENBLAS_L2_SIZE=512"
        row = dict(_environment_rows(env))["blas"]
        assert f"kernels {info['kernels']}" in row and "overrides OPENBLAS_CORETYPE=Haswell" in row
    rep = json.loads(dumps(build_report("prove", [], env=env)))
    assert schema_errors(rep) == []
