"""A real browser: JupyterLab in headless Chromium runs notebook 01 and its widgets work.

Starts JupyterLab on a free loopback port (no token), opens a copy of
``01_beginner_cats_and_dogs.ipynb``, runs all cells, checks that the slider, the
explanation tabs and the quiz render (no "Error displaying widget"), moves the slider and
waits for the answer the kernel writes back. A screenshot is saved to ``test-artifacts/``.

Uses Debian's Chromium (``/usr/bin/chromium``) through Playwright; it never downloads a
browser. Skipped, with the reason, only when no Chromium is installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
NOTEBOOK = "01_beginner_cats_and_dogs.ipynb"

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path):
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, tmp_path / NOTEBOOK)
    port = free_port()
    log = open(tmp_path / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
         "--allow-root", f"--ServerApp.root_dir={tmp_path}", "--LabApp.expose_app_in_browser=True",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"}, cwd=tmp_path)
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
        pytest.fail(f"JupyterLab did not start: {(tmp_path / 'jupyterlab.log').read_text()[-2000:]}")
    yield url
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


NOTEBOOK_JS = "window.jupyterapp.shell.currentWidget"


def wait_for(page, expression: str, timeout_s: float, what: str):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if page.evaluate(f"() => {{ try {{ return Boolean({expression}); }} catch (e) {{ return false; }} }}"):
            return
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def test_notebook_01_widgets_work_in_jupyterlab(jupyterlab):
    from playwright.sync_api import sync_playwright

    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{jupyterlab}/lab/tree/{NOTEBOOK}")
            wait_for(page, f"{NOTEBOOK_JS}.sessionContext.session.kernel.status === 'idle'", 120, "an idle kernel")

            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            cells = f"{NOTEBOOK_JS}.content.widgets.filter(c => c.model.type === 'code')"
            wait_for(page, f"{cells}.every(c => c.model.executionCount !== null) && "
                           f"{NOTEBOOK_JS}.sessionContext.session.kernel.status === 'idle'", 420, "all cells to run")

            text = page.text_content(".jp-Notebook")  # all cells, also those scrolled out of view
            assert "Error displaying widget" not in text
            assert "Traceback" not in text

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
            page.screenshot(path=str(artifacts / "browser-01-slider.png"), full_page=False)
        except Exception:
            page.screenshot(path=str(artifacts / "browser-01-failure.png"), full_page=False)
            raise
        finally:
            browser.close()
