import json
import re

import pytest

from sft_teach.errors import ConfigError
from sft_teach.widgets import LabelBudgetPanel, Quiz, TryIt, grade, load_quiz, quiz

QUESTION = {"question": "What is fine-tuning?",
            "options": [{"text": "Training a pretrained model further on labelled examples", "correct": True,
                         "feedback": "It starts from what the model knows."},
                        {"text": "Training from random weights", "correct": False, "feedback": "That is from scratch."}]}


def test_grade_is_a_pure_function():
    assert grade(QUESTION, 0) == (True, "Right. It starts from what the model knows.")
    assert grade(QUESTION, 1) == (False, "Not quite. That is from scratch.")
    assert grade(QUESTION, None) == (False, "Choose an answer first.")  # Check before choosing: said


def test_quiz_widget_click_gives_feedback():
    quiz = Quiz([QUESTION, QUESTION])
    box = quiz.widget()
    radios = [w for w in box.children if type(w).__name__ == "RadioButtons"]
    buttons = [w.children[0] for w in box.children if type(w).__name__ == "HBox"]
    radios[1].value = 1
    buttons[1].click()
    assert quiz.results == [None, (False, "Not quite. That is from scratch.")]
    assert "from scratch" in box.children[-1].children[1].value
    assert 'color:#b35900' in box.children[-1].children[1].value  # a wrong answer in orange
    radios[0].value = 0
    buttons[0].click()
    assert quiz.results[0][0] is True
    assert 'color:#1a7f37' in box.children[3].children[1].value  # a right one in green


def test_quiz_fallback_shows_questions_and_answers():
    bundle = Quiz([QUESTION])._repr_mimebundle_()
    assert "What is fine-tuning?" in bundle["text/html"] and "That is from scratch." in bundle["text/html"]
    assert "What is fine-tuning?" in bundle["text/markdown"]


def test_quiz_without_answers_saves_only_the_questions_and_still_grades():
    quiz = Quiz([QUESTION], answers=False)
    bundle = quiz._repr_mimebundle_()
    saved = "".join(bundle[kind] for kind in ("text/html", "text/markdown", "text/plain"))
    assert "What is fine-tuning?" in saved and "<summary>answers</summary>" not in saved
    assert not any(o["feedback"] in saved for o in QUESTION["options"]) and "✔" not in saved
    box = quiz.widget()
    box.children[2].value = 1
    box.children[3].children[0].click()
    assert quiz.results == [grade(QUESTION, 1)]
    from sft_teach import widgets

    assert widgets.quiz("01_beginner_cats_and_dogs", answers=False).answers is False  # quiz() passes it on


def test_quiz_file_needs_exactly_one_correct_option(tmp_path):
    bad = dict(QUESTION, options=[dict(o, correct=True) for o in QUESTION["options"]])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([bad]))
    with pytest.raises(ValueError, match="exactly one correct"):
        load_quiz(str(path))


def test_every_shipped_quiz_has_at_least_five_questions():
    from sft_teach.widgets import QUIZ_FOLDER

    files = sorted(QUIZ_FOLDER.glob("*.json"))
    assert files
    for path in files:
        questions = load_quiz(str(path))
        assert len(questions) >= 5, path.name
        assert all(o["feedback"].strip() for q in questions for o in q["options"]), path.name


def test_no_shipped_quiz_can_be_answered_by_position():
    """The options are shown in their file's order, so the right one must not sit mostly in one place:
    in every quiz, no position holds the right answer in more than half of the questions."""
    from collections import Counter

    from sft_teach.widgets import QUIZ_FOLDER

    for path in sorted(QUIZ_FOLDER.glob("*.json")):
        questions = load_quiz(str(path))
        positions = Counter([o["correct"] for o in q["options"]].index(True) for q in questions)
        assert max(positions.values()) <= len(questions) / 2, (path.name, dict(positions))


def test_slider_panel_recomputes_when_the_value_changes():
    calls = []

    def evaluate(n):
        calls.append(n)
        return f"{n} labels -> accuracy {n / 100:.2f}"

    panel = LabelBudgetPanel(evaluate, low=2, high=100, start=10, description="labelled notes")
    assert panel.slider.continuous_update is False
    # the label shows whole: ipywidgets' default width cuts "labelled notes" to "labelled n..."
    assert panel.slider.description == "labelled notes" and panel.slider.style.description_width == "initial"
    assert panel.result == "10 labels -> accuracy 0.10"
    panel.slider.value = 40
    assert calls == [10, 40] and panel.result == "40 labels -> accuracy 0.40"
    beyond = LabelBudgetPanel(evaluate, low=2, high=100, start=500)  # the slider shows 100: so does the answer
    assert beyond.slider.value == 100 and calls[-1] == 100 and beyond.result.startswith("100 labels")


def test_try_it_answers_the_typed_note():
    seen = []

    def predict(texts):
        seen.extend(texts)
        return [{"text": texts[0], "label": "cat", "score": 0.93}]

    box = TryIt(predict)
    box.button.click()
    assert box.result is None and "Type a note" in box.answer.value
    box.text.value = "  Asleep in the sink.  "
    box.button.click()
    assert seen == ["Asleep in the sink."]
    assert box.result["label"] == "cat" and "93%" in box.answer.value


def test_a_panel_given_no_function_is_refused_before_any_click():
    """A model or the predict function's result there failed only at the first click, inside the widget."""
    from sft_teach.widgets import FigurePanel

    for make, where in ((lambda: TryIt(object()), "TryIt takes a function, got object: e.g. TryIt(lambda texts"),
                        (lambda: LabelBudgetPanel([], 4, 64, 16), "LabelBudgetPanel takes a function, got list"),
                        (lambda: FigurePanel(None), "FigurePanel takes a function, got NoneType")):
        with pytest.raises(ConfigError, match=f"^{re.escape(where)}"):
            make()


def test_figure_panel_redraws_and_falls_back_to_a_png():
    import base64

    import ipywidgets as widgets

    from sft_teach.plots import lr_schedule
    from sft_teach.widgets import FigurePanel

    drawn = []

    def draw(peak, steps):
        drawn.append((peak, steps))
        return lr_schedule({"constant": [peak] * steps}, steps)

    panel = FigurePanel(draw, peak=widgets.FloatSlider(value=0.5, min=0.1, max=1.0, continuous_update=False),
                        steps=widgets.IntSlider(value=10, min=2, max=20, continuous_update=False))
    assert drawn == [(0.5, 10)]
    # each slider says what it sets: unlabelled, it is labelled with its parameter's name
    assert [c.description for c in panel.controls.values()] == ["peak", "steps"]
    panel.controls["steps"].value = 12
    assert drawn[-1] == (0.5, 12)
    assert panel.figure.axes[0].lines[0].get_xdata()[-1] == 11
    bundle, metadata = panel._repr_mimebundle_()
    assert "steps=12" in bundle["text/plain"]
    assert metadata["image/png"]["alt"] == ("Figure: x axis: optimiser step; y axis: learning rate. (sliders at "
                                            "peak=0.5, steps=12)")
    assert base64.b64decode(bundle["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "text/html" not in bundle  # the picture is the fallback: a viewer preferring HTML shows no empty box


def test_every_shipped_question_has_exactly_one_correct_option():
    """Read straight from the files, so the check does not rest on load_quiz's own validation."""
    from sft_teach.widgets import QUIZ_FOLDER

    for path in sorted(QUIZ_FOLDER.glob("*.json")):
        for number, q in enumerate(json.loads(path.read_text(encoding="utf-8")), 1):
            flags = [o.get("correct") for o in q["options"]]
            assert all(isinstance(f, bool) for f in flags), (path.name, number, flags)
            assert flags.count(True) == 1, (path.name, number, flags)


def test_no_shipped_quiz_can_be_answered_by_picking_the_longest_option():
    """A student who always picks the longest (most hedged) option must not do well: across all quizzes
    the right option is the longest, by characters, in at most 30 % of the questions, and in at most
    half of any one quiz's. A tie for longest counts as longest."""
    from sft_teach.widgets import QUIZ_FOLDER

    total = longest_total = 0
    for path in sorted(QUIZ_FOLDER.glob("*.json")):
        questions = load_quiz(str(path))
        longest = [number for number, q in enumerate(questions, 1)
                   if len(next(o["text"] for o in q["options"] if o["correct"]))
                   == max(len(o["text"]) for o in q["options"])]
        assert len(longest) <= len(questions) / 2, (path.name, "right option longest in questions", longest)
        total += len(questions)
        longest_total += len(longest)
    assert total and longest_total <= 0.3 * total, f"right option longest in {longest_total} of {total} questions"


def test_an_unknown_quiz_names_the_course_quizzes():
    for name in ("nope", 3):
        with pytest.raises(ConfigError, match=rf"no quiz '{name}': the course's quizzes are 00_start_here, "
                                              r"01_beginner_cats_and_dogs, .*07_instruction_sft"):
            quiz(name)


def test_an_option_number_outside_the_question_is_refused_not_graded():
    """-1 would have graded the last option, as Python indexes."""
    question = load_quiz("01_beginner_cats_and_dogs")[0]
    last = len(question["options"]) - 1
    for choice in (-1, last + 1):
        with pytest.raises(ConfigError, match=rf"0 to {last}, got {choice}"):
            grade(question, choice)
    assert grade(question, last)[1]  # the last option itself is graded
