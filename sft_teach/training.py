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

:func:`finetune` reads as the order of a run's steps: its settings checked first, before any loading
(:mod:`sft_teach.finetune_plan`), then the data, the model, the head-only phase, the ``Trainer``,
the score and the saved folder (:mod:`sft_teach.finetune_steps`).

Taught in notebooks/02_technical_recipe.ipynb.
"""

from __future__ import annotations

import contextlib
import inspect
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from sft_teach import checkpoints, finetune_plan
from sft_teach import finetune_steps as steps
from sft_teach.errors import SftTeachWarning

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
    * ``cleaning``: for one CSV file, what was removed before the split (:func:`sft_teach.cleaning.clean`'s
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
    cleaning: dict | None = None  # one CSV file: what was removed before the split (see sft_teach.cleaning.clean)
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
    from sft_teach.environment import first_process
    from sft_teach.models import check_max_length
    from sft_teach.run_record import dataset_fingerprint

    plan = finetune_plan.check_arguments(
        model, data, tokenizer, training_overrides, inspect.signature(finetune).parameters,
        num_train_epochs=num_train_epochs, learning_rate=learning_rate, batch_size=batch_size, max_length=max_length,
        seed=seed, split_seed=split_seed, warmup=warmup, weight_decay=weight_decay, head_epochs=head_epochs,
        head_learning_rate=head_learning_rate, best_epoch=best_epoch, patience=patience, output_dir=output_dir,
        save=save, overwrite=overwrite, callbacks=callbacks, resume_from_checkpoint=resume_from_checkpoint)
    made = output_dir is not None and not Path(output_dir).exists()  # removed again if nothing is kept in it
    callbacks = list(callbacks or ())  # None (a wrapper's default) is none; a generator is read once
    dataset, cleaning, names = steps.read_data(data, split_seed, plan.reading, eval_split)
    trained_on = dataset_fingerprint(dataset)  # kept in each checkpoint: a resume on other data is refused
    if plan.resume is not None:
        checkpoints.check_resumable(Path(plan.resume), trained_on, names, output_dir if save else None, overwrite)
    model_name = model if isinstance(model, (str, Path)) else getattr(model, "name_or_path", "")  # for the record
    model, tokenizer, new_head = steps.model_for(model, tokenizer, names, seed)
    check_max_length(model, plan.max_length)
    if data_warnings is None:  # what `sft-teach check` would say: said now, not after minutes of training
        data_warnings = steps.data_findings(dataset, cleaning, model, tokenizer, plan)
        steps.say(data_warnings)
    steps.say(new_head)
    data_warnings = [*data_warnings, *new_head]  # after the command's own: it says those past its findings
    encoded = data_mod.tokenize(dataset, tokenizer, plan.max_length)
    history = HistoryCallback()
    # Without an output folder Trainer still needs one: a scratch folder, removed when the run ends
    scratch = steps.scratch_folder() if output_dir is None else contextlib.nullcontext(output_dir)
    with scratch as folder:
        run_dir = Path(folder)
        clock = TrainingClock()  # the head phase and all the layers; a resumed run adds the time before it
        head = steps.head_phase(model, encoded, tokenizer, run_dir, plan, head_learning_rate=head_learning_rate,
                                seed=seed, progress=progress, output_dir=output_dir)
        trainer, resumable = steps.build_trainer(model, tokenizer, encoded, run_dir, plan, seed=seed, warmup=warmup,
                                                 weight_decay=weight_decay, progress=progress, best_epoch=best_epoch,
                                                 history=history, clock=clock, callbacks=callbacks,
                                                 trained_on=trained_on, optimizers=optimizers, head=head)
        train_seconds = steps.train(trainer, run_dir, plan.resume, best_epoch, resumable)
        metrics, split_name, labels, predictions = steps.score(trainer, tokenizer, dataset, eval_split, plan,
                                                               history, head, train_seconds, best_epoch)
        history = history.as_dict()
        if head is not None:
            history["head"] = head["train"]  # the head-only phase's training log (its own step count)
        learned = steps.training_findings(predictions, labels, names, split_name, dataset)
        result = FinetuneResult(metrics=metrics, history=history, model_dir=None, trainer=trainer,
                                eval_split=split_name, label_names=names, predictions=predictions,
                                label_ids=labels, cleaning=cleaning, warnings=[*data_warnings, *learned])
        if save and output_dir is not None:
            steps.save_run(trainer, result, output_dir, dataset, cleaning, plan, model_name=model_name, data=data,
                           trained_on=trained_on, seed=seed, head_learning_rate=head_learning_rate,
                           weight_decay=weight_decay, best_epoch=best_epoch, record=record)
        if first_process():  # under torchrun, process zero alone tidies up
            (run_dir / "head.json").unlink(missing_ok=True)  # the run is complete: its results hold the head's log
    if made and not save and first_process():  # save=False wrote nothing there (unless checkpoints were asked for)
        with contextlib.suppress(OSError):
            Path(output_dir).rmdir()
    # Said as Python says such things, not only kept in result.warnings; last, once the run is
    # saved, so that simplefilter("error", SftTeachWarning) stops a script without losing the run.
    steps.say(learned)
    return result


def finetune_quietly(*args, **kwargs) -> FinetuneResult:
    """:func:`finetune` without its :class:`~sft_teach.errors.SftTeachWarning` lines, for runs
    compared in a table rather than looked at one by one (the course's sweeps, on samples made
    small on purpose) and for the command, which prints them its own way. What each run found
    stays in its ``result.warnings``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SftTeachWarning)
        return finetune(*args, **kwargs)
