"""Benchmark: deriving and verifying a convolution matrix symbolically, exactly.

Baseline ("the naive way"): a dense ``sympy.Matrix`` T(w) with symbolic entries, the
product ``T·u`` expanded entry by entry and compared with the expanded sum formula.
cnnspec: the pattern ``(row, col, widx)`` of T and the bilinear coefficient tables of ``T(w)·u`` and
of the sum formula, compared as sorted integer arrays — equal tables ⇔ equal polynomials.

Both run in this one process on the same geometries; the ratio is printed at equal size. Sizes
where the naive method takes minutes are run only with ``--naive-max`` large enough.

    python benchmarks/bench_toeplitz.py                 # naive up to 32x32x1 with 5x5
    python benchmarks/bench_toeplitz.py --naive-max 240000   # also LeNet-5 C3 (~75 s naive)
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import sympy  # noqa: E402

from cnnspec.spec.convolution import ConvSpec, input_symbols, sum_formula, weight_symbols  # noqa: E402
from cnnspec.spec.toeplitz import ConvMatrix, sum_formula_table  # noqa: E402

GEOMETRIES = [
    ("1-D n=64, k=5", dict(input_size=64, kernel_size=5)),
    ("16x16x1, 5x5", dict(input_size=(16, 16), kernel_size=(5, 5))),
    ("32x32x1, 5x5 (LeNet-5 C1, one filter)", dict(input_size=(32, 32), kernel_size=(5, 5))),
    ("14x14x6, 16 of 5x5x6 (LeNet-5 C3)", dict(input_size=(14, 14), kernel_size=(5, 5),
                                               in_channels=6, out_channels=16)),
    ("32x32x16, 16 of 3x3x16, pad 1 (ResNet-20 conv)", dict(
        input_size=(32, 32), kernel_size=(3, 3), in_channels=16, out_channels=16, padding=1)),
    ("32x32x32, 32 of 3x3x32, pad 1 (4x the ResNet-20 conv)", dict(
        input_size=(32, 32), kernel_size=(3, 3), in_channels=32, out_channels=32, padding=1)),
]


def naive(spec: ConvSpec) -> tuple[float, bool]:
    t0 = time.perf_counter()
    u, w = input_symbols(spec), weight_symbols(spec)
    T = ConvMatrix(spec)
    dense = sympy.zeros(*T.shape)
    for r, c, i in zip(T.rows, T.cols, T.widx):
        dense[int(r), int(c)] = w[int(i)]
    prod = dense * sympy.Matrix(u)
    ref = sum_formula(spec, u, w)
    ok = all(sympy.expand(prod[i] - ref[i]) == 0 for i in range(len(ref)))
    return time.perf_counter() - t0, ok


def fast(spec: ConvSpec) -> tuple[float, bool, int]:
    t0 = time.perf_counter()
    T = ConvMatrix(spec)
    ok = T.table == sum_formula_table(spec)
    return time.perf_counter() - t0, ok, T.nnz


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--naive-max", type=int, default=25_000,
                    help="run the naive method only up to this many non-zeros (default 25000)")
    ap.add_argument("--repeat", type=int, default=3, help="best of N for the fast method")
    args = ap.parse_args()
    print(f"{'geometry':52s} {'nnz':>9s} {'naive s':>9s} {'cnnspec s':>10s} {'ratio':>8s} {'us/nnz':>7s}")
    for name, cfg in GEOMETRIES:
        spec = ConvSpec.make(**cfg)
        runs = [fast(spec) for _ in range(args.repeat)]
        t_fast = min(r[0] for r in runs)
        ok_fast, nnz = runs[0][1], runs[0][2]
        assert ok_fast, f"{name}: tables differ"
        if nnz <= args.naive_max:
            t_naive, ok_naive = naive(spec)
            assert ok_naive, f"{name}: naive comparison failed"
            naive_s, ratio = f"{t_naive:9.2f}", f"{t_naive / t_fast:7.0f}x"
        else:
            naive_s, ratio = f"{'(skip)':>9s}", f"{'':>8s}"
        print(f"{name:52s} {nnz:9d} {naive_s} {t_fast:10.3f} {ratio} {1e6 * t_fast / nnz:7.3f}", flush=True)


if __name__ == "__main__":
    main()
