"""Section "Convolution & CNN": the lecture's X example step by step, then a small CNN trained live.

Part 1 (:mod:`pyfadml.demos.conv`): an editable +1/-1 pixel image, a 3x3 kernel (presets, clicks or typed
values), the feature map with its maximum, a step-through of one kernel position, ReLU and max pooling.
Part 2 (:class:`pyfadml.demos.cnn.CNNDemo`): conv -> ReLU -> pool twice, then dense, trained on shapes or
digits while the page shows the curves, the learned kernels, the feature maps of one input, the confusion
matrix and the prediction for the student's own drawing.

Every number comes from the demos (hence from pyfadml's layers); this module only draws. Plots are built
once and updated through their ``ColumnDataSource``. Live training runs as a periodic callback: each tick
trains for at most :data:`BURST_SECONDS`, refreshes what is due and yields, so the page (a Web Worker in the
browser) stays responsive and Pause is immediate.
"""
from __future__ import annotations

import asyncio
import time
from html import escape

import numpy as np
import panel as pn
import param
from bokeh.core.properties import value as bk_value
from bokeh.models import ColumnDataSource, DataRange1d, FactorRange, LinearColorMapper, Range1d
from bokeh.plotting import figure

from pyfadml.app import theme
from pyfadml.app.widgets import PixelEditor
from pyfadml.data.images import SHAPE_VARIATIONS, lecture_x, lecture_x_variant
from pyfadml.demos import conv
from pyfadml.demos.cnn import (FIRST_LAYER_MODES, LECTURE_VARIATIONS, MAX_FILTERS, PRESET_ORDER, CNNDemo,
                               DivergenceError)

BURST_SECONDS = 0.08        # training time per tick; then refresh what is due and yield
PERIOD_MS = 50
EVAL_EVERY = 0.6            # least seconds between evaluations (curves, maps, confusion, prediction) while playing
EVAL_SHARE = 0.25           # ... and at most this share of the time goes to evaluating (slow machines)
KERNELS_EVERY = 0.25        # seconds between kernel-picture refreshes while playing
SLIDE_MS = 450              # step-through animation period

LEARNING_RATES = [0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3]
BATCH_SIZES = [8, 16, 32, 64, 128]
SAMPLE_SIZES = [120, 300, 600, 1200, 2400]
IMAGE_LABELS = {"X (lecture)": "x", "χ: the X written differently": "variant", "Blank (all white)": "blank"}
KERNEL_LABELS = {p["label"]: key for key, p in conv.KERNEL_PRESETS.items()}
CUSTOM = "custom"
DATASET_LABELS = {"Shapes (X, O, +, square, triangle, bar)": "shapes", "Digits (8×8, 10 classes)": "digits"}
FIRST_LAYER_LABELS = {"Learned from a random start": "learned",
                      "Hand-picked presets, then learned": "presets",
                      "Hand-picked presets, frozen": "presets_frozen"}
FIRST_LAYER_NAMES = {v: k for k, v in FIRST_LAYER_LABELS.items()}
SHORT_PRESET_LABELS = {"x": "X", "identity": "identity", "edge_vertical": "vertical", "edge_horizontal": "horizontal",
                       "edge_all": "Laplacian", "blur_box": "blur", "blur_gaussian": "Gaussian", "sharpen": "sharpen"}
VARIATION_LABELS = {"orientation": "orientation", "brightness": "brightness", "occlusion": "occlusion",
                    "shades": "shades", "shift": "shift", "noise": "noise"}

_SEQ = theme.DIVERGING[len(theme.DIVERGING) // 2:]           # white -> blue, for values >= 0
_INK = ["#%02x%02x%02x" % (int(255 - t * 238), int(255 - t * 231), int(255 - t * 216))
        for t in np.linspace(0.0, 1.0, 128)]                 # white -> near-black ink

# ---------------------------------------------------------------------------------------------
# text
# ---------------------------------------------------------------------------------------------

INTRO = """
<h2>Convolution &amp; CNN</h2>
<p>In a convolutional neural network, <b>features are extracted from an image</b> to understand objects, and
by composing these features we can recognize them. A fully connected layer sees the pixels as one long
list and loses where they are; a convolution looks at small zones of neighbouring pixels, keeping the
spatial information.</p>
"""

CONV_INTRO = """
<h3>1. The lecture's X, step by step</h3>
<p>Black pixels are <b>+1</b>, white pixels are <b>−1</b>. The 3×3 kernel scans every overlapping 3×3 zone
of the image; at each position the zone and the kernel are multiplied entry by entry and the nine products
are added. Those sums form the <b>feature map</b>. Click the pixels of the image or of the kernel to edit
them, or type the kernel's values.</p>
"""

CNN_INTRO = """
<h3>2. A CNN learns its own kernels</h3>
<p>The operations above, stacked: <b>convolution → ReLU → max pool</b>, twice, then a dense layer that
makes the decision. Every kernel is a weight trained by backpropagation. The shapes vary the way the lecture
says features must cope with: <b>orientation, brightness, occlusion and shades</b>. Press <b>Play</b>.</p>
"""

HIERARCHY = """
<p class="muted">Feature extraction is hierarchical: <b>at level 1 we extract edges</b> (each map is one
kernel's response, after ReLU); <b>at level 2 boundaries</b> that combine edges; the dense layer then
separates the <b>shapes</b>. Blue = strong response, white = zero.</p>
"""

KERNEL_CHOICE = """
<p class="muted"><b>How to select the kernel?</b> At each layer of a CNN we train the weights and, with
them, the values of the kernels; this needs many training examples. Start the first layer from the
hand-picked kernels of part 1 (edge detectors, the X kernel, blur, sharpen) and compare with learning them:
the accuracy plot keeps the previous run as a grey line.</p>
"""


def _num(v: float) -> str:
    """A value as the page prints it (minus sign, up to 3 significant digits)."""
    return conv.format_value(v).replace("-", "\u2212")


def small_matrix(M, caption: str, *, name: str, scale: float | None = None) -> str:
    """A small heat-mapped table with every number printed (the step-through's zone, kernel, products)."""
    M = np.asarray(M, dtype=np.float64)
    s = scale if scale else (float(np.max(np.abs(M))) or 1.0)
    rgb = 255.0 + 0.55 * (theme.diverging_rgb(M / s) - 255.0)
    rows = []
    for i in range(M.shape[0]):
        cells = "".join(
            f'<td data-v="{float(M[i, j])!r}" style="background:rgb({int(rgb[i, j, 0])},{int(rgb[i, j, 1])},'
            f'{int(rgb[i, j, 2])})">{_num(M[i, j])}</td>' for j in range(M.shape[1]))
        rows.append(f"<tr>{cells}</tr>")
    return (f'<figure class="mx"><figcaption>{caption}</figcaption>'
            f'<table class="mx" data-name="{name}">{"".join(rows)}</table></figure>')


SECTION_CSS = theme.TABLE_CSS + f"""
table.mx td {{ min-width: 30px; height: 24px; text-align: center; font-size: 13px; }}
.sum {{ font-size: 20px; font-weight: 650; color: {theme.INK}; font-variant-numeric: tabular-nums; }}
.err {{ color: {theme.DANGER}; font-size: 13px; font-weight: 600; }}
.summary {{ font-size: 14px; color: {theme.TEXT}; }}
.summary b {{ color: {theme.INK}; }}
table.cm {{ border-collapse: separate; border-spacing: 2px; font-variant-numeric: tabular-nums; font-size: 12px; }}
table.cm td {{ min-width: 26px; height: 22px; text-align: center; border-radius: 3px; color: {theme.INK}; }}
table.cm th {{ font-weight: 500; color: {theme.MUTED}; font-size: 11px; padding: 0 4px; white-space: nowrap; }}
table.cm th.corner {{ text-align: right; }}
.pred {{ font-size: 18px; color: {theme.INK}; }}
.pred b {{ font-size: 22px; }}
"""


# ---------------------------------------------------------------------------------------------
# tiles: several small images in one Bokeh figure
# ---------------------------------------------------------------------------------------------

class TileFigure:
    """A row-wrapped grid of equally sized tiles (kernels, feature maps) drawn as one Bokeh image.

    ``show(tiles, labels)`` updates the picture; the figure is resized only when the layout changes.
    Tiles are normalised together (``scale``: by the largest |value|), so their strengths compare.
    """

    def __init__(self, *, palette, symmetric: bool, tile_px: int = 64, gap_px: int = 8, max_width: int = 640,
                 label_px: int = 14, max_cols: int = 16):
        self.symmetric = symmetric
        self.tile_px, self.gap_px, self.max_width = tile_px, gap_px, max_width
        self.label_px, self.max_cols = label_px, max_cols
        self.mapper = LinearColorMapper(palette=palette, low=-1.0 if symmetric else 0.0, high=1.0,
                                        nan_color=(0, 0, 0, 0))
        self.fig = figure(width=100, height=60, x_range=Range1d(0, 1), y_range=Range1d(0, 1),
                          toolbar_location=None, tools="", min_border=2, outline_line_color=None,
                          background_fill_color=None, border_fill_color=None)
        self.fig.axis.visible = False
        self.fig.grid.visible = False
        self.src = ColumnDataSource(dict(image=[np.full((1, 1), np.nan, np.float32)], x=[0], y=[0], dw=[1], dh=[1]))
        self.fig.image("image", x="x", y="y", dw="dw", dh="dh", source=self.src, color_mapper=self.mapper)
        self.labels = ColumnDataSource(dict(x=[], y=[], text=[]))
        self.fig.text("x", "y", text="text", source=self.labels, text_align="center", text_baseline="bottom",
                      text_font_size="10px", text_color=theme.MUTED)
        self.frames = ColumnDataSource(dict(x=[], y=[], w=[], h=[]))
        self.fig.rect("x", "y", width="w", height="h", source=self.frames, fill_alpha=0.0,
                      line_color=theme.RULE, line_width=1)
        self._layout = None
        self._geometry = None
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
        img = np.full((H, W), np.nan, dtype=np.float32)
        if scale is None:
            finite = [np.abs(t[np.isfinite(t)]).max() for t in tiles if np.isfinite(t).any()]
            scale = max(finite) if finite else 1.0
        scale = scale if scale > 0 and np.isfinite(scale) else 1.0
        xs, ys, texts, fx, fy = [], [], [], [], []
        for i, t in enumerate(tiles):
            r, c = divmod(i, cols)
            top = r * (th + lab + gap) + lab              # row index from the top of the image
            left = c * (tw + gap)
            img[top:top + th, left:left + tw] = np.clip(t / scale, -1.0, 1.0)
            if labels is not None:
                xs.append(left + tw / 2)
                ys.append(H - top + 0.2)
                texts.append(labels[i])
            fx.append(left + tw / 2)
            fy.append(H - top - th / 2)
        self.src.data["image"] = [np.flipud(img)]       # Bokeh's row 0 is the bottom
        self.labels.data = dict(x=xs, y=ys, text=texts)
        self.frames.data = dict(x=fx, y=fy, w=[tw] * n, h=[th] * n)
        self.checksum = float(np.nansum(np.abs(img)))


# ---------------------------------------------------------------------------------------------
# the section
# ---------------------------------------------------------------------------------------------

class CNNSection(pn.viewable.Viewer):
    """Part 1: convolution explorer. Part 2: live CNN training with kernels, maps and a drawing pad."""

    title = "Convolution & CNN"

    # part 1
    image_preset = param.Selector(default="x", objects=list(IMAGE_LABELS.values()))
    kernel_preset = param.Selector(default="x", objects=list(conv.KERNEL_PRESETS) + [CUSTOM])
    apply_relu = param.Boolean(default=False)
    apply_pool = param.Boolean(default=False)
    position = param.Integer(default=0, bounds=(0, 48))
    sliding = param.Boolean(default=False)

    # part 2
    dataset = param.Selector(default="shapes", objects=["shapes", "digits"])
    variations = param.ListSelector(default=list(LECTURE_VARIATIONS), objects=list(SHAPE_VARIATIONS))
    n_samples = param.Selector(default=1200, objects=SAMPLE_SIZES)
    filters1 = param.Integer(default=6, bounds=(1, MAX_FILTERS))
    filters2 = param.Integer(default=12, bounds=(1, MAX_FILTERS))
    kernel_size = param.Selector(default=3, objects=[3, 5])
    first_layer = param.Selector(default="learned", objects=list(FIRST_LAYER_MODES))
    lr = param.Selector(default=0.01, objects=LEARNING_RATES)
    batch_size = param.Selector(default=32, objects=BATCH_SIZES)
    seed = param.Integer(default=0, bounds=(0, 9999))
    map_source = param.Selector(default="test", objects=["test", "drawing"])
    test_index = param.Integer(default=0, bounds=(0, 10_000))
    playing = param.Boolean(default=False)

    def __init__(self, **params):
        super().__init__(**params)
        self._syncing = False
        self.kernel_error: str | None = None
        self.error: str | None = None
        self._cb = None
        self._slide_cb = None
        self._last_eval = 0.0
        self._eval_seconds = 0.0
        self._last_kernels = 0.0
        self._tick_ms = 0.0
        self.frames = 0
        self._previous: dict | None = None        # the last run's test-accuracy curve, for comparison
        self.cnn_ready = False
        self._build_conv_part()
        self._cnn_slot = pn.Column(
            pn.pane.HTML("<p class='muted' data-testid='cnn-preparing'>Preparing the CNN: generating the "
                         "shapes and building the network…</p>", stylesheets=[theme.PROSE_CSS, theme.CARD_CSS],
                         sizing_mode="stretch_width"),
            sizing_mode="stretch_width", margin=(16, 0, 0, 0))
        self._layout = pn.Column(self._conv_layout(), self._cnn_slot, sizing_mode="stretch_width")
        self._update_conv()
        if pn.state.curdoc is None:
            self._build_cnn()                      # plain Python (tests, notebooks): everything at once
        else:
            # In a live page, part 1 is sent first and part 2 follows a moment later, so the section
            # appears without waiting for the data set and the dozen plots of the CNN.
            pn.state.execute(self._build_cnn_later)

    async def _build_cnn_later(self) -> None:
        await asyncio.sleep(0.05)
        self._build_cnn()

    def _build_cnn(self) -> None:
        if self.cnn_ready:
            return
        t0 = time.perf_counter()
        self._build_cnn_part()
        t1 = time.perf_counter()
        self.cnn_ready = True
        self._cnn_slot.objects = [self._cnn_layout()]
        t2 = time.perf_counter()
        self._on_new_demo()
        self._build_ms = (1000 * (t1 - t0), 1000 * (t2 - t1), 1000 * (time.perf_counter() - t2))
        self._update_stats()

    # =========================================================================================
    # part 1: convolution explorer
    # =========================================================================================

    def _build_conv_part(self) -> None:
        W = pn.widgets
        self.image_editor = PixelEditor(value=lecture_x(), values=[-1.0, 1.0], cmap="ink", vmin=-1.0, vmax=1.0,
                                        show_values=True, cell_size=34, grid_id="conv-input",
                                        label="Input image X (click a pixel: black +1 ↔ white −1)")
        self.kernel_editor = PixelEditor(value=conv.preset_kernel("x"), values=[-1.0, 0.0, 1.0],
                                         cmap="diverging", show_values=True, cell_size=44, grid_id="conv-kernel",
                                         label="Kernel K: click a cell (−1 → 0 → +1)")
        self.fmap_view = PixelEditor(value=np.zeros((7, 7)), editable=False, show_values=True, cmap="diverging",
                                     cell_size=34, label="Feature map F", grid_id="conv-fmap")
        self.pool_view = PixelEditor(value=np.zeros((3, 3)), editable=False, show_values=True, cmap="diverging",
                                     cell_size=34, label="After 2×2 max pooling", grid_id="conv-pool",
                                     visible=False)
        self.image_editor.param.watch(lambda e: self._update_conv(), "value")
        self.kernel_editor.param.watch(self._kernel_clicked, "value")

        p = self.param
        self._image_select = W.Select.from_param(p.image_preset, label="Image", options=IMAGE_LABELS, width=240)
        self._kernel_select = W.Select.from_param(
            p.kernel_preset, label="Kernel preset", options={**KERNEL_LABELS, "Custom (clicked or typed)": CUSTOM},
            width=240)
        self._kernel_text = W.TextAreaInput(label="Kernel values (type, then click outside)",
                                            value=conv.format_kernel(conv.KERNEL_PRESETS["x"]["kernel"]),
                                            rows=3, width=240, auto_grow=False)
        self._kernel_text.param.watch(self._kernel_typed, "value")
        self._relu_box = W.Checkbox.from_param(p.apply_relu, label="Apply ReLU: max(0, val)")
        self._pool_box = W.Checkbox.from_param(p.apply_pool, label="Max pooling 2×2")
        self._pos_slider = W.IntSlider.from_param(p.position, label="Kernel position", width=300)
        self._prev_btn = W.Button(label="◀ Previous", width=100)
        self._next_btn = W.Button(label="Next ▶", width=100)
        self._max_btn = W.Button(label="Go to the maximum", width=150)
        self._slide_btn = W.Toggle.from_param(p.sliding, label="Slide the kernel", color="primary",
                                              variant="outline", width=150)
        self._prev_btn.on_click(lambda e: self._move(-1))
        self._next_btn.on_click(lambda e: self._move(+1))
        self._max_btn.on_click(self._go_to_max)
        self._kernel_msg = pn.pane.HTML("", stylesheets=[SECTION_CSS], margin=(0, 5))
        self._summary = pn.pane.HTML("", stylesheets=[SECTION_CSS], sizing_mode="stretch_width", margin=(4, 5))
        self._step_view = pn.pane.HTML("", stylesheets=[SECTION_CSS], sizing_mode="stretch_width", margin=(4, 5))
        self._explain = pn.pane.HTML("", stylesheets=[theme.PROSE_CSS], sizing_mode="stretch_width",
                                     margin=(4, 5))

    @property
    def image(self) -> np.ndarray:
        return np.asarray(self.image_editor.value, dtype=np.float64)

    @property
    def kernel(self) -> np.ndarray:
        return np.asarray(self.kernel_editor.value, dtype=np.float64)

    @param.depends("image_preset", watch=True)
    def _image_preset_changed(self):
        img = {"x": lecture_x, "variant": lecture_x_variant, "blank": lambda: -np.ones((9, 9))}[self.image_preset]()
        self.image_editor.value = img

    @param.depends("kernel_preset", watch=True)
    def _kernel_preset_changed(self):
        if self.kernel_preset == CUSTOM or self._syncing:
            return
        spec = conv.KERNEL_PRESETS[self.kernel_preset]
        self._set_kernel(conv.preset_kernel(self.kernel_preset), text=conv.format_kernel(spec["kernel"]))

    def _set_kernel(self, k: np.ndarray, *, text: str | None = None) -> None:
        """Put ``k`` into the editor and the text box without re-triggering each other."""
        self._syncing = True
        try:
            self.kernel_error = None
            if text is not None:
                self._kernel_text.value = text
            self.kernel_editor.value = k
        finally:
            self._syncing = False
        self._update_conv()

    def _kernel_clicked(self, event) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            self.kernel_error = None
            self._kernel_text.value = conv.format_kernel(self.kernel)
            self.kernel_preset = self._matching_preset(self.kernel)
        finally:
            self._syncing = False
        self._update_conv()

    def _kernel_typed(self, event) -> None:
        if self._syncing:
            return
        try:
            k = conv.parse_kernel(event.new)
        except ValueError as exc:
            self.kernel_error = str(exc)
            self._update_conv()
            return
        self._syncing = True
        try:
            self.kernel_error = None
            self.kernel_editor.value = k
            self.kernel_preset = self._matching_preset(k)
        finally:
            self._syncing = False
        self._update_conv()

    @staticmethod
    def _matching_preset(k: np.ndarray) -> str:
        for key in conv.KERNEL_PRESETS:
            if np.allclose(conv.preset_kernel(key), k, rtol=0, atol=1e-9):
                return key
        return CUSTOM

    @param.depends("apply_relu", "apply_pool", "position", watch=True)
    def _conv_view_changed(self):
        self._update_conv()

    def _move(self, delta: int) -> None:
        n = self._n_positions()
        self.position = (self.position + delta) % n

    def _go_to_max(self, event=None) -> None:
        out = conv.pipeline(self.image, self.kernel, apply_relu=self.apply_relu)
        r, c = out["argmax"][0]
        self.position = r * out["output"].shape[1] + c

    def _n_positions(self) -> int:
        h, w = self.image.shape
        k = self.kernel.shape[0]
        return (h - k + 1) * (w - k + 1)

    @param.depends("sliding", watch=True)
    def _sliding_changed(self):
        if self.sliding and self._slide_cb is None:
            self._slide_cb = pn.state.add_periodic_callback(self._slide_tick, period=SLIDE_MS, start=True)
        elif not self.sliding and self._slide_cb is not None:
            cb, self._slide_cb = self._slide_cb, None
            cb.stop()

    def _slide_tick(self) -> None:
        if not self.sliding:
            return
        self._move(+1)
        if self.position == self._n_positions() - 1:
            self.sliding = False

    def _update_conv(self) -> None:
        """Recompute part 1 from the library and push it into the views."""
        img, k = self.image, self.kernel
        out = conv.pipeline(img, k, apply_relu=self.apply_relu, pool=2 if self.apply_pool else None)
        fm, shown = out["feature_map"], out["output"]
        oh, ow = shown.shape
        n = oh * ow
        if self.param.position.bounds[1] != n - 1:
            self.param.position.bounds = (0, n - 1)
            self._pos_slider.end = n - 1
        if self.position > n - 1:
            self.position = n - 1           # re-enters through the watcher
            return
        r, c = divmod(self.position, ow)
        self.fmap_view.label = (f"Feature map {'ReLU(X ⋆ K)' if self.apply_relu else 'F = X ⋆ K'}, {oh}×{ow} "
                                f"(outlined: maximum)")
        self.fmap_view.value = shown
        self.fmap_view.highlight = out["argmax"]
        self.fmap_view.window = (r, c, 1, 1)
        self.image_editor.window = (r, c, k.shape[0], k.shape[1])
        if out["pooled"] is not None:
            self.pool_view.value = out["pooled"]
            self.pool_view.highlight = conv.argmax_cells(out["pooled"])
        self.pool_view.visible = out["pooled"] is not None

        w = conv.window_products(img, k, r, c)
        lib_value = float(fm[r, c])
        ok = abs(w["total"] - lib_value) <= 1e-9 * max(1.0, abs(lib_value))
        relu_note = ""
        if self.apply_relu:
            relu_note = (f'<span class="sym">→</span><span class="note">ReLU: max(0, {_num(w["total"])}) = '
                         f'<b>{_num(max(0.0, w["total"]))}</b></span>')
        self._step_view.object = (
            f'<div class="op" data-testid="step-through" data-row="{r}" data-col="{c}" '
            f'data-total="{w["total"]!r}" data-library="{lib_value!r}">'
            + small_matrix(w["zone"], f"zone of X at row {r + 1}, column {c + 1}", name="zone", scale=1.0)
            + '<span class="sym">⊙</span>'
            + small_matrix(k, "kernel K", name="kernel")
            + '<span class="sym">=</span>'
            + small_matrix(w["products"], "the nine products", name="products")
            + f'<span class="sym">Σ =</span><span class="sum">{_num(w["total"])}</span>'
            + relu_note
            + f'<span class="check{"" if ok else " bad"}">{"✓" if ok else "✗"} F[{r + 1}, {c + 1}] from '
              f'pyfadml\'s correlate2d = {_num(lib_value)}</span></div>')

        mx = out["max_value"]
        cells = ", ".join(f"(row {i + 1}, column {j + 1})" for i, j in out["argmax"][:4])
        more = f" and {len(out['argmax']) - 4} more" if len(out["argmax"]) > 4 else ""
        argmax_attr = ";".join(f"{i},{j}" for i, j in out["argmax"])
        centre = (oh // 2, ow // 2)
        self._summary.object = (
            f'<div class="summary" data-testid="conv-summary" data-max="{mx!r}" data-argmax="{argmax_attr}" '
            f'data-centre="{float(shown[centre])!r}" data-shape="{oh}x{ow}" data-edits="{self.image_editor.edits}">'
            f'Maximum <b>{_num(mx)}</b> at {cells}{more}; centre cell (row {centre[0] + 1}, column '
            f'{centre[1] + 1}) = <b>{_num(float(shown[centre]))}</b>.</div>')
        err = (f'<div class="err" data-testid="kernel-error">{escape(self.kernel_error)}</div>'
               if self.kernel_error else "")
        self._kernel_msg.object = err
        self._explain.object = self._explanation(img, k, out)

    def _explanation(self, img, k, out) -> str:
        parts = []
        key = self._matching_preset(k)
        is_x = np.array_equal(img, lecture_x())
        is_variant = np.array_equal(img, lecture_x_variant())
        if key == "x" and is_x:
            parts.append("<p><b>Why the maximum marks the centre of X.</b> A product is +1 when the pixel agrees "
                         "with the kernel entry and −1 when it disagrees, so the sum counts agreements minus "
                         "disagreements. Only one zone agrees in all nine places and gives <b>9</b>, the largest "
                         "possible value: the crossing of the two strokes. Hence, on convolving, <i>the zone "
                         "which gives the maximum value is the centre of X</i>.</p>")
        elif key == "x" and is_variant:
            parts.append("<p><b>The same X, written differently (χ).</b> No zone matches the kernel exactly any "
                         "more: the best is 5, reached in several places. One whole-pattern template is "
                         "brittle; small features (the diagonal strokes) still match, which is why a CNN learns "
                         "many small kernels and composes them.</p>")
        elif key == "x":
            parts.append(f"<p>The largest value is <b>{_num(out['max_value'])}</b>: the zone that agrees best with "
                         "the kernel. Every edited pixel changes the sums of the (up to) nine zones that "
                         "contain it.</p>")
        if key != CUSTOM:
            parts.append(f"<p><b>{escape(conv.KERNEL_PRESETS[key]['label'])}.</b> "
                         f"{escape(conv.KERNEL_PRESETS[key]['note'])}</p>")
        else:
            total = float(k.sum())
            kind = ("sums to 1, so a flat area keeps its value (smoothing-like)" if abs(total - 1) < 1e-9 else
                    "sums to 0, so a flat area gives 0 and only changes respond (edge-like)" if abs(total) < 1e-9
                    else f"sums to {_num(total)}: a flat area of value v gives {_num(total)}·v")
            parts.append(f"<p><b>Your kernel</b> {kind}.</p>")
        parts.append("<p class='muted'><b>Smoothing or sharpening?</b> The choice of kernel decides: averaging "
                     "kernels (blur) smooth the image, kernels that subtract the neighbours from the centre "
                     "(sharpen, edges) bring out differences.</p>")
        if self.apply_relu:
            parts.append("<p><b>ReLU</b> keeps the significant, positive values and replaces the others with "
                         "zero, <i>val = max(0, val)</i>: the feature becomes prominent.</p>")
        if self.apply_pool:
            parts.append("<p><b>Max pooling</b> keeps the largest value of each 2×2 block: the map is half as "
                         "large but the strongest response survives. (The last row and column, which do not fill "
                         "a block, are dropped.)</p>")
        return "".join(parts)

    # =========================================================================================
    # part 2: live CNN
    # =========================================================================================

    def _new_demo(self) -> CNNDemo:
        return CNNDemo(dataset=self.dataset, n_samples=int(self.n_samples), variations=tuple(self.variations),
                       filters=(int(self.filters1), int(self.filters2)), kernel_size=int(self.kernel_size),
                       lr=float(self.lr), batch_size=int(self.batch_size), first_layer=self.first_layer,
                       seed=int(self.seed))

    def _build_cnn_part(self) -> None:
        W = pn.widgets
        p = self.param
        self.demo = self._new_demo()
        self._widgets = {
            "dataset": W.Select.from_param(p.dataset, label="Dataset", options=DATASET_LABELS),
            "variations": W.CheckBoxGroup.from_param(p.variations, label="Variations", options=VARIATION_LABELS,
                                                     inline=False),
            "n_samples": W.Select.from_param(p.n_samples, label="Images (train + test)"),
            "filters1": W.IntSlider.from_param(p.filters1, label="Filters, layer 1"),
            "filters2": W.IntSlider.from_param(p.filters2, label="Filters, layer 2"),
            "kernel_size": W.RadioButtonGroup.from_param(p.kernel_size, label="Kernel size",
                                                         options={"3×3": 3, "5×5": 5}, color="primary",
                                                         variant="outline"),
            "first_layer": W.Select.from_param(p.first_layer, label="First-layer kernels",
                                               options=FIRST_LAYER_LABELS),
            "lr": W.Select.from_param(p.lr, label="Learning rate"),
            "batch_size": W.Select.from_param(p.batch_size, label="Batch size"),
            "seed": W.IntInput.from_param(p.seed, label="Seed"),
        }
        for key, w in self._widgets.items():
            if key != "kernel_size":
                w.sizing_mode = "stretch_width"
        self._play = W.Button(label="Play", color="success", width=80)
        self._pause = W.Button(label="Pause", color="warning", width=80, disabled=True)
        self._step = W.Button(label="Step", color="primary", variant="outline", width=80)
        self._reset = W.Button(label="Reset", color="default", width=80)
        self._play.on_click(self.play)
        self._pause.on_click(self.pause)
        self._step.on_click(self.step)
        self._reset.on_click(self.reset)

        common = dict(toolbar_location=None, background_fill_color=theme.PANEL_BG,
                      border_fill_color=theme.PANEL_BG, outline_line_color=theme.RULE)
        loss = figure(width=380, height=220, y_axis_type="log", x_range=DataRange1d(start=0), **common)
        self._curve_src = ColumnDataSource(dict(step=[], train_loss=[], test_loss=[], train_acc=[], test_acc=[]))
        loss.line("step", "train_loss", source=self._curve_src, color=theme.TRAIN_LOSS_COLOR, line_width=2,
                  legend_label="train")
        loss.line("step", "test_loss", source=self._curve_src, color=theme.TEST_LOSS_COLOR, line_width=2,
                  line_dash="dashed", legend_label="test")
        loss.yaxis.axis_label = "cross-entropy loss"
        acc = figure(width=380, height=220, y_range=Range1d(0, 1.02), x_range=DataRange1d(start=0), **common)
        self._prev_src = ColumnDataSource(dict(step=[], test_acc=[]))
        acc.line("step", "test_acc", source=self._prev_src, color="#94a3b8", line_width=2, line_dash="dotted",
                 legend_label="previous run (test)")
        acc.line("step", "train_acc", source=self._curve_src, color=theme.TRAIN_LOSS_COLOR, line_width=2,
                 legend_label="train")
        acc.line("step", "test_acc", source=self._curve_src, color=theme.TEST_LOSS_COLOR, line_width=2,
                 line_dash="dashed", legend_label="test")
        acc.yaxis.axis_label = "accuracy"
        for f in (loss, acc):
            f.xaxis.axis_label = "step"
            f.legend.location = "bottom_right" if f is acc else "top_right"
            f.legend.background_fill_alpha = 0.75
            f.legend.label_text_font_size = "11px"
            f.legend.padding = 4
            f.legend.spacing = 0
            f.xgrid.visible = False
            f.ygrid.grid_line_color = theme.RULE
            for ax in (f.xaxis, f.yaxis):
                ax.axis_label_text_font_style = "normal"
                ax.axis_label_text_color = theme.MUTED
                ax.major_label_text_color = theme.MUTED
                ax.axis_line_color = theme.RULE
                ax.major_tick_line_color = theme.RULE
                ax.minor_tick_line_color = None
        self.loss_fig, self.acc_fig = loss, acc

        self.kernels_now = TileFigure(palette=theme.DIVERGING, symmetric=True, tile_px=54, gap_px=16,
                                      label_px=13, max_cols=8, max_width=640)
        self.kernels_start = TileFigure(palette=theme.DIVERGING, symmetric=True, tile_px=54, gap_px=16,
                                        label_px=13, max_cols=8, max_width=640)
        self.map_input = TileFigure(palette=_INK, symmetric=False, tile_px=112, max_width=130)
        self.maps1 = TileFigure(palette=_SEQ, symmetric=False, tile_px=76, gap_px=8, max_cols=8, max_width=680)
        self.maps2 = TileFigure(palette=_SEQ, symmetric=False, tile_px=52, gap_px=8, max_cols=8, max_width=680)

        self.draw_editor = PixelEditor(value=np.zeros(self.demo.input_shape), values=[0.0, 1.0], brush=1.0,
                                       cmap="ink", vmin=0.0, vmax=1.0, cell_size=16, grid_id="cnn-draw",
                                       label="Your drawing: click or drag to paint")
        self.draw_editor.param.watch(lambda e: self._update_prediction(), "value")
        self._brush = W.RadioButtonGroup(label="Brush", options={"Ink": 1.0, "Half": 0.5, "Erase": 0.0},
                                         value=1.0, color="primary", variant="outline")
        self._brush.param.watch(lambda e: setattr(self.draw_editor, "brush", float(e.new)), "value")
        self._clear = W.Button(label="Clear drawing", width=120)
        self._copy = W.Button(label="Copy the test image", width=150)
        self._clear.on_click(lambda e: setattr(self.draw_editor, "value", np.zeros(self.demo.input_shape)))
        self._copy.on_click(self._copy_test_image)
        self._pred_src = ColumnDataSource(dict(cls=[], p=[], color=[], label=[]))
        pf = figure(width=300, height=200, y_range=FactorRange(factors=[]), x_range=Range1d(0, 1.18), **common)
        pf.hbar(y="cls", right="p", height=0.7, source=self._pred_src, fill_color="color", line_color=None)
        pf.text(x="p", y="cls", text="label", source=self._pred_src, x_offset=4, text_baseline="middle",
                text_font_size="11px", text_color=theme.TEXT)
        pf.xaxis.axis_label = "probability"
        pf.xgrid.visible = pf.ygrid.visible = False
        for ax in (pf.xaxis, pf.yaxis):
            ax.axis_label_text_font_style = "normal"
            ax.axis_label_text_color = theme.MUTED
            ax.major_label_text_color = theme.TEXT
            ax.axis_line_color = theme.RULE
            ax.major_tick_line_color = theme.RULE
            ax.minor_tick_line_color = None
        self.pred_fig = pf

        self._map_source = W.RadioButtonGroup.from_param(p.map_source, label="Input",
                                                         options={"A test image": "test", "Your drawing": "drawing"},
                                                         color="primary", variant="outline")
        self._test_index = W.IntSlider.from_param(p.test_index, label="Test image", width=260)
        self._stats = pn.pane.HTML("", stylesheets=[theme.STATS_CSS], sizing_mode="stretch_width", margin=(0, 5))
        self._arch = pn.pane.HTML("", stylesheets=[theme.PROSE_CSS], sizing_mode="stretch_width", margin=(0, 5))
        self._maps_caption = pn.pane.HTML("", stylesheets=[theme.PROSE_CSS], sizing_mode="stretch_width",
                                          margin=(0, 5))
        self._kernels_caption = pn.pane.HTML("", stylesheets=[theme.PROSE_CSS], sizing_mode="stretch_width",
                                             margin=(0, 5))
        self._confusion = pn.pane.HTML("", stylesheets=[SECTION_CSS], margin=(0, 5))
        self._prediction = pn.pane.HTML("", stylesheets=[SECTION_CSS], margin=(0, 5), width=300)

    # -------- settings --------------------------------------------------------------------------

    @param.depends("dataset", "variations", "n_samples", "filters1", "filters2", "kernel_size", "first_layer",
                   "seed", watch=True)
    def _settings_changed(self):
        if not self.cnn_ready:
            return                          # the demo is built from the params when part 2 is built
        self._keep_previous()
        self.playing = False
        self._stop_loop()
        self._sync_buttons()
        self.demo = self._new_demo()
        self.error = None
        self._on_new_demo()

    @param.depends("lr", watch=True)
    def _lr_changed(self):
        if not self.cnn_ready:
            return
        self.demo.lr = float(self.lr)

    @param.depends("batch_size", watch=True)
    def _batch_changed(self):
        if not self.cnn_ready:
            return
        self.demo.batch_size = int(self.batch_size)

    @param.depends("map_source", "test_index", watch=True)
    def _map_input_changed(self):
        if self.cnn_ready:
            self._update_maps()

    def _keep_previous(self) -> None:
        """Remember this run's test-accuracy curve, to compare the next run with (same dataset only)."""
        h = self.demo.history
        if self.demo.dataset != self.dataset:
            self._previous = None
        elif self.demo.step_count > 0 and len(h["step"]) > 1:
            self._previous = dict(step=list(h["step"]), test_acc=list(h["test_acc"]),
                                  label=FIRST_LAYER_NAMES[self.demo.first_layer])

    # -------- buttons and the loop --------------------------------------------------------------

    def play(self, event=None) -> None:
        self._build_cnn()
        if self.playing:
            return
        self.playing = True
        self.error = None
        self._sync_buttons()
        if self._cb is None:
            self._cb = pn.state.add_periodic_callback(self._tick, period=PERIOD_MS, start=True)
        self._update_stats()

    def pause(self, event=None) -> None:
        """Stop training (and the step-through animation); the views show the last step."""
        if self.sliding:
            self.sliding = False
        if not self.cnn_ready:
            return
        was = self.playing
        self.playing = False
        self._stop_loop()
        self._sync_buttons()
        if was:
            self.refresh()

    def step(self, event=None) -> None:
        self._build_cnn()
        self.playing = False
        self._stop_loop()
        self._sync_buttons()
        try:
            self.demo.step(1)
        except DivergenceError as exc:
            self.error = str(exc)
        self.refresh()

    def reset(self, event=None) -> None:
        self._build_cnn()
        self._keep_previous()
        self.playing = False
        self._stop_loop()
        self._sync_buttons()
        self.demo = self._new_demo()
        self.error = None
        self._on_new_demo()

    def _stop_loop(self) -> None:
        if self._cb is not None:
            cb, self._cb = self._cb, None
            cb.stop()

    def _sync_buttons(self) -> None:
        self._play.disabled = self.playing
        self._pause.disabled = not self.playing

    async def _tick(self) -> None:
        if not self.playing:
            return
        t0 = time.perf_counter()
        try:
            self.demo.train_for(BURST_SECONDS, max_steps=200)
        except DivergenceError as exc:
            self.error = str(exc)
            self.playing = False
            self._stop_loop()
            self._sync_buttons()
            self.refresh()
            return
        now = time.perf_counter()
        if now - self._last_eval >= max(EVAL_EVERY, self._eval_seconds * (1.0 - EVAL_SHARE) / EVAL_SHARE):
            self.refresh()
        elif now - self._last_kernels >= KERNELS_EVERY:
            self._update_kernels()
            self._update_stats()
        self._tick_ms = 1000.0 * (time.perf_counter() - t0)
        await asyncio.sleep(0.002)

    # -------- views -----------------------------------------------------------------------------

    def _on_new_demo(self) -> None:
        d = self.demo
        self._widgets["variations"].disabled = d.dataset != "shapes"
        self._widgets["n_samples"].disabled = d.dataset != "shapes"
        self._test_index.end = len(d.y_test) - 1
        if self.test_index > len(d.y_test) - 1:
            self.test_index = 0
        self._curve_src.data = dict(step=[], train_loss=[], test_loss=[], train_acc=[], test_acc=[])
        prev = self._previous
        self._prev_src.data = (dict(step=prev["step"], test_acc=prev["test_acc"]) if prev
                               else dict(step=[], test_acc=[]))
        if prev:
            self.acc_fig.legend.items[0].label = bk_value(f"previous run, test ({prev['label'].lower()})")
        if self.draw_editor.value.shape != d.input_shape:
            self.draw_editor.cell_size = 16 if d.image_size > 8 else 28
            self.draw_editor.value = np.zeros(d.input_shape)
        self.pred_fig.y_range.factors = list(reversed(d.class_names))
        self._arch.object = f"<p class='muted' data-testid='cnn-architecture'>{escape(d.describe())}</p>"
        if d.first_layer == "learned":
            self._start_labels = [f"#{i + 1}" for i in range(d.filters[0])]
        else:
            self._start_labels = [("−" if i >= len(PRESET_ORDER) else "") + SHORT_PRESET_LABELS[
                PRESET_ORDER[i % len(PRESET_ORDER)]] for i in range(d.filters[0])]
        self.kernels_start.show(list(d.initial_kernels[:, 0]), self._start_labels)
        self.refresh()


    def refresh(self) -> None:
        """Evaluate and push everything that depends on the weights into the views."""
        d = self.demo
        t0 = time.perf_counter()
        row = d.evaluate()
        self._row = row
        data = self._curve_src.data
        if not data["step"] or data["step"][-1] != row["step"]:
            self._curve_src.stream({k: [max(row[k], 1e-6) if "loss" in k else row[k]]
                                    for k in ("step", "train_loss", "test_loss", "train_acc", "test_acc")})
        self._update_kernels()
        self._update_maps()
        self._update_prediction()
        self._update_confusion()
        self.frames += 1
        self._update_stats()
        self._last_eval = time.perf_counter()
        self._eval_seconds = self._last_eval - t0

    def _update_kernels(self) -> None:
        self._last_kernels = time.perf_counter()
        d = self.demo
        K = d.kernels(0)[:, 0]
        labels = self._start_labels if d.first_layer != "learned" else [f"#{i + 1}" for i in range(len(K))]
        self.kernels_now.show(list(K), labels)
        mode = d.first_layer
        if mode == "presets_frozen":
            note = "Frozen: these hand-picked kernels stay as they are; only the later layers learn."
        elif mode == "presets":
            note = "Started from the hand-picked kernels (top); training keeps changing them."
        else:
            note = "Started from random values (top); training turns them into feature detectors."
        self._kernels_caption.object = (
            f"<p class='muted' data-testid='kernels-caption' data-checksum='{self.kernels_now.checksum:.6f}'>"
            f"Layer-1 kernels, {d.kernel_size}×{d.kernel_size}, blue = positive, orange = negative. {note}</p>")

    def _map_image(self) -> tuple[np.ndarray, str]:
        d = self.demo
        if self.map_source == "drawing":
            return np.asarray(self.draw_editor.value, dtype=np.float64), "your drawing"
        i = min(int(self.test_index), len(d.y_test) - 1)
        img, label = d.example(i)
        return img, f"test image {i}, a “{d.class_names[label]}”"

    def _update_maps(self) -> None:
        d = self.demo
        img, what = self._map_image()
        maps = {m["name"]: m["maps"] for m in d.feature_maps(img)}
        self.map_input.show([img], None, scale=1.0)
        self.maps1.show(list(maps["relu1"]), None)
        self.maps2.show(list(maps["relu2"]), None)
        p = maps["probs"]
        k = int(np.argmax(p))
        self._maps_caption.object = (
            f"<p class='muted' data-testid='maps-caption' data-pred='{escape(d.class_names[k])}'>Input: {what}. "
            f"The network says <b>{escape(d.class_names[k])}</b> ({100 * p[k]:.0f}%).</p>")

    def _update_prediction(self) -> None:
        d = self.demo
        img = np.asarray(self.draw_editor.value, dtype=np.float64)
        if img.shape != d.input_shape:
            return
        p = d.predict_proba(img)
        k = int(np.argmax(p))
        colors = [theme.ACCENT if i == k else "#cbd5e1" for i in range(len(p))]
        self._pred_src.data = dict(cls=list(d.class_names), p=p.tolist(), color=colors,
                                   label=[f"{100 * v:.0f}%" for v in p])
        probs_attr = ",".join(f"{v:.6f}" for v in p)
        blank = not np.any(img)
        extra = (" <span class='note'>(the pad is empty: draw something)</span>" if blank else "")
        self._prediction.object = (
            f'<div class="pred" data-testid="prediction" data-class="{escape(d.class_names[k])}" '
            f'data-probs="{probs_attr}" data-edits="{self.draw_editor.edits}">Prediction: '
            f'<b>{escape(d.class_names[k])}</b> ({100 * p[k]:.0f}%){extra}</div>')
        if self.map_source == "drawing":
            self._update_maps()

    def _update_confusion(self) -> None:
        d = self.demo
        C = d.confusion()
        names = d.class_names
        head = "".join(f"<th>{escape(n)}</th>" for n in names)
        rows = []
        for i, n in enumerate(names):
            total = max(int(C[i].sum()), 1)
            cells = []
            for j in range(len(names)):
                frac = C[i, j] / total
                if i == j:
                    bg = f"rgba(0, 114, 178, {0.12 + 0.6 * frac:.2f})"
                elif C[i, j]:
                    bg = f"rgba(213, 94, 0, {0.15 + 0.6 * frac:.2f})"
                else:
                    bg = "#f1f5f9"
                cells.append(f'<td style="background:{bg}">{C[i, j]}</td>')
            rows.append(f"<tr><th>{escape(n)}</th>{''.join(cells)}</tr>")
        self._confusion.object = (
            f'<table class="cm" data-testid="confusion" data-correct="{int(np.trace(C))}" data-total="{int(C.sum())}">'
            f'<tr><th class="corner">true \\ predicted</th>{head}</tr>{"".join(rows)}</table>')

    def _copy_test_image(self, event=None) -> None:
        img, _ = self.demo.example(min(int(self.test_index), len(self.demo.y_test) - 1))
        self.draw_editor.value = np.round(img, 2)

    def _update_stats(self) -> None:
        row = getattr(self, "_row", None)
        if row is None:
            return
        d = self.demo
        stats = [("step", "Step", row["step"], f"{row['step']:,}"),
                 ("epoch", "Epoch", d.epoch, f"{d.epoch:.1f}"),
                 ("train-loss", "Train loss", row["train_loss"], f"{row['train_loss']:.3f}"),
                 ("test-loss", "Test loss", row["test_loss"], f"{row['test_loss']:.3f}"),
                 ("train-acc", "Train acc.", row["train_acc"], f"{100 * row['train_acc']:.1f}%"),
                 ("test-acc", "Test acc.", row["test_acc"], f"{100 * row['test_acc']:.1f}%")]
        cells = "".join(
            f'<div class="stat"><span class="label">{label}</span>'
            f'<span class="value" data-testid="cnn-{key}" data-value="{value!r}">{text}</span></div>'
            for key, label, value, text in stats)
        if self.error:
            state = (f'<div class="state diverged" data-testid="cnn-message"><span class="dot"></span>'
                     f'{escape(self.error)}</div>')
        elif self.playing:
            state = ('<div class="state playing" data-testid="cnn-message"><span class="dot"></span>Training: '
                     f'{d.batch_size} images per step, learning rate {d.lr:g}</div>')
        else:
            state = ('<div class="state" data-testid="cnn-message"><span class="dot"></span>Paused. '
                     f'{len(d.y_train)} training and {len(d.y_test)} test images</div>')
        self._stats.object = (
            f'<div class="stats" data-testid="cnn-stats" data-step="{row["step"]}" '
            f'data-test-acc="{row["test_acc"]!r}" data-playing="{int(self.playing)}" '
            f'data-diverged="{int(bool(self.error))}" data-frames="{self.frames}" '
            f'data-tick-ms="{self._tick_ms:.1f}" data-eval-ms="{1000 * self._eval_seconds:.1f}" '
            f'data-sps="{d.steps_per_second:.2f}" '
            f'data-build-ms="{",".join(f"{v:.0f}" for v in getattr(self, "_build_ms", ()))}">{cells}</div>'
            f'{state}')

    # =========================================================================================
    # layout
    # =========================================================================================

    @staticmethod
    def _html(text, **kw):
        return pn.pane.HTML(text, stylesheets=[theme.PROSE_CSS], margin=kw.pop("margin", (0, 5)), **kw)

    def _conv_layout(self):
        card = [theme.CARD_CSS]
        html = self._html
        conv_controls = pn.Column(
            self._image_select, self._kernel_select, self._kernel_text, self._kernel_msg,
            self._relu_box, self._pool_box, width=260, margin=(0, 10, 0, 0))
        grids = pn.Row(
            self.image_editor,
            pn.Column(self.kernel_editor, margin=(0, 10)),
            self.fmap_view,
            self.pool_view,
            sizing_mode="stretch_width")
        step_box = pn.Column(
            html("<h3>Step through the scan</h3><p class='muted'>The kernel's current zone is framed on the "
                 "image and its output cell on the feature map.</p>"),
            pn.Row(self._pos_slider, self._prev_btn, self._next_btn, self._max_btn, self._slide_btn),
            self._step_view,
            sizing_mode="stretch_width")
        conv_card = pn.Column(
            html(INTRO, sizing_mode="stretch_width"),
            html(CONV_INTRO, sizing_mode="stretch_width"),
            pn.Row(conv_controls, pn.Column(grids, self._summary, sizing_mode="stretch_width"),
                   sizing_mode="stretch_width"),
            step_box,
            self._explain,
            stylesheets=card, sizing_mode="stretch_width")

        return conv_card

    def _cnn_layout(self):
        card = [theme.CARD_CSS]
        html = self._html
        w = self._widgets
        controls = pn.Column(
            html("<h3>Data</h3>"), w["dataset"],
            html("<p class='muted' style='margin:0'>Variations (shapes)</p>"), w["variations"], w["n_samples"],
            html("<h3>Network</h3>", margin=(8, 5, 0, 5)), w["filters1"], w["filters2"],
            html("<p class='muted' style='margin:0'>Kernel size</p>"), w["kernel_size"], w["first_layer"],
            html("<h3>Training</h3>", margin=(8, 5, 0, 5)), w["lr"], w["batch_size"], w["seed"],
            pn.Row(self._play, self._pause, margin=(8, 0, 0, 0)),
            pn.Row(self._step, self._reset),
            width=270, stylesheets=card, margin=(0, 16, 0, 0))
        curves = pn.Column(
            self._stats, self._arch,
            pn.Row(pn.pane.Bokeh(self.loss_fig), pn.pane.Bokeh(self.acc_fig)),
            sizing_mode="stretch_width")
        kernels = pn.Column(
            html("<h3>Learned kernels (layer 1)</h3>"),
            self._kernels_caption,
            pn.Row(html("<p class='muted'>start</p>", width=44), pn.pane.Bokeh(self.kernels_start.fig)),
            pn.Row(html("<p class='muted'>now</p>", width=44), pn.pane.Bokeh(self.kernels_now.fig)),
            html(KERNEL_CHOICE, sizing_mode="stretch_width"),
            sizing_mode="stretch_width")
        maps = pn.Column(
            html("<h3>Feature maps of one input</h3>"),
            pn.Row(self._map_source, self._test_index),
            self._maps_caption,
            pn.Row(pn.Column(html("<p class='muted'>input</p>"), pn.pane.Bokeh(self.map_input.fig)),
                   pn.Column(html("<p class='muted'>level 1: edges (ReLU of conv 1), one map per kernel</p>"),
                             pn.pane.Bokeh(self.maps1.fig),
                             html("<p class='muted'>level 2: boundaries (ReLU of conv 2), after pooling "
                                  "level 1</p>"),
                             pn.pane.Bokeh(self.maps2.fig))),
            html(HIERARCHY, sizing_mode="stretch_width"),
            sizing_mode="stretch_width")
        draw = pn.Row(
            pn.Column(self.draw_editor, pn.Row(self._brush), pn.Row(self._clear, self._copy)),
            pn.Column(self._prediction, pn.pane.Bokeh(self.pred_fig)),
            pn.Column(html("<h3>Confusion matrix (test set)</h3><p class='muted'>Rows: the true class; "
                           "columns: what the network predicts. The diagonal counts the correct answers.</p>",
                           width=330),
                      self._confusion),
            sizing_mode="stretch_width")
        cnn_main = pn.Column(
            html(CNN_INTRO, sizing_mode="stretch_width"),
            curves, kernels, maps,
            html("<h3>Draw your own input</h3>"),
            draw,
            sizing_mode="stretch_width")
        return pn.Row(controls, pn.Column(cnn_main, stylesheets=card, sizing_mode="stretch_width"),
                      sizing_mode="stretch_width")

    def __panel__(self):
        return self._layout
