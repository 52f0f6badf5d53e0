"""Explainability, the lecture's third demerit of CNN: an occlusion map of the input the feature maps show.

A 4x4 grey patch (the background value 0) slides over the image; at each position the network predicts
again, and the map shows how much the probability of the class it predicted drops when that part is hidden
(:meth:`pyfadml.demos.cnn.CNNDemo.occlusion`). It is computed when training is paused (it costs as many
predictions as there are patch positions); while training it shows the last one, and says so.
"""
from __future__ import annotations

from html import escape
from typing import Callable

import numpy as np
import panel as pn

from pyfadml.app import ui
from pyfadml.app.cnn.helpers import INK, SEQUENTIAL, TileFigure

PATCH = 4

EXPLAIN = """<p class="muted secondary"><b>Loss of explainability.</b> The network's answer is a sum over
thousands of learned weights; no rule says <i>why</i>. Occlusion is one way to ask: hide a part, watch the
probability fall. On the lecture's application, <b>breast-cancer detection</b> in mammograms, this matters:
a radiologist must see <i>where</i> the network found a tumour, and a network that looks at a scanner's label,
a ruler or the image border instead of the tissue can score well on its test set and still be wrong for the
next hospital. Dark blue: hiding these pixels lowers the probability most.</p>"""


class OcclusionView(ui.View):
    """The input and its occlusion map, a caption with the numbers, and the text on why it matters."""

    def __init__(self, demo: Callable, playing: Callable[[], bool] = lambda: False, **params):
        super().__init__(**params)
        self.demo, self.playing = demo, playing
        self.tiles = TileFigure(palette=SEQUENTIAL, symmetric=False, tile_px=112, gap_px=10, max_cols=2,
                                max_width=250, label_px=14)
        self.input_tile = TileFigure(palette=INK, symmetric=False, tile_px=112, max_width=130, label_px=14)
        self._caption = ui.prose()
        self.result: dict | None = None
        self._step = -1
        self._layout = pn.Column(
            ui.prose("<h3>Which pixels decide? (occlusion)</h3>", sizing_mode=None),
            pn.Row(pn.pane.Bokeh(self.input_tile.fig), pn.pane.Bokeh(self.tiles.fig)), self._caption,
            ui.prose(EXPLAIN),
            width=420)

    def draw(self, image, what: str) -> None:
        """The occlusion map of ``image`` (named ``what`` in the caption); while training, only a note."""
        d = self.demo()
        if self.playing():
            if self.result is not None:
                self._caption.object = self._caption_html(d, what, stale=True)
            return
        img = np.asarray(image, dtype=np.float64)
        if not np.any(img):
            self.result = None
            self.input_tile.show([img], ["input"], scale=1.0)
            self.tiles.show([np.zeros_like(img)], ["drop in log p"], scale=1.0)
            self._caption.object = ("<p class='muted' data-testid='occlusion' data-state='empty'>The input is "
                                    "empty: nothing to hide.</p>")
            return
        r = self.result = d.occlusion(img, patch=PATCH)
        self._step = d.step_count
        peak = float(np.max(r["map"]))
        self.input_tile.show([img], ["input"], scale=1.0)
        self.tiles.show([np.clip(r["map"], 0.0, None)], ["drop in log p"], scale=peak if peak > 0 else 1.0)
        self._caption.object = self._caption_html(d, what)

    def _caption_html(self, d, what: str, *, stale: bool = False) -> str:
        r = self.result
        ink = r["ink_share"]
        peak = float(np.max(r["map"]))
        name = escape(d.class_names[r["class"]])
        note = (f" <i>Training: this map is from step {self._step:,}; press Pause to update it.</i>"
                if stale else "")
        return (f"<p class='muted' data-testid='occlusion' data-state='{'stale' if stale else 'fresh'}' "
                f"data-class='{name}' data-step='{self._step}' data-peak='{ui.exact(peak)}' "
                f"data-ink-share='{ui.exact(ink)}' data-ink-pixels='{ui.exact(r['ink_pixels'])}'>"
                f"{escape(what[:1].upper() + what[1:])}: the network says <b>{name}</b> ({ui.pct(r['prob'], 1)}). "
                f"The worst {PATCH}×{PATCH} patch lowers it to <b>{ui.pct(r['min_prob'], 1)}</b> "
                f"(map: the drop in log-probability); {ui.pct(ink, 0)} of the total drop lies on the drawn "
                f"strokes, which are {ui.pct(r['ink_pixels'], 0)} of the pixels.{note}</p>")
