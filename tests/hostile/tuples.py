"""Hostile targets for the paths the integer and index ops opened: tuples, integer arrays in and out."""
import os

import numpy as np

from cnnspec.conformance.shims.numpy_ops import max_pool2d as _max_pool2d

MARK = os.environ.get("CNNSPEC_HOSTILE_MARK", "/nonexistent/cnnspec-hostile-mark")


class Evil(np.ndarray):
    """Unpickling this runs a shell command that leaves a file behind."""

    def __reduce__(self):
        return (os.system, (f"touch {MARK}",))


def evil_indices(x, kernel_size, **kw):
    """Right values, and indices that are an ndarray subclass with a hostile __reduce__."""
    y, i = _max_pool2d(x, kernel_size, **kw)
    return y, i.view(Evil)


def three_arrays(x, kernel_size, **kw):
    y, i = _max_pool2d(x, kernel_size, **kw)
    return y, i, i


def object_indices(x, kernel_size, **kw):
    y, i = _max_pool2d(x, kernel_size, **kw)
    return y, i.astype(object)


def huge_uint64(x, kernel_size, **kw):
    y, i = _max_pool2d(x, kernel_size, **kw)
    return y, i.astype(np.uint64) + np.uint64(2 ** 63)


def writes_indices(x, indices, kernel_size, **kw):
    """Unpools, then zeroes its int64 indices input in place."""
    from cnnspec.conformance.shims.numpy_ops import max_unpool2d
    y = max_unpool2d(x, indices, kernel_size, **kw)
    indices[...] = 0
    return y


def int_for_float(x, kernel_size, **kw):
    """An integer array where a float one is due (a float op's claims fail it on its dtype)."""
    return _max_pool2d(x, kernel_size, **kw).astype(np.int16)
