"""``TrainerCallback``s that *observe* training: they never change the model or the loop.

* :class:`HistoryCallback` keeps every logged value (loss, learning rate, eval metrics).
* :class:`LivePlotCallback` redraws one loss plot in a notebook as training goes.
* :class:`EventTrace` records which callback event fires when, to make the loop visible.

Taught in notebooks/02_technical_recipe.ipynb.
"""

from __future__ import annotations

from transformers import TrainerCallback


class HistoryCallback(TrainerCallback):
    """Collects ``Trainer`` logs as plain dicts.

    ``train``: ``{"step", "epoch", "loss", "learning_rate", "grad_norm"}`` every
    ``logging_steps``; ``eval``: ``{"step", "epoch", "eval_loss", "eval_accuracy", ...}``
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
        elif any(k.startswith("eval_") for k in logs):
            self.eval.append({**row, **{k: v for k, v in logs.items() if k.startswith("eval_")}})

    def as_dict(self) -> dict:
        return {"train": self.train, "eval": self.eval}


class LivePlotCallback(HistoryCallback):
    """A :class:`HistoryCallback` that redraws one loss plot in place (notebooks only)."""

    def __init__(self, every: int = 1):
        super().__init__()
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
    """Records ``(event, global_step)`` for every callback event the ``Trainer`` fires."""

    EVENTS = ("on_init_end", "on_train_begin", "on_epoch_begin", "on_step_begin", "on_optimizer_step",
              "on_step_end", "on_log", "on_evaluate", "on_save", "on_epoch_end", "on_train_end")

    def __init__(self):
        self.events: list[tuple[str, int]] = []
        for name in self.EVENTS:
            setattr(self, name, self._recorder(name))

    def _recorder(self, name):
        def record(args, state, control, **kwargs):
            self.events.append((name, state.global_step))
        return record


class NoPickledArguments(TrainerCallback):
    """Deletes ``training_args.bin`` from each checkpoint as soon as it is written.

    ``Trainer`` saves its arguments with ``torch.save``, a pickle, and never reads them
    back when resuming; a pickle can run code when loaded, so none is left lying around.
    Resuming needs only the safetensors weights and the optimizer, scheduler, RNG and
    trainer state, which ``Trainer`` loads with ``weights_only=True``.
    """

    def on_save(self, args, state, control, **kwargs):
        from pathlib import Path

        for pickled in Path(args.output_dir).glob("checkpoint-*/training_args.bin"):
            pickled.unlink()
