"""The "Convolution & CNN" section in headless Chromium (network blocked by the shared fixtures).

Two page loads: the lecture's X example (9 at the centre, a clicked pixel changes the feature map exactly
as the library says, the step-through, typed kernels), then live training (>= 90 % test accuracy on the
shapes) and a prediction for a drawn input. Values are read from the grids' ``data-values`` and the
summaries' ``data-*`` attributes; expectations are computed natively with pyfadml.
"""
from __future__ import annotations

import re
import time

import numpy as np
import pytest

from pyfadml.data.images import SHAPE_CLASSES, X_KERNEL, lecture_x
from pyfadml.demos import conv

pytestmark = pytest.mark.browser

SECTION = "Convolution & CNN"
TRAIN_TIMEOUT_S = 120        # generous: the goal is ~20 s; the assertion is on accuracy, not time


def _wait_python(page, timeout_ms: int = 60_000) -> None:
    page.locator('body[data-busy="0"]').wait_for(state="attached", timeout=timeout_ms)


def _open_section(page):
    """Open the section; part 1 comes first, part 2 (the CNN) is built a moment later."""
    exact = re.compile(r"^\s*" + re.escape(SECTION) + r"\s*$")
    page.locator("a, button, .bk-tab, [role=tab]").filter(has_text=exact).first.click()
    page.locator("[data-testid=conv-summary]").first.wait_for(state="attached", timeout=90_000)
    page.locator("[data-testid=cnn-stats]").first.wait_for(state="attached", timeout=90_000)
    _wait_python(page)


def _attr(page, selector: str, name: str) -> str:
    return page.locator(selector).first.get_attribute(name)


def _grid(page, grid_id: str) -> np.ndarray:
    text = _attr(page, f".cap[data-grid='{grid_id}']", "data-values")
    return np.array([[float(v) for v in row.split()] for row in text.split(";")])


def _wait_attr(page, selector: str, name: str, predicate, timeout_s: float = 30.0, what: str = "") -> str:
    """Poll an attribute until ``predicate(value)`` (the site's CSP rules out wait_for_function)."""
    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        loc = page.locator(selector)
        if loc.count():
            value = loc.first.get_attribute(name)
            if value is not None and predicate(value):
                return value
        page.wait_for_timeout(150)
    raise AssertionError(f"timed out waiting for {what or selector}[{name}]; last value {value!r}")


def _click_cell(page, grid_id: str, row: int, col: int, shape) -> None:
    grid = page.locator(f".pe-{grid_id}").first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    h, w = shape
    cw, ch = (box["width"] - 2) / w, (box["height"] - 2) / h
    page.mouse.click(box["x"] + 1 + (col + 0.5) * cw, box["y"] + 1 + (row + 0.5) * ch)


def test_lecture_x_feature_map_and_pixel_edits(app_page):
    page = app_page
    _open_section(page)

    # the lecture's X with the X kernel: 9 at the centre of the 7x7 map, and only there
    summary = "[data-testid=conv-summary]"
    assert float(_attr(page, summary, "data-max")) == 9.0
    assert _attr(page, summary, "data-argmax") == "3,3"
    fm = _grid(page, "conv-fmap")
    assert fm.shape == (7, 7) and fm[3, 3] == 9.0 and np.sum(fm == 9.0) == 1
    np.testing.assert_array_equal(fm, conv.feature_map(lecture_x(), X_KERNEL))
    np.testing.assert_array_equal(_grid(page, "conv-input"), lecture_x())

    # click the centre pixel of the X: black (+1) -> white (-1)
    _click_cell(page, "conv-input", 4, 4, (9, 9))
    _wait_attr(page, ".cap[data-grid='conv-input']", "data-edits", lambda v: v == "1", what="the click")
    _wait_attr(page, summary, "data-centre", lambda v: float(v) != 9.0, what="the feature map update")
    _wait_python(page)
    edited = lecture_x()
    edited[4, 4] = -1.0
    np.testing.assert_array_equal(_grid(page, "conv-input"), edited)
    fm2 = _grid(page, "conv-fmap")
    np.testing.assert_array_equal(fm2, conv.feature_map(edited, X_KERNEL))
    assert fm2[3, 3] == 7.0
    changed = {tuple(ij) for ij in np.argwhere(fm2 != fm)}
    assert changed == {(i, j) for i in range(2, 5) for j in range(2, 5)}    # the nine zones holding it

    # click it again: back to the lecture's X
    _click_cell(page, "conv-input", 4, 4, (9, 9))
    _wait_attr(page, summary, "data-centre", lambda v: float(v) == 9.0, what="the second click")

    # step-through: the maximum's zone, nine products of +1, sum 9 = the library's value
    page.locator("button.bk-btn").filter(has_text=re.compile(r"^\s*Go to the maximum\s*$")).first.click()
    step = "[data-testid=step-through]"
    _wait_attr(page, step, "data-row", lambda v: v == "3", what="the step-through")
    _wait_python(page)
    assert _attr(page, step, "data-col") == "3"
    assert float(_attr(page, step, "data-total")) == 9.0 == float(_attr(page, step, "data-library"))
    products = page.locator("table.mx[data-name=products] td").all()
    assert [float(td.get_attribute("data-v")) for td in products] == [1.0] * 9

    # a typed kernel that is not a number: a clear message, the page keeps working
    box = page.locator("textarea").first
    box.fill("1 -1 1\n-1 oops -1\n1 -1 1")
    box.press("Tab")
    err = page.locator("[data-testid=kernel-error]").first
    err.wait_for(state="attached", timeout=30_000)
    assert "'oops' is not a number" in err.inner_text()
    # a valid typed kernel (the box blur) is applied
    box.fill("1/9 1/9 1/9\n1/9 1/9 1/9\n1/9 1/9 1/9")
    box.press("Tab")
    _wait_attr(page, summary, "data-max", lambda v: float(v) < 9.0, what="the typed kernel")
    _wait_python(page)
    assert page.locator("[data-testid=kernel-error]").count() == 0
    np.testing.assert_allclose(_grid(page, "conv-fmap"),
                               conv.feature_map(lecture_x(), np.full((3, 3), 1 / 9)), rtol=1e-12, atol=1e-12)


def test_live_training_reaches_90_percent_and_predicts_a_drawing(app_page, ui):
    page = app_page
    _open_section(page)
    stats = "[data-testid=cnn-stats]"
    assert _attr(page, stats, "data-step") == "0"
    start_kernels = _attr(page, "[data-testid=kernels-caption]", "data-checksum")
    # the rate and batch controls are plain selects (a DiscreteSlider evals JS, which the CSP refuses):
    # moving them away and back must raise no CSP violation (the fixture fails the test on one)
    for label, other, default in (("Batch size", "64", "32"), ("Learning rate", "0.003", "0.01")):
        select = ui.widget(label).locator("select")
        select.select_option(label=other)
        _wait_python(page)
        select.select_option(label=default)
        _wait_python(page)

    page.locator("button.bk-btn:visible").filter(has_text=re.compile(r"^\s*Play\s*$")).first.click()
    t0 = time.monotonic()
    acc = _wait_attr(page, stats, "data-test-acc", lambda v: float(v) >= 0.9, timeout_s=TRAIN_TIMEOUT_S,
                     what="90% test accuracy")
    elapsed = time.monotonic() - t0
    page.locator("button.bk-btn:visible").filter(has_text=re.compile(r"^\s*Pause\s*$")).first.click()
    _wait_attr(page, stats, "data-playing", lambda v: v == "0", what="pause")
    _wait_python(page)
    steps = int(_attr(page, stats, "data-step"))
    print(f"\nCNN section: test accuracy {float(acc):.3f} after {steps} steps, {elapsed:.1f} s in the page")
    assert float(acc) >= 0.9                       # the page reported >= 90 % on the test set
    assert steps > 0
    # (training went on until Pause took effect: the last evaluation may sit a little either side of 90 %)
    assert float(_attr(page, stats, "data-test-acc")) >= 0.8
    # the kernels shown were updated by training, the confusion matrix agrees with the accuracy
    assert _attr(page, "[data-testid=kernels-caption]", "data-checksum") != start_kernels
    cm = "[data-testid=confusion]"
    correct, total = int(_attr(page, cm, "data-correct")), int(_attr(page, cm, "data-total"))
    assert total == 300 and correct / total == pytest.approx(float(_attr(page, stats, "data-test-acc")))

    # draw a thick horizontal bar on the pad: the prediction follows the drawing
    pred = "[data-testid=prediction]"
    before = _attr(page, pred, "data-probs")
    for col in range(3, 13):
        for row in (7, 8):
            _click_cell(page, "cnn-draw", row, col, (16, 16))
    _wait_attr(page, ".cap[data-grid='cnn-draw']", "data-edits", lambda v: v == "20", what="20 painted cells")
    _wait_attr(page, pred, "data-edits", lambda v: v == "20", what="the prediction of the drawing")
    _wait_python(page)
    drawing = _grid(page, "cnn-draw")
    assert drawing.sum() == 20 and drawing[7:9, 3:13].sum() == 20
    probs = np.array([float(p) for p in _attr(page, pred, "data-probs").split(",")])
    assert probs.shape == (len(SHAPE_CLASSES),) and probs.sum() == pytest.approx(1.0, abs=1e-4)
    assert _attr(page, pred, "data-probs") != before
    label = _attr(page, pred, "data-class")
    assert label == SHAPE_CLASSES[int(np.argmax(probs))]
    print(f"drawn bar predicted as {label!r} ({probs.max():.0%})")
