"""Integer convolutions through the worker (cnnspec/conformance/integer_claims.py): the NumPy shim
and torch-tensor targets pass every claim; each mutant of tests/buggy/integer_bugs.py is caught
with a shrunk counterexample whose snippet reproduces it; the constructed cases really saturate at
both ends and really land on .5 ties."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from cnnspec.claims import load_all
from cnnspec.conformance import NOT_IN_TORCH, OPS
from cnnspec.conformance import integer_claims as I
from cnnspec.conformance.api import conformance_results
from cnnspec.conformance.isolation import Call, Worker
from cnnspec.conformance.shims import numpy_ops as shim
from cnnspec.conformance.properties import draw_cases
from cnnspec.conformance.runner import claims_for, validate_op
from cnnspec.oracle.integer import INT_RANGES, conv2d_integer

FAST = dict(examples=10, shrink_seconds=3)
sys.path.insert(0, str(Path(__file__).parent / "buggy"))
import integer_bugs as B  # noqa: E402
sys.path.insert(0, str(Path(__file__).parent))
import integer_targets as T  # noqa: E402


def _all_pass(results, report):
    assert report["verdict"] == "pass" and all(r.status == "pass" for r in results), \
        [(r.id, r.status, r.message) for r in results]


def test_the_ops_and_their_claims_are_registered():
    load_all()
    assert set(I.OPS) <= set(OPS) and set(I.OPS) <= set(NOT_IN_TORCH)
    assert {"conformance.integer.values", "conformance.integer.shape", "conformance.conv_integer.zero_point",
            "conformance.integer.per_channel", "conformance.integer.invalid"} == set(claims_for("conv2d_integer"))
    assert {"conformance.qlinear.saturation", "conformance.qlinear.rounding"} <= set(claims_for("qlinear_conv2d"))


def _passes(results):
    assert all(r.status == "pass" for r in results), [(r.id, r.status, r.message) for r in results]


@pytest.mark.parametrize("op", I.OPS)
def test_the_numpy_shim_passes_every_claim(op):
    _passes(conformance_results(getattr(shim, op), op, **FAST))     # in this process: fast


def test_the_numpy_shim_passes_through_the_worker():
    _all_pass(*validate_op("cnnspec.conformance.shims.numpy_ops:qlinear_conv2d", "qlinear_conv2d", **FAST))


@pytest.mark.parametrize("op", I.OPS)
def test_torch_tensor_targets_get_tensors_of_each_onnx_dtype_and_pass(op):
    # the target raises TypeError unless data, zero points, scales and bias arrive as uint8/int8,
    # float32 and int32 tensors
    _passes(conformance_results(getattr(T, op), op, array="torch", **FAST))


@pytest.mark.parametrize("bug, op, claim", [
    ("conv2d_integer_zero_point_added", "conv2d_integer", "conformance.conv_integer.zero_point"),
    ("conv2d_integer_zero_padding", "conv2d_integer", "conformance.integer.values"),
    ("qlinear_conv2d_half_away", "qlinear_conv2d", "conformance.qlinear.rounding"),
    ("qlinear_conv2d_wraps", "qlinear_conv2d", "conformance.qlinear.saturation"),
    ("qlinear_conv2d_first_scale", "qlinear_conv2d", "conformance.integer.per_channel"),
])
def test_each_bug_is_caught_with_a_shrunk_counterexample_that_reproduces(bug, op, claim):
    (r,) = conformance_results(getattr(B, bug), op, claims=[claim], examples=20, shrink_seconds=1.5)
    assert r.status == "fail", r.message
    assert ", but should be " in r.message and ("[uint8" in r.message or "[int8" in r.message), r.message
    ce = r.counterexample
    assert np.asarray(ce["args"]["x"]).size <= 16 and "dtypes" in ce["args"] and "case" not in ce["args"]
    assert ce["reproduce"].endswith(f"--claims {claim}")
    with pytest.raises(AssertionError, match="differs from the exact value"):
        exec(compile(ce["python"], "snippet", "exec"), {})


def test_a_bug_is_caught_through_the_worker_too():
    results, report = validate_op("tests/buggy/integer_bugs.py:qlinear_conv2d_wraps", "qlinear_conv2d",
                                  claims=["conformance.qlinear.saturation"], examples=20, shrink_seconds=3)
    assert report["verdict"] == "fail" and results[0].message.startswith("out[0,"), results[0].message


def test_a_correct_target_passes_the_claims_the_bugs_fail():
    # no false alarm: the claims that catch the bugs hold for the shim on the same seeds
    for op, claim in (("conv2d_integer", "conformance.conv_integer.zero_point"),
                      ("qlinear_conv2d", "conformance.qlinear.rounding"),
                      ("qlinear_conv2d", "conformance.qlinear.saturation")):
        _passes(conformance_results(getattr(shim, op), op, claims=[claim], examples=20))


def test_a_float32_requantisation_passes_within_the_rigorous_bound():
    # ONNX's reference and ONNX Runtime requantise in float32: off the exact rounding only where
    # acc·M lies within γ₃·|acc·M| of a .5 boundary, which the values claims accept (never a tie of
    # power-of-two scales, which float32 computes exactly)
    values = [c for c in claims_for("qlinear_conv2d") if c != "conformance.integer.invalid"]
    results = conformance_results(T.qlinear_conv2d_float32, "qlinear_conv2d", claims=values, examples=60)
    _passes(results)
    assert any("not bit-exact" in r.message for r in results), [r.message for r in results]


def test_saturating_cases_clamp_at_both_ends():
    for c in draw_cases(I.saturating_cases(), 25, 3):
        y, (lo, hi) = I.expected(c), INT_RANGES[c["ydt"]]
        assert y.dtype.name == c["ydt"] and (y[:, 0] == hi).all() and (y[:, 1] == lo).all()


def test_tie_cases_land_on_half_ties_of_both_signs():
    signs = set()
    for c in draw_cases(I.tie_cases(), 25, 5):
        a = I._cast(c)
        acc = conv2d_integer(a["x"], a["w"], a["zx"], a["zw"], c["stride"], c["padding"], c["dilation"],
                             c["groups"]).astype(np.int64)[0, :, 0, 0] + c["bias"]
        xs, ws, ys = c["scales"]
        j = int(round(np.log2(ys / (xs * ws))))
        assert ys == xs * ws * 2.0 ** j and (acc % 2 ** j == 2 ** (j - 1)).all()
        signs |= set(np.sign(acc).tolist())
    assert signs == {-1, 1}


def test_the_shim_rejects_every_invalid_call():
    for op in I.OPS:
        with Worker(f"cnnspec.conformance.shims.numpy_ops:{op}") as w:
            res = w.call_many([c for _, c in I.invalid_calls(op)])
        assert all(r.raised for r in res), [r.error for r in res]


def test_typed_calls_keep_every_dtype_and_integer_results_come_back_exactly():
    x = np.array([[[[250, 3], [4, 5]]]], np.uint8)
    w = np.array([[[[-128]]]], np.int8)
    with Worker("cnnspec.conformance.shims.numpy_ops:conv2d_integer", dtype="float16") as wk:
        (r,) = wk.call_many([Call((x, w, np.array(1, np.uint8), np.array(-1, np.int8)), typed=True)])
    assert r.ok and r.dtype == "int32" and r.value.dtype == np.int64
    assert r.value.tolist() == [[[[-249 * 127, -2 * 127], [-3 * 127, -4 * 127]]]]


def test_assert_conforms_runs_the_integer_claims_in_process():
    import cnnspec
    from cnnspec.conformance.shims.numpy_ops import conv2d_integer as shim

    cnnspec.assert_conforms(shim, "conv2d_integer", examples=5, claims=["conformance.integer.values"])

    def unshifted(x, w, zx, zw, **kw):    # zero points ignored: right whenever both are 0
        return shim(x, w, 0, 0, **kw)
    with pytest.raises(AssertionError, match="conformance.integer.values: out"):
        cnnspec.assert_conforms(unshifted, "conv2d_integer", examples=10, claims=["conformance.integer.values"])
