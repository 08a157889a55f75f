"""The recipes of `sft-teach finetune`: `--recipe best` against `--recipe plain`, five seeds, pets and clinic.

Each run is the command's own call of `sft_teach.training.finetune` with the command's defaults
(bundled model, 3 epochs at 1e-4, batch 16) and the settings of `sft_teach.cli.RECIPES`:
`best` trains the head alone for 3 epochs at 1e-3 first and keeps the epoch with the best
validation macro-F1; `plain` is notebook 02's recipe (no head-only phase, the last epoch kept).
Scores are on each dataset's test split, which chose nothing; on pets also on `unseen.csv` and on
the test notes whose cue words never occur in training. Both recipes see the same seeds, so the
comparison is paired: per seed, the test items one recipe gets right and the other wrong.

    python benchmarks/run.py --only recipes
"""

from __future__ import annotations

import numpy as np

SEEDS = (42, 1, 2, 3, 4)


def _run(dataset, recipe: dict, seed: int):
    from sft_teach.training import finetune

    return finetune("default", dataset, seed=seed, head_epochs=recipe["head_epochs"], best_epoch=recipe["best_epoch"],
                    save=False, progress=False)


def section_recipes(seeds=SEEDS, datasets=("pets", "clinic")) -> tuple[list[str], str]:
    from sft_teach import data
    from sft_teach.cli import RECIPES
    from sft_teach.environment import quiet_libraries
    from sft_teach.inference import predict_proba
    from sft_teach.stats import mean_sd, mcnemar_exact

    quiet_libraries()
    lines = ["## Recipes of `sft-teach finetune`: best (the default) vs plain", "",
             "`sft-teach finetune` with its defaults (bundled model, 3 epochs at 1e-4, batch 16) and each "
             "`--recipe`: **best** trains the new head alone for 3 epochs at 1e-3, body frozen, then everything, "
             "and keeps the epoch with the best validation macro-F1; **plain** is notebook 02's recipe (no "
             "head-only phase, the last epoch kept). Mean ± sample SD (ddof = 1) over seeds "
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
            pairs.append(f"seed {seed}: {int((a & ~b).sum())} to {int((b & ~a).sum())} "
                         f"(p = {mcnemar_exact(a, b):.3f})")
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
