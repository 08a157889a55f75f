"""benchmarks/recipes.py --select: the rule that picks `--recipe best`, and the recipe it picked.

The rule runs on the recorded validation scores (benchmarks/results/recipe_selection.json), so
this checks that the command's default is what the measurements chose, without training.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from sft_teach.training import RECIPES

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def recipes_script():
    spec = importlib.util.spec_from_file_location("recipes_benchmark", BENCHMARKS / "recipes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _selection(scores: dict) -> dict:
    return {"dataset": "pets", "seeds": [0, 1, 2],
            "candidates": {name: {"validation_macro_f1": s, "train_seconds": [1.0] * len(s)}
                           for name, s in scores.items()}}


@pytest.mark.parametrize("candidates, scores, chosen", [
    # a clear winner wins
    ({"a": (3, 3, 1e-4), "b": (3, 3, 5e-4)}, {"a": [0.80, 0.81, 0.82], "b": [0.90, 0.91, 0.92]}, "b"),
    # b's mean is 0.01 higher, less than a's seed SD (0.03): a tie, and a (no head-only phase) costs
    # 3 * 3 = 9 passes over the data against b's 1 + 3 * 3 = 10, so the cheaper a wins
    ({"a": (0, 3, 1e-4), "b": (3, 3, 1e-4)}, {"a": [0.87, 0.90, 0.93], "b": [0.91, 0.91, 0.91]}, "a"),
    # the head-only phase is one pass whatever its epochs (its features are stored): head 1 + 3 epochs
    # and head 3 + 3 epochs both cost 10, so the tie goes to the higher mean
    ({"a": (1, 3, 1e-4), "b": (3, 3, 1e-4)}, {"a": [0.87, 0.90, 0.93], "b": [0.91, 0.91, 0.91]}, "b"),
    # an epoch of everything costs three: head + 4 epochs (13 passes) against head + 3 epochs (10), tied,
    # so b is cheaper
    ({"a": (1, 4, 1e-4), "b": (3, 3, 1e-4)}, {"a": [0.88, 0.91, 0.94], "b": [0.90, 0.90, 0.90]}, "b"),
    # a tie of equal cost goes to the higher mean (and a top candidate with SD 0 is tied with itself)
    ({"a": (3, 3, 1e-4), "b": (3, 3, 2e-4)}, {"a": [0.87, 0.90, 0.93], "b": [0.91, 0.91, 0.91]}, "b"),
])
def test_the_rule(candidates, scores, chosen, recipes_script, monkeypatch):
    monkeypatch.setattr(recipes_script, "CANDIDATES", candidates)
    assert recipes_script.choose(_selection(scores)) == chosen


def test_the_command_default_is_the_recorded_choice(recipes_script):
    selection = json.loads((BENCHMARKS / "results" / "recipe_selection.json").read_text())
    head_epochs, epochs, learning_rate = recipes_script.CANDIDATES[recipes_script.choose(selection)]
    best = RECIPES["best"]
    assert (best["head_epochs"], best["num_train_epochs"], best["learning_rate"], best["best_epoch"]) == (
        head_epochs, epochs, learning_rate, True)
