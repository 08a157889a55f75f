"""What a run records of itself: names that hold on another machine, and a folder cleared safely."""

import json

from sft_teach import run_record
from sft_teach.models import DEFAULT_MODEL


def test_a_path_is_recorded_by_its_last_part_and_a_hub_name_as_it_is(tmp_path, monkeypatch):
    """Saved results never hold this machine's folders, relative or absolute; a hub name is no folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "sms.csv").write_text("text,label\n")
    assert run_record.portable("exports/sms.csv") == "sms.csv"
    assert run_record.portable(tmp_path / "exports" / "sms.csv") == "sms.csv"
    assert run_record.portable("sentence-transformers/all-MiniLM-L6-v2") == "sentence-transformers/all-MiniLM-L6-v2"


def test_the_bundled_model_is_named_by_its_hub_name_however_it_is_spelt():
    """Hub names are not case-sensitive: the card names the bundled model one way."""
    for spelling in ("default", DEFAULT_MODEL, DEFAULT_MODEL.upper()):
        assert run_record.base_model_name(spelling) == DEFAULT_MODEL


def test_an_earlier_run_is_cleared_with_its_metrics_json_last(tmp_path, monkeypatch):
    """Interrupted part-way, the folder still reads as a run (it has metrics.json), not as a user's folder;
    the user's own files stay."""
    for name in run_record.RUN_OUTPUTS:
        if name in ("model", "splits"):
            (tmp_path / name).mkdir()
        else:
            (tmp_path / name).write_text("{}")
    (tmp_path / "notes.txt").write_text("mine")
    removed = []
    rmtree, unlink = run_record.shutil.rmtree, type(tmp_path).unlink
    monkeypatch.setattr(run_record.shutil, "rmtree", lambda path: (removed.append(path.name), rmtree(path)))
    monkeypatch.setattr(type(tmp_path), "unlink", lambda path: (removed.append(path.name), unlink(path)))
    run_record.clear_run(tmp_path)
    assert sorted(removed) == sorted(run_record.RUN_OUTPUTS) and removed[-1] == "metrics.json"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_whole_numbers_of_epochs_are_recorded_as_whole_numbers(tiny_model_dir, small_csv, tmp_path):
    """metrics.json says 3 epochs, not 3.0, for the head-only phase too."""
    from sft_teach.training import finetune

    finetune(str(tiny_model_dir), str(small_csv), num_train_epochs=1.0, head_epochs=1.0, batch_size=4, progress=False,
             output_dir=tmp_path / "run")
    text = (tmp_path / "run" / "metrics.json").read_text()
    record = json.loads(text)
    assert (record["epochs"], record["head_epochs"]) == (1, 1)
    assert '"epochs": 1,' in text and '"head_epochs": 1,' in text


def test_read_record_is_the_record_without_its_long_parts_and_names_a_folder_without_one(tmp_path):
    import pytest

    from sft_teach.errors import ConfigError

    record = {"accuracy": 0.81, "epochs": 3, "per_class": {}, "validation_curve": [], "history": {}}
    (tmp_path / "metrics.json").write_text(json.dumps(record))
    assert run_record.read_record(tmp_path) == {"accuracy": 0.81, "epochs": 3}
    with pytest.raises(ConfigError, match=r"read_record: .*empty holds no metrics.json: give the folder a training run"):
        run_record.read_record(tmp_path / "empty")  # a bare FileNotFoundError before


def test_a_local_folder_is_no_hub_id_even_when_its_name_looks_like_one(tmp_path, monkeypatch):
    """The card's base_model must name a Hub model: a folder in the working directory called
    tickets-model (no slash, nothing that says "path") is not one."""
    from sft_teach.run_record import hub_id

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tickets-model").mkdir()
    assert hub_id("tickets-model") is None
    assert hub_id("owner/tickets-model") == "owner/tickets-model"
