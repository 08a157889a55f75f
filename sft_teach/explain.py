"""Built-in explanations: every concept of the course at three depths.

``explain("warmup")`` shows one concept as three tabs, Beginner / Technical / Academic.
Where widgets are not live (GitHub's viewer, nbconvert HTML, a terminal) the same text
appears as HTML, Markdown or plain text instead: the object carries every format, and a
Python prompt or ``print`` shows the plain text, wrapped to fit a terminal (as ``sft-teach
explain NAME`` does). ``explain()`` lists the concepts; ``glossary()`` shows them all, one line each.

The texts live in ``sft_teach/explanations/<key>.md``, one file per concept::

    # Title
    aliases: other names, comma-separated
    related: other_keys
    ## Beginner / ## Technical / ## Academic

Taught in notebooks/00_start_here.ipynb.
"""

from __future__ import annotations

import difflib
import html
import re
import shutil
import sys
import textwrap
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sft_teach.errors import SftTeachError

LEVELS = ("Beginner", "Technical", "Academic")
FOLDER = Path(__file__).resolve().parent / "explanations"


class UnknownConceptError(SftTeachError, KeyError):
    """``explain("...")`` with a name that is neither a concept nor an alias."""

    def __str__(self):  # KeyError would wrap the message in quotes
        return str(self.args[0])


@dataclass(frozen=True)
class Concept:
    key: str
    title: str
    aliases: tuple[str, ...]
    related: tuple[str, ...]
    levels: dict  # {"Beginner": markdown, "Technical": markdown, "Academic": markdown}

    @property
    def summary(self) -> str:
        """The first sentence of the Beginner text."""
        first = re.split(r"(?<=[.!?])\s", self.levels["Beginner"].strip(), maxsplit=1)[0]
        return first


def _parse(path: Path) -> Concept:
    text = path.read_text(encoding="utf-8")
    title = re.search(r"^# (.+)$", text, re.M)
    fields = dict(re.findall(r"^(aliases|related):\s*(.*)$", text, re.M))
    parts = re.split(r"^## (Beginner|Technical|Academic)\s*$", text, flags=re.M)
    levels = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    if not title or set(levels) != set(LEVELS):
        raise ValueError(f"{path.name}: needs '# Title' and the sections {', '.join(LEVELS)}")
    split = lambda value: tuple(x.strip() for x in value.split(",") if x.strip())
    return Concept(path.stem, title.group(1).strip(), split(fields.get("aliases", "")),
                   split(fields.get("related", "")), levels)


@lru_cache(maxsize=1)
def concepts() -> dict[str, Concept]:
    """Every concept, by key, read once from the Markdown files."""
    return {p.stem: _parse(p) for p in sorted(FOLDER.glob("*.md"))}


def _normalise(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def find(name: str) -> Concept:
    """The concept called ``name`` (a key, a title or an alias, in any case or spacing)."""
    if not isinstance(name, str):  # explain(epoch) for explain("epoch"): said, not an AttributeError
        raise UnknownConceptError(f"a concept is named as text, e.g. explain('epoch'); got {type(name).__name__} "
                                  f"{name!r:.40}: explain() lists all {len(concepts())}")
    wanted = _normalise(name)
    names = {}
    for concept in concepts().values():  # keys and titles first: an alias never hides a concept's own name
        for label in (concept.key, concept.title):
            names.setdefault(_normalise(label), concept)
    for concept in concepts().values():
        for label in concept.aliases:
            names.setdefault(_normalise(label), concept)
    if wanted in names:
        return names[wanted]
    close = difflib.get_close_matches(wanted, list(names), n=3, cutoff=0.6)
    keys = list(dict.fromkeys(names[c].key for c in close))
    hint = f"did you mean {', '.join(repr(k) for k in keys)}? " if keys else ""
    raise UnknownConceptError(f"no concept called {name!r}: {hint}explain() lists all {len(concepts())}")


# ---- rendering: Markdown -> HTML, keeping LaTeX intact for MathJax ----------------------

# a formula: displayed ($$...$$, its LaTeX in group 1) or inline ($...$, group 2); the book finds them the same way
MATH = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$", re.S)


def markdown_to_html(text: str) -> str:
    """Markdown to HTML; ``$...$`` and ``$$...$$`` pass through untouched for MathJax."""
    import mistune

    maths: list[str] = []

    def stash(match):
        maths.append(match.group(0))
        return f"MATHPLACEHOLDER{len(maths) - 1}X"

    rendered = mistune.html(MATH.sub(stash, text))
    return re.sub(r"MATHPLACEHOLDER(\d+)X", lambda m: html.escape(maths[int(m.group(1))], quote=False), rendered)


WIDTH = 100  # a terminal's plain text is wrapped here (and narrower where the terminal is)


def terminal_width() -> int:
    """:data:`WIDTH`, or less in a narrower terminal (``COLUMNS`` too); never under 20 columns."""
    return max(20, min(WIDTH, shutil.get_terminal_size((WIDTH + 1, 24)).columns - 1))


def _printed_width() -> int:
    """The width ``print`` and a Python prompt wrap at: a terminal's; into a file or a pipe, :data:`WIDTH`."""
    return terminal_width() if sys.stdout.isatty() else WIDTH


_ITEM = re.compile(r"^(\s*)([-*]|\d+\.)\s+")  # a list item's marker: "- ", "* ", "1. "
_UNBROKEN = re.compile(r"`[^`\n]+`|\$[^$\n]+\$")  # code and formulas: a line never breaks inside them
_BOLD = re.compile(r"\*\*(\S(?:.*?\S)?)\*\*")


def _unbold(text: str) -> str:
    """``**word**`` as ``word``, but not inside code or a formula (``2.6**7`` in code is a power); a
    bold phrase may hold code (``**the `lr` value**``)."""
    spans: list[str] = []

    def hide(match):
        spans.append(match.group(0))
        return f"\x01{len(spans) - 1}\x01"

    shown = _BOLD.sub(r"\1", _UNBROKEN.sub(hide, text))
    return re.sub("\x01(\\d+)\x01", lambda m: spans[int(m.group(1))], shown)


def plain_text(markdown: str, width: int = WIDTH) -> str:
    """Markdown as a terminal shows it: paragraphs and list items wrapped at ``width`` (a list item's
    lines indented under its text), ``**bold**`` marks dropped (not a power in code); a code block is
    indented by four spaces without its fences, and a table row, a displayed formula ($$) or a heading is
    kept on a line of its own, whole."""
    out: list[str] = []
    paragraph: list[str] = []
    in_code = False

    def flush():
        if paragraph:
            text = _unbold(" ".join(line.strip() for line in paragraph))
            text = _UNBROKEN.sub(lambda m: m.group(0).replace(" ", "\0"), text)
            item = _ITEM.match(paragraph[0])
            indent = " " * (len(item.group(0)) if item else 0)
            out.extend(line.replace("\0", " ") for line in textwrap.wrap(
                text, width, initial_indent=item.group(1) if item else "", subsequent_indent=indent,
                break_on_hyphens=False, break_long_words=False))
            paragraph.clear()

    for line in markdown.splitlines():
        if line.strip().startswith("```"):
            flush()
            in_code = not in_code
        elif in_code:
            out.append("    " + line if line.strip() else "")
        elif not line.strip():
            flush()
            out.append("")
        elif line.lstrip().startswith(("|", "$$", "#")):  # a table row, a formula, a heading: a line of its own
            flush()
            out.append(_unbold(line.lstrip("# ") if line.lstrip().startswith("#") else line))
        else:
            if _ITEM.match(line):  # each item wraps on its own
                flush()
            paragraph.append(line)
    flush()
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")


class Explanation:
    """One concept at three levels; a Tab widget where widgets are live, HTML/Markdown elsewhere."""

    def __init__(self, concept: Concept):
        self.concept = concept

    def markdown(self) -> str:
        c = self.concept
        parts = [f"### {c.title}"]
        for level in LEVELS:
            parts.append(f"**{level}**\n\n{c.levels[level]}")
        if c.related:
            parts.append("*Related:* " + ", ".join(f"`{r}`" for r in c.related))
        return "\n\n".join(parts)

    def html(self) -> str:
        c = self.concept
        sections = "".join(
            f'<details{" open" if level == "Beginner" else ""}><summary><b>{level}</b></summary>'
            f"{markdown_to_html(c.levels[level])}</details>" for level in LEVELS)
        related = (f"<p><i>Related:</i> {', '.join(f'<code>{html.escape(r)}</code>' for r in c.related)}</p>"
                   if c.related else "")
        return f'<div class="sft-teach-explain"><h4>{html.escape(c.title)}</h4>{sections}{related}</div>'

    def widget(self):
        """An ipywidgets ``Tab``: one tab per level (``HTMLMath`` renders the equations)."""
        import ipywidgets as widgets

        tab = widgets.Tab(children=[widgets.HTMLMath(markdown_to_html(self.concept.levels[level]))
                                    for level in LEVELS])
        tab.titles = LEVELS
        return tab

    def text(self, width: int = WIDTH) -> str:
        """The three levels as plain text for a terminal, wrapped at ``width``."""
        c = self.concept
        parts = [f"{c.title}\n{'=' * len(c.title)}"]
        parts += [f"{level}\n{'-' * len(level)}\n{plain_text(c.levels[level], width)}" for level in LEVELS]
        if c.related:
            parts.append(textwrap.fill("Related: " + ", ".join(c.related), width, subsequent_indent="  "))
        return "\n\n".join(parts)

    def __str__(self) -> str:
        return self.text(_printed_width())

    __repr__ = __str__  # a Python prompt shows the text, not an object id

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_mimebundle_(self, include=None, exclude=None):
        from sft_teach.widgets import bundle_with_fallbacks

        return bundle_with_fallbacks(self.widget(), self.text(), self.html(), self.markdown())


class ConceptList:
    """What ``explain()`` and ``glossary()`` return: concepts as a table."""

    def __init__(self, with_summary: bool):
        self.with_summary = with_summary

    def rows(self):
        return [(c.key, c.title, c.summary if self.with_summary else ", ".join(c.aliases[:3]))
                for c in concepts().values()]

    def markdown(self) -> str:
        head = "| concept | title | " + ("in one sentence |" if self.with_summary else "also called |")
        lines = [head, "| --- | --- | --- |"] + [f"| `{k}` | {t} | {s} |" for k, t, s in self.rows()]
        intro = f"{len(concepts())} concepts; `explain(\"name\")` shows one at three levels.\n\n"
        return intro + "\n".join(lines)

    def html(self) -> str:
        body = "".join(f"<tr><td><code>{k}</code></td><td>{html.escape(t)}</td><td>{markdown_to_html(s)}</td></tr>"
                       for k, t, s in self.rows())
        third = "in one sentence" if self.with_summary else "also called"
        return (f"<p>{len(concepts())} concepts; <code>explain(\"name\")</code> shows one at three levels.</p>"
                f"<table><tr><th>concept</th><th>title</th><th>{third}</th></tr>{body}</table>")

    def text(self, width: int = WIDTH) -> str:
        """The concepts for a terminal: one per line, name and title, then (wrapped, indented) the
        other names or the first sentence."""
        lines = textwrap.wrap(f"{len(concepts())} concepts; explain(\"name\") (sft-teach explain NAME) shows one "
                              f"at three levels.", width) + [""]
        for key, title, said in self.rows():
            lines += textwrap.wrap(f"{key:30s} {title}", width, subsequent_indent=" " * 4)
            if said:
                lines += ["    " + line for line in plain_text(said, width - 4).splitlines()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text(_printed_width())

    __repr__ = __str__  # a terminal shows the list too, not an object id

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def _repr_html_(self) -> str:
        return self.html()

    def __len__(self) -> int:
        return len(concepts())


def explain(name: str | None = None):
    """Show concept ``name`` at three levels; with no name, list the concepts."""
    return ConceptList(with_summary=False) if name is None else Explanation(find(name))


def glossary() -> ConceptList:
    """Every concept with the first sentence of its Beginner explanation."""
    return ConceptList(with_summary=True)
