"""The ``sft-teach`` command: fine-tune, evaluate, predict, check the set-up.

Every problem a learner can fix is printed as one line on stderr, with exit code 2,
no traceback, and nothing overwritten. Results go to stdout; the last line of
``finetune`` and ``evaluate`` is one JSON object, so scripts can read it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import textwrap
from pathlib import Path

from sft_teach.environment import quiet_libraries
from sft_teach.errors import ConfigError, OutputExistsError, SftTeachError
from sft_teach.handout import DEFAULT_FOLDER as DEFAULT_COURSE

DEFAULT_OUTPUT = "sft-output"


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line too (argparse prints usage + error)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sft-teach", description="Supervised fine-tuning, taught and runnable on a laptop CPU.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ft = commands.add_parser("finetune", help="fine-tune a pretrained model on labelled text")
    ft.add_argument("--data", default="pets", help="pets (bundled), a CSV file with text,label, a folder of CSV splits, or a hub dataset")
    ft.add_argument("--model", default="default", help="default (bundled all-MiniLM-L6-v2), a local model folder, or a hub name")
    ft.add_argument("--epochs", default="3", help="passes over the training data (default 3)")
    ft.add_argument("--lr", default="1e-4", help="peak learning rate (default 1e-4)")
    ft.add_argument("--batch-size", default="16", help="training examples per step (default 16)")
    ft.add_argument("--max-length", default="128", help="longest text in tokens; longer ones are truncated (default 128)")
    ft.add_argument("--seed", default="42", help="random seed (default 42)")
    ft.add_argument("--head-epochs", default="0",
                    help="first train only the new head for N epochs, body frozen, then everything "
                         "(LP-FT, notebook 02 section 8; default 0: no head-only phase)")
    ft.add_argument("--output", default=DEFAULT_OUTPUT, help=f"output folder (default {DEFAULT_OUTPUT})")
    ft.add_argument("--overwrite", action="store_true", help="replace an existing output folder (only once training succeeded)")
    ft.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    ft.add_argument("--quiet", action="store_true", help="no progress bar")
    _data_options(ft)

    ck = commands.add_parser("check", help="check a dataset before training: counts, lengths and warnings")
    ck.add_argument("--data", default="pets", help="pets (bundled), a CSV file, a folder of CSV splits, or a hub dataset")
    ck.add_argument("--model", default="default", help="the model whose tokenizer measures lengths (default: bundled)")
    ck.add_argument("--max-length", default="128", help="longest text in tokens before truncation (default 128)")
    ck.add_argument("--seed", default="42", help="seed of the split when --data is one CSV file (default 42)")
    _data_options(ck)

    ev = commands.add_parser("evaluate", help="score a fine-tuned model on a labelled CSV")
    ev.add_argument("--model", required=True, help="folder written by finetune (OUTPUT/model)")
    ev.add_argument("--data", required=True, help="a CSV file with text,label, or pets (its test split)")
    _data_options(ev)

    pr = commands.add_parser("predict", help="classify texts with a fine-tuned model")
    pr.add_argument("--model", required=True, help="folder written by finetune (OUTPUT/model)")
    pr.add_argument("texts", nargs="+", metavar="TEXT")

    nb = commands.add_parser(
        "notebooks", help="copy the course's notebooks into a folder of your own",
        description=_wrap("Copy the course's notebooks into DIR, where you can run and edit them. "
                          "DIR/.sft-teach-course.json records what was copied, so that --update later brings "
                          "in newer notebooks without touching the ones you edited."),
        epilog="example: sft-teach notebooks my-course && jupyter lab my-course", formatter_class=_Help)
    nb.add_argument("dir", metavar="DIR", help="folder to copy the notebooks into (created if missing)")
    nb.add_argument("--update", action="store_true",
                    help="DIR already holds the course: refresh the notebooks you have not edited, add new ones, keep edited ones")

    lab = commands.add_parser(
        "lab", help="open the course in JupyterLab (copies it into DIR first if needed)",
        description=_wrap("Open the course in JupyterLab, started with this Python. If DIR does not hold the "
                          "course yet, it is copied there first (as sft-teach notebooks DIR does)."),
        epilog=f"example: sft-teach lab                  # the course in ./{DEFAULT_COURSE}\n"
               "         sft-teach lab my-course --port 8890 --no-browser", formatter_class=_Help)
    lab.add_argument("dir", metavar="DIR", nargs="?", default=DEFAULT_COURSE,
                     help=f"folder of the course (default {DEFAULT_COURSE})")
    lab.add_argument("--port", default=None, help="port for JupyterLab (default: JupyterLab's, 8888 or the next free one)")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser; open the printed URL yourself")
    lab.add_argument("--allow-root", action="store_true",
                     help="start even as root (JupyterLab refuses otherwise), as in a container")

    co = commands.add_parser("course", help="execute every notebook of the course headless")
    co.add_argument("--output", default="course-output", help="folder for the executed copies (default course-output)")
    co.add_argument("--html", action="store_true", help="also write a browsable HTML copy of each notebook")
    co.add_argument("--notebooks", default=None, help=argparse.SUPPRESS)  # another folder of notebooks (tests)

    commands.add_parser("doctor", help="check versions, device and the bundled model")
    return parser


class _Help(argparse.RawDescriptionHelpFormatter):
    """Help whose epilog keeps its line breaks (the examples); wrap the description with _wrap."""


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=80)


def _data_options(parser) -> None:
    parser.add_argument("--text-column", default="text", help="CSV column with the texts (default text)")
    parser.add_argument("--label-column", default="label", help="CSV column with the labels (default label)")
    parser.add_argument("--encoding", default="utf-8", help="text encoding of the CSV files (default utf-8; e.g. cp1252)")


def _int(name, value):
    try:
        return int(value)
    except ValueError:
        raise SftTeachError(f"{name} must be a whole number, got {value!r}") from None


def _portable(value: str) -> str:
    """A dataset or model as recorded in outputs: a path is reduced to its last part, so that
    saved results never hold the absolute paths of the machine that produced them."""
    path = Path(value)
    return path.name if path.is_absolute() or path.exists() else value


def _check_output(output: Path, overwrite: bool) -> None:
    if output.exists() and not output.is_dir():
        raise OutputExistsError(f"output '{output}' is a file: choose another --output folder")
    if output.is_dir() and any(output.iterdir()) and not overwrite:
        raise OutputExistsError(
            f"output folder '{output}' already holds results: pass --overwrite to replace them, or choose another --output")


def _load_and_check(args, seed: int, max_length: int):
    """The learner's dataset and tokenizer, and the findings to warn about (see sft_teach.checks)."""
    from sft_teach import checks, data, models

    dataset = data.load(args.data, text_column=args.text_column, label_column=args.label_column, split_seed=seed,
                        encoding=args.encoding)
    tokenizer = models.load_tokenizer(args.model)
    limit = getattr(tokenizer, "model_max_length", None)
    if limit and limit < 100_000 and max_length > limit:  # tokenizers without a limit report ~1e30
        raise ConfigError(f"max length {max_length} is more than this model accepts ({limit} tokens): try 128")
    return dataset, checks.check(dataset, tokenizer, max_length)


def _warn(findings, file=sys.stderr) -> None:
    for finding in findings:
        print(f"sft-teach: warning: {finding}", file=file)


def _run_settings(args, seed, epochs, lr, batch_size, max_length, head_epochs=0.0) -> dict:
    """What must be the same for ``--resume`` to continue a run rather than start another."""
    return {"data": _portable(args.data), "model": _portable(args.model), "epochs": epochs, "learning_rate": lr,
            "batch_size": batch_size, "max_length": max_length, "seed": seed, "head_epochs": head_epochs,
            "text_column": args.text_column, "label_column": args.label_column}


def _prepare_staging(staging: Path, settings: dict, resume: bool, overwrite: bool):
    """The folder a run writes into until it succeeds; returns the checkpoint to resume from (or None)."""
    from sft_teach.training import last_checkpoint

    checkpoint = last_checkpoint(staging / "checkpoints") if staging.is_dir() else None
    if resume:
        if checkpoint is None:
            raise SftTeachError(f"nothing to resume: no checkpoint in {staging.name}/ (a run saves one after each "
                                f"epoch): run the command without --resume")
        saved = json.loads((staging / "run.json").read_text())
        changed = [f"{k} {saved.get(k)} -> {v}" for k, v in settings.items() if saved.get(k) != v]
        if changed:
            raise ConfigError(f"--resume needs the interrupted run's settings, but {', '.join(changed)}: "
                              f"use the same options, or drop --resume and pass --overwrite to start again")
        return checkpoint
    if checkpoint is not None and not overwrite:
        raise OutputExistsError(f"an interrupted run left checkpoints in {staging.name}/: pass --resume to continue "
                                f"it, or --overwrite to start again")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / "run.json").write_text(json.dumps(settings, indent=2))
    return None


def cmd_finetune(args) -> int:
    from sft_teach.training import check_head_epochs, check_settings

    epochs, lr, batch_size, max_length = check_settings(args.epochs, args.lr, args.batch_size, args.max_length)
    head_epochs = check_head_epochs(args.head_epochs)
    seed = _int("seed", args.seed)
    output = Path(args.output)
    _check_output(output, args.overwrite or args.resume)

    # Everything that can fail on the learner's input fails here, before any training.
    quiet_libraries()
    from sft_teach import models

    models.resolve_model(args.model)
    dataset, findings = _load_and_check(args, seed, max_length)
    _warn(findings)

    from sft_teach import plots
    from sft_teach.metrics import confusion
    from sft_teach.training import finetune, last_checkpoint

    # The run writes into a sibling staging folder, renamed to OUTPUT only once it has
    # succeeded: an interrupted run never leaves a half-written OUTPUT, and its
    # checkpoints (one per epoch) stay in the staging folder for --resume.
    settings = _run_settings(args, seed, epochs, lr, batch_size, max_length, head_epochs)
    output.absolute().parent.mkdir(parents=True, exist_ok=True)
    staging = output.absolute().parent / f".{output.name}.partial"
    checkpoint = _prepare_staging(staging, settings, args.resume, args.overwrite)
    if checkpoint is not None:
        print(f"resuming from {checkpoint.name} of the interrupted run", flush=True)
    try:
        result = finetune(args.model, dataset, num_train_epochs=epochs, learning_rate=lr, batch_size=batch_size,
                          max_length=max_length, seed=seed, output_dir=staging, progress=not args.quiet,
                          head_epochs=head_epochs, save_checkpoints=True, save_total_limit=1,
                          resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    except BaseException as exc:
        if last_checkpoint(staging / "checkpoints") is None:
            shutil.rmtree(staging, ignore_errors=True)  # nothing worth resuming
        elif isinstance(exc, KeyboardInterrupt):
            raise KeyboardInterrupt("run the same command with --resume to continue from the last checkpoint") from None
        raise
    metrics = {**{k: round(v, 4) if isinstance(v, float) else v for k, v in result.metrics.items()},
               "eval_split": result.eval_split, **settings}
    (staging / "metrics.json").write_text(json.dumps({**metrics, "history": result.history}, indent=2))
    plots.loss_curve(result.history, total_steps=result.metrics["train_steps"]).savefig(staging / "loss.png", dpi=120)
    matrix = confusion(result.label_ids, result.predictions, len(result.label_names))
    plots.confusion_plot(matrix, result.label_names, title=f"{result.eval_split} split").savefig(
        staging / "confusion.png", dpi=120)
    shutil.rmtree(staging / "checkpoints", ignore_errors=True)
    (staging / "run.json").unlink()
    if output.exists():  # only now, after success, is the old output replaced
        shutil.rmtree(output)
    staging.rename(output)
    print(f"saved model, metrics.json, loss.png and confusion.png to {args.output}/")
    print(json.dumps({**metrics, "output": args.output}))
    return 0


def cmd_check(args) -> int:
    from sft_teach.checks import summary
    from sft_teach.training import check_settings

    max_length = check_settings(1, 1e-4, 1, args.max_length)[3]
    quiet_libraries()
    dataset, findings = _load_and_check(args, _int("seed", args.seed), max_length)
    for name, info in summary(dataset).items():
        classes = ", ".join(f"{label} {n}" for label, n in info["classes"].items())
        print(f"{name:10s} {info['rows']:6d} rows: {classes}")
    _warn(findings, file=sys.stdout)  # for `check` the warnings are the result
    print(f"{len(findings)} warning{'s' * (len(findings) != 1)}" if findings else "no problems found")
    return 0


def cmd_evaluate(args) -> int:
    from sft_teach import data
    from sft_teach.inference import evaluate, label_names, load_finetuned

    quiet_libraries()
    model, tokenizer = load_finetuned(args.model)
    names = label_names(model)
    if args.data in data.bundled_datasets():
        dataset = data.load(args.data)["test"]
    else:
        dataset = data.from_csv(args.data, args.text_column, args.label_column, labels=names, encoding=args.encoding)
    print(json.dumps({**{k: round(v, 4) for k, v in evaluate(model, tokenizer, dataset).items()}, "data": _portable(args.data)}))
    return 0


def cmd_predict(args) -> int:
    from sft_teach.inference import load_finetuned, predict

    quiet_libraries()
    model, tokenizer = load_finetuned(args.model)
    for row in predict(model, tokenizer, args.texts):
        print(json.dumps({**row, "score": round(row["score"], 4)}))
    return 0


def _print_actions(actions) -> None:
    for name, action, why in actions:
        print(f"{action:10s} {name}" + (f" ({why})" if why else ""))


def cmd_notebooks(args) -> int:
    from sft_teach.handout import copy_course

    _print_actions(copy_course(args.dir, update=args.update))
    print(f"the course is in {args.dir}/: open it with sft-teach lab {args.dir}")
    return 0


def cmd_lab(args) -> int:
    from sft_teach import handout

    port = None if args.port is None else _int("--port", args.port)
    command = handout.lab_command(args.dir, port=port, browser=not args.no_browser, allow_root=args.allow_root)  # fails before copying
    dest = Path(args.dir)
    if handout.holds_course(dest):  # open it as it is: a copy made earlier, or a clone's notebooks/
        newer = [name for name, action, _ in handout.plan(dest) if action in ("added", "updated")]
        if newer and handout.read_manifest(dest) is not None:
            print(f"{len(newer)} newer notebook{'s' * (len(newer) != 1)} in this sft-teach: "
                  f"sft-teach notebooks {dest} --update brings them in (your edited notebooks are kept)")
    else:
        _print_actions(handout.copy_course(dest))
    print(f"starting JupyterLab in {dest}/ (press Ctrl-C twice to stop it)", flush=True)
    _exec(command)
    return 0  # only reached when _exec is replaced (tests)


def _exec(command) -> None:
    """Become ``command``: JupyterLab then owns the terminal, and Ctrl-C shuts it down cleanly."""
    import os

    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)


def cmd_course(args) -> int:
    from sft_teach.course import NotebookFailed, run_course
    from sft_teach.handout import PACKAGED_NOTEBOOKS, course_notebooks, notebooks_dir

    folder = Path(args.notebooks) if args.notebooks else notebooks_dir()
    notebooks = course_notebooks(folder)
    # The notebooks write their files (outputs/...) where their kernel runs: in a clone, the clone's
    # notebooks/ folder (its outputs/ is git-ignored); from an installed wheel, the output folder,
    # never the installed package.
    workdir = Path(args.output) if folder == PACKAGED_NOTEBOOKS else None
    try:
        total = run_course(notebooks, args.output, html=args.html, workdir=workdir)
    except NotebookFailed as failed:
        print(" failed", flush=True)
        print(f"sft-teach: error: {failed}", file=sys.stderr)
        return 1
    print(f"the course ran in {total:.0f} s; executed notebooks are in {args.output}/")
    return 0


def cmd_doctor(args) -> int:
    from sft_teach.environment import report

    info = report()
    for name, version in info["versions"].items():
        print(f"{name:22s} {version}")
    dev = info["device"]
    print(f"{'device':22s} {dev['device']}" + (f" ({dev['gpu']})" if dev.get("gpu") else "")
          + f", {dev['cpu_cores']} CPU cores, torch uses {dev['torch_threads']} threads")
    model = info["bundled_model"]
    print(f"{'bundled model':22s} {model['name']}: " + (f"found ({model['weights_mb']} MB)" if model["found"] else "NOT FOUND"))
    if model["found"]:
        if model["weights_match"]:
            print(f"{'model weights':22s} sha256 {model['sha256'][:16]}..., the weights the course was executed with")
        else:
            print(f"{'model weights':22s} sha256 {model['sha256'][:16]}..., NOT the weights the course was executed with "
                  f"({model['sha256_expected'][:16]}...): everything runs, but trained accuracies and losses may differ "
                  "from the committed notebooks, and their checked cells may fail")
    print("ready" if info["ok"] else f"not ready: missing {', '.join(info['missing']) or 'the bundled model'}")
    return 0 if info["ok"] else 1


def main(argv=None) -> int:
    args = _build_parser().parse_args(argv)
    handler = {"finetune": cmd_finetune, "check": cmd_check, "evaluate": cmd_evaluate, "predict": cmd_predict, "course": cmd_course,
               "notebooks": cmd_notebooks, "lab": cmd_lab, "doctor": cmd_doctor}
    try:
        return handler[args.command](args)
    except SftTeachError as exc:
        print(f"sft-teach: error: {exc}".replace("\n", " "), file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        hint = f"; {exc}" if str(exc) else ""
        print(f"sft-teach: interrupted; nothing was overwritten{hint}", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
