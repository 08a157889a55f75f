"""The shipped pretrained tiny model (data/tiny_lm/) that notebook 07 continues from.

Its files must be the ones whose SHA-256 ``sft_teach.tiny_lm`` records, load as the model and
tokenizer notebook 07 pretrains (same configuration, the same tokenizer as one learned afresh
from the course text), and a changed file must be refused rather than silently used.
"""

from __future__ import annotations

import math
import shutil

import pytest

from sft_teach import data, tiny_lm


@pytest.fixture(scope="module")
def shipped():
    return tiny_lm.load_pretrained()


def test_every_shipped_file_has_the_recorded_hash():
    folder = tiny_lm.checkpoint_dir()
    assert set(tiny_lm.CHECKPOINT_SHA256) >= {"model.safetensors", "config.json", "tokenizer.json"}
    assert tiny_lm.file_hashes(folder, tiny_lm.CHECKPOINT_SHA256) == tiny_lm.CHECKPOINT_SHA256
    assert (folder / "model.safetensors").stat().st_size < 8 * 2**20  # small enough to ship in the wheel


def test_it_is_the_model_and_tokenizer_notebook_07_pretrains(shipped):
    model, tokenizer = shipped
    fresh = tiny_lm.train_tokenizer(tiny_lm.course_text(), vocab_size=tiny_lm.PRETRAINING["vocab_size"])
    assert tokenizer.get_vocab() == fresh.get_vocab()
    assert tokenizer.chat_template == fresh.chat_template and tokenizer.eos_token == "<|im_end|>"
    untrained = tiny_lm.tiny_gpt2(fresh, seed=tiny_lm.PRETRAINING["seed"])
    for key in ("vocab_size", "n_layer", "n_embd", "n_head", "n_positions", "bos_token_id", "eos_token_id", "pad_token_id"):
        assert getattr(model.config, key) == getattr(untrained.config, key), key
    assert model.generation_config.pad_token_id == tokenizer.pad_token_id
    assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr()  # tied, as GPT-2's are


def test_it_has_learned_the_course_text(shipped):
    model, tokenizer = shipped
    held_out = list(data.load("pets")["test"]["text"])[:60]
    untrained = tiny_lm.tiny_gpt2(tokenizer, seed=0)
    loss = tiny_lm.held_out_loss(model, tokenizer, held_out)
    assert loss < tiny_lm.held_out_loss(untrained, tokenizer, held_out) - 1.0  # far better than its initialisation
    assert math.exp(loss) < len(tokenizer) / 4  # and than a uniform guess


def test_a_changed_file_is_refused(tmp_path):
    copy = tmp_path / "tiny_lm"
    shutil.copytree(tiny_lm.checkpoint_dir(), copy)
    config = copy / "config.json"
    config.write_text(config.read_text().replace('"n_layer": 4', '"n_layer": 3'))
    with pytest.raises(ValueError, match="config.json"):
        tiny_lm.load_pretrained(copy)
    with pytest.raises(ValueError, match="no file"):
        tiny_lm.load_pretrained(copy, sha256={})


def test_held_out_loss_is_the_mean_over_every_block_and_pretrain_reports_it():
    import torch

    texts = tiny_lm.course_text()[:300]
    tokenizer = tiny_lm.train_tokenizer(texts, vocab_size=400)
    model = tiny_lm.tiny_gpt2(tokenizer, n_layer=1, n_embd=32, n_head=2, n_positions=64, seed=0)
    result = tiny_lm.pretrain(model, tokenizer, texts[:200], eval_texts=texts[200:], num_train_epochs=2,
                              block_size=32, batch_size=8)
    trained = len(tiny_lm.pack(texts[:200], tokenizer, 32))  # blocks of 32 tokens, each seen once an epoch
    assert result["train_tokens"] == trained * 32 * 2 and result["steps"] == 2 * math.ceil(trained / 8)
    blocks = torch.tensor(tiny_lm.pack(texts[200:], tokenizer, 32))
    model.eval()  # the oracle without dropout, as held_out_loss reads (pretrain left it as Trainer did)
    with torch.no_grad():  # one block at a time, unequal batches avoided altogether
        one_by_one = float(sum(model(input_ids=b[None], labels=b[None]).loss for b in blocks) / len(blocks))
    assert tiny_lm.held_out_loss(model, tokenizer, texts[200:], block_size=32, batch_size=7) == pytest.approx(one_by_one, abs=1e-5)
    assert result["eval_loss"] == pytest.approx(one_by_one, abs=1e-5)
    assert result["perplexity"] == pytest.approx(math.exp(result["eval_loss"]))
    from sft_teach.errors import ConfigError, DataError

    # a block longer than the model's 64 positions ended in an IndexError inside the embedding
    for run in (lambda: tiny_lm.pretrain(model, tokenizer, texts, block_size=128),
                lambda: tiny_lm.held_out_loss(model, tokenizer, texts, block_size=128)):
        with pytest.raises(ConfigError, match=r"block_size=128 is more tokens than the model has positions for \(64\)"):
            run()
    with pytest.raises(ConfigError, match="epochs .* greater than 0, got 0"):  # logged a loss of 0 at step 0
        tiny_lm.pretrain(model, tokenizer, texts, num_train_epochs=0, block_size=32)
    with pytest.raises(DataError, match="pretrain: the training texts hold fewer than 64 tokens, one block"):
        tiny_lm.pretrain(model, tokenizer, ["Purred."], block_size=64)  # torch: "num_samples=0"


def test_the_tokenizer_is_learned_from_texts_with_room_for_merges():
    from sft_teach.errors import ConfigError

    texts = tiny_lm.course_text()[:100]
    # one string is one text: its letters were the texts before, each its own word
    assert tiny_lm.train_tokenizer(" ".join(texts), vocab_size=300).get_vocab() == \
        tiny_lm.train_tokenizer([" ".join(texts)], vocab_size=300).get_vocab()
    for size in (10, 259, 300.0):  # below 256 bytes and 4 special tokens the trainer kept 260 in silence
        with pytest.raises(ConfigError, match=f"vocab_size= must be a whole number of at least 260 .*got {size}"):
            tiny_lm.train_tokenizer(texts, vocab_size=size)
