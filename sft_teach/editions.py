"""The course in two editions: a student's, with exercises to solve, and a teacher's, solved.

Every exercise is one code cell of a notebook, marked in its metadata::

    {"tags": ["exercise"], "sft_teach": {"exercise": "<id>"}}

and its source is written by :func:`sft_teach.exercises.cell_source` (``id``, edition). An
edition is the committed notebooks with those cells rewritten:

* ``student``: each exercise cell holds the student source (the stub to complete) and keeps its
  committed output, the check's feedback on the stub, as the committed notebooks already do. No
  solution is written into the files; the build checks that no teacher source slipped in. What
  differs from the committed notebooks: no cell says where the reference answers are (the task
  above each exercise, notebook 00's :data:`STUCK`), the quizzes' saved outputs lose their folded answers
  (:data:`QUIZ_ANSWERS`), and each quiz cell calls ``quiz(..., answers=False)``, so that running
  it does not write them back; run in the notebook, a quiz still says whether each answer chosen
  is right.
* ``teacher``: each exercise cell holds the teacher source (the solution and its check), run so
  that the notebook shows the check passing. Exercise cells are self-contained (their imports
  inside, nothing from other cells), so only they are run, in one fresh kernel per notebook, and
  every other cell keeps its committed outputs: seconds, not the quarter of an hour that running
  the whole course takes. ``execute="all"`` re-runs whole notebooks instead (rarely needed).

Both steps are nbconvert preprocessors (:class:`ExerciseSources`, :class:`ExerciseExecutor`), so
they also compose with nbconvert's exporters.

No notebook teaches this module: it is how the course reaches teachers and readers (`sft-teach course --edition`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from nbconvert.preprocessors import ExecutePreprocessor, Preprocessor
from traitlets import Unicode

from .errors import ConfigError, SftTeachError

EDITIONS = ("student", "teacher")
EXECUTE = ("exercises", "all")
# the answers folded under each question of a quiz's saved HTML (sft_teach.widgets.Quiz.html)
QUIZ_ANSWERS = re.compile(r"<details><summary>answers</summary>.*?</details>", re.S)
# a quiz cell's call, quiz("<notebook>"), which the student edition makes quiz("<notebook>", answers=False)
QUIZ_CALL = re.compile(r'\bquiz\(("[^"]+")\)')
# the id of the markdown cell that states an exercise's task (sft_teach.exercises.task_markdown)
TASK_ID = re.compile(r"exercise-(.+)-task")
# notebook 00's word on where the reference answers are, which the student edition leaves out
STUCK = re.compile(r"Stuck\?\s+`sft_teach\.exercises\.solution\([^)]*\)`\s+shows\s+a\s+reference\s+answer,\s+and\s+")


def exercise_id(cell) -> str | None:
    """The exercise id of a cell, or None for any other cell."""
    return cell.get("metadata", {}).get("sft_teach", {}).get("exercise") if cell.cell_type == "code" else None


def exercise_source(exercise: str, edition: str) -> str:
    """The full source of an exercise cell in ``edition`` (from :mod:`sft_teach.exercises`)."""
    from .exercises import cell_source

    return cell_source(exercise, edition)


class ExerciseSources(Preprocessor):
    """Set every exercise cell's source to its ``edition``'s; the student edition keeps outputs and
    takes the answers out of the quizzes and the solution pointers out of the tasks."""

    edition = Unicode("student").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if self.edition == "student":
            for output in cell.get("outputs", []):
                page = output.get("data", {}).get("text/html")
                if isinstance(page, str) and QUIZ_ANSWERS.search(page):
                    output["data"]["text/html"] = QUIZ_ANSWERS.sub("", page)
            if cell.cell_type == "code":
                cell.source = QUIZ_CALL.sub(r"quiz(\1, answers=False)", cell.source)
            elif cell.cell_type == "markdown":
                cell.source = STUCK.sub("", cell.source)
                task = TASK_ID.fullmatch(cell.get("id", ""))
                if task:
                    from .exercises import task_markdown

                    cell.source = task_markdown(task.group(1), solution_pointer=False)
        exercise = exercise_id(cell)
        if exercise is not None:
            cell.source = exercise_source(exercise, self.edition)
            if self.edition == "teacher":
                cell.outputs = []  # the executor writes the solved ones
        return cell, resources


class ExerciseExecutor(ExecutePreprocessor):
    """Run only the exercise cells (``cells="exercises"``) or every cell (``cells="all"``) in one kernel."""

    cells = Unicode("exercises").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if self.cells == "exercises" and exercise_id(cell) is None:
            return cell, resources  # committed outputs kept as they are
        if self.cells == "all":
            return super().preprocess_cell(cell, resources, index)
        # Run alone, an exercise cell would be numbered [1], [2], ... among cells numbered as
        # the whole notebook ran: it keeps its place in that count.
        count = cell.get("execution_count")
        cell, resources = super().preprocess_cell(cell, resources, index)
        cell.execution_count = count
        for output in cell.outputs:
            if "execution_count" in output:
                output.execution_count = count
        return cell, resources


def _check(edition: str, execute: str, source_dir: Path, output_dir: Path) -> list[Path]:
    if edition not in EDITIONS:
        raise ConfigError(f"unknown edition {edition!r}: choose one of {', '.join(EDITIONS)}")
    if execute not in EXECUTE:
        raise ConfigError(f"unknown execute={execute!r}: choose 'exercises' (the exercise cells only) or 'all'")
    notebooks = sorted(source_dir.glob("*.ipynb")) if source_dir.is_dir() else []
    if not notebooks:
        raise ConfigError(f"no course notebooks in {source_dir}: pass source_dir= the folder that holds "
                          f"the .ipynb files (notebooks/ of a clone, or one made by `sft-teach notebooks DIR`)")
    if output_dir.resolve() == source_dir.resolve():
        raise ConfigError(f"the {edition} edition would overwrite the course's own notebooks in {source_dir}: "
                          f"choose another output folder")
    return notebooks


def refuse_to_mix(edition: str, output_dir: Path, course: list[str], written: list[str]) -> None:
    """A :class:`ConfigError` when ``output_dir`` holds notebooks of the course this edition would sit
    beside: another edition's (the folder's mark would then name this one over a teacher's solutions),
    a self-learner's copy (``sft-teach notebooks``, quiz answers and all), or notebooks of the course
    it does not write and no mark of this edition vouches for. Its own earlier notebooks may stay."""
    from .handout import EDITION_MARK, MANIFEST, edition_of

    if not output_dir.is_dir():
        return
    mark = (output_dir / EDITION_MARK).is_file()
    other = edition_of(output_dir) if mark else None
    beside = [name for name in course if name not in written and (output_dir / name).exists()]
    if mark and other != edition:
        why = f"holds the {other} edition"
    elif (output_dir / MANIFEST).is_file():
        why = "holds a self-learner's copy of the course (sft-teach notebooks), quiz answers and all"
    elif beside and not mark:
        why = f"holds {', '.join(beside[:3])}{' and more' if len(beside) > 3 else ''}, not written as the {edition} edition"
    else:
        return
    raise ConfigError(f"'{output_dir}' {why}: the {edition} edition written there would mix the two in one folder: "
                      f"write it to a folder of its own (--output {edition}-notebooks)")


def _joined(part) -> str:
    """An output's text or one form of its data, as one string (nbformat may keep it as a list of lines)."""
    return "".join(part) if isinstance(part, list) else str(part)


def _assert_no_solution(nb, name: str) -> None:
    """The student edition carries no teacher source: not in a cell, not in an output."""
    for exercise in [e for e in dict.fromkeys(map(exercise_id, nb.cells)) if e is not None]:  # the notebook's order
        solution = exercise_source(exercise, "teacher").strip()
        if solution == exercise_source(exercise, "student").strip():
            continue  # nothing to hide
        for cell in nb.cells:
            # each output's text and every form of its data as written: str() of the data's dict would
            # write a line break as \\n, and a solution over several lines would never be found in it
            texts = [cell.source] + [_joined(part) for o in cell.get("outputs", [])
                                     for part in (o.get("text", ""), *o.get("data", {}).values())]
            if any(solution in text for text in texts):
                raise SftTeachError(f"{name}: the solution of exercise {exercise!r} appears in the student "
                                    f"edition: its notebook cell must hold the student source")


def build_notebook(nb, edition: str = "student", execute: str = "exercises", workdir=None,
                   timeout: int = 120, name: str = "notebook"):
    """One notebook (an ``nbformat`` node, changed in place) made into ``edition``; returns it.

    The teacher edition runs the exercise cells (or all cells) in a fresh kernel started in
    ``workdir``; a failing cell raises :class:`sft_teach.course.NotebookFailed`.
    """
    from .course import Execution, drop_live_widgets

    has_exercises = any(exercise_id(c) is not None for c in nb.cells)
    ExerciseSources(edition=edition).preprocess(nb, {})
    if edition == "student":
        _assert_no_solution(nb, name)
        if execute == "exercises":
            return nb
    if execute == "exercises" and not has_exercises:
        return nb  # nothing to run: no kernel started
    execution = Execution(name, timeout)
    with execution.failures(nb):
        ExerciseExecutor(cells=execute, **execution.options()).preprocess(
            nb, {"metadata": {"path": str(workdir or Path.cwd())}})
    drop_live_widgets(nb)
    return nb


def build_edition(edition: str, output_dir, source_dir=None, execute: str = "exercises",
                  timeout: int = 120, only=None) -> list[Path]:
    """Write the course's notebooks as ``edition`` ("student" or "teacher") into ``output_dir``.

    ``source_dir`` holds the committed notebooks (default: the course's own,
    :func:`sft_teach.handout.notebooks_dir`). With
    ``execute="exercises"`` the teacher edition runs only its exercise cells and the student
    edition runs nothing; ``execute="all"`` re-runs every cell of every notebook, in order, in
    ``source_dir`` (its ``outputs/`` paths mean what they mean there). ``only``: the file names
    of the notebooks to write (default: all). Returns the written paths.

    Raises :class:`sft_teach.errors.ConfigError` for an unknown edition or a folder without
    notebooks, and :class:`sft_teach.course.NotebookFailed` when a cell fails.
    """
    import nbformat

    from .handout import EDITION_MARK, make_folder, notebooks_dir

    source_dir = Path(source_dir) if source_dir is not None else notebooks_dir()

    every = _check(edition, execute, source_dir, Path(output_dir))
    notebooks = [p for p in every if only is None or p.name in only]
    refuse_to_mix(edition, Path(output_dir), [p.name for p in every], [p.name for p in notebooks])
    output_dir = make_folder(output_dir, f"for the {edition} edition", example=f"{edition}-notebooks")
    # says what the folder is, first: a build stopped halfway leaves notebooks its mark vouches for, so the
    # same edition can be written on into it, and sft-teach notebooks --update refuses it (it would add
    # the self-learner's copies)
    from sft_teach import __version__

    (output_dir / EDITION_MARK).write_text(json.dumps({"written_by": "sft-teach course --edition", "edition": edition,
                                                       "sft_teach_version": __version__}) + "\n", encoding="utf-8")
    written = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        build_notebook(nb, edition, execute, workdir=source_dir, timeout=timeout, name=path.name)
        nbformat.write(nb, output_dir / path.name)
        written.append(output_dir / path.name)
    return written
