"""Layout invariance ``conformance.layout.invariance`` (cnnspec/conformance/layout_claims.py): torch
and the NumPy shim give bit-identical results in every layout and unbatched; the mutants of
tests/buggy/layout_bugs.py, right on every contiguous input, are caught with a shrunk
counterexample that names the layout; refusing unbatched input is a warning, not a failure."""
import numpy as np
import pytest

from cnnspec.conformance.layout_claims import layouts
from cnnspec.conformance.runner import claims_for, validate_op

CLAIM = "conformance.layout.invariance"
BUGS = "tests/buggy/layout_bugs.py"
ONLY = dict(claims=[CLAIM], examples=10, shrink_seconds=2)


def test_the_claim_covers_the_convolutions_and_max_pooling_only():
    for op in ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
               "max_pool1d", "max_pool2d", "max_pool3d"):
        assert CLAIM in claims_for(op), op
    for op in ("avg_pool2d", "lp_pool2d", "pad"):   # division and roots may round per code path
        assert CLAIM not in claims_for(op), op
    assert layouts("torch") == ("channels_last", "fortran", "strided", "unbatched")
    assert "reversed" in layouts("numpy")


@pytest.mark.parametrize("target,op,array", [
    ("torch.nn.functional:conv2d", "conv2d", "torch"),
    ("torch.nn.functional:max_pool3d", "max_pool3d", "torch"),
    ("cnnspec.conformance.shims.numpy_ops:conv_transpose1d", "conv_transpose1d", "numpy"),
])
def test_correct_targets_are_layout_invariant(target, op, array):
    (r,), report = validate_op(target, op, array=array, **ONLY)
    assert r.status == "pass" and report["verdict"] == "pass", r.message
    assert r.evidence["layouts"] == list(layouts(array)) and r.evidence["calls"] > 10 * len(layouts(array))


@pytest.mark.parametrize("name,array,seen", [
    ("conv2d_memory_order", "numpy", ("column-major", "channels-last", "negative strides")),
    ("conv2d_storage_order", "torch", ("column-major", "channels-last", "strided views")),
])
def test_a_layout_dependent_target_is_caught_with_the_layout_named(name, array, seen):
    (r,), report = validate_op(f"{BUGS}:{name}", "conv2d", array=array, **ONLY)
    assert r.status == "fail" and report["verdict"] == "fail", r.message
    assert any(f"with {s}" in r.message for s in seen), r.message
    assert ", but should be " in r.message and "as with contiguous arrays (the exact value is" in r.message
    ce = r.counterexample
    assert ce["args"]["layout"] in r.message and "--claims conformance.layout.invariance" in ce["reproduce"]
    assert np.asarray(ce["args"]["x"]).size <= 24, r.message         # shrunk to a few entries
    # the snippet lays its arrays out as the failing call did, so pasting it shows the wrong value
    assert f"= arrange([x, weight, bias], {ce['args']['layout']!r}, {array!r})" in ce["python"]


def test_refusing_unbatched_input_is_a_warning_and_strict_makes_it_a_failure():
    (r,), report = validate_op(f"{BUGS}:conv2d_batched_only", "conv2d", **ONLY)
    assert r.status == "warn" and report["verdict"] == "pass", r.message
    assert r.message.startswith("rejects the unbatched input (C, *spatial) that torch.nn.functional.conv2d "
                                "accepts: it raised ValueError")
    assert r.evidence["unbatched_rejected"] == r.examples
    _, strict = validate_op(f"{BUGS}:conv2d_batched_only", "conv2d", strict=True, **ONLY)
    assert strict["verdict"] == "fail"


def test_with_input_rounding_a_path_within_the_bound_is_accepted_and_a_wrong_value_is_not():
    from cnnspec.conformance import conv_claims as cc
    from cnnspec.conformance.isolation import Result
    from cnnspec.conformance.layout_claims import _within_bound
    from cnnspec.conformance.properties import OpContext, draw_cases
    from cnnspec.strategies import conv_cases
    c = draw_cases(conv_cases(ndim=2, bias=False), 1, 3)[0]
    exact = cc.expected(c)
    off = exact.copy()
    off.flat[0] += 1                                  # far outside γ·Σ|x||w| on these small integers
    tf32 = OpContext(None, "t:x", "conv2d", input_rounding="tf32")
    assert _within_bound(c, Result(True, exact, dtype="float32"), tf32, False)
    assert _within_bound(c, Result(True, exact[0], dtype="float32"), tf32, True)     # unbatched x[0]
    assert not _within_bound(c, Result(True, off, dtype="float32"), tf32, False)
    assert not _within_bound(c, Result(True, exact, dtype="float32"), OpContext(None, "t:x", "conv2d"), False)


def test_under_the_pytest_plugin_a_warning_is_a_warning_not_a_failure():
    from cnnspec.conformance.isolation import Worker
    from cnnspec.conformance.properties import OpContext
    from cnnspec.conformance.suite import CnnspecWarning, test_claim
    with Worker(f"{BUGS}:conv2d_batched_only") as worker:
        ctx = OpContext(worker, f"{BUGS}:conv2d_batched_only", "conv2d", examples=4)
        with pytest.warns(CnnspecWarning, match="rejects the unbatched input"):
            test_claim(CLAIM, ctx)
