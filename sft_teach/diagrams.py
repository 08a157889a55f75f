"""Two diagrams that show the recipe instead of describing it: boxes and arrows, no data.

* :func:`fine_tuning_diagram`: pretrained body -> new head -> fine-tuning, in three panels:
  which part comes from pretraining, which part is new, and which parts each step trains.
* :func:`training_loop_diagram`: one training step as ``Trainer`` runs it (batch -> model ->
  loss -> gradients -> update -> next batch), each box labelled with the name the code uses,
  and the ``TrainingArguments`` that set the loop's numbers.

Both are drawn like the course's plots (:func:`sft_teach.course_figure.new_figure` inside
:func:`sft_teach.course_figure.styled`), so they show as a PNG in a fresh kernel, and use the course's
colours: the pretrained body in the fine-tuned method's blue, the new head in the frozen-body
method's orange (:func:`sft_teach.course_figure.method_colour`).

Taught in notebooks/01_beginner_cats_and_dogs.ipynb.
"""

from __future__ import annotations

from matplotlib.colors import to_rgba
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from sft_teach.errors import ConfigError
from sft_teach.course_figure import OKABE_ITO, method_colour, new_figure, styled
from sft_teach.setting_checks import check_settings, whole
from sft_teach.training import rate_text as _rate

BODY = method_colour("fine-tuned")          # blue: knowledge brought from pretraining
HEAD = method_colour("frozen body + head")  # orange: the part that is new for this task
GREY = "#777777"
TRAINED = OKABE_ITO[3]                      # vermilion: "this part learns in this step"


def _tint(colour: str, alpha: float = 0.22):
    """A light fill of ``colour`` (opaque, so boxes hide what is behind them)."""
    r, g, b, _ = to_rgba(colour)
    return (1 - alpha + alpha * r, 1 - alpha + alpha * g, 1 - alpha + alpha * b, 1.0)


def _box(ax, x, y, w, h, lines, colour, dashed=False, trained=None, size=10.0, line_height=2.7):
    """A rounded box at (x, y) (lower left) with ``lines`` centred, one text per line.

    A line is a string, or ``(text, kind)`` with kind ``"title"`` (bold) or ``"code"``
    (monospace: a name as the code spells it). ``trained`` adds a tag in the lower right corner.
    """
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=1.2",
                                facecolor=_tint(colour), edgecolor=colour, linewidth=2.4 if trained else 1.4,
                                linestyle="--" if dashed else "-"))
    lines = [line if isinstance(line, tuple) else (line, "plain") for line in lines]
    tag_room = 1.2 if trained is not None else 0.0
    first = y + h / 2 + tag_room + line_height * (len(lines) - 1) / 2
    for number, (text, kind) in enumerate(lines):
        ax.text(x + w / 2, first - number * line_height, text, ha="center", va="center",
                fontsize=size - 0.4 if kind == "code" else size, color=GREY if dashed else "#222222",
                fontweight="bold" if kind == "title" else "normal",
                family="monospace" if kind == "code" else None)
    if trained is not None:
        tag, colour_tag = ("trained", TRAINED) if trained else ("frozen (not changed)", GREY)
        ax.text(x + w - 1, y + 0.9, tag, ha="right", va="bottom", fontsize=9, color=colour_tag,
                fontweight="bold" if trained else "normal")


def _arrow(ax, start, end, colour="#444444", style="-|>", rad=0.0, width=1.6):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=14, color=colour,
                                 linewidth=width, connectionstyle=f"arc3,rad={rad}", shrinkA=0, shrinkB=0))


def _canvas(fig, xmax=100, ymax=100):
    ax = fig.add_subplot()
    ax.set_xlim(0, xmax)
    ax.set_ylim(0, ymax)
    ax.set_axis_off()
    return ax


@styled
def fine_tuning_diagram(learning_rate: float = 1e-4):
    """Pretrained body -> new head -> fine-tuning: what is kept, what is new, what is trained.

    Three panels, left to right: (1) the model as it comes from pretraining, with the output it
    was pretrained for; (2) that output replaced by a new cat/dog head, the body frozen and only
    the head trained (notebook 01's slider); (3) full fine-tuning, every weight trained with a
    small ``learning_rate``. Taught in notebooks/01_beginner_cats_and_dogs.ipynb.
    """
    fig = new_figure(figsize=(10.5, 5.4))
    ax = _canvas(fig, 108, 68)
    w, xs = 29, (1, 39.5, 78)
    panels = ["1 · Pretrained", "2 · New head, body frozen", "3 · Full fine-tuning"]
    subtitles = ["learnt language from a great deal\nof text (never from our notes)",
                 "only the new head learns\n(the slider below trains it)",
                 f"every weight learns, in small steps\n(learning rate {_rate(learning_rate)})"]
    for x, title, subtitle in zip(xs, panels, subtitles):
        ax.text(x + w / 2, 67.5, title, ha="center", va="top", fontsize=11.5, fontweight="bold")
        ax.text(x + w / 2, 62, subtitle, ha="center", va="top", fontsize=9.5, color="#444444", linespacing=1.3)
        ax.text(x + w / 2, 1, "a note goes in: \u201cShe kneaded the blanket\u2026\u201d", ha="center",
                va="bottom", fontsize=9, style="italic", color="#333333")
        _arrow(ax, (x + w / 2, 4.6), (x + w / 2, 8))
        _arrow(ax, (x + w / 2, 31), (x + w / 2, 36))

    # "token vectors", not "embeddings": notebook 01 calls a note's averaged output its embedding
    body = ["tokens \u2192 token vectors \u2192", "6 layers (Transformer blocks)", "(22.7 M weights)"]
    _box(ax, xs[0], 8, w, 23, [("pretrained body", "title"), *body], BODY)
    _box(ax, xs[0], 36, w, 11, [("pretraining's own output", "title"), "(which sentences mean", "the same)"],
         GREY, dashed=True)
    _box(ax, xs[1], 8, w, 23, [("the same pretrained body", "title"), *body], BODY, trained=False)
    _box(ax, xs[1], 36, w, 11, [("new head: cat or dog?", "title"), "learnt from the labels"], HEAD, trained=True)
    _box(ax, xs[2], 8, w, 23, [("the same pretrained body", "title"), *body], BODY, trained=True)
    _box(ax, xs[2], 36, w, 11, [("new head: cat or dog?", "title"), "starts from random again"], HEAD, trained=True)
    # between the panels: what changes
    for left, label in ((xs[0] + w, "replace\nthe output"), (xs[1] + w, "let the\nbody learn\ntoo")):
        gap = xs[1] - xs[0] - w
        _arrow(ax, (left + 1.2, 24), (left + gap - 1.2, 24), colour=GREY, width=2.4)
        ax.text(left + gap / 2, 22, label, ha="center", va="top", fontsize=9, color="#444444", linespacing=1.2)

    # legend: the fill says where a part comes from, the tag whether it learns in that step
    for x, colour, label in ((xs[0], BODY, "kept from pretraining"), (xs[1], HEAD, "new for this task")):
        ax.add_patch(FancyBboxPatch((x + 1, 51.5), 3.4, 2.6, boxstyle="round,pad=0,rounding_size=0.5",
                                    facecolor=_tint(colour), edgecolor=colour))
        ax.text(x + 5.5, 52.8, label, va="center", fontsize=9.5)
    ax.text(xs[2] + 1, 52.8, "trained", va="center", fontsize=9.5, color=TRAINED, fontweight="bold")
    ax.text(xs[2] + 8.6, 52.8, "= learns in this step", va="center", fontsize=9.5)
    fig.words = ("Diagram in three panels, a note going in at the bottom of each. 1, pretrained: the pretrained "
                 "body (tokens to token vectors, 6 Transformer layers, 22.7 M weights) under pretraining's own "
                 "output. 2, new head, body frozen: the same body, frozen, under a new cat-or-dog head, the one "
                 "part that learns. 3, full fine-tuning: the body and the new head both learn, in small steps "
                 f"(learning rate {_rate(learning_rate)}).")
    return fig


def _training_defaults() -> dict:
    """The recipe's numbers, read from :func:`sft_teach.training.finetune`'s signature."""
    import inspect

    from sft_teach.training import finetune

    defaults = {name: p.default for name, p in inspect.signature(finetune).parameters.items()}
    return {"learning_rate": defaults["learning_rate"], "batch_size": defaults["batch_size"],
            "num_train_epochs": defaults["num_train_epochs"]}


@styled
def training_loop_diagram(learning_rate: float | None = None, batch_size: int | None = None,
                          num_train_epochs: int | None = None, train_size: int | None = None):
    """One training step as ``Trainer`` runs it, with the names the code uses.

    batch (``train_dataset`` + ``DataCollatorWithPadding``) -> model -> loss (``compute_loss``)
    -> gradients (``loss.backward()``) -> update (``optimizer.step()``) -> learning rate
    (``lr_scheduler.step()``) -> next batch; below it, the ``TrainingArguments`` that set the
    numbers. Unset numbers are :func:`sft_teach.training.finetune`'s defaults. With
    ``train_size`` (labelled notes), the steps per epoch are spelled out.
    Taught in notebooks/01_beginner_cats_and_dogs.ipynb.
    """
    defaults = _training_defaults()
    learning_rate = defaults["learning_rate"] if learning_rate is None else learning_rate
    batch_size = defaults["batch_size"] if batch_size is None else batch_size
    num_train_epochs = defaults["num_train_epochs"] if num_train_epochs is None else num_train_epochs
    # the numbers finetune would train with, or its one-line refusal: a diagram never teaches a batch of 0
    check_settings(num_train_epochs, learning_rate, batch_size, None)
    if train_size is not None and not whole(train_size, least=1):
        raise ConfigError(f"train_size= is the number of training notes, a whole number of at least 1, got {train_size!r}")

    fig = new_figure(figsize=(10.5, 5.8))
    ax = _canvas(fig, 105, 68)
    ax.text(52.5, 67.5, "One training step, repeated until every note has been seen num_train_epochs times",
            ha="center", va="top", fontsize=11.5, fontweight="bold")
    w, h = 30, 16
    xs = (1, 37.5, 74)
    top, bottom = 42, 14
    steps = [
        ((xs[0], top), [("1 · a batch of notes", "title"), f"{batch_size} labelled notes from",
                        ("train_dataset", "code"), "padded to one length by", ("DataCollatorWithPadding", "code")], HEAD),
        ((xs[1], top), [("2 · the model guesses", "title"), ("model(**batch)", "code"),
                        "\u2192 logits: a score for", "cat and a score for dog"], BODY),
        ((xs[2], top), [("3 · how wrong? the loss", "title"), ("compute_loss", "code"),
                        "cross-entropy of the guesses", "against the labels (0 = sure", "and right)"], TRAINED),
        ((xs[2], bottom), [("4 · which way is better?", "title"), ("loss.backward()", "code"),
                           "a gradient for every weight:", "the direction that would", "raise the loss"], TRAINED),
        ((xs[1], bottom), [("5 · a small step", "title"), ("optimizer.step()", "code"),
                           "AdamW moves each weight", "against its gradient, scaled",
                           f"by the learning rate ({_rate(learning_rate)})"], BODY),
        ((xs[0], bottom), [("6 · ready for the next step", "title"), ("lr_scheduler.step()", "code"),
                           "next rate: warm up, then down", ("optimizer.zero_grad()", "code"),
                           "clear the gradients"], GREY),
    ]
    for (x, y), lines, colour in steps:
        _box(ax, x, y, w, h, lines, colour, size=9.6, line_height=2.75)
    mid_top, mid_bottom = top + h / 2, bottom + h / 2
    _arrow(ax, (xs[0] + w, mid_top), (xs[1], mid_top))
    _arrow(ax, (xs[1] + w, mid_top), (xs[2], mid_top))
    _arrow(ax, (xs[2] + w / 2, top), (xs[2] + w / 2, bottom + h))
    _arrow(ax, (xs[2], mid_bottom), (xs[1] + w, mid_bottom))
    _arrow(ax, (xs[1], mid_bottom), (xs[0] + w, mid_bottom))
    _arrow(ax, (xs[0] + w / 2, bottom + h), (xs[0] + w / 2, top), colour=TRAINED, width=2.4)
    ax.text(xs[0] + w / 2 + 1.5, (bottom + h + top) / 2, "next batch", va="center", fontsize=9.5,
            color=TRAINED, fontweight="bold")

    settings = (f"TrainingArguments(learning_rate={_rate(learning_rate)}, per_device_train_batch_size={batch_size}, "
                f"num_train_epochs={num_train_epochs}, ...)")
    ax.text(52.5, 8.5, settings, ha="center", va="center", fontsize=9.6, family="monospace")
    if train_size:
        per_epoch = -(-train_size // batch_size)
        last = train_size - (per_epoch - 1) * batch_size  # the last batch of an epoch holds what is left
        note = (f"{train_size} notes \u00f7 {batch_size} per batch = {per_epoch} batches, so {per_epoch} steps per epoch"
                + (f" (the last batch holds {last})" if last != batch_size else "") + "; "
                f"\u00d7 {num_train_epochs} epochs = {per_epoch * num_train_epochs} steps. "
                "Trainer.train() runs all of them.")
    else:
        note = "steps per epoch = training notes \u00f7 batch size (rounded up); Trainer.train() runs every step."
    ax.text(52.5, 2.8, note, ha="center", va="center", fontsize=9.6, color="#333333")
    fig.words = ("Diagram of one training step, repeated until every note has been seen num_train_epochs times: "
                 f"1, a batch of {batch_size} labelled notes, padded to one length; 2, the model guesses, a score "
                 "for cat and one for dog; 3, the loss, the cross-entropy of the guesses against the labels; 4, "
                 "loss.backward(), a gradient for every weight; 5, optimizer.step(), each weight moved against its "
                 f"gradient, scaled by the learning rate ({_rate(learning_rate)}); 6, lr_scheduler.step() and "
                 f"optimizer.zero_grad(); then the next batch. {settings}. {note}")
    return fig
