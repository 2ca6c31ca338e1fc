"""``torch.nn.functional`` conv, pooling and pad over tinygrad's ``Tensor`` (its CPU device compiles
C with ``clang``; CUDA where present).

tinygrad's methods follow PyTorch's names and arguments, so the translation is mostly renaming;
the one trap is padding: a flat ``padding`` of ``2·nd`` ints is read in ``F.pad``'s order, *last*
axis first (``(left, right, top, bottom)``), so the adapter lists the ``(lo, hi)`` pairs in
reverse axis order. As in :mod:`cnnspec.adapters.tensorflow`, each call is a few lines of tinygrad
code (:func:`_plan`) that both run here and form the native reproduction.

* ``conv*`` -> ``Tensor.conv2d`` (any number of spatial axes) with ``groups``, ``stride``,
  ``dilation``, ``padding``;
* ``conv_transpose*`` -> ``Tensor.conv_transpose2d`` with ``output_padding``;
* ``max_pool*`` -> ``Tensor.max_pool2d`` with ``ceil_mode``, ``dilation``, ``return_indices``;
* ``avg_pool*`` -> ``Tensor.avg_pool2d`` with ``ceil_mode``, ``count_include_pad``;
  ``divisor_override`` is not expressible;
* ``pad`` -> ``Tensor.pad`` with torch's flat pad list and mode names;
* ``lp_pool*`` -> torch's own definition ``(K·avg_pool(x^p))^(1/p)`` in ``Tensor.pow`` and
  ``Tensor.avg_pool2d`` (tinygrad has no lp pooling), ``ceil_mode`` passed on;
  ``norm_type=inf`` is not expressible;
* ``max_unpool*`` -> ``Tensor.max_unpool2d`` (any number of axes) with the kernel, stride,
  padding and, when the call gives one, ``output_size``;
* adaptive pools whose output size divides the input size -> the plain pool.

References
----------
tinygrad documentation, ``Tensor.conv2d``, ``Tensor.max_pool2d``, ``Tensor.avg_pool2d``,
``Tensor.pad`` (padding "in the form (padding_left, padding_right, padding_top, padding_bottom)").
"""
from __future__ import annotations

import functools
import importlib.metadata
import os

import numpy as np
from tinygrad import Device, Tensor

from . import FRAMEWORKS, NoKernel, NotExpressible
from . import _frontend as F
from ..errors import UsageError

NAME, TITLE = "tinygrad", "tinygrad"
_DEVICE = {"device": "CPU"}


def version() -> str:
    return importlib.metadata.version("tinygrad")


def use_device(device: str) -> None:
    """``"cpu"`` (tinygrad's CPU device; needs clang) or ``"cuda"``."""
    name = {"cpu": "CPU", "cuda": "CUDA"}.get(device)
    if name is None:
        raise UsageError(f"device: {device!r} is not cpu or cuda")
    try:
        Device[name]
    except Exception as e:  # noqa: BLE001 - tinygrad raises various errors for a missing device
        raise UsageError(f"device: {device!r}: tinygrad cannot open {name} ({type(e).__name__}: {e})") from None
    _DEVICE["device"] = name


def _flat(pairs) -> list[int]:
    """tinygrad's flat padding: the last axis first, ``(lo, hi)`` each."""
    return [v for lo_hi in reversed(pairs) for v in lo_hi]


def _plan(req: F.Request) -> str:
    """The tinygrad code of this request over ``x``, ``w``, ``b`` and ``dev``; it leaves ``got``."""
    g = req.geo
    t = "Tensor(x, device=dev)"
    if req.family == "conv":
        bias = "None" if req.b is None else "Tensor(b, device=dev)"
        return (f"got = {t}.conv2d(Tensor(w, device=dev), {bias}, groups={g.groups}, stride={g.stride!r}, "
                f"dilation={g.dilation!r}, padding={_flat(g.pads)!r}).numpy()\n")
    if req.family == "conv_transpose":
        bias = "None" if req.b is None else "Tensor(b, device=dev)"
        return (f"got = {t}.conv_transpose2d(Tensor(w, device=dev), {bias}, groups={g.groups}, "
                f"stride={g.stride!r}, dilation={g.dilation!r}, padding={_flat(g.pads)!r}, "
                f"output_padding={g.output_padding!r}).numpy()\n")
    if req.family == "pad":
        flat = [v for p in reversed(g) for v in p]
        value = f", value={req.opts['value']!r}" if req.opts["mode"] == "constant" else ""
        return f"got = {t}.pad({flat!r}, mode={req.opts['mode']!r}{value}).numpy()\n"
    if req.family == "max_unpool":
        k, st, pads, _ = g
        out = "" if req.call["output_size"] is None else f", output_size={tuple(req.call['output_size'])!r}"
        return (f"got = {t}.max_unpool2d(Tensor(idx, device=dev), kernel_size={k!r}, stride={st!r}, "
                f"padding={_flat(pads)!r}{out}).numpy()\n")
    common = f"kernel_size={g.kernel!r}, stride={g.stride!r}, padding={_flat(g.pads)!r}, ceil_mode={g.ceil_mode}"
    if req.family == "lp_pool":
        p = req.opts["norm_type"]
        if p == np.inf:
            raise NotExpressible(NAME, "norm_type=inf in lp_pool (tinygrad has no such pooling)")
        return (f"got = ({t}.pow({p!r}).avg_pool2d({common}) * {float(np.prod(g.kernel))!r})"
                f".pow({1 / p!r}).numpy()  # (K * avg(x^p))^(1/p), torch's lp_pool\n")
    if req.family == "max_pool":
        if req.opts["return_indices"]:
            return (f"got, indices = {t}.max_pool2d({common}, dilation={g.dilation!r}, return_indices=True)\n"
                    "got, indices = got.numpy(), indices.numpy()\n")
        return f"got = {t}.max_pool2d({common}, dilation={g.dilation!r}).numpy()\n"
    if req.opts["divisor_override"] is not None:
        raise NotExpressible(NAME, "divisor_override (Tensor.avg_pool2d has none)")
    return f"got = {t}.avg_pool2d({common}, count_include_pad={req.opts['count_include_pad']}).numpy()\n"


@functools.lru_cache(maxsize=512)
def _compiled(code: str):
    return compile(code, "<cnnspec.adapters.tinygrad>", "exec")


@functools.lru_cache(maxsize=None)
def _compiles(dtype: str, device: str) -> str | None:
    """None when ``device`` compiles a kernel of ``dtype``, else what the compiler said. tinygrad's
    CPU device hands C to clang, which before clang 15 has no ``__bf16`` arithmetic for its
    free-standing x86-64 target ("__bf16 is not supported on this target"); clang writes that to
    the process's stderr, which is read here."""
    import subprocess
    import tempfile
    from tinygrad import dtypes
    with tempfile.TemporaryFile() as err:
        saved = os.dup(2)
        os.dup2(err.fileno(), 2)
        try:
            (Tensor([1.0, 2.0], dtype=getattr(dtypes, dtype), device=device) * 3).realize()
            said = None
        except subprocess.CalledProcessError as e:
            err.seek(0)
            lines = [ln for ln in err.read().decode(errors="replace").splitlines() if "error:" in ln]
            said = f"{e.cmd[0]}: {lines[0].split('error:', 1)[1].strip()}" if lines else f"{e.cmd[0]} exit {e.returncode}"
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return said


def _run(req: F.Request):
    dt = req.x.dtype.name
    if dt in ("bfloat16", "float16") and (said := _compiles(dt, _DEVICE["device"])) is not None:
        raise NoKernel(NAME, dt, _DEVICE["device"], said)
    env = {"np": np, "Tensor": Tensor, "x": req.x, "w": req.w, "b": req.b, "dev": _DEVICE["device"],
           "idx": req.opts.get("indices")}
    exec(_compiled(_plan(req)), env)  # noqa: S102 - cnnspec's own generated code, see _plan
    return (env["got"], env["indices"].astype(np.int64)) if "indices" in env else env["got"]


F.define(globals(), FRAMEWORKS[NAME].ops, TITLE)


def reproduce(op: str, args: tuple, kwargs: dict, expected) -> str:
    """A standalone tinygrad snippet of this call: the code the adapter runs, arrays embedded."""
    req = F.parse(op, args, kwargs, NAME)
    s = [F.header(TITLE, version(), op, req.call), "from tinygrad import Tensor\n",
         f"dev = {_DEVICE['device']!r}\n", f"x = {F.literal(req.x)}\n"]
    s += [f"{k} = {F.literal(v)}\n" for k, v in (("w", req.w), ("b", req.b), ("idx", req.opts.get("indices")))
          if v is not None]
    s.append(_plan(req))
    s.append(F.footer(expected))
    return "".join(s)
