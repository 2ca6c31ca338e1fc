"""The adapter registry (``cnnspec.adapters``): which frameworks exist and are installed, the install
command of each, the op an adapter lacks, and one-line errors for bad names and broken imports."""
import dataclasses
import subprocess
import sys

import pytest

import cnnspec.adapters as ad
from cnnspec.errors import UsageError


def test_importing_the_registry_imports_no_framework():
    code = ("import sys, cnnspec.adapters as a; a.available(); a.ops('jax'); "
            "print(sorted(m for m in ('jax', 'onnxruntime', 'tensorflow', 'tinygrad') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_available_lists_every_framework_with_its_install_command():
    av = ad.available()
    assert set(av) == {"torch", "jax", "onnxruntime", "tensorflow", "tinygrad"}
    assert av["torch"].installed and av["torch"].version.startswith("2.")
    for name in ("jax", "onnxruntime", "tensorflow", "tinygrad"):
        assert av[name].install.startswith(f"pip install 'cnnspec[{name}]'")


def test_unknown_framework_names_the_known_and_installed_ones():
    with pytest.raises(UsageError) as e:
        ad.adapter("mxnet", "conv2d")
    msg = str(e.value)
    assert "'mxnet' is not one of torch, jax, onnxruntime, tensorflow, tinygrad" in msg
    assert "installed: " in msg and "torch" in msg.split("installed: ")[1] and "\n" not in msg


def test_an_op_the_framework_lacks_is_not_expressible():
    with pytest.raises(ad.NotExpressible, match=r"the op max_unpool2d \(JAX has no operator for it\) is not "
                                                r"expressible in JAX"):
        ad.adapter("jax", "max_unpool2d")
    with pytest.raises(ad.NotExpressible, match=r"the op conv2d_integer \(TensorFlow has no operator for it\)"):
        ad.adapter("tensorflow", "conv2d_integer")
    with pytest.raises(UsageError, match="op: 'conv9d' is not an op of the calling convention"):
        ad.adapter("jax", "conv9d")
    assert ad.target("onnxruntime", "max_pool2d") == "cnnspec.adapters.onnxruntime:max_pool2d"


def test_missing_and_broken_frameworks_are_one_line_usage_errors(monkeypatch):
    fw = ad.FRAMEWORKS["jax"]
    monkeypatch.setitem(ad.FRAMEWORKS, "jax", dataclasses.replace(fw, imports="cnnspec_no_such_framework"))
    with pytest.raises(ad.FrameworkUnavailable, match=r"^framework: jax is not installed; pip install 'cnnspec\[jax\]'$"):
        ad.adapter("jax", "conv2d")
    monkeypatch.syspath_prepend("tests/buggy")
    monkeypatch.setitem(ad.FRAMEWORKS, "jax", dataclasses.replace(fw, imports="broken_import", module="broken_import"))
    with pytest.raises(ad.FrameworkUnavailable,
                       match=r"^framework: jax fails on import: RuntimeError: this module needs a GPU driver$"):
        ad.load("jax")


def test_bad_device_is_a_usage_error():
    with pytest.raises(UsageError, match="device: 'tpu' is not cpu or cuda"):
        ad.adapter("torch", "conv2d", device="tpu")


def test_adapter_ops_are_module_attr_targets():
    from cnnspec.targets import resolve
    assert resolve("cnnspec.adapters.torch:conv2d") is ad.adapter("torch", "conv2d")


def test_every_op_is_adapted_where_its_framework_has_it():
    # lp pooling everywhere (torch's own formula in native primitives where there is no lp op);
    # max_unpool where there is an unpooling op; ONNX's integer convolutions in ONNX Runtime only
    ops = {f: set(ad.ops(f)) for f in ad.FRAMEWORKS}
    every = set(ad.CONVENTION_OPS)
    unpool, integer = {f"max_unpool{n}d" for n in (1, 2, 3)}, {"conv2d_integer", "qlinear_conv2d"}
    assert ops["onnxruntime"] == every
    assert ops["torch"] == every - integer and ops["tinygrad"] == every - integer
    assert ops["jax"] == ops["tensorflow"] == every - integer - unpool
