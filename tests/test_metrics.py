import numpy as np

from sft_teach.metrics import compute_metrics, confusion, scores


def test_scores_match_a_hand_computation():
    labels = [0, 0, 0, 1, 1, 2]
    preds = [0, 0, 1, 1, 2, 2]
    # class 0: P=1, R=2/3 -> F1=0.8; class 1: P=1/2, R=1/2 -> 0.5; class 2: P=1/2, R=1 -> 2/3
    expected_f1 = (0.8 + 0.5 + 2 / 3) / 3
    result = scores(labels, preds)
    assert result["accuracy"] == 4 / 6
    assert abs(result["macro_f1"] - expected_f1) < 1e-12


def test_compute_metrics_takes_the_argmax_of_logits():
    logits = np.array([[2.0, 1.0], [0.1, 0.3], [5.0, -1.0]])
    assert compute_metrics((logits, np.array([0, 1, 1])))["accuracy"] == 2 / 3


def test_confusion_rows_are_true_classes():
    matrix = confusion([0, 0, 1], [0, 1, 1], num_labels=3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 0]]
