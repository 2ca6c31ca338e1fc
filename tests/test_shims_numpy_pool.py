"""cnnspec.conformance.shims.numpy_ops, the pooling family: the plain-NumPy shim against the exact
oracle — maxima and torch's indices bit for bit, float32 averages within the rigorous bound of the
exact rational, unpooling exactly, and its errors for bad arguments."""
import numpy as np
import pytest

from cnnspec import oracle
from cnnspec.conformance.shims import numpy_ops as S

RNG = np.random.default_rng(7)


def cases(nd: int, count: int, dilated: bool = True):
    got = []
    while len(got) < count:
        k = tuple(int(v) for v in RNG.integers(1, 4, nd))
        c = dict(kernel_size=k, stride=tuple(int(v) for v in RNG.integers(1, 4, nd)),
                 padding=tuple(int(RNG.integers(0, kk // 2 + 1)) for kk in k), ceil_mode=bool(RNG.integers(2)))
        if dilated:
            c["dilation"] = tuple(int(v) for v in RNG.integers(1, 3, nd))
        size = tuple(int(v) for v in RNG.integers(2, 8, nd))
        try:
            oracle.max_pool(np.zeros((1, 1, *size)), **c)
        except ValueError:
            continue
        got.append((size, c))
    return got


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_pool_and_indices_equal_the_oracle(nd):
    for size, c in cases(nd, 40):
        x = RNG.choice([-2.0, -1.0, 0.0, 1.0, 2.0, np.nan, -np.inf], (2, 2, *size)).astype(np.float32)
        got = getattr(S, f"max_pool{nd}d")(x, return_indices=True, **c)
        want = getattr(oracle, f"max_pool{nd}d")(x, return_indices=True, **c)
        assert np.array_equal(got[0], want[0], equal_nan=True) and np.array_equal(got[1], want[1]), (size, c)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_avg_pool_within_the_bound(nd):
    for size, c in cases(nd, 30, dilated=False):
        x = RNG.normal(size=(2, 2, *size)).astype(np.float32)
        for cip in (True, False):
            kw = dict(count_include_pad=cip)
            if nd > 1 and RNG.integers(2):
                kw["divisor_override"] = int(RNG.integers(1, 6))
            got = getattr(S, f"avg_pool{nd}d")(x, **c, **kw).astype(np.float64)
            want = getattr(oracle, f"avg_pool{nd}d")(x, **c, **kw)
            sums, div = oracle.avg_pool_parts(np.abs(x), **c, **kw)
            bound = oracle.gamma(int(np.prod(c["kernel_size"])) + 2, "float32") * sums / div \
                + 2 ** -24 * np.abs(want)
            assert np.all(np.abs(got - want) <= bound), (size, c, kw)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_adaptive_pools_equal_the_oracle(nd):
    for _ in range(20):
        size = tuple(int(v) for v in RNG.integers(1, 8, nd))
        m = tuple(int(v) for v in RNG.integers(1, 6, nd))
        x = RNG.choice([-1.0, 0.0, 1.0, 3.0, np.nan], (2, 2, *size)).astype(np.float32)
        got = getattr(S, f"adaptive_max_pool{nd}d")(x, m, return_indices=True)
        want = getattr(oracle, f"adaptive_max_pool{nd}d")(x, m, return_indices=True)
        assert np.array_equal(got[0], want[0], equal_nan=True) and np.array_equal(got[1], want[1]), (size, m)
        y = RNG.integers(-9, 10, (2, 2, *size)).astype(np.float64)
        a, b = getattr(S, f"adaptive_avg_pool{nd}d")(y, m), getattr(oracle, f"adaptive_avg_pool{nd}d")(y, m)
        # the shim sums and divides once per axis in float64: γ_{K+2·nd}(2^-53) of the mean of |y|
        bound = oracle.gamma(int(np.prod(size)) + 2 * nd, "float64") * getattr(
            oracle, f"adaptive_avg_pool{nd}d")(np.abs(y), m)
        assert np.all(np.abs(a - b) <= bound)


def test_lp_pool_and_unpool_equal_the_oracle():
    x = RNG.integers(-3, 4, (2, 2, 6, 7)).astype(np.float64)
    for p in (1, 2, 3, np.inf):
        got, want = S.lp_pool2d(x, p, (2, 3), None, True), oracle.lp_pool2d(x, p, (2, 3), None, True)
        assert np.allclose(got, want, rtol=1e-13, atol=0, equal_nan=True), p
        assert np.allclose(S.lp_pool1d(x[:, :, 0], p, 3), oracle.lp_pool1d(x[:, :, 0], p, 3),
                           rtol=1e-13, equal_nan=True)
    for nd, size, k in ((1, (8,), 2), (2, (4, 6), (2, 3)), (3, (2, 4, 4), 2)):
        x = RNG.permutation(4 * int(np.prod(size))).reshape(2, 2, *size).astype(np.float32)
        v, i = oracle.max_pool(x, k, return_indices=True)
        assert np.array_equal(getattr(S, f"max_unpool{nd}d")(v, i, k), getattr(oracle, f"max_unpool{nd}d")(v, i, k))


def test_shim_refuses_bad_arguments():
    x = np.zeros((1, 1, 4, 4), np.float32)
    for call in (lambda: S.avg_pool2d(x, 2, divisor_override=0), lambda: S.lp_pool2d(x, 0, 2),
                 lambda: S.adaptive_avg_pool2d(x, 0), lambda: S.max_pool3d(x, 2),
                 lambda: S.max_unpool2d(x, np.zeros(x.shape, np.int32), 2),
                 lambda: S.max_unpool2d(x, np.full(x.shape, 99), 2)):
        with pytest.raises(ValueError):
            call()
