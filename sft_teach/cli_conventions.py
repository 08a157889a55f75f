"""What every ``sft-teach`` command does the same way: whole-number options, a result as one JSON
line, warnings as ``sft-teach: warning:`` lines on stderr, and ``--max-length`` checked by
finetune's rule and message.

No notebook teaches these; every command uses them (notebooks/05_your_own_data.ipynb runs the
command and shows its lines).
"""

from __future__ import annotations

import json
import sys

from sft_teach.errors import ConfigError


def whole_number(name, value, least=None):
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
    if least is not None and number < least:
        raise ConfigError(f"{name} must be at least {least}, got {number}")
    return number


def writes_utf8(stream) -> bool:
    """Whether ``stream`` encodes as UTF-8, so that any text can be written to it as it is."""
    encoding = (getattr(stream, "encoding", None) or "ascii").lower().replace("-", "").replace("_", "")
    return encoding in {"utf8", "utf8sig"}


def json_line(record: dict) -> str:
    """``record`` as one JSON line, texts as written (an emoji, not ``\\ud83d\\ude00``) where the
    output is UTF-8; escaped elsewhere, so that a Windows console or a file in a legacy code page
    never fails to encode it. Either way any JSON reader gets the same text back."""
    line = json.dumps(record, ensure_ascii=not writes_utf8(sys.stdout))
    # still escaped: the line breaks json.dumps leaves as written (NEL, U+2028, U+2029), which would
    # cut the line for a reader that splits lines as Python's str.splitlines() does
    return line.replace("\x85", "\\u0085").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def system_refusal(exc: OSError) -> str:
    """What the system refused of a path, in one line: the path (its start, when long) and why
    (a name too long, no permission, a full disk)."""
    name = "" if exc.filename is None else str(exc.filename)
    shown = f"{name[:60]}...: " if len(name) > 60 else f"{name}: " if name else ""
    return f"{shown}{exc.strerror or exc}"


def warn(findings, file=None) -> None:
    for finding in findings:  # sys.stderr looked up at each call, not once at import (it may be replaced)
        print(f"sft-teach: warning: {finding}", file=file or sys.stderr)


def shell_word(value) -> str:
    """``value`` (a path, a column's name) written so that a suggested command pastes whole: as a
    POSIX shell quotes it (``shlex.quote``: 'my run/model'); on Windows, whose cmd and PowerShell
    take no single quotes, in double quotes when it holds a space or a character they treat apart."""
    import os
    import shlex

    text = str(value)
    if os.name == "nt":
        return f'"{text}"' if any(c in text for c in " &()[]{}^=;!'+,`~%$@") else text
    return shlex.quote(text)


def check_encoding(name) -> None:
    """``--encoding`` refused at once when it cannot read text, whatever the data: not only once a
    file is read with it (bundled data never is)."""
    from sft_teach.decoding import encoding_problem

    problem = None if name is None else encoding_problem(name)
    if problem:
        raise ConfigError(f"--encoding {name}: {problem}")


def max_length(value) -> int:
    """``--max-length`` of check, evaluate and predict, checked by finetune's rule and message."""
    from sft_teach.setting_checks import check_settings

    return check_settings(1, 1e-4, 1, value, text=True)[3]
