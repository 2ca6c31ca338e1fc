"""The worker protocol against hostile targets (tests/hostile/ops.py): nothing a target returns,
prints, spawns or writes onto a pipe reaches cnnspec's process, and every attack is a failing
claim with a report, never exit 0, a hang or a traceback.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cnnspec.conformance import wire
from cnnspec.conformance.isolation import Call, Worker, WorkerFailure
from cnnspec.conformance.runner import validate_op

ROOT = Path(__file__).resolve().parents[1]
OPS = str(ROOT / "tests/hostile/ops.py")
TRICKY = str(ROOT / "tests/hostile/tricky.py")
X = np.arange(1.0, 17.0).reshape(1, 1, 4, 4)
W = np.ones((1, 1, 2, 2))
VALUES = ["conformance.conv.values"]


def cli(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "cnnspec", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def one(attr: str, array: str = "numpy", dtype: str = "float32", calls=None, timeout: float = 20):
    with Worker(f"{OPS}:{attr}", array=array, dtype=dtype, timeout=timeout) as w:
        return w.call_many(calls or [Call((X, W))])


def test_a_pickle_escape_is_a_failing_claim_with_a_report(tmp_path):
    """An ndarray subclass whose __reduce__ is os._exit(0) used to end cnnspec with exit 0 and no
    report: now the parent never unpickles what the worker sends."""
    r = cli("validate", f"{OPS}:escape_exit", "--op", "conv2d", "--examples", "2", "--shrink-seconds",
            "0.2", "--quiet", "--report", str(tmp_path / "rep"))
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    values = next(c for c in rep["claims"] if c["id"] == "conformance.conv.values")
    assert values["status"] == "fail" and "returned an ndarray subclass Evil" in values["message"]
    assert "only plain numpy.ndarray / torch.Tensor are accepted" in values["message"]


def test_the_os_system_escape_runs_nothing_in_cnnspec(tmp_path, monkeypatch):
    mark = tmp_path / "escaped"
    monkeypatch.setenv("CNNSPEC_HOSTILE_MARK", str(mark))     # the worker inherits it
    results, report = validate_op(f"{OPS}:escape_system", "conv2d", examples=2, shrink_seconds=0.2,
                                  claims=VALUES)
    assert report["verdict"] == "fail" and "ndarray subclass Shell" in results[0].message
    assert not mark.exists()                       # the shell command never ran anywhere


def test_verify_target_with_the_escape_fails_and_writes_its_report(tmp_path):
    out = tmp_path / "v"
    r = cli("verify", "--stages", "conformance", "--targets-only", "--target",
            f"{OPS}:escape_exit=conv2d", "--claims", "conformance.conv.values,conformance.conv.shape",
            "--quiet", "--out", str(out), timeout=300)
    assert r.returncode == 1, (r.stdout, r.stderr[-2000:])
    rep = json.loads((out / "report.json").read_text())
    assert rep["verdict"] == "fail"
    assert any("ndarray subclass Evil" in c["message"] for c in rep["claims"])
    assert {c["id"] for c in rep["claims"]} == {"conformance.conv.values", "conformance.conv.shape"}


@pytest.mark.parametrize("attr,words", [
    ("harmless_subclass", "returned an ndarray subclass Plain (only plain numpy.ndarray"),
    ("object_array", "returned an array of dtype object, not a float array"),
    ("returns_none", "returned None, not a numpy.ndarray"),
    ("calls_sys_exit", "raised SystemExit: the target called sys.exit(0)"),
])
def test_foreign_returns_name_what_came_back(attr, words):
    results, _ = validate_op(f"{OPS}:{attr}", "conv2d", examples=2, shrink_seconds=0.5, claims=VALUES)
    assert results[0].status == "fail" and words in results[0].message, results[0].message
    assert "ModuleNotFoundError" not in results[0].message
    assert "returned returned" not in results[0].message


def test_shrinking_never_ends_on_a_case_the_target_cannot_express():
    # refused cases are left out of the search; the shrinker and the value simplifier leave them
    # out too, so the counterexample is a real failure (an input at least 4 wide), not a refusal
    import re
    results, _ = validate_op(f"{TRICKY}:wrong_where_expressible", "conv2d", examples=40, claims=VALUES)
    (r,) = results
    assert r.status == "fail" and "NotExpressible" not in r.message, r.message
    assert re.search(r"x\(\d+,\d+,\d+,([4-9]|\d\d)\)", r.message), r.message
    assert np.array(r.counterexample["args"]["x"]).shape[-1] >= 4


def test_os_exit_reports_the_exit_code_not_a_kill():
    with pytest.raises(WorkerFailure) as e:
        one("calls_os_exit")
    assert "exited with code 0" in str(e.value) and "signal" not in str(e.value)


@pytest.mark.parametrize("attr,array,dtype", [("overwrites_input", "numpy", "float32"),
                                              ("overwrites_input_torch", "torch", "float64")])
def test_a_target_that_overwrites_its_inputs_fails_and_later_calls_get_fresh_copies(attr, array, dtype):
    x = np.full((1, 1, 3, 3), 3.0)
    res = one(attr, array, dtype, calls=[Call((x, W)), Call((x, W))])    # one array, two calls
    for r in res:    # the second call saw 3s too: it got its own copy, not the first call's leftovers
        assert not r.ok and r.mutated.startswith("modified its input x at [0,0,0,0]: 3 became 0"), r
    assert (x == 3).all()                                 # the parent's data is untouched
    results, _ = validate_op(f"{OPS}:{attr}", "conv2d", array=array, dtype=dtype, examples=3,
                             shrink_seconds=0.5, claims=VALUES)
    assert results[0].status == "fail" and "modified its input x at" in results[0].message
    assert "should leave its inputs unchanged" in results[0].message


def test_a_correct_target_is_not_accused_of_mutation():
    res = one("harmless_subclass", calls=[Call((X, W), {"stride": 1})])
    assert not res[0].mutated
    with Worker("cnnspec.conformance.shims.numpy_ops:conv2d") as w:
        r = w.call_many([Call((X, W))])[0]
    assert r.ok and not r.mutated and r.value.shape == (1, 1, 3, 3)


def test_target_output_is_captured_not_printed(tmp_path):
    r = cli("validate", f"{OPS}:floods_stdout", "--op", "conv2d", "--examples", "2", "--quiet",
            "--report", str(tmp_path / "rep"))
    assert r.returncode == 0, r.stderr[-2000:]
    assert "flood flood" not in r.stdout + r.stderr and len(r.stdout) < 2000
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    shown = rep["claims"][0]["evidence"]["target_output"]
    assert shown.startswith("flood flood") and "bytes left out" in shown and len(shown) < 1000


def test_a_grandchild_holding_stdout_does_not_hold_cnnspec():
    """The target starts `sleep 60` with every inheritable descriptor; cnnspec still ends at once."""
    t0 = time.monotonic()
    r = cli("validate", f"{OPS}:leaves_grandchild", "--op", "conv2d", "--examples", "2", "--quiet",
            timeout=55)
    assert r.returncode == 0, r.stderr[-2000:]
    assert time.monotonic() - t0 < 50


def test_a_half_written_reply_costs_the_timeout_not_a_hang():
    t0 = time.monotonic()
    with pytest.raises(WorkerFailure, match="did not return within 2 s"):
        one("header_then_sleep", timeout=2)
    assert time.monotonic() - t0 < 10


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_kill_9_of_cnnspec_takes_the_worker_with_it(tmp_path):
    mark = tmp_path / "pid"
    p = subprocess.Popen([sys.executable, "-m", "cnnspec", "validate", f"{OPS}:records_pid_and_hangs",
                          "--op", "conv2d", "--timeout", "300"], cwd=ROOT,
                         env={**os.environ, "CNNSPEC_HOSTILE_MARK": str(mark)},
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            if mark.exists() and mark.read_text():
                break
            time.sleep(0.1)
        worker = int(mark.read_text())
        assert _alive(worker)
        p.send_signal(signal.SIGKILL)
        p.wait(10)
        for _ in range(100):
            if not _alive(worker):
                break
            time.sleep(0.1)
        assert not _alive(worker), "the worker outlived cnnspec"
    finally:
        p.kill()


# --- the frame format itself -----------------------------------------------------------------------

def test_frames_round_trip_plain_arrays():
    a, b = np.arange(6.0).reshape(2, 3), np.array([], np.float64)
    meta, arrays = wire.decode(wire.encode({"k": [1, None]}, [a, b])[12:])
    assert meta == {"k": [1, None]} and arrays[0].flags.writeable
    assert np.array_equal(arrays[0], a) and arrays[1].shape == (0,)


@pytest.mark.parametrize("doc", [
    {"meta": 1, "arrays": [{"dtype": "|O", "shape": [1], "offset": 0}]},      # object arrays
    {"meta": 1, "arrays": [{"dtype": "<f8", "shape": [10 ** 12], "offset": 0}]},
    {"meta": 1, "arrays": [{"dtype": "<f8", "shape": [-1], "offset": 0}]},
    {"meta": 1, "arrays": [{"dtype": "<f8", "shape": [1], "offset": 0, "x": 1}]},
    {"meta": 1},
    [[[]]],
])
def test_malformed_frames_are_wire_errors(doc):
    text = json.dumps(doc).encode()
    with pytest.raises(wire.WireError):
        wire.decode(len(text).to_bytes(4, "big") + text)
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(wire.WireError):
        wire.decode(len(deep).to_bytes(4, "big") + deep)


def test_a_gradient_that_would_broadcast_over_a_wrong_output_is_a_failed_call_not_a_silent_sum():
    g = np.ones((1, 1, 3, 3))
    (r,) = one("broadcast_shape_torch", "torch", "float64", calls=[Call((X, W), grad=g)])
    assert not r.ok and not r.raised and r.grads is None
    assert r.error.startswith("an output of shape (1, 1, 1, 3), which the gradient of shape (1, 1, 3, 3)")
    with Worker("torch.nn.functional:conv2d", array="torch", dtype="float64") as w:
        (ok,) = w.call_many([Call((X, W), grad=g)])
    assert ok.ok and ok.grads[0].tolist() == [[[[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]]]]


def test_a_hang_in_a_batch_names_the_case_that_was_running(tmp_path):
    # the child marks each call as it starts it: when the batch's time runs out, the call that was
    # running names its case (not retried: a retry would wait the whole timeout again)
    import re
    out = cli("validate", f"{OPS}:hangs_on_width_3", "--op", "conv2d", "--claims", "conformance.conv.values",
              "--timeout", "4", "--quiet", "--report", str(tmp_path), timeout=300)
    assert out.returncode == 1, out.stdout + out.stderr
    (c,) = json.loads((tmp_path / "report.json").read_text())["claims"]
    assert c["status"] == "fail", c
    m = re.search(r"^conv2d\(.*\) x\(\d+,\d+,\d+,3\): the target did not return within 4 s \(hangs\?\); "
                  r"stopped it.* \(this call had run (\d+\.\d) s of that time\); found in a batch of \d+ cases",
                  c["message"])
    assert m and 0 < float(m.group(1)) <= 4.0, c["message"]
    x = np.array(c["counterexample"]["args"]["x"])
    assert x.shape[-1] == 3 and "hangs_on_width_3" in c["counterexample"]["python"]


def test_a_global_average_through_rounded_row_means_is_still_shift_invariant():
    # the circular claim holds an average to its rigorous bound around the one exact mean: a mean
    # of row means rounds a shifted input differently (1.4e-17 where 0 is exact) and passes, as
    # it passes the values claims; an average that is off fails
    claims = ["conformance.pool_nd.circular"]
    results, _ = validate_op(f"{TRICKY}:adaptive_avg_pool2d_row_means", "adaptive_avg_pool2d",
                             claims=claims, examples=200)
    assert results[0].status == "pass", results[0].message
    results, _ = validate_op(f"{TRICKY}:adaptive_avg_pool2d_corner_weighted", "adaptive_avg_pool2d",
                             claims=claims, examples=200)
    assert results[0].status == "fail" and "but should be" in results[0].message, results[0].message


def test_a_crash_in_the_partner_call_leads_with_that_call_and_its_snippet(tmp_path):
    # the adjoint claims call conv_transpose2d beside the target: when that call crashes, the
    # counterexample is the partner's call, and its snippet loads and calls the partner
    import re
    out = cli("validate", f"{TRICKY}:conv2d", "--op", "conv2d", "--claims", "conformance.conv.adjoint",
              "--quiet", "--report", str(tmp_path), timeout=300)
    assert out.returncode == 1, out.stdout + out.stderr
    (c,) = json.loads((tmp_path / "report.json").read_text())["claims"]
    assert re.search(r"^conv_transpose2d\(.*\) x\(\d+,\d+,\d+,([4-9]|\d\d)\): the target ended the worker process "
                     r"\(killed by signal 11, SIGSEGV\)", c["message"]), c["message"]
    snippet = c["counterexample"]["python"]
    assert "tricky.py:conv_transpose2d')" in snippet, snippet
    alone = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert alone.returncode == -signal.SIGSEGV, alone.stderr[-2000:]


def test_without_a_progress_file_the_worker_runs_and_a_crash_names_no_call(monkeypatch):
    # where no temporary file can be made the child marks nothing: calls run, a crash is a plain
    # WorkerFailure (the claim then traces it by halving the batch)
    import tempfile

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with Worker(f"{OPS}:crashes_on_width_3") as worker:
        (ok,) = worker.call_many([Call((X, W))])
        assert ok.ok and ok.value.shape == (1, 1, 3, 3)
        with pytest.raises(WorkerFailure) as e:
            worker.call_many([Call((np.ones((1, 1, 2, 3)), W))])
        assert e.value.running is None and not e.value.hung


def test_a_crash_is_traced_first_to_the_call_that_was_running():
    # the case whose call the worker died in is run alone first: one fresh worker, no halving
    from types import SimpleNamespace

    from cnnspec.conformance import properties as P

    calls = [[Call((np.ones((1, 1, 2, w)), W))] for w in (4, 3, 5, 6)]
    with Worker(f"{OPS}:crashes_on_width_3") as worker:
        ctx = SimpleNamespace(worker=worker, memo={})
        with pytest.raises(WorkerFailure) as e:
            worker.call_many([c for cs in calls for c in cs])
        assert e.value.running is calls[1][0] and not e.value.hung
        before = worker.calls
        i, why, call = P._crashing_case([0, 1, 2, 3], calls, ctx, str(e.value), 24, first=1)
        assert i == 1 and "SIGSEGV" in why and call is calls[1][0] and worker.calls - before == 1


def test_a_crash_in_a_batch_is_narrowed_to_the_case_that_crashes(tmp_path):
    # the batch's crash is traced to one call by halving it (a fresh worker per crash); the claim
    # fails on that case, with its reproduction, and the other claims' cases still run
    import re
    out = cli("validate", f"{OPS}:crashes_on_width_3", "--op", "conv2d", "--claims",
              "conformance.conv.values,conformance.conv.shape", "--quiet", "--report", str(tmp_path), timeout=300)
    assert out.returncode == 1, out.stdout + out.stderr
    claims = {c["id"]: c for c in json.loads((tmp_path / "report.json").read_text())["claims"]}
    for cid in ("conformance.conv.values", "conformance.conv.shape"):
        c = claims[cid]
        assert c["status"] == "fail", c
        assert re.search(r"^conv2d\(.*\) x\(\d+,\d+,\d+,3\): the target ended the worker process "
                         r"\(killed by signal 11, SIGSEGV\); found in a batch of \d+ cases", c["message"]), c["message"]
        x = np.array(c["counterexample"]["args"]["x"])
        assert x.shape[-1] == 3 and "crashes_on_width_3" in c["counterexample"]["python"]
