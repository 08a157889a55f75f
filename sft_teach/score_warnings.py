"""Why a score on labelled texts may mislead, said beside it: texts the model was trained on, texts
scored more than once, empty texts, texts cut short, texts it can hardly read, and classes with no
rows to score.

An accuracy is read as "what the model does on new texts". Each warning here names a reason it is
not quite that, and the fix. :func:`sft_teach.inference.evaluate` raises them as
:class:`~sft_teach.errors.SftTeachWarning`; ``sft-teach evaluate`` prints them and lists them in
its JSON line (with its own: the very file the model was trained on, a split that chose the epoch);
``sft-teach predict`` says of its texts what :func:`hard_to_read` says.

Taught with ``evaluate`` in notebooks/02_technical_recipe.ipynb.
"""

from __future__ import annotations

from pathlib import Path


def _run_split(model_dir, name: str) -> set[str] | None:
    """The texts (in :func:`sft_teach.text_forms.comparable`, as the duplicate checks compare them) of the split
    ``name`` of the run that wrote ``model_dir`` (its ``../splits/NAME.csv``); ``None`` when there is
    no such file to read (a copied folder, a base model, a hub name)."""
    from sft_teach.text_forms import comparable
    from sft_teach.csv_files import read_csv_rows

    if not model_dir or not (Path(model_dir) / "config.json").is_file():  # a hub name ("bert-base-uncased"), no folder
        return None
    try:
        return {comparable(text) for text in read_csv_rows(Path(model_dir).parent / "splits" / f"{name}.csv")[0]}
    except Exception:  # no run around the model, or its splits are gone
        return None


def _of_the_scored(part: int, whole: int) -> tuple[str, bool]:
    """``(subject, singular)``: "the text scored", "all 5 texts scored", "2 of the 5 texts scored"."""
    if whole == 1:
        return "the text scored", True
    if part == whole:
        return f"all {whole} texts scored", False
    return f"{part} of the {whole} texts scored", part == 1


def empty(texts) -> list[str]:
    """A warning when texts scored are empty (or only spaces): the model answers one of its classes
    for them too, so each counts as right or wrong though there was nothing to read. (A CSV file's
    empty texts are refused when it is read; data made in Python can hold them.)"""
    blank = sum(not text.strip() for text in texts)
    if not blank:
        return []
    subject, one = _of_the_scored(blank, len(texts))
    return [f"{subject} {'is' if one else 'are'} empty: the model answers a class for nothing to read, and "
            f"{'it counts' if one else 'they count'} in the score: leave {'it' if one else 'them'} out"]


def seen_in_training(model_dir, texts) -> list[str]:
    """A warning when texts scored occur in the training split of the run that wrote ``model_dir``
    (its ``splits/train.csv``; nothing for a folder without a run around it). The score on a text
    seen with its label measures memory, not what the model does on new texts."""
    from sft_teach.checks import _quote
    from sft_teach.text_forms import comparable

    train = _run_split(model_dir, "train")
    # the same text in another case or spacing is the same example (checks.duplicates), and to a
    # tokenizer that ignores case, the same input
    seen = [text for text in texts if train and comparable(text) in train]
    if not seen:
        return []
    subject, one = _of_the_scored(len(seen), len(texts))
    return [f"{subject} also occur{'s' * one} in the model's training split (the first: {_quote(seen[0])}): the model "
            f"learned {'it' if one else 'them'} with {'its label' if one else 'their labels'}, so the score on "
            f"{'it' if one else 'them'} measures memory: leave {'it' if one else 'them'} out for a fair score"]


def chose_the_epoch(model_dir, texts, split: str) -> list[str]:
    """For a model that kept its best validation epoch (``--recipe best``): a warning when texts scored
    are in its run's validation split (``splits/validation.csv``), which chose that epoch, so a score on
    them is optimistic. Compared by text, so another dataset's validation split is no such split; when
    the run's splits cannot be read, said as a condition of a ``split`` named validation."""
    from sft_teach.checks import _quote
    from sft_teach.text_forms import comparable

    chose = _run_split(model_dir, "validation")
    if chose is None:  # the run's splits are gone: whether this is that split is unknown
        return ["validation: if this is the split this model was trained with, it chose the epoch kept (--recipe "
                "best), so the score on it is optimistic: the test split is the one that chose nothing"] \
            if split == "validation" else []
    used = [text for text in texts if comparable(text) in chose]
    if not used:
        return []
    subject, one = _of_the_scored(len(used), len(texts))
    return [f"{subject} {'is' if one else 'are'} in this model's validation split (the first: {_quote(used[0])}), "
            f"which chose the epoch it kept (--recipe best), so the score on {'it' if one else 'them'} is optimistic: "
            f"the test split is the one that chose nothing"]


def repeated(texts, labels) -> list[str]:
    """A warning when the rows scored repeat texts: each copy counts, so ``n`` and the interval
    overstate how many texts the score rests on; copies with different labels cannot all be right."""
    from sft_teach.checks import conflicts, duplicates

    scored = len(texts)
    # empty texts are said apart (empty): copies of nothing are not repeats of a text
    filled = [i for i, text in enumerate(texts) if text.strip()]
    texts, labels = [texts[i] for i in filled], [labels[i] for i in filled]
    repeats = duplicates(texts)
    if not repeats:
        return []
    extra, contradicting = sum(repeats.values()) - len(repeats), conflicts(texts, labels)
    against = (f", and {contradicting} of them carr{'y' if contradicting != 1 else 'ies'} different labels, which "
               f"cannot all be right" if contradicting else "")
    return [f"{len(repeats)} text{'s' * (len(repeats) != 1)} occur{'s' * (len(repeats) == 1)} more than once among "
            f"the {scored} rows scored ({extra} extra cop{'ies' if extra != 1 else 'y'}){against}: each copy is "
            f"scored, so n and the interval overstate what the score rests on: score each text once"]


def hard_to_read(model, tokenizer, texts, max_length, option: str = "--max-length", read=None,
                 marked: tuple[str, str] = ("", "")) -> list[str]:
    """Warnings about the texts themselves, as ``check`` says of training data, from one pass of the
    tokenizer (:func:`sft_teach.checks.lengths_and_unknown`):

    - texts longer than the model reads (``max_length``, else the length it was trained with): their
      ends are cut and never seen. ``option``: the setting that reads more, as the caller spells it
      (``max_length=`` in Python);
    - texts that give the model next to nothing to read: fewer than 3 letters or digits (``ok``, an
      emoji) or mostly its unknown token (a script its vocabulary lacks). The model still answers one
      of its classes for them, often as sure as for any other text, so its answer or its score there
      says little. (Empty texts are said apart.)

    ``read``: the texts' ``(lengths, unknown)`` from ``lengths_and_unknown``, where the caller has them
    (``sft-teach predict`` tokenizes a long file a part at a time, as it classifies it); ``marked``: how
    the caller's output marks a cut text and cut texts, said after the count (``predict``'s ``"cut": true``)."""
    from sft_teach.checks import lengths_and_unknown, near_empty
    from sft_teach.inference import max_length_of

    lengths, unknown = read or lengths_and_unknown(texts, tokenizer, "evaluate")
    return (_cut(lengths, max_length or max_length_of(model, tokenizer), model, option, marked)
            + _unreadable(texts, {*near_empty(texts), *unknown}, tokenizer))


def _cut(lengths: list[int], limit: int, model, option: str, marked: tuple[str, str] = ("", "")) -> list[str]:
    longer = sum(n > limit for n in lengths)
    if not longer:
        return []
    positions = getattr(model.config, "max_position_embeddings", None)
    which = "the text" if len(lengths) == 1 else f"{longer} of the {len(lengths)} texts{marked[longer > 1]}"
    return [f"{which} {'is' if longer == 1 else 'are'} longer than {limit} tokens ("
            f"{'' if len(lengths) == 1 else 'the longest: '}{max(lengths):,} tokens) and {'was' if longer == 1 else 'were'} cut there: the model never saw "
            f"{'its' if longer == 1 else 'their'} end; "
            + (f"{option} reads more, up to the model's {positions} positions" if positions and positions > limit
               else f"{positions} tokens is all this model reads: split a longer text into parts to classify each"
               if positions else f"{option} reads more")]


def _unreadable(texts, hardly: set[str], tokenizer) -> list[str]:
    from sft_teach.checks import SHORT_TEXT, _quote

    found = [text for text in texts if text.strip() and text in hardly]
    if not found:
        return []
    which = "the text" if len(texts) == 1 else f"{len(found)} of the {len(texts)} texts"
    return [f"{which} {'has' if len(found) == 1 else 'have'} fewer than {SHORT_TEXT} letters or digits or "
            f"{'reads' if len(found) == 1 else 'read'} mostly as the unknown token {tokenizer.unk_token} "
            f"({'the first: ' * (len(found) > 1)}{_quote(found[0])}): the model sees next to nothing of "
            f"{'it' if len(found) == 1 else 'them'}, and still answers one of its classes, as sure as it may look"]


def classes_without_rows(per_class: dict, n: int) -> list[str]:
    """A warning when classes of the model have no rows among the ``n`` scored (``per_class``:
    :func:`sft_teach.metrics.per_class`'s rows): their recall is not measured, and sklearn's
    macro-F1 averages only the classes that occur as a label or a prediction, so it changes meaning:
    a class predicted there though it has no rows counts as an F1 of 0, one never predicted not at all."""
    absent = [name for name, row in per_class.items() if row["support"] == 0]
    if not absent:
        return []
    listed = ", ".join(f"'{name}'" for name in absent)
    predicted = [name for name in absent if per_class[name]["f1"] is not None]
    counted = ("" if not predicted else
               f" (here {', '.join(repr(name) for name in predicted)}, predicted for some rows, wrongly each time, "
               f"so counted as an F1 of 0)")
    return [f"class{'es' * (len(absent) > 1)} {listed} of the model ha{'ve' if len(absent) > 1 else 's'} no rows "
            f"among the {n} scored: {'their' if len(absent) > 1 else 'its'} recall is not measured, and macro-F1 "
            f"averages only the classes that occur as a label or a prediction{counted}"]