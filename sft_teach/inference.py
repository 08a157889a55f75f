"""Use a fine-tuned classifier: load it from its folder, predict, evaluate; find where it goes wrong.

Taught in notebooks/02_technical_recipe.ipynb (:func:`confident_mistakes` and
:func:`pronoun_pairs` in notebooks/01_beginner_cats_and_dogs.ipynb).
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np

from sft_teach.cli_conventions import shell_word
from sft_teach.errors import ConfigError, ModelNotFoundError


def load_finetuned(model_dir):
    """``(model, tokenizer)`` from a folder that ``finetune`` (or ``save_pretrained``) wrote.

    Loads safetensors weights only, from the local folder only: no network, no pickle.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = Path(model_dir)
    if not str(model_dir).strip():  # an unset shell variable: not the current folder
        raise ModelNotFoundError("the model folder's name is empty: pass the folder that `sft-teach finetune` wrote "
                                 "(by default sft-output/model)")
    if not (folder / "config.json").is_file():
        from sft_teach.models import model_folder_hint

        what = ("does not exist" if not folder.exists() else
                "is a file, not a model folder" if folder.is_file() else "has no config.json")
        if folder.is_file() and (folder.parent / "config.json").is_file():  # model/config.json passed for model/
            hint = f"pass the folder that holds it, {folder.parent}"
        else:
            hint = model_folder_hint(folder, "pass the folder that `sft-teach finetune` wrote (by default "
                                             "sft-output/model)")
        raise ModelNotFoundError(f"model folder '{model_dir}' {what}: {hint}")
    if not any(folder.glob("*.safetensors")):
        raise ModelNotFoundError(f"model folder '{model_dir}' has no .safetensors weights: save it with save_pretrained()")
    from safetensors import SafetensorError

    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # its load report of missing weights: said below, in one line
    try:
        model, loading = AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True,
                                                                            use_safetensors=True,
                                                                            output_loading_info=True)
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (SafetensorError, OSError, ValueError) as exc:  # a file cut short, or one the folder lacks
        raise ModelNotFoundError(f"model folder '{model_dir}' cannot be read ({str(exc).splitlines()[0]}): it is "
                                 f"incomplete or damaged: copy the whole folder again, or train it again") from None
    finally:
        hf_logging.set_verbosity(verbosity)
    # Weights the folder lacks are drawn at random: a pretrained body with no trained classifier
    # (the base model itself) would answer at random, differently on every load, without an error.
    missing = sorted(loading["missing_keys"])
    if missing:
        named = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise ModelNotFoundError(f"model folder '{model_dir}' has no weights for {named}, which would be drawn at "
                                 f"random: it is not a fine-tuned classifier (a pretrained model, say): fine-tune "
                                 f"it first (sft-teach finetune --model {shell_word(model_dir)} --data YOUR.csv)")
    # finetune's folder (config.json records its data) keeps the length training cut texts at in
    # tokenizer_config.json: without it, texts would be cut at the base model's 512 tokens instead
    if "sft_teach" in model.config.to_dict() and not (folder / "tokenizer_config.json").is_file():
        raise ModelNotFoundError(f"model folder '{model_dir}' has no tokenizer_config.json, which holds the length "
                                 f"training cut texts at: copy the whole folder again, or train it again")
    # Without tokenizer.json (a folder copied in part) a tokenizer still loads, knowing only its
    # special tokens: every word would become [UNK], and every prediction garbage, without an error.
    vocabulary = getattr(model.config, "vocab_size", None)
    if vocabulary and len(tokenizer) < vocabulary // 2:
        raise ModelNotFoundError(f"model folder '{model_dir}': its tokenizer knows {len(tokenizer):,} tokens and "
                                 f"the model {vocabulary:,}: tokenizer.json is missing or damaged: copy the whole "
                                 f"folder again, or train it again")
    model.eval()
    return model, tokenizer


def label_names(model) -> list[str]:
    """Class names in id order, from the model's ``config.id2label``."""
    from sft_teach.models import check_model

    check_model(model, "label_names")
    return [model.config.id2label[i] for i in range(model.config.num_labels)]


def max_length_of(model, tokenizer) -> int:
    """The longest input in tokens: the tokenizer's ``model_max_length`` as saved with the model.

    ``finetune`` saves the training ``max_length`` there, so prediction cuts texts where training
    did. Tokenizers without a limit report about 1e30; then the model's position limit applies.
    """
    positions = int(getattr(model.config, "max_position_embeddings", None) or 512)
    limit = getattr(tokenizer, "model_max_length", None)
    if limit and limit < 100_000:
        return min(int(limit), positions)  # a tokenizer saved for a larger model must not overrun this one
    return positions


def _as_texts(texts) -> list:
    """One string as a list of one text (not of its characters); a list, tuple or column as a list."""
    from collections.abc import Mapping

    if isinstance(texts, str):
        return [texts]
    # a table iterates over its column names, a dict over its keys, a Dataset over its row dicts:
    # never over the texts, so it is named, not classified
    if isinstance(texts, Mapping) and hasattr(texts, "column_names"):  # a DatasetDict: a split, then its column
        raise ConfigError(f"texts takes a text or a list of texts, got a {type(texts).__name__}: pass one split's "
                          f"column of texts, e.g. dataset['test']['text']")
    names = (texts.column_names if hasattr(texts, "column_names") else texts.columns if hasattr(texts, "columns")
             else texts if isinstance(texts, Mapping) else None)  # a Dataset or pyarrow Table, a DataFrame, a dict
    if names is not None:
        names = [str(name) for name in names]
        texts_like = [name for name in names if name.lower() not in ("label", "labels", "target", "class", "y")]
        column = "text" if "text" in names else texts_like[0] if texts_like else "<your text column>"
        raise ConfigError(f"texts takes a text or a list of texts, got a {type(texts).__name__}: pass its column of "
                          f"texts, e.g. {'data' if isinstance(texts, Mapping) else 'df' if hasattr(texts, 'iloc') else 'dataset'}"
                          f"[{column!r}]")
    if not hasattr(texts, "__iter__"):  # None, a number: not a TypeError from deep inside
        raise ConfigError(f"texts takes a text or a list of texts, got {type(texts).__name__} {texts!r:.40}: "
                          f"e.g. ['Purred all night.']")
    return list(texts)


def predict_proba(model, tokenizer, texts, batch_size: int = 64, max_length: int | None = None) -> np.ndarray:
    """Class probabilities ``(len(texts), num_labels)``, batched, padded per batch.

    Texts longer than ``max_length`` tokens (default: :func:`max_length_of`) are truncated, so
    a text of any length gets a prediction. One string is one text (not a list of characters).
    """
    import torch

    from sft_teach.models import check_max_length, check_model, check_tokenizer, evaluation_mode
    from sft_teach.setting_checks import whole

    check_model(model, "predict_proba")
    check_tokenizer(tokenizer, "predict_proba")
    if not whole(batch_size, least=1):
        raise ConfigError(f"batch_size= must be a whole number of at least 1, got {batch_size!r}: e.g. 64")
    check_max_length(model, max_length)  # a length asked for; the default below always fits
    max_length = max_length or max_length_of(model, tokenizer)

    texts = _as_texts(texts)
    not_text = next(((i, t) for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if not_text is not None:  # a missing value in a pandas column is the float nan
        from sft_teach.errors import DataError

        from sft_teach.labels import is_missing

        i, value = not_text
        # str() of a missing value is a text ('None', 'nan') the model would classify: the fix is to leave it out
        missing = is_missing(value)
        raise DataError(f"text {i} (0-based) is {value!r} ({type(value).__name__}), not a string: every text must be "
                        + ("one; this is a missing value: leave those rows out first, e.g. df.dropna(subset=[...])"
                           if missing else "one: convert it with str(), or leave it out"))
    device = next(model.parameters()).device
    out = []
    # dropout off: a text always gets the same prediction (Trainer leaves models in train mode)
    with torch.inference_mode(), evaluation_mode(model):
        # sort by length so each batch pads only to similar lengths; unsort at the end
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(texts), batch_size):
            chunk = [texts[i] for i in order[start:start + batch_size]]
            batch = tokenizer(chunk, padding=True, truncation=True, max_length=max_length, return_tensors="pt").to(device)
            out.append(torch.softmax(model(**batch).logits.float(), dim=-1).cpu().numpy())
    probs = np.concatenate(out) if out else np.zeros((0, model.config.num_labels))
    result = np.empty_like(probs)
    result[order] = probs
    return result


# predict_proba's options, read from its signature once (a function patched in over it keeps them)
_PREDICT_OPTIONS = tuple(inspect.signature(predict_proba).parameters)[3:]  # after model, tokenizer, texts


def _check_passed_on(kwargs: dict, caller: str, own=()) -> None:
    """The keywords ``caller`` passes on to :func:`predict_proba`: one it does not know either is a
    :class:`ConfigError` naming the one probably meant (``skip_unkown=``: ``skip_unknown=``), not a
    ``TypeError`` from a function the user never called."""
    import difflib

    known = _PREDICT_OPTIONS
    for name in kwargs:
        if name not in known:
            close = difflib.get_close_matches(name, [*own, *known], n=1)
            raise ConfigError(f"{caller} has no setting {name}=" + (f": did you mean {close[0]}=?" if close else
                              f": its settings are {', '.join(f'{k}=' for k in [*own, *known])}"))


def predict(model, tokenizer, texts, **kwargs) -> list[dict]:
    """``[{"text", "label", "score"}]``: the most likely class and its probability per text (one
    string: a list of one, as ``pipeline`` gives). Keywords go to :func:`predict_proba`
    (``batch_size=``, ``max_length=``)."""
    from sft_teach.models import check_model, check_tokenizer

    _check_passed_on(kwargs, "predict")
    check_model(model, "predict")
    check_tokenizer(tokenizer, "predict")
    names = label_names(model)
    texts = _as_texts(texts)
    probs = predict_proba(model, tokenizer, texts, **kwargs)
    return [{"text": t, "label": names[int(p.argmax())], "score": float(p.max())} for t, p in zip(texts, probs)]


def evaluate(model, tokenizer, dataset, per_class: bool = False, skip_unknown: bool = False,
             merge_case: bool = False, warn_about_texts: bool = True, **kwargs) -> dict:
    """Accuracy and macro-F1 of ``model`` on a ``Dataset`` with ``text`` and ``label``.

    The labels (class ids of a ``ClassLabel``, or strings) are matched to the model's classes by
    *name*, so a CSV whose labels are sorted differently is still scored correctly. A label the
    model does not know is a :class:`~sft_teach.errors.DataError`, unless ``skip_unknown``: then
    its rows are left out, a :class:`~sft_teach.errors.SftTeachWarning` says how many, and the
    result's ``"skipped"`` is ``{label: rows}``. ``merge_case``: ``Cat`` scores as the model's
    ``cat``. ``per_class``: also each of the model's classes' precision, recall, F1 and support
    (:func:`sft_teach.metrics.per_class`). Other keywords go to :func:`predict_proba`
    (``max_length=``, ``batch_size=``).

    Every reason the score may mislead is raised as a :class:`~sft_teach.errors.SftTeachWarning`
    (:mod:`sft_teach.score_warnings`): texts of the training split of the run that wrote the model
    (its folder's ``../splits/train.csv``), texts scored more than once, texts cut at ``max_length``,
    before scoring (unless ``warn_about_texts=False``: the command finds and says them itself, before
    reading the model's answers); classes of the model with no rows, after. ``sft-teach evaluate`` scores with this function and
    says the same, with its own on top (the very file the model was trained on, a split that chose
    the epoch kept) and the accuracy's 95 % interval (:func:`sft_teach.stats.wilson_interval`).
    """
    import warnings

    from sft_teach import metrics, score_warnings
    from sft_teach.errors import DataError, SftTeachWarning
    from sft_teach.labels import as_the_model_spells, case_spellings, known_rows, names_of, skipped_line

    from datasets import DatasetDict

    from sft_teach.models import check_model, check_tokenizer
    from sft_teach.splits import require_texts

    _check_passed_on(kwargs, "evaluate", own=("per_class", "skip_unknown", "merge_case", "warn_about_texts"))
    check_model(model, "evaluate")
    check_tokenizer(tokenizer, "evaluate")
    if isinstance(dataset, DatasetDict):  # which split is a choice to make, not to guess
        raise DataError(f"evaluate scores one split, and this data has {len(dataset)} ({', '.join(dataset)}): "
                        f"pass one, e.g. data['test']")
    columns = getattr(dataset, "column_names", None)
    if columns is None or not {"text", "label"} <= set(columns):
        raise DataError(f"evaluate needs a datasets.Dataset with columns 'text' and 'label' (got "
                        f"{type(dataset).__name__}{f' with columns {columns}' if columns else ''}): read a CSV "
                        f"with sft_teach.data.from_csv(path, labels=label_names(model)), or make one with "
                        f"datasets.Dataset.from_dict({{'text': [...], 'label': [...]}})")
    if len(dataset) == 0:
        raise DataError("evaluate: the dataset has no rows: pass the labelled texts to score")
    names = label_names(model)
    written = names_of(dataset["label"][:], dataset.features["label"], fix=(
        f"give the labels as names ({', '.join(map(repr, names))}), or cast the column with "
        f"datasets.ClassLabel(names=label_names(model))"), read_in_one_form=False)
    if merge_case:
        spelling = case_spellings(written, names)
        written = [spelling.get(label, label) for label in written]
    # 'tech support' scores as a saved model's 'tech  support' (and 'Tech Support' too, with merge_case)
    written = as_the_model_spells(written, names, merge_case=merge_case)
    keep, skipped = known_rows(written, names, source="evaluate", skip_unknown=skip_unknown)
    if skipped:
        warnings.warn(f"evaluate: {skipped_line(skipped, len(keep))}", SftTeachWarning, stacklevel=2)
    every = dataset["text"][:]  # the column read at once (a lazy Column in datasets 4)
    texts = [every[i] for i in keep]
    require_texts(texts, "evaluate: the text column", rows=keep)  # not in the rows skip_unknown leaves out
    truth = [names.index(written[i]) for i in keep]
    if warn_about_texts:  # said before the scoring, which may take a while
        for finding in (score_warnings.empty(texts)
                        + score_warnings.seen_in_training(getattr(model, "name_or_path", None), texts)
                        + score_warnings.repeated(texts, truth)
                        + score_warnings.hard_to_read(model, tokenizer, texts, kwargs.get("max_length"),
                                                      option="max_length=")):
            warnings.warn(f"evaluate: {finding}", SftTeachWarning, stacklevel=2)
    predictions = predict_proba(model, tokenizer, texts, **kwargs).argmax(axis=-1)
    out = {**metrics.scores(truth, predictions), "n": len(truth)}
    if skipped:
        out["skipped"] = skipped
    classes = metrics.per_class(truth, predictions, names)
    for finding in score_warnings.classes_without_rows(classes, len(truth)):
        warnings.warn(f"evaluate: {finding}", SftTeachWarning, stacklevel=2)
    if per_class:
        out["per_class"] = classes
    return out


def confident_mistakes(probs, truth, k: int = 5) -> list[int]:
    """Indices of the ``k`` wrong predictions the model was surest of, surest first.

    ``probs``: ``(n, num_labels)`` from :func:`predict_proba`; ``truth``: true class ids.
    A model that is wrong *and* sure is the mistake a user cannot see coming.
    Taught in notebooks/01_beginner_cats_and_dogs.ipynb.
    """
    probs, truth = np.asarray(probs), np.asarray(truth)
    if probs.ndim != 2 or len(probs) != len(truth):  # else the indices would point at other examples
        raise ConfigError(f"confident_mistakes: probs must be (examples, classes) and truth one id per example: got "
                          f"probs of shape {probs.shape} and {len(truth)} true labels")
    wrong = np.flatnonzero(probs.argmax(axis=1) != truth)
    return [int(i) for i in wrong[np.argsort(-probs[wrong].max(axis=1), kind="stable")][:k]]


_MALE = {"he": "she", "him": "her", "his": "her", "himself": "herself"}
_FEMALE = {"she": "he", "herself": "himself"}  # "her" is his or him depending on the sentence: not swapped
_PRONOUN = re.compile(r"\b(he|him|his|himself|she|her|hers|herself)\b", re.IGNORECASE)


def _swap(text: str, table: dict) -> str:
    def one(match):
        word = match.group(0)
        new = table[word.lower()]
        if word.lower() == "his" and re.match(r"\s*([.,;:!?)]|$)", text[match.end():]):
            new = "hers"  # "the lead is his" -> "the lead is hers", not "her"
        return new.capitalize() if word[0].isupper() else new
    return _PRONOUN.sub(one, text)


def pronoun_pairs(texts) -> list[tuple[int, str, str]]:
    """``(index, he_version, she_version)`` for every text whose pronouns can be swapped word by word.

    A text that uses only he/him/his/himself gets its she-version (his and him become her, a
    standalone his becomes hers);
    one that uses only she/herself gets its he-version. Texts with "her" (his or him?), "hers",
    both genders, or no such pronoun are left out. A model that changes its answer between the
    two versions of one note is using the pronoun as a cue (notebook 01's shortcut check).
    Taught in notebooks/01_beginner_cats_and_dogs.ipynb.
    """
    if isinstance(texts, str):  # its letters, none a pronoun: [] in silence, as if the note had none
        raise ConfigError(f"pronoun_pairs takes a list of texts, got one text ({texts!r:.40}): pronoun_pairs([text])")
    pairs = []
    for index, text in enumerate(texts):
        found = {m.group(0).lower() for m in _PRONOUN.finditer(text)}
        if found and found <= set(_MALE):
            pairs.append((index, text, _swap(text, _MALE)))
        elif found and found <= set(_FEMALE):
            pairs.append((index, _swap(text, _FEMALE), text))
    return pairs
