"""sft_teach.labels: how labels are read, compared and named in messages."""

import pytest

from sft_teach import checks, labels
from sft_teach.errors import DataError


def test_numbers_with_a_sign_are_numbers():
    assert labels.as_number("-3") == -3.0 and labels.as_number(" +2 ") == 2.0 and labels.as_number("1.") == 1.0
    assert labels.as_number("3a") is None and labels.as_number("-") is None
    assert checks.number_variants(["-1", "-1.0", "2"]) == [["-1", "-1.0"]]


def test_case_spellings_name_only_labels_that_have_a_variant():
    assert labels.case_spellings(["cat", "dog", "dog"]) == {}
    assert labels.case_spellings(["Cat", "cat", "cat", "dog"]) == {"Cat": "cat"}  # the most frequent spelling
    assert labels.case_spellings(["Cat", "cat", "cat"], known=["CAT"]) == {"Cat": "CAT", "cat": "CAT"}  # the model's


def test_merge_case_never_rewrites_one_of_the_model_s_own_classes():
    """A model with the classes 'Spam' and 'spam' (and 'ham'): --merge-case scored every 'Spam' row as 'spam'."""
    known = ["Spam", "ham", "spam"]
    assert labels.case_spellings(["Spam", "spam", "ham", "HAM"], known) == {"HAM": "ham"}
    assert labels.case_spellings(["SPAM"], known) == {}  # 'Spam' or 'spam'? not guessed: named as unknown
    assert labels.as_the_model_spells(["Spam", "spam", "SPAM"], known, merge_case=True) == ["Spam", "spam", "SPAM"]


def test_an_unknown_label_is_named_with_the_line_it_first_occurs_on():
    with pytest.raises(DataError, match=r"label 'x' \(first at line 2, column 'label'\) is not known"):
        labels.known_rows(["x", "x", "cat"], ["cat"], source="notes.csv", lines=[2, 3, 4])
    with pytest.raises(DataError, match=r"label 'x' \(line 3, column 'label'\) is not known"):
        labels.known_rows(["cat", "x"], ["cat"], source="notes.csv", lines=[2, 3])


def test_rows_without_a_label_are_listed_five_at_most():
    with pytest.raises(DataError, match=r"rows 0, 1, 2, 3, 4 and more \(0-based\) have no label"):
        labels._no_label(list(range(6)), "notes", "fill them in")
    with pytest.raises(DataError, match=r"rows 0, 1, 2, 3, 4 \(0-based\) have no label"):
        labels._no_label(list(range(5)), "notes", "fill them in")


def test_numbers_scored_against_named_classes_are_taken_for_class_ids_and_mapped():
    """A file labelled 0/1 for a model of 'cat'/'dog': --skip-unknown would leave nothing to score; the fix
    is each id's name. Numbers for a model whose classes are numbers, or beyond its ids, are other labels."""
    from sft_teach.labels import unknown_label_fix

    assert unknown_label_fix(["0", "1"], ["cat", "dog"]) == (
        "they look like class ids, and the model's classes have names: if so, write each id's name in the file "
        "(0 = 'cat', 1 = 'dog')")
    assert "--skip-unknown" in unknown_label_fix(["0", "7"], ["cat", "dog"])  # 7 is no id of two classes
    assert "class ids" not in unknown_label_fix(["3"], ["1", "2", "3x", "4"])  # the model's classes are numbers


def test_a_number_past_the_model_s_classes_is_no_class_id():
    """'0'/'1' for a cat/dog model read as class ids (a pandas export); '2' cannot be one of two classes."""
    assert "class ids" in labels.unknown_label_fix(["1"], ["cat", "dog"])
    assert labels.unknown_label_fix(["2"], ["cat", "dog"]).startswith("remove the rows labelled '2'")


def test_a_class_predicted_without_rows_is_named_as_counted_with_an_f1_of_0():
    from sft_teach.score_warnings import classes_without_rows

    (said,) = classes_without_rows({"a": {"support": 0, "f1": 0.0}, "b": {"support": 0, "f1": None},
                                    "c": {"support": 5, "f1": 0.8}}, 5)
    assert "classes 'a', 'b' of the model have no rows among the 5 scored" in said
    assert "(here 'a', predicted for some rows, wrongly each time" in said and "'b', predicted" not in said
