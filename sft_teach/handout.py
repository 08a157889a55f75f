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


def _edition(dest) -> str:
    """The edition named in ``dest``'s :data:`EDITION_MARK`: "student" or "teacher" ("student", the
    handout, if the mark cannot be read)."""
    try:
        return str(json.loads((Path(dest) / EDITION_MARK).read_text(encoding="utf-8"))["edition"])
    except (OSError, ValueError, KeyError, TypeError):
        return "student"


def holds_course(dest) -> bool:
    """Whether ``dest`` already holds the course: its manifest, or any of its notebooks."""
    dest = Path(dest)
    return dest.is_dir() and ((dest / MANIFEST).exists() or any((dest / p.name).exists() for p in course_notebooks()))


def make_folder(path, purpose: str = "for the course") -> Path:
    """``path`` made a folder (with its parents), or one line saying why it cannot be one.

    An empty name, a file, a folder under a file or one the system refuses (no permission, a
    read-only place) raise :class:`ConfigError` / :class:`OutputExistsError` naming the path.
    """
    if not str(path).strip():  # Path("") is ".": the current folder, under another name
        raise ConfigError(f"the folder {purpose} has an empty name: name one, e.g. course-output")
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
    if update and (dest / EDITION_MARK).is_file():  # a handout: the learner's notebooks would join it
        edition = _edition(dest)
        raise ConfigError(
            f"'{dest}' holds the {edition} edition (sft-teach course --edition {edition}), not a copy made by "
            f"sft-teach notebooks: --update would add the self-learner's notebooks, quiz answers and all, beside it: "
            f"write the new version's edition to another folder (sft-teach course --edition {edition} --output NEW)")
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
    for name, action, _ in actions:
        if action in ("added", "updated"):
            shutil.copyfile(folder / name, dest / name)
        if action != "kept":  # a kept notebook keeps the hash it was copied with: it stays "edited"
            copied[name] = sha256_of(folder / name)
    manifest = {"written_by": "sft-teach notebooks", "files": dict(sorted(copied.items()))}
    partial = dest / f"{MANIFEST}.partial"
    partial.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    partial.replace(dest / MANIFEST)  # a crash never leaves half a manifest
    return actions


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
