"""The pets data keeps the promises of its datasheet (data/pets/README.md)."""

import csv
import re
from collections import Counter

from sft_teach.data import data_dir, unseen_cue_mask, words

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
