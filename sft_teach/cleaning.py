"""Settle one file before it is split: repeated texts kept once, texts under several labels given
one label or dropped, and what was done said in one line.

A text repeated in one file lands in train and test by chance after a random split, and the test
score then measures memory (leakage); a text under two labels teaches both. :func:`clean` removes
both *before* the split, so no text can be in train and test. :mod:`sft_teach.checks` finds such
problems and says so; this module is what changes the data. ``sft-teach finetune`` and
``finetune(data="file.csv")`` clean a single CSV file this way (``--keep-duplicates`` opts out).

Taught in notebooks/05_your_own_data.ipynb.
"""

from __future__ import annotations

from collections import Counter

from sft_teach.checks import Finding, _one_split, _quote, count
from sft_teach.splits import column
from sft_teach.text_forms import comparable


def deduplicate(dataset):
    """``dataset`` (one ``Dataset``) with only the first row of each repeated text.

    Run it *before* splitting: a text repeated in one file lands in train and test by
    chance after a random split, and the test score then measures memory (leakage).
    """
    _one_split(dataset, "deduplicate")
    first = {}
    for i, text in enumerate(column(dataset, "text")):
        first.setdefault(comparable(text), i)
    return dataset.select(sorted(first.values()))


def resolve_conflicts(dataset):
    """``(dataset, kept, dropped)``: each text that carries several labels settled before splitting.

    A text keeps the label more of its copies carry than any other (a plurality, called the
    "majority" in the reports; the other copies go); a text whose top labels tie is dropped
    entirely, since nobody can say which label is right.
    ``kept`` and ``dropped`` count the conflicting texts settled each way.
    """
    _one_split(dataset, "resolve_conflicts")
    texts, labels = column(dataset, "text"), column(dataset, "label")
    votes: dict[str, Counter] = {}
    for text, label in zip(texts, labels):
        votes.setdefault(comparable(text), Counter())[label] += 1
    winner, kept, dropped = {}, 0, 0
    for text, counts in votes.items():
        if len(counts) == 1:
            continue
        (top, n), (_, runner_up) = counts.most_common(2)
        if n > runner_up:
            winner[text], kept = top, kept + 1
        else:
            winner[text], dropped = None, dropped + 1
    rows = [i for i, (text, label) in enumerate(zip(texts, labels)) if winner.get(comparable(text), label) == label]
    return dataset.select(rows), kept, dropped


def clean(dataset) -> tuple:
    """``(dataset, report)``: one file's rows without conflicts and repeats, ready to split.

    Conflicting labels are settled by :func:`resolve_conflicts`, then :func:`deduplicate`
    keeps the first row of each repeated text. Done *before* the split, no text can be in
    both train and test. ``report``: ``{"rows", "duplicates_removed", "conflicts_kept_majority",
    "conflicts_dropped", "conflict_rows_removed", "rows_kept", "dropped"}`` (rows = rows_kept +
    duplicates_removed + conflict_rows_removed), where ``dropped`` lists each text dropped for
    want of a majority label as written (its first copy), ``{"text", "line", "lines"}``: the line of
    its first copy and of every copy, where the dataset has a ``line`` column
    (:func:`sft_teach.data.load_csv_split`), so that each can be found.

    Taught in notebooks/05_your_own_data.ipynb.
    """
    _one_split(dataset, "clean")
    settled, kept, dropped = resolve_conflicts(dataset)
    unique = deduplicate(settled)
    left, gone = {comparable(t) for t in column(settled, "text")}, {}
    lines = column(dataset, "line") if "line" in dataset.column_names else None
    for i, text in enumerate(column(dataset, "text")):
        if comparable(text) not in left:
            row = gone.setdefault(comparable(text), {"text": text, **({"line": lines[i], "lines": []} if lines else {})})
            if lines:
                row["lines"].append(lines[i])  # every copy, so that each can be found and fixed
    gone = list(gone.values())
    report = {"rows": len(dataset), "conflicts_kept_majority": kept, "conflicts_dropped": dropped,
              # the copies outvoted, and every copy of a text without a majority: rows + the rest add up
              "conflict_rows_removed": len(dataset) - len(settled),
              "duplicates_removed": len(settled) - len(unique), "rows_kept": len(unique), "dropped": gone}
    return unique, report


def kept_everything(report: dict) -> str:
    """What ``keep_duplicates`` left in the data, for the command's line and the model card."""
    return ("every row kept (--keep-duplicates; keep_duplicates=True in Python): "
            + ("1 extra copy of a repeated text" if report["duplicates_kept"] == 1 else
               f"{report['duplicates_kept']} extra copies of repeated texts") + " and "
            f"{count(report['conflicts_kept'], 'text')} with conflicting labels left in")


def dropped_list(dropped, most: int = 3) -> str:
    """:func:`clean`'s ``report["dropped"]`` for a message: ``'Digs.' (line 5) and 2 more``."""
    def where(row):
        lines = row.get("lines") or ([row["line"]] if "line" in row else [])
        shown = ", ".join(map(str, lines[:4])) + (f" and {len(lines) - 4} more" if len(lines) > 4 else "")
        return f" (line{'s' * (len(lines) > 1)} {shown})" if lines else ""

    named = [_quote(row["text"]) + where(row) for row in dropped[:most]]
    more = f" and {len(dropped) - most} more" if len(dropped) > most else ""
    return (", ".join(named[:-1]) + " and " + named[-1] if len(named) > 1 and not more else ", ".join(named)) + more


def cleaning_findings(report: dict | None) -> list[Finding]:
    """What :func:`clean` had to settle in one CSV file and the learner should fix there: texts whose
    copies carry different labels (``report``: :func:`clean`'s; ``None``, nothing cleaned: none)."""
    if not report:
        return []
    kept, dropped = report.get("conflicts_kept_majority", 0), report.get("conflicts_dropped", 0)
    if not kept + dropped:
        return []
    which = f": {dropped_list(report['dropped'])}" if report.get("dropped") else ""
    return [Finding("conflicts", (
        f"the file has {kept + dropped} text{'s' * (kept + dropped != 1)} whose copies carry different labels: "
        f"{kept} kept with {'its' if kept == 1 else 'their'} majority label, {dropped} dropped (no majority{which}): "
        f"decide which label is right and keep one row of each"))]


def described(report: dict) -> str:
    """What :func:`clean` (and the reading before it) did to one CSV file, in one line, for the
    command's output and the model card: ``'24 rows: removed 2 repeated texts; 1 text with
    conflicting labels kept with the majority label, 0 dropped (no majority); 22 rows split with
    seed 42'``. ``report``: :func:`sft_teach.data.load_csv_split`'s."""
    said = [f"merged label '{old}' ({count(how['rows'], 'row')}) into '{how['into']}'"
            for old, how in report.get("labels_merged", {}).items()]  # --merge-case
    trimmed = report.get("labels_trimmed", 0)  # 'spam ' read as 'spam': said, since it joins two spellings
    if trimmed:
        said.append(f"read {count(trimmed, 'label')} without extra spaces (around {'it' if trimmed == 1 else 'them'}, "
                    f"or two between words) or invisible characters, in one Unicode form")
    if report.get("keep_duplicates"):
        said.append(kept_everything(report))
    else:
        which = f": {dropped_list(report['dropped'])}" if report.get("dropped") else ""  # to find and fix them
        outvoted = report.get("conflict_rows_removed", 0)  # rows under a label that lost, or tied
        said += [f"removed {count(report['duplicates_removed'], 'repeated text')}",
                 f"{count(report['conflicts_kept_majority'], 'text')} with conflicting labels kept with the majority "
                 f"label, {report['conflicts_dropped']} dropped (no majority{which})"
                 + (f", which removed {count(outvoted, 'row')}" if outvoted else "")]
    return (f"{count(report['rows'], 'row')}: {'; '.join(said)}; {count(report['rows_kept'], 'row')} split with "
            f"seed {report['split_seed']}")
