"""``sft-teach evaluate``: score a fine-tuned model on labelled texts (a CSV file, a folder's split,
a bundled dataset's), with the model's label ids matched by name and a warning for every reason
the score may mislead (texts seen in training, repeated texts, cut texts, a split that chose the
epoch).

Taught in notebooks/02_technical_recipe.ipynb.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

from sft_teach import cli_conventions, cli_trained_model, score_warnings
from sft_teach.environment import quiet_libraries
from sft_teach.errors import ConfigError, DataError, MissingColumnError, SftTeachWarning
from sft_teach.run_record import as_typed


def _read_labelled(args, source: Path):
    """Texts, labels, lines and the label column of a CSV file to score, read by :func:`cli_trained_model.columns_to_try`."""
    from sft_teach.csv_files import read_csv_rows

    tries, trained = cli_trained_model.columns_to_try(args)
    try:  # read once: a pipe (--data <(...)) can be read once only, and each column tried reads it
        raw = source.read_bytes()
    except OSError:  # missing, a folder, unreadable: the reader's own error names it
        raw = None
    read_as = cli_trained_model.encoding(args, source if raw is None else raw, str(source))
    errors = []
    for text_column, label_column in tries:
        try:
            texts, labels, lines, *_ = read_csv_rows(source, text_column, label_column, read_as, with_lines=True,
                                                    data=raw)
            return texts, labels, lines, label_column
        except MissingColumnError as exc:
            errors.append(exc)
    if trained and trained != tries[0]:
        text_column, label_column = (cli_conventions.shell_word(name) for name in trained)
        raise DataError(f"{errors[0]} (this model was trained with --text-column {text_column} "
                        f"--label-column {label_column})") from None
    raise errors[0]  # about the columns asked for


def _has_splits(data_arg: str) -> bool:
    """Whether ``--data`` names a bundled dataset or a folder: something ``--split`` picks from."""
    from sft_teach.bundled import bundled_datasets

    return data_arg in bundled_datasets() or Path(data_arg).is_dir()


def _is_split(path: Path) -> bool:
    """Whether a CSV file is a split of texts and labels (its header has ``text`` and ``label``): a
    bundled dataset's folder also holds other tables (the reader's labels, the cue words)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:
            header = next(csv.reader(file), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    return {"text", "label"} <= {name.strip() for name in header}


def _labelled(args, names: list[str]):
    """The evaluation texts as a ``Dataset`` whose label ids are the model's (matched by name), and
    ``{label: rows}`` left out by --skip-unknown."""
    from datasets import ClassLabel, Dataset, Features, Value

    from sft_teach.bundled import bundled_columns, bundled_datasets, data_dir
    from sft_teach.data import refuse_an_empty_name
    from sft_teach.labels import as_the_model_spells, case_spellings, known_rows

    refuse_an_empty_name(args.data)  # not the current folder
    source, split = Path(args.data), args.split
    bundled = args.data in bundled_datasets()
    if bundled:
        bundled_columns(args.data, args.text_column, getattr(args, "label_column", None))
    if _has_splits(args.data):  # a bundled dataset, a folder of splits, or a finetune output folder
        folder = data_dir() / args.data if bundled else source
        found = [p for p in (folder / f"{split}.csv", folder / "splits" / f"{split}.csv") if p.is_file()]
        if not found and split == "test" and (folder / "splits").is_dir():
            raise DataError(f"{args.data}/: this run had no test split (its data had train and validation "
                            f"only), so there is nothing held out to score: pass a labelled CSV file (--split "
                            f"validation scores the split that chose the epoch kept: an optimistic score)")
        if not found and (folder / "config.json").is_file() and (folder.parent / "splits").is_dir():
            raise DataError(f"{args.data}: is a model folder: pass the run folder that holds it, {folder.parent}, "
                            f"whose splits/ holds the split to score")
        if not found:
            there = sorted(p.stem for p in [*folder.glob("*.csv"), *folder.glob("splits/*.csv")] if _is_split(p))
            raise DataError(f"{args.data}: no split {split!r} ({split}.csv) " + (
                f"in it; its splits: {', '.join(there)}: pass --split with one of them" if there else
                "in this folder: pass the CSV file to score, or the folder finetune wrote"))
        source = found[0]
        if bundled and not _is_split(source):
            raise DataError(f"{args.data}: {split}.csv is not a split of texts and labels: pass --split with one "
                            f"of {', '.join(sorted(p.stem for p in folder.glob('*.csv') if _is_split(p)))}")
    elif split != "test":
        raise ConfigError(f"--split picks a split of a folder or a bundled dataset; {args.data} is one file, scored "
                          f"whole: drop --split")
    texts, labels, lines, label_column = _read_labelled(args, source)
    if bundled:
        lines = None  # the course's own files: their line numbers help no one
    merge = cli_trained_model.merge_case(args)
    if merge:  # Spam, SPAM -> the model's spam
        spelling = case_spellings(labels, names)
        labels = [spelling.get(label, label) for label in labels]
        if spelling and args.merge_case is None:  # merged because the model's training did: said, not silent
            cli_trained_model.read_notes(args).append(
                ", ".join(f"'{label}' read as '{name}'" for label, name in sorted(spelling.items()))
                + ": labels differing only in case were merged, as in this model's training (--merge-case); "
                  "--no-merge-case refuses them")
    # 'tech support' scores as a saved model's 'tech  support' (and 'Tech Support' too, with --merge-case)
    labels = as_the_model_spells(labels, names, merge_case=merge)
    keep, skipped = known_rows(labels, names, source=args.data if bundled else str(source), lines=lines,
                               label_column=label_column, skip_unknown=args.skip_unknown)
    texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
    features = Features({"text": Value("string"), "label": ClassLabel(names=names)})
    return Dataset.from_dict({"text": texts, "label": [names.index(x) for x in labels]}, features=features), skipped


def cmd_evaluate(args) -> int:
    from sft_teach.inference import evaluate, label_names, load_finetuned, max_length_of
    from sft_teach.stats import wilson_interval

    quiet_libraries()
    max_length = None if args.max_length is None else cli_conventions.max_length(args.max_length)
    args.split = args.split.removesuffix(".csv")  # --split test.csv names the same split as --split test
    model, tokenizer = load_finetuned(args.model)
    dataset, skipped = _labelled(args, label_names(model))
    seen = []  # every warning, said on stderr as found and kept for the JSON line
    if skipped:
        from sft_teach.labels import skipped_line

        seen.append(skipped_line(skipped, len(dataset)))
        cli_conventions.warn(seen)
    texts, labels = dataset["text"][:], dataset["label"][:]
    found = (cli_trained_model.read_notes(args)
             + (_the_training_file(args) or score_warnings.seen_in_training(args.model, texts))
             + score_warnings.repeated(texts, labels))
    if args.split == "train" and _has_splits(args.data) and not any("training split" in w for w in found):
        found.append("train is a training split: if this model was trained on it, the score measures memory, not "
                     "what the model does on new texts: score the test split")
    if cli_trained_model.run_record(args.model).get("best_epoch"):  # validation chose the weights kept
        found += score_warnings.chose_the_epoch(args.model, texts, args.split)
    found += score_warnings.hard_to_read(model, tokenizer, texts, max_length)
    cli_conventions.warn(found)
    seen += found
    with warnings.catch_warnings(record=True) as caught:  # what scoring found (classes with no rows): said below
        warnings.simplefilter("always", SftTeachWarning)
        scores = evaluate(model, tokenizer, dataset, per_class=True, max_length=max_length, warn_about_texts=False)
    after = [str(w.message).removeprefix("evaluate: ") for w in caught if issubclass(w.category, SftTeachWarning)]
    cli_conventions.warn(after)
    seen += after
    # a library's warnings, shown in the command's one line each; not the score's, so not in the JSON line
    cli_conventions.warn(f"{w.category.__name__}: {w.message}" for w in caught
                         if not issubclass(w.category, SftTeachWarning))
    classes = scores.pop("per_class")
    low, high = wilson_interval(round(scores["accuracy"] * len(dataset)), len(dataset))
    print(cli_conventions.json_line({**{k: round(v, 4) for k, v in scores.items()}, "accuracy_interval_95": [round(low, 4), round(high, 4)],
                      "n": len(dataset), "data": as_typed(args.data),
                      # the cut the texts were read with: the training one unless --max-length said another
                      "max_length": max_length or max_length_of(model, tokenizer),
                      **({"split": args.split} if _has_splits(args.data) else {}),
                      **({"skipped": skipped} if skipped else {}),
                      "per_class": {name: {k: v if v is None else round(v, 4) for k, v in row.items()}  # null: no rows
                                    for name, row in classes.items()},
                      "warnings": seen}))
    return 0


def _the_training_file(args) -> list[str]:
    """A warning when the file scored is the very file the model's run read (the same SHA-256, in the
    run's metrics.json): most of its rows were training rows, so the score measures memory."""
    from sft_teach.model_card import data_fingerprint

    run = Path(args.model).parent
    trained_on = cli_trained_model.trained_on(args.model).get("data_sha256")
    source = Path(args.data)
    if not (trained_on and source.is_file() and data_fingerprint(source) == trained_on):
        return []
    command = (f"sft-teach evaluate --model {cli_conventions.shell_word(args.model)} "
               f"--data {cli_conventions.shell_word(run)}")
    instead = (f"score the run's test split instead, {command}"
               if (run / "splits").is_dir() else "score texts kept out of training instead")
    return [f"{args.data} is the file this model was fine-tuned on (the same SHA-256): most of its rows were "
            f"training rows, so this score is optimistic: {instead}"]
