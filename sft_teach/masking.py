"""Prompt-loss masking: train a language model on the answer, not on the question.

A causal language model is trained to predict every next token. In supervised
fine-tuning on prompt -> response pairs we usually want the loss only on the response:
the prompt is given at inference, so learning to predict it is wasted effort (and, with
long prompts, most of the loss). The convention (PyTorch's ``ignore_index``, used by every
``transformers`` model) is to set the *label* of a position to ``-100`` and it is skipped:

.. math::  \\mathcal{L} = -\\frac{1}{|C|} \\sum_{t \\in C} \\log p_\\theta(x_t \\mid x_{<t})

where ``C`` is the set of positions :math:`t \\ge 1` whose label is not ``-100`` (the completion,
here): position 0 has no token before it, so nothing predicts it and it is never scored.
Labels are the input ids themselves; the model shifts them by one inside its loss (the
logits at position ``t`` predict token ``t + 1``).

Taught in notebooks/07_instruction_sft.ipynb.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100  # PyTorch's default ignore_index for cross_entropy


def build_example(tokenizer, messages: list[dict], masked: bool = True) -> dict:
    """Token ids and labels of one conversation whose last message is the answer.

    The prompt is everything up to and including the generation prompt
    (``<|im_start|>assistant\\n``); with ``masked=True`` its labels are ``-100``.
    """
    roles = [m.get("role") if isinstance(m, dict) else type(m).__name__ for m in messages]
    if len(roles) < 2 or roles[-1] != "assistant":  # the answer's tokens are the labels: there must be one
        from sft_teach.errors import ConfigError

        raise ConfigError(f"build_example needs a conversation that ends with the assistant's answer, whose tokens "
                          f"are the labels: got roles {roles}: e.g. chat.to_messages(instruction, input, response)")
    prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=True,
                                           return_dict=True)["input_ids"]
    full = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]
    if full[:len(prompt)] != prompt:
        raise ValueError("the chat template renders the prompt differently on its own than inside the "
                         "whole conversation, so the answer cannot be located: fix the template")
    labels = [IGNORE_INDEX] * len(prompt) + full[len(prompt):] if masked else list(full)
    return {"input_ids": full, "labels": labels}


class MaskingCollator:
    """Pads a list of :func:`build_example` outputs on the right into one batch.

    ``input_ids`` are padded with ``pad_token_id``, ``labels`` with ``-100`` (padding is
    never a target), and ``attention_mask`` is 1 on real tokens. Shapes: (batch, longest).
    """

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id

    def __call__(self, examples: list[dict]) -> dict:
        longest = max(len(e["input_ids"]) for e in examples)

        def padded(key, value):
            return torch.tensor([e[key] + [value] * (longest - len(e[key])) for e in examples])

        input_ids = padded("input_ids", self.pad_token_id)
        mask = torch.tensor([[1] * len(e["input_ids"]) + [0] * (longest - len(e["input_ids"])) for e in examples])
        return {"input_ids": input_ids, "attention_mask": mask, "labels": padded("labels", IGNORE_INDEX)}


def masked_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy over the positions whose label is not ``-100``.

    ``logits``: (batch, seq_len, vocab); ``labels``: (batch, seq_len), aligned with the
    *inputs*. The logits at position t predict token t + 1, so both are shifted by one.
    """
    predicted = logits[:, :-1, :]  # (batch, seq_len - 1, vocab)
    target = labels[:, 1:]  # (batch, seq_len - 1)
    if not (target != IGNORE_INDEX).any():  # a mean over no tokens: nan, which would then train as nan
        from sft_teach.errors import DataError

        raise DataError("masked_loss: no label after the first position is other than -100, so no token is "
                        "scored: an answer cut off by max_length leaves none; raise max_length or shorten the prompt")
    return F.cross_entropy(predicted.reshape(-1, predicted.size(-1)), target.reshape(-1),
                           ignore_index=IGNORE_INDEX)

