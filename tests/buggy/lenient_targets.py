"""Correct targets that do not check their arguments the way torch does: they get warnings, not failures."""
import numpy as np
from cnnspec.conformance.shims.numpy_ops import conv2d as _c

def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """A correct conv2d that does not check its arguments: stride 0 is read as 1."""
    s = stride if isinstance(stride, tuple) else (stride, stride)
    s = tuple(max(v, 1) for v in s)
    d = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    d = tuple(max(v, 1) for v in d)
    p = padding if isinstance(padding, tuple) else (padding, padding)
    p = tuple(max(v, 0) for v in p)
    return _c(x, weight, bias, s, p, d, groups)
