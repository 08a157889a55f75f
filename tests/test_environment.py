"""sft_teach.environment: quiet_libraries (what it changes, and that it changes it once), doctor, processes, first_process."""

import importlib.metadata
import warnings

import datasets
import pytest
from transformers.utils import logging as hf_logging

from sft_teach.environment import quiet_libraries
from sft_teach.errors import SftTeachWarning


@pytest.fixture
def restored(monkeypatch):
    """quiet_libraries changes process-wide settings: put them back after the test."""
    monkeypatch.setattr(warnings, "formatwarning", warnings.formatwarning)
    verbosity, bars = hf_logging.get_verbosity(), datasets.is_progress_bar_enabled()
    hf_bars = hf_logging.is_progress_bar_enabled()
    with warnings.catch_warnings():
        yield
    hf_logging.set_verbosity(verbosity)
    (datasets.enable_progress_bars if bars else datasets.disable_progress_bars)()
    (hf_logging.enable_progress_bar if hf_bars else hf_logging.disable_progress_bar)()


def test_the_libraries_bars_and_notices_are_turned_off(restored):
    datasets.enable_progress_bars()
    hf_logging.enable_progress_bar()
    hf_logging.set_verbosity_info()
    quiet_libraries()
    assert not datasets.is_progress_bar_enabled() and not hf_logging.is_progress_bar_enabled()
    assert hf_logging.get_verbosity() == hf_logging.ERROR  # warnings and info notices hidden, errors shown


def test_the_course_warnings_print_as_one_line_without_the_cell_prefix(restored):
    quiet_libraries()
    wrapped = warnings.formatwarning
    quiet_libraries()  # the notebooks may call it again: wrapped once, not twice
    assert warnings.formatwarning is wrapped
    assert wrapped("train: 1 text longer", SftTeachWarning, "/tmp/ipykernel/1.py", 9) == (
        "SftTeachWarning: train: 1 text longer\n")
    # every other warning keeps Python's own form, with the place it came from
    assert wrapped("other", UserWarning, "/tmp/ipykernel/1.py", 9, line="").startswith(
        "/tmp/ipykernel/1.py:9: UserWarning: other")


def test_in_a_notebook_the_course_warnings_break_between_words(restored, monkeypatch):
    from sft_teach import environment

    quiet_libraries()
    message = ("train: 1 text longer than max_length=128 tokens (longest 226: 'Hello, forwarding the whole "
               "thread becau…') will be truncated: its end is never seen; raise --max-length (max_length= in "
               "Python) if it matters; see /a/folder/name/longer/than/a/line/" + "x" * 100)
    said = f"SftTeachWarning: {message}"
    assert warnings.formatwarning(message, SftTeachWarning, "f.py", 1) == said + "\n"  # a terminal: one line
    monkeypatch.setattr(environment, "in_a_notebook", lambda: True)
    lines = warnings.formatwarning(message, SftTeachWarning, "f.py", 1).splitlines()
    assert len(lines) == 4 and all(line.startswith("  ") for line in lines[1:])
    assert all(len(line) <= environment.NOTEBOOK_WIDTH for line in lines[:-1])
    assert lines[-1] == "  /a/folder/name/longer/than/a/line/" + "x" * 100  # a path is never cut
    assert " ".join(line.strip() for line in lines) == said  # every word kept, in order, broken at spaces only
    assert "(max_length=" in " ".join(lines) and "--max-length" in " ".join(lines)  # nor at a hyphen


def test_a_notebook_is_a_jupyter_kernel_not_a_script_or_a_terminal(monkeypatch):
    import sys
    import types

    from sft_teach.environment import in_a_notebook

    assert not in_a_notebook()  # pytest: no IPython shell
    kernel = type("ZMQInteractiveShell", (), {})()
    terminal = type("TerminalInteractiveShell", (), {})()
    for shell, expected in ((kernel, True), (terminal, False), (None, False)):
        monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda shell=shell: shell))
        assert in_a_notebook() is expected


_VERSION = importlib.metadata.version  # the real one, whatever a test has patched


def _without(monkeypatch, *absent):
    """importlib.metadata as if the packages ``absent`` were not installed."""
    from sft_teach import environment

    def version(name):
        if name in absent:
            raise environment.metadata.PackageNotFoundError(name)
        return _VERSION(name)

    monkeypatch.setattr(environment.metadata, "version", version)


def test_a_missing_package_is_named_and_doctor_exits_1_but_sft_teach_itself_may_be_missing(monkeypatch, capsys):
    """sft-teach run from a clone without pip install is not a distribution: the course still runs."""
    from sft_teach import environment
    from sft_teach.cli import main

    _without(monkeypatch, "peft", "sft-teach")
    found = environment.versions()
    assert found["peft"] == found["sft-teach"] == "missing"
    info = environment.report()
    assert info["missing"] == ["peft"] and info["ok"] is False
    assert "peft" not in info["drift"]  # missing is not a version that differs
    assert main(["doctor"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "not ready: missing peft"
    _without(monkeypatch, "sft-teach")
    assert environment.report()["ok"] is True


def test_the_pins_come_from_the_wheel_s_copy_first_and_read_names_as_pip_gives_them(monkeypatch, tmp_path):
    from sft_teach import environment

    package = tmp_path / "sft_teach"
    package.mkdir()
    (tmp_path / "constraints.txt").write_text("torch==1.0.0\n")  # a clone's, beside the package
    (package / "_constraints.txt").write_text("# executed with\ntorch==2.13.0  # the CPU build\n"
                                              "Typing_Extensions==4.15.0\nnot a pin\n")
    monkeypatch.setattr(environment, "__file__", str(package / "environment.py"))
    assert environment.constraints_file() == package / "_constraints.txt"
    assert environment.executed_with() == {"torch": "2.13.0", "typing-extensions": "4.15.0"}
    (package / "_constraints.txt").unlink()
    assert environment.executed_with() == {"torch": "1.0.0"}


def test_the_device_is_cuda_when_torch_sees_a_gpu(monkeypatch):
    import torch

    from sft_teach import environment

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: "NVIDIA H100")
    assert environment.device()["device"] == "cuda" and environment.device()["gpu"] == "NVIDIA H100"


def test_the_bundled_model_s_size_is_given_in_mib():
    import os

    from sft_teach import environment
    from sft_teach.models import bundled_model_path

    size = os.stat(bundled_model_path() / "model.safetensors").st_size
    model = environment.bundled_model()
    assert model["weights_mb"] == round(size / 2**20, 1) and 50 < model["weights_mb"] < 150  # 22.7 M float32 weights


def test_without_the_bundled_model_doctor_is_not_ready(monkeypatch, capsys):
    from sft_teach import environment
    from sft_teach.cli import main

    monkeypatch.setattr(environment, "bundled_model",
                        lambda: {"name": "all-MiniLM-L6-v2", "found": False, "problem": "not installed"})
    assert environment.report()["ok"] is False
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "NOT FOUND" in out and out.splitlines()[-1] == "not ready: missing the bundled model"


@pytest.mark.parametrize("value, expected", [(None, 1), ("1", 1), ("2", 2), (" 4 ", 4), ("0", 1), ("", 1), ("two", 1),
                                             ("\u00b2", 1)])
def test_processes_counts_those_torchrun_started_together_and_one_otherwise(value, expected, monkeypatch):
    from sft_teach.environment import processes

    if value is None:
        monkeypatch.delenv("WORLD_SIZE", raising=False)
    else:
        monkeypatch.setenv("WORLD_SIZE", value)
    assert processes() == expected


@pytest.mark.parametrize("rank, world, expected", [(None, "2", True), ("0", "2", True), ("1", "2", False),
                                                   (" 3 ", "4", False), ("", "2", True), ("1", None, True)])
def test_first_process_is_rank_zero_or_a_process_run_alone(rank, world, expected, monkeypatch):
    from sft_teach.environment import first_process

    for name, value in (("RANK", rank), ("WORLD_SIZE", world)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert first_process() is expected
