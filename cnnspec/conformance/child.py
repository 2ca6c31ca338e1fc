"""A child process for untrusted code: started, watched and stopped so that it cannot hurt cnnspec.

Used by the op worker (:mod:`.isolation`) and the model worker (:mod:`.model_worker`). The child

* is a fresh interpreter (``python -m MODULE``), never a fork of cnnspec; a child that imports
  torch may be a fork of :mod:`.forkserver`'s interpreter, which has imported nothing but torch
  and cnnspec's worker modules, set up as a fresh one would be;
* talks over two pipes whose numbers it gets in ``argv``; it marks them close-on-exec at once, so
  a program the untrusted code starts (``os.system``, ``subprocess``) cannot hold them open;
* writes its stdout and stderr into a :class:`Capture` file, never into cnnspec's own streams;
* leads its own session and process group (``start_new_session``), so :func:`stop` kills it and
  whatever it started with one ``killpg``, and a Ctrl-C at the terminal reaches cnnspec only;
* on Linux asks for SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``, prctl(2)), so a
  ``kill -9`` of cnnspec leaves no orphan behind.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..targets import PERTURB, worker_env  # noqa: F401 - the environment of a target's process


def text(s: Any, limit: int = 400) -> str:
    """``s`` as one printable line of at most ``limit`` characters (untrusted text)."""
    try:
        s = str(s)
    except Exception:  # noqa: BLE001 - a __str__ that raises
        s = "<unprintable>"
    s = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else "?" for c in s)
    return s if len(s) <= limit else s[:limit - 1] + "…"


class Capture:
    """A temporary file that receives a child's stdout and stderr; read back truncated."""

    def __init__(self):
        self.file = tempfile.TemporaryFile(prefix="cnnspec-worker-")

    def mark(self) -> int:
        """The current end: pass it to :meth:`text` for what was written after this point."""
        try:
            return os.fstat(self.file.fileno()).st_size
        except (OSError, ValueError):
            return 0

    def text(self, since: int = 0, limit: int = 600) -> str:
        """What was written since ``since``: all of it, or its head and tail with the size between."""
        try:
            end = self.mark()
            n = end - since
            if n <= 0:
                return ""
            fd, half = self.file.fileno(), limit // 2
            if n <= limit:
                return _printable(os.pread(fd, n, since))
            head, tail = os.pread(fd, half, since), os.pread(fd, half, end - half)
            return f"{_printable(head)} … [{n - 2 * half} bytes left out] … {_printable(tail)}"
        except (OSError, ValueError):
            return ""

    def said(self, since: int) -> str:
        """``; its output: ...`` for a message, or ``""`` when the child printed nothing."""
        t = self.text(since)
        return f"; its output: {t}" if t else ""

    def close(self) -> None:
        try:
            self.file.close()
        except OSError:
            pass


def _printable(raw: bytes) -> str:
    s = raw.decode("utf-8", "replace").replace("\r", "").replace("\n", "⏎")
    return "".join(c if c.isprintable() else "?" for c in s)


# What a child imports anyway: the fork servers' modules (:func:`spawn`); one server for children
# with torch, one without (a child for NumPy arrays never has torch imported for it).
TORCH = ("torch", "cnnspec.conformance.isolation", "cnnspec.networks.model_worker")
NUMPY = ("numpy", "cnnspec.conformance.isolation")


def spawn(module: str, args: list[str], capture: Capture, preload: tuple[str, ...] = ()
          ) -> tuple[Any, int, int]:
    """Start ``python -m module R W *args PARENT``; ``(process, read fd, write fd)``, both
    non-blocking (no read or write of the parent's may block past its deadline).

    ``preload``: modules the child will import anyway (torch): when this process has asked for
    such children before, the child is a fork of :mod:`.forkserver`'s interpreter that imported
    them once, set up as a fresh one would be (its process has ``poll``/``wait``/``pid`` like a
    ``subprocess.Popen``)."""
    down_r, down_w = os.pipe()
    up_r, up_w = os.pipe()
    env = worker_env(dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(Path(__file__).resolve().parents[2])] + [p or os.getcwd() for p in sys.path])))
    try:
        proc = None
        if preload:
            from . import forkserver

            try:
                proc = forkserver.spawn(module, args, env, (down_r, up_w, capture.file.fileno()), preload)
            except forkserver.Unavailable:
                proc = None
        if proc is None:
            proc = subprocess.Popen(
                [sys.executable, "-m", module, str(down_r), str(up_w), *args, str(os.getpid())],
                pass_fds=(down_r, up_w), env=env, stdin=subprocess.DEVNULL, stdout=capture.file,
                stderr=subprocess.STDOUT, start_new_session=True)
    except BaseException:
        for fd in (up_r, down_w):
            os.close(fd)
        raise
    finally:
        os.close(down_r)
        os.close(up_w)
    os.set_blocking(up_r, False)
    os.set_blocking(down_w, False)
    return proc, up_r, down_w


def stop(proc: subprocess.Popen | None, fds: tuple[int, ...], grace: float = 0.0) -> int | None:
    """Close ``fds``, kill the child's whole process group; its exit status (None if unknown).

    ``grace`` seconds are left for a child that is exiting on its own, so that its own status
    (``exited with code 0``) is reported rather than the SIGKILL."""
    for fd in fds:
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass
    if proc is None:
        return None
    code = None
    if grace:
        try:
            code = proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)          # what the untrusted code started, too
    except (ProcessLookupError, PermissionError):
        pass
    if code is None:
        try:
            code = proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
    return code


def exit_words(code: int | None) -> str:
    """``exited with code 0: ...``, ``killed by signal 11, SIGSEGV`` or ``no exit status``."""
    if code is None:
        return "no exit status"
    if code < 0:
        try:
            return f"killed by signal {-code}, {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}" + (": the code it ran called os._exit or sys.exit instead of "
                                         "returning" if code == 0 else "")


def start_child(argv: list[str]) -> tuple[int, int, list[str]]:
    """In the child: the pipes from ``argv`` (made close-on-exec), the other arguments; dies with
    the parent (its pid is the last argument)."""
    r, w, rest, parent = int(argv[0]), int(argv[1]), argv[2:-1], int(argv[-1])
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:          # the parent died before prctl took effect
        os._exit(1)
    for fd in (r, w):
        os.set_inheritable(fd, False)
    return r, w, rest
