"""cnnspec.spec.architectures — layer tables of LeNet-5 and the ResNets against the papers.

Every published figure (with its citation in the spec) must be reproduced by the spec's arithmetic;
a wrong figure or a wrong table must be caught.
"""
from dataclasses import replace

import pytest

from cnnspec.claims import load_all, run_claim, select
from cnnspec.spec import architectures as A
from cnnspec.spec.arch_claims import compare_published
from cnnspec.spec.convolution import SpecError

REGISTRY = load_all()

PUBLISHED = [(name, p) for name in A.SPECS for p in A.get(name).published]


@pytest.mark.parametrize("name,pub", PUBLISHED, ids=[f"{n}-{p.layer or 'net'}-{p.quantity}-{p.value}"
                                                     for n, p in PUBLISHED])
def test_derived_equals_published(name, pub):
    derived = A.get(name).total(pub.quantity, pub.layer)
    assert pub.matches(derived), f"{name} {pub.layer} {pub.quantity}: {derived} vs {pub.value} ({pub.source})"
    assert pub.source  # every figure carries its citation


def test_every_network_of_the_issue_has_its_published_figures():
    quantities = {(n, p.quantity) for n, p in PUBLISHED}
    for d in (18, 34, 50, 101, 152):
        assert (f"resnet{d}", "params") in quantities
        assert (f"resnet{d}", "macs") in quantities
    for d in (50, 101, 152):
        assert (f"resnet{d}-v1", "macs") in quantities  # Table 1 is the paper's layout
    for d in (20, 32, 44, 56, 110, 1202):
        assert (f"resnet{d}", "params") in quantities
    assert ("lenet5-1998", "connections") in quantities


def test_lenet5_lecture_table_by_hand():
    # 32 -5+1 = 28, /2 = 14, -5+1 = 10, /2 = 5; receptive fields 5, 6, 14, 16 (jumps 1, 2, 2, 4)
    a = A.get("lenet5")
    assert [r.out_shape for r in a.layers] == [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5),
                                               (120,), (84,), (10,)]
    assert [(r.rf, r.jump) for r in a.layers[:4]] == [(5, 1), (6, 2), (14, 2), (16, 4)]
    assert [(r.weights, r.biases) for r in a.param_layers()] == [
        (150, 6), (2400, 16), (400 * 120, 120), (120 * 84, 84), (84 * 10, 10)]
    assert a.params == 61_706


def test_lenet5_28_without_padding_is_the_44426_pitfall():
    nopad = A.get("lenet5-28-nopad")
    assert nopad.layer("C5").in_shape == (16, 4, 4)
    assert nopad.params == 44_426
    assert A.get("lenet5-28").layer("C5").in_shape == (16, 5, 5)


def test_lenet5_1998_c3_table_is_what_gives_1516():
    a = A.get("lenet5-1998")
    assert a.layer("C3").params == 1_516 and a.layer("C3").connections == 151_600
    # a fully connected C3 (every S2 map) is the 2,416 / 240,000 of a dense conv: caught
    dense = A._Net(A._State((6, 14, 14)))
    row = dense.sparse_conv("C3", tuple(tuple(range(6)) for _ in range(16)), 5)
    assert (row.params, row.connections) == (2_416, 241_600)
    pub = next(p for p in a.published if p.layer == "C3" and p.quantity == "params")
    assert not pub.matches(row.params)


def test_resnet50_stage_shapes_and_layouts():
    a, v1 = A.get("resnet50"), A.get("resnet50-v1")
    ends = {s: [r for r in a.layers if r.name.startswith(s + ".")][-1].out_shape for s in a.stages}
    assert ends == {"layer1": (256, 56, 56), "layer2": (512, 28, 28), "layer3": (1024, 14, 14),
                    "layer4": (2048, 7, 7)}
    assert a.layer("layer2.0.conv2").stride == 2 and a.layer("layer2.0.conv1").stride == 1
    assert v1.layer("layer2.0.conv1").stride == 2 and v1.layer("layer2.0.conv2").stride == 1
    assert a.params == v1.params and a.macs - v1.macs == 231_211_008


def test_macs_convention_counts_convs_and_fcs_only():
    a = A.get("resnet18")
    by_kind = {r.kind: 0 for r in a.layers}
    for r in a.layers:
        by_kind[r.kind] += r.macs
    assert by_kind["bn"] == by_kind["add"] == by_kind["maxpool"] == by_kind["gap"] == 0
    assert by_kind["fc"] == 512 * 1000
    assert a.layer("conv1").macs == 112 * 112 * 64 * 3 * 7 * 7


def test_published_rounding_rules():
    p = A.Published("macs", "3.8", "t", scale=10**9)
    assert p.matches(3_750_000_000) and p.matches(3_849_999_999) and not p.matches(3_857_973_248)
    q = replace(p, rule="either")
    assert q.matches(3_857_973_248) and not q.matches(3_900_000_000) and not q.matches(3_700_000_000)
    assert A.Published("params", "0.27", "t", scale=10**6).matches(269_722)
    assert not A.Published("params", "61706", "t").matches(61_707)


def test_a_wrong_published_figure_fails_the_claim(monkeypatch):
    arch = A.get("lenet5")
    wrong = replace(arch, published=(A.Published("params", "61707", "a wrong table"),))
    monkeypatch.setitem(A._CACHE, "lenet5", wrong)
    out = compare_published("lenet5", "params")
    assert not out.holds and "61,706" in out.message and "61707" in out.message
    assert out.counterexample["got"] == [61_706]


def test_every_arch_claim_holds():
    claims = select(groups=["arch"])
    assert len(claims) >= 30
    results = [run_claim(c) for c in claims]
    bad = [(r.id, r.message) for r in results if r.status != "pass"]
    assert not bad
    assert all(r.evidence for r in results)


def test_arch_claims_are_registered_with_sources():
    for cid in ("arch.lenet5.params", "arch.resnet50.macs", "arch.resnet50-v1.macs",
                "arch.lenet5-1998.connections", "residual.jacobian"):
        assert REGISTRY[cid].source and REGISTRY[cid].group == "arch"


@pytest.mark.parametrize("call,fragment", [
    (lambda: A.get("resnet51"), "known: lenet5"),
    (lambda: A.cifar_resnet(21), "6n+2"),
    (lambda: A.cifar_resnet(20, shortcut="C"), "'A', 'B' or 'none'"),
    (lambda: A.imagenet_resnet(51), "one of"),
    (lambda: A.imagenet_resnet(50, stride_on="5x5"), "'1x1'"),
    (lambda: A.lenet5(8, c1_padding=0), "larger than the padded input"),
])
def test_bad_input_is_a_one_line_spec_error(call, fragment):
    with pytest.raises(SpecError) as e:
        call()
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_residual_addition_needs_equal_shapes():
    net = A._Net(A._State((16, 8, 8)))

    def branch(n):
        n.conv("b.conv1", 32, 3, 1, 1, bias=False)
        n.bn("b.bn1")
        return "b.bn1"
    with pytest.raises(SpecError, match="equal shapes"):
        net.residual_block("b", branch, 16, 1, "B", "basic")  # branch gives 32 channels, shortcut 16


def test_table1_figures_say_how_they_were_printed():
    how = {d: next(p for p in A.get(n).published if p.source.startswith("He et al. 2016, Table 1")).how(A.get(n).macs)
           for d, n in ((18, "resnet18"), (34, "resnet34"), (50, "resnet50-v1"), (101, "resnet101-v1"),
                        (152, "resnet152-v1"))}
    # 1.814 -> 1.8, 3.664 -> 3.6 (truncated), 3.858 -> 3.8 (truncated), 7.570 -> 7.6, 11.282 -> 11.3
    assert how == {18: "rounded", 34: "truncated", 50: "truncated", 101: "rounded", 152: "rounded"}


def test_spec_modules_do_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, cnnspec.spec.architectures, cnnspec.spec.residual, cnnspec.spec.arch_claims; "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
