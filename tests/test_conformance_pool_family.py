"""Conformance claims of the pooling family (cnnspec/conformance/pool_family_claims.py): torch and the
project's NumPy shim pass every new op; the mutants of tests/buggy/pool_family_bugs.py that fit the
calling convention are each caught with a small shrunk counterexample and, where one applies, the
diagnosis; padding over half the kernel is claimed where a target computes it and skipped where it
raises, as torch does."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from cnnspec import oracle
from cnnspec.claims import REGISTRY, load_all
from cnnspec.conformance import OPS
from cnnspec.conformance.pool_family_claims import OPS as FAMILY
from cnnspec.conformance.runner import claims_for, validate_op
from cnnspec.spec.pooling import pool_geometry
from cnnspec.strategies import adaptive_cases, adaptive_params, pool_nd_cases, pool_nd_params

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "buggy"))
import pool_family_bugs as B  # noqa: E402

BUGS = "tests/buggy/pool_family_bugs.py"
FAST = dict(examples=6, shrink_seconds=2)
SKIPPABLE = {"conformance.pool_nd.over_half"}   # torch (and the shim) reject padding over half the kernel


def _passes(results, report) -> None:
    bad = [(r.id, r.status, r.message) for r in results if r.status != "pass" and
           not (r.status == "skipped" and r.id in SKIPPABLE)]
    assert report["verdict"] == "pass" and not bad, bad


def test_every_new_op_is_in_ops_with_claims_and_sources():
    load_all()
    assert set(FAMILY) <= set(OPS)
    for op in FAMILY:
        ids = claims_for(op)
        assert {"conformance.pool_nd.shape", "conformance.pool_nd.circular",
                "conformance.pool_nd.invalid"} <= set(ids), op
        assert ("conformance.pool_nd.batch" in ids) == (not op.startswith("lp")), op
        assert all(REGISTRY[i].source and REGISTRY[i].group == "conformance" for i in ids)
    assert "conformance.pool_nd.divisor_override" in claims_for("avg_pool2d")
    assert "conformance.adaptive.divides" in claims_for("adaptive_max_pool3d")


@pytest.mark.parametrize("op", [op if op == "max_pool3d"
                                else pytest.param(op, marks=pytest.mark.slow) for op in FAMILY])
def test_torch_functional_passes_every_new_op(op):
    results, report = validate_op(f"torch.nn.functional:{op}", op, array="torch", **FAST)
    _passes(results, report)


@pytest.mark.parametrize("op", FAMILY)
def test_the_numpy_shim_passes_every_new_op(op):
    results, report = validate_op(f"cnnspec.conformance.shims.numpy_ops:{op}", op, **FAST)
    _passes(results, report)


@pytest.mark.parametrize("op", ["max_pool2d", "adaptive_max_pool1d", "lp_pool2d", "avg_pool3d"])
def test_the_numpy_shim_passes_at_bfloat16_on_ml_dtypes_arrays(op):
    # ml_dtypes' bfloat16 is NumPy kind 'V': NaN is still NaN in a max, and a bfloat16 Lp pool
    # returns bfloat16 (its power of a Python float is float32 in ml_dtypes)
    results, report = validate_op(f"cnnspec.conformance.shims.numpy_ops:{op}", op, dtype="bfloat16", **FAST)
    _passes(results, report)


def test_a_dtype_the_target_has_no_kernel_for_is_skipped_not_failed():
    # torch 2.13 has no float16 avg_pool3d on the CPU ("avg_pool3d_out_frame" not implemented for
    # 'Half'): the claims that call it are skipped with torch's words, the invalid-call claim still runs
    results, report = validate_op("torch.nn.functional:avg_pool3d", "avg_pool3d", array="torch",
                                  dtype="float16", **FAST)
    by = {r.id: r for r in results}
    assert by["conformance.pool_nd.avg_values"].status == "skipped"
    assert by["conformance.pool_nd.avg_values"].message == (
        "skipped: the target has no float16 kernel for this call on cpu (NotImplementedError: "
        "\"avg_pool3d_out_frame\" not implemented for 'Half')")
    assert by["conformance.pool_nd.invalid"].status == "pass"
    assert report["summary"]["fail"] == 0 and report["summary"]["exit_code"] == 0


@pytest.mark.parametrize("op", ["max_pool1d", "avg_pool3d"])
def test_padding_over_half_the_kernel_is_claimed_where_a_target_computes_it(op):
    claims = ["conformance.pool_nd.over_half"]
    results, _ = validate_op(f"tests/buggy/lenient_targets.py:{op}", op, claims=claims, examples=10)
    assert [r.status for r in results] == ["pass"], results[0].message
    # the same cases, for the shim (which raises on them, as torch does): skipped, never failed
    results, _ = validate_op(f"cnnspec.conformance.shims.numpy_ops:{op}", op, claims=claims, examples=10)
    assert results[0].status == "skipped" and "raised on all" in results[0].message


# The mutants that fit the calling convention: (name, op, dtype, the claim that catches it, the
# diagnosis's words or None). The two float64 mutants compute in float64 whatever the input: run at
# float64 they are caught for their real bug, not for the dtype.
CAUGHT = [
    ("max_pool2d_nan_skipped", "max_pool2d", "float32", "conformance.max_pool.special", "ignores NaN"),
    ("max_pool1d_lowest_start", "max_pool1d", "float32", "conformance.pool_nd.max_special",
     "lowest finite value -3.402823e+38"),
    ("max_pool3d_depth_stride_one", "max_pool3d", "float32", "conformance.pool_nd.max_values", "depth axis by 1"),
    ("max_pool1d_dilation_ignored", "max_pool1d", "float32", "conformance.pool_nd.max_values", "ignores dilation"),
    ("avg_pool2d_ceil_full_divisor", "avg_pool2d", "float32", "conformance.avg_pool.values", "ceil-mode edge"),
    ("avg_pool2d_include_pad_rows_only", "avg_pool2d", "float32", "conformance.avg_pool.values",
     "first axis only"),
    ("avg_pool2d_override_ignored", "avg_pool2d", "float32", "conformance.pool_nd.divisor_override",
     "ignores divisor_override"),
    ("adaptive_avg_pool1d_floor_end", "adaptive_avg_pool1d", "float64", "conformance.adaptive.avg_values",
     "floor end"),
    ("adaptive_max_pool2d_equal_windows", "adaptive_max_pool2d", "float32", "conformance.pool_nd.max_values",
     "equal size"),
    ("lp_pool2d_abs", "lp_pool2d", "float32", "conformance.pool_nd.lp_values", "|x|^p"),
    ("lp_pool1d_no_edge_scale", "lp_pool1d", "float64", "conformance.pool_nd.lp_values", "K/count scale"),
]
# Outside the convention: their bug is in the indices (return_indices gives a tuple, which the worker
# does not bring back) or in max_unpool (int64 indices cannot be passed in).
OUTSIDE = {"max_pool2d_last_tie", "max_pool2d_padded_plane", "max_unpool2d_column_major",
           "max_unpool2d_onnx_output_size"}


def test_every_mutant_is_either_caught_here_or_named_outside_the_convention():
    names = [n for n, _, _ in B.BUGS]
    assert sorted(names) == sorted([c[0] for c in CAUGHT] + sorted(OUTSIDE))
    assert len(CAUGHT) == 11          # the mutation score: 11 of the 11 in the convention


@pytest.mark.parametrize("name,op,dtype,claim,diagnosis", CAUGHT, ids=[c[0] for c in CAUGHT])
def test_each_mutant_is_caught_with_a_small_shrunk_counterexample(name, op, dtype, claim, diagnosis):
    results, report = validate_op(f"{BUGS}:{name}", op, dtype=dtype, claims=[claim], examples=10,
                                  shrink_seconds=2)
    r = results[0]
    assert report["verdict"] == "fail" and r.status == "fail", r.message
    assert "but should be" in r.message
    x = np.asarray(r.counterexample["args"]["x"])
    small = np.abs(x[np.isfinite(x)]).max(initial=0) <= 9        # NaN and ±inf are allowed entries
    assert x.size <= 16 and small, x.tolist()                      # shrunk: a handful of small entries
    if diagnosis:
        assert "diagnosis: the target" in r.message and diagnosis in r.message, r.message


def test_strategies_name_the_bad_bound():
    for kw, words in [({"ndim": 4}, "ndim=4"), ({"kind": "min"}, "kind='min'"), ({"max_side": 0}, "max_side=0"),
                      ({"over_half": True, "kind": "lp"}, "over_half=True"),
                      ({"divisor_override": True, "ndim": 1, "kind": "avg"}, "divisor_override=True")]:
        with pytest.raises(InvalidArgument, match=words.replace("(", r"\(").replace("|", r"\|")):
            pool_nd_params(**kw)
    with pytest.raises(InvalidArgument, match="max_extra=-1"):
        adaptive_params(max_extra=-1)
    with pytest.raises(InvalidArgument, match="special=True"):
        pool_nd_cases(kind="avg", special=True)


def test_torch_lp_pool_given_numpy_arrays_is_a_usage_error_with_the_fix():
    from cnnspec.errors import UsageError
    with pytest.raises(UsageError, match=r"'numpy.ndarray' object has no attribute 'pow' \(did you mean --array torch\?\)"):
        validate_op("torch.nn.functional:lp_pool1d", "lp_pool1d", **FAST)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_the_family_strategies_draw_what_they_promise(data):
    nd = data.draw(st.integers(1, 3))
    k = data.draw(st.sampled_from(["max", "avg", "lp"]))
    c = data.draw(pool_nd_cases(ndim=nd, kind=k, max_side=6))
    geo = pool_geometry(c["size"], c["kernel"], c["stride"], c["padding"], c["dilation"], c["ceil_mode"])
    assert min(geo.output_size) >= 1 and c["x"].shape == (c["N"], c["C"], *c["size"])
    if k == "lp":
        assert not any(c["padding"]) and c["norm_type"] in (1, 2, 3)
        assert isinstance(c["kwargs"]["kernel_size"], int) or nd > 1     # lp_pool1d takes an int
    if k == "avg" and nd == 3:
        assert all(n >= q for n, q in zip(c["size"], c["kernel"]))        # torch's avg_pool3d rule
    over = data.draw(pool_nd_cases(ndim=nd, kind="avg", over_half=True, max_kernel=4, max_side=6))
    assert all(q // 2 < p < q for p, q in zip(over["padding"], over["kernel"]))
    _, div = oracle.avg_pool_parts(over["x"], over["kernel"], over["stride"], over["padding"], False, False,
                                   torch_limits=False)
    assert div.min() >= 1                     # every window holds a real entry
    a = data.draw(adaptive_cases(ndim=nd))
    assert all(1 <= m <= n + 2 for m, n in zip(a["output"], a["size"]))
