"""sft_teach.checks and sft_teach.cleaning: each count against a hand count on a small dataset."""

import re

import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

from sft_teach import checks, cleaning
from sft_teach.errors import ConfigError

FEATURES = Features({"text": Value("string"), "label": ClassLabel(names=["cat", "dog"])})


def _ds(rows):
    return Dataset.from_dict({"text": [t for t, _ in rows], "label": [y for _, y in rows]}, features=FEATURES)


def test_duplicates_ignore_case_and_spacing():
    assert checks.duplicates(["Purrs.", "purrs.", "Purrs. ", "Barks."]) == {"purrs.": 3}


def test_conflicts_count_texts_with_two_labels():
    assert checks.conflicts(["Naps.", "naps.", "Barks.", "Barks."], [0, 1, 1, 1]) == 1


def test_deduplicate_keeps_the_first_of_each_text():
    ds = cleaning.deduplicate(_ds([("Purrs.", 0), ("Barks.", 1), ("purrs.", 0), ("Digs.", 1)]))
    assert ds["text"] == ["Purrs.", "Barks.", "Digs."]


def test_overlap_counts_evaluation_texts_seen_in_training():
    assert checks.overlap(["Purrs.", "Barks."], ["barks.", "Digs.", "Purrs."]) == 2


def test_token_lengths_include_special_tokens(tokenizer):
    assert checks.token_lengths(["Purrs.", "A much longer note."], tokenizer) == [len(tokenizer.tokenize(t)) + 2 for t in ["Purrs.", "A much longer note."]]  # + [CLS], [SEP]
    with pytest.raises(ConfigError, match=r"^token_lengths takes a list of texts, got a Dataset"):
        checks.token_lengths(_ds([("Purrs.", 0)]), tokenizer)
    with pytest.raises(ConfigError, match=r"^token_lengths: tokenizer must be the model's tokenizer .* got NoneType"):
        checks.token_lengths(["Purrs."], None)


def test_check_reports_each_kind_once(tokenizer):
    train = _ds([("Purrs.", 0), ("Purrs.", 1), ("Barks.", 1)] + [(f"Dog note {w}.", 1) for w in "abcdefghij"])
    dataset = DatasetDict(train=train, validation=_ds([("Barks.", 1), ("Hisses.", 0)]))
    kinds = [f.kind for f in checks.check(dataset, tokenizer, max_length=4)]
    assert kinds == ["no_test_split", "conflicts", "duplicates", "overlap", "few_evaluated", "tiny_class", "imbalance",
                     "long_texts", "long_texts"]
    dataset["test"] = _ds([("Digs.", 1), ("Naps.", 0)])  # with a test split, that finding goes
    assert "no_test_split" not in [f.kind for f in checks.check(dataset, tokenizer, max_length=4)]


def test_summary_counts_rows_and_classes():
    dataset = DatasetDict(train=_ds([("Purrs.", 0), ("Barks.", 1), ("Digs.", 1)]))
    assert checks.summary(dataset) == {"train": {"rows": 3, "classes": {"cat": 1, "dog": 2}}}


def test_resolve_conflicts_keeps_a_majority_label_and_drops_a_tie():
    rows = [("Naps.", 0), ("naps.", 0), ("NAPS.", 1),  # 2 to 1: cat stays, the dog copy goes
            ("Digs.", 0), ("Digs.", 1),                # 1 to 1: nobody can say, dropped
            ("Barks.", 1)]
    settled, kept, dropped = cleaning.resolve_conflicts(_ds(rows))
    assert settled["text"] == ["Naps.", "naps.", "Barks."] and settled["label"] == [0, 0, 1]
    assert (kept, dropped) == (1, 1)


def test_clean_reports_what_it_removed_and_leaves_no_repeats():
    rows = [("Purrs.", 0), ("Barks.", 1), ("purrs.", 0), ("Digs.", 1), ("Digs.", 0), ("Naps.", 0)]
    cleaned, report = cleaning.clean(_ds(rows))
    assert cleaned["text"] == ["Purrs.", "Barks.", "Naps."]
    assert report == {"rows": 6, "conflicts_kept_majority": 0, "conflicts_dropped": 1, "conflict_rows_removed": 2,
                      "duplicates_removed": 1, "rows_kept": 3, "dropped": [{"text": "Digs."}]}
    # a majority kept: the outvoted copy is counted too, so that the counts add up to the rows
    outvoted = cleaning.clean(_ds([("Digs.", 1), ("digs.", 1), ("Digs.", 0), ("Naps.", 0)]))[1]
    assert (outvoted["conflicts_kept_majority"], outvoted["conflict_rows_removed"], outvoted["duplicates_removed"],
            outvoted["rows_kept"]) == (1, 1, 1, 2)
    outvoted["split_seed"] = 42
    assert cleaning.described(outvoted) == ("4 rows: removed 1 repeated text; 1 text with conflicting labels kept "
                                            "with the majority label, 0 dropped (no majority), which removed 1 row; "
                                            "2 rows split with seed 42")
    # one label read without its extra spaces is said too: it joined two spellings of one class
    assert "read 1 label without extra spaces (around it" in cleaning.described({**outvoted, "labels_trimmed": 1})
    lined = _ds(rows).add_column("line", [2, 3, 4, 5, 6, 7])  # a CSV's rows name their line
    dropped = cleaning.clean(lined)[1]["dropped"]
    assert dropped == [{"text": "Digs.", "line": 5, "lines": [5, 6]}]  # the first copy, and every copy
    assert cleaning.dropped_list(dropped) == "'Digs.' (lines 5, 6)"
    assert cleaning.dropped_list([{"text": "Digs.", "line": 5, "lines": list(range(5, 12))}]) == "'Digs.' (lines 5, 6, 7, 8 and 3 more)"
    assert cleaning.dropped_list([{"text": "Digs."}, {"text": "Naps."}]) == "'Digs.' and 'Naps.'"
    assert not checks.duplicates(cleaned["text"])


def test_labels_that_differ_only_in_case_are_grouped_and_warned_about():
    assert checks.case_variants(["Cat", "cat", "dog", "Dog ", "bird"]) == [["Cat", "cat"], ["Dog ", "dog"]]
    features = Features({"text": Value("string"), "label": ClassLabel(names=["Cat", "cat", "dog"])})
    part = Dataset.from_dict({"text": [f"note {i}" for i in range(30)], "label": [i % 3 for i in range(30)]},
                             features=features)
    findings = checks.check(DatasetDict(train=part, validation=part.select(range(3))))
    assert any(f.kind == "label_case" and "'Cat' and 'cat'" in f.message and "--merge-case" in f.message
               for f in findings)


def test_one_number_written_two_ways_is_reported(tokenizer):
    names = ["0", "1", "1.0"]
    train = Dataset.from_dict({"text": ["a b", "c d", "e f"], "label": [0, 1, 2]},
                              features=Features({"text": Value("string"), "label": ClassLabel(names=names)}))
    findings = [f for f in checks.check(DatasetDict(train=train, validation=train, test=train)) if f.kind == "label_number_format"]
    assert len(findings) == 1 and "labels '1' and '1.0' are one number written two ways" in findings[0].message


def test_a_class_absent_from_an_evaluation_split_is_reported():
    """Macro-F1 averages the classes present: a class with no validation rows is silently left out of it."""
    train = _ds([(f"Cat note {w}.", 0) for w in "abcdefgh"] + [(f"Dog note {w}.", 1) for w in "abcdefgh"])
    dataset = DatasetDict(train=train, validation=_ds([("Barks.", 1), ("Digs.", 1)]),
                          test=_ds([("Hisses.", 0), ("Naps.", 1)]))
    findings = [f for f in checks.check(dataset) if f.kind == "class_not_evaluated"]
    assert [f.message for f in findings] == [
        "validation: no rows of class 'cat', so its score is never measured there and macro-F1 averages the other "
        "classes only: add rows of it to validation.csv"]


def test_a_class_no_split_has_is_not_reported_as_unevaluated():
    """A class named in the labels but absent from train too is tiny_class's to report (it cannot be
    learnt), not a class whose score validation fails to measure."""
    features = Features({"text": Value("string"), "label": ClassLabel(names=["cat", "dog", "fox"])})
    rows = [(f"Cat note {w}.", 0) for w in "abcdefgh"] + [(f"Dog note {w}.", 1) for w in "abcdefgh"]
    train = Dataset.from_dict({"text": [t for t, _ in rows], "label": [l for _, l in rows]}, features=features)
    validation = Dataset.from_dict({"text": ["Purred.", "Barked."], "label": [0, 1]}, features=features)
    findings = checks.check(DatasetDict(train=train, validation=validation))
    assert not [f for f in findings if f.kind == "class_not_evaluated"]
    assert [f.kind for f in findings if "'fox'" in f.message] == ["tiny_class"]
    (said,) = [f.message for f in findings if "'fox'" in f.message]  # not "has only 0 examples"
    assert said == ("train: class 'fox' has no examples, so the model gets an output it is never trained to give: "
                    "add examples of it, or remove it from the labels")


def test_test_texts_repeated_from_validation_are_reported():
    """Validation chooses the epoch kept: a test text that is also a validation text (case and spaces
    aside) makes the test score depend on that choice; train is not involved."""
    train = _ds([(f"Cat note {w}.", 0) for w in "abcdefgh"] + [(f"Dog note {w}.", 1) for w in "abcdefgh"])
    dataset = DatasetDict(train=train, validation=_ds([("Barks at the door.", 1), ("Naps.", 0)]),
                          test=_ds([("barks at  the door.", 1), ("Hisses.", 0), ("Naps.", 0)]))
    findings = [f for f in checks.check(dataset) if f.kind == "test_in_validation"]
    assert [f.message for f in findings] == [
        "test: 2 of its 3 texts also occur in validation (the first: 'barks at the door.'), which chooses the "
        "epoch kept, so the test score is not independent of that choice: remove them from one of the two"]
    apart = DatasetDict(train=train, validation=dataset["validation"], test=_ds([("Hisses.", 0), ("Digs.", 1)]))
    assert not [f for f in checks.check(apart) if f.kind == "test_in_validation"]


def test_near_empty_texts_are_reported():
    """Fewer than SHORT_TEXT letters or digits, counted by hand: 'ok' 2, a thumbs-up 0, '--' 0, 'No.' 2,
    'R2D2' 4, 'Yes' 3."""
    assert checks.near_empty(["ok", "\U0001F44D", "--", "R2D2", "No.", "Yes", "Barked at the postman."]) == [
        "ok", "\U0001F44D", "--", "No."]
    train = _ds([(f"Cat note {w}.", 0) for w in "abcdefgh"] + [(f"Dog note {w}.", 1) for w in "abcdefgh"]
                + [("ok", 0), ("\U0001F436", 1)])
    dataset = DatasetDict(train=train, validation=_ds([("Hisses.", 0), ("No", 1)]), test=_ds([("Digs.", 1), ("Naps.", 0)]))
    findings = [f.message for f in checks.check(dataset) if f.kind == "near_empty"]
    assert findings == [
        "train: 2 texts have fewer than 3 letters or digits (the first: 'ok'), next to nothing to learn from or be "
        "scored on: check they are real examples, or delete them",
        "validation: 1 text has fewer than 3 letters or digits ('No'), next to nothing to learn from or be "
        "scored on: check it is a real example, or delete it"]


def test_quotes_keep_a_backslash_as_written():
    """The quoted start of a text is searched for in an editor: C:\\My Apps, not C:\\\\My Apps."""
    assert checks._quote(r"Install path C:\My Apps breaks") == r"'Install path C:\My Apps breaks'"


def test_a_model_that_predicts_one_class_for_everything_is_reported():
    finding = checks.one_class_predicted([0, 0, 0, 0], [0, 1, 0, 1], ["cat", "dog"], "test")
    assert finding.kind == "one_class_predicted"
    assert finding.message.startswith("the model predicts 'cat' for every one of the 4 test texts")
    assert checks.one_class_predicted([0, 1, 0, 0], [0, 1, 0, 1], ["cat", "dog"]) is None  # two classes predicted
    assert checks.one_class_predicted([1, 1], [1, 1], ["cat", "dog"]) is None  # a split of one class: nothing to say


def test_classes_the_model_never_predicts_are_reported():
    names = ["other", "refund", "repair", "warranty"]
    finding = checks.classes_never_predicted([1, 2, 2, 1, 2, 1], [0, 1, 2, 3, 2, 1], names)
    assert finding.kind == "class_never_predicted"
    assert finding.message == ("the model never predicts 'other' or 'warranty' on the 6 test texts, 2 of which are of "
                               "those classes: its recall there is 0; add examples of them to the training data")
    three = checks.classes_never_predicted([3, 4, 3, 4], [0, 1, 2, 3], ["a", "b", "c", "d", "e"])
    assert three.message.startswith("the model never predicts 'a', 'b' or 'c' on the 4 test texts, 3 of which")
    assert checks.classes_never_predicted([0, 1, 2, 3], [0, 1, 2, 3], names) is None  # every class predicted
    assert checks.classes_never_predicted([1, 1, 2], [1, 1, 2], names) is None  # absent classes are not missed
    assert checks.classes_never_predicted([1, 1, 1], [0, 1, 2], names) is None  # one class for all: the other finding
    # with the training counts: a class as large as the others lacked training, not rows
    trained_enough = checks.classes_never_predicted([1, 2, 2, 1], [0, 1, 2, 1], names, train_labels=[0] * 30 + [1] * 40 + [2] * 35 + [3] * 2)
    assert trained_enough.message.endswith("its recall there is 0; it had 30 training rows, at least half the median class's 32.5, "
                                           "so more rows are not the first fix: train longer (--epochs; num_train_epochs= "
                                           "in Python) or at another learning rate (--lr; learning_rate=)")
    rare = checks.classes_never_predicted([1, 2, 2, 1], [0, 1, 2, 1], names, train_labels=[0] * 5 + [1] * 40 + [2] * 35 + [3] * 30)
    assert rare.message.endswith("add examples of it to the training data")  # 5 rows against a median of 32.5


def test_a_batch_larger_than_the_training_split_is_reported():
    # 40 texts in batches of 64: one optimiser step an epoch; 40 // 4 = 10 a batch gives 4 steps
    finding = checks.batch_over_train(40, 64)
    assert finding.kind == "batch_over_train"
    assert finding.message == ("train: batch size 64 is more than its 40 texts, so each epoch is one optimiser step "
                               "and the model barely learns: use --batch-size 10 (batch_size=10 in Python), for 4 "
                               "steps an epoch")
    # a batch of every text is one step an epoch too
    assert checks.batch_over_train(40, 40).message.startswith("train: batch size 40 equals its 40 texts, so each epoch")
    # accumulation counts: 16 x 4 = 64 texts a step
    accumulated = checks.batch_over_train(40, 16, grad_accum=4)
    assert "batches of 16 x 4 accumulated is more than its 40 texts" in accumulated.message
    assert "(batch_size=10 in Python) without --grad-accum (gradient_accumulation_steps=), for 4" in accumulated.message
    assert checks.batch_over_train(3, 16).message.endswith("use --batch-size 1 (batch_size=1 in Python), for 3 steps an epoch")
    assert checks.batch_over_train(41, 40) is None  # two steps an epoch
    assert checks.batch_over_train(714, 16) is None


def test_texts_the_tokenizer_reads_mostly_as_unknown_are_reported(tokenizer):
    # a 20,000-character run with no space is one [UNK]; an emoji pair is near_empty's, not this check's
    long_word = "x" * 20000
    assert checks.mostly_unknown([long_word, "Purred on the sofa.", "🐱🐱"], tokenizer) == [long_word]
    # counted in characters: a short text with an emoji is mostly read ('cute' and one [UNK] for the two cats)
    assert checks.mostly_unknown(["Cute 🐱🐱", "So cute 🐱 🐱 🐱", "Purred 🐱🐱🐱🐱🐱🐱🐱"], tokenizer) == ["Purred 🐱🐱🐱🐱🐱🐱🐱"]
    # at least half: 4 of 8 characters unread counts, 4 of 9 does not
    assert checks.mostly_unknown(["Cute 🐱🐱🐱🐱", "Cuter 🐱🐱🐱🐱"], tokenizer) == ["Cute 🐱🐱🐱🐱"]
    dataset = DatasetDict({"train": _ds([("Purred on the sofa.", 0), ("Barked at the postman.", 1)] * 4 + [(long_word, 1)]),
                           "validation": _ds([("Chased a laser dot.", 0), ("Fetched the ball.", 1)])})
    [finding] = [f for f in checks.check(dataset, tokenizer) if f.kind == "unknown_tokens"]
    assert finding.message.startswith(f"train: 1 text reads mostly as the unknown token {tokenizer.unk_token} ('xxxx")


def test_lengths_and_unknown_is_both_checks_from_one_pass_of_the_tokenizer(tokenizer, monkeypatch):
    class Counting:  # the tokenizer, counting its calls
        def __init__(self, is_fast=True):
            self.calls, self.is_fast = 0, is_fast

        def __getattr__(self, name):
            return getattr(tokenizer, name)

        def __call__(self, *args, **kwargs):
            self.calls += 1
            return tokenizer(*args, **kwargs)

    texts = ["x" * 300, "Purred on the sofa.", "🐱🐱", "Cute 🐱🐱🐱🐱", ""]
    monkeypatch.setattr("sft_teach.models.check_tokenizer", lambda *args: None)
    counting = Counting()
    lengths, unknown = checks.lengths_and_unknown(texts, counting)
    assert counting.calls == 1
    assert lengths == checks.token_lengths(texts, tokenizer) and unknown == ["x" * 300, "Cute 🐱🐱🐱🐱"]
    assert checks.lengths_and_unknown(texts, Counting(is_fast=False)) == (lengths, [])  # no offsets: none found


def _kinds(dataset, **kwargs):
    return {f.kind: f.message for f in checks.check(dataset, **kwargs)}


def _notes(label, n, start=0):
    return [(f"{'Cat' if label == 0 else 'Dog'} note number {i}.", label) for i in range(start, start + n)]


def test_the_duplicates_warning_counts_extra_rows_and_quotes_the_most_repeated():
    train = _ds([("A note.", 0)] * 3 + [("B note.", 1)] * 2 + _notes(0, 8) + _notes(1, 8))
    message = _kinds(DatasetDict(train=train))["duplicates"]
    assert "train: 2 texts occur more than once (3 extra rows; most often, x3: 'A note.')" in message


def test_check_runs_without_a_validation_split_and_says_finetune_needs_one():
    train, test = _ds(_notes(0, 8) + _notes(1, 8)), _ds(_notes(0, 3, 50) + _notes(1, 3, 50))
    kinds = _kinds(DatasetDict(train=train, test=test))
    assert "test_in_validation" not in kinds and "no_test_split" not in kinds
    assert kinds["no_validation_split"].startswith("no validation split (the data has train, test): finetune refuses")
    alone = _kinds(DatasetDict(train=train))  # "the scores at the end are on validation" would be untrue
    assert alone["no_test_split"] == ("no test split: nothing scores the model on texts kept out of training: add "
                                      "test.csv to the folder of splits")
    assert "no_validation_split" not in _kinds(DatasetDict(train=train, validation=test))


def test_check_names_rows_whose_text_is_missing():
    from datasets import Dataset

    from sft_teach.errors import DataError

    train = Dataset.from_dict({"text": ["a cat", None, "a dog", "x"], "label": ["cat", "dog", "dog", "cat"]})
    with pytest.raises(DataError, match=re.escape("the train split's text column: row 1 (0-based) has no text (None): "
                                                  "leave those rows out first (pandas: df.dropna(subset=['text'])")):
        checks.check(DatasetDict(train=train))


def test_thresholds_at_their_boundaries(tokenizer):
    test = _ds(_notes(0, 3, 100) + _notes(1, 3, 100))
    # TINY_CLASS = 8: eight training rows a class are enough, seven are not
    assert "tiny_class" not in _kinds(DatasetDict(train=_ds(_notes(0, 8) + _notes(1, 8)), test=test))
    assert "tiny_class" in _kinds(DatasetDict(train=_ds(_notes(0, 7) + _notes(1, 8)), test=test))
    # FEW_EVALUATED = 3: three test rows of a class are enough, two are not
    two = _ds(_notes(0, 2, 100) + _notes(1, 3, 100))
    assert "few_evaluated" not in _kinds(DatasetDict(train=_ds(_notes(0, 8) + _notes(1, 8)), test=test))
    assert "'cat' (2 rows)" in _kinds(DatasetDict(train=_ds(_notes(0, 8) + _notes(1, 8)), test=two))["few_evaluated"]
    # IMBALANCE = 5: five times the rows is not flagged, six times is
    assert "imbalance" not in _kinds(DatasetDict(train=_ds(_notes(0, 8) + _notes(1, 40)), test=test))
    assert "6x the examples" in _kinds(DatasetDict(train=_ds(_notes(0, 8) + _notes(1, 48)), test=test))["imbalance"]
    # a text of exactly max_length tokens is read whole; one token more is cut
    train = _ds(_notes(0, 8) + _notes(1, 8))
    tokens = len(tokenizer("Cat note number 0.")["input_ids"])
    assert "long_texts" not in _kinds(DatasetDict(train=train, test=test), tokenizer=tokenizer, max_length=tokens)
    assert "long_texts" in _kinds(DatasetDict(train=train, test=test), tokenizer=tokenizer, max_length=tokens - 1)
    # at the model's own limit the advice is to split texts, not to raise max_length
    at_limit = _kinds(DatasetDict(train=train, test=test), tokenizer=tokenizer, max_length=4, positions=4)
    assert "4 tokens is all this model reads" in at_limit["long_texts"]


def test_conflicts_that_all_tie_are_still_reported():
    (finding,) = cleaning.cleaning_findings({"conflicts_kept_majority": 0, "conflicts_dropped": 2, "dropped": []})
    assert finding.message.startswith("the file has 2 texts whose copies carry different labels: 0 kept")


def test_small_boundaries_of_the_messages():
    assert checks.batch_over_train(1, 8) is None  # one text is one step an epoch whatever the batch
    assert checks.near_empty(["___", "ok", "yes"]) == ["___", "ok"]  # underscores are no letters
    forty = "x" * 40
    assert checks._quote(forty) == f"'{forty}'" and checks._quote(forty + "y") == f"'{forty}…'"
    rows = [{"text": t, "line": i} for i, t in enumerate("ABCD", start=2)]
    assert cleaning.dropped_list(rows[:3]) == "'A' (line 2), 'B' (line 3) and 'C' (line 4)"
    assert cleaning.dropped_list(rows) == "'A' (line 2), 'B' (line 3), 'C' (line 4) and 1 more"
    assert cleaning.dropped_list([{"text": "A", "lines": [2, 3, 4, 5]}]) == "'A' (lines 2, 3, 4, 5)"
    assert cleaning.dropped_list([{"text": "A", "lines": [2, 3, 4, 5, 6]}]) == "'A' (lines 2, 3, 4, 5 and 1 more)"


def test_the_advice_for_a_class_never_predicted_compares_with_the_median_of_trained_classes():
    names = ["a", "b", "c", "d"]  # 'd' has no training rows: it does not pull the median down
    for a_rows, advice in ((10, "train longer"), (9, "add examples of it to the training data")):
        train_labels = [0] * a_rows + [1] * 20 + [2] * 20
        finding = checks.classes_never_predicted([1, 2, 1], [0, 1, 2], names, train_labels=train_labels)
        assert advice in finding.message, a_rows  # half the median, 20 / 2 = 10, is enough to say "train longer"


def test_the_text_checks_refuse_a_dataset_one_string_or_a_missing_text_in_one_line():
    """A Dataset's rows are dicts (an AttributeError from inside), one string was read as its letters,
    and conflicts() zipped texts and labels of different lengths in silence."""
    split = Dataset.from_dict({"text": ["Purred.", "purred.", "Barked."], "label": [0, 0, 1]})
    for name, call in {"duplicates": checks.duplicates, "overlap": lambda t: checks.overlap(t, ["Barked."]),
                       "shared": lambda t: checks.shared(["Barked."], t),
                       "conflicts": lambda t: checks.conflicts(t, [0, 0, 1])}.items():
        with pytest.raises(ConfigError, match=rf"^{name} takes a list of texts, got a Dataset: pass its text column"):
            call(split)
        with pytest.raises(ConfigError, match=rf"^{name} takes a list of texts, got str 'aab'"):
            call("aab")
        with pytest.raises(ConfigError, match=rf"^{name}: every text must be a string, got None \(NoneType\)"):
            call(["Purred.", None, "Barked."])
    with pytest.raises(ConfigError, match=r"one label per text: got 3 texts and 2 labels"):
        checks.conflicts(["a", "a", "a"], [0, 1])
    # the columns themselves (lazy Columns in datasets 4 and later) are read as they were
    assert checks.duplicates(split["text"]) == {"purred.": 2} and checks.overlap(split["text"], ["barked."]) == 1
    assert checks.conflicts(split["text"], split["label"]) == 0


def test_the_dataset_checks_say_which_kind_of_dataset_they_take():
    one = Dataset.from_dict({"text": ["Purred.", "Barked."], "label": [0, 1]})
    splits = DatasetDict(train=one, test=one)
    for name in ("clean", "deduplicate", "resolve_conflicts"):
        with pytest.raises(ConfigError, match=rf"^{name} takes one Dataset .* got a DatasetDict of train, test"):
            getattr(cleaning, name)(splits)
    with pytest.raises(ConfigError, match=r"^summary takes a DatasetDict of splits, got a Dataset"):
        checks.summary(one)


def test_texts_that_differ_only_in_what_does_not_print_are_the_same_text():
    """A copy with a byte-order mark or a zero-width space pasted in, or with its accent typed as a mark of
    its own (NFD), prints as the original and reaches the course's tokenizer as the same tokens: a repeat,
    and across splits a leak, not a new text."""
    import unicodedata

    composed = "Charged twice at the café."
    copies = [composed, "\ufeff" + composed, composed.replace("twice", "twi\u200bce"),
              unicodedata.normalize("NFD", composed)]
    assert len({*copies}) == 4 and checks.duplicates(copies) == {composed.lower(): 4}
    assert checks.overlap(copies[:1], copies[1:]) == 3
    assert checks.conflicts(copies[:2], [0, 1]) == 1
    assert checks.duplicates(["Café", "Cafe"]) == {}  # a different letter prints differently: two texts


def test_a_label_that_is_a_missing_value_written_out_is_warned_of():
    """pandas writes 'nan' for an empty cell it was told to stringify, Excel '#N/A': an empty label is
    refused, so the same rows under such a name must not train a class of their own in silence."""
    rows = [(f"Cat note {w}.", "cat") for w in "abcdefgh"] + [(f"Dog note {w}.", "dog") for w in "abcdefgh"]
    missing = [(f"Odd note {w}.", "nan") for w in "abcdefgh"] + [("Odd note i.", "#N/A")]
    findings = checks.check(DatasetDict(train=Dataset.from_dict({"text": [t for t, _ in rows + missing],
                                                                 "label": [y for _, y in rows + missing]})))
    said = [f.message for f in findings if f.kind == "placeholder_label"]
    assert said == [
        "label '#N/A' (1 row) is what a missing value becomes when written out (pandas writes 'nan' for an empty cell, "
        "Excel '#N/A' for a lookup that found nothing), so those rows are a class of their own: give them their real labels or delete them; if '#N/A' "
        "is a real class, give it a name of its own",
        "label 'nan' (8 rows) is what a missing value becomes when written out (pandas writes 'nan' for an empty cell, "
        "Excel '#N/A' for a lookup that found nothing), so those rows are a class of their own: give them their real labels or delete them; if 'nan' "
        "is a real class, give it a name of its own"]
    clean = DatasetDict(train=Dataset.from_dict({"text": [t for t, _ in rows], "label": [y for _, y in rows]}))
    assert "placeholder_label" not in [f.kind for f in checks.check(clean)]
    none = [(f"Other note {w}.", "none") for w in "abcdefgh"]  # "none of these" is a class many tasks have
    assert "placeholder_label" not in [f.kind for f in checks.check(DatasetDict(train=Dataset.from_dict(
        {"text": [t for t, _ in rows + none], "label": [y for _, y in rows + none]})))]


def test_a_text_that_is_a_missing_value_written_out_is_warned_of():
    """'nan', 'None' or 'NULL' as a text (pandas' or Python's str() of a missing value) passed check
    without a word, and trained as if the word said something about its label."""
    rows = [(f"Cat note {w}.", "cat") for w in "abcdefgh"] + [(f"Dog note {w}.", "dog") for w in "abcdefgh"]
    missing = [("nan", "cat"), ("nan", "dog"), ("#N/A", "dog"), (" NULL ", "cat")]
    findings = checks.check(DatasetDict(train=Dataset.from_dict({"text": [t for t, _ in rows + missing],
                                                                 "label": [y for _, y in rows + missing]})))
    said = [f.message for f in findings if f.kind == "placeholder_text"]
    assert said == ["train: 4 texts are a missing value written out ('nan' 2x, '#N/A' 1x, 'NULL' 1x; pandas writes "
                    "'nan' for an empty cell, Excel '#N/A' for a lookup that found nothing): such a row has no text to learn from: delete those rows, or fill in "
                    "their texts"]
    assert "near_empty" not in [f.kind for f in findings]  # '#N/A' has too few letters too: warned of once
    answers = [("None", "dog"), ("N/A", "cat")]  # a survey's real answers: left alone
    assert "placeholder_text" not in [f.kind for f in checks.check(DatasetDict(train=Dataset.from_dict(
        {"text": [t for t, _ in rows + answers], "label": [y for _, y in rows + answers]})))]
