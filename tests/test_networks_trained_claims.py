"""cnnspec/networks/trained_claims.py and reference/shifts.py: post-training claims.

Each claim passes on the reference models and fails on a layer or model built to break it.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from cnnspec.networks import trained_claims as trained
from cnnspec.reference.shifts import shift_consistency, translate
from cnnspec.reference import models
from test_train import one_thread  # noqa: F401 - autouse: one torch thread (see there)

BLACK = -0.8


def bordered_images(n=300, size=32, border=4, seed=0) -> torch.Tensor:
    """Random images with a black frame of ``border`` pixels (like padded Fashion-MNIST)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.full((n, 1, size, size), BLACK)
    x[:, :, border:-border, border:-border] = torch.rand(n, 1, size - 2 * border, size - 2 * border,
                                                         generator=g) * 3 + BLACK
    return x


def test_consistency_is_one_for_an_invariant_model():
    # The class depends only on the image's maximum: a shift that keeps the content in the frame
    # (fill = black, the smallest value) cannot change it.
    torch.manual_seed(0)
    model = nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(1, 10))
    res = shift_consistency(model, bordered_images(), max_shift=3, fill=BLACK)
    assert res["consistency"] == 1.0 and res["agree"] == res["n"] == 300


def test_consistency_is_below_one_for_a_position_dependent_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(32 * 32, 10))
    res = shift_consistency(model, bordered_images(), max_shift=3, fill=BLACK)
    assert res["consistency"] < 1.0
    assert res["consistency"] == shift_consistency(model, bordered_images(), max_shift=3, fill=BLACK)[
        "consistency"]                                               # seeded: reproducible
    assert shift_consistency(model, bordered_images(), max_shift=0, fill=BLACK)["consistency"] == 1.0


def test_translate_round_trip_inside_the_frame():
    x = bordered_images(n=20)
    dy, dx = torch.randint(-3, 4, (20,)), torch.randint(-3, 4, (20,))
    assert torch.equal(translate(translate(x, dy, dx, BLACK), -dy, -dx, BLACK), x)


def data_for(size: int, n: int = 64):
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 1, size, size, generator=g), None


def by_id(results):
    return {r.id: r for r in results}


def test_reference_lenets_pass():
    torch.manual_seed(0)
    for name in ("lenet5", "lenet5-1998"):
        res = by_id(trained.verify_trained(name, models.build(name), data_for(32), "cpu"))
        assert res["trained.conv.toeplitz"].status == "pass", res["trained.conv.toeplitz"].message
        assert res["trained.conv.equivariance"].status == "pass"
        assert res["trained.residual.zero_branch"].status == "skipped"
        assert res["trained.conv.toeplitz"].evidence["model"] == name
    assert res["trained.maxpool.invariance"].status == "skipped"          # 1998: subsampling, no max
    assert len(res["trained.conv.toeplitz"].evidence["layers"]) == 5     # C1, S2, C3, S4, C5


def test_resnet_zero_branch_and_plain_net():
    torch.manual_seed(0)
    net = models.build("resnet20", in_channels=1)
    with torch.no_grad():  # give batch norm non-trivial statistics, as training would
        net.train()(torch.randn(64, 1, 28, 28))
    r = trained.check_zero_branch(net, data_for(28), "cpu")
    assert r.holds and r.evidence["blocks"] == 9 and r.evidence["identity_blocks"] == 7
    assert trained.check_zero_branch(models.build("plain20", in_channels=1), data_for(28)).skipped


class Flipped(nn.Conv2d):
    """A convolution, not a cross-correlation: not T(w)·u for torch's T."""

    def forward(self, x):
        return F.conv2d(x, self.weight.flip(-1, -2), self.bias, self.stride, self.padding)


class PositionBias(nn.Conv2d):
    """A conv whose output gets a tiny bias at one position: breaks equivariance and Toeplitz."""

    def forward(self, x):
        out = super().forward(x)
        out = out.clone()
        out[..., 5, 7] += 2.0 ** -20
        return out


def test_broken_convolutions_fail():
    torch.manual_seed(0)
    for layer in (Flipped(2, 3, 3), PositionBias(2, 3, 3)):
        net = nn.Sequential(layer, nn.ReLU())
        r = trained.check_conv_toeplitz(net, (torch.randn(8, 2, 12, 12), None))
        assert not r.holds and "T(w)·u + b is exactly" in r.message and r.counterexample
    r = trained.check_conv_equivariance(nn.Sequential(PositionBias(2, 3, 3)), (torch.randn(8, 2, 12, 12), None))
    assert not r.holds and "at the shifted position" in r.message


def test_wide_exponent_span_falls_back_to_the_bound():
    conv = nn.Conv2d(1, 1, 3, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[[[1.0, 2.0 ** -40, 3.0], [0.5, -2.0 ** -60, 1.0], [1, 1, 1]]]]))
    r = trained.check_conv_toeplitz(nn.Sequential(conv), (torch.randn(4, 1, 9, 9), None))
    assert r.holds and r.evidence["layers"]["0"]["bound_tier"] > 0
    assert r.max_error_over_bound is not None and r.max_error_over_bound <= 1


def test_maxpool_claim_fails_for_a_pool_that_is_not_max():
    class NotMax(nn.MaxPool2d):
        def forward(self, x):  # takes the top-left element: order-dependent
            return x[..., ::2, ::2]

    net = nn.Sequential(nn.Conv2d(1, 4, 3), NotMax(2))
    r = trained.check_maxpool(net, (torch.randn(16, 1, 14, 14), None))
    assert not r.holds and "shuffling inside the windows changed the output" in r.message


def test_without_a_trained_model_every_claim_is_skipped():
    from cnnspec.claims import select

    results = [c.run() for c in select(groups=["training"])]
    assert len(results) == 5 and all(r.status == "skipped" for r in results)
