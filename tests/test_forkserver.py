"""Workers forked from the fork server (cnnspec/conformance/forkserver.py) behave as fresh
interpreters do: same values, the same words for a child that exits, crashes or hangs, output
captured, the parent's environment, working directory and path, and no process left when
cnnspec is killed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from cnnspec.conformance import forkserver
from cnnspec.conformance.isolation import Call, Worker, WorkerFailure

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork server is Linux's")

ROOT = Path(__file__).resolve().parents[1]
SHIM = "cnnspec.conformance.shims.numpy_ops:conv2d"
X = np.arange(2 * 2 * 5 * 5, dtype=np.float64).reshape(2, 2, 5, 5) / 7
W = np.arange(3 * 2 * 3 * 3, dtype=np.float64).reshape(3, 2, 3, 3) / 5 - 1.5

HOSTILE = '''
import ctypes, os, sys, time
import torch.nn.functional as F

def ok(x, weight, bias=None, **kw):
    print("printed by the target")
    return F.conv2d(x, weight, bias, **kw)

def where(x, weight, bias=None, **kw):
    return F.conv2d(x, weight, bias, **kw) * 0 + float(os.environ["CNNSPEC_TEST_VALUE"]) + len(os.getcwd()) * 0

def exits(x, weight, bias=None, **kw):
    sys.exit(0)

def os_exits(x, weight, bias=None, **kw):
    os._exit(3)

def segfaults(x, weight, bias=None, **kw):
    ctypes.string_at(0)

def hangs(x, weight, bias=None, **kw):
    with open(os.environ["CNNSPEC_HOSTILE_MARK"], "w") as f:
        f.write(str(os.getpid()))
    time.sleep(1000)
'''


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    (tmp_path / "forked_hostile.py").write_text(HOSTILE)
    monkeypatch.setenv("CNNSPEC_FORKSERVER", "always")
    monkeypatch.setenv("CNNSPEC_HOSTILE_MARK", str(tmp_path / "pid"))
    return tmp_path / "forked_hostile.py"


def test_a_forked_worker_gives_the_fresh_workers_values_and_captures_its_output(hostile, monkeypatch):
    with Worker(f"{hostile}:ok", array="torch", dtype="float64") as w:
        assert isinstance(w._proc, forkserver.ForkedProcess)
        (forked,) = w.call_many([Call((X, W), grad=np.ones((2, 3, 3, 3)))])
        assert "printed by the target" in w.output()
    monkeypatch.setenv("CNNSPEC_FORKSERVER", "off")
    with Worker(f"{hostile}:ok", array="torch", dtype="float64") as w:
        assert isinstance(w._proc, subprocess.Popen)
        (fresh,) = w.call_many([Call((X, W), grad=np.ones((2, 3, 3, 3)))])
    assert forked.ok and fresh.ok
    assert np.array_equal(forked.value, fresh.value)
    assert all(np.array_equal(a, b) for a, b in zip(forked.grads, fresh.grads))


def test_a_forked_worker_has_the_parents_environment_and_working_directory(hostile, monkeypatch, tmp_path):
    monkeypatch.setenv("CNNSPEC_TEST_VALUE", "2.5")       # not a variable an import reads: forked
    monkeypatch.chdir(tmp_path)
    with Worker(f"{hostile}:where", array="torch", dtype="float64") as w:
        assert isinstance(w._proc, forkserver.ForkedProcess)
        (r,) = w.call_many([Call((X, W))])
    assert r.ok and np.all(r.value == 2.5), r.error


def test_a_variable_an_import_reads_gets_a_fresh_interpreter(hostile, monkeypatch):
    with Worker(f"{hostile}:ok", array="torch") as w:      # the server, with this environment
        assert isinstance(w._proc, forkserver.ForkedProcess)
    monkeypatch.setenv("OMP_NUM_THREADS", "1" if os.environ.get("OMP_NUM_THREADS") != "1" else "2")
    with Worker(f"{hostile}:ok", array="torch") as w:
        assert isinstance(w._proc, subprocess.Popen)
        (r,) = w.call_many([Call((X, W))])
    assert r.ok


@pytest.mark.parametrize("attr, words", [
    ("os_exits", "exited with code 3"),
    ("segfaults", "killed by signal 11, SIGSEGV"),
])
def test_a_forked_child_that_ends_is_named_as_a_fresh_one_is(hostile, attr, words):
    with Worker(f"{hostile}:{attr}", array="torch") as w:
        assert isinstance(w._proc, forkserver.ForkedProcess)
        with pytest.raises(WorkerFailure, match=words):
            w.call_many([Call((X, W))])


def test_sys_exit_in_a_forked_child_is_a_failed_call_and_the_child_goes_on(hostile):
    with Worker(f"{hostile}:exits", array="torch") as w:
        assert isinstance(w._proc, forkserver.ForkedProcess)
        (r,) = w.call_many([Call((X, W))])
        assert not r.ok and r.raised and "SystemExit: the target called sys.exit(0)" in r.error, r.error
        (again,) = w.call_many([Call((X, W))])
        assert not again.ok and not w.exited()


def test_a_forked_child_that_hangs_is_stopped_with_what_it_started(hostile):
    with Worker(f"{hostile}:hangs", array="torch", timeout=3) as w:
        assert isinstance(w._proc, forkserver.ForkedProcess)
        with pytest.raises(WorkerFailure, match="did not return within 3 s"):
            w.call_many([Call((X, W))])
    pid = int((hostile.parent / "pid").read_text())
    assert _gone(pid), "the hanging forked child outlived its stop"


def test_kill_9_of_cnnspec_takes_the_server_and_its_children_with_it(hostile, tmp_path):
    script = textwrap.dedent(f"""
        import os, sys, time
        import numpy as np
        from cnnspec.conformance import forkserver
        from cnnspec.conformance.isolation import Call, Worker
        w = Worker({str(hostile) + ':hangs'!r}, array="torch")
        assert isinstance(w._proc, forkserver.ForkedProcess)
        server = next(iter(forkserver._servers.values())).proc.pid
        open({str(tmp_path / 'server')!r}, "w").write(str(server))
        w.call_many([Call((np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2))))])
    """)
    p = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        mark = hostile.parent / "pid"
        for _ in range(600):
            if mark.exists() and mark.read_text():
                break
            time.sleep(0.1)
        worker, server = int(mark.read_text()), int((tmp_path / "server").read_text())
        assert not _gone(worker, 0) and not _gone(server, 0)
        p.send_signal(signal.SIGKILL)
        p.wait(10)
        assert _gone(server) and _gone(worker), "the fork server or its child outlived cnnspec"
    finally:
        p.kill()


def test_a_single_worker_never_starts_the_server(monkeypatch):
    """``auto``: the first request starts a fresh interpreter and no server (one validate run
    pays nothing); the server starts at the second."""
    monkeypatch.setattr(forkserver, "_servers", {})
    monkeypatch.setattr(forkserver, "_asked", {})
    monkeypatch.delenv("CNNSPEC_FORKSERVER", raising=False)
    with Worker(SHIM, array="numpy") as w:
        assert isinstance(w._proc, subprocess.Popen)
    assert forkserver._servers == {}
    with Worker(SHIM, array="numpy") as w:
        assert isinstance(w._proc, subprocess.Popen)
    assert list(forkserver._servers) == [("numpy", "cnnspec.conformance.isolation")]   # no torch in it
    for s in forkserver._servers.values():
        s.close()


def _gone(pid: int, wait: float = 10.0) -> bool:
    """True once ``pid`` is no longer a live process (a zombie counts as gone)."""
    end = time.monotonic() + wait
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return True
        if state in ("Z", "X"):
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.05)
