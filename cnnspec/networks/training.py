"""The training claim: a recipe reaches its target test accuracy (from a run's metrics).

``cnnspec train`` and ``cnnspec verify`` both make it with :func:`target_accuracy_claim`; the
recipes, their targets and the accuracies measured over seeds are in ``reference/README.md``.
"""
from __future__ import annotations

from ..claims import ClaimResult

TARGET_CLAIM = "training.target_accuracy"
TARGET_SOURCE = "reference/README.md (the recipes, their targets and measured accuracy)"


def target_accuracy_claim(m: dict, *, epochs: int | None = None, target_acc: float | None = None,
                          recipe_epochs: int | None = None) -> ClaimResult:
    """The recipe's accuracy as an empirical claim ``training.target_accuracy``, from a run's metrics.

    ``epochs`` and ``target_acc`` are what the user asked for (``cnnspec train --epochs/--target-acc``);
    the claim is skipped when ``epochs`` cut the recipe short, since its target then does not apply.
    """
    if recipe_epochs is None:
        from ..reference.train import RECIPES

        recipe_epochs = RECIPES.get(m["recipe"]["name"], m["recipe"])["epochs"]
    target, acc = m["target_acc"], m["test_acc"]
    full = epochs is None or epochs >= recipe_epochs or target_acc is not None
    stmt = f"The recipe {m['recipe']['name']} reaches its target test accuracy on {m['data']['name']}."
    if target is None or not full:
        why = "no target for this recipe" if target is None else \
            f"--epochs {epochs} shortens the recipe's {recipe_epochs} epochs"
        return ClaimResult(TARGET_CLAIM, stmt, TARGET_SOURCE, "empirical", "skipped",
                           f"test accuracy {acc:.4f}; {why}", evidence={"test_acc": acc}, group="training")
    ok = acc >= target or m["time_to_target_s"] is not None
    return ClaimResult(TARGET_CLAIM, stmt, TARGET_SOURCE, "empirical", "pass" if ok else "fail",
                       f"test accuracy {acc:.4f} (best reached target: {m['time_to_target_s'] is not None}); "
                       f"target {target}", evidence={"test_acc": acc, "target": target,
                                                     "time_to_target_s": m["time_to_target_s"]},
                       group="training")
