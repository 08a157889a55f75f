import json
import subprocess
import sys

import pytest
from support import write_csv

from sft_teach.cli import main


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def existing_output(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / "metrics.json").write_text('{"accuracy": 0.5}')
    return out


def _one_line_error(code, err):
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("sft-teach: error: ")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--data", "no/such/file.csv"], "file not found"),
        (["--epochs", "0"], "epochs must be greater than 0"),
        (["--epochs", "-2"], "epochs must be greater than 0"),
        (["--epochs", "three"], "epochs must be a number"),
        (["--lr", "0"], "learning rate must be greater than 0"),
        (["--lr=-1e-4"], "learning rate must be greater than 0"),
        (["--batch-size", "0"], "batch size"),
        (["--max-length", "x"], "max length must be a number"),
        (["--seed", "1.5"], "seed must be a whole number"),
        (["--model", "bert-base-uncased"], "not available offline"),
        (["--model", "./missing-model-folder"], "does not exist"),
    ],
)
def test_finetune_bad_input_one_line_exit_2_nothing_overwritten(extra, message, existing_output, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, out, err = run(["finetune", "--output", str(existing_output), "--overwrite", *extra], capsys)
    _one_line_error(code, err)
    assert message in err
    assert (existing_output / "metrics.json").read_text() == '{"accuracy": 0.5}'


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "the file is empty"),
        ("text,label\n", "has a header but no rows"),
        ("review,stars\ngood,5\n", "no column 'text' (columns found: review, stars)"),
    ],
)
def test_finetune_bad_csv(tmp_path, content, message, existing_output, capsys):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    code, out, err = run(["finetune", "--data", str(path), "--output", str(existing_output), "--overwrite"], capsys)
    _one_line_error(code, err)
    assert message in err and "bad.csv" in err


def test_finetune_refuses_to_overwrite_without_flag(existing_output, capsys):
    code, out, err = run(["finetune", "--output", str(existing_output)], capsys)
    _one_line_error(code, err)
    assert "--overwrite" in err


def test_usage_errors_are_one_line_too(capsys):
    with pytest.raises(SystemExit) as info:
        main(["finetune", "--no-such-flag"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unrecognized arguments" in err


def test_finetune_evaluate_predict_end_to_end(tiny_model_dir, small_csv, tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, err = run(["finetune", "--model", str(tiny_model_dir), "--data", str(small_csv), "--epochs", "1",
                             "--batch-size", "4", "--output", str(out), "--quiet"], capsys)
    assert code == 0, err
    final = json.loads(stdout.strip().splitlines()[-1])
    assert {"accuracy", "macro_f1", "train_seconds"} <= set(final)
    for name in ("model/model.safetensors", "model/config.json", "model/tokenizer.json", "metrics.json", "loss.png", "confusion.png"):
        assert (out / name).is_file(), name
    assert not list(tmp_path.glob(".run-partial-*"))  # the staging folder is gone

    code, stdout, err = run(["evaluate", "--model", str(out / "model"), "--data", str(small_csv)], capsys)
    assert code == 0
    scores = json.loads(stdout.strip().splitlines()[-1])
    assert 0 <= scores["accuracy"] <= 1 and 0 <= scores["macro_f1"] <= 1 and scores["n"] == 16

    code, stdout, err = run(["predict", "--model", str(out / "model"), "Sunny windowsill nap.", "Muddy walk."], capsys)
    rows = [json.loads(line) for line in stdout.strip().splitlines()]
    assert code == 0 and [r["text"] for r in rows] == ["Sunny windowsill nap.", "Muddy walk."]


def test_evaluate_unknown_label(tiny_model_dir, tmp_path, capsys):
    path = write_csv(tmp_path / "eval.csv", [("Nibbled the carrot top.", "rabbit")])
    code, out, err = run(["evaluate", "--model", str(tiny_model_dir), "--data", str(path)], capsys)
    _one_line_error(code, err)
    assert "label 'rabbit' (row 2, column 'label') is not one the model knows (cat, dog)" in err


def test_evaluate_missing_model_folder(small_csv, tmp_path, capsys):
    code, out, err = run(["evaluate", "--model", str(tmp_path / "nothing"), "--data", str(small_csv)], capsys)
    _one_line_error(code, err)
    assert "does not exist" in err


def test_real_process_exit_code_and_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sft_teach.cli", "finetune", "--lr", "-1"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["sft-teach: error: learning rate must be greater than 0, got -1: try 1e-4"]
    assert not (tmp_path / "sft-output").exists()


def test_doctor_reports_the_bundled_model(capsys):
    code, out, err = run(["doctor"], capsys)
    assert code == 0 and "found" in out and "ready" in out.splitlines()[-1]
