"""Methods compared: accuracy against labelled examples, and LoRA against full fine-tuning.

Part of :mod:`sft_teach.plots` (which lists every figure): data in, a
:class:`sft_teach.course_figure.CourseFigure` out, no global state. Taught in notebooks 01, 04 and
06.
"""

from __future__ import annotations

import matplotlib.ticker
import numpy as np
from matplotlib.figure import Figure

from sft_teach.course_figure import OKABE_ITO, method_colour, new_figure, styled


def _race_ticks(ns: list) -> list:
    """The counts to label on a log-2 axis: every one measured, except one whose label would touch
    the next (less than 0.6 of a doubling apart): the larger, the last measured, is kept."""
    kept = []
    for n in reversed(ns):
        if not kept or np.log2(kept[-1] / n) >= 0.6:
            kept.append(n)
    return sorted(kept)


@styled
def label_race(panels: dict, title: str = "", chance: float = 0.5, xlabel: str = "labelled training examples",
               tick_names: dict | None = None) -> Figure:
    """Accuracy against the number of labelled examples, one line per method, one panel per subset.

    ``panels``: ``{panel title: {method: {n: (mean, sd)}}}`` (:func:`sft_teach.label_race.summarise`); the
    band is mean ± sd, and none is drawn where sd is ``nan`` (a single run). ``tick_names``:
    ``{n: label}`` for a count better named than written ({70: "all, ≈70"}).
    Taught in notebooks/01_beginner_cats_and_dogs.ipynb (and ULMFiT's Figure 3 in 04).
    """
    fig = new_figure(figsize=(max(5.5, 4.6 * len(panels)), 4.2))
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    # a method keeps its colour and marker in every panel, and the legend names every method of any panel
    order = list(dict.fromkeys(method for methods in panels.values() for method in methods))
    line_of = {}  # method -> its line, for the legend (a label alone could be the reference's: "chance")
    for ax, (panel, methods) in zip(axes, panels.items()):
        for method, by_n in methods.items():
            k = order.index(method)
            ns = sorted(by_n)
            means = np.array([by_n[n][0] for n in ns])
            stds = np.array([by_n[n][1] for n in ns])
            colour = method_colour(method, OKABE_ITO[(k + 5) % 7])
            line_of[method], = ax.plot(ns, means, marker="os^Dv"[k % 5], color=colour, label=method)
            ax.fill_between(ns, means - stds, means + stds, color=colour, alpha=0.15)
        floor = ax.axhline(chance, color="grey", linestyle=":", label="chance")
        ax.set_xscale("log", base=2)
        ticks = _race_ticks(sorted({n for by_n in methods.values() for n in by_n}))  # every count measured
        ax.set_xticks(ticks, [(tick_names or {}).get(n, f"{n:g}") for n in ticks])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel(f"{xlabel} (log scale)")
        ax.set_title(panel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy")
    # below the panels, so that it covers no line
    labels, handles = [*order, "chance"], [*(line_of[method] for method in order), floor]
    if any(not np.isnan(sd) for methods in panels.values() for by_n in methods.values() for _, sd in by_n.values()):
        from matplotlib.patches import Patch

        # the bands are the spread of repeated runs, not the test set's noise: say which
        handles.append(Patch(color="grey", alpha=0.25))
        labels.append("shaded: ± 1 SD over repeated runs")
    # as many columns as fit the figure's width (about 0.075 inch a character at this size)
    column_width = 0.075 * max(len(label) for label in labels) + 0.7
    ncol = max(1, min(len(labels), int(fig.get_figwidth() // column_width)))
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol)
    if title:
        fig.suptitle(title)
    return fig


@styled
def lora_comparison(rows: list[dict], title: str = "") -> Figure:
    """Trainable parameters (log scale), test accuracy, and the memory of a training step
    (weights, gradients, optimizer state, activations, stacked) for each method.

    ``rows``: from :func:`sft_teach.lora.compare`, or one row per method averaged over seeds with
    ``accuracy_sd`` (sample SD) and ``n`` (seeds): the accuracy points then carry ± 1 SD whiskers
    (none for an SD of NaN, a single run's).
    Taught in notebooks/06_lora.ipynb.
    """
    names = [r["method"] for r in rows]
    x = np.arange(len(rows))
    fig = new_figure(figsize=(12, 3.6))
    trainable, accuracy, memory = fig.subplots(1, 3)
    colours = [method_colour(name, OKABE_ITO[5]) for name in names]
    # points, not bars: on a log axis a bar's length depends on where the axis starts, so 10x as many
    # parameters would not look 10x as tall; each point carries its count
    counts = [r["trainable"] for r in rows]
    trainable.scatter(x, counts, color=colours, s=40, zorder=3)
    for i, count in enumerate(counts):
        trainable.annotate(f"{count:,}", (i, count), xytext=(0, 6), textcoords="offset points", ha="center",
                           va="bottom", fontsize="small")
    trainable.set_yscale("log")
    trainable.set_ylim(bottom=min(counts) / 10, top=max(counts) * 8)
    trainable.set_xlim(-0.6, len(rows) - 0.4)
    trainable.set_ylabel("trainable parameters (log scale)")
    # points, not bars: the axis starts at 0.5, and a bar cut off there would make its length,
    # not its top, carry a difference it does not have
    scores = [r["accuracy"] for r in rows]
    spread = all("accuracy_sd" in r for r in rows)  # a spread over seeds: mean ± 1 sample SD
    # one run has no spread (an SD of NaN, as stats.mean_sd gives it): no whisker, not a NaN axis
    sds = [float(r["accuracy_sd"]) if spread and np.isfinite(r["accuracy_sd"]) else 0.0 for r in rows]
    for i, (row, score, sd, colour) in enumerate(zip(rows, scores, sds, colours)):
        shown = spread and np.isfinite(row["accuracy_sd"])
        # small points, so that a short whisker (an SD under 0.01) still shows beside its point
        accuracy.errorbar(i, score, yerr=sd if shown else None, fmt="o", color=colour, ms=5, capsize=4, lw=1.2)
        accuracy.annotate(f"{score:.3f}" + (f"\n± {sd:.3f}" if shown else ""), (i, score + sd), xytext=(0, 4),
                          textcoords="offset points", ha="center", va="bottom", fontsize="small")
    accuracy.set_xlim(-0.6, len(rows) - 0.4)
    # from 0.5, or lower when a method scores below it (a task of many classes), never hiding a point
    start = min(0.5, np.floor(10 * min(s - sd for s, sd in zip(scores, sds))) / 10)
    accuracy.set_ylim(start, 1.0)
    # said on the figure, not only beside it: a reader of the picture alone reads 0 at the bottom
    accuracy.annotate(f"axis starts at {start:g}", (0.02, start), xycoords=("axes fraction", "data"), xytext=(0, 3),
                      textcoords="offset points", fontsize="small", color="dimgrey")
    fewest = min(r["n"] for r in rows) if spread else 0  # the seeds behind the least certain point
    accuracy.set_ylabel(f"test accuracy (mean ± SD, {fewest} seed{'' if fewest == 1 else 's'})" if spread
                        else "test accuracy")
    bottom = np.zeros(len(rows))
    # greys with hatching, told apart by pattern as well as shade: the method colours of the other
    # panels mean methods, not tensors
    for part, colour, hatch in zip(("weights", "gradients", "optimizer", "activations"),
                                   ("#e0e0e0", "#bdbdbd", "#6e6e6e", "#2b2b2b"), ("", "///", "", "...")):
        values = np.array([r[part] for r in rows])
        memory.bar(x, values, bottom=bottom, label=part, color=colour, hatch=hatch, edgecolor="white",
                   linewidth=0.5)
        bottom += values
    memory.set_ylabel("memory of one training step (MiB)")
    memory.legend(fontsize="small", loc="upper right")
    trainable.set_title("what it trains")
    accuracy.set_title("how well it scores")
    memory.set_title("what a training step holds")
    for ax in (trainable, accuracy, memory):
        ax.set_xticks(x, names, rotation=30, ha="right")
        ax.grid(alpha=0.3, axis="y")
    if title:
        fig.suptitle(title)
    return fig
