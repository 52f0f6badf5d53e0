"""The shared live-training controller (pyfadml.app.live), natively: buttons, schedule, divergence recovery."""
from __future__ import annotations

import asyncio
import math
import threading
import time

import pytest

pytest.importorskip("panel")

from pyfadml.app.live import LiveTraining, Refresh
from pyfadml.app.schedule import YIELD_EVERY  # noqa: E402
from pyfadml.app.recovery import smaller_option  # noqa: E402
from pyfadml.train import DivergenceError  # noqa: E402


class FakeDemo:
    """The TrainerDemo interface, scripted: ``explode_at`` makes that step raise a DivergenceError unless the
    learning rate is at most ``safe_lr`` or clipping is on."""

    def __init__(self, explode_at=None, safe_lr=0.01, step_seconds=0.001):
        self.step_count, self.lr, self.clip_norm = 0, 1.0, None
        self.explode_at, self.safe_lr, self.step_seconds = explode_at, safe_lr, step_seconds
        self.recovered = []

    def _one(self):
        nxt = self.step_count + 1
        if self.explode_at == nxt and self.lr > self.safe_lr and not self.clip_norm:
            exc = DivergenceError(nxt, "loss", 1e9)
            exc.last_good_step = self.step_count
            raise exc
        time.sleep(self.step_seconds)
        self.step_count = nxt

    def step(self, n=1):
        for _ in range(n):
            self._one()

    def train_for(self, seconds, *, max_steps=None):
        end, done = time.perf_counter() + seconds, 0
        while True:
            self._one()
            done += 1
            if time.perf_counter() >= end or (max_steps and done >= max_steps):
                return done

    def recover(self, lr=None, clip_norm=None):
        if lr is not None:
            self.lr = lr
        self.clip_norm = clip_norm
        self.recovered.append((lr, clip_norm))
        return self.step_count


class Owner:
    """Stands in for a section: an lr parameter with options, and counters of what was drawn."""

    def __init__(self, demo):
        import param

        class P(param.Parameterized):
            lr = param.Selector(default=1.0, objects=[0.001, 0.01, 0.1, 1.0])
            seed = param.Integer(default=0)

        self.p = P()
        self.redraws = 0
        self.resets = 0


def make(demo=None, **kw):
    demo = demo or FakeDemo()
    owner = Owner(demo)
    counts = {"fast": 0, "slow": 0}

    def reset():
        owner.resets += 1
        demo.step_count = 0

    def redraw():
        owner.redraws += 1

    live = LiveTraining("t", demo=lambda: demo, reset=reset, redraw=redraw, settings=owner.p, resets=("seed",),
                        applies=("lr",), applied=lambda: counts.__setitem__("applied", counts.get("applied", 0) + 1),
                        refresh=[Refresh(lambda: counts.__setitem__("fast", counts["fast"] + 1)),
                                 Refresh(lambda: counts.__setitem__("slow", counts["slow"] + 1), every=3600)],
                        **kw)
    return live, demo, owner, counts


def status(live) -> str:
    return live._status.object


def test_step_trains_one_batch_and_redraws():
    live, demo, owner, _ = make()
    live.step()
    live.step()
    assert demo.step_count == 2 and owner.redraws == 2
    assert 'data-step="2"' in status(live) and 'data-state="paused"' in status(live)


def test_settings_apply_to_the_next_step_or_start_again():
    live, demo, owner, counts = make()
    live.step()
    owner.p.lr = 0.01                          # applies: onto the demo, same weights, the section is told
    assert demo.lr == 0.01 and isinstance(demo.lr, float) and demo.step_count == 1
    assert counts["applied"] == 1 and owner.resets == 0
    live.playing = True
    owner.p.seed = 3                           # resets: paused, step 0
    assert owner.resets == 1 and demo.step_count == 0 and not live.playing
    assert 'data-step="0"' in status(live)


def test_frames_train_in_bursts_and_draw_only_what_is_due():
    live, demo, _, counts = make(burst=0.01)
    live.playing = True
    for _ in range(5):
        live.frame()
    assert demo.step_count >= 5
    assert counts["fast"] == 5                 # every frame
    assert counts["slow"] == 1                 # once, then not due again for an hour
    assert 'data-state="playing"' in status(live) and 'data-frames="5"' in status(live)


def test_a_burst_is_shortened_only_in_frames_that_draw_something_slow():
    """A frame trains in slices of at most YIELD_EVERY until its burst is over (the page's clicks get in
    between); the burst is a full one unless a slow group is due."""
    demo = FakeDemo(step_seconds=0.0005)
    frames = []                        # per frame: [(seconds asked for, time the slice ended)]
    train_for = demo.train_for

    def sliced(seconds, **kw):
        done = train_for(seconds, **kw)
        frames[-1].append((seconds, time.perf_counter()))
        return done
    demo.train_for = sliced
    live = LiveTraining("t", demo=lambda: demo, reset=lambda: None, redraw=lambda: None, burst=0.05, period=0.07,
                        refresh=[Refresh(lambda: time.sleep(0.05), every=3600)])
    live.playing = True

    def frame():
        frames.append([])
        start = time.perf_counter()
        live.frame()
        asked = [s for s, _ in frames[-1]]
        return start, asked, frames[-1][-1][1] - start

    _, asked1, trained1 = frame()      # the slow group is due, its cost not known yet: a full burst
    assert live.refresh_groups[0].cost >= 0.04
    _, asked2, trained2 = frame()      # nothing due: a full burst again
    live.refresh_groups[0].last = -math.inf
    _, asked3, _ = frame()             # the slow group is due: the burst leaves it room
    for asked, trained in ((asked1, trained1), (asked2, trained2)):
        assert trained >= 0.05 and asked[0] == YIELD_EVERY and max(asked) <= YIELD_EVERY, asked
    assert sum(asked3) <= 0.02, asked3


def test_max_steps_bounds_a_burst():
    live, demo, _, _ = make(burst=1.0, max_steps=lambda: 3)
    live.playing = True
    live.frame()
    assert demo.step_count == 3


def test_pause_stops_frames_and_redraws_and_a_late_frame_does_nothing():
    live, demo, owner, _ = make()
    live.playing = True
    live.frame()
    live.pause()
    k, redraws = demo.step_count, owner.redraws
    live.frame()
    assert demo.step_count == k and not live.playing
    assert redraws >= 1 and 'data-playing="0"' in status(live)


def test_pause_says_paused_before_the_redraw():
    """The page shows Pause at once: the status changes before a redraw that may take a while."""
    seen = []
    live, demo, owner, _ = make()
    live.redraw = lambda: seen.append((live._status.object, live._pause.disabled))
    live.playing = True
    live.frame()
    live.pause()
    assert 'data-state="paused"' in seen[-1][0] and seen[-1][1]


def test_leaving_the_section_says_paused_while_away_and_play_clears_it():
    live, demo, _, _ = make()
    live.playing = True
    live.frame()
    live.pause(away=True)
    assert live.state == "away" and "while you were away" in status(live)
    live.step()
    assert live.state == "paused"


def test_reset_while_playing_stops_and_rebuilds():
    live, demo, owner, _ = make()
    live.playing = True
    live.frame()
    live.reset()
    assert not live.playing and owner.resets == 1 and demo.step_count == 0
    assert 'data-step="0"' in status(live)


def test_step_while_playing_pauses_then_steps_once():
    live, demo, _, _ = make()
    live.playing = True
    live.frame()
    k = demo.step_count
    live.step()
    assert not live.playing and demo.step_count == k + 1


def test_divergence_pauses_offers_recovery_and_a_smaller_rate_trains_again():
    live, demo, owner, _ = make(FakeDemo(explode_at=4))
    live.playing = True
    for _ in range(10):
        live.frame()
    assert not live.playing and live.state == "diverged" and demo.step_count == 3
    assert 'data-diverged="1"' in status(live) and live.box.visible
    assert "learning rate 0.1" in live.box.lr_button.label and "step 3" in live.box.lr_button.label
    live.play()                                      # Play with the same settings: restores, explodes again
    live.frame()
    assert live.state == "diverged" and demo.recovered == [(None, None)]
    live.recover(lr=live.smaller_lr())              # the button: 1 -> 0.1 is still too large here
    assert owner.p.lr == 0.1 and demo.lr == 0.1 and "Restored the weights of step 3" in status(live)
    live.recover(lr=live.smaller_lr())              # 0.1 -> 0.01: safe
    live.play()
    live.frame()
    assert live.state == "playing" and demo.step_count > 4


def test_clipping_recovers_too_and_the_control_reaches_the_demo():
    live, demo, _, _ = make(FakeDemo(explode_at=2))
    live.step()
    live.step()
    assert live.state == "diverged"
    live.recover(clip_norm=1.0)
    assert live.clip_norm == 1.0 and demo.clip_norm == 1.0 and demo.recovered[-1] == (None, 1.0)
    live.step()
    assert demo.step_count == 2 and live.state == "paused"
    live.clip_norm = 0.0                              # "off"
    assert demo.clip_norm is None


def test_play_after_changing_the_rate_restores_and_goes_on():
    live, demo, owner, _ = make(FakeDemo(explode_at=3))
    live.playing = True
    for _ in range(5):
        live.frame()
    assert live.state == "diverged"
    owner.p.lr = 0.01
    live.play()
    live.frame()
    assert live.state == "playing" and demo.step_count > 3 and demo.recovered



def test_a_section_adds_its_own_recovery_shown_only_for_the_divergences_it_fits():
    live, demo, owner, _ = make(FakeDemo(explode_at=2))
    taken = []

    def force():                                     # e.g. the RNN race's "take the step anyway"
        taken.append(demo.step_count)
        demo.step_count += 1
        return f"Took step {demo.step_count} anyway."

    button = live.add_recovery("Take the step anyway", force, when=lambda exc: exc.value > 1e6)
    other = live.add_recovery("Never offered", lambda: None, when=lambda exc: False)
    assert not button.visible and not live.box.visible
    live.step()
    live.step()
    assert live.state == "diverged" and live.box.visible and button.visible and not other.visible
    live.playing = True                              # a click also pauses
    button.clicks += 1
    assert taken == [1] and demo.step_count == 2 and not live.playing
    assert live.state == "paused" and "Took step 2 anyway." in status(live) and not live.box.visible
    demo.explode_at = 3
    live.step()
    assert live.state == "diverged"

    def explodes_again():
        raise DivergenceError(3, "loss", 1e12)

    live.run_recovery(explodes_again)                # the action diverges again: the box comes back
    assert live.state == "diverged" and live.divergence.value == 1e12 and button.visible

@pytest.mark.parametrize("current, expected", [(10.0, 1.0), (1.0, 0.1), (0.1, 0.01), (0.003, 0.001),
                                                (0.001, 0.0001)])
def test_smaller_option_is_about_ten_times_smaller(current, expected):
    options = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
    assert smaller_option(options, current) == pytest.approx(expected)


def test_browser_loop_yields_between_frames_and_ends_by_itself_on_pause():
    live, demo, _, _ = make(period=0.02, burst=0.005)

    async def scenario():
        live.playing = True
        live._run_id += 1
        task = asyncio.ensure_future(live._run(live._run_id))
        await asyncio.sleep(0.3)                     # only ends if the loop yields
        frames = live.frames
        live.pause()
        await asyncio.wait_for(task, timeout=1.0)   # no cancellation needed
        return frames

    out = {}
    thread = threading.Thread(target=lambda: out.update(frames=asyncio.run(scenario())))
    thread.start()
    thread.join(timeout=30)
    assert out["frames"] >= 3 and not live.playing


def test_in_the_browser_pause_answers_first_and_redraws_in_the_next_turn_of_the_loop():
    """With defer_redraw (the page), Pause returns with the status saying "paused" and redraws right after,
    unless Play, Step or Reset came first."""
    live, demo, owner, _ = make()
    live.defer_redraw = True

    async def scenario():
        live.playing = True
        live.frame()
        before = owner.redraws
        live.pause()
        said = 'data-state="paused"' in status(live)
        pending = owner.redraws == before
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        redrawn = owner.redraws == before + 1
        live.playing = True
        live.pause()
        live.step()                              # Step before the deferred redraw: Step redraws, that one is dropped
        await asyncio.sleep(0.01)
        return said, pending, redrawn, owner.redraws == before + 2

    assert asyncio.run(scenario()) == (True, True, True, True)
    live.pause()                                  # no event loop: at once


def test_browser_loop_lets_a_pause_in_between_two_slow_refresh_groups():
    """A click waits for one refresh group, not for the whole frame: the loop yields between groups and the
    frame ends where the pause found it."""
    drawn = []

    def slow(name):
        def draw():
            time.sleep(0.03)
            drawn.append(name)
        return draw

    demo = FakeDemo()
    live = LiveTraining("t", demo=lambda: demo, reset=lambda: None, redraw=lambda: None, burst=0.02, period=0.05,
                        refresh=[Refresh(slow("a"), every=0), Refresh(slow("b"), every=0)])
    live.defer_redraw = False

    async def scenario():
        live.playing = True
        live._run_id += 1
        task = asyncio.ensure_future(live._run(live._run_id))
        while not drawn:
            await asyncio.sleep(0.001)
        live.pause()                      # handled at the loop's first yield after group "a" or "b"
        await asyncio.wait_for(task, timeout=1.0)

    asyncio.run(scenario())
    assert drawn and len(drawn) == 1 and not live.playing


def test_browser_loop_lets_a_pause_in_during_a_long_burst():
    """The burst trains in slices of YIELD_EVERY with a yield between them: a Pause that comes during a long
    burst ends it at the next slice, not at the burst's end."""
    demo = FakeDemo(step_seconds=0.001)
    live = LiveTraining("t", demo=lambda: demo, reset=lambda: None, redraw=lambda: None, burst=0.5, period=0.6)
    live.defer_redraw = False

    async def scenario():
        live.playing = True
        live._run_id += 1
        task = asyncio.ensure_future(live._run(live._run_id))
        while demo.step_count == 0:
            await asyncio.sleep(0.001)
        first = demo.step_count          # the loop let this coroutine in after the first slice
        live.pause()
        await asyncio.wait_for(task, timeout=2.0)
        return first

    first = asyncio.run(scenario())
    assert not live.playing and live.frames == 1       # the pause's redraw; no frame was completed
    assert demo.step_count == first < 250            # a whole burst: ~500 steps


def test_pause_sends_the_status_first_then_the_buttons():
    """What a Pause changes, in the order the page gets it: the status line says "paused" before the
    buttons change (and before any redraw)."""
    live, demo, owner, _ = make()
    live.defer_redraw = False
    order = []
    live._status.param.watch(lambda e: order.append(("status", 'data-state="paused"' in e.new)), "object")
    live._play.param.watch(lambda e: order.append(("play", e.new)), "disabled")
    live._pause.param.watch(lambda e: order.append(("pause", e.new)), "disabled")
    live.play()
    order.clear()
    live.pause()
    assert order[:3] == [("status", True), ("play", False), ("pause", True)], order


@pytest.mark.parametrize("max_steps, trains", [(None, True), (lambda: 2, False)])
def test_while_the_page_lags_the_browser_loop_trains_on_without_drawing(monkeypatch, max_steps, trains):
    """A page that has not painted the last frame gets no new frame (for up to MAX_BACKLOG_WAIT), but the
    training goes on meanwhile, unless frames bound their steps (max_steps: e.g. one step per frame)."""
    from pyfadml.app import schedule

    monkeypatch.setattr(schedule, "page_backlog", lambda: schedule.MAX_BACKLOG + 5)      # never catches up
    monkeypatch.setattr(schedule, "MAX_BACKLOG_WAIT", 60.0)
    demo = FakeDemo(step_seconds=0.001)
    drawn = []
    live = LiveTraining("t", demo=lambda: demo, reset=lambda: None, redraw=lambda: None, burst=0.005, period=0.02,
                        refresh=[Refresh(lambda: drawn.append(demo.step_count))], max_steps=max_steps)
    live.defer_redraw = False

    async def scenario():
        live.playing = True
        live._run_id += 1
        task = asyncio.ensure_future(live._run(live._run_id))
        await asyncio.sleep(0.3)
        live.pause()
        await asyncio.wait_for(task, timeout=1.0)

    asyncio.run(scenario())
    assert len(drawn) == 1                          # the first frame only: the page never caught up
    if trains:
        assert demo.step_count > drawn[0] + 20      # ... yet training went on
    else:
        assert demo.step_count == drawn[0] == 2
