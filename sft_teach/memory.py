"""Where the memory of a training step goes, counted from the tensors themselves.

A training step with AdamW holds four kinds of tensors:

* **weights**: every parameter, trainable or frozen;
* **gradients**: one tensor per *trainable* parameter, same shape;
* **optimizer state**: AdamW keeps two moments (``exp_avg``, ``exp_avg_sq``) per trainable
  parameter, so twice the trainable weights;
* **activations**: what the forward pass saves for the backward pass. A frozen layer whose
  input needs no gradient saves nothing, which is why training only the head is so cheap.

Gradients and optimizer state scale with the number of *trainable* parameters: that is
what LoRA shrinks. Process memory (what the operating system reports) adds the Python
runtime, libraries, the tokenizer and allocator caches on top of these tensors.

Taught in notebooks/06_lora.ipynb.
"""

from __future__ import annotations

import torch

MiB = 2 ** 20


def tensor_bytes(tensors) -> int:
    """Bytes held by ``tensors``, each storage counted once (views share storage)."""
    if isinstance(tensors, torch.nn.Module):  # a TypeError, "not iterable", otherwise
        from sft_teach.errors import ConfigError

        raise ConfigError(f"tensor_bytes takes tensors, got a model ({type(tensors).__name__}): e.g. "
                          f"tensor_bytes(model.parameters())")
    seen, total = set(), 0
    for t in tensors:
        if t is None or not isinstance(t, torch.Tensor):
            continue
        storage = t.untyped_storage()
        key = (storage.data_ptr(), storage.nbytes())
        if key not in seen:
            seen.add(key)
            total += storage.nbytes()
    return total


def optimizer_state_bytes(optimizer) -> int:
    """Bytes of every tensor in ``optimizer.state`` (AdamW: exp_avg, exp_avg_sq, step)."""
    return tensor_bytes(v for state in optimizer.state.values() for v in state.values())


def activation_bytes(model, batch: dict) -> int:
    """Bytes the forward pass of ``batch`` saves for backward (one training step's activations).

    Uses ``torch.autograd.graph.saved_tensors_hooks``: every tensor autograd keeps for the
    backward pass goes through the pack hook, where it is counted once. Parameters saved
    for backward (a frozen weight needed to pass gradients down) are not activations and
    are left out; they are already in the weights.
    """
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved = []

    def pack(t):
        if t.untyped_storage().data_ptr() not in params:
            saved.append(t)
        return t

    was_training = model.training
    model.train()
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            model(**batch)
    finally:
        model.train(was_training)
    return tensor_bytes(saved)
