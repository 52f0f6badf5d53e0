"""The "RNN & LSTM" section in the offline site (headless Chromium, every non-loopback request blocked).

What is asserted is behaviour read back from the page: the numbers the section writes into ``data-*``
attributes of its stats (from the library's demos), after training *in the page*.

Thresholds (tests/test_demo_gradients.py runs the same race natively):
* memory task (pyfadml.data.sequences.make_memory_task: recall the first of T symbols out of 8; chance
  0.125) with the page's defaults (T = 40, Adam 1e-2, clipping 1, 16 units, LSTM forget bias 3; see
  GradientRace's docstring for the measurements): natively, seed 0, the LSTM is at 1.00 and the RNN at
  0.15 after 200 steps, 1.00 / 0.12 after 300. In the page, after LSTM_STEPS = 250 steps, the LSTM must be
  >= LSTM_MIN = 0.85 and at least GAP = 0.3 above the RNN: "clearly above", with room for the page's
  floating-point rounding (numpy without BLAS sums in another order) moving the trajectory; other seeds
  natively: 0.95 / 0.35 and 0.90 / 0.29 at 250 steps also pass, one of three seeds tried (RNN 0.69 at 200)
  would not. The 256-sequence test set's noise is small beside these margins (one standard error of an
  accuracy near 0.5 is 0.03).
* modes: the test loss must fall below 70% of its value at step 0 within MODE_STEPS[mode] steps. Natively
  (same seed) the ratio is 0.32 after 200 steps for the sentiment RNN (which first has to find the opinion
  words: 0.93 after 100), and 0.22 / 0.17 after 50 steps for one-to-many / many-to-many.
"""
from __future__ import annotations

import importlib.util
import re
import time
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("pyfadml_browser_helpers", Path(__file__).with_name("conftest.py"))
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)
wait_for_python = _helpers.wait_for_python
widget = _helpers.widget
section_link = _helpers.section_link

pytestmark = pytest.mark.browser

MODE_STEPS = {"many-to-one": 200, "one-to-many": 60, "many-to-many": 60}
RACE_T = 40
LSTM_STEPS = 250
LSTM_MIN = 0.85
GAP = 0.3
TRAIN_TIMEOUT_MS = 150_000


def _open_section(page):
    section_link(page, "RNN & LSTM").click()
    page.locator("[data-testid=seq-stats]").wait_for(timeout=90_000)
    wait_for_python(page)


def _tab(page, label: str) -> None:
    page.locator(".bk-tab", has_text=label).first.click()
    wait_for_python(page)


def _click(page, label: str) -> None:
    exact = re.compile(r"^\s*" + re.escape(label) + r"\s*$")
    page.locator("button.bk-btn:visible").filter(has_text=exact).first.click()


def _stats(page, testid: str) -> dict:
    loc = page.locator(f"[data-testid={testid}]").first
    return loc.evaluate("e => Object.assign({}, e.dataset)")


def _wait_stat(page, testid: str, condition, timeout_ms: int = TRAIN_TIMEOUT_MS) -> dict:
    """Poll the dataset of ``[data-testid=testid]`` until ``condition(dataset)`` holds; return it.

    (Polled from Python: the site's Content-Security-Policy forbids evaluating strings as code.)"""
    deadline = time.monotonic() + timeout_ms / 1000
    last = None
    while time.monotonic() < deadline:
        try:
            last = _stats(page, testid)
        except Exception:             # re-rendered between locating and reading
            last = None
        if last is not None and condition(last):
            return last
        page.wait_for_timeout(250)
    pytest.fail(f"timed out waiting for {testid}: last seen {last}")


def _slider_to(page, label: str, target: str) -> None:
    """Move a (Discrete/Int)Slider with the keyboard until its title shows ``target``."""
    w = widget(page, label)
    handle = w.locator(".noUi-handle").first
    handle.focus()
    title = w.locator(".bk-slider-title").first
    for _ in range(40):
        value = title.inner_text().split(":")[-1].strip()
        if value == target:
            wait_for_python(page)
            return
        try:
            direction = "ArrowRight" if float(value) < float(target) else "ArrowLeft"
        except ValueError:
            direction = "ArrowRight"
        handle.press(direction)
        page.wait_for_timeout(60)
    pytest.fail(f"slider {label!r} did not reach {target} (shows {title.inner_text()!r})")


def test_each_mode_trains_in_the_page(app_page):
    page = app_page
    _open_section(page)
    for label, mode in (("Many-to-one: sentiment", "many-to-one"), ("One-to-many: generate a wave", "one-to-many"),
                        ("Many-to-many: delayed copy", "many-to-many")):
        select = widget(page, "Mode").locator("select")
        if select.input_value() != mode:
            select.select_option(label=label)
            _wait_stat(page, "seq-stats", lambda d: d["mode"] == mode and d["step"] == "0", 60_000)
        _click(page, "Play")
        _wait_stat(page, "seq-stats", lambda d: int(d["evalStep"]) >= MODE_STEPS[mode])
        _click(page, "Pause")
        d = _wait_stat(page, "seq-stats", lambda d: d["playing"] == "0", 30_000)
        assert d["diverged"] == "0"
        first, last = float(d["firstLoss"]), float(d["loss"])
        assert last < 0.7 * first, f"{mode}: test loss {first:.4f} -> {last:.4f} after {d['evalStep']} steps"
        # the unfolded view shows this mode's sequence length worth of inputs, from the library
        assert page.locator("[data-testid=seq-message]").first.inner_text().startswith("Paused")


def test_lstm_beats_rnn_on_the_memory_task_and_the_heatmap_covers_every_step(app_page):
    page = app_page
    _open_section(page)
    _tab(page, "Vanishing & exploding gradients")
    d = _wait_stat(page, "race-stats", lambda d: d["step"] == "0", 60_000)
    assert d["t"] == str(RACE_T) and d["optimizer"] == "adam"          # the documented settings
    _click(page, "Play")
    _wait_stat(page, "race-stats", lambda d: int(d["step"]) >= LSTM_STEPS)
    _click(page, "Pause")
    d = _wait_stat(page, "race-stats", lambda d: d["playing"] == "0", 30_000)
    rnn, lstm, chance = float(d["rnnAcc"]), float(d["lstmAcc"]), float(d["chance"])
    assert lstm >= LSTM_MIN and lstm - rnn >= GAP, f"LSTM {lstm:.3f}, RNN {rnn:.3f} (chance {chance:.3f})"
    # heatmap: data for every time step of every shown training step, for both models
    assert int(d["rnnRows"]) > 0 and int(d["lstmRows"]) > 0
    assert d["rnnCols"] == d["lstmCols"] == str(RACE_T)
    # the LSTM tab shows the trained LSTM's gates, with values a sigmoid can take
    _tab(page, "Inside the LSTM")
    info = _stats(page, "lstm-info")
    assert int(info["step"]) == int(d["step"])
    for k in ("f", "i", "o"):
        assert 0.0 < float(info[k]) < 1.0
    svg = page.locator("[data-testid=lstm-diagram]").first
    assert svg.is_visible()
    assert re.search(r"f = [+−]\d\.\d\d", svg.text_content())


def test_exploding_gradients_pause_with_a_message_and_the_page_stays_responsive(app_page):
    page = app_page
    _open_section(page)
    _tab(page, "Vanishing & exploding gradients")
    # the lesson as the page words it: SGD (Adam would hide the explosion), large scale, no clipping
    _click(page, "SGD")
    _slider_to(page, "Recurrent scale (RNN)", "5.00")
    page.locator(".bk-Checkbox", has_text="Gradient clipping").locator("input").first.uncheck()
    _wait_stat(page, "race-stats", lambda d: (d["optimizer"], d["scale"], d["clip"]) == ("sgd", "5.0", "None"),
               60_000)
    _click(page, "Play")
    _wait_stat(page, "race-stats", lambda d: d["diverged"] == "1", 60_000)
    d = _stats(page, "race-stats")
    assert d["playing"] == "0" and d["exploded"] == "1"
    message = page.locator("[data-testid=race-message]").first.inner_text()
    assert message.startswith("Exploding gradients.") and "clipping" in message
    # the heatmap shows the exploded gradient, for every time step
    assert d["rnnCols"] == d["t"]
    # still responsive: the offered remedy works and training goes on
    step = int(d["step"])
    _click(page, "Turn on clipping and continue")
    _wait_stat(page, "race-stats", lambda d: d["clip"] == "1.0" and int(d["step"]) >= step + 5, 60_000)
    _click(page, "Pause")
    d = _wait_stat(page, "race-stats", lambda d: d["playing"] == "0", 30_000)
    assert d["diverged"] == "0"
