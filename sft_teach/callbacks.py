"""Every ``TrainerCallback`` of the course, each marked as observing or changing training.

Observe (they never change the model, the data or the loop):

* :class:`HistoryCallback` keeps every logged value (loss, learning rate, eval metrics);
* :class:`LivePlotCallback` redraws one loss plot in a notebook as training goes;
* :class:`EventTrace` records which callback event fires when, to make the loop visible;
* :class:`TrainingMemory` counts gradient and optimizer-state bytes at the first step
  (notebook 06);
* :class:`TrainingClock` counts the seconds of training, across an interruption and ``--resume``;
* :class:`TrainedOn` keeps the hash of the data in each checkpoint, so a resume on other data is refused;
* :class:`ProgressBar` shows one bar with the epoch, the loss and the validation score, where
  ``Trainer``'s own bar prints every log as a raw dict between its redraws
  (:func:`one_progress_bar` puts it in place of ``Trainer``'s).

Change training:

* :class:`GradualUnfreezing` freezes and thaws layer groups epoch by epoch (ULMFiT, notebook 04);
* :class:`SameShuffleOnEveryProcess` seeds the data order of data-parallel runs.

Taught in notebooks/02_technical_recipe.ipynb.
"""

from __future__ import annotations

import contextlib
import time

from transformers import PrinterCallback, ProgressCallback, TrainerCallback
from transformers.trainer_callback import ExportableState

from sft_teach.errors import ConfigError
from sft_teach.setting_checks import whole


class HistoryCallback(TrainerCallback):
    """Collects ``Trainer`` logs as plain dicts.

    ``train``: ``{"step", "epoch", "loss", "learning_rate", "grad_norm"}`` every
    ``logging_steps`` (a shorter run: one row, its mean loss at its last step); ``eval``: ``{"step", "epoch", "eval_loss", "eval_accuracy", ...}``
    after each evaluation.
    """

    def __init__(self):
        self.train: list[dict] = []
        self.eval: list[dict] = []

    def on_train_begin(self, args, state, control, **kwargs):
        # Resumed from a checkpoint: the logs before the interruption live in the restored state.
        if state.log_history and not (self.train or self.eval):
            for logs in state.log_history:
                self._add(logs.get("step", 0), logs.get("epoch", 0.0), logs)

    def on_log(self, args, state, control, logs=None, **kwargs):
        self._add(state.global_step, state.epoch, dict(logs or {}))

    def _add(self, step, epoch, logs):
        row = {"step": step, "epoch": round(epoch or 0.0, 4)}
        if "loss" in logs:
            self.train.append({**row, **{k: logs[k] for k in ("loss", "learning_rate", "grad_norm") if k in logs}})
        elif "train_loss" in logs and not self.train:
            # a run shorter than one logging interval logs no loss; its summary's mean loss over
            # every step is what a log at its last step would have said
            self.train.append({**row, "loss": logs["train_loss"]})
        elif any(k.startswith("eval_") for k in logs):
            self.eval.append({**row, **{k: v for k, v in logs.items() if k.startswith("eval_")}})

    def as_dict(self) -> dict:
        return {"train": self.train, "eval": self.eval}


class LivePlotCallback(HistoryCallback):
    """A :class:`HistoryCallback` that redraws one loss plot in place (notebooks only)."""

    def __init__(self, every: int = 1):
        super().__init__()
        if not whole(every, least=1):  # 0 divided by zero at the first log
            raise ConfigError(f"LivePlotCallback(every=) is how many logged losses between redraws, a whole number "
                              f"of at least 1, got {every!r}")
        self.every = every
        self._handle = None

    def on_train_begin(self, args, state, control, **kwargs):
        from IPython.display import display

        super().on_train_begin(args, state, control, **kwargs)
        self._handle = display(display_id=True)

    def on_log(self, args, state, control, logs=None, **kwargs):
        super().on_log(args, state, control, logs=logs, **kwargs)
        if self._handle is not None and len(self.train) % self.every == 0 and self.train:
            from sft_teach.plots import loss_curve

            self._handle.update(loss_curve(self.as_dict(), total_steps=state.max_steps))


class EventTrace(TrainerCallback):
    """Observes: records ``(event, global_step)`` for every callback event the ``Trainer`` fires.

    Every event is every ``on_*`` method of ``TrainerCallback`` in the installed transformers (16 in
    5.x, ``on_pre_optimizer_step`` and one ``on_prediction_step`` per evaluation batch among them),
    not a list kept here that a new version could outgrow."""

    EVENTS = tuple(sorted(name for name in dir(TrainerCallback) if name.startswith("on_")))

    def __init__(self):
        self.events: list[tuple[str, int]] = []
        for name in self.EVENTS:
            setattr(self, name, self._recorder(name))

    def _recorder(self, name):
        def record(args, state, control, **kwargs):
            self.events.append((name, state.global_step))
        return record


class TrainingMemory(TrainerCallback):
    """Observes: records gradient and optimizer-state bytes at the first optimizer step.

    At ``on_optimizer_step`` the gradients are still there and AdamW has just created its
    moments, so both are at their full size. ``self.memory``: ``{"weights", "gradients",
    "optimizer"}`` in bytes.
    """

    def __init__(self):
        self.memory: dict[str, int] = {}

    def on_optimizer_step(self, args, state, control, model=None, optimizer=None, **kwargs):
        from sft_teach.memory import optimizer_state_bytes, tensor_bytes

        if self.memory or model is None:
            return
        params = list(model.parameters())
        self.memory = {
            "weights": tensor_bytes(params),
            "gradients": tensor_bytes(p.grad for p in params),
            "optimizer": optimizer_state_bytes(optimizer) if optimizer is not None else 0,
        }


class TrainingClock(TrainerCallback, ExportableState):
    """Observes: the seconds a run has trained, counting those before an interruption.

    The clock starts when it is made. Each checkpoint stores the seconds so far in its
    ``trainer_state.json`` (an ``ExportableState``, saved with the rest of the state, so a
    complete checkpoint always has it), and ``Trainer`` resuming from that checkpoint with
    ``restore_callback_states_from_checkpoint`` makes a new clock that starts from them.
    Find that clock with :meth:`of`; ``seconds()`` is then the run's whole training time, not
    just the part after the resume.
    """

    def __init__(self):
        self.start = time.perf_counter()
        self.before = 0.0  # seconds trained before a resume; restored from the checkpoint

    def seconds(self) -> float:
        return self.before + time.perf_counter() - self.start

    def state(self) -> dict:
        return {"args": {}, "attributes": {"before": self.seconds()}}

    @classmethod
    def of(cls, trainer) -> "TrainingClock":
        """The trainer's clock: resuming replaces the one it was given with a restored one."""
        return next(cb for cb in trainer.callback_handler.callbacks if isinstance(cb, cls))


class TrainedOn(TrainerCallback, ExportableState):
    """Observes: what a run trains on, a hash of its splits' texts and labels
    (:func:`sft_teach.run_record.dataset_fingerprint`), stored in each checkpoint's
    ``trainer_state.json``, so that resuming from it with other data can be refused before any
    training (:meth:`saved_in`): the checkpoint's weights would go on learning from rows they were
    not split from, and the record would name data the model half never saw.
    """

    def __init__(self, data_sha256: str = ""):
        self.data_sha256 = data_sha256

    def state(self) -> dict:
        return {"args": {"data_sha256": self.data_sha256}, "attributes": {}}

    @classmethod
    def saved_in(cls, checkpoint) -> str | None:
        """The hash a checkpoint's run trained on, or ``None`` (a checkpoint made without this callback)."""
        import json
        from pathlib import Path

        state = json.loads((Path(checkpoint) / "trainer_state.json").read_text(encoding="utf-8"))
        saved = state.get("stateful_callbacks", {}).get(cls.__name__)
        saved = saved[0] if isinstance(saved, list) else saved  # Trainer lists several of one kind
        return (saved or {}).get("args", {}).get("data_sha256") or None


class GradualUnfreezing(TrainerCallback):
    """Changes training: unfreeze one more layer group from the top at the start of each epoch (ULMFiT Sec. 3.3).

    Epoch 1 trains the head only; epoch 2 also the top encoder layer; and so on, down to the
    embeddings; from then on every group trains, for as many epochs as the run has left (the
    paper's "until convergence at the last iteration"; :func:`sft_teach.ulmfit.epochs` gives a
    run its length). ``groups_per_epoch`` thaws faster than the paper. Every parameter must be trainable when ``Trainer`` builds its optimizer (so that
    the optimizer holds them all); this callback freezes the lower groups when training begins.
    A frozen parameter gets no gradient, so the optimizer leaves it untouched until it thaws.
    """

    def __init__(self, model, groups_per_epoch: int = 1):
        from sft_teach.models import layer_groups

        if not whole(groups_per_epoch, least=1):  # 0 thawed nothing: a run that trains no weight, in silence
            raise ConfigError(f"GradualUnfreezing: groups_per_epoch= is how many layer groups thaw each epoch, a whole "
                              f"number of at least 1, got {groups_per_epoch!r}: the paper's is 1")
        self.order = list(reversed(list(layer_groups(model))))  # head first, embeddings last
        self.groups = layer_groups(model)
        self.groups_per_epoch = groups_per_epoch
        self.epoch = 0
        self.timeline: list[list[str]] = []  # the trainable groups in each epoch

    def trainable(self, epoch: int) -> list[str]:
        """Names of the groups trained in ``epoch`` (0-based)."""
        return self.order[: min(len(self.order), (epoch + 1) * self.groups_per_epoch)]

    def _apply(self, epoch: int):
        names = set(self.trainable(epoch))
        for name, params in self.groups.items():
            for p in params:
                p.requires_grad = name in names
        self.timeline.append(self.trainable(epoch))

    def on_train_begin(self, args, state, control, **kwargs):
        self.epoch = 0
        self.timeline = []

    def on_epoch_begin(self, args, state, control, **kwargs):
        self._apply(self.epoch)
        self.epoch += 1

    def on_train_end(self, args, state, control, **kwargs):
        for params in self.groups.values():  # leave the model as it was found: all trainable
            for p in params:
                p.requires_grad = True


def _length_grouped_sampler(loader):
    """The ``LengthGroupedSampler`` inside a (possibly ``accelerate``-sharded) ``DataLoader``, or ``None``."""
    from transformers.trainer_pt_utils import LengthGroupedSampler

    todo, seen = [loader], set()
    while todo:  # DataLoaderShard -> BatchSamplerShard -> BatchSampler -> LengthGroupedSampler
        obj = todo.pop()
        if isinstance(obj, LengthGroupedSampler):
            return obj
        if obj is not None and id(obj) not in seen:
            seen.add(id(obj))
            todo += [getattr(obj, name, None) for name in ("batch_sampler", "sampler")]
    return None


class SameShuffleOnEveryProcess(TrainerCallback):
    """*Changes* the data order's source, not the order: every process shuffles the same way.

    Under ``torchrun`` each process draws its own share of one shared order of the data. That
    order comes from ``LengthGroupedSampler``, which shuffles with the global torch random
    generator; dropout draws different amounts of it on each process (their batches differ in
    length), so from the second epoch on the processes would shuffle differently and their
    shares would overlap: some notes trained on twice an epoch, others not at all. Seeding the
    sampler's own generator with ``data_seed + epoch`` at the start of each epoch keeps them in step.
    ``finetune`` adds it to data-parallel runs only; a single process keeps Trainer's own shuffle.
    """

    def on_epoch_begin(self, args, state, control, train_dataloader=None, **kwargs):
        import torch

        sampler = _length_grouped_sampler(train_dataloader)
        if sampler is not None:
            seed = args.seed if args.data_seed is None else args.data_seed
            sampler.generator = torch.Generator().manual_seed(seed + round(state.epoch or 0))


class ProgressBar(TrainerCallback):
    """Observes: one progress bar over the optimizer steps, with epoch, loss and validation macro-F1.

    Used by ``finetune(progress=True)`` and ``sft-teach finetune`` in place of ``Trainer``'s
    ``ProgressCallback``, which writes every logged dict (``{'loss': ..., 'grad_norm': ...}``) as
    a line of its own; on a few hundred steps that buries the bar.
    """

    def __init__(self, file=None, desc: str | None = None):
        self.file = file  # default: stderr, like every tqdm bar
        self.desc = desc  # which phase, when a run has two (the head alone, then all layers)
        self.bar = None
        self.shown: dict[str, str] = {}

    def on_train_begin(self, args, state, control, **kwargs):
        from tqdm.auto import tqdm

        if state.is_world_process_zero:
            self.bar = tqdm(total=state.max_steps, initial=state.global_step, unit="step", file=self.file,
                            dynamic_ncols=True, leave=True, desc=self.desc)

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.shown["epoch"] = f"{state.epoch:.2f}"
            self.bar.set_postfix(self.shown, refresh=False)
            self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.bar is None or not logs:
            return
        if "loss" in logs:
            self.shown["loss"] = f"{logs['loss']:.3f}"
        elif "train_loss" in logs and "loss" not in self.shown:  # a run shorter than one logging interval
            self.shown["loss"] = f"{logs['train_loss']:.3f}"
        if "eval_macro_f1" in logs:
            self.shown["val_macro_f1"] = f"{logs['eval_macro_f1']:.3f}"
        self.bar.set_postfix(self.shown)

    def on_train_end(self, args, state, control, **kwargs):
        self.close()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@contextlib.contextmanager
def progress_bars_closed(trainer):
    """Close ``trainer``'s progress bar however training ends. Ctrl-C or an error skips
    ``on_train_end``, and a bar left open is drawn once more when Python collects it: after the
    message that says what the interruption kept, as the last line on the terminal."""
    try:
        yield
    finally:
        for callback in trainer.callback_handler.callbacks:
            if isinstance(callback, ProgressBar):
                callback.close()


def one_progress_bar(trainer, progress: bool, desc: str | None = None) -> None:
    """The course's progress bar (labelled ``desc``), or silence: never ``Trainer``'s raw log lines.

    Used by :func:`sft_teach.training.finetune` and :func:`sft_teach.head_first.train_head`, one bar a phase.
    """
    trainer.remove_callback(ProgressCallback)  # its bar prints each log dict on a line of its own
    trainer.remove_callback(PrinterCallback)  # without a bar Trainer prints every log dict instead
    if progress:
        trainer.add_callback(ProgressBar(desc=desc))
