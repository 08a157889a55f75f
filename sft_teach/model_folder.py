"""A fine-tuned model's folder: weights as safetensors, tokenizer and label names, written
atomically (a sibling temporary folder renamed into place), with what the model was trained on.

The folder loads back with :func:`sft_teach.inference.load_finetuned`, or without sft-teach with
``transformers.pipeline``. :func:`sft_teach.training.finetune` saves its model here as ``model/``.

Taught in notebooks/02_technical_recipe.ipynb.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path


def _usual_permissions(folder: Path) -> None:
    """Give ``folder`` and its files the permissions a plain ``mkdir`` and ``open`` would (the umask's).

    ``tempfile.mkdtemp`` makes a folder only its owner can enter (0700), and some writers save files
    as 0600; renamed into place they would keep that, and a service running as another user could
    not load the model.
    """
    umask = os.umask(0)
    os.umask(umask)  # reading the umask means setting it: put it back at once
    folder.chmod(0o777 & ~umask)
    for path in folder.rglob("*"):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def _check_model_target(target: Path) -> None:
    """An :class:`OutputExistsError` unless ``target`` is absent, empty or a saved model's folder."""
    from sft_teach.errors import OutputExistsError

    if target.exists() and not target.is_dir():
        raise OutputExistsError(f"'{target}' is a file: save the model into a folder, e.g. '{target.parent / 'model'}'")
    if not target.is_dir():
        return
    entries = sorted(target.iterdir())
    if not entries or ((target / "config.json").is_file() and all(e.is_file() for e in entries)):
        return  # empty, or an earlier saved model: replaced
    shown = ", ".join(e.name for e in entries[:4]) + (f" and {len(entries) - 4} more" if len(entries) > 4 else "")
    raise OutputExistsError(f"'{target}' holds files that are not a saved model ({shown}), and saving replaces the "
                            f"folder whole: choose a folder of its own, e.g. '{target / 'model'}'")


def save_model(trainer, target: Path, max_length: int | None = None, data: dict | None = None) -> Path:
    """Save model + tokenizer as safetensors into ``target``, atomically.

    Everything is written to a sibling temporary folder first and renamed into place
    at the end, so a crash while saving never leaves a half-written folder that looks
    complete. ``max_length`` (the training setting) is saved as the tokenizer's
    ``model_max_length``, so the folder cuts texts where training did: ``predict_proba``,
    and ``pipeline(..., truncation=True)`` loaded from the folder. ``data``: what the model was
    trained on, ``{"text_column", "label_column", "encoding", "merge_case", "data_sha256"}``, kept in
    ``config.json`` (as ``sft_teach``), so that wherever the folder is copied ``evaluate`` and
    ``predict --file`` read a file as the training file was read (its columns; its encoding when the
    file is not UTF-8; labels merged across case if training merged them) and ``evaluate`` knows the
    training file when it is given to score.

    The folder is replaced whole, so it must be new, empty, or a saved model (files only, with a
    ``config.json``); any other folder is refused with :class:`OutputExistsError`, untouched.
    Taught in notebooks/02_technical_recipe.ipynb.
    """
    target = Path(target)
    _check_model_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{target.name}-partial-", dir=target.parent))
    try:
        # safetensors weights (transformers 5 writes no other format) + config (with id2label) +
        # tokenizer files. Not trainer.save_model: it also writes training_args.bin, a pickle,
        # which nothing here needs.
        trainer.model.save_pretrained(partial)
        trainer.processing_class.save_pretrained(partial)
        config_file = partial / "tokenizer_config.json"
        if config_file.is_file():  # edit the saved file, not the caller's tokenizer object
            config = json.loads(config_file.read_text())
            if max_length is not None:
                config["model_max_length"] = int(max_length)
            # transformers also writes how this tokenizer was last loaded and called (a max_length
            # copied from the base model's tokenizer.json, which cuts nothing; local_files_only,
            # true on the machine that trained): not settings of the model, and a reader would
            # take max_length for the cut. Dropped; model_max_length is the cut.
            for key in ("max_length", "stride", "local_files_only", "is_local"):
                config.pop(key, None)
            config_file.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
        if data is not None:
            config_file = partial / "config.json"
            config = json.loads(config_file.read_text())
            config["sft_teach"] = data
            config_file.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        fast = partial / "tokenizer.json"
        if fast.is_file():
            # A fast tokenizer saves the truncation and padding its last call happened to set (the
            # last batch of evaluation, say), so the same run could save different files; and a
            # program that reads tokenizer.json alone would cut or pad where nothing asked it to.
            # Saved without them, as the tokenizer was loaded: model_max_length holds the cut.
            spec = json.loads(fast.read_text(encoding="utf-8"))
            if spec.get("truncation") is not None or spec.get("padding") is not None:
                spec.update(truncation=None, padding=None)
                fast.write_text(json.dumps(spec, indent=2, ensure_ascii=False), encoding="utf-8")
        _usual_permissions(partial)
        if target.exists():
            shutil.rmtree(target)
        partial.rename(target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target
