"""The "Convolution & CNN" section in headless Chromium (network blocked by the shared fixtures).

Screen 1: the lecture's X example (9 at the centre, a clicked pixel changes the feature map exactly as the
library says, the step-through, typed kernels). Screen 2: live training (>= 90 % test accuracy on the
shapes) and a prediction for a drawn input. Then a restless student. Values are read from the grids'
``data-values`` and the summaries' ``data-*`` attributes; expectations are computed natively with pyfadml.
"""
from __future__ import annotations

import re
import time

import numpy as np
import pytest

from pyfadml.data.images import SHAPE_CLASSES, X_KERNEL, lecture_x, lecture_x_variant
from pyfadml.demos import conv

pytestmark = pytest.mark.browser

SECTION = "Convolution & CNN"
SCREEN_1, SCREEN_2 = "1. Convolution, step by step", "2. A CNN learns its kernels"
SUMMARY = "[data-testid=conv-summary]"
STEP = "[data-testid=step-through]"
STATS = "[data-testid=cnn-stats]"
LIVE = '[data-testid="cnn-live"]'
TRAIN_TIMEOUT_S = 120        # generous: the goal is ~20 s; the assertion is on accuracy, not time


@pytest.fixture
def cnn(ui):
    """The app with the CNN section shown, both screens built and Python idle."""
    ui.open_section(SECTION)
    ui.page.locator(SUMMARY).first.wait_for(state="attached", timeout=90_000)
    ui.page.locator(LIVE).first.wait_for(state="attached", timeout=90_000)   # screen 2 is built after screen 1
    ui.wait_for_python()
    return ui


def _fmap(ui) -> np.ndarray:
    return ui.grid_values("conv-fmap")


def test_lecture_x_feature_map_and_pixel_edits(cnn):
    ui, page = cnn, cnn.page
    # the lecture's X with the X kernel: 9 at the centre of the 7x7 map, and only there
    assert float(ui.attr(SUMMARY, "data-max")) == 9.0
    assert ui.attr(SUMMARY, "data-argmax") == "3,3"
    fm = _fmap(ui)
    assert fm.shape == (7, 7) and fm[3, 3] == 9.0 and np.sum(fm == 9.0) == 1
    np.testing.assert_array_equal(fm, conv.feature_map(lecture_x(), X_KERNEL))
    np.testing.assert_array_equal(ui.grid_values("conv-input"), lecture_x())

    # click the centre pixel of the X: black (+1) -> white (-1)
    ui.click_grid_cell("conv-input", 4, 4)
    ui.wait_attr(SUMMARY, "data-centre", lambda v: float(v) != 9.0, what="the feature map update")
    ui.wait_for_python()
    edited = lecture_x()
    edited[4, 4] = -1.0
    assert ui.grid_edits("conv-input") == 1
    np.testing.assert_array_equal(ui.grid_values("conv-input"), edited)
    fm2 = _fmap(ui)
    np.testing.assert_array_equal(fm2, conv.feature_map(edited, X_KERNEL))
    assert fm2[3, 3] == 7.0
    changed = {tuple(ij) for ij in np.argwhere(fm2 != fm)}
    assert changed == {(i, j) for i in range(2, 5) for j in range(2, 5)}    # the nine zones holding it

    # click it again: back to the lecture's X
    ui.click_grid_cell("conv-input", 4, 4)
    ui.wait_attr(SUMMARY, "data-centre", lambda v: float(v) == 9.0, what="the second click")

    # step-through: the maximum's zone, nine products of +1, sum 9 = the library's value
    ui.click("Go to the maximum")
    ui.wait_attr(STEP, "data-row", lambda v: v == "3", what="the step-through")
    assert ui.attr(STEP, "data-col") == "3"
    assert float(ui.attr(STEP, "data-total")) == 9.0 == float(ui.attr(STEP, "data-library"))
    products = page.locator("table.mx[data-name=products] td").all()
    assert [float(td.get_attribute("data-v")) for td in products] == [1.0] * 9

    # a typed kernel that is not a number: a clear message beside the box, the page keeps working
    label = "Kernel values (type, then click outside)"
    ui.fill_text_area(label, "1 -1 1\n-1 oops -1\n1 -1 1")
    assert "'oops' is not a number" in ui.text("[data-testid=kernel-error]")
    ui.fill_text_area(label, "1/9 1/9 1/9\n1/9 1/9 1/9\n1/9 1/9 1/9")      # the box blur is applied
    ui.wait_attr(SUMMARY, "data-max", lambda v: float(v) < 9.0, what="the typed kernel")
    assert page.locator("[data-testid=kernel-error]").count() == 0
    np.testing.assert_allclose(_fmap(ui), conv.feature_map(lecture_x(), np.full((3, 3), 1 / 9)), rtol=1e-12,
                               atol=1e-12)
    # issue 9, item 8: "−0.56" fits in its cell (the grid widens its cells for fractions)
    cell_w = page.locator(".pe-conv-fmap").first.bounding_box()["width"] / 7
    assert cell_w >= 8 * len("−0.56") + 6


def test_live_training_reaches_90_percent_and_predicts_a_drawing(cnn):
    ui = cnn
    ui.click(SCREEN_2)
    assert ui.attr(STATS, "data-step") == "0" and ui.live_state("cnn") == "paused"
    start_kernels = ui.attr("[data-testid=kernels-caption]", "data-checksum")
    # the rate and batch controls are plain selects (a DiscreteSlider evals JS, which the CSP refuses):
    # moving them away and back must raise no CSP violation (the fixture fails the test on one)
    for label, other, default in (("Batch size", "64", "32"), ("Learning rate", "0.003", "0.01")):
        ui.select(label, other)
        ui.select(label, default)

    ui.click("Play")
    t0 = time.monotonic()
    acc = ui.wait_attr(STATS, "data-test-acc", lambda v: float(v) >= 0.9, timeout_s=TRAIN_TIMEOUT_S,
                       what="90% test accuracy")
    elapsed = time.monotonic() - t0
    ui.click("Pause")
    ui.wait_attr(LIVE, "data-playing", lambda v: v == "0", what="pause")
    steps = int(ui.live_state("cnn", "data-step"))
    ui.wait_attr(STATS, "data-step", lambda v: int(v) == steps, what="the numbers of the paused step")
    print(f"\nCNN section: test accuracy {float(acc):.3f} after {steps} steps, {elapsed:.1f} s in the page")
    assert float(acc) >= 0.9 and steps > 0
    # (training went on until Pause took effect: the last evaluation may sit a little either side of 90 %)
    assert float(ui.attr(STATS, "data-test-acc")) >= 0.8
    # the kernels shown were updated by training, the confusion matrix agrees with the accuracy
    assert ui.attr("[data-testid=kernels-caption]", "data-checksum") != start_kernels
    cm = "[data-testid=confusion]"
    correct, total = int(ui.attr(cm, "data-correct")), int(ui.attr(cm, "data-total"))
    assert total == 300 and correct / total == pytest.approx(float(ui.attr(STATS, "data-test-acc")))

    # draw a thick horizontal bar on the pad: the prediction follows the drawing
    pred = "[data-testid=prediction]"
    before = ui.attr(pred, "data-probs")
    for col in range(3, 13):
        for row in (7, 8):
            ui.click_grid_cell("cnn-draw", row, col)
    ui.wait_attr(pred, "data-edits", lambda v: v == "20", what="the prediction of the drawing")
    ui.wait_for_python()
    drawing = ui.grid_values("cnn-draw")
    assert drawing.sum() == 20 and drawing[7:9, 3:13].sum() == 20
    probs = np.array([float(p) for p in ui.attr(pred, "data-probs").split(",")])
    assert probs.shape == (len(SHAPE_CLASSES),) and probs.sum() == pytest.approx(1.0, abs=1e-4)
    assert ui.attr(pred, "data-probs") != before
    label = ui.attr(pred, "data-class")
    assert label == SHAPE_CLASSES[int(np.argmax(probs))]
    print(f"drawn bar predicted as {label!r} ({probs.max():.0%})")


def test_a_restless_student_breaks_nothing(cnn):
    """Every control at its extremes and invalid values, buttons in odd orders, leaving mid-training and
    mid-animation, clicking every grid before and after."""
    ui, page = cnn, cnn.page
    x_map = conv.feature_map(lecture_x(), X_KERNEL)

    # ---- screen 1: hostile kernels answer beside the box; the kernel in force stays (issue 9, item 4)
    label = "Kernel values (type, then click outside)"
    for text, says in (("\n".join(["1e308 1e308 1e308"] * 3), "too large"), ("", "empty"),
                       ("1/0 1 1\n1 1 1\n1 1 1", "divides by zero"), ("1e400 0 0\n0 0 0\n0 0 0", "too large"),
                       ("1 2\n3 4", "expected 3 rows")):
        ui.fill_text_area(label, text)
        assert says in ui.text("[data-testid=kernel-error]"), text
        np.testing.assert_array_equal(_fmap(ui), x_map)
    for option in ("χ: the X written differently", "Blank (all white)", "X (lecture)"):
        ui.select("Image", option)
    assert "Input image X " in ui.text(".cap[data-grid='conv-input']")
    ui.select("Image", "χ: the X written differently")                    # issue 9, item 8: says χ
    assert "Input image χ" in ui.text(".cap[data-grid='conv-input']") and "χ ⋆ K" in ui.text(
        ".cap[data-grid='conv-fmap']")
    np.testing.assert_array_equal(_fmap(ui), conv.feature_map(lecture_x_variant(), X_KERNEL))
    for key, spec in conv.KERNEL_PRESETS.items():
        ui.select("Kernel preset", spec["label"])
        np.testing.assert_allclose(_fmap(ui), conv.feature_map(lecture_x_variant(), conv.preset_kernel(key)),
                                   rtol=1e-12, atol=1e-12, err_msg=key)
    assert page.locator("[data-testid=kernel-error]").count() == 0          # a preset clears the note
    ui.select("Kernel preset", "X kernel (lecture)")
    ui.set_checkbox("Apply ReLU")
    ui.set_checkbox("Max pooling")
    assert (_fmap(ui) >= 0).all() and page.locator(".cap[data-grid='conv-pool']").first.is_visible()
    ui.slider_key("Kernel position", "End")
    assert ui.attr(STEP, "data-row") == "6" and ui.attr(STEP, "data-col") == "6"
    ui.click("Next ▶")                                                      # wraps around
    ui.wait_attr(STEP, "data-row", lambda v: v == "0", what="Next after the last position")
    ui.click("◀ Previous")
    ui.wait_attr(STEP, "data-col", lambda v: v == "6", what="Previous from the first position")
    ui.slider_key("Kernel position", "Home")
    ui.click("Slide the kernel")
    ui.wait_attr(STEP, "data-col", lambda v: int(v) >= 2, what="the sliding kernel")
    ui.open_section("Backprop & decision boundaries")                        # leave mid-animation
    ui.open_section(SECTION)
    where = (ui.attr(STEP, "data-row"), ui.attr(STEP, "data-col"))
    page.wait_for_timeout(1000)                                             # two animation periods
    assert (ui.attr(STEP, "data-row"), ui.attr(STEP, "data-col")) == where, "the kernel kept sliding"
    for grid, cell in (("conv-input", (0, 0)), ("conv-kernel", (1, 1))):    # grids still answer clicks
        edits = ui.grid_edits(grid)
        ui.click_grid_cell(grid, *cell)
        ui.wait_attr(f".cap[data-grid='{grid}']", "data-edits", lambda v, e=edits: int(v) == e + 1, what=grid)
    ui.wait_for_python()

    # ---- screen 2: every control, odd button orders
    ui.click(SCREEN_2)
    page.locator(LIVE).first.wait_for(state="visible")
    ui.type_into("Seed", "")                                                # issue 9, item 3
    assert "empty" in ui.text('[data-testid="cnn-seed-note"]')
    ui.type_into("Seed", "99999")
    assert "0 to 9999" in ui.text('[data-testid="cnn-seed-note"]')
    ui.type_into("Seed", "9999")
    assert page.locator('[data-testid="cnn-seed-note"][data-kind="error"]').count() == 0
    arch = ui.text("[data-testid=cnn-architecture]")
    ui.select("Dataset", "Digits (8×8, 10 classes)")                         # issue 9, item 8: no "Images 120"
    ui.wait_attr(".cap[data-grid='cnn-draw']", "data-shape", lambda v: v == "8x8", what="the digits pad")
    assert not ui.widget("Images (train + test)").is_visible()
    assert "1,797 images" in ui.text("[data-testid=cnn-digits-note]")
    ui.select("Dataset", "Shapes (X, O, +, square, triangle, bar)")
    assert ui.widget("Images (train + test)").is_visible()
    for option in ("120", "2,400", "1,200"):
        ui.select("Images (train + test)", option)
    for slider in ("Filters, layer 1", "Filters, layer 2"):
        ui.slider_key(slider, "End")
        ui.slider_key(slider, "Home")
    one_filter = ui.text("[data-testid=cnn-architecture]")
    assert one_filter != arch and "x1 -> ReLU" in one_filter
    ui.click("5×5")
    assert "conv 5x5" in ui.text("[data-testid=cnn-architecture]")
    for option in ("Hand-picked presets, then learned", "Hand-picked presets, frozen", "Learned from a random start"):
        ui.select("First-layer kernels", option)
    for option in ("0.0003", "0.3", "0.01"):
        ui.select("Learning rate", option)
    for option in ("8", "128", "32"):
        ui.select("Batch size", option)
    ui.select("Gradient clipping", "0.5")
    ui.select("Gradient clipping", "off")

    ui.click("Play")
    ui.click("Step")                                                        # Step while playing: pauses, one step
    assert ui.live_state("cnn") == "paused"
    ui.click("Play")
    ui.click("Reset")                                                       # Reset while playing
    assert ui.live_state("cnn") == "paused" and ui.live_state("cnn", "data-step") == "0"
    ui.click("Play")
    ui.wait_attr(LIVE, "data-step", lambda v: int(v) > 0, what="training")
    ui.open_section("Backprop & decision boundaries")                        # leave mid-training, come back
    ui.open_section(SECTION)
    assert ui.live_state("cnn") == "away" and "while you were away" in ui.text(LIVE)
    k = int(ui.live_state("cnn", "data-step"))
    page.wait_for_timeout(600)
    assert int(ui.live_state("cnn", "data-step")) == k                      # no training in the background
    ui.click("Play")
    ui.wait_attr(LIVE, "data-step", lambda v: int(v) > k, what="training again")
    ui.click(SCREEN_1)                                                      # the other screen pauses it too
    ui.click(SCREEN_2)
    assert ui.live_state("cnn") == "away"
    k = int(ui.live_state("cnn", "data-step"))
    page.keyboard.press("s")                                                # keyboard: S steps, R resets
    ui.wait_attr(LIVE, "data-step", lambda v: int(v) == k + 1, what="S key")
    page.keyboard.press("r")
    ui.wait_attr(LIVE, "data-step", lambda v: v == "0", what="R key")
    ui.click("Half")                                                        # the pad still paints after all that
    ui.click_grid_cell("cnn-draw", 5, 5)
    ui.wait_attr("[data-testid=prediction]", "data-edits", lambda v: int(v) >= 1, what="a painted cell")
    assert ui.grid_values("cnn-draw")[5, 5] == 0.5
    assert page.locator("#pyfadml-error").is_hidden()                       # no Python error on the page
    assert not re.search(r"Traceback|Error:", ui.text("body"))


def test_kernels_visibly_smooth_and_sharpen_a_grey_picture(cnn):
    """Issue 13, item 3: the chosen kernel on the 48x48 grey picture, beside blur / sharpen / edges; the
    detail ratio says which way it went (natively: blur 0.18, sharpen 3.35). Item 6: positions from 1."""
    from pyfadml.data.images import grey_picture

    ui = cnn
    PIC = "[data-testid=conv-picture]"
    assert ui.attr(PIC, "data-kind") == "other"                               # the lecture's X kernel
    ui.select("Kernel preset", "Smooth (Gaussian, 1/16)")
    ui.wait_attr(PIC, "data-kind", lambda v: v == "smooth", what="the blur on the picture")
    blur = conv.filter_picture(grey_picture(), conv.preset_kernel("blur_gaussian"))
    assert float(ui.attr(PIC, "data-detail")) == pytest.approx(blur["detail_ratio"], rel=1e-9) and blur["detail_ratio"] < 0.3
    ui.select("Kernel preset", "Sharpen")
    ui.wait_attr(PIC, "data-kind", lambda v: v == "sharpen", what="the sharpen on the picture")
    assert float(ui.attr(PIC, "data-detail")) > 2.0
    fixed = {li.get_attribute("data-key"): li.get_attribute("data-kind")
             for li in ui.page.locator(f"{PIC} li").all()}
    assert fixed == {"picture": "picture", "kernel": "sharpen", "blur_gaussian": "smooth", "sharpen": "sharpen",
                     "edge_all": "edges"}
    assert ui.page.locator(PIC).first.is_visible()
    # the kernel position is counted from 1, like the step-through's rows and columns
    where = "[data-testid=kernel-where]"
    assert ui.attr(where, "data-position") == "1" and ui.attr(where, "data-row") == "1"
    ui.slider_key("Kernel position", "End")
    ui.wait_attr(where, "data-position", lambda v: v == "49", what="the last position")
    assert "row 7, column 7" in ui.text(where)


def test_demerits_of_cnn_by_experiment(cnn):
    """Issue 13, item 1: screen 3 trains the data-hunger curve and the CNN-vs-MLP race in the page; screen 2
    shows an occlusion map that lies on the strokes. In the page (measured): test accuracy 61%, 73%, 81%,
    92%, 97% for 30 ... 1,200 images; CNN 70 steps, MLP 240 steps to 90%."""
    ui, page = cnn, cnn.page
    HUNGER, RACE = "[data-testid=hunger-stats]", "[data-testid=race-costs]"
    ui.click("3. Demerits of CNN")
    page.locator(HUNGER).first.wait_for(state="attached", timeout=90_000)
    ui.wait_for_python()
    ui.click_nth("Play", 0)                                              # "Many examples"
    ui.wait_attr(HUNGER, "data-done", lambda v: v == "1", timeout_s=300, what="every training-set size")
    ui.wait_attr(live_sel := '[data-testid="cnn-hunger-live"]', "data-state", lambda v: v == "paused",
                 what="the finished experiment pauses itself")
    d = ui.dataset(HUNGER)
    assert d["sizes"] == "30,60,120,300,1200"
    acc = [float(v) for v in d["testAcc"].split(",")]
    assert acc[-1] >= 0.85 and acc[-1] - acc[0] >= 0.2, acc
    assert all(b >= a - 0.03 for a, b in zip(acc, acc[1:])), acc          # it rises with the size
    assert ui.attr(live_sel, "data-step") == "750"
    ui.click_nth("Play", 1)                                              # "Training time"
    ui.wait_attr(RACE, "data-done", lambda v: v == "1", timeout_s=300, what="both models at 90%")
    r = ui.dataset(RACE)
    assert (r["cnnParams"], r["mlpParams"]) == ("1878", "16838")
    assert int(r["cnnStep"]) < int(r["mlpStep"])
    assert float(r["cnnSeconds"]) > 0 and float(r["mlpSeconds"]) > 0 and float(r["cnnMs"]) > 0
    assert page.locator("[data-testid=race-verdict]").first.is_visible()
    assert page.locator("[data-testid=cnn-cost-table] tr").count() == 6
    # explainability: the occlusion map of the live CNN (screen 2), on the strokes of the shape
    ui.click(SCREEN_2)
    ui.train_to("cnn", 60)
    occ = ui.dataset("[data-testid=occlusion]")
    assert occ["state"] == "fresh" and occ["step"] == ui.attr(LIVE, "data-step")
    assert float(occ["peak"]) > 0 and float(occ["inkShare"]) > float(occ["inkPixels"]), occ


def test_kernels_now_minus_start_and_deeper_features_in_the_page(cnn):
    """Issue 13, item 5: after training in the page, the "now − start" kernels have changed and every level-2
    feature shows its strongest 8x8 test patches (computed when paused)."""
    ui = cnn
    ui.click(SCREEN_2)
    step = ui.train_to("cnn", 30)
    top = ui.dataset("[data-testid=top-patches]")
    assert top["state"] == "fresh" and top["step"] == str(step)
    assert top["units"] == "12" and top["size"] == "8" and float(top["checksum"]) > 0
    assert float(ui.attr("[data-testid=kernels-caption]", "data-change")) > 0.05
