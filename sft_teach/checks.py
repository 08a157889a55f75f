"""What will hurt before it hurts: checks on a loaded dataset, run before any training.

:mod:`sft_teach.data` refuses what *cannot* be used (a missing column, an empty text).
This module looks at what *can* be used but will quietly spoil the result, and says so:

* duplicate texts inside one split: the model sees them twice as often, and a duplicate
  in the test split counts twice;
* the same text in training and evaluation (leakage): the test score measures memory,
  not generalisation;
* classes with very few examples, and heavy imbalance: accuracy can look high while the
  small class is never predicted;
* texts longer than ``max_length`` tokens, whose end is cut off (truncated) unseen;
* texts with next to nothing in them (``ok``, an emoji): often a placeholder or a stray cell;
* a label that is a missing value written out (``nan``, ``#N/A``, ``NULL``): its rows would be a class;
  a text that is one (``nan``, ``NULL``): its row has nothing to learn from;
* texts the tokenizer reads mostly as its unknown token (a 20,000-character run with no space);
* classes with one or two rows in validation or test, whose scores there swing with each text;
* a batch larger than the training split (:func:`batch_over_train`, a setting checked with the data),
  which makes each epoch a single step.

:func:`check` returns :class:`Finding` objects; nothing here raises or prints or changes the data
(:mod:`sft_teach.cleaning` settles one file's repeats and contradictions before it is split). The
command line prints them as ``warning:`` lines, notebook 05 shows them.

Taught in notebooks/05_your_own_data.ipynb.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass

from sft_teach.splits import column
from sft_teach.text_forms import comparable

TINY_CLASS = 8  # fewer training examples than this per class: expect unstable results
IMBALANCE = 5.0  # largest / smallest class in training above this: accuracy misleads
SHORT_TEXT = 3  # fewer letters or digits than this ('ok', an emoji): next to nothing to learn from
# labels that are a missing value written out: pandas' str() of an empty cell, SQL's, Excel's errors
PLACEHOLDERS = {"nan", "null", "#n/a", "n/a", "#value!", "#ref!", "#div/0!", "#name?"}
FEW_EVALUATED = 3  # fewer rows of a class than this in validation or test: its score there is one or two texts


@dataclass(frozen=True)
class Finding:
    """One problem worth knowing about: ``kind`` (a short key) and a one-line ``message``."""

    kind: str
    message: str

    def __str__(self):
        return self.message


def _texts(texts, where: str) -> list[str]:
    """``texts`` as a list of strings. A ``Dataset`` (whose rows are dicts), one string (whose letters
    would be read as texts) or a missing value is refused in one line, not an ``AttributeError``."""
    from datasets import Dataset, DatasetDict

    from sft_teach.errors import ConfigError

    if isinstance(texts, (Dataset, DatasetDict)):
        raise ConfigError(f"{where} takes a list of texts, got a {type(texts).__name__}: pass its text column, "
                          f"e.g. dataset['train']['text']")
    if isinstance(texts, str) or not hasattr(texts, "__iter__"):
        raise ConfigError(f"{where} takes a list of texts, got {type(texts).__name__} {texts!r:.40}: "
                          f"e.g. dataset['train']['text']")
    texts = texts[:] if hasattr(texts, "source") else list(texts)  # a lazy Column: read at once (column())
    bad = [t for t in texts if not isinstance(t, str)][:1]  # None is a value to name, not "none found"
    if bad:
        raise ConfigError(f"{where}: every text must be a string, got {bad[0]!r:.40} ({type(bad[0]).__name__}): "
                          f"leave out missing values")
    return texts


def _one_split(dataset, where: str) -> None:
    """A ``Dataset`` of one file or split, with a ``text`` column: not a ``DatasetDict`` of splits."""
    from datasets import DatasetDict

    from sft_teach.errors import ConfigError

    if isinstance(dataset, DatasetDict):  # a KeyError 'text' from inside, otherwise
        raise ConfigError(f"{where} takes one Dataset (one file's rows, before it is split), got a DatasetDict of "
                          f"{', '.join(dataset)}: e.g. {where}(data.from_csv(path))")


def summary(dataset) -> dict:
    """Rows and examples per class for each split: ``{"train": {"rows": 714, "classes": {"cat": 357, ...}}}``."""
    from datasets import DatasetDict

    if not isinstance(dataset, DatasetDict):
        from sft_teach.errors import ConfigError

        raise ConfigError(f"summary takes a DatasetDict of splits, got a {type(dataset).__name__}: e.g. "
                          f"summary(data.load('pets')); one Dataset: summary(DatasetDict(all=dataset))")
    out = {}
    for name, part in dataset.items():
        names = part.features["label"].names
        counts = Counter(column(part, "label"))
        out[name] = {"rows": len(part), "classes": {names[i]: counts.get(i, 0) for i in range(len(names))}}
    return out


def duplicates(texts) -> dict:
    """``{normalised text: count}`` for every text that occurs more than once."""
    counts = Counter(comparable(t) for t in _texts(texts, "duplicates"))
    return {t: n for t, n in counts.items() if n > 1}


def _conflicting(texts, labels) -> set[str]:
    """The distinct (normalised) texts that carry more than one label."""
    seen: dict[str, set] = {}
    for text, label in zip(texts, labels):
        seen.setdefault(comparable(text), set()).add(label)
    return {text for text, found in seen.items() if len(found) > 1}


def conflicts(texts, labels) -> int:
    """How many distinct (normalised) texts carry more than one label: the data contradicts itself."""
    texts, labels = _texts(texts, "conflicts"), labels[:] if hasattr(labels, "source") else list(labels)
    if len(texts) != len(labels):  # zip would stop at the shorter one, in silence
        from sft_teach.errors import ConfigError

        raise ConfigError(f"conflicts takes one label per text: got {len(texts)} texts and {len(labels)} labels")
    return len(_conflicting(texts, labels))


def count(n: int, thing: str) -> str:
    """``1 row``, ``2 rows``: a number with its noun, in the singular for one."""
    return f"{n} {thing}{'s' * (n != 1)}"


def case_variants(names) -> list[list[str]]:
    """Label names that differ only in case or surrounding spaces (``Cat`` / ``cat``), grouped."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(name.strip().casefold(), []).append(name)
    return [sorted(g) for g in groups.values() if len(g) > 1]


def number_variants(names) -> list[list[str]]:
    """Label names that are one number written two ways (``1`` / ``1.0``), grouped."""
    from sft_teach.labels import as_number

    groups: dict[float, list[str]] = {}
    for name in names:
        if as_number(name) is not None:
            groups.setdefault(as_number(name), []).append(name)
    return [sorted(g) for g in groups.values() if len(g) > 1]


def near_empty(texts) -> list[str]:
    """The texts with fewer than :data:`SHORT_TEXT` letters or digits (``ok``, ``👍``, ``--``), in order."""
    return [t for t in texts if len(re.findall(r"[^\W_]", t)) < SHORT_TEXT]


def shared(train_texts, other_texts) -> list[str]:
    """The texts of ``other_texts`` that also occur (normalised) in ``train_texts``, in order."""
    seen = {comparable(t) for t in _texts(train_texts, "shared")}
    return [t for t in _texts(other_texts, "shared") if comparable(t) in seen]


def overlap(train_texts, other_texts) -> int:
    """How many texts of ``other_texts`` also occur (normalised) in ``train_texts``."""
    return len(shared(_texts(train_texts, "overlap"), _texts(other_texts, "overlap")))


def token_lengths(texts, tokenizer) -> list[int]:
    """Tokens per text as the model sees it, special tokens included, before truncation."""
    from sft_teach.models import check_tokenizer

    texts = _texts(texts, "token_lengths")
    check_tokenizer(tokenizer, "token_lengths")
    # verbose=False: counting a text longer than the model accepts is the point here, not a mistake to warn of
    return [len(ids) for ids in tokenizer(texts, truncation=False, verbose=False)["input_ids"]]


def mostly_unknown(texts, tokenizer) -> list[str]:
    """The texts of which at least half the characters (spaces aside) reach the model as the
    tokenizer's unknown token (``[UNK]``), in order: words it cannot spell (a run of 20,000
    characters with no space; a script its vocabulary lacks), of which it sees next to nothing.
    Counted in characters, not tokens: in 'Cute 🐱🐱' one of two tokens is [UNK], but most of the
    text is read. Texts :func:`near_empty` names are left to it; a tokenizer that spells anything
    (GPT-2's bytes), or one without character offsets (not a "fast" one), finds none."""
    return lengths_and_unknown(texts, tokenizer, "mostly_unknown")[1]


def lengths_and_unknown(texts, tokenizer, where: str = "lengths_and_unknown") -> tuple[list[int], list[str]]:
    """:func:`token_lengths` and :func:`mostly_unknown` of the same texts from one pass of the
    tokenizer, which is most of their cost: the checks of training data and of scored texts say both."""
    from sft_teach.models import check_tokenizer

    texts = _texts(texts, where)
    check_tokenizer(tokenizer, where)
    unknown = getattr(tokenizer, "unk_token_id", None)
    if unknown is None or not getattr(tokenizer, "is_fast", False):
        return token_lengths(texts, tokenizer), []
    # verbose=False: counting a text longer than the model accepts is the point here, not a mistake to warn of
    spans = tokenizer(texts, truncation=False, verbose=False, return_offsets_mapping=True)
    short = set(near_empty(texts))
    found = []
    for text, ids, offsets in zip(texts, spans["input_ids"], spans["offset_mapping"]):
        unread = sum(len(text[start:end].replace(" ", "")) for i, (start, end) in zip(ids, offsets) if i == unknown)
        if text not in short and 2 * unread >= len("".join(text.split())):
            found.append(text)
    return [len(ids) for ids in spans["input_ids"]], found


def check(dataset, tokenizer=None, max_length: int = 128, positions: int | None = None,
          one_file: bool = True) -> list[Finding]:
    """Findings for a ``DatasetDict`` with ``train`` and evaluation splits (see module docstring).

    With a ``tokenizer``, texts longer than ``max_length`` tokens are counted, and texts it reads
    mostly as its unknown token (:func:`mostly_unknown`); without one those checks are skipped.
    ``positions``: how many tokens the model can read at all (``config.max_position_embeddings``);
    at that limit, the advice is not a longer ``max_length``. ``one_file``: the splits come from one CSV
    file, whose labels ``--merge-case`` can merge (a folder's files are used as they are).
    A dataset training could not use (no train split, no ``text`` or ``label`` column, a text that is
    not a string, a split's label that train lacks) is a :class:`DataError`, as in ``finetune``; one
    without a validation split is checked all the same, and a finding says that ``finetune`` needs one.
    """
    from sft_teach.data import by_name

    dataset = by_name(dataset, need=("train",))  # string labels become classes; splits' classes matched by name
    findings = []
    if "validation" not in dataset:  # checked all the same, as a linter reads a file it could not run
        findings.append(Finding("no_validation_split", (
            f"no validation split (the data has {', '.join(dataset)}): finetune refuses such data, since it scores "
            f"each epoch on validation: add validation.csv to the folder of splits, or pass one CSV file to split "
            f"80/10/10")))
    if "test" not in dataset:
        findings.append(Finding("no_test_split", (
            "no test split: the scores at the end are on validation, which is no independent test when it "
            "chooses something: the epoch kept (--recipe best; best_epoch=True in Python), or a setting picked "
            "by its score: add a test split of texts kept out of training (test.csv in a folder of splits)"
            if "validation" in dataset else
            "no test split: nothing scores the model on texts kept out of training: add test.csv to the folder of "
            "splits")))
    for group in case_variants(dataset["train"].features["label"].names):
        findings.append(Finding("label_case", (
            f"labels {' and '.join(repr(g) for g in group)} differ only in case, so they are separate classes: "
            + ("make them one spelling, or pass --merge-case (merge_case=True)" if one_file else
               "spell them one way in the data (--merge-case merges the labels of one CSV file; a folder's files, "
               "and a dataset from Python or the Hub, are used as they are)"))))
    every = summary(dataset)
    for name in (n for n in dataset["train"].features["label"].names if n.casefold() in PLACEHOLDERS):
        rows = sum(part["classes"][name] for part in every.values())
        findings.append(Finding("placeholder_label", (
            f"label '{name}' ({rows} row{'s' * (rows != 1)}) is what a missing value becomes when written out (pandas "
            f"writes 'nan' for an empty cell, Excel '#N/A' for a lookup that found nothing), so those rows are a "
            f"class of their own: give them their real labels or delete them; if '{name}' is a real class, give it "
            f"a name of its own")))
    for group in number_variants(dataset["train"].features["label"].names):
        findings.append(Finding("label_number_format", (
            f"labels {' and '.join(repr(g) for g in group)} are one number written two ways, so they are separate "
            f"classes: write every label of that class the same way (a spreadsheet may have turned 1 into 1.0)")))
    for name, part in dataset.items():
        texts = column(part, "text")
        conflicting = _conflicting(texts, column(part, "label"))
        contradictions = len(conflicting)
        if contradictions:
            first = next(t for t in texts if comparable(t) in conflicting)  # as written, to search for
            findings.append(Finding("conflicts", (
                f"{name}: {contradictions} text{'s' * (contradictions != 1)} appear{'s' * (contradictions == 1)} with different labels "
                f"(the first: {_quote(first)}): decide which label is right and keep one row")))
        # a text that is a missing value written out: a row with nothing to learn from, trained on as if
        # the word 'nan' said something about its label ('N/A' and 'None' are left alone: real answers in a survey)
        written_out = Counter(t.strip() for t in texts if t.strip().casefold() in PLACEHOLDERS - {"n/a"})
        if written_out:
            n = sum(written_out.values())
            findings.append(Finding("placeholder_text", (
                f"{name}: {n} text{'s' * (n != 1)} {'are' if n != 1 else 'is'} a missing value written out "
                f"({', '.join(f'{t!r} {k}x' for t, k in written_out.most_common(3))}; pandas writes 'nan' for an "
                f"empty cell, Excel '#N/A' for a lookup that found nothing): such a row has no text to learn from: "
                f"delete those rows, or fill in their texts")))
        short = [t for t in near_empty(texts) if t.strip() not in written_out]  # each row warned of once
        if short:
            findings.append(Finding("near_empty", (
                f"{name}: {len(short)} text{'s' * (len(short) != 1)} ha{'ve' if len(short) != 1 else 's'} fewer than "
                f"{SHORT_TEXT} letters or digits ({'the first: ' * (len(short) > 1)}{_quote(short[0])}), next to nothing to learn from or "
                f"be scored on: check {'they are real examples' if len(short) != 1 else 'it is a real example'}, or delete "
                f"{'them' if len(short) != 1 else 'it'}")))
        dups = duplicates(texts)
        if dups:
            extra = sum(n - 1 for n in dups.values())
            example = max(dups, key=dups.get)
            written = next(t for t in texts if comparable(t) == example)  # as the file spells it, to search for
            findings.append(Finding("duplicates", (
                f"{name}: {len(dups)} text{'s' * (len(dups) != 1)} occur{'s' * (len(dups) == 1)} more than once ({extra} extra "
                f"row{'s' * (extra != 1)}; most often, x{dups[example]}: {_quote(written)}): remove the repeats")))
    train_texts = column(dataset["train"], "text")
    for name in (n for n in dataset if n != "train"):
        leaked = shared(train_texts, column(dataset[name], "text"))
        if leaked:
            findings.append(Finding("overlap", (
                f"{name}: {len(leaked)} of its {len(dataset[name])} texts also occur{'s' * (len(leaked) == 1)} in train "
                f"(the first: {_quote(leaked[0])}), so its score partly measures memory: remove "
                f"{'it' if len(leaked) == 1 else 'them'} from one of the two")))
    if "validation" in dataset and "test" in dataset:  # validation chooses the epoch kept: test must be apart from it
        repeated = shared(column(dataset["validation"], "text"), column(dataset["test"], "text"))
        if repeated:
            findings.append(Finding("test_in_validation", (
                f"test: {len(repeated)} of its {len(dataset['test'])} texts also occur{'s' * (len(repeated) == 1)} in "
                f"validation (the first: {_quote(repeated[0])}), which chooses the epoch kept, so the test score is not "
                f"independent of that choice: remove {'it' if len(repeated) == 1 else 'them'} from one of the two")))
    counts = every["train"]["classes"]
    for name in (n for n in dataset if n != "train"):
        absent = [label for label, n in every[name]["classes"].items() if n == 0 and counts.get(label)]
        if absent:
            findings.append(Finding("class_not_evaluated", (
                f"{name}: no rows of class{'es' * (len(absent) > 1)} {', '.join(map(repr, absent))}, so "
                f"{'their' if len(absent) > 1 else 'its'} score is never measured there and macro-F1 averages the "
                f"other classes only: add rows of {'them' if len(absent) > 1 else 'it'} to {name}.csv")))
    for name in (n for n in dataset if n != "train"):
        few = [(label, n) for label, n in every[name]["classes"].items() if 0 < n < FEW_EVALUATED]
        if few:
            several = len(few) > 1
            listed = ", ".join(f"'{label}' ({n} row{'s' if n != 1 else ''})" for label, n in few)
            chooses = " (and with it the epoch kept by --recipe best, or best_epoch=True in Python)" if name == "validation" else ""
            findings.append(Finding("few_evaluated", (
                f"{name}: class{'es' * several} {listed} {'have' if several else 'has'} fewer than {FEW_EVALUATED} rows "
                f"there, so {'their' if several else 'its'} F1 rests on one or two texts and macro-F1 swings with each "
                f"of them{chooses}: add rows of {'them' if several else 'it'} to the {name} split ({name}.csv, or the "
                f"one file that is split 80/10/10), or read those scores as rough")))
    smallest = min(counts, key=counts.get)
    largest = max(counts, key=counts.get)
    if counts[smallest] < TINY_CLASS:
        unseen = [label for label, n in counts.items() if n == 0]  # a class named by the labels, with no rows
        findings.append(Finding("tiny_class", (
            f"train: class{'es' * (len(unseen) > 1)} {', '.join(map(repr, unseen))} {'have' if len(unseen) > 1 else 'has'} "
            f"no examples, so the model gets an output it is never trained to give: add examples of "
            f"{'them' if len(unseen) > 1 else 'it'}, or remove {'them' if len(unseen) > 1 else 'it'} from the labels"
            if unseen else
            f"train: class '{smallest}' has only {counts[smallest]} example{'s' * (counts[smallest] != 1)}: results for it will be unstable; "
            f"aim for {TINY_CLASS} or more per class")))
    if counts[smallest] and counts[largest] / counts[smallest] > IMBALANCE:
        findings.append(Finding("imbalance", (
            f"train: '{largest}' has {counts[largest] / counts[smallest]:.0f}x the examples of '{smallest}' "
            f"({counts[largest]} vs {counts[smallest]}): read macro-F1, not accuracy")))
    if tokenizer is not None:
        for name, part in dataset.items():
            lengths, unreadable = lengths_and_unknown(column(part, "text"), tokenizer, "check")
            if unreadable:
                several = len(unreadable) != 1
                them, real = ("them", "they are real examples") if several else ("it", "it is a real example")
                findings.append(Finding("unknown_tokens", (
                    f"{name}: {len(unreadable)} text{'s' * several} read{'' if several else 's'} mostly as the unknown "
                    f"token {tokenizer.unk_token} ({'the first: ' * several}{_quote(unreadable[0])}), so the model sees "
                    f"next to nothing of {them}: words it cannot spell (a long run of characters with no space, a "
                    f"script its vocabulary lacks): check {real}, or delete {them}")))
            long = sum(n > max_length for n in lengths)
            if long:
                longest = max(range(len(lengths)), key=lengths.__getitem__)
                fix = (f"{positions} tokens is all this model reads: split longer texts into parts, or shorten them"
                       if positions and max_length >= positions else
                       "raise --max-length (max_length= in Python) if it matters")
                findings.append(Finding("long_texts", (
                    f"{name}: {long} text{'s' * (long != 1)} longer than max_length={max_length} tokens (longest "
                    f"{lengths[longest]}: {_quote(part[longest]['text'])}) will be truncated: {'its' if long == 1 else 'their'} "
                    f"end is never seen; {fix}")))
    return findings


def batch_over_train(train_rows: int, batch_size: int, grad_accum: int = 1) -> Finding | None:
    """A :class:`Finding` when one optimiser step takes as many texts as training holds, or more: each
    epoch is then a single step on every text, so a run of 3 epochs updates the weights 3 times (a
    head-only phase's epochs add one each), most of them while the learning rate is still warming up,
    and the model barely moves from where it started."""
    per_step = batch_size * grad_accum  # texts an optimiser step takes (one process)
    if per_step < train_rows or train_rows < 2:  # one text: one step an epoch whatever the batch
        return None
    smaller = max(1, train_rows // 4)  # four steps an epoch at least
    taken = f"batches of {batch_size} x {grad_accum} accumulated" if grad_accum > 1 else f"batch size {batch_size}"
    return Finding("batch_over_train", (
        f"train: {taken} {'is more than' if per_step > train_rows else 'equals'} its {train_rows} texts, so each "
        f"epoch is one optimiser step and the model barely learns: use --batch-size {smaller} (batch_size={smaller} "
        f"in Python){' without --grad-accum (gradient_accumulation_steps=)' * (grad_accum > 1)}, for "
        f"{math.ceil(train_rows / smaller)} steps an epoch"))


def one_class_predicted(predictions, labels, names, split: str = "test") -> Finding | None:
    """A :class:`Finding` when a trained model gives one class to every item of a split that holds
    several: it has not learned the task (the loss stayed near chance), whatever its accuracy."""
    predicted, present = set(map(int, predictions)), set(map(int, labels))
    if len(predicted) != 1 or len(present) < 2:
        return None
    only = names[predicted.pop()]
    return Finding("one_class_predicted", (
        f"the model predicts '{only}' for every one of the {len(labels)} {split} texts: it has not learned the "
        f"task; train longer (--epochs; num_train_epochs= in Python) or at another learning rate "
        f"(--lr; learning_rate=)"))


def classes_never_predicted(predictions, labels, names, split: str = "test", train_labels=None) -> Finding | None:
    """A :class:`Finding` when the model never predicts some class that the split holds (its recall
    there is 0), though it predicts more than one class (one class for everything is
    :func:`one_class_predicted`'s). ``train_labels``: the training split's class ids; when the missed
    classes had about as many training rows as the others (at least half the median), the advice is
    to train more rather than to add rows."""
    predicted, present = set(map(int, predictions)), set(map(int, labels))
    missed = sorted(present - predicted)
    if not missed or len(predicted) < 2:
        return None
    rows = sum(int(label) in missed for label in labels)
    quoted = [repr(names[i]) for i in missed]
    said = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"  # 'a', 'b' or 'c'
    fix = f"add examples of {'it' if len(missed) == 1 else 'them'} to the training data"
    if train_labels is not None:
        trained = Counter(map(int, train_labels))
        median = statistics.median(trained[i] for i in range(len(names)) if trained[i])
        if min(trained[i] for i in missed) >= median / 2:  # rows were not what it lacked
            had = ", ".join(str(trained[i]) for i in missed)
            fix = (f"{'it' if len(missed) == 1 else 'they'} had {had} training row{'s' * (len(missed) > 1 or trained[missed[0]] != 1)}, "
                   f"at least half the median class's {median:g}, so more rows are not the first fix: train longer "
                   f"(--epochs; num_train_epochs= in Python) or at another learning rate (--lr; learning_rate=)")
    return Finding("class_never_predicted", (
        f"the model never predicts {said} on the {len(labels)} {split} texts, {rows} of which "
        f"{'is' if rows == 1 else 'are'} of {'that class' if len(missed) == 1 else 'those classes'}: its recall "
        f"there is 0; {fix}"))


def _quote(text: str, width: int = 40) -> str:
    """The start of a text, quoted, on one line: enough to find the row with an editor's search."""
    start = " ".join(text.split())
    # quoted as written: repr() would double a backslash (C:\\Users), which a search then misses
    return "'" + (start if len(start) <= width else start[:width] + "…") + "'"
