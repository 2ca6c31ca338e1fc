"""cnnspec.stages and ``cnnspec verify`` (commands/verify.py): stages, skipped parts, errors that never abort, determinism, the CLI.

The small real run is the spec stage (``--stages spec``); the whole default job is marked slow.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnnspec.claims import ClaimResult
from cnnspec.cli import main
from cnnspec.report.output import load_report
from cnnspec.report.schema import without_times
from cnnspec.commands.verify import Progress, parse_stages
from cnnspec.stages import (DEFAULT_STAGES, OPTIONAL_STAGES, STAGE_NAMES, STAGES, RunContext, Stage, StageOutput,
                            run_verify)

ROOT = Path(__file__).resolve().parents[1]
# A few fast spec claims: the small real run (the whole spec stage takes ~20 s on a loaded machine).
FEW = "conv.flip,conv.lecture.examples,conv.receptive_field,conv.equivariance.circulant"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def _cli(*args, cwd=ROOT, timeout=600):
    return subprocess.run([sys.executable, "-m", "cnnspec", "verify", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=ENV)


@pytest.fixture(scope="module")
def spec_run(tmp_path_factory):
    """``cnnspec verify --stages spec --claims FEW --out DIR``, in this process (exit code, stdout, stderr)."""
    import contextlib
    import io

    out = tmp_path_factory.mktemp("verify-spec")
    so, se = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(so), contextlib.redirect_stderr(se):
        rc = _main("--stages", "spec", "--claims", FEW, "--out", str(out))
    return subprocess.CompletedProcess([], rc, so.getvalue(), se.getvalue()), out


def test_spec_stage_writes_the_four_files_and_its_exit_code_matches(spec_run):
    r, out = spec_run
    rep = load_report(out)
    assert rep["kind"] == "verify" and [s["name"] for s in rep["stages"]] == ["spec"]
    assert r.returncode == (0 if rep["verdict"] == "pass" else 1), r.stderr
    assert r.stdout.strip().splitlines()[-1] == f"report: {out / 'index.html'}"
    assert f" {rep['verdict'].upper()}: " in r.stdout.strip().splitlines()[-2]
    for name in ("index.html", "junit.xml", "summary.md"):
        assert (out / name).stat().st_size > 0
    assert {a["section"] for a in rep["artifacts"]} >= {"convolution", "sparse", "receptive", "equivariance", "pooling"}
    assert [c["id"] for c in rep["claims"]] == FEW.split(",")
    assert all(c["stage"] == "spec" for c in rep["claims"])


def test_progress_says_what_runs_and_what_is_left(spec_run):
    r, _ = spec_run
    assert "(1/1) spec:" in r.stderr


def test_the_end_of_the_run_counts_the_statuses_and_says_where_the_report_is(spec_run):
    r, out = spec_run
    lines = r.stdout.strip().splitlines()
    n = len(FEW.split(","))
    assert any(f"PASS: {n} passed in " in line and line.startswith("=") for line in lines), r.stdout
    assert f"report: {out / 'index.html'}" in r.stdout


def test_the_spec_figures_show_what_the_spec_computes(spec_run):
    _, out = spec_run
    arts = {a["id"]: a for a in load_report(out)["artifacts"]}
    first = arts["conv.derivation-2d"]["lines"][0]
    assert first == {"lhs": "s_0_0", "rhs": "a*w + b*x + e*y + f*z"}     # Goodfellow et al. Fig. 9.1
    eq = arts["equiv.figure"]
    assert eq["equal_positions"] == eq["positions"] == 36               # circular: equal everywhere
    rf = arts["rf.growth"]["graphs"][0]["layers"]
    assert [len(L["highlight"]) for L in rf] == [7, 5, 3, 1]             # 1 + L(k-1), k = 3


def test_same_seed_same_report_apart_from_times():
    a = run_verify(["spec"], seed=3, progress=None, claims=FEW.split(","))
    b = run_verify(["spec"], seed=3, progress=None, claims=FEW.split(","))
    c = run_verify(["spec"], seed=4, progress=None, claims=FEW.split(","))
    assert json.dumps(without_times(a), sort_keys=True) == json.dumps(without_times(b), sort_keys=True)
    assert without_times(a)["artifacts"] != without_times(c)["artifacts"]   # the seed does reach the data


def _stage(name, fn, needs=()):
    return Stage(name, f"test stage {name}", f"part {name}", needs, fn)


def _one(status):
    def run(ctx: RunContext) -> StageOutput:
        out = StageOutput()
        out.add([ClaimResult(f"t.{status}", "a claim", "here", "exact", status, f"it is {status}")], subject="s")
        return out
    return run


def _boom(ctx: RunContext) -> StageOutput:
    raise RuntimeError("the stage broke")


def test_missing_part_is_a_skipped_stage_and_errors_never_abort():
    registry = (_stage("gone", _one("pass"), needs=("cnnspec.no_such_part",)), _stage("boom", _boom),
                _stage("after", _one("pass")))
    rep = run_verify(None, registry=registry, progress=None)
    st = {s["name"]: s for s in rep["stages"]}
    assert st["gone"]["status"] == "skipped"
    assert st["gone"]["reason"] == "skipped: part gone not installed (no module cnnspec.no_such_part)"
    assert st["boom"]["status"] == "error" and "RuntimeError: the stage broke" in st["boom"]["reason"]
    assert st["after"]["status"] == "ran"            # the run went on after the broken stage
    ids = [(c["id"], c["status"], c["stage"]) for c in rep["claims"]]
    assert ids == [("verify.boom", "error", "boom"), ("t.pass", "pass", "after")]
    assert rep["verdict"] == "fail"


def test_a_failing_claim_fails_the_stage_and_the_verdict():
    rep = run_verify(None, registry=(_stage("a", _one("pass")), _stage("b", _one("fail"))), progress=None)
    assert [s["status"] for s in rep["stages"]] == ["ran", "fail"]
    assert rep["verdict"] == "fail" and rep["claims"][1]["subject"] == "s"


def test_stage_names_are_checked():
    assert parse_stages("post-training, spec") == ["spec", "post-training"]
    assert parse_stages(None) == list(DEFAULT_STAGES) == [s.name for s in STAGES if s.name not in OPTIONAL_STAGES]
    assert "frameworks" in STAGE_NAMES and "frameworks" not in DEFAULT_STAGES


@pytest.mark.parametrize("args, expect", [
    (["--stages", "spec,nope"], "--stages: 'nope' is not a stage"),
    (["--claims", "conv.flip,no.such.claim"], "--claims: 'no.such.claim' matches no claim"),
    (["--quick", "--full"], "not allowed with argument"),
    (["--seed", "x"], "--seed: 'x' is not a whole number"),
    (["--data", "/no/such/dir", "--stages", "spec"], "--data: '/no/such/dir' is not a folder"),
    (["--target", "x.py:f"], "--target: 'x.py:f' is not TARGET=OP"),
    (["--target", "x.py:f=conv9d"], "OP one of conv1d"),
    (["--target", "x.py:f=conv1d", "--stages", "spec"], "add conformance to --stages"),
    (["--targets-only"], "--targets-only: give at least one --target"),
])
def test_bad_arguments_exit_2_with_one_line(args, expect, tmp_path, capsys):
    assert _main(*args, "--out", str(tmp_path / "o")) == 2
    err = capsys.readouterr().err
    assert expect in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_out_that_is_a_file_is_a_usage_error(tmp_path, capsys):
    f = tmp_path / "f"
    f.write_text("x")
    assert _main("--stages", "spec", "--out", str(f)) == 2
    assert "is not a folder" in capsys.readouterr().err and f.read_text() == "x"


def _main(*args) -> int:
    """The command line in this process (argparse's own errors exit through SystemExit)."""
    try:
        return main(["verify", *args])
    except SystemExit as e:
        return int(e.code)


def test_a_killed_run_leaves_the_previous_report_intact(spec_run, tmp_path):
    _, first = spec_run
    out = tmp_path / "rep"
    out.mkdir()
    for name in ("index.html", "report.json", "junit.xml", "summary.md"):
        (out / name).write_bytes((first / name).read_bytes())
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    proc = subprocess.Popen([sys.executable, "-m", "cnnspec", "verify", "--stages", "spec", "--claims", FEW,
                             "--out", str(out)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    assert "(1/1) spec" in proc.stderr.readline()      # it is running the stage now
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith(".")} == before


def test_default_folder_is_reports_run_id_with_a_latest_link(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert _main("--stages", "spec", "--claims", FEW, "--quiet") in (0, 1)
    assert capsys.readouterr().err == ""
    runs = [p for p in (tmp_path / "reports").iterdir() if p.name != "latest"]
    assert len(runs) == 1 and (runs[0] / "index.html").exists()
    assert (tmp_path / "reports" / "latest").resolve() == runs[0].resolve()
    assert load_report(runs[0])["run_id"] == runs[0].name


@pytest.mark.slow
def test_the_default_job_end_to_end(tmp_path):
    """The README's first command: every stage, quick schedule, at most ten minutes, every claim holds."""
    t0 = time.monotonic()
    r = _cli("--out", str(tmp_path), timeout=1200)
    wall = time.monotonic() - t0
    rep = load_report(tmp_path)
    bad = [(c["id"], c.get("subject"), c["message"]) for c in rep["claims"] if c["status"] in ("fail", "error")]
    assert r.returncode == 0 and not bad, (bad, r.stderr[-3000:])
    assert all(s["status"] == "ran" for s in rep["stages"]), rep["stages"]
    assert wall < 600 or os.environ.get("CNNSPEC_LOADED"), f"{wall:.0f} s"


def test_a_failing_target_end_to_end_exits_1_with_its_counterexample(tmp_path, monkeypatch, capsys):
    """The deliberately wrong conv1d of tests/test_report.py, validated by verify in its own process."""
    monkeypatch.chdir(ROOT)
    rc = _main("--stages", "conformance", "--claims", "conformance.conv.values,conformance.conv.shape",
               "--target", "tests/test_report.py:flipped_conv1d=conv1d", "--targets-only", "--out", str(tmp_path))
    r = capsys.readouterr()
    assert rc == 1, r.err[-2000:]
    rep = load_report(tmp_path)
    assert {c["subject"] for c in rep["claims"]} == {"tests/test_report.py:flipped_conv1d [conv1d, cpu, float32]"}
    status = {c["id"]: c["status"] for c in rep["claims"]}
    assert status == {"conformance.conv.values": "fail", "conformance.conv.shape": "pass"}
    bad = next(c for c in rep["claims"] if c["status"] == "fail")
    cx = bad["counterexample"]
    assert cx["expected"] != cx["got"] and cx["reproduce"].startswith("cnnspec validate tests/test_report.py:flipped_conv1d")
    page = (tmp_path / "index.html").read_text()
    assert "Counterexample" in page and "flipped_conv1d --op conv1d" in page
    assert "FAILED conformance.conv.values [tests/test_report.py:flipped_conv1d" in r.out and " FAIL: " in r.out


def test_a_target_that_cannot_be_imported_is_an_error_in_the_report(tmp_path):
    rep = run_verify(["conformance"], claims=["conformance.pool.invalid"], progress=None, targets_only=True,
                     targets=[("tests/no_such_file.py:f", "max_pool2d", "numpy")])
    assert [t["subject"] for t in rep["targets"]] == ["tests/no_such_file.py:f [max_pool2d, cpu, float32]"]
    bad = [c for c in rep["claims"] if c["status"] != "pass"]
    assert [(c["id"], c["status"]) for c in bad] == [("conformance.max_pool2d.import", "error")]
    assert "no_such_file.py" in bad[0]["message"] and rep["verdict"] == "fail"


def test_progress_in_a_log_shows_each_stage_and_its_first_step():
    import io

    log = io.StringIO()
    p = Progress(["a", "b"], stream=log)
    p.start(0, "a", "first")
    p.step("a1")
    p.step("a2")                       # within two seconds: a log file skips it
    p.finish("a", "ran", {"pass": 2, "fail": 0}, 0.1)
    p.start(1, "b", "second")
    p.step("b1")                       # the first step of a stage is always shown
    p.done("pass", None)
    lines = log.getvalue().splitlines()
    assert [l.split("] ", 1)[1] for l in lines] == [
        "(1/2) a: first — then: b", "    a: a1", "    a: ran — 2 pass (0.1 s)",
        "(2/2) b: second — last stage", "    b: b1", "verdict: PASS"]


@pytest.mark.parametrize("acc, status", [(0.905, "pass"), (0.85, "fail")])
def test_the_recipe_target_claim_is_judged_from_the_metrics(acc, status):
    """The training stage's claim, from metrics shaped as reference.train.train returns them."""
    from cnnspec.stages import target_claim

    m = {"test_acc": acc, "target_acc": 0.90, "time_to_target_s": 12.0 if acc >= 0.9 else None,
         "recipe": {"name": "lenet5-quick"}, "data": {"name": "fashion-mnist"}}
    r = target_claim(m, "lenet5-quick")
    assert (r.id, r.status, r.method) == ("training.target_accuracy", status, "empirical")
    assert f"{acc:.4f}" in r.message
