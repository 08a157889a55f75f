r"""How much does fine-tuning change each layer? Weights and representations, per layer.

* :func:`weight_drift`: relative change of each layer group's weights,
  :math:`\lVert W_{\text{after}} - W_{\text{before}} \rVert_F / \lVert W_{\text{before}} \rVert_F`.
* :func:`linear_cka`: linear centred kernel alignment (Kornblith et al. 2019) between
  two sets of representations of the same inputs; 1 means the same up to rotation and scale.
* :func:`layer_representations` + :func:`cka_per_layer`: CKA between the pretrained and the
  fine-tuned model, layer by layer, on the same texts.

Howard & Ruder (2018) argue that lower layers hold general features and should change least;
these functions measure whether they do.

Taught in notebooks/03_transfer_learning.ipynb.
"""

from __future__ import annotations

import numpy as np


def weight_drift(before: dict, model) -> dict[str, float]:
    """``{group: relative Frobenius change}`` from the state dict ``before`` to ``model`` now.

    Groups are :func:`sft_teach.models.layer_groups` (embeddings, layer.i, head); the new
    classifier is left out (it has no "before"). ``before`` maps parameter names to tensors.
    """
    from sft_teach.errors import ConfigError
    from sft_teach.models import check_model, layer_groups

    if not isinstance(before, dict):  # the model first, say: an AttributeError from inside
        raise ConfigError(f"weight_drift takes the state dict from before training, then the model, got a "
                          f"{type(before).__name__} first: before = {{k: v.clone() for k, v in model.state_dict().items()}}")
    check_model(model, "weight_drift")
    names = {id(p): name for name, p in model.named_parameters()}
    drift = {}
    for group, params in layer_groups(model).items():
        pairs = [(before[names[id(p)]], p.detach()) for p in params
                 if names[id(p)] in before and "classifier" not in names[id(p)]]
        if not pairs:
            continue
        change = sum(float(((a - b) ** 2).sum()) for b, a in pairs) ** 0.5
        size = sum(float((b ** 2).sum()) for b, _ in pairs) ** 0.5
        drift[group] = change / size
    return drift


def linear_cka(x, y) -> float:
    r"""Linear CKA of ``x`` (n, d1) and ``y`` (n, d2), rows = the same n inputs.

    .. math:: \mathrm{CKA}(X, Y) = \frac{\lVert Y^\top X \rVert_F^2}{\lVert X^\top X \rVert_F \, \lVert Y^\top Y \rVert_F}

    with every column of X and Y centred first (Kornblith et al. 2019).
    """
    from sft_teach.errors import ConfigError

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):  # rows must be the same inputs, seen twice
        raise ConfigError(f"linear_cka compares two representations of the same inputs, (n, d1) and (n, d2): got "
                          f"shapes {x.shape} and {y.shape}")
    for name, values in (("x", x), ("y", y)):
        # 0 / 0 (nan, which would look like a result in a table), or rounding noise over rounding noise
        if np.ptp(values, axis=0).max(initial=0.0) <= 1e-12 * max(1.0, float(np.abs(values).max(initial=0.0))):
            raise ConfigError(f"linear_cka: {name} is the same for all {len(values)} inputs (nothing varies), so "
                              f"CKA is undefined: compare at least two inputs with different representations")
    x = x - x.mean(axis=0)  # (n, d1)
    y = y - y.mean(axis=0)  # (n, d2)
    cross = np.linalg.norm(y.T @ x, "fro") ** 2
    return float(cross / (np.linalg.norm(x.T @ x, "fro") * np.linalg.norm(y.T @ y, "fro")))


def layer_representations(model, tokenizer, texts, max_length: int = 128, batch_size: int = 64) -> list[np.ndarray]:
    """Mean-pooled hidden states of every layer: a list (embeddings, block 1, ..., block L) of (n, hidden)."""
    import torch

    from sft_teach.embeddings import mean_pool
    from sft_teach.models import evaluation_mode

    body = model.base_model
    layers: list[list[np.ndarray]] = []
    with torch.no_grad(), evaluation_mode(body):
        for i in range(0, len(texts), batch_size):
            batch = tokenizer(list(texts[i:i + batch_size]), padding=True, truncation=True, max_length=max_length,
                              return_tensors="pt")
            hidden = body(**batch, output_hidden_states=True).hidden_states  # L+1 x (batch, seq, hidden)
            for k, h in enumerate(hidden):
                if len(layers) <= k:
                    layers.append([])
                layers[k].append(mean_pool(h, batch["attention_mask"]).numpy())
    return [np.concatenate(parts) for parts in layers]


def cka_per_layer(model_a, model_b, tokenizer, texts) -> list[float]:
    """Linear CKA between ``model_a`` and ``model_b`` at each layer, on the same ``texts``."""
    a = layer_representations(model_a, tokenizer, texts)
    b = layer_representations(model_b, tokenizer, texts)
    return [linear_cka(x, y) for x, y in zip(a, b)]
