"""cnnspec.conformance.pytest_plugin (and suite.py): the claims inside a user's own test suite.

Items exist at collection (``--co`` lists them), a node id re-runs one, the target comes from an
option, an environment variable or an ini option, hypothesis's own options are honoured, and the
suite runs under pytest-xdist.
"""
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOOD = "cnnspec.conformance.shims.numpy_ops:max_pool2d"


def run_pytest(tmp_path, *args, env=None, target=GOOD, op="max_pool2d", examples=4):
    """pytest in ``tmp_path`` (a user's project with one test of its own) with the plugin."""
    (tmp_path / "test_user.py").write_text("def test_mine():\n    assert 1 + 1 == 2\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    for k in ("CNNSPEC_TARGET", "CNNSPEC_OP"):
        if env.get(k) == "":
            del env[k]
    # `-p no:cnnspec` keeps the installed entry point (pyproject's pytest11) from registering the
    # plugin a second time beside the explicit `-p`; without installation it blocks nothing.
    opts = (["--cnnspec-target", target] if target else []) + (["--cnnspec-op", op] if op else [])
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cnnspec", "-p", "cnnspec.conformance.pytest_plugin",
           "-p", "no:cacheprovider", "--rootdir", str(tmp_path), "-q", *opts,
           "--cnnspec-examples", str(examples), "--cnnspec-shrink-seconds", "1", *args]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def test_plugin_passes_a_correct_target_beside_the_users_tests_and_writes_junit(tmp_path):
    r = run_pytest(tmp_path, f"--junitxml={tmp_path / 'j.xml'}")
    assert r.returncode == 0, r.stdout + r.stderr
    cases = {(c.get("classname"), c.get("name")) for c in ET.parse(tmp_path / "j.xml").getroot().iter("testcase")}
    assert ("test_user", "test_mine") in cases
    assert ("cnnspec.conformance.suite", "test_claim[conformance.max_pool.values]") in cases
    assert len(cases) >= 8


def test_plugin_fails_a_buggy_target_with_the_counterexample(tmp_path):
    r = run_pytest(tmp_path, f"--junitxml={tmp_path / 'j.xml'}", target=f"{ROOT / 'tests/buggy/bugs.py'}:avgpool_cip_inverted",
                   op="avg_pool2d")
    assert r.returncode == 1
    assert "but should be" in r.stdout and "reproduce: cnnspec validate" in r.stdout
    failures = [c.get("name") for c in ET.parse(tmp_path / "j.xml").getroot().iter("testcase")
                if c.find("failure") is not None]
    assert "test_claim[conformance.avg_pool.operator]" in failures


def test_items_exist_at_collection_and_a_node_id_reruns_one(tmp_path):
    """It printed "collected 0 items" and then ran 11 tests; --co said "no tests collected"."""
    co = run_pytest(tmp_path, "--co")
    assert co.returncode == 0, co.stdout + co.stderr
    listed = [line for line in co.stdout.splitlines() if "::" in line]
    assert "cnnspec.conformance.suite::test_claim[conformance.max_pool.values]" in listed
    from cnnspec.conformance.runner import claims_for
    n = len(claims_for("max_pool2d")) + 1          # every claim of the op, and the user's own test
    assert "test_user.py::test_mine" in listed and f"{n} tests collected" in co.stdout
    one = run_pytest(tmp_path, "--pyargs", "cnnspec.conformance.suite::test_claim[conformance.max_pool.values]")
    assert one.returncode == 0 and "1 passed" in one.stdout, one.stdout + one.stderr


def test_target_and_op_from_the_environment_and_from_an_ini_option(tmp_path):
    env = run_pytest(tmp_path, "--co", target=None, op=None,
                     env={"CNNSPEC_TARGET": GOOD, "CNNSPEC_OP": "max_pool2d"})
    assert "cnnspec.conformance.suite::test_claim[conformance.max_pool.values]" in env.stdout, env.stdout + env.stderr
    (tmp_path / "pytest.ini").write_text(f"[pytest]\ncnnspec_target = {GOOD}\ncnnspec_op = max_pool2d\n")
    ini = run_pytest(tmp_path, "--co", target=None, op=None, env={"CNNSPEC_TARGET": "", "CNNSPEC_OP": ""})
    assert "cnnspec.conformance.suite::test_claim[conformance.pool.shape]" in ini.stdout, ini.stdout + ini.stderr
    bad = run_pytest(tmp_path, target=None, op=None, env={"CNNSPEC_TARGET": GOOD, "CNNSPEC_OP": "conv9d"})
    assert bad.returncode != 0 and "'conv9d' is not one of" in bad.stderr + bad.stdout


def test_without_a_target_the_plugin_adds_nothing(tmp_path):
    r = run_pytest(tmp_path, target=None, op=None, env={"CNNSPEC_TARGET": "", "CNNSPEC_OP": ""})
    assert r.returncode == 0 and "1 passed" in r.stdout, r.stdout + r.stderr


def test_runs_under_xdist_and_honours_hypothesis_seed(tmp_path):
    pytest.importorskip("xdist", reason="pytest-xdist is not installed: pip install pytest-xdist")
    r = run_pytest(tmp_path, "-n", "2", "--hypothesis-seed", "7")
    from cnnspec.conformance.runner import claims_for
    n = len(claims_for("max_pool2d"))     # every claim but the one skipped for NumPy, and the user's test
    assert r.returncode == 0 and f"{n} passed, 1 skipped" in r.stdout, r.stdout + r.stderr
    bad = run_pytest(tmp_path, "-n", "2", "--hypothesis-seed", "7",
                     target=f"{ROOT / 'tests/buggy/bugs.py'}:maxpool_zero_pad")
    assert bad.returncode == 1 and "--seed 7" in bad.stdout     # the reproduction uses the seed given
