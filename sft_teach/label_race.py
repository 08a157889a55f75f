"""Notebook 01's race: accuracy against the number of labelled examples, for several learners.

* :func:`balanced_sample` picks ``n`` training examples spread evenly over the classes;
* :func:`label_budget_sweep` trains each learner on ``n`` examples, for each ``n`` and seed, and
  scores it on the test split (and on named parts of it, such as the unseen-cue notes);
* :func:`summarise` gives each learner's mean and sample SD over seeds at each ``n``, the table
  :func:`sft_teach.plots.label_race` draws;
* the learners, as functions ``(indices, seed) -> predicted ids``: :func:`frozen_head_method`
  (a new head on the frozen pretrained body), :func:`bag_of_words_method` (TF-IDF + logistic
  regression, a model that has read nothing before) and :func:`scratch_method` (the same network
  with random weights, fine-tuned).

Taught in notebooks/01_beginner_cats_and_dogs.ipynb.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from typing import Callable

import numpy as np


def balanced_sample(labels, n: int, seed: int = 0) -> list[int]:
    """Indices of ``n`` examples, as evenly spread over the classes as ``n`` allows.

    ``n = 2`` with two classes gives one example of each. Reproducible for a given ``seed``.
    """
    labels = np.asarray(labels)
    classes = np.unique(labels)
    from sft_teach.setting_checks import whole

    if not whole(n) or n > len(labels):  # fewer than asked, under the number asked for
        raise ValueError(f"n must be a whole number of examples, at most the {len(labels)} there are, got {n}")
    if n < len(classes):
        raise ValueError(f"need at least one example per class: n={n} < {len(classes)} classes")
    rng = np.random.default_rng(seed)
    pools = {c: list(rng.permutation(np.flatnonzero(labels == c))) for c in classes}
    chosen: list[int] = []
    while len(chosen) < n:  # round robin over the classes, in a shuffled class order each round
        for c in rng.permutation(classes):
            if pools[c] and len(chosen) < n:
                chosen.append(int(pools[c].pop()))
        if not any(pools.values()):
            break
    return sorted(chosen)


def label_budget_sweep(methods: dict[str, Callable[[list[int], int], np.ndarray]], train_labels, truth,
                       budgets, seeds=(0,), subsets: dict[str, np.ndarray] | None = None,
                       progress: str | None = None) -> list[dict]:
    """Accuracy of each method trained on ``n`` labelled examples, for each ``n`` and seed.

    ``methods[name](indices, seed)`` trains on those training rows and returns predicted class
    ids for the evaluation set whose true ids are ``truth``. ``subsets`` maps a name to a boolean
    mask over the evaluation set, scored separately (e.g. notes with unseen cue words).
    Returns rows ``{"method", "n", "seed", "accuracy", "accuracy_<subset>"...}``; a budget above
    the number of training rows is all of them, run once however many such budgets are given.
    ``progress``: the label of a bar that counts the runs, for a sweep that takes minutes.
    """
    truth = np.asarray(truth)
    rows = []
    # a text bar: a saved notebook keeps its last state (a widget bar's saved text would read 0/4); on
    # stdout, since JupyterLab draws stderr in a pink box, which a learner reads as an error
    from tqdm import tqdm

    # a budget above the data size is the whole data: two such budgets are one, run once (as two,
    # summarise would count one seed's runs as two and draw a spread over repeated runs)
    sizes = list(dict.fromkeys(min(n, len(train_labels)) for n in budgets))
    bar = tqdm(total=len(sizes) * len(seeds) * len(methods), desc=progress, unit="run", file=sys.stdout,
               disable=not progress)
    for n in sizes:
        for seed in seeds:
            indices = balanced_sample(train_labels, n, seed)
            for name, method in methods.items():
                correct = np.asarray(method(indices, seed)) == truth
                bar.update()
                row = {"method": name, "n": len(indices), "seed": seed, "accuracy": float(correct.mean())}
                for subset, mask in (subsets or {}).items():
                    row[f"accuracy_{subset}"] = float(correct[np.asarray(mask)].mean())
                rows.append(row)
    bar.close()
    return rows


def summarise(rows: list[dict], value: str = "accuracy") -> dict[str, dict[int, tuple[float, float]]]:
    """``{method: {n: (mean, sd)}}`` of ``value`` over seeds.

    ``sd`` is the sample standard deviation (ddof = 1, :func:`sft_teach.stats.mean_sd`); for a
    single run it is ``nan``: one run has no spread to measure, and a plot draws no band for it.
    """
    from sft_teach.stats import check_keys, mean_sd_of_a_table

    groups: dict = defaultdict(lambda: defaultdict(list))
    for row in rows:
        check_keys(row, ("method", "n", value), "summarise")
        groups[row["method"]][row["n"]].append(row[value])
    return {m: {n: mean_sd_of_a_table(v) for n, v in sorted(by_n.items())}
            for m, by_n in groups.items()}


# ---- the learners of notebook 01's race, as label_budget_sweep methods ---------------------

def frozen_head_method(train_vectors, train_labels, test_vectors) -> Callable[[list[int], int], np.ndarray]:
    """A :func:`label_budget_sweep` method: a new head on the frozen pretrained body.

    The sentence embeddings ``(n, hidden)`` are computed once, outside; each call fits only the
    head, a logistic regression (:func:`sft_teach.baselines.embedding_head`), on the chosen rows,
    and predicts the test rows. That is why it takes a fraction of a second.
    """
    from sft_teach.baselines import embedding_head

    train_vectors, train_labels = np.asarray(train_vectors), np.asarray(train_labels)

    def frozen_head(chosen, seed):
        return embedding_head(train_vectors[chosen], train_labels[chosen]).predict(test_vectors)

    return frozen_head


def bag_of_words_method(train_texts, train_labels, test_texts) -> Callable[[list[int], int], np.ndarray]:
    """A :func:`label_budget_sweep` method: TF-IDF + logistic regression on the chosen notes only.

    It has read nothing before: a word that none of the chosen notes contains tells it nothing.
    """
    from sft_teach.baselines import tfidf_logreg

    train_texts = np.asarray(list(train_texts), dtype=object)
    train_labels, test_texts = np.asarray(train_labels), list(test_texts)

    def bag_of_words(chosen, seed):
        return tfidf_logreg(train_texts[chosen], train_labels[chosen]).predict(test_texts)

    return bag_of_words


def scratch_method(dataset) -> Callable[[list[int], int], np.ndarray]:
    """A :func:`label_budget_sweep` method: the same network with random weights, fine-tuned.

    Each call builds :func:`sft_teach.baselines.scratch_classifier` (seeded), trains it with
    :func:`sft_teach.training.finetune`'s defaults on the chosen training notes, and returns its
    predictions on ``dataset["test"]``. Seconds to minutes per call: use few budgets.

    The returned function keeps a record of its calls in ``.runs``, one dict each: ``n``
    (training notes), ``seed``, ``steps`` (optimiser steps taken) and ``predictions``, so a
    notebook can show what the network learnt (a constant answer, say), not only its score.
    """
    from datasets import DatasetDict

    from sft_teach.baselines import scratch_classifier
    from sft_teach.training import finetune_quietly  # runs compared in a table: their findings in result.warnings

    names = dataset["train"].features["label"].names

    def from_scratch(chosen, seed):
        model, tokenizer = scratch_classifier(names, seed=seed)  # random weights
        few = DatasetDict(train=dataset["train"].select(chosen), validation=dataset["validation"],
                          test=dataset["test"])
        result = finetune_quietly(model, few, tokenizer=tokenizer, seed=seed, progress=False, save=False)
        from_scratch.runs.append({"n": len(chosen), "seed": seed, "steps": result.trainer.state.global_step,
                                  "predictions": result.predictions})
        return result.predictions

    from_scratch.runs = []
    return from_scratch
