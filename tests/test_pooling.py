"""cnnspec.spec.pooling: output sizes with ceil_mode, divisors, avg pool as a convolution, invariances."""
import doctest
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnspec import oracle
from cnnspec.spec import pooling
from cnnspec.spec.convolution import SpecError
from cnnspec.spec.pooling import (avg_divisors, avg_pool_as_conv, has_ceil_overhang, pool_geometry,
                                  pool_output_size, within_window_permutation)
from cnnspec.errors import UsageError
from cnnspec.spec.toeplitz import ConvMatrix


def test_doctests():
    assert doctest.testmod(pooling).failed == 0


def test_output_size_matches_torch_on_a_grid():
    checked = 0
    for n, k, s, p, d, ceil in itertools.product(range(1, 9), range(1, 4), range(1, 4), range(0, 2),
                                                 range(1, 3), (False, True)):
        if p > k // 2 or d * (k - 1) + 1 > n + 2 * p:
            continue
        y = F.max_pool2d(torch.zeros(1, 1, 1, n), (1, k), (1, s), (0, p), (1, d), ceil)
        assert pool_output_size(n, k, s, p, d, ceil) == y.shape[-1], (n, k, s, p, d, ceil)
        checked += 1
    assert checked > 300


def test_geometry_rules_name_the_argument():
    assert pool_geometry((5, 5), 2).stride == (2, 2)                      # stride=None -> kernel
    with pytest.raises(SpecError, match="padding: 2 is more than half the kernel size 3"):
        pool_geometry((5, 5), 3, padding=2)
    with pytest.raises(SpecError, match="stride"):
        pool_geometry((5, 5), 3, stride=0)


@pytest.mark.parametrize("cip", [True, False])
def test_divisors_match_torch(cip):
    x = torch.ones(1, 1, 7, 5)
    for k, s, p, ceil in [((3, 2), (2, 2), (1, 1), True), ((2, 2), (3, 3), (1, 0), True), ((3, 3), (1, 2), (1, 1), False)]:
        geo = pool_geometry((7, 5), k, s, p, 1, ceil)
        real = oracle.avg_pool2d_parts(np.ones((1, 1, 7, 5)), k, s, p, ceil, False)[0]
        want = F.avg_pool2d(x, k, s, p, ceil, cip).numpy()[0, 0]
        assert np.allclose(real[0, 0] / avg_divisors((7, 5), geo, cip), want, rtol=1e-6)


def test_avg_pool_is_a_depthwise_convolution_with_a_uniform_kernel():
    rng = np.random.default_rng(0)
    x = rng.integers(-9, 10, (2, 3, 6, 7)).astype(float)
    geo = pool_geometry((6, 7), (2, 4), (2, 1), (1, 2))
    spec, area = avg_pool_as_conv(3, (6, 7), geo)
    T = ConvMatrix(spec).numeric(np.ones(spec.n_weights, np.int64))
    via_matrix = np.stack([T @ xi.reshape(-1) for xi in x]).reshape(2, *spec.output_shape) / area
    assert np.array_equal(via_matrix, oracle.avg_pool2d(x, (2, 4), (2, 1), (1, 2)))
    with pytest.raises(SpecError):
        avg_pool_as_conv(3, (5, 5), pool_geometry((5, 5), 2, 2, 0, 1, True))
    assert has_ceil_overhang((5, 5), pool_geometry((5, 5), 2, 2, 0, 1, True))


def test_max_pool_is_invariant_under_permutations_within_windows():
    rng = np.random.default_rng(1)
    x = rng.integers(-50, 50, (1, 2, 7, 8)).astype(float)
    geo = pool_geometry((7, 8), (2, 3), (2, 3))
    perm = within_window_permutation((7, 8), geo, rng)
    assert sorted(perm) == list(range(56)) and np.any(perm != np.arange(56))
    rows, cols = np.divmod(perm, 8)
    here_r, here_c = np.divmod(np.arange(56), 8)
    inside = (here_r < 6) & (here_c < 6)
    assert np.all((rows // 2 == here_r // 2)[inside] & (cols // 3 == here_c // 3)[inside])
    assert np.all(perm[~inside] == np.arange(56)[~inside])
    xp = x.reshape(1, 2, -1)[..., perm].reshape(x.shape)
    assert np.array_equal(oracle.max_pool2d(xp, (2, 3)), oracle.max_pool2d(x, (2, 3)))


def test_pool_errors_are_usage_errors_with_one_line():
    from cnnspec.errors import UsageError
    with pytest.raises(UsageError, match=r"padding: \[\(1, 2, 3\)\] must be one \(lo, hi\) pair"):
        pool_geometry((5,), 3, padding=[(1, 2, 3)])
    assert issubclass(pooling.PoolError, SpecError) and issubclass(pooling.PoolError, UsageError)


def test_pairs_and_pads_over_half_the_kernel():
    geo = pool_geometry((5,), 3, 1, [(0, 2)], torch_limits=False)   # ONNX-style asymmetric pads
    assert geo.output_size == (5,) and geo.pad_pairs == ((0, 2),) and geo.padding == (0,)
    with pytest.raises(SpecError, match="more than half"):
        pool_geometry((5,), 3, 1, [(0, 2)])
    assert pool_geometry((5,), 3, 1, 2, torch_limits=False).output_size == (7,)
    # a dilated window counts only its taps: ONNX AveragePool with dilations
    geo = pool_geometry((4,), 2, 1, 0, 2, ceil_mode=True)
    assert pooling.window_counts((4,), geo, True)[0].tolist() == [2, 2]


def test_adaptive_windows_match_torch():
    for n in range(1, 12):
        for m in range(1, 14):
            start, end = pooling.adaptive_windows(n, m)
            x = torch.arange(n, dtype=torch.float64).reshape(1, 1, n)
            want = F.adaptive_max_pool1d(x, m)[0, 0].numpy()
            assert np.array_equal(end - 1, want), (n, m)     # the max of an increasing row is its end
            assert np.all(end > start)


def test_unpool_output_size_is_torchs_rule():
    assert pooling.unpool_output_size((2, 3), 2) == (4, 6)
    assert pooling.unpool_output_size((2,), 3, 2, 1) == (3,)
    assert pooling.unpool_output_size((2, 2), 2, output_size=(1, 1, 5, 5)) == (5, 5)
    with pytest.raises(SpecError, match="strictly between 2 and 6"):
        pooling.unpool_output_size((2,), 2, output_size=(2,))
