"""Sweeps that return plain tables (lists of dicts), for notebooks and benchmarks.

* :func:`balanced_sample`, :func:`label_budget_sweep`, :func:`summarise`: accuracy against the
  number of labelled examples (notebook 01; ULMFiT's Figure 3 in notebook 04), with the race's
  learners :func:`frozen_head_method`, :func:`bag_of_words_method`, :func:`scratch_method`;
* :func:`train_classifier`: one run of the academic notebooks' experiments: pretrained or
  random start, Yosinski's kept/re-initialised/frozen layers, ULMFiT's techniques;
* :func:`transfer_comparison`, :func:`layer_transfer`, :func:`ablation`,
  :func:`sample_efficiency`: the tables of notebooks 03 and 04 and of ``benchmarks/academic.py``.

The academic runs share one setting for the 10-desk clinic data (:data:`ACADEMIC`): four
epochs at a peak learning rate of 3e-4, batch 16, no evaluation during training.

Taught in notebooks/01_beginner_cats_and_dogs.ipynb, 03_transfer_learning.ipynb and
04_ulmfit_techniques.ipynb.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from pathlib import Path
from typing import Callable

import numpy as np


def balanced_sample(labels, n: int, seed: int = 0) -> list[int]:
    """Indices of ``n`` examples, as evenly spread over the classes as ``n`` allows.

    ``n = 2`` with two classes gives one example of each. Reproducible for a given ``seed``.
    """
    labels = np.asarray(labels)
    classes = np.unique(labels)
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
                       budgets, seeds=(0,), subsets: dict[str, np.ndarray] | None = None) -> list[dict]:
    """Accuracy of each method trained on ``n`` labelled examples, for each ``n`` and seed.

    ``methods[name](indices, seed)`` trains on those training rows and returns predicted class
    ids for the evaluation set whose true ids are ``truth``. ``subsets`` maps a name to a boolean
    mask over the evaluation set, scored separately (e.g. notes with unseen cue words).
    Returns rows ``{"method", "n", "seed", "accuracy", "accuracy_<subset>"...}``.
    """
    truth = np.asarray(truth)
    rows = []
    for n in budgets:
        for seed in seeds:
            indices = balanced_sample(train_labels, min(n, len(train_labels)), seed)
            for name, method in methods.items():
                correct = np.asarray(method(indices, seed)) == truth
                row = {"method": name, "n": len(indices), "seed": seed, "accuracy": float(correct.mean())}
                for subset, mask in (subsets or {}).items():
                    row[f"accuracy_{subset}"] = float(correct[np.asarray(mask)].mean())
                rows.append(row)
    return rows


def summarise(rows: list[dict], value: str = "accuracy") -> dict[str, dict[int, tuple[float, float]]]:
    """``{method: {n: (mean, std)}}`` of ``value`` over seeds."""
    groups: dict = defaultdict(lambda: defaultdict(list))
    for row in rows:
        groups[row["method"]][row["n"]].append(row[value])
    return {m: {n: (float(np.mean(v)), float(np.std(v))) for n, v in sorted(by_n.items())}
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
    """
    from datasets import DatasetDict

    from sft_teach.baselines import scratch_classifier
    from sft_teach.training import finetune

    names = dataset["train"].features["label"].names

    def from_scratch(chosen, seed):
        model, tokenizer = scratch_classifier(names, seed=seed)  # random weights
        few = DatasetDict(train=dataset["train"].select(chosen), validation=dataset["validation"],
                          test=dataset["test"])
        return finetune(model, few, tokenizer=tokenizer, seed=seed, progress=False, save=False).predictions

    return from_scratch


ACADEMIC = {"num_train_epochs": 4, "learning_rate": 3e-4, "batch_size": 16}


def subset(dataset, per_class: int | None, seed: int):
    """``dataset`` with its train split cut to ``per_class`` examples per class (``None``: all)."""
    from datasets import DatasetDict

    train = dataset["train"]
    if per_class is None:
        return dataset
    classes = len(train.features["label"].names)
    picked = balanced_sample(train["label"], min(per_class * classes, len(train)), seed)
    return DatasetDict({**dataset, "train": train.select(picked)})


def train_classifier(dataset, seed: int = 0, *, start: str = "pretrained", keep: int | None = None,
                     freeze: int | None = None, techniques=(), model: str = "default", return_model: bool = False,
                     **settings) -> dict:
    """Train one classifier on ``dataset["train"]``, score it on ``dataset["test"]``.

    ``start``: ``"pretrained"`` or ``"scratch"`` (same architecture, random weights).
    ``keep=n``: keep embeddings and blocks 0..n-1, re-initialise the rest
    (:func:`sft_teach.layers.reinitialise_above`); ``freeze=n``: freeze the embeddings and
    blocks 0..n-1 (:func:`sft_teach.layers.freeze_below`). Yosinski's AnB is ``keep=n, freeze=n``.
    ``techniques``: any of :data:`sft_teach.ulmfit.TECHNIQUES`. Other ``settings`` override
    :data:`ACADEMIC`. Returns ``{"accuracy", "macro_f1", "seconds"}`` (and ``"model"``).
    """
    import time

    from sft_teach import layers, ulmfit
    from sft_teach.baselines import scratch_classifier
    from sft_teach.models import load_classifier
    from sft_teach.training import finetune

    settings = {**ACADEMIC, **settings}
    names = dataset["train"].features["label"].names
    start_time = time.perf_counter()
    if start == "scratch":
        net, tokenizer = scratch_classifier(names, model, seed=seed)
    else:
        import transformers

        transformers.set_seed(seed)  # the new head's initialisation
        net, tokenizer = load_classifier(model, names)
    if keep is not None:
        layers.reinitialise_above(net, keep, seed)
    if freeze is not None:
        layers.freeze_below(net, freeze)
    techniques = tuple(techniques)
    result = finetune(net, dataset, tokenizer=tokenizer, seed=seed, save=False, progress=False, eval_strategy="no",
                      callbacks=ulmfit.callbacks(techniques, net, settings["num_train_epochs"]),
                      optimizers=ulmfit.optimizers(techniques, settings["learning_rate"]) if techniques else None,
                      **settings)
    for p in net.parameters():  # leave nothing frozen behind
        p.requires_grad = True
    row = {"accuracy": result.metrics["accuracy"], "macro_f1": result.metrics["macro_f1"],
           "seconds": round(time.perf_counter() - start_time, 1)}
    if return_model:
        row["model"], row["tokenizer"] = result.trainer.model, tokenizer
    return row


@functools.lru_cache(maxsize=1)
def _frozen_encoder(model: str):
    """The pretrained body, loaded once per sweep: feature extraction never changes its weights."""
    from sft_teach.embeddings import load_encoder

    return load_encoder(model)


@functools.lru_cache(maxsize=16)
def _embedded(model: str, texts: tuple) -> np.ndarray:
    """Sentence embeddings of ``texts``, kept: a sweep scores every run on the same test split.

    Keyed on the whole tuple of texts, so a repeated list is embedded in exactly the same
    batches as the first time and gives bit-identical vectors. Returned read-only.
    """
    from sft_teach.embeddings import sentence_embeddings

    vectors = sentence_embeddings(texts, *_frozen_encoder(model))
    vectors.flags.writeable = False
    return vectors


def feature_extraction(dataset, seed: int = 0, model: str = "default") -> dict:
    """The frozen pretrained body's sentence embeddings + a logistic-regression head."""
    from sft_teach.baselines import embedding_head
    from sft_teach.metrics import scores

    train = _embedded(model, tuple(dataset["train"]["text"]))
    test = _embedded(model, tuple(dataset["test"]["text"]))
    head = embedding_head(train, dataset["train"]["label"])
    return scores(np.asarray(dataset["test"]["label"]), head.predict(test))


def tfidf(dataset, seed: int = 0) -> dict:
    """TF-IDF + logistic regression: a model that can use only the words of its labelled examples."""
    from sft_teach.baselines import tfidf_logreg
    from sft_teach.metrics import scores

    fitted = tfidf_logreg(dataset["train"]["text"], dataset["train"]["label"])
    return scores(np.asarray(dataset["test"]["label"]), fitted.predict(list(dataset["test"]["text"])))


def _table(runs, seeds, per_class, dataset) -> list[dict]:
    rows = []
    for seed in seeds:
        part = subset(dataset, per_class, seed)
        for name, run in runs.items():
            out = run(part, seed)
            rows.append({"method": name, "per_class": per_class, "seed": seed,
                         "accuracy": out["accuracy"], "macro_f1": out["macro_f1"]})
    return rows


def transfer_comparison(dataset, per_class: int, seeds=(0, 1, 2)) -> list[dict]:
    """From scratch vs feature extraction vs full fine-tuning, on the same examples and seeds."""
    runs = {"from scratch": lambda d, s: train_classifier(d, s, start="scratch"),
            "feature extraction": feature_extraction,
            "full fine-tuning": lambda d, s: train_classifier(d, s)}
    return _table(runs, seeds, per_class, dataset)


def layer_transfer(dataset, per_class: int, kept=(0, 1, 2, 3, 4, 5, 6), seeds=(0,)) -> list[dict]:
    """Yosinski et al.'s experiment: accuracy against the number of kept pretrained blocks n.

    ``"frozen"`` (their AnB): kept part frozen, the rest re-initialised and trained;
    ``"fine-tuned"`` (AnB+): the same start, everything trained.
    """
    rows = []
    for n in kept:
        runs = {"frozen": lambda d, s, n=n: train_classifier(d, s, keep=n, freeze=n),
                "fine-tuned": lambda d, s, n=n: train_classifier(d, s, keep=n)}
        rows += [{**row, "kept": n} for row in _table(runs, seeds, per_class, dataset)]
    return rows


ABLATION = {"plain fine-tuning": (), "+ discriminative": ("discriminative",), "+ STLR": ("stlr",),
            "+ gradual unfreezing": ("gradual_unfreezing",),
            "all three": ("discriminative", "stlr", "gradual_unfreezing")}


def ablation(dataset, per_class_budgets=(8, 32), seeds=(0, 1, 2), configs=None) -> list[dict]:
    """ULMFiT's techniques one at a time and together (:data:`ABLATION`), per budget and seed."""
    rows = []
    for per_class in per_class_budgets:
        runs = {name: (lambda d, s, t=t: train_classifier(d, s, techniques=t)) for name, t in (configs or ABLATION).items()}
        rows += _table(runs, seeds, per_class, dataset)
    return rows


def sample_efficiency(dataset, per_class_budgets=(4, 8, 16, 32, None), seeds=(0, 1, 2), methods=None) -> list[dict]:
    """Accuracy against labelled examples per class (ULMFiT's Figure 3), for each method.

    Methods: TF-IDF + LR, the same network from scratch, feature extraction, full fine-tuning.
    ``None`` in the budgets means all training examples.
    """
    runs = {"TF-IDF + LR": tfidf, "from scratch": lambda d, s: train_classifier(d, s, start="scratch"),
            "feature extraction": feature_extraction, "full fine-tuning": lambda d, s: train_classifier(d, s)}
    runs = {k: v for k, v in runs.items() if methods is None or k in methods}
    rows = []
    for per_class in per_class_budgets:
        for row in _table(runs, seeds, per_class, dataset):
            row["per_class"] = per_class if per_class is not None else round(len(dataset["train"]) / len(
                dataset["train"].features["label"].names))
            row["all"] = per_class is None
            rows.append(row)
    return rows


def results_dir() -> Path:
    """Where the precomputed sweeps live: inside an installed wheel, else ``benchmarks/results/``."""
    packaged = Path(__file__).resolve().parent / "_results"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "benchmarks" / "results"


def load_sweep(name: str) -> dict:
    """A precomputed sweep (``layers``, ``ablation`` or ``efficiency``) as ``benchmarks/academic.py`` saved it.

    The file holds ``rows`` (one dict per run) and how it was made: ``date``, ``minutes``,
    ``machine``, ``command``. It works the same from a clone and from an installed wheel, so a
    copied course (``sft-teach notebooks DIR``) reads it too.

    Taught in notebooks/03_transfer_learning.ipynb and notebooks/04_ulmfit_techniques.ipynb.
    """
    path = results_dir() / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in results_dir().glob("*.json"))
        raise FileNotFoundError(f"no precomputed sweep '{name}' in {results_dir()}: known sweeps are {', '.join(known) or 'none'}")
    return json.loads(path.read_text())


def mean_std(rows: list[dict], by=("method", "per_class"), value: str = "accuracy") -> list[dict]:
    """Rows grouped by ``by`` with the ``mean``, ``std`` (population) and count ``n`` of ``value``."""
    groups: dict = defaultdict(list)
    for row in rows:
        groups[tuple(row[k] for k in by)].append(row[value])
    return [{**dict(zip(by, key)), "mean": float(np.mean(v)), "std": float(np.std(v)), "n": len(v)}
            for key, v in groups.items()]
