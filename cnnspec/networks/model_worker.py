"""``cnnspec validate --model``: import, build and check the model in a child process.

A model factory is third-party code like an op target: it may call ``sys.exit(0)`` or
``os._exit(0)``, segfault, hang, or print without end. So it runs in a child (:mod:`.child`: own
process group, dies with cnnspec, output captured) that imports it, builds it, traces it and runs
the model checks of :mod:`.model` there; what comes back is JSON only (:mod:`.wire`), one frame
per step::

    {"kind": "imported"}                       the module imported
    {"kind": "built", "claims": [...]}         built and traced; the claims that will follow
    {"kind": "claim", "result": {...}}         one ClaimResult.to_json(), per claim, in order
    {"kind": "usage", "message": "..."}        the factory cannot be used: exit 2

Deadlines: the import gets :data:`IMPORT_SECONDS`; building and tracing together, and each
check, get ``timeout`` (``--timeout``) plus :data:`MARGIN` (the child's own alarm on the forward
pass and on each check normally answers first, with its own message). A child that exits, crashes or hangs
before it has built the model is a one-line :class:`~cnnspec.errors.UsageError` (exit 2, as for
a factory that raises); one that does so during a check turns that check and those after it into
``error`` claims (exit 1), and the report is still written.

(The checks run beside the model, so a model could forge its own claims; what it can no longer
do is end or hang cnnspec, run code in it, or write into its output.)
"""
from __future__ import annotations

import json
import math
import sys
import time
from typing import Any

from ..claims import METHODS, STATUSES, ClaimResult
from ..conformance import child, wire
from ..errors import UsageError, argument_names

IMPORT_SECONDS = 120.0      # importing the factory's module (torch and friends)
NO_LIMIT = 3600.0           # a check without --timeout: still not forever
MARGIN = 5.0                # after --timeout, for the child's own alarm to answer first
_STATUSES = STATUSES


def run_isolated(target: str, spec: str, device: str = "cpu", seed: int = 0,
                 timeout: float | None = None) -> list[ClaimResult]:
    """Every model claim of ``target`` against ``spec``, decided in a child process."""
    capture = child.Capture()
    proc, r, w = child.spawn("cnnspec.networks.model_worker",
                             [target, spec, device, str(seed), "" if timeout is None else repr(timeout)],
                             capture, preload=child.TORCH)
    results: list[ClaimResult] = []
    planned: list[dict[str, Any]] = []
    step = "importing"
    try:
        meta = _next(r, IMPORT_SECONDS, ("imported",))
        step = "building"
        meta = _next(r, (timeout + MARGIN) if timeout else NO_LIMIT, ("built",))
        planned = _planned(meta)
        step = "checking"
        for p in planned:
            meta = _next(r, (timeout + MARGIN) if timeout else NO_LIMIT, ("claim",))
            results.append(_claim(meta.get("result"), p, capture))
        return results
    except _Usage as e:
        raise UsageError(child.text(e.args[0], 2000)) from None
    except (wire.Expired, EOFError, OSError, wire.WireError) as e:
        code = child.stop(proc, (r, w), grace=0 if isinstance(e, wire.Expired) else 2.0)
        proc = None
        why = _why(e, step, timeout, code) + capture.said(0)
        if step != "checking":
            raise UsageError(f"--model: {target}: {why}") from None
        for p in planned[len(results):]:
            results.append(ClaimResult(p["id"], p["statement"], p["source"], p["method"], "error",
                                       f"the model's process stopped during the checks: {why}",
                                       group=p["group"]))
        return results
    finally:
        child.stop(proc, (r, w) if proc is not None else ())
        capture.close()


class _Usage(Exception):
    pass


def _next(r: int, seconds: float, kinds: tuple[str, ...]) -> dict[str, Any]:
    meta, _ = wire.decode(wire.read_frame(r, time.monotonic() + seconds, limit=64 << 20))
    if not isinstance(meta, dict) or not isinstance(meta.get("kind"), str):
        raise wire.WireError("a message without a kind")
    if meta["kind"] == "usage" and isinstance(meta.get("message"), str):
        raise _Usage(meta["message"])
    if meta["kind"] not in kinds:
        raise wire.WireError(f"a {child.text(meta['kind'], 20)!r} message where {kinds[0]!r} belongs")
    return meta


def _why(e: Exception, step: str, timeout: float | None, code: int | None) -> str:
    if isinstance(e, wire.Expired):
        limit = f"{IMPORT_SECONDS:g} s" if step == "importing" else \
            f"{timeout:g} s (--timeout) + {MARGIN:g} s" if timeout else f"{NO_LIMIT:g} s"
        return f"{step} the model did not finish within {limit}; stopped it"
    if isinstance(e, wire.WireError):
        return f"the model's process sent a malformed message ({e}) while {step}"
    return f"the process {step} the model ended ({child.exit_words(code)})"


def _planned(meta: dict[str, Any]) -> list[dict[str, Any]]:
    claims = meta.get("claims")
    keys = ("id", "statement", "source", "method", "group")
    if not isinstance(claims, list) or not 0 < len(claims) <= 64 or not all(
            isinstance(c, dict) and all(isinstance(c.get(k), str) for k in keys) for c in claims):
        raise wire.WireError("the list of claims is not [{id, statement, source, method, group}]")
    if any(c["method"] not in METHODS or not c["id"].startswith("model.") for c in claims):
        raise wire.WireError("a planned claim is not a model claim")
    return [{k: child.text(c[k], 1000) for k in keys} for c in claims]


def _claim(d: Any, p: dict[str, Any], capture: child.Capture) -> ClaimResult:
    """A :class:`ClaimResult` from the child's JSON, every field checked against its type."""
    if not isinstance(d, dict) or d.get("id") != p["id"]:
        raise wire.WireError(f"the result for {p['id']} is missing or names another claim")
    status, examples, ratio = d.get("status"), d.get("examples"), d.get("max_error_over_bound")
    ev, ce, secs = d.get("evidence", {}), d.get("counterexample"), d.get("seconds", 0.0)
    if status not in _STATUSES or not isinstance(d.get("message", ""), str) or \
            not isinstance(ev, dict) or not (ce is None or isinstance(ce, dict)) or \
            not (examples is None or type(examples) is int) or \
            not (ratio is None or (type(ratio) in (int, float) and not math.isnan(ratio))) or \
            type(secs) not in (int, float):
        raise wire.WireError(f"the result for {p['id']} does not have the fields of a claim result")
    return ClaimResult(p["id"], p["statement"], p["source"], p["method"], status,
                       child.text(d.get("message", ""), 4000), ev, examples, ce, ratio, float(secs),
                       p["group"])


# --- the child ------------------------------------------------------------------------------------

def _child(r: int, w: int, target: str, spec: str, device: str, seed: str, timeout: str) -> None:
    from ..report.schema import dumps
    from ..targets import load_model_factory
    from . import model

    def say(**meta: Any) -> None:
        wire.send_blocking(w, wire.encode(json.loads(dumps(meta))))

    limit = float(timeout) if timeout else None
    try:
        try:
            with argument_names(model="--model", spec_name="--spec", device="--device"):
                obj = load_model_factory(target, argument="--model")
                say(kind="imported")
                # a forward that fails at the spec's input fails the checks that need it
                ctx = model.prepare(obj, spec, device, int(seed), label=target, timeout=limit)
        except SystemExit as e:
            raise UsageError(f"--model: {target} called sys.exit({child.text(e.code, 40)}) while "
                             f"being imported or built; a factory must return a model") from None
        except UsageError:
            raise
        except BaseException as e:  # noqa: BLE001 - anything else the factory raises
            raise UsageError(f"--model: building {target} raised {type(e).__name__}: "
                             f"{child.text(e, 300)}") from None
    except UsageError as e:
        say(kind="usage", message=str(e))
        return
    plan = [model._claim(c, ctx.arch) for c in model.applicable(ctx.arch)]
    say(kind="built", claims=[{"id": c.id, "statement": c.statement, "source": c.source,
                               "method": c.method, "group": c.group} for c in plan])
    for name in model.applicable(ctx.arch):
        try:
            res = model.run_checks(ctx, [name], timeout=limit)[0]
        except BaseException as e:  # noqa: BLE001 - SystemExit and the like, inside a check
            c = model._claim(name, ctx.arch)
            res = ClaimResult(c.id, c.statement, c.source, c.method, "error",
                              f"{type(e).__name__}: {child.text(e, 300)}", group=c.group)
        say(kind="claim", result=res.to_json())


if __name__ == "__main__":  # python -m cnnspec.networks.model_worker R W TARGET SPEC DEVICE SEED TIMEOUT PARENT
    _r, _w, _args = child.start_child(sys.argv[1:])
    _child(_r, _w, *_args)
