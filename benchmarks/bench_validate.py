"""Whole ``cnnspec validate`` commands, this checkout against a baseline commit, side by side.

    python benchmarks/bench_validate.py [--baseline-rev REV] [--repeat 5] [--cases torch-conv2d ...]
    python benchmarks/bench_validate.py --breakdown [--cases ...]     # where the time goes

The baseline is the tree of ``REV`` (default: the merge base of ``HEAD`` and ``main``, the commit
before this branch's changes), written by ``git archive`` into a temporary folder: nothing in the
repository or its worktrees is changed. Each case is one command line, run as a user runs it
(``python -m cnnspec validate TARGET --op OP --quiet``, a fresh interpreter each time, the
target's child process included), ``--repeat`` times per tree, the two trees interleaved (old,
new, new, old, ...) so that a change of the machine's load falls on both. Printed per case: the
median and the spread (min-max) of each tree, the ratio new/old of the medians, and whether the
two trees gave the same verdict line (the same counts of passed, failed, skipped claims).

``--breakdown`` runs each case once per tree through a driver that wraps cnnspec's own functions
with timers (in this process only; the child is timed from its start to its "ready"), and prints
where the wall time goes: the interpreter's start and cnnspec's imports, loading the claims,
the parent's wait for the child to be ready, drawing the cases (hypothesis), the round trips to
the target, the checks (the oracle and the verdicts: the claims' time less the other two) and
the report; and, after the run, a child started alone (spawn to ready: its interpreter and the
target's imports). On a shared machine
compare ratios measured in one run, not seconds from different runs; the load average is printed.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASES: dict[str, list[str]] = {
    "torch-conv2d": ["torch.nn.functional:conv2d", "--op", "conv2d", "--array", "torch"],
    "torch-max_pool2d": ["torch.nn.functional:max_pool2d", "--op", "max_pool2d", "--array", "torch"],
    "onnxruntime-conv2d": ["onnxruntime", "--op", "conv2d"],
    "jax-conv2d": ["jax", "--op", "conv2d"],
    "tensorflow-conv2d": ["tensorflow", "--op", "conv2d"],
}

# The breakdown driver: runs `cnnspec validate ARGS` in-process with timers around cnnspec's own
# functions, whichever of them the tree has (the baseline and this checkout differ), and prints
# one JSON line of phase seconds on stderr's last line.
DRIVER = r"""
import importlib.abc, json, sys, time, threading
T_LAUNCH = float(sys.argv[1]); T0 = time.time()
acc = {"interpreter start": T0 - T_LAUNCH}
main_thread = threading.main_thread()
IN_CLAIM = [False]
def add(k, dt): acc[k] = acc.get(k, 0.0) + dt
def wrap(owner, name, key, main_only=False):
    f = getattr(owner, name, None)
    if f is None:
        return
    def timed(*a, **k):
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            if not main_only or threading.current_thread() is main_thread:
                dt = time.perf_counter() - t
                add(key, dt)
                if IN_CLAIM[0]:
                    add("in claims: " + key, dt)
    setattr(owner, name, timed)
def patch_iso(I):
    if hasattr(I.Worker, "wait_ready"):   # the child is started first and waited for later
        wrap(I.Worker, "wait_ready", "main waits for child ready")
    else:   # the baseline starts the child and waits for it in one step
        wrap(I.Worker, "_start", "main waits for child ready")
    wrap(I.Worker, "call_many", "target calls (round trips)", main_only=True)
def patch_props(P):
    wrap(P, "draw_cases", "generation (hypothesis)", main_only=True)
def patch_runner(R):
    for name in ("load_all", "load_conformance"):
        wrap(R, name, "load claims (parent)")
    for name in ("build_report", "_environment"):
        wrap(R, name, "report")
    run_claim = R.run_claim
    def timed_claim(*a, **k):
        t = time.perf_counter(); IN_CLAIM[0] = True
        try:
            return run_claim(*a, **k)
        finally:
            IN_CLAIM[0] = False; add("claims (all)", time.perf_counter() - t)
    R.run_claim = timed_claim
def patch_validate(V):
    wrap(V, "summary_lines", "report")
# each module is patched as soon as it is imported, so that the run imports what it imports when
# it would (importing them all first would hide what a lazy import saves)
HOOKS = {"cnnspec.conformance.isolation": patch_iso, "cnnspec.conformance.properties": patch_props,
         "cnnspec.conformance.runner": patch_runner, "cnnspec.commands.validate": patch_validate}
class Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in HOOKS:
            return None
        for finder in sys.meta_path:
            spec = None if finder is self else finder.find_spec(name, path, target)
            if spec is not None:
                run = spec.loader.exec_module
                def exec_module(module, run=run):
                    run(module); HOOKS[name](module)
                spec.loader.exec_module = exec_module
                return spec
        return None
sys.meta_path.insert(0, Hook())
t = time.perf_counter()
import cnnspec.cli as cli
add("imports: cnnspec.cli", time.perf_counter() - t)
t = time.perf_counter()
code = cli.main(sys.argv[2:])
add("cli.main (validate, all of it)", time.perf_counter() - t)
sys.stdout.flush()
acc["total (in process)"] = time.time() - T_LAUNCH
# the child alone, after the run (not part of the total): spawn to "ready", its interpreter's
# start and its imports (cnnspec's engine and the target's library)
import cnnspec.conformance.isolation as I, cnnspec.conformance.runner as R
args = sys.argv[2:]
target = R.framework_target(args[1], args[args.index("--op") + 1])[0]
array = args[args.index("--array") + 1] if "--array" in args else "numpy"
t = time.perf_counter()
I.Worker(target, array=array).close()
acc["child alone: spawn to ready"] = time.perf_counter() - t
print(json.dumps(acc), file=sys.stderr)
"""


def baseline_tree(rev: str, into: Path) -> Path:
    """The files of ``rev`` (``git archive``) in ``into``; the repository is only read."""
    data = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev],
                          check=True, capture_output=True).stdout
    tar = into / "tree.tar"
    tar.write_bytes(data)
    with tarfile.open(tar) as t:
        t.extractall(into / "tree", filter="data")
    return into / "tree"


def default_rev() -> str:
    r = subprocess.run(["git", "-C", str(ROOT), "merge-base", "HEAD", "main"], capture_output=True, text=True)
    return r.stdout.strip() or "main"


def env_for(tree: Path) -> dict:
    # python -m puts the working folder first; PYTHONPATH also names the tree, for the child
    return {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_once(tree: Path, argv: list[str]) -> tuple[float, float, int, str]:
    """``(wall seconds, CPU seconds, exit code, verdict line)`` of one whole command; the CPU
    time is the command's and its child's (user + system), less sensitive to a loaded machine."""
    t, c = time.perf_counter(), _cpu_children()
    out = subprocess.run([sys.executable, "-m", "cnnspec", "validate", *argv, "--quiet"], cwd=tree,
                         env=env_for(tree), capture_output=True, text=True, timeout=900)
    dt, cpu = time.perf_counter() - t, _cpu_children() - c
    verdict = next((ln.strip("= ").split(" in ")[0] for ln in reversed(out.stdout.splitlines())
                    if ln.startswith("=")), (out.stderr.strip().splitlines() or ["?"])[-1][:120])
    return dt, cpu, out.returncode, verdict


def breakdown_once(tree: Path, argv: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-c", DRIVER, repr(time.time()), "validate", *argv, "--quiet"],
                         cwd=tree, env=env_for(tree), capture_output=True, text=True, timeout=900)
    try:
        acc = json.loads(out.stderr.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    claims = acc.pop("claims (all)", 0.0)
    inside = {k: acc.pop(k) for k in list(acc) if k.startswith("in claims: ")}
    gen = inside.get("in claims: generation (hypothesis)", 0.0)
    calls = inside.get("in claims: target calls (round trips)", 0.0)   # a restart is inside a call
    acc["checks: oracle + verdicts"] = claims - gen - calls
    return acc


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline-rev", default=None, help="git revision to compare with (default: merge base with main)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per case and tree (default 5)")
    ap.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    ap.add_argument("--breakdown", action="store_true", help="where the time goes, per phase")
    ap.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    a = ap.parse_args(argv)
    if a.repeat < 1:
        ap.error(f"--repeat: {a.repeat} must be at least 1")
    rev = a.baseline_rev or default_rev()
    with tempfile.TemporaryDirectory(prefix="cnnspec-bench-") as tmp:
        old = baseline_tree(rev, Path(tmp))
        trees = {"old": old, "new": ROOT}
        print(f"baseline: {rev[:12]} (git archive); new: {ROOT}; load average {load_average()}")
        figures: dict = {"baseline_rev": rev, "load_start": load_average(), "cases": {}}
        if a.breakdown:
            for case in a.cases:
                rows = {name: breakdown_once(tree, CASES[case]) for name, tree in trees.items()}
                figures["cases"][case] = rows
                print(f"\n{case}")
                keys = [k for k in rows["old"] if k != "error"] + [k for k in rows["new"] if k not in rows["old"]]
                for k in keys:
                    o, n = rows["old"].get(k), rows["new"].get(k)
                    print(f"  {k:34} {_s(o):>8} {_s(n):>8}")
        else:
            print(f"{'case':20} {'old median (min-max) s':>24} {'new median (min-max) s':>24} {'new/old':>7}"
                  f" {'CPU old':>8} {'CPU new':>8} {'new/old':>7}  verdicts")
            for case in a.cases:
                times: dict = {"old": [], "new": []}
                cpu: dict = {"old": [], "new": []}
                verdicts: dict = {"old": set(), "new": set()}
                for i in range(a.repeat):
                    order = ("old", "new") if i % 2 == 0 else ("new", "old")
                    for name in order:
                        dt, c, code, verdict = run_once(trees[name], CASES[case])
                        times[name].append(dt)
                        cpu[name].append(c)
                        verdicts[name].add((code, verdict))
                med = {k: statistics.median(v) for k, v in times.items()}
                mcpu = {k: statistics.median(v) for k, v in cpu.items()}
                same = "same" if verdicts["old"] == verdicts["new"] else f"DIFFER {verdicts}"
                print(f"{case:20} {_spread(times['old']):>24} {_spread(times['new']):>24} "
                      f"{med['new'] / med['old']:7.2f} {mcpu['old']:8.2f} {mcpu['new']:8.2f} "
                      f"{mcpu['new'] / mcpu['old']:7.2f}  {same}: {sorted(verdicts['new'])[0][1]}", flush=True)
                figures["cases"][case] = {"old_s": times["old"], "new_s": times["new"],
                                          "old_cpu_s": cpu["old"], "new_cpu_s": cpu["new"],
                                          "ratio": med["new"] / med["old"],
                                          "cpu_ratio": mcpu["new"] / mcpu["old"],
                                          "verdicts": {k: sorted(map(list, v)) for k, v in verdicts.items()}}
        figures["load_end"] = load_average()
        print(f"load average at the end {figures['load_end']}")
        if a.json:
            Path(a.json).write_text(json.dumps(figures, indent=1))
    return 0


def _s(v) -> str:
    return "-" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)[:30]


def _spread(v: list[float]) -> str:
    return f"{statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})"


if __name__ == "__main__":
    sys.exit(main())
