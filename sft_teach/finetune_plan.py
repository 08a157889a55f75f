"""The settings of one :func:`sft_teach.training.finetune` run, every one checked before any loading.

:func:`check_arguments` turns finetune's keywords into a :class:`Plan`, or refuses them in one line
(:class:`~sft_teach.errors.ConfigError`) before a model or a file is read: a mistake costs a second,
not minutes of loading and training. The steps of the run (:mod:`sft_teach.finetune_steps`) read the
plan and never change it.

Taught in notebooks/02_technical_recipe.ipynb (with :func:`sft_teach.training.finetune`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sft_teach import checkpoints, setting_checks
from sft_teach.errors import ConfigError


@dataclass(frozen=True)
class Plan:
    """:func:`sft_teach.training.finetune`'s settings once :func:`check_arguments` has checked them: what the steps
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


def check_arguments(model, data, tokenizer, training_overrides, parameters, *, num_train_epochs, learning_rate, batch_size,
                     max_length, seed, split_seed, warmup, weight_decay, head_epochs, head_learning_rate, best_epoch,
                     patience, output_dir, save, overwrite, callbacks, resume_from_checkpoint) -> Plan:
    """Every setting of :func:`sft_teach.training.finetune` checked before any loading, as a :class:`Plan`:
    a mistake is one line at once, not after minutes of loading and training. ``parameters``: finetune's
    own (its signature's), so that a keyword meant for it is not passed on to ``TrainingArguments``."""
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
    setting_checks.check_overrides(overrides, parameters)
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
    accumulate = overrides.get("gradient_accumulation_steps", 1)
    if not setting_checks.whole(accumulate, least=1):  # a ZeroDivisionError inside Trainer otherwise
        raise ConfigError(f"gradient_accumulation_steps= must be a whole number of at least 1, got {accumulate!r}: "
                          f"e.g. 4 (1: no accumulation)")
    resume = checkpoints.checkpoint_to_resume(resume_from_checkpoint, output_dir)  # before any training
    if save and output_dir is not None and resume is None:
        run_record.check_output_dir(Path(output_dir), overwrite)
    _settings_accepted(main_phase(overrides, best_epoch)[0], best_epoch, num_train_epochs=epochs, learning_rate=lr,
                       batch_size=batch_size, seed=seed, warmup=warmup, weight_decay=weight_decay)
    return Plan(epochs=epochs, lr=lr, batch_size=batch_size, max_length=max_length, head_epochs=head_epochs,
                 patience=patience, reading=reading, push_to=push_to, given=given, resume=resume, overrides=overrides)


def main_phase(overrides: dict, best_epoch: bool) -> tuple[dict, bool]:
    """``(settings, resumable)``: the ``TrainingArguments`` keywords of the main phase (all the layers) on
    top of the course's, and whether its checkpoints are kept for resuming (with ``best_epoch``, they
    are otherwise removed after training). With ``best_epoch``, Trainer evaluates after every epoch,
    saves the weights (only) at each, keeps the best by validation macro-F1 and the latest, and loads
    the best at the end."""
    resumable = overrides.get("save_checkpoints", False)  # resuming needs the optimizer too
    if not best_epoch:
        return overrides, resumable
    return {"save_checkpoints": True, "save_only_model": not resumable, "save_total_limit": 1, **overrides,
            "load_best_model_at_end": True, "metric_for_best_model": "macro_f1", "greater_is_better": True}, resumable


def _settings_accepted(settings: dict, best_epoch: bool, **recipe) -> None:
    """``TrainingArguments`` built once from ``settings``, and thrown away, before any loading: what it
    refuses (bf16 on a CPU without use_cpu=True, an optimiser or schedule it does not know, logging every
    0 steps), and a reporting tool that does not exist or is not installed, are one line now, not a
    traceback once the model has loaded."""
    import tempfile

    from sft_teach import trainer_arguments

    # Trainer's own message would name the settings finetune set, not the caller's
    timing = sorted(k for k in ("eval_strategy", "save_strategy")
                    if k in settings and str(getattr(settings[k], "value", settings[k])) != "epoch")
    if best_epoch and timing:
        raise ConfigError(f"{', '.join(f'{k}={settings[k]!r}' for k in timing)}: best_epoch=True evaluates and saves "
                          f"after every epoch, to keep the best one: drop {'it' if len(timing) == 1 else 'them'}, or "
                          f"pass best_epoch=False")
    try:  # the folder is only named: TrainingArguments creates nothing
        args = trainer_arguments.training_arguments(Path(tempfile.gettempdir()) / "sft-teach-settings", **recipe,
                                                    **settings)
    except (ValueError, TypeError) as exc:
        said = " ".join(str(exc).split())
        raise ConfigError(f"finetune: TrainingArguments refuses these settings: {said}") from None
    # every N steps means something only when the strategy is "steps"; the run's own are per epoch
    for steps, strategy in (("eval_steps", "eval_strategy"), ("save_steps", "save_strategy")):
        if settings.get(steps) is not None and str(getattr(getattr(args, strategy), "value", "")) != "steps":
            instead = f"best_epoch=False and {strategy}='steps'" if best_epoch else f"{strategy}='steps'"
            raise ConfigError(f"{steps}={settings[steps]!r} does nothing: this run's {strategy} is "
                              f"{getattr(args, strategy).value!r}: drop it, or pass {instead}")
    from transformers.integrations.integration_utils import (INTEGRATION_TO_CALLBACK,
                                                             get_available_reporting_integrations)

    unknown = [name for name in args.report_to if name not in INTEGRATION_TO_CALLBACK]
    if unknown:
        raise ConfigError(f"report_to={unknown[0]!r}: transformers has no such reporting integration: one of "
                          f"{', '.join(INTEGRATION_TO_CALLBACK)}, or 'none'")
    # transformers' list of those installed never names flyte, and leaves azure_ml out beside mlflow:
    # their absence there says nothing, and Trainer says it if they are missing
    listed = set(INTEGRATION_TO_CALLBACK) - {"flyte", "azure_ml"}
    missing = [name for name in args.report_to if name in listed and name not in get_available_reporting_integrations()]
    if missing:
        raise ConfigError(f"report_to={missing[0]!r}: that reporting library is not installed: pip install "
                          f"{missing[0]}, or drop report_to= (the run's record and model card are written all the same)")
