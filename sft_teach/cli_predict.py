"""``sft-teach predict``: classify texts given as arguments, one per line in a file or on standard
input, or the text column of a CSV file, one JSON line per text.

Taught in notebooks/02_technical_recipe.ipynb and notebooks/05_your_own_data.ipynb.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from sft_teach import cli_conventions, cli_trained_model, score_warnings
from sft_teach.checks import count, lengths_and_unknown
from sft_teach.environment import quiet_libraries
from sft_teach.errors import ConfigError, DataError, MissingColumnError

PART = 1024  # texts classified, then printed, at a time: a few seconds' work on a 2-core CPU


def _texts(args) -> tuple[list[str], list[int] | None]:
    """The texts to classify, and for a CSV file each one's line in it (else ``None``)."""
    if args.file is not None and args.texts:
        raise ConfigError("give texts as arguments or --file, not both")
    from sft_teach.csv_files import refuse_other_format
    from sft_teach.decoding import text_lines

    if args.file is not None:
        path = Path(args.file)
        if args.file == "-":
            raise ConfigError("--file - : standard input is read with '-' in place of the texts, without --file")
        if path.is_dir():
            raise DataError(f"{args.file}: is a folder: pass a text file with one text per line, or a CSV file")
        if not path.exists():
            raise DataError(f"{args.file}: file not found: pass a text file with one text per line")
        refuse_other_format(path, args.file, "a text file of one text per line or a CSV file",
                            "save the texts as CSV (pandas: df.to_csv(path, index=False)) and pass --text-column "
                            "NAME, or write one text per line")
        # read once: a pipe (--file <(...), /dev/stdin) can be read once only
        raw, shown, name = path.read_bytes(), args.file, path.name
        as_csv = args.text_column is not None or path.suffix.lower() in {".csv", ".tsv"}
    elif args.texts == ["-"]:
        raw, shown, name = sys.stdin.buffer.read(), "standard input", "standard input"
        as_csv = args.text_column is not None
    elif "-" in args.texts:  # a text of its own, or standard input? neither guess is safe
        raise ConfigError("'-' reads the texts from standard input, alone: give texts as arguments or '-', not both")
    elif args.text_column is not None:
        raise ConfigError("--text-column names a column of a CSV file: pass the file with --file PATH, or - to read "
                          "it from standard input")
    elif args.texts:  # each argument is a text, an empty one too: one output line per argument, in order
        return [_argument_text(args, text) for text in args.texts], None  # echoed as given, spaces too (cmd_predict)
    else:
        raise ConfigError("no texts to classify: give them as arguments, with --file PATH, or - to read standard input")
    if as_csv:  # a spreadsheet export: its texts are one column, never the whole row with its label
        return _column_texts(args, raw, shown)
    lines = text_lines(raw, shown, cli_trained_model.encoding(args, raw, name))
    cli_conventions.warn(_csv_header(args, name, lines) + _json_records(name, lines))
    # a file's blank lines separate texts, they are none; a text is echoed as written, and its line
    # given, to join each answer to its line although the blank ones have none
    numbered = [(number, line) for number, line in enumerate(lines, 1) if line.strip()]
    if not numbered:
        raise DataError(f"{shown}: is empty or holds only blank lines: nothing to classify")
    return [line for _, line in numbered], [number for number, _ in numbered]


def _column_texts(args, raw: bytes, shown: str) -> tuple[list[str], list[int]]:
    """The text column of a CSV file's bytes ``raw`` (named ``shown``), and each text's line, as
    evaluate reads it: the model's own text column, else ``text``."""
    from sft_teach.csv_files import read_csv_rows

    read_as, errors = cli_trained_model.encoding(args, raw, shown), []
    for column in dict.fromkeys(text for text, _ in cli_trained_model.columns_to_try(args)[0]):
        try:
            rows = read_csv_rows(shown, column, None, read_as, with_lines=True, skip_empty_texts=True, data=raw)
        except MissingColumnError as exc:
            errors.append(exc)
            continue
        if rows.empty_texts:  # a real export has some; one prediction line per row that has a text
            cli_conventions.warn([f"{shown}: no prediction for {count(len(rows.empty_texts), 'row')} whose text is "
                                  f"empty ({_lines(rows.empty_texts)}); each prediction gives its row's line"])
        return rows.texts, rows.lines
    raise errors[0]  # about the first column tried


def _argument_text(args, text: str) -> str:
    """A text given as an argument. A terminal whose locale is not UTF-8 passes bytes Python could
    not decode (kept as surrogates, which no tokenizer takes): decoded here as standard input would be."""
    import os

    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        raw = os.fsencode(text)
    from sft_teach.decoding import text_lines

    return "\n".join(text_lines(raw, "a text argument", cli_trained_model.encoding(args, raw, "a text argument")))


def _csv_header(args, name: str, lines: list[str]) -> list[str]:
    """A warning when a text file read line by line starts with a CSV header naming a text column
    (a CSV export saved as .txt): each line would be classified whole, its label too. A header is
    a line of column names: each one or two words, one of them the model's text column (or text)."""
    import re

    from sft_teach.csv_files import delimiter

    filled = [(number, line.strip()) for number, line in enumerate(lines, 1) if line.strip()][:2]
    if filled and re.fullmatch(r"sep=.", filled[0][1]):  # Excel's delimiter line, above the header
        filled = filled[1:]
    if not filled:
        return []
    number, first = filled[0]
    if len(first) > 1000:  # a long text, not column names (and more than csv reads in one cell by default)
        return []
    header = [field.strip() for field in next(csv.reader([first], delimiter=delimiter(first)), [])]
    if not all(0 < len(field) <= 30 and len(field.split()) <= 2 for field in header):
        return []  # a sentence with a comma in it, not column names
    wanted = [text.lower() for text, _ in cli_trained_model.columns_to_try(args)[0]]  # the model's text column, then text
    column = next((field for want in wanted for field in header if field.lower() == want), None)
    if column is None:
        return []
    read = "standard input is" if name == "standard input" else "the file is"
    return [f"{name}: line {number} reads like a CSV header ({first[:60]}), but {read} read as one text per "
            f"line, so each row is classified whole, its other columns too: pass --text-column {cli_conventions.shell_word(column)} to read "
            f"its '{column}' column"]


def _json_records(name: str, lines: list[str]) -> list[str]:
    """A warning when a text file read line by line holds JSON (``df.to_json(...)`` saved as .txt, or
    piped in): each line would be classified whole, keys, labels and brackets too. JSON is a first
    line that is a bracket alone, or an object or a list that parses."""
    import json

    filled = [(number, line.strip()) for number, line in enumerate(lines, 1) if line.strip()][:1]
    if not filled:
        return []
    number, first = filled[0]
    try:
        record = first in ("[", "{", "[{") or isinstance(json.loads(first), (dict, list))
    except ValueError:
        record = False
    if not record:
        return []
    read = "standard input is" if name == "standard input" else "the file is"
    return [f"{name}: line {number} reads like JSON ({first[:60]}), but {read} read as one text per line, so "
            f"each line is classified whole, its keys and brackets too: save the texts as CSV (pandas: "
            f"df.to_csv(path, index=False)) and pass --text-column NAME"]


def _lines(numbers) -> str:
    """``line 5``, ``lines 5, 9 and 12``, ``lines 5, 9, 12, 14, 20 and 3 more``."""
    shown = ", ".join(str(n) for n in numbers[:5])
    if len(numbers) == 1:
        return f"line {shown}"
    if len(numbers) > 5:
        return f"lines {shown} and {len(numbers) - 5} more"
    return f"lines {shown.rsplit(', ', 1)[0]} and {numbers[-1]}"


def cmd_predict(args) -> int:
    from sft_teach.inference import load_finetuned, predict

    texts, lines = _texts(args)
    cli_conventions.warn(cli_trained_model.read_notes(args))
    empty = [i + 1 for i, text in enumerate(texts) if not text.strip()]  # only arguments can be: files skip them
    if empty:  # answered, to keep one line per argument, but the answer is the model's guess for nothing
        cli_conventions.warn([f"text argument{'s' * (len(empty) > 1)} {', '.join(map(str, empty))} {'are' if len(empty) > 1 else 'is'} "
               f"empty: {'their predictions say' if len(empty) > 1 else 'its prediction says'} nothing about a text"])
    max_length = None if args.max_length is None else cli_conventions.max_length(args.max_length)
    quiet_libraries()
    model, tokenizer = load_finetuned(args.model)
    # classified without the spaces around it, as training read its cells (a byte-level tokenizer would
    # read them as tokens), and echoed as given, so that a script can join each answer to its text
    read = [text.strip() for text in texts]
    # a long file is classified a part at a time, each part printed as soon as it is done: the first
    # answers come in seconds, not after the whole file (and `| head -1` stops the rest). Batches are
    # sorted by length within a part, which pads a little more than sorting the whole file would. What
    # the texts' lengths and words say is said once, of them all, after the answers: each part is
    # tokenized for it as it comes, not the whole file before the first answer
    lengths, unknown = [], []
    from sft_teach.inference import max_length_of

    limit = max_length or max_length_of(model, tokenizer)  # where a text is cut, as the warning below says
    for start in range(0, len(read), PART):
        part = read[start:start + PART]
        part_lengths, part_unknown = lengths_and_unknown(part, tokenizer, "predict")
        lengths.extend(part_lengths)
        unknown.extend(part_unknown)
        for i, row in enumerate(predict(model, tokenizer, part, max_length=max_length), start):
            print(cli_conventions.json_line({**row, "text": texts[i], "score": round(row["score"], 4),
                                             **({"line": lines[i]} if lines else {}),
                                             **({"cut": True} if part_lengths[i - start] > limit else {})}))
        sys.stdout.flush()  # a pipe is block-buffered: its reader gets each part when it is done
    cli_conventions.warn(score_warnings.hard_to_read(model, tokenizer, read, limit, read=(lengths, unknown),
                                                     marked=(' (its JSON line says "cut": true)',
                                                             ' (their JSON lines say "cut": true)')))
    return 0
