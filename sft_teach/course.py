"""Execute the course's notebooks headless, as they are published.

``python -m sft_teach.course notebooks/02_technical_recipe.ipynb`` runs a notebook top to
bottom in a fresh kernel (from the notebook's own folder) and writes it back with its outputs.
The saved widget state is dropped afterwards: viewers that cannot run widgets (GitHub,
nbconvert HTML) then show the HTML fallback every course widget carries, instead of an empty box.

Taught in notebooks/00_start_here.ipynb.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def run_notebook(path, timeout: int = 600, write: bool = True):
    """Execute one notebook; returns ``(notebook, seconds)``. Raises on the first failing cell
    (cells tagged ``raises-exception`` may raise)."""
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    nb.metadata.pop("widgets", None)
    if write:
        nbformat.write(nb, path)
    return nb, seconds


def main(argv=None) -> int:
    for name in argv if argv is not None else sys.argv[1:]:
        _, seconds = run_notebook(name)
        print(f"{name}: {seconds:.0f} s")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
