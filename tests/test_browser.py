"""A real browser: JupyterLab 4 in headless Chromium shows the course as a learner sees it.

One JupyterLab server (loopback port, no token) and one Chromium serve the whole module:

* **The tour** (``test_notebook_as_reopened``, one test per notebook in ``notebooks/``): a copy
  of each committed notebook is opened *without running it*, the way a learner reopens the
  course, and trusted, as a learner's own saved notebook is (see ``copy_trusted``). Every
  ``image/png`` output of the file must be an ``<img>`` in JupyterLab (cell by cell), every
  picture must have loaded, and no output may show ``<Figure size ...>``, "Error displaying
  widget" or a widget's raw repr (``VBox(children=...``). Screenshots of each
  notebook, page by page, land in ``test-artifacts/``. ``SFT_TEACH_TOUR=FOLDER`` tours the
  notebooks of another folder instead (for example freshly executed copies).
* **The live run** of notebook 01, as a learner tries its widgets: sections 1-3 run (up to the
  label-budget slider) and then the quiz cell; the explanation tabs show, the quiz answers, and
  the slider is moved and the kernel's answer awaited. The rest of 01 (the race, the fine-tuning)
  is not run here: nbval executes every cell of it, and ``test_live_plot_is_redrawn_in_place_in_jupyterlab``
  checks its live loss plot's display in this JupyterLab, so the browser adds to them only what
  needs a front end, in under a minute instead of a second full execution of the notebook.

JupyterLab 4 attaches only the cells in view by default ("windowing"): images further down
would be missing from the page and the count would be wrong. The server gets its own
user-settings folder with ``windowingMode: none``, so every cell is in the page;
``test_tour_counts_pictures_far_down_and_catches_bad_outputs`` proves the checker on a made-up
notebook whose pictures sit below many screens of text and which carries each bad output.

Uses the system's Chromium (Debian's ``/usr/bin/chromium``), or the binary ``SFT_TEACH_CHROMIUM``
names, through Playwright; it never downloads a browser. Skipped, with the reason, only when no
Chromium is found.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from test_figures import WIDGET_REPR

ROOT = Path(__file__).resolve().parent.parent
# Any Chromium-based browser: SFT_TEACH_CHROMIUM names its binary (Google Chrome on macOS, say), else
# the system's chromium (Debian's apt package) or chromium-browser (other distributions)
CHROMIUM = (os.environ.get("SFT_TEACH_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
            or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None))
ARTIFACTS = ROOT / "test-artifacts"
LIVE_NOTEBOOK = "01_beginner_cats_and_dogs.ipynb"
TOUR_DIR = Path(os.environ.get("SFT_TEACH_TOUR") or ROOT / "notebooks")
TOUR = sorted(TOUR_DIR.glob("*.ipynb"))

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium, or set "
                                                          "SFT_TEACH_CHROMIUM to a Chromium or Chrome binary)")

# What a learner must never see in an output: a figure that printed as text (IPython found no
# picture for it), a widget whose model is gone (saved without state, or the kernel restarted)
# or never arrives, and a widget printed as its Python repr (no front end drew it).
BAD_OUTPUT = re.compile(r"<Figure size|Error displaying widget|Loading widget\.\.\.|" + WIDGET_REPR.pattern)

# User settings of the test's own JupyterLab (the developer's own settings are not read).
LAB_SETTINGS = {
    # every cell in the page, also those out of view (see the module docstring)
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # no "fetch Jupyter news?" toast over the screenshots; nothing reaches the network
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                         "checkForUpdates": False},
}

VIEWPORT = {"width": 1280, "height": 1100}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lab")


def data_dir(lab_root: Path) -> Path:
    """The server's Jupyter data folder: its own trust database, not the developer's."""
    return lab_root.parent / f"{lab_root.name}-data"


def copy_trusted(source: Path, lab_root: Path, folder: str) -> str:
    """Copy a notebook into the server's root and sign it as trusted; returns its path there.

    A learner's own notebook (run and saved in JupyterLab, or trusted by hand) is trusted, and
    only then does JupyterLab draw widget views: untrusted, it quietly shows the next safe
    representation. Trusted is the stricter view: a widget view saved without its state shows
    "Error displaying widget" there.
    """
    from nbformat.sign import NotebookNotary

    (lab_root / folder).mkdir(exist_ok=True)
    data_dir(lab_root).mkdir(exist_ok=True)
    nb = nbformat.read(source, as_version=4)
    notary = NotebookNotary(data_dir=str(data_dir(lab_root)))
    notary.sign(nb)
    nbformat.write(nb, lab_root / folder / source.name)
    return f"{folder}/{source.name}"


@pytest.fixture(scope="module")
def jupyterlab(lab_root):
    """A JupyterLab server rooted at ``lab_root``, with its own settings; yields its URL."""
    settings = lab_root.parent / f"{lab_root.name}-settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    port = free_port()
    log_path = lab_root.parent / f"{lab_root.name}-jupyterlab.log"
    log = open(log_path, "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
         "--allow-root", f"--ServerApp.root_dir={lab_root}", "--LabApp.expose_app_in_browser=True",
         f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={settings}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=log, stderr=subprocess.STDOUT, cwd=lab_root,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "JUPYTER_DATA_DIR": str(data_dir(lab_root))})
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.terminate()
        pytest.fail(f"JupyterLab did not start: {log_path.read_text()[-2000:]}")
    yield url
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def lab_page(jupyterlab, browser):
    """One JupyterLab tab for the whole tour: each notebook is opened in it and closed again."""
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{jupyterlab}/lab")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=60_000)
    page.evaluate("async () => { await window.jupyterapp.restored; }")
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # the notebook gets the page's width
    yield page
    page.close()


CURRENT = "window.jupyterapp.shell.currentWidget"


def wait_for(page, expression: str, timeout_s: float, what: str):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if page.evaluate(f"() => {{ try {{ return Boolean({expression}); }} catch (e) {{ return false; }} }}"):
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def expected_pictures(nb) -> dict[int, int]:
    """``{cell index: number of image/png outputs}`` for the code cells of a notebook file."""
    return {i: sum("image/png" in out.get("data", {}) for out in cell.get("outputs", []))
            for i, cell in enumerate(nb.cells) if cell.cell_type == "code"}


# Per code cell, what JupyterLab drew: the <img> in its outputs (how many, how many decoded into
# a picture with a width) and the text there (textContent, not innerText: innerText is empty
# while the panel is not yet laid out, which would hide every problem).
SHOWN_JS = f"""() => {{
    const cells = {CURRENT}.content.widgets;
    const shown = {{}};
    cells.forEach((cell, i) => {{
        if (cell.model.type !== 'code') return;
        const images = [...cell.node.querySelectorAll('.jp-OutputArea-output img')];
        shown[i] = {{images: images.length,
                     drawn: images.filter(img => img.complete && img.naturalWidth > 0).length,
                     text: [...cell.node.querySelectorAll('.jp-OutputArea-output')]
                           .map(o => o.textContent).join('\\n')}};
    }});
    return shown;
}}"""


def open_notebook(page, path: str, timeout_s: float = 90):
    # Returns nothing: the opened widget itself cannot be sent back to Python.
    page.evaluate(f"async () => {{ await window.jupyterapp.commands.execute('docmanager:open', "
                  f"{{path: {json.dumps(path)}}}); }}")
    wait_for(page, f"{CURRENT}.context.path === {json.dumps(path)} && {CURRENT}.context.isReady && "
                   f"{CURRENT}.content.isVisible", timeout_s, f"{path} to open")
    # only this notebook in the main area: no launcher tab in the screenshots (JupyterLab opens
    # one whenever the main area empties)
    page.evaluate(f"() => {{ for (const w of [...window.jupyterapp.shell.widgets('main')]) "
                  f"if (w !== {CURRENT}) w.close(); }}")
    # The widget manager restores (or fails to find) widget models once the kernel is up: only
    # then does an orphaned widget view turn into "Error displaying widget".
    wait_for(page, f"{CURRENT}.sessionContext.session.kernel.status === 'idle'", timeout_s, "an idle kernel")
    # every cell in the page: the proof that windowing is off
    wait_for(page, f"{CURRENT}.content.node.querySelectorAll('.jp-Cell').length === "
                   f"{CURRENT}.content.model.cells.length", 30, "every cell to be attached")


def close_notebook(page):
    page.evaluate(f"""async () => {{
        const panel = {CURRENT};
        if (!panel || !panel.sessionContext) return;
        await panel.sessionContext.shutdown();
        panel.dispose();
    }}""")


def screenshot_pages(page, stem: str, max_pages: int = 40) -> list[Path]:
    """The notebook screen by screen, top to bottom, as ``test-artifacts/tour-STEM-pNN.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob(f"tour-{stem}-p*.png"):
        old.unlink()
    scroller = (f"({CURRENT}.content.node.querySelector('.jp-WindowedPanel-outer') || "
                f"{CURRENT}.content.node)")
    # the bottom of the last cell, not scrollHeight: JupyterLab pads the end by a screen
    height, view = page.evaluate(f"""() => {{
        const outer = {scroller}, cells = outer.querySelectorAll('.jp-Cell'), last = cells[cells.length - 1];
        const bottom = last.getBoundingClientRect().bottom - outer.getBoundingClientRect().top + outer.scrollTop;
        return [Math.ceil(bottom) + 20,
                outer.clientHeight];
    }}""")
    step = max(view - 80, 200)  # keep 80 px of the previous screen, so no line is cut unseen
    shots = []
    for k in range(min(max_pages, -(-max(height - view, 0) // step) + 1)):
        page.evaluate(f"() => {{ {scroller}.scrollTop = {k * step}; }}")
        page.wait_for_timeout(150)
        shots.append(ARTIFACTS / f"tour-{stem}-p{k + 1:02d}.png")
        page.screenshot(path=str(shots[-1]))
    return shots


def tour_problems(page, path: Path, served_as: str, stem: str | None) -> list[str]:
    """Open a notebook copy (not executed), screenshot it (unless ``stem`` is None), and list what
    a learner would see wrong there."""
    expected = expected_pictures(nbformat.read(path, as_version=4))
    open_notebook(page, served_as)
    # Outputs render asynchronously: wait for as many <img> as the file has PNGs, each loaded or
    # failed (``complete``). Missing ones are reported below, after this short wait.
    want = sum(expected.values())
    try:
        wait_for(page, f"Object.values(({SHOWN_JS})()).reduce((n, c) => n + c.images, 0) >= {want} && "
                       f"[...{CURRENT}.content.node.querySelectorAll('.jp-OutputArea-output img')]"
                       f".every(img => img.complete)", 10, f"{want} pictures")
    except AssertionError:
        pass  # reported cell by cell below
    # A widget view shows "Loading widget..." until the widget manager has asked the kernel for
    # its models; only then does a view without a model turn into "Error displaying widget".
    try:
        wait_for(page, f"!Object.values(({SHOWN_JS})()).some(c => c.text.includes('Loading widget'))", 30,
                 "the widget manager")
    except AssertionError:
        pass  # a view still loading is reported below
    page.wait_for_timeout(500)
    shown = {int(i): c for i, c in page.evaluate(SHOWN_JS).items()}
    if stem:
        screenshot_pages(page, stem)
    close_notebook(page)

    problems = []
    for i, n in expected.items():
        cell = shown.get(i, {"images": 0, "drawn": 0, "text": ""})
        if cell["images"] != n:
            problems.append(f"cell {i}: {n} image/png output(s) in the file, {cell['images']} <img> in JupyterLab")
        elif cell["drawn"] != n:
            problems.append(f"cell {i}: {n - cell['drawn']} <img> did not load into a picture")
        match = BAD_OUTPUT.search(cell["text"])
        if match:
            problems.append(f"cell {i} shows: {cell['text'][match.start():match.start() + 70].splitlines()[0]}")
    return problems


@pytest.mark.parametrize("notebook", TOUR, ids=[p.stem for p in TOUR])
def test_notebook_as_reopened(notebook, lab_page, lab_root):
    """A committed notebook, reopened: pictures where the file has PNGs, no text in place of a figure or widget."""
    try:
        problems = tour_problems(lab_page, notebook, copy_trusted(notebook, lab_root, "tour"), notebook.stem)
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        lab_page.screenshot(path=str(ARTIFACTS / f"tour-{notebook.stem}-failure.png"))
        close_notebook(lab_page)
        raise
    assert not problems, f"{notebook.name} in JupyterLab (screenshots: test-artifacts/tour-{notebook.stem}-p*.png):\n" \
                         + "\n".join(problems)


def made_up_notebook() -> tuple[nbformat.NotebookNode, int]:
    """A notebook with 3 good pictures below ~40 screens of text and each bad output once; returns it and 3.

    Cells 40-41 hold the pictures; 42-46 one problem each: a figure as text, a printed widget
    repr, a widget view without its state, a PNG hidden behind an HTML output of the same
    display (JupyterLab prefers the HTML, so the picture is not there) and a PNG that is broken.
    """
    from sft_teach.plots import loss_curve

    png = base64.b64encode(loss_curve({"train": [{"step": s, "loss": 1 / s} for s in range(1, 9)]})._repr_png_())
    png = png.decode()
    v4 = nbformat.v4
    picture = v4.new_output("display_data", data={"image/png": png, "text/plain": "<CourseFigure size 600x320>"})
    cells = [v4.new_markdown_cell(f"## Filler {k}\n\n" + "A line of prose.\n\n" * 12) for k in range(40)]
    cells += [v4.new_code_cell("loss_curve(history)", outputs=[picture]),
              v4.new_code_cell("two pictures", outputs=[picture, picture]),
              v4.new_code_cell("plain_figure", outputs=[v4.new_output(
                  "execute_result", data={"text/plain": "<Figure size 600x320 with 1 Axes>"}, execution_count=1)]),
              v4.new_code_cell("print(panel)", outputs=[v4.new_output(
                  "stream", name="stdout", text="VBox(children=(IntSlider(value=8, description='notes'),))\n")]),
              v4.new_code_cell("panel", outputs=[v4.new_output("display_data", data={
                  "application/vnd.jupyter.widget-view+json": {"model_id": "0" * 32, "version_major": 2,
                                                               "version_minor": 0},
                  "text/plain": "a widget saved without its state"})]),
              v4.new_code_cell("html_first", outputs=[v4.new_output("display_data", data={
                  "image/png": png, "text/html": "<b>a table, not the picture</b>", "text/plain": "both"})]),
              v4.new_code_cell("broken", outputs=[v4.new_output("display_data", data={
                  "image/png": base64.b64encode(b"not a png").decode(), "text/plain": "broken"})])]
    return v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                  "language": "python"}}), 3


def test_tour_counts_pictures_far_down_and_catches_bad_outputs(lab_page, lab_root):
    """The checker itself: it sees pictures 40 screens down and flags each kind of bad output."""
    nb, pictures = made_up_notebook()
    path = lab_root / "made_up.ipynb"
    nbformat.write(nb, path)
    problems = tour_problems(lab_page, path, copy_trusted(path, lab_root, "selftest"), None)
    text = "\n".join(problems)
    # the 3 good pictures, 40 screens down, are all found: nothing reported for cells 40 and 41
    assert not [p for p in problems if p.startswith(("cell 40", "cell 41"))], text
    assert sum(expected_pictures(nb)[i] for i in (40, 41)) == pictures
    assert "cell 42 shows: <Figure size" in text
    assert "cell 43 shows: VBox(children=" in text
    assert "cell 44 shows: Error displaying widget" in text
    assert "cell 45: 1 image/png output(s) in the file, 0 <img> in JupyterLab" in text
    assert "cell 46: 1 <img> did not load into a picture" in text
    assert len(problems) == 5, text


def run_cells(page, timeout_s: float, indices: list[int] | None = None) -> float:
    """Run cells of the current notebook and wait for them; returns the seconds taken.

    ``indices=None`` runs every cell ("Run All Cells"). Otherwise the cells at ``indices``, in
    order, with JupyterLab's own commands as a learner's clicks give them: "Run All Above
    Selected Cell" for a leading block 0, 1, 2, ..., then "Run Selected Cell" for each other one.
    """
    started = time.perf_counter()
    if indices is None:
        steps = [(None, "notebook:run-all-cells", f"{CURRENT}.content.widgets")]
    else:
        block = 0
        while block < len(indices) and indices[block] == block:
            block += 1
        groups = ([(block, "notebook:run-all-above", list(range(block)))] if block else []) + \
                 [(i, "notebook:run-cell", [i]) for i in indices[block:]]
        steps = [(index, command, f"[{', '.join(map(str, cells))}].map(i => {CURRENT}.content.widgets[i])")
                 for index, command, cells in groups]
    for index, command, cells in steps:  # one at a time, each awaited, as a learner clicks
        select = "" if index is None else f"const nb = {CURRENT}.content; nb.deselectAll(); nb.activeCellIndex = {index}; "
        # not awaited: the command's promise settles only when the cells have run, and an
        # evaluate has no timeout; the wait below has one
        page.evaluate(f"() => {{ {select}window.jupyterapp.commands.execute('{command}'); }}")
        code = f"{cells}.filter(c => c.model.type === 'code')"
        try:
            wait_for(page, f"{code}.every(c => c.model.executionCount !== null) && "
                           f"{CURRENT}.sessionContext.session.kernel.status === 'idle'", timeout_s, "the cells to run")
        except AssertionError as exc:
            # say where it stood, and show that cell in the failure screenshot
            waiting = page.evaluate(f"""() => {{
                const all = {CURRENT}.content.widgets;
                const cell = {code}.find(c => c.model.executionCount === null);
                if (!cell) return 'none';
                cell.node.scrollIntoView();
                return `cell ${{all.indexOf(cell)}}: ${{cell.model.sharedModel.getSource().slice(0, 120)}}`;
            }}""")
            raise AssertionError(f"{exc}; first cell not run yet: {waiting}") from None
    return time.perf_counter() - started


# The output of the cell whose source uses LivePlotCallback: found by its source, not by its
# position, since the cell may move as a notebook grows.
LIVE_PLOT_JS = f"""() => {{
    const cell = {CURRENT}.content.widgets.find(
        c => c.model.type === 'code' && c.model.sharedModel.getSource().includes('LivePlotCallback'));
    cell.node.scrollIntoView();
    const images = [...cell.node.querySelectorAll('.jp-OutputArea-output img')];
    return {{images: images.length, widths: images.map(img => img.naturalWidth),
             text: [...cell.node.querySelectorAll('.jp-OutputArea-output')].map(o => o.textContent).join('\\n')}};
}}"""


def assert_live_plot_drawn(found: dict):
    assert found["images"] >= 1 and all(w > 0 for w in found["widths"]), \
        f"no loss plot drawn under the LivePlotCallback cell; its output reads: {found['text'][:500]!r}"
    assert not BAD_OUTPUT.search(found["text"]), found["text"][:500]


def test_live_plot_is_redrawn_in_place_in_jupyterlab(lab_page, lab_root):
    """LivePlotCallback's display, updated as training logs, ends as one picture in JupyterLab.

    Driven by hand (no model, seconds): the callback notebooks 01 and 02 train with, fed the logs
    Trainer gives it; the cells are those ``test_figures`` runs under nbclient.
    """
    from test_figures import FRESH_KERNEL_CELLS

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in FRESH_KERNEL_CELLS],
                                  metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    path = lab_root / "live_plot.ipynb"
    nbformat.write(nb, path)
    open_notebook(lab_page, copy_trusted(path, lab_root, "selftest"))
    try:
        run_cells(lab_page, 120)
        found = lab_page.evaluate(LIVE_PLOT_JS)
    finally:
        close_notebook(lab_page)
    assert_live_plot_drawn(found)
    assert found["images"] == 1, f"{found['images']} pictures: the display was not updated in place"


# The live run's cells: everything up to the cell that builds the slider (sections 1-3, the
# explanation tabs among them), and the quiz. Found by their sources, not their positions.
LIVE_UP_TO, LIVE_QUIZ = "LabelBudgetPanel", "quiz("


def live_cells(nb) -> list[int]:
    """Indices of the cells the live run executes: all up to the slider's cell, then the quiz."""
    sources = [cell.source if cell.cell_type == "code" else "" for cell in nb.cells]
    slider = next(i for i, src in enumerate(sources) if LIVE_UP_TO in src)
    quiz = next(i for i, src in enumerate(sources) if LIVE_QUIZ in src)
    return [*range(slider + 1), quiz]


@pytest.fixture(scope="module")
def live_run(jupyterlab, browser, lab_root):
    """Notebook 01, its saved outputs cleared, opened in a fresh tab; its live cells run. Yields the page."""
    (lab_root / "live").mkdir(exist_ok=True)
    nb = nbformat.read(ROOT / "notebooks" / LIVE_NOTEBOOK, as_version=4)
    for cell in nb.cells:  # the page then shows only what this run's kernel sent
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, lab_root / "live" / LIVE_NOTEBOOK)
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(f"{jupyterlab}/lab/tree/live/{LIVE_NOTEBOOK}")
        wait_for(page, f"{CURRENT}.sessionContext.session.kernel.status === 'idle'", 120, "an idle kernel")
        seconds = run_cells(page, 300, live_cells(nb))
        print(f"notebook 01's live cells ran in JupyterLab in {seconds:.0f} s")
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser-01-failure.png"))
        page.close()
        raise
    yield page
    page.close()


def test_notebook_01_widgets_work_in_jupyterlab(live_run):
    page = live_run
    try:
        # every cell is in the page (windowing off), so this reads the whole notebook
        text = page.text_content(".jp-Notebook")
        assert "Traceback" not in text
        outputs = "\n".join(page.locator(".jp-OutputArea-output").all_text_contents())
        bad = BAD_OUTPUT.search(outputs)
        assert not bad, f"an output shows {outputs[bad.start():bad.start() + 80]!r}"

        # the explanation tabs
        tabs = page.locator(".jupyter-widgets .lm-TabBar-tab")
        assert tabs.filter(has_text="Beginner").count() >= 1 and tabs.filter(has_text="Academic").count() >= 1
        # the quiz
        assert page.locator(".widget-radio-box").count() >= 5
        page.locator(".widget-radio-box").first.locator("input").first.check()
        page.locator("button", has_text="Check").first.click()
        page.wait_for_function("() => /Right\\.|Not quite\\./.test(document.body.innerText)", timeout=30_000)

        # the slider: move it and wait for the kernel's answer in the panel below it
        slider = page.locator(".widget-hslider").first
        slider.scroll_into_view_if_needed()
        panel = page.locator(".jp-OutputArea", has=slider).first  # the cell output holding the panel
        assert "trained on 8 labelled notes" in panel.text_content()
        readout = slider.locator(".widget-readout")
        readout.click()
        page.keyboard.press("Control+A")
        page.keyboard.type("32")
        page.keyboard.press("Enter")
        deadline = time.time() + 60
        while "trained on 32 labelled notes: test accuracy" not in panel.text_content():
            assert time.time() < deadline, f"no answer from the kernel: {panel.text_content()[:300]}"
            time.sleep(0.5)
        assert slider.locator(".widget-readout").inner_text().strip() == "32"
        page.screenshot(path=str(ARTIFACTS / "browser-01-slider.png"))
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "browser-01-failure.png"))
        raise
