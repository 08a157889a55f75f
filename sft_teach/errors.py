"""One exception type per kind of problem a learner can fix.

Every message is a single line that says what is wrong, where (file, row,
column) and what to do about it. The command line prints the message alone,
without a traceback, and exits with code 2.
"""


class SftTeachWarning(UserWarning):
    """Something in the data or the run worth knowing that did not stop it (``warnings.warn``'s category).

    The command line prints these itself, one ``sft-teach: warning:`` line each; in Python they
    show as warnings, and ``warnings.simplefilter("error", SftTeachWarning)`` makes them errors.
    """


class SftTeachError(Exception):
    """Base class: a problem in the learner's input, with a message that says how to fix it."""


class DataError(SftTeachError, ValueError):
    """A data file or dataset that cannot be used as given (file, row and column in the message)."""


class MissingColumnError(DataError):
    """A CSV file without the text or label column asked for (its columns and the option to pass in
    the message; ``columns``: the columns it has)."""

    def __init__(self, message: str, columns=()):
        super().__init__(message)
        self.columns = list(columns)


class ModelNotFoundError(SftTeachError, OSError):
    """A model name or folder that cannot be loaded here (missing folder, hub offline, ...)."""


class ConfigError(SftTeachError, ValueError):
    """A setting that makes no sense, such as ``epochs=0`` or a negative learning rate."""


class OutputExistsError(SftTeachError, FileExistsError):
    """The output folder already holds results; nothing is overwritten without ``--overwrite``."""
