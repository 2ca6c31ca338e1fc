"""Hostile conv2d targets: each computes the right answer and then attacks the process running it.

The NumPy conv comes from cnnspec's own shim (a correct implementation), so any failing claim
against these targets is the attack being caught, not a wrong value.
"""
import os
import subprocess
import sys
import time

import numpy as np

from cnnspec.conformance.shims.numpy_ops import conv2d as _conv2d

MARK = os.environ.get("CNNSPEC_HOSTILE_MARK", "/nonexistent/cnnspec-hostile-mark")


class Evil(np.ndarray):
    """Unpickling this runs ``os._exit(0)`` in whoever unpickles it."""

    def __reduce__(self):
        return (os._exit, (0,))


class Shell(np.ndarray):
    """Unpickling this runs a shell command that leaves a file behind."""

    def __reduce__(self):
        return (os.system, (f"touch {MARK}",))


class Plain(np.ndarray):
    """A harmless subclass, defined only in this file (so it cannot be imported by name)."""


def escape_exit(x, weight, bias=None, **kw):
    return _conv2d(x, weight, bias, **kw).view(Evil)


def escape_system(x, weight, bias=None, **kw):
    return _conv2d(x, weight, bias, **kw).view(Shell)


def harmless_subclass(x, weight, bias=None, **kw):
    return _conv2d(x, weight, bias, **kw).view(Plain)


def object_array(x, weight, bias=None, **kw):
    y = _conv2d(x, weight, bias, **kw)
    return y.astype(object)


def returns_none(x, weight, bias=None, **kw):
    return None


def overwrites_input(x, weight, bias=None, **kw):
    """Correct output, then zeroes its input (as an in-place 'optimisation' might)."""
    y = _conv2d(x, weight, bias, **kw)
    x[...] = 0
    return y


def overwrites_input_torch(x, weight, bias=None, **kw):
    import torch
    y = torch.nn.functional.conv2d(x, weight, bias, **kw)
    with torch.no_grad():
        x.zero_()
    return y


def floods_stdout(x, weight, bias=None, **kw):
    sys.stdout.write("flood " * 20_000 + "\n")      # about 120 kB per call
    sys.stderr.write("err-flood " * 1000 + "\n")
    return _conv2d(x, weight, bias, **kw)


_SPAWNED = []


def leaves_grandchild(x, weight, bias=None, **kw):
    """Starts a long sleep that inherits every descriptor it can (the target's stdout included)."""
    if not _SPAWNED:
        _SPAWNED.append(subprocess.Popen(["sleep", "60"], close_fds=False))
    return _conv2d(x, weight, bias, **kw)


def _write_half_message() -> None:
    """Write the start of a reply onto every pipe this process can write to, then sleep."""
    try:
        from cnnspec.conformance.isolation import _header     # the current protocol, when it has one
        head = _header(1 << 20)[:-1]
    except ImportError:
        head = (1 << 20).to_bytes(4, "big")                   # multiprocessing's length prefix
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:") and fd > 2:
                os.write(fd, head)
        except OSError:
            pass
    time.sleep(1000)


def header_then_sleep(x, weight, bias=None, **kw):
    _write_half_message()


def calls_sys_exit(x, weight, bias=None, **kw):
    sys.exit(0)


def calls_os_exit(x, weight, bias=None, **kw):
    os._exit(0)


def records_pid_and_hangs(x, weight, bias=None, **kw):
    with open(MARK, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(1000)


def broadcast_shape_torch(x, weight, bias=None, **kw):
    """torch: one output row too few, shaped so that the gradient would broadcast over it."""
    import torch.nn.functional as F

    return F.conv2d(x, weight, bias, **kw)[..., :1, :]


def crashes_on_width_3(x, weight, bias=None, **kw):
    """A segmentation fault on every input 3 wide (as a kernel with a bad edge case has), the
    NumPy shim's exact convolution on every other."""
    if x.shape[-1] == 3:
        import signal
        os.kill(os.getpid(), signal.SIGSEGV)
    return _conv2d(x, weight, bias, **kw)


def hangs_on_width_3(x, weight, bias=None, **kw):
    """Never returns on an input 3 wide (a kernel stuck in a loop on an edge case), the NumPy
    shim's exact convolution on every other."""
    if x.shape[-1] == 3:
        time.sleep(1000)
    return _conv2d(x, weight, bias, **kw)

