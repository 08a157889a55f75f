"""``sft-teach finetune``: the learner's data loaded and checked before any training
(:mod:`sft_teach.cli_check`), the run trained in a staging folder that is renamed into place only once
it succeeded, and resumed from that folder's checkpoints with ``--resume`` (:mod:`sft_teach.run_staging`);
then what the run kept and scored, in words and as a JSON line.

Taught in notebooks/05_your_own_data.ipynb.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

from sft_teach import cli_check, cli_conventions, run_staging
from sft_teach.cleaning import described
from sft_teach.environment import first_process, processes, quiet_libraries
from sft_teach.errors import ConfigError, OutputExistsError, SftTeachError
from sft_teach.run_lock import check_free, one_run_at_a_time
from sft_teach.run_record import file_in_the_way, held, portable, recorded_model
from sft_teach.training import RECIPES


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


def cmd_finetune(args) -> int:
    from sft_teach.setting_checks import check_head_epochs, check_patience, check_settings

    if processes() > 1:  # else each would stage the same run, and all but one would meet its lock
        if not first_process():
            return 2  # process zero says why, once
        raise ConfigError(f"sft-teach finetune runs in one process, and this is one of {processes()} started together "
                          f"(torchrun or accelerate launch): run the command alone, or launch a script that calls "
                          f"sft_teach.training.finetune (README, \"Scaling out\")")
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

    staging = run_staging.staging_folder(output)
    check_free(output, args.output)  # first: while another run writes there, what is in the folders says nothing
    interrupted = staging.is_dir() and last_checkpoint(staging / "checkpoints") is not None
    run_staging.check_output(output, args.output, overwrite=args.overwrite, resume=args.resume, interrupted=interrupted)
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
    dataset, cleaning, findings = cli_check.load_and_check(args, max_length)
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
            run_staging.check_swap_finished(output, staging, args.output)
            run_staging.check_replaceable(output)
            finished = args.output if held(output)[0] else None
            checkpoint = run_staging.prepare_staging(staging, settings, args.resume, finished, args.output)  # may refuse
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
        print(f"resuming the interrupted run from its checkpoint of {run_staging.epoch_of(checkpoint)} ({checkpoint.name})",
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
                    f"the checkpoint of {run_staging.epoch_of(kept)} is kept: run the same command with --resume to continue "
                    f"from there" if kept else "no epoch had finished saving its checkpoint, so there is nothing to "
                    "resume: run the same command again to start over"), getattr(exc, "exit_code", 130)) from None
        raise
    cli_conventions.warn(result.warnings[len(findings):])  # what training showed (the data's were said before training)
    metrics = read_record(staging)
    remove(staging / "checkpoints")
    (staging / "run.json").unlink()
    run_staging.swap_in(staging, output, args.output)  # only now, after success, is the old output replaced
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


def _push(folder: Path, repo: str) -> None:
    from sft_teach.run_record import push_model

    print(f"uploaded {folder} to {push_model(folder, repo)}")


