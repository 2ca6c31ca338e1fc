"""pytest plugin: run cnnspec's conformance claims against your op inside your own test suite.

    pytest --cnnspec-target mypkg.ops:conv2d --cnnspec-op conv2d [--cnnspec-array torch]
           [--cnnspec-dtype float32] [--cnnspec-device cpu] [--cnnspec-examples 40]
           [--cnnspec-seed 0] [--junitxml=conformance.xml] [-n 2]
    pytest --cnnspec-target jax --cnnspec-op conv2d      # a framework: cnnspec's adapter for the op

The target and op may also come from the environment (``CNNSPEC_TARGET``, ``CNNSPEC_OP``, as
array-api-tests reads ``ARRAY_API_TESTS_MODULE``) or from ini options (``cnnspec_target``,
``cnnspec_op``, ``cnnspec_array``, ``cnnspec_dtype``, ``cnnspec_device``); the command line wins,
then the environment, then the ini file.

With a target configured, the plugin adds the suite :mod:`cnnspec.conformance.suite` to what pytest
collects: one item per claim of the op, ``cnnspec.conformance.suite::test_claim[ID]``, so
``--collect-only`` lists them, ``pytest --pyargs 'cnnspec.conformance.suite::test_claim[ID]'``
(or ``-k ID``) re-runs one, pytest-xdist spreads them
over processes (each worker starts its own child process for the target) and ``--junitxml`` gives
one test case per claim. A failure shows the shrunk counterexample in the one grammar with its
reproduction line. hypothesis's own ``--hypothesis-seed`` seeds the search (else
``--cnnspec-seed``), and ``--hypothesis-profile`` sets the examples per property (else
``--cnnspec-examples``, default 40). Registered as the ``cnnspec`` entry point of ``pytest11``;
without a target it does nothing.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from . import OPS

SUITE = Path(__file__).with_name("suite.py")
MODULE = "cnnspec.conformance.suite"
# option name: (ini name, environment variable, default)
SETTINGS = {"target": ("cnnspec_target", "CNNSPEC_TARGET", None),
            "op": ("cnnspec_op", "CNNSPEC_OP", None),
            "array": ("cnnspec_array", "CNNSPEC_ARRAY", "numpy"),
            "dtype": ("cnnspec_dtype", "CNNSPEC_DTYPE", "float32"),
            "device": ("cnnspec_device", "CNNSPEC_DEVICE", "cpu")}


def pytest_addoption(parser) -> None:
    g = parser.getgroup("cnnspec", "cnnspec conformance of a third-party op")
    g.addoption("--cnnspec-target", help="package.module:attr or path/to/file.py:attr to validate "
                                         "(or CNNSPEC_TARGET, or the ini option cnnspec_target)")
    g.addoption("--cnnspec-op", choices=list(OPS), help="the op the target implements (or CNNSPEC_OP)")
    g.addoption("--cnnspec-array", choices=["numpy", "torch"])
    g.addoption("--cnnspec-dtype", choices=["float32", "float64", "float16", "bfloat16"])
    g.addoption("--cnnspec-device")
    g.addoption("--cnnspec-examples", type=int, default=None)
    g.addoption("--cnnspec-seed", type=int, default=0)
    g.addoption("--cnnspec-timeout", type=float, default=60.0)
    g.addoption("--cnnspec-shrink-seconds", type=float, default=20.0)
    for name, (ini, env, default) in SETTINGS.items():
        parser.addini(ini, f"cnnspec: the {name} (the command line and {env} take precedence)",
                      default=default)


def setting(config, name: str):
    """``--cnnspec-NAME``, else ``$CNNSPEC_NAME``, else the ini option, else the default."""
    ini, env, default = SETTINGS[name]
    value = config.getoption(f"--cnnspec-{name}") or os.environ.get(env) or config.getini(ini)
    return value or default


def pytest_configure(config) -> None:
    target = setting(config, "target")
    if not target:
        return
    op = setting(config, "op")
    if not op:
        raise pytest.UsageError("--cnnspec-op: give the op the target implements (or CNNSPEC_OP, or "
                                f"the ini option cnnspec_op); one of {', '.join(OPS)}")
    if op not in OPS:
        raise pytest.UsageError(f"--cnnspec-op: {op!r} is not one of {', '.join(OPS)}")
    if ":" not in target:      # a framework's name: known, installed, given NumPy arrays
        _check_framework(target, op, setting(config, "array"))
    named = any(str(a).split("::")[0] in (str(SUITE), MODULE) for a in config.args)
    if not named:   # the user's own run, plus the suite (an xdist worker's duplicate is dropped)
        config.args.append(str(SUITE))


def _check_framework(name: str, op: str, array: str) -> None:
    from ..adapters import NotExpressible
    from ..errors import UsageError
    from .runner import framework_target

    try:
        framework_target(name, op)
    except NotExpressible:       # the framework lacks the op: each claim is skipped, saying so
        pass
    except UsageError as e:
        raise pytest.UsageError(f"--cnnspec-{e}") from None
    if array != "numpy":
        raise pytest.UsageError(f"--cnnspec-array: {array!r}: cnnspec's {name} adapter takes and "
                                f"returns NumPy arrays; leave it at numpy")


def pytest_collection_modifyitems(items) -> None:
    """Name the suite's items by module, ``cnnspec.conformance.suite::test_claim[ID]``: the suite
    lives outside the user's rootdir, where pytest would give them an empty path (and JUnit an
    empty classname). ``pytest --pyargs 'cnnspec.conformance.suite::test_claim[ID]'`` re-runs one."""
    for item in items:
        if item.path == SUITE:
            item._nodeid = f"{MODULE}::{item.name}"


def pytest_generate_tests(metafunc) -> None:
    if "cnnspec_claim" not in metafunc.fixturenames:
        return
    op = setting(metafunc.config, "op")
    from .runner import claims_for
    ids = claims_for(op, setting(metafunc.config, "array")) if op else []
    metafunc.parametrize("cnnspec_claim", ids, ids=ids)


def _examples(config) -> int:
    from .runner import DEFAULT_EXAMPLES

    if config.getoption("--cnnspec-examples"):
        return config.getoption("--cnnspec-examples")
    profile = config.getoption("hypothesis_profile", None)
    if profile:
        from hypothesis import settings
        return settings.get_profile(profile).max_examples
    return DEFAULT_EXAMPLES


def _seed(config) -> int:
    seed = config.getoption("hypothesis_seed", None)
    return int(seed) if seed is not None else config.getoption("--cnnspec-seed")


@pytest.fixture(scope="session")
def cnnspec_context(request):
    """One child process for the target, shared by every claim item of this process."""
    from ..adapters import NotExpressible
    from .isolation import Worker
    from .properties import OpContext
    from .runner import framework_target

    config = request.config
    target, op = setting(config, "target"), setting(config, "op")
    if not target:
        pytest.skip("no cnnspec target configured (--cnnspec-target or CNNSPEC_TARGET)")
    array, dtype, device = setting(config, "array"), setting(config, "dtype"), setting(config, "device")
    try:     # a bare framework name (jax, onnxruntime, ...) is cnnspec's adapter for the op
        target, _ = framework_target(target, op)
    except NotExpressible as e:
        pytest.skip(str(e))
    timeout = config.getoption("--cnnspec-timeout")
    worker = Worker(target, array=array, dtype=dtype, device=device, timeout=timeout)
    ctx = OpContext(worker, target, op, array, device, dtype, _examples(config), _seed(config), timeout,
                    shrink_seconds=config.getoption("--cnnspec-shrink-seconds"))
    yield ctx
    worker.close()
