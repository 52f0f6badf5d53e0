"""Deeper features you can read: the test patches that excite each level-2 feature most, and the test
images that score highest for each class (the dense layer: level 3, shapes).

Every patch comes from :meth:`pyfadml.demos.cnn.CNNDemo.top_patches`. A level-2 unit sees an 8x8 patch of the
input (its receptive field: conv 3x3, pool 2x2, conv 3x3), so its strongest patches show what it detects:
corners, crossings, ends of strokes, the boundaries the lecture puts at level 2. Computed when training is
paused (a forward pass over 300 test images); while training it says so.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import panel as pn

from pyfadml.app import ui
from pyfadml.app.cnn.helpers import INK, TileFigure

TOP = 4

TEXT = """<h3>Deeper features: what excites them</h3><p class="muted secondary">A level-2 unit looks at an
8×8 patch of the input (its <i>receptive field</i>: a 3×3 kernel on 2×2 pooled 3×3 responses). Each column
below is one level-2 feature, with the {top} test patches that excite it most: parts of strokes, corners,
crossings, ends, the <b>boundaries</b> the lecture puts at level 2. This network has two convolution levels;
its third level is the dense layer, whose units are the classes: the test images that score highest for each
class are whole <b>shapes</b> (the lecture's level 3). A fourth level, associations of objects, needs scenes
with several objects and a deeper network.</p>"""


class FeaturesView(ui.View):
    """Top-activating test patches of every level-2 feature and top images of every class."""

    def __init__(self, demo: Callable, playing: Callable[[], bool] = lambda: False, **params):
        super().__init__(**params)
        self.demo, self.playing = demo, playing
        self.level2 = TileFigure(palette=INK, symmetric=False, tile_px=40, gap_px=6, max_cols=16, max_width=760,
                                 label_px=13)
        self.level3 = TileFigure(palette=INK, symmetric=False, tile_px=48, gap_px=8, max_cols=10, max_width=760,
                                 label_px=13)
        self._caption = ui.prose()
        self._layout = pn.Column(ui.prose(TEXT.format(top=TOP)), self._caption,
                                 ui.muted("level 2: one column per feature (#), strongest patch on top"),
                                 pn.pane.Bokeh(self.level2.fig),
                                 ui.muted("level 3 (the dense layer): one column per class, highest-scoring test images"),
                                 pn.pane.Bokeh(self.level3.fig), sizing_mode="stretch_width")
        self.step = -1
        self.results: dict[int, dict] = {}

    def draw(self) -> None:
        d = self.demo()
        if self.playing():
            if self.step >= 0:
                self._caption.object = self._caption_html(stale=True)
            return
        r2, r3 = d.top_patches(2, k=TOP), d.top_patches(3, k=3)
        self.results = {2: r2, 3: r3}
        self.step = d.step_count
        self._show(self.level2, r2, [f"#{c + 1}" for c in range(r2["patches"].shape[0])])
        self._show(self.level3, r3, list(d.class_names))
        self._caption.object = self._caption_html()

    @staticmethod
    def _show(fig: TileFigure, r: dict, names: list[str]) -> None:
        C, k = r["patches"].shape[:2]
        tiles = [r["patches"][c, rank] for rank in range(k) for c in range(C)]     # row = rank, column = unit
        labels = [names[c] if rank == 0 else "" for rank in range(k) for c in range(C)]
        fig.max_cols = C
        fig.show(tiles, labels, scale=1.0)

    def _caption_html(self, *, stale: bool = False) -> str:
        r2 = self.results[2]
        note = (f" <i>Training: these are from step {self.step:,}; press Pause to update them.</i>" if stale else "")
        return (f"<p class='muted' data-testid='top-patches' data-state='{'stale' if stale else 'fresh'}' "
                f"data-step='{self.step}' data-units='{r2['patches'].shape[0]}' data-size='{r2['size']}' "
                f"data-checksum='{ui.exact(round(float(np.sum(r2['patches'])), 6))}'>Step {self.step:,}: "
                f"the strongest responses over 300 test images ({r2['size']}×{r2['size']} patches).{note}</p>")
