"""What both screens of the CNN section draw the same way: small printed matrices, tiles of small images,
the section's CSS and its colour ramps."""
from __future__ import annotations

import numpy as np
from bokeh.models import ColumnDataSource, LinearColorMapper, Range1d

from pyfadml.app import theme, ui
from pyfadml.data.images import mosaic

SEQUENTIAL = theme.DIVERGING[len(theme.DIVERGING) // 2:]     # white -> blue, for values >= 0
INK = ["#%02x%02x%02x" % (int(255 - t * 238), int(255 - t * 231), int(255 - t * 216))
       for t in np.linspace(0.0, 1.0, 128)]                   # white -> near-black ink

SECTION_CSS = theme.TABLE_CSS + ui.NOTE_CSS + f"""
table.mx td {{ min-width: 30px; height: 24px; text-align: center; font-size: calc(13px * var(--pf-scale, 1)); }}
.sum {{ font-size: calc(20px * var(--pf-scale, 1)); font-weight: 650; color: {theme.INK};
        font-variant-numeric: tabular-nums; }}
.summary {{ font-size: calc(14px * var(--pf-scale, 1)); color: {theme.TEXT}; }}
.summary b {{ color: {theme.INK}; }}
table.cm {{ border-collapse: separate; border-spacing: 2px; font-variant-numeric: tabular-nums;
            font-size: calc(12px * var(--pf-scale, 1)); }}
table.cm td {{ min-width: 26px; height: 22px; text-align: center; border-radius: 3px; color: {theme.INK}; }}
table.cm th {{ font-weight: 500; color: {theme.MUTED}; font-size: 11px; padding: 0 4px; white-space: nowrap; }}
table.cm th.corner {{ text-align: right; }}
.pred {{ font-size: calc(18px * var(--pf-scale, 1)); color: {theme.INK}; }}
.pred b {{ font-size: calc(22px * var(--pf-scale, 1)); }}
"""

BUILDING_CSS = theme.PROSE_CSS + f"""
.building {{ display: flex; align-items: center; gap: 14px; min-height: 320px; justify-content: center;
             color: {theme.TEXT}; font-size: calc(16px * var(--pf-scale, 1)); }}
.spinner {{ width: 26px; height: 26px; border-radius: 50%; border: 3px solid {theme.RULE};
            border-top-color: {theme.ACCENT}; animation: spin 0.9s linear infinite; }}
@keyframes spin {{ to {{ transform: rotate(360deg); }} }}
@media (prefers-reduced-motion: reduce) {{ .spinner {{ animation: none; }} }}
"""


def building_html(what: str, testid: str) -> str:
    """A placeholder that says something is being built (a spinner, the text, ``data-testid``)."""
    return (f'<div class="building" role="status" aria-busy="true" data-testid="{testid}">'
            f'<span class="spinner"></span><span>{what}</span></div>')


def small_matrix(M, caption: str, *, name: str, scale: float | None = None) -> str:
    """A small heat-mapped table with every number printed (the step-through's zone, kernel, products);
    each cell's full value is in ``data-v``."""
    M = np.asarray(M, dtype=np.float64)
    finite = np.abs(M[np.isfinite(M)])
    s = scale if scale else (float(finite.max()) if finite.size and finite.max() > 0 else 1.0)
    rgb = 255.0 + 0.55 * (theme.diverging_rgb(np.nan_to_num(M / s)) - 255.0)
    rows = []
    for i in range(M.shape[0]):
        cells = "".join(
            f'<td data-v="{ui.exact(M[i, j])}" style="background:rgb({int(rgb[i, j, 0])},{int(rgb[i, j, 1])},'
            f'{int(rgb[i, j, 2])})">{ui.num(M[i, j])}</td>' for j in range(M.shape[1]))
        rows.append(f"<tr>{cells}</tr>")
    return (f'<figure class="mx"><figcaption>{caption}</figcaption>'
            f'<table class="mx" data-name="{name}">{"".join(rows)}</table></figure>')


class TileFigure:
    """A row-wrapped grid of equally sized tiles (kernels, feature maps) drawn as one Bokeh image.

    ``show(tiles, labels)`` updates the picture; the figure is resized only when the layout changes.
    Tiles are normalised together (``scale``: by the largest |value|), so their strengths compare.
    ``checksum`` sums the picture (tests compare it before and after training).
    """

    def __init__(self, *, palette, symmetric: bool, tile_px: int = 64, gap_px: int = 8, max_width: int = 640,
                 label_px: int = 14, max_cols: int = 16):
        self.tile_px, self.gap_px, self.max_width = tile_px, gap_px, max_width
        self.label_px, self.max_cols = label_px, max_cols
        self.mapper = LinearColorMapper(palette=palette, low=-1.0 if symmetric else 0.0, high=1.0,
                                        nan_color=(0, 0, 0, 0))
        self.fig = ui.figure(axes=False, width=100, height=60, x_range=Range1d(0, 1), y_range=Range1d(0, 1),
                             min_border=2, outline_line_color=None, background_fill_color=None,
                             border_fill_color=None)
        self.src = ColumnDataSource(dict(image=[np.full((1, 1), np.nan, np.float32)], x=[0], y=[0], dw=[1], dh=[1]))
        self.fig.image("image", x="x", y="y", dw="dw", dh="dh", source=self.src, color_mapper=self.mapper)
        self.labels = ColumnDataSource(dict(x=[], y=[], text=[]))
        self.fig.text("x", "y", text="text", source=self.labels, text_align="center", text_baseline="bottom",
                      text_font_size="10px", text_color=theme.MUTED)
        self.frames = ColumnDataSource(dict(x=[], y=[], w=[], h=[]))
        self.fig.rect("x", "y", width="w", height="h", source=self.frames, fill_alpha=0.0,
                      line_color=theme.RULE, line_width=1)
        # a diverging picture says the sign by shape too: '+' / '−' on each clearly signed pixel
        self.signs = ui.sign_marks(self.fig) if symmetric else None
        self._layout = None
        self._geometry = None
        self._drawn = None                                # (layout, labels) of the labels and frames shown
        self.checksum = 0.0

    def _plan(self, n: int, th: int, tw: int, labelled: bool):
        """Image-pixel geometry: (cols, rows, gap, label rows, W, H, screen px per image pixel)."""
        cols = min(n, self.max_cols)
        rows = -(-n // cols)
        cell = self.tile_px / tw
        gap = max(1, int(round(self.gap_px / cell)))
        W = cols * tw + (cols - 1) * gap
        cell = min(cell, self.max_width / W)
        lab = int(np.ceil(self.label_px / cell)) if labelled else 0
        H = rows * (th + lab) + (rows - 1) * gap
        return cols, rows, gap, lab, W, H, cell

    def show(self, tiles, labels=None, *, scale: float | None = None) -> None:
        tiles = [np.asarray(t, dtype=np.float64) for t in tiles]
        n = len(tiles)
        th, tw = tiles[0].shape
        layout = (n, th, tw, labels is not None)
        if layout != self._layout:
            self._layout = layout
            self._geometry = self._plan(n, th, tw, labels is not None)
            cols, rows, gap, lab, W, H, cell = self._geometry
            f = self.fig
            f.x_range.start, f.x_range.end = 0, W
            f.y_range.start, f.y_range.end = 0, H
            f.width = int(round(W * cell)) + 4
            f.height = int(round(H * cell)) + 4
            self.src.data.update(x=[0], y=[0], dw=[W], dh=[H])
        cols, rows, gap, lab, W, H, cell = self._geometry
        if scale is None:
            finite = [np.abs(t[np.isfinite(t)]).max() for t in tiles if np.isfinite(t).any()]
            scale = max(finite) if finite else 1.0
        scale = scale if scale > 0 and np.isfinite(scale) else 1.0
        img = mosaic(np.clip(np.stack(tiles) / scale, -1.0, 1.0), cols, rows=rows, gap=gap, label_rows=lab)
        xs, ys, texts, fx, fy = [], [], [], [], []
        px, py, pv = [], [], []
        rr, cc = np.mgrid[0:th, 0:tw]                     # a tile's pixel rows and columns
        for i in range(n):
            r, c = divmod(i, cols)
            top = r * (th + lab + gap) + lab              # row index from the top of the image
            left = c * (tw + gap)
            if self.signs is not None:
                px.append(left + cc + 0.5)
                py.append(H - top - rr - 0.5)
                pv.append(tiles[i] / scale)
            if labels is not None:
                xs.append(left + tw / 2)
                ys.append(H - top + 0.2)
                texts.append(labels[i])
            fx.append(left + tw / 2)
            fy.append(H - top - th / 2)
        self.src.data["image"] = [np.ascontiguousarray(img[::-1], dtype=np.float32)]   # Bokeh's row 0: the bottom
        # labels and frames only change with the layout or the labels: while training, each redraw sends the
        # page just the picture and the sign marks (fewer patches, less for the page to re-render)
        if (layout, texts) != self._drawn:
            self._drawn = (layout, texts)
            self.labels.data = dict(x=xs, y=ys, text=texts)
            self.frames.data = dict(x=fx, y=fy, w=[tw] * n, h=[th] * n)
        if self.signs is not None:
            self.signs.data = ui.sign_bars(self.fig, np.concatenate([a.ravel() for a in px]),
                                           np.concatenate([a.ravel() for a in py]),
                                           np.concatenate([a.ravel() for a in pv]), size=(10, 10), stroke=2.0,
                                           cell=(1.0, 1.0))
        self.checksum = float(np.nansum(np.abs(img)))
