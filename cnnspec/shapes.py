"""Small shape helpers every layer uses: normalising int-or-sequence arguments, printing shapes.

>>> as_tuple(3, 2), as_tuple((1, 2), 2), as_tuple((1,), 3)
((3, 3), (1, 2), (1, 1, 1))
>>> fmt_shape((1, 32, 32)), fmt_shape(None)
('1x32x32', '?')
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np


def as_tuple(value: Any, ndim: int) -> tuple[int, ...]:
    """``value`` as ``ndim`` ints: an int repeated, a sequence of ``ndim`` (or one, repeated) kept.

    No validation: callers that take user input check ranges themselves, with the argument's name.
    """
    if isinstance(value, (int, np.integer)):
        return (int(value),) * ndim
    seq = tuple(int(v) for v in value)
    return seq * ndim if len(seq) == 1 else seq


def fmt_shape(shape: Iterable[int] | None) -> str:
    """``(1, 32, 32)`` as ``1x32x32`` (``?`` when unknown)."""
    return "?" if shape is None else "x".join(map(str, shape))
