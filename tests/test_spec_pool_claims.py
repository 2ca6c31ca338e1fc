"""cnnspec.spec.pool_claims: every pooling claim holds, and every check fails when fed a broken ingredient."""
import numpy as np
import pytest
import sympy

from cnnspec.claims import REGISTRY, Outcome, load_all, run_claim
from cnnspec.spec import pool_claims as C
from cnnspec.spec import pooling as P

POOL_CLAIMS = ["pool.max.window_permutation", "pool.max.monotone", "pool.global.circular_shift",
               "pool.stride.circular_equivariance", "pool.max.one_pixel_shift", "pool.avg.uniform_conv",
               "pool.adaptive.divides", "pool.lp.to_max", "pool.unpool.inverse", "pool.unpool.adjoint"]


@pytest.mark.parametrize("cid", POOL_CLAIMS)
def test_claim_is_registered_and_holds_with_evidence(cid):
    load_all()
    c = REGISTRY[cid]
    assert (c.group, c.method in ("symbolic", "exact"), bool(c.source)) == ("spec", True, True)
    res = run_claim(c)
    assert res.status == "pass" and res.message and res.examples > 0, res.message


def _fails(fn, **kw) -> Outcome:
    out = fn(**kw)
    assert isinstance(out, Outcome) and not out.holds, out.message
    return out


def test_permutation_claim_fails_for_a_position_dependent_summary():
    out = _fails(C.check_window_permutation, reduce=lambda v: v[0])          # "the first entry"
    assert "after swapping" in out.message and "but should be" in out.message
    weighted = lambda v: sympy.Add(*[(i + 1) * a for i, a in enumerate(v)])  # noqa: E731
    _fails(C.check_window_permutation, reduce=weighted)


def test_monotone_claim_fails_for_average_pooling():
    out = _fails(C.check_monotone, reduce=lambda v: v.sum(axis=-1) // 2)     # a (floored) mean
    assert "maxpool(f(x))" in out.message
    out = _fails(C.check_monotone, reduce=lambda v: np.sum(v, axis=-1))    # sum pooling
    assert "but a maximum is one of the entries" in out.message


def test_global_claim_fails_for_a_pool_that_sees_position():
    out = _fails(C.check_global_shift, reduces={"first-half max": lambda v: C._max(v[: max(1, len(v) // 2)])})
    assert "circular shift" in out.message


def test_stride_claim_fails_with_zero_padding_instead_of_circular():
    def clipped(size, k, s):       # windows that stop at the border instead of wrapping around
        w = P.circular_windows(size, k, s)
        first = w[:, :1]
        return np.where(w >= first, w, first)
    out = _fails(C.check_circular_stride, configs=[((8,), (3,), (2,))], windows=clipped)
    assert "shift" in out.message


def test_one_pixel_claim_fails_for_a_wrong_count_or_pool():
    out = _fails(C.check_one_pixel, count=lambda n, q: C.transfer_count(n, q) + 1)
    assert "transfer matrix" in out.message
    always_same = lambda x, k: np.zeros(x.shape[:-1], bool)                 # noqa: E731
    out = _fails(C.check_one_pixel, changes=always_same)
    assert "smallest counterexample" in out.message


def test_one_pixel_fractions_are_exact_and_shrink():
    out = C.check_one_pixel()
    fr = out.evidence["fractions"]
    assert fr["q=2,n=4"] == "5/8"          # by hand: 16 inputs, the 10 whose two maxima survive
    vals = [eval(fr[f"q=2,n={n}"]) for n in (4, 6, 8, 10, 12)]              # noqa: S307
    assert vals == sorted(vals, reverse=True)


def test_avg_claim_fails_for_divisors_without_the_rules():
    full = lambda size, geo, cip, override=None: np.full(geo.output_size, int(np.prod(geo.kernel)))  # noqa
    out = _fails(C.check_avg_conv, divisors=full)
    assert "uniform-kernel convolution" in out.message


def test_adaptive_claim_fails_for_a_wrong_window_formula():
    wrong = lambda n, m: (np.arange(m) * n // m, np.arange(m) * n // m + n // m + 1)   # noqa: E731
    _fails(C.check_adaptive, max_n=6, windows=wrong)


def test_lp_claim_fails_for_a_power_mean():
    out = _fails(C.check_lp, power_sum=lambda x, p: np.sum(x ** p, axis=-1) // x.shape[-1])
    assert "should lie in" in out.message


def test_unpool_claims_fail_for_a_wrong_scatter():
    def at_start(values, indices, plane):       # writes each value at its window's start
        return P.unpool_scatter(values, indices - indices % 2, plane)
    _fails(C.check_unpool_inverse, configs=[((4,), 2)], unpool=at_start)

    def adds(values, indices, plane):           # scatter-add: the adjoint even with repeated indices
        out = np.zeros((*values.shape[:-1], plane))
        np.add.at(out, (..., indices), values) if values.ndim == 1 else None
        return out
    out = _fails(C.check_unpool_adjoint, unpool=adds)
    assert "repeated" in out.message


def test_figure_data_show_each_invariance():
    f = P.figure_window_permutation()
    assert not np.array_equal(f["input"], f["permuted"]) and np.array_equal(f["pooled"], f["pooled_permuted"])
    g = P.figure_global_shift()
    assert not np.array_equal(g["input"], g["shifted"]) and g["global_max"][0] == g["global_max"][1]
    assert g["global_mean"][0] == g["global_mean"][1]
    h = P.figure_one_pixel_counterexample()
    assert h["input"].tolist() == [0, 0, 0, 1] and h["changed"].all()
