"""The torch adapter (``cnnspec.adapters.torch``: ``torch.nn.functional`` itself on NumPy arrays)
against cnnspec's exact oracle, which shares no code with torch, and its padding extension."""
import numpy as np
import pytest

import adapter_cases as A
from cnnspec import oracle
from cnnspec.adapters import FRAMEWORKS, NotExpressible, adapter
from cnnspec.adapters import torch as M
from cnnspec.adapters._frontend import parse_output

# the cases the oracle covers: conv1d/2d, max_pool2d, avg_pool2d with symmetric padding
ORACLE = {"conv1d": oracle.conv1d, "conv2d": oracle.conv2d, "max_pool2d": oracle.max_pool2d,
          "avg_pool2d": oracle.avg_pool2d}


def _in_oracle_domain(op, args, kw) -> bool:
    p = kw.get("padding", 0)
    pairs = isinstance(p, str) or (isinstance(p, tuple) and isinstance(p[0], tuple))
    return op in ORACLE and not pairs and np.ndim(args[0]) == 4 and not kw.get("return_indices") \
        and kw.get("divisor_override") is None


@pytest.mark.parametrize("cid", [c for c, case in A.CASES.items() if _in_oracle_domain(*case)])
def test_against_the_exact_oracle(cid):
    op, args, kw = A.CASES[cid]
    got = getattr(M, op)(*args, **kw)
    want = ORACLE[op](*[a.astype(np.float64) for a in args], **kw)
    if op == "avg_pool2d":
        assert np.all(np.abs(got - want) <= oracle.gamma(2, "float32") * np.abs(want) * 1.0000001)
    else:
        assert np.array_equal(got, want)


def test_every_case_matches_the_reference():
    fails, skips = A.run_cases(M)
    assert fails == {}
    # torch pads both sides alike: the (lo, hi) cases with lo != hi are not expressible, nothing else
    assert set(skips) == {"conv2d/lo-hi-pads", "conv1d/lo-hi-pads", "max_pool2d/lo-hi-pads",
                          "conv_transpose2d/lo-hi-pads"}


def test_strided_views_are_read_as_their_values():
    A.strided_views(M)


def test_symmetric_pairs_become_ints():
    x = A.ints(1, 2, 6, 6)
    assert np.array_equal(M.max_pool2d(x, 3, 1, ((1, 1), (1, 1))), M.max_pool2d(x, 3, 1, 1))
    with pytest.raises(NotExpressible, match=r"lo != hi .* not expressible in PyTorch"):
        M.max_pool2d(x, 3, 1, ((0, 1), (1, 1)))


def test_torch_keeps_its_own_argument_checks():
    # the adapter passes arguments through: torch's refusal of padding > kernel_size // 2 stays
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        M.max_pool2d(A.ints(1, 1, 6, 6), 2, padding=2)


def test_registry_resolves_every_torch_op():
    for op in FRAMEWORKS["torch"].ops:
        assert adapter("torch", op) is getattr(M, op)


def test_conv_transpose_through_the_adapter():
    x, w = A.ints(1, 4, 5, 5), A.ints(4, 3, 3, 2)
    got = M.conv_transpose2d(x, w, None, 2, 1, 1, 2)
    assert got.shape == (1, 6, 10, 9) and got.dtype == np.float32


def test_snippet_runs_standalone():
    out = A.run_snippets("torch", M)
    for cid, (printed, mine, want) in out.items():
        assert np.array_equal(printed["got"], np.asarray(mine, np.float64)), cid
    assert set(out) == set(A.SNIPPET_CASES)
    assert parse_output("got: [1.0, nan]\n")["got"][1] != 0


def _adaptive(x: np.ndarray, out: tuple, reduce) -> np.ndarray:
    """Adaptive pooling by its definition: window i of an axis of n into m is
    [floor(i·n/m), ceil((i+1)·n/m)) (PyTorch's AdaptiveAvgPool2d docs)."""
    n = x.shape[2:]
    y = np.empty(x.shape[:2] + out)
    for idx in np.ndindex(*out):
        sl = tuple(slice(i * a // m, -(-(i + 1) * a // m)) for i, a, m in zip(idx, n, out))
        y[(Ellipsis,) + idx] = reduce(x[(Ellipsis,) + sl], axis=tuple(range(2, x.ndim)))
    return y


@pytest.mark.parametrize("op, reduce", [("adaptive_avg_pool2d", np.mean), ("adaptive_max_pool2d", np.max)])
def test_adaptive_pools_against_their_definition(op, reduce):
    x = A.ints(2, 3, 7, 6)
    got = getattr(M, op)(x, (3, 4))
    want = _adaptive(x.astype(np.float64), (3, 4), reduce)
    assert np.all(np.abs(got - want) <= oracle.gamma(2, "float32") * np.abs(want) + 2 ** -30)


def test_max_unpool_scatters_to_the_indices():
    x = A.ints(1, 2, 4, 6, lo=-50, hi=50)
    y, idx = M.max_pool2d(x, 2, return_indices=True)
    up = M.max_unpool2d(y, idx, 2, output_size=(4, 6))
    flat = np.zeros((1, 2, 24))
    np.put_along_axis(flat, idx.reshape(1, 2, -1), y.reshape(1, 2, -1), 2)
    assert np.array_equal(up, flat.reshape(1, 2, 4, 6))


def test_every_family_of_the_convention_is_parsed_for_the_back_ends():
    from cnnspec.adapters import _frontend
    assert {fam for fam, _, _ in _frontend.SIGNATURES.values()} <= set(_frontend._PARSED)
    req = _frontend.parse("lp_pool2d", (A.ints(1, 1, 4, 4), 2, 2), {})
    assert req.family == "lp_pool" and req.opts["norm_type"] == 2.0 and req.geo.kernel == (2, 2)
    with pytest.raises(_frontend.G.ArgumentError, match="norm_type=0: expected a number > 0"):
        _frontend.parse("lp_pool2d", (A.ints(1, 1, 4, 4), 0, 2), {})


def test_every_op_has_torch_signature():
    import inspect
    for op in FRAMEWORKS["torch"].ops:
        assert list(inspect.signature(getattr(M, op)).parameters) == A.torch_parameters(op), op
    assert not set(FRAMEWORKS["torch"].ops) & {"conv2d_integer", "qlinear_conv2d"}   # no torch function


def test_a_wrong_padding_translation_is_caught(monkeypatch):
    # the one translation of this adapter: (lo, hi) pairs with lo == hi become that int; a version
    # that read the pairs' order wrongly (the first spatial axis's pad given to the last) is caught
    right = M._padding
    monkeypatch.setattr(M, "_padding", lambda op, p: tuple(reversed(right(op, p))) if isinstance(
        right(op, p), tuple) else right(op, p))
    x, w = A.ints(1, 2, 6, 7), A.ints(3, 2, 3, 2)
    kw = {"padding": ((1, 1), (2, 2))}
    assert A.check(M.conv2d, "conv2d", (x, w), kw) != ""
    monkeypatch.setattr(M, "_padding", right)
    assert A.check(M.conv2d, "conv2d", (x, w), kw) == ""
