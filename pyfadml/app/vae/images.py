"""Grids of small images, as the VAE section draws them: one Bokeh ``image`` per grid (a mosaic with
transparent gaps), ink on paper, resized only when the data set changes the image size.

The images a test reads are in ``data-`` attributes of the captions, as text (:func:`pixels_attr`).
"""
from __future__ import annotations

import numpy as np
from bokeh.models import ColumnDataSource, LinearColorMapper, Range1d

from pyfadml.app import theme, ui
from pyfadml.data.images import mosaic

IMAGE_PX = 38                # screen pixels per image side in the grids
INK_PALETTE = ["#%02x%02x%02x" % tuple(int(round(255.0 + t * (c - 255.0))) for c in (17, 24, 39))
               for t in np.linspace(0.0, 1.0, 256)]
"""0 = white paper, 1 = near-black ink (the PixelEditor's "ink" map), for every image the section draws."""


def ink_mapper() -> LinearColorMapper:
    """A new colour mapper of :data:`INK_PALETTE` for one figure: a Bokeh model belongs to one document, so a
    mapper shared at module level broke the second session under ``panel serve``."""
    return LinearColorMapper(palette=INK_PALETTE, low=0.0, high=1.0, nan_color=(0, 0, 0, 0))


def pixels_attr(images: np.ndarray) -> str:
    """Images as text for a ``data-*`` attribute: 4 decimals, pixels by commas, images by semicolons."""
    images = np.asarray(images, dtype=np.float64)
    images = images.reshape(len(images), -1)
    return ";".join(",".join(f"{v:.4f}" for v in img) for img in images)


def vector_text(v, k: int = 4) -> str:
    """``(0.12, −1.3, …)``: the first ``k`` entries of a latent vector, for captions."""
    v = np.asarray(v, dtype=np.float64).ravel()
    return "(" + ", ".join(ui.num(x, 2) for x in v[:k]) + (", …" if len(v) > k else "") + ")"


class ImageGrid:
    """A figure showing ``rows`` x ``cols`` images as one mosaic, with optional row labels on the left.

    :meth:`fit` sizes it for an image shape (on a new data set); :meth:`show` puts new images in it.
    """

    def __init__(self, name: str):
        fig = ui.figure(axes=False, width=100, height=100, x_range=Range1d(0, 1), y_range=Range1d(0, 1),
                        min_border=2, outline_line_color=None, background_fill_color=None,
                        border_fill_color=None, name=name)
        self.source = ColumnDataSource(dict(image=[np.full((1, 1), np.nan, np.float32)], x=[0], y=[0],
                                            dw=[1], dh=[1]))
        fig.image("image", x="x", y="y", dw="dw", dh="dh", source=self.source, color_mapper=ink_mapper())
        self.labels = ColumnDataSource(dict(x=[], y=[], text=[]))
        fig.text("x", "y", text="text", source=self.labels, text_align="right", text_baseline="middle",
                 text_font_size="12px", text_color=theme.MUTED)
        self.fig = fig
        self.rows, self.cols = 1, 1

    def fit(self, image_shape: tuple[int, int], rows: int, cols: int, row_labels=(), label_px: int = 0,
            image_px: int = IMAGE_PX) -> None:
        """Size the figure for a rows x cols mosaic of ``image_shape`` images, ``image_px`` screen pixels a
        side (+ a ``label_px`` wide column of row labels on the left); the grid is emptied."""
        h, w = image_shape
        W, H = cols * w + (cols - 1), rows * h + (rows - 1)
        unit = image_px / h
        label_units = label_px / unit
        fig = self.fig
        fig.x_range.start, fig.x_range.end = -label_units, W
        fig.y_range.start, fig.y_range.end = 0, H
        fig.width = int(round((W + label_units) * unit)) + 4
        fig.height = int(round(H * unit)) + 4
        self.rows, self.cols = rows, cols
        self.source.data = dict(image=[np.full((1, 1), np.nan, np.float32)], x=[0], y=[0], dw=[W], dh=[H])
        ys = [H - (r * (h + 1) + h / 2) for r in range(len(row_labels))]
        self.labels.data = dict(x=[-6.0 / unit] * len(row_labels), y=ys, text=list(row_labels))

    def show(self, images: np.ndarray | None) -> None:
        """Images (n, H, W) in [0, 1], row-major into the grid; None empties it."""
        if images is None:
            self.source.data["image"] = [np.full((1, 1), np.nan, np.float32)]
        else:
            tiles = mosaic(images, self.cols, rows=self.rows)[::-1]       # Bokeh's image row 0 is the bottom
            self.source.data["image"] = [np.ascontiguousarray(tiles, dtype=np.float32)]
