"""Scale-out: the unchanged recipe trains data-parallel under torchrun (2 CPU processes, gloo).

tests/ddp_script.py calls ``sft_teach.training.finetune`` on a tiny random BERT in each
process; this test launches it the way a user would (``torchrun --nproc_per_node=2``) and
checks from the per-rank reports that the work was really shared, not done twice.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ddp_script import BATCH_SIZE, EPOCHS, N_TRAIN

SCRIPT = Path(__file__).with_name("ddp_script.py")
WORLD = 2


@pytest.mark.slow
def test_finetune_runs_data_parallel_under_torchrun(tmp_path):
    # CPU processes over gloo, also on a machine with a GPU (two processes cannot share one GPU with nccl)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1",
           "CUDA_VISIBLE_DEVICES": "", "TMPDIR": str(tmp_path / "tmp")}  # torchrun's log folders go there
    (tmp_path / "tmp").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={WORLD}", "--standalone",
         str(SCRIPT), str(tmp_path)],
        cwd=SCRIPT.parent.parent, env=env, capture_output=True, text=True, timeout=180)
    # each rank's own error: the tail alone is the other rank's trace of the barrier it waited at
    by_rank = ["\n".join(line for line in done.stderr.splitlines() if line.startswith(f"[rank{r}]"))[-3000:]
               for r in range(WORLD)]
    assert done.returncode == 0, "\n".join(by_rank) + "\n" + done.stdout[-2000:] + done.stderr[-2000:]

    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(WORLD)]
    steps_per_epoch = math.ceil(N_TRAIN / (BATCH_SIZE * WORLD))  # one optimiser step per global batch
    for r, report in enumerate(ranks):
        assert report["rank"] == r
        assert report["world_size"] == report["torch_world_size"] == WORLD
        assert report["backend"] == "gloo" and report["wrapped"] == "DistributedDataParallel"
        assert report["global_step"] == report["train_steps"] == EPOCHS * steps_per_epoch
        # every step, each rank ran one forward pass on its own per-device batch
        assert report["batch_sizes"] == [BATCH_SIZE] * (EPOCHS * steps_per_epoch)

    # The global batch is split, not duplicated: at each step the ranks saw different examples,
    # and together, in each epoch, they saw the whole training split.
    per_epoch = steps_per_epoch * BATCH_SIZE
    for epoch in range(EPOCHS):
        shards = [r["examples"][epoch * per_epoch:(epoch + 1) * per_epoch] for r in ranks]
        for step in range(steps_per_epoch):
            batch = slice(step * BATCH_SIZE, (step + 1) * BATCH_SIZE)
            assert shards[0][batch] != shards[1][batch], (epoch, step)
        assert len({tuple(x) for shard in shards for x in shard}) == N_TRAIN, epoch

    # Process one finished each phase first, yet left Trainer's working folder to process zero, which
    # was still training (it ends by listing that folder); both wait, then process zero tidies up.
    assert [r["folders_kept"] for r in ranks] == [{"head": True, "checkpoints": True},
                                                  {"head": None, "checkpoints": None}]
    # the run's folder as a single process leaves it: no working folders, no head-phase record
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["confusion.png", "loss.png", "metrics.json",
                                                                     "model", "splits"]

    # Both processes find the same about the data and the training: process zero alone says it
    said = [line for line in done.stderr.splitlines() if "SftTeachWarning" in line]
    assert said and len(said) == len(set(said)), said

    # Gradients were averaged across ranks, so both end with the very same weights.
    assert ranks[0]["weights_sha256"] == ranks[1]["weights_sha256"]

    # A run that keeps nothing: both processes worked in one scratch folder (process zero's), both
    # loaded the same best epoch from it, and it is gone
    scratch = [r["scratch"] for r in ranks]
    assert len(scratch[0]["folders"]) == 1 and scratch[0]["folders"] == scratch[1]["folders"]
    assert Path(scratch[0]["folders"][0]).parent.parent == tmp_path / "tmp"  # Trainer's checkpoints/ in it, in TMPDIR
    assert not list((tmp_path / "tmp").glob("sft-teach-*"))  # removed once both processes were done with it
    assert scratch[0]["best_epoch"] == scratch[1]["best_epoch"]
    assert scratch[0]["weights_sha256"] == scratch[1]["weights_sha256"]

    # Written once, by rank 0: the metrics line, metrics.json and one complete model folder.
    assert done.stdout.count("METRICS ") == 1
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["train_steps"] == EPOCHS * steps_per_epoch and 0 <= metrics["accuracy"] <= 1
    run = tmp_path / "run"
    assert (run / "model" / "model.safetensors").is_file()
    assert not [p.name for p in run.iterdir() if p.name.startswith(".")]  # no half-written model folder


def test_every_process_shuffles_the_same_way_and_each_epoch_anew():
    """SameShuffleOnEveryProcess seeds the sampler with data_seed + epoch, whatever the global generator did."""
    from types import SimpleNamespace

    import torch
    from torch.utils.data import DataLoader
    from transformers.trainer_pt_utils import LengthGroupedSampler

    from sft_teach.callbacks import SameShuffleOnEveryProcess

    lengths = [5, 9, 3, 12, 7, 8, 2, 11, 6, 10, 4, 13, 1, 14, 15, 16]

    def order(epoch, draws, seed=7, data_seed=None):
        sampler = LengthGroupedSampler(batch_size=4, lengths=lengths)
        loader = DataLoader(range(len(lengths)), batch_size=4, sampler=sampler)
        torch.rand(draws)  # each process's dropout has drawn a different amount from the global generator
        args, state = SimpleNamespace(seed=seed, data_seed=data_seed), SimpleNamespace(epoch=float(epoch))
        SameShuffleOnEveryProcess().on_epoch_begin(args, state, None, train_dataloader=loader)
        return list(sampler)

    assert order(0, draws=3) == order(0, draws=50)  # two processes, one order
    assert order(1, draws=3) == order(1, draws=50)
    assert sorted(order(1, draws=3)) == list(range(len(lengths)))
    assert order(1, draws=3) != order(0, draws=3)  # a new order each epoch, not the first one again
    assert order(0, draws=3, seed=7, data_seed=8) == order(1, draws=3, seed=7)  # data_seed takes the place of seed
    assert order(0, draws=3, seed=7, data_seed=8) != order(0, draws=3, seed=7)
