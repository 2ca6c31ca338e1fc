"""Report folders are written as a whole (``cnnspec.report.output``): the four files go into a
temporary sibling folder that is swapped in with one rename, so a kill at any point, a full disk or
an error between two files leaves the previous report whole, and output folders are checked up front.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cnnspec.errors import OutputError
from cnnspec.report import output
from cnnspec.report.output import FILES, check_output_dir, load_report, recover, write_report_dir
from cnnspec.report.schema import dumps
from tests.test_report import ENV, ROOT, make_failing_report


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def _siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}."))


def test_a_rewrite_leaves_the_four_files_readable_and_no_temporaries(tmp_path):
    out = tmp_path / "r"
    write_report_dir(make_failing_report(), out)
    write_report_dir(make_failing_report(), out)
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    assert _siblings(out) == []
    assert oct((out / "index.html").stat().st_mode & 0o444) == oct(0o444 & ~_umask())
    assert oct(out.stat().st_mode & 0o555) == oct(0o555 & ~_umask())     # not mkdtemp's 0700


def test_missing_parent_folders_are_created(tmp_path):
    write_report_dir(make_failing_report(), tmp_path / "a" / "b" / "r")
    assert sorted(p.name for p in (tmp_path / "a" / "b" / "r").iterdir()) == sorted(FILES)


def test_what_else_the_folder_holds_is_carried_over(tmp_path):
    out = tmp_path / "r"
    write_report_dir(make_failing_report(), out)
    (out / "train" / "lenet5").mkdir(parents=True)
    (out / "train" / "lenet5" / "checkpoint.pt").write_bytes(b"weights")
    write_report_dir(make_failing_report(), out)
    assert (out / "train" / "lenet5" / "checkpoint.pt").read_bytes() == b"weights"


class _Stop(Exception):
    pass


def test_an_error_between_two_files_leaves_the_previous_report_whole(tmp_path):
    out = tmp_path / "r"
    old = make_failing_report()
    old["run_id"] = "old"
    write_report_dir(old, out)
    (out / "train").mkdir()
    before = _snapshot(out)
    new = make_failing_report()
    new["run_id"] = "new"

    def stop(name):
        if name == "junit.xml":    # report.json and junit.xml are new in the temporary folder
            raise _Stop

    with pytest.raises(_Stop):
        write_report_dir(new, out, _after_file=stop)
    assert _snapshot(out) == before and (out / "train").is_dir()
    assert load_report(out)["run_id"] == "old" and _siblings(out) == []


def test_the_two_rename_fallback_also_keeps_the_folder_whole(tmp_path, monkeypatch):
    """Where the kernel cannot exchange two folders (renameat2 missing), the old one is set aside."""
    monkeypatch.setattr(output, "_exchange", lambda a, b: False)
    out = tmp_path / "r"
    write_report_dir(make_failing_report(), out)
    (out / "keep.txt").write_text("x")
    rep = make_failing_report()
    rep["run_id"] = "second"
    write_report_dir(rep, out)
    assert load_report(out)["run_id"] == "second" and (out / "keep.txt").read_text() == "x"
    assert _siblings(out) == []


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_folder_set_aside_by_a_killed_writer_is_put_back(tmp_path):
    out = tmp_path / "r"
    write_report_dir(make_failing_report(), out)
    aside = tmp_path / f".r.{_dead_pid()}.old"
    os.rename(out, aside)                          # killed between the two renames
    assert load_report(out)["verdict"] == "fail"   # reading recovers it
    assert out.is_dir() and not aside.exists()


def test_what_a_killed_writer_was_carrying_is_given_back(tmp_path):
    """Killed after moving the run's other files into its temporary folder, before the swap."""
    out = tmp_path / "r"
    write_report_dir(make_failing_report(), out)
    tmp = tmp_path / f".r.{_dead_pid()}.abc.tmp"
    (tmp / "train").mkdir(parents=True)
    (tmp / "train" / "ckpt").write_text("w")
    (tmp / "index.html").write_text("half")
    recover(out)
    assert (out / "train" / "ckpt").read_text() == "w" and not tmp.exists()
    assert (out / "index.html").read_text() != "half"


_FULL_DISK = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)      # a write past the limit fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (12000, 12000))
from cnnspec.cli import main
sys.exit(main(["report", sys.argv[1], "--out", sys.argv[2]]))
"""


def test_a_write_that_fails_midway_is_one_line_and_keeps_the_old_report(tmp_path):
    """RLIMIT_FSIZE makes the kernel refuse the page (the largest file, written last) as a full
    disk refuses it: the error is one line, exit 2, and the previous report is untouched."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "report.json").write_text(dumps(make_failing_report()))
    out = tmp_path / "out"
    write_report_dir({**make_failing_report(), "run_id": "old"}, out)
    before = _snapshot(out)
    r = subprocess.run([sys.executable, "-c", _FULL_DISK, str(tmp_path / "in"), str(out)], cwd=ROOT, env=ENV,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and "cannot write the report" in err[0] and "nothing there was changed" in err[0]
    assert _snapshot(out) == before and _siblings(out) == []


_WRITER = """
import sys
from cnnspec.report.output import write_report_dir
from cnnspec.report.schema import build_report
i = 0
while True:
    i += 1
    rep = build_report("prove", [], run_id=f"gen-{i}")
    rep["claims"] = [{"id": f"c{k}", "statement": "x" * 2000, "source": "s", "method": "exact",
                      "status": "pass"} for k in range(50 + i % 7)]
    write_report_dir(rep, sys.argv[1])
    print(i, flush=True)
"""


def _consistent(out: Path) -> int:
    """The generation of the report in ``out``; every file must be of that same generation."""
    rep = load_report(out)
    gen, n = rep["run_id"], len(rep["claims"])
    assert n == 50 + int(gen.split("-")[1]) % 7
    assert int(ET.parse(out / "junit.xml").getroot().get("tests")) == n
    assert f"run `{gen}`" in (out / "summary.md").read_text()
    page = (out / "index.html").read_text()
    assert page.rstrip().endswith("</html>") and f"<b>run</b> {gen}" in page and page.count('<tr class="claim') == n
    return int(gen.split("-")[1])


def test_a_writer_stopped_or_killed_at_random_moments_leaves_all_four_files_of_one_run(tmp_path):
    """Freeze (SIGSTOP) a process that rewrites a report in a loop at six random moments: what is
    on disk then is what a kill at that moment leaves, and each time all four files belong to the
    same run. Then SIGKILL it: the same holds, and the next write clears what the dead one left."""
    out, rng = tmp_path / "r", random.Random(0)
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(out)], stdout=subprocess.PIPE,
                            cwd=ROOT, text=True, env=ENV)
    seen = set()
    try:
        assert proc.stdout.readline().strip() == "1"        # one complete report exists
        for _ in range(6):
            time.sleep(rng.uniform(0.02, 0.4))
            proc.send_signal(signal.SIGSTOP)
            try:
                seen.add(_consistent(out))
            finally:
                proc.send_signal(signal.SIGCONT)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    _consistent(out)
    assert len(seen) >= 2                                  # it was caught at different runs
    write_report_dir(load_report(out), out)
    assert _siblings(out) == [] and sorted(p.name for p in out.iterdir()) == sorted(FILES)


def test_output_folders_are_checked_up_front(tmp_path):
    (tmp_path / "file").write_text("x")
    cases = {str(tmp_path / "file"): "exists and is not a folder",
             str(tmp_path / "file" / "sub" / "r"): "is a file, not a folder",
             "/proc/cnnspec-report": "cannot write under '/proc'"}
    for path, expect in cases.items():
        with pytest.raises(OutputError) as e:
            check_output_dir(path, "--out")
        assert str(e.value).startswith("--out: ") and expect in str(e.value), str(e.value)
    assert check_output_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]     # the probe left nothing
    json.dumps(str(e.value))
