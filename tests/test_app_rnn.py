"""The "RNN & LSTM" section natively (no browser): its two live controllers, the race's explosion guard as a
divergence with its own ways out, and the issue-9 items of this section."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

pytest.importorskip("panel")

from pyfadml.data.sequences import CAPTION_VOCAB, FR_VOCAB  # noqa: E402
from pyfadml.app.rnn import RNNSection  # noqa: E402
from pyfadml.demos.gradients import ExplodingGradientError  # noqa: E402


@pytest.fixture(scope="module")
def section():
    return RNNSection()


def explode(s: RNNSection) -> ExplodingGradientError:
    """The lesson's settings (SGD, recurrent scale 5, no clipping), then one Step: refused."""
    s.race.optimizer = "sgd"
    s.race.recurrent_scale = 5.0
    s.race.live.clip_norm = 0.0
    s.race.live.step()
    assert s.race.live.state == "diverged"
    return s.race.live.divergence


def test_two_controllers_and_only_one_trains_at_a_time():
    s = RNNSection()
    modes, race = s.live_controllers
    assert (modes.key, race.key) == ("rnn-modes", "rnn-race")
    assert modes.clip_norm == race.clip_norm == 1.0 == s.modes.demo.clip_norm == s.race.demo.clip_norm
    modes.play()
    assert modes.playing
    race.play()                                      # playing the race pauses the modes
    assert race.playing and not modes.playing
    modes.frame()                                    # a late frame of the paused one trains nothing
    assert s.modes.demo.step_count == 0
    race.frame()
    assert s.race.demo.step_count > 0
    for live in s.live_controllers:                  # what the shell does when the student leaves
        live.pause(away=True)
    assert not race.playing and race.state == "away" and modes.state == "paused"     # only the one that played
    assert "while you were away" in race._status.object


def test_settings_reset_the_tab_they_belong_to_and_lr_reaches_the_demo():
    s = RNNSection()
    s.modes.live.step()
    s.race.live.step()
    s.modes.mode = "one-to-many"
    assert s.modes.demo.mode == "one-to-many" and s.modes.demo.step_count == 0
    assert s.race.demo.step_count == 1                # the other tab is untouched
    s.modes.lr = 0.1
    assert s.modes.demo.lr == 0.1
    s.race.optimizer = "sgd"                          # each optimizer starts at its own default rate
    assert s.race.lr == 0.1 and s.race.demo.lr == 0.1 and s.race.demo.optimizer_name == "sgd"
    s.race.seq_len = 10
    assert s.race.demo.T == 10 and s.gates.param.t.bounds == (0, 9)
    for tab in (s.modes, s.race):                     # the clipping control reaches the demo and its stats
        tab.live.clip_norm = 0.0
        assert tab.demo.clip_norm is None and 'data-clip="off"' in tab._stats.object
        tab.live.clip_norm = 5.0
        assert tab.demo.clip_norm == 5.0 and 'data-clip="5"' in tab._stats.object


def test_prediction_axis_keeps_no_symbol_of_another_mode(section):
    """Issue 9, item 6: after many-to-many, the many-to-one axis shows probabilities, not A/B."""
    tab = section.modes
    tab.mode = "many-to-many"
    axis = tab.pred_fig.yaxis[0]
    assert list(axis.major_label_overrides.values()) == list(FR_VOCAB)
    tab.mode = "one-to-many"                                              # the caption's words, only them
    assert list(axis.major_label_overrides.values()) == list(CAPTION_VOCAB)
    assert 'data-testid="caption-example"' in tab._image.object and tab._image.visible
    for mode, ticks in (("many-to-one", [0, 0.25, 0.5, 0.75, 1]),):
        tab.mode = mode
        assert list(axis.ticker.ticks) == ticks
        labels = axis.major_label_overrides
        assert sorted(labels) == sorted(float(t) for t in ticks)          # every tick labelled ...
        assert all(float(text.replace("\u2212", "-")) == t for t, text in labels.items())   # ... by its value
    assert 'data-y-labels="0,0.25,0.5,0.75,1"' in tab._stats.object and not tab._image.visible


def test_header_shows_the_chosen_cells_formula(section):
    section.modes.cell = "LSTM"
    assert 'data-cell="LSTM"' in section._formula.object and "c_t = f_t" in section._formula.object
    assert "four interacting layers" in section._formula.object          # issue 13, item 6: said in words
    assert "three sigmoid layers" in section._formula.object and "one tanh layer" in section._formula.object
    section.modes.cell = "RNN"
    assert 'data-cell="RNN"' in section._formula.object and "\\tanh(x_t W_x" in section._formula.object
    assert "four interacting" not in section._formula.object
    assert 'data-testid="rnn-row-vectors"' in section._formula.object and "column vector" in section._formula.object


def test_explosion_is_a_divergence_and_stat_and_message_show_the_same_norm():
    """Issue 9, item 7: one number, the gradient norm of the refused step, in the stats and the message."""
    s = RNNSection()
    exc = explode(s)
    assert isinstance(exc, ExplodingGradientError) and exc.model == "RNN" and s.race.demo.step_count == 0
    stats, message = s.race._stats.object, s.race._message.object
    assert f'data-rnn-gn="{exc.grad_norm!r}"' in stats and 'data-exploded="1"' in stats
    assert f'data-testid="race-rnn-gn" data-value="{exc.grad_norm!r}"' in stats and "(step 1)" in stats
    assert message.count(f"{exc.grad_norm:.2e}") == 1 and "Exploding gradients." in message
    live = s.race.live
    assert live.box.visible and s.race.live.box.extra[0][0].visible    # "Take the step anyway"


def test_take_the_step_anyway_wrecks_the_rnn_and_clip_and_continue_trains():
    s = RNNSection()
    refused = explode(s).grad_norm
    before = s.race.demo.layers["RNN"].params["Wh"].copy()
    s.force_step()
    live = s.race.live
    assert live.state == "paused" and s.race.demo.step_count == 1 and "without the guard" in live._status.object
    # the step taken is the refused one (same mini-batch): the same gradient norm, now in the history
    assert s.race.demo.history["RNN_grad_norm"][-1] == refused
    assert f'data-rnn-gn="{refused!r}"' in s.race._stats.object and "(step 1)" in s.race._stats.object
    moved = np.linalg.norm(s.race.demo.layers["RNN"].params["Wh"] - before) / np.linalg.norm(before)
    assert moved > 10                                 # the refused update, taken: far beyond the weights' size
    assert 'data-exploded="0"' in s.race._stats.object and s.race._message.object.count("Exploding") == 0
    live.step()                                       # the wrecked RNN's gradient is dead: no explosion now
    explode(RNNSection())                             # (a fresh race explodes again)
    s2 = RNNSection()
    explode(s2)
    s2.clip_and_continue()
    assert s2.race.live.playing and s2.race.live.clip_norm == 1.0 and s2.race.demo.clip_norm == 1.0
    for _ in range(3):
        s2.race.live.frame()
    s2.race.live.pause()
    assert s2.race.live.state == "paused" and s2.race.demo.step_count > 0


def test_an_explosion_and_its_aftermath_warn_nothing():
    """Issue 9, item 8: no NumPy RuntimeWarning on the way (the page's console showed ~100)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = RNNSection()
        explode(s)
        for _ in range(5):
            s.force_step() if s.race.live.state == "diverged" else s.race.live.step()
        s.race.live.playing = True
        for _ in range(5):
            s.race.live.frame()
        s.race.live.pause()
        s.gates.refresh()
        s.modes.lr = 1.0
        s.modes.live.playing = True
        for _ in range(5):
            s.modes.live.frame()
        s.modes.live.pause()


def test_numbers_are_formatted_by_ui(section):
    section.modes.live.reset()
    section.modes.live.step()
    html = section.modes._stats.object
    loss = re.search(r'data-testid="seq-test-loss" data-value="([^"]+)">([^<]+)<', html)
    assert loss and "0.0000" not in loss.group(2) and abs(float(loss.group(2)) - float(loss.group(1))) < 1e-3


def test_gates_follow_the_race_and_stay_in_range():
    s = RNNSection()
    s.gates.t = 39
    s.gates.unit = 15
    s.race.seq_len = 10                                # T shrinks: the time step moves inside the sequence
    assert s.gates.t == 9 and 'data-t="9"' in s.gates._info.object
    s.race.live.step()
    assert f'data-step="{s.race.demo.step_count}"' in s.gates._info.object
