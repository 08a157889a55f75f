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

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = dict(logs or {})
        row = {"step": state.global_step, "epoch": round(state.epoch or 0.0, 4)}
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
