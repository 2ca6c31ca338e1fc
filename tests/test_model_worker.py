"""``validate --model`` builds the model in a child process: a factory (or its module) that exits,
segfaults, hangs or floods stdout is one line and exit 2, never exit 0, a crash or a hang of
cnnspec (tests/hostile/models.py)."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODELS = str(ROOT / "tests/hostile/models.py")


def cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "cnnspec", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ))


@pytest.mark.parametrize("target,words", [
    (f"{MODELS}:exits_zero", "called sys.exit(0)"),
    (f"{MODELS}:os_exits_zero", "exited with code 0"),
    (f"{MODELS}:segfaults", "SIGSEGV"),
    (str(ROOT / "tests/hostile/exits_at_import.py") + ":factory", "exited with code 0"),
])
def test_a_factory_that_ends_its_process_is_one_line_exit_2(target, words):
    r = cli("validate", "--model", target, "--spec", "lenet5")
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in r.stderr, r.stderr


def test_a_hanging_factory_is_stopped_by_the_timeout():
    t0 = time.monotonic()
    r = cli("validate", "--model", f"{MODELS}:hangs", "--spec", "lenet5", "--timeout", "2")
    assert r.returncode == 2 and "did not finish within 2 s (--timeout)" in r.stderr, r.stderr
    assert time.monotonic() - t0 < 60


def test_a_model_that_prints_passes_and_its_output_stays_out_of_cnnspecs(tmp_path):
    r = cli("validate", "--model", f"{MODELS}:floods", "--spec", "lenet5", "--report", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "model-flood" not in r.stdout + r.stderr and len(r.stdout) < 3000
    assert (tmp_path / "report.json").exists()
