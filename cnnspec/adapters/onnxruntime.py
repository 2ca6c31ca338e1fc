"""``torch.nn.functional`` conv, pooling and pad as one-node ONNX graphs run by ONNX Runtime.

Each call builds (once per attribute set and dtype; sessions are cached) a graph of a single ONNX
operator with ``onnx.helper`` and runs it with ``onnxruntime.InferenceSession`` on the CPU
execution provider (the CUDA provider with ``use_device("cuda")``). Translations, read off the
ONNX operator specification:

* ``conv*`` -> ``Conv``: ``kernel_shape``, ``strides``, ``dilations``, ``group``, ``pads`` in ONNX's
  order ``[x1_begin, x2_begin, ..., x1_end, x2_end, ...]``; NCHW and OIHW are ONNX's own layouts;
* ``conv_transpose*`` -> ``ConvTranspose`` (weight ``(C, M/group, *k)`` as torch's) with
  ``output_padding``;
* ``max_pool*`` -> ``MaxPool`` with ``ceil_mode`` and ``dilations``; ``return_indices`` is the
  optional ``Indices`` output, which ONNX flattens over the whole NCHW tensor: the adapter
  subtracts each plane's offset ``(n·C + c)·H·W`` to get torch's index into the spatial plane;
* ``avg_pool*`` -> ``AveragePool`` with ``ceil_mode`` and ``count_include_pad`` (ONNX's default is
  0, torch's True: the adapter always sets it); ``divisor_override`` is not expressible;
* ``pad`` -> ``Pad`` (opset 21 modes ``constant``, ``reflect``, ``edge`` = torch's ``replicate``,
  ``wrap`` = ``circular``);
* adaptive pools -> ``GlobalAveragePool`` / ``GlobalMaxPool`` for an output of size 1 (as
  ``torch.onnx`` exports them; with ``return_indices``, ``MaxPool`` over the whole plane, since
  ``GlobalMaxPool`` has no ``Indices``), the plain pool when the output size divides the input's;
* ``lp_pool*`` -> ``LpPool`` with ``p`` (an integer attribute: other ``norm_type`` values are not
  expressible) and ``ceil_mode``. ONNX defines ``(Σ |x|^p)^(1/p)`` over the window: the absolute
  value and the plain sum at a ceil-mode edge are ONNX's, and are what gets checked against torch's
  ``(K·avg(x^p))^(1/p)``;
* ``max_unpool*`` -> ``MaxUnpool`` with ``output_shape``; torch's indices count within each
  ``(n, c)`` plane, ONNX's over the whole tensor, so the adapter adds each plane's offset
  ``(n·C + c)·Π output`` (the inverse of the ``MaxPool`` indices above);
* ``conv2d_integer`` -> ``ConvInteger`` (zero points as inputs, int32 out), ``qlinear_conv2d`` ->
  ``QLinearConv`` (scales float32, zero points of the data's dtypes, bias int32), in the argument
  order of :mod:`cnnspec.oracle.integer`.

References
----------
ONNX operator specification (onnx/docs/Operators.md): Conv, ConvTranspose, MaxPool, AveragePool,
GlobalAveragePool, GlobalMaxPool, LpPool, MaxUnpool, Pad, ConvInteger, QLinearConv;
ONNX Runtime Python API, ``InferenceSession``; ``onnx.helper.make_node/make_graph/make_model``.
"""
from __future__ import annotations

import functools

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper

from . import FRAMEWORKS, NoKernel, NotExpressible
from . import _frontend as F
from . import _geometry as G
from ..errors import UsageError

NAME, TITLE = "onnxruntime", "ONNX Runtime"
OPSET = 22
IR_VERSION = 10
_PROVIDER = {"provider": "CPUExecutionProvider"}
_DEVICES = {"CPUExecutionProvider": "cpu", "CUDAExecutionProvider": "cuda"}
_PAD_MODE = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}
ort.set_default_logger_severity(3)   # refusals come back as exceptions; no log lines on stderr
_onnx_pads = G.flat_pads  # [x1_begin, x2_begin, ..., x1_end, x2_end, ...]


def version() -> str:
    return ort.__version__


def use_device(device: str) -> None:
    """``"cpu"``: CPUExecutionProvider; ``"cuda"``: CUDAExecutionProvider (when installed)."""
    provider = {v: k for k, v in _DEVICES.items()}.get(device)
    if provider is None:
        raise UsageError(f"device: {device!r} is not cpu or cuda")
    if provider not in ort.get_available_providers():
        raise UsageError(f"device: {device!r}: ONNX Runtime here has only "
                         f"{', '.join(ort.get_available_providers())}")
    _PROVIDER["provider"] = provider


# --- the node of a request (shared by the call and its reproduction) -------------------------------

def _node(req: F.Request) -> tuple[str, dict, dict[str, np.ndarray], tuple[str, ...]]:
    """``(op_type, attributes, feeds, outputs)`` of the one ONNX node for this request."""
    g, x = req.geo, req.x
    if req.family == "conv":
        attrs = {"kernel_shape": list(g.kernel), "strides": list(g.stride), "pads": _onnx_pads(g.pads),
                 "dilations": list(g.dilation), "group": g.groups}
        feeds = {"x": x, "w": req.w} | ({} if req.b is None else {"b": req.b})
        return "Conv", attrs, feeds, ("y",)
    if req.family == "conv_transpose":
        # torch takes output_padding < max(stride, dilation); onnxruntime's ConvTranspose checks
        # its output shape against stride alone ("output_padding (1) may be too large for stride
        # (1)", conv_transpose_attributes.h) and refuses the rest
        if any(a >= s for a, s in zip(g.output_padding, g.stride)):
            raise NotExpressible(NAME, f"output_padding {tuple(g.output_padding)} not below stride "
                                       f"{tuple(g.stride)} (onnxruntime's ConvTranspose refuses it)")
        attrs = {"kernel_shape": list(g.kernel), "strides": list(g.stride), "pads": _onnx_pads(g.pads),
                 "dilations": list(g.dilation), "group": g.groups, "output_padding": list(g.output_padding)}
        feeds = {"x": x, "w": req.w} | ({} if req.b is None else {"b": req.b})
        return "ConvTranspose", attrs, feeds, ("y",)
    if req.family == "pad":
        widths = [(0, 0)] * (x.ndim - req.nd) + list(req.geo)
        feeds = {"x": x, "pads": np.array(_onnx_pads(widths), np.int64)}
        if req.opts["mode"] == "constant":
            feeds["value"] = np.array(req.opts["value"], x.dtype)
        return "Pad", {"mode": _PAD_MODE[req.opts["mode"]]}, feeds, ("y",)
    if req.family in ("conv_integer", "qlinear_conv"):
        return _integer_node(req)
    if req.family == "max_unpool":
        k, st, pads, out = g
        n, c = x.shape[:2]
        # MaxUnpool infers (n - 1)·s + k - lo - hi per axis and refuses a smaller output_shape
        # (onnxruntime Unpool.cc: "output_shape is smaller than minimum required"); torch also
        # takes sizes down to one stride below that.
        inferred = [(ni - 1) * si + ki - lo - hi for ni, si, ki, (lo, hi) in zip(x.shape[2:], st, k, pads)]
        if any(o < i for o, i in zip(out, inferred)):
            raise NotExpressible(NAME, f"output_size {tuple(out)} below MaxUnpool's inferred size "
                                       f"{tuple(inferred)} (its output_shape may only be larger)")
        plane = int(np.prod(out))
        offset = ((np.arange(n)[:, None] * c + np.arange(c)[None, :]) * plane).reshape((n, c) + (1,) * req.nd)
        feeds = {"x": x, "i": (req.opts["indices"] + offset).astype(np.int64),
                 "output_shape": np.array([n, c, *out], np.int64)}
        return "MaxUnpool", {"kernel_shape": list(k), "strides": list(st), "pads": _onnx_pads(pads)}, feeds, ("y",)
    if "output_size" in req.call and all(m == 1 for m in g.out) and tuple(g.kernel) == tuple(x.shape[2:]) \
            and not (req.family == "max_pool" and req.opts["return_indices"]):
        return ("GlobalMaxPool" if req.family == "max_pool" else "GlobalAveragePool"), {}, {"x": x}, ("y",)
    attrs = {"kernel_shape": list(g.kernel), "strides": list(g.stride), "pads": _onnx_pads(g.pads),
             "dilations": list(g.dilation), "ceil_mode": int(g.ceil_mode)}
    if req.family == "lp_pool":
        p = req.opts["norm_type"]
        if not np.isfinite(p) or p != int(p):
            raise NotExpressible(NAME, f"norm_type={p!r} (LpPool's p is an integer attribute)")
        del attrs["dilations"]
        return "LpPool", {**attrs, "p": int(p)}, {"x": x}, ("y",)
    if req.family == "max_pool":
        return "MaxPool", attrs, {"x": x}, ("y", "indices") if req.opts["return_indices"] else ("y",)
    if req.opts["divisor_override"] is not None:
        raise NotExpressible(NAME, "divisor_override (AveragePool has no such attribute)")
    attrs["count_include_pad"] = int(req.opts["count_include_pad"])
    return "AveragePool", attrs, {"x": x}, ("y",)


def _zero_point(name: str, v, dtype) -> np.ndarray:
    a, info = np.asarray(v), np.iinfo(dtype)
    if a.dtype.kind not in "iu" or a.size and (a.min() < info.min or a.max() > info.max):
        raise G.ArgumentError(f"{name}={a.tolist()!r}: must be integers in [{info.min}, {info.max}] "
                              f"(ONNX's zero point has the element type {np.dtype(dtype).name})")
    return a.astype(dtype)


def _integer_node(req: F.Request):
    """ConvInteger / QLinearConv: the zero points (and scales) are inputs of the node."""
    g, o = req.geo, req.opts
    attrs = {"kernel_shape": list(g.kernel), "strides": list(g.stride), "pads": _onnx_pads(g.pads),
             "dilations": list(g.dilation), "group": g.groups}
    # a zero point is a tensor of its data's element type: a value outside that type's range has
    # no ONNX graph (casting would wrap 300 to 44 and hide the invalid call)
    xz = _zero_point("x_zero_point", o["x_zero_point"], req.x.dtype)
    wz = _zero_point("w_zero_point", o["w_zero_point"], req.w.dtype)
    if req.family == "conv_integer":
        return "ConvInteger", attrs, {"x": req.x, "w": req.w, "x_zero_point": xz, "w_zero_point": wz}, ("y",)
    yz = np.asarray(o["y_zero_point"])
    yz = _zero_point("y_zero_point", yz, yz.dtype if yz.dtype.name in ("uint8", "int8") else req.x.dtype)
    feeds = {"x": req.x, "x_scale": np.asarray(o["x_scale"], np.float32), "x_zero_point": xz, "w": req.w,
             "w_scale": np.asarray(o["w_scale"], np.float32), "w_zero_point": wz,
             "y_scale": np.asarray(o["y_scale"], np.float32), "y_zero_point": yz}
    if req.b is not None:
        feeds["b"] = req.b
    return "QLinearConv", attrs, feeds, ("y",)


def _out_dtype(op_type: str, feeds: dict[str, np.ndarray]) -> np.dtype:
    """The element type of the node's output: the input's, int32 for ConvInteger, y_zero_point's
    for QLinearConv."""
    return {"ConvInteger": np.dtype(np.int32)}.get(op_type, feeds["y_zero_point"].dtype if op_type == "QLinearConv"
                                                   else feeds["x"].dtype)


def _model(op_type: str, attrs: dict, feeds: dict[str, np.ndarray], outputs: tuple[str, ...]):
    node = helper.make_node(op_type, list(feeds), list(outputs), **attrs)
    ins = [helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), None)
           for k, v in feeds.items()]
    elem = helper.np_dtype_to_tensor_dtype(_out_dtype(op_type, feeds))
    outs = [helper.make_tensor_value_info(o, onnx.TensorProto.INT64 if o == "indices" else elem, None)
            for o in outputs]
    model = helper.make_model(helper.make_graph([node], "cnnspec", ins, outs),
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    return model


@functools.lru_cache(maxsize=256)
def _session(op_type: str, attrs: tuple, inputs: tuple, outputs: tuple, provider: str):
    feeds = {k: np.zeros(0, np.dtype(dt)) for k, dt in inputs}   # only the names and dtypes count
    if op_type == "QLinearConv":   # but the output's dtype is y_zero_point's
        feeds["y_zero_point"] = np.zeros((), dict(inputs)["y_zero_point"])
    model = _model(op_type, {k: list(v) if isinstance(v, tuple) else v for k, v in attrs}, feeds, outputs)
    options = ort.SessionOptions()
    options.log_severity_level = 3   # the refusal is raised as an exception; keep stderr quiet
    try:
        return ort.InferenceSession(model.SerializeToString(), options, providers=[provider])
    except Exception as e:  # noqa: BLE001 - ORT raises its own pybind classes
        if type(e).__name__ == "NotImplemented":
            dts = sorted({dt for k, dt in inputs if k in ("x", "w")})
            said = (str(e).splitlines() or [""])[0]
            if len(dts) == 1 and np.dtype(dts[0]).kind in "fV":   # a float dtype (bfloat16: kind V)
                raise NoKernel(NAME, dts[0], _DEVICES[provider], said) from None
            # an integer op's type combination (ConvInteger's int8 input, say) that the provider lacks
            raise NotExpressible(NAME, f"{op_type} on {', '.join(dts)} ({provider} has no kernel "
                                       f"for it: {said})") from None
        raise


def _run(req: F.Request):
    op_type, attrs, feeds, outputs = _node(req)
    key = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(attrs.items()))
    sess = _session(op_type, key, tuple((k, v.dtype.name) for k, v in feeds.items()), outputs,
                    _PROVIDER["provider"])
    res = sess.run(None, feeds)
    if len(outputs) == 1:
        return res[0]
    y, idx = res
    n, c = y.shape[:2]
    plane = int(np.prod(req.x.shape[2:]))
    offset = (np.arange(n)[:, None] * c + np.arange(c)[None, :]) * plane
    return y, idx - offset.reshape((n, c) + (1,) * req.nd)


F.define(globals(), FRAMEWORKS[NAME].ops, TITLE)


# --- reproductions ----------------------------------------------------------------------------------

def reproduce(op: str, args: tuple, kwargs: dict, expected) -> str:
    """A standalone ``onnx.helper`` graph run by ``onnxruntime.InferenceSession`` for this call."""
    req = F.parse(op, args, kwargs, NAME)
    op_type, attrs, feeds, outputs = _node(req)
    s = [F.header(TITLE, version(), op, req.call), "import onnxruntime as ort\nfrom onnx import helper\n"]
    for k, v in feeds.items():
        s.append(f"{k} = {F.literal(v)}\n")
    attr = ", ".join(f"{k}={v!r}" for k, v in attrs.items())
    s.append(f"node = helper.make_node({op_type!r}, {list(feeds)!r}, {list(outputs)!r}, {attr})\n")
    names = ", ".join(feeds)
    s.append("inputs = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)"
             f" for n, a in zip({list(feeds)!r}, [{names}])]\n")
    out = {"ConvInteger": "np.int32", "QLinearConv": "y_zero_point.dtype"}.get(op_type, "x.dtype")
    s.append(f"outputs = [helper.make_tensor_value_info('y', helper.np_dtype_to_tensor_dtype({out}), None)]"
             + (" + [helper.make_tensor_value_info('indices', 7, None)]  # INT64\n" if len(outputs) > 1 else "\n"))
    s.append(f'model = helper.make_model(helper.make_graph([node], "repro", inputs, outputs), '
             f'opset_imports=[helper.make_opsetid("", {OPSET})])\n'
             f"model.ir_version = {IR_VERSION}\n"
             f"sess = ort.InferenceSession(model.SerializeToString(), providers=[{_PROVIDER['provider']!r}])\n"
             f"got = sess.run(None, {{{', '.join(f'{k!r}: {k}' for k in feeds)}}})[0]\n")
    s.append(F.footer(expected))
    return "".join(s)
