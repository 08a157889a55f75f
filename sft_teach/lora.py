r"""LoRA: fine-tune a frozen model through a small low-rank update (Hu et al. 2022).

A fine-tuned weight matrix is the pretrained one plus a change, ``W = W0 + dW``. LoRA
trains that change in factored form, ``dW = B A`` with ``B`` (out, r) and ``A`` (r, in)
for a small rank ``r``, and leaves ``W0`` frozen:

.. math::  h = W_0 x + \frac{\alpha}{r} B A x        \qquad\text{(Hu et al. 2022, eq. 3, with the } \alpha/r \text{ of their Sec. 4.1)}

``B`` starts at zero, so training starts from exactly the pretrained function; ``A`` starts
random (Kaiming-uniform, as in ``peft``) so that the first gradient step on ``B`` is not zero.

**Why alpha is fixed.** Hu et al. (Sec. 4.1) scale ``B A x`` by ``alpha / r`` with ``alpha``
"a constant in r": with Adam, tuning ``alpha`` is roughly tuning the learning rate, so they set
``alpha`` once ("to the first r we try") and do not tune it, and ``alpha / r`` absorbs a change
of ``r``. The course does the same: :data:`ALPHA` for every rank. (``alpha = 2 r`` would keep
``alpha / r`` at 2 whatever ``r`` is: that is a different rule, not the paper's.)

**rsLoRA** (Kalajdzievski 2023, *A Rank Stabilization Scaling Factor for Fine-Tuning with LoRA*)
argues that ``1 / r`` shrinks the update, and the gradients, of larger ranks too much, and proves
that the factor should be ``alpha / sqrt(r)`` for the learning of an adapter to stay stable as ``r``
grows. ``peft`` has it as ``LoraConfig(use_rslora=True)``; :func:`scaling` computes both factors.

:class:`LoRALinear` is a readable reference implementation (the tests check it against
``peft``); :func:`add_lora` puts ``peft``'s LoRA into a whole model, the way practitioners do;
:func:`load_adapter` puts a second saved adapter beside the first, for ``set_adapter``.

Taught in notebooks/06_lora.ipynb.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

#: Hu et al. adapt the attention query and value projections (their Table 5, for a fixed budget
#: of trainable parameters: W_q and W_v together tied for the best on WikiSQL and level with W_o
#: alone on MultiNLI; all four projections at a lower rank did as well or slightly better).
TARGETS = ("query", "value")

#: One alpha for every rank, as Hu et al. do (Sec. 4.1). 8 gives the rank-4 adapter a factor
#: alpha / r = 2; the ranks 1 and 16 then get 8 and 0.5 (rsLoRA: 8, 4 and 2).
ALPHA = 8.0


def scaling(r: int, alpha: float = ALPHA, rslora: bool = False) -> float:
    r"""The factor in front of ``B A x``: :math:`\alpha / r` (Hu et al., Sec. 4.1) or, for rsLoRA,
    :math:`\alpha / \sqrt{r}` (Kalajdzievski 2023)."""
    from sft_teach.errors import ConfigError
    from sft_teach.setting_checks import whole

    if not whole(r, least=1):  # 2.5 would end in torch.empty's TypeError
        raise ConfigError(f"rank r must be a whole number, at least 1, got {r!r}: e.g. r=4")
    return alpha / (math.sqrt(r) if rslora else r)


class LoRALinear(nn.Module):
    """``base(x) + scaling * x A^T B^T`` with ``base`` frozen; ``scaling`` = :func:`scaling` (``alpha / r``).

    ``base``: an ``nn.Linear`` (in_features -> out_features); it is not copied.
    ``A``: (r, in_features), ``B``: (out_features, r), stored as plain parameters.
    ``rslora=True`` scales by ``alpha / sqrt(r)`` instead.
    """

    def __init__(self, base: nn.Linear, r: int = 8, alpha: float = ALPHA, rslora: bool = False):
        super().__init__()
        if not isinstance(base, nn.Linear):  # an AttributeError on in_features, otherwise
            from sft_teach.errors import ConfigError

            raise ConfigError(f"LoRALinear wraps one nn.Linear layer (e.g. a layer's attention.self.query), got "
                              f"{type(base).__name__}" + (": it is already wrapped" if isinstance(base, LoRALinear) else ""))
        self.scaling = scaling(r, alpha, rslora)  # checks r >= 1
        self.base, self.r, self.alpha = base, r, float(alpha)
        for p in base.parameters():
            p.requires_grad = False  # W0 stays what pretraining made it
        self.A = nn.Parameter(torch.empty(r, base.in_features))
        self.B = nn.Parameter(torch.zeros(base.out_features, r))  # zero: no change at step 0
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))  # what nn.Linear (and peft) use

    def forward(self, x):  # x: (..., in_features) -> (..., out_features)
        return self.base(x) + (x @ self.A.T @ self.B.T) * self.scaling

    def delta_weight(self) -> torch.Tensor:
        """``dW = scaling * B A``, shape (out_features, in_features)."""
        return (self.B @ self.A) * self.scaling

    def merged(self) -> nn.Linear:
        """A plain ``nn.Linear`` with ``W0 + dW``: same outputs, no extra cost at inference."""
        out = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None)
        with torch.no_grad():
            out.weight.copy_(self.base.weight + self.delta_weight())
            if self.base.bias is not None:
                out.bias.copy_(self.base.bias)
        return out


def head_modules(model) -> list[str]:
    """The checkpoint's modules between the body and the new classifier that head-only training trains.

    For BERT that is the ``pooler`` (a dense layer and tanh on the first token). :func:`add_lora`
    trains them too, so that LoRA and head-only training differ only in the body.
    """
    return sorted({name.rsplit(".", 1)[-1] for name, _ in model.named_modules() if name.rsplit(".", 1)[-1] == "pooler"})


def add_lora(model, r: int = 8, alpha: float = ALPHA, targets=TARGETS, dropout: float = 0.0, rslora: bool = False):
    """Wrap ``model`` with ``peft`` LoRA adapters of rank ``r`` on the ``targets`` layers.

    Everything else is frozen except the head: the new classifier, which must learn from zero
    (``peft`` keeps ``classifier``/``score`` trainable for ``task_type="SEQ_CLS"``), and the
    checkpoint's pooler under it (:func:`head_modules`, added to ``modules_to_save``), the same
    head that ``models.freeze(model, ["head"])`` trains. ``alpha`` is the same for every ``r``
    (:data:`ALPHA`); ``rslora=True`` scales by ``alpha / sqrt(r)``. Returns the ``PeftModel``;
    ``model`` is changed in place.
    """
    from peft import LoraConfig, get_peft_model

    from sft_teach.models import check_model

    check_model(model, "add_lora")
    task = "SEQ_CLS" if type(model).__name__.endswith("ForSequenceClassification") else "CAUSAL_LM"
    config = LoraConfig(task_type=task, r=r, lora_alpha=alpha, target_modules=list(targets), lora_dropout=dropout,
                        use_rslora=rslora, modules_to_save=head_modules(model) if task == "SEQ_CLS" else None)
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
    if not hasattr(peft_model, "merge_and_unload"):  # a model without adapters: nothing to fold in
        from sft_teach.errors import ConfigError

        raise ConfigError(f"merge takes a model with LoRA adapters (what add_lora returns), got "
                          f"{type(peft_model).__name__}, which has none to fold in")
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


def load_adapter(peft_model, folder, name: str):
    """Load the adapter saved in ``folder`` beside those ``peft_model`` holds, as ``name`` (not active yet).

    ``peft`` gives each adapter its own copy of the head, made by copying the base model's head;
    an adapter for a task with another number of classes needs a head of its own shape, made here
    before ``peft_model.load_adapter`` fills it. Switch with ``peft_model.set_adapter(name)``.
    """
    from peft.utils.other import ModulesToSaveWrapper
    from safetensors.torch import load_file

    saved = load_file(str(Path(folder) / "adapter_model.safetensors"))  # {name: tensor}
    for module_name, module in peft_model.named_modules():
        if not isinstance(module, ModulesToSaveWrapper) or not isinstance(module.original_module, nn.Linear):
            continue
        key = module_name.removeprefix("base_model.model.") + ".weight"
        weight = next((w for k, w in saved.items() if k.endswith(key)), None)
        if weight is not None and weight.shape != module.original_module.weight.shape:
            out_features, in_features = weight.shape
            module.modules_to_save[name] = nn.Linear(in_features, out_features, bias=module.original_module.bias is not None)
    peft_model.load_adapter(str(folder), adapter_name=name)
    return peft_model


#: The comparison's methods: full fine-tuning at the recipe's learning rate; the head alone and
#: LoRA at a 10x larger one (few parameters, starting from zero or from random, need larger steps;
#: Hu et al. also tuned LoRA's rate separately from full fine-tuning's).
FULL, HEAD = "full fine-tuning", "head only"


def method_name(r: int, rslora: bool = False) -> str:
    return f"{'rsLoRA' if rslora else 'LoRA'} r={r}"


def compare(dataset, ranks=(1, 4, 16), seed: int = 0, keep=(), full_lr: float = 1e-4, small_lr: float = 1e-3,
            folder=None, alpha: float = ALPHA, rslora_ranks=(), head: bool = True, **settings) -> list[dict]:
    """Full fine-tuning vs LoRA of each rank (and rsLoRA of ``rslora_ranks``) vs the head alone,
    on the same data and seed. Every LoRA uses the same ``alpha``; LoRA and the head alone train
    the same head (pooler and classifier).

    Each row: ``method``, ``seed``, ``learning_rate``, ``scaling`` (LoRA's factor, else ``None``),
    ``trainable`` parameters, test ``accuracy`` / ``macro_f1``, ``correct`` (``"0"``/``"1"`` per
    test item, to pair runs item by item), ``train_seconds``, the memory of a training step in MiB
    (``weights``, ``gradients``, ``optimizer``, ``activations`` of one batch, and their ``total``;
    see :mod:`sft_teach.memory`) and ``saved_mib``, the size of what must be kept beyond the
    pretrained model (:func:`save_trainable`, written under ``folder`` or a temporary folder).
    Methods named in ``keep`` also return their trained ``model`` and ``tokenizer``; ``head=False``
    leaves out the head alone.
    """
    import contextlib
    import tempfile

    methods = [(FULL, None), *((method_name(r), (r, False)) for r in ranks),
               *((method_name(r, True), (r, True)) for r in rslora_ranks), *([(HEAD, None)] if head else [])]
    # without a folder, the saved adapters go to a scratch folder, removed at the end, also on an error
    scratch = (contextlib.nullcontext(folder) if folder else
               tempfile.TemporaryDirectory(prefix="sft-teach-lora-", ignore_cleanup_errors=True))
    with scratch as out:
        return [_compared(dataset, method, adapter, Path(out), seed=seed, keep=keep, alpha=alpha,
                          learning_rate=full_lr if method == FULL else small_lr, **settings)
                for method, adapter in methods]


def _compared(dataset, method: str, adapter: tuple | None, out: Path, *, seed: int, keep, alpha: float,
              learning_rate: float, **settings) -> dict:
    """One row of :func:`compare`: ``adapter`` is ``(rank, rslora)`` for a LoRA method, else ``None``."""
    import transformers

    from sft_teach import data as data_mod
    from sft_teach import memory, models
    from sft_teach.callbacks import TrainingMemory
    from sft_teach.experiments import right_wrong
    from sft_teach.training import finetune_quietly  # runs compared in a table: their findings in result.warnings

    transformers.set_seed(seed)  # the same new head in every method
    model, tokenizer = models.load_classifier("default", dataset["train"].features["label"].names)
    if method == HEAD:
        models.freeze(model, ["head"])  # pooler + classifier
    elif adapter:
        model = add_lora(model, r=adapter[0], alpha=alpha, rslora=adapter[1])
    # one training batch (the first 16 examples, padded as the recipe pads) for the activations
    first = data_mod.tokenize(dataset["train"].select(range(16)), tokenizer)  # finetune tokenises the rest
    batch = data_mod.collator(tokenizer)(list(first))
    activations = memory.activation_bytes(model, batch)
    meter = TrainingMemory()
    result = finetune_quietly(model, dataset, tokenizer=tokenizer, seed=seed, save=False, progress=False,
                              eval_strategy="no", callbacks=[meter], learning_rate=learning_rate, **settings)
    trainable, _ = trainable_parameters(model)
    saved = save_trainable(model, out / method.replace(" ", "_").replace("=", ""))
    mem = {k: v / memory.MiB for k, v in {**meter.memory, "activations": activations}.items()}
    row = {"method": method, "seed": seed, "learning_rate": learning_rate,
           "scaling": scaling(adapter[0], alpha, adapter[1]) if adapter else None, "trainable": trainable,
           "accuracy": result.metrics["accuracy"], "macro_f1": result.metrics["macro_f1"],
           "correct": right_wrong(result.predictions, result.label_ids),
           "train_seconds": result.metrics["train_seconds"], **mem, "total": sum(mem.values()),
           "saved_mib": saved / memory.MiB}
    if method in keep:
        row.update(model=result.trainer.model, tokenizer=tokenizer)
    for p in model.parameters():  # leave nothing frozen behind (the same model may be reused)
        p.requires_grad = True
    return row


MERGED = "LoRA r=4 (merged)"  # notebook 06, section 8: the adapter folded into the weights


def forgetting_sweep(seeds=(0, 1, 2, 3, 4), data: str = "pets") -> list[dict]:
    """Notebook 06, section 8, over seeds: how much of the encoder's paraphrase skill survives
    fine-tuning on ``data``, full fine-tuning against LoRA r = 4 (merged), each trained as
    :func:`compare` trains it (seed 0 is the notebook's live run), and the pretrained encoder.

    Rows: ``method``, ``seed``, ``accuracy`` (paraphrase retrieval, :func:`sft_teach.forgetting.paraphrase_scores`)
    and ``correct``, hit (``"1"``) or miss per paraphrase pair, so that
    :func:`sft_teach.experiments.paired` compares two methods over the pairs and the seeds.
    ``benchmarks/academic.py --only lora_forgetting``.
    """
    import transformers

    from sft_teach import models
    from sft_teach.data import load
    from sft_teach.forgetting import paraphrase_scores

    dataset = load(data)
    names = dataset["train"].features["label"].names
    transformers.set_seed(0)
    pretrained, tokenizer = models.load_classifier("default", names)
    before = paraphrase_scores(pretrained, tokenizer)  # the same body for every seed

    def row(method, seed, scores):
        return {"method": method, "seed": seed, "accuracy": scores["retrieval"],
                "correct": "".join("1" if hit else "0" for hit in scores["retrieved"])}

    rows = []
    for seed in seeds:
        runs = {r["method"]: r for r in compare(dataset, ranks=(4,), seed=seed, keep=(FULL, method_name(4)), head=False)}
        rows += [row("pretrained", seed, before),
                 row(FULL, seed, paraphrase_scores(runs[FULL]["model"], tokenizer)),
                 row(MERGED, seed, paraphrase_scores(merge(runs[method_name(4)]["model"]), tokenizer))]
    return rows


def sweep(seeds=(0, 1, 2, 3, 4), ranks=(1, 4, 16), rslora_ranks=(), data: str = "pets") -> list[dict]:
    """:func:`compare` on the bundled ``data`` for each seed, rows without models: ``benchmarks/academic.py --only lora``.

    Notebook 06 runs seed 0 live and loads this sweep (``experiments.load_sweep("lora")``) for the spread.
    """
    from sft_teach.data import load

    dataset = load(data)
    return [row for seed in seeds for row in compare(dataset, ranks=ranks, seed=seed, rslora_ranks=rslora_ranks)]
