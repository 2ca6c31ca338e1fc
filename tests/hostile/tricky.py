"""Targets that mislead the engine rather than attack it: each is right where its docstring says,
so a claim that fails elsewhere is the engine being misled."""
import os
import signal

import numpy as np

from cnnspec.conformance.shims.numpy_ops import conv2d, conv_transpose2d as _conv_transpose2d


class NotExpressible(Exception):
    """What a framework adapter raises for a call its framework cannot express (by this name)."""


def wrong_where_expressible(x, weight, bias=None, **kw):
    """Refuses (as not expressible) every input narrower than 4, and adds 1 to the first output of
    every other: a shrinker that took a refusal for a failure would end on a narrow input."""
    if x.shape[-1] < 4:
        raise NotExpressible("inputs narrower than 4 are not expressible here")
    y = conv2d(x, weight, bias, **kw)
    y.reshape(-1)[:1] += 1
    return y


def conv_transpose2d(x, weight, bias=None, **kw):
    """The partner of this module's (correct) conv2d for the adjoint claims: a segmentation fault
    on every input at least 4 wide, the NumPy shim's exact transposed convolution on every other."""
    if x.shape[-1] >= 4:        # the claims' probe of the partner is 3 wide
        os.kill(os.getpid(), signal.SIGSEGV)
    return _conv_transpose2d(x, weight, bias, **kw)


def adaptive_avg_pool2d_row_means(x, output_size):
    """A global average as the mean of the rows' means (float64, then the input's dtype): correct
    within the average's rounding bound, but not the single exact division, so a circular shift of
    the rows can round it differently (1.4e-17 where 0 is exact)."""
    if output_size not in (1, (1, 1)):
        raise NotExpressible("only the global average")
    x = np.asarray(x)
    return x.astype(np.float64).mean(axis=-1).mean(axis=-1)[..., None, None].astype(x.dtype)


def adaptive_avg_pool2d_corner_weighted(x, output_size):
    """A global average that counts its first entry twice: right on inputs whose first entry is 0,
    and not invariant under a circular shift."""
    x = np.asarray(x)
    y = adaptive_avg_pool2d_row_means(x, output_size)
    return (y + x[..., :1, :1] / np.prod(x.shape[-2:])).astype(x.dtype)
