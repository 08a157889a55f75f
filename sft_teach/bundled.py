"""The course's own datasets and the measures that come with them.

Each labelled dataset is a folder of ``text,label`` CSV splits with a datasheet (``README.md``:
who wrote it, how, what it is for, its known shortcuts). The pets data also carries, per test note,
the words that give its label away (:func:`unseen_cue_mask`) and a blind reader's answers
(:func:`reader_agreement`), the ceiling a model is compared with.

Taught in notebooks/01_beginner_cats_and_dogs.ipynb.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from sft_teach.csv_files import read_csv_rows
from sft_teach.errors import ConfigError, DataError


def data_dir() -> Path:
    """Where the bundled datasets live: inside an installed wheel, else the repository."""
    packaged = Path(__file__).resolve().parent / "_datasets"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "data"


def datasheet(name: str):
    """The datasheet of a bundled dataset (``data/NAME/README.md``: who wrote the data, how, what it
    is for, its known shortcuts), as Markdown that a notebook shows formatted; ``.data`` is the text.

    Works in any copy of the course, where the repository's ``data/`` folder is not at hand.
    """
    from IPython.display import Markdown

    sheets = sorted(p.parent.name for p in data_dir().glob("*/README.md"))
    if name not in sheets:
        raise DataError(f"no datasheet for {name!r}: the bundled datasets with one are {', '.join(sheets)}")
    return Markdown((data_dir() / name / "README.md").read_text(encoding="utf-8"))


def bundled_datasets() -> list[str]:
    """Names of the labelled datasets that ship with the course (folders of ``text,label`` CSV splits).

    Other bundled data (the paraphrase pairs, the instruction pairs) has other columns and is
    loaded by the module that uses it.
    """
    root = data_dir()
    if not root.is_dir():
        return []

    def labelled(folder: Path) -> bool:
        train = folder / "train.csv"
        if not train.is_file():
            return False
        with train.open(encoding="utf-8") as header:
            return header.readline().strip() == "text,label"

    return sorted(p.name for p in root.iterdir() if labelled(p))


def words(text: str) -> list[str]:
    """Lower-case word tokens (letters and apostrophes): the unit of "a word occurs in training"."""
    return re.findall(r"[a-z']+", text.lower())


def unseen_cue_mask(name: str = "pets"):
    """For each test note of a bundled dataset: True if none of its cue words occurs in training.

    ``data/<name>/test_cues.csv`` lists, per test note, the words that give its label away
    (written with the note). A note whose cue words never occur in the training split can
    only be classified from knowledge the model brought with it: a bag-of-words model has
    never seen those words. Returns a boolean ``numpy`` array aligned with the test split.
    """
    import numpy as np

    folder = data_dir() / name
    train_vocabulary = {w for text in read_csv_rows(folder / "train.csv")[0] for w in words(text)}
    texts, cues = read_csv_rows(folder / "test_cues.csv", "text", "cues", classes=False)
    if texts != read_csv_rows(folder / "test.csv")[0]:
        raise DataError(f"{name}/test_cues.csv: its texts are not the test split's, in order: regenerate it")
    return np.array([not any(w in train_vocabulary for w in c.split()) for c in cues])


def reader_agreement(name: str = "pets", split: str = "test") -> dict:
    """How often a blind reader's answer agrees with the label, for one labelled file.

    ``data/<name>/reader_labels.csv`` holds, for each note of ``test.csv`` and ``unseen.csv``
    in order, the answer of a reader who saw no labels and no training notes, with how sure
    they were (``sure`` / ``lean`` / ``none``). It is the course's measure of what a careful
    reader can get right: the ceiling a model is compared with. Returns ``{"agree", "total",
    "accuracy", "sure", "lean", "none", "correct"}``: "sure"/"lean"/"none" count the answers
    given with that confidence, "correct" says for each note whether the reader was right.
    """
    folder = data_dir() / name
    texts, labels = read_csv_rows(folder / f"{split}.csv")
    with open(folder / "reader_labels.csv", newline="", encoding="utf-8") as f:
        answers = [row for row in csv.DictReader(f) if row["file"] == f"{split}.csv"]
    if [row["text"] for row in answers] != texts:
        raise DataError(f"{name}/reader_labels.csv: its {split}.csv texts are not that file's, in order: regenerate it")
    correct = [row["reader"] == label for row, label in zip(answers, labels)]
    confidence = [row["confidence"] for row in answers]
    return {"agree": sum(correct), "total": len(texts), "accuracy": sum(correct) / len(texts),
            **{level: confidence.count(level) for level in ("sure", "lean", "none")}, "correct": correct}


def bundled_columns(name: str, text_column: str | None, label_column: str | None) -> None:
    """A bundled dataset is read by its own columns, ``text`` and ``label``: other column names (meant
    for a CSV file of one's own) are refused rather than silently ignored."""
    asked = [(option, column) for option, column in (("text", text_column), ("label", label_column))
             if column is not None and column.strip() != option]
    if asked:
        options = " and ".join(f"--{option}-column {column}" for option, column in asked)
        raise ConfigError(f"'{name}' is a bundled dataset, read by its own columns text and label: drop {options} "
                          f"(the column options name the columns of a CSV file of your own)")
