"""Test-wide settings: the hub is unreachable, and nbval ignores stderr.

nbval (``--nbval-lax``) compares the outputs of cells marked ``# NBVAL_CHECK_OUTPUT``.
Warnings and progress bars go to stderr and differ from run to run and from machine
to machine, so they are dropped from both sides before the comparison.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

try:
    import nbval.plugin as _nbval
except ImportError:  # nbval is part of the test extra
    _nbval = None

if _nbval is not None:
    _compare_outputs = _nbval.IPyNbCell.compare_outputs

    def _without_stderr(outputs):
        return [o for o in outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]

    def compare_outputs(self, test, ref, skip_compare=None):
        return _compare_outputs(self, _without_stderr(test), _without_stderr(ref), skip_compare)

    _nbval.IPyNbCell.compare_outputs = compare_outputs


# ---- test tiers ------------------------------------------------------------------------------
# `pytest` runs everything (CI does). While working, the quick tier runs in about two minutes:
#     pytest -m "not notebook and not browser and not slow"
# `notebook` and `browser` are applied here, by where a test lives; `slow` is written on the
# tests themselves (real training runs, subprocesses, resumed runs).

def pytest_collection_modifyitems(config, items):
    import pytest

    for item in items:
        path = str(getattr(item, "path", item.fspath))
        if path.endswith(".ipynb"):
            item.add_marker(pytest.mark.notebook)
        elif path.endswith("test_browser.py"):
            item.add_marker(pytest.mark.browser)
