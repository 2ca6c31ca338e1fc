"""``cnnspec derive conv1d|conv2d``: the convolution matrix and output expressions, derived and verified.

>>> from cnnspec.cli import main
>>> main(["derive", "conv1d", "--input", "a,b,c,d,e,f", "--kernel", "z,y,x", "--convolution",
...       "--mode", "full", "--format", "json"])  # doctest: +ELLIPSIS
{...
  "outputs": [
    "a*z",
    "a*y + b*z",
    "a*x + b*y + c*z",
    "b*x + c*y + d*z",
    "c*x + d*y + e*z",
    "d*x + e*y + f*z",
    "e*x + f*y",
    "f*x"
  ],
...
0
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter

import numpy as np
import sympy

from ..errors import UsageError
from ..spec.convolution import MODES, ConvSpec, sum_formula
from ..spec.toeplitz import ConvMatrix, sum_formula_table

NDIM = {"conv1d": 1, "conv2d": 2}
_SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NUMBER = re.compile(r"^[+-]?\d+(/\d+)?$")
MAX_PRINT_ENTRIES = 24 * 24   # larger matrices are summarised unless --full
MAX_PRINT_OUTPUTS = 64


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("derive", help="derive a convolution matrix and its output expressions",
                       description="Derive T(w) with vec(s) = T(w) vec(u) for a convolution geometry, "
                                   "print it with the output expressions, and verify both against "
                                   "the sum formula.")
    p.add_argument("op", choices=sorted(NDIM), help="conv1d or conv2d")
    p.add_argument("--input", required=True, metavar="SPEC",
                   help="sizes ('6', '3x4') or symbols ('a,b,c,d,e,f'; 2-D rows separated by ';')")
    p.add_argument("--kernel", required=True, metavar="SPEC",
                   help="sizes ('3', '2x2') or entries: symbols or integers/rationals ('z,y,x', 'w,x;y,z', '1,0,-1')")
    p.add_argument("--in-channels", type=int, default=1)
    p.add_argument("--out-channels", type=int, default=1)
    p.add_argument("--groups", type=int, default=1)
    p.add_argument("--stride", default="1", help="one int or one per axis ('2', '2,1')")
    p.add_argument("--padding", default=None, help="zero padding: one int or one per axis (default 0)")
    p.add_argument("--dilation", default="1", help="one int or one per axis")
    p.add_argument("--mode", choices=MODES, default=None,
                   help="full (every overlap), same (output ceil(n/stride)) or valid (no padding)")
    p.add_argument("--convolution", action="store_true",
                   help="true convolution (kernel flipped, the lecture's formula); default: "
                        "cross-correlation, as deep-learning frameworks compute")
    p.add_argument("--format", choices=["text", "latex", "json"], default="text")
    p.add_argument("--full", action="store_true",
                   help="print every matrix entry and output even for large geometries")
    return p


# --- parsing -------------------------------------------------------------------------------------

def _ints(name: str, text: str, ndim: int) -> tuple[int, ...]:
    parts = [t for t in re.split(r"[x,]", text.strip())]
    try:
        vals = tuple(int(t) for t in parts)
    except ValueError:
        raise UsageError(f"--{name}: {text!r} is not an integer or one integer per axis "
                         f"(e.g. '2' or '2,1')") from None
    if len(vals) == 1:
        vals = vals * ndim
    if len(vals) != ndim:
        raise UsageError(f"--{name}: {text!r} has {len(vals)} values, but {ndim}-D needs 1 or {ndim}")
    return vals


def parse_array(name: str, text: str, ndim: int):
    """``'3x4'`` → sizes ``(3, 4)``; ``'a,b;c,d'`` → a 2-D list of sympy entries (symbols or numbers)."""
    text = text.strip()
    if not text:
        raise UsageError(f"--{name}: empty; give sizes like '6' or '3x4', or entries like 'a,b,c'")
    if re.fullmatch(r"\d+(x\d+)*", text):
        sizes = tuple(int(t) for t in text.split("x"))
        if len(sizes) != ndim:
            raise UsageError(f"--{name}: {text!r} has {len(sizes)} sizes, but {ndim}-D needs {ndim} "
                             f"(e.g. {'x'.join(['3'] * ndim)!r})")
        for v in sizes:
            if v < 1:
                raise UsageError(f"--{name}: size {v} in {text!r} must be >= 1")
        return sizes
    if re.fullmatch(r"-\d+(x-?\d+)*|\d+(x-?\d+)+", text):
        raise UsageError(f"--{name}: sizes in {text!r} must be >= 1")
    rows = text.split(";")
    if ndim == 1 and len(rows) > 1:
        raise UsageError(f"--{name}: conv1d takes one row of entries, but {text!r} has {len(rows)} "
                         f"rows (';'); use conv2d for 2-D")
    if ndim == 2 and len(rows) == 1:
        rows = [rows[0]]
    grid = []
    for r, row in enumerate(rows, 1):
        entries = [e.strip() for e in row.split(",")]
        for e in entries:
            if not e:
                raise UsageError(f"--{name}: empty entry in row {r} of {text!r}; separate entries "
                                 f"with single commas")
            if not (_SYMBOL.match(e) or _NUMBER.match(e)):
                raise UsageError(f"--{name}: {e!r} is neither a symbol name (letters, digits, _) nor "
                                 f"an integer or rational like -3 or 1/2")
            if _NUMBER.match(e) and "/" in e and int(e.split("/")[1]) == 0:
                raise UsageError(f"--{name}: {e!r} divides by zero")
        grid.append([sympy.Symbol(e) if _SYMBOL.match(e) else sympy.Rational(e) for e in entries])
    widths = {len(r) for r in grid}
    if len(widths) > 1:
        lens = [len(r) for r in grid]
        bad = next(i for i, L in enumerate(lens) if L != lens[0])
        raise UsageError(f"--{name}: row {bad + 1} has {lens[bad]} entries but row 1 has {lens[0]}; "
                         f"every row needs the same length")
    return grid if ndim == 2 else grid[0]


def _default_symbols(prefix: str, shape: tuple[int, ...], drop: int) -> list:
    """``prefix_i_j…`` over ``shape`` in C order, leaving out the first ``drop`` (channel) indices."""
    return [sympy.Symbol(prefix + "_" + "_".join(map(str, i[drop:]))) for i in np.ndindex(*shape)]


def build(args) -> tuple[ConvSpec, list, list, bool]:
    ndim = NDIM[args.op]
    inp = parse_array("input", args.input, ndim)
    ker = parse_array("kernel", args.kernel, ndim)
    explicit_u, explicit_w = not isinstance(inp, tuple), not isinstance(ker, tuple)
    n = inp if isinstance(inp, tuple) else ((len(inp),) if ndim == 1 else (len(inp), len(inp[0])))
    k = ker if isinstance(ker, tuple) else ((len(ker),) if ndim == 1 else (len(ker), len(ker[0])))
    if args.mode is not None and args.padding not in (None, "0"):
        raise UsageError(f"--padding: {args.padding!r} and --mode {args.mode} both set the padding; "
                         f"give one of them")
    padding = args.mode if args.mode is not None else _ints("padding", args.padding or "0", ndim)
    spec = ConvSpec.make(n, k, in_channels=args.in_channels, out_channels=args.out_channels,
                         groups=args.groups, stride=_ints("stride", args.stride, ndim),
                         padding=padding, dilation=_ints("dilation", args.dilation, ndim),
                         convolution=args.convolution)
    single = spec.in_channels == 1 and spec.out_channels == 1
    if explicit_u:
        if spec.in_channels != 1:
            raise UsageError(f"--input: explicit entries describe one channel, but --in-channels is "
                             f"{spec.in_channels}; give sizes instead")
        u = [e for row in inp for e in row] if ndim == 2 else list(inp)
    else:
        u = _default_symbols("u", spec.input_shape, 1 if single else 0)
    if explicit_w:
        if spec.out_channels != 1 or spec.in_channels // spec.groups != 1:
            raise UsageError(f"--kernel: explicit entries describe one filter of one channel, but the "
                             f"layer has {spec.out_channels} out-channels and "
                             f"{spec.in_channels // spec.groups} in-channels per group; give sizes")
        w = [e for row in ker for e in row] if ndim == 2 else list(ker)
    else:
        w = _default_symbols("w", spec.weight_shape, 2 if single else 0)
    for name, vals in (("input", u), ("kernel", w)):
        counts = Counter(str(v) for v in vals if isinstance(v, sympy.Symbol))
        dup = {s for s, c in counts.items() if c > 1}
        if dup:
            raise UsageError(f"--{name}: symbol {sorted(dup)[0]!r} appears more than once; every entry "
                             f"needs its own name")
    shared = {str(s) for s in u if isinstance(s, sympy.Symbol)} & {str(s) for s in w if isinstance(s, sympy.Symbol)}
    if shared:
        raise UsageError(f"--kernel: symbol {sorted(shared)[0]!r} also appears in --input; use "
                         f"distinct names")
    return spec, u, w, explicit_u or explicit_w


# --- derivation and verification ---------------------------------------------------------------

def derive(spec: ConvSpec, u: list, w: list, want_exprs: bool) -> dict:
    t0 = time.perf_counter()
    T = ConvMatrix(spec)
    tables_equal = T.table == sum_formula_table(spec)
    ver = {"geometry": "bilinear coefficient tables of T(w)·u and of the sum formula (generic symbols)",
           "terms": len(T.table), "tables_equal": bool(tables_equal)}
    exprs = None
    ok = tables_equal
    if want_exprs:
        uu = np.array(u, dtype=object)
        ww = np.array(w, dtype=object)
        acc = np.zeros(spec.n_out, dtype=object)
        acc[:] = sympy.Integer(0)
        np.add.at(acc, T.rows, ww[T.widx] * uu[T.cols])
        exprs = [sympy.expand(e) for e in acc]
        if spec.n_out * spec.taps <= 20000:
            ref = sum_formula(spec, u, w)
            sym_ok = all(sympy.expand(a - b) == 0 for a, b in zip(exprs, ref))
            ver["values"] = "sympy: T(w)·u − sum formula expands to 0 in every entry"
            ver["sympy_equal"] = bool(sym_ok)
            ok = ok and sym_ok
    ver["seconds"] = round(time.perf_counter() - t0, 4)
    return {"matrix": T, "outputs": exprs, "verified": bool(ok), "verification": ver}


def _structure(spec: ConvSpec) -> str:
    if spec.padding_mode == "circular":
        return "circulant"
    kind = "Toeplitz" if spec.ndim == 1 else ("doubly block Toeplitz" if spec.ndim == 2 else
                                              f"{spec.ndim}-level block Toeplitz")
    if any(s > 1 for s in spec.stride):
        kind += " rows subsampled by the stride"
    if spec.in_channels > 1 or spec.out_channels > 1:
        kind = f"{spec.out_channels}x{spec.in_channels} blocks, each {kind}"
        if spec.groups > 1:
            kind += f", block diagonal over {spec.groups} groups"
    return kind


def run(args) -> int:
    spec, u, w, _ = build(args)
    small = spec.n_out * spec.n_in <= MAX_PRINT_ENTRIES or args.full
    few = spec.n_out <= MAX_PRINT_OUTPUTS or args.full
    res = derive(spec, u, w, want_exprs=few)
    T: ConvMatrix = res["matrix"]
    distinct = len({str(w[i]) for i in np.unique(T.widx)} - {"0"}) if T.nnz else 0
    dense = T.symbolic(w) if small else None
    summary = {"shape": list(T.shape), "nnz": T.nnz, "distinct_symbols": distinct,
               "structure": _structure(spec)}
    if args.format == "json":
        doc = {"op": args.op, "geometry": spec.describe(),
               "spec": {"input_size": spec.input_size, "kernel_size": spec.kernel_size,
                        "in_channels": spec.in_channels, "out_channels": spec.out_channels,
                        "groups": spec.groups, "stride": spec.stride, "padding": spec.padding,
                        "dilation": spec.dilation, "convolution": spec.convolution},
               "input": [str(v) for v in u], "kernel": [str(v) for v in w],
               "output_shape": list(spec.output_shape),
               "matrix": {**summary, "entries": [[str(dense[i, j]) for j in range(dense.cols)]
                                                 for i in range(dense.rows)] if dense is not None else None},
               "outputs": [str(e) for e in res["outputs"]] if res["outputs"] is not None else None,
               "verified": res["verified"], "verification": res["verification"]}
        print(json.dumps(doc, indent=2))
    elif args.format == "latex":
        print(f"% {spec.describe()}")
        if dense is not None:
            print(r"T(w) = " + sympy.latex(dense))
        else:
            print(f"% T(w): {T.shape[0]}x{T.shape[1]}, {T.nnz} non-zeros, {distinct} distinct symbols "
                  f"({summary['structure']}); use --full to print it")
        if res["outputs"] is not None:
            print(r"\begin{aligned}")
            idx = list(np.ndindex(*spec.output_shape))
            for i, e in zip(idx, res["outputs"]):
                sub = ",".join(map(str, i[1:] if spec.out_channels == 1 else i))
                print(rf"  s_{{{sub}}} &= {sympy.latex(e)} \\")
            print(r"\end{aligned}")
        print(f"% verified: {str(res['verified']).lower()}")
    else:
        print(f"{args.op}: {spec.describe()}")
        print(f"T(w): {T.shape[0]}x{T.shape[1]}, {T.nnz} non-zeros (dense: {T.shape[0] * T.shape[1]}), "
              f"{distinct} distinct symbols; {summary['structure']}")
        if dense is not None:
            print(sympy.pretty(dense, use_unicode=True, wrap_line=False))
        else:
            print("  (matrix summarised; --full prints every entry)")
        if res["outputs"] is not None:
            print("vec(s) = T(w)·vec(u):")
            for i, e in zip(np.ndindex(*spec.output_shape), res["outputs"]):
                pos = ",".join(map(str, i[1:] if spec.out_channels == 1 else i))
                print(f"  s[{pos}] = {e}")
        else:
            print(f"  ({spec.n_out} outputs; --full prints every expression)")
        v = res["verification"]
        checks = ["coefficient tables equal" if v["tables_equal"] else "coefficient tables DIFFER"]
        if "sympy_equal" in v:
            checks.append("sympy expand equal" if v["sympy_equal"] else "sympy expand DIFFERS")
        print(f"verified against the sum formula: {'yes' if res['verified'] else 'NO'} "
              f"({', '.join(checks)}; {v['terms']} terms, {v['seconds']} s)")
    sys.stdout.flush()
    return 0 if res["verified"] else 1
