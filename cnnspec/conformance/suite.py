"""The conformance suite that the pytest plugin adds to a user's test run: one test per claim.

Collected only when a target is configured (``--cnnspec-target`` / ``CNNSPEC_TARGET`` / the ini
option ``cnnspec_target``; see :mod:`cnnspec.conformance.pytest_plugin`); the plugin parametrizes
``test_claim`` over the claims of the op.
"""
from __future__ import annotations

import warnings

import pytest

from ..claims import REGISTRY, run_claim


class CnnspecWarning(UserWarning):
    """A claim that holds with a warning: the target accepts what torch rejects, or refuses a call
    form torch takes (unbatched input)."""


def test_claim(cnnspec_claim: str, cnnspec_context) -> None:
    cnnspec_context.claim = cnnspec_claim
    res = run_claim(REGISTRY[cnnspec_claim], ctx=cnnspec_context)
    if res.status == "skipped":
        pytest.skip(res.message)
    if res.status == "warn":   # the claim holds (exit 0, as validate's); `-W error` makes it fail
        warnings.warn(f"{res.id}: {res.message}", CnnspecWarning, stacklevel=1)
        return
    if res.status != "pass":
        ce = res.counterexample or {}
        lines = [f"{res.id}: {res.statement}", f"  {res.message}"]
        if ce.get("reproduce"):
            lines.append(f"  reproduce: {ce['reproduce']}")
        if ce.get("python"):
            lines.append("  python:\n    " + ce["python"].replace("\n", "\n    "))
        pytest.fail("\n".join(lines), pytrace=False)
