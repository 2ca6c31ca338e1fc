"""Claims on the architecture specs and the residual identity (group ``arch``; no torch).

Each published figure of :mod:`cnnspec.spec.architectures` becomes a claim ``arch.<net>.<quantity>``
that holds when the derived figure equals the published one at its printed precision; structural
statements of the lecture and the papers (halving, 3x3 convs, no hidden FC, depth 6n+2, Table I)
and the symbolic residual identities (``residual.*``) follow.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import sympy

from ..claims import Outcome, claim
from . import architectures as A
from .residual import batchnorm_expr, option_a_matrix, residual_jacobian

GROUP = "arch"


def compare_published(name: str, quantity: str | None = None) -> Outcome:
    """Derived vs published for ``name`` (one quantity, or all): a row per figure in the evidence."""
    arch = A.get(name)
    rows, bad = [], []
    for p, derived, ok in arch.comparisons():
        if quantity is not None and p.quantity != quantity:
            continue
        row = {"quantity": p.quantity, "layer": p.layer, "derived": derived, "published": p.printed(),
               "rule": p.rule, "how": p.how(derived), "source": p.source, "holds": ok}
        rows.append(row)
        if not ok:
            bad.append(row)
    if not rows:
        return Outcome(True, f"{name} has no published {quantity or 'figure'}", skipped=True)
    if bad:
        b = bad[0]
        where = f"{b['layer']} " if b["layer"] else ""
        return Outcome(False, f"{name}: {where}{b['quantity']} is {b['derived']:,}, but should be "
                              f"{b['published']} ({b['source']})", {"figures": rows}, len(rows),
                       counterexample={"args": {"net": name, "layer": b["layer"], "quantity": b["quantity"]},
                                       "expected": [b["published"]], "got": [b["derived"]]})
    return Outcome(True, f"{name}: {len(rows)} published figure(s) reproduced: "
                         + "; ".join(f"{r['layer'] + ' ' if r['layer'] else ''}{r['quantity']} "
                                     f"{r['derived']:,} = {r['published']}"
                                     + ("" if r["how"] == "exact" else f" ({r['how']})") for r in rows),
                   {"figures": rows}, len(rows))


def _register_published() -> None:
    for name in A.SPECS:
        by_q: dict[str, list[A.Published]] = defaultdict(list)
        for p in A.get(name).published:
            by_q[p.quantity].append(p)
        for q, pubs in by_q.items():
            sources = "; ".join(sorted({p.source for p in pubs}))
            check = (lambda name=name, q=q, **_: compare_published(name, q))
            claim(f"arch.{name}.{q}", f"The {q} of {A.get(name).title}, derived layer by layer from "
                  f"the spec's arithmetic, equal the published figures at their printed precision.",
                  sources, "exact", group=GROUP)(check)


_register_published()


@claim("arch.lenet5.input28", "Fed 28x28 without padding, LeNet-5's S4 gives 16x4x4 = 256 features, "
       "not the 400 that the 400x120 matrix needs; a network sized to fit has 44,426 parameters, and "
       "padding C1 by 2 restores every shape of the 32x32 network.",
       "CNN lecture, LeNet-5 slides (the 400x120 matrix)", "exact", group=GROUP)
def _lenet_input28(**_: Any) -> Outcome:
    ref, nopad, pad2 = A.get("lenet5"), A.get("lenet5-28-nopad"), A.get("lenet5-28")
    feats = {n: a.layer("C5").in_shape for n, a in (("32x32", ref), ("28x28", nopad), ("28x28 pad 2", pad2))}
    same = [r.out_shape for r in ref.layers] == [r.out_shape for r in pad2.layers]
    ok = (feats["32x32"] == (16, 5, 5) and feats["28x28"] == (16, 4, 4) and nopad.params == 44_426
          and same and pad2.params == ref.params == 61_706)
    ev = {"c5_input": {k: list(v) for k, v in feats.items()}, "params_nopad": nopad.params,
          "params_pad2": pad2.params, "pad2_shapes_equal_32x32": same}
    return Outcome(ok, f"S4 output: {feats['32x32']} at 32x32, {feats['28x28']} at 28x28 (256 features, "
                       f"not 400); refitted net {nopad.params:,} parameters; padding 2 gives the 32x32 "
                       f"shapes: {same}", ev)


@claim("arch.lenet5-1998.c3_table", "C3's connection scheme (Table I): the first six maps read 3 "
       "contiguous S2 maps, the next six 4 contiguous, the next three 4 non-contiguous, the last all "
       "six; 60 map pairs, every S2 map feeding 10 C3 maps.", "LeCun et al. 1998, Table I, §II.B",
       "exact", group=GROUP)
def _c3_table(**_: Any) -> Outcome:
    t = A.LENET_C3_TABLE

    def contiguous(m: tuple[int, ...]) -> bool:
        return sorted((i - m[0]) % 6 for i in m) == list(range(len(m)))

    groups = [(0, 6, 3, True), (6, 12, 4, True), (12, 15, 4, False), (15, 16, 6, True)]
    ok_groups = all(len(t[j]) == n and contiguous(t[j]) == cont for a, b, n, cont in groups
                    for j in range(a, b))
    fan_out = [sum(i in m for m in t) for i in range(6)]
    pairs = sum(map(len, t))
    ok = ok_groups and pairs == 60 and fan_out == [10] * 6 and len(set(map(frozenset, t))) == 16
    return Outcome(ok, f"{pairs} map pairs; fan-out of S2 maps {fan_out}; groups as Table I: {ok_groups}",
                   {"pairs": pairs, "fan_out": fan_out, "table": [list(m) for m in t]})


def _resnets() -> list[str]:
    return [n for n in A.SPECS if A.get(n).blocks]


@claim("arch.resnet.structure", "In every ResNet (and plain net) spec: the spatial size halves exactly "
       "where the number of filters doubles; every conv of a basic block is 3x3; the only FC layer is "
       "the classifier after global average pooling (no hidden FC, no dropout).",
       "CNN lecture, ResNet slides; He et al. 2016 §3.3 (plain network rules), §4.2", "exact", group=GROUP)
def _resnet_structure(**_: Any) -> Outcome:
    checked = 0
    for name in _resnets():
        arch = A.get(name)
        for b in arch.blocks:
            (ci, hi, wi), (co, ho, wo) = b.in_shape, b.out_shape
            expect_halve = b.stride == 2
            widen = co == 2 * ci or (b.kind == "bottleneck" and co > ci)
            if expect_halve != (ho * 2 == hi and wo * 2 == wi) or (expect_halve and not widen):
                return Outcome(False, f"{name} {b.name}: {ci}x{hi}x{wi} -> {co}x{ho}x{wo} breaks "
                                      f"'halve the size where the filters double'",
                               counterexample={"args": {"net": name, "block": b.name}})
            if b.kind == "basic":
                ks = [r.kernel for r in arch.block_layers(b.name) if r.kind == "conv" and not r.shortcut]
                if ks != [3, 3]:
                    return Outcome(False, f"{name} {b.name}: conv kernels {ks}, not 3x3")
            checked += 1
        fcs = [i for i, r in enumerate(arch.layers) if r.kind == "fc"]
        if fcs != [len(arch.layers) - 1] or arch.layers[-2].kind != "gap":
            return Outcome(False, f"{name}: FC layers at rows {fcs}; the spec allows only the classifier")
    return Outcome(True, f"{checked} blocks of {len(_resnets())} networks: halving where filters double, "
                         f"3x3 basic-block convs, one FC after global pooling", {"blocks": checked},
                   checked)


@claim("arch.resnet.depth", "A ResNet's depth counts its weighted layers on the main path: 6n+2 for "
       "the CIFAR nets (§4.2) and 18/34/50/101/152 for Table 1 (shortcut projections not counted).",
       "He et al. 2016 §4.2, Table 1", "exact", group=GROUP)
def _depth(**_: Any) -> Outcome:
    import re

    counts = {}
    for name in _resnets():
        arch = A.get(name)
        n = sum(1 for r in arch.layers if r.kind in ("conv", "fc") and not r.shortcut)
        counts[name] = n
        want = int(re.match(r"[a-z]+(\d+)", name).group(1))
        if n != want:
            return Outcome(False, f"{name} has {n} weighted layers, but should have {want}",
                           {"counts": counts}, counterexample={"args": {"net": name}, "expected": [want], "got": [n]})
    return Outcome(True, f"{len(counts)} networks have the depth in their name", {"counts": counts}, len(counts))


@claim("arch.resnet50.layouts", "The paper's bottleneck (stride on the first 1x1) and torchvision's "
       "v1.5 (stride on the 3x3) have the same parameters; v1.5 costs (H_in² − H_out²)·C_in·C_mid more "
       "multiply-adds at each of the 3 downsampling blocks (the first 1x1 runs at full resolution): "
       "4.089e9 vs 3.858e9 for ResNet-50.", "He et al. 2016 §3.3; torchvision resnet.py Bottleneck note",
       "exact", group=GROUP)
def _layouts(**_: Any) -> Outcome:
    ev: dict[str, Any] = {}
    for d in (50, 101, 152):
        v15, v1 = A.get(f"resnet{d}"), A.get(f"resnet{d}-v1")
        predicted = 0
        for b in v15.blocks:
            if b.stride == 2:
                c1 = v15.layer(f"{b.name}.conv1")
                (ci, hi, wi), cm = c1.in_shape, c1.out_shape[0]
                predicted += (hi * wi - b.out_shape[1] * b.out_shape[2]) * ci * cm
        diff = v15.macs - v1.macs
        ev[f"resnet{d}"] = {"v1.5": v15.macs, "v1": v1.macs, "difference": diff, "predicted": predicted,
                            "params_equal": v15.params == v1.params}
        if diff != predicted or v15.params != v1.params:
            return Outcome(False, f"resnet{d}: v1.5 - v1 = {diff:,} MACs, predicted {predicted:,}", ev)
    r = ev["resnet50"]
    return Outcome(True, f"ResNet-50: v1.5 {r['v1.5']:,} - v1 {r['v1']:,} = {r['difference']:,} MACs "
                         f"as predicted; parameters equal (also 101, 152)", ev, 3)


@claim("arch.cifar.shortcut_params", "Option A shortcuts are parameter-free, so a CIFAR ResNet with "
       "option A has exactly the parameters of its plain counterpart; option B adds a 1x1 projection "
       "and batch norm at the two widenings: 16·32 + 2·32 + 32·64 + 2·64 = 2,752 parameters.",
       "He et al. 2016 §3.3, §4.2", "exact", group=GROUP)
def _shortcut_params(**_: Any) -> Outcome:
    ev = {}
    for d in (20, 32, 44, 56, 110):
        a, b, p = A.get(f"resnet{d}"), A.get(f"resnet{d}-B"), A.get(f"plain{d}")
        ev[d] = {"A": a.params, "B": b.params, "plain": p.params}
        if a.params != p.params or b.params - a.params != 2_752:
            return Outcome(False, f"depth {d}: A {a.params:,}, plain {p.params:,}, B {b.params:,}", ev)
    return Outcome(True, "A == plain and B == A + 2,752 for depths 20..110", ev, 5)


@claim("arch.resnet.option_a", "The option-A shortcut is a fixed 0/1 matrix: every row has at most one "
       "1, exactly C_in·H'·W' rows have one (a partial identity on the stride grid), and the appended "
       "channels are zero rows.", "He et al. 2016 §3.3 (option A)", "exact", group=GROUP)
def _option_a(**_: Any) -> Outcome:
    cases = [(16, 32, 32, 32, 2), (32, 64, 16, 16, 2), (3, 5, 7, 5, 2), (4, 4, 6, 6, 1)]
    for ci, co, h, w, s in cases:
        m = option_a_matrix(ci, co, h, w, s)
        per_row = m.getnnz(axis=1)
        per_col = m.getnnz(axis=0)
        ho, wo = -(-h // s), -(-w // s)
        zero_rows = per_row[ci * ho * wo:]
        if per_row.max() > 1 or per_col.max() > 1 or m.nnz != ci * ho * wo or zero_rows.any() or m.max() != 1:
            return Outcome(False, f"option A matrix for {(ci, co, h, w, s)} is not a partial identity",
                           counterexample={"args": {"c_in": ci, "c_out": co, "h": h, "w": w, "stride": s}})
    return Outcome(True, f"{len(cases)} shapes: option A is a partial identity with zero channels appended",
                   {"cases": cases}, len(cases))


@claim("residual.jacobian", "For y = x + F(x): ∂y/∂x = I + ∂F/∂x, and F ≡ 0 makes the block the "
       "identity (y = x, ∂y/∂x = I).", "He et al. 2016 eq. (1); He et al. 2016b (Identity mappings) eq. (5)",
       "symbolic", group=GROUP)
def _jacobian(**_: Any) -> Outcome:
    sizes = (1, 2, 3, 4)
    for n in sizes:
        jy, jf = residual_jacobian(n)
        if sympy.simplify(jy - sympy.eye(n) - jf) != sympy.zeros(n, n):
            return Outcome(False, f"n={n}: J_y - I - J_F is not zero", counterexample={"args": {"n": n}})
        x = sympy.symbols(f"x_0:{n}")
        y0 = sympy.Matrix(x) + sympy.zeros(n, 1)
        if y0 != sympy.Matrix(x) or y0.jacobian(x) != sympy.eye(n):
            return Outcome(False, f"n={n}: F = 0 does not give the identity")
    return Outcome(True, f"J_y = I + J_F proved symbolically for n = {sizes}; F = 0 gives y = x, J = I",
                   {"sizes": list(sizes), "example": str(residual_jacobian(2)[0])}, len(sizes))


@claim("residual.zero_branch", "A residual branch that ends in batch norm is identically zero when the "
       "batch norm's scale γ and shift β are zero, for every input z and every statistic μ, σ², ε; so "
       "the post-activation block computes relu(x + 0) = relu(x), and the plain block relu(0) = 0.",
       "He et al. 2016 §3.1; Ioffe & Szegedy 2015 Algorithm 1", "symbolic", group=GROUP)
def _zero_branch(**_: Any) -> Outcome:
    expr, (z, mu, var, eps, gamma, beta) = batchnorm_expr()
    zeroed = expr.subs({gamma: 0, beta: 0})
    x = sympy.Symbol("x", real=True)
    relu = sympy.Max(0, x + zeroed)
    ok = zeroed == 0 and sympy.simplify(relu - sympy.Max(0, x)) == 0
    return Outcome(ok, f"BN(z; γ=0, β=0) = {zeroed}; relu(x + BN) = {sympy.simplify(relu)}",
                   {"batchnorm": str(expr), "zeroed": str(zeroed)})
