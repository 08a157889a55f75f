"""The bad-input battery: every mistake a learner can make with data, settings or folders.

Each case runs the real command line. An error must be one line on stderr that names
the place (file, line, column or option) and the fix, exit with code 2, show no
traceback, and leave an existing output folder untouched. Warnings (duplicates,
leakage, tiny classes, imbalance, long texts) are printed but do not stop anything.
"""

import json
import re

import pytest
from support import CATS, DOGS, GOOD, fake_checkpoint, write_csv

from sft_teach.cli import main



@pytest.fixture
def existing_output(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / "metrics.json").write_text('{"accuracy": 0.5}')
    return out


def _bytes(path, content: bytes):
    path.write_bytes(content)
    return path


def _folder(path, train_rows, validation_rows):
    path.mkdir()
    write_csv(path / "train.csv", train_rows)
    if validation_rows is not None:
        write_csv(path / "validation.csv", validation_rows)
    return path


def _folder_with_headers(path, validation_header):
    path.mkdir()
    write_csv(path / "train.csv", GOOD)
    write_csv(path / "validation.csv", GOOD, header=validation_header)
    return path


def _two_encodings_folder(path):
    """A folder whose train.csv is UTF-8 (with an accent) and whose validation.csv is cp1252."""
    path.mkdir()
    rows = "text,label\n" + "".join(f"{t},{label}\n" for t, label in GOOD)
    (path / "train.csv").write_bytes((rows + "Caf\u00e9 cream on the sill again.,cat\n").encode("utf-8"))
    (path / "validation.csv").write_bytes((rows + "Caf\u00e9 cream on the sill again.,cat\n").encode("cp1252"))
    return path


def _empty_folder(path):
    path.mkdir()
    return path


# (case id, make the input in tmp_path -> extra arguments, words the one-line message must contain)
CASES = [
    ("missing-file", lambda d: ["--data", str(d / "nope.csv")], ["nope.csv", "file not found"]),
    ("empty-file", lambda d: ["--data", str(_bytes(d / "e.csv", b""))], ["e.csv", "the file is empty"]),
    ("header-only", lambda d: ["--data", str(_bytes(d / "h.csv", b"text,label\n"))], ["h.csv", "has a header but no rows"]),
    ("no-text-column", lambda d: ["--data", str(write_csv(d / "c.csv", GOOD, header=("review", "stars")))],
     ["c.csv", "no column 'text' and no column 'label' (columns found: review, stars)"]),
    ("text-column-typo", lambda d: ["--data", str(write_csv(d / "c.csv", GOOD, header=("texts", "label")))],
     ["did you mean 'texts'? pass --text-column texts"]),
    # a header name with a space: the option suggested is quoted, so that it can be pasted into a shell
    ("text-column-typo-with-a-space", lambda d: ["--data", str(write_csv(d / "c.csv", GOOD, header=("Message Body", "label"))),
                                                 "--text-column", "Message body"],
     ["did you mean 'Message Body'? pass --text-column 'Message Body' (text_column='Message Body' in Python)"]),
    ("label-column-called-sentiment", lambda d: ["--data", str(write_csv(d / "c.csv", GOOD, header=("text", "sentiment")))],
     ["no column 'label' (columns found: text, sentiment)"]),
    ("wrong-column-option", lambda d: ["--data", str(write_csv(d / "c.csv", GOOD)), "--label-column", "lable"],
     ["no column 'lable'", "did you mean 'label'"]),
    ("empty-text", lambda d: ["--data", str(write_csv(d / "t.csv", GOOD[:3] + [("   ", "dog")]))],
     ["t.csv", "line 5, column 'text' is empty"]),
    ("missing-label", lambda d: ["--data", str(write_csv(d / "l.csv", GOOD[:2] + [("Chased its tail.", "")]))],
     ["l.csv", "line 4, column 'label' is empty"]),
    ("columns-swapped", lambda d: ["--data", str(write_csv(d / "s.csv", [("4", "Lovely"), ("1", "Awful")]))],
     ["s.csv", "2 of 2 texts in column 'text' are numbers (line 2: '4')", "swapped"]),
    ("unquoted-comma", lambda d: ["--data", str(_bytes(d / "q.csv", b"text,label\nsat, purred, slept,cat\n"))],
     ["q.csv", "line 2 has more cells than the header", "double quotes"]),
    # a semicolon file whose every row ends with one more ';': the texts are quoted, so "quote the text" is no fix
    ("delimiter-at-the-end-of-each-row", lambda d: ["--data", str(_bytes(d / "t.csv", b"text;label\n" + b"".join(
        f'"{t}";{label};\n'.encode() for t, label in GOOD)))],
     ["t.csv: lines 2, 3, 4, 5, 6 and 15 more have more cells than the header, the extra cells empty: ';' at the end "
      "of the line? delete it (or name the extra column in the header); if a text holds semicolons, put it in double quotes"]),
    # twelve monthly exports joined: each brings its header, which would be a class 'label' of texts 'text'
    ("header-repeated-inside-the-file", lambda d: ["--data", str(_bytes(d / "year.csv", "\n".join(
        ["text,label"] + [f'"{t}",{label}' for t, label in GOOD[:7]] + ["text,label"] + [f'"{t}",{label}' for t, label in GOOD[7:]]
        + ["\ufefftext, label"]).encode()))],
     ["year.csv: lines 9, 23 repeat the header (line 1), as files joined one after another do: delete them, keeping "
      "the header on line 1 only"]),
    ("windows-1252-bytes", lambda d: ["--data", str(_bytes(d / "w.csv", "text,label\nLoves caf\u00e9 cream,cat\n".encode("cp1252")))],
     ["w.csv", "line 2, byte 0xe9 is not valid UTF-8 (the encoding tried)", "--encoding cp1252"]),
    # one export saved as UTF-8, the next as cp1252, joined: no single encoding reads both, and cp1252, which the
    # first error would suggest alone, turns the UTF-8 'é' into 'Ã©' in silence
    ("two-encodings-in-one-file", lambda d: ["--data", str(_bytes(d / "m.csv", "text,label\nCafé cat,cat\n".encode()
                                                                 + "Fetched – twice,dog\n".encode("cp1252")))],
     ["m.csv: line 3, byte 0x96 is not valid UTF-8 (the encoding tried): line 2 has 'é' written as UTF-8, so the file "
      "mixes two encodings", "no --encoding reads both right"]),
    ("two-encodings-read-as-cp1252", lambda d: ["--data", str(_bytes(d / "m.csv", "text,label\nCafé cat,cat\n".encode()
                                                                    + "Fetched – twice,dog\n".encode("cp1252"))),
                                                "--encoding", "cp1252"],
     ["m.csv: line 2 has 'é' written as UTF-8, which cp1252 reads as 'Ã©', while line 3 is not UTF-8"]),
    # Ukrainian in cp1251: 'Ві' is also the UTF-8 of '³', but no whole line is UTF-8: one encoding, read
    ("cp1251-text-read-as-utf-8", lambda d: ["--data", str(_bytes(d / "u.csv", "text,label\nВін прийшов додому,a\n"
                                                                  .encode("cp1251")))],
     ["u.csv: line 2, byte 0xed is not valid UTF-8 (the encoding tried): if the file came from Excel on Windows"]),
    ("unknown-encoding", lambda d: ["--data", str(write_csv(d / "u.csv", GOOD)), "--encoding", "klingon"],
     ["--encoding klingon: unknown encoding 'klingon': try utf-8 or cp1252"]),  # said before any file is read
    ("bytes-codec-as-encoding", lambda d: ["--data", "pets", "--encoding", "base64"],  # codecs.lookup takes it
     ["--encoding base64: 'base64' is no text encoding (it turns bytes into bytes): try utf-8 or cp1252"]),
    # a UTF-8 file read with another encoding: the fix is to drop the option, not cp1252
    ("utf8-read-as-ascii", lambda d: ["--data", str(write_csv(d / "w.csv", GOOD + [("Sat on the café chair.", "cat")])),
                                      "--encoding", "ascii"],
     ["w.csv", "is UTF-8 (line 22 has 'é' written as UTF-8), not ascii", "leave out --encoding"]),
    # ... or with cp1252, which would have read every accented letter wrong, in silence
    ("utf8-read-as-cp1252", lambda d: ["--data", str(write_csv(d / "w.csv", GOOD + [("Sat on the café chair.", "cat")])),
                                       "--encoding", "cp1252"],
     ["w.csv", "is UTF-8 (line 22 has 'é' written as UTF-8, which cp1252 would read as 'Ã©'), not cp1252",
      "leave out --encoding (encoding=), UTF-8 is the default"]),
    ("excel-csv-utf8-read-as-cp1252", lambda d: ["--data", str(_bytes(d / "x.csv", "\ufefftext,label\n".encode()
                                                                        + "\n".join(f"{t},{l}" for t, l in GOOD).encode())),
                                                 "--encoding", "cp1252"],
     ["x.csv", "is UTF-8 (it starts with UTF-8's byte-order mark), not cp1252"]),
    ("excel-workbook", lambda d: ["--data", str(_bytes(d / "book.csv", b"PK\x03\x04" + bytes(60)))],
     ["book.csv", "Excel workbook", "CSV UTF-8"]),
    ("binary-file", lambda d: ["--data", str(_bytes(d / "b.csv", b"\x00\x01\x02binary\x00"))], ["b.csv", "binary data"]),
    ("single-class", lambda d: ["--data", str(write_csv(d / "one.csv", [(t, "cat") for t in CATS]))],
     ["one.csv", "every row has the label 'cat'", "at least two classes"]),
    ("class-too-small-to-split", lambda d: ["--data", str(write_csv(d / "few.csv", GOOD[:3] + GOOD[10:]))],
     ["few.csv", "class 'cat' has only 3 rows, too few to split 80%/10%/10%", "add examples of 'cat'"]),
    # 10 cat rows in the file, 3 different texts: the count said is after the repeats are removed, and says so
    ("class-too-small-once-repeats-go", lambda d: ["--data", str(write_csv(d / "r.csv", GOOD[:3] * 3 + GOOD[:1] + GOOD[10:]))],
     ["r.csv", "class 'cat' has only 3 rows after removing 7 repeated or conflicting ones, too few to split 80%/10%/10%",
      "add examples of 'cat'"]),
    # 'bird' written once, on a text also filed as 'cat': the tie drops both copies and leaves 'bird' no
    # rows at all, which is too few, as one row is (not a class the model gets and never sees trained)
    ("class-left-without-rows-by-cleaning", lambda d: ["--data", str(write_csv(d / "b.csv", GOOD + [("Slept on the printer.", "cat"), (GOOD[0][0], "bird")]))],
     ["b.csv: class 'bird' has no rows after removing 1 repeated or conflicting one, too few to split 80%/10%/10%",
      "add examples of 'bird'"]),
    # 'Dog' beside too few 'dog': one fix, said once for the two spellings
    ("case-variants-both-too-small", lambda d: ["--data", str(write_csv(d / "d.csv", GOOD[:10] + GOOD[10:17] + [("Fetched it.", "Dog")]))],
     ["d.csv: classes 'Dog' (1 row), 'dog' (7 rows) have too few rows",
      "split 80%/10%/10% with every class in every split: 'Dog' differs only in case from 'dog': pass --merge-case "
      "(merge_case=True) to make them one class, or fix the spelling\n"]),
    # one row spelt 'Cat' beside 'cat': the fix is the spelling, not more examples
    ("case-variant-too-small-to-split", lambda d: ["--data", str(write_csv(d / "v.csv", GOOD + [("Purred at me.", "Cat")]))],
     ["v.csv", "class 'Cat' has only 1 row,", "'Cat' differs only in case from 'cat'", "--merge-case"]),
    ("folder-without-train", lambda d: ["--data", str(_empty_folder(d / "splits"))], ["splits/", "no train.csv"]),
    ("run-folder-for-its-splits", lambda d: ["--data", str(_folder(_empty_folder(d / "run") / "splits", GOOD, GOOD).parent)],
     ["run/: no train.csv in this folder, which holds a fine-tuning run", "pass --data", "run/splits"]),
    ("folder-without-validation", lambda d: ["--data", str(_folder(d / "splits", GOOD, None))],
     ["splits/", "no validation.csv"]),
    # a class with no training rows: the fix is in the files, not an option of evaluate
    ("validation-label-unseen-in-training", lambda d: ["--data", str(_folder(d / "splits", GOOD, GOOD[:2] + [("Nibbled a carrot.", "rabbit")]))],
     ["splits/validation.csv: label 'rabbit' (line 4) is not in splits/train.csv, whose labels are 'cat', 'dog'",
      "add training rows of it"]),
    # named in the file's order (line 4 first), not the alphabet's
    ("validation-labels-unseen-in-training", lambda d: ["--data", str(_folder(d / "splits", GOOD, GOOD[:2] + [
        ("Nibbled a carrot.", "rabbit"), ("Ran in its wheel.", "hamster")]))],
     ["splits/validation.csv: labels 'rabbit', 'hamster' (line 4) are not in splits/train.csv", "add training rows of them"]),
    ("validation-label-in-another-case", lambda d: ["--data", str(_folder(d / "splits", GOOD, GOOD[:2] + [("Purred.", "Cat")]))],
     ["splits/validation.csv: label 'Cat' (line 4) differs only in case from 'cat' in splits/train.csv"]),
    # no --text-column can fit both files: say that the headers differ
    ("folder-files-name-columns-differently", lambda d: ["--data", str(_folder_with_headers(d / "splits", ("Text", "label")))],
     ["splits/validation.csv: no column 'text' (columns found: Text, label), while splits/train.csv has it",
      "rename the column in validation.csv"]),
    # DictReader keeps the last of two same-named cells: the wrong column would be read without a word
    ("header-names-a-column-twice", lambda d: ["--data", str(_bytes(d / "two.csv", b"text,label,text\n" + b"".join(
        f"{t},{label},note\n".encode() for t, label in GOOD)))],
     ["two.csv: the header names column 'text' 2 times (columns 1 and 3)", "rename or delete all but the one"]),
    # a quote never closed swallows the rest of the file: the error names the quote, not the symptom
    ("quote-never-closed", lambda d: ["--data", str(_bytes(d / "q.csv", b'text,label\n"Sat on the mat,cat\nPurred.,cat\n'))],
     ["q.csv: line 2, column 'label' is empty (its double quote, opened on line 2, runs to line 3"]),
    # a quote left open runs into the next row and closes on its opening quote: two rows read as one
    # that looks whole (a row lost, a text made of two, the second row's label), unless the reader says so
    ("quote-not-closed-swallows-a-row", lambda d: ["--data", str(_bytes(d / "q.csv", b"text,label\n" + b"".join(
        f'"{t}",{label}\n'.encode() for t, label in GOOD[:3]) + b'"Sat on the mat,cat\n"Wagged at the door.",dog\n'
        + b"".join(f'"{t}",{label}\n'.encode() for t, label in GOOD[3:])))],
     ["q.csv: line 5: its double quote is not closed on that line, so the row runs on to line 6",
      "close the quote on line 5"]),
    # a harmless stray quote earlier in the file hides nothing: the strict reader goes on after it
    ("quote-not-closed-after-a-harmless-stray-quote", lambda d: ["--data", str(_bytes(d / "q.csv", b"text,label\n"
        + b'"Best" cat ever,cat\n' + b"".join(f'"{t}",{label}\n'.encode() for t, label in GOOD[:3])
        + b'"Sat on the mat,cat\n"Wagged at the door.",dog\n' + b"".join(f'"{t}",{label}\n'.encode() for t, label in GOOD[3:])))],
     ["q.csv: line 6: its double quote is not closed on that line, so the row runs on to line 7",
      "(line 6 ends with the label 'cat')"]),
    ("quote-on-the-last-row-never-closed", lambda d: ["--data", str(_bytes(d / "q.csv", b"text,label\n" + b"".join(
        f'"{t}",{label}\n'.encode() for t, label in GOOD) + b'"Sat on the mat,cat\n'))],
     [f"q.csv: line {len(GOOD) + 2}, column 'label' is empty (its double quote, opened on line {len(GOOD) + 2}, is never closed"]),
    ("every-text-a-conflict", lambda d: ["--data", str(write_csv(d / "x.csv", [(t, label) for t in CATS for label in ("cat", "dog")]))],
     ["x.csv: every one of its 20 rows is a text whose copies carry different labels with no majority",
      "(lines 2, 3)", "nothing to train on"]),
    ("number-written-two-ways", lambda d: ["--data", str(write_csv(d / "n.csv", [(t, "1" if label == "cat" else "2") for t, label in GOOD]
                                                                  + [("Purred at me.", "1.0")]))],
     ["n.csv: class '1.0' has only 1 row", "'1.0' is the number '1' written another way"]),
    ("single-class-train-file", lambda d: ["--data", str(_folder(d / "splits", GOOD[10:], GOOD))],
     ["splits/train.csv", "every row has the label 'dog'"]),
    ("epochs-zero", lambda d: ["--epochs", "0"], ["epochs (--epochs, num_train_epochs=) must be a finite number greater than 0"]),
    ("epochs-negative", lambda d: ["--epochs", "-2"], ["epochs (--epochs, num_train_epochs=) must be a finite number greater than 0"]),
    ("epochs-not-a-number", lambda d: ["--epochs", "three"], ["epochs (--epochs, num_train_epochs=) must be a number, got 'three'"]),
    ("head-epochs-negative", lambda d: ["--head-epochs=-1"], ["head epochs (--head-epochs, head_epochs=) must be 0 (no head-only phase) or more"]),
    ("head-epochs-not-a-number", lambda d: ["--head-epochs", "some"], ["head epochs (--head-epochs, head_epochs=) must be a number, got 'some'"]),
    ("learning-rate-zero", lambda d: ["--lr", "0"], ["learning rate (--lr, learning_rate=) must be a finite number greater than 0"]),
    ("learning-rate-not-a-number", lambda d: ["--lr", "abc"], ["learning rate (--lr, learning_rate=) must be a number, got 'abc': e.g. 1e-4"]),
    ("learning-rate-negative", lambda d: ["--lr=-1e-4"], ["learning rate (--lr, learning_rate=) must be a finite number greater than 0"]),
    ("learning-rate-infinite", lambda d: ["--lr", "inf"], ["learning rate (--lr, learning_rate=) must be a finite number greater than 0, got inf"]),
    ("seed-negative", lambda d: ["--seed=-3"], ["--seed must be at least 0, got -3"]),
    ("learning-rate-huge", lambda d: ["--lr", "5"], ["far too large", "try 1e-4"]),
    ("batch-size-zero", lambda d: ["--batch-size", "0"], ["batch size (--batch-size, batch_size=) must be a whole number of at least 1"]),
    ("batch-size-fraction", lambda d: ["--batch-size", "2.5"], ["batch size (--batch-size, batch_size=) must be a whole number"]),
    ("batch-size-infinite", lambda d: ["--batch-size", "inf"], ["batch size (--batch-size, batch_size=) must be a whole number of at least 1, got inf"]),
    ("max-length-not-a-number-nan", lambda d: ["--max-length", "nan"], ["max length (--max-length, max_length=) must be a whole number", "got nan"]),
    ("patience-infinite", lambda d: ["--patience", "inf"], ["patience (--patience, patience=) must be a whole number of epochs", "got inf"]),
    ("push-to-hub-empty", lambda d: ["--push-to-hub", ""], ["--push-to-hub needs the Hub repository to upload to, owner/name"]),
    ("data-name-too-long", lambda d: ["--data", "x" * 3000 + ".csv"], ["x" * 60 + "...: File name too long"]),
    ("max-length-not-a-number", lambda d: ["--max-length", "x"], ["max length (--max-length, max_length=) must be a number"]),
    ("max-length-beyond-model", lambda d: ["--max-length", "1000"], ["max length 1000 is more than this model accepts (512 tokens)"]),
    ("seed-fraction", lambda d: ["--seed", "1.5"], ["seed must be a whole number"]),
    ("hub-model-offline", lambda d: ["--model", "bert-base-uncased"], ["bert-base-uncased", "not available offline"]),
    ("missing-model-folder", lambda d: ["--model", "./missing-model-folder"], ["missing-model-folder", "does not exist"]),
    ("hub-dataset-offline", lambda d: ["--data", "imdb"], ["'imdb'", "cannot be reached"]),
    # a trailing slash means a folder: that it is missing comes first, not the Hub
    ("missing-data-folder", lambda d: ["--data", "my/splits/"], ["my/splits/: folder not found: check the path"]),
    ("resume-without-checkpoint", lambda d: ["--resume"], ["nothing to resume", "holds a finished run", "drop --resume and pass --overwrite"]),
    ("grad-accum-zero", lambda d: ["--grad-accum", "0"], ["--grad-accum must be at least 1"]),
    ("split-seed-fraction", lambda d: ["--split-seed", "1.5"], ["--split-seed must be a whole number"]),
    ("split-seed-negative", lambda d: ["--split-seed=-5"], ["--split-seed must be at least 0, got -5"]),
    ("bf16-on-a-cpu", lambda d: ["--bf16"], ["--bf16 needs a CUDA GPU", "drop the option"]),
    ("patience-zero", lambda d: ["--patience", "0"], ["patience (--patience, patience=) must be a whole number of epochs of at least 1"]),
    ("patience-with-the-plain-recipe", lambda d: ["--recipe", "plain", "--patience", "2"],
     ["--patience keeps the best validation epoch", "--recipe best"]),
    ("push-to-hub-offline", lambda d: ["--push-to-hub", "me/pets-classifier"],
     ["--push-to-hub me/pets-classifier", "cannot be reached", "upload the model folder later: hf upload "
      "me/pets-classifier"]),
    ("same-column-twice", lambda d: ["--data", str(write_csv(d / "c.csv", GOOD)), "--text-column", "text",
                                     "--label-column", "text"],
     ["c.csv", "--text-column and --label-column both name 'text'", "columns found: text, label"]),
    ("column-options-swapped", lambda d: ["--data", str(write_csv(d / "c.csv", GOOD + [(f"Note {i}.", "dog") for i in range(4)])),
                                          "--text-column", "label", "--label-column", "text"],
     ["c.csv", "every one of the 24 rows has a label of its own in column 'text'", "are the text and label columns swapped?"]),
    ("no-header-line", lambda d: ["--data", str(_bytes(d / "n.csv", "\n".join(f'"{t}",{l}' for t, l in GOOD).encode()))],
     ["n.csv", "line 1 (Asleep in the washing basket again., cat) looks like a row of data, not column names",
      "add a header line above it, e.g. 'text,label'"]),
    # a quote opened in the header and closed two lines down: before, the message quoted the rows it
    # swallowed with their line breaks, over three lines, and spoke of a missing column
    ("stray-quote-in-header", lambda d: ["--data", str(_bytes(d / "q.csv", b'"text,label\nPurred,cat\nHe said "hi",dog\n'))],
     ["q.csv: the header's column name text,label\\nPurred,cat\\nHe said hi\" runs over 3 lines",
      "a quote (\") opened in line 1 is not closed on that line", "remove the quote from the header"]),
    # a .csv.gz export: its bytes are not text, and 'binary data' did not say what to do
    ("gzip-compressed", lambda d: ["--data", str(_bytes(d / "g.csv.gz", __import__("gzip").compress(b"text,label\n")))],
     ["g.csv.gz: is gzip-compressed, not text: decompress it first"]),
    # column names in capitals: the close match was case-sensitive, so 'LABEL' was never suggested
    ("column-names-in-capitals", lambda d: ["--data", str(write_csv(d / "c.csv", GOOD, header=("TEXT", "LABEL")))],
     ["did you mean 'TEXT'? pass --text-column TEXT", "did you mean 'LABEL'? pass --label-column LABEL"]),
    # each file's own error sent the user to the encoding the other file refuses, and back
    ("folder-in-two-encodings", lambda d: ["--data", str(_two_encodings_folder(d / "f"))],
     ["f/: train.csv is UTF-8 and validation.csv is not", "save validation.csv again as 'CSV UTF-8'"]),
    # a stray quote inside an earlier text made the count of quotes even: the advice was to add quotes
    ("quote-left-open-after-a-stray-one", lambda d: ["--data", str(_bytes(d / "q.csv", "\n".join(
        ["text,label", *(f'"{t}",cat' for t in CATS), 'He said "sit and she sat,dog', '"Never closed,dog',
         "Howled at the moon.,dog", '"Lies on her back, swiping at the fan.",cat', *(f'"{t}",dog' for t in DOGS)]).encode()))],
     ["q.csv: line 13 has more cells than the header (its double quote, opened on line 13, runs to line"]),
    # a quote closed where the text ends, then more: no quote runs on, whatever the strict reader says
    ("closed-quote-then-more-text", lambda d: ["--data", str(_bytes(d / "q.csv", b'text,label\n"Line one\nline two" '
                                                                                b'really,cat,x\n'))],
     ["q.csv: line 2 has more cells than the header: put the text in double quotes"]),
    # a one-row class that is a misspelling: the advice was to add examples of 'dgo'
    ("misspelt-label", lambda d: ["--data", str(write_csv(d / "c.csv", GOOD + [("Wagged at the door.", "dgo")]))],
     ["class 'dgo' has only 1 row", "'dgo' is spelt like 'dog': if it is that class, correct the label in the file"]),
    ("control-characters-in-column-names", lambda d: ["--data", str(_bytes(d / "z.csv", b"re\xe2\x80\xa8view\x07,stars\nok,5\n"))],
     ["z.csv: no column 'text' and no column 'label' (columns found: re\\u2028view\\x07, stars)"]),
]


@pytest.mark.parametrize("make, expected", [pytest.param(m, e, id=i) for i, m, e in CASES])
def test_bad_input_is_one_actionable_line_exit_2_and_nothing_overwritten(make, expected, existing_output, tmp_path,
                                                                          monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    code = main(["finetune", "--output", str(existing_output), "--overwrite", *make(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("sft-teach: error: ") and "Traceback" not in err
    for words in expected:
        assert words in err
    assert (existing_output / "metrics.json").read_text() == '{"accuracy": 0.5}'
    assert not list(tmp_path.glob(".results.partial"))


def test_the_current_folder_is_named_by_its_name_not_by_the_empty_name_of_dot(tmp_path, monkeypatch, capsys):
    (tmp_path / "my-data").mkdir()
    monkeypatch.chdir(tmp_path / "my-data")
    assert main(["check", "--data", "."]) == 2
    assert capsys.readouterr().err == ("sft-teach: error: my-data/: no train.csv in this folder: add train.csv and "
                                       "validation.csv, or pass one CSV file\n")


def test_finetune_started_as_one_of_several_processes_says_so_before_anything(existing_output, monkeypatch, capsys):
    """Under torchrun every process would stage the same run, and all but one would meet its lock
    ("another sft-teach finetune is writing there"), which misleads: the command runs in one process."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["finetune", "--data", "pets", "--output", str(existing_output), "--overwrite"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == ("sft-teach: error: sft-teach finetune runs in one process, and this is one of 2 "
                                 "started together (torchrun or accelerate launch): run the command alone, or launch "
                                 "a script that calls sft_teach.training.finetune (README, \"Scaling out\")\n")
    assert sorted(p.name for p in existing_output.parent.iterdir()) == ["results"]
    assert (existing_output / "metrics.json").read_text() == '{"accuracy": 0.5}'
    # the other processes stop too, without saying it again
    monkeypatch.setenv("RANK", "1")
    assert main(["finetune", "--data", "pets", "--output", str(existing_output), "--overwrite"]) == 2
    assert capsys.readouterr() == ("", "")


def test_existing_output_is_never_replaced_without_overwrite(existing_output, capsys):
    assert main(["finetune", "--output", str(existing_output)]) == 2
    assert "already holds results: pass --overwrite" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [None, "model"], ids=["own-files-only", "own-files-beside-a-run"])
def test_overwrite_never_deletes_files_that_are_not_a_run(extra, tmp_path, capsys):
    """--overwrite deletes the output folder: a folder holding the user's own files (alone, or beside a
    previous run's) is refused, with or without the flag, naming them, and left as it was."""
    out = tmp_path / "myproject"
    (out / "notes").mkdir(parents=True)
    (out / "notes" / "todo.txt").write_text("important")
    (out / "data.xlsx").write_text("x")
    if extra:
        (out / "metrics.json").write_text('{"accuracy": 0.5}')
        (out / extra).mkdir()
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    for flags in ([], ["--overwrite"]):
        assert main(["finetune", "--output", str(out), *flags]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "holds files that are not an sft-teach run (data.xlsx, notes)" in err
        assert "choose another --output" in err
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before
    assert (out / "notes" / "todo.txt").read_text() == "important"


def test_output_that_is_a_file(tmp_path, capsys):
    (tmp_path / "out").write_text("keep me")
    assert main(["finetune", "--output", str(tmp_path / "out")]) == 2
    assert "is a file" in capsys.readouterr().err and (tmp_path / "out").read_text() == "keep me"


@pytest.mark.parametrize("command", [["notebooks", "{file}/sub"], ["lab", "{file}/sub", "--no-browser", "--allow-root"],
                                     ["course", "--edition", "student", "--output", "{file}"],
                                     ["course", "--edition", "student", "--output", "{file}/sub"],
                                     ["course", "--edition", "student", "--output", ""],
                                     ["book", "{file}"], ["book", "{file}/sub"]])
def test_course_folders_that_cannot_be_made_are_one_line(command, tmp_path, capsys, monkeypatch):
    """A course folder that is a file, lies under a file or has no name: one line, exit 2, the file
    untouched; never a NotADirectoryError traceback, nor an empty name taken as the current folder."""
    from sft_teach import cli_course

    monkeypatch.setattr(cli_course, "_exec", lambda command: pytest.fail("JupyterLab started"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("keep me")
    assert main([part.format(file="afile") for part in command]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("sft-teach: error: "), err
    assert ("'afile' is a file" in err) if command[-1] != "" else "has an empty name" in err
    assert (tmp_path / "afile").read_text() == "keep me" and sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_evaluate_a_file_that_does_not_exist(tiny_model_dir, tmp_path, capsys):
    """One line naming the file, with or without an encoding remembered by the model."""
    missing = tmp_path / "held_out.csv"
    for options in ([], ["--encoding", "cp1252"]):
        assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(missing), *options]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "held_out.csv: file not found" in err


def test_column_options_with_a_bundled_dataset_are_refused_not_ignored(tiny_model_dir, capsys):
    """pets is read by its own columns: --text-column foo named with the fix, by check and evaluate alike."""
    for command in (["check", "--data", "pets", "--text-column", "foo"],
                    ["evaluate", "--model", str(tiny_model_dir), "--data", "pets", "--text-column", "foo"]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "'pets' is a bundled dataset, read by its own columns text and label: " \
            "drop --text-column foo" in err and "Traceback" not in err


def test_evaluate_with_a_label_the_model_never_saw(tiny_model_dir, tmp_path, capsys):
    path = write_csv(tmp_path / "eval.csv", [("Nibbled the carrot top.", "rabbit")])
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(path)]) == 2
    assert ("eval.csv: label 'rabbit' (line 2, column 'label') is not known to the model, which knows 'cat', 'dog'"
            in capsys.readouterr().err)


def test_evaluate_names_the_editor_s_line_past_blank_lines_and_multi_line_texts(tiny_model_dir, tmp_path, capsys):
    path = _bytes(tmp_path / "eval.csv", b'text,label\n\nSat on the mat.,cat\n"Two lines\nof text",dog\nHopped off.,rabbit\n')
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(path)]) == 2
    assert "label 'rabbit' (line 6, column 'label')" in capsys.readouterr().err  # line 6 in an editor


def test_evaluate_a_label_differing_only_in_case(tiny_model_dir, tmp_path, capsys):
    path = write_csv(tmp_path / "eval.csv", [(t, y.capitalize() if i == 0 else y) for i, (t, y) in enumerate(GOOD)])
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "label 'Cat'" in err and "differs only in case from 'cat'" in err
    assert "--merge-case" in err
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(path), "--merge-case"]) == 0
    assert '"n": 20' in capsys.readouterr().out


def test_evaluate_names_each_unknown_label_with_its_own_fix(tiny_model_dir, tmp_path, capsys):
    """A case variant and a label the model has no class for: both fixes in one line, each naming its labels."""
    path = write_csv(tmp_path / "eval.csv", GOOD + [("Purred.", "Cat"), ("Win a prize!", "spam"), ("Hop.", "rabbit")])
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert ("'Cat' differs only in case from 'cat': fix the spelling, or pass --merge-case (merge_case=True); "
            "remove the rows labelled "
            "'spam' or 'rabbit' (the model cannot predict them) or pass --skip-unknown (skip_unknown=True) to score "
            "the other rows, or fine-tune a model on your labels") in err
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(path), "--merge-case"]) == 2
    err = capsys.readouterr().err
    assert "labels 'spam', 'rabbit'" in err and "differs only in case" not in err


def test_evaluate_skip_unknown_scores_the_rows_the_model_knows(tiny_model_dir, tmp_path, capsys):
    """--skip-unknown: the rows whose label the model knows are scored as a file of them alone would be;
    a warning and the JSON say how many rows of which label were left out. Nothing left: one line, exit 2."""
    import json

    known = write_csv(tmp_path / "known.csv", GOOD)
    path = write_csv(tmp_path / "eval.csv", [("Win a prize!", "spam")] + GOOD + [("Hop.", "rabbit"), ("Won!", "spam")])
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(known)]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(path), "--skip-unknown"]) == 0
    out, err = capsys.readouterr()
    assert err == (f"sft-teach: warning: skipped 3 rows whose label the model does not know ('spam' 2, 'rabbit' 1): "
                   f"the scores are on the other {len(GOOD)} rows\n")
    report = json.loads(out)
    assert report["skipped"] == {"spam": 2, "rabbit": 1} and report["n"] == len(GOOD)
    assert report["warnings"] == [err.removeprefix("sft-teach: warning: ").strip()]  # the JSON has every warning
    assert {k: v for k, v in report.items() if k not in ("skipped", "data", "warnings")} == {
        k: v for k, v in alone.items() if k not in ("data", "warnings")}
    nothing = write_csv(tmp_path / "spam.csv", [("Win a prize!", "spam")])
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(nothing), "--skip-unknown"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "spam.csv: no row has a label the model knows ('cat', 'dog')" in err


def test_evaluate_and_predict_refuse_a_max_length_beyond_the_model(tiny_model_dir, tmp_path, capsys):
    path = write_csv(tmp_path / "eval.csv", GOOD)
    for argv in (["evaluate", "--data", str(path)], ["predict", "A nap in the sun."]):
        assert main([*argv, "--model", str(tiny_model_dir), "--max-length", "600"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "max length 600 is more than this model accepts (128 tokens)" in err


def test_a_run_folder_passed_as_the_model_points_to_its_model_folder(tiny_model_dir, tmp_path, capsys):
    import shutil

    shutil.copytree(tiny_model_dir, tmp_path / "run" / "model")
    assert main(["predict", "--model", str(tmp_path / "run"), "A nap."]) == 2
    assert f"did you mean '{tmp_path / 'run' / 'model'}'?" in capsys.readouterr().err
    # finetune from a run folder (to train further) gets the same hint, before any work
    assert main(["finetune", "--model", str(tmp_path / "run"), "--output", str(tmp_path / "next")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"did you mean '{tmp_path / 'run' / 'model'}'?" in err
    assert not (tmp_path / "next").exists()


def test_predict_file_that_is_not_text_or_not_utf8(tiny_model_dir, tmp_path, capsys, monkeypatch):
    binary = _bytes(tmp_path / "b.txt", b"\x00\x01binary\x00")
    assert main(["predict", "--model", str(tiny_model_dir), "--file", str(binary)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "b.txt: holds binary data" in err and "one text per line" in err
    cp1252 = "Caf\u00e9 cream on the sill.\n".encode("cp1252")
    monkeypatch.setattr("sys.stdin", __import__("io").TextIOWrapper(__import__("io").BytesIO(cp1252)))
    assert main(["predict", "--model", str(tiny_model_dir), "-"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "standard input: line 1, byte 0xe9 is not valid UTF-8" in err
    monkeypatch.setattr("sys.stdin", __import__("io").TextIOWrapper(__import__("io").BytesIO(cp1252)))
    assert main(["predict", "--model", str(tiny_model_dir), "--encoding", "cp1252", "-"]) == 0
    assert __import__("json").loads(capsys.readouterr().out)["text"] == "Caf\u00e9 cream on the sill."


def test_evaluate_missing_model_folder(tmp_path, capsys):
    path = write_csv(tmp_path / "eval.csv", GOOD)
    assert main(["evaluate", "--model", str(tmp_path / "nothing"), "--data", str(path)]) == 2
    assert "does not exist" in capsys.readouterr().err


def _check(args, capsys):
    code = main(["check", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out, err


def test_warnings_for_duplicates_leakage_tiny_class_imbalance_and_long_texts(tmp_path, capsys):
    long_note = " ".join(["The dog waited by the gate all afternoon, ears up at every car."] * 12)
    train = GOOD[10:] * 2 + GOOD[:1] + [(long_note, "dog")]  # every dog twice, one cat
    folder = _folder(tmp_path / "splits", train, GOOD[:2] + GOOD[10:12])
    out, err = _check(["--data", str(folder), "--max-length", "64"], capsys)
    assert "22 rows: cat 1, dog 21" in out
    warnings = [line for line in out.splitlines() if line.startswith("sft-teach: warning: ")]
    assert len(warnings) == 7 and err == ""
    text = "\n".join(warnings)
    assert "no test split: the scores at the end are on validation, which is no independent test when it chooses" in text
    assert "train: 10 texts occur more than once (10 extra rows" in text
    assert "validation: 3 of its 4 texts also occur in train (the first: 'Asleep in the washing basket again.')" in text
    assert "(longest 182: 'The dog waited by the gate all afternoon…')" in text  # the text, as written, to search for
    assert "class 'cat' has only 1 example:" in text
    assert "'dog' has 21x the examples of 'cat'" in text
    assert "train: 1 text longer than max_length=64 tokens" in text and "will be truncated: its end is never seen" in text
    assert text.count("raise --max-length (max_length= in Python) if it matters") == 1
    assert "validation: classes 'cat' (2 rows), 'dog' (2 rows) have fewer than 3 rows there" in text
    assert out.strip().endswith("7 warnings")
    # at the model's own limit, a longer --max-length is no fix
    at_limit, _ = _check(["--data", str(folder), "--max-length", "512"], capsys)
    assert at_limit.count("sft-teach: warning: ") == 6  # the note of 182 tokens now fits
    longer = _folder(tmp_path / "long", GOOD + [(" ".join([long_note] * 3), "dog")], GOOD[:2] + GOOD[10:12])
    at_limit, _ = _check(["--data", str(longer), "--max-length", "512"], capsys)
    assert "longer than max_length=512 tokens" in at_limit and "512 tokens is all this model reads: split longer texts" in at_limit


def test_clean_data_gives_no_warnings(tmp_path, capsys):
    from support import pets_csv

    out, err = _check(["--data", str(pets_csv(tmp_path / "ok.csv"))], capsys)
    assert err == "" and out.strip().endswith("no problems found")


def test_a_class_with_one_or_two_evaluation_rows_is_warned_about(tmp_path, capsys):
    """20 rows split 80/10/10: one cat and one dog in validation and in test, each class's F1 one text."""
    out, _ = _check(["--data", str(write_csv(tmp_path / "small.csv", GOOD))], capsys)
    assert ("sft-teach: warning: validation: classes 'cat' (1 row), 'dog' (1 row) have fewer than 3 rows there, so "
            "their F1 rests on one or two texts and macro-F1 swings with each of them (and with it the epoch kept "
            "by --recipe best, or best_epoch=True in Python): add rows of them to the validation split (validation.csv, or the one file that "
            "is split 80/10/10), or read those scores as rough") in out
    assert "sft-teach: warning: test: classes 'cat' (1 row), 'dog' (1 row) have fewer than 3 rows" in out


@pytest.mark.parametrize("encoding, delimiter", [("utf-16", ","), ("utf-8", ";"), ("utf-8", "\t"), ("cp1252", ",")])
def test_spreadsheet_exports_are_read(tmp_path, capsys, encoding, delimiter):
    rows = ["text,label".replace(",", delimiter)] + [f"{t.replace(',', '')}{delimiter}{y}" for t, y in GOOD]
    rows[1] = rows[1].replace("washing", "caf\u00e9")  # a non-ASCII character in every encoding
    path = _bytes(tmp_path / "export.csv", "\n".join(rows).encode(encoding))
    out, err = _check(["--data", str(path), *(["--encoding", "cp1252"] if encoding == "cp1252" else [])], capsys)
    assert "train" in out and "cat 8, dog 8" in out


def _cp1252_model(tiny_model_dir, tmp_path):
    """The tiny model saved as finetune saves one trained on a cp1252 file whose labels were merged across case."""
    from types import SimpleNamespace

    from sft_teach.environment import library_bars_off
    from sft_teach.inference import load_finetuned
    from sft_teach.model_folder import save_model

    with library_bars_off():  # the libraries' loading bars would land in the test's captured stderr
        model, tokenizer = load_finetuned(tiny_model_dir)
        return save_model(SimpleNamespace(model=model, processing_class=tokenizer), tmp_path / "cp1252-model",
                          data={"text_column": "text", "label_column": "label", "encoding": "cp1252",
                                "merge_case": True, "data_sha256": None})


def test_predict_a_text_argument_that_is_not_utf8(tiny_model_dir, tmp_path, capsys):
    """A terminal in a legacy locale passes bytes Python keeps as surrogates: decoded as standard input
    would be (the model's cp1252 here), or one line naming the byte, never a tokenizer traceback."""
    undecoded = "Caf\udce9 cream"  # b"Caf\xe9 cream" as Python receives it from a cp1252 terminal
    assert main(["predict", "--model", str(tiny_model_dir), undecoded]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a text argument: line 1, byte 0xe9 is not valid UTF-8" in err
    assert main(["predict", "--model", str(_cp1252_model(tiny_model_dir, tmp_path)), undecoded]) == 0
    assert '"text": "Caf\u00e9 cream"' in capsys.readouterr().out


@pytest.mark.parametrize("name, content, expected", [
    ("folder", None, "notes: is a folder: pass a text file with one text per line, or a CSV file"),
    ("empty.txt", b"", "empty.txt: is empty or holds only blank lines: nothing to classify"),
    ("blank.txt", b"\n  \n\n", "blank.txt: is empty or holds only blank lines"),
    ("empty.csv", b"", "empty.csv: the file is empty: it needs a header line 'text' and one row per text"),
    ("u16.txt", "Purred all night.\n".encode("utf-16-le"),
     "u16.txt: looks like UTF-16 without a byte-order mark (every other byte is NUL): pass --encoding utf-16-le"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "old.xls: is an Excel 97-2003 workbook (.xls)"),
    ("noise.bin", b"\x00\x01\x02binary\x00stuff" * 10, "noise.bin: holds binary data (NUL bytes), not text"),
])
def test_predict_file_that_holds_nothing_to_classify(tiny_model_dir, tmp_path, capsys, name, content, expected):
    path = tmp_path / ("notes" if content is None else name)
    path.mkdir() if content is None else path.write_bytes(content)
    assert main(["predict", "--model", str(tiny_model_dir), "--file", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err, err


def test_predict_file_dash_and_utf16_named(tiny_model_dir, tmp_path, capsys):
    assert main(["predict", "--model", str(tiny_model_dir), "--file", "-"]) == 2
    assert "standard input is read with '-' in place of the texts" in capsys.readouterr().err
    path = _bytes(tmp_path / "u16.txt", "Purred all night.\n".encode("utf-16-le"))
    assert main(["predict", "--model", str(tiny_model_dir), "--file", str(path), "--encoding", "utf-16-le"]) == 0
    assert '"text": "Purred all night."' in capsys.readouterr().out


def test_a_file_neither_utf8_nor_the_models_encoding(tiny_model_dir, tmp_path, capsys):
    """Bytes cp1252 has no character for: not the advice to pass cp1252, which was tried; a file that
    reads only in the model's encoding is read so, and a warning says which byte made it so."""
    model = str(_cp1252_model(tiny_model_dir, tmp_path))
    bad = _bytes(tmp_path / "lat1.csv", b"text,label\nCaf\x81 cream,cat\n")
    assert main(["evaluate", "--model", model, "--data", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "byte 0x81 is not valid cp1252 (the encoding tried): it is not UTF-8 either" in err
    assert "probably cp1252" not in err
    good = _bytes(tmp_path / "export.csv", "text,label\n\u00a312 for a claw trim,Cat\n".encode("cp1252"))
    assert main(["evaluate", "--model", model, "--data", str(good)]) == 0
    err = capsys.readouterr().err
    assert ("export.csv: not UTF-8 (line 2, byte 0xa3): read as cp1252, the encoding this model's training file was "
            "read with") in err
    # the label Cat was merged into the model's cat because its training merged case: said, not silent
    assert "'Cat' read as 'cat': labels differing only in case were merged, as in this model's training" in err
    assert main(["evaluate", "--model", model, "--data", str(good), "--merge-case"]) == 0  # asked for: nothing to say
    assert "labels differing only in case were merged" not in capsys.readouterr().err
    notes = _bytes(tmp_path / "notes.txt", "\u00a312 for a claw trim\n".encode("cp1252"))  # predict --file names it too
    assert main(["predict", "--model", model, "--file", str(notes)]) == 0
    assert "notes.txt: not UTF-8 (line 1, byte 0xa3): read as cp1252" in capsys.readouterr().err


def test_an_unknown_encoding_in_the_models_config(tiny_model_dir, tmp_path, capsys):
    """A damaged config.json is named, not the data file, and --encoding gets past it; nothing is written."""
    import json

    model = _cp1252_model(tiny_model_dir, tmp_path)
    config = json.loads((model / "config.json").read_text())
    config["sft_teach"]["encoding"] = "bogus-enc"
    (model / "config.json").write_text(json.dumps(config))
    data = _bytes(tmp_path / "export.csv", "text,label\n\u00a312 for a claw trim,cat\n".encode("cp1252"))
    before = sorted(tmp_path.rglob("*"))
    for command in (["evaluate", "--data", str(data)], ["predict", "--file", str(data)]):
        assert main([command[0], "--model", str(model), *command[1:]]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "config.json: the training encoding it records, 'bogus-enc'" in err, err
        assert "export.csv" not in err and "--encoding" in err
    assert sorted(tmp_path.rglob("*")) == before
    assert main(["evaluate", "--model", str(model), "--data", str(data), "--encoding", "cp1252"]) == 0


@pytest.mark.parametrize("first_lines, warned", [
    ("text;label", "line 1"), ("Text,Label", "line 1"), ("text", "line 1"), ("sep=;\ntext;label", "line 2"),
    ("Text, with a comma about the label", None),
])
def test_predict_warns_about_a_csv_header_in_a_text_file(tiny_model_dir, tmp_path, capsys, first_lines, warned):
    path = tmp_path / "export.txt"
    path.write_text(f"{first_lines}\nPurred all night.;cat\n", encoding="utf-8")
    assert main(["predict", "--model", str(tiny_model_dir), "--file", str(path)]) == 0
    err = capsys.readouterr().err
    if warned:
        assert f"export.txt: {warned} reads like a CSV header" in err and "--text-column " in err
    else:
        assert not err


def test_evaluate_says_when_a_class_has_no_rows_and_takes_a_split_by_its_file_name(tiny_model_dir, tmp_path, capsys):
    """Only cats scored: macro-F1 averages the classes present, so the warning says so; --split test.csv
    is the split test; a model's config.json passed for its folder names the folder."""
    import json

    cats = write_csv(tmp_path / "cats.csv", [(t, "cat") for t in CATS[:4]])
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(cats)]) == 0
    out, err = capsys.readouterr()
    assert "class 'dog' of the model has no rows among the 4 scored" in err
    assert any("no rows among the 4 scored" in w for w in json.loads(out)["warnings"])
    dog = json.loads(out)["per_class"]["dog"]  # never right: not measured, or 0 if the tiny model predicts it
    assert dog in ({"precision": None, "recall": None, "f1": None, "support": 0},
                   {"precision": 0.0, "recall": None, "f1": 0.0, "support": 0})
    folder = tmp_path / "splits"
    folder.mkdir()
    write_csv(folder / "test.csv", GOOD)
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(folder), "--split", "test.csv"]) == 0
    assert json.loads(capsys.readouterr().out)["split"] == "test"
    assert main(["evaluate", "--model", str(tiny_model_dir / "config.json"), "--data", str(cats)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"is a file, not a model folder: pass the folder that holds it, {tiny_model_dir}" in err


def test_evaluate_and_predict_say_how_many_texts_were_cut(tiny_model_dir, tmp_path, capsys):
    """A text longer than the model reads still gets an answer, and a warning says it was cut, with
    how long it was, as check says of training data; --max-length moves the cut."""
    long_text = "Purred all night on the warm windowsill. " * 300  # about 2,400 tokens
    held_out = write_csv(tmp_path / "held_out.csv", GOOD + [(long_text.strip(), "cat")])
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(held_out)]) == 0
    out, err = capsys.readouterr()
    assert "1 of the 21 texts is longer than 128 tokens" in err and "was cut there" in err
    assert any("is longer than 128 tokens" in w for w in __import__("json").loads(out)["warnings"])
    assert main(["predict", "--model", str(tiny_model_dir), long_text, "Sat on the mat."]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 2 and '1 of the 2 texts (its JSON line says "cut": true) is longer than 128 tokens' in err
    answers = [__import__("json").loads(line) for line in out.splitlines()]
    assert answers[0]["cut"] is True and "cut" not in answers[1]  # which text, for a script as for a reader
    # 128 is all this tiny model has positions for: no advice to read more, the way past is to split the text
    assert "128 tokens is all this model reads: split a longer text into parts" in err and "reads more" not in err
    assert main(["predict", "--model", str(tiny_model_dir), "--max-length", "64", long_text]) == 0
    assert "--max-length reads more, up to the model's 128 positions" in capsys.readouterr().err
    assert main(["predict", "--model", str(tiny_model_dir), "--max-length", "64", "Sat on the mat."]) == 0
    assert not capsys.readouterr().err


def test_evaluate_names_a_model_folder_or_a_json_file_passed_as_data(tiny_model_dir, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_model_dir, run / "model")
    (run / "splits").mkdir()
    write_csv(run / "splits" / "train.csv", GOOD)
    (run / "metrics.json").write_text("{}")
    for data, expected in ((run / "model", f"is a model folder: pass the run folder that holds it, {run}"),
                           (run / "metrics.json", "is a JSON file, not a CSV file")):
        assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(data)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and expected in err, err
    # a model from elsewhere scoring a folder's train split: said to be a training split
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(run / "splits"), "--split", "train"]) == 0
    assert "train is a training split" in capsys.readouterr().err
    # a split the run has not: its splits are named (not "this run had no test split", which is about test)
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(run), "--split", "dev"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no split 'dev' (dev.csv) in it; its splits: train: pass --split" in err, err


def test_the_models_encoding_is_said_once_and_not_for_utf16(tiny_model_dir, tmp_path, capsys):
    """A file read by a second column name is said to be read as cp1252 once; a UTF-16 file with its
    byte-order mark is read as UTF-16, and nothing says cp1252."""
    from types import SimpleNamespace

    from sft_teach.inference import load_finetuned
    from sft_teach.model_folder import save_model

    model, tokenizer = load_finetuned(tiny_model_dir)
    folder = save_model(SimpleNamespace(model=model, processing_class=tokenizer), tmp_path / "m",
                        data={"text_column": "summary", "label_column": "component", "encoding": "cp1252",
                              "merge_case": False, "data_sha256": None})
    export = _bytes(tmp_path / "export.csv", "text,label\n\u00a312 for a claw trim,cat\n".encode("cp1252"))
    assert main(["evaluate", "--model", str(folder), "--data", str(export)]) == 0  # summary missing, then text
    assert capsys.readouterr().err.count("read as cp1252") == 1
    wide = _bytes(tmp_path / "wide.csv", "text,label\n\u00a312 for a claw trim,cat\n".encode("utf-16"))
    assert main(["evaluate", "--model", str(folder), "--data", str(wide)]) == 0
    assert "cp1252" not in capsys.readouterr().err


@pytest.mark.parametrize("value", ["1", "100000", "12.5", "inf", "nan"])
def test_max_length_is_checked_by_one_rule_in_every_command(tiny_model_dir, tmp_path, value, capsys):
    """check, evaluate and predict refuse a bad --max-length with the same line, naming the range."""
    data = str(write_csv(tmp_path / "x.csv", GOOD))
    for command in (["check", "--data", data], ["evaluate", "--model", str(tiny_model_dir), "--data", data],
                    ["predict", "--model", str(tiny_model_dir), "Sat on the mat."]):
        assert main([*command, "--max-length", value]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "must be a whole number of tokens from 2 to 8192" in err
        assert f"got {value}: try 128" in err


def test_a_saved_folders_training_cut_is_not_its_limit(tiny_model_dir, tmp_path, capsys):
    """A folder finetune saved keeps its training max_length in the tokenizer (model_max_length): a
    longer --max-length is still allowed up to the model's positions, and refused beyond them."""
    import json
    import shutil

    from sft_teach.models import positions

    folder = tmp_path / "trained"
    shutil.copytree(tiny_model_dir, folder)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    (folder / "tokenizer_config.json").write_text(json.dumps({**config, "model_max_length": 16}))
    limit = positions(str(folder))
    assert limit > 32
    data = str(write_csv(tmp_path / "x.csv", GOOD))
    assert main(["check", "--model", str(folder), "--data", data, "--max-length", "32"]) == 0
    capsys.readouterr()
    assert main(["check", "--model", str(folder), "--data", data, "--max-length", str(limit + 1)]) == 2
    assert f"more than this model accepts ({limit} tokens)" in capsys.readouterr().err


def _refuse_renaming(monkeypatch, folder):
    """Renaming ``folder`` fails as on an immutable folder, a mount point or a folder without write permission."""
    from pathlib import Path

    rename = Path.rename

    def refusing(self, target):
        if Path(self) == folder:
            raise PermissionError(1, "Operation not permitted")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", refusing)


def test_an_output_that_cannot_be_replaced_is_refused_before_training(existing_output, tmp_path, capsys, monkeypatch):
    """--overwrite of a folder that cannot be moved aside: refused before any training, the old run left whole
    (it used to train, delete the old model's files, then stop on a traceback)."""
    import sft_teach.training

    monkeypatch.setattr(sft_teach.training, "finetune_quietly", lambda *a, **k: pytest.fail("trained before the check"))
    _refuse_renaming(monkeypatch, existing_output)
    data = write_csv(tmp_path / "notes.csv", GOOD)
    assert main(["finetune", "--data", str(data), "--output", str(existing_output), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert err == (f"sft-teach: error: output folder '{existing_output}' cannot be written (Operation not permitted): "
                   f"choose another --output\n")
    assert (existing_output / "metrics.json").read_text() == '{"accuracy": 0.5}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.csv", "results"]


def test_an_output_on_a_read_only_disk_is_one_line_before_training(tmp_path, capsys, monkeypatch):
    import errno
    from pathlib import Path

    import sft_teach.training

    monkeypatch.setattr(sft_teach.training, "finetune_quietly", lambda *a, **k: pytest.fail("trained before the check"))
    mkdir = Path.mkdir

    def read_only(self, *args, **kwargs):
        if self.name.endswith(".partial"):
            raise OSError(errno.EROFS, "Read-only file system")
        return mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    data = write_csv(tmp_path / "notes.csv", GOOD)
    assert main(["finetune", "--data", str(data), "--output", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err == (f"sft-teach: error: output folder '{tmp_path / 'run'}' cannot be written "
                                       f"(Read-only file system): choose another --output\n")


@pytest.mark.slow
def test_a_failed_swap_keeps_the_old_run_whole_and_says_where_the_new_one_is(tiny_model_dir, tmp_path, capsys,
                                                                             monkeypatch):
    """If the finished run cannot be renamed into place, the old run is put back as it was (never an emptied
    folder) and the line names the folder that holds the new run. A link as --output: the run goes where it points."""
    data = write_csv(tmp_path / "notes.csv", GOOD * 2)
    run = ["finetune", "--model", str(tiny_model_dir), "--data", str(data), "--epochs", "1", "--quiet"]
    (tmp_path / "target").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "target")
    assert main([*run, "--output", str(tmp_path / "link")]) == 0
    assert (tmp_path / "link").is_symlink() and (tmp_path / "target" / "model" / "model.safetensors").is_file()
    before = (tmp_path / "target" / "metrics.json").read_text()
    capsys.readouterr()
    staging = tmp_path / ".target.partial"
    _refuse_renaming(monkeypatch, staging)
    assert main([*run, "--output", str(tmp_path / "target"), "--overwrite", "--seed", "3"]) == 2
    err = capsys.readouterr().err  # the data's warnings, then the error
    assert err.splitlines()[-1] == (f"sft-teach: error: the run finished, but '{tmp_path / 'target'}' could not be "
                                    f"replaced (Operation not permitted): the new run is in {staging}; move it there "
                                    f"yourself")
    assert "Traceback" not in err
    assert (tmp_path / "target" / "metrics.json").read_text() == before  # the old run, whole
    assert (tmp_path / "target" / "model" / "model.safetensors").is_file()
    assert '"seed": 3' in (staging / "metrics.json").read_text()
    assert not list(tmp_path.glob(".target.old-*"))


def test_a_cell_longer_than_csv_s_limit_is_a_text_and_an_open_quote_in_a_large_file_is_named(tmp_path, capsys):
    """csv stops at 131,072 characters in one cell: a long document is still a text (cut, with the usual
    warning), and a quote left open in a large file gets its own message, not csv's traceback."""
    import csv

    limit = csv.field_size_limit()
    long_text = "The parcel was late again. " * 6000  # 162,000 characters
    data = write_csv(tmp_path / "long.csv", [*GOOD, (long_text, "cat")])
    assert main(["check", "--data", str(data)]) == 0
    assert "longer than max_length=128 tokens" in capsys.readouterr().out  # check prints its warnings on stdout
    rows = [f"Note number {i} about the pets at home and what they did all day,{('cat', 'dog')[i % 2]}"
            for i in range(2100)]
    rows[2] = '"' + rows[2]
    opened = tmp_path / "open.csv"
    opened.write_text("text,label\n" + "\n".join(rows) + "\n")
    assert opened.stat().st_size > 131_072
    assert main(["check", "--data", str(opened)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "its double quote, opened on line 4, runs to line 2101" in err
    assert csv.field_size_limit() == limit  # put back: the limit is the process's


def test_a_pipe_separated_export_is_read(tmp_path, capsys):
    data = tmp_path / "pipes.csv"
    data.write_text("text|label\n" + "".join(f"{t}|{y}\n" for t, y in GOOD))
    assert main(["check", "--data", str(data)]) == 0
    assert "train" in capsys.readouterr().out


def test_a_cp1252_file_read_as_latin1_is_refused_naming_cp1252(tmp_path, capsys):
    """latin-1 reads every byte, so Excel's curly quotes (cp1252 0x93, 0x94) became control characters
    U+0093/U+0094, trained on in silence; now the line names the byte and what cp1252 reads."""
    rows = [*GOOD, ("Said \u201cmorning\u201d to the cat \u2013 twice.", "cat")]
    path = tmp_path / "excel.csv"
    path.write_bytes(("text,label\n" + "".join(f'"{t}",{y}\n' for t, y in rows)).encode("cp1252"))
    assert main(["check", "--data", str(path), "--encoding", "latin-1"]) == 2
    assert capsys.readouterr().err == (f"sft-teach: error: {path}: line 22, byte 0x93 reads as the control character "
                                       "U+0093 in latin-1, but as '\u201c' in cp1252, the Windows code page beside it "
                                       "(what Excel on Windows writes): pass --encoding cp1252 (encoding='cp1252')\n")
    assert main(["check", "--data", str(path), "--encoding", "cp1252"]) == 0


def test_control_characters_name_the_windows_page_of_the_encoding_and_leave_a_way_through():
    """ISO 8859-2 beside cp1250 (not cp1252, which would read ś as œ); a file cp1252 cannot read (a stray
    0x81) is read as latin-1 asked, the way through that the cp1252 error offers."""
    from sft_teach.decoding import decode
    from sft_teach.errors import DataError

    with pytest.raises(DataError, match=re.escape("byte 0x9c reads as the control character U+009C in iso-8859-2, "
                                                  "but as 'ś' in cp1250")):
        decode("Zażółć gęślą jaźń\n".encode("cp1250"), "pl.csv", "iso-8859-2")
    stray = "\u201cquoted\u201d\n".encode("cp1252") + b"\x81\n"
    with pytest.raises(DataError, match="is not valid cp1252"):
        decode(stray, "odd.csv", "cp1252")
    assert decode(stray, "odd.csv", "latin-1") == stray.decode("latin-1")


def test_merge_case_with_a_folder_says_a_folder_s_files_are_used_as_they_are(tmp_path, capsys):
    folder = _folder(tmp_path / "cased", GOOD, [("Purred on the rug.", "CAT"), ("Fetched a stick.", "dog")])
    assert main(["check", "--data", str(folder), "--merge-case"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "label 'CAT' (line 2) differs only in case from 'cat' in cased/train.csv" in err
    assert err.endswith("(--merge-case merges the labels of one CSV file: a folder's files are used as they are)\n")


def test_a_folder_s_splits_under_other_names_are_named(tmp_path, capsys):
    folder = tmp_path / "export"
    folder.mkdir()
    write_csv(folder / "Train.csv", GOOD)
    write_csv(folder / "dev.csv", GOOD[:4])
    assert main(["check", "--data", str(folder)]) == 2
    assert capsys.readouterr().err == ("sft-teach: error: export/: no train.csv in this folder (it has Train.csv, "
                                       "dev.csv: the splits must be named train.csv, validation.csv, test.csv, in "
                                       "lower case): add train.csv and validation.csv, or pass one CSV file\n")
    (folder / "Train.csv").rename(folder / "train.csv")
    assert main(["check", "--data", str(folder)]) == 2
    assert "export/: has train.csv but no validation.csv (it has dev.csv: the splits must be named" in capsys.readouterr().err
    for name in ("a", "b", "c"):  # four other files are all named; a fifth is "and more"
        write_csv(folder / f"{name}.csv", GOOD[:4])
    assert main(["check", "--data", str(folder)]) == 2
    assert "(it has a.csv, b.csv, c.csv, dev.csv: the splits" in capsys.readouterr().err
    write_csv(folder / "e.csv", GOOD[:4])
    assert main(["check", "--data", str(folder)]) == 2
    assert "(it has a.csv, b.csv, c.csv, dev.csv and more: the splits" in capsys.readouterr().err


@pytest.mark.parametrize("above", [["Report exported 2024-01-01"], ["Desk messages", "exported by the clinic, 3 May", ""]])
def test_lines_above_the_header_are_named(above, tmp_path, capsys):
    path = tmp_path / "report.csv"
    path.write_text("\n".join(above) + "\ntext,label\n" + "".join(f'"{t}",{y}\n' for t, y in GOOD))
    assert main(["check", "--data", str(path)]) == 2
    lines = "the line" if len(above) == 1 else f"the {len(above)} lines"
    assert capsys.readouterr().err == (f"sft-teach: error: {path}: line {len(above) + 1} is the header (text,label), "
                                       f"with {lines} above it not part of the table: delete {lines} above the "
                                       f"header\n")


def test_checkpoints_of_an_interrupted_run_are_named_with_resume_and_overwrite(tmp_path, capsys, monkeypatch):
    """Its own message, not 'cannot be written': the refusal is an OutputExistsError, which is an OSError too."""
    import sft_teach.training

    monkeypatch.setattr(sft_teach.training, "finetune_quietly", lambda *a, **k: pytest.fail("trained before the check"))
    fake_checkpoint(tmp_path / ".run.partial" / "checkpoints" / "checkpoint-5")
    data = write_csv(tmp_path / "notes.csv", GOOD)
    assert main(["finetune", "--data", str(data), "--output", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err == ("sft-teach: error: an interrupted run left checkpoints in .run.partial/: pass "
                                       "--resume to continue it, or --overwrite to start again\n")


def test_a_model_folder_of_the_user_s_own_is_no_run_to_overwrite(tmp_path, capsys):
    """model/ without metrics.json beside it is the user's: --overwrite would have deleted it as a run's."""
    out = tmp_path / "mine"
    (out / "model").mkdir(parents=True)
    (out / "model" / "weights.bin").write_text("mine")
    for flags in ([], ["--overwrite"]):
        assert main(["finetune", "--output", str(out), *flags]) == 2
        assert "holds files that are not an sft-teach run (model): --overwrite replaces only a run's own folder" \
            in capsys.readouterr().err
    assert (out / "model" / "weights.bin").read_text() == "mine"


@pytest.mark.parametrize("given", [".", ".."])
def test_the_current_folder_as_output_is_refused(given, tmp_path, capsys, monkeypatch):
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    assert main(["finetune", "--output", given, "--overwrite"]) == 2
    above = "" if given == "." else " or one above it"
    assert capsys.readouterr().err == (f"sft-teach: error: --output {given} is the current folder{above}: a run "
                                       f"replaces its output folder whole: pass a folder inside it, e.g. --output run\n")


def test_a_header_below_a_title_is_found_with_semicolons_too(tmp_path, capsys):
    path = tmp_path / "report.csv"
    path.write_text("Report; exported 3 May\ntext;label\n" + "".join(f'"{t}";{y}\n' for t, y in GOOD))
    assert main(["check", "--data", str(path)]) == 2
    assert "line 2 is the header (text;label), with the line above it not part of the table" in capsys.readouterr().err


def test_a_library_s_warning_while_scoring_is_one_line_and_not_the_score_s(tiny_model_dir, tmp_path, capsys,
                                                                           monkeypatch):
    import json
    import warnings

    from sft_teach import inference

    predict_proba = inference.predict_proba

    def warning(*args, **kwargs):
        warnings.warn("this argument will change", FutureWarning)
        return predict_proba(*args, **kwargs)

    monkeypatch.setattr(inference, "predict_proba", warning)
    path = write_csv(tmp_path / "held.csv", GOOD)
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "sft-teach: warning: FutureWarning: this argument will change\n" in err
    assert not any("FutureWarning" in w for w in json.loads(out.splitlines()[-1])["warnings"])


def test_an_output_whose_parent_is_a_file_is_named(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert main(["finetune", "--output", str(tmp_path / "afile" / "run")]) == 2
    assert capsys.readouterr().err == (f"sft-teach: error: --output {tmp_path / 'afile' / 'run'}: {tmp_path / 'afile'} "
                                       f"is a file, not a folder: choose another --output\n")


@pytest.mark.slow
def test_an_earlier_run_that_cannot_be_removed_is_named(tiny_model_dir, tmp_path, capsys, monkeypatch):
    import shutil

    data = write_csv(tmp_path / "notes.csv", GOOD * 2)
    run = ["finetune", "--model", str(tiny_model_dir), "--data", str(data), "--epochs", "1", "--quiet",
           "--output", str(tmp_path / "run")]
    assert main(run) == 0
    rmtree = shutil.rmtree
    monkeypatch.setattr(shutil, "rmtree", lambda path, *a, **k: None if ".old-" in str(path) else rmtree(path, *a, **k))
    assert main([*run, "--overwrite"]) == 0
    aside = next(tmp_path.glob(".run.old-*"))
    assert f"sft-teach: warning: the earlier run could not be removed: it is in {aside}; delete it yourself" in \
        capsys.readouterr().err
    monkeypatch.setattr(shutil, "rmtree", rmtree)
    assert main([*run, "--overwrite"]) == 0  # the run is in place: the folder left beside it stops nothing


def test_an_iso_encoding_with_no_windows_page_still_refuses_control_characters():
    from sft_teach.decoding import decode
    from sft_teach.errors import DataError

    for encoding in ("iso8859_3", "iso8859_16"):
        with pytest.raises(DataError, match=re.escape(f"line 2, byte 0x93 reads as the control character U+0093 in "
                                                      f"{encoding}, which no text has")):
            decode(b"text,label\n\x93hello\x94 x,a\n", "f.csv", encoding)


def test_merge_case_and_a_model_s_doubled_space_together(make_tiny_classifier, tokenizer, tmp_path, capsys):
    model = make_tiny_classifier(labels=("billing", "tech  support"))
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    path = write_csv(tmp_path / "held.csv", [("The app will not open.", "Tech Support"), ("Charged twice.", "billing")])
    assert main(["evaluate", "--model", str(tmp_path / "model"), "--data", str(path), "--merge-case"]) == 0
    assert '"n": 2' in capsys.readouterr().out


@pytest.mark.parametrize("damage", ["no-tokenizer-json", "weights-cut-short", "run-not-finished", "no-classifier",
                                    "no-tokenizer-config"])
def test_a_model_folder_copied_in_part_or_not_yet_written_is_one_line(tiny_model_dir, tmp_path, capsys, damage):
    """Without tokenizer.json a tokenizer still loaded, knowing 5 tokens: every word [UNK], every
    prediction garbage, exit 0. Weights cut short ended in a SafetensorError traceback. A run still
    training (or interrupted) was only 'does not exist'."""
    import shutil

    model = tmp_path / "copy" / "model"
    shutil.copytree(tiny_model_dir, model)
    if damage == "no-tokenizer-json":
        (model / "tokenizer.json").unlink()
        expected = (f"model folder '{model}': its tokenizer knows 5 tokens and the model 30,522: tokenizer.json is "
                    f"missing or damaged: copy the whole folder again, or train it again")
    elif damage == "weights-cut-short":
        weights = model / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:1000])
        expected = (f"model folder '{model}' cannot be read (Error while deserializing header: *): it is "
                    f"incomplete or damaged: copy the whole folder again, or train it again")  # * the library's words
    elif damage == "no-classifier":  # a pretrained body (the base model itself): its head would be drawn at random
        from safetensors.torch import load_file, save_file

        weights = load_file(model / "model.safetensors")
        save_file({k: v for k, v in weights.items() if not k.startswith("classifier.")}, model / "model.safetensors",
                  metadata={"format": "pt"})
        expected = (f"model folder '{model}' has no weights for classifier.bias, classifier.weight, which would be "
                    f"drawn at random: it is not a fine-tuned classifier (a pretrained model, say): fine-tune it first "
                    f"(sft-teach finetune --model {model} --data YOUR.csv)")
    elif damage == "no-tokenizer-config":  # finetune's folder without the file that holds its cut (128, not 512)
        config = json.loads((model / "config.json").read_text())
        (model / "config.json").write_text(json.dumps({**config, "sft_teach": {"text_column": "text"}}))
        (model / "tokenizer_config.json").unlink()
        expected = (f"model folder '{model}' has no tokenizer_config.json, which holds the length training cut texts "
                    f"at: copy the whole folder again, or train it again")
    else:
        shutil.move(tmp_path / "copy", tmp_path / ".copy.partial")
        expected = (f"model folder '{model}' does not exist: the run that writes '{model.parent}' has not finished: "
                    f"it is still training, or it was interrupted (then finish it with the same finetune command "
                    f"and --resume)")
    data = write_csv(tmp_path / "notes.csv", GOOD)
    for argv in (["evaluate", "--data", str(data)], ["predict", "Chased the laser dot."]):
        assert main([*argv, "--model", str(model)]) == 2
        pattern = re.escape(f"sft-teach: error: {expected}\n").replace(r"\*", "[^()\n]+")
        assert re.fullmatch(pattern, capsys.readouterr().err)


@pytest.mark.parametrize("typed", ["model", "model/", ".", "/"])
def test_a_model_path_typed_in_the_wrong_folder_is_one_line(tmp_path, capsys, monkeypatch, typed):
    """The likeliest slip, in a folder without the run: the hint for an unfinished run looked at the
    folder above "model" and, having no name there, ended in a traceback."""
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "--model", typed, "Chased the laser dot."]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sft-teach: error: model folder '{typed}' ") and err.count("\n") == 1


@pytest.mark.parametrize("encoding", ["utf-8-sig", "UTF_8_SIG", "utf_16_le", "UTF-16LE"])
def test_an_encoding_asked_for_in_any_spelling_reads_its_own_file(encoding):
    """Python's names and their spellings with '_' or in capitals are one encoding: a file in it is
    read as written, not refused as UTF-8 that was not asked for, or as UTF-16 without a byte-order mark."""
    from sft_teach.decoding import decode

    text = "text,label\n\u00a312 for a claw trim \u2013 again,cat\n"
    raw = text.encode("utf-16-le") if "16" in encoding else b"\xef\xbb\xbf" + text.encode("utf-8")
    assert decode(raw, "export.csv", encoding) == text
    assert decode(b"\xfe\xff" + text.encode("utf-16-be"), "export.csv", "utf-8") == text  # its byte-order mark says


def test_a_second_byte_order_mark_is_no_part_of_the_first_column_s_name(tmp_path):
    """Two files joined, each saved with its mark: the second was read into the name, an invisible
    '\\ufefftext' that no --text-column could be typed to match."""
    from sft_teach.csv_files import read_csv_rows

    path = _bytes(tmp_path / "joined.csv", b"\xef\xbb\xbf\xef\xbb\xbftext,label\nPurred all night.,cat\n")
    assert read_csv_rows(path) == (["Purred all night."], ["cat"])


def test_every_message_about_a_file_names_it_as_typed(tiny_model_dir, tmp_path, monkeypatch, capsys):
    """A label the model does not know was said of the file's last part ('test.csv'), other errors of
    the same file by its path: a folder's test.csv and another's could not be told apart."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exports").mkdir()
    write_csv(tmp_path / "exports" / "test.csv", [("Swam in the lake.", "fish")] + GOOD)
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", "exports/test.csv"]) == 2
    assert capsys.readouterr().err.startswith("sft-teach: error: exports/test.csv: label 'fish' (line 2, column 'label')")
    from sft_teach.data import from_csv
    from sft_teach.errors import DataError

    with pytest.raises(DataError, match="^exports/test.csv: label 'fish'"):
        from_csv("exports/test.csv", labels=["cat", "dog"])


def test_an_empty_name_is_said_to_be_empty_in_every_command(tiny_model_dir, tmp_path, monkeypatch, capsys):
    """--data "$DATA" or --model "$MODEL" with the variable unset: said so, not read as the current folder."""
    monkeypatch.chdir(tmp_path)
    data = str(write_csv(tmp_path / "x.csv", GOOD))
    for argv, said in (
            (["check", "--data", " "], "the data name is empty: use --data pets"),
            (["evaluate", "--model", str(tiny_model_dir), "--data", ""], "the data name is empty: use --data pets"),
            (["evaluate", "--model", "", "--data", data], "the model folder's name is empty"),
            (["predict", "--model", "", "Purred."], "the model folder's name is empty"),
            (["check", "--data", data, "--model", ""], "the model name is empty")):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and said in err, (argv, err)
