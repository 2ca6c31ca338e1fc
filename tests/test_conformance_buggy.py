"""The mutation library (tests/buggy/bugs.py): every realistic bug is caught.

Each bug is right on the simple cases; the claim named in ``BUGS`` must fail with a shrunk
counterexample in the one grammar ("…, but should be …"), a reproduction command, a Python
snippet, and — where a convention explains the bug — the diagnosis that names it.
"""
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnspec.conformance.runner import validate_op

BUGGY = Path(__file__).resolve().parent / "buggy"
sys.path.insert(0, str(BUGGY))
from bugs import BUGS  # noqa: E402

MUTATION_MINIMUM = 15


def test_the_library_holds_at_least_fifteen_bugs():
    assert len(BUGS) >= MUTATION_MINIMUM


@pytest.mark.parametrize("name,op,array,claim,diagnosis", BUGS, ids=[b[0] for b in BUGS])
def test_bug_is_caught_with_a_shrunk_counterexample(name, op, array, claim, diagnosis):
    results, report = validate_op(f"{BUGGY / 'bugs.py'}:{name}", op, array=array, examples=30,
                                  claims=[claim], shrink_seconds=10)
    # (the shrink budget is wall time: generous, so that a loaded machine still shrinks fully)
    assert report["verdict"] == "fail"
    (r,) = results
    assert r.status == "fail", r.message
    ce = r.counterexample
    assert ce and ce["reproduce"].startswith("cnnspec validate ") and "--seed 0" in ce["reproduce"]
    assert ", but should " in r.message
    if "x" in ce["args"]:   # shrunk: hypothesis reduced the failing input to a handful of entries
        assert np.asarray(ce["args"]["x"]).size <= 200
    if diagnosis:
        assert diagnosis in (ce["diagnosis"] or ""), r.message


def test_correct_reference_is_not_diagnosed_as_buggy():
    results, report = validate_op("cnnspec.conformance.shims.numpy_ops:conv2d", "conv2d", examples=10,
                                  claims=["conformance.conv.values", "conformance.conv.operator"])
    assert report["verdict"] == "pass"
