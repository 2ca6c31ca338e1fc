"""``cnnspec derive conv1d|conv2d|conv3d|conv_transpose1d|2d|3d``: the matrix and the output
expressions, derived and verified.

Padding may be an int, one per axis, or ``lo:hi`` per axis (``--padding 1:2,0:1``);
``--padding-mode reflect|replicate|circular`` derives ``T_valid·R`` (:mod:`cnnspec.spec.padding`);
the transposed convolutions take ``--output-padding`` and verify ``Tᵀ`` of the matching
convolution (:mod:`cnnspec.spec.transposed`). Every geometry is bounded before any work
(:data:`MAX_SYMBOLS`, :data:`MAX_NONZEROS`), and symbol names that sympy would read as something
else (``E``, ``I``, ``pi``, ``lambda``…) are refused, so that ``--format json`` parses back
(``sympy.sympify``) to the same symbols.

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
import builtins
import json
import keyword
import math
import re
import sys
import time
from collections import Counter

import numpy as np
import sympy

from ..errors import UsageError
from ..spec.convolution import MODES, ConvSpec, sum_formula
from ..spec.padding import dense_from_table, padded_table, rows_touching_padding, valid_spec
from ..spec.toeplitz import BilinearTable, ConvMatrix, sum_formula_table
from ..spec.transposed import (TransposedMatrix, TransposedSpec, gather_formula,
                               transpose_of_matching)

NDIM = {"conv1d": 1, "conv2d": 2, "conv3d": 3,
        "conv_transpose1d": 1, "conv_transpose2d": 2, "conv_transpose3d": 3}
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
# Bounds checked before any work: derive builds one sympy symbol per input and weight entry and a
# few int64 arrays per non-zero (a ResNet-20 conv, 2.3 million non-zeros, takes about 2 s).
MAX_SYMBOLS = 1_000_000
MAX_NONZEROS = 20_000_000
# Names sympy's parser reads as something other than a symbol: Python keywords, builtins, and the
# names of `from sympy import *` (E, I, S, N, O, Q, pi, oo, gamma, beta, ...).
_RESERVED = frozenset(keyword.kwlist) | frozenset(dir(builtins)) | frozenset(sympy.__all__)
_SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NUMBER = re.compile(r"^[+-]?\d+(/\d+)?$")
MAX_PRINT_ENTRIES = 24 * 24   # larger matrices are summarised unless --full
MAX_PRINT_OUTPUTS = 64


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("derive", help="derive a convolution matrix and its output expressions",
                       description="Derive T(w) with vec(s) = T(w) vec(u) for a convolution geometry, "
                                   "print it with the output expressions, and verify both against "
                                   "the sum formula.")
    p.add_argument("op", choices=list(NDIM), help="conv1d, conv2d, conv3d or conv_transpose1d/2d/3d")
    p.add_argument("--input", required=True, metavar="SPEC",
                   help="sizes ('6', '3x4') or symbols ('a,b,c,d,e,f'; 2-D rows separated by ';')")
    p.add_argument("--kernel", required=True, metavar="SPEC",
                   help="sizes ('3', '2x2') or entries: symbols or integers/rationals ('z,y,x', 'w,x;y,z', '1,0,-1')")
    p.add_argument("--in-channels", type=int, default=1)
    p.add_argument("--out-channels", type=int, default=1)
    p.add_argument("--groups", type=int, default=1)
    p.add_argument("--stride", default="1", help="one int or one per axis ('2', '2,1')")
    p.add_argument("--padding", default=None,
                   help="one int, one per axis ('1,2') or lo:hi per axis ('1:2,0:1'); default 0")
    p.add_argument("--padding-mode", choices=PADDING_MODES, default="zeros",
                   help="what the padding holds (nn.Conv2d's padding_mode): zeros, or the input "
                        "reflected, replicated or wrapped; the matrix is then T_valid·R")
    p.add_argument("--output-padding", default="0",
                   help="transposed convolutions: extra outputs on the high side, one int or one "
                        "per axis; each < max(stride, dilation)")
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


def _padding(text: str, ndim: int):
    """``'1'``, ``'1,2'`` (one per axis) or ``'1:2,0:1'`` (lo:hi per axis) -> ints or pairs."""
    if ":" not in text:
        return _ints("padding", text, ndim)
    parts = [t.strip() for t in text.split(",")]
    pairs = []
    for t in parts:
        m = re.fullmatch(r"(\d+):(\d+)|(\d+)", t)
        if not m:
            raise UsageError(f"--padding: {t!r} in {text!r} is not an int or lo:hi with ints >= 0 "
                             f"(e.g. '1:2,0:1')")
        pairs.append((int(m[1]), int(m[2])) if m[1] is not None else (int(m[3]), int(m[3])))
    if len(pairs) == 1:
        pairs = pairs * ndim
    if len(pairs) != ndim:
        raise UsageError(f"--padding: {text!r} has {len(pairs)} axes, but {ndim}-D needs 1 or {ndim}")
    return tuple(pairs)


def _check_name(name: str, entry: str, text: str) -> None:
    if entry in _RESERVED:
        raise UsageError(f"--{name}: symbol {entry!r} in {text!r} is a name sympy reads as a "
                         f"constant, function or keyword, so the output would not parse back to "
                         f"it; rule: use another name (e.g. {entry + '_'!r})")


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
    if ndim == 3:
        raise UsageError(f"--{name}: {text!r}; rule: 3-D ops take sizes (e.g. '3x4x5'), not entries")
    rows = text.split(";")
    if ndim == 1 and len(rows) > 1:
        raise UsageError(f"--{name}: conv1d takes one row of entries, but {text!r} has {len(rows)} "
                         f"rows (';'); use conv2d for 2-D")
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
            if _SYMBOL.match(e):
                _check_name(name, e, text)
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


def check_bounds(n: tuple[int, ...], k: tuple[int, ...], c_in: int, c_out: int, groups: int,
                 transposed: bool) -> None:
    """Refuse a geometry above :data:`MAX_SYMBOLS` / :data:`MAX_NONZEROS` before building anything.

    The figures are exact upper bounds in Python integers: symbols = input + weight entries;
    non-zeros <= outputs·taps (convolution: output positions <= input positions + padding, bounded
    here by the unpadded input for the symbols and by ``Π(n + k)`` for the non-zeros).
    """
    for name, v in (("--in-channels", c_in), ("--out-channels", c_out), ("--groups", groups)):
        if v < 1:
            raise UsageError(f"{name}: {v} must be a positive integer")
    per_group = max(c_in // groups, 1)          # groups that do not divide are refused later
    symbols = c_in * math.prod(n) + c_out * per_group * math.prod(k)
    positions = math.prod(a + b for a, b in zip(n, k)) if not transposed else math.prod(n)
    nonzeros = positions * c_out * per_group * math.prod(k) if not transposed else \
        positions * c_in * (c_out // max(groups, 1)) * math.prod(k)
    if symbols > MAX_SYMBOLS or nonzeros > MAX_NONZEROS:
        flag = "--in-channels" if c_in > MAX_SYMBOLS else "--out-channels" if c_out > MAX_SYMBOLS \
            else "--input"
        raise UsageError(f"{flag}: {'x'.join(map(str, n))} with kernel {'x'.join(map(str, k))}, "
                         f"{c_in} in- and {c_out} out-channels needs {symbols:,} symbols and up to "
                         f"{nonzeros:,} non-zeros; limit: {MAX_SYMBOLS:,} symbols and "
                         f"{MAX_NONZEROS:,} non-zeros (derive builds every entry); derive a smaller "
                         f"layer")


def build(args) -> tuple[ConvSpec | TransposedSpec, list, list, bool]:
    ndim = NDIM[args.op]
    transposed = args.op.startswith("conv_transpose")
    inp = parse_array("input", args.input, ndim)
    ker = parse_array("kernel", args.kernel, ndim)
    explicit_u, explicit_w = not isinstance(inp, tuple), not isinstance(ker, tuple)
    n = inp if isinstance(inp, tuple) else ((len(inp),) if ndim == 1 else (len(inp), len(inp[0])))
    k = ker if isinstance(ker, tuple) else ((len(ker),) if ndim == 1 else (len(ker), len(ker[0])))
    check_bounds(n, k, args.in_channels, args.out_channels, args.groups, transposed)
    if args.mode is not None and args.padding not in (None, "0"):
        raise UsageError(f"--padding: {args.padding!r} and --mode {args.mode} both set the padding; "
                         f"give one of them")
    padding = args.mode if args.mode is not None else _padding(args.padding or "0", ndim)
    geo = dict(in_channels=args.in_channels, out_channels=args.out_channels, groups=args.groups,
               stride=_ints("stride", args.stride, ndim), padding=padding,
               dilation=_ints("dilation", args.dilation, ndim))
    if transposed:
        for flag, bad in (("--mode", args.mode is not None), ("--convolution", args.convolution),
                          ("--padding-mode", args.padding_mode != "zeros")):
            if bad:
                raise UsageError(f"{flag}: not taken by {args.op}; rule: a transposed convolution "
                                 f"has zero padding given as ints or lo:hi (as torch's ConvTranspose)")
        spec = TransposedSpec.make(n, k, **geo, output_padding=_ints("output-padding",
                                                                      args.output_padding, ndim))
    else:
        if args.output_padding not in ("0", None):
            raise UsageError(f"--output-padding: {args.output_padding!r}; rule: only the transposed "
                             f"convolutions take it")
        spec = ConvSpec.make(n, k, **geo, convolution=args.convolution,
                             padding_mode="circular" if args.padding_mode == "circular" else "zeros")
    single = spec.in_channels == 1 and spec.out_channels == 1
    if explicit_u:
        if spec.in_channels != 1:
            raise UsageError(f"--input: explicit entries describe one channel, but --in-channels is "
                             f"{spec.in_channels}; give sizes instead")
        u = [e for row in inp for e in row] if ndim == 2 else list(inp)
    else:
        u = _default_symbols("u", spec.input_shape, 1 if single else 0)
    if explicit_w:
        if spec.weight_shape[0] != 1 or spec.weight_shape[1] != 1:
            raise UsageError(f"--kernel: explicit entries describe one filter of one channel, but the "
                             f"layer's weight is {'x'.join(map(str, spec.weight_shape[:2]))} "
                             f"channels; give sizes")
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

class _Derived:
    """A derived matrix as a coefficient table: entry ``(r, c)`` is ``Σ coef·w[widx]``."""

    def __init__(self, table: BilinearTable, shape: tuple[int, int]):
        self.table, self.shape = table, shape
        self.rows, self.widx, self.cols, self.coef = table.arrays()
        key = np.sort(self.rows * shape[1] + self.cols)   # entries, not terms (a sum is one entry)
        self.nnz = int(key.size and 1 + np.count_nonzero(np.diff(key)))

    def symbolic(self, w: list) -> sympy.Matrix:
        return dense_from_table(self.table, self.shape, w)


def _matrix(spec, mode: str) -> tuple[_Derived, BilinearTable, str, object]:
    """``(matrix, independent table, what the table is, sympy reference builder)`` for a geometry."""
    if isinstance(spec, TransposedSpec):
        T = TransposedMatrix(spec)
        shape = (math.prod(spec.output_shape), math.prod(spec.input_shape))
        return (_Derived(T.table, shape), transpose_of_matching(spec),
                "Tᵀ of the matching convolution", lambda u, w: gather_formula(spec, u, w))
    if mode in ("reflect", "replicate"):
        vs = valid_spec(spec)
        t = padded_table(spec, mode)
        # the independent side: the sum formula's table of the valid layer, its padded columns
        # moved by the padding operator
        ref = sum_formula_table(vs)
        from ..spec.padding import pad_operator
        R = pad_operator(spec, mode)
        src = np.full(R.shape[0], -1, np.int64)
        src[R.nonzero()[0]] = R.nonzero()[1]
        ref = BilinearTable(ref.rows, ref.widx, src[ref.cols], ref.coef)

        def sympy_ref(u, w):
            padded = [u[int(j)] for j in src]
            return sum_formula(vs, padded, w)
        return (_Derived(t, (spec.n_out, spec.n_in)), ref, "the sum formula on the padded input",
                sympy_ref)
    T = ConvMatrix(spec)
    return (_Derived(T.table, T.shape), sum_formula_table(spec), "the sum formula",
            lambda u, w: sum_formula(spec, u, w))


def derive(spec, u: list, w: list, want_exprs: bool, mode: str = "zeros") -> dict:
    t0 = time.perf_counter()
    T, ref, what, sympy_ref = _matrix(spec, mode)
    tables_equal = T.table == ref
    ver = {"geometry": f"bilinear coefficient tables of T(w)·u and of {what} (generic symbols)",
           "terms": len(T.table), "tables_equal": bool(tables_equal)}
    exprs = None
    ok = tables_equal
    if want_exprs:
        uu = np.array(u, dtype=object)
        ww = np.array(w, dtype=object)
        acc = np.zeros(T.shape[0], dtype=object)
        acc[:] = sympy.Integer(0)
        np.add.at(acc, T.rows, T.coef.astype(object) * ww[T.widx] * uu[T.cols])
        exprs = [sympy.expand(e) for e in acc]
        if T.shape[0] * max(1, len(T.table) // max(T.shape[0], 1)) <= 20000:
            refs = sympy_ref(u, w)
            sym_ok = all(sympy.expand(a - b) == 0 for a, b in zip(exprs, refs))
            ver["values"] = f"sympy: T(w)·u − {what} expands to 0 in every entry"
            ver["sympy_equal"] = bool(sym_ok)
            ok = ok and sym_ok
    ver["seconds"] = round(time.perf_counter() - t0, 4)
    return {"matrix": T, "outputs": exprs, "verified": bool(ok), "verification": ver}


def _structure(spec, mode: str = "zeros") -> str:
    if isinstance(spec, TransposedSpec):
        return f"transpose of the matching convolution's matrix ({_structure(spec.matching())})"
    if spec.padding_mode == "circular":
        return "circulant" if spec.ndim == 1 else "block circulant"
    kind = "Toeplitz" if spec.ndim == 1 else ("doubly block Toeplitz" if spec.ndim == 2 else
                                              f"{spec.ndim}-level block Toeplitz")
    if mode in ("reflect", "replicate"):
        kind += (f" except the {len(rows_touching_padding(spec)) // spec.out_channels} rows per "
                 f"channel whose window meets the {mode} padding (T_valid·R: entries there are "
                 f"sums of taps)")
    if any(s > 1 for s in spec.stride):
        kind += " rows subsampled by the stride"
    if spec.in_channels > 1 or spec.out_channels > 1:
        kind = f"{spec.out_channels}x{spec.in_channels} blocks, each {kind}"
        if spec.groups > 1:
            kind += f", block diagonal over {spec.groups} groups"
    return kind


def _spec_json(spec) -> dict:
    doc = {"input_size": spec.input_size, "kernel_size": spec.kernel_size,
           "in_channels": spec.in_channels, "out_channels": spec.out_channels,
           "groups": spec.groups, "stride": spec.stride, "padding": spec.padding,
           "dilation": spec.dilation}
    if isinstance(spec, TransposedSpec):
        doc["output_padding"] = spec.output_padding
    else:
        doc["convolution"] = spec.convolution
    return doc


def run(args) -> int:
    spec, u, w, _ = build(args)
    n_out, n_in = math.prod(spec.output_shape), math.prod(spec.input_shape)
    small = n_out * n_in <= MAX_PRINT_ENTRIES or args.full
    few = n_out <= MAX_PRINT_OUTPUTS or args.full
    res = derive(spec, u, w, want_exprs=few, mode=args.padding_mode)
    T: _Derived = res["matrix"]
    distinct = len({str(w[i]) for i in np.unique(T.widx)} - {"0"}) if len(T.table) else 0
    dense = T.symbolic(w) if small else None
    summary = {"shape": list(T.shape), "nnz": T.nnz, "distinct_symbols": distinct,
               "structure": _structure(spec, args.padding_mode)}
    describe = spec.describe() + (f", {args.padding_mode} padding"
                                  if args.padding_mode in ("reflect", "replicate") else "")
    if args.format == "json":
        doc = {"op": args.op, "geometry": describe,
               "spec": {**_spec_json(spec), "padding_mode": args.padding_mode},
               "input": [str(v) for v in u], "kernel": [str(v) for v in w],
               "output_shape": list(spec.output_shape),
               "matrix": {**summary, "entries": [[str(dense[i, j]) for j in range(dense.cols)]
                                                 for i in range(dense.rows)] if dense is not None else None},
               "outputs": [str(e) for e in res["outputs"]] if res["outputs"] is not None else None,
               "verified": res["verified"], "verification": res["verification"]}
        print(json.dumps(doc, indent=2))
    elif args.format == "latex":
        print(f"% {describe}")
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
        print(f"{args.op}: {describe}")
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
            print(f"  ({n_out} outputs; --full prints every expression)")
        v = res["verification"]
        checks = ["coefficient tables equal" if v["tables_equal"] else "coefficient tables DIFFER"]
        if "sympy_equal" in v:
            checks.append("sympy expand equal" if v["sympy_equal"] else "sympy expand DIFFERS")
        against = "the sum formula" if not isinstance(spec, TransposedSpec) else "Tᵀ and the gather sum"
        print(f"verified against {against}: {'yes' if res['verified'] else 'NO'} "
              f"({', '.join(checks)}; {v['terms']} terms, {v['seconds']} s)")
    sys.stdout.flush()
    return 0 if res["verified"] else 1
