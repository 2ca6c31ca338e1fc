"""The report JSON (contract: ``docs/report-schema.md``) and atomic file writing.

Minimum fields::

    {"cnnspec_version", "kind": "validate-op|validate-model|prove|train|verify", "target", "op",
     "verdict": "pass|fail", "claims": [ClaimResult.to_json()...], "environment": {...}}
"""
from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable

from .. import __version__
from ..claims import ClaimResult

KINDS = ("validate-op", "validate-model", "prove", "train", "verify")
# Fields that hold times; everything else in a report is a function of the code, the data and the seed.
TIME_KEYS = frozenset({"seconds", "elapsed_s", "started", "finished", "wall_s", "run_id", "time_s",
                       "train_s", "time_to_target_s", "images_per_s", "duration_s"})


def verdict(results: Iterable[ClaimResult]) -> str:
    """``pass`` when no claim failed or errored (skipped claims do not fail a run)."""
    return "fail" if any(r.status in ("fail", "error") for r in results) else "pass"


def environment(device: str = "cpu", seed: int | None = 0, **extra: Any) -> dict[str, Any]:
    env: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(),
                           "device": device, "seed": seed}
    torch = sys.modules.get("torch")
    if torch is None:
        try:
            import torch  # noqa: F401 - only to report the version
        except ImportError:
            torch = None
    env["torch"] = getattr(torch, "__version__", None)
    try:
        import numpy, scipy, sympy  # noqa: E401
        env.update(numpy=numpy.__version__, scipy=scipy.__version__, sympy=sympy.__version__)
    except ImportError:  # pragma: no cover - all three are dependencies
        pass
    env.update(extra)
    return env


def build_report(kind: str, results: list[ClaimResult], *, target: str | None = None,
                 op: str | None = None, env: dict[str, Any] | None = None,
                 **extra: Any) -> dict[str, Any]:
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not one of {KINDS}")
    report = {"cnnspec_version": __version__, "kind": kind, "target": target, "op": op,
              "verdict": verdict(results), "claims": [r.to_json() for r in results],
              "environment": env if env is not None else environment()}
    report.update(extra)
    return report


def write_atomic(path: str | os.PathLike, text: str | bytes) -> Path:
    """Write a file so that a reader sees the old content or the new, never half of the new."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode() if isinstance(text, str) else text
    # The writer's pid is in the name, so that a later writer can tell a killed run's leftover
    # (remove_stale_temporaries) from a live writer's file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a report is meant to be read
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files of :func:`write_atomic` left in ``folder`` by writers that died."""
    removed = []
    for p in Path(folder).glob(".*.tmp"):
        parts = p.name.split(".")
        pid = next((int(x) for x in parts[2:-1] if x.isdigit()), None)
        if pid is None or pid == os.getpid() or _alive(pid):
            continue
        try:
            p.unlink()
            removed.append(p)
        except FileNotFoundError:
            pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def dumps(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=False, default=_default) + "\n"


def _default(o: Any):
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (set, tuple)):
        return list(o)
    return str(o)


def without_times(obj: Any) -> Any:
    """A copy of a report with every time field (:data:`TIME_KEYS`) removed, at any depth.

    Two runs with the same seed give equal ``without_times(report)`` (the determinism contract).
    """
    if isinstance(obj, dict):
        return {k: without_times(v) for k, v in obj.items() if k not in TIME_KEYS}
    if isinstance(obj, list):
        return [without_times(v) for v in obj]
    return obj
