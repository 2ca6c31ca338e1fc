"""The cache of drawn cases: a hit gives exactly the cases a fresh draw gives; anything wrong with
the cache (off, unreadable, unwritable, a strategy it cannot name) means drawing as without it."""
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import strategies as st

from cnnspec.conformance import case_cache, properties
from cnnspec.conformance.properties import OpContext, draw_cases as _draw
from cnnspec.strategies import conv_cases

ROOT = Path(__file__).resolve().parents[1]
CLAIM = ("conformance.test.claim", OpContext(None, "t", "conv2d"))


def draw_cases(strategy, n, seed, cache=CLAIM):
    return _draw(strategy, n, seed, cache)


def same(a: list, b: list) -> bool:
    return pickle.dumps(a, protocol=4) == pickle.dumps(b, protocol=4) or \
        (len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b)))


def _same(x, y) -> bool:
    if isinstance(x, dict):
        return isinstance(y, dict) and x.keys() == y.keys() and all(_same(x[k], y[k]) for k in x)
    if isinstance(x, np.ndarray):
        return isinstance(y, np.ndarray) and x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True)
    if isinstance(x, (list, tuple)):
        return type(x) is type(y) and len(x) == len(y) and all(map(_same, x, y))
    return x == y or (x != x and y != y)


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNSPEC_CACHE_DIR", str(tmp_path))
    return tmp_path


def entries(root: Path) -> list[Path]:
    return sorted(root.glob("cases/*/*.pkl"))


def test_a_hit_gives_the_cases_of_a_fresh_draw_without_drawing(folder, monkeypatch):
    strat = conv_cases(ndim=2, max_side=5, dtype="float32")
    first = draw_cases(strat, 7, 3)
    assert len(first) == 7 and len(entries(folder)) == 1
    monkeypatch.setenv("CNNSPEC_CACHE_DIR", "off")
    fresh = draw_cases(strat, 7, 3)                       # no cache: hypothesis draws again
    assert same(first, fresh)
    monkeypatch.setenv("CNNSPEC_CACHE_DIR", str(folder))

    def no_drawing(*a, **k):
        raise AssertionError("hypothesis was asked to draw cases the cache holds")

    monkeypatch.setattr(properties, "given", no_drawing)
    again = draw_cases(strat, 7, 3)
    assert same(again, fresh)
    assert again is not first and again[0]["x"] is not first[0]["x"]   # fresh objects each time


def test_other_counts_seeds_and_strategies_are_other_entries(folder):
    strat = conv_cases(ndim=1, max_side=5, dtype="float32")
    a = draw_cases(strat, 4, 0)
    b = draw_cases(strat, 4, 1)
    c = draw_cases(strat, 5, 0)
    d = draw_cases(conv_cases(ndim=1, max_side=5, dtype="float64"), 4, 0)
    assert len(entries(folder)) == 4
    assert not same(a, b) and len(c) == 5 and d[0]["x"].dtype == np.float64
    assert same(draw_cases(strat, 4, 0), a)


def test_an_unreadable_entry_is_drawn_again_and_replaced(folder):
    strat = conv_cases(ndim=1, max_side=4, dtype="float32")
    want = draw_cases(strat, 5, 2)
    (entry,) = entries(folder)
    entry.write_bytes(b"\x80\x04 truncated")
    assert same(draw_cases(strat, 5, 2), want)
    assert same(pickle.loads(entry.read_bytes()), want)    # written whole again
    entry.write_bytes(pickle.dumps({"not": "a list"}))
    assert same(draw_cases(strat, 5, 2), want)


def test_an_unwritable_folder_only_means_no_cache(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CNNSPEC_CACHE_DIR", str(blocker))
    strat = conv_cases(ndim=1, max_side=4, dtype="float32")
    got = draw_cases(strat, 3, 0)
    assert len(got) == 3 and blocker.read_text() == "not a folder"
    if os.geteuid() != 0:                                  # root writes through mode bits
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        monkeypatch.setenv("CNNSPEC_CACHE_DIR", str(ro))
        assert len(draw_cases(strat, 3, 0)) == 3 and not any(ro.rglob("*"))


def test_a_strategy_its_repr_cannot_name_is_never_cached(folder):
    anon = st.builds(lambda v: {"x": np.array([v], dtype=np.float32)}, st.integers(0, 9))
    assert case_cache.key("claim", object(), 3) is None                  # an address
    assert case_cache.key("claim", st.just(np.zeros(10_000)), 3) is None    # repr abbreviates: "..."
    assert case_cache.key("claim", anon, 3) is not None
    big = st.tuples(st.just(np.zeros(10_000, dtype=np.float32)), st.integers(0, 9))
    assert len(draw_cases(big, 3, 0)) == 3 and entries(folder) == []
    assert len(draw_cases(anon, 3, 0, None)) == 3 and entries(folder) == []   # no claim names it


def test_the_claim_is_part_of_the_key(folder):
    # two lambdas that print alike but capture different values: only the claim tells them apart
    def scaled(k):
        return st.integers(0, 9).map(lambda v: {"x": np.array([v * k], dtype=np.float32)})

    assert repr(scaled(1)) == repr(scaled(100))
    a = draw_cases(scaled(1), 5, 0, ("claim.one", OpContext(None, "t", "conv2d")))
    b = draw_cases(scaled(100), 5, 0, ("claim.two", OpContext(None, "t", "conv2d")))
    assert len(entries(folder)) == 2 and max(c["x"][0] for c in b) >= 100 > max(c["x"][0] for c in a)


def test_the_context_names_only_what_a_draw_depends_on():
    a = OpContext(object(), "pkg.mod:f", "conv2d", examples=9, seed=4)
    b = OpContext(object(), "other:g", "conv2d", examples=9, seed=4, timeout=5.0)
    b.memo["x"] = object()
    assert repr(a) == repr(b) and "0x" not in repr(a) and "examples=9" in repr(a)
    from hypothesis.vendor.pretty import pretty   # how hypothesis prints a strategy's arguments
    assert pretty(a) == repr(a)
    assert repr(OpContext(None, "t", "conv2d", dtype="float64")) != repr(OpContext(None, "t", "conv2d"))


def test_entries_of_another_cnnspec_version_are_removed(folder):
    stale = folder / "cases" / "0123456789abcdef0123"
    stale.mkdir(parents=True)
    (stale / "x.pkl").write_bytes(pickle.dumps([1]))
    draw_cases(conv_cases(ndim=1, max_side=4, dtype="float32"), 2, 0)
    assert not stale.exists() and len(entries(folder)) == 1
    assert entries(folder)[0].parent.name == case_cache.version()


def test_the_cache_is_off_when_asked(monkeypatch, tmp_path):
    for off in ("off", "", "0"):
        monkeypatch.setenv("CNNSPEC_CACHE_DIR", off)
        assert case_cache.cache_dir() is None
    monkeypatch.delenv("CNNSPEC_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert case_cache.cache_dir().parent.parent == tmp_path / "cnnspec"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert case_cache.cache_dir().parent.parent == tmp_path / "home" / ".cache" / "cnnspec"


def test_a_repeated_validate_reads_its_cases_and_gives_the_same_verdicts(tmp_path):
    env = dict(os.environ, CNNSPEC_CACHE_DIR=str(tmp_path / "c"))
    cmd = [sys.executable, "-m", "cnnspec", "validate", "cnnspec.conformance.shims.numpy_ops:avg_pool2d",
           "--op", "avg_pool2d", "--examples", "6", "--seed", "11", "--quiet"]
    runs = []
    for i in range(2):
        out = tmp_path / f"r{i}"
        p = subprocess.run(cmd + ["--report", str(out)], cwd=ROOT, env=env, capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        runs.append((out / "report.json").read_text())
        if i == 0:
            stored = {e: e.stat().st_mtime_ns for e in entries(tmp_path / "c")}
            assert len(stored) >= 3
    assert {e: e.stat().st_mtime_ns for e in entries(tmp_path / "c")} == stored   # read, not rewritten
    import json
    a, b = (json.loads(r) for r in runs)
    key = lambda rep: [(c["id"], c["status"], c["examples"], c["message"]) for c in rep["claims"]]  # noqa: E731
    assert key(a) == key(b) and (a["verdict"], a["calls"]) == (b["verdict"], b["calls"])
