"""Claims on the convolution family of real networks: transposed and 3-D convolution, padding modes
and SAME padding, integer convolution with zero points (group ``spec``).

Each check takes its inputs as keyword arguments with defaults, so a test can feed a broken matrix
or formula and watch the claim fail; each returns evidence (geometries, counts, first difference).
"""
from __future__ import annotations

import itertools
import time
from typing import Callable, Sequence

import numpy as np
import sympy

from ..claims import Outcome, claim
from .convolution import ConvSpec, mode_padding, output_size, weight_symbols
from .equivariance import is_circulant
from .integer import zero_point_sides
from .padding import (changed_rows, dense_from_table, pad_operator, padded_table, rows_touching_padding,
                      same_pads, valid_spec)
from .toeplitz import ConvMatrix
from .transposed import (TransposedMatrix, TransposedSpec, gather_formula, transpose_of_matching,
                         transposed_output_size)
from .transposed import weight_symbols as t_weight_symbols

DUMOULIN = "Dumoulin & Visin, A guide to convolution arithmetic for deep learning (2016), arXiv:1603.07285"
TORCH_CT = "PyTorch docs, torch.nn.ConvTranspose2d (shape; output_padding)"
TORCH_PAD = "PyTorch docs, torch.nn.functional.pad and torch.nn.Conv2d (padding_mode, padding='same')"
ONNX_CONV = "ONNX operator docs, Conv (auto_pad SAME_UPPER/SAME_LOWER)"
JACOB = ("Jacob et al., Quantization and Training of Neural Networks for Efficient "
         "Integer-Arithmetic-Only Inference (CVPR 2018) §2.2-2.3, eq. 7-8")

TRANSPOSED_SMALL: list[dict] = [
    dict(input_size=2, kernel_size=3, stride=2),
    dict(input_size=3, kernel_size=3, stride=2, padding=1, output_padding=1),
    dict(input_size=3, kernel_size=2, stride=1, dilation=2, output_padding=1),   # a < d, a >= s
    dict(input_size=(2, 3), kernel_size=(2, 2), stride=2, padding=((1, 0), (0, 1))),
    dict(input_size=(2, 2), kernel_size=(3, 2), in_channels=2, out_channels=4, groups=2, stride=(2, 1),
         padding=1, output_padding=(1, 0)),
    dict(input_size=(2, 2, 2), kernel_size=(2, 1, 2), stride=(2, 1, 1), in_channels=2, out_channels=2),
]
TRANSPOSED_LARGE: dict[str, dict] = {
    "U-Net decoder step (32x16x16 -> 16, 2x2, stride 2)": dict(
        input_size=(16, 16), kernel_size=(2, 2), in_channels=32, out_channels=16, stride=2),
    "DCGAN generator layer (16x8x8 -> 8, 4x4, stride 2, padding 1)": dict(
        input_size=(8, 8), kernel_size=(4, 4), in_channels=16, out_channels=8, stride=2, padding=1),
    "3-D decoder (8x4x8x8 -> 4, 3x3x3, stride 2, padding 1, output_padding 1)": dict(
        input_size=(4, 8, 8), kernel_size=(3, 3, 3), in_channels=8, out_channels=4, stride=2,
        padding=1, output_padding=1),
}
PADDED_SMALL: list[dict] = [
    dict(input_size=5, kernel_size=3, padding=2),
    dict(input_size=6, kernel_size=3, padding=((2, 1),), stride=2),
    dict(input_size=5, kernel_size=2, padding=1, dilation=2),
    dict(input_size=(3, 4), kernel_size=(2, 3), padding=((1, 0), (1, 1))),
    dict(input_size=(3, 3), kernel_size=(2, 2), padding=1, in_channels=2, out_channels=2, groups=2),
]


def _expand_equal(a: Sequence, b: Sequence) -> int | None:
    for i, (x, y) in enumerate(zip(a, b)):
        if sympy.expand(x - y) != 0:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


# --- transposed convolution ----------------------------------------------------------------------

@claim("conv.transpose.matrix",
       "The transposed convolution's matrix, derived in its scatter form (input i, tap j -> output "
       "i·s − p + j·d), is T(w)ᵀ of the matching convolution C_out -> C_in on inputs of the output "
       "size (the weight (C_in, C_out/g, *k) read unchanged as (C_out', C_in'/g, *k)), restricted to "
       "that convolution's first n outputs; it equals the gather sum y[o] = Σ_j x[(o + p − j·d)/s]·w[j].",
       f"{DUMOULIN} §4; {TORCH_CT}", "symbolic")
def check_transpose_matrix(small: Sequence[dict] = TRANSPOSED_SMALL,
                           large: dict = TRANSPOSED_LARGE,
                           matrix: Callable = TransposedMatrix) -> Outcome:
    rows = []
    for cfg in small:
        spec = TransposedSpec.make(**cfg)
        T = matrix(spec)
        x = [sympy.Symbol("x_" + "_".join(map(str, i)))
             for i in itertools.product(*map(range, spec.input_shape))]
        w = t_weight_symbols(spec)
        lhs = list(T.symbolic(w) * sympy.Matrix(x))
        bad = _expand_equal(lhs, gather_formula(spec, x, w))
        if bad is not None:
            return Outcome(False, f"out[{bad}] = {lhs[bad]}, but the gather sum is "
                                  f"{gather_formula(spec, x, w)[bad]} [{spec.describe()}]", {"checked": rows})
        if T.table != transpose_of_matching(spec):
            r, wi, c, a, b = T.table.first_difference(transpose_of_matching(spec))
            return Outcome(False, f"coefficient of w[{wi}]·x[{c}] in out[{r}] is {a}, but Tᵀ has {b} "
                                  f"[{spec.describe()}]", {"checked": rows})
        rows.append({"geometry": spec.describe(), "method": "sympy expand + coefficient tables"})
    for name, cfg in large.items():
        spec = TransposedSpec.make(**cfg)
        t0 = time.perf_counter()
        got, want = matrix(spec).table, transpose_of_matching(spec)
        if got != want:
            r, wi, c, a, b = got.first_difference(want)
            return Outcome(False, f"{name}: coefficient of w[{wi}]·x[{c}] in out[{r}] is {a}, but "
                                  f"Tᵀ has {b}", {"checked": rows})
        rows.append({"geometry": name, "method": "coefficient tables", "nnz": len(got),
                     "seconds": round(time.perf_counter() - t0, 3)})
    return Outcome(True, f"{len(rows)} geometries: transposed convolution = Tᵀ of the matching "
                         f"convolution", {"checked": rows}, examples=len(rows))


@claim("conv.transpose.output_size",
       "A transposed convolution's output has (n−1)s − 2p + d(k−1) + output_padding + 1 entries per "
       "axis; for output_padding a = 0…s−1 these are exactly the s sizes that the stride-s "
       "convolution maps back to n, which is why output_padding must be below the stride (or the "
       "dilation).", f"{TORCH_CT}; {DUMOULIN} §4.6, relationship 14", "exact")
def check_transpose_output_size(max_n: int = 7, size: Callable = transposed_output_size) -> Outcome:
    count = 0
    for n, k, s, p, d in itertools.product(range(1, max_n + 1), range(1, 5), range(1, 4), range(3),
                                           range(1, 3)):
        preimages = [m for m in range(1, n * s + d * k + 2)
                     if m + 2 * p >= d * (k - 1) + 1 and output_size(m, k, s, p, d) == n]
        want = [size(n, k, s, p, d, a) for a in range(s)]
        want = [m for m in want if m >= 1]
        if preimages != want:
            return Outcome(False, f"n={n}, k={k}, s={s}, p={p}, d={d}: the convolution maps sizes "
                                  f"{preimages} to {n}, but the transposed sizes for output_padding "
                                  f"0..{s - 1} are {want}", {"configurations": count})
        count += 1
    return Outcome(True, f"{count} configurations: output_padding 0..s−1 enumerates the sizes the "
                         f"convolution maps to n", {"configurations": count}, examples=count)


# --- 3-D ------------------------------------------------------------------------------------------

def depth_blocks(spec: ConvSpec, w: Sequence) -> dict[tuple[int, int], sympy.Matrix]:
    """The blocks ``T[o_d, a_d]`` of a one-channel 3-D convolution's matrix (depth-major)."""
    T = ConvMatrix(spec).symbolic(list(w))
    md, nd = spec.output_size[0], spec.input_size[0]
    bm, bn = T.rows // md, T.cols // nd
    return {(o, a): T[o * bm:(o + 1) * bm, a * bn:(a + 1) * bn] for o in range(md) for a in range(nd)}


@claim("conv.toeplitz.3d",
       "A 3-D convolution's matrix is block Toeplitz over depth with doubly block Toeplitz blocks: "
       "block (o_d, a_d) is the 2-D convolution matrix of the kernel slice w[a_d − o_d·s + p] (zero "
       "outside the kernel), so it depends on a_d − o_d only (stride 1), three levels of Toeplitz.",
       "CNN lecture, 'Convolution as matrix multiplication' (doubly block Toeplitz), extended to 3-D; "
       "Goodfellow, Bengio & Courville, Deep Learning (2016) §9.1", "symbolic")
def check_toeplitz_3d(configs: Sequence[dict] = (
        dict(input_size=(3, 3, 4), kernel_size=(2, 2, 2)),
        dict(input_size=(4, 3, 3), kernel_size=(3, 2, 2), padding=((1, 1), (0, 1), (1, 0))),
        dict(input_size=(5, 3, 3), kernel_size=(2, 2, 1), stride=(2, 1, 1), dilation=(2, 1, 1))),
        blocks: Callable = depth_blocks) -> Outcome:
    rows = []
    for cfg in configs:
        spec = ConvSpec.make(**cfg)
        w = weight_symbols(spec)
        kd, kh, kw = spec.kernel_size
        (lo, _), s, d = spec.padding[0], spec.stride[0], spec.dilation[0]
        plane = ConvSpec.make(spec.input_size[1:], spec.kernel_size[1:], stride=spec.stride[1:],
                              padding=spec.padding[1:], dilation=spec.dilation[1:])
        P = ConvMatrix(plane)
        got = blocks(spec, w)
        for (o, a), B in got.items():
            num = a - o * s + lo
            if num % d == 0 and 0 <= num // d < kd:
                j = num // d
                want = P.symbolic(w[j * kh * kw:(j + 1) * kh * kw])
            else:
                want = sympy.zeros(P.shape[0], P.shape[1])
            if (B - want).applyfunc(sympy.expand) != sympy.zeros(*B.shape):
                return Outcome(False, f"block (o_d={o}, a_d={a}) is not the 2-D matrix of kernel slice "
                                      f"{num // d if num % d == 0 else None} [{spec.describe()}]",
                               {"checked": rows})
        rows.append({"geometry": spec.describe(), "blocks": len(got)})
    return Outcome(True, f"{len(rows)} 3-D geometries: depth blocks are the 2-D matrices of the kernel "
                         f"slices", {"checked": rows}, examples=len(rows))


# --- padding modes --------------------------------------------------------------------------------

@claim("conv.padding.matrices",
       "With padding_mode reflect, replicate or circular a layer's matrix is T_valid·R, R the 0/1 "
       "padding operator (one 1 per row: reflect −j / 2(n−1)−j, replicate clip, circular j mod n); "
       "zero padding leaves the Toeplitz matrix, and the other modes change exactly the rows whose "
       "window has a tap in the padding (there an entry can be a sum of taps); circular equals the "
       "spec's circular convolution.", TORCH_PAD, "symbolic")
def check_padding_matrices(configs: Sequence[dict] = PADDED_SMALL, table: Callable = padded_table) -> Outcome:
    rows = []
    for cfg in configs:
        spec = ConvSpec.make(**cfg)
        w = weight_symbols(spec)
        zero = ConvMatrix(spec).table
        Tv = ConvMatrix(valid_spec(spec)).symbolic(w)
        for mode in ("constant", "reflect", "replicate", "circular"):
            try:
                t = table(spec, mode)
            except Exception as e:  # noqa: BLE001 - a geometry the mode refuses is skipped, said so
                rows.append({"geometry": spec.describe(), "mode": mode, "skipped": str(e)})
                continue
            R = sympy.Matrix(pad_operator(spec, mode).toarray())
            if (Tv * R - dense_from_table(t, (spec.n_out, spec.n_in), w)).applyfunc(sympy.expand) != \
                    sympy.zeros(spec.n_out, spec.n_in):
                return Outcome(False, f"{mode}: T_valid·R differs from the derived matrix "
                                      f"[{spec.describe()}]", {"checked": rows})
            changed = changed_rows(t, zero, spec.n_out)
            want = np.array([], np.int64) if mode == "constant" else rows_touching_padding(spec)
            if not np.array_equal(changed, want):
                return Outcome(False, f"{mode}: rows {changed.tolist()} differ from the zero-padded "
                                      f"Toeplitz matrix, but the windows in the padding are "
                                      f"{want.tolist()} [{spec.describe()}]", {"checked": rows})
            if mode == "circular" and t != ConvMatrix(ConvSpec.make(**cfg, padding_mode="circular")).table:
                return Outcome(False, f"circular: T·R is not the spec's circular convolution "
                                      f"[{spec.describe()}]", {"checked": rows})
            rows.append({"geometry": spec.describe(), "mode": mode, "rows_changed": len(changed)})
    return Outcome(True, f"{len(rows)} geometry × mode pairs: T_mode = T_valid·R, changed rows = "
                         f"windows in the padding", {"checked": rows}, examples=len(rows))


@claim("conv.padding.circulant",
       "Circular padding with p_lo + p_hi = d(k−1) and stride 1 makes the layer's matrix circulant "
       "exactly (doubly block circulant in 2-D), whichever way the padding is split.",
       f"{TORCH_PAD}; Gray, Toeplitz and Circulant Matrices: A Review (2006) §3", "symbolic")
def check_padding_circulant(configs: Sequence[dict] = (
        dict(input_size=5, kernel_size=3, padding=1), dict(input_size=5, kernel_size=3, padding=((2, 0),)),
        dict(input_size=6, kernel_size=2, padding=((0, 2),), dilation=2),
        dict(input_size=(3, 4), kernel_size=(2, 3), padding=((1, 0), (1, 1)))),
        table: Callable = padded_table) -> Outcome:
    rows = []
    for cfg in configs:
        spec = ConvSpec.make(**cfg)
        w = weight_symbols(spec)
        M = dense_from_table(table(spec, "circular"), (spec.n_out, spec.n_in), w)
        if spec.ndim == 1:
            ok = is_circulant(M)
        else:   # doubly block circulant: block (i, j) depends on (j − i) mod H, each block circulant
            h, bw = spec.input_size[0], spec.input_size[1]
            blk = {(i, j): M[i * bw:(i + 1) * bw, j * bw:(j + 1) * bw] for i in range(h) for j in range(h)}
            ok = all(blk[i, j] == blk[0, (j - i) % h] and is_circulant(blk[i, j])
                     for i in range(h) for j in range(h))
        if not ok:
            return Outcome(False, f"circular padding: the matrix is not "
                                  f"{'circulant' if spec.ndim == 1 else 'doubly block circulant'} "
                                  f"[{spec.describe()}]", {"checked": rows})
        rows.append({"geometry": spec.describe(), "shape": [M.rows, M.cols]})
    return Outcome(True, f"{len(rows)} geometries: circular padding gives a (block) circulant matrix",
                   {"checked": rows}, examples=len(rows))


@claim("conv.padding.same",
       "SAME padding makes the output ceil(n/s) with total padding max((ceil(n/s)−1)s + d(k−1) + 1 − n, 0); "
       "SAME_UPPER (TensorFlow, torch's padding='same') puts the odd pixel on the high side, "
       "SAME_LOWER on the low side; at stride 1 the total is d(k−1) for every n.",
       f"{ONNX_CONV}; {TORCH_PAD}", "exact")
def check_same(max_n: int = 12, pads: Callable = same_pads) -> Outcome:
    count = 0
    for n, k, s, d in itertools.product(range(1, max_n + 1), range(1, 6), range(1, 4), range(1, 3)):
        up, low = pads(n, k, s, d, True), pads(n, k, s, d, False)
        tot = up[0] + up[1]
        problems = []
        if n + tot < d * (k - 1) + 1 or output_size(n, k, s, up, d) != -(-n // s):
            problems.append(f"output is not ceil(n/s) = {-(-n // s)}")
        if low != (up[1], up[0]) or up[1] - up[0] not in (0, 1):
            problems.append(f"UPPER {up} and LOWER {low} are not the two splits, odd pixel high/low")
        if up != mode_padding(n, k, "same", s, d):
            problems.append(f"UPPER {up} is not the spec's 'same' {mode_padding(n, k, 'same', s, d)}")
        if s == 1 and tot != d * (k - 1):
            problems.append(f"total {tot} at stride 1 is not d(k−1) = {d * (k - 1)}")
        if problems:
            return Outcome(False, f"n={n}, k={k}, s={s}, d={d}: " + "; ".join(problems),
                           {"configurations": count})
        count += 1
    return Outcome(True, f"{count} configurations: SAME's output, total and split", {"configurations": count},
                   examples=count)


# --- integer convolution --------------------------------------------------------------------------

@claim("conv.integer.zero_point",
       "With zero points, conv(x − z_x, w − z_w) = conv(x, w) − z_w·Σx − z_x·Σw + K·z_x·z_w per output "
       "(Σx the window sum, Σw the output channel's weight sum, K = C_in/g·Πk), the input padded with "
       "z_x; per-channel z_w alike.", f"{JACOB}; ONNX operator docs, ConvInteger and QLinearConv",
       "symbolic")
def check_zero_point(configs: Sequence[dict] = (
        dict(input_size=4, kernel_size=2), dict(input_size=5, kernel_size=3, padding=1, stride=2),
        dict(input_size=(3, 3), kernel_size=(2, 2), in_channels=2, out_channels=2, padding=((1, 0), (0, 1))),
        dict(input_size=(3, 2), kernel_size=(2, 1), in_channels=4, out_channels=2, groups=2, dilation=(2, 1))),
        sides: Callable = zero_point_sides) -> Outcome:
    rows = []
    for cfg in configs:
        spec = ConvSpec.make(**cfg)
        for per_channel in (False, True):
            lhs, rhs = sides(spec, per_channel)
            bad = _expand_equal(lhs, rhs)
            if bad is not None:
                return Outcome(False, f"out[{bad}]: {sympy.expand(lhs[bad])} ≠ {sympy.expand(rhs[bad])} "
                                      f"[{spec.describe()}, per-channel z_w: {per_channel}]", {"checked": rows})
            rows.append({"geometry": spec.describe(), "per_channel": per_channel, "outputs": len(lhs)})
    return Outcome(True, f"{len(rows)} cases: the zero-point expansion holds as a polynomial identity",
                   {"checked": rows}, examples=len(rows))
