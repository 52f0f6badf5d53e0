"""Fixtures that drive the built offline site in headless Debian Chromium.

The page contract (set by pyfadml/app/web/index.js):

- ``document.body.dataset.appState``: "loading" -> "ready" (app interactive) or "error"
  (the error text is then shown in ``#pyfadml-error``).
- ``document.body.dataset.busy``: "1" while widget changes are queued or running in Python,
  "0" when Python has answered every change (see :func:`wait_for_python`).
- ``#pyfadml-loading``: the loading screen (stage name in ``#pyfadml-loading-stage``, a
  ``<progress id="pyfadml-loading-bar">``); ``window.pyfadmlStages`` lists the stages seen.

Fixtures: ``site_dir`` (session), ``server_url`` (session), ``browser`` (session),
``page`` (fresh context, every request checked), ``app_page`` (``page`` on the site, app ready).
``page`` fails the test at teardown on any non-loopback request, failed request (network error or
HTTP >= 400), page error, console error, worker error or CSP violation.  A test that provokes an
error on purpose declares it with ``problems.allow(regex)``.

Never use ``page.wait_for_function``: its predicate runs through eval, which the site's CSP
forbids (and the attempt counts as a CSP violation).  Wait on locators (``body[data-busy="0"]``)
or poll attributes instead; ``page.evaluate`` / ``locator.evaluate`` are fine.

Helpers: fixture ``ui`` (``ui.widget(label)``, ``ui.click(label)``, ``ui.section(label)``,
``ui.text(selector)``, ``ui.wait_for_python()``), also plain functions in this module.  Playwright's CSS and text selectors pierce the open shadow roots that
Bokeh/Panel render into, so plain selectors work.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("PYFADML_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
READY_TIMEOUT_MS = 60_000
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


def load_build_module():
    """Import the top-level build.py (stdlib only) as a module: one source for CSP and MIME types."""
    spec = importlib.util.spec_from_file_location("pyfadml_build", ROOT / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("pyfadml_build", module)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------------
# site and server
# ---------------------------------------------------------------------------------------------

def _site_is_stale(site: Path) -> bool:
    stamp = site / "SHA256SUMS"
    if not (site / "index.html").is_file() or not stamp.is_file():
        return True
    if os.environ.get("PYFADML_SITE_REUSE") == "1":   # tests/run.sh has just built it
        return False
    built = stamp.stat().st_mtime
    sources = [ROOT / "build.py", ROOT / "pyproject.toml", *ROOT.joinpath("pyfadml").rglob("*")]
    return any(p.is_file() and "__pycache__" not in p.parts and p.stat().st_mtime > built
               for p in sources)


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory) -> Path:
    """A private copy of the built site/ (built first when missing or older than the sources;
    ``PYFADML_SITE=/path/to/site`` uses that folder instead, as it is).

    The copy is taken under build.py's lock, so a build started meanwhile by someone else in the
    same checkout cannot change the files under a running test.
    """
    if os.environ.get("PYFADML_SITE"):            # a site built elsewhere, used as it is
        return Path(os.environ["PYFADML_SITE"]).resolve()
    site = ROOT / "site"
    if _site_is_stale(site):
        result = subprocess.run([sys.executable, str(ROOT / "build.py")], cwd=ROOT,
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.fail(f"build.py failed (exit {result.returncode}):\n{result.stdout[-4000:]}"
                        f"\n{result.stderr[-4000:]}", pytrace=False)
    copy = tmp_path_factory.mktemp("site") / "site"
    with load_build_module().build_lock():
        assert (site / "index.html").is_file(), "build.py did not produce site/index.html"
        shutil.copytree(site, copy)
    return copy


@pytest.fixture(scope="session")
def server_url(site_dir: Path):
    """Serve site/ on 127.0.0.1 (free port) with the site's MIME types and CSP header."""
    build = load_build_module()
    server = build.make_server(site_dir, host="127.0.0.1", port=0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}/"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


# ---------------------------------------------------------------------------------------------
# browser and page
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium, one per test module.

    Not session-wide: Playwright's sync API keeps an asyncio loop marked as running in the main
    thread while it is open, which would break later tests that call asyncio.run().
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (tests/run.sh does it)",
                    pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class Problems:
    """Everything that went wrong while a page was open; the ``page`` fixture fails on any."""

    def __init__(self):
        self.blocked: list[str] = []          # non-loopback requests (aborted)
        self.failed: list[str] = []           # network failures and HTTP >= 400
        self.page_errors: list[str] = []
        self.console_errors: list[str] = []
        self.worker_errors: list[str] = []
        self.csp_violations: list[str] = []
        self._allowed: list[re.Pattern] = []
        self.request_count = 0

    def allow(self, pattern: str) -> None:
        """Tolerate problems whose text matches ``pattern`` (for tests that provoke errors)."""
        self._allowed.append(re.compile(pattern))

    def report(self) -> list[str]:
        lines = []
        for kind in ("blocked", "failed", "page_errors", "console_errors", "worker_errors",
                     "csp_violations"):
            for text in getattr(self, kind):
                if not any(p.search(text) for p in self._allowed):
                    lines.append(f"{kind}: {text}")
        return lines


def _is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return (parts.hostname or "") in LOOPBACK_HOSTS


_CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`);
});
"""


@pytest.fixture
def problems() -> Problems:
    return Problems()


@pytest.fixture
def page(browser, problems: Problems, request):
    """A page in a fresh browser context that records and blocks everything non-local.

    1280x900 unless the test is marked ``@pytest.mark.browser_context(**options)`` (Playwright's
    ``new_context`` options, e.g. :data:`PIXEL_7` for a phone)."""
    marker = request.node.get_closest_marker("browser_context")
    context = browser.new_context(**(marker.kwargs if marker else {"viewport": {"width": 1280, "height": 900}}))
    context.add_init_script(_CSP_LISTENER)

    def route(route):
        url = route.request.url
        problems.request_count += 1
        if _is_loopback(url):
            route.continue_()
        else:
            problems.blocked.append(url)
            route.abort("blockedbyclient")

    context.route("**/*", route)
    page = context.new_page()

    def on_request_failed(request):
        # A stylesheet <link> that BokehJS removes (a view re-rendered, or a section the idle prebuild is still
        # putting into the page when the test ends) before it has loaded is cancelled, net::ERR_ABORTED: not a
        # missing file (that is an HTTP error, below) nor a blocked one.
        if urlsplit(request.url).path.endswith(".css") and "ERR_ABORTED" in (request.failure or ""):
            return
        if not any(request.url == b for b in problems.blocked):
            problems.failed.append(f"{request.url}: {request.failure}")

    def on_response(response):
        if response.status >= 400:
            problems.failed.append(f"{response.url}: HTTP {response.status}")

    def on_console(msg):
        if msg.type == "error":
            problems.console_errors.append(msg.text)
            if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text:
                problems.csp_violations.append(msg.text)

    def on_worker(worker):
        worker.on("console", lambda msg: msg.type == "error"
                  and problems.worker_errors.append(msg.text))

    page.on("requestfailed", on_request_failed)
    page.on("response", on_response)
    page.on("pageerror", lambda exc: problems.page_errors.append(str(exc)))
    page.on("console", on_console)
    page.on("worker", on_worker)
    page.problems = problems
    yield page
    try:
        if not page.is_closed():
            problems.csp_violations.extend(page.evaluate("window.__cspViolations || []"))
    except Exception:  # page navigated away or crashed: the other records say why
        pass
    context.close()
    found = problems.report()
    if found:
        pytest.fail("the page had problems:\n  " + "\n  ".join(found), pytrace=False)


def wait_until_ready(page, timeout_ms: int = READY_TIMEOUT_MS) -> None:
    """Wait for appState 'ready'; an 'error' state fails at once with the error the page shows.

    Waits use selectors, never ``wait_for_function``: the site's CSP forbids the eval that
    Playwright's predicate polling needs.
    """
    page.locator('body[data-app-state="ready"], body[data-app-state="error"]').wait_for(
        state="attached", timeout=timeout_ms)
    state = page.evaluate("document.body.dataset.appState")
    if state == "error":
        text = page.evaluate("(document.getElementById('pyfadml-error') || {}).innerText")
        pytest.fail(f"the app failed to start:\n{text}", pytrace=False)


@pytest.fixture
def app_page(page, server_url: str):
    """``page`` with the site loaded and the Panel app interactive (appState == 'ready')."""
    page.goto(server_url)
    wait_until_ready(page)
    return page


# ---------------------------------------------------------------------------------------------
# helpers for Panel widgets (rendered by Bokeh inside open shadow roots)
# ---------------------------------------------------------------------------------------------

_MODULES_JS = """(names) => new Promise((resolve) => {
  const w = window.pyfadmlWorker;
  const on = (e) => {
    if (e.data.type === "modules" || e.data.type === "error") { w.removeEventListener("message", on); resolve(e.data); }
  };
  w.addEventListener("message", on);
  w.postMessage({ type: "modules", importing: names });
})"""


def worker_modules(page, names=()) -> dict:
    """The worker's {type: "modules"} answer after importing ``names``: ``files`` of every imported module and
    the imports that ``missed`` the modules loaded at start (an error message instead if an import failed)."""
    return page.evaluate(_MODULES_JS, list(names))


def wait_for_python(page, timeout_ms: int = 30_000) -> None:
    """Wait until every widget change sent to the worker has been handled by Python."""
    page.locator('body[data-busy="0"]').wait_for(state="attached", timeout=timeout_ms)


def widget(page, label: str):
    """The visible Bokeh input group (slider, select, text input, checkbox...) whose title is ``label``.

    Returns a Locator of the group: use ``.locator('select')``, ``.locator('input')``,
    ``.locator('.noUi-handle')`` on it.  The match is on the title text, ignoring a trailing
    ``: value`` that sliders show.
    """
    pattern = re.compile(r"^\s*" + re.escape(label) + r"\s*(:.*)?$", re.S)
    title = page.locator("label, .bk-slider-title").filter(has_text=pattern)
    return page.locator(".bk-input-group:visible").filter(has=title).first


def click_button(page, label: str) -> None:
    """Click the visible (Panel/Bokeh) button whose text is ``label`` (hidden sections have theirs)."""
    exact = re.compile(r"^\s*" + re.escape(label) + r"\s*$")
    page.locator("button.bk-btn:visible").filter(has_text=exact).first.click()


def section_link(page, label: str):
    """The navigation entry (link, button or tab) of the section named ``label``."""
    exact = re.compile(r"^\s*" + re.escape(label) + r"\s*$")
    return page.locator("a, button, .bk-tab, [role=tab]").filter(has_text=exact).first


def text_of(page, selector: str) -> str:
    """innerText of the first element matching ``selector`` (shadow roots pierced)."""
    return page.locator(selector).first.inner_text()


def attr(page, selector: str, name: str) -> str | None:
    """Attribute ``name`` of the first element matching ``selector`` (shadow roots pierced)."""
    return page.locator(selector).first.get_attribute(name)


def wait_attr(page, selector: str, name: str, predicate, timeout_s: float = 30.0, what: str = "") -> str:
    """Poll attribute ``name`` of the first ``selector`` until ``predicate(value)``; return the value.

    (The site's CSP rules out ``wait_for_function``.)  An element not in the page yet counts as no value.
    Raises AssertionError naming ``what`` and the last value seen on timeout.
    """
    deadline = time.monotonic() + timeout_s
    value = None
    while True:
        loc = page.locator(selector)
        if loc.count():
            value = loc.first.get_attribute(name)
            if value is not None and predicate(value):
                return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what or selector} "
                                 f"([{name}] of {selector}); last value {value!r}")
        page.wait_for_timeout(100)


def click(page, label: str) -> None:
    """Click the visible button whose text is ``label``, then wait until Python has handled it."""
    exact = re.compile(r"^\s*" + re.escape(label) + r"\s*$")
    buttons = page.locator("button.bk-btn").filter(has_text=exact)
    for k in range(buttons.count()):
        if buttons.nth(k).is_visible():
            buttons.nth(k).click()
            break
    else:
        raise AssertionError(f"no visible button {label!r}")
    wait_for_python(page)


def select(page, label: str, option_label: str) -> None:
    """Choose ``option_label`` in the select titled ``label``, then wait for Python."""
    widget(page, label).locator("select").select_option(label=option_label)
    wait_for_python(page)


def type_into(page, label: str, text: str) -> None:
    """Type ``text`` into the input titled ``label`` (replacing what is there) and press Enter."""
    box = widget(page, label).locator("input").first
    box.fill(text)
    box.press("Enter")
    wait_for_python(page)


def open_section(page, title: str, ready: str | None = None, timeout_ms: int = 120_000) -> None:
    """Click the navigation entry ``title``; wait until ``ready`` (a selector inside the section), if
    given, is visible, and until Python has answered."""
    section_link(page, title).click()
    if ready:
        page.locator(ready).first.wait_for(state="visible", timeout=timeout_ms)
    wait_for_python(page, timeout_ms)


def live(page, key: str) -> str:
    """The selector of a live-training controller's status line (``data-state``, ``data-step``, ...)."""
    return f'[data-testid="{key}-live"]'


def live_state(page, key: str, name: str = "data-state") -> str | None:
    return attr(page, live(page, key), name)


HELPERS = {f.__name__: f for f in (widget, click_button, section_link, text_of, wait_for_python, attr, wait_attr,
                                    click, select, type_into, open_section, live, live_state)}


class UI:
    """Every helper above bound to one page: ``ui.click("Play")``, ``ui.wait_attr(sel, "data-step", ...)``."""

    def __init__(self, page):
        self.page = page

    def __getattr__(self, name):
        if name not in HELPERS:
            raise AttributeError(f"UI has no helper {name!r}; the helpers are {sorted(HELPERS)}")
        return functools.partial(HELPERS[name], self.page)

    def section(self, label: str):
        return section_link(self.page, label)

    def text(self, selector: str) -> str:
        return text_of(self.page, selector)


@pytest.fixture
def ui(app_page) -> UI:
    """Helpers bound to ``app_page`` (so a test needs no import from this conftest)."""
    return UI(app_page)


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


# ---------------------------------------------------------------------------------------------
# helpers for grids, plots and navigation (generic: any section, any test)
#
# The shell keeps every section it has built in the page and hides the ones not shown, so a
# selector that several sections match (a "Play" button, a "Learning rate" select) must ask for
# the visible element: the helpers below (and ``click_button``/``widget`` above) do.
# ---------------------------------------------------------------------------------------------

def _grid_caption(grid_id: str) -> str:
    return f".cap[data-grid='{grid_id}']"


def grid_values(page, grid_id: str):
    """A PixelEditor's pixels as a NumPy array, from its caption's ``data-values``."""
    import numpy as np

    text = page.locator(_grid_caption(grid_id)).first.get_attribute("data-values")
    return np.array([[float(v) for v in row.split()] for row in text.split(";")])


def grid_edits(page, grid_id: str) -> int:
    """How many edits clicks made on a PixelEditor (its caption's ``data-edits``)."""
    return int(page.locator(_grid_caption(grid_id)).first.get_attribute("data-edits"))


def click_grid_cell(page, grid_id: str, row: int, col: int) -> None:
    """Click the centre of cell (row, col) of the PixelEditor ``grid_id`` (its shape is read from
    the caption's ``data-shape``), as a user's mouse would."""
    h, w = (int(n) for n in page.locator(_grid_caption(grid_id)).first.get_attribute("data-shape").split("x"))
    grid = page.locator(f".pe-{grid_id}").first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    cw, ch = (box["width"] - 2) / w, (box["height"] - 2) / h
    page.mouse.click(box["x"] + 1 + (col + 0.5) * cw, box["y"] + 1 + (row + 0.5) * ch)


def click_plot(page, selector: str, fx: float, fy: float) -> None:
    """Click the Bokeh plot ``selector`` at fractions (fx, fy) of its width and height."""
    plot = page.locator(selector).first
    plot.scroll_into_view_if_needed()
    box = plot.bounding_box()
    plot.click(position={"x": fx * box["width"], "y": fy * box["height"]})


# ---------------------------------------------------------------------------------------------
# helpers for sliders, text areas and checkboxes (added with the CNN section's tests; generic)
# ---------------------------------------------------------------------------------------------

def slider_key(page, label: str, key: str) -> None:
    """Press ``key`` (e.g. "Home", "End", "ArrowRight") on the handle of the slider titled ``label``,
    then wait for Python: the way to reach a slider's extremes."""
    slide(page, label, key)


def fill_text_area(page, label: str, text: str) -> None:
    """Replace the text of the text area titled ``label`` and leave it (Tab), as a student does; then wait
    for Python."""
    box = widget(page, label).locator("textarea").first
    box.fill(text)
    box.press("Tab")
    wait_for_python(page)


def set_checkbox(page, label: str, on: bool = True) -> None:
    """Tick (or untick) the visible checkbox whose label starts with ``label``, then wait for Python."""
    text = page.locator(".bk-label").filter(has_text=re.compile(r"^\s*" + re.escape(label)))
    box = page.locator(".bk-Checkbox:visible").filter(has=text).locator("input[type=checkbox]").first
    box.set_checked(on)
    wait_for_python(page)


HELPERS.update({f.__name__: f for f in (grid_values, grid_edits, click_grid_cell, slider_key, fill_text_area,
                                        set_checkbox)})


# ---------------------------------------------------------------------------------------------
# helpers added for the RNN & LSTM section: tabs inside a section, data- attributes, sliders
# ---------------------------------------------------------------------------------------------

def tab(page, label: str) -> None:
    """Show the tab (of a section's ``pn.Tabs``) whose title contains ``label``, then wait for Python."""
    page.locator(".bk-tab:visible").filter(has_text=label).first.click()
    wait_for_python(page, 60_000)


def dataset(page, selector: str) -> dict:
    """Every ``data-`` attribute of the first element matching ``selector``, as ``element.dataset`` (camelCase
    keys: ``data-eval-step`` -> ``evalStep``)."""
    return page.locator(selector).first.evaluate("e => Object.assign({}, e.dataset)")


def slide(page, label: str, key: str, times: int = 1) -> None:
    """Press ``key`` (ArrowRight, ArrowLeft, Home, End) ``times`` on the slider titled ``label``, then wait
    for Python (a throttled slider sends its value when the key is released)."""
    handle = widget(page, label).locator(".noUi-handle").first
    handle.focus()
    for _ in range(times):
        handle.press(key)
    wait_for_python(page)


def slider_value(page, label: str) -> str:
    """The value a slider titled ``label`` shows after its title (``"Hidden units: 16"`` -> ``"16"``)."""
    return widget(page, label).locator(".bk-slider-title").first.inner_text().split(":")[-1].strip()


HELPERS.update({f.__name__: f for f in (tab, dataset, slide, slider_value)})


# ---------------------------------------------------------------------------------------------
# added with the VAE section's tests (issue 9): a stat's value, training to a step; the ``ui`` fixture
# also gets the grid and plot helpers above
# ---------------------------------------------------------------------------------------------

def value(page, testid: str) -> float:
    """The full value (``data-value``) of the stat ``[data-testid=testid]``."""
    return float(attr(page, f'[data-testid="{testid}"]', "data-value"))


def train_to(page, key: str, steps: int, timeout_s: float = 240.0) -> int:
    """Press Play, wait until controller ``key`` is at ``steps`` steps or more, press Pause; returns the step
    it paused at (everything redrawn, Python idle)."""
    sel = live(page, key)
    click(page, "Play")
    wait_attr(page, sel, "data-step", lambda v: int(v) >= steps, timeout_s=timeout_s, what=f"{steps} steps")
    click(page, "Pause")
    wait_attr(page, sel, "data-state", lambda v: v == "paused", what="paused")
    wait_for_python(page)
    return int(attr(page, sel, "data-step"))


HELPERS.update({f.__name__: f for f in (value, train_to, click_plot, click_grid_cell, grid_values, grid_edits)})


# ---------------------------------------------------------------------------------------------
# branch workio (issue 12): links that hold the scene, downloads and uploads
# ---------------------------------------------------------------------------------------------

def open_scene(page, base_url: str, fragment: str) -> None:
    """Open the site at ``base_url#fragment`` (the address holding a scene) and wait until it is ready."""
    page.goto(base_url + "#" + fragment)
    wait_until_ready(page)
    wait_for_python(page)


def download(page, css_class: str, folder) -> Path:
    """Click the visible download button (a Panel FileDownload) with CSS class ``css_class``; save the file
    into ``folder`` under the name the page gave it; return its path."""
    with page.expect_download(timeout=60_000) as info:
        page.locator(f".{css_class}:visible button").first.click()
    d = info.value
    path = Path(folder) / d.suggested_filename
    d.save_as(path)
    wait_for_python(page)
    return path


def upload(page, css_class: str, path) -> None:
    """Give the file ``path`` to the visible file input with CSS class ``css_class``, then wait for Python."""
    page.locator(f".{css_class}:visible input[type=file]").first.set_input_files(str(path))
    page.wait_for_timeout(200)
    wait_for_python(page)


HELPERS.update({f.__name__: f for f in (download, upload)})


# ---------------------------------------------------------------------------------------------
# added on branch "lecture" (issue 13): the n-th of several visible buttons with the same label
# (screen 3 of the CNN section has two live trainings, each with its own Play)
# ---------------------------------------------------------------------------------------------

def click_nth(page, label: str, n: int) -> None:
    """Click the ``n``-th (0-based) visible button whose text is ``label``, then wait for Python."""
    exact = re.compile(r"^\s*" + re.escape(label) + r"\s*$")
    page.locator("button.bk-btn:visible").filter(has_text=exact).nth(n).click()
    wait_for_python(page)


HELPERS.update({"click_nth": click_nth})


# ---------------------------------------------------------------------------------------------
# added on branch a11y (issue 15): phone emulation, horizontal overflow, the accessibility layer
# ---------------------------------------------------------------------------------------------

PIXEL_7 = dict(   # Playwright's "Pixel 7" descriptor (playwright.devices), without its browser type
    user_agent="Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/159.0.8154.6 Mobile Safari/537.36",
    viewport={"width": 412, "height": 839}, screen={"width": 412, "height": 915}, device_scale_factor=2.625,
    is_mobile=True, has_touch=True)


def pytest_configure(config):
    config.addinivalue_line("markers", "browser_context(**options): Playwright context options of the page fixture")


def overflow(page) -> dict:
    """How wide the document is against the window (``scroll > width``: the page scrolls sideways), and the
    visible elements that stick out past the window's right edge (shadow roots pierced), widest first."""
    return page.evaluate("""() => {
      const width = window.innerWidth, out = [];
      const walk = (root) => { for (const el of root.querySelectorAll("*")) {
        if (el.shadowRoot) walk(el.shadowRoot);
        const r = el.getBoundingClientRect();
        if (el.closest(".sr, .pyfadml-visually-hidden")) continue;    // clipped text for screen readers
        if (r.width && r.right > width + 1 && el.checkVisibility && el.checkVisibility())
          out.push({right: Math.round(r.right), el: (el.className && el.className.baseVal === undefined
                    ? String(el.className) : el.tagName).slice(0, 80)});
      } };
      walk(document);
      out.sort((a, b) => b.right - a.right);
      return {scroll: document.documentElement.scrollWidth, width: width, outside: out.slice(0, 8)};
    }""")


def figures_off_shape(page) -> list[dict]:
    """The visible figures that do not fit a narrow page: a canvas whose right edge passes the window's or
    that of the box it would scroll in (its card: the nearest ancestor with overflow-x auto or scroll), or a
    canvas drawn out of the figure's own shape (width / height more than 2% from the width / height set in
    Python)."""
    return page.evaluate("""() => {
      const out = [], width = window.innerWidth;
      const up = (n) => n.parentNode && n.parentNode.nodeType === 11 ? n.parentNode.host : n.parentNode;
      const walk = (root) => { for (const el of root.querySelectorAll("*")) {
        if (el.shadowRoot) walk(el.shadowRoot);
        if (!el.classList.contains("bk-Figure") || !el.checkVisibility()) continue;
        const canvas = el.shadowRoot && el.shadowRoot.querySelector(".bk-Canvas");
        if (!canvas) continue;
        const c = canvas.getBoundingClientRect();
        let box = up(el);
        while (box && box.nodeType === 1 && !/auto|scroll/.test(getComputedStyle(box).overflowX)) box = up(box);
        const limit = box && box.nodeType === 1 ? box.getBoundingClientRect().left + box.clientLeft + box.clientWidth : width;
        const view = [...Bokeh.index.all_views()].find((v) => v.el === el);     // its model: the set size
        const shape = view.model.width / view.model.height;
        if (c.right > Math.min(width, limit) + 1 || Math.abs(c.width / c.height - shape) > 0.02 * shape)
          out.push({cls: String(el.className).slice(0, 60), right: Math.round(c.right), limit: Math.round(limit),
                    size: `${Math.round(c.width)}x${Math.round(c.height)}`, shape: Math.round(shape * 1000) / 1000});
      } };
      walk(document);
      return out;
    }""")


def a11y_fix(page) -> None:
    """Run the page's accessibility layer now (index.js ``pyfadmlA11y.fix``) instead of waiting its 400 ms."""
    page.evaluate("window.pyfadmlA11y && window.pyfadmlA11y.fix()")


HELPERS.update({f.__name__: f for f in (overflow, figures_off_shape, a11y_fix)})
