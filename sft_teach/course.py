"""Execute the course's notebooks headless, as they are published.

* ``sft-teach course [--output DIR] [--html]`` runs every notebook in order on copies in
  ``DIR`` (default ``course-output/``), prints one line per notebook with its time, and stops
  at the first failing notebook, naming it and the cell;
* ``python -m sft_teach.course notebooks/NAME.ipynb`` re-executes one notebook in place
  (how the committed notebooks are produced).

After execution the live widgets are dropped from the saved notebook (the widget state and each
output's widget view), keeping the static fallback every course widget carries (HTML, Markdown
or a PNG of its starting setting). A reopened notebook has no kernel behind its widgets:
JupyterLab would show "Error displaying widget: model not found", GitHub and nbconvert HTML an
empty box. With the fallback, every viewer shows what the widget showed; running the cell again
brings the live widget back.

Taught in notebooks/00_start_here.ipynb.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import time
from pathlib import Path


class NotebookFailed(Exception):
    """A notebook cell raised: ``notebook``, ``cell`` (0-based index) and ``error`` (one line)."""

    def __init__(self, notebook: str, cell: int | None, error: str):
        self.notebook, self.cell, self.error = notebook, cell, error
        where = f"cell {cell}" if cell is not None else "start-up"
        super().__init__(f"{notebook} failed at {where}: {error}")


def _first_error(nb):
    for index, cell in enumerate(nb.cells):
        if "raises-exception" in cell.get("metadata", {}).get("tags", []):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return index, f"{output.get('ename')}: {output.get('evalue', '')}".splitlines()[0]
    return None, None


# The kernel's own log at ERROR: its "running over TCP without encryption" warning, about a kernel
# on this machine only, printed once a notebook, said nothing a learner can act on.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

TIMEOUT = "CellTimeout"  # the error name a cell past its time limit is given


def drop_live_widgets(nb) -> None:
    """Remove widget state and widget views from an executed notebook, keeping their fallbacks."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data and len(data) > 1:
                del data[WIDGET_VIEW]


def settle_streams(nb) -> None:
    """Keep what a progress bar's stream shows at the end, as JupyterLab draws it.

    A bar redraws its line with ``\r`` in one stream output per redraw; saved as they came, the
    notebook would hold every intermediate state (and GitHub shows them all). Consecutive outputs
    of one stream are joined and each ``\r``-overwritten line dropped (nbconvert's
    ``CoalesceStreamsPreprocessor``, which nbval applies too before it compares outputs).
    """
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    CoalesceStreamsPreprocessor().preprocess(nb, {})


class Execution:
    """How a notebook's cells are run here, and how a failure is named: the options of an nbclient
    client (``NotebookClient``, or ``ExecutePreprocessor`` for the editions) and :meth:`failures`.

    A cell past ``timeout`` seconds is interrupted, not left running while the kernel is shut down
    under it (which prints the kernel's own traceback of closed sockets), and is named at once, even
    in a cell tagged ``raises-exception``, whose other errors are the lesson: the cells after it
    would run on half its work.
    """

    def __init__(self, name: str, timeout: int):
        self.name, self.timeout, self.cell = name, timeout, None
        self.too_slow = (f"still running after {timeout} s, the limit a cell is given: allow more seconds "
                         f"(sft-teach course --timeout; timeout= in Python); a slow or busy machine needs more")

    def options(self) -> dict:
        return dict(timeout=self.timeout, kernel_name="python3", extra_arguments=KERNEL_ARGUMENTS,
                    interrupt_on_timeout=True, error_on_timeout={"ename": TIMEOUT, "evalue": "", "traceback": []},
                    on_cell_start=self._started, on_cell_error=self._failed)

    def _started(self, cell, cell_index):
        self.cell = cell_index

    def _failed(self, cell, cell_index, execute_reply):  # before nbclient decides whether the error is allowed
        if execute_reply["content"].get("ename") == TIMEOUT:
            raise NotebookFailed(self.name, cell_index, self.too_slow)

    @contextlib.contextmanager
    def failures(self, nb):
        """Turn nbclient's errors into :class:`NotebookFailed`, naming the first failing cell."""
        from nbclient.exceptions import CellExecutionError, DeadKernelError

        try:
            yield
        except CellExecutionError as exc:
            cell, error = _first_error(nb)
            raise NotebookFailed(self.name, cell, error or str(exc).strip().splitlines()[-1]) from None
        except DeadKernelError:
            raise NotebookFailed(self.name, self.cell, "the kernel died (out of memory, most often): close other "
                                 "programs or notebooks, then run it again") from None


def run_notebook(path, timeout: int = 900, write: bool = True, workdir=None):
    """Execute one notebook in ``workdir`` (default: its own folder); returns ``(notebook, seconds)``.

    The notebooks write their files relative to it (``outputs/...``), as they do in JupyterLab.

    Raises :class:`NotebookFailed` naming the first failing cell (cells tagged
    ``raises-exception`` may raise), a cell that ran past ``timeout`` seconds, or the kernel's death
    (out of memory, most often).
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    execution = Execution(path.name, timeout)
    start = time.perf_counter()
    with execution.failures(nb):
        NotebookClient(nb, resources={"metadata": {"path": str(Path(workdir or path.parent))}},
                       **execution.options()).execute()
    seconds = time.perf_counter() - start
    drop_live_widgets(nb)
    settle_streams(nb)
    if write:
        nbformat.write(nb, path)
    return nb, seconds


def run_course(notebooks, output, html: bool = False, echo=print, workdir=None, timeout: int = 900) -> float:
    """Copy ``notebooks`` into ``output``, execute them in order there, optionally export HTML.

    The kernels run in ``workdir`` (default: each notebook's own folder), where the notebooks
    write their files (``outputs/...``); a cell may run ``timeout`` seconds. Returns the total seconds; raises :class:`NotebookFailed`
    at the first failure.
    """
    from .handout import make_folder

    output = make_folder(output, "for the executed notebooks", example="course-output")
    total = 0.0
    for number, source in enumerate(notebooks, 1):
        copy = output / Path(source).name
        shutil.copyfile(source, copy)
        echo(f"[{number}/{len(notebooks)}] {copy.name} ...", end="", flush=True)
        nb, seconds = run_notebook(copy, timeout=timeout, workdir=workdir or Path(source).parent)
        total += seconds
        if html:
            from .book import write_notebook_page

            write_notebook_page(nb, copy)
        echo(f" {seconds:.0f} s")
    return total


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m sft_teach.course",
        description="Re-execute notebooks in place, top to bottom, and save them with their outputs (how the "
                    "course's committed notebooks are made). To run the course on copies, use sft-teach course.",
        epilog="example: python -m sft_teach.course notebooks/00_start_here.ipynb")
    parser.add_argument("notebooks", nargs="+", metavar="NOTEBOOK", help="the .ipynb files to re-execute")
    parser.add_argument("--timeout", type=int, default=900, help="seconds a cell may run (default 900)")
    args = parser.parse_args(argv)
    missing = [name for name in args.notebooks if not Path(name).is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    for name in args.notebooks:
        try:
            _, seconds = run_notebook(name, timeout=args.timeout)
        except NotebookFailed as failed:
            print(f"error: {failed}", file=sys.stderr)
            return 1
        print(f"{name}: {seconds:.0f} s")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
