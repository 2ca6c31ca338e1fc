"""cnnspec.spec.conv_family_claims: each claim passes on the spec and fails on a broken input."""
import sympy

from cnnspec import claims
from cnnspec.spec import conv_family_claims as cf
from cnnspec.spec.transposed import TransposedMatrix

IDS = ["conv.transpose.matrix", "conv.transpose.output_size", "conv.toeplitz.3d", "conv.padding.matrices",
       "conv.padding.circulant", "conv.padding.same", "conv.integer.zero_point"]


def test_every_claim_is_registered_with_a_source_and_passes():
    claims.load_all()
    for cid in IDS:
        c = claims.REGISTRY[cid]
        assert c.source and c.group == "spec"
        res = claims.run_claim(c)
        assert res.status == "pass", (cid, res.message)
        assert res.examples and res.examples > 0


class _DroppedOutputPadding(TransposedMatrix):
    """A transposed conv whose last output row (output_padding's) is lost: reads as zeros."""

    def __init__(self, spec):
        super().__init__(spec)
        keep = self.rows < self.rows.max()
        self.rows, self.cols, self.widx = self.rows[keep], self.cols[keep], self.widx[keep]


def test_transpose_matrix_claim_catches_a_dropped_row():
    out = cf.check_transpose_matrix(large={}, matrix=_DroppedOutputPadding)
    assert not out.holds and "but the gather sum" in out.message


def test_output_size_claim_catches_a_missing_output_padding():
    out = cf.check_transpose_output_size(max_n=3, size=lambda n, k, s, p, d, a: (n - 1) * s - 2 * p + d * (k - 1) + 1)
    assert not out.holds and "output_padding" in out.message


def test_3d_claim_catches_swapped_depth_blocks():
    def reversed_blocks(spec, w):
        b = cf.depth_blocks(spec, w)
        na = spec.input_size[0]
        return {(o, a): b[o, na - 1 - a] for o, a in b}
    assert not cf.check_toeplitz_3d(blocks=reversed_blocks).holds


def test_padding_claims_catch_reflect_that_repeats_the_edge():
    def symmetric(spec, mode):          # 'reflect' computed as np.pad's 'symmetric' (edge repeated)
        if mode != "reflect":
            return cf.padded_table(spec, mode)
        return cf.padded_table(spec, "replicate") if spec.padding[0][0] == 1 else cf.padded_table(spec, mode)
    out = cf.check_padding_matrices(configs=[dict(input_size=5, kernel_size=3, padding=1)], table=symmetric)
    assert not out.holds and "reflect" in out.message


def test_circulant_claim_catches_zero_padding():
    out = cf.check_padding_circulant(table=lambda spec, mode: cf.padded_table(spec, "constant"))
    assert not out.holds


def test_same_claim_catches_the_odd_pixel_on_the_wrong_side():
    out = cf.check_same(max_n=6, pads=lambda n, k, s, d, up: cf.same_pads(n, k, s, d, not up))
    assert not out.holds and "UPPER" in out.message


def test_zero_point_claim_catches_a_missing_term():
    def without_k(spec, per_channel):
        lhs, rhs = cf.zero_point_sides(spec, per_channel)
        zx = sympy.Symbol("z_x")
        return lhs, [r + zx for r in rhs]
    assert not cf.check_zero_point(sides=without_k).holds
