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
    assert not (tmp_path / ".run.partial").exists()  # the staging folder is gone

    code, stdout, err = run(["evaluate", "--model", str(out / "model"), "--data", str(small_csv)], capsys)
    assert code == 0
    scores = json.loads(stdout.strip().splitlines()[-1])
    assert 0 <= scores["accuracy"] <= 1 and 0 <= scores["macro_f1"] <= 1 and scores["n"] == 16

    code, stdout, err = run(["predict", "--model", str(out / "model"), "Sunny windowsill nap.", "Muddy walk."], capsys)
    rows = [json.loads(line) for line in stdout.strip().splitlines()]
    assert code == 0 and [r["text"] for r in rows] == ["Sunny windowsill nap.", "Muddy walk."]


def test_real_process_exit_code_and_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sft_teach.cli", "finetune", "--lr", "-1"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["sft-teach: error: learning rate must be greater than 0, got -1: try 1e-4"]
    assert not (tmp_path / "sft-output").exists()


def test_doctor_reports_the_bundled_model(capsys):
    code, out, err = run(["doctor"], capsys)
    assert code == 0 and "found" in out and "ready" in out.splitlines()[-1]
    assert "the weights the course was executed with" in out and "NOT" not in out


def test_doctor_says_when_the_model_weights_are_not_the_courses(capsys, monkeypatch, tmp_path):
    import hashlib

    from sft_teach import environment

    other = tmp_path / "model.safetensors"
    other.write_bytes(b"other weights")
    assert environment.sha256_of(other) == hashlib.sha256(b"other weights").hexdigest()
    monkeypatch.setattr(environment, "BUNDLED_WEIGHTS_SHA256", "0" * 64)
    code, out, err = run(["doctor"], capsys)
    assert code == 0  # it still runs the course
    assert "NOT the weights the course was executed with" in out and "may differ" in out
