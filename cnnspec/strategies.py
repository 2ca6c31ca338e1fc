"""Public hypothesis strategies: op parameters and exact-tier data, biased to where kernels break.

Every strategy takes keyword-only bounds with documented defaults; a bad bound raises
``hypothesis.errors.InvalidArgument`` naming the argument and its value. Draws are plain dicts, so
third parties can use them in their own test suites::

    from hypothesis import given
    from cnnspec.strategies import conv_cases
    @given(conv_cases(ndim=2))
    def test_my_conv(case):
        assert (my_conv2d(case["x"], case["weight"], case["bias"], **case["kwargs"])
                == cnnspec.oracle.conv2d(case["x"], case["weight"], case["bias"], **case["kwargs"])).all()

The edges: non-square kernels, stride > 1 with dilation > 1, padding near kernel/2, sizes not
divisible by the stride, groups > 1, N > 1, C_in > 1, all-negative inputs, NaN and ±inf for max
pooling, ceil_mode windows that start in the padding, arguments left at their defaults
(pooling's ``stride=None``). Integer data come with an *exactness certificate*: every partial sum
of the reduction is an integer below ``2^p`` of the target dtype (:data:`cnnspec.oracle.PRECISION`).

Profiles, registered on import and selectable with hypothesis's own pytest option
``--hypothesis-profile`` (or ``settings.load_profile``): ``cnnspec-ci`` (40 examples, derandomized:
the project's test suite uses it) and ``cnnspec-thorough`` (1,000 examples).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .oracle import PRECISION
from .spec.pooling import pool_output_size

PROFILES = {"cnnspec-ci": 40, "cnnspec-thorough": 1000}   # name: max_examples
settings.register_profile("cnnspec-ci", max_examples=PROFILES["cnnspec-ci"], deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("cnnspec-thorough", max_examples=PROFILES["cnnspec-thorough"], deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])


def _check(**bounds: int) -> None:
    """Each bound a positive int; ``min_x <= max_x`` pairs named in the error."""
    for name, v in bounds.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < (0 if name.endswith("padding") else 1):
            raise InvalidArgument(f"{name}={v!r} must be a positive integer")
    for name, v in bounds.items():
        if name.startswith("min_") and f"max_{name[4:]}" in bounds and v > bounds[f"max_{name[4:]}"]:
            raise InvalidArgument(f"{name}={v} is larger than max_{name[4:]}={bounds[f'max_{name[4:]}']}")


# Strategy objects are built once per distinct argument (lru_cache) and reused across draws:
# hypothesis validates a strategy object and computes its label on its first draw, which for
# strategies built afresh inside a composite on every draw cost about as much as the draws
# themselves. A reused object draws exactly what a new one with the same arguments would (the
# same choices, the same labels), so the cases drawn for a seed do not change.
_SEEDS = st.integers(0, 2 ** 32 - 1)
_SIGNS = st.sampled_from(["mixed", "mixed", "negative", "positive"])
_NORMS = st.sampled_from([1, 2, 3, 2.0])


# Builders of composite strategies, cached on their (hashable) arguments: public strategies
# called inside other composites (conv_params in a claim's own composite) come back as the
# same object each draw.
_reused = lru_cache(maxsize=None)
_FILLS = st.none() | st.integers(-3, 3)


@lru_cache(maxsize=None)
def _sampled(values: tuple) -> st.SearchStrategy:
    """``st.sampled_from(list(values))``, built once."""
    return st.sampled_from(list(values))


@lru_cache(maxsize=None)
def _modes(modes: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.sampled_from(modes)


@lru_cache(maxsize=None)
def _sampled_or_just(values: tuple, last: int) -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from(list(values)), st.just(last))


@lru_cache(maxsize=None)
def _or_just(first: int, lo: int, hi: int, small: bool = False) -> st.SearchStrategy[int]:
    """``first``, or an int in ``[lo, hi]`` (:func:`_small`'s when ``small``), as
    ``st.one_of(st.just(first), ...)`` draws them."""
    return st.one_of(st.just(first), _small(lo, hi) if small else st.integers(lo, hi))


@lru_cache(maxsize=None)
def _small(lo: int, hi: int) -> st.SearchStrategy[int]:
    """An int in [lo, hi], half the time the low end or 2 (where off-by-ones live)."""
    edges = sorted({lo, min(max(lo, 2), hi), hi})
    return st.one_of(st.sampled_from(edges), st.integers(lo, hi))


@lru_cache(maxsize=None)
def _form(values: tuple[int, ...], default: int | None) -> st.SearchStrategy:
    """How an argument is passed: left out (at its default), one int, or a tuple."""
    forms = [st.just(values)]
    if len(set(values)) == 1:
        forms.append(st.just(values[0]))
        if default is not None and values[0] == default:
            forms.append(st.just(None))
    return st.one_of(forms)


def _call_form(draw, groups: int, args) -> dict:
    """The call's keyword arguments: each ``(name, values, default)`` in a :func:`_form`, and
    ``groups`` (always when > 1)."""
    kw = {}
    for name, vals, default in args:
        v = draw(_form(tuple(vals), default))
        if v is not None:
            kw[name] = v
    if groups > 1 or draw(st.booleans()):
        kw["groups"] = groups
    return kw


def conv_params(*, ndim: int = 2, min_batch: int = 1, max_batch: int = 3, max_channels: int = 4,
                min_groups: int = 1, max_groups: int = 3, min_side: int = 1, max_side: int = 9,
                max_kernel: int = 4, max_stride: int = 3, max_dilation: int = 3,
                max_padding: int = 3) -> st.SearchStrategy[dict]:
    """A convolution geometry: ``{"N", "C_in", "C_out", "groups", "size", "kernel", "stride",
    "padding", "dilation", "kwargs"}``; ``kwargs`` is the call form (defaults sometimes left out).

    Defaults: batch 1–3, channels ≤ 4, groups 1–3, sides 1–9 (never smaller than the dilated
    kernel needs), kernel ≤ 4, stride ≤ 3, dilation ≤ 3, padding ≤ 3.
    """
    _check(ndim=ndim, min_batch=min_batch, max_batch=max_batch, max_channels=max_channels,
           min_groups=min_groups, max_groups=max_groups, min_side=min_side, max_side=max_side,
           max_kernel=max_kernel, max_stride=max_stride, max_dilation=max_dilation,
           max_padding=max_padding)
    if ndim not in (1, 2):
        raise InvalidArgument(f"ndim={ndim} must be 1 or 2")
    if min_groups > max_channels:
        raise InvalidArgument(f"min_groups={min_groups} is larger than max_channels={max_channels}")
    return _conv_params(ndim, min_batch, max_batch, max_channels, min_groups, max_groups, min_side,
                        max_side, max_kernel, max_stride, max_dilation, max_padding)


@_reused
@st.composite
def _conv_params(draw, ndim, min_batch, max_batch, max_channels, min_groups, max_groups, min_side,
                 max_side, max_kernel, max_stride, max_dilation, max_padding) -> dict:
    g = draw(_small(min_groups, max_groups))
    cin = g * draw(_small(1, max(1, max_channels // g)))
    cout = g * draw(_small(1, max(1, max_channels // g)))
    k, s, d, p, n = [], [], [], [], []
    for _ in range(ndim):
        ki = draw(_small(1, max_kernel))
        di = draw(_small(1, max_dilation)) if ki > 1 else 1
        span = di * (ki - 1) + 1
        pi = draw(_or_just(min(span // 2, max_padding), 0, max_padding, small=True))
        si = draw(_small(1, max_stride))
        lo = max(min_side, span - 2 * pi, 1)
        ni = draw(st.integers(lo, max(lo, max_side)))
        k.append(ki); s.append(si); d.append(di); p.append(pi); n.append(ni)
    kw = _call_form(draw, g, (("stride", s, 1), ("padding", p, 0), ("dilation", d, 1)))
    return {"N": draw(_small(min_batch, max_batch)), "C_in": cin, "C_out": cout, "groups": g,
            "size": tuple(n), "kernel": tuple(k), "stride": tuple(s), "padding": tuple(p),
            "dilation": tuple(d), "kwargs": kw}


def exact_bounds(choices, terms: int, dtype: str, power: int = 1) -> list[int]:
    """The magnitudes ``b`` of ``choices`` for which a sum of ``terms`` entries ``|x|^power <= b^power``
    stays an integer of ``dtype`` in any order of summation (``terms·b^power <= 2^p``; bfloat16:
    2^8), the smallest choice when none does."""
    fit = [b for b in choices if terms * b ** power <= 2 ** PRECISION[dtype]]
    return fit or [min(choices)]


def int_arrays(shape, *, bound: int, sign: str = "mixed") -> st.SearchStrategy[np.ndarray]:
    """Integer-valued float64 arrays in ``[-bound, bound]``; ``sign`` ``mixed|negative|positive``.

    Drawn from a seed (fast to generate; hypothesis shrinks the seed, the bound and the shape).
    """
    _check(bound=bound)
    if sign not in ("mixed", "negative", "positive"):
        raise InvalidArgument(f"sign={sign!r} must be 'mixed', 'negative' or 'positive'")
    lo, hi = {"mixed": (-bound, bound), "negative": (-bound, -1), "positive": (1, bound)}[sign]
    return _int_arrays(shape if isinstance(shape, int) else tuple(shape), lo, hi)


@lru_cache(maxsize=4096)
def _int_arrays(shape, lo: int, hi: int) -> st.SearchStrategy[np.ndarray]:
    return _SEEDS.map(
        lambda seed: np.random.default_rng(seed).integers(lo, hi + 1, shape).astype(np.float64))


def _magnitudes(draw, taps: int, dtype: str, with_bias: bool) -> tuple[int, int, int]:
    """``(max|x|, max|w|, max|b|)`` with ``K·mx·mw + mb < 2^p``: the exactness certificate."""
    if dtype not in PRECISION:
        raise InvalidArgument(f"dtype={dtype!r} is not one of {sorted(PRECISION)}")
    limit = 2 ** PRECISION[dtype] - 1
    room = max((limit - 1) // max(taps, 1), 1)     # leaves at least 1 for the bias
    mw = draw(_sampled(tuple(sorted({1, min(2, room), min(4, room), min(8, room)}))))
    mx_cap = max(room // mw, 1)
    mx = draw(_sampled_or_just(tuple(sorted({1, min(3, mx_cap), min(16, mx_cap)})),
                               mx_cap))  # the last: partial sums right at the certificate's edge
    mb = max(min(limit - taps * mx * mw, 64), 1) if with_bias else 0
    return mx, mw, mb


def conv_cases(*, ndim: int = 2, dtype: str = "float32", bias: bool | None = None,
               **bounds) -> st.SearchStrategy[dict]:
    """A geometry (:func:`conv_params`, which takes ``bounds``) with certified integer data
    ``x``, ``weight``, ``bias`` (``None`` when left out; ``bias=True``/``False`` forces it) and the
    certificate ``cert = (K, max|x|, max|w|, max|b|)`` for ``dtype``: ``K·mx·mw + mb < 2^p``."""
    if dtype not in PRECISION:
        raise InvalidArgument(f"dtype={dtype!r} is not one of {sorted(PRECISION)}")
    return _conv_cases(conv_params(ndim=ndim, **bounds), dtype, bias)


@_reused
@st.composite
def _conv_cases(draw, params, dtype: str, bias: bool | None) -> dict:
    geo = draw(params)
    taps = geo["C_in"] // geo["groups"] * math.prod(geo["kernel"])
    with_bias = draw(st.booleans()) if bias is None else bias
    mx, mw, mb = _magnitudes(draw, taps, dtype, with_bias)
    sign = draw(_SIGNS)
    x = draw(int_arrays((geo["N"], geo["C_in"], *geo["size"]), bound=mx, sign=sign))
    w_shape = geo.get("weight_shape") or (geo["C_out"], geo["C_in"] // geo["groups"], *geo["kernel"])
    w = draw(int_arrays(w_shape, bound=mw))
    b = draw(int_arrays((geo["C_out"],), bound=max(mb, 1))) if with_bias else None
    return {**geo, "x": x, "weight": w, "bias": b, "cert": (taps, mx, mw, mb)}


def round_to(a: np.ndarray, dtype: str) -> np.ndarray:
    """``a`` rounded (to nearest even) to ``dtype`` and held in float64; bfloat16 and TF32
    (float32 with a 10-bit fraction, as NVIDIA tensor cores read it) without torch."""
    if dtype in ("bfloat16", "tf32"):        # keep 7 or 10 of float32's 23 fraction bits
        drop = 16 if dtype == "bfloat16" else 13
        u = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
        u = (u + (1 << (drop - 1)) - 1 + ((u >> drop) & 1)) & (0xFFFFFFFF ^ ((1 << drop) - 1))
        return u.astype(np.uint32).view(np.float32).astype(np.float64)
    return np.asarray(a).astype(dtype).astype(np.float64)


def float_arrays(shape, *, dtype: str = "float32", scale: float = 1.0) -> st.SearchStrategy[np.ndarray]:
    """General float data representable in ``dtype`` (for the bound tier), drawn from a seed."""
    return _float_arrays(shape if isinstance(shape, int) else tuple(shape), dtype, scale)


@lru_cache(maxsize=4096)
def _float_arrays(shape, dtype: str, scale: float) -> st.SearchStrategy[np.ndarray]:
    return _SEEDS.map(
        lambda seed: round_to(np.random.default_rng(seed).standard_normal(shape) * scale, dtype))


def pool_params(*, kind: str = "max", max_batch: int = 2, max_channels: int = 3, min_side: int = 1,
                max_side: int = 9, max_kernel: int = 4, max_stride: int = 4,
                max_dilation: int = 3) -> st.SearchStrategy[dict]:
    """A pooling geometry under PyTorch's rules (``padding <= kernel_size // 2``, output >= 1):
    ``{"N", "C", "size", "kernel", "stride" (None = kernel), "padding", "dilation", "ceil_mode",
    "count_include_pad", "kwargs"}``. ``kind`` is ``"max"`` or ``"avg"`` (no dilation)."""
    _check(max_batch=max_batch, max_channels=max_channels, min_side=min_side, max_side=max_side,
           max_kernel=max_kernel, max_stride=max_stride, max_dilation=max_dilation)
    if kind not in ("max", "avg"):
        raise InvalidArgument(f"kind={kind!r} must be 'max' or 'avg'")
    return _pool_params(kind, max_batch, max_channels, min_side, max_side, max_kernel, max_stride,
                        max_dilation)


@_reused
@st.composite
def _pool_params(draw, kind, max_batch, max_channels, min_side, max_side, max_kernel, max_stride,
                 max_dilation) -> dict:
    k = tuple(draw(_small(1, max_kernel)) for _ in range(2))
    stride_none = draw(st.booleans())
    s = k if stride_none else tuple(draw(_small(1, max_stride)) for _ in range(2))
    d = tuple(draw(_small(1, max_dilation)) if kind == "max" and ki > 1 else 1 for ki in k)
    p = tuple(draw(_or_just(ki // 2, 0, ki // 2)) for ki in k)
    ceil = draw(st.booleans())
    n = []
    for ki, si, pi, di in zip(k, s, p, d):
        lo = max(min_side, di * (ki - 1) + 1 - 2 * pi, 1)
        ni = draw(st.integers(lo, max(lo, max_side)))
        if pool_output_size(ni, ki, si, pi, di, ceil) < 1:
            ni = di * (ki - 1) + 1
        n.append(ni)
    kw: dict = {"kernel_size": draw(_form(k, None)) if len(set(k)) == 1 else k}
    if not stride_none or draw(st.booleans()):
        kw["stride"] = None if stride_none else draw(_form(s, None))
    for name, vals, default in (("padding", p, 0), ("dilation", d, 1)):
        if kind == "avg" and name == "dilation":
            continue
        v = draw(_form(vals, default))
        if v is not None:
            kw[name] = v
    if ceil or draw(st.booleans()):
        kw["ceil_mode"] = ceil
    cip = True
    if kind == "avg":
        cip = draw(st.booleans())
        if not cip or draw(st.booleans()):
            kw["count_include_pad"] = cip
    return {"N": draw(_small(1, max_batch)), "C": draw(_small(1, max_channels)), "size": tuple(n),
            "kernel": k, "stride": s, "padding": p, "dilation": d, "ceil_mode": ceil,
            "count_include_pad": cip, "kwargs": kw}


def pool_cases(*, kind: str = "max", special: bool = False, bound: int = 9,
               **bounds) -> st.SearchStrategy[dict]:
    """A pooling geometry (:func:`pool_params`) with integer data in ``[-bound, bound]``;
    ``special`` sprinkles NaN, +inf and −inf (for max pooling)."""
    _check(bound=bound)
    return _pool_cases(pool_params(kind=kind, **bounds), special, bound)


@_reused
@st.composite
def _pool_cases(draw, params, special: bool, bound: int) -> dict:
    geo = draw(params)
    sign = draw(_SIGNS)
    x = draw(int_arrays((geo["N"], geo["C"], *geo["size"]), bound=bound, sign=sign))
    if special:
        mask = np.random.default_rng(draw(_SEEDS)).integers(0, 6, x.shape)
        x = np.where(mask == 1, np.nan, np.where(mask == 2, np.inf, np.where(mask == 3, -np.inf, x)))
    return {**geo, "x": x}


# --- the pooling family in 1-D to 3-D: max, avg (divisor_override), Lp, adaptive ----------------------

POOL_KINDS = ("max", "avg", "lp")


def pool_nd_params(*, ndim: int = 1, kind: str = "max", max_batch: int = 2, max_channels: int = 2,
                   min_side: int = 1, max_side: int = 9, max_kernel: int = 3, max_stride: int = 3,
                   max_dilation: int = 2, over_half: bool = False,
                   divisor_override: bool = False) -> st.SearchStrategy[dict]:
    """A pooling geometry in ``ndim`` (1–3) dimensions, keys as :func:`pool_params`.

    ``kind``: ``"max"`` (dilation), ``"avg"`` (``count_include_pad``; ``divisor_override`` draws one
    in 1–9 and passes it, ndim 2 and 3 only, as torch), ``"lp"`` (``norm_type`` 1, 2 or 3; no
    padding or dilation, as ``torch.nn.functional.lp_pool1d/2d``). ``over_half`` draws padding over
    half the kernel (``k//2 < p < k``; no ceil_mode or dilation, so every window holds a real
    entry): mathematically defined, outside torch's limits. Defaults: batch ≤ 2, channels ≤ 2,
    sides 1–9, kernel ≤ 3, stride ≤ 3, dilation ≤ 2.
    """
    _check(ndim=ndim, max_batch=max_batch, max_channels=max_channels, min_side=min_side,
           max_side=max_side, max_kernel=max_kernel, max_stride=max_stride, max_dilation=max_dilation)
    if ndim > 3:
        raise InvalidArgument(f"ndim={ndim} must be 1, 2 or 3")
    if kind not in POOL_KINDS:
        raise InvalidArgument(f"kind={kind!r} must be one of {POOL_KINDS}")
    if over_half and (kind == "lp" or max_kernel < 3):
        raise InvalidArgument(f"over_half={over_half!r} needs kind 'max' or 'avg' and max_kernel >= 3 "
                              f"(got kind={kind!r}, max_kernel={max_kernel})")
    if divisor_override and (kind != "avg" or ndim == 1):
        raise InvalidArgument(f"divisor_override={divisor_override!r} needs kind 'avg' and ndim 2 or 3 "
                              f"(got kind={kind!r}, ndim={ndim})")
    return _pool_nd_params(ndim, kind, max_batch, max_channels, min_side, max_side, max_kernel,
                           max_stride, max_dilation, over_half, divisor_override)


@_reused
@st.composite
def _pool_nd_params(draw, nd, kind, max_batch, max_channels, min_side, max_side, max_kernel,
                    max_stride, max_dilation, over_half, divisor_override) -> dict:
    lo_k = 3 if over_half else 1
    k = tuple(draw(_small(lo_k, max(lo_k, max_kernel))) for _ in range(nd))
    stride_none = draw(st.booleans())
    s = k if stride_none else tuple(draw(_small(1, max_stride)) for _ in range(nd))
    d = tuple(draw(_small(1, max_dilation)) if kind == "max" and ki > 1 and not over_half else 1
              for ki in k)
    if kind == "lp":
        p = (0,) * nd
    elif over_half:
        p = tuple(draw(st.integers(ki // 2 + 1, ki - 1)) for ki in k)
    else:
        p = tuple(draw(_or_just(ki // 2, 0, ki // 2)) for ki in k)
    ceil = False if over_half else draw(st.booleans())
    n = []
    for ki, si, pi, di in zip(k, s, p, d):
        # torch's avg_pool3d also wants every side >= the kernel ("input image smaller than kernel size")
        lo = max(min_side, di * (ki - 1) + 1 - 2 * pi, ki if kind == "avg" and nd == 3 else 1)
        ni = draw(st.integers(lo, max(lo, max_side)))
        if pool_output_size(ni, ki, si, pi, di, ceil) < 1:
            ni = di * (ki - 1) + 1
        n.append(ni)
    kw: dict = {}
    if kind == "lp":
        kw["norm_type"] = draw(_NORMS)
    if kind == "lp" and nd == 1:
        kw["kernel_size"] = k[0]          # lp_pool1d multiplies by kernel_size: an int only
    else:
        kw["kernel_size"] = draw(_form(k, None)) if len(set(k)) == 1 else k
    if not stride_none or draw(st.booleans()):
        kw["stride"] = None if stride_none else draw(_form(s, None))
    names = () if kind == "lp" else (("padding", p, 0),) + ((("dilation", d, 1),) if kind == "max" else ())
    for name, vals, default in names:
        v = draw(_form(vals, default))
        if v is not None:
            kw[name] = v
    if ceil or draw(st.booleans()):
        kw["ceil_mode"] = ceil
    cip, override = True, None
    if kind == "avg":
        cip = draw(st.booleans())
        if not cip or draw(st.booleans()):
            kw["count_include_pad"] = cip
        if divisor_override:
            override = kw["divisor_override"] = draw(_small(1, 9))
    return {"N": draw(_small(1, max_batch)), "C": draw(_small(1, max_channels)), "size": tuple(n),
            "kernel": k, "stride": s, "padding": p, "dilation": d, "ceil_mode": ceil,
            "count_include_pad": cip, "divisor_override": override,
            "norm_type": kw.get("norm_type"), "kind": kind, "kwargs": kw}


def pool_nd_cases(*, special: bool = False, bound: int = 9, **params) -> st.SearchStrategy[dict]:
    """A geometry (:func:`pool_nd_params`, which takes ``params``) with integer data in
    ``[-bound, bound]`` (Lp pooling: ``[-4, 4]``, so every power sum is exact in float32);
    ``special`` sprinkles NaN, +inf and −inf (for max pooling)."""
    _check(bound=bound)
    if special and params.get("kind", "max") != "max":
        raise InvalidArgument(f"special={special!r} needs kind 'max' (got kind={params.get('kind')!r})")
    geo = pool_nd_params(**params)
    return _pool_cases(geo, special, min(bound, 4) if params.get("kind") == "lp" else bound)


def adaptive_params(*, ndim: int = 1, max_batch: int = 2, max_channels: int = 2, min_side: int = 1,
                    max_side: int = 9, max_extra: int = 2) -> st.SearchStrategy[dict]:
    """An adaptive pooling geometry: ``{"N", "C", "size", "output" (ints), "kwargs"}`` with output
    sizes 1 to ``n + max_extra`` (larger than the input is allowed: windows of 1 or 2 repeat),
    passed as an int, a tuple, or with ``None`` entries (keep that axis's size), as torch allows."""
    _check(ndim=ndim, max_batch=max_batch, max_channels=max_channels, min_side=min_side,
           max_side=max_side)
    if ndim > 3:
        raise InvalidArgument(f"ndim={ndim} must be 1, 2 or 3")
    if not isinstance(max_extra, int) or max_extra < 0:
        raise InvalidArgument(f"max_extra={max_extra!r} must be a non-negative integer")
    return _adaptive_params(ndim, max_batch, max_channels, min_side, max_side, max_extra)


@_reused
@st.composite
def _adaptive_params(draw, nd, max_batch, max_channels, min_side, max_side, max_extra) -> dict:
    n = tuple(draw(_small(min_side, max(min_side, max_side))) for _ in range(nd))
    m = tuple(draw(_or_just(1, 1, ni + max_extra)) for ni in n)
    out = draw(_form(m, None)) if len(set(m)) == 1 else m
    if not isinstance(out, int) and nd > 1 and draw(st.booleans()):
        a = draw(st.integers(0, nd - 1))                  # None keeps the input size on that axis
        out, m = out[:a] + (None,) + out[a + 1:], m[:a] + (n[a],) + m[a + 1:]
    return {"N": draw(_small(1, max_batch)), "C": draw(_small(1, max_channels)), "size": n,
            "output": m, "kwargs": {"output_size": out}}


def adaptive_cases(*, special: bool = False, bound: int = 9, **params) -> st.SearchStrategy[dict]:
    """An adaptive geometry (:func:`adaptive_params`) with integer data in ``[-bound, bound]``."""
    _check(bound=bound)
    return _pool_cases(adaptive_params(**params), special, bound)


# --- the convolution family: 3-D and transposed convolution ------------------------------------------

def conv3d_cases(*, dtype: str = "float32", bias: bool | None = None, min_batch: int = 1,
                 max_batch: int = 2, max_channels: int = 4, min_groups: int = 1, max_groups: int = 2,
                 min_side: int = 1, max_side: int = 5, max_kernel: int = 3, max_stride: int = 2,
                 max_dilation: int = 2, max_padding: int = 2) -> st.SearchStrategy[dict]:
    """A 3-D convolution geometry (the keys of :func:`conv_params`, three spatial axes) with
    certified integer data, as :func:`conv_cases`.

    Defaults are smaller than 2-D's (sides ≤ 5, kernel ≤ 3, stride and dilation ≤ 2, batch ≤ 2):
    a 3-D case multiplies three axes, and small volumes keep a claim's run short.
    """
    _check(min_batch=min_batch, max_batch=max_batch, max_channels=max_channels, min_groups=min_groups,
           max_groups=max_groups, min_side=min_side, max_side=max_side, max_kernel=max_kernel,
           max_stride=max_stride, max_dilation=max_dilation, max_padding=max_padding)
    if dtype not in PRECISION:
        raise InvalidArgument(f"dtype={dtype!r} is not one of {sorted(PRECISION)}")
    if min_groups > max_channels:
        raise InvalidArgument(f"min_groups={min_groups} is larger than max_channels={max_channels}")
    geo = _conv_params(3, min_batch, max_batch, max_channels, min_groups, max_groups, min_side,
                       max_side, max_kernel, max_stride, max_dilation, max_padding)
    return _conv_cases(geo, dtype, bias)


def conv_transpose_params(*, ndim: int = 2, min_batch: int = 1, max_batch: int = 2,
                          max_channels: int = 4, min_groups: int = 1, max_groups: int = 2,
                          min_side: int = 1, max_side: int = 5, max_kernel: int = 3,
                          max_stride: int = 3, max_dilation: int = 2,
                          max_padding: int = 2) -> st.SearchStrategy[dict]:
    """A transposed-convolution geometry: ``{"N", "C_in", "C_out", "groups", "size", "kernel",
    "stride", "padding", "output_padding", "dilation", "out_size", "weight_shape", "kwargs"}``;
    the weight is ``(C_in, C_out/groups, *kernel)`` and the output size per axis
    ``(n − 1)s − 2p + d(k − 1) + output_padding + 1 ≥ 1`` (PyTorch ``ConvTranspose2d`` docs;
    Dumoulin & Visin 2016, §4). ``output_padding < max(stride, dilation)``, often at its largest.

    Defaults: batch 1–2, channels ≤ 4, groups 1–2, input sides 1–5 (3-D: pass a smaller
    ``max_side``), kernel ≤ 3, stride ≤ 3, dilation ≤ 2, padding ≤ 2.
    """
    _check(ndim=ndim, min_batch=min_batch, max_batch=max_batch, max_channels=max_channels,
           min_groups=min_groups, max_groups=max_groups, min_side=min_side, max_side=max_side,
           max_kernel=max_kernel, max_stride=max_stride, max_dilation=max_dilation,
           max_padding=max_padding)
    if ndim not in (1, 2, 3):
        raise InvalidArgument(f"ndim={ndim} must be 1, 2 or 3")
    if min_groups > max_channels:
        raise InvalidArgument(f"min_groups={min_groups} is larger than max_channels={max_channels}")
    return _conv_transpose_params(ndim, min_batch, max_batch, max_channels, min_groups, max_groups,
                                  min_side, max_side, max_kernel, max_stride, max_dilation, max_padding)


@_reused
@st.composite
def _conv_transpose_params(draw, ndim, min_batch, max_batch, max_channels, min_groups, max_groups,
                           min_side, max_side, max_kernel, max_stride, max_dilation, max_padding) -> dict:
    g = draw(_small(min_groups, max_groups))
    cin = g * draw(_small(1, max(1, max_channels // g)))
    cout = g * draw(_small(1, max(1, max_channels // g)))
    k, s, d, p, a, n, m = [], [], [], [], [], [], []
    for _ in range(ndim):
        ki = draw(_small(1, max_kernel))
        si = draw(_small(1, max_stride))
        di = draw(_small(1, max_dilation)) if ki > 1 else 1
        pi = draw(_small(0, max_padding))
        top = max(si, di) - 1
        ai = draw(_or_just(top, 0, top))
        # the smallest input whose output is not empty: (n − 1)s ≥ 2p − d(k − 1) − a
        lo = max(min_side, 1 + max(0, -(-(2 * pi - di * (ki - 1) - ai) // si)))
        ni = draw(st.integers(lo, max(lo, max_side)))
        k.append(ki); s.append(si); d.append(di); p.append(pi); a.append(ai); n.append(ni)
        m.append((ni - 1) * si - 2 * pi + di * (ki - 1) + ai + 1)
    kw = _call_form(draw, g, (("stride", s, 1), ("padding", p, 0), ("output_padding", a, 0),
                              ("dilation", d, 1)))
    return {"N": draw(_small(min_batch, max_batch)), "C_in": cin, "C_out": cout, "groups": g,
            "size": tuple(n), "kernel": tuple(k), "stride": tuple(s), "padding": tuple(p),
            "output_padding": tuple(a), "dilation": tuple(d), "out_size": tuple(m),
            "weight_shape": (cin, cout // g, *k), "kwargs": kw}


def conv_transpose_cases(*, ndim: int = 2, dtype: str = "float32", bias: bool | None = None,
                         **bounds) -> st.SearchStrategy[dict]:
    """A transposed geometry (:func:`conv_transpose_params`, which takes ``bounds``) with certified
    integer data ``x`` ``(N, C_in, *n)``, ``weight`` ``(C_in, C_out/groups, *k)``, ``bias`` and
    ``cert = (K, max|x|, max|w|, max|b|)``: every output sums at most ``K = C_in/g·Πk`` products,
    and ``K·mx·mw + mb < 2^p``."""
    if dtype not in PRECISION:
        raise InvalidArgument(f"dtype={dtype!r} is not one of {sorted(PRECISION)}")
    # the transposed geometry names its weight shape; the data and certificate are conv_cases's
    return _conv_cases(conv_transpose_params(ndim=ndim, **bounds), dtype, bias)


PAD_MODES: tuple[str, ...] = ("constant", "reflect", "replicate", "circular")


def pad_cases(*, modes: tuple[str, ...] = PAD_MODES, max_batch: int = 2, max_channels: int = 3,
              max_ndim: int = 3, max_side: int = 5, max_pad: int = 3,
              bound: int = 9) -> st.SearchStrategy[dict]:
    """A ``torch.nn.functional.pad`` call on integer data: ``{"x", "pad", "mode", "value", "pairs",
    "kwargs"}``; ``pad`` is torch's flat tuple from the last axis, ``pairs`` the ``(lo, hi)`` of the
    padded trailing axes, first to last.

    torch's rules (PyTorch docs, ``torch.nn.functional.pad``): ``reflect`` pads are smaller than the
    axis, ``circular`` pads at most the axis, only ``constant`` takes a fill value or a negative
    (cropping) pad; the non-constant modes pad every spatial axis of an ``(N, C, *spatial)`` input,
    ``constant`` the last one to all of them. Defaults: batch ≤ 2, channels ≤ 3, 1–3 spatial axes of
    sides 1–5, pads ≤ 3, data in ``[-bound, bound]``.
    """
    _check(max_batch=max_batch, max_channels=max_channels, max_ndim=max_ndim, max_side=max_side,
           max_pad=max_pad, bound=bound)
    if max_ndim > 3:
        raise InvalidArgument(f"max_ndim={max_ndim} must be at most 3 (torch pads up to 3 axes)")
    if not modes or any(m not in PAD_MODES for m in modes):
        raise InvalidArgument(f"modes={modes!r} must be a non-empty subset of {PAD_MODES}")
    return _pad_cases(tuple(modes), max_batch, max_channels, max_ndim, max_side, max_pad, bound)


@_reused
@st.composite
def _pad_cases(draw, modes, max_batch, max_channels, max_ndim, max_side, max_pad, bound) -> dict:
    mode = draw(_modes(modes))
    nd = draw(_small(1, max_ndim))
    size = [draw(_small(1, max_side)) for _ in range(nd)]
    m = draw(st.integers(1, nd)) if mode == "constant" else nd
    pairs = []
    for n in size[nd - m:]:
        top = {"reflect": min(max_pad, n - 1), "circular": min(max_pad, n)}.get(mode, max_pad)
        low = -1 if mode == "constant" and n >= 3 else 0     # a crop keeps at least one entry
        pairs.append((draw(st.integers(low, top)), draw(st.integers(low, top))))
    flat = tuple(v for lo, hi in pairs[::-1] for v in (lo, hi))
    value = draw(_FILLS) if mode == "constant" else None
    x = draw(int_arrays((draw(_small(1, max_batch)), draw(_small(1, max_channels)), *size), bound=bound))
    kw: dict = {} if mode == "constant" and draw(st.booleans()) else {"mode": mode}
    if value is not None:
        kw["value"] = float(value)
    return {"x": x, "pad": flat, "mode": mode, "value": value, "pairs": tuple(pairs), "kwargs": kw}
