"""Scores for a classifier, from ``sklearn.metrics`` (``evaluate.load`` needs the hub).

* accuracy  = correct / all
* macro-F1  = mean over classes of F1_c, with F1_c = 2 P_c R_c / (P_c + R_c):
  every class counts the same, however rare, so a model that ignores a small class
  cannot hide behind a high accuracy.

Taught in notebooks/02_technical_recipe.ipynb.
"""

from __future__ import annotations

import numpy as np


def scores(labels, predictions) -> dict[str, float]:
    """``{"accuracy", "macro_f1"}`` for two sequences of class ids."""
    from sklearn.metrics import accuracy_score, f1_score

    from sft_teach.errors import ConfigError

    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.ndim != 1 or predictions.ndim != 1 or len(labels) != len(predictions) or not len(labels):
        raise ConfigError(f"scores takes the labels and the predicted classes, one id each per example, of one "
                          f"length: got the shapes {labels.shape} and {predictions.shape}"
                          + (": from probabilities, take the class of each row, probs.argmax(axis=1)"
                             if predictions.ndim == 2 else ""))
    return {
        "accuracy": float(accuracy_score(labels, predictions)),
        "macro_f1": float(f1_score(labels, predictions, average="macro", zero_division=0)),
    }


def _class_ids(labels, predictions, count: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Both as arrays, of one length, every id a class ``0 .. count - 1``: an id beyond the classes
    would otherwise drop out of the counts without a word, and each class's counts look complete."""
    from sft_teach.errors import ConfigError

    labels, predictions = np.asarray(labels).ravel(), np.asarray(predictions).ravel()
    if len(labels) != len(predictions):
        raise ConfigError(f"{where}: labels and predictions must score the same examples, one id each: got "
                          f"{len(labels)} and {len(predictions)} values")
    for what, ids in (("labels", labels), ("predictions", predictions)):
        outside = sorted({int(i) for i in ids if not 0 <= i < count})
        if outside:
            raise ConfigError(f"{where}: {what} hold class ids {outside[:5]} outside 0..{count - 1}, the "
                              f"{count} classes asked for: pass one name per class (or num_labels=) of the model")
    return labels, predictions


def per_class(labels, predictions, names) -> dict[str, dict]:
    """``{name: {"precision", "recall", "f1", "support"}}`` for each class id ``0 .. len(names) - 1``.

    P_c = right among those predicted c, R_c = right among those truly c, F1_c = 2 P_c R_c / (P_c + R_c)
    (0 where undefined); support = examples truly c. A class with support 0 has no recall to measure
    (``None``: null in JSON, "not measured" on a model card). If the model never predicts it either,
    its three scores are ``None`` and macro-F1 leaves it out; if it does predict it, every such
    prediction is wrong: precision 0, and the F1 of 0 that macro-F1 (:func:`scores`, over the classes
    among the labels or the predictions) averages in, so that the rows and the average agree.
    """
    from sklearn.metrics import precision_recall_fscore_support

    labels, predictions = _class_ids(labels, predictions, len(names), "per_class")
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predictions, labels=list(range(len(names))), zero_division=0)
    predicted = np.bincount(predictions, minlength=len(names))

    def row(i):
        if support[i]:
            return {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i])}
        if predicted[i]:  # predicted, never right: in macro-F1 as 0
            return {"precision": 0.0, "recall": None, "f1": 0.0}
        return {"precision": None, "recall": None, "f1": None}

    return {name: {**row(i), "support": int(support[i])} for i, name in enumerate(names)}


def compute_metrics(eval_pred) -> dict[str, float]:
    """The ``compute_metrics`` hook for ``transformers.Trainer``.

    ``eval_pred`` is ``(logits, labels)`` with logits ``(n_examples, num_labels)``.
    """
    logits, labels = eval_pred[0], eval_pred[1]
    if isinstance(logits, tuple):  # some models also return hidden states
        logits = logits[0]
    return scores(labels, np.asarray(logits).argmax(axis=-1))


def confusion(labels, predictions, num_labels: int) -> np.ndarray:
    """Counts ``(num_labels, num_labels)``: row = true class, column = predicted class."""
    from sklearn.metrics import confusion_matrix

    labels, predictions = _class_ids(labels, predictions, num_labels, "confusion")
    return confusion_matrix(labels, predictions, labels=list(range(num_labels)))
