"""When two texts are the same text: one form to compare them in.

A reader calls "Hello  there." and "hello there." the same message, and a copy that brought along a
zero-width space or a byte-order mark, or whose accent was typed as a mark of its own, looks exactly
like the original. So does the course's tokenizer, which lower-cases, splits on spaces and drops such
characters. The duplicate, leakage and conflict checks (:mod:`sft_teach.checks`), cleaning
(:mod:`sft_teach.cleaning`) and the warnings beside a score (:mod:`sft_teach.score_warnings`)
compare texts in :func:`comparable`; labels are read in :func:`printed` (:func:`sft_teach.labels.one_form`).

Taught in notebooks/05_your_own_data.ipynb.
"""

from __future__ import annotations

import re
import unicodedata

# What prints as nothing and comes along with copy and paste: the soft hyphen, the zero-width space,
# the direction marks and embeddings, the word joiner and the invisible operators, the direction
# isolates, and the byte-order mark (the zero-width no-break space). Not the zero-width joiner and
# non-joiner, nor the tag characters: they change how an emoji or a Persian word prints.
_INVISIBLE = re.compile("[\u00ad\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def printed(text: str) -> str:
    """``text`` as it prints: without the characters that print as nothing (a zero-width space, a
    byte-order mark, a soft hyphen, direction marks) and in Unicode's composed form (NFC: 'café'
    typed as e + a combining accent is the 'café' of one character)."""
    if text.isascii():  # nearly every text: nothing to remove or compose
        return text
    return unicodedata.normalize("NFC", _INVISIBLE.sub("", text))


def comparable(text: str) -> str:
    """The form two texts are compared in: :func:`printed`, lower-cased, every run of spaces one space."""
    return " ".join(printed(text).lower().split())
