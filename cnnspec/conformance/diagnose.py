"""Name the convention a failing target follows instead of the spec's.

Each *convention* is the oracle with one documented departure (kernel flipped, padding on one
side, kH/kW transposed, output size rounded up, dilation ignored, ``count_include_pad`` inverted,
``ceil_mode`` ignored, …). A target follows a convention when, on every case of a failing batch,
its output equals that variant's bit for bit and differs from the spec's on at least one. "Your
conv2d computes a true convolution (kernel flipped)" says more than "mismatch at [0,0,1,2]".
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .. import oracle
from ..adapters._frontend import np_dtype      # bfloat16: ml_dtypes'
from ..spec.pooling import pool_geometry
from .isolation import Result

Variant = Callable[[dict], "np.ndarray | None"]


def conv_args(case: dict) -> dict:
    nd = len(case["size"])
    return {"stride": case["stride"], "padding": case["padding"], "dilation": case["dilation"],
            "groups": case["groups"]} if nd else {}


def _conv(case: dict, x=None, w=None, b="same", **over) -> np.ndarray:
    a = {**conv_args(case), **over}
    return oracle.conv(case["x"] if x is None else x, case["weight"] if w is None else w,
                       case["bias"] if isinstance(b, str) else b, a["stride"], a["padding"],
                       a["dilation"], a["groups"])


def _flip(case):
    nd = len(case["size"])
    return _conv(case, w=np.flip(case["weight"], axis=tuple(range(2, 2 + nd))))


def _one_side(high: bool) -> Variant:
    def variant(case):
        p = case["padding"]
        if not any(p):
            return None
        widths = [(0, 0), (0, 0)] + [((0, 2 * q) if high else (2 * q, 0)) for q in p]
        return _conv(case, x=np.pad(case["x"], widths), padding=0)
    return variant


def _khkw(case):
    w = case["weight"]
    if w.ndim != 4 or w.shape[2] == w.shape[3]:
        return None
    co, cg, kh, kw = w.shape
    wt = w.reshape(co, cg, kw, kh)       # the kernel read with its axes swapped
    try:
        return _conv(case, w=wt)
    except ValueError:
        return None


def _no_dilation(case):
    if all(d == 1 for d in case["dilation"]):
        return None
    return _conv(case, dilation=1)


def _no_dilation_strided(case):
    d = tuple(1 if s > 1 else d for s, d in zip(case["stride"], case["dilation"]))
    if d == tuple(case["dilation"]):
        return None
    return _conv(case, dilation=d)


def _last_aligned(case):
    """The last output along the last axis reads the window that ends at the padded input's end."""
    n, k, s, p, d = (case["size"][-1], case["kernel"][-1], case["stride"][-1], case["padding"][-1],
                     case["dilation"][-1])
    span = d * (k - 1) + 1
    if (n + 2 * p - span) % s == 0:
        return None
    y = _conv(case)
    widths = [(0, 0)] * (case["x"].ndim - 1) + [(p, p)]
    xp = np.pad(case["x"], widths)[..., n + 2 * p - span:]
    pads = tuple(case["padding"][:-1]) + (0,)
    strides = tuple(case["stride"][:-1]) + (1,)
    y[..., -1:] = _conv(case, x=xp, padding=pads, stride=strides)
    return y


def _ceil(case):
    """Output size ⌈(n + 2p − span)/s⌉ + 1: extra zero padding on the high side."""
    extra = []
    for n, k, s, p, d in zip(case["size"], case["kernel"], case["stride"], case["padding"],
                             case["dilation"]):
        extra.append((-(n + 2 * p - d * (k - 1) - 1)) % s)
    if not any(extra):
        return None
    x = np.pad(case["x"], [(0, 0), (0, 0)] + [(0, e) for e in extra])
    return _conv(case, x=x)


def _groups_mod(case):
    """Output channel o reads input group ``o mod g`` instead of ``o // (C_out/g)``."""
    g = case["groups"]
    co = case["C_out"]
    if g == 1 or co == g:
        return None
    order = np.array([(o % g) * (co // g) + o // g for o in range(co)])  # channel o computed as order[o]
    inv = np.argsort(order)
    y = _conv(case, w=case["weight"][inv], b=None if case["bias"] is None else case["bias"][inv])
    return y[:, order]


def _bias_first(case):
    if case["bias"] is None or case["x"].shape[0] == 1:
        return None
    y = _conv(case, b=None)
    y[0] += case["bias"].reshape(-1, *[1] * len(case["size"]))
    return y


CONV: list[tuple[str, Variant]] = [
    ("computes a true convolution (kernel flipped), not cross-correlation", _flip),
    ("pads on one side only (2p after the input, none before: SAME_UPPER-style)", _one_side(True)),
    ("pads on one side only (2p before the input, none after: SAME_LOWER-style)", _one_side(False)),
    ("reads the kernel as (kW, kH): kH/kW transposed", _khkw),
    ("ignores dilation where the stride is > 1", _no_dilation_strided),
    ("ignores dilation", _no_dilation),
    ("rounds the output size up (ceil) instead of down (floor)", _ceil),
    ("maps groups wrongly: output channel o reads group o mod groups", _groups_mod),
    ("adds the bias to the first sample only", _bias_first),
    ("aligns the last window to the end of the padded input (off by one on the last output)",
     _last_aligned),
]


def _pool(case, fn, **over):
    a = {"kernel_size": case["kernel"], "stride": case["stride"], "padding": case["padding"],
         "ceil_mode": case["ceil_mode"]}
    if fn is oracle.max_pool2d:
        a["dilation"] = case["dilation"]
    else:
        a["count_include_pad"] = case["count_include_pad"]
    a.update(over)
    return fn(case["x"], **a)


def _max_zero_pad(case):
    if not any(case["padding"]) and not case["ceil_mode"]:
        return None
    geo = pool_geometry(case["size"], case["kernel"], case["stride"], case["padding"],
                        case["dilation"], case["ceil_mode"])
    xp = oracle.pad(case["x"], geo.pads, 0.0)
    # zeros in the padding; positions beyond it (ceil-mode overhang) stay −inf
    mask = np.full(xp.shape[2:], -np.inf)
    mask[tuple(slice(0, n + 2 * p) for n, p in zip(case["size"], geo.padding))] = 0.0
    v = oracle.windows(xp + mask, geo.kernel, geo.stride, geo.dilation)
    return v.max(axis=(-2, -1))


def _flag(fn, name: str, value=None) -> Variant:
    def variant(case):
        new = (not case[name]) if value is None else value
        if new == case[name]:
            return None
        return _pool(case, fn, **{name: new})
    return variant


def _pool_no_dilation(case):
    if all(d == 1 for d in case["dilation"]):
        return None
    return _pool(case, oracle.max_pool2d, dilation=1)


def _stride_one(fn) -> Variant:
    def variant(case):
        if case["kwargs"].get("stride") is not None or case["kernel"] == (1, 1):
            return None
        return _pool(case, fn, stride=1)
    return variant


MAX_POOL: list[tuple[str, Variant]] = [
    ("pads with 0 instead of −inf", _max_zero_pad),
    ("ignores ceil_mode (always floor)", _flag(oracle.max_pool2d, "ceil_mode", False)),
    ("always uses ceil_mode", _flag(oracle.max_pool2d, "ceil_mode", True)),
    ("ignores dilation", _pool_no_dilation),
    ("reads stride=None as 1 instead of kernel_size", _stride_one(oracle.max_pool2d)),
]

AVG_POOL: list[tuple[str, Variant]] = [
    ("inverts count_include_pad", _flag(oracle.avg_pool2d, "count_include_pad")),
    ("ignores ceil_mode (always floor)", _flag(oracle.avg_pool2d, "ceil_mode", False)),
    ("always uses ceil_mode", _flag(oracle.avg_pool2d, "ceil_mode", True)),
    ("reads stride=None as 1 instead of kernel_size", _stride_one(oracle.avg_pool2d)),
]

VARIANTS = {"conv1d": CONV, "conv2d": CONV, "max_pool2d": MAX_POOL, "avg_pool2d": AVG_POOL}


def _same(got: np.ndarray, want: np.ndarray, exact: bool) -> bool:
    if got.shape != want.shape:
        return False
    if exact:
        return bool(np.all((got == want) | (np.isnan(got) & np.isnan(want))))
    return bool(np.allclose(got, want, rtol=1e-3, atol=1e-6, equal_nan=True))


def _max_conventions(expected: Callable[[dict], np.ndarray], dtype: str) -> list[tuple[str, Variant]]:
    """Max pooling's special-value conventions: padding with (or starting the maximum at) the
    dtype's lowest finite value instead of −inf, so that every −inf output becomes that value
    (ONNX Runtime's and TensorFlow's CPU kernels; onnx/onnx#4958); ignoring NaN (fmax, not IEEE
    max; pytorch/pytorch#7645, tensorflow/tensorflow#125965), so that a window's NaN entries count
    as −inf; and both."""
    low = float(np.finfo(np_dtype(dtype)).min)

    def fmax(case):
        x = np.asarray(case["x"], np.float64)
        return None if not np.isnan(x).any() else expected({**case, "x": np.where(np.isnan(x), -np.inf, x)})

    def both(case):
        y = fmax(case)
        return np.maximum(np.asarray(expected(case) if y is None else y, np.float64), low)

    lowest = f"pads (or starts) max pooling with the lowest finite value {low:.7g}, not −inf"
    nan = "ignores NaN in max pooling (fmax semantics; IEEE max and torch propagate it)"
    return [(lowest, lambda case: np.maximum(np.asarray(expected(case), np.float64), low)),
            (nan, fmax), (f"{nan}, and {lowest}", both)]


def diagnose(op: str, pairs: list[tuple[dict, Result]], expected: Callable[[dict], np.ndarray],
             exact: bool = True, dtype: str = "float64") -> str:
    """The first convention that explains every target output and the spec does not, or ``""``.

    ``exact=False`` (average pooling, whose division rounds differently across libraries) matches
    a variant to a relative 1e-3: loose enough for rounding, far tighter than any convention's effect.
    ``dtype``: the run's (the lowest finite value of max pooling's padding is the dtype's).
    """
    usable = [(c, r.value) for c, r in pairs if r.ok]
    if not usable:
        return ""
    variants = VARIANTS.get(op, []) + (_max_conventions(expected, dtype) if "max_pool" in op else [])
    for name, variant in variants:
        explains, differs = True, False
        for case, got in usable:
            try:
                alt = variant(case)
            except Exception:  # noqa: BLE001 - a variant that does not apply to this geometry
                alt = None
            if alt is None:
                alt = expected(case)
            else:
                differs = differs or not _same(alt, expected(case), True)
            if not _same(got, np.asarray(alt, np.float64), exact):
                explains = False
                break
        if explains and differs:
            return f"the target {name}"
    return ""


def diagnoser(expected: Callable[[dict], np.ndarray], exact: bool = True):
    """A :class:`~.properties.Property` ``diagnose`` hook over the first call of each case."""
    return lambda pairs, ctx: diagnose(ctx.op, [(c, r[0]) for c, r in pairs], expected, exact, ctx.dtype)


# --- the pooling family in 1-D to 3-D (cases of cnnspec.strategies.pool_nd_cases / adaptive_cases) ----
# Ties resolved to the last maximum change only the indices (return_indices), which the worker does
# not bring back: no value convention to name there.

from ..spec.pooling import window_counts  # noqa: E402 - with the family's variants it serves

def _nd_pool(case, **over) -> np.ndarray:
    """The oracle's pooling of the case, with some arguments changed (torch's limits lifted)."""
    a = {"kernel_size": case["kernel"], "stride": case["stride"], "padding": case["padding"],
         "ceil_mode": case["ceil_mode"], **over}
    if case["kind"] == "max":
        return oracle.max_pool(case["x"], dilation=a.pop("dilation", case["dilation"]), **a, torch_limits=False)
    return oracle.avg_pool(case["x"], count_include_pad=a.pop("count_include_pad", case["count_include_pad"]),
                           divisor_override=a.pop("divisor_override", case.get("divisor_override")), **a,
                           torch_limits=False)


def _nd_no_dilation(case):
    """Dilation ignored, the (dilated) output size kept: the undilated pooling cropped to it."""
    if all(d == 1 for d in case["dilation"]):
        return None
    want = pool_geometry(case["size"], case["kernel"], case["stride"], case["padding"], case["dilation"],
                         case["ceil_mode"], torch_limits=False).output_size
    y = _nd_pool(case, dilation=1)
    return y[(..., *(slice(0, m) for m in want))]


def _depth_stride_one(case):
    if len(case["size"]) != 3 or case["stride"][0] == 1:
        return None
    return _nd_pool(case, stride=(1, *case["stride"][1:]))


def _ceil_full_divisor(case):
    """count_include_pad divides by Πk even where a ceil-mode window overhangs the padded input."""
    if not (case["count_include_pad"] and case["ceil_mode"]) or case.get("divisor_override") is not None:
        return None
    return _nd_pool(case, divisor_override=int(np.prod(case["kernel"])))


def _include_pad_on(honoured: Callable[[int, int], bool]) -> Variant:
    """count_include_pad=False honoured on the axes ``a`` (of ``nd``) where ``honoured(a, nd)``
    only: the others still count the padding."""
    def variant(case):
        if case["count_include_pad"] or case.get("divisor_override") is not None:
            return None
        geo = pool_geometry(case["size"], case["kernel"], case["stride"], case["padding"], case["dilation"],
                            case["ceil_mode"])
        real, padded = window_counts(case["size"], geo, False), window_counts(case["size"], geo, True)
        nd = len(case["size"])
        counts = [r if honoured(a, nd) else p for a, (r, p) in enumerate(zip(real, padded))]
        sums = oracle.avg_pool_parts(case["x"], case["kernel"], case["stride"], case["padding"],
                                     case["ceil_mode"])[0]
        div = counts[0]
        for c in counts[1:]:
            div = np.multiply.outer(div, c)
        return np.asarray(sums, np.float64) / div
    return variant


def _override_ignored(case):
    if case.get("divisor_override") is None:
        return None
    return _nd_pool(case, divisor_override=None)


def _separable(x: np.ndarray, starts: list, ends: list, reduce) -> np.ndarray:
    """``reduce`` over box windows ``[starts[a][i], ends[a][i])``, one axis at a time (exact for max;
    for the mean of a box, means of means are the box's mean)."""
    for a, (s, e) in enumerate(zip(starts, ends)):
        ax = 2 + a
        x = np.stack([reduce(np.take(x, range(lo, hi), axis=ax), ax) for lo, hi in zip(s, e)], axis=ax)
    return x


def _adaptive_floor_end(case):
    """Adaptive windows ``[⌊i·n/m⌋, ⌊(i+1)·n/m⌋)`` (at least one entry) instead of torch's ceil end."""
    n, m = case["size"], case["output"]
    if all(a % b == 0 for a, b in zip(n, m)):
        return None
    starts = [[i * a // b for i in range(b)] for a, b in zip(n, m)]
    ends = [[max((i + 1) * a // b, i * a // b + 1) for i in range(b)] for a, b in zip(n, m)]
    red = (lambda w, ax: w.max(axis=ax)) if case["kind"] == "max" else (lambda w, ax: w.mean(axis=ax))
    return _separable(np.asarray(case["x"], np.float64), starts, ends, red)


def _adaptive_equal(case):
    """Adaptive windows of one size: kernel = stride = ⌊n/m⌋ (at least 1), cropped to m."""
    n, m = case["size"], case["output"]
    if all(a % b == 0 for a, b in zip(n, m)):
        return None
    k = tuple(max(a // b, 1) for a, b in zip(n, m))
    pool = oracle.max_pool if case["kind"] == "max" else oracle.avg_pool
    y = pool(case["x"], k, k)
    return y[(..., *(slice(0, b) for b in m))]


def _lp_abs(case):
    if case["norm_type"] in (2, 2.0) or not (case["x"] < 0).any():
        return None
    return oracle.lp_pool(np.abs(case["x"]), case["norm_type"], case["kernel"], case["stride"], 0, 1,
                          case["ceil_mode"])


def _lp_no_edge_scale(case):
    if not case["ceil_mode"]:
        return None
    s, _ = oracle.lp_pool_parts(case["x"], case["norm_type"], case["kernel"], case["stride"], 0, 1,
                                case["ceil_mode"])
    with np.errstate(invalid="ignore"):
        return np.power(np.asarray(s, np.float64), 1.0 / float(case["norm_type"]))


MAX_ND_POOL: list[tuple[str, Variant]] = [
    ("ignores dilation (the dilated output size kept)", _nd_no_dilation),
    ("strides the depth axis by 1 whatever the stride", _depth_stride_one),
]
AVG_ND_POOL: list[tuple[str, Variant]] = [
    ("divides by the full kernel Πk at the ceil-mode edge (count_include_pad counting the overhang)",
     _ceil_full_divisor),
    ("applies count_include_pad=False to the first axis only (the others count the padding)",
     _include_pad_on(lambda a, nd: a == 0)),
    ("applies count_include_pad=False to the last axis only (the others count the padding)",
     _include_pad_on(lambda a, nd: a == nd - 1)),
    ("ignores divisor_override", _override_ignored),
]
ADAPTIVE: list[tuple[str, Variant]] = [
    ("takes adaptive windows [⌊i·n/m⌋, ⌊(i+1)·n/m⌋) (floor end) instead of [⌊i·n/m⌋, ⌈(i+1)·n/m⌉)",
     _adaptive_floor_end),
    ("takes adaptive windows of equal size (kernel = stride = ⌊n/m⌋) instead of torch's", _adaptive_equal),
]
LP_POOL: list[tuple[str, Variant]] = [
    ("takes |x|^p (ONNX LpPool) instead of torch's x^p", _lp_abs),
    ("omits torch's K/count scale at the ceil-mode edge (the plain power sum)", _lp_no_edge_scale),
]
VARIANTS.update({"max_pool1d": MAX_ND_POOL, "max_pool3d": MAX_ND_POOL, "avg_pool1d": AVG_ND_POOL,
                 "avg_pool3d": AVG_ND_POOL, "lp_pool1d": LP_POOL, "lp_pool2d": LP_POOL,
                 **{f"adaptive_{k}_pool{d}d": ADAPTIVE for k in ("avg", "max") for d in (1, 2, 3)}})
VARIANTS["avg_pool2d"] = AVG_POOL + AVG_ND_POOL
# --- the convolution family: 3-D and transposed convolution ------------------------------------------

def _strides_dh_swapped(case):
    """A 3-D convolution that reads the stride's depth and height entries swapped."""
    s = case["stride"]
    if len(s) != 3 or s[0] == s[1]:
        return None
    return _conv(case, stride=(s[1], s[0], s[2]))


def _ct(case, w=None, **over) -> np.ndarray:
    a = {"stride": case["stride"], "padding": case["padding"], "output_padding": case["output_padding"],
         "groups": case["groups"], "dilation": case["dilation"], **over}
    return oracle.conv_transpose(case["x"], case["weight"] if w is None else w, case["bias"], **a)


def _ct_no_output_padding(case):
    return None if not any(case["output_padding"]) else _ct(case, output_padding=0)


def _ct_weight_as_direct(case):
    """The (C_in, C_out/g, *k) weight's memory read as a direct convolution's (C_out, C_in/g, *k):
    within each group the two channel axes are exchanged."""
    w, g = case["weight"], case["groups"]
    ci, cgo, *k = w.shape
    if min(ci // g, cgo) == 1:          # one of the axes has length 1: the misreading is harmless
        return None
    return _ct(case, w=w.reshape(g, cgo, ci // g, *k).swapaxes(1, 2).reshape(ci, cgo, *k))


def _ct_no_flip(case):
    nd = len(case["size"])
    return _ct(case, w=np.flip(case["weight"], axis=tuple(range(2, 2 + nd))))


def _ct_no_dilation(case):
    """Dilation 1, the output brought to its size with zeros at the end of each axis."""
    d, k = case["dilation"], case["kernel"]
    if all(v == 1 for v in d):
        return None
    y = _ct(case, dilation=1)
    return np.pad(y, [(0, 0), (0, 0)] + [(0, (di - 1) * (ki - 1)) for di, ki in zip(d, k)])


def _ct_crop_one_side(case):
    """The padding's 2p cropped from the end of each axis, none from the start."""
    p = case["padding"]
    if not any(p):
        return None
    return _ct(case, padding=[(0, 2 * q) for q in p])


TRANSPOSED: list[tuple[str, Variant]] = [
    ("drops output_padding (the extra high-side entries are never added)", _ct_no_output_padding),
    ("reads the weight's channel axes as a direct convolution's (C_out, C_in/groups), not "
     "(C_in, C_out/groups)", _ct_weight_as_direct),
    ("is lowered to a direct convolution without flipping the kernel", _ct_no_flip),
    ("ignores dilation (zeros appended to keep the output size)", _ct_no_dilation),
    ("crops the padding from the end only (2p after, none before)", _ct_crop_one_side),
]

def _same_odd_low(case):
    """padding='same' with the odd pixel of the total d(k−1) before the input (ONNX SAME_LOWER)."""
    if case["padding"] != "same":
        return None
    total = [d * (k - 1) for k, d in zip(case["kernel"], case["dilation"])]
    if all(t % 2 == 0 for t in total):
        return None
    return _conv(case, padding=[(t - t // 2, t // 2) for t in total])


def _pairs_lo_lo(case):
    """(lo, hi) pairs read as (lo, lo): the high side padded like the low one."""
    p = case["padding"]
    if isinstance(p, str) or not p or not isinstance(p[0], tuple) or all(lo == hi for lo, hi in p):
        return None
    return _conv(case, padding=[(lo, lo) for lo, _ in p])


CONV += [   # the padding forms of the convolutions (padding='same' and (lo, hi) pairs)
    ("puts the odd pixel of padding='same' before the input (SAME_LOWER), not after", _same_odd_low),
    ("reads (lo, hi) padding as (lo, lo)", _pairs_lo_lo),
]

VARIANTS.update({"conv3d": CONV + [("reads the depth and height strides swapped", _strides_dh_swapped)],
                 "conv_transpose1d": TRANSPOSED, "conv_transpose2d": TRANSPOSED,
                 "conv_transpose3d": TRANSPOSED})


# --- pad ---------------------------------------------------------------------------------------------

def _pad_widths(case) -> list[tuple[int, int]]:
    return [(0, 0)] * (case["x"].ndim - len(case["pairs"])) + list(case["pairs"])


def _reflect_with_edge(case):
    """'reflect' as NumPy's 'symmetric': the edge entry repeated in the mirror image."""
    if case["mode"] != "reflect" or not any(map(any, case["pairs"])):
        return None
    return np.pad(case["x"], _pad_widths(case), mode="symmetric")


def _pad_tuple_from_first_axis(case):
    """The flat pad tuple read from the first padded axis, not the last."""
    pairs = list(case["pairs"])
    if pairs == pairs[::-1]:
        return None
    return oracle.functional_pad(case["x"], tuple(v for p in pairs for v in p), case["mode"], case["value"])


def _circular_widths_swapped(case):
    """'circular' that wraps each side with the other side's width, then rolls to look right."""
    if case["mode"] != "circular" or all(lo == hi for lo, hi in case["pairs"]):
        return None
    flat = tuple(case["pad"])
    y = oracle.functional_pad(case["x"], tuple(flat[i ^ 1] for i in range(len(flat))), "circular")
    for i in range(len(flat) // 2):
        y = np.roll(y, flat[2 * i] - flat[2 * i + 1], axis=y.ndim - 1 - i)
    return y


VARIANTS["pad"] = [
    ("reflects with the edge repeated (NumPy's 'symmetric'), not without it", _reflect_with_edge),
    ("reads the pad tuple from the first padded axis instead of the last", _pad_tuple_from_first_axis),
    ("wraps circular padding with each side's width swapped", _circular_widths_swapped),
]
