"""The ``sft-teach`` command: fine-tune, check, evaluate, predict (and the course: :mod:`sft_teach.cli_course`).

Every problem a learner can fix is printed as one line on stderr, with exit code 2,
no traceback, and nothing overwritten. Results go to stdout; the last line of
``finetune``, ``evaluate`` and ``check --json`` is one JSON object, so scripts can read it.

``finetune`` runs the best recipe the course teaches by default (``--recipe best``: the head
trained alone first, then everything, keeping the epoch with the best validation macro-F1),
and notebook 02's recipe with ``--recipe plain`` (exactly as notebook 02 trains it on pets).
Both are :data:`sft_teach.training.RECIPES`; ``--epochs``, ``--lr`` and ``--head-epochs`` override them.

This module holds the parser and :func:`main`; each command lives in a module of its own
(:mod:`sft_teach.cli_finetune`, with the staging folder in :mod:`sft_teach.run_staging`;
:mod:`sft_teach.cli_check`, :mod:`sft_teach.cli_evaluate`, :mod:`sft_teach.cli_predict`), what they
share in :mod:`sft_teach.cli_conventions` and :mod:`sft_teach.cli_trained_model`. Taught in notebooks/05_your_own_data.ipynb.
"""

from __future__ import annotations

import argparse
import sys
import textwrap

from sft_teach import cli_check, cli_conventions, cli_course, cli_evaluate, cli_finetune, cli_predict
from sft_teach.errors import SftTeachError
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
    ft.add_argument("--data", default="pets", help="pets or clinic (bundled), a CSV file with text,label, a folder of CSV splits, "
                                                    "or a hub dataset")
    ft.add_argument("--model", default="default", help="default (bundled all-MiniLM-L6-v2), a local model folder, or a hub name")
    best, plain = RECIPES["best"], RECIPES["plain"]
    best_lr, plain_lr = rate_text(best["learning_rate"]), rate_text(plain["learning_rate"])
    ft.add_argument("--recipe", choices=tuple(RECIPES), default="best",
                    help=f"best: head first (3 epochs at 1e-3), then everything at {best_lr}, best "
                         f"validation epoch kept (default); plain: notebook 02's recipe, everything at "
                         f"{plain_lr}, last epoch kept")
    ft.add_argument("--epochs", default=None, help="passes over the training data after the head-only phase "
                                                   f"(default {best['num_train_epochs']}, the recipe's; a fraction such as "
                                                   "1.5 runs part of the last pass, rounded up to whole steps)")
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
                                                     "(early stopping; --recipe best only; default: off, every "
                                                     "epoch runs)")
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
    ck.add_argument("--data", default="pets", help="pets or clinic (bundled), a CSV file, a folder of CSV splits, or a hub dataset")
    ck.add_argument("--model", default="default", help="the model whose tokenizer measures lengths (default: bundled)")
    ck.add_argument("--max-length", default="128", help="longest text in tokens before truncation (default 128)")
    ck.add_argument("--json", action="store_true", help="print one JSON object (counts, cleaning, warnings; errors when refused) "
                                                              "instead of lines")
    ck.add_argument("--strict", action="store_true", help="exit with code 2 when there is any warning (for scripts and CI)")
    _data_options(ck, split=True)

    ev = described("evaluate", "score a fine-tuned model on labelled texts",
                   "Score a model folder written by finetune on labelled texts: a CSV file, a folder (its test.csv, "
                   "or splits/test.csv of a finetune output folder) or a bundled dataset (its test split). Prints one "
                   "JSON object with accuracy, its 95 % interval, macro-F1 and each class's precision, recall, F1 and support.",
                   "sft-teach evaluate --model my-run/model --data my-run/splits\n"
                   "  sft-teach evaluate --model my-run/model --data pets --split unseen")
    ev.add_argument("--model", required=True, help="folder written by finetune (OUTPUT/model)")
    ev.add_argument("--data", required=True, help="a CSV file with text,label; a folder with test.csv; or pets or clinic "
                                                        "(its test split)")
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
                   "--text-column), or one per line on standard input (-; a CSV there with --text-column). Prints one JSON object per text; for "
                   "a CSV file each object also gives the row's line in the file.",
                   "sft-teach predict --model my-run/model \"Can I pay in two parts?\"\n"
                   "  sft-teach predict --model my-run/model --file messages.txt\n"
                   "  sft-teach predict --model my-run/model --file export.csv --text-column body")
    pr.add_argument("--model", required=True, help="folder written by finetune (OUTPUT/model)")
    pr.add_argument("texts", nargs="*", metavar="TEXT", help="texts to classify; - reads them from standard input")
    pr.add_argument("--file", default=None, help="a text file with one text per line, or a CSV file (.csv, .tsv)")
    pr.add_argument("--text-column", default=None, help="the CSV column with the texts (default: the one the model was "
                                                        "trained with, else text; reads --file, or standard input, as CSV)")
    pr.add_argument("--max-length", default=None, help="cut texts at N tokens (default: the length the model was trained with)")
    pr.add_argument("--encoding", default=None, help=f"encoding of --file or standard input ({_READ_AS})")

    cli_course.add_commands(described)
    return parser


# evaluate and predict: a file is read as the model's training file was, unless it is UTF-8 (its
# splits/, which finetune writes in UTF-8, and any file re-saved as UTF-8 since); see cli_trained_model.encoding
_READ_AS = "default: utf-8, or, for a file that is not valid UTF-8, the encoding the model was trained with"


def _data_options(parser, split: bool = False, trained: bool = False) -> None:
    """The options that read a CSV file; ``trained``: the columns default to the model's own (evaluate)."""
    if trained:  # None: the columns the model was trained with, else text and label (see cli_trained_model.columns_to_try)
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
        parser.add_argument("--split-seed", default=None, help="seed of the split when --data is one CSV file "
                                                               "(default 42, as in Python's finetune)")
        parser.add_argument("--keep-duplicates", action="store_true",
                            help="one CSV file: keep repeated texts and conflicting labels (default: removed before the split)")
        parser.add_argument("--merge-case", action="store_true",
                            help="one CSV file: labels differing only in case (Cat, cat) are one class, spelled as "
                                 "most rows spell it (a folder's files are used as they are)")


COMMANDS = {"finetune": cli_finetune.cmd_finetune, "check": cli_check.cmd_check,
            "evaluate": cli_evaluate.cmd_evaluate, "predict": cli_predict.cmd_predict,
            **cli_course.COMMANDS}


def _suggest(parser, message: str) -> str:
    """A usage error with a "did you mean" for a misspelt subcommand or option."""
    import difflib
    import re

    choice = re.match(r"argument command: invalid choice: '([^']*)'", message)
    if choice:
        close = difflib.get_close_matches(choice[1], _subcommands(parser), n=1)
        return f"unknown command '{choice[1]}'" + (f": did you mean '{close[0]}'?" if close else "")
    if message == "the following arguments are required: command":  # `sft-teach` alone
        return f"a command is needed, one of: {', '.join(_subcommands(parser))}"
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
        close = [f"--output {cli_conventions.shell_word(extra[0])}"]
    elif first is None and len(extra) == 1 and "--data" in known:  # `sft-teach check my.csv`
        close = [f"--data {cli_conventions.shell_word(extra[0])}"]
    return (f"sft-teach {args.command}: error: unrecognized argument{'s' * (len(extra) > 1)}: {' '.join(extra)}"
            + (f": did you mean {close[0]}?" if close else "") + f" (see sft-teach {args.command} --help)\n")


def main(argv=None) -> int:
    parser = _build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        parser.exit(2, _unknown_options(parser, args, extra))
    # Output in an encoding that lacks a character of a text (an emoji, where output redirected to a
    # file on Windows takes its ANSI code page, or PYTHONIOENCODING=ascii): the character is written
    # escaped (\U0001f431) instead of stopping the command with a UnicodeEncodeError traceback
    if not cli_conventions.writes_utf8(sys.stdout) and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        if args.command != "check":  # check refuses it itself, as JSON with --json
            cli_conventions.check_encoding(getattr(args, "encoding", None))  # before any file is opened with it
        return COMMANDS[args.command](args)
    except SftTeachError as exc:
        print(f"sft-teach: error: {exc}".replace("\n", " "), file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        hint = f"; {exc}" if str(exc) else ""  # what the command knows it kept (finetune's run, its checkpoint)
        print(f"sft-teach: interrupted{hint}", file=sys.stderr)
        return getattr(exc, "exit_code", 130)  # 128 + the signal's number: 130 for Ctrl-C, 143 for SIGTERM
    except BrokenPipeError:  # `sft-teach check ... | head -1`: the reader left; not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 141  # 128 + SIGPIPE's 13: the status `yes | head -1` gives `yes`, as a shell's pipefail sees it
    except OSError as exc:  # what the system refuses of a path: a name too long, no permission, a full disk
        print(f"sft-teach: error: {cli_conventions.system_refusal(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
