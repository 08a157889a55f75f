"""Notebook 01's helpers: the race's learners, the confident mistakes, the pronoun swap."""

import numpy as np
import pytest

from sft_teach.label_race import (bag_of_words_method, balanced_sample, frozen_head_method, label_budget_sweep,
                                  scratch_method, summarise)
from sft_teach.inference import confident_mistakes, pronoun_pairs
from sft_teach.errors import ConfigError


def test_balanced_sample_spreads_the_notes_over_the_classes():
    """The race's draw: n notes as evenly over the classes as n allows, the same for a seed, and
    none picked twice; fewer notes than classes cannot give every class one."""
    import pytest

    labels = [0] * 10 + [1] * 3 + [2] * 7
    for n in (3, 6, 9, 13, 20):
        picked = balanced_sample(labels, n, seed=1)
        counts = np.bincount(np.asarray(labels)[picked], minlength=3)
        assert len(set(picked)) == n == counts.sum() and picked == sorted(picked)
        if n <= 9:  # no class has run out of notes yet: the counts differ by one at most
            assert counts.max() - counts.min() <= 1
    for n in (21, 2.5):  # fewer than asked, under the number asked for, before
        with pytest.raises(ValueError, match=rf"a whole number of examples, at most the 20 there are, got {n}"):
            balanced_sample(labels, n)
    assert balanced_sample(labels, 6, seed=4) == balanced_sample(labels, 6, seed=4)
    assert balanced_sample(labels, 6, seed=4) != balanced_sample(labels, 6, seed=5)
    # 13 notes: the class of 3 runs out, the other two share the rest
    assert np.bincount(np.asarray(labels)[balanced_sample(labels, 13, seed=0)]).tolist() == [5, 3, 5]
    with pytest.raises(ValueError, match="at least one example per class"):
        balanced_sample(labels, 2)
    # the note left over when n is no multiple of the classes goes to a class drawn at random, not always the first
    assert {tuple(np.bincount(np.asarray([0, 1] * 5)[balanced_sample([0, 1] * 5, 3, seed=s)])) for s in range(20)} == {
        (2, 1), (1, 2)}


def test_frozen_head_method_fits_only_the_chosen_rows():
    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    labels = [0, 0, 1, 1]
    head = frozen_head_method(vectors, labels, vectors)
    assert head([0, 2], seed=0).tolist() == [0, 0, 1, 1]


def test_bag_of_words_method_knows_only_words_it_was_shown():
    texts = ["purring on my lap", "purring again", "barking at the postman", "barking all night"]
    method = bag_of_words_method(texts, [0, 0, 1, 1], ["more purring", "more barking", "a hiss"])
    predictions = method([0, 1, 2, 3], seed=0)
    assert predictions[:2].tolist() == [0, 1]
    always_cat = lambda indices, seed: np.zeros(3, dtype=int)  # noqa: E731; right on 2 of the 3 test notes
    rows = label_budget_sweep({"bow": method, "always cat": always_cat}, [0, 0, 1, 1], [0, 1, 0], budgets=[4])
    assert [row["n"] for row in rows] == [4, 4] and rows[1]["accuracy"] == pytest.approx(2 / 3)
    assert rows[0]["accuracy"] == pytest.approx(np.mean(method([0, 1, 2, 3], seed=0) == [0, 1, 0]))


def test_the_learners_are_fitted_on_the_chosen_rows_only(monkeypatch):
    from sft_teach import baselines

    fitted = []

    class Recorded:
        def __init__(self, rows):
            fitted.append(len(rows))

        def predict(self, rows):
            return np.zeros(len(rows), dtype=int)

    monkeypatch.setattr(baselines, "embedding_head", lambda vectors, labels: Recorded(vectors))
    monkeypatch.setattr(baselines, "tfidf_logreg", lambda texts, labels: Recorded(texts))
    frozen_head_method(np.eye(4), [0, 0, 1, 1], np.eye(4))([0, 2], seed=0)
    bag_of_words_method(["a", "b", "c", "d"], [0, 0, 1, 1], ["e"])([1, 2, 3], seed=0)
    assert fitted == [2, 3]


def test_a_sweep_row_counts_the_notes_used_and_scores_each_subset_alone():
    """A budget above the training notes trains on all of them (n says how many); a subset of the test
    notes is scored on its own notes only; summarise averages whichever score it is asked for."""
    always_cat = lambda indices, seed: np.zeros(4, dtype=int)  # noqa: E731
    rows = label_budget_sweep({"always cat": always_cat}, [0, 0, 1, 1], [0, 1, 0, 0], budgets=[2, 99], seeds=(0, 1),
                              subsets={"unseen": [False, True, True, False]})
    assert [row["n"] for row in rows] == [2, 2, 4, 4]
    assert all(row["accuracy"] == 0.75 and row["accuracy_unseen"] == 0.5 for row in rows)
    assert summarise(rows, value="accuracy_unseen")["always cat"][4] == (0.5, 0.0)


def test_budgets_above_the_training_notes_run_all_of_them_once():
    """Two budgets above the data size (notebook 01's list ends with 256 and len(train)) are one run a
    seed, not two: counted as two, one seed's runs got a spread over 'repeated runs'."""
    calls = []

    def method(indices, seed):
        calls.append((len(indices), seed))
        return np.zeros(2, dtype=int)

    rows = label_budget_sweep({"m": method}, [0, 1, 0, 1], [0, 1], budgets=[2, 8, 99, 4], seeds=(0,))
    assert calls == [(2, 0), (4, 0)] and [row["n"] for row in rows] == [2, 4]
    assert np.isnan(summarise(rows)["m"][4][1])  # one run: no spread


def test_the_bag_of_words_reads_word_pairs_and_both_heads_are_fitted_with_c_10():
    """'cat dog' and 'dog cat' hold the same words: only the pairs (1-2 grams) tell them apart. C = 10, a weak
    penalty, as the notebooks say."""
    from sft_teach.baselines import embedding_head, tfidf_logreg

    model = tfidf_logreg(["cat dog", "cat dog", "dog cat", "dog cat"], [0, 0, 1, 1])
    assert model.predict(["cat dog", "dog cat"]).tolist() == [0, 1]
    assert model[-1].C == 10.0 and embedding_head(np.eye(2), [0, 1]).C == 10.0


def test_the_network_from_scratch_is_the_pretrained_architecture_with_fresh_seeded_weights():
    import torch
    from transformers import AutoModel

    from sft_teach.baselines import scratch_classifier
    from sft_teach.models import resolve_model

    model, tokenizer = scratch_classifier(["cat", "dog", "fox"], seed=1)
    pretrained = AutoModel.from_pretrained(resolve_model("default"))
    assert model.config.id2label == {0: "cat", 1: "dog", 2: "fox"} and model.classifier.out_features == 3
    assert model.config.num_hidden_layers == pretrained.config.num_hidden_layers and len(tokenizer) == pretrained.config.vocab_size
    words = model.bert.embeddings.word_embeddings.weight
    assert not torch.equal(words, pretrained.embeddings.word_embeddings.weight)  # nothing pretrained is loaded
    assert torch.equal(words, scratch_classifier(["cat", "dog", "fox"], seed=1)[0].bert.embeddings.word_embeddings.weight)
    assert not torch.equal(words, scratch_classifier(["cat", "dog", "fox"], seed=2)[0].bert.embeddings.word_embeddings.weight)


def test_a_slow_sweep_counts_its_runs_on_a_bar(capsys):
    method = bag_of_words_method(["purring", "barking"] * 2, [0, 1, 0, 1], ["purring", "barking"])
    quiet = label_budget_sweep({"bow": method}, [0, 1, 0, 1], [0, 1], budgets=[2, 4], seeds=(0, 1))
    shown = label_budget_sweep({"bow": method}, [0, 1, 0, 1], [0, 1], budgets=[2, 4], seeds=(0, 1), progress="racing")
    bar, err = capsys.readouterr()
    # on stdout: JupyterLab draws stderr in a pink box, as if something had gone wrong
    assert shown == quiet and "racing: 100%" in bar and "4/4" in bar and err == ""


def test_summarise_gives_the_mean_and_sample_sd_over_seeds():
    import math
    import statistics

    rows = [{"method": "a", "n": 4, "seed": s, "accuracy": acc} for s, acc in enumerate([0.5, 0.6, 0.8])]
    rows.append({"method": "b", "n": 4, "seed": 0, "accuracy": 0.7})
    table = summarise(rows)
    mean, sd = table["a"][4]
    assert math.isclose(mean, statistics.mean([0.5, 0.6, 0.8])) and math.isclose(sd, statistics.stdev([0.5, 0.6, 0.8]))
    assert table["b"][4][0] == 0.7 and math.isnan(table["b"][4][1])  # one run: no spread
    with pytest.raises(ConfigError, match="summarise: a row has no 'macro_f1'; its keys are 'method', 'n', 'seed'"):
        summarise(rows, value="macro_f1")  # a bare KeyError before


def test_scratch_method_records_what_each_run_did(small_dataset, monkeypatch):
    """The race's network from scratch: each call is recorded with its optimiser steps and answers
    (the notebook prints them); the steps are finetune's defaults, 3 epochs of batches of 16; its
    random weights are drawn with the run's seed."""
    from sft_teach import baselines

    drawn, real = [], baselines.scratch_classifier
    monkeypatch.setattr(baselines, "scratch_classifier", lambda names, seed=0: drawn.append(seed) or real(names, seed=seed))
    method = scratch_method(small_dataset)
    chosen = list(range(len(small_dataset["train"])))
    predictions = method(chosen, seed=1)
    (run,) = method.runs
    assert run["n"] == len(chosen) and run["seed"] == 1 and drawn == [1]
    assert run["steps"] == 3 * -(-len(chosen) // 16)
    assert run["predictions"].tolist() == predictions.tolist()
    assert len(predictions) == len(small_dataset["test"])


def test_confident_mistakes_are_wrong_and_sorted_by_confidence():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.99, 0.01]])
    truth = [1, 1, 1, 0, 0]
    assert confident_mistakes(probs, truth) == [0, 3, 2]
    assert confident_mistakes(probs, truth, k=1) == [0]


def test_confident_mistakes_refuses_probabilities_and_labels_of_different_examples():
    """Indices into the wrong list would point a learner at notes the model got right."""
    probs = np.array([[0.9, 0.1], [0.2, 0.8]])
    with pytest.raises(ConfigError, match=r"shape \(2, 2\) and 3 true labels"):
        confident_mistakes(probs, [1, 1, 0])
    with pytest.raises(ConfigError, match=r"shape \(2,\)"):
        confident_mistakes(np.array([0.9, 0.2]), [1, 1])


def test_pronoun_pairs_swap_only_when_it_is_unambiguous():
    texts = ["He chewed his lead.", "She washed herself.", "I gave her a bath.", "He and she play.",
             "No pronoun here.", "He's asleep; Himself, the old boy."]
    pairs = pronoun_pairs(texts)
    assert pairs == [(0, "He chewed his lead.", "She chewed her lead."),
                     (1, "He washed himself.", "She washed herself."),
                     (5, "He's asleep; Himself, the old boy.", "She's asleep; Herself, the old boy.")]
    # "other" and "these" contain he/her as letters, not as words: left alone
    assert pronoun_pairs(["The other one sheds."]) == []
    with pytest.raises(ConfigError, match=r"takes a list of texts, got one text \('He chewed his lead.'\)"):
        pronoun_pairs("He chewed his lead.")  # its letters: [] in silence, as if it had no pronoun


def test_a_standalone_his_becomes_hers():
    [(_, he, she)] = pronoun_pairs(["He says the lead is his."])
    assert she == "She says the lead is hers."
