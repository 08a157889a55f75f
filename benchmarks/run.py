"""Measure the course on this machine and write benchmarks/RESULTS.md.

    python benchmarks/run.py                      # every section, on the CPU
    python benchmarks/run.py --only throughput    # one section: finetune | course | accuracy | recipes | throughput
    python benchmarks/run.py --device cuda        # throughput and course on the GPU

Sections:
* finetune: wall time, peak memory and test accuracy of `sft-teach finetune` with its
  defaults (median of --repeats runs after one warm-up run);
* course: wall time and peak memory of executing each notebook top to bottom;
* throughput: training samples/s and real tokens/s of the classic recipe, the Hugging Face
  course recipe and this course's recipe on the same model, data and steps (benchmarks/throughput.py);
* accuracy: fine-tuning vs TF-IDF + logistic regression vs the same network from scratch on each
  bundled labelled dataset, all training examples, five seeds (sft_teach.experiments);
* recipes: `sft-teach finetune --recipe best` (the default: head first, then the best validation
  epoch) against `--recipe plain` (notebook 02), five seeds, on pets and clinic, paired per seed
  (benchmarks/recipes.py); every run's answers also go to benchmarks/results/recipes.json, which
  notebook 02 reads.

`--device cpu` (the default) measures on the CPU even where a GPU is present (the course's
target is a laptop); `--device cuda` measures the throughput and course sections on the first
GPU and writes them into the GPU part of RESULTS.md; without a GPU it stops with one line.

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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recipes  # noqa: E402  (benchmarks/recipes.py, next to this file)
import throughput  # noqa: E402  (benchmarks/throughput.py, next to this file)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTIONS = ("finetune", "course", "accuracy", "recipes", "throughput")  # in the order they run and appear in RESULTS.md
# The course's time budgets (seconds): 3 minutes a notebook, 4 for the academic and "beyond" ones, 15 in all
# (set when the course had fewer notebooks: the eight notebooks' own budgets sum to 28 minutes)
BUDGET = {"03": 240, "04": 240, "06": 240, "07": 240}
NOTEBOOK_BUDGET, COURSE_BUDGET = 180, 900
FINETUNE_BUDGET_S, FINETUNE_BUDGET_MIB = 60, 2560
GPU_SECTIONS = ("course", "throughput")  # the throughput headline prints last

# Runs `argv` as a child and prints its peak RSS in MiB (Linux reports ru_maxrss in KiB).
_PEAK = ("import resource, subprocess, sys\n"
         "code = subprocess.run(sys.argv[1:]).returncode\n"
         "print('PEAK_MIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, file=sys.stderr)\n"
         "sys.exit(code)\n")


def measure(argv, cwd=ROOT, device="cpu") -> dict:
    """Wall seconds, peak MiB and stdout of one command (on the CPU only, unless ``device`` is cuda)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""  # a GPU, if any, stays unused: the figures are the CPU's
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PEAK, *argv], cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    peak = float(done.stderr.rsplit("PEAK_MIB", 1)[1].split()[0])
    return {"seconds": seconds, "peak_mib": peak, "stdout": done.stdout}


def cpu() -> str:
    """The processor's model name (Linux's /proc/cpuinfo), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return (f"{cpu()}; {os.cpu_count()} cores; torch {torch.__version__} with {torch.get_num_threads()} threads; "
            f"GPU: {gpu}; Python {platform.python_version()}")


def speed() -> float:
    """GFLOP/s of a 1024 x 1024 float32 matrix product on torch's threads, the median of 5 rounds:
    how fast the machine runs now. The same machine has run the same work up to 1.8x slower on one
    day than on another (benchmarks/recipe_selection.md), so each section says how fast it was."""
    import torch

    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    for _ in range(3):  # warm-up: thread pool, caches
        a @ b
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(10):
            a @ b
        rounds.append(10 * 2 * 1024**3 / (time.perf_counter() - start) / 1e9)  # 2n^3 flops a product
    return statistics.median(rounds)


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
             f"{statistics.median(r['macro_f1'] for r in runs):.4f} |", "",
             f"Targets: at most {FINETUNE_BUDGET_S} s wall and {FINETUNE_BUDGET_MIB / 1024:.1f} GiB peak memory: "
             f"{_verdict(wall, FINETUNE_BUDGET_S, 's')}; {_verdict(peak, FINETUNE_BUDGET_MIB, 'MiB')}.", ""]
    return lines, f"finetune: {wall:.1f} s wall, {peak:.0f} MiB peak, test accuracy {accuracies[0]:.4f}"


def section_course(device="cpu", update=False) -> tuple[list[str], str]:
    """Execute each notebook alone in a child process and time it; ``update``: keep the executed
    notebooks (the committed ones are then re-executed and timed in one pass)."""
    rows, total, over, budgets = [], 0.0, 0, 0
    with tempfile.TemporaryDirectory() as scratch:
        for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
            copy = Path(scratch) / notebook.name
            copy.write_bytes(notebook.read_bytes())
            code = ("import sys; from sft_teach.course import run_notebook; "
                    f"run_notebook(sys.argv[1], write={update}, workdir=sys.argv[2])")
            result = measure([sys.executable, "-c", code, str(copy), str(notebook.parent)], cwd=notebook.parent,
                             device=device)
            budget = BUDGET.get(notebook.name[:2], NOTEBOOK_BUDGET)
            rows.append(f"| `{notebook.name}` | {result['seconds']:.0f} | {result['peak_mib']:.0f} | {budget} | "
                        f"{_verdict(result['seconds'], budget, 's')} |")
            total += result["seconds"]
            over, budgets = over + (result["seconds"] > budget), budgets + budget
            if update:
                notebook.write_bytes(copy.read_bytes())
    lines = ["## The course: each notebook executed top to bottom", "",
             "| notebook | wall time (s) | peak memory (MiB) | budget (s) | |", "| --- | --- | --- | --- | --- |", *rows,
             f"| **total** | **{total:.0f}** | | {COURSE_BUDGET} | {_verdict(total, COURSE_BUDGET, 's')} |", ""]
    if total > COURSE_BUDGET and not over:  # say why, since no notebook is over its own budget
        lines += [f"Every notebook is within its own budget, and the total is over the course's: the notebooks' "
                  f"budgets sum to {budgets} s, more than the {COURSE_BUDGET} s set for the whole course when it "
                  f"had fewer notebooks, so the two limits cannot both hold at their edges. Which one stands is "
                  f"a decision the figures cannot make.", ""]
    return lines, f"course: {total:.0f} s for {len(rows)} notebooks"


def section_throughput(repeats: int, device="cpu", steps=None, classic_steps=None,
                       accuracy_steps=None) -> tuple[list[str], str]:
    if classic_steps is None and device == "cpu":
        # a 512-token batch takes 10-20 s a step on a laptop CPU, and steps of one shape take alike long:
        # one timed step a round (after the untimed first), per-sample rates only
        classic_steps = 1
    summary = throughput.measure(device, repeats, steps=steps, classic_steps=classic_steps,
                                 accuracy_steps=accuracy_steps, log=lambda *a, **k: print(*a, **k, file=sys.stderr))
    return throughput.report(summary, device, repeats)


def _verdict(value: float, budget: float, unit: str) -> str:
    """'within budget' or exactly how far over it a measured value is."""
    if value <= budget:
        return "within budget"
    return f"**over by {value - budget:.0f} {unit} ({(value - budget) / budget:.0%})**"


def section_accuracy(seeds=(0, 1, 2, 3, 4)) -> tuple[list[str], str]:
    """The table, from runs also saved to benchmarks/results/accuracy.json (each run's answers item by item)."""
    import torch

    import academic  # benchmarks/academic.py: its save_record writes the file as it writes the sweeps'
    from sft_teach import bundled, data
    from sft_teach import experiments as ex
    from sft_teach.environment import quiet_libraries

    quiet_libraries()
    code, start, runs = academic.commit(), time.perf_counter(), []
    methods = {"fine-tuning (pretrained)": lambda d, s: ex.train_classifier(d, s),
               "same network from scratch": lambda d, s: ex.train_classifier(d, s, start="scratch"),
               "TF-IDF + logistic regression": ex.tfidf}
    rows, headline = [], []
    for name in bundled.bundled_datasets():
        dataset = data.load(name)
        for method, run in methods.items():
            scores = [run(dataset, seed) for seed in seeds]
            runs += [{"data": name, "method": method, "seed": seed, "accuracy": r["accuracy"], "macro_f1": r["macro_f1"],
                      "correct": r["correct"]} for seed, r in zip(seeds, scores)]
            acc = [r["accuracy"] for r in scores]
            f1 = [r["macro_f1"] for r in scores]
            rows.append(f"| {name} | {method} | {statistics.mean(acc):.3f} ± {statistics.stdev(acc):.3f} | "
                        f"{statistics.mean(f1):.3f} ± {statistics.stdev(f1):.3f} |")
            if method.startswith("fine-tuning"):
                headline.append(f"{name} {statistics.mean(acc):.3f}")
    academic.save_record("accuracy", "python benchmarks/run.py --only accuracy", runs, (time.perf_counter() - start) / 60,
                         f"{torch.get_num_threads()} thread(s)", dict(ex.ACADEMIC), code)
    settings = ", ".join(f"{k} {v}" for k, v in ex.ACADEMIC.items())
    lines = ["## Accuracy: fine-tuning vs a bag of words vs no pretraining", "",
             f"Every training example of each bundled dataset; test split; mean ± sample SD (ddof = 1) over seeds "
             f"{', '.join(map(str, seeds))} (every run, with its answers item by item: results/accuracy.json). The two networks share the settings of the academic notebooks "
             f"({settings}); \"from scratch\" is the same architecture with random weights.", "",
             "| data | method | test accuracy | test macro-F1 |", "| --- | --- | --- | --- |", *rows, ""]
    return lines, "accuracy: fine-tuned " + ", ".join(headline)


def gpu_not_measured() -> list[str]:
    """The GPU part when this run measured none: rows that say so, never estimates."""
    import torch

    why = ("not measured (no GPU on the machine that wrote this file)" if not torch.cuda.is_available() else
           "not measured (this run used the CPU: `python benchmarks/run.py --device cuda`)")
    rows = [f"| training throughput, {label} | {why} |" for label in throughput.RECIPES.values()]
    return ["## GPU", "", "`python benchmarks/run.py --device cuda` measures the throughput and course sections "
            "on a GPU and writes them here.", "", "| measurement | result |", "| --- | --- |", *rows,
            f"| the course: each notebook executed top to bottom | {why} |", ""]


def kept_block(previous: str, name: str) -> list[str] | None:
    """The lines of block ``name`` in the previous RESULTS.md, or ``None``."""
    if f"<!-- {name} -->" not in previous:
        return None
    return previous.split(f"<!-- {name} -->", 1)[1].split("<!-- end -->", 1)[0].strip("\n").splitlines()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=SECTIONS, action="append")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="cpu (default; a GPU stays unused) or cuda: throughput and course on the first GPU")
    parser.add_argument("--update-notebooks", action="store_true",
                        help="course: write the executed notebooks back to notebooks/ (re-execute and time in one pass)")
    parser.add_argument("--steps", type=int,
                        help="throughput: optimiser steps timed per run, after an untimed first (default: one epoch, 45)")
    parser.add_argument("--classic-steps", type=int,
                        help="throughput: steps timed for the classic recipe (default: 1 on the CPU, --steps on a GPU)")
    parser.add_argument("--accuracy-steps", type=int,
                        help="throughput: steps of the first round's runs, tested for accuracy (default: 3 epochs, 135)")
    args = parser.parse_args(argv)
    if args.device == "cuda":
        if set(args.only or ()) - set(GPU_SECTIONS):
            parser.error(f"--device cuda measures {' and '.join(GPU_SECTIONS)} only")
        # One GPU: on a machine with several, a single Trainer process would spread over all of them
        # (torch.nn.DataParallel) and the figures would not be one GPU's. Set before CUDA starts.
        os.environ.setdefault("CUDA_VISIBLE_DEVICES", "0")
        import torch

        if not torch.cuda.is_available():
            print("run.py: --device cuda needs a GPU and this machine has none (torch.cuda.is_available() is "
                  "False): run without --device cuda to measure on the CPU", file=sys.stderr)
            return 2
    available = GPU_SECTIONS if args.device == "cuda" else SECTIONS
    sections = [name for name in available if name in (args.only or SECTIONS)]
    previous = RESULTS.read_text() if RESULTS.exists() else ""
    today = datetime.date.today().isoformat()
    blocks, gpu = {}, []
    for name in sections:
        before = speed()
        if name == "finetune":
            lines, headline = section_finetune(args.repeats)
        elif name == "course":
            lines, headline = section_course(args.device, update=args.update_notebooks)
        elif name == "accuracy":
            lines, headline = section_accuracy()
        elif name == "recipes":
            lines, headline = recipes.section_recipes()
        else:
            lines, headline = section_throughput(args.repeats, args.device, args.steps, args.classic_steps,
                                                 args.accuracy_steps)
        if args.device == "cuda":
            gpu += ["#" + lines[0], *lines[1:]]  # a subsection of "GPU"
        else:
            # each section names its machine: sections re-measured alone may come from another one
            blocks[name] = [lines[0], "", f"Measured {today} on: {machine()}. Machine speed (a 1024 x 1024 "
                            f"matrix product): {before:.0f} GFLOP/s before this section, {speed():.0f} after.",
                            *lines[1:]]
        print(headline, flush=True)
    # keep the sections that were not re-measured, as they were
    for name in SECTIONS:
        if name not in blocks and kept_block(previous, name):
            blocks[name] = kept_block(previous, name)
    if gpu:
        blocks["gpu"] = ["## GPU", "", f"Measured {today} on: {machine()}.", "", *gpu]
    else:
        kept = kept_block(previous, "gpu")
        blocks["gpu"] = kept if kept and not any("not measured" in line for line in kept) else gpu_not_measured()
    out = ["# Benchmarks", "", "Written by `python benchmarks/run.py`; do not edit by hand. Each section names "
           "the machine it was measured on (and, where it says, how fast that machine ran then); compare figures "
           "across sections as ratios, not seconds.", ""]
    for name in (*SECTIONS, "gpu"):
        if name in blocks:
            out += [f"<!-- {name} -->", *blocks[name], "<!-- end -->", ""]
    RESULTS.write_text("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
