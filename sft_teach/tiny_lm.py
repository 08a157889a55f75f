"""A tiny GPT-2-style language model, pretrained here on the course's own text.

Instruction SFT starts from a pretrained *causal* language model. None can be downloaded
offline, so notebook 07 makes one: a byte-level BPE tokenizer trained on the course's
notes and clinic messages, a 4-layer GPT-2 configuration of about a million parameters,
and about a minute of next-token training. It is tiny (a real small base model such as
SmolLM2-135M has over a hundred times more parameters and saw trillions of tokens, we see
tens of thousands), but it is pretrained in the same way, and :func:`load_causal_lm` loads
a real one by name instead when the network is there.

Pretraining uses *packing*: all texts are tokenised once, joined with an end-of-text token
and cut into equal blocks, so no position is spent on padding.

Pretraining is reproducible on one machine but not across machines: the CPU's vector width
and the thread count decide the order in which floating-point sums are added, the last bits
differ, and over a few hundred steps the difference grows to the second decimal of the loss.
So the course also ships the model that :data:`PRETRAINING` produced (``data/tiny_lm/``,
written by ``data/tiny_lm/make_tiny_lm.py`` and checked against :data:`CHECKPOINT_SHA256` when
loaded): notebook 07 pretrains live, then continues from the shipped model, so SFT starts from
the same weights on every machine. (The SFT runs themselves are trained live; the figures the
notebook checks after them are rounded so that a run with another thread count and vector width
reproduces them, and their losses' last digits are not checked.)

Taught in notebooks/07_instruction_sft.ipynb.
"""

from __future__ import annotations

import math

from sft_teach.chat import CHAT_TEMPLATE, END, START
from sft_teach.errors import ConfigError, DataError
from sft_teach.models import reads_model
from sft_teach.setting_checks import check_settings, whole

TEXT_END, PAD = "<|endoftext|>", "<|pad|>"
SPECIAL_TOKENS = [TEXT_END, PAD, START, END]

#: The settings notebook 07 pretrains with, and that the shipped checkpoint was made with.
PRETRAINING = {"vocab_size": 2048, "seed": 0, "num_train_epochs": 10, "learning_rate": 3e-3}

#: SHA-256 of each file of the shipped checkpoint (``data/tiny_lm/``), as written by
#: ``data/tiny_lm/make_tiny_lm.py``. A changed file is refused rather than silently used.
CHECKPOINT_SHA256 = {
    "chat_template.jinja": "2bb0f3528bf8ce8eca58a06cbed92277def5085416ec08a75f114eac9292c76a",
    "config.json": "0254e8da1229344e289620b4d533415cc9294a38d30727f44d84af619d2cba76",
    "generation_config.json": "4019ec7f5e5414201997d1ed0b58618a30fa665562f51619e19eec485e0496a8",
    "model.safetensors": "a87ff9180d7e3c63538c6de53bcddb7d2ec4be1accf94532cee48daf5b2a47ad",
    "tokenizer.json": "3f606b8e281fdfab0da42f6d453575a67efafaa4c888b45ae063cfe99e71a957",
    "tokenizer_config.json": "826e11c372d8b36af5ea98bfe8ffa00d270989fb6a5d28b2caf5fe4f8af47a31",
}


def course_text(splits=("train", "validation")) -> list[str]:
    """Unlabelled text for pretraining: the pets notes and clinic messages of ``splits``.

    The test splits are left out, so the held-out prompts of notebook 07 contain notes the
    model has never read.
    """
    from sft_teach import data

    texts = []
    for name in ("pets", "clinic"):
        dataset = data.load(name)
        for split in splits:
            texts += list(dataset[split]["text"])
    return texts


def train_tokenizer(texts, vocab_size: int = 2048):
    """A byte-level BPE tokenizer (GPT-2's scheme) learned from ``texts``, with the chat template.

    Byte-level: any string can be encoded (unknown words fall back to bytes); BPE merges
    the most frequent pairs until ``vocab_size`` tokens exist. The end of an assistant turn,
    ``<|im_end|>``, is the end-of-sequence token, so generation stops there.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    least = 256 + len(SPECIAL_TOKENS)  # below it the trainer kept this size in silence, with no merge
    if not whole(vocab_size, least=least):
        raise ConfigError(f"vocab_size= must be a whole number of at least {least} (the 256 bytes byte-level BPE "
                          f"starts from, and {len(SPECIAL_TOKENS)} special tokens), got {vocab_size!r}: e.g. 2048")
    texts = [texts] if isinstance(texts, str) else texts  # one text, not one text per letter
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, min_frequency=2,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(texts, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token=TEXT_END, eos_token=END, pad_token=PAD,
                                        extra_special_tokens=[START])
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def tiny_gpt2(tokenizer, n_layer: int = 4, n_embd: int = 128, n_head: int = 4, n_positions: int = 256, seed: int = 0):
    """A randomly initialised GPT-2 model sized for a laptop CPU (about a million parameters)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=len(tokenizer), n_positions=n_positions, n_embd=n_embd, n_layer=n_layer,
                        n_head=n_head, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                        pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def pack(texts, tokenizer, block_size: int = 128) -> list[list[int]]:
    """Token ids of every text, each followed by ``<|endoftext|>``, cut into blocks of
    ``block_size`` (the last, short block is dropped). Shape: (blocks, block_size). A string is one text."""
    if not whole(block_size, least=2):  # a block of 1 has no next token to predict; 0 ended in range()
        raise ConfigError(f"block_size= must be a whole number of tokens, at least 2, got {block_size!r}: e.g. 128")
    texts = [texts] if isinstance(texts, str) else list(texts)  # one text, not one text per letter
    if not texts:  # an IndexError inside the tokenizer, otherwise
        return []
    stream = []
    for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]:
        stream += ids + [tokenizer.bos_token_id]
    return [stream[i:i + block_size] for i in range(0, len(stream) - block_size + 1, block_size)]


def _check_block(model, block_size: int, where: str) -> None:
    """A block the model has positions for: a longer one ended in an IndexError inside the embedding."""
    limit = getattr(model.config, "max_position_embeddings", None)
    if limit and whole(block_size) and block_size > limit:
        raise ConfigError(f"{where}: block_size={block_size} is more tokens than the model has positions for "
                          f"({limit}): use {limit} or less")


def pretrain(model, tokenizer, texts, eval_texts=(), num_train_epochs: int = 8, learning_rate: float = 2e-3,
             batch_size: int = 16, block_size: int = 128, seed: int = 0, callbacks=()) -> dict:
    """Next-token training on packed ``texts``; returns ``{"history", "eval_loss", "perplexity",
    "train_tokens", "steps", "seconds"}``. ``eval_texts`` (held out) give the final loss and perplexity."""
    import tempfile
    import time

    from datasets import Dataset
    from transformers import PrinterCallback, Trainer, TrainingArguments, default_data_collator

    from sft_teach.callbacks import HistoryCallback
    from sft_teach.trainer_arguments import shared_settings

    def blocks(texts):
        ids = pack(texts, tokenizer, block_size)
        return Dataset.from_dict({"input_ids": ids, "labels": ids})  # the model shifts labels itself

    check_settings(num_train_epochs, learning_rate, batch_size, None)  # 0 epochs logged a loss of 0 at step 0
    _check_block(model, block_size, "pretrain")
    train = blocks(texts)
    if not len(train):  # torch's "num_samples should be a positive integer value", otherwise
        raise DataError(f"pretrain: the training texts hold fewer than {block_size} tokens, one block: give more text")
    history = HistoryCallback()
    scratch = tempfile.TemporaryDirectory(prefix="sft-teach-lm-")  # nothing is saved there
    args = TrainingArguments(**shared_settings(scratch.name, num_train_epochs=num_train_epochs,
                                               learning_rate=learning_rate, batch_size=batch_size, seed=seed,
                                               warmup=0.05, weight_decay=0.01),
                             lr_scheduler_type="cosine")
    trainer = Trainer(model=model, args=args, train_dataset=train, data_collator=default_data_collator,
                      callbacks=[history, *callbacks])
    trainer.remove_callback(PrinterCallback)  # without a progress bar it would print every log
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    out = {"history": history.as_dict(), "train_tokens": len(train) * block_size * num_train_epochs,
           "steps": trainer.state.global_step, "seconds": round(seconds, 1)}
    if eval_texts:
        # measured as held_out_loss measures a loaded checkpoint (the mean over every held-out token),
        # not with trainer.evaluate, whose figure differs in the second decimal on the same weights
        loss = held_out_loss(model, tokenizer, eval_texts, block_size)
        out.update(eval_loss=loss, perplexity=math.exp(loss))
    scratch.cleanup()
    return out


@reads_model
def held_out_loss(model, tokenizer, texts, block_size: int = 128, batch_size: int = 64) -> float:
    """Mean next-token loss on ``texts``, packed as in :func:`pretrain` (its ``eval_loss``, without a trainer)."""
    import torch

    texts = [texts] if isinstance(texts, str) else list(texts)  # one text, not one text per letter
    if not texts:
        raise DataError("held_out_loss: the held-out texts are empty: give at least one block of text")
    _check_block(model, block_size, "held_out_loss")
    packed = pack(texts, tokenizer, block_size)
    if not packed:
        raise DataError(f"the held-out texts hold fewer than {block_size} tokens, one block: give more text")
    device = next(model.parameters()).device  # Trainer may have moved the model to a GPU
    blocks = torch.tensor(packed, device=device)  # (blocks, block_size)
    with torch.no_grad():  # every block has block_size - 1 targets, so the mean over blocks is the mean per token
        total = sum(model(input_ids=batch, labels=batch).loss * len(batch) for batch in blocks.split(batch_size))
    return float(total / len(blocks))


def checkpoint_dir():
    """The folder of the shipped pretrained tiny model (inside the wheel, else the repository)."""
    from sft_teach.bundled import data_dir

    return data_dir() / "tiny_lm"


def file_hashes(folder, names) -> dict[str, str]:
    """SHA-256 of the files ``names`` of ``folder`` (a missing file hashes as ``"missing"``)."""
    from pathlib import Path

    from sft_teach.environment import sha256_of

    folder = Path(folder)
    return {name: sha256_of(folder / name) if (folder / name).is_file() else "missing" for name in names}


def save_checkpoint(model, tokenizer, folder) -> dict[str, str]:
    """Write ``model`` (safetensors) and ``tokenizer`` to ``folder``; return the SHA-256 of every file."""
    from pathlib import Path

    folder = Path(folder)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return file_hashes(folder, sorted(p.name for p in folder.iterdir() if p.suffix in (".json", ".safetensors", ".jinja")))


def load_pretrained(folder=None, sha256: dict | None = None):
    """The shipped pretrained tiny model and its tokenizer, after checking every file's SHA-256.

    ``folder`` defaults to :func:`checkpoint_dir`, ``sha256`` to :data:`CHECKPOINT_SHA256`.
    Raises :class:`sft_teach.errors.DataError` naming the files whose hash differs (a corrupted or
    replaced checkpoint).
    """
    from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast

    from sft_teach.errors import DataError

    folder = folder or checkpoint_dir()
    expected = CHECKPOINT_SHA256 if sha256 is None else sha256
    found = file_hashes(folder, expected)
    wrong = [name for name in expected if found[name] != expected[name]]
    if wrong or not expected:
        raise DataError(f"{folder}: {', '.join(wrong) or 'no file'} does not match the SHA-256 recorded in "
                         "sft_teach.tiny_lm; restore the files or rebuild them with data/tiny_lm/make_tiny_lm.py")
    model = GPT2LMHeadModel.from_pretrained(folder)
    tokenizer = PreTrainedTokenizerFast.from_pretrained(folder)
    return model, tokenizer


def fresh_copy(model):
    """An independent copy of ``model``: same class, configuration and weights, nothing else.

    Use it instead of ``copy.deepcopy`` for a model a trainer has touched: ``trl``'s
    ``SFTTrainer`` replaces ``model.forward`` with a wrapper whose closure holds the *original*
    model, so a deep copy would keep running the original's weights while training its own.
    """
    copy = type(model)(model.config)
    copy.load_state_dict(model.state_dict())
    copy.generation_config = model.generation_config
    return copy.train(model.training)


def random_like(model, seed: int = 0):
    """``model``'s architecture and configuration with fresh random weights, drawn as its pretraining
    began (seeded): the "from random weights" start of notebook 07 for any base model. For the tiny
    model it equals ``tiny_gpt2(tokenizer, seed=seed)`` weight for weight."""
    import torch

    torch.manual_seed(seed)
    fresh = type(model)(model.config)
    fresh.generation_config = model.generation_config
    return fresh


def load_causal_lm(name: str):
    """A causal language model and its tokenizer by hub name or folder (when ``name`` is not
    the tiny model): the one-line change that runs notebook 07 on a real small model.

    Made ready for chat SFT: a tokenizer without a padding token pads with its ``eos_token``; one
    without a chat template gets the course's ChatML template, and ``<|im_start|>`` and
    ``<|im_end|>`` as special tokens when its vocabulary lacks them (the model's embeddings grow
    to match). The generation config stops at the template's end-of-turn token as well as at
    ``eos_token`` (:func:`sft_teach.chat.end_of_turn_ids`): a base model's ``eos_token`` is
    usually ``<|endoftext|>``, and after SFT it ends its answers with ``<|im_end|>``. Learning rate
    and epochs for it: ``sft_teach.instruct.sft_settings``.

    Offline, a hub name fails at once with :class:`sft_teach.errors.ModelNotFoundError`.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from sft_teach.chat import end_of_turn_ids
    from sft_teach.models import resolve_model

    where = resolve_model(name)
    tokenizer = AutoTokenizer.from_pretrained(where)
    model = AutoModelForCausalLM.from_pretrained(where)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if tokenizer.chat_template is None:  # a base model without one: use the course's
        tokenizer.chat_template = CHAT_TEMPLATE
        vocabulary = tokenizer.get_vocab()
        missing = [token for token in (START, END) if token not in vocabulary]
        if missing:  # new rows of the embedding matrix, learnt during SFT
            tokenizer.add_special_tokens({"additional_special_tokens": missing})
            model.resize_token_embeddings(len(tokenizer))
    model.generation_config.eos_token_id = end_of_turn_ids(tokenizer)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer
