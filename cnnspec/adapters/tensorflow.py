"""``torch.nn.functional`` conv, pooling and pad over ``tf.nn`` (``tensorflow-cpu``; GPU where present).

Each call is rendered as a few lines of TensorFlow code over the variables ``x``, ``w``, ``b``
(:func:`_plan`) and that code is what runs: the native reproduction of a call is the same text
with the arrays embedded, so the two cannot drift apart. Translations:

* layouts: TF's CPU kernels take channels last, so ``x`` is transposed NCHW -> NHWC, the weight
  OIHW -> HWIO (``(kh, kw, C/groups, O)``; TF infers the groups from the depths) and the output
  back to NCHW;
* ``conv2d`` -> ``tf.nn.conv2d`` with explicit ``padding=[[0, 0], [lo, hi], [lo, hi], [0, 0]]``;
  ``conv1d``/``conv3d`` have no explicit padding in TF: the zero padding is ``tf.pad`` and the
  conv is ``VALID``; grouped ``conv3d`` is not expressible (TF's Conv3D needs equal depths);
* ``conv_transpose*`` -> ``tf.nn.conv_transpose`` with the output shape torch computes (that is
  how TF takes ``output_padding``), explicit padding in 2-D only; groups are not expressible;
* ``max_pool1d/2d`` -> ``tf.nn.max_pool1d/2d`` with explicit padding, ``ceil_mode`` being the
  extra high padding of PyTorch's rule; ``max_pool3d`` takes no explicit padding (not
  expressible with padding); ``dilation`` -> ``tf.nn.pool(..., dilations=...)``, which takes
  neither padding nor strides with it; ``return_indices`` -> ``tf.nn.max_pool_with_argmax``
  (2-D, unpadded), whose flat NHWC index divided by C is torch's;
* ``avg_pool*`` -> ``tf.pad`` with zeros then ``VALID`` (``count_include_pad=True``), or TF's
  ``SAME`` padding, which excludes the padding from the divisor, when the pads are SAME's;
  ``ceil_mode`` adding a window, other pads with ``count_include_pad=False`` and
  ``divisor_override`` are not expressible;
* ``pad`` -> ``tf.pad`` (``CONSTANT``, ``REFLECT``); ``replicate``/``circular`` have no TF mode
  (TF's ``SYMMETRIC`` repeats the edge pixel *and* reflects: it is neither);
* ``lp_pool*`` -> torch's own definition ``(K·avg_pool(x^p))^(1/p)`` in ``tf.pow`` and
  ``tf.nn.avg_pool`` (``VALID``), no absolute value; ``ceil_mode`` adding a window (``avg_pool``
  has no ceil mode) and ``norm_type=inf`` are not expressible;
* adaptive pools whose output size divides the input size -> the plain pool (``tf.nn`` has no
  adaptive pooling).

References
----------
TensorFlow API documentation: ``tf.nn.conv2d``, ``tf.nn.conv1d``, ``tf.nn.conv3d``,
``tf.nn.max_pool2d`` (explicit padding), ``tf.nn.avg_pool``, ``tf.nn.pool``,
``tf.nn.max_pool_with_argmax``, ``tf.pad``; TF's SAME padding (the odd extra pixel after).
"""
from __future__ import annotations

import functools
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402

from . import FRAMEWORKS, NotExpressible, in_worker  # noqa: E402


def _import_tensorflow():
    """``import tensorflow``. Its ``__init__`` also tries JAX (``tf.lite``'s converter, ``try: from
    jax import jit``; about 0.3 s) and Keras (an eager load of ``keras.src.optimizers`` for the
    SavedModel registry; about 0.5 s), both optional and neither used by ``tf.nn``. In cnnspec's own
    worker processes, whose only program is this adapter, the two are hidden from that import
    (``sys.modules[name] = None``: the import raises ImportError, which TensorFlow catches) and
    visible again after it; a process where either is already imported, or any other process,
    imports TensorFlow whole."""
    hidden = [m for m in ("jax", "keras") if in_worker() and m not in sys.modules]
    for m in hidden:
        sys.modules[m] = None
    try:
        import tensorflow
    finally:
        for m in hidden:
            if m in sys.modules and sys.modules[m] is None:
                del sys.modules[m]
    return tensorflow


tf = _import_tensorflow()
from . import _frontend as F  # noqa: E402
from ..errors import UsageError  # noqa: E402

NAME, TITLE = "tensorflow", "TensorFlow"
_DEVICE = {"device": "/CPU:0"}


def version() -> str:
    return tf.__version__


def use_device(device: str) -> None:
    """``"cpu"``, or ``"cuda"`` (TF's first GPU) where TF sees one."""
    if device not in ("cpu", "cuda"):
        raise UsageError(f"device: {device!r} is not cpu or cuda")
    if device == "cuda" and not tf.config.list_physical_devices("GPU"):
        raise UsageError("device: 'cuda': TensorFlow sees no GPU here")
    _DEVICE["device"] = "/CPU:0" if device == "cpu" else "/GPU:0"


def _last(nd: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Axis orders NC* -> N*C and back."""
    to = (0,) + tuple(range(2, nd + 2)) + (1,)
    return to, (0, nd + 1) + tuple(range(1, nd + 1))


def _hwio(nd: int) -> tuple[int, ...]:
    """The weight's axis order O, I, *k -> *k, I, O (TF's filter layout, e.g. HWIO)."""
    return tuple(range(2, nd + 2)) + (1, 0)


def _same_pads(n: int, k: int, s: int) -> tuple[int, int]:
    """TF's SAME padding along one axis: ``ceil(n/s)`` outputs, the odd pixel after."""
    total = max((-(-n // s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def _plan(req: F.Request) -> str:
    """The TensorFlow code of this request over ``x``, ``w``, ``b``; it leaves ``got`` (NumPy)."""
    nd, g = req.nd, req.geo
    to, back = _last(nd)
    if req.family == "pad":
        widths = [[0, 0]] * (req.x.ndim - nd) + [list(p) for p in g]
        mode = {"constant": "CONSTANT", "reflect": "REFLECT"}.get(req.opts["mode"])
        if mode is None:
            raise NotExpressible(NAME, f"mode={req.opts['mode']!r} (tf.pad has CONSTANT, REFLECT, SYMMETRIC)")
        value = f", constant_values={req.opts['value']!r}" if mode == "CONSTANT" else ""
        # torch's negative (constant) pads crop; tf.pad takes none: pad by the positive ones, then
        # slice the cropped entries off the padded tensor (a strided slice in TensorFlow)
        grow = [[max(lo, 0), max(hi, 0)] for lo, hi in widths]
        if min(map(min, widths)) >= 0 or any(n + lo + hi < 0 for n, (lo, hi) in zip(req.x.shape, widths)):
            grow = widths     # nothing to crop, or more than the axis: tf.pad says what it says
        crop = "" if grow is widths else "[" + ", ".join(
            f"{max(-lo, 0)}:{n + a + b - max(-hi, 0)}"
            for n, (lo, hi), (a, b) in zip(req.x.shape, widths, grow)) + "]"
        return f"got = tf.pad(tf.constant(x), {grow!r}, mode={mode!r}{value}){crop}.numpy()\n"
    # a tensor of x's own dtype: tf.nn.max_pool2d given a NumPy bfloat16 array computes in float32
    lines = [f"xt = tf.constant(np.transpose(x, {to!r}))  # NC* -> N*C\n"]
    if req.family == "conv_transpose":
        return "".join(lines + _conv_transpose(req) + [f"got = np.transpose(y.numpy(), {back!r})\n"])
    zero_pads = [[0, 0]] + [list(p) for p in g.pads] + [[0, 0]]
    if req.family == "conv":
        lines.append(f"wt = np.transpose(w, {_hwio(nd)!r})  # O,I,* -> *,I,O\n")
        if nd == 2:
            lines.append(f"y = tf.nn.conv2d(xt, wt, strides={[1, *g.stride, 1]!r}, padding={zero_pads!r}, "
                         f"dilations={[1, *g.dilation, 1]!r})\n")
        else:
            if nd == 3 and g.groups > 1:
                raise NotExpressible(NAME, f"groups={g.groups} in tf.nn.conv3d (input and filter depths "
                                           "must be equal)")
            fn, st, di = ("conv1d", g.stride[0], g.dilation[0]) if nd == 1 else \
                ("conv3d", [1, *g.stride, 1], [1, *g.dilation, 1])
            if any(lo or hi for lo, hi in g.pads):
                lines.append(f"xt = tf.pad(xt, {zero_pads!r})  # zero padding\n")
            lines.append(f"y = tf.nn.{fn}(xt, wt, {st!r}, 'VALID', dilations={di!r})\n")
        if req.b is not None:
            lines.append("y = tf.nn.bias_add(y, b)\n")
        lines.append(f"got = np.transpose(y.numpy(), {back!r})\n")
        return "".join(lines)
    if req.family == "max_pool":
        lines += _max_pool(req, zero_pads)
    elif req.family == "lp_pool":
        lines += _lp_pool(req)
    else:
        lines += _avg_pool(req)
    lines.append(f"got = np.transpose(y.numpy(), {back!r})\n")
    return "".join(lines)


def _conv_transpose(req: F.Request) -> list[str]:
    nd, g = req.nd, req.geo
    if g.groups > 1:
        raise NotExpressible(NAME, f"groups={g.groups} in tf.nn.conv_transpose")
    if any(d > 1 for d in g.dilation) and (_DEVICE["device"] == "/CPU:0" or any(s > 1 for s in g.stride)):
        # TF 2.21 on the CPU: "Current CPU implementations do not yet support dilation rates larger than 1"
        raise NotExpressible(NAME, "dilation > 1 in tf.nn.conv_transpose on the CPU (or with stride > 1)")
    padded = any(lo or hi for lo, hi in g.pads) or any(g.output_padding)
    if nd != 2 and padded:
        raise NotExpressible(NAME, f"padding or output_padding in tf.nn.conv{nd}d_transpose (SAME or VALID only)")
    # TF's filter for a transposed conv is (*k, out, in): torch's (in, out, *k) with the axes reversed
    shape = [req.x.shape[0], *g.out, req.w.shape[1]]
    pad = [[0, 0]] + [list(p) for p in g.pads] + [[0, 0]] if padded else "VALID"
    return [f"wt = np.transpose(w, {_hwio(nd)!r})  # in,out,* -> *,out,in\n",
            f"y = tf.nn.conv_transpose(xt, wt, {shape!r}, {list(g.stride)!r}, {pad!r}, "
            f"dilations={list(g.dilation)!r})\n"] + (["y = tf.nn.bias_add(y, b)\n"] if req.b is not None else [])


def _max_pool(req: F.Request, zero_pads: list) -> list[str]:
    nd, g = req.nd, req.geo
    pads = [[0, 0]] + [[lo, hi + e] for (lo, hi), e in zip(g.pads, g.extra)] + [[0, 0]]
    padded = any(v for p in pads for v in p)
    k, s = list(g.kernel), list(g.stride)
    if req.opts["return_indices"]:
        if nd != 2 or padded or any(d != 1 for d in g.dilation):
            raise NotExpressible(NAME, "return_indices=True with padding, ceil_mode overhang, dilation or "
                                       "not 2-D (tf.nn.max_pool_with_argmax)")
        return [f"y, idx = tf.nn.max_pool_with_argmax(xt, {k!r}, {s!r}, 'VALID')\n",
                "indices = np.transpose(idx.numpy() // xt.shape[-1], (0, 3, 1, 2))  # flat NHWC index / C\n"]
    if any(d != 1 for d in g.dilation):
        if padded or any(v != 1 for v in s):
            raise NotExpressible(NAME, "dilation > 1 with padding or stride > 1 (tf.nn.pool)")
        return [f"y = tf.nn.pool(xt, {k!r}, 'MAX', padding='VALID', dilations={list(g.dilation)!r})\n"]
    if nd == 3 and padded:
        raise NotExpressible(NAME, "padding or ceil_mode overhang in tf.nn.max_pool3d (no explicit padding)")
    return [f"y = tf.nn.max_pool{nd}d(xt, {k!r}, {s!r}, {pads if padded else 'VALID'!r})\n"]


def _lp_pool(req: F.Request) -> list[str]:
    g, p = req.geo, req.opts["norm_type"]
    if p == np.inf:
        raise NotExpressible(NAME, "norm_type=inf in lp_pool (tf.nn has no such pooling)")
    if g.ceil_changes_output:
        raise NotExpressible(NAME, "ceil_mode=True adding a window (tf.nn.avg_pool has no ceil_mode)")
    k = float(np.prod(g.kernel))
    return [f"y = tf.nn.avg_pool{req.nd}d(tf.pow(xt, {p!r}), {list(g.kernel)!r}, {list(g.stride)!r}, 'VALID')"
            "  # avg of x^p\n",
            f"y = tf.pow(y * {k!r}, {1 / p!r})  # (K * avg(x^p))^(1/p), torch's lp_pool\n"]


def _avg_pool(req: F.Request) -> list[str]:
    nd, g = req.nd, req.geo
    k, s = list(g.kernel), list(g.stride)
    if req.opts["divisor_override"] is not None:
        raise NotExpressible(NAME, "divisor_override (tf.nn.avg_pool has none)")
    if g.ceil_changes_output:
        raise NotExpressible(NAME, "ceil_mode=True adding a window (tf.nn.avg_pool has no ceil_mode)")
    if not g.padded:
        return [f"y = tf.nn.avg_pool{nd}d(xt, {k!r}, {s!r}, 'VALID')\n"]
    if req.opts["count_include_pad"]:
        zero_pads = [[0, 0]] + [list(p) for p in g.pads] + [[0, 0]]
        return [f"xt = tf.pad(xt, {zero_pads!r})  # zeros that count (count_include_pad=True)\n",
                f"y = tf.nn.avg_pool{nd}d(xt, {k!r}, {s!r}, 'VALID')\n"]
    same = tuple(_same_pads(n, ki, si) for n, ki, si in zip(req.x.shape[2:], g.kernel, g.stride))
    if same != g.pads:
        raise NotExpressible(NAME, f"count_include_pad=False with padding {g.pads} other than SAME's "
                                   f"{same} (tf.nn.avg_pool has only VALID and SAME)")
    return [f"y = tf.nn.avg_pool{nd}d(xt, {k!r}, {s!r}, 'SAME')  # SAME excludes the padding\n"]


@functools.lru_cache(maxsize=512)
def _compiled(code: str):
    return compile(code, "<cnnspec.adapters.tensorflow>", "exec")


def _run(req: F.Request):
    env = {"np": np, "tf": tf, "x": req.x, "w": req.w, "b": req.b}
    with tf.device(_DEVICE["device"]):
        exec(_compiled(_plan(req)), env)  # noqa: S102 - cnnspec's own generated code, see _plan
    return (env["got"], env["indices"]) if "indices" in env else env["got"]


F.define(globals(), FRAMEWORKS[NAME].ops, TITLE)


def reproduce(op: str, args: tuple, kwargs: dict, expected) -> str:
    """A standalone ``tf.nn`` snippet of this call: the code the adapter runs, arrays embedded."""
    req = F.parse(op, args, kwargs, NAME)
    code = _plan(req)
    s = [F.header(TITLE, version(), op, req.call), "import tensorflow as tf\n", f"x = {F.literal(req.x)}\n"]
    s += [f"{k} = {F.literal(v)}\n" for k, v in (("w", req.w), ("b", req.b)) if v is not None]
    s.append(f"with tf.device({_DEVICE['device']!r}):\n")
    s += [f"    {line}\n" for line in code.splitlines()]
    s.append(F.footer(expected))
    return "".join(s)
