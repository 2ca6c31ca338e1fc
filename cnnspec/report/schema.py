"""The report JSON, its JSON Schema, its summary and exit code, and atomic file writing.

Minimum fields (the schema, :data:`SCHEMA_PATH`, is the authority)::

    {"cnnspec_version", "kind": "validate-op|validate-model|prove|train|verify|matrix", "target",
     "op", "verdict": "pass|fail",
     "summary": {"pass", "fail", "warn", "error", "skipped", "exit_code", "seconds"},
     "claims": [ClaimResult.to_json()...], "environment": {...}}

Exit codes (the command line's contract): 0 when no claim fails or errors (warnings allowed), 1 when
one does (or warns, under ``strict``), 2 for usage and input errors (never written in a report).
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Union

from .._version import __version__
from ..claims import ClaimResult, count_statuses
from ..targets import worker_env

KINDS = ("validate-op", "validate-model", "prove", "train", "verify", "matrix")
SCHEMA_PATH = Path(__file__).with_name("report.schema.json")
# Fields that hold times; everything else in a report is a function of the code, the data and the seed.
TIME_KEYS = frozenset({"seconds", "elapsed_s", "started", "finished", "wall_s", "run_id", "time_s",
                       "train_s", "time_to_target_s", "images_per_s", "duration_s"})
Result = Union[ClaimResult, Mapping[str, Any]]


def exit_code(results: Iterable[Result], strict: bool = False) -> int:
    """0 when no claim fails or errors (warnings and skips allowed), else 1; ``strict``: warn fails too."""
    n = count_statuses(results)
    return 1 if n["fail"] or n["error"] or (strict and n["warn"]) else 0


def verdict(results: Iterable[Result], strict: bool = False) -> str:
    """``pass`` when :func:`exit_code` is 0 (skipped claims and, unless ``strict``, warnings pass)."""
    return "fail" if exit_code(results, strict) else "pass"


def summary(results: Iterable[Result], *, seconds: float | None = None, strict: bool = False) -> dict[str, Any]:
    """The report's ``summary``: counts per status, the exit code, the duration (summed claim
    times when ``seconds`` is not given), and whether warnings were held as failures."""
    results = list(results)
    n = count_statuses(results)
    if seconds is None:
        seconds = sum(_seconds(r) for r in results)
    return {**n, "exit_code": exit_code(results, strict), "seconds": round(float(seconds), 3),
            "strict": bool(strict)}


def _seconds(r: Result) -> float:
    v = r.get("seconds") if isinstance(r, Mapping) else getattr(r, "seconds", 0.0)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0


def environment(device: str = "cpu", seed: int | None = 0, **extra: Any) -> dict[str, Any]:
    """Where a report was made: Python, torch (backends, threads), hypothesis, numpy/scipy/sympy,
    cnnspec's git commit (``None`` outside a checkout), the CPU model, NumPy's BLAS and its kernels
    (:func:`blas_info`), the device, the seed and the ``MALLOC_PERTURB_`` byte of the workers
    (:func:`cnnspec.targets.worker_env`).

    torch is imported unless the caller blocked it (``sys.modules["torch"] = None``, the runner's way
    of not paying torch's import in a process that does not use it); then only its version is read.
    """
    env: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(),
                           "device": device, "seed": seed}
    env.update(_torch_info())
    try:
        import hypothesis, numpy, scipy, sympy  # noqa: E401
        env.update(hypothesis=hypothesis.__version__, numpy=numpy.__version__, scipy=scipy.__version__,
                   sympy=sympy.__version__)
    except ImportError:  # pragma: no cover - all four are dependencies
        pass
    env.update(cnnspec=__version__, git_commit=git_commit(), cpu=cpu_model(), blas=blas_info(),
               worker_malloc_perturb=worker_env(dict(os.environ))["MALLOC_PERTURB_"])
    env.update(extra)
    return env


def _torch_info() -> dict[str, Any]:
    if "torch" in sys.modules and sys.modules["torch"] is None:
        from importlib import metadata
        try:
            return {"torch": metadata.version("torch")}
        except metadata.PackageNotFoundError:
            return {"torch": None}
    try:
        import torch
    except ImportError:
        return {"torch": None}
    backends = {"mkldnn": torch.backends.mkldnn.is_available(), "mkl": torch.backends.mkl.is_available(),
                "openmp": torch.backends.openmp.is_available(),
                "cuda": torch.version.cuda if torch.cuda.is_available() else None,
                "cudnn": torch.backends.cudnn.version() if torch.cuda.is_available() else None}
    return {"torch": torch.__version__, "torch_backends": backends, "torch_threads": torch.get_num_threads()}


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the checkout cnnspec runs from, or ``None`` (an installed copy, no git)."""
    here = Path(__file__).resolve().parent
    try:
        r = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                           timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    sha = r.stdout.strip()
    return sha if r.returncode == 0 and len(sha) == 40 else None


# Variables that make OpenBLAS run other kernels than those it detects for the CPU, or block them
# otherwise: OPENBLAS_CORETYPE (OpenBLAS docs/faq.md, "runtime CPU detection"), OPENBLAS_L2_SIZE
# (read in kernel/setparam-ref.c), OPENBLAS_BLOCK_FACTOR (driver/others/openblas_env.c). Some
# machines set them to avoid bugs of older OpenBLAS builds on newer CPUs.
BLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_BLOCK_FACTOR")


def blas_info() -> dict[str, Any] | None:
    """NumPy's BLAS in this process, as threadpoolctl reads it from the loaded library: its name,
    version, the kernels it runs (OpenBLAS's core type, e.g. ``SkylakeX``), its threads, and the
    environment variables that override its choice of kernels or their blocking (``overrides``;
    ``None`` when none is set). The exact oracle's GEMMs run there, so its speed is these
    kernels'. ``None`` where NumPy's BLAS is not one threadpoolctl knows."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:     # pragma: no cover - a dependency
        return None
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    if not pools:
        return None
    # scipy may load a BLAS of its own beside NumPy's: the oracle uses NumPy's
    pool = next((p for p in pools if "numpy" in str(p.get("filepath", ""))), pools[0])
    forced = " ".join(f"{v}={os.environ[v]}" for v in BLAS_OVERRIDES if v in os.environ)
    return {"library": pool.get("internal_api"), "version": pool.get("version"),
            "kernels": pool.get("architecture"), "threads": pool.get("num_threads"),
            "overrides": forced or None}


@lru_cache(maxsize=1)
def cpu_model() -> str | None:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else what :mod:`platform` knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip() or None
    except OSError:
        pass
    return platform.processor() or platform.machine() or None


def build_report(kind: str, results: list[ClaimResult], *, target: str | None = None,
                 op: str | None = None, env: dict[str, Any] | None = None, strict: bool = False,
                 **extra: Any) -> dict[str, Any]:
    """The report dict of ``results`` (schema: :data:`SCHEMA_PATH`), ``summary`` included.

    ``extra`` fields are kept (``stages``, ``artifacts``, ``targets``, ``metrics`` …); the summary's
    duration is ``extra["seconds"]`` or ``extra["wall_s"]`` when given, else the claims' sum.
    """
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not one of {KINDS}")
    report = {"cnnspec_version": __version__, "kind": kind, "target": target, "op": op,
              "verdict": verdict(results, strict), "claims": [r.to_json() for r in results],
              "environment": env if env is not None else environment()}
    report.update(extra)
    report["summary"] = summary(results, seconds=_duration(report), strict=strict)
    return report


def _duration(report: Mapping[str, Any]) -> float | None:
    for k in ("seconds", "wall_s"):
        v = report.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
    return None


def finalize(report: dict[str, Any], strict: bool | None = None) -> dict[str, Any]:
    """``report`` with its verdict and summary recomputed from its claims (a saved verdict or
    count is never trusted over the claims it summarises); ``strict`` defaults to the saved one."""
    if strict is None:
        strict = bool((report.get("summary") or {}).get("strict", False))
    claims = report.get("claims", [])
    report["verdict"] = verdict(claims, strict)
    report["summary"] = summary(claims, seconds=_duration(report), strict=strict)
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


# --- reading reports back: nothing in a saved report is trusted --------------------------------------

MAX_DEPTH = 64            # arrays of an N,C,D,H,W counterexample nest 6 deep; a report never 64
MAX_REPORT_BYTES = 256 << 20


@lru_cache(maxsize=1)
def json_schema() -> dict[str, Any]:
    """The JSON Schema of ``report.json`` shipped with the package (:data:`SCHEMA_PATH`)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def schema_errors(report: Any) -> list[str]:
    """Every way ``report`` breaks the schema, one line each, in the order of the document.

    Each line names the field (``claims[3].status``), shows the value (shortened) and the rule. A
    document nested deeper than :data:`MAX_DEPTH` is one error, found before any recursion.
    """
    deep = too_deep(report)
    if deep is not None:
        return [f"{deep}: nested deeper than {MAX_DEPTH} levels (a report never is)"]
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(json_schema())
    errors = sorted(validator.iter_errors(report), key=lambda e: _doc_order(report, e.absolute_path))
    return [f"{field_path(e.absolute_path)}: {_rule(e)}" for e in errors]


def validate(report: Any, where: str = "report") -> None:
    """Raise :class:`~cnnspec.errors.UsageError` naming the first field of ``report`` that breaks the
    schema (``where`` is how the message names the document, e.g. its path)."""
    from ..errors import UsageError

    errors = schema_errors(report)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise UsageError(f"{where}: {errors[0]}{more}")


def too_deep(obj: Any, limit: int = MAX_DEPTH) -> str | None:
    """The path of the first value nested deeper than ``limit``, or ``None`` (iterative: no recursion)."""
    stack: list[tuple[Any, int, tuple]] = [(obj, 0, ())]
    while stack:
        v, depth, path = stack.pop()
        if depth > limit:
            return field_path(path[:8]) + ("…" if len(path) > 8 else "")
        if isinstance(v, dict):
            stack += [(x, depth + 1, path + (k,)) for k, x in v.items()]
        elif isinstance(v, list):
            stack += [(x, depth + 1, path + (i,)) for i, x in enumerate(v)]
    return None


def field_path(path: Iterable[Any]) -> str:
    """``["claims", 3, "status"]`` → ``claims[3].status`` (``(root)`` for the document itself)."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return _printable(out) or "(root)"


def _doc_order(doc: Any, path: Iterable[Any]) -> tuple:
    key, node = [], doc
    for p in path:
        if isinstance(node, dict):
            keys = list(node)
            key.append(keys.index(p) if p in node else len(keys))
            node = node.get(p)
        elif isinstance(node, list) and isinstance(p, int):
            key.append(p)
            node = node[p] if p < len(node) else None
        else:
            key.append(0)
    return tuple(key)


def _rule(e: Any) -> str:
    v, rule = _short(e.instance), e.validator
    if rule == "enum":
        allowed = ", ".join("null" if a is None else str(a) for a in e.validator_value)
        return f"{v} is not one of {allowed}"
    if rule == "type":
        want = e.validator_value if isinstance(e.validator_value, list) else [e.validator_value]
        return f"{v} is not of type {' or '.join(want)}"
    if rule == "required":
        missing = next((k for k in e.validator_value if isinstance(e.instance, dict) and k not in e.instance), "?")
        return f"field {missing!r} is missing"
    if rule == "oneOf":
        return f"{v} is neither null nor an object"
    if rule in ("minimum", "maximum"):
        return f"{v} is {'below' if rule == 'minimum' else 'above'} {e.validator_value}"
    if rule in ("minLength", "maxLength"):
        return f"{v} is {'shorter' if rule == 'minLength' else 'longer'} than {e.validator_value} characters"
    if rule == "additionalProperties":
        return _printable(e.message)[:200]
    return f"{v}: {_printable(e.message)[:160]}"


def _short(v: Any, limit: int = 60) -> str:
    text = json.dumps(v, default=str, ensure_ascii=True)
    return _printable(text if len(text) <= limit else text[:limit - 1] + "…")


def _printable(s: str) -> str:
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in s)
