"""cnnspec.networks.model (and ``cnnspec validate --model``, commands/validate.py) — validating a whole model against a spec.

Each deliberately altered model (tests/altered_models.py) must be reported with the layer at fault;
each reference model must pass; bad targets are one-line usage errors (exit 2).
"""
import argparse
import json
import sys
from pathlib import Path

import pytest
import torch

from cnnspec.commands.validate import run_model as validate_model_command
from cnnspec.networks.model import applicable, intra_op_threads, validate_model
from cnnspec.spec import architectures as A
from cnnspec.errors import UsageError
from cnnspec.reference.models import build

HERE = Path(__file__).parent
ALTERED = str(HERE / "altered_models.py")
sys.path.insert(0, str(HERE))
import altered_models as M  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    with intra_op_threads(1):  # small batches on 2 shared cores
        yield


def _by_id(results):
    return {r.id: r for r in results}


@pytest.mark.parametrize("name,spec", [("lenet5", "lenet5"), ("lenet5-1998", "lenet5-1998"),
                                       ("resnet20", "resnet20"), ("resnet20-B", "resnet20-B"),
                                       ("plain20", "plain20"), ("resnet18", "resnet18")])
def test_reference_models_conform(name, spec):
    results = validate_model(lambda: build(name), spec)
    assert [r.id.split(".", 1)[1] for r in results] == list(applicable(A.get(spec)))
    assert ("model.residual_identity" in {r.id for r in results}) == bool(A.get(spec).blocks)
    assert all(r.status in ("pass", "skipped") for r in results), [(r.id, r.message) for r in results]
    assert all(r.evidence for r in results if r.status == "pass")


def test_lenet5_for_28x28_conforms_to_the_padded_spec():
    results = validate_model(lambda: build("lenet5", input_size=28), "lenet5-28")
    assert all(r.status in ("pass", "skipped") for r in results)


# (factory, spec, claim that must fail, fragments its message must contain)
ALTERATIONS = [
    (M.resnet20_conv_bias, "resnet20", "model.params", ["conv1 has 448 parameters", "bias before batch norm"]),
    (M.resnet20_no_relu_after_add, "resnet20", "model.residual_identity",
     ["layer1.0", "ReLU after the addition is missing"]),
    (M.resnet50_stride_on_1x1, "resnet50", "model.geometry",
     ["layer2.0.conv1 has stride 2", "stride on conv2 (torchvision's v1.5"]),
    (M.resnet20_option_b, "resnet20", "model.params", ["layer2.0.downsample.0", "option-A shortcut"]),
    (M.resnet20_option_b, "resnet20", "model.residual_identity", ["layer2.0", "not option A"]),
    (M.lenet5_28_nopad, "lenet5-28", "model.shapes", ["C1 outputs 6x24x24", "6x28x28", "padding 2"]),
    (M.lenet5_28_nopad, "lenet5-28", "model.params", ["C5 has 30,840 parameters", "400 features"]),
    (M.lenet5_1998_full_c3, "lenet5-1998", "model.params", ["C3 has 2,416 parameters", "Table I"]),
]
_CHECK = {"model.params": ["params"], "model.geometry": ["geometry", "shapes", "macs"],
          "model.residual_identity": ["residual_identity"], "model.shapes": ["shapes"]}


@pytest.mark.parametrize("factory,spec,cid,fragments", ALTERATIONS,
                         ids=[f"{a[0].__name__}-{a[2]}" for a in ALTERATIONS])
def test_altered_model_is_reported_with_the_layer_at_fault(factory, spec, cid, fragments):
    res = _by_id(validate_model(factory, spec, checks=_CHECK[cid]))[cid]
    assert res.status == "fail", res.message
    for f in fragments:
        assert f in res.message, res.message
    assert res.counterexample and res.counterexample["args"]["layer"]


def test_stride_on_wrong_conv_also_changes_shapes_and_macs():
    res = _by_id(validate_model(M.resnet50_stride_on_1x1, "resnet50", checks=["shapes", "macs"]))
    assert "layer2.0.conv1 outputs 128x28x28" in res["model.shapes"].message
    assert res["model.macs"].counterexample["expected"] == [102_760_448]


def _args(model, spec="resnet20", report=None):
    return argparse.Namespace(model=model, spec=spec, report=report, device="cpu", seed=0, timeout=None)


def test_command_passes_and_writes_the_report(tmp_path, capsys):
    rc = validate_model_command(_args("cnnspec.reference.lenet:LeNet5", "lenet5", report=str(tmp_path)))
    out = capsys.readouterr().out
    assert rc == 0 and "pass" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html", "junit.xml", "report.json", "summary.md"]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["kind"] == "validate-model" and report["verdict"] == "pass"
    assert report["target"] == "cnnspec.reference.lenet:LeNet5" and report["spec"] == "lenet5"
    assert {c["id"] for c in report["claims"]} >= {"model.params", "model.shapes", "model.macs"}
    assert report["environment"]["seed"] == 0


def test_command_fails_with_exit_1_and_names_the_layer(tmp_path, capsys):
    rc = validate_model_command(_args(f"{ALTERED}:resnet20_conv_bias", report=str(tmp_path)))
    assert rc == 1
    assert "conv1 has 448 parameters" in capsys.readouterr().out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["verdict"] == "fail"


@pytest.mark.parametrize("target,spec,fragment", [
    ("cnnspec.reference.lenet:LeNet5", "lenet6", "known: lenet5"),
    (f"{ALTERED}:raises", "resnet20", "raised RuntimeError: weights file not found"),
    (f"{ALTERED}:not_a_module", "resnet20", "returned a dict, not a torch.nn.Module"),
    (f"{ALTERED}:NOT_CALLABLE", "resnet20", "not a callable"),
    (f"{ALTERED}:missing", "resnet20", "has no attribute 'missing'"),
    ("no/such/file.py:f", "resnet20", "does not exist"),
    ("no_such_module_xyz:f", "resnet20", "importing 'no_such_module_xyz' failed"),
    ("cnnspec.reference.lenet.LeNet5", "lenet5", "not 'package.module:factory'"),
])
def test_bad_targets_are_one_line_usage_errors(target, spec, fragment):
    with pytest.raises(UsageError) as e:
        validate_model_command(_args(target, spec))
    assert fragment in str(e.value), str(e.value)
    assert str(e.value).startswith(("--model: ", "--spec: ")), str(e.value)
    assert "\n" not in str(e.value)
    assert e.value.exit_code == 2


def test_cuda_without_a_gpu_is_a_usage_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    args = _args("cnnspec.reference.lenet:LeNet5", "lenet5")
    args.device = "cuda"
    with pytest.raises(UsageError, match="cuda"):
        validate_model_command(args)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet50", "resnet50-v1", "resnet101", "resnet152"])
def test_imagenet_reference_models_conform(name):
    results = validate_model(lambda: build(name), name)
    assert all(r.status in ("pass", "skipped") for r in results), [(r.id, r.message) for r in results]


def test_timeout_stops_a_hanging_forward(capsys):
    args = _args(f"{ALTERED}:hangs", "lenet5")
    args.timeout = 0.3
    assert validate_model_command(args) == 1      # a defect of the model: a failing check, exit 1
    out = capsys.readouterr().out
    assert "FAIL    model.shapes" in out and "ran longer than its limit of 0.3 s" in out


def test_missing_spec_with_model_is_a_usage_error():
    with pytest.raises(UsageError, match="give --spec NAME"):
        validate_model_command(_args("cnnspec.reference.lenet:LeNet5", None))


def test_independent_model_with_other_names_conforms_in_order():
    results = _by_id(validate_model(M.OtherResNet20, "resnet20"))
    assert all(r.status == "pass" for r in results.values()), [(r.id, r.message) for r in results.values()]
    assert "paired in order" in results["model.params"].message


def test_residual_model_is_not_a_plain_one():
    res = _by_id(validate_model(M.OtherResNet20, "plain20", checks=["residual_identity"]))["model.residual_identity"]
    assert res.status == "fail" and "plain block outputs non-zero values" in res.message


@pytest.mark.parametrize("target,spec,layer", [
    (f"{ALTERED}:lenet5_28_nopad", "lenet5", "C5"),               # built for 28x28: 256 features, not 400
    ("cnnspec.reference.lenet:LeNet5", "resnet18", "C1"),           # 1-channel model, 3-channel spec
])
def test_a_forward_that_fails_at_the_spec_input_is_a_failing_check(target, spec, layer, tmp_path, capsys):
    """The model is defective against the spec: exit 1 with the report, not a usage error; the
    checks that need no forward still report (C5's 256 inputs against the spec's 400)."""
    rc = validate_model_command(_args(target, spec, report=str(tmp_path)))
    out = capsys.readouterr().out
    assert rc == 1, out
    report = json.loads((tmp_path / "report.json").read_text())
    by_id = {c["id"]: c for c in report["claims"]}
    assert by_id["model.shapes"]["status"] == "fail" and f"fails at {layer}" in by_id["model.shapes"]["message"]
    assert by_id["model.params"]["status"] in ("pass", "fail") and by_id["model.params"]["message"]
    if spec == "lenet5":
        assert "C5 has 30,840 parameters" in by_id["model.params"]["message"]
        assert "model.residual_identity" not in by_id   # LeNet-5 has no residual blocks: not listed
