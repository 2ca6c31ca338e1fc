"""reference/ — LeNet-5 and ResNets as nn.Modules, checked against their specs layer by layer."""
import pytest
import torch
import torch.nn.functional as F

from cnnspec.networks.model import (ModelContext, Trace, check_geometry, check_params, intra_op_threads,
                                       pair_layers)
from cnnspec.spec import architectures as A
from cnnspec.reference.lenet import C3_TABLE, LeNet5, LeNet5_1998, ScaledTanh, Subsampling
from cnnspec.reference.models import MODELS, build


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    with intra_op_threads(1):  # small batches on 2 shared cores
        yield


def _meta(name, **kw):
    with torch.device("cpu" if name.startswith("lenet") else "meta"):
        return build(name, **kw)


@pytest.mark.parametrize("name", [n for n in MODELS if "1202" not in n])
def test_model_parameters_match_spec_layer_by_layer(name):
    model, arch = _meta(name), A.get(name)
    ctx = ModelContext(model, arch, pair_layers(model, arch), Trace())
    out = check_params(ctx)
    assert out.holds, out.message
    assert sum(p.numel() for p in model.parameters()) == arch.params
    geometry = check_geometry(ctx)  # kernel, stride, padding of every conv, without a forward pass
    assert geometry.holds and geometry.examples > 0, geometry.message


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet1202", "resnet1202-B"])
def test_resnet1202_parameters(name):
    test_model_parameters_match_spec_layer_by_layer(name)


def test_torchvision_counts_exactly():
    expect = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
              "resnet101": 44_549_160, "resnet152": 60_192_808}
    for name, n in expect.items():
        assert sum(p.numel() for p in _meta(name).parameters()) == n


def test_lenet_layer_names_read_like_the_paper():
    assert [n for n, _ in LeNet5().named_children()][:7] == ["C1", "S2", "C3", "S4", "C5", "F6", "OUTPUT"]
    assert [n for n, _ in LeNet5_1998().named_children()][:7] == ["C1", "S2", "C3", "S4", "C5", "F6", "OUTPUT"]


@pytest.mark.parametrize("name,kw,shape", [
    ("lenet5", {}, (2, 1, 32, 32)), ("lenet5", {"input_size": 28}, (2, 1, 28, 28)),
    ("lenet5-1998", {"input_size": 28}, (2, 1, 28, 28)),
    ("resnet20", {"in_channels": 1}, (2, 1, 28, 28)), ("resnet20", {"in_channels": 1}, (2, 1, 32, 32)),
    ("plain20", {}, (2, 3, 32, 32)), ("resnet18", {"in_channels": 1, "num_classes": 10}, (1, 1, 32, 32)),
])
def test_forward_shapes_for_the_trainer(name, kw, shape):
    model = build(name, **kw).eval()
    with torch.no_grad():
        assert model(torch.randn(*shape)).shape == (shape[0], kw.get("num_classes", 10))


def test_channels_last_convs_agree_within_the_rounding_bound():
    # The two layouts sum in different orders, so they need not agree bit for bit; each result is
    # within Higham's bound γ_{K+2}·(Σ|x||w| + |b|) of the exact one, so they differ by at most twice
    # that (cnnspec.oracle.error_bound), on the very inputs every conv of ResNet-20 sees.
    from cnnspec.oracle import error_bound

    torch.manual_seed(0)
    model = build("resnet20").eval()
    seen = {}
    hooks = [m.register_forward_pre_hook(lambda mod, inp, n=n: seen.__setitem__(n, inp[0].clone()))
             for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        model(torch.randn(2, 3, 32, 32))
    for h in hooks:
        h.remove()
    assert len(seen) == 19
    for name, x in seen.items():
        conv = model.get_submodule(name)
        w = conv.weight.detach()
        b = None if conv.bias is None else conv.bias.detach()
        with torch.no_grad():
            nchw = F.conv2d(x, w, b, conv.stride, conv.padding)
            nhwc = F.conv2d(x.contiguous(memory_format=torch.channels_last),
                            w.contiguous(memory_format=torch.channels_last), b, conv.stride, conv.padding)
        assert nhwc.is_contiguous(memory_format=torch.channels_last)
        bound = error_bound(x.numpy(), w.numpy(), None if b is None else b.numpy(), dtype="float32",
                            stride=conv.stride, padding=conv.padding)
        diff = (nchw - nhwc).abs().double().numpy()
        assert (diff <= 2 * bound).all(), (name, float((diff / (2 * bound + 1e-300)).max()))


def _lenet5_lecture_order(m: LeNet5, x: torch.Tensor) -> torch.Tensor:
    """The lecture's conv -> ReLU -> pool, written out (LeNet5.forward pools first)."""
    x = m.S2(F.relu(m.C1(x)))
    x = m.S4(F.relu(m.C3(x)))
    x = F.relu(m.F6(F.relu(m.C5(torch.flatten(x, 1)))))
    return m.OUTPUT(x)


@pytest.mark.parametrize("channels_last", [False, True])
def test_lenet5_pool_before_relu_is_bit_identical_to_the_lecture_order(channels_last):
    # max(relu(a), relu(b)) = relu(max(a, b)): same logits and same gradients, bit for bit, also
    # where windows tie (a constant background gives equal C1 outputs) and where all are negative.
    torch.manual_seed(0)
    m = build("lenet5", channels_last=channels_last)
    x = torch.randn(16, 1, 32, 32)
    x[:8, :, :12] = -0.8  # flat background rows: ties inside the pooling windows
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (16,))
    grads = []
    for f in (m, lambda t: _lenet5_lecture_order(m, t)):
        m.zero_grad(set_to_none=True)
        out = f(x)
        F.cross_entropy(out, y).backward()
        grads.append((out.detach(), [p.grad.clone() for p in m.parameters()]))
    (a, ga), (b, gb) = grads
    assert torch.equal(a, b)
    assert all(torch.equal(u, v) for u, v in zip(ga, gb))


def test_unknown_model_name_lists_the_known():
    with pytest.raises(KeyError, match="resnet20"):
        build("resnet21")


def test_lenet1998_c3_is_table_one():
    c3 = LeNet5_1998().C3
    dense = c3.dense_weight()
    connected = (dense.abs().sum((2, 3)) > 0).tolist()
    assert connected == [[i in C3_TABLE[j] for i in range(6)] for j in range(16)]
    assert c3.weight.numel() + c3.bias.numel() == 1_516


def test_lenet1998_output_is_negated_rbf_distance_to_fixed_prototypes():
    model = LeNet5_1998().eval()
    protos = model.OUTPUT.prototypes
    assert set(protos.unique().tolist()) == {-1.0, 1.0} and protos.shape == (10, 84)
    assert not any(p is protos for p in model.parameters())
    assert torch.equal(protos, LeNet5_1998().OUTPUT.prototypes)  # fixed, the same in every model
    x = torch.randn(3, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), -model.distances(x))
        d = model.distances(x)
    assert (d >= 0).all()


def test_scaled_tanh_and_subsampling_follow_the_paper():
    f = ScaledTanh()
    assert torch.allclose(f(torch.tensor([1.0])), torch.tensor([1.7159 * torch.tanh(torch.tensor(2 / 3)).item()]))
    s = Subsampling(3)
    with torch.no_grad():
        s.weight.copy_(torch.tensor([0.5, 2.0, -1.0]))
        s.bias.copy_(torch.tensor([1.0, 0.0, 0.25]))
    x = torch.randint(-4, 5, (2, 3, 6, 6)).float()
    expected = 4 * F.avg_pool2d(x, 2) * s.weight.view(1, 3, 1, 1) + s.bias.view(1, 3, 1, 1)
    assert torch.equal(s(x), expected)  # small integers: exact


def test_convs_before_batch_norm_have_no_bias():
    model = build("resnet20")
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(m.bias is None for m in convs)


@pytest.mark.parametrize("name", ["resnet20", "plain56", "resnet50", "resnet50-v1"])
def test_resnets_follow_the_lecture_rules(name):
    """3x3 (or bottleneck 1x1) convs, each followed by batch norm; no dropout; one FC at the end."""
    model = _meta(name)
    mods = [m for m in model.modules() if not list(m.children())]
    assert not any(isinstance(m, torch.nn.Dropout) for m in mods)
    params = [m for m in mods if any(True for _ in m.parameters(recurse=False))]
    kinds = [type(m).__name__ for m in params]
    assert kinds[-1] == "Linear" and kinds.count("Linear") == 1
    assert all(kinds[i + 1] == "BatchNorm2d" for i, k in enumerate(kinds) if k == "Conv2d")
    assert {m.kernel_size for m in params if isinstance(m, torch.nn.Conv2d)} <= {(3, 3), (1, 1), (7, 7)}
