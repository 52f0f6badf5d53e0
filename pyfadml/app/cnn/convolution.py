"""Screen 1 of "Convolution & CNN": the lecture's X convolved with a 3x3 kernel, step by step.

An editable +1/-1 pixel image, a kernel (presets, clicks or typed values), the feature map with its maximum,
one kernel position spelled out (zone ⊙ kernel = nine products, their sum), ReLU and max pooling. Every
number comes from :mod:`pyfadml.demos.conv` (hence from the library's layers); this module only draws.
"""
from __future__ import annotations

from html import escape

import numpy as np
import panel as pn
import param

from pyfadml.app import ui
from pyfadml.app.cnn.helpers import SECTION_CSS, small_matrix
from pyfadml.app.cnn.picture import PictureView
from pyfadml.app.widgets import PixelEditor
from pyfadml.data.images import lecture_x, lecture_x_variant
from pyfadml.demos import conv

SLIDE_MS = 450              # step-through animation period
KERNEL_LIMIT = 1000.0       # typed kernel values must lie in [-KERNEL_LIMIT, KERNEL_LIMIT]
IMAGE_LABELS = {"X (lecture)": "x", "χ: the X written differently": "variant", "Blank (all white)": "blank"}
IMAGES = {"x": lecture_x, "variant": lecture_x_variant, "blank": lambda: -np.ones((9, 9))}
IMAGE_SYMBOLS = {"x": "X", "variant": "χ", "blank": "X"}
KERNEL_LABELS = {p["label"]: key for key, p in conv.KERNEL_PRESETS.items()}
CUSTOM = "custom"

INTRO = """
<h3>The lecture's X, step by step</h3>
<p class="secondary">Black pixels are <b>+1</b>, white pixels are <b>−1</b>. The 3×3 kernel scans every
overlapping 3×3 zone of the image; at each position the zone and the kernel are multiplied entry by entry and
the nine products are added. Those sums form the <b>feature map</b>. Click the pixels of the image or of the
kernel to edit them, or type the kernel's values.</p>
"""


def cell_size(values, smallest: int = 34) -> int:
    """Screen pixels per cell so that the values a PixelEditor prints fit in their cells (it prints whole
    numbers whole and others with two significant digits, e.g. "−0.56")."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not v.size:
        return smallest
    whole = (v == np.round(v)) & (np.abs(v) < 1e4)
    longest = max(len(str(int(x))) if w else len(f"{x:.2g}") for x, w in zip(v.tolist(), whole.tolist()))
    return int(max(smallest, min(72, 8 * longest + 8)))


class ConvolutionScreen(ui.View):
    """Image, kernel, feature map and the step-through of one position (the lecture's example)."""

    image_preset = param.Selector(default="x", objects=list(IMAGES))
    kernel_preset = param.Selector(default="x", objects=list(conv.KERNEL_PRESETS) + [CUSTOM])
    apply_relu = param.Boolean(default=False)
    apply_pool = param.Boolean(default=False)
    position = param.Integer(default=0, bounds=(0, 48))
    sliding = param.Boolean(default=False)

    def __init__(self, **params):
        super().__init__(**params)
        self._syncing = False
        self.kernel_error: str | None = None
        self._slide_cb = None
        self._build_widgets()
        self._layout = self._build_layout()
        self._update()

    # ------------------------------------------------------------------------------------------
    # state
    # ------------------------------------------------------------------------------------------

    @property
    def image(self) -> np.ndarray:
        return np.asarray(self.image_editor.value, dtype=np.float64)

    @property
    def kernel(self) -> np.ndarray:
        return np.asarray(self.kernel_editor.value, dtype=np.float64)

    @property
    def symbol(self) -> str:
        """How the text names the image: X, or χ for the lecture's differently written X."""
        return IMAGE_SYMBOLS[self.image_preset]

    def pause(self, event=None, *, away: bool = False) -> None:
        """Stop the sliding animation (the shell calls this when the section is left)."""
        self.sliding = False

    @param.depends("image_preset", watch=True)
    def _image_preset_changed(self):
        self.image_editor.value = IMAGES[self.image_preset]()

    @param.depends("kernel_preset", watch=True)
    def _kernel_preset_changed(self):
        if self.kernel_preset == CUSTOM or self._syncing:
            return
        spec = conv.KERNEL_PRESETS[self.kernel_preset]
        self._set_kernel(conv.preset_kernel(self.kernel_preset), text=conv.format_kernel(spec["kernel"]))

    def _set_kernel(self, k: np.ndarray, *, text: str | None = None, preset: str | None = None) -> None:
        """Put ``k`` into the editor, the text box and the preset menu without re-triggering each other."""
        self._syncing = True
        try:
            self.kernel_error = None
            if text is not None:
                self._kernel_text.value = text
            if preset is not None:
                self.kernel_preset = preset
            self.kernel_editor.value = k
        finally:
            self._syncing = False
        self._update()

    def _kernel_clicked(self, event) -> None:
        if not self._syncing:
            self._set_kernel(self.kernel, text=conv.format_kernel(self.kernel), preset=self._matching_preset(self.kernel))

    def _kernel_typed(self, event) -> None:
        if self._syncing:
            return
        try:
            k = conv.parse_kernel(event.new, limit=KERNEL_LIMIT)
        except ValueError as exc:           # the kernel in force stays; the note says what to fix
            self.kernel_error = str(exc)
            self._kernel_msg.object = ui.note_html(escape(self.kernel_error), testid="kernel-error")
            return
        self._set_kernel(k, preset=self._matching_preset(k))

    @staticmethod
    def _matching_preset(k: np.ndarray) -> str:
        return conv.matching_preset(k) or CUSTOM

    @param.depends("apply_relu", "apply_pool", "position", watch=True)
    def _view_changed(self):
        self._update()

    def _slider_moved(self, event) -> None:
        if event.new is not None and event.new - 1 != self.position:
            self.position = int(event.new) - 1

    def _move(self, delta: int) -> None:
        self.position = (self.position + delta) % self._n_positions()

    def _go_to_max(self, event=None) -> None:
        out = conv.pipeline(self.image, self.kernel, apply_relu=self.apply_relu)
        r, c = out["argmax"][0]
        self.position = r * out["output"].shape[1] + c

    def _n_positions(self) -> int:
        return len(conv.positions(self.image.shape, self.kernel.shape[0]))

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

    # ------------------------------------------------------------------------------------------
    # drawing
    # ------------------------------------------------------------------------------------------

    def _update(self) -> None:
        """Recompute the pipeline from the library and push it into the views."""
        img, k, X = self.image, self.kernel, self.symbol
        out = conv.pipeline(img, k, apply_relu=self.apply_relu, pool=2 if self.apply_pool else None)
        shown = out["output"]
        oh, ow = shown.shape
        n = oh * ow
        if self.param.position.bounds[1] != n - 1:
            self.param.position.bounds = (0, n - 1)
            self._pos_slider.end = n
        if self.position > n - 1:
            self.position = n - 1           # re-enters through the watcher
            return
        r, c = divmod(self.position, ow)
        self._pos_slider.value = self.position + 1
        self._pos_where.object = (f'<div class="muted" data-testid="kernel-where" data-position="{self.position + 1}" '
                                  f'data-row="{r + 1}" data-col="{c + 1}">Position {self.position + 1} of {n}: '
                                  f'row {r + 1}, column {c + 1} (counted from 1, row by row)</div>')
        edited = "" if np.array_equal(img, IMAGES[self.image_preset]()) else ", edited"
        self.image_editor.label = f"Input image {X}{edited} (click a pixel: black +1 ↔ white −1)"
        self.fmap_view.label = (f"Feature map {f'ReLU({X} ⋆ K)' if self.apply_relu else f'F = {X} ⋆ K'}, {oh}×{ow} "
                                f"(outlined: maximum)")
        self.fmap_view.cell_size = cell_size(shown)
        self.fmap_view.value = shown
        self.fmap_view.highlight = out["argmax"]
        self.fmap_view.window = (r, c, 1, 1)
        self.image_editor.window = (r, c, k.shape[0], k.shape[1])
        if out["pooled"] is not None:
            self.pool_view.cell_size = cell_size(out["pooled"])
            self.pool_view.value = out["pooled"]
            self.pool_view.highlight = conv.argmax_cells(out["pooled"])
        self.pool_view.visible = out["pooled"] is not None
        self._step_view.object = self._step_html(img, k, r, c)
        self._summary.object = self._summary_html(out, shown)
        self._kernel_msg.object = (ui.note_html(escape(self.kernel_error), testid="kernel-error")
                                   if self.kernel_error else "")
        self._explain.object = self._explanation(img, k)
        self.picture.update(k)

    def _step_html(self, img, k, r: int, c: int) -> str:
        w = conv.window_products(img, k, r, c)
        lib_value, ok = w["library"], w["agrees"]
        relu_note = ""
        if self.apply_relu:
            relu_note = (f'<span class="sym">→</span><span class="note">ReLU: max(0, {ui.num(w["total"])}) = '
                         f'<b>{ui.num(max(0.0, w["total"]))}</b></span>')
        return (f'<div class="op" data-testid="step-through" data-row="{r}" data-col="{c}" '
                f'data-total="{ui.exact(w["total"])}" data-library="{ui.exact(lib_value)}">'
                + small_matrix(w["zone"], f"zone of {self.symbol} at row {r + 1}, column {c + 1}", name="zone",
                               scale=1.0)
                + '<span class="sym">⊙</span>' + small_matrix(k, "kernel K", name="kernel")
                + '<span class="sym">=</span>' + small_matrix(w["products"], "the nine products", name="products")
                + f'<span class="sym">Σ =</span><span class="sum">{ui.num(w["total"])}</span>' + relu_note
                + f'<span class="check{"" if ok else " bad"}">{"✓" if ok else "✗"} F[{r + 1}, {c + 1}] from '
                  f'pyfadml\'s correlate2d = {ui.num(lib_value)}</span></div>')

    def _summary_html(self, out, shown) -> str:
        oh, ow = shown.shape
        cells = ", ".join(f"(row {i + 1}, column {j + 1})" for i, j in out["argmax"][:4])
        more = f" and {len(out['argmax']) - 4} more" if len(out["argmax"]) > 4 else ""
        argmax_attr = ";".join(f"{i},{j}" for i, j in out["argmax"])
        centre = (oh // 2, ow // 2)
        return (f'<div class="summary" data-testid="conv-summary" data-max="{ui.exact(out["max_value"])}" '
                f'data-argmax="{argmax_attr}" data-centre="{ui.exact(shown[centre])}" data-shape="{oh}x{ow}" '
                f'data-edits="{self.image_editor.edits}" data-image="{self.image_preset}">'
                f'Maximum <b>{ui.num(out["max_value"])}</b> at {cells}{more}; centre cell (row {centre[0] + 1}, '
                f'column {centre[1] + 1}) = <b>{ui.num(shown[centre])}</b>.</div>')

    def _explanation(self, img, k) -> str:
        """:func:`pyfadml.demos.conv.explain`, and where to see smoothing and sharpening on this page."""
        parts = [f"<p><b>{escape(title)}{'.' if title else ''}</b> {escape(text)}</p>" for title, text in
                 conv.explain(img, k, apply_relu=self.apply_relu, pool=self.apply_pool)]
        parts.insert(len(parts) - self.apply_relu - self.apply_pool, (
            "<p class='muted secondary'><b>Smoothing or sharpening?</b> The choice of kernel decides: "
            "averaging kernels (blur) smooth the image, kernels that subtract the neighbours from the "
            "centre (sharpen, edges) bring out differences. See it on the grey-level picture above.</p>"))
        return "".join(parts)

    # ------------------------------------------------------------------------------------------
    # widgets and layout
    # ------------------------------------------------------------------------------------------

    def _build_widgets(self) -> None:
        W, p = pn.widgets, self.param
        self.image_editor = PixelEditor(value=lecture_x(), values=[-1.0, 1.0], cmap="ink", vmin=-1.0, vmax=1.0,
                                        show_values=True, cell_size=34, grid_id="conv-input")
        self.kernel_editor = PixelEditor(value=conv.preset_kernel("x"), values=[-1.0, 0.0, 1.0],
                                         cmap="diverging", show_values=True, cell_size=44, grid_id="conv-kernel",
                                         label="Kernel K: click a cell (−1 → 0 → +1)")
        self.fmap_view = PixelEditor(value=np.zeros((7, 7)), editable=False, show_values=True, cmap="diverging",
                                     cell_size=34, label="Feature map F", grid_id="conv-fmap")
        self.pool_view = PixelEditor(value=np.zeros((3, 3)), editable=False, show_values=True, cmap="diverging",
                                     cell_size=34, label="After 2×2 max pooling", grid_id="conv-pool",
                                     visible=False)
        self.image_editor.param.watch(lambda e: self._update(), "value")
        self.kernel_editor.param.watch(self._kernel_clicked, "value")
        self._image_select = ui.select(p.image_preset, "Image", IMAGE_LABELS)
        self._kernel_select = ui.select(p.kernel_preset, "Kernel preset",
                                        {**KERNEL_LABELS, "Custom (clicked or typed)": CUSTOM})
        self._kernel_text = W.TextAreaInput(label="Kernel values (type, then click outside)",
                                            value=conv.format_kernel(conv.KERNEL_PRESETS["x"]["kernel"]),
                                            rows=3, auto_grow=False)
        self._kernel_text.param.watch(self._kernel_typed, "value")
        self._relu_box = W.Checkbox.from_param(p.apply_relu, label="Apply ReLU: max(0, val)")
        self._pool_box = W.Checkbox.from_param(p.apply_pool, label="Max pooling 2×2")
        # counted from 1 as the lecture counts rows and columns; self.position stays 0-based
        self._pos_slider = W.IntSlider(label="Kernel position", start=1, end=49, value=self.position + 1)
        self._pos_slider.param.watch(self._slider_moved, "value")
        self._pos_where = ui.prose(css=SECTION_CSS)
        self._prev_btn = W.Button(label="◀ Previous", width=104, margin=(4, 3))
        self._next_btn = W.Button(label="Next ▶", width=104, margin=(4, 3))
        self._max_btn = W.Button(label="Go to the maximum", sizing_mode="stretch_width", margin=(4, 3))
        self._slide_btn = W.Toggle.from_param(p.sliding, label="Slide the kernel", color="primary",
                                              variant="outline", sizing_mode="stretch_width", margin=(4, 3))
        self._prev_btn.on_click(lambda e: self._move(-1))
        self._next_btn.on_click(lambda e: self._move(+1))
        self._max_btn.on_click(self._go_to_max)
        self._kernel_msg = ui.prose(css=SECTION_CSS)
        self._summary = ui.prose(css=SECTION_CSS, margin=(4, 5))
        self._step_view = ui.prose(css=SECTION_CSS, margin=(4, 5))
        self._explain = ui.prose(margin=(4, 5))
        self.picture = PictureView()

    def _build_layout(self):
        grids = pn.Row(self.image_editor, pn.Column(self.kernel_editor, margin=(0, 10)), self.fmap_view,
                       self.pool_view, sizing_mode="stretch_width")
        return ui.screen(
            [ui.heading("Image and kernel", 0), self._image_select, self._kernel_select, self._kernel_text,
             self._kernel_msg, self._relu_box, self._pool_box,
             ui.heading("Step through the scan"), self._pos_slider, self._pos_where,
             pn.Row(self._prev_btn, self._next_btn, margin=(0, 2)), self._max_btn, self._slide_btn],
            [ui.prose(INTRO), grids, self._summary, self.picture,
             ui.prose("<p class='muted'>The kernel's current zone is framed on the image and its output cell on the "
                      "feature map: <b>Previous</b>, <b>Next</b> or <b>Slide the kernel</b> move it.</p>",
                      margin=(8, 5, 0, 5)),
             self._step_view, self._explain], width=260)
