"""Convolutions that are right on every contiguous, batched input and wrong (or strict) on the same
values in another memory layout; ``conformance.layout.invariance`` catches each one with a shrunk
counterexample that names the layout (tests/test_conformance_layout.py):

    cnnspec validate tests/buggy/layout_bugs.py:conv2d_memory_order --op conv2d \\
        --claims conformance.layout.invariance
    cnnspec validate tests/buggy/layout_bugs.py:conv2d_storage_order --op conv2d --array torch \\
        --claims conformance.layout.invariance
"""
from __future__ import annotations

import numpy as np

from cnnspec.conformance.shims import numpy_ops as ref


def conv2d_memory_order(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Flattens its arrays in memory order (``ravel(order="K")``, the order in which C code handed
    the buffer would read it) and reshapes that as C order: right for every C-contiguous array, wrong
    for a column-major, channels-last or reversed view of the same values."""
    def flat(a):
        return np.ravel(a, order="K").reshape(np.shape(a))
    return ref.conv2d(flat(x), flat(weight), bias, stride, padding, dilation, groups)


def conv2d_storage_order(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Reads each tensor's storage as if it were contiguous NCHW (``torch.as_strided`` with
    C-order strides, as a kernel that takes ``data_ptr()`` without checking ``is_contiguous()``):
    right for contiguous tensors, wrong for channels_last ones and strided views."""
    import torch

    def raw(t):
        strides, step = [], 1
        for n in reversed(t.shape):
            strides.insert(0, step)
            step *= n
        return torch.as_strided(t, t.shape, strides)
    return torch.nn.functional.conv2d(raw(x), raw(weight), bias, stride, padding, dilation, groups)


def conv2d_batched_only(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Right, but refuses the unbatched (C, H, W) input torch accepts: a warning, not a failure."""
    if np.ndim(x) != 4:
        raise ValueError(f"input of shape {np.shape(x)}: expected (N, C, H, W)")
    return ref.conv2d(x, weight, bias, stride, padding, dilation, groups)
