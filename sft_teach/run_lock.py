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


@contextlib.contextmanager
def one_run_at_a_time(output: Path, shown: str):
    """Hold the lock of ``output`` for the ``with`` block; refused in one line if another run holds it.
    ``shown``: the folder as the user wrote it, for the message."""
    lock = output.with_name(f".{output.name}.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_lock(fd):
            raise OutputExistsError(f"another sft-teach finetune is writing to '{shown}' now: wait until it has "
                                    f"finished, or choose another --output")
        try:
            yield
        finally:
            lock.unlink(missing_ok=True)  # still held: no other run can have taken it in the meantime
    finally:
        os.close(fd)  # releases the lock
