"""The VAE section's drawing pad: draw an image and the model says whether it looks like its training data
(anomaly or regular), by where its reconstruction error falls among the test images' errors."""
from __future__ import annotations

from typing import Callable

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, Range1d, Span

from pyfadml.app import theme, ui
from pyfadml.app.imagein import ImageUpload
from pyfadml.app.vae.images import ImageGrid
from pyfadml.app.widgets import PixelEditor
from pyfadml.demos.generative import ANOMALY_PERCENTILE, GenerativeDemo

EDITOR_PX = 208              # the drawing (and its reconstruction beside it), screen pixels a side
BRUSHES = {"Ink": 1.0, "Half": 0.5, "Erase": 0.0}
MODEL_NAMES = {"vae": "VAE", "ae": "autoencoder"}

ANOMALY_TEXT = f"""
<h3>Anomaly or regular?</h3>
<p>A model trained on one kind of image reconstructs that kind well and anything else badly. Draw an image
(click or drag; choose the brush), and compare its reconstruction error \\(\\tfrac12\\lVert x - x'\\rVert^2\\)
with the errors of the test images: above their {ANOMALY_PERCENTILE:.0f}th percentile we call it an
<b>anomaly</b>.</p>
"""


class AnomalyView(param.Parameterized):
    """The drawing pad, its reconstruction, and the histogram of the test images' errors with its own."""

    model = param.Selector(default="vae", objects=["vae", "ae"], doc="The model that judges the drawing.")

    def __init__(self, demo: Callable[[], GenerativeDemo], test_index: Callable[[], int], **params):
        super().__init__(**params)
        self.demo, self.test_index = demo, test_index
        self._errors: np.ndarray | None = None
        self._errors_of = None                     # (model, step, demo) the errors belong to
        self._hist_top = 1.0
        shape = demo().image_shape
        self.editor = PixelEditor(value=np.zeros(shape), values=[0.0, 1.0], brush=1.0, vmin=0.0, vmax=1.0,
                                  cmap="ink", label="your drawing", cell_size=EDITOR_PX // shape[0],
                                  grid_id="vae-drawing")
        self.editor.param.watch(lambda event: self.draw(), "value")
        self.recon = ImageGrid("anomaly-reconstruction")
        self._build_histogram()
        self.caption = ui.prose()
        W = pn.widgets
        self._brush_w = W.RadioButtonGroup(options=list(BRUSHES), value="Ink", color="primary", variant="outline")
        self._brush_w.param.watch(lambda event: setattr(self.editor, "brush", BRUSHES[event.new]), "value")
        self._clear_btn = W.Button(label="Clear", color="default", width=80)
        self._clear_btn.on_click(self.clear)
        self._copy_btn = W.Button(label="Copy the test image", color="default", width=160)
        self._copy_btn.on_click(self.copy_test_image)
        self.image_upload = ImageUpload("vae", self.editor)          # a PNG or JPEG on the pad
        self._model_w = ui.toggle(self.param.model, {"VAE": "vae", "AE": "ae"})

    def _build_histogram(self) -> None:
        hist = ui.figure(width=370, height=230, x_range=Range1d(0, 1), grid=True)
        self._hist_src = ColumnDataSource(dict(left=[], right=[], top=[]))
        hist.quad(left="left", right="right", bottom=0, top="top", source=self._hist_src, fill_color="#94a3b8",
                  line_color="white", legend_label="test images")
        self._err_span = Span(location=0.0, dimension="height", line_color=theme.DANGER, line_width=3)
        self._thr_span = Span(location=0.0, dimension="height", line_color=theme.INK, line_width=1.5,
                              line_dash="dashed")
        hist.add_layout(self._err_span)
        hist.add_layout(self._thr_span)
        ui.style_legend(hist, "top_right")
        hist.xaxis.axis_label = "reconstruction error ½‖x−x′‖²"
        hist.yaxis.axis_label = "test images"
        hist.y_range.start = 0
        self.hist_fig = hist

    # ------------------------------------------------------------------------------------------
    # buttons
    # ------------------------------------------------------------------------------------------

    def clear(self, event=None) -> None:
        self.editor.value = np.zeros(self.demo().image_shape)

    def copy_test_image(self, event=None) -> None:
        """The drawing becomes the test image the variations show."""
        d = self.demo()
        self.editor.value = d.as_images(d.X_test[self.test_index()]).astype(np.float64)[0]

    @param.depends("model", watch=True)
    def _model_changed(self) -> None:
        self.draw()

    # ------------------------------------------------------------------------------------------
    # drawing
    # ------------------------------------------------------------------------------------------

    def reset(self) -> None:
        """A new demo: the pad fits its images (and starts from a test image unless the drawing fits)."""
        d = self.demo()
        self._errors_of = None
        self.recon.fit(d.image_shape, 1, 1, image_px=EDITOR_PX - 32)
        if self.editor.value.shape != d.image_shape or not self.editor.edits:
            self.editor.cell_size = EDITOR_PX // d.image_shape[0]
            self.copy_test_image()

    def draw(self, recompute: bool = False) -> None:
        """The verdict on the drawing; ``recompute``: the test images' errors too (they change with training)."""
        d = self.demo()
        if recompute or self._errors_of != (self.model, d.step_count, id(d)):
            self._draw_histogram()
        img = self.editor.value
        if img.shape != d.image_shape:
            return                                 # a drawing of the previous data set, replaced by reset()
        with np.errstate(all="ignore"):
            s = d.anomaly_score(np.clip(img, 0.0, 1.0), self.model, errors=self._errors)
        self.recon.show(s["recon"][None])
        self._err_span.location = s["error"]
        self._thr_span.location = s["threshold"]
        self.hist_fig.x_range.start = 0.0
        end = max(self._hist_top, s["error"] * 1.08, s["threshold"] * 1.08)
        self.hist_fig.x_range.end = end if np.isfinite(end) else self._hist_top
        model = MODEL_NAMES[self.model]
        if s["anomalous"]:
            verdict = (f"<b style='color:{theme.DANGER}'>Anomaly</b>: the {model} reconstructs it worse than "
                       f"{s['percentile']:.0f}% of the test images")
        else:
            verdict = (f"<b style='color:#15803d'>Regular</b>: {s['percentile']:.0f}% of the test images are "
                       f"reconstructed better, {100 - s['percentile']:.0f}% worse")
        data = ui.attrs(error=repr(s["error"]), threshold=repr(s["threshold"]), percentile=repr(s["percentile"]),
                        anomalous=int(s["anomalous"]), edits=self.editor.edits)
        self.caption.object = (
            f'<p data-testid="anomaly" {data} style="font-size:calc(15px * var(--pf-scale, 1));color:{theme.TEXT}">'
            f'{verdict} (error {ui.num(s["error"])}, red line; dashed: the {ANOMALY_PERCENTILE:.0f}th '
            f'percentile, {ui.num(s["threshold"])}).</p>')

    def _draw_histogram(self) -> None:
        d = self.demo()
        with np.errstate(all="ignore"):
            self._errors = d.error_distribution(self.model)
        self._errors_of = (self.model, d.step_count, id(d))
        h = d.error_histogram(self._errors)
        if h is not None:
            self._hist_src.data = dict(left=h["left"], right=h["right"], top=h["counts"])
            self._hist_top = h["top"]

    # ------------------------------------------------------------------------------------------
    # layout
    # ------------------------------------------------------------------------------------------

    def panel(self) -> pn.Column:
        return ui.card(
            ui.prose(ANOMALY_TEXT, math=True, margin=(5, 10)),
            pn.Row(
                pn.Column(self.editor, self._brush_w, pn.Row(self._clear_btn, self._copy_btn), self.image_upload),
                pn.Column(ui.prose("<p class='muted'>its reconstruction</p>", sizing_mode=None),
                          pn.pane.Bokeh(self.recon.fig), margin=(0, 16)),
                pn.Column(pn.Row(ui.prose("<b>Model</b>", margin=(8, 5), sizing_mode=None), self._model_w),
                          pn.pane.Bokeh(self.hist_fig))),
            self.caption, margin=(16, 0, 0, 0))
