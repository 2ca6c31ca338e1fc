"""The exact oracle against torch's own float32 convolutions, side by side in one process.

    python benchmarks/bench_oracle.py [--batch 256] [--repeat 15] [--warmup 3] [--runs 3] [--only NAME]

Shapes: LeNet-5's convolutions C1, C3, C5 (LeCun et al. 1998, 32x32 input); the three stages of
the CIFAR ResNets and their stride-2 transitions (He et al. 2016 §4.2); a U-Net decoder step (a 2x2
stride-2 transposed convolution, Ronneberger et al. 2015, Fig. 1); a DCGAN generator layer (4x4
stride-2 transposed convolution, padding 1; Radford et al. 2016); a depthwise 3x3 convolution
(MobileNet, Howard et al. 2017); the stem of an R3D-18 video ResNet (3x7x7 conv3d, stride 1x2x2;
Tran et al. 2018). Data: integers in [-3, 3], so the exactness certificate
K·max|x|·max|w| < 2^24 holds and the oracle computes the exact result with an independent float32
GEMM (NumPy's BLAS); each row checks that torch agrees bit for bit.

How the figures are made trustworthy on a shared machine: ``--warmup`` untimed calls of both
first (allocator, BLAS threads, oneDNN primitive caches); then ``--repeat`` rounds, each timing the
oracle and torch back to back, in alternating order, so that both see the same load; each row gives
the median of each and the ratio's median over rounds (the per-round ratio is load-robust) with
its interquartile range, and each one's median minor page faults per call (a call that takes
memory the allocator had handed back to the kernel pays for a zeroed page at each first touch:
torch's ResNet stage1 convolution ran 10-11 ms in processes where it took no page faults and
26-38 ms in those where it took about 11,000 a call). Both run on one thread by default
(``--threads``) and are timed by the process's CPU time (``--clock cpu``): on a shared machine,
elapsed time and multi-threaded pools measure the neighbours.

The header states torch's thread count, parallel backend and kernels, and NumPy's BLAS with the
kernels it runs and the threads its pool uses (threadpoolctl, as every report's environment states
them), and names an ``OPENBLAS_CORETYPE`` or ``OPENBLAS_L2_SIZE`` in the environment: they make
OpenBLAS run other kernels than those it detects for the CPU (on an AVX-512 machine, an AMD EPYC of
family 26, its Haswell kernels ran this benchmark's GEMM shapes 1.3-2.0x slower than the SkylakeX
ones it detects). Each table ends with the geometric mean of the per-shape median ratios.
``--runs`` repeats the whole table (three consecutive runs whose geometric means agree within 10%
make the figure trustworthy) and prints each run's mean, their spread and the load average before
and after.
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import re
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))   # this checkout's cnnspec


def _threads_from_argv(default: int = 1) -> int:
    """``--threads`` must be known before NumPy loads its BLAS: read it from argv here."""
    for i, a in enumerate(sys.argv):
        if a == "--threads" and i + 1 < len(sys.argv) and sys.argv[i + 1].isdigit():
            return int(sys.argv[i + 1])
        if a.startswith("--threads=") and a.split("=", 1)[1].isdigit():
            return int(a.split("=", 1)[1])
    return default


THREADS = _threads_from_argv()
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(max(THREADS, 1))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from cnnspec import oracle  # noqa: E402
from cnnspec.oracle.conv import gemm  # noqa: E402
from cnnspec.report import schema as report_schema  # noqa: E402

# name, op, (C_in, spatial), (C_out, kernel), kwargs, batch (None: --batch)
SHAPES = [
    ("LeNet C1 1x32x32 -> 6, 5x5", "conv2d", (1, (32, 32)), (6, (5, 5)), {}, None),
    ("LeNet C3 6x14x14 -> 16, 5x5", "conv2d", (6, (14, 14)), (16, (5, 5)), {}, None),
    ("LeNet C5 16x5x5 -> 120, 5x5", "conv2d", (16, (5, 5)), (120, (5, 5)), {}, None),
    ("ResNet stage1 16x32x32, 3x3", "conv2d", (16, (32, 32)), (16, (3, 3)), {"padding": 1}, None),
    ("ResNet stage2 32x16x16, 3x3", "conv2d", (32, (16, 16)), (32, (3, 3)), {"padding": 1}, None),
    ("ResNet stage3 64x8x8, 3x3", "conv2d", (64, (8, 8)), (64, (3, 3)), {"padding": 1}, None),
    ("ResNet 16x32x32 -> 32, 3x3/2", "conv2d", (16, (32, 32)), (32, (3, 3)), {"stride": 2, "padding": 1}, None),
    ("ResNet 32x16x16 -> 64, 3x3/2", "conv2d", (32, (16, 16)), (64, (3, 3)), {"stride": 2, "padding": 1}, None),
    ("depthwise 32x16x16, 3x3, g=32", "conv2d", (32, (16, 16)), (32, (3, 3)), {"padding": 1, "groups": 32}, None),
    ("U-Net up 64x16x16 -> 32, 2x2/2", "conv_transpose2d", (64, (16, 16)), (32, (2, 2)), {"stride": 2}, 32),
    ("DCGAN 64x8x8 -> 32, 4x4/2 p1", "conv_transpose2d", (64, (8, 8)), (32, (4, 4)),
     {"stride": 2, "padding": 1}, 32),
    ("R3D-18 stem 3x8x56x56 -> 64", "conv3d", (3, (8, 56, 56)), (64, (3, 7, 7)),
     {"stride": (1, 2, 2), "padding": (1, 3, 3)}, 2),
]
TORCH = {"conv2d": F.conv2d, "conv3d": F.conv3d, "conv_transpose2d": F.conv_transpose2d}
ORACLE = {"conv2d": oracle.conv2d, "conv3d": oracle.conv3d, "conv_transpose2d": oracle.conv_transpose2d}


CLOCK = {"cpu": time.process_time, "wall": time.perf_counter}
clock = time.process_time


def timed(fn) -> tuple[float, int]:
    """The call's time and its minor page faults (memory the allocator took back from the kernel:
    each first touch of a page costs the kernel a zeroed page)."""
    f0, t0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, clock()
    fn()
    t = clock() - t0
    return t, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0


def interleaved(f_oracle, f_torch, warmup: int, repeat: int):
    """Per-round times of both, back to back, the order alternating round by round, and each
    one's median page faults per call."""
    for _ in range(warmup):
        f_oracle()
        f_torch()
    to, tt = [], []
    for r in range(repeat):
        if r % 2:
            tt.append(timed(f_torch))
            to.append(timed(f_oracle))
        else:
            to.append(timed(f_oracle))
            tt.append(timed(f_torch))
    (to, fo), (tt, ft) = zip(*to), zip(*tt)
    return np.array(to), np.array(tt), int(np.median(fo)), int(np.median(ft))


def arrays(rng, op, cin, size, cout, k, groups, batch):
    x = rng.integers(-3, 4, (batch, cin, *size)).astype(np.float32)
    wshape = (cin, cout // groups, *k) if op.startswith("conv_transpose") else (cout, cin // groups, *k)
    return x, rng.integers(-3, 4, wshape).astype(np.float32)


def blas_info(b: dict | None) -> str:
    """NumPy's BLAS, the kernels it runs and the threads its pool uses now (not the environment
    variable's request), from :func:`cnnspec.report.schema.blas_info`, as the reports state them."""
    if b is None:
        return f"unknown to threadpoolctl (OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']})"
    return f"{b['library']} {b['version']}, kernels {b['kernels']}: {b['threads']} threads"


def torch_info() -> str:
    """torch's threads, parallel backend and convolution kernels."""
    info = torch.__config__.parallel_info()
    backend = re.search(r"ATen parallel backend: (\S+)", info)
    dnn = ("oneDNN (mkldnn) enabled" if torch.backends.mkldnn.is_available()
           and torch.backends.mkldnn.enabled else "oneDNN off (ATen / NNPACK kernels)")
    return (f"torch {torch.__version__}: {torch.get_num_threads()} threads "
            f"({backend.group(1) if backend else 'unknown'} backend), {dnn}, "
            f"CPU capability {torch.backends.cpu.get_cpu_capability()}")


def gemm_operands(rng, op, x, w, kw):
    """Random operands of the layer's whole GEMM, in one call: ``(C_out/g, K)`` times
    ``(K, N·Πm)`` for a convolution, ``(N·Πn, C_in/g)`` times ``(C_in/g, Πk·C_out/g)`` for a
    transposed one; ``None`` for a depthwise convolution, which the oracle sums tap by tap without
    a GEMM. The oracle itself runs this product in cache-sized blocks (with the columns of a
    stride-1 convolution's padded grid), which can take less time than the one call: the figure
    is the product's cost at the BLAS's one-call speed, not a lower bound of the oracle's."""
    n, g = x.shape[0], kw.get("groups", 1)
    k = math.prod(w.shape[2:])
    transposed = op.startswith("conv_transpose")
    if transposed:
        a, b = (n * math.prod(x.shape[2:]), w.shape[0] // g), (w.shape[0] // g, k * w.shape[1])
    else:
        if g > 1 and w.shape[0] == g and w.shape[1] == 1:
            return None
        out = ORACLE[op](x[:1], w, None, **kw).shape[2:]
        a, b = (w.shape[0] // g, w.shape[1] * k), (w.shape[1] * k, n * math.prod(out))
    a, b = rng.integers(-3, 4, a).astype(np.float32), rng.integers(-3, 4, b).astype(np.float32)
    # the transposed convolution's GEMM runs in the oracle's chunks of rows, the convolution's
    # (weight on the left) in one call
    return (gemm if transposed else np.matmul), a, b, np.empty((a.shape[0], b.shape[1]), np.float32)


def gemm_only(fn, a, b, out) -> None:
    fn(a, b, out=out)


def run_table(args, rng) -> list[float]:
    """One table: every shape, interleaved rounds; returns the per-shape median ratios."""
    print(f"{'layer':34} {'oracle ms':>10} {'torch ms':>10} {'ratio':>7} {'IQR':>13}  exact"
          f"  {'page faults':>13}" + ("  GEMM alone / torch" if args.floor else ""))
    ratios = []
    for name, op, (cin, size), (cout, k), kw, batch in SHAPES:
        if args.only and args.only not in name:
            continue
        x, w = arrays(rng, op, cin, size, cout, k, kw.get("groups", 1), batch or args.batch)
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)
        with torch.no_grad():
            to, tt, fo, ft = interleaved(lambda: ORACLE[op](x, w, None, **kw), lambda: TORCH[op](tx, tw, None, **kw),
                                 args.warmup, args.repeat)
            same = np.array_equal(ORACLE[op](x, w, None, **kw), TORCH[op](tx, tw, None, **kw).numpy())
        r = to / tt
        q1, med, q3 = np.percentile(r, [25, 50, 75])
        ratios.append(med)
        floor = ""
        if args.floor:
            operands = gemm_operands(rng, op, x, w, kw)
            if operands is None:
                floor = "      no GEMM"
            else:
                tg, tt2, _, _ = interleaved(lambda: gemm_only(*operands), lambda: TORCH[op](tx, tw, None, **kw),
                                      args.warmup, args.repeat)
                floor = f"  {np.median(tg / tt2):7.2f}"
        print(f"{name:34} {np.median(to) * 1e3:10.2f} {np.median(tt) * 1e3:10.2f} {med:7.2f} "
              f"[{q1:5.2f}, {q3:5.2f}]  {same!s:5}  {fo:6d} {ft:6d}{floor}")
    print(f"{'geometric mean of the median ratios':45} {geomean(ratios):18.2f}  (worst {max(ratios):.2f})")
    return ratios


def geomean(values) -> float:
    return float(np.exp(np.mean(np.log(values))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=256, help="batch of the 2-D convolutions (default 256)")
    ap.add_argument("--repeat", type=int, default=15, help="timed rounds per shape (default 15)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed calls of each first (default 3)")
    ap.add_argument("--runs", type=int, default=1, help="consecutive tables (default 1; 3 to check "
                                                        "that their geometric means agree)")
    ap.add_argument("--floor", action="store_true",
                    help="also time the layer's whole GEMM as one BLAS call on random operands "
                         "(interleaved with torch): the product's cost without the im2col copies; "
                         "the oracle's cache-blocked GEMMs can run faster than that one call")
    ap.add_argument("--only", default=None, help="run the shapes whose name contains this text")
    ap.add_argument("--threads", type=int, default=1,
                    help="threads of torch and of NumPy's BLAS alike (default 1: on a shared machine "
                         "a spinning thread pool measures the neighbours' load, not the kernel)")
    ap.add_argument("--clock", choices=sorted(CLOCK), default="cpu",
                    help="cpu: the process's CPU time (default; with one thread each, what the work "
                         "costs, whatever the neighbours do); wall: elapsed time")
    args = ap.parse_args()
    for name in ("batch", "repeat", "threads", "runs"):
        if getattr(args, name) < 1:
            ap.error(f"--{name}: {getattr(args, name)} must be >= 1")
    if args.warmup < 0:
        ap.error(f"--warmup: {args.warmup} must be >= 0")
    if args.only and not any(args.only in s[0] for s in SHAPES):
        ap.error(f"--only: {args.only!r} names no shape; the shapes are: "
                 + ", ".join(s[0] for s in SHAPES))
    global clock
    clock = CLOCK[args.clock]
    torch.set_num_threads(args.threads)
    print(torch_info())
    blas = report_schema.blas_info()
    print(f"numpy {np.__version__}, BLAS {blas_info(blas)}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs")
    forced = (blas or {}).get("overrides")
    if forced:
        print(f"note: {forced} in the "
              "environment: OpenBLAS runs those kernels, not the ones it detects for this CPU "
              "(unset them for this command to measure those)")
    print(f"{args.clock} clock; 2-D batch {args.batch}; warm-up {args.warmup}; {args.repeat} interleaved "
          f"rounds; medians [interquartile range of the per-round ratio]")
    means, loads = [], [os.getloadavg()[0]]
    for run in range(args.runs):
        if args.runs > 1:
            print(f"-- run {run + 1} of {args.runs} (load average {os.getloadavg()[0]:.2f})")
        means.append(geomean(run_table(args, np.random.default_rng(run))))
        loads.append(os.getloadavg()[0])
    if args.runs > 1:
        spread = max(means) / min(means) - 1
        print(f"geometric means of the {args.runs} runs: {', '.join(f'{m:.2f}' for m in means)}; "
              f"spread {spread:.1%} ({'within' if spread <= 0.10 else 'NOT within'} 10%); "
              f"load average {loads[0]:.2f} before, {loads[-1]:.2f} after")


if __name__ == "__main__":
    main()
