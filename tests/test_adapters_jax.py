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


_PROGRAMS = """
import json, numpy as np, jax
from cnnspec.adapters import jax as M, _jax_programs as P
rng = np.random.default_rng(0)
x, w = rng.standard_normal((2, 3, 7, 6)).astype(np.float32), rng.standard_normal((4, 3, 3, 2)).astype(np.float32)
ys = [M.conv2d(x, w, padding=1, stride=(2, 1)), M.conv_transpose2d(x, w.swapaxes(0, 1), stride=2),
      M.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), M.max_pool2d(x, 2),
      M.lp_pool2d(np.abs(x), 2.5, 2), M.pad(x, (1, 2, 0, 1), mode="reflect")]
print(json.dumps({"y": [y.tobytes().hex() for y in ys], "counts": P.COUNTS,
                  "folder": None if P.folder() is None else str(P.folder())}))
"""


def _programs_in_child(env: dict) -> dict:
    import json
    import os
    import subprocess
    import sys
    p = subprocess.run([sys.executable, "-c", _PROGRAMS], env={**os.environ, **env}, capture_output=True,
                       text=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.splitlines()[-1])


def test_a_second_process_loads_the_programs_and_gets_the_same_bits_a_bad_entry_is_compiled_again(tmp_path):
    env = {"CNNSPEC_CACHE_DIR": str(tmp_path / "c")}
    first = _programs_in_child(env)
    assert first["counts"] == {"compiled": 6, "loaded": 0}
    folder = Path(first["folder"])
    assert folder.parent == tmp_path / "c" / "jax-programs" and len(list(folder.glob("*.xla"))) == 6
    assert (folder.parent.stat().st_mode & 0o777) == 0o700
    second = _programs_in_child(env)
    assert second["counts"] == {"compiled": 0, "loaded": 6}
    assert second["y"] == first["y"]                     # bit for bit
    # an entry that is torn or garbage is compiled again and written anew
    entries = sorted(folder.glob("*.xla"))
    entries[0].write_bytes(entries[0].read_bytes()[:100])     # torn
    entries[1].write_bytes(b"not a program")                  # garbage
    again = _programs_in_child(env)
    assert again["counts"] == {"compiled": 2, "loaded": 4} and again["y"] == first["y"]
    assert _programs_in_child(env)["counts"] == {"compiled": 0, "loaded": 6}    # both written anew


def test_programs_stay_in_memory_with_the_cache_off_or_jaxs_own_cache_on(tmp_path):
    off = _programs_in_child({"CNNSPEC_CACHE_DIR": "off"})
    assert off["folder"] is None and off["counts"] == {"compiled": 6, "loaded": 0}
    # JAX's persistent cache on (the user's choice): an executable JAX read from it serializes without
    # its kernels in jaxlib 0.10 ("NOT_FOUND: Function ... not found" when loaded), so none is written
    env = {"CNNSPEC_CACHE_DIR": str(tmp_path / "c"), "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "jax"),
           "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0", "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1"}
    runs = [_programs_in_child(env) for _ in range(2)]      # the second one compiles from JAX's cache
    assert all(r["folder"] is None and r["counts"] == {"compiled": 6, "loaded": 0} for r in runs)
    assert runs[0]["y"] == runs[1]["y"] == off["y"]
    assert any((tmp_path / "jax").iterdir()) and not (tmp_path / "c" / "jax-programs").exists()
