"""Conformance (docs/calling-convention.md): correct targets pass every claim; misbehaving targets
fail a claim with a clear message and the run goes on; unusable targets are usage errors (exit 2).

Small example counts keep this fast; `cnnspec validate` with its defaults is exercised by the
slow-marked test at the end.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnspec.claims import REGISTRY, load_all
from cnnspec.conformance.runner import claims_for, validate_op
from cnnspec.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
BAD = str(ROOT / "tests/buggy/bad_targets.py")
FAST = dict(examples=4, shrink_seconds=1)


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "cnnspec", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_every_op_has_registered_claims_with_sources():
    load_all()
    for op in ("conv1d", "conv2d", "max_pool2d", "avg_pool2d"):
        ids = claims_for(op)
        assert len(ids) >= 7, op
        for cid in ids:
            c = REGISTRY[cid]
            assert c.group == "conformance" and c.source and c.statement


def test_claims_without_a_target_are_skipped_not_errors():
    load_all()
    res = REGISTRY["conformance.conv.values"].run()
    assert res.status == "skipped"


@pytest.mark.parametrize("target,op", [
    ("cnnspec.conformance.shims.numpy_ops:conv2d", "conv2d"),
    ("cnnspec.conformance.shims.numpy_ops:conv1d", "conv1d"),
    ("cnnspec.conformance.shims.numpy_ops:max_pool2d", "max_pool2d"),
    ("cnnspec.conformance.shims.numpy_ops:avg_pool2d", "avg_pool2d"),
    ("cnnspec.conformance.shims.scipy_ops:conv2d", "conv2d"),
    pytest.param("cnnspec.conformance.shims.scipy_ops:conv1d", "conv1d", marks=pytest.mark.slow),
])
def test_independent_numpy_and_scipy_shims_pass_every_claim(target, op):
    results, report = validate_op(target, op, **FAST)
    assert report["verdict"] == "pass", [r.message for r in results if r.status != "pass"]
    assert {r.status for r in results} <= {"pass", "skipped"}


@pytest.mark.parametrize("op,dtype", [
    ("conv2d", "float32"), ("avg_pool2d", "float64"),
    pytest.param("conv2d", "float64", marks=pytest.mark.slow),
    pytest.param("conv1d", "float32", marks=pytest.mark.slow),
    pytest.param("max_pool2d", "float32", marks=pytest.mark.slow),
    pytest.param("max_pool2d", "float64", marks=pytest.mark.slow),
    pytest.param("avg_pool2d", "float32", marks=pytest.mark.slow),
    pytest.param("conv1d", "float64", marks=pytest.mark.slow)])
def test_torch_functional_passes_every_claim(op, dtype):
    results, report = validate_op(f"torch.nn.functional:{op}", op, array="torch", dtype=dtype,
                                  examples=4)
    assert report["verdict"] == "pass", [r.message for r in results if r.status != "pass"]
    # backward included: torch is differentiable; torch rejects padding over half the kernel and
    # takes no (lo, hi) pairs, so those claims have nothing to compare and are skipped
    assert all(r.status == "pass" or (r.id, r.status) in {("conformance.pool_nd.over_half", "skipped"),
                                                          ("conformance.conv_padding.pairs", "skipped")}
               for r in results)
    assert report["kind"] == "validate-op" and report["environment"]["dtype"] == dtype


@pytest.mark.parametrize("attr,words", [
    ("hangs", "did not return within"),
    ("segfaults", "SIGSEGV"),
    pytest.param("exits", "exited with code 3", marks=pytest.mark.slow),
    ("raises", "raised NotImplementedError: dilation is not supported yet"),
    ("returns_list", "returned a list, not a numpy.ndarray"),
    ("returns_nan", "=nan, but should be"),
    ("returns_float64", "out.dtype=float64, but should be float32"),
])
def test_misbehaving_targets_fail_a_claim_and_the_run_goes_on(attr, words):
    results, report = validate_op(f"{BAD}:{attr}", "conv2d", timeout=1,
                                  claims=["conformance.conv.values", "conformance.conv.invalid"], **FAST)
    values = next(r for r in results if r.id == "conformance.conv.values")
    assert values.status == "fail" and words in values.message, values.message
    assert len(results) == 2 and report["verdict"] == "fail"   # the second claim still ran


@pytest.mark.parametrize("target,words", [
    ("no_such_module_xyz:conv2d", "cannot import module 'no_such_module_xyz'"),
    (f"{BAD}:NOT_CALLABLE", "is not callable (it is of type int)"),
    (f"{BAD}:missing", "has no attribute 'missing'"),
    (str(ROOT / "tests/buggy/broken_import.py") + ":f", "raised RuntimeError: this module needs a GPU"),
    ("conv2d", "is not 'package.module:attr'"),
])
def test_unusable_targets_are_usage_errors(target, words):
    with pytest.raises(UsageError, match=None) as e:
        validate_op(target, "conv2d", **FAST)
    assert words in str(e.value)


def test_cli_exit_codes_and_report(tmp_path):
    ok = cli("validate", "cnnspec.conformance.shims.numpy_ops:max_pool2d", "--op", "max_pool2d",
             "--examples", "5", "--report", str(tmp_path / "ok"))
    assert ok.returncode == 0, ok.stderr
    rep = json.loads((tmp_path / "ok" / "report.json").read_text())
    assert rep["verdict"] == "pass" and rep["op"] == "max_pool2d" and rep["claims"]
    for page in ("index.html", "junit.xml", "summary.md"):       # the whole report, not only JSON
        assert (tmp_path / "ok" / page).stat().st_size > 0
    for key in ("cnnspec_version", "kind", "target", "claims", "environment"):
        assert key in rep
    bad = cli("validate", "tests/buggy/bugs.py:maxpool_zero_pad", "--op", "max_pool2d",
              "--examples", "3", "--shrink-seconds", "1", "--report", str(tmp_path / "bad"))
    assert bad.returncode == 1
    assert "but should be" in bad.stdout and "reproduce: cnnspec validate" in bad.stdout
    assert "FAIL: " in bad.stdout.splitlines()[-2] and bad.stdout.splitlines()[-1].startswith("report: ")
    rep = json.loads((tmp_path / "bad" / "report.json").read_text())
    failed = [c for c in rep["claims"] if c["status"] == "fail"]
    assert failed and failed[0]["counterexample"]["python"].startswith("import numpy")
    missing = cli("validate", "no_such_module_xyz:f", "--op", "conv2d")
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1


def test_counterexample_snippet_reproduces_the_failure():
    results, _ = validate_op("tests/buggy/bugs.py:conv_flipped", "conv2d",
                             claims=["conformance.conv.values"], examples=6, shrink_seconds=1)
    ce = results[0].counterexample
    out = subprocess.run([sys.executable, "-c", ce["python"]], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 1 and "differs from the exact value" in out.stderr, out.stderr  # it asserts
    assert out.stdout.strip()


@pytest.mark.slow
def test_default_validate_over_the_four_torch_ops_within_60_seconds():
    import time
    t0 = time.perf_counter()
    for op in ("conv1d", "conv2d", "max_pool2d", "avg_pool2d"):
        r = cli("validate", f"torch.nn.functional:{op}", "--op", op, "--array", "torch", "--quiet")
        assert r.returncode == 0, r.stdout + r.stderr
    assert time.perf_counter() - t0 <= 60


def test_correct_but_not_exact_target_passes_the_bound_tier_reported_not_bit_exact():
    tf32 = "cnnspec.conformance.shims.numpy_ops:conv2d_tf32"
    claims = ["conformance.conv.values", "conformance.conv.bound"]
    strict, _ = validate_op(tf32, "conv2d", examples=12, claims=claims, shrink_seconds=1)
    assert strict[0].status == "fail" and strict[0].max_error_over_bound > 1   # rounding undeclared
    results, report = validate_op(tf32, "conv2d", examples=12, claims=claims, input_rounding="tf32")
    assert report["verdict"] == "pass"
    values = results[0]
    assert values.message.startswith("not bit-exact") and values.evidence["bit_exact"] is False
    assert 0 < values.max_error_over_bound <= 1


@pytest.mark.parametrize("target,array,words", [
    ("torch.nn.functional:conv2d", "numpy", "every call raised TypeError: conv2d() received an invalid "
                                            "combination of arguments"),
    ("cnnspec.conformance.shims.numpy_ops:conv2d", "torch", "every call returned a numpy.ndarray, not a torch.Tensor"),
])
def test_a_usage_mismatch_is_one_line_exit_2_with_the_fix(target, array, words):
    """Every plain call raising the same TypeError (or returning the other library's arrays) is a
    mismatch of the calling convention, not nine failing claims."""
    out = cli("validate", target, "--op", "conv2d", "--array", array)
    assert out.returncode == 2, out.stdout[-2000:]
    assert out.stdout == "" and len(out.stderr.strip().splitlines()) == 1, out.stderr
    other = "torch" if array == "numpy" else "numpy"
    assert words in out.stderr and f"(did you mean --array {other}?)" in out.stderr


def test_a_target_that_raises_something_else_every_time_gets_failing_claims():
    results, _ = validate_op(f"{BAD}:raises", "conv2d", claims=["conformance.conv.shape"], **FAST)
    assert results[0].status == "fail" and "NotImplementedError" in results[0].message


def test_claims_filter_and_the_reproduce_command_carries_it():
    results, _ = validate_op("tests/buggy/bugs.py:conv_flipped", "conv2d", examples=6, shrink_seconds=2,
                             claims=["conformance.conv.values"])
    assert [r.id for r in results] == ["conformance.conv.values"]
    assert results[0].counterexample["reproduce"].endswith("--claims conformance.conv.values")
    near = cli("validate", "tests/buggy/bugs.py:conv_flipped", "--op", "conv2d", "--claims", "conformance.conv.valus")
    assert near.returncode == 2 and "did you mean conformance.conv.values" in near.stderr
    assert len(near.stderr.strip().splitlines()) == 1


def test_a_flipped_kernel_shrinks_to_small_entries_and_the_snippet_asserts_the_exact_value():
    """Shrinking reaches small magnitudes, not only small shapes (seeded arrays shrink by seed)."""
    results, _ = validate_op("tests/buggy/bugs.py:conv_flipped", "conv2d", examples=20, shrink_seconds=5,
                             claims=["conformance.conv.values"])
    ce = results[0].counterexample
    entries = [v for k in ("x", "weight") for v in np.ravel(ce["args"][k])]
    assert max(abs(v) for v in entries) <= 1, ce["args"]
    out = subprocess.run([sys.executable, "-c", ce["python"]], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 1 and "AssertionError: differs from the exact value" in out.stderr
    assert "expected" in out.stdout and "got" in out.stdout


def test_accepting_arguments_torch_rejects_is_a_warning_and_fails_only_under_strict():
    """A correct conv2d that reads stride 0 as 1 was called broken; its values are right."""
    target = "tests/buggy/lenient_targets.py:conv2d"
    results, report = validate_op(target, "conv2d", claims=["conformance.conv.values", "conformance.conv.invalid"],
                                  **FAST)
    by_id = {r.id: r for r in results}
    assert by_id["conformance.conv.values"].status == "pass"
    assert by_id["conformance.conv.invalid"].status == "warn"
    assert by_id["conformance.conv.invalid"].message.startswith(
        "accepts stride=0, which torch.nn.functional.conv2d rejects")
    assert report["summary"]["exit_code"] == 0 and report["summary"]["warn"] == 1
    ok = cli("validate", target, "--op", "conv2d", "--claims", "conformance.conv.invalid", "--quiet")
    strict = cli("validate", target, "--op", "conv2d", "--claims", "conformance.conv.invalid", "--quiet", "--strict")
    assert ok.returncode == 0 and "WARNING conformance.conv.invalid" in ok.stdout, ok.stdout + ok.stderr
    assert strict.returncode == 1 and "FAIL: 1 warning" in strict.stdout, strict.stdout + strict.stderr


def test_claims_that_cannot_apply_to_a_numpy_target_are_not_listed():
    """Backward needs torch's autograd: for a NumPy target it is left out, not shown as skipped."""
    assert "conformance.conv.backward" in claims_for("conv2d", "torch")
    assert "conformance.conv.backward" not in claims_for("conv2d", "numpy")
    results, _ = validate_op("cnnspec.conformance.shims.numpy_ops:avg_pool2d", "avg_pool2d", **FAST)
    assert results and not [r.id for r in results if "backward" in r.id]
    assert not [r.message for r in results if "no autograd" in r.message]


def test_a_backward_counterexample_snippet_runs_autograd_on_the_case():
    # the snippet of a backward claim calls the target, then backward with the case's output
    # gradient, and prints the gradients: it shows the wrong weight gradient, not just the forward
    results, _ = validate_op("tests/buggy/bugs.py:conv_weight_grad_flipped", "conv2d", array="torch",
                             claims=["conformance.conv.backward"], examples=6, shrink_seconds=1)
    assert results[0].status == "fail"
    ce = results[0].counterexample
    assert "out.backward(torch.tensor(" in ce["python"]
    out = subprocess.run([sys.executable, "-c", ce["python"]], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    printed = {ln.split(" ", 1)[0] for ln in out.stdout.splitlines()}
    assert {"grad_x", "grad_weight"} <= printed, out.stdout
    import numpy as np
    import torch
    got = eval(out.stdout.split("grad_weight ", 1)[1].split("\ngrad_bias")[0].strip(),  # noqa: S307
               {"tensor": lambda v, **k: np.array(v), "torch": torch})
    assert np.array_equal(got, np.array(ce["got"])), (got, ce["got"])
