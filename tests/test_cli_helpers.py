"""The command line's small helpers, each on the input that tells a right rule from a near miss:
what a model was trained on, the encoding to read a file with, and how a suggested command is written."""

import json
from types import SimpleNamespace

from sft_teach import cli_conventions, cli_trained_model


def _model(tmp_path, settings, record=None):
    folder = tmp_path / "run" / "model"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "bert", "sft_teach": settings}))
    if record is not None:
        (folder.parent / "metrics.json").write_text(json.dumps(record))
    return folder


def test_what_a_model_was_trained_on_comes_from_its_config_else_its_run_record(tmp_path):
    own = _model(tmp_path / "a", {"text_column": "message", "label_column": "desk", "encoding": "cp1252"})
    assert cli_trained_model.trained_on(own)["text_column"] == "message"
    # a config.json without the training's columns (saved before it kept them): the run's record
    older = _model(tmp_path / "b", {"merge_case": True}, {"text_column": "note", "label_column": "animal"})
    assert cli_trained_model.trained_on(older) == {"text_column": "note", "label_column": "animal"}
    # neither knows the columns: nothing is known, not a record without them
    unknown = _model(tmp_path / "c", {"merge_case": True}, {"accuracy": 0.9})
    assert cli_trained_model.trained_on(unknown) == {}


def test_bytes_that_neither_encoding_reads_get_no_note_that_they_were_read_as_the_training_s(tmp_path):
    model = _model(tmp_path, {"text_column": "text", "label_column": "label", "encoding": "cp1252"})
    args = SimpleNamespace(encoding=None, model=str(model))
    assert cli_trained_model.encoding(args, b"caf\xe9\n") == "cp1252"  # not UTF-8, but cp1252: said
    assert cli_trained_model.read_notes(args) == [
        "the texts: not UTF-8 (line 1, byte 0xe9): read as cp1252, the encoding this model's training file was "
        "read with (--encoding to choose another)"]
    other = SimpleNamespace(encoding=None, model=str(model))
    assert cli_trained_model.encoding(other, b"caf\x81\n") == "cp1252"  # 0x81 is in neither: the reader's error
    assert cli_trained_model.read_notes(other) == []


def test_a_stream_that_names_no_encoding_is_not_taken_for_utf8():
    assert not cli_conventions.writes_utf8(object())
    assert cli_conventions.writes_utf8(SimpleNamespace(encoding="UTF_8"))


def test_on_windows_a_backtick_is_quoted_as_powershell_treats_it_apart(monkeypatch):
    with monkeypatch.context() as windows:  # os.name back before any assertion: pytest's own paths need it
        windows.setattr("os.name", "nt")
        written = cli_conventions.shell_word("run`1"), cli_conventions.shell_word("run1")
    assert written == ('"run`1"', "run1")
