"""A model card: the ``README.md`` that travels with a fine-tuned model folder.

A model folder without a card is a file nobody can judge: which data, which settings, how good,
for what. Model cards (Mitchell et al. 2019, "Model Cards for Model Reporting") answer that in
the folder itself; the Hugging Face Hub shows a model's ``README.md`` as its page, and reads the
YAML block at its top (``base_model``, ``pipeline_tag``, ...).

:func:`write_model_card` writes one from what a run knows: the base model, the data (name or
file hash, split sizes, what cleaning removed), the settings, the validation score after each
epoch and the epoch kept, the test scores with their 95 % Wilson interval, the label names, how
to use it, and its limits.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sft_teach.environment import sha256_of
from sft_teach.stats import wilson_interval


def data_fingerprint(name_or_path) -> str:
    """``sha256:<hex>``: of a file's bytes (what ``sha256sum FILE`` prints), or of a folder's CSV
    files, each name and content in turn (sorted by name); a hub name as is.

    What ``--resume`` compares and the model card records: the data's content, not its file name.
    """
    from sft_teach.bundled import bundled_datasets, data_dir

    name = str(name_or_path)
    path = data_dir() / name if name in bundled_datasets() else Path(name).expanduser()
    if path.is_file():
        return f"sha256:{sha256_of(path)}"
    files = sorted(path.glob("*.csv")) if path.is_dir() else []
    if not files:
        return name
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return f"sha256:{digest.hexdigest()}"


def _interval(accuracy: float, n: int) -> str:
    low, high = wilson_interval(round(accuracy * n), n)
    return f"{accuracy:.3f} (95 % interval {low:.3f}-{high:.3f}, {n} example{'s' * (n != 1)})"


def _value(value) -> str:
    """A setting as a person writes it: 3, not 3.0; "off", not None."""
    if value is None:
        return "off"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def epoch_number(epoch: float):
    """Trainer's epoch count as the record writes it, to 4 places as the history logs it: 2, not 2.0;
    1.6667 for the last evaluation of ``num_train_epochs=1.5`` at 3 steps an epoch (Trainer rounds
    the steps up: 5 steps, 5/3 epochs), not 1.6666666666666667."""
    epoch = round(float(epoch), 4)
    return int(epoch) if epoch.is_integer() else epoch


def _kept(validation_curve: list[dict], best_epoch: int) -> str:
    """Why ``best_epoch`` was kept; on a tie, Trainer keeps the first epoch that reached the best."""
    if len(validation_curve) == 1:
        return f" (epoch {best_epoch} kept: the only one)"
    best = max(row["macro_f1"] for row in validation_curve)
    tied = [f"{row['epoch']:g}" for row in validation_curve if row["macro_f1"] == best]
    if len(tied) > 1:
        return (f" (epoch {best_epoch} kept: epochs {', '.join(tied[:-1])} and {tied[-1]} tied at the best "
                f"macro-F1, and the first of them is kept)")
    return f" (epoch {best_epoch} kept: the best macro-F1)"


def write_model_card(folder, *, base_model: str, data: str, fingerprint: str, split_sizes: dict,
                     settings: dict, validation_curve: list[dict], test_metrics: dict, label_names: list[str],
                     eval_split: str = "test", best_epoch: int | None = None, cleaning: dict | None = None,
                     columns: tuple[str, str] = ("text", "label"), encoding: str | None = None,
                     per_class: dict | None = None,
                     warnings: list[str] = (), base_model_id: str | None = None,
                     software: dict | None = None) -> Path:
    """Write ``folder/README.md``; returns its path.

    ``validation_curve``: one ``{"epoch", "accuracy", "macro_f1"}`` per evaluation;
    ``test_metrics``: ``accuracy`` and ``macro_f1`` on ``eval_split`` (``split_sizes[eval_split]`` items);
    ``columns``: the data's text and label columns; ``encoding``: the CSV's, said when not UTF-8; ``per_class``: :func:`sft_teach.metrics.per_class`
    on ``eval_split``; ``warnings``: what :func:`sft_teach.checks.check` found in the data, then what training showed
    (the run's ``result.warnings``).
    ``base_model_id``: the base's Hub id, for the YAML block (left out for a local folder);
    ``software``: ``{package: version}`` the run trained with.
    """
    folder = Path(folder)
    n_test = split_sizes.get(eval_split, 0)
    sizes = ", ".join(f"{name} {n}" for name, n in split_sizes.items())
    lines = [
        "---",
        "library_name: transformers",
        "pipeline_tag: text-classification",
        # quoted as JSON, which YAML reads as it is: a name with ": " or "#" stays one string
        *([f"base_model: {json.dumps(base_model_id)}"] if base_model_id else []),
        "tags: [sft-teach, text-classification]",
        "---",
        "",
        f"# Text classifier fine-tuned from {base_model}",
        "",
        f"Fine-tuned with sft-teach (`sft-teach finetune`, or `finetune` in Python) to sort short texts into {len(label_names)} classes: "
        + ", ".join(f"`{name}`" for name in label_names) + ".",
        "",
        "## Data",
        "",
        f"- source: `{data}` ({fingerprint})",
        f"- splits: {sizes}",
    ]
    if tuple(columns) != ("text", "label"):
        lines.append(f"- columns: texts in `{columns[0]}`, labels in `{columns[1]}`")
    if encoding and encoding.replace("-", "").replace("_", "").lower() not in ("utf8", "utf8sig"):
        lines.append(f"- read as `{encoding}`")
    if cleaning:
        from sft_teach.cleaning import described

        lines.append(f"- before the split: {described(cleaning)}")
    if warnings:
        lines += ["", "Warnings from this run (the data's, as `sft-teach check` gives them, and the model's), which "
                  "the scores below inherit:", ""]
        lines += [f"- {warning}" for warning in warnings]
    lines += ["", "## Training", "", "| setting | value |", "| --- | --- |"]
    lines += [f"| {key} | {_value(value)} |" for key, value in settings.items()]
    if software:
        lines += ["", "Trained with " + ", ".join(f"{'Python' if name == 'python' else name} {version}"
                                                  for name, version in software.items()) + "."]
    if validation_curve:
        lines += ["", "Validation split after each epoch" + (_kept(validation_curve, best_epoch) + ":"
                                                             if best_epoch else " (the last epoch kept):"),
                  "", "| epoch | accuracy | macro-F1 |", "| --- | --- | --- |"]
        lines += [f"| {row['epoch']:g} | {row['accuracy']:.3f} | {row['macro_f1']:.3f} |" for row in validation_curve]
        run, planned, patience = settings.get("epochs run"), settings.get("epochs"), settings.get("patience")
        if run is not None and planned is not None and patience and run < planned:  # said, not left to subtract
            lines += ["", f"Training stopped early, after epoch {run} of {_value(planned)}: validation macro-F1 had "
                          f"not improved for {patience} epoch{'s' * (patience != 1)} (patience {patience})."]
    # The validation split chose the epoch kept (best_epoch): a score on it is no independent test
    chose = eval_split == "validation" and best_epoch is not None
    lines += ["", "## Evaluation", "",
              f"On the {eval_split} split, "
              + ("which also chose the epoch kept, so this score is optimistic: "
                 + ("the data had no test split" if "test" not in split_sizes else
                    f"the run was scored on it, not on the test split of {split_sizes['test']} examples")
                 + ", and nothing here was measured on texts that played no part in training:" if chose else
                 "which chose nothing during this run (the last epoch was kept); but "
                 + ("the data had no test split" if "test" not in split_sizes else
                    f"the run was scored on it, not on the test split of {split_sizes['test']} examples")
                 + ", so a setting picked by this score would make it optimistic:"
                 if eval_split == "validation" else "which chose nothing during training:"), "",
              f"- accuracy {_interval(test_metrics['accuracy'], n_test)}" if n_test else
              f"- accuracy {test_metrics['accuracy']:.3f}",
              f"- macro-F1 {test_metrics['macro_f1']:.3f}",
              ""]
    lines += ["The interval is the 95 % Wilson score interval for the model's accuracy on texts like these: "
              f"with this many {eval_split} examples, any accuracy in it is consistent with the score measured.",
              ""]
    if per_class:
        absent = [name for name, row in per_class.items() if row["support"] == 0]
        lines += [f"Per class on the {eval_split} split (precision: right among those predicted as the class; "
                  "recall: right among those truly of it; support: examples truly of it):", "",
                  "| class | precision | recall | F1 | support |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {name} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | {row['support']} |"
                  if row["support"] else
                  f"| {name} | {row['precision']:.3f} (predicted, never right) | not measured | {row['f1']:.3f} | 0 |"
                  if row["f1"] is not None else f"| {name} | not measured | not measured | not measured | 0 |"
                  for name, row in per_class.items()]
        lines += [""]
        if absent:
            lines += [f"Class{'es' * (len(absent) > 1)} {', '.join(f'`{a}`' for a in absent)} "
                      f"{'have' if len(absent) > 1 else 'has'} no {eval_split} examples: the scores above say "
                      f"nothing about {'them' if len(absent) > 1 else 'it'}, and macro-F1 averages only the classes among the labels or predictions.", ""]
        lines += ["A class with few examples has a rough row: its scores rest on its support alone.", ""]
    lines += ["## How to use",
              "",
              "```python",
              "from transformers import pipeline",
              "",
              'classify = pipeline("text-classification", model="PATH/TO/THIS/FOLDER", truncation=True)',
              'classify("your text here")',
              "```",
              "",
              f"`truncation=True` cuts texts longer than {settings.get('max_length', 'the training max_length')} "
              "tokens where training did (the tokenizer's `model_max_length`).",
              "",
              "## Intended use and limits",
              "",
              "- Made for texts like those of its training data, in the same language and style. On other texts "
              "its scores say nothing; measure it on a labelled sample of your own first.",
              "- It always answers one of its classes, even for a text of none of them, and its probabilities "
              "are not calibrated (nothing here measured whether a score of 0.9 is right 9 times in 10): a high "
              "score is not a guarantee.",
              f"- The {eval_split} score above comes from a small split; read it with its interval.",
              "- Any bias in the training data (who wrote the texts, which words go with which class) is in the "
              "model too.",
              ""]
    path = folder / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
