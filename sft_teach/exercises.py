"""Coding exercises with automatic feedback: write a small function, run the cell, read the verdict.

Each notebook 01-07 has exercise cells right after the section that teaches the idea. A cell
defines one function and ends with ``check("02-peak-reached", peak_fraction)``, which runs the
function on several test cases (an edge case among them) and shows one line: a ✓, or a ✗ that
names the case that failed, what came back and what was expected::

    ✗ Not yet: peak_fraction(total_steps=135, warmup_steps=500) returned 0.27; expected 0.268.

* :func:`catalogue`: every :class:`Exercise` (id, notebook, title, task, the function's name);
* :func:`check`: a :class:`CheckResult`; a wrong answer never raises;
* :func:`solution`: the reference solution (kept in :mod:`sft_teach.exercise_solutions`);
* :func:`cell_source`: the whole exercise cell, ``"student"`` edition (a stub) or ``"teacher"``
  (the solution). Every cell runs on its own in a fresh kernel, in well under a second.

Taught in notebooks/01_beginner_cats_and_dogs.ipynb to notebooks/07_instruction_sft.ipynb.
"""

from __future__ import annotations

import functools
import html
import inspect
import textwrap
from dataclasses import dataclass, field
from typing import Callable

from sft_teach import exercise_checks as checks
from sft_teach.exercise_cases import CATALOGUE


@dataclass(frozen=True)
class Exercise:
    """One exercise. ``id`` is ``"NN-slug"`` (NN: the notebook); ``name`` the function the learner writes."""

    id: str
    notebook: str
    title: str
    task: str
    name: str
    hint: str = ""
    imports: str = ""  # lines at the top of the cell, in both editions (e.g. "import numpy as np")
    cases: Callable[[], list[tuple]] = field(default=list, repr=False, compare=False)
    compare: Callable = field(default=None, repr=False, compare=False)
    mistakes: tuple = field(default=(), repr=False, compare=False)  # (wrong function, hint)
    unchanged: bool = field(default=False, repr=False, compare=False)  # must not modify its arguments
    seed: str | None = field(default=None, repr=False, compare=False)  # the parameter that seeds a shuffle


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one answer: ``passed`` and a one-line ``message``. Shows as a ✓ / ✗ line."""

    exercise_id: str
    passed: bool
    message: str

    def __str__(self):
        return f"{'✓ Correct' if self.passed else '✗ Not yet'}: {self.message}"

    def __repr__(self):
        return str(self)

    def __bool__(self):
        return self.passed

    def _repr_html_(self):
        colour = "#1a7f37" if self.passed else "#b35900"
        mark, verdict = ("✓", "Correct") if self.passed else ("✗", "Not yet")
        return (f'<div style="color:{colour}"><b>{mark} {verdict}</b> '
                f'<span style="color:#888">[{html.escape(self.exercise_id)}]</span>: '
                f"{html.escape(self.message)}</div>")

    def _repr_markdown_(self):
        return f"**{str(self).split(':', 1)[0]}** `[{self.exercise_id}]`: {self.message}"


def catalogue() -> list[Exercise]:
    """Every exercise of the course, in notebook order.

    Taught in notebooks/01_beginner_cats_and_dogs.ipynb to notebooks/07_instruction_sft.ipynb.
    """
    return [Exercise(**entry) for entry in CATALOGUE]


def _find(exercise_id: str) -> Exercise:
    for exercise in catalogue():
        if exercise.id == exercise_id:
            return exercise
    known = ", ".join(e.id for e in catalogue())
    raise KeyError(f"no exercise {exercise_id!r}; the exercises are: {known}")


class Solution:
    """A reference solution: call it as the function it wraps; a notebook shows its code, with the
    imports it needs (``source`` alone is the function, as the teacher edition's cell holds it)."""

    def __init__(self, function: Callable, imports: str = ""):
        functools.update_wrapper(self, function)  # name, docstring, and the signature check() reads
        self.source = inspect.getsource(function).strip("\n")
        self.imports = imports

    def __call__(self, *args, **kwargs):
        return self.__wrapped__(*args, **kwargs)

    def __repr__(self):
        return f"{self.imports}\n\n\n{self.source}" if self.imports else self.source

    def _repr_markdown_(self):
        return f"```python\n{self!r}\n```"


def solution(exercise_id: str) -> Solution:
    """The reference solution of an exercise (from :mod:`sft_teach.exercise_solutions`): shown, it
    is its source code; called, it computes the answer, so ``check(id, solution(id))`` passes."""
    from sft_teach import exercise_solutions

    exercise = _find(exercise_id)
    return Solution(getattr(exercise_solutions, exercise.name), exercise.imports)


def check(exercise_id: str, answer) -> CheckResult:
    """Run ``answer`` on the exercise's test cases and say whether it is right, and if not, where.

    Never raises on a wrong answer (``None``, a wrong type or shape, ``NaN``, an exception in the
    answer); an unknown ``exercise_id`` raises ``KeyError`` listing the known ones.

    Taught in notebooks/01_beginner_cats_and_dogs.ipynb to notebooks/07_instruction_sft.ipynb.
    """
    exercise = _find(exercise_id)
    reference = solution(exercise_id)
    params = list(inspect.signature(reference).parameters)
    passed, message = checks.run(exercise.name, answer, reference, exercise.cases(), exercise.compare, params,
                                 mistakes=exercise.mistakes, unchanged=exercise.unchanged,
                                 seed=exercise.seed)
    return CheckResult(exercise_id, passed, message)


def cell_source(exercise_id: str, edition: str = "student") -> str:
    """The full source of the exercise's code cell: a header comment, the imports, the function, the check.

    ``edition="student"``: the function is a stub that returns ``None``; ``"teacher"``: the
    reference solution's source. Both run on their own in a fresh kernel.
    """
    if edition not in ("student", "teacher"):
        raise ValueError(f"edition must be 'student' or 'teacher', got {edition!r}")
    exercise = _find(exercise_id)
    reference = solution(exercise_id).source
    if edition == "student":
        signature = reference.split("\n", 1)[0]  # "def name(args):"
        body = f"{signature}\n    # your code here\n    return None"
    else:
        body = reference
    imports = f"{exercise.imports}\n\n" if exercise.imports else ""
    return (f"# Exercise {exercise.id}: {exercise.title}\n{imports}from sft_teach.exercises import check\n\n\n"
            f'{body}\n\n\ncheck("{exercise.id}", {exercise.name})')


def task_markdown(exercise_id: str, solution_pointer: bool = True) -> str:
    """The markdown cell above the exercise: a heading, the task, the hint.

    ``solution_pointer``: end with where the reference answer is (the self-learner's notebooks);
    the student edition leaves it out, for a teacher who hands the exercises out.
    """
    exercise = _find(exercise_id)
    pointer = f' (`sft_teach.exercises.solution("{exercise.id}")` shows an answer.)' if solution_pointer else ""
    paragraphs = [exercise.task, *([f"*Hint:* {exercise.hint}"] if exercise.hint else []),
                  f"Run the cell: `check` tries your function on a few cases and says which one, if any, went "
                  f"wrong.{pointer}"]
    wrapped = ["\n".join(_fill(line) for line in p.split("\n")) for p in paragraphs]  # a task may end in a list
    return f"### Exercise: {exercise.title}\n\n" + "\n\n".join(wrapped)


def _fill(line: str) -> str:
    """One line of a task wrapped at 100 characters; a list item's later lines indented under its text."""
    indent = "  " if line.startswith("- ") else ""
    return textwrap.fill(line, 100, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)
