"""The lecture's diagrams for the HTML report, written as inline SVG by hand (no network).

Each function takes plain data (lists of numbers, as stored in ``report.json``) and returns one
``<svg>`` element as a string. Every piece of text is escaped, so data from a target (a layer label)
can never inject markup. The diagrams follow the lecture's pictures: a heatmap for the convolution
matrix, small grids for shifted inputs and feature maps, layered graphs for sparse interaction and
receptive fields. Data plots (training curves, the confusion matrix) are matplotlib's:
:mod:`cnnspec.report.plots`.

References
----------
Goodfellow, Bengio & Courville, *Deep Learning* (2016), Fig. 9.2–9.5 (sparse connectivity, receptive
field growth, parameter sharing) and §9.2 (equivariance).
"""
from __future__ import annotations

import math
import re
from html import escape
from typing import Any, Sequence

Matrix = Sequence[Sequence[Any]]

FONT = "font-family='system-ui,-apple-system,Segoe UI,Roboto,sans-serif'"
# Viridis anchors (sequential) and a blue-white-red ramp (signed values); a categorical palette.
_VIRIDIS = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]
_DIVERGING = [(49, 54, 149), (145, 191, 219), (247, 247, 247), (252, 141, 89), (165, 0, 38)]
CATEGORICAL = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948",
               "#ff9da7", "#9c755f", "#bab0ac", "#1f77b4", "#2ca02c"]


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _t(s: Any) -> str:
    """Text for SVG: escaped, and without control characters (not allowed in XML or HTML)."""
    return escape(_CONTROL.sub("\ufffd", str(s)), quote=True)


def _ramp(anchors: list[tuple[int, int, int]], f: float) -> str:
    f = min(max(f, 0.0), 1.0) * (len(anchors) - 1)
    i = min(int(f), len(anchors) - 2)
    a, b = anchors[i], anchors[i + 1]
    r = f - i
    return "#%02x%02x%02x" % tuple(round(a[c] + (b[c] - a[c]) * r) for c in range(3))


def color(v: float | None, vmin: float, vmax: float, scale: str = "seq") -> str:
    """Fill colour of value ``v``: ``seq`` viridis over [vmin, vmax]; ``div`` centred on 0."""
    if not _finite(v):
        return "#ffffff"
    if scale == "div":
        m = max(abs(vmin), abs(vmax)) or 1.0
        return _ramp(_DIVERGING, 0.5 + 0.5 * v / m)
    if scale == "cat":
        return CATEGORICAL[int(v) % len(CATEGORICAL)] if v >= 0 else "#ffffff"
    return _ramp(_VIRIDIS, (v - vmin) / (vmax - vmin) if vmax > vmin else 0.5)


def _ink(fill: str) -> str:
    """Black or white text, whichever reads on ``fill``."""
    r, g, b = (int(fill[i:i + 2], 16) for i in (1, 3, 5))
    return "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#fff"


def _svg(w: float, h: float, body: list[str], label: str) -> str:
    return (f"<svg xmlns='http://www.w3.org/2000/svg' class='figure-svg' width='{w:.0f}' "
            f"height='{h:.0f}' viewBox='0 0 {w:.0f} {h:.0f}' role='img' aria-label='{_t(label)}' "
            f"{FONT}><title>{_t(label)}</title>" + "".join(body) + "</svg>")


def _bounds(values: Matrix) -> tuple[float, float]:
    flat = [float(v) for row in values for v in row if _finite(v)]
    return (min(flat), max(flat)) if flat else (0.0, 1.0)


def _grid(values: Matrix, x0: float, y0: float, cell: float, *, scale: str, vmin: float,
          vmax: float, annotations: Matrix | None = None, outline: str = "#d0d4da") -> list[str]:
    out = []
    fs = max(7.0, min(12.0, cell * 0.42))
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            fill = color(v, vmin, vmax, scale)
            x, y = x0 + j * cell, y0 + i * cell
            out.append(f"<rect x='{x:.1f}' y='{y:.1f}' width='{cell:.1f}' height='{cell:.1f}' "
                       f"fill='{fill}' stroke='{outline}' stroke-width='0.5'/>")
            text = annotations[i][j] if annotations is not None else None
            if text not in (None, ""):
                out.append(f"<text x='{x + cell / 2:.1f}' y='{y + cell / 2 + fs * 0.35:.1f}' "
                           f"font-size='{fs:.1f}' text-anchor='middle' fill='{_ink(fill)}'>{_t(text)}</text>")
    return out


def heatmap(values: Matrix, *, title: str, scale: str = "seq", annotations: Matrix | None = None,
            row_labels: Sequence[str] | None = None, col_labels: Sequence[str] | None = None,
            legend: Sequence[tuple[Any, str]] | None = None, xlabel: str = "", ylabel: str = "",
            max_width: float = 760.0, cell: float = 22.0, bar_label: str = "") -> str:
    """A matrix as coloured cells; ``None`` cells are white (structural zeros).

    ``legend`` is a list of ``(value, label)`` shown as swatches (for ``cat`` scales); otherwise a
    colour bar with the value range is drawn.
    """
    rows, cols = len(values), max((len(r) for r in values), default=0)
    left = 14 + (max((len(str(s)) for s in row_labels), default=0) * 6.5 if row_labels else 0) + (16 if ylabel else 0)
    top = 30 + (16 if col_labels else 0)
    cell = max(4.0, min(cell, (max_width - left - 20) / max(cols, 1)))
    vmin, vmax = _bounds(values)
    body = [f"<text x='{left}' y='18' font-size='13' font-weight='600' fill='#222'>{_t(title)}</text>"]
    body += _grid(values, left, top, cell, scale=scale, vmin=vmin, vmax=vmax, annotations=annotations)
    if row_labels:
        body += [f"<text x='{left - 4}' y='{top + (i + 0.5) * cell + 4:.1f}' font-size='11' "
                 f"text-anchor='end' fill='#333'>{_t(s)}</text>" for i, s in enumerate(row_labels)]
    if col_labels:
        body += [f"<text x='{left + (j + 0.5) * cell:.1f}' y='{top - 5}' font-size='11' "
                 f"text-anchor='middle' fill='#333'>{_t(s)}</text>" for j, s in enumerate(col_labels)]
    w, h = left + cols * cell + 12, top + rows * cell + 8
    if xlabel:
        body.append(f"<text x='{left + cols * cell / 2:.1f}' y='{h + 10:.1f}' font-size='11' "
                    f"text-anchor='middle' fill='#444'>{_t(xlabel)}</text>")
        h += 18
    if ylabel:
        cy = top + rows * cell / 2
        body.append(f"<text x='12' y='{cy:.1f}' font-size='11' text-anchor='middle' fill='#444' "
                    f"transform='rotate(-90 12 {cy:.1f})'>{_t(ylabel)}</text>")
    w = max(w, left + 7.9 * len(title) + 10)
    if legend:
        x, y = left, h + 4
        for v, label in legend:
            lw = 22 + 6.6 * len(str(label))
            if x + lw > max(w, 360):
                x, y = left, y + 18
            body.append(f"<rect x='{x:.1f}' y='{y:.1f}' width='12' height='12' "
                        f"fill='{color(v, vmin, vmax, scale)}' stroke='#888' stroke-width='0.5'/>"
                        f"<text x='{x + 16:.1f}' y='{y + 10:.1f}' font-size='11' fill='#333'>{_t(label)}</text>")
            x += lw
        h = y + 20
    elif scale != "cat" and rows and cols:
        y = h + 4
        body += [f"<rect x='{left + i * 8}' y='{y:.1f}' width='8' height='10' "
                 f"fill='{color(vmin + (vmax - vmin) * i / 19, vmin, vmax, scale)}'/>" for i in range(20)]
        body.append(f"<text x='{left + 166}' y='{y + 9:.1f}' font-size='11' fill='#333'>"
                    f"{_t(_num(vmin))} … {_t(_num(vmax))}{_t(' ' + bar_label if bar_label else '')}</text>")
        h = y + 18
    return _svg(max(w, 360 if legend else w), h, body, title)


def panels(items: Sequence[dict], *, title: str, scale: str = "div", per_row: int = 2,
           cell: float = 18.0) -> str:
    """Small heatmaps side by side, each ``{"title": ..., "values": [[...]], "note": ...}``.

    All panels share one colour range, so equal values look equal across panels (the point of the
    equivariance figure: the feature map of the shifted input *is* the shifted feature map).
    """
    lo = min((_bounds(p["values"])[0] for p in items), default=0.0)
    hi = max((_bounds(p["values"])[1] for p in items), default=1.0)
    widths = [max(len(r) for r in p["values"]) * cell for p in items]
    heights = [len(p["values"]) * cell for p in items]
    text_w = max((6.6 * len(str(p.get(k, ""))) for p in items for k in ("title", "note")), default=0)
    col_w = max(max(widths, default=0) + 30, text_w + 20, 170)
    body = [f"<text x='10' y='18' font-size='13' font-weight='600' fill='#222'>{_t(title)}</text>"]
    y, rows_h = 34.0, 0.0
    nrows = math.ceil(len(items) / per_row)
    for r in range(nrows):
        row = list(range(r * per_row, min(len(items), (r + 1) * per_row)))
        rh = max(heights[i] for i in row)
        for c, i in enumerate(row):
            p = items[i]
            x = 10 + c * col_w
            body.append(f"<text x='{x}' y='{y + 12:.1f}' font-size='12' fill='#222'>{_t(p['title'])}</text>")
            ann = p.get("annotations") or [[_num(v) for v in rw] for rw in p["values"]]
            body += _grid(p["values"], x, y + 18, cell, scale=scale, vmin=lo, vmax=hi, annotations=ann)
            for (hi_r, hi_c) in p.get("highlight", []):
                body.append(f"<rect x='{x + hi_c * cell:.1f}' y='{y + 18 + hi_r * cell:.1f}' "
                            f"width='{cell:.1f}' height='{cell:.1f}' fill='none' stroke='#111' stroke-width='2'/>")
            if p.get("note"):
                body.append(f"<text x='{x}' y='{y + 32 + rh:.1f}' font-size='11' fill='#555'>{_t(p['note'])}</text>")
        y += rh + 48
        rows_h = y
    return _svg(max(10 + min(per_row, len(items)) * col_w, 20 + 7.2 * len(title)), rows_h, body, title)


def layered_graph(layers: Sequence[dict], *, title: str, width: float = 420.0) -> str:
    """Units in rows (input at the bottom), edges between consecutive rows, highlighted units.

    ``layers[i] = {"name", "size", "edges": [[lower, upper], ...] (to the row below), "highlight": [...]}``;
    the lecture's pictures of sparse connectivity and receptive-field growth (GBC Fig. 9.2, 9.4).
    """
    gap, r = 58.0, 9.0
    n = len(layers)
    h = 36 + gap * (n - 1) + 30
    label_w = 14 + 7 * max((len(str(L.get("name", ""))) for L in layers), default=0)

    def pos(li: int, i: int) -> tuple[float, float]:
        size = layers[li]["size"]
        span = width - label_w - 30
        x = label_w + 20 + (span * (i + 0.5) / size)
        return x, 40 + gap * (n - 1 - li)

    body = [f"<text x='10' y='18' font-size='13' font-weight='600' fill='#222'>{_t(title)}</text>"]
    for li in range(1, n):
        hl_up = set(layers[li].get("highlight", []))
        hl_lo = set(layers[li - 1].get("highlight", []))
        for lo, up in layers[li].get("edges", []):
            (x1, y1), (x2, y2) = pos(li - 1, lo), pos(li, up)
            on = up in hl_up and lo in hl_lo
            body.append(f"<line x1='{x1:.1f}' y1='{y1:.1f}' x2='{x2:.1f}' y2='{y2:.1f}' "
                        f"stroke='{'#d1495b' if on else '#b8bec8'}' stroke-width='{1.8 if on else 0.8}'/>")
    for li, L in enumerate(layers):
        hl = set(L.get("highlight", []))
        _, y = pos(li, 0)
        body.append(f"<text x='10' y='{y + 4:.1f}' font-size='12' fill='#333'>{_t(L.get('name', ''))}</text>")
        for i in range(L["size"]):
            x, _ = pos(li, i)
            fill = "#d1495b" if i in hl else "#ffffff"
            body.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='{r}' fill='{fill}' stroke='#333' stroke-width='1'/>")
    return _svg(width, h, body, title)


def _num(v: Any) -> str:
    if isinstance(v, float):
        if v != v:
            return "nan"
        if v == int(v) and abs(v) < 1e6:
            return str(int(v))
        return f"{v:.3g}"
    return str(v)


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def line_chart(*args: Any, **kwargs: Any) -> str:
    """Training curves: drawn by matplotlib now (:func:`cnnspec.report.plots.line_chart`)."""
    from .plots import line_chart as draw
    return draw(*args, **kwargs)


def confusion(*args: Any, **kwargs: Any) -> str:
    """The confusion matrix: drawn by matplotlib now (:func:`cnnspec.report.plots.confusion`)."""
    from .plots import confusion as draw
    return draw(*args, **kwargs)
