"""Sweeps that return plain tables (lists of dicts), for notebooks and benchmarks.

* :func:`train_classifier`: one run of the academic notebooks' experiments: pretrained or
  random start, Yosinski's kept/re-initialised/frozen layers, ULMFiT's techniques;
* :func:`transfer_comparison`, :func:`layer_transfer`, :func:`ablation`,
  :func:`sample_efficiency`: the tables of notebooks 03 and 04 and of ``benchmarks/academic.py``;
  :func:`recipe_learning_rates`: notebook 02's recipe at several peak rates, on the pets notes;
  :func:`mean_std` and :func:`paired` summarise them (sample SD over seeds, paired intervals).

The academic runs share one setting for the 10-desk clinic data (:data:`ACADEMIC`): four
epochs, batch 16, no evaluation during training, and a peak learning rate of 3e-4 for the live
runs. The sweeps choose each configuration's rate on the validation split from
:data:`LEARNING_RATES` (one step higher with discriminative rates, :func:`learning_rate_grid`;
:func:`_tuned_table`) and run :data:`SEEDS`; every run keeps its
right/wrong answer per test item, so two methods can be compared item by item (:func:`paired`).

(Notebook 01's race against the number of labelled examples is :mod:`sft_teach.label_race`.)

Taught in notebooks/03_transfer_learning.ipynb and 04_ulmfit_techniques.ipynb.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from sft_teach.errors import ConfigError
from sft_teach.label_race import balanced_sample


ACADEMIC = {"num_train_epochs": 4, "learning_rate": 3e-4, "batch_size": 16}
LEARNING_RATES = (1e-4, 3e-4, 1e-3, 3e-3)  # the grid each fine-tuning configuration's peak rate is chosen from
SEEDS = (0, 1, 2, 3, 4)  # the sweeps' seeds: a sample SD over five runs
SELECTION_SEEDS = (0, 1)  # the seeds run at every rate of the grid, to choose the rate on validation


def subset(dataset, per_class: int | None, seed: int):
    """``dataset`` with its train split cut to ``per_class`` examples per class (``None``: all)."""
    from datasets import DatasetDict

    train = dataset["train"]
    if per_class is None:
        return dataset
    from collections import Counter

    from sft_teach.setting_checks import whole

    names = train.features["label"].names
    smallest, size = min(((names[c], n) for c, n in Counter(train["label"]).items()), key=lambda item: item[1])
    if not whole(per_class, least=1) or per_class > size:  # more than a class has: fewer, said as more
        raise ConfigError(f"per_class= must be a whole number from 1 to {size} (the smallest class, '{smallest}', has "
                          f"{size} training examples), got {per_class!r}: or None for the whole training split")
    classes = len(names)
    picked = balanced_sample(train["label"], min(per_class * classes, len(train)), seed)
    return DatasetDict({**dataset, "train": train.select(picked)})


def _scored(dataset, predict, test_predictions=None) -> dict:
    """Test and validation scores of ``predict`` (texts -> class ids), and right/wrong per test item.

    ``correct`` is a string of ``0``/``1``, one per test item in the split's order: two runs
    scored on the same items can then be compared item by item (:mod:`sft_teach.stats`);
    ``validation_correct`` is the same for the validation split.
    ``test_predictions``: the test split's predicted ids if already computed.
    """
    from sft_teach.metrics import scores

    test = np.asarray(dataset["test"]["label"])
    predicted = np.asarray(predict(list(dataset["test"]["text"])) if test_predictions is None else test_predictions)
    row = scores(test, predicted)
    row["correct"] = right_wrong(predicted, test)
    if "validation" in dataset:
        truth = np.asarray(dataset["validation"]["label"])
        guessed = np.asarray(predict(list(dataset["validation"]["text"])))
        held_out = scores(truth, guessed)
        row["validation_accuracy"], row["validation_macro_f1"] = held_out["accuracy"], held_out["macro_f1"]
        row["validation_correct"] = right_wrong(guessed, truth)
    return row


def right_wrong(predicted, truth) -> str:
    """``"1"`` where a prediction is right, ``"0"`` where wrong, one character per item."""
    return "".join("1" if ok else "0" for ok in np.asarray(predicted) == np.asarray(truth))


def train_classifier(dataset, seed: int = 0, *, start: str = "pretrained", keep: int | None = None,
                     freeze: int | None = None, techniques=(), epochs_like=None, model: str = "default",
                     return_model: bool = False, **settings) -> dict:
    """Train one classifier on ``dataset["train"]``, score it on ``dataset["test"]`` and ``["validation"]``.

    ``start``: ``"pretrained"`` or ``"scratch"`` (same architecture, random weights).
    ``keep=n``: keep embeddings and blocks 0..n-1, re-initialise the rest
    (:func:`sft_teach.layers.reinitialise_above`); ``freeze=n``: freeze the embeddings and
    blocks 0..n-1 (:func:`sft_teach.layers.freeze_below`). Yosinski's AnB is ``keep=n, freeze=n``.
    ``techniques``: any of :data:`sft_teach.ulmfit.TECHNIQUES`; gradual unfreezing lengthens the
    run (:func:`sft_teach.ulmfit.epochs`); ``epochs_like``: train as many epochs as a run with
    those techniques would, without them (:data:`LENGTH_CONTROL`). Other ``settings`` override
    :data:`ACADEMIC`.
    Returns ``{"accuracy", "macro_f1", "correct", "validation_accuracy", "validation_macro_f1",
    "validation_correct", "epochs", "seconds"}`` (and ``"model"``).
    """
    import time

    from sft_teach import layers, ulmfit
    from sft_teach.baselines import scratch_classifier
    from sft_teach.inference import predict_proba
    from sft_teach.models import load_classifier
    from sft_teach.training import finetune_quietly  # runs compared in a table: their findings in result.warnings

    settings = {**ACADEMIC, **settings}
    names = dataset["train"].features["label"].names
    start_time = time.perf_counter()
    if start == "scratch":
        net, tokenizer = scratch_classifier(names, model, seed=seed)
    else:
        import transformers

        transformers.set_seed(seed)  # the new head's initialisation
        net, tokenizer = load_classifier(model, names)
    if keep is not None:
        layers.reinitialise_above(net, keep, seed)
    if freeze is not None:
        layers.freeze_below(net, freeze)
    techniques = tuple(techniques)
    settings["num_train_epochs"] = ulmfit.epochs(tuple(epochs_like or techniques), net, settings["num_train_epochs"])
    result = finetune_quietly(net, dataset, tokenizer=tokenizer, seed=seed, save=False, progress=False,
                              eval_strategy="no", callbacks=ulmfit.callbacks(techniques, net),
                              optimizers=ulmfit.optimizers(techniques, settings["learning_rate"]) if techniques else None,
                              **settings)
    for p in net.parameters():  # leave nothing frozen behind
        p.requires_grad = True
    trained = result.trainer.model
    row = _scored(dataset, lambda texts: predict_proba(trained, tokenizer, texts, max_length=settings.get("max_length", 128))
                  .argmax(axis=-1), test_predictions=result.predictions)  # finetune scored the test split
    row.update(epochs=settings["num_train_epochs"], seconds=round(time.perf_counter() - start_time, 1))
    if return_model:
        row["model"], row["tokenizer"] = trained, tokenizer
    return row


@functools.lru_cache(maxsize=1)
def _frozen_encoder(model: str):
    """The pretrained body, loaded once per sweep: feature extraction never changes its weights."""
    from sft_teach.embeddings import load_encoder

    return load_encoder(model)


@functools.lru_cache(maxsize=16)
def _embedded(model: str, texts: tuple) -> np.ndarray:
    """Sentence embeddings of ``texts``, kept: a sweep scores every run on the same test split.

    Keyed on the whole tuple of texts, so a repeated list is embedded in exactly the same
    batches as the first time and gives bit-identical vectors. Returned read-only.
    """
    from sft_teach.embeddings import sentence_embeddings

    vectors = sentence_embeddings(texts, *_frozen_encoder(model))
    vectors.flags.writeable = False
    return vectors


def feature_extraction(dataset, seed: int = 0, model: str = "default") -> dict:
    """The frozen pretrained body's sentence embeddings + a logistic-regression head."""
    from sft_teach.baselines import embedding_head

    head = embedding_head(_embedded(model, tuple(dataset["train"]["text"])), dataset["train"]["label"])
    return _scored(dataset, lambda texts: head.predict(_embedded(model, tuple(texts))))


def tfidf(dataset, seed: int = 0) -> dict:
    """TF-IDF + logistic regression: a model that can use only the words of its labelled examples.

    The course's baseline without pretraining. (The same transformer trained from random weights
    learns little from a few hundred messages: notebook 03's n = 0 keeps only the pretrained
    embeddings under random blocks.)
    """
    from sft_teach.baselines import tfidf_logreg

    fitted = tfidf_logreg(dataset["train"]["text"], dataset["train"]["label"])
    return _scored(dataset, fitted.predict)


def _table(runs, seeds, per_class, dataset) -> list[dict]:
    """Each of ``runs[name](part, seed)`` once per seed, on that seed's training examples."""
    rows = []
    for seed in seeds:
        part = subset(dataset, per_class, seed)
        for name, run in runs.items():
            rows.append({"method": name, "per_class": per_class, "seed": seed, **run(part, seed)})
    return rows


def _tuned_table(runs, seeds, per_class, dataset, learning_rates, selection_seeds=SELECTION_SEEDS) -> list[dict]:
    """Each ``runs[name](part, seed, learning_rate)`` at the rate chosen on the validation split.

    Every rate of ``learning_rates`` runs with the ``selection_seeds``; the rate with the
    highest mean validation accuracy over them is chosen (the lower rate on a tie), and the
    remaining ``seeds`` run at that rate only. Every row keeps its ``learning_rate``; rows at the
    chosen rate have ``chosen: True``. The test split plays no part in the choice.
    """
    parts = {seed: subset(dataset, per_class, seed) for seed in seeds}
    rows = []
    for name, run in runs.items():
        trials = [{"method": name, "per_class": per_class, "seed": seed, "learning_rate": rate, **run(parts[seed], seed, rate)}
                  for rate in learning_rates for seed in selection_seeds]
        best = max(learning_rates, key=lambda rate: (np.mean([r["validation_accuracy"] for r in trials
                                                              if r["learning_rate"] == rate]), -rate))
        rest = [{"method": name, "per_class": per_class, "seed": seed, "learning_rate": best, **run(parts[seed], seed, best)}
                for seed in seeds if seed not in selection_seeds]
        rows += [{**row, "chosen": row["learning_rate"] == best} for row in trials + rest]
    return rows


def chosen(rows: list[dict]) -> list[dict]:
    """The rows at each configuration's chosen learning rate (every row of an untuned method)."""
    return [row for row in rows if row.get("chosen", True)]


def transfer_comparison(dataset, per_class: int, seeds=SEEDS, return_models: bool = False) -> list[dict]:
    """TF-IDF (no pretraining) vs feature extraction vs full fine-tuning, on the same examples and seeds.

    ``return_models``: the fine-tuning rows keep their ``"model"`` and ``"tokenizer"`` (for a look inside)."""
    runs = {"TF-IDF + LR": tfidf, "feature extraction": feature_extraction,
            "full fine-tuning": lambda d, s: train_classifier(d, s, return_model=return_models)}
    return _table(runs, seeds, per_class, dataset)


def layer_transfer(dataset, per_class: int, kept=(0, 1, 2, 3, 4, 5, 6), seeds=(0,)) -> list[dict]:
    """Yosinski et al.'s experiment: accuracy against the number of kept pretrained blocks n.

    ``"frozen"`` (their AnB): kept part frozen, the rest re-initialised and trained;
    ``"fine-tuned"`` (AnB+): the same start, everything trained.
    """
    rows = []
    for n in kept:
        runs = {"frozen": lambda d, s, n=n: train_classifier(d, s, keep=n, freeze=n),
                "fine-tuned": lambda d, s, n=n: train_classifier(d, s, keep=n)}
        rows += [{**row, "kept": n} for row in _table(runs, seeds, per_class, dataset)]
    return rows


ABLATION = {"plain fine-tuning": (), "+ discriminative": ("discriminative",), "+ STLR": ("stlr",),
            "+ gradual unfreezing": ("gradual_unfreezing",),
            "all three": ("discriminative", "stlr", "gradual_unfreezing")}
# The control for gradual unfreezing's length: plain fine-tuning (every layer from the first step,
# one rate, the recipe's schedule) for as many epochs as a gradually unfrozen run takes (11 for the
# bundled model, against 4). What gradual unfreezing gains beyond it is not just more training.
LENGTH_CONTROL = "plain, 11 epochs"
# Discriminative rates divide the rate of every group below the head by 2.6 per group, so at a
# given peak the body learns far more slowly than with one rate: the grid for configurations that
# use them is one step higher (at 3e-3, the top of LEARNING_RATES, validation accuracy was still rising).
DISCRIMINATIVE_LEARNING_RATES = (3e-4, 1e-3, 3e-3, 1e-2)


def ablation_configs(length_control: bool = True) -> dict[str, dict]:
    """:data:`ABLATION` (and :data:`LENGTH_CONTROL`) as ``train_classifier`` settings per configuration."""
    configs = {name: {"techniques": techniques} for name, techniques in ABLATION.items()}
    if length_control:
        configs[LENGTH_CONTROL] = {"epochs_like": ("gradual_unfreezing",)}
    return configs


def learning_rate_grid(config: dict) -> tuple:
    """The peak rates a configuration's rate is chosen from: :data:`DISCRIMINATIVE_LEARNING_RATES` if it
    uses discriminative rates, else :data:`LEARNING_RATES`."""
    return DISCRIMINATIVE_LEARNING_RATES if "discriminative" in config.get("techniques", ()) else LEARNING_RATES


def ablation(dataset, per_class_budgets=(8, 32), seeds=SEEDS, configs=None, tune: bool = False,
             learning_rate: float | None = None) -> list[dict]:
    """ULMFiT's techniques one at a time and together, per budget and seed.

    ``configs``: name -> :func:`train_classifier` settings (default :func:`ablation_configs`:
    :data:`ABLATION` and the length control). With ``tune``, each configuration's peak rate is
    chosen on the validation split at each budget from :func:`learning_rate_grid`
    (:func:`_tuned_table`); otherwise every configuration runs at ``learning_rate`` (default
    :data:`ACADEMIC`'s).
    """
    rows = []
    configs = ablation_configs() if configs is None else configs
    for per_class in per_class_budgets:
        for name, config in configs.items():
            if tune:
                run = lambda d, s, rate, c=config: train_classifier(d, s, learning_rate=rate, **c)
                rows += _tuned_table({name: run}, seeds, per_class, dataset, learning_rate_grid(config))
            else:
                rate = learning_rate or ACADEMIC["learning_rate"]
                run = lambda d, s, c=config: train_classifier(d, s, learning_rate=rate, **c)
                rows += [{**row, "learning_rate": rate} for row in _table({name: run}, seeds, per_class, dataset)]
    return rows


RECIPE_LEARNING_RATES = (2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3)  # BERT's 2e-5..5e-5, finetune's default 1e-4, and above
RECIPE_SEEDS = (42, 43, 44)  # 42 is notebook 02's seed


def recipe_learning_rates(dataset, learning_rates=RECIPE_LEARNING_RATES, seeds=RECIPE_SEEDS,
                          model: str = "default", **settings) -> list[dict]:
    """Notebook 02's recipe (:func:`sft_teach.training.finetune`'s defaults: 3 epochs, batch 16,
    warmup 0.1) at each peak rate, for each seed, scored on validation and test.

    The whole training split every time (no subset): seeds change only the head's
    initialisation and the data order. Other ``settings`` go to ``finetune``. Rows: ``{"learning_rate", "seed", "accuracy",
    "macro_f1", "correct", "validation_accuracy", "validation_macro_f1", "validation_correct",
    "seconds"}``.
    """
    import time

    from sft_teach.inference import predict_proba
    from sft_teach.training import finetune_quietly  # runs compared in a table: their findings in result.warnings

    rows = []
    for rate in learning_rates:
        for seed in seeds:
            start = time.perf_counter()
            result = finetune_quietly(model, dataset, learning_rate=rate, seed=seed, save=False, progress=False,
                                      **settings)
            trained, tokenizer = result.trainer.model, result.trainer.processing_class
            row = _scored(dataset, lambda texts: predict_proba(trained, tokenizer, texts, max_length=128).argmax(axis=-1),
                          test_predictions=result.predictions)
            rows.append({"learning_rate": rate, "seed": seed, **row, "seconds": round(time.perf_counter() - start, 1)})
    return rows


def sample_efficiency(dataset, per_class_budgets=(4, 8, 16, 32, None), seeds=SEEDS, methods=None,
                      learning_rates=None) -> list[dict]:
    """Accuracy against labelled examples per class (ULMFiT's Figure 3), for each method.

    Methods: TF-IDF + LR (no pretraining), feature extraction, full fine-tuning (its rate chosen
    on validation per budget when ``learning_rates`` is given). ``None`` in the budgets means
    all training examples.
    """
    untuned = {"TF-IDF + LR": tfidf, "feature extraction": feature_extraction}
    untuned = {k: v for k, v in untuned.items() if methods is None or k in methods}
    tune = methods is None or "full fine-tuning" in methods
    rows = []
    for per_class in per_class_budgets:
        table = _table(untuned, seeds, per_class, dataset)
        if tune and learning_rates:
            table += _tuned_table({"full fine-tuning": lambda d, s, rate: train_classifier(d, s, learning_rate=rate)},
                                  seeds, per_class, dataset, learning_rates)
        elif tune:
            table += _table({"full fine-tuning": lambda d, s: train_classifier(d, s)}, seeds, per_class, dataset)
        for row in table:
            row["per_class"] = per_class if per_class is not None else round(len(dataset["train"]) / len(
                dataset["train"].features["label"].names))
            row["all"] = per_class is None
            rows.append(row)
    return rows


def results_dir() -> Path:
    """Where the precomputed sweeps live: inside an installed wheel, else ``benchmarks/results/``."""
    packaged = Path(__file__).resolve().parent / "_results"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "benchmarks" / "results"


def load_sweep(name: str) -> dict:
    """A precomputed record: a sweep as ``benchmarks/academic.py`` saved it (``layers``, ``ablation``,
    ``efficiency``, ``lora``, ``lora_forgetting``, ``recipe_lr``) or ``benchmarks/run.py --only recipes``
    did (``recipes``), or the candidates of ``benchmarks/recipes.py --select`` (``recipe_selection``,
    which holds ``candidates`` instead of ``rows``).

    A sweep's file holds ``rows`` (one dict per run) and how it was made: ``date``, ``minutes``,
    ``machine``, ``command``. It works the same from a clone and from an installed wheel, so a
    copied course (``sft-teach notebooks DIR``) reads it too.

    Loaded in notebooks 02, 03, 04 and 06.
    """
    path = results_dir() / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in results_dir().glob("*.json"))
        raise FileNotFoundError(f"no precomputed sweep '{name}' in {results_dir()}: known sweeps are {', '.join(known) or 'none'}")
    return json.loads(path.read_text())


def mean_std(rows: list[dict], by=("method", "per_class"), value: str = "accuracy") -> list[dict]:
    """Rows grouped by ``by`` with the ``mean``, the *sample* SD ``sd`` (ddof = 1) and the count ``n`` of ``value``.

    ``sd`` is ``nan`` for a group of one run. See :func:`sft_teach.stats.mean_sd`.
    """
    from sft_teach.stats import check_keys, mean_sd_of_a_table

    if isinstance(by, str):  # tuple("method") would group by m, e, t, h, o and d
        raise ConfigError(f"mean_std: by= takes a tuple of keys, e.g. by=({by!r},), got the text {by!r}")
    groups: dict = defaultdict(list)
    for row in rows:
        check_keys(row, (*by, value), "mean_std")
        groups[tuple(row[k] for k in by)].append(row[value])
    out = []
    for key, values in groups.items():
        mean, sd = mean_sd_of_a_table(values)
        out.append({**dict(zip(by, key)), "mean": mean, "sd": sd, "n": len(values)})
    return out


def paired(rows: list[dict], a: str, b: str, *, confidence: float = 0.95, **where):
    """Methods ``a`` and ``b`` compared seed by seed on the same test items (:func:`sft_teach.stats.paired_over_seeds`).

    ``rows`` hold ``method``, ``seed`` and ``correct`` (the items right and wrong, as
    :func:`right_wrong`'s ``"1101"`` or as booleans); ``where`` picks the rows to compare
    (e.g. ``per_class=8``), one a method and seed. Both methods need the same seeds. ``confidence``: of both intervals;
    for one of ``m`` comparisons read together, ``1 - 0.05 / m`` is the Bonferroni correction
    (notebook 06 reads ten).
    """
    from sft_teach.stats import paired_over_seeds

    def by_seed(method):
        runs: dict = {}
        for r in rows:
            if r["method"] == method and all(r.get(k) == v for k, v in where.items()):
                if r["seed"] in runs:  # two runs of one seed (two rates, say): pairing one would be a guess
                    first = runs[r["seed"]]
                    scores = ("correct", "accuracy", "macro_f1", "seconds", "loss", "kept")  # what a run gave
                    differ = sorted(k for k in set(r) | set(first) if r.get(k) != first.get(k)
                                    and not any(word in k for word in scores))
                    raise ValueError(f"'{method}' has two runs with seed {r['seed']!r}"
                                     + (f" (they differ in {', '.join(differ)})" if differ else "")
                                     + ": pick one with where=, or keep the chosen rates with chosen(rows) first")
                runs[r["seed"]] = r
        return {seed: r["correct"] for seed, r in runs.items()}

    runs_a, runs_b = by_seed(a), by_seed(b)
    for method, runs in ((a, runs_a), (b, runs_b)):
        if not runs:  # a misspelt method, or a where= no row has: say which, and what there is
            chosen = " with " + ", ".join(f"{k}={v!r}" for k, v in where.items()) if where else ""
            methods = sorted({str(r["method"]) for r in rows})
            raise ValueError(f"no runs of '{method}'{chosen}: the rows' methods are {methods}")
    if not runs_a or sorted(runs_a) != sorted(runs_b):
        raise ValueError(f"'{a}' ran with seeds {sorted(runs_a)} and '{b}' with {sorted(runs_b)}: pair the same seeds")
    seeds = sorted(runs_a)
    def right(c):  # "1" / "0" as right_wrong writes them, or a boolean (or 1 / 0)
        if isinstance(c, str) and c in ("0", "1"):
            return c == "1"
        if isinstance(c, (bool, np.bool_)) or (isinstance(c, (int, np.integer)) and c in (0, 1)):
            return bool(c)
        raise ValueError(f"'correct' holds {c!r}: each item is right or wrong, '1' / '0' or True / False")

    matrix = lambda runs: np.array([[right(c) for c in runs[s]] for s in seeds])  # (seeds, items)
    return paired_over_seeds(matrix(runs_a), matrix(runs_b), names=(a, b), confidence=confidence)
