"""torch.Tensor targets of the integer ops (``--array torch``): they check that every argument
arrives as a tensor of its ONNX dtype, then compute with the NumPy shim and return a tensor."""
import numpy as np
import torch

from cnnspec.conformance.shims import numpy_ops as S

QUANT = (torch.uint8, torch.int8)


def _np(t, dtypes):
    if type(t) is not torch.Tensor or t.dtype not in dtypes:
        raise TypeError(f"expected a tensor of {dtypes}, got {type(t).__name__} {getattr(t, 'dtype', '')}")
    return t.numpy()


def conv2d_integer(input, weight, x_zero_point, w_zero_point, stride=1, padding=0, dilation=1, groups=1):
    y = S.conv2d_integer(_np(input, QUANT), _np(weight, QUANT), _np(x_zero_point, (input.dtype,)),
                         _np(w_zero_point, (weight.dtype,)), stride, padding, dilation, groups)
    return torch.from_numpy(y)


def qlinear_conv2d(x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, bias=None,
                   stride=1, padding=0, dilation=1, groups=1):
    f32 = (torch.float32,)
    y = S.qlinear_conv2d(_np(x, QUANT), _np(x_scale, f32), _np(x_zero_point, (x.dtype,)), _np(w, QUANT),
                         _np(w_scale, f32), _np(w_zero_point, (w.dtype,)), _np(y_scale, f32),
                         _np(y_zero_point, QUANT), None if bias is None else _np(bias, (torch.int32,)),
                         stride, padding, dilation, groups)
    return torch.from_numpy(np.ascontiguousarray(y))


def qlinear_conv2d_float32(x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point,
                           bias=None, stride=1, padding=0, dilation=1, groups=1):
    """QLinearConv requantised in float32, as ONNX's reference and ONNX Runtime do (NumPy arrays):
    (acc · float32(x_scale·w_scale / y_scale)) rounded half to even. Correct, and not always equal to
    the exact rational rounding where acc·M lies within float32's error of a .5 boundary."""
    acc = S.conv2d_integer(x, w, x_zero_point, w_zero_point, stride, padding, dilation, groups)
    if bias is not None:
        acc = acc + np.asarray(bias, np.int32).reshape(1, -1, 1, 1)
    ws = np.asarray(w_scale, np.float32).reshape(-1)
    mult = (np.float32(x_scale) * ws / np.float32(y_scale)).astype(np.float32).reshape(1, -1, 1, 1)
    yz = np.asarray(y_zero_point)
    lo, hi = (0, 255) if yz.dtype == np.uint8 else (-128, 127)
    q = np.round(acc.astype(np.float32) * mult).astype(np.int64) + yz.astype(np.int64)
    return np.clip(q, lo, hi).astype(yz.dtype)
