"""The JAX adapter (``cnnspec.adapters.jax``: ``jax.lax.conv_general_dilated``, ``lax.reduce_window``)
against ``torch.nn.functional`` on exact data, and the wrong translations its tests must catch."""
import numpy as np
import pytest

pytest.importorskip("jax", reason="JAX is not installed: pip install 'cnnspec[jax]'")

import adapter_cases as A  # noqa: E402
from cnnspec.adapters import NotExpressible  # noqa: E402
from cnnspec.adapters import jax as M  # noqa: E402


def _hwio_read_as_oihw(monkeypatch):
    # the OIHW weight described to lax as HWIO (TF's layout): 'OIHW' -> 'HWIO', 'OIH' -> 'HIO'
    monkeypatch.setattr(M, "_LAYOUT", {n: (a, b[2:] + "IO", c) for n, (a, b, c) in M._LAYOUT.items()})


SKIPS = {"max_pool2d/indices", "adaptive_max_pool2d/divisible-indices", "adaptive_avg_pool2d/uneven"}
globals().update(A.suite("jax", M, skips=SKIPS, layout_wrong=_hwio_read_as_oihw))


def test_return_indices_is_not_expressible():
    with pytest.raises(NotExpressible, match="return_indices=True .* not expressible in JAX"):
        M.max_pool2d(A.ints(1, 1, 4, 4), 2, return_indices=True)


def test_float64_stays_float64():
    # the adapter turns on jax_enable_x64: NumPy float64 in, float64 out, computed exactly
    x = np.arange(16.0).reshape(1, 1, 4, 4) + 2.0 ** -40
    y = M.avg_pool2d(x, 2)
    assert y.dtype == np.float64 and y[0, 0, 0, 0] == (0 + 1 + 4 + 5) / 4 + 2.0 ** -40


def test_bad_arguments_are_one_line_usage_errors():
    from cnnspec.errors import UsageError
    x, w = A.ints(1, 2, 5, 5), A.ints(3, 2, 3, 3)
    for kw, msg in (({"stride": 0}, "stride=0"), ({"padding": -1}, "padding=-1"),
                    ({"groups": 3}, "groups=3"), ({"padding": "full"}, "padding='full'")):
        with pytest.raises(UsageError, match=msg):
            M.conv2d(x, w, **kw)
