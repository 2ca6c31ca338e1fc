"""The exact pooling oracle against torch's own float32 pooling, side by side in one process.

    python benchmarks/bench_oracle_pool.py [--batch 64] [--repeat 7] [--runs 3] [--torch-threads 1]

Shapes, per network (batch ``--batch``, default 64):

* LeNet-5 (LeCun et al. 1998): the subsampling layers S2 (6×28×28, 2×2/2; max and LeNet's own
  average) and S4 (16×10×10, 2×2/2), and L2 pooling (``lp_pool2d``, p = 2; Sermanet et al. 2012) of
  S2's input.
* ResNet (He et al. 2016, Table 1; torchvision ``resnet.py``): the stem's 3×3/2 max pooling, padding
  1, of conv1's 64×112×112 output, with and without indices, and ``max_unpool2d`` of it back to
  112×112; the global average pooling of the last stage, 512×7×7, and its global max.
* SPP-net (He et al. 2014, §2.3): adaptive pooling of conv5's 256×13×13 into the 6×6 pyramid bin
  (windows of uneven size: 13 is not a multiple of 6), max and average.
* 3-D: I3D's stem max pooling (1,3,3)/(1,2,2), padding (0,1,1), of 64×8×56×56 (Carreira and
  Zisserman 2017, Fig. 3); C3D's 2×2×2/2 pooling of 32×8×28×28 (Tran et al. 2015), max and average;
  R3D-18's global average pooling ``adaptive_avg_pool3d(·, 1)`` of 512×2×7×7 (Tran et al. 2018;
  torchvision ``video/resnet.py`` on a 16×112×112 clip).

Data: N(0, 1) float32. The oracle's maxima and indices must equal torch's bit for bit; its
averages are the exact rationals rounded once to float64, and torch's float32 averages must lie
within the rigorous bound ``γ_{K+2}·mean|x| + u·|mean|`` of them (L2 pooling: the relative bound
``γ_{K+3}/2 + 2u``; torch's ``pow(·, 0.5)`` is a square root). The oracle's sums are certified exact
(see ``cnnspec/oracle/pool_sums.py``), whichever path the data take. Global, adaptive and L2 pooling
add with numba's compiled loops where numba is installed (``pip install 'cnnspec[fast]'``; the
header says whether it is), else with NumPy.

Timing: one warm-up call of each, then ``--repeat`` rounds with the oracle and torch called
alternately, so that load on the (shared) machine hits both alike; each figure is the median with
the min–max spread; the ratios oracle/torch are per shape, of the medians and of the minima (the
fastest round is the one least disturbed by other processes), and each run closes with their
geometric means per network and overall, and the 1-minute load average. ``--runs`` repeats the
whole table; the script prints the spread of the runs' overall geometric means. NumPy's pooling
uses no BLAS and runs on one thread, so torch is pinned to one thread too (``--torch-threads``).
"""
from __future__ import annotations

import argparse
import ctypes
import glob
import math
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))   # this checkout's cnnspec

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from cnnspec import oracle  # noqa: E402
from cnnspec.shapes import as_tuple  # noqa: E402

STEM = dict(kernel_size=3, stride=2, padding=1)
SHAPES = [  # network, name, op, (C, *spatial), kwargs
    ("LeNet", "S2 max 6x28x28, 2x2/2", "max_pool2d", (6, 28, 28), dict(kernel_size=2)),
    ("LeNet", "S2 avg 6x28x28, 2x2/2", "avg_pool2d", (6, 28, 28), dict(kernel_size=2)),
    ("LeNet", "S4 max 16x10x10, 2x2/2", "max_pool2d", (16, 10, 10), dict(kernel_size=2)),
    ("LeNet", "L2 pool 6x28x28, 2x2/2", "lp_pool2d", (6, 28, 28), dict(norm_type=2, kernel_size=2)),
    ("ResNet", "stem max 64x112x112, 3x3/2 p1", "max_pool2d", (64, 112, 112), STEM),
    ("ResNet", "  ... with indices", "max_pool2d", (64, 112, 112), dict(STEM, return_indices=True)),
    ("ResNet", "  ... max_unpool2d to 112x112", "max_unpool2d", (64, 112, 112), STEM),
    ("ResNet", "GAP 512x7x7", "adaptive_avg_pool2d", (512, 7, 7), dict(output_size=1)),
    ("ResNet", "global max 512x7x7", "adaptive_max_pool2d", (512, 7, 7), dict(output_size=1)),
    ("SPP", "adaptive max 256x13x13 -> 6x6", "adaptive_max_pool2d", (256, 13, 13), dict(output_size=6)),
    ("SPP", "adaptive avg 256x13x13 -> 6x6", "adaptive_avg_pool2d", (256, 13, 13), dict(output_size=6)),
    ("3-D", "I3D stem max 64x8x56x56, (1,3,3)/(1,2,2)", "max_pool3d", (64, 8, 56, 56),
     dict(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))),
    ("3-D", "C3D max 32x8x28x28, 2x2x2/2", "max_pool3d", (32, 8, 28, 28), dict(kernel_size=2)),
    ("3-D", "C3D avg 32x8x28x28, 2x2x2/2", "avg_pool3d", (32, 8, 28, 28), dict(kernel_size=2)),
    ("3-D", "R3D-18 GAP 512x2x7x7", "adaptive_avg_pool3d", (512, 2, 7, 7), dict(output_size=1)),
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


def calls(op: str, x: np.ndarray, kw: dict):
    """``(oracle call, torch call)`` on the same data; max_unpool2d unpools the stem's pooling."""
    xt = torch.from_numpy(x)
    if op == "max_unpool2d":
        ty, ti = F.max_pool2d(xt, return_indices=True, **kw)
        y, i = ty.numpy(), ti.numpy()
        size = x.shape[2:]
        return (lambda: oracle.max_unpool2d(y, i, output_size=size, **kw),
                lambda: F.max_unpool2d(ty, ti, output_size=size, **kw))
    return lambda: getattr(oracle, op)(x, **kw), lambda: getattr(F, op)(xt, **kw)


def taps(op: str, x: np.ndarray, kw: dict) -> int:
    """The largest number of entries one output reads."""
    n = x.shape[2:]
    if op.startswith("adaptive"):
        return math.prod(-(-a // m) + 1 for a, m in zip(n, as_tuple(kw["output_size"], len(n))))
    return math.prod(as_tuple(kw["kernel_size"], len(n)))


def agrees(op: str, got, want, x: np.ndarray, kw: dict) -> str:
    """"bit-exact" or "within bound"; raises AssertionError if torch is outside either."""
    if isinstance(want, tuple):
        assert all(np.array_equal(g, w.numpy()) for g, w in zip(got, want))
        return "bit-exact"
    if "max" in op:
        assert np.array_equal(got, want.numpy())
        return "bit-exact"
    u, k, t = 2.0 ** -24, taps(op, x, kw), want.double().numpy()
    if op.startswith("lp_pool"):
        bound = (oracle.gamma(k + 3, "float32") / 2 + 2 * u) * np.abs(got)
    else:
        bound = oracle.gamma(k + 2, "float32") * getattr(oracle, op)(np.abs(x), **kw) + u * np.abs(got)
    err = np.abs(t - got)
    assert np.all(err <= bound), float(np.max(err / bound))
    return "within bound" if np.any(err) else "bit-exact"


def blas_threads() -> str:
    """OpenBLAS's thread count in NumPy's bundled library (NumPy's pooling does not call it)."""
    for lib in glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "*openblas*")):
        for name in ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_",
                     "openblas_get_num_threads"):
            fn = getattr(ctypes.CDLL(lib), name, None)
            if fn is not None:
                return str(fn())
    return "unknown"


def geomean(r: list[float]) -> float:
    return math.exp(sum(map(math.log, r)) / len(r))


def one_run(args, rng) -> tuple[float, float]:
    """One table; returns the overall geometric means of the median ratios and the min ratios."""
    print(f"{'network':7} {'shape':42} {'oracle ms':>22} {'torch ms':>22} {'ratio':>6} {'min':>5}  agreement")
    ratios: dict[str, list[tuple[float, float]]] = {}
    for net, name, op, shape, kw in SHAPES:
        x = rng.normal(size=(args.batch, *shape)).astype(np.float32)
        mine, theirs = calls(op, x, kw)
        to, tt = interleaved([mine, theirs], args.repeat)
        how = agrees(op, mine(), theirs(), x, kw)
        mo, mt = statistics.median(to), statistics.median(tt)
        ratios.setdefault(net, []).append((mo / mt, min(to) / min(tt)))
        fmt = lambda t, m: f"{m * 1e3:8.2f} ({min(t) * 1e3:.2f}-{max(t) * 1e3:.2f})"  # noqa: E731
        print(f"{net:7} {name:42} {fmt(to, mo):>22} {fmt(tt, mt):>22} {mo / mt:6.2f} "
              f"{min(to) / min(tt):5.2f}  {how}", flush=True)
        del x
    every = [r for rs in ratios.values() for r in rs]
    for i, what in enumerate(("medians", "minima")):
        print(f"geometric mean of the ratios of {what}: "
              + ", ".join(f"{n} {geomean([r[i] for r in rs]):.2f}" for n, rs in ratios.items())
              + f"; all {geomean([r[i] for r in every]):.2f}; worst {max(r[i] for r in every):.2f}")
    over = [f"{name.strip()} ({r[0]:.2f})" for (_, name, *_), r in zip(SHAPES, every) if r[0] > 2]
    print(f"over the 2x target (medians): {', '.join(over) if over else 'none'}; "
          f"load average {os.getloadavg()[0]:.2f}")
    return geomean([r[0] for r in every]), geomean([r[1] for r in every])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--runs", type=int, default=1, help="repeat the whole table (default 1)")
    ap.add_argument("--torch-threads", type=int, default=1, help="torch's intra-op threads (default 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.torch_threads)
    try:
        import numba
        compiled = f"numba {numba.__version__} (the sums of global, adaptive and L2 pooling)"
    except ImportError:
        compiled = "no numba (pooling sums with NumPy; pip install 'cnnspec[fast]')"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); numpy {np.__version__} "
          f"(OpenBLAS threads {blas_threads()}, unused here); {compiled}; batch {args.batch}; median of "
          f"{args.repeat} interleaved rounds after a warm-up (min-max); load average {os.getloadavg()[0]:.2f}")
    geos = []
    for run in range(args.runs):
        if args.runs > 1:
            print(f"\nrun {run + 1} of {args.runs}")
        geos.append(one_run(args, np.random.default_rng(run)))
    for i, what in enumerate(("medians", "minima")) if len(geos) > 1 else ():
        g = [run[i] for run in geos]
        print(f"overall geometric means ({what}) of the {len(g)} runs: {', '.join(f'{v:.3f}' for v in g)}; "
              f"max/min {max(g) / min(g):.3f}")


if __name__ == "__main__":
    main()
