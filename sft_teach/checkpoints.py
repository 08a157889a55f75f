"""Resuming an interrupted run: which checkpoint is complete, whether it fits this run, and saving
checkpoints without the pickled arguments file.

:func:`sft_teach.training.finetune` (taught in notebooks/02_technical_recipe.ipynb) and
``sft-teach finetune --resume`` resume through these; no notebook resumes a run.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from sft_teach.errors import ConfigError


def without_pickled_arguments(trainer) -> None:
    """Make ``trainer`` delete ``training_args.bin`` in the same call that writes it.

    ``Trainer._save`` stores its arguments beside each checkpoint's weights with
    ``torch.save``, a pickle (which can run code when loaded), and never reads them back
    when resuming. Deleting the file inside ``_save``, before the optimizer, RNG and
    ``trainer_state.json`` are written, means no complete checkpoint ever holds it, even
    in a process killed right after a save. (A callback's ``on_save`` comes only after
    ``trainer_state.json``: a kill in between left the pickle in a complete checkpoint.)
    """
    save = trainer._save

    def _save(output_dir=None, state_dict=None):
        save(output_dir, state_dict)
        Path(output_dir or trainer.args.output_dir, "training_args.bin").unlink(missing_ok=True)

    trainer._save = _save


def checkpoint_to_resume(resume, output_dir) -> str | None:
    """``resume_from_checkpoint`` as a checkpoint folder, or ``None``; refused before any training.

    ``True`` (``Trainer``'s spelling) means the newest complete checkpoint in ``output_dir/checkpoints``.
    """
    if resume is None or resume is False:
        return None
    if resume is True:
        found = last_checkpoint(Path(output_dir) / "checkpoints") if output_dir is not None else None
        if found is None:
            where = f"{output_dir}/checkpoints/" if output_dir is not None else "output_dir (none was given)"
            raise ConfigError(f"resume_from_checkpoint=True: no complete checkpoint in {where}: a run saves one after "
                              f"each epoch with save_checkpoints=True (and not save_only_model=True, whose checkpoints "
                              f"hold no optimizer state); pass the same output_dir, or start again")
        return str(found)
    lacking = missing(Path(resume))
    if lacking:
        raise ConfigError(f"resume_from_checkpoint={str(resume)!r} is not a complete checkpoint (it lacks "
                          f"{', '.join(lacking)}): pass a checkpoint-<step> folder a run saved whole, or True for "
                          f"the newest complete one in output_dir")
    return str(resume)


def check_resumable(checkpoint: Path, trained_on: str, names, output_dir, overwrite: bool) -> None:
    """Resuming goes on with the interrupted run: refused, before any training, when the checkpoint
    learned other classes or other data, or the run in ``output_dir`` has already finished."""
    from sft_teach.callbacks import TrainedOn
    from sft_teach.errors import OutputExistsError

    if output_dir is not None and (Path(output_dir) / "metrics.json").is_file() and not overwrite:
        raise OutputExistsError(f"output_dir '{output_dir}' holds a finished run (metrics.json): there is nothing to "
                                f"resume; to train it again, drop resume_from_checkpoint and pass overwrite=True")
    config_file = checkpoint / "config.json"
    learned = list(json.loads(config_file.read_text()).get("id2label", {}).values()) if config_file.is_file() else None
    if learned is not None and learned != list(names):
        raise ConfigError(f"resume_from_checkpoint: {checkpoint.name} learned the classes {', '.join(learned)}, and "
                          f"this data has {', '.join(names)}: resume with the interrupted run's data, or start again "
                          f"without resume_from_checkpoint")
    saved = TrainedOn.saved_in(checkpoint)
    if saved is not None and saved != trained_on:
        raise ConfigError(f"resume_from_checkpoint: {checkpoint.name} was trained on other data (its splits' texts "
                          f"or labels differ from these): resume with the interrupted run's data and split_seed, or "
                          f"start again without resume_from_checkpoint")


# What Trainer writes into a checkpoint besides trainer_state.json (written last). A checkpoint
# missing one of them was cut off, or partly deleted: resuming from it would fail, or (without the
# optimizer, the schedule or the random state) go on quietly as a different run.
WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "adapter_model.safetensors",
           "pytorch_model.bin", "pytorch_model.bin.index.json", "adapter_model.bin")
STATE = ("optimizer.pt", "scheduler.pt")


def missing(checkpoint: Path) -> list[str]:
    """What a complete checkpoint holds that ``checkpoint`` lacks: ``[]`` when it can be resumed from.

    ``trainer_state.json`` must also parse: the file is created before its text is written (not
    atomically), and a run killed in between leaves it empty or cut short.
    """
    checkpoint = Path(checkpoint)
    absent = []
    try:
        json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, unreadable, empty or cut short
        absent.append("trainer_state.json")
    if not any((checkpoint / name).is_file() for name in WEIGHTS):
        absent.append("the weights (model.safetensors)")
    absent += [name for name in STATE if not (checkpoint / name).is_file()]
    if not any(checkpoint.glob("rng_state*.pth")):  # rng_state_<rank>.pth under torchrun
        absent.append("rng_state.pth")
    return absent


def last_checkpoint(folder) -> Path | None:
    """The newest *complete* checkpoint in ``folder`` (``checkpoint-<step>``, see :func:`missing`),
    or ``None``. An incomplete one, cut off while saving or partly deleted, is skipped."""
    done = [p for p in Path(folder).glob("checkpoint-*") if not missing(p)]
    return max(done, key=lambda p: int(p.name.split("-")[-1]), default=None)


def remove(folder: Path) -> None:
    """Delete a run's checkpoints folder. Renamed first, in one step, so that a process killed while
    deleting never leaves a checkpoint that looks complete but has lost files."""
    folder = Path(folder)
    for left in folder.parent.glob(f".{folder.name}-removing-*"):  # what a run killed while deleting left
        shutil.rmtree(left, ignore_errors=True)
    doomed = folder.with_name(f".{folder.name}-removing-{os.getpid()}")
    try:
        folder.rename(doomed)
    except OSError:  # not there: nothing was saved
        return
    shutil.rmtree(doomed, ignore_errors=True)
