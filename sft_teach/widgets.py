"""ipywidgets panels: thin shells over pure functions.

Each panel keeps the value it last computed (``.result``), so a test can drive it by
setting ``.value`` or calling ``Button.click()`` and check the pure function's answer,
with no browser. Errors raised in callbacks are shown in the panel's ``Output``
(``Output.capture``) instead of being lost.

Taught in notebooks/01_beginner_cats_and_dogs.ipynb.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Callable

from sft_teach.errors import ConfigError

QUIZ_FOLDER = Path(__file__).resolve().parent / "quizzes"


def bundle_with_fallbacks(widget, plain: str, html_text: str, markdown: str | None = None) -> dict:
    """A display bundle: the live widget view first, then text/html (and text/markdown, text/plain).

    A live notebook shows the widget; a viewer without the widget state (GitHub, nbconvert
    HTML, a terminal) shows the fallback from the same output instead of an empty box.
    """
    bundle = {"text/plain": plain, "text/html": html_text}
    if markdown is not None:
        bundle["text/markdown"] = markdown
    view = widget._repr_mimebundle_() or {}
    if "application/vnd.jupyter.widget-view+json" in view:
        bundle["application/vnd.jupyter.widget-view+json"] = view["application/vnd.jupyter.widget-view+json"]
    return bundle


# ---- quizzes ------------------------------------------------------------------------------

def load_quiz(name: str) -> list[dict]:
    """Questions of one notebook's quiz from ``sft_teach/quizzes/<name>.json`` (or a path).

    Each question: ``{"question": str, "options": [{"text", "correct": bool, "feedback"}]}``.
    """
    path = Path(str(name))  # quiz(3): "no quiz '3'", not a TypeError
    if not path.suffix:
        path = QUIZ_FOLDER / f"{name}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in QUIZ_FOLDER.glob("*.json")))
        raise ConfigError(f"no quiz '{name}': the course's quizzes are {known} (or give a .json file's path)")
    questions = json.loads(path.read_text(encoding="utf-8"))
    for number, q in enumerate(questions, 1):
        if sum(bool(o.get("correct")) for o in q["options"]) != 1:
            raise ValueError(f"{path.name}: question {number} needs exactly one correct option")
    return questions


def grade(question: dict, choice: int | None) -> tuple[bool, str]:
    """``(is_correct, feedback)`` for option number ``choice`` (0-based) of ``question``."""
    if choice is None:
        return False, "Choose an answer first."
    if not 0 <= choice < len(question["options"]):  # -1 would grade the last option
        raise ConfigError(f"choice is an option's number, 0 to {len(question['options']) - 1}, got {choice}")
    option = question["options"][choice]
    verdict = "Right." if option.get("correct") else "Not quite."
    return bool(option.get("correct")), f"{verdict} {option.get('feedback', '')}".strip()


class Quiz:
    """Multiple-choice questions with feedback for every answer; works offline (no CDN).

    ``answers=False`` leaves the answers out of the saved fallback (the student edition's quizzes):
    a notebook saved after the quiz has run then carries only the questions, while the live widget
    still says whether each answer chosen is right.
    """

    def __init__(self, questions: list[dict], title: str = "Check yourself", answers: bool = True):
        self.questions = questions
        self.title = title
        self.answers = answers
        self.results: list[tuple[bool, str] | None] = [None] * len(questions)

    def widget(self):
        import ipywidgets as widgets

        rows = [widgets.HTML(f"<h4>{html.escape(self.title)}</h4>")]
        for number, q in enumerate(self.questions):
            choices = widgets.RadioButtons(options=[(o["text"], i) for i, o in enumerate(q["options"])],
                                           value=None, layout=widgets.Layout(width="auto"))
            check = widgets.Button(description="Check", button_style="info")
            feedback = widgets.HTML()

            def on_click(_button, number=number, choices=choices, feedback=feedback):
                self.results[number] = grade(self.questions[number], choices.value)
                ok, text = self.results[number]
                colour = "#1a7f37" if ok else "#b35900"
                feedback.value = f'<span style="color:{colour}">{html.escape(text)}</span>'

            check.on_click(on_click)
            rows += [widgets.HTML(f"<b>{number + 1}. {html.escape(q['question'])}</b>"), choices,
                     widgets.HBox([check, feedback])]
        return widgets.VBox(rows)

    def html(self) -> str:
        items = []
        for q in self.questions:
            options = "".join(f"<li>{html.escape(o['text'])}</li>" for o in q["options"])
            answers = "".join(f"<li>{'✔' if o.get('correct') else '✘'} {html.escape(o['text'])}: "
                              f"{html.escape(o.get('feedback', ''))}</li>" for o in q["options"])
            folded = f"<details><summary>answers</summary><ul>{answers}</ul></details>" if self.answers else ""
            items.append(f"<li><b>{html.escape(q['question'])}</b><ol type='a'>{options}</ol>{folded}</li>")
        return f"<h4>{html.escape(self.title)}</h4><ol>{''.join(items)}</ol>"

    def markdown(self) -> str:
        lines = [f"#### {self.title}"]
        for n, q in enumerate(self.questions, 1):
            lines.append(f"{n}. **{q['question']}**")
            lines += [f"   - {o['text']}" for o in q["options"]]
        return "\n".join(lines)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return bundle_with_fallbacks(self.widget(), self.markdown(), self.html(), self.markdown())


def _callable(value, where: str, example: str) -> None:
    """A function where a panel calls one: a model or a list there fails only at the first click or
    slide, as a TypeError inside the widget's output."""
    if not callable(value):
        raise ConfigError(f"{where} takes a function, got {type(value).__name__}: e.g. {example}")


def quiz(name: str, title: str = "Check yourself", answers: bool = True) -> Quiz:
    """The quiz of one notebook, e.g. ``quiz("01_beginner_cats_and_dogs")``; ``answers=False``: see :class:`Quiz`."""
    return Quiz(load_quiz(name), title, answers)


# ---- panels over pure functions -------------------------------------------------------------

class LabelBudgetPanel:
    """A slider for "how many labelled examples?" and the answer of ``evaluate(n)`` below it.

    ``evaluate(n)`` must be quick (about a second): precompute what you can.
    ``continuous_update=False``: it runs when the slider is released, not on every pixel.
    """

    def __init__(self, evaluate: Callable[[int], str], low: int, high: int, start: int, step: int = 1,
                 description: str = "labelled"):
        import ipywidgets as widgets

        _callable(evaluate, "LabelBudgetPanel", "LabelBudgetPanel(lambda n: f'{n} labels', 4, 64, 16)")
        self.evaluate = evaluate
        self.result: str | None = None
        # description_width "initial": the label is as wide as its words (the default cuts it at
        # about ten characters, "labelled n...")
        self.slider = widgets.IntSlider(value=start, min=low, max=high, step=step, description=description,
                                        continuous_update=False, layout=widgets.Layout(width="60%"),
                                        style={"description_width": "initial"})
        self.output = widgets.Output()
        self.slider.observe(self._update, names="value")
        self._update({"new": self.slider.value})  # the slider clamps a start beyond its range: what it shows
        self.widget = widgets.VBox([self.slider, self.output])

    def _update(self, change):
        self.output.clear_output(wait=True)
        with self.output:
            self.result = self.evaluate(change["new"])
            print(self.result)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return bundle_with_fallbacks(self.widget, self.result or "", f"<pre>{html.escape(self.result or '')}</pre>")


class TryIt:
    """A text box and a button: type a note, see ``predict([text])[0]`` (label and confidence)."""

    def __init__(self, predict: Callable[[list[str]], list[dict]], placeholder: str = "Type a note about a pet"):
        import ipywidgets as widgets

        _callable(predict, "TryIt", "TryIt(lambda texts: predict(model, tokenizer, texts))")
        self.predict = predict
        self.result: dict | None = None
        self.text = widgets.Text(placeholder=placeholder, layout=widgets.Layout(width="70%"))
        self.button = widgets.Button(description="Ask the model", button_style="primary")
        self.answer = widgets.HTML()
        self.output = widgets.Output()
        ask = self.output.capture()(self._ask)  # an error in the callback is shown, not swallowed
        self.button.on_click(ask)
        self.text.on_submit(ask)
        self.widget = widgets.VBox([widgets.HBox([self.text, self.button]), self.answer, self.output])

    def _ask(self, _source=None):
        note = self.text.value.strip()
        if not note:
            self.answer.value = "<i>Type a note first.</i>"
            return
        self.result = self.predict([note])[0]
        self.answer.value = f"<b>{html.escape(self.result['label'])}</b> (confidence {self.result['score']:.0%})"

    def _repr_mimebundle_(self, include=None, exclude=None):
        note = "A text box: type a note and press the button (needs a running kernel)."
        return bundle_with_fallbacks(self.widget, note, f"<p><i>{note}</i></p>")


class FigurePanel:
    """Sliders over a drawing function: ``draw(**values)`` returns a figure, redrawn on release.

    ``controls`` are ipywidgets by the name of ``draw``'s parameter they set (give them
    ``continuous_update=False``); one without a description is labelled with that name.
    ``.figure`` is the last figure drawn. Where the widget is not live (a reopened notebook,
    GitHub, nbconvert HTML), the same output shows a PNG of the figure at the controls' values
    when the output was made (their starting values when the cell runs), with those settings in
    the text form.

    Taught in notebooks/04_ulmfit_techniques.ipynb.
    """

    def __init__(self, draw: Callable[..., object], **controls):
        import ipywidgets as widgets

        _callable(draw, "FigurePanel", "FigurePanel(lambda rate: lr_schedule(...), rate=FloatSlider(...))")
        self.draw = draw
        self.controls = controls
        self.figure = None
        self.output = widgets.Output()
        for name, control in controls.items():
            if not control.description:  # a slider without a label would not say what it sets
                control.description = name
                control.style.description_width = "initial"
            control.observe(self._update, names="value")
        self._update()
        self.widget = widgets.VBox([widgets.HBox(list(controls.values())), self.output])

    def settings(self) -> str:
        return ", ".join(f"{name}={control.value}" for name, control in self.controls.items())

    def _update(self, _change=None):
        from IPython.display import display

        self.output.clear_output(wait=True)
        with self.output:  # an error in draw is shown here, not lost in the kernel's log
            self.figure = self.draw(**{name: control.value for name, control in self.controls.items()})
            display(self.figure)

    def _repr_mimebundle_(self, include=None, exclude=None):
        import base64

        bundle = bundle_with_fallbacks(self.widget, f"sliders ({self.settings()}) over a figure; "
                                                    "move them with a running kernel", "")
        del bundle["text/html"]  # the picture is the fallback
        metadata = {}
        if self.figure is not None and hasattr(self.figure, "_repr_png_"):
            bundle["image/png"] = base64.b64encode(self.figure._repr_png_()).decode("ascii")
            if hasattr(self.figure, "description"):  # the picture's words, as a course figure's own output has
                metadata["image/png"] = {"alt": f"{self.figure.description()} (sliders at {self.settings()})"}
        return bundle, metadata
