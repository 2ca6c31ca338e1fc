"""``cnnspec arch NAME [--format text|json]``: the layer table of a network, published figures beside.

Exit 0 when every published figure is reproduced, 1 when one differs, 2 for an unknown name.
"""
from __future__ import annotations

import argparse
import json

from ..errors import UsageError
from ..shapes import fmt_shape
from ..spec import architectures as A

_COLUMNS = ("layer", "kind", "input", "output", "k/s/p", "weights", "biases", "connections",
            "MACs", "RF", "jump")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("arch", help="layer table of LeNet-5 or a ResNet, with published figures",
                              description=__doc__.split("\n\n")[0] + " Known: " + ", ".join(A.SPECS) + ".")
    p.add_argument("name", metavar="NAME", help="architecture name (see the list above)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    return p


_shape = fmt_shape  # the layer table prints shapes as 1x32x32


def _row(r: A.Layer) -> list[str]:
    ksp = f"{r.kernel}/{r.stride}/{r.padding}" if r.kernel else ""
    return [r.name, r.kind, _shape(r.in_shape), _shape(r.out_shape), ksp, f"{r.weights:,}",
            f"{r.biases:,}", f"{r.connections:,}", f"{r.macs:,}", str(r.rf), str(r.jump)]


def table_text(arch: A.Architecture) -> str:
    rows = [list(_COLUMNS)] + [_row(r) for r in arch.layers]
    rows.append(["total", "", _shape(arch.input_shape), "", "", f"{arch.total('weights'):,}",
                 f"{arch.total('biases'):,}", f"{arch.total('connections'):,}", f"{arch.macs:,}", "", ""])
    widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS))]
    right = {5, 6, 7, 8, 9, 10}
    lines = [f"{arch.name}: {arch.title}", f"parameters {arch.params:,}; multiply-adds {arch.macs:,} "
             "(convs and FCs; BN, activations, pooling and additions not counted)"]
    lines += [f"note: {n}" for n in arch.notes]
    for r in rows:
        lines.append("  ".join(c.rjust(w) if i in right else c.ljust(w)
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    lines.append("")
    lines.append("published figures:" if arch.published else "published figures: none for this variant")
    for p, derived, ok in arch.comparisons():
        what = f"{p.layer + ' ' if p.layer else ''}{p.quantity}"
        how = p.how(derived)
        rel = "=" if how == "exact" else "~" if how else "!="
        note = f" ({how} to the printed digits)" if how not in (None, "exact") else ""
        lines.append(f"  {'ok  ' if ok else 'DIFF'} {what}: derived {derived:,} {rel} {p.printed()}{note}"
                     f"  [{p.source}]")
    return "\n".join(lines)


def table_json(arch: A.Architecture) -> dict:
    return {
        "name": arch.name, "title": arch.title, "input_shape": list(arch.input_shape),
        "params": arch.params, "macs": arch.macs, "connections": arch.total("connections"),
        "macs_convention": "multiply-adds of convs, sparse convs, FCs (1998 subsampling: 4 per unit; "
                           "RBF: 1 per squared term); BN, activations, pooling, additions not counted",
        "layers": [{"name": r.name, "kind": r.kind, "in_shape": list(r.in_shape),
                    "out_shape": list(r.out_shape), "kernel": r.kernel, "stride": r.stride,
                    "padding": r.padding, "weights": r.weights, "biases": r.biases, "params": r.params,
                    "connections": r.connections, "macs": r.macs, "receptive_field": r.rf,
                    "jump": r.jump, "block": r.block, "shortcut": r.shortcut} for r in arch.layers],
        "blocks": [{"name": b.name, "kind": b.kind, "stride": b.stride, "shortcut": b.shortcut,
                    "in_shape": list(b.in_shape), "out_shape": list(b.out_shape), "last_bn": b.last_bn}
                   for b in arch.blocks],
        "published": [{"quantity": p.quantity, "layer": p.layer, "published": p.printed(),
                       "derived": d, "rule": p.rule, "how": p.how(d), "source": p.source, "holds": ok}
                      for p, d, ok in arch.comparisons()],
    }


def run(args: argparse.Namespace) -> int:
    if args.name not in A.SPECS:
        raise UsageError(f"NAME: {args.name!r} is not a known architecture; known: {', '.join(A.SPECS)}")
    arch = A.get(args.name)
    if args.format == "json":
        print(json.dumps(table_json(arch), indent=2))
    else:
        print(table_text(arch))
    return 0 if all(ok for _, _, ok in arch.comparisons()) else 1
