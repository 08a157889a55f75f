"""One ``sft-teach finetune`` at a time per output folder.

Two runs given the same ``--output`` would share its staging folder: the second one deletes and
recreates it under the first, which then fails at the end with its work lost. The first run holds
an exclusive lock on a file beside the output folder (``.NAME.lock``) until it ends; a second run
that cannot take the lock is refused before it touches anything.

The operating system releases the lock when the process ends, however it ends (``kill -9``
included), so a lock is never left behind by a dead run. The empty file itself may stay; it is
removed when the run that holds it ends normally.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from sft_teach.errors import OutputExistsError

try:  # POSIX
    import fcntl
except ImportError:  # Windows
    fcntl = None
try:
    import msvcrt
except ImportError:
    msvcrt = None


def _lock_file(output: Path) -> Path:
    return output.with_name(f".{output.name}.lock")


def _busy(shown: str) -> OutputExistsError:
    return OutputExistsError(f"another sft-teach finetune is writing to '{shown}' now: wait until it has finished, "
                             f"or choose another --output")


def _try_lock(fd: int) -> bool:
    """Take the exclusive lock on the open file ``fd`` without waiting; ``False`` if another process holds it."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        elif msvcrt is not None:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def check_free(output: Path, shown: str) -> None:
    """Refused now, before any other check or any work, if another run holds ``output``'s lock
    (its other messages, such as "an interrupted run left checkpoints", would be wrong then).
    Does not keep the lock: :func:`one_run_at_a_time` takes it."""
    try:
        fd = os.open(_lock_file(output), os.O_RDWR)
    except OSError:  # no lock file (or no folder): no run is writing there
        return
    try:
        if not _try_lock(fd):
            raise _busy(shown)
    finally:
        os.close(fd)  # releases the lock if this probe took it


@contextlib.contextmanager
def one_run_at_a_time(output: Path, shown: str):
    """Hold the lock of ``output`` for the ``with`` block; refused in one line if another run holds it.
    ``shown``: the folder as the user wrote it, for the message."""
    lock = _lock_file(output)
    for _ in range(3):
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            os.close(fd)
            raise _busy(shown)
        try:
            current = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except OSError:
            current = False
        if current:
            break
        os.close(fd)  # we locked a file that the run before us had just deleted: lock the one there now
    else:
        raise _busy(shown)
    try:
        yield
    finally:
        # Deleted while still held, so a run that opens it from now on gets a file of its own, which
        # the inode check above tells from this one. Windows cannot delete an open file: there the
        # empty file stays, and the next run locks it again.
        with contextlib.suppress(OSError):
            lock.unlink()
        os.close(fd)  # releases the lock
