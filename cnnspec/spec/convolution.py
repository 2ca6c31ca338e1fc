"""Discrete convolution and cross-correlation in 1-D, 2-D and N-D; the output-size arithmetic.

The lecture defines discrete convolution as ``s_t = Σ_a u_a w_{t−a}`` with the signals zero outside
their support, and notes that deep-learning frameworks compute cross-correlation
``s_t = Σ_a u_{t+a} w_a`` instead (the same operation with the kernel flipped). A layer adds
channels, groups, stride, zero padding and dilation. :class:`ConvSpec` is that geometry, validated;
:func:`sum_formula` writes the output as sympy expressions straight from the definition.

Every size follows one rule (PyTorch ``Conv2d`` docs; Dumoulin & Visin 2016, relationship 15)::

    out = floor((n + p_lo + p_hi − d·(k − 1) − 1) / s) + 1

References
----------
Goodfellow, Bengio & Courville, *Deep Learning* (2016), §9.1, eq. 9.4 and 9.6.
Dumoulin & Visin, *A guide to convolution arithmetic for deep learning* (2016), arXiv:1603.07285.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Literal, Sequence, Union

import sympy

Mode = Literal["full", "same", "valid"]
MODES: tuple[str, ...] = ("full", "same", "valid")
PaddingMode = Literal["zeros", "circular"]
IntOrSeq = Union[int, Sequence[int]]
PaddingArg = Union[int, str, Sequence[int], Sequence[Sequence[int]]]


class SpecError(ValueError):
    """A geometry that breaks a rule. The message names the argument, the value and the rule.

    The command line reports it as a usage error (exit code 2); see :mod:`cnnspec.errors`.
    """

    exit_code = 2


def output_size(n: int, k: int, stride: int = 1, padding: int | tuple[int, int] = 0,
                dilation: int = 1) -> int:
    """Output length of a convolution along one axis: ``floor((n + 2p − d(k−1) − 1)/s) + 1``.

    ``padding`` is an int (both sides) or a pair ``(lo, hi)``. Raises :class:`SpecError` when the
    dilated kernel does not fit in the padded input.

    >>> output_size(32, 5), output_size(28, 5, padding=2), output_size(32, 3, stride=2, padding=1)
    (28, 28, 16)
    """
    lo, hi = (padding, padding) if isinstance(padding, int) else padding
    span = dilation * (k - 1) + 1
    if n + lo + hi < span:
        raise SpecError(f"kernel: dilated kernel size {span} is larger than the padded input "
                        f"{n + lo + hi} (n={n}, padding=({lo},{hi})); rule: d*(k-1)+1 <= n + padding; "
                        f"use a smaller kernel or more padding")
    return (n + lo + hi - span) // stride + 1


def mode_padding(n: int, k: int, mode: str, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """Padding ``(lo, hi)`` of the classic modes along one axis.

    ``valid``: none; ``full``: ``d(k−1)`` on each side, every partial overlap; ``same``: output
    ``ceil(n/s)``, the total padding split with the odd one on the high side (TensorFlow's SAME,
    ONNX SAME_UPPER, PyTorch ``padding='same'``).
    """
    span = dilation * (k - 1) + 1
    if mode == "valid":
        return (0, 0)
    if mode == "full":
        return (span - 1, span - 1)
    if mode == "same":
        out = -(-n // stride)
        total = max((out - 1) * stride + span - n, 0)
        return (total // 2, total - total // 2)
    raise SpecError(f"mode: {mode!r} is not one of {', '.join(MODES)}")


def _tuple(name: str, value: IntOrSeq, ndim: int, minimum: int) -> tuple[int, ...]:
    vals = tuple(value) if isinstance(value, (tuple, list)) else (value,) * ndim
    if len(vals) == 1 and ndim > 1:
        vals = vals * ndim
    if len(vals) != ndim:
        raise SpecError(f"{name}: {value!r} has {len(vals)} entries but the input has {ndim} spatial "
                        f"dimensions; give one int or {ndim} ints")
    for v in vals:
        if not isinstance(v, int) or isinstance(v, bool):
            raise SpecError(f"{name}: {value!r} is not an integer; give whole numbers")
        if v < minimum:
            raise SpecError(f"{name}: {v} must be >= {minimum}")
    return vals


@dataclass(frozen=True)
class ConvSpec:
    """The geometry of one convolution layer. Build it with :meth:`make`, which validates.

    Arrays are laid out as in PyTorch: input ``(C_in, *n)``, weight ``(C_out, C_in/groups, *k)``,
    output ``(C_out, *m)``, each flattened in C order (row-major) when written as a vector.
    """

    input_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    in_channels: int = 1
    out_channels: int = 1
    groups: int = 1
    stride: tuple[int, ...] = (1,)
    padding: tuple[tuple[int, int], ...] = ((0, 0),)
    dilation: tuple[int, ...] = (1,)
    convolution: bool = False
    padding_mode: PaddingMode = "zeros"

    @classmethod
    def make(cls, input_size: IntOrSeq, kernel_size: IntOrSeq, *, in_channels: int = 1,
             out_channels: int = 1, groups: int = 1, stride: IntOrSeq = 1,
             padding: PaddingArg = 0, dilation: IntOrSeq = 1, convolution: bool = False,
             padding_mode: PaddingMode = "zeros") -> "ConvSpec":
        """Validated geometry. ``padding`` is an int, one int per axis, ``(lo, hi)`` pairs per
        axis, or a mode name ``'full' | 'same' | 'valid'``.

        >>> ConvSpec.make((3, 4), (2, 2)).output_size
        (2, 3)
        >>> ConvSpec.make(6, 3, padding="full").output_size
        (8,)
        """
        n = _tuple("input", input_size, len(input_size) if not isinstance(input_size, int) else 1, 1)
        ndim = len(n)
        k = _tuple("kernel", kernel_size, ndim, 1)
        s = _tuple("stride", stride, ndim, 1)
        d = _tuple("dilation", dilation, ndim, 1)
        for name, v in (("in-channels", in_channels), ("out-channels", out_channels),
                        ("groups", groups)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise SpecError(f"{name}: {v!r} must be a positive integer")
        if in_channels % groups or out_channels % groups:
            raise SpecError(f"groups: {groups} must divide in-channels ({in_channels}) and "
                            f"out-channels ({out_channels})")
        if isinstance(padding, str):
            pads = tuple(mode_padding(n[i], k[i], padding, s[i], d[i]) for i in range(ndim))
        elif isinstance(padding, int) or (len(padding) and all(isinstance(p, int) for p in padding)):
            pads = tuple((p, p) for p in _tuple("padding", padding, ndim, 0))  # type: ignore[arg-type]
        else:
            pairs = [tuple(p) for p in padding]  # type: ignore[union-attr]
            if len(pairs) != ndim or any(len(p) != 2 for p in pairs):
                raise SpecError(f"padding: {padding!r} must be one (lo, hi) pair per spatial axis")
            flat = _tuple("padding", [v for p in pairs for v in p], 2 * ndim, 0)
            pads = tuple((flat[2 * i], flat[2 * i + 1]) for i in range(ndim))
        if padding_mode not in ("zeros", "circular"):
            raise SpecError(f"padding-mode: {padding_mode!r} is not 'zeros' or 'circular'")
        spec = cls(n, k, in_channels, out_channels, groups, s, pads, d, bool(convolution), padding_mode)
        spec.output_size  # raises when the kernel does not fit
        if padding_mode == "circular" and any(max(p) > ni for p, ni in zip(pads, n)):
            raise SpecError("padding: circular padding larger than the input wraps more than once; "
                            "use padding <= input size")
        return spec

    # --- derived sizes -------------------------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.input_size)

    @property
    def output_size(self) -> tuple[int, ...]:
        return tuple(output_size(n, k, s, p, d) for n, k, s, p, d in
                     zip(self.input_size, self.kernel_size, self.stride, self.padding, self.dilation))

    @property
    def weight_shape(self) -> tuple[int, ...]:
        return (self.out_channels, self.in_channels // self.groups, *self.kernel_size)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.in_channels, *self.input_size)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (self.out_channels, *self.output_size)

    @property
    def n_in(self) -> int:
        return math.prod(self.input_shape)

    @property
    def n_out(self) -> int:
        return math.prod(self.output_shape)

    @property
    def n_weights(self) -> int:
        return math.prod(self.weight_shape)

    @property
    def taps(self) -> int:
        """k: kernel entries that meet one output (per output channel): C_in/groups · Π k."""
        return (self.in_channels // self.groups) * math.prod(self.kernel_size)

    def describe(self) -> str:
        op = "convolution" if self.convolution else "cross-correlation"
        x = "x".join(map(str, self.input_size))
        kk = "x".join(map(str, self.kernel_size))
        parts = [f"{op} {self.ndim}-D: input {self.in_channels}x{x}, kernel {kk}",
                 f"{self.out_channels} out-channels"]
        if self.groups > 1:
            parts.append(f"groups {self.groups}")
        if any(v != 1 for v in self.stride):
            parts.append(f"stride {self.stride}")
        if any(p != (0, 0) for p in self.padding):
            parts.append(f"padding {self.padding}")
        if any(v != 1 for v in self.dilation):
            parts.append(f"dilation {self.dilation}")
        if self.padding_mode != "zeros":
            parts.append(f"{self.padding_mode} padding")
        return ", ".join(parts) + f" -> output {'x'.join(map(str, self.output_shape))}"


# --- symbols --------------------------------------------------------------------------------------

def _name(prefix: str, idx: tuple[int, ...]) -> str:
    return prefix + "_" + "_".join(map(str, idx)) if idx else prefix


def input_symbols(spec: ConvSpec, prefix: str = "u") -> list[sympy.Symbol]:
    """Symbols ``u_c_i_j…`` for the input, in C order (channel first)."""
    return [sympy.Symbol(_name(prefix, i)) for i in itertools.product(*map(range, spec.input_shape))]


def weight_symbols(spec: ConvSpec, prefix: str = "w") -> list[sympy.Symbol]:
    """Symbols ``w_o_c_i_j…`` for the weight, in C order over ``(C_out, C_in/groups, *k)``."""
    return [sympy.Symbol(_name(prefix, i)) for i in itertools.product(*map(range, spec.weight_shape))]


def _ravel(idx: Sequence[int], shape: Sequence[int]) -> int:
    flat = 0
    for i, n in zip(idx, shape):
        flat = flat * n + i
    return flat


def window_start(spec: ConvSpec, o: Sequence[int]) -> tuple[int, ...]:
    """First input position (per axis) that output position ``o`` reads: ``o·s − p_lo``."""
    return tuple(oi * s - p[0] for oi, s, p in zip(o, spec.stride, spec.padding))


def sum_formula(spec: ConvSpec, u: Sequence | None = None, w: Sequence | None = None) -> list:
    """Every output entry straight from the definition, as sympy expressions (C order).

    Written as the lecture writes it, a sum over *input* positions ``a``: for convolution
    ``s_t = Σ_a u_a w_{t−a}`` (generalised: kernel index ``j = (t·s − p + d(k−1) − a)/d``), for
    cross-correlation the kernel index ``j = (a − t·s + p)/d``; terms whose kernel index is not a
    whole number in ``[0, k)`` vanish, and so do positions outside the input (zero padding) unless
    the padding is circular. This is deliberately not how :mod:`cnnspec.spec.toeplitz` enumerates
    the matrix (over kernel taps), so that the two derivations check each other.

    >>> x, y, z = sympy.symbols("x y z"); a, b, c, d, e, f = sympy.symbols("a:f")
    >>> sum_formula(ConvSpec.make(6, 3, padding="full", convolution=True), [a, b, c, d, e, f], [z, y, x])[3:7]
    [b*x + c*y + d*z, c*x + d*y + e*z, d*x + e*y + f*z, e*x + f*y]
    """
    u = list(u) if u is not None else input_symbols(spec)
    w = list(w) if w is not None else weight_symbols(spec)
    if len(u) != spec.n_in or len(w) != spec.n_weights:
        raise SpecError(f"sum_formula: got {len(u)} inputs and {len(w)} weights, the geometry needs "
                        f"{spec.n_in} and {spec.n_weights}")
    cpg_in = spec.in_channels // spec.groups
    cpg_out = spec.out_channels // spec.groups
    out = []
    for co in range(spec.out_channels):
        g = co // cpg_out
        for t in itertools.product(*map(range, spec.output_size)):
            terms = []
            for cl in range(cpg_in):
                ci = g * cpg_in + cl
                # the input positions a of the sum; terms outside the window's span have no kernel
                # index in [0, k) and vanish, so the sum runs over the span only
                ranges = [range(ti * s - p[0], ti * s - p[0] + d * (k - 1) + 1) for ti, s, p, d, k in
                          zip(t, spec.stride, spec.padding, spec.dilation, spec.kernel_size)]
                for a in itertools.product(*ranges):
                    j = []
                    for ax, ai in enumerate(a):
                        s, pl, d, k = spec.stride[ax], spec.padding[ax][0], spec.dilation[ax], spec.kernel_size[ax]
                        num = (t[ax] * s - pl + d * (k - 1) - ai) if spec.convolution else (ai - t[ax] * s + pl)
                        if num % d or not 0 <= num // d < k:
                            break
                        j.append(num // d)
                    else:
                        if spec.padding_mode == "circular":
                            a = tuple(ai % n for ai, n in zip(a, spec.input_size))
                        elif any(not 0 <= ai < n for ai, n in zip(a, spec.input_size)):
                            continue
                        terms.append(u[_ravel((ci, *a), spec.input_shape)] *
                                     w[_ravel((co, cl, *j), spec.weight_shape)])
            out.append(sympy.Add(*terms))
    return out


def flip(spec: ConvSpec, w: Sequence) -> list:
    """The weight vector with every spatial kernel axis reversed (channels untouched)."""
    shape = spec.weight_shape
    res = [None] * len(w)
    for idx in itertools.product(*map(range, shape)):
        fl = (*idx[:2], *(k - 1 - i for i, k in zip(idx[2:], shape[2:])))
        res[_ravel(fl, shape)] = w[_ravel(idx, shape)]
    return res
