"""The lecture's pictures and worked examples, computed from the spec (no torch).

Each function returns one *artifact*: a JSON-able dict with ``id``, ``section``, ``type``, ``title``,
``caption`` and the data that :mod:`cnnspec.report.html` draws. The numbers come from
:class:`~cnnspec.spec.toeplitz.ConvMatrix` and :func:`~cnnspec.spec.convolution.sum_formula`, so a
figure shows what the spec computes, not a drawing of what it should compute.

References
----------
Goodfellow, Bengio & Courville, *Deep Learning* (2016): Fig. 9.1 (2-D worked example), Fig. 9.2
(sparse connectivity), Fig. 9.4 (receptive field growth), Fig. 9.8 (max pooling and shifts), §9.2.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import sympy

from ..spec.convolution import ConvSpec, sum_formula
from ..spec.toeplitz import ConvMatrix

Artifact = dict[str, Any]


def _syms(names: str) -> list[sympy.Symbol]:
    return list(sympy.symbols(names))


def _derivation(aid: str, title: str, given: str, spec: ConvSpec, u: str, w: str, caption: str) -> Artifact:
    out = sum_formula(spec, _syms(u), _syms(w))
    m = spec.output_size
    lhs = [f"s_{t}" for t in range(len(out))] if spec.ndim == 1 else \
        [f"s_{t // m[1]}_{t % m[1]}" for t in range(len(out))]
    return {"id": aid, "section": "convolution", "type": "derivation", "title": title, "given": given,
            "lines": [{"lhs": l, "rhs": str(e)} for l, e in zip(lhs, out)], "caption": caption}


def derivation_1d() -> Artifact:
    """The lecture's 1-D example: input a…f, kernel (x, y, z), cross-correlation, valid."""
    return _derivation("conv.derivation-1d", "Worked example, 1-D (cross-correlation, valid)",
                       "input u = (a, b, c, d, e, f), kernel w = (x, y, z); sₜ = Σⱼ uₜ₊ⱼ wⱼ",
                       ConvSpec.make(6, 3), "a b c d e f", "x y z",
                       "Each output is derived symbolically from the definition's sum by sympy.")


def derivation_2d() -> Artifact:
    """GBC Fig. 9.1: a 3×4 input a…l, a 2×2 kernel (w, x; y, z), valid cross-correlation."""
    return _derivation("conv.derivation-2d", "Worked example, 2-D (Goodfellow et al. Fig. 9.1)",
                       "input rows (a b c d; e f g h; i j k l), kernel rows (w x; y z)",
                       ConvSpec.make((3, 4), (2, 2)), "a b c d e f g h i j k l", "w x y z",
                       "The top-left output is a·w + b·x + e·y + f·z, as on the slide.")


def toeplitz_matrix_1d() -> Artifact:
    spec = ConvSpec.make(6, 3)
    T = ConvMatrix(spec).symbolic(_syms("x y z"))
    return {"id": "conv.toeplitz-1d", "section": "convolution", "type": "matrix",
            "title": "T(w) for input length 6, kernel (x, y, z): a Toeplitz matrix",
            "entries": [[str(T[i, j]) for j in range(T.cols)] for i in range(T.rows)],
            "caption": "s = T(w)·u; every diagonal holds one weight."}


def toeplitz_heatmap_2d(n: int = 4, k: int = 3) -> Artifact:
    """The doubly block Toeplitz matrix of a 2-D convolution, coloured by which weight sits where."""
    spec = ConvSpec.make((n, n), (k, k))
    cm = ConvMatrix(spec)
    vals: list[list[Any]] = [[None] * spec.n_in for _ in range(spec.n_out)]
    ann: list[list[str]] = [[""] * spec.n_in for _ in range(spec.n_out)]
    for r, c, i in zip(cm.rows.tolist(), cm.cols.tolist(), cm.widx.tolist()):
        vals[r][c] = i
        ann[r][c] = f"{i // k}{i % k}"
    m = spec.output_size
    return {"id": "conv.toeplitz-heatmap", "section": "convolution", "type": "heatmap", "scale": "cat",
            "title": f"T(w) of a {n}×{n} input and a {k}×{k} kernel ({spec.n_out}×{spec.n_in})",
            "values": vals, "annotations": ann, "cell": 20,
            "row_labels": [f"s{o // m[1]}{o % m[1]}" for o in range(spec.n_out)],
            "col_labels": [f"{c // n}{c % n}" for c in range(spec.n_in)],
            "xlabel": "input position (row, column) — vec(u)", "ylabel": "output",
            "legend": [[i, f"w{i // k}{i % k}"] for i in range(k * k)],
            "caption": (f"Doubly block Toeplitz: {cm.nnz} non-zeros of {spec.n_out * spec.n_in}; "
                        f"each colour is one of the {k * k} shared weights, white cells are structural zeros.")}


def sparsity_table() -> Artifact:
    """Dense vs convolutional weights and connections for a few layers, from the exact pattern."""
    layers = [("1-D, n = 6, k = 3", ConvSpec.make(6, 3)),
              ("2-D, 5×5, k = 3×3", ConvSpec.make((5, 5), (3, 3))),
              ("LeNet-5 C1: 1×32×32 → 6×28×28, 5×5", ConvSpec.make((32, 32), (5, 5), out_channels=6)),
              ("LeNet-5 C3 (full): 6×14×14 → 16×10×10, 5×5", ConvSpec.make((14, 14), (5, 5), in_channels=6, out_channels=16))]
    rows = []
    for name, spec in layers:
        nnz = ConvMatrix(spec).nnz
        dense = spec.n_in * spec.n_out
        rows.append([name, spec.n_in, spec.n_out, dense, spec.n_weights, nnz, f"{nnz / dense:.2%}",
                     f"{dense / spec.n_weights:,.0f}×"])
    return {"id": "sparse.counts", "section": "sparse", "type": "table",
            "title": "Weights and connections: dense layer vs convolution (biases excluded)",
            "columns": ["layer", "inputs n", "outputs m", "dense weights m·n", "conv weights",
                        "conv connections (nnz T)", "density", "weights saved"],
            "rows": rows,
            "caption": "Connections are the non-zeros of the exact convolution matrix T(w)."}


def _graph_layers(specs: list[ConvSpec], top_unit: int | None) -> list[dict]:
    """Rows of units joined by the non-zeros of each layer's T; the receptive field of ``top_unit``."""
    layers = [{"name": "input", "size": specs[0].n_in, "edges": []}]
    patterns = []
    for i, spec in enumerate(specs):
        cm = ConvMatrix(spec)
        patterns.append(cm.pattern_matrix())
        edges = sorted({(int(c), int(r)) for r, c in zip(cm.rows, cm.cols)})
        layers.append({"name": f"layer {i + 1}", "size": spec.n_out, "edges": [list(e) for e in edges]})
    if top_unit is not None:
        hl = {top_unit}
        layers[-1]["highlight"] = [top_unit]
        for li in range(len(specs) - 1, -1, -1):
            P = patterns[li].tocsr()
            hl = set(int(c) for r in hl for c in P[r].indices)
            layers[li]["highlight"] = sorted(hl)
    return layers


def sparse_graphs(n: int = 7, k: int = 3) -> Artifact:
    conv = _graph_layers([ConvSpec.make(n, k, padding="same")], n // 2)
    dense = [{"name": "input", "size": n, "edges": [], "highlight": list(range(n))},
             {"name": "dense", "size": n, "edges": [[i, j] for j in range(n) for i in range(n)],
              "highlight": [n // 2]}]
    conv[1]["name"] = "conv"
    return {"id": "sparse.graphs", "section": "sparse", "type": "graph",
            "graphs": [{"title": f"Convolution, kernel {k}: output {n // 2} reads {k} inputs", "layers": conv},
                       {"title": f"Dense: output {n // 2} reads all {n} inputs", "layers": dense}],
            "caption": "Sparse interactions (Goodfellow et al. Fig. 9.2), drawn from the pattern of T(w)."}


def receptive_field_graph(n: int = 11, k: int = 3, depth: int = 3) -> Artifact:
    specs = [ConvSpec.make(n, k, padding="same") for _ in range(depth)]
    layers = _graph_layers(specs, n // 2)
    sizes = [len(L["highlight"]) for L in layers]
    return {"id": "rf.growth", "section": "receptive", "type": "graph",
            "graphs": [{"title": f"{depth} layers of kernel {k}: receptive field of the top centre unit",
                        "layers": layers, "width": 560}],
            "caption": ("Receptive field per layer, from the top unit down: "
                        + " → ".join(str(s) for s in reversed(sizes))
                        + " (r = 1 + L·(k − 1); Goodfellow et al. Fig. 9.4). Computed by composing the "
                          "patterns of the layers' matrices.")}


def equivariance_panels(seed: int = 0, n: int = 6, shift: tuple[int, int] = (1, 2)) -> Artifact:
    """A shifted input and its feature map next to the shifted feature map (circular padding)."""
    rng = np.random.default_rng(seed)
    spec = ConvSpec.make((n, n), (3, 3), padding=1, padding_mode="circular")
    u = np.zeros((n, n), dtype=np.int64)
    u[1:4, 1] = 1
    u[3, 1:3] = 1          # a small "L": the feature that moves
    w = rng.integers(-2, 3, size=9)
    T = ConvMatrix(spec).numeric(w)
    f = lambda x: (T @ x.reshape(-1)).reshape(n, n)  # noqa: E731
    shifted = np.roll(u, shift, axis=(0, 1))
    a, b = f(shifted), np.roll(f(u), shift, axis=(0, 1))
    equal = int((a == b).sum())
    peak = np.unravel_index(int(np.argmax(f(u))), (n, n))
    peak_s = ((peak[0] + shift[0]) % n, (peak[1] + shift[1]) % n)
    items = [{"title": "input u", "values": u.tolist()},
             {"title": "feature map T(w)·u", "values": f(u).tolist(), "highlight": [list(map(int, peak))]},
             {"title": f"shifted input S·u (by {shift})", "values": shifted.tolist()},
             {"title": "feature map of the shifted input T(w)·S·u", "values": a.tolist(),
              "highlight": [list(map(int, peak_s))], "note": f"= S·(T(w)·u) in {equal} of {n * n} positions"}]
    return {"id": "equiv.figure", "section": "equivariance", "type": "panels", "per_row": 2, "cell": 22,
            "items": items, "scale": "div", "equal_positions": equal, "positions": n * n,
            "title": f"Shift equivariance: 3×3 kernel w = {w.tolist()}, circular padding",
            "caption": ("Exact integer arithmetic with the spec's convolution matrix. The framed cell is the "
                        "strongest response; it moves with the input.")}


def pooling_panels(seed: int = 0, n: int = 10, k: int = 3) -> Artifact:
    """GBC Fig. 9.8: every detector value changes under a shift, far fewer max-pooled values do."""
    rng = np.random.default_rng(seed + 1)
    det = rng.integers(0, 10, size=n + 1)
    pool = lambda x: np.array([x[i:i + k].max() for i in range(len(x) - k + 1)])  # noqa: E731
    a, b = det[1:], det[:-1]            # b is a shifted right by one
    pa, pb = pool(a), pool(b)
    changed_in, changed_out = int((a != b).sum()), int((pa != pb).sum())
    items = [{"title": "detector stage", "values": [a.tolist()]},
             {"title": f"max pool, width {k}, stride 1", "values": [pa.tolist()]},
             {"title": "detector stage, input shifted by one", "values": [b.tolist()],
              "note": f"{changed_in} of {n} values changed"},
             {"title": "max pool of the shifted input", "values": [pb.tolist()],
              "note": f"{changed_out} of {len(pa)} values changed"}]
    return {"id": "pool.invariance-figure", "section": "pooling", "type": "panels", "per_row": 2,
            "cell": 24, "scale": "seq", "items": items,
            "title": "Max pooling and a one-step shift", "changed_in": changed_in, "changed_out": changed_out,
            "caption": "Pooling makes the representation approximately invariant to small translations "
                       "(Goodfellow et al. Fig. 9.8)."}


def _cells(mask: np.ndarray) -> list[list[int]]:
    return [list(map(int, i)) for i in np.argwhere(np.atleast_2d(mask))]


def pool_permutation_panels(seed: int = 0) -> Artifact:
    """The spec's window-permutation figure (:func:`cnnspec.spec.pooling.figure_window_permutation`):
    an input, the same input shuffled inside each 2×2 window, and their (equal) 2×2 max poolings."""
    from ..spec.pooling import figure_window_permutation
    f = figure_window_permutation(seed)
    moved = f["input"] != f["permuted"]
    equal = bool(np.array_equal(f["pooled"], f["pooled_permuted"]))
    items = [{"title": "input x (2×2 windows)", "values": f["input"].tolist(),
              "annotations": [[f"{v}" for v in row] for row in f["input"].tolist()]},
             {"title": "x permuted within each window", "values": f["permuted"].tolist(),
              "highlight": _cells(moved), "note": f"{int(moved.sum())} of {moved.size} entries moved"},
             {"title": "max pool 2×2 of x", "values": f["pooled"].tolist()},
             {"title": "max pool 2×2 of the permuted x", "values": f["pooled_permuted"].tolist(),
              "note": "equal to the left, entry by entry" if equal else "differs from the left"}]
    return {"id": "pool.window-permutation", "section": "pooling", "type": "panels", "per_row": 2,
            "cell": 24, "scale": "seq", "items": items, "equal": equal,
            "title": "Max pooling is invariant to any permutation within each window",
            "caption": ("The lecture's \"summarizing the input\": a window's maximum does not depend on "
                        "the order of its entries (claim pool.max.window_permutation; framed: entries that moved).")}


def pool_global_shift_panels() -> Artifact:
    """The spec's global-shift figure (:func:`cnnspec.spec.pooling.figure_global_shift`): an input,
    its circular shift, and both global max and mean (equal)."""
    from ..spec.pooling import figure_global_shift
    f = figure_global_shift()
    shift = tuple(int(v) for v in f["shift"])
    gmax, gmean = f["global_max"].tolist(), f["global_mean"].tolist()
    items = [{"title": "input x", "values": f["input"].tolist()},
             {"title": f"x rolled circularly by {shift}", "values": f["shifted"].tolist()},
             {"title": "global max of x, of the rolled x", "values": [gmax],
              "note": "equal" if gmax[0] == gmax[1] else "differ"},
             {"title": "global mean of x, of the rolled x", "values": [gmean],
              "annotations": [[f"{v:g}" for v in gmean]], "note": "equal" if gmean[0] == gmean[1] else "differ"}]
    return {"id": "pool.global-shift", "section": "pooling", "type": "panels", "per_row": 2, "cell": 24,
            "scale": "seq", "items": items, "equal": gmax[0] == gmax[1] and gmean[0] == gmean[1],
            "title": "Global pooling is invariant to every circular shift, exactly",
            "caption": ("Pooling induces invariance (the lecture): exactly so when one window covers the "
                        "whole (circular) input (claim pool.global.circular_shift).")}


def pool_one_pixel_panels() -> Artifact:
    """The spec's smallest counterexample (:func:`cnnspec.spec.pooling.figure_one_pixel_counterexample`)
    to "max pooling is invariant to a one-pixel shift"."""
    from ..spec.pooling import figure_one_pixel_counterexample
    f = figure_one_pixel_counterexample()
    changed = np.asarray(f["changed"])
    items = [{"title": "input x (circular)", "values": [f["input"].tolist()]},
             {"title": "max pool width 2, stride 2", "values": [f["pooled"].tolist()]},
             {"title": "x shifted by one pixel", "values": [f["shifted"].tolist()]},
             {"title": "max pool of the shifted x", "values": [f["pooled_shifted"].tolist()],
              "highlight": _cells(changed[None, :]), "note": f"{int(changed.sum())} of {changed.size} outputs changed"}]
    return {"id": "pool.one-pixel-counterexample", "section": "pooling", "type": "panels", "per_row": 2,
            "cell": 28, "scale": "seq", "items": items, "changed": int(changed.sum()),
            "title": "A smallest counterexample: max pooling is not invariant to a one-pixel shift",
            "caption": ("The figure's suggestion holds only approximately: with stride 2 a one-pixel shift "
                        "moves the 1 into the other window (claim pool.max.one_pixel_shift; framed: the "
                        "changed output).")}


def spec_artifacts(seed: int = 0) -> list[Artifact]:
    """Every lecture figure that needs only the spec, in the page's order."""
    return [derivation_1d(), derivation_2d(), toeplitz_matrix_1d(), toeplitz_heatmap_2d(),
            sparsity_table(), sparse_graphs(), receptive_field_graph(), equivariance_panels(seed),
            pooling_panels(seed), pool_permutation_panels(seed), pool_global_shift_panels(),
            pool_one_pixel_panels()]


# --- architectures (the spec's layer tables, published figures beside) -----------------------------

def _shape(s: tuple[int, ...]) -> str:
    return "×".join(map(str, s))


def _published(arch, quantity: str, layer: str | None) -> dict | str:
    """The published figure for ``quantity`` of ``layer`` (or the whole net), marked ok/bad; the last
    one listed where a source gives several (the paper's after the exact count)."""
    cells = [_cell(p, ok) for p, _, ok in arch.comparisons() if p.quantity == quantity and p.layer == layer]
    return cells[-1] if cells else ""


def _cell(p, ok: bool) -> dict:
    """A published figure as printed: ``61,706``, ``0.27 × 10⁶``."""
    if p.scale == 1 and p.value.isdigit():
        text = f"{int(p.value):,}"
    else:
        exp = round(math.log10(p.scale))
        text = p.value + (f" × 10{str(exp).translate(_SUP)}" if p.scale != 1 else "")
    return {"value": text, "ok": ok}


_SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def lenet_table(name: str = "lenet5-1998") -> Artifact:
    """The layer table of a LeNet-5 with the paper's per-layer figures beside the derived ones."""
    from ..spec import architectures as A

    arch = A.get(name)
    rows = [[r.name, r.kind, _shape(r.in_shape), _shape(r.out_shape),
             f"{r.kernel}/{r.stride}/{r.padding}" if r.kernel else "", r.params,
             _published(arch, "params", r.name), r.connections, _published(arch, "connections", r.name),
             r.macs, r.rf] for r in arch.layers]
    rows.append(["total", "", _shape(arch.input_shape), "", "", arch.params, _published(arch, "params", None),
                 arch.total("connections"), _published(arch, "connections", None), arch.macs, ""])
    return {"id": f"lenet.table.{name}", "section": "lenet", "type": "table", "title": arch.title,
            "columns": ["layer", "kind", "input", "output", "k/s/p", "parameters", "published",
                        "connections", "published", "multiply-adds", "RF"],
            "rows": rows,
            "caption": ("Derived by the spec's arithmetic; the published columns quote the source "
                        "(green: reproduced exactly at the printed precision). "
                        + "; ".join(arch.notes))}


def resnet_summary(names: tuple[str, ...] = ("resnet20", "plain20", "resnet56", "resnet110", "resnet18",
                                             "resnet34", "resnet50", "resnet50-v1", "resnet101", "resnet152")) -> Artifact:
    from ..spec import architectures as A

    rows = []
    for n in names:
        arch = A.get(n)
        rows.append([n, _shape(arch.input_shape), sum(1 for r in arch.layers if r.kind in ("conv", "fc") and not r.shortcut),
                     arch.params, _published(arch, "params", None), arch.macs, _published(arch, "macs", None),
                     arch.layers[-1].rf])
    return {"id": "resnet.summary", "section": "resnet", "type": "table",
            "title": "ResNets: parameters and multiply-adds, derived and published",
            "columns": ["network", "input", "weighted layers", "parameters", "published", "multiply-adds",
                        "published", "RF of the output"],
            "rows": rows,
            "caption": "Published: He et al. 2016 Tables 1 and 6 and torchvision's model metadata, compared "
                       "at the precision they are printed with."}


def resnet_blocks(name: str = "resnet20") -> Artifact:
    from ..spec import architectures as A

    arch = A.get(name)
    rows = []
    for b in arch.blocks:
        layers = arch.block_layers(b.name)
        rows.append([b.name, b.kind, _shape(b.in_shape), _shape(b.out_shape), b.stride, str(b.shortcut),
                     sum(r.params for r in layers), sum(r.macs for r in layers), max(r.rf for r in layers)])
    return {"id": f"resnet.blocks.{name}", "section": "resnet", "type": "table",
            "title": f"{arch.title}: residual blocks", "rows": rows,
            "columns": ["block", "kind", "input", "output", "stride", "shortcut", "parameters",
                        "multiply-adds", "RF"],
            "caption": "y = F(x) + x in every block; where the shape changes the shortcut pads with zeros "
                       "(option A) or projects (option B)."}


def rf_table(name: str = "lenet5") -> Artifact:
    from ..spec import architectures as A

    arch = A.get(name)
    rows = [[r.name, r.kind, _shape(r.out_shape), r.kernel or "", r.stride, r.jump, r.rf]
            for r in arch.layers if r.kind not in ("bn",)]
    return {"id": f"rf.table.{name}", "section": "receptive", "type": "table",
            "title": f"Receptive field through {arch.title}", "rows": rows,
            "columns": ["layer", "kind", "output", "kernel", "stride", "jump", "receptive field"],
            "caption": "r ← r + (k − 1)·j, j ← j·s along the main path (Araujo et al., Distill 2019)."}


def arch_artifacts() -> list[Artifact]:
    return [rf_table("lenet5"), lenet_table("lenet5"), lenet_table("lenet5-1998"), resnet_summary(),
            resnet_blocks("resnet20")]
