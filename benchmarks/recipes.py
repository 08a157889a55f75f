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
# name: (head epochs at 1e-3, epochs of everything, peak learning rate of everything)
CANDIDATES = {"head 3 ep, then 3 ep at 1e-4": (3, 3, 1e-4),
              "head 3 ep, then 3 ep at 2e-4": (3, 3, 2e-4),
              "head 3 ep, then 3 ep at 5e-4": (3, 3, 5e-4),  # notebook 02's rate, chosen there on validation
              "head 1 ep, then 4 ep at 1e-4": (1, 4, 1e-4),
              # with the head phase one pass (stored features), a fourth epoch of everything fits the budget
              "head 3 ep, then 4 ep at 1e-4": (3, 4, 1e-4),
              "head 3 ep, then 4 ep at 2e-4": (3, 4, 2e-4)}


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


def select(seeds=(42, 1, 2), dataset_name="pets") -> dict:
    """Each candidate's best-epoch validation macro-F1 and training seconds, one per seed in ``seeds``."""
    from sft_teach import data
    from sft_teach.environment import quiet_libraries
    from sft_teach.training import finetune

    quiet_libraries()
    dataset = data.load(dataset_name)
    runs = {}
    for name, (head, epochs, lr) in CANDIDATES.items():
        scores, seconds = [], []
        for seed in seeds:
            run = finetune("default", dataset, seed=seed, head_epochs=head, num_train_epochs=epochs, learning_rate=lr,
                           best_epoch=True, save=False, progress=False)
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


def selection_report(selection: dict, measured: str) -> str:
    """``benchmarks/recipe_selection.md``: the candidates' table, how it was made, and the choice."""
    from sft_teach.stats import mean_sd

    name = selection["dataset"]
    table = [f"| candidate ({name}) | validation macro-F1 | training (s) |", "| --- | --- | --- |"]
    for candidate, run in selection["candidates"].items():
        mean, sd = mean_sd(run["validation_macro_f1"])
        table.append(f"| {candidate} | {mean:.3f} ± {sd:.3f} | {np.mean(run['train_seconds']):.1f} |")
    return "\n".join([
        "# How `--recipe best` was chosen", "",
        "Written by `python benchmarks/recipes.py --select` (the runs are in `results/recipe_selection.json`). "
        + measured, "",
        "Candidates that train the head first (body frozen, 1e-3) and then everything, each kept at its "
        f"best validation epoch; validation macro-F1 on the {name} validation split, mean ± sample SD over "
        f"seeds {', '.join(map(str, selection['seeds']))}. The test split plays no part. The plain recipe's "
        "training time on the same machine is in RESULTS.md (recipes); the budget is 1.5× it.", "",
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

    if sys.argv[1:] == ["--select"]:
        import json

        here = Path(__file__).resolve().parent
        selection = select()
        (here / "results" / "recipe_selection.json").write_text(json.dumps(selection, indent=1) + "\n")
        report = selection_report(selection, f"Measured {datetime.date.today().isoformat()} on: {machine()}.")
        (here / "recipe_selection.md").write_text(report)
        print(report)
