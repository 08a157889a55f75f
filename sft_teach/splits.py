"""Stratified train / validation / test splits of one labelled ``Dataset``, and the splits saved as
the CSV files a run keeps.

Stratified: every split keeps the classes' proportions, so a rare class is not left out of the
test split by bad luck; a class too small for that is refused with the fix (often a misspelt
label, else more rows). The same seed always gives the same split.

Taught in notebooks/05_your_own_data.ipynb.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from pathlib import Path

from sft_teach.errors import ConfigError, DataError
from sft_teach.setting_checks import whole


def column(dataset, name: str) -> list:
    """One column of a ``Dataset`` as a list, read at once.

    ``dataset[name]`` is a lazy ``Column`` in datasets 4 and later, and looping over it formats
    one row at a time: 0.8 s for 50,000 labels, against a millisecond for the slice. Checking a
    real export of that size looped over its columns for most of a minute.
    """
    return dataset[name][:]


def require_classes(dataset, source: str) -> None:
    """A :class:`DataError` unless ``dataset`` holds examples of at least two classes."""
    present = sorted(set(column(dataset, "label")))
    if not present:
        raise DataError(f"{source}: has no rows: add one example per line")
    if len(present) < 2:
        label = dataset.features["label"].names[present[0]]
        raise DataError(f"{source}: every row has the label '{label}': a classifier needs examples of at "
                        f"least two classes; add rows with other labels")


def require_texts(texts, where: str = "the text column", rows=None) -> None:
    """A :class:`DataError` naming the rows (0-based) whose text is not a string: a missing value
    (``None``, pandas' ``nan`` or ``pd.NA``), or a number, where data made in Python gets one. Every
    check compares texts as strings, and ``str(None)`` would be the text 'None'. ``rows``: each text's
    row in the data, where ``texts`` are some of its rows (default: their positions)."""
    from sft_teach.labels import is_missing, rows_named

    bad = [i for i, text in enumerate(texts) if not isinstance(text, str)]
    if not bad:
        return
    first = texts[bad[0]]
    bad = bad if rows is None else [rows[i] for i in bad]
    rows = rows_named(bad)
    if is_missing(first):
        raise DataError(f"{where}: {rows} {'have' if len(bad) > 1 else 'has'} no text ({first!r}): leave those rows out "
                        f"first (pandas: df.dropna(subset=['text']); datasets: dataset.filter(lambda row: row['text'] is "
                        f"not None))")
    raise DataError(f"{where}: {rows} {'hold' if len(bad) > 1 else 'holds'} {first!r} ({type(first).__name__}), not a "
                    f"string: every text must be one: convert the column with str, or leave those rows out")


def split(dataset, validation: float = 0.1, test: float = 0.1, seed: int = 42, source: str = "the data",
          removed: dict | None = None):
    """Stratified, reproducible train / validation / test split of one ``Dataset``.

    Stratified: every split keeps the classes' proportions, so a rare class is not left
    out of the test split by bad luck. The same ``seed`` always gives the same split. String
    labels become classes, sorted as :func:`sft_teach.data.from_csv` sorts them.
    ``removed``: ``{class name: rows}`` that cleaning took out before the split, said beside a class
    too small to split (the user counts rows in the file, not in what was split).
    """
    from datasets import DatasetDict

    held_out = validation + test
    shares = [(name, value) for name, value in (("validation", validation), ("test", test))
              if not (isinstance(value, (int, float)) and 0 < value < 1)]
    if shares or held_out >= 1:  # "too few rows" below would misname the mistake
        raise ConfigError(f"validation= and test= are shares of the rows, each between 0 and 1 and together below 1, "
                          f"got {validation!r} and {test!r}: e.g. 0.1 and 0.1 (80/10/10)")
    # checked here: numpy's own error for a negative seed would surface as the "too few rows" below
    if not whole(seed, least=0):
        raise ConfigError(f"split seed must be a whole number, 0 or more, got {seed!r}: e.g. --split-seed 42")
    dataset = _with_classes(dataset)
    require_classes(dataset, source)
    from sft_teach.checks import TINY_CLASS

    # one minimum in every message: enough rows that TINY_CLASS of them train (check's own advice)
    min_rows = math.ceil(TINY_CLASS / (1 - held_out))
    names = dataset.features["label"].names
    # a class cleaning took every row of (its texts all carried other labels too) is in the file, so
    # too small to split, as one with one row is; a class only declared (a hub dataset filtered to
    # some of its classes) is left to check's warning
    counts = {i: 0 for i, name in enumerate(names) if (removed or {}).get(name)} | Counter(column(dataset, "label"))

    def too_few(missed=()):
        if all(n >= min_rows for n in counts.values()):  # enough rows a class: the held-out shares are what is small
            return DataError(f"{source}: {validation:.0%} and {test:.0%} of its {len(dataset)} rows are too few to hold "
                             f"each of its {len(counts)} classes in the validation and test splits: raise validation= "
                             f"and test= (0.1 each by default), add examples, or provide train.csv and validation.csv "
                             f"yourself")
        # every class under the advised size (and any a split missed), smallest first: all fixed in
        # one round, not one per run
        small = sorted((n, names[i]) for i, n in counts.items() if n < min_rows or i in missed)

        def rows(n, name):  # 6 rows after removing 11 repeated or conflicting ones
            gone = (removed or {}).get(name)
            return (f"{n or 'no'} row{'s' * (n != 1)}"
                    + (f" after removing {gone} repeated or conflicting one{'s' * (gone != 1)}" if gone else ""))

        which = (f"class '{small[0][1]}' has {'only ' * bool(small[0][0])}{rows(*small[0])}, too few" if len(small) == 1
                 else "classes " + ", ".join(f"'{name}' ({rows(n, name)})" for n, name in small) + " have too few rows")
        return DataError(f"{source}: {which} to split {1 - held_out:.0%}/{validation:.0%}/{test:.0%} with every class in "
                         f"every split: {_small_class_fix([name for _, name in small], names, min_rows)}")

    try:
        first = dataset.train_test_split(test_size=held_out, seed=seed, stratify_by_column="label")
        second = first["test"].train_test_split(test_size=test / held_out, seed=seed, stratify_by_column="label")
    except ValueError:  # too few rows for the stratified fractions (scikit-learn's rule)
        raise too_few() from None
    parts = DatasetDict(train=first["train"], validation=second["train"], test=second["test"])
    # with very few rows a class can miss a split without an error from the split itself
    missed = {i for part in parts.values() for i in set(counts) - set(column(part, "label"))}
    if missed:
        raise too_few(missed)
    return parts


def _with_classes(dataset):
    """``dataset`` with a ``ClassLabel`` column ``label``: string labels become classes, named in
    :func:`sft_teach.labels.label_order`, as :func:`sft_teach.data.from_csv` names them. Anything but
    a ``datasets.Dataset`` with ``text`` and ``label`` is a :class:`DataError` saying how to make one."""
    from datasets import ClassLabel, Dataset, DatasetDict

    from sft_teach.labels import label_order, names_of

    if isinstance(dataset, DatasetDict):
        raise DataError(f"the data is already split ({', '.join(dataset)}): pass it to finetune as it is, or "
                        f"split one of its parts, e.g. split(dataset['train'])")
    if not isinstance(dataset, Dataset):
        how = {"DataFrame": "datasets.Dataset.from_pandas(df, preserve_index=False)",
               "list": "datasets.Dataset.from_list(rows), rows being dicts with 'text' and 'label'",
               "dict": "datasets.Dataset.from_dict(columns)"}.get(type(dataset).__name__,
                                                                  "datasets.Dataset.from_dict({'text': [...], 'label': [...]})")
        raise DataError(f"split needs a datasets.Dataset, not a {type(dataset).__name__}: make one with {how}")
    absent = [name for name in ("text", "label") if name not in dataset.column_names]
    if absent:
        raise DataError(f"the data has no column {' and no column '.join(map(repr, absent))} (its columns: "
                        f"{', '.join(dataset.column_names)}): rename them with dataset.rename_column(old, new)")
    require_texts(column(dataset, "text"))
    labels = names_of(column(dataset, "label"), dataset.features["label"])  # every row's class, or the one-line error
    if isinstance(dataset.features["label"], ClassLabel):
        return dataset
    names = sorted(set(labels), key=label_order)
    return dataset.remove_columns("label").add_column("label", [names.index(label) for label in labels],
                                                      feature=ClassLabel(names=names))


def _spelt_like(label: str, classes: list[str]) -> str | None:
    """The class among ``classes`` (those large enough) that ``label`` looks like a slip of the keyboard
    for, else ``None``: the same letters with punctuation or spaces added ('cat.'), two neighbours
    swapped ('dgo'), or, in a longer name, one letter dropped, added or changed ('biling'). Not 'bat'
    for 'cat', 'neu' for 'neg' or '10' for '1': short names and numbers differ by one letter on purpose."""
    def plain(name):
        return "".join(c for c in name.lower() if c.isalnum())

    def slip(a, b):
        if a == b:
            return True
        if len(a) == len(b):
            wrong = [i for i in range(len(a)) if a[i] != b[i]]
            swapped = len(wrong) == 2 and wrong[1] == wrong[0] + 1 and a[wrong[0]] == b[wrong[1]] \
                and a[wrong[1]] == b[wrong[0]]
            return swapped or (len(wrong) == 1 and len(a) >= 5)
        short, long = sorted((a, b), key=len)
        return len(long) == len(short) + 1 and len(short) >= 4 and any(long[:i] + long[i + 1:] == short
                                                                        for i in range(len(long)))

    mine = plain(label)
    if not mine or any(c.isdigit() for c in label):
        return None
    return next((name for name in classes if not any(c.isdigit() for c in name) and slip(mine, plain(name))), None)


def _small_class_fix(labels, names, least: int | None = None) -> str:
    """The fix for classes too small to split: often a misspelt label (``Spam`` beside ``spam``),
    else more examples. ``labels``: one class name or several."""
    from sft_teach.checks import TINY_CLASS, case_variants, number_variants

    labels = [labels] if isinstance(labels, str) else list(labels)
    fixes, more, said, cased = [], [], set(), []
    for label in labels:
        group = next((g for g in case_variants(names) if label in g), None)
        number = next((g for g in number_variants(names) if label in g), None)
        if label in said:  # 'dog' beside 'Dog', both too small: one fix says it for both
            continue
        said.update(group or number or ())
        if group:
            cased.append((label, " and ".join(repr(g) for g in group if g != label)))
        elif number:  # a spreadsheet may have turned 1 into 1.0 in some rows
            others = " and ".join(repr(g) for g in number if g != label)
            fixes.append(f"'{label}' is the number {others} written another way: write every label of that class "
                         f"the same way")
        elif like := _spelt_like(label, [name for name in names if name not in labels]):
            fixes.append(f"'{label}' is spelt like '{like}': if it is that class, correct the label in the file; "
                         f"if not, add examples of it")
        else:
            more.append(label)
    if len(cased) == 1:
        fixes.insert(0, f"'{cased[0][0]}' differs only in case from {cased[0][1]}: pass --merge-case (merge_case=True) "
                        f"to make them one class, or fix the spelling")
    elif cased:  # one fix for them all, not the same advice once a label
        fixes.insert(0, ", ".join(f"'{label}' (like {others})" for label, others in cased) + " differ only in case "
                        "from another class: pass --merge-case (merge_case=True) to make each one class with it, or "
                        "fix the spelling")
    if more:
        least = f" ({least} or more {'each ' * (len(more) > 1)}in all, so that {TINY_CLASS} or more are trained on)" \
            if least else ""
        fixes.append(f"add examples of {' and '.join(repr(label) for label in more)}{least}, or provide train.csv and "
                     f"validation.csv yourself")
    return "; ".join(fixes)


def save_splits(dataset, folder) -> list[Path]:
    """Write each split of ``dataset`` to ``folder/<split>.csv`` (``text,label``, label names, and
    ``line``, the row's line in the source file, where the data came from one CSV).

    The data exactly as a run used it, so ``sft-teach evaluate`` can score the same test
    split later, and a reader can see which texts were held out and find them in the source.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, part in dataset.items():
        names = part.features["label"].names
        columns = ["text", "label", *(["line"] if "line" in part.column_names else [])]
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(columns)
            values = part.select_columns(columns).to_dict()  # column by column: far faster than row by row
            for text, label, *line in zip(*(values[c] for c in columns)):
                writer.writerow([text, names[label], *line])
        written.append(folder / f"{name}.csv")
    return written
