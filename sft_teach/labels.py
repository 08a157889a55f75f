"""Class names: their order, their case spellings, and which rows a model's classes cover.

Numbers sort by value (``2`` before ``10``), labels that differ only in case can be merged into one
spelling, and a file scored by a model keeps only the rows whose label the model knows.

Taught in notebooks/05_your_own_data.ipynb.
"""

from __future__ import annotations

import re
from collections import Counter

from sft_teach.errors import DataError
from sft_teach.text_forms import printed


_NUMBER = re.compile(r"[-+]?\d+(\.\d*)?")


def skipped_line(skipped: dict, scored: int) -> str:
    """What leaving out rows with unknown labels did, in one line: ``skipped 4 rows whose label the
    model does not know ('spam' 3, 'rabbit' 1): the scores are on the other 26 rows``."""
    rows = sum(skipped.values())
    counts = ", ".join(f"{label!r} {n}" for label, n in skipped.items())
    return (f"skipped {rows} row{'s' * (rows != 1)} whose label the model does not know ({counts}): the scores "
            f"are on the other {scored} row{'s' * (scored != 1)}")


def as_number(label: str) -> float | None:
    """A label's value if it is written as a number (``"2"``, ``"1.0"``, ``"-3"``), else ``None``."""
    return float(label) if _NUMBER.fullmatch(label.strip()) else None


def label_order(label: str):
    """Sort key of class names: numbers by value (2 before 10: ids then follow the numbers), then words."""
    value = as_number(label)
    return (0, value, label) if value is not None else (1, 0.0, label)


def case_spellings(labels, known=()) -> dict[str, str]:
    """``{label: spelling}`` for labels that differ only in case (``Cat``/``cat``): each becomes
    the spelling in ``known`` (a model's labels) if there is one, else its most frequent spelling
    in ``labels`` (ties: the first in sorted order). Labels without a variant are left out, and so are a
    label that is itself one of ``known`` (a model with the classes 'Spam' and 'spam' keeps both) and one
    that two of ``known`` differ from only in case (which of them it means, nobody can tell)."""
    counts = Counter(labels)
    known = [str(name) for name in known]
    forms = Counter(name.casefold() for name in known)
    spelling = {name.casefold(): name for name in known if forms[name.casefold()] == 1}
    for label, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        if forms[label.casefold()] < 2:
            spelling.setdefault(label.casefold(), label)
    return {label: spelling[label.casefold()] for label in counts
            if label not in known and spelling.get(label.casefold(), label) != label}


def one_form(label: str) -> str:
    """A label as it is read: no spaces around it, one space between its words ('tech  support' is
    'tech support'), as it prints (:func:`sft_teach.text_forms.printed`: no zero-width space, Unicode's
    composed form). Labels that print alike are one class, not two that look the same."""
    return " ".join(printed(label).split())


def as_the_model_spells(labels, names, merge_case: bool = False) -> list[str]:
    """Each label as ``names`` (a model's classes) spell it where the two differ only in what
    :func:`one_form` evens out (and case, with ``merge_case``): a model saved with the class
    'tech  support' (before labels were read in one form, or built from a Python dataset) still scores a
    file's 'tech support'. A label that is one of ``names`` stays; two classes alike in that form match neither."""
    def key(label):
        return one_form(label).casefold() if merge_case else one_form(label)

    forms = Counter(key(name) for name in names)
    by_form = {key(name): name for name in names if forms[key(name)] == 1}
    return [label if label in names else by_form.get(key(label), label) for label in labels]


def names_of(values, feature, where: str = "the label column",
             fix: str = ("give the labels as names (labels that are numbers of their own, 1 and 2: "
                         "dataset.cast_column('label', datasets.Value('string'))), or, for class ids counted from 0, "
                         "cast the column with datasets.ClassLabel(names=[...])"),
             read_in_one_form: bool = True) -> list[str]:
    """Each row's class name: a ``ClassLabel``'s names for its ids, or the strings (Arrow ``string`` or
    ``large_string``), in :func:`one_form` unless ``read_in_one_form=False`` (a :class:`SftTeachWarning`
    says how many it changed, as a CSV file's counts do). An integer column without class names, or a row
    without a label (``None``, as pandas reads an empty cell; an empty string; a ``ClassLabel`` id of -1,
    the ``datasets`` library's "no label"), is a :class:`DataError` saying ``where`` and the fix."""
    if hasattr(feature, "names"):  # ClassLabel: ids, each the index of its name
        _no_label([i for i, value in enumerate(values) if value is None or value < 0], where,
                  "give every row a class id of 0 or more, or drop those rows first (dataset.filter)")
        beyond = [i for i, value in enumerate(values) if value >= len(feature.names)]
        if beyond:  # ids cast to ClassLabel as they were (1 and 2, not 0 and 1): no name, or the wrong one
            ids = sorted({values[i] for i in beyond})
            raise DataError(f"{where}: {rows_named(beyond)} {'have' if len(beyond) > 1 else 'has'} the class id{'s' * (len(ids) > 1)} {', '.join(map(str, ids[:5]))}, but its ClassLabel "
                            f"names {len(feature.names)} classes, ids 0 to {len(feature.names) - 1}: a ClassLabel's ids "
                            f"count from 0 in the order of its names; to keep labels that are numbers of their own "
                            f"(1 and 2) as names, cast the column with datasets.Value('string') instead")
        return [feature.names[i] for i in values]
    if str(getattr(feature, "dtype", "")) not in STRING_DTYPES:
        raise DataError(f"{where} holds {getattr(feature, 'dtype', type(feature).__name__)} values without class "
                        f"names: {fix}")
    _no_label([i for i, value in enumerate(values) if value is None], where,
              "give every row one, or drop those rows first (pandas: df.dropna(subset=['label']))")
    _no_label([i for i, value in enumerate(values) if not one_form(str(value))], where,
              "give every row one, or drop those rows first (pandas: df[df['label'].str.strip() != ''])")
    if not read_in_one_form:
        return list(values)
    read = [one_form(value) for value in values]
    changed = sum(a != b for a, b in zip(read, values))
    if changed:
        import warnings

        from sft_teach.errors import SftTeachWarning

        first = next(value for value, new in zip(values, read) if value != new)
        warnings.warn(f"{where}: {changed} label{'s' * (changed > 1)} written with extra spaces, invisible characters "
                      f"or in another Unicode form read in one form (the first: {first!r} as {one_form(first)!r})", SftTeachWarning,
                      stacklevel=3)
    return read


def rows_named(rows: list[int]) -> str:
    """``row 3 (0-based)``, ``rows 3, 8 (0-based)``, ``rows 3, 8, 9, 12, 20 and more (0-based)``: the rows
    of data made in Python that a message is about (a file's are named by their lines)."""
    return (f"row{'s' * (len(rows) > 1)} {', '.join(map(str, rows[:5]))}{' and more' if len(rows) > 5 else ''} "
            f"(0-based)")


def is_missing(value) -> bool:
    """Whether ``value`` is a missing value: ``None``, pandas' ``nan`` (an empty cell) or ``pd.NA``."""
    return value is None or type(value).__name__ == "NAType" or (isinstance(value, float) and value != value)


def _no_label(rows: list[int], where: str, fix: str) -> None:
    """A :class:`DataError` naming the rows (0-based) that have no label, with ``fix``."""
    if rows:
        raise DataError(f"{where}: {rows_named(rows)} ha{'ve' if len(rows) > 1 else 's'} no label: {fix}")


def known_rows(labels, names, *, source: str, lines=None, label_column: str = "label", skip_unknown: bool = False):
    """``(indices, skipped)``: the rows whose label is one of ``names`` (a model's classes), and
    ``{label: rows}`` of the others, which ``skip_unknown`` leaves out. Without it, any other label
    is a :class:`DataError` naming each one (in the file's order), the line of the first, and its fix;
    with it, a file where no label is known is one."""
    unknown = sorted(set(labels) - set(names), key=labels.index)  # in the file's order
    known = ", ".join(map(repr, names))
    if unknown and not skip_unknown:
        at = sum(label in unknown for label in labels)
        where = "" if lines is None else \
            f" ({'first at ' if at > 1 else ''}line {lines[labels.index(unknown[0])]}, column '{label_column}')"
        raise DataError(f"{source}: label{'s' * (len(unknown) > 1)} {', '.join(map(repr, unknown))}{where} "
                        f"{'are' if len(unknown) > 1 else 'is'} not known to the model, which knows {known}: "
                        f"{unknown_label_fix(unknown, names)}")
    skipped = {label: labels.count(label) for label in unknown}
    keep = [i for i, label in enumerate(labels) if label not in skipped]
    if not keep:
        raise DataError(f"{source}: no row has a label the model knows ({known}): there is nothing to score")
    return keep, skipped


def unknown_label_fix(labels, names) -> str:
    """What to do about labels the model does not know, for the end of an error line: one fix per
    kind, each naming its labels (a case variant of a known label, or a label with no class)."""
    labels = [labels] if isinstance(labels, str) else list(labels)
    fixes = []
    explained, numbers = set(), {}
    for label in labels:
        same = [name for name in names if name.casefold() == label.casefold()]
        value = as_number(label)
        number = [name for name in names if value is not None and as_number(name) == value]
        if same:
            fixes.append(f"'{label}' differs only in case from '{same[0]}': fix the spelling, or pass --merge-case "
                         f"(merge_case=True)")
            explained.add(label)
        elif number:  # a spreadsheet may have turned the model's 1 into 1.0
            numbers[label] = number[0]
            explained.add(label)
    if numbers:
        many = len(numbers) > 1
        fixes.append(f"{', '.join(map(repr, numbers))} {'are' if many else 'is'} the model's "
                     f"{', '.join(map(repr, numbers.values()))} written as {'other numbers' if many else 'another number'}: write "
                     f"{'them' if many else 'it'} as the training file did")
    rest = [label for label in labels if label not in explained]
    if rest and all(re.fullmatch(r"\d+", label) and int(label) < len(names) for label in rest) \
            and not any(as_number(name) is not None for name in names):
        # 0 and 1 for a model of 'cat' and 'dog': a file of class ids (a pandas export), not of new classes
        ids = ", ".join(f"{i} = '{name}'" for i, name in enumerate(names))
        fixes.append(f"{'they look' if len(rest) > 1 else 'it looks'} like class ids, and the model's classes have "
                     f"names: if so, write each id's name in the file ({ids})")
        rest = []
    if rest:
        fixes.append(f"remove the rows labelled {' or '.join(map(repr, rest))} (the model cannot predict "
                     f"{'it' if len(rest) == 1 else 'them'}) or pass --skip-unknown (skip_unknown=True) to score "
                     f"the other rows, or fine-tune a model on your labels")
    return "; ".join(fixes)


# Arrow's two string types: Dataset.from_dict makes "string", Dataset.from_pandas "large_string"
STRING_DTYPES = ("string", "large_string")
