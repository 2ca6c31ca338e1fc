"""Pieces of the native reproductions: arrays as literals, and the lines that print both values.

A snippet imports NumPy and the framework only, embeds its input arrays, runs the framework's own
call and prints two lines that a bug report can quote and a test can parse::

    got: [[...]]
    expected: [[...]]
"""
from __future__ import annotations

import math

import numpy as np

PREAMBLE = 'import numpy as np\nnan, inf = float("nan"), float("inf")\n'


def literal(a, dtype: str | None = None) -> str:
    """``np.array(<nested list>, dtype=np.<dtype>)``; exact for every float32/float64 value
    (``repr`` of a Python float round-trips), NaN and infinities as the names ``nan``/``inf``."""
    a = np.asarray(a)
    return f"np.array({a.tolist()!r}, dtype=np.{dtype or a.dtype.name})"


def header(title: str, version: str, op: str, call: dict) -> str:
    shown = ", ".join(f"{k}={v!r}" for k, v in call.items() if k not in ("input", "weight", "bias"))
    return (f"# {title} {version}: torch.nn.functional.{op}({shown}) in {title}'s own API\n"
            + PREAMBLE)


def footer(expected) -> str:
    return (f"expected = {literal(expected, 'float64')}\n"
            "print('got:', np.asarray(got, dtype=np.float64).tolist())\n"
            "print('expected:', expected.tolist())\n")


def parse_output(text: str) -> dict[str, np.ndarray]:
    """The ``got``/``expected`` arrays a snippet printed (for tests and the conformance layer)."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key in ("got", "expected", "indices"):
            out[key] = np.array(eval(value, {"__builtins__": {}}, {"nan": math.nan, "inf": math.inf}),
                                dtype=np.float64)
    return out
