"""LoRA: fine-tune a frozen model through a small low-rank update (Hu et al. 2021).

A fine-tuned weight matrix is the pretrained one plus a change, ``W = W0 + dW``. LoRA
trains that change in factored form, ``dW = B A`` with ``B`` (out, r) and ``A`` (r, in)
for a small rank ``r``, and leaves ``W0`` frozen:

.. math::  h = W_0 x + \\frac{\\alpha}{r} B A x        \\qquad\\text{(Hu et al. 2021, eq. 3)}

``B`` starts at zero, so training starts from exactly the pretrained function; ``A`` starts
random (Kaiming-uniform, as in ``peft``) so that the first gradient step on ``B`` is not
zero. ``alpha / r`` keeps the update's size comparable when ``r`` changes.

:class:`LoRALinear` is a readable reference implementation (the tests check it against
``peft``); :func:`add_lora` puts ``peft``'s LoRA into a whole model, the way practitioners do.

Taught in notebooks/06_lora.ipynb.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

#: Hu et al. adapt the attention query and value projections (their Table 5: for a fixed
#: budget of trainable parameters, W_q and W_v together did best).
TARGETS = ("query", "value")


class LoRALinear(nn.Module):
    """``base(x) + (alpha / r) * x A^T B^T`` with ``base`` frozen.

    ``base``: an ``nn.Linear`` (in_features -> out_features); it is not copied.
    ``A``: (r, in_features), ``B``: (out_features, r), stored as plain parameters.
    """

    def __init__(self, base: nn.Linear, r: int = 8, alpha: float | None = None):
        super().__init__()
        if r < 1:
            raise ValueError(f"rank r must be at least 1, got {r}")
        self.base, self.r = base, r
        self.alpha = float(alpha if alpha is not None else 2 * r)
        self.scaling = self.alpha / r
        for p in base.parameters():
            p.requires_grad = False  # W0 stays what pretraining made it
        self.A = nn.Parameter(torch.empty(r, base.in_features))
        self.B = nn.Parameter(torch.zeros(base.out_features, r))  # zero: no change at step 0
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))  # what nn.Linear (and peft) use

    def forward(self, x):  # x: (..., in_features) -> (..., out_features)
        return self.base(x) + (x @ self.A.T @ self.B.T) * self.scaling

    def delta_weight(self) -> torch.Tensor:
        """``dW = (alpha / r) B A``, shape (out_features, in_features)."""
        return (self.B @ self.A) * self.scaling

    def merged(self) -> nn.Linear:
        """A plain ``nn.Linear`` with ``W0 + dW``: same outputs, no extra cost at inference."""
        out = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None)
        with torch.no_grad():
            out.weight.copy_(self.base.weight + self.delta_weight())
            if self.base.bias is not None:
                out.bias.copy_(self.base.bias)
        return out


def add_lora(model, r: int = 8, alpha: float | None = None, targets=TARGETS, dropout: float = 0.0):
    """Wrap ``model`` with ``peft`` LoRA adapters of rank ``r`` on the ``targets`` layers.

    Everything else is frozen, except a classifier's new head, which must learn from zero
    (``peft`` keeps ``classifier``/``score`` trainable for ``task_type="SEQ_CLS"``).
    ``alpha`` defaults to ``2 * r``. Returns the ``PeftModel``; ``model`` is changed in place.
    """
    from peft import LoraConfig, get_peft_model

    task = "SEQ_CLS" if type(model).__name__.endswith("ForSequenceClassification") else "CAUSAL_LM"
    config = LoraConfig(task_type=task, r=r, lora_alpha=alpha if alpha is not None else 2 * r,
                        target_modules=list(targets), lora_dropout=dropout)
    return get_peft_model(model, config)


def trainable_parameters(model) -> tuple[int, int]:
    """``(trainable, total)`` parameter counts."""
    params = list(model.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


def merge(peft_model):
    """Fold every adapter into its base weight (``W0 + dW``) and return the plain model.

    The result has the original architecture and parameter count, so it is saved, loaded
    and run like any fine-tuned model. ``peft_model`` is consumed.
    """
    return peft_model.merge_and_unload()


def save_trainable(model, folder) -> int:
    """Save what a run must keep beyond the shared pretrained model; returns its size in bytes.

    A ``PeftModel`` saves its adapters (and the new head) with ``save_pretrained``; any other
    model saves only the parameters that were trained (all of them after full fine-tuning,
    the head alone after head-only training) as one safetensors file.
    """
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if hasattr(model, "peft_config"):
        model.save_pretrained(folder)
    else:
        trained = {n: p.detach().contiguous() for n, p in model.named_parameters() if p.requires_grad}
        save_file(trained, str(folder / "model.safetensors"))
    return sum(f.stat().st_size for f in folder.rglob("*.safetensors"))


#: The comparison's methods: full fine-tuning at the recipe's learning rate; the head alone and
#: LoRA at a 10x larger one (few parameters, starting from zero or from random, need larger steps;
#: Hu et al. also tuned LoRA's rate separately from full fine-tuning's).
FULL, HEAD = "full fine-tuning", "head only"


def method_name(r: int) -> str:
    return f"LoRA r={r}"


def compare(dataset, ranks=(1, 4, 16), seed: int = 0, keep=(), full_lr: float = 1e-4, small_lr: float = 1e-3,
            folder=None, **settings) -> list[dict]:
    """Full fine-tuning vs LoRA of each rank vs the head alone, on the same data and seed.

    Each row: ``method``, ``trainable`` parameters, test ``accuracy`` / ``macro_f1``,
    ``train_seconds``, the memory of a training step in MiB (``weights``, ``gradients``,
    ``optimizer``, ``activations`` of one batch, and their ``total``; see :mod:`sft_teach.memory`)
    and ``saved_mib``, the size of what must be kept beyond the pretrained model
    (:func:`save_trainable`, written under ``folder`` or a temporary folder).
    Methods named in ``keep`` also return their trained ``model`` and ``tokenizer``.
    """
    import shutil
    import tempfile

    import transformers

    from sft_teach import data as data_mod
    from sft_teach import memory, models
    from sft_teach.callbacks import TrainingMemory
    from sft_teach.training import finetune

    names = dataset["train"].features["label"].names
    scratch = None if folder else tempfile.mkdtemp(prefix="sft-teach-lora-")
    out = Path(folder or scratch)
    rows = []
    for method in [FULL, *(method_name(r) for r in ranks), HEAD]:
        transformers.set_seed(seed)  # the same new head in every method
        model, tokenizer = models.load_classifier("default", names)
        if method == HEAD:
            models.freeze(model, ["head"])
        elif method != FULL:
            model = add_lora(model, r=int(method.split("=")[1]))
        # one training batch (the first 16 examples, padded as the recipe pads) for the activations
        first = data_mod.tokenize(dataset["train"].select(range(16)), tokenizer)  # finetune tokenises the rest
        batch = data_mod.collator(tokenizer)(list(first))
        activations = memory.activation_bytes(model, batch)
        meter = TrainingMemory()
        result = finetune(model, dataset, tokenizer=tokenizer, seed=seed, save=False, progress=False,
                          eval_strategy="no", callbacks=[meter],
                          learning_rate=full_lr if method == FULL else small_lr, **settings)
        trainable, _ = trainable_parameters(model)
        saved = save_trainable(model, out / method.replace(" ", "_").replace("=", ""))
        mem = {k: v / memory.MiB for k, v in {**meter.memory, "activations": activations}.items()}
        row = {"method": method, "trainable": trainable, "accuracy": result.metrics["accuracy"],
               "macro_f1": result.metrics["macro_f1"], "train_seconds": result.metrics["train_seconds"],
               **mem, "total": sum(mem.values()), "saved_mib": saved / memory.MiB}
        if method in keep:
            row.update(model=result.trainer.model, tokenizer=tokenizer)
        for p in model.parameters():  # leave nothing frozen behind (the same model may be reused)
            p.requires_grad = True
        rows.append(row)
    if scratch:
        shutil.rmtree(scratch, ignore_errors=True)
    return rows
