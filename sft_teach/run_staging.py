"""Where ``sft-teach finetune`` writes a run until it has succeeded: a staging folder beside the output
folder (``.OUTPUT.partial/``, holding the settings in ``run.json`` and one checkpoint per epoch), renamed
into place only at the end, so that an interrupted run never leaves a half-written output folder and
``--resume`` finds its checkpoints. Which output folders may be written, and the swap itself.

Taught in notebooks/05_your_own_data.ipynb (``--resume``, ``--overwrite``).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import uuid
from pathlib import Path

from sft_teach import cli_conventions
from sft_teach.errors import ConfigError, OutputExistsError, SftTeachError
from sft_teach.run_record import CONTINUED, held


def staging_folder(output: Path) -> Path:
    """``.OUTPUT.partial/`` beside ``output``: where the run that writes ``output`` trains until it succeeds."""
    return output.with_name(f".{output.name}.partial")


def check_output(output: Path, shown: str, *, overwrite: bool, resume: bool, interrupted: bool) -> None:
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
            f"{staging_folder(output).name}/: pass --resume to continue that run (it then replaces them), --overwrite to "
            f"start again, or choose another --output")
    if interrupted:
        raise OutputExistsError(f"an interrupted run left checkpoints in {staging_folder(output).name}/: pass --resume to "
                                f"continue it, or --overwrite to start again")
    if run_files:
        raise OutputExistsError(
            f"output folder '{shown}' already holds results: pass --overwrite to replace them, or choose another --output")


def prepare_staging(staging: Path, settings: dict, resume: bool, finished: str | None = None,
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
        print(f"--overwrite: the interrupted run's checkpoint of {epoch_of(checkpoint)} in {staging.name}/ is "
              f"discarded; training starts again", flush=True)
    shutil.rmtree(staging, ignore_errors=True)  # an interrupted run's checkpoints: refused before, unless --overwrite
    staging.mkdir(parents=True)
    (staging / "run.json").write_text(json.dumps(settings, indent=2))
    return None


def check_swap_finished(output: Path, staging: Path, shown: str) -> None:
    """A run stopped between moving the old ``output`` aside and moving the new one in leaves neither
    in ``output``: said, before anything could delete the two of them."""
    aside = sorted(output.parent.glob(f".{glob.escape(output.name)}.old-*"))
    if aside and not output.exists():
        raise OutputExistsError(
            f"a run was stopped while it replaced '{shown}': the earlier run is in {aside[0].name}/ and the new one "
            f"in {staging.name}/ (complete if it holds metrics.json), both beside it: rename the one to keep to "
            f"'{output.name}' and delete the other")


def check_replaceable(output: Path) -> None:
    """An ``OSError`` now, before training, if an existing ``output`` could not be moved aside when the
    run has finished (a folder that cannot be renamed: no write permission, immutable, a mount point)."""
    if not output.exists():
        return
    probe = output.with_name(f".{output.name}.probe-{os.getpid()}")
    output.rename(probe)
    probe.rename(output)


def swap_in(staging: Path, output: Path, shown: str) -> None:
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


def epoch_of(checkpoint: Path) -> str:
    """``epoch 2`` for a checkpoint saved at the end of epoch 2 (its trainer_state.json), else its folder's name."""
    try:
        epoch = json.loads((checkpoint / "trainer_state.json").read_text())["epoch"]
        return f"epoch {round(epoch)}"
    except (OSError, ValueError, KeyError, TypeError):
        return checkpoint.name
