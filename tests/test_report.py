"""Reports in every form: report.json, index.html, junit.xml, summary.md, ``cnnspec report``.

The failing results here are real: :func:`flipped_conv1d` is a deliberately wrong target (it computes
true convolution where the calling convention says cross-correlation) and a claim checks it against
the spec's exact convolution matrix, finds the counterexample and reports it like any other claim.
The schema, the folder swap, JUnit and the page have modules of their own (``test_report_*.py``).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from cnnspec.claims import Claim, ClaimResult, Outcome, run_claim
from cnnspec.cli import main
from cnnspec.report import figures, html, junit, markdown, plots
from cnnspec.report.output import FILES, load_report, merge_reports, write_report_dir
from cnnspec.report.schema import build_report, dumps, environment, finalize, validate, without_times
from cnnspec.spec.convolution import ConvSpec
from cnnspec.spec.toeplitz import ConvMatrix

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
EVIL = "<img src=x onerror=\"document.title='pwned'\">|a|b|\x07"
BAD_TARGET = "tests/test_report.py:flipped_conv1d"


def flipped_conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """A deliberately wrong ``conv1d`` (NumPy, NCL): right in every respect but one, it flips the
    kernel (true convolution, where ``torch.nn.functional.conv1d`` computes cross-correlation)."""
    one = lambda v: int(v[0]) if isinstance(v, (tuple, list)) else int(v)  # noqa: E731
    s, p, d = one(stride), one(padding), one(dilation)
    x, weight = np.asarray(x), np.asarray(weight)[:, :, ::-1]
    x = np.pad(x, ((0, 0), (0, 0), (p, p)))
    n, c_in, L = x.shape
    c_out, cpg, k = weight.shape
    m = (L - d * (k - 1) - 1) // s + 1
    taps = np.arange(m)[:, None] * s + np.arange(k)[None, :] * d          # (m, k) input positions
    out = np.zeros((n, c_out, m), dtype=np.result_type(x, weight))
    opg = c_out // groups
    for g in range(groups):
        win = x[:, g * cpg:(g + 1) * cpg][:, :, taps]                       # (n, cpg, m, k)
        out[:, g * opg:(g + 1) * opg] = np.einsum("ncmk,ock->nom", win, weight[g * opg:(g + 1) * opg])
    return out if bias is None else out + np.asarray(bias)[None, :, None]


def check_flipped_conv1d(examples: int = 20, seed: int = 0) -> Outcome:
    """Small-integer data (exact in float64) against ``T(w)·u``; the first mismatch is the counterexample."""
    rng = np.random.default_rng(seed)
    for i in range(examples):
        L, k = int(rng.integers(3, 8)), int(rng.integers(1, 4))
        u, w = rng.integers(-3, 4, size=L), rng.integers(-3, 4, size=k)
        expected = ConvMatrix(ConvSpec.make(L, k)).apply(w, u).astype(int)
        got = flipped_conv1d(u[None, None].astype(float), w[None, None].astype(float))[0, 0]
        if not np.array_equal(expected, got):
            return Outcome(False, f"output: {got.tolist()}, but should be {expected.tolist()} "
                                  f"[{BAD_TARGET}(x, weight), example {i}] {EVIL}",
                           examples=i + 1, evidence={"L": L, "k": k},
                           counterexample={"args": {"x": [[u.tolist()]], "weight": [[w.tolist()]]},
                                           "expected": expected.tolist(), "got": got.tolist(),
                                           "reproduce": f"cnnspec validate {BAD_TARGET} --op conv1d "
                                                        f"--array numpy --seed {seed}"})
    return Outcome(True, f"{examples} examples agree", examples=examples)


FLIP_CLAIM = Claim("op.conv1d.cross-correlation", "conv1d computes cross-correlation: s_t = Σ_j u_{t+j} w_j",
                   "PyTorch docs, torch.nn.functional.conv1d; PyTorch docs, torch.nn.functional.conv1d",
                   "exact", check_flipped_conv1d, group="conformance")
WARN_CLAIM = Claim("op.conv1d.invalid", "arguments the mathematics leaves undefined are refused",
                   "PyTorch docs, torch.nn.functional.conv1d", "exact",
                   lambda: Outcome(True, "accepts stride=0, which torch.nn.functional.conv1d rejects", warn=True,
                                   examples=6), group="conformance")


def _raises() -> Outcome:
    raise ZeroDivisionError("a broken check")


def failing_report_parts() -> tuple[list[dict], list[dict]]:
    """Report entries of one failing and one erroring claim, with the target card they belong to."""
    subject = f"{BAD_TARGET} [conv1d, cpu, float64] {EVIL}"
    res = [run_claim(FLIP_CLAIM),
           run_claim(Claim("op.conv1d.broken", "a check that raises", "here", "property", _raises, "conformance")),
           run_claim(WARN_CLAIM)]
    claims = [{**r.to_json(), "stage": "conformance", "subject": subject} for r in res]
    target = {"subject": subject, "target": BAD_TARGET, "op": "conv1d", "array": "numpy", "device": "cpu",
              "reproduce": res[0].counterexample["reproduce"]}
    return claims, [target]


def _passing() -> list[ClaimResult]:
    ok = Claim("conv.size.lenet-c1", "a 5×5 kernel on a 32×32 input gives 28×28", "LeCun et al. 1998, §II.B",
               "exact", lambda: Outcome(ConvSpec.make((32, 32), (5, 5)).output_size == (28, 28), "28×28"))
    return [run_claim(ok)]


def make_failing_report() -> dict:
    """A verify report: one passing spec claim, and a target with a failing, an erroring and a
    warning claim; verdict and summary computed from them."""
    claims, targets = failing_report_parts()
    rep = build_report("verify", _passing(), env=environment(seed=0), targets=targets, artifacts=[])
    rep["claims"] += claims
    return finalize(rep)


@pytest.fixture()
def failing_report():
    return make_failing_report()


def test_the_flipped_kernel_is_caught_with_a_counterexample():
    r = run_claim(FLIP_CLAIM)
    assert r.status == "fail"
    cx = r.counterexample
    assert cx["expected"] != cx["got"]
    u, w = np.array(cx["args"]["x"][0][0]), np.array(cx["args"]["weight"][0][0])
    assert np.correlate(u, w, "valid").tolist() == cx["expected"]   # numpy agrees with the spec
    assert np.convolve(u, w, "valid").tolist() == cx["got"]         # and the target convolved


def test_a_warning_holds_and_passes_unless_strict():
    r = run_claim(WARN_CLAIM)
    assert r.status == "warn" and "stride=0" in r.message
    rep = build_report("validate-op", [r], target="t", op="conv1d")
    assert rep["verdict"] == "pass" and rep["summary"]["warn"] == 1 and rep["summary"]["exit_code"] == 0
    strict = build_report("validate-op", [r], target="t", op="conv1d", strict=True)
    assert strict["verdict"] == "fail" and strict["summary"]["exit_code"] == 1


def test_failing_claim_shows_in_every_form(failing_report, tmp_path):
    paths = write_report_dir(failing_report, tmp_path)
    assert set(paths) == set(FILES)
    page = (tmp_path / "index.html").read_text()
    panel = page[page.index('<article class="panel fail"'):]
    panel = panel[:panel.index("</article>")]
    assert "expected" in panel and "got" in panel and 'class="bad"' in panel      # aligned arrays, marked
    assert (f"cnnspec validate {BAD_TARGET} --op conv1d --array numpy --seed 0 "
            f"--claims op.conv1d.cross-correlation") in panel
    assert 'class="panel error"' in page and "ZeroDivisionError" in page
    assert '<article class="panel warn"' in page and "accepts stride=0" in page
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    cases = suite.findall(".//testcase")
    assert len(cases) == len(failing_report["claims"]) == 4
    assert len(suite.findall(".//failure")) == 1 and len(suite.findall(".//error")) == 1
    assert "reproduce: cnnspec validate" in suite.find(".//failure").text
    md = (tmp_path / "summary.md").read_text()
    assert "**FAIL**" in md and "### Failing claims" in md and "### Warnings" in md
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["verdict"] == "fail"
    assert {k: saved["summary"][k] for k in ("pass", "fail", "warn", "error", "skipped", "exit_code")} == \
        {"pass": 1, "fail": 1, "warn": 1, "error": 1, "skipped": 0, "exit_code": 1}
    validate(saved)


def test_text_from_a_target_is_escaped_everywhere(failing_report):
    page = html.render(failing_report)
    assert "<img" not in page and "onerror=\"" not in page
    assert "&lt;img src=x onerror=&#34;document.title=&#39;pwned&#39;&#34;&gt;" in page and "\x07" not in page
    for svg in re.findall(r"<svg.*?</svg>", page, flags=re.S):
        ET.fromstring(svg)
    ET.fromstring(junit.render(failing_report).split("\n", 1)[1])   # the bell character was replaced
    md = markdown.render(failing_report)
    rows = [l for l in md.splitlines() if l.startswith("| FAIL") or l.startswith("| ERROR")]
    assert len(rows) == 2 and "\x07" not in md
    assert all(len(re.findall(r"(?<!\\)\|", r)) == 6 for r in rows)    # 5 cells: target pipes escaped


def test_figures_escape_labels_and_are_well_formed_svg():
    drawn = [figures.heatmap([[1, None], [3, 4]], title=EVIL, row_labels=["<a>", "b"], col_labels=["&", "x"]),
             figures.heatmap([[0, 1]], title="cat", scale="cat", legend=[(0, "<w0>"), (1, "w1")]),
             figures.heatmap([[float("nan"), 1.0]], title="nan cell"),
             figures.panels([{"title": "<u>", "values": [[1, -1]], "note": EVIL}], title="p"),
             figures.layered_graph([{"name": "<in>", "size": 2}, {"name": "out", "size": 1,
                                                                   "edges": [[0, 0], [1, 0]], "highlight": [0]}],
                                   title="g")]
    plotted = [plots.line_chart([{"label": EVIL, "x": [1], "y": [0.5]}], title="one point", hline=(0.9, "90%")),
               plots.line_chart([{"label": "a", "x": [1, 2, 3, 4], "y": [3.0, None, float("nan"), 1.0]},
                                 {"label": "b", "x": [1, 2], "y": [float("inf"), 2.0]}], title="gap"),
               plots.confusion([[5, 1], [0, 7]], ["<T-shirt>", "Trouser"], title="cm")]
    for svg in drawn:
        assert "nan" not in svg.lower().replace("nan cell", "") and "inf" not in svg
        root = ET.fromstring(svg)
        assert float(root.get("width")) > 0 and float(root.get("height")) > 0
    for svg in drawn + plotted:
        ET.fromstring(svg)
        assert "<a>" not in svg and "<img" not in svg and "<u>" not in svg and "<T-shirt>" not in svg
    assert "&lt;T-shirt&gt;" in plotted[2]


def test_a_bad_artifact_is_reported_on_the_page_not_raised():
    rep = build_report("verify", _passing(), artifacts=[{"id": "broken", "section": "lenet", "type": "curves"}])
    page = html.render(rep)
    assert "figure could not be drawn: KeyError" in page


# --- cnnspec report -------------------------------------------------------------------------------

def _cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "cnnspec", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=ENV)


def test_report_command_merges_validate_and_prove_results(tmp_path):
    claims, _ = failing_report_parts()
    validate = build_report("validate-op", [], target=BAD_TARGET, op="conv1d",
                            env=environment(device="cpu", seed=0, dtype="float64"))
    validate["claims"] = [{k: v for k, v in c.items() if k not in ("subject", "stage")} for c in claims]
    prove = build_report("prove", _passing())
    (tmp_path / "v.json").write_text(dumps(validate))
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "report.json").write_text(dumps(prove))
    r = _cli("report", str(tmp_path / "v.json"), str(tmp_path / "p"), "--out", str(tmp_path / "out"))
    assert r.returncode == 1, r.stderr
    lines = r.stdout.splitlines()
    assert lines[-1].startswith("fail: ") and lines[-1].endswith("index.html")
    assert any(l.startswith("FAILED op.conv1d.cross-correlation") for l in lines)       # pytest's manner
    assert any(l.startswith("WARNING op.conv1d.invalid - accepts stride=0") for l in lines)
    assert "1 failed, 1 error, 1 warning, 1 passed" in lines[-2]
    merged = load_report(tmp_path / "out")
    assert len(merged["claims"]) == 4 and merged["verdict"] == "fail"
    assert [s["kind"] for s in merged["merged_from"]] == ["validate-op", "prove"]
    page = (tmp_path / "out" / "index.html").read_text()
    assert f"<code>{BAD_TARGET} [conv1d, cpu, float64]</code>" in page     # the target's card
    r = _cli("report", str(tmp_path / "p"))                                 # one input: rendered in place
    assert r.returncode == 0 and (tmp_path / "p" / "index.html").exists()


def test_warnings_pass_the_report_command_unless_strict(tmp_path):
    rep = build_report("validate-op", [run_claim(WARN_CLAIM)], target="t.py:f", op="conv1d")
    (tmp_path / "w.json").write_text(dumps(rep))
    assert main(["report", str(tmp_path / "w.json"), "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert main(["report", str(tmp_path / "w.json"), "--out", str(tmp_path / "b"), "--strict", "--quiet"]) == 1
    assert load_report(tmp_path / "b")["summary"]["exit_code"] == 1


@pytest.mark.parametrize("content, expect", [
    (None, "does not exist"), ("{not json", "is not JSON"), ("[1, 2]", "JSON list"),
    ('{"kind": "verify"}', "field 'verdict' is missing"),
    ('{"kind": "nope", "verdict": "pass", "claims": [], "environment": {}}', 'kind: "nope" is not one of'),
    ('{"kind": "prove", "verdict": "pass", "claims": [{"id": 1}], "environment": {}}', "claims[0]: field 'status'")])
def test_report_command_rejects_bad_input_in_one_line(tmp_path, content, expect, capsys):
    f = tmp_path / "r.json"
    if content is not None:
        f.write_text(content)
    assert main(["report", str(f), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert expect in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_merge_keeps_every_claim_and_recomputes_the_verdict(failing_report):
    ok = build_report("prove", _passing())
    merged = merge_reports([ok, failing_report], ["a", "b"])
    assert len(merged["claims"]) == len(ok["claims"]) + len(failing_report["claims"])
    assert merged["verdict"] == "fail"
    assert without_times(merged)["claims"][0].get("seconds") is None


def test_every_registered_claim_lands_in_a_lecture_section():
    from cnnspec.claims import select
    from cnnspec.report.sections import section_of

    homeless = [c.id for c in select() if section_of({"id": c.id, "statement": c.statement}) == "other"]
    assert homeless == []


def test_a_train_report_renders_its_curves_in_the_model_section(tmp_path):
    """The shape ``cnnspec train`` writes: kind train, claims, and ``metrics`` with the history."""
    ok = run_claim(Claim("training.target_accuracy", "reaches its target", "reference/README.md", "empirical",
                         lambda: Outcome(0.91 >= 0.90, "test accuracy 0.9100")))
    history = [{"epoch": e, "elapsed_s": 10.0 * e, "train_loss": 1.0 / e, "test_acc": 0.8 + 0.03 * e}
               for e in (1, 2, 3)]
    rep = build_report("train", [ok], target="reference:lenet5",
                       metrics={"model": "lenet5", "history": history, "target_acc": 0.9,
                                "recipe": {"name": "lenet5-quick"}, "data": {"name": "fashion-mnist"}})
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "report.json").write_text(dumps(rep))
    assert main(["report", str(tmp_path / "t" / "report.json")]) == 0
    page = (tmp_path / "t" / "index.html").read_text()
    assert re.findall(r'<section class="lecture" id="sec-(\w+)"', page) == ["lenet"]   # only what ran
    lenet = page[page.index('id="sec-lenet"'):]
    lenet = lenet[:lenet.index("</section>")]
    assert "training.target_accuracy" in lenet and "lenet5 on fashion-mnist, recipe lenet5-quick" in lenet
    assert len(re.findall(r'<svg class="plot"', lenet)) == 2 and "target 90%" in lenet
