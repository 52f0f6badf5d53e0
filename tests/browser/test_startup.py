"""Start-up (issue 10) as the page shows it: the rest of the standard library arrives only when an import needs
it, a click Python takes long to answer shows "Python is working…", and Pause is said before the redraw.

Speed itself is measured by tests/bench/bench_site.py, never asserted here.
"""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

MODULES = """(names) => new Promise((resolve) => {
  const w = window.pyfadmlWorker;
  const on = (e) => {
    if (e.data.type === "modules" || e.data.type === "error") { w.removeEventListener("message", on); resolve(e.data); }
  };
  w.addEventListener("message", on);
  w.postMessage({ type: "modules", importing: names });
})"""


def test_the_rest_of_the_stdlib_is_fetched_only_when_an_import_needs_it(app_page):
    page = app_page
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    answer = page.evaluate(MODULES, [])
    assert answer["type"] == "modules"
    assert not any("/lib/python312_rest.zip/" in f for f in answer["files"])
    assert not any("python_stdlib_rest.zip" in url for url in requested)
    answer = page.evaluate(MODULES, ["xml.dom.minidom", "email.mime.text", "encodings.cp1252"])
    assert answer["type"] == "modules", answer
    rest = [f for f in answer["files"] if f.startswith("/lib/python312_rest.zip/")]
    assert any(f.endswith("xml/dom/minidom.pyc") for f in rest)          # a package missing from the core
    assert any(f.endswith("email/mime/text.pyc") for f in rest)          # a subpackage of a core package
    assert any(f.endswith("encodings/cp1252.pyc") for f in rest)         # a codec (found through __path__)
    assert sum("python_stdlib_rest.zip" in url for url in requested) == 1


def test_a_slow_first_open_says_python_is_working_then_shows_the_section(app_page):
    """Opening the CNN at once (before the idle prebuild has built it) takes Python a while: the pill says so."""
    page = app_page
    pill = page.locator('[data-testid="working"]')
    assert pill.is_hidden()
    page.locator("button.bk-btn").filter(has_text="Convolution & CNN").first.click()
    pill.wait_for(state="visible", timeout=10_000)
    assert "Python is working" in pill.inner_text()
    page.locator('[data-testid="step-through"]').first.wait_for(state="visible", timeout=120_000)
    pill.wait_for(state="hidden", timeout=60_000)
    assert page.evaluate("document.body.dataset.working") == "0"
