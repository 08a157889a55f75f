"""``sft-teach finetune`` and ``sft-teach check``: the learner's data loaded and checked before any
training, the run trained in a staging folder that is renamed into place only once it succeeded,
and resumed from that folder's checkpoints with ``--resume``.

Taught in notebooks/05_your_own_data.ipynb.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import sys
import uuid
from pathlib import Path

from sft_teach import cli_conventions
from sft_teach.cleaning import described
from sft_teach.environment import quiet_libraries
from sft_teach.errors import ConfigError, OutputExistsError, SftTeachError
from sft_teach.run_lock import check_free, one_run_at_a_time
from sft_teach.run_record import CONTINUED, as_typed, file_in_the_way, held, portable, recorded_model
from sft_teach.training import RECIPES


def _check_output(output: Path, shown: str, *, overwrite: bool, resume: bool, interrupted: bool) -> None:
    """``output`` may be written: missing, empty, or a run (with ``overwrite`` or ``resume``). --overwrite
    replaces the whole folder, so anything else in it (:func:`sft_teach.run_record.held`'s strangers)
    is refused. ``shown``: the folder as the user wrote it, for the messages; ``interrupted``: an
    interrupted run left checkpoints in its staging folder (said, since --overwrite would discard them)."""
    if output.exists() and not output.is_dir():
        raise OutputExistsError(f"output '{shown}' is a file: choose another --output folder")
    run_files, others = held(output)
    if others:  # the user's own files: --overwrite would delete them with the folder
        listed = ", ".join(name.rstrip("/") for name in others[:3]) + (f" and {len(others) - 3} more"
                                                                        if len(others) > 3 else "")
        raise OutputExistsError(f"output folder '{shown}' holds files that are not an sft-teach run ({listed}): "
                                f"--overwrite replaces only a run's own folder; choose another --output")
    if overwrite or resume:
        return
    if interrupted and run_files:
        raise OutputExistsError(
            f"output folder '{shown}' already holds results, and an interrupted run left checkpoints in "
            f".{output.name}.partial/: pass --resume to continue that run (it then replaces them), --overwrite to "
            f"start again, or choose another --output")
    if interrupted:
        raise OutputExistsError(f"an interrupted run left checkpoints in .{output.name}.partial/: pass --resume to "
                                f"continue it, or --overwrite to start again")
    if run_files:
        raise OutputExistsError(
            f"output folder '{shown}' already holds results: pass --overwrite to replace them, or choose another --output")


def _load_and_check(args, max_length: int):
    """The learner's dataset, its cleaning report (one CSV file) and the findings to warn about."""
    from sft_teach import checks, data, models
    from sft_teach.cleaning import cleaning_findings

    split_seed = {} if args.split_seed is None else {  # not given: load's default, Python's finetune's too
        "split_seed": cli_conventions.whole_number("--split-seed", args.split_seed, least=0)}
    dataset, cleaning = data.load_with_report(
        args.data, text_column=args.text_column, label_column=args.label_column, encoding=args.encoding,
        keep_duplicates=args.keep_duplicates, merge_case=args.merge_case, **split_seed)
    tokenizer = models.load_tokenizer(args.model)
    # the model's positions, not its tokenizer's model_max_length, which in a folder finetune saved is
    # the cut it trained with (128), not what the model can read (512)
    limit = models.positions(args.model)
    if limit and max_length > limit:
        raise ConfigError(f"max length {max_length} is more than this model accepts ({limit} tokens): try 128")
    return dataset, cleaning, (_unused_split_options(args, cleaning)
                               + checks.check(dataset, tokenizer, max_length, positions=limit,
                                              one_file=cleaning is not None)
                               + cleaning_findings(cleaning))


def _unused_split_options(args, cleaning) -> list:
    """A finding when ``--split-seed``, ``--keep-duplicates`` or ``--merge-case`` is given for data that is not split here
    (a folder of splits, the bundled data, a hub dataset: ``cleaning`` is None). They change nothing
    then, and a command that took them in silence would look as if it had used them."""
    from sft_teach.checks import Finding

    given = [name for name, value in (("--split-seed", args.split_seed is not None),
                                      ("--keep-duplicates", args.keep_duplicates),
                                      ("--merge-case", args.merge_case)) if value]
    if cleaning is not None or not given:
        return []
    one = len(given) == 1
    return [Finding("unused_option", (
        f"{', '.join(given[:-1]) + ' and ' * (not one) + given[-1]} {'applies' if one else 'apply'} only to one CSV file, which sft-teach cleans and "
        f"splits; {portable(args.data)} is already split, so {'it changes' if one else 'they change'} nothing "
        f"here: drop {'it' if one else 'them'}"))]


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
                  patience=None, split=None) -> dict:
    """What must be the same for ``--resume`` to continue a run rather than start another. ``split``:
    the seed the data was split with here (one CSV file), recorded only then; None for data already split."""
    return {"data": portable(args.data), "data_sha256": fingerprint,
            "model": recorded_model(args.model),  # as Python records it
            "recipe": args.recipe, "epochs": epochs, "learning_rate": lr, "batch_size": batch_size,
            "grad_accum": grad_accum, "max_length": max_length, "seed": seed,
            **({"split_seed": split} if split is not None else {}), "head_epochs": head_epochs,
            "patience": patience, "keep_duplicates": args.keep_duplicates, "merge_case": args.merge_case, "encoding": args.encoding,
            "text_column": args.text_column, "label_column": args.label_column}


def _prepare_staging(staging: Path, settings: dict, resume: bool, finished: str | None = None,
                     typed: str | None = None):
    """The folder a run writes into until it succeeds; returns the checkpoint to resume from (or None).
    ``finished``: the output folder as shown, when it holds a finished run; ``typed``: ``--output`` as typed."""
    from sft_teach.checkpoints import last_checkpoint

    checkpoint = last_checkpoint(staging / "checkpoints") if staging.is_dir() else None
    if resume:
        if checkpoint is None and finished:
            raise SftTeachError(f"nothing to resume: '{finished}' holds a finished run, and no interrupted run left "
                                f"a checkpoint: to train it again, drop --resume and pass --overwrite")
        if checkpoint is None and not staging.is_dir():
            output = typed or staging.name[1:-len(".partial")]
            raise SftTeachError(f"nothing to resume: no interrupted run of {output}/ (its checkpoints would be in "
                                f"{Path(output).parent / staging.name}/): run the command without --resume")
        if checkpoint is None:
            raise SftTeachError(f"nothing to resume: no complete checkpoint in {staging.name}/ (a run saves one after "
                                f"each epoch): run the command without --resume")
        try:
            saved = json.loads((staging / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise SftTeachError(f"cannot resume: {staging.name}/run.json, the interrupted run's settings, is missing "
                                f"or damaged: drop --resume and pass --overwrite to start again") from None
        # the data is compared by its content (data_sha256): a renamed or moved copy of the file is the same
        # data; a fine-tuned model folder by what it came from, not where it now is
        def same(key):
            if key == "model":
                return str(saved.get(key)).split(CONTINUED)[0] == str(settings[key]).split(CONTINUED)[0]
            return saved.get(key) == settings[key]

        changed = [f"{k} {saved.get(k)} -> {v}" if k != "data_sha256" else "the data's content changed"
                   for k, v in settings.items() if k != "data" and not same(k)]
        if changed:
            raise ConfigError(f"--resume needs the interrupted run's settings and data, but {'; '.join(changed)}: "
                              f"use the same options and data, or drop --resume and pass --overwrite to start again")
        return checkpoint
    if checkpoint is not None:  # --overwrite: said now, since an interruption of this run leaves nothing of it
        print(f"--overwrite: the interrupted run's checkpoint of {_epoch_of(checkpoint)} in {staging.name}/ is "
              f"discarded; training starts again", flush=True)
    shutil.rmtree(staging, ignore_errors=True)  # an interrupted run's checkpoints: refused before, unless --overwrite
    staging.mkdir(parents=True)
    (staging / "run.json").write_text(json.dumps(settings, indent=2))
    return None


def cmd_finetune(args) -> int:
    from sft_teach.setting_checks import check_head_epochs, check_patience, check_settings

    recipe = RECIPES[args.recipe]
    epochs, lr, batch_size, max_length = check_settings(
        recipe["num_train_epochs"] if args.epochs is None else args.epochs,
        recipe["learning_rate"] if args.lr is None else args.lr, args.batch_size, args.max_length, text=True)
    head_epochs = check_head_epochs(recipe["head_epochs"] if args.head_epochs is None else args.head_epochs, text=True)
    patience = None if args.patience is None else check_patience(args.patience, text=True)
    if patience is not None and not recipe["best_epoch"]:
        raise ConfigError("--patience keeps the best validation epoch, which --recipe plain does not: "
                          "drop --patience or use --recipe best")
    seed = cli_conventions.whole_number("--seed", args.seed, least=0)
    grad_accum = cli_conventions.whole_number("--grad-accum", args.grad_accum, least=1)
    if args.split_seed is not None:
        cli_conventions.whole_number("--split-seed", args.split_seed, least=0)
    output = Path(args.output)
    if output.is_symlink():  # a link to a folder: the run goes where it points (a link cannot be swapped in place)
        output = output.resolve()
    output = Path(os.path.abspath(output))  # "." and "..": a folder with a name, beside which the run is staged
    here = Path.cwd().resolve()  # compared resolved: a path through a link may name the current folder too
    if output.resolve() == here or output.resolve() in here.parents:
        raise OutputExistsError(f"--output {args.output} is the current folder"
                                f"{'' if output.resolve() == here else ' or one above it'}: a run replaces its output "
                                f"folder whole: pass a folder inside it, e.g. --output run")
    blocking = file_in_the_way(output.parent)
    if blocking is not None:
        raise OutputExistsError(f"--output {args.output}: {blocking} is a file, not a folder: choose another --output")
    from sft_teach.checkpoints import last_checkpoint

    staging = output.parent / f".{output.name}.partial"
    check_free(output, args.output)  # first: while another run writes there, what is in the folders says nothing
    interrupted = staging.is_dir() and last_checkpoint(staging / "checkpoints") is not None
    _check_output(output, args.output, overwrite=args.overwrite, resume=args.resume, interrupted=interrupted)
    precision = _precision(args)

    # Everything that can fail on the learner's input fails here, before any training.
    quiet_libraries()
    from sft_teach import checks, models
    from sft_teach.model_card import data_fingerprint

    if args.push_to_hub is not None and not args.push_to_hub.strip():  # --push-to-hub "$REPO", REPO unset
        raise ConfigError("--push-to-hub needs the Hub repository to upload to, owner/name: got an empty name")
    if args.push_to_hub and not models.hub_available():
        raise ConfigError(f"--push-to-hub {args.push_to_hub}: the Hugging Face Hub cannot be reached from here: "
                          f"train without it and upload the model folder later: hf upload {args.push_to_hub} "
                          f"{cli_conventions.shell_word(Path(args.output) / 'model')}")
    models.resolve_model(args.model)
    dataset, cleaning, findings = _load_and_check(args, max_length)
    too_big = checks.batch_over_train(len(dataset["train"]), batch_size, grad_accum)  # as finetune's
    findings += [too_big] if too_big else []

    # one CSV file: hashed as it was read, and split here with its seed; data already split: hashed only
    settings = _run_settings(args, seed, epochs, lr, batch_size, max_length, head_epochs, grad_accum,
                             cleaning["read_from"]["data_sha256"] if cleaning else data_fingerprint(args.data),
                             patience, split=cleaning["split_seed"] if cleaning else None)
    # The run writes into a sibling staging folder, renamed to OUTPUT only once it has
    # succeeded: an interrupted run never leaves a half-written OUTPUT, and its
    # checkpoints (one per epoch) stay in the staging folder for --resume.
    with contextlib.ExitStack() as held_until_done:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            held_until_done.enter_context(one_run_at_a_time(output, args.output))  # first: no other run is here now
            _check_swap_finished(output, staging, args.output)
            _check_replaceable(output)
            finished = args.output if held(output)[0] else None
            checkpoint = _prepare_staging(staging, settings, args.resume, finished, args.output)  # may refuse
        except SftTeachError:  # the refusals above (an OutputExistsError is an OSError too): nothing printed before
            raise
        except OSError as exc:  # a read-only disk, a folder without write permission: said before any training
            raise OutputExistsError(f"output folder '{args.output}' cannot be written ({exc.strerror or exc}): "
                                    f"choose another --output") from None
        return _train_and_swap(args, dataset, cleaning, findings, settings, staging, output, checkpoint, finished,
                               epochs=epochs, lr=lr, batch_size=batch_size, max_length=max_length, seed=seed,
                               head_epochs=head_epochs, recipe=recipe, patience=patience, grad_accum=grad_accum,
                               precision=precision)


def _train_and_swap(args, dataset, cleaning, findings, settings, staging: Path, output: Path, checkpoint, finished,
                    *, epochs, lr, batch_size, max_length, seed, head_epochs, recipe, patience, grad_accum,
                    precision) -> int:
    """Train into ``staging`` (from ``checkpoint``, if resuming), then put the run in ``output``.
    ``finished``: the output folder as shown, when it holds a finished run (kept as it is until this
    run succeeds)."""
    from sft_teach.checkpoints import last_checkpoint, remove
    from sft_teach.run_record import read_record
    from sft_teach.training import finetune_quietly

    if cleaning:
        print(described(cleaning), flush=True)
    cli_conventions.warn(findings)
    if checkpoint is not None:
        print(f"resuming the interrupted run from its checkpoint of {_epoch_of(checkpoint)} ({checkpoint.name})",
              flush=True)
    try:
        # quietly: what training shows is printed below as the command's own lines; a SIGTERM stops
        # training as Ctrl-C does (not the steps after it, which put the run in place)
        with _stopped_as_interrupted():
            result = finetune_quietly(args.model, (dataset, cleaning), num_train_epochs=epochs, learning_rate=lr,
                                      batch_size=batch_size, max_length=max_length, seed=seed,
                                      output_dir=staging, progress=not args.quiet, head_epochs=head_epochs,
                                      best_epoch=recipe["best_epoch"], patience=patience, save_checkpoints=True,
                                      save_total_limit=1, gradient_accumulation_steps=grad_accum,
                                      resume_from_checkpoint=str(checkpoint) if checkpoint else None,
                                      record=settings, data_warnings=findings, overwrite=True, **precision)
    except BaseException as exc:
        kept = last_checkpoint(staging / "checkpoints")
        if kept is None:
            shutil.rmtree(staging, ignore_errors=True)  # nothing worth resuming
        if isinstance(exc, KeyboardInterrupt):  # the progress bar was closed as training ended, its line too
            output_said = f"the run in {finished}/ is as it was" if finished else f"nothing was written to {args.output}/"
            raise Stopped(
                f"{output_said}; " + (
                    f"the checkpoint of {_epoch_of(kept)} is kept: run the same command with --resume to continue "
                    f"from there" if kept else "no epoch had finished saving its checkpoint, so there is nothing to "
                    "resume: run the same command again to start over"), getattr(exc, "exit_code", 130)) from None
        raise
    cli_conventions.warn(result.warnings[len(findings):])  # what training showed (the data's were said before training)
    metrics = read_record(staging)
    remove(staging / "checkpoints")
    (staging / "run.json").unlink()
    _swap_in(staging, output, args.output)  # only now, after success, is the old output replaced
    if args.push_to_hub:
        _push(output / "model", args.push_to_hub)
    for line in result_lines(json.loads((output / "metrics.json").read_text())):  # with its validation curve
        print(line)
    print(f"saved model (with its card, README.md), splits/, metrics.json, loss.png and confusion.png to {args.output}/")
    print(cli_conventions.json_line({**metrics, "output": args.output}))
    return 0


def result_lines(metrics: dict) -> list[str]:
    """What the run kept and how it scored, in words, before the JSON line that holds the same: the epoch
    kept and why (early stopping ends a progress bar part-way, which would otherwise look like a crash),
    then the held-out score with its interval and the training time."""
    lines = []
    if metrics.get("best_epoch") is not None:
        kept = next((row for row in metrics.get("validation_curve", [])
                     if round(row["epoch"], 4) == round(metrics["best_epoch"], 4)), None)
        run = metrics.get("epochs_run", metrics["epochs"])
        line = (f"kept epoch {metrics['best_epoch']:g} of {run:g}"
                + (f" (validation macro-F1 {kept['macro_f1']:.3f}, the best)" if kept else "")
                # 1.5 epochs of 3 steps each: Trainer runs 5 steps, 1.6667 epochs
                + (f"; --epochs {metrics['epochs']:g} ran as {run:g}, since training takes whole steps"
                   if run > metrics["epochs"] else ""))
        if metrics.get("patience") and metrics.get("epochs_run") is not None and metrics["epochs_run"] < metrics["epochs"]:
            line += (f"; stopped early after epoch {metrics['epochs_run']:g} of {metrics['epochs']:g}: no better "
                     f"validation macro-F1 for {metrics['patience']} epoch{'s' * (metrics['patience'] != 1)}")
        lines.append(line)
    low, high = metrics["accuracy_interval_95"]
    lines.append(f"{metrics['eval_split']} split, {metrics['eval_size']} rows: accuracy {metrics['accuracy']:.3f} "
                 f"(95 % interval {low:.3f} to {high:.3f}), macro-F1 {metrics['macro_f1']:.3f}; trained in "
                 f"{_duration(metrics['train_seconds'])}"
                 + ("; no test split, so this score is optimistic, as warned" if metrics["eval_split"] != "test" else ""))
    return lines


def _duration(seconds: float) -> str:
    """``42 s`` or ``4 min 05 s``."""
    whole = round(seconds)  # rounded once: 119.6 s is 2 min 00 s, not 1 min 60 s
    return f"{whole} s" if whole < 60 else f"{whole // 60} min {whole % 60:02d} s"


class Stopped(KeyboardInterrupt):
    """Ctrl-C, or the signal a ``kill``, ``timeout`` or closed terminal sends: the run stops as on
    Ctrl-C (its checkpoint kept, the message saying so); ``exit_code`` is 128 + the signal's number."""

    def __init__(self, message: str = "", exit_code: int = 130):
        super().__init__(message)
        self.exit_code = exit_code


@contextlib.contextmanager
def _stopped_as_interrupted():
    """SIGTERM and SIGHUP raise :class:`Stopped` while training, instead of ending Python on the spot
    with no word of the checkpoint kept."""
    import signal

    def stop(signum, frame):
        raise Stopped(signal.Signals(signum).name, 128 + signum)

    kinds = [kind for kind in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if kind]
    try:
        before = {kind: signal.signal(kind, stop) for kind in kinds}
    except ValueError:  # not the main thread: signals cannot be caught here; leave them as they are
        before = {}
    try:
        yield
    finally:
        for kind, handler in before.items():
            signal.signal(kind, handler)


def _check_swap_finished(output: Path, staging: Path, shown: str) -> None:
    """A run stopped between moving the old ``output`` aside and moving the new one in leaves neither
    in ``output``: said, before anything could delete the two of them."""
    aside = sorted(output.parent.glob(f".{glob.escape(output.name)}.old-*"))
    if aside and not output.exists():
        raise OutputExistsError(
            f"a run was stopped while it replaced '{shown}': the earlier run is in {aside[0].name}/ and the new one "
            f"in {staging.name}/ (complete if it holds metrics.json), both beside it: rename the one to keep to "
            f"'{output.name}' and delete the other")


def _check_replaceable(output: Path) -> None:
    """An ``OSError`` now, before training, if an existing ``output`` could not be moved aside when the
    run has finished (a folder that cannot be renamed: no write permission, immutable, a mount point)."""
    if not output.exists():
        return
    probe = output.with_name(f".{output.name}.probe-{os.getpid()}")
    output.rename(probe)
    probe.rename(output)


def _swap_in(staging: Path, output: Path, shown: str) -> None:
    """Put the finished run in ``output``: the old folder is moved aside first and removed only once the
    new one is in place, so a failure at any step leaves one whole run there, never an emptied one."""
    # a name of its own: an earlier run's folder that could not be removed may still be there, under the same
    # process id (a container starts its command with the same one each time)
    aside = output.with_name(f".{output.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        if output.exists():
            output.rename(aside)
        staging.rename(output)
    except OSError as exc:
        if aside.exists() and not output.exists():
            aside.rename(output)  # the old run back, whole
        raise OutputExistsError(f"the run finished, but '{shown}' could not be replaced ({exc.strerror or exc}): "
                                f"the new run is in {staging}; move it there yourself") from None
    shutil.rmtree(aside, ignore_errors=True)
    if aside.exists():  # said, not left as a hidden folder nobody knows of
        cli_conventions.warn([f"the earlier run could not be removed: it is in {aside}; delete it yourself"])


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

    quiet_libraries()
    try:  # every refusal inside, so that --json gives each as JSON: the encoding's too (which main leaves to check)
        cli_conventions.check_encoding(args.encoding)
        max_length = cli_conventions.max_length(args.max_length)
        dataset, cleaning, findings = _load_and_check(args, max_length)
    except (SftTeachError, OSError) as exc:  # a script reading --json gets the error as JSON too (and exit 2)
        if args.json:
            said = str(exc) if isinstance(exc, SftTeachError) else cli_conventions.system_refusal(exc)
            print(cli_conventions.json_line({"data": as_typed(args.data), "errors": [said]}))
        raise
    if args.json:
        print(cli_conventions.json_line({"data": as_typed(args.data), "splits": summary(dataset), "cleaning": cleaning,
                          "warnings": [{"kind": f.kind, "message": str(f)} for f in findings]}))
    else:
        from sft_teach.bundled import bundled_datasets

        if cleaning:
            print(described(cleaning))
        elif args.data in bundled_datasets():  # the default: say so, in case the learner meant their own file
            print(f"{args.data}: the course's bundled data, as split in its folder (check yours with --data FILE.csv)")
        for name, info in summary(dataset).items():
            classes = ", ".join(f"{label} {n}" for label, n in info["classes"].items())
            print(f"{name:10s} {info['rows']:6d} rows: {classes}")
        cli_conventions.warn(findings, file=sys.stdout)  # for `check` the warnings are the result
        print(f"{len(findings)} warning{'s' * (len(findings) != 1)}" if findings else "no problems found")
    if args.strict and findings:
        print(f"sft-teach: error: {len(findings)} warning{'s' * (len(findings) != 1)} and --strict", file=sys.stderr)
        return 2
    return 0
