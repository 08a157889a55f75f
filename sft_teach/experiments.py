"""Sweeps that return plain tables (lists of dicts), for notebooks and benchmarks.

Taught in notebooks/01_beginner_cats_and_dogs.ipynb.
"""

from __future__ import annotations

from collections import defaultdict
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
