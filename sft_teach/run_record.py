"""What a finished fine-tuning run writes beside its model, so that the folder explains itself.

``OUTPUT/metrics.json`` (the scores with their 95 % interval, the settings, what cleaning removed,
the warnings, the per-class scores, the validation curve and the whole log), ``OUTPUT/loss.png``,
``OUTPUT/confusion.png`` and the model card ``OUTPUT/model/README.md``. Python's
``finetune(output_dir=...)`` and ``sft-teach finetune`` both write them through :func:`write_run`:
one folder, whichever way a run was started.

The folder itself too: :func:`check_output_dir` refuses one that already holds a run (unless
``overwrite``), :func:`clear_run` removes an earlier run's files before the new ones are written,
and :func:`settings` is what a Python run records of its data, model and training settings.

Taught in notebooks/05_your_own_data.ipynb (the folder a run on the learner's own file writes: its
model card and metrics.json).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from sft_teach.errors import ConfigError

# Everything a run writes into its output folder (with model/ and splits/): the command line's
# --overwrite replaces a folder only if it holds nothing else
RUN_OUTPUTS = frozenset({"metrics.json", "loss.png", "confusion.png", "model", "splits"})

# What metrics.json holds beyond the command's JSON line (too long for one line of output)
_DETAILS = ("per_class", "validation_curve", "history")


def portable(value) -> str:
    """A dataset or model as recorded in outputs: a path is reduced to its last part, so that
    saved results never hold the absolute paths of the machine that produced them."""
    path = Path(str(value))
    return path.name if path.is_absolute() or path.exists() else str(value)


def as_typed(value) -> str:
    """A dataset as ``evaluate``'s and ``check``'s printed results name it, results not saved: a
    relative path as typed (``run1/splits``, which says which run, where :func:`portable` would say
    ``splits``), an absolute one reduced to its last part as in saved results."""
    return portable(value) if Path(str(value)).is_absolute() else str(value)


def base_model_name(model) -> str:
    """How the card names the base model: the hub name of the bundled model, a folder's name, or
    the hub name; for a model object, the same of the checkpoint it was loaded from. A folder that
    sft-teach fine-tuned is named by the model it was fine-tuned from, and then the folder
    (``sentence-transformers/all-MiniLM-L6-v2, continued from run/model``): "model" alone said nothing."""
    from sft_teach.models import DEFAULT_MODEL, resolve_model

    name = model if isinstance(model, (str, Path)) else getattr(model, "name_or_path", "") or "a model object"
    name = str(name)
    if name == "default" or name.lower() == DEFAULT_MODEL.lower():
        return DEFAULT_MODEL
    if Path(name).is_dir() and Path(name).resolve() == Path(resolve_model("default")).resolve():
        return DEFAULT_MODEL  # a model object built from the bundled checkpoint
    earlier = saved_notes(name).get("base_model")
    if earlier:
        # as written, made whole: ".", "..", "~/runs/a/model" name no folder by their last part
        folder = Path(os.path.abspath(Path(name).expanduser()))
        shown = "/".join(folder.parts[-2:]) if folder.name == "model" else folder.name  # run/model
        return f"{earlier.split(CONTINUED)[0]}{CONTINUED}{shown}"
    return portable(name)


CONTINUED = ", continued from "  # in a base model's name: what a fine-tuned folder came from, then the folder


def recorded_model(model) -> str:
    """The model as a run's record names it: "default" for the bundled one as asked, else
    :func:`base_model_name`."""
    return "default" if model == "default" else base_model_name(model)


def saved_notes(folder) -> dict:
    """What a model folder sft-teach saved keeps under ``sft_teach`` in its config.json: how its training
    data was read, and the model it came from (``base_model``, ``base_model_id``); {} for any other."""
    try:
        found = json.loads((Path(folder).expanduser() / "config.json").read_text()).get("sft_teach")
    except (OSError, ValueError, AttributeError):
        return {}
    return found if isinstance(found, dict) else {}


def push_model(folder, repo: str, private: bool | None = None, token: str | None = None,
               revision: str | None = None) -> str:
    """Upload a saved model folder (weights, tokenizer, card) to the Hub repository ``repo``; its URL.

    ``private``: create the repository private (``None``: the Hub's default for a new one);
    ``token``: instead of the one ``hf auth login`` saved; ``revision``: a branch instead of main.
    Any failure (network, login, permission) is one :class:`sft_teach.errors.SftTeachError`
    that says the folder is saved and how to upload it later."""
    from huggingface_hub import create_repo, upload_folder

    from sft_teach.cli_conventions import shell_word
    from sft_teach.errors import SftTeachError

    try:
        create_repo(repo, exist_ok=True, private=private, token=token)
        upload_folder(repo_id=repo, folder_path=str(folder), token=token, revision=revision)
    except Exception as exc:  # the model is saved either way
        raise SftTeachError(f"uploading to {repo} failed ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
                            f"the model is saved in {folder}: upload it later with hf upload {repo} {shell_word(folder)}") from None
    return f"https://huggingface.co/{repo}"


def hub_id(model) -> str | None:
    """The base model's Hugging Face Hub id, for the card's ``base_model``: for a folder sft-teach
    saved, the id it was fine-tuned from (its config's ``sft_teach.base_model_id``); ``None`` for
    another local folder (its name is no Hub id, and says nothing of the model it was made from)."""
    from sft_teach.models import DEFAULT_MODEL, looks_like_path

    name = base_model_name(model)
    if name == DEFAULT_MODEL:
        return name
    raw = str(model if isinstance(model, (str, Path)) else getattr(model, "name_or_path", "") or "")
    if raw and saved_notes(raw).get("base_model_id"):  # a fine-tuned folder: what it came from
        return saved_notes(raw)["base_model_id"]
    return None if not raw or looks_like_path(raw) or Path(raw).exists() else name


def software() -> dict[str, str]:
    """The versions a run's numbers depend on (another transformers or torch may train differently)."""
    from sft_teach.environment import versions

    found = versions()
    return {name: found[name] for name in ("sft-teach", "python", "torch", "transformers", "accelerate", "datasets")}


def recipe_changes(settings: dict) -> dict:
    """What a run changed of its ``--recipe``'s settings: ``{"epochs": 2}`` for ``--recipe best --epochs 2``."""
    from sft_teach.training import RECIPES

    values = RECIPES.get(settings.get("recipe"), {})
    recipe = {"epochs": values.get("num_train_epochs"), "learning_rate": values.get("learning_rate"),
              "head_epochs": values.get("head_epochs")}
    return {key: settings[key] for key, value in recipe.items()
            if value is not None and key in settings and float(settings[key]) != float(value)}


def recipe_as_run(settings: dict) -> str:
    """The recipe's name, and what the run changed of it: ``"best (changed: epochs 2, head_epochs 1)"``.

    A run of ``--recipe best --epochs 2`` is not the best recipe, and its card must not say it is."""
    changed = recipe_changes(settings)
    listed = ", ".join(f"{key} {value:g}" for key, value in changed.items())
    return f"{settings['recipe']} (changed: {listed})" if changed else settings["recipe"]


def dataset_fingerprint(dataset) -> str:
    """``sha256:<hex>`` of a ``DatasetDict``'s texts and labels, split by split: what the card
    records for data given as an object rather than a file (whose own bytes are hashed then)."""
    digest = hashlib.sha256()
    for name, part in dataset.items():
        digest.update(json.dumps([name, list(part["text"]), list(part["label"])], ensure_ascii=False).encode() + b"\0")
    return f"sha256:{digest.hexdigest()}"


def write_run(folder, result, split_sizes: dict, settings: dict, *, base_model: str, cleaning: dict | None = None,
              warnings=(), base_model_id: str | None = None) -> dict:
    """Write ``folder``'s metrics.json, loss.png, confusion.png and ``folder/model/README.md``.

    ``result``: a :class:`sft_teach.training.FinetuneResult`; ``split_sizes``: rows per split;
    ``settings``: what the run was trained with (``data``, ``data_sha256``, ``epochs``,
    ``learning_rate``, ... as :func:`sft_teach.training.finetune` records them); ``warnings``: what
    :func:`sft_teach.checks.check` found in the data and what training showed. Returns the record
    without its long parts (per-class scores, validation curve, log): the command's JSON line.
    """
    from sft_teach import plots
    from sft_teach.metrics import confusion, per_class
    from sft_teach.model_card import epoch_number, write_model_card
    from sft_teach.stats import wilson_interval

    folder = Path(folder)
    n = len(result.label_ids)
    low, high = wilson_interval(int((result.predictions == result.label_ids).sum()), n)
    curve = [{"epoch": row["epoch"], "accuracy": row["eval_accuracy"], "macro_f1": row["eval_macro_f1"]}
             for row in result.history["eval"] if "eval_macro_f1" in row]
    settings = {k: int(v) if k in ("epochs", "head_epochs") and float(v).is_integer() else v  # 3, not 3.0
                for k, v in settings.items()}
    record = {**{k: round(v, 4) if isinstance(v, float) else v for k, v in result.metrics.items()},
              "accuracy_interval_95": [round(low, 4), round(high, 4)], "eval_split": result.eval_split,
              "eval_size": n, **settings, "cleaning": cleaning, "warnings": [str(w) for w in warnings],
              "versions": software()}
    if "recipe" in settings:  # the JSON says what the card says: a recipe changed by options is not that recipe
        record["changed_from_recipe"] = recipe_changes(settings)
    classes = per_class(result.label_ids, result.predictions, result.label_names)  # null: a class not in the split
    (folder / "metrics.json").write_text(json.dumps({**record, "per_class": classes, "validation_curve": curve,
                                                     "history": result.history}, indent=2))

    kept, why = result.metrics["train_steps"], "weights kept (the last step)"  # plain: the last step's weights
    if "best_epoch" in result.metrics:  # the step at the end of the epoch kept
        kept = next(row["step"] for row in result.history["eval"]
                    if epoch_number(row["epoch"]) == result.metrics["best_epoch"])
        why = "weights kept (best validation macro-F1)"  # not the lowest validation loss: say which
    plots.loss_curve(result.history, total_steps=result.metrics["train_steps"], kept_step=kept, kept_label=why,
                     head_steps=result.metrics.get("head_steps"), batches_per_step=settings.get("grad_accum", 1),
                     resumed_step=result.metrics.get("resumed_from_step"), title="loss during training").savefig(
        folder / "loss.png", dpi=120)
    matrix = confusion(result.label_ids, result.predictions, len(result.label_names))
    plots.confusion_plot(matrix, result.label_names, title=f"{result.eval_split} split").savefig(
        folder / "confusion.png", dpi=120)

    card_settings = {k: settings[k] for k in ("recipe", "epochs", "learning_rate", "batch_size", "grad_accum",
                                              "max_length", "seed", "head_epochs", "head_learning_rate", "warmup",
                                              "weight_decay", "patience") if k in settings}
    if "recipe" in card_settings:
        card_settings["recipe"] = recipe_as_run(settings)
    card_settings.update(settings.get("trainer_settings", {}))  # TrainingArguments given in Python
    if "epochs_run" in result.metrics:  # stopped early by patience, or ran them all
        card_settings["epochs run"] = result.metrics["epochs_run"]
    if "resumed_from_step" in result.metrics:  # an interrupted run went on from there
        card_settings["resumed from step"] = result.metrics["resumed_from_step"]
    write_model_card(folder / "model", base_model=base_model, base_model_id=base_model_id, data=settings.get("data"),
                     fingerprint=settings.get("data_sha256"), split_sizes=split_sizes, settings=card_settings,
                     validation_curve=curve, test_metrics=result.metrics, label_names=result.label_names,
                     eval_split=result.eval_split, best_epoch=result.metrics.get("best_epoch"), cleaning=cleaning,
                     columns=(settings.get("text_column", "text"), settings.get("label_column", "label")),
                     encoding=settings.get("encoding"),
                     per_class=classes, warnings=record["warnings"], software=record["versions"])
    return record


def read_record(folder) -> dict:
    """``folder/metrics.json`` without its long parts: what ``sft-teach finetune`` prints as its
    last line."""
    path = Path(folder) / "metrics.json"
    if not path.is_file():  # a bare FileNotFoundError named only the file inside
        raise ConfigError(f"read_record: {folder} holds no metrics.json: give the folder a training run wrote "
                          f"(finetune's output_dir, sft-teach finetune --output)")
    record = json.loads(path.read_text())
    return {k: v for k, v in record.items() if k not in _DETAILS}


def held(folder: Path) -> tuple[list[str], list[str]]:
    """``(run_files, strangers)``: what ``folder`` holds of a run's files (:data:`RUN_OUTPUTS`), and the
    names that are not a run's (a folder's with a ``/``): other files, and a ``model/`` or ``splits/``
    with no ``metrics.json`` beside it (the user's own, or a Python run interrupted while saving, which
    writes metrics.json last). The one rule, for Python's ``overwrite=True`` and the command's ``--overwrite``."""
    if not folder.is_dir():
        return [], []

    def shown(name):
        return f"{name}/" if (folder / name).is_dir() else name

    names = sorted(p.name for p in folder.iterdir())
    if "metrics.json" not in names:
        return [], [shown(name) for name in names]
    return [name for name in names if name in RUN_OUTPUTS], [shown(name) for name in names if name not in RUN_OUTPUTS]


def check_output_dir(folder: Path, overwrite: bool) -> None:
    """An :class:`OutputExistsError` for a folder that already holds a run, or a ``model/`` or ``splits/``
    with no metrics.json beside it, unless ``overwrite`` (which replaces those and leaves the user's other
    files); and for a folder that cannot be written."""
    from sft_teach.errors import OutputExistsError

    if folder.exists() and not folder.is_dir():
        raise OutputExistsError(f"output_dir '{folder}' is a file: choose another output_dir")
    if folder.is_symlink() and not folder.exists():
        raise OutputExistsError(f"output_dir '{folder}' is a link to {os.readlink(folder)}, which does not exist: "
                                f"make that folder, or choose another output_dir")
    run_files, strangers = held(folder)
    taken = [name for name in strangers if name.rstrip("/") in RUN_OUTPUTS]  # the names a run would replace
    if taken and not overwrite:  # the user's own model/ or splits/, or a run interrupted while saving
        which = "them" if len(taken) > 1 else "it"
        raise OutputExistsError(f"output_dir '{folder}' holds {', '.join(taken)} but no metrics.json: your own, or a "
                                f"run interrupted while saving: overwrite=True replaces {which}, or choose another "
                                f"output_dir")
    if run_files and not overwrite:
        raise OutputExistsError(f"output_dir '{folder}' already holds a run ({', '.join(run_files)}): pass "
                                f"overwrite=True to replace it, or choose another output_dir")
    _check_writable(folder)


def _nearest(folder) -> Path:
    """``folder``, or the nearest of its parents that exists (a link counts, though it lead nowhere)."""
    existing = Path(folder).absolute()
    while not os.path.lexists(existing):
        existing = existing.parent
    return existing


def file_in_the_way(folder) -> Path | None:
    """The file (not a folder) at ``folder`` or the nearest of its parents that exists, which making
    ``folder`` would need to be a folder; ``None`` when there is none."""
    existing = _nearest(folder)
    return None if existing.is_dir() else existing


def _check_writable(folder: Path) -> None:
    """An :class:`OutputExistsError` now, before any training, when nothing can be written where the run
    would go (a read-only disk, a folder without write permission, a file where a folder must be): it
    would otherwise end minutes of training in an OSError. Probed with a folder made and removed in the
    nearest folder that exists."""
    import tempfile

    from sft_teach.errors import OutputExistsError

    existing = _nearest(folder)
    if not existing.is_dir():
        raise OutputExistsError(f"output_dir '{folder}': {existing} is a file, not a folder: choose another output_dir")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".sft-teach-probe-", dir=existing))
    except OSError as exc:
        raise OutputExistsError(f"output_dir '{folder}' cannot be written ({exc.strerror or exc}): choose another "
                                f"output_dir") from None


def clear_run(folder: Path) -> None:
    """Remove an earlier run's files from ``folder`` (a stale splits/test.csv would be scored as
    this run's); the user's own files stay. metrics.json goes last: interrupted here, the folder still
    reads as a run (:func:`held`)."""
    for name in sorted(RUN_OUTPUTS, key=lambda name: name == "metrics.json"):
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def settings(model, data, dataset_sha256: str, *, best_epoch, **settings) -> dict:
    """What a Python run records in metrics.json and its card: the data by its name and a hash of
    its content (of the file, also for a ``load_with_report`` pair, or of a dataset object's texts
    and labels), the model, the recipe when the settings are one of RECIPES, and the training
    settings."""
    import inspect

    from sft_teach import data as data_mod
    from sft_teach.model_card import data_fingerprint
    from sft_teach.setting_checks import DATA_OPTIONS
    from sft_teach.training import RECIPES

    named = isinstance(data, (str, Path))
    read_from = (data[1] or {}).get("read_from") if isinstance(data, tuple) else None  # load_with_report's file
    if read_from:  # recorded as the same file passed by its path would be: its options when not load's defaults
        defaults = inspect.signature(data_mod.load).parameters
        settings = {**{k: v for k, v in read_from.items() if k in DATA_OPTIONS and v != defaults[k].default},
                    **settings}
        data = read_from["data"]
    record = {"data": portable(data) if named or read_from else "a dataset given in Python",
              "data_sha256": read_from["data_sha256"] if read_from else
              data_fingerprint(data) if named else dataset_sha256,  # run_record.dataset_fingerprint
              "model": recorded_model(model)}
    chosen = {"head_epochs": settings["head_epochs"], "num_train_epochs": settings["epochs"],
              "learning_rate": settings["learning_rate"], "best_epoch": best_epoch}
    recipe = next((name for name, values in RECIPES.items() if values == chosen), None)
    return {**record, **({"recipe": recipe} if recipe else {}), **settings}
