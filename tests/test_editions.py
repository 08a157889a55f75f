"""The student and teacher editions: exercise cells rewritten, solutions only where they belong.

A made-up notebook with one exercise (and a made-up ``cell_source``) shows each rule; the
course's own notebooks are then built as both editions. The teacher edition runs a real
kernel (a few seconds per notebook with exercises).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

import sft_teach
from sft_teach import editions
from sft_teach.errors import ConfigError, SftTeachError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

STUDENT = "answer = ...  # your code here\nprint('not yet: answer is', answer)"
TEACHER = "answer = 6 * 7\nprint('correct: answer is', answer)"
SOURCES = {("sum", "student"): STUDENT, ("sum", "teacher"): TEACHER,
           ("show", "student"): "print('nothing to hide')", ("show", "teacher"): "print('nothing to hide')"}


def fake_source(exercise: str, edition: str) -> str:
    return SOURCES[exercise, edition]


def stream(text: str):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def fixture_notebook():
    """Prose, a cell whose committed output differs from what running it would print, one
    exercise with the stub's committed feedback, and a cell that would fail if it ran."""
    v4 = nbformat.v4
    exercise = v4.new_code_cell("stale source", outputs=[stream("not yet: answer is Ellipsis\n")], execution_count=7,
                                metadata={"tags": ["exercise"], "sft_teach": {"exercise": "sum"}})
    return v4.new_notebook(cells=[
        v4.new_markdown_cell("# A fixture\n\nOne exercise."),
        v4.new_code_cell("print('fresh')", outputs=[stream("committed\n")], execution_count=1),
        exercise,
        v4.new_code_cell("raise RuntimeError('this cell must not run')", outputs=[stream("kept\n")]),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


@pytest.fixture
def course(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(editions, "exercise_source", fake_source)
    source = tmp_path / "notebooks"
    source.mkdir()
    nbformat.write(fixture_notebook(), source / "01_fixture.ipynb")
    return source


def text_of(cell) -> str:
    return "".join(out.get("text", "") for out in cell.outputs)


def test_student_edition_has_the_stub_and_its_committed_feedback(course, tmp_path, monkeypatch):
    monkeypatch.setattr(editions, "ExerciseExecutor", lambda **settings: pytest.fail("no kernel for the student edition"))
    (path,) = editions.build_edition("student", tmp_path / "student", course)
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[2].source == STUDENT
    assert text_of(nb.cells[2]) == "not yet: answer is Ellipsis\n"
    assert [text_of(c) for c in nb.cells[1::2]] == ["committed\n", "kept\n"]
    assert "6 * 7" not in path.read_text()


def test_student_edition_refuses_a_notebook_that_carries_the_solution(course, tmp_path):
    nb = nbformat.read(course / "01_fixture.ipynb", as_version=4)
    nb.cells[3].outputs = [stream(TEACHER)]  # say, a solution pasted and printed elsewhere
    nbformat.write(nb, course / "01_fixture.ipynb")
    with pytest.raises(SftTeachError, match="solution of exercise 'sum' appears in the student edition"):
        editions.build_edition("student", tmp_path / "student", course)
    # an exercise above it whose two editions are the same has nothing to hide: the check goes on past it
    nb.cells.insert(1, nbformat.v4.new_code_cell("", metadata={"sft_teach": {"exercise": "show"}}))
    nbformat.write(nb, course / "01_fixture.ipynb")
    with pytest.raises(SftTeachError, match="solution of exercise 'sum' appears in the student edition"):
        editions.build_edition("student", tmp_path / "student-2", course)


def test_teacher_edition_runs_only_the_exercise_cells(course, tmp_path):
    (path,) = editions.build_edition("teacher", tmp_path / "teacher", course)
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[2].source == TEACHER
    assert text_of(nb.cells[2]) == "correct: answer is 42\n"
    # the other cells were not run: their committed outputs stay, the failing one did not fail
    assert [text_of(c) for c in nb.cells[1::2]] == ["committed\n", "kept\n"]
    assert nb.cells[2].execution_count == 7  # its place among the cells as the notebook ran, not [1]


def test_teacher_edition_can_rerun_whole_notebooks(course, tmp_path):
    nb = nbformat.read(course / "01_fixture.ipynb", as_version=4)
    del nb.cells[3]  # the cell that must not run
    nbformat.write(nb, course / "01_fixture.ipynb")
    (path,) = editions.build_edition("teacher", tmp_path / "teacher", course, execute="all")
    nb = nbformat.read(path, as_version=4)
    assert [text_of(c) for c in nb.cells[1:]] == ["fresh\n", "correct: answer is 42\n"]


def test_a_failing_exercise_names_its_notebook_and_cell(course, tmp_path, monkeypatch):
    from sft_teach.course import NotebookFailed

    monkeypatch.setitem(SOURCES, ("sum", "teacher"), "assert 6 * 7 == 41, 'wrong answer'")
    with pytest.raises(NotebookFailed, match=r"01_fixture.ipynb failed at cell 2: AssertionError: wrong answer"):
        editions.build_edition("teacher", tmp_path / "teacher", course)


@pytest.mark.parametrize("call, message", [
    (lambda tmp: editions.build_edition("solutions", tmp / "out", NOTEBOOKS),
     "unknown edition 'solutions': choose one of student, teacher"),
    (lambda tmp: editions.build_edition("student", tmp / "out", tmp / "nowhere"),
     "no course notebooks in .*nowhere: pass source_dir="),
    (lambda tmp: editions.build_edition("student", tmp / "out", NOTEBOOKS, execute="some"),
     "unknown execute='some'"),
    # on a copy: were the refusal ever broken, the edition would be written over the notebooks it reads
    (lambda tmp: editions.build_edition("student", tmp / "copy", _copy(NOTEBOOKS, tmp / "copy")),
     "would overwrite the course's own notebooks"),
], ids=["edition", "source", "execute", "overwrite"])
def test_bad_settings_raise_one_line_errors(tmp_path, call, message):
    with pytest.raises(ConfigError, match=message) as caught:
        call(tmp_path)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()


def _copy(folder, to):
    import shutil

    shutil.copytree(folder, to, ignore=shutil.ignore_patterns("outputs"))
    return to


# ---- the course's own notebooks ------------------------------------------------------------------

def exercise_cells(nb) -> list[tuple[int, str]]:
    return [(i, editions.exercise_id(c)) for i, c in enumerate(nb.cells) if editions.exercise_id(c)]


COMMITTED = {path.name: nbformat.read(path, as_version=4) for path in sorted(NOTEBOOKS.glob("*.ipynb"))}
HAS_EXERCISES = any(exercise_cells(nb) for nb in COMMITTED.values())


def test_student_edition_of_the_course(tmp_path):
    written = editions.build_edition("student", tmp_path)
    assert [p.name for p in written] == list(COMMITTED)
    for path in written:
        nb, committed = nbformat.read(path, as_version=4), COMMITTED[path.name]
        # every output as committed, but the quizzes' folded answers, which the student edition leaves out
        without = [[{**o, "data": {**o["data"], "text/html": editions.QUIZ_ANSWERS.sub("", o["data"]["text/html"])}}
                    if "text/html" in o.get("data", {}) else o for o in c.get("outputs", [])] for c in committed.cells]
        assert [c.get("outputs", []) for c in nb.cells] == without, path.name
        quizzes = [o for c in nb.cells for o in c.get("outputs", []) if "Check yourself" in str(o.get("data", ""))]
        assert quizzes and not any("<summary>answers</summary>" in str(o) for o in quizzes), path.name
        # run, the quiz cell does not write the answers back into the saved notebook
        quiz_cells = [c for c in nb.cells if c.cell_type == "code" and "quiz(" in c.source]
        assert len(quiz_cells) == 1 and "answers=False" in quiz_cells[0].source, path.name
        namespace: dict = {}
        *body, last = quiz_cells[0].source.splitlines()
        exec("\n".join(body), namespace)
        rerun = eval(last, namespace)._repr_mimebundle_()
        assert "Check yourself" in rerun["text/html"] and "<summary>answers</summary>" not in rerun["text/html"]
        # the tasks say no more where the reference answers are
        def tasks(cells):
            return [c.source for c in cells if c.cell_type == "markdown" and editions.TASK_ID.fullmatch(c.get("id", ""))]

        assert len(tasks(nb.cells)) == len(exercise_cells(nb)), path.name
        assert all("exercises.solution(" in task for task in tasks(committed.cells)), path.name
        # no cell, task or other, nor any output, says where the reference answers are
        assert not any("exercises.solution(" in c.source + str(c.get("outputs", "")) for c in nb.cells), path.name
        for i, exercise in exercise_cells(nb):
            cell, student = nb.cells[i], editions.exercise_source(exercise, "student")
            teacher = editions.exercise_source(exercise, "teacher")
            assert cell.source == student
            # neither the exercise cell nor its output holds a line of the solution that the stub
            # lacks (the lesson around it may build the same idea inline); no cell holds it all
            shown = cell.source + "".join(str(out) for out in cell.outputs)
            for line in {s.strip() for s in teacher.splitlines()} - {s.strip() for s in student.splitlines()} - {""}:
                assert line not in shown, f"{path.name}: {exercise} shows {line!r}"
            assert not any(teacher.strip() in c.source for c in nb.cells), f"{path.name}: {exercise} solved"


@pytest.mark.slow
@pytest.mark.skipif(not HAS_EXERCISES, reason="the course's notebooks have no exercise cells yet")
def test_teacher_edition_of_the_course(tmp_path):
    written = editions.build_edition("teacher", tmp_path)
    for path in written:
        nb, committed = nbformat.read(path, as_version=4), COMMITTED[path.name]
        solved = dict(exercise_cells(nb))
        for i, cell in enumerate(nb.cells):
            if i not in solved:
                assert cell.get("outputs") == committed.cells[i].get("outputs"), f"{path.name} cell {i} changed"
                continue
            assert cell.source == editions.exercise_source(solved[i], "teacher")
            kinds = [out.output_type for out in cell.outputs]
            assert cell.outputs and "error" not in kinds, f"{path.name} cell {i}: {kinds}"


# JupyterLab 4 in a 1280 x 800 window with the file browser open shows about 107 characters of a
# code line (a 846 px editor, 7.8 px a character); a longer line scrolls sideways
CELL_WIDTH = 100


def test_every_line_of_code_a_learner_reads_fits_the_cell():
    """A longer line scrolls sideways: its end (often what a print says) is out of sight. This
    holds for the committed notebooks and for every exercise cell of both editions."""
    from sft_teach import exercises

    sources = {f"{path.name} cell {i}": cell.source
               for path in sorted(NOTEBOOKS.glob("*.ipynb"))
               for i, cell in enumerate(nbformat.read(path, as_version=4).cells) if cell.cell_type == "code"}
    sources.update({f"exercise {exercise.id} ({edition})": exercises.cell_source(exercise.id, edition)
                    for exercise in exercises.catalogue() for edition in ("student", "teacher")})
    assert len(sources) > 200
    too_long = [f"{where}, line {n}: {len(line)} characters"
                for where, source in sources.items()
                for n, line in enumerate(source.split("\n"), 1) if len(line) > CELL_WIDTH]
    assert not too_long, "\n".join(too_long)


# The same window shows about 107 characters of an output line; a longer line wraps, in the
# middle of a word, and a table's row then continues under its first column
OUTPUT_WIDTH = 105
# Lines that quote another program as it wrote them, one line by design (a terminal wraps them
# as well): the sft-teach command's errors and warnings, run from a cell; the last line of an
# error another program raised (Python's traceback); a chat template and the text it renders,
# character for character; and a command line to copy whole into a terminal
QUOTED = re.compile(r"^sft-teach: (?:error|warning): |^sft-teach \w+ --"
                    r"|^ImportError: "
                    r"|<\|im_\w+\|>|\{%")


def too_wide(cells) -> list[str]:
    """``'cell I: N characters'`` for each printed line (stdout, and stderr: the course's warnings)
    wider than the window shows."""
    return [f"cell {i}: {len(line)} characters: {line[:60]}..."
            for i, cell in enumerate(cells) if cell.cell_type == "code"
            for output in cell.get("outputs", []) if output.get("name") in ("stdout", "stderr")
            for line in output["text"].splitlines() if len(line) > OUTPUT_WIDTH and not QUOTED.search(line)]


def test_every_line_a_notebook_prints_fits_the_output_area():
    wide = [f"{path.name} {where}" for path in sorted(NOTEBOOKS.glob("*.ipynb"))
            for where in too_wide(nbformat.read(path, as_version=4).cells)]
    assert not wide, "\n".join(wide)
    long_line = "x " * 60
    made_up = [nbformat.v4.new_code_cell("print(...)", outputs=[nbformat.v4.new_output(
        "stream", name="stdout", text=f"short\n{long_line}\nsft-teach: error: {long_line}\n"),
        nbformat.v4.new_output("stream", name="stderr", text=f"SftTeachWarning: {long_line}\n")])]
    assert too_wide(made_up) == [f"cell 0: 120 characters: {long_line[:60]}...",
                                 f"cell 0: 137 characters: SftTeachWarning: {long_line[:43]}..."]


# ---- rules a seventh mutation run found untested (each test fails on the change it names) ---------

def _html(page: str):
    return nbformat.v4.new_output("display_data", data={"text/html": page, "text/plain": "a quiz"})


def test_the_student_edition_removes_each_quiz_answer_and_keeps_the_questions_between(course):
    """Each answer block alone: a greedy match took the questions between the first and the last
    answer, and an answer written over two lines was kept without re.S."""
    page = ("<p>Q1</p><details><summary>answers</summary>A\nthe first</details>"
            "<p>Q2</p><details><summary>answers</summary>B</details><p>end</p>")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('quiz("01")', outputs=[_html(page)])])
    editions.build_notebook(nb, "student")
    assert nb.cells[0].outputs[0]["data"]["text/html"] == "<p>Q1</p><p>Q2</p><p>end</p>"
    assert nb.cells[0].source == 'quiz("01", answers=False)'


def test_only_a_code_cell_is_an_exercise_and_a_solution_in_an_output_s_data_is_found(course):
    note = nbformat.v4.new_markdown_cell("The task, in words.", metadata={"sft_teach": {"exercise": "sum"}})
    assert editions.exercise_id(note) is None  # its words are not replaced by the exercise's code
    nb = fixture_notebook()
    nb.cells.insert(1, note)
    nb.cells[-1].outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": TEACHER}, execution_count=9)]
    with pytest.raises(SftTeachError, match="solution of exercise 'sum' appears in the student edition"):
        editions.build_notebook(nb, "student", name="01_fixture.ipynb")
    assert nb.cells[1].source == "The task, in words."


def test_a_teacher_notebook_without_exercises_starts_no_kernel(monkeypatch):
    monkeypatch.setattr(editions, "ExerciseExecutor", lambda **settings: pytest.fail("a kernel started"))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)", outputs=[stream("1\n")])])
    assert editions.build_notebook(nb, "teacher").cells[0].outputs == [stream("1\n")]


def test_the_teacher_edition_runs_in_the_course_folder_numbers_results_in_place_and_is_marked(course, tmp_path,
                                                                                               monkeypatch):
    import json

    monkeypatch.setitem(SOURCES, ("sum", "teacher"), "answer = open('given.txt').read().strip()\nanswer")
    (course / "given.txt").write_text("42\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # read from the course's folder, as the notebook would be
    (path,) = editions.build_edition("teacher", tmp_path / "teacher", course)
    cell = nbformat.read(path, as_version=4).cells[2]
    (result,) = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert result["data"]["text/plain"] == "'42'" and result.execution_count == cell.execution_count == 7
    from sft_teach.handout import EDITION_MARK

    mark = json.loads((tmp_path / "teacher" / EDITION_MARK).read_text())
    assert mark["edition"] == "teacher" and mark["sft_teach_version"] == sft_teach.__version__


def test_the_teacher_edition_leaves_no_live_widget_behind(course, tmp_path, monkeypatch):
    monkeypatch.setitem(SOURCES, ("sum", "teacher"),
                        "import ipywidgets\nipywidgets.IntSlider(value=3, description='n')")
    (path,) = editions.build_edition("teacher", tmp_path / "teacher", course)
    nb = nbformat.read(path, as_version=4)
    assert "widgets" not in nb.metadata
    assert not any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in nb.cells[2].outputs)
