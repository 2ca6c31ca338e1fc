"""Realistic bugs in max pooling with indices and in max unpooling, each right on simple cases.

Built on the project's NumPy shim (:mod:`cnnspec.conformance.shims.numpy_ops`), each changes one
thing implementations get wrong. ``tests/test_conformance_pool_indices.py`` runs them through
``cnnspec validate`` and checks each is caught with a shrunk counterexample (the tie rule, which
is not wrong, with a warning that names it).
"""
from __future__ import annotations

import numpy as np

from cnnspec.conformance.shims import numpy_ops as S


def max_unpool2d_output_size_ignored(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """output_size dropped: the default plane (right whenever output_size is the default)."""
    return S.max_unpool2d(x, indices, kernel_size, stride, padding, None)


def max_unpool1d_stride_as_kernel(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The default size computed with stride = kernel_size always (right when stride is None)."""
    return S.max_unpool1d(x, indices, kernel_size, None, padding, output_size)


def max_pool1d_indices_per_window(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                                  return_indices=False):
    """Indices relative to the window (the tap number, as some kernels keep internally) instead of
    the flat position in the plane: right for the first window and wherever the tap is 0 and the
    window starts at 0."""
    y, i = S.max_pool1d(x, kernel_size, stride, padding, dilation, ceil_mode, True)
    if not return_indices:
        return y
    k = kernel_size if isinstance(kernel_size, int) else kernel_size[0]
    s = k if stride is None else (stride if isinstance(stride, int) else stride[0])
    p = padding if isinstance(padding, int) else padding[0]
    d = dilation if isinstance(dilation, int) else dilation[0]
    start = np.arange(i.shape[-1]) * s - p
    return y, ((i - start) // d).astype(np.int64)
