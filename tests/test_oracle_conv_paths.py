"""Every code path of the fast exact convolution equals the spec's convolution matrix T(w).

cnnspec.oracle.conv picks one of three kernels (stride 1: im2col rows as contiguous slices of the
flattened padded planes; any stride: im2col from the strided window view, in blocks of samples or
slabs of output rows; depthwise: a sum over the taps of shifted inputs times per-channel weights)
and runs each over blocks of samples (the transposed convolution's GEMM also in chunks of rows).
The block and chunk sizes are forced small here, so that one sample per block, a short last
block and a short last chunk all occur on small data; each result must equal ``T(w)·x + b`` computed in int64
(cnnspec.spec.toeplitz.ConvMatrix) and the same convolution in Python rationals (the oracle's
object path), bit for bit.
"""
import contextlib
import importlib
import importlib.util
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnspec import oracle
from cnnspec.errors import UsageError
from cnnspec.spec.convolution import ConvSpec
from cnnspec.spec.toeplitz import ConvMatrix
from cnnspec.spec.transposed import TransposedMatrix, TransposedSpec

conv_mod = importlib.import_module("cnnspec.oracle.conv")
core_mod = importlib.import_module("cnnspec.oracle.core")
transposed_mod = importlib.import_module("cnnspec.oracle.transposed")
COMPILED = (conv_mod, transposed_mod, core_mod)   # the modules whose loops numba may compile


@contextlib.contextmanager
def blocking(cache: int | None = None, small: int | None = None, chunk: int | None = None,
             compiled: bool | None = None):
    """The oracle with its block size (``_CACHE_BLOCK`` entries), GEMM chunk limit
    (``_SMALL_GEMM``) and certificate chunk (``_CHUNK``) set, and its compiled loops (numba) used
    at every size (``compiled=True``) or never (``False``), restored afterwards."""
    saved = conv_mod._CACHE_BLOCK, conv_mod._SMALL_GEMM, core_mod._CHUNK
    thresholds = [m.COMPILED_MIN for m in COMPILED]
    try:
        if cache is not None:
            conv_mod._CACHE_BLOCK = cache
        if small is not None:
            conv_mod._SMALL_GEMM = small
        if chunk is not None:
            core_mod._CHUNK = chunk
        if compiled is not None:
            for m in COMPILED:
                m.COMPILED_MIN = 0 if compiled else 1 << 62
        yield
    finally:
        conv_mod._CACHE_BLOCK, conv_mod._SMALL_GEMM, core_mod._CHUNK = saved
        for m, v in zip(COMPILED, thresholds):
            m.COMPILED_MIN = v


ROUTES = [False, pytest.param(True, marks=pytest.mark.skipif(
    importlib.util.find_spec("numba") is None, reason="numba is not installed"))]


def toeplitz(x, w, b, stride, pads, dilation, groups) -> np.ndarray:
    """``T(w)·x + b`` in int64, from the spec's matrix."""
    n, c, *size = x.shape
    co, _, *k = w.shape
    spec = ConvSpec.make(tuple(size), tuple(k), in_channels=c, out_channels=co, groups=groups,
                         stride=stride, padding=tuple(pads), dilation=dilation)
    T = ConvMatrix(spec).numeric(w.astype(np.int64))
    y = (T @ x.reshape(n, -1).astype(np.int64).T).T.reshape(n, *spec.output_shape)
    return y if b is None else y + b.astype(np.int64).reshape(-1, *[1] * len(size))


@st.composite
def geometries(draw, depthwise: bool | None = None):
    """A 1-D to 3-D convolution with integer data; ``depthwise`` forces C_in = C_out = groups."""
    nd = draw(st.integers(1, 3))
    dw = draw(st.booleans()) if depthwise is None else depthwise
    g = draw(st.integers(2, 4)) if dw else draw(st.integers(1, 2))
    cg, og = (1, 1) if dw else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    ax = lambda lo, hi: tuple(draw(st.integers(lo, hi)) for _ in range(nd))  # noqa: E731
    k, s, d = ax(1, 3), ax(1, 2), ax(1, 2)
    pads = [(draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(nd)]
    size = tuple(max(draw(st.integers(1, 7 - nd)), di * (ki - 1) + 1 - lo - hi)
                 for ki, di, (lo, hi) in zip(k, d, pads))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    x = rng.integers(-5, 6, (draw(st.integers(1, 5)), g * cg, *size)).astype(np.float32)
    w = rng.integers(-5, 6, (g * og, cg, *k)).astype(np.float32)
    b = rng.integers(-9, 10, g * og).astype(np.float32) if draw(st.booleans()) else None
    return dict(x=x, w=w, b=b, stride=s, pads=pads, dilation=d, groups=g)


def _run(c) -> np.ndarray:
    return oracle.conv(c["x"], c["w"], c["b"], c["stride"], c["pads"], c["dilation"], c["groups"])


def _assert_exact(c, got):
    want = toeplitz(c["x"], c["w"], c["b"], c["stride"], c["pads"], c["dilation"], c["groups"])
    assert got.dtype == np.float64 and got.shape == want.shape and np.array_equal(got, want)


@settings(max_examples=60, deadline=None)
@given(geometries(), st.sampled_from([1, 40, 400]), st.booleans())
def test_every_path_and_blocking_equals_the_toeplitz_matrix(c, cache, chunked):
    """One sample per block (``cache=1``), short last blocks, and GEMM chunks of 16 rows with a
    short last chunk (``chunked``) all give T(w)·x + b exactly."""
    kk = c["w"].shape[1] * math.prod(c["w"].shape[2:])
    small = 16 * kk * (c["w"].shape[0] // c["groups"]) if chunked else 0
    with blocking(cache=cache, small=small):
        _assert_exact(c, _run(c))


@pytest.mark.parametrize("compiled", ROUTES, ids=["numpy", "compiled"])
@settings(max_examples=40, deadline=None)
@given(c=geometries(depthwise=True), cache=st.sampled_from([1, 100, 10 ** 6]))
def test_depthwise_tap_sums_equal_the_toeplitz_matrix(c, cache, compiled):
    """Both routes of a depthwise convolution (NumPy's passes; numba's loop over planes that share
    their zero borders), in blocks of one sample to all of them."""
    with blocking(cache=cache, compiled=compiled):
        _assert_exact(c, _run(c))


@settings(max_examples=30, deadline=None)
@given(geometries())
def test_float_path_equals_python_rational_arithmetic(c):
    """The certified float32 GEMMs and the object path (Python Fractions, no rounding anywhere)
    agree: the data halved are not integers, so the oracle takes the object path, and the
    convolution being linear, twice its result is the integer one."""
    c["x"].flat[0] = 1                                  # an odd entry: x/2 is not all integers
    half = lambda a: None if a is None else np.vectorize(  # noqa: E731
        lambda v: Fraction(int(v), 2), otypes=[object])(a)
    exact = oracle.conv(half(c["x"]), c["w"], half(c["b"]), c["stride"], c["pads"],
                        c["dilation"], c["groups"])
    assert exact.dtype == object
    assert np.array_equal(_run(c), (2 * exact).astype(np.float64))


def test_gemm_chunks_and_remainder_equal_one_product():
    rng = np.random.default_rng(0)
    a = rng.integers(-9, 10, (37, 5)).astype(np.float32)
    b = rng.integers(-9, 10, (5, 3)).astype(np.float32)
    out = np.full((37, 3), np.nan, np.float32)
    with blocking(small=16 * 5 * 3):                      # chunks of 16 rows: 16 + 16 + 5
        conv_mod.gemm(a, b, out)
    assert np.array_equal(out, a.astype(np.int64) @ b.astype(np.int64))


@pytest.mark.parametrize("chunk", [4, 7, 2 ** 18])
@pytest.mark.parametrize("compiled", ROUTES, ids=["numpy", "compiled"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_certificate_scan_is_chunk_independent(chunk, dtype, compiled):
    """The chunked scan (or the compiled one-pass scan) finds a non-integer, a NaN or an infinity
    anywhere, and the peak, of either sign, of contiguous and strided arrays."""
    x = np.arange(-20, 21, dtype=dtype).reshape(1, 1, 41)
    w = np.ones((1, 1, 3), dtype)
    with blocking(chunk=chunk, compiled=compiled):
        assert core_mod.exact_arith(x, w, None, 3) == np.float32
        assert core_mod._integral_peak(x) == 20.0
        assert core_mod._integral_peak(-x[..., 2::3]) == 18.0    # strided; -0.0 is 0
        for bad in (0.5, -2.0 ** -30, np.nan, np.inf, -np.inf):
            y = x.copy()
            y[0, 0, 37] = bad
            assert core_mod.exact_arith(y, w, None, 3) == object
            assert core_mod._integral_peak(y[..., 1::2]) is None
        big = x * 2.0 ** 20                                 # 3·20·2^20 >= 2^24: float64
        assert core_mod.exact_arith(big, w, None, 3) == np.float64
        assert core_mod._integral_peak(big) == 20.0 * 2 ** 20


@pytest.mark.parametrize("side", [32, 10])
@pytest.mark.parametrize("channels,stride,groups", [(3, 1, 1), (12, 1, 1), (12, 2, 1), (12, 1, 3)])
@pytest.mark.parametrize("cache,flat", [(None, True), (1, False)])
def test_each_route_of_the_transposed_im2col_stays_exact(side, channels, stride, groups, cache, flat,
                                                         monkeypatch):
    """Stride 1 takes the flattened-plane route unless one plane's im2col outgrows a block; a
    stride > 1 or a block of one entry takes the window view (slabs of one output row)."""
    rng = np.random.default_rng(side + channels + stride + groups)
    x = rng.integers(-5, 6, (3, channels, side, side)).astype(np.float32)
    w = rng.integers(-5, 6, (4 * groups, channels // groups, 3, 3)).astype(np.float32)
    b = rng.integers(-9, 10, 4 * groups).astype(np.float32)
    c = dict(x=x, w=w, b=b, stride=(stride, stride), pads=[(1, 1), (1, 1)], dilation=(1, 1),
             groups=groups)
    taken = []
    real = conv_mod._kmajor_flat
    monkeypatch.setattr(conv_mod, "_kmajor_flat", lambda *a: taken.append(1) or real(*a))
    per_sample = 9 * channels * (side + 2) ** 2
    with blocking(cache=cache if cache is not None else 2 * per_sample):   # blocks of 2, then 1
        _assert_exact(c, _run(c))
    assert bool(taken) == (flat and stride == 1)


@st.composite
def transposed_geometries(draw):
    """A 1-D to 3-D transposed convolution with output_padding < max(stride, dilation)."""
    nd = draw(st.integers(1, 3))
    g = draw(st.integers(1, 2))
    ci, cgo = g * draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ax = lambda lo, hi: tuple(draw(st.integers(lo, hi)) for _ in range(nd))  # noqa: E731
    n, k, s, d = ax(1, 5 - nd), ax(1, 3), ax(1, 3), ax(1, 2)
    op = tuple(draw(st.integers(0, max(a, b) - 1)) for a, b in zip(s, d))
    full = [(a - 1) * si + di * (ki - 1) + 1 + o for a, si, di, ki, o in zip(n, s, d, k, op)]
    pads = [(draw(st.integers(0, (f - 1) // 2)), draw(st.integers(0, (f - 1) // 2))) for f in full]
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    x = rng.integers(-5, 6, (draw(st.integers(1, 4)), ci, *n)).astype(np.float32)
    w = rng.integers(-5, 6, (ci, cgo, *k)).astype(np.float32)
    b = rng.integers(-9, 10, cgo * g).astype(np.float32) if draw(st.booleans()) else None
    return dict(x=x, w=w, b=b, kwargs=dict(stride=s, padding=pads, output_padding=op, groups=g,
                                           dilation=d))


@pytest.mark.parametrize("compiled", ROUTES, ids=["numpy", "compiled"])
@settings(max_examples=50, deadline=None)
@given(c=transposed_geometries(), cache=st.sampled_from([1, 60, 10 ** 6]), chunked=st.booleans())
def test_transposed_paths_equal_the_spec_transposed_matrix(c, cache, chunked, compiled):
    """Blocks of one sample, short last blocks and chunked GEMMs, the taps added by NumPy or by
    the compiled loop: ``T(w)ᵀ x + b`` exactly, with the matrix from the spec's scatter form
    (cnnspec.spec.transposed.TransposedMatrix)."""
    _assert_transposed_exact(c, cache, chunked, compiled)


@pytest.mark.parametrize("compiled", ROUTES, ids=["numpy", "compiled"])
@pytest.mark.parametrize("kernel", [(2,), (3, 2), (2, 1, 3)])
@pytest.mark.parametrize("groups", [1, 2])
def test_kernel_equal_to_stride_is_a_pixel_shuffle_of_the_columns(kernel, groups, compiled):
    """k = s without padding (a U-Net up-convolution) takes the pixel-shuffle route in NumPy."""
    rng = np.random.default_rng(len(kernel) + groups)
    x = rng.integers(-5, 6, (3, 2 * groups, *[3] * len(kernel))).astype(np.float32)
    w = rng.integers(-5, 6, (2 * groups, 3, *kernel)).astype(np.float32)
    b = rng.integers(-9, 10, 3 * groups).astype(np.float32)
    c = dict(x=x, w=w, b=b, kwargs=dict(stride=kernel, padding=[(0, 0)] * len(kernel),
                                        output_padding=0, groups=groups, dilation=1))
    _assert_transposed_exact(c, 1, False, compiled)              # one sample per block


def _assert_transposed_exact(c, cache, chunked, compiled=None):
    x, w, b, kw = c["x"], c["w"], c["b"], c["kwargs"]
    n, ci, *size = x.shape
    spec = TransposedSpec.make(tuple(size), tuple(w.shape[2:]), in_channels=ci,
                               out_channels=w.shape[1] * kw["groups"], groups=kw["groups"],
                               stride=kw["stride"], padding=tuple(kw["padding"]),
                               dilation=kw["dilation"], output_padding=kw["output_padding"])
    T = TransposedMatrix(spec).numeric(w.astype(np.int64))
    want = (T @ x.reshape(n, -1).astype(np.int64).T).T.reshape(n, *spec.output_shape)
    if b is not None:
        want = want + b.astype(np.int64).reshape(-1, *[1] * len(size))
    small = 16 * (ci // kw["groups"]) * w.shape[1] * math.prod(w.shape[2:]) if chunked else 0
    with blocking(cache=cache, small=small, compiled=compiled):
        got = oracle.conv_transpose(x, w, b, **kw)
    assert got.dtype == np.float64 and got.shape == want.shape and np.array_equal(got, want)


BAD = [
    (lambda: oracle.conv2d(np.ones((1, 3, 5, 5)), np.ones((2, 2, 3, 3))), "weight"),
    (lambda: oracle.conv2d(np.ones((1, 4, 5, 5)), np.ones((3, 2, 3, 3)), groups=2), "groups"),
    (lambda: oracle.conv2d(np.ones((1, 2, 5, 5)), np.ones((2, 1, 3, 3)), groups=0), "groups"),
    (lambda: oracle.conv(np.ones((1, 2, 5, 5)), np.ones((2, 2, 3))), "weight"),
    (lambda: oracle.conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), stride=0), "stride"),
    (lambda: oracle.conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), dilation=(1, 0)), "dilation"),
    (lambda: oracle.conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), padding=-1), "padding"),
    (lambda: oracle.conv2d(np.ones((1, 1, 5, 5)), np.ones((2, 1, 3, 3)), np.ones(3)), "bias"),
    (lambda: oracle.conv2d(np.full((1, 1, 3, 3), np.nan), np.ones((1, 1, 2, 2))), "input"),
    (lambda: oracle.conv2d(np.ones((1, 1, 3, 3)), np.full((1, 1, 2, 2), np.inf)), "weight"),
    (lambda: oracle.conv_transpose2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)),
                                     np.array([np.nan])), "bias"),
]


@pytest.mark.parametrize("call,arg", BAD, ids=[f"{a}-{i}" for i, (_, a) in enumerate(BAD)])
def test_bad_geometry_and_special_values_are_one_line_naming_the_argument(call, arg):
    with pytest.raises(UsageError) as e:
        call()
    assert str(e.value).startswith(f"{arg}: ") and "\n" not in str(e.value)


def test_special_values_are_ieee_in_the_float64_tier():
    y = oracle.conv(np.array([[[np.nan, 1.0, 2.0]]]), np.ones((1, 1, 2)), exact=False)
    assert np.isnan(y[0, 0, 0]) and y[0, 0, 1] == 3.0


@pytest.mark.parametrize("groups,cg", [(1, 1), (1, 2), (2, 1)])
def test_an_empty_batch_gives_an_empty_output_of_the_right_shape(groups, cg):
    x = np.zeros((0, groups * cg, 6, 6), np.float32)
    w = np.ones((groups * 2 if cg > 1 else groups, cg, 3, 3), np.float32)
    assert oracle.conv2d(x, w, None, 1, 1, 1, groups).shape == (0, w.shape[0], 6, 6)
    assert oracle.conv_transpose2d(x, np.ones((groups * cg, 2, 3, 3)), None, 2, 0, 0,
                                   groups).shape == (0, 2 * groups, 13, 13)


EDGE_CASES = {   # name: (x shape, w shape, stride, pads, dilation, groups)
    "1-D, one channel, batch 1": ((1, 1, 9), (1, 1, 3), (1,), [(1, 2)], (2,), 1),
    "1-D kernel as long as the padded input": ((2, 3, 4), (5, 3, 6), (1,), [(1, 1)], (1,), 1),
    "2-D grouped, dilated, asymmetric padding": ((2, 6, 7, 6), (4, 3, 3, 2), (1, 1),
                                                [(0, 2), (1, 0)], (2, 3), 2),
    "2-D strided on one axis only": ((3, 4, 9, 8), (5, 4, 3, 3), (2, 1), [(1, 1), (0, 0)], (1, 1), 1),
    "2-D depthwise, dilated": ((2, 5, 8, 9), (5, 1, 3, 3), (1, 1), [(2, 2), (2, 2)], (2, 2), 5),
    "2-D depthwise, strided": ((1, 3, 9, 9), (3, 1, 3, 2), (2, 3), [(1, 1), (0, 1)], (1, 1), 3),
    "2-D depthwise, channel multiplier 2": ((2, 3, 6, 6), (6, 1, 3, 3), (1, 1), [(1, 1)] * 2, (1, 1), 3),
    "3-D stride 1, one output channel": ((2, 2, 4, 5, 6), (1, 2, 2, 3, 3), (1, 1, 1), [(1, 0)] * 3,
                                         (1, 1, 1), 1),
    "3-D depthwise": ((1, 4, 4, 4, 4), (4, 1, 2, 2, 2), (1, 1, 1), [(1, 1)] * 3, (1, 2, 1), 4),
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
@pytest.mark.parametrize("bias", [False, True])
def test_edge_geometries_equal_the_toeplitz_matrix_at_the_certificates_limit(name, bias):
    """Literal edge geometries of every route, with data at the certificate's limit: all entries
    ±peak with ``K·peak·peak`` just below 2^24, so a lost or doubled product, or one partial sum
    rounded in float32, changes the result."""
    xs, ws, s, pads, d, g = EDGE_CASES[name]
    kk = math.prod(ws[1:])
    peak = int(math.isqrt((2 ** 24 - 1 - 7) // kk))          # K·peak² + max|b| < 2^24
    rng = np.random.default_rng(len(name))
    x = (rng.choice([-1, 1], xs) * rng.integers(peak - 3, peak + 1, xs)).astype(np.float32)
    w = (rng.choice([-1, 1], ws) * rng.integers(peak - 3, peak + 1, ws)).astype(np.float32)
    b = rng.integers(-7, 8, ws[0]).astype(np.float32) if bias else None
    c = dict(x=x, w=w, b=b, stride=s, pads=pads, dilation=d, groups=g)
    assert core_mod.exact_arith(x, w, b, kk) == np.float32      # the float32 routes, not float64
    for cache in (1, 2 ** 19):
        for compiled in (False, True) if importlib.util.find_spec("numba") else (False,):
            with blocking(cache=cache, compiled=compiled):
                _assert_exact(c, _run(c))
