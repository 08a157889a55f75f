"""The steps of one :func:`sft_teach.training.finetune` run, in the order it takes them.

:func:`read_data` (the data as a ``DatasetDict``, a CSV file cleaned and split), :func:`model_for`
(the model with its new head), :func:`data_findings` (what ``sft-teach check`` would say, said before
training), :func:`head_phase` (LP-FT's head-only phase), :func:`build_trainer` and :func:`train`
(the ``Trainer`` of all the layers), :func:`score` (one prediction pass over the split scored),
:func:`training_findings` (what training showed), :func:`save_run` (the run's folder) and :func:`say`
(each finding as a Python warning at the caller's line). Each reads the run's checked settings, a
:class:`sft_teach.finetune_plan.Plan`; ``finetune`` itself is the order of the steps.
:func:`scratch_folder` is Trainer's folder for a run that keeps nothing; :func:`all_arrived` lets
the processes of a data-parallel run (torchrun) wait for each other before process zero tidies up.

Taught in notebooks/02_technical_recipe.ipynb (with :func:`sft_teach.training.finetune`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from sft_teach import checkpoints, finetune_plan, head_first, setting_checks, trainer_arguments
from sft_teach.errors import ConfigError, SftTeachWarning
from sft_teach.finetune_plan import Plan
from sft_teach.model_folder import save_model


def read_data(data, split_seed, reading, eval_split):
    """``(dataset, cleaning, names)``: ``data`` as a ``DatasetDict`` whose splits' classes are train's,
    what cleaning removed from one CSV file (``None`` for other data), and the class names."""
    from sft_teach import data as data_mod

    if isinstance(data, (str, Path)):
        dataset, cleaning = data_mod.load_with_report(data, split_seed=split_seed, **reading)
    elif isinstance(data, tuple) and len(data) == 2:  # data.load_with_report's pair: the report comes back too
        dataset, cleaning = data
    else:
        dataset, cleaning = data, None
    dataset = data_mod.by_name(dataset)  # a DatasetDict with train and validation, classes matched by name
    names = dataset["train"].features["label"].names
    if eval_split == "train":  # accepted, the result would present memory as a score
        raise ConfigError("eval_split 'train' would score the texts the model is trained on, which measures memory, "
                          "not what it learned: use 'test' or 'validation' (scores on any texts: "
                          "sft_teach.inference.predict_proba)")
    if eval_split not in dataset and eval_split != "test":  # a missing test split falls back to validation
        raise ConfigError(f"eval_split {eval_split!r}: the data has no such split ({', '.join(dataset)}): "
                          f"use 'test' or 'validation'")
    return dataset, cleaning, names


def model_for(model, tokenizer, names, seed):
    """``(model, tokenizer, findings)``: a model name or folder loaded with a new head for ``names``,
    or the model object given, with the data's class names; the seed set first, for the new head.
    ``findings``: a fine-tuned classifier's head replaced for other classes (load_classifier's
    warning, kept with the run's other findings: in its record, and said by the command too)."""
    import transformers

    from sft_teach.checks import Finding
    from sft_teach.models import load_classifier

    transformers.set_seed(seed)  # the new head's random initialisation depends on it
    said = []
    if isinstance(model, (str, Path)):
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always", SftTeachWarning)
            model, tokenizer = load_classifier(str(model), names)
    else:  # its tokenizer was checked with the settings (finetune_plan.check_arguments)
        setting_checks.name_the_classes(model, names)
    return model, tokenizer, [Finding("new_head", str(w.message)) for w in said if issubclass(w.category, SftTeachWarning)]


def data_findings(dataset, cleaning, model, tokenizer, plan: Plan) -> list:
    """What ``sft-teach check`` would say of the data, and of what cleaning removed from it; then
    whether the batch is larger than the training split (what ``sft-teach finetune`` adds)."""
    from sft_teach import checks
    from sft_teach.cleaning import cleaning_findings

    too_big = checks.batch_over_train(len(dataset["train"]), plan.batch_size,
                                      plan.overrides.get("gradient_accumulation_steps", 1))
    return (checks.check(dataset, tokenizer, plan.max_length,
                         positions=getattr(model.config, "max_position_embeddings", None), one_file=cleaning is not None)
            + cleaning_findings(cleaning) + ([too_big] if too_big else []))


@contextlib.contextmanager
def scratch_folder():
    """Trainer's working folder for a run that keeps nothing: a temporary folder, removed when the
    run ends, also on an error or an interrupt (it can hold checkpoints of hundreds of MB by then).

    Data-parallel (torchrun), all the processes work in process zero's: it alone saves each
    checkpoint, and every process loads the best one from there at the end."""
    from sft_teach.environment import first_process, processes

    made = tempfile.TemporaryDirectory(prefix="sft-teach-", ignore_cleanup_errors=True) if first_process() else None
    folder = made.name if made else None
    several = processes() > 1
    if several:
        import torch
        from accelerate import PartialState
        from accelerate.utils import broadcast_object_list

        # the processes' group set up as the training arguments set it up (gloo on CPUs), should no
        # Trainer have done it yet: left to its defaults, each CPU process would think itself alone
        PartialState(cpu=not torch.cuda.is_available())
        folder = broadcast_object_list([folder])[0]  # process zero's, to every process
    try:
        yield folder
        if several:
            all_arrived()  # process zero removes the folder only when no process reads it any more
    finally:
        if made is not None:
            made.cleanup()


def all_arrived() -> bool:
    """Wait until every process of a data-parallel (torchrun) run is here; ``True`` in process zero.

    Each process ends ``Trainer.train()`` by loading the best checkpoint and listing its working
    folder: one that finished first must not remove that folder under another that has not (it
    crashed process zero). A single process is process zero and waits for no one."""
    from accelerate import PartialState

    state = PartialState()
    state.wait_for_everyone()
    return state.is_main_process


def head_phase(model, encoded, tokenizer, run_dir: Path, plan: Plan, *, head_learning_rate, seed, progress,
                output_dir):
    """LP-FT's first phase, the new head trained alone (:func:`sft_teach.head_first.train_head`): its log,
    also written to ``run_dir/head.json`` when the run is saved; a resumed run reads that log instead of
    training the head again. ``None`` without a head-only phase."""
    head = None
    head_record = run_dir / "head.json"  # the head-only phase's log, for a run resumed after it
    if plan.head_epochs > 0 and plan.resume is None:
        # LP-FT's first phase, before the main Trainer exists: the main phase then starts exactly
        # as a plain run would from these weights (same seeding, same data order).
        # the same batches a step, and the same logging interval, as the phase after it
        accumulate = {k: plan.overrides[k] for k in ("gradient_accumulation_steps", "logging_steps")
                      if k in plan.overrides}
        head = head_first.train_head(model, encoded, tokenizer, run_dir / "head", num_train_epochs=plan.head_epochs,
                                     learning_rate=head_learning_rate, batch_size=plan.batch_size, seed=seed,
                                     progress=progress, **accumulate)
        if not all_arrived():  # under torchrun, process zero alone tidies up and writes the record
            return head
        shutil.rmtree(run_dir / "head", ignore_errors=True)  # Trainer's working folder for that phase: empty
        if output_dir is not None:  # written whole, then renamed: a kill never leaves half a record
            partial = head_record.with_name(f"head.{os.getpid()}.json")
            partial.write_text(json.dumps(head))
            os.replace(partial, head_record)
    elif plan.head_epochs > 0 and head_record.is_file():  # resumed: the head phase ran before the interruption
        head = json.loads(head_record.read_text())
    return head


def build_trainer(model, tokenizer, encoded, run_dir: Path, plan: Plan, *, seed, warmup, weight_decay, progress,
                   best_epoch, history, clock, callbacks, trained_on, optimizers, head):
    """``(trainer, resumable)``: the ``Trainer`` of the main phase (all the layers), and whether its
    checkpoints are kept for resuming (with ``best_epoch``, they are otherwise removed after training).
    ``history`` and ``clock`` observe it; ``callbacks`` are the caller's."""
    from transformers import Trainer

    from sft_teach import data as data_mod
    from sft_teach.callbacks import SameShuffleOnEveryProcess, TrainedOn, one_progress_bar
    from sft_teach.metrics import compute_metrics

    training_overrides, resumable = finetune_plan.main_phase(plan.overrides, best_epoch)
    args = trainer_arguments.training_arguments(run_dir / "checkpoints", num_train_epochs=plan.epochs,
                                                learning_rate=plan.lr, batch_size=plan.batch_size, seed=seed,
                                                warmup=warmup, weight_decay=weight_decay, progress=progress,
                                                **training_overrides)
    if plan.patience is not None:
        from transformers import EarlyStoppingCallback

        callbacks = [*callbacks, EarlyStoppingCallback(early_stopping_patience=plan.patience)]
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=encoded["train"],
        eval_dataset=encoded["validation"],
        processing_class=tokenizer,
        data_collator=data_mod.collator(tokenizer),
        compute_metrics=compute_metrics,
        callbacks=[history, clock, TrainedOn(trained_on), *callbacks],
        # total optimiser steps: one per global batch (all processes together under torchrun)
        optimizers=optimizers(model, math.ceil(math.ceil(len(encoded["train"]) / (plan.batch_size * args.world_size))
                                               * plan.epochs))
        if optimizers else (None, None),
    )
    checkpoints.without_pickled_arguments(trainer)
    # A sequence classifier's loss is its batch's mean, whatever num_items_in_batch says, though its
    # forward takes **kwargs, from which Trainer concludes the loss is already scaled for gradient
    # accumulation. Told otherwise, Trainer divides it by the accumulation steps: without this, with
    # --grad-accum N the gradients (and so gradient clipping) and the logged loss were N times too large.
    trainer.loss_is_scaled_for_ga = False
    if args.world_size > 1:  # data-parallel only: a single process keeps Trainer's own shuffle
        trainer.add_callback(SameShuffleOnEveryProcess())
    one_progress_bar(trainer, progress, desc="all layers" if head is not None else None)  # one bar a phase
    return trainer, resumable


def train(trainer, run_dir: Path, resume, best_epoch, resumable) -> float:
    """Train (from the checkpoint ``resume``, if given); the seconds trained, with those before an
    interruption."""
    from sft_teach.callbacks import TrainingClock, progress_bars_closed
    from sft_teach.environment import library_bars_off

    # saving a checkpoint draws a "Writing model shards" bar between ours
    with library_bars_off(), progress_bars_closed(trainer):
        trainer.train(resume_from_checkpoint=resume)
    train_seconds = TrainingClock.of(trainer).seconds()  # resumed: the restored clock, with the time before
    if not all_arrived():  # under torchrun, process zero alone tidies up
        return train_seconds
    if best_epoch and not resumable:  # the best weights are loaded; their checkpoints served their purpose
        checkpoints.remove(run_dir / "checkpoints")
    # Trainer's working folder, left empty when nothing was saved: rmdir removes it only if empty
    with contextlib.suppress(OSError):
        (run_dir / "checkpoints").rmdir()
    return train_seconds


def score(trainer, tokenizer, dataset, eval_split, plan: Plan, history, head, train_seconds, best_epoch):
    """``(metrics, split_name, labels, predictions)`` of the trained model on ``eval_split`` (validation
    when the data has no test split), with how training went (steps, seconds, the epoch kept)."""
    from sft_teach.inference import predict_proba
    from sft_teach.metrics import scores

    # One prediction pass, in the split's own order (Trainer's length-grouped eval sampler
    # would reorder the examples), gives both the scores and the per-example predictions.
    split_name = eval_split if eval_split in dataset else "validation"
    labels = np.asarray(dataset[split_name]["label"])
    probs = predict_proba(trainer.model, tokenizer, dataset[split_name]["text"], max_length=plan.max_length)
    predictions = probs.argmax(axis=-1)
    metrics = scores(labels, predictions)
    metrics["loss"] = float(-np.log(probs[np.arange(len(labels)), labels] + 1e-12).mean())  # cross-entropy
    metrics.update(train_seconds=round(train_seconds, 2), train_steps=trainer.state.global_step)
    if head is not None:
        metrics["head_steps"] = head["steps"]
    if plan.resume is not None:
        metrics["resumed_from_step"] = int(Path(plan.resume).name.split("-")[-1])
    if best_epoch:
        from sft_teach.model_card import epoch_number

        # the evaluation whose weights were kept, as Trainer counted its epoch: part-way into one when
        # the best was the last evaluation of num_train_epochs=2.4, never rounded to the epoch before
        best_step = int(Path(trainer.state.best_model_checkpoint).name.split("-")[-1])
        metrics["best_epoch"] = epoch_number(next(row["epoch"] for row in history.as_dict()["eval"]
                                                  if row["step"] == best_step))
        # as Trainer counted them: fewer than planned when early stopping ended the run; a little more
        # than a fractional plan, since Trainer rounds the steps up (1.5 epochs of 3 steps: 5 steps, 1.6667)
        metrics["epochs_run"] = epoch_number(trainer.state.epoch)
    return metrics, split_name, labels, predictions


def training_findings(predictions, labels, names, split_name, dataset) -> list:
    """What training showed: one class predicted for everything, or classes never predicted."""
    from sft_teach import checks
    from sft_teach.splits import column

    return [found for found in (checks.one_class_predicted(predictions, labels, names, split_name),
                                checks.classes_never_predicted(predictions, labels, names, split_name,
                                                               train_labels=column(dataset["train"], "label")))
            if found]


def save_run(trainer, result, output_dir, dataset, cleaning, plan: Plan, *, model_name, data, trained_on, seed,
              head_learning_rate, weight_decay, best_epoch, record) -> None:
    """Write the run's folder (model with its card, splits, metrics.json, plots; one process writes
    under torchrun, the others wait) and upload the model when asked (``push_to_hub=True``)."""
    from sft_teach import run_record
    from sft_teach.environment import library_bars_off
    from sft_teach.run_record import base_model_name, hub_id, write_run
    from sft_teach.splits import save_splits

    result.model_dir = Path(output_dir) / "model"
    # Data-parallel (torchrun): every process holds the same weights, so one writes them and
    # the others wait until the folder is complete. A single process is always process zero.
    if trainer.is_world_process_zero():
        run_record.clear_run(Path(output_dir))  # an earlier run's files (overwrite=True): none of them may survive
        settings = run_record.settings(model_name, data, trained_on, epochs=plan.epochs, learning_rate=plan.lr,
                                       batch_size=plan.batch_size,
                                       grad_accum=plan.overrides.get("gradient_accumulation_steps", 1),
                                       max_length=plan.max_length, seed=seed, head_epochs=plan.head_epochs,
                                       **({"head_learning_rate": head_learning_rate} if plan.head_epochs > 0 else {}),
                                       warmup=trainer_arguments.warmup_applied(trainer.args),  # 0 if constant
                                       weight_decay=weight_decay,
                                       **({"split_seed": cleaning["split_seed"]} if cleaning else {}),  # if split here
                                       patience=plan.patience, best_epoch=best_epoch, **plan.reading,
                                       **({"trainer_settings": plan.given} if plan.given else {}))
        settings = {**settings, **(record or {})}
        with library_bars_off():
            save_model(trainer, result.model_dir, max_length=plan.max_length,
                       data={"text_column": settings.get("text_column") or "text",
                             "label_column": settings.get("label_column") or "label",
                             "encoding": settings.get("encoding") or "utf-8",
                             "merge_case": bool(settings.get("merge_case")),
                             "data_sha256": settings.get("data_sha256"),
                             # what it was fine-tuned from, so a run continued from this folder can say
                             "base_model": base_model_name(model_name), "base_model_id": hub_id(model_name)})
        save_splits(dataset, Path(output_dir) / "splits")
        write_run(output_dir, result, {name: len(part) for name, part in dataset.items()},
                  settings, base_model=base_model_name(model_name),
                  base_model_id=hub_id(model_name),
                  cleaning=cleaning and {k: v for k, v in cleaning.items() if k != "read_from"},  # in settings
                  warnings=result.warnings)
        if plan.push_to:
            from sft_teach.run_record import push_model

            push_model(result.model_dir, **plan.push_to)
    trainer.accelerator.wait_for_everyone()


def say(findings, frames_up: int = 3) -> None:
    """Each finding as a :class:`SftTeachWarning` at the line that called :func:`sft_teach.training.finetune`
    (``frames_up``: say <- finetune <- its wrapper <- the caller).

    In IPython (a notebook) the line is named as IPython's tracebacks name it, ``Cell In[5]:3``,
    not by the kernel's temporary file (``/tmp/ipykernel_8818/3944603312.py:3``), which means
    nothing to a reader and differs from run to run. Data-parallel (torchrun), process zero alone
    says them, as Trainer logs only there: every process finds the same.
    """
    import sys

    from sft_teach.environment import first_process

    if not first_process():
        return

    caller = sys._getframe(frames_up)
    where = caller.f_code.co_filename
    try:
        from IPython import get_ipython

        shell = get_ipython()
        cell = shell.compile.format_code_name(where) if shell is not None else None
    except (ImportError, AttributeError):  # no IPython, or one without the method
        cell = None
    for finding in findings:
        warnings.warn_explicit(str(finding), SftTeachWarning, " ".join(cell) if cell else where, caller.f_lineno,
                               module=caller.f_globals.get("__name__"),
                               registry=caller.f_globals.setdefault("__warningregistry__", {}))
