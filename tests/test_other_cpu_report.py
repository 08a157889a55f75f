"""The other-CPU report of .ci/other_cpu.py finds exactly the checked cells whose output moved."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "other_cpu.py"


def load_script():
    spec = importlib.util.spec_from_file_location("other_cpu", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def notebook(*cells):
    """Code cells from ``(source, stdout, stderr)`` triples."""
    nb = new_notebook()
    for source, stdout, stderr in cells:
        outputs = [new_output("stream", name="stdout", text=stdout)]
        if stderr:
            outputs.append(new_output("stream", name="stderr", text=stderr))
        nb.cells.append(new_code_cell(source, outputs=outputs))
    return nbformat.from_dict(nb)


def test_only_checked_cells_with_other_stdout_are_reported():
    report = load_script()
    committed = notebook(("# NBVAL_CHECK_OUTPUT\nprint(loss)", "loss 5.07\n", ""),
                         ("print(seconds)", "45 s\n", ""),
                         ("# NBVAL_CHECK_OUTPUT\nprint(n)", "340 pairs\n", "a warning\n"))
    executed = notebook(("# NBVAL_CHECK_OUTPUT\nprint(loss)", "loss 5.10\n", ""),
                        ("print(seconds)", "61 s\n", ""),  # unchecked: may differ
                        ("# NBVAL_CHECK_OUTPUT\nprint(n)", "340 pairs\n", "another warning\n"))  # stderr is ignored
    assert report.moved_cells(committed, executed) == [(0, "loss 5.07\n", "loss 5.10\n")]
    assert report.moved_cells(committed, committed) == []


def test_the_settings_change_threads_and_only_add_an_instruction_set_that_differs():
    script = load_script()
    assert script.other_cpu_env()["OMP_NUM_THREADS"] == "1"
    avx512 = script.other_cpu_env("flags : fpu sse2 avx avx2 fma avx512f avx512bw\n")
    assert avx512["ATEN_CPU_CAPABILITY"] == "avx2" and avx512["MKL_CBWR"] == "AVX2"
    avx2_only = script.other_cpu_env("flags : fpu sse2 avx avx2 fma\n")
    assert avx2_only == {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # AVX2 kernels would change nothing


def test_notebook_times_are_read_from_the_benchmark_table():
    seconds = load_script().committed_seconds()
    assert "07_instruction_sft.ipynb" in seconds and all(s > 0 for s in seconds.values())
