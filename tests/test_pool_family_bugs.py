"""tests/buggy/pool_family_bugs.py: every bug is right on its simple case, and hypothesis finds and
shrinks a small case on which it differs from the exact oracle (self-contained: oracle against
bug directly, not through the conformance runner)."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, find, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent / "buggy"))
import pool_family_bugs as B  # noqa: E402

from cnnspec import oracle  # noqa: E402

NAN = float("nan")


def agree(op: str, got, want, x) -> bool:
    """Exact for maxima, indices and unpooling; within float64 rounding for averages and Lp: the
    window sums are exact in both, a correct implementation rounds a few times more (≤ 8 units of
    2^-53 relative), a buggy one is off by whole fractions of a window."""
    if isinstance(want, tuple):
        return (isinstance(got, tuple) and got[0].shape == want[0].shape
                and np.array_equal(got[0], want[0], equal_nan=True) and np.array_equal(got[1], want[1]))
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        return False
    if "max" in op:
        return np.array_equal(got, want, equal_nan=True)
    same_nan = np.array_equal(np.isnan(got), np.isnan(want))
    ok = np.isnan(want) | (np.abs(got - want) <= 8 * 2.0 ** -53 * np.abs(want))
    return bool(same_nan and ok.all())


def call(op: str, fn, x, args, kwargs):
    if op.startswith("max_unpool"):
        v, i = oracle.max_pool2d(x, *args, return_indices=True)
        return fn(v, i, *args, **kwargs)
    return fn(x, *args, **kwargs)


def differs(op: str, bug, case) -> bool:
    x, args, kwargs = case
    try:
        want = call(op, getattr(oracle, op), x, args, kwargs)
    except ValueError:                 # a geometry the op refuses: not a counterexample
        return False
    try:
        got = call(op, bug, x, args, kwargs)
    except Exception:                  # noqa: BLE001 - a crash on valid input is a difference
        return True
    return not agree(op, got, want, x)


def _data(draw, shape, values):
    return np.array(draw(st.lists(st.sampled_from(values), min_size=math.prod(shape),
                                  max_size=math.prod(shape))), np.float64).reshape(shape)


@st.composite
def cases(draw, op: str):
    nd = 3 if op.endswith("3d") else 1 if op.endswith("1d") else 2
    size = tuple(draw(st.integers(1, 6)) for _ in range(nd))
    if op.startswith("adaptive"):
        x = _data(draw, (1, 2, *size), (-2.0, -1.0, 0.0, 1.0, 2.0))
        m = tuple(draw(st.integers(1, n + 2)) for n in size)
        return x, (m if nd > 1 else m[0],), ({"return_indices": True} if "max" in op else {})
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    if op.startswith("max_unpool"):
        x = np.random.default_rng(draw(st.integers(0, 99))).permutation(math.prod(size)).reshape(1, 1, *size)
        out = [draw(st.one_of(st.none(), st.just(1)))]
        kw = {} if out[0] is None else {"output_size": tuple((n // kk) * kk + kk - 1 for n, kk in zip(size, k))}
        return x.astype(np.float64), (k,), kw
    ceil = draw(st.booleans())
    if op.startswith("lp_pool"):
        x = _data(draw, (1, 1, *size), (-2.0, -1.0, 0.0, 1.0, 2.0))
        return x, (draw(st.sampled_from([1, 2, 3])), k if nd > 1 else k[0], s if nd > 1 else s[0], ceil), {}
    p = tuple(draw(st.integers(0, kk // 2)) for kk in k)
    if op.startswith("max_pool"):
        d = tuple(draw(st.integers(1, 2)) for _ in range(nd))
        x = _data(draw, (1, 2, *size), (-2.0, -1.0, 0.0, 1.0, 2.0, NAN))
        return x, (k, s, p, d, ceil), {"return_indices": True}
    x = _data(draw, (1, 2, *size), (-2.0, -1.0, 0.0, 1.0, 2.0))
    kw = {"count_include_pad": draw(st.booleans())}
    if nd > 1:
        kw["divisor_override"] = draw(st.one_of(st.none(), st.integers(1, 5)))
    return x, (k, s, p, ceil), kw


def test_at_least_twelve_bugs():
    assert len(B.BUGS) >= 12 and len({op for _, op, _ in B.BUGS}) >= 8


@pytest.mark.parametrize("name, op, simple", B.BUGS, ids=[b[0] for b in B.BUGS])
def test_bug_is_right_on_its_simple_case_and_caught_on_a_shrunk_one(name, op, simple, capsys):
    bug = getattr(B, name)
    assert not differs(op, bug, simple), f"{name} should be right on its simple case"
    cex = find(cases(op), lambda c: differs(op, bug, c),
               settings=settings(max_examples=3000, database=None, derandomize=True,
                                 suppress_health_check=list(HealthCheck)))
    x, args, kwargs = cex
    assert differs(op, bug, cex)
    with capsys.disabled():
        print(f"\n{name}: {op}(x of shape {x.shape}, {args}, {kwargs}) differs; x = {x.ravel().tolist()}")
