"""Pure matplotlib functions: data in, ``matplotlib.figure.Figure`` out.

They use ``Figure`` directly rather than ``pyplot``, so they change no global state,
draw nothing twice in a notebook, and work the same headless.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def loss_curve(history: dict, total_steps: int | None = None) -> Figure:
    """Training loss per logged step, with evaluation loss per epoch on top.

    ``history`` is :meth:`sft_teach.callbacks.HistoryCallback.as_dict` output.
    Taught in notebooks/02_technical_recipe.ipynb.
    """
    fig = Figure(figsize=(6, 3.2), layout="constrained")
    ax = fig.add_subplot()
    train = history.get("train", [])
    if train:
        ax.plot([r["step"] for r in train], [r["loss"] for r in train], marker=".", label="training loss")
    evals = [r for r in history.get("eval", []) if "eval_loss" in r]
    if evals:
        ax.plot([r["step"] for r in evals], [r["eval_loss"] for r in evals], marker="o", label="validation loss")
    if total_steps:
        ax.set_xlim(0, total_steps)
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("cross-entropy loss")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    return fig


def confusion_plot(matrix, names, title: str = "") -> Figure:
    """A confusion matrix as a labelled heat map (rows: true class, columns: predicted).

    Taught in notebooks/02_technical_recipe.ipynb.
    """
    matrix = np.asarray(matrix)
    size = max(3.2, 1.2 + 0.55 * len(names))
    fig = Figure(figsize=(size + 0.8, size), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(names)), names, rotation=45 if len(names) > 4 else 0, ha="right" if len(names) > 4 else "center")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, str(value), ha="center", va="center", color="white" if value > threshold else "black")
    if title:
        ax.set_title(title)
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def lr_schedule(curves: dict, total_steps: int, title: str = "") -> Figure:
    """Learning rate against step for one or more schedules ``{name: [lr per step]}``.

    Taught in notebooks/02_technical_recipe.ipynb.
    """
    fig = Figure(figsize=(6, 3), layout="constrained")
    ax = fig.add_subplot()
    for name, values in curves.items():
        ax.plot(range(len(values)), values, label=name)
    ax.axvline(total_steps, color="grey", linestyle=":", label=f"end of training ({total_steps} steps)")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("learning rate")
    ax.legend()
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return fig


def embedding_map(points, labels, names, title: str = "") -> Figure:
    """A 2-D scatter of sentence embeddings ``(n, 2)``, one colour per true class.

    Taught in notebooks/01_beginner_cats_and_dogs.ipynb.
    """
    points, labels = np.asarray(points), np.asarray(labels)
    fig = Figure(figsize=(5.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for class_id, name in enumerate(names):
        chosen = labels == class_id
        ax.scatter(points[chosen, 0], points[chosen, 1], s=12, alpha=0.6, label=name)
    ax.set_xlabel("first principal component")
    ax.set_ylabel("second principal component")
    ax.legend(title="true label")
    if title:
        ax.set_title(title)
    return fig


def label_race(panels: dict, title: str = "", chance: float = 0.5, xlabel: str = "labelled training examples") -> Figure:
    """Accuracy against the number of labelled examples, one line per method, one panel per subset.

    ``panels``: ``{panel title: {method: {n: (mean, std)}}}`` (see ``experiments.summarise``).
    Taught in notebooks/01_beginner_cats_and_dogs.ipynb (and ULMFiT's Figure 3 in 04).
    """
    fig = Figure(figsize=(5 * len(panels), 3.8), layout="constrained")
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    for ax, (panel, methods) in zip(axes, panels.items()):
        for method, by_n in methods.items():
            ns = sorted(by_n)
            means = np.array([by_n[n][0] for n in ns])
            stds = np.array([by_n[n][1] for n in ns])
            ax.plot(ns, means, marker="o", label=method)
            ax.fill_between(ns, means - stds, means + stds, alpha=0.15)
        ax.axhline(chance, color="grey", linestyle=":", label="chance")
        ax.set_xscale("log", base=2)
        ax.set_xlabel(xlabel)
        ax.set_title(panel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy")
    axes[0].legend(loc="lower right", fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def data_overview(summary: dict, lengths, max_length: int) -> Figure:
    """Two panels for a learner's own data: examples per class in each split, and token lengths.

    ``summary`` is :func:`sft_teach.checks.summary` output; ``lengths`` are tokens per training
    text (:func:`sft_teach.checks.token_lengths`); texts right of the ``max_length`` line
    will be truncated. Taught in notebooks/05_your_own_data.ipynb.
    """
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    balance, histogram = fig.subplots(1, 2)
    splits = list(summary)
    names = list(summary[splits[0]]["classes"])
    width = 0.8 / len(splits)
    for k, split in enumerate(splits):
        counts = [summary[split]["classes"][n] for n in names]
        balance.bar(np.arange(len(names)) + k * width, counts, width, label=split)
    balance.set_xticks(np.arange(len(names)) + width * (len(splits) - 1) / 2, names,
                       rotation=30 if len(names) > 3 else 0, ha="right" if len(names) > 3 else "center")
    balance.set_ylabel("examples")
    balance.set_title("label balance")
    balance.legend()
    histogram.hist(lengths, bins=30, color="tab:gray")
    histogram.axvline(max_length, color="tab:red", linestyle="--", label=f"max_length = {max_length}")
    histogram.set_xlabel("tokens per training text")
    histogram.set_ylabel("texts")
    histogram.set_title("text lengths")
    histogram.legend()
    return fig


def layer_transfer(curves: dict, baselines: dict | None = None, title: str = "") -> Figure:
    """Accuracy against the number of kept pretrained blocks, in the style of Yosinski et al.'s Figure 2.

    ``curves``: ``{variant: {n: (mean, std)}}`` (e.g. ``"frozen"``, ``"fine-tuned"``);
    ``baselines``: ``{label: accuracy}`` drawn as horizontal lines. Taught in
    notebooks/03_transfer_learning.ipynb.
    """
    fig = Figure(figsize=(6.4, 3.8), layout="constrained")
    ax = fig.add_subplot()
    for (variant, by_n), marker in zip(curves.items(), "os^D"):
        ns = sorted(by_n)
        means = np.array([by_n[n][0] for n in ns])
        stds = np.array([by_n[n][1] for n in ns])
        ax.errorbar(ns, means, yerr=stds, marker=marker, capsize=3, label=variant)
    for (label, value), style in zip((baselines or {}).items(), (":", "--", "-.")):
        ax.axhline(value, color="grey", linestyle=style, label=label)
    ax.set_xlabel("n: pretrained blocks kept (the rest re-initialised)")
    ax.set_ylabel("test accuracy")
    ax.set_xticks(sorted({n for by_n in curves.values() for n in by_n}))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return fig


def per_layer(series: dict, ylabel: str, title: str = "", log: bool = False) -> Figure:
    """One value per layer group, side by side for each series: ``{series: {layer: value}}``.

    Used for learning rates per layer, weight drift and CKA. Taught in
    notebooks/03_transfer_learning.ipynb and 04_ulmfit_techniques.ipynb.
    """
    layers = list(next(iter(series.values())))
    fig = Figure(figsize=(max(5.0, 0.75 * len(layers) + 1.5), 3.4), layout="constrained")
    ax = fig.add_subplot()
    width = 0.8 / len(series)
    for k, (name, values) in enumerate(series.items()):
        ax.bar(np.arange(len(layers)) + k * width, [values.get(layer, np.nan) for layer in layers], width, label=name)
    ax.set_xticks(np.arange(len(layers)) + width * (len(series) - 1) / 2, layers, rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.grid(alpha=0.3, axis="y")
    if len(series) > 1:
        ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return fig


def unfreezing_timeline(timeline: list, groups: list, title: str = "") -> Figure:
    """Which layer groups train in which epoch (gradual unfreezing), as a grid of filled cells.

    ``timeline[e]``: the trainable group names in epoch ``e``; ``groups``: all names, bottom-up.
    Taught in notebooks/04_ulmfit_techniques.ipynb.
    """
    grid = np.array([[name in epoch for epoch in timeline] for name in groups], dtype=float)
    fig = Figure(figsize=(1.2 + 0.9 * len(timeline), 0.45 * len(groups) + 1.2), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(grid, cmap="Greens", vmin=0, vmax=1.3, aspect="auto", origin="lower")
    ax.set_yticks(range(len(groups)), groups)
    ax.set_xticks(range(len(timeline)), [f"epoch {e + 1}" for e in range(len(timeline))])
    ax.set_title(title or "trained (green) or frozen (white), per epoch")
    return fig


def lr_finder(result: dict, title: str = "") -> Figure:
    """Smoothed loss against learning rate (log scale) from ``schedules.lr_find``, with its suggestion.

    Taught in notebooks/04_ulmfit_techniques.ipynb.
    """
    fig = Figure(figsize=(6, 3.4), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(result["lrs"], result["losses"])
    ax.axvline(result["suggestion"], color="tab:red", linestyle="--", label=f"steepest fall: {result['suggestion']:.1e}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss (smoothed)")
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return fig


def lora_comparison(rows: list[dict], title: str = "") -> Figure:
    """Trainable parameters (log scale), test accuracy, and the memory of a training step
    (weights, gradients, optimizer state, activations, stacked) for each method.

    ``rows``: from :func:`sft_teach.lora.compare`. Taught in notebooks/06_lora.ipynb.
    """
    names = [r["method"] for r in rows]
    x = np.arange(len(rows))
    fig = Figure(figsize=(12, 3.6), layout="constrained")
    trainable, accuracy, memory = fig.subplots(1, 3)
    trainable.bar(x, [r["trainable"] for r in rows], color="tab:blue")
    trainable.set_yscale("log")
    trainable.set_ylabel("trainable parameters (log scale)")
    accuracy.bar(x, [r["accuracy"] for r in rows], color="tab:green")
    accuracy.set_ylim(0.5, 1.0)
    accuracy.set_ylabel("test accuracy")
    bottom = np.zeros(len(rows))
    for part in ("weights", "gradients", "optimizer", "activations"):
        values = np.array([r[part] for r in rows])
        memory.bar(x, values, bottom=bottom, label=part)
        bottom += values
    memory.set_ylabel("memory of one training step (MiB)")
    memory.legend(fontsize="small")
    for ax in (trainable, accuracy, memory):
        ax.set_xticks(x, names, rotation=30, ha="right")
        ax.grid(alpha=0.3, axis="y")
    if title:
        fig.suptitle(title)
    return fig
