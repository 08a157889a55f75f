"""One run on its own: its loss curve and its confusion matrix.

Part of :mod:`sft_teach.plots` (which lists every figure): data in, a
:class:`sft_teach.course_figure.CourseFigure` out, no global state. Taught in notebooks 01, 02, 05
and 07; ``sft-teach finetune`` saves both with its model.
"""

from __future__ import annotations

from collections import Counter
from itertools import cycle

import numpy as np
from matplotlib.figure import Figure

from sft_teach.course_figure import OKABE_ITO, new_figure, styled


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
    plot, where it covers no point of a jumpy curve. Taught in notebooks/02_technical_recipe.ipynb
    (01 draws it live as the model trains; 07 for its language models).
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

    Taught in notebooks/02_technical_recipe.ipynb (and 05, on a learner's own data).
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
