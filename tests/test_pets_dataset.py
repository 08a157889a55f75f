"""The pets data keeps the promises of its datasheet (data/pets/README.md)."""

import csv
import re
from collections import Counter

from sft_teach.bundled import data_dir, unseen_cue_mask, words

FOLDER = data_dir() / "pets"
SPLITS = ("train", "validation", "test")
# the animal, its young, and compounds built on them; breed names that give the answer away
FORBIDDEN = re.compile(
    r"\b(cats?|kittens?|kitty|kitties|kits?|felines?|tomcats?|moggy|moggies|catnip|catwalk|copycat|"
    r"dogs?|doggy|doggie|doggies|doggos?|puppy|puppies|pups?|puppers?|pooch(es)?|canines?|hounds?|mutts?|"
    r"hot ?dogs?|doghouse|dog-eared|underdog|labrador|poodles?|siamese|persian|beagles?|collies?|terriers?|"
    r"spaniels?|retrievers?|husk(y|ies)|tabby|whiskers the|fido|garfield|snoopy|lassie)\b")


def rows(name):
    with open(FOLDER / f"{name}.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


ALL = {name: rows(name) for name in (*SPLITS, "unseen")}
README = (FOLDER / "README.md").read_text(encoding="utf-8")


def test_at_least_400_notes_per_class():
    counts = Counter(r["label"] for s in SPLITS for r in ALL[s])
    assert counts["cat"] >= 400 and counts["dog"] >= 400, counts


def test_no_note_names_the_animal():
    offenders = [r["text"] for part in ALL.values() for r in part if FORBIDDEN.search(r["text"].lower())]
    assert offenders == []


def test_cue_annotations_match_the_test_split():
    cues = rows("test_cues")
    assert [r["text"] for r in cues] == [r["text"] for r in ALL["test"]]
    for r in cues:
        assert r["cues"].split(), r["text"]
        assert set(r["cues"].split()) <= set(words(r["text"])), r["text"]


def test_at_least_30_percent_of_test_notes_have_only_unseen_cue_words():
    mask = unseen_cue_mask("pets")
    assert len(mask) == len(ALL["test"])
    assert mask.mean() >= 0.30
    # and the measure is real: a note whose cue word is in training is not counted
    vocabulary = {w for r in ALL["train"] for w in words(r["text"])}
    for flag, r in zip(mask, rows("test_cues")):
        assert flag == all(w not in vocabulary for w in r["cues"].split())


def test_blind_reader_labels_cover_test_and_unseen_and_the_datasheet_states_their_agreement():
    from sft_teach import bundled

    answers = rows("reader_labels")
    for split in ("test", "unseen"):
        mine = [r for r in answers if r["file"] == f"{split}.csv"]
        assert [r["text"] for r in mine] == [r["text"] for r in ALL[split]]
        assert {r["reader"] for r in mine} <= {"cat", "dog"}
        assert {r["confidence"] for r in mine} <= {"sure", "lean", "none"}
        # the package's count against a plain one
        agree = sum(r["reader"] == truth["label"] for r, truth in zip(mine, ALL[split]))
        got = bundled.reader_agreement("pets", split)
        assert (got["agree"], got["total"]) == (agree, len(ALL[split]))
        assert got["correct"] == [r["reader"] == truth["label"] for r, truth in zip(mine, ALL[split])]
        assert got["sure"] + got["lean"] + got["none"] == got["total"]
        assert got["accuracy"] == agree / len(ALL[split])
        stated = re.search(rf"on (\d+) of (\d+)\s+`{split}.csv` notes", README)
        assert stated, f"the datasheet does not state the reader's agreement on {split}.csv"
        assert (int(stated[1]), int(stated[2])) == (agree, len(ALL[split]))
    assert len(answers) == len(ALL["test"]) + len(ALL["unseen"])


def test_reader_agreement_refuses_labels_that_no_longer_match_the_notes(tmp_path, monkeypatch):
    import shutil

    import pytest

    from sft_teach import bundled
    from sft_teach.errors import DataError

    copy = tmp_path / "pets"
    shutil.copytree(FOLDER, copy)
    lines = (copy / "reader_labels.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1], lines[2] = lines[2], lines[1]  # two answers swapped: no longer in the test split's order
    (copy / "reader_labels.csv").write_text("".join(lines), encoding="utf-8")
    monkeypatch.setattr(bundled, "data_dir", lambda: tmp_path)
    with pytest.raises(DataError, match="reader_labels.csv"):
        bundled.reader_agreement("pets", "test")


def test_the_cue_mask_refuses_cues_that_no_longer_match_the_test_notes(tmp_path, monkeypatch):
    import shutil

    import pytest

    from sft_teach import bundled
    from sft_teach.errors import DataError

    copy = tmp_path / "pets"
    shutil.copytree(FOLDER, copy)
    lines = (copy / "test_cues.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1], lines[2] = lines[2], lines[1]  # the cues of two notes swapped: a mask for other notes
    (copy / "test_cues.csv").write_text("".join(lines), encoding="utf-8")
    monkeypatch.setattr(bundled, "data_dir", lambda: tmp_path)
    with pytest.raises(DataError, match=r"pets/test_cues\.csv: its texts are not the test split's, in order"):
        unseen_cue_mask("pets")


def test_a_word_keeps_its_apostrophe():
    assert words("Don't wake the dog's bowl, 3 times!") == ["don't", "wake", "the", "dog's", "bowl", "times"]


def test_only_folders_of_text_label_splits_are_labelled_datasets(tmp_path, monkeypatch):
    from sft_teach import bundled

    for name, header in (("notes", "text,label"), ("pairs", "text_a,text_b,label"), ("tasks", "task,instruction")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "train.csv").write_text(header + "\n", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    monkeypatch.setattr(bundled, "data_dir", lambda: tmp_path)
    assert bundled.bundled_datasets() == ["notes"]


def test_a_bundled_dataset_refuses_other_columns_even_an_empty_name_and_allows_its_own_with_spaces():
    import pytest

    from sft_teach.bundled import bundled_columns
    from sft_teach.errors import ConfigError

    bundled_columns("pets", " text ", "label")  # its own columns, however spaced: accepted
    for text, label in (("", None), ("note", None), (None, "animal")):
        with pytest.raises(ConfigError, match="is a bundled dataset, read by its own columns text and label: drop --"):
            bundled_columns("pets", text, label)
