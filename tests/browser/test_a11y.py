"""Accessibility of the built site (issue 15): an axe-core audit of every section, before and after training.

axe-core (WCAG 2.0/2.1 A and AA rules) comes from the npm tarball that tests/run.sh fetches into
``.cache/npm`` (version and sha256 pinned below); it is never part of the site. The audit runs axe's source
with ``page.evaluate`` (the DevTools protocol, which the site's CSP does not apply to: no script tag, no eval
in the page, so the ``page`` fixture's CSP check still holds); axe itself needs no eval.

A view is a section, or a screen/tab inside one; each is audited once shown and Python idle, then again after
its training has run (Play, some steps, Pause), so the live status, stats and redrawn plots are audited too.
The test fails on any critical or serious violation and names the rule, impact, view and the first nodes.
"""
from __future__ import annotations

import hashlib
import importlib.util
import io
import tarfile
from functools import lru_cache
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

_spec = importlib.util.spec_from_file_location("pyfadml_browser_helpers", Path(__file__).with_name("conftest.py"))
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)
PIXEL_7 = _helpers.PIXEL_7

ROOT = Path(__file__).resolve().parents[2]
AXE_VERSION = "4.10.3"
AXE_TARBALL = ROOT / ".cache" / "npm" / f"axe-core-{AXE_VERSION}.tgz"
AXE_SHA256 = "0f2b4d7dcdf7d1219df8d1959ad68e565f51d14c3f0d88bb71cd59abeb956292"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("critical", "serious")

BACKPROP, CNN, RNN = "Backprop & decision boundaries", "Convolution & CNN", "RNN & LSTM"
VAE, EXERCISES = "Autoencoder & VAE", "Exercises"

# (view name, section, how to show the view after the section is open, ready selector, live key or None)
VIEWS = [
    ("backprop", BACKPROP, None, "[data-testid=stats]", "backprop"),
    ("cnn-convolution", CNN, None, "[data-testid=conv-summary]", None),
    ("cnn-training", CNN, ("radio", "2. A CNN learns its kernels"), "[data-testid=cnn-live]", "cnn"),
    ("cnn-demerits", CNN, ("radio", "3. Demerits of CNN"), "[data-testid=cnn-hunger-live]", "cnn-hunger"),
    ("rnn-modes", RNN, None, "[data-testid=seq-stats]", "rnn-modes"),
    ("rnn-race", RNN, ("tab", "Vanishing & exploding gradients"), "[data-testid=rnn-race-live]", "rnn-race"),
    ("rnn-lstm", RNN, ("tab", "Inside the LSTM"), None, None),
    ("vae", VAE, None, "[data-testid=vae-stats]", "vae"),
    ("exercises", EXERCISES, None, "[data-testid=exercise-result]", None),
]


@lru_cache(maxsize=1)
def axe_source() -> str:
    """axe.min.js from the pinned npm tarball (checked against its sha256)."""
    if not AXE_TARBALL.is_file():
        pytest.fail(f"{AXE_TARBALL} is missing: tests/run.sh fetches it (npm pack axe-core@{AXE_VERSION})",
                    pytrace=False)
    data = AXE_TARBALL.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert digest == AXE_SHA256, f"{AXE_TARBALL.name}: sha256 {digest} is not the pinned {AXE_SHA256}"
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.extractfile("package/axe.min.js").read().decode("utf-8")


_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({target: JSON.stringify(n.target), html: n.html.slice(0, 160),
                                summary: (n.failureSummary || "").slice(0, 300)}))}));
}"""


def audit(page) -> list[dict]:
    """axe's WCAG 2.0/2.1 A+AA violations of the page as it is now (hidden sections are not audited)."""
    page.wait_for_timeout(700)      # the page's accessibility layer runs within 400 ms of Python's last patch
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    return page.evaluate(_RUN, WCAG_TAGS)


def counts(violations) -> dict[str, int]:
    return {f"{v['id']} ({v['impact']})": len(v["nodes"]) for v in violations}


def blocking(violations) -> list[dict]:
    return [v for v in violations if v["impact"] in BLOCKING]


def describe(view: str, violations) -> str:
    lines = []
    for v in violations:
        lines.append(f"  {view}: {v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {v['help']}")
        for n in v["nodes"][:3]:
            lines.append(f"      {n['target']}  {n['html'][:120]}")
    return "\n".join(lines)


def show_view(ui, section: str, how, ready: str | None) -> None:
    page = ui.page
    ui.open_section(section)
    if how is not None:
        kind, label = how
        if kind == "tab":
            ui.tab(label)
        else:
            page.locator(".bk-btn:visible").filter(has_text=label).first.click()
            ui.wait_for_python(120_000)
    if ready:
        page.locator(ready).first.wait_for(state="visible", timeout=120_000)
    ui.wait_for_python(120_000)


def train_a_little(ui, key: str, steps: int = 3) -> None:
    """Play until ``steps`` steps, then Pause (so the live status, stats and redrawn plots are audited)."""
    sel = ui.live(key)
    start = int(ui.attr(sel, "data-step"))
    ui.click("Play")
    ui.wait_attr(sel, "data-step", lambda v: int(v) >= start + steps, timeout_s=180, what=f"{steps} steps")
    ui.click("Pause")
    ui.wait_attr(sel, "data-state", lambda v: v == "paused", what="paused")
    ui.wait_for_python()


@pytest.mark.parametrize("view, section, how, ready, key", VIEWS, ids=[v[0] for v in VIEWS])
def test_axe_finds_no_critical_or_serious_violation(ui, view, section, how, ready, key, record_property):
    show_view(ui, section, how, ready)
    found = {"opened": audit(ui.page)}
    if key:
        train_a_little(ui, key)
        found["trained"] = audit(ui.page)
    for when, violations in found.items():
        record_property(f"axe-{when}", counts(violations))
        print(f"\n[axe] {view} {when}: {counts(violations)}")
    bad = "\n".join(describe(f"{view} ({when})", blocking(v)) for when, v in found.items() if blocking(v))
    assert not bad, "axe-core found critical or serious violations:\n" + bad


# ---------------------------------------------------------------------------------------------
# reflow (WCAG 1.4.10): a phone, a narrow window, 1280 px at 200% zoom, a projector read top to bottom
# ---------------------------------------------------------------------------------------------

NARROW = [
    pytest.param(PIXEL_7, id="pixel7-412px", marks=pytest.mark.browser_context(**PIXEL_7)),
    pytest.param({"viewport": {"width": 390, "height": 844}}, id="390px",
                 marks=pytest.mark.browser_context(viewport={"width": 390, "height": 844})),
    # 200% zoom of a 1280 px window lays the page out in 640 CSS pixels
    pytest.param({"viewport": {"width": 640, "height": 360}}, id="zoom200-640px",
                 marks=pytest.mark.browser_context(viewport={"width": 640, "height": 360})),
    # and the lecturer's projector: nothing to scroll sideways at 1280 x 720 either
    pytest.param({"viewport": {"width": 1280, "height": 720}}, id="projector-1280x720",
                 marks=pytest.mark.browser_context(viewport={"width": 1280, "height": 720})),
]


@pytest.mark.parametrize("options", NARROW)
def test_every_view_reads_top_to_bottom_without_sideways_scrolling(ui, options):
    """Each view, then one Step of its training (tapped on the phone): the document is never wider than
    the window (document.scrollWidth <= innerWidth), and every figure fits the width of its card (none scrolls
    sideways inside it) with its shape kept (a 900 x 330 picture becomes about 360 x 132, not 360 x 330)."""
    page = ui.page
    touch = bool(options.get("has_touch"))
    failures = []
    for view, section, how, ready, key in VIEWS:
        show_view(ui, section, how, ready)
        if key:
            step = page.locator(".live-step:visible button, .live-step button:visible").first
            before = int(ui.attr(ui.live(key), "data-step"))
            step.scroll_into_view_if_needed()
            step.tap() if touch else step.click()
            ui.wait_attr(ui.live(key), "data-step", lambda v: int(v) > before, timeout_s=60, what="one step")
            ui.wait_for_python()
        found = ui.overflow()
        if found["scroll"] > found["width"]:
            failures.append(f"{view}: document {found['scroll']} px wide in a {found['width']} px window; "
                            f"sticking out: {found['outside']}")
        for fig in ui.figures_off_shape():
            failures.append(f"{view}: a figure does not fit the width with its shape kept: {fig}")
    assert not failures, "\n".join(failures)


_HEADER = """() => {
  const box = (r) => ({left: r.left, right: r.right, top: r.top, bottom: r.bottom});
  const lines = (node) => { const range = document.createRange(); range.selectNodeContents(node);
                            return [...range.getClientRects()].map(box); };
  const find = (root) => { for (const el of root.querySelectorAll("*")) {
    if (el.classList.contains("brand")) return el;
    const inner = el.shadowRoot && find(el.shadowRoot); if (inner) return inner; } return null; };
  const brand = find(document);
  const buttons = ["pyfadml-presenter", "pyfadml-copy-link", "pyfadml-share-button"]
    .map((id) => document.getElementById(id)).filter((b) => b.checkVisibility())
    .map((b) => Object.assign(box(b.getBoundingClientRect()), {name: b.textContent.trim()}));
  return {text: [...lines(brand.firstChild), ...lines(brand.querySelector("span"))], buttons: buttons,
          width: window.innerWidth};
}"""


@pytest.mark.parametrize("options", NARROW + [
    pytest.param({}, id="320px", marks=pytest.mark.browser_context(viewport={"width": 320, "height": 640}))])
def test_the_header_buttons_never_cover_the_name_or_tagline(ui, options):
    """The buttons at the top right (Presenter, Copy link where there is room, Share) sit clear of the
    header's name and tagline, and inside the window, on phones and at 200% zoom, presenter mode on or off."""
    page = ui.page
    for presenter in (False, True):
        if presenter:
            page.locator("#pyfadml-presenter").click()
            page.locator("body.presenter").wait_for(state="attached")
        found = page.evaluate(_HEADER)
        assert found["text"] and {b["name"] for b in found["buttons"]} >= {"Presenter", "Share"}, found
        for b in found["buttons"]:
            assert 0 <= b["left"] and b["right"] <= found["width"], f"{b['name']} is off screen: {b}"
            for t in found["text"]:
                apart = (b["right"] <= t["left"] or t["right"] <= b["left"] or b["bottom"] <= t["top"]
                         or t["bottom"] <= b["top"])
                assert apart, f"{b['name']} {b} covers header text {t} (presenter mode {presenter})"


def phone(width: int, height: int) -> dict:
    """A Pixel 7 (touch, mobile) with another screen size."""
    return dict(PIXEL_7, viewport={"width": width, "height": height}, screen={"width": width, "height": height})


TAPS = [
    pytest.param({"width": 390}, id="390px", marks=pytest.mark.browser_context(**phone(390, 844))),
    # 320 px, the smallest phones: the CNN's input grid (308 px wide on a desktop) shrinks too
    pytest.param({"width": 320}, id="320px", marks=pytest.mark.browser_context(**phone(320, 640))),
]

_PLOT_GEOMETRY = """(el) => {
  const view = [...Bokeh.index.all_views()].find((v) => v.el === el);
  const canvas = el.shadowRoot.querySelector(".bk-Canvas").getBoundingClientRect();
  const f = view.frame.bbox, m = view.model;
  return {natural: m.width, width: canvas.width, left: canvas.left + f.left, top: canvas.top + f.top,
          fw: f.width, fh: f.height, x0: m.x_range.start, x1: m.x_range.end, y0: m.y_range.start, y1: m.y_range.end};
}"""


def plot_geometry(page, selector: str) -> dict:
    """Where a figure's frame (the data area) is on the screen, its data ranges and its natural width."""
    el = page.locator(selector).first
    el.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    return el.evaluate(_PLOT_GEOMETRY)


@pytest.mark.parametrize("phone", TAPS)
def test_a_tap_on_a_phone_lands_on_the_cell_and_point_under_the_finger(ui, phone):
    """A finger's tap on a figure shrunk to a phone's width: on the CNN's input grid it flips the cell under
    the finger and no other; on the VAE's latent plane the decoded point is the one under the finger."""
    page = ui.page
    show_view(ui, CNN, None, "[data-testid=conv-summary]")
    g = plot_geometry(page, ".pe-conv-input")
    if phone["width"] == 320:
        assert g["width"] < g["natural"] - 20, f"the grid was not shrunk at 320 px: {g}"
    h, w = (int(n) for n in ui.attr(".cap[data-grid='conv-input']", "data-shape").split("x"))
    before, edits = ui.grid_values("conv-input"), ui.grid_edits("conv-input")
    row, col = 2, 7
    page.touchscreen.tap(g["left"] + (col + 0.5) * g["fw"] / w, g["top"] + (row + 0.5) * g["fh"] / h)
    ui.wait_attr(".cap[data-grid='conv-input']", "data-edits", lambda v: int(v) == edits + 1, what="the tap's edit")
    ui.wait_for_python()
    changed = [tuple(int(i) for i in rc) for rc in zip(*(ui.grid_values("conv-input") != before).nonzero())]
    assert changed == [(row, col)], f"a tap on cell {(row, col)} changed {changed} ({g})"

    show_view(ui, VAE, None, "[data-testid=vae-stats]")
    g = plot_geometry(page, ".latent-vae")
    assert g["width"] < g["natural"] - 20, f"the latent plane was not shrunk: {g}"
    fx, fy = 0.75, 0.3
    decoded = ui.attr("[data-testid=decoded-vae]", "data-u")
    page.touchscreen.tap(g["left"] + fx * g["fw"], g["top"] + fy * g["fh"])
    ui.wait_attr("[data-testid=decoded-vae]", "data-u", lambda v: v != decoded, what="the tap's point decoded")
    u, v = (float(ui.attr("[data-testid=decoded-vae]", f"data-{k}")) for k in "uv")
    pixel = (g["x1"] - g["x0"]) / g["fw"]                   # one screen pixel in latent units
    assert abs(u - (g["x0"] + fx * (g["x1"] - g["x0"]))) < 2 * pixel, (u, g)
    assert abs(v - (g["y1"] - fy * (g["y1"] - g["y0"]))) < 2 * pixel, (v, g)


# ---------------------------------------------------------------------------------------------
# screen readers: one polite live region that follows the training, throttled
# ---------------------------------------------------------------------------------------------

ANNOUNCE = "[data-testid=announce]"


def test_training_is_announced_politely_and_not_too_often(ui):
    page = ui.page
    region = page.locator(ANNOUNCE)
    assert region.get_attribute("aria-live") == "polite" and region.get_attribute("role") == "status"
    show_view(ui, BACKPROP, None, "[data-testid=stats]")
    ui.wait_attr(ANNOUNCE, "data-count", lambda v: int(v) >= 1, timeout_s=10, what="the first announcement")
    assert region.inner_text().startswith("Paused at step 0."), region.inner_text()
    assert "train loss" in region.inner_text().lower()
    count = int(region.get_attribute("data-count"))
    ui.click("Play")
    ui.wait_attr(ANNOUNCE, "data-count", lambda v: int(v) > count, timeout_s=10, what="'Training' said")
    assert region.inner_text().startswith("Training, step")
    start = int(region.get_attribute("data-count"))
    page.wait_for_timeout(7000)                     # training redraws many times a second meanwhile
    said = int(region.get_attribute("data-count")) - start
    assert said <= 2, f"{said} announcements in 7 s of training: the region must be throttled (one per 5 s)"
    ui.click("Pause")
    ui.wait_attr(ANNOUNCE, "data-count", lambda v: "Paused" in region.inner_text(), timeout_s=10, what="'Paused'")
    step = int(ui.attr(ui.live("backprop"), "data-step"))
    assert f"Paused at step {step:,}." in region.inner_text(), region.inner_text()
    assert "test accuracy" in region.inner_text() and "%" in region.inner_text(), region.inner_text()


# ---------------------------------------------------------------------------------------------
# keyboard only: Tab to a picture, arrows, Space/Enter; the same Python events a mouse sends
# ---------------------------------------------------------------------------------------------

_DEEP_FOCUS = """() => { let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  return el ? (el.className && el.className.baseVal === undefined ? String(el.className) : el.tagName) : ""; }"""


def tab_to(page, css_class: str, limit: int = 120) -> int:
    """Press Tab (keyboard only) until the focused element has ``css_class``; returns how many presses."""
    for n in range(1, limit + 1):
        page.keyboard.press("Tab")
        if css_class in page.evaluate(_DEEP_FOCUS).split():
            return n
    raise AssertionError(f"{limit} presses of Tab never reached .{css_class}; focus is on {page.evaluate(_DEEP_FOCUS)!r}")


def focus_ring(page, selector: str) -> str:
    return page.locator(selector).first.evaluate("e => getComputedStyle(e).outlineStyle + ' ' + getComputedStyle(e).outlineWidth")


def test_keyboard_only_pixel_grid(ui):
    """Convolution & CNN: Tab to the input image, move with the arrows, Space toggles the pixel under the focus
    cell and Enter toggles it back, each exactly as a mouse click would (one edit, that cell only)."""
    page = ui.page
    show_view(ui, CNN, None, "[data-testid=conv-summary]")
    ui.a11y_fix()
    before = ui.grid_values("conv-input")
    edits = ui.grid_edits("conv-input")
    tab_to(page, "pe-conv-input")
    assert focus_ring(page, ".pe-conv-input") != "none 0px", "no visible focus ring on the grid"
    for key in ("ArrowRight", "ArrowRight", "ArrowDown", "ArrowDown", "ArrowDown", "ArrowLeft"):
        page.keyboard.press(key)
    assert ui.attr(".pe-conv-input", "data-cursor") == "3,1"
    assert ui.text(ANNOUNCE).startswith("Row 4, column 2")
    page.keyboard.press(" ")
    ui.wait_attr(".cap[data-grid='conv-input']", "data-edits", lambda v: int(v) == edits + 1, what="Space toggled")
    ui.wait_for_python()
    after = ui.grid_values("conv-input")
    changed = [tuple(int(i) for i in rc) for rc in zip(*(after != before).nonzero())]
    assert changed == [(3, 1)], f"Space changed cells {changed}, expected only (3, 1)"
    # the grid's text alternative (a visually hidden table) follows: row 4 (header row first), column 2
    cell = page.locator("[data-testid=sr-conv-input] tr").nth(4).locator("td").nth(1)
    assert float(cell.text_content().replace("\u2212", "-")) == after[3, 1]
    page.wait_for_timeout(450)                      # two taps in quick succession would be a double tap
    page.keyboard.press("Enter")
    ui.wait_attr(".cap[data-grid='conv-input']", "data-edits", lambda v: int(v) == edits + 2, what="Enter toggled")
    ui.wait_for_python()
    assert (ui.grid_values("conv-input") == before).all()


def test_keyboard_only_latent_plane(ui):
    """Autoencoder & VAE: Tab to the VAE's latent plane, move the cursor with the arrows, Enter decodes there."""
    page = ui.page
    show_view(ui, VAE, None, "[data-testid=vae-stats]")
    ui.a11y_fix()
    decoded = ui.attr("[data-testid=decoded-vae]", "data-u")
    tab_to(page, "latent-vae")
    assert focus_ring(page, ".latent-vae") != "none 0px", "no visible focus ring on the plane"
    for key in ("ArrowRight",) * 4 + ("ArrowUp",) * 2:
        page.keyboard.press(key)
    assert ui.attr(".latent-vae", "data-cursor") == "0.70,0.40"
    page.keyboard.press("Enter")
    u = ui.wait_attr("[data-testid=decoded-vae]", "data-u", lambda v: v != decoded, what="Enter decoded a point")
    ui.wait_for_python()
    page.wait_for_timeout(450)
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")
    u2 = ui.wait_attr("[data-testid=decoded-vae]", "data-u", lambda v: v != u, what="a second point")
    assert float(u2) < float(u), "one step left must decode a point further left"


@pytest.mark.browser_context(viewport={"width": 1280, "height": 900}, reduced_motion="reduce")
def test_reduced_motion_preference_reaches_python(ui):
    """The page reads prefers-reduced-motion and hands it to Python (live.set_reduced_motion; the slower
    refresh itself is tested natively in tests/test_a11y_native.py)."""
    ui.page.locator('body[data-reduced-motion="1"]').wait_for(state="attached", timeout=10_000)
    ui.wait_for_python()
    show_view(ui, BACKPROP, None, "[data-testid=stats]")
    train_a_little(ui, "backprop")                        # training still runs with fewer redraws


def test_plots_have_text_alternatives_that_follow_training(ui):
    """Every shown figure is an image with a name; the loss plot's name carries the curves' latest values."""
    page = ui.page
    show_view(ui, BACKPROP, None, "[data-testid=stats]")
    train_a_little(ui, "backprop", steps=20)
    page.wait_for_timeout(700)
    labels = page.locator(".bk-Figure:visible").evaluate_all(
        "(els) => els.map((e) => [e.getAttribute('role'), e.getAttribute('aria-label') || ''])")
    assert labels and all(role == "img" and label for role, label in labels), labels
    loss = [label for _, label in labels if "train loss" in label]
    step = int(ui.attr(ui.live("backprop"), "data-step"))
    assert loss and f"at step {step}" in loss[0], (loss, step)
    said = float(loss[0].split("train loss ")[1].split(",")[0])     # the curve's last point, a loss
    assert 0 < said < 5, loss[0]


@pytest.mark.browser_context(**PIXEL_7)
def test_a_finger_drawing_on_a_pad_paints_and_does_not_scroll_the_page(ui):
    """Pixel 7: a finger dragged across the VAE's drawing pad paints the cells it crosses (Bokeh Pan events,
    handled in Python) and the page stays where it is."""
    page = ui.page
    show_view(ui, VAE, None, "[data-testid=vae-stats]")
    pad = page.locator(".pe-vae-drawing").first
    pad.scroll_into_view_if_needed()
    page.wait_for_timeout(700)                               # the page's layer sets touch-action: none
    assert pad.evaluate("h => getComputedStyle([...h.shadowRoot.querySelectorAll('*')].map(e => e.shadowRoot)"
                        ".filter(Boolean).map(r => r.querySelector('.bk-events')).filter(Boolean)[0]).touchAction") == "none"
    h, w = (int(n) for n in page.locator(".cap[data-grid='vae-drawing']").first.get_attribute("data-shape").split("x"))
    box = pad.bounding_box()
    cw, ch = (box["width"] - 2) / w, (box["height"] - 2) / h
    y = box["y"] + 1 + 2.5 * ch
    xs = [box["x"] + 1 + (c + 0.5) * cw for c in range(1, 6)]
    before_values = ui.grid_values("vae-drawing")
    scroll = page.evaluate("window.scrollY")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": xs[0], "y": y}]})
    for x in xs[1:]:
        for k in range(1, 5):                                  # small moves, as a finger makes
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove",
                                                  "touchPoints": [{"x": x - cw + k * cw / 4, "y": y}]})
            page.wait_for_timeout(30)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    ui.wait_attr(".cap[data-grid='vae-drawing']", "data-edits", lambda v: int(v) >= 3, what="cells painted by the drag")
    ui.wait_for_python()
    painted = {(int(r), int(c)) for r, c in zip(*(ui.grid_values("vae-drawing") != before_values).nonzero())}
    assert {(2, c) for c in range(2, 6)} <= painted | {(2, 1)}, painted
    assert all(r == 2 for r, _ in painted), painted
    assert page.evaluate("window.scrollY") == scroll, "the drag scrolled the page"


_FOCUS_PATH = """() => { const out = []; let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  for (let node = el; node; node = node.parentNode || node.host) {
    if (node.classList) out.push(...node.classList); if (node.nodeType === 11) node = {parentNode: node.host}; }
  return out; }"""


def tab_into(page, css_class: str, limit: int = 150) -> None:
    """Press Tab until the focused element is inside an element with ``css_class`` (shadow roots crossed)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if css_class in page.evaluate(_FOCUS_PATH):
            return
    raise AssertionError(f"{limit} presses of Tab never reached .{css_class}")


@pytest.mark.parametrize("view, section, how, ready, key",
                         [v for v in VIEWS if v[4]], ids=[v[0] for v in VIEWS if v[4]])
def test_keyboard_only_training(ui, view, section, how, ready, key):
    """Each trainable view with the keyboard only: Tab to Play, Enter; Tab to Pause, Enter; Tab to Step, Enter."""
    page = ui.page
    for _ in range(40):                                   # the section's navigation button, by Tab and Enter
        page.keyboard.press("Tab")
        if page.evaluate("() => { let e = document.activeElement; while (e && e.shadowRoot && e.shadowRoot.activeElement)"
                         " e = e.shadowRoot.activeElement; return e ? e.textContent.trim() : ''; }") == section:
            break
    else:
        raise AssertionError(f"Tab never reached the navigation button {section!r}")
    page.keyboard.press("Enter")
    ui.wait_for_python(120_000)
    if how:                                               # a screen inside the section: its tab or button
        kind, label = how
        tab_into(page, "bk-tab" if kind == "tab" else "cnn-screens")
        if kind == "tab":                                 # Tab to the tab named label, then Enter
            for _ in range(5):
                if page.evaluate("() => { let e = document.activeElement; while (e && e.shadowRoot && "
                                 "e.shadowRoot.activeElement) e = e.shadowRoot.activeElement; return e.textContent; }"
                                 ).strip() == label:
                    break
                page.keyboard.press("Tab")
            page.keyboard.press("Enter")
        else:                                             # the CNN's screens: Tab to the button named label
            for _ in range(4):
                page.keyboard.press("Tab")
                if page.evaluate("() => { let e = document.activeElement; while (e && e.shadowRoot && "
                                 "e.shadowRoot.activeElement) e = e.shadowRoot.activeElement; return e.textContent; }"
                                 ).strip() == label:
                    break
            page.keyboard.press("Enter")
        ui.wait_for_python(120_000)
    page.locator(ready).first.wait_for(state="visible", timeout=120_000)
    sel = ui.live(key)
    tab_into(page, "live-play")
    page.keyboard.press("Enter")
    ui.wait_attr(sel, "data-state", lambda v: v == "playing", what="playing after Enter on Play")
    tab_into(page, "live-pause", limit=3)
    page.keyboard.press("Enter")
    ui.wait_attr(sel, "data-state", lambda v: v == "paused", what="paused after Enter on Pause")
    ui.wait_for_python()
    step = int(ui.attr(sel, "data-step"))
    tab_into(page, "live-step", limit=3)
    page.keyboard.press("Enter")
    ui.wait_attr(sel, "data-step", lambda v: int(v) == step + 1, what="one step after Enter on Step")


def test_keyboard_only_exercises(ui):
    """Exercises with the keyboard only: Tab into the code editor, type (Tab indents there), Shift+Tab out,
    Tab to Check and press Enter: the verdict comes."""
    page = ui.page
    show_view(ui, EXERCISES, None, "[data-testid=exercise-result]")
    result = "[data-testid=exercise-result]"
    checks = int(ui.attr(result, "data-checks"))
    tab_into(page, "pyfadml-code")
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")                            # indents: the focus stays in the editor
    assert "pyfadml-code" in page.evaluate(_FOCUS_PATH)
    page.keyboard.type("pass")
    focused = ("() => { let e = document.activeElement; while (e && e.shadowRoot && e.shadowRoot.activeElement)"
               " e = e.shadowRoot.activeElement; return e.textContent.trim(); }")
    for key in ["Shift+Tab"] * 25:                        # out of the editor, back to the Check button above it
        page.keyboard.press(key)
        if page.evaluate(focused) == "Check":
            break
    else:
        raise AssertionError("Shift+Tab never reached the Check button")
    page.keyboard.press("Enter")
    ui.wait_attr(result, "data-checks", lambda v: int(v) > checks, timeout_s=60, what="a check run by Enter")
