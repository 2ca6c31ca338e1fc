"""Where cnnspec keeps what it can compute again but need not: ``root()``.

``$CNNSPEC_CACHE_DIR``, else ``$XDG_CACHE_HOME/cnnspec``, else ``~/.cache/cnnspec``;
``CNNSPEC_CACHE_DIR=off`` (or empty, ``0``, ``no``, ``false``) turns every cache off. What lives
there: the conformance claims' drawn cases (:mod:`cnnspec.conformance.case_cache`) and the JAX
adapter's compiled programs (``jax-programs/``, :mod:`cnnspec.adapters._jax_programs`).
A cache is an optimisation only: one that cannot be read or written never fails a run.
"""
from __future__ import annotations

import os
from pathlib import Path

_OFF = ("", "off", "0", "no", "false")


def root() -> Path | None:
    """cnnspec's cache folder (not created here), or ``None`` when caching is off."""
    env = os.environ.get("CNNSPEC_CACHE_DIR")
    if env is not None:
        return None if env.strip().lower() in _OFF else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cnnspec"
