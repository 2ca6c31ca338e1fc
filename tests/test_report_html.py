"""The page (``cnnspec.report.html`` and its templates): failures lead, each with a panel a reader
can act on; only sections that ran; sources once; evidence is not dressed as a failure; the plots."""
from __future__ import annotations

import re

from cnnspec.claims import select, run_claim
from cnnspec.report import html, panels, plots
from cnnspec.report.schema import build_report, environment, finalize
from tests.test_report import BAD_TARGET, make_failing_report

CONV2D_CX = {   # the shape cnnspec.conformance.properties.counterexample gives a conv2d failure
    "args": {"x": [[[[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [2.0, 0.0, 1.0]]]], "weight": [[[[1.0, 0.0], [0.0, -1.0]]]],
             "kwargs": {"stride": [1, 1], "padding": [0, 0]}},
    "expected": [[[[0.0, -1.0], [-2.0, 0.0]]]], "got": [[[[0.0, 1.0], [2.0, 0.0]]]],
    "line": "out[0,0,0,1]=1, but should be -1 [conv2d(stride=(1, 1)) x(1,1,3,3) weight(1,1,2,2)]",
    "diagnosis": "the target computes a true convolution (kernel flipped), not cross-correlation",
    "reproduce": "cnnspec validate mypkg/ops.py:conv2d --op conv2d --array numpy --seed 0",
    "python": "import numpy as np\nf = load_target('mypkg/ops.py:conv2d')\nprint(f(x, weight))"}


def _validate_report(claims: list[dict]) -> dict:
    rep = build_report("validate-op", [], target="mypkg/ops.py:conv2d", op="conv2d",
                       env=environment(device="cpu", seed=0, dtype="float32"))
    rep["claims"] = claims
    return finalize(rep)


def _failing_conv2d() -> dict:
    return {"id": "conformance.conv.values", "statement": "values equal the exact oracle",
            "source": "PyTorch docs, torch.nn.functional.conv2d; PyTorch docs, torch.nn.functional.conv2d",
            "method": "exact", "status": "fail", "message": CONV2D_CX["line"], "counterexample": CONV2D_CX,
            "examples": 3, "seconds": 0.4}


def test_a_validate_report_leads_with_the_failing_panel_and_shows_only_what_ran():
    ok = {"id": "conformance.conv.shape", "statement": "shapes", "source": "s", "method": "exact", "status": "pass"}
    page = html.render(_validate_report([ok, _failing_conv2d()]))
    assert re.findall(r'<section class="lecture" id="sec-(\w+)"', page) == ["conformance"]
    assert "No results for this section" not in page
    first_panel, first_section = page.index('<article class="panel fail"'), page.index('<section class="lecture"')
    assert first_panel < first_section
    panel = page[first_panel:page.index("</article>", first_panel)]
    assert "conv2d(x, weight, stride=[1, 1], padding=[0, 0])" in panel                    # the call
    assert panel.count('<table class="arr">') == 4                 # x, weight, expected, got
    assert panel.count('<td class="bad">') == 4                    # two entries differ, marked on both sides
    assert "2 of 4 entries differ" in panel
    assert '<svg class="plot"' in panel                             # the difference heatmap of the 2-D map
    assert "Diagnosis:" in panel and "kernel flipped" in panel
    assert ("cnnspec validate mypkg/ops.py:conv2d --op conv2d --array numpy --seed 0 "
            "--claims conformance.conv.values") in panel
    assert panel.count("load_target(&#39;mypkg/ops.py:conv2d&#39;)") == 1               # the snippet, once
    assert panel.count("PyTorch docs, torch.nn.functional.conv2d") == 1               # each source once


def test_a_passing_claim_that_exhibits_a_counterexample_shows_it_as_evidence():
    r = run_claim(next(c for c in select() if c.id == "conv.equivariance.stride"))
    assert r.status == "pass" and r.counterexample
    page = html.render(finalize(build_report("prove", [r])))
    row = page[page.index('data-claim="conv.equivariance.stride"'):]
    row = row[:row.index("</tr>")]
    assert "exhibited case (evidence)" in row and "T_shifted_u" in row
    assert "Counterexample" not in page and "<article" not in page and "Failing claims" not in page


def test_the_environment_block_says_where_the_report_was_made():
    page = html.render(make_failing_report())
    env = page[page.index('id="environment"'):]
    for key in ("python", "torch", "torch_backends", "torch_threads", "hypothesis", "git_commit", "cpu",
                "device", "seed"):
        assert f"<th>{key}</th>" in env, key
    assert "mkldnn on" in env


def test_sections_show_their_formulas_as_mathml():
    page = html.render(finalize(build_report("prove", [run_claim(next(c for c in select() if c.id == "conv.flip"))])))
    sec = page[page.index('id="sec-convolution"'):]
    assert "<math display='block'>" in sec and "<munderover><mo>&#x2211;</mo>" in sec   # Σ as MathML


def test_filter_and_search_are_inline_and_offline():
    page = html.render(make_failing_report())
    assert [m for m in re.findall(r'data-filter="(\w+)"', page)] == ["failures", "warnings", "all"]
    assert 'type="search"' in page and "<script src" not in page and "<link" not in page
    assert 'data-status="warn"' in page and 'data-status="fail"' in page


def test_attributes_are_escaped_and_statuses_constrained():
    rep = make_failing_report()
    rep["claims"][0]["method"] = "exact' onmouseover='alert(1)"
    rep["claims"][1]["status"] = "pass' onmouseover='alert(2)"      # rendered directly, without validation
    page = html.render(rep)
    assert "onmouseover='alert" not in page and "exact&#39; onmouseover=&#39;alert(1)" in page
    assert "alert(2)" not in page                                     # an unknown status reads as error


def test_reproduce_commands_get_a_claim_filter_once():
    claim = {"id": "conv.flip", "counterexample": {"reproduce": "cnnspec verify --stages spec --seed 0"}}
    assert panels.reproduce_command(claim) == "cnnspec verify --stages spec --seed 0 --claims conv.flip"
    claim["counterexample"]["reproduce"] += " --claims conv.flip"
    assert panels.reproduce_command(claim).count("--claims") == 1
    assert panels.reproduce_command({"id": "x", "counterexample": {"reproduce": "python3 t.py"}}) == "python3 t.py"


def test_the_accuracy_plot_keeps_its_last_point_off_the_frame():
    acc = [0.80, 0.86, 0.905, 0.912]
    lo, hi = plots.y_range(acc + [0.90])                # the target line is part of the range
    assert hi - max(acc) >= 0.1 * (max(acc) - min(acc)) and min(acc) - lo >= 0.1 * (max(acc) - min(acc))
    svg = plots.line_chart([{"label": "lenet5", "x": [1, 2, 3, 4], "y": acc}], title="test accuracy",
                           hline=(0.9, "target 90%"))
    assert "target 90%" in svg                           # in the legend, under the plot, not on the frame


def test_the_confusion_matrix_names_classes_on_both_axes_and_shows_off_diagonal_cells():
    classes = ["T-shirt/top", "Trouser", "Shirt"]
    svg = plots.confusion([[873, 0, 127], [2, 990, 8], [127, 1, 872]], classes, title="cm")
    for name in classes:
        assert svg.count(name) >= 2, name               # x tick and y tick
    assert "127" in svg and "share of the true class" in svg       # annotated, with a colour bar
    assert plots.confusion_norm()(0.127) > 0.3          # a third of the way up the colour bar, not 0.127


def test_a_failing_claim_of_a_target_card_links_to_its_panel():
    page = html.render(make_failing_report())
    anchor = re.search(r'id="panel-(\d+)" data-status="fail"', page).group(1)
    assert f'href="#panel-{anchor}"' in page and BAD_TARGET in page


def test_artifacts_from_a_saved_report_cannot_inject_markup():
    evil = "<script>alert(1)</script>"
    rep = make_failing_report()
    rep["artifacts"] = [
        {"id": evil, "section": "lenet", "type": "table", "title": evil, "columns": [evil], "rows": [[evil]]},
        {"id": "c", "section": "lenet", "type": "curves", "title": evil,
         "charts": [{"title": evil, "series": [{"label": evil, "x": [1, 2], "y": [0.5, 0.6]}], "hline": [0.9, evil]}]},
        {"id": "m", "section": "convolution", "type": "matrix", "entries": [[evil, "0"]]},
        {"id": "n", "section": "other", "type": "note", "text": evil},
        {"id": "u", "section": "lenet", "type": evil}]
    page = html.render(rep)
    assert "<script>alert" not in page and page.count("<script>") == 1          # only the page's own
    assert "figure could not be drawn: KeyError" in page


def test_plots_are_deterministic_and_leave_pyplot_alone():
    import subprocess
    import sys

    from tests.test_report import ENV, ROOT

    series = [{"label": "lenet5", "x": [1, 2, 3], "y": [0.8, 0.85, 0.9]}]
    a = plots.line_chart(series, title="acc", hline=(0.9, "target 90%"))
    assert a == plots.line_chart(series, title="acc", hline=(0.9, "target 90%"))    # no date, salted ids
    code = ("import sys; from cnnspec.report import plots; plots.confusion([[1, 0], [0, 1]], ['a', 'b'], title='c'); "
            "print('matplotlib.pyplot' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == "False", r.stderr                # no backend switched, no global figures
