"""Training throughput of three fine-tuning recipes: same model, same data, same optimiser steps.

Used by ``python benchmarks/run.py --only throughput``. The three recipes:

* ``classic``: the recipe as it circulates in BERT-style tutorials: every note tokenised
  with ``padding="max_length", truncation=True`` (512 tokens), default ``TrainingArguments``;
* ``hf_course``: the Hugging Face course: tokenise without padding, ``DataCollatorWithPadding``
  pads each batch to its longest note, default ``TrainingArguments`` (random batches);
* ``course``: this course's recipe, ``sft_teach.trainer_arguments.training_arguments`` +
  ``sft_teach.data.tokenize`` + ``sft_teach.data.collator``: dynamic padding *and*
  length-grouped batches (notes of similar length share a batch, so little is padded).

All three share what the recipes share: the bundled model with the same seeded new head
(loaded once, copied for every run), the pets training split, learning rate 1e-4, batch size
16, seed 42, no reporting, no checkpoints. Only optimiser steps are timed, from the end of a
run's first step (which carries one-off set-up costs) to the end of the last timed step, with
evaluation and saving off (the course recipe evaluates every epoch; that is switched off here
so that training alone is compared); progress bars are off for all three. By default a run
times one epoch's worth of steps, so every recipe's rates cover batches of every length it
makes. A forward pre-hook on the model records every training batch (its number of notes,
real tokens and padded length), so the rates count what was actually trained on in the timed
steps. Test accuracy is measured once, after the first round's run of the recipe's full
3 epochs, with the same function for all (``sft_teach.inference.evaluate``).
"""

from __future__ import annotations

import copy
import math
import statistics
import tempfile
import time

RECIPES = {
    "classic": "classic recipe as it circulates (pad to 512, default arguments)",
    "hf_course": "Hugging Face course (dynamic padding, default arguments)",
    "course": "sft-teach (dynamic padding + length-grouped batches)",
}
CLASSIC_MAX_LENGTH = 512  # what BERT-style tutorials pad every note to
SEED, LEARNING_RATE, BATCH_SIZE, EPOCHS = 42, 1e-4, 16, 3


class BatchRecorder:
    """Forward pre-hook: per training batch, ``(notes, real tokens, padded length)``."""

    def __init__(self, model):
        self.batches = []
        self.handle = model.register_forward_pre_hook(self, with_kwargs=True)

    def __call__(self, module, args, kwargs):
        if module.training:
            mask = kwargs["attention_mask"]  # (batch, padded_len): 1 for a real token, 0 for a pad
            self.batches.append((mask.shape[0], int(mask.sum()), mask.shape[1]))


def _step_timer():
    """A callback that times each optimiser step: its end, and its forward + backward and update parts."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.ends, self.compute, self.update, self._t = [], [], [], 0.0

        def on_step_begin(self, args, state, control, **kwargs):  # the batch is loaded and padded
            self._t = time.perf_counter()

        def on_pre_optimizer_step(self, args, state, control, **kwargs):  # after backward and clipping
            now = time.perf_counter()
            self.compute.append(now - self._t)
            self._t = now

        def on_optimizer_step(self, args, state, control, **kwargs):  # AdamW has updated every weight
            self.update.append(time.perf_counter() - self._t)

        def on_step_end(self, args, state, control, **kwargs):  # learning rate stepped, gradients zeroed
            if args.device.type == "cuda":
                import torch

                torch.cuda.synchronize()  # the step has run, not just been queued (Trainer syncs each step anyway)
            self.ends.append(time.perf_counter())

    return StepTimer()


def _encode(recipe, dataset, tokenizer):
    """The training split as ``recipe`` tokenises it, and the collator it pads batches with."""
    from transformers import DataCollatorWithPadding

    from sft_teach import data as data_mod

    train = dataset["train"]
    if recipe == "course":
        return data_mod.tokenize(dataset, tokenizer)["train"], data_mod.collator(tokenizer)
    if recipe == "classic":
        encoded = train.map(lambda b: tokenizer(b["text"], padding="max_length", truncation=True,
                                                max_length=CLASSIC_MAX_LENGTH), batched=True)
        return encoded, None  # Trainer's default for a tokenizer: DataCollatorWithPadding (nothing left to pad)
    return train.map(lambda b: tokenizer(b["text"], truncation=True), batched=True), DataCollatorWithPadding(tokenizer)


def _trainer(recipe, model, tokenizer, encoded, collator, device, max_steps, scratch):
    """A ``Trainer`` for ``recipe`` on ``model``; nothing has run yet."""
    from transformers import PrinterCallback, Trainer, TrainingArguments

    from sft_teach.trainer_arguments import training_arguments

    common = dict(num_train_epochs=EPOCHS, learning_rate=LEARNING_RATE, seed=SEED, report_to="none",
                  save_strategy="no", eval_strategy="no", disable_tqdm=True, use_cpu=device == "cpu",
                  max_steps=max_steps or -1)
    if recipe == "course":
        args = training_arguments(scratch, batch_size=BATCH_SIZE, progress=False,
                                  **{k: common[k] for k in ("eval_strategy", "use_cpu", "max_steps")})
    else:
        args = TrainingArguments(output_dir=scratch, per_device_train_batch_size=BATCH_SIZE, **common)
    trainer = Trainer(model=model, args=args, train_dataset=encoded, processing_class=tokenizer,
                      data_collator=collator)
    trainer.remove_callback(PrinterCallback)  # quiet: no printed log dicts
    return trainer


def run_once(recipe, fresh_model, tokenizer, encoded, collator, dataset, device="cpu", max_steps=None,
             untimed_steps=1, timed_steps=None, accuracy=False) -> dict:
    """Train a copy of ``fresh_model`` with ``recipe``; time optimiser steps ``untimed_steps + 1`` onwards.

    The first step of a run carries one-off costs (the optimiser's state is allocated, the data
    loader starts) that later steps do not, so it is trained but not timed. The timed window
    runs from the end of step ``untimed_steps`` to the end of step ``untimed_steps +
    timed_steps`` (all steps when ``None``): it includes loading and padding each batch,
    forward, backward, the update and the learning-rate schedule. Later steps train but are not
    timed (the first round trains on to the recipe's full length for its test accuracy).
    """
    from sft_teach.inference import evaluate

    model = copy.deepcopy(fresh_model)  # the same pretrained body and seeded new head for every run
    with tempfile.TemporaryDirectory() as scratch:
        trainer = _trainer(recipe, model, tokenizer, encoded, collator, device, max_steps, scratch)
        recorder = BatchRecorder(trainer.model)
        timer = _step_timer()
        trainer.add_callback(timer)
        trainer.train()
        recorder.handle.remove()
        last = len(timer.ends) if timed_steps is None else untimed_steps + timed_steps
        if not untimed_steps < last <= len(timer.ends):
            raise ValueError(f"{recipe}: {len(timer.ends)} steps trained, cannot time steps {untimed_steps + 1}-{last}")
        window = slice(untimed_steps, last)  # gradient accumulation is 1: one batch per step
        batches = recorder.batches[window]
        seconds = timer.ends[last - 1] - timer.ends[untimed_steps - 1]
        result = {
            "seconds": seconds, "steps": last - untimed_steps, "trained_steps": trainer.state.global_step,
            "samples": sum(b[0] for b in batches), "real_tokens": sum(b[1] for b in batches),
            "padded_tokens": sum(b[0] * b[2] for b in batches),
            "mean_padded_length": statistics.mean(b[2] for b in batches),
            "compute_ms": 1000 * statistics.mean(timer.compute[window]),
            "update_ms": 1000 * statistics.mean(timer.update[window]),
        }
        if accuracy:
            result["accuracy"] = evaluate(trainer.model, tokenizer, dataset["test"])["accuracy"]
    result["samples_per_s"] = result["samples"] / seconds
    result["tokens_per_s"] = result["real_tokens"] / seconds
    return result


def measure(device="cpu", repeats=3, steps=None, classic_steps=None, accuracy_steps=None, log=print) -> dict:
    """Median rates per recipe over ``repeats`` interleaved rounds; test accuracy from the first round.

    ``steps``: optimiser steps timed per run (``None``: one epoch of batches, 45), after one
    untimed first step; ``classic_steps``: fewer timed steps for the classic recipe when
    512-token batches are too slow (its rates are per sample and per token, so they stay
    comparable; its accuracy does not). In the first round, every recipe timed for ``steps``
    trains on to ``accuracy_steps`` (``None``: the recipe's 3 epochs, 135) and is tested; the
    timed window is the same steps in every round, so the extra steps change no rate. The
    rounds are interleaved (classic, HF course, course, classic, ...) so that a busy machine
    slows every recipe alike and the ratios stay meaningful. The model is loaded once and
    copied for each run; each recipe tokenises the training split once.
    """
    import transformers

    from sft_teach.data import load
    from sft_teach.models import load_classifier

    start = time.perf_counter()
    dataset = load("pets")
    names = dataset["train"].features["label"].names
    transformers.set_seed(SEED)  # the same new head for every recipe and every round
    fresh_model, tokenizer = load_classifier("default", names)
    encoded = {name: _encode(name, dataset, tokenizer) for name in RECIPES}
    epoch = math.ceil(len(dataset["train"]) / BATCH_SIZE)
    steps = steps or epoch
    accuracy_steps = accuracy_steps or EPOCHS * epoch
    timed = {name: classic_steps if name == "classic" and classic_steps else steps for name in RECIPES}
    runs = {name: [] for name in RECIPES}
    for round_ in range(repeats):
        for name in RECIPES:
            first, full = round_ == 0, timed[name] == steps
            train_steps = max(accuracy_steps, 1 + steps) if first and full else 1 + timed[name]
            result = run_once(name, fresh_model, tokenizer, *encoded[name], dataset, device, max_steps=train_steps,
                              timed_steps=timed[name], accuracy=first)
            runs[name].append(result)
            log(f"  throughput round {round_ + 1}/{repeats} {name}: {result['steps']} step(s) timed in "
                f"{result['seconds']:.1f} s, {result['samples_per_s']:.1f} samples/s"
                + (f" ({result['trained_steps']} steps trained, test accuracy {result['accuracy']:.4f})"
                   if first else ""), flush=True)
    log(f"  throughput: {time.perf_counter() - start:.0f} s in all", flush=True)
    summary = {}
    for name, rows in runs.items():
        summary[name] = {
            "steps": rows[0]["steps"], "samples": rows[0]["samples"], "n_train": len(dataset["train"]),
            "n_test": len(dataset["test"]), "accuracy_steps": rows[0]["trained_steps"],
            "seconds": statistics.median(r["seconds"] for r in rows),
            "samples_per_s": statistics.median(r["samples_per_s"] for r in rows),
            "tokens_per_s": statistics.median(r["tokens_per_s"] for r in rows),
            "mean_padded_length": statistics.median(r["mean_padded_length"] for r in rows),
            "real_fraction": statistics.median(r["real_tokens"] / r["padded_tokens"] for r in rows),
            "real_per_note": statistics.median(r["real_tokens"] / r["samples"] for r in rows),
            "compute_ms": statistics.median(r["compute_ms"] for r in rows),
            "update_ms": statistics.median(r["update_ms"] for r in rows),
            "accuracies": [round(rows[0]["accuracy"], 4)],
        }
    return summary


def _fmt_acc(values):
    return ", ".join(f"{a:.4f}" for a in values)


def report(summary, device, repeats) -> tuple[list[str], str]:
    """Markdown lines for RESULTS.md and the headline (the two ratios)."""
    course, classic, hf = summary["course"], summary["classic"], summary["hf_course"]
    vs_classic = course["samples_per_s"] / classic["samples_per_s"]
    vs_hf = course["samples_per_s"] / hf["samples_per_s"]
    full = {name: s["accuracy_steps"] == course["accuracy_steps"] for name, s in summary.items()}
    rows = []
    for name, label in RECIPES.items():
        s = summary[name]
        accuracy = _fmt_acc(s["accuracies"]) + ("" if full[name] else
                                                 f" (not comparable: {s['accuracy_steps']} steps)")
        rows.append(f"| {label} | {s['steps']} | {s['samples']} | {s['seconds']:.1f} | {s['samples_per_s']:.1f} | "
                    f"{s['tokens_per_s']:.0f} | {s['mean_padded_length']:.1f} | {s['real_fraction']:.0%} | {accuracy} |")
    where = "CPU" if device == "cpu" else "GPU"
    lr = f"{LEARNING_RATE:.0e}".replace("e-0", "e-")  # 1e-4
    epochs = round(course["accuracy_steps"] / math.ceil(course["n_train"] / BATCH_SIZE), 1)
    epoch_note = ", one epoch's worth" if course["samples"] == course["n_train"] else ""
    lines = [f"## Training throughput: three recipes, same model and data ({where})", "",
             f"Bundled model (all-MiniLM-L6-v2 + new head), pets training split ({course['n_train']} notes), "
             f"batch size {BATCH_SIZE}, learning rate {lr}, seed {SEED}. Every run starts from the same "
             f"pretrained body and new head; only optimiser steps are timed (loading and padding each batch, "
             f"forward, backward, update), from the end of the run's first step, whose one-off set-up costs "
             f"are left out, evaluation and saving off. Median of {repeats} interleaved rounds, each timing "
             f"{course['steps']} steps a recipe ({course['samples']} notes{epoch_note}). Test accuracy after "
             f"{course['accuracy_steps']} steps ({epochs:g} epochs), trained in the first round. Tokens "
             f"are real (non-pad) tokens; *padded length* is the mean padded length of a batch, *real* the share "
             f"of the token slots that hold real tokens.", ""]
    if not full["classic"]:
        lines += [f"The classic recipe pads every batch to {CLASSIC_MAX_LENGTH} tokens and times "
                  f"{classic['steps']} step{'s' if classic['steps'] > 1 else ''} a round instead of {course['steps']} "
                  f"(after its untimed first step) to keep this section to minutes: its rates are per sample and "
                  f"per token, so they compare; its accuracy after {classic['accuracy_steps']} steps does not.", ""]
    lines += ["| recipe | optimiser steps timed | notes timed | timed (s) | samples/s | real tokens/s | "
              "padded length | real | test accuracy |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |", *rows, ""]
    accs = [a for name in ("hf_course", "course") for a in summary[name]["accuracies"]]
    spread = (max(accs) - min(accs)) * 100
    target_classic, target_hf = 5.0, 1.3
    lines += [f"**sft-teach vs classic: {vs_classic:.1f}× the samples/s** (target ≥ {target_classic:g}×: "
              + ("met" if vs_classic >= target_classic else
                 f"missed by {target_classic - vs_classic:.1f}×") + ").  ",
              f"**sft-teach vs Hugging Face course: {vs_hf:.2f}× the samples/s** (target ≥ {target_hf:g}×: "
              + ("met" if vs_hf >= target_hf else f"missed by {target_hf - vs_hf:.2f}×") + ").  ",
              f"Test accuracy, Hugging Face course vs sft-teach after the same {course['accuracy_steps']} steps: "
              f"{spread:.1f} points apart (target: equal within 1 point: "
              + ("met" if spread <= 1.0 else f"missed by {spread - 1.0:.1f} points") + ").", ""]
    if spread > 1.0:
        # the two recipes see the same notes in different batches (random vs length-grouped), so their
        # optimisation paths differ; one seed on the test split gives one draw of each
        n_test = summary["course"]["n_test"]
        p = statistics.mean(accs)
        higher = "sft-teach" if summary["course"]["accuracies"][0] > summary["hf_course"]["accuracies"][0] else \
            "the Hugging Face course recipe"
        lines += [f"Why the accuracy target is missed: {higher} scored higher. Both recipes train the same notes for "
                  f"the same steps with the same seed, but in different batches (random vs grouped by length), so "
                  f"they follow different optimisation paths, and each accuracy is one draw on {n_test} test notes, "
                  f"whose standard error is about {100 * (p * (1 - p) / n_test) ** 0.5:.1f} points. A difference of "
                  f"{spread:.1f} points is {spread / (100 * (2 * p * (1 - p) / n_test) ** 0.5):.1f} standard errors of a "
                  f"difference between two such draws; this run measures one seed only.", ""]
    step_ms = {name: 1000 * s["seconds"] / s["steps"] for name, s in summary.items()}
    other_ms = {name: step_ms[name] - s["compute_ms"] - s["update_ms"] for name, s in summary.items()}
    why = (f"Why, as measured in this run: the time of a step follows the padded batch, not the notes in it. "
           f"Forward + backward took {classic['compute_ms']:.0f} ms a step for the classic recipe's batches of "
           f"{CLASSIC_MAX_LENGTH} tokens ({classic['real_fraction']:.0%} of them real), {hf['compute_ms']:.0f} ms "
           f"for the Hugging Face course's random batches padded to their longest note "
           f"({hf['mean_padded_length']:.1f} tokens on average, {hf['real_fraction']:.0%} real) and "
           f"{course['compute_ms']:.0f} ms for sft-teach's length-grouped batches "
           f"({course['mean_padded_length']:.1f} tokens, {course['real_fraction']:.0%} real). The AdamW update "
           f"of all the weights, which no padding changes, took {classic['update_ms']:.0f} / {hf['update_ms']:.0f} / "
           f"{course['update_ms']:.0f} ms a step, and the rest of a step (loading and padding the batch, the "
           f"learning-rate schedule, callbacks) {other_ms['classic']:.0f} / {other_ms['hf_course']:.0f} / "
           f"{other_ms['course']:.0f} ms (classic / Hugging Face course / sft-teach).")
    if vs_hf < target_hf:
        why += (f" Against the Hugging Face course the padded length falls "
                f"{hf['mean_padded_length'] / course['mean_padded_length']:.2f}× and forward + backward runs "
                f"{hf['compute_ms'] / course['compute_ms']:.2f}× faster, but the whole step only "
                f"{step_ms['hf_course'] / step_ms['course']:.2f}× faster: the parts that do not depend on "
                f"the length weigh more the shorter the notes are (these notes average "
                f"{course['real_per_note']:.1f} real tokens).")
    if vs_classic < target_classic:
        why += (f" Against the classic recipe the padded length falls "
                f"{CLASSIC_MAX_LENGTH / course['mean_padded_length']:.1f}× but the step only "
                f"{step_ms['classic'] / step_ms['course']:.1f}× faster.")
    lines += [why, ""]
    headline = f"throughput: sft-teach = {vs_classic:.1f}x classic, {vs_hf:.2f}x Hugging Face course (samples/s)"
    return lines, headline
