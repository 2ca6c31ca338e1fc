"""How ``cnnspec validate`` starts: what the parent imports, the child started first, cases drawn ahead.

The parent needs only the conformance claims (never torch for a NumPy target), the command line
imports only the chosen command, the target's process starts before the engine's imports and is
waited for later, and the cases every property draws are drawn ahead (while the child imports)
and then used by the claims as they run.
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnspec.claims import REGISTRY, run_claim
from cnnspec.conformance import properties
from cnnspec.conformance.api import LocalWorker
from cnnspec.conformance.isolation import Worker
from cnnspec.conformance.properties import PROPERTIES, OpContext, prepare
from cnnspec.conformance.runner import claims_for
from cnnspec.conformance.shims import numpy_ops
from cnnspec.errors import UsageError
from cnnspec.strategies import conv_params, int_arrays

ROOT = Path(__file__).resolve().parents[1]
SHIM = "cnnspec.conformance.shims.numpy_ops:max_pool2d"


def python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_a_validate_run_of_a_numpy_target_never_imports_torch_in_cnnspecs_process():
    r = python("import sys\nfrom cnnspec.cli import main\n"
               f"code = main(['validate', {SHIM!r}, '--op', 'max_pool2d', '--examples', '2', '--quiet'])\n"
               "assert code == 0, code\n"
               "assert 'torch' not in sys.modules, 'torch was imported'\n"
               "assert 'cnnspec.networks.reference_claims' not in sys.modules\n"
               "assert 'cnnspec.commands.derive' not in sys.modules\n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASS" in r.stdout


def test_claims_for_loads_the_conformance_claims_only():
    r = python("import sys\nfrom cnnspec.conformance.runner import claims_for\n"
               "ids = claims_for('conv2d', 'numpy')\n"
               "assert 'conformance.conv.values' in ids and 'conformance.conv.backward' not in ids, ids\n"
               "assert 'torch' not in sys.modules and 'cnnspec.spec.arch_claims' not in sys.modules\n")
    assert r.returncode == 0, r.stderr


def test_the_command_line_builds_only_the_chosen_command_and_still_lists_them_all():
    r = python("import sys\nimport cnnspec.cli as c\np = c.build_parser('validate')\n"
               "assert 'cnnspec.commands.derive' not in sys.modules and 'sympy' not in sys.modules\n"
               "print(p.parse_args(['validate', 't:f', '--op', 'conv2d']).op)\n")
    assert r.returncode == 0 and r.stdout.strip() == "conv2d", r.stderr
    typo = subprocess.run([sys.executable, "-m", "cnnspec", "valdate"], cwd=ROOT, capture_output=True, text=True)
    assert typo.returncode == 2 and "'derive'" in typo.stderr and "'validate'" in typo.stderr
    # a geometry error of the spec is still a usage error, exit 2, one line
    bad = subprocess.run([sys.executable, "-m", "cnnspec", "derive", "conv1d", "--input", "a,b,c", "--kernel",
                          "x,y,z,w,v"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "kernel" in bad.stderr


def test_a_worker_started_without_waiting_reports_a_failed_import_when_waited_for():
    w = Worker("cnnspec_no_such_module:f", wait=False)   # returns before the child has imported anything
    try:
        with pytest.raises(UsageError, match="cnnspec_no_such_module"):
            w.wait_ready()
        assert w.exited()
    finally:
        w.close()


def test_a_worker_started_without_waiting_answers_calls():
    from cnnspec.conformance.isolation import Call

    with Worker(SHIM, wait=False) as w:
        (r,) = w.call_many([Call((np.arange(16.0).reshape(1, 1, 4, 4), 2))])   # waits for "ready" first
        assert r.ok and r.value.tolist() == [[[[5.0, 7.0], [13.0, 15.0]]]]
        assert not w.exited()


def test_the_cases_drawn_ahead_are_the_ones_the_claims_use(monkeypatch):
    ids = claims_for("conv2d", "numpy")
    ctx = OpContext(LocalWorker(numpy_ops.conv2d), "shim", "conv2d", examples=3, seed=5)
    drawn = prepare(ctx, ids)
    assert drawn == sum(i in PROPERTIES for i in ids) >= 8
    assert len(ctx.cache) >= drawn - 1           # shape and values share their cases (one key)

    def no_more(*a, **k):
        raise AssertionError("a claim drew cases that prepare had drawn")

    monkeypatch.setattr(properties, "draw_cases", no_more)
    for cid in ("conformance.conv.values", "conformance.conv.linearity", "conformance.conv_padding.same_valid"):
        res = run_claim(REGISTRY[cid], ctx=ctx)
        assert res.status == "pass" and res.examples, (cid, res.message)


def test_prepare_stops_when_asked():
    ctx = OpContext(LocalWorker(numpy_ops.conv2d), "shim", "conv2d", examples=2)
    assert prepare(ctx, claims_for("conv2d", "numpy"), stop=lambda: True) == 0 and not ctx.cache


def test_strategies_are_built_once_and_draw_the_same_arrays_for_any_shape_type():
    assert conv_params(ndim=2) is conv_params(ndim=2)
    assert conv_params(ndim=1) is not conv_params(ndim=2)
    a, b = int_arrays([2, 3], bound=4), int_arrays((2, 3), bound=4)
    assert a is b
    seeds = properties.draw_cases(a, 5, 0)
    assert all(s.shape == (2, 3) and np.abs(s).max() <= 4 for s in seeds)
