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
}
_PARSED = ("conv", "conv_transpose", "max_pool", "avg_pool", "pad", "adaptive_avg_pool", "adaptive_max_pool")
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


def _array(name: str, a) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind != "f":
        raise G.ArgumentError(f"{name} of dtype {a.dtype}: expected a float array")
    return a


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
    x = _array("input", c["input"])
    if family == "conv":
        w = _array("weight", c["weight"])
        b = None if c["bias"] is None else _array("bias", c["bias"])
        geo = G.conv(x, w, b, c["stride"], c["padding"], c["dilation"], c["groups"], nd)
        return Request(op, family, nd, x, geo, w, b, call=c)
    if family == "conv_transpose":
        w = _array("weight", c["weight"])
        b = None if c["bias"] is None else _array("bias", c["bias"])
        geo = G.conv_transpose(x, w, b, c["stride"], c["padding"], c["output_padding"], c["groups"],
                               c["dilation"], nd)
        return Request(op, family, nd, x, geo, w, b, call=c)
    if family == "pad":
        return _parse_pad(op, x, c)
    if family.startswith("adaptive"):
        return _adaptive(op, x, c, nd, framework)
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
    """Undo the batch axis added to an unbatched pooling input (values and indices alike)."""
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
    return f"np.array({a.tolist()!r}, dtype=np.{dtype or a.dtype.name})"


def header(title: str, version: str, op: str, call: dict) -> str:
    shown = ", ".join(f"{k}={v!r}" for k, v in call.items() if k not in ("input", "weight", "bias"))
    return (f"# {title} {version}: torch.nn.functional.{op}({shown}) in {title}'s own API\n"
            + PREAMBLE)


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
