"""The cross-framework matrix as a job: every framework × op × dtype through cnnspec's adapters, and
the confirmation of each divergence by its native snippet run alone.

:func:`run_matrix` runs one worker process per framework and dtype
(:func:`cnnspec.adapters.matrix_cells.run_framework`), ``jobs`` of them at a time, and returns the
matrix document that ``cnnspec matrix`` writes as ``matrix.json`` and ``cnnspec verify
--frameworks`` puts into ``report.json`` (``docs/report-schema.md``, "matrix"):

    {"frameworks": [{"name", "version", "installed", "install", "device"}...],
     "dtypes": [...], "device": "cpu", "seconds": 12.3, "jobs": 2,
     "timings": {"<framework>/<dtype>": seconds}, "cells": [cell...]}

A cell that is not a pass carries, per diverging case, the snippet in the framework's own API
(:func:`cnnspec.adapters.reproduce`) and the adapter's value. :func:`confirm` runs each snippet as
``python3 snippet.py`` in a fresh empty folder, with no ``PYTHONPATH`` (so no cnnspec is
importable), and records whether it prints the adapter's value again, the value differing from the
exact one: a divergence that does not reproduce natively is a bug of the adapter or the snippet.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence

import numpy as np

from . import CONVENTION_OPS, FRAMEWORKS, available
from ._frontend import NOT_TORCH, np_dtype, parse_output
from .matrix_cells import rounded as rounded_to
from ..errors import UsageError
from ..targets import worker_env


def check_ops(ops: Sequence[str] | None, argument: str = "ops") -> list[str] | None:
    """``ops`` checked against the calling convention (``None``: each framework's every op)."""
    if ops is None:
        return None
    ops = [o for o in ops if o]
    bad = [o for o in ops if o not in CONVENTION_OPS]
    if bad or not ops:
        raise UsageError(f"{(bad or [''])[0]!r} is not an op of the calling convention "
                         f"({', '.join(CONVENTION_OPS)})", argument=argument)
    return ops


def check_frameworks(frameworks: Sequence[str] | None, argument: str = "frameworks") -> list[str]:
    """``frameworks`` checked against the known ones (``None`` or empty: all of them)."""
    names = list(frameworks or FRAMEWORKS)
    for f in names:
        if f not in FRAMEWORKS:
            have = [n for n, a in available().items() if a.installed]
            raise UsageError(f"{f!r} is not one of {', '.join(FRAMEWORKS)} (installed: {', '.join(have) or 'none'})",
                             argument=argument)
    return names


# Relative worker times measured here (float32, every op; benchmarks/bench_matrix.py), for the schedule.
_COST = {"tinygrad": 110, "tensorflow": 50, "jax": 46, "onnxruntime": 26, "torch": 18}
# Workers per framework and dtype when ``jobs`` allows: tinygrad builds each geometry's kernel in
# Python and clang (about a second each) and starts in one, so two halves of its ops halve the longest worker.
_PARTS = {"tinygrad": 2}


def run_matrix(frameworks: Sequence[str] | None = None, ops: Sequence[str] | None = None,
               dtypes: Sequence[str] = ("float32",), *, device: str = "cpu", jobs: int = 2,
               progress: Callable[[str], None] | None = None, timeout: float = 600.0) -> dict:
    """The matrix document (see the module docstring). ``ops``: the ops to run (default: every op
    of the calling convention; each framework runs those it has and reports the others as skipped
    cells, with the reason); ``progress`` gets one line per worker started and finished."""
    from .matrix_cells import DTYPES, run_framework

    names = check_frameworks(frameworks)
    ops = check_ops(ops)
    for d in dtypes:
        if d not in DTYPES:
            raise UsageError(f"{d!r} is not one of {', '.join(DTYPES)}", argument="dtypes")
    if not isinstance(jobs, int) or jobs < 1:
        raise UsageError(f"{jobs!r} must be at least 1", argument="jobs")
    avail = available()
    work = []   # (framework, dtype, part, parts, ops): a framework that compiles every geometry is split
    for f in names:
        wanted = _wanted(f, ops)
        parts = min(_PARTS.get(f, 1), jobs, len(wanted))
        for d in dtypes:   # round robin: each part gets some of every family
            work += [(f, d, i, parts, wanted[i::parts]) for i in range(parts)]
    timings: dict[str, float] = {}
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()

    def one(job):
        f, d, part, parts, chunk = job
        name = f"{f}/{d}" + (f"#{part + 1}" if parts > 1 else "")
        say(f"{name} started ({len(chunk)} ops)")
        ts = time.perf_counter()
        cells = run_framework(f, chunk, device=device, dtype=d, timeout=timeout)
        timings[name] = round(time.perf_counter() - ts, 2)
        bad = sum(c["status"] == "fail" for c in cells)
        say(f"{name}: {len(cells)} cells, {bad} failing, {timings[name]:.1f} s, done")
        return {c["op"]: c for c in cells}

    # longest first (tinygrad compiles every geometry, TensorFlow starts slowly), so that the
    # last worker to finish is not a long one started late; the cells keep the frameworks' order
    order = sorted(range(len(work)), key=lambda i: -_COST.get(work[i][0], 1) / work[i][3])
    with ThreadPoolExecutor(max_workers=jobs) as pool:   # each job is a child process
        done = dict(zip(order, pool.map(one, [work[i] for i in order])))
    by = {(w[0], w[1], op): done[i][op] for i, w in enumerate(work) for op in w[4]}
    cells = [by[(f, d, op)] for f in names for d in dtypes for op in _wanted(f, ops)]
    return {"frameworks": [{"name": f, "version": avail[f].version, "installed": avail[f].installed,
                            "install": avail[f].install, "device": device} for f in names],
            "dtypes": list(dtypes), "device": device, "jobs": jobs,
            "seconds": round(time.perf_counter() - t0, 2), "timings": timings, "cells": cells}


def _wanted(framework: str, ops: Sequence[str] | None) -> list[str]:
    """The ops of ``framework``'s cells: those it has first, then the others (skipped cells saying
    so); every op of the convention by default."""
    mine, asked = FRAMEWORKS[framework].ops, CONVENTION_OPS if ops is None else ops
    return [o for o in asked if o in mine] + [o for o in asked if o not in mine]


def _printed_equal(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    return a is not None and b is not None and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def run_snippet(text: str, timeout: float = 300.0) -> dict:
    """Run one snippet alone: ``python3 snippet.py`` in a new empty folder, ``PYTHONPATH`` unset,
    ``MALLOC_PERTURB_`` as the cells had it, with ``-X importtime`` so that the modules it imported
    are known.

    Returns ``{"returncode", "output" (stdout, then stderr's last lines on failure), "seconds",
    "cnnspec_imported"}``: the last is True when any ``cnnspec`` module was imported, which a native
    reproduction must never do (cnnspec itself may be installed, so it cannot simply be absent).
    """
    env = worker_env({k: v for k, v in os.environ.items() if k != "PYTHONPATH"})   # as the cells ran
    with tempfile.TemporaryDirectory(prefix="cnnspec-snippet-") as d:
        with open(os.path.join(d, "snippet.py"), "w", encoding="utf-8") as f:
            f.write(text)
        t = time.perf_counter()
        try:
            r = subprocess.run([sys.executable, "-X", "importtime", "snippet.py"], cwd=d, env=env,
                               capture_output=True, text=True, timeout=timeout)
            errors = [ln for ln in r.stderr.splitlines() if not ln.startswith("import time:")]
            imported = {ln.rsplit("|", 1)[-1].strip() for ln in r.stderr.splitlines() if ln.startswith("import time:")}
            code = r.returncode
            out = r.stdout + ("\n".join(errors[-5:]) if code else "")
        except subprocess.TimeoutExpired:
            code, out, imported = None, f"ran past {timeout:g} s", set()
    return {"returncode": code, "output": out, "seconds": round(time.perf_counter() - t, 2),
            "cnnspec_imported": any(m == "cnnspec" or m.startswith("cnnspec.") for m in imported)}


def excerpt(got: np.ndarray | None, want: np.ndarray | None, dtype: str, output: str, op: str = "") -> str:
    """The snippet's output in one line: its first value that differs from the exact one rounded
    to ``dtype`` (``got[0, 1, 0, 2] = -3.4028235e+38, expected -inf``), else its last line."""
    if got is not None and want is not None and got.shape == want.shape:
        rounded = rounded_to(op, want, dtype)
        bad = ~((got == rounded) | (np.isnan(got) & np.isnan(rounded)))
        if bad.any():
            i = tuple(int(v) for v in np.argwhere(bad)[0])
            show = lambda v: str(np.float64(v).astype(np_dtype("float64" if op in NOT_TORCH else dtype)))  # noqa: E731 - numpy's shortest repr
            return f"got{list(i)} = {show(got[i])}, expected {show(rounded[i])} ({int(bad.sum())} of {bad.size} differ)"
    if got is not None and want is not None:
        return f"got shape {got.shape}, expected {want.shape}"
    lines = output.strip().splitlines()
    return lines[-1][:300] if lines else "(no output)"


def confirm(doc: dict, jobs: int = 2, progress: Callable[[str], None] | None = None) -> dict:
    """Run every snippet of ``doc``'s non-pass cells alone (:func:`run_snippet`) and record on its
    case ``confirmed = {"reproduced", "output", "returncode", "seconds"}``: reproduced when the
    snippet printed the adapter's value again, that value is not the exact one rounded to the dtype
    (or, for a call the framework refused, the snippet raised too) and no cnnspec module was
    imported. Returns ``doc``."""
    rows = [(c, r) for c in doc.get("cells", []) if c.get("status") != "pass"
            for r in c.get("cases", []) if r.get("snippet")]
    say = progress or (lambda _msg: None)

    def one(item):
        cell, row = item
        run = run_snippet(row["snippet"])
        printed = parse_output(run["output"]) if run["returncode"] == 0 else {}
        got, want = printed.get("got"), printed.get("expected")
        if "got" in row:
            mine = parse_output(f"got: {row['got']}")["got"]
            rounded = None if want is None else rounded_to(cell["op"], want, cell["dtype"])
            reproduced = _printed_equal(got, mine) and not _printed_equal(got, rounded)
        else:   # the adapter's call raised: the native call must raise as well
            reproduced = run["returncode"] not in (0, None)
        reproduced = reproduced and not run["cnnspec_imported"]
        row["confirmed"] = {**run, "output": run["output"][-4000:], "reproduced": bool(reproduced),
                            "excerpt": excerpt(got, want, cell["dtype"], run["output"], cell["op"])}
        say(f"{cell['framework']} {cell['op']} {row['case']}: {'reproduced' if reproduced else 'NOT reproduced'}")

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(one, rows))
    return doc


__all__ = ["check_frameworks", "check_ops", "confirm", "run_matrix", "run_snippet"]
