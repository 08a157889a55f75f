"""The fine-tuning recipe: pretrained body + new head, trained by ``transformers.Trainer``.

Nothing here is specific to pets or to the bundled model: it takes any model name
(or model object), any ``DatasetDict`` with ``text``/``label``, and returns plain
results. The run's settings are :func:`sft_teach.trainer_arguments.training_arguments`'s
(warmup, evaluation every epoch, no checkpoints unless asked for: see that module); on top of them:

* dynamic padding (:func:`sft_teach.data.collator`), so little compute is spent on pad tokens;
* the final model saved once, as safetensors (:func:`sft_teach.model_folder.save_model`);
* optionally (``best_epoch``), the epoch with the best validation macro-F1 kept instead of
  the last one, and (``patience``) training stopped once validation has not improved for that
  many epochs: the last epoch is not always the best, and the test split must not choose;
* optionally (``head_epochs``), the new head trained alone first, body frozen, then everything:
  "linear probing, then fine-tuning" (LP-FT; Kumar et al. 2022; :mod:`sft_teach.head_first`), so
  that the first updates to the pretrained body are driven by a head that already points the right
  way, not by a random one.

Taught in notebooks/02_technical_recipe.ipynb.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sft_teach import checkpoints, head_first, setting_checks, trainer_arguments
from sft_teach.errors import ConfigError, SftTeachWarning
from sft_teach.model_folder import save_model

# The recipes of ``sft-teach finetune --recipe``, as keyword arguments of :func:`finetune`:
# ``finetune("default", "pets", **RECIPES["best"])`` is the command's default run.
# benchmarks/recipe_selection.md says how "best" was chosen (on validation); benchmarks/RESULTS.md
# ("Recipes of sft-teach finetune") measures both over five seeds on pets and clinic.
RECIPES = {
    # LP-FT: the new head alone for 3 epochs at 1e-3 (body frozen), then everything at 1e-4;
    # the epoch with the best validation macro-F1 is kept
    "best": {"head_epochs": 3.0, "num_train_epochs": 3, "learning_rate": 1e-4, "best_epoch": True},
    # notebook 02, section 5: everything from the first step, at the rate that notebook's validation
    # sweep chose on pets; the last epoch is kept
    "plain": {"head_epochs": 0.0, "num_train_epochs": 3, "learning_rate": 5e-4, "best_epoch": False},
}


def rate_text(value: float) -> str:
    """A learning rate as the code writes it: 0.0001 -> "1e-4", 0.00015 -> "1.5e-4"."""
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}" if value < 0.01 else f"{value:g}"


@dataclass
class FinetuneResult:
    """What :func:`finetune` returns.

    * ``metrics``: scores on ``eval_split`` (``accuracy``, ``macro_f1``, ``loss``: mean
      cross-entropy), ``train_seconds`` (the head-only phase included) and ``train_steps`` (of the
      phase that trains all the layers); with a head-only phase, ``head_steps``; with
      ``best_epoch``, ``best_epoch`` (the epoch kept) and ``epochs_run`` (fewer than planned when
      ``patience`` stopped the run); a resumed run, ``resumed_from_step``. Without ``best_epoch`` the
      last epoch is kept. The accuracy's 95 % interval is
      ``sft_teach.stats.wilson_interval(int((result.predictions == result.label_ids).sum()), len(result.label_ids))``
      (``metrics.json`` holds it as ``accuracy_interval_95``).
    * ``history``: every logged value, ``{"train": [...], "eval": [...]}``, one dict a row with its
      ``step`` and ``epoch``; ``history["eval"]`` is the validation curve (``eval_accuracy``,
      ``eval_macro_f1``, ``eval_loss`` after each epoch); with a head-only phase, also ``"head"``, that
      phase's training log (its own step count).
    * ``model_dir``: where the model was saved (``None`` without ``output_dir``, or with ``save=False``).
    * ``trainer``: the ``Trainer`` of the last phase, to predict or inspect.
    * ``eval_split``: the split scored (``"validation"`` when the data has no test split).
    * ``label_names``: the class names, in the order of the model's outputs.
    * ``predictions`` / ``label_ids``: predicted and true class ids on ``eval_split``, in its order.
    * ``cleaning``: for one CSV file, what was removed before the split (:func:`sft_teach.checks.clean`'s
      report: repeats, conflicting labels, merged case variants); ``None`` for other data.
    * ``warnings``: :class:`sft_teach.checks.Finding` objects (``kind``, ``message``; ``str()`` gives the
      message): the data's, as ``sft-teach check`` gives them, then what training showed (a class never
      predicted, one class for everything).
    """

    metrics: dict
    history: dict
    model_dir: Path | None
    trainer: object = field(repr=False)
    eval_split: str = "test"
    label_names: list = field(default_factory=list)
    predictions: object = field(default=None, repr=False)
    label_ids: object = field(default=None, repr=False)
    cleaning: dict | None = None  # one CSV file: what was removed before the split (see sft_teach.checks.clean)
    warnings: list = field(default_factory=list)  # the data's findings, then training's (sft_teach.checks.Finding)


def _no_library_bars_without_progress(function):
    """``progress=False`` means no bars at all: the libraries' loading and mapping bars go too."""
    import functools

    @functools.wraps(function)  # keeps the signature, which finetune passes to setting_checks.check_overrides
    def wrapper(*args, **kwargs):
        if kwargs.get("progress", True):
            return function(*args, **kwargs)
        from sft_teach.environment import library_bars_off

        with library_bars_off():
            return function(*args, **kwargs)

    return wrapper


@_no_library_bars_without_progress
def finetune(model="default", data="pets", *, tokenizer=None, num_train_epochs=3, learning_rate=1e-4,
             batch_size=16, max_length=128, seed=42, split_seed=42, warmup=0.1, weight_decay=0.01,
             output_dir=None, save=True, callbacks=(), eval_split="test", progress=True, resume_from_checkpoint=None,
             optimizers=None, head_epochs=0, head_learning_rate=1e-3, best_epoch=False, patience=None,
             overwrite=False, record=None, data_warnings=None, **training_overrides) -> FinetuneResult:
    """Fine-tune ``model`` on ``data`` and return metrics, history and the saved model folder.

    ``model``: a name for :func:`sft_teach.models.load_classifier` (``"default"``, a folder,
    a hub name) or an already built ``PreTrainedModel`` (then pass ``tokenizer``); one built with
    ``num_labels`` alone (classes ``LABEL_0``, ...) is given the data's class names.
    ``data``: a name for :func:`sft_teach.data.load` (a bundled dataset, a folder of splits, a CSV
    file, read with the keywords ``text_column``, ``label_column``, ``encoding``,
    ``keep_duplicates`` and ``merge_case`` of :func:`sft_teach.data.load` when given), a
    ``DatasetDict`` with ``text``/``label`` (its splits' classes are matched to train's by name:
    :func:`sft_teach.data.by_name`), or the ``(DatasetDict, report)`` pair of
    :func:`sft_teach.data.load_with_report`. One CSV file is cleaned and split with ``split_seed``
    (apart from ``seed``, which sets the head's initialisation and the data order, so both paths
    split a file the same way); ``result.cleaning`` says what cleaning removed.
    The model is saved (safetensors + tokenizer with ``max_length`` + label names) to
    ``output_dir/model``, and the data as it was split to ``output_dir/splits``.
    ``optimizers``: ``None`` for ``Trainer``'s AdamW with a linear schedule, or a function
    ``(model, total_steps) -> (optimizer, scheduler)`` (ULMFiT's techniques, notebook 04).
    ``head_epochs``: first train the head alone for this many epochs at ``head_learning_rate``
    (:func:`sft_teach.head_first.train_head`; LP-FT, notebook 02 section 8), then everything as above.
    A run resumed from a checkpoint skips that phase: the checkpoint already holds its result, and the phase's
    log comes from ``output_dir/head.json`` (written when it ended, removed when the run completes).
    ``push_to_hub=True, hub_model_id="owner/name"``: upload ``output_dir/model`` (with its card)
    when the run is saved; offline, refused before training.
    ``resume_from_checkpoint``: a checkpoint folder, or ``True`` for the newest complete one in
    ``output_dir/checkpoints`` (a run keeps one per epoch with ``save_checkpoints=True``).
    A resumed run's ``metrics["resumed_from_step"]`` says where it went on; its ``train_seconds``
    add the training time before the interruption (stored in the checkpoint) to the time after.
    ``best_epoch``: keep the epoch whose validation macro-F1 is highest (``metrics["best_epoch"]``
    says which, as Trainer counts it: part-way into an epoch when the best is the last evaluation of
    ``num_train_epochs=2.4``, 2.4 or a little more, since Trainer rounds the steps up); ``patience``:
    with ``best_epoch``, stop after that many epochs without a better validation macro-F1 (early
    stopping). The taught recipe (both off) keeps the last epoch.
    ``progress=False`` shows no bars at all: neither training's nor the libraries' loading and
    mapping bars (left as they were afterwards).
    ``callbacks``: a list of ``TrainerCallback`` objects added to the run's own (:mod:`sft_teach.callbacks`), e.g.
    a live plot. ``save=False``: nothing is written but the checkpoints asked for
    (``save_checkpoints=True``, in ``output_dir/checkpoints``, for resuming); ``result.model_dir`` is then
    ``None``. Without ``output_dir`` nothing is kept on disk: the run works in a temporary folder,
    removed when it ends, also on an error or an interrupt (``result.trainer.model`` is the model).

    With ``output_dir``, the folder is the one ``sft-teach finetune`` writes: ``model/`` (with its
    card, ``README.md``), ``splits/``, ``metrics.json``, ``loss.png`` and ``confusion.png``
    (:func:`sft_teach.run_record.write_run`). A folder that already holds a run is refused unless
    ``overwrite=True``, which replaces that run's files: ``model/`` and ``splits/`` whole (anything
    added inside them goes too), ``metrics.json`` and the plots; other files in the folder stay. The record
    names the data by its file and the file's SHA-256 (or, for a dataset object, a hash of its
    texts and labels); ``record``: settings to record over finetune's own (the command passes its
    recipe's name). The data is checked as :func:`sft_teach.checks.check` checks it, before
    training, unless ``data_warnings`` gives what was found (the command's, printed already). ``result.warnings`` (and the record's): the data's,
    then what training showed (a class the model never predicts, one class for everything). Each
    one finetune found itself is also raised as a :class:`~sft_teach.errors.SftTeachWarning`
    (``warnings.warn``): the data's before training, training's at the end.

    The defaults (3 epochs at 1e-4 after warmup, no head-only phase, the last epoch kept) are the
    settings notebook 01 fine-tunes with; ``sft-teach finetune`` runs ``**RECIPES["best"]``, and
    ``**RECIPES["plain"]`` is notebook 02's recipe. ``eval_split``: the split scored at the end
    (``"validation"`` when the data has no test split; never ``"train"``, whose score measures memory); the result's ``cleaning`` says what
    cleaning removed from one CSV file.
    Unknown keywords go to ``TrainingArguments``; one it does not know either is a
    :class:`ConfigError` naming the setting it probably meant (``epochs=``: ``num_train_epochs=``).
    """
    from sft_teach import data as data_mod
    from sft_teach.callbacks import HistoryCallback, TrainingClock
    from sft_teach.models import check_max_length
    from sft_teach.run_record import dataset_fingerprint

    plan = _check_arguments(model, data, tokenizer, training_overrides, num_train_epochs=num_train_epochs,
                            learning_rate=learning_rate, batch_size=batch_size, max_length=max_length, seed=seed,
                            split_seed=split_seed, warmup=warmup, weight_decay=weight_decay, head_epochs=head_epochs,
                            head_learning_rate=head_learning_rate, best_epoch=best_epoch, patience=patience,
                            output_dir=output_dir, save=save, overwrite=overwrite, callbacks=callbacks,
                            resume_from_checkpoint=resume_from_checkpoint)
    made = output_dir is not None and not Path(output_dir).exists()  # removed again if nothing is kept in it
    callbacks = list(callbacks or ())  # None (a wrapper's default) is none; a generator is read once
    dataset, cleaning, names = _read_data(data, split_seed, plan.reading, eval_split)
    trained_on = dataset_fingerprint(dataset)  # kept in each checkpoint: a resume on other data is refused
    if plan.resume is not None:
        checkpoints.check_resumable(Path(plan.resume), trained_on, names, output_dir if save else None, overwrite)
    model_name = model if isinstance(model, (str, Path)) else getattr(model, "name_or_path", "")  # for the record
    model, tokenizer, new_head = _model_for(model, tokenizer, names, seed)
    check_max_length(model, plan.max_length)
    if data_warnings is None:  # what `sft-teach check` would say: said now, not after minutes of training
        data_warnings = _data_findings(dataset, cleaning, model, tokenizer, plan)
        _say(data_warnings)
    _say(new_head)
    data_warnings = [*data_warnings, *new_head]  # after the command's own: it says those past its findings
    encoded = data_mod.tokenize(dataset, tokenizer, plan.max_length)
    history = HistoryCallback()
    # Without an output folder Trainer still needs one: a scratch folder, removed when the run ends,
    # also on an error or an interrupt (it can hold checkpoints of hundreds of MB by then).
    if output_dir is None:
        scratch = tempfile.TemporaryDirectory(prefix="sft-teach-", ignore_cleanup_errors=True)
    else:
        scratch = contextlib.nullcontext(output_dir)
    with scratch as folder:
        run_dir = Path(folder)
        clock = TrainingClock()  # the head phase and all the layers; a resumed run adds the time before it
        head = _head_phase(model, encoded, tokenizer, run_dir, plan, head_learning_rate=head_learning_rate,
                           seed=seed, progress=progress, output_dir=output_dir)
        trainer, resumable = _build_trainer(model, tokenizer, encoded, run_dir, plan, seed=seed, warmup=warmup,
                                            weight_decay=weight_decay, progress=progress, best_epoch=best_epoch,
                                            history=history, clock=clock, callbacks=callbacks,
                                            trained_on=trained_on, optimizers=optimizers, head=head)
        train_seconds = _train(trainer, run_dir, plan.resume, best_epoch, resumable)
        metrics, split_name, labels, predictions = _score(trainer, tokenizer, dataset, eval_split, plan, history,
                                                          head, train_seconds, best_epoch)
        history = history.as_dict()
        if head is not None:
            history["head"] = head["train"]  # the head-only phase's training log (its own step count)
        learned = _training_findings(predictions, labels, names, split_name, dataset)
        result = FinetuneResult(metrics=metrics, history=history, model_dir=None, trainer=trainer,
                                eval_split=split_name, label_names=names, predictions=predictions,
                                label_ids=labels, cleaning=cleaning, warnings=[*data_warnings, *learned])
        if save and output_dir is not None:
            _save_run(trainer, result, output_dir, dataset, cleaning, plan, model_name=model_name, data=data,
                      trained_on=trained_on, seed=seed, head_learning_rate=head_learning_rate,
                      weight_decay=weight_decay, best_epoch=best_epoch, record=record)
        (run_dir / "head.json").unlink(missing_ok=True)  # the run is complete: its results hold the head's log
    if made and not save:  # save=False wrote nothing there (unless checkpoints were asked for): no empty folder left
        with contextlib.suppress(OSError):
            Path(output_dir).rmdir()
    # Said as Python says such things, not only kept in result.warnings; last, once the run is
    # saved, so that simplefilter("error", SftTeachWarning) stops a script without losing the run.
    _say(learned)
    return result


@dataclass(frozen=True)
class _Plan:
    """:func:`finetune`'s settings once :func:`_check_arguments` has checked them: what the steps
    after it read, none of it changed afterwards."""
    epochs: float
    lr: float
    batch_size: int
    max_length: int
    head_epochs: float
    patience: int | None
    reading: dict  # the keywords that read a CSV file (text_column=, encoding=, ...)
    push_to: dict | None  # the keywords of run_record.push_model when the model is uploaded, else None
    given: dict  # the TrainingArguments the caller set, for the record
    resume: str | None  # the checkpoint to resume from
    overrides: dict  # the keywords left for TrainingArguments: no data options, no hub_* settings


def _check_arguments(model, data, tokenizer, training_overrides, *, num_train_epochs, learning_rate, batch_size,
                     max_length, seed, split_seed, warmup, weight_decay, head_epochs, head_learning_rate, best_epoch,
                     patience, output_dir, save, overwrite, callbacks, resume_from_checkpoint) -> _Plan:
    """Every setting of :func:`finetune` checked before any loading, as a :class:`_Plan`: a mistake is
    one line at once, not after minutes of loading and training."""
    import inspect

    from sft_teach import run_record

    epochs, lr, batch_size, max_length = setting_checks.check_settings(
        num_train_epochs, learning_rate, batch_size, max_length, warmup, weight_decay)
    head_epochs = setting_checks.check_head_epochs(head_epochs)
    for name, value in (("seed", seed), ("split_seed", split_seed)):  # numpy's TypeError otherwise, deep inside
        if not setting_checks.whole(value, least=0):
            raise ConfigError(f"{name}= must be a whole number of at least 0, got {value!r}: e.g. 42")
    setting_checks.check_settings(1, head_learning_rate, batch_size, max_length)  # the head phase's rate, by the same rule
    if patience is not None and not best_epoch:
        raise ConfigError("patience (early stopping) needs best_epoch=True: the stopped run keeps its best epoch")
    patience = None if patience is None else setting_checks.check_patience(patience)  # before any loading, not after
    if callbacks is not None and (isinstance(callbacks, type) or not hasattr(callbacks, "__iter__")):
        # one callback alone: a TypeError after minutes of loading otherwise
        one = callbacks if isinstance(callbacks, type) else type(callbacks)
        raise ConfigError(f"callbacks= takes a list, got {one.__name__}{'' if isinstance(callbacks, type) else ' object'}: "
                          f"callbacks=[{one.__name__}{'' if isinstance(callbacks, type) else '()'}]")
    if tokenizer is not None and isinstance(model, (str, Path)):  # it would be replaced without a word
        raise ConfigError("tokenizer= goes with a model object; a model name or folder loads its own tokenizer: "
                          "drop tokenizer=")
    if not isinstance(model, (str, Path)):  # a (model, tokenizer) pair, say: said before any loading
        from sft_teach.models import check_model, check_tokenizer

        check_model(model, "finetune")
        if tokenizer is None:
            raise ConfigError("finetune: pass tokenizer= together with a model object: model, tokenizer = "
                              "load_classifier(...), then finetune(model, data, tokenizer=tokenizer)")
        check_tokenizer(tokenizer, "finetune")
    reading = {k: training_overrides[k] for k in setting_checks.DATA_OPTIONS if k in training_overrides}
    overrides = {k: v for k, v in training_overrides.items() if k not in reading}
    setting_checks.check_overrides(overrides, inspect.signature(finetune).parameters)
    push_to, overrides = setting_checks.hub_repository(overrides, output_dir if save else None)  # before any training
    # TrainingArguments the caller set, for the record: lr_scheduler_type="constant" changes the
    # run as much as the learning rate does (not the bookkeeping of checkpoints, nor accumulation,
    # which is recorded as grad_accum; the Hub's settings, a token among them, were taken out above).
    # A value JSON cannot hold is recorded as its repr, never a crash after training.
    given = {k: setting_checks.as_json(v) for k, v in overrides.items()
             if k not in ("save_checkpoints", "save_total_limit", "save_only_model", "gradient_accumulation_steps")}
    if reading and not isinstance(data, (str, Path)):
        raise ConfigError(f"{', '.join(f'{k}=' for k in reading)} read a CSV file: pass the file's path as data, "
                          f"or load it with sft_teach.data.load_with_report(path, ...) and pass what it returns")
    resume = checkpoints.checkpoint_to_resume(resume_from_checkpoint, output_dir)  # before any training
    if save and output_dir is not None and resume is None:
        run_record.check_output_dir(Path(output_dir), overwrite)
    return _Plan(epochs=epochs, lr=lr, batch_size=batch_size, max_length=max_length, head_epochs=head_epochs,
                 patience=patience, reading=reading, push_to=push_to, given=given, resume=resume, overrides=overrides)


def _read_data(data, split_seed, reading, eval_split):
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


def _model_for(model, tokenizer, names, seed):
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
    else:  # its tokenizer was checked with the settings (_check_arguments)
        setting_checks.name_the_classes(model, names)
    return model, tokenizer, [Finding("new_head", str(w.message)) for w in said if issubclass(w.category, SftTeachWarning)]


def _data_findings(dataset, cleaning, model, tokenizer, plan: _Plan) -> list:
    """What ``sft-teach check`` would say of the data, and of what cleaning removed from it; then
    whether the batch is larger than the training split (what ``sft-teach finetune`` adds)."""
    from sft_teach import checks

    too_big = checks.batch_over_train(len(dataset["train"]), plan.batch_size,
                                      plan.overrides.get("gradient_accumulation_steps", 1))
    return (checks.check(dataset, tokenizer, plan.max_length,
                         positions=getattr(model.config, "max_position_embeddings", None))
            + checks.cleaning_findings(cleaning) + ([too_big] if too_big else []))


def _head_phase(model, encoded, tokenizer, run_dir: Path, plan: _Plan, *, head_learning_rate, seed, progress,
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
        shutil.rmtree(run_dir / "head", ignore_errors=True)  # Trainer's working folder for that phase: empty
        if output_dir is not None:  # written whole, then renamed: a kill never leaves half a record
            partial = head_record.with_name(f"head.{os.getpid()}.json")
            partial.write_text(json.dumps(head))
            os.replace(partial, head_record)
    elif plan.head_epochs > 0 and head_record.is_file():  # resumed: the head phase ran before the interruption
        head = json.loads(head_record.read_text())
    return head


def _build_trainer(model, tokenizer, encoded, run_dir: Path, plan: _Plan, *, seed, warmup, weight_decay, progress,
                   best_epoch, history, clock, callbacks, trained_on, optimizers, head):
    """``(trainer, resumable)``: the ``Trainer`` of the main phase (all the layers), and whether its
    checkpoints are kept for resuming (with ``best_epoch``, they are otherwise removed after training).
    ``history`` and ``clock`` observe it; ``callbacks`` are the caller's."""
    from transformers import Trainer

    from sft_teach import data as data_mod
    from sft_teach.callbacks import SameShuffleOnEveryProcess, TrainedOn, one_progress_bar
    from sft_teach.metrics import compute_metrics

    training_overrides = plan.overrides
    resumable = training_overrides.get("save_checkpoints", False)  # resuming needs the optimizer too
    if best_epoch:
        # Trainer evaluates after every epoch, saves the weights (only) at each, keeps the best by
        # validation macro-F1 and the latest, and loads the best at the end.
        training_overrides = {"save_checkpoints": True, "save_only_model": not resumable, "save_total_limit": 1,
                              **training_overrides, "load_best_model_at_end": True,
                              "metric_for_best_model": "macro_f1", "greater_is_better": True}
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


def _train(trainer, run_dir: Path, resume, best_epoch, resumable) -> float:
    """Train (from the checkpoint ``resume``, if given); the seconds trained, with those before an
    interruption."""
    from sft_teach.callbacks import TrainingClock
    from sft_teach.environment import library_bars_off

    with library_bars_off():  # saving a checkpoint draws a "Writing model shards" bar between ours
        trainer.train(resume_from_checkpoint=resume)
    train_seconds = TrainingClock.of(trainer).seconds()  # resumed: the restored clock, with the time before
    if best_epoch and not resumable:  # the best weights are loaded; their checkpoints served their purpose
        checkpoints.remove(run_dir / "checkpoints")
    # Trainer's working folder, left empty when nothing was saved: rmdir removes it only if empty, and
    # under torchrun another process may already have removed it
    with contextlib.suppress(OSError):
        (run_dir / "checkpoints").rmdir()
    return train_seconds


def _score(trainer, tokenizer, dataset, eval_split, plan: _Plan, history, head, train_seconds, best_epoch):
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


def _training_findings(predictions, labels, names, split_name, dataset) -> list:
    """What training showed: one class predicted for everything, or classes never predicted."""
    from sft_teach import checks
    from sft_teach.splits import column

    return [found for found in (checks.one_class_predicted(predictions, labels, names, split_name),
                                checks.classes_never_predicted(predictions, labels, names, split_name,
                                                               train_labels=column(dataset["train"], "label")))
            if found]


def _save_run(trainer, result, output_dir, dataset, cleaning, plan: _Plan, *, model_name, data, trained_on, seed,
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
                             "data_sha256": settings.get("data_sha256")})
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


def _say(findings, frames_up: int = 3) -> None:
    """Each finding as a :class:`SftTeachWarning` at the line that called :func:`finetune`
    (``frames_up``: _say <- finetune <- its wrapper <- the caller).

    In IPython (a notebook) the line is named as IPython's tracebacks name it, ``Cell In[5]:3``,
    not by the kernel's temporary file (``/tmp/ipykernel_8818/3944603312.py:3``), which means
    nothing to a reader and differs from run to run.
    """
    import sys

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


def finetune_quietly(*args, **kwargs) -> FinetuneResult:
    """:func:`finetune` without its :class:`~sft_teach.errors.SftTeachWarning` lines, for runs
    compared in a table rather than looked at one by one (the course's sweeps, on samples made
    small on purpose) and for the command, which prints them its own way. What each run found
    stays in its ``result.warnings``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SftTeachWarning)
        return finetune(*args, **kwargs)
