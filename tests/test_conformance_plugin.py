"""The pytest plugin runs the same claims inside a user's own test suite, with JUnit XML."""
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_pytest(tmp_path, target, op, examples=4):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    # `-p no:cnnspec` keeps the installed entry point (pyproject's pytest11) from registering the
    # plugin a second time beside the explicit `-p`; without installation it blocks nothing.
    xml = tmp_path / "junit.xml"
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cnnspec", "-p", "cnnspec.conformance.pytest_plugin",
                        "-p", "no:cacheprovider", "--rootdir", str(tmp_path), "-q",
                        "--cnnspec-target", target, "--cnnspec-op", op, "--cnnspec-examples", str(examples), "--cnnspec-shrink-seconds", "1",
                        f"--junitxml={xml}"], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    return r, ET.parse(xml).getroot()


def test_plugin_passes_a_correct_target_and_writes_junit(tmp_path):
    r, root = run_pytest(tmp_path, "cnnspec.conformance.shims.numpy_ops:max_pool2d", "max_pool2d")
    assert r.returncode == 0, r.stdout + r.stderr
    cases = root.iter("testcase")
    names = {c.get("name") for c in cases}
    assert "conformance.max_pool.values" in names and len(names) >= 7


def test_plugin_fails_a_buggy_target_with_the_counterexample(tmp_path):
    r, root = run_pytest(tmp_path, f"{ROOT / 'tests/buggy/bugs.py'}:avgpool_cip_inverted", "avg_pool2d")
    assert r.returncode == 1
    assert "but should be" in r.stdout and "reproduce: cnnspec validate" in r.stdout
    failures = [c for c in root.iter("testcase") if c.find("failure") is not None]
    assert any(c.get("name") == "conformance.avg_pool.operator" for c in failures)
