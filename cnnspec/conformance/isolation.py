"""Run a third-party target in a child process, many calls per round trip, with a timeout.

A target is ``package.module:attr`` or ``path/to/file.py:attr`` (:mod:`cnnspec.targets`). It is imported
only in the child, so a target that segfaults, hangs or calls ``os._exit`` takes down the child,
never the run: the parent sees a :class:`WorkerFailure` with a clear message, restarts the child
and goes on. The child converts the parent's float64 NumPy data to the target's array library,
dtype and device, calls the target, and sends back float64 NumPy arrays with what it saw (type,
dtype, shape); an exception or a returned non-array is a result, not a crash.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import traceback
from multiprocessing.connection import Connection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import UsageError
from ..targets import load_op, parse

ARRAYS = ("numpy", "torch")
DTYPES = ("float32", "float64", "float16", "bfloat16")


@dataclass
class Call:
    """One call of the target: ``f(*args, **kwargs)``; ``grad`` asks for a backward pass too."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    grad: np.ndarray | None = None


@dataclass
class Result:
    """What one call gave: ``value`` (float64) when ``ok``; else ``error`` says what went wrong."""

    ok: bool
    value: np.ndarray | None = None
    error: str = ""
    raised: bool = False
    dtype: str = ""
    grads: tuple | None = None


class WorkerFailure(Exception):
    """The child died or hung: the target crashed, hung or exited."""


class _Adapter:
    """Converts to and from the target's array library, dtype and device (in the child)."""

    def __init__(self, array: str, dtype: str, device: str):
        self.array, self.dtype, self.device = array, dtype, device
        if array == "torch":
            import torch
            self.torch = torch
            self.tdtype = getattr(torch, dtype)
            torch.empty(1, device=device, dtype=self.tdtype)   # an unusable device fails here, once
        else:
            self.np_dtype = np.dtype(dtype)

    def to_target(self, a, requires_grad: bool = False):
        if not isinstance(a, np.ndarray):
            return a
        if self.array == "torch":
            t = self.torch.from_numpy(a).to(device=self.device, dtype=self.tdtype)
            return t.requires_grad_(True) if requires_grad else t
        return a.astype(self.np_dtype)

    def from_target(self, y) -> tuple[np.ndarray | None, str, str]:
        """``(float64 array, dtype name, error)``."""
        if self.array == "torch":
            if not isinstance(y, self.torch.Tensor):
                return None, "", f"returned {type(y).__name__}, not a torch.Tensor"
            name = str(y.dtype).replace("torch.", "")
            return y.detach().to("cpu", self.torch.float64).numpy(), name, ""
        if not isinstance(y, np.ndarray):
            return None, "", f"returned {type(y).__name__}, not a numpy.ndarray"
        if y.dtype.kind not in "fiu":
            return None, str(y.dtype), f"returned an array of dtype {y.dtype}, not a float array"
        return y.astype(np.float64), str(y.dtype), ""


def _run_call(fn: Callable, ad: _Adapter, call: Call) -> Result:
    try:
        want_grad = call.grad is not None
        args = [ad.to_target(a, want_grad and i < 3 and isinstance(a, np.ndarray))
                for i, a in enumerate(call.args)]
        y = fn(*args, **call.kwargs)
        value, dtype, err = ad.from_target(y)
        if err:
            return Result(False, error=err, dtype=dtype)
        grads = None
        if want_grad:
            if not getattr(y, "requires_grad", False):
                return Result(False, error="output does not require grad: the target is not "
                                           "differentiable through torch autograd", dtype=dtype)
            y.backward(ad.to_target(call.grad))
            grads = tuple(None if not hasattr(a, "grad") or a.grad is None
                          else a.grad.detach().to("cpu", ad.torch.float64).numpy() for a in args[:3])
        return Result(True, value, dtype=dtype, grads=grads)
    except Exception as e:  # noqa: BLE001 - the target's exception is a result
        frame = traceback.extract_tb(e.__traceback__)[-1]
        where = f" (at {Path(frame.filename).name}:{frame.lineno})"
        return Result(False, error=f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                                   f"{where}", raised=True)


def _child(conn, target: str, array: str, dtype: str, device: str) -> None:
    try:
        fn = load_op(target)
        ad = _Adapter(array, dtype, device)
    except UsageError as e:
        conn.send(("usage", str(e)))
        return
    except Exception as e:  # noqa: BLE001
        conn.send(("usage", f"target: setting up {array} on {device} failed: {type(e).__name__}: {e}"))
        return
    conn.send(("ready", ""))
    while True:
        try:
            calls = conn.recv()
        except EOFError:
            return
        if calls is None:
            return
        conn.send([_run_call(fn, ad, c) for c in calls])


# --- the parent's handle ---------------------------------------------------------------------------

class Worker:
    """A child process running ``target``; :meth:`call_many` sends a batch, waits at most ``timeout``."""

    def __init__(self, target: str, *, array: str = "numpy", dtype: str = "float32",
                 device: str = "cpu", timeout: float = 60.0, import_timeout: float = 120.0):
        if array not in ARRAYS:
            raise UsageError(f"array: {array!r} is not one of {', '.join(ARRAYS)}")
        if dtype not in DTYPES:
            raise UsageError(f"dtype: {dtype!r} is not one of {', '.join(DTYPES)}")
        if array == "numpy" and dtype == "bfloat16":
            raise UsageError("dtype: NumPy has no bfloat16; use --array torch with --dtype bfloat16")
        if array == "numpy" and device != "cpu":
            raise UsageError(f"device: {device!r} needs --array torch; NumPy arrays live on the cpu")
        mod, attr = parse(target)
        self.target = f"{mod}:{attr}"
        self.array, self.dtype, self.device = array, dtype, device
        self.timeout, self.import_timeout = timeout, import_timeout
        self.calls = 0
        self._proc = None
        self._conn = None
        self._start()

    def _start(self) -> None:
        # A fresh interpreter (not multiprocessing's spawn, which re-imports the caller's __main__).
        down_r, down_w = os.pipe()
        up_r, up_w = os.pipe()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(Path(__file__).resolve().parents[2])] + [p or os.getcwd() for p in sys.path]))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "cnnspec.conformance.isolation", str(down_r), str(up_w),
             self.target, self.array, self.dtype, self.device],
            pass_fds=(down_r, up_w), env=env, stdin=subprocess.DEVNULL)
        os.close(down_r)
        os.close(up_w)
        self._conn = _Duplex(Connection(up_r, writable=False), Connection(down_w, readable=False))
        if not self._conn.poll(self.import_timeout):
            self._kill()
            raise UsageError(f"target: importing {self.target!r} did not finish within "
                             f"{self.import_timeout:.0f} s")
        try:
            kind, msg = self._conn.recv()
        except EOFError:
            code = self._kill()
            raise UsageError(f"target: the process importing {self.target!r} died ({_exit_words(code)})") from None
        if kind == "usage":
            self._kill()
            raise UsageError(msg)

    def _kill(self) -> int | None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            try:
                code = self._proc.wait(5)
            except subprocess.TimeoutExpired:
                code = None
            self._proc = None
            return code
        return None

    def call_many(self, calls: list[Call]) -> list[Result]:
        """Every call's result, in order; :class:`WorkerFailure` if the child crashes or hangs."""
        if self._proc is None:
            self._start()
        self.calls += len(calls)
        try:
            self._conn.send(calls)
            if not self._conn.poll(self.timeout):
                self._kill()
                raise WorkerFailure(f"the target did not return within {self.timeout:g} s (hangs?); "
                                    f"stopped it")
            return self._conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError):
            code = self._kill()
            raise WorkerFailure(f"the target crashed the worker process ({_exit_words(code)})") from None

    def close(self) -> None:
        """Stop the child (it holds no state worth a clean shutdown)."""
        self._kill()

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _exit_words(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code < 0:
        try:
            return f"killed by signal {-code}, {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class _Duplex:
    """One object over the two one-way pipes."""

    def __init__(self, up: Connection, down: Connection):
        self.up, self.down = up, down

    def send(self, obj) -> None:
        self.down.send(obj)

    def recv(self):
        return self.up.recv()

    def poll(self, timeout: float) -> bool:
        return self.up.poll(timeout)

    def close(self) -> None:
        for c in (self.up, self.down):
            try:
                c.close()
            except OSError:
                pass


if __name__ == "__main__":  # the child: python -m cnnspec.conformance.isolation R W TARGET ARRAY DTYPE DEVICE
    from cnnspec.conformance import isolation as _iso  # pickle classes by their importable names

    _r, _w, _target, _array, _dtype, _device = sys.argv[1:7]
    _iso._child(_iso._Duplex(Connection(int(_r), writable=False), Connection(int(_w), readable=False)),
           _target, _array, _dtype, _device)
