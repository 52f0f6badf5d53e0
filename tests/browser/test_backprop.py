"""The "Backprop & decision boundaries" section in headless Chromium (network blocked by the fixtures).

Everything is read from the page's DOM: the numbers bar (``[data-testid=stats]`` with ``data-step``,
``data-playing``, ``data-boundary-checksum`` and one ``data-value`` per statistic) and the inspector's tables
(``table.mx[data-name=...]``, every cell's full-precision value in ``data-v``). Expectations are computed
natively with :class:`pyfadml.demos.mlp.MLPDemo`: the same settings and seed after the same number of steps
give the same numbers (to 1e-6 relative: Pyodide's NumPy has no BLAS, so the last bits of a sum may differ).

Default settings used throughout: XOR, noise 0.1, seed 0, 2 hidden tanh layers of 4, lr 0.1, batch 16.
"""
from __future__ import annotations

import re
import time

import numpy as np
import pytest

from pyfadml.demos.mlp import MLPDemo

pytestmark = pytest.mark.browser

SECTION = "Backprop & decision boundaries"
STATS = '[data-testid="stats"]'
LIVE = '[data-testid="backprop-live"]'
# XOR starts near log 2 = 0.69 (0.735 with seed 0) and natively reaches 0.032 after 200 steps and 0.006
# after 500 (tests/test_demo_mlp.py checks < 0.1 after 1000): 0.05 means "it learned", with room to spare.
LOSS_TARGET = 0.05
PLAY_TIMEOUT_S = 90          # generous: about 100 steps per second on a slow machine


def _table(page, name: str) -> np.ndarray:
    table = page.locator(f'table.mx[data-name="{name}"]').first
    rows, cols = int(table.get_attribute("data-rows")), int(table.get_attribute("data-cols"))
    values = table.locator("td[data-v]").evaluate_all("(cells) => cells.map((c) => c.dataset.v)")
    return np.array([float(v) for v in values]).reshape(rows, cols)


def _assert_close(shown: np.ndarray, expected: np.ndarray, what: str) -> None:
    expected = np.asarray(expected, dtype=np.float64)
    assert shown.shape == expected.shape, f"{what}: shape {shown.shape} != {expected.shape}"
    scale = float(np.max(np.abs(expected))) if expected.size else 1.0
    np.testing.assert_allclose(shown, expected, rtol=1e-6, atol=1e-9 * scale, err_msg=what)


@pytest.fixture
def backprop(ui):
    """The app with the backprop section showing and Python idle (the ``ui`` helpers bound to its page)."""
    ui.open_section(SECTION)
    ui.page.locator(STATS).first.wait_for(state="attached", timeout=60_000)
    return ui


def test_section_is_interactive_with_rendered_formulas(backprop):
    ui = backprop
    page = ui.page
    assert ui.attr(STATS, "data-step") == "0" and ui.live_state("backprop", "data-playing") == "0"
    assert 0.6 < ui.value("train-loss") < 0.8             # about log 2: an untrained classifier
    assert page.locator("canvas").count() >= 3                 # boundary, loss, neurons
    # the lecture's formulas are typeset by MathJax, not left as $$ source
    text = page.locator(".bk-panel-models-layout-Column").first.inner_text()
    assert "$$" not in text and "\\delta" not in text
    for label in ("Dataset", "Noise", "Seed", "Hidden layers", "Neurons per layer", "Activation",
                  "Learning rate", "Batch size", "Steps per frame"):
        pattern = re.compile(r"^\s*" + re.escape(label) + r"\s*(:.*)?$", re.S)
        assert page.locator("label, .bk-slider-title").filter(has_text=pattern).count(), label


def test_step_advances_exactly_one_step(backprop):
    ui = backprop
    page = ui.page
    checksum = ui.attr(STATS, "data-boundary-checksum")
    ui.click("Step")
    assert ui.wait_attr(STATS, "data-step", lambda v: v != "0") == "1"
    ui.click("Step")
    assert ui.wait_attr(STATS, "data-step", lambda v: v != "1") == "2"
    page.wait_for_timeout(500)
    assert ui.attr(STATS, "data-step") == "2"                    # and nothing more
    assert ui.attr(STATS, "data-boundary-checksum") != checksum
    native = MLPDemo()
    native.step(2)
    row = native.evaluate()
    assert ui.value("train-loss") == pytest.approx(row["train_loss"], rel=1e-6)
    assert ui.value("test-loss") == pytest.approx(row["test_loss"], rel=1e-6)


def test_play_trains_and_pause_stops(backprop):
    ui = backprop
    page = ui.page
    checksum = ui.attr(STATS, "data-boundary-checksum")
    ui.click("Play")
    ui.wait_attr(LIVE, "data-playing", lambda v: v == "1", what="playing")
    deadline = time.monotonic() + PLAY_TIMEOUT_S
    while ui.value("train-loss") >= LOSS_TARGET:
        assert time.monotonic() < deadline, f"train loss still {ui.value('train-loss')} after play"
        page.wait_for_timeout(250)
    frames = int(ui.live_state("backprop", "data-frames"))
    page.wait_for_timeout(600)
    assert int(ui.live_state("backprop", "data-frames")) > frames           # the plots keep refreshing while playing
    assert ui.attr(STATS, "data-boundary-checksum") != checksum  # the decision boundary has changed

    ui.click("Pause")
    ui.wait_attr(LIVE, "data-playing", lambda v: v == "0", what="paused")
    k = int(ui.attr(STATS, "data-step"))
    frames = ui.live_state("backprop", "data-frames")
    page.wait_for_timeout(1000)
    assert int(ui.attr(STATS, "data-step")) == k and ui.live_state("backprop", "data-frames") == frames

    # what the page shows at step k is what pyfadml computes natively after k steps
    native = MLPDemo()
    native.step(k)
    row = native.evaluate()
    assert row["train_loss"] < LOSS_TARGET
    assert ui.value("train-loss") == pytest.approx(row["train_loss"], rel=1e-6)
    assert ui.value("test-acc") == row["test_acc"]
    page.locator(f'[data-testid="inspector-step"][data-step="{k}"]').first.wait_for(state="attached")
    assert ui.attr('[data-testid="inspector-step"]', "data-mode") == "example"     # N = 1 by default
    _assert_close(_table(page, "dW"), native.inspect_example(1, 1)["dW"], "dL/dW^1 (example 1) after pause")

    ui.click("Step")                                       # Step after play: exactly one more
    assert ui.wait_attr(STATS, "data-step", lambda v: v != str(k)) == str(k + 1)


def test_inspector_shows_the_native_backprop_numbers(backprop):
    ui = backprop
    page = ui.page
    ui.select("Dataset", "Moons")
    ui.select("Activation", "ReLU")
    ui.select("Batch size", "8")
    ui.click("Reset")
    for _ in range(3):
        ui.click("Step")
    ui.wait_attr(STATS, "data-step", lambda v: v == "3")
    native = MLPDemo(dataset="moons", activation="relu", batch_size=8)
    native.step(3)
    # issue 13, item 6: N = 1 (the lecture's per-example formulas), example n = 2 of the batch
    ui.click("n = 2")
    page.locator('[data-testid="inspector-step"][data-step="3"][data-example="2"]').first.wait_for(
        state="attached", timeout=30_000)
    r = native.inspect_example(1, 2)
    _assert_close(_table(page, "delta"), r["delta"].T, "delta^1 of example 2")
    _assert_close(_table(page, "dW"), r["dW"], "dL_2/dW^1")
    assert float(ui.attr('[data-testid="inspector-mean"]', "data-diff")) < 1e-12
    ui.click("Mini-batch (mean over N)")
    for layer in (1, 2, 3):
        label = f"l = {layer}" + (" (output)" if layer == 3 else "")
        ui.click(label)
        page.locator(f'[data-testid="inspector-step"][data-step="3"][data-layer="{layer}"]').first.wait_for(
            state="attached", timeout=30_000)
        r = native.inspect(layer)
        n = min(4, r["x"].shape[0])
        _assert_close(_table(page, "W"), r["W"], f"W^{layer}")
        _assert_close(_table(page, "a_prev"), r["a_prev"][:n].T, f"a^{layer - 1}")
        _assert_close(_table(page, "z"), r["z"][:n].T, f"z^{layer}")
        _assert_close(_table(page, "a"), r["a"][:n].T, f"a^{layer}")
        _assert_close(_table(page, "delta"), r["delta"][:n].T, f"delta^{layer}")
        _assert_close(_table(page, "dW"), r["dW"], f"dL/dW^{layer}")
        _assert_close(_table(page, "db"), r["db"][:, None], f"dL/db^{layer}")
        if layer > 1:
            _assert_close(_table(page, "delta_prev"), r["delta_prev"][:n].T, f"delta^{layer - 1}")
            check = page.locator('[data-testid="backprop-check"]').first
            assert "✓" in check.inner_text() and float(check.get_attribute("data-diff")) < 1e-12


def test_divergence_pauses_says_what_to_do_and_a_smaller_rate_trains_again(backprop):
    ui = backprop
    page = ui.page
    ui.select("Dataset", "Moons")
    ui.select("Activation", "leaky ReLU")
    ui.select("Learning rate", "10")
    ui.click("Play")
    ui.wait_attr(LIVE, "data-diverged", lambda v: v == "1", timeout_s=60, what="divergence")
    assert ui.live_state("backprop", "data-playing") == "0"
    message = page.locator(LIVE).first.inner_text()
    assert "diverged" in message and "learning rate" in message
    k = int(ui.live_state("backprop", "data-step"))
    # the Trainer refuses step 2, whose update would move the weights by about 20 times their size (the
    # loss would only turn NaN at step 12, with weights ~1e60 by then): step 1's weights are kept
    assert k == 1 and "step 2" in message
    assert np.isfinite(ui.value("train-loss"))
    button = page.locator(".live-recover-lr button").first
    assert button.is_visible() and "learning rate 1" in button.inner_text()
    button.click()
    ui.wait_for_python()
    ui.wait_attr(LIVE, "data-diverged", lambda v: v == "0", what="recovered")
    assert "Restored the weights" in page.locator(LIVE).first.inner_text()
    assert page.locator(".bk-input-group").filter(has_text="Learning rate").locator("select").first.input_value()
    ui.click("Play")
    ui.wait_attr(LIVE, "data-step", lambda v: int(v) > k + 20, timeout_s=60, what="training after recovery")
    ui.click("Pause")
    ui.wait_attr(LIVE, "data-state", lambda v: v == "paused", what="paused")


def test_a_restless_student_breaks_nothing(backprop):
    """Every control at its extremes and invalid values, buttons in odd orders, leaving mid-training."""
    ui = backprop
    page = ui.page
    ui.type_into("Seed", "")                                    # empty box + Enter: an inline note
    assert "empty" in page.locator('[data-testid="seed-note"]').first.inner_text()
    ui.type_into("Seed", "9999")
    for option in ("XOR", "Circles", "Moons", "Spiral (3 classes)", "Gaussian blobs"):
        ui.select("Dataset", option)
    for option in ("tanh", "ReLU", "sigmoid", "leaky ReLU"):
        ui.select("Activation", option)
    ui.select("Batch size", "1")
    ui.select("Steps per frame", "1 (slow motion)")
    ui.click("l = 3 (output)")                                  # issue 9, item 2: then fewer layers
    page.locator(".bk-input-group").filter(has_text="Hidden layers").locator(".noUi-handle").first.press("Home")
    ui.wait_for_python()
    page.locator('[data-testid="inspector-step"]').first.wait_for(state="attached")
    assert page.locator("button.bk-btn").filter(has_text=re.compile(r"^\s*l = 2 \(output\)\s*$")).count() == 1
    ui.click("Play")
    ui.click("Step")                                            # Step while playing: pauses, one step
    ui.wait_attr(LIVE, "data-state", lambda v: v == "paused", what="paused by Step")
    ui.click("Play")
    ui.click("Reset")                                           # Reset while playing
    ui.wait_attr(LIVE, "data-step", lambda v: v == "0", what="step 0 after Reset")
    assert ui.live_state("backprop") == "paused"
    ui.click("Play")
    ui.wait_attr(LIVE, "data-step", lambda v: int(v) > 0, what="training")
    ui.open_section("Convolution & CNN")                        # leave mid-training and come back
    ui.open_section(SECTION)
    ui.wait_attr(LIVE, "data-state", lambda v: v == "away", what="paused while away")
    assert "while you were away" in page.locator(LIVE).first.inner_text()
    k = int(ui.live_state("backprop", "data-step"))
    page.wait_for_timeout(500)
    assert int(ui.live_state("backprop", "data-step")) == k     # it did not train in the background
    page.keyboard.press("s")                           # keyboard: S steps, Space plays
    ui.wait_attr(LIVE, "data-step", lambda v: int(v) == k + 1, what="S key")
    page.keyboard.press("Space")
    ui.wait_attr(LIVE, "data-state", lambda v: v == "playing", what="Space key")
    page.keyboard.press("Space")
    ui.wait_attr(LIVE, "data-state", lambda v: v == "paused", what="Space key again")
    page.keyboard.press("r")
    ui.wait_attr(LIVE, "data-step", lambda v: v == "0", what="R key")
    assert page.locator("#pyfadml-error").is_hidden()           # no Python error on the page
