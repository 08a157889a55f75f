"""What a pretrained model already "knows": sentence embeddings before any training.

A sentence embedding is the mean of the encoder's last hidden states over the real
(non-pad) tokens, L2-normalised: the pooling the bundled sentence-transformers model was
trained with, so similar sentences get nearby vectors.

Taught in notebooks/01_beginner_cats_and_dogs.ipynb.
"""

from __future__ import annotations

import numpy as np

from sft_teach.errors import ConfigError


def load_encoder(name: str = "default"):
    """``(encoder, tokenizer)``: the pretrained body alone, no classification head."""
    from transformers import AutoModel, AutoTokenizer

    from sft_teach.models import resolve_model

    path = resolve_model(name)
    encoder = AutoModel.from_pretrained(path)
    encoder.eval()
    return encoder, AutoTokenizer.from_pretrained(path)


def mean_pool(hidden, attention_mask):
    """Average of token vectors where ``attention_mask`` is 1.

    hidden: ``(batch, seq_len, hidden)``; attention_mask: ``(batch, seq_len)`` -> ``(batch, hidden)``.
    """
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (batch, seq_len, 1)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)


def sentence_embeddings(texts, encoder=None, tokenizer=None, batch_size: int = 64, max_length: int = 128) -> np.ndarray:
    """Unit-length sentence vectors ``(len(texts), hidden)`` from a frozen encoder."""
    import torch

    if isinstance(texts, str):  # its letters would be embedded, one vector each
        from sft_teach.errors import ConfigError

        raise ConfigError(f"sentence_embeddings takes a list of texts, got one string: e.g. [{texts!r:.40}]")
    if (encoder is None) != (tokenizer is None):  # one without the other: a model with the wrong tokenizer
        from sft_teach.errors import ConfigError

        given, missing = ("encoder", "tokenizer") if tokenizer is None else ("tokenizer", "encoder")
        raise ConfigError(f"sentence_embeddings was given a {given} without its {missing}: pass both, "
                          f"e.g. encoder, tokenizer = load_encoder(...), or neither for the default model")
    if encoder is None:
        encoder, tokenizer = load_encoder("default")
    texts = list(texts)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths per batch: less padding
    out = np.zeros((len(texts), encoder.config.hidden_size), dtype=np.float32)
    from sft_teach.models import evaluation_mode

    with torch.inference_mode(), evaluation_mode(encoder):  # dropout off, the caller's mode kept
        for start in range(0, len(texts), batch_size):
            index = order[start:start + batch_size]
            batch = tokenizer([texts[i] for i in index], padding=True, truncation=True,
                              max_length=max_length, return_tensors="pt")
            pooled = mean_pool(encoder(**batch).last_hidden_state, batch["attention_mask"])
            out[index] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
    return out


def project_2d(vectors: np.ndarray, fit_on: np.ndarray | None = None) -> np.ndarray:
    """Principal-component projection to 2-D ``(n, 2)``: the two directions of largest spread."""
    from sklearn.decomposition import PCA

    vectors = np.asarray(vectors, dtype=float)
    if vectors.ndim != 2 or len(vectors) == 0:
        raise ConfigError(f"project_2d: vectors must be a table with one vector per row, got the shape {vectors.shape}")
    fitted = "vectors" if fit_on is None else "fit_on"
    fit_on = vectors if fit_on is None else np.asarray(fit_on, dtype=float)
    if fit_on.ndim != 2 or min(fit_on.shape) < 2:  # two directions need two rows and two columns
        raise ConfigError(f"project_2d: the map is fitted on {fitted}, which needs at least 2 rows and 2 columns "
                          f"(one vector per row), got the shape {fit_on.shape}")
    if fit_on.shape[1] != vectors.shape[1]:
        raise ConfigError(f"project_2d: vectors have {vectors.shape[1]} columns and fit_on {fit_on.shape[1]}: "
                          f"both must come from the same encoder")
    pca = PCA(n_components=2, random_state=0).fit(fit_on)
    return pca.transform(vectors)
