"""The book: a static website of the executed notebooks that works offline, checked as built and in Chromium.

The site is built once per module from the committed notebooks (a few seconds: nothing runs).
The static checks read its HTML; ``test_book_in_chromium`` opens every page in Debian's
Chromium through Playwright (``file://``, so any request that leaves the disk is a fault),
counts the pictures that loaded and saves ``test-artifacts/book-*.png`` to look at.
"""

from __future__ import annotations

import base64
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from sft_teach.book import build_book, built_edition
from sft_teach.errors import ConfigError, OutputExistsError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)

# a resource the page would fetch from the network: a script, stylesheet, picture or font by URL
REMOTE = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import\s+["']?(?:https?:)?//""")


def pictures(path: Path) -> int:
    nb = nbformat.read(path, as_version=4)
    return sum("image/png" in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", []))


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> tuple[Path, float]:
    """Built as `cd DIR && sft-teach book .` builds it: into the current folder, named "."."""
    import os

    dest = tmp_path_factory.mktemp("book")
    start, here = time.perf_counter(), os.getcwd()
    os.chdir(dest)
    try:
        index = build_book(".")
    finally:
        os.chdir(here)
    assert index == dest / "index.html"
    return index, time.perf_counter() - start


def test_book_builds_quickly_with_a_page_per_notebook(book):
    index, seconds = book
    assert index.name == "index.html" and index.is_file()
    assert seconds < 60, f"the book took {seconds:.0f} s to build"
    assert not (index.parent.parent / "jupyter_execute").exists()  # nothing written beside the book's folder
    for notebook in NOTEBOOKS:
        assert (index.parent / f"{notebook.stem}.html").is_file(), notebook.stem


def test_index_has_the_title_and_the_notebooks_in_order(book):
    html = book[0].read_text(encoding="utf-8")
    assert "a course on supervised fine-tuning</h1>" in html
    article = html[html.index('<article class="bd-article">'):html.index("</article>")]
    linked = re.findall(r'class="reference internal" href="([^"#]+)\.html"', article)
    assert linked == [p.stem for p in NOTEBOOKS]
    # a student's book never sends its reader to the self-learner's copy, whose quizzes fold their answers
    words = " ".join(re.sub(r"<[^>]+>", "", article).split())
    assert "sft-teach course --edition student --output my-notebooks" in words and "sft-teach lab my-notebooks" in words


def test_pages_load_nothing_from_the_network(book):
    site = book[0].parent
    for path in [*site.glob("*.html"), *site.glob("_static/**/*.css"), *site.glob("_static/**/*.js")]:
        match = REMOTE.search(path.read_text(encoding="utf-8", errors="replace"))
        assert not match, f"{path.relative_to(site)} loads {match.group(0)!r}..."


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_each_page_has_every_picture_and_no_figure_as_text(book, notebook):
    html = (book[0].parent / f"{notebook.stem}.html").read_text(encoding="utf-8")
    article = html[html.index('<article class="bd-article">'):html.index("</article>")]
    assert article.count("<img") == pictures(notebook)
    # each figure's words, not its file name, for a reader who cannot see it
    alts = re.findall(r'<img alt="([^"]*)"', article)
    assert len(alts) == pictures(notebook) and all(alt.startswith(("Figure: ", "Diagram ")) for alt in alts), alts
    assert "&lt;Figure size" not in article and "<Figure size" not in article


def test_formulas_are_mathml(book):
    html = (book[0].parent / "04_ulmfit_techniques.html").read_text(encoding="utf-8")
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">' in html
    assert "\\eta" not in html.split('<article class="bd-article">')[1]  # no formula left as LaTeX


def test_every_formula_is_mathml_in_the_explanations_too(book):
    """explain() boxes leave their formulas for MathJax, which the book does not load: none is left
    as LaTeX on any page (06's LoRA box has dozens)."""
    for page in sorted(book[0].parent.glob("0*.html")):
        article = page.read_text(encoding="utf-8").split('<article class="bd-article">')[1]
        text = re.sub(r"<(pre|code)\b.*?</\1>", "", article, flags=re.S)  # code may hold a dollar sign
        assert "$\\" not in text and "$$" not in text, page.name
    lora = (book[0].parent / "06_lora.html").read_text(encoding="utf-8")
    box = lora[lora.index('class="sft-teach-explain"'):]
    assert "<math" in box[:box.index("</div>")]


def test_a_progress_bar_is_shown_as_its_terminal_ends(book):
    """Notebook 01's bar over the four from-scratch runs redraws itself six times with \\r: one line."""
    from sft_teach.book import as_a_terminal_shows

    article = (book[0].parent / "01_beginner_cats_and_dogs.html").read_text(encoding="utf-8")
    assert article.count("from scratch:") == 1 and "from scratch: 100%" in article
    assert as_a_terminal_shows("\rA:  0%\rA: 50%\rA: 100%\nnext\n") == "A: 100%\nnext\n"
    assert as_a_terminal_shows("a line\r\nanother\r\n") == "a line\nanother\n"  # Windows line ends are lines


def test_maths_to_mathml_leaves_code_and_reads_escaped_latex():
    from sft_teach.book import maths_to_mathml

    out = maths_to_mathml("<p>cost $a &lt; b$ and</p><pre>echo $HOME $PATH</pre><code>$x$</code>$$y^2$$")
    assert "<pre>echo $HOME $PATH</pre><code>$x$</code>" in out and out.count("<math") == 2
    assert "<mo>&#x0003C;</mo>" in out and "&amp;lt;" not in out  # '&lt;' read as '<', written as MathML's


def test_a_book_is_replaced_only_with_overwrite_and_never_with_files_of_yours(tmp_path):
    """A student book replaced by the teacher's would publish the solutions: refused, naming the
    edition, unless overwrite; a file added beside the book is never deleted with it."""
    dest = tmp_path / "class-book"
    build_book(dest)
    with pytest.raises(OutputExistsError, match="already holds a student-edition book: pass --overwrite"):
        build_book(dest, edition="teacher")
    (dest / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match=r"files the book did not write \(notes.txt\)"):
        build_book(dest, edition="teacher", overwrite=True)
    assert (dest / "notes.txt").read_text() == "mine"
    (dest / "notes.txt").unlink()
    build_book(dest, edition="teacher", overwrite=True)
    assert "Teacher edition" in (dest / "index.html").read_text(encoding="utf-8")
    assert built_edition(dest) == "teacher" and built_edition(tmp_path) is None
    words = " ".join(re.sub(r"<[^>]+>", "", (dest / "index.html").read_text(encoding="utf-8")).split())
    assert "sft-teach course --edition teacher --output DIR writes the same notebooks" in words


def test_book_refuses_a_folder_that_holds_other_files(tmp_path):
    (tmp_path / "thesis.tex").write_text("mine")
    with pytest.raises(OutputExistsError, match="not a book built by sft-teach"):
        build_book(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["thesis.tex"]


def test_book_of_an_unknown_edition_is_a_one_line_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown edition 'answers'"):
        build_book(tmp_path / "book", edition="answers")


# ---- in a real browser ---------------------------------------------------------------------------

PAGE_JS = """() => {
    const images = [...document.querySelectorAll('article.bd-article img')];
    return {images: images.length,
            drawn: images.filter(img => img.complete && img.naturalWidth > 0).length,
            text: document.querySelector('article.bd-article').innerText,
            next: (document.querySelector('a.right-next') || {}).href || null,
            prev: (document.querySelector('a.left-prev') || {}).href || null};
}"""


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"book-{name}.png"
    page.screenshot(path=str(path))
    return path


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)")
def test_book_in_chromium(book):
    """Every page: its pictures drawn, no figure as text, previous/next links; nothing fetched online."""
    from playwright.sync_api import sync_playwright

    site = book[0].parent
    remote = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda request: None if request.url.startswith(("file:", "data:", "about:"))
                else remote.append(request.url))
        page.goto(book[0].as_uri(), wait_until="load")
        links = page.evaluate("() => [...document.querySelectorAll('article.bd-article a.reference.internal')]"
                              ".map(a => a.href)")
        assert links == [(site / f"{p.stem}.html").as_uri() for p in NOTEBOOKS]
        screenshot(page, "index")
        for k, notebook in enumerate(NOTEBOOKS):
            page.goto((site / f"{notebook.stem}.html").as_uri(), wait_until="load")
            shown = page.evaluate(PAGE_JS)
            assert shown["images"] == pictures(notebook), notebook.stem
            assert shown["drawn"] == shown["images"], f"{notebook.stem}: a picture did not load"
            assert "<Figure size" not in shown["text"], notebook.stem
            after = NOTEBOOKS[k + 1].stem if k + 1 < len(NOTEBOOKS) else None
            assert shown["next"] == ((site / f"{after}.html").as_uri() if after else None), notebook.stem
            assert shown["prev"] == (site / f"{NOTEBOOKS[k - 1].stem if k else 'index'}.html").as_uri()
            if notebook.stem.startswith("01_"):
                screenshot(page, "page-top")
                page.locator("article.bd-article img").first.scroll_into_view_if_needed()
                page.evaluate("() => window.scrollBy(0, -200)")  # the code above the figure too
                page.wait_for_timeout(200)
                screenshot(page, "figure")
        browser.close()
    assert not remote, f"the book fetched from the network: {remote[:5]}"


def test_notebook_page_loads_nothing_from_the_network_and_writes_formulas_as_mathml():
    """sft-teach course --html: markdown and explain() formulas become MathML, code keeps its dollars,
    nothing is fetched (no script, stylesheet or image from a URL), and the notebook is left as it was."""
    import re

    import nbformat

    from sft_teach.book import notebook_page
    from sft_teach.explain import explain

    box = explain("learning rate")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("Inline $\\eta_t$ and a block\n\n$$\\theta_t = \\theta_{t-1} - \\eta g$$\n\n"
                                      "Shell: `echo $HOME`, a **bold** word and a table:\n\n| a | b |\n|---|---|\n| $x^2$ | 1 |"),
        nbformat.v4.new_code_cell("print('$5 a bar')", outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="$5 a bar\n"),
            nbformat.v4.new_output("display_data", data={"text/html": box._repr_html_(), "text/plain": "box"})]),
    ]
    before = nbformat.writes(nb)
    page = notebook_page(nb)
    assert nbformat.writes(nb) == before
    assert not re.findall(r"<(?:script|link|img)\b[^>]*(?:src|href)=[\"']https?://", page)
    assert "mathjax" not in page.lower() and "require.min.js" not in page
    markdown_part, box_part = page.split('class="sft-teach-explain"', 1)
    assert markdown_part.count("<math") == 3 and markdown_part.count('display="block"><') == 1
    assert box_part.count("<math") >= 1  # the box's formulas too
    assert "SFTTEACHFORMULA" not in page and "echo $HOME" in page and "$5 a bar" in page
    assert "<strong>bold</strong>" in page and "<table>" in page


def test_a_formula_in_a_heading_is_mathml_in_the_heading_and_letters_in_its_anchor():
    """nbconvert puts a heading's text in its id and its anchor's href: MathML there broke the tag."""
    import re

    import nbformat

    from sft_teach.book import notebook_page

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## The loss $\\mathcal{L}_t$ per token")])
    heading = re.search(r"<h2[^>]*>.*?</h2>", notebook_page(nb), re.S)[0]
    assert 'id="The-loss-mathcal-L-t-per-token"' in heading and 'href="#The-loss-mathcal-L-t-per-token"' in heading
    assert heading.count("<math") == 1 and "SFTTEACHFORMULA" not in heading


def test_files_added_beside_an_earlier_book_are_named_three_and_counted_beyond(tmp_path):
    import json

    from sft_teach.book import MARKER, _check_dest

    (tmp_path / MARKER).write_text(json.dumps({"edition": "student", "written": [".buildinfo", "index.html"]}))
    for name in (".buildinfo", "index.html"):  # what Sphinx writes
        (tmp_path / name).write_text("built")
    for name in ("a.txt", "b.txt", "c.txt", "d.txt"):
        (tmp_path / name).write_text("mine")
    with pytest.raises(OutputExistsError, match=r"did not write \(a\.txt, b\.txt, c\.txt and 1 more\)"):
        _check_dest(tmp_path, overwrite=True)


def test_a_page_keeps_stdout_and_stderr_apart_and_joins_one_stream_s_pieces():
    from sft_teach.book import _offline_outputs

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="a\n"),
        nbformat.v4.new_output("stream", name="stdout", text="b\n"),
        nbformat.v4.new_output("stream", name="stderr", text="warning\n")])]
    _offline_outputs(nb)
    assert [(o.name, o.text) for o in nb.cells[0].outputs] == [("stdout", "a\nb\n"), ("stderr", "warning\n")]


def test_a_formula_latex2mathml_cannot_read_is_shown_as_its_source():
    from sft_teach.book import maths_to_mathml

    assert '<code class="math-source">\\left(</code>' in maths_to_mathml("<p>$\\left($</p>")


def test_a_page_sphinx_warns_about_stops_the_book(tmp_path):
    """A broken reference would render as plain text in silence: the build fails and says why."""
    source = tmp_path / "notebooks"
    source.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A page\n\nSee {doc}`no-such-page`.")]
    nbformat.write(nb, source / "00_page.ipynb")
    with pytest.raises(RuntimeError, match=r"the book was built with warnings:\n.*no-such-page"):
        build_book(tmp_path / "book", source_dir=source)


def test_the_command_warns_when_a_student_book_becomes_the_teacher_s(tmp_path, monkeypatch, capsys):
    """--overwrite replaces a student book with the solved one: the command says so, since that folder
    may already be served to students (the Python function's caller decides for itself)."""
    import json

    from sft_teach import book
    from sft_teach.cli import main

    def fake_build(dest, edition="student", overwrite=False):  # what build_book leaves: its marker
        Path(dest).mkdir(exist_ok=True)
        (Path(dest) / book.MARKER).write_text(json.dumps({"edition": edition, "written": []}))
        return Path(dest) / "index.html"

    monkeypatch.setattr(book, "build_book", fake_build)
    dest = tmp_path / "class-book"
    assert main(["book", str(dest)]) == 0 and "warning" not in capsys.readouterr().err
    assert main(["book", str(dest), "--edition", "teacher", "--overwrite"]) == 0
    assert capsys.readouterr().err.strip() == (
        f"warning: {dest}/ held the student edition and now holds the teacher edition, with every solution: do not "
        f"publish it where students can see it")
    assert main(["book", str(dest), "--edition", "teacher", "--overwrite"]) == 0 and not capsys.readouterr().err


def test_a_page_gives_each_figure_its_words_as_alt_text():
    """sft-teach course --html: a course figure's description, saved in its output's metadata, is the
    picture's alt text (nbconvert's JupyterLab layout writes none)."""
    from IPython.core.formatters import DisplayFormatter

    from sft_teach import plots
    from sft_teach.book import notebook_page

    data, metadata = DisplayFormatter().format(plots.confusion_plot([[3, 1], [0, 4]], ["cat", "dog"], title="a <b>"))
    data["image/png"] = base64.b64encode(data["image/png"]).decode()  # as the kernel sends it
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("plot", outputs=[
        nbformat.v4.new_output("display_data", data=data, metadata=metadata)])])
    page = notebook_page(nb)
    assert page.count("<img ") == 1
    assert re.findall(r'<img alt="([^"]*)"[^>]*src="data:image/png', page) == [
        "Figure: a &lt;b&gt;. x axis: predicted label; y axis: true label."]
