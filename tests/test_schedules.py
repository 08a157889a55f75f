"""Oracle tests: each technique against values computed by hand from Howard & Ruder (2018)."""

import math

import numpy as np
import pytest
import torch

from sft_teach import data
from sft_teach.callbacks import GradualUnfreezing
from sft_teach.schedules import (discriminative_param_groups, lr_find, slanted_triangular,
                                 stlr_scheduler)


@pytest.mark.parametrize(
    "step, expected",
    [
        # T = 100, cut_frac = 0.1, ratio = 32 -> cut = 10
        (0, 1 / 32),                        # p = 0
        (5, (1 + 0.5 * 31) / 32),           # p = 5/10
        (10, 1.0),                          # p = 1: the peak
        (55, (1 + 0.5 * 31) / 32),          # p = 1 - 45 / (10 * 9) = 0.5
        (82, (1 + 0.2 * 31) / 32),          # p = 1 - 72 / 90 = 0.2
        (100, 1 / 32),                      # p = 0 at t = T
    ],
)
def test_slanted_triangular_matches_eq_3_by_hand(step, expected):
    assert slanted_triangular(step, 100) == pytest.approx(expected, abs=1e-12)


def test_slanted_triangular_other_constants():
    # T = 50, cut_frac = 0.2, ratio = 10: cut = 10; t = 30 -> p = 1 - 20 / (10 * 4) = 0.5
    assert slanted_triangular(30, 50, cut_frac=0.2, ratio=10) == pytest.approx((1 + 0.5 * 9) / 10)
    for bad in ({"total_steps": 0}, {"total_steps": 10, "ratio": 0.5}, {"total_steps": 10, "cut_frac": 1.0}):
        with pytest.raises(ValueError, match="slanted_triangular needs"):
            slanted_triangular(0, **bad)
    with pytest.raises(ValueError, match="step >= 0.*got step=-1"):  # else a rate below the floor, even below 0
        slanted_triangular(-1, 10)


def test_slanted_triangular_on_a_short_run():
    # T = 15: cut = floor(1.5) = 1, so the peak is at step 1; the fall ends at 1/ratio and stays there
    # (p would go below 0 from step 11 on: 1 - 10 / (1 * 9))
    values = [slanted_triangular(step, 15) for step in range(16)]
    assert values[0] == pytest.approx(1 / 32) and values[1] == 1.0
    assert values[10] == pytest.approx((1 + (1 - 9 / 9) * 31) / 32) and min(values) == pytest.approx(1 / 32)


def test_stlr_scheduler_drives_an_optimizer():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.01)
    scheduler = stlr_scheduler(optimizer, total_steps=100)
    seen = []
    for _ in range(101):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert seen[10] == pytest.approx(0.01) and seen[0] == pytest.approx(0.01 / 32)
    assert max(range(101), key=seen.__getitem__) == 10
    # its own cut_frac and ratio reach the schedule
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.01)
    scheduler = stlr_scheduler(optimizer, total_steps=100, cut_frac=0.2, ratio=10)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01 / 10)
    for _ in range(20):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01)  # the peak at step 20 = 0.2 * 100


def test_discriminative_learning_rates_divide_by_2_6_per_layer_below_the_head(make_tiny_classifier):
    # The paper's eta^L is the last layer's rate, and the last layer of a classifier is its head.
    groups = discriminative_param_groups(make_tiny_classifier(), base_lr=1e-3)
    rates = {g["name"]: g["lr"] for g in groups}
    assert rates == pytest.approx({"embeddings": 1e-3 / 2.6 ** 3, "layer.0": 1e-3 / 2.6 ** 2, "layer.1": 1e-3 / 2.6,
                                   "head": 1e-3})
    model = make_tiny_classifier()
    assert sum(len(g["params"]) for g in discriminative_param_groups(model, 1e-3)) == len(list(model.parameters()))
    assert {g["weight_decay"] for g in discriminative_param_groups(model, 1e-3, weight_decay=0.01)} == {0.01}


def test_gradual_unfreezing_thaws_one_group_per_epoch(make_tiny_classifier, tokenizer, small_dataset, tmp_path):
    from transformers import Trainer, TrainingArguments

    model = make_tiny_classifier()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    unfreezing = GradualUnfreezing(model)
    encoded = data.tokenize(small_dataset, tokenizer)
    args = TrainingArguments(output_dir=str(tmp_path), num_train_epochs=3, per_device_train_batch_size=4,
                             learning_rate=1e-2, save_strategy="no", report_to="none", disable_tqdm=True, seed=0)
    Trainer(model=model, args=args, train_dataset=encoded["train"], processing_class=tokenizer,
            data_collator=data.collator(tokenizer), callbacks=[unfreezing]).train()

    assert unfreezing.timeline == [["head"], ["head", "layer.1"], ["head", "layer.1", "layer.0"]]
    changed = {n for n, p in model.named_parameters() if not torch.equal(before[n], p.detach())}
    assert not any(n.startswith("bert.embeddings") for n in changed)      # never thawed in 3 epochs
    assert any(n.startswith("classifier") for n in changed)
    assert any(n.startswith("bert.encoder.layer.0") for n in changed)     # thawed in epoch 3
    assert all(p.requires_grad for p in model.parameters())               # left as found


@pytest.mark.slow
def test_lr_find_sweeps_exponentially_and_restores_the_model(make_tiny_classifier, tokenizer, small_dataset):
    model = make_tiny_classifier()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    encoded = data.tokenize(small_dataset, tokenizer)["train"]
    found = lr_find(model, encoded, tokenizer, start_lr=1e-6, end_lr=10.0, num_steps=30, batch_size=4)
    lrs = found["lrs"]
    assert lrs[0] == pytest.approx(1e-6)
    ratios = [b / a for a, b in zip(lrs, lrs[1:])]
    assert all(r == pytest.approx((10.0 / 1e-6) ** (1 / 29)) for r in ratios)
    assert len(found["losses"]) == len(lrs)
    # the documented rule: the rate where the smoothed loss falls fastest against log(rate)
    slopes = np.gradient(np.array(found["losses"]), np.log(np.array(lrs)))
    assert found["suggestion"] == lrs[int(np.argmin(slopes))]
    # rates up to 1e5 blow the tiny model up: that sweep stops at the first loss above four times the minimum so far
    steep = lr_find(make_tiny_classifier(), encoded, tokenizer, start_lr=1e-6, end_lr=1e5, num_steps=30, batch_size=4)
    losses = steep["losses"]
    assert len(losses) < 30 and (not math.isfinite(losses[-1]) or losses[-1] > 4 * min(losses[:-1]))
    assert all(loss <= 4 * min(losses[:i + 1]) for i, loss in enumerate(losses[:-1]))
    assert all(torch.equal(before[n], p) for n, p in model.named_parameters())
    # one new batch a step: the first steps go through the shuffled training rows without repeating one
    seen = set()  # the rows (token ids, padding left out) the sweep trained on
    hook = model.register_forward_pre_hook(lambda module, args, kwargs: seen.update(
        tuple(i for i in row if i != tokenizer.pad_token_id) for row in kwargs["input_ids"].tolist()), with_kwargs=True)
    lr_find(model, encoded, tokenizer, start_lr=1e-6, end_lr=1e-5, num_steps=-(-len(encoded) // 4), batch_size=4)
    hook.remove()
    assert seen == {tuple(ids) for ids in encoded["input_ids"]}
    assert all(math.isfinite(x) for x in found["losses"][:-1])


def test_lr_find_gives_the_model_back_in_the_mode_it_found(make_tiny_classifier, tokenizer, small_dataset):
    """It trains in training mode (dropout on), then leaves a model in training mode in that mode,
    a model in evaluation mode (as a loaded model is) in that one, and each part of a model in the
    mode that part was in."""
    encoded = data.tokenize(small_dataset, tokenizer)["train"]
    model = make_tiny_classifier()
    modes = []
    hook = model.register_forward_pre_hook(lambda module, args: modes.append(module.training))
    for training in (True, False):
        model.train(training)
        lr_find(model, encoded, tokenizer, num_steps=2, batch_size=2)
        assert model.training is training
        assert all(m.training is training for m in model.modules())
    hook.remove()
    assert modes == [True] * 4
    # a model whose parts are in different modes (its body in evaluation mode: dropout off there)
    model.train()
    model.bert.eval()
    before = {name: m.training for name, m in model.named_modules()}
    lr_find(model, encoded, tokenizer, num_steps=2, batch_size=2)
    assert {name: m.training for name, m in model.named_modules()} == before


def test_lr_find_smooths_the_loss_with_a_bias_corrected_moving_average(make_tiny_classifier, tokenizer, small_dataset):
    """Oracle: each step's own loss, averaged by hand; corrected, the first smoothed loss is the first loss,
    not a tenth of it (an average started at 0 reads low for the first steps)."""
    model = make_tiny_classifier()
    raw = []
    hook = model.register_forward_hook(lambda module, args, kwargs, out: raw.append(out.loss.item()), with_kwargs=True)
    found = lr_find(model, data.tokenize(small_dataset, tokenizer)["train"], tokenizer, start_lr=1e-6, end_lr=1e-4,
                    num_steps=8, batch_size=4, smoothing=0.8)
    hook.remove()
    average, expected = 0.0, []
    for i, loss in enumerate(raw):
        average = 0.8 * average + 0.2 * loss
        expected.append(average / (1 - 0.8 ** (i + 1)))
    assert len(raw) == 8 and found["losses"] == pytest.approx(expected) and found["losses"][0] == pytest.approx(raw[0])


@pytest.mark.parametrize("arguments, said", [
    ({"start_lr": 0}, "0 < start_lr < end_lr, got start_lr=0,"),  # divided by zero
    ({"start_lr": 1.0, "end_lr": 1e-7}, "0 < start_lr < end_lr"),  # swept downwards in silence
    ({"num_steps": 1}, "num_steps= a whole number of at least 2"),  # one point: no slope to suggest from
    ({"num_steps": 0}, "got num_steps=0"),  # no sweep, and start_lr suggested
    ({"num_steps": 10.0}, "got num_steps=10.0"),
    ({"batch_size": 0}, "batch_size=0"),  # a tokenizer's error about a list
    ({"smoothing": 1.0}, "smoothing .* in \\[0, 1\\), got 1.0"),  # divided by zero
])
def test_lr_find_refuses_settings_that_sweep_nothing_or_the_wrong_way(arguments, said, make_tiny_classifier,
                                                                       tokenizer, small_dataset):
    from sft_teach.errors import ConfigError

    encoded = data.tokenize(small_dataset, tokenizer)["train"]
    with pytest.raises(ConfigError, match=said):
        lr_find(make_tiny_classifier(), encoded, tokenizer, **{"num_steps": 5, **arguments})


def test_lr_find_refuses_what_is_not_a_model_and_one_tokenised_split_with_labels(make_tiny_classifier, tokenizer,
                                                                                  small_dataset):
    from sft_teach.errors import ConfigError

    model, encoded = make_tiny_classifier(), data.tokenize(small_dataset, tokenizer)
    cases = [((model, tokenizer), encoded["train"], "got a pair"),
             (model, encoded, "one tokenised split, e.g. encoded\\['train'\\], got a DatasetDict of the splits "
                              "train, validation, test"),
             (model, small_dataset["train"], "no input_ids or labels column .*tokenise it first"),
             (model, encoded["train"].remove_columns("labels"), "no labels column"),
             (model, encoded["train"].select([]), "the split has no rows")]
    for model_, split, said in cases:
        with pytest.raises(ConfigError, match=said):
            lr_find(model_, split, tokenizer, num_steps=5)
    with pytest.raises(ConfigError, match="tokenizer must be the model's tokenizer"):
        lr_find(model, encoded["train"], None, num_steps=5)
    model.requires_grad_(False)  # nothing to train: torch's "optimizer got an empty parameter list"
    with pytest.raises(ConfigError, match="every parameter of the model is frozen"):
        lr_find(model, encoded["train"], tokenizer, num_steps=5)


def test_discriminative_groups_refuse_a_factor_that_is_not_above_0(make_tiny_classifier):
    from sft_teach.errors import ConfigError

    for factor in (0, -2.6):  # 0 divided by zero; below 0, the rates alternate in sign
        with pytest.raises(ConfigError, match=f"a number above 0, got {factor}"):
            discriminative_param_groups(make_tiny_classifier(), 1e-3, factor=factor)
    same = discriminative_param_groups(make_tiny_classifier(), 1e-3, factor=1)  # one rate for all: allowed
    assert {g["lr"] for g in same} == {1e-3}


def test_the_progress_bar_shows_the_last_logged_loss_and_the_run_s_mean_only_without_one():
    """Trainer's last log holds the whole run's mean loss (train_loss): the bar keeps the last logged
    loss, and shows the mean only for a run shorter than one logging interval, which logged none."""
    import io

    from transformers import TrainerState

    from sft_teach.callbacks import ProgressBar

    def shown(*logs):
        bar, state = ProgressBar(file=io.StringIO()), TrainerState(max_steps=4)
        bar.on_train_begin(None, state, None)
        for log in logs:
            bar.on_log(None, state, None, logs=log)
        return bar.shown["loss"]

    assert shown({"loss": 0.5}, {"train_loss": 0.9}) == "0.500" and shown({"train_loss": 0.9}) == "0.900"


def test_event_trace_records_every_event_the_trainer_fires(make_tiny_classifier, tokenizer, small_dataset, tmp_path):
    """Every on_* event of TrainerCallback, in the order the loop fires them; the gradient step's
    on_pre_optimizer_step too, which a hand-kept list of events once left out."""
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from sft_teach.callbacks import EventTrace

    trace = EventTrace()
    assert set(trace.EVENTS) == {n for n in dir(TrainerCallback) if n.startswith("on_")}
    encoded = data.tokenize(small_dataset, tokenizer)
    args = TrainingArguments(output_dir=str(tmp_path), num_train_epochs=1, per_device_train_batch_size=4,
                             per_device_eval_batch_size=4, eval_strategy="epoch", save_strategy="no",
                             report_to="none", disable_tqdm=True, seed=0)
    Trainer(model=make_tiny_classifier(), args=args, train_dataset=encoded["train"],
            eval_dataset=encoded["validation"], processing_class=tokenizer, data_collator=data.collator(tokenizer),
            callbacks=[trace]).train()
    fired = [event for event, _ in trace.events]
    first = fired[:fired.index("on_step_end") + 1]
    assert first[-4:] == ["on_step_begin", "on_pre_optimizer_step", "on_optimizer_step", "on_step_end"]
    steps = fired.count("on_step_end")
    assert steps == -(-len(encoded["train"]) // 4) and fired.count("on_pre_optimizer_step") == steps
    assert fired.count("on_prediction_step") == -(-len(encoded["validation"]) // 4)  # one per evaluation batch



def test_an_interrupted_run_s_progress_bar_is_closed_and_never_drawn_again(make_tiny_classifier, tokenizer,
                                                                          small_dataset, tmp_path):
    """Ctrl-C skips on_train_end: a bar left open was drawn once more when Python collected it, after
    the command's message about what the interruption kept."""
    import gc
    import io

    from transformers import Trainer, TrainerCallback, TrainingArguments

    from sft_teach.callbacks import ProgressBar, progress_bars_closed

    class CtrlC(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            raise KeyboardInterrupt

    shown = io.StringIO()
    encoded = data.tokenize(small_dataset, tokenizer)
    args = TrainingArguments(output_dir=str(tmp_path), num_train_epochs=1, per_device_train_batch_size=4,
                             save_strategy="no", report_to="none", disable_tqdm=True, seed=0)
    trainer = Trainer(model=make_tiny_classifier(), args=args, train_dataset=encoded["train"],
                      processing_class=tokenizer, data_collator=data.collator(tokenizer),
                      callbacks=[ProgressBar(file=shown), CtrlC()])
    with pytest.raises(KeyboardInterrupt), progress_bars_closed(trainer):
        trainer.train()
    bar = next(c for c in trainer.callback_handler.callbacks if isinstance(c, ProgressBar))
    assert bar.bar is None
    before = shown.getvalue()
    del trainer, bar
    gc.collect()
    assert shown.getvalue() == before  # nothing drawn after the interruption's message
