"""Golden vectors (`cnnspec vectors export`): JSON and .npy agree, and torch reproduces them."""
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]


def _arr(v):
    return np.vectorize(lambda e: float(e), otypes=[np.float64])(np.array(v, dtype=object))


def test_export_writes_exact_vectors_that_torch_reproduces(tmp_path):
    r = subprocess.run([sys.executable, "-m", "cnnspec", "vectors", "export", str(tmp_path),
                        "--count", "4"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "torch.nn.functional" in (tmp_path / "README.md").read_text()
    assert json.loads((tmp_path / "index.json").read_text())["cases"]["conv2d"] == 4
    for path in sorted(tmp_path.glob("*/*.json")):
        rec = json.loads(path.read_text())
        x = np.load(path.parent / rec["npy"]["x"])
        want = np.load(path.parent / rec["npy"]["expected"])
        assert np.array_equal(_arr(rec["expected"]), want, equal_nan=True)
        assert np.array_equal(_arr(rec["inputs"]["x"]), x)
        t = torch.tensor(x)
        call = {k: tuple(v) if isinstance(v, list) else v for k, v in rec["call"].items()}
        if rec["op"].startswith("conv"):
            w = torch.tensor(np.load(path.parent / rec["npy"]["weight"]))
            b = rec["inputs"]["bias"]
            fn = getattr(F, rec["op"])
            got = fn(t, w, None if b is None else torch.tensor(_arr(b)), **call).numpy()
            assert rec["certificate"]["holds"]
            assert np.array_equal(got, want), path
        elif rec["op"] == "pad":
            assert np.array_equal(F.pad(t, **call).numpy(), want), path
        elif rec["op"] == "max_pool2d":
            assert np.array_equal(F.max_pool2d(t, **call).numpy(), want), path
        else:
            got = F.avg_pool2d(t, **call).numpy()
            exact = np.vectorize(lambda s: float(Fraction(s)))(np.array(rec["expected_rational"]))
            assert np.allclose(got, exact, rtol=1e-15, atol=0), path
