"""cnnspec.oracle.pool, .adaptive, .unpool against torch on CPU: maxima and indices bit for bit on
integer data, averages within the rigorous float32 bound of the exact rational, the tie and NaN
rules, the exact-sum paths, windows in the padding, and one-line errors for bad arguments."""
from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnspec import oracle
from cnnspec.errors import UsageError
from cnnspec.oracle.pool import exact_terms

RNG = np.random.default_rng(20161210)


def geometries(nd: int, count: int, op: str = "max_pool"):
    """Random geometries torch's ``op`` accepts (padding <= kernel // 2, ...), seeded."""
    out = []
    while len(out) < count:
        k = tuple(int(v) for v in RNG.integers(1, 4, nd))
        g = dict(size=tuple(int(v) for v in RNG.integers(1, 8, nd)), kernel_size=k,
                 stride=tuple(int(v) for v in RNG.integers(1, 4, nd)),
                 padding=tuple(int(RNG.integers(0, kk // 2 + 1)) for kk in k),
                 dilation=tuple(int(v) for v in RNG.integers(1, 3, nd)), ceil_mode=bool(RNG.integers(2)))
        if op == "avg_pool":
            del g["dilation"]
        try:
            getattr(F, f"{op}{nd}d")(torch.zeros(1, 1, *g["size"]),
                                     **{k: v for k, v in g.items() if k != "size"})
        except RuntimeError:
            continue
        out.append(g)
    return out


def avg_bound(x, call, nd, **kw):
    """γ_{K+2}(2^-24)·Σ|x|/divisor + half an ulp of float32: any float32 order, one rounding out."""
    sums, div = oracle.avg_pool_parts(np.abs(x), call["kernel_size"], call["stride"], call["padding"],
                                      call["ceil_mode"], **kw)
    k = int(np.prod(call["kernel_size"]))
    return oracle.gamma(k + 2, "float32") * sums / np.abs(div)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_pool_values_and_indices_bit_exact(nd):
    for g in geometries(nd, 60):
        size = g.pop("size")
        x = RNG.integers(-3, 4, (2, 3, *size)).astype(np.float32)        # many ties
        want_y, want_i = getattr(F, f"max_pool{nd}d")(torch.from_numpy(x), return_indices=True, **g)
        y, i = getattr(oracle, f"max_pool{nd}d")(x, return_indices=True, **g)
        assert y.dtype == np.float32 and i.dtype == np.int64
        assert np.array_equal(y, want_y.numpy()) and np.array_equal(i, want_i.numpy()), g


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_avg_pool_within_the_rigorous_bound_of_torch_float32(nd):
    for g in geometries(nd, 40, "avg_pool"):
        size = g.pop("size")
        x = RNG.normal(size=(2, 2, *size)).astype(np.float32)
        for cip in (True, False):
            kw = {"count_include_pad": cip}
            if nd > 1 and RNG.integers(2):
                kw["divisor_override"] = int(RNG.integers(1, 9))
            got = getattr(oracle, f"avg_pool{nd}d")(x, **g, **kw)
            torch_y = getattr(F, f"avg_pool{nd}d")(torch.from_numpy(x), **g, **kw).double().numpy()
            bound = avg_bound(x, g, nd, **kw) + 2 ** -24 * np.abs(got)
            assert np.all(np.abs(torch_y - got) <= bound), (g, kw)
            # and torch in float64 on the same data agrees to float64's own bound
            t64 = getattr(F, f"avg_pool{nd}d")(torch.from_numpy(x.astype(np.float64)), **g, **kw).numpy()
            assert np.all(np.abs(t64 - got) <= 1e-15 * (avg_bound(x, g, nd, **kw) * 2 ** 24 + np.abs(got)))


def test_average_of_general_floats_is_the_exact_rational_rounded_once():
    x = RNG.normal(size=(1, 1, 5, 5)).astype(np.float32)
    got = oracle.avg_pool2d(x, 3, 2, 1, True, False)
    sums, div = oracle.avg_pool2d_parts(x.astype(object), 3, 2, 1, True, False)
    exact = [float(sum(Fraction(float(v)) for v in x[0, 0, max(0, 2 * i - 1):2 * i + 2,
                                                      max(0, 2 * j - 1):2 * j + 2].flat)
                   / int(div[i, j])) for i in range(3) for j in range(3)]
    assert got.reshape(-1).tolist() == exact
    y, e = exact_terms(np.array([0.75, 2.0 ** -30, 3.0], np.float32), 9)
    assert e == 30 and y.tolist() == [0.75 * 2 ** 30, 1.0, 3.0 * 2 ** 30]
    huge = np.array([2.0 ** 60, 1.0])                 # the spread of exponents is too wide
    assert exact_terms(huge, 2)[0].dtype == object
    assert oracle.avg_pool1d(huge.reshape(1, 1, 2), 2).item() == float(Fraction(2 ** 60 + 1, 2))


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_adaptive_pools_match_torch(nd):
    for _ in range(40):
        size = tuple(int(v) for v in RNG.integers(1, 9, nd))
        m = tuple(int(v) for v in RNG.integers(1, 7, nd))
        x = RNG.integers(-2, 3, (2, 2, *size)).astype(np.float32)
        want_y, want_i = getattr(F, f"adaptive_max_pool{nd}d")(torch.from_numpy(x), m, return_indices=True)
        y, i = getattr(oracle, f"adaptive_max_pool{nd}d")(x, m, return_indices=True)
        assert np.array_equal(y, want_y.numpy()) and np.array_equal(i, want_i.numpy()), (size, m)
        got = getattr(oracle, f"adaptive_avg_pool{nd}d")(x, m)
        t64 = getattr(F, f"adaptive_avg_pool{nd}d")(torch.from_numpy(x.astype(np.float64)), m).numpy()
        assert np.all(np.abs(got - t64) <= 2 ** -52 * np.abs(got)), (size, m)


def test_global_pools_are_adaptive_pools_to_one():
    x = RNG.integers(-9, 10, (2, 3, 4, 5, 6)).astype(np.float64)
    assert np.array_equal(oracle.global_max_pool(x), x.max(axis=(2, 3, 4), keepdims=True))
    assert np.array_equal(oracle.global_avg_pool(x), x.sum(axis=(2, 3, 4), keepdims=True) / 120)


def test_tie_and_nan_rules_are_torchs():
    nan, inf = np.nan, np.inf
    for row, value, index in [([3, 1, 3, 0], 3, 0), ([1, nan, 2, nan, 0], nan, 3),
                              ([nan, 5, nan, 7], nan, 2), ([-inf, -inf, -inf], -inf, 0)]:
        x = np.array([[row]], np.float32)
        for fn, arg in ((oracle.max_pool1d, len(row)), (oracle.adaptive_max_pool1d, 1)):
            y, i = fn(x, arg, return_indices=True)
            assert np.array_equal(y.ravel(), [value], equal_nan=True) and i.item() == index
            ty, ti = getattr(F, fn.__name__)(torch.from_numpy(x), arg, return_indices=True)
            assert ti.item() == index
    rng = np.random.default_rng(3)
    x = rng.choice([0.0, 1.0, nan, -inf, inf], (2, 2, 5, 6)).astype(np.float32)
    y, i = oracle.max_pool2d(x, (2, 3), 1, (1, 1), 1, True, return_indices=True)
    ty, ti = F.max_pool2d(torch.from_numpy(x), (2, 3), 1, (1, 1), 1, True, return_indices=True)
    assert np.array_equal(y, ty.numpy(), equal_nan=True) and np.array_equal(i, ti.numpy())
    a = oracle.avg_pool2d(x, 2, 1, 1, True, False)
    assert np.array_equal(a, F.avg_pool2d(torch.from_numpy(x).double(), 2, 1, 1, True, False).numpy(),
                          equal_nan=True)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_indices_with_nan_and_infinities_under_strides_and_dilation(nd):
    # the stride phases and tap scores of the index scan, on the data where the rules differ:
    # ties, NaN (last one), −inf-only windows (torch's start), +inf
    for g in geometries(nd, 25):
        size = g.pop("size")
        x = RNG.choice(np.array([0.0, 1.0, 1.0, np.nan, -np.inf, np.inf], np.float32), (2, 2, *size))
        want_y, want_i = getattr(F, f"max_pool{nd}d")(torch.from_numpy(x), return_indices=True, **g)
        y, i = getattr(oracle, f"max_pool{nd}d")(x, return_indices=True, **g)
        assert np.array_equal(y, want_y.numpy(), equal_nan=True) and np.array_equal(i, want_i.numpy()), g
        assert np.array_equal(getattr(oracle, f"max_pool{nd}d")(x, **g), y, equal_nan=True)


def test_windows_without_a_real_entry():
    # dilated taps that all land in the padding: -inf, and torch's index outside the plane
    x = np.array([[[[0.0, 0, 2, 3, -3, -2, 2]]]], np.float32)
    y, i = oracle.max_pool2d(x, (2, 1), (1, 3), (1, 0), (2, 2), return_indices=True)
    assert np.all(y == -np.inf) and i.ravel().tolist() == [7, 10, 13]
    # pads over half the kernel (ONNX allows them): wholly-padded windows give -inf / 0 / nan
    x = np.array([[[1.0, 2.0]]])
    assert oracle.max_pool(x, 1, 1, [(1, 1)], torch_limits=False).tolist() == [[[-np.inf, 1, 2, -np.inf]]]
    inc = oracle.avg_pool(x, 1, 1, [(1, 1)], count_include_pad=True, torch_limits=False)
    exc = oracle.avg_pool(x, 1, 1, [(1, 1)], count_include_pad=False, torch_limits=False)
    assert inc.tolist() == [[[0.0, 1.0, 2.0, 0.0]]]
    assert np.isnan(exc[0, 0, [0, 3]]).all() and exc[0, 0, 1:3].tolist() == [1.0, 2.0]
    with pytest.raises(UsageError, match="padding: 2 is more than half the kernel size 3"):
        oracle.max_pool1d(x, 3, padding=2)


def test_lp_pool_is_torchs_definition_sign_included():
    x = RNG.integers(-3, 4, (2, 2, 6, 7)).astype(np.float64)
    for p in (1, 2, 3, 1.5, np.inf):
        for k, s, ceil in (((2, 3), None, False), ((3, 2), (2, 2), True)):
            want = F.lp_pool2d(torch.from_numpy(x), p, k, s, ceil).numpy()
            got = oracle.lp_pool2d(x, p, k, s, ceil)
            assert np.allclose(got, want, rtol=1e-13, atol=0, equal_nan=True), (p, k, ceil)
            if p == 3:      # a negative power sum: NaN, as torch's pow(negative, 1/3)
                assert np.isnan(got).any()
    got = oracle.lp_pool1d(np.array([[[-2.0, -1.0]]]), 1, 2)
    assert got.tolist() == [[[-3.0]]]                            # p = 1 keeps the sign
    onnx = oracle.lp_pool(np.array([[[-2.0, -1.0]]]), 3, 2, convention="onnx")
    assert onnx.tolist() == [[[9.0 ** (1 / 3)]]]


def test_max_unpool_inverts_max_pool_where_torch_does():
    for nd, size, k in ((1, (9,), (3,)), (2, (5, 6), (2, 3)), (3, (4, 4, 6), (2, 2, 3))):
        x = RNG.permutation(np.prod(size) * 4).reshape(2, 2, *size).astype(np.float32)
        ty, ti = getattr(F, f"max_pool{nd}d")(torch.from_numpy(x), k, return_indices=True)
        for out in (None, tuple(m * kk + kk - 1 for m, kk in zip(ty.shape[2:], k))):
            want = getattr(F, f"max_unpool{nd}d")(ty, ti, k, output_size=out).numpy()
            got = getattr(oracle, f"max_unpool{nd}d")(ty.numpy(), ti.numpy(), k, output_size=out)
            assert np.array_equal(got, want)
    # repeated indices: the last one in row-major order is kept (torch's result is unspecified)
    got = oracle.max_unpool1d(np.array([[[1.0, 2.0, 3.0]]]), np.array([[[1, 1, 0]]]), 2, 1)
    assert got.tolist() == [[[3.0, 2.0, 0.0, 0.0]]]
    assert oracle.unpool.colliding(np.array([[[1, 1, 0]]])).tolist() == [[[True, True, False]]]


@pytest.mark.parametrize("call, message", [
    (lambda: oracle.max_pool2d(np.zeros((1, 1, 4, 4)), 0), r"kernel_size: \(0, 0\) must be >= 1"),
    (lambda: oracle.avg_pool2d(np.zeros((1, 1, 4, 4)), 2, divisor_override=0),
     "divisor_override: 0 must be a non-zero int"),
    (lambda: oracle.avg_pool1d(np.zeros((1, 1, 4)), 2, divisor_override=2),
     "divisor_override: 2 is not an argument of avg_pool1d"),
    (lambda: oracle.adaptive_avg_pool2d(np.zeros((1, 1, 4, 4)), 0), "output_size: 0 must be ints >= 1"),
    (lambda: oracle.lp_pool2d(np.zeros((1, 1, 4, 4)), 0, 2), "norm_type: 0 must be a positive number"),
    (lambda: oracle.lp_pool1d(np.zeros((1, 1, 4)), -2.0, 2), "norm_type: -2.0 must be a positive"),
    (lambda: oracle.max_unpool1d(np.zeros((1, 1, 2)), np.zeros((1, 1, 2), np.int32), 2),
     "indices: dtype int32 must be int64"),
    (lambda: oracle.max_unpool1d(np.zeros((1, 1, 2)), np.array([[[0, 4]]]), 2),
     r"indices: 4 is outside \[0, 4\)"),
    (lambda: oracle.max_unpool1d(np.zeros((1, 1, 2)), np.array([[[0, 1]]]), 2, output_size=(6,)),
     "output_size: 6 on axis 0 must be strictly between 2 and 6"),
    (lambda: oracle.max_pool3d(np.zeros((4, 4)), 2), r"input: shape \(4, 4\) must have 4 or 5 dimensions"),
])
def test_bad_arguments_are_one_line_usage_errors(call, message):
    with pytest.raises(UsageError, match=message) as e:
        call()
    assert "\n" not in str(e.value)


def test_unbatched_inputs_like_torch():
    x = RNG.integers(-5, 6, (3, 4, 5)).astype(np.float32)
    y, i = oracle.max_pool2d(x, 2, return_indices=True)
    ty, ti = F.max_pool2d(torch.from_numpy(x), 2, return_indices=True)
    assert np.array_equal(y, ty.numpy()) and np.array_equal(i, ti.numpy())
    assert oracle.adaptive_avg_pool1d(x, 2).shape == F.adaptive_avg_pool1d(torch.from_numpy(x), 2).shape


# --- the oracle equals the spec ---------------------------------------------------------------------

from cnnspec.spec import pooling as P  # noqa: E402
from cnnspec.spec.convolution import ConvSpec  # noqa: E402
from cnnspec.spec.pool_claims import AVG_CONFIGS, window_mean  # noqa: E402
from cnnspec.spec.toeplitz import ConvMatrix  # noqa: E402


@pytest.mark.parametrize("cfg", AVG_CONFIGS, ids=lambda c: f"{len(c['size'])}d")
def test_avg_pool_is_the_uniform_kernel_convolution_matrix(cfg):
    cfg = dict(cfg)
    size = cfg.pop("size")
    geo = P.pool_geometry(size, **cfg)
    spec = ConvSpec.make(size, geo.kernel, stride=geo.stride, padding=list(geo.pads), dilation=geo.dilation)
    T = ConvMatrix(spec).numeric(np.ones(spec.n_weights, np.int64))
    u = RNG.integers(-20, 21, int(np.prod(size)))
    for cip, override in ((True, None), (False, None), (True, -3)):
        got = oracle.avg_pool(u.reshape(1, 1, *size).astype(np.float64), cfg["kernel_size"],
                              cfg.get("stride"), cfg.get("padding", 0), cfg.get("ceil_mode", False), cip,
                              override, cfg.get("dilation", 1), torch_limits=cfg.get("torch_limits", True))
        div = P.avg_divisors(size, geo, cip, override).ravel()
        with np.errstate(invalid="ignore"):
            want = (T @ u) / div                   # integers over integers: one rounding, as the oracle
        assert np.array_equal(got.ravel(), want, equal_nan=True)
        means = window_mean(u, size, geo, cip, override)
        assert [None if np.isnan(g) else g for g in got.ravel()] == [None if m is None else float(m) for m in means]


def test_max_pool_and_unpool_are_the_specs_on_integers():
    for size, k, s in (((9,), (3,), (2,)), ((5, 6), (2, 3), (2, 2)), ((3, 4, 5), (2, 2, 2), (1, 2, 2))):
        geo = P.pool_geometry(size, k, s)
        x = RNG.integers(-4, 5, (6, int(np.prod(size)))).astype(np.float64)
        want_v, want_i = P.max_with_indices(x, size, geo)
        got_v, got_i = oracle.max_pool(x.reshape(2, 3, *size), k, s, return_indices=True)
        assert np.array_equal(got_v.reshape(6, -1), want_v) and np.array_equal(got_i.reshape(6, -1), want_i)
        sym = P.pool_reduce(list(x[0]), size, geo, max)
        assert got_v.reshape(6, -1)[0].tolist() == sym
        plane = int(np.prod(size))
        u = oracle.max_unpool(got_v, got_i, k, s, output_size=size)
        assert np.array_equal(u.reshape(6, -1), P.unpool_scatter(want_v, want_i, plane))


def test_adaptive_pools_use_the_specs_windows():
    x = RNG.integers(-9, 10, (1, 1, 7, 5)).astype(np.float64)
    (rs, re), (cs, ce) = P.adaptive_windows(7, 3), P.adaptive_windows(5, 4)
    want = [[x[0, 0, a:b, c:d].mean() for c, d in zip(cs, ce)] for a, b in zip(rs, re)]
    got = oracle.adaptive_avg_pool2d(x, (3, 4))[0, 0]
    assert np.max(np.abs(got - np.array(want))) <= 2 ** -52 * np.max(np.abs(want))
    assert np.array_equal(oracle.adaptive_max_pool2d(x, (3, 4))[0, 0],
                          [[x[0, 0, a:b, c:d].max() for c, d in zip(cs, ce)] for a, b in zip(rs, re)])


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_pool_backward_is_torchs_gradient(nd):
    for g in geometries(nd, 15):
        size = g.pop("size")
        _, valid, _ = P.window_taps(size, P.pool_geometry(size, **g))
        if not valid.any(-1).all():
            # a window without a real entry: torch's index for it points past the window (into
            # another row, or past the plane), and its backward then adds the gradient there or
            # writes out of bounds ("double free or corruption" on torch 2.13 CPU); the true
            # gradient of that constant −inf output is zero
            continue
        x = torch.from_numpy(RNG.integers(-2, 3, (2, 2, *size)).astype(np.float32)).requires_grad_()
        y, i = getattr(F, f"max_pool{nd}d")(x, return_indices=True, **g)
        up = torch.from_numpy(RNG.integers(-3, 4, y.shape).astype(np.float32))
        y.backward(up)
        got = oracle.max_pool_backward(up.numpy(), i.numpy(), size)
        assert np.array_equal(got, x.grad.numpy()), g


def test_doctests_of_the_pooling_oracle():
    import doctest

    from cnnspec.oracle import adaptive, pool, unpool
    assert sum(doctest.testmod(m).attempted for m in (pool, adaptive, unpool)) >= 5
    assert all(doctest.testmod(m).failed == 0 for m in (pool, adaptive, unpool))
