"""The offline site in headless Chromium: loads from 127.0.0.1 only, shows its progress, becomes
interactive, renders formulas, keeps to its Content-Security-Policy and reports Python errors.

The ``page`` fixture (conftest.py) fails any of these tests on a non-loopback or failed request, a
page/console/worker error or a CSP violation.
"""
from __future__ import annotations

import importlib.util
import json
import re
import urllib.request
from pathlib import Path

import pytest

# The helpers of this folder's conftest.py, imported by path (a bare "import conftest" could pick
# another folder's conftest).
_spec = importlib.util.spec_from_file_location("pyfadml_browser_helpers",
                                               Path(__file__).with_name("conftest.py"))
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)
load_build_module = _helpers.load_build_module
wait_until_ready = _helpers.wait_until_ready

pytestmark = pytest.mark.browser

STAGES = ["Loading Python", "Starting app"]     # Python, numpy and Panel load as one stage (worker.js)


def test_app_becomes_interactive_from_loopback_only(app_page, problems, server_url):
    assert app_page.evaluate("document.body.dataset.appState") == "ready"
    assert problems.blocked == [] and problems.failed == []
    urls = app_page.evaluate(
        "performance.getEntriesByType('resource').map(e => e.name)")
    assert urls and all(u.startswith(server_url) for u in urls)
    # the Python document answers: the worker linked it and nothing is pending
    assert app_page.evaluate("document.body.dataset.busy") == "0"
    assert app_page.locator(".pyfadml-root").count() >= 1


def test_worker_requests_are_seen_and_come_from_the_site(app_page, problems):
    # Pyodide's core and the wheels are fetched by the Web Worker; the fixture saw them.
    assert problems.request_count >= 10
    assert app_page.evaluate("window.pyfadmlTimings.ready") > 0


def test_loading_progress_is_shown_while_python_loads(page, server_url):
    page.goto(server_url)
    loading = page.locator("#pyfadml-loading")
    stage = page.locator("#pyfadml-loading-stage")
    if page.evaluate("document.body.dataset.appState") == "loading":
        assert loading.is_visible()
        assert stage.inner_text() in STAGES
        assert page.locator("#pyfadml-loading-bar").is_visible()
    wait_until_ready(page)
    seen = [s["stage"] for s in page.evaluate("window.pyfadmlStages")]
    assert seen == STAGES
    assert not loading.is_visible()
    assert page.evaluate("document.getElementById('pyfadml-loading-bar').value") == 1


def test_layout_is_shown_before_python_is_ready(page, server_url):
    """The pre-rendered layout (or the static skeleton) is on screen while Python loads."""
    page.goto(server_url)
    page.locator(".pyfadml-root, #pyfadml-skeleton").first.wait_for(state="visible")
    wait_until_ready(page)


def test_sections_can_be_navigated(app_page, ui):
    """The shell's navigation lists the lecture's sections and switches between them."""
    from pyfadml.app.shell import SECTIONS

    live = [s.title for s in SECTIONS if s.factory]
    assert len(SECTIONS) >= 2 and live
    for section in SECTIONS:
        assert ui.section(section.title).is_visible(), section.title
    assert _current_section(app_page) == live[0]
    headings_first = _headings(app_page)
    for title in live[1:] + live[:1]:
        ui.click(title)
        ui.wait_for_python()
        app_page.locator(".current .bk-btn").filter(has_text=title).wait_for(timeout=30_000)
        assert _current_section(app_page) == title
        if title != live[0]:
            assert _headings(app_page) != headings_first, f"{title}: the content did not change"


def _current_section(page) -> str:
    return page.locator(".current .bk-btn").first.inner_text().strip()


def _headings(page) -> list[str]:
    return [t.strip() for t in page.locator("h1, h2, h3").all_inner_texts() if t.strip()]


def test_formulas_are_rendered_offline(app_page):
    """Formulas are typeset by Bokeh's bundled MathJax (SVG output), not left as TeX source."""
    math = app_page.locator("mjx-container")
    math.first.wait_for(state="attached", timeout=20_000)
    assert math.count() >= 1
    assert math.first.locator("svg").count() >= 1


def test_csp_is_sent_as_header_and_meta(server_url, site_dir):
    build = load_build_module()
    with urllib.request.urlopen(server_url) as response:
        header = response.headers["Content-Security-Policy"]
        html = response.read().decode()
    assert header == build.CSP
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert meta and meta.group(1) == build.CSP
    with urllib.request.urlopen(server_url + "pyodide/pyodide.asm.wasm") as response:
        assert response.headers["Content-Type"] == "application/wasm"
        assert response.headers["Content-Security-Policy"] == build.CSP


def test_no_csp_violation_while_using_the_app(app_page, problems):
    app_page.wait_for_timeout(500)
    assert app_page.evaluate("window.__cspViolations") == []
    assert problems.csp_violations == []


def test_a_python_failure_is_shown_not_frozen(page, server_url, problems):
    """If Python cannot start the app, the page says why (and the state says 'error')."""
    problems.allow(r"NoSuchModuleForTheTest|Python failed to start")

    def broken_config(route):
        config = json.loads(route.fetch().text())
        config["app"] = "pyfadml.NoSuchModuleForTheTest:create_app"
        route.fulfill(body=json.dumps(config), content_type="application/json")

    page.route("**/config.json", broken_config)
    page.goto(server_url)
    page.locator('body[data-app-state="error"]').wait_for(state="attached", timeout=60_000)
    error = page.locator("#pyfadml-error")
    assert error.is_visible()
    assert "NoSuchModuleForTheTest" in error.inner_text()
