"""The course outside the clone: copy the notebooks to a folder of the learner's own, and open them.

``pip install`` puts the notebooks inside the package (``sft_teach/_notebooks``), where a
learner should not work: an upgrade replaces them. ``sft-teach notebooks DIR`` copies them to
``DIR`` and records what it copied in ``DIR/.sft-teach-course.json``, a manifest with each
notebook's SHA-256. The manifest is what tells a notebook the learner has edited (its hash
changed) from one left as copied, so that ``--update`` can bring a newer course into ``DIR``
without touching anybody's work:

=====================  ===================  ==============
notebook in ``DIR``    the course's copy    ``--update``
=====================  ===================  ==============
missing                any                  added
as copied              the same             unchanged
as copied              newer                updated
edited                 other bytes          kept
not in the manifest    other bytes          kept
any                    the same bytes       unchanged
=====================  ===================  ==============

``sft-teach lab [DIR]`` copies the course if ``DIR`` has none yet, then starts JupyterLab there.

No notebook teaches this module: it is how the notebooks reach a learner (README, "Start the course").
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from pathlib import Path

from sft_teach.cli_conventions import shell_word
from sft_teach.environment import sha256_of
from sft_teach.errors import ConfigError, OutputExistsError, SftTeachError

MANIFEST = ".sft-teach-course.json"
# beside the notebooks of an edition (sft-teach course --edition), whose folder is not a copy to update
EDITION_MARK = ".sft-teach-edition.json"
DEFAULT_FOLDER = "sft-teach-course"

_HERE = Path(__file__).resolve().parent
PACKAGED_NOTEBOOKS = _HERE / "_notebooks"  # inside an installed wheel (see pyproject.toml)
CLONE_NOTEBOOKS = _HERE.parent / "notebooks"  # in a clone of the repository


def notebooks_dir() -> Path:
    """Where the course's notebooks are: inside an installed wheel, else the clone's ``notebooks/``."""
    return PACKAGED_NOTEBOOKS if PACKAGED_NOTEBOOKS.is_dir() else CLONE_NOTEBOOKS


def course_notebooks(folder=None) -> list[Path]:
    """The course's notebooks in reading order (``00_...`` first); raises if there are none."""
    folder = Path(folder) if folder is not None else notebooks_dir()
    found = sorted(folder.glob("*.ipynb"))
    if not found:
        raise SftTeachError(f"no notebooks found in {folder}: this installation of sft-teach lacks the course; "
                            "reinstall it from a built wheel or a clone (pip install .)")
    return found


def read_manifest(dest) -> dict[str, str] | None:
    """``{notebook name: SHA-256 as copied}`` from ``dest``'s manifest, or None where there is none."""
    path = Path(dest) / MANIFEST
    if not path.is_file():
        return None
    try:
        return dict(json.loads(path.read_text(encoding="utf-8"))["files"])
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f"{path} is not a manifest written by sft-teach: delete it (every notebook in "
                          f"{Path(dest).name}/ is then kept as yours by --update), or copy the course to another folder") from None


def plan(dest, source=None) -> list[tuple[str, str, str]]:
    """What ``copy_course(dest, update=True)`` would do, without doing it.

    One ``(name, action, why)`` per notebook of the course, ``action`` one of ``added``,
    ``updated``, ``unchanged`` or ``kept`` (see the module's table).
    """
    dest = Path(dest)
    copied = read_manifest(dest) or {}
    actions = []
    for notebook in course_notebooks(source):
        target, new = dest / notebook.name, sha256_of(notebook)
        if not target.exists():
            actions.append((notebook.name, "added", ""))
            continue
        now = sha256_of(target)
        if now == new:
            actions.append((notebook.name, "unchanged", ""))
        elif notebook.name not in copied:
            actions.append((notebook.name, "kept", "it was not copied by sft-teach notebooks"))
        elif now != copied[notebook.name]:
            actions.append((notebook.name, "kept", "you edited it" if new == copied[notebook.name] else
                            "you edited it, so the course's newer version was not copied: rename yours and "
                            "run --update again to get it beside yours"))
        else:
            actions.append((notebook.name, "updated", ""))
    return actions


def edition_of(dest) -> str:
    """The edition named in ``dest``'s :data:`EDITION_MARK`: "student" or "teacher" ("student", the
    handout, if the mark cannot be read)."""
    try:
        return str(json.loads((Path(dest) / EDITION_MARK).read_text(encoding="utf-8"))["edition"])
    except (OSError, ValueError, KeyError, TypeError):
        return "student"


def holds_course(dest) -> bool:
    """Whether ``dest`` already holds the course: its manifest, an edition's mark (whose notebooks may be
    of an older course, named otherwise), or any of its notebooks."""
    dest = Path(dest)
    return dest.is_dir() and ((dest / MANIFEST).exists() or (dest / EDITION_MARK).exists()
                              or any((dest / p.name).exists() for p in course_notebooks()))


def refuse_an_empty_name(path, purpose: str = "for the course", example: str = DEFAULT_FOLDER) -> None:
    """A :class:`ConfigError` for a folder named by nothing (an unset shell variable): ``Path("")`` is
    ".", the current folder under another name, which would take the course in."""
    if not str(path).strip():
        raise ConfigError(f"the folder {purpose} has an empty name: name one, e.g. {example}")


def make_folder(path, purpose: str = "for the course", example: str = DEFAULT_FOLDER) -> Path:
    """``path`` made a folder (with its parents), or one line saying why it cannot be one.

    An empty name, a file, a folder under a file or one the system refuses (no permission, a
    read-only place) raise :class:`ConfigError` / :class:`OutputExistsError` naming the path.
    """
    refuse_an_empty_name(path, purpose, example)
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise OutputExistsError(f"'{folder}' is a file: choose a folder {purpose}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocking = next((p for p in folder.parents if p.exists() and not p.is_dir()), None)
        why = f"'{blocking}' is a file" if blocking is not None else (exc.strerror or str(exc)).lower()
        raise ConfigError(f"cannot make the folder '{folder}' ({why}): choose another folder {purpose}") from None
    return folder


def copy_course(dest, update: bool = False, source=None) -> list[tuple[str, str, str]]:
    """Copy the course's notebooks into ``dest``; returns :func:`plan`'s ``(name, action, why)`` rows.

    Without ``update``, a ``dest`` that already holds a copy of the course (or any file named like
    one of its notebooks) is refused with :class:`OutputExistsError`: nothing is overwritten. With
    ``update``, untouched notebooks are refreshed, new ones added, and edited ones kept.
    """
    dest = make_folder(dest)
    if (dest / EDITION_MARK).is_file():  # a handout: the learner's notebooks would join it
        edition = edition_of(dest)
        raise ConfigError(
            f"'{dest}' holds the {edition} edition (sft-teach course --edition {edition}), not a copy made by "
            f"sft-teach notebooks: " + (
                f"--update would add the self-learner's notebooks, quiz answers and all, beside it: write the new "
                f"version's edition to another folder (sft-teach course --edition {edition} --output NEW)" if update else
                f"open it as it is with sft-teach lab {shell_word(dest)}, or choose another folder for a copy of your own"))
    if not update:
        names = [p.name for p in course_notebooks(source)]
        clashes = [n for n in names if (dest / n).exists()]
        if (dest / MANIFEST).exists() or clashes:
            raise OutputExistsError(
                f"'{dest}' already holds the course ({clashes[0] if clashes else MANIFEST}): open it with "
                f"sft-teach lab {shell_word(dest)}, pass --update to bring in newer notebooks (edited ones are kept), "
                "or choose another folder")
    actions = plan(dest, source)
    copied = read_manifest(dest) or {}
    folder = Path(source) if source is not None else notebooks_dir()
    try:
        for name, action, _ in actions:
            if action in ("added", "updated"):
                _copy_whole(folder / name, dest / name)
            if action != "kept":  # a kept notebook keeps the hash it was copied with: it stays "edited"
                copied[name] = sha256_of(folder / name)
    except OSError as exc:  # a full disk, say: what was copied whole is recorded, so --update copies the rest
        with contextlib.suppress(OSError):  # on a full disk the record may not fit either: --update then finds
            _write_manifest(dest, copied)   # the copies it lacks identical to the course's, "unchanged"
        raise OutputExistsError(f"'{dest}': could not copy {name} there ({exc.strerror or exc}): the notebooks copied "
                                f"before it are whole and recorded; make room, then run sft-teach notebooks "
                                f"{shell_word(dest)} --update to copy the rest") from None
    _write_manifest(dest, copied)
    return actions


def _copy_whole(source: Path, target: Path) -> None:
    """``source`` copied to ``target`` through a temporary file beside it: a full disk or a kill never
    leaves half a notebook under its name (which --update would then keep as the learner's)."""
    partial = target.with_name(f".{target.name}.partial")
    try:
        shutil.copyfile(source, partial)
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _write_manifest(dest: Path, copied: dict) -> None:
    manifest = {"written_by": "sft-teach notebooks", "files": dict(sorted(copied.items()))}
    partial = dest / f"{MANIFEST}.partial"
    try:
        partial.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        partial.replace(dest / MANIFEST)  # a crash never leaves half a manifest
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def newer(dest, source=None) -> tuple[list[str], list[str]]:
    """``(brought_in, edited)``: the notebooks of the installed course newer than ``dest``'s copy, those
    ``--update`` brings in (new ones, and those left as copied) and those the learner changed (running a
    notebook saves its outputs, which changes it too: ``--update`` keeps them, so the newer version
    comes in only beside a renamed copy). Nothing for a folder ``sft-teach notebooks`` did not copy."""
    copied = read_manifest(dest)
    if copied is None:  # not a copy made by sft-teach notebooks: nothing to compare with
        return [], []
    folder = Path(source) if source is not None else notebooks_dir()
    rows = plan(dest, source)
    brought_in = [name for name, action, _ in rows if action in ("added", "updated")]
    edited = [name for name, action, _ in rows
              if action == "kept" and name in copied and sha256_of(folder / name) != copied[name]]
    return brought_in, edited


def lab_command(dest, port: int | None = None, browser: bool = True, allow_root: bool = False) -> list[str]:
    """The JupyterLab command for ``dest``, run with this Python (so with this environment's packages)."""
    import importlib.util

    if importlib.util.find_spec("jupyterlab") is None:
        raise ConfigError(f"JupyterLab is not installed in this Python ({sys.executable}): pip install jupyterlab")
    if port is not None and not 1 <= port <= 65535:
        raise ConfigError(f"--port must be between 1 and 65535, got {port}")
    if not allow_root and hasattr(os, "geteuid") and os.geteuid() == 0:  # JupyterLab's own refusal is a page of log
        raise ConfigError("you are root, and JupyterLab refuses to start as root: pass --allow-root (as in a "
                          "container), or run it as another user")
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={Path(dest).resolve()}"]
    if port is not None:
        command.append(f"--port={port}")
    if not browser:
        command.append("--no-browser")
    if allow_root:
        command.append("--allow-root")
    return command
