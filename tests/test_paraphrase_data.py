"""The paraphrase evaluation set: data/paraphrase/pairs.csv and its datasheet.

Checks the CSV's shape (header, 240 rows, 120 per label), that every sentence is
non-empty and used once, that no pair is two copies of one sentence, that no two rows
are near-duplicates, and that README.md quotes the CSV's counts. No model is loaded.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections import Counter
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data" / "paraphrase"


def norm(text: str) -> str:
    return " ".join(text.lower().split())


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with open(DATA / "pairs.csv", encoding="utf-8", newline="") as f:
        assert f.readline().rstrip("\r\n") == "sentence1,sentence2,label"
        f.seek(0)
        return list(csv.DictReader(f))


def test_rows_and_labels(rows):
    assert len(rows) == 240
    assert {r["label"] for r in rows} <= {"0", "1"}
    assert Counter(r["label"] for r in rows) == {"0": 120, "1": 120}


def test_sentences_nonempty_and_unique(rows):
    sentences = [norm(r[k]) for r in rows for k in ("sentence1", "sentence2")]
    assert all(sentences)
    repeated = [s for s, n in Counter(sentences).items() if n > 1]
    assert not repeated, repeated
    assert not [r for r in rows if norm(r["sentence1"]) == norm(r["sentence2"])]


def test_no_near_duplicate_rows(rows):
    sets = [words(r["sentence1"] + " " + r["sentence2"]) for r in rows]
    close = [(i, j) for (i, a), (j, b) in itertools.combinations(enumerate(sets), 2)
             if len(a & b) / len(a | b) >= 0.6]
    assert not close, [(rows[i]["sentence1"], rows[j]["sentence1"]) for i, j in close]


def test_readme_states_the_csv_counts(rows):
    readme = (DATA / "README.md").read_text(encoding="utf-8")

    def stated(label: str) -> int:
        match = re.search(rf"^\|\s*{label}[^|]*\|\s*(\d+)", readme, re.I | re.M)
        assert match, f"README.md gives no count for {label!r}"
        return int(match.group(1))

    labels = Counter(r["label"] for r in rows)
    assert stated("total") == len(rows)
    assert stated("label 1") == labels["1"]
    assert stated("label 0") == labels["0"]
