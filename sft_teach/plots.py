"""Pure matplotlib functions: data in, a figure out, no global state.

Each function draws one of the course's figures and returns a
:class:`sft_teach.course_figure.CourseFigure`, which shows itself as a PNG in any Jupyter front end
(in a fresh kernel too, where a plain ``Figure`` made without pyplot shows as text), in the course's
style and colours, with a title broken into lines that fit: see :mod:`sft_teach.course_figure`.
Importing this module registers nothing and changes no setting.
"""

from __future__ import annotations

from collections import Counter
from itertools import cycle

import matplotlib.ticker
import numpy as np
from matplotlib.figure import Figure

from sft_teach.course_figure import OKABE_ITO, method_colour, new_figure, styled


@styled
def loss_curve(history: dict, total_steps: int | None = None,
               title: str = "the loss falls as the model learns", kept_step: int | None = None,
               head_steps: int | None = None, kept_label: str = "weights kept", batches_per_step: int = 1,
               references: dict | None = None, per: str | None = None, resumed_step: int | None = None) -> Figure:
    """Training loss as logged (each point the mean over the steps since the previous one), with
    evaluation loss per epoch on top.

    ``history`` is :meth:`sft_teach.callbacks.HistoryCallback.as_dict` output; a ``"head"`` entry
    (``finetune(head_epochs=...)``) is drawn first, its steps before those of all the layers:
    ``head_steps`` of them (``metrics["head_steps"]``; without it, up to the last one logged).
    ``kept_step``: the step whose weights were kept (the best epoch's end), marked by a line
    labelled ``kept_label``. ``batches_per_step``: batches a step adds up before it updates the
    weights (gradient accumulation), said on the x axis. ``references``: ``{label: loss}`` drawn as
    grey horizontal lines (a uniform guess's loss, say). ``per``: what one loss is the mean over
    ("answer token"), said on the y axis. ``resumed_step``: the checkpoint's step a resumed run went
    on from (a step of the all-layers phase, drawn after the head-only phase's steps), marked by a
    line: the first loss logged after it is the mean of the steps since the resume only, fewer than
    a point's usual number when the checkpoint fell between two logs. The legend sits below the
    plot, where it covers no point of a jumpy curve. Taught in notebooks/02_technical_recipe.ipynb.
    """
    from matplotlib.ticker import MaxNLocator

    if not hasattr(history, "get"):  # a list of logged rows, say: not an AttributeError from inside
        from sft_teach.errors import ConfigError

        raise ConfigError(f"loss_curve takes the whole history, a dict {{'train': [...], 'eval': [...]}} such as "
                          f"result.history, got a {type(history).__name__}")
    head = history.get("head", [])
    crowded = bool(head) or kept_step is not None or bool(references) or resumed_step is not None  # two rows of legend entries
    fig = new_figure(figsize=(6, 4.2 if crowded else 3.8))
    ax = fig.add_subplot()
    # the head-only phase's steps come first; its last step is logged only when the logging interval
    # divides the step count, so the count itself says where the phase ends
    offset = (head_steps or head[-1]["step"]) if head else 0
    if head:
        ax.plot([r["step"] for r in head], [r["loss"] for r in head], marker=".", color=OKABE_ITO[2],
                label=f"training loss, head alone ({_averaged_steps(head)})")
        ax.axvline(offset, color="grey", linestyle=":", linewidth=1, label="head alone ends, all layers train")
    train = history.get("train", [])
    if train:
        mean_of = _averaged_steps(train)
        ax.plot([offset + r["step"] for r in train], [r["loss"] for r in train], marker=".", color=OKABE_ITO[0],
                label=(f"training loss ({mean_of})" if not head else f"training loss, all layers ({mean_of})"))
    evals = [r for r in history.get("eval", []) if "eval_loss" in r]
    if evals:
        ax.plot([offset + r["step"] for r in evals], [r["eval_loss"] for r in evals], marker="s", linestyle="--",
                color=OKABE_ITO[3], label="validation loss (per epoch)")
    if resumed_step is not None:  # the steps between the last log and the checkpoint are in no point
        after = [r["step"] for r in train if r["step"] > resumed_step]
        n = after[0] - resumed_step if after else 0
        since = " (next point: one step)" if n == 1 else f" (next point: {n}-step mean)" if n else ""
        ax.axvline(offset + resumed_step, color="grey", linestyle="--", linewidth=1, label=f"resumed{since}")
    if kept_step is not None:
        ax.axvline(offset + kept_step, color=OKABE_ITO[5], linewidth=2, alpha=0.6, label=kept_label)
    for (label, value), style in zip((references or {}).items(), cycle((":", "-.", "--"))):  # more: styles repeat
        ax.axhline(value, color="grey", linestyle=style, linewidth=1.2, label=label)
    if total_steps:  # a little room on the right, so the last points are not cut in half
        ax.set_xlim(0, (offset + total_steps) * 1.03)
    each = "one batch each" if batches_per_step == 1 else f"{batches_per_step} batches each, accumulated"
    ax.set_xlabel(f"optimiser step ({each})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole: no tick at 2.5 on a short run
    ax.set_ylabel(f"cross-entropy loss (nats per {per})" if per else "cross-entropy loss (nats)")
    ax.set_ylim(bottom=0)
    if references:  # a reference at the top of the curves is drawn inside the frame, not on it
        ax.set_ylim(top=max(ax.get_ylim()[1], 1.08 * max(references.values())))
    if ax.get_legend_handles_labels()[0]:  # below the plot: a spike of the training loss is never hidden
        fig.legend(loc="outside lower center", ncol=2, fontsize="small")
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return fig


def _averaged_steps(logged: list[dict]) -> str:
    """What one point of a logged loss is: Trainer logs the mean loss of the steps since its last log,
    every ``logging_steps`` steps (the usual gap between two logged steps; the last may be shorter)."""
    steps = [r["step"] for r in logged]
    gaps = [b - a for a, b in zip(steps, steps[1:])] or steps[:1]
    every = Counter(gaps).most_common(1)[0][0]  # on a tie, the first gap: the last one may be cut short
    return "each step" if every == 1 else f"{every}-step means"


@styled
def confusion_plot(matrix, names, title: str = "", unit: str = "examples") -> Figure:
    """A confusion matrix as a labelled heat map (rows: true class, columns: predicted).

    ``matrix``: counts, written as whole numbers, or shares (a row-normalised matrix), written to two
    decimals.

    ``unit`` names what is counted (the colour bar's label): "notes", "messages", ...

    Taught in notebooks/02_technical_recipe.ipynb.
    """
    matrix = np.asarray(matrix)
    if matrix.shape != (len(names), len(names)):  # else the ticks would name the wrong rows, silently
        from sft_teach.errors import ConfigError

        raise ConfigError(f"confusion_plot: a matrix of {len(names)} classes is {len(names)} x {len(names)}, one "
                          f"row and one column per name in names; got shape {matrix.shape} for {len(names)} names")
    size = max(3.2, 1.2 + 0.55 * len(names))
    fig = new_figure(figsize=(size + 0.8, size))
    ax = fig.add_subplot()
    image = ax.imshow(matrix, cmap="Blues", vmin=0)  # from 0: a few mistakes look few, not like none
    ax.set_xticks(range(len(names)), names)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    threshold = matrix.max() / 2 if matrix.size else 0
    counts = bool(np.all(np.mod(matrix, 1) == 0))  # else shares (a row-normalised matrix): two decimals
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, f"{value:.0f}" if counts else f"{value:.2f}", ha="center", va="center",
                color="white" if value > threshold else "black")
    if title:
        ax.set_title(title)
    from matplotlib.ticker import MaxNLocator

    fig.colorbar(image, ax=ax, shrink=0.8, label=unit,
                 ticks=MaxNLocator(integer=True) if counts else None)  # counts: no 0.5 ticks
    # names that would run into each other ("ShippingTech Support") are slanted: measured as laid
    # out, with the colour bar in place, and with room to spare
    fig.draw_without_rendering()
    boxes = [label.get_window_extent() for label in ax.get_xticklabels()]
    if len(names) > 4 or any(left.x1 + 6 > right.x0 for left, right in zip(boxes, boxes[1:])):
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
        fig.draw_without_rendering()  # laid out again with the slanted names, or the first picture cuts them
    return fig


@styled
def lr_schedule(curves: dict, total_steps: int, title: str = "") -> Figure:
    """Learning rate against step for one or more schedules ``{name: [lr per step]}``.

    Taught in notebooks/02_technical_recipe.ipynb.
    """
    fig = new_figure(figsize=(6, 3.6))
    ax = fig.add_subplot()
    for (name, values), style in zip(curves.items(), cycle(("-", "--", "-.", ":"))):
        ax.plot(range(len(values)), values, linestyle=style, linewidth=2, label=name)
    ax.axvline(total_steps, color="grey", linestyle=":", label=f"end of training ({total_steps} steps)")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("learning rate")
    fig.legend(loc="outside lower center", ncol=2, fontsize="small")  # covers neither a curve nor the end line
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return fig


@styled
def embedding_map(points, labels, names, title: str = "") -> Figure:
    """A 2-D scatter of sentence embeddings ``(n, 2)``, one colour per true class.

    Taught in notebooks/01_beginner_cats_and_dogs.ipynb.
    """
    from sft_teach.errors import ConfigError

    points, labels, names = np.asarray(points), np.asarray(labels), list(names)
    # each refusal is a map that would have been drawn wrong in silence: the first two of 384
    # dimensions, points left out, or no point at all for class names compared with ids
    if points.ndim != 2 or points.shape[1] != 2:
        raise ConfigError(f"embedding_map draws points of 2 coordinates, (n, 2), got the shape {points.shape}: "
                          f"project the embeddings first, project_2d(vectors)")
    if labels.shape != (len(points),):
        raise ConfigError(f"embedding_map: {len(points)} points and {labels.size} labels: give one label per point")
    ids = np.issubdtype(labels.dtype, np.integer)
    wrong = [v for v in labels.tolist() if not (ids and 0 <= v < len(names))]
    if wrong:
        raise ConfigError(f"embedding_map: labels are class ids from 0 to {len(names) - 1}, one per name in names, "
                          f"got {wrong[0]!r} among them: e.g. the split's 'label' column")
    fig = new_figure(figsize=(5.5, 4.2))
    ax = fig.add_subplot()
    for class_id, name in enumerate(names):
        chosen = labels == class_id  # a shape as well as a colour: readable in grey and for colour blindness
        ax.scatter(points[chosen, 0], points[chosen, 1], s=14, alpha=0.65, marker="o^sDv<>p*h"[class_id % 10],
                   color=OKABE_ITO[class_id % 7], label=name)
    ax.set_xlabel("first principal component (no unit)")
    ax.set_ylabel("second principal component (no unit)")
    # below the plot, as the course's other legends: it covers no point, and leaves the title the
    # figure's whole width (beside the plot, at the top, it covered a long title's end)
    fig.legend(*ax.get_legend_handles_labels(), title="true label", loc="outside lower center",
               ncol=min(len(names), 5))
    if title:
        ax.set_title(title)
    return fig


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
    for ax, (panel, methods) in zip(axes, panels.items()):
        for method, by_n in methods.items():
            k = order.index(method)
            ns = sorted(by_n)
            means = np.array([by_n[n][0] for n in ns])
            stds = np.array([by_n[n][1] for n in ns])
            colour = method_colour(method, OKABE_ITO[(k + 5) % 7])
            ax.plot(ns, means, marker="os^Dv"[k % 5], color=colour, label=method)
            ax.fill_between(ns, means - stds, means + stds, color=colour, alpha=0.15)
        ax.axhline(chance, color="grey", linestyle=":", label="chance")
        ax.set_xscale("log", base=2)
        ticks = _race_ticks(sorted({n for by_n in methods.values() for n in by_n}))  # every count measured
        ax.set_xticks(ticks, [(tick_names or {}).get(n, f"{n:g}") for n in ticks])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel(f"{xlabel} (log scale)")
        ax.set_title(panel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy")
    # below the panels, so that it covers no line
    drawn = {label: handle for ax in axes for handle, label in zip(*ax.get_legend_handles_labels())}
    labels = [*order, "chance"]
    handles = [drawn[label] for label in labels]
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
def data_overview(summary: dict, lengths, max_length: int, lengths_of: str = "text") -> Figure:
    """Two panels for a learner's own data: examples per class in each split, and token lengths.

    ``summary`` is :func:`sft_teach.checks.summary` output; ``lengths`` are tokens per text
    (:func:`sft_teach.checks.token_lengths`), of the texts ``lengths_of`` names ("training text",
    say); texts right of the ``max_length`` line will be truncated, and the figure says how many
    there are, since one text is a bar too low to see. Taught in notebooks/05_your_own_data.ipynb.
    """
    fig = new_figure(figsize=(9, 3.2))
    balance, histogram = fig.subplots(1, 2)
    splits = list(summary)
    names = list(summary[splits[0]]["classes"])
    width = 0.8 / len(splits)
    for k, split in enumerate(splits):
        counts = [summary[split]["classes"][n] for n in names]
        bars = balance.bar(np.arange(len(names)) + k * width, counts, width, label=split)
        balance.bar_label(bars, fontsize="small", padding=2)  # a class of 3 is a bar too low to read
    balance.set_xticks(np.arange(len(names)) + width * (len(splits) - 1) / 2, names,
                       rotation=30 if len(names) > 3 else 0, ha="right" if len(names) > 3 else "center")
    balance.set_ylabel("examples")
    balance.margins(y=0.12)  # room for the counts above the bars
    if len(splits) > 1:
        balance.set_title("examples per class and split")
        balance.legend()
    else:
        balance.set_title("examples per class" if splits[0] == "all" else f"examples per class ({splits[0]})")
    balance.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))  # counts: no tick at 2.5
    lengths = np.asarray(lengths)
    # about 30 bins, each a whole number of tokens wide: short texts get no bars thinner than a token
    step = max(1, int(np.ceil(np.ptp(lengths) / 30))) if len(lengths) else 1
    edges = np.arange(lengths.min(), lengths.max() + step + 1, step) - 0.5 if len(lengths) else 30
    histogram.hist(lengths, bins=edges, color=OKABE_ITO[5])
    histogram.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    histogram.axvline(max_length, color=OKABE_ITO[3], linestyle="--", label=f"max_length = {max_length}: longer is cut")
    longer = lengths[lengths > max_length]
    if len(longer):
        top = histogram.get_ylim()[1]
        # two short lines starting just right of the max_length line, so no word crosses it
        histogram.annotate(f"{len(longer)} {lengths_of}{'s' * (len(longer) != 1)} longer"
                           + (f":\n{longer.max()} tokens" if len(longer) == 1 else f",\nup to {longer.max()} tokens"),
                           xy=(longer.max(), 0), xytext=(max_length + 0.02 * np.ptp(histogram.get_xlim()), 0.45 * top),
                           ha="left", va="center", fontsize="small",
                           arrowprops={"arrowstyle": "->", "color": OKABE_ITO[3]})
    histogram.set_xlabel(f"tokens per {lengths_of}")
    histogram.set_ylabel(f"{lengths_of}s")
    histogram.set_title(f"tokens per {lengths_of}")
    histogram.legend()
    return fig


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
    layers = list(dict.fromkeys(layer for by_layer in series.values() for layer in by_layer))  # every series'
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


@styled
def lr_finder(result: dict, title: str = "", marks: dict | None = None) -> Figure:
    """Smoothed loss against learning rate (log scale) from ``schedules.lr_find``, with the rates
    two rules read off it: the steepest fall (its ``suggestion``) and fastai's minimum / 10.

    The y axis stops two and a half dips above the starting loss (the dip: from it to the lowest), so
    that a shallow dip is visible rather than flattened by the blow-up at the largest rates (which leaves
    the top). ``marks``: more rates to
    draw, ``{label: rate}`` (the rate a run used, say).
    Taught in notebooks/04_ulmfit_techniques.ipynb.
    """
    lrs, losses = np.asarray(result["lrs"], dtype=float), np.asarray(result["losses"], dtype=float)
    finite = np.isfinite(losses)  # a diverged run ends in inf
    if not finite.any():
        from sft_teach.errors import ConfigError

        raise ConfigError("lr_finder: every loss is inf or nan, so the run diverged at its first rates: run "
                          "schedules.lr_find again with a lower start_lr")
    lowest = int(np.nanargmin(np.where(finite, losses, np.nan)))
    fig = new_figure(figsize=(6, 3.9))
    ax = fig.add_subplot()
    ax.plot(lrs, losses, color=OKABE_ITO[0], label="smoothed loss")
    ax.plot([lrs[lowest]], [losses[lowest]], "o", color=OKABE_ITO[0], label=f"lowest: {lrs[lowest]:.1e}")
    ax.axvline(result["suggestion"], color=OKABE_ITO[3], linestyle="--", label=f"steepest fall: {result['suggestion']:.1e}")
    ax.axvline(lrs[lowest] / 10, color=OKABE_ITO[2], linestyle="-.", label=f"lowest / 10: {lrs[lowest] / 10:.1e}")
    for (label, rate), style in zip((marks or {}).items(), cycle((":", (0, (5, 1)), (0, (1, 3))))):
        ax.axvline(rate, color="grey", linestyle=style, label=label)
    start, low = losses[finite][0], losses[lowest]  # the first finite loss: one at inf has no height
    dip = max(start - low, 0.05 * abs(start) or 0.05)
    ax.set_ylim(low - 0.5 * dip, max(low, start) + 2.5 * dip)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss (smoothed, nats)")
    ax.grid(alpha=0.3)
    fig.legend(loc="outside lower center", ncol=3, fontsize="small")
    if title:
        ax.set_title(title)
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
    accuracy.set_ylabel(f"test accuracy (mean ± SD, {min(r['n'] for r in rows)} seeds)" if spread else "test accuracy")
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


@styled
def learning_rate_sweep(curves: dict, chosen: dict | None = None, ylabel: str = "validation accuracy",
                        title: str = "") -> Figure:
    """A score against the peak learning rate (log scale), one line per configuration.

    ``curves``: name -> {rate: (mean, sd)} over seeds (``sd`` NaN for one seed: no bar);
    ``chosen``: name -> the rate chosen for it, ringed. Taught in notebooks/02_technical_recipe.ipynb.
    """
    fig = new_figure(figsize=(6, 3.4))
    ax = fig.add_subplot()
    from sft_teach.training import rate_text

    for i, (name, points) in enumerate(curves.items()):
        rates = sorted(points)
        means = [points[r][0] for r in rates]
        sds = [0.0 if np.isnan(points[r][1]) else points[r][1] for r in rates]
        colour = OKABE_ITO[i % 7] if len(curves) > 1 else OKABE_ITO[0]
        ax.errorbar(rates, means, yerr=sds, marker="o", capsize=4, color=colour, label=name, zorder=3)
        if chosen and name in chosen:  # behind the error bar (zorder), which it would otherwise hide
            ax.plot([chosen[name]], [points[chosen[name]][0]], "o", markersize=16, markerfacecolor="none",
                    markeredgecolor=OKABE_ITO[3], markeredgewidth=1.5, zorder=2, label=f"chosen: {rate_text(chosen[name])}")
    ax.set_xscale("log")
    every = sorted({rate for swept in curves.values() for rate in swept})
    ax.set_xticks(every, [rate_text(r) for r in every])  # every rate swept, written as the code writes it
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xlabel("peak learning rate (log scale)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return fig
