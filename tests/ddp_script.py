"""Data-parallel fine-tuning with the unchanged recipe: run by tests/test_distributed.py.

    python -m torch.distributed.run --nproc_per_node=2 --standalone tests/ddp_script.py OUT_DIR

Every process calls :func:`sft_teach.training.finetune` exactly as a single-process script
would; ``torchrun`` sets ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` and ``Trainer`` (through
``accelerate``) wraps the model in ``DistributedDataParallel`` (gloo backend on a CPU) and
gives each process its own share of every global batch. A tiny random BERT keeps it fast.
It trains as the command's default recipe does: the head alone first, then all the layers,
keeping the best epoch's weights; process zero is held back to finish each phase last.

Each process writes ``OUT_DIR/rank<R>.json``: what it saw (world size, backend, the batch
size of every training forward pass, the examples it trained on, a checksum of its final
weights, whether each phase's working folder outlived the other process's training) and, for
a second run that keeps nothing (``output_dir=None``), the scratch folder it worked in, the
epoch kept and a checksum. Rank 0 alone writes ``OUT_DIR/metrics.json`` and prints one
``METRICS`` line.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

# Before transformers is imported: no hub, and no tokenizer thread pools to fork around.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

N_TRAIN, N_EVAL, BATCH_SIZE, EPOCHS = 20, 8, 4, 2  # 20 / (4 per rank x 2 ranks) -> 3 steps per epoch
HEAD_EPOCHS = 1  # the command's default recipe: the head alone first, then all layers, the best epoch kept


def tiny_model(tokenizer, labels):
    """A randomly initialised 2-layer BERT classifier (as tests/conftest.py's ``tiny_classifier``)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)  # the same start on every rank (DDP also broadcasts rank 0's weights)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, num_labels=len(labels),
                        id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})
    return BertForSequenceClassification(config)


def checksum(model) -> str:
    """A hash of the model's weights: equal on every process when the gradients were averaged."""
    return hashlib.sha256(b"".join(p.detach().cpu().numpy().tobytes() for p in model.state_dict().values())).hexdigest()


def kept_while_held(folder) -> bool | None:
    """Process zero only: wait 3 s, then say whether ``folder`` was there before and after.

    Called where process zero's Trainer has just finished training (or is about to list its
    working folder), it makes process zero the last to finish: the other process, done first,
    must leave the folder alone until every process has finished (removed under a listing, it
    crashed process zero). ``None`` in the other processes."""
    if os.environ.get("RANK", "0") != "0":
        return None
    before = Path(folder).is_dir()
    time.sleep(3)
    return before and Path(folder).is_dir()


def hold_process_zero(kept: dict):
    """Make process zero the last to finish each phase: after the head-only phase's training, and at
    the main Trainer's last log line (before it loads the best checkpoint and lists its folder)."""
    from transformers import TrainerCallback

    from sft_teach import head_first

    train_head = head_first.train_head

    def held(model, encoded, tokenizer, output_dir, **settings):
        log = train_head(model, encoded, tokenizer, output_dir, **settings)
        kept["head"] = kept_while_held(output_dir)
        return log

    head_first.train_head = held

    class AtTheEnd(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "train_runtime" in logs:
                kept["checkpoints"] = kept_while_held(args.output_dir)

    return AtTheEnd()


def main(out: Path) -> int:
    import torch.distributed as dist
    from datasets import DatasetDict
    from transformers import TrainerCallback

    from sft_teach import data
    from sft_teach.models import load_tokenizer
    from sft_teach.training import finetune

    pets = data.load("pets")
    dataset = DatasetDict(train=pets["train"].select(range(N_TRAIN)),
                          validation=pets["validation"].select(range(N_EVAL)),
                          test=pets["test"].select(range(N_EVAL)))
    tokenizer = load_tokenizer("default")
    model = tiny_model(tokenizer, dataset["train"].features["label"].names)

    # Observe, without touching the recipe: record every training forward pass on this rank.
    seen = []  # one list of examples (token ids without padding) per training step

    def record(module, args, kwargs):
        if module.training:
            ids, mask = kwargs["input_ids"], kwargs["attention_mask"]  # (batch, longest_in_batch)
            seen.append([row[m.bool()].tolist() for row, m in zip(ids, mask)])

    model.register_forward_pre_hook(record, with_kwargs=True)
    kept = {}  # process zero: whether each phase's working folder outlived the other process's training

    result = finetune(model, dataset, tokenizer=tokenizer, num_train_epochs=EPOCHS, batch_size=BATCH_SIZE,
                      learning_rate=1e-3, seed=0, output_dir=out / "run", progress=False, logging_steps=1,
                      head_epochs=HEAD_EPOCHS, best_epoch=True, callbacks=[hold_process_zero(kept)])

    trainer = result.trainer
    weights = checksum(trainer.model)

    # A run that keeps nothing (output_dir=None) trains in a scratch folder, which every process must
    # share: process zero alone saves the checkpoints, and every process loads the best one.
    folders = []  # the working folder each phase of this process used

    class Where(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            folders.append(args.output_dir)

    kept_nothing = finetune(tiny_model(tokenizer, dataset["train"].features["label"].names), dataset,
                            tokenizer=tokenizer, num_train_epochs=EPOCHS, batch_size=BATCH_SIZE, learning_rate=1e-3,
                            seed=0, progress=False, best_epoch=True, callbacks=[Where()])
    rank = trainer.args.process_index
    report = {
        "rank": rank, "world_size": trainer.args.world_size,
        "torch_world_size": dist.get_world_size() if dist.is_initialized() else 1,
        "backend": dist.get_backend() if dist.is_initialized() else None,
        "parallel_mode": str(trainer.args.parallel_mode), "wrapped": type(trainer.model_wrapped).__name__,
        "global_step": trainer.state.global_step, "train_steps": result.metrics["train_steps"],
        "batch_sizes": [len(step) for step in seen], "examples": [ex for step in seen for ex in step],
        "steps_per_epoch": len(seen) // EPOCHS, "weights_sha256": weights, "metrics": result.metrics,
        "model_dir": str(result.model_dir) if result.model_dir else None,
        "folders_kept": kept,
        # (that it is gone is checked once both processes have ended: process zero removes it last)
        "scratch": {"folders": folders,
                    "best_epoch": kept_nothing.metrics["best_epoch"],
                    "weights_sha256": checksum(kept_nothing.trainer.model)},
    }
    (out / f"rank{rank}.json").write_text(json.dumps(report))
    if trainer.is_world_process_zero():  # the final metrics, once
        (out / "metrics.json").write_text(json.dumps(result.metrics, indent=2))
        print("METRICS", json.dumps(result.metrics), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
