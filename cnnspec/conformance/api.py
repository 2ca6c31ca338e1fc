"""``cnnspec.assert_conforms``: the conformance claims inside a user's own tests, in one call.

In the manner of ``torch.testing.assert_close``, but against the exact oracle rather than a
tolerance: it runs every claim of ``op`` (or those named) against ``fn`` and raises
:class:`AssertionError` with the failing claims in the one grammar, each with its shrunk
counterexample and a reproduction.

>>> import cnnspec
>>> from cnnspec.conformance.shims.numpy_ops import conv2d
>>> cnnspec.assert_conforms(conv2d, "conv2d", examples=5, claims=["conformance.conv.values"])
>>> def flipped(x, weight, bias=None, **kw):   # a true convolution: the kernel flipped
...     return conv2d(x, weight[..., ::-1, ::-1], bias, **kw)
>>> cnnspec.assert_conforms(flipped, "conv2d", examples=10, claims=["conformance.conv.values"])
Traceback (most recent call last):
...
AssertionError: 1 of 1 claims of conv2d fail for flipped:
conformance.conv.values: out[0,0,0,0]=1, but should be 0 ...

Unlike ``cnnspec validate``, the calls run in *this* process (a crash of ``fn`` is the caller's
crash), so any callable works, a lambda or a closure included.
"""
from __future__ import annotations

from typing import Callable, Iterable

from ..claims import REGISTRY, ClaimResult, run_claim
from ..errors import UsageError
from .isolation import ARRAYS, DTYPES, Call, Result, _Adapter, _run_call, _run_partner


class LocalWorker:
    """Runs the calls of the claims in this process, with the worker's conversions and checks
    (fresh copies of the inputs, modified inputs reported, plain arrays only)."""

    def __init__(self, fn: Callable, *, array: str = "numpy", dtype: str = "float32", device: str = "cpu"):
        if array not in ARRAYS:
            raise UsageError(f"{array!r} is not one of {', '.join(ARRAYS)}", argument="array")
        if dtype not in DTYPES:
            raise UsageError(f"{dtype!r} is not one of {', '.join(DTYPES)}", argument="dtype")
        self.fn, self.adapter, self.calls = fn, _Adapter(array, dtype, device), 0
        # a call's partner (the adjoint claim's) is looked up beside fn in its module, if it has one
        self.name, self.partners = f"{getattr(fn, '__module__', None)}:{getattr(fn, '__qualname__', '')}", {}

    def call_many(self, calls: list[Call]) -> list[Result]:
        self.calls += len(calls)
        return [_run_call(self.fn, self.adapter, c) if c.partner is None else
                _run_partner(self.name, c, self.adapter, self.partners) for c in calls]

    def close(self) -> None:
        pass


def conformance_results(fn: Callable, op: str, *, array: str = "numpy", dtype: str = "float32",
                        device: str = "cpu", examples: int = 40, seed: int = 0,
                        claims: Iterable[str] | None = None, shrink_seconds: float = 10.0) -> list[ClaimResult]:
    """Every claim of ``op`` (or the ids in ``claims``) decided for ``fn`` in this process."""
    from .properties import OpContext
    from .runner import claims_for

    ids = claims_for(op, array)
    if claims is not None:
        wanted = list(claims)
        unknown = [c for c in wanted if c not in ids]
        if unknown:
            raise UsageError(f"{unknown[0]!r} is not a claim of {op} ({', '.join(ids)})", argument="claims")
        ids = [i for i in ids if i in wanted]
    if examples < 1:
        raise UsageError(f"{examples} must be at least 1", argument="examples")
    name = f"{getattr(fn, '__module__', None) or 'module'}:{getattr(fn, '__qualname__', repr(fn))}"
    ctx = OpContext(LocalWorker(fn, array=array, dtype=dtype, device=device), name, op, array, device, dtype,
                    examples, seed, shrink_seconds=shrink_seconds)
    results = []
    for cid in ids:
        ctx.claim = cid
        results.append(run_claim(REGISTRY[cid], ctx=ctx))
    return results


def assert_conforms(fn: Callable, op: str, *, strict: bool = False, **options) -> None:
    """Raise :class:`AssertionError` unless ``fn`` satisfies every conformance claim of ``op``.

    ``options``: ``array`` (``numpy`` or ``torch``), ``dtype``, ``device``, ``examples`` (cases per
    property, default 40), ``seed``, ``claims`` (ids), ``shrink_seconds``. A warning (arguments
    torch rejects but ``fn`` accepts) fails only with ``strict=True``.
    """
    results = conformance_results(fn, op, **options)
    bad = [r for r in results if r.status in ("fail", "error") or (strict and r.status == "warn")]
    if not bad:
        return
    who = getattr(fn, "__qualname__", None) or repr(fn)
    lines = [f"{len(bad)} of {len(results)} claims of {op} fail for {who}:"]
    for r in bad:
        lines.append(f"{r.id}: {r.message}")
        ce = r.counterexample or {}
        if ce.get("python"):
            lines.append("  python:\n    " + ce["python"].replace("\n", "\n    "))
    raise AssertionError("\n".join(lines))
