"""Exact dyadic arithmetic: float64 data as integers times one power of two.

Every finite float64 is ``m·2^e`` with an integer ``m`` of at most 53 bits; an array of them shares
one exponent (the smallest), so sums and products of such data are exact in Python integers, and a
result converts back to float64 with one correct rounding. The trained-network claims use it to
compute a layer's ``T(w)·u + b`` exactly for real trained weights.

>>> import numpy as np
>>> m, e = trim(*dyadic(np.array([0.75, -0.5, 0.0])))
>>> m.tolist(), e
([3, -2, 0], -2)
>>> to_float(m, e).tolist()
[0.75, -0.5, 0.0]
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np


def dyadic(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Integers ``m`` (object array of Python ints) and one exponent ``e`` with ``values = m·2^e``."""
    nz = values[values != 0]
    if nz.size == 0:
        return np.zeros(values.shape, dtype=object), 0
    mant, ex = np.frexp(nz)
    bits = 53
    # the smallest exponent of a significant bit: each value has at most 53 of them
    e = int(ex.min()) - bits
    scaled = [int(np.ldexp(np.float64(v), -e)) for v in values.reshape(-1)]  # exact: a power-of-2 scale
    return np.array(scaled, dtype=object).reshape(values.shape), e


def trim(m: np.ndarray, e: int) -> tuple[np.ndarray, int]:
    """Remove common factors of two (keeps the integers small)."""
    flat = [int(v) for v in m.reshape(-1)]
    nz = [v for v in flat if v]
    if not nz:
        return m, e
    tz = min((v & -v).bit_length() - 1 for v in nz)
    return np.array([v >> tz for v in flat], dtype=object).reshape(m.shape), e + tz


def to_float(ints: np.ndarray, e: int) -> np.ndarray:
    """``ints·2^e`` in float64, correctly rounded (exact where |int| < 2^53)."""
    return np.array([float(int(v) * 2 ** e) if e >= 0 else ratio(int(v), -e) for v in ints], np.float64)


def ratio(v: int, k: int) -> float:
    return float(Fraction(v, 1 << k))
