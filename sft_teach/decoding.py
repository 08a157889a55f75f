"""A file's bytes read as text: the encoding checked (a UTF-8 file read as cp1252 is refused, not
turned into "â€“" in silence), and a file that is not text named for what it is (an Excel workbook,
UTF-16 without its byte-order mark, binary data), each with the fix. ``sft-teach predict`` reads a
plain text file, one text per line, with :func:`text_lines`; every CSV is decoded here first
(:func:`sft_teach.csv_files.read_csv_rows`).

Taught in notebooks/05_your_own_data.ipynb.
"""

from __future__ import annotations

import re

from sft_teach.errors import DataError


# What a file's first bytes say it is, when it is no text: each named by decode, with the fix
_NOT_TEXT = (
    (b"PK\x03\x04", "is an Excel workbook or zip archive, not text: in Excel use File > Save As > 'CSV UTF-8' or "
                     "'Unicode Text'"),
    (b"\x1f\x8b", "is gzip-compressed, not text: decompress it first (gunzip, or 7-Zip on Windows) and pass the "
                  "file inside"),  # a .csv.gz export
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "is an Excel 97-2003 workbook (.xls) or another Office file, not text: "
                                          "in Excel use File > Save As > 'CSV UTF-8'"),  # the OLE2 container
)
UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")  # UTF-16's byte-order marks, little- and big-endian


def encoding_problem(name: str) -> str | None:
    """Why ``name`` cannot read text (``None`` when it can): Python knows no such encoding, or it is
    a codec that turns bytes into bytes (``base64``, ``hex``), which ``codecs.lookup`` accepts too.
    The one rule for ``--encoding`` (checked before any file is read) and ``encoding=``."""
    import codecs

    try:
        found = codecs.lookup(name)
    except LookupError:
        return f"unknown encoding {name!r}: try utf-8 or cp1252"
    if not getattr(found, "_is_text_encoding", True):
        return f"{name!r} is no text encoding (it turns bytes into bytes): try utf-8 or cp1252"
    return None


def decode(raw: bytes, shown: str, encoding: str, wanted: str = "a CSV file with text,label columns") -> str:
    """File bytes as text, or a :class:`DataError` that says what the file really is
    (``wanted``: what the learner should pass instead)."""
    problem = encoding_problem(encoding)
    if problem:
        raise DataError(f"{shown}: {problem}")
    for magic, what in _NOT_TEXT:
        if raw.startswith(magic):
            raise DataError(f"{shown}: {what}")
    if raw.startswith(UTF16_MARKS):
        return raw.decode("utf-16")  # Excel's "Unicode text": UTF-16 with a byte-order mark
    wide = encoding.lower().replace("_", "-").startswith(("utf-16", "utf16", "utf-32", "utf32"))
    if b"\x00" in raw[:4096] and not wide:  # UTF-16 without a byte-order mark has them too: named when asked for
        order = _utf16_order(raw[:4096])
        if order:
            raise DataError(f"{shown}: looks like UTF-16 without a byte-order mark (every other byte is NUL): pass "
                            f"--encoding utf-16-{order} (encoding='utf-16-{order}')")
        raise DataError(f"{shown}: holds binary data (NUL bytes), not text: pass {wanted}")
    utf8 = encoding.lower().replace("_", "-") in {"utf-8", "utf8", "utf-8-sig"}
    if not utf8 and not wide and _is_utf8_text(raw):
        # Text that is valid UTF-8 and not plain ASCII is UTF-8: read as a one-byte encoding, each
        # accented letter, dash or euro sign would become two or three wrong characters ("â€“")
        # in silence, through cleaning, the saved splits and training.
        if raw.startswith(b"\xef\xbb\xbf"):
            evidence = "it starts with UTF-8's byte-order mark"
        else:
            start = next(i for i, byte in enumerate(raw) if byte >= 0x80)
            end = start + 1
            while end < len(raw) and 0x80 <= raw[end] < 0xC0:  # the rest of that character's bytes
                end += 1
            line = raw[:start].count(b"\n") + 1
            evidence = f"line {line} has {raw[start:end].decode('utf-8')!r} written as UTF-8"
            try:
                evidence += f", which {encoding} would read as {raw[start:end].decode(encoding)!r}"
            except (UnicodeDecodeError, LookupError):
                pass
        raise DataError(f"{shown}: is UTF-8 ({evidence}), not {encoding}: leave out --encoding (encoding=), "
                        f"UTF-8 is the default")
    try:
        text = raw.decode("utf-8-sig" if utf8 else encoding)
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if utf8 and raw.startswith(b"\xef\xbb\xbf") else 0)  # utf-8-sig counts after its mark
        bad = raw[start:start + 1].hex()
        line = raw[:start].count(b"\n") + 1
        tried = "UTF-8" if utf8 else encoding
        fix = ("if the file came from Excel on Windows it is probably cp1252: pass --encoding cp1252 "
               "(encoding='cp1252'), or re-save it as 'CSV UTF-8'")
        mixed = _two_encodings(raw) if utf8 else None
        if mixed:  # cp1252 would garble the UTF-8 lines, UTF-8 cannot read this one
            fix = (f"{_evidence(*mixed[:2])}, so the file mixes two encodings (files "
                   f"or pastes joined?): save it again in one encoding ('CSV UTF-8'), or retype the accented "
                   f"characters of one of those lines; no --encoding reads both right")
        if not utf8:
            try:
                raw.decode("utf-8-sig")
                fix = "the whole file reads as UTF-8: leave out --encoding (encoding=), UTF-8 is the default"
            except UnicodeDecodeError:  # neither UTF-8 nor the encoding tried: only its writer knows
                fix = ("it is not UTF-8 either: pass the encoding it was saved in with --encoding (encoding=); "
                       "latin-1 reads any bytes, though not always as they were meant")
        raise DataError(f"{shown}: line {line}, byte 0x{bad} is not valid {tried} (the encoding tried): {fix}") from None
    if not utf8 and not wide:  # a one-byte encoding: every byte reads as something, maybe not as meant
        _no_control_characters(text, raw, shown, encoding)
        mixed = _two_encodings(raw)
        if mixed:  # the file is not UTF-8 as a whole (checked above), yet this line is
            line, character, other = mixed
            read_as = f", which {encoding} reads as {character.encode().decode(encoding, errors='replace')!r}" \
                if character != "\ufeff" else ""
            raise DataError(f"{shown}: {_evidence(line, character)}{read_as}, while line "
                            f"{other} is not UTF-8: the file mixes two encodings (files or pastes joined?): save it "
                            f"again in one encoding ('CSV UTF-8'), or retype the accented characters of one of those "
                            f"lines; no --encoding reads both right")
    return text


def one_encoding(folder: str, files: dict[str, bytes]) -> None:
    """A :class:`DataError` when some of a folder's ``files`` (name -> bytes) are UTF-8 beyond ASCII and
    others are text in another encoding: one ``--encoding`` reads the whole folder, so each file's
    own error would send the user to the encoding the other file refuses. A file that is no text at
    all, or mixes encodings itself, is left to :func:`decode`, whose message is the more precise."""
    utf8, other = [], []
    for name, raw in files.items():
        if _is_utf8_text(raw):
            utf8.append(name)
        elif (not raw.isascii() and not raw.startswith(tuple(m for m, _ in _NOT_TEXT) + UTF16_MARKS)
              and b"\x00" not in raw[:4096] and _two_encodings(raw) is None):
            other.append(name)
    if utf8 and other:
        raise DataError(f"{folder}/: {' and '.join(utf8)} {'are' if len(utf8) > 1 else 'is'} UTF-8 and "
                        f"{' and '.join(other)} {'are' if len(other) > 1 else 'is'} not (cp1252, if saved by Excel on "
                        f"Windows), and one --encoding reads the whole folder: save {' and '.join(other)} again as "
                        f"'CSV UTF-8' and leave out --encoding")


def _two_encodings(raw: bytes) -> tuple[int, str, int] | None:
    """``(line, character, other)`` when one line of ``raw`` is UTF-8 beyond ASCII (``character``: its
    first such character) and another is not UTF-8 at all (``other``): files or pastes in two encodings
    joined. Decided line by line, not by a pair of bytes: two letters of a one-byte encoding (cp1251's
    'Ві', cp1252's 'Ã»') can form a UTF-8 character, a whole line of them almost never."""
    found, other = None, None
    for number, line in enumerate(re.split(rb"\r\n|\r|\n", raw), 1):
        if line.isascii():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            other = other or number
        else:
            beyond = [c for c in text if not c.isascii()]
            found = found or (number, next((c for c in beyond if c != "\ufeff"), beyond[0]))
        if found and other:
            return found[0], found[1], other
    return None


def _evidence(line: int, character: str) -> str:
    """Where a file shows UTF-8: a character on a line, or the invisible byte-order mark it starts with."""
    if character == "\ufeff":
        return f"line {line} starts with UTF-8's byte-order mark"
    return f"line {line} has {character!r} written as UTF-8"


# Each ISO 8859 encoding beside the Windows code page that fills its control range 0x80-0x9F with
# letters and punctuation: a file saved by Windows and read with the ISO encoding has them as controls
_WINDOWS_PAGE = {"iso8859-1": "cp1252", "iso8859-15": "cp1252", "iso8859-2": "cp1250", "iso8859-5": "cp1251",
                 "iso8859-7": "cp1253", "iso8859-9": "cp1254", "iso8859-8": "cp1255", "iso8859-6": "cp1256",
                 "iso8859-13": "cp1257", "iso8859-4": "cp1257", "iso8859-11": "cp874", "tis-620": "cp874"}


def _no_control_characters(text: str, raw: bytes, shown: str, encoding: str) -> None:
    """A :class:`DataError` when an ISO 8859 encoding gave control characters U+0080-U+009F, which no
    one types, and the matching Windows code page reads the whole file: latin-1 reads the bytes of
    cp1252's curly quotes, dashes and euro sign so (0x93 becomes U+0093, not the “ that cp1252, and
    Excel on Windows, meant), and they would be trained on in silence. A file that code page cannot
    read is left as read: the encoding given is then the only way through."""
    import codecs

    found = re.search("[\x80-\x9f]", text)
    if found is None:
        return
    byte = bytes([ord(found.group())])
    line = text[:found.start()].count("\n") + 1
    name = codecs.lookup(encoding).name
    page = _WINDOWS_PAGE.get(name)
    if page is None:  # an ISO 8859 encoding with no Windows page beside it (8859-3, -10, -14, -16)
        if name.startswith("iso8859"):
            raise DataError(f"{shown}: line {line}, byte 0x{byte.hex()} reads as the control character "
                            f"U+{ord(found.group()):04X} in {encoding}, which no text has: pass the encoding the "
                            f"file was saved in (--encoding, encoding=)")
        return
    try:
        raw.decode(page)
    except UnicodeDecodeError:  # not that page either: the encoding given is the way through
        return
    raise DataError(f"{shown}: line {line}, byte 0x{byte.hex()} reads as the control character "
                    f"U+{ord(found.group()):04X} in {encoding}, but as {byte.decode(page)!r} in {page}, the Windows "
                    f"code page beside it (what Excel on Windows writes): pass --encoding {page} (encoding='{page}')")


def _is_utf8_text(raw: bytes) -> bool:
    """Whether ``raw`` is valid UTF-8 with some character beyond ASCII (a byte-order mark counts): then
    it is UTF-8, for bytes of another encoding almost never happen to form valid UTF-8 sequences."""
    if raw.isascii():
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _utf16_order(start: bytes) -> str | None:
    """``"le"`` or ``"be"`` when ``start`` looks like mostly Latin-script text in UTF-16 of that byte
    order (one byte of each pair NUL, the other not, as a byte-order mark would have said), else None."""
    even, odd = start[0::2], start[1::2]
    if not even or not odd:
        return None
    for order, high, low in (("le", odd, even), ("be", even, odd)):
        if high.count(0) > 0.5 * len(high) and low.count(0) < 0.1 * len(low):
            try:
                text = start[:len(start) // 2 * 2].decode(f"utf-16-{order}")
            except UnicodeDecodeError:
                return None
            return order if sum(c.isprintable() or c in "\t\r\n" for c in text) > 0.95 * len(text) else None
    return None


def text_lines(raw: bytes, shown: str, encoding: str = "utf-8") -> list[str]:
    """One text per line of a plain text file (or standard input), decoded as :func:`read_csv_rows` does.

    Only ``\\n``, ``\\r\\n`` and ``\\r`` end a line, as in a CSV file: U+2028, NEL and form feeds are
    characters inside a text (``str.splitlines()`` would cut there).
    """
    text = decode(raw, shown, encoding, wanted="a text file with one text per line")
    return re.split(r"\r\n|\r|\n", text)
