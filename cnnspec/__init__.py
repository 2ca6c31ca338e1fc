"""cnnspec: the mathematics of convolutional networks, stated exactly and checked against real code."""
from ._version import __version__

__all__ = ["__version__", "assert_conforms"]


def assert_conforms(fn, op, **options):
    """Raise ``AssertionError`` unless ``fn`` satisfies every conformance claim of ``op``
    (:func:`cnnspec.conformance.api.assert_conforms`)."""
    from .conformance.api import assert_conforms as check

    return check(fn, op, **options)
