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


def json_line(record: dict) -> str:
    """``record`` as one JSON line, texts as written (an emoji, not ``\\ud83d\\ude00``) where the
    output is UTF-8; escaped elsewhere, so that a Windows console or a file in a legacy code page
    never fails to encode it. Either way any JSON reader gets the same text back."""
    encoding = (getattr(sys.stdout, "encoding", None) or "ascii").lower().replace("-", "").replace("_", "")
    line = json.dumps(record, ensure_ascii=encoding not in {"utf8", "utf8sig"})
    # still escaped: the line breaks json.dumps leaves as written (NEL, U+2028, U+2029), which would
    # cut the line for a reader that splits lines as Python's str.splitlines() does
    return line.replace("\x85", "\\u0085").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def warn(findings, file=None) -> None:
    for finding in findings:  # sys.stderr looked up at each call, not once at import (it may be replaced)
        print(f"sft-teach: warning: {finding}", file=file or sys.stderr)


def check_encoding(name) -> None:
    """``--encoding`` refused at once when Python knows no such encoding, whatever the data: not only
    once a file is read with it (bundled data never is)."""
    import codecs

    if name is not None:
        try:
            codecs.lookup(name)
        except LookupError:
            raise ConfigError(f"--encoding {name}: no such encoding: e.g. utf-8, cp1252 (Excel on Windows), "
                              f"latin-1") from None


def max_length(value) -> int:
    """``--max-length`` of check, evaluate and predict, checked by finetune's rule and message."""
    from sft_teach.setting_checks import check_settings

    return check_settings(1, 1e-4, 1, value, text=True)[3]
