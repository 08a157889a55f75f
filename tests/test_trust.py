"""Runs you can trust: the same seed gives the same result, and the defaults need no network."""

import json
import socket

import pytest
import torch

from sft_teach.cli import main
from sft_teach.training import finetune


@pytest.mark.slow
def test_same_seed_same_metrics_and_weights(make_tiny_classifier, tokenizer, small_dataset):
    runs = [finetune(make_tiny_classifier(seed=3), small_dataset, tokenizer=tokenizer, num_train_epochs=2,
                     batch_size=4, learning_rate=1e-3, seed=11, progress=False, save=False) for _ in range(2)]
    assert runs[0].metrics["loss"] == runs[1].metrics["loss"]
    assert runs[0].history["train"] == runs[1].history["train"]
    second = runs[1].trainer.model.state_dict()
    for name, value in runs[0].trainer.model.state_dict().items():
        assert torch.equal(value, second[name]), name


@pytest.mark.slow
def test_default_finetune_makes_no_network_connection(monkeypatch, online, small_csv, tmp_path, capsys):
    attempts = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError(f"network blocked by the test: {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    code = main(["finetune", "--data", str(small_csv), "--epochs", "1", "--batch-size", "8",
                 "--output", str(tmp_path / "run"), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0 and attempts == []
    assert {"accuracy", "macro_f1"} <= set(json.loads(out.strip().splitlines()[-1]))
    assert (tmp_path / "run" / "model" / "model.safetensors").is_file()


def test_saved_outputs_hold_no_absolute_paths(tiny_model_dir, small_csv, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["finetune", "--model", str(tiny_model_dir), "--data", str(small_csv), "--epochs", "1",
                 "--output", str(out), "--quiet"]) == 0
    roots = {str(tmp_path), str(tiny_model_dir.parent), str(small_csv.parent), "/home/", "/tmp/"}
    for path in [out / "metrics.json", out / "model" / "README.md", *(out / "model").glob("*.json")]:
        text = path.read_text()
        assert not [root for root in roots if root in text], path.name  # not the model's, nor the data's folder


def test_package_never_trusts_remote_code_or_unpickles():
    """No `trust_remote_code=True`, and every `torch.load` restricted to tensors (`weights_only=True`)."""
    import re
    from pathlib import Path

    import sft_teach

    for path in Path(sft_teach.__file__).parent.rglob("*.py"):
        source = path.read_text()
        assert not re.search(r"trust_remote_code\s*=\s*True", source), path.name
        for call in re.findall(r"torch\.load\([^)]*\)", source):
            assert "weights_only=True" in call, (path.name, call)
        assert "import pickle" not in source, path.name
