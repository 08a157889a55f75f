"""The course as a browsable book: a static website of the executed notebooks, built offline.

:func:`build_book` writes an edition of the notebooks (:mod:`sft_teach.editions`) into a
temporary folder beside a generated Sphinx ``conf.py`` and an index page, and builds them with
Sphinx + myst-nb (the notebooks are already executed: nothing runs) and sphinx-book-theme. The
pages load nothing from the network: myst-nb's widget scripts (require.js and the widget
manager, from a CDN) are switched off, the theme ships its own fonts and icons, and formulas
are written as MathML by this module (Sphinx's default, MathJax, comes from a CDN); every
browser draws MathML without a script.

This module is also the Sphinx extension that does the MathML (``setup``), and writes one
notebook as a single offline HTML page (:func:`notebook_page`, for ``sft-teach course --html``).

No notebook teaches this module: it is how the course reaches readers without Jupyter (`sft-teach book DIR`).
"""

from __future__ import annotations

import html
import io
import json
import re
import shutil
import tempfile
from pathlib import Path

from .errors import OutputExistsError
from .explain import MATH

TITLE = "sft-teach: a course on supervised fine-tuning"
# what a book folder holds besides Sphinx's pages: its edition and the names the build wrote
MARKER = ".sft-teach-book.json"
TEACHER_NOTE = """
```{{admonition}} Teacher edition
The exercises are solved and checked in this edition: do not hand it to students.
```
"""

# how a reader of the book runs its notebooks: the same edition's, never the self-learner's copy
# (`sft-teach lab` copies that one, each quiz's answers folded under it) for a student's book
RUN = {"student": "to run them yourself, write this edition's notebooks with `sft-teach course --edition student "
                  "--output my-notebooks` and open them in JupyterLab (`sft-teach lab my-notebooks`).",
       "teacher": "`sft-teach course --edition teacher --output DIR` writes the same notebooks, to run in "
                  "JupyterLab."}

INDEX = """\
# {title}

Fine-tuning takes a model that has already learned a great deal from a large amount of text and
teaches it one new task from a few hundred labelled examples. This course tells that story three
times, each time deeper: as a beginner's picture (a robot that has read a great deal of text learns to tell cat owners'
notes from dog owners' notes), as the technical recipe on today's `transformers`, and as the research behind it
(Yosinski et al. 2014; Howard & Ruder 2018), reproduced at small scale with measured tables.

Every notebook runs offline on a 2-core CPU in minutes. This book shows them as they were last
run, outputs and figures included; {run}
{note}
```{{toctree}}
:maxdepth: 1
:caption: The notebooks

{pages}
```
"""

# A course book: readable line length for prose, outputs that scroll instead of overflowing.
CSS = """\
@media (min-width: 960px) { .bd-header { display: none; } }  /* the sidebar has the search box */
/* narrower sidebars leave room for about 100 characters of code between them on a laptop */
:root { --pst-sidebar-secondary: 14rem; }
@media (min-width: 960px) { .bd-sidebar-primary { width: 14rem; flex: 0 0 14rem; } }
.bd-page-width { max-width: 96rem; }
.bd-main .bd-content .bd-article-container { max-width: 68rem; }
div.cell pre { font-size: 0.8rem; }
/* an error's message wraps rather than hides its end (code and printed tables keep their lines) */
div.cell_output .traceback pre { white-space: pre-wrap; overflow-wrap: anywhere; }
div.cell_output img { max-width: 100%; height: auto; }
div.cell_output .output.text_html { overflow-x: auto; }
div.cell_output table { font-size: 0.85em; }
div.math-wrapper { overflow-x: auto; }
math[display="block"] { margin: 0.8em 0; font-size: 1.2em; }
"""

CONF = {
    "project": "sft-teach",
    "extensions": ["myst_nb", "sft_teach.book"],
    "root_doc": "index",
    "exclude_patterns": ["_build", "**.ipynb_checkpoints"],
    "html_theme": "sphinx_book_theme",
    "html_title": "sft-teach",
    "html_static_path": ["_static"],
    "html_css_files": ["book.css"],
    "html_math_renderer": "mathml",
    "html_sourcelink_suffix": "",
    "html_theme_options": {
        "home_page_in_toc": False,  # the title above the contents leads home
        "show_navbar_depth": 1,
        "show_toc_level": 2,
        "use_download_button": True,
        "use_fullscreen_button": False,
        "navigation_with_keys": False,
        "footer_content_items": [],  # no "By ... / (c) ..." line under every page
    },
    # The notebooks are committed executed: show them as they are.
    "nb_execution_mode": "off",
    "nb_merge_streams": True,
    # no require.js / widget manager from a CDN (the widgets are saved with static fallbacks)
    "nb_ipywidgets_js": {},
    "myst_enable_extensions": ["dollarmath", "amsmath"],
    "myst_heading_anchors": 3,
    # notebooks start at '#' and may skip a level; that is fine in a notebook
    "suppress_warnings": ["myst.header"],
}


def conf_py(conf: dict = CONF) -> str:
    """The text of the generated ``conf.py``: one ``name = value`` line per setting."""
    lines = ['"""Generated by sft_teach.book: edit CONF there, not this file."""']
    return "\n".join(lines + [f"{name} = {value!r}" for name, value in conf.items()]) + "\n"


def _record(dest: Path) -> dict:
    """What an earlier build wrote in ``dest``'s marker: ``edition`` and the ``written`` files ({} if none)."""
    try:
        built = json.loads((Path(dest) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return built if isinstance(built, dict) else {}


def built_edition(dest) -> str | None:
    """The edition of the book an earlier build left in ``dest`` ("student", "teacher"), or None."""
    return _record(dest).get("edition")


def _check_dest(dest: Path, overwrite: bool) -> None:
    """Never write over a folder that holds anything but an earlier book, nor over an earlier book
    unless ``overwrite`` (a student book replaced by the teacher's would publish the solutions)."""
    if not dest.exists() or not any(dest.iterdir()):
        return
    if not (dest / ".buildinfo").exists():
        raise OutputExistsError(f"{dest} already holds files that are not a book built by sft-teach: "
                                f"choose a new or empty folder")
    built = _record(dest)
    edition = f"a {built['edition']}-edition book" if built.get("edition") else "a book"
    if not overwrite:
        raise OutputExistsError(f"{dest} already holds {edition}: pass --overwrite (in Python, overwrite=True) to "
                                f"replace it, or choose another folder")
    if "written" in built:  # files added since, by hand, would go with the folder: refused, named
        added = sorted(p.name for p in dest.iterdir() if p.name not in {*built["written"], MARKER})
        if added:
            shown = ", ".join(added[:3]) + (f" and {len(added) - 3} more" if len(added) > 3 else "")
            raise OutputExistsError(f"{dest} holds {edition} and files the book did not write ({shown}), which "
                                    f"replacing it would delete: move them, or choose another folder")


def maths_to_mathml(text: str) -> str:
    """An HTML output's ``$...$`` and ``$$...$$`` formulas as MathML, code left as it is.

    ``explain()`` boxes leave their formulas in the HTML for MathJax (as Jupyter draws them); the
    book loads no MathJax, so they are converted here as Sphinx's own formulas are (``setup``)."""
    parts = _CODE.split(text)  # even items: outside <pre> and <code>
    for i in range(0, len(parts), 2):
        parts[i] = MATH.sub(lambda m: _mathml(html.unescape(m[1] if m[1] is not None else m[2]),
                                                  "block" if m[1] is not None else "inline"), parts[i])
    return "".join(parts)


_CODE = re.compile(r"(<pre\b.*?</pre>|<code\b.*?</code>)", re.S)


def as_a_terminal_shows(text: str) -> str:
    """Stream text as a terminal leaves it: a progress bar redraws its line with ``\r``, and only
    its last drawing stays (a page would show every drawing on a line of its own)."""
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.replace("\r\n", "\n").split("\n"))


def _prepare_for_the_book(path: Path) -> None:
    """Rewrite one notebook of the edition as the book shows it (:func:`_offline_outputs`)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    _offline_outputs(nb)
    nbformat.write(nb, path)


def _offline_outputs(nb) -> None:
    """The outputs of ``nb`` (changed in place) as a page without a kernel or MathJax shows them: the
    ``explain()`` boxes with MathML formulas, and each run of stream outputs (a progress bar's
    redraws) as its terminal would end."""
    for cell in nb.cells:
        outputs = []
        for output in cell.get("outputs", []):
            page = output.get("data", {}).get("text/html")
            if isinstance(page, str) and 'class="sft-teach-explain"' in page:
                output["data"]["text/html"] = maths_to_mathml(page)
            last = outputs[-1] if outputs else None
            if output.get("output_type") == "stream" and last is not None and last.get("output_type") == "stream" \
                    and last.get("name") == output.get("name"):
                last["text"] += output["text"]  # one stream, as the terminal received it
                continue
            outputs.append(output)
        for output in outputs:
            if output.get("output_type") == "stream":
                output["text"] = as_a_terminal_shows(output["text"])
        if "outputs" in cell:
            cell["outputs"] = outputs


# nbconvert's JupyterLab page without what it fetches from a CDN: require.js and the widget manager
# (the course's widgets are saved with static fallbacks), MathJax (formulas are MathML), mermaid.
_OFFLINE_PAGE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_css -%}
<style>math[display="block"] { margin: 0.8em 0; font-size: 1.25em; } math { font-size: 1.1em; }</style>
{%- endblock html_head_css -%}
"""


def notebook_page(nb) -> str:
    """An executed notebook as one HTML file that loads nothing from the network.

    nbconvert's JupyterLab layout, outputs and figures included (figures are embedded PNGs), with
    the formulas of its markdown and of its ``explain()`` boxes written as MathML, which every
    browser draws without a script. ``nb`` is left as it was. Used by ``sft-teach course --html``.
    """
    import copy

    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = copy.deepcopy(nb)
    _offline_outputs(nb)
    formulas: dict[str, tuple[str, str]] = {}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _stash_formulas(cell.source, formulas)
    exporter = HTMLExporter(template_name="lab", template_file="offline.html.j2",
                            extra_loaders=[DictLoader({"offline.html.j2": _OFFLINE_PAGE})])
    page, _ = exporter.from_notebook_node(nb)
    # inside a tag (a heading's id, its anchor's href) a formula is its TeX's letters; elsewhere MathML,
    # after markdown ran: it never sees the MathML
    page = re.sub(r"<[^<>]*SFTTEACHFORMULA[^<>]*>", lambda tag: re.sub(
        r"SFTTEACHFORMULA\d+X", lambda key: formulas[key[0]][1], tag[0]), page)
    for key, (mathml, _) in formulas.items():
        page = page.replace(key, mathml)
    words = _figure_words(nb)  # nbconvert gives every picture the alt text "No description has been provided"

    def described(tag):
        png = re.search(r'src="data:image/png;base64,([^"]+)"', tag[0])
        alt = words.get("".join(png[1].split())) if png else None
        return tag[0] if alt is None else re.sub(r'\salt="[^"]*"', "", tag[0]).replace(
            "<img", f'<img alt="{html.escape(alt)}"', 1)

    return re.sub(r"<img\b[^>]*>", described, page)


def _figure_words(nb) -> dict[str, str]:
    """``{PNG as base64, without line breaks: its words}`` for each figure of ``nb`` saved with ``alt`` text (a course
    figure's :meth:`sft_teach.course_figure.CourseFigure.description`)."""
    words = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            png, alt = output.get("data", {}).get("image/png"), output.get("metadata", {}).get("image/png", {})
            if isinstance(png, str) and isinstance(alt, dict) and alt.get("alt"):
                words["".join(png.split())] = alt["alt"]
    return words


def _describe_figures(site: Path, notebooks) -> None:
    """Give each figure of the built pages its words as ``alt`` text. myst-nb saves a figure as
    ``_images/SHA256.png``, named by the hash of its bytes, and leaves the file name as its alt."""
    import base64
    import hashlib
    import nbformat

    words = {}
    for path in notebooks:
        for png, alt in _figure_words(nbformat.read(path, as_version=4)).items():
            words[hashlib.sha256(base64.b64decode(png)).hexdigest()] = alt
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        described = re.sub(r'alt="([^"]*/)?([0-9a-f]{64})\.png"',
                           lambda m: f'alt="{html.escape(words[m[2]])}"' if m[2] in words else m[0], text)
        if described != text:
            page.write_text(described, encoding="utf-8")


def write_notebook_page(nb, notebook_path) -> Path:
    """:func:`notebook_page` of ``nb`` written beside its notebook (``NAME.html`` for ``NAME.ipynb``)."""
    page = Path(notebook_path).with_suffix(".html")
    page.write_text(notebook_page(nb), encoding="utf-8")
    return page


_MARKDOWN_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)  # fenced blocks and inline code: left as written


def _stash_formulas(source: str, formulas: dict[str, tuple[str, str]]) -> str:
    """``source`` with each ``$...$`` / ``$$...$$`` outside code replaced by a placeholder of letters and
    digits (which markdown leaves alone), its MathML and its TeX's letters and digits (for an
    attribute: a heading's id) kept in ``formulas``."""
    def stash(match):
        key = f"SFTTEACHFORMULA{len(formulas)}X"
        block = match[1] is not None
        tex = match[1] if block else match[2]
        formulas[key] = (_mathml(tex, "block" if block else "inline"),
                         "-".join(re.findall(r"[A-Za-z0-9]+", tex.replace("\\", " "))) or "formula")
        return key

    parts = _MARKDOWN_CODE.split(source)  # even items: outside code
    for i in range(0, len(parts), 2):
        parts[i] = MATH.sub(stash, parts[i])
    return "".join(parts)


def build_book(dest, source_dir=None, edition: str = "student", overwrite: bool = False) -> Path:
    """Build the course's book into ``dest`` from the executed notebooks; returns ``dest/index.html``.

    ``source_dir`` holds the notebooks (default: the course's own,
    :func:`sft_teach.handout.notebooks_dir`); ``edition`` is "student" (exercises to solve) or
    "teacher" (solved and checked, which runs the exercise cells: a few seconds; its index page says
    it is the teacher's). A folder ``dest`` that holds anything but an earlier book, an earlier book
    without ``overwrite``, or an earlier book beside files it did not write, raises
    :class:`sft_teach.errors.OutputExistsError`; Sphinx's warnings, if any, are raised as one
    :class:`RuntimeError` (a page that would render wrong).
    """
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    from .editions import build_edition
    from .handout import make_folder

    dest = make_folder(dest, "for the book", example="course-book")
    _check_dest(dest, overwrite)
    with tempfile.TemporaryDirectory(prefix="sft-teach-book-") as tmp:
        src = Path(tmp) / "src"
        notebooks = build_edition(edition, src, source_dir)
        for path in notebooks:
            _prepare_for_the_book(path)
        (src / "_static").mkdir()
        (src / "_static" / "book.css").write_text(CSS, encoding="utf-8")
        (src / "conf.py").write_text(conf_py(), encoding="utf-8")
        pages = "\n".join(path.stem for path in notebooks)
        note = TEACHER_NOTE.format() if edition == "teacher" else ""
        (src / "index.md").write_text(INDEX.format(title=TITLE, pages=pages, note=note, run=RUN[edition]),
                                      encoding="utf-8")
        warnings = io.StringIO()
        # Built in the scratch folder, then moved: myst-nb writes its jupyter_execute/ folder beside
        # the output folder, which would be dest's parent, a folder of the learner's.
        site = Path(tmp) / "html"
        with patch_docutils(src), docutils_namespace():
            app = Sphinx(str(src), str(src), str(site), str(Path(tmp) / "doctrees"), "html",
                         status=None, warning=warnings, freshenv=True, parallel=0)
            app.build(force_all=True)
        if warnings.getvalue().strip():
            raise RuntimeError(f"the book was built with warnings:\n{warnings.getvalue().strip()}")
        _describe_figures(site, notebooks)
        for old in dest.iterdir():  # dest holds nothing, or an earlier book (_check_dest): replaced whole
            shutil.rmtree(old) if old.is_dir() and not old.is_symlink() else old.unlink()
        shutil.copytree(site, dest, dirs_exist_ok=True)  # into dest itself: it may be "." or a link
        written = sorted(p.name for p in dest.iterdir())
        (dest / MARKER).write_text(json.dumps({"edition": edition, "written": written}, indent=2) + "\n",
                                   encoding="utf-8")
    return dest.resolve() / "index.html"


# ---- Sphinx extension: formulas as MathML, drawn by the browser without a script -------------

def _mathml(latex: str, display: str) -> str:
    from latex2mathml.converter import convert

    try:
        return convert(latex.strip(), display=display)
    except Exception:  # a formula latex2mathml cannot read: show its source rather than nothing
        return f'<code class="math-source">{html.escape(latex)}</code>'


def _visit_math(self, node):
    from docutils import nodes

    self.body.append(_mathml(node.astext(), "inline"))
    raise nodes.SkipNode


def _visit_math_block(self, node):
    from docutils import nodes

    self.body.append(f'<div class="math-wrapper">{_mathml(node.astext(), "block")}</div>\n')
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer("mathml", (_visit_math, None), (_visit_math_block, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
