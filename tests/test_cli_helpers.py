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


# ---- from a seventh mutation run: the error classes' contracts, the defaults, one-line errors ------

def test_each_error_is_the_standard_exception_a_caller_would_catch():
    from sft_teach import errors

    assert issubclass(errors.SftTeachError, Exception)  # exercise checks catch Exception: not a crash
    assert issubclass(errors.SftTeachWarning, UserWarning)  # shown by default, unlike a DeprecationWarning
    assert issubclass(errors.DataError, ValueError) and issubclass(errors.ConfigError, ValueError)
    assert issubclass(errors.ModelNotFoundError, errors.SftTeachError) and issubclass(errors.ModelNotFoundError, OSError)
    assert issubclass(errors.OutputExistsError, errors.SftTeachError)
    assert issubclass(errors.OutputExistsError, FileExistsError)


def test_a_missing_model_gives_check_json_its_error_line(tmp_path, monkeypatch, capsys):
    import json

    from sft_teach.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["check", "--model", "./nothere", "--json"]) == 2
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["data"] == "pets" and line["errors"][0].startswith("model folder './nothere'")


def test_a_folder_of_other_files_is_refused_as_such_not_as_unwritable(tmp_path, capsys):
    from sft_teach.cli import main

    out = tmp_path / "results"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["finetune", "--output", str(out), "--overwrite", "--epochs", "1"]) == 2
    assert capsys.readouterr().err.startswith(f"sft-teach: error: output folder '{out}' holds files that are not an "
                                              f"sft-teach run")


def test_the_command_line_defaults_are_what_its_help_says():
    from sft_teach.cli import _build_parser

    args = _build_parser().parse_args(["finetune"])
    assert (args.batch_size, args.max_length, args.seed) == ("16", "128", "42")


def test_a_mistyped_option_with_its_value_joined_by_equals_is_still_named(capsys):
    import pytest

    from sft_teach.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["finetune", "--ouput=my-long-output-folder"])
    assert stop.value.code == 2 and "did you mean --output?" in capsys.readouterr().err


def test_an_error_naming_a_path_with_a_line_break_is_one_line(tmp_path, capsys):
    from sft_teach.cli import main

    assert main(["check", "--data", str(tmp_path / "a\nb.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("sft-teach: error: ")


def test_the_result_lines_say_an_early_stop_and_an_optimistic_score():
    """Early stopping ends the progress bar part-way: the line after it says why, and which epoch was kept."""
    from sft_teach.cli_finetune import result_lines

    metrics = {"best_epoch": 3, "epochs_run": 5, "epochs": 8, "patience": 2, "eval_split": "validation",
               "eval_size": 42, "accuracy": 0.7381, "accuracy_interval_95": [0.59, 0.85], "macro_f1": 0.7369,
               "train_seconds": 245.3, "validation_curve": [{"epoch": float(e), "macro_f1": f}
                                                             for e, f in ((3, 0.756), (4, 0.7), (5, 0.594))]}
    assert result_lines(metrics) == [
        "kept epoch 3 of 5 (validation macro-F1 0.756, the best); stopped early after epoch 5 of 8: no better "
        "validation macro-F1 for 2 epochs",
        "validation split, 42 rows: accuracy 0.738 (95 % interval 0.590 to 0.850), macro-F1 0.737; trained in 4 min "
        "05 s; no test split, so this score is optimistic, as warned"]
    plain = {k: v for k, v in metrics.items() if k not in ("best_epoch", "epochs_run")}
    assert len(result_lines({**plain, "eval_split": "test"})) == 1  # the plain recipe keeps its last epoch: no line


def test_a_duration_is_rounded_once():
    from sft_teach.cli_finetune import _duration

    assert [_duration(s) for s in (42.4, 59.6, 119.6, 245.3)] == ["42 s", "1 min 00 s", "2 min 00 s", "4 min 05 s"]


def test_the_result_lines_say_why_a_fractional_plan_ran_a_little_longer():
    """--epochs 1.5 at 3 steps an epoch is 5 steps, 1.6667 epochs: said, not left as a puzzle."""
    from sft_teach.cli_finetune import result_lines

    metrics = {"best_epoch": 1, "epochs_run": 1.6667, "epochs": 1.5, "eval_split": "test", "eval_size": 9,
               "accuracy": 1.0, "accuracy_interval_95": [0.7, 1.0], "macro_f1": 1.0, "train_seconds": 3.0,
               "validation_curve": [{"epoch": 1.0, "macro_f1": 0.8}, {"epoch": 1.6667, "macro_f1": 0.7}]}
    assert result_lines(metrics)[0] == ("kept epoch 1 of 1.6667 (validation macro-F1 0.800, the best); --epochs 1.5 "
                                        "ran as 1.6667, since training takes whole steps")
    assert "whole steps" not in result_lines({**metrics, "epochs": 2, "epochs_run": 2})[0]
