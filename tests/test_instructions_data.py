"""The instruction-tuning rows: data/instructions/train.csv, test.csv and their datasheet.

Checks the header and the exact counts per split, task, animal and desk; that every
response is valid for its task; that every animal and desk input is a note of the pets or
clinic split of the same name, copied verbatim, with the same label; that no input is used
twice; that no two instructions are the same or near-duplicates, in either file; that
README.md quotes the CSVs' counts; and that instructions_source.py writes exactly these
files. No model is loaded.
"""

from __future__ import annotations

import csv
import importlib.util
import itertools
import re
from collections import Counter
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data" / "instructions"
HEADER = "task,instruction,input,response"
SPLITS = ("train", "test")
DESKS = ("adoption", "appointment", "billing", "complaint", "emergency", "grooming",
         "lost_found", "praise", "prescription", "shop")
SOURCE_OF_TASK = {"animal": "pets", "desk": "clinic"}
EXPECTED = {
    "train": {"animal": 160, "cat": 80, "dog": 80, "desk": 120, "per desk": 12, "rewrite": 60},
    "test": {"animal": 40, "cat": 20, "dog": 20, "desk": 30, "per desk": 3, "rewrite": 20},
}


def norm(text: str) -> str:
    return " ".join(text.lower().split())


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def splits() -> dict[str, list[dict[str, str]]]:
    out = {}
    for split in SPLITS:
        with open(DATA / f"{split}.csv", encoding="utf-8", newline="") as f:
            assert f.readline().rstrip("\r\n") == HEADER, split
        out[split] = read(DATA / f"{split}.csv")
    return out


@pytest.fixture(scope="module")
def all_rows(splits) -> list[dict[str, str]]:
    return [r for split in SPLITS for r in splits[split]]


@pytest.mark.parametrize("split", SPLITS)
def test_counts_per_task_animal_and_desk(splits, split):
    rows, expected = splits[split], EXPECTED[split]
    tasks = Counter(r["task"] for r in rows)
    assert tasks == {"animal": expected["animal"], "desk": expected["desk"], "rewrite": expected["rewrite"]}
    animals = Counter(r["response"] for r in rows if r["task"] == "animal")
    assert animals == {"cat": expected["cat"], "dog": expected["dog"]}
    desks = Counter(r["response"] for r in rows if r["task"] == "desk")
    assert desks == {d: expected["per desk"] for d in DESKS}


def test_responses_are_valid(all_rows):
    for r in all_rows:
        if r["task"] == "animal":
            assert r["response"] in ("cat", "dog"), r
        elif r["task"] == "desk":
            assert r["response"] in DESKS, r
        else:
            assert r["task"] == "rewrite", r
            assert r["response"].strip() and len(r["response"].split()) <= 40, r
        assert r["instruction"].strip(), r


@pytest.mark.parametrize("split", SPLITS)
def test_classification_inputs_are_verbatim_notes_of_the_same_split(splits, split):
    for task, dataset in SOURCE_OF_TASK.items():
        labels = {row["text"]: row["label"] for row in read(DATA.parent / dataset / f"{split}.csv")}
        for r in splits[split]:
            if r["task"] != task:
                continue
            assert r["input"] in labels, f"{split} {task} input is not a note of {dataset}/{split}.csv: {r['input']!r}"
            assert labels[r["input"]] == r["response"], r
            assert len(r["input"].split()) <= 40, r


def test_no_input_used_twice(all_rows):
    inputs = [norm(r["input"]) for r in all_rows if r["input"].strip()]
    repeated = [i for i, n in Counter(inputs).items() if n > 1]
    assert not repeated, repeated


def test_rewrite_rows_mostly_have_an_input(all_rows):
    rewrites = [r for r in all_rows if r["task"] == "rewrite"]
    empty = [r for r in rewrites if not r["input"].strip()]
    assert len(empty) <= len(rewrites) // 5, len(empty)
    assert all(r["input"].strip() for r in all_rows if r["task"] != "rewrite")


def test_no_duplicate_or_near_duplicate_instructions(all_rows):
    instructions = [r["instruction"] for r in all_rows]
    repeated = [i for i, n in Counter(norm(i) for i in instructions).items() if n > 1]
    assert not repeated, repeated
    sets = [words(i) for i in instructions]
    close = [(instructions[a], instructions[b]) for a, b in itertools.combinations(range(len(sets)), 2)
             if len(sets[a] & sets[b]) / len(sets[a] | sets[b]) >= 0.8]
    assert not close, close


def test_no_duplicate_instruction_input_pairs(all_rows):
    pairs = Counter((norm(r["instruction"]), norm(r["input"])) for r in all_rows)
    assert not [p for p, n in pairs.items() if n > 1]


def test_animal_instructions_do_not_name_only_one_animal(all_rows):
    for r in all_rows:
        if r["task"] == "animal":
            named = words(r["instruction"])
            cat, dog = bool(named & {"cat", "cats", "cat's"}), bool(named & {"dog", "dogs", "dog's"})
            assert cat == dog, r["instruction"]


def test_readme_states_the_csv_counts(splits):
    readme = (DATA / "README.md").read_text(encoding="utf-8")

    def row(name: str) -> list[int]:
        """The numbers of the README table row that starts with `name` and holds only numbers."""
        match = re.search(rf"^\|\s*`{re.escape(name)}`\s*((?:\|\s*\d+\s*)+)\|\s*$", readme, re.M)
        assert match, f"README.md has no table row of counts for {name!r}"
        return [int(cell) for cell in re.findall(r"\d+", match.group(1))]

    for split in SPLITS:
        rows = splits[split]
        tasks = Counter(r["task"] for r in rows)
        animals = Counter(r["response"] for r in rows if r["task"] == "animal")
        assert row(f"{split}.csv") == [len(rows), tasks["animal"], animals["cat"], animals["dog"],
                                       tasks["desk"], tasks["rewrite"]]
    for desk in DESKS:
        assert row(desk) == [sum(r["task"] == "desk" and r["response"] == desk for r in splits[s]) for s in SPLITS]


def test_the_source_script_writes_these_files(tmp_path):
    spec = importlib.util.spec_from_file_location("instructions_source", DATA / "instructions_source.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write(tmp_path)
    for split in SPLITS:
        assert (tmp_path / f"{split}.csv").read_bytes() == (DATA / f"{split}.csv").read_bytes(), split
