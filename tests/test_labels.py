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
