"""Reports (docs/report-schema.md): report.json, index.html, junit.xml, summary.md, ``cnnspec report``.

The failing results here are real: :func:`flipped_conv1d` is a deliberately wrong target (it computes
true convolution where the contract says cross-correlation) and a claim checks it against the
spec's exact convolution matrix, finds the counterexample and reports it like any other claim.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from cnnspec.claims import Claim, ClaimResult, Outcome, run_claim
from cnnspec.cli import main
from cnnspec.report import figures, html, junit, markdown
from cnnspec.report.output import FILES, load_report, merge_reports, write_report_dir
from cnnspec.report.schema import build_report, dumps, environment, without_times
from cnnspec.spec.convolution import ConvSpec
from cnnspec.spec.toeplitz import ConvMatrix

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
EVIL = "<img src=x onerror=\"document.title='pwned'\">|a|b|\x07"
BAD_TARGET = "tests/test_report.py:flipped_conv1d"


def flipped_conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """A deliberately wrong ``conv1d`` (NumPy, NCL): right in every respect but one, it flips the
    kernel (true convolution, where docs/calling-convention.md says cross-correlation)."""
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
                   "docs/calling-convention.md; PyTorch conv1d docs", "exact", check_flipped_conv1d, group="conformance")


def _raises() -> Outcome:
    raise ZeroDivisionError("a broken check")


def failing_report_parts() -> tuple[list[dict], list[dict]]:
    """Report entries of one failing and one erroring claim, with the target card they belong to."""
    subject = f"{BAD_TARGET} [conv1d, cpu, float64] {EVIL}"
    res = [run_claim(FLIP_CLAIM),
           run_claim(Claim("op.conv1d.broken", "a check that raises", "here", "property", _raises, "conformance"))]
    claims = [{**r.to_json(), "stage": "conformance", "subject": subject} for r in res]
    target = {"subject": subject, "target": BAD_TARGET, "op": "conv1d", "array": "numpy", "device": "cpu",
              "reproduce": res[0].counterexample["reproduce"]}
    return claims, [target]


def _passing() -> list[ClaimResult]:
    ok = Claim("conv.size.lenet-c1", "a 5×5 kernel on a 32×32 input gives 28×28", "LeCun et al. 1998, §II.B",
               "exact", lambda: Outcome(ConvSpec.make((32, 32), (5, 5)).output_size == (28, 28), "28×28"))
    return [run_claim(ok)]


@pytest.fixture()
def failing_report():
    claims, targets = failing_report_parts()
    rep = build_report("verify", _passing(), env=environment(seed=0), targets=targets, artifacts=[])
    rep["claims"] += claims
    rep["verdict"] = "fail"
    return rep


def test_the_flipped_kernel_is_caught_with_a_counterexample():
    r = run_claim(FLIP_CLAIM)
    assert r.status == "fail"
    cx = r.counterexample
    assert cx["expected"] != cx["got"]
    u, w = np.array(cx["args"]["x"][0][0]), np.array(cx["args"]["weight"][0][0])
    assert np.correlate(u, w, "valid").tolist() == cx["expected"]   # numpy agrees with the spec
    assert np.convolve(u, w, "valid").tolist() == cx["got"]         # and the target convolved


def test_failing_claim_shows_in_every_form(failing_report, tmp_path):
    paths = write_report_dir(failing_report, tmp_path)
    assert set(paths) == set(FILES)
    page = (tmp_path / "index.html").read_text()
    assert "Counterexample" in page and "reproduce:" in page
    assert f"cnnspec validate {BAD_TARGET} --op conv1d" in page
    assert "FAIL" in page and "ZeroDivisionError" in page
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    cases = suite.findall(".//testcase")
    assert len(cases) == len(failing_report["claims"]) == 3
    assert len(suite.findall(".//failure")) == 1 and len(suite.findall(".//error")) == 1
    assert "reproduce: cnnspec validate" in suite.find(".//failure").text
    md = (tmp_path / "summary.md").read_text()
    assert "**FAIL**" in md and "### Failing claims" in md
    assert json.loads((tmp_path / "report.json").read_text())["verdict"] == "fail"


def test_text_from_a_target_is_escaped_everywhere(failing_report):
    page = html.render(failing_report)
    assert "<img" not in page and "onerror=\"" not in page
    assert "&lt;img src=x onerror=&quot;document.title=&#x27;pwned&#x27;&quot;&gt;" in page
    for svg in re.findall(r"<svg.*?</svg>", page, flags=re.S):
        ET.fromstring(svg)
    ET.fromstring(junit.render(failing_report).split("\n", 1)[1])   # the bell character was replaced
    md = markdown.render(failing_report)
    rows = [l for l in md.splitlines() if l.startswith("| FAIL") or l.startswith("| ERROR")]
    assert len(rows) == 2
    assert all(len(re.findall(r"(?<!\\)\|", r)) == 6 for r in rows)    # 5 cells: target pipes escaped


def test_figures_escape_labels_and_are_well_formed_svg():
    svgs = [figures.heatmap([[1, None], [3, 4]], title=EVIL, row_labels=["<a>", "b"], col_labels=["&", "x"]),
            figures.heatmap([[0, 1]], title="cat", scale="cat", legend=[(0, "<w0>"), (1, "w1")]),
            figures.line_chart([{"label": EVIL, "x": [1], "y": [0.5]}], title="one point", hline=(0.9, "90%")),
            figures.line_chart([{"label": "a", "x": [1, 2, 3, 4], "y": [3.0, None, float("nan"), 1.0]},
                                {"label": "b", "x": [1, 2], "y": [float("inf"), 2.0]}], title="gap"),
            figures.heatmap([[float("nan"), 1.0]], title="nan cell"),
            figures.confusion([[5, 1], [0, 7]], ["<T-shirt>", "Trouser"], title="cm"),
            figures.panels([{"title": "<u>", "values": [[1, -1]], "note": EVIL}], title="p"),
            figures.layered_graph([{"name": "<in>", "size": 2}, {"name": "out", "size": 1,
                                                                  "edges": [[0, 0], [1, 0]], "highlight": [0]}],
                                  title="g")]
    for svg in svgs:
        assert "nan" not in svg.lower().replace("nan cell", "") and "inf" not in svg
        root = ET.fromstring(svg)
        assert float(root.get("width")) > 0 and float(root.get("height")) > 0
        assert "<a>" not in svg and "<img" not in svg and "<u>" not in svg


def test_a_bad_artifact_is_reported_on_the_page_not_raised():
    rep = build_report("verify", _passing(), artifacts=[{"id": "broken", "section": "lenet", "type": "curves"}])
    page = html.render(rep)
    assert "figure could not be drawn: KeyError" in page


def test_written_files_are_readable_and_leave_no_temporaries(failing_report, tmp_path):
    write_report_dir(failing_report, tmp_path)
    write_report_dir(failing_report, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    assert oct((tmp_path / "index.html").stat().st_mode & 0o444) == oct(0o444 & ~_umask())


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


_WRITER = """
import sys
from cnnspec.report.output import write_report_dir
from cnnspec.report.schema import build_report
big = [{"id": f"c{i}", "statement": "x" * 1000, "source": "s", "method": "exact", "status": "pass"}
       for i in range(200)]
i = 0
while True:
    i += 1
    rep = build_report("prove", [], generation=i)
    rep["claims"] = big
    write_report_dir(rep, sys.argv[1])
    print(i, flush=True)
"""


def test_a_writer_killed_midway_leaves_whole_files(tmp_path):
    """SIGKILL a process that rewrites a large report in a loop: every file stays whole."""
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path)], stdout=subprocess.PIPE,
                            cwd=ROOT, text=True, env=ENV)
    try:
        assert proc.stdout.readline().strip() == "1"   # one complete report exists
        time.sleep(0.23)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    rep = load_report(tmp_path)
    assert rep["generation"] >= 1 and len(rep["claims"]) == 200
    assert (tmp_path / "index.html").read_text().rstrip().endswith("</html>")
    ET.parse(tmp_path / "junit.xml")
    assert (tmp_path / "summary.md").read_text().endswith("\n")
    write_report_dir(rep, tmp_path)                      # the next write clears stale temporaries
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)


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
    assert r.stdout.startswith("fail: ")
    merged = load_report(tmp_path / "out")
    assert len(merged["claims"]) == 3 and merged["verdict"] == "fail"
    assert [s["kind"] for s in merged["merged_from"]] == ["validate-op", "prove"]
    page = (tmp_path / "out" / "index.html").read_text()
    assert f"<code>{BAD_TARGET} [conv1d, cpu, float64]</code>" in page     # the target's card
    r = _cli("report", str(tmp_path / "p"))                                 # one input: rendered in place
    assert r.returncode == 0 and (tmp_path / "p" / "index.html").exists()


@pytest.mark.parametrize("content, expect", [
    (None, "does not exist"), ("{not json", "is not JSON"), ("[1, 2]", "JSON list"),
    ('{"kind": "verify"}', "field 'claims' is missing"), ('{"kind": "nope", "claims": []}', "kind='nope'"),
    ('{"kind": "prove", "claims": [{"id": 1}]}', "objects with id and status")])
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
    lenet = page[page.index("id='sec-lenet'"):page.index("id='sec-resnet'")]
    assert "training.target_accuracy" in lenet and "lenet5 on fashion-mnist, recipe lenet5-quick" in lenet
    assert len(re.findall(r"<polyline", lenet)) == 2 and "target 90%" in lenet
