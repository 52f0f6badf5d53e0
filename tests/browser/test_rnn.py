"""The "RNN & LSTM" section in the offline site (headless Chromium, every non-loopback request blocked).

What is asserted is read back from the page: the ``data-`` attributes of the stats bars (``seq-stats``,
``race-stats``: numbers from the library's demos) and of the two live controllers' status lines
(``rnn-modes-live``, ``rnn-race-live``: ``data-state``, ``data-step``, ``data-diverged``), after training *in
the page*. Every wait is on an attribute, never a fixed sleep.

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
  words: 0.93 after 100), and for captioning / translation (issue 13, item 2) 0.16 / 0.20 after 50 steps.
"""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

SECTION = "RNN & LSTM"
MODES_LIVE = '[data-testid="rnn-modes-live"]'
RACE_LIVE = '[data-testid="rnn-race-live"]'
SEQ = '[data-testid="seq-stats"]'
RACE = '[data-testid="race-stats"]'
RACE_TAB, GATES_TAB, MODES_TAB = "Vanishing & exploding gradients", "Inside the LSTM", "Three modes"
MODE_LABELS = {"many-to-one": "Many-to-one: sentiment", "one-to-many": "One-to-many: image captioning",
               "many-to-many": "Many-to-many: toy translation"}
MODE_STEPS = {"many-to-one": 200, "one-to-many": 60, "many-to-many": 60}
RACE_T = 40
LSTM_STEPS = 250
LSTM_MIN = 0.85
GAP = 0.3
TRAIN_TIMEOUT_S = 150


def equals(value: str):
    """A predicate for ``ui.wait_attr``: the page's patches may arrive after Python said it is idle."""
    return lambda v: v == value


@pytest.fixture
def rnn(ui):
    """The app with the RNN section showing and Python idle (the ``ui`` helpers bound to its page)."""
    ui.open_section(SECTION)
    ui.page.locator(SEQ).first.wait_for(state="attached", timeout=90_000)
    ui.wait_for_python()
    return ui


def _explode(ui) -> dict:
    """The lesson as the page words it: SGD (Adam would hide the explosion), recurrent scale 5, no clipping,
    Play: the guard refuses the first update. Returns the race's stats."""
    ui.click("SGD")
    ui.slide("Recurrent scale (RNN)", "ArrowRight", 16)              # 1.00 -> 5.00 in steps of 0.25
    assert ui.slider_value("Recurrent scale (RNN)") == "5.00"
    ui.select("Gradient clipping", "off")
    ui.wait_attr(RACE, "data-clip", lambda v: v == "off", what="clipping off")
    ui.wait_attr(RACE, "data-optimizer", equals("sgd"))
    ui.wait_attr(RACE, "data-scale", equals("5"))
    ui.click("Play")
    ui.wait_attr(RACE_LIVE, "data-diverged", lambda v: v == "1", timeout_s=60, what="the explosion")
    return ui.dataset(RACE)


def test_each_mode_trains_in_the_page(rnn):
    ui = rnn
    for mode, label in MODE_LABELS.items():
        if ui.attr(SEQ, "data-mode") != mode:
            ui.select("Mode", label)
            ui.wait_attr(SEQ, "data-mode", lambda v: v == mode, what="the new mode")
        ui.wait_attr(SEQ, "data-step", equals("0"))
        ui.click("Play")
        ui.wait_attr(SEQ, "data-eval-step", lambda v: int(v) >= MODE_STEPS[mode], timeout_s=TRAIN_TIMEOUT_S,
                     what=f"{mode} training")
        ui.click("Pause")
        ui.wait_attr(MODES_LIVE, "data-state", equals("paused"))
        assert ui.live_state("rnn-modes", "data-diverged") == "0"
        d = ui.dataset(SEQ)
        first, last = float(d["firstLoss"]), float(d["loss"])
        assert last < 0.7 * first, f"{mode}: test loss {first:.4f} -> {last:.4f} after {d['evalStep']} steps"
        assert d["step"] == ui.live_state("rnn-modes", "data-step")      # Pause redrew: one step count
    # issue 9, item 6: back to many-to-one after many-to-many, the y axis shows probabilities, not symbols
    ui.select("Mode", MODE_LABELS["many-to-one"])
    ui.wait_attr(SEQ, "data-mode", lambda v: v == "many-to-one", what="many-to-one again")
    ui.wait_attr(SEQ, "data-y-labels", equals("0,0.25,0.5,0.75,1"))


def test_lstm_beats_rnn_on_the_memory_task_and_the_gates_tab_shows_it(rnn):
    ui = rnn
    ui.tab(RACE_TAB)
    d = ui.dataset(RACE)
    assert d["step"] == "0" and d["t"] == str(RACE_T) and d["optimizer"] == "adam" and d["clip"] == "1"
    ui.click("Play")
    ui.wait_attr(RACE, "data-step", lambda v: int(v) >= LSTM_STEPS, timeout_s=TRAIN_TIMEOUT_S, what="training")
    ui.click("Pause")
    ui.wait_attr(RACE_LIVE, "data-state", equals("paused"))
    ui.wait_for_python()
    d = ui.dataset(RACE)
    assert d["step"] == d["evalStep"] == ui.live_state("rnn-race", "data-step")
    rnn_acc, lstm_acc = float(d["rnnAcc"]), float(d["lstmAcc"])
    assert lstm_acc >= LSTM_MIN and lstm_acc - rnn_acc >= GAP, f"LSTM {lstm_acc:.3f}, RNN {rnn_acc:.3f}"
    assert int(d["rnnRows"]) > 0 and int(d["lstmRows"]) > 0                  # a heatmap row per shown step
    assert d["rnnCols"] == d["lstmCols"] == str(RACE_T)                      # ... finite at every time step
    # issue 13, item 4: the colour is relative to t = T, and the ratio ||dL/dh_1|| / ||dL/dh_T|| says the
    # RNN's gradient vanished while the solved LSTM's still reaches the first step (natively at 250 steps:
    # 10^-3.2 and 10^-0.5)
    assert d["colour"] == "relative"
    rnn_reach, lstm_reach = float(d["rnnReach"]), float(d["lstmReach"])
    assert rnn_reach < 1e-2 and lstm_reach > 30 * rnn_reach, (rnn_reach, lstm_reach)
    assert float(ui.attr('[data-testid="race-lstm-reach"]', "data-value")) == lstm_reach
    ui.click("Absolute")
    ui.wait_attr(RACE, "data-colour", equals("absolute"))
    ui.click("Relative to t = T")
    ui.wait_attr(RACE, "data-colour", equals("relative"))
    ui.tab(GATES_TAB)                                  # the trained LSTM's gates, values a sigmoid can take
    info = ui.dataset('[data-testid="lstm-info"]')
    assert info["step"] == d["step"]
    for k in ("f", "i", "o"):
        assert 0.0 < float(info[k]) < 1.0
    svg = ui.page.locator('[data-testid="lstm-diagram"]').first
    svg.wait_for(state="visible", timeout=30_000)
    shown = svg.locator('[data-gate="f"]').first
    assert float(shown.get_attribute("data-value")) == float(info["f"])


def test_exploding_gradients_pause_say_one_number_and_every_way_out_works(rnn):
    ui = rnn
    ui.tab(RACE_TAB)
    d = _explode(ui)
    assert ui.live_state("rnn-race", "data-playing") == "0" and d["exploded"] == "1" and d["step"] == "0"
    message = ui.text('[data-testid="race-message"]')
    assert message.startswith("Exploding gradients.") and "clipping" in message
    # issue 9, item 7: the stat and the message show the same gradient norm, of the refused step
    norm = float(ui.attr('[data-testid="race-rnn-gn"]', "data-value"))
    assert norm == float(d["rnnGn"]) and f"{norm:.2e}" in message and "(step 1)" in ui.text(RACE).lower()
    assert d["rnnCols"] == d["t"]                      # the exploded gradient is in the heatmap, every t
    # way out 1: take the step anyway (the wreck)
    ui.click("Take the step anyway")
    ui.wait_attr(RACE_LIVE, "data-state", lambda v: v == "paused", what="the forced step")
    ui.wait_attr(RACE_LIVE, "data-step", equals("1"))
    assert "without the guard" in ui.text(RACE_LIVE)
    assert ui.page.locator('[data-testid="race-message"]').count() == 0 or ui.text('[data-testid="race-message"]') == ""
    # way out 2: restore and clip (the divergence box's own button), then Play trains on
    ui.click("Reset")
    ui.click("Play")
    ui.wait_attr(RACE_LIVE, "data-diverged", lambda v: v == "1", timeout_s=60, what="the explosion again")
    ui.page.locator(".live-recover-clip button:visible").first.click()
    ui.wait_for_python()
    ui.wait_attr(RACE_LIVE, "data-diverged", lambda v: v == "0", what="recovered")
    ui.wait_attr(RACE, "data-clip", equals("1"))
    assert "Restored the weights" in ui.text(RACE_LIVE)
    ui.click("Play")
    ui.wait_attr(RACE_LIVE, "data-step", lambda v: int(v) >= 5, timeout_s=60, what="training with clipping")
    ui.click("Pause")
    ui.wait_attr(RACE_LIVE, "data-state", equals("paused"))
    assert ui.attr(RACE, "data-exploded") == "0"


def test_a_restless_student_breaks_nothing(rnn):
    """Every control at its extremes and every option, buttons in odd orders, both trainers at once, leaving
    mid-training and coming back, keyboard shortcuts: no Python error, no console error (the ``page``
    fixture fails on one), and every interaction still changes what it should."""
    ui = rnn
    page = ui.page
    for mode, label in MODE_LABELS.items():
        ui.select("Mode", label)
        ui.wait_attr(SEQ, "data-mode", equals(mode))
    for cell in ("LSTM", "RNN", "LSTM"):
        ui.click(cell)
        ui.wait_attr(SEQ, "data-cell", equals(cell.lower()))
        ui.wait_attr('[data-testid="rnn-formula"]', "data-cell", equals(cell))
    for key, value in (("Home", "4"), ("End", "32")):
        ui.slide("Hidden units", key)
        assert ui.slider_value("Hidden units") == value
    for option in ("0.001", "1", "0.01"):
        ui.select("Learning rate (Adam)", option)
    for option in ("off", "0.5", "5", "1"):
        ui.select("Gradient clipping", option)
    ui.slide("Test sequence shown", "End")
    assert ui.slider_value("Test sequence shown") == "15"
    ui.click("Play")
    ui.click("Step")                                   # Step while playing: pauses, then one step
    ui.wait_attr(MODES_LIVE, "data-state", equals("paused"), what="Step while playing")
    k = int(ui.live_state("rnn-modes", "data-step"))
    assert k >= 1
    ui.wait_attr(SEQ, "data-step", equals(str(k)))
    ui.click("Play")
    ui.click("Reset")                                  # Reset while playing
    ui.wait_attr(MODES_LIVE, "data-state", equals("paused"), what="Reset while playing")
    ui.wait_attr(MODES_LIVE, "data-step", equals("0"))
    ui.click("Reset")                                  # Reset twice; Pause is off while paused
    assert page.locator("button.bk-btn:visible").filter(has_text=re.compile(r"^\s*Pause\s*$")).first.is_disabled()
    ui.click("Play")
    ui.wait_attr(MODES_LIVE, "data-step", lambda v: int(v) > 0, what="modes training")
    # the race while the modes train: playing it pauses the modes
    ui.tab(RACE_TAB)
    for key in ("Home", "End"):
        ui.slide("Sequence length T", key)
        ui.slide("Recurrent scale (RNN)", key)
    ui.wait_attr(RACE, "data-t", equals("100"))
    ui.wait_attr(RACE, "data-scale", equals("6"))
    ui.click("SGD")
    ui.wait_attr(RACE, "data-optimizer", equals("sgd"))
    ui.wait_attr(RACE, "data-lr", equals("0.1"))                    # SGD starts at its own default
    ui.select("Learning rate", "1")
    ui.click("Adam")
    ui.wait_attr(RACE, "data-lr", equals("0.01"))
    ui.slide("Sequence length T", "Home")
    ui.click("Play")
    ui.wait_attr(RACE_LIVE, "data-step", lambda v: int(v) > 0, what="race training")
    ui.tab(MODES_TAB)
    ui.wait_attr(MODES_LIVE, "data-state", equals("paused"), what="one trains at a time")
    ui.tab(GATES_TAB)
    for label in ("Test sequence", "Time step t", "Unit"):
        ui.slide(label, "End")
    info = ui.dataset('[data-testid="lstm-info"]')
    assert (info["example"], info["t"], info["unit"]) == ("15", "4", "15")      # T = 5: t ends at 4
    ui.tab(RACE_TAB)
    ui.wait_attr(RACE_LIVE, "data-state", lambda v: v == "playing", what="race still playing")
    ui.open_section("Backprop & decision boundaries")  # leave mid-training and come back
    ui.open_section(SECTION)
    ui.tab(RACE_TAB)
    ui.wait_attr(RACE_LIVE, "data-state", equals("away"))
    assert "while you were away" in ui.text(RACE_LIVE)
    k = int(ui.live_state("rnn-race", "data-step"))
    ui.tab(GATES_TAB)                                  # a round trip through Python and back
    ui.tab(RACE_TAB)
    assert ui.live_state("rnn-race", "data-step") == str(k)          # it did not train in the background
    ui.click("Step")
    ui.wait_attr(RACE_LIVE, "data-step", lambda v: int(v) == k + 1, what="one step after coming back")
    page.locator(RACE).first.click()                  # focus off the Step button (Space would press it)
    page.keyboard.press("s")                           # keyboard: S steps, Space plays and pauses, R resets
    ui.wait_attr(RACE_LIVE, "data-step", lambda v: int(v) == k + 2, what="S key")
    page.keyboard.press("Space")
    ui.wait_attr(RACE_LIVE, "data-state", lambda v: v == "playing", what="Space key")
    page.keyboard.press("Space")
    ui.wait_attr(RACE_LIVE, "data-state", lambda v: v == "paused", what="Space key again")
    page.keyboard.press("r")
    ui.wait_attr(RACE_LIVE, "data-step", lambda v: v == "0", what="R key")
    assert page.locator("#pyfadml-error").is_hidden()
