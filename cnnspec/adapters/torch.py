"""``torch.nn.functional`` itself, NumPy in and out: the same machinery validates PyTorch with no
``--array torch``, and every other adapter is checked against it.

Arguments go to ``torch.nn.functional.<op>`` unchanged, so torch's own argument checks are what a
conformance run sees. The one translation is cnnspec's padding extension: ``(lo, hi)`` pairs with
``lo == hi`` become that int; unequal pairs are not expressible (torch's conv and pooling functions
pad symmetrically). Tensors live on the device given to :func:`use_device`.

References
----------
PyTorch, ``torch.nn.functional`` documentation; ``torch.from_numpy``.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as tnf

from . import FRAMEWORKS, NotExpressible
from . import _frontend as Fe
from ..errors import UsageError

NAME, TITLE = "torch", "PyTorch"
_DEVICE = {"device": "cpu"}


def version() -> str:
    return torch.__version__


def use_device(device: str) -> None:
    """``"cpu"``, or ``"cuda"`` where a CUDA device is present."""
    if device not in ("cpu", "cuda"):
        raise UsageError(f"device: {device!r} is not cpu or cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("device: 'cuda': torch sees no CUDA device here")
    _DEVICE["device"] = device


def _padding(op: str, p):
    if isinstance(p, (tuple, list)) and p and all(isinstance(v, (tuple, list)) for v in p):
        if any(len(v) != 2 or v[0] != v[1] for v in p):
            raise NotExpressible(NAME, f"padding={p!r} with lo != hi (torch.nn.functional.{op} pads "
                                       f"both sides alike)")
        return tuple(v[0] for v in p)
    return p


def _tensor(a):
    if not isinstance(a, np.ndarray):
        return a
    if any(st < 0 for st in a.strides) or not a.flags.c_contiguous:
        # a copy, not np.ascontiguousarray: NumPy calls an array whose size-1 axes have negative
        # strides contiguous and returns it as it is, and torch.from_numpy refuses it
        a = a.copy()
    if a.dtype.name == "bfloat16":   # ml_dtypes' bfloat16, which torch.from_numpy does not take: its bits
        return torch.from_numpy(a.view(np.int16)).view(torch.bfloat16).to(_DEVICE["device"])
    return torch.from_numpy(a).to(_DEVICE["device"])


def _numpy(y):
    if isinstance(y, tuple):
        return tuple(_numpy(v) for v in y)
    y = y.detach().cpu()
    if y.dtype == torch.bfloat16:
        return y.view(torch.int16).numpy().view(Fe.np_dtype("bfloat16"))
    return y.numpy()


def _define(op: str):
    fn = getattr(tnf, op)
    sig = Fe.SIGNATURES[op][2]  # torch's C builtins carry no inspectable signature

    def f(*args, **kwargs):
        b = sig.bind(*args, **kwargs)
        if "padding" in b.arguments:
            b.arguments["padding"] = _padding(op, b.arguments["padding"])
        call = {k: _tensor(v) for k, v in b.arguments.items()}
        return _numpy(fn(**call))
    f.__name__ = f.__qualname__ = op
    f.__signature__ = sig
    f.__doc__ = f"``torch.nn.functional.{op}`` on NumPy arrays (on the device of :func:`use_device`)."
    return f


for _op in FRAMEWORKS[NAME].ops:
    globals()[_op] = _define(_op)


def reproduce(op: str, args: tuple, kwargs: dict, expected) -> str:
    """A standalone ``torch.nn.functional`` snippet of this call."""
    sig = Fe.SIGNATURES[op][2]
    b = sig.bind(*args, **kwargs)
    if "padding" in b.arguments:
        b.arguments["padding"] = _padding(op, b.arguments["padding"])
    arrays = {k: v for k, v in b.arguments.items() if isinstance(v, np.ndarray)}
    rest = {k: v for k, v in b.arguments.items() if k not in arrays}
    s = [Fe.header(TITLE, version(), op, rest), "import torch\nimport torch.nn.functional as F\n"]
    for k, v in arrays.items():
        if v.dtype.name == "bfloat16":   # NumPy has no bfloat16: a float32 literal (exact), cast by torch
            s.append(f"{k} = torch.from_numpy({Fe.literal(v, 'float32')}).to(torch.bfloat16)"
                     f".to({_DEVICE['device']!r})\n")
        else:
            s.append(f"{k} = torch.from_numpy({Fe.literal(v)}).to({_DEVICE['device']!r})\n")
    call = ", ".join([f"{k}={k}" for k in arrays] + [f"{k}={v!r}" for k, v in rest.items()])
    s.append(f"got = F.{op}({call})\n")
    s.append("got = (got[0] if isinstance(got, tuple) else got).cpu()\n")
    s.append("got = (got.double() if got.is_floating_point() else got).numpy()\n")
    s.append(Fe.footer(expected))
    return "".join(s)
