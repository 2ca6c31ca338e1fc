"""The JAX adapter's compiled programs, kept across processes: :func:`call`.

Each call of the JAX adapter is a small XLA program (a convolution, a pooling's window sums and
divisor) whose shapes differ from one drawn case to the next: one ``cnnspec validate jax --op
conv2d`` runs about 250 of them. Run eagerly, every new shape costs JAX a trace, a lowering to
MLIR (about 10 ms: a fresh MLIR context each time) and a compilation or a look-up in JAX's
persistent compilation cache, and that, not the convolutions, was most of the run. Here a program
is looked up by a key of its own -- the adapter's name for it, its static parameters (repr), its
arguments' shapes and dtypes, the device -- first in this process, then as a serialized executable
(``jax.experimental.serialize_executable``) in ``jax-programs/`` of :func:`cnnspec.cache.root`,
loaded in about 2 ms; only a program met for the first time is traced, lowered and compiled.

What a program computes does not depend on where it came from: the program is the same function
``jax.jit`` would compile, every array and every number of the call (a power, a divisor, a fill
value) is an argument, as in JAX's eager dispatch, so that XLA folds no constant the eager call
would not fold either. The key's folder is named after everything else a program depends on: the
JAX and jaxlib versions, the adapter's source, ``jax_enable_x64``, the default matmul precision
and the host CPU's features (an executable compiled for one CPU must not run on another); folders
of other versions are removed when a program is first written. Loading an executable runs code it
holds, like JAX's own persistent cache: the folder is made private to its user (mode 700). A cache
that cannot be read or written never fails a call: the program is then compiled here, and an entry
that loads but does not run is removed and compiled anew.

Programs are written only while JAX's own persistent compilation cache is off in this process (as it
is unless the user turns it on): in jaxlib 0.10 an XLA:CPU executable that JAX read from its cache
serializes without its compiled kernels, and loaded again fails with "NOT_FOUND: Function ... not
found". With JAX's cache on, the programs are kept in this process only.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import platform
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import jax
import jaxlib
from jax.experimental import serialize_executable

from .. import cache

_LOADED: dict[tuple, object] = {}    # key -> jax.stages.Compiled, for this process
_STATE: dict[str, object] = {}       # "folder": Path | None; "pruned": bool
COUNTS = {"compiled": 0, "loaded": 0}  # programs compiled here, and loaded from the folder


def _cpu() -> str:
    """The host CPU's feature flags (Linux), else what :mod:`platform` says of it."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{platform.machine()} {platform.processor()}"


def _jax_caches() -> bool:
    """Whether JAX's persistent compilation cache may serve this process's compilations."""
    cfg = jax.config
    return bool(cfg.jax_enable_compilation_cache and cfg.jax_compilation_cache_dir)


def folder() -> Path | None:
    """The folder of this machine's and version's programs; ``None`` where they stay in memory."""
    if "folder" not in _STATE:
        top = cache.root()
        if top is None or _jax_caches():
            _STATE["folder"] = None
        else:
            adapters = Path(__file__).resolve().parent
            salt = "\n".join([jax.__version__, jaxlib.__version__, _cpu(),
                              str(jax.config.jax_enable_x64), str(jax.config.jax_default_matmul_precision),
                              *(hashlib.sha256((adapters / f).read_bytes()).hexdigest()
                                for f in ("jax.py", "_jax_programs.py"))])
            _STATE["folder"] = top / "jax-programs" / hashlib.sha256(salt.encode()).hexdigest()[:24]
    return _STATE["folder"]


def _read(path: Path, device):
    try:
        payload, in_tree, out_tree = pickle.loads(path.read_bytes())   # noqa: S301 - the user's own
        return serialize_executable.deserialize_and_load(payload, in_tree, out_tree,
                                                         backend=device.client, execution_devices=[device])
    except Exception:  # noqa: BLE001 - absent, stale or torn: compile again, and write it anew
        return None


def _write(where: Path, path: Path, compiled) -> None:
    tmp = None
    try:
        data = pickle.dumps(serialize_executable.serialize(compiled))
        where.mkdir(parents=True, mode=0o700, exist_ok=True)
        os.chmod(where.parent, 0o700)
        if not _STATE.get("pruned"):
            _STATE["pruned"] = True
            for other in where.parent.iterdir():
                if other != where and other.is_dir():
                    shutil.rmtree(other, ignore_errors=True)
        fd, tmp = tempfile.mkstemp(dir=where, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)          # whole or absent: a reader never sees half an entry
    except Exception:  # noqa: BLE001 - e.g. a read-only cache, a full disk, an unserializable program
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def call(name: str, static: tuple, fn: Callable, device, *args):
    """``jax.jit(fn)(*args)`` on ``device`` for ``fn`` closing over ``static``
    (whose repr, with ``name``, says which program it is), compiled once per key and machine (see
    the module's docstring)."""
    key = (name, repr(static), device.platform, device.device_kind, device.id,
           tuple((tuple(a.shape), str(a.dtype)) for a in args))
    compiled = _LOADED.get(key)
    if compiled is not None:
        return compiled(*args)
    where = folder()
    path = None if where is None else where / (hashlib.sha256(repr(key).encode()).hexdigest()[:32] + ".xla")
    compiled = None if path is None else _read(path, device)
    if compiled is not None:
        try:
            out = compiled(*args)
        except jax.errors.JaxRuntimeError:     # loads, yet does not run: compile it here instead
            compiled = None
            path.unlink(missing_ok=True)
        else:
            COUNTS["loaded"] += 1
            _LOADED[key] = compiled
            return out
    on = jax.sharding.SingleDeviceSharding(device)
    compiled = jax.jit(fn).lower(*(jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=on) for a in args)).compile()
    COUNTS["compiled"] += 1
    if path is not None:
        _write(where, path, compiled)
    _LOADED[key] = compiled
    return compiled(*args)
