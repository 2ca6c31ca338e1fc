"""Validate a third-party op against every conformance claim: the API behind ``cnnspec validate``.

>>> results, report = validate_op("torch.nn.functional:conv2d", "conv2d", array="torch")  # doctest: +SKIP
>>> report["verdict"]                                                                       # doctest: +SKIP
'pass'

:func:`validate_op` starts one child process for the target (see :mod:`.isolation`), runs each
claim of the op in turn (a crash, hang or exception fails that claim and the run goes on, in a
fresh child), and returns the claim results with the report JSON (DESIGN.md §5, kind
``validate-op``).
"""
from __future__ import annotations

import time
from typing import Callable

from ..claims import REGISTRY, ClaimResult, load_all, run_claim
from ..errors import UsageError
from ..oracle import INPUT_ROUNDINGS
from ..options import EXAMPLES, SHRINK, check_count, check_seconds
from ..report import build_report, environment
from .isolation import Worker
from .properties import OP_CLAIMS, Context

OPS = ("conv1d", "conv2d", "max_pool2d", "avg_pool2d")
DEFAULT_EXAMPLES = 40


def claims_for(op: str) -> list[str]:
    """The ids of the conformance claims that apply to ``op``, in registry order."""
    load_all()
    if op not in OPS:
        raise UsageError(f"op: {op!r} is not one of {', '.join(OPS)}")
    return list(OP_CLAIMS.get(op, []))


def validate_op(target: str, op: str, *, array: str = "numpy", device: str = "cpu",
                dtype: str = "float32", examples: int | None = None, seed: int = 0,
                timeout: float = 60.0, progress: Callable[[str], None] | None = None,
                claims: list[str] | None = None, shrink_seconds: float = 20.0,
                input_rounding: str | None = None) -> tuple[list[ClaimResult], dict]:
    """Run every conformance claim of ``op`` against ``target``; ``(results, report dict)``.

    ``target`` is ``package.module:attr`` or ``path/to/file.py:attr`` with the
    ``torch.nn.functional`` signature of ``op``, taking and returning ``array`` arrays (``numpy``
    or ``torch``) of ``dtype`` on ``device``. ``examples`` cases per property (default
    :data:`DEFAULT_EXAMPLES`), hypothesis seeded with ``seed``; ``timeout`` seconds per round trip
    to the target's process. ``progress(line)`` receives one status line per claim. A target that
    cannot be imported raises :class:`~cnnspec.errors.UsageError`; everything the target does
    wrong at run time is a failing claim; what it prints goes to each claim's
    ``evidence["target_output"]`` (truncated), never to this process's stdout. ``claims`` restricts the run to these ids;
    ``shrink_seconds`` bounds the shrinking of each failing claim. ``input_rounding``
    (``tf32``, ``bfloat16``, ``float16``) declares that the target rounds its inputs before
    multiplying (TF32 tensor cores, autocast): the bound tier adds that rounding, and results off
    the exact value but within the widened bound are reported "not bit-exact", not failures.
    """
    ids = claims_for(op)
    if claims is not None:
        ids = [i for i in ids if i in claims]
    if examples is not None:
        check_count(examples, "examples", EXAMPLES)
    if input_rounding is not None and input_rounding not in INPUT_ROUNDINGS:
        raise UsageError(f"input-rounding: {input_rounding!r} is not one of {', '.join(INPUT_ROUNDINGS)}")
    timeout = check_seconds(timeout, "timeout")
    shrink_seconds = check_seconds(shrink_seconds, "shrink_seconds", SHRINK, open_low=False)
    t0 = time.perf_counter()
    results: list[ClaimResult] = []
    with Worker(target, array=array, dtype=dtype, device=device, timeout=timeout) as worker:
        ctx = Context(worker, target, op, array, device, dtype,
                      DEFAULT_EXAMPLES if examples is None else examples, seed, timeout, progress,
                      shrink_seconds, input_rounding)
        for cid in ids:
            mark = worker.capture.mark()
            res = run_claim(REGISTRY[cid], ctx=ctx)
            printed = worker.output(mark)
            if printed:     # what the target printed, kept out of cnnspec's own output
                res.evidence["target_output"] = printed
            results.append(res)
            if progress is not None:
                progress(status_line(res))
    env = _environment(device, seed, array=array, dtype=dtype, op=op, input_rounding=input_rounding)
    report = build_report("validate-op", results, target=target, op=op, env=env,
                          seconds=round(time.perf_counter() - t0, 3),
                          examples=ctx.examples, calls=worker.calls)
    return results, report


def _environment(device: str, seed: int, **extra) -> dict:
    """:func:`cnnspec.report.environment`, without importing torch into this process just for its
    version (the target runs in a child; this process need not pay torch's import)."""
    import sys
    from importlib import metadata

    if "torch" not in sys.modules:
        try:
            extra["torch_version"] = metadata.version("torch")
        except metadata.PackageNotFoundError:
            pass
        sys.modules["torch"] = None  # type: ignore[assignment] - environment() then skips the import
        try:
            env = environment(device, seed, **extra)
        finally:
            del sys.modules["torch"]
        env["torch"] = env.pop("torch_version", None)
        return env
    return environment(device, seed, **extra)


def status_line(r: ClaimResult) -> str:
    """``PASS  conformance.conv.values  (40 examples)  message`` — one line per claim."""
    n = f"({r.examples} examples)" if r.examples else ""
    return f"{r.status.upper():5} {r.id:32} {n:16} {r.message}".rstrip()
