"""sft-teach: a Jupyter-native course on supervised fine-tuning, and the helpers behind it.

Importing this package is cheap and has no side effects: no seeding, no matplotlib
settings, no environment changes, no network. The heavy libraries (torch,
transformers, datasets) are imported by the submodules that need them::

    from sft_teach import data, models, training
"""

from sft_teach.errors import (
    ConfigError,
    DataError,
    ModelNotFoundError,
    OutputExistsError,
    SftTeachError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DataError",
    "ModelNotFoundError",
    "OutputExistsError",
    "SftTeachError",
    "__version__",
]
