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

**Schedule**: see :mod:`pyfadml.app.schedule` (the frames: a burst of training, the due refresh groups,
a yield; the same in the browser and under ``panel serve``).

**Divergence**: the library stops a step whose loss or update explodes before it touches the weights. The
controller then pauses, says what happened, and offers what works: restore the last good weights and go on
with a smaller learning rate, or with gradient clipping (a control that is always on the page). Pressing
Play (or Step) after changing either also restores and goes on. A section can add its own way out with
:meth:`LiveTraining.add_recovery` (the RNN race's "take the step anyway").
"""
from __future__ import annotations

import asyncio
import time
from html import escape
from typing import Any, Callable

import panel as pn
import param

from pyfadml.app import theme, ui
from pyfadml.app.recovery import DivergenceBox, smaller_option
from pyfadml.app.schedule import IN_BROWSER, Refresh, Schedule  # noqa: F401 (Refresh: sections import it here)
from pyfadml.train import DivergenceError

CLIP_OPTIONS = {"off": 0.0, "0.5": 0.5, "1": 1.0, "5": 5.0}   # 0: no clipping
BUTTON_WIDTH = 58


class LiveTraining(Schedule, pn.viewable.Viewer):
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
        self.settings = settings
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

        The page says "paused" at once, before a redraw that may be slow: the status line is the first change
        sent (before the buttons), and with ``defer_redraw`` (in the browser) the redraw runs in its own turn of
        the event loop, after this click's changes have gone to the page."""
        was_playing = self.playing
        self._halt()
        if was_playing:
            self.away = away
            self._paused_at = time.time()
        self.update_status()           # the first change the page gets: "paused" before the buttons
        self._sync_buttons()
        if was_playing:
            if self.defer_redraw and self._redraw_soon():
                return
            self._redraw()

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

    def restart(self, **settings) -> None:
        """Reset to step 0 with ``settings`` (values of the section's parameters): a change of one of them
        resets through its watcher, otherwise a plain Reset."""
        changed = {k: v for k, v in settings.items() if getattr(self.settings, k) != v}
        if changed:
            self.settings.param.update(**changed)
        else:
            self.reset()

    def say(self, note: str) -> str:
        """Show ``note`` on the status line until the next action; returns it."""
        self.note = note
        self.update_status()
        return note

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

    def _stop(self) -> None:
        self._halt()
        self._sync_buttons()

    def _halt(self) -> None:
        """Stop the frames (the buttons are left as they are)."""
        self.playing = False
        self._run_id += 1
        if self._cb is not None:
            cb, self._cb = self._cb, None
            cb.stop()

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
