"""The exact oracle against torch's own float32 conv2d, side by side in one process.

    python benchmarks/bench_oracle.py [--batch 256] [--repeat 5]

Shapes: LeNet-5's convolutions C1, C3, C5 (LeCun et al. 1998, 32x32 input) and the three stages of
the CIFAR ResNets (He et al. 2016 §4.2: 3x3 convolutions with 16, 32, 64 filters on 32x32, 16x16,
8x8 maps, and the stride-2 transitions), batch 256. Data: integers in [-3, 3], so the exactness
certificate K·max|x|·max|w| < 2^24 holds and the oracle computes the exact result with an
independent float32 GEMM (NumPy's BLAS); the benchmark checks that torch agrees bit for bit. Each
time is the best of ``--repeat`` interleaved runs (this machine's 2 cores are shared: compare
the ratio).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from cnnspec import oracle

SHAPES = [  # name, C_in, H, C_out, k, stride, padding
    ("LeNet C1 1x32x32 -> 6, 5x5", 1, 32, 6, 5, 1, 0),
    ("LeNet C3 6x14x14 -> 16, 5x5", 6, 14, 16, 5, 1, 0),
    ("LeNet C5 16x5x5 -> 120, 5x5", 16, 5, 120, 5, 1, 0),
    ("ResNet stage1 16x32x32, 3x3", 16, 32, 16, 3, 1, 1),
    ("ResNet stage2 32x16x16, 3x3", 32, 16, 32, 3, 1, 1),
    ("ResNet stage3 64x8x8, 3x3", 64, 8, 64, 3, 1, 1),
    ("ResNet 16x32x32 -> 32, 3x3/2", 16, 32, 32, 3, 2, 1),
    ("ResNet 32x16x16 -> 64, 3x3/2", 32, 16, 64, 3, 2, 1),
]


def best_of(fns, repeat: int) -> list[float]:
    """Best time of each function, the runs interleaved so both see the same load."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for t, fn in zip(times, fns):
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
    return [min(t) for t in times]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, oneDNN "
          f"{torch.backends.mkldnn.is_available()}; batch {args.batch}; best of {args.repeat}")
    print(f"{'layer':32} {'oracle ms':>10} {'torch ms':>10} {'ratio':>7}  exact")
    ratios = []
    for name, cin, h, cout, k, s, p in SHAPES:
        x = rng.integers(-3, 4, (args.batch, cin, h, h)).astype(np.float32)
        w = rng.integers(-3, 4, (cout, cin, k, k)).astype(np.float32)
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)
        t_oracle, t_torch = best_of([lambda: oracle.conv2d(x, w, None, s, p),
                                     lambda: F.conv2d(tx, tw, None, s, p)], args.repeat)
        same = np.array_equal(oracle.conv2d(x, w, None, s, p), F.conv2d(tx, tw, None, s, p).numpy())
        ratios.append(t_oracle / t_torch)
        print(f"{name:32} {t_oracle * 1e3:10.2f} {t_torch * 1e3:10.2f} {ratios[-1]:7.2f}  {same}")
    print(f"{'geometric mean ratio':32} {'':10} {'':10} {float(np.exp(np.mean(np.log(ratios)))):7.2f}")


if __name__ == "__main__":
    main()
