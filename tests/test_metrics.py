import numpy as np
import pytest

from sft_teach.errors import ConfigError
from sft_teach.metrics import compute_metrics, confusion, per_class, scores


def test_scores_match_a_hand_computation():
    labels = [0, 0, 0, 1, 1, 2]
    preds = [0, 0, 1, 1, 2, 2]
    # class 0: P=1, R=2/3 -> F1=0.8; class 1: P=1/2, R=1/2 -> 0.5; class 2: P=1/2, R=1 -> 2/3
    expected_f1 = (0.8 + 0.5 + 2 / 3) / 3
    result = scores(labels, preds)
    assert result["accuracy"] == 4 / 6
    assert abs(result["macro_f1"] - expected_f1) < 1e-12


@pytest.mark.parametrize("labels, predictions, said", [
    ([0, 1, 1], [0, 1], r"got the shapes \(3,\) and \(2,\)$"),  # sklearn's "inconsistent numbers of samples"
    ([], [], r"\(0,\) and \(0,\)"),
    # the model's probabilities, not its classes: sklearn spoke of "continuous-multioutput targets"
    ([0, 1], [[0.9, 0.1], [0.2, 0.8]], r"\(2, 2\): from probabilities, take the class of each row, probs.argmax"),
])
def test_scores_of_other_lengths_or_of_probabilities_are_refused_in_one_line(labels, predictions, said):
    with pytest.raises(ConfigError, match=f"^scores takes the labels and the predicted classes.*{said}"):
        scores(labels, predictions)


def test_compute_metrics_takes_the_argmax_of_logits():
    logits = np.array([[2.0, 1.0], [0.1, 0.3], [5.0, -1.0]])
    assert compute_metrics((logits, np.array([0, 1, 1])))["accuracy"] == 2 / 3
    # a model that also returns hidden states: the logits come first, and only they are scored
    hidden = np.zeros((3, 5, 7))  # (examples, tokens, width): its argmax would be class 0 for every example
    assert compute_metrics(((logits, hidden), np.array([0, 1, 1])))["accuracy"] == 2 / 3


def test_confusion_rows_are_true_classes():
    matrix = confusion([0, 0, 1], [0, 1, 1], num_labels=3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 0]]
    # ids in a column (n, 1), as a model's argmax with keepdims gives them: read one per example
    assert confusion(np.array([[0], [0], [1]]), np.array([[0], [1], [1]]), num_labels=3).tolist() == matrix.tolist()
    assert per_class(np.array([[0, 1], [1, 0]]), np.array([[0, 1], [1, 1]]), ["a", "b"]) == \
        per_class([0, 1, 1, 0], [0, 1, 1, 1], ["a", "b"])


def test_per_class_matches_a_hand_count():
    from sft_teach.metrics import per_class

    # truth:      cat cat cat dog dog bird
    # predicted:  cat cat dog dog cat dog
    rows = per_class([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 0, 1], ["cat", "dog", "bird", "fish"])
    # cat: predicted 3 times, 2 right (P 2/3); 3 truly cat, 2 found (R 2/3)
    assert rows["cat"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3})
    # dog: predicted 3 times, 1 right (P 1/3); 2 truly dog, 1 found (R 1/2); F1 = 2PR / (P + R) = 0.4
    assert rows["dog"] == pytest.approx({"precision": 1 / 3, "recall": 1 / 2, "f1": 0.4, "support": 2})
    assert rows["bird"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}  # never predicted
    assert rows["fish"] == {"precision": None, "recall": None, "f1": None, "support": 0}  # not in the split: not measured


def test_the_rows_average_to_the_macro_f1_even_for_a_class_predicted_but_absent():
    """Only cats scored, two of them called dog: dog's precision is measured (0 of 2), its recall is not,
    and sklearn's macro-F1 averages its F1 as 0. The rows say so, so that their mean is the macro-F1 shown."""
    from sft_teach.metrics import per_class, scores

    labels, predictions = [0, 0, 0, 0, 0], [0, 0, 0, 1, 1]
    rows = per_class(labels, predictions, ["cat", "dog", "fox"])
    assert rows["dog"] == {"precision": 0.0, "recall": None, "f1": 0.0, "support": 0}
    assert rows["fox"] == {"precision": None, "recall": None, "f1": None, "support": 0}  # never predicted: left out
    averaged = [row["f1"] for row in rows.values() if row["f1"] is not None]
    assert scores(labels, predictions)["macro_f1"] == pytest.approx(sum(averaged) / len(averaged)) == pytest.approx(0.375)


@pytest.mark.parametrize("count", [per_class, confusion])
def test_a_class_id_beyond_the_classes_is_refused_not_dropped_from_the_counts(count):
    """A label 2 with two class names would leave both classes' counts looking complete."""
    classes = ["cat", "dog"] if count is per_class else 2
    with pytest.raises(ConfigError, match=r"labels hold class ids \[2\] outside 0\.\.1"):
        count([0, 1, 2], [0, 1, 1], classes)
    with pytest.raises(ConfigError, match=r"predictions hold class ids \[-1\]"):
        count([0, 1, 1], [0, 1, -1], classes)
    with pytest.raises(ConfigError, match=r"got 3 and 2 values"):
        count([0, 1, 1], [0, 1], classes)
    assert int(np.sum(confusion([0, 1, 1], [0, 1, 0], 2))) == 3  # ids inside the classes: all counted
