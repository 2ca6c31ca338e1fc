"""Working arrays of the oracle's kernels, kept per thread and reused from one call to the next.

A kernel's blocks (the padded input, the im2col columns, the GEMM's product) take a few MiB. Taken
afresh on every call, memory of that size comes from mmap(2) and every page of it faults on first
touch (glibc hands freed blocks above its trim threshold back to the kernel): LeNet-5's C3 layer
(batch 256) called again and again in a fresh process took 4.0 ms a call that way and 1.9 ms with
its arrays kept. oneDNN keeps its convolutions' scratch memory for reuse the same way (its
"scratchpad"). Arrays up to ``MAX_BYTES`` are kept,
one per named slot and thread; larger ones are allocated for the call and freed with it. A kept
array is only ever a kernel's working space: nothing returned to a caller is one.
"""
from __future__ import annotations

import math
import threading

import numpy as np

MAX_BYTES = 16 << 20                 # the largest working array kept between calls (per slot and thread)
_local = threading.local()


def scratch(slot: str, shape, dtype, *, zero: bool = False) -> np.ndarray:
    """An array of ``shape`` and ``dtype`` on this thread's buffer ``slot``: uninitialised, or
    zeros with ``zero=True``. It stays valid until the next request for ``slot`` on this thread,
    so a kernel names each array it holds at once by a slot of its own."""
    dtype = np.dtype(dtype)
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(v) for v in shape)
    nbytes = math.prod(shape) * dtype.itemsize
    if dtype.hasobject or nbytes > MAX_BYTES:
        return (np.zeros if zero else np.empty)(shape, dtype)
    pool = _local.__dict__.setdefault("pool", {})
    buf = pool.get(slot)
    if buf is None or buf.nbytes < nbytes:
        # grow geometrically, so that a run of slowly growing requests reallocates rarely
        size = max(nbytes, min(MAX_BYTES, 2 * (0 if buf is None else buf.nbytes)), 4096)
        buf = pool[slot] = np.empty(size, np.uint8)
    a = buf[:nbytes].view(dtype).reshape(shape)
    if zero:
        a.fill(0)
    return a


def clear() -> None:
    """Free this thread's kept arrays."""
    _local.__dict__.pop("pool", None)
