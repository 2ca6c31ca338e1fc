"""The JAX adapter (``cnnspec.adapters.jax``: ``jax.lax.conv_general_dilated``, ``lax.reduce_window``)
against ``torch.nn.functional`` on exact data, and the wrong translations its tests must catch."""
from pathlib import Path

import numpy as np
import pytest

import adapter_cases as A

A.require("jax", "JAX is not installed: pip install 'cnnspec[jax]'")
from cnnspec.adapters import NotExpressible  # noqa: E402
M = A.Lazy("cnnspec.adapters.jax")   # imported by the first test that uses it


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


def _compile_in_child(env: dict) -> str:
    import os
    import subprocess
    import sys
    code = ("import numpy as np, jax; from cnnspec.adapters import jax as M; "
            "M.conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), padding=1); "
            "print(M.COMPILATION_CACHE, jax.config.jax_compilation_cache_dir)")
    p = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True,
                       text=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert p.returncode == 0, p.stderr
    return p.stdout.split()


def test_compiled_programs_are_kept_in_cnnspecs_cache_unless_the_user_chose(tmp_path):
    ours, jaxs = _compile_in_child({"CNNSPEC_CACHE_DIR": str(tmp_path / "c")})
    assert ours == jaxs == str(tmp_path / "c" / "jax")
    assert any((tmp_path / "c" / "jax").iterdir())          # the programs this run compiled
    assert _compile_in_child({"CNNSPEC_CACHE_DIR": "off"}) == ["None", "None"]
    mine = str(tmp_path / "mine")
    assert _compile_in_child({"CNNSPEC_CACHE_DIR": str(tmp_path / "c"),
                              "JAX_COMPILATION_CACHE_DIR": mine}) == ["None", mine]
