"""The academic notebooks' full sweeps, too long to run inside a notebook.

    python benchmarks/academic.py                    # every sweep (about half an hour on 2 CPU cores)
    python benchmarks/academic.py --only ablation    # one sweep: layers | ablation | efficiency

Two sweeps can run side by side, one core each: ``OMP_NUM_THREADS=1 python benchmarks/academic.py
--only layers & OMP_NUM_THREADS=1 python benchmarks/academic.py --only ablation --only efficiency``
(never more torch threads than cores in all: oversubscribed threads spin and slow everything).

Each sweep is a function of ``sft_teach.experiments`` run on the clinic data (10 desks) with
the settings in ``sft_teach.experiments.ACADEMIC``; its rows are written, with the machine and
the date, to ``benchmarks/results/<sweep>.json``. Notebooks 03 and 04 run a small live version
of the same sweep and load these files to plot the full one.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

SWEEPS = {
    # Yosinski et al. 2014, Figure 2: kept pretrained blocks n = 0..6, frozen vs fine-tuned
    "layers": lambda ex, clinic: ex.layer_transfer(clinic, per_class=16, kept=range(7), seeds=(0, 1, 2)),
    # ULMFiT's techniques, one at a time and together, at a small and a larger label budget
    "ablation": lambda ex, clinic: ex.ablation(clinic, per_class_budgets=(8, 32), seeds=(0, 1, 2)),
    # ULMFiT's Figure 3: accuracy against labelled examples per class
    "efficiency": lambda ex, clinic: ex.sample_efficiency(clinic, per_class_budgets=(4, 8, 16, 32, None), seeds=(0, 1, 2)),
}


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
    RESULTS.mkdir(exist_ok=True)
    for name in args.only or list(SWEEPS):
        start = time.perf_counter()
        rows = SWEEPS[name](ex, clinic)
        minutes = (time.perf_counter() - start) / 60
        record = {"sweep": name, "command": f"python benchmarks/academic.py --only {name}",
                  "date": datetime.date.today().isoformat(), "minutes": round(minutes, 1),
                  "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
                             f"with {torch.get_num_threads()} thread(s)",
                  "settings": ex.ACADEMIC, "rows": rows}
        (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
        print(f"{name}: {len(rows)} runs in {minutes:.1f} min -> benchmarks/results/{name}.json", flush=True)


if __name__ == "__main__":
    main()
