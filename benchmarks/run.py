"""Measure the course on this machine and write benchmarks/RESULTS.md.

    python benchmarks/run.py                      # every section
    python benchmarks/run.py --only finetune      # one section: finetune | course

Sections:
* finetune: wall time, peak memory and test accuracy of `sft-teach finetune` with its
  defaults (median of --repeats runs after one warm-up run);
* course: wall time and peak memory of executing each notebook top to bottom.

Peak memory is the largest resident set size of the measured process tree (``ru_maxrss``
of a fresh child process that runs the command). Every figure is measured, never typed in.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"

# Runs `argv` as a child and prints its peak RSS in MiB (Linux reports ru_maxrss in KiB).
_PEAK = ("import resource, subprocess, sys\n"
         "code = subprocess.run(sys.argv[1:]).returncode\n"
         "print('PEAK_MIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, file=sys.stderr)\n"
         "sys.exit(code)\n")


def measure(argv, cwd=ROOT) -> dict:
    """Wall seconds, peak MiB and stdout of one command."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PEAK, *argv], cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    peak = float(done.stderr.rsplit("PEAK_MIB", 1)[1].split()[0])
    return {"seconds": seconds, "peak_mib": peak, "stdout": done.stdout}


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return (f"{cpu}; {os.cpu_count()} cores; torch {torch.__version__} with {torch.get_num_threads()} threads; "
            f"GPU: {gpu}; Python {platform.python_version()}")


def section_finetune(repeats: int) -> tuple[list[str], str]:
    cli = [sys.executable, "-m", "sft_teach.cli", "finetune", "--overwrite", "--quiet"]
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        for i in range(repeats + 1):  # the first run warms the disk cache and is not counted
            result = measure([*cli, "--output", str(Path(scratch) / "out")])
            final = json.loads(result["stdout"].strip().splitlines()[-1])
            if i:
                runs.append({**result, **final})
    wall = statistics.median(r["seconds"] for r in runs)
    peak = statistics.median(r["peak_mib"] for r in runs)
    train = statistics.median(r["train_seconds"] for r in runs)
    accuracies = sorted({round(r["accuracy"], 4) for r in runs})
    lines = ["## `sft-teach finetune` (defaults: bundled model, pets, 3 epochs)", "",
             f"Median of {repeats} runs after a warm-up run.", "",
             "| wall time (s) | of which training (s) | peak memory (MiB) | test accuracy | test macro-F1 |",
             "| --- | --- | --- | --- | --- |",
             f"| {wall:.1f} | {train:.1f} | {peak:.0f} | {', '.join(f'{a:.4f}' for a in accuracies)} | "
             f"{statistics.median(r['macro_f1'] for r in runs):.4f} |", ""]
    return lines, f"finetune: {wall:.1f} s wall, {peak:.0f} MiB peak, test accuracy {accuracies[0]:.4f}"


def section_course() -> tuple[list[str], str]:
    rows, total = [], 0.0
    with tempfile.TemporaryDirectory() as scratch:
        for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
            copy = Path(scratch) / notebook.name
            copy.write_bytes(notebook.read_bytes())
            code = ("import sys; from sft_teach.course import run_notebook; "
                    "run_notebook(sys.argv[1], write=False)")
            result = measure([sys.executable, "-c", code, str(copy)], cwd=notebook.parent)
            rows.append(f"| `{notebook.name}` | {result['seconds']:.0f} | {result['peak_mib']:.0f} |")
            total += result["seconds"]
    lines = ["## The course: each notebook executed top to bottom", "",
             "| notebook | wall time (s) | peak memory (MiB) |", "| --- | --- | --- |", *rows,
             f"| **total** | **{total:.0f}** | |", ""]
    return lines, f"course: {total:.0f} s for {len(rows)} notebooks"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["finetune", "course"], action="append")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    sections = args.only or ["finetune", "course"]
    previous = RESULTS.read_text() if RESULTS.exists() else ""
    blocks = {}
    for name in sections:
        lines, headline = section_finetune(args.repeats) if name == "finetune" else section_course()
        blocks[name] = [lines[0], "", f"Measured {datetime.date.today().isoformat()} on the machine below.", *lines[1:]]
        print(headline, flush=True)
    # keep the sections that were not re-measured, as they were
    for name in ("finetune", "course"):
        if name not in blocks and f"<!-- {name} -->" in previous:
            kept = previous.split(f"<!-- {name} -->", 1)[1].split("<!-- end -->", 1)[0].strip("\n").splitlines()
            blocks[name] = kept
    out = ["# Benchmarks", "", "Written by `python benchmarks/run.py`; do not edit by hand.", "",
           f"Machine: {machine()}.", ""]
    for name in ("finetune", "course"):
        if name in blocks:
            out += [f"<!-- {name} -->", *blocks[name], "<!-- end -->", ""]
    RESULTS.write_text("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
