"""Cases, reference values and deliberately wrong translations shared by the adapter tests.

Every case is a ``torch.nn.functional`` call on small-integer float32 data, so that conv, max
pooling and pad are exact in any summation order (certificate ``K·max|x|·max|w| + max|b| < 2^24``)
and the reference, ``torch.nn.functional`` in float64, is the exact value. Average pooling divides:
its sums are exact, the quotient is allowed ``γ_2`` relative error (a division, or a multiply by a
rounded reciprocal; Higham 2002, §3.1), on top of the reference's own float64 rounding.

The geometries are picked so that each wrong translation changes some output: asymmetric
``(lo, hi)`` pads (a pad order read backwards), non-square kernels with ``O != C/groups`` (a weight
layout misread), ``ceil_mode`` windows that reach past the padding (ceil dropped) and padded
average pools (``count_include_pad`` inverted).
"""
from __future__ import annotations

import dataclasses
import subprocess
import sys
import warnings
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as tnf

from cnnspec.adapters import NotExpressible, _frontend
from cnnspec.oracle import error_bound, gamma

RNG = np.random.default_rng(20240601)


class Lazy:
    """A module imported at its first use, so that collecting the tests of a framework whose import
    is slow (TensorFlow: about 10 s) costs nothing; attributes are read and set on the module."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        object.__setattr__(self, "_name", name)

    def _module(self):
        import importlib

        return importlib.import_module(object.__getattribute__(self, "_name"))

    @property
    def __dict__(self):
        return vars(self._module())

    def __getattr__(self, name):
        if name.startswith("__") and name not in ("__name__", "__file__"):
            raise AttributeError(name)     # what pytest's collection asks of every module global
        return getattr(self._module(), name)

    def __setattr__(self, name, value):
        setattr(self._module(), name, value)

    def __delattr__(self, name):
        delattr(self._module(), name)


def require(package: str, reason: str) -> None:
    """Skip the calling test module when ``package`` is not installed, without importing it."""
    import importlib.util

    import pytest

    if importlib.util.find_spec(package) is None:
        pytest.skip(reason, allow_module_level=True)


def ints(*shape, lo=-3, hi=3) -> np.ndarray:
    return RNG.integers(lo, hi + 1, shape).astype(np.float32)


def _conv_cases():
    x2, w2, b2 = ints(2, 4, 7, 6), ints(6, 2, 3, 2), ints(6)
    return [
        ("conv2d/plain", "conv2d", (ints(1, 2, 5, 5), ints(3, 2, 3, 3)), {}),
        ("conv2d/unbatched", "conv2d", (ints(2, 5, 6), ints(3, 2, 3, 2)), {"padding": 1}),
        ("conv_transpose2d/unbatched", "conv_transpose2d", (ints(2, 4, 5), ints(2, 3, 2, 3)), {"stride": 2}),
        ("conv2d/stride-pad-dilation-groups-bias", "conv2d", (x2, w2, b2),
         {"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2), "groups": 2}),
        ("conv2d/lo-hi-pads", "conv2d", (ints(1, 3, 6, 5), ints(4, 3, 2, 3)),
         {"padding": ((0, 2), (1, 3)), "stride": (1, 2)}),
        ("conv2d/same-even-kernel", "conv2d", (ints(1, 2, 6, 5), ints(2, 2, 2, 4)), {"padding": "same"}),
        ("conv2d/depthwise", "conv2d", (ints(2, 3, 6, 6), ints(3, 1, 3, 3), ints(3)),
         {"groups": 3, "padding": 1}),
        ("conv1d/stride-pad-dilation-groups", "conv1d", (ints(2, 4, 11), ints(6, 2, 3), ints(6)),
         {"stride": 2, "padding": 1, "dilation": 2, "groups": 2}),
        ("conv1d/lo-hi-pads", "conv1d", (ints(1, 2, 9), ints(3, 2, 4)), {"padding": ((3, 0),)}),
        ("conv3d/stride-pad", "conv3d", (ints(1, 2, 5, 4, 6), ints(3, 2, 2, 3, 2), ints(3)),
         {"stride": (1, 2, 1), "padding": (1, 0, 1)}),
        ("conv_transpose2d/stride-pad-outpad-bias", "conv_transpose2d",
         (ints(1, 4, 5, 4), ints(4, 3, 3, 2), ints(3)), {"stride": 2, "padding": 1, "output_padding": 1}),
        ("conv_transpose2d/groups-dilation", "conv_transpose2d", (ints(2, 4, 4, 5), ints(4, 2, 2, 3)),
         {"groups": 2, "dilation": (2, 1), "padding": (1, 0)}),
        ("conv_transpose2d/lo-hi-pads", "conv_transpose2d", (ints(1, 2, 5, 5), ints(2, 3, 3, 3)),
         {"stride": 2, "padding": ((0, 2), (1, 0))}),
        ("conv_transpose1d/stride-pad", "conv_transpose1d", (ints(2, 3, 7), ints(3, 2, 4)),
         {"stride": 3, "padding": 2}),
        ("conv_transpose3d/stride", "conv_transpose3d", (ints(1, 2, 3, 4, 3), ints(2, 2, 2, 2, 3)),
         {"stride": (1, 2, 1)}),
    ]


def _pool_cases():
    x = ints(2, 3, 7, 6)
    return [
        ("max_pool2d/ceil", "max_pool2d", (x,), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
        ("max_pool2d/ceil-last-window-in-padding", "max_pool2d", (ints(1, 2, 5, 5),),
         {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}),
        ("max_pool2d/stride-none", "max_pool2d", (x,), {"kernel_size": (2, 3)}),
        ("max_pool2d/dilation", "max_pool2d", (x,),
         {"kernel_size": (3, 2), "stride": 1, "padding": 0, "dilation": (2, 1)}),
        ("max_pool2d/lo-hi-pads", "max_pool2d", (ints(1, 2, 6, 7),),
         {"kernel_size": 3, "stride": 2, "padding": ((1, 0), (1, 1))}),
        ("max_pool2d/unbatched", "max_pool2d", (ints(3, 5, 6),), {"kernel_size": 2, "padding": 1}),
        ("max_pool2d/indices", "max_pool2d", (ints(2, 3, 6, 6, lo=-50, hi=50),),
         {"kernel_size": 2, "stride": 2, "return_indices": True}),
        ("max_pool1d/pad-ceil", "max_pool1d", (ints(2, 3, 10),),
         {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
        ("max_pool3d/plain", "max_pool3d", (ints(1, 2, 4, 5, 4),), {"kernel_size": 2, "stride": (2, 1, 2)}),
        ("avg_pool2d/ceil-include", "avg_pool2d", (x,), {"kernel_size": 3, "stride": 2, "padding": 1,
                                                        "ceil_mode": True}),
        ("avg_pool2d/ceil-exclude", "avg_pool2d", (x,), {"kernel_size": 3, "stride": 2, "padding": 1,
                                                        "ceil_mode": True, "count_include_pad": False}),
        ("avg_pool2d/pad-include", "avg_pool2d", (x,), {"kernel_size": 3, "stride": 1, "padding": 1}),
        ("avg_pool2d/same-exclude", "avg_pool2d", (ints(1, 2, 6, 6),),
         {"kernel_size": 3, "stride": 1, "padding": 1, "count_include_pad": False}),
        ("avg_pool2d/divisor-override", "avg_pool2d", (x,), {"kernel_size": 2, "divisor_override": 3}),
        ("avg_pool1d/pad-ceil", "avg_pool1d", (ints(2, 3, 10),),
         {"kernel_size": 4, "stride": 3, "padding": 2, "ceil_mode": True}),
        ("avg_pool3d/pad", "avg_pool3d", (ints(1, 2, 4, 5, 4),), {"kernel_size": 2, "padding": 1}),
        ("adaptive_avg_pool2d/divisible", "adaptive_avg_pool2d", (ints(2, 3, 6, 8),), {"output_size": (3, 2)}),
        ("adaptive_max_pool2d/divisible-indices", "adaptive_max_pool2d", (ints(2, 3, 6, 8, lo=-50, hi=50),),
         {"output_size": (2, 4), "return_indices": True}),
        ("adaptive_avg_pool2d/uneven", "adaptive_avg_pool2d", (ints(2, 3, 7, 6),), {"output_size": (3, 4)}),
        ("pad/constant", "pad", (ints(2, 3, 4, 5),), {"pad": (1, 2, 0, 3), "value": 2.0}),
        # torch's negative constant pads crop (here one on each side of the last two axes)
        ("pad/constant-crop", "pad", (ints(2, 3, 4, 5),), {"pad": (-1, 2, 1, -3), "value": 2.0}),
        ("pad/reflect", "pad", (ints(2, 3, 4, 5),), {"pad": (1, 3, 2, 0), "mode": "reflect"}),
        ("pad/replicate", "pad", (ints(2, 3, 4, 5),), {"pad": (2, 1, 0, 2), "mode": "replicate"}),
        ("pad/circular", "pad", (ints(2, 3, 4, 5),), {"pad": (1, 2, 3, 1), "mode": "circular"}),
        ("adaptive_avg_pool2d/global", "adaptive_avg_pool2d", (ints(2, 3, 5, 6),), {"output_size": 1}),
        ("adaptive_max_pool1d/global", "adaptive_max_pool1d", (ints(2, 3, 7),), {"output_size": 1}),
        # Lp pooling on data where torch's (K·avg(x^p))^(1/p) and ONNX's (Σ|x|^p)^(1/p) agree (x >= 0,
        # no ceil-mode edge) and, in LP_DIVERGING, where they do not
        ("lp_pool2d/p2", "lp_pool2d", (ints(2, 3, 6, 7, lo=0),), {"norm_type": 2, "kernel_size": (2, 3),
                                                                  "stride": (2, 1)}),
        ("lp_pool1d/p3", "lp_pool1d", (ints(2, 3, 9, lo=0),), {"norm_type": 3, "kernel_size": 3, "stride": 2}),
        ("lp_pool2d/p1-signed", "lp_pool2d", (ints(2, 3, 6, 6),), {"norm_type": 1, "kernel_size": 2}),
        ("lp_pool1d/p1-ceil", "lp_pool1d", (ints(2, 3, 10, lo=0),), {"norm_type": 1, "kernel_size": 3, "stride": 2,
                                                                     "ceil_mode": True}),
        ("max_unpool2d/from-pool", "max_unpool2d", *_unpool_case(2, (6, 7))),
        ("max_unpool1d/output-size", "max_unpool1d", *_unpool_case(1, (9,))),
    ]


def _unpool_case(nd: int, size: tuple) -> tuple[tuple, dict]:
    """Values and indices of torch's max pooling (kernel 2, distinct values: one index per window)
    and the unpooling call that takes them back to ``size`` (odd sizes need ``output_size``)."""
    x = torch.from_numpy(RNG.permutation(2 * 3 * int(np.prod(size))).reshape(2, 3, *size).astype(np.float32))
    y, idx = getattr(tnf, f"max_pool{nd}d")(x, 2, return_indices=True)
    return (y.numpy(), idx.numpy()), {"kernel_size": 2, "output_size": size}


# ONNX LpPool's definition differs from torch's here (absolute values; the plain sum at a ceil edge)
LP_DIVERGING = {"lp_pool2d/p1-signed", "lp_pool1d/p1-ceil"}


CASES = {c[0]: c[1:] for c in _conv_cases() + _pool_cases()}


def reference(op: str, args: tuple, kwargs: dict):
    """``torch.nn.functional`` in float64 (exact on these data); ``(lo, hi)`` pads via ``F.pad``."""
    t = [torch.from_numpy(np.asarray(a).astype(np.float64)) for a in args]
    kw = dict(kwargs)
    p = kw.get("padding")
    if isinstance(p, tuple) and p and isinstance(p[0], tuple) and op.startswith("conv_transpose"):
        # (lo, hi) of a transposed conv crop its full output
        full = getattr(tnf, op)(*t, **{**kw, "padding": 0}).numpy()
        return full[(Ellipsis,) + tuple(slice(lo, full.shape[2 + i] - hi) for i, (lo, hi) in enumerate(p))]
    if op.startswith("max_unpool"):
        t[1] = torch.from_numpy(args[1])     # the indices stay int64
    if isinstance(p, tuple) and p and isinstance(p[0], tuple):
        flat = [v for lo_hi in reversed(p) for v in lo_hi]
        t[0] = tnf.pad(t[0], flat, value=-np.inf if op.startswith("max") else 0.0)
        kw["padding"] = 0
    with warnings.catch_warnings():   # torch's note that padding='same' copies the input
        warnings.simplefilter("ignore", UserWarning)
        y = getattr(tnf, op)(*t, **kw)
    return tuple(v.numpy() for v in y) if isinstance(y, tuple) else y.numpy()


def torch_parameters(op: str) -> list[str]:
    """The parameter names of ``torch.nn.functional.<op>``, from its signature or, for C builtins
    that have none, the first line of its docstring (``conv2d(input, weight, bias=None, ...)``)."""
    import inspect
    import re
    if op in _frontend.NOT_TORCH:     # ONNX's integer convolutions: cnnspec.oracle states the signature
        from cnnspec import oracle
        return list(inspect.signature(oracle.OPS[op]).parameters)
    fn = getattr(tnf, op)
    try:
        params = list(inspect.signature(fn).parameters)
        if params != ["args", "kwargs"]:
            return params
    except ValueError:
        pass
    head = re.search(rf"{op}\((.*?)\)", fn.__doc__).group(1)
    return [p.split("=")[0].strip() for p in head.split(",")]


def _mismatch(op: str, got: np.ndarray, want: np.ndarray, bound) -> str:
    if got.shape != want.shape:
        return f"shape {got.shape}, but should be {want.shape}"
    err = np.abs(got.astype(np.float64) - want)
    bad = ~((err <= bound) | (np.isnan(got) & np.isnan(want)) | (got == want))
    if not bad.any():
        return ""
    i = tuple(int(v) for v in np.argwhere(bad)[0])
    return f"out{list(i)}={got[i]!r}, but should be {want[i]!r} [{op}]"


def check(fn: Callable, op: str, args: tuple, kwargs: dict) -> str:
    """'' when ``fn`` (an adapter op) agrees with :func:`reference`; else what differs. Raises
    :class:`NotExpressible` through, so that a caller can tell a skip from a failure."""
    want = reference(op, args, kwargs)
    try:
        got = fn(*args, **kwargs)
    except NotExpressible:
        raise
    except Exception as e:  # noqa: BLE001 - a wrong translation may make the framework raise
        return f"raised {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    if isinstance(want, tuple):
        if not isinstance(got, tuple):
            return f"returned {type(got).__name__}, not (values, indices)"
        return _mismatch(op, np.asarray(got[0]), want[0], 0) or \
            _mismatch(op + " indices", np.asarray(got[1]), want[1], 0)
    bound = 0.0
    if op.startswith(("avg_pool", "adaptive_avg_pool")):
        g32, g64 = gamma(2, "float32"), gamma(2, "float64")
        bound = (g32 + g64) / (1 - g64) * np.abs(want)
    elif op.startswith("lp_pool"):
        # x^p, the sum and K·avg exact on these data; the average's quotient, the multiply by K and
        # the root each rounded once (a root's error relative to its argument's is divided by p)
        g32, g64 = gamma(3, "float32"), gamma(3, "float64")
        bound = (g32 + g64) / (1 - g64) * np.abs(want)
    return _mismatch(op, np.asarray(got), want, bound)


def run_cases(module, cases: dict | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """``(failures, skips)`` of an adapter module over ``cases`` (default :data:`CASES`)."""
    fails, skips = {}, {}
    for cid, (op, args, kwargs) in (CASES if cases is None else cases).items():
        if op not in module.__dict__:   # the framework has no such op (the registry says which)
            continue
        try:
            msg = check(getattr(module, op), op, args, kwargs)
        except NotExpressible as e:
            skips[cid] = str(e)
            continue
        if msg:
            fails[cid] = msg
    return fails, skips


def general_float_conv(module) -> float:
    """Largest ``|adapter − exact| / Higham bound`` of conv2d on normal float32 data (must be <= 1)."""
    rng = np.random.default_rng(7)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((2, 4, 9, 8), (6, 2, 3, 3), (6,)))
    kw = {"stride": (2, 1), "padding": 1, "dilation": (1, 2), "groups": 2}
    got = module.conv2d(x, w, b, **kw).astype(np.float64)
    want = reference("conv2d", (x, w, b), kw)
    bound = error_bound(x, w, b, dtype="float32", **kw) + error_bound(x, w, b, dtype="float64", **kw)
    return float(np.max(np.abs(got - want) / bound))


# --- deliberately wrong translations ----------------------------------------------------------------

def _mutate(module, change: Callable[[_frontend.Request], _frontend.Request]):
    right = module._run
    return lambda req: right(change(req))


def pads_swapped(module):
    """The ``(lo, hi)`` pads read as ``(hi, lo)``."""
    def change(req):
        if req.family == "pad":
            return dataclasses.replace(req, geo=tuple((hi, lo) for lo, hi in req.geo))
        return dataclasses.replace(req, geo=dataclasses.replace(req.geo, pads=tuple(
            (hi, lo) for lo, hi in req.geo.pads)))
    return _mutate(module, change)


def ceil_dropped(module):
    """``ceil_mode=True`` translated as False (the window count of floor)."""
    def change(req):
        if req.family not in ("max_pool", "avg_pool"):
            return req
        g = req.geo
        return dataclasses.replace(req, geo=dataclasses.replace(g, ceil_mode=False, extra=(0,) * g.nd))
    return _mutate(module, change)


def count_include_pad_inverted(module):
    def change(req):
        if req.family != "avg_pool":
            return req
        return dataclasses.replace(req, opts={**req.opts, "count_include_pad": not req.opts["count_include_pad"]})
    return _mutate(module, change)


def adaptive_kernel_is_output_size(module):
    """Adaptive pooling translated with ``kernel = stride = output_size`` (not ``input / output``)."""
    from cnnspec.adapters import _geometry as G

    def change(req):
        if "output_size" not in req.call or req.family not in ("max_pool", "avg_pool"):
            return req
        m = req.geo.out
        geo = G.pool(req.x, m, m, 0, 1, False, req.nd)
        return dataclasses.replace(req, geo=geo)
    return _mutate(module, change)


def lp_norm_type_wrong(module):
    """``norm_type`` misread (2 becomes 1, anything else 2)."""
    def change(req):
        if req.family != "lp_pool":
            return req
        return dataclasses.replace(req, opts={**req.opts, "norm_type": 1.0 if req.opts["norm_type"] == 2 else 2.0})
    return _mutate(module, change)


def unpool_indices_shifted(module):
    """Unpooling indices off by one (an index counted from 1, or the wrong plane origin)."""
    def change(req):
        if req.family != "max_unpool":
            return req
        plane = int(np.prod(req.geo[3]))
        return dataclasses.replace(req, opts={**req.opts, "indices": (req.opts["indices"] + 1) % plane})
    return _mutate(module, change)


GENERIC_WRONG = {"pads-swapped": pads_swapped, "ceil-dropped": ceil_dropped,
                 "count-include-pad-inverted": count_include_pad_inverted,
                 "adaptive-kernel-is-output-size": adaptive_kernel_is_output_size,
                 "lp-norm-type-wrong": lp_norm_type_wrong, "unpool-indices-shifted": unpool_indices_shifted}


# --- native reproductions -----------------------------------------------------------------------------

SNIPPET_CASES = ("conv2d/stride-pad-dilation-groups-bias", "max_pool2d/ceil", "avg_pool2d/pad-include",
                 "pad/constant", "conv_transpose2d/stride-pad-outpad-bias", "lp_pool2d/p2", "max_unpool2d/from-pool")


_RUNNER = """
import contextlib, io, json, sys
out = []
for text in json.load(sys.stdin):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(text, "<snippet>", "exec"), {"__name__": "__main__"})   # fresh globals each
    out.append(buf.getvalue())
print(json.dumps(out))
"""


def run_snippets(framework: str, module, case_ids=SNIPPET_CASES, alone: bool = True) -> dict[str, tuple]:
    """Each case's snippet run outside cnnspec: ``{id: (printed arrays, adapter value, expected)}``.

    With ``alone`` the first runs by itself as ``python -c SNIPPET``; to spare the framework's
    import time the others run in one more ``python -c`` process, each with fresh globals (for
    TensorFlow, whose import takes 7-15 s here, all of them do). Both start in ``/``, where cnnspec
    is not importable. Cases the framework cannot express are left out.
    """
    import json
    from cnnspec.adapters import reproduce
    texts, values = {}, {}
    for cid in case_ids:
        op, args, kwargs = CASES[cid]
        want = reference(op, args, kwargs)
        try:
            texts[cid] = reproduce(framework, op, args, kwargs, want)
            values[cid] = (getattr(module, op)(*args, **kwargs), want)
        except NotExpressible:
            continue
        assert "cnnspec" not in texts[cid].split("\n", 1)[1], texts[cid]
    ids = list(texts)
    run = lambda argv: subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,  # noqa: E731
                                        stderr=subprocess.PIPE, text=True, cwd="/")
    first = run([sys.executable, "-c", texts[ids[0]]]) if alone else None
    rest = run([sys.executable, "-c", _RUNNER])
    so_rest, se_rest = rest.communicate(json.dumps([texts[c] for c in ids[1 if alone else 0:]]), timeout=300)
    assert rest.returncode == 0, se_rest[-2000:]
    printed = json.loads(so_rest)
    if alone:
        so, se = first.communicate(timeout=300)
        assert first.returncode == 0, se[-2000:]
        printed = [so] + printed
    return {cid: (_frontend.parse_output(text), *values[cid]) for cid, text in zip(ids, printed)}


# the cases that expose each wrong translation (a subset keeps slow-compiling frameworks fast)
TARGETED = {
    "pads-swapped": ("conv2d/lo-hi-pads", "conv1d/lo-hi-pads", "max_pool2d/lo-hi-pads", "pad/constant",
                     "conv_transpose2d/lo-hi-pads"),
    "ceil-dropped": ("max_pool2d/ceil", "max_pool1d/pad-ceil", "avg_pool2d/ceil-include"),
    "count-include-pad-inverted": ("avg_pool2d/pad-include", "avg_pool2d/same-exclude"),
    "adaptive-kernel-is-output-size": ("adaptive_avg_pool2d/divisible", "adaptive_avg_pool2d/global",
                                       "adaptive_max_pool1d/global"),
    "lp-norm-type-wrong": ("lp_pool2d/p2", "lp_pool1d/p3"),
    "unpool-indices-shifted": ("max_unpool2d/from-pool", "max_unpool1d/output-size"),
    "layout": ("conv2d/plain", "conv2d/stride-pad-dilation-groups-bias", "conv1d/stride-pad-dilation-groups",
               "conv_transpose2d/stride-pad-outpad-bias"),
}


def cases(ids) -> dict:
    return {c: CASES[c] for c in ids}


def onednn_bf16_only(cell: dict, op: str) -> bool:
    """Whether a torch bfloat16 matrix cell of ``op`` passes or fails on ``kernel-spans-padding``
    alone, where torch with oneDNN turned off computes the exact value: on a CPU with AVX512_BF16,
    torch 2.13's oneDNN convolutions get that geometry wrong (cnnspec found it; the test must hold on
    any CPU, so it proves the failure is oneDNN's rather than expecting it)."""
    if cell["status"] == "pass":
        return True
    bad = [r["case"] for r in cell["cases"] if r["status"] == "fail"]
    assert cell["status"] == "fail" and bad == ["kernel-spans-padding"], cell
    import ml_dtypes
    import torch
    from cnnspec import oracle
    from cnnspec.adapters import adapter
    ((_, args, kw, _),) = [c for c in matrix_cases(op) if c[0] == "kernel-spans-padding"]
    import warnings
    with warnings.catch_warnings():   # torch 2.13 warns that TF32 on oneDNN needs an Intel GPU
        warnings.filterwarnings("ignore", "TF32 acceleration on top of oneDNN", UserWarning)
        with torch.backends.mkldnn.flags(enabled=False):
            got = adapter("torch", op)(*[a.astype(ml_dtypes.bfloat16) for a in args], **kw)
    want = getattr(oracle, op)(*args, **kw)        # small integers: exact in bfloat16
    assert np.array_equal(got.astype(np.float64), want), (got, want)
    return True


def matrix_cases(op: str):
    from cnnspec.adapters import matrix_cells
    return matrix_cells.cases(op)


def strided_views(module) -> None:
    """A reversed view (negative strides; on size-1 axes NumPy calls it contiguous and
    ``np.ascontiguousarray`` keeps it as it is, which ``torch.from_numpy`` refuses) and a transposed
    one give exactly what their contiguous copies give, at float32 and at bfloat16 where the
    framework has bfloat16 kernels."""
    import ml_dtypes
    from cnnspec.adapters import NoKernel, NotExpressible
    for dtype in (np.float32, ml_dtypes.bfloat16):
        try:
            module.max_pool2d(np.zeros((1, 1, 1, 1), dtype), 1)
        except (NoKernel, NotExpressible):
            assert dtype is ml_dtypes.bfloat16
            continue
        for shape in [(1, 1, 1, 1), (2, 1, 3, 4)]:
            x = (np.arange(np.prod(shape)).reshape(shape) - 5).astype(dtype)
            w = np.arange(1, 5).reshape(2, 1, 1, 2).astype(dtype)[:, :, :, ::-1]
            views = [x[::-1, ::-1], np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)]
            for v in views:
                got = module.max_pool2d(v, 1)
                assert np.array_equal(got.astype(np.float64), v.astype(np.float64)), (shape, v.strides)
                if shape[-1] >= 2:
                    assert np.array_equal(module.conv2d(v, w).astype(np.float64),
                                          module.conv2d(v.copy(), w.copy()).astype(np.float64)), shape


def suite(framework: str, module, *, skips: set[str], layout_wrong: Callable | None,
          layout_cases=TARGETED["layout"], case_ids=None, variant_cases: int | None = None,
          snippets_alone: bool = True, diverging: set[str] = frozenset()) -> dict[str, Callable]:
    """The tests every adapter module gets, for ``globals().update(...)`` in its test module.

    ``skips``: the case ids the framework cannot express (exactly these must raise NotExpressible);
    ``layout_wrong(monkeypatch)``: installs the framework's wrong weight layout or pad order;
    ``layout_cases``: the cases that expose it;
    ``case_ids``/``variant_cases``: fewer cases for frameworks that compile each geometry slowly;
    ``diverging``: the cases where the framework's own definition differs from torch's (ONNX
    LpPool's ``|x|``): exactly these must fail, the others pass.
    """
    import pytest
    from cnnspec.adapters import FRAMEWORKS
    chosen = cases(case_ids) if case_ids is not None else CASES

    def test_every_case_matches_torch():
        fails, skipped = run_cases(module, chosen)
        assert set(fails) == set(diverging) & set(chosen), fails
        assert set(skipped) == skips & set(chosen), skipped
        assert all("is not expressible in" in m for m in skipped.values())
        ops = {CASES[c][0] for c in chosen}
        assert ops & set(FRAMEWORKS[framework].ops) <= {op for op in ops if op in module.__dict__}

    def test_conv_on_general_floats_within_higham_bound():
        assert general_float_conv(module) <= 1.0

    variants = list(GENERIC_WRONG) + (["layout"] if layout_wrong else [])

    @pytest.mark.parametrize("variant", variants)
    def test_wrong_translation_is_caught(variant, monkeypatch):
        # the key property: a failure of these tests can be trusted to be the framework's
        if variant == "layout":
            layout_wrong(monkeypatch)
        else:
            monkeypatch.setattr(module, "_run", GENERIC_WRONG[variant](module))
        targets = layout_cases if variant == "layout" else TARGETED[variant]
        ids = [c for c in targets if c not in skips and CASES[c][0] in module.__dict__]
        if variant_cases is not None:   # fewer cases, but one of every op family the variant concerns
            by_family = {_frontend.family_of(CASES[c][0]): c for c in reversed(ids)}
            ids = list(dict.fromkeys(list(by_family.values()) + ids[:variant_cases]))
        if not ids:
            assert not {CASES[c][0] for c in targets} & set(FRAMEWORKS[framework].ops), variant
            return   # the framework has none of the ops this translation concerns
        fails, _ = run_cases(module, cases(ids))
        assert fails, f"{variant} went unnoticed on {ids}"

    def test_snippets_run_standalone_and_print_what_the_adapter_computes():
        out = run_snippets(framework, module, alone=snippets_alone)
        assert out
        for cid, (printed, mine, want) in out.items():
            mine = mine[0] if isinstance(mine, tuple) else mine
            assert np.array_equal(printed["got"], np.asarray(mine, np.float64), equal_nan=True), cid
            assert np.array_equal(printed["expected"], want, equal_nan=True), cid

    def test_strided_views_are_read_as_their_values():
        strided_views(module)

    def test_module_defines_the_registered_ops_with_torch_signatures():
        import inspect
        for op in FRAMEWORKS[framework].ops:
            params = list(inspect.signature(getattr(module, op)).parameters)
            assert params == torch_parameters(op), op

    return {k: v for k, v in locals().items() if k.startswith("test_")}
