"""The book: a static website of the executed notebooks that works offline, checked as built and in Chromium.

The site is built once per module from the committed notebooks (a few seconds: nothing runs).
The static checks read its HTML; ``test_book_in_chromium`` opens every page in Debian's
Chromium through Playwright (``file://``, so any request that leaves the disk is a fault),
counts the pictures that loaded and saves ``test-artifacts/book-*.png`` to look at.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from sft_teach.book import build_book
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
    assert "&lt;Figure size" not in article and "<Figure size" not in article


def test_formulas_are_mathml(book):
    html = (book[0].parent / "04_ulmfit_techniques.html").read_text(encoding="utf-8")
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">' in html
    assert "\\eta" not in html.split('<article class="bd-article">')[1]  # no formula left as LaTeX


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
