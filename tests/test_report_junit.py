"""``junit.xml`` (``cnnspec.report.junit``) as CI tools read it: dotted classnames, real times, and
a warning as a passed case that says what it warns about."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from cnnspec.report import junit
from cnnspec.report.schema import build_report, finalize
from tests.test_report import make_failing_report

DOTTED = re.compile(r"^cnnspec(\.[A-Za-z0-9_]+)+$")


def _cases(report: dict) -> dict[str, ET.Element]:
    root = ET.fromstring(junit.render(report).split("\n", 1)[1])
    return {c.get("name"): c for c in root.iter("testcase")}


def test_classnames_are_dotted_names_without_spaces_colons_or_brackets():
    assert junit.name_part("torch.nn.functional:conv1d [conv1d, cpu, float32]") == \
        "torch.nn.functional.conv1d_conv1d_cpu_float32"
    assert junit.name_part("mypkg/ops.py:conv2d [conv2d, cuda, float16]") == "mypkg.ops.conv2d_conv2d_cuda_float16"
    assert junit.name_part("lenet5 (lenet5-quick)") == "lenet5_lenet5_quick"
    rep = make_failing_report()
    for c in rep["claims"]:
        if c.get("subject"):
            c["subject"] = "torch.nn.functional:conv1d [conv1d, cpu, float32]"
    cases = _cases(rep)
    assert all(DOTTED.match(c.get("classname")) for c in cases.values()), [c.get("classname") for c in cases.values()]
    assert cases["op.conv1d.cross-correlation"].get("classname") == \
        "cnnspec.conformance.torch.nn.functional.conv1d_conv1d_cpu_float32"


def test_a_warning_is_a_passed_case_with_a_property_and_the_warning_in_system_out():
    case = _cases(make_failing_report())["op.conv1d.invalid"]
    assert [el.tag for el in case] == ["properties", "system-out"]          # no failure, error or skipped
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["cnnspec.status"] == "warn" and "accepts stride=0" in props["cnnspec.warning"]
    assert case.find("system-out").text.startswith("WARNING: accepts stride=0")


def test_times_are_the_claims_and_a_stage_is_their_sum_or_its_measured_time():
    rep = make_failing_report()
    for i, c in enumerate(rep["claims"]):
        c["seconds"] = 1.25 * (i + 1)
    root = ET.fromstring(junit.render(rep).split("\n", 1)[1])
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    conf = [c for c in rep["claims"] if c.get("stage") == "conformance"]
    assert suites["conformance"].get("time") == f"{sum(c['seconds'] for c in conf):.3f}"
    assert [case.get("time") for case in suites["conformance"].iter("testcase")] == \
        [f"{c['seconds']:.3f}" for c in conf]
    # A training stage spends its 191 s outside any one claim: the suite reports the stage's time.
    train = build_report("verify", [], stages=[{"name": "training", "status": "ran", "seconds": 191.0}])
    train["claims"] = [{"id": "training.target_accuracy", "status": "pass", "stage": "training", "seconds": 0.0}]
    root = ET.fromstring(junit.render(finalize(train)).split("\n", 1)[1])
    assert root.find("testsuite").get("time") == "191.000"


def test_an_unreadable_status_is_an_error_never_a_pass():
    rep = build_report("prove", [])
    rep["claims"] = [{"id": "c", "status": "FAIL", "message": "m"}]
    case = _cases(rep)["c"]
    assert case.find("error") is not None
