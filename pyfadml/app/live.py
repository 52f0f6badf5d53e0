"""One live-training controller for every section: Play / Pause / Step / Reset, one schedule, and a
divergence a lecturer can recover from in one click.

A section declares *what* to train and *what* to draw; the controller does the rest::

    self.live = LiveTraining(
        "backprop", demo=lambda: self.demo, reset=self._reset_demo, redraw=self.redraw,
        refresh=[Refresh(self._draw_boundary), Refresh(self._draw_loss, every=0.15)],
        settings=self, resets=("dataset", "seed", "depth"), applies=("lr", "batch_size"))

``demo()`` returns the object being trained, with the interface of :class:`pyfadml.demos._live.TrainerDemo`:
``train_for(seconds, max_steps=)``, ``step(n)``, ``step_count``, ``clip_norm`` and
``recover(lr=, clip_norm=)``; training raises :class:`pyfadml.train.DivergenceError` when it blows up.
``reset()`` rebuilds it from the section's settings (a change of one of ``settings``' parameters named in
``resets`` does it too; those in ``applies`` are set on the demo for the next step, then ``applied()`` runs);
``redraw()`` draws everything (after Pause, Step, Reset
and a recovery); each :class:`Refresh` is a group of views redrawn while playing, at most every ``every``
seconds.

**Schedule** (the same in the browser and under ``panel serve``): a *frame* is a training burst of at most
``burst`` seconds (shortened by what the groups due in this frame took last time, so a slow machine loses
training speed, not frame rate, and only in the frames that draw),
then the refresh groups that are due, most overdue first, within the frame's budget, then a yield. In the
browser (Python in a Web Worker) the frames come from one asyncio coroutine that sleeps after every frame and
ends by itself when ``playing`` turns False — no task is cancelled, so a Pause logs nothing; a click on Pause
is handled at the next sleep. Under ``panel serve`` the frames come from ``pn.state.add_periodic_callback``,
which holds the document lock as server callbacks must.

**Divergence**: the library stops a step whose loss or update explodes before it touches the weights. The
controller then pauses, says what happened, and offers what works: restore the last good weights and go on
with a smaller learning rate, or with gradient clipping (a control that is always on the page). Pressing
Play (or Step) after changing either also restores and goes on. A section can add its own way out with
:meth:`LiveTraining.add_recovery` (the RNN race's "take the step anyway").
"""
from __future__ import annotations

import asyncio
import math
import sys
import time
from dataclasses import dataclass, field
from html import escape
from typing import Any, Callable, ClassVar

import panel as pn
import param

from pyfadml.app import theme, ui
from pyfadml.app.recovery import DivergenceBox, smaller_option
from pyfadml.train import DivergenceError

IN_BROWSER = sys.platform == "emscripten"
MIN_BURST = 0.008        # a frame always trains at least this long (at least one step)
MIN_YIELD = 0.004        # the browser loop always sleeps at least this long between frames
CLIP_OPTIONS = {"off": 0.0, "0.5": 0.5, "1": 1.0, "5": 5.0}   # 0: no clipping
BUTTON_WIDTH = 58
REDUCED_MOTION_EVERY = 1.0
"""With ``prefers-reduced-motion`` (see :func:`set_reduced_motion`) no view is redrawn more often than this
(seconds) while training plays; training itself runs at full speed."""


def set_reduced_motion(on: bool) -> None:
    """The page's ``prefers-reduced-motion`` (sent by index.js through the shell): slows every live refresh."""
    Refresh.min_every = REDUCED_MOTION_EVERY if on else 0.0


def reduced_motion() -> bool:
    return Refresh.min_every > 0


YIELD_EVERY = 0.015      # within a frame the browser loop lets messages (clicks) in after this long (s)
MAX_BACKLOG = 1          # messages of changes the page may have still to apply before the browser loop waits
MAX_BACKLOG_WAIT = 1.0   # ... for at most this long (s): a page that never answers does not stop training


def page_backlog() -> int:
    """Messages of changes the page has not applied yet (the worker's ``pyfadmlBacklog()``; 0 elsewhere)."""
    if not IN_BROWSER:
        return 0
    import js
    backlog = getattr(js, "pyfadmlBacklog", None)
    return int(backlog()) if backlog is not None else 0


@dataclass
class Refresh:
    """A group of views redrawn together while training, at most every ``every`` seconds (0: each frame)."""

    draw: Callable[[], None]
    every: float = 0.0
    last: float = field(default=-math.inf, repr=False)
    cost: float = field(default=0.0, repr=False)       # seconds a draw takes (a running average)
    min_every: ClassVar[float] = 0.0                   # every group's floor (reduced motion)

    def lateness(self, now: float) -> float:
        return now - self.last - max(self.every, self.min_every)

    def due(self, now: float) -> bool:
        return self.lateness(now) >= 0


class LiveTraining(pn.viewable.Viewer):
    """Play / Pause / Step / Reset, the gradient-clipping control, a status line and the divergence box.

    ``key`` names it in the page (``data-testid="<key>-live"`` on the status line, which carries
    ``data-state`` = playing | paused | away | diverged, ``data-step``, ``data-playing``, ``data-diverged``,
    ``data-frames``, ``data-frame-ms``, ``data-steps-per-s``, ``data-paused-at``).
    """

    playing = param.Boolean(default=False, doc="Training runs in the background.")
    clip_norm = param.Selector(default=0.0, objects=list(CLIP_OPTIONS.values()),
                               doc="Gradient clipping: the joint L2 norm of all gradients is capped at this.")

    def __init__(self, key: str, *, demo: Callable[[], Any], reset: Callable[[], None],
                 redraw: Callable[[], None], refresh: list[Refresh] = (), settings: Any = None,
                 resets: tuple[str, ...] = (), applies: tuple[str, ...] = (), applied: Callable[[], None] = None,
                 burst: float = 0.035, period: float = 0.08, max_steps: Callable[[], int | None] | None = None,
                 step_label: str = "Step", **params):
        super().__init__(**params)
        self.key, self.demo, self._reset, self.redraw = key, demo, reset, redraw
        self.refresh_groups = list(refresh)
        self.lr_owner = (settings, "lr") if "lr" in applies else None
        self._applied = applied
        if resets:
            settings.param.watch(lambda *events: self.reset(), list(resets))
        if applies:
            settings.param.watch(self._apply, list(applies))
        self.burst, self.period, self.max_steps = burst, period, max_steps
        self.frames = 0
        self.frame_ms = 0.0
        self.divergence: DivergenceError | None = None
        self.note = ""                 # a one-off line for the status (e.g. "Restored the weights of step 11")
        self.away = False
        self._paused_at = 0.0
        self._run_id = 0
        self._cb = None
        self._rate = (time.perf_counter(), 0)     # (time, step) where the steps/s window starts
        self.steps_per_s = 0.0
        W = pn.widgets

        def button(label, css_class, action, **kw):
            b = W.Button(label=label, width=BUTTON_WIDTH, margin=(4, 3), css_classes=[css_class], **kw)
            b.on_click(action)
            return b
        self._play = button("Play", "live-play", self.play, color="success", stylesheets=[theme.BUTTON_CSS])
        self._pause = button("Pause", "live-pause", self.pause, color="warning", disabled=True,
                             stylesheets=[theme.BUTTON_CSS])
        self._step = button(step_label, "live-step", self.step, color="primary", variant="outline")
        self._reset_btn = button("Reset", "live-reset", self.reset)
        self._clip = W.Select.from_param(self.param.clip_norm, label="Gradient clipping", options=CLIP_OPTIONS,
                                         sizing_mode="stretch_width", margin=(6, 5, 0, 5),
                                         description="Caps the length of the whole gradient vector before each "
                                                     "update: large gradients keep their direction but not their size.")
        self._status = pn.pane.HTML("", stylesheets=[theme.LIVE_CSS], sizing_mode="stretch_width", margin=(6, 5, 0, 5))
        self.box = DivergenceBox(self)
        self._layout = pn.Column(
            pn.Row(self._play, self._pause, self._step, self._reset_btn, margin=0, sizing_mode="stretch_width",
                   styles={"flex-wrap": "wrap"}),
            self._status, self.box, self._clip, sizing_mode="stretch_width", margin=0)
        self.update_status()

    def __panel__(self):
        return self._layout

    # ------------------------------------------------------------------------------------------
    # the four buttons (also callable from Python and tests)
    # ------------------------------------------------------------------------------------------

    def play(self, event=None) -> None:
        """Train in the background until Pause (after a divergence: restore, then go on)."""
        if self.playing:
            return
        if self.divergence is not None and not self._recover_quietly():
            return
        self.away = False
        self.note = ""
        self.playing = True
        self._run_id += 1
        self._rate = (time.perf_counter(), self._step_count())
        self._sync_buttons()
        self.update_status()
        if IN_BROWSER:
            asyncio.ensure_future(self._run(self._run_id))
        elif self._cb is None:
            self._cb = pn.state.add_periodic_callback(self.frame, period=int(1000 * self.period), start=True)

    def pause(self, event=None, *, away: bool = False) -> None:
        """Stop training; everything is redrawn. ``away``: the section was left (the status says so).

        The page says "paused" at once, before a redraw that may be slow: with ``defer_redraw`` (in the
        browser) the redraw runs in its own turn of the event loop, after this click's changes have gone to
        the page (Python's changes reach the page when the click's callback returns)."""
        was_playing = self.playing
        self._stop()
        if was_playing:
            self.away = away
            self._paused_at = time.time()
            self.update_status()
            if self.defer_redraw and self._redraw_soon():
                return
            self._redraw()
        else:
            self.update_status()

    defer_redraw = IN_BROWSER

    def _redraw_soon(self) -> bool:
        """Schedule the redraw after Pause on the running event loop; False when there is none."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        run_id = self._run_id

        def redraw():
            if not self.playing and self._run_id == run_id:   # nothing else has redrawn since
                self._redraw()
        loop.call_soon(redraw)
        return True

    def step(self, event=None) -> None:
        """Pause if needed, then train exactly one mini-batch."""
        self._stop()
        self.away = False
        if self.divergence is not None and not self._recover_quietly():
            return
        self.note = ""
        try:
            self.demo().step(1)
        except DivergenceError as exc:
            self._diverged(exc)
            return
        self._redraw()

    def reset(self, event=None) -> None:
        """Pause, then new data and weights from the section's settings (step 0)."""
        self._stop()
        self.away = False
        self.divergence = None
        self.note = ""
        self._reset()
        self._redraw()

    def recover(self, *, lr: float | None = None, clip_norm: float | None | str = "unchanged") -> int:
        """Restore the last good weights and continue with ``lr`` and/or ``clip_norm``; returns that step."""
        self._stop()
        if lr is not None and self.lr_owner is not None:
            owner, name = self.lr_owner
            setattr(owner, name, lr)             # applied to the demo by _apply
        if clip_norm != "unchanged":
            self.clip_norm = clip_norm
        d = self.demo()
        kwargs = {"lr": lr} if lr is not None else {}
        step = d.recover(clip_norm=self.clip_norm or None, **kwargs)
        changes = []
        if lr is not None:
            changes.append(f"learning rate {lr:g}")
        if self.clip_norm:
            changes.append(f"gradients clipped at {self.clip_norm:g}")
        self.note = (f"Restored the weights of step {step:,}" + (f", now with {' and '.join(changes)}" if changes
                     else "") + ". Press Play to go on.")
        self.divergence = None
        self._redraw()
        return step

    def add_recovery(self, label: str, action: Callable[[], str | None], *,
                     when: Callable[[DivergenceError], bool] = lambda exc: True, css_class: str = "live-recover-extra"):
        """A section's own way out of a divergence: a button in the divergence box, shown when ``when(exc)``
        holds for the divergence. A click pauses, clears the divergence, runs ``action()`` (which may raise
        :class:`DivergenceError` again: the box comes back) and redraws; the string it returns, if any, is
        the status line's note. Returns the button."""
        return self.box.add(label, action, when=when, css_class=css_class)

    def run_recovery(self, action: Callable[[], str | None]) -> None:
        """Pause, clear the divergence and run ``action()`` (see :meth:`add_recovery`), then redraw."""
        self._stop()
        self.away = False
        self.divergence = None
        try:
            note = action()
        except DivergenceError as exc:
            self._diverged(exc)
            return
        self.note = note or ""
        self._redraw()

    def _apply(self, *events) -> None:
        """A setting that applies to the next step (learning rate, batch size, β): onto the demo, no reset."""
        d = self.demo()
        for event in events:
            current = getattr(d, event.name)
            convert = type(current) if isinstance(current, (int, float)) and not isinstance(current, bool) else None
            setattr(d, event.name, convert(event.new) if convert else event.new)
        if self._applied is not None:
            self._applied()
        self.update_status()

    # ------------------------------------------------------------------------------------------
    # the schedule
    # ------------------------------------------------------------------------------------------

    def frame(self) -> None:
        """One frame: a time-boxed burst of training, then the refresh groups that are due."""
        for _ in self._frame_pieces():
            pass

    def _frame_pieces(self):
        """:meth:`frame`, piece by piece: yields after the burst and between refresh groups (where the browser's
        loop lets a click in) and ends early if the training was paused meanwhile."""
        if not self.playing:
            return
        t0 = time.perf_counter()
        drawing = sum(g.cost for g in self.refresh_groups if g.due(t0 + self.burst))
        burst = min(self.burst, max(MIN_BURST, self.period - drawing - 0.01))
        d = self.demo()
        self._sync_clip(d)
        try:
            d.train_for(burst, max_steps=self.max_steps() if self.max_steps else None)
        except DivergenceError as exc:
            self._diverged(exc)
            return
        t1 = time.perf_counter()
        for _ in self._due_pieces(t1, max(self.period - (t1 - t0), 0.5 * self.period), []):
            yield
            if not self.playing:
                return
        t2 = time.perf_counter()
        self.frame_ms = 1000.0 * (t2 - t0)
        self.frames += 1
        start, step0 = self._rate
        if t2 - start >= 1.0:
            step = self._step_count()
            self.steps_per_s = (step - step0) / (t2 - start)
            self._rate = (t2, step)
        self.update_status()

    def draw_due(self, now: float, budget: float = math.inf) -> list[int]:
        """Redraw the due refresh groups, most overdue first, while ``budget`` seconds last (at least one).
        Returns their indices."""
        done: list[int] = []
        for _ in self._due_pieces(now, budget, done):
            pass
        return done

    def _due_pieces(self, now: float, budget: float, done: list[int]):
        """:meth:`draw_due`, yielding before each group it draws (appended to ``done``)."""
        late = sorted(((g.lateness(now), i) for i, g in enumerate(self.refresh_groups)), reverse=True)
        for lateness, i in late:
            if lateness < 0 or (done and time.perf_counter() - now > budget):
                break
            yield i
            group, t = self.refresh_groups[i], time.perf_counter()
            group.draw()
            group.cost = 0.7 * group.cost + 0.3 * (time.perf_counter() - t) if group.cost else time.perf_counter() - t
            group.last = now
            done.append(i)

    async def _run(self, run_id: int) -> None:
        """The browser's loop: a frame, then a sleep (always), until paused. Within a frame it yields to the
        page's messages every ``YIELD_EVERY`` seconds (between refresh groups), so a click waits for one
        group, not a whole frame. While the page has not yet applied the last frame's changes
        (:func:`page_backlog`), it sleeps on: a slow page gets fewer frames instead of a queue of stale ones
        that a click (Pause) would wait behind."""
        while self.playing and self._run_id == run_id:
            t0 = last_yield = time.perf_counter()
            for _ in self._frame_pieces():
                if time.perf_counter() - last_yield >= YIELD_EVERY:
                    await asyncio.sleep(0)
                    last_yield = time.perf_counter()
                    if not (self.playing and self._run_id == run_id):
                        return
            await asyncio.sleep(max(MIN_YIELD, self.period - (time.perf_counter() - t0)))
            waited = 0.0
            while page_backlog() > MAX_BACKLOG and waited < MAX_BACKLOG_WAIT and self.playing:
                await asyncio.sleep(MIN_YIELD)
                waited += MIN_YIELD

    def _stop(self) -> None:
        self.playing = False
        self._run_id += 1
        if self._cb is not None:
            cb, self._cb = self._cb, None
            cb.stop()
        self._sync_buttons()

    # ------------------------------------------------------------------------------------------
    # divergence
    # ------------------------------------------------------------------------------------------

    def _diverged(self, exc: DivergenceError) -> None:
        self._stop()
        self.divergence = exc
        self.note = ""
        self.box.show(exc)
        self._redraw()

    def smaller_lr(self) -> float:
        """The learning rate the divergence box offers: the next option at least ten times smaller."""
        if self.lr_owner is None:
            return float(self.demo().lr) / 10.0
        owner, name = self.lr_owner
        objects = getattr(owner.param[name], "objects", None) or []
        return smaller_option(objects, float(getattr(owner, name)))

    def _recover_quietly(self) -> bool:
        """Play/Step after a divergence: restore the last good weights with the current settings."""
        try:
            self.recover()
        except Exception as exc:           # a demo that cannot recover: say so instead of failing
            self.note = f"Could not restore the last good weights ({escape(str(exc))}). Press Reset."
            self.update_status()
            return False
        return True

    def _sync_clip(self, d) -> None:
        if getattr(d, "clip_norm", None) != (self.clip_norm or None):
            d.clip_norm = self.clip_norm or None

    @param.depends("clip_norm", watch=True)
    def _clip_changed(self) -> None:
        self._sync_clip(self.demo())

    # ------------------------------------------------------------------------------------------
    # what the page shows
    # ------------------------------------------------------------------------------------------

    def _redraw(self) -> None:
        self._sync_clip(self.demo())
        self.redraw()
        for g in self.refresh_groups:
            g.last = time.perf_counter()
        self.frames += 1
        self.update_status()

    def _step_count(self) -> int:
        return int(self.demo().step_count)

    def _sync_buttons(self) -> None:
        self._play.disabled = self.playing
        self._pause.disabled = not self.playing

    @property
    def state(self) -> str:
        if self.divergence is not None:
            return "diverged"
        if self.playing:
            return "playing"
        return "away" if self.away else "paused"

    def status_text(self) -> str:
        step = self._step_count()
        state = self.state
        if state == "diverged":
            return escape(str(self.divergence))
        if state == "playing":
            rate = f", {self.steps_per_s:,.0f} steps/s" if self.steps_per_s else ""
            return f"Training: step <b>{step:,}</b>{rate}."
        if state == "away":
            return f"Paused while you were away, at step <b>{step:,}</b>. Press Play to continue."
        if self.note:
            return escape(self.note)
        return f"Paused at step <b>{step:,}</b>." if step else "Ready: press Play, or Step for one mini-batch."

    def update_status(self) -> None:
        # Not a live region itself: redrawn every frame, it would talk over everything. The page's one polite
        # region (index.js, #pyfadml-announce) reads it and the stats at most every few seconds.
        state = self.state
        self.box.visible = state == "diverged"
        self._status.object = (
            f'<div class="live-state {state}{" recovered" if self.note else ""}" '
            f'data-testid="{self.key}-live" '
            + ui.attrs(state=state, step=self._step_count(), playing=int(self.playing),
                       diverged=int(state == "diverged"), frames=self.frames, frame_ms=f"{self.frame_ms:.1f}",
                       steps_per_s=f"{self.steps_per_s:.1f}", paused_at=f"{1000 * self._paused_at:.0f}")
            + f'><span class="dot"></span>{self.status_text()}</div>')
