"""cnnspec.spec.integer: the zero-point expansion, symbolic, and the oracle's ConvInteger equal to it."""
import doctest
import importlib

import numpy as np
import sympy

from cnnspec import oracle
from cnnspec.spec.convolution import ConvSpec
from cnnspec.spec.integer import zero_point_sides

integer = importlib.import_module("cnnspec.spec.integer")


def test_doctests():
    assert doctest.testmod(integer).failed == 0


def test_identity_with_padding_groups_and_per_channel_zero_points():
    spec = ConvSpec.make((3, 3), (2, 2), in_channels=4, out_channels=2, groups=2, stride=2, padding=1)
    lhs, rhs = zero_point_sides(spec, per_channel=True)
    assert len(lhs) == spec.n_out and all(sympy.expand(a - b) == 0 for a, b in zip(lhs, rhs))


def test_the_identity_is_not_vacuous():
    """Dropping the K·z_x·z_w term breaks it (so expand really compares)."""
    spec = ConvSpec.make(4, 2)
    lhs, rhs = zero_point_sides(spec)
    K = spec.taps
    zx, zw = sympy.Symbol("z_x"), sympy.Symbol("z_w")
    assert any(sympy.expand(a - (b - K * zx * zw)) != 0 for a, b in zip(lhs, rhs))


def test_oracle_conv_integer_equals_the_identity_evaluated():
    spec = ConvSpec.make((3, 4), (2, 2), in_channels=2, out_channels=2, padding=((1, 0), (0, 1)))
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (1, *spec.input_shape)).astype(np.uint8)
    w = rng.integers(-128, 128, spec.weight_shape).astype(np.int8)
    zx, zw = 200, np.array([-3, 7], np.int8)
    lhs, rhs = zero_point_sides(spec, per_channel=True)
    subs = {sympy.Symbol("z_x"): zx, sympy.Symbol("z_w_0"): -3, sympy.Symbol("z_w_1"): 7}
    subs.update({sympy.Symbol("x_" + "_".join(map(str, i))): int(x[0][i]) for i in np.ndindex(*spec.input_shape)})
    subs.update({sympy.Symbol("w_" + "_".join(map(str, i))): int(w[i]) for i in np.ndindex(*spec.weight_shape)})
    want = np.array([int(e.subs(subs)) for e in rhs]).reshape(1, *spec.output_shape)
    got = oracle.conv2d_integer(x, w, zx, zw, 1, [(1, 0), (0, 1)])
    assert np.array_equal(got, want)
