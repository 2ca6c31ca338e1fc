"""One framework × op cell of a cross-framework matrix: fixed exact-tier cases, plain-dict results.

:func:`run_cell` runs an adapter op on a fixed set of cases in *this* process (imports are reused
across cells: run every cell of a framework in one process); :func:`run_framework` does that in one
child process per framework (``python -m cnnspec.adapters.matrix_cells FRAMEWORK [OP...]``) so that
a framework that fails on import costs its own cells only, and one that crashes in a case costs that
case only (a fresh worker runs the rest).

Each case is a ``torch.nn.functional`` call on small-integer data, for which conv, max pooling and
pad are exact in any summation order, and the expected value is exact: cnnspec's oracle where it
has the op, else ``torch.nn.functional`` in float64 (exact on these data; an average's quotient is
then rounded once to float64, and the bound below absorbs it). A case is

* ``pass``: bit for bit equal to the exact value rounded to the dtype;
* ``not-bit-exact-within-bound``: average pooling within ``γ_2`` relative of the exact quotient
  (a division or a multiply by a rounded reciprocal, Higham 2002 §3.1);
* ``fail``: anything else, with the first mismatch and the conventions that explain it
  (:mod:`cnnspec.adapters.conventions`), or the exception the framework raised;
* ``skipped``: :class:`~cnnspec.adapters.NotExpressible`, with its reason; or the framework saying,
  in its own words, that it has no kernel of the cell's dtype for the op (:func:`~cnnspec.adapters.no_kernel`): the op
  is not there at that dtype, which is not a wrong value.

Max pooling also gets two *convention probes* (``"probe": True``): a NaN inside windows and an
all ``-inf`` input with padding, whose diagnoses name NaN propagation and the padding value.

A cell's status is the worst of its cases (fail > not-bit-exact-within-bound > pass), ``skipped``
when every case is.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Callable

import numpy as np

from . import FRAMEWORKS, NoKernel, NotExpressible, adapter, available, no_kernel, reproduce
from ._frontend import NOT_TORCH, np_dtype
from ..conformance.child import exit_words as child_exit_words
from ..errors import UsageError
from ..targets import worker_env

DTYPES = ("float32", "float64", "float16", "bfloat16")   # bfloat16: ml_dtypes arrays
_ORDER = {"fail": 3, "not-bit-exact-within-bound": 2, "pass": 1, "skipped": 0}


def _ints(rng, *shape) -> np.ndarray:
    return rng.integers(-3, 4, shape).astype(np.float64)


def cases(op: str) -> list[tuple[str, tuple, dict, bool]]:
    """``(name, args, kwargs, probe)`` of the fixed cases of ``op`` (float64 data; seeded)."""
    rng = np.random.default_rng(12)
    nd = int(op[-2]) if op[-2].isdigit() else 2
    sp = {1: (11,), 2: (7, 6), 3: (5, 4, 6)}[nd]
    if op == "conv2d_integer":
        xi, wi = rng.integers(0, 21, (2, 4, 7, 6)).astype(np.uint8), rng.integers(0, 11, (6, 2, 3, 2)).astype(np.uint8)
        return [("zero-points", (xi, rng.integers(0, 11, (3, 4, 3, 2)).astype(np.uint8)),
                 {"x_zero_point": np.uint8(3), "w_zero_point": np.uint8(2)}, False),
                ("stride-pad-groups", (xi, wi), {"x_zero_point": np.uint8(5), "w_zero_point": np.uint8(1),
                                                 "stride": 2, "padding": 1, "groups": 2}, False)]
    if op == "qlinear_conv2d":
        xi, wi = rng.integers(0, 21, (2, 4, 7, 6)).astype(np.uint8), rng.integers(0, 11, (6, 2, 3, 2)).astype(np.uint8)
        b = rng.integers(-50, 51, 6).astype(np.int32)
        q = (np.float32(0.5), np.uint8(3), wi, np.float32(0.25), np.uint8(2))
        return [("dyadic-ties", (xi, *q, np.float32(1.0), np.uint8(100), b), {"stride": 2, "padding": 1,
                                                                          "groups": 2}, False),
                ("decimal-scales", (xi, np.float32(0.1), np.uint8(3), wi, np.float32(0.07), np.uint8(2),
                                    np.float32(0.3), np.uint8(128), b), {"groups": 2}, False)]
    if op.startswith("conv_transpose"):
        k = {1: (3,), 2: (3, 2), 3: (2, 3, 2)}[nd]
        x, w, b = _ints(rng, 2, 4, *sp), _ints(rng, 4, 3, *k), _ints(rng, 6)
        more = []
        if nd > 1:
            # one input row, padded by 1 and spanned by a 3-tall kernel, the last axis strided: JAX
            # 0.10.2's XLA CPU aborts here at every dtype (algebraic_simplifier.cc: "Window dimensions
            # do not match RHS shape") on the valid lax.conv_general_dilated it is translated to
            row = {2: ((2, 4, 1, 3), (4, 3, 3, 2)), 3: ((2, 4, 2, 1, 3), (4, 3, 1, 3, 2))}[nd]
            more = [("one-padded-row", (_ints(rng, *row[0]), _ints(rng, *row[1])),
                     {"stride": (1,) * (nd - 1) + (2,), "padding": (0,) * (nd - 2) + (1, 1)}, False)]
        return [("plain", (x, _ints(rng, 4, 2, *k)), {}, False),
                ("stride-pad-outpad-bias", (x, w, b), {"stride": 2, "padding": 1, "output_padding": 1,
                                                      "groups": 2}, False),
                ("dilation", (x, w), {"dilation": 2, "padding": 1}, False), *more]
    if op.startswith("conv"):
        k = {1: (3,), 2: (3, 2), 3: (2, 3, 2)}[nd]
        x, w, b = _ints(rng, 2, 4, *sp), _ints(rng, 6, 2, *k), _ints(rng, 6)
        plain = ("plain", (x, _ints(rng, 3, 4, *k)), {}, False)
        # a strided, dilated kernel that spans the whole padded last axis (one output column):
        # torch 2.13 and TensorFlow 2.21 on a CPU with AVX512_BF16 read memory they never wrote here
        # at bfloat16 (oneDNN's kernels; correct with it turned off), which shows under the workers'
        # MALLOC_PERTURB_
        kspan = {1: (4,), 2: (2, 4), 3: (2, 2, 4)}[nd]
        spread = {"stride": (1,) * (nd - 1) + (2,), "padding": (1,) * (nd - 1) + (3,),
                  "dilation": (1,) * (nd - 1) + (3,)}
        more = []
        if nd == 2:
            # (lo, hi) pads, a dilated kernel spanning the padded rows of a 1-wide input: TensorFlow
            # 2.21's CPU conv2d (oneDNN) segfaults here at float16 and bfloat16 (exact with
            # TF_ENABLE_ONEDNN_OPTS=0; float32 is exact)
            more = [("asymmetric-dilated-pads", (_ints(rng, 1, 2, 3, 1), _ints(rng, 1, 2, 3, 1)),
                     {"padding": ((1, 3), (1, 2)), "dilation": (3, 1)}, False)]
        return [plain,
                ("stride-pad-bias", (x, w, b), {"stride": 2, "padding": 1, "groups": 2}, False),
                ("dilation", (x, w), {"dilation": 2 if nd < 3 else 1, "padding": 1, "groups": 2}, False),
                ("kernel-spans-padding", (_ints(rng, 2, 2, *{1: (4,), 2: (4, 4), 3: (3, 4, 4)}[nd]),
                                          _ints(rng, 3, 2, *kspan)),
                 spread, False), *more]
    x = _ints(rng, 2, 3, *sp)
    if op.startswith("max_pool"):
        nan = x.copy()
        nan.reshape(-1)[::5] = np.nan
        return [("plain", (x,), {"kernel_size": 2}, False),
                ("stride-pad", (x,), {"kernel_size": 3, "stride": 2, "padding": 1}, False),
                ("ceil", (x,), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, False),
                ("nan", (nan,), {"kernel_size": 2, "stride": 1}, True),
                ("minus-inf-padding", (np.full_like(x, -np.inf),), {"kernel_size": 3, "stride": 1, "padding": 1},
                 True)]
    if op.startswith("avg_pool"):
        return [("plain", (x,), {"kernel_size": 2}, False),
                ("pad-include", (x,), {"kernel_size": 3, "stride": 2, "padding": 1}, False),
                ("pad-exclude", (x,), {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
                 False),
                ("ceil", (x,), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, False)]
    if op == "pad":
        return [(m, (_ints(rng, 2, 3, 4, 5),), {"pad": (1, 2, 2, 1), "mode": m}, False)
                for m in ("constant", "reflect", "replicate", "circular")]
    if op.startswith("adaptive"):
        out = {1: (4,), 2: (3, 4), 3: (2, 3, 4)}[nd]
        return [("shrink", (x,), {"output_size": out}, False),
                ("one", (x,), {"output_size": 1}, False)]
    if op.startswith("max_unpool"):
        import torch
        import torch.nn.functional as tnf
        pool = getattr(tnf, f"max_pool{nd}d")
        y, idx = pool(torch.from_numpy(_ints(rng, 2, 3, *sp) * 7 + rng.random((2, 3, *sp)).round(3)),
                      2, return_indices=True)   # distinct values: no ties, one index per window
        return [("from-max-pool", (y.numpy().round(), idx.numpy()), {"kernel_size": 2,
                                                                   "output_size": sp}, False)]
    if op.startswith("lp_pool"):
        return [("p1-signed", (x,), {"norm_type": 1, "kernel_size": 2}, False),
                ("p2-one-tap-per-window", (_one_tap(rng, (2, 3, *sp), 2),), {"norm_type": 2, "kernel_size": 2,
                                                                            "stride": 2}, False),
                ("p1-ceil", (np.abs(x),), {"norm_type": 1, "kernel_size": 3, "stride": 2, "ceil_mode": True}, False)]
    return []


def _one_tap(rng, shape: tuple, k: int) -> np.ndarray:
    """Integer data with one nonzero tap in every window of kernel = stride = ``k`` (the rest of the
    windows zero), so that an Lp norm over a window is that tap's ``|v|``, exactly."""
    n, c, *sp = shape
    blocks = [m // k for m in sp]
    taps = np.zeros((n, c, *blocks, k ** len(sp)))
    np.put_along_axis(taps, rng.integers(0, k ** len(sp), (n, c, *blocks, 1)), rng.choice([-3, -2, 2, 3],
                      (n, c, *blocks, 1)).astype(np.float64), -1)
    taps = taps.reshape(n, c, *blocks, *([k] * len(sp)))
    order = [0, 1] + [a for i in range(len(sp)) for a in (2 + i, 2 + len(sp) + i)]
    x = np.zeros(shape)
    x[(Ellipsis,) + tuple(slice(0, b * k) for b in blocks)] = taps.transpose(order).reshape(
        n, c, *[b * k for b in blocks])
    return x


def expected(op: str, args: tuple, kwargs: dict) -> tuple[np.ndarray, str]:
    """The exact value (float64) and where it comes from."""
    from .. import oracle
    if op in oracle.OPS:
        return np.asarray(oracle.OPS[op](*args, **kwargs), np.float64), "cnnspec.oracle"
    import torch
    import torch.nn.functional as tnf
    y = getattr(tnf, op)(*[torch.from_numpy(np.asarray(a)) for a in args], **kwargs)
    return y.numpy(), "torch.nn.functional float64"


def rounded(op: str, want: np.ndarray, dtype: str) -> np.ndarray:
    """The exact value as a correct result holds it: rounded to the cell's float ``dtype`` (float64
    values), except for the integer ops, whose uint8/int8 data and integer results the float dtype
    does not touch (792 is an exact int32 output, though bfloat16 has no 791)."""
    if op in NOT_TORCH:
        return np.asarray(want, np.float64)
    return want.astype(np_dtype(dtype)).astype(np.float64)


def _compare(op: str, args, kwargs, got, want, dtype: str) -> tuple[str, str, list[str]]:
    from .. import oracle
    from .conventions import diagnose
    got = np.asarray(got)
    rounded_ = rounded(op, want, dtype)
    g = np.asarray(got, np.float64) if got.shape == want.shape else None
    if g is not None and np.array_equal(g, rounded_, equal_nan=True):
        return "pass", "", []
    why = diagnose(op, args, kwargs, got, want)
    if g is None:
        return "fail", f"shape {got.shape}, but should be {want.shape} [{op}]", why
    if op.startswith(("avg_pool", "adaptive_avg_pool", "lp_pool")):
        # a quotient (an lp_pool's average, then its root: each within 1 ulp) and the reference's own
        # float64 rounding (Higham 2002, §3.1)
        g2 = oracle.gamma(2, dtype) + oracle.gamma(2, "float64")
        if np.all(np.abs(g - want) <= g2 * np.abs(want)):
            return "not-bit-exact-within-bound", f"{int((g != rounded_).sum())} outputs within γ_2 of the exact quotient", why
    bad = ~((g == rounded_) | (np.isnan(g) & np.isnan(rounded_)))
    i = tuple(int(v) for v in np.argwhere(bad)[0])
    call = ", ".join(f"{k}={v!r}" for k, v in kwargs.items() if not isinstance(v, np.ndarray))
    return "fail", (f"out{list(i)}={float(g[i])!r}, but should be {float(rounded_[i])!r} [{op}({call})] "
                    f"({int(bad.sum())} of {bad.size} outputs differ)"), why


def _attach_snippet(row: dict, framework: str, op: str, args: tuple, kwargs: dict, got, want) -> None:
    """The case's native reproduction (:func:`cnnspec.adapters.reproduce`: the framework's own API,
    no cnnspec) and the adapter's value, which the snippet run alone must print again."""
    try:
        row["snippet"] = reproduce(framework, op, args, kwargs, want)
    except NotExpressible:
        return
    if got is not None:
        # as the snippet prints it (text: NaN and infinities have no JSON number)
        row["got"] = repr(np.asarray(got[0] if isinstance(got, tuple) else got, np.float64).tolist())


def _typed(args: tuple, dtype: str) -> tuple:
    """Float data in the cell's dtype; integer data (indices, uint8 and int8 ops) and scales as they are."""
    return tuple(np.asarray(a).astype(np_dtype(dtype)) if np.ndim(a) and np.asarray(a).dtype.kind == "f"
                 else a for a in args)


def run_cell(framework: str, op: str, *, device: str = "cpu", dtype: str = "float32",
             fn: Callable | None = None, starting: Callable[[str], None] | None = None,
             crashed: dict[str, str] | None = None) -> dict:
    """Every case of ``op`` through ``framework``'s adapter (or ``fn``, any callable of the calling
    convention, e.g. a user's target), here: a plain dict (JSON-ready). ``starting(case)`` is called
    before each case runs (the worker tells its parent, which then knows the case a crash ended);
    the cases in ``crashed`` (name -> what happened) ended an earlier worker: they are not run
    again but fail with those words and their native snippet, which must end the same way alone."""
    if dtype not in DTYPES:
        raise UsageError(f"dtype: {dtype!r} is not one of {', '.join(DTYPES)} (NumPy arrays)")
    t0 = time.perf_counter()
    native = fn is None     # a snippet in the framework's own API exists for its adapter only
    cell = {"framework": framework, "op": op, "dtype": dtype, "device": device, "cases": []}
    try:
        fn = adapter(framework, op, device) if fn is None else fn
    except NotExpressible as e:
        return {**cell, "status": "skipped", "diagnosis": None, "reason": str(e),
                "seconds": time.perf_counter() - t0}
    if not cases(op):
        return {**cell, "status": "skipped", "diagnosis": None, "reason": f"no exact-tier matrix cases for {op} yet",
                "seconds": time.perf_counter() - t0}
    for name, args, kwargs, probe in cases(op):
        t = time.perf_counter()
        want, source = expected(op, args, kwargs)
        typed = _typed(args, dtype)
        row = {"case": name, "kwargs": repr(kwargs), "probe": probe, "reference": source, "diagnosis": []}
        if crashed and name in crashed:
            row["status"], row["message"] = "fail", crashed[name]
            if native:
                _attach_snippet(row, framework, op, typed, kwargs, None, want)
            cell["cases"].append({**row, "seconds": 0.0})
            continue
        if starting is not None:
            starting(name)
        try:
            got = fn(*typed, **kwargs)
            row["status"], row["message"], row["diagnosis"] = _compare(op, typed, kwargs, got, want, dtype)
            if row["status"] != "pass" and native:
                _attach_snippet(row, framework, op, typed, kwargs, got, want)
        except NotExpressible as e:
            row["status"], row["message"] = "skipped", str(e)
        except Exception as e:  # noqa: BLE001 - the framework refusing a valid call is a result
            said = e.said if isinstance(e, NoKernel) else f"{type(e).__name__}: {(str(e).splitlines() or [''])[0]}"
            if no_kernel(e, dtype):
                row["status"], row["message"] = "skipped", f"{framework} has no {dtype} kernel on {device} for this {op} call ({said})"
            else:
                row["status"], row["message"] = "fail", f"raised {said}"
            if native and row["status"] == "fail":
                _attach_snippet(row, framework, op, typed, kwargs, None, want)
        row["seconds"] = time.perf_counter() - t
        cell["cases"].append(row)
    worst = max(cell["cases"], key=lambda r: _ORDER[r["status"]])
    fails = [r for r in cell["cases"] if r["status"] == "fail"]
    # one sentence per convention (the first case's: the counts in the others' differ); for a cell
    # that is not bit-exact but within bound, what explains its inexact cases
    named = fails or [r for r in cell["cases"] if r["status"] == "not-bit-exact-within-bound"]
    firsts = {d.split(":", 1)[0]: d for r in reversed(named) for d in r["diagnosis"]}
    diagnosis = "; ".join(dict.fromkeys(firsts[d.split(":", 1)[0]] for r in named for d in r["diagnosis"])) or \
        (fails[0]["message"] if fails else None)
    # one reason per kind: cases that differ only in the framework's words on the call (a node's
    # strides, say) give one sentence, the first one's
    skips = {r["message"].split(" (", 1)[0]: r["message"] for r in reversed(cell["cases"]) if r["status"] == "skipped"}
    return {**cell, "status": worst["status"], "diagnosis": diagnosis,
            "reason": "; ".join(reversed(skips.values())) or None, "seconds": time.perf_counter() - t0}


def run_framework(framework: str, ops=None, *, device: str = "cpu", dtype: str = "float32",
                  timeout: float = 600.0) -> list[dict]:
    """All cells of ``framework`` (default: its every op) in one child process; a framework that is
    not installed, fails on import or dies gives ``skipped``/``fail`` cells saying so."""
    avail = available(framework)     # a UsageError naming the known frameworks for an unknown one
    ops = list(FRAMEWORKS[framework].ops if ops is None else ops)
    base = {"framework": framework, "dtype": dtype, "device": device, "cases": [], "seconds": 0.0}
    if not avail.installed:
        return [{**base, "op": op, "status": "skipped", "diagnosis": None,
                 "reason": f"{framework} is not installed: {FRAMEWORKS[framework].install}"} for op in ops]
    root = str(Path(__file__).resolve().parents[2])   # this cnnspec, whatever the caller's cwd
    env = worker_env({**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)})
    cells: list[dict] = []
    remaining, deadline = ops, time.monotonic() + timeout
    crashed: dict[str, dict[str, str]] = {}    # op -> case -> how it ended a worker
    while remaining:
        # the worker prints each cell as one JSON line when it is done, and each case as it starts
        # it: a worker that dies in a case keeps the cells before it, and a fresh worker takes the
        # rest, that case failing with its snippet instead of running again
        argv = [sys.executable, "-m", "cnnspec.adapters.matrix_cells", framework, *remaining, "--device",
                device, "--dtype", dtype, "--crashed", json.dumps(crashed)]
        try:
            out = subprocess.run(argv, capture_output=True, text=True, env=env,
                                 timeout=max(1.0, deadline - time.monotonic()))
            stdout, code, hung = out.stdout, out.returncode, False
            stderr = out.stderr
        except subprocess.TimeoutExpired as e:
            stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            stderr, code, hung = "", None, True
        done, running = [], None
        for ln in stdout.splitlines():        # the cells, in order; anything else the framework printed
            try:
                cell = json.loads(ln)
            except ValueError:
                continue
            if not isinstance(cell, dict) or len(done) >= len(remaining):
                continue
            if cell.get("running") == remaining[len(done)] and isinstance(cell.get("case"), str):
                running = cell["case"]      # the case the worker started last, in the op it is on
            elif cell.get("op") == remaining[len(done)] and "running" not in cell:
                done.append(cell)
                running = None
        cells += done
        remaining = remaining[len(done):]
        if code == 0 or not remaining:
            break
        last = (stderr.strip().splitlines() or [""])[-1]
        on = remaining[0] + (f", case {running}" if running else "")
        if hung:
            why = f"the worker ran past {timeout:g} s on {on}"
        elif code is not None and code < 0:
            why = f"the worker process died on {on} ({child_exit_words(code)})"
        else:
            why = last or f"exit code {code}"
        if hung or code == 2 or not done and code > 0 and running is None:
            # a hang, or a framework that fails before its first cell (its import): the rest too
            return cells + [{**base, "op": op, "status": "fail", "diagnosis": f"worker failed: {why}",
                             "reason": None} for op in remaining]
        if running is not None and running not in crashed.get(remaining[0], {}):
            crashed.setdefault(remaining[0], {})[running] = f"worker failed: {why}"   # the op again, without it
            continue
        cells.append({**base, "op": remaining[0], "status": "fail", "diagnosis": f"worker failed: {why}",
                      "reason": None})
        remaining = remaining[1:]
    return cells


def main(argv=None) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m cnnspec.adapters.matrix_cells",
                                description="Run one framework's matrix cells here; print them as JSON.")
    p.add_argument("framework")
    p.add_argument("ops", nargs="*")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--crashed", default="{}", help="JSON: op -> case -> how it ended an earlier worker")
    a = p.parse_args(argv)
    try:
        from . import load, worker_process
        worker_process()
        load(a.framework)
        crashed = json.loads(a.crashed)
        for op in a.ops or FRAMEWORKS[a.framework].ops:
            def starting(case: str, op: str = op) -> None:
                print(json.dumps({"running": op, "case": case}), flush=True)
            print(json.dumps(run_cell(a.framework, op, device=a.device, dtype=a.dtype, starting=starting,
                                      crashed=crashed.get(op))), flush=True)
    except UsageError as e:
        print(str(e), file=sys.stderr)
        return 2
    except Exception:  # noqa: BLE001 - the parent reads the last line of stderr
        print(traceback.format_exc().strip().splitlines()[-1], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
