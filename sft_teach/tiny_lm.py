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

Taught in notebooks/07_instruction_sft.ipynb.
"""

from __future__ import annotations

import math

from sft_teach.chat import CHAT_TEMPLATE, END, START

TEXT_END, PAD = "<|endoftext|>", "<|pad|>"
SPECIAL_TOKENS = [TEXT_END, PAD, START, END]


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
    ``block_size`` (the last, short block is dropped). Shape: (blocks, block_size)."""
    stream = []
    for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
        stream += ids + [tokenizer.bos_token_id]
    return [stream[i:i + block_size] for i in range(0, len(stream) - block_size + 1, block_size)]


def pretrain(model, tokenizer, texts, eval_texts=(), num_train_epochs: int = 8, learning_rate: float = 2e-3,
             batch_size: int = 16, block_size: int = 128, seed: int = 0, callbacks=()) -> dict:
    """Next-token training on packed ``texts``; returns ``{"history", "eval_loss", "perplexity",
    "train_tokens", "seconds"}``. ``eval_texts`` (held out) give the final loss and perplexity."""
    import tempfile
    import time

    import torch
    from datasets import Dataset
    from transformers import PrinterCallback, Trainer, TrainingArguments, default_data_collator

    from sft_teach.callbacks import HistoryCallback

    def blocks(texts):
        ids = pack(texts, tokenizer, block_size)
        return Dataset.from_dict({"input_ids": ids, "labels": ids})  # the model shifts labels itself

    train = blocks(texts)
    held_out = blocks(eval_texts) if eval_texts else None
    history = HistoryCallback()
    scratch = tempfile.TemporaryDirectory(prefix="sft-teach-lm-")  # nothing is saved there
    args = TrainingArguments(output_dir=scratch.name, num_train_epochs=num_train_epochs,
                             learning_rate=learning_rate, per_device_train_batch_size=batch_size,
                             per_device_eval_batch_size=64, warmup_steps=0.05, lr_scheduler_type="cosine",
                             weight_decay=0.01, logging_steps=5, save_strategy="no", eval_strategy="no",
                             report_to="none", seed=seed, data_seed=seed, disable_tqdm=True,
                             dataloader_pin_memory=torch.cuda.is_available())
    trainer = Trainer(model=model, args=args, train_dataset=train, data_collator=default_data_collator,
                      callbacks=[history, *callbacks])
    trainer.remove_callback(PrinterCallback)  # without a progress bar it would print every log
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    out = {"history": history.as_dict(), "train_tokens": len(train) * block_size * num_train_epochs,
           "seconds": round(seconds, 1)}
    if held_out is not None:
        loss = trainer.evaluate(held_out)["eval_loss"]
        out.update(eval_loss=loss, perplexity=math.exp(loss))
    scratch.cleanup()
    return out


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


def load_causal_lm(name: str):
    """A causal language model and its tokenizer by hub name or folder (when ``name`` is not
    the tiny model): the one-line change that runs notebook 07 on a real small model.

    Offline, a hub name fails at once with :class:`sft_teach.errors.ModelNotFoundError`.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from sft_teach.models import resolve_model

    where = resolve_model(name)
    tokenizer = AutoTokenizer.from_pretrained(where)
    model = AutoModelForCausalLM.from_pretrained(where)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if tokenizer.chat_template is None:  # a base model without one: use the course's
        tokenizer.chat_template = CHAT_TEMPLATE
    return model, tokenizer
