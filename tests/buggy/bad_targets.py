"""Targets that misbehave at run time (or cannot be used at all): for the isolation tests."""
import ctypes
import os
import time

import numpy as np

NOT_CALLABLE = 3


def hangs(x, weight, bias=None, **kw):
    time.sleep(10_000)


def segfaults(x, weight, bias=None, **kw):
    ctypes.string_at(0)


def exits(x, weight, bias=None, **kw):
    os._exit(3)


def raises(x, weight, bias=None, **kw):
    raise NotImplementedError("dilation is not supported yet")


def returns_list(x, weight, bias=None, **kw):
    return [[1.0]]


def returns_nan(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    from cnnspec.conformance.shims.numpy_ops import conv2d
    y = conv2d(x, weight, bias, stride, padding, dilation, groups)
    return np.full_like(y, np.nan)


def returns_float64(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    from cnnspec.conformance.shims.numpy_ops import conv2d
    return conv2d(x, weight, bias, stride, padding, dilation, groups).astype(np.float64)
