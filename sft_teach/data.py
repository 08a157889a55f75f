"""Labelled text in, model-ready batches out.

* :func:`load` gives a ``datasets.DatasetDict`` with ``train`` / ``validation`` / ``test``
  splits and columns ``text`` (str) and ``label`` (a ``ClassLabel``): a bundled course
  dataset (``"pets"``), a CSV file or folder of CSVs, or a hub dataset when online.
* :func:`from_csv` reads and checks one CSV; every problem is a :class:`DataError`
  that names the file, the row and the column.
* :func:`tokenize` tokenises once, without padding; :func:`collator` pads each batch
  only to its own longest note (dynamic padding).

Taught in notebooks/02_technical_recipe.ipynb.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sft_teach import bundled, csv_files, decoding, splits
from sft_teach.cli_conventions import shell_word
from sft_teach.errors import ConfigError, DataError, MissingColumnError, SftTeachWarning
from sft_teach.labels import as_the_model_spells, case_spellings, known_rows, label_order, names_of, skipped_line

SPLITS = ("train", "validation", "test")


def from_csv(path, text_column: str = "text", label_column: str = "label", labels=None, encoding: str = "utf-8",
             merge_case: bool = False, skip_unknown: bool = False):
    """One CSV file as a ``datasets.Dataset`` with columns ``text`` and ``label`` (ClassLabel).

    ``labels`` fixes the class names and their order (needed so that a test file maps
    ``dog`` to the same id as training did); by default they are the sorted distinct
    labels of the file, numbers by value (``2`` before ``10``). A label outside ``labels`` is a
    :class:`DataError`, unless ``skip_unknown=True``: then its rows are left out, and a
    :class:`~sft_teach.errors.SftTeachWarning` says how many of which label (a held-out file
    with a class the model was never taught can still score the rest). Labels that differ only in case (``Cat``/``cat``)
    stay separate classes (``sft_teach.checks`` warns) unless ``merge_case=True`` spells each as
    its most frequent form.
    """
    dataset, _, read = _csv_dataset(path, text_column, label_column, labels, encoding, merge_case, skip_unknown)
    if read.get("skipped"):
        import warnings

        warnings.warn(f"{path}: {skipped_line(read['skipped'], len(dataset))}", SftTeachWarning, stacklevel=2)
    return dataset


def _csv_dataset(path, text_column, label_column, labels, encoding, merge_case, skip_unknown=False, rows=None):
    """:func:`from_csv`'s ``Dataset``, the line each row starts on, and what reading did to the labels:
    ``{"labels_merged": {label: {"into", "rows"}} (merge_case), "labels_trimmed": rows}``, and
    ``"skipped": {label: rows}`` when skip_unknown left rows out (the file is read once, for
    :func:`load_csv_split`'s report). ``rows``: the file's :class:`Rows`, if already read."""
    from datasets import ClassLabel, Dataset, Features, Value

    if rows is None:
        rows = csv_files.read_csv_rows(path, text_column, label_column, encoding, with_lines=True)
    raw_labels, lines = rows.labels, rows.lines
    names = None if labels is None else [str(x) for x in labels]
    merged = {}
    if merge_case:
        spelling = case_spellings(raw_labels, names or ())
        counts = Counter(raw_labels)
        merged = {label: {"into": into, "rows": counts[label]} for label, into in spelling.items()}
        raw_labels = [spelling.get(label, label) for label in raw_labels]
    if names is not None:  # 'tech support' read as a saved model's 'tech  support'
        raw_labels = as_the_model_spells(raw_labels, names, merge_case=merge_case)
    names = sorted(set(raw_labels), key=label_order) if names is None else names
    keep, skipped = known_rows(raw_labels, names, source=str(path), lines=lines, label_column=label_column,
                               skip_unknown=skip_unknown)
    texts, raw_labels, lines = [rows.texts[i] for i in keep], [raw_labels[i] for i in keep], [lines[i] for i in keep]
    features = Features({"text": Value("string"), "label": ClassLabel(names=names)})
    ids = [names.index(x) for x in raw_labels]
    dataset = Dataset.from_dict({"text": texts, "label": ids}, features=features)
    read = {"labels_merged": merged, "labels_trimmed": rows.labels_trimmed}
    return dataset, lines, {**read, "skipped": skipped} if skipped else read


def by_name(dataset, need=("train", "validation")):
    """``dataset`` as training needs it, or a :class:`DataError` naming what to fix.

    A ``DatasetDict`` with the splits ``need`` (a ``Dataset`` alone is refused: it has no split to
    hold out), columns ``text`` and ``label``, and one list of classes for every split, the train
    split's: a split whose ``ClassLabel`` lists the names in another order, or lacks a class it has
    no rows of (``class_encode_column`` on a split alone does that), has its ids matched to train's
    by *name*, since comparing ids would score a right answer as wrong. String labels become a
    ``ClassLabel`` (names sorted as :func:`from_csv` sorts them). A label that no training row has
    is an error: the model could never predict it.
    """
    from datasets import ClassLabel, Dataset, DatasetDict

    if isinstance(dataset, tuple) and len(dataset) == 2 and isinstance(dataset[0], DatasetDict):
        raise DataError("the data is the (dataset, report) pair that load_with_report returns: pass its first "
                        "item, e.g. dataset, report = sft_teach.data.load_with_report(path)")
    if not isinstance(dataset, DatasetDict):
        made = "" if isinstance(dataset, Dataset) else " once it is a datasets.Dataset (datasets.Dataset.from_pandas, " \
                                                        "from_list or from_dict)"
        raise DataError(f"the data is a {type(dataset).__name__}, not a DatasetDict of splits: split it with "
                        f"sft_teach.splits.split(dataset){made}, or pass the CSV file")
    missing = [name for name in need if name not in dataset]
    if missing:
        raise DataError(f"the data has no {' and no '.join(map(repr, missing))} split (it has "
                        f"{', '.join(map(repr, dataset)) or 'none'}): a run needs {' and '.join(need)} (and test to "
                        f"score on); make one with sft_teach.splits.split, or pass one CSV file to split")
    for name, part in dataset.items():
        absent = [column for column in ("text", "label") if column not in part.column_names]
        if absent:
            raise DataError(f"the {name} split has no column {' and no column '.join(map(repr, absent))} (its columns: "
                            f"{', '.join(part.column_names)}): rename them with dataset.rename_column(old, new)")
        splits.require_texts(splits.column(part, "text"), f"the {name} split's text column")
    # each split's labels as names (a ClassLabel's, or strings in one form), matched to train's by name
    written = {name: names_of(splits.column(part, "label"), part.features["label"], f"the {name} split's label column")
               for name, part in dataset.items()}
    feature = dataset["train"].features["label"]
    names = list(feature.names) if isinstance(feature, ClassLabel) else sorted(set(written["train"]), key=label_order)
    parts = {}
    for name, part in dataset.items():
        own = part.features["label"]
        if isinstance(own, ClassLabel) and list(own.names) == names:
            parts[name] = part
            continue
        labels = as_the_model_spells(written[name], names)  # train's 'tech  support' (a ClassLabel's) for 'tech support'
        unknown = sorted(set(labels) - set(names), key=labels.index)
        if unknown:
            raise DataError(f"the {name} split has label{'s' * (len(unknown) > 1)} {', '.join(map(repr, unknown))}, "
                            f"which no train row has (train's: {', '.join(map(repr, names))}): the model could never "
                            f"predict {'it' if len(unknown) == 1 else 'them'}; move some of those rows to train, or "
                            f"remove them")
        ids = [names.index(label) for label in labels]  # each row's class, by name, in train's order
        parts[name] = part.remove_columns("label").add_column("label", ids, feature=ClassLabel(names=names))
    return DatasetDict(parts)


def _from_folder(folder: Path, text_column: str, label_column: str, encoding: str = "utf-8", merge_case: bool = False):
    """A folder's splits used as they are: no cleaning and no merging of labels that differ in case
    (``merge_case`` only changes what such a label is told); labels are read in
    :func:`sft_teach.labels.one_form`, as in every CSV file."""
    from datasets import DatasetDict

    files = [name for name in SPLITS if (folder / f"{name}.csv").is_file()]
    raw = {name: (folder / f"{name}.csv").read_bytes() for name in files}  # each file read once
    decoding.one_encoding(folder.name, {f"{name}.csv": data for name, data in raw.items()})

    def read(name):
        try:
            return csv_files.read_csv_rows(folder / f"{name}.csv", text_column, label_column, encoding,
                                           with_lines=True, data=raw[name])
        except MissingColumnError as error:
            _columns_differ(folder, name, raw, error, text_column, label_column, encoding)

    train = _csv_dataset(folder / "train.csv", text_column, label_column, None, encoding, False, rows=read("train"))[0]
    splits.require_classes(train, f"{folder.name}/train.csv")
    names = train.features["label"].names
    parts = {"train": train}
    for name in files[1:]:
        rows = read(name)
        unknown = sorted(set(rows.labels) - set(names), key=rows.labels.index)  # in the file's order
        twins = {label: known for label in unknown for known in names if known.casefold() == label.casefold()}
        if twins:  # one class spelt two ways
            label, known = next(iter(twins.items()))
            raise DataError(f"{folder.name}/{name}.csv: label '{label}' (line {rows.lines[rows.labels.index(label)]}) "
                            f"differs only in case from '{known}' in {folder.name}/train.csv: spell it the same way "
                            f"in both files" + (" (--merge-case merges the labels of one CSV file: a folder's files "
                                                "are used as they are)" if merge_case else ""))
        if unknown:  # a class with no training example cannot be learnt, whatever the model
            raise DataError(f"{folder.name}/{name}.csv: label{'s' * (len(unknown) > 1)} "
                            f"{', '.join(map(repr, unknown))} (line {rows.lines[rows.labels.index(unknown[0])]}) "
                            f"{'are' if len(unknown) > 1 else 'is'} not in {folder.name}/train.csv, whose labels are "
                            f"{', '.join(map(repr, names))}: add training rows of {'them' if len(unknown) > 1 else 'it'} "
                            f"to train.csv, or correct or remove those rows of {name}.csv")
        parts[name] = _csv_dataset(folder / f"{name}.csv", text_column, label_column, names, encoding, False,
                                   rows=rows)[0]  # read once, above
    if "validation" not in parts:
        raise DataError(f"{folder.name}/: has train.csv but no validation.csv{_other_csv_files(folder)}: add one, or "
                        f"pass a single CSV to split it")
    return DatasetDict(parts)


def _other_csv_files(folder: Path) -> str:
    """The folder's CSV files that are not named as splits (``Train.csv``, ``dev.csv``, ``valid.csv``), for
    a message about a split it lacks: often the split is there under another name."""
    others = sorted(p.name for p in folder.glob("*.csv") if p.stem not in SPLITS)
    if not others:
        return ""
    return (f" (it has {', '.join(others[:4])}{' and more' if len(others) > 4 else ''}: the splits must be named "
            f"{', '.join(f'{name}.csv' for name in SPLITS)}, in lower case)")


def _columns_differ(folder: Path, name: str, raw: dict, error: MissingColumnError, text_column, label_column,
                    encoding):
    """Re-raise ``error`` (``name``.csv lacks a column), saying so when another file of the folder has
    the columns: then no --text-column fits every file, and the headers must be made alike. ``raw``:
    each split's name -> its file's bytes."""
    for other, data in raw.items():
        if other == name:
            continue
        try:
            csv_files.read_csv_rows(folder / f"{other}.csv", text_column, label_column, encoding, data=data)
        except DataError:
            continue
        wanted = " and ".join(f"'{c}'" for c in (text_column, label_column) if c not in error.columns)
        raise MissingColumnError(
            f"{folder.name}/{name}.csv: no column {wanted} (columns found: {csv_files.shown_columns(error.columns)}), "
            f"while {folder.name}/{other}.csv has it: the files of a folder must name their columns alike, so rename "
            f"the column in {name}.csv", error.columns) from None
    raise error


def _from_hub(name: str, text_column: str, label_column: str):
    from datasets import ClassLabel, DatasetDict
    from datasets import load_dataset as hf_load_dataset

    from sft_teach.models import hub_available

    if not hub_available():
        if name.endswith(("/", "\\")):  # meant as a folder: say first that there is none
            raise DataError(f"{name}: folder not found: check the path (relative paths start from {Path.cwd()}/)")
        meant = next((known for known in bundled.bundled_datasets() if known == name.strip().lower()), None)
        raise DataError(
            f"'{name}' is neither a bundled dataset ({', '.join(bundled.bundled_datasets())}) nor a CSV file, and the "
            f"Hugging Face Hub cannot be reached to download it: "
            + (f"did you mean {meant}? (--data {meant}; \"{meant}\" in Python)" if meant else
               "use --data pets (\"pets\" in Python) or a CSV file with text,label columns")
        )
    loaded = hf_load_dataset(name)
    if text_column not in loaded["train"].column_names:
        raise DataError(f"hub dataset '{name}' has no column '{text_column}' (columns: {', '.join(loaded['train'].column_names)}): pass text_column=")
    renames = {old: new for old, new in ((text_column, "text"), (label_column, "label")) if old != new}
    loaded = loaded.rename_columns(renames)
    if not isinstance(loaded["train"].features["label"], ClassLabel):
        loaded = loaded.class_encode_column("label")
    if "validation" not in loaded:
        parts = loaded["train"].train_test_split(test_size=0.1, seed=42, stratify_by_column="label")
        loaded = DatasetDict(train=parts["train"], validation=parts["test"], **({"test": loaded["test"]} if "test" in loaded else {}))
    return loaded.select_columns(["text", "label"])


def refuse_an_empty_name(name: str) -> None:
    """A :class:`DataError` for an empty data name (an unset shell variable, ``--data "$DATA"``), which
    would otherwise read the current folder."""
    if not str(name).strip():
        raise DataError(f"the data name is empty: use --data pets (\"pets\" in Python; {', '.join(bundled.bundled_datasets())} are "
                        f"bundled), a folder of train.csv and validation.csv, or a CSV file")


def load(name_or_path: str = "pets", text_column: str = "text", label_column: str = "label", split_seed: int = 42,
         encoding: str = "utf-8", keep_duplicates: bool = False, merge_case: bool = False):
    """A ``DatasetDict`` with ``train``, ``validation`` (and usually ``test``) splits.

    ``name_or_path`` is a bundled dataset (``"pets"``), a folder holding ``train.csv``
    and ``validation.csv`` (``test.csv`` optional), one CSV file (cleaned and split by
    :func:`load_csv_split`), or a Hugging Face Hub dataset name when online.
    """
    return load_with_report(name_or_path, text_column, label_column, split_seed, encoding,
                            keep_duplicates, merge_case)[0]


def load_with_report(name_or_path: str = "pets", text_column: str = "text", label_column: str = "label",
                     split_seed: int = 42, encoding: str = "utf-8", keep_duplicates: bool = False,
                     merge_case: bool = False):
    """:func:`load`, and the cleaning report of :func:`load_csv_split` (``None`` when nothing was split)."""
    name = str(name_or_path)
    refuse_an_empty_name(name)
    if name in bundled.bundled_datasets():
        bundled.bundled_columns(name, text_column, label_column)
        return _from_folder(bundled.data_dir() / name, "text", "label"), None
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "train.csv").is_file():
            shown = (path.name or path.resolve().name or "").rstrip("/")  # "." names no folder: say which it is
            if (path / "splits" / "train.csv").is_file():  # the folder sft-teach finetune wrote
                raise DataError(f"{shown}/: no train.csv in this folder, which holds a fine-tuning run: its splits "
                                f"are in {shown}/splits/: pass --data {shell_word(path / 'splits')}")
            raise DataError(f"{shown}/: no train.csv in this folder{_other_csv_files(path)}: add train.csv and "
                            f"validation.csv, or pass one CSV file")
        return _from_folder(path, text_column, label_column, encoding, merge_case), None
    from sft_teach.models import looks_like_path

    if path.suffix.lower() in {".csv", ".tsv", ".txt"} or path.exists() or looks_like_path(name):
        return load_csv_split(path, text_column, label_column, split_seed=split_seed, encoding=encoding,
                              keep_duplicates=keep_duplicates, merge_case=merge_case, source=name)
    return _from_hub(name, text_column, label_column), None


def load_csv_split(path, text_column: str = "text", label_column: str = "label", split_seed: int = 42,
                   encoding: str = "utf-8", keep_duplicates: bool = False, merge_case: bool = False,
                   source: str | None = None):
    """``(DatasetDict, report)``: one CSV file, cleaned, then split 80/10/10 (stratified, ``split_seed``).

    Before the split, texts with conflicting labels are settled and repeated texts removed
    (:func:`sft_teach.cleaning.clean`; ``keep_duplicates=True`` opts out), so no text lands in
    both train and test. ``report`` gives the counts, for the learner to see, how many labels
    were written another way than :func:`sft_teach.labels.one_form`'s (``labels_trimmed``: spaces
    around them or doubled inside, another Unicode form), and where the rows came from
    (``read_from``: the file as given, its SHA-256 and the reading options, which
    :func:`sft_teach.training.finetune` records for this pair as it does for a path). Each split
    keeps, beside ``text`` and ``label``, the ``line`` of the file each row starts on, so a held-out
    row can be found there.

    Taught in notebooks/05_your_own_data.ipynb.
    """
    from sft_teach import checks, cleaning
    from sft_teach.model_card import data_fingerprint

    dataset, lines, read = _csv_dataset(path, text_column, label_column, None, encoding, merge_case)
    dataset = dataset.add_column("line", lines)  # each row's line in the file, kept through cleaning and split
    before = Counter(splits.column(dataset, "label"))
    if keep_duplicates:  # nothing removed; what was left in is counted, for the command's line and the card
        texts, labels = splits.column(dataset, "text"), splits.column(dataset, "label")
        report = {"rows": len(dataset), "conflicts_kept_majority": 0, "conflicts_dropped": 0,
                  "conflict_rows_removed": 0, "duplicates_removed": 0, "rows_kept": len(dataset), "dropped": [], "keep_duplicates": True,
                  "duplicates_kept": sum(n - 1 for n in checks.duplicates(texts).values()),
                  "conflicts_kept": checks.conflicts(texts, labels)}
    else:
        dataset, report = cleaning.clean(dataset)
        if not len(dataset):  # every text had copies with labels and none had a majority
            raise DataError(f"{source or path}: every one of its {report['rows']} rows is a text whose copies "
                            f"carry different labels with no majority ({cleaning.dropped_list(report['dropped'])}), "
                            f"so cleaning left nothing to train on: decide which label is right for each and keep "
                            f"one row of it")
    report.update(read, split_seed=split_seed)
    # where the rows came from, so that finetune records this pair by its file, as it records a path
    report["read_from"] = {"data": source or str(path), "data_sha256": data_fingerprint(path),
                           "text_column": text_column, "label_column": label_column, "encoding": encoding,
                           "keep_duplicates": keep_duplicates, "merge_case": merge_case}
    after, names = Counter(splits.column(dataset, "label")), dataset.features["label"].names
    removed = {names[i]: n - after[i] for i, n in before.items() if n > after[i]}  # per class, for a too-small one
    return splits.split(dataset, seed=split_seed, source=source or str(path), removed=removed), report


def tokenize(dataset, tokenizer, max_length: int = 128):
    """Token ids for every split (or for one ``Dataset``), computed once, with *no* padding.

    Padding is left to :func:`collator`, per batch. Columns afterwards: ``input_ids``,
    ``attention_mask`` (and ``token_type_ids`` for BERT), ``labels`` (int).
    """
    from datasets import DatasetDict
    from datasets.fingerprint import generate_random_fingerprint

    from sft_teach.setting_checks import whole

    if not whole(max_length, least=2):  # 0 kept only the special tokens, -1 overflowed inside the tokenizer
        raise ConfigError(f"max_length= must be a whole number of tokens, at least 2 (the special tokens alone), "
                          f"got {max_length!r}: e.g. 128")

    def encode(batch):
        return tokenizer(batch["text"], truncation=True, max_length=max_length)

    def one(split):
        # ``map`` names its result by hashing ``encode``, and so the whole tokenizer it captures:
        # about 0.2 s of pickling per call, paid again by every run of a sweep. The result is only
        # kept in memory (no cache file that a name would let a later call reuse), so a fresh
        # random name does the same job for nothing.
        # every column but the label goes: the text, and a CSV's source lines (load_csv_split)
        return split.map(encode, batched=True, remove_columns=[c for c in split.column_names if c != "label"],
                         keep_in_memory=True,
                         new_fingerprint=generate_random_fingerprint()).rename_column("label", "labels")

    if isinstance(dataset, DatasetDict):
        return DatasetDict({name: one(split) for name, split in dataset.items()})
    return one(dataset)


def check_tokenised(split, where: str, labels: bool = True) -> None:
    """One split as :func:`tokenize` returns it (``input_ids``, and ``labels`` if ``labels``), with rows:
    not the ``DatasetDict`` of splits, nor the texts before tokenising. One line, not a ``KeyError``
    or a tokenizer's "You should supply an encoding" from inside."""
    from datasets import Dataset, DatasetDict

    if isinstance(split, DatasetDict):
        raise ConfigError(f"{where} takes one tokenised split, e.g. encoded['train'], got a DatasetDict of the splits "
                          f"{', '.join(split)}")
    if not isinstance(split, Dataset):
        raise ConfigError(f"{where} takes one tokenised split (a Dataset from data.tokenize), got {type(split).__name__}")
    missing = [c for c in ("input_ids", *(("labels",) if labels else ())) if c not in split.column_names]
    if missing:
        raise ConfigError(f"{where}: the split has no {' or '.join(missing)} column (its columns: "
                          f"{', '.join(split.column_names)}): tokenise it first, data.tokenize(split, tokenizer)")
    if len(split) == 0:
        raise ConfigError(f"{where}: the split has no rows")


def collator(tokenizer):
    """Pads each batch to its own longest sequence (``(batch, longest_in_batch)``)."""
    from transformers import DataCollatorWithPadding

    return DataCollatorWithPadding(tokenizer)


def padding_cost(lengths, batch_size: int, max_length: int) -> dict:
    """Token slots spent on padding: pad-to-``max_length`` vs dynamic padding per batch.

    ``lengths`` are the real token counts in the order the batches are drawn.
    """
    from sft_teach.setting_checks import whole

    lengths = list(lengths)
    if not lengths or not whole(batch_size, least=1) or max(lengths) > max_length:
        raise ConfigError(f"padding_cost needs at least one length, batch_size >= 1 and no length above max_length "
                          f"(texts are cut there): got {len(lengths)} lengths up to {max(lengths, default=0)}, "
                          f"batch_size={batch_size!r}, max_length={max_length!r}")
    real = sum(lengths)
    fixed = len(lengths) * max_length
    dynamic = sum(
        max(lengths[i : i + batch_size]) * len(lengths[i : i + batch_size])
        for i in range(0, len(lengths), batch_size)
    )
    return {"real_tokens": real, "padded_to_max": fixed, "dynamic": dynamic,
            "pad_to_max_waste": 1 - real / fixed, "dynamic_waste": 1 - real / dynamic}
