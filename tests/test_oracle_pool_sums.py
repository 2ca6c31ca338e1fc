"""cnnspec.oracle.pool_sums: the certified float64 window sums of the pooling oracle, against Python
``Fraction`` arithmetic on each path (one part, two parts, two parts whose exact sum needs more
than 53 bits, neither certificate), with non-finite entries, and through the public ops: average,
adaptive and global average, and L2 pooling; max unpooling's last-wins rule on colliding indices."""
from fractions import Fraction

import numpy as np
import pytest

from cnnspec import oracle
from cnnspec.oracle import pool_sums as S

RNG = np.random.default_rng(19470)


def rowsum(a):
    return S.row_sums(a)


def fraction_rows(x) -> list[Fraction]:
    return [sum((Fraction(float(v)) for v in row), Fraction(0)) for row in x.reshape(-1, x.shape[-1])]


def exact(pair) -> list[Fraction]:
    s, e = pair
    return [Fraction(float(v)) + (Fraction(float(w)) if e is not None else 0)
            for v, w in zip(s.ravel(), (e if e is not None else s).ravel())]


def test_span_reads_the_exponents_off_the_bits():
    x = np.array([0.0, -0.0, -3.0, 2.0 ** -30, 0.75], np.float32)
    assert S.span(x) == (2, -29)                          # frexp(3) = (0.75, 2); 2^-30 = 0.5·2^-29
    assert S.span(np.zeros(5, np.float32)) == (0, 0)
    assert S.span(np.array([1e-45, -1.0], np.float32)) == (1, -148)     # the least subnormal
    assert S.span(np.array([1.0, np.inf], np.float32)) is None
    assert S.span(np.array([np.nan, 0.0], np.float32)) is None
    assert S.span(np.array([2.0 ** -1000, 5.0])) == (3, -999)             # float64 too
    big = RNG.normal(size=S._CHUNK * 2 + 7).astype(np.float32)           # several chunks
    a = np.abs(big[big != 0])
    assert S.span(big) == (np.frexp(a.max())[1], np.frexp(a.min())[1])


def test_one_part_certificate_gives_exact_sums():
    x = RNG.normal(size=(50, 9)).astype(np.float32)
    s, e = S.certified_sums(x, 9, rowsum)
    assert e is None and [Fraction(float(v)) for v in s] == fraction_rows(x)


def test_two_part_split_is_exact_and_covers_wide_spans():
    x = RNG.normal(size=(40, 8)).astype(np.float32)
    x[::3, 2] = np.float32(2.0 ** -40) * x[::3, 2]        # 60 binades: the one-part certificate fails
    assert 8 * 2.0 ** (np.subtract(*S.span(x)) + 24) > 2.0 ** 53
    h, low = S.split(x, -20)
    assert np.array_equal(h.astype(np.float64) + low, x) and np.all(np.abs(low) <= 2.0 ** -21)
    pair = S.certified_sums(x, 8, rowsum)
    assert pair is not None and exact(pair) == fraction_rows(x)


def test_two_part_sums_wider_than_53_bits_keep_their_exact_remainder():
    x = np.zeros((3, 4), np.float32)
    x[0] = [2.0 ** 20, 3 * 2.0 ** -40, 0, 1]               # 2^20 + 1 + 3·2^-40: 61 significant bits
    x[1] = [1, 2, 3, 4]
    x[2] = [-2.0 ** 20, 2.0 ** -45, 2.0 ** -45, 0]
    s, e = S.certified_sums(x, 4, rowsum)
    assert e is not None and e[1] == 0 and e[0] != 0
    assert exact((s, e)) == fraction_rows(x)
    want = [float(f / 3) for f in fraction_rows(x)]
    assert S.divide_pair(s, e, np.int64(3)).tolist() == want            # rounded once
    obj = S.exact_sum_object(s, e)
    assert obj.dtype == object and list(obj) == fraction_rows(x)


def test_spans_beyond_both_certificates_fall_back_to_exact_objects():
    x = np.array([[2.0 ** 100, 2.0 ** -100, 1.0]], np.float32)
    assert S.certified_sums(x, 3, rowsum) is None
    s, e = S.window_sums_exact(x, 3, rowsum)
    assert e is None and list(s) == fraction_rows(x)


def test_non_finite_entries_follow_ieee_beside_exact_windows():
    x = RNG.normal(size=(6, 5)).astype(np.float32)
    x[1, 0] *= np.float32(2.0 ** -50)                    # wide span: the two-part path
    x[2, 3], x[3, 1], x[4, :2] = np.inf, np.nan, [np.inf, -np.inf]
    s, e = S.window_sums_exact(x, 5, rowsum)
    assert s[2] == np.inf and np.isnan(s[3]) and np.isnan(s[4])
    for r in (0, 1, 5):
        assert Fraction(float(s[r])) + (Fraction(float(e[r])) if e is not None else 0) == fraction_rows(x[r:r + 1])[0]


def fraction_avg(x, k, s, p):
    """avg_pool2d(count_include_pad=True) by Fractions, for a (1, 1, H, W) input."""
    xp = np.pad(x[0, 0].astype(np.float64), p)
    oh, ow = (xp.shape[0] - k) // s + 1, (xp.shape[1] - k) // s + 1
    return np.array([[float(sum(Fraction(float(v)) for v in xp[i * s:i * s + k, j * s:j * s + k].flat) / (k * k))
                      for j in range(ow)] for i in range(oh)])


@pytest.mark.parametrize("spread", [0, 28, 45, 90])
def test_avg_pool_of_float32_of_any_span_is_the_exact_mean_rounded_once(spread):
    # spread 0: one part; 28, 45: two parts (45 with sums past 53 bits); 90: exact objects
    x = (RNG.normal(size=(1, 1, 9, 11)) * 2.0 ** RNG.integers(-spread, 1, (1, 1, 9, 11))).astype(np.float32)
    got = oracle.avg_pool2d(x, 3, 2, 1)
    assert got.dtype == np.float64 and np.array_equal(got[0, 0], fraction_avg(x, 3, 2, 1))


@pytest.mark.parametrize("size, out", [((7, 7), 1), ((13, 13), 6), ((12, 8), (3, 4)), ((5, 9), (2, 4))])
def test_adaptive_and_global_average_are_exact_on_wide_float32(size, out):
    x = (RNG.normal(size=(2, 3, *size)) * 2.0 ** RNG.integers(-40, 1, (2, 3, *size))).astype(np.float32)
    got = oracle.adaptive_avg_pool2d(x, out)
    m = got.shape[2:]
    from cnnspec.spec.pooling import adaptive_windows
    (rs, re), (cs, ce) = adaptive_windows(size[0], m[0]), adaptive_windows(size[1], m[1])
    for n in range(2):
        for c in range(3):
            want = [[float(sum(Fraction(float(v)) for v in x[n, c, a:b, u:w].flat) / int((b - a) * (w - u)))
                     for u, w in zip(cs, ce)] for a, b in zip(rs, re)]
            assert got[n, c].tolist() == want, (size, out)
    assert np.array_equal(oracle.adaptive_avg_pool2d(x.astype(object), out), got)   # exact objects


def test_global_average_3d_certifies_every_plane_but_those_holding_a_tiny_entry():
    x = RNG.normal(size=(4, 64, 2, 7, 7)).astype(np.float32)
    x[0, 0, 0, 0, 0] = np.float32(3e-9)                    # a span the one-part certificate refuses
    x[1, 5, 1, 2, 3] = np.float32(-2.0 ** -60)
    x[2, 7, 0, 0, :2] = [4.0, 2.0 ** -60]                 # an exact sum past 53 bits: S + E
    assert 98 * 2.0 ** (np.subtract(*S.span(x)) + 24) > 2.0 ** 53
    s, e = S.window_sums_exact(x, 98, lambda a: S.row_sums(a.reshape(4, 64, 98)), windows_of=
                               lambda a, pos: (np.unique(pos // 98), [S.exact_float_sum(a.reshape(-1, 98)[r])
                                                                      for r in np.unique(pos // 98)]))
    assert e is not None and e[2, 7] != 0 and np.count_nonzero(e) <= 3
    got = oracle.adaptive_avg_pool3d(x, 1)
    for n, c in ((0, 0), (1, 5), (2, 7), (3, 63)):
        want = fraction_rows(x[n, c].reshape(1, -1))[0]
        assert got[n, c].item() == float(want / 98)
        assert Fraction(float(s[n, c])) + Fraction(float(e[n, c])) == want
    x[3, 0, 0, 0, :2] = [2.0 ** -60, 2.0 ** -120]         # a remainder past 53 bits: no shortcut
    got = oracle.adaptive_avg_pool3d(x, 1)
    assert got[3, 0].item() == float(fraction_rows(x[3, 0].reshape(1, -1))[0] / 98)
    assert S.exact_float_sum([0.5, -2.0 ** -70, 3.0]) == Fraction(7, 2) - Fraction(1, 2 ** 70)


@pytest.mark.parametrize("spread", [0, 8, 30])
def test_l2_pool_of_float32_is_the_root_of_the_exact_sum_of_squares_rounded_once(spread):
    # squares have 48 bits: two parts (0, 8), or beyond them (30: exact objects)
    x = (RNG.normal(size=(1, 2, 6, 6)) * 2.0 ** RNG.integers(-spread, 1, (1, 2, 6, 6))).astype(np.float32)
    sums, div = oracle.lp_pool_parts(x, 2, 2, 2)
    want = [sum(Fraction(float(v)) ** 2 for v in x[0, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2].flat)
            for c in range(2) for i in range(3) for j in range(3)]
    assert [v if isinstance(v, Fraction) else Fraction(float(v)) for v in sums[0].ravel()] == want
    assert np.all(div == 4)
    got = oracle.lp_pool2d(x, 2, 2)                      # K·S/K = S: the exact sum rounded once
    assert got[0].ravel().tolist() == [float(np.power(float(v), 0.5)) for v in want]
    assert np.array_equal(oracle.lp_pool(x, 2, 2, convention="onnx"), got)


def test_max_unpool_keeps_the_last_of_colliding_values():
    n, c, m = 2, 3, 400
    y = RNG.integers(-5, 6, (n, c, m)).astype(np.float32)
    idx = RNG.integers(0, 50, (n, c, m)).astype(np.int64)            # many collisions
    got = oracle.max_unpool(y, idx, 1)
    plane = m
    want = np.zeros((n, c, plane), np.float32)
    for a in range(n):
        for b in range(c):
            for i in range(m):
                want[a, b, idx[a, b, i]] = y[a, b, i]                # row-major order: last wins
    assert np.array_equal(got, want)
    z = np.array([[[0.0, -0.0]]], np.float32)                          # equal but not the same bits
    assert np.signbit(oracle.max_unpool(z, np.array([[[1, 1]]]), 1)[0, 0, 1])


def test_tiling_average_pooling_sums_only_windows_with_tiny_entries_exactly():
    x = RNG.normal(size=(2, 3, 13, 13)).astype(np.float32)
    x[0, 1, 4, 5], x[1, 2, 0, 0] = 2.0 ** -70, -3 * 2.0 ** -60     # a span no certificate covers
    x[1, 0, 12, 3] = 2.0 ** -90                          # past the last 2x2 window: in none
    assert S.certified_sums(x, 4, lambda a: a, windows_of=None) is None
    got = oracle.avg_pool2d(x, 2)
    for n, c in ((0, 1), (1, 2), (1, 0)):
        want = [[float(sum(Fraction(float(v)) for v in x[n, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2].flat) / 4)
                 for j in range(6)] for i in range(6)]
        assert got[n, c].tolist() == want
    ids, sums = S.tiles((2, 2), (6, 6))(x, np.array([np.ravel_multi_index((1, 0, 12, 3), x.shape)]))
    assert ids.size == 0 and sums == []


# --- the one-pass blocked sums (a block of planes converted, summed and ranged while in cache) ----

def exact_tile_means(x, kernel, plane_div=None) -> list[float]:
    """Every tiling window's exact mean (``kernel = stride``), by Fractions, in row-major order."""
    nd = len(kernel)
    out = [n // k for n, k in zip(x.shape[2:], kernel)]
    got = []
    for idx in np.ndindex(*x.shape[:2], *out):
        lead, o = idx[:2], idx[2:]
        win = x[lead + tuple(slice(i * k, i * k + k) for i, k in zip(o, kernel))]
        got.append(float(sum((Fraction(float(v)) for v in win.flat), Fraction(0)) / int(np.prod(kernel))))
    assert nd == len(out)
    return got


def test_magnitudes_are_the_extreme_magnitudes_whatever_the_signs_and_zeros():
    cases = [RNG.normal(size=1000).astype(np.float32),
             np.abs(RNG.normal(size=50)).astype(np.float32),             # all positive
             -np.abs(RNG.normal(size=50)).astype(np.float32),            # all negative
             np.array([0.0, -0.0, 3.0, -2.0 ** -140, 0.0], np.float32),  # zeros and a subnormal
             np.array([-0.0, -5.0, -0.0], np.float32),
             np.array([0.0, -0.0], np.float32),
             np.array([7.0] * 9, np.float32)]
    for x in cases:
        mag = np.abs(x).view(np.uint32).astype(np.int64)
        nz = mag[mag != 0]
        want = (int(mag.max()), int(nz.min()) if nz.size else 1 << 31)
        assert S._magnitudes(x.view(np.uint32)) == want, x


@pytest.mark.parametrize("kernel, size", [((2,), (9,)), ((2, 2), (6, 7)), ((2, 2, 2), (4, 6, 6)),
                                          ((1, 3, 2), (2, 6, 5))])
def test_blocked_tiling_sums_are_exact_on_gaussian_data(kernel, size):
    x = RNG.normal(size=(3, 4, *size)).astype(np.float32)
    x[0, 0].flat[0] = 2.0 ** -60 * x[0, 0].flat[0]        # a tiny entry: its window is summed exactly
    out = tuple(n // k for n, k in zip(size, kernel))
    pair = S.blocked_sums(x, int(np.prod(kernel)), S.tile_sums(kernel, out), out, S.tiles(kernel, out),
                          block=50)                       # several blocks
    assert pair is not None
    op = (oracle.avg_pool1d, oracle.avg_pool2d, oracle.avg_pool3d)[len(kernel) - 1]
    assert op(x, kernel).ravel().tolist() == exact_tile_means(x, kernel)


@pytest.mark.parametrize("values", [
    [1e30, 1e-30, -1e30, 2.0],                           # 200 binades: no certificate, exact fallback
    [2.0 ** -149, -2.0 ** -149, 2.0 ** -130, 1.0],       # subnormals beside 1
    [np.inf, 1.0, -np.inf, np.nan],                      # IEEE sums
    [-0.0, -0.0, 0.0, -0.0],
    [0.1, 0.1, 0.1, 0.1],                                # all equal
    [3e38, 3e38, -1e-38, 3e38]])                         # float32's largest: no overflow in float64
def test_blocked_sums_fall_back_and_stay_exact_on_adversarial_windows(values):
    x = RNG.normal(size=(1, 1, 4, 6)).astype(np.float32)
    x[0, 0, :2, :2] = np.array(values, np.float32).reshape(2, 2)
    got = oracle.avg_pool2d(x, 2)
    finite = np.all(np.isfinite(x))
    want = np.array(exact_tile_means(x, (2, 2)) if finite else [np.nan] * 6)
    if finite:
        assert got.ravel().tolist() == want.tolist()
    else:                                                # inf − inf and NaN: NaN, by IEEE
        rest = x.copy()
        rest[0, 0, :2, :2] = 0
        assert np.isnan(got[0, 0, 0, 0]) and got.ravel()[1:].tolist() == exact_tile_means(rest, (2, 2))[1:]
        assert S.blocked_sums(x, 4, S.tile_sums((2, 2), (2, 3)), (2, 3), S.tiles((2, 2), (2, 3))) is None
    if values[0] == 1e30:                                # the tiny entry's window summed exactly: S + E
        s, e = S.blocked_sums(x, 4, S.tile_sums((2, 2), (2, 3)), (2, 3), S.tiles((2, 2), (2, 3)))
        assert s[0, 0, 0, 0] == 2.0 and e[0, 0, 0, 0] == np.float64(np.float32(1e-30))
    assert np.signbit(oracle.avg_pool2d(np.full((1, 1, 2, 2), -0.0, np.float32), 2)).all() == \
        np.signbit(np.float64(-0.0) + -0.0)              # -0 + -0 = -0: the IEEE sum's sign


@pytest.fixture(params=["numpy", "compiled"])
def global_pass(request, monkeypatch):
    """Global pooling's sums and tiles' square sums by the NumPy pass, or by the compiled loops
    (numba) at any size."""
    if request.param == "compiled":
        pytest.importorskip("numba", reason="numba is not installed")
        monkeypatch.setattr(S, "COMPILED_MIN", 0)
    else:
        monkeypatch.setattr(S, "COMPILED_MIN", 1 << 62)
    return request.param


@pytest.mark.parametrize("shape", [(1, 1, 7), (2, 1, 7, 7), (1, 3, 2, 7, 7), (4, 64, 2, 7, 7)])
def test_global_average_one_pass_is_exact_and_its_tiny_route_keeps_the_remainder(shape, global_pass):
    x = RNG.normal(size=shape).astype(np.float32)
    plane = int(np.prod(shape[2:]))
    x.reshape(-1, plane)[0, :2] = [4.0, 2.0 ** -60]     # an exact sum past 53 bits: S + E
    x.reshape(-1, plane)[-1, -2:] = [-4.0, -2.0 ** -61]   # the last entry: past 53 bits again
    m = (1,) * (x.ndim - 2)
    rows = x.reshape(-1, plane)
    for block in (100, None):          # a plane per block; one block of several 4096-entry chunks
        kw = {} if block is None else {"block": block}
        pair = S.blocked_sums(x, plane, S.plane_sums, m, S.tiles(shape[2:], m), **kw)
        assert pair is not None and pair[1] is not None
        assert pair[1].reshape(-1)[0] != 0 and pair[1].reshape(-1)[-1] != 0
        assert exact(pair) == fraction_rows(rows)
    op = (oracle.adaptive_avg_pool1d, oracle.adaptive_avg_pool2d, oracle.adaptive_avg_pool3d)[x.ndim - 3]
    assert op(x, 1).ravel().tolist() == [float(f / plane) for f in fraction_rows(rows)]


@pytest.mark.parametrize("below", [False, True])
def test_the_one_part_certificate_holds_exactly_down_to_the_tiny_limit(below, global_pass):
    """98 taps under a top of exponent 1: the least entry may be ``2^-22`` (``98·2^(1+21+24) <=
    2^53``), one ulp less is past it and takes the tiny route; the compiled pass decides this by
    counting the entries below ``2^(e_max + 24 + 7 - 54) = 2^-22``, the NumPy pass off the least
    magnitude's bits: both give exact sums and keep a remainder only past the limit."""
    rng = np.random.default_rng(98)
    x = rng.integers(1, 4, (2, 3, 2, 7, 7)).astype(np.float32) * np.float32(0.5)   # top 1.5
    least = np.float32(2.0 ** -22)
    x[1, 2] = 1.5                                        # a sum of 2^7 and more: past 53 bits below
    x[1, 2, 1, 6, 6] = np.nextafter(least, np.float32(0)) if below else least
    x[0, 1, 0, 0, 0] = 2.0 ** -22                        # a second one at the limit, elsewhere
    m = (1, 1, 1)
    pair = S.blocked_sums(x, 98, S.plane_sums, m, S.tiles(x.shape[2:], m))
    assert pair is not None and exact(pair) == fraction_rows(x.reshape(6, 98))
    assert (pair[1] is not None) == below and (not below or pair[1].reshape(-1)[-1] != 0)


def test_global_average_one_pass_refuses_spans_and_non_finite_data_which_stay_exact(global_pass):
    x = RNG.normal(size=(2, 3, 5, 5)).astype(np.float32)
    x[0, 0, 0, :] = 2.0 ** -60                          # a whole row of tiny entries is fine...
    x[1, 2] *= np.float32(2.0 ** -70)
    x[1, 1, 1, 1] = 1e30                                # ...but 100 binades in too many windows
    x[0, 1, :, 0] = 1e-30
    assert S.blocked_sums(x, 25, S.plane_sums, (1, 1), S.tiles((5, 5), (1, 1))) is None
    got = oracle.adaptive_avg_pool2d(x, 1)
    assert got.ravel().tolist() == [float(f / 25) for f in fraction_rows(x.reshape(-1, 25))]
    x[0, 2, 0, 0] = np.nan
    assert S.blocked_sums(x, 25, S.plane_sums, (1, 1), S.tiles((5, 5), (1, 1))) is None
    assert np.isnan(oracle.adaptive_avg_pool2d(x, 1)[0, 2]).all()


def fraction_square_sums(x, kernel) -> list[Fraction]:
    out = [n // k for n, k in zip(x.shape[2:], kernel)]
    return [sum((Fraction(float(v)) ** 2 for v in
                 x[idx[:2] + tuple(slice(i * k, i * k + k) for i, k in zip(idx[2:], kernel))].flat), Fraction(0))
            for idx in np.ndindex(*x.shape[:2], *out)]


@pytest.mark.parametrize("kernel, size, spread", [((2,), (8,), 0), ((2, 2), (6, 6), 0), ((2, 2), (5, 7), 10),
                                                  ((2, 2, 2), (4, 4, 6), 0), ((3, 1), (6, 2), 4)])
def test_blocked_square_sums_are_the_exact_sums_of_squares(kernel, size, spread, global_pass):
    # data of its own (not the module's RNG, whose state depends on which tests ran before: with
    # spread 10 some draws span more binades than the split certifies, the refusal tested below)
    rng = np.random.default_rng(20260601)
    x = (rng.normal(size=(2, 3, *size)) * 2.0 ** rng.integers(-spread, 1, (2, 3, *size))).astype(np.float32)
    x[0, 0].flat[:2] = [2.0 ** 9, 2.0 ** -3]             # a window whose exact sum needs more than 53 bits
    out = tuple(n // k for n, k in zip(size, kernel))
    pair = S.blocked_square_sums(x, kernel, out, block=40)
    assert pair is not None and exact(pair) == fraction_square_sums(x, kernel)
    if len(kernel) == 2:                                 # through lp_pool2d: the root of the exact sum rounded once
        want = [float(np.sqrt(float(f))) for f in fraction_square_sums(x, kernel)]
        assert oracle.lp_pool2d(x, 2, kernel).ravel().tolist() == want


@pytest.mark.parametrize("values", [[1e30, 1e-30, 1.0, 2.0], [np.inf, 1.0, 1.0, 1.0], [np.nan, 0, 0, 0],
                                    [2.0 ** -149, 0.0, -0.0, 1.0], [0.0, -0.0, 0.0, 0.0], [3.0] * 4])
def test_blocked_square_sums_refuse_what_the_split_cannot_certify_and_lp_pool_stays_exact(values, global_pass):
    x = RNG.normal(size=(1, 2, 4, 4)).astype(np.float32)
    x[0, 1, :2, :2] = np.array(values, np.float32).reshape(2, 2)
    pair = S.blocked_square_sums(x, (2, 2), (2, 2))
    finite = bool(np.all(np.isfinite(x)))
    wide = finite and values[0] == 1e30 or values[0] == 2.0 ** -149
    assert (pair is None) == (not finite or wide)        # 1e30² beside 1e-30²: past both parts
    got = oracle.lp_pool2d(x, 2, 2)
    if finite:
        assert got.ravel().tolist() == [float(np.sqrt(float(f))) for f in fraction_square_sums(x, (2, 2))]
    else:
        assert not np.isfinite(got[0, 1, 0, 0]) and np.isfinite(np.delete(got.ravel(), 4)).all()
    if pair is not None and values == [0.0] * 4:
        assert pair[0][0, 1, 0, 0] == 0


def test_exact_float_sum_takes_fsum_only_when_its_remainder_is_exact():
    wide = (RNG.normal(size=(200, 98)) * 2.0 ** RNG.integers(-80, 80, (200, 98))).astype(np.float32)
    for row in wide:
        assert S.exact_float_sum(row) == sum((Fraction(float(v)) for v in row), Fraction(0))
    three = [1.0, 2.0 ** -60, 2.0 ** -130]             # a remainder of 71 bits: the integer path
    assert S.exact_float_sum(three) == 1 + Fraction(1, 2 ** 60) + Fraction(1, 2 ** 130)
    assert S.exact_float_sum([2.0 ** -1074, 1e308, -1e308, -0.0]) == Fraction(1, 2 ** 1074)


def compiled_pass(fn, x: np.ndarray, rows: int, leaf: int) -> tuple[np.ndarray, np.ndarray, int]:
    """``(row sums, least magnitude bits − 1 per leaf, largest magnitude bits)`` by the compiled
    global pass ``fn``."""
    flat = x.reshape(x.shape[0], -1)
    lows = np.full(-(-x.size // leaf), 0xFFFFFFFF, np.uint32)
    out = np.empty(flat.shape[0])
    top = fn(flat, flat.view(np.uint32).reshape(-1), out, lows, rows, leaf)
    return out, lows, int(top)


def leaf_lows(x: np.ndarray, leaf: int) -> list[int]:
    """The least non-zero magnitude bits minus one of each ``leaf`` entries, ``2^32 − 1`` if all
    are zero, by Python integers."""
    bits = [int(b) & 0x7FFFFFFF for b in x.reshape(-1).view(np.uint32)]
    return [min((b - 1 for b in bits[i:i + leaf] if b), default=2 ** 32 - 1) for i in range(0, len(bits), leaf)]


def test_the_compiled_sums_are_the_exact_row_sums_under_the_certificate():
    pytest.importorskip("numba", reason="numba is not installed")
    x = RNG.normal(size=(300, 49)).astype(np.float32)         # a span the one-part certificate covers
    top, low = S._magnitudes(x.reshape(-1).view(np.uint32))
    assert 49 * 2.0 ** (S._exponent(top) - S._exponent(low) + 24) <= 2.0 ** 53
    x[7, :5] = [0.0, -0.0, -3.5, 2.0 ** -126, -(2.0 ** -149)]   # zeros passed over, a subnormal least
    x[150:, :] = 0                                             # whole chunks of zeros
    for rows, leaf in [(300, 1 << 12), (7, 64), (1, 49), (64, 100)]:   # leaves across row blocks
        out, lows, top = compiled_pass(S._compiled(), x, rows, leaf)
        exact_rows = [float(f) for f in fraction_rows(x)]
        assert np.delete(out, 7).tolist() == exact_rows[:7] + exact_rows[8:]   # row 7: past 53 bits
        assert lows.tolist() == leaf_lows(x, leaf)
        assert top == max(int(b) & 0x7FFFFFFF for b in x.reshape(-1).view(np.uint32))


def test_without_a_writable_cache_the_compiled_loops_still_compile(monkeypatch):
    numba = pytest.importorskip("numba", reason="numba is not installed")
    real = numba.njit

    def njit(*args, cache=False, **kw):       # numba's locator when no cache folder is writable
        if cache:
            raise RuntimeError("cannot cache function 'sums': no locator available for file")
        return real(*args, **kw)

    monkeypatch.setattr(numba, "njit", njit)
    x = np.array([[0.0, 1e-9, -1e-9], [1.0, -0.0, np.inf], [-0.0, 0.0, 0.0]], np.float32)
    out, lows, top = compiled_pass(S._compiled.__wrapped__(), x, 2, 2)
    assert out.tolist()[0] == float(np.float64(np.float32(1e-9)) - np.float64(np.float32(1e-9)))
    assert out.tolist()[1:] == [np.inf, 0.0]
    assert lows.tolist() == leaf_lows(x, 2) and top == 0x7F800000     # the inf: refused by _certify


def brute_means(x: np.ndarray, windows) -> list[float]:
    """Each window's mean over its real entries, as an exact ``Fraction`` rounded once: the
    windows as per-axis ``[start, end)`` lists, clipped to the plane, by Python loops."""
    import itertools
    out = []
    for plane in x.reshape(-1, *x.shape[2:]):
        for box in itertools.product(*windows):
            cut = tuple(slice(max(a, 0), min(b, n)) for (a, b), n in zip(box, plane.shape))
            vals = [Fraction(float(v)) for v in plane[cut].reshape(-1)]
            out.append(float(sum(vals, Fraction(0)) / len(vals)))
    return out


def pool_windows(n, k, s, lo, ceil_mode=False):
    m = (n + 2 * lo - k + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (m - 1) * s >= n + lo:
        m -= 1
    return [(i * s - lo, i * s - lo + k) for i in range(m)]


def adaptive_windows_brute(n, m):
    return [(i * n // m, -(-(i + 1) * n // m)) for i in range(m)]


@pytest.mark.parametrize("op, shape, kw, windows", [
    ("avg_pool1d", (2, 3, 11), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
     lambda: [pool_windows(11, 3, 2, 1, True)]),
    ("avg_pool2d", (2, 3, 9, 11), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
     lambda: [pool_windows(9, 3, 2, 1), pool_windows(11, 3, 2, 1)]),
    ("avg_pool2d", (1, 2, 8, 8), dict(kernel_size=(2, 3), stride=1),
     lambda: [pool_windows(8, 2, 1, 0), pool_windows(8, 3, 1, 0)]),
    ("avg_pool3d", (1, 2, 5, 6, 7), dict(kernel_size=3, stride=(1, 2, 2), padding=1, count_include_pad=False),
     lambda: [pool_windows(5, 3, 1, 1), pool_windows(6, 3, 2, 1), pool_windows(7, 3, 2, 1)]),
    ("adaptive_avg_pool1d", (2, 3, 10), dict(output_size=4), lambda: [adaptive_windows_brute(10, 4)]),
    ("adaptive_avg_pool2d", (2, 3, 10, 13), dict(output_size=(4, 6)),
     lambda: [adaptive_windows_brute(10, 4), adaptive_windows_brute(13, 6)]),
    ("adaptive_avg_pool3d", (1, 2, 5, 7, 9), dict(output_size=(3, 4, 5)),
     lambda: [adaptive_windows_brute(a, b) for a, b in [(5, 3), (7, 4), (9, 5)]]),
])
@pytest.mark.parametrize("data", ["gaussian", "two parts", "tiny beside large"])
def test_overlapping_window_sums_are_exact_on_both_routes(op, shape, kw, windows, data, global_pass, monkeypatch):
    """Overlapping and padded windows (the general total, not the tiles) against each window's
    exact mean by Python loops, with the NumPy sums and with the compiled gather (which must have
    run): one part; a span that takes the two-part split (both parts through the gather); and a
    sum past 53 bits, which no certificate covers (the gather must not be reached by its parts)."""
    calls = []
    real = S._compiled_gather

    def spy():
        fn = real()
        return None if fn is None else (lambda *a: (calls.append(a[0].dtype), fn(*a)))
    monkeypatch.setattr(S, "_compiled_gather", spy)
    x = RNG.normal(size=shape).astype(np.float32)
    if data == "two parts":
        x.flat[1] = 2.0 ** -40                 # 40 + 24 + 3 binades below the top: past one part
    if data == "tiny beside large":
        x.flat[1], x.flat[2] = 2.0 ** 30, 2.0 ** -100    # their exact sum needs 130 bits
    got = getattr(oracle, op)(x, **kw)
    assert got.reshape(-1).tolist() == brute_means(x, windows())
    runs = {"gaussian": 1, "two parts": 2, "tiny beside large": 0}[data]
    assert calls == ([np.dtype(np.float32)] * runs if global_pass == "compiled" else [])
