"""Drawn cases kept on disk, so that a repeated run does not wait for hypothesis's generation.

Drawing is deterministic: one claim's strategy, for one set of run settings (op, dtype, array,
device, examples, seed), under one version of cnnspec, hypothesis, NumPy and Python, gives the same cases
in the same order. So the cases of a draw are stored under a key made of all of these (the claim's
name, the settings, the strategy's ``repr``, hypothesis's settings; cnnspec's own version is the
digest of its source files, so any edit of the package is a new version), and a later draw with
the same key reads them back instead of generating them again (about 5 ms per case, the largest
part of a quick ``cnnspec validate``). A hit gives exactly the cases a fresh draw gave when they
were stored. The claim's name is part of the key because a ``repr`` does not show everything a
strategy is made of (a lambda's captured values); within one claim and one run's settings the
strategy is fixed by the code.

Where: ``cases/`` in :func:`cnnspec.cache.root` (``$CNNSPEC_CACHE_DIR``, else
``$XDG_CACHE_HOME/cnnspec``, else ``~/.cache/cnnspec``; ``CNNSPEC_CACHE_DIR=off`` turns it off).
The folder is created private to the user (mode 0700); its files are pickles that only cnnspec
writes. Entries of other cnnspec versions are removed when a new one is stored, so the folder holds
one version's cases. The cache
is an optimisation only: a folder that cannot be created or written, or an entry that cannot be
read (truncated, from another program), means the cases are drawn as if there were no cache;
it never fails a run. A draw whose description does not identify it (an object address, an array
abbreviated with ``...``) is never cached.
"""
from __future__ import annotations

import functools
import hashlib
import os
import pickle
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from .. import cache

_FORMAT = 1          # bump when the stored layout changes


def cache_dir() -> Path | None:
    """The folder of this cnnspec version's cases, or ``None`` when the cache is off."""
    top = cache.root()
    return None if top is None else top / "cases" / version()


@functools.lru_cache(maxsize=1)
def version() -> str:
    """A digest of cnnspec's source files and of the versions that decide what a draw gives."""
    import hypothesis
    import numpy

    h = hashlib.sha256(f"{_FORMAT} {hypothesis.__version__} {numpy.__version__} "
                       f"{sys.version}".encode())
    pkg = Path(__file__).resolve().parents[1]
    for f in sorted(pkg.rglob("*.py")):
        h.update(f.relative_to(pkg).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:20]


def key(*parts: Any) -> str | None:
    """The entry's name for a draw described by ``parts`` (the claim, the run's settings, the
    strategy, the count, the seed, hypothesis's settings), from their ``repr``; ``None`` when one
    of them does not identify itself (an object's address, an array abbreviated with ``...``)."""
    words = "\n".join(repr(p) for p in parts)
    if " at 0x" in words or "..." in words:
        return None
    return hashlib.sha256(words.encode()).hexdigest()[:32]


def load(name: str | None) -> list | None:
    """The stored cases of ``name``, or ``None`` (off, absent or unreadable)."""
    folder = cache_dir() if name is not None else None
    if folder is None:
        return None
    try:
        with open(folder / f"{name}.pkl", "rb") as f:
            cases = pickle.load(f)
    except Exception:  # noqa: BLE001 - absent, truncated, from another program: draw again
        return None
    return cases if isinstance(cases, list) else None


def store(name: str | None, cases: list) -> None:
    """Keep ``cases`` under ``name`` (written whole or not at all: a temporary file, renamed)."""
    folder = cache_dir() if name is not None else None
    if folder is None:
        return
    try:
        if not folder.is_dir():
            folder.mkdir(parents=True, mode=0o700, exist_ok=True)
            _drop_other_versions(folder)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(cases, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, folder / f"{name}.pkl")
        except BaseException:
            os.unlink(tmp)
            raise
    except Exception:  # noqa: BLE001 - read-only or full disk, a value that cannot be pickled
        return


def _drop_other_versions(folder: Path) -> None:
    for other in folder.parent.iterdir():
        if other != folder and other.is_dir():
            shutil.rmtree(other, ignore_errors=True)
