"""Interrupted runs: a killed or Ctrl-C'd ``sft-teach finetune`` continues with ``--resume``.

A real process is started and interrupted once its first checkpoint is complete; the
same command with ``--resume`` must finish with the same number of optimiser steps and
the same weights as a run that was never interrupted. Saving is atomic: an interrupted
run never leaves an output folder that looks complete.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file
from support import GOOD, fake_checkpoint, write_csv
from transformers import TrainerCallback

from sft_teach.checkpoints import last_checkpoint, missing
from sft_teach.cli import main

EPOCHS, BATCH = 40, 4


@pytest.fixture
def notes_csv(tmp_path):
    return write_csv(tmp_path / "notes.csv", GOOD)  # 20 rows: 16 train, 4 steps per epoch


def _command(model_dir, data, output, *extra):
    return ["finetune", "--model", str(model_dir), "--data", str(data), "--epochs", str(EPOCHS), "--batch-size",
            str(BATCH), "--lr", "1e-3", "--output", str(output), "--quiet", *extra]


def _interrupt_after_first_checkpoint(argv, cwd, sig):
    """Start the CLI in its own process, wait for a complete checkpoint, then send ``sig``."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    # Ctrl-C as at a terminal: a shell runs a background job (`pytest &`, nohup) with SIGINT ignored, which
    # its children inherit, and Python then leaves Ctrl-C ignored
    proc = subprocess.Popen([sys.executable, "-m", "sft_teach.cli", *argv], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    checkpoints = cwd / ".run.partial" / "checkpoints"
    deadline = time.monotonic() + 120
    while (not checkpoints.is_dir() or last_checkpoint(checkpoints) is None) and proc.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be interrupted: " + proc.stderr.read()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, err


def _finished(output):
    metrics = json.loads((output / "metrics.json").read_text())
    return metrics, load_file(output / "model" / "model.safetensors")


@pytest.fixture(scope="module")
def uninterrupted(tiny_model_dir, tmp_path_factory):
    """The run never interrupted, once for the module: every test below interrupts the same command.

    Returns ``(metrics, weights, card)``. Run in its own folder on a copy of the same rows: the
    comparison is of steps, weights and scores, which do not depend on where the file is.
    """
    folder = tmp_path_factory.mktemp("uninterrupted")
    data = write_csv(folder / "notes.csv", GOOD)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        assert main(_command(tiny_model_dir, data, "straight")) == 0
    return (*_finished(folder / "straight"), (folder / "straight" / "model" / "README.md").read_text())


def _same_as_uninterrupted(tiny_model_dir, notes_csv, tmp_path, capsys, monkeypatch, uninterrupted):
    monkeypatch.chdir(tmp_path)
    with monkeypatch.context() as resuming:  # the checkpoint holds the head-only phase's result: not trained again
        resuming.setattr("sft_teach.head_first.train_head", lambda *a, **k: pytest.fail("the head was trained again"))
        assert main(_command(tiny_model_dir, notes_csv, "run", "--resume")) == 0
    assert re.search(r"resuming the interrupted run from its checkpoint of epoch \d+ \(checkpoint-\d+\)", capsys.readouterr().out)
    resumed, resumed_weights = _finished(tmp_path / "run")
    straight, straight_weights, straight_card = uninterrupted
    assert resumed["train_steps"] == straight["train_steps"] == EPOCHS * 16 // BATCH
    assert [e["step"] for e in resumed["history"]["eval"]] == [e["step"] for e in straight["history"]["eval"]]
    for name, value in straight_weights.items():
        assert (resumed_weights[name] - value).abs().max() < 1e-5, name
    assert resumed["accuracy"] == straight["accuracy"]
    # the head-only phase ran before the interruption: its log is the uninterrupted run's
    assert resumed["head_steps"] == straight["head_steps"] and resumed["history"]["head"] == straight["history"]["head"]
    assert resumed["resumed_from_step"] > 0 and "resumed_from_step" not in straight
    card = (tmp_path / "run" / "model" / "README.md").read_text()  # the card says it too, with the step
    assert f"| resumed from step | {resumed['resumed_from_step']} |" in card
    assert "resumed from step" not in straight_card
    assert not (tmp_path / ".run.partial").exists() and not (tmp_path / "run" / "head.json").exists()


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_end(tiny_model_dir, notes_csv, tmp_path, capsys, monkeypatch, uninterrupted):
    code, err = _interrupt_after_first_checkpoint(_command(tiny_model_dir, notes_csv, "run"), tmp_path, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert not (tmp_path / "run").exists()  # nothing that looks like a finished output
    step = int(last_checkpoint(tmp_path / ".run.partial" / "checkpoints").name.split("-")[1])
    assert 0 < step < EPOCHS * 16 // BATCH
    for checkpoint in (tmp_path / ".run.partial" / "checkpoints").glob("checkpoint-*"):
        if not missing(checkpoint):  # complete: never a pickle beside it
            assert not list(checkpoint.glob("*.bin")) and not list(checkpoint.glob("*.pkl")), checkpoint.name

    monkeypatch.chdir(tmp_path)
    assert main(_command(tiny_model_dir, notes_csv, "run")) == 2  # without --resume: say so, touch nothing
    assert "pass --resume to continue it" in capsys.readouterr().err
    assert main(_command(tiny_model_dir, notes_csv, "run", "--resume", "--epochs", "3")) == 2
    assert "--resume needs the interrupted run's settings and data, but epochs 40.0 -> 3.0" in capsys.readouterr().err
    original = notes_csv.read_bytes()  # the same file name with other content is other data
    notes_csv.write_bytes(original.replace(b"\n", b"\r\n", 1))
    assert main(_command(tiny_model_dir, notes_csv, "run", "--resume")) == 2
    out, err = capsys.readouterr()
    assert "the data's content changed" in err and out == ""  # refused before any report of the data
    notes_csv.write_bytes(original)
    _same_as_uninterrupted(tiny_model_dir, notes_csv, tmp_path, capsys, monkeypatch, uninterrupted)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill-or-timeout"])
def test_ctrl_c_keeps_the_checkpoint_and_says_how_to_resume(tiny_model_dir, notes_csv, tmp_path, capsys, monkeypatch,
                                                            sig, uninterrupted):
    """SIGTERM (what `kill` and `timeout` send) stops the run as Ctrl-C does, with the same message;
    the exit code is the shell's for that signal, 128 + its number."""
    code, err = _interrupt_after_first_checkpoint(_command(tiny_model_dir, notes_csv, "run"), tmp_path, sig)
    assert code == 128 + sig, err[-3000:]  # should it fail, what the run said
    assert re.fullmatch(r"sft-teach: interrupted; nothing was written to run/; the checkpoint of epoch \d+ is kept: run "
                        r"the same command with --resume to continue from there", err.strip().splitlines()[-1]), err[-3000:]
    assert last_checkpoint(tmp_path / ".run.partial" / "checkpoints") is not None
    _same_as_uninterrupted(tiny_model_dir, notes_csv, tmp_path, capsys, monkeypatch, uninterrupted)


def test_ctrl_c_before_any_checkpoint_says_there_is_nothing_to_resume(tiny_model_dir, notes_csv, tmp_path, capsys,
                                                                      monkeypatch):
    """Interrupted before an epoch's checkpoint was complete: nothing is kept, and the message says to
    start over rather than suggest --resume; it starts on a line of its own, after the progress bar."""
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("sft_teach.training.finetune", interrupted)
    monkeypatch.chdir(tmp_path)
    assert main([arg for arg in _command(tiny_model_dir, notes_csv, "run") if arg != "--quiet"]) == 130  # a bar shown
    err = capsys.readouterr().err
    assert err.endswith("\nsft-teach: interrupted; nothing was written to run/; no epoch had finished saving its "
                        "checkpoint, so there is nothing to resume: run the same command again to start over\n")
    assert not (tmp_path / ".run.partial").exists() and not (tmp_path / "run").exists()


RUN = dict(seed=42, epochs=3.0, lr=1e-4, batch_size=16, max_length=128, head_epochs=3.0, grad_accum=1,
           fingerprint="ab12", patience=None, split=42)


@pytest.mark.parametrize("change, said", [
    ({"seed": 7}, "seed 42 -> 7"), ({"epochs": 4.0}, "epochs 3.0 -> 4.0"), ({"lr": 2e-4}, "learning_rate 0.0001 -> 0.0002"),
    ({"batch_size": 8}, "batch_size 16 -> 8"), ({"max_length": 64}, "max_length 128 -> 64"),
    ({"head_epochs": 0.0}, "head_epochs 3.0 -> 0.0"), ({"grad_accum": 2}, "grad_accum 1 -> 2"),
    ({"patience": 2}, "patience None -> 2"), ({"split": 7}, "split_seed 42 -> 7"),
    ({"fingerprint": "cd34"}, "the data's content changed"),
])
def test_resume_refuses_any_setting_that_differs_from_the_interrupted_run(tmp_path, change, said):
    """Each setting that shapes the run is in its run.json and compared on --resume, the seed too:
    another seed would go on with another data order and dropout from the checkpoint on."""
    from types import SimpleNamespace

    from sft_teach.cli_finetune import _run_settings
    from sft_teach.errors import ConfigError
    from sft_teach.run_staging import prepare_staging

    args = SimpleNamespace(data="notes.csv", model="default", recipe="best", keep_duplicates=False, merge_case=False,
                           encoding=None, text_column=None, label_column=None)
    staging, _ = _staged(tmp_path, settings=_run_settings(args, **RUN))
    assert prepare_staging(staging, _run_settings(args, **RUN), resume=True) == staging / "checkpoints" / "checkpoint-4"
    with pytest.raises(ConfigError, match=re.escape(f"--resume needs the interrupted run's settings and data, but {said}:")):
        prepare_staging(staging, _run_settings(args, **{**RUN, **change}), resume=True)


def test_resume_false_is_no_resume_as_in_trainer(tmp_path):
    """Trainer's spelling: False, like None, starts afresh, even beside a complete checkpoint."""
    from sft_teach.checkpoints import checkpoint_to_resume

    fake_checkpoint(tmp_path / "checkpoints" / "checkpoint-4", json.dumps({"global_step": 4, "log_history": []}))
    assert checkpoint_to_resume(False, tmp_path) is None and checkpoint_to_resume(None, tmp_path) is None
    assert checkpoint_to_resume(True, tmp_path) == str(tmp_path / "checkpoints" / "checkpoint-4")


def test_a_checkpoint_whose_state_was_cut_off_is_not_resumed_from(tmp_path):
    """Trainer creates trainer_state.json, then writes it: a kill in between leaves it empty or cut
    short, and resuming from that checkpoint would fail on the JSON; the one before it is used."""
    state = json.dumps({"global_step": 8, "log_history": []})
    for step, text in ((4, state), (8, ""), (12, state[:10])):
        fake_checkpoint(tmp_path / f"checkpoint-{step}", text)
    (tmp_path / "checkpoint-16").mkdir()  # cut off before the state file
    assert last_checkpoint(tmp_path).name == "checkpoint-4"
    (tmp_path / "checkpoint-12" / "trainer_state.json").write_text(state)
    assert last_checkpoint(tmp_path).name == "checkpoint-12"


@pytest.mark.parametrize("lost", ["model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth"])
def test_a_checkpoint_that_lost_a_file_is_not_resumed_from(tmp_path, lost):
    """Without its weights resuming fails; without the optimizer's moments, the schedule or the random
    state it would go on quietly as another run (a lower score, with no warning). Deleted by hand, or
    by a run killed while removing its checkpoints: the one before it is used, or none."""
    from sft_teach.checkpoints import missing

    state = json.dumps({"global_step": 8, "log_history": []})
    fake_checkpoint(tmp_path / "checkpoint-4", state)
    newest = fake_checkpoint(tmp_path / "checkpoint-8", state)
    assert last_checkpoint(tmp_path) == newest and missing(newest) == []
    (newest / lost).unlink()
    assert last_checkpoint(tmp_path).name == "checkpoint-4"
    assert missing(newest) == ["the weights (model.safetensors)" if lost == "model.safetensors" else lost]
    (tmp_path / "checkpoint-4" / lost).unlink()
    assert last_checkpoint(tmp_path) is None
    if lost == "rng_state.pth":  # a data-parallel run saves one random state per process: complete too
        for rank in (0, 1):
            (newest / f"rng_state_{rank}.pth").write_bytes(b"")
        assert missing(newest) == [] and last_checkpoint(tmp_path) == newest


def test_a_crash_while_saving_leaves_no_model_folder(make_tiny_classifier, tokenizer, small_dataset, tmp_path,
                                                     monkeypatch):
    from sft_teach.model_folder import save_model
    from sft_teach.training import finetune

    result = finetune(make_tiny_classifier(), small_dataset, tokenizer=tokenizer, num_train_epochs=1, progress=False,
                      save=False)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(type(tokenizer), "save_pretrained", crash)
    with pytest.raises(OSError, match="disk full"):
        save_model(result.trainer, tmp_path / "out" / "model")
    assert list((tmp_path / "out").iterdir()) == []  # neither the model folder nor a partial one


def test_no_checkpoint_is_complete_while_it_holds_a_pickle(make_tiny_classifier, tokenizer, small_dataset, tmp_path,
                                                           monkeypatch):
    """The pickled arguments are gone before ``trainer_state.json`` marks a checkpoint complete.

    A process killed right after a checkpoint completes must not leave one behind; this
    looks at the folder at the moment ``Trainer`` writes the state file.
    """
    from transformers import TrainerState

    from sft_teach.training import finetune

    seen = []
    write_state = TrainerState.save_to_json

    def look_then_write(state, json_path):
        seen.append(sorted(p.name for p in Path(json_path).parent.iterdir()))
        write_state(state, json_path)

    monkeypatch.setattr(TrainerState, "save_to_json", look_then_write)
    finetune(make_tiny_classifier(), small_dataset, tokenizer=tokenizer, num_train_epochs=2, progress=False,
             save=False, output_dir=tmp_path / "run", save_checkpoints=True)
    assert len(seen) == 2 and all("model.safetensors" in files for files in seen), seen
    assert not [name for files in seen for name in files if name.endswith((".bin", ".pkl"))], seen


class _StopAtTheSecondCheckpoint(TrainerCallback):
    """Interrupts a run once epoch 2's checkpoint is saved; epoch 1 takes a second longer."""

    def on_epoch_end(self, args, state, control, **kwargs):
        if round(state.epoch) == 1:
            time.sleep(1)

    def on_save(self, args, state, control, **kwargs):
        if round(state.epoch) == 2:
            raise KeyboardInterrupt


def test_a_resumed_run_keeps_its_early_stopping_count_and_its_training_time(tiny_model_dir, notes_csv, tmp_path):
    """A learning rate too small to change a prediction: validation never improves on epoch 1, so
    patience 2 stops a run after epoch 3. Interrupted after epoch 2 and resumed, the run stops after
    epoch 3 too, instead of counting its epochs without improvement from 0 again (it would stop
    after epoch 4), and its train_seconds include the second trained before the interruption."""
    from sft_teach.training import finetune

    settings = dict(model=str(tiny_model_dir), data=str(notes_csv), num_train_epochs=8, learning_rate=1e-12,
                    batch_size=BATCH, best_epoch=True, patience=2, save_checkpoints=True, progress=False)
    assert finetune(**settings, output_dir=tmp_path / "straight").metrics["epochs_run"] == 3
    assert last_checkpoint(tmp_path / "straight" / "checkpoints") is not None  # asked for, so kept, best_epoch too
    with pytest.raises(KeyboardInterrupt):
        finetune(**settings, output_dir=tmp_path / "run", callbacks=[_StopAtTheSecondCheckpoint()])
    checkpoint = last_checkpoint(tmp_path / "run" / "checkpoints")
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    before = state["stateful_callbacks"]["TrainingClock"]["attributes"]["before"]
    assert round(state["epoch"]) == 2 and before > 1
    resumed = finetune(**settings, output_dir=tmp_path / "run", resume_from_checkpoint=True).metrics  # the newest
    assert resumed["epochs_run"] == 3 and resumed["resumed_from_step"] == 2 * 16 // BATCH
    assert resumed["train_seconds"] > before


def test_a_checkpoint_that_is_not_there_is_refused_before_training(tiny_model_dir, notes_csv, tmp_path):
    from sft_teach.errors import ConfigError
    from sft_teach.training import finetune

    with pytest.raises(ConfigError, match=r"resume_from_checkpoint=True: no complete checkpoint in .*empty/checkpoints/"):
        finetune(str(tiny_model_dir), str(notes_csv), output_dir=tmp_path / "empty", resume_from_checkpoint=True)
    with pytest.raises(ConfigError, match="'nowhere' is not a complete checkpoint"):
        finetune(str(tiny_model_dir), str(notes_csv), output_dir=tmp_path / "empty", resume_from_checkpoint="nowhere")


def test_python_resumes_only_the_interrupted_run(tiny_model_dir, notes_csv, tmp_path):
    """Resuming goes on with the run the checkpoint belongs to: other classes, other rows (each
    checkpoint keeps a hash of its splits) or a run that already finished are refused before any
    training, with one line; the same data resumes."""
    from sft_teach.errors import ConfigError, OutputExistsError
    from sft_teach.training import finetune

    settings = dict(model=str(tiny_model_dir), num_train_epochs=3, batch_size=BATCH, save_checkpoints=True,
                    progress=False, output_dir=tmp_path / "run")
    with pytest.raises(KeyboardInterrupt):
        finetune(**settings, data=str(notes_csv), callbacks=[_StopAtTheSecondCheckpoint()])
    other_rows = write_csv(tmp_path / "other.csv", GOOD[:-1] + [("Chased its tail in the rain.", "dog")])
    three = write_csv(tmp_path / "three.csv", GOOD + [(f"Hopped in the hutch, day {i}.", "rabbit") for i in range(10)])
    for data, message in ((other_rows, "was trained on other data (its splits' texts or labels differ"),
                          (three, "learned the classes cat, dog, and this data has cat, dog, rabbit")):
        with pytest.raises(ConfigError, match=re.escape(f"resume_from_checkpoint: checkpoint-8 {message}")):
            finetune(**settings, data=str(data), resume_from_checkpoint=True)
    assert finetune(**settings, data=str(notes_csv), resume_from_checkpoint=True).metrics["resumed_from_step"] == 8
    with pytest.raises(OutputExistsError, match=re.escape("holds a finished run (metrics.json): there is nothing to "
                                                          "resume; to train it again, drop resume_from_checkpoint")):
        finetune(**settings, data=str(notes_csv), resume_from_checkpoint=True)


def _staged(tmp_path, data="notes.csv", settings=None):
    """A staging folder as an interrupted run leaves it: its settings (``settings``, or a few of a run on
    ``data``) and one complete checkpoint, checkpoint-4."""
    from sft_teach.run_staging import prepare_staging

    staging = tmp_path / ".run.partial"
    settings = settings or {"data": data, "data_sha256": "sha256:abc", "epochs": 3.0}
    assert prepare_staging(staging, settings, resume=False) is None  # a new run: writes run.json, resumes nothing
    fake_checkpoint(staging / "checkpoints" / "checkpoint-4", json.dumps({"epoch": 1.0}))
    return staging, settings


def test_resume_compares_the_data_by_content_not_by_its_file_name(tmp_path):
    from sft_teach.run_staging import prepare_staging
    from sft_teach.errors import ConfigError

    staging, settings = _staged(tmp_path)
    moved = {**settings, "data": "../elsewhere/notes copy.csv"}  # the same bytes under another name
    assert prepare_staging(staging, moved, resume=True).name == "checkpoint-4"
    with pytest.raises(ConfigError, match="the data's content changed"):
        prepare_staging(staging, {**moved, "data_sha256": "sha256:def"}, resume=True)


def test_resume_with_no_complete_checkpoint_says_to_run_without_it(tmp_path):
    from sft_teach.run_staging import prepare_staging
    from sft_teach.errors import SftTeachError

    staging, settings = _staged(tmp_path)
    (staging / "checkpoints" / "checkpoint-4" / "optimizer.pt").unlink()
    with pytest.raises(SftTeachError, match=re.escape(
            "nothing to resume: no complete checkpoint in .run.partial/ (a run saves one after each epoch): run the "
            "command without --resume")):
        prepare_staging(staging, settings, resume=True)
    with pytest.raises(SftTeachError, match=re.escape(  # no interrupted run at all: said so, not "no checkpoint"
            "nothing to resume: no interrupted run of o3/ (its checkpoints would be in .o3.partial/): run the "
            "command without --resume")):
        prepare_staging(tmp_path / ".o3.partial", settings, resume=True)


def test_resume_without_the_interrupted_run_s_settings_says_to_start_again(tmp_path):
    from sft_teach.run_staging import prepare_staging
    from sft_teach.errors import SftTeachError

    staging, settings = _staged(tmp_path)
    for damage in ("", None):  # emptied, or deleted
        (staging / "run.json").write_text(damage) if damage is not None else (staging / "run.json").unlink()
        with pytest.raises(SftTeachError, match=re.escape(
                "cannot resume: .run.partial/run.json, the interrupted run's settings, is missing or damaged: "
                "drop --resume and pass --overwrite to start again")):
            prepare_staging(staging, settings, resume=True)


def test_a_second_run_into_the_same_output_is_refused_while_the_first_runs(tiny_model_dir, notes_csv, tmp_path,
                                                                           capsys, monkeypatch):
    """Two runs would share the staging folder: the second deleted the first's, which then crashed at
    the end with its model stranded. The lock dies with the process that holds it (kill -9 too)."""
    from sft_teach.run_lock import one_run_at_a_time

    monkeypatch.chdir(tmp_path)
    staging, _ = _staged(tmp_path)
    before = sorted(p.name for p in staging.rglob("*"))
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from sft_teach.run_lock import one_run_at_a_time\n"
        "with one_run_at_a_time(Path('run').absolute(), 'run'):\n"
        "    print('held', flush=True); time.sleep(60)")], cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        for extra in ((), ("--resume",), ("--overwrite",)):
            assert main(_command(tiny_model_dir, notes_csv, "run", *extra)) == 2
            assert capsys.readouterr().err == ("sft-teach: error: another sft-teach finetune is writing to 'run' now: "
                                               "wait until it has finished, or choose another --output\n")
        assert sorted(p.name for p in staging.rglob("*")) == before and not (tmp_path / "run").exists()
        # results there too: still "another run", not "an interrupted run left checkpoints: pass --resume"
        (tmp_path / "run" / "model").mkdir(parents=True)
        (tmp_path / "run" / "metrics.json").write_text("{}")
        assert main(_command(tiny_model_dir, notes_csv, "run")) == 2
        assert "another sft-teach finetune is writing to 'run' now" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    open_files = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    with one_run_at_a_time(tmp_path / "run", "run"):  # killed: its lock went with it
        assert (tmp_path / ".run.lock").is_file()
    assert not (tmp_path / ".run.lock").exists()  # and a run that ends removes the file
    if open_files is not None:  # and closes it: a notebook that runs main() again and again keeps no file open
        assert len(os.listdir("/proc/self/fd")) == open_files
    with one_run_at_a_time(tmp_path / "run", "run"):  # the next run takes it at once
        pass


def test_output_with_results_and_an_interrupted_run_names_both(tiny_model_dir, notes_csv, tmp_path, capsys,
                                                               monkeypatch):
    """An --overwrite run of a finished folder, interrupted: a plain rerun must not advise --overwrite
    alone, which would discard the checkpoint without a word."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run" / "model").mkdir(parents=True)
    (tmp_path / "run" / "metrics.json").write_text("{}")
    _staged(tmp_path)
    assert main(_command(tiny_model_dir, notes_csv, "run")) == 2
    assert capsys.readouterr().err == (
        "sft-teach: error: output folder 'run' already holds results, and an interrupted run left checkpoints in "
        ".run.partial/: pass --resume to continue that run (it then replaces them), --overwrite to start again, or "
        "choose another --output\n")


def test_a_run_stopped_between_the_two_renames_of_its_swap_is_named(tiny_model_dir, notes_csv, tmp_path, capsys,
                                                                    monkeypatch):
    """The old run moved aside, the new one not yet moved in: neither is in OUTPUT. A new run must
    not delete the two of them; it says where they are."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".run.old-4242" / "model").mkdir(parents=True)
    (tmp_path / ".run.partial" / "model").mkdir(parents=True)
    for extra in ((), ("--overwrite",), ("--resume",)):
        assert main(_command(tiny_model_dir, notes_csv, "run", *extra)) == 2
        assert capsys.readouterr().err == (
            "sft-teach: error: a run was stopped while it replaced 'run': the earlier run is in .run.old-4242/ and "
            "the new one in .run.partial/ (complete if it holds metrics.json), both beside it: rename the one to "
            "keep to 'run' and delete the other\n")
    assert (tmp_path / ".run.old-4242" / "model").is_dir() and (tmp_path / ".run.partial" / "model").is_dir()


def test_checkpoints_are_removed_so_that_a_kill_midway_leaves_none_that_looks_complete(tmp_path, monkeypatch):
    """A run deletes its checkpoints once it has finished; killed during the deletion, it used to leave
    a checkpoint with trainer_state.json but not its weights, which --resume then chose and failed on."""
    import shutil

    from sft_teach.checkpoints import remove

    folder = tmp_path / "checkpoints"
    fake_checkpoint(folder / "checkpoint-8", json.dumps({"epoch": 2.0}))

    def killed(path, *args, **kwargs):  # the process dies after the first file is gone
        next(Path(path).rglob("model.safetensors")).unlink()
        raise KeyboardInterrupt

    monkeypatch.setattr(shutil, "rmtree", killed)
    with pytest.raises(KeyboardInterrupt):
        remove(folder)
    assert not folder.exists() and last_checkpoint(folder) is None  # moved out of sight first, in one step
    leftover = next(tmp_path.glob(".checkpoints-removing-*"))
    assert (leftover / "checkpoint-8" / "trainer_state.json").is_file()  # what the kill left, out of sight
    monkeypatch.undo()
    fake_checkpoint(folder / "checkpoint-16")  # the next run's: removed, and what the kill left with them
    remove(folder)
    assert list(tmp_path.iterdir()) == []


def test_the_lock_is_held_on_the_file_that_is_there_not_one_just_deleted(tmp_path, monkeypatch):
    """A run that ends deletes its lock file while it still holds it. A second run that had opened
    the file a moment before would lock the deleted file, and a third create and lock a new one:
    both would write. The lock is taken again on the file that is there."""
    from sft_teach import run_lock
    from sft_teach.errors import OutputExistsError

    output = tmp_path / "run"
    lock = tmp_path / ".run.lock"
    real_open, opened = os.open, []

    def opened_just_before_the_delete(path, flags, *mode):
        fd = real_open(path, flags, *mode)
        if not opened:  # the run before us deletes it now, and the next run creates a new one
            os.unlink(path)
            os.close(real_open(path, os.O_RDWR | os.O_CREAT))
        opened.append(fd)
        return fd

    monkeypatch.setattr(run_lock.os, "open", opened_just_before_the_delete)
    with run_lock.one_run_at_a_time(output, "run"):
        assert len(opened) == 2 and os.fstat(opened[-1]).st_ino == os.stat(lock).st_ino
        monkeypatch.undo()
        with pytest.raises(OutputExistsError, match="another sft-teach finetune is writing to 'run' now"):
            run_lock.check_free(output, "run")  # a process of its own would be refused the same way


def test_a_checkpoint_whose_class_ids_are_swapped_is_not_resumed(tmp_path):
    # the same two classes with their ids the other way round: resumed, it would train on flipped labels
    from sft_teach.checkpoints import check_resumable
    from sft_teach.errors import ConfigError

    checkpoint = fake_checkpoint(tmp_path / "checkpoint-10")
    (checkpoint / "config.json").write_text(json.dumps({"id2label": {"0": "dog", "1": "cat"}}))
    with pytest.raises(ConfigError, match="learned the classes dog, cat, and this data has cat, dog"):
        check_resumable(checkpoint, "sha256:x", ["cat", "dog"], None, overwrite=False)
    (checkpoint / "config.json").write_text(json.dumps({"id2label": {"0": "cat", "1": "dog"}}))
    check_resumable(checkpoint, "sha256:x", ["cat", "dog"], None, overwrite=False)  # the same order: resumable
    finished = tmp_path / "run"
    finished.mkdir()
    (finished / "metrics.json").write_text("{}")
    check_resumable(checkpoint, "sha256:x", ["cat", "dog"], finished, overwrite=True)  # overwrite: train it again


def test_overwrite_says_it_discards_an_interrupted_run_s_checkpoint(tmp_path, capsys):
    """--overwrite starts again: the interrupted run's checkpoint goes when the new run starts, so that
    is said then, not left to an interruption's message (which once said 'nothing was overwritten')."""
    from sft_teach.run_staging import prepare_staging

    staging, settings = _staged(tmp_path)
    capsys.readouterr()
    assert prepare_staging(staging, settings, resume=False) is None
    assert capsys.readouterr().out == ("--overwrite: the interrupted run's checkpoint of epoch 1 in .run.partial/ is "
                                       "discarded; training starts again\n")
    assert not (staging / "checkpoints").exists()
    assert prepare_staging(staging, settings, resume=False) is None and capsys.readouterr().out == ""  # none left


def test_resume_compares_a_fine_tuned_model_by_what_it_came_from_not_where_its_folder_is(tmp_path):
    """A run continued from run1/model, interrupted, then resumed from a copy of run1 named run1b: the
    same model. Another base model is another run, and each change is listed apart (names hold commas)."""
    from sft_teach.run_staging import prepare_staging
    from sft_teach.errors import ConfigError

    settings = {"data": "notes.csv", "data_sha256": "sha256:abc", "model": "tiny, continued from run1/model",
                "epochs": 3.0}
    staging, _ = _staged(tmp_path, settings=settings)
    moved = {**settings, "model": "tiny, continued from run1b/model"}
    assert prepare_staging(staging, moved, resume=True) == staging / "checkpoints" / "checkpoint-4"
    other = {**settings, "model": "small, continued from run1/model", "epochs": 4.0}
    with pytest.raises(ConfigError, match=re.escape("but model tiny, continued from run1/model -> small, continued "
                                                    "from run1/model; epochs 3.0 -> 4.0:")):
        prepare_staging(staging, other, resume=True)
