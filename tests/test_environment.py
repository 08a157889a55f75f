"""sft_teach.environment.quiet_libraries: what it changes, and that it changes it once."""

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
