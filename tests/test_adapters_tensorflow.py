"""The TensorFlow adapter (``cnnspec.adapters.tensorflow``: ``tf.nn`` in NHWC / HWIO) against
``torch.nn.functional`` on exact data, what TF cannot express, and the wrong translations its tests
must catch."""
import pytest

import adapter_cases as A

A.require("tensorflow", "TensorFlow is not installed: pip install 'cnnspec[tensorflow]'")
from cnnspec.adapters import NotExpressible  # noqa: E402
M = A.Lazy("cnnspec.adapters.tensorflow")   # imported by the first test that uses it

SKIPS = {"avg_pool2d/ceil-include", "avg_pool2d/ceil-exclude", "avg_pool2d/divisor-override",
         "pad/replicate", "pad/circular", "conv_transpose2d/groups-dilation", "conv_transpose1d/stride-pad",
         "adaptive_avg_pool2d/uneven", "lp_pool1d/p1-ceil"}


def _oihw_passed_as_hwio(monkeypatch):
    monkeypatch.setattr(M, "_hwio", lambda nd: tuple(range(nd + 2)))


globals().update(A.suite("tensorflow", M, skips=SKIPS, layout_wrong=_oihw_passed_as_hwio, snippets_alone=False))


@pytest.mark.parametrize("kwargs, what", [
    ({"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, "ceil_mode=True"),
    ({"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}, "count_include_pad=False"),
])
def test_avg_pool_limits_are_not_expressible(kwargs, what):
    with pytest.raises(NotExpressible, match=f"{what}.* not expressible in TensorFlow"):
        M.avg_pool2d(A.ints(1, 1, 6, 6), **kwargs)


def test_ceil_mode_that_adds_no_window_is_plain_valid_pooling():
    # ceil_mode only changes the output size; where it adds no window the call is the floor one
    x = A.ints(1, 2, 6, 6)
    assert A.check(M.avg_pool2d, "avg_pool2d", (x,), {"kernel_size": 2, "ceil_mode": True}) == ""


def test_count_include_pad_false_with_same_pads_uses_tf_same():
    assert "'SAME'" in M._plan(M.F.parse("avg_pool2d", (A.ints(1, 1, 6, 6), 3, 1, 1, False, False), {}))


def test_grouped_conv3d_is_not_expressible():
    with pytest.raises(NotExpressible, match="groups=2 in tf.nn.conv3d"):
        M.conv3d(A.ints(1, 4, 3, 3, 3), A.ints(2, 2, 2, 2, 2), groups=2)


def test_dilated_conv_transpose_is_not_expressible_on_the_cpu():
    # TF 2.21's CPU Conv2DBackpropInput: "do not yet support dilation rates larger than 1"
    with pytest.raises(NotExpressible, match="dilation > 1 in tf.nn.conv_transpose on the CPU"):
        M.conv_transpose2d(A.ints(1, 2, 4, 4), A.ints(2, 3, 2, 2), dilation=2)


def test_an_op_tensorflow_defines_for_other_types_only_is_a_skipped_cell():
    # TF 2.21's MaxPool3D takes half, bfloat16 and float: at float64 the cell is skipped in TF's words
    from cnnspec.adapters import matrix_cells as mc
    cell = mc.run_cell("tensorflow", "max_pool3d", dtype="float64")
    assert cell["status"] == "skipped", cell
    assert "Value for attr 'T' of double is not in the list of allowed values" in cell["reason"], cell["reason"]
    assert mc.run_cell("tensorflow", "max_pool2d", dtype="float64")["status"] == "fail"   # nan-fmax, a real one


def test_a_worker_imports_tensorflow_without_jax_and_keras_which_stay_importable():
    # in cnnspec's own workers TF's optional JAX and Keras imports are left out (about 0.8 s);
    # the adapter still computes, and both modules import afterwards as usual
    import subprocess
    import sys
    code = ("import sys\n"
            "from cnnspec.adapters import worker_process\n"
            "worker_process()\n"
            "from cnnspec.adapters import tensorflow as m\n"
            "import numpy as np\n"
            "print(sorted(k for k in ('jax', 'keras') if k in sys.modules))\n"
            "print(m.conv2d(np.ones((1, 1, 3, 3), np.float32), np.ones((1, 1, 2, 2), np.float32)).ravel().tolist())\n"
            "import importlib, importlib.util\n"
            "print([k for k in ('jax', 'keras') if importlib.util.find_spec(k) and importlib.import_module(k)])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    hidden, values, imported = out.stdout.strip().splitlines()[-3:]
    assert hidden == "[]" and values == "[4.0, 4.0, 4.0, 4.0]"
    import importlib.util
    assert imported == str([k for k in ("jax", "keras") if importlib.util.find_spec(k)])
