"""``cnnspec arch NAME`` — the layer table with the published figures beside (docs/cli.md)."""
import json
from dataclasses import replace

import pytest

from cnnspec import cli
from cnnspec.spec import architectures as A


def test_lenet5_1998_table_shows_every_paper_figure(capsys):
    assert cli.main(["arch", "lenet5-1998"]) == 0
    out = capsys.readouterr().out
    assert "C3      sparse_conv" in out and "151,600" in out
    assert out.count("  ok   ") == 12 and "DIFF" not in out
    assert "LeCun et al. 1998" in out


def test_resnet50_v1_table_marks_table1_figure(capsys):
    assert cli.main(["arch", "resnet50-v1"]) == 0
    out = capsys.readouterr().out
    assert "3,857,973,248 ~ 3.8e9 (truncated to the printed digits)" in out and "He et al. 2016, Table 1" in out
    assert "25,557,032 = 25557032" in out


def test_json_format(capsys):
    assert cli.main(["arch", "resnet20", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["params"] == 269_722
    assert [p["published"] for p in doc["published"]] == ["269722", "0.27e6"]
    assert all(p["holds"] for p in doc["published"])
    row = next(r for r in doc["layers"] if r["name"] == "layer2.0.downsample")
    assert row["kind"] == "shortcut_a" and row["params"] == 0 and row["shortcut"]


def test_a_difference_exits_1_and_is_marked(capsys, monkeypatch):
    arch = A.get("resnet18")
    wrong = replace(arch, published=(A.Published("params", "11689513", "a wrong table"),))
    monkeypatch.setitem(A._CACHE, "resnet18", wrong)
    assert cli.main(["arch", "resnet18"]) == 1
    assert "DIFF params: derived 11,689,512 != 11689513" in capsys.readouterr().out


def test_unknown_name_is_one_line_exit_2(capsys):
    assert cli.main(["arch", "resnet21"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'resnet21' is not a known architecture" in err and "resnet20" in err


@pytest.mark.parametrize("name", A.SPECS)
def test_every_network_shows_derived_equal_published(name, capsys):
    assert cli.main(["arch", name]) == 0
    assert "DIFF" not in capsys.readouterr().out
