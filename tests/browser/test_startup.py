"""Start-up (issue 10) as the page shows it: the rest of the standard library arrives only when an import needs
it, a click Python takes long to answer shows "Python is working…", and Pause is said before the redraw.

Speed itself is measured by tests/bench/bench_site.py, never asserted here.
"""
from __future__ import annotations

import pytest
from conftest import worker_modules

pytestmark = pytest.mark.browser


def test_the_rest_of_the_stdlib_is_fetched_only_when_an_import_needs_it(app_page):
    page = app_page
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    answer = worker_modules(page, [])
    assert answer["type"] == "modules"
    assert not any("/lib/python312_rest.zip/" in f for f in answer["files"])
    assert not any("python_stdlib_rest.zip" in url for url in requested)
    answer = worker_modules(page, ["xml.dom.minidom", "email.mime.text", "encodings.cp1252"])
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
    # Python may still be answering the page's first messages when it is ready (the pill can flash then)
    pill.wait_for(state="hidden", timeout=30_000)
    page.locator("button.bk-btn").filter(has_text="Convolution & CNN").first.click()
    pill.wait_for(state="visible", timeout=10_000)
    assert "Python is working" in pill.inner_text()
    page.locator('[data-testid="step-through"]').first.wait_for(state="visible", timeout=120_000)
    # Python answers, the pill goes (it may come back while the idle prebuild keeps Python busy: read both at once)
    page.locator('body[data-working="0"]').wait_for(state="attached", timeout=60_000)
    assert page.evaluate("""() => [document.body.dataset.working,
                                   document.querySelector('[data-testid="working"]').hidden]""") in (["0", True], ["1", False])


def test_a_module_left_out_of_a_wheel_costs_one_download_never_an_import_error(app_page):
    """Each eager wheel ships the modules the page imports; any other module of it is one download of the wheel's
    rest archive away (sha256-checked, unpacked into site-packages): a subpackage whose folder is not there yet
    (numpy.polynomial), a compiled extension (numpy._core._umath_tests), a module beside imported ones
    (panel.chat.langchain); a second module of the same rest costs nothing.  The start itself misses no module
    of an eager wheel (wheels-core.txt also holds the imports that fail in Pyodide, e.g. bokeh.server.contexts)."""
    page = app_page
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    rests = {m for entry in page.evaluate("fetch('config.json').then((r) => r.json())")["wheelRest"].values()
             for m in entry["modules"]}
    answer = worker_modules(page, [])
    assert not set(answer["missed"]) & rests and not any("-rest.zip" in url for url in requested)
    site_packages = "/lib/python3.12/site-packages/"
    assert not any(f.startswith(site_packages + "numpy/polynomial/") for f in answer["files"])
    answer = worker_modules(page, ["numpy.polynomial.legendre", "numpy._core._umath_tests", "numpy.f2py"])
    assert answer["type"] == "modules", answer
    files = answer["files"]
    assert site_packages + "numpy/polynomial/legendre.pyc" in files and site_packages + "numpy/f2py/__init__.pyc" in files
    assert any(f.startswith(site_packages + "numpy/_core/_umath_tests.") and f.endswith(".so") for f in files)
    assert [m for m in answer["missed"] if m in rests] == ["numpy.polynomial"]     # fetched numpy's rest, once
    assert sum("numpy-2.0.2-rest.zip" in url for url in requested) == 1
    answer = worker_modules(page, ["panel.chat.langchain"])
    assert answer["type"] == "modules", answer
    assert site_packages + "panel/chat/langchain.pyc" in answer["files"]
    assert [m for m in answer["missed"] if m in rests] == ["numpy.polynomial", "panel.chat.langchain"]
    assert [url.rsplit("/", 1)[1] for url in requested if "-rest.zip" in url] == [
        "numpy-2.0.2-rest.zip", "panel-1.9.4-rest.zip"]
