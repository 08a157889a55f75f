"""Run notebooks as "another CPU" would and report the checked figures that move.

nbval compares every cell marked ``# NBVAL_CHECK_OUTPUT`` with the committed notebook. A
figure that comes out of training can depend on the machine: the thread count and the CPU's
vector width (AVX-512, AVX2) decide in which order floating-point numbers are summed, and a
training run amplifies the last-bit differences. Such a check passes on the machine that
executed the notebook and fails on a learner's. This script surfaces those checks first: it
executes notebooks in a kernel with one thread (``OMP_NUM_THREADS=1``) and, where the CPU has
AVX-512, with ATen's and MKL's AVX2 kernels (``ATEN_CPU_CAPABILITY=avx2``, ``MKL_CBWR=AVX2``),
then prints, for every checked cell whose output differs from the committed one, the cell index
and both outputs, line by line.

It is report-only (exit code 0 when outputs differ): a figure that moves is a finding for the
notebook's author to handle (a shipped checkpoint, a coarser precision, an unchecked cell), not
a broken build. A notebook that raises, though, is a bug on every machine, and fails (exit 1).

Cost: a second execution of every notebook with one thread would take about 20 minutes on a
2-core machine, which CI (about 19 minutes for install and tests) cannot afford within its
40 minutes. So the notebooks run in the order given until ``--budget`` seconds are spent: a
notebook starts only if twice its time in benchmarks/RESULTS.md (2 threads there, 1 here) still
fits. CI runs the notebooks that train from random weights first. ``--budget 0`` runs them all.

    python .ci/other_cpu.py [--budget SECONDS] [notebooks/NAME.ipynb ...]
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECK = "# NBVAL_CHECK_OUTPUT"


def other_cpu_env(flags: str | None = None) -> dict[str, str]:
    """Settings that change the floating-point kernels torch picks, without changing the code.

    ``flags``: the CPU's feature flags (default: read from /proc/cpuinfo).
    """
    env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    if flags is None:
        flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    if " avx512f" in flags and " avx2" in flags:  # on an AVX2-only CPU these would change nothing
        env.update(ATEN_CPU_CAPABILITY="avx2", MKL_CBWR="AVX2")
    return env


def text_of(cell) -> str:
    """A cell's output as text: stdout, plain-text results and errors (stderr is ignored, as in
    conftest.py). nbval also compares a result's HTML or Markdown form; checked cells print text."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            parts.append(out.get("text", ""))
        elif out.get("output_type") in ("execute_result", "display_data"):
            parts.append(str(out.get("data", {}).get("text/plain", "")) + "\n")
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}\n")
    return "".join(parts)


def moved_cells(committed, executed) -> list[tuple[int, str, str]]:
    """``(index, committed text, new text)`` of every checked cell whose output differs."""
    moved = []
    for index, (old, new) in enumerate(zip(committed.cells, executed.cells)):
        if old.cell_type == "code" and CHECK in old.source and text_of(old) != text_of(new):
            moved.append((index, text_of(old), text_of(new)))
    return moved


def committed_seconds() -> dict[str, float]:
    """Each notebook's wall time on 2 threads, from the table in benchmarks/RESULTS.md."""
    results = ROOT / "benchmarks" / "RESULTS.md"
    if not results.is_file():
        return {}
    rows = re.findall(r"^\| `(\d\d_\w+\.ipynb)` \| (\d+(?:\.\d+)?) \|", results.read_text(), flags=re.M)
    return {name: float(seconds) for name, seconds in rows}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="default: every notebook in notebooks/")
    parser.add_argument("--budget", type=float, default=0, help="seconds to spend at most (0: no limit)")
    args = parser.parse_args(argv)

    import nbformat

    from sft_teach.course import NotebookFailed, run_notebook

    env = other_cpu_env()
    os.environ.update(env)  # inherited by the kernels started below, not by this process's torch
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print("other CPU:", " ".join(f"{k}={v}" for k, v in env.items()))
    notebooks = [Path(p) for p in args.notebooks] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    expected = committed_seconds()
    start, failed, moved_total = time.perf_counter(), [], 0
    for path in notebooks:
        elapsed = time.perf_counter() - start
        estimate = 2 * expected.get(path.name, 240)  # one thread instead of two; unknown: the largest budget
        if args.budget and elapsed + estimate > args.budget:
            print(f"{path.name}: skipped, {estimate:.0f} s expected and {args.budget - elapsed:.0f} s of the budget left")
            continue
        committed = nbformat.read(path, as_version=4)
        try:
            executed, seconds = run_notebook(path, write=False)
        except NotebookFailed as exc:
            print(f"{path.name}: FAILED under the other-CPU settings: {exc}")
            failed.append(path.name)
            continue
        moved = moved_cells(committed, executed)
        moved_total += len(moved)
        checked = sum(c.cell_type == "code" and CHECK in c.source for c in committed.cells)
        print(f"{path.name}: {seconds:.0f} s, {len(moved)} of {checked} checked cells moved")
        for index, old, new in moved:
            print(f"  cell {index}:")
            for line in difflib.unified_diff(old.splitlines(), new.splitlines(), "committed", "other CPU", lineterm="", n=0):
                if not line.startswith("@@"):
                    print(f"    {line}")
    print(f"other-CPU report: {moved_total} checked cells moved, {len(failed)} notebooks failed, "
          f"{time.perf_counter() - start:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
