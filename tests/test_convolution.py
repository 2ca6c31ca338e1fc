"""cnnspec.spec.convolution: definitions, output-size arithmetic, validation of geometries."""
import doctest
import itertools

import pytest
import sympy

import cnnspec.commands.derive
import cnnspec.spec.convolution as conv
import cnnspec.spec.toeplitz
from cnnspec.spec.convolution import ConvSpec, SpecError, flip, mode_padding, output_size, sum_formula


@pytest.mark.parametrize("module", [conv, cnnspec.spec.toeplitz, cnnspec.commands.derive])
def test_doctests(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_lecture_1d_example_from_the_definition():
    # the lecture: u=[a..f], w=[z,y,x], s_t = sum_a u_a w_{t-a}
    a, b, c, d, e, f = sympy.symbols("a:f")
    x, y, z = sympy.symbols("x y z")
    s = sum_formula(ConvSpec.make(6, 3, padding="full", convolution=True), [a, b, c, d, e, f], [z, y, x])
    assert s[3] == x * b + y * c + z * d
    assert s[4] == x * c + y * d + z * e
    assert s[5] == x * d + y * e + z * f
    assert s[6] == x * e + y * f          # the boundary case
    assert s[0] == a * z and s[7] == f * x


def test_lecture_2d_example_from_the_definition():
    u = sympy.symbols("a b c d e f g h i j k l")
    w, x, y, z = sympy.symbols("w x y z")
    a, b, c, e, f, g = (u[0], u[1], u[2], u[4], u[5], u[6])
    s = sum_formula(ConvSpec.make((3, 4), (2, 2)), u, [w, x, y, z])
    assert len(s) == 6
    assert s[0] == w * a + x * b + y * e + z * f
    assert s[1] == w * b + x * c + y * f + z * g


@pytest.mark.parametrize("n,k,s,p,d,want", [
    (32, 5, 1, 0, 1, 28), (28, 5, 1, 2, 1, 28), (32, 3, 2, 1, 1, 16), (224, 7, 2, 3, 1, 112),
    (10, 3, 1, 0, 2, 6), (7, 2, 3, (1, 0), 1, 3),
])
def test_output_size_formula(n, k, s, p, d, want):
    assert output_size(n, k, s, p, d) == want


def test_output_size_matches_brute_force_window_count():
    for n, k, s, d, lo, hi in itertools.product(range(1, 9), range(1, 4), range(1, 4), range(1, 3),
                                                range(3), range(3)):
        if d * (k - 1) + 1 > n + lo + hi:
            with pytest.raises(SpecError):
                output_size(n, k, s, (lo, hi), d)
            continue
        starts = [o for o in range(0, n + lo + hi) if o % s == 0 and o + d * (k - 1) <= n + lo + hi - 1]
        assert output_size(n, k, s, (lo, hi), d) == len(starts)


@pytest.mark.parametrize("n,k,s,d", itertools.product(range(1, 8), range(1, 4), range(1, 4), range(1, 3)))
def test_modes(n, k, s, d):
    span = d * (k - 1) + 1
    assert ConvSpec.make(n, k, stride=s, dilation=d, padding="same").output_size == (-(-n // s),)
    assert mode_padding(n, k, "full", s, d) == (span - 1, span - 1)
    if s == 1:
        assert ConvSpec.make(n, k, dilation=d, padding="full").output_size == (n + span - 1,)
    lo, hi = mode_padding(n, k, "same", s, d)
    assert hi - lo in (0, 1)               # the odd one on the high side (SAME_UPPER)


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(input_size=0, kernel_size=3), "input: 0 must be >= 1"),
    (dict(input_size=5, kernel_size=-1), "kernel: -1 must be >= 1"),
    (dict(input_size=5, kernel_size=3, stride=0), "stride: 0 must be >= 1"),
    (dict(input_size=5, kernel_size=3, dilation=0), "dilation: 0 must be >= 1"),
    (dict(input_size=5, kernel_size=3, padding=-1), "padding: -1 must be >= 0"),
    (dict(input_size=3, kernel_size=5), "larger than the padded input"),
    (dict(input_size=(3, 3), kernel_size=(2, 2, 2)), "kernel"),
    (dict(input_size=5, kernel_size=3, in_channels=3, groups=2), "groups: 2 must divide"),
    (dict(input_size=5, kernel_size=3, out_channels=0), "out-channels"),
    (dict(input_size=5, kernel_size=3, padding="middle"), "mode"),
    (dict(input_size=5, kernel_size=2, stride=1.5), "not an integer"),
])
def test_bad_geometries_name_the_argument(kwargs, fragment):
    with pytest.raises(SpecError, match=fragment.replace("(", r"\(")):
        ConvSpec.make(**kwargs)


def test_flip_reverses_spatial_axes_only():
    spec = ConvSpec.make((3, 3), (2, 3), in_channels=2, out_channels=1)
    w = list(range(spec.n_weights))
    fl = flip(spec, w)
    assert fl[:6] == [5, 4, 3, 2, 1, 0] and fl[6:] == [11, 10, 9, 8, 7, 6]
    assert flip(spec, fl) == w


def test_spec_and_prove_never_import_torch():
    import subprocess
    import sys

    code = ("import sys, cnnspec.spec.convolution, cnnspec.spec.toeplitz, cnnspec.spec.equivariance, "
            "cnnspec.spec.conv_claims, cnnspec.commands.derive, cnnspec.commands.prove; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
