"""Rules every bundled dataset keeps (its datasheet, data/<name>/README.md, says so)."""

import csv
import itertools
import re
import sys
from collections import Counter

import pytest

from sft_teach.bundled import bundled_datasets, data_dir, words

SPLITS = ("train", "validation", "test")
DATASETS = bundled_datasets()


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def labelled_files(name):
    """Every CSV with header text,label in the dataset's folder (the splits and extra sets)."""
    files = {p.stem: read(p) for p in sorted((data_dir() / name).glob("*.csv"))}
    return {stem: rows for stem, rows in files.items() if rows and list(rows[0]) == ["text", "label"]}


def test_the_course_ships_its_datasets():
    assert {"pets", "clinic"} <= set(DATASETS)


@pytest.mark.parametrize("name", DATASETS)
def test_splits_and_datasheet(name):
    files = labelled_files(name)
    assert set(SPLITS) <= set(files)
    assert (data_dir() / name / "README.md").is_file()
    total = sum(len(files[s]) for s in SPLITS)
    for split, (low, high) in zip(SPLITS, [(0.55, 0.70), (0.15, 0.25), (0.15, 0.25)]):
        assert low <= len(files[split]) / total <= high, split
    labels = {r["label"] for r in files["train"]}
    for split in SPLITS[1:]:
        assert {r["label"] for r in files[split]} == labels, split


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("split", SPLITS)
def test_classes_are_balanced_in_every_split(name, split):
    counts = Counter(r["label"] for r in labelled_files(name)[split])
    assert max(counts.values()) - min(counts.values()) <= max(2, 0.1 * max(counts.values())), counts


@pytest.mark.parametrize("name", DATASETS)
def test_no_empty_texts_and_lengths_vary(name):
    rows = [r for part in labelled_files(name).values() for r in part]
    assert all(r["text"].strip() and r["label"].strip() for r in rows)
    lengths = [len(words(r["text"])) for r in rows]
    assert min(lengths) <= 5 and max(lengths) >= 30 and len(set(lengths)) >= 30


@pytest.mark.parametrize("name", DATASETS)
def test_no_exact_duplicates_within_or_across_files(name):
    texts = [re.sub(r"\W+", " ", r["text"].lower()).strip() for part in labelled_files(name).values() for r in part]
    assert [t for t, n in Counter(texts).items() if n > 1] == []


def jaccard_at_least(sets: list[frozenset], threshold: float) -> set[tuple[int, int]]:
    """The pairs ``i < j`` whose Jaccard similarity ``|a & b| / |a | b|`` is at least ``threshold``.

    All pairs at once: with a binary matrix X (one row per set, one column per element),
    ``X @ X.T`` holds every ``|a & b|``, and ``|a | b| = |a| + |b| - |a & b|``. A thousand notes
    make half a million pairs, seconds this way against half a minute in a Python loop.
    """
    import numpy as np
    from scipy.sparse import csr_matrix

    ids: dict = {}
    cols = [ids.setdefault(x, len(ids)) for s in sets for x in s]
    rows = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    x = csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(sets), len(ids)))
    inter = (x @ x.T).toarray()
    size = np.diag(inter)
    similar = inter / (size[:, None] + size[None, :] - inter) >= threshold  # divided as the definition is
    return {(int(i), int(j)) for i, j in zip(*np.nonzero(np.triu(similar, k=1)))}


def test_jaccard_at_least_equals_the_definition():
    """The matrix form above against the definition, pair by pair, on made-up sets."""
    import random

    rng = random.Random(0)
    sets = [frozenset(rng.sample(range(12), rng.randint(1, 8))) for _ in range(60)]
    sets += [frozenset({0, 1, 2, 3}), frozenset({0, 1, 2, 4})]  # 3 shared of 5: exactly 0.6
    for threshold in (0.3, 0.6, 1.0):  # 0.6, the threshold of the test below
        expected = {(i, j) for i, j in itertools.combinations(range(len(sets)), 2)
                    if len(sets[i] & sets[j]) / len(sets[i] | sets[j]) >= threshold}
        assert jaccard_at_least(sets, threshold) == expected and expected
    assert (len(sets) - 2, len(sets) - 1) in jaccard_at_least(sets, 0.6)


@pytest.mark.parametrize("name", DATASETS)
def test_no_near_duplicates_within_or_across_files(name):
    """Word-set Jaccard >= 0.6, or character 5-gram Jaccard >= 0.6, counts as a near-duplicate."""
    notes = [r["text"] for part in labelled_files(name).values() for r in part]
    word_sets = [frozenset(words(t)) for t in notes]
    shingles = [frozenset(t.lower()[i:i + 5] for i in range(max(1, len(t) - 4))) for t in notes]
    close = sorted(jaccard_at_least(word_sets, 0.6) | jaccard_at_least(shingles, 0.6))
    assert [(notes[i], notes[j]) for i, j in close] == []


def test_the_near_duplicate_check_can_fail(monkeypatch, tmp_path):
    """The check above is real: a lightly edited copy of a note is caught, and nothing else could be
    what fails (the toy files hold no exact duplicate, and each of the other notes differs in every word)."""
    folder = tmp_path / "toy"
    folder.mkdir()
    notes = {"train": "She sleeps in the bathroom sink every single afternoon.",
             "validation": "The puppy chewed through our garden hose before breakfast.",
             "test": "She sleeps in the bathroom sink every afternoon."}  # train's note, one word dropped
    for split, note in notes.items():
        (folder / f"{split}.csv").write_text(f"text,label\n{note},cat\n")
    monkeypatch.setattr(sys.modules[__name__], "data_dir", lambda: tmp_path)
    test_no_exact_duplicates_within_or_across_files("toy")  # passes: the copy is not exact
    with pytest.raises(AssertionError, match="every afternoon"):
        test_no_near_duplicates_within_or_across_files("toy")
    (folder / "test.csv").write_text("text,label\nHe barks at the postman from the upstairs window.,dog\n")
    test_no_near_duplicates_within_or_across_files("toy")  # and without the copy, nothing is flagged


def test_clinic_has_8_to_10_classes_of_100_or_more():
    counts = Counter(r["label"] for s in SPLITS for r in labelled_files("clinic")[s])
    assert 8 <= len(counts) <= 10
    assert min(counts.values()) >= 100, counts
