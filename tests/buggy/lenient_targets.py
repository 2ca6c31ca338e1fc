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


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """A correct max_pool1d that allows padding over half the kernel (ONNX's MaxPool does)."""
    from cnnspec.oracle import max_pool
    return max_pool(np.asarray(x), kernel_size, stride, padding, dilation, ceil_mode, torch_limits=False)


def avg_pool3d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """A correct avg_pool3d that allows padding over half the kernel (ONNX's AveragePool does)."""
    from cnnspec.oracle import avg_pool
    x = np.asarray(x)
    return avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
                    torch_limits=False).astype(x.dtype)
