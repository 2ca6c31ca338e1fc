"""The lecture's statements about pooling, as registered claims with checks (group ``spec``).

The lecture: pooling "summarizes the input" ("each unit outputs a max, or similar function, of a
subset of the units"), and its advantage is to "induce invariance". Goodfellow, Bengio & Courville,
*Deep Learning* (2016), §9.3, make it precise: max pooling is invariant to small translations only
approximately (fig. 9.8: a one-pixel shift changes every input of a pool but only some outputs),
and pooling over a whole map is the exact case. Each check decides its statement on the spec's own
pooling (:func:`cnnspec.spec.pooling.pool_reduce`, window geometry from torch's rules), with sympy
where the statement is an identity and exhaustive enumeration where it is about finitely many
cases; each takes its ingredients as keyword arguments so a test can feed a broken one.
"""
from __future__ import annotations

import itertools
import math
from fractions import Fraction
from typing import Callable, Sequence

import numpy as np
import sympy

from ..claims import Outcome, claim
from .convolution import ConvSpec
from .pooling import (adaptive_windows, avg_divisors, circular_windows, max_with_indices,
                      one_pixel_shift_changes, pool_geometry, pool_reduce, unpool_scatter,
                      window_taps)
from .toeplitz import ConvMatrix

LECTURE = "CNN lecture"
GOODFELLOW = "Goodfellow, Bengio & Courville, Deep Learning (2016)"

# Non-overlapping windows (stride = kernel): 1-D, 2-D with a partial last window, 3-D.
DISJOINT = [((6,), (2,)), ((7,), (3,)), ((4, 6), (2, 3)), ((5, 4), (2, 2)), ((2, 2, 4), (2, 1, 2))]


def _symbols(n: int, prefix: str = "u") -> list[sympy.Symbol]:
    return list(sympy.symbols(f"{prefix}0:{n}", real=True))


def _max(v):
    # unevaluated: sympy keeps Max's arguments as a set (max is a symmetric function of them), which
    # is what these claims compare; evaluating would only try to order symbols, 100x slower
    return sympy.Max(*v, evaluate=False)


# --- max pooling: order inside a window, monotone maps ---------------------------------------------

@claim("pool.max.window_permutation",
       "Max pooling summarizes each window by its maximum, so it is invariant to every permutation "
       "of the entries within each window (non-overlapping windows, 1-D, 2-D and 3-D).",
       f"{LECTURE}, 'Pooling: summarizing the input'; {GOODFELLOW} §9.3", "symbolic")
def check_window_permutation(configs: Sequence = DISJOINT, reduce: Callable = _max) -> Outcome:
    # Adjacent transpositions inside each window generate the whole group Π S_|W| of within-window
    # permutations, so invariance under them is invariance under every such permutation.
    n_gen, group = 0, 1
    for size, k in configs:
        geo = pool_geometry(size, k)
        u = _symbols(int(np.prod(size)))
        base = pool_reduce(u, size, geo, reduce)
        flat, valid, _ = window_taps(size, geo)
        for taps, keep in zip(flat.reshape(-1, flat.shape[-1]), valid.reshape(-1, flat.shape[-1])):
            w = [int(t) for t in taps[keep]]
            group *= math.factorial(len(w))
            for a, b in zip(w, w[1:]):
                v = list(u)
                v[a], v[b] = v[b], v[a]
                n_gen += 1
                got = pool_reduce(v, size, geo, reduce)
                if got != base:
                    i = next(i for i, (p, q) in enumerate(zip(got, base)) if p != q)
                    return Outcome(False, f"out[{i}]={got[i]} after swapping u{a} and u{b} (one window), "
                                          f"but should be {base[i]} [size {size}, kernel {k}]",
                                   counterexample={"args": {"size": size, "kernel": k, "swap": [a, b]},
                                                   "expected": str(base[i]), "got": str(got[i])})
    return Outcome(True, f"invariant under {n_gen} generating transpositions, hence under every one of "
                         f"the {group:,} within-window permutations of {len(configs)} geometries",
                   {"generators": n_gen, "permutations": group}, examples=n_gen)


def _nondecreasing_maps(q: int):
    """Every nondecreasing map {0..q−1} → {0..q−1}, as a lookup table."""
    for c in itertools.combinations_with_replacement(range(q), q):
        yield np.array(c)


@claim("pool.max.monotone",
       "Max pooling commutes with every nondecreasing map f applied entrywise: maxpool(f(x)) = "
       "f(maxpool(x)), e.g. maxpool(relu(x)) = relu(maxpool(x)); a map that is not nondecreasing "
       "breaks it.",
       f"{LECTURE}, 'Pooling'; {GOODFELLOW} §9.3", "exact")
def check_monotone(reduce: Callable = lambda v: np.max(v, axis=-1), q: int = 4) -> Outcome:
    # f(max W) >= f(w) for all w in W and f(max W) is attained, so f(max W) = max f(W). The check
    # covers every nondecreasing map of a q-element chain and every input of overlapping windows.
    size, geo = (5,), pool_geometry((5,), 2, 1)
    flat, valid, _ = window_taps(size, geo)
    xs = np.array(list(itertools.product(range(q), repeat=5)))
    pool = lambda x: reduce(x[..., flat])  # noqa: E731
    n = 0
    for f in _nondecreasing_maps(q):
        px = pool(xs)
        if not np.issubdtype(px.dtype, np.integer) or px.min() < 0 or px.max() >= q:
            bad = int(np.argmax(np.any((px < 0) | (px >= q) | (px != np.round(px)), axis=-1)))
            return Outcome(False, f"pooling x = {xs[bad].tolist()} gives {px[bad].tolist()}, outside the "
                                  f"entries {{0..{q - 1}}}, but a maximum is one of the entries")
        lhs, rhs = pool(f[xs]), f[px]
        if not np.array_equal(lhs, rhs):
            bad = int(np.argmax(np.any(lhs != rhs, axis=-1)))
            return Outcome(False, f"maxpool(f(x)) = {lhs[bad].tolist()} for f = {f.tolist()}, "
                                  f"x = {xs[bad].tolist()}, but should be f(maxpool(x)) = "
                                  f"{rhs[bad].tolist()}",
                           counterexample={"args": {"f": f.tolist(), "x": xs[bad].tolist()}})
        n += len(xs)
    relu_x = np.array(list(itertools.product(range(-3, 4), repeat=5)))
    if not np.array_equal(pool(np.maximum(relu_x, 0)), np.maximum(pool(relu_x), 0)):
        return Outcome(False, "maxpool(relu(x)) differs from relu(maxpool(x))")
    neg = next(x for x in relu_x if not np.array_equal(pool(-x), -pool(x)))   # f(x) = −x
    return Outcome(True, f"{n:,} (map, input) pairs over all {math.comb(2 * q - 1, q)} nondecreasing "
                         f"maps of {{0..{q - 1}}} and relu on {len(relu_x):,} inputs; f(x) = −x fails "
                         f"at x = {neg.tolist()}",
                   {"maps": math.comb(2 * q - 1, q), "non_monotone_counterexample": neg.tolist()},
                   examples=n + len(relu_x))


# --- invariance and equivariance to shifts --------------------------------------------------------

@claim("pool.global.circular_shift",
       "Pooling over the whole map induces exact invariance: global max and global average pooling "
       "are unchanged by every circular shift of the input (1-D, 2-D, 3-D).",
       f"{LECTURE}, 'Pooling: induce invariance'; {GOODFELLOW} §9.3", "symbolic")
def check_global_shift(sizes: Sequence = ((5,), (3, 4), (2, 2, 3)),
                       reduces: dict | None = None) -> Outcome:
    reduces = reduces or {"max": _max, "average": lambda v: sympy.Add(*v) / len(v)}
    n = 0
    for size in sizes:
        u = np.array(_symbols(int(np.prod(size))), dtype=object).reshape(size)
        for name, red in reduces.items():
            base = red(list(u.flat))
            for t in itertools.product(*(range(s) for s in size)):
                got = red(list(np.roll(u, t, axis=tuple(range(len(size)))).flat))
                n += 1
                if got != base:
                    return Outcome(False, f"global {name} pooling after the circular shift {t} is {got}, "
                                          f"but should be {base} [size {size}]",
                                   counterexample={"args": {"size": size, "shift": t, "pool": name}})
    return Outcome(True, f"global max and average unchanged by all {n // 2} circular shifts of "
                         f"{len(sizes)} symbolic inputs", {"shifts": n // 2}, examples=n)


@claim("pool.stride.circular_equivariance",
       "Stride-s pooling of a circularly padded input is equivariant to shifts by multiples of s "
       "(shifting the input by s·t shifts the output by t), and to no other shift.",
       f"{LECTURE}, 'Pooling: induce invariance'; {GOODFELLOW} §9.3, §9.4", "symbolic")
def check_circular_stride(configs: Sequence = (((8,), (3,), (2,)), ((6,), (2,), (3,)),
                                                ((4, 6), (2, 3), (2, 2))),
                          windows: Callable = circular_windows) -> Outcome:
    ev = []
    for size, k, s in configs:
        nd, N = len(size), int(np.prod(size))
        u = np.array(_symbols(N), dtype=object)
        W = windows(size, k, s)
        m = tuple(n // si for n, si in zip(size, s))
        pool = lambda v: np.array([_max(list(v[w])) for w in W], dtype=object).reshape(m)  # noqa: E731
        base = pool(u)
        for t in itertools.product(*(range(n) for n in size)):
            shifted = pool(np.roll(u.reshape(size), t, axis=tuple(range(nd))).reshape(-1))
            hits = [q for q in itertools.product(*(range(mi) for mi in m))
                    if np.all(np.roll(base, q, axis=tuple(range(nd))) == shifted)]
            want = [tuple(ti // si for ti, si in zip(t, s))] if all(ti % si == 0 for ti, si in zip(t, s)) else []
            if hits != want:
                return Outcome(False, f"shift {t}: the pooled output is the input's pooling shifted by "
                                      f"{hits}, but should be {want} [size {size}, kernel {k}, stride {s}]",
                               {"cases": ev}, counterexample={"args": {"size": size, "kernel": k,
                                                                       "stride": s, "shift": t}})
        ev.append({"size": size, "kernel": k, "stride": s, "shifts": N})
    return Outcome(True, f"every shift of {len(configs)} geometries: equivariant exactly for the "
                         f"multiples of the stride", {"cases": ev}, examples=sum(c["shifts"] for c in ev))


def transfer_count(n: int, q: int, k: int = 2) -> int:
    """How many x in {0..q−1}^n keep their k-wide, stride-k circular max pooling under a one-pixel
    circular shift, by a transfer matrix over the windows (independent of enumeration): window i's
    condition max(x_{ki..ki+k−1}) = max(x_{ki−1..ki+k−2}) couples it to the previous window's last entry."""
    blocks = list(itertools.product(range(q), repeat=k))
    M = np.array([[int(max(b) == max((a[-1],) + b[:-1])) for b in blocks] for a in blocks], dtype=object)
    P = np.identity(len(blocks), dtype=object)
    for _ in range(n // k):
        P = P.dot(M)
    return int(np.trace(P))


@claim("pool.max.one_pixel_shift",
       "Max pooling is invariant to a one-pixel shift only approximately: the smallest counterexample "
       "(2-wide, stride-2 pooling of a circular binary signal) is x = [0, 0, 0, 1], and the exact "
       "fraction of uniformly random inputs whose pooled output is unchanged shrinks with the size.",
       f"{LECTURE}, 'Pooling: induce invariance' (figure); {GOODFELLOW} §9.3, fig. 9.8", "exact")
def check_one_pixel(sizes: Sequence[int] = (4, 6, 8, 10, 12), values: Sequence[int] = (2, 3),
                    changes: Callable = one_pixel_shift_changes, count: Callable = transfer_count) -> Outcome:
    cex = None
    for n in range(2, 9, 2):                      # the smallest counterexample, by size then value
        xs = np.array(list(itertools.product((0, 1), repeat=n)))
        bad = changes(xs, 2)
        if bad.any():
            cex = xs[int(np.argmax(bad))].tolist()
            break
    if cex != [0, 0, 0, 1]:
        return Outcome(False, f"the smallest counterexample is {cex}, but should be [0, 0, 0, 1]")
    fractions = {}
    for q in values:
        for n in sizes:
            if q ** n > 2 ** 20:
                continue
            xs = np.array(list(itertools.product(range(q), repeat=n)))
            kept = int(np.sum(~changes(xs, 2)))
            if kept != count(n, q):
                return Outcome(False, f"q={q}, n={n}: enumeration keeps {kept} inputs, but the transfer "
                                      f"matrix counts {count(n, q)}")
            fractions[f"q={q},n={n}"] = str(Fraction(kept, q ** n))
    large = {f"q=2,n={n}": str(Fraction(count(n, 2), 2 ** n)) for n in (16, 32, 64)}
    return Outcome(True, f"smallest counterexample x = {cex} (pooled [0, 1], shifted [1, 0]); unchanged "
                         f"fraction for fair bits: " + ", ".join(f"{k}: {v}" for k, v in fractions.items()
                                                                 if k.startswith("q=2"))
                   + f"; by the transfer matrix {large}",
                   {"counterexample": cex, "fractions": fractions, "large": large},
                   examples=len(fractions), counterexample={"args": {"x": cex, "kernel": 2, "stride": 2}})


# --- average pooling is a convolution; adaptive pooling; Lp pooling -------------------------------

AVG_CONFIGS = [
    dict(size=(6,), kernel_size=3, stride=2, padding=1, ceil_mode=True),    # overhang: [5, 8)
    dict(size=(5, 6), kernel_size=(2, 3), stride=(2, 2), padding=(1, 1), ceil_mode=True),
    dict(size=(6, 6), kernel_size=(3, 3), stride=(1, 2), padding=(1, 0)),
    dict(size=(3, 4, 5), kernel_size=(2, 2, 3), stride=(1, 2, 2), padding=(1, 1, 1), ceil_mode=True),
    dict(size=(9,), kernel_size=2, stride=1, padding=[(3, 2)], dilation=2, torch_limits=False),
]


def window_mean(u: np.ndarray, size, geo, count_include_pad: bool, override) -> list[Fraction]:
    """The definition, output by output: the real taps' sum over the count of taps inside the padded
    box (``count_include_pad``) or on real entries, or over ``divisor_override``."""
    lo_hi = geo.pad_pairs
    out = []
    for o in itertools.product(*(range(m) for m in geo.output_size)):
        total, inside, real = 0, 0, 0
        for j in itertools.product(*(range(k) for k in geo.kernel)):
            c = [oi * s - lo + ji * d for oi, ji, s, (lo, _), d in zip(o, j, geo.stride, lo_hi, geo.dilation)]
            inside += all(-lo <= ci < n + hi for ci, n, (lo, hi) in zip(c, size, lo_hi))
            if all(0 <= ci < n for ci, n in zip(c, size)):
                real += 1
                total += int(u[np.ravel_multi_index(c, size)])
        d = override or (inside if count_include_pad else real)
        out.append(Fraction(total, d) if d else None)
    return out


@claim("pool.avg.uniform_conv",
       "Average pooling is a convolution with the uniform kernel 1/|window|: D⁻¹·T(1)·u, T(1) the "
       "all-ones (depthwise) convolution matrix and D the divisors (Πk with count_include_pad and no "
       "ceil overhang; the window clipped to the padded or the real input otherwise; divisor_override).",
       f"{LECTURE}, 'Pooling'; {GOODFELLOW} §9.3; PyTorch AvgPool2d documentation", "exact")
def check_avg_conv(configs: Sequence[dict] = AVG_CONFIGS, divisors: Callable = avg_divisors) -> Outcome:
    rng = np.random.default_rng(0)
    n = 0
    for cfg in configs:
        cfg = dict(cfg)
        size = cfg.pop("size")
        geo = pool_geometry(size, **cfg)
        spec = ConvSpec.make(size, geo.kernel, stride=geo.stride, padding=list(geo.pads),
                             dilation=geo.dilation)
        T = ConvMatrix(spec).numeric(np.ones(spec.n_weights, np.int64))
        u = rng.integers(-9, 10, int(np.prod(size)))
        for cip, override in ((True, None), (False, None), (True, 7)):
            # an empty window (pads over half the kernel, count_include_pad=False) has no mean: None
            got = [Fraction(int(v), int(d)) if d else None
                   for v, d in zip(T @ u, divisors(size, geo, cip, override).ravel())]
            want = window_mean(u, size, geo, cip, override)
            n += 1
            if got != want:
                i = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)
                return Outcome(False, f"out[{i}]={got[i]} from the uniform-kernel convolution, but "
                                      f"should be {want[i]} (the window mean) [size {size}, {cfg}, "
                                      f"count_include_pad={cip}, divisor_override={override}]",
                               counterexample={"args": {"size": size, **cfg, "count_include_pad": cip}})
    return Outcome(True, f"D⁻¹·T(1)·u equals the window means exactly on {n} cases (1-D, 2-D, 3-D; "
                         f"ceil overhang, dilation, (lo, hi) pads, divisor_override)", examples=n)


@claim("pool.adaptive.divides",
       "Adaptive pooling to m outputs uses windows [⌊i·n/m⌋, ⌈(i+1)·n/m⌉); when m divides n these are "
       "the windows of pooling with kernel_size = stride = n/m, so adaptive average (max) pooling "
       "equals average (max) pooling there.",
       "PyTorch AdaptiveAvgPool2d documentation and aten/src/ATen/native/AdaptivePooling.h", "exact")
def check_adaptive(max_n: int = 24, windows: Callable = adaptive_windows) -> Outcome:
    n_cases, other = 0, 0
    for n in range(1, max_n + 1):
        for m in range(1, n + 1):
            start, end = windows(n, m)
            if n % m == 0:
                k = n // m
                geo = pool_geometry((n,), k)
                flat, _, _ = window_taps((n,), geo)
                if not (np.array_equal(start, flat[:, 0]) and np.array_equal(end, flat[:, -1] + 1)):
                    return Outcome(False, f"n={n}, m={m}: adaptive windows {list(zip(start, end))}, but "
                                          f"should be those of kernel_size = stride = {k}")
                n_cases += 1
            elif len(set((end - start).tolist())) > 1:
                other += 1
    return Outcome(True, f"{n_cases} (n, m) with m | n, n ≤ {max_n}: windows equal; of the others, "
                         f"{other} have windows of unequal sizes (no fixed kernel reproduces them)",
                   {"dividing": n_cases, "unequal_sizes": other}, examples=n_cases)


def p_norm(x: np.ndarray, p: int) -> np.ndarray:
    """``(Σ x^p)^(1/p)`` over the last axis: the Lp pooling of a window (nonnegative data)."""
    return np.sum(x.astype(object) ** p, axis=-1)


@claim("pool.lp.to_max",
       "Lp pooling tends to max pooling as p grows: for a window of K nonnegative entries "
       "max ≤ ‖x‖_q ≤ ‖x‖_p ≤ K^(1/p)·max for p ≤ q, and K^(1/p) → 1.",
       f"{GOODFELLOW} §9.3 (L2 norm pooling); Boureau, Ponce & LeCun (ICML 2010)", "exact")
def check_lp(K: int = 4, q: int = 4, powers: Sequence[int] = tuple(range(1, 9)),
             power_sum: Callable = p_norm) -> Outcome:
    xs = np.array(list(itertools.product(range(q), repeat=K)), dtype=object)
    mx = xs.max(axis=1)
    n = 0
    for p in powers:
        S = power_sum(xs, p)                       # exact integers: compare p-th powers
        if not (np.all(mx ** p <= S) and np.all(S <= K * mx ** p)):
            bad = int(np.argmax(~((mx ** p <= S) & (S <= K * mx ** p))))
            return Outcome(False, f"p={p}, x={xs[bad].tolist()}: Σx^p = {S[bad]}, but should lie in "
                                  f"[max^p, K·max^p] = [{mx[bad] ** p}, {K * mx[bad] ** p}]")
        for r in powers:
            if r > p:
                Sr = power_sum(xs, r)              # ‖x‖_r ≤ ‖x‖_p ⟺ (Σx^r)^p ≤ (Σx^p)^r
                if not np.all(Sr ** p <= S ** r):
                    return Outcome(False, f"‖x‖_{r} > ‖x‖_{p} for some x")
        n += len(xs)
    gaps = {p: float(K ** (1 / p) - 1) for p in (1, 2, 4, 8, 16, 64)}
    return Outcome(True, f"the chain holds exactly on all {len(xs)} windows of {K} entries in {{0..{q - 1}}} "
                         f"for p = {min(powers)}..{max(powers)}; K^(1/p) − 1 = "
                         + ", ".join(f"{v:.3g} (p={p})" for p, v in gaps.items()),
                   {"gap": gaps}, examples=n)


# --- unpooling ------------------------------------------------------------------------------------

def _small_inputs(size, vals=(-1, 0, 1)) -> np.ndarray:
    return np.array(list(itertools.product(vals, repeat=int(np.prod(size)))), dtype=np.float64)


@claim("pool.unpool.inverse",
       "max_unpool(max_pool(x)) keeps each window's maximum at its position (the first maximum) and "
       "is zero elsewhere; pooling it again gives max_pool(x) back exactly when no window's maximum "
       "is negative.",
       "PyTorch MaxUnpool2d documentation; Badrinarayanan et al., SegNet (2017) §3", "exact")
def check_unpool_inverse(configs: Sequence = (((4,), 2), ((6,), 3), ((2, 4), 2), ((3, 3), (1, 3))),
                         unpool: Callable = unpool_scatter) -> Outcome:
    n, cex = 0, None
    for size, k in configs:
        geo = pool_geometry(size, k)
        plane = int(np.prod(size))
        xs = _small_inputs(size)
        vals, idx = max_with_indices(xs, size, geo)
        U = unpool(vals, idx, plane)
        keep = np.zeros(xs.shape, bool)
        np.put_along_axis(keep, idx, True, axis=1)
        if not np.array_equal(U, np.where(keep, xs, 0)):
            bad = int(np.argmax(np.any(U != np.where(keep, xs, 0), axis=1)))
            return Outcome(False, f"unpool(pool(x)) = {U[bad].tolist()} for x = {xs[bad].tolist()}, but "
                                  f"should be {np.where(keep, xs, 0)[bad].tolist()} [size {size}]")
        again = max_with_indices(U, size, geo)[0]
        same = np.all(again == vals, axis=1)
        nonneg = np.all(vals >= 0, axis=1)
        if not np.array_equal(same, nonneg | (np.prod(geo.kernel) == 1)):
            return Outcome(False, f"pool(unpool(pool(x))) = pool(x) does not hold exactly when every "
                                  f"window max is >= 0 [size {size}]")
        if cex is None and not same.all():
            b = int(np.argmax(~same))
            cex = {"size": size, "kernel": k, "x": xs[b].tolist(), "pool": vals[b].tolist(),
                   "pool_unpool_pool": again[b].tolist()}
        n += len(xs)
    return Outcome(True, f"{n:,} inputs in {{-1, 0, 1}}: unpool(pool(x)) is x on the chosen indices, 0 "
                         f"elsewhere; pool∘unpool∘pool = pool iff no window max is negative, e.g. "
                         f"x = {cex['x']} pools to {cex['pool']} but back to {cex['pool_unpool_pool']}",
                   {"negative_max_counterexample": cex}, examples=n, counterexample={"args": cex})


@claim("pool.unpool.adjoint",
       "For fixed indices I, pooling with indices is the linear gather G_I (y = x[I]) and its adjoint "
       "G_Iᵀ is the scatter-add (max pooling's backward); max_unpool equals G_Iᵀ, ⟨G_I x, v⟩ = "
       "⟨x, unpool_I(v)⟩, exactly when the indices are distinct; overlapping windows sharing a "
       "maximum break it.",
       f"{GOODFELLOW} §9.5 (back-propagation through pooling); PyTorch MaxUnpool2d documentation",
       "symbolic")
def check_unpool_adjoint(configs: Sequence = (((4,), 2, 2, [3, 1, 0, 2]),
                                                ((2, 4), 2, 2, [5, 1, 0, 7, 2, 3, 6, 4]),
                                                ((5,), 3, 1, [0, 1, 4, 2, 3]),
                                                ((5,), 3, 1, [0, 3, 1, 4, 2])),
                         unpool: Callable = unpool_scatter) -> Outcome:
    ev = []
    for size, k, s, x in configs:
        geo = pool_geometry(size, k, s)
        N = int(np.prod(size))
        _, idx = max_with_indices(np.array(x, np.float64), size, geo)
        M = len(idx)
        G = sympy.zeros(M, N)
        for r, i in enumerate(idx):
            G[r, int(i)] = 1
        U = sympy.Matrix(np.stack([unpool(np.eye(M)[r], idx, N) for r in range(M)], axis=1).astype(int))
        xs, vs = sympy.Matrix(_symbols(N, "x")), sympy.Matrix(_symbols(M, "v"))
        adjoint = sympy.expand((G * xs).dot(vs) - xs.dot(U * vs)) == 0
        distinct = len(set(idx.tolist())) == M
        if adjoint != distinct:
            return Outcome(False, f"⟨G x, v⟩ = ⟨x, unpool(v)⟩ is {adjoint} but the indices "
                                  f"{idx.tolist()} are {'distinct' if distinct else 'repeated'} "
                                  f"[size {size}, kernel {k}, stride {s}]", {"cases": ev})
        ev.append({"size": size, "kernel": k, "stride": s, "x": x, "indices": idx.tolist(),
                   "adjoint": adjoint})
    return Outcome(True, "unpool = G_Iᵀ with distinct indices; with repeated ones it is not: "
                         + "; ".join(f"x = {c['x']} (kernel {c['kernel']}, stride {c['stride']}) has "
                                     f"indices {c['indices']}" for c in ev if not c["adjoint"]),
                   {"cases": ev}, examples=len(ev))
