"""The one builder of a run's settings: what every ``Trainer`` of the course shares, and the
classifier recipe's ``TrainingArguments`` on top of them.

Defaults are chosen for small labelled sets on a CPU:

* a small peak learning rate with linear warmup over the first 10 % of the *real*
  number of steps (a fixed ``warmup_steps=500`` would never finish warming up on
  a few hundred examples), then linear decay: early large updates would wreck the
  pretrained weights before the new head has learned anything;
* evaluation on the validation split after every epoch, to see over-fitting;
* no checkpoints written during training (they cost seconds and disk on every save)
  unless asked for;
* length-grouped batches, so that with dynamic padding little compute is spent on pad tokens.

Taught in notebooks/02_technical_recipe.ipynb.
"""

from __future__ import annotations


def shared_settings(output_dir, *, num_train_epochs, learning_rate, batch_size, seed, warmup, weight_decay,
                    logging_steps=5, progress=False, **overrides) -> dict:
    """The settings every training run of the course shares, as keyword arguments.

    They suit ``TrainingArguments`` and trl's ``SFTConfig`` (its subclass) alike. Every run
    is built from them: :func:`training_arguments` (the classifier recipe), ``ulmfit``'s LM
    fine-tuning, ``tiny_lm``'s pretraining and ``instruct``'s SFT add only what is theirs.
    Nothing is reported or saved (no TensorBoard, no checkpoints unless a caller asks), the
    loss is logged every ``logging_steps`` steps, and a progress bar shows only on request.
    ``overrides`` replace any of these settings or add others.

    Taught in notebooks/02_technical_recipe.ipynb.
    """
    import torch

    settings = dict(
        output_dir=str(output_dir),
        num_train_epochs=num_train_epochs,
        learning_rate=learning_rate,
        per_device_train_batch_size=batch_size,
        warmup_steps=warmup,  # a float in [0, 1) is a fraction of the real number of steps
        weight_decay=weight_decay,
        logging_strategy="steps",
        logging_steps=logging_steps,
        eval_strategy="no",
        save_strategy="no",
        seed=seed,
        data_seed=seed,
        report_to="none",
        disable_tqdm=not progress,
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),  # pinned memory only speeds up copies to a GPU
    )
    settings.update(overrides)
    return settings


def training_arguments(output_dir, *, num_train_epochs=3, learning_rate=1e-4, batch_size=16, seed=42,
                       warmup=0.1, weight_decay=0.01, logging_steps=5, save_checkpoints=False,
                       progress=True, **overrides):
    """``TrainingArguments`` with the course's defaults for small data (see module docstring).

    Taught in notebooks/02_technical_recipe.ipynb.
    """
    import torch
    from transformers import TrainingArguments

    from sft_teach.environment import processes

    settings = shared_settings(output_dir, num_train_epochs=num_train_epochs, learning_rate=learning_rate,
                               batch_size=batch_size, seed=seed, warmup=warmup, weight_decay=weight_decay,
                               logging_steps=logging_steps, progress=progress)
    settings.update(
        per_device_eval_batch_size=max(64, batch_size),  # no gradients: bigger batches are cheap
        lr_scheduler_type="linear",
        eval_strategy="epoch",
        save_strategy="epoch" if save_checkpoints else "no",
        train_sampling_strategy="group_by_length",  # similar lengths per batch: less padding
        # a resumed run goes on with its callbacks' state from the checkpoint: early stopping's count
        # of epochs without improvement, the training clock; otherwise both would start again at 0
        restore_callback_states_from_checkpoint=True,
    )
    if processes() > 1 and not torch.cuda.is_available():
        # Launched by torchrun on a machine without a GPU: Trainer runs data-parallel on CPUs (gloo)
        # only when told to use the CPU; otherwise every process would train alone on all the data.
        # A single process never gets here, so its arguments (and results) are unchanged.
        settings.update(use_cpu=True, ddp_backend="gloo")
    settings.update(overrides)
    return TrainingArguments(**settings)


# Schedules that take no warmup: transformers' get_scheduler gives them none, so warmup= changes nothing.
WITHOUT_WARMUP = ("constant", "reduce_lr_on_plateau", "greedy")


def warmup_applied(args) -> float:
    """The warmup a run of these ``TrainingArguments`` had: their fraction, or 0 under a schedule
    that takes none (``lr_scheduler_type="constant"``), so that a record never says 0.1 of a run
    that never warmed up."""
    schedule = getattr(args.lr_scheduler_type, "value", args.lr_scheduler_type)  # an enum or its string
    return 0.0 if schedule in WITHOUT_WARMUP else args.warmup_steps
