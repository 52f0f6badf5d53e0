"""Smoothing or sharpening, seen: the chosen kernel and three fixed ones on a 48x48 grey-level picture.

The lecture: "The choice of kernel should dictate whether we want to smoothen or sharpen the image." On the
9x9 ±1 X that is hard to see; on a picture with flat areas, edges, fine stripes and film grain a blur
visibly washes out the stripes and the grain, a sharpen makes every edge (and the grain) crisper, and an
edge kernel keeps only the outlines. Every picture comes from :func:`pyfadml.demos.conv.filter_picture`
(the library's correlate2d); this module only draws.
"""
from __future__ import annotations

from html import escape

import numpy as np
import panel as pn

from pyfadml.app import ui
from pyfadml.app.cnn.helpers import INK, SECTION_CSS, TileFigure
from pyfadml.data.images import grey_picture
from pyfadml.demos import conv

TILE_PX = 150
KIND_WORDS = {"smooth": "smoother", "sharpen": "sharper", "edges": "outlines only", "copy": "a copy",
              "other": "changed"}

INTRO = """<h3>Smoothing or sharpening: the kernel on a grey-level picture</h3>
<p class="secondary">"The choice of kernel should dictate whether we want to smoothen or sharpen the image."
The same convolution on a 48×48 picture (grey levels from 0 = white to 1 = black, as the X's black pixels are
+1): your kernel K next to three fixed ones. A kernel whose entries sum to s keeps a flat area's grey level
times s, so it is drawn divided by s; a kernel summing to 0 (edges) is drawn as |F|, its strongest 1% black. <b>Detail</b> is the mean
size of each pixel's difference from its neighbours (|Laplacian|), relative to the picture's.</p>"""


class PictureView(ui.View):
    """The picture, K on it, and blur / sharpen / edges on it, with each one's detail ratio."""

    def __init__(self, **params):
        super().__init__(**params)
        self.picture = grey_picture()
        self.fixed = {key: conv.filter_picture(self.picture, conv.preset_kernel(key)) for key in conv.PICTURE_KERNELS}
        self.tiles = TileFigure(palette=INK, symmetric=False, tile_px=TILE_PX, max_cols=5, max_width=5 * TILE_PX + 40,
                                label_px=16)
        self._numbers = ui.prose(css=SECTION_CSS)
        self._layout = pn.Column(
            ui.prose(INTRO, margin=(8, 5, 0, 5)),
            pn.pane.Bokeh(self.tiles.fig, margin=(0, 5)), self._numbers, sizing_mode="stretch_width")
        self.result: dict | None = None

    def update(self, kernel) -> None:
        """Draw ``kernel`` on the picture beside the fixed three (a kernel that does not fit: the picture
        is 48x48, any kernel the screen accepts does)."""
        r = self.result = conv.filter_picture(self.picture, kernel)
        n = np.asarray(kernel).shape[0]
        crop = (n - 1) // 2
        inner = self.picture[crop:self.picture.shape[0] - (n - 1 - crop), crop:self.picture.shape[1] - (n - 1 - crop)]
        shown = [inner, r["shown"]] + [f["shown"] for f in self.fixed.values()]
        labels = ["the picture", "your kernel K"] + [conv.KERNEL_PRESETS[k]["label"] for k in self.fixed]
        self.tiles.show(shown, labels, scale=1.0)
        cells = [("picture", "the picture", 1.0, "picture", "")]
        cells.append(("kernel", "your kernel K", r["detail_ratio"], r["kind"], r["how"]))
        cells += [(key, conv.KERNEL_PRESETS[key]["label"], f["detail_ratio"], f["kind"], f["how"])
                  for key, f in self.fixed.items()]
        items = "".join(
            f'<li data-key="{key}" data-kind="{kind}" data-detail="{ui.exact(ratio)}"><b>{escape(label)}</b>: '
            + ("detail 1 (the reference)" if key == "picture" else
               f"detail ×{ui.num(ratio)}, {KIND_WORDS[kind]} <span class='muted'>(drawn as {escape(how)})</span>")
            + "</li>" for key, label, ratio, kind, how in cells)
        self._numbers.object = (
            f'<ul class="summary" data-testid="conv-picture" data-kind="{r["kind"]}" '
            f'data-detail="{ui.exact(r["detail_ratio"])}" data-sum="{ui.exact(r["kernel_sum"])}" '
            f'data-checksum="{ui.exact(round(self.tiles.checksum, 6))}" '
            f'style="margin:2px 0 0 0; padding-left:18px; columns:2; column-gap:24px">{items}</ul>')
