"""Models that have read nothing, to measure what pretraining is worth.

* :func:`tfidf_logreg`: bag of words (TF-IDF of words and word pairs) + logistic regression.
  It can only use words it has seen in its labelled examples.
* :func:`scratch_classifier`: the *same network* as the pretrained model (same config,
  same tokenizer), with random weights: fine-tuning without the pretraining.
* :func:`embedding_head`: a logistic-regression head on frozen pretrained sentence
  embeddings (feature extraction): the pretrained model with only a new head trained.

Taught in notebooks/01_beginner_cats_and_dogs.ipynb.
"""

from __future__ import annotations


def tfidf_logreg(texts, labels, C: float = 10.0):
    """A fitted ``sklearn`` pipeline: TF-IDF (1-2 grams, sublinear tf) -> logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                          LogisticRegression(C=C, max_iter=2000))
    return model.fit(list(texts), list(labels))


def embedding_head(vectors, labels, C: float = 10.0):
    """Logistic regression on frozen sentence embeddings ``(n, hidden)``."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=2000).fit(vectors, list(labels))


def scratch_classifier(labels, name: str = "default", seed: int = 0):
    """``(model, tokenizer)``: the pretrained model's architecture with random weights.

    Same ``config`` (layers, sizes) and tokenizer as ``name``; no pretrained weight is loaded.
    """
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    from sft_teach.models import label_maps, resolve_model

    path = resolve_model(name)
    id2label, label2id = label_maps(labels)
    config = AutoConfig.from_pretrained(path, num_labels=len(id2label), id2label=id2label, label2id=label2id)
    torch.manual_seed(seed)
    return AutoModelForSequenceClassification.from_config(config), AutoTokenizer.from_pretrained(path)
