"""How the child process presents a call to the target: the memory layout of its arrays, and which
op of the target's module it calls.

Both are asked for by plain data in a :class:`~cnnspec.conformance.isolation.Call` (the wire carries
values, never strides or objects), and made here, in the child, right before the call:

* ``layout`` — the same values in another memory layout (:data:`LAYOUTS`): ``channels_last``
  (``torch.channels_last`` / ``channels_last_3d`` tensors; a view of an NHWC buffer for NumPy),
  ``fortran`` (column-major: every stride reversed), ``strided`` (every other entry of a buffer
  twice as long on the last axis, the entries between filled with NaN) and, for NumPy only, torch
  having no negative strides, ``reversed`` (a view with negative strides on every axis);
* ``partner`` — the name of another op beside the target in its module (``conv2d`` beside
  ``conv_transpose2d``): the adjoint claim calls both. A module without it gives a result whose
  error starts with :data:`NO_PARTNER`, which the claim reports as skipped.

References: PyTorch tutorial "(beta) Channels Last Memory Format in PyTorch"; NumPy manual,
"Internal memory layout of an ndarray" (strides, C and Fortran order, views).
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..targets import package_name, parse

LAYOUTS: dict[str, tuple[str, ...]] = {   # array library -> the layouts it can express
    "torch": ("channels_last", "fortran", "strided"),
    "numpy": ("channels_last", "fortran", "reversed", "strided"),
}
WORDS = {
    "channels_last": "channels-last memory (torch.channels_last; an NHWC buffer viewed as NCHW)",
    "fortran": "column-major (Fortran-order) memory",
    "reversed": "negative strides (a reversed view of a reversed copy)",
    "strided": "strided views (every other entry of a buffer, NaN between)",
}
NO_PARTNER = "no partner: "


def arrange(args: list, layout: str | None, array: str) -> list:
    """``args`` with every array argument (already the target's fresh copy) in ``layout``;
    unchanged when ``layout`` is None. The values are the same, only the strides differ (a call
    with a layout takes no gradient: the re-laid tensors are not the leaves autograd fills)."""
    if layout is None:
        return args
    if layout not in LAYOUTS[array]:
        raise ValueError(f"layout {layout!r} is not one of {', '.join(LAYOUTS[array])} for {array}")
    if array == "torch":
        import torch
        return [_torch_layout(a, layout) if isinstance(a, torch.Tensor) else a for a in args]
    return [_numpy_layout(a, layout) if isinstance(a, np.ndarray) else a for a in args]


def _numpy_layout(a: np.ndarray, layout: str) -> np.ndarray:
    if a.ndim == 0:
        return a
    if layout == "fortran":
        return np.asfortranarray(a)
    if layout == "reversed":
        return np.flip(np.flip(a).copy())
    if layout == "channels_last":
        if a.ndim < 3:
            return a
        return np.moveaxis(np.ascontiguousarray(np.moveaxis(a, 1, -1)), -1, 1)
    buf = np.full((*a.shape[:-1], 2 * a.shape[-1]), np.nan, a.dtype)   # strided
    buf[..., ::2] = a
    return buf[..., ::2]


def _torch_layout(t, layout: str):
    import torch

    if t.dim() == 0:
        return t
    if layout == "channels_last":
        if t.dim() == 4:
            return t.contiguous(memory_format=torch.channels_last)
        if t.dim() == 5:
            return t.contiguous(memory_format=torch.channels_last_3d)
        if t.dim() == 3:     # (N, C, L): no memory format of its own; the same idea, C innermost
            return t.permute(0, 2, 1).contiguous().permute(0, 2, 1)
        return t
    if layout == "fortran":
        rev = tuple(range(t.dim()))[::-1]
        return t.permute(rev).contiguous().permute(rev)
    buf = t.new_full((*t.shape[:-1], 2 * t.shape[-1]), float("nan"))   # strided
    buf[..., ::2] = t
    return buf[..., ::2]


def beside(target: str, name: str) -> str:
    """The target string of ``name`` beside ``target``, where :func:`partner` looks for it
    (``mod:conv2d`` -> ``mod:conv_transpose2d``; ``mod:ops.conv2d`` -> ``mod:ops.conv_transpose2d``)."""
    mod, _, attr = target.rpartition(":")
    owner = attr.rpartition(".")[0]
    return f"{mod}:{owner + '.' if owner else ''}{name}"


def partner(target: str, name: str) -> Callable:
    """The callable ``name`` beside ``target`` (``mod:conv_transpose2d`` -> ``mod:conv2d``; a
    dotted attr keeps its owner: ``mod:ops.conv2d``), from the module the child already imported;
    :class:`LookupError` when there is none."""
    try:
        mod, attr = parse(target)
        module = sys.modules.get(package_name(Path(mod))[1]) if mod.endswith(".py") else \
            importlib.import_module(mod)
    except Exception:  # noqa: BLE001 - no module to look in (a lambda's, a closure's)
        module = None
    if module is None:
        raise LookupError(f"the target has no {name} beside it (no module to find it in)")
    owner = attr.rpartition(".")[0]
    obj: Any = module
    for part in ([*owner.split(".")] if owner else []) + [name]:
        try:
            obj = getattr(obj, part)
        except Exception:  # noqa: BLE001 - a missing attribute, or a property that raises
            raise LookupError(f"the target has no {name} beside it ({mod}:{owner + '.' if owner else ''}"
                              f"{name} does not exist)") from None
    if not callable(obj):
        raise LookupError(f"the {name} beside the target is not callable ({type(obj).__name__})")
    return obj
