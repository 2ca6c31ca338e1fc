"""Padding, exactly: the convolution's ``padding`` argument resolved to ``(lo, hi)`` pairs, and the
four padding modes of ``torch.nn.functional.pad`` (constant, reflect, replicate, circular).

Padding only copies values, so it is exact for any dtype (object arrays of ints/Fractions included).
The modes are NumPy's ``np.pad`` modes ``constant | reflect | edge | wrap`` (NumPy's ``reflect``
leaves the edge out, as torch's does); :mod:`cnnspec.spec.padding` derives the same operators
independently as 0/1 matrices, and the tests prove the two equal.

>>> import numpy as np
>>> pad(np.arange(4.).reshape(1, 1, 4), (2, 1), mode="reflect").tolist()
[[[2.0, 1.0, 0.0, 1.0, 2.0, 3.0, 2.0]]]
>>> conv_pads("same", kernel=(4,), dilation=(1,), stride=(1,))
[(1, 2)]

References
----------
PyTorch docs, ``torch.nn.functional.pad`` (the pad tuple starts at the last axis; reflect needs
pad < input size; circular wraps at most once) and ``torch.nn.Conv2d`` (``padding='same'|'valid'``;
``padding_mode`` pads with ``F.pad`` and then convolves with no padding).
ATen ``aten/src/ATen/native/Convolution.cpp`` (``_convolution_mode``: for ``'same'`` the odd
pixel of the total padding ``d·(k−1)`` goes to the high side; strided ``'same'`` is refused).
ONNX operator docs, ``Conv`` (``auto_pad`` SAME_UPPER / SAME_LOWER).
"""
from __future__ import annotations

from typing import Sequence, Union

import numpy as np

from ..errors import UsageError

PAD_MODES: tuple[str, ...] = ("constant", "reflect", "replicate", "circular")
# nn.Conv2d's padding_mode names -> F.pad's mode names
CONV_PADDING_MODES: dict[str, str] = {"zeros": "constant", "reflect": "reflect",
                                      "replicate": "replicate", "circular": "circular"}
_NUMPY_MODE = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}
Padding = Union[int, str, Sequence[int], Sequence[Sequence[int]]]


def _int(name: str, v, minimum: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise UsageError(f"{name}: {v!r} is not an integer; give whole numbers")
    if minimum is not None and v < minimum:
        raise UsageError(f"{name}: {int(v)} must be >= {minimum}")
    return int(v)


def conv_pads(padding: Padding, kernel: Sequence[int], dilation: Sequence[int],
              stride: Sequence[int]) -> list[tuple[int, int]]:
    """``(lo, hi)`` per spatial axis for a convolution's ``padding`` argument.

    ``padding`` is an int (every side), one int per axis, one ``(lo, hi)`` pair per axis (the
    calling convention's extension), ``'valid'`` (none) or ``'same'`` (torch: stride 1 only; the
    total ``d·(k−1)`` split with the odd pixel on the high side).
    """
    nd = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * nd
        if padding == "same":
            if any(s != 1 for s in stride):
                raise UsageError(f"padding: 'same' with stride {tuple(stride)}; rule: "
                                 f"padding='same' needs stride 1 (as torch); for a strided SAME "
                                 f"give explicit (lo, hi) pairs")
            tot = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return [(t // 2, t - t // 2) for t in tot]
        raise UsageError(f"padding: {padding!r} is not 'same', 'valid', an int, one int per axis "
                         f"or one (lo, hi) pair per axis")
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        p = _int("padding", padding, 0)
        return [(p, p)] * nd
    items = list(padding)
    if items and all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in items):
        if len(items) not in (1, nd):
            raise UsageError(f"padding: {tuple(items)!r} has {len(items)} entries but the input "
                             f"has {nd} spatial axes; give 1 or {nd}")
        vals = [_int("padding", p, 0) for p in items] * (nd // len(items))
        return [(p, p) for p in vals]
    pairs = [tuple(p) if isinstance(p, (tuple, list, np.ndarray)) else (p,) for p in items]
    if len(pairs) != nd or any(len(p) != 2 for p in pairs):
        raise UsageError(f"padding: {padding!r} must be one (lo, hi) pair per spatial axis "
                         f"({nd} here)")
    return [(_int("padding", lo, 0), _int("padding", hi, 0)) for lo, hi in pairs]


def torch_pad_pairs(pad_tuple: Sequence[int], ndim: int) -> list[tuple[int, int]]:
    """torch's flat pad tuple ``(lo_last, hi_last, lo_2nd_last, hi_2nd_last, …)`` as ``(lo, hi)``
    pairs for the trailing ``len(pad)/2`` axes, in axis order."""
    vals = [_int("pad", v) for v in pad_tuple]
    if len(vals) % 2 or len(vals) // 2 > ndim:
        raise UsageError(f"pad: {tuple(vals)!r} has {len(vals)} entries; rule: an even number, "
                         f"at most 2 per axis of the {ndim}-D input")
    pairs = [(vals[2 * i], vals[2 * i + 1]) for i in range(len(vals) // 2)]
    return pairs[::-1]


def pad_pairs(x: np.ndarray, pairs: Sequence[tuple[int, int]], mode: str = "constant",
              value=0, *, name: str = "pad") -> np.ndarray:
    """``x`` with its trailing ``len(pairs)`` axes padded in ``mode``; negative constant pads crop.

    Rules (torch's, each checked with a one-line :class:`~cnnspec.errors.UsageError`): ``reflect``
    needs ``pad < n`` on its axis, ``circular`` needs ``pad <= n`` (one wrap), ``replicate`` needs
    ``n >= 1``; only ``constant`` takes negative pads.
    """
    if mode not in PAD_MODES:
        raise UsageError(f"mode: {mode!r} is not one of {', '.join(PAD_MODES)}")
    x = np.asarray(x)
    lead = x.ndim - len(pairs)
    for ax, (lo, hi) in enumerate(pairs):
        n = x.shape[lead + ax]
        if mode != "constant" and min(lo, hi) < 0:
            raise UsageError(f"{name}: ({lo}, {hi}) on axis {lead + ax} is negative; rule: only "
                             f"mode 'constant' crops with negative pads")
        if mode == "reflect" and max(lo, hi) >= n:
            raise UsageError(f"{name}: ({lo}, {hi}) on axis {lead + ax} of size {n} in mode "
                             f"'reflect'; rule: reflect padding must be smaller than the input "
                             f"size (pad < {n})")
        if mode == "circular" and max(lo, hi) > n:
            raise UsageError(f"{name}: ({lo}, {hi}) on axis {lead + ax} of size {n} in mode "
                             f"'circular'; rule: circular padding wraps at most once (pad <= {n})")
        if mode == "replicate" and n == 0 and max(lo, hi) > 0:
            raise UsageError(f"{name}: axis {lead + ax} is empty; rule: replicate needs an edge value")
    # negative pads crop (constant mode only); the rest is np.pad
    crop = tuple(slice(None) for _ in range(lead)) + tuple(
        slice(max(-lo, 0), x.shape[lead + i] - max(-hi, 0)) for i, (lo, hi) in enumerate(pairs))
    x = x[crop]
    widths = [(0, 0)] * lead + [(max(lo, 0), max(hi, 0)) for lo, hi in pairs]
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=value)
    return np.pad(x, widths, mode=_NUMPY_MODE[mode])


def pad(input, pad: Sequence[int], mode: str = "constant", value=None) -> np.ndarray:
    """``torch.nn.functional.pad``: the pad tuple starts at the last axis; exact for any dtype.

    >>> pad(np.arange(3).reshape(1, 3), (1, 2), mode="circular").tolist()
    [[2, 0, 1, 2, 0, 1]]
    """
    x = np.asarray(input)
    if mode not in PAD_MODES:
        raise UsageError(f"mode: {mode!r} is not one of {', '.join(PAD_MODES)}")
    if mode != "constant" and value not in (None, 0):
        raise UsageError(f"value: {value!r} with mode {mode!r}; rule: only mode 'constant' takes "
                         f"a fill value")
    return pad_pairs(x, torch_pad_pairs(pad, x.ndim), mode, 0 if value is None else value)
