"""The recipes of `sft-teach finetune`: `--recipe best` against `--recipe plain`, five seeds, pets and clinic.

Each run is the command's own call of `sft_teach.training.finetune` with the command's defaults
(bundled model, batch 16) and the settings of `sft_teach.training.RECIPES`: `best` trains the head
alone for 3 epochs at 1e-3 first, then everything for 3 epochs at 1e-4, and keeps the epoch with the
best validation macro-F1; `plain` is notebook 02's recipe (everything for 3 epochs at 5e-4, no
head-only phase, the last epoch kept).
Scores are on each dataset's test split, which chose nothing; on pets also on `unseen.csv` and on
the test notes whose cue words never occur in training. Both recipes see the same seeds, so the
comparison is paired: per seed, the test items one recipe gets right and the other wrong.

    python benchmarks/run.py --only recipes
    python benchmarks/recipes.py --select        # the candidates for --recipe best, on validation

`--select` is how the default was chosen: candidates that fit the time budget (at most 1.5× the
plain recipe's cost, counted in passes over the training data: BUDGET_PASSES), each kept at its
best validation epoch, compared by validation macro-F1 alone (the test split plays no part in the
choice).
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

SEEDS = (42, 1, 2, 3, 4)


class Candidate(NamedTuple):
    """A recipe for `--select`: the head alone first, then everything (or part of it, thawing)."""
    head: int  # epochs of the head alone at 1e-3, body frozen (0: none)
    epochs: int  # epochs after that, each kept at its best validation epoch
    lr: float  # peak learning rate of those epochs (with discriminative rates: the head's, eta^L)
    pooling: str = "first token"  # how the head reads the body's last layer (POOLINGS)
    ulmfit: str | None = None  # one of ULMFiT's techniques (notebook 04, see below), or None
    lora: int = 0  # after the head phase, only LoRA adapters of this rank train in the body (notebook 06); 0: every weight


CANDIDATES = {"head 3 ep, then 3 ep at 1e-4": Candidate(3, 3, 1e-4),
              "head 3 ep, then 3 ep at 2e-4": Candidate(3, 3, 2e-4),
              "head 3 ep, then 3 ep at 5e-4": Candidate(3, 3, 5e-4),  # notebook 02's rate, chosen there on validation
              "head 1 ep, then 4 ep at 1e-4": Candidate(1, 4, 1e-4),
              # with the head phase one pass (stored features), a fourth epoch of everything fits the budget
              "head 3 ep, then 4 ep at 1e-4": Candidate(3, 4, 1e-4),
              "head 3 ep, then 4 ep at 2e-4": Candidate(3, 4, 2e-4),
              # the pooling the bundled sentence encoder was trained with, with and without BERT's pooler layer
              "mean pooling, head 3 ep, then 3 ep at 1e-4": Candidate(3, 3, 1e-4, "mean"),
              "mean pooling without the pooler layer, head 3 ep, then 3 ep at 1e-4":
                  Candidate(3, 3, 1e-4, "mean, no pooler layer"),
              # ULMFiT's techniques (notebook 04) that fit the budget: the paper's one group an epoch takes
              # 7 epochs before everything trains, so these thaw 2 or 3 groups an epoch
              "head 3 ep, then 3 ep at 1e-4, thawing 3 groups an epoch": Candidate(3, 3, 1e-4, ulmfit="thaw 3"),
              "head 3 ep, then 4 ep at 2e-4, thawing 3 groups an epoch": Candidate(3, 4, 2e-4, ulmfit="thaw 3"),
              "head 3 ep, then 4 ep at 2e-4, thawing 2 groups an epoch": Candidate(3, 4, 2e-4, ulmfit="thaw 2"),
              "head 3 ep, then 3 ep, discriminative rates from 1e-3": Candidate(3, 3, 1e-3, ulmfit="discriminative"),
              "head 3 ep, then 3 ep, discriminative rates from 3e-3": Candidate(3, 3, 3e-3, ulmfit="discriminative"),
              # LoRA (notebook 06) at its rate there, 1e-3, rank 4: for 3 epochs, and for 5, which costs
              # about the passes of the default's 3 epochs of everything
              "head 3 ep, then LoRA r=4 3 ep at 1e-3": Candidate(3, 3, 1e-3, lora=4),
              "head 3 ep, then LoRA r=4 5 ep at 1e-3": Candidate(3, 5, 1e-3, lora=4)}
# ulmfit: "thaw G" is gradual unfreezing (Sec. 3.3) thawing G layer groups an epoch, top down, head
# first (sft_teach.callbacks.GradualUnfreezing); "discriminative" is a rate per layer group, the
# head at lr and each group below it at the rate above / 2.6 (ULMFiT Sec. 3.2, the rule below Eq. 2; discriminative_param_groups).


# The plain recipe (notebook 02: 3 epochs of everything, no head-only phase) costs 3 x 3 = 9 passes;
# the default may cost at most 1.5 times that. Counted in passes, as the ties are, not in seconds,
# which differ between runs of equal work on one machine (recipe_selection.md).
PLAIN_PASSES = 3 * 3
BUDGET_PASSES = 1.5 * PLAIN_PASSES


def passes(candidate) -> float:
    """Cost of a candidate in passes over the training data, the unit of the rule's ties.

    The head-only phase is one forward pass through the frozen body, whatever its epochs (the
    features are computed once and stored; the head's own work is negligible). An epoch of
    everything is a forward and a backward pass, about three (backward ~ 2 forwards). A thawing
    epoch runs the whole forward but the backward only through the layers thawed so far:
    1 + 2 * (thawed encoder layers / all of them). An epoch of LoRA runs the whole forward and the
    backward through every layer (the adapters' gradients need the activations' gradients all the
    way down), but skips the gradients of the frozen weights, about half the backward: 1 + 1.
    """
    head, epochs, _, _, ulmfit, lora = Candidate(*candidate)
    cost = float(head > 0)
    if lora:
        return cost + 2 * epochs
    if ulmfit is None or not ulmfit.startswith("thaw"):
        return cost + 3 * epochs
    per_epoch, layers = int(ulmfit.split()[1]), 6  # the bundled body's 6 encoder layers
    for epoch in range(epochs):
        # groups top down: the head, then layer 6 ... layer 1, then the embeddings
        thawed = min(layers, (epoch + 1) * per_epoch - 1)
        cost += 1 + 2 * thawed / layers
    return cost


def _mean_pooled_class(pooler_layer: bool):
    """A BERT classifier whose head reads the mean of the last layer over the real tokens.

    BERT's own head (``BertForSequenceClassification``) reads the first token ([CLS]) through its
    pooler layer (dense + tanh) and a linear classifier. all-MiniLM-L6-v2 was trained as a sentence
    encoder on the *mean* over its tokens, so the pooling is a candidate. With ``pooler_layer`` only
    the pooling changes (mean, then the same pooler layer and classifier); without it the mean goes
    straight into the classifier, as a sentence-transformers model hands its embedding on.
    Measured here only: a plain ``pipeline(...)`` cannot load such a head from a model folder without
    running code shipped with it, so the command would need another way to save it, were it to win.
    """
    import torch
    from transformers import BertForSequenceClassification
    from transformers.modeling_outputs import SequenceClassifierOutput

    class MeanPooled(BertForSequenceClassification):
        def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, **_):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state  # (batch, seq, hidden)
            real = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (batch, seq, 1): 1 for a real token
            pooled = (hidden * real).sum(1) / real.sum(1).clamp(min=1)  # (batch, hidden)
            if pooler_layer:
                pooled = self.bert.pooler.activation(self.bert.pooler.dense(pooled))
            logits = self.classifier(self.dropout(pooled))  # (batch, classes)
            loss = None if labels is None else torch.nn.functional.cross_entropy(logits, labels)
            return SequenceClassifierOutput(loss=loss, logits=logits)

    return MeanPooled


POOLINGS = {"first token": None,  # BERT's own head: the model finetune loads
            "mean": lambda: _mean_pooled_class(True), "mean, no pooler layer": lambda: _mean_pooled_class(False)}


def _candidate_run(dataset, candidate: Candidate, seed: int):
    """One candidate, one seed, as `finetune` runs it (best validation epoch kept, nothing saved)."""
    import transformers

    from sft_teach import ulmfit
    from sft_teach.callbacks import GradualUnfreezing
    from sft_teach.models import load_classifier
    from sft_teach.training import finetune_quietly  # findings stay in the result, not on the screen

    settings = dict(seed=seed, head_epochs=candidate.head, num_train_epochs=candidate.epochs,
                    learning_rate=candidate.lr, best_epoch=True, save=False, progress=False)
    if POOLINGS[candidate.pooling] is None and candidate.ulmfit is None and not candidate.lora:
        return finetune_quietly("default", dataset, **settings)
    transformers.set_seed(seed)  # the same new head as finetune would draw
    model, tokenizer = load_classifier("default", dataset["train"].features["label"].names)
    if candidate.lora:
        return _lora_run(model, tokenizer, dataset, candidate, settings)
    if POOLINGS[candidate.pooling] is not None:
        model.__class__ = POOLINGS[candidate.pooling]()  # same weights, another forward
        # not BertForSequenceClassification itself, so the head-only phase trains through the frozen body
        # every epoch (its result is the same as with stored features, only slower; the rule counts passes)
    if candidate.ulmfit == "discriminative":
        settings["optimizers"] = ulmfit.optimizers(("discriminative",), candidate.lr)
    elif candidate.ulmfit is not None:  # "thaw G"
        settings["callbacks"] = [GradualUnfreezing(model, groups_per_epoch=int(candidate.ulmfit.split()[1]))]
    return finetune_quietly(model, dataset, tokenizer=tokenizer, **settings)


def _lora_run(model, tokenizer, dataset, candidate: Candidate, settings: dict):
    """The head phase as finetune runs it, then LoRA adapters of rank ``candidate.lora`` in the body
    (``sft_teach.lora.add_lora``, which also trains the head) for the rest; seconds of both phases."""
    import tempfile
    import time

    from sft_teach import data
    from sft_teach.lora import add_lora
    from sft_teach.head_first import train_head
    from sft_teach.training import finetune_quietly  # findings stay in the result, not on the screen

    encoded = data.tokenize(dataset, tokenizer)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sft-teach-head-") as folder:
        train_head(model, encoded, tokenizer, folder, num_train_epochs=candidate.head, seed=settings["seed"],
                   progress=False)
    head_seconds = time.perf_counter() - start
    settings = {**settings, "head_epochs": 0}  # done above, on the plain model
    run = finetune_quietly(add_lora(model, r=candidate.lora), dataset, tokenizer=tokenizer, **settings)
    run.metrics["train_seconds"] += head_seconds
    return run


def _run(dataset, recipe: dict, seed: int):
    from sft_teach.training import finetune_quietly  # findings stay in the result, not on the screen

    return finetune_quietly("default", dataset, seed=seed, **recipe, save=False, progress=False)


def section_recipes(seeds=SEEDS, datasets=("pets", "clinic")) -> tuple[list[str], str]:
    from sft_teach import bundled, data
    from sft_teach.training import RECIPES, rate_text
    from sft_teach.environment import quiet_libraries
    from sft_teach.experiments import right_wrong  # "1"/"0" per item, as every sweep stores it
    from sft_teach.inference import predict_proba
    from sft_teach.stats import mean_sd, mcnemar_exact
    import torch

    import academic  # benchmarks/academic.py, next to this file (run.py puts the folder on the path)

    quiet_libraries()
    code, start, records = academic.commit(), time.perf_counter(), []  # the commit now, before edits during the runs
    lines = ["## Recipes of `sft-teach finetune`: best (the default) vs plain", "",
             "`sft-teach finetune` with its defaults (bundled model, batch 16) and each `--recipe` "
             "(`sft_teach.training.RECIPES`): **best** trains the new head alone for "
             f"{RECIPES['best']['head_epochs']:g} epochs at 1e-3, body frozen, then everything for "
             f"{RECIPES['best']['num_train_epochs']} epochs at {rate_text(RECIPES['best']['learning_rate'])}, and keeps the "
             "epoch with the best validation macro-F1 (benchmarks/recipe_selection.md says how it was chosen); "
             f"**plain** is notebook 02's recipe (everything for {RECIPES['plain']['num_train_epochs']} epochs at "
             f"{rate_text(RECIPES['plain']['learning_rate'])}, no head-only phase, the last epoch kept). "
             "Mean ± sample SD (ddof = 1) over seeds "
             f"{', '.join(map(str, seeds))}; each dataset's test split chose nothing. Training time includes "
             "the head-only phase and the per-epoch saving of the best weights.", ""]
    headline = []
    for name in datasets:
        dataset = data.load(name)
        names = dataset["train"].features["label"].names
        unseen = None
        if (bundled.data_dir() / name / "unseen.csv").is_file():
            unseen = data.from_csv(bundled.data_dir() / name / "unseen.csv", labels=names)
        cue = bundled.unseen_cue_mask(name) if name == "pets" else None
        table, right = {}, {}
        for recipe in ("plain", "best"):
            for seed in seeds:
                run = _run(dataset, RECIPES[recipe], seed)
                ok = run.predictions == run.label_ids
                row = {"test": ok.mean(), "macro-F1": run.metrics["macro_f1"],
                       "training (s)": run.metrics["train_seconds"]}
                unseen_correct = None
                if unseen is not None:
                    guess = predict_proba(run.trainer.model, run.trainer.processing_class, unseen["text"]).argmax(-1)
                    unseen_correct = right_wrong(guess, unseen["label"])
                    row["unseen.csv"] = unseen_correct.count("1") / len(unseen_correct)
                if cue is not None:
                    row["seen-cue"], row["unseen-cue"] = ok[~cue].mean(), ok[cue].mean()
                row["epoch kept"] = run.metrics.get("best_epoch", 3)
                table.setdefault(recipe, []).append(row)
                records.append({"data": name, "method": recipe, "seed": seed, "accuracy": float(ok.mean()),
                                "macro_f1": float(run.metrics["macro_f1"]),
                                "correct": right_wrong(run.predictions, run.label_ids), "unseen_correct": unseen_correct,
                                "train_seconds": round(float(run.metrics["train_seconds"]), 2),
                                "epoch_kept": row["epoch kept"]})
                right[recipe, seed] = ok
                print(f"  {name} {recipe} seed {seed}: test {ok.mean():.3f} in {run.metrics['train_seconds']:.0f} s",
                      flush=True)
        columns = list(table["plain"][0])
        n_test = len(dataset["test"])
        lines += [f"### {name} ({n_test} test items)", "",
                  "| recipe | " + " | ".join(columns) + " |", "| --- |" + " --- |" * len(columns)]
        for recipe, rows in table.items():
            cells = []
            for column in columns:
                values = [r[column] for r in rows]
                if column == "epoch kept":
                    cells.append(", ".join(str(v) for v in values))
                elif column == "training (s)":
                    cells.append(f"{np.mean(values):.1f}")
                else:
                    mean, sd = mean_sd(values)
                    cells.append(f"{mean:.3f} ± {sd:.3f}")
            lines.append(f"| {recipe} | " + " | ".join(cells) + " |")
        gains = [b["test"] - a["test"] for a, b in zip(table["plain"], table["best"])]
        mean_gain, sd_gain = mean_sd(gains)
        pairs = []
        for seed in seeds:
            a, b = right["best", seed], right["plain", seed]
            p = mcnemar_exact(a, b)
            pairs.append(f"seed {seed}: {int((a & ~b).sum())} to {int((b & ~a).sum())} "
                         f"(p {'< 0.001' if p < 0.001 else f'= {p:.3f}'})")
        time_ratio = np.mean([r["training (s)"] for r in table["best"]]) / np.mean(
            [r["training (s)"] for r in table["plain"]])
        lines += ["", f"Paired, per seed, test items right with best only to right with plain only (exact McNemar "
                      f"p): {'; '.join(pairs)}. Test accuracy gain of best over plain: {mean_gain:+.3f} ± {sd_gain:.3f} "
                      f"(sample SD over the seeds; best ahead on {sum(g > 0 for g in gains)} of {len(gains)}). "
                      f"Training time, best / plain: {time_ratio:.2f}×.", ""]
        best = table["best"]
        headline.append(f"{name}: best {np.mean([r['test'] for r in best]):.3f} vs plain "
                        f"{np.mean([r['test'] for r in table['plain']]):.3f}"
                        + (f", unseen {np.mean([r['unseen.csv'] for r in best]):.3f}" if unseen is not None else "")
                        + f", time {time_ratio:.2f}x")
    # every run's right/wrong answer per test note, for the paired comparisons of notebook 02
    academic.save_record("recipes", "python benchmarks/run.py --only recipes", records,
                         (time.perf_counter() - start) / 60, f"{torch.get_num_threads()} thread(s)",
                         {"datasets": list(datasets), "seeds": list(seeds), "recipes": {k: RECIPES[k] for k in ("plain", "best")}},
                         code)
    return lines, "recipes: " + "; ".join(headline)

def select(seeds=(42, 1, 2), dataset_name="pets", names=None) -> dict:
    """Each candidate's best-epoch validation macro-F1 and training seconds, one per seed in ``seeds``
    (the candidates in ``names``, all by default)."""
    from sft_teach import data
    from sft_teach.environment import quiet_libraries

    quiet_libraries()
    dataset = data.load(dataset_name)
    runs = {}
    for name in names or CANDIDATES:
        scores, seconds = [], []
        for seed in seeds:
            run = _candidate_run(dataset, Candidate(*CANDIDATES[name]), seed)
            scores.append(max(row["eval_macro_f1"] for row in run.history["eval"]))
            seconds.append(run.metrics["train_seconds"])
            print(f"  {name} seed {seed}: validation macro-F1 {scores[-1]:.3f} in {seconds[-1]:.0f} s", flush=True)
        runs[name] = {"validation_macro_f1": scores, "train_seconds": seconds}
    return {"dataset": dataset_name, "seeds": list(seeds), "candidates": runs}


def choose(selection: dict) -> str:
    """The candidate the rule picks (see :func:`selection_report`) from :func:`select`'s result."""
    from sft_teach.stats import mean_sd

    stats = {name: mean_sd(run["validation_macro_f1"]) for name, run in selection["candidates"].items()
             if passes(CANDIDATES[name]) <= BUDGET_PASSES}  # over the time budget: not a candidate
    top = max(stats, key=lambda name: stats[name][0])
    tied = [name for name in stats  # the top, and those closer to it than the larger of the two seed SDs
            if name == top or stats[top][0] - stats[name][0] < max(stats[top][1], stats[name][1])]
    cost = {name: passes(CANDIDATES[name]) for name in tied}
    cheapest = [name for name in tied if cost[name] == min(cost.values())]
    return max(cheapest, key=lambda name: stats[name][0])


def selection_report(selection: dict) -> str:
    """``benchmarks/recipe_selection.md``: the candidates' table, how it was made, and the choice."""
    from sft_teach.stats import mean_sd

    name = selection["dataset"]
    measured = selection.get("measured", {})
    dates = sorted(set(measured.values()))
    one_run = len(dates) <= 1  # all measured on one day and machine: said once, else per candidate
    # "DATE on: MACHINE": the table gives the date; the machine is said once if it is the same for all
    machines = sorted({value.split(" on: ", 1)[-1] for value in dates})
    when = {candidate: value.split(" on: ", 1)[0] for candidate, value in measured.items()}
    # seconds compare only within one run of --select: each candidate's are also given relative to the
    # first candidate's first seed, timed in the same run (time_reference)
    reference = selection.get("time_reference", {})
    table = [f"| candidate ({name}) | validation macro-F1 | passes | training (s) | time / first's |"
             + ("" if one_run else " measured |"), "| --- | --- | --- | --- | --- |" + ("" if one_run else " --- |")]
    for candidate, run in selection["candidates"].items():
        mean, sd = mean_sd(run["validation_macro_f1"])
        seconds = np.mean(run["train_seconds"])
        ratio = f"{seconds / reference[candidate]:.2f}" if candidate in reference else "not recorded"
        table.append(f"| {candidate} | {mean:.3f} ± {sd:.3f} | {passes(CANDIDATES[candidate]):.1f} | {seconds:.1f} | "
                     f"{ratio} |" + ("" if one_run else f" {when.get(candidate, 'not recorded')} |"))
    # by date (the record keeps the candidates in their table's order, not in the order they ran)
    order = sorted(reference, key=lambda c: (when.get(c, ""), list(reference).index(c)))
    runs = sorted(set(reference.values()), key=lambda r: min(order.index(c) for c in reference if reference[c] == r))
    said = ", ".join(f"{r:.1f}" for r in runs[:-1]) + f" and {runs[-1]:.1f}"
    timing = ("The machine's speed changed between runs of `--select`: the first candidate, seed "
              f"{selection['seeds'][0]}, took {said} s in them (same validation score), so seconds compare only "
              "within a run; *time / first's* is each candidate's mean "
              "seconds over that reference run's, timed in the same run of `--select`."
              if len(runs) > 1 else
              f"*Time / first's* is each candidate's mean seconds over the first candidate's, seed {selection['seeds'][0]}.")
    return "\n".join([
        "# How `--recipe best` was chosen", "",
        "Written by `python benchmarks/recipes.py --select` (the runs are in `results/recipe_selection.json`; "
        "`--select --missing` runs only the candidates the record lacks, and the first candidate once more to time the machine; `--report` writes this page again from the record). "
        + (f"Measured {dates[0]}." if dates and one_run else
           f"Measured on the dates in the table, on: {machines[0]}." if len(machines) == 1 else
           "Measured on the dates in the table, on these machines: " + "; ".join(dates) + "."), "",
        "Candidates that train the head first (body frozen, 1e-3) and then everything, each kept at its "
        f"best validation epoch; validation macro-F1 on the {name} validation split, mean ± sample SD over "
        f"seeds {', '.join(map(str, selection['seeds']))}. The test split plays no part. The time budget is "
        f"1.5× the plain recipe's cost in passes over the training data (3 epochs of everything, {PLAIN_PASSES} passes, "
        f"as the rule below counts them): {BUDGET_PASSES:g} passes. The plain recipe's training time is in RESULTS.md "
        "(recipes), where the default's is compared with it in seconds, in one run.", "",
        "The head reads the body's last layer at the first token ([CLS]) through BERT's pooler layer (dense + "
        "tanh) and a linear classifier, as the model `finetune` loads does, unless the candidate says *mean "
        "pooling*: the mean of the last layer over the real tokens, the pooling the bundled sentence encoder "
        "was trained with, then the same pooler layer and classifier (or, *without the pooler layer*, straight "
        "into the classifier). Those candidates train their head-only phase through the frozen body every "
        "epoch, which is why their seconds are higher; mean-pooled features could be stored as the first "
        "token's are, so the rule counts the same passes for them.", "",
        "Candidates that say *thawing G groups an epoch* use gradual unfreezing (ULMFiT Sec. 3.3, notebook 04) "
        "after the head-only phase: the first epoch trains the head and the top G - 1 encoder layers, each "
        "later epoch G more groups, down to the embeddings, then everything (the paper thaws one group an "
        "epoch, which would take 7 epochs before everything trains). *Discriminative rates from η* give the "
        "head η and each layer group below it the rate of the group above divided by 2.6 (ULMFiT Sec. 3.2, the rule below Eq. 2), "
        "down to η / 2.6⁷ for the embeddings.", "",
        "Candidates that say *LoRA r=4* train, after the head-only phase, only low-rank adapters of rank 4 on "
        "the attention's query and value projections (Hu et al. 2022; `sft_teach.lora.add_lora`, notebook 06) "
        "and the head, at notebook 06's LoRA rate, 1e-3; every pretrained weight stays frozen.", "",
        *table, "", timing, "",
        "Discriminative rates change no pass (every layer still trains), yet those candidates took longer "
        "than others of 10 passes; they build their own AdamW with a parameter group per layer "
        "(`sft_teach.ulmfit.optimizers`), and why that was slower was not measured. The rule counts passes.", "",
        f"The rule: among the candidates within the time budget ({BUDGET_PASSES:g} passes), the highest mean validation macro-F1; a "
        "difference smaller than the larger of the two candidates' seed SDs is a tie, and the cheaper "
        "candidate wins. Cost is counted in passes over the training data, not in the seconds above, which "
        "differ by noise and by machine between runs of equal work (*passes* in the table): the head-only phase is one forward pass through the "
        "frozen body, whatever its epochs (the features are computed once and stored), an epoch of everything "
        "is a forward and a backward pass, about three, and a thawing epoch 1 + 2 × the share of the encoder "
        "layers thawed (the backward pass stops at the lowest of them), and an epoch of LoRA two (the backward "
        "pass runs through every layer for the adapters' gradients, but computes no gradient of a frozen weight, "
        "about half its work). Between tied "
        f"candidates of equal cost the higher mean wins: nothing else tells them apart. The rule picks **{choose(selection)}**, which is "
        "`--recipe best` (`sft_teach.training.RECIPES`).", ""])


if __name__ == "__main__":
    import datetime
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import machine  # noqa: E402

    if sys.argv[1:] == ["--report"]:  # the report again from the record, no training
        import json

        here = Path(__file__).resolve().parent
        report = selection_report(json.loads((here / "results" / "recipe_selection.json").read_text()))
        (here / "recipe_selection.md").write_text(report)
        print(report)
    elif sys.argv[1:2] == ["--select"]:
        import json

        here = Path(__file__).resolve().parent
        recorded = here / "results" / "recipe_selection.json"
        if sys.argv[2:] == ["--missing"]:  # only the candidates the record lacks, added to it
            selection = json.loads(recorded.read_text())
            missing = [name for name in CANDIDATES if name not in selection["candidates"]]
            selection["candidates"].update(select(selection["seeds"], selection["dataset"], missing)["candidates"])
            selection["measured"] = {**selection.get("measured", {}),
                                     **{name: f"{datetime.date.today().isoformat()} on: {machine()}" for name in missing}}
            # the first candidate's first seed again, in this run: the machine may be faster or slower today
            first = select(selection["seeds"][:1], selection["dataset"], list(CANDIDATES)[:1])["candidates"]
            seconds = first[list(CANDIDATES)[0]]["train_seconds"][0]
            selection["time_reference"] = {**selection.get("time_reference", {}), **{name: seconds for name in missing}}
        else:
            selection = select()
            selection["measured"] = {name: f"{datetime.date.today().isoformat()} on: {machine()}" for name in CANDIDATES}
            seconds = selection["candidates"][list(CANDIDATES)[0]]["train_seconds"][0]
            selection["time_reference"] = {name: seconds for name in CANDIDATES}
        recorded.write_text(json.dumps(selection, indent=1) + "\n")
        report = selection_report(selection)
        (here / "recipe_selection.md").write_text(report)
        print(report)
