"""Layer by layer: what each block transfers, a value per layer, which layers train when.

Part of :mod:`sft_teach.plots` (which lists every figure): data in, a
:class:`sft_teach.course_figure.CourseFigure` out, no global state. Taught in notebooks 03 and 04.
"""

from __future__ import annotations

from itertools import cycle

import numpy as np
from matplotlib.figure import Figure

from sft_teach.course_figure import OKABE_ITO, method_colour, new_figure, styled


@styled
def layer_transfer(curves: dict, baselines: dict | None = None, title: str = "", chance: float | None = None) -> Figure:
    """Accuracy against the number of kept pretrained blocks, in the style of Yosinski et al.'s Figure 2.

    ``curves``: ``{variant: {n: (mean, std)}}`` (e.g. ``"frozen"``, ``"fine-tuned"``);
    ``baselines``: ``{label: accuracy}`` drawn as horizontal lines; ``chance``: the score of a
    guess (1 / classes), drawn as a thin line, so the axis shows how far above it every point is.
    Taught in notebooks/03_transfer_learning.ipynb.
    """
    fig = new_figure(figsize=(6.4, 4.4))
    ax = fig.add_subplot()
    shift = 0.08 * (np.arange(len(curves)) - (len(curves) - 1) / 2)  # side by side, whiskers apart
    for k, ((variant, by_n), marker) in enumerate(zip(curves.items(), cycle("os^D"))):
        ns = sorted(by_n)
        means = np.array([by_n[n][0] for n in ns])
        stds = np.array([by_n[n][1] for n in ns])
        ax.errorbar(np.array(ns) + shift[k], means, yerr=stds, marker=marker, capsize=3, label=variant,
                    color=method_colour(variant, OKABE_ITO[(k + 5) % 7]))
    # the references in greys, not in a method's colour: a line that is not one of the curves
    for (label, value), (style, grey) in zip((baselines or {}).items(),
                                             cycle(((":", "black"), ("--", "dimgrey"), ("-.", "grey")))):
        ax.axhline(value, color=grey, linestyle=style, linewidth=1.2, label=label)
    if chance is not None:  # thinner and lighter than the references: a floor, not a method
        ax.axhline(chance, color="silver", linewidth=1, label=f"chance ({chance:.2f})")
    ax.margins(y=0.08)  # a reference at the top of the data stays clear of the frame
    ax.set_xlabel("n: pretrained blocks kept (the rest re-initialised)")
    ax.set_ylabel("test accuracy")
    ax.set_xticks(sorted({n for by_n in curves.values() for n in by_n}))
    ax.grid(alpha=0.3)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize="small")
    if title:
        ax.set_title(title)
    return fig


@styled
def per_layer(series: dict, ylabel: str, title: str = "", log: bool = False, errors: dict | None = None,
              values: str | None = None) -> Figure:
    """One value per layer group, side by side for each series: ``{series: {layer: value}}``.

    ``errors``: ``{series: {layer: sd}}``, drawn as ± 1 SD whiskers; ``values``: a format
    ("{:.3f}") to write each value above its bar, for differences a log axis hides. With ``log``,
    each value is a point, not a bar: on a log axis a bar's length depends on where the axis happens
    to start, so 0.004 would look a third of 0.020, not a fifth. Used for learning rates per layer,
    weight drift and CKA. Taught in notebooks/03_transfer_learning.ipynb and 04_ulmfit_techniques.ipynb.
    """
    layers: list = []  # every series' layers; one a later series adds goes before the next one it has drawn
    for by_layer in series.values():
        names = list(by_layer)
        for i, layer in enumerate(names):
            if layer not in layers:
                after = [name for name in names[i + 1:] if name in layers]
                layers.insert(layers.index(after[0]) if after else len(layers), layer)
    fig = new_figure(figsize=(max(5.0, 0.75 * len(layers) + 1.5), 3.4))
    ax = fig.add_subplot()
    width = 0.8 / len(series)
    for k, (name, by_layer) in enumerate(series.items()):
        sds = (errors or {}).get(name)
        x, heights = np.arange(len(layers)) + k * width, [by_layer.get(layer, np.nan) for layer in layers]
        whiskers = [sds.get(layer, 0.0) for layer in layers] if sds else None
        colour = method_colour(name, OKABE_ITO[k % 7])
        if log:
            ax.errorbar(x, heights, yerr=whiskers, fmt="o", ms=7, capsize=3, color=colour, label=name)
        else:
            bars = ax.bar(x, heights, width, label=name, color=colour, yerr=whiskers, capsize=3)
        labels = [values.format(by_layer[layer]) if layer in by_layer else "" for layer in layers] if values else []
        if values and log:  # above the point, or above its whisker
            for xi, height, label, up in zip(x, heights, labels, whiskers or [0.0] * len(x)):
                ax.annotate(label, (xi, height + up), xytext=(0, 7 if not up else 3), textcoords="offset points",
                            ha="center", va="bottom", fontsize="small")
        elif values:
            ax.bar_label(bars, labels=labels, fontsize="small", padding=2)
    if values:
        ax.margins(y=0.15)  # room for the values above the tallest bar
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


@styled
def unfreezing_timeline(timeline: list, groups: list, title: str = "") -> Figure:
    """Which layer groups train in which epoch (gradual unfreezing), as a grid of filled cells.

    ``timeline[e]``: the trainable group names in epoch ``e``; ``groups``: all names, bottom-up.
    Taught in notebooks/04_ulmfit_techniques.ipynb.
    """
    grid = np.array([[name in epoch for epoch in timeline] for name in groups], dtype=float)
    fig = new_figure(figsize=(max(5.0, 1.4 + 0.9 * len(timeline)), 0.4 * len(groups) + 1.2))
    ax = fig.add_subplot()
    ax.imshow(grid, cmap="Greens", vmin=0, vmax=1.3, aspect="auto", origin="lower")
    ax.set_yticks(range(len(groups)), groups)
    ax.set_xticks(range(len(timeline)), [f"epoch {e + 1}" for e in range(len(timeline))])
    ax.set_title(title or "which layers train in each epoch\n(green: trained, white: frozen)")
    return fig
