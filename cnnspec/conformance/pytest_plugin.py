"""pytest plugin: run cnnspec's conformance claims against your op inside your own test suite.

    pytest --cnnspec-target mypkg.ops:conv2d --cnnspec-op conv2d [--cnnspec-array torch]
           [--cnnspec-dtype float32] [--cnnspec-device cpu] [--cnnspec-examples 40]
           [--cnnspec-seed 0] --junitxml=conformance.xml

Each claim becomes one test item (``cnnspec::conformance.conv.values``); a failure shows the shrunk
counterexample in the one grammar with its reproduction line, and JUnit XML comes from pytest's own
``--junitxml``. Registered as the ``cnnspec`` entry point of ``pytest11``; without
``--cnnspec-target`` it does nothing.
"""
from __future__ import annotations

import pytest

from ..claims import REGISTRY, run_claim
from . import OPS


def pytest_addoption(parser) -> None:
    g = parser.getgroup("cnnspec", "cnnspec conformance of a third-party op")
    g.addoption("--cnnspec-target", help="package.module:attr or path/to/file.py:attr to validate")
    g.addoption("--cnnspec-op", choices=list(OPS))
    g.addoption("--cnnspec-array", choices=["numpy", "torch"], default="numpy")
    g.addoption("--cnnspec-dtype", choices=["float32", "float64", "float16", "bfloat16"],
                default="float32")
    g.addoption("--cnnspec-device", default="cpu")
    g.addoption("--cnnspec-examples", type=int, default=None)
    g.addoption("--cnnspec-seed", type=int, default=0)
    g.addoption("--cnnspec-timeout", type=float, default=60.0)
    g.addoption("--cnnspec-shrink-seconds", type=float, default=20.0)


class ClaimFailure(Exception):
    pass


class _Session:
    """One child process for the target, shared by every claim item, closed at the end."""

    def __init__(self, config):
        self.config = config
        self.ctx = None

    def context(self):
        if self.ctx is None:
            from .isolation import Worker
            from .properties import OpContext
            from .runner import DEFAULT_EXAMPLES
            o = self.config.getoption
            worker = Worker(o("--cnnspec-target"), array=o("--cnnspec-array"),
                            dtype=o("--cnnspec-dtype"), device=o("--cnnspec-device"),
                            timeout=o("--cnnspec-timeout"))
            self.ctx = OpContext(worker, o("--cnnspec-target"), o("--cnnspec-op"), o("--cnnspec-array"),
                               o("--cnnspec-device"), o("--cnnspec-dtype"),
                               o("--cnnspec-examples") or DEFAULT_EXAMPLES, o("--cnnspec-seed"),
                               o("--cnnspec-timeout"), shrink_seconds=o("--cnnspec-shrink-seconds"))
        return self.ctx

    def close(self) -> None:
        if self.ctx is not None:
            self.ctx.worker.close()


class ClaimItem(pytest.Item):
    def __init__(self, *, claim_id: str, state: _Session, **kw):
        super().__init__(**kw)
        self.claim_id, self.state = claim_id, state

    def runtest(self) -> None:
        res = run_claim(REGISTRY[self.claim_id], ctx=self.state.context())
        if res.status == "skipped":
            pytest.skip(res.message)
        if res.status != "pass":
            ce = res.counterexample or {}
            lines = [f"{res.id}: {res.statement}", f"  {res.message}"]
            if ce.get("reproduce"):
                lines.append(f"  reproduce: {ce['reproduce']}")
            raise ClaimFailure("\n".join(lines))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ClaimFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return "cnnspec", None, f"cnnspec::{self.claim_id}"


def pytest_collection_modifyitems(session, config, items) -> None:
    target = config.getoption("--cnnspec-target")
    if not target:
        return
    op = config.getoption("--cnnspec-op")
    if not op:
        raise pytest.UsageError("--cnnspec-op is required with --cnnspec-target")
    from .runner import claims_for
    state = _Session(config)
    config._cnnspec_state = state
    for cid in claims_for(op):
        items.append(ClaimItem.from_parent(session, name=f"cnnspec::{cid}", claim_id=cid, state=state))


def pytest_sessionfinish(session) -> None:
    state = getattr(session.config, "_cnnspec_state", None)
    if state is not None:
        state.close()
