"""A CSV's rows read and checked: the pieces of a CSV a strict reader needs (its delimiter, its
misplaced quotes), and :func:`read_csv_rows`, which reads the rows cell by cell in three steps (the
header, the rows one by one, what only the whole file shows), from the text
:func:`sft_teach.decoding.decode` makes of the file's bytes.

Taught in notebooks/05_your_own_data.ipynb.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import io
import re
from pathlib import Path
from typing import NamedTuple

from sft_teach import decoding
from sft_teach.cli_conventions import shell_word
from sft_teach.errors import ConfigError, DataError, MissingColumnError
from sft_teach.labels import as_number, one_form
from sft_teach.text_forms import printed


class Rows(NamedTuple):
    """A CSV's rows as :func:`read_csv_rows` read them (``with_lines=True``)."""
    texts: list[str]
    labels: list[str]  # empty without a label column
    lines: list[int]  # the line each row starts on (the header is line 1)
    labels_trimmed: int  # rows whose label was written another way ('spam ', 'tech  support'), read in labels.one_form
    empty_texts: tuple = ()  # with skip_empty_texts: the lines of the rows left out for an empty text


def shown_columns(columns, width: int = 40) -> str:
    """Column names for a message, on one line: a line break, a NUL or a byte-order mark inside a
    name (a stray quote in a header swallows the lines below it) is written as its escape, ``\\n``,
    and a long name is cut, so an error stays one line that says what the header holds."""
    import unicodedata

    def one(name: str) -> str:
        name = "".join(c if c == " " or unicodedata.category(c)[0] not in "CZ" else c.encode("unicode_escape").decode()
                       for c in name)
        return name if len(name) <= width else name[:width - 3] + "..."

    return ", ".join(one(c) for c in columns) or "none"


@contextlib.contextmanager
def _long_fields():
    """csv's limit on one cell (131,072 characters) lifted while a file is read: a long document in one
    cell is a text like any other (cut at max_length later, with a warning), and a quote left open in
    a large file must get its own message, not csv's "field larger than field limit". The limit is
    the process's, so it is put back afterwards."""
    before = csv.field_size_limit()
    csv.field_size_limit(2 ** 31 - 1)  # the largest a C long holds on every platform
    try:
        yield
    finally:
        csv.field_size_limit(before)


@_long_fields()
def read_csv_rows(path, text_column: str = "text", label_column: str | None = "label", encoding: str = "utf-8",
                  with_lines: bool = False, skip_empty_texts: bool = False, classes: bool = True,
                  data: bytes | None = None):
    """Rows of a CSV as ``(texts, labels)``, checked cell by cell; with ``with_lines``, a
    :class:`Rows` that also holds the line each row starts on, for messages about a row, and how
    many labels were written another way than :func:`sft_teach.labels.one_form`'s. An empty text is an error, unless
    ``skip_empty_texts`` (texts to classify, where there is nothing to learn from, only rows to
    answer): then its row is left out and its line is in ``Rows.empty_texts``. ``classes=False``: the
    second column holds something other than class names (a second sentence, cue words), which may
    differ on every row. ``data``: the file's bytes, read already (a pipe can be read once; standard
    input has no path): ``path`` then only names the file in messages.

    Row numbers in errors are the file's line numbers (the header is line 1), so
    the learner can jump straight to them in an editor. A text over several lines (quoted) is
    named by its first.
    """
    shown = str(path)  # as the learner typed it
    # header names are read without the spaces around them ("text, label"), so the names asked for are too
    text_column = text_column.strip()
    label_column = label_column.strip() if label_column is not None else None
    opened = _checked_header(Path(path), shown, text_column, label_column, encoding, data)
    read = _read_rows(opened, shown, text_column, label_column, skip_empty_texts, classes)
    _check_whole_file(read, opened.columns, shown, text_column, label_column, classes)
    rows = Rows(read.texts, read.labels, read.lines, read.trimmed, tuple(read.skipped))
    return rows if with_lines else (rows.texts, rows.labels)


class _Opened(NamedTuple):
    """A CSV file decoded, its header read and checked: what the row loop reads on from."""
    raw: str  # the text under an Excel "sep=" line, if the file has one
    delimiter: str
    skipped_lines: int  # 1 when a "sep=" line was read off the top, else 0
    reader: csv.DictReader  # positioned after the header
    columns: list[str]  # the header's names, without the spaces around them


def _checked_header(path: Path, shown: str, text_column: str, label_column: str | None, encoding: str,
                    data: bytes | None = None) -> _Opened:
    """Step 1 of :func:`read_csv_rows`: the file exists, is text, and its header names each column asked for once."""
    if data is None and not path.exists():
        raise DataError(f"{path}: file not found: check the path (relative paths start from {Path.cwd()}/)")
    if data is None and path.is_dir():
        raise DataError(f"{shown}: is a folder, not a CSV file: pass a .csv file, or a folder with train.csv")
    refuse_other_format(path, shown, "a CSV file", "save the texts and labels as CSV (pandas: df.to_csv(path, "
                        "index=False)), or load it with datasets and pass the Dataset in Python")
    raw = decoding.decode(path.read_bytes() if data is None else data, shown, encoding)
    if not raw.strip():
        header = f"{text_column},{label_column}" if label_column else text_column  # predict reads texts alone
        raise DataError(f"{shown}: the file is empty: it needs a header line '{header}' and one row per "
                        f"{'example' if label_column else 'text'}")
    # Excel writes "sep=;" as a first line to name the delimiter: honoured, and not read as the header
    lines = re.split(r"\r\n|\r|\n", raw, maxsplit=21)  # a CSV's line ends only: "\r" alone too (old Macs)
    first_line = lines[0].strip()
    skipped_lines = 0
    if re.fullmatch(r"sep=.", first_line):
        separator, raw, skipped_lines = first_line[-1], re.split(r"\r\n|\r|\n", raw, maxsplit=1)[1] \
            if len(lines) > 1 else "", 1
    else:
        separator = delimiter(first_line, lines[1:21])
    # The csv module splits rows itself (newline=""): only \n, \r and \r\n end a row, and a
    # quoted cell may hold them. str.splitlines() would also split on U+2028, NEL (U+0085) and
    # form feeds, which real exports carry inside unquoted texts.
    reader = csv.DictReader(io.StringIO(raw, newline=""), delimiter=separator)
    if reader.fieldnames:
        # "text, label"; and a byte-order mark left inside a name (a file's second BOM, after the one its
        # decoding removes), invisible in every editor, so that even a suggested --text-column fails
        reader.fieldnames = [c.replace("\ufeff", "").strip() if c is not None else c for c in reader.fieldnames]
    columns = [c for c in (reader.fieldnames or []) if c is not None]
    if label_column == text_column:
        raise ConfigError(f"{shown}: --text-column and --label-column both name '{text_column}' (text_column= and "
                          f"label_column= in Python): the texts and the labels need a column each (columns found: "
                          f"{shown_columns(columns)})")
    for name in (text_column, label_column):  # a row would keep only the last of two such cells
        if name is not None and columns.count(name) > 1:
            places = [str(i + 1) for i, c in enumerate(columns) if c == name]
            raise DataError(f"{shown}: the header names column '{name}' {len(places)} times (columns "
                            f"{' and '.join(places)}): rename or delete all but the one that holds the "
                            f"{'texts' if name == text_column else 'labels'}")
    missing, hints = [], []
    for column in (text_column, label_column):
        if column is not None and column not in columns:
            # "texts" for "text", not "date"; compared in lower case, so "LABEL" is found for "label" too
            lowered = {c.lower(): c for c in reversed(columns)}  # the first column of that spelling
            close = [lowered[c] for c in difflib.get_close_matches(column.lower(), list(lowered), n=1, cutoff=0.6)]
            option = "text" if column == text_column else "label"
            missing.append(f"'{column}'")
            hints.append(f"did you mean '{close[0]}'? pass --{option}-column {shell_word(close[0])} ({option}_column='{close[0]}' "
                         f"in Python)" if close else
                         f"pass the column that holds the {option}s: --{option}-column NAME ({option}_column= in Python)")
    if missing:  # both named at once, when both are missing
        broken = next((c for c in columns if "\n" in c or "\r" in c), None)
        if broken is not None:  # a quote opened in the header and closed lines below: rows read as a name
            spanned = len(re.split(r"\r\n|\r|\n", broken))
            raise MissingColumnError(f"{shown}: the header's column name {shown_columns([broken])} runs over "
                                     f"{spanned} lines: a quote (\") opened in line 1 is not closed on that line, "
                                     f"so the lines below it were read as part of a name; remove the quote from the "
                                     f"header, or close it where the name ends", columns)
        below = _header_below(raw, [c for c in (text_column, label_column) if c is not None])
        if below:  # a report's title or an export's date above the header
            line, header = below
            above = "the line" if line == 2 else f"the {line - 1} lines"
            raise MissingColumnError(f"{shown}: line {line + skipped_lines} is the header ({shown_columns([header], 60)}), with "
                                     f"{above} above it not part of the table: delete {above} above the header",
                                     columns)
        if any(len(c.split()) >= 4 or len(c) > 40 for c in columns):  # a sentence, not a column's name
            names = [text_column] + ([label_column] if label_column else [])
            if len(columns) > len(names):  # a name for every cell: 'text,label' for texts alone (predict) and a label
                names += (["label"] if len(columns) == 2 else
                          [f"column{i}" for i in range(len(names) + 1, len(columns) + 1)])
            raise MissingColumnError(f"{shown}: line 1 ({shown_columns(columns)}) looks like a row of data, not column names: "
                                     f"add a header line above it, e.g. '{','.join(names)}'"
                                     + (f", a name for each of its {len(columns)} cells, '{text_column}' over the "
                                        f"texts" if not label_column and len(columns) > 1 else ""), columns)
        raise MissingColumnError(f"{shown}: no column {' and no column '.join(missing)} (columns found: "
                                 f"{shown_columns(columns)}): {'; '.join(hints)}", columns)
    return _Opened(raw, separator, skipped_lines, reader, columns)


def _header_below(raw: str, wanted: list[str]) -> tuple[int, str] | None:
    """``(line, text)`` of the first of lines 2-6 that names every column ``wanted``, when line 1 does not."""
    for number, line in enumerate(re.split(r"\r\n|\r|\n", raw, maxsplit=6)[1:6], 2):  # a CSV's line ends only
        if len(line) > 1000:  # a text, not column names
            continue
        names = [name.strip() for name in next(csv.reader([line], delimiter=delimiter(line)), [])]
        if all(column in names for column in wanted):
            return number, line.strip()
    return None


class _Read(NamedTuple):
    """The rows as the row loop read them, with what it noted for the whole-file checks."""
    texts: list[str]
    labels: list[str]
    lines: list[int]
    numbers: list[tuple[int, str]]  # (line, text) of every text that reads as a number
    empty: list[tuple[int, str]]  # (line, column) of every empty text or label
    skipped: list[int]  # with skip_empty_texts: the lines of empty texts
    trimmed: int
    swallowed: list[tuple[int, int, str]]  # (line, last, label): rows that may have taken in the next


def _read_rows(opened: _Opened, shown: str, text_column: str, label_column: str | None,
               skip_empty_texts: bool, classes: bool = True) -> _Read:
    """Step 2 of :func:`read_csv_rows`: the rows one by one, each with the line it starts on; errors
    that one row shows alone are raised here, the rest noted for :func:`_check_whole_file`."""
    raw, delimiter, skipped_lines, reader = opened.raw, opened.delimiter, opened.skipped_lines, opened.reader
    texts, labels, lines, numbers = [], [], [], []
    empty = []  # (line, column) of every empty text or label: all named in one error, not one per run
    skipped = []  # with skip_empty_texts: the lines of empty texts
    trimmed = 0
    cells_of = reader.reader  # the rows under the header, read one by one to know where each starts
    odd_quotes = raw.count('"') % 2 == 1  # a double quote opened and never closed, somewhere
    broken = quote_breaks(raw, delimiter) if '"' in raw else {}
    # the file's lines as the csv module counts them (only \n, \r and \r\n end one), to read a row's first alone
    physical = re.split(r"\r\n|\r|\n", raw) if broken else []
    swallowed = []  # (line, last, the label its first line ends with): rows that may have taken in the next
    headers = []  # lines that are the header again
    trailing = []  # lines with more cells than the header, the extra ones empty: named together at the end
    header = [name.strip() for name in reader.fieldnames]
    while True:
        line = cells_of.line_num + 1 + skipped_lines  # a quoted text may run over several lines: name its first
        try:
            cells_in_row = next(cells_of)
        except StopIteration:
            break
        last = cells_of.line_num + skipped_lines
        # a quote left open swallows the lines after it into one cell, up to the next quote or the
        # end of the file: the row then looks wrong in ways that hide the real cause
        broke_at = [n for n in broken if line <= n + skipped_lines <= last]
        # an odd count says a quote is open somewhere; so does a strict reader stopping inside this row
        # on a line that starts with a quote (the next row's opening quote read as this one's closing),
        # also when a stray quote earlier in the file makes the count even again
        run_on = any(physical[n - 1].lstrip().startswith('"') for n in broke_at)
        open_quote = (f" (its double quote, opened on line {line}, runs to line {last}: if the text ends on "
                      f"line {line}, close the quote there)") if (odd_quotes or run_on) and last > line else ""
        if broke_at and broken[broke_at[-1]] and last == line:  # the last row opens a quote the file never closes
            open_quote = f" (its double quote, opened on line {line}, is never closed: close it where the text ends)"
        if broke_at and last > line and label_column is None:
            # texts alone (predict --file): no label cell shows where a row should have ended, but a strict
            # reader stops inside this row (a text quoted over several lines never makes it stop): its
            # opening quote took in the lines after it, each a text of its own
            where = (f"to the end of the file (line {last}), taking in every line after it" if broken[broke_at[-1]]
                     else f"to line {last}, taking in the lines between")
            raise DataError(f"{shown}: line {line}: its double quote is {'never' if broken[broke_at[-1]] else 'not'} "
                            f"closed{'' if broken[broke_at[-1]] else ' on that line'}, so the text runs on {where}: "
                            f"close the quote where the text ends, or write a double quote inside a text as two (\"\")")
        if broke_at and last > line and label_column is not None:
            # Read alone, without its opening quote, does the row's first line end in a label cell of its
            # own? Then the quote swallowed a row boundary; a text meant to run over lines does not.
            alone = next(csv.reader([physical[line - 1 - skipped_lines].lstrip().removeprefix('"')],
                                    delimiter=delimiter), [])
            where = reader.fieldnames.index(label_column)
            if len(alone) == len(reader.fieldnames) and alone[where].strip():
                swallowed.append((line, last, alone[where].strip()))
        if [cell.replace("\ufeff", "").strip() for cell in cells_in_row] == header:  # monthly exports joined: each brings its header
            headers.append(line)
            continue
        if len(cells_in_row) > len(reader.fieldnames):  # usually an unquoted comma in the text
            quote = f"put the text in double quotes if it contains {named_for(delimiter)}"
            extra = cells_in_row[len(reader.fieldnames):]
            if open_quote or any(cell.strip() for cell in extra):
                raise DataError(f"{shown}: line {line} has more cells than the header" + (open_quote or f": {quote}"))
            trailing.append(line)  # "...;billing;": a delimiter at the end of the line
            cells_in_row = cells_in_row[:len(reader.fieldnames)]
        row = dict(zip(reader.fieldnames, cells_in_row))
        if all((v or "").strip() == "" for v in row.values()):
            continue  # a stray empty line is harmless; skip it
        cells = {column: (row.get(column) or "").strip() for column in (text_column, label_column) if column}
        blank = [column for column, value in cells.items() if not printed(value).strip()]  # a zero-width space alone too
        if skip_empty_texts and blank == [text_column]:
            skipped.append(line)
            continue
        if blank and open_quote:
            raise DataError(f"{shown}: line {line}, column '{blank[0]}' is empty{open_quote}")
        if blank:
            empty += [(line, column) for column in blank]
            continue
        text = cells[text_column]
        if label_column is not None:
            if classes:  # class names; a second column of texts (a sentence pair's) stays as written
                cells[label_column] = one_form(cells[label_column])
            trimmed += cells[label_column] != row[label_column]
        if as_number(text) is not None:
            numbers.append((line, text))
        texts.append(text)
        lines.append(line)
        if label_column is not None:
            labels.append(cells[label_column])
    if trailing:
        shown_delimiter = "a tab" if delimiter == "\t" else f"'{delimiter}'"
        where = _first_five(trailing)
        raise DataError(f"{shown}: line{'s' * (len(trailing) > 1)} {where} {'have' if len(trailing) > 1 else 'has'} more "
                        f"cells than the header, the extra cells empty: {shown_delimiter} at the end of the line? "
                        f"delete it (or name the extra column in the header); if a text holds {named_for(delimiter)}, "
                        f"put it in double quotes")
    if headers:  # a row "text,label" would be a class 'label' of texts 'text', trained on and predicted
        first = 1 + skipped_lines
        shown_lines = _first_five(headers)
        raise DataError(f"{shown}: line{'s' * (len(headers) > 1)} {shown_lines} repeat{'s' * (len(headers) == 1)} the "
                        f"header (line {first}), as files joined one after another do: delete "
                        f"{'them' if len(headers) > 1 else 'it'}, keeping the header on line {first} only")
    return _Read(texts, labels, lines, numbers, empty, skipped, trimmed, swallowed)


def _first_five(lines: list[int]) -> str:
    """Line numbers for a message: ``2, 3, 4, 5, 6 and 51 more``."""
    return ", ".join(map(str, lines[:5])) + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")


def _check_whole_file(read: _Read, columns: list[str], shown: str, text_column: str, label_column: str | None,
                      classes: bool) -> None:
    """Step 3 of :func:`read_csv_rows`: what only the whole file shows (a quote that swallowed a row,
    empty cells named together, no rows, a label column of texts, a text column of numbers)."""
    texts, labels, lines, numbers, empty, skipped, _, swallowed = read
    known = set(labels)
    for line, last, label in swallowed:  # two rows read as one that looks whole: a row lost, a text wrong
        if label in known:
            raise DataError(f"{shown}: line {line}: its double quote is not closed on that line, so the row runs on "
                            f"to line {last} and takes in what reads as another row (line {line} ends with the "
                            f"label '{label}'): close the quote on line {line}, or write a double quote inside a text "
                            f"as two (\"\")")
    if empty:
        (line, column), more = empty[0], empty[1:]
        fix = "write the text or delete the row" if column == text_column else "every row needs a label"
        also = "" if not more else (f" (also {', '.join(f'line {l} ({c})' for l, c in more[:5])}"
                                    + (f" and {len(more) - 5} more" if len(more) > 5 else "") + ")")
        raise DataError(f"{shown}: line {line}, column '{column}' is empty{also}: "
                        + ("fill in or delete those rows" if more else fix))
    if not texts:
        raise DataError(f"{shown}: has a header but no rows: add one example per line"
                        if not skipped else f"{shown}: every text in column '{text_column}' is empty: nothing to classify")
    if classes and label_column is not None and len(labels) > 20 and len(set(labels)) == len(labels):
        # a label column where no two rows agree holds texts: the columns are swapped or mistaken
        swapped = len(set(texts)) <= len(texts) / 2  # and the "texts" repeat, as labels do
        raise DataError(f"{shown}: every one of the {len(labels)} rows has a label of its own in column "
                        f"'{label_column}' (line {lines[0]}: {labels[0][:40]!r}), so it holds texts, not labels: "
                        + ("are the text and label columns swapped? " if swapped else "")
                        + f"pass --label-column with the column that holds the labels (columns found: "
                          f"{shown_columns(columns)})")
    if len(numbers) > len(texts) / 2:  # one message that is "645" is real data; most texts numbers is a swap
        line, number = numbers[0]
        raise DataError(f"{shown}: {len(numbers)} of {len(texts)} texts in column '{text_column}' are numbers "
                        f"(line {line}: {number!r}): are the text and label columns swapped? pass --text-column "
                        f"with the column that holds the texts")


def named_for(delimiter: str) -> str:
    """A delimiter in words, as a message says a text may hold it: ``commas``, ``semicolons``."""
    return {",": "commas", ";": "semicolons", "\t": "tabs", "|": "'|' characters"}.get(delimiter, repr(delimiter))


def refuse_other_format(path: Path, shown: str, wanted: str, fix: str) -> None:
    """A :class:`DataError` for a file whose name says it holds data in another format (JSON, JSON
    Lines, Parquet, Arrow, a pickle): read as text it would be split into lines of syntax, not texts.
    ``wanted``: what the command reads ("a CSV file"); ``fix``: how to make one."""
    if path.suffix.lower() in {".json", ".jsonl", ".parquet", ".arrow", ".pkl", ".pickle"}:
        raise DataError(f"{shown}: is a {path.suffix.lower()[1:].upper()} file, not {wanted}: {fix}")


def quote_breaks(raw: str, delimiter: str) -> dict[int, bool]:
    """Every line where a strict CSV reader stops on a misplaced double quote, counted from the
    header (1), each with whether a quote is still open at the end of the file there.

    The lenient reader used for the rows reads on: a quote opened and never closed on its line then
    runs into the next lines, up to the next quote, and two rows become one that looks normal. A
    strict reader goes on after each error, so a harmless stray quote early on hides no later one.
    """
    strict, found = csv.reader(io.StringIO(raw, newline=""), delimiter=delimiter, strict=True), {}
    while True:
        try:
            next(strict)
        except StopIteration:
            return found
        except csv.Error as error:
            found[strict.line_num] = "end of data" in str(error)
            if found[strict.line_num]:
                return found


def delimiter(header: str, rows=()) -> str:
    """The delimiter of a CSV whose first line is ``header``: a comma, a ';' (European spreadsheets), a
    tab (TSV) or '|' (some databases' exports), whichever the header holds. When it holds several (a
    column named "What could we improve, in your own words?" in a file of semicolons), the one that
    makes the header more than one column and cuts the most of the ``rows`` below (a few lines are
    enough) into as many cells as the header, then the comma."""
    found = [d for d in ",;\t|" if d in header]
    if len(found) < 2:
        return found[0] if found else ","

    def cells(mark):  # the header's columns with this delimiter, quotes respected
        return len(next(csv.reader([header], delimiter=mark)))

    def fits(mark):  # the rows this delimiter cuts into as many cells as the header
        return sum(len(next(csv.reader([row], delimiter=mark), [])) == cells(mark) for row in rows if row.strip())

    # a quoted header ('"What could we improve, in your own words?";"Topic"') is one cell by the comma
    return max(found, key=lambda mark: (cells(mark) > 1, fits(mark), mark == ",", header.count(mark)))
