import re

import pytest

from sft_teach import bundled, data
from sft_teach.csv_files import read_csv_rows
from sft_teach.errors import ConfigError, DataError, SftTeachWarning
from sft_teach.splits import save_splits, split
from support import pets_csv, write_csv


def test_pets_loads_as_datasetdict_with_named_classes():
    pets = data.load("pets")
    assert set(pets) == {"train", "validation", "test"}
    assert pets["train"].features["label"].names == ["cat", "dog"]
    assert pets["train"].column_names == ["text", "label"]


def test_from_csv_reads_text_and_classlabel(small_csv):
    ds = data.from_csv(small_csv)
    assert len(ds) == 16 and ds.features["label"].names == ["cat", "dog"]
    assert ds[0]["text"].startswith("She sleeps")


def test_from_csv_uses_the_given_label_order(small_csv):
    ds = data.from_csv(small_csv, labels=["dog", "cat"])
    assert ds.features["label"].names == ["dog", "cat"] and ds[0]["label"] == 1


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"text,label\n", "no rows"),
        (b"sentence,label\nhi,cat\n", "no column 'text' (columns found: sentence, label)"),
        (b"text,sentiment\nhi,cat\n", "no column 'label'"),
        (b"text,label\nhello,cat\n ,dog\n", "line 3, column 'text' is empty"),
        (b"text,label\nhello,cat\nworld,\n", "line 3, column 'label' is empty"),
        (b"text,label\ncaf\xe9 au lait,cat\n", "not valid UTF-8"),
        (b"text,label\nfirst, with comma,cat,extra\n", "more cells than the header"),
    ],
)
def test_bad_csv_gives_one_line_naming_file_and_place(tmp_path, content, message):
    path = tmp_path / "mine.csv"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        data.from_csv(path)
    assert message in str(info.value) and "mine.csv" in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_column_suggests_the_closest_name(tmp_path):
    path = write_csv(tmp_path / "x.csv", [("hi", "cat")], header=("texts", "label"))
    with pytest.raises(DataError, match="did you mean 'texts'"):
        data.from_csv(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        data.from_csv(tmp_path / "nope.csv")


def test_unknown_label_names_row_and_column(small_csv):
    with pytest.raises(DataError, match=r"label 'dog' \((first at )?line \d+, column 'label'\) is not known to the model"):
        data.from_csv(small_csv, labels=["cat", "rabbit"])


def test_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("text,label\nhello,cat\n\n,\nworld,dog\n")
    assert data.from_csv(path)["text"] == ["hello", "world"]


def test_single_csv_is_split_stratified_and_reproducibly(tmp_path, small_csv):
    first = data.load(str(small_csv), split_seed=3)
    second = data.load(str(small_csv), split_seed=3)
    assert first["test"]["text"] == second["test"]["text"]
    for part in first.values():
        assert sorted(set(part["label"])) == [0, 1]  # both classes in every split


def test_the_split_seed_chooses_the_split(tmp_path):
    # 714 rows: two seeds drawing the same test rows by chance is out of the question
    path = pets_csv(tmp_path / "pets.csv")
    three, four = (data.load(str(path), split_seed=seed) for seed in (3, 4))
    assert set(three["test"]["text"]) != set(four["test"]["text"])
    assert set(three["train"]["text"]) != set(four["train"]["text"])  # both cuts: the training rows too
    assert all(len(three[name]) == len(four[name]) for name in three)  # the same sizes, other rows


def test_hub_dataset_offline_fails_with_one_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataError, match="cannot be reached") as info:
        data.load("imdb")
    assert "\n" not in str(info.value)


def test_tokenize_does_not_pad(tokenizer):
    pets = data.load("pets")
    encoded = data.tokenize(pets, tokenizer, max_length=64)
    lengths = [len(ids) for ids in encoded["train"]["input_ids"][:50]]
    assert len(set(lengths)) > 5 and max(lengths) <= 64
    assert "labels" in encoded["train"].column_names and "text" not in encoded["train"].column_names


def test_tokenize_takes_one_split_too_and_gives_the_tokenizer_s_own_ids(tokenizer):
    pets = data.load("pets")
    one = data.tokenize(pets["test"].select(range(16)), tokenizer)  # a Dataset, not a DatasetDict
    assert one["input_ids"] == tokenizer(pets["test"]["text"][:16], truncation=True, max_length=128)["input_ids"]
    assert one["labels"] == pets["test"]["label"][:16]
    every = data.tokenize(pets, tokenizer)
    assert every["test"]["input_ids"][:16] == one["input_ids"]


def test_collator_pads_to_the_longest_in_the_batch(tokenizer):
    collate = data.collator(tokenizer)
    batch = collate([tokenizer("short one"), tokenizer("a somewhat longer note about a sunny windowsill")])
    longest = len(tokenizer("a somewhat longer note about a sunny windowsill")["input_ids"])
    assert tuple(batch["input_ids"].shape) == (2, longest)
    assert batch["attention_mask"][0].sum() == len(tokenizer("short one")["input_ids"])


def test_padding_cost_oracle():
    with pytest.raises(ConfigError, match=r"got 0 lengths up to 0, batch_size=2"):
        data.padding_cost([], batch_size=2, max_length=10)  # a division by zero otherwise
    with pytest.raises(ConfigError, match=r"batch_size=0"):
        data.padding_cost([3, 5], batch_size=0, max_length=10)
    with pytest.raises(ConfigError, match=r"2 lengths up to 12, batch_size=2, max_length=10"):
        data.padding_cost([3, 12], batch_size=2, max_length=10)  # a negative share of padding otherwise
    cost = data.padding_cost([3, 5, 2, 2], batch_size=2, max_length=10)
    # batches [3,5] -> 2*5 slots, [2,2] -> 2*2 slots; real tokens 12
    assert cost == {"real_tokens": 12, "padded_to_max": 40, "dynamic": 14,
                    "pad_to_max_waste": 1 - 12 / 40, "dynamic_waste": 1 - 12 / 14}


def test_every_class_too_small_to_split_is_named_in_one_error(tmp_path):
    """Two misspelt classes and a small real one: each named with its rows and its own fix, in one line."""
    from support import GOOD

    rows = GOOD + [("Brakes squeal.", "repair"), ("Chain slips.", "repair"), ("Flat tyre again.", "repair"),
                   ("Gears skip under load.", "repair"), ("Purred at me.", "Cat"), ("Wagged at me.", "Dog"),
                   ("Sat on the step.", "Dog")]
    with pytest.raises(DataError) as info:
        split(data.from_csv(write_csv(tmp_path / "x.csv", rows)), source="x.csv")
    message = str(info.value)
    assert message.startswith("x.csv: classes 'Cat' (1 row), 'Dog' (2 rows), 'repair' (4 rows) have too few rows to "
                              "split 80%/10%/10%")
    # one fix for both case variants, not the same advice twice
    assert ("'Cat' (like 'cat'), 'Dog' (like 'dog') differ only in case from another class: pass --merge-case "
            "(merge_case=True) to make each one class with it, or fix the spelling") in message
    assert message.count("--merge-case") == 1
    assert "add examples of 'repair' (10 or more in all, so that 8 or more are trained on)" in message
    assert "\n" not in message


def test_split_refuses_to_drop_a_two_row_class(tmp_path):
    rows = [(f"Dog note number {i}.", "dog") for i in range(100)] + [("Purrs.", "cat"), ("Naps all day.", "cat")]
    with pytest.raises(DataError, match="class 'cat' has only 2 rows, too few to split 80%/10%/10% with every class "
                                        "in every split: add examples of 'cat'"):
        split(data.from_csv(write_csv(tmp_path / "x.csv", rows)), source="x.csv")


def test_every_class_a_split_missed_is_named_in_one_error(tmp_path):
    """Two 2-row classes that the stratified split accepts but leaves out of a split: both named at once."""
    rows = ([(f"Dog note number {i}.", "dog") for i in range(30)] + [(f"Cat note number {i}.", "cat") for i in range(30)]
            + [("Sings at dawn.", "bird"), ("Chirps all day.", "bird"), ("Swims in circles.", "fish"),
               ("Blows bubbles.", "fish")])
    with pytest.raises(DataError) as info:
        split(data.from_csv(write_csv(tmp_path / "x.csv", rows)), source="x.csv")
    assert str(info.value).startswith("x.csv: classes 'bird' (2 rows), 'fish' (2 rows) have too few rows to split")
    assert "add examples of 'bird' and 'fish' (10 or more each in all" in str(info.value)


def test_hub_names_are_not_mistaken_for_paths(monkeypatch):
    monkeypatch.setattr("sft_teach.models.hub_available", lambda: False)
    with pytest.raises(DataError, match="'SetFit/sst2' is neither a bundled dataset .* Hugging Face Hub cannot be reached"):
        data.load("SetFit/sst2")
    with pytest.raises(DataError, match="file not found"):
        data.load("no/such/file.csv")


@pytest.mark.parametrize("name, said", [
    ("", 'the data name is empty: use --data pets ("pets" in Python; clinic, pets are bundled)'),
    ("  ", "the data name is empty"),  # an empty shell variable: not the current folder's train.csv
    ("Pets", 'did you mean pets? (--data pets; "pets" in Python)'), (" clinic", "did you mean clinic? (--data clinic"),
])
def test_an_empty_or_miscased_data_name_is_said_so(monkeypatch, name, said):
    monkeypatch.setattr("sft_teach.models.hub_available", lambda: False)
    with pytest.raises(DataError, match=re.escape(said)):
        data.load(name)


def test_line_separators_inside_a_text_do_not_split_rows(tmp_path):
    # U+2028, NEL and a form feed inside unquoted texts (as real exports carry them);
    # str.splitlines() would cut each of these rows in two
    path = tmp_path / "export.csv"
    path.write_text("text,label\nfirst part\u2028second part,cat\nup\x85down,dog\npage\x0cbreak,cat\n", encoding="utf-8")
    texts, labels = read_csv_rows(path)
    assert texts == ["first part\u2028second part", "up\x85down", "page\x0cbreak"]
    assert labels == ["cat", "dog", "cat"]


def test_a_quoted_newline_stays_in_its_text_and_line_numbers_stay_physical(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('text,label\n"two\nlines",cat\nhello,\n', encoding="utf-8")
    with pytest.raises(DataError, match="line 4, column 'label' is empty"):
        read_csv_rows(path)


def test_excel_s_sep_line_names_the_delimiter_and_lines_stay_physical(tmp_path):
    """Excel writes ``sep=;`` above the header: it chooses the delimiter and is not the header, and
    the lines named stay the editor's (the header is then line 2)."""
    path = tmp_path / "excel.csv"
    path.write_text("sep=;\ntext;label\nSat on the mat, again;cat\nBarked;dog\n", encoding="utf-8")
    rows = read_csv_rows(path, with_lines=True)
    assert (rows.texts, rows.labels, rows.lines) == (["Sat on the mat, again", "Barked"], ["cat", "dog"], [3, 4])
    path.write_text("sep=;\ntext;label\nSat on the mat;\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 3, column 'label' is empty"):
        read_csv_rows(path)


def test_a_quoted_text_over_several_lines_is_no_unclosed_quote(tmp_path):
    """The unclosed-quote hint needs an odd number of quotes: a well-quoted text over two lines, then
    an empty label on its own line, is reported as the empty label alone."""
    path = tmp_path / "fine.csv"
    path.write_text('text,label\n"two\nlines",cat\nhello,\n', encoding="utf-8")
    with pytest.raises(DataError) as error:
        read_csv_rows(path)
    assert "double quote" not in str(error.value)


def test_header_names_are_stripped(tmp_path):
    path = tmp_path / "spaced.csv"
    path.write_text(" text , label\nhello,cat\nworld,dog\n", encoding="utf-8")
    assert read_csv_rows(path) == (["hello", "world"], ["cat", "dog"])


def test_one_number_among_texts_is_data_but_mostly_numbers_is_a_swap(tmp_path):
    path = write_csv(tmp_path / "sms.csv", [("645", "ham"), ("Call me later", "ham"), ("WIN a prize now", "spam")])
    texts, _ = read_csv_rows(path)
    assert texts[0] == "645"
    swapped = write_csv(tmp_path / "swapped.csv", [("1", "great"), ("2", "awful"), ("three", "ok")])
    with pytest.raises(DataError, match=r"2 of 3 texts in column 'text' are numbers \(line 2: '1'\).*swapped"):
        read_csv_rows(swapped)


def test_one_csv_is_cleaned_before_the_split_so_no_text_is_in_train_and_test(tmp_path):
    from support import GOOD

    repeated = GOOD + GOOD[:6] + [(GOOD[0][0].upper(), "cat")]  # 7 repeats (one in capitals)
    path = write_csv(tmp_path / "export.csv", repeated)
    splits, report = data.load_csv_split(path, split_seed=0)
    assert report["rows"] == 27 and report["duplicates_removed"] == 7 and report["rows_kept"] == 20
    train = {t.lower() for t in splits["train"]["text"]}
    assert not train & {t.lower() for t in splits["test"]["text"]}
    assert not train & {t.lower() for t in splits["validation"]["text"]}
    kept, report = data.load_csv_split(path, split_seed=0, keep_duplicates=True)
    assert sum(len(part) for part in kept.values()) == 27 and report["duplicates_removed"] == 0
    # load() is the same split: Python and the command line split one file alike
    assert data.load(str(path), split_seed=0)["test"]["text"] == splits["test"]["text"]


def test_each_row_keeps_its_line_in_the_file_through_cleaning_split_and_saving(tmp_path):
    """The saved splits name each row's line in the source (its first, for a text over several lines),
    so a held-out row can be found there; a label written with spaces around it is counted."""
    from support import GOOD

    rows = [(text, label + " " * (i < 3)) for i, (text, label) in enumerate(GOOD)]  # 3 labels 'cat '
    rows[4] = ("Slept on the radiator\nall afternoon,\nthen on my keyboard.", "cat")  # lines 6 to 8
    rows.insert(2, rows[1])  # a repeat, removed before the split
    path = write_csv(tmp_path / "export.csv", rows)
    lines = path.read_text(encoding="utf-8").split("\n")
    splits, report = data.load_csv_split(path, split_seed=0)
    assert report["labels_trimmed"] == 4 and report["duplicates_removed"] == 1  # the repeat's label too
    seen = []
    for part in splits.values():
        for row in part:
            seen.append(row["line"])
            first_line = row["text"].split("\n")[0]
            assert first_line in lines[row["line"] - 1]  # the header is line 1
    assert sorted(seen) == [n for n in range(2, 2 + len(rows) + 2) if n not in (4, 8, 9)]  # no repeat, 2 lines inside one text
    folder = tmp_path / "splits"
    save_splits(splits, folder)
    header = (folder / "test.csv").read_text(encoding="utf-8").split("\n")[0]
    assert header.strip() == "text,label,line"
    assert read_csv_rows(folder / "test.csv", "text", "line")[1] == [str(n) for n in splits["test"]["line"]]
    assert data.load(str(folder))["test"]["text"] == splits["test"]["text"]  # read back as text,label


def test_merge_case_spells_each_label_as_its_most_frequent_form(tmp_path):
    path = write_csv(tmp_path / "cased.csv", [("a", "cat"), ("b", "cat"), ("c", "Cat"), ("d", "dog")])
    assert data.from_csv(path).features["label"].names == ["Cat", "cat", "dog"]
    merged = data.from_csv(path, merge_case=True)
    assert merged.features["label"].names == ["cat", "dog"] and merged["label"] == [0, 0, 0, 1]


def test_save_splits_writes_what_load_reads_back(tmp_path):
    pets = data.load("pets")
    save_splits(pets, tmp_path / "splits")
    again = data.load(str(tmp_path / "splits"))
    for name in pets:
        assert again[name]["text"] == pets[name]["text"]
        assert again[name].features["label"].names == pets[name].features["label"].names
        assert again[name]["label"] == pets[name]["label"]


def test_every_label_a_model_does_not_know_is_named_with_its_fix(tmp_path):
    path = write_csv(tmp_path / "held_out.csv", [("Hopped.", "rabbit"), ("Purred.", "Cat"), ("Barked.", "dog")])
    with pytest.raises(DataError) as info:
        data.from_csv(path, labels=["cat", "dog"])
    assert str(info.value) == (  # the file as it was given, like every other message about it
        f"{path}: labels 'rabbit', 'Cat' (first at line 2, column 'label') are not known to the model, which "
        "knows 'cat', 'dog': 'Cat' differs only in case from 'cat': fix the spelling, or pass --merge-case (merge_case=True); "
        "remove the rows labelled 'rabbit' (the model cannot predict it) or pass --skip-unknown (skip_unknown=True) "
        "to score the other rows, or fine-tune a model on your labels")


def test_skip_unknown_leaves_those_rows_out_and_says_how_many(tmp_path):
    """A held-out file with a class the model was never taught: skip_unknown=True keeps the rows the
    model can be scored on (ids in the model's order, lines as in the file) and a warning counts the others."""
    rows = [("Hopped.", "rabbit"), ("Purred.", "cat"), ("Win a prize!", "spam"), ("Barked.", "dog"), ("Hop.", "rabbit")]
    path = write_csv(tmp_path / "held_out.csv", rows)
    with pytest.warns(SftTeachWarning) as caught:
        kept = data.from_csv(path, labels=["dog", "cat"], skip_unknown=True)
    assert kept["text"] == ["Purred.", "Barked."] and kept["label"] == [1, 0]
    assert kept.features["label"].names == ["dog", "cat"]
    assert [str(w.message) for w in caught] == [
        f"{path}: skipped 3 rows whose label the model does not know ('rabbit' 2, 'spam' 1): the scores are "
        "on the other 2 rows"]
    with pytest.raises(DataError, match="no row has a label the model knows .*nothing to score"):
        data.from_csv(write_csv(tmp_path / "none.csv", rows[:1]), labels=["dog", "cat"], skip_unknown=True)


def test_both_missing_columns_are_named_in_one_error(tmp_path):
    path = write_csv(tmp_path / "tickets.csv", [("T-1", "Chain slips", "repair")], header=("ticket_id", "body", "category"))
    with pytest.raises(DataError) as info:
        data.from_csv(path)
    assert str(info.value) == (
        f"{path}: no column 'text' and no column 'label' (columns found: ticket_id, body, category): pass the column "
        "that holds the texts: --text-column NAME (text_column= in Python); pass the column that holds the labels: "
        "--label-column NAME (label_column= in Python)")


def test_no_far_fetched_column_suggestion(tmp_path):
    path = write_csv(tmp_path / "reviews.csv", [("2024-01-02", "Great stay", "5")], header=("date", "review", "stars"))
    with pytest.raises(DataError) as info:
        data.from_csv(path)
    assert "did you mean" not in str(info.value) and "--text-column NAME" in str(info.value)


@pytest.mark.parametrize("seed", [-5, 1.5, True])
def test_split_seed_must_be_a_whole_number_of_0_or_more(small_csv, seed):
    with pytest.raises(ConfigError, match="split seed must be a whole number, 0 or more"):
        split(data.from_csv(small_csv), seed=seed)


def test_numeric_labels_sort_by_value(tmp_path):
    path = write_csv(tmp_path / "n.csv", [("one", "1"), ("two", "2"), ("ten", "10"), ("zero", "0")])
    assert data.from_csv(path).features["label"].names == ["0", "1", "2", "10"]  # id 2 is the label 2


def test_every_empty_cell_is_named_in_one_error(tmp_path):
    """Four rounds of fix-and-rerun become one: the first empty cell, then every other, by line and column."""
    path = tmp_path / "bugs.csv"
    path.write_text('summary,component\n"Crash on save\nwith steps",ui\n ,backend\nLogin fails,\nok,docs\nSlow,\n')
    with pytest.raises(DataError) as error:
        read_csv_rows(path, "summary", "component")
    assert str(error.value) == (f"{path}: line 4, column 'summary' is empty (also line 5 (component), line 7 "
                                "(component)): fill in or delete those rows")


def test_load_with_report_s_pair_where_a_dataset_is_needed_names_the_fix(small_csv):
    from sft_teach import checks

    pair = data.load_with_report(str(small_csv))
    with pytest.raises(DataError, match=re.escape("the data is the (dataset, report) pair that load_with_report "
                                                  "returns: pass its first item")):
        checks.check(pair)
    assert checks.check(pair[0]) == checks.check(data.load(str(small_csv)))


def test_datasheet_shows_the_bundled_readme_and_names_the_others():
    sheet = bundled.datasheet("pets")
    assert sheet.data == (bundled.data_dir() / "pets" / "README.md").read_text(encoding="utf-8")
    assert sheet._repr_markdown_().startswith("# pets")  # how a notebook shows it: formatted
    with pytest.raises(DataError, match="no datasheet for 'cats'.*clinic, instructions, paraphrase, pets"):
        bundled.datasheet("cats")


def test_a_column_asked_for_with_the_spaces_of_its_header_is_found(tmp_path):
    """The header ' Message ' is read as 'Message'; asking for ' Message ', as the file writes it, finds it too."""
    from support import GOOD

    path = write_csv(tmp_path / "x.csv", GOOD, header=(" Message ", "Category "))
    texts, labels = read_csv_rows(path, text_column=" Message ", label_column="Category ")
    assert (texts, labels) == read_csv_rows(path, text_column="Message", label_column="Category")
    assert len(texts) == len(GOOD)


def test_texts_meant_to_run_over_lines_are_read_whatever_the_quoting_around_them(tmp_path):
    """Only a quote that swallows a row boundary is refused (tests/test_bad_inputs.py): a text over
    lines with a space after its closing quote, a doubled quote inside it, a stray quote in an
    unquoted text, and a label cell quoted with a space after it are all read as written."""
    from support import GOOD

    rows = [f'"{t}",{label}' for t, label in GOOD[2:]]
    path = tmp_path / "x.csv"
    path.write_text("text,label\n" + "\n".join(['"Sat on the mat,\nthen on me" ,cat', '"Purred, ""loudly""\nall night",cat',
                                                  'He said "hi" to the dog,dog', '"Chased the post.","dog" ', *rows]) + "\n")
    texts, labels, *_ = read_csv_rows(path)
    assert texts[:4] == ["Sat on the mat,\nthen on me", 'Purred, "loudly"\nall night', 'He said "hi" to the dog',
                         "Chased the post."]
    assert labels[:4] == ["cat", "cat", "dog", "dog"] and len(texts) == len(GOOD) + 2


def test_split_makes_classes_of_string_labels_and_names_how_to_make_a_dataset(tmp_path, small_csv):
    """finetune's advice for a Dataset, DataFrame or list is splits.split: it works on string labels
    (Dataset.from_pandas, from_dict), and anything else gets the one-line fix, not pandas' error."""
    import pandas as pd
    from datasets import Dataset

    read = data.from_csv(small_csv)
    names = read.features["label"].names
    rows = [{"text": t, "label": names[i]} for t, i in zip(read["text"], read["label"])]
    frame = pd.DataFrame(rows)
    by_split = split(read, seed=3)
    for made in (Dataset.from_pandas(frame, preserve_index=False), Dataset.from_list(rows)):
        parts = split(made, seed=3)
        for name, part in parts.items():
            assert part.features["label"].names == names
            assert part["text"] == by_split[name]["text"] and part["label"] == by_split[name]["label"]
    for given, fix in ((frame, "Dataset.from_pandas(df, preserve_index=False)"), (rows, "Dataset.from_list(rows)")):
        with pytest.raises(DataError, match=re.escape(f"split needs a datasets.Dataset, not a {type(given).__name__}: "
                                                      f"make one with datasets.{fix}")):
            split(given)
    with pytest.raises(DataError, match=re.escape("the label column holds int64 values without class names")):
        split(Dataset.from_dict({"text": ["a", "b"], "label": [0, 1]}))
    with pytest.raises(DataError, match=re.escape("the data has no column 'label' (its columns: text, kind)")):
        split(Dataset.from_dict({"text": ["a"], "kind": ["x"]}))
    with pytest.raises(DataError, match=re.escape("the data is already split (train, validation, test)")):
        split(by_split)


def test_splits_mixing_string_labels_and_class_labels_are_matched_by_name(small_dataset):
    """Train read with pandas (strings) beside a test split encoded on its own, in another order."""
    from datasets import ClassLabel, DatasetDict, Value

    names = small_dataset["train"].features["label"].names

    def as_strings(part):
        return part.cast_column("label", Value("string")).map(lambda row: {"label": names[int(row["label"])]})

    flipped = small_dataset["test"].cast_column("label", ClassLabel(names=names[::-1]))
    flipped = flipped.map(lambda row: {"label": 1 - row["label"]})  # the same classes, listed the other way
    mixed = DatasetDict(train=as_strings(small_dataset["train"]), validation=small_dataset["validation"], test=flipped)
    matched = data.by_name(mixed)
    for name, part in matched.items():
        assert part.features["label"].names == names and part["label"] == small_dataset[name]["label"]
    with pytest.raises(DataError, match=re.escape("the validation split's label column holds int64 values without "
                                                  "class names")):
        data.by_name(DatasetDict({**mixed, "validation": small_dataset["validation"].cast_column("label", Value("int64"))}))


def test_labels_that_print_alike_are_one_class(tmp_path):
    """'tech  support' (two spaces) and 'café' typed with a combining accent looked like 'tech support'
    and 'café' but became classes of their own, in silence; they are read in one form and counted."""
    import unicodedata

    from support import CATS, DOGS

    nfd = unicodedata.normalize("NFD", "café")
    assert nfd != "café"
    rows = [(t, ("tech support", "tech  support")[i % 2]) for i, t in enumerate(CATS)]
    rows += [(t, ("café", nfd)[i % 2]) for i, t in enumerate(DOGS)]
    splits, report = data.load_csv_split(write_csv(tmp_path / "alike.csv", rows), split_seed=0)
    assert splits["train"].features["label"].names == ["café", "tech support"]
    assert report["labels_trimmed"] == 10


def test_a_label_written_as_another_number_is_named_with_the_model_s_spelling():
    """A spreadsheet turned the training file's 1 into 1.0 here: the fix names the model's spelling, not
    'remove the rows' or --skip-unknown."""
    from sft_teach.labels import known_rows

    with pytest.raises(DataError, match=re.escape(
            "held.csv: labels '3.0', '2', '1' (first at line 2, column 'label') are not known to the model, which "
            "knows '1.0', '2.0', '3': '3.0', '2', '1' are the model's '3', '2.0', '1.0' written as other numbers: "
            "write them as the training file did")):
        known_rows(["3.0", "2", "1"], ["1.0", "2.0", "3"], source="held.csv", lines=[2, 3, 4])
    with pytest.raises(DataError, match=re.escape("'1.0' is the model's '1' written as another number: write it as the "
                                                  "training file did; remove the rows labelled 'spam'")):
        known_rows(["1.0", "spam", "0"], ["0", "1"], source="held.csv")


def test_a_second_column_of_texts_is_read_as_written(tmp_path):
    """classes=False: the second column is texts (a sentence pair's), not class names: not read in one form."""
    path = write_csv(tmp_path / "pairs.csv", [("A cat sat.", "A  cat   sat down."), ("Rain.", " It rains. ")],
                     header=("sentence1", "sentence2"))
    assert read_csv_rows(path, "sentence1", "sentence2", classes=False)[1] == ["A  cat   sat down.", "It rains."]


def test_labels_are_matched_to_a_model_s_spelling_once_and_never_to_two_classes():
    from sft_teach.labels import as_the_model_spells

    names = ["billing", "tech  support"]
    assert as_the_model_spells(["tech support", "tech  support", "billing"], names) == ["tech  support"] * 2 + ["billing"]
    assert as_the_model_spells(["Tech Support"], names) == ["Tech Support"]  # case only with merge_case
    assert as_the_model_spells(["Tech Support"], names, merge_case=True) == ["tech  support"]
    assert as_the_model_spells(["a b", "a  b", "a   b"], ["a b", "a  b"]) == ["a b", "a  b", "a   b"]  # ambiguous: left


def test_labels_that_are_numbers_split_as_the_errors_advise():
    """Labels 1 and 2 cast with ClassLabel(names=['1', '2']) were split, then failed in check and
    evaluate with an IndexError: now refused at the split; the cast the error advises splits them."""
    from datasets import ClassLabel, Dataset, Value

    from sft_teach.splits import split

    numbers = Dataset.from_dict({"text": [f"Note {i} about {'the cat' if i % 2 else 'the dog'}." for i in range(20)],
                                 "label": [1, 2] * 10})
    with pytest.raises(DataError, match=re.escape("holds int64 values without class names: give the labels as names "
                                                  "(labels that are numbers of their own, 1 and 2: dataset.cast_column("
                                                  "'label', datasets.Value('string')))")):
        split(numbers)
    with pytest.raises(DataError, match=re.escape("have the class id 2, but its ClassLabel names 2 classes")):
        split(numbers.cast_column("label", ClassLabel(names=["1", "2"])), validation=0.25, test=0.25)
    parts = split(numbers.cast_column("label", Value("string")), validation=0.25, test=0.25)
    assert parts["train"].features["label"].names == ["1", "2"]


def test_rows_without_a_label_are_refused_whatever_the_column_s_type():
    from datasets import ClassLabel, Value

    from sft_teach.labels import names_of

    with pytest.raises(DataError, match=re.escape("the label column: row 1 (0-based) has no label: give every row a "
                                                  "class id of 0 or more")):
        names_of([0, -1, 1], ClassLabel(names=["x", "y"]))  # -1: the datasets library's "no label"
    # ids 1 and 2 cast as they were, with two names: id 2 has none, and id 1 names the second class
    with pytest.raises(DataError, match=re.escape("the label column: row 1 (0-based) has the class id 2, but its "
                                                  "ClassLabel names 2 classes, ids 0 to 1: a ClassLabel's ids count "
                                                  "from 0")):
        names_of([1, 2, 1], ClassLabel(names=["1", "2"]))
    with pytest.raises(DataError, match=re.escape("rows 0, 2 (0-based) have no label: give every row one, or drop "
                                                  "those rows first (pandas: df[df['label'].str.strip() != ''])")):
        names_of(["", "x", " "], Value("string"))
    with pytest.warns(SftTeachWarning, match=re.escape("the label column: 2 labels written with extra spaces, invisible "
                                                       "characters or in another Unicode form read in one form (the "
                                                       "first: 'spam ' as 'spam')")):
        assert names_of(["spam ", "spam", "ham  x"], Value("string")) == ["spam", "spam", "ham x"]
    with pytest.raises(DataError, match=re.escape("row 1 (0-based) has no label")):  # a zero-width space alone
        names_of(["x", "\u200b"], Value("string"))
    with pytest.warns(SftTeachWarning, match="1 label written"):  # pasted with a zero-width space: the same class
        assert names_of(["billing", "billing\u200b"], Value("string")) == ["billing", "billing"]


def test_a_split_with_a_model_s_spelling_matches_train_s_class_label():
    """Train a ClassLabel with 'tech  support' (built in Python), validation its strings: one class."""
    from datasets import ClassLabel, Dataset, DatasetDict

    names = ["billing", "tech  support"]
    train = Dataset.from_dict({"text": ["a", "b"], "label": [0, 1]}).cast_column("label", ClassLabel(names=names))
    validation = Dataset.from_dict({"text": ["c", "d"], "label": ["billing", "tech  support"]})
    matched = data.by_name(DatasetDict(train=train, validation=validation))
    assert matched["validation"]["label"] == [0, 1] and matched["validation"].features["label"].names == names


def test_empty_labels_are_listed_up_to_five_then_counted(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("text,label\n" + "".join(f"Note {i}.,\n" for i in range(8)))  # lines 2-9, no label
    with pytest.raises(DataError) as info:
        read_csv_rows(path)
    assert str(info.value).endswith(
        "line 2, column 'label' is empty (also line 3 (label), line 4 (label), line 5 (label), line 6 (label), "
        "line 7 (label) and 2 more): fill in or delete those rows")


def test_the_delimiter_is_the_one_the_header_holds_and_the_rows_agree_with(tmp_path):
    from sft_teach.csv_files import delimiter

    assert delimiter("text,label;x") == "," and delimiter("text;label") == ";" and delimiter("text\tlabel") == "\t"
    assert delimiter("text|label") == "|" and delimiter("text") == ","
    # a survey's question as a column name, with a comma in it, in a file of semicolons: the rows decide
    header = "id;What could we improve, in your own words?;Topic"
    rows = ["1;Faster replies, please;support", "2;Cheaper plans;pricing", "3;It crashes;app"]
    assert delimiter(header, rows) == ";" and delimiter("text,label;notes", ["Purred.,cat", "Barked.,dog"]) == ","
    # every cell quoted (R's write.csv2, LibreOffice): by the comma the header and each row are one cell, a tie
    quoted = ['"What could we improve, in your own words?";"Topic"', '"Faster replies";"support"', '"Cheaper";"pricing"']
    assert delimiter(quoted[0], quoted[1:]) == ";"
    # lines ended by "\r" alone (old Macs), with a second delimiter in a text: read, not a csv.Error
    mac = tmp_path / "mac.csv"
    mac.write_bytes(b"text,label\rHello; there,a\rBye,b\r")
    assert read_csv_rows(mac) == (["Hello; there", "Bye"], ["a", "b"])
    survey = tmp_path / "survey.csv"
    survey.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    texts, labels = read_csv_rows(survey, "What could we improve, in your own words?", "Topic")
    assert texts == ["Faster replies, please", "Cheaper plans", "It crashes"] and labels[0] == "support"


def test_the_split_is_80_10_10_stratified_and_uses_every_row_once(tmp_path):
    import math

    path = pets_csv(tmp_path / "pets.csv")  # 361 cats, 353 dogs, every text once
    parts = data.load(str(path), split_seed=3)
    held_out = math.ceil(0.2 * 714)  # the datasets/scikit-learn rule: the held-out share rounded up
    sizes = {name: len(part) for name, part in parts.items()}
    assert sizes == {"train": 714 - held_out, "validation": held_out - math.ceil(held_out / 2),
                     "test": math.ceil(held_out / 2)}
    texts = [t for part in parts.values() for t in part["text"]]
    assert len(texts) == len(set(texts)) == 714
    cat = parts["train"].features["label"].names.index("cat")
    for name, part in parts.items():  # each split keeps the file's share of cats, to a row
        assert abs(part["label"].count(cat) - len(part) * 361 / 714) <= 1, name


def test_other_fractions_give_the_validation_and_test_splits_their_own_sizes():
    from datasets import Dataset

    rows = Dataset.from_dict({"text": [f"Note {i}." for i in range(100)], "label": ["cat", "dog"] * 50})
    sizes = {name: len(part) for name, part in split(rows, validation=0.2, test=0.1, seed=0).items()}
    # 70/20/10 to a row (the held-out share is rounded up: 0.2 + 0.1 is 0.30000000000000004 in floats)
    assert sum(sizes.values()) == 100 and sizes["validation"] == 20 and abs(sizes["test"] - 10) <= 1
    few = Dataset.from_dict({"text": [f"Note {i}." for i in range(14)], "label": ["cat"] * 4 + ["dog"] * 10})
    with pytest.raises(DataError, match="to split 70%/20%/10% with every class in every split"):
        split(few, validation=0.2, test=0.1)
    for validation, test in ((0.6, 0.6), (-0.1, 0.1), (0, 0.1), (0.1, 1)):  # "too few rows" misnamed these
        with pytest.raises(ConfigError, match=rf"each between 0 and 1 and together below 1, got {validation!r} and {test!r}"):
            split(rows, validation=validation, test=test)


def test_number_labels_are_classes_in_the_order_of_their_values():
    from datasets import Dataset

    rows = Dataset.from_dict({"text": [f"Note {i}." for i in range(40)], "label": ["10", "2"] * 20})
    assert split(rows, seed=0)["train"].features["label"].names == ["2", "10"]


def test_tokenize_keeps_only_what_the_model_reads_of_a_csv_split(tmp_path, tokenizer):
    """A CSV's rows carry their line in the file (for messages); the model's batches do not."""
    from support import GOOD

    splits, _ = data.load_csv_split(write_csv(tmp_path / "export.csv", GOOD), split_seed=0)
    assert "line" in splits["train"].column_names
    encoded = data.tokenize(splits, tokenizer)
    assert set(encoded["train"].column_names) == {"input_ids", "token_type_ids", "attention_mask", "labels"}


def test_tokenize_cuts_at_max_length_and_the_padding_cost_counts_a_short_last_batch(tokenizer):
    encoded = data.tokenize(data.load("pets"), tokenizer, max_length=8)
    assert max(len(ids) for ids in encoded["train"]["input_ids"]) == 8
    for max_length in (0, 1, -1, 8.5, None):
        with pytest.raises(ConfigError, match=rf"max_length= must be a whole number of tokens, at least 2 .* got {max_length!r}"):
            data.tokenize(data.load("pets"), tokenizer, max_length=max_length)
    # batches of 2 over lengths 3, 5, 2: (5 + 5) + 2 = 12 slots, not 5 + 5 + 5
    cost = data.padding_cost([3, 5, 2], batch_size=2, max_length=10)
    assert (cost["real_tokens"], cost["dynamic"], cost["padded_to_max"]) == (10, 12, 30)


def test_the_fingerprints_tell_apart_the_same_rows_in_other_splits(tmp_path):
    from datasets import DatasetDict

    from sft_teach.model_card import data_fingerprint
    from sft_teach.run_record import dataset_fingerprint

    one, other = tmp_path / "one", tmp_path / "other"
    for folder, name in ((one, "validation.csv"), (other, "test.csv")):
        folder.mkdir()
        write_csv(folder / "train.csv", [("Purred.", "cat"), ("Barked.", "dog")])
        write_csv(folder / name, [("Hissed.", "cat"), ("Howled.", "dog")])
    assert data_fingerprint(one) != data_fingerprint(other)  # the same bytes under another split's name
    # as documented: each file's name and content in turn, sorted by name (computed here by hand)
    import hashlib

    digest = hashlib.sha256()
    for name in ("test.csv", "train.csv"):
        digest.update(name.encode() + b"\0" + (other / name).read_bytes() + b"\0")
    assert data_fingerprint(other) == f"sha256:{digest.hexdigest()}"
    a, b = data.from_csv(one / "train.csv"), data.from_csv(one / "validation.csv")
    assert dataset_fingerprint(DatasetDict(train=a, validation=b)) != dataset_fingerprint(DatasetDict(train=a, test=b))


def test_held_out_shares_too_small_for_the_classes_are_named_as_the_problem():
    # every class has more rows than the advice asks for: 'add examples of a' would be no fix
    from datasets import Dataset

    rows = Dataset.from_dict({"text": [f"Note {i}." for i in range(22)], "label": ["a"] * 10 + ["b"] * 12})
    with pytest.raises(DataError) as info:
        split(rows, validation=0.02, test=0.02)
    assert str(info.value) == ("the data: 2% and 2% of its 22 rows are too few to hold each of its 2 classes in the "
                               "validation and test splits: raise validation= and test= (0.1 each by default), add "
                               "examples, or provide train.csv and validation.csv yourself")


# ---- csv_files rules a seventh mutation run changed without a test failing ------------------------

def test_reading_a_csv_leaves_the_process_s_field_limit_as_it_was(tmp_path):
    import csv

    from sft_teach.csv_files import read_csv_rows

    before = csv.field_size_limit(131_072)  # csv's default, whatever an earlier read may have left
    try:
        read_csv_rows(write_csv(tmp_path / "a.csv", [("Purred.", "cat"), ("Barked.", "dog")]))
        assert csv.field_size_limit() == 131_072
    finally:
        csv.field_size_limit(before)


@pytest.mark.parametrize("name, content, said", [
    ("x.jsonl", b'{"text": "Purred.", "label": "cat"}\n', "is a JSONL file, not a CSV file"),
    ("x.JSON", b'[]', "is a JSON file, not a CSV file"),  # the suffix in any case
    ("blank.csv", b"\n  \n", "the file is empty: it needs a header line 'text,label'"),  # spaces are no header
    ("doubled.csv", b"text,label,label\nPurred.,cat,dog\nBarked.,dog,cat\n",
     "names column 'label' 2 times (columns 2 and 3)"),  # a row would keep only the last label cell
    ("headerless.csv", b"Sat on the mat.,cat\nPurred.,cat\nBarked.,dog\n",
     "line 1 (Sat on the mat., cat) looks like a row of data, not column names"),  # a 4-word first cell
    ("report.csv", b"sep=;\nReport 2024\ntext;label\nPurred.;cat\nBarked.;dog\n",
     "line 3 is the header"),  # counted past the sep= line
    ("open.csv", b'sep=;\ntext;label\n"Sat on the mat;cat\nPurred.;cat\nBarked.;dog\n',
     "opened on line 3, runs to line 5"),
    ("both.csv", b"text,label,id\nPurred.,cat,1\n,,7\nBarked.,dog,2\n",
     "line 3, column 'text' is empty (also line 3 (label))"),
    ("nolabel.csv", b"text,label\nPurred.,cat\nBarked.,\n", "line 3, column 'label' is empty: every row needs a label"),
    ("notext.csv", b"text,label\nPurred.,cat\n,dog\n", "line 3, column 'text' is empty: write the text or delete the row"),
])
def test_each_file_problem_is_named_as_it_is(tmp_path, name, content, said):
    from sft_teach.csv_files import read_csv_rows

    (tmp_path / name).write_bytes(content)
    with pytest.raises(DataError, match=re.escape(said)):
        read_csv_rows(tmp_path / name)


def test_a_folder_a_sep_line_and_an_open_quote_before_a_third_column(tmp_path):
    from sft_teach.csv_files import read_csv_rows

    with pytest.raises(DataError, match="is a folder, not a CSV file"):  # IsADirectoryError from open() before
        read_csv_rows(tmp_path)
    piped = tmp_path / "piped.csv"
    piped.write_bytes(b"sep=|\ntext|label\nPurred.|cat\nBarked.|dog\n")  # any separator the sep= line names
    assert read_csv_rows(piped) == (["Purred.", "Barked."], ["cat", "dog"])
    # the label is the second of three cells: an open quote is found by the label column's place, not the last cell
    three = tmp_path / "three.csv"
    three.write_bytes(b'text,label,source\nPurred.,cat,web\n"Sat on the mat,cat,web\n"Wagged at the door.",dog,web\n')
    with pytest.raises(DataError, match=r"line 3: its double quote is not closed on that line.*ends with the label 'cat'"):
        read_csv_rows(three)


def test_unique_texts_with_unique_labels_are_not_called_swapped(tmp_path):
    from sft_teach.csv_files import read_csv_rows

    rows = [(f"Note number {i} about the pet.", f"tag{i}") for i in range(25)]
    with pytest.raises(DataError, match="so it holds texts, not labels") as caught:
        read_csv_rows(write_csv(tmp_path / "tags.csv", rows))
    assert "swapped" not in str(caught.value)  # the texts do not repeat as labels would


def test_a_class_only_declared_is_split_around_and_one_cleaning_emptied_is_refused():
    """A hub dataset filtered to two of its three classes still declares the third: split as before (check
    warns of it); a class whose every row cleaning removed was in the file, and is too small to split."""
    from datasets import ClassLabel, Dataset, Features, Value

    rows = [(f"Cat note {w}.", 0) for w in "abcdefghijkl"] + [(f"Dog note {w}.", 1) for w in "abcdefghijkl"]
    features = Features({"text": Value("string"), "label": ClassLabel(names=["cat", "dog", "fox"])})
    filtered = Dataset.from_dict({"text": [t for t, _ in rows], "label": [y for _, y in rows]}, features=features)
    assert sum(len(part) for part in split(filtered).values()) == 24
    with pytest.raises(DataError, match=r"class 'fox' has no rows after removing 2 repeated or conflicting ones"):
        split(filtered, removed={"fox": 2})


@pytest.mark.parametrize("encoding, rows", [
    ("cp1251", ["Він прийшов додому,a", "Я читаю Гёте,b", "Компания «ИВАНОВ»,c"]),  # 'Ві', 'Гё', 'В»': UTF-8 pairs
    ("cp1252", ["«AMANHÃ» é outro dia,a", "É A MINHA IRMÃ…,b", "Café crème à 2 €,c"]),  # 'Ã»', 'Ã…' too
])
def test_a_file_in_one_encoding_is_not_taken_for_two(tmp_path, encoding, rows):
    """Two letters of a one-byte encoding can form a UTF-8 character; a file in that encoding is still one
    encoding, and reads as it was written (only a whole line of UTF-8 beside lines that are not makes two)."""
    path = tmp_path / "one.csv"
    path.write_bytes("\n".join(["text,label", *rows]).encode(encoding) + b"\n")
    texts, labels = read_csv_rows(path, encoding=encoding)
    assert texts == [row.rsplit(",", 1)[0] for row in rows] and labels == ["a", "b", "c"]


def test_a_one_row_label_is_called_a_misspelling_only_when_it_looks_like_a_slip_of_the_keyboard():
    """'dgo' beside 'dog' is a typo to correct; '10' beside '1', 'neu' beside 'neg' or 'bat' beside
    'cat' are classes of their own, whose fix is more examples."""
    from sft_teach.splits import _spelt_like

    assert _spelt_like("dgo", ["cat", "dog"]) == "dog"  # two neighbours swapped
    assert _spelt_like("cat.", ["cat", "dog"]) == "cat"  # punctuation added
    assert _spelt_like("biling", ["billing", "refunds"]) == "billing"  # a letter dropped from a longer name
    for label, classes in (("bat", ["cat"]), ("neu", ["neg", "pos"]), ("10", [str(i) for i in range(1, 10)]),
                           ("4 stars", ["5 stars"]), ("class_10", ["class_1"]), ("dogs", ["dog"])):
        assert _spelt_like(label, classes) is None, label


def test_a_folder_s_files_are_each_read_once(tmp_path, monkeypatch):
    """The folder-encoding check and the parse share one read of each file (a second read is waste, and
    a file changed between the two would be checked in one state and parsed in another)."""
    from pathlib import Path

    rows = [(f"Cat note {w}.", "cat") for w in "abcdef"] + [(f"Dog note {w}.", "dog") for w in "abcdef"]
    for name in ("train", "validation", "test"):
        write_csv(tmp_path / f"{name}.csv", rows)
    reads, read_bytes = [], Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self.name) or read_bytes(self))
    folder = data.load(str(tmp_path))
    assert sorted(reads) == ["test.csv", "train.csv", "validation.csv"]
    assert [len(folder[name]) for name in ("train", "validation", "test")] == [12, 12, 12]


def test_split_shares_that_leave_no_training_rows_are_named_and_the_least_class_size_rounds_up():
    from datasets import Dataset

    rows = Dataset.from_dict({"text": [f"note {i}" for i in range(42)], "label": ["a"] * 40 + ["b"] * 2})
    with pytest.raises(ConfigError, match="together below 1, got 0.5 and 0.5"):
        split(rows, validation=0.5, test=0.5)
    # 8 rows must train: at 70 % that takes 12 rows (11 leave 7.7)
    with pytest.raises(DataError, match=r"12 or more in all"):
        split(rows, validation=0.15, test=0.15)
