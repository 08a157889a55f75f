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


def test_a_clear_winner_wins(recipes_script, monkeypatch):
    monkeypatch.setattr(recipes_script, "CANDIDATES", {"a": (3, 3, 1e-4), "b": (3, 3, 5e-4)})
    assert recipes_script.choose(_selection({"a": [0.80, 0.81, 0.82], "b": [0.90, 0.91, 0.92]})) == "b"


def test_a_tie_goes_to_the_cheaper_candidate(recipes_script, monkeypatch):
    # b's mean is 0.01 higher, less than a's seed SD (0.03): a tie, and a costs 1 + 3 * 3 = 10 passes
    # over the data against b's 3 + 3 * 3 = 12
    monkeypatch.setattr(recipes_script, "CANDIDATES", {"a": (1, 3, 1e-4), "b": (3, 3, 1e-4)})
    assert recipes_script.choose(_selection({"a": [0.87, 0.90, 0.93], "b": [0.91, 0.91, 0.91]})) == "a"


def test_an_epoch_of_everything_costs_more_than_a_head_only_epoch(recipes_script, monkeypatch):
    # head 1 + 4 epochs (13 passes) against head 3 + 3 epochs (12 passes): tied, b is cheaper
    monkeypatch.setattr(recipes_script, "CANDIDATES", {"a": (1, 4, 1e-4), "b": (3, 3, 1e-4)})
    assert recipes_script.choose(_selection({"a": [0.88, 0.91, 0.94], "b": [0.90, 0.90, 0.90]})) == "b"


def test_a_tie_of_equal_cost_goes_to_the_higher_mean(recipes_script, monkeypatch):
    monkeypatch.setattr(recipes_script, "CANDIDATES", {"a": (3, 3, 1e-4), "b": (3, 3, 2e-4)})
    assert recipes_script.choose(_selection({"a": [0.87, 0.90, 0.93], "b": [0.91, 0.91, 0.91]})) == "b"


def test_the_command_default_is_the_recorded_choice(recipes_script):
    selection = json.loads((BENCHMARKS / "results" / "recipe_selection.json").read_text())
    head_epochs, epochs, learning_rate = recipes_script.CANDIDATES[recipes_script.choose(selection)]
    best = RECIPES["best"]
    assert (best["head_epochs"], best["num_train_epochs"], best["learning_rate"], best["best_epoch"]) == (
        head_epochs, epochs, learning_rate, True)
