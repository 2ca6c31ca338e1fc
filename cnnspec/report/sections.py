"""The report's sections, in the lecture's order, and which claims and artifacts belong to each.

A claim goes to a section by its ``section`` field when it has one, else by its stage
(conformance), else by the first rule below whose prefix or word matches its id; what matches
nothing lands in "Other claims", so no result is ever dropped from a page.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    lead: str          # the lecture's statement (plain text, escaped like everything else)
    formula_note: tuple[str, ...]   # what the formulas of :func:`formulas` state, in words
    prefixes: tuple[str, ...]
    stages: tuple[str, ...]   # stages whose results feed it (for "not run" notes)


SECTIONS: tuple[Section, ...] = (
    Section("convolution", "Convolution",
            "Discrete convolution flips the kernel; deep-learning frameworks compute cross-correlation. "
            "Either is a linear map of the input: a matrix T(w) that is Toeplitz in 1-D and doubly block "
            "Toeplitz in 2-D, built from the kernel's weights alone.",
            ("convolution, cross-correlation (the frameworks' conv), the output size, the matrix form",),
            ("conv.", "convolution.", "toeplitz.", "im2col.", "adjoint.", "derive.", "size.", "output."),
            ("spec",)),
    Section("sparse", "Sparse interactions and parameter sharing",
            "Each output reads only k inputs (sparse interactions), and every output position uses the "
            "same k weights (parameter sharing): a convolutional layer stores k weights where a dense "
            "layer between the same sizes stores m·n.",
            ("dense: m · n weights, m · n connections; convolution: k weights, m · k connections (k ≪ n)",),
            ("sparse.", "sharing.", "params.", "parameter.", "connections.", "count."),
            ("spec",)),
    Section("receptive", "Receptive fields",
            "Units in deeper layers are indirectly connected to a larger part of the input: the "
            "receptive field grows with every layer by the kernel's extent times the product of the "
            "strides below it.",
            ("the receptive field after layer l (r₀ = 1)",),
            ("rf.", "receptive.", "field."),
            ("spec", "arch")),
    Section("equivariance", "Equivariance to translation",
            "Convolution commutes with shifts: the feature map of a shifted input is the shifted feature "
            "map (exactly for circular signals, and in the interior away from the borders otherwise). "
            "A linear map is shift-equivariant exactly when its matrix is (block-)circulant.",
            ("T(w) commutes with every cyclic shift exactly when T(w) is circulant",),
            ("equiv.", "equivariance.", "shift.", "circulant.", "translation."),
            ("spec",)),
    Section("pooling", "Pooling and invariance",
            "Pooling summarises a neighbourhood (max or average). It makes the representation "
            "approximately invariant to small translations of the input; average pooling is a "
            "convolution with a constant kernel.",
            ("max pooling over a window of k, stride s; average pooling is a convolution with 1/k",),
            ("pool.", "pooling.", "maxpool.", "avgpool.", "invariance."),
            ("spec",)),
    Section("lenet", "LeNet-5",
            "LeCun et al. (1998): C1–S2–C3–S4–C5–F6–output, 60,000 trainable parameters. The layer "
            "table below is computed from the spec and set beside the paper's figures; the reference "
            "model is trained and then held to the same claims.",
            ("weights and biases of a convolutional layer",),
            ("lenet", "lenet5.", "train.lenet"),
            ("arch", "reference", "training", "post-training")),
    Section("resnet", "ResNet",
            "He et al. (2016): a block learns a residual F and adds its input back; the identity "
            "shortcut gives every layer a direct gradient path, so deep residual nets train where plain "
            "nets of the same depth degrade.",
            ("the residual block and its gradient",),
            ("resnet", "residual.", "plain.", "shortcut.", "train.resnet"),
            ("arch", "reference", "training", "post-training")),
    Section("conformance", "Conformance of implementations",
            "Each implementation is held to the spec: exact-tier data where float arithmetic is exact, "
            "a rigorous error bound elsewhere, and hypothesis searching for a counterexample, which is "
            "shrunk and printed with the command that reproduces it.",
            ("Higham's bound for a sum of K products: |got − exact| ≤ γ_K Σ|x||w|",),
            ("op.", "conformance.", "validate.", "model."),
            ("conformance",)),
    Section("frameworks", "Frameworks × ops",
            "The same calls through every framework's own API (JAX, ONNX Runtime, TensorFlow, tinygrad, "
            "PyTorch), translated by cnnspec's adapters and never corrected, against the exact value: "
            "where a framework follows another convention, the cell names it and carries a snippet in "
            "that framework's API alone.",
            ("each cell: fixed exact-tier cases, bit for bit (an average within γ₂ of the exact quotient)",),
            ("matrix.",), ("frameworks",)),
)
OTHER = Section("other", "Other claims", "Claims that belong to none of the lecture's sections above.",
                (), (), ())
BY_ID = {s.id: s for s in SECTIONS + (OTHER,)}


@lru_cache(maxsize=None)
def formulas(section_id: str) -> tuple[str, ...]:
    """The section's formulas as presentation MathML (``sympy.printing.mathml``), built from sympy
    expressions, so the page shows what sympy reads, not a typed-in picture of it.

    References: Goodfellow, Bengio & Courville, *Deep Learning* (2016), eqs. 9.1–9.4 (convolution,
    cross-correlation); Dumoulin & Visin, "A guide to convolution arithmetic" (2016), relation 15
    (output size); He et al. (2016), eq. 1 (residual block); Higham, *Accuracy and Stability of
    Numerical Algorithms* (2002), §3.1 (γ_n).
    """
    import sympy as sp
    from sympy.printing.mathml import mathml

    n, p, d, k, s, m, t, a, i, l, j = sp.symbols("n p d k s m t a i l j", integer=True)
    u, w, S, r, K = (sp.IndexedBase(x) for x in ("u", "w", "s", "r", "k"))
    F = sp.Function("ℱ")   # the residual mapping (sympy's printer lowercases a plain "F")
    x, y = sp.symbols("x y")
    exprs = {
        "convolution": [sp.Eq(S[t], sp.Sum(u[a] * w[t - a], (a, -sp.oo, sp.oo))),
                        sp.Eq(S[t], sp.Sum(u[t + a] * w[a], (a, 0, k - 1))),
                        sp.Eq(m, sp.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1)],
        # r_l = r_{l-1} + (k_l - 1) j_{l-1}, with the jump j_l = j_{l-1} s_l = Π_{i≤l} s_i (sympy's
        # presentation printer has no Product, so the product is written as its recurrence).
        "receptive": [sp.Eq(r[l], r[l - 1] + (K[l] - 1) * sp.IndexedBase("j")[l - 1]),
                      sp.Eq(sp.IndexedBase("j")[l], sp.IndexedBase("j")[l - 1] * sp.IndexedBase("s")[l])],
        "pooling": [sp.Eq(sp.IndexedBase("y")[t], sp.Max(*[u[t * s + jj] for jj in range(3)]))],
        "lenet": [sp.Eq(sp.Symbol("params"), sp.Symbol("C_out") * (sp.Symbol("C_in") / sp.Symbol("g")
                                                                  * sp.Symbol("k_h") * sp.Symbol("k_w") + 1))],
        "resnet": [sp.Eq(y, F(x) + x), sp.Eq(sp.Derivative(y, x), 1 + sp.Derivative(F(x), x))],
        "conformance": [sp.Le(sp.Abs(sp.Symbol("got") - sp.Symbol("exact")),
                              sp.Symbol("gamma_K") * sp.Sum(sp.Abs(sp.IndexedBase("x")[j] * w[j]), (j, 1, sp.Symbol("K"))))],
    }
    return tuple(f"<math display='block'>{mathml(e, printer='presentation')}</math>"
                 for e in exprs.get(section_id, []))


# Words of a claim id (split at . _ -) that name a section, most specific first: "conv.receptive_field"
# is about receptive fields, "arch.lenet5.params" about LeNet-5, "conv.output_size" about convolution.
_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("lenet", ("lenet",)),
    ("resnet", ("resnet", "residual", "plain", "shortcut", "cifar", "imagenet", "degradation")),
    ("sparse", ("sparse", "sharing", "sparsity")),
    ("receptive", ("receptive", "rf")),
    ("equivariance", ("equivariance", "equivariant", "circulant", "shift", "translation")),
    ("pooling", ("pool", "pooling", "maxpool", "avgpool", "invariance", "invariant")),
    ("conformance", ("conformance", "op", "validate")),
    ("convolution", ("conv", "convolution", "toeplitz", "im2col", "adjoint", "flip", "gradients")),
)


def section_of(claim: dict[str, Any]) -> str:
    """The id of the section a claim entry (report JSON) belongs to."""
    explicit = claim.get("section")
    if explicit in BY_ID:
        return explicit
    if claim.get("stage") == "conformance" or claim.get("subject"):
        return "conformance"
    words = re.split(r"[._\-]+", str(claim.get("id", "")).lower())
    for sid, keys in _WORDS:
        if any(w.startswith(k) if k in ("lenet", "resnet", "plain", "pool") else w == k
               for w in words for k in keys):
            return sid
    text = str(claim.get("statement", "")).lower()
    for word, sid in (("lenet", "lenet"), ("resnet", "resnet"), ("residual", "resnet"),
                      ("pool", "pooling"), ("equivar", "equivariance"), ("receptive", "receptive")):
        if word in text:
            return sid
    return OTHER.id


def subject_name(target: str, op: str | None = None, device: str | None = None,
                 dtype: str | None = None) -> str:
    """How a validated implementation is named on the page: ``target [op, device, dtype]``."""
    extra = ", ".join(str(v) for v in (op, device, dtype) if v)
    return f"{target} [{extra}]" if extra else str(target)


def normalize(report: dict[str, Any]) -> dict[str, Any]:
    """A report whose conformance claims all name their subject, with a ``targets`` entry for each.

    A ``validate`` report (one target, claims without a subject) becomes one target card; other
    reports are returned as they are.
    """
    if report.get("kind") == "train" and isinstance(report.get("metrics"), dict):
        return _normalize_train(report)
    if report.get("kind") not in ("validate-op", "validate-model") or not report.get("target"):
        return report
    env = report.get("environment") or {}
    subject = subject_name(report["target"], report.get("op") or report.get("spec"), env.get("device"),
                           env.get("dtype"))
    claims = [{**c, "subject": c.get("subject") or subject, "stage": c.get("stage") or "conformance"}
              for c in report.get("claims", [])]
    targets = report.get("targets") or [{
        "subject": subject, "target": report["target"], "op": report.get("op"),
        "array": env.get("array") or report.get("array"), "device": env.get("device"),
        "dtype": env.get("dtype"), "seed": env.get("seed"), "reproduce": report.get("reproduce")}]
    return {**report, "claims": claims, "targets": targets}


def _normalize_train(report: dict[str, Any]) -> dict[str, Any]:
    """A ``cnnspec train`` report: its claims go to the model's section, its history becomes curves."""
    m = report["metrics"]
    model = str(m.get("model") or report.get("target") or "")
    section = "lenet" if "lenet" in model else "resnet"
    claims = [{**c, "section": c.get("section") or section} for c in report.get("claims", [])]
    artifacts = list(report.get("artifacts") or [])
    hist = m.get("history") or []
    if hist and not any(a.get("type") == "curves" for a in artifacts):
        recipe = (m.get("recipe") or {}).get("name", "")
        artifacts.append(curves(f"{section}.curves.{model}.{recipe}", section,
                                f"{model} on {(m.get('data') or {}).get('name', 'its data')}, recipe {recipe}",
                                {model: hist}, m.get("target_acc")))
    return {**report, "claims": claims, "artifacts": artifacts}


def curves(aid: str, section: str, title: str, runs: dict[str, list[dict]], target: float | None) -> dict:
    """Training curves (test accuracy and training loss per epoch) of one or more runs."""
    def series(key: str) -> list[dict]:
        return [{"label": k, "x": [h["epoch"] for h in v], "y": [h.get(key) for h in v]} for k, v in runs.items()]

    return {"id": aid, "section": section, "type": "curves", "title": title,
            "charts": [{"title": "test accuracy", "xlabel": "epoch", "ylabel": "accuracy",
                        "series": series("test_acc"),
                        "hline": [target, f"target {target:.0%}"] if target else None},
                       {"title": "training loss", "xlabel": "epoch", "ylabel": "cross-entropy",
                        "series": series("train_loss")}],
            "caption": title + ": test accuracy and training loss per evaluation."}
