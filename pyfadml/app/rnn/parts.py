"""What the two trainable tabs share: the live controller and its schedule."""
from __future__ import annotations

from pyfadml.app.live import LiveTraining, Refresh

DRAW_EVERY = 0.3              # seconds between redraws of the views while playing
EVAL_EVERY = 1.5              # seconds between evaluations on the whole test set (and the curves)
CLIP = 1.0                    # both demos' documented clipping: the controllers' control starts there


def live_training(key: str, tab, resets: tuple[str, ...], **schedule) -> LiveTraining:
    """The controller of a trainable tab: ``tab`` has ``demo``, ``lr``, ``_reset_demo``, ``redraw``, the
    refresh groups ``_draw_views`` and ``_evaluate``, and ``_update_stats`` (it names the clipping and the
    learning rate); a change of one of ``resets`` starts again; ``schedule``: LiveTraining's ``burst`` and
    ``period``."""
    live = LiveTraining(key, demo=lambda: tab.demo, reset=tab._reset_demo, redraw=tab.redraw,
                        refresh=[Refresh(tab._draw_views, every=DRAW_EVERY), Refresh(tab._evaluate, every=EVAL_EVERY)],
                        settings=tab, resets=resets, applies=("lr",), applied=tab._update_stats, **schedule)
    live.clip_norm = CLIP
    live.param.watch(lambda event: tab._update_stats(), "clip_norm")
    return live
