"""Shared fixtures: a tiny random BERT classifier and small CSV files.

The tiny model (2 layers, hidden 32) uses the bundled model's real WordPiece tokenizer,
so tokenisation is realistic while training takes a fraction of a second.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import write_csv

CAT = ["She sleeps in the sink all afternoon.", "Climbed the curtains again at dawn.",
       "Brought a mouse in through the flap.", "Sat on my keyboard during the meeting.",
       "Knocked the glass off the table, staring at me.", "Hides in every cardboard box we own.",
       "Spent the morning on the windowsill watching sparrows.", "Her rough tongue on my hand woke me."]
DOG = ["Two walks today and he still wants the park.", "Chewed the left shoe, only the left one.",
       "Swam after the stick in the lake.", "Jumped in the car boot before I opened it.",
       "Begging at the table with huge eyes.", "Rolled in fox mess on the common.",
       "Learned to give a paw for a biscuit.", "Ears flapping out of the car window."]


@pytest.fixture
def small_csv(tmp_path) -> Path:
    return write_csv(tmp_path / "notes.csv", [(t, "cat") for t in CAT] + [(t, "dog") for t in DOG])


@pytest.fixture
def online(monkeypatch):
    """The test run's offline flags removed for one test, as on a user's machine: a hub check is then
    reached (and tries to connect) instead of stopping at the flag."""
    for flag in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(flag, raising=False)


@pytest.fixture(scope="session")
def tokenizer():
    from sft_teach.models import load_tokenizer

    return load_tokenizer("default")


def tiny_classifier(tokenizer, labels=("cat", "dog"), seed=0):
    """A randomly initialised 2-layer BERT classifier; pretrained weights are not the point here."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, num_labels=len(labels),
                        id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})
    return BertForSequenceClassification(config)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tokenizer) -> Path:
    """A tiny model saved like a real checkpoint (config, safetensors, tokenizer)."""
    folder = tmp_path_factory.mktemp("tiny-bert")
    tiny_classifier(tokenizer).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def small_dataset(tmp_path):
    from sft_teach.data import from_csv
    from sft_teach.splits import split

    rows = [(t, "cat") for t in CAT] + [(t, "dog") for t in DOG]
    return split(from_csv(write_csv(tmp_path / "all.csv", rows * 2)), validation=0.25, test=0.25, seed=0)


@pytest.fixture
def make_tiny_classifier(tokenizer):
    """Factory: ``make_tiny_classifier(labels=("cat", "dog"), seed=0)`` -> a fresh tiny model."""
    return lambda labels=("cat", "dog"), seed=0: tiny_classifier(tokenizer, labels, seed)
