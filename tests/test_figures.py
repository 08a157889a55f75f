"""Figures are pictures: in the committed notebooks, and in a fresh kernel. No browser.

* Every committed figure output carries ``image/png`` (an output that reads ``<Figure size ...>``
  and has no picture is what GitHub, nbconvert and a reopened JupyterLab would show), and no
  committed output has a widget's Python repr (``VBox(children=...)``) as all there is to show.
* A figure of ``sft_teach.plots`` shows as ``image/png`` in a kernel that nothing was set up in
  (no ``%matplotlib inline``, no pyplot), as the value of a cell and through
  :class:`sft_teach.callbacks.LivePlotCallback`'s display that is updated in place: the figures
  carry their own ``_repr_png_`` (see the docstring of ``sft_teach/plots.py``).

``tests/test_browser.py`` checks the same notebooks as JupyterLab draws them.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import nbformat
import pytest

from sft_teach.course import WIDGET_VIEW  # the mimetype of a live widget view

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

FIGURE_TEXT = "<Figure size"
# A widget's repr: its class name, then its traits (``interactive(children=(IntSlider(value=8, ...``).
WIDGET_REPR = re.compile(
    r"\b(?:interactive|VBox|HBox|Box|GridBox|Tab|Accordion|Output|IntSlider|FloatSlider|IntRangeSlider|"
    r"FloatLogSlider|SelectionSlider|Dropdown|RadioButtons|ToggleButtons|Button|Checkbox|Text|Textarea|"
    r"IntText|FloatText|HTML|HTMLMath|Label|Image|Select|SelectMultiple)"
    r"\((?:children|value|description|layout|options|outputs|index|style)=")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def text_of(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def output_problems(nb) -> list[str]:
    """What in a notebook file's outputs is not a picture where it should be one."""
    live_models = set(nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
                      .get("state", {}))
    problems = []
    for i, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                text, shown = text_of(output.get("text", "")), {"text/plain"}
            elif "data" in output:
                data = output.data
                text = text_of(data.get("text/plain", ""))
                # a widget view whose model was not saved shows nothing (or an error): it does not count
                shown = {mime for mime in data
                         if mime != WIDGET_VIEW or data[WIDGET_VIEW].get("model_id") in live_models}
                if "image/png" in data and not base64.b64decode(text_of(data["image/png"]))[:8] == PNG_MAGIC:
                    problems.append(f"cell {i}: its image/png is not a PNG")
                if "image/png" in data and not output.get("metadata", {}).get("image/png", {}).get("alt"):
                    problems.append(f"cell {i}: a picture without words (no alt text in its metadata)")
            else:
                continue  # errors: their tracebacks are text by nature
            if FIGURE_TEXT in text and "image/png" not in shown:
                problems.append(f"cell {i}: a figure saved as text only ({text.strip()[:60]!r})")
            if shown == {"text/plain"} and WIDGET_REPR.search(text):
                problems.append(f"cell {i}: a widget saved as its repr only ({text.strip()[:60]!r})")
    return problems


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_figures_are_pictures_and_widgets_have_fallbacks(notebook):
    problems = output_problems(nbformat.read(notebook, as_version=4))
    assert not problems, f"{notebook.name}:\n" + "\n".join(problems)


def test_the_checker_flags_text_figures_and_bare_widget_reprs():
    """The checker on outputs whose verdict is known, so the test above can fail."""
    v4 = nbformat.v4
    png = base64.b64encode(PNG_MAGIC + b"rest").decode()
    view = {WIDGET_VIEW: {"model_id": "a" * 32, "version_major": 2, "version_minor": 0}}
    outputs = {
        "figure as text": v4.new_output("execute_result", data={"text/plain": "<Figure size 600x320 with 1 Axes>"},
                                        execution_count=1),
        "figure as picture": v4.new_output("display_data", data={"image/png": png,
                                                                 "text/plain": "<Figure size 600x320 with 1 Axes>"},
                                           metadata={"image/png": {"alt": "Figure: the loss falls."}}),
        "picture without words": v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
        "repr only": v4.new_output("display_data", data={**view, "text/plain": "VBox(children=(IntSlider(value=8),))"}),
        "repr with fallback": v4.new_output("display_data", data={
            **view, "text/html": "<b>8 notes</b>", "text/plain": "VBox(children=(IntSlider(value=8),))"}),
        "printed repr": v4.new_output("stream", name="stdout", text="interactive(children=(IntSlider(value=8),))\n"),
        "prose": v4.new_output("stream", name="stdout", text="a Figure size of 6 inches; the HTML(value) idea\n"),
    }
    nb = v4.new_notebook(cells=[v4.new_code_cell(name, outputs=[out]) for name, out in outputs.items()])
    flagged = {int(p.split(":")[0].split()[1]) for p in output_problems(nb)}
    assert {list(outputs)[i] for i in flagged} == {"figure as text", "repr only", "printed repr",
                                                   "picture without words"}


FRESH_KERNEL_CELLS = [
    # 0: nothing but the package: no %matplotlib, no pyplot
    "from sft_teach.plots import loss_curve\n"
    "history = {'train': [{'step': s, 'epoch': s / 4, 'loss': 1 / s} for s in range(1, 9)],\n"
    "           'eval': [{'step': 4, 'epoch': 1.0, 'eval_loss': 0.4}, {'step': 8, 'epoch': 2.0, 'eval_loss': 0.3}]}",
    # 1: a figure as the value of a cell
    "loss_curve(history)",
    # 2: the live plot: one display, updated in place as training logs
    "from transformers import TrainerState\n"
    "from sft_teach.callbacks import LivePlotCallback\n"
    "live, state = LivePlotCallback(), TrainerState(max_steps=8)\n"
    "live.on_train_begin(None, state, None)\n"
    "for step in range(1, 5):\n"
    "    state.global_step, state.epoch = step, step / 4\n"
    "    live.on_log(None, state, None, logs={'loss': 1 / step, 'learning_rate': 1e-4})",
]


def test_course_figures_are_png_in_a_fresh_kernel(tmp_path):
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in FRESH_KERNEL_CELLS])
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    value, live = nb.cells[1].outputs, nb.cells[2].outputs
    assert [o.output_type for o in value] == ["execute_result"], value
    assert "image/png" in value[0].data, f"a course figure showed as {sorted(value[0].data)}: {value[0].data}"
    assert base64.b64decode(value[0].data["image/png"])[:8] == PNG_MAGIC
    # its words, for a reader who cannot see it: the book and --html pages give them as alt text
    assert value[0].metadata["image/png"]["alt"] == (
        "Figure: the loss falls as the model learns. x axis: optimiser step (one batch each); "
        "y axis: cross-entropy loss (nats).")
    # nbclient applies update_display_data to the output with the same display id, as JupyterLab does
    assert len(live) == 1 and live[0].output_type == "display_data", live
    assert "image/png" in live[0].data, f"the live plot ended as {sorted(live[0].data)}"
    assert base64.b64decode(live[0].data["image/png"])[:8] == PNG_MAGIC
    assert live[0].metadata["image/png"]["alt"].startswith("Figure: the loss falls as the model learns.")


def test_a_figure_s_words_name_its_titles_and_axes_panel_by_panel():
    from sft_teach.course_figure import new_figure

    fig = new_figure()
    left, right = fig.subplots(1, 2)
    image = right.imshow([[0, 1], [1, 0]])
    fig.colorbar(image, ax=right, label="notes")  # a colour bar is no panel
    left.set(title="what the head sees?", xlabel="epoch", ylabel="accuracy")
    right.set(title="confusion", xlabel="predicted")
    fig.suptitle("two views of one run")
    assert fig.description() == ("Figure: two views of one run. panel 1: what the head sees? x axis: epoch; y axis: "
                                 "accuracy. panel 2: confusion. x axis: predicted.")
    assert new_figure().description() == "Figure"
    one = new_figure()
    one.add_subplot().set_title("a title long enough to be broken " * 3)
    one.canvas.draw()  # drawing breaks a long title into lines: its words are the title as written
    assert one.description() == "Figure: " + ("a title long enough to be broken " * 3).strip() + "."
    # a line the writer broke with no punctuation is a pause, not a run-on ("26 of 29 right most missed")
    two = new_figure()
    two.add_subplot().set_title("test split: 26 of 29 right\nmost missed: grooming (3 of 10)")
    assert two.description() == "Figure: test split: 26 of 29 right; most missed: grooming (3 of 10)."
    two.axes[0].set_title("23 cats called dogs,\n17 dogs called cats")
    assert two.description() == "Figure: 23 cats called dogs, 17 dogs called cats."
    # a twin axis is the same panel's second scale, not a second panel; mathtext is read as words
    twin = new_figure()
    ax = twin.add_subplot()
    ax.set(title="loss and rate", xlabel="step", ylabel="loss")
    ax.twinx().set_ylabel(r"learning rate $\eta$")
    assert twin.description() == "Figure: loss and rate. x axis: step; y axis: loss; right y axis: learning rate eta."
    ax.set_title(r"$\|\Delta W\|_F / \|W\|_F$ per layer, $\$5$ a run")
    assert twin.description().startswith("Figure: ‖ Delta W ‖ F / ‖ W ‖ F per layer, $5 a run.")
    ax.set_title("costs $5, $10 or $15 a run")  # an odd count of dollars: matplotlib draws them as written
    assert twin.description().startswith("Figure: costs $5, $10 or $15 a run.")
    barred = new_figure()  # a colour bar shrinks the panel before its twin is made: still one panel
    ax = barred.add_subplot()
    barred.colorbar(ax.imshow([[0, 1], [1, 0]]), ax=ax)
    ax.set_ylabel("loss")
    ax.twinx().set_ylabel("rate")
    assert barred.description() == "Figure: y axis: loss; right y axis: rate."
