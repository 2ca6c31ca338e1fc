"""The data-only channel between cnnspec and a worker process that runs untrusted code.

What comes back from a worker is written by a process that a third-party target controls (it runs
in that process and can write onto any of its descriptors), so the parent reads it as *data*:
a frame is ``b"CNS1"``, a big-endian uint64 payload length, then the payload: a big-endian uint32
length, that many bytes of UTF-8 JSON, and a blob of raw array bytes. Arrays appear in the JSON as
``{"dtype": "<f8", "shape": [...], "offset": n}`` and are rebuilt with :func:`numpy.frombuffer`
from a short list of plain dtypes. Nothing is unpickled and nothing is imported by name, unlike
:mod:`pickle`, whose documentation warns: "It is possible to construct malicious pickle data which
will execute arbitrary code during unpickling" (https://docs.python.org/3/library/pickle.html).

Every read in the parent honours a deadline (:func:`read_frame` polls before each ``os.read``), so
a worker that writes a length header and then sleeps costs the timeout, never a hang; every
malformed frame is a :class:`WireError`. (The parent's messages *to* the worker are pickled: the
worker trusts its parent, the parent trusts no worker.)
"""
from __future__ import annotations

import json
import math
import os
import select
import struct
import time
from typing import Any

import numpy as np

MAGIC = b"CNS1"
_HEAD = struct.Struct(">4sQ")
_META = struct.Struct(">I")
MAX_MESSAGE = 1 << 30          # bytes: far above any reply cnnspec asks for, far below a flood
MAX_META = 64 << 20            # bytes of JSON in one frame
# The dtypes a frame may carry (little-endian, as numpy.frombuffer reads them here).
DTYPES = frozenset({"<f8", "<f4", "<f2", "<i8", "<i4", "<i2", "|i1", "|u1", "|b1"})


class WireError(Exception):
    """A frame that does not follow the format (the worker, or the code it runs, wrote garbage)."""


class Expired(Exception):
    """The deadline passed before the frame was complete."""


def header(n: int) -> bytes:
    """The 12 bytes that announce a payload of ``n`` bytes."""
    return _HEAD.pack(MAGIC, n)


def encode(meta: Any, arrays: list[np.ndarray] = ()) -> bytes:
    """One frame: ``meta`` (JSON-able; refer to arrays by their index) and the arrays' bytes."""
    descr, blobs, offset = [], [], 0
    for a in arrays:
        a = np.ascontiguousarray(a)
        a = a.astype(a.dtype.newbyteorder("<")) if a.dtype.byteorder == ">" else a
        if a.dtype.str not in DTYPES:
            raise TypeError(f"wire: dtype {a.dtype} cannot be sent")
        descr.append({"dtype": a.dtype.str, "shape": list(a.shape), "offset": offset})
        blobs.append(a.tobytes())
        offset += a.nbytes
    text = json.dumps({"meta": meta, "arrays": descr}, allow_nan=True).encode()
    payload = _META.pack(len(text)) + text + b"".join(blobs)
    return header(len(payload)) + payload


def decode(payload: bytes | bytearray) -> tuple[Any, list[np.ndarray]]:
    """``(meta, arrays)`` from a payload; :class:`WireError` for anything malformed."""
    if len(payload) < _META.size:
        raise WireError(f"a payload of {len(payload)} bytes has no JSON length")
    (n,) = _META.unpack_from(payload)
    if n > MAX_META or _META.size + n > len(payload):
        raise WireError(f"JSON length {n} does not fit the payload of {len(payload)} bytes")
    try:
        doc = json.loads(bytes(payload[_META.size:_META.size + n]))
    except (ValueError, RecursionError) as e:
        raise WireError(f"the JSON does not parse ({type(e).__name__})") from None
    if not isinstance(doc, dict) or set(doc) != {"meta", "arrays"} or not isinstance(doc["arrays"], list):
        raise WireError("the JSON is not {\"meta\": ..., \"arrays\": [...]}")
    blob = memoryview(payload)[_META.size + n:]
    arrays = [_array(d, blob) for d in doc["arrays"]]
    return doc["meta"], arrays


def _array(d: Any, blob: memoryview) -> np.ndarray:
    if not isinstance(d, dict) or set(d) != {"dtype", "shape", "offset"}:
        raise WireError(f"an array descriptor is not {{dtype, shape, offset}}: {str(d)[:80]}")
    dt, shape, off = d["dtype"], d["shape"], d["offset"]
    if dt not in DTYPES:
        raise WireError(f"array dtype {str(dt)[:20]!r} is not one of {sorted(DTYPES)}")
    if not isinstance(shape, list) or len(shape) > 32 or \
            not all(type(s) is int and s >= 0 for s in shape) or type(off) is not int or off < 0:
        raise WireError(f"array shape {str(shape)[:80]} or offset {str(off)[:20]} is not valid")
    dtype = np.dtype(dt)
    count = 1
    for s in shape:
        count *= s
    end = off + count * dtype.itemsize
    if end > len(blob):
        raise WireError(f"an array of {count} {dtype} entries at {off} runs past the {len(blob)}-byte blob")
    # a copy: the array owns plain memory of a plain dtype, writable, nothing shared with the frame
    return np.frombuffer(blob[off:end], dtype).reshape(shape).copy()


# --- the parent's reads and writes: never past the deadline ------------------------------------------

def _wait(fd: int, event: int, deadline: float) -> None:
    """Return when ``fd`` is ready (or closed); :class:`Expired` at the deadline."""
    p = select.poll()
    p.register(fd, event | select.POLLERR | select.POLLHUP)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Expired
        if p.poll(max(1, math.ceil(left * 1000))):
            return


def read_exact(fd: int, n: int, deadline: float) -> bytearray:
    """``n`` bytes from the non-blocking ``fd`` by ``deadline`` (``time.monotonic``);
    :class:`EOFError` if it closes first."""
    buf = bytearray()
    while len(buf) < n:
        _wait(fd, select.POLLIN, deadline)
        try:
            chunk = os.read(fd, min(n - len(buf), 1 << 20))
        except BlockingIOError:
            continue
        if not chunk:
            raise EOFError(f"the pipe closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def read_frame(fd: int, deadline: float, limit: int = MAX_MESSAGE) -> bytearray:
    """The payload of the next frame on ``fd``; :class:`Expired`, :class:`EOFError` or :class:`WireError`."""
    magic, n = _HEAD.unpack(bytes(read_exact(fd, _HEAD.size, deadline)))
    if magic != MAGIC:
        raise WireError(f"the frame starts with {magic!r}, not {MAGIC!r}")
    if n > limit:
        raise WireError(f"the frame announces {n} bytes, more than the limit of {limit}")
    return read_exact(fd, n, deadline)


def write_frame(fd: int, data: bytes, deadline: float) -> None:
    """Write all of ``data`` to the non-blocking ``fd`` by ``deadline`` (:class:`Expired` otherwise)."""
    view = memoryview(data)
    while view:
        _wait(fd, select.POLLOUT, deadline)
        try:
            n = os.write(fd, view[:1 << 16])
        except BlockingIOError:
            continue
        view = view[n:]


# --- the worker's side: blocking (it trusts its parent) -------------------------------------------

def recv_blocking(fd: int) -> bytes | None:
    """The next payload from the parent, or None when the parent closed the pipe."""
    def exact(n: int) -> bytes | None:
        parts, got = [], 0
        while got < n:
            chunk = os.read(fd, min(n - got, 1 << 20))
            if not chunk:
                return None
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)
    head = exact(_HEAD.size)
    if head is None:
        return None
    magic, n = _HEAD.unpack(head)
    if magic != MAGIC:
        raise WireError(f"the parent's frame starts with {magic!r}")
    return exact(n)


def send_blocking(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd`` (the worker's reply)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
