"""The data and what the model makes of it: labels and lengths, and the embeddings on a map.

Part of :mod:`sft_teach.plots` (which lists every figure): data in, a
:class:`sft_teach.course_figure.CourseFigure` out, no global state. Taught in notebooks 01 and 05.
"""

from __future__ import annotations

import matplotlib.ticker
import numpy as np
from matplotlib.figure import Figure

from sft_teach.course_figure import OKABE_ITO, new_figure, styled


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
