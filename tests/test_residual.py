"""cnnspec.spec.residual and the residual claims — y = x + F(x), the zero branch, gradient flow.

He et al. 2016 §3.1: "if an identity mapping were optimal, ... push the residual to zero". On the
reference models this must hold bit for bit on CPU, negative inputs included.
"""
import pytest
import sympy
import torch

from cnnspec.claims import load_all, run_claim
from cnnspec.networks.model import intra_op_threads
from cnnspec.spec.convolution import SpecError
from cnnspec.spec.residual import batchnorm_expr, option_a_matrix, residual_jacobian
from cnnspec.reference.models import build

REGISTRY = load_all()


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    with intra_op_threads(1):  # small batches on 2 shared cores
        yield


def test_jacobian_is_identity_plus_branch():
    jy, jf = residual_jacobian(3)
    assert jy - jf == sympy.eye(3)
    assert jf[0, 1] == sympy.Derivative(sympy.Function("F_0")(*sympy.symbols("x_0:3")), sympy.Symbol("x_1"))


def test_batchnorm_with_zero_scale_and_shift_is_zero():
    expr, (z, mu, var, eps, gamma, beta) = batchnorm_expr()
    assert expr.subs({gamma: 0, beta: 0}) == 0
    assert expr.subs({gamma: 1, beta: 0}) != 0


def test_option_a_matrix_small_case():
    m = option_a_matrix(1, 2, 2, 2, 2).toarray()
    # one input channel 2x2, stride 2 -> keeps x[0,0,0]; channel 1 is zero
    assert m.tolist() == [[1, 0, 0, 0], [0, 0, 0, 0]]
    with pytest.raises(SpecError):
        option_a_matrix(4, 2, 2, 2, 1)


def _zero_last_bn(block):
    with torch.no_grad():
        block.bn2.weight.zero_()
        block.bn2.bias.zero_()


def test_zeroed_block_is_exactly_relu_with_negative_inputs():
    model = build("resnet20").eval()
    block = model.layer1[1]
    _zero_last_bn(block)
    x = torch.randn(4, 16, 32, 32)
    assert (x < 0).any()
    with torch.no_grad():
        assert torch.equal(block(x), torch.relu(x))
        # also in training mode (batch statistics): 0·x̂ + 0 is still exactly 0
        assert torch.equal(block.train()(x), torch.relu(x))


def test_zeroed_plain_block_is_zero_not_identity():
    model = build("plain20").eval()
    block = model.layer2[1]
    _zero_last_bn(block)
    x = torch.rand(2, 32, 16, 16) + 0.5
    with torch.no_grad():
        y = block(x)
    assert not y.any() and not torch.equal(y, x)


def test_unzeroed_block_is_not_relu():  # the check can fail
    model = build("resnet20").eval()
    x = torch.randn(2, 16, 32, 32)
    with torch.no_grad():
        assert not torch.equal(model.layer1[0](x), torch.relu(x))


@pytest.mark.parametrize("cid", ["residual.jacobian", "residual.zero_branch", "residual.zero_branch.resnet20",
                                 "residual.zero_branch.resnet20-B", "residual.zero_branch.plain20"])
def test_residual_claims_hold(cid):
    r = run_claim(REGISTRY[cid])
    assert r.status == "pass", r.message
    assert r.evidence


def test_gradient_norm_trend_resnet56_vs_plain56():
    r = run_claim(REGISTRY["residual.gradient_norms"])
    assert r.status == "pass", r.message
    ratios = r.evidence["ratios"]
    assert len(ratios) >= 3
    assert all(v["resnet56"] < 100 < 500 < v["plain56"] for v in ratios.values())


def test_gradient_norm_claim_rejects_level_plain_profile():
    from cnnspec.networks import reference_claims as mc

    g = mc.block_gradient_norms("resnet20", 0, batch=2, size=16)
    assert len(g) == 9 and all(v > 0 for v in g)
    # resnet56 against itself would not show the gap: the claim's threshold is a real constraint
    assert g[0] / g[-1] < mc.PLAIN_MIN_RATIO
