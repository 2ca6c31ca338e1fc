"""Built-in adapters: the ``torch.nn.functional`` calling convention over each framework's own API.

A user who validates JAX, ONNX Runtime, TensorFlow or tinygrad should not have to write a shim
first: a mistake in that shim reads as a bug of the framework. Each module here is such a shim,
written once and tested against ``torch.nn.functional`` on exact data, including the test that
deliberately wrong translations (pads in the wrong order, a weight layout misread, an inverted
``count_include_pad``) are caught. Every adapter op takes and returns NumPy arrays, NCHW,
cross-correlation, with the signature of the same-named ``torch.nn.functional`` function, so that
``cnnspec.adapters.jax:conv2d`` is a target like any other ``module:attr``.

An adapter translates and never corrects: no NaN fix-ups, no clamping, no re-padding to hide a
difference. What a framework cannot express (``ceil_mode`` in ``tf.nn.avg_pool``,
``return_indices`` in ``jax.lax.reduce_window``) raises :class:`NotExpressible`, which a
conformance run reports as "skipped: not expressible in <framework>", never as a failure.

This module imports no framework: :func:`available` looks them up without importing them, and
:func:`adapter` imports one only when asked.

>>> sorted(FRAMEWORKS)
['jax', 'onnxruntime', 'tensorflow', 'tinygrad', 'torch']
>>> FRAMEWORKS["jax"].install
"pip install 'cnnspec[jax]'"

References
----------
PyTorch, ``torch.nn.functional`` documentation (the calling convention); JAX ``jax.lax``
(``conv_general_dilated``, ``reduce_window``); ONNX operator specifications (Conv, MaxPool,
AveragePool, LpPool, MaxUnpool, ConvInteger, QLinearConv); TensorFlow ``tf.nn``; tinygrad ``Tensor``.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import re
from dataclasses import dataclass
from types import ModuleType
from typing import Callable, Sequence

from ..errors import UsageError
from ._geometry import ArgumentError

# Ops of the calling convention each adapter provides (the ops its framework can express at all).
_CONV = ("conv1d", "conv2d", "conv3d")
_POOL = ("max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d")
_TRANSPOSE = ("conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
# Every op of the calling convention (torch.nn.functional names, and ONNX's integer convolutions).
_ADAPTIVE = tuple(f"adaptive_{k}_pool{n}d" for k in ("avg", "max") for n in (1, 2, 3))
_LP = ("lp_pool1d", "lp_pool2d")
_UNPOOL = ("max_unpool1d", "max_unpool2d", "max_unpool3d")
_INTEGER = ("conv2d_integer", "qlinear_conv2d")
_MORE = _UNPOOL + _ADAPTIVE + _LP
CONVENTION_OPS = _CONV + _TRANSPOSE + ("pad",) + _POOL + _MORE + _INTEGER
_EVERY = _CONV + _POOL + _TRANSPOSE + ("pad",) + _ADAPTIVE + _LP


class NotExpressible(Exception):
    """The framework's API cannot express this call (e.g. ``ceil_mode=True`` in ``tf.nn.avg_pool``):
    the claim is skipped with this reason, never failed and never computed some other way."""

    def __init__(self, framework: str, what: str):
        super().__init__(f"{what} is not expressible in {TITLES.get(framework, framework)}")
        self.framework, self.what = framework, what


# How each framework says that it has no kernel of a dtype for an op; the dtype must be the run's
# (torch names it as its C++ scalar type, TensorFlow as the node's attribute T; ONNX Runtime's
# NOT_IMPLEMENTED names no type, but its graph has the cell's dtype only).
_KERNEL_GAPS = (
    (re.compile(r"not implemented for '(\w+)'"), {"Half": "float16", "BFloat16": "bfloat16",
                                                     "Float": "float32", "Double": "float64"}),
    (re.compile(r"Could not find device for node: .*\bT=DT_(\w+)"),
     {"HALF": "float16", "BFLOAT16": "bfloat16", "FLOAT": "float32", "DOUBLE": "float64"}),
    # the op itself is defined for other types only (TensorFlow 2.21's MaxPool3D: half, bfloat16, float)
    (re.compile(r"Value for attr 'T' of (\w+) is not in the list of allowed values"),
     {"half": "float16", "bfloat16": "bfloat16", "float": "float32", "double": "float64"}),
    (re.compile(r"NOT_IMPLEMENTED : Could not find an implementation for \w+\(\d+\) node()"), None),
    # TensorFlow 2.21's float64 Conv3D on the CPU (float32 and the others go to oneDNN, which dilates)
    (re.compile(r"CPU implementation of Conv3D currently only supports dilated rates of 1()"), None),
)


_WORKER = False


def worker_process() -> None:
    """Mark this process as one of cnnspec's own workers (a validate child, a matrix worker), whose
    only program is the target it loads: an adapter may then leave out optional parts of its
    framework's import that no adapter call uses (TensorFlow's JAX and Keras, about 0.8 s)."""
    global _WORKER
    _WORKER = True


def in_worker() -> bool:
    """Whether :func:`worker_process` has marked this process."""
    return _WORKER


class NoKernel(Exception):
    """The framework has no kernel of ``dtype`` on ``device`` (its own words in ``said``): the op is
    not there at that dtype, which is a skipped case, not a wrong value."""

    def __init__(self, framework: str, dtype: str, device: str, said: str):
        super().__init__(f"{TITLES.get(framework, framework)} has no {dtype} kernel on {device}: {said}")
        self.framework, self.dtype, self.device, self.said = framework, dtype, device, said


def no_kernel(error: BaseException, dtype: str) -> bool:
    """Whether ``error`` is the framework's own statement that it has no ``dtype`` kernel for the op
    (torch: ``"avg_pool3d_out_frame" not implemented for 'Half'``; TensorFlow: ``Could not find
    device for node: ... AvgPool3D[T=DT_HALF, ...]`` or, where the op is defined for other types
    only, ``Value for attr 'T' of double is not in the list of allowed values``; ONNX Runtime: ``NOT_IMPLEMENTED : Could not
    find an implementation for MaxPool(12) node``). Any other exception, or one naming another
    dtype than the run's, is a failure."""
    if isinstance(error, NoKernel):
        return error.dtype == dtype
    text = str(error)
    for pattern, names in _KERNEL_GAPS:
        m = pattern.search(text)
        if m and (names is None or names.get(m.group(1)) == dtype):
            return True
    return False


class FrameworkUnavailable(UsageError):
    """The framework is not installed, or fails on import."""


@dataclass(frozen=True)
class Framework:
    """A framework cnnspec has an adapter for: its import name, distribution, extra and ops."""

    name: str
    title: str
    module: str            # the adapter module, a target prefix: ``cnnspec.adapters.jax:conv2d``
    imports: str           # the framework's top-level import
    distribution: str      # its package on PyPI (for the version)
    install: str
    ops: tuple[str, ...]


FRAMEWORKS: dict[str, Framework] = {f.name: f for f in (
    Framework("torch", "PyTorch", "cnnspec.adapters.torch", "torch", "torch",
              "pip install torch==2.13.0", _CONV + _POOL + _TRANSPOSE + ("pad",) + _MORE),
    # no lax op unpools (a scatter is no unpooling op), nor does tf.nn
    Framework("jax", "JAX", "cnnspec.adapters.jax", "jax", "jax", "pip install 'cnnspec[jax]'", _EVERY),
    Framework("onnxruntime", "ONNX Runtime", "cnnspec.adapters.onnxruntime", "onnxruntime",
              "onnxruntime", "pip install 'cnnspec[onnxruntime]'", _EVERY + _UNPOOL + _INTEGER),
    Framework("tensorflow", "TensorFlow", "cnnspec.adapters.tensorflow", "tensorflow",
              "tensorflow-cpu", "pip install 'cnnspec[tensorflow]'", _EVERY),
    Framework("tinygrad", "tinygrad", "cnnspec.adapters.tinygrad", "tinygrad", "tinygrad",
              "pip install 'cnnspec[tinygrad]' && apt-get install -y clang", _EVERY + _UNPOOL),
)}
TITLES = {f.name: f.title for f in FRAMEWORKS.values()}


@dataclass(frozen=True)
class Availability:
    """Whether a framework is installed (found without importing it), its version and install line."""

    name: str
    installed: bool
    version: str | None
    install: str


def _framework(name: str) -> Framework:
    if name not in FRAMEWORKS:
        have = [n for n in FRAMEWORKS if available(n).installed]
        raise UsageError(f"framework: {name!r} is not one of {', '.join(FRAMEWORKS)} "
                         f"(installed: {', '.join(have) or 'none'})")
    return FRAMEWORKS[name]


def available(name: str | None = None) -> Availability | dict[str, Availability]:
    """One framework's :class:`Availability`, or all of them (a dict) when ``name`` is None."""
    if name is None:
        return {n: available(n) for n in FRAMEWORKS}
    f = _framework(name)
    found = importlib.util.find_spec(f.imports) is not None
    version = None
    if found:
        try:
            version = importlib.metadata.version(f.distribution)
        except importlib.metadata.PackageNotFoundError:
            version = None
    return Availability(f.name, found, version, f.install)


def load(name: str) -> ModuleType:
    """The adapter module of ``name``, importing the framework; a one-line
    :class:`FrameworkUnavailable` when it is not installed or fails on import."""
    f = _framework(name)
    if importlib.util.find_spec(f.imports) is None:
        raise FrameworkUnavailable(f"framework: {name} is not installed; {f.install}")
    try:
        return importlib.import_module(f.module)
    except Exception as e:  # noqa: BLE001 - any import failure of the framework is one line
        msg = str(e).splitlines()[0] if str(e) else ""
        raise FrameworkUnavailable(f"framework: {name} fails on import: {type(e).__name__}: {msg}") from e


def ops(name: str) -> tuple[str, ...]:
    """The ops of the calling convention the adapter of ``name`` provides (no import)."""
    return _framework(name).ops


def _op(f: Framework, op: str) -> None:
    if op not in CONVENTION_OPS:
        raise UsageError(f"op: {op!r} is not an op of the calling convention ({', '.join(CONVENTION_OPS)})")
    if op not in f.ops:
        raise NotExpressible(f.name, f"the op {op} ({f.title} has no operator for it)")


def adapter(framework: str, op: str, device: str = "cpu") -> Callable:
    """The adapter callable for ``op`` in ``framework`` on ``device`` (``"cpu"`` or ``"cuda"``).

    Raises :class:`NotExpressible` when the framework (or its adapter) lacks the op, a
    :class:`UsageError` for a name that is no op of the calling convention, :class:`FrameworkUnavailable`
    when it is not installed, and :class:`UsageError` for an unknown framework or device.
    """
    f = _framework(framework)
    _op(f, op)
    module = load(framework)
    module.use_device(device)
    return getattr(module, op)


def target(framework: str, op: str) -> str:
    """The ``module:attr`` target string a bare framework name resolves to for ``op``."""
    f = _framework(framework)
    _op(f, op)
    return f"{f.module}:{op}"


def reproduce(framework: str, op: str, args: Sequence, kwargs: dict, expected) -> str:
    """A standalone Python snippet in the framework's own API (importing no cnnspec) that runs
    ``op(*args, **kwargs)`` as the adapter translates it and prints the framework's value and
    ``expected``: text to paste into an upstream bug report."""
    f = _framework(framework)
    _op(f, op)
    text = importlib.import_module(f.module).reproduce(op, tuple(args), dict(kwargs), expected)
    if "ml_dtypes." in text:   # bfloat16 arrays: ml_dtypes' type (JAX, TensorFlow and onnx depend on it)
        text = text.replace("import numpy as np\n", "import numpy as np\nimport ml_dtypes\n", 1)
    return text


__all__ = ["ArgumentError", "Availability", "CONVENTION_OPS", "FRAMEWORKS", "Framework", "FrameworkUnavailable",
           "NoKernel", "NotExpressible", "adapter", "available", "in_worker", "load", "no_kernel", "ops",
           "reproduce", "target", "worker_process"]
