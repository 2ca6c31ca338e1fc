"""The stages of ``cnnspec verify`` and the job that runs them, every claim into one report.

The job is a list of :class:`Stage`\\ s, run in order. Each stage produces
:class:`~cnnspec.claims.ClaimResult`\\ s and *artifacts* (figures and tables, as JSON data that
:mod:`cnnspec.report.html` draws). A stage whose part is not installed is reported as skipped with
the reason; a stage that raises becomes one ``error`` result; neither stops the run. Stages may hand
objects to later ones through :attr:`RunContext.shared` (the trained models, for post-training checks).

Modes: ``quick`` (the default: a training schedule that still reaches LeNet-5 ≥ 90 % on
Fashion-MNIST, the whole run at most ten minutes on two CPU cores) and ``full`` (every recipe, more
examples per property).
"""
from __future__ import annotations

import importlib
import importlib.util
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Protocol

from .claims import ClaimResult, count_statuses, run_claim, select
from .devices import devices_for
from .errors import UsageError
from .report.schema import build_report, environment

MODES = ("quick", "full")


@dataclass
class StageOutput:
    results: list[ClaimResult] = field(default_factory=list)
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    # Per result (same order): extra fields for its report entry, e.g. {"subject": ...}.
    tags: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    # Top-level report sections the stage adds (the frameworks stage: {"matrix": {...}}).
    sections: dict[str, Any] = field(default_factory=dict)

    def add(self, results: list[ClaimResult], **tag: Any) -> None:
        self.results += results
        self.tags += [dict(tag) for _ in results]


class ProgressSink(Protocol):
    """Where the job says what runs (the command layer prints it; see ``commands/verify.py``)."""

    tty: bool

    def start(self, index: int, name: str, title: str) -> None: ...
    def step(self, message: str) -> None: ...
    def finish(self, name: str, status: str, counts: dict[str, int], seconds: float, reason: str = "") -> None: ...


@dataclass
class RunContext:
    """What every stage of one run sees: the options, the progress sink, objects handed on."""

    mode: str = "quick"
    seed: int = 0
    device: str = "auto"
    data: str | None = None
    workdir: Path | None = None
    progress: ProgressSink | None = None
    claims: list[str] | None = None   # id patterns (``conv.*``) that narrow every stage
    targets: list[tuple[str, str, str]] = field(default_factory=list)  # extra (target, op, array)
    targets_only: bool = False        # conformance of ``targets`` alone, not of torch's ops
    frameworks: list[str] | None = None       # the frameworks stage: these (None: every known one)
    framework_ops: list[str] | None = None    # ... over these ops (None: each framework's every op)
    jobs: int = 2                             # worker processes at a time in the frameworks stage
    shared: dict[str, Any] = field(default_factory=dict)

    def wanted(self, cid: str) -> bool:
        return self.claims is None or any(cid.startswith(p[:-1]) if p.endswith("*") else cid == p
                                          for p in self.claims)

    def step(self, message: str) -> None:
        if self.progress:
            self.progress.step(message)

    @property
    def full(self) -> bool:
        return self.mode == "full"

    def devices(self) -> list[str]:
        """Devices to run on: CPU always, CUDA too when present (``--device`` narrows it)."""
        return devices_for(self.device)


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    part: str                      # who provides it, for "skipped: <part> not installed"
    needs: tuple[str, ...]         # modules that must be importable
    run: Callable[[RunContext], StageOutput]


# --- the stages -----------------------------------------------------------------------------------

def _run_group(ctx: RunContext, group: str, out: StageOutput) -> None:
    claims = [c for c in select(groups=[group]) if ctx.wanted(c.id)]
    for i, c in enumerate(claims):
        ctx.step(f"{c.id} ({i + 1}/{len(claims)})")
        out.add([run_claim(c)])


def stage_spec(ctx: RunContext) -> StageOutput:
    from .report import lecture

    out = StageOutput()
    _run_group(ctx, "spec", out)
    ctx.step("lecture figures")
    out.artifacts += lecture.spec_artifacts(ctx.seed)
    if not out.results:
        out.note = "no spec claims are registered"
    return out




def stage_conformance(ctx: RunContext) -> StageOutput:
    from .conformance import NOT_IN_TORCH, OPS
    from .conformance.runner import claims_for, validate_op
    from .report.sections import subject_name

    out = StageOutput()
    examples = 200 if ctx.full else None   # None: the runner's default (40 per property)
    jobs = [] if ctx.targets_only else [(f"torch.nn.functional:{op}", op, "torch", device)
                                        for device in ctx.devices() for op in OPS if op not in NOT_IN_TORCH]
    # torch has no ConvInteger / QLinearConv: the project's NumPy implementation of the ONNX
    # semantics (integer arithmetic, written apart from the oracle) stands in for them
    jobs += [] if ctx.targets_only else [(f"cnnspec.conformance.shims.numpy_ops:{op}", op, "numpy", "cpu")
                                         for op in NOT_IN_TORCH]
    jobs += [(target, op, array, "cpu") for target, op, array in ctx.targets]
    for target, op, array, device in jobs:
        subject = subject_name(target, op, device, "float32")
        ids = [c for c in claims_for(op, array) if ctx.wanted(c)]
        if not ids:
            continue
        ctx.step(subject)
        try:
            results, info = validate_op(target, op, array=array, device=device, dtype="float32",
                                        examples=examples, seed=ctx.seed, timeout=120.0, claims=ids,
                                        progress=lambda msg, s=subject: ctx.step(f"{s}: {' '.join(msg.split()[:2])}"))
        except UsageError as e:   # a target that cannot be imported: its card says so, the run goes on
            results, info = [ClaimResult(f"conformance.{op}.import", f"{target} can be imported and called",
                                         "docs/calling-convention.md", "exact", "error", str(e),
                                         group="conformance")], {}
        out.add(results, subject=subject)
        repro = (f"cnnspec validate {target} --op {op} --array {array} --device {device} "
                 f"--dtype float32 --seed {ctx.seed}" + (f" --examples {examples}" if examples else ""))
        out.targets.append({"subject": subject, "target": target, "op": op, "array": array,
                            "device": device, "dtype": "float32", "seed": ctx.seed,
                            "examples": info.get("examples", examples), "reproduce": repro})
    return out


def stage_frameworks(ctx: RunContext) -> StageOutput:
    """The cross-framework matrix (:func:`cnnspec.adapters.matrix.run_matrix`) at float32: one
    claim per framework × op cell (``matrix.<framework>.<op>.float32``) and the whole document as
    the report's ``matrix`` section, which the page draws as a framework × op table."""
    from .adapters.matrix import run_matrix
    from .report.matrix import claim_id

    out = StageOutput()
    doc = run_matrix(ctx.frameworks, ctx.framework_ops, ("float32",), device="cpu", jobs=ctx.jobs,
                     progress=ctx.step)
    versions = {f["name"]: f for f in doc["frameworks"]}
    for cell in doc["cells"]:
        cid = claim_id(cell)
        if not ctx.wanted(cid):
            continue
        out.add([_matrix_claim(cell, versions[cell["framework"]])], section="frameworks",
                subject=f"{cell['framework']} {versions[cell['framework']]['version'] or ''}".strip())
    out.sections["matrix"] = doc
    missing = [f["name"] for f in doc["frameworks"] if not f["installed"]]
    out.note = f"{len(doc['cells'])} cells" + (f"; not installed: {', '.join(missing)}" if missing else "")
    return out


def _matrix_claim(cell: dict, fw: dict) -> ClaimResult:
    """One matrix cell as a claim: pass (bit for bit, or an average within its bound), fail with
    the diagnosis and the native snippet, skipped with the reason."""
    from .adapters import TITLES
    from .report.matrix import CLAIM_STATUS, LABELS, claim_id

    title = TITLES.get(cell["framework"], cell["framework"])
    cases = [{k: r.get(k) for k in ("case", "status", "message", "kwargs", "reference")} for r in cell["cases"]]
    status = CLAIM_STATUS.get(cell["status"], "error")
    failing = [r for r in cell["cases"] if r.get("status") == "fail"]
    if status == "fail":
        message = cell.get("diagnosis") or (failing[0]["message"] if failing else "a case fails")
    elif status == "skipped":
        message = cell.get("reason") or "skipped"
    else:
        message = f"{LABELS[cell['status']][0]}: {len(cell['cases'])} cases" + \
            (f" ({cell['reason']})" if cell.get("reason") else "")
    cx = None
    if failing:
        first = failing[0]
        cx = {"line": first.get("message"), "diagnosis": cell.get("diagnosis"), "python": first.get("snippet"),
              "command": f"cnnspec matrix {cell['framework']} --ops {cell['op']} --dtypes {cell['dtype']} --confirm"}
    return ClaimResult(claim_id(cell), f"{title}'s {cell['op']} ({cell['dtype']}), called through cnnspec's "
                       f"adapter, equals the exact value on the matrix's exact-tier cases",
                       "docs/calling-convention.md (the torch.nn.functional convention); the framework's own API "
                       "documentation, cited in cnnspec.adapters", "exact", status, message,
                       evidence={"framework": cell["framework"], "version": fw.get("version"), "op": cell["op"],
                                 "dtype": cell["dtype"], "matrix_status": cell["status"], "cases": cases},
                       examples=len(cell["cases"]), counterexample=cx, seconds=float(cell.get("seconds") or 0.0),
                       group="frameworks")


def stage_arch(ctx: RunContext) -> StageOutput:
    from .report import lecture

    out = StageOutput()
    _run_group(ctx, "arch", out)
    ctx.step("layer tables")
    out.artifacts += lecture.arch_artifacts()
    return out


def stage_reference(ctx: RunContext) -> StageOutput:
    out = StageOutput()
    _run_group(ctx, "reference", out)
    return out


from .networks.training import TARGET_CLAIM  # made by the training stage from the metrics, not registered
# Fashion-MNIST's classes (Xiao, Rasul & Vollgraf 2017, Table 1); any other data set shows indices.
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                   "Bag", "Ankle boot")
# What each mode trains: (model, recipe) runs and the plain-vs-residual pair (He et al. 2016 Fig. 6).
QUICK_RUNS = (("lenet5", "lenet5-quick"),)
DEGRADATION = (("plain20", "degradation-cpu"), ("resnet20", "degradation-cpu"))


def training_plan(mode: str, cuda: bool = False) -> list[tuple[str, str]]:
    """``(model, recipe)`` pairs. quick: LeNet-5's quick recipe, and the plain-vs-residual pair
    where a GPU makes it cheap (on two CPU cores the pair alone takes longer than the whole quick
    budget); full: every recipe of :data:`reference.train.RECIPES` (one without a model trains the pair)."""
    if mode != "full":
        return list(QUICK_RUNS + (DEGRADATION if cuda else ()))
    from .reference.train import RECIPES

    plan: list[tuple[str, str]] = []
    for name, cfg in RECIPES.items():
        plan += [(cfg["model"], name)] if cfg.get("model") else [(m, name) for m, _ in DEGRADATION]
    return plan


def target_claim(metrics: dict, recipe: str) -> ClaimResult:
    """The claim ``cnnspec train`` writes for a whole recipe: it reaches its target test accuracy."""
    from .networks.training import TARGET_SOURCE, target_accuracy_claim
    from .reference.train import RECIPES

    try:
        return target_accuracy_claim(metrics, recipe_epochs=RECIPES[recipe]["epochs"])
    except Exception as e:  # noqa: BLE001 - the model is trained; its other claims still run
        return ClaimResult(TARGET_CLAIM, f"The recipe {recipe} reaches its target test accuracy.",
                           TARGET_SOURCE, "empirical", "error", f"{type(e).__name__}: {e}",
                           evidence={"test_acc": metrics.get("test_acc")}, group="training")


def stage_training(ctx: RunContext) -> StageOutput:
    from .reference.train import train

    from .report.sections import curves

    out = StageOutput()
    runs: dict[str, dict] = {}
    trained_ids = [c.id for c in select(groups=["training"])]
    if not (ctx.wanted(TARGET_CLAIM) or any(ctx.wanted(c) for c in trained_ids)):
        out.note = "no claim of this stage selected by --claims"
        return out
    from .networks.training import TARGET_SOURCE
    from .reference.train import RECIPES

    cuda = "cuda" in ctx.devices()
    plan = training_plan(ctx.mode, cuda=cuda)
    for i, (model, recipe) in enumerate(plan):
        if RECIPES[recipe].get("gpu") and not cuda:   # hours on two CPU cores: said, not silently dropped
            out.add([ClaimResult(TARGET_CLAIM, f"The recipe {recipe} reaches its target test accuracy.",
                                 TARGET_SOURCE, "empirical", "skipped",
                                 f"{recipe} is a GPU recipe (gpu=True in reference.train.RECIPES); no CUDA "
                                 f"device here", group="training")],
                    section=_model_section(model), subject=f"{model} ({recipe})")
            continue
        ctx.step(f"{model} with recipe {recipe} ({i + 1}/{len(plan)})")
        folder = str(ctx.workdir / "train" / f"{model}-{recipe}") if ctx.workdir else None
        m = train(model, data=ctx.data, recipe=recipe, device=ctx.device, seed=ctx.seed, out=folder,
                  progress=bool(ctx.progress), return_model=True)  # a log gets a line per epoch
        module, dd = m.pop("module"), m.pop("device_data")
        ctx.shared.setdefault("trained", []).append((model, recipe, module, dd, m["device"]))
        key = f"{model}/{recipe}"
        runs[key] = m
        section = _model_section(model)
        res = target_claim(m, recipe)
        if ctx.wanted(res.id):
            out.add([res], section=section, subject=f"{model} ({recipe})")
        if recipe != "degradation-cpu":
            out.artifacts.append(curves(f"{section}.curves.{model}.{recipe}", section,
                                         f"{model} on {m['data']['name']}, recipe {recipe}",
                                         {model: m["history"]}, m.get("target_acc")))
            out.artifacts.append(_confusion(f"{section}.confusion.{model}.{recipe}", section, model, module, dd,
                                            m["data"]["name"]))
    pair = {m: runs[f"{m}/degradation-cpu"]["history"] for m, _ in DEGRADATION if f"{m}/degradation-cpu" in runs}
    if pair:
        out.artifacts.append(curves("resnet.curves.degradation", "resnet",
                                     "Plain vs residual, 20 layers (recipe degradation-cpu)", pair, None))
    else:
        out.artifacts.append({"id": "resnet.curves.degradation", "section": "resnet", "type": "note",
                              "text": "Plain-vs-residual training curves come from cnnspec verify --full "
                                      "(or with a GPU): the pair takes longer than the quick run's budget "
                                      "on two CPU cores."})
    out.note = "; ".join(f"{k}: test accuracy {m['test_acc']:.4f}" for k, m in runs.items())  # no times:
    # report.json is a function of the seed apart from the fields in TIME_KEYS
    return out


def stage_post_training(ctx: RunContext) -> StageOutput:
    from .networks.trained_claims import verify_trained

    out = StageOutput()
    trained = ctx.shared.get("trained", [])
    for model, recipe, module, dd, device in trained:
        ctx.step(f"{model} ({recipe}): trained-model claims")
        results = [r for r in verify_trained(model, module, dd, device, seed=ctx.seed) if ctx.wanted(r.id)]
        out.add(results, section=_model_section(model), subject=f"{model} ({recipe})")
    if not trained:
        out.note = "no trained model: the training stage did not run"
    return out


def _model_section(model: str) -> str:
    return "lenet" if model.startswith("lenet") else "resnet"


def _confusion(aid: str, section: str, model: str, module, dd, data_name: str) -> dict:
    """Counts of (true class, predicted class) on the whole test set, single view."""
    import torch

    module.eval()
    k = int(dd.test_y.max()) + 1
    cm = torch.zeros(k, k, dtype=torch.long)
    with torch.no_grad():
        for i in range(0, len(dd.test_x), 1000):
            pred = module(dd.test_x[i:i + 1000]).argmax(1).cpu()
            cm += torch.bincount(dd.test_y[i:i + 1000].cpu() * k + pred, minlength=k * k).reshape(k, k)
    acc = float(cm.diag().sum()) / float(cm.sum())
    names = FASHION_CLASSES if "fashion" in data_name.lower() and k == 10 else tuple(map(str, range(k)))
    return {"id": aid, "section": section, "type": "confusion", "matrix": cm.tolist(), "classes": list(names),
            "title": f"{model}: confusion matrix on the {int(cm.sum())} test images",
            "caption": f"Rows: true class, columns: predicted class; single view (no test-time mirroring): "
                       f"accuracy {acc:.4f}."}


STAGES: tuple[Stage, ...] = (
    Stage("spec", "symbolic and exact claims of the lecture", "the spec (cnnspec.spec)",
          ("cnnspec.spec.convolution", "cnnspec.spec.toeplitz"), stage_spec),
    Stage("conformance", "torch.nn.functional (the NumPy shim for the integer ops torch lacks) against "
                         "the spec, every op of the calling convention",
          "conformance (cnnspec.conformance)", ("cnnspec.conformance.runner",), stage_conformance),
    Stage("frameworks", "every framework x op through cnnspec's adapters, float32 (the matrix)",
          "framework adapters (cnnspec.adapters)", ("cnnspec.adapters.matrix",), stage_frameworks),
    Stage("arch", "architecture accounting against the papers", "architectures (cnnspec.spec.architectures)",
          ("cnnspec.spec.architectures",), stage_arch),
    Stage("reference", "reference models before training", "reference models (cnnspec.reference)",
          ("cnnspec.reference.models",), stage_reference),
    Stage("training", "reference training", "training (cnnspec.reference.train)", ("cnnspec.reference.train",), stage_training),
    Stage("post-training", "claims on the trained models", "trained-model claims (cnnspec.networks)",
          ("cnnspec.networks.trained_claims",), stage_post_training),
)
STAGE_NAMES = tuple(s.name for s in STAGES)
# Stages a plain ``cnnspec verify`` leaves out: each runs when asked for (``--frameworks``, ``--stages``).
OPTIONAL_STAGES = ("frameworks",)
DEFAULT_STAGES = tuple(n for n in STAGE_NAMES if n not in OPTIONAL_STAGES)


def _missing(modules: tuple[str, ...]) -> str | None:
    for m in modules:
        try:
            if importlib.util.find_spec(m) is None:
                return m
        except ModuleNotFoundError:
            return m
    return None


def _stage_error(stage: Stage, e: BaseException) -> ClaimResult:
    import traceback

    tb = traceback.extract_tb(e.__traceback__)
    where = f" (at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno})" if tb else ""
    return ClaimResult(f"verify.{stage.name}", f"the {stage.name} stage runs to completion", "cnnspec verify",
                       "exact", "error", f"{type(e).__name__}: {e}{where}", group=stage.name)


def run_verify(stages: list[str] | None = None, *, mode: str = "quick", seed: int = 0,
               device: str = "auto", data: str | None = None, out: Path | None = None,
               progress: ProgressSink | None = None, claims: list[str] | None = None,
               targets: list[tuple[str, str, str]] | None = None, targets_only: bool = False,
               registry: tuple[Stage, ...] = STAGES, strict: bool = False,
               frameworks: list[str] | None = None, framework_ops: list[str] | None = None,
               jobs: int = 2) -> dict[str, Any]:
    """Run the chosen stages and return the ``verify`` report (``docs/report-schema.md``, plus stages
    and artifacts).

    ``claims`` (id patterns) narrows every stage to those claims; figures and tables are still made.
    ``targets``: third-party ``(target, op, array)`` validated in the conformance stage beside torch
    (instead of torch with ``targets_only``). ``stages=None`` runs every stage but the optional ones
    (:data:`OPTIONAL_STAGES`). ``frameworks``/``framework_ops``/``jobs``: the frameworks stage's
    frameworks, ops and worker processes (default: every framework, each one's every op).
    """
    if mode not in MODES:
        raise UsageError(f"mode: {mode!r} is not one of {', '.join(MODES)}")
    names = [s.name for s in registry if s.name not in OPTIONAL_STAGES] if stages is None else stages
    chosen = [s for s in registry if s.name in names]
    ctx = RunContext(mode=mode, seed=seed, device=device, data=data, claims=claims, targets=list(targets or []),
                     targets_only=targets_only, frameworks=frameworks, framework_ops=framework_ops, jobs=jobs,
                     workdir=out, progress=progress or None)
    started = datetime.now(timezone.utc)
    t0 = time.monotonic()
    results: list[ClaimResult] = []
    tags: list[dict[str, Any]] = []
    artifacts: list[dict] = []
    targets: list[dict] = []
    stage_rows: list[dict] = []
    sections: dict[str, Any] = {}
    for i, stage in enumerate(chosen):
        if ctx.progress:
            ctx.progress.start(i, stage.name, stage.title)
        ts = time.monotonic()
        missing = _missing(stage.needs)
        so = StageOutput()
        if missing:
            status, reason = "skipped", f"skipped: {stage.part} not installed (no module {missing})"
        else:
            try:
                so = stage.run(ctx)
                status, reason = "ran", so.note
            except Exception as e:  # noqa: BLE001 - a broken stage is reported, the run goes on
                so = StageOutput()
                so.add([_stage_error(stage, e)])
                status, reason = "error", f"{type(e).__name__}: {e}"
        tags += [{"stage": stage.name, **t} for t in (so.tags or [{}] * len(so.results))]
        results += so.results
        artifacts += so.artifacts
        targets += so.targets
        sections.update(so.sections)
        seconds = time.monotonic() - ts
        counts = count_statuses(so.results)
        if status == "ran" and (counts["fail"] or counts["error"]):
            status = "fail"
        stage_rows.append({"name": stage.name, "title": stage.title, "part": stage.part, "status": status,
                           "reason": reason, "counts": counts, "seconds": round(seconds, 2)})
        if ctx.progress:
            ctx.progress.finish(stage.name, status, counts, seconds, reason)
    env = environment(device=",".join(ctx.devices()) if device == "auto" else device, seed=seed, mode=mode)
    report = build_report("verify", results, env=env, strict=strict, mode=mode, stages=stage_rows,
                          artifacts=artifacts,
                          targets=targets, run_id=started.strftime("%Y%m%dT%H%M%SZ"),
                          started=started.isoformat(timespec="seconds"),
                          wall_s=round(time.monotonic() - t0, 1), **sections)
    for entry, tag in zip(report["claims"], tags):
        entry.update(tag)
    return report
