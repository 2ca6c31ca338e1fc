"""The conventions frameworks really differ on, as data, and detectors that name them in words.

A failing cell of a cross-framework comparison is only useful if it says *which* convention the
framework follows. Each :class:`Convention` below is one that users keep meeting in public threads;
its detector looks at one call — the ``torch.nn.functional``-style arguments, the framework's output
and cnnspec's exact output — and returns a sentence when the framework's output is explained by
that convention (and not by the calling convention), else ``None``. :func:`diagnose` runs every
detector that applies to the op.

Detectors recompute the alternative exactly (window sums of integer data, divisors, convolutions
through :mod:`cnnspec.oracle`) and compare with the same rigour as the claims: bit for bit, or
within a stated bound (``γ_2`` for a quotient, Higham's bound for a convolution).

>>> import numpy as np
>>> x = np.array([[[[1., np.nan], [2., 3.]]]])
>>> diagnose("max_pool2d", (x,), {"kernel_size": 2}, np.array([[[[3.]]]]), np.array([[[[np.nan]]]]))
['nan-fmax: ignores NaN in max pooling (fmax semantics; IEEE max and torch propagate it): 1 of 1 outputs whose window holds a NaN are not NaN']

References
----------
onnx/onnx#5276 (AveragePool divisors at the ceil_mode edge differ from PyTorch); ONNX LpPool and
QLinearConv (its scales are float32 tensors);
onnx/onnx#4958 (windows wholly in the padding: NaN or the lowest float);
pytorch/pytorch#7645 and tensorflow/tensorflow#125965 (NaN handling in max pooling);
PyTorch docs ``MaxPool2d``/``AvgPool2d`` (ceil_mode: "sliding windows that would start in the right
padded region are ignored"; ``count_include_pad`` default True), ONNX AveragePool
(``count_include_pad`` default 0), TensorFlow ``tf.nn`` SAME padding (odd pixel after);
PyTorch docs "TensorFloat-32 (TF32) on Ampere (and later) devices"; Higham (2002) §3.1, §3.5.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import oracle
from . import _frontend as F
from . import _geometry as G


@dataclass(frozen=True)
class Observation:
    """One call: the op, its arguments, the framework's output and the exact output."""

    op: str
    args: tuple
    kwargs: dict
    got: np.ndarray
    expected: np.ndarray

    @property
    def req(self) -> F.Request:
        return F.parse(self.op, self.args, self.kwargs)


@dataclass(frozen=True)
class Convention:
    """A named convention: id, the words a report prints, the ops it concerns, public sources."""

    id: str
    words: str
    families: tuple[str, ...]
    sources: tuple[str, ...]
    detect: Callable[[Observation], str | None]


def _window_sums(req: F.Request) -> np.ndarray:
    """Exact window sums of the zero-padded input (high side padded by the ceil overhang too)."""
    g = req.geo
    xp = oracle.pad(req.x.astype(np.float64), [(lo, hi + e) for (lo, hi), e in zip(g.pads, g.extra)])
    return oracle.windows(xp, g.kernel, g.stride, g.dilation).sum(axis=tuple(range(-g.nd, 0)))


def _divisors(req: F.Request, rule: str) -> np.ndarray:
    """Per-output divisors: ``include`` (torch: window clipped to the padded input), ``exclude``
    (real entries only), ``full`` (the whole kernel, overhang included)."""
    g = req.geo
    counts = []
    for n, (lo, hi), k, s, m in zip(req.x.shape[2:], g.pads, g.kernel, g.stride, g.out):
        start = np.arange(m) * s - lo
        end = start + k
        counts.append({"include": np.minimum(end, n + hi) - start,
                       "exclude": np.minimum(end, n) - np.maximum(start, 0),
                       "full": np.full(m, k)}[rule])
    div = counts[0]
    for c in counts[1:]:
        div = np.multiply.outer(div, c)
    return div.astype(np.float64)


def _lowest(dtype) -> float:
    """The most negative finite value of a float dtype (bfloat16: ml_dtypes', NumPy's finfo has none)."""
    if np.dtype(dtype).name == "bfloat16":
        import ml_dtypes
        return float(ml_dtypes.finfo(dtype).min)
    return float(np.finfo(dtype).min)


def _quotient_close(got: np.ndarray, q: np.ndarray, dtype) -> np.ndarray:
    """``|got − q| ≤ γ_2·|q|`` in ``dtype``'s unit roundoff (a division or a multiply by a rounded
    reciprocal, Higham §3.1); float64 for any other dtype."""
    name = np.dtype(dtype).name
    g2 = oracle.gamma(2, name if name in ("float16", "bfloat16", "float32") else "float64")
    return np.abs(got - q) <= g2 * np.abs(q) * (1 + 2 ** -50)


def _same_shape(o: Observation) -> bool:
    return np.shape(o.got) == np.shape(o.expected)


# --- max pooling ------------------------------------------------------------------------------------

def _nan_fmax(o: Observation) -> str | None:
    if not _same_shape(o):
        return None
    nan_windows = np.isnan(o.expected)
    ignored = nan_windows & ~np.isnan(o.got)
    if not ignored.any():
        return None
    return (f"ignores NaN in max pooling (fmax semantics; IEEE max and torch propagate it): "
            f"{int(ignored.sum())} of {int(nan_windows.sum())} outputs whose window holds a NaN are not NaN")


def _pad_value(o: Observation) -> str | None:
    if not _same_shape(o):
        return None
    minus_inf = np.isneginf(o.expected)
    low = _lowest(np.asarray(o.got).dtype) if F.floating(np.asarray(o.got).dtype) else None
    lowest = minus_inf & (np.asarray(o.got, np.float64) == low)
    if lowest.any():
        return (f"pads (or starts) max pooling with the lowest finite value {low:.7g}, "
                f"not -inf: {int(lowest.sum())} outputs that should be -inf are finite")
    nan = minus_inf & np.isnan(o.got)
    if nan.any():
        return f"gives NaN for {int(nan.sum())} windows whose every entry is padding or -inf (should be -inf)"
    return None


def _ceil_last_window(o: Observation) -> str | None:
    req = o.req
    g = req.geo
    if not g.ceil_mode or np.ndim(o.got) != np.ndim(o.expected):
        return None
    for axis, (n, (lo, hi), k, s, d, m) in enumerate(zip(req.x.shape[2:], g.pads, g.kernel, g.stride,
                                                        g.dilation, g.out)):
        dropped = G.pool_out(n, lo, hi, k, s, d, True) < (n + lo + hi - G.span(k, d) + s - 1) // s + 1
        if dropped and np.shape(o.got)[2 + axis] == m + 1:
            return (f"keeps a last ceil_mode window that starts in the right padding on spatial axis {axis} "
                    f"({m + 1} outputs; torch drops a window starting at or beyond input + left padding: {m})")
    return None


# --- average pooling --------------------------------------------------------------------------------

def _explained_by(o: Observation, rule: str) -> np.ndarray | None:
    req = o.req
    if req.opts["divisor_override"] is not None or not _same_shape(o):
        return None
    q = _window_sums(req) / _divisors(req, rule)
    return _quotient_close(np.asarray(o.got, np.float64), q.reshape(np.shape(o.got)), o.got.dtype)


def _wrong(o: Observation) -> np.ndarray:
    return ~_quotient_close(np.asarray(o.got, np.float64), o.expected, o.got.dtype)


def _ceil_divisor(o: Observation) -> str | None:
    req = o.req
    if not req.geo.ceil_changes_output or not _same_shape(o):
        return None
    wrong = _wrong(o)
    for rule, words in (("full", "the whole kernel (the ceil overhang counted)"),
                        ("exclude", "the real entries only"), ("include", "the window clipped to the padding")):
        ok = _explained_by(o, rule)
        if wrong.any() and ok is not None and ok.all() and rule != ("include" if req.opts["count_include_pad"]
                                                                  else "exclude"):
            return (f"divides the average at the ceil_mode edge by {words}; torch's divisor for "
                    f"count_include_pad={req.opts['count_include_pad']} differs ({int(wrong.sum())} outputs)")
    return None


def _count_include_pad(o: Observation) -> str | None:
    req = o.req
    if not req.geo.padded or req.geo.ceil_changes_output:
        return None
    wrong = _wrong(o) if _same_shape(o) else None
    other = "exclude" if req.opts["count_include_pad"] else "include"
    ok = _explained_by(o, other)
    if wrong is None or not wrong.any() or ok is None or not ok.all():
        return None
    return (f"follows count_include_pad={not req.opts['count_include_pad']} "
            f"(the padding {'not ' if other == 'exclude' else ''}counted in the divisor); "
            f"the call asked for count_include_pad={req.opts['count_include_pad']}")


def _reciprocal(o: Observation) -> str | None:
    if not _same_shape(o) or not F.floating(o.got.dtype):
        return None
    exact = np.asarray(o.got, np.float64) == o.expected.astype(o.got.dtype).astype(np.float64)
    close = _quotient_close(np.asarray(o.got, np.float64), o.expected, o.got.dtype)
    if exact.all() or not close.all():
        return None
    return (f"not bit-exact, within bound: {int((~exact).sum())} averages differ from the correctly rounded "
            f"quotient by at most 2 ulp (a multiply by a rounded reciprocal, γ_2 = 2u)")


# --- convolution ------------------------------------------------------------------------------------

def _conv_exact(req: F.Request, pads) -> np.ndarray:
    xp = oracle.pad(req.x.astype(np.float64), list(pads))
    return oracle.conv(xp, req.w.astype(np.float64), None if req.b is None else req.b.astype(np.float64),
                       req.geo.stride, 0, req.geo.dilation, req.geo.groups)


def _same_pixel(o: Observation) -> str | None:
    req = o.req
    if not any(lo != hi for lo, hi in req.geo.pads):
        return None
    flipped = tuple((hi, lo) for lo, hi in req.geo.pads)
    alt = _conv_exact(req, flipped)
    if alt.shape == np.shape(o.got) and np.array_equal(np.asarray(o.got, np.float64), alt) \
            and not np.array_equal(alt, o.expected):
        return (f"puts the odd extra padding pixel on the other side: pads {flipped} instead of "
                f"{req.geo.pads} (torch's padding='same' and TF's SAME put it after)")
    return None


def _input_rounding(o: Observation) -> str | None:
    req = o.req
    if not _same_shape(o) or o.got.dtype != np.float32:
        return None
    args = {"stride": req.geo.stride, "padding": 0, "dilation": req.geo.dilation, "groups": req.geo.groups}
    xp = oracle.pad(req.x.astype(np.float64), list(req.geo.pads))
    err = np.abs(np.asarray(o.got, np.float64) - o.expected)
    if np.all(err <= oracle.error_bound(xp, req.w, req.b, dtype="float32", **args)):
        return None
    for rounding in ("tf32", "bfloat16"):
        if np.all(err <= oracle.error_bound(xp, req.w, req.b, dtype="float32", input_rounding=rounding, **args)):
            return (f"rounds the float32 inputs to {rounding} before multiplying (outside float32's bound, "
                    f"within {rounding}'s; e.g. TF32 is on by default for cuDNN convolutions)")
    return None


# --- Lp pooling and requantisation -----------------------------------------------------------------------

def _lp_absolute(o: Observation) -> str | None:
    req = o.req
    if not _same_shape(o) or not np.isfinite(req.opts["norm_type"]):
        return None
    g = req.geo
    alt = oracle.lp_pool(req.x.astype(np.float64), req.opts["norm_type"], g.kernel, g.stride, 0, 1, g.ceil_mode,
                         convention="onnx", torch_limits=False).reshape(np.shape(o.got))
    got = np.asarray(o.got, np.float64)
    wrong = _wrong(o) & ~(np.isnan(got) & np.isnan(o.expected))
    if not wrong.any() or not np.all(_quotient_close(got, alt, o.got.dtype) | (np.isnan(got) & np.isnan(alt))):
        return None
    return (f"computes (Σ|x|^p)^(1/p) over each window (ONNX LpPool: absolute values, and the plain sum at a "
            f"ceil_mode edge); torch's lp_pool is (K·avg(x^p))^(1/p) with no |·| ({int(wrong.sum())} outputs)")


def _float_requantize(o: Observation) -> str | None:
    """QLinearConv requantised in float32: ``rint(fl(acc)·fl(x_scale·w_scale/y_scale)) + y_zero_point``."""
    req = o.req
    q = o
    if not _same_shape(o):
        return None
    opts = req.opts
    acc = oracle.conv2d_integer(req.x, req.w, opts["x_zero_point"], opts["w_zero_point"], req.geo.stride,
                                list(req.geo.pads), req.geo.dilation, req.geo.groups).astype(np.int64)
    if req.b is not None:
        acc = acc + req.b.astype(np.int64).reshape(1, -1, 1, 1)
    ws = np.asarray(opts["w_scale"], np.float32).reshape(-1, 1, 1)
    m = (np.float32(opts["x_scale"]) * ws) / np.float32(opts["y_scale"])
    from ..oracle.integer import INT_RANGES
    lo, hi = INT_RANGES[np.asarray(q.got).dtype.name]
    zp = np.asarray(opts["y_zero_point"], np.int64).reshape(-1, 1, 1)
    alt = np.clip(np.rint(acc.astype(np.float32) * m.astype(np.float32)) + zp, lo, hi)
    wrong = np.asarray(o.got, np.float64) != o.expected
    if wrong.any() and np.array_equal(np.asarray(o.got, np.float64), alt.astype(np.float64)):
        return (f"requantizes in float32 (x_scale·w_scale/y_scale and acc·M each rounded to float32, then "
                f"rounded half to even), not with the exact rational scale: {int(wrong.sum())} outputs differ by 1")
    return None


CONVENTIONS: tuple[Convention, ...] = (
    Convention("nan-fmax", "NaN propagation in max pooling (fmax against max)", ("max_pool",),
               ("pytorch/pytorch#7645", "tensorflow/tensorflow#125965"), _nan_fmax),
    Convention("max-pad-value", "the padding value of max pooling (-inf against the lowest finite value)",
               ("max_pool",), ("onnx/onnx#4958",), _pad_value),
    Convention("ceil-last-window", "ceil_mode's rule for a last window that starts in the right padding",
               ("max_pool", "avg_pool"), ("PyTorch docs, MaxPool2d: ceil_mode", "onnx/onnx#5276"),
               _ceil_last_window),
    Convention("ceil-edge-divisor", "the average divisor at the ceil_mode edge", ("avg_pool",),
               ("onnx/onnx#5276",), _ceil_divisor),
    Convention("count-include-pad", "count_include_pad (torch includes the padding; ONNX and TF exclude it)",
               ("avg_pool",), ("PyTorch docs, AvgPool2d", "ONNX AveragePool: count_include_pad"),
               _count_include_pad),
    Convention("same-extra-pixel", "SAME padding's odd extra pixel (after in TF and torch)", ("conv",),
               ("TensorFlow docs, tf.nn: SAME padding", "PyTorch docs, Conv2d: padding='same'"), _same_pixel),
    Convention("input-rounding", "TF32 / bfloat16 rounding of float32 inputs", ("conv",),
               ("PyTorch docs, TensorFloat-32 (TF32) on Ampere devices",), _input_rounding),
    Convention("reciprocal-average", "reciprocal-multiply averaging (1-2 ulp): not bit-exact, within bound",
               ("avg_pool",), ("Higham (2002) §3.1",), _reciprocal),
    Convention("lp-absolute-sum", "Lp pooling as (Σ|x|^p)^(1/p) (ONNX LpPool) against torch's (K·avg(x^p))^(1/p)",
               ("lp_pool",), ("ONNX LpPool", "PyTorch docs, LPPool2d; torch.nn.functional.lp_pool2d source"),
               _lp_absolute),
    Convention("float-requantize", "QLinearConv's requantisation in float32 against the exact rational scale",
               ("qlinear_conv",), ("ONNX QLinearConv", "Jacob et al. (2018) §2.2"), _float_requantize),
)


def diagnose(op: str, args: tuple, kwargs: dict, got, expected) -> list[str]:
    """``'<id>: <sentence>'`` for every convention that explains how ``got`` departs from ``expected``."""
    family = F.SIGNATURES[op][0]
    family = family[len("adaptive_"):] if family.startswith("adaptive_") else family   # the pool it becomes
    o = Observation(op, tuple(args), dict(kwargs), np.asarray(got), np.asarray(expected, np.float64))
    out = []
    for c in CONVENTIONS:
        if family in c.families:
            msg = c.detect(o)
            if msg:
                out.append(f"{c.id}: {msg}")
    return out
