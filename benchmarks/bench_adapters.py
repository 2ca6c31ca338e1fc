"""Each framework adapter against ``torch.nn.functional``, per op at float32, side by side.

    python benchmarks/bench_adapters.py [--frameworks jax onnxruntime ...] [--repeat 7] [--batch 8]

One child process per framework (as a conformance worker would run it): it reports the import
time of the adapter (the framework's start), then for each op the first call (which includes
JAX's and tinygrad's compilation, ONNX Runtime's session) and the best of ``--repeat`` calls of
the adapter and of ``torch.nn.functional`` on torch tensors. torch is timed in the same child
before the framework is imported: ONNX Runtime's, XLA's and TF's thread pools keep spinning after
a call and slow torch down several-fold on 2 cores, which would flatter the adapters. The adapter's time includes everything a user of the NumPy calling convention pays: the
array conversions, layout transposes (TF), the graph look-up (ONNX Runtime). Shapes: a ResNet
stage-1 layer (He et al. 2016 §4.2: 16 channels, 32x32, 3x3 convolution) and the pools and pad of
such a map. Data: integers in [-3, 3]; the child checks that the adapter agrees with torch
(bit for bit; avg pools within 2 ulp) before timing. This machine's 2 cores are shared: compare
the ratios, not the seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])   # this checkout's cnnspec, here and in the children
sys.path.insert(0, ROOT)
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}

CHILD = r"""
import json, sys, time
import numpy as np, torch, torch.nn.functional as F
torch.set_num_threads(1)   # one thread: on a shared 2-core machine two OpenMP threads stall on each other
repeat, batch = int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
x = rng.integers(-3, 4, (batch, 16, 32, 32)).astype(np.float32)
w = rng.integers(-3, 4, (16, 16, 3, 3)).astype(np.float32)
x1, w1 = x[:, :, 0], w[:, :, 0]
OPS = [("conv2d", (x, w), {"padding": 1}), ("conv1d", (x1, w1), {"padding": 1}),
       ("max_pool2d", (x,), {"kernel_size": 3, "stride": 2, "padding": 1}),
       ("avg_pool2d", (x,), {"kernel_size": 3, "stride": 2, "padding": 1}),
       ("pad", (x,), {"pad": (1, 1, 2, 2)})]


def best(fn, *args, **kw):
    times = []
    for _ in range(repeat):
        t = time.perf_counter(); fn(*args, **kw); times.append(time.perf_counter() - t)
    return min(times)


# torch first, before the framework starts its own thread pools (which spin on these 2 cores)
base = {}
for op, args, kw in OPS:
    targs = [torch.from_numpy(a) for a in args]
    getattr(F, op)(*targs, **kw)
    base[op] = (best(getattr(F, op), *targs, **kw), getattr(F, op)(*targs, **kw).numpy())
t0 = time.perf_counter()
import cnnspec.adapters as ad
mod = ad.load(sys.argv[1])
t_import = time.perf_counter() - t0
rows = []
for op, args, kw in OPS:
    fn = getattr(mod, op)
    t = time.perf_counter(); got = fn(*args, **kw); first = time.perf_counter() - t
    want = base[op][1]
    ok = np.array_equal(got, want) or (op.startswith("avg") and np.allclose(got, want, rtol=2.4e-7, atol=0))
    rows.append({"op": op, "first_s": first, "adapter_s": best(fn, *args, **kw), "torch_s": base[op][0],
                 "agrees": bool(ok)})
print(json.dumps({"import_s": t_import, "version": mod.version(), "rows": rows}))
"""


def run(framework: str, repeat: int, batch: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, framework, str(repeat), str(batch)],
                         capture_output=True, text=True, timeout=900, env=ENV)
    if out.returncode:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    from cnnspec.adapters import FRAMEWORKS, available
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frameworks", nargs="*", default=list(FRAMEWORKS))
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--batch", type=int, default=8)
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import cnnspec.adapters"], check=True, env=ENV)
    base = time.perf_counter() - t0
    print(f"python + cnnspec.adapters start: {base:.2f} s (subtract it from each import time)")
    print(f"{'framework':<12} {'version':<12} {'import s':>8}  {'op':<11} {'first s':>8} "
          f"{'adapter ms':>10} {'torch ms':>9} {'ratio':>7}  agrees")
    for fw in a.frameworks:
        if not available(fw).installed:
            print(f"{fw:<12} not installed: {FRAMEWORKS[fw].install}")
            continue
        r = run(fw, a.repeat, a.batch)
        if "error" in r:
            print(f"{fw:<12} failed: {r['error']}")
            continue
        for i, row in enumerate(r["rows"]):
            head = f"{fw:<12} {r['version']:<12} {r['import_s']:>8.2f}" if i == 0 else " " * 34
            print(f"{head}  {row['op']:<11} {row['first_s']:>8.3f} {row['adapter_s'] * 1e3:>10.3f} "
                  f"{row['torch_s'] * 1e3:>9.3f} {row['adapter_s'] / row['torch_s']:>7.2f}  {row['agrees']}")


if __name__ == "__main__":
    main()
