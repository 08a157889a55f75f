r"""How transferable is each layer? Yosinski et al. (2014), translated to a transformer.

Yosinski et al. trained a network on task A, then built networks for task B that *keep the
first n layers* of A and re-initialise the rest: either with the kept layers frozen
("AnB": only the new layers learn) or fine-tuned with everything ("AnB+"). Accuracy as a
function of n shows how general (transferable) each layer's features are, and that
fine-tuning the transferred layers helps rather than hurts.

Here "task A" is the bundled model's pretraining, "task B" a course dataset, and a layer is
one transformer block; the embeddings are always kept (n = 0 keeps only the embeddings).

Taught in notebooks/03_transfer_learning.ipynb.
"""

from __future__ import annotations

from sft_teach.models import encoder_layers, freeze, layer_groups
from sft_teach.setting_checks import whole


def _initialise(module, std: float, generator=None) -> None:
    """BERT's initialisation (Devlin et al. 2019): linear weights ~ N(0, std), biases 0, LayerNorm 1 and 0.

    Written out rather than calling the model's ``_init_weights``: ``transformers`` skips
    modules it has marked as already initialised, so that call would silently change nothing.
    """
    import torch

    for sub in module.modules():
        if isinstance(sub, torch.nn.Linear):
            torch.nn.init.normal_(sub.weight, mean=0.0, std=std, generator=generator)
            if sub.bias is not None:
                torch.nn.init.zeros_(sub.bias)
        elif isinstance(sub, torch.nn.LayerNorm):
            torch.nn.init.ones_(sub.weight)
            torch.nn.init.zeros_(sub.bias)


def reinitialise_above(model, n: int, seed: int = 0):
    """Keep the embeddings and blocks ``0 .. n-1``; give blocks ``n ..`` (and the pooler) fresh random weights.

    The fresh weights are drawn as in pretraining (``config.initializer_range``, 0.02 for BERT),
    seeded, so the re-initialised blocks are what pretraining started from. Returns ``model``
    (changed in place).
    """
    import torch

    layers = encoder_layers(model)
    if not (whole(n, least=0) and n <= len(layers)):  # 1.5 ended in a TypeError on a slice
        raise ValueError(f"n must be between 0 and {len(layers)} (the number of blocks), got {n}")
    std = getattr(model.config, "initializer_range", 0.02)
    # a generator of its own, where the weights are: torch's global ones (the caller's seed, on the CPU
    # and every GPU) are left as they were; on a CPU it draws what torch.manual_seed(seed) would
    generator = torch.Generator(device=next(model.parameters()).device).manual_seed(seed)
    with torch.no_grad():
        for block in list(layers)[n:]:
            _initialise(block, std, generator)
        pooler = getattr(model.base_model, "pooler", None)
        if pooler is not None and n < len(layers):  # the pooler reads the top block's output
            _initialise(pooler, std, generator)
    return model


def freeze_below(model, n: int) -> int:
    """Freeze the embeddings and blocks ``0 .. n-1`` (Yosinski's "AnB"); returns the trainable count."""
    blocks = len(encoder_layers(model))
    if not (whole(n, least=0) and n <= blocks):  # -1 or 9 froze all or nothing, in silence
        raise ValueError(f"n must be between 0 and {blocks} (the number of blocks), got {n}")
    trainable = [name for name in layer_groups(model) if name.startswith("layer.") and int(name.split(".")[1]) >= n]
    return freeze(model, [*trainable, "head"])
