"""The exact pooling oracle against torch's own float32 pooling, side by side in one process.

    python benchmarks/bench_oracle_pool.py [--batch 64] [--repeat 7] [--torch-threads N]

Shapes: LeNet-5's subsampling layers S2 (6×28×28, 2×2/2) and S4 (16×10×10, 2×2/2) (LeCun et al.
1998); the ResNet stem's 3×3/2 max pooling with padding 1 on 64×56×56 and the global average
pooling of the last stage, 512×7×7 (He et al. 2016, Table 1; torchvision's ``adaptive_avg_pool2d``),
and of a CIFAR ResNet, 64×8×8 (§4.2); a 3-D shape, 2×2×2/2 pooling of 32×8×28×28 (a C3D-style
video block). Data: N(0, 1) float32, so the oracle's float64 window sums are certified exact by the
data's exponent range and each average is the exact rational rounded once; the benchmark checks
that torch's maxima and indices equal the oracle's bit for bit and its averages lie within the
rigorous bound ``γ_{K+2}·Σ|x|/K``. Each time is the median of ``--repeat`` interleaved runs after
a warm-up, with the spread (min–max) beside it; the ratio oracle/torch is per shape, and the
geometric mean over the shapes closes the table. The target is a ratio ≤ 2 on every shape.
"""
from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from cnnspec import oracle

SHAPES = [  # name, op, (C, *spatial), kwargs
    ("LeNet S2 max 6x28x28, 2x2/2", "max_pool2d", (6, 28, 28), dict(kernel_size=2)),
    ("LeNet S2 avg 6x28x28, 2x2/2", "avg_pool2d", (6, 28, 28), dict(kernel_size=2)),
    ("LeNet S4 max 16x10x10, 2x2/2", "max_pool2d", (16, 10, 10), dict(kernel_size=2)),
    ("ResNet stem max 64x56x56, 3x3/2 p1", "max_pool2d", (64, 56, 56), dict(kernel_size=3, stride=2, padding=1)),
    ("  ... with indices", "max_pool2d", (64, 56, 56), dict(kernel_size=3, stride=2, padding=1,
                                                            return_indices=True)),
    ("ResNet GAP 512x7x7", "adaptive_avg_pool2d", (512, 7, 7), dict(output_size=1)),
    ("CIFAR ResNet GAP 64x8x8", "adaptive_avg_pool2d", (64, 8, 8), dict(output_size=1)),
    ("3-D max 32x8x28x28, 2x2x2/2", "max_pool3d", (32, 8, 28, 28), dict(kernel_size=2)),
    ("3-D avg 32x8x28x28, 2x2x2/2", "avg_pool3d", (32, 8, 28, 28), dict(kernel_size=2)),
]


def interleaved(fns, repeat: int) -> list[list[float]]:
    """Times of each function over ``repeat`` rounds, one call of each per round, after a warm-up."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for t, fn in zip(times, fns):
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
    return times


def agrees(op: str, got, want, x: np.ndarray, kw: dict) -> str:
    """"bit-exact" or "within bound"; raises AssertionError if torch is outside either."""
    if isinstance(want, tuple):
        assert np.array_equal(got[0], want[0].numpy()) and np.array_equal(got[1], want[1].numpy())
        return "bit-exact"
    if "max" in op:
        assert np.array_equal(got, want.numpy())
        return "bit-exact"
    scale = getattr(oracle, op)(np.abs(x), **kw)
    k = math.prod(x.shape[2:]) if op.startswith("adaptive") else kw["kernel_size"] ** (x.ndim - 2)
    err = np.abs(want.double().numpy() - got)
    assert np.all(err <= oracle.gamma(k + 2, "float32") * scale + 2 ** -24 * np.abs(got))
    return "within bound" if np.any(err) else "bit-exact"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--torch-threads", type=int, default=None, help="default: torch's own choice")
    args = ap.parse_args()
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; numpy {np.__version__}; "
          f"batch {args.batch}; median of {args.repeat} interleaved runs (min-max)")
    print(f"{'shape':36} {'oracle ms':>20} {'torch ms':>20} {'ratio':>6}  agreement")
    ratios = []
    for name, op, shape, kw in SHAPES:
        x = rng.normal(size=(args.batch, *shape)).astype(np.float32)
        xt = torch.from_numpy(x)
        to, tt = interleaved([lambda: getattr(oracle, op)(x, **kw), lambda: getattr(F, op)(xt, **kw)],
                             args.repeat)
        how = agrees(op, getattr(oracle, op)(x, **kw), getattr(F, op)(xt, **kw), x, kw)
        mo, mt = statistics.median(to), statistics.median(tt)
        ratios.append(mo / mt)
        fmt = lambda t, m: f"{m * 1e3:7.2f} ({min(t) * 1e3:.2f}-{max(t) * 1e3:.2f})"  # noqa: E731
        print(f"{name:36} {fmt(to, mo):>20} {fmt(tt, mt):>20} {mo / mt:6.2f}  {how}")
    geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    over = [name.strip() for (name, *_), r in zip(SHAPES, ratios) if r > 2]
    print(f"geometric mean of the ratios: {geo:.2f}; worst {max(ratios):.2f}; over the 2x target: "
          f"{', '.join(over) if over else 'none'}")


if __name__ == "__main__":
    main()
