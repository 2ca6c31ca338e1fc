"""Validate a third-party op against every conformance claim: the API behind ``cnnspec validate``.

>>> results, report = validate_op("torch.nn.functional:conv2d", "conv2d", array="torch")  # doctest: +SKIP
>>> report["verdict"]                                                                       # doctest: +SKIP
'pass'

:func:`validate_op` starts one child process for the target (see :mod:`.isolation`), runs each
claim of the op in turn (a crash, hang or exception fails that claim and the run goes on, in a
fresh child), and returns the claim results with the report JSON (``docs/report-schema.md``, kind
``validate-op``).
"""
from __future__ import annotations

import re
import time
from typing import Callable

import numpy as np

from ..adapters import NotExpressible
from ..claims import REGISTRY, ClaimResult, load_conformance, run_claim
from ..errors import UsageError
from ..options import EXAMPLES, SHRINK, check_count, check_seconds
from ..report import build_report, environment
from . import OPS
from .isolation import Call, Result, Worker, WorkerFailure

# Imported light on purpose: validate_op starts the target's process before it imports the
# engine (the oracle, sympy through the spec, hypothesis), so those imports overlap the child's.

DEFAULT_EXAMPLES = 40


AUTOGRAD_CLAIMS = ("conformance.conv.backward", "conformance.avg_pool.backward")  # need torch tensors


def claims_for(op: str, array: str | None = None) -> list[str]:
    """The ids of the conformance claims that apply to ``op``, in registry order; with ``array``,
    those that can apply to a target of that array library (backward needs torch's autograd: a
    claim that cannot apply to a subject is not listed)."""
    if op not in OPS:
        raise UsageError(f"op: {op!r} is not one of {', '.join(OPS)}")
    load_conformance()   # the conformance claims only: the others import torch, which this need not
    from .properties import OP_CLAIMS

    ids = list(OP_CLAIMS.get(op, []))
    return [i for i in ids if i not in AUTOGRAD_CLAIMS] if array == "numpy" else ids


def validate_op(target: str, op: str, *, array: str = "numpy", device: str = "cpu",
                dtype: str = "float32", examples: int | None = None, seed: int = 0,
                timeout: float = 60.0, progress: Callable[[str], None] | None = None,
                claims: list[str] | None = None, shrink_seconds: float = 20.0,
                input_rounding: str | None = None, strict: bool = False) -> tuple[list[ClaimResult], dict]:
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
    ``strict`` holds warnings (arguments torch rejects but the target accepts) as failures.

    The target's process is started first, and while it imports the target this process loads the
    claims and draws every property's cases (:func:`~.properties.prepare`, the cases each claim
    would draw when it runs): the two start-ups side by side instead of one after the other.
    """
    if op not in OPS:
        raise UsageError(f"op: {op!r} is not one of {', '.join(OPS)}")
    try:
        target, framework = framework_target(target, op)
    except NotExpressible as e:   # the framework has no such op: every claim skipped, the reason said
        return _skipped_run(target, op, f"skipped: {e}", array=array, device=device, dtype=dtype,
                            seed=seed, claims=claims, progress=progress, strict=strict)
    if framework is not None and array != "numpy":
        raise UsageError(f"{array!r}: cnnspec's {framework} adapter takes and returns NumPy arrays; "
                         f"leave --array at numpy", argument="array")
    if examples is not None:
        check_count(examples, "examples", EXAMPLES)
    timeout = check_seconds(timeout, "timeout")
    shrink_seconds = check_seconds(shrink_seconds, "shrink_seconds", SHRINK, open_low=False)
    t0 = time.perf_counter()
    # the child first (it is not waited for), then this process's own work while it imports
    worker = Worker(target, array=array, dtype=dtype, device=device, timeout=timeout, wait=False)
    results: list[ClaimResult] = []
    with worker:
        from ..oracle import INPUT_ROUNDINGS
        from .properties import OpContext, prepare

        if input_rounding is not None and input_rounding not in INPUT_ROUNDINGS:
            raise UsageError(f"input-rounding: {input_rounding!r} is not one of {', '.join(INPUT_ROUNDINGS)}")
        ids = claims_for(op, array)
        if claims is not None:
            ids = [i for i in ids if i in claims]
        ctx = OpContext(worker, target, op, array, device, dtype,
                        DEFAULT_EXAMPLES if examples is None else examples, seed, timeout, progress,
                        shrink_seconds, input_rounding)
        prepare(ctx, ids, stop=worker.exited)   # a child that ended (import failed): stop drawing
        worker.wait_ready()
        check_usage(worker, op, array)
        for cid in ids:
            ctx.claim = cid
            mark = worker.capture.mark()
            res = run_claim(REGISTRY[cid], ctx=ctx)
            printed = worker.output(mark)
            if printed:     # what the target printed, kept out of cnnspec's own output
                res.evidence["target_output"] = printed
            results.append(res)
            if progress is not None:
                progress(status_line(res))
    env = _environment(device, seed, array=array, dtype=dtype, op=op, input_rounding=input_rounding)
    report = build_report("validate-op", results, target=target, op=op, env=env, strict=strict,
                          seconds=round(time.perf_counter() - t0, 3),
                          examples=ctx.examples, calls=worker.calls)
    return results, report


def _skipped_run(target: str, op: str, reason: str, *, array: str, device: str, dtype: str, seed: int,
                 claims: list[str] | None, progress: Callable[[str], None] | None,
                 strict: bool) -> tuple[list[ClaimResult], dict]:
    """The results and report of a run none of whose claims can be checked: each skipped, ``reason``."""
    ids = [i for i in claims_for(op, array) if claims is None or i in claims]
    results = [ClaimResult(c.id, c.statement, c.source, c.method, "skipped", reason, group=c.group)
               for c in (REGISTRY[i] for i in ids)]
    for res in results if progress is not None else ():
        progress(status_line(res))
    env = _environment(device, seed, array=array, dtype=dtype, op=op, input_rounding=None)
    return results, build_report("validate-op", results, target=target, op=op, env=env, strict=strict,
                                 seconds=0.0, examples=0, calls=0)


def framework_target(target: str, op: str) -> tuple[str, str | None]:
    """``(target, framework)``: a bare framework name (``jax``, ``onnxruntime``, ``tensorflow``,
    ``tinygrad``, ``torch``) is cnnspec's adapter for ``op`` (``cnnspec.adapters.jax:conv2d``)."""
    if ":" in target:
        return target, None
    from .. import adapters

    if target not in adapters.FRAMEWORKS:
        known = ", ".join(f"{n} ({'installed' if a.installed else a.install})"
                          for n, a in adapters.available().items())
        raise UsageError(f"{target!r} is not 'package.module:attr', 'path/to/file.py:attr' or a framework "
                         f"({known})", argument="target")
    avail = adapters.available(target)
    if not avail.installed:
        raise UsageError(f"{target} is not installed; {avail.install}", argument="target")
    return adapters.target(target, op), target


def probe_calls(op: str) -> list[Call]:
    """Three valid, plain calls of ``op`` (different shapes and arguments), for the usage probe."""
    from .pool_family_claims import probe_calls as pool_family_probe
    from .integer_claims import probe_calls as integer_probe
    from .pool_indices_claims import probe_calls as unpool_probe
    for probe in (pool_family_probe, unpool_probe, integer_probe):
        if (family := probe(op)) is not None:
            return family
    if op == "pad":   # pad(input, pad, mode='constant', value=None), the tuple from the last axis
        x = np.arange(30, dtype=np.float64).reshape(1, 1, 5, 6) % 5
        return [Call((x, p), kw) for p, kw in (((1, 1), {}), ((1, 0, 0, 2), {"mode": "replicate"}),
                                                ((2, 2, 1, 1), {"mode": "reflect"}))]
    nd = 1 if op.endswith("1d") else 3 if op.endswith("3d") else 2
    calls = []
    for size, k, kw in ((5, 2, {}), (6, 3, {"padding": 1}), (7, 1, {"stride": 2})):
        x = np.arange(size ** nd, dtype=np.float64).reshape(1, 1, *[size] * nd) % 5
        if op.startswith("conv"):   # weight (C_out, C_in, *k); a transposed one's is (C_in, C_out, *k)
            w_channels = (1, 2) if op.startswith("conv_transpose") else (2, 1)
            calls.append(Call((x, np.ones((*w_channels, *[k] * nd))), kw))
        else:
            calls.append(Call((x, max(k, 2)), {"padding": 1} if kw.get("padding") else {}))
    return calls


def _words(error: str) -> str:
    """The kind of an error: its type and first words, without numbers (argument lists and shapes
    in the rest of the message change from call to call)."""
    return " ".join(re.sub(r"\d+", "#", error.split(" (at ")[0]).split()[:6])


def check_usage(worker: Worker, op: str, array: str) -> None:
    """A usage mismatch stops the run with one line: every plain valid call raising the same
    ``TypeError``/``ValueError`` (the calling convention does not fit), or returning the other
    array library's arrays. A target that is merely wrong (wrong values, other exceptions, other
    return types) gets failing claims instead."""
    try:
        res: list[Result] = worker.call_many(probe_calls(op))
    except WorkerFailure:
        return  # a crash is the target's defect: the claims report it
    if any(r.ok for r in res):
        return
    other = "torch" if array == "numpy" else "numpy"
    got, wanted = ("Tensor", "not a numpy.ndarray") if array == "numpy" else ("ndarray", "not a torch.Tensor")
    if all(not r.raised and got in r.error and r.error.endswith(wanted) for r in res):
        raise UsageError(f"every call returned {res[0].error} (did you mean --array {other}?)",
                         argument="target")
    if all(r.raised and r.error.startswith(("TypeError", "ValueError")) for r in res) and \
            len({_words(r.error) for r in res}) == 1:
        hint = ""
        names = ("Tensor", "ndarray") if array == "numpy" else ("numpy", "ndarray", "array")
        if any(n in res[0].error for n in names) and "TypeError" in res[0].error:
            hint = f" (did you mean --array {other}?)"
        raise UsageError(f"every call raised {res[0].error.split(' (at ')[0][:300]}{hint}",
                         argument="target")
    # a target that calls its own library's methods on our arrays ('numpy.ndarray' object has no
    # attribute 'pow': torch's lp_pool1d given NumPy arrays) fits the other --array
    foreign = "'numpy.ndarray' object has no attribute" if array == "numpy" else "'Tensor' object has no attribute"
    if all(r.raised and r.error.startswith("AttributeError") and foreign in r.error for r in res):
        raise UsageError(f"every call raised {res[0].error.split(' (at ')[0][:300]} (did you mean --array "
                         f"{other}?)", argument="target")


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
