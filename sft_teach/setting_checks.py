"""Every setting :func:`sft_teach.training.finetune` and ``sft-teach finetune`` accept, checked
before any work and refused in one line that names the fix.

A wrong number, a keyword neither ``finetune`` nor ``TrainingArguments`` knows, a model object whose
classes are not the data's, a Hub upload that cannot work: each is a :class:`ConfigError` raised
before anything is loaded or trained. ``finetune`` is taught in notebooks/02_technical_recipe.ipynb;
these checks are what it refuses there.
"""

from __future__ import annotations

import json
import math
import numbers
from pathlib import Path

from sft_teach.cli_conventions import shell_word
from sft_teach.errors import ConfigError


def whole(value, least: int | None = None) -> bool:
    """Whether ``value`` is a whole number (a Python or numpy integer, not ``True``/``False``, not 3.0 or
    "3"), at least ``least`` if given: the one rule for seeds, counts and batch sizes passed from Python."""
    return (not isinstance(value, bool) and isinstance(value, numbers.Integral)
            and (least is None or value >= least))


def _integral(value: float) -> bool:
    """Whether a number read as a float is whole: 16.0 is, 16.5, inf and nan are not (int() fails on the last two)."""
    return math.isfinite(value) and value == int(value)


def _refuse_non_numbers(name: str, value, example: str, text: bool) -> None:
    """One rule for every number: ``True`` is no number (Python would read it as 1: a batch of 1, a
    rate of 1.0), and a number written as text is the command line's, not Python's (``text``)."""
    if isinstance(value, bool) or (isinstance(value, str) and not text):
        raise ConfigError(f"{_SETTING[name]} must be a number, got {value!r}: e.g. {example}"
                          + (" (a number, without quotes)" if isinstance(value, str) else ""))


def check_patience(patience, text: bool = False) -> int:
    """``patience`` as a whole number of epochs (1 or more), or a :class:`ConfigError`. ``text``: the
    command line's value, a number written as text."""
    _refuse_non_numbers("patience", patience, "2", text)
    try:
        value = float(patience)
    except (TypeError, ValueError):
        value = float("nan")
    if not value >= 1 or not _integral(value):
        raise ConfigError(f"{_SETTING['patience']} must be a whole number of epochs of at least 1, got {patience}: try 2")
    return int(value)


def check_head_epochs(head_epochs, text: bool = False) -> float:
    """``head_epochs`` as a number of passes (0: no head-only phase), or a :class:`ConfigError`.
    ``text``: the command line's value, a number written as text."""
    _refuse_non_numbers("head epochs", head_epochs, "3", text)
    try:
        value = float(head_epochs)
    except (TypeError, ValueError):
        raise ConfigError(f"{_SETTING['head epochs']} must be a number, got {head_epochs!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{_SETTING['head epochs']} must be 0 (no head-only phase) or more, got {head_epochs}: try 3")
    return value


# Each setting a message names, as the command line and Python spell it
_SETTING = {"epochs": "epochs (--epochs, num_train_epochs=)", "learning rate": "learning rate (--lr, learning_rate=)",
            "batch size": "batch size (--batch-size, batch_size=)", "max length": "max length (--max-length, max_length=)",
            "head epochs": "head epochs (--head-epochs, head_epochs=)", "patience": "patience (--patience, patience=)",
            "warmup": "warmup (warmup=)", "weight decay": "weight decay (weight_decay=)"}


def check_settings(num_train_epochs, learning_rate, batch_size, max_length, warmup=0.1, weight_decay=0.0,
                   text: bool = False):
    """Reject numbers that make no sense, with a message that says what would. ``text``: the command
    line's values, numbers written as text; from Python, a number in quotes is refused.
    ``max_length=None``: a caller that cuts no text (a diagram of the settings) leaves it out."""

    examples = {"epochs": "3", "learning rate": "1e-4", "batch size": "16", "max length": "128", "warmup": "0.1",
                "weight decay": "0.01"}

    def number(name, value, kind):
        _refuse_non_numbers(name, value, examples[name], text)
        try:
            return kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{_SETTING[name]} must be a number, got {value!r}: e.g. {examples[name]}") from None

    epochs = number("epochs", num_train_epochs, float)
    if not math.isfinite(epochs) or epochs <= 0:
        raise ConfigError(f"{_SETTING['epochs']} must be a finite number greater than 0, got {num_train_epochs}: try 3")
    lr = number("learning rate", learning_rate, float)
    if not math.isfinite(lr) or lr <= 0:
        raise ConfigError(f"{_SETTING['learning rate']} must be a finite number greater than 0, got {learning_rate}: "
                          f"try 1e-4")
    if lr > 1:
        raise ConfigError(f"{_SETTING['learning rate']} is {learning_rate}, far too large for fine-tuning: try 1e-4")
    bs = number("batch size", batch_size, float)
    if not _integral(bs) or bs < 1:
        raise ConfigError(f"{_SETTING['batch size']} must be a whole number of at least 1, got {batch_size}: try 16")
    ml = 2.0 if max_length is None else number("max length", max_length, float)
    if not _integral(ml) or not 2 <= ml <= 8192:
        raise ConfigError(f"{_SETTING['max length']} must be a whole number of tokens from 2 to 8192 (and no more "
                          f"than the model has positions for), got {max_length}: try 128")
    if not 0 <= number("warmup", warmup, float) < 1:
        raise ConfigError(f"warmup is a fraction of the training steps in [0, 1), got {warmup}: try 0.1")
    decay = number("weight decay", weight_decay, float)
    if not math.isfinite(decay) or decay < 0:  # nan would pass "< 0" and make every weight nan at the first step
        raise ConfigError(f"weight decay must be a finite number, 0 or more, got {weight_decay}: try 0.01")
    return epochs, lr, int(bs), None if max_length is None else int(ml)


def name_the_classes(model, names) -> None:
    """Give a model object built without class names (``LABEL_0``, ...) the data's, so the saved
    model answers with them; refuse one whose outputs or classes do not match the data's."""
    import re

    config = model.config
    if config.num_labels != len(names):
        raise ConfigError(f"the model has {config.num_labels} outputs but the data {len(names)} classes "
                          f"({', '.join(names)}): build it with num_labels={len(names)}, or let finetune build it "
                          f"(pass the model's name or folder instead of the object)")
    own = [config.id2label[i] for i in range(len(names))]
    if own == list(names):
        return
    if all(re.fullmatch(r"LABEL_\d+", str(label)) for label in own):  # transformers' placeholder names
        config.id2label = dict(enumerate(names))
        config.label2id = {name: i for i, name in enumerate(names)}
        return
    raise ConfigError(f"the model's classes are {', '.join(map(str, own))}, in that order, and the data's "
                      f"{', '.join(names)}: training would relabel its outputs; build a new head with "
                      f"sft_teach.models.load_classifier(name, labels)")


# Keywords of sft_teach.data.load: finetune reads a CSV file with them
DATA_OPTIONS = ("text_column", "label_column", "encoding", "keep_duplicates", "merge_case")


# The command line's names of finetune's settings, which a user carries over to Python
_COMMAND_NAMES = {"epochs": "num_train_epochs", "lr": "learning_rate", "output": "output_dir",
                  "resume": "resume_from_checkpoint", "grad_accum": "gradient_accumulation_steps",
                  "quiet": "progress"}


# TrainingArguments that finetune sets from its own keywords: given as well, the run would differ
# from what its record and card say (per_device_train_batch_size=8 trained, batch_size 16 recorded).
# Each: (finetune's keyword, the advice given the value passed)
_SET_BY_KEYWORD = {
    "per_device_train_batch_size": ("batch_size", lambda v: f"pass batch_size={v!r}"),
    "data_seed": ("seed", lambda v: "pass seed=, which sets the data order too"),
    "warmup_steps": ("warmup", lambda v: "pass warmup=, a fraction of the steps (0.1: the first 10 %)"),
    "warmup_ratio": ("warmup", lambda v: f"pass warmup={v!r}"),
    "disable_tqdm": ("progress", lambda v: f"pass progress={not v!r}"),
    "load_best_model_at_end": ("best_epoch", lambda v: "pass best_epoch=True"),
    "metric_for_best_model": ("best_epoch", lambda v: "best_epoch=True keeps the epoch of the best validation "
                                                      "macro-F1, the only measure finetune chooses by"),
}


def check_overrides(overrides: dict, parameters) -> None:
    """A :class:`ConfigError` for a keyword neither ``finetune`` nor ``TrainingArguments`` knows
    (``TypeError`` from deep inside transformers otherwise), with the name it probably meant, and
    for one of ``TrainingArguments`` that a keyword of ``finetune`` sets (``batch_size=``, ...).
    ``parameters``: the names of ``finetune``'s own parameters, which it passes in."""
    import dataclasses
    import difflib

    from transformers import TrainingArguments

    known = {f.name for f in dataclasses.fields(TrainingArguments)} | {"save_checkpoints", "logging_steps"}
    for name in overrides:
        if name in _SET_BY_KEYWORD:
            raise ConfigError(f"{name}= is set by finetune's own keywords, which the run's record and card report: "
                              f"{_SET_BY_KEYWORD[name][1](overrides[name])}")
        if name == "recipe":  # the command's --recipe: in Python a recipe is its settings
            raise ConfigError(f"finetune has no setting recipe=: pass the recipe's settings, "
                              f"finetune(..., **RECIPES[{overrides[name]!r}]) (from sft_teach.training import RECIPES)")
        if name not in known:
            own = [p for p in parameters if p != "training_overrides"]
            close = [_COMMAND_NAMES[name]] if name in _COMMAND_NAMES else \
                difflib.get_close_matches(name, [*own, *known, *DATA_OPTIONS], n=1)
            # a misspelt warmup_ratio= is pointed to warmup=, not to the setting finetune would refuse next
            close = [_SET_BY_KEYWORD[c][0] if c in _SET_BY_KEYWORD else c for c in close]
            raise ConfigError(f"finetune has no setting {name}=" + (f": did you mean {close[0]}=?" if close else
                              ": see help(sft_teach.training.finetune)"))


def hub_repository(overrides: dict, output_dir) -> tuple[dict | None, dict]:
    """What ``push_to_hub=True, hub_model_id=...`` asks for: the keywords of
    :func:`sft_teach.run_record.push_model` (``repo``, ``private``, ``token``, ``revision``), or ``None``;
    and ``overrides`` without the ``hub_*`` keywords (``overrides`` itself is left as it was).

    ``Trainer``'s own push would upload its checkpoints folder, not ``model/`` with its card, and
    fail deep inside ``huggingface_hub`` offline: here the saved model folder is uploaded after the
    run, and what cannot work is refused in one line before any training. No ``hub_*`` keyword is
    left in the overrides returned, so none (a token least of all) reaches the record or the card."""
    from sft_teach.models import hub_available

    hub = {k: v for k, v in overrides.items() if k == "push_to_hub" or k.startswith("hub_")}
    rest = {k: v for k, v in overrides.items() if k not in hub}
    push = hub.pop("push_to_hub", False)
    unused = [k for k in ("hub_strategy", "hub_always_push") if k in hub]
    if unused:
        raise ConfigError(f"{unused[0]}= sets how Trainer pushes checkpoints; finetune uploads the saved model "
                          f"folder once, when the run ends: drop {unused[0]}=")
    if hub and not push:
        raise ConfigError(f"{next(iter(hub))}= uploads nothing without push_to_hub=True: add it, or drop the hub_ settings")
    if not push:
        return None, rest
    if not hub.get("hub_model_id"):
        raise ConfigError("push_to_hub=True needs hub_model_id='owner/name', the Hub repository to upload to")
    if output_dir is None:
        raise ConfigError("push_to_hub=True uploads the saved model folder: pass output_dir= (and save=True)")
    repo = hub["hub_model_id"]
    if not hub_available():
        raise ConfigError(f"push_to_hub: the Hugging Face Hub cannot be reached from here: train without it and "
                          f"upload the model folder later: hf upload {repo} {shell_word(Path(output_dir) / 'model')}")
    return {"repo": repo, "private": hub.get("hub_private_repo"), "token": hub.get("hub_token"),
            "revision": hub.get("hub_revision")}, rest


def as_json(value):
    """``value`` if JSON can hold it, else its repr: for the record of a run."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value
