"""The notebooks' full sweeps, too long to run inside a notebook.

    python benchmarks/academic.py                           # every sweep (about 3 hours on 1 core)
    python benchmarks/academic.py --only ablation --jobs 2  # one sweep, two processes
    # sweeps: layers | ablation | efficiency | lora | lora_forgetting | recipe_lr

``--jobs 2`` runs a sweep's pieces (for the ablation: each configuration at each budget) in two
processes with one torch thread each, the fastest way on 2 cores (never more torch threads than
cores in all: oversubscribed threads spin and slow everything). The rows are the same either way.

The clinic sweeps (10 desks) are functions of ``sft_teach.experiments`` with the settings in
``sft_teach.experiments.ACADEMIC`` and five seeds (``SEEDS``); for the ablation and the
fine-tuning runs of the efficiency curve, each configuration's peak learning rate is chosen on
the validation split (``LEARNING_RATES``, one step higher with discriminative rates). ``lora``
(notebook 06) and ``recipe_lr`` (notebook 02) run on the pets notes. Each sweep's rows (with
every run's right/wrong answer per test item) are written to ``benchmarks/results/<sweep>.json``
with the machine, the date, the commit, the library versions, the settings and the command that
regenerates it. The notebooks run a small live version of each sweep and load these files for the
full one.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from sft_teach import lora

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import cpu  # noqa: E402  (benchmarks/run.py, next to this file: the name RESULTS.md gives the machine)

RESULTS = Path(__file__).resolve().parent / "results"

# Each sweep is a list of pieces (functions of the clinic and pets data returning rows), so that
# `--jobs 2` can run them in two processes; the rows come back in the pieces' order either way.
SWEEPS = {
    # Yosinski et al. 2014, Figure 2: kept pretrained blocks n = 0..6, frozen vs fine-tuned (one rate, 3e-4)
    "layers": lambda ex: [lambda clinic, pets: ex.layer_transfer(clinic, per_class=16, kept=range(7), seeds=ex.SEEDS)],
    # ULMFiT's techniques, one at a time and together, and the length control for gradual
    # unfreezing, at a small and a larger label budget, each at its rate chosen on validation
    "ablation": lambda ex: [lambda clinic, pets, b=budget, n=name, c=config: ex.ablation(
        clinic, per_class_budgets=(b,), seeds=ex.SEEDS, configs={n: c}, tune=True)
        for budget in (8, 32) for name, config in ex.ablation_configs().items()],
    # ULMFiT's Figure 3: accuracy against labelled examples per class
    "efficiency": lambda ex: [lambda clinic, pets: ex.sample_efficiency(
        clinic, per_class_budgets=(4, 8, 16, 32, None), seeds=ex.SEEDS, learning_rates=ex.LEARNING_RATES)],
    # notebook 06 (on the pets notes, not the clinic data): full fine-tuning, LoRA r = 1, 4, 16 at one alpha
    # and the head alone, each seed on the recipe's settings (sft_teach.lora.compare)
    "lora": lambda ex: [lambda clinic, pets: lora.sweep(seeds=ex.SEEDS)],
    # notebook 06, section 8: what full fine-tuning and LoRA r = 4 (merged) leave of the paraphrase skill
    "lora_forgetting": lambda ex: [lambda clinic, pets: lora.forgetting_sweep(seeds=ex.SEEDS)],
    # notebook 02 (pets): the recipe's peak learning rate, chosen on the validation split
    "recipe_lr": lambda ex: [lambda clinic, pets, r=rate: ex.recipe_learning_rates(pets, learning_rates=(r,))
                             for rate in ex.RECIPE_LEARNING_RATES],
}


def settings(name: str, ex) -> dict:
    """What a sweep's runs were trained with, for its record."""
    if name == "lora":  # the recipe's settings on pets (sft_teach.training.finetune), not the clinic's
        return {"data": "pets", "num_train_epochs": 3, "batch_size": 16, "seeds": list(ex.SEEDS),
                "learning_rate": {"full fine-tuning": 1e-4, "LoRA and head only": 1e-3}, "lora_alpha": lora.ALPHA,
                "ranks": [1, 4, 16]}
    if name == "lora_forgetting":  # the same runs as lora's full fine-tuning and rank 4, scored on paraphrases
        return {"data": "pets", "num_train_epochs": 3, "batch_size": 16, "seeds": list(ex.SEEDS),
                "learning_rate": {"full fine-tuning": 1e-4, "LoRA": 1e-3}, "lora_alpha": lora.ALPHA, "ranks": [4],
                "scored_on": "the paraphrase pairs (sft_teach.forgetting.paraphrase_scores)"}
    if name == "recipe_lr":
        return {"data": "pets", "num_train_epochs": 3, "batch_size": 16, "warmup": 0.1, "weight_decay": 0.01,
                "seeds": list(ex.RECIPE_SEEDS), "learning_rates": list(ex.RECIPE_LEARNING_RATES)}
    base = {"data": "clinic", **ex.ACADEMIC, "seeds": list(ex.SEEDS)}
    if name == "layers":  # one rate for every run, no choice
        return base
    base.pop("learning_rate")  # chosen per configuration on validation
    if name == "ablation":
        return {**base, "learning_rates": list(ex.LEARNING_RATES),
                "learning_rates_with_discriminative": list(ex.DISCRIMINATIVE_LEARNING_RATES),
                "selection_seeds": list(ex.SELECTION_SEEDS), "length_control": ex.LENGTH_CONTROL}
    return {**base, "learning_rates": list(ex.LEARNING_RATES), "selection_seeds": list(ex.SELECTION_SEEDS)}


def _run_piece(name: str, index: int) -> list:
    """One piece of a sweep, in a worker process (one torch thread)."""
    import torch

    from sft_teach import data
    from sft_teach import experiments as ex
    from sft_teach.environment import quiet_libraries

    torch.set_num_threads(1)
    quiet_libraries()
    return SWEEPS[name](ex)[index](data.load("clinic"), data.load("pets"))


def commit() -> str:
    """The code's commit, marked ``-dirty`` when tracked files differ from it ("unknown" outside git)."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def versions() -> dict:
    """The libraries a sweep's numbers depend on."""
    from sft_teach.environment import versions as all_versions

    return {k: v for k, v in all_versions().items()
            if k in ("python", "sft-teach", "torch", "transformers", "datasets", "scikit-learn", "numpy")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SWEEPS), action="append", help="run only this sweep (repeatable)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="processes, one torch thread each (at most the number of cores; default 1)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.jobs > 1:  # set before torch starts its thread pool, inherited by the workers
        os.environ["OMP_NUM_THREADS"] = "1"
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

    import torch

    from sft_teach import experiments as ex

    code = commit()  # now, before anyone edits the tree during an hour-long sweep
    RESULTS.mkdir(exist_ok=True)
    for name in args.only or list(SWEEPS):
        start = time.perf_counter()
        count = len(SWEEPS[name](ex))
        if args.jobs > 1 and count > 1:
            from concurrent.futures import ProcessPoolExecutor
            from multiprocessing import get_context

            with ProcessPoolExecutor(min(args.jobs, count), mp_context=get_context("spawn")) as pool:
                pieces = list(pool.map(_run_piece, [name] * count, range(count)))
            threads = f"{min(args.jobs, count)} processes with 1 thread each"
        else:
            clinic, pets = _data()
            pieces = [piece(clinic, pets) for piece in SWEEPS[name](ex)]
            threads = f"{torch.get_num_threads()} thread(s)"
        rows = [row for piece in pieces for row in piece]
        minutes = (time.perf_counter() - start) / 60
        save_record(name, f"python benchmarks/academic.py --only {name}", rows, minutes, threads,
                    settings(name, ex), code)
        print(f"{name}: {len(rows)} runs in {minutes:.1f} min -> benchmarks/results/{name}.json", flush=True)


def save_record(name: str, command: str, rows: list[dict], minutes: float, threads: str, settings: dict,
                code: str) -> None:
    """``benchmarks/results/<name>.json``: the rows and how they were made (``sft_teach.experiments.load_sweep`` reads it)."""
    import torch

    record = {"sweep": name, "command": command,
              "date": datetime.date.today().isoformat(), "minutes": round(minutes, 1),
              "machine": f"{cpu()}, {os.cpu_count()} cores, torch {torch.__version__} with {threads}",
              "commit": code, "versions": versions(), "settings": settings, "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")


def _data():
    from sft_teach import data
    from sft_teach.environment import quiet_libraries

    quiet_libraries()
    return data.load("clinic"), data.load("pets")


if __name__ == "__main__":
    main()
