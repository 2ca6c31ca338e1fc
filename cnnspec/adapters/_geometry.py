"""The ``torch.nn.functional`` arguments of conv and pooling ops, parsed once for every adapter.

Each adapter needs the same facts in a framework-neutral form: per spatial axis the stride, the
``(lo, hi)`` padding, the dilation, and for pooling the kernel, the extra high padding that
``ceil_mode`` adds and the output size. They are computed here by PyTorch's rules, so that an
adapter module only *renames* them into its framework's API (a layout, an attribute list, a flat
pad order) and never recomputes geometry.

Arguments outside the calling convention's domain (stride 0, negative padding, a kernel that does
not fit) raise :class:`ArgumentError`, as the ``torch.nn.functional`` function does; arguments
outside PyTorch's limits but mathematically defined (pooling padding larger than half the kernel,
``(lo, hi)`` pairs) are passed on, so that the framework's own answer is what gets checked.

References
----------
PyTorch ``aten/src/ATen/native/Pool.h`` (``pooling_output_shape``: the ceil-mode rule that the
last window must start inside the input or its left padding) and the ``torch.nn.functional``
documentation of ``conv2d`` (``padding='same'`` needs stride 1), ``max_pool2d``, ``avg_pool2d``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..errors import UsageError

Pads = tuple[tuple[int, int], ...]


class ArgumentError(UsageError, ValueError):
    """An argument the ``torch.nn.functional`` function would reject (e.g. ``stride=0``)."""


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def ints(name: str, v, nd: int, lo: int) -> tuple[int, ...]:
    """``v`` (an int, or 1 or ``nd`` ints) as ``nd`` ints, each at least ``lo``."""
    vals = (v,) * nd if _is_int(v) else tuple(v) if isinstance(v, (tuple, list)) else None
    if vals is not None and len(vals) == 1:
        vals = vals * nd
    if vals is None or len(vals) != nd or not all(_is_int(a) for a in vals):
        raise ArgumentError(f"{name}={v!r}: expected an int or {nd} ints")
    if any(a < lo for a in vals):
        raise ArgumentError(f"{name}={v!r}: every entry must be >= {lo}")
    return tuple(int(a) for a in vals)


def pads(name: str, v, nd: int) -> Pads:
    """``padding`` as ``nd`` pairs ``(lo, hi)``: an int, ``nd`` ints, or ``nd`` ``(lo, hi)`` pairs."""
    if isinstance(v, (tuple, list)) and len(v) == nd and all(isinstance(p, (tuple, list)) for p in v):
        if not all(len(p) == 2 and _is_int(p[0]) and _is_int(p[1]) for p in v):
            raise ArgumentError(f"{name}={v!r}: expected {nd} (lo, hi) pairs of ints")
        out = tuple((int(a), int(b)) for a, b in v)
        if any(a < 0 or b < 0 for a, b in out):
            raise ArgumentError(f"{name}={v!r}: every entry must be >= 0")
        return out
    return tuple((p, p) for p in ints(name, v, nd, 0))


def span(k: int, d: int) -> int:
    return d * (k - 1) + 1


@dataclass(frozen=True)
class Conv:
    """A convolution's geometry: ``nd`` spatial axes, weight ``(O, C/groups, *kernel)``."""

    nd: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    pads: Pads
    dilation: tuple[int, ...]
    groups: int
    out: tuple[int, ...]


def conv(x: np.ndarray, w: np.ndarray, bias, stride, padding, dilation, groups, nd: int) -> Conv:
    """Check ``conv{nd}d``'s arguments as ``torch.nn.functional`` does; padding ``'same'``/``'valid'``."""
    if x.ndim != nd + 2 or w.ndim != nd + 2:
        raise ArgumentError(f"input {x.shape} and weight {w.shape}: conv{nd}d needs {nd + 2}-D arrays "
                            f"(N, C, {'*' * nd}) and (O, C/groups, {'*' * nd})")
    if not _is_int(groups) or groups < 1:
        raise ArgumentError(f"groups={groups!r}: expected an int >= 1")
    c, o, cg = x.shape[1], w.shape[0], w.shape[1]
    if cg * groups != c or o % groups:
        raise ArgumentError(f"groups={groups}: input channels {c} must be {groups} x weight.shape[1] "
                            f"({cg}) and weight.shape[0] ({o}) divisible by {groups}")
    if bias is not None and np.shape(bias) != (o,):
        raise ArgumentError(f"bias of shape {np.shape(bias)}: expected ({o},)")
    k, s, d = tuple(w.shape[2:]), ints("stride", stride, nd, 1), ints("dilation", dilation, nd, 1)
    if isinstance(padding, str):
        if padding == "valid":
            p = ((0, 0),) * nd
        elif padding == "same":
            if any(v != 1 for v in s):
                raise ArgumentError(f"padding='same' with stride={stride!r}: 'same' needs stride 1")
            # torch puts the odd extra pixel of d(k-1) on the high side, as TF's SAME does
            p = tuple(((span(ki, di) - 1) // 2, span(ki, di) - 1 - (span(ki, di) - 1) // 2)
                      for ki, di in zip(k, d))
        else:
            raise ArgumentError(f"padding={padding!r}: the strings allowed are 'valid' and 'same'")
    else:
        p = pads("padding", padding, nd)
    out = tuple((n + lo + hi - span(ki, di)) // si + 1
                for n, (lo, hi), ki, di, si in zip(x.shape[2:], p, k, d, s))
    if any(m < 1 for m in out):
        raise ArgumentError(f"kernel {k} with dilation {d} does not fit the padded input "
                            f"{tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], p))}")
    return Conv(nd, k, s, p, d, int(groups), out)


@dataclass(frozen=True)
class ConvTranspose:
    """A transposed convolution's geometry, weight ``(C_in, C_out/groups, *kernel)``; ``pads`` are
    the ``(lo, hi)`` entries cropped from the full output, ``output_padding`` added on the high side."""

    nd: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    pads: Pads
    output_padding: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int
    out: tuple[int, ...]


def conv_transpose(x: np.ndarray, w: np.ndarray, bias, stride, padding, output_padding, groups, dilation,
                   nd: int) -> ConvTranspose:
    """Check ``conv_transpose{nd}d``'s arguments as ``torch.nn.functional`` does."""
    if x.ndim != nd + 2 or w.ndim != nd + 2:
        raise ArgumentError(f"input {x.shape} and weight {w.shape}: conv_transpose{nd}d needs {nd + 2}-D "
                            f"arrays (N, C, {'*' * nd}) and (C, O/groups, {'*' * nd})")
    if not _is_int(groups) or groups < 1 or x.shape[1] != w.shape[0] or w.shape[0] % groups:
        raise ArgumentError(f"groups={groups!r}: weight.shape[0] ({w.shape[0]}) must equal the input "
                            f"channels ({x.shape[1]}) and be divisible by groups")
    if bias is not None and np.shape(bias) != (w.shape[1] * groups,):
        raise ArgumentError(f"bias of shape {np.shape(bias)}: expected ({w.shape[1] * groups},)")
    k, s, d = tuple(w.shape[2:]), ints("stride", stride, nd, 1), ints("dilation", dilation, nd, 1)
    p, op = pads("padding", padding, nd), ints("output_padding", output_padding, nd, 0)
    if any(o >= max(si, di) for o, si, di in zip(op, s, d)):
        raise ArgumentError(f"output_padding={output_padding!r}: must be smaller than stride or dilation")
    out = tuple((n - 1) * si - lo - hi + di * (ki - 1) + o + 1
                for n, si, (lo, hi), di, ki, o in zip(x.shape[2:], s, p, d, k, op))
    if any(m < 1 for m in out):
        raise ArgumentError(f"padding={padding!r}: the output {out} would be empty")
    return ConvTranspose(nd, k, s, p, op, d, int(groups), out)


@dataclass(frozen=True)
class Pool:
    """A pooling geometry. ``extra[i]`` is the high padding ``ceil_mode`` adds on axis ``i`` beyond
    ``pads[i][1]`` so that the last window fits (0 without ``ceil_mode``)."""

    nd: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    pads: Pads
    dilation: tuple[int, ...]
    ceil_mode: bool
    out: tuple[int, ...]
    extra: tuple[int, ...]

    @property
    def padded(self) -> bool:
        return any(lo or hi for lo, hi in self.pads)

    @property
    def ceil_changes_output(self) -> bool:
        """Whether ``ceil_mode`` adds a window that ``floor`` would not have (some ``extra > 0``)."""
        return any(self.extra)


def pool_out(n: int, lo: int, hi: int, k: int, s: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's ``pooling_output_shape`` with ``(lo, hi)`` padding: with ``ceil_mode`` the last
    window is dropped when it would start at or beyond ``n + lo`` (inside the right padding)."""
    m = (n + lo + hi - span(k, d) + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (m - 1) * s >= n + lo:
        m -= 1
    return m


def pool(x: np.ndarray, kernel_size, stride, padding, dilation, ceil_mode, nd: int) -> Pool:
    """Check ``*_pool{nd}d``'s arguments; ``stride=None`` (or ``[]``) means ``kernel_size``."""
    if x.ndim not in (nd + 1, nd + 2):
        raise ArgumentError(f"input of shape {x.shape}: pool{nd}d needs (N, C, {'*' * nd}) "
                            f"or (C, {'*' * nd})")
    k = ints("kernel_size", kernel_size, nd, 1)
    empty = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    s = k if empty else ints("stride", stride, nd, 1)
    p, d = pads("padding", padding, nd), ints("dilation", dilation, nd, 1)
    size = x.shape[-nd:]
    out = tuple(pool_out(n, lo, hi, ki, si, di, bool(ceil_mode))
                for n, (lo, hi), ki, si, di in zip(size, p, k, s, d))
    if any(m < 1 for m in out):
        raise ArgumentError(f"kernel_size={kernel_size!r}: the window does not fit the padded input "
                            f"{tuple(n + lo + hi for n, (lo, hi) in zip(size, p))}")
    extra = tuple(max((m - 1) * si + span(ki, di) - (n + lo + hi), 0)
                  for m, n, (lo, hi), ki, si, di in zip(out, size, p, k, s, d))
    return Pool(nd, k, s, p, d, bool(ceil_mode), out, extra)


def batched(x: np.ndarray, nd: int) -> tuple[np.ndarray, bool]:
    """``x`` with a batch axis (pooling accepts an unbatched ``(C, *spatial)`` input)."""
    return (x[None], True) if x.ndim == nd + 1 else (x, False)


def flat_pads(p: Sequence[tuple[int, int]]) -> list[int]:
    """ONNX order: all begins, then all ends (``[x1_begin, x2_begin, ..., x1_end, x2_end, ...]``)."""
    return [lo for lo, _ in p] + [hi for _, hi in p]
