"""Max pooling with return_indices and max_unpool through the worker
(cnnspec/conformance/pool_indices_claims.py): torch and the NumPy shim pass; index bugs, unpooling
bugs and a tie rule other than torch's are caught (a failure with a shrunk counterexample; the tie
rule a warning that names it)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from cnnspec.claims import load_all
from cnnspec.conformance import OPS
from cnnspec.conformance.api import conformance_results
from cnnspec.conformance.isolation import Call, Worker
from cnnspec.conformance.shims import numpy_ops as shim
from cnnspec.conformance.pool_indices_claims import UNPOOLS, unpool_indices
from cnnspec.conformance.runner import claims_for, validate_op

FAST = dict(examples=8, shrink_seconds=3)
INDICES = ["conformance.pool_indices.values", "conformance.pool_indices.gather"]
SHIM = "cnnspec.conformance.shims.numpy_ops"
sys.path.insert(0, str(Path(__file__).parent / "buggy"))
import indices_bugs as IB  # noqa: E402
import pool_family_bugs as PB  # noqa: E402


def _verdicts(results) -> dict:
    return {r.id: r for r in results}


def test_the_unpool_ops_and_the_indices_claims_are_registered():
    load_all()
    assert set(UNPOOLS) <= set(OPS)
    for op in UNPOOLS:
        assert {"conformance.unpool.values", "conformance.unpool.output_size", "conformance.unpool.roundtrip",
                "conformance.unpool.invalid"} <= set(claims_for(op))
    for op in ("max_pool1d", "max_pool2d", "max_pool3d"):
        assert set(INDICES) <= set(claims_for(op))


def test_torch_max_pool2d_with_indices_passes_and_names_torchs_tie_rule():
    results, report = validate_op("torch.nn.functional:max_pool2d", "max_pool2d", array="torch",
                                  claims=INDICES, **FAST)
    v = _verdicts(results)
    assert report["verdict"] == "pass", [(r.id, r.status, r.message) for r in results]
    assert v[INDICES[0]].status == "pass" and "the first in row-major order" in v[INDICES[0]].message


def test_torch_max_unpool2d_passes_every_claim():   # invalid included: torch raises on every invalid call
    results, report = validate_op("torch.nn.functional:max_unpool2d", "max_unpool2d", array="torch", **FAST)
    assert report["verdict"] == "pass" and all(r.status == "pass" for r in results), \
        [(r.id, r.status, r.message) for r in results]


@pytest.mark.parametrize("nd", [1, 3])
def test_the_numpy_shim_passes_unpool_and_indices(nd):
    for op, claims in ((f"max_unpool{nd}d", None), (f"max_pool{nd}d", INDICES)):
        results = conformance_results(getattr(shim, op), op, claims=claims, **FAST)    # in this process
        assert all(r.status == "pass" for r in results), [(r.id, r.status, r.message) for r in results]


@pytest.mark.parametrize("bug, op, claim, words", [
    (PB.max_pool2d_padded_plane, "max_pool2d", INDICES[0], "indices["),
    (IB.max_pool1d_indices_per_window, "max_pool1d", INDICES[1], "x.flatten(2)[indices]"),
    (PB.max_unpool2d_column_major, "max_unpool2d", "conformance.unpool.values", "out["),
    (IB.max_unpool2d_output_size_ignored, "max_unpool2d", "conformance.unpool.output_size", "out.shape="),
    (PB.max_unpool2d_onnx_output_size, "max_unpool2d", "conformance.unpool.output_size",
     ("max_unpool2d(", "out[")),   # it raises (an index past its plane) or puts a value in the wrong place:
                                   # which the shrinker reaches first depends on its time budget
    (IB.max_unpool1d_stride_as_kernel, "max_unpool1d", "conformance.unpool.values",
     "max_unpool1d("),   # it raises: an index past its too-small plane
])
def test_each_bug_is_caught_with_a_shrunk_counterexample(bug, op, claim, words):
    (r,) = conformance_results(bug, op, claims=[claim], examples=20, shrink_seconds=1.5)
    assert r.status == "fail" and r.message.startswith(words), r.message     # words: a prefix or a tuple of them
    ce = r.counterexample
    assert ce["reproduce"].endswith(f"--claims {claim}") and "x" in ce["args"]
    assert np.asarray(ce["args"]["x"]).size <= 64, ce["args"]["x"]      # shrunk to a small case


def test_a_bug_is_caught_through_the_worker_with_a_snippet_that_reproduces():
    results, report = validate_op("tests/buggy/indices_bugs.py:max_unpool2d_output_size_ignored", "max_unpool2d",
                                  claims=["conformance.unpool.output_size"], examples=20, shrink_seconds=1.5)
    assert report["verdict"] == "fail" and results[0].message.startswith("out.shape="), results[0].message
    snippet = results[0].counterexample["python"]
    assert "dtype=np.int64" in snippet        # the indices, as int64, beside the values
    with pytest.raises(AssertionError, match="differs from the exact value"):
        exec(compile(snippet, "snippet", "exec"), {})


def test_the_last_maximum_is_a_warning_that_names_the_rule():
    results, report = validate_op("tests/buggy/pool_family_bugs.py:max_pool2d_last_tie", "max_pool2d",
                                  claims=INDICES, **FAST)
    v = _verdicts(results)
    assert v[INDICES[0]].status == "warn", v[INDICES[0]].message
    assert "the last in" in v[INDICES[0]].message and "torch keeps the first" in v[INDICES[0]].message
    assert v[INDICES[1]].status == "pass" and report["verdict"] == "pass"


def test_a_target_without_return_indices_is_skipped_not_failed():
    results, _ = validate_op("tests/buggy/bugs.py:maxpool_ceil_ignored", "max_pool2d", claims=INDICES, **FAST)
    assert all(r.status == "skipped" and "does not take return_indices" in r.message for r in results)


def test_unpool_indices_are_distinct_in_every_plane():
    case = {"x": np.zeros((2, 3, 2, 3)), "out": (4, 5), "seed": 7}
    ind = unpool_indices(case)
    assert ind.dtype == np.int64 and ind.shape == (2, 3, 2, 3)
    planes = ind.reshape(6, -1)
    assert all(len(set(p)) == p.size for p in planes) and planes.min() >= 0 and planes.max() < 20


def test_tuples_and_int64_indices_cross_the_worker_both_ways():
    x = np.array([[[[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 8.0, 6.0]]]])
    with Worker("torch.nn.functional:max_pool2d", array="torch") as w:
        pair, single = w.call_many([Call((x, 2), {"return_indices": True}, returns=2),
                                    Call((x, 2), {"return_indices": True})])
    assert pair.ok and pair.dtype == ("float32", "int64")
    assert pair.value[0].tolist() == [[[[5.0, 8.0]]]] and pair.value[1].dtype == np.int64
    assert pair.value[1].tolist() == [[[[1, 6]]]]
    assert not single.ok and single.error == "a tuple, not a torch.Tensor"
    with Worker("torch.nn.functional:max_unpool2d", array="torch") as w:
        (r,) = w.call_many([Call((pair.value[0], pair.value[1], 2))])
    assert r.ok and r.value.tolist() == [[[[0.0, 5.0, 0.0, 0.0], [0.0, 0.0, 8.0, 0.0]]]]
