"""The project's plain-NumPy shim (cnnspec.conformance.shims.numpy_ops), written independently of the
oracle, against the oracle on the convolution family: exact on certified integer data."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnspec import oracle
from cnnspec.errors import UsageError
from cnnspec.conformance.shims import numpy_ops as shim

CONV = {1: shim.conv1d, 2: shim.conv2d, 3: shim.conv3d}
TRANSPOSED = {1: shim.conv_transpose1d, 2: shim.conv_transpose2d, 3: shim.conv_transpose3d}


@st.composite
def geometry(draw, transposed: bool):
    nd = draw(st.integers(1, 3))
    g = draw(st.integers(1, 2))
    ax = lambda lo, hi: tuple(draw(st.integers(lo, hi)) for _ in range(nd))  # noqa: E731
    k, s, d = ax(1, 3), ax(1, 3), ax(1, 2)
    n = tuple(draw(st.integers(dd * (kk - 1) + 1, dd * (kk - 1) + 4)) for kk, dd in zip(k, d))
    pad = draw(st.sampled_from(["int", "pairs", "same", "valid"] if not transposed else ["int", "pairs"]))
    padding = {"int": draw(st.integers(0, 2)), "same": "same", "valid": "valid",
               "pairs": [(draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(nd)]}[pad]
    if padding == "same":
        s = (1,) * nd
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    ci, co = g * draw(st.integers(1, 2)), g * draw(st.integers(1, 2))
    x = rng.integers(-4, 5, (draw(st.integers(1, 2)), ci, *n)).astype(np.float32)
    w = rng.integers(-4, 5, (ci, co // g, *k) if transposed else (co, ci // g, *k)).astype(np.float32)
    b = rng.integers(-4, 5, co).astype(np.float32) if draw(st.booleans()) else None
    op = tuple(draw(st.integers(0, max(a, c) - 1)) for a, c in zip(s, d))
    return dict(nd=nd, x=x, w=w, b=b, s=s, padding=padding, d=d, g=g, op=op)


@settings(max_examples=50)
@given(geometry(transposed=False))
def test_conv_nd_equals_the_oracle(c):
    got = CONV[c["nd"]](c["x"], c["w"], c["b"], c["s"], c["padding"], c["d"], c["g"])
    want = oracle.conv(c["x"], c["w"], c["b"], c["s"], c["padding"], c["d"], c["g"])
    assert got.shape == want.shape and np.array_equal(got, want)


@settings(max_examples=50)
@given(geometry(transposed=True))
def test_conv_transpose_nd_equals_the_oracle(c):
    try:
        want = oracle.conv_transpose(c["x"], c["w"], c["b"], c["s"], c["padding"], c["op"], c["g"], c["d"])
    except UsageError:                                   # the geometry leaves an empty output
        return
    got = TRANSPOSED[c["nd"]](c["x"], c["w"], c["b"], c["s"], c["padding"], c["op"], c["g"], c["d"])
    assert got.shape == want.shape and np.array_equal(got, want)
    # unbatched input gives the first sample's output
    one = TRANSPOSED[c["nd"]](c["x"][0], c["w"], c["b"], c["s"], c["padding"], c["op"], c["g"], c["d"])
    assert np.array_equal(one, want[0])


@settings(max_examples=60)
@given(st.sampled_from(["constant", "reflect", "replicate", "circular"]), st.integers(1, 3),
       st.integers(0, 2 ** 32 - 1))
def test_pad_equals_the_oracle(mode, axes, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-9, 10, (2, *rng.integers(1, 5, axes))).astype(np.int16)
    sizes = x.shape[1:][::-1]
    lim = {"reflect": lambda n: n - 1, "circular": lambda n: n}.get(mode, lambda n: 3)
    pads = tuple(int(rng.integers(-1 if mode == "constant" and sizes[i // 2] > 2 else 0, lim(sizes[i // 2]) + 1))
                 for i in range(2 * axes))
    got = shim.pad(x, pads, mode, 5 if mode == "constant" else None)
    want = oracle.functional_pad(x, pads, mode, 5 if mode == "constant" else None)
    assert got.dtype == want.dtype and np.array_equal(got, want)


@st.composite
def int8_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    xt, wt, yt = (draw(st.sampled_from([np.uint8, np.int8])) for _ in range(3))
    g = draw(st.integers(1, 2))
    ci, co = g * draw(st.integers(1, 2)), g * draw(st.integers(1, 2))
    info = np.iinfo
    x = rng.integers(info(xt).min, info(xt).max + 1, (1, ci, 5, 6)).astype(xt)
    w = rng.integers(info(wt).min, info(wt).max + 1, (co, ci // g, 2, 3)).astype(wt)
    zw = rng.integers(info(wt).min, info(wt).max + 1, co if draw(st.booleans()) else ()).astype(wt)
    return dict(x=x, w=w, zx=xt(rng.integers(info(xt).min, info(xt).max + 1)), zw=zw, g=g,
                geo=dict(stride=draw(st.integers(1, 2)), padding=[(1, 0), (0, draw(st.integers(0, 2)))],
                         dilation=(draw(st.integers(1, 2)), 1), groups=g),
                ys=np.float32(rng.uniform(0.5, 40.0)), xs=np.float32(rng.uniform(0.001, 0.1)),
                ws=rng.uniform(0.001, 0.1, co).astype(np.float32),
                zy=yt(rng.integers(info(yt).min, info(yt).max + 1)),
                b=rng.integers(-2000, 2000, co).astype(np.int32))


@settings(max_examples=40)
@given(int8_case())
def test_integer_ops_equal_the_oracle(c):
    got = shim.conv2d_integer(c["x"], c["w"], c["zx"], c["zw"], **c["geo"])
    want = oracle.conv2d_integer(c["x"], c["w"], c["zx"], c["zw"], **c["geo"])
    assert got.dtype == np.int32 and np.array_equal(got, want)
    q = shim.qlinear_conv2d(c["x"], c["xs"], c["zx"], c["w"], c["ws"], c["zw"], c["ys"], c["zy"], c["b"], **c["geo"])
    qo = oracle.qlinear_conv2d(c["x"], c["xs"], c["zx"], c["w"], c["ws"], c["zw"], c["ys"], c["zy"], c["b"],
                               **c["geo"])
    assert q.dtype == qo.dtype == c["zy"].dtype and np.array_equal(q, qo)


def test_qlinear_ties_round_to_even_in_the_shim():
    x = np.array([[[[1, 3, 5, 7]]]], np.uint8)
    w = np.ones((1, 1, 1, 1), np.uint8)
    y = shim.qlinear_conv2d(x, 0.5, 0, w, 1.0, 0, 1.0, np.int8(0))   # 0.5, 1.5, 2.5, 3.5
    assert y.tolist() == [[[[0, 2, 2, 4]]]] == oracle.qlinear_conv2d(x, 0.5, 0, w, 1.0, 0, 1.0, np.int8(0)).tolist()


@pytest.mark.parametrize("call", [
    lambda: shim.conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), None, 2, "same"),
    lambda: shim.conv_transpose1d(np.ones((1, 1, 3)), np.ones((1, 1, 2)), None, 2, 0, 2),
    lambda: shim.pad(np.ones((1, 3)), (3, 0), "reflect"),
    lambda: shim.conv2d_integer(np.ones((1, 1, 2, 2), np.uint8), np.ones((1, 1, 1, 1), np.uint8), 300),
])
def test_shim_refuses_what_torch_and_onnx_refuse(call):
    with pytest.raises(ValueError):
        call()
