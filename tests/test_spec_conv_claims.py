"""cnnspec.spec.conv_claims: every claim holds, and every check fails when fed a broken ingredient."""
import numpy as np
import pytest
import sympy

from cnnspec.claims import REGISTRY, Outcome, load_all, run_claim
from cnnspec.spec import conv_claims as C
from cnnspec.spec.convolution import ConvSpec
from cnnspec.spec.equivariance import interior
from cnnspec.spec.toeplitz import ConvMatrix

SPEC_CLAIMS = ["conv.toeplitz.sum_formula", "conv.flip", "conv.lecture.examples",
               "conv.sparse_interaction", "conv.parameter_sharing", "conv.receptive_field",
               "conv.equivariance.circulant", "conv.equivariance.converse",
               "conv.equivariance.interior", "conv.equivariance.stride", "conv.adjoint",
               "conv.gradients", "conv.output_size"]


def test_registry_has_every_claim_of_the_issue():
    load_all()
    for cid in SPEC_CLAIMS:
        c = REGISTRY[cid]
        assert c.statement and c.source and c.method in ("symbolic", "exact") and c.group == "spec"


@pytest.mark.parametrize("cid", SPEC_CLAIMS)
def test_claim_holds_with_evidence(cid):
    res = run_claim(REGISTRY[cid])
    assert res.status == "pass", res.message
    assert res.message
    assert res.examples and res.examples > 0


class WrongMatrix(ConvMatrix):
    """A convolution matrix with one off-by-one: the last tap of every window reads one too far."""

    def __init__(self, spec):
        super().__init__(spec)
        last = self.widx % spec.kernel_size[-1] == spec.kernel_size[-1] - 1
        shifted = self.cols + 1
        ok = last & (shifted % spec.input_size[-1] != 0)
        self.cols = np.where(ok, shifted, self.cols)


class FlippedMatrix(ConvMatrix):
    """True convolution where cross-correlation was asked for."""

    def __init__(self, spec):
        from dataclasses import replace
        super().__init__(replace(spec, convolution=not spec.convolution))
        self.spec = spec


def _check(fn, **kw) -> Outcome:
    out = fn(**kw)
    assert isinstance(out, Outcome)
    return out


def test_toeplitz_claim_fails_for_wrong_matrices():
    small = [dict(input_size=6, kernel_size=3)]
    out = _check(C.check_toeplitz, matrix=WrongMatrix, small=small, large={})
    assert not out.holds and "but should be" in out.message
    out = _check(C.check_toeplitz, matrix=FlippedMatrix, small=[], large={"C3": dict(
        input_size=(14, 14), kernel_size=(5, 5), in_channels=6, out_channels=16)})
    assert not out.holds and "C3" in out.message


def test_flip_claim_fails_without_the_flip():
    out = _check(C.check_flip, flipper=lambda spec, w: list(w))
    assert not out.holds and "convolution" in out.message


def test_lecture_claim_fails_for_a_wrong_derivation():
    out = _check(C.check_lecture, one_d=lambda: C.lecture_1d(w=C.X_Z))    # kernel not reversed
    assert not out.holds and "s_3" in out.message
    out = _check(C.check_lecture, two_d=lambda: [0, 0])
    assert not out.holds and "out[0,0]" in out.message


def test_counting_claims_fail_for_a_dense_or_unshared_matrix():
    class Dense(ConvMatrix):
        def __init__(self, spec):
            super().__init__(spec)
            r, c = np.meshgrid(np.arange(spec.n_out), np.arange(spec.n_in), indexing="ij")
            self.rows, self.cols = r.ravel(), c.ravel()
            self.widx = np.zeros(r.size, np.int64)

    class Unshared(ConvMatrix):   # a locally connected layer: a new weight at every position
        def __init__(self, spec):
            super().__init__(spec)
            self.widx = np.arange(self.nnz)

    cfg = {"1-D": dict(input_size=10, kernel_size=3)}
    assert not _check(C.check_sparse, configs=cfg, matrix=Dense).holds
    out = _check(C.check_sharing, configs=cfg, matrix=Unshared)
    assert not out.holds and "24 distinct symbols, but should have 3" in out.message


def test_receptive_field_claim_fails_for_a_wrong_formula():
    out = _check(C.check_receptive_field, formula=lambda layers: 1 + sum(L["k"] - 1 for L in layers))
    assert not out.holds and "formula says" in out.message


def test_circulant_claim_fails_for_zero_padding():
    out = _check(C.check_circulant, make=lambda n, k: ConvSpec.make(n, k, padding=[(0, k - 1)]))
    assert not out.holds and "not circulant" in out.message


def test_interior_claim_fails_for_a_wrong_region():
    too_big = lambda spec, t: np.ones(spec.output_size, dtype=bool)        # noqa: E731
    out = _check(C.check_interior, region=too_big)
    assert not out.holds and "equal" in out.message
    too_small = lambda spec, t: interior(spec, t) & False                  # noqa: E731
    assert not _check(C.check_interior, region=too_small).holds


def test_adjoint_claim_fails_for_an_unflipped_transpose():
    from dataclasses import replace
    from cnnspec.spec.toeplitz import transposed_pattern

    wrong = lambda spec: transposed_pattern(replace(spec, convolution=not spec.convolution))  # noqa
    out = _check(C.check_adjoint, small=[dict(input_size=5, kernel_size=3)], large={}, transposed=wrong)
    assert not out.holds and "transposed convolution" in out.message


def test_gradient_claim_fails_for_a_wrong_weight_gradient():
    def reversed_taps(spec, u, g):   # a true convolution of u with g instead of a cross-correlation
        return C.weight_gradient(spec, u, g)[::-1]

    out = _check(C.check_gradients, configs=[dict(input_size=9, kernel_size=3, stride=2, dilation=2)],
                 dw_formula=reversed_taps)
    assert not out.holds and "∂L/∂w" in out.message


def test_output_size_claim_fails_for_ceil():
    def ceil_size(n, k, s, p, d):
        lo, hi = p
        return -(-(n + lo + hi - d * (k - 1) - 1) // s) + 1

    out = _check(C.check_output_size, max_n=6, size=ceil_size)
    assert not out.holds and "windows fit" in out.message


def test_stride_claim_states_the_smallest_counterexample():
    out = _check(C.check_stride, strides=(2,), n_per_stride=3)
    assert out.holds
    cex = out.evidence["cases"][0]["smallest_counterexample"]
    assert cex == {"stride": 2, "n": 2, "k": 1, "shift": 1, "u": [0, 1], "w": [1], "T_u": [0],
                   "T_shifted_u": [1]}


def test_a_raising_check_is_an_error_not_an_abort():
    from cnnspec.claims import Claim

    def boom() -> Outcome:
        raise ZeroDivisionError("division by zero")

    res = run_claim(Claim("x.boom", "s", "src", "exact", boom))
    assert res.status == "error" and "ZeroDivisionError" in res.message
