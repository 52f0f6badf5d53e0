"""Inside the CNN of screen 2: its layer-1 kernels, the feature maps of one input, the student's own drawing
with the network's prediction, and the test set's confusion matrix.

:class:`NetworkViews` draws what :class:`pyfadml.demos.cnn.CNNDemo` answers; the training screen decides
when (``draw_kernels``, ``draw_maps``, ``draw_confusion``) and calls ``new_demo`` after a reset.
"""
from __future__ import annotations

from html import escape
from typing import Callable

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, FactorRange, Range1d

from pyfadml.app import theme, ui
from pyfadml.app.cnn.helpers import INK, SECTION_CSS, SEQUENTIAL, TileFigure
from pyfadml.app.cnn.features import FeaturesView
from pyfadml.app.cnn.occlusion import OcclusionView
from pyfadml.app.imagein import ImageUpload
from pyfadml.app.widgets import PixelEditor
from pyfadml.demos.cnn import PRESET_ORDER, CNNDemo

SHORT_PRESET_LABELS = {"x": "X", "identity": "identity", "edge_vertical": "vertical", "edge_horizontal": "horizontal",
                       "edge_all": "Laplacian", "blur_box": "blur", "blur_gaussian": "Gaussian", "sharpen": "sharpen"}
FIRST_LAYER_NOTES = {
    "presets_frozen": "Frozen: these hand-picked kernels stay as they are; only the later layers learn.",
    "presets": "Started from the hand-picked kernels (top); training keeps changing them.",
    "learned": "Started from random values (top); training turns them into feature detectors.",
}

HIERARCHY = """
<p class="muted secondary">Feature extraction is hierarchical: <b>at level 1 we extract edges</b> (each map is
one kernel's response, after ReLU); <b>at level 2 boundaries</b> that combine edges; the dense layer then
separates the <b>shapes</b>. Blue = strong response, white = zero.</p>
"""

KERNEL_CHOICE = """
<p class="muted secondary"><b>How to select the kernel?</b> At each layer of a CNN we train the weights and,
with them, the values of the kernels; this needs many training examples. Start the first layer from the
hand-picked kernels of screen 1 (edge detectors, the X kernel, blur, sharpen) and compare with learning them:
the accuracy plot keeps the previous run as a grey line.</p>
"""


class NetworkViews(ui.View):
    """Kernels, feature maps, drawing pad with prediction, confusion matrix of ``demo()``."""

    map_source = param.Selector(default="test", objects=["test", "drawing"])
    test_index = param.Integer(default=0, bounds=(0, 10_000))

    def __init__(self, demo: Callable[[], CNNDemo], **params):
        super().__init__(**params)
        self.demo = demo
        self.playing: Callable[[], bool] = lambda: False       # the training screen sets it
        self.occlusion = OcclusionView(demo, lambda: self.playing())
        self.features = FeaturesView(demo, lambda: self.playing())
        d = demo()
        W = pn.widgets
        # large enough to read a 3x3 kernel from the back of the room (issue 13, item 5)
        self.kernels_now, self.kernels_start, self.kernels_diff = (
            TileFigure(palette=theme.DIVERGING, symmetric=True, tile_px=84, gap_px=16, label_px=13, max_cols=8,
                       max_width=820) for _ in range(3))
        self.map_input = TileFigure(palette=INK, symmetric=False, tile_px=112, max_width=130)
        self.maps1 = TileFigure(palette=SEQUENTIAL, symmetric=False, tile_px=76, gap_px=8, max_cols=8, max_width=660)
        self.maps2 = TileFigure(palette=SEQUENTIAL, symmetric=False, tile_px=52, gap_px=8, max_cols=8, max_width=660)
        self.draw_editor = PixelEditor(value=np.zeros(d.input_shape), values=[0.0, 1.0], brush=1.0, cmap="ink",
                                       vmin=0.0, vmax=1.0, cell_size=16, grid_id="cnn-draw",
                                       label="Your drawing: click or drag to paint")
        self.draw_editor.param.watch(lambda e: self.draw_prediction(), "value")
        self._brush = W.RadioButtonGroup(options={"Ink": 1.0, "Half": 0.5, "Erase": 0.0}, value=1.0,
                                         color="primary", variant="outline")
        self._brush.param.watch(lambda e: setattr(self.draw_editor, "brush", float(e.new)), "value")
        self._clear = W.Button(label="Clear drawing", width=120)
        self._copy = W.Button(label="Copy the test image", width=150)
        self._clear.on_click(lambda e: setattr(self.draw_editor, "value", np.zeros(self.demo().input_shape)))
        self._copy.on_click(self._copy_test_image)
        self.image_upload = ImageUpload("cnn", self.draw_editor)     # a PNG or JPEG on the pad
        self._pred_src = ColumnDataSource(dict(cls=[], p=[], color=[], label=[]))
        pf = ui.figure(width=260, height=200, y_range=FactorRange(factors=[]), x_range=Range1d(0, 1.18))
        pf.hbar(y="cls", right="p", height=0.7, source=self._pred_src, fill_color="color", line_color=None)
        pf.text(x="p", y="cls", text="label", source=self._pred_src, x_offset=4, text_baseline="middle",
                text_font_size="11px", text_color=theme.TEXT)
        pf.xaxis.axis_label = "probability"
        pf.yaxis.major_label_text_color = theme.TEXT
        self.pred_fig = pf
        self._map_source = ui.toggle(self.param.map_source, {"A test image": "test", "Your drawing": "drawing"})
        self._test_index = W.IntSlider.from_param(self.param.test_index, label="Test image", width=260)
        self._maps_caption, self._kernels_caption = ui.prose(), ui.prose()
        self._confusion = ui.prose(css=SECTION_CSS, sizing_mode=None)
        self._prediction = ui.prose(css=SECTION_CSS, width=260)
        self._start_labels: list[str] = []
        self._layout = self._build_layout()

    # ------------------------------------------------------------------------------------------
    # drawing
    # ------------------------------------------------------------------------------------------

    def new_demo(self) -> None:
        """A new network (settings changed or Reset): sizes, labels and the starting kernels."""
        d = self.demo()
        self._test_index.end = len(d.y_test) - 1
        if self.test_index > len(d.y_test) - 1:
            self.test_index = 0
        if self.draw_editor.value.shape != d.input_shape:
            self.draw_editor.cell_size = 16 if d.image_size > 8 else 28
            self.draw_editor.value = np.zeros(d.input_shape)
        self.pred_fig.y_range.factors = list(reversed(d.class_names))
        if d.first_layer == "learned":
            self._start_labels = [f"#{i + 1}" for i in range(d.filters[0])]
        else:
            self._start_labels = [("−" if i >= len(PRESET_ORDER) else "") + SHORT_PRESET_LABELS[
                PRESET_ORDER[i % len(PRESET_ORDER)]] for i in range(d.filters[0])]
        self.kernels_start.show(list(d.initial_kernels[:, 0]), self._start_labels)

    def draw_kernels(self) -> None:
        d = self.demo()
        now = d.kernels(0)[:, 0]
        diff = now - d.initial_kernels[:, 0]
        self.kernels_now.show(list(now), self._start_labels)
        self.kernels_diff.show(list(diff), self._start_labels)     # its own scale: small changes show
        change = float(np.linalg.norm(diff) / max(np.linalg.norm(d.initial_kernels), 1e-12))
        self._kernels_caption.object = (
            f"<p class='muted' data-testid='kernels-caption' data-checksum='{self.kernels_now.checksum:.6f}' "
            f"data-change='{ui.exact(change)}'>"
            f"Layer-1 kernels, {d.kernel_size}×{d.kernel_size}, blue and + = positive, orange and − = negative. "
            f"{FIRST_LAYER_NOTES[d.first_layer]} <b>now − start</b> (its own colour scale) shows what training "
            f"changed: {ui.pct(change, 0)} of the starting kernels' size so far.</p>")

    def draw_maps(self) -> None:
        """The feature maps of the chosen input, and the prediction for the drawing."""
        d = self.demo()
        if self.map_source == "drawing":
            img, what = np.asarray(self.draw_editor.value, dtype=np.float64), "your drawing"
        else:
            i = min(int(self.test_index), len(d.y_test) - 1)
            img, label = d.example(i)
            what = f"test image {i}, a “{d.class_names[label]}”"
        maps = {m["name"]: m["maps"] for m in d.feature_maps(img)}
        self.map_input.show([img], None, scale=1.0)
        self.maps1.show(list(maps["relu1"]), None)
        self.maps2.show(list(maps["relu2"]), None)
        p = maps["probs"]
        k = int(np.argmax(p))
        self._maps_caption.object = ui.caption("maps-caption", f"Input: {what}. The network says <b>"
                                               f"{escape(d.class_names[k])}</b> ({ui.pct(p[k], 0)}).",
                                               pred=d.class_names[k])
        self.occlusion.draw(img, what)
        self._draw_prediction(d)

    def draw_prediction(self) -> None:
        """After an edit of the drawing: its prediction (and its maps, when they are shown)."""
        if self.map_source == "drawing":
            self.draw_maps()
        else:
            self._draw_prediction(self.demo())

    def _draw_prediction(self, d: CNNDemo) -> None:
        img = np.asarray(self.draw_editor.value, dtype=np.float64)
        if img.shape != d.input_shape:
            return
        p = d.predict_proba(img)
        k = int(np.argmax(p))
        colors = [theme.ACCENT if i == k else "#cbd5e1" for i in range(len(p))]
        self._pred_src.data = dict(cls=list(d.class_names), p=p.tolist(), color=colors,
                                   label=[ui.pct(v, 0) for v in p])
        empty = "" if np.any(img) else "<div class='note'>The pad is empty: draw something.</div>"
        self._prediction.object = (
            f'<div class="pred" data-testid="prediction" data-class="{escape(d.class_names[k])}" '
            f'data-probs="{",".join(f"{v:.6f}" for v in p)}" data-edits="{self.draw_editor.edits}">Prediction: '
            f'<b>{escape(d.class_names[k])}</b> ({ui.pct(p[k], 0)}){empty}</div>')

    def draw_confusion(self) -> None:
        d = self.demo()
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
            f'<table class="cm" data-testid="confusion" data-correct="{int(np.trace(C))}" '
            f'data-total="{int(C.sum())}" data-step="{d.step_count}">'
            f'<tr><th class="corner">true \\ predicted</th>{head}</tr>{"".join(rows)}</table>')

    @param.depends("map_source", "test_index", watch=True)
    def _map_input_changed(self):
        self.draw_maps()

    def _copy_test_image(self, event=None) -> None:
        d = self.demo()
        img, _ = d.example(min(int(self.test_index), len(d.y_test) - 1))
        self.draw_editor.value = np.round(img, 2)

    # ------------------------------------------------------------------------------------------
    # layout
    # ------------------------------------------------------------------------------------------

    def _build_layout(self):
        def title(text, **kw):
            return ui.prose(f"<h3>{text}</h3>", sizing_mode=None, **kw)

        def label(text, **kw):
            return ui.muted(text, margin=(0, 5), **kw)

        kernels = pn.Column(
            title("Learned kernels (layer 1)"), self._kernels_caption,
            pn.Row(label("start", width=44), pn.pane.Bokeh(self.kernels_start.fig)),
            pn.Row(label("now", width=44), pn.pane.Bokeh(self.kernels_now.fig)),
            pn.Row(label("now − start", width=44), pn.pane.Bokeh(self.kernels_diff.fig)),
            ui.prose(KERNEL_CHOICE), sizing_mode="stretch_width")
        maps = pn.Column(
            title("Feature maps of one input"),
            pn.Row(self._map_source, self._test_index), self._maps_caption,
            pn.Row(pn.Column(label("input"), pn.pane.Bokeh(self.map_input.fig)),
                   pn.Column(label("level 1: edges (ReLU of conv 1), one map per kernel"),
                             pn.pane.Bokeh(self.maps1.fig),
                             label("level 2: boundaries (ReLU of conv 2), after pooling level 1"),
                             pn.pane.Bokeh(self.maps2.fig))),
            self.occlusion, self.features,
            ui.prose(HIERARCHY), sizing_mode="stretch_width")
        draw = pn.Column(
            title("Draw your own input"),
            pn.Row(pn.Column(self.draw_editor, self._brush, pn.Row(self._clear, self._copy), self.image_upload),
                   pn.Column(self._prediction, pn.pane.Bokeh(self.pred_fig)),
                   pn.Column(ui.prose("<h3>Confusion matrix (test set)</h3><p class='muted'>Rows: the true class; "
                                      "columns: what the network predicts. The diagonal counts the correct "
                                      "answers.</p>", width=300), self._confusion),
                   sizing_mode="stretch_width", styles={"flex-wrap": "wrap"}),
            sizing_mode="stretch_width")
        return pn.Column(kernels, maps, draw, sizing_mode="stretch_width")
