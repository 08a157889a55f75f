"""Instruction SFT of a language model with ``trl``'s ``SFTTrainer``, and how to score it.

* :func:`load_instructions`: the course's prompt -> response pairs (``data/instructions/``);
* :func:`split_validation`: one training pair in eight held back, to watch the SFT loss on;
* :func:`conversations`: rows -> ``trl``'s conversational prompt-completion format;
* :data:`SFT_SETTINGS` and :func:`sft_settings`: learning rate and epochs by starting model;
* :func:`sft`: ``SFTTrainer`` with the loss on the answers only (``masked=True``) or on
  every token, on a CPU-friendly configuration;
* :func:`generate`: greedy answers to a list of prompts, stopped at the template's end-of-turn
  token (:func:`sft_teach.chat.end_of_turn_ids`);
* :func:`answer_accuracy`, :func:`choice_accuracy` and :func:`answer_loss`: exact match of the
  generated answers, accuracy when the model only ranks the allowed answers (both per prompt,
  for paired tests), and the mean loss on the answer tokens of held-out prompts.

Taught in notebooks/07_instruction_sft.ipynb.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np
import torch

from sft_teach import chat, masking
from sft_teach.models import reads_model

#: The tasks whose answer is one word that can be checked exactly.
CHECKED_TASKS = ("animal", "desk")

#: Learning rate and epochs of :func:`sft`, by the model it starts from (:func:`sft_settings`).
#:
#: * ``"tiny"``: the course's GPT-2 of about a million parameters, pretrained for a minute on
#:   52 thousand tokens, and the same network from random weights. There is little pretrained
#:   knowledge to protect and much to learn, so it takes the large steps of training from scratch
#:   (the order of its pretraining rate, 3e-3) for 8 epochs. Not tuned: notebook 07 shows the
#:   loss on the validation pairs per epoch, which is how to choose it.
#: * ``"pretrained"``: a real pretrained model (SmolLM2-135M and up), fine-tuned in full. The
#:   course's range for full fine-tuning of a pretrained model is 1e-5 to 1e-4 for a few epochs
#:   (notebook 02, ``explain("learning rate")``); a rate of 2e-3 for 8 epochs would overwrite
#:   much of what pretraining learnt (``explain("catastrophic forgetting")``). With LoRA, rates
#:   around 1e-4 to 2e-4 are usual.
SFT_SETTINGS = {
    "tiny": {"learning_rate": 2e-3, "num_train_epochs": 8},
    "pretrained": {"learning_rate": 5e-5, "num_train_epochs": 3},
}


def load_instructions():
    """``DatasetDict`` with ``train`` and ``test``: columns ``task``, ``instruction``, ``input``, ``response``."""
    from datasets import load_dataset

    from sft_teach.bundled import data_dir

    folder = data_dir() / "instructions"
    files = {split: str(folder / f"{split}.csv") for split in ("train", "test")}
    dataset = load_dataset("csv", data_files=files, keep_default_na=False)  # empty input stays ""
    return dataset


def split_validation(train, every: int = 8):
    """``(train, validation)``: one row in ``every`` of each task and answer held back.

    Within each group (each animal, each desk, the rewrites) the rows are taken in file order
    (the file is shuffled), so the validation rows keep the training split's balance: with the
    course's 340 pairs, 10 cat, 10 dog, 2 per desk and 8 rewrites. Validation rows watch the
    loss during SFT (:func:`sft`'s ``eval_dataset``); the test rows stay for the end.
    """
    from sft_teach.setting_checks import whole

    if not whole(every, least=2):  # every=1 would hold back every row, 0 divide by zero
        from sft_teach.errors import ConfigError

        raise ConfigError(f"every= must be a whole number of at least 2 (one row in every), got {every!r}: e.g. 8")
    groups: dict[tuple, list[int]] = {}
    for index, row in enumerate(train):
        answer = row["response"] if row["task"] in CHECKED_TASKS else ""
        groups.setdefault((row["task"], answer), []).append(index)
    held = sorted(i for rows in groups.values() for i in rows[:max(1, round(len(rows) / every))])
    kept = sorted(set(range(len(train))) - set(held))
    return train.select(kept), train.select(held)


def sft_settings(base: str) -> dict:
    """:data:`SFT_SETTINGS` for ``base``: ``"tiny"`` for the course's tiny model, else ``"pretrained"``."""
    return dict(SFT_SETTINGS["tiny" if base == "tiny" else "pretrained"])


def conversations(dataset):
    """Each row as ``{"prompt": [user message], "completion": [assistant message]}``."""
    return dataset.map(chat.prompt_completion, remove_columns=dataset.column_names)


def sft(model, tokenizer, train, *, masked: bool = True, num_train_epochs: int = 3, learning_rate: float = 5e-5,
        batch_size: int = 16, max_length: int = 192, seed: int = 0, eval_dataset=None, callbacks=()) -> dict:
    """Supervised fine-tuning of a causal LM on instruction rows with ``trl.SFTTrainer``.

    ``masked=True`` is ``completion_only_loss``: labels are -100 on the prompt, so only the
    answer is learned (see :mod:`sft_teach.masking`). The default learning rate and epochs are
    :data:`SFT_SETTINGS` ``["pretrained"]``; pass :func:`sft_settings` for the model at hand.
    With ``eval_dataset`` (rows like ``train``) the loss on it is measured after every epoch, in
    the same way as the training loss (answers only when ``masked``), and lands in
    ``history["eval"]``. Returns ``{"history", "seconds", "trainer"}``; ``model`` is trained in place.
    """
    from transformers import PrinterCallback
    from trl import SFTConfig, SFTTrainer

    from sft_teach.callbacks import HistoryCallback
    from sft_teach.setting_checks import check_settings
    from sft_teach.trainer_arguments import shared_settings

    check_settings(num_train_epochs, learning_rate, batch_size, max_length)  # one line, before any work
    history = HistoryCallback()
    with tempfile.TemporaryDirectory(prefix="sft-teach-sft-") as scratch:  # nothing is saved there
        config = SFTConfig(
            **shared_settings(scratch, num_train_epochs=num_train_epochs, learning_rate=learning_rate,
                              batch_size=batch_size, seed=seed, warmup=0.1, weight_decay=0.0,
                              eval_strategy="epoch" if eval_dataset is not None else "no"),
            lr_scheduler_type="linear", max_length=max_length, completion_only_loss=masked,
            # CPU-friendly: trl's defaults (bf16, activation checkpointing) suit large models on GPUs
            bf16=False, gradient_checkpointing=False, pad_to_multiple_of=None, per_device_eval_batch_size=batch_size,
        )
        trainer = SFTTrainer(model=model, args=config, train_dataset=conversations(train),
                             eval_dataset=conversations(eval_dataset) if eval_dataset is not None else None,
                             processing_class=tokenizer, callbacks=[history, *callbacks])
        trainer.remove_callback(PrinterCallback)  # without a progress bar it would print every log
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
    return {"history": history.as_dict(), "seconds": round(seconds, 1), "trainer": trainer}


@torch.no_grad()
def _tasks_of(dataset, tasks, where: str) -> tuple:
    """``tasks`` as a tuple, each a task the data has rows of: a misspelt one scored nan in silence,
    and one task given as a string was read as its letters."""
    from sft_teach.errors import ConfigError

    if isinstance(tasks, str):
        raise ConfigError(f"{where} takes a collection of tasks, got {tasks!r}: e.g. ({tasks!r},)")
    present = sorted(set(dataset["task"][:]))
    missing = [t for t in tasks if t not in present]
    if missing or not tasks:
        raise ConfigError(f"{where}: no rows of task(s) {missing}: the data's tasks are {present}")
    return tuple(tasks)


@reads_model
def generate(model, tokenizer, prompts: list[list[dict]], max_new_tokens: int = 8, batch_size: int = 32) -> list[str]:
    """Greedy answers to ``prompts`` (each a list of messages ending with the user's).

    Prompts are padded on the *left*, so every row's next token comes right after its own
    generation prompt. Decoding stops at the template's end-of-turn token (``<|im_end|>``) and at
    ``eos_token`` (:func:`sft_teach.chat.end_of_turn_ids`): for a base model's tokenizer the two
    differ, and stopping at ``eos_token`` alone would run past the answer.
    """
    from sft_teach.errors import ConfigError
    from sft_teach.setting_checks import whole

    if isinstance(prompts, (str, dict)) or (len(prompts) and not isinstance(prompts[0], (list, tuple))):
        raise ConfigError(f"generate takes a list of conversations, each a list of messages: got {prompts!r:.60}; "
                          f"one conversation goes in a list of one, [chat.to_messages(instruction, input)]")
    for name, value in (("max_new_tokens", max_new_tokens), ("batch_size", batch_size)):
        if not whole(value, least=1):
            raise ConfigError(f"{name}= must be a whole number of at least 1, got {value!r}")
    stop = chat.end_of_turn_ids(tokenizer)
    answers = []
    for start in range(0, len(prompts), batch_size):
        rows = [tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"]
                for p in prompts[start:start + batch_size]]
        longest = max(map(len, rows))
        ids = torch.tensor([[tokenizer.pad_token_id] * (longest - len(r)) + r for r in rows])
        mask = torch.tensor([[0] * (longest - len(r)) + [1] * len(r) for r in rows])
        out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens, do_sample=False,
                             eos_token_id=stop, pad_token_id=tokenizer.pad_token_id)
        answers += [tokenizer.decode(row[longest:], skip_special_tokens=True).strip() for row in out]
    return answers


def answer_accuracy(model, tokenizer, dataset, tasks=CHECKED_TASKS) -> dict:
    """Exact-match accuracy of greedy answers, per task in ``tasks`` and over all of them.

    Returns ``{"animal": acc, "desk": acc, "all": acc, "answers": [...], "rows": [...],
    "correct": [...]}``; ``correct`` holds one bool per row, for paired tests between models.
    """
    tasks = _tasks_of(dataset, tasks, "answer_accuracy")
    rows = [r for r in dataset if r["task"] in tasks]
    answers = generate(model, tokenizer, [chat.to_messages(r["instruction"], r["input"]) for r in rows])
    correct = np.array([a.lower() == r["response"].lower() for a, r in zip(answers, rows)])
    out = {task: float(correct[[r["task"] == task for r in rows]].mean()) for task in tasks}
    out.update(all=float(correct.mean()), answers=answers, rows=rows, correct=correct.tolist())
    return out


@torch.no_grad()
@reads_model
def choice_accuracy(model, tokenizer, dataset, choices: dict[str, list[str]]) -> dict:
    """Accuracy when the model only has to *rank* the allowed answers, per task and overall.

    For each prompt, every allowed answer of its task (``choices[task]``) is scored by the
    log-probability the model gives its tokens after the prompt: the sum over the answer's tokens,
    the end-of-turn ``<|im_end|>`` and the line break the template writes after it included, not
    normalised by length (lm-evaluation-harness reports this and a length-normalised variant); the
    best one is the prediction. This is how many multiple-choice benchmarks score language models:
    it measures what the model knows separately from whether it answers in the right format.
    Returns ``{task: acc, ..., "all": acc, "correct": [...], "picked": [...], "scores": [...]}``, one
    bool, one chosen answer and one list of log-probabilities (one per allowed answer, in
    ``choices[task]``'s order) per scored row.
    """
    _tasks_of(dataset, tuple(choices), "choice_accuracy")
    rows = [r for r in dataset if r["task"] in choices]
    correct, picked_answers, scores = [], [], []
    for row in rows:
        options = choices[row["task"]]
        examples = [masking.build_example(tokenizer, chat.to_messages(row["instruction"], row["input"], option))
                    for option in options]
        batch = masking.MaskingCollator(tokenizer.pad_token_id)(examples)
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)  # (options, seq_len - 1, vocab)
        target = batch["labels"][:, 1:]
        # the prompt's positions and the padding are -100: only each answer's own tokens count
        picked = logp.gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1) * (target != masking.IGNORE_INDEX)
        totals = picked.sum(dim=1)  # (options,)
        scores.append(totals.tolist())
        picked_answers.append(options[int(totals.argmax())])
        correct.append(picked_answers[-1] == row["response"])
    correct = np.array(correct)
    out = {task: float(correct[[r["task"] == task for r in rows]].mean()) for task in choices}
    out.update(all=float(correct.mean()), correct=correct.tolist(), picked=picked_answers, scores=scores)
    return out


@reads_model
def _answer_batch(model, tokenizer, dataset, name: str):
    """``(logits, labels)`` of ``dataset``'s rows, the prompts masked: one forward pass in eval mode."""
    if not len(dataset):  # an error inside the collator, otherwise
        from sft_teach.errors import DataError

        raise DataError(f"{name}: the dataset has no rows to score")
    examples = [masking.build_example(tokenizer, chat.to_messages(r["instruction"], r["input"], r["response"]))
                for r in dataset]
    batch = masking.MaskingCollator(tokenizer.pad_token_id)(examples)
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    return logits, batch["labels"]  # (rows, seq_len, vocab), (rows, seq_len)


@torch.no_grad()
def answer_loss(model, tokenizer, dataset) -> float:
    """Mean cross-entropy per answer token on ``dataset`` (the prompts are masked)."""
    return float(masking.masked_loss(*_answer_batch(model, tokenizer, dataset, "answer_loss")))


@torch.no_grad()
def answer_losses(model, tokenizer, dataset) -> tuple[np.ndarray, np.ndarray]:
    """``(totals, counts)``, one value a row of ``dataset``: the row's cross-entropy summed over its
    answer tokens, and how many answer tokens it has. :func:`answer_loss` is their pooled mean,
    ``totals.sum() / counts.sum()``; kept per row, two models scored on the same prompts can be
    compared pairwise (:func:`sft_teach.stats.paired_pooled_bootstrap`, notebook 07).
    """
    logits, labels = _answer_batch(model, tokenizer, dataset, "answer_losses")
    counts = (labels[:, 1:] != masking.IGNORE_INDEX).sum(dim=1)  # (rows,): the shifted targets that count
    totals = [float(masking.masked_loss(logits[i:i + 1], labels[i:i + 1])) * int(n) for i, n in enumerate(counts)]
    return np.array(totals), counts.numpy()
