"""The report's pooling section: the three invariance figures of cnnspec/spec/pooling.py (a window
permuted, a global shift, the one-pixel counterexample) are artifacts of the spec stage, drawn into
the page of ``cnnspec verify --stages spec`` beside the pooling claims."""
from __future__ import annotations

import contextlib
import html
import io
import re

import numpy as np
import pytest

from cnnspec.cli import main
from cnnspec.report import lecture
from cnnspec.report.output import load_report

CLAIMS = "pool.max.window_permutation,pool.global.circular_shift,pool.max.one_pixel_shift"
FIGURES = {"pool.window-permutation": "Max pooling is invariant to any permutation within each window",
           "pool.global-shift": "Global pooling is invariant to every circular shift, exactly",
           "pool.one-pixel-counterexample": "A smallest counterexample: max pooling is not invariant"}


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    out = tmp_path_factory.mktemp("verify-spec-pool")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        rc = main(["verify", "--stages", "spec", "--claims", CLAIMS, "--out", str(out)])
    return rc, load_report(out), (out / "index.html").read_text()


def test_the_spec_page_draws_the_three_pooling_figures_beside_the_pooling_claims(page):
    rc, rep, text = page
    assert rc == 0 and [c["status"] for c in rep["claims"]] == ["pass"] * 3
    arts = {a["id"]: a for a in rep["artifacts"]}
    for aid, title in FIGURES.items():
        assert arts[aid]["section"] == "pooling" and arts[aid]["title"].startswith(title)
        slug = aid.replace(".", "-")
        assert slug in text, aid
        # the drawing itself: an inline SVG labelled with the figure's title
        svg = re.search(r"<svg[^>]*aria-label='" + re.escape(html.escape(arts[aid]["title"], quote=True)[:40]), text) \
            or re.search(r"<svg[^>]*>\s*<title>" + re.escape(html.escape(arts[aid]["title"])[:40]), text)
        assert svg, aid
    for cid in CLAIMS.split(","):
        assert cid in text


def test_the_figures_show_what_the_spec_computes():
    perm = lecture.pool_permutation_panels()
    x, xp = (np.array(perm["items"][i]["values"]) for i in (0, 1))
    assert perm["equal"] and sorted(x.ravel()) == sorted(xp.ravel()) and (x != xp).any()
    assert perm["items"][2]["values"] == perm["items"][3]["values"]
    shift = lecture.pool_global_shift_panels()
    assert shift["equal"] and shift["items"][0]["values"] != shift["items"][1]["values"]
    one = lecture.pool_one_pixel_panels()
    assert one["changed"] >= 1 and one["items"][1]["values"] != one["items"][3]["values"]
    assert one["items"][3]["highlight"]       # the changed output is framed
