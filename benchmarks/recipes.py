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
plain recipe's training time), each kept at its best validation epoch, compared by validation
macro-F1 alone (the test split plays no part in the choice).
"""

from __future__ import annotations

import numpy as np

SEEDS = (42, 1, 2, 3, 4)
# name: (head epochs at 1e-3, epochs of everything, peak learning rate of everything, pooling)
# pooling: how the head reads the body's last layer (POOLINGS)
CANDIDATES = {"head 3 ep, then 3 ep at 1e-4": (3, 3, 1e-4, "first token"),
              "head 3 ep, then 3 ep at 2e-4": (3, 3, 2e-4, "first token"),
              "head 3 ep, then 3 ep at 5e-4": (3, 3, 5e-4, "first token"),  # notebook 02's rate, chosen there on validation
              "head 1 ep, then 4 ep at 1e-4": (1, 4, 1e-4, "first token"),
              # with the head phase one pass (stored features), a fourth epoch of everything fits the budget
              "head 3 ep, then 4 ep at 1e-4": (3, 4, 1e-4, "first token"),
              "head 3 ep, then 4 ep at 2e-4": (3, 4, 2e-4, "first token"),
              # the pooling the bundled sentence encoder was trained with, with and without BERT's pooler layer
              "mean pooling, head 3 ep, then 3 ep at 1e-4": (3, 3, 1e-4, "mean"),
              "mean pooling without the pooler layer, head 3 ep, then 3 ep at 1e-4": (3, 3, 1e-4, "mean, no pooler layer")}


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


def _candidate_run(dataset, head: int, epochs: int, lr: float, pooling: str, seed: int):
    """One candidate, one seed, as `finetune` runs it (best validation epoch kept, nothing saved)."""
    import transformers

    from sft_teach.models import load_classifier
    from sft_teach.training import finetune

    settings = dict(seed=seed, head_epochs=head, num_train_epochs=epochs, learning_rate=lr, best_epoch=True,
                    save=False, progress=False)
    if POOLINGS[pooling] is None:
        return finetune("default", dataset, **settings)
    transformers.set_seed(seed)  # the same new head as finetune would draw
    model, tokenizer = load_classifier("default", dataset["train"].features["label"].names)
    model.__class__ = POOLINGS[pooling]()  # same weights, another forward
    # not BertForSequenceClassification itself, so the head-only phase trains through the frozen body
    # every epoch (its result is the same as with stored features, only slower; the rule counts passes)
    return finetune(model, dataset, tokenizer=tokenizer, **settings)


def _run(dataset, recipe: dict, seed: int):
    from sft_teach.training import finetune

    return finetune("default", dataset, seed=seed, **recipe, save=False, progress=False)


def section_recipes(seeds=SEEDS, datasets=("pets", "clinic")) -> tuple[list[str], str]:
    from sft_teach import data
    from sft_teach.training import RECIPES, rate_text
    from sft_teach.environment import quiet_libraries
    from sft_teach.inference import predict_proba
    from sft_teach.stats import mean_sd, mcnemar_exact

    quiet_libraries()
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
        if (data.data_dir() / name / "unseen.csv").is_file():
            unseen = data.from_csv(data.data_dir() / name / "unseen.csv", labels=names)
        cue = data.unseen_cue_mask(name) if name == "pets" else None
        table, right = {}, {}
        for recipe in ("plain", "best"):
            for seed in seeds:
                run = _run(dataset, RECIPES[recipe], seed)
                ok = run.predictions == run.label_ids
                row = {"test": ok.mean(), "macro-F1": run.metrics["macro_f1"],
                       "training (s)": run.metrics["train_seconds"]}
                if unseen is not None:
                    guess = predict_proba(run.trainer.model, run.trainer.processing_class, unseen["text"]).argmax(-1)
                    row["unseen.csv"] = (guess == np.asarray(unseen["label"])).mean()
                if cue is not None:
                    row["seen-cue"], row["unseen-cue"] = ok[~cue].mean(), ok[cue].mean()
                row["epoch kept"] = run.metrics.get("best_epoch", 3)
                table.setdefault(recipe, []).append(row)
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
            run = _candidate_run(dataset, *CANDIDATES[name], seed)
            scores.append(max(row["eval_macro_f1"] for row in run.history["eval"]))
            seconds.append(run.metrics["train_seconds"])
            print(f"  {name} seed {seed}: validation macro-F1 {scores[-1]:.3f} in {seconds[-1]:.0f} s", flush=True)
        runs[name] = {"validation_macro_f1": scores, "train_seconds": seconds}
    return {"dataset": dataset_name, "seeds": list(seeds), "candidates": runs}


def choose(selection: dict) -> str:
    """The candidate the rule picks (see :func:`selection_report`) from :func:`select`'s result."""
    from sft_teach.stats import mean_sd

    stats = {name: mean_sd(run["validation_macro_f1"]) for name, run in selection["candidates"].items()}
    top = max(stats, key=lambda name: stats[name][0])
    tied = [name for name in stats  # the top, and those closer to it than the larger of the two seed SDs
            if name == top or stats[top][0] - stats[name][0] < max(stats[top][1], stats[name][1])]
    # cost in forward passes over the training data: the head-only phase is one, however many epochs
    # (the frozen body's features are computed once; the head's own work is negligible), an epoch of
    # everything three (backward ~ 2 forwards)
    cost = {name: (CANDIDATES[name][0] > 0) + 3 * CANDIDATES[name][1] for name in tied}
    cheapest = [name for name in tied if cost[name] == min(cost.values())]
    return max(cheapest, key=lambda name: stats[name][0])


def selection_report(selection: dict) -> str:
    """``benchmarks/recipe_selection.md``: the candidates' table, how it was made, and the choice."""
    from sft_teach.stats import mean_sd

    name = selection["dataset"]
    measured = selection.get("measured", {})
    dates = sorted(set(measured.values()))
    one_run = len(dates) <= 1  # all measured on one day and machine: said once, else per candidate
    table = [f"| candidate ({name}) | validation macro-F1 | training (s) |" + ("" if one_run else " measured |"),
             "| --- | --- | --- |" + ("" if one_run else " --- |")]
    for candidate, run in selection["candidates"].items():
        mean, sd = mean_sd(run["validation_macro_f1"])
        table.append(f"| {candidate} | {mean:.3f} ± {sd:.3f} | {np.mean(run['train_seconds']):.1f} |"
                     + ("" if one_run else f" {measured.get(candidate, 'not recorded')} |"))
    return "\n".join([
        "# How `--recipe best` was chosen", "",
        "Written by `python benchmarks/recipes.py --select` (the runs are in `results/recipe_selection.json`; "
        "`--select --missing` runs only the candidates the record lacks). "
        + (f"Measured {dates[0]}." if dates and one_run else "Measured on the dates and machines in the table."), "",
        "Candidates that train the head first (body frozen, 1e-3) and then everything, each kept at its "
        f"best validation epoch; validation macro-F1 on the {name} validation split, mean ± sample SD over "
        f"seeds {', '.join(map(str, selection['seeds']))}. The test split plays no part. The plain recipe's "
        "training time on the same machine is in RESULTS.md (recipes); the budget is 1.5× it.", "",
        "The head reads the body's last layer at the first token ([CLS]) through BERT's pooler layer (dense + "
        "tanh) and a linear classifier, as the model `finetune` loads does, unless the candidate says *mean "
        "pooling*: the mean of the last layer over the real tokens, the pooling the bundled sentence encoder "
        "was trained with, then the same pooler layer and classifier (or, *without the pooler layer*, straight "
        "into the classifier). Those candidates train their head-only phase through the frozen body every "
        "epoch, which is why their seconds are higher; mean-pooled features could be stored as the first "
        "token's are, so the rule counts the same passes for them.", "",
        *table, "",
        "The rule: among the candidates within the time budget, the highest mean validation macro-F1; a "
        "difference smaller than the larger of the two candidates' seed SDs is a tie, and the cheaper "
        "candidate wins. Cost is counted in passes over the training data, not in the seconds above, which "
        "differ by noise between runs of equal work: the head-only phase is one forward pass through the "
        "frozen body, whatever its epochs (the features are computed once and stored), an epoch of everything "
        "is a forward and a backward pass, about three. Between tied "
        f"candidates of equal cost the higher mean wins: nothing else tells them apart. The rule picks **{choose(selection)}**, which is "
        "`--recipe best` (`sft_teach.training.RECIPES`).", ""])


if __name__ == "__main__":
    import datetime
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import machine  # noqa: E402

    if sys.argv[1:2] == ["--select"]:
        import json

        here = Path(__file__).resolve().parent
        recorded = here / "results" / "recipe_selection.json"
        if sys.argv[2:] == ["--missing"]:  # only the candidates the record lacks, added to it
            selection = json.loads(recorded.read_text())
            missing = [name for name in CANDIDATES if name not in selection["candidates"]]
            selection["candidates"].update(select(selection["seeds"], selection["dataset"], missing)["candidates"])
            selection["measured"] = {**selection.get("measured", {}),
                                     **{name: f"{datetime.date.today().isoformat()} on: {machine()}" for name in missing}}
        else:
            selection = select()
            selection["measured"] = {name: f"{datetime.date.today().isoformat()} on: {machine()}" for name in CANDIDATES}
        recorded.write_text(json.dumps(selection, indent=1) + "\n")
        report = selection_report(selection)
        (here / "recipe_selection.md").write_text(report)
        print(report)
