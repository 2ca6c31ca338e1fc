"""Conformance of the convolution family (conv3d, conv_transpose1d/2d/3d, pad): torch and the project's
NumPy shim pass every claim; the mutants of tests/buggy/conv_family_bugs.py written in the calling
convention are each caught with a small shrunk counterexample, and named where a convention
explains them; the strategies keep their promises (shapes, certificate, output_padding rule)."""
from pathlib import Path

import numpy as np
import pytest
from hypothesis.errors import InvalidArgument

from cnnspec import oracle
from cnnspec.claims import REGISTRY, load_all
from cnnspec.conformance import OPS
from cnnspec.conformance.conv_family_claims import probe_case, transposed_matrix
from cnnspec.conformance.properties import draw_cases
from cnnspec.conformance.runner import claims_for, validate_op
from cnnspec.spec.transposed import TransposedMatrix
from cnnspec.strategies import conv3d_cases, conv_transpose_cases, conv_transpose_params

ROOT = Path(__file__).resolve().parents[1]
BUGS = str(ROOT / "tests/buggy/conv_family_bugs.py")
NEW = ("conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "pad")
QUICK = dict(examples=6, shrink_seconds=2)

# (mutant, op, a claim that must fail, the diagnosis it must name or "")
MUTANTS = [
    ("ct_drops_output_padding", "conv_transpose2d", "conformance.conv_transpose.values", "drops output_padding"),
    ("ct_weight_axes_swapped", "conv_transpose2d", "conformance.conv_transpose.values",
     "channel axes as a direct convolution's"),
    ("ct_no_kernel_flip", "conv_transpose2d", "conformance.conv_transpose.operator",
     "without flipping the kernel"),
    ("ct_ignores_dilation", "conv_transpose2d", "conformance.conv_transpose.values", ""),
    ("ct_padding_one_side", "conv_transpose2d", "conformance.conv_transpose.operator",
     "crops the padding from the end only"),
    ("conv3d_strides_dh_swapped", "conv3d", "conformance.conv3d.values", "depth and height strides swapped"),
    ("pad_reflect_repeats_edge", "pad", "conformance.pad.values", "edge repeated"),
    ("pad_tuple_from_first_axis", "pad", "conformance.pad.values", "from the first padded axis"),
    ("pad_circular_wrong_side", "pad", "conformance.pad.operator", "width swapped"),
    ("conv_same_odd_pixel_low", "conv2d", "conformance.conv_padding.same_valid", "SAME_LOWER"),
    ("conv_pairs_read_as_lo_lo", "conv2d", "conformance.conv_padding.pairs", "as (lo, lo)"),
]
# ONNX ConvInteger / QLinearConv take uint8/int8 arrays, which the isolation layer does not carry
NOT_CARRIED = ("conv2d_integer", "qlinear_conv2d")


def test_the_new_ops_are_conformance_ops_with_sourced_claims():
    load_all()
    for op in NEW:
        assert op in OPS
        ids = claims_for(op)
        kinds = {"values", "operator", "invalid"} if op == "pad" else \
            {"shape", "values", "bound", "linearity", "operator", "invalid"}
        assert {i.rsplit(".", 1)[1] for i in ids} >= kinds, op
        assert all(REGISTRY[i].source and REGISTRY[i].group == "conformance" for i in ids)


@pytest.mark.parametrize("op", NEW)
def test_torch_passes_every_claim(op):
    results, report = validate_op(f"torch.nn.functional:{op}", op, array="torch", **QUICK)
    assert report["verdict"] == "pass", [(r.id, r.message) for r in results if r.status != "pass"]
    # torch does not take (lo, hi) pairs: that claim, and only that one, is skipped
    assert {r.id for r in results if r.status not in ("pass", "warn")} <= {"conformance.conv_padding.pairs"}


@pytest.mark.parametrize("op", NEW)
def test_the_numpy_shim_passes_every_claim(op):
    results, report = validate_op(f"cnnspec.conformance.shims.numpy_ops:{op}", op, array="numpy", **QUICK)
    assert report["verdict"] == "pass", [(r.id, r.message) for r in results if r.status != "pass"]


@pytest.mark.parametrize("name,op,claim,diagnosis", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_mutant_is_caught_with_a_shrunk_counterexample(name, op, claim, diagnosis):
    results, report = validate_op(f"{BUGS}:{name}", op, array="numpy", examples=8, shrink_seconds=2,
                                  claims=[claim])
    (r,) = results
    assert report["verdict"] == "fail" and r.status == "fail", r.message
    ce = r.counterexample
    assert ", but should " in r.message and ce["reproduce"].startswith("cnnspec validate ")
    assert np.asarray(ce["args"]["x"]).size <= 60, r.message       # shrunk to a handful of entries
    if diagnosis:
        assert diagnosis in (ce["diagnosis"] or ""), r.message
    if op == "pad":   # the snippet passes the pad tuple, torch's second positional argument
        assert "f(x, (" in ce["python"]


def test_the_mutation_score_covers_every_convention_mutant():
    from tests.buggy.conv_family_bugs import BUGS as ALL
    in_convention = [n for n, (op, _, _) in ALL.items() if op not in NOT_CARRIED]
    assert sorted(in_convention) == sorted(m[0] for m in MUTANTS) and len(MUTANTS) == 11


def test_torch_takes_same_and_valid_and_is_skipped_on_pairs():
    results, report = validate_op("torch.nn.functional:conv2d", "conv2d", array="torch", **QUICK,
                                  claims=["conformance.conv_padding.same_valid", "conformance.conv_padding.pairs"])
    assert [r.status for r in results] == ["pass", "skipped"], [r.message for r in results]
    assert "does not take (lo, hi) padding" in results[1].message and report["verdict"] == "pass"


def test_the_spec_matrix_of_the_probe_is_the_scatter_form():
    # Tᵀ of the matching convolution (the operator claim's reference) against the scatter-form
    # matrix and against the oracle applied to unit impulses: three derivations agree
    for op in ("conv_transpose1d", "conv_transpose2d", "conv_transpose3d"):
        case = probe_case(op)
        want = transposed_matrix(case)
        assert np.array_equal(want, TransposedMatrix(case["spec"]).numeric(case["weight"]).toarray())
        n = case["x"][0].size
        e = np.eye(n).reshape(n, *case["x"].shape[1:])
        y = oracle.conv_transpose(e, case["weight"], None, case["stride"], case["padding"],
                                  case["output_padding"], case["groups"], case["dilation"])
        assert np.array_equal(y.reshape(n, -1).T, want)


def test_transposed_strategy_keeps_the_rules_and_the_certificate():
    for nd in (1, 2, 3):
        for c in draw_cases(conv_transpose_cases(ndim=nd, max_side=3), 25, 0):
            assert all(a < max(s, d) for a, s, d in zip(c["output_padding"], c["stride"], c["dilation"]))
            assert c["weight"].shape == (c["C_in"], c["C_out"] // c["groups"], *c["kernel"])
            y = oracle.conv_transpose(c["x"], c["weight"], c["bias"], c["stride"], c["padding"],
                                      c["output_padding"], c["groups"], c["dilation"])
            assert y.shape == (c["N"], c["C_out"], *c["out_size"])
            k, mx, mw, mb = c["cert"]
            assert k * mx * mw + mb < 2 ** 24 and np.abs(c["x"]).max() <= mx
    assert all(c["x"].ndim == 5 for c in draw_cases(conv3d_cases(), 10, 0))


@pytest.mark.parametrize("kw,word", [({"ndim": 4}, "ndim=4"), ({"max_side": 0}, "max_side=0"),
                                     ({"min_groups": 5}, "min_groups=5")])
def test_strategy_bounds_are_checked(kw, word):
    with pytest.raises(InvalidArgument, match=word):
        conv_transpose_params(**kw)
    if "ndim" not in kw:
        with pytest.raises(InvalidArgument, match=word):
            conv3d_cases(**kw)


def test_pad_strategy_follows_torchs_rules_and_checks_its_bounds():
    from cnnspec.strategies import pad_cases
    for c in draw_cases(pad_cases(), 60, 0):
        lead = c["x"].ndim - len(c["pairs"])
        for (lo, hi), n in zip(c["pairs"], c["x"].shape[lead:]):
            if c["mode"] == "reflect":
                assert max(lo, hi) < n
            if c["mode"] != "constant":
                assert min(lo, hi) >= 0 and lead == 2 and c["value"] is None
        assert oracle.functional_pad(c["x"], c["pad"], c["mode"], c["value"]).ndim == c["x"].ndim
    for kw, word in (({"max_ndim": 4}, "max_ndim=4"), ({"modes": ("wrap",)}, "modes="), ({"bound": 0}, "bound=0")):
        with pytest.raises(InvalidArgument, match=word):
            pad_cases(**kw)
