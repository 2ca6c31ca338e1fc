"""conv2d targets that mislead the engine rather than attack it: each is right where its docstring
says, so a claim that fails elsewhere is the engine being misled."""
import os
import signal

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
