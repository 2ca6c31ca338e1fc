"""cnnspec.oracle's convolution family (conv3d, transposed, padding, 'same'/'valid', (lo, hi)):
exact against torch on certified integer data, exact against rationals, and one-line errors.

The integer ops (ConvInteger, QLinearConv) are in tests/test_oracle_integer.py.
"""
import doctest
import importlib
import itertools
from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnspec import oracle
from cnnspec.errors import UsageError
conv_mod = importlib.import_module("cnnspec.oracle.conv")       # the names are shadowed by functions
padding_mod = importlib.import_module("cnnspec.oracle.padding")
transposed_mod = importlib.import_module("cnnspec.oracle.transposed")

T = lambda a: None if a is None else torch.tensor(a, dtype=torch.float64)  # noqa: E731
TRANSPOSED = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def test_doctests():
    for mod in (conv_mod, padding_mod, transposed_mod):
        assert doctest.testmod(mod).failed == 0


@st.composite
def transposed_cases(draw, max_nd: int = 3):
    """A transposed-convolution geometry with output_padding < max(stride, dilation)."""
    nd = draw(st.integers(1, max_nd))
    g = draw(st.integers(1, 2))
    ci, cgo = g * draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ax = lambda lo, hi: tuple(draw(st.integers(lo, hi)) for _ in range(nd))  # noqa: E731
    n, k, s, d = ax(1, 4), ax(1, 3), ax(1, 3), ax(1, 2)
    op = tuple(draw(st.integers(0, max(a, b) - 1)) for a, b in zip(s, d))
    full = [(a - 1) * si + di * (ki - 1) + 1 + o for a, si, di, ki, o in zip(n, s, d, k, op)]
    p = tuple(draw(st.integers(0, (f - 1) // 2)) for f in full)
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    x = rng.integers(-3, 4, (draw(st.integers(1, 2)), ci, *n)).astype(np.float64)
    w = rng.integers(-3, 4, (ci, cgo, *k)).astype(np.float64)
    b = rng.integers(-3, 4, cgo * g).astype(np.float64) if draw(st.booleans()) else None
    return dict(x=x, w=w, b=b, nd=nd, kwargs=dict(stride=s, padding=p, output_padding=op, groups=g,
                                                  dilation=d))


@settings(max_examples=60)
@given(transposed_cases())
def test_conv_transpose_equals_torch_exactly(c):
    want = TRANSPOSED[c["nd"]](T(c["x"]), T(c["w"]), T(c["b"]), **c["kwargs"]).numpy()
    got = oracle.conv_transpose(c["x"], c["w"], c["b"], **c["kwargs"])
    assert got.shape == want.shape and np.array_equal(got, want)


@settings(max_examples=30)
@given(transposed_cases(max_nd=2))
def test_conv_transpose_is_the_adjoint_of_conv(c):
    """<conv(u), v> = <u, conv_transpose(v)> on integers (the weight read as (C_in, C_out/g, *k))."""
    kw = c["kwargs"]
    v = c["x"]                                            # the transposed op's input
    y = oracle.conv_transpose(v, c["w"], None, **kw)
    u = np.random.default_rng(1).integers(-3, 4, y.shape).astype(np.float64)
    # the matching convolution maps C_out -> C_in: the same weight array, read as (C_out', C_in'/g)
    cu = oracle.conv(u, c["w"], None, kw["stride"], [(p, p) for p in kw["padding"]], kw["dilation"],
                     kw["groups"])
    cu = cu[(Ellipsis, *[slice(0, m) for m in v.shape[2:]])]   # output_padding rows read nothing
    assert cu.shape == v.shape and float(np.sum(cu * v)) == float(np.sum(u * y))


def test_conv_transpose_takes_rationals_and_lo_hi_pads():
    x = np.array([[[Fraction(1, 3), Fraction(-2, 7)]]], dtype=object)
    w = np.array([[[1, 2, 3]]], dtype=object)
    y = oracle.conv_transpose(x, w, None, stride=2, padding=[(1, 0)])
    assert y.dtype == object and list(y[0, 0]) == [Fraction(2, 3), Fraction(1) + Fraction(-2, 7),
                                                   Fraction(-4, 7), Fraction(-6, 7)]
    xf = np.array([[[1.0, 2.0, 3.0]]])
    lohi = oracle.conv_transpose(xf, np.ones((1, 1, 3)), None, 1, [(1, 2)])
    assert lohi.tolist() == oracle.conv_transpose(xf, np.ones((1, 1, 3)))[..., 1:-2].tolist()


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")  # torch: speed only
@settings(max_examples=30)
@given(st.integers(0, 2 ** 32 - 1), st.sampled_from([1, 2, 3]))
def test_conv3d_and_unbatched_input_equal_torch(seed, groups):
    rng = np.random.default_rng(seed)
    x = rng.integers(-4, 5, (2, 2 * groups, 4, 5, 3)).astype(np.float64)
    w = rng.integers(-4, 5, (groups * 2, 2, 2, 3, 1)).astype(np.float64)
    kw = dict(stride=(1, 2, 1), padding=(1, 0, 2), dilation=(2, 1, 1), groups=groups)
    assert np.array_equal(oracle.conv3d(x, w, None, **kw), F.conv3d(T(x), T(w), **kw).numpy())
    assert np.array_equal(oracle.conv3d(x[0], w, None, **kw), F.conv3d(T(x[0]), T(w), **kw).numpy())
    x2, w2 = x[:, :, 0], w[:, :, :, :, 0]
    assert np.array_equal(oracle.conv2d(x2[1], w2, None, 1, "same", 1, groups),
                          F.conv2d(T(x2[1]), T(w2), None, 1, "same", 1, groups).numpy())


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_same_and_valid_equal_torch_with_odd_total_padding(nd, padding):
    rng = np.random.default_rng(nd)
    x = rng.integers(-3, 4, (2, 2, *[8] * nd)).astype(np.float64)
    w = rng.integers(-3, 4, (3, 2, *[4, 2, 3][:nd])).astype(np.float64)
    d = (2, 1, 1)[:nd]
    got = oracle.conv(x, w, None, 1, padding, d)
    assert np.array_equal(got, CONV[nd](T(x), T(w), None, 1, padding, d).numpy())


def test_lo_hi_pairs_equal_explicit_pad_then_conv():
    rng = np.random.default_rng(3)
    x = rng.integers(-3, 4, (1, 2, 5, 6)).astype(np.float64)
    w = rng.integers(-3, 4, (2, 2, 3, 2)).astype(np.float64)
    want = F.conv2d(F.pad(T(x), (0, 1, 1, 2)), T(w), stride=(2, 1)).numpy()   # H: (1, 2), W: (0, 1)
    assert np.array_equal(oracle.conv2d(x, w, None, (2, 1), [(1, 2), (0, 1)]), want)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_padding_modes_equal_torch_conv_modules(mode):
    torch.manual_seed(0)
    m = nn.Conv2d(2, 3, (3, 2), padding=(2, 1), padding_mode=mode, bias=False).double()
    with torch.no_grad():
        m.weight.copy_(torch.randint(-3, 4, m.weight.shape))
    x = np.random.default_rng(4).integers(-3, 4, (2, 2, 4, 5)).astype(np.float64)
    got = oracle.conv(x, m.weight.detach().numpy(), None, 1, (2, 1), padding_mode=mode)
    assert np.array_equal(got, m(T(x)).detach().numpy())


@settings(max_examples=50)
@given(st.sampled_from(padding_mod.PAD_MODES), st.integers(1, 3), st.integers(0, 2 ** 32 - 1))
def test_pad_equals_torch_in_every_mode(mode, axes, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-9, 10, (2, 2, *rng.integers(2, 5, axes))).astype(np.float64)
    hi = {"reflect": 1, "circular": 0, "replicate": 0, "constant": 0}[mode]
    lim = [n - hi if mode in ("reflect", "circular") else 3 for n in x.shape[2:][::-1]]
    pads = tuple(int(rng.integers(-1 if mode == "constant" else 0, lim[i // 2] + 1))
                 for i in range(2 * axes))
    assert np.array_equal(oracle.functional_pad(x, pads, mode), F.pad(T(x), pads, mode=mode).numpy())


def test_pad_is_exact_on_objects_and_keeps_dtype():
    x = np.array([[Fraction(1, 3), Fraction(2, 3), 5]], dtype=object)
    assert oracle.functional_pad(x, (2, 1), "reflect").tolist() == \
        [[5, Fraction(2, 3), Fraction(1, 3), Fraction(2, 3), 5, Fraction(2, 3)]]
    assert oracle.functional_pad(np.arange(3, dtype=np.int8), (1, 1), "constant", 7).dtype == np.int8


BAD = [
    (lambda: oracle.conv_transpose2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), None, 2, 0, 2),
     "output_padding"),
    (lambda: oracle.conv_transpose1d(np.ones((1, 1, 3)), np.ones((1, 1, 2)), None, 1, 0, 2, 1, 2),
     "output_padding"),
    (lambda: oracle.conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), None, 2, "same"), "padding"),
    (lambda: oracle.conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), None, 1, "half"), "padding"),
    (lambda: oracle.conv(np.ones((1, 1, 5)), np.ones((1, 1, 3)), None, 1, 1, padding_mode="mirror"),
     "padding_mode"),
    (lambda: oracle.functional_pad(np.ones((1, 1, 3)), (3, 0), "reflect"), "pad"),
    (lambda: oracle.conv(np.ones((1, 1, 3)), np.ones((1, 1, 2)), None, 1, 3, padding_mode="reflect"), "padding"),
    (lambda: oracle.functional_pad(np.ones((1, 1, 3)), (1, 0), "wrap"), "mode"),
    (lambda: oracle.functional_pad(np.ones((1, 1, 3)), (4, 0), "circular"), "pad"),
    (lambda: oracle.functional_pad(np.ones((1, 1, 3)), (1, 0, 1), "constant"), "pad"),
    (lambda: oracle.conv_transpose2d(np.ones((1, 2, 3, 3)), np.ones((3, 1, 2, 2))), "weight"),
    (lambda: oracle.conv2d(np.ones((5, 5)), np.ones((1, 1, 3, 3))), "input"),
]


@pytest.mark.parametrize("call,arg", BAD, ids=[f"{a}-{i}" for i, (_, a) in enumerate(BAD)])
def test_bad_arguments_are_one_line_naming_the_argument(call, arg):
    with pytest.raises(UsageError) as e:
        call()
    msg = str(e.value)
    assert msg.startswith(f"{arg}: ") and "\n" not in msg


def test_output_sizes_follow_the_transposed_formula():
    for n, k, s, p, d, op in itertools.product([1, 4], [1, 3], [1, 3], [0, 1], [1, 2], [0, 1]):
        if op >= max(s, d) or (n - 1) * s - 2 * p + d * (k - 1) + op + 1 < 1:
            continue
        y = oracle.conv_transpose1d(np.ones((1, 1, n)), np.ones((1, 1, k)), None, s, p, op, 1, d)
        assert y.shape[-1] == (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        assert y.shape[-1] == F.conv_transpose1d(torch.ones(1, 1, n), torch.ones(1, 1, k), None, s, p,
                                                 op, 1, d).shape[-1]
