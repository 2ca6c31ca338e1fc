"""The front half of every adapter: bind a ``torch.nn.functional`` call, check it, reduce it to a
:class:`Request` that a framework's back end renames into its own API.

Adding an op to every adapter is one entry in :data:`SIGNATURES` (the same-named
``torch.nn.functional`` signature) plus, in each framework module, the back end of its family
(``conv``, ``conv_transpose``, ``max_pool``, ``avg_pool``, ``pad``) when the family is new. :func:`define` then
installs a module-level function per op with that signature, so that ``module:op`` is a target.

References
----------
PyTorch, ``torch.nn.functional`` documentation: ``conv1d/2d/3d``, ``max_pool1d/2d/3d``,
``avg_pool1d/2d/3d``, ``pad`` (``pad`` lists the last axis first: ``(left, right, top, bottom)``).
"""
from __future__ import annotations

import inspect
import math
import os
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from . import _geometry as G

_P = inspect.Parameter


def _sig(*names_defaults) -> inspect.Signature:
    params = [_P(n, _P.POSITIONAL_OR_KEYWORD) if d is _P.empty
              else _P(n, _P.POSITIONAL_OR_KEYWORD, default=d) for n, d in names_defaults]
    return inspect.Signature(params)


_E = _P.empty
_CONV = _sig(("input", _E), ("weight", _E), ("bias", None), ("stride", 1), ("padding", 0),
             ("dilation", 1), ("groups", 1))
_MAX = _sig(("input", _E), ("kernel_size", _E), ("stride", None), ("padding", 0), ("dilation", 1),
            ("ceil_mode", False), ("return_indices", False))
_AVG1 = _sig(("input", _E), ("kernel_size", _E), ("stride", None), ("padding", 0),
             ("ceil_mode", False), ("count_include_pad", True))
_AVG = _sig(("input", _E), ("kernel_size", _E), ("stride", None), ("padding", 0),
            ("ceil_mode", False), ("count_include_pad", True), ("divisor_override", None))
_TRANSPOSE = _sig(("input", _E), ("weight", _E), ("bias", None), ("stride", 1), ("padding", 0),
                  ("output_padding", 0), ("groups", 1), ("dilation", 1))
_PAD = _sig(("input", _E), ("pad", _E), ("mode", "constant"), ("value", None))
_ADAPTIVE_AVG = _sig(("input", _E), ("output_size", _E))
_ADAPTIVE_MAX = _sig(("input", _E), ("output_size", _E), ("return_indices", False))
_LP = _sig(("input", _E), ("norm_type", _E), ("kernel_size", _E), ("stride", None), ("ceil_mode", False))
_UNPOOL = _sig(("input", _E), ("indices", _E), ("kernel_size", _E), ("stride", None), ("padding", 0),
               ("output_size", None))
# ONNX ConvInteger and QLinearConv with torch-style geometry, as cnnspec.oracle.integer states them
_CONV_INT = _sig(("input", _E), ("weight", _E), ("x_zero_point", 0), ("w_zero_point", 0), ("stride", 1),
                 ("padding", 0), ("dilation", 1), ("groups", 1))
_QLINEAR = _sig(("x", _E), ("x_scale", _E), ("x_zero_point", _E), ("w", _E), ("w_scale", _E),
                ("w_zero_point", _E), ("y_scale", _E), ("y_zero_point", _E), ("bias", None), ("stride", 1),
                ("padding", 0), ("dilation", 1), ("groups", 1))

# op -> (family, number of spatial axes, signature)
SIGNATURES: dict[str, tuple[str, int, inspect.Signature]] = {
    **{f"conv{n}d": ("conv", n, _CONV) for n in (1, 2, 3)},
    **{f"max_pool{n}d": ("max_pool", n, _MAX) for n in (1, 2, 3)},
    "avg_pool1d": ("avg_pool", 1, _AVG1),
    **{f"avg_pool{n}d": ("avg_pool", n, _AVG) for n in (2, 3)},
    "pad": ("pad", 0, _PAD),
    **{f"conv_transpose{n}d": ("conv_transpose", n, _TRANSPOSE) for n in (1, 2, 3)},
    # only the torch adapter has these so far (it passes them to torch.nn.functional unparsed)
    **{f"adaptive_avg_pool{n}d": ("adaptive_avg_pool", n, _ADAPTIVE_AVG) for n in (1, 2, 3)},
    **{f"adaptive_max_pool{n}d": ("adaptive_max_pool", n, _ADAPTIVE_MAX) for n in (1, 2, 3)},
    **{f"lp_pool{n}d": ("lp_pool", n, _LP) for n in (1, 2)},
    **{f"max_unpool{n}d": ("max_unpool", n, _UNPOOL) for n in (1, 2, 3)},
    "conv2d_integer": ("conv_integer", 2, _CONV_INT),
    "qlinear_conv2d": ("qlinear_conv", 2, _QLINEAR),
}
_PARSED = ("conv", "conv_transpose", "max_pool", "avg_pool", "pad", "adaptive_avg_pool", "adaptive_max_pool",
           "lp_pool", "max_unpool", "conv_integer", "qlinear_conv")
# ops whose signature is not torch.nn.functional's (torch has no such function): cnnspec.oracle's
NOT_TORCH = ("conv2d_integer", "qlinear_conv2d")
PAD_MODES = ("constant", "reflect", "replicate", "circular")


@dataclass
class Request:
    """One checked call. ``x``/``w``/``b`` are the NumPy arrays (``x`` batched), ``geo`` the
    geometry (:class:`~._geometry.Conv`, :class:`~._geometry.Pool`, or per-axis ``(lo, hi)`` pads
    for ``pad``, first spatial axis first), ``opts`` the remaining flags."""

    op: str
    family: str
    nd: int
    x: np.ndarray
    geo: Any
    w: np.ndarray | None = None
    b: np.ndarray | None = None
    unbatched: bool = False
    opts: dict = field(default_factory=dict)
    call: dict = field(default_factory=dict)   # the bound torch-style arguments, for messages


def floating(dtype) -> bool:
    """A float dtype, ml_dtypes' bfloat16 included (NumPy gives it kind 'V')."""
    dtype = np.dtype(dtype)
    return dtype.kind == "f" or dtype.name == "bfloat16"


def _array(name: str, a) -> np.ndarray:
    a = np.asarray(a)
    if not floating(a.dtype):
        raise G.ArgumentError(f"{name} of dtype {a.dtype}: expected a float array")
    return a


def np_dtype(name: str) -> np.dtype:
    """The NumPy dtype of ``name``; ``"bfloat16"`` is ``ml_dtypes.bfloat16``, the NumPy bfloat16
    that JAX, TensorFlow and ONNX use (NumPy itself has none)."""
    if name != "bfloat16":
        return np.dtype(name)
    try:
        import ml_dtypes
    except ImportError:
        raise G.ArgumentError("dtype='bfloat16' needs ml_dtypes (NumPy has no bfloat16): "
                              "pip install 'ml_dtypes==0.6.0'") from None
    return np.dtype(ml_dtypes.bfloat16)


def _flag(name: str, v) -> bool:
    if not isinstance(v, (bool, np.bool_)) and v not in (0, 1):
        raise G.ArgumentError(f"{name}={v!r}: expected True or False")
    return bool(v)


def parse(op: str, args: tuple, kwargs: dict, framework: str = "") -> Request:
    """Bind ``op(*args, **kwargs)`` to the ``torch.nn.functional`` signature and check it.

    Adaptive pooling whose output size divides the input size is the plain pool with
    ``kernel_size = stride = n / m`` (its windows ``[i·n/m, (i+1)·n/m)`` are those), as
    ``torch.onnx`` exports it; other output sizes raise :class:`NotExpressible` for ``framework``.
    """
    family, nd, sig = SIGNATURES[op]
    if family not in _PARSED:
        raise NotImplementedError(f"{op}: no back end translates the {family} family yet")
    try:
        a = sig.bind(*args, **kwargs)
    except TypeError as e:
        raise G.ArgumentError(f"{op}: {e}") from None
    a.apply_defaults()
    c = dict(a.arguments)
    if family in ("conv_integer", "qlinear_conv"):
        return _parse_integer(op, family, c)
    x = _array("input", c["input"])
    if family in ("conv", "conv_transpose"):
        # torch takes an unbatched (C, *spatial) input beside a batched weight: one sample
        w = _array("weight", c["weight"])
        b = None if c["bias"] is None else _array("bias", c["bias"])
        xb, unbatched = G.batched(x, nd) if w.ndim == nd + 2 else (x, False)
        if family == "conv":
            geo = G.conv(xb, w, b, c["stride"], c["padding"], c["dilation"], c["groups"], nd)
        else:
            geo = G.conv_transpose(xb, w, b, c["stride"], c["padding"], c["output_padding"], c["groups"],
                                   c["dilation"], nd)
        return Request(op, family, nd, xb, geo, w, b, unbatched=unbatched, call=c)
    if family == "pad":
        return _parse_pad(op, x, c)
    if family.startswith("adaptive"):
        return _adaptive(op, x, c, nd, framework)
    if family == "lp_pool":
        return _parse_lp(op, x, c, nd)
    if family == "max_unpool":
        return _parse_unpool(op, x, c, nd)
    xb, unbatched = G.batched(x, nd)
    geo = G.pool(x, c["kernel_size"], c["stride"], c["padding"], c.get("dilation", 1),
                 _flag("ceil_mode", c["ceil_mode"]), nd)
    if family == "max_pool":
        opts = {"return_indices": _flag("return_indices", c["return_indices"])}
    else:
        d = c.get("divisor_override")
        if d is not None and (not G._is_int(d) or d == 0):
            raise G.ArgumentError(f"divisor_override={d!r}: expected a non-zero int or None")
        opts = {"count_include_pad": _flag("count_include_pad", c["count_include_pad"]),
                "divisor_override": None if d is None else int(d)}
    return Request(op, family, nd, xb, geo, unbatched=unbatched, opts=opts, call=c)


def _adaptive(op: str, x: np.ndarray, c: dict, nd: int, framework: str) -> Request:
    from . import NotExpressible
    if x.ndim not in (nd + 1, nd + 2):
        raise G.ArgumentError(f"input of shape {x.shape}: {op} needs (N, C, {'*' * nd}) or (C, {'*' * nd})")
    size, out = x.shape[-nd:], c["output_size"]
    out = (out,) * nd if G._is_int(out) else tuple(out)
    if len(out) == 1:
        out = out * nd
    if len(out) != nd or not all(m is None or (G._is_int(m) and m >= 1) for m in out):
        raise G.ArgumentError(f"output_size={c['output_size']!r}: expected {nd} ints >= 1 (or None)")
    out = tuple(n if m is None else int(m) for n, m in zip(size, out))
    if any(n % m for n, m in zip(size, out)):
        raise NotExpressible(framework, f"{op} to output_size {out} that does not divide the input size "
                                        f"{tuple(size)} (no adaptive pooling op to translate it to)")
    k = tuple(n // m for n, m in zip(size, out))
    kind = "max_pool" if family_of(op) == "adaptive_max_pool" else "avg_pool"
    extra = {"return_indices": c["return_indices"]} if kind == "max_pool" else {}
    req = parse(f"{kind}{nd}d", (x, k, k), extra, framework)
    req.call = c
    return req


def _parse_lp(op: str, x: np.ndarray, c: dict, nd: int) -> Request:
    """``lp_pool{nd}d``: a pooling geometry without padding (torch's lp_pool has none) and ``norm_type``."""
    p = c["norm_type"]
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, float, np.integer, np.floating)) \
            or not p > 0:
        raise G.ArgumentError(f"norm_type={p!r}: expected a number > 0")
    xb, unbatched = G.batched(x, nd)
    geo = G.pool(x, c["kernel_size"], c["stride"], 0, 1, _flag("ceil_mode", c["ceil_mode"]), nd)
    return Request(op, "lp_pool", nd, xb, geo, unbatched=unbatched, opts={"norm_type": float(p)}, call=c)


def _parse_unpool(op: str, x: np.ndarray, c: dict, nd: int) -> Request:
    """``max_unpool{nd}d``: ``geo = (kernel, stride, pads, output size)`` by torch's
    ``_unpool_output_size``; ``opts["indices"]`` the int64 plane indices (batched like ``x``)."""
    from ..oracle.unpool import check_indices
    from ..spec.pooling import PoolError, unpool_output_size

    xb, unbatched = G.batched(x, nd)
    idx = np.asarray(c["indices"])
    idx = idx[None] if unbatched else idx
    k = G.ints("kernel_size", c["kernel_size"], nd, 1)
    empty = c["stride"] is None or (isinstance(c["stride"], (tuple, list)) and len(c["stride"]) == 0)
    st = k if empty else G.ints("stride", c["stride"], nd, 1)
    pads = G.ints("padding", c["padding"], nd, 0)
    try:
        out = unpool_output_size(xb.shape[2:], k, st, pads, c["output_size"])
        check_indices(idx, xb.shape, int(np.prod(out)))
    except PoolError as e:
        raise G.ArgumentError(f"{op}: {e}") from None
    return Request(op, "max_unpool", nd, xb, (k, st, tuple((v, v) for v in pads), out), unbatched=unbatched,
                   opts={"indices": idx}, call=c)


def _parse_integer(op: str, family: str, c: dict) -> Request:
    """ConvInteger / QLinearConv: uint8/int8 ``x`` and ``w`` (zero points of their dtypes, scalars
    or per output channel for ``w``), float32 scales, an int32 bias; the geometry as for conv2d."""
    xname, wname = ("input", "weight") if family == "conv_integer" else ("x", "w")
    x, w = np.asarray(c[xname]), np.asarray(c[wname])
    for name, a in ((xname, x), (wname, w)):
        if a.dtype.name not in ("uint8", "int8"):
            raise G.ArgumentError(f"{name} of dtype {a.dtype}: expected uint8 or int8")
    b = None if c.get("bias") is None else np.asarray(c["bias"])
    if b is not None and b.dtype != np.int32:
        raise G.ArgumentError(f"bias of dtype {b.dtype}: expected int32 (QLinearConv's B)")
    geo = G.conv(x, w, b, c["stride"], c["padding"], c["dilation"], c["groups"], 2)
    opts = {k: c[k] for k in ("x_zero_point", "w_zero_point", "x_scale", "w_scale", "y_scale", "y_zero_point")
            if k in c}
    return Request(op, family, 2, x, geo, w, b, opts=opts, call=c)


def family_of(op: str) -> str:
    return SIGNATURES[op][0]


def _parse_pad(op: str, x: np.ndarray, c: dict) -> Request:
    p = c["pad"]
    if not isinstance(p, (tuple, list)) or len(p) % 2 or not all(G._is_int(v) for v in p) \
            or len(p) // 2 > x.ndim:
        raise G.ArgumentError(f"pad={p!r}: expected an even number of ints, at most 2 x input.ndim "
                              f"({2 * x.ndim})")
    mode = c["mode"]
    if mode not in PAD_MODES:
        raise G.ArgumentError(f"mode={mode!r}: expected one of {', '.join(PAD_MODES)}")
    k = len(p) // 2
    # torch lists the last axis first; the request lists the padded axes first to last
    pairs = tuple((int(p[2 * i]), int(p[2 * i + 1])) for i in reversed(range(k)))
    value = 0.0 if c["value"] is None else float(c["value"])
    if mode != "constant" and c["value"] not in (None, 0):
        raise G.ArgumentError(f"value={c['value']!r}: only mode='constant' takes a value")
    return Request(op, "pad", k, x, pairs, opts={"mode": mode, "value": value}, call=c)


def finish(req: Request, y):
    """Undo the batch axis added to an unbatched input (values and indices alike)."""
    if not req.unbatched:
        return y
    return tuple(v[0] for v in y) if isinstance(y, tuple) else y[0]


def define(namespace: dict, ops: Iterable[str], title: str) -> None:
    """Install ``op(*args, **kwargs) = finish(_run(parse(op, ...)))`` for each op in ``namespace``,
    with the ``torch.nn.functional`` signature (what ``inspect.signature`` and help() show).
    ``_run`` is the module's back end, looked up at each call (the tests swap in wrong variants)."""
    for op in ops:
        def f(*args, __op=op, **kwargs):
            req = parse(__op, args, kwargs, namespace.get("NAME", ""))
            return finish(req, namespace["_run"](req))
        f.__name__ = f.__qualname__ = op
        f.__signature__ = SIGNATURES[op][2]
        f.__doc__ = (f"``torch.nn.functional.{op}`` over {title}'s native API: NumPy arrays in and "
                     f"out, channels first; raises NotExpressible where {title} cannot express the call.")
        f.__module__ = namespace["__name__"]
        namespace[op] = f


# --- native reproductions: arrays as literals and the lines that print both values --------------------
# A snippet imports NumPy and the framework only, embeds its input arrays, runs the framework's own
# call and prints two lines that a bug report can quote and a test can parse: ``got: [[...]]`` and
# ``expected: [[...]]``.

PREAMBLE = 'import numpy as np\nnan, inf = float("nan"), float("inf")\n'


def literal(a, dtype: str | None = None) -> str:
    """``np.array(<nested list>, dtype=np.<dtype>)``; exact for every float32/float64 value
    (``repr`` of a Python float round-trips), NaN and infinities as the names ``nan``/``inf``."""
    a = np.asarray(a)
    name = dtype or a.dtype.name
    # bfloat16: ml_dtypes' (a dependency of JAX, TensorFlow and onnx); the values are exact in it
    return f"np.array({a.tolist()!r}, dtype={'ml_dtypes.bfloat16' if name == 'bfloat16' else 'np.' + name})"


def header(title: str, version: str, op: str, call: dict) -> str:
    shown = ", ".join(f"{k}={v!r}" for k, v in call.items()
                      if k not in ("input", "weight", "bias", "x", "w", "indices") and not isinstance(v, np.ndarray))
    where = "cnnspec.oracle" if op in NOT_TORCH else "torch.nn.functional"
    perturb = os.environ.get("MALLOC_PERTURB_", "")     # set in cnnspec's workers (targets.worker_env)
    ran = (f"# found with glibc filling fresh heap memory with a pattern (so that a read of memory never\n"
           f"# written shows); run as: MALLOC_PERTURB_={perturb} python3 snippet.py\n"
           if perturb not in ("", "0") else "")
    return f"# {title} {version}: {where}.{op}({shown}) in {title}'s own API\n" + ran + PREAMBLE


def footer(expected) -> str:
    return (f"expected = {literal(expected, 'float64')}\n"
            "print('got:', np.asarray(got, dtype=np.float64).tolist())\n"
            "print('expected:', expected.tolist())\n")


def parse_output(text: str) -> dict[str, np.ndarray]:
    """The ``got``/``expected`` arrays a snippet printed (for tests and the conformance layer)."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key in ("got", "expected", "indices"):
            out[key] = np.array(eval(value, {"__builtins__": {}}, {"nan": math.nan, "inf": math.inf}),
                                dtype=np.float64)
    return out
