"""A fork server for worker children: one fresh interpreter imports torch (or, for NumPy children,
NumPy and cnnspec's worker) once, then forks a child for each worker that needs it, instead of
each child importing them again (torch: about 2.5 CPU-seconds on a 2-core machine, most of a
short ``validate`` run's child; NumPy: about 0.3 s).

The server is started by :func:`cnnspec.conformance.child.spawn` (never by user code) only when a
process asks for a second worker that preloads the same modules: a single ``cnnspec validate``
never pays for it. Until the server has imported its modules, workers start as before (``python -m``
a fresh interpreter), so no request waits for it.

A forked child is set up to be what a fresh one would be: it leads its own session (one
``killpg`` stops it and what it started), its stdin, stdout and stderr are the ones the parent
passed (``SCM_RIGHTS``), it has the parent's environment, working directory and ``sys.path``,
fresh random seeds, and it runs ``python -m MODULE ARGS`` (:func:`runpy.run_module`). The server
asks for SIGKILL when cnnspec dies and every child asks for it when the server dies (prctl(2),
``PR_SET_PDEATHSIG``), so a ``kill -9`` of cnnspec still leaves no process behind. The server reaps
its children and reports each exit status, which :class:`ForkedProcess` returns as
``subprocess.Popen`` does (negative: the signal).

The server is used only while the variables that can change what an import does (``OMP_*``,
``TORCH*``, ``PYTHON*`` other than ``PYTHONPATH``, ``LD_*``, ...) are the ones it was
started with; any other request, and any failure to reach it, starts a fresh interpreter.
``CNNSPEC_FORKSERVER=off`` turns it off.

References: Python's :mod:`multiprocessing` ``forkserver`` start method (the same idea for its
own processes); PyTorch's ``DataLoader``, whose workers are forks of a process that has imported
torch.
"""
from __future__ import annotations

import atexit
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

_PREFIXES = ("OMP_", "KMP_", "GOMP", "MKL", "OPENBLAS", "GOTO", "BLIS", "TORCH", "PYTORCH", "CUDA",
             "NVIDIA", "CUBLAS", "CUDNN", "NCCL", "LD_", "PYTHON", "NUMPY", "NPY_", "MALLOC",
             "XLA_", "TF_", "JAX_", "TMPDIR")     # cnnspec's own variables are read when used
_VOLATILE = {"PYTHONPATH"}
_MSG = 1 << 20                                   # the largest message (an environment)


class Unavailable(Exception):
    """The server cannot take this request: start a fresh interpreter instead."""


def import_env(env: dict[str, str]) -> tuple:
    """The variables of ``env`` that can change what importing torch or NumPy does."""
    return tuple(sorted((k, v) for k, v in env.items() if k.startswith(_PREFIXES) and k not in _VOLATILE))


# --- the parent's side ------------------------------------------------------------------------------

class ForkedProcess:
    """A child of the server, with the part of ``subprocess.Popen``'s interface that
    :func:`cnnspec.conformance.child.stop` and the workers use."""

    def __init__(self, server: "Server", pid: int):
        self.pid, self._server, self.returncode = pid, server, None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._server.status(self.pid, 0.0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = self._server.status(self.pid, timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(f"forked worker {self.pid}", timeout or 0.0)
        return self.returncode


class Server:
    """The handle of one server process (a fresh interpreter that imported ``preload``)."""

    def __init__(self, preload: tuple[str, ...], env: dict[str, str]):
        self.preload, self.key, self.owner = preload, import_env(env), os.getpid()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", __name__, str(theirs.fileno()), str(os.getpid()), *preload],
                pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.sock = ours
        self.ready = False
        self.dead = False
        self.codes: dict[int, int] = {}
        self.replies: list[dict] = []
        self.lock = threading.Lock()

    # messages ----------------------------------------------------------------------------------
    def _read(self, timeout: float | None) -> bool:
        """Read one message if one comes within ``timeout``; False if none did."""
        if self.dead:
            return False
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return False
        try:
            data = self.sock.recv(_MSG)
        except OSError:
            data = b""
        if not data:                           # the server ended: its children with it (PDEATHSIG)
            self.dead = True
            return False
        m = json.loads(data)
        if "exit" in m:
            self.codes[int(m["exit"])] = int(m["code"])
        elif m.get("ready"):
            self.ready = True
        else:
            self.replies.append(m)
        return True

    def _pump(self) -> None:
        while self._read(0.0):
            pass

    def status(self, pid: int, timeout: float | None) -> int | None:
        """``pid``'s exit status once the server has reported it, waiting at most ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.lock:
            while pid not in self.codes:
                if self.dead:                      # the server's end killed its children
                    return -signal.SIGKILL
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not self._read(left) and left == 0.0:
                    return None
            return self.codes.pop(pid)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self.lock:
            while not self.ready and not self.dead and time.monotonic() < deadline:
                self._read(max(0.0, deadline - time.monotonic()))

    def usable(self, env: dict[str, str]) -> bool:
        with self.lock:
            self._pump()
        return (self.ready and not self.dead and os.getpid() == self.owner
                and self.proc.poll() is None and import_env(env) == self.key)

    def spawn(self, module: str, args: list[str], env: dict[str, str], fds: tuple[int, int, int]
              ) -> ForkedProcess:
        """Fork ``python -m module R W *args PARENT`` with ``fds = (R, W, output)``."""
        request = json.dumps({"module": module, "args": args, "env": env, "cwd": os.getcwd()}).encode()
        if len(request) >= _MSG:
            raise Unavailable("environment too large")
        with self.lock:
            try:
                socket.send_fds(self.sock, [request], list(fds))
            except OSError as e:
                self.dead = True
                raise Unavailable(str(e)) from None
            while not self.replies:
                if not self._read(10.0):
                    self.dead = True
                    raise Unavailable("the fork server did not answer")
            reply = self.replies.pop(0)
        if "pid" not in reply:
            raise Unavailable(reply.get("error", "no pid"))
        return ForkedProcess(self, int(reply["pid"]))

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass


_servers: dict[tuple[str, ...], Server] = {}
_asked: dict[tuple[str, ...], int] = {}
_guard = threading.Lock()


def mode() -> str:
    """``CNNSPEC_FORKSERVER``: ``off``; ``always`` (start the server at the first request and
    wait for it: the tests of forked workers); anything else: from the second request on."""
    m = os.environ.get("CNNSPEC_FORKSERVER", "").strip().lower()
    return "off" if m in ("off", "0", "no", "false") else "always" if m == "always" else "auto"


def spawn(module: str, args: list[str], env: dict[str, str], fds: tuple[int, int, int],
          preload: tuple[str, ...]) -> ForkedProcess:
    """A forked child if a ready server with ``preload`` imported and the same import environment
    exists; else :class:`Unavailable` (and, at the second request for ``preload``, the server is
    started for the requests that come after)."""
    how = mode()
    if how == "off" or not sys.platform.startswith("linux"):
        raise Unavailable("off")
    with _guard:
        server = _servers.get(preload)
        if server is not None and (server.dead or server.owner != os.getpid() or server.proc.poll() is not None):
            _servers.pop(preload).close()
            server = None
        _asked[preload] = _asked.get(preload, 0) + 1
        if server is None:
            if _asked[preload] < 2 and how != "always":
                raise Unavailable("not started")
            server = _servers[preload] = Server(preload, env)
            if how != "always":
                raise Unavailable("not started")
    if how == "always":
        server.wait_ready(120.0)
    if not server.usable(env):
        raise Unavailable("not ready, or another environment")
    return server.spawn(module, args, env, fds)


@atexit.register
def _close_all() -> None:
    for s in list(_servers.values()):
        if s.owner == os.getpid():
            s.close()
    _servers.clear()


# --- the server ------------------------------------------------------------------------------------

def _pdeathsig() -> None:
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    try:
        sock.send(json.dumps(message).encode())
    except OSError:
        pass


def _serve(sock_fd: int, parent: int, preload: list[str]) -> None:
    _pdeathsig()
    if os.getppid() != parent:
        os._exit(1)
    sock = socket.socket(fileno=sock_fd)
    os.set_inheritable(sock_fd, False)
    import importlib

    for mod in preload:
        importlib.import_module(mod)
    base = list(sys.path[1:])                      # the interpreter's own entries after the first
    wake_r, wake_w = os.pipe()
    for fd in (wake_r, wake_w):
        os.set_blocking(fd, False)
        os.set_inheritable(fd, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _send(sock, {"ready": True})
    while True:
        try:
            ready, _, _ = select.select([sock, wake_r], [], [])
        except InterruptedError:
            continue
        if wake_r in ready:
            try:
                while os.read(wake_r, 512):
                    pass
            except BlockingIOError:
                pass
        _reap(sock)
        if sock not in ready:
            continue
        try:
            data, fds, _, _ = socket.recv_fds(sock, _MSG, 8)
        except OSError:
            break
        if not data:
            break
        try:
            req = json.loads(data)
            pid = _fork(req, fds, base, sock, (wake_r, wake_w))
            _send(sock, {"pid": pid})
        except Exception as e:  # noqa: BLE001 - the parent starts a fresh interpreter instead
            _send(sock, {"error": f"{type(e).__name__}: {e}"})
        finally:
            for fd in fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
    os._exit(0)


def _reap(sock: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _send(sock, {"exit": pid, "code": os.waitstatus_to_exitcode(status)})


def _fork(req: dict, fds: list[int], base: list[str], sock: socket.socket, wake: tuple[int, int]) -> int:
    r, w, out = fds
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for s in (signal.SIGCHLD, signal.SIGINT):
            signal.signal(s, signal.SIG_DFL)
        sock.close()
        for fd in wake:
            os.close(fd)
        os.setsid()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        for fd in (null, out):
            os.close(fd)
        os.environ.clear()
        os.environ.update(req["env"])
        os.chdir(req["cwd"])
        extra = [p for p in req["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
        path = [os.getcwd()]
        for p in extra + base:
            if p not in path:
                path.append(p)
        sys.path[:] = path
        import random

        random.seed()
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()
        if req["env"].get("PYTHONUNBUFFERED"):
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.reconfigure(write_through=True)
                except (AttributeError, ValueError):
                    pass
        module = req["module"]
        sys.argv = [module, str(r), str(w), *req["args"], str(os.getppid())]
        import runpy

        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if not isinstance(e.code, (int, type(None))):
                print(e.code, file=sys.stderr)
        except BaseException:  # noqa: BLE001 - as the interpreter would: the traceback, exit 1
            import traceback

            traceback.print_exc()
            code = 1
        import atexit as _atexit

        _atexit._run_exitfuncs()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


if __name__ == "__main__":   # python -m cnnspec.conformance.forkserver SOCKET PARENT MODULE...
    _serve(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:])
