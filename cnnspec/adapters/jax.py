"""``torch.nn.functional`` conv, pooling and pad over ``jax.lax`` (CPU; GPU where present).

Translations (each the direct reading of the JAX documentation, nothing recomputed):

* ``conv{1,2,3}d`` -> ``lax.conv_general_dilated`` with ``dimension_numbers`` ``('NCHW', 'OIHW',
  'NCHW')`` (JAX takes any layout by name, so none is transposed), ``padding`` the ``(lo, hi)``
  pairs, ``rhs_dilation`` the dilation, ``feature_group_count`` the groups; the bias is added after,
  as in ``flax.linen.Conv``. The precision is JAX's default (on GPUs that may be TF32: what JAX
  does by default is what is validated);
* ``max_pool*`` -> ``lax.reduce_window(x, -inf, lax.max, ...)``, the padding being the init
  value ``-inf`` as in ``flax.linen.max_pool``; ``ceil_mode`` is the extra high padding of
  PyTorch's rule (the last window must start inside the input or its left padding);
* ``avg_pool*`` -> the window sums ``lax.reduce_window(x, 0, lax.add, ...)`` divided by the same
  reduction over ones: ones padded with ones (``count_include_pad=True``: padding counts, ceil-mode
  overhang does not) or with zeros (``False``), or ``divisor_override``;
* ``conv_transpose*`` -> the same ``conv_general_dilated`` on the input dilated by the stride
  (``lhs_dilation``), padded by ``d(k-1) - padding`` (plus ``output_padding`` high), with the
  weight's in/out channels swapped per group and its taps flipped;
* ``pad`` -> ``lax.pad`` in constant mode (a negative width crops, as torch's does), else ``jnp.pad``
  (``replicate`` is NumPy's ``edge``, ``circular`` its ``wrap``);
* ``lp_pool*`` -> torch's own definition in ``lax`` primitives: ``(K·avg(x^p))^(1/p)`` with the
  window sums of ``x^p`` from ``lax.reduce_window(x ** p, 0, lax.add, ...)``, the average's divisor
  the reduction over ones (the taps inside the input, as torch's ``avg_pool`` counts them at a
  ceil-mode edge) and ``K`` the kernel's size; no absolute value (``torch.nn.functional.lp_pool2d``
  applies ``sign(f)·relu(|f|)``, which is ``f``), so a negative power sum gives NaN there as here;
  ``norm_type=inf`` is not expressible;
* adaptive pools whose output size divides the input size -> the plain pool; uneven adaptive
  windows have no ``lax`` op and are not expressible.

``return_indices=True`` is not expressible (``reduce_window`` returns no argmax). Importing this
module turns on ``jax_enable_x64`` so that float64 NumPy input stays float64. Each call is one
``jax.jit`` program, every array and number of the call an argument; :mod:`._jax_programs` keeps
the compiled programs in this process and in ``jax-programs/`` of :func:`cnnspec.cache.root`, so
that a repeated run loads them (about 2 ms each) instead of tracing, lowering and compiling them
again (about 0.13 s each; some 250 of them in one ``cnnspec validate jax --op conv2d``). Where a
program comes from changes how long a call takes, never what it computes.

References
----------
JAX documentation, ``jax.lax.conv_general_dilated`` and ``jax.lax.reduce_window``;
``flax.linen.pooling`` (``max_pool`` pads with ``-inf``; ``avg_pool``'s ``count_include_pad``).
"""
from __future__ import annotations

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)
from jax import lax  # noqa: E402 - after the x64 switch
from jax import numpy as jnp  # noqa: E402

from . import FRAMEWORKS, NotExpressible  # noqa: E402
from . import _frontend as F  # noqa: E402
from . import _jax_programs  # noqa: E402
from ..errors import UsageError  # noqa: E402

NAME, TITLE = "jax", "JAX"
_DEVICE = {"device": jax.devices("cpu")[0]}
_LAYOUT = {1: ("NCH", "OIH", "NCH"), 2: ("NCHW", "OIHW", "NCHW"), 3: ("NCDHW", "OIDHW", "NCDHW")}
_PAD_MODE = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def version() -> str:
    return jax.__version__


def use_device(device: str) -> None:
    """Run on ``"cpu"`` or ``"cuda"`` (JAX's first GPU)."""
    if device not in ("cpu", "cuda"):
        raise UsageError(f"device: {device!r} is not cpu or cuda")
    try:
        _DEVICE["device"] = jax.devices("cpu" if device == "cpu" else "gpu")[0]
    except RuntimeError as e:
        raise UsageError(f"device: {device!r}: JAX has no such backend here ({e})") from None


# --- native parameters (shared by the call and its reproduction) -----------------------------------

def _conv_params(req: F.Request) -> dict:
    g = req.geo
    if req.family == "conv_transpose":
        # the transposed convolution as a convolution of the stride-dilated input (lhs_dilation),
        # padded by d(k-1) less the cropped padding, plus output_padding on the high side
        pads = [(d * (k - 1) - lo, d * (k - 1) - hi + o)
                for k, d, (lo, hi), o in zip(g.kernel, g.dilation, g.pads, g.output_padding)]
        return {"window_strides": (1,) * g.nd, "padding": pads, "lhs_dilation": g.stride,
                "rhs_dilation": g.dilation, "dimension_numbers": _LAYOUT[g.nd], "feature_group_count": g.groups}
    return {"window_strides": g.stride, "padding": list(g.pads), "rhs_dilation": g.dilation,
            "dimension_numbers": _LAYOUT[g.nd], "feature_group_count": g.groups}


def _weight_code(req: F.Request) -> str:
    """NumPy code turning the torch weight ``w`` into the one ``conv_general_dilated`` takes: for a
    transposed conv (C_in, C_out/g, *k) -> per group in/out swapped -> (C_out, C_in/g, *k), flipped."""
    if req.family != "conv_transpose":
        return "w"
    ci, cog, *k = req.w.shape
    g = req.geo.groups
    return (f"np.flip(w.reshape({g}, {ci // g}, {cog}, *{tuple(k)!r}).swapaxes(1, 2)"
            f".reshape({g * cog}, {ci // g}, *{tuple(k)!r}), axis={tuple(range(2, 2 + req.nd))!r})")


def _window(req: F.Request) -> dict:
    g = req.geo
    pads = ((0, 0), (0, 0)) + tuple((lo, hi + e) for (lo, hi), e in zip(g.pads, g.extra))
    return {"window_dimensions": (1, 1) + g.kernel, "window_strides": (1, 1) + g.stride,
            "padding": pads, "window_dilation": (1, 1) + g.dilation}


def _norm(req: F.Request) -> float:
    p = req.opts["norm_type"]
    if p == np.inf:
        raise NotExpressible(NAME, "norm_type=inf in lp_pool (no lax reduction for it)")
    return p


def _count_plan(req: F.Request) -> tuple[str, tuple]:
    """How the divisor is computed: ``('override', d)``, ``('include', ((lo, hi), ...))``: ones
    padded with ones, windows then padded by the ceil overhang only; or ``('exclude', ())``."""
    if req.opts["divisor_override"] is not None:
        return "override", (req.opts["divisor_override"],)
    if req.opts["count_include_pad"]:
        return "include", ((0, 0), (0, 0)) + req.geo.pads
    return "exclude", ()


# --- the calls --------------------------------------------------------------------------------------

def _prog(name: str, static: tuple, fn, *arrays):
    """``fn(*arrays)`` as one compiled program on the chosen device (:mod:`._jax_programs`); the
    program moves its NumPy arguments there itself."""
    return np.asarray(_jax_programs.call(name, static, fn, _DEVICE["device"], *arrays))


def _scalar(v, dtype) -> np.ndarray:
    return np.array(v, dtype)


def _run(req: F.Request):
    x = req.x
    if req.family in ("conv", "conv_transpose"):
        w = np.ascontiguousarray(eval(_weight_code(req), {"np": np, "w": req.w}))  # noqa: S307 - cnnspec's own
        p, tail = _conv_params(req), (1, -1) + (1,) * req.nd
        if req.b is None:
            return _prog("conv", tuple(p.items()), lambda x, w: lax.conv_general_dilated(x, w, **p), x, w)
        return _prog("conv+bias", tuple(p.items()),
                     lambda x, w, b: lax.conv_general_dilated(x, w, **p) + b.reshape(tail), x, w, req.b)
    if req.family == "pad":
        widths = tuple([(0, 0)] * (x.ndim - req.nd) + list(req.geo))
        mode = _PAD_MODE[req.opts["mode"]]
        if mode == "constant":     # lax.pad: a negative width crops, as torch's does
            edges = tuple((lo, hi, 0) for lo, hi in widths)
            return _prog("pad", (widths, mode), lambda x, v: lax.pad(x, v, edges),
                         x, _scalar(req.opts["value"], x.dtype))
        return _prog("pad", (widths, mode), lambda x: jnp.pad(x, widths, mode=mode), x)
    win = _window(req)
    static = tuple(win.items())
    zero = _scalar(0, x.dtype)
    ones = np.ones(x.shape, x.dtype)
    if req.family == "lp_pool":
        p, k = _norm(req), float(np.prod(req.geo.kernel))

        def lp(x, ones, p, k, inv):
            sums = lax.reduce_window(x ** p, zero, lax.add, **win)
            counts = lax.reduce_window(ones, zero, lax.add, **win)
            return (sums / counts * k) ** inv
        return _prog("lp_pool", static, lp, x, ones, *(_scalar(v, x.dtype) for v in (p, k, 1 / p)))
    if req.family == "max_pool":
        if req.opts["return_indices"]:
            raise NotExpressible(NAME, "return_indices=True (lax.reduce_window returns no argmax)")
        low = _scalar(-np.inf, x.dtype)
        return _prog("max_pool", static, lambda x: lax.reduce_window(x, low, lax.max, **win), x)
    how, arg = _count_plan(req)
    if how == "override":
        return _prog("avg_pool/override", static,
                     lambda x, d: lax.reduce_window(x, zero, lax.add, **win) / d, x, _scalar(arg[0], x.dtype))
    cwin = win
    if how == "include":
        ones = np.pad(ones, arg, constant_values=1)
        cwin = {**win, "padding": ((0, 0), (0, 0)) + tuple((0, e) for e in req.geo.extra)}
    return _prog(f"avg_pool/{how}", static + tuple(cwin.items()),
                 lambda x, ones: (lax.reduce_window(x, zero, lax.add, **win)
                                  / lax.reduce_window(ones, zero, lax.add, **cwin)), x, ones)


F.define(globals(), FRAMEWORKS[NAME].ops, TITLE)


# --- reproductions ----------------------------------------------------------------------------------

def reproduce(op: str, args: tuple, kwargs: dict, expected) -> str:
    """A standalone ``jax.lax`` snippet of this call (see :func:`cnnspec.adapters.reproduce`)."""
    req = F.parse(op, args, kwargs, NAME)
    dt = "x.dtype"   # the scalars in the input's dtype (bfloat16 has no np.<name>)
    s = [F.header(TITLE, version(), op, {k: v for k, v in req.call.items()}),
         'import jax\njax.config.update("jax_enable_x64", True)\nfrom jax import lax, numpy as jnp\n',
         f"x = {F.literal(req.x)}\n"]
    if req.family in ("conv", "conv_transpose"):
        p = _conv_params(req)
        s.append(f"w = {F.literal(req.w)}\n")
        if req.family == "conv_transpose":
            s.append(f"w = {_weight_code(req)}  # torch's transposed-conv weight as a conv weight\n")
        s.append("got = lax.conv_general_dilated(x, w, " + ", ".join(f"{k}={v!r}" for k, v in p.items())
                 + ")\n")
        if req.b is not None:
            s.append(f"got = got + {F.literal(req.b)}.reshape({(1, -1) + (1,) * req.nd!r})\n")
    elif req.family == "pad":
        widths = [(0, 0)] * (req.x.ndim - req.nd) + list(req.geo)
        if req.opts["mode"] == "constant":
            edges = [(lo, hi, 0) for lo, hi in widths]
            s.append(f"got = lax.pad(x, np.array({req.opts['value']!r}, x.dtype), {edges!r})\n")
        else:
            s.append(f"got = jnp.pad(x, {widths!r}, mode={_PAD_MODE[req.opts['mode']]!r})\n")
    else:
        win = _window(req)
        w = ", ".join(f"{k}={v!r}" for k, v in win.items())
        if req.family == "lp_pool":
            p, k = _norm(req), float(np.prod(req.geo.kernel))
            s.append(f"zero = np.array(0, {dt})\n"
                     f"sums = lax.reduce_window(x ** np.array({p!r}, {dt}), zero, lax.add, {w})\n"
                     f"counts = lax.reduce_window(jnp.ones(x.shape, x.dtype), zero, lax.add, {w})  # taps inside\n"
                     f"got = (sums / counts * np.array({k!r}, {dt})) ** np.array({1 / p!r}, {dt})"
                     "  # (K * avg(x^p))^(1/p)\n")
        elif req.family == "max_pool":
            if req.opts["return_indices"]:
                raise NotExpressible(NAME, "return_indices=True (lax.reduce_window returns no argmax)")
            s.append(f"got = lax.reduce_window(x, np.array(-np.inf, {dt}), lax.max, {w})\n")
        else:
            s.append(f"zero = np.array(0, {dt})\nsums = lax.reduce_window(x, zero, lax.add, {w})\n")
            how, arg = _count_plan(req)
            if how == "override":
                s.append(f"got = sums / np.array({arg[0]}, {dt})  # divisor_override\n")
            elif how == "include":
                tail = ((0, 0), (0, 0)) + tuple((0, e) for e in req.geo.extra)
                s.append(f"ones = jnp.pad(jnp.ones(x.shape, x.dtype), {arg!r}, constant_values=1)"
                         "  # padding counts\n"
                         f"got = sums / lax.reduce_window(ones, zero, lax.add, window_dimensions="
                         f"{win['window_dimensions']!r}, window_strides={win['window_strides']!r}, "
                         f"padding={tail!r})\n")
            else:
                s.append(f"got = sums / lax.reduce_window(jnp.ones(x.shape, x.dtype), zero, lax.add, "
                         f"{w})  # padding does not count\n")
    s.append(F.footer(expected))
    return "".join(s)
