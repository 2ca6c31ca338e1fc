"""Data plots of the report through matplotlib's SVG backend: training curves, the confusion matrix,
and the difference of expected and got for a failing 2-D map. Offline, no browser-side library.

Each function takes plain data (lists, as stored in ``report.json``) and returns one inline
``<svg>`` element. Text stays text (``svg.fonttype = "none"``), so a page search finds class names;
matplotlib escapes it. The output is deterministic: no date in the metadata, ids salted by the
figure's title (``svg.hashsalt``), so the same data give the same bytes.

References
----------
matplotlib, "Customizing Matplotlib with style sheets and rcParams" (``svg.fonttype``,
``svg.hashsalt``), https://matplotlib.org/stable/users/explain/customizing.html;
``matplotlib.colors.PowerNorm``, https://matplotlib.org/stable/users/explain/colors/colormapnorms.html.
"""
from __future__ import annotations

import io
import math
import re
from typing import Any, Sequence

import matplotlib
import numpy as np
from matplotlib.colors import PowerNorm, TwoSlopeNorm
from matplotlib.figure import Figure   # not pyplot: no global figure state, no backend switched

SERIES = ["#1f6fb2", "#d1495b", "#2a9d8f", "#e9a03b", "#6d597a", "#3d405b"]
_RC = {"svg.fonttype": "none", "font.size": 9, "font.family": "sans-serif",
       "axes.spines.top": False, "axes.spines.right": False, "axes.titlesize": 10,
       "axes.titleweight": "bold", "text.parse_math": False}   # a "$" in a class name is text, not TeX
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _t(s: Any) -> str:
    """Text for a plot: no control characters (XML cannot hold them; matplotlib writes them raw)."""
    return _CONTROL.sub("\ufffd", str(s))


def _svg(fig, salt: str) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    text = buf.getvalue()
    svg = text[text.index("<svg"):]
    # Inline in HTML: a class for CSS (max-width: 100%, so it shrinks on a narrow screen).
    return svg.replace("<svg ", '<svg class="plot" ', 1)


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def line_chart(series: Sequence[dict], *, title: str, xlabel: str = "", ylabel: str = "",
               hline: tuple[float, str] | None = None, ylim: tuple[float, float] | None = None,
               width: float = 420.0, height: float = 260.0) -> str:
    """Lines ``{"label", "x", "y"}`` on shared axes; ``hline = (value, label)`` a dashed target.

    The y range leaves a margin above the highest point *and* the target line, so the last point
    of an accuracy curve never sits on the frame under the target's label (the label goes in the
    legend, not on the plot). Points with a missing or non-finite coordinate are left out.
    """
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width / 96, height / 96), dpi=96)
        ax = fig.subplots()
        ys: list[float] = []
        for k, s in enumerate(series):
            pts = [(float(x), float(y)) for x, y in zip(s.get("x", []), s.get("y", []))
                   if _finite(x) and _finite(y)]
            if not pts:
                continue
            xs_, ys_ = zip(*pts)
            ys += ys_
            ax.plot(xs_, ys_, color=s.get("color") or SERIES[k % len(SERIES)], lw=1.8,
                    ls="--" if s.get("dashed") else "-", marker="o" if len(pts) <= 40 else None, ms=3.5,
                    label=_t(s.get("label", "")))
        if hline:
            ys.append(float(hline[0]))
            ax.axhline(float(hline[0]), color="#555", lw=1, ls=(0, (5, 4)), label=_t(hline[1]))
        if ylim:
            ax.set_ylim(*ylim)
        elif ys:
            ax.set_ylim(*y_range(ys))
        ax.set_title(_t(title), loc="left")
        ax.set_xlabel(_t(xlabel))
        ax.set_ylabel(_t(ylabel))
        ax.grid(True, color="#e6e8ec", lw=0.8)
        ax.margins(x=0.04)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, frameon=False, fontsize=8)
        return _svg(fig, "curves:" + str(title))


def y_range(values: Sequence[float], margin: float = 0.12) -> tuple[float, float]:
    """The y axis of a line chart: the values' range widened by ``margin`` of it on both sides (half
    a unit for a constant), so no point and no target line lies on the frame."""
    lo, hi = min(values), max(values)
    pad = (hi - lo) * margin or 0.5
    return lo - pad, hi + pad


def confusion_norm() -> PowerNorm:
    """The confusion matrix's colour scale over shares in [0, 1]: square root, so that 127 of 1,000
    lies a third of the way up the colour bar instead of an eighth."""
    return PowerNorm(0.5, vmin=0, vmax=1)


def confusion(matrix: Sequence[Sequence[int]], classes: Sequence[str], *, title: str) -> str:
    """Counts, true classes as rows and predictions as columns, class names on both axes.

    Colour is the share of the true class on a square-root scale (``PowerNorm(0.5)``) with a colour
    bar: a linear scale would make an off-diagonal cell of 127 in 1,000 (Shirt taken for T-shirt)
    nearly as pale as an empty one. Each cell is annotated with its count.
    """
    m = np.asarray(matrix, dtype=float)
    rates = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    k = len(classes)
    size = max(4.2, 0.52 * k + 2.2)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(size + 1.2, size), dpi=96)
        ax = fig.subplots()
        im = ax.imshow(rates, cmap="viridis", norm=confusion_norm(), interpolation="nearest")
        ax.set_xticks(range(k), [_t(c) for c in classes], rotation=45, ha="right", rotation_mode="anchor")
        ax.set_yticks(range(k), [_t(c) for c in classes])
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        ax.set_title(_t(title), loc="left")
        fs = 8 if k <= 10 else 6
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, f"{int(v)}", ha="center", va="center", fontsize=fs,
                    color="black" if rates[i, j] > 0.35 else "white")
        ax.spines[:].set_visible(False)
        bar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
        bar.set_label("share of the true class (square-root scale)")
        return _svg(fig, "confusion:" + str(title))


def difference(expected: Any, got: Any, *, title: str = "got − expected") -> str | None:
    """A heatmap of ``got − expected`` for a 2-D map (the last two axes of equal-shaped arrays, the
    first slice of the others), with a colour bar centred on 0; ``None`` when they are not 2-D maps
    of one shape or not numbers."""
    try:
        e, g = np.asarray(expected, dtype=float), np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return None
    if e.shape != g.shape or e.ndim < 2 or min(e.shape[-2:]) < 2 or e.shape[-1] * e.shape[-2] > 4096:
        return None
    while e.ndim > 2:
        e, g = e[0], g[0]
    d = g - e
    d[~np.isfinite(d)] = np.nan
    span = float(np.nanmax(np.abs(d))) if np.isfinite(d).any() else 0.0
    span = span or 1.0
    h, w = d.shape
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(min(5.0, 0.9 + 0.32 * w) + 0.8, min(4.0, 0.7 + 0.32 * h)), dpi=96)
        ax = fig.subplots()
        im = ax.imshow(d, cmap="RdBu_r", norm=TwoSlopeNorm(0.0, -span, span), interpolation="nearest")
        ax.set_title(_t(title), loc="left")
        ax.set_xlabel("column")
        ax.set_ylabel("row")
        ax.spines[:].set_visible(False)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        return _svg(fig, "diff:" + str(title) + repr(d.shape))
