r"""Catastrophic forgetting, measured: does the fine-tuned encoder still know paraphrases?

The bundled model, all-MiniLM-L6-v2, was trained to give sentences with the same meaning
similar mean-pooled embeddings. Fine-tuning it as a classifier changes the same weights. The
course's paraphrase pairs (``data/paraphrase/pairs.csv``: 120 paraphrase pairs and 120 pairs
that are not, most of those hard, with the same words and a different meaning) give two scores:

* **retrieval** (the forgetting measure): for each paraphrase pair, is its partner the nearest
  of all the other 479 sentences by cosine similarity? The share of pairs for which it is
  (recall@1). The hard non-paraphrases are among the distractors.
* **pair AUC**: the chance that a random paraphrase pair is scored more similar than a random
  non-paraphrase pair,
  :math:`\mathrm{AUC} = P\big(\cos(u_i, v_i) > \cos(u_j, v_j) \mid y_i = 1, y_j = 0\big)`
  (0.5 = chance). It asks more than the model was trained for: the hard pairs share their words.

Forgetting is the drop of a score after fine-tuning (McCloskey & Cohen 1989; Howard & Ruder
2018 motivate their techniques by it).

Taught in notebooks/03_transfer_learning.ipynb.
"""

from __future__ import annotations

import numpy as np


def paraphrase_pairs():
    """``(first, second, labels)``: the course's 240 sentence pairs, label 1 = paraphrase."""
    from sft_teach.csv_files import read_csv_rows
    from sft_teach.bundled import data_dir

    path = data_dir() / "paraphrase" / "pairs.csv"
    first, second = read_csv_rows(path, "sentence1", "sentence2", classes=False)  # two sentences a row
    _, labels = read_csv_rows(path, "sentence1", "label")
    return first, second, np.array([int(y) for y in labels])


def auc(scores, labels) -> float:
    """ROC AUC by its definition: the share of (positive, negative) pairs ranked correctly, ties 1/2."""
    scores, labels = np.asarray(scores), np.asarray(labels)
    _check_pairs(scores, labels, "auc")
    return _pairs_ranked_right(scores[labels == 1], scores[labels == 0])


def _check_pairs(scores, labels, where: str) -> None:
    """One score per pair, and pairs of both kinds: an AUC of one kind is 0 / 0 (nan), not a result."""
    from sft_teach.errors import ConfigError

    if len(scores) != len(labels):
        raise ConfigError(f"{where}: one score per pair: got {len(scores)} scores and {len(labels)} labels")
    if not np.isfinite(np.asarray(scores, dtype=float)).all():  # a nan compares false both ways: a silent tie
        raise ConfigError(f"{where}: every score must be a finite number; a nan or inf would rank as no pair does")
    if not ((labels == 1).any() and (labels == 0).any()):
        raise ConfigError(f"{where} ranks paraphrase pairs (label 1) against the others (label 0): these labels hold "
                          f"only {sorted({int(x) for x in labels})}")


def _pairs_ranked_right(pos, neg) -> float:
    """The share of (positive, negative) pairs in which the positive scores higher, ties counting 1/2."""
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()  # (len(pos), len(neg))
    return float(wins / (len(pos) * len(neg)))


def auc_interval(scores, labels, n_resamples: int = 2_000, seed: int = 0, confidence: float = 0.95):
    """A percentile bootstrap interval for :func:`auc`: the positives and the negatives are
    resampled separately (each keeps its count), so every resample has both. ``(low, high)``.

    On 120 + 120 pairs an AUC near 0.45 is uncertain by about ±0.07 (Hanley & McNeil 1982 give
    the same spread in closed form), so a single value below 0.5 says little on its own.
    """
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels)
    _check_pairs(scores, labels, "auc_interval")
    if not 0 < confidence < 1:
        from sft_teach.errors import ConfigError

        raise ConfigError(f"auc_interval: confidence must be between 0 and 1, got {confidence}: e.g. 0.95 for 95 %")
    pos, neg = scores[labels == 1], scores[labels == 0]
    rng = np.random.default_rng(seed)
    draws = [_pairs_ranked_right(rng.choice(pos, len(pos)), rng.choice(neg, len(neg))) for _ in range(n_resamples)]
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return float(low), float(high)


def retrieval_hits(u, v, labels) -> np.ndarray:
    """For each paraphrase pair (label 1), in order: is its partner the nearest of all other sentences?

    ``u``, ``v``: unit vectors (n, hidden) of the first and second sentences of n pairs.
    Returns booleans, one per paraphrase pair: two encoders can then be compared pair by pair.
    """
    if not len(u) == len(v) == len(labels):  # the partner of pair i is row n + i of the pool
        from sft_teach.errors import ConfigError

        raise ConfigError(f"retrieval_hits: u, v and labels describe the same pairs, one row each: got {len(u)}, "
                          f"{len(v)} and {len(labels)}")
    pool = np.vstack([u, v])  # (2n, hidden): every sentence of the file
    n = len(u)
    hits = []
    for i in np.flatnonzero(np.asarray(labels) == 1):
        similarity = pool @ u[i]
        similarity[i] = -np.inf  # not itself
        hits.append(int(similarity.argmax()) == n + i)
    return np.array(hits, dtype=bool)


def retrieval_at_1(u, v, labels) -> float:
    """Share of paraphrase pairs (label 1) whose partner is the nearest of all other sentences
    (the mean of :func:`retrieval_hits`)."""
    return float(np.mean(retrieval_hits(u, v, labels)))


def paraphrase_scores(model, tokenizer) -> dict:
    """``{"retrieval": recall@1, "retrieved": hit or miss per paraphrase pair, "auc": pair AUC,
    "auc_interval": (low, high)}`` of ``model``'s body on the course's pairs (the interval:
    :func:`auc_interval`; ``retrieved``: :func:`retrieval_hits`, to compare encoders pair by pair)."""
    from sft_teach.embeddings import sentence_embeddings
    from sft_teach.models import check_model, check_tokenizer

    check_model(model, "paraphrase_scores")
    check_tokenizer(tokenizer, "paraphrase_scores")
    first, second, labels = paraphrase_pairs()
    body = model.base_model  # sentence_embeddings reads it in eval mode: the same sentence, the same vector
    u = sentence_embeddings(first, body, tokenizer)
    v = sentence_embeddings(second, body, tokenizer)
    similarity = (u * v).sum(axis=1)
    hits = retrieval_hits(u, v, labels)
    return {"retrieval": float(hits.mean()), "retrieved": hits, "auc": auc(similarity, labels),
            "auc_interval": auc_interval(similarity, labels)}
