"""Integer convolution with zero points, as an identity of polynomials.

Quantised tensors are affine: a real value is ``S·(q − Z)``. An integer convolution (ONNX
ConvInteger, QLinearConv) therefore computes ``(x − z_x) ⋆ (w − z_w)``, which expands to ::

    conv(x − z_x, w − z_w) = conv(x, w) − z_w·Σx − z_x·Σw + K·z_x·z_w

per output: ``Σx`` the window sum of the input (a convolution with a kernel of ones), ``Σw`` the
sum of that output channel's weights, ``K = C_in/g·Πk`` the taps per output (Jacob et al. 2018,
eq. 7–8; the form integer kernels use to run the GEMM on raw ``uint8`` data). The padding is
``z_x`` (a real zero), so the identity holds on the zero-point-padded input with every window full.
:func:`zero_point_sides` builds both sides with sympy from :func:`~.convolution.sum_formula`; the
claim ``conv.integer.zero_point`` expands their difference to 0. ``z_w`` may be one symbol per output
channel (per-channel quantisation).

>>> from cnnspec.spec.convolution import ConvSpec
>>> lhs, rhs = zero_point_sides(ConvSpec.make(3, 2))
>>> [sympy.expand(a - b) for a, b in zip(lhs, rhs)]
[0, 0]

References
----------
Jacob et al., *Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only
Inference* (CVPR 2018), §2.2–2.3, eq. 7–8.
ONNX operator docs, ``ConvInteger`` and ``QLinearConv``.
"""
from __future__ import annotations

import itertools

import sympy

from .convolution import ConvSpec, input_symbols, sum_formula, weight_symbols
from .padding import valid_spec


def _padded_input(spec: ConvSpec, zx: sympy.Symbol) -> list:
    """Symbols of the input, ``z_x`` at every padded position (C order over the padded shape)."""
    u = input_symbols(spec, "x")
    vs = valid_spec(spec)
    out = []
    for c, *pos in itertools.product(range(spec.in_channels), *map(range, vs.input_size)):
        src = [p - lo for p, (lo, _) in zip(pos, spec.padding)]
        if all(0 <= s < n for s, n in zip(src, spec.input_size)):
            flat = c
            for s, n in zip(src, spec.input_size):
                flat = flat * n + s
            out.append(u[flat])
        else:
            out.append(zx)
    return out


def zero_point_sides(spec: ConvSpec, per_channel: bool = False) -> tuple[list, list]:
    """``(conv(x − z_x, w − z_w), conv(x, w) − z_w·Σx − z_x·Σw + K·z_x·z_w)`` entry by entry."""
    zx = sympy.Symbol("z_x")
    zw = [sympy.Symbol(f"z_w_{o}") for o in range(spec.out_channels)] if per_channel else \
        [sympy.Symbol("z_w")] * spec.out_channels
    vs = valid_spec(spec)
    x = _padded_input(spec, zx)
    w = weight_symbols(spec)
    per_out = len(w) // spec.out_channels
    zw_of = [zw[i // per_out] for i in range(len(w))]
    lhs = sum_formula(vs, [v - zx for v in x], [wi - z for wi, z in zip(w, zw_of)])
    xw = sum_formula(vs, x, w)
    window = sum_formula(vs, x, [sympy.Integer(1)] * len(w))
    wsum = [sympy.Add(*w[o * per_out:(o + 1) * per_out]) for o in range(spec.out_channels)]
    m = len(lhs) // spec.out_channels
    K = spec.taps
    rhs = [xw[r] - zw[r // m] * window[r] - zx * wsum[r // m] + K * zx * zw[r // m]
           for r in range(len(lhs))]
    return lhs, rhs
