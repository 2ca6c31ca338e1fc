"""Loops compiled by numba, where it is installed (the ``fast`` extra); None where it is not.

The oracle compiles a loop only where its result cannot depend on how the compiler orders or
vectorizes the arithmetic: under an exactness certificate every partial sum is an integer multiple
of one grid below ``2^p``, so any order gives the same exact result. Each caller keeps a NumPy
route that gives the same values without numba.
"""
from __future__ import annotations

from typing import Callable


def njit(fn: Callable, **flags) -> Callable | None:
    """``fn`` compiled with ``numba.njit(nogil=True, **flags)``, or None where numba is absent.

    The compiled code is kept on disk (beside the module, or in numba's user cache); where no
    cache location is writable, numba refuses ``cache=True`` and the loop is compiled for this
    process instead.
    """
    try:
        import numba
    except ImportError:          # not installed (or installed against another NumPy)
        return None
    try:
        return numba.njit(cache=True, nogil=True, **flags)(fn)
    except RuntimeError:                # no writable cache location: compiled for this process
        return numba.njit(nogil=True, **flags)(fn)
