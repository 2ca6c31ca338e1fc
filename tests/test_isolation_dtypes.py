"""The worker's safety properties on the paths that integer dtypes and tuple results opened:
nothing in a tuple is unpickled, every reply array is float64 or int64 and matches the arity its
call asked for, integer inputs are checked for modification exactly, integers come back unrounded."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cnnspec.conformance import isolation, wire
from cnnspec.conformance.isolation import Call, Result, Worker

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = str(ROOT / "tests/hostile/tuples.py")
X = np.arange(16.0).reshape(1, 1, 4, 4)
PAIR = Call((X, 2), {"return_indices": True}, returns=2)


def _one(attr: str, call: Call = PAIR) -> Result:
    with Worker(f"{HOSTILE}:{attr}", timeout=30) as w:
        (r,) = w.call_many([call])
    return r


def test_a_hostile_subclass_inside_a_tuple_is_a_failing_result_and_runs_nothing(tmp_path, monkeypatch):
    mark = tmp_path / "escaped"
    monkeypatch.setenv("CNNSPEC_HOSTILE_MARK", str(mark))
    r = _one("evil_indices")
    assert not r.ok and "entry 1 is an ndarray subclass Evil" in r.error and not mark.exists()


@pytest.mark.parametrize("attr, words", [("three_arrays", "a tuple of 3 entries, not 2"),
                                         ("object_indices", "entry 1 is an array of dtype object"),
                                         ("huge_uint64", "beyond int64")])
def test_malformed_tuples_are_failing_results(attr, words):
    r = _one(attr)
    assert not r.ok and words in r.error, r.error


def test_a_modified_int64_input_is_reported_with_its_exact_values():
    vals, ind = np.array([[[[5.0, 8.0]]]]), np.array([[[[1, 6]]]], np.int64)
    r = _one("writes_indices", Call((vals, ind, 2), names=("input", "indices")))
    assert not r.ok and r.mutated == "modified its input indices at [0,0,0,0]: 1 became 0 (2 of 2 entries changed)"


def test_integer_results_keep_their_dtype_name_and_exact_values():
    r = _one("int_for_float", Call((X, 2)))
    assert r.ok and r.dtype == "int16" and r.value.dtype == np.int64 and r.value.tolist() == [[[[5, 7], [13, 15]]]]


def _reply(results: list[Result]) -> tuple:
    return wire.decode(isolation._encode_results(results)[wire._HEAD.size:])


def test_the_parent_checks_the_arity_and_dtypes_of_every_reply():
    pair = Result(True, (np.zeros(2), np.zeros(2, np.int64)), dtype=("float32", "int64"))
    meta, arrays = _reply([pair])
    assert isolation._decode_results(meta, arrays, 1, [2])[0].value[1].dtype == np.int64
    with pytest.raises(wire.WireError, match="asked for 1"):
        isolation._decode_results(meta, arrays, 1, [1])          # a tuple where one array was due
    meta1, arrays1 = _reply([Result(True, np.zeros(2), dtype="float32")])
    with pytest.raises(wire.WireError, match="does not hold the 2"):
        isolation._decode_results(meta1, arrays1, 1, [2])        # one array where a tuple was due
    bad = [a.astype(np.int32) for a in arrays1]                  # the parent takes float64/int64 only
    with pytest.raises(wire.WireError, match="not there"):
        isolation._decode_results(meta1, bad, 1)
    forged = {**meta, "results": [{**meta["results"][0], "dtype": ["float32"]}]}
    with pytest.raises(wire.WireError):
        isolation._decode_results(forged, arrays, 1, [2])        # dtype names must match the arity


def test_typed_calls_refuse_dtypes_outside_the_list():
    r = _one("int_for_float", Call((X.astype(np.complex64), 2), typed=True))
    assert not r.ok and r.raised and "cannot be passed" in r.error


def test_numpy_targets_at_bfloat16_get_and_return_ml_dtypes_arrays():
    # NumPy has no bfloat16: the worker hands the target ml_dtypes.bfloat16 arrays and reads a
    # bfloat16 result back exactly, naming its dtype
    x = np.array([[[[1.0, 3.0], [2.0 ** 9 + 4, -5.0]]]])        # 516 is a bfloat16 (8 bits), 514 is not
    with Worker("cnnspec.adapters.torch:max_pool2d", dtype="bfloat16", timeout=60) as w:
        (r,) = w.call_many([Call((x, 1))])
    assert r.ok and r.dtype == "bfloat16" and r.value.tolist() == x.tolist(), r


def test_a_float32_result_of_a_bfloat16_call_is_named_float32(tmp_path):
    # the values come back, and the dtype says what the target really returned
    f = tmp_path / "widening.py"
    f.write_text("import numpy as np\n"
                 "def max_pool2d(x, *a, **k):\n"
                 "    assert x.dtype.name == 'bfloat16', x.dtype\n"
                 "    return x.astype(np.float32)\n")
    with Worker(f"{f}:max_pool2d", dtype="bfloat16", timeout=60) as w:
        (r,) = w.call_many([Call((X, 1))])
    assert r.ok and r.dtype == "float32" and r.value.tolist() == X.tolist(), r


def test_bfloat16_validate_of_a_numpy_target_runs_every_claim(tmp_path):
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "cnnspec", "validate", "cnnspec.adapters.torch:max_pool2d",
                          "--op", "max_pool2d", "--dtype", "bfloat16", "--quiet", "--report", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    import json
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["verdict"] == "pass" and report["summary"]["pass"] >= 10, report["summary"]


def test_bfloat16_without_ml_dtypes_is_one_line_naming_the_install(monkeypatch):
    import sys
    from cnnspec.errors import UsageError
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)        # as if it were not installed
    with pytest.raises(UsageError, match=r"^dtype='bfloat16' needs ml_dtypes .*pip install 'ml_dtypes==0\.6\.0'$"):
        Worker("cnnspec.adapters.torch:max_pool2d", dtype="bfloat16", wait=False)


def test_the_target_runs_with_glibc_perturbing_fresh_memory(tmp_path, monkeypatch):
    # a kernel that reads memory it never wrote sees 0x5A bytes, not a fresh process's zeros
    from cnnspec.conformance import child
    f = tmp_path / "env.py"
    f.write_text("import os\nimport numpy as np\n"
                 "def max_pool2d(x, *a, **k):\n"
                 "    return np.full(x.shape, float(os.environ.get('MALLOC_PERTURB_', '-1')), x.dtype)\n")
    monkeypatch.delenv("MALLOC_PERTURB_", raising=False)
    with Worker(f"{f}:max_pool2d", timeout=60) as w:
        (r,) = w.call_many([Call((X, 1))])
    assert r.ok and np.all(r.value == float(child.PERTURB)) and child.PERTURB == "165"
    monkeypatch.setenv("MALLOC_PERTURB_", "0")               # the user's choice wins: off
    with Worker(f"{f}:max_pool2d", timeout=60) as w:
        (r,) = w.call_many([Call((X, 1))])
    assert r.ok and np.all(r.value == 0.0)
    assert child.worker_env({"A": "1"}) == {"A": "1", "MALLOC_PERTURB_": "165"}
    assert child.worker_env({"MALLOC_PERTURB_": "7"}) == {"MALLOC_PERTURB_": "7"}


def test_a_native_snippet_says_how_it_was_run(monkeypatch):
    from cnnspec.adapters import _frontend as F
    monkeypatch.setenv("MALLOC_PERTURB_", "165")
    assert "MALLOC_PERTURB_=165 python3 snippet.py" in F.header("JAX", "0.10", "conv2d", {})
    monkeypatch.setenv("MALLOC_PERTURB_", "0")
    assert "MALLOC_PERTURB_" not in F.header("JAX", "0.10", "conv2d", {})
