"""What a fine-tuned model folder says about how to read new files for it: the columns, encoding and
case merging its training file was read with (from its ``config.json``, else its run's
``metrics.json``). ``evaluate`` and ``predict`` read through these.

Taught in notebooks/05_your_own_data.ipynb (``predict --file`` and ``evaluate`` read a file by the
training file's columns).
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path

from sft_teach import decoding
from sft_teach.errors import ConfigError


def trained_on(model_dir) -> dict:
    """What a model was fine-tuned on (``text_column``, ``label_column``, ``encoding``, ``merge_case``,
    ``data_sha256``; empty if unknown): from its own config.json, which travels with the folder, else its run's metrics.json."""
    from sft_teach.run_record import saved_notes

    found = saved_notes(model_dir)
    if "text_column" in found:
        return found
    record = run_record(model_dir)  # a folder saved before config.json kept it
    return record if "text_column" in record else {}


def run_record(model_dir) -> dict:
    """The metrics.json of the run that wrote ``model_dir`` (empty for a folder on its own)."""
    try:
        record = json.loads((Path(model_dir).parent / "metrics.json").read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def encoding(args, source: bytes | Path, shown: str = "the texts") -> str:
    """The encoding to read ``source`` (a file to score or classify, or its bytes, then named ``shown``) with: ``--encoding``
    if given; else UTF-8, unless the bytes are not valid UTF-8 and the model's training file was read
    with another encoding (cp1252, say), which a later export of the same source is likely to share."""
    if args.encoding is not None:
        return args.encoding
    try:
        raw = source.read_bytes() if isinstance(source, Path) else source
    except OSError:  # missing, a folder, unreadable: the reader's own error names the problem
        return "utf-8"
    if raw.startswith(decoding.UTF16_MARKS):  # UTF-16 with its byte-order mark: read as such whatever is passed
        return "utf-8"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:  # utf-8 too when the model was trained on UTF-8: decoding.decode then names the fix
        trained = trained_on(args.model).get("encoding") or "utf-8"
        try:
            codecs.lookup(trained)
        except (LookupError, TypeError):  # a hand-edited or damaged config.json: not the data file's fault
            raise ConfigError(f"{Path(args.model) / 'config.json'}: the training encoding it records, {trained!r}, "
                              f"is not an encoding Python knows: pass --encoding (e.g. utf-8 or cp1252) or "
                              f"correct \"encoding\" under \"sft_teach\" there") from None
        if trained.lower().replace("_", "-") not in {"utf-8", "utf8"} and _decodes(raw, trained):
            # said, as a file mixing encodings would read wrong; one that fails both gets the reader's error
            shown = str(source) if isinstance(source, Path) else shown  # as typed: a folder's test.csv with its folder
            line = raw[:exc.start].count(b"\n") + 1
            note = (f"{shown}: not UTF-8 (line {line}, byte 0x{raw[exc.start]:02x}): read as {trained}, the encoding "
                    f"this model's training file was read with (--encoding to choose another)")
            if note not in read_notes(args):  # the same file, read again by another column
                read_notes(args).append(note)
        return trained


def read_notes(args) -> list[str]:
    """What reading the input chose for the user (an encoding), said once the input has been read:
    an input that then fails gets its one error line alone."""
    if not hasattr(args, "read_notes"):
        args.read_notes = []
    return args.read_notes


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
        return True
    except (UnicodeDecodeError, LookupError):
        return False


def merge_case(args) -> bool:
    """``--merge-case``/``--no-merge-case`` if given, else whether the model's training merged labels
    differing only in case (then its evaluation data likely spells them so too)."""
    return bool(trained_on(args.model).get("merge_case")) if args.merge_case is None else args.merge_case


def _trained_columns(model_dir) -> tuple[str, str] | None:
    """The text and label columns a model was fine-tuned with (None if unknown)."""
    found = trained_on(model_dir)
    return (found["text_column"], found["label_column"]) if found.get("label_column") else None


def columns_to_try(args) -> tuple[list[tuple[str, str]], tuple[str, str] | None]:
    """The (text, label) columns to read a CSV file to score or classify by, in order, and the ones the
    model was trained with: the options' (unset ones: the training's, else text and label), then,
    when those are the training's own, text and label (the run's own splits/, which finetune writes so)."""
    trained = _trained_columns(args.model)
    default = trained or ("text", "label")
    wanted = (args.text_column or default[0], getattr(args, "label_column", None) or default[1])
    return list(dict.fromkeys([wanted, *([("text", "label")] if wanted == trained else [])])), trained
