"""The ``sft-teach`` command: fine-tune, check, evaluate, predict (and the course: :mod:`sft_teach.cli_course`).

Every problem a learner can fix is printed as one line on stderr, with exit code 2,
no traceback, and nothing overwritten. Results go to stdout; the last line of
``finetune``, ``evaluate`` and ``check --json`` is one JSON object, so scripts can read it.

``finetune`` runs the best recipe the course teaches by default (``--recipe best``: the head
trained alone first, then everything, keeping the epoch with the best validation macro-F1),
and notebook 02's recipe with ``--recipe plain`` (exactly as notebook 02 trains it on pets).
Both are :data:`sft_teach.training.RECIPES`; ``--epochs``, ``--lr`` and ``--head-epochs`` override them.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import json
import shlex
import shutil
import sys
import textwrap
from pathlib import Path

from sft_teach import cli_course
from sft_teach.environment import quiet_libraries
from sft_teach.checks import count
from sft_teach.errors import ConfigError, DataError, MissingColumnError, OutputExistsError, SftTeachError
from sft_teach.run_record import RUN_OUTPUTS, portable
from sft_teach.training import RECIPES, rate_text

DEFAULT_OUTPUT = "sft-output"


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line too (argparse prints usage + error)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {_suggest(self, message)} (see {self.prog} --help)\n")


class _Help(argparse.RawDescriptionHelpFormatter):
    """Help whose epilog keeps its line breaks (the examples)."""


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("sft-teach")
    except metadata.PackageNotFoundError:  # run from a clone without installing
        from sft_teach import __version__

        return __version__


def _build_parser() -> argparse.ArgumentParser:
    # allow_abbrev=False: --text-colum is a typo to report, not --text-column to guess
    parser = _Parser(prog="sft-teach", description="Supervised fine-tuning, taught and runnable offline on a 2-core CPU.",
                     allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"sft-teach {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def described(name, help, description, example):
        return commands.add_parser(name, help=help, description=textwrap.fill(description, width=80),
                                   epilog=f"example:\n  {example}", formatter_class=_Help, allow_abbrev=False)

    ft = described("finetune", "fine-tune a pretrained model on labelled text",
                   "Fine-tune a pretrained model on labelled texts and save it with its splits, metrics, plots and "
                   "a model card. One CSV file is cleaned (repeated texts removed, conflicting labels settled) and "
                   "then split 80/10/10, stratified. The default recipe trains the new head alone first, then "
                   "everything, and keeps the epoch with the best validation macro-F1; --recipe plain is notebook "
                   "02's recipe. The last line printed is one JSON object.",
                   "sft-teach finetune --data my.csv --text-column message --label-column desk --output my-run")
    ft.add_argument("--data", default="pets", help="pets (bundled), a CSV file with text,label, a folder of CSV splits, or a hub dataset")
    ft.add_argument("--model", default="default", help="default (bundled all-MiniLM-L6-v2), a local model folder, or a hub name")
    best, plain = RECIPES["best"], RECIPES["plain"]
    best_lr, plain_lr = rate_text(best["learning_rate"]), rate_text(plain["learning_rate"])
    ft.add_argument("--recipe", choices=tuple(RECIPES), default="best",
                    help=f"best: head first (3 epochs at 1e-3), then everything at {best_lr}, best "
                         f"validation epoch kept (default); plain: notebook 02's recipe, everything at "
                         f"{plain_lr}, last epoch kept")
    ft.add_argument("--epochs", default=None, help="passes over the training data after the head-only phase "
                                                   f"(default {best['num_train_epochs']}, the recipe's)")
    ft.add_argument("--lr", default=None, help=f"peak learning rate (default: the recipe's, {best_lr} with --recipe "
                                               f"best, {plain_lr} with --recipe plain)")
    ft.add_argument("--batch-size", default="16", help="training examples per step (default 16)")
    ft.add_argument("--grad-accum", default="1", help="add up the gradients of N batches per step (default 1)")
    ft.add_argument("--max-length", default="128", help="longest text in tokens; longer ones are truncated, in training "
                                                        "and by the saved model (default 128)")
    ft.add_argument("--seed", default="42", help="seed of the new head and the data order (default 42)")
    ft.add_argument("--head-epochs", default=None,
                    help="train only the new head for N epochs first, body frozen (LP-FT, notebook 02 section 8; "
                         "default: 3 with --recipe best, 0 with --recipe plain)")
    ft.add_argument("--patience", default=None, help="stop after N epochs without a better validation macro-F1 "
                                                     "(early stopping; --recipe best only)")
    precision = ft.add_mutually_exclusive_group()
    precision.add_argument("--bf16", action="store_true", help="bfloat16 mixed precision (CUDA GPU; the default where it supports it)")
    precision.add_argument("--fp16", action="store_true", help="float16 mixed precision (CUDA GPU)")
    precision.add_argument("--fp32", action="store_true", help="full precision even on a GPU (always on a CPU)")
    ft.add_argument("--push-to-hub", default=None, metavar="REPO", help="also upload the model folder to the Hugging "
                                                                       "Face Hub as REPO (needs a network and a login)")
    ft.add_argument("--output", default=DEFAULT_OUTPUT, help=f"output folder (default {DEFAULT_OUTPUT})")
    ft.add_argument("--overwrite", action="store_true", help="replace an existing output folder (only once training succeeded)")
    ft.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    ft.add_argument("--quiet", action="store_true", help="no progress bar")
    _data_options(ft, split=True)

    ck = described("check", "check a dataset before training: counts, lengths and warnings",
                   "Load a dataset as finetune would (one CSV file is cleaned and split), print the rows per split "
                   "and class and every warning: repeats, leakage between splits, conflicting labels, tiny or "
                   "imbalanced classes, labels differing only in case, texts longer than --max-length. Trains nothing.",
                   "sft-teach check --data my.csv --json --strict")
    ck.add_argument("--data", default="pets", help="pets (bundled), a CSV file, a folder of CSV splits, or a hub dataset")
    ck.add_argument("--model", default="default", help="the model whose tokenizer measures lengths (default: bundled)")
    ck.add_argument("--max-length", default="128", help="longest text in tokens before truncation (default 128)")
    ck.add_argument("--json", action="store_true", help="print one JSON object (counts, cleaning, warnings) instead of lines")
    ck.add_argument("--strict", action="store_true", help="exit with code 2 when there is any warning (for scripts and CI)")
    _data_options(ck, split=True)

    ev = described("evaluate", "score a fine-tuned model on labelled texts",
                   "Score a model folder written by finetune on labelled texts: a CSV file, a folder (its test.csv, "
                   "or splits/test.csv of a finetune output folder) or a bundled dataset (its test split). Prints one "
                   "JSON object with accuracy, its 95 % interval, macro-F1 and each class's precision, recall, F1 and support.",
                   "sft-teach evaluate --model my-run/model --data my-run/splits\n"
                   "  sft-teach evaluate --model my-run/model --data pets --split unseen")
    ev.add_argument("--model", required=True, help="folder written by finetune (OUTPUT/model)")
    ev.add_argument("--data", required=True, help="a CSV file with text,label; a folder with test.csv; or pets (its test split)")
    ev.add_argument("--split", default="test",
                    help="of a folder or a bundled dataset, the split to score: NAME.csv (default test; pets also has unseen)")
    ev.add_argument("--max-length", default=None, help="cut texts at N tokens (default: the length the model was trained with)")
    ev.add_argument("--merge-case", action=argparse.BooleanOptionalAction, default=None,
                    help="read labels differing only in case from the model's (Spam, spam) as the model's "
                         "(default: as the model's training did)")
    ev.add_argument("--skip-unknown", action="store_true",
                    help="score only the rows whose label the model knows; a warning and the JSON say how many "
                         "of which label were left out")
    _data_options(ev, trained=True)

    pr = described("predict", "classify texts with a fine-tuned model",
                   "Classify texts with a model folder written by finetune: texts given as arguments, one per line "
                   "in a text file (--file), the text column of a CSV file (--file with .csv or .tsv, or with "
                   "--text-column), or one per line on standard input (-). Prints one JSON object per text; for "
                   "a CSV file each object also gives the row's line in the file.",
                   "sft-teach predict --model my-run/model \"Can I pay in two parts?\"\n"
                   "  sft-teach predict --model my-run/model --file messages.txt\n"
                   "  sft-teach predict --model my-run/model --file export.csv --text-column body")
    pr.add_argument("--model", required=True, help="folder written by finetune (OUTPUT/model)")
    pr.add_argument("texts", nargs="*", metavar="TEXT", help="texts to classify; - reads them from standard input")
    pr.add_argument("--file", default=None, help="a text file with one text per line, or a CSV file (.csv, .tsv)")
    pr.add_argument("--text-column", default=None, help="the CSV column with the texts (default: the one the model was "
                                                        "trained with, else text; reads --file as CSV)")
    pr.add_argument("--max-length", default=None, help="cut texts at N tokens (default: the length the model was trained with)")
    pr.add_argument("--encoding", default=None, help=f"encoding of --file or standard input ({_READ_AS})")

    cli_course.add_commands(commands, described)
    return parser


# evaluate and predict: a file is read as the model's training file was, unless it is UTF-8 (its
# splits/, which finetune writes in UTF-8, and any file re-saved as UTF-8 since); see _encoding
_READ_AS = "default: utf-8, or, for a file that is not valid UTF-8, the encoding the model was trained with"


def _data_options(parser, split: bool = False, trained: bool = False) -> None:
    """The options that read a CSV file; ``trained``: the columns default to the model's own (evaluate)."""
    if trained:  # None: the columns the model was trained with, else text and label (see _columns_to_try)
        parser.add_argument("--text-column", default=None,
                            help="CSV column with the texts (default: the one the model was trained with, else text)")
        parser.add_argument("--label-column", default=None,
                            help="CSV column with the labels (default: the one the model was trained with, else label)")
    else:
        parser.add_argument("--text-column", default="text", help="CSV column with the texts (default text)")
        parser.add_argument("--label-column", default="label", help="CSV column with the labels (default label)")
    parser.add_argument("--encoding", default=None if trained else "utf-8",
                        help=f"text encoding of the CSV files ({_READ_AS if trained else 'default utf-8; e.g. cp1252'})")
    if split:
        parser.add_argument("--split-seed", default="42", help="seed of the split when --data is one CSV file "
                                                               "(default 42, as in Python's finetune)")
        parser.add_argument("--keep-duplicates", action="store_true",
                            help="one CSV file: keep repeated texts and conflicting labels (default: removed before the split)")
        parser.add_argument("--merge-case", action="store_true",
                            help="labels differing only in case (Cat, cat) are one class, spelled as most rows spell it")


def _int(name, value, least=None):
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
    if least is not None and number < least:
        raise ConfigError(f"{name} must be at least {least}, got {number}")
    return number


def _json_line(record: dict) -> str:
    """``record`` as one JSON line, texts as written (an emoji, not ``\\ud83d\\ude00``) where the
    output is UTF-8; escaped elsewhere, so that a Windows console or a file in a legacy code page
    never fails to encode it. Either way any JSON reader gets the same text back."""
    encoding = (getattr(sys.stdout, "encoding", None) or "ascii").lower().replace("-", "").replace("_", "")
    line = json.dumps(record, ensure_ascii=encoding not in {"utf8", "utf8sig"})
    # still escaped: the line breaks json.dumps leaves as written (NEL, U+2028, U+2029), which would
    # cut the line for a reader that splits lines as Python's str.splitlines() does
    return line.replace("\x85", "\\u0085").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _check_output(output: Path, overwrite: bool) -> None:
    if output.exists() and not output.is_dir():
        raise OutputExistsError(f"output '{output}' is a file: choose another --output folder")
    if not output.is_dir() or not any(output.iterdir()):
        return
    others = sorted(p.name for p in output.iterdir() if p.name not in RUN_OUTPUTS)  # --overwrite deletes the folder
    if others:  # the user's own files: --overwrite would delete them with the folder
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        raise OutputExistsError(f"output folder '{output}' holds files that are not an sft-teach run ({shown}): "
                                f"--overwrite replaces only a run's own folder; choose another --output")
    if not overwrite:
        raise OutputExistsError(
            f"output folder '{output}' already holds results: pass --overwrite to replace them, or choose another --output")


def _load_and_check(args, max_length: int):
    """The learner's dataset, its cleaning report (one CSV file) and the findings to warn about."""
    from sft_teach import checks, data, models

    dataset, cleaning = data.load_with_report(
        args.data, text_column=args.text_column, label_column=args.label_column,
        split_seed=_int("--split-seed", args.split_seed, least=0), encoding=args.encoding,
        keep_duplicates=args.keep_duplicates, merge_case=args.merge_case)
    tokenizer = models.load_tokenizer(args.model)
    # the model's positions, not its tokenizer's model_max_length, which in a folder finetune saved is
    # the cut it trained with (128), not what the model can read (512)
    limit = models.positions(args.model)
    if limit and max_length > limit:
        raise ConfigError(f"max length {max_length} is more than this model accepts ({limit} tokens): try 128")
    return dataset, cleaning, (checks.check(dataset, tokenizer, max_length, positions=limit)
                               + checks.cleaning_findings(cleaning))


def _cleaning_line(cleaning) -> str:
    from sft_teach.checks import dropped_list, kept_everything

    labels = "".join(f"merged label '{old}' ({count(how['rows'], 'row')}) into '{how['into']}'; "
                     for old, how in cleaning.get("labels_merged", {}).items())
    trimmed = cleaning.get("labels_trimmed", 0)  # 'spam ' read as 'spam': said, since it joins two spellings
    if trimmed:
        labels += f"read {count(trimmed, 'label')} without the spaces around {'it' if trimmed == 1 else 'them'}; "
    which = f": {dropped_list(cleaning['dropped'])}" if cleaning.get("dropped") else ""  # to find and fix them
    if cleaning.get("keep_duplicates"):
        return (f"{count(cleaning['rows'], 'row')}: {labels}{kept_everything(cleaning)}; "
                f"{count(cleaning['rows_kept'], 'row')} split with seed {cleaning['split_seed']}")
    return (f"{count(cleaning['rows'], 'row')}: {labels}removed {count(cleaning['duplicates_removed'], 'repeated text')}; "
            f"{count(cleaning['conflicts_kept_majority'], 'text')} with conflicting labels kept with the majority "
            f"label, {cleaning['conflicts_dropped']} dropped (no majority{which}); {count(cleaning['rows_kept'], 'row')} "
            f"split with seed {cleaning['split_seed']}")


def _warn(findings, file=None) -> None:
    for finding in findings:  # sys.stderr looked up at each call, not once at import (it may be replaced)
        print(f"sft-teach: warning: {finding}", file=file or sys.stderr)


def _precision(args) -> dict:
    """Mixed precision on a CUDA GPU (bf16 by default where supported); full precision on a CPU."""
    import torch

    if not torch.cuda.is_available():
        if args.bf16 or args.fp16:
            raise ConfigError(f"--{'bf16' if args.bf16 else 'fp16'} needs a CUDA GPU, and none is here: "
                              "on a CPU training runs in full precision; drop the option")
        return {}
    if args.fp16:
        return {"fp16": True}
    if args.bf16 and not torch.cuda.is_bf16_supported():
        raise ConfigError("--bf16: this GPU does not support bfloat16: use --fp16")
    return {} if args.fp32 else {"bf16": torch.cuda.is_bf16_supported()}


def _run_settings(args, seed, epochs, lr, batch_size, max_length, head_epochs, grad_accum, fingerprint,
                  patience=None) -> dict:
    """What must be the same for ``--resume`` to continue a run rather than start another."""
    return {"data": portable(args.data), "data_sha256": fingerprint, "model": portable(args.model),
            "recipe": args.recipe, "epochs": epochs, "learning_rate": lr, "batch_size": batch_size,
            "grad_accum": grad_accum, "max_length": max_length, "seed": seed, "split_seed": int(args.split_seed),
            "head_epochs": head_epochs, "patience": patience, "keep_duplicates": args.keep_duplicates,
            "merge_case": args.merge_case, "encoding": args.encoding,
            "text_column": args.text_column, "label_column": args.label_column}


def _prepare_staging(staging: Path, settings: dict, resume: bool, overwrite: bool):
    """The folder a run writes into until it succeeds; returns the checkpoint to resume from (or None)."""
    from sft_teach.checkpoints import last_checkpoint

    checkpoint = last_checkpoint(staging / "checkpoints") if staging.is_dir() else None
    if resume:
        if checkpoint is None:
            raise SftTeachError(f"nothing to resume: no checkpoint in {staging.name}/ (a run saves one after each "
                                f"epoch): run the command without --resume")
        saved = json.loads((staging / "run.json").read_text())
        changed = [f"{k} {saved.get(k)} -> {v}" if k != "data_sha256" else "the data's content changed"
                   for k, v in settings.items() if saved.get(k) != v]
        if changed:
            raise ConfigError(f"--resume needs the interrupted run's settings and data, but {', '.join(changed)}: "
                              f"use the same options and data, or drop --resume and pass --overwrite to start again")
        return checkpoint
    if checkpoint is not None and not overwrite:
        raise OutputExistsError(f"an interrupted run left checkpoints in {staging.name}/: pass --resume to continue "
                                f"it, or --overwrite to start again")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / "run.json").write_text(json.dumps(settings, indent=2))
    return None


def cmd_finetune(args) -> int:
    from sft_teach.setting_checks import check_head_epochs, check_patience, check_settings

    recipe = RECIPES[args.recipe]
    epochs, lr, batch_size, max_length = check_settings(
        recipe["num_train_epochs"] if args.epochs is None else args.epochs,
        recipe["learning_rate"] if args.lr is None else args.lr, args.batch_size, args.max_length)
    head_epochs = check_head_epochs(recipe["head_epochs"] if args.head_epochs is None else args.head_epochs)
    patience = None if args.patience is None else check_patience(args.patience)
    if patience is not None and not recipe["best_epoch"]:
        raise ConfigError("--patience keeps the best validation epoch, which --recipe plain does not: "
                          "drop --patience or use --recipe best")
    seed = _int("--seed", args.seed)
    grad_accum = _int("--grad-accum", args.grad_accum, least=1)
    _int("--split-seed", args.split_seed, least=0)
    output = Path(args.output)
    _check_output(output, args.overwrite or args.resume)
    precision = _precision(args)

    # Everything that can fail on the learner's input fails here, before any training.
    quiet_libraries()
    from sft_teach import models
    from sft_teach.model_card import data_fingerprint

    if args.push_to_hub and not models.hub_available():
        raise ConfigError(f"--push-to-hub {args.push_to_hub}: the Hugging Face Hub cannot be reached from here: "
                          f"train without it and upload the model folder later: hf upload {args.push_to_hub} "
                          f"{args.output}/model")
    models.resolve_model(args.model)
    dataset, cleaning, findings = _load_and_check(args, max_length)

    from sft_teach.checkpoints import last_checkpoint
    from sft_teach.run_record import read_record
    from sft_teach.training import finetune_quietly

    # The run writes into a sibling staging folder, renamed to OUTPUT only once it has
    # succeeded: an interrupted run never leaves a half-written OUTPUT, and its
    # checkpoints (one per epoch) stay in the staging folder for --resume.
    settings = _run_settings(args, seed, epochs, lr, batch_size, max_length, head_epochs, grad_accum,
                             cleaning["read_from"]["data_sha256"] if cleaning else data_fingerprint(args.data),
                             patience)  # one CSV file: hashed as it was read
    output.absolute().parent.mkdir(parents=True, exist_ok=True)
    staging = output.absolute().parent / f".{output.name}.partial"
    checkpoint = _prepare_staging(staging, settings, args.resume, args.overwrite)  # may refuse: print nothing before
    if cleaning:
        print(_cleaning_line(cleaning), flush=True)
    _warn(findings)
    if checkpoint is not None:
        print(f"resuming from {checkpoint.name} of the interrupted run", flush=True)
    try:
        # quietly: what training shows is printed below as the command's own lines
        result = finetune_quietly(args.model, (dataset, cleaning), num_train_epochs=epochs, learning_rate=lr,
                                  batch_size=batch_size, max_length=max_length, seed=seed, output_dir=staging,
                                  progress=not args.quiet, head_epochs=head_epochs, best_epoch=recipe["best_epoch"],
                                  patience=patience, save_checkpoints=True, save_total_limit=1,
                                  gradient_accumulation_steps=grad_accum,
                                  resume_from_checkpoint=str(checkpoint) if checkpoint else None, record=settings,
                                  data_warnings=findings, overwrite=True, **precision)
    except BaseException as exc:
        kept = last_checkpoint(staging / "checkpoints")
        if kept is None:
            shutil.rmtree(staging, ignore_errors=True)  # nothing worth resuming
        if isinstance(exc, KeyboardInterrupt):
            if not args.quiet:
                print(file=sys.stderr, flush=True)  # end the progress bar's line
            raise KeyboardInterrupt(
                f"the checkpoint of {_epoch_of(kept)} is kept: run the same command with --resume to continue from "
                f"there" if kept else "no epoch had finished saving its checkpoint, so there is nothing to resume: "
                f"run the same command again to start over") from None
        raise
    _warn(result.warnings[len(findings):])  # what training showed (the data's were said before training)
    metrics = read_record(staging)
    shutil.rmtree(staging / "checkpoints", ignore_errors=True)
    (staging / "run.json").unlink()
    if output.exists():  # only now, after success, is the old output replaced
        shutil.rmtree(output)
    staging.rename(output)
    if args.push_to_hub:
        _push(output / "model", args.push_to_hub)
    print(f"saved model (with its card, README.md), splits/, metrics.json, loss.png and confusion.png to {args.output}/")
    print(_json_line({**metrics, "output": args.output}))
    return 0


def _epoch_of(checkpoint: Path) -> str:
    """``epoch 2`` for a checkpoint saved at the end of epoch 2 (its trainer_state.json), else its folder's name."""
    try:
        epoch = json.loads((checkpoint / "trainer_state.json").read_text())["epoch"]
        return f"epoch {round(epoch)}"
    except (OSError, ValueError, KeyError, TypeError):
        return checkpoint.name


def _push(folder: Path, repo: str) -> None:
    from sft_teach.run_record import push_model

    print(f"uploaded {folder} to {push_model(folder, repo)}")


def cmd_check(args) -> int:
    from sft_teach.checks import summary

    max_length = _max_length(args.max_length)
    quiet_libraries()
    try:
        dataset, cleaning, findings = _load_and_check(args, max_length)
    except SftTeachError as exc:  # a script reading --json gets the error as JSON too (and exit 2)
        if args.json:
            print(_json_line({"data": portable(args.data), "errors": [str(exc)]}))
        raise
    if args.json:
        print(_json_line({"data": portable(args.data), "splits": summary(dataset), "cleaning": cleaning,
                          "warnings": [{"kind": f.kind, "message": str(f)} for f in findings]}))
    else:
        from sft_teach.data import bundled_datasets

        if cleaning:
            print(_cleaning_line(cleaning))
        elif args.data in bundled_datasets():  # the default: say so, in case the learner meant their own file
            print(f"{args.data}: the course's bundled data, as split in its folder (check yours with --data FILE.csv)")
        for name, info in summary(dataset).items():
            classes = ", ".join(f"{label} {n}" for label, n in info["classes"].items())
            print(f"{name:10s} {info['rows']:6d} rows: {classes}")
        _warn(findings, file=sys.stdout)  # for `check` the warnings are the result
        print(f"{len(findings)} warning{'s' * (len(findings) != 1)}" if findings else "no problems found")
    if args.strict and findings:
        print(f"sft-teach: error: {len(findings)} warning{'s' * (len(findings) != 1)} and --strict", file=sys.stderr)
        return 2
    return 0


def _trained_on(model_dir) -> dict:
    """What a model was fine-tuned on (``text_column``, ``label_column``, ``encoding``, ``merge_case``,
    ``data_sha256``; empty if unknown): from its own config.json, which travels with the folder, else its run's metrics.json."""
    try:
        found = json.loads((Path(model_dir) / "config.json").read_text()).get("sft_teach")
    except (OSError, ValueError, AttributeError):
        found = None
    if isinstance(found, dict) and "text_column" in found:
        return found
    record = _run_record(model_dir)  # a folder saved before config.json kept it
    return record if "text_column" in record else {}


def _run_record(model_dir) -> dict:
    """The metrics.json of the run that wrote ``model_dir`` (empty for a folder on its own)."""
    try:
        record = json.loads((Path(model_dir).parent / "metrics.json").read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _encoding(args, source: bytes | Path, shown: str = "the texts") -> str:
    """The encoding to read ``source`` (a file to score or classify, or its bytes, then named ``shown``) with: ``--encoding``
    if given; else UTF-8, unless the bytes are not valid UTF-8 and the model's training file was read
    with another encoding (cp1252, say), which a later export of the same source is likely to share."""
    if args.encoding is not None:
        return args.encoding
    try:
        raw = source.read_bytes() if isinstance(source, Path) else source
    except OSError:  # missing, a folder, unreadable: the reader's own error names the problem
        return "utf-8"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its byte-order mark: read as such whatever is passed
        return "utf-8"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:  # utf-8 too when the model was trained on UTF-8: csv_files.decode then names the fix
        trained = _trained_on(args.model).get("encoding") or "utf-8"
        try:
            codecs.lookup(trained)
        except (LookupError, TypeError):  # a hand-edited or damaged config.json: not the data file's fault
            raise ConfigError(f"{Path(args.model) / 'config.json'}: the training encoding it records, {trained!r}, "
                              f"is not an encoding Python knows: pass --encoding (e.g. utf-8 or cp1252) or "
                              f"correct \"encoding\" under \"sft_teach\" there") from None
        if trained.lower().replace("_", "-") not in {"utf-8", "utf8"} and _decodes(raw, trained):
            # said, as a file mixing encodings would read wrong; one that fails both gets the reader's error
            shown = source.name if isinstance(source, Path) else shown
            line = raw[:exc.start].count(b"\n") + 1
            note = (f"{shown}: not UTF-8 (line {line}, byte 0x{raw[exc.start]:02x}): read as {trained}, the encoding "
                    f"this model's training file was read with (--encoding to choose another)")
            if note not in _read_notes(args):  # the same file, read again by another column
                _read_notes(args).append(note)
        return trained


def _read_notes(args) -> list[str]:
    """What reading the input chose for the user (an encoding), said once the input has been read:
    an input that then fails gets its one error line alone."""
    if not hasattr(args, "read_notes"):
        args.read_notes = []
    return args.read_notes


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
        return True
    except (UnicodeDecodeError, LookupError):
        return False


def _merge_case(args) -> bool:
    """``--merge-case``/``--no-merge-case`` if given, else whether the model's training merged labels
    differing only in case (then its evaluation data likely spells them so too)."""
    return bool(_trained_on(args.model).get("merge_case")) if args.merge_case is None else args.merge_case


def _trained_columns(model_dir) -> tuple[str, str] | None:
    """The text and label columns a model was fine-tuned with (None if unknown)."""
    found = _trained_on(model_dir)
    return (found["text_column"], found["label_column"]) if found.get("label_column") else None


def _columns_to_try(args) -> tuple[list[tuple[str, str]], tuple[str, str] | None]:
    """The (text, label) columns to read a CSV file to score or classify by, in order, and the ones the
    model was trained with: the options' (unset ones: the training's, else text and label), then,
    when those are the training's own, text and label (the run's own splits/, which finetune writes so)."""
    trained = _trained_columns(args.model)
    default = trained or ("text", "label")
    wanted = (args.text_column or default[0], getattr(args, "label_column", None) or default[1])
    return list(dict.fromkeys([wanted, *([("text", "label")] if wanted == trained else [])])), trained


def _read_labelled(args, source: Path):
    """Texts, labels, lines and the label column of a CSV file to score, read by :func:`_columns_to_try`."""
    from sft_teach import data

    tries, trained = _columns_to_try(args)
    errors = []
    for text_column, label_column in tries:
        try:
            texts, labels, lines, *_ = data.read_csv_rows(source, text_column, label_column,
                                                         _encoding(args, source), with_lines=True)
            return texts, labels, lines, label_column
        except MissingColumnError as exc:
            errors.append(exc)
    if trained and trained != tries[0]:
        raise DataError(f"{errors[0]} (this model was trained with --text-column {shlex.quote(trained[0])} "
                        f"--label-column {shlex.quote(trained[1])})") from None
    raise errors[0]  # about the columns asked for


def _has_splits(data_arg: str) -> bool:
    """Whether ``--data`` names a bundled dataset or a folder: something ``--split`` picks from."""
    from sft_teach.data import bundled_datasets

    return data_arg in bundled_datasets() or Path(data_arg).is_dir()


def _is_split(path: Path) -> bool:
    """Whether a CSV file is a split of texts and labels (its header has ``text`` and ``label``): a
    bundled dataset's folder also holds other tables (the reader's labels, the cue words)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:
            header = next(csv.reader(file), [])
    except (OSError, UnicodeDecodeError):
        return False
    return {"text", "label"} <= {name.strip() for name in header}


def _labelled(args, names: list[str]):
    """The evaluation texts as a ``Dataset`` whose label ids are the model's (matched by name), and
    ``{label: rows}`` left out by --skip-unknown."""
    from datasets import ClassLabel, Dataset, Features, Value

    from sft_teach import data
    from sft_teach.labels import case_spellings, known_rows

    source, split = Path(args.data), args.split
    bundled = args.data in data.bundled_datasets()
    if bundled:
        data.bundled_columns(args.data, args.text_column, getattr(args, "label_column", None))
    if _has_splits(args.data):  # a bundled dataset, a folder of splits, or a finetune output folder
        folder = data.data_dir() / args.data if bundled else source
        found = [p for p in (folder / f"{split}.csv", folder / "splits" / f"{split}.csv") if p.is_file()]
        if not found and split == "test" and (folder / "splits").is_dir():
            raise DataError(f"{args.data}/: this run had no test split (its data had train and validation "
                            f"only), so there is nothing held out to score: pass a labelled CSV file (--split "
                            f"validation scores the split that chose the epoch kept: an optimistic score)")
        if not found and (folder / "config.json").is_file() and (folder.parent / "splits").is_dir():
            raise DataError(f"{args.data}: is a model folder: pass the run folder that holds it, {folder.parent}, "
                            f"whose splits/ holds the split to score")
        if not found:
            there = sorted(p.stem for p in [*folder.glob("*.csv"), *folder.glob("splits/*.csv")] if _is_split(p))
            raise DataError(f"{args.data}: no split {split!r} ({split}.csv) " + (
                f"in it; its splits: {', '.join(there)}: pass --split with one of them" if there else
                "in this folder: pass the CSV file to score, or the folder finetune wrote"))
        source = found[0]
        if bundled and not _is_split(source):
            raise DataError(f"{args.data}: {split}.csv is not a split of texts and labels: pass --split with one "
                            f"of {', '.join(sorted(p.stem for p in folder.glob('*.csv') if _is_split(p)))}")
    elif split != "test":
        raise ConfigError(f"--split picks a split of a folder or a bundled dataset; {args.data} is one file, scored "
                          f"whole: drop --split")
    texts, labels, lines, label_column = _read_labelled(args, source)
    if bundled:
        lines = None  # the course's own files: their line numbers help no one
    if _merge_case(args):  # Spam, SPAM -> the model's spam
        spelling = case_spellings(labels, names)
        labels = [spelling.get(label, label) for label in labels]
        if spelling and args.merge_case is None:  # merged because the model's training did: said, not silent
            _read_notes(args).append(
                ", ".join(f"'{label}' read as '{name}'" for label, name in sorted(spelling.items()))
                + ": labels differing only in case were merged, as in this model's training (--merge-case); "
                  "--no-merge-case refuses them")
    keep, skipped = known_rows(labels, names, source=args.data if bundled else source.name, lines=lines,
                               label_column=label_column, skip_unknown=args.skip_unknown)
    texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
    features = Features({"text": Value("string"), "label": ClassLabel(names=names)})
    return Dataset.from_dict({"text": texts, "label": [names.index(x) for x in labels]}, features=features), skipped


def cmd_evaluate(args) -> int:
    from sft_teach.inference import evaluate, label_names, load_finetuned
    from sft_teach.stats import wilson_interval

    quiet_libraries()
    max_length = None if args.max_length is None else _max_length(args.max_length)
    args.split = args.split.removesuffix(".csv")  # --split test.csv names the same split as --split test
    model, tokenizer = load_finetuned(args.model)
    dataset, skipped = _labelled(args, label_names(model))
    seen = []  # every warning, said on stderr as found and kept for the JSON line
    if skipped:
        from sft_teach.labels import skipped_line

        seen.append(skipped_line(skipped, len(dataset)))
        _warn(seen)
    found = _read_notes(args) + _seen_in_training(args, dataset["text"]) + _repeated(dataset)
    if args.split == "train" and _has_splits(args.data) and not any("training split" in w for w in found):
        found.append("train is a training split: if this model was trained on it, the score measures memory, not "
                     "what the model does on new texts: score the test split")
    if args.split == "validation" and "best_epoch" in _run_record(args.model):
        found.append("validation chose the epoch this model kept (--recipe best), so its score on validation is "
                     "optimistic: the test split is the one that chose nothing")
    found += _cut(model, tokenizer, dataset["text"], max_length)
    _warn(found)
    seen += found
    scores = evaluate(model, tokenizer, dataset, per_class=True, max_length=max_length)
    classes = scores.pop("per_class")
    absent = [name for name, row in classes.items() if row["support"] == 0]
    if absent:  # sklearn's macro-F1 averages the classes in the labels or the predictions: it changes meaning
        listed = ", ".join(f"'{name}'" for name in absent)
        seen.append(f"class{'es' * (len(absent) > 1)} {listed} of the model ha{'ve' if len(absent) > 1 else 's'} no "
                    f"rows among the {len(dataset)} scored: {'their' if len(absent) > 1 else 'its'} recall is not "
                    f"measured, and macro-F1 averages only the classes that occur as a label or a prediction")
        _warn(seen[-1:])
    low, high = wilson_interval(round(scores["accuracy"] * len(dataset)), len(dataset))
    print(_json_line({**{k: round(v, 4) for k, v in scores.items()}, "accuracy_interval_95": [round(low, 4), round(high, 4)],
                      "n": len(dataset), "data": portable(args.data),
                      **({"split": args.split} if _has_splits(args.data) else {}),
                      **({"skipped": skipped} if skipped else {}),
                      "per_class": {name: {k: v if v is None else round(v, 4) for k, v in row.items()}  # null: no rows
                                    for name, row in classes.items()},
                      "warnings": seen}))
    return 0


def _max_length(value) -> int:
    """``--max-length`` of check, evaluate and predict, checked by finetune's rule and message."""
    from sft_teach.setting_checks import check_settings

    return check_settings(1, 1e-4, 1, value)[3]


def _cut(model, tokenizer, texts, max_length) -> list[str]:
    """A warning when texts are longer than the model reads (``--max-length``, else the length it was
    trained with): their ends are cut and never seen, as ``check`` says of training data."""
    from sft_teach.checks import token_lengths
    from sft_teach.inference import max_length_of

    limit = max_length or max_length_of(model, tokenizer)
    lengths = token_lengths(texts, tokenizer)
    longer = sum(n > limit for n in lengths)
    if not longer:
        return []
    positions = getattr(model.config, "max_position_embeddings", None)
    which = "the text" if len(texts) == 1 else f"{longer} of the {len(texts)} texts"
    return [f"{which} {'is' if longer == 1 else 'are'} longer than {limit} tokens ("
            f"{'' if len(texts) == 1 else 'the longest: '}{max(lengths):,} tokens) and {'was' if longer == 1 else 'were'} cut there: the model never saw "
            f"{'its' if longer == 1 else 'their'} end; "
            + (f"--max-length reads more, up to the model's {positions} positions" if positions and positions > limit
               else f"{positions} tokens is all this model reads: split a longer text into parts to classify each"
               if positions else "--max-length reads more")]


def _repeated(dataset) -> list[str]:
    """A warning when the rows scored repeat texts: each copy counts, so ``n`` and the interval
    overstate how many texts the score rests on; copies with different labels cannot all be right."""
    from sft_teach.checks import conflicts, duplicates
    from sft_teach.data import column

    texts, repeats = dataset["text"], duplicates(dataset["text"])
    if not repeats:
        return []
    extra, contradicting = sum(repeats.values()) - len(repeats), conflicts(texts, column(dataset, "label"))
    against = (f", and {contradicting} of them carr{'y' if contradicting != 1 else 'ies'} different labels, which "
               f"cannot all be right" if contradicting else "")
    return [f"{len(repeats)} text{'s' * (len(repeats) != 1)} occur{'s' * (len(repeats) == 1)} more than once among "
            f"the {len(texts)} rows scored ({extra} extra cop{'ies' if extra != 1 else 'y'}){against}: each copy is "
            f"scored, so n and the interval overstate what the score rests on: score each text once"]


def _seen_in_training(args, texts) -> list[str]:
    """Warnings when the texts scored are ones the model was trained on: the very file its run
    read (the same SHA-256, in the run's metrics.json), or texts of the run's splits/train.csv.
    The score on a text seen with its label measures memory, not what the model does on new texts."""
    from sft_teach.checks import _normal, _quote
    from sft_teach.data import read_csv_rows
    from sft_teach.model_card import data_fingerprint

    run = Path(args.model).parent
    trained_on = _trained_on(args.model).get("data_sha256")
    source = Path(args.data)
    if trained_on and source.is_file() and data_fingerprint(source) == trained_on:
        instead = (f"score the run's test split instead, sft-teach evaluate --model {args.model} --data {run}"
                   if (run / "splits").is_dir() else "score texts kept out of training instead")
        return [f"{args.data} is the file this model was fine-tuned on (the same SHA-256): most of its rows were "
                f"training rows, so this score is optimistic: {instead}"]
    try:
        train = {_normal(text) for text in read_csv_rows(run / "splits" / "train.csv")[0]}
    except Exception:  # no run around the model (a copied folder): nothing to compare with
        return []
    # the same text in another case or spacing is the same example (checks.duplicates), and to a
    # tokenizer that ignores case, the same input
    seen = [text for text in texts if _normal(text) in train]
    if not seen:
        return []
    return [f"{len(seen)} of the {len(texts)} texts scored also occur{'s' * (len(seen) == 1)} in the model's training split (the first: "
            f"{_quote(seen[0])}): the model learned them with their labels, so the score on them measures "
            f"memory: leave them out for a fair score"]


def _texts(args) -> tuple[list[str], list[int] | None]:
    """The texts to classify, and for a CSV file each one's line in it (else ``None``)."""
    if args.file is not None and args.texts:
        raise ConfigError("give texts as arguments or --file, not both")
    if args.text_column is not None and args.file is None:
        raise ConfigError("--text-column names a column of a CSV --file: pass the file with --file PATH")
    from sft_teach.csv_files import text_lines
    from sft_teach.data import read_csv_rows

    if args.file is not None:
        path = Path(args.file)
        if args.file == "-":
            raise ConfigError("--file - : standard input is read with '-' in place of the texts, without --file")
        if path.is_dir():
            raise DataError(f"{args.file}: is a folder: pass a text file with one text per line, or a CSV file")
        if not path.exists():
            raise DataError(f"{args.file}: file not found: pass a text file with one text per line")
        if args.text_column is not None or path.suffix.lower() in {".csv", ".tsv"}:
            # a spreadsheet export: its texts are one column, never the whole row with its label
            errors = []
            for column in dict.fromkeys(text for text, _ in _columns_to_try(args)[0]):  # as evaluate reads them
                try:
                    rows = read_csv_rows(path, column, None, _encoding(args, path), with_lines=True,
                                         skip_empty_texts=True)
                    if rows.empty_texts:  # a real export has some; one prediction line per row that has a text
                        _warn([f"{path.name}: no prediction for {count(len(rows.empty_texts), 'row')} whose text is "
                               f"empty ({_lines(rows.empty_texts)}); each prediction gives its row's line"])
                    return rows.texts, rows.lines
                except MissingColumnError as exc:
                    errors.append(exc)
            raise errors[0]  # about the first column tried
        raw = path.read_bytes()
        lines = text_lines(raw, args.file, _encoding(args, raw, path.name))
        _warn(_csv_header(args, path.name, lines))
    elif args.texts == ["-"]:
        raw = sys.stdin.buffer.read()
        lines = text_lines(raw, "standard input", _encoding(args, raw, "standard input"))
    elif "-" in args.texts:  # a text of its own, or standard input? neither guess is safe
        raise ConfigError("'-' reads the texts from standard input, alone: give texts as arguments or '-', not both")
    elif args.texts:  # each argument is a text, an empty one too: one output line per argument, in order
        return [_argument_text(args, text).strip() for text in args.texts], None
    else:
        raise ConfigError("no texts to classify: give them as arguments, with --file PATH, or - to read standard input")
    texts = [line.strip() for line in lines if line.strip()]  # a file's blank lines separate texts, they are none
    if not texts:
        where = "standard input" if args.file is None else args.file
        raise DataError(f"{where}: is empty or holds only blank lines: nothing to classify")
    return texts, None


def _argument_text(args, text: str) -> str:
    """A text given as an argument. A terminal whose locale is not UTF-8 passes bytes Python could
    not decode (kept as surrogates, which no tokenizer takes): decoded here as standard input would be."""
    import os

    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        raw = os.fsencode(text)
    from sft_teach.csv_files import text_lines

    return "\n".join(text_lines(raw, "a text argument", _encoding(args, raw, "a text argument")))


def _csv_header(args, name: str, lines: list[str]) -> list[str]:
    """A warning when a text file read line by line starts with a CSV header naming a text column
    (a CSV export saved as .txt): each line would be classified whole, its label too. A header is
    a line of column names: each one or two words, one of them the model's text column (or text)."""
    import re

    from sft_teach.csv_files import delimiter

    filled = [(number, line.strip()) for number, line in enumerate(lines, 1) if line.strip()][:2]
    if filled and re.fullmatch(r"sep=.", filled[0][1]):  # Excel's delimiter line, above the header
        filled = filled[1:]
    if not filled:
        return []
    number, first = filled[0]
    header = [field.strip() for field in next(csv.reader([first], delimiter=delimiter(first)), [])]
    if not all(0 < len(field) <= 30 and len(field.split()) <= 2 for field in header):
        return []  # a sentence with a comma in it, not column names
    wanted = [text.lower() for text, _ in _columns_to_try(args)[0]]  # the model's text column, then text
    column = next((field for want in wanted for field in header if field.lower() == want), None)
    if column is None:
        return []
    return [f"{name}: line {number} reads like a CSV header ({first[:60]}), but the file is read as one text per "
            f"line, so each row is classified whole, its other columns too: pass --text-column {shlex.quote(column)} to read "
            f"its '{column}' column"]


def _lines(numbers) -> str:
    """``line 5``, ``lines 5, 9 and 12``, ``lines 5, 9, 12, 14, 20 and 3 more``."""
    shown = ", ".join(str(n) for n in numbers[:5])
    if len(numbers) == 1:
        return f"line {shown}"
    if len(numbers) > 5:
        return f"lines {shown} and {len(numbers) - 5} more"
    return f"lines {shown.rsplit(', ', 1)[0]} and {numbers[-1]}"


def cmd_predict(args) -> int:
    from sft_teach.inference import load_finetuned, predict

    texts, lines = _texts(args)
    _warn(_read_notes(args))
    empty = [i + 1 for i, text in enumerate(texts) if not text]  # only arguments can be empty: files skip them
    if empty:  # answered, to keep one line per argument, but the answer is the model's guess for nothing
        _warn([f"text argument{'s' * (len(empty) > 1)} {', '.join(map(str, empty))} {'are' if len(empty) > 1 else 'is'} "
               f"empty: {'their predictions say' if len(empty) > 1 else 'its prediction says'} nothing about a text"])
    max_length = None if args.max_length is None else _max_length(args.max_length)
    quiet_libraries()
    model, tokenizer = load_finetuned(args.model)
    _warn(_cut(model, tokenizer, texts, max_length))
    for i, row in enumerate(predict(model, tokenizer, texts, max_length=max_length)):
        print(_json_line({**row, "score": round(row["score"], 4), **({"line": lines[i]} if lines else {})}))
    return 0


COMMANDS = {"finetune": cmd_finetune, "check": cmd_check, "evaluate": cmd_evaluate, "predict": cmd_predict,
            **cli_course.COMMANDS}


def _suggest(parser, message: str) -> str:
    """A usage error with a "did you mean" for a misspelt subcommand or option."""
    import difflib
    import re

    choice = re.match(r"argument command: invalid choice: '([^']*)'", message)
    if choice:
        close = difflib.get_close_matches(choice[1], _subcommands(parser), n=1)
        return f"unknown command '{choice[1]}'" + (f": did you mean '{close[0]}'?" if close else "")
    return message


def _subcommands(parser) -> dict:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def _unknown_options(parser, args, extra: list[str]) -> str:
    """``unrecognized arguments`` from the subcommand's own options, with the closest one named."""
    import difflib

    sub = _subcommands(parser)[args.command]
    known = [o for action in sub._actions for o in action.option_strings]
    first = next((e.split("=")[0] for e in extra if e.startswith("-")), None)
    close = difflib.get_close_matches(first, known, n=1) if first else []
    if first is None and len(extra) == 1 and args.command == "course":  # `sft-teach course --edition student stud`
        close = [f"--output {extra[0]}"]
    elif first is None and len(extra) == 1 and "--data" in known:  # `sft-teach check my.csv`
        close = [f"--data {extra[0]}"]
    return (f"sft-teach {args.command}: error: unrecognized argument{'s' * (len(extra) > 1)}: {' '.join(extra)}"
            + (f": did you mean {close[0]}?" if close else "") + f" (see sft-teach {args.command} --help)\n")


def main(argv=None) -> int:
    parser = _build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        parser.exit(2, _unknown_options(parser, args, extra))
    try:
        return COMMANDS[args.command](args)
    except SftTeachError as exc:
        print(f"sft-teach: error: {exc}".replace("\n", " "), file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        hint = f"; {exc}" if str(exc) else ""
        print(f"sft-teach: interrupted; nothing was overwritten{hint}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `sft-teach check ... | head -1`: the reader left; not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
