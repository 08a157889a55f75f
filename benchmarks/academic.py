"""The academic notebooks' full sweeps, too long to run inside a notebook.

    python benchmarks/academic.py                    # every sweep (about 1.5 hours on 2 CPU cores)
    python benchmarks/academic.py --only ablation    # one sweep: layers | ablation | efficiency

Two sweeps can run side by side, one core each: ``OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE python
benchmarks/academic.py --only ablation & OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE python
benchmarks/academic.py --only efficiency --only layers`` (never more torch threads than cores in
all: oversubscribed threads spin and slow everything).

Each sweep is a function of ``sft_teach.experiments`` run on the clinic data (10 desks) with
the settings in ``sft_teach.experiments.ACADEMIC``, five seeds (``SEEDS``), and, for the ablation
and the fine-tuning runs of the efficiency curve, each configuration's peak learning rate chosen
on the validation split from ``LEARNING_RATES``. Its rows (with every run's right/wrong answer
per test message) are written to ``benchmarks/results/<sweep>.json`` with the machine, the
date, the commit, the library versions and the command that regenerates it. Notebooks 03 and
04 run a small live version of the same sweep and load these files for the full one.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import time
from pathlib import Path

from sft_teach import lora

RESULTS = Path(__file__).resolve().parent / "results"

SWEEPS = {
    # Yosinski et al. 2014, Figure 2: kept pretrained blocks n = 0..6, frozen vs fine-tuned (one rate, 3e-4)
    "layers": lambda ex, clinic: ex.layer_transfer(clinic, per_class=16, kept=range(7), seeds=ex.SEEDS),
    # ULMFiT's techniques, one at a time and together, at a small and a larger label budget
    "ablation": lambda ex, clinic: ex.ablation(clinic, per_class_budgets=(8, 32), seeds=ex.SEEDS,
                                               learning_rates=ex.LEARNING_RATES),
    # ULMFiT's Figure 3: accuracy against labelled examples per class
    "efficiency": lambda ex, clinic: ex.sample_efficiency(clinic, per_class_budgets=(4, 8, 16, 32, None),
                                                          seeds=ex.SEEDS, learning_rates=ex.LEARNING_RATES),
    # notebook 06 (on the pets notes, not the clinic data): full fine-tuning, LoRA r = 1, 4, 16 at one alpha
    # and the head alone, each seed on the recipe's settings (sft_teach.lora.compare)
    "lora": lambda ex, clinic: lora.sweep(seeds=ex.SEEDS),
}


def settings(name: str, ex) -> dict:
    """What a sweep's runs were trained with, for its record."""
    if name == "lora":  # the recipe's settings on pets (sft_teach.training.finetune), not the clinic's
        return {"data": "pets", "num_train_epochs": 3, "batch_size": 16, "seeds": list(ex.SEEDS),
                "learning_rate": {"full fine-tuning": 1e-4, "LoRA and head only": 1e-3}, "lora_alpha": lora.ALPHA,
                "ranks": [1, 4, 16]}
    tuned = {"learning_rates": list(ex.LEARNING_RATES), "selection_seeds": list(ex.SELECTION_SEEDS)}
    return {**ex.ACADEMIC, "seeds": list(ex.SEEDS), **(tuned if name in ("ablation", "efficiency") else {})}


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
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch

    from sft_teach import data
    from sft_teach import experiments as ex
    from sft_teach.environment import quiet_libraries

    quiet_libraries()
    clinic = data.load("clinic")
    code = commit()  # now, before anyone edits the tree during an hour-long sweep
    RESULTS.mkdir(exist_ok=True)
    for name in args.only or list(SWEEPS):
        start = time.perf_counter()
        rows = SWEEPS[name](ex, clinic)
        minutes = (time.perf_counter() - start) / 60
        record = {"sweep": name, "command": f"python benchmarks/academic.py --only {name}",
                  "date": datetime.date.today().isoformat(), "minutes": round(minutes, 1),
                  "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
                             f"with {torch.get_num_threads()} thread(s)",
                  "commit": code, "versions": versions(),
                  "settings": settings(name, ex),
                  "rows": rows}
        (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
        print(f"{name}: {len(rows)} runs in {minutes:.1f} min -> benchmarks/results/{name}.json", flush=True)


if __name__ == "__main__":
    main()
