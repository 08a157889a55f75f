"""ULMFiT's fine-tuning techniques (Howard & Ruder 2018), as plain functions and one callback.

* :func:`slanted_triangular`: the slanted triangular learning rate (STLR, Eq. 3), and
  :func:`stlr_scheduler`, a ``LambdaLR`` built from it that ``Trainer`` accepts;
* :func:`discriminative_param_groups`: one learning rate per layer (discriminative
  fine-tuning, Eq. 2, with the paper's factor 2.6);
* gradual unfreezing (Sec. 3.3) changes training epoch by epoch, so it is a callback and lives
  with the others: :class:`sft_teach.callbacks.GradualUnfreezing`;
* :func:`lr_find`: an LR range test (Smith 2017) for a Hugging Face model.

Reference: J. Howard and S. Ruder, "Universal Language Model Fine-tuning for Text
Classification", ACL 2018.

Taught in notebooks/04_ulmfit_techniques.ipynb.
"""

from __future__ import annotations

import copy
import math

from sft_teach.errors import ConfigError


def slanted_triangular(step: int, total_steps: int, cut_frac: float = 0.1, ratio: float = 32) -> float:
    r"""Multiplier of the peak learning rate at ``step`` (0-based) of ``total_steps`` (ULMFiT Eq. 3).

    .. math::
        cut = \lfloor T \cdot cut\_frac \rfloor, \quad
        p = \begin{cases} t / cut & t < cut \\ 1 - \frac{t - cut}{cut \cdot (1/cut\_frac - 1)} & \text{otherwise} \end{cases},
        \quad \frac{\eta_t}{\eta_{max}} = \frac{1 + p\,(ratio - 1)}{ratio}

    A short linear rise over the first ``cut_frac`` of the steps to the peak, then a long linear
    fall to ``1/ratio`` of it. The paper uses ``cut_frac = 0.1``, ``ratio = 32``.
    """
    if total_steps < 1 or not 0 < cut_frac < 1 or ratio < 1 or step < 0:  # step < 0: a rate below the floor, or < 0
        raise ConfigError(f"slanted_triangular needs step >= 0, total_steps >= 1, 0 < cut_frac < 1 and ratio >= 1, "
                          f"got step={step}, total_steps={total_steps}, cut_frac={cut_frac}, ratio={ratio}")
    cut = max(1, math.floor(total_steps * cut_frac))  # at least one rising step on very short runs
    if step < cut:
        p = step / cut
    else:
        p = max(0.0, 1 - (step - cut) / (cut * (1 / cut_frac - 1)))
    return (1 + p * (ratio - 1)) / ratio


def stlr_scheduler(optimizer, total_steps: int, cut_frac: float = 0.1, ratio: float = 32):
    """A ``torch.optim.lr_scheduler.LambdaLR`` following :func:`slanted_triangular`.

    It scales every parameter group's own learning rate, so it combines with
    :func:`discriminative_param_groups`. Use it as ``Trainer(optimizers=(optimizer, scheduler))``.
    """
    from torch.optim.lr_scheduler import LambdaLR

    return LambdaLR(optimizer, lambda step: slanted_triangular(step, total_steps, cut_frac, ratio))


def discriminative_param_groups(model, base_lr: float, factor: float = 2.6, weight_decay: float = 0.0) -> list[dict]:
    r"""Optimizer parameter groups with a learning rate per layer (ULMFiT Eq. 2), as the paper defines it.

    .. math:: \theta^l_t = \theta^l_{t-1} - \eta^l \nabla_{\theta^l} J(\theta), \qquad \eta^{l-1} = \eta^l / 2.6

    The *last* layer :math:`L` is the classifier head (pooler and classifier, the ``"head"``
    group of :func:`sft_teach.models.layer_groups`): it gets ``base_lr`` (:math:`\eta^L`). Each
    group below gets the rate of the group above divided by ``factor``: the top encoder layer
    ``base_lr / 2.6``, the next ``base_lr / 2.6**2``, down to the embeddings. For a 6-layer
    encoder that is 8 groups, the embeddings at ``base_lr / 2.6**7`` (about ``base_lr / 800``).
    (The released ULMFiT code makes 5 groups for its 3-layer LSTM, down to ``lr / 2.6**4``.)
    Groups are returned bottom-up with a ``"name"`` key (``"embeddings"``, ``"layer.0"``, ...).
    """
    from sft_teach.models import layer_groups

    if not factor > 0:  # 0 divides by zero; below 0 gives negative rates, which climb the loss
        raise ConfigError(f"discriminative_param_groups: factor is what each layer's rate is divided by going down, "
                          f"a number above 0, got {factor}: the paper's is 2.6 (1 gives every layer the same rate)")
    groups = layer_groups(model)
    names = list(groups)  # bottom-up: embeddings, layer.0 .. layer.N-1, head
    depth = {name: len(names) - 1 - i for i, name in enumerate(names)}  # head 0, top layer 1, ... embeddings N+1
    return [{"name": name, "params": params, "lr": base_lr / factor ** depth[name], "weight_decay": weight_decay}
            for name, params in groups.items() if params]


def lr_find(model, dataset, tokenizer, start_lr: float = 1e-7, end_lr: float = 1.0, num_steps: int = 60,
            batch_size: int = 16, smoothing: float = 0.9, seed: int = 0) -> dict:
    """LR range test: train with an exponentially growing learning rate, one batch per step.

    ``lr_i = start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))``. The loss is smoothed
    (exponential moving average, bias-corrected) and the sweep stops once it exceeds four times
    its minimum. The suggestion is the rate where the smoothed loss falls fastest. The model's
    weights, and each module's training or evaluation mode, are restored afterwards. ``dataset``
    is a tokenised ``Dataset`` with ``labels``. Returns ``{"lrs", "losses", "suggestion"}``.
    """
    import numpy as np
    import torch

    from sft_teach.data import check_tokenised, collator
    from sft_teach.models import check_model, check_tokenizer
    from sft_teach.setting_checks import whole

    check_model(model, "lr_find")
    check_tokenised(dataset, "lr_find")
    check_tokenizer(tokenizer, "lr_find")
    if not 0 < start_lr < end_lr:  # the rate grows from start_lr to end_lr on a log scale
        raise ConfigError(f"lr_find sweeps from start_lr up to end_lr: it needs 0 < start_lr < end_lr, "
                          f"got start_lr={start_lr}, end_lr={end_lr}: e.g. start_lr=1e-7, end_lr=1.0")
    if not whole(num_steps, least=2) or not whole(batch_size, least=1):  # one step has no slope to suggest from
        raise ConfigError(f"lr_find needs num_steps= a whole number of at least 2 and batch_size= of at least 1, "
                          f"got num_steps={num_steps!r}, batch_size={batch_size!r}: e.g. num_steps=60, batch_size=16")
    if not 0 <= smoothing < 1:  # 1 would never move from the first loss, and divides by zero
        raise ConfigError(f"lr_find's smoothing is the moving average's weight on the past, in [0, 1), got {smoothing}: "
                          f"e.g. 0.9")
    if not any(p.requires_grad for p in model.parameters()):
        raise ConfigError("lr_find: every parameter of the model is frozen, so no rate changes anything: "
                          "unfreeze what should train, e.g. freeze(model, trainable=('head',))")
    state = copy.deepcopy(model.state_dict())
    collate = collator(tokenizer)
    columns = [c for c in dataset.column_names if c in ("input_ids", "attention_mask", "token_type_ids", "labels")]
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(dataset), generator=generator).tolist()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=start_lr)
    lrs, losses, average, best = [], [], 0.0, math.inf
    modes = {module: module.training for module in model.modules()}  # given back as found, with the weights
    model.train()
    try:
        for i in range(num_steps):
            lr = start_lr * (end_lr / start_lr) ** (i / max(1, num_steps - 1))
            for group in optimizer.param_groups:
                group["lr"] = lr
            index = [order[(i * batch_size + j) % len(order)] for j in range(batch_size)]
            batch = collate([{c: dataset[k][c] for c in columns} for k in index])
            loss = model(**batch).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            average = smoothing * average + (1 - smoothing) * loss.item()
            smoothed = average / (1 - smoothing ** (i + 1))
            lrs.append(lr)
            losses.append(smoothed)
            best = min(best, smoothed)
            if not math.isfinite(smoothed) or smoothed > 4 * best:
                break
    finally:
        model.load_state_dict(state)
        for module, training in modes.items():
            module.training = training
    slopes = np.gradient(np.array(losses), np.log(np.array(lrs))) if len(lrs) > 2 else np.zeros(len(lrs))
    return {"lrs": lrs, "losses": losses, "suggestion": float(lrs[int(np.argmin(slopes))]) if lrs else start_lr}
