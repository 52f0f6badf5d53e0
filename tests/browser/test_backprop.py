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
# XOR starts near log 2 = 0.69 (0.735 with seed 0) and natively reaches 0.032 after 200 steps and 0.006
# after 500 (tests/test_demo_mlp.py checks < 0.1 after 1000): 0.05 means "it learned", with room to spare.
LOSS_TARGET = 0.05
PLAY_TIMEOUT_S = 90          # generous: about 100 steps per second on a slow machine


def _wait_python(page, timeout_ms: int = 60_000) -> None:
    page.locator('body[data-busy="0"]').wait_for(state="attached", timeout=timeout_ms)


def _click(page, label: str) -> None:
    exact = re.compile(r"^\s*" + re.escape(label) + r"\s*$")
    page.locator("button.bk-btn:visible").filter(has_text=exact).first.click()
    _wait_python(page)


def _stats(page, name: str) -> str:
    return page.locator(STATS).first.get_attribute(name)


def _value(page, key: str) -> float:
    return float(page.locator(f'[data-testid="{key}"]').first.get_attribute("data-value"))


def _wait_stats(page, name: str, predicate, timeout_s: float = 30.0, what: str = "") -> str:
    """Poll a data attribute of the numbers bar (the site's CSP rules out wait_for_function)."""
    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        value = _stats(page, name)
        if value is not None and predicate(value):
            return value
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting for {what or name}; last value {value!r}")


def _select(page, label: str, option_label: str) -> None:
    pattern = re.compile(r"^\s*" + re.escape(label) + r"\s*(:.*)?$", re.S)
    title = page.locator("label, .bk-slider-title").filter(has_text=pattern)
    page.locator(".bk-input-group").filter(has=title).first.locator("select").select_option(label=option_label)
    _wait_python(page)


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
def backprop(app_page):
    """The app with the backprop section showing and Python idle."""
    exact = re.compile(r"^\s*" + re.escape(SECTION) + r"\s*$")
    app_page.locator("a, button, .bk-tab, [role=tab]").filter(has_text=exact).first.click()
    app_page.locator(STATS).first.wait_for(state="attached", timeout=60_000)
    _wait_python(app_page)
    return app_page


def test_section_is_interactive_with_rendered_formulas(backprop):
    page = backprop
    assert _stats(page, "data-step") == "0" and _stats(page, "data-playing") == "0"
    assert 0.6 < _value(page, "train-loss") < 0.8             # about log 2: an untrained classifier
    assert page.locator("canvas").count() >= 3                 # boundary, loss, neurons
    # the lecture's formulas are typeset by MathJax, not left as $$ source
    text = page.locator(".bk-panel-models-layout-Column").first.inner_text()
    assert "$$" not in text and "\\delta" not in text
    for label in ("Dataset", "Noise", "Seed", "Hidden layers", "Neurons per layer", "Activation",
                  "Learning rate", "Batch size", "Steps per frame"):
        pattern = re.compile(r"^\s*" + re.escape(label) + r"\s*(:.*)?$", re.S)
        assert page.locator("label, .bk-slider-title").filter(has_text=pattern).count(), label


def test_step_advances_exactly_one_step(backprop):
    page = backprop
    checksum = _stats(page, "data-boundary-checksum")
    _click(page, "Step")
    assert _wait_stats(page, "data-step", lambda v: v != "0") == "1"
    _click(page, "Step")
    assert _wait_stats(page, "data-step", lambda v: v != "1") == "2"
    page.wait_for_timeout(500)
    assert _stats(page, "data-step") == "2"                    # and nothing more
    assert _stats(page, "data-boundary-checksum") != checksum
    native = MLPDemo()
    native.step(2)
    row = native.evaluate()
    assert _value(page, "train-loss") == pytest.approx(row["train_loss"], rel=1e-6)
    assert _value(page, "test-loss") == pytest.approx(row["test_loss"], rel=1e-6)


def test_play_trains_and_pause_stops(backprop):
    page = backprop
    checksum = _stats(page, "data-boundary-checksum")
    _click(page, "Play")
    _wait_stats(page, "data-playing", lambda v: v == "1", what="playing")
    deadline = time.monotonic() + PLAY_TIMEOUT_S
    while _value(page, "train-loss") >= LOSS_TARGET:
        assert time.monotonic() < deadline, f"train loss still {_value(page, 'train-loss')} after play"
        page.wait_for_timeout(250)
    frames = int(_stats(page, "data-frames"))
    page.wait_for_timeout(600)
    assert int(_stats(page, "data-frames")) > frames           # the plots keep refreshing while playing
    assert _stats(page, "data-boundary-checksum") != checksum  # the decision boundary has changed

    _click(page, "Pause")
    _wait_stats(page, "data-playing", lambda v: v == "0", what="paused")
    k = int(_stats(page, "data-step"))
    frames = _stats(page, "data-frames")
    page.wait_for_timeout(1000)
    assert int(_stats(page, "data-step")) == k and _stats(page, "data-frames") == frames

    # what the page shows at step k is what pyfadml computes natively after k steps
    native = MLPDemo()
    native.step(k)
    row = native.evaluate()
    assert row["train_loss"] < LOSS_TARGET
    assert _value(page, "train-loss") == pytest.approx(row["train_loss"], rel=1e-6)
    assert _value(page, "test-acc") == row["test_acc"]
    page.locator(f'[data-testid="inspector-step"][data-step="{k}"]').first.wait_for(state="attached")
    _assert_close(_table(page, "dW"), native.inspect(1)["dW"], "dL/dW^1 after pause")

    _click(page, "Step")                                       # Step after play: exactly one more
    assert _wait_stats(page, "data-step", lambda v: v != str(k)) == str(k + 1)


def test_inspector_shows_the_native_backprop_numbers(backprop):
    page = backprop
    _select(page, "Dataset", "Moons")
    _select(page, "Activation", "ReLU")
    _select(page, "Batch size", "8")
    _click(page, "Reset")
    for _ in range(3):
        _click(page, "Step")
    _wait_stats(page, "data-step", lambda v: v == "3")
    native = MLPDemo(dataset="moons", activation="relu", batch_size=8)
    native.step(3)
    for layer in (1, 2, 3):
        label = f"l = {layer}" + (" (output)" if layer == 3 else "")
        _click(page, label)
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


def test_divergence_pauses_with_a_message(backprop):
    page = backprop
    # moons, leaky ReLU, learning rate 10: natively the loss turns NaN at step 12
    _select(page, "Dataset", "Moons")
    _select(page, "Activation", "leaky ReLU")
    _select(page, "Learning rate", "10")
    _click(page, "Play")
    _wait_stats(page, "data-diverged", lambda v: v == "1", timeout_s=60, what="divergence")
    assert _stats(page, "data-playing") == "0"
    message = page.locator('[data-testid="message"]').first.inner_text()
    assert "diverged at step 12" in message and "learning rate" in message
    assert _stats(page, "data-step") == "11"                   # the failing step did not update anything
    _click(page, "Reset")
    assert _stats(page, "data-diverged") == "0" and _stats(page, "data-step") == "0"
