"""Exact sums of pooling windows in float64, with a certificate per call, and the quotient by the
window's divisor rounded once.

Every float32 value is an integer multiple of ``2^(e_min − 24)``, where ``e_min`` is the binary
exponent (``frexp``) of the least non-zero magnitude in the array, and is below ``2^e_max`` in
magnitude. A sum of ``K`` such values is therefore an integer multiple of that grid below
``K·2^e_max``: when ``K·2^(e_max − e_min + 24) <= 2^53`` every partial sum is an integer times the
grid under ``2^53``, representable in float64, so float64 additions in *any* order are exact
(the **one-part certificate**).

Large arrays of Gaussian data span more binades than that (the least of 10^7 N(0, 1) samples is
near ``2^-23``). Then each value is split exactly as ``x = h + l``: ``h`` is ``x`` rounded to the
grid ``2^G`` (``G = e_max + ⌈log2 K⌉ − 53``, so sums of ``h`` stay under ``2^53`` grid units) and
``l = x − h`` is the rounding error, ``|l| <= 2^(G−1)``, on the fine grid; both are float32
numbers (rounding to a coarser grid keeps at most 24 bits, and its error is representable —
Sterbenz). Sums of ``h`` and of ``l`` are each exact in float64 when
``K·2^(G − 1 − e_min + 24) <= 2^53`` (the **two-part certificate**, about 107 − 2·log2 K binades
instead of 53 − log2 K). The exact window sum is then ``A + B`` of two exact float64 sums; one
IEEE addition gives ``S = fl(A + B)`` and TwoSum its exact error ``E`` (Knuth, TAOCP vol. 2,
§4.2.2, Theorem B), so ``S + E`` is the exact sum; where ``E = 0`` (nearly always) ``S`` is it.

Where every window lies in one ``(n, c)`` plane (global pooling; windows that tile the plane),
float32 data take one pass (:func:`blocked_sums`): a block of planes is converted to float64 while
in cache, summed, and its magnitude range read off its bits by four reductions that write nothing;
the one-part certificate on the whole array's range, else the few windows holding a tiny entry
summed exactly, certifies the result, and anything else goes the general way below. Global
pooling of large arrays takes one pass compiled by numba where it is installed (the ``fast``
extra; any order of the additions is exact under the certificate, so the compiler may use vector
registers): each row's sum, then while the block is in cache the largest magnitude and the least
non-zero one per 4096 entries, off the bits. Squares (L2 pooling) take the two-part split a block
at a time (:func:`blocked_square_sums`), or for large arrays with numba one compiled pass over the
tiles. On the general way, overlapping, padded and adaptive windows of large float32 arrays are
summed by a compiled gather over each window's taps (:func:`gathered`), again only under a
certificate.

Data that neither certificate covers (float64 data, wider spans, integers past ``2^53``, objects)
go to :func:`cnnspec.oracle.pool.exact_terms` (scaling by a power of two to integers) or Python
``Fraction`` arithmetic: slow, exact. ``±inf`` and NaN are split off first and summed by IEEE
rules, as any float implementation does.

References
----------
Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed. (2002), §2.1 (a float is
``m·2^(e−t)``), §4.3 (exact summation; TwoSum); Sterbenz (1974), *Floating-Point Computation*, §4.3.
IEEE 754-2019 §5.4.1 (division is correctly rounded).
"""
from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import Callable

import numpy as np

from .core import _cast, _maxabs
from . import jit

Total = Callable[[np.ndarray], np.ndarray]      # the window sums of an array, float64 or object
Locate = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, list]]   # (array, flat positions) ->
#                                                   (the windows holding them, their exact sums)

_CHUNK = 1 << 18                                  # entries per pass of the bit scan
_BLOCK = 1 << 17                                  # entries per block of the one-pass sums (1 MiB of
#                                                   float64: L2; 2^16 for the two parts of squares)


_BITS = {np.dtype(np.float32): (np.uint32, 0xFF000000, -149), np.dtype(np.float64): (np.uint64, 0xFFE0000000000000, -1074)}


def span(x: np.ndarray) -> tuple[int, int] | None:
    """``(e_max, e_min)``: the ``frexp`` exponents of the largest and of the least non-zero
    magnitude of a float32 or float64 array (``(0, 0)`` if all are zero); ``None`` if it holds
    ``±inf`` or NaN.

    Read off the bits: ``bits << 1`` drops the sign and keeps the order of magnitudes; subtracting
    one wraps zeros past every other value, so the minimum is the least non-zero magnitude. The scan
    goes by chunks that stay in cache (and cost a fixed scratch buffer).
    """
    uint, inf, _ = _BITS[x.dtype]
    u = np.ascontiguousarray(x).reshape(-1).view(uint)
    top, low = 0, int(np.iinfo(uint).max)
    buf = np.empty(min(u.size, _CHUNK), uint)
    for i in range(0, u.size, _CHUNK):
        a = buf[:min(_CHUNK, u.size - i)]
        np.left_shift(u[i:i + _CHUNK], uint(1), out=a)
        top = max(top, int(a.max()))
        np.subtract(a, uint(1), out=a)
        low = min(low, int(a.min()))
    if top >= inf:                                # the exponent field all ones: inf or NaN
        return None
    if top == 0:
        return 0, 0
    as_float = lambda bits: float(np.array([bits], uint).view(x.dtype)[0])  # noqa: E731
    return math.frexp(as_float(top >> 1))[1], math.frexp(as_float((low + 1) >> 1))[1]


def _below(x: np.ndarray, limit: float, most: int = 64) -> np.ndarray | None:
    """Flat positions of the non-zero entries below ``limit`` in magnitude (``limit`` a power of
    two), or None when there are more than ``most`` (by the bit scan of :func:`span`)."""
    uint = _BITS[x.dtype][0]
    if limit < float(np.finfo(x.dtype).smallest_subnormal):
        return np.empty(0, np.int64)
    if limit > float(np.finfo(x.dtype).max):
        return None
    cut = uint((int(np.array([limit], x.dtype).view(uint)[0]) << 1) - 1)
    u = np.ascontiguousarray(x).reshape(-1).view(uint)
    buf, found = np.empty(min(u.size, _CHUNK), uint), []
    for i in range(0, u.size, _CHUNK):
        a = buf[:min(_CHUNK, u.size - i)]
        np.left_shift(u[i:i + _CHUNK], uint(1), out=a)
        np.subtract(a, uint(1), out=a)                   # zeros wrap past every other value
        hit = np.flatnonzero(a < cut)
        found.append(hit + i)
        if sum(map(len, found)) > most:
            return None
    return np.concatenate(found) if found else np.empty(0, np.int64)


def split(x: np.ndarray, grid: int) -> tuple[np.ndarray, np.ndarray]:
    """``(h, l)`` in ``x``'s dtype: ``h`` is ``x`` rounded to a multiple of ``2^grid`` and
    ``l = x − h``, both exact (the caller keeps ``x·2^−grid`` in range; see the module)."""
    h = np.multiply(x, x.dtype.type(2.0 ** -grid))          # a power of two: exact
    np.rint(h, out=h)
    h *= x.dtype.type(2.0 ** grid)
    return h, x - h


def certified_sums(x: np.ndarray, taps: int, total: Total, bits: int | None = None,
                   windows_of: Locate | None = None) -> tuple[np.ndarray, np.ndarray | None] | None:
    """``(S, E)``: float64 window sums of the finite array ``x`` with ``S + E`` exact (``E`` None
    where ``S`` alone is exact); ``None`` when no certificate covers ``x``.

    ``bits``: significant bits of every entry (default 24 for float32; float64 entries need it
    stated, e.g. 48 for squares of float32 numbers, else there is no certificate).
    ``windows_of(x, positions)``: for non-overlapping windows, the windows of ``x`` that hold the
    given flat positions, and their exact sums. When the one-part certificate fails only because of a few tiny
    entries (Gaussian data: a handful per million), every other window is certified by itself and
    the windows holding a tiny entry take their exact sums; else the two-part split.
    """
    bits = bits or (24 if x.dtype == np.float32 else None)
    if bits is None or x.dtype not in _BITS:
        return None
    lg = max(taps - 1, 0).bit_length()                # ⌈log2 taps⌉
    if windows_of is not None and x.size:
        top = max(float(x.max()), -float(x.min()))
        if not math.isfinite(top):
            return None
        # a window whose non-zero entries all have exponents >= e_max + bits + lg − 53 is certified
        tiny = _below(x, 2.0 ** (math.frexp(top)[1] + bits + lg - 54))
        if tiny is not None and tiny.size == 0:
            return total(x), None
        if tiny is not None:
            done = _with_exact_windows(total(x), *windows_of(x, tiny))
            if done is not None:
                return done
    s = span(x)
    if s is None:
        return None
    e_max, e_min = s
    if x.size == 0 or taps * 2.0 ** (e_max - e_min + bits) <= 2.0 ** 53:
        return total(x), None
    g = e_max + lg - 53
    least = _BITS[x.dtype][2]
    if taps * 2.0 ** (g - 1 - e_min + bits) > 2.0 ** 53 or g < least or e_min - bits - g < least:
        return None
    h, low = split(x, g)
    a, b = total(h), total(low)
    big = a + b
    bb = big - a
    err = (a - (big - bb)) + (b - bb)                 # TwoSum: a + b == big + err exactly
    return big, (err if err.any() else None)


def _with_exact_windows(s: np.ndarray, ids: np.ndarray, sums: list[Fraction]
                        ) -> tuple[np.ndarray, np.ndarray | None] | None:
    """``(S, E)`` with the exact ``sums`` at the flat windows ``ids``: ``S`` their rounding, ``E``
    the remainder (None if that remainder is not a float64, which the caller then avoids)."""
    if not len(sums):
        return s, None
    flat, e = s.reshape(-1), np.zeros(s.size)
    flat[ids] = [float(f) for f in sums]
    rest = [f - Fraction(float(v)) for f, v in zip(sums, flat[ids])]
    if any(Fraction(float(r)) != r for r in rest):
        return None
    e[ids] = [float(r) for r in rest]
    return s, (e.reshape(s.shape) if e.any() else None)


def tiles(kernel: tuple[int, ...], out: tuple[int, ...]) -> Locate:
    """``windows_of`` (:func:`certified_sums`) for windows that tile an ``(N, C, *n)`` input:
    window ``o`` of axis ``a`` is ``[o·k_a, (o + 1)·k_a)`` (entries past the last window belong to
    none); each window's exact sum by :func:`exact_float_sum`."""
    def windows_of(a: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, list]:
        shape = a.shape[:2] + tuple(out)
        n, c, *coords = np.unravel_index(pos, a.shape)
        win = [v // k for v, k in zip(coords, kernel)]
        keep = np.logical_and.reduce([w < m for w, m in zip(win, out)])
        ids = np.unique(np.ravel_multi_index((n[keep], c[keep], *(w[keep] for w in win)), shape))
        return ids, [exact_float_sum(a[(i, j, *(slice(o * k, o * k + k) for o, k in zip(rest, kernel)))].ravel())
                     for i, j, *rest in zip(*np.unravel_index(ids, shape))]
    return windows_of


def exact_float_sum(values) -> Fraction:
    """The exact sum of finite floats: ``S + E`` from ``math.fsum`` (``S`` the sum's rounding, ``E``
    the remainder's) when the sum of the values, ``−S`` and ``−E`` is 0 (a non-zero sum of floats
    is at least ``2^-1074`` and cannot round to 0); else integer significands shifted to the least
    exponent, one ``int`` sum."""
    values = [float(v) for v in values]
    s = math.fsum(values)
    e = math.fsum(values + [-s])
    if math.fsum(values + [-s, -e]) == 0:
        return Fraction(s) + Fraction(e)
    parts = [(int(math.ldexp(m, 53)), e - 53) for m, e in map(math.frexp, map(float, values))]
    if not parts:
        return Fraction(0)
    low = min(e for _, e in parts)
    n = sum(m << (e - low) for m, e in parts)
    return Fraction(n, 1 << -low) if low < 0 else Fraction(n << low)


def exact_sum_object(s: np.ndarray, e: np.ndarray | None) -> np.ndarray:
    """``S + E`` as exact numbers: ``S`` itself if ``E`` is None, else an object array with the
    ``Fraction`` ``S + E`` where ``E ≠ 0`` (and ``S``'s exact value elsewhere)."""
    if e is None:
        return s
    out = np.vectorize(lambda v: Fraction(float(v)) if math.isfinite(v) else float(v), otypes=[object])(s)
    where = np.nonzero(e)
    out[where] = [Fraction(float(v)) + Fraction(float(w)) for v, w in zip(s[where], e[where])]
    return out


def quotient(s, d):
    """One exact quotient, rounded once: a Python ``float`` (non-finite) sum divides by IEEE rules,
    an exact sum (``int``/``Fraction``) by rational arithmetic (``0/0`` is NaN)."""
    if isinstance(s, float):                       # a non-finite sum: IEEE
        return s / d if d else math.nan
    if d == 0:
        return math.nan if s == 0 else math.copysign(math.inf, s)
    return float(Fraction(s) / int(d))             # Fraction -> float rounds correctly


def divide_pair(s: np.ndarray, e: np.ndarray | None, div: np.ndarray) -> np.ndarray:
    """``(S + E) / div``, the exact quotient rounded once to float64.

    Where ``E = 0`` the float64 sum is exact and one IEEE division rounds the quotient correctly;
    the few windows with ``E ≠ 0`` are divided as ``Fraction`` s.
    """
    s, div = np.asarray(s), np.asarray(div)
    if s.dtype == object:
        return np.vectorize(quotient, otypes=[np.float64])(s, div)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = s / div
    if e is not None:
        where = np.nonzero(e)
        d = np.broadcast_to(div, s.shape)[where]
        q[where] = [quotient(Fraction(float(v)) + Fraction(float(w)), int(k))
                    for v, w, k in zip(s[where], e[where], d)]
    return q


def plane_sums(b: np.ndarray) -> np.ndarray:
    """A float64 ``(p, *n)`` block's sum over each plane, ``(p, 1, ..., 1)`` (``block_total`` of
    :func:`blocked_sums` for global pooling)."""
    return np.einsum("ij->i", b.reshape(b.shape[0], -1)).reshape(b.shape[0], *(1,) * (b.ndim - 1))


def tile_sums(kernel: tuple[int, ...], out: tuple[int, ...]) -> Callable[[np.ndarray], np.ndarray]:
    """``block_total`` of :func:`blocked_sums` for windows that tile the plane (kernel = stride,
    no padding; entries past the last window belong to none): each axis split into
    ``(windows, taps)`` and its taps added, the first axis first (the longest inner loops)."""
    def total(b: np.ndarray) -> np.ndarray:
        nl = b.ndim - len(kernel)                     # leading (plane) axes
        y = b[(..., *(slice(0, m * k) for m, k in zip(out, kernel)))]
        for a, (m, k) in enumerate(zip(out, kernel)):
            y = y.reshape(*y.shape[:nl + a], m, k, *y.shape[nl + 1 + a:])
            lead = (slice(None),) * (nl + 1 + a)
            y = y[lead + (0,)] if k == 1 else functools.reduce(np.add, (y[lead + (j,)] for j in range(k)))
        return y
    return total


def row_sums(x: np.ndarray, block: int = 1 << 18) -> np.ndarray:
    """``x.sum(axis=-1)`` in float64 (objects: exact Python sums); a float32 array by cache-sized
    blocks: converting a block and summing it while it is in cache is twice as fast as
    ``x.sum(-1, dtype=float64)`` (``block`` entries, 2 MiB, a block). Exact whenever the caller's
    certificate holds (any order is)."""
    if x.size == 0 or x.dtype != np.float32:
        return x.sum(axis=-1, dtype=None if x.dtype == object else np.float64)
    flat = x.reshape(-1, x.shape[-1])
    rows = max(1, block // flat.shape[1])
    out = np.empty(flat.shape[0])
    buf = np.empty((min(rows, flat.shape[0]), flat.shape[1]))
    for i in range(0, flat.shape[0], rows):
        b = buf[:min(rows, flat.shape[0] - i)]
        np.copyto(b, flat[i:i + rows])
        np.einsum("ij->i", b, out=out[i:i + rows])
    return out.reshape(x.shape[:-1])


def exact_terms(x: np.ndarray, taps: int) -> tuple[np.ndarray, int]:
    """``(y, e)`` with ``y = x·2^e`` such that every sum of ``taps`` entries of ``y`` is exact.

    ``e`` is the least exponent that makes every entry an integer (a float ``f = M·2^(ex−53)``
    with an integer ``M`` whose trailing zeros ``tz`` give ``e ≥ 53 − ex − tz``). ``y`` is float64
    when ``taps·max|y| < 2^53``, else an object array of ``int``/``Fraction`` with ``e = 0``.
    Non-finite entries are the caller's business (:func:`finite_split`).
    """
    if x.dtype == object or x.dtype.kind not in "iubf":
        return _cast(x, np.dtype(object)), 0
    if x.dtype.kind in "iub":
        if _maxabs(x) * taps < 2 ** 53:
            return x.astype(np.float64), 0
        return _cast(x, np.dtype(object)), 0
    f = x.astype(np.float64)
    nz = f[(f != 0) & np.isfinite(f)]
    if nz.size == 0:
        return np.zeros(x.shape), 0
    m, ex = np.frexp(nz)
    big = np.ldexp(m, 53).astype(np.int64)                    # |M| < 2^53: exact
    tz = np.log2((big & -big).astype(np.float64)).astype(np.int64)
    e = int((53 - ex - tz).max())
    with np.errstate(over="ignore"):
        y = np.ldexp(f, e)
    if np.all(np.isfinite(y)) and _maxabs(y) * taps < 2 ** 53:
        return y, e
    return _cast(x, np.dtype(object)), 0


def finite_split(x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """``(finite part, non-finite part or None)``: IEEE sums with ``±inf``/NaN follow the latter."""
    if x.dtype == object or x.dtype.kind != "f" or np.all(np.isfinite(x)):
        return x, None
    bad = ~np.isfinite(x)
    return np.where(bad, 0, x), np.where(bad, x, 0).astype(np.float64)


_MAG = 0x7FFFFFFF                                 # a float32's magnitude bits


def _magnitudes(u: np.ndarray) -> tuple[int, int]:
    """``(largest, least non-zero)`` magnitude bits of the float32 bits ``u`` (least: ``2^31`` if
    all are zero), by four reductions that write nothing: as ``uint32`` the least and largest
    words are the extreme magnitudes among non-negative and among negative floats, as ``int32``
    the reverse; masking the sign off each gives both extremes. Only where a zero makes the least
    magnitude 0 does one more pass skip the zeros (``bits << 1`` minus one wraps them past all)."""
    i = u.view(np.int32)
    top = max(int(u.max()) & _MAG, int(i.max()) & _MAG)
    low = min(int(u.min()) & _MAG, int(i.min()) & _MAG)
    if low == 0 and top:
        low = (int((np.left_shift(u, np.uint32(1)) - np.uint32(1)).min()) + 1) >> 1
    return top, low if low else 1 << 31


def _exponent(bits: int) -> int:
    """The ``frexp`` exponent of the positive float32 with these bits."""
    return math.frexp(float(np.array([bits], np.uint32).view(np.float32)[0]))[1]


COMPILED_MIN = 1 << 18     # entries from which global pooling adds with the compiled sums (smaller
#                            arrays: the NumPy pass costs less than importing numba)


@functools.lru_cache(maxsize=1)
def _compiled():
    """``global_sums(flat, bits, out, lows, rows, leaf) -> top`` compiled by numba, or None where
    numba is not installed (the NumPy pass is used). One pass over a float32 ``(P, K)`` array
    ``flat`` and its bits ``bits`` (the same memory as a 1-D ``uint32`` array), ``rows`` rows at a
    time so that the second loop reads the block from cache:

    * each row added in float64 into ``out``, in whatever order the compiler picks
      (``fastmath={"reassoc"}``, the one fast-math flag, which lets it use vector registers):
      :func:`blocked_sums` keeps a sum only under a certificate that makes every order exact;
    * ``lows[c]`` lowered to the least of ``m − 1`` over the magnitude bits ``m`` of the entries
      ``c·leaf`` to ``(c + 1)·leaf`` (``uint32``, so a zero wraps to ``2^32 − 1`` and is passed
      over: the caller fills ``lows`` with ``2^32 − 1``); a chunk holds a non-zero entry below the
      bits ``cut`` exactly when its ``lows`` is below ``cut − 1``;
    * returned: the largest magnitude bits (``0x7F800000`` and above: an inf or a NaN).

    Every integer is a ``uint32`` (numba widens ``&`` to 64 bits unless told), so the two integer
    reductions are plain ``max``/``min`` and vectorize.
    """
    def global_sums(flat, bits, out, lows, rows, leaf):
        planes, k = flat.shape
        top = np.uint32(0)
        for a in range(0, planes, rows):
            b = min(planes, a + rows)
            block, sums = flat[a:b], out[a:b]
            for p in range(block.shape[0]):
                s = 0.0
                for j in range(k):
                    s += np.float64(block[p, j])
                sums[p] = s
            for c in range(a * k // leaf, -(-(b * k) // leaf)):
                v = bits[max(c * leaf, a * k):min((c + 1) * leaf, b * k)]    # from cache
                low = lows[c]
                for i in range(v.size):
                    m = np.uint32(v[i] & np.uint32(0x7FFFFFFF))
                    top = max(top, m)
                    low = min(low, np.uint32(m - np.uint32(1)))
                lows[c] = low
        return top

    return jit.njit(global_sums, fastmath={"reassoc"})


_LEAF = 1 << 12                                   # entries per least magnitude (NumPy searches a
#                                                   chunk whose least is below the tiny limit)


def _compiled_global_sums(x: np.ndarray, taps: int, windows_of: Locate | None, block: int = 1 << 18
                          ) -> tuple[np.ndarray, np.ndarray | None] | None:
    """:func:`blocked_sums` for global pooling with the compiled pass (:func:`_compiled`): blocks
    of about ``block`` entries (1 MiB of float32, which stays in L2 for the second read), their
    rows' sums, the largest magnitude and the least non-zero magnitude per ``_LEAF`` entries. No
    non-zero entry below the limit of the one-part certificate, and it holds (:func:`_certify`);
    else NumPy finds them in the chunks whose least is below it and their windows are summed
    exactly."""
    planes = x.shape[0] * x.shape[1]
    flat = np.ascontiguousarray(x).reshape(planes, -1)
    values = flat.view(np.uint32).reshape(-1)
    lows = np.full(-(-values.size // _LEAF), 0xFFFFFFFF, np.uint32)
    out = np.empty(planes)
    top = int(_compiled()(flat, values, out, lows, max(1, block // max(flat.shape[1], 1)), _LEAF))
    out = out.reshape(*x.shape[:2], *(1,) * (x.ndim - 2))

    def find(limit: float, cut: int) -> np.ndarray | None:
        under = np.uint32(cut - 1)
        chunks = np.flatnonzero(lows < under)
        if chunks.size > 64:
            return None
        tiny = [np.flatnonzero((values[c * _LEAF:(c + 1) * _LEAF] & np.uint32(_MAG)) - np.uint32(1) < under)
                + c * _LEAF for c in chunks]
        return np.concatenate(tiny) if tiny else np.empty(0, np.int64)

    return _certify(x, out, top, None, taps, windows_of, find)


def _certify(x: np.ndarray, out: np.ndarray, top: int, low: int | None, taps: int,
             windows_of: Locate | None, find: Callable[[float, int], np.ndarray | None]):
    """The end of :func:`blocked_sums`: ``(out, None)`` under the one-part certificate on the
    magnitude bits ``top``/``low`` of the whole array, else ``out`` with the windows of the entries
    below the limit (``find(limit, its float32 bits)``: their flat positions, None past 64) summed
    exactly; None (the general path) for ``±inf``/NaN or when neither applies.

    ``low`` None (not read off the bits): ``find`` decides the one-part certificate too. It holds
    exactly when no non-zero entry lies below the limit ``2^(e_max + 24 + ⌈log2 K⌉ − 54)``: an
    entry of ``frexp`` exponent ``e`` is at least ``2^(e−1)``, and ``K·2^(e_max − e + 24) <= 2^53``
    is ``e − 1 >= e_max + 24 + ⌈log2 K⌉ − 54`` for an integer ``e``."""
    if top >= 0x7F800000:                             # the exponent field all ones: inf or NaN
        return None
    if top == 0:
        return out, None
    e_max, lg = _exponent(top), max(taps - 1, 0).bit_length()
    if low is not None and taps * 2.0 ** (e_max - _exponent(low) + 24) <= 2.0 ** 53:
        return out, None
    if windows_of is None and low is not None:
        return None
    limit = 2.0 ** (e_max + 24 + lg - 54)            # a window of entries at least this is exact
    if limit <= 2.0 ** -149:
        return out, None
    tiny = find(limit, int(np.array([limit], np.float32).view(np.uint32)[0]))
    if tiny is None:
        return None
    if tiny.size == 0:                                # nothing below the limit: one part is exact
        return out, None
    if windows_of is None or tiny.size > 64:
        return None
    return _with_exact_windows(out, *windows_of(x, tiny))


def blocked_sums(x: np.ndarray, taps: int, block_total: Callable[[np.ndarray], np.ndarray],
                 out_plane: tuple[int, ...], windows_of: Locate | None = None, block: int = _BLOCK
                 ) -> tuple[np.ndarray, None] | tuple[np.ndarray, np.ndarray | None] | None:
    """``(S, E)`` as :func:`certified_sums` for a float32 ``(N, C, *n)`` array whose windows each
    lie in one ``(N, C)`` plane, in one pass: a block of planes at a time is converted to float64
    while it is in cache, summed by ``block_total`` (a float64 ``(p, *n)`` block to its
    ``(p, *out_plane)`` window sums) and its magnitude range read off its bits
    (:func:`_magnitudes`). The one-part certificate on the whole array's range, or failing it the
    windows holding a tiny entry summed exactly (``windows_of``), certifies the sums; ``None``
    (the caller takes the general path) when the array holds ``±inf``/NaN or neither applies.
    """
    planes = x.shape[0] * x.shape[1]
    if x.size == 0:
        return None
    if block_total is plane_sums and x.size >= COMPILED_MIN and _compiled() is not None:
        return _compiled_global_sums(x, taps, windows_of)
    flat = np.ascontiguousarray(x).reshape(planes, -1)
    u = flat.view(np.uint32)
    rows = max(1, block // max(flat.shape[1], 1))
    buf = np.empty((min(rows, planes), *x.shape[2:]))
    out = np.empty((planes, *out_plane))
    top, low, lows = 0, 1 << 31, []
    with np.errstate(invalid="ignore"):               # inf − inf: such data are refused below
        for i in range(0, planes, rows):
            j = min(planes, i + rows)
            b = buf[:j - i]
            np.copyto(b.reshape(j - i, -1), flat[i:j])
            out[i:j] = block_total(b)
            t, lo = _magnitudes(u[i:j])
            top, low = max(top, t), min(low, lo)
            lows.append(lo)
    out = out.reshape(*x.shape[:2], *out_plane)

    def find(limit: float, cut: int) -> np.ndarray:
        tiny = [np.flatnonzero((u[i:i + rows] & np.uint32(_MAG)) - np.uint32(1) < np.uint32(cut - 1)) + i * u.shape[1]
                for i in np.flatnonzero(np.asarray(lows) < cut) * rows]    # the few row blocks holding one
        return np.concatenate(tiny) if tiny else np.empty(0, np.int64)

    return _certify(x, out, top, low, taps, windows_of, find)


def blocked_square_sums(x: np.ndarray, kernel: tuple[int, ...], out_plane: tuple[int, ...],
                        block: int = _BLOCK // 2) -> tuple[np.ndarray, np.ndarray | None] | None:
    """``(S, E)``, ``S + E`` the exact sums of the squares of a finite float32 ``(N, C, *n)``
    array over the ``out_plane`` windows of shape ``kernel`` that tile each plane
    (:func:`tile_sums`), by the two-part split done a block at a time in cache; ``None`` where the
    array holds ``±inf``/NaN or the split's certificate fails.

    A square ``s = x²`` is exact in float64 (48 bits), below ``2^(2·e_max)`` and a multiple of
    ``2^(2·e_min − 48)`` (``e``: ``frexp`` exponents of ``|x|``). ``h = fl(s + C) − C`` with
    ``C = 1.5·2^(G+52)`` is ``s`` rounded to the grid ``2^G`` (``s + C`` stays in ``C``'s binade;
    Sterbenz), ``l = s − h`` its exact rounding error, and sums of ``h`` and of ``l`` are exact
    under the two-part certificate of :func:`certified_sums`; TwoSum joins them. Tiles of large
    arrays, where numba is installed, take one compiled pass (:func:`_compiled_squares`).
    """
    planes = x.shape[0] * x.shape[1]
    if x.size == 0 or x.dtype != np.float32:
        return None
    flat = np.ascontiguousarray(x).reshape(planes, -1)
    top, low = _magnitudes(flat.reshape(-1).view(np.uint32))
    if top >= 0x7F800000:
        return None
    if top == 0:
        return np.zeros((*x.shape[:2], *out_plane)), None
    taps = math.prod(kernel)
    e_max, e_min = 2 * _exponent(top), 2 * _exponent(low) - 48       # the squares' top and grid
    g = e_max + max(max(taps - 1, 0).bit_length(), 2) - 53
    if taps * 2.0 ** (g - 1 - e_min) > 2.0 ** 53 or g - 1 < -1074:
        return None
    c = 1.5 * 2.0 ** (g + 52)
    rows = max(1, block // max(flat.shape[1], 1))
    parts = np.empty((2, planes, *out_plane))               # the sums of h, then of l
    if x.size >= COMPILED_MIN and _compiled_squares() is not None:
        bases, offsets = _tile_offsets(x.shape[2:], kernel, out_plane)   # one compiled pass
        _compiled_squares()(flat, bases, offsets, c, parts.reshape(2, planes, -1))
    else:
        block_total = tile_sums(kernel, out_plane)
        for i in range(0, planes, rows):
            j = min(planes, i + rows)
            hl = np.empty((2, j - i, *x.shape[2:]))
            h, sq = hl
            np.copyto(sq.reshape(j - i, -1), flat[i:j])
            np.multiply(sq, sq, out=sq)                      # exact: 48 bits
            np.add(sq, c, out=h)
            h -= c                                           # s rounded to the grid 2^g
            sq -= h                                          # its rounding error, exact
            parts[:, i:j] = block_total(hl)
    a, b = parts
    big = a + b
    bb = big - a
    err = (a - (big - bb)) + (b - bb)                        # TwoSum: a + b == big + err exactly
    shape = (*x.shape[:2], *out_plane)
    return big.reshape(shape), (err.reshape(shape) if err.any() else None)


def _tile_offsets(size, kernel, out) -> tuple[np.ndarray, np.ndarray]:
    """Flat offsets in a C-order plane of ``size``: of each tile's first entry (``Πout``) and of
    each tap within a tile (``Πk``)."""
    strides = [math.prod(size[a + 1:]) for a in range(len(size))]

    def grid(counts, steps):
        flat = np.zeros(1, np.int64)
        for n, st in zip(counts, steps):
            flat = (flat[:, None] + np.arange(n, dtype=np.int64) * st).reshape(-1)
        return flat
    return grid(out, [k * st for k, st in zip(kernel, strides)]), grid(kernel, strides)


@functools.lru_cache(maxsize=1)
def _compiled_squares():
    """``squares(flat, bases, offsets, c, parts)`` compiled by numba, or None where numba is not
    installed (:func:`blocked_square_sums`' NumPy blocks are used): for each plane ``p`` and tile
    ``o`` of a float32 ``(P, plane)`` array, the two-part split of each tap's square (``s = x²``
    in float64, ``h = fl(s + c) − c``, ``l = s − h``) summed into ``parts[0, p, o]`` and
    ``parts[1, p, o]``. No fast-math flag: ``(s + c) − c`` is computed as written."""
    def squares(flat, bases, offsets, c, parts):
        for p in range(flat.shape[0]):
            for o in range(bases.size):
                sh = 0.0
                sl = 0.0
                for t in range(offsets.size):
                    v = np.float64(flat[p, bases[o] + offsets[t]])
                    sq = v * v
                    h = (sq + c) - c
                    sh += h
                    sl += sq - h
                parts[0, p, o] = sh
                parts[1, p, o] = sl

    return jit.njit(squares)


@functools.lru_cache(maxsize=1)
def _compiled_gather():
    """``gather_sums(flat, taps, out)`` compiled by numba, or None where numba is not installed:
    ``out[p, o]`` the float64 sum of ``flat[p, taps[o, t]]`` over the taps ``t`` of window ``o``
    whose index is not negative (``−1``: a tap in the zero padding, or past a shorter window), for
    each plane ``p`` of a float32 ``(P, plane)`` array. The additions go in whatever order the
    compiler picks (``fastmath={"reassoc"}``): :func:`gathered` is used only under a certificate."""
    def gather_sums(flat, taps, out):
        for p in range(flat.shape[0]):
            row, sums = flat[p], out[p]
            for o in range(taps.shape[0]):
                s = 0.0
                for t in range(taps.shape[1]):
                    i = taps[o, t]
                    if i >= 0:
                        s += np.float64(row[i])
                sums[o] = s

    return jit.njit(gather_sums, fastmath={"reassoc"})


def gathered(total: Total, taps: Callable[[tuple[int, ...]], np.ndarray], out_plane: tuple[int, ...]
             ) -> Total:
    """``total`` (window sums of an array of the input's shape), with float32 arrays of
    ``COMPILED_MIN`` entries and more summed by the compiled gather (:func:`_compiled_gather`)
    where numba is installed. ``taps(plane shape)``: the ``(windows, K)`` flat index of each tap of
    each window in the plane, ``−1`` for none; ``out_plane``: the windows' shape.

    Exact because :func:`window_sums_exact` hands ``total`` a float32 array only under a
    certificate (every order of the additions gives the exact sums); other dtypes (float64 parts,
    integers, objects) go to ``total`` itself."""
    def run(a: np.ndarray) -> np.ndarray:
        if a.dtype != np.float32 or a.size < COMPILED_MIN or a.ndim < 3 or _compiled_gather() is None:
            return total(a)
        flat = np.ascontiguousarray(a).reshape(a.shape[0] * a.shape[1], -1)
        index = taps(a.shape[2:])
        out = np.empty((flat.shape[0], index.shape[0]))
        _compiled_gather()(flat, index, out)
        return out.reshape(*a.shape[:2], *out_plane)
    return run


def window_sums_exact(x: np.ndarray, taps: int, total: Total, bits: int | None = None,
                      windows_of: Locate | None = None,
                      blocks: tuple[Callable[[np.ndarray], np.ndarray], tuple[int, ...]] | None = None
                      ) -> tuple[np.ndarray, np.ndarray | None]:
    """``(S, E)``: the window sums of ``x`` (``total`` computes them for any array of ``x``'s shape)
    with ``S + E`` exact: float64 under a certificate, else exact integers/``Fraction`` s in an
    object ``S`` (``E`` None); a window holding ``±inf`` or NaN has its IEEE sum. ``bits`` as in
    :func:`certified_sums`. ``blocks``: ``(block_total, out_plane)`` of :func:`blocked_sums`, tried
    first on float32 data when every window lies in one plane."""
    x = np.asarray(x)
    if x.dtype == np.float16:                     # every float16 is a float32
        x = x.astype(np.float32)
    done = None
    if blocks is not None and x.dtype == np.float32 and bits in (None, 24) and x.ndim > 2:
        done = blocked_sums(x, taps, *blocks, windows_of)
    if done is not None:
        return done
    done = certified_sums(x, taps, total, bits, windows_of)
    if done is not None:
        return done
    finite, bad = finite_split(x)
    done = certified_sums(finite, taps, total, bits, windows_of) if bad is not None else None
    if done is not None:
        s, e = done
    else:
        y, k = exact_terms(finite, taps)
        s, e = total(y), None
        if k:
            s = np.ldexp(s, -k)                  # a power of two: exact
    if bad is not None:
        with np.errstate(invalid="ignore"):       # inf − inf is NaN, as IEEE says
            b = total(bad)
        hit = b != 0
        s = np.where(hit, b, s) if s.dtype != object else np.where(hit, b, s).astype(object)
        e = None if e is None else np.where(hit, 0.0, e)
    return s, e
