"""The schedule of :class:`pyfadml.app.live.LiveTraining`: how live training shares one thread with drawing
and with the student's clicks.

**Schedule** (the same in the browser and under ``panel serve``): a *frame* is a training burst of at most
``burst`` seconds (shortened by what the groups due in this frame took last time, so a slow machine loses
training speed, not frame rate, and only in the frames that draw),
then the refresh groups that are due, most overdue first, within the frame's budget, then a yield. In the
browser (Python in a Web Worker) the frames come from one asyncio coroutine that sleeps after every frame and
ends by itself when ``playing`` turns False — no task is cancelled, so a Pause logs nothing; a click on Pause
is handled at the next sleep. Under ``panel serve`` the frames come from ``pn.state.add_periodic_callback``,
which holds the document lock as server callbacks must.

Inside a frame the browser's loop lets the page's messages in every ``YIELD_EVERY`` seconds: the burst
trains in slices that long, with the refresh groups in between, so a click waits for one slice or one group,
not a whole frame; and while the page has not painted the last frame's changes yet (:func:`page_backlog`)
it trains on without drawing, so a slow page gets fewer frames (not slower training) instead of a queue of
stale ones that a Pause would wait behind.

:class:`Schedule` is the controller's half that runs the frames; it uses the controller's ``playing``,
``demo()``, ``burst``, ``period``, ``max_steps``, ``refresh_groups`` and status (``update_status``).
"""
from __future__ import annotations

import asyncio
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, ClassVar

from pyfadml.train import DivergenceError

IN_BROWSER = sys.platform == "emscripten"
MIN_BURST = 0.008        # a frame always trains at least this long (at least one step)
MIN_YIELD = 0.004        # the browser loop always sleeps at least this long between frames
REDUCED_MOTION_EVERY = 1.0
"""With ``prefers-reduced-motion`` (see :func:`set_reduced_motion`) no view is redrawn more often than this
(seconds) while training plays; training itself runs at full speed."""


def set_reduced_motion(on: bool) -> None:
    """The page's ``prefers-reduced-motion`` (sent by index.js through the shell): slows every live refresh."""
    Refresh.min_every = REDUCED_MOTION_EVERY if on else 0.0


def reduced_motion() -> bool:
    return Refresh.min_every > 0


YIELD_EVERY = 0.015      # within a frame the browser loop lets messages (clicks) in after this long (s)
MAX_BACKLOG = 1          # messages of changes the page may have still to paint before the browser loop waits
MAX_BACKLOG_WAIT = 1.0   # ... for at most this long (s): a page that never answers does not stop training


def page_backlog() -> int:
    """Messages of changes the page has not painted yet (the worker's ``pyfadmlBacklog()``; 0 elsewhere)."""
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


class Schedule:
    """The frames of a :class:`~pyfadml.app.live.LiveTraining` (a mixin: the controller holds the state)."""


    def frame(self) -> None:
        """One frame: a time-boxed burst of training, then the refresh groups that are due."""
        for _ in self._frame_pieces():
            pass

    def _frame_pieces(self):
        """:meth:`frame`, piece by piece: yields between the burst's slices, after the burst and between refresh
        groups (where the browser's loop lets a click in) and ends early if the training was paused meanwhile."""
        if not self.playing:
            return
        t0 = time.perf_counter()
        drawing = sum(g.cost for g in self.refresh_groups if g.due(t0 + self.burst))
        burst = min(self.burst, max(MIN_BURST, self.period - drawing - 0.01))
        d = self.demo()
        self._sync_clip(d)
        end, limit = t0 + burst, self.max_steps() if self.max_steps else None
        try:
            while True:       # the burst in slices of at most YIELD_EVERY, so a click waits for one slice
                done = d.train_for(min(YIELD_EVERY, max(end - time.perf_counter(), 0.0)), max_steps=limit)
                if limit is not None:
                    limit -= done
                if limit == 0 or time.perf_counter() >= end:
                    break
                yield
                if not self.playing:
                    return
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
        page's messages every ``YIELD_EVERY`` seconds (between slices of the burst and refresh groups), so a
        click waits for one slice or group, not a whole frame. While the page has not yet painted the last
        frame's changes (:func:`page_backlog`), it trains on without drawing (:meth:`_train_while_waiting`): a
        slow page gets fewer frames instead of a queue of stale ones that a click (Pause) would wait behind."""
        while self.playing and self._run_id == run_id:
            t0 = last_yield = time.perf_counter()
            for _ in self._frame_pieces():
                if time.perf_counter() - last_yield >= YIELD_EVERY:
                    await asyncio.sleep(0)
                    last_yield = time.perf_counter()
                    if not (self.playing and self._run_id == run_id):
                        return
            await asyncio.sleep(max(MIN_YIELD, self.period - (time.perf_counter() - t0)))
            start = time.perf_counter()
            while (page_backlog() > MAX_BACKLOG and time.perf_counter() - start < MAX_BACKLOG_WAIT
                   and self.playing and self._run_id == run_id):
                if not self._train_while_waiting():
                    return
                await asyncio.sleep(MIN_YIELD)

    def _train_while_waiting(self) -> bool:
        """While the page catches up with the frames: a slice of training without drawing, so a slow page
        costs frames, not training speed; none when frames bound their steps (``max_steps``, e.g. one step
        per frame). False when the training diverged."""
        if self.max_steps is not None:
            return True
        try:
            self.demo().train_for(YIELD_EVERY)
        except DivergenceError as exc:
            self._diverged(exc)
            return False
        return True
