"""Run a third-party target in a child process, many calls per round trip, with a timeout.

A target is ``package.module:attr`` or ``path/to/file.py:attr`` (:mod:`cnnspec.targets`). It is imported
only in the child, so a target that segfaults, hangs or calls ``os._exit`` takes down the child,
never the run: the parent sees a :class:`WorkerFailure` with a clear message (and the call the
child was in: it marks each call of a batch, with its start time, in a small file the parent made,
as it starts it), restarts the child and goes on. The child converts the parent's float64 NumPy data to the target's array library,
dtype and device (integer arrays keep their dtype: int64 indices, int32 biases; a ``typed`` call,
as the integer ops make, keeps every array's dtype: uint8/int8 data, float32 scales), gives every
call its own copies, calls the target, checks that the target left those copies as it found them,
and sends back float64 values (int64 for an integer result, so that no integer is rounded) with
what it saw (type, dtype, shape); a call that asks for several arrays (``returns=2``:
``max_pool2d(..., return_indices=True)``) gets a tuple of them. An exception, a returned
non-array or a modified input is a result, not a crash.

What crosses back is data only (:mod:`.wire`): JSON and raw float64/int64 bytes, never a pickle, so
nothing a target returns can run code in cnnspec's process; only a plain ``numpy.ndarray`` or
``torch.Tensor`` of a real dtype counts as an array. The child's stdout and stderr go to a
capture file (shown, truncated, in failure messages and claim evidence), its protocol pipes are
closed on ``exec`` (a grandchild cannot hold them), it leads its own process group (killed as a
whole) and, on Linux, receives SIGKILL when cnnspec dies (``prctl(PR_SET_PDEATHSIG)``, see
prctl(2)).
"""
from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..adapters._frontend import floating, np_dtype as _np_dtype   # bfloat16: ml_dtypes'
from ..errors import UsageError
from ..targets import load_op, parse
from . import call_forms, child, wire

ARRAYS = ("numpy", "torch")
DTYPES = ("float32", "float64", "float16", "bfloat16")
INPUT_NAMES = ("x", "weight", "bias")   # the torch.nn.functional names of the positional arrays
MAX_VALUE_BYTES = 256 << 20             # a returned array larger than this is a failing result
MAX_TEXT = 400                          # characters of a target's error text that are kept
ACCEPTED = "only plain numpy.ndarray / torch.Tensor are accepted"
# the progress file the child marks each call in: the index in its batch of the call running, and
# when it started (CLOCK_MONOTONIC, one clock for every process of the machine)
_RUNNING = struct.Struct("<id")


INT_DTYPES = ("uint8", "int8", "int16", "int32", "int64")   # integer arrays a call may pass


@dataclass
class Call:
    """One call of the target: ``f(*args, **kwargs)``; ``grad`` asks for a backward pass too.

    ``returns``: the number of arrays the call returns (2: a ``(values, indices)`` tuple).
    ``typed``: every array crosses in its own dtype (the integer ops: uint8/int8 data, int32 bias,
    float32 scales), not the run's ``--dtype``; integer arrays always keep theirs. ``names``: what
    a message calls each positional argument (``modified its input indices at ...``).
    ``layout`` gives the arrays another memory layout in the child, ``partner`` calls another op
    beside the target in its module instead (:mod:`.call_forms`); both plain data."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    grad: np.ndarray | None = None
    returns: int = 1
    typed: bool = False
    names: tuple = INPUT_NAMES          # the positional arguments' names, for messages
    layout: str | None = None
    partner: str | None = None


@dataclass
class Result:
    """What one call gave: ``value`` (float64; int64 for an integer array) when ``ok``; else
    ``error`` says what went wrong. For a call with ``returns > 1``, ``value`` is a tuple of that
    many arrays and ``dtype`` a tuple of their dtype names.

    ``error`` reads after "raised" when ``raised`` (``ValueError: ...``), else after "returned"
    (``None, not a numpy.ndarray``). ``mutated`` is set (and ``ok`` false) when the target
    changed one of its inputs: ``modified its input x at [0,0,1,2]: 3 became 0``.
    """

    ok: bool
    value: np.ndarray | None = None
    error: str = ""
    raised: bool = False
    dtype: str = ""
    grads: tuple | None = None
    mutated: str = ""


class WorkerFailure(Exception):
    """The child died or hung: the target crashed, hung or exited. ``hung``: it ran past the
    timeout (a crash ends at once; a hang costs the whole timeout again if the call is retried).
    ``running``: the call of the batch that the child had started and not finished (the child
    marks each call as it starts it), or None if it had started none or finished them all;
    ``running_for``: how long that call had run, in seconds."""

    def __init__(self, message: str, hung: bool = False, running: "Call | None" = None,
                 running_for: float = 0.0):
        super().__init__(message)
        self.hung, self.running, self.running_for = hung, running, running_for


def _text(s: Any, limit: int = MAX_TEXT) -> str:
    return child.text(s, limit)


def _type_name(y: Any) -> str:
    if y is None:
        return "None"
    try:
        name, module = type(y).__name__, str(type(y).__module__).split(".")[0]
        # the array libraries' own types by their public names: numpy.ndarray, torch.Tensor
        return _text(f"{module}.{name}" if module in ("numpy", "torch") else name, 80)
    except Exception:  # noqa: BLE001
        return "an object"


def _where(a) -> str:
    return "[" + ",".join(str(int(i)) for i in a) + "]"


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 2 ** 53 else repr(float(v))


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
            self.np_dtype = _np_dtype(dtype)

    def to_target(self, a, requires_grad: bool = False, typed: bool = False):
        """A fresh copy of ``a`` in the target's array type: no two calls share an input.

        Float arrays take the run's dtype unless ``typed``; integer arrays keep theirs (only
        :data:`INT_DTYPES`: what the target receives is a plain, well-known integer array)."""
        if not isinstance(a, np.ndarray):
            return a
        keep = a.dtype.kind in "iu" or typed
        if keep and a.dtype.name not in INT_DTYPES + ("float32", "float64", "float16"):
            raise TypeError(f"cnnspec: an input of dtype {a.dtype} cannot be passed")
        if self.array == "torch":
            if keep:
                t = self.torch.from_numpy(np.array(a, copy=True)).to(self.device)
            else:
                t = self.torch.tensor(a, device=self.device, dtype=self.tdtype)
            return t.requires_grad_(True) if requires_grad else t
        return a.copy() if keep else a.astype(self.np_dtype, copy=True)

    def snapshot(self, t) -> np.ndarray:
        """The values of a target array (taken before and after the call): float64, int64 for an
        integer array (exact either way)."""
        if self.array == "torch":
            wide = self.torch.float64 if t.is_floating_point() else self.torch.int64
            return t.detach().to("cpu", wide).numpy().copy()
        return np.array(t, dtype=np.int64 if t.dtype.kind in "iu" else np.float64, copy=True)

    def from_target(self, y) -> tuple[np.ndarray | None, str, str]:
        """``(array, dtype name, error)``: only a plain array of a real dtype is a value; float
        values come back as float64, integer ones as int64 (uint64 only below 2^63)."""
        if self.array == "torch":
            T = self.torch.Tensor
            if type(y) is not T:
                if isinstance(y, T):
                    return None, "", f"a torch.Tensor subclass {_type_name(y)} ({ACCEPTED})"
                return None, "", f"{_a(_type_name(y))}, not a torch.Tensor"
            name = str(y.dtype).replace("torch.", "")
            if y.is_complex() or y.dtype == self.torch.bool or y.layout != self.torch.strided:
                return None, name, f"a tensor of dtype {name} and layout {y.layout}, not a real dense array"
            if y.numel() * 8 > MAX_VALUE_BYTES:
                return None, name, f"a tensor of {y.numel()} entries, more than cnnspec reads back"
            if y.is_floating_point():
                return y.detach().to("cpu", self.torch.float64).numpy(), name, ""
            if name not in INT_DTYPES:
                return None, name, f"a tensor of dtype {name}, not one of {', '.join(INT_DTYPES)}"
            return y.detach().to("cpu", self.torch.int64).numpy(), name, ""
        if type(y) is not np.ndarray:
            if isinstance(y, np.ndarray):
                return None, "", f"an ndarray subclass {_type_name(y)} ({ACCEPTED})"
            return None, "", f"{_a(_type_name(y))}, not a numpy.ndarray"
        if y.dtype.kind not in "iu" and not floating(y.dtype):
            return None, _text(y.dtype, 40), f"an array of dtype {_text(y.dtype, 40)}, not a float array"
        if y.size * 8 > MAX_VALUE_BYTES:
            return None, str(y.dtype), f"an array of {y.size} entries, more than cnnspec reads back"
        if floating(y.dtype):
            return y.astype(np.float64), str(y.dtype), ""
        if y.dtype == np.uint64 and y.size and int(y.max()) >= 2 ** 63:
            return None, str(y.dtype), f"a uint64 array holding {int(y.max())}, beyond int64"
        return y.astype(np.int64), str(y.dtype), ""

    def from_target_many(self, y, n: int) -> tuple[tuple | None, tuple | str, str]:
        """``(arrays, dtype names, error)`` for a call that returns ``n`` arrays: a tuple (or list)
        of exactly ``n`` plain arrays, each as :meth:`from_target` reads it."""
        if not isinstance(y, (tuple, list)):
            kind = "torch.Tensor" if self.array == "torch" else "numpy.ndarray"
            return None, "", f"{_a(_type_name(y))}, not a tuple of {n} {kind}s"
        if len(y) != n:
            return None, "", f"a tuple of {len(y)} entries, not {n}"
        values, names = [], []
        for i, part in enumerate(y):
            v, name, err = self.from_target(part)
            if err:
                return None, name, f"a tuple whose entry {i} is {err}"
            values.append(v)
            names.append(name)
        return tuple(values), tuple(names), ""


def _a(name: str) -> str:
    return name if name == "None" else f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _mutation(ad: _Adapter, before: list, targets: list, names: tuple = INPUT_NAMES) -> str:
    """``modified its input x at [0,0,1,2]: 3 became 0`` for the first changed input, or ``""``."""
    for i, b in before:
        name = names[i] if i < len(names) else f"args[{i}]"
        try:
            now = ad.snapshot(targets[i])
        except Exception as e:  # noqa: BLE001 - the target replaced the array with something else
            return f"modified its input {name}: it can no longer be read ({type(e).__name__})"
        if now.shape != b.shape:
            return f"modified its input {name}: its shape {tuple(b.shape)} became {tuple(now.shape)}"
        bad = ~((now == b) | (np.isnan(now) & np.isnan(b)))
        if bad.any():
            j = tuple(np.argwhere(bad)[0])
            return (f"modified its input {name} at {_where(j)}: {_num(b[j])} became {_num(now[j])} "
                    f"({int(bad.sum())} of {b.size} entries changed)")
    return ""


def _run_call(fn: Callable, ad: _Adapter, call: Call) -> Result:
    try:
        want_grad = call.grad is not None
        args = [ad.to_target(a, want_grad and i < 3 and isinstance(a, np.ndarray), call.typed)
                for i, a in enumerate(call.args)]
        args = call_forms.arrange(args, call.layout, ad.array)
        before = [(i, ad.snapshot(t)) for i, (a, t) in enumerate(zip(call.args, args))
                  if isinstance(a, np.ndarray)]
        y = fn(*args, **call.kwargs)
        if call.returns == 1:
            value, dtype, err = ad.from_target(y)
        else:
            value, dtype, err = ad.from_target_many(y, call.returns)
        grads = None
        if not err and want_grad and call.returns == 1:
            if not getattr(y, "requires_grad", False):
                err = ("an output that does not require grad: the target is not differentiable "
                       "through torch autograd")
            elif tuple(y.shape) != call.grad.shape:
                err = (f"an output of shape {tuple(y.shape)}, which the gradient of shape "
                       f"{call.grad.shape} cannot flow back through")
            else:
                g = ad.to_target(call.grad)
                # d/dy Σ(y·g) = g, bit for bit (MulBackward gives 1·g): the backward pass of
                # y.backward(g), which in torch 2.x first imports sympy to check g's shape
                # (torch.autograd._make_grads: 0.7 s, most of a quick run's calls to the target).
                (y * g).sum().backward()
                grads = tuple(_grad(ad, a) for a in args[:3])
        mutated = _mutation(ad, before, args, call.names)
        if mutated:
            return Result(False, error=mutated, dtype=dtype, mutated=mutated)
        if err:
            return Result(False, error=err, dtype=dtype)
        return Result(True, value, dtype=dtype, grads=grads)
    except SystemExit as e:
        return Result(False, error=f"SystemExit: the target called sys.exit({_text(e.code, 40)})",
                      raised=True)
    except BaseException as e:  # noqa: BLE001 - whatever the target raises is a result
        try:
            frame = traceback.extract_tb(e.__traceback__)[-1]
            where = f" (at {Path(frame.filename).name}:{frame.lineno})"
        except Exception:  # noqa: BLE001
            where = ""
        text = _text(e)
        first = text.splitlines()[0] if text else ""
        from ..adapters import TITLES, NoKernel, no_kernel
        if no_kernel(e, ad.dtype):
            # the target's library says it has no kernel of this dtype for the call: the case is
            # not expressible at this dtype (left out, and counted), not a wrong value
            said = f"{TITLES.get(e.framework, e.framework)}: {e.said}" if isinstance(e, NoKernel) \
                else f"{_type_name(e)}: {first}"
            return Result(False, error=f"NotExpressible: the target has no {ad.dtype} kernel for this "
                                       f"call on {ad.device} ({said})", raised=True)
        return Result(False, error=f"{_type_name(e)}: {first}{where}", raised=True)


def _grad(ad: _Adapter, a) -> np.ndarray | None:
    g = getattr(a, "grad", None)
    if g is None:
        return None
    if type(g) is not ad.torch.Tensor or g.is_complex():
        raise TypeError(f"the gradient is {_a(_type_name(g))}, not a real torch.Tensor")
    return g.detach().to("cpu", ad.torch.float64).numpy()


def _encode_results(results: list[Result]) -> bytes:
    metas, arrays = [], []

    def put(a: np.ndarray | None) -> int | None:
        if a is None:
            return None
        arrays.append(np.asarray(a, dtype=np.int64 if a.dtype.kind in "iu" else np.float64))
        return len(arrays) - 1

    for r in results:
        many = isinstance(r.value, tuple)      # a (values, indices) tuple: a list of arrays
        metas.append({"ok": r.ok, "error": r.error, "raised": r.raised,
                      "dtype": list(r.dtype) if many else r.dtype, "mutated": r.mutated,
                      "value": [put(v) for v in r.value] if many else put(r.value),
                      "grads": None if r.grads is None else [put(g) for g in r.grads]})
    return wire.encode({"kind": "results", "results": metas}, arrays)


RESULT_DTYPES = (np.dtype(np.float64), np.dtype(np.int64))   # what a result array may be


def _decode_results(meta: Any, arrays: list[np.ndarray], n: int,
                    returns: list[int] | None = None) -> list[Result]:
    """The parent's side: every field checked for type, every array for its dtype (float64 or
    int64), an ok result for the number of arrays its call asked for (``returns``, default one
    each); a :class:`wire.WireError` otherwise."""
    if not isinstance(meta, dict) or meta.get("kind") != "results" or \
            not isinstance(meta.get("results"), list) or len(meta["results"]) != n:
        raise wire.WireError(f"the reply is not a list of {n} results")
    returns = [1] * n if returns is None else returns

    def arr(k: Any) -> np.ndarray | None:
        if k is None:
            return None
        if type(k) is not int or not 0 <= k < len(arrays) or arrays[k].dtype not in RESULT_DTYPES:
            raise wire.WireError(f"a result names array {str(k)[:20]}, which is not there")
        return arrays[k]

    out = []
    types = {"ok": bool, "error": str, "raised": bool, "mutated": str}
    for m, want in zip(meta["results"], returns):
        if not isinstance(m, dict) or set(m) != set(types) | {"value", "grads", "dtype"} or \
                any(type(m[k]) is not t for k, t in types.items()):
            raise wire.WireError("a result does not have the fields of a Result")
        grads, value, dtype = m["grads"], m["value"], m["dtype"]
        if grads is not None and (not isinstance(grads, list) or len(grads) > 3):
            raise wire.WireError("a result's grads are not a list of at most 3 arrays")
        if isinstance(value, list):           # a tuple of arrays, each with its dtype name
            if not (want > 1 and len(value) == want and isinstance(dtype, list) and len(dtype) == want
                    and all(type(d) is str for d in dtype)):
                raise wire.WireError(f"a result holds a list of {len(value)} arrays where its call "
                                     f"asked for {want}")
            value, dtype = tuple(arr(v) for v in value), tuple(_text(d, 40) for d in dtype)
            if any(v is None for v in value):
                raise wire.WireError("a result's tuple has an entry that is no array")
        elif type(dtype) is str:
            value, dtype = arr(value), _text(dtype, 40)
        else:
            raise wire.WireError("a result's dtype is not a string")
        r = Result(m["ok"], value, _text(m["error"], 2 * MAX_TEXT), m["raised"], dtype,
                   None if grads is None else tuple(arr(g) for g in grads),
                   _text(m["mutated"], 2 * MAX_TEXT))
        if r.ok and (r.value is None or isinstance(r.value, tuple) != (want > 1)):
            raise wire.WireError("a result is ok but has no value" if r.value is None else
                                 f"a result is ok but does not hold the {want} array(s) its call asked for")
        out.append(r)
    return out


def _child(r: int, w: int, target: str, array: str, dtype: str, device: str, progress: str) -> None:
    mark = os.open(progress, os.O_WRONLY) if progress else -1    # "": the parent made no file

    def say(kind: str, message: str = "") -> None:
        wire.send_blocking(w, wire.encode({"kind": kind, "message": message}))

    try:
        from ..adapters import worker_process
        worker_process()
        fn = load_op(target)
        ad = _Adapter(array, dtype, device)
    except UsageError as e:
        say("usage", str(e))
        return
    except SystemExit as e:
        say("usage", f"target: importing {target!r} called sys.exit({_text(e.code, 40)}); a target "
                     f"module must not end the process that imports it")
        return
    except BaseException as e:  # noqa: BLE001
        say("usage", f"target: setting up {array} on {device} failed: {_type_name(e)}: {_text(e)}")
        return
    say("ready")
    partners: dict[str, Callable | str] = {}    # partner name -> callable, or why there is none
    while True:
        payload = wire.recv_blocking(r)
        if payload is None:
            return
        calls = pickle.loads(payload)            # from the parent, which this process trusts
        if calls is None:
            return
        results = []
        for i, c in enumerate(calls):
            if mark >= 0:
                os.pwrite(mark, _RUNNING.pack(i, time.monotonic()), 0)   # the call a hang or crash stops in
            results.append(_run_call(fn, ad, c) if c.partner is None else _run_partner(target, c, ad, partners))
        if mark >= 0:
            os.pwrite(mark, _RUNNING.pack(-1, 0.0), 0)
        try:
            data = _encode_results(results)
        except Exception as e:  # noqa: BLE001 - e.g. a value too large: one failing result each
            data = _encode_results([Result(False, error=f"a reply that cannot be sent ({_text(e)})")
                                    for _ in calls])
        wire.send_blocking(w, data)


def _run_partner(target: str, call: Call, ad: _Adapter, partners: dict) -> Result:
    """The call of ``call.partner`` beside the target; a :data:`call_forms.NO_PARTNER` result
    (not raised: no code of the target's failed) when the module has none."""
    if call.partner not in partners:
        try:
            partners[call.partner] = call_forms.partner(target, call.partner)
        except LookupError as e:
            partners[call.partner] = _text(e)
    fn = partners[call.partner]
    if isinstance(fn, str):
        return Result(False, error=call_forms.NO_PARTNER + fn)
    return _run_call(fn, ad, call)


# --- the parent's handle ---------------------------------------------------------------------------

class Worker:
    """A child process running ``target``; :meth:`call_many` sends a batch, waits at most ``timeout``."""

    def __init__(self, target: str, *, array: str = "numpy", dtype: str = "float32",
                 device: str = "cpu", timeout: float = 60.0, import_timeout: float = 120.0,
                 wait: bool = True):
        if array not in ARRAYS:
            raise UsageError(f"array: {array!r} is not one of {', '.join(ARRAYS)}")
        if dtype not in DTYPES:
            raise UsageError(f"dtype: {dtype!r} is not one of {', '.join(DTYPES)}")
        if array == "numpy" and dtype == "bfloat16":
            _np_dtype(dtype)    # NumPy's bfloat16 is ml_dtypes': a one-line error where it is missing
        if array == "numpy" and device != "cpu":
            raise UsageError(f"device: {device!r} needs --array torch; NumPy arrays live on the cpu")
        mod, attr = parse(target)
        self.target = f"{mod}:{attr}"
        self.array, self.dtype, self.device = array, dtype, device
        self.timeout, self.import_timeout = timeout, import_timeout
        self.calls = 0
        self.capture = child.Capture()
        self._proc: subprocess.Popen | None = None
        self._r = self._w = -1
        self._pending = False           # started, "ready" not read yet
        # the child marks each call of a batch as it starts it: the call a hang stopped in
        # (removed on close, when the handle is collected, or at the latest when the interpreter
        # exits; where no temporary file can be made, failures name their batch only)
        try:
            fd, self._progress_path = tempfile.mkstemp(prefix="cnnspec-progress-")
        except OSError:
            fd, self._progress_path = -1, ""
        self._progress = os.fdopen(fd, "r+b", buffering=0) if fd >= 0 else None
        self._drop_progress = weakref.finalize(self, _remove, self._progress, self._progress_path)
        self._start(wait)

    def _start(self, wait: bool = True) -> None:
        # A fresh interpreter (not multiprocessing's spawn, which re-imports the caller's __main__).
        self._proc, self._r, self._w = child.spawn(
            "cnnspec.conformance.isolation", [self.target, self.array, self.dtype, self.device,
                                              self._progress_path],
            self.capture, preload=child.TORCH if self.array == "torch" else child.NUMPY)
        self._ready_by, self._ready_mark = time.monotonic() + self.import_timeout, self.capture.mark()
        self._pending = True
        if wait:
            self.wait_ready()

    def exited(self) -> bool:
        """True when the child has ended (a target whose import failed ends it before "ready")."""
        return self._proc is None or self._proc.poll() is not None

    def wait_ready(self) -> None:
        """Wait until the child has imported the target (``Worker(..., wait=False)`` returns at
        once, so that the caller's own work overlaps the child's imports); a
        :class:`~cnnspec.errors.UsageError` if it could not. Nothing to do once it is ready."""
        if not self._pending:
            return
        self._pending, mark = False, self._ready_mark
        try:
            meta, _ = wire.decode(wire.read_frame(self._r, self._ready_by))
            kind, msg = meta["kind"], meta["message"]
            if not isinstance(kind, str) or not isinstance(msg, str):
                raise wire.WireError("the first message is not {kind, message}")
        except wire.Expired:
            self._kill()
            raise UsageError(f"target: importing {self.target!r} did not finish within "
                             f"{self.import_timeout:.0f} s{self.capture.said(mark)}") from None
        except (EOFError, OSError, wire.WireError, KeyError, TypeError) as e:
            code = self._kill(grace=2.0)
            why = child.exit_words(code) if isinstance(e, EOFError) else f"it sent a malformed message: {e}"
            raise UsageError(f"target: the process importing {self.target!r} died ({why})"
                             f"{self.capture.said(mark)}") from None
        if kind != "ready":
            self._kill()
            raise UsageError(_text(msg, 2000))

    def _kill(self, grace: float = 0.0) -> int | None:
        """Stop the child and everything it started; its exit status (see :func:`child.stop`)."""
        proc, fds = self._proc, (self._r, self._w)
        self._proc, self._r, self._w = None, -1, -1
        return child.stop(proc, fds, grace)

    def call_many(self, calls: list[Call]) -> list[Result]:
        """Every call's result, in order; :class:`WorkerFailure` if the child crashes or hangs."""
        if self._proc is None:
            self._start()
        self.wait_ready()
        self.calls += len(calls)
        deadline = time.monotonic() + self.timeout
        mark = self.capture.mark()
        if self._progress is not None:
            os.pwrite(self._progress.fileno(), _RUNNING.pack(-1, 0.0), 0)
        try:
            data = pickle.dumps(list(calls), protocol=pickle.HIGHEST_PROTOCOL)
            wire.write_frame(self._w, wire.header(len(data)) + data, deadline)
            meta, arrays = wire.decode(wire.read_frame(self._r, deadline))
            return _decode_results(meta, arrays, len(calls), [c.returns for c in calls])
        except wire.Expired:
            self._kill()
            raise WorkerFailure(f"the target did not return within {self.timeout:g} s (hangs?); "
                                f"stopped it{self.capture.said(mark)}", hung=True,
                                **self._running(calls)) from None
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            code = self._kill(grace=2.0)
            raise WorkerFailure(f"the target ended the worker process ({child.exit_words(code)})"
                                f"{self.capture.said(mark)}", **self._running(calls)) from None
        except wire.WireError as e:
            self._kill()
            raise WorkerFailure(f"the worker process sent a malformed reply ({e}); something in "
                                f"the target wrote onto cnnspec's result pipe{self.capture.said(mark)}") from None

    def _running(self, calls: list[Call]) -> dict:
        """``running`` and ``running_for`` of :class:`WorkerFailure`: the call the child had marked
        as started and not finished, if any, and how long ago it started."""
        if self._progress is None:      # no progress file: nothing was marked
            return {}
        try:
            i, t0 = _RUNNING.unpack(os.pread(self._progress.fileno(), _RUNNING.size, 0))
        except (OSError, struct.error):
            return {}
        return {"running": calls[i], "running_for": time.monotonic() - t0} if 0 <= i < len(calls) else {}

    def output(self, since: int = 0, limit: int = 600) -> str:
        """What the target printed (stdout and stderr) since ``since`` (a :meth:`Capture.mark`)."""
        return self.capture.text(since, limit)

    def close(self) -> None:
        """Stop the child (it holds no state worth a clean shutdown)."""
        self._kill()
        self.capture.close()
        self._drop_progress()

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._kill()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def _remove(file, path: str) -> None:
    if file is None:
        return
    file.close()
    try:
        os.unlink(path)
    except OSError:
        pass


def _header(n: int) -> bytes:
    """The frame header of :mod:`.wire` (for tests that imitate a worker writing half a reply)."""
    return wire.header(n)


if __name__ == "__main__":  # the child: python -m cnnspec.conformance.isolation R W TARGET ARRAY DTYPE DEVICE PARENT
    from cnnspec.conformance import isolation as _iso  # unpickle Call by its importable name

    _r, _w, _args = child.start_child(sys.argv[1:])
    _iso._child(_r, _w, *_args)
