"""What the three tabs lay out the same way: headings, prose, the sticky controls column and the card."""
from __future__ import annotations

import panel as pn

from pyfadml.app import theme, ui
from pyfadml.app.live import LiveTraining, Refresh

PROSE = [theme.PROSE_CSS]
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


heading = ui.heading


def prose(text: str, *, math: bool = False, **kw) -> pn.pane.HTML:
    """Text in the page's style, as wide as its column (``math``: render \\( \\) formulas)."""
    kw.setdefault("sizing_mode", "stretch_width")
    kw.setdefault("margin", (0, 5))
    return pn.pane.HTML(text, stylesheets=PROSE, disable_math=not math, **kw)


def screen(controls: list, main: list) -> pn.Row:
    """A tab: the controls column on the left (sticky: Play and the main controls stay in view at 1280x720),
    the card with everything drawn on the right. Widgets in ``controls`` stretch to the column's width."""
    left = ui.controls(*controls)
    right = pn.Column(*main, stylesheets=[theme.CARD_CSS], sizing_mode="stretch_width")
    return pn.Row(left, right, sizing_mode="stretch_width")
