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
    ({"a": (3, 3, 1e-4, "first token"), "b": (3, 3, 5e-4, "mean")}, {"a": [0.80, 0.81, 0.82], "b": [0.90, 0.91, 0.92]},
     "b"),
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
    # thawing 3 groups an epoch backpropagates through 2, then 5, then 6 of the 6 layers: 1 + (1 + 4/6)
    # + (1 + 10/6) + 3 = 8.33 passes against 10 for the same epochs of everything, so tied, a wins
    ({"a": (3, 3, 1e-4, "first token", "thaw 3"), "b": (3, 3, 1e-4)},
     {"a": [0.88, 0.90, 0.92], "b": [0.90, 0.91, 0.92]}, "a"),
    # over the budget (1.5 x the plain recipe's 9 passes: 13.5): head + 5 epochs costs 16 passes, so its
    # higher score does not count, and the best candidate within the budget wins
    ({"a": (3, 5, 1e-4), "b": (3, 3, 1e-4)}, {"a": [0.95, 0.96, 0.97], "b": [0.90, 0.91, 0.92]}, "b"),
    # discriminative rates change no pass: 10 against 10, so the higher mean wins the tie
    ({"a": (3, 3, 1e-3, "first token", "discriminative"), "b": (3, 3, 1e-4)},
     {"a": [0.88, 0.90, 0.92], "b": [0.90, 0.91, 0.92]}, "b"),
])
def test_the_rule(candidates, scores, chosen, recipes_script, monkeypatch):
    monkeypatch.setattr(recipes_script, "CANDIDATES", candidates)
    assert recipes_script.choose(_selection(scores)) == chosen


def test_the_command_default_is_the_recorded_choice(recipes_script):
    selection = json.loads((BENCHMARKS / "results" / "recipe_selection.json").read_text())
    assert set(selection["candidates"]) == set(recipes_script.CANDIDATES)  # every candidate measured
    chosen = recipes_script.CANDIDATES[recipes_script.choose(selection)]
    best = RECIPES["best"]
    assert (best["head_epochs"], best["num_train_epochs"], best["learning_rate"], best["best_epoch"]) == (
        chosen.head, chosen.epochs, chosen.lr, True)
    assert chosen.pooling == "first token"  # the head of the model finetune loads, which a plain pipeline reads
    assert chosen.ulmfit is None and not chosen.lora  # RECIPES holds no callback, optimizer or adapter


@pytest.mark.parametrize("candidate, expected", [
    ((0, 3, 1e-4), 9),  # three epochs of everything, no head phase
    ((3, 3, 1e-4), 10),
    ((3, 4, 2e-4, "first token", "thaw 2"), 1 + (1 + 2 / 6 * 1) + (1 + 2 / 6 * 3) + (1 + 2 / 6 * 5) + 3),
    ((3, 4, 2e-4, "first token", "thaw 3"), 1 + (1 + 2 / 6 * 2) + (1 + 2 / 6 * 5) + 3 + 3),
    ((3, 5, 1e-3, "first token", None, 4), 1 + 5 * 2),  # LoRA: a forward and half a backward an epoch
])
def test_cost_in_passes(candidate, expected, recipes_script):
    """Thawing G groups an epoch: the head, then G - 1 encoder layers the first epoch, G more each after."""
    assert recipes_script.passes(candidate) == pytest.approx(expected)


def test_thawing_candidates_thaw_as_their_cost_says(recipes_script):
    """The encoder layers GradualUnfreezing trains each epoch are those passes() counts, on a
    randomly initialised body as deep as the bundled one (6 layers)."""
    from transformers import BertConfig, BertForSequenceClassification

    from sft_teach.callbacks import GradualUnfreezing

    model = BertForSequenceClassification(BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=6,
                                                     num_attention_heads=2, intermediate_size=16))
    for per_epoch in (2, 3):
        thaw = GradualUnfreezing(model, groups_per_epoch=per_epoch)
        for epoch in range(4):
            trained = [group for group in thaw.trainable(epoch) if group.startswith("layer.")]
            assert len(trained) == min(6, (epoch + 1) * per_epoch - 1)
            assert trained == [f"layer.{i}" for i in range(5, 5 - len(trained), -1)]  # from the top down


@pytest.mark.parametrize("pooling", ["mean", "mean, no pooler layer"])
def test_mean_pooling_candidates_read_the_mean_of_the_real_tokens(pooling, recipes_script, tokenizer,
                                                                  make_tiny_classifier):
    """Oracle: each text run alone, unpadded, its last layer averaged by hand, then the head's layers.

    Padding must not move the mean: the batch pads the short text to the long one's length.
    """
    import torch

    model = make_tiny_classifier().eval()
    model.__class__ = recipes_script.POOLINGS[pooling]()
    texts = ["Purred on my lap all evening.", "Ears flapping out of the car window, happy as anything, all the way."]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    assert (batch["attention_mask"] == 0).any()  # the short text is padded
    with torch.no_grad():
        got = model(**batch).logits
        expected = []
        for text in texts:
            alone = tokenizer(text, return_tensors="pt")
            vector = model.bert(**alone).last_hidden_state[0].mean(0)  # (hidden,) every token is real
            if pooling == "mean":
                vector = torch.tanh(model.bert.pooler.dense(vector))
            expected.append(model.classifier(vector))
    torch.testing.assert_close(got, torch.stack(expected), atol=1e-5, rtol=1e-5)
    # and the loss is cross-entropy on those logits
    labels = torch.tensor([0, 1])
    with torch.no_grad():
        loss = model(**batch, labels=labels).loss
    torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(got, labels))
