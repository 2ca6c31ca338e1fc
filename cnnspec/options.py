"""Ranges of the count, time and seed options, and output folders checked before any work.

Every command calls these, so each option has one documented range and one wording of the error:
``--timeout: nan is not a number of seconds in (0, 86400]``. The argparse types (:func:`count`,
:func:`seconds`, :data:`seed`) make argparse print that one line and exit 2; the ``check_*``
functions raise :class:`~cnnspec.errors.UsageError` for library callers. :func:`output_folder`
tells whether a folder can be created and written *before* a run spends minutes on work it then
cannot save (a path under ``/proc``, on a read-only mount, or below a regular file).
"""
from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from .errors import UsageError

# The documented ranges (README "Options and their ranges").
EXAMPLES = (1, 10_000)        # cases per property of `validate`
COUNT = (1, 10_000)           # cases per op of `vectors export`
EPOCHS = (1, 10_000)          # `train --epochs`
SEED = (0, 2 ** 32 - 1)       # every --seed (numpy's and torch's seeds take 32 bits)
TIMEOUT = (0.0, 86_400.0)     # seconds per round trip to a target, or per model check: (0, 1 day]
SHRINK = (0.0, 3_600.0)       # seconds of shrinking per failing claim: [0, 1 hour]
_NO_WRITE = ("/proc", "/sys", "/dev")   # kernel file systems: nothing of a report belongs there


def check_count(value: object, name: str, bounds: tuple[int, int]) -> int:
    """``value`` as a whole number in ``bounds`` (both ends included), else a :class:`UsageError`."""
    lo, hi = bounds
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            text = str(value).strip().replace("_", "")
            value = int(text)
        except (TypeError, ValueError):
            raise UsageError(f"{name}: {value!r} is not a whole number in [{lo:,}, {hi:,}]") from None
    if not lo <= value <= hi:
        shown = f"{value:,}" if abs(value) < 10 ** 30 else f"{str(value)[:12]}… ({len(str(value))} digits)"
        raise UsageError(f"{name}: {shown} is outside [{lo:,}, {hi:,}], the documented range")
    return value


def check_seconds(value: object, name: str, bounds: tuple[float, float] = TIMEOUT,
                  open_low: bool = True) -> float:
    """``value`` as finite seconds in ``(lo, hi]`` (``[lo, hi]`` unless ``open_low``)."""
    lo, hi = bounds
    low = "(" if open_low else "["
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UsageError(f"{name}: {value!r} is not a number of seconds in {low}{lo:g}, {hi:g}]") from None
    if not math.isfinite(v) or v > hi or v < lo or (open_low and v == lo):
        raise UsageError(f"{name}: {value} is not a number of seconds in {low}{lo:g}, {hi:g}]")
    return v


def _argparse(check, *a, **kw):
    def parse(text: str):
        try:
            return check(text, *a, **kw)
        except UsageError as e:   # argparse prefixes "argument --name:", so keep only the rule
            raise argparse.ArgumentTypeError(str(e).split(": ", 1)[1]) from None
    parse.__name__ = check.__name__.replace("check_", "")
    return parse


def count(bounds: tuple[int, int]):
    """An argparse ``type=``: a whole number in ``bounds``."""
    return _argparse(check_count, "value", bounds)


def seconds(bounds: tuple[float, float] = TIMEOUT, open_low: bool = True):
    """An argparse ``type=``: finite seconds in ``bounds``."""
    return _argparse(check_seconds, "value", bounds, open_low)


seed = count(SEED)


def output_folder(path: str | os.PathLike | None, name: str) -> Path:
    """``path`` as a folder that can be created and written, checked now (before any work); else
    a one-line :class:`UsageError`. The check is :func:`cnnspec.report.output.check_output_dir`,
    the report writer's own, so a folder this accepts is one a report can be written into."""
    from .report.output import check_output_dir

    if path is None or str(path).strip() == "":
        raise UsageError(f"{name}: an empty path names no folder; give a folder path")
    check_output_dir(Path(path).expanduser(), name)
    return Path(path).expanduser()
