"""Section "Backprop & decision boundaries": a small MLP learning a 2-D toy set, live.

The state and every number come from :class:`pyfadml.demos.mlp.MLPDemo`; this module only draws. Plots are
built once and then updated through their ``ColumnDataSource`` (``data`` item assignment and ``stream``); only
the hidden-neuron figure is resized when the architecture changes. Play / Pause / Step / Reset, the schedule
and divergence are the shared :class:`pyfadml.app.live.LiveTraining`; the inspector is
:class:`pyfadml.app.backprop.inspector.Inspector`.
"""
from __future__ import annotations

import zlib

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, LinearColorMapper, Range1d

from pyfadml.app import theme, ui
from pyfadml.app.backprop.inspector import Inspector
from pyfadml.app.live import LiveTraining, Refresh
from pyfadml.app.workio import TakeAway
from pyfadml.app.backprop.transfer import ACTIVATION_LABELS, DATASET_LABELS, WorkInOut
from pyfadml.demos.mlp import ACTIVATIONS, CUSTOM, DATASETS, MAX_BREADTH, MAX_DEPTH, MLPDemo

LOSS_POINTS = 5000           # the loss curve keeps its last 5000 points
BURST_SECONDS = 0.035        # training per frame (then the due plots are redrawn)

LEARNING_RATES = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
BATCH_SIZES = [1, 2, 4, 8, 16, 32, 64, 128]
STEPS_PER_FRAME = [1, 10, 100, 1000]
STEPS_PER_FRAME_LABELS = {"1 (slow motion)": 1, "10": 10, "100": 100,
                          f"as many as fit in {1000 * BURST_SECONDS:.0f} ms": 1000}
ACTIVATION_NAMES = {v: k for k, v in ACTIVATION_LABELS.items()}

INTRO = """
<h2>Backprop &amp; decision boundaries</h2>
<p class="secondary">A neural network classifier <b>categorizes the input by defining decision boundaries</b>;
by stacking layers it can draw boundaries complex enough to separate any of these point sets. Press <b>Play</b>
and watch the boundary form while backpropagation moves every weight against its gradient.</p>
"""

COMPOSITION = """
<h3>How stacked layers compose boundaries</h3>
<p>Each tile is one hidden neuron's activation \\(a^l_j = \\sigma(z^l_j)\\) over the same square of the plane
as the decision boundary (blue and +: high, white: zero, orange and −: low). A neuron of layer 1 can only draw
a single straight edge, because \\(z^1_j = W^1_{j\\cdot}\\, x + b^1_j\\) is a line that \\(\\sigma\\) bends into a soft
step. Layer 2 neurons combine those edges into regions, and so on:
<i>initial layers extract low level features, while deeper layers compose high level features from
them</i>.</p>
<p class="muted"><b>Depth</b> (hidden layers) is how many times features are composed; <b>breadth</b>
(neurons per layer) is how many different features each layer can distinguish at once.</p>
"""

TRY = """<div class="secondary">
<h3>Things to try</h3>
<ul class="try">
<li><b>XOR</b> with 1 hidden layer of 2 neurons: the smallest network that solves it. Seed 1 solves it,
seed 0 gets stuck: the starting weights matter. With 1 neuron it cannot: one neuron draws one line.</li>
<li><b>Spiral</b> (tanh): 1 hidden layer of 16 neurons against 3 layers of 6, for 5000 steps: about 65%
against 88% training accuracy, with about as many weights (99 and 123). Depth composes the first layer's
edges into regions.</li>
<li><b>Activation</b>: ReLU boundaries are made of straight pieces, tanh and sigmoid ones are smooth.</li>
<li><b>Learning rate</b> 3 or 10 (moons, leaky ReLU): the steps overshoot and training diverges; the page
offers to restore the last good weights with a smaller rate or with gradient clipping.</li>
<li><b>Batch size</b> 1 against 128: a noisy loss curve against a smooth, slower one.</li>
</ul></div>
"""


class BackpropSection(WorkInOut, ui.Section):
    """The live section: controls on the left, decision boundary, loss curves, neurons and inspector."""

    title = "Backprop & decision boundaries"

    dataset = param.Selector(default="xor", objects=list(DATASETS) + [CUSTOM])   # custom: your CSV points
    noise = param.Number(default=0.1, bounds=(0.0, 0.5), step=0.01)
    seed = param.Integer(default=0, bounds=(0, 9999))
    depth = param.Integer(default=2, bounds=(1, MAX_DEPTH))
    breadth = param.Integer(default=4, bounds=(1, MAX_BREADTH))
    activation = param.Selector(default="tanh", objects=list(ACTIVATIONS))
    lr = param.Selector(default=0.1, objects=LEARNING_RATES)
    batch_size = param.Selector(default=16, objects=BATCH_SIZES)
    steps_per_frame = param.Selector(default=10, objects=STEPS_PER_FRAME)

    def __init__(self, **params):
        super().__init__(**params)
        self._points: dict | None = None            # your own points (parse_points + "name"), once loaded
        self.demo = self._new_demo()
        self._last_streamed = -1
        self._row = None
        self._build_plots()
        self.inspector = Inspector(lambda: self.demo, ACTIVATION_NAMES)
        self.live = LiveTraining(
            "backprop", demo=lambda: self.demo, reset=self._reset_demo, redraw=self.redraw,
            refresh=[Refresh(self._draw_boundary), Refresh(self._draw_neurons, every=0.15),
                     Refresh(self._draw_loss, every=0.15)],
            settings=self, resets=("dataset", "noise", "seed", "depth", "breadth", "activation"),
            applies=("lr", "batch_size"), burst=BURST_SECONDS, max_steps=lambda: int(self.steps_per_frame))
        self.live.param.watch(self._playing_changed, "playing")
        self.takeaway = TakeAway("backprop", model=lambda: self.demo.model, step=lambda: self.demo.step_count,
                                 history=lambda: self.demo.history, accept=self.accept_model,
                                 figures={"boundary": self.boundary_fig, "loss": self.loss_fig,
                                          "neurons": self.neuron_fig})
        self._build_layout()
        self._on_new_demo(architecture_changed=True)

    # ------------------------------------------------------------------------------------------
    # model state
    # ------------------------------------------------------------------------------------------

    def _new_demo(self) -> MLPDemo:
        custom = self.dataset == CUSTOM and self._points is not None
        return MLPDemo(dataset="xor" if self.dataset == CUSTOM else self.dataset, noise=float(self.noise),
                       seed=int(self.seed), depth=int(self.depth), breadth=int(self.breadth),
                       activation=self.activation, lr=float(self.lr), batch_size=int(self.batch_size),
                       points=(self._points["X"], self._points["y"]) if custom else None)

    def _reset_demo(self) -> None:
        old = self.demo
        self.demo = self._new_demo()
        self._on_new_demo(architecture_changed=(old.depth, old.breadth) != (self.demo.depth, self.demo.breadth),
                          redraw=False)

    def _playing_changed(self, event) -> None:
        if event.new:
            self.inspector.waiting()

    # ------------------------------------------------------------------------------------------
    # plots (built once)
    # ------------------------------------------------------------------------------------------

    def _build_plots(self) -> None:
        e = self.demo.extent
        fig = ui.figure(axes=False, width=430, height=430, x_range=Range1d(-e, e), y_range=Range1d(-e, e),
                        min_border=2)
        self._boundary_src = ColumnDataSource(dict(image=[np.zeros((1, 1), np.uint32)], x=[-e], y=[-e],
                                                   dw=[2 * e], dh=[2 * e]))
        fig.image_rgba("image", x="x", y="y", dw="dw", dh="dh", source=self._boundary_src)
        self._train_src = ColumnDataSource(dict(x=[], y=[], color=[], marker=[]))
        self._test_src = ColumnDataSource(dict(x=[], y=[], color=[], marker=[]))
        # no legend over the points: the caption says it. The class: colour and shape; train filled, test hollow.
        fig.scatter("x", "y", source=self._train_src, marker="marker", size=8, fill_color="color",
                    line_color="white", line_width=1.0)
        fig.scatter("x", "y", source=self._test_src, marker="marker", size=9, fill_color="white",
                    line_color="color", line_width=2.0)
        self.boundary_fig = fig

        loss, self._loss_src = ui.loss_figure(height=270)
        loss.yaxis.axis_label = "cross-entropy loss"
        self.loss_fig = loss

        self._neuron_mapper = LinearColorMapper(palette=theme.DIVERGING, low=-1.0, high=1.0,
                                                nan_color=(0, 0, 0, 0))
        nf = ui.figure(axes=False, width=300, height=100, x_range=Range1d(0, 1), y_range=Range1d(0, 1),
                       background_fill_color=None, border_fill_color=None, outline_line_color=None)
        self._neuron_src = ColumnDataSource(dict(image=[np.full((1, 1), np.nan, np.float32)], x=[0], y=[0],
                                                 dw=[1], dh=[1]))
        nf.image("image", x="x", y="y", dw="dw", dh="dh", source=self._neuron_src,
                 color_mapper=self._neuron_mapper)
        self._neuron_signs = ui.sign_marks(nf)           # the sign by shape too: '+' / '−' over each tile
        self._neuron_labels = ColumnDataSource(dict(x=[], y=[], text=[]))
        nf.text("x", "y", text="text", source=self._neuron_labels, text_align="right",
                text_baseline="middle", text_font_size="12px", text_color=theme.MUTED)
        self._neuron_cols = ColumnDataSource(dict(x=[], y=[], text=[]))
        nf.text("x", "y", text="text", source=self._neuron_cols, text_align="center",
                text_baseline="bottom", text_font_size="10px", text_color=theme.MUTED)
        self.neuron_fig = nf

    def _layout_neuron_fig(self) -> None:
        """Size the hidden-neuron figure for depth x breadth tiles (the one figure change allowed)."""
        d, lay = self.demo, self.demo.neuron_layout()
        w, h = lay["width"], lay["height"]
        scale = min(1.9, 860.0 / w)
        label_w = 64.0 / scale
        top = 16.0 / scale
        nf = self.neuron_fig
        nf.x_range.start, nf.x_range.end = -label_w, w
        nf.y_range.start, nf.y_range.end = 0, h + top
        nf.width = int(round((w + label_w) * scale)) + 8
        nf.height = int(round((h + top) * scale)) + 8
        self._neuron_src.data.update(x=[0], y=[0], dw=[w], dh=[h])
        self._neuron_labels.data = dict(x=[-6.0 / scale] * d.depth, y=lay["rows"],
                                        text=[f"layer {i + 1}" for i in range(d.depth)])
        self._neuron_cols.data = dict(x=lay["cols"], y=[h + 2.0 / scale] * d.breadth,
                                      text=[f"j={j + 1}" for j in range(d.breadth)])

    def _on_new_demo(self, *, architecture_changed: bool, redraw: bool = True) -> None:
        d = self.demo
        e = d.extent
        f = self.boundary_fig
        f.x_range.start, f.x_range.end = -e, e
        f.y_range.start, f.y_range.end = -e, e
        self._boundary_src.data.update(x=[-e], y=[-e], dw=[2 * e], dh=[2 * e])
        colors, markers = np.array(theme.CLASS_COLORS), np.array(theme.CLASS_MARKERS)
        for src, X, y in ((self._train_src, d.X_train, d.y_train), (self._test_src, d.X_test, d.y_test)):
            src.data = dict(x=X[:, 0], y=X[:, 1], color=list(colors[y % len(colors)]),
                            marker=list(markers[y % len(markers)]))
        self._loss_src.data = self._loss_point(d.evaluate())  # the curve starts with one point (a log axis needs data)
        self._last_streamed = 0
        if architecture_changed:
            self._layout_neuron_fig()
        self.inspector.set_layers(d.n_layers)
        if redraw:
            self.redraw()

    # ------------------------------------------------------------------------------------------
    # drawing: new data into the existing plots
    # ------------------------------------------------------------------------------------------

    def redraw(self) -> None:
        """Everything, the inspector included (after Pause, Step, Reset)."""
        self._draw_boundary()
        self._draw_neurons()
        self._draw_loss()
        self.inspector.update()

    def _draw_boundary(self) -> None:
        rgba = theme.probabilities_to_rgba(self.demo.grid()["probs"])
        self._checksum = zlib.crc32(rgba.tobytes())
        self._boundary_src.data["image"] = [rgba]

    def _draw_neurons(self) -> None:
        n = self.demo.neuron_image()
        t = self.demo.neuron_layout()["tile"]
        self._neuron_src.data["image"] = [n["image"]]
        self._neuron_signs.data = ui.sign_bars(self.neuron_fig, n["sign_x"], n["sign_y"], n["sign_v"],
                                               size=(9, 9), stroke=2.2, cell=(t / 3, t / 3))

    def _draw_loss(self) -> None:
        row = self._row = self.demo.evaluate()
        if row["step"] != self._last_streamed:
            self._loss_src.stream(self._loss_point(row), rollover=LOSS_POINTS)
            self._last_streamed = row["step"]
        self._update_stats()

    @staticmethod
    def _loss_point(row: dict) -> dict:
        return dict(step=[row["step"]], train=[max(row["train_loss"], 1e-12)], test=[max(row["test_loss"], 1e-12)])

    def _update_stats(self) -> None:
        row, d = self._row, self.demo
        if row is None:
            return
        stats = [("step", "Step", row["step"], f"{row['step']:,}"), *ui.train_test_stats(row)]
        self._stats.object = (ui.stats_html(stats, step=row["step"], boundary_checksum=self._checksum)
                              + ui.stats_line(d.describe()))

    # ------------------------------------------------------------------------------------------
    # widgets and layout
    # ------------------------------------------------------------------------------------------

    def _build_layout(self) -> None:
        W, p = pn.widgets, self.param
        w = self._widgets = {
            "dataset": ui.select(p.dataset, "Dataset", DATASET_LABELS),
            "noise": W.FloatSlider.from_param(p.noise, label="Noise", step=0.01, throttled=True),
            "seed": ui.seed_input(self, "seed-note"),
            "depth": W.IntSlider.from_param(p.depth, label="Hidden layers", throttled=True),
            "breadth": W.IntSlider.from_param(p.breadth, label="Neurons per layer", throttled=True),
            "activation": ui.select(p.activation, "Activation", ACTIVATION_LABELS),
            "lr": ui.select(p.lr, "Learning rate"),
            "batch_size": ui.select(p.batch_size, "Batch size"),
            "steps_per_frame": ui.select(p.steps_per_frame, "Steps per frame", STEPS_PER_FRAME_LABELS),
        }
        controls = ui.controls(
            self.live,
            ui.heading("Training"), w["lr"], w["batch_size"], w["steps_per_frame"],
            ui.heading("Data"), w["dataset"], w["noise"], w["seed"], self._points_column(),
            ui.heading("Network"), w["depth"], w["breadth"], w["activation"],
            ui.heading("Model and history"), self.takeaway)
        self._stats = ui.stats_pane(margin=(4, 5, 12, 5))
        boundary = pn.Column(
            ui.prose("<h3>Decision boundary</h3><p class='muted'>Colour: the class the network predicts, faded to "
                     "white where it is unsure (the boundary). Points: each class its colour and shape (● ■ ▲ ◆), "
                     "filled: train, hollow: test.</p>", width=430),
            pn.pane.Bokeh(self.boundary_fig))
        curves = pn.Column(
            ui.prose("<h3>Loss</h3><p class='muted'>Mean cross-entropy on the whole train and test sets (log "
                     "scale).</p>", sizing_mode=None),
            pn.pane.Bokeh(self.loss_fig),
            ui.prose(TRY, css=[theme.PROSE_CSS, theme.TRY_CSS], margin=(10, 5, 0, 5)),
            sizing_mode="stretch_width")
        main = ui.card(ui.prose(INTRO, margin=(5, 10)), self._stats,
                       pn.Row(boundary, curves, sizing_mode="stretch_width"))
        neurons = ui.card(ui.prose(COMPOSITION, math=True, margin=(5, 10)), pn.pane.Bokeh(self.neuron_fig),
                          margin=(16, 0, 0, 0))
        self._layout = pn.Row(
            controls, pn.Column(main, neurons, self.inspector, sizing_mode="stretch_width"),
            sizing_mode="stretch_width")
