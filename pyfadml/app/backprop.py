"""Section "Backprop & decision boundaries": a small MLP learning a 2-D toy set, live.

The state and every number come from :class:`pyfadml.demos.mlp.MLPDemo`; this module only draws.
Plots are built once and then updated through their ``ColumnDataSource`` (``data`` item assignment and
``stream``); only the hidden-neuron figure is resized when the architecture changes.

Live training runs in frames (:meth:`BackpropSection.frame`): a burst of at most :data:`BURST_SECONDS`
(or ``steps_per_frame`` steps), then a refresh. In the browser, where Python runs in a Web Worker and a busy
loop would block every message from the page, the frames come from an asyncio loop that sleeps after every
frame, so a click on Pause is handled within one frame; on a Bokeh server (``panel serve``) they come from
``pn.state.add_periodic_callback``, which holds the document lock as server callbacks must.
"""
from __future__ import annotations

import asyncio
import sys
import time
import zlib
from html import escape

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, LinearColorMapper, Range1d
from bokeh.plotting import figure

from pyfadml.app import theme
from pyfadml.demos.mlp import ACTIVATIONS, DATASETS, MAX_BREADTH, MAX_DEPTH, DivergenceError, MLPDemo

BURST_SECONDS = 0.035        # training time per frame, then the plots are refreshed and the loop yields
MIN_BURST_SECONDS = 0.01     # ... shortened down to this when refreshing takes most of the frame
PERIOD_MS = 80               # frame period: at most 12.5 refreshes per second
MIN_YIELD_SECONDS = 0.004    # the browser loop always sleeps at least this long between frames
IN_BROWSER = sys.platform == "emscripten"
EXAMPLES_SHOWN = 4           # columns (examples) of the mini-batch shown in the inspector
LOSS_POINTS = 5000           # the loss curve keeps its last 5000 points
TILE_STEP = 2                # hidden-neuron tiles use every 2nd grid point (60 -> 30 pixels a side)
TILE_GAP = 4                 # transparent pixels between tiles

LEARNING_RATES = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
BATCH_SIZES = [1, 2, 4, 8, 16, 32, 64, 128]
STEPS_PER_FRAME = [1, 10, 100, 1000]
STEPS_PER_FRAME_LABELS = {"1 (slow motion)": 1, "10": 10, "100": 100,
                          f"as many as fit in {1000 * BURST_SECONDS:.0f} ms": 1000}
DATASET_LABELS = {"XOR": "xor", "Circles": "circles", "Moons": "moons", "Spiral (3 classes)": "spiral",
                  "Gaussian blobs": "gaussians"}
ACTIVATION_LABELS = {"tanh": "tanh", "ReLU": "relu", "sigmoid": "sigmoid", "leaky ReLU": "leaky_relu"}
ACTIVATION_NAMES = {v: k for k, v in ACTIVATION_LABELS.items()}

INTRO = """
<h2>Backprop &amp; decision boundaries</h2>
<p>A neural network classifier <b>categorizes the input by defining decision boundaries</b>; by stacking
layers it can draw boundaries complex enough to separate any of these point sets. Press <b>Play</b> and
watch the boundary form while backpropagation moves every weight against its gradient.</p>
"""

COMPOSITION = """
<h3>How stacked layers compose boundaries</h3>
<p>Each tile is one hidden neuron's activation \\(a^l_j = \\sigma(z^l_j)\\) over the same square of the plane
as the decision boundary (blue: high, white: zero, orange: low). A neuron of layer 1 can only draw a single
straight edge, because \\(z^1_j = W^1_{j\\cdot}\\, x + b^1_j\\) is a line that \\(\\sigma\\) bends into a soft
step. Layer 2 neurons combine those edges into regions, and so on:
<i>initial layers extract low level features, while deeper layers compose high level features from
them</i>.</p>
<p class="muted"><b>Depth</b> (hidden layers) is how many times features are composed; <b>breadth</b>
(neurons per layer) is how many different features each layer can distinguish at once.</p>
"""

TRY = """
<h3>Things to try</h3>
<ul class="try">
<li><b>XOR</b> with 1 hidden layer of 2 neurons: the smallest network that solves it. Seed 1 solves it,
seed 0 gets stuck: the starting weights matter. With 1 neuron it cannot: one neuron draws one line.</li>
<li><b>Spiral</b> (tanh): 1 hidden layer of 16 neurons against 3 layers of 6, for 5000 steps: about 65%
against 88% training accuracy, with about as many weights (99 and 123). Depth composes the first layer's
edges into regions.</li>
<li><b>Activation</b>: ReLU boundaries are made of straight pieces, tanh and sigmoid ones are smooth.</li>
<li><b>Learning rate</b> 3 or 10 (moons, leaky ReLU): the steps overshoot and training diverges.</li>
<li><b>Batch size</b> 1 against 128: a noisy loss curve against a smooth, slower one.</li>
</ul>
"""

INSPECTOR_INTRO = """
<h3>Backprop inspector</h3>
<p>The actual numbers of the last training step, for one layer \\(l\\), beside the lecture's formulas.
Each column \\(n\\) is one example of the mini-batch (a column vector, as in the lecture); the loss is the
mean over the batch's \\(N\\) examples, so \\(\\delta^l\\) carries a factor \\(1/N\\) and the parameter gradients
add up the contributions of all \\(N\\) examples.</p>
"""

FORMULAS = {
    "forward": r"$$z^l = W^l a^{l-1} + b^l$$",
    "activation": r"$$a^l = \sigma(z^l)$$",
    "activation_out": r"$$a^L = \mathrm{softmax}(z^L)$$",
    "delta": r"$$\delta^l = \frac{\partial \mathcal{L}}{\partial z^l}$$",
    "delta_out": r"$$\delta^L = \frac{\partial \mathcal{L}}{\partial z^L} = \frac{1}{N}\left(a^L - y\right)$$",
    "dW": r"$$\frac{\partial \mathcal{L}}{\partial W^l} = \delta^l (a^{l-1})^T$$",
    "db": r"$$\frac{\partial \mathcal{L}}{\partial b^l} = \delta^l$$",
    "back": r"$$\delta^{l-1} = (W^l)^T \delta^l \odot \sigma'(z^{l-1})$$",
}


def _sup(name: str, l: int) -> str:
    return f"{name}<sup>{l}</sup>"


def _fmt(v: float) -> str:
    """Three significant digits, short: 0.123, -4.56, 1.2e-5 (the full value is in data-v)."""
    if not np.isfinite(v):
        return str(v)
    if v == 0.0:
        return "0"
    if abs(v) < 0.01 or abs(v) >= 1000:
        mantissa, exponent = f"{v:.1e}".split("e")
        text = f"{mantissa}e{int(exponent)}"
    else:
        text = f"{v:.3g}"
    return text.replace("-", "\u2212")


def matrix_html(name: str, caption: str, M, *, row_label: str = "", col_label: str = "n",
                col_offset: int = 0) -> str:
    """A small heat-mapped table with the numbers printed; full precision in each cell's ``data-v``."""
    M = np.atleast_2d(np.asarray(M, dtype=np.float64))
    rows, cols = M.shape
    scale = float(np.max(np.abs(M[np.isfinite(M)]))) if np.isfinite(M).any() else 0.0
    scale = scale if scale > 0 else 1.0
    rgb = 255.0 + 0.6 * (theme.diverging_rgb(M / scale) - 255.0)       # lighter, so the digits stay legible
    head = "".join(f"<th>{col_label}={j + 1 + col_offset}</th>" for j in range(cols)) if col_label else ""
    out = [f'<figure class="mx"><figcaption>{caption}</figcaption>'
           f'<table class="mx" data-name="{name}" data-rows="{rows}" data-cols="{cols}">']
    if head:
        out.append(f"<tr><th></th>{head}</tr>")
    for i in range(rows):
        cells = []
        for j in range(cols):
            v = float(M[i, j])
            r, g, b = (int(c) for c in np.round(rgb[i, j]))
            cells.append(f'<td data-v="{v!r}" title="{v!r}" style="background:rgb({r},{g},{b})">{_fmt(v)}</td>')
        label = f"{row_label}{i + 1}" if row_label else ""
        out.append(f"<tr><th>{label}</th>{''.join(cells)}</tr>")
    out.append("</table></figure>")
    return "".join(out)


def _loss_text(v: float) -> str:
    """0.1234 for the usual losses; 1.23e+05 when training has blown up (keeps the layout intact)."""
    return f"{v:.4f}" if np.isfinite(v) and abs(v) < 1000 else f"{v:.3g}"


def _sym(s: str) -> str:
    return f'<span class="sym">{s}</span>'


class BackpropSection(pn.viewable.Viewer):
    """The live section: controls on the left, decision boundary, loss curves, neurons and inspector."""

    title = "Backprop & decision boundaries"

    dataset = param.Selector(default="xor", objects=list(DATASETS))
    noise = param.Number(default=0.1, bounds=(0.0, 0.5), step=0.01)
    seed = param.Integer(default=0, bounds=(0, 9999))
    depth = param.Integer(default=2, bounds=(1, MAX_DEPTH))
    breadth = param.Integer(default=4, bounds=(1, MAX_BREADTH))
    activation = param.Selector(default="tanh", objects=list(ACTIVATIONS))
    lr = param.Selector(default=0.1, objects=LEARNING_RATES)
    batch_size = param.Selector(default=16, objects=BATCH_SIZES)
    steps_per_frame = param.Selector(default=10, objects=STEPS_PER_FRAME)
    inspect_layer = param.Integer(default=1, bounds=(1, MAX_DEPTH + 1))
    playing = param.Boolean(default=False)

    def __init__(self, **params):
        super().__init__(**params)
        self.demo = self._new_demo()
        self.frames = 0                      # plot refreshes so far (exposed for measuring the frame rate)
        self.error: str | None = None        # the divergence message, until the next reset
        self._cb = None                      # the periodic callback on a Bokeh server
        self._run_id = 0                     # the browser loop that may run (older loops stop)
        self._last_streamed = -1
        self._frame_ms = 0.0                 # duration of the last frame (train + refresh), for the page
        self._refresh_s = 0.0                # running average of a frame's refresh time
        self._paused_at = 0.0                # wall-clock time Python handled the last pause
        self._build_plots()
        self._build_widgets()
        self._build_layout()
        self._on_new_demo(architecture_changed=True)

    # ------------------------------------------------------------------------------------------
    # model state
    # ------------------------------------------------------------------------------------------

    def _new_demo(self) -> MLPDemo:
        return MLPDemo(dataset=self.dataset, noise=float(self.noise), seed=int(self.seed), depth=int(self.depth),
                       breadth=int(self.breadth), activation=self.activation, lr=float(self.lr),
                       batch_size=int(self.batch_size))

    @param.depends("dataset", "noise", "seed", "depth", "breadth", "activation", watch=True)
    def _settings_changed(self):
        old = self.demo
        self.demo = self._new_demo()
        self.error = None
        changed = (old.depth, old.breadth) != (self.demo.depth, self.demo.breadth)
        self._on_new_demo(architecture_changed=changed)

    @param.depends("lr", watch=True)
    def _lr_changed(self):
        self.demo.lr = float(self.lr)

    @param.depends("batch_size", watch=True)
    def _batch_size_changed(self):
        self.demo.batch_size = int(self.batch_size)

    @param.depends("inspect_layer", watch=True)
    def _layer_changed(self):
        self._update_inspector()

    # ------------------------------------------------------------------------------------------
    # the buttons
    # ------------------------------------------------------------------------------------------

    def play(self, event=None) -> None:
        """Start training in the background (nothing happens if it already runs)."""
        if self.playing:
            return
        self.playing = True
        self.error = None
        self._sync_buttons()
        self._run_id += 1
        self._insp_head.object = (
            '<p class="note" data-testid="inspector-step" data-step="-1">Training is running: the inspector '
            'waits. Press <b>Pause</b> or <b>Step</b> to see the numbers of the step just done.</p>')
        if IN_BROWSER:
            # Our own asyncio loop: it ends by itself when ``playing`` turns False (no cancellation).
            asyncio.ensure_future(self._run(self._run_id))
        elif self._cb is None:
            # Bokeh server: a periodic callback runs with the document lock held, as it must.
            self._cb = pn.state.add_periodic_callback(self.frame, period=PERIOD_MS, start=True)
        self._update_stats()

    def pause(self, event=None) -> None:
        """Stop training; the plots and the inspector then show the last step."""
        was_playing = self.playing
        self._stop()
        if was_playing:
            self._paused_at = time.time()
            self.refresh(inspector=True)

    def step(self, event=None) -> None:
        """Pause if needed, then train exactly one mini-batch."""
        self._stop()
        try:
            self.demo.step(1)
        except DivergenceError as exc:
            self.error = str(exc)
        self.refresh(inspector=True)

    def reset(self, event=None) -> None:
        """Pause, then rebuild data and model from the seed (step 0)."""
        self._stop()
        self.demo = self._new_demo()
        self.error = None
        self._on_new_demo(architecture_changed=False)

    def _stop(self) -> None:
        self.playing = False
        self._run_id += 1
        if self._cb is not None:
            cb, self._cb = self._cb, None
            cb.stop()
        self._sync_buttons()

    def frame(self) -> None:
        """One frame of live training: a time-boxed burst of steps, then the plots are refreshed.

        Not every view is refreshed every frame: the decision boundary is; the neurons, and the loss
        curve with the numbers, take turns (each browser repaint costs the page's main thread time,
        and a page that falls behind the worker would show a pause late).
        """
        if not self.playing:
            return
        t0 = time.perf_counter()
        # Train for what is left of the frame once the refresh (measured last time) is paid for, so a
        # slow refresh (a big network, a slow machine) costs training speed rather than frame rate.
        burst = min(BURST_SECONDS, max(MIN_BURST_SECONDS, PERIOD_MS / 1000.0 - self._refresh_s - 0.01))
        try:
            self.demo.train_for(burst, max_steps=int(self.steps_per_frame))
        except DivergenceError as exc:
            self.error = str(exc)
            self._stop()
            self.refresh(inspector=True)
            return
        k = self.frames
        t1 = time.perf_counter()
        self.refresh(inspector=False, neurons=k % 2 == 0, loss=k % 2 == 1, stats=k % 2 == 1)
        t2 = time.perf_counter()
        self._refresh_s = 0.7 * self._refresh_s + 0.3 * (t2 - t1)
        self._frame_ms = 1000.0 * (t2 - t0)

    async def _run(self, run_id: int) -> None:
        """The browser's training loop: frames at most every PERIOD_MS, always yielding in between.

        The page's messages (a click on Pause) reach Python only while this coroutine sleeps, so
        it sleeps after every frame, even one that overran its period.
        """
        while self.playing and self._run_id == run_id:
            t0 = time.perf_counter()
            self.frame()
            elapsed = time.perf_counter() - t0
            await asyncio.sleep(max(MIN_YIELD_SECONDS, PERIOD_MS / 1000.0 - elapsed))

    # ------------------------------------------------------------------------------------------
    # plots (built once)
    # ------------------------------------------------------------------------------------------

    def _build_plots(self) -> None:
        e = self.demo.extent
        common = dict(toolbar_location=None, background_fill_color=theme.PANEL_BG,
                      border_fill_color=theme.PANEL_BG, outline_line_color=theme.RULE)

        fig = figure(width=430, height=430, x_range=Range1d(-e, e), y_range=Range1d(-e, e), **common)
        self._boundary_src = ColumnDataSource(dict(image=[np.zeros((1, 1), np.uint32)], x=[-e], y=[-e],
                                                   dw=[2 * e], dh=[2 * e]))
        fig.image_rgba("image", x="x", y="y", dw="dw", dh="dh", source=self._boundary_src)
        self._train_src = ColumnDataSource(dict(x=[], y=[], color=[]))
        self._test_src = ColumnDataSource(dict(x=[], y=[], color=[]))
        fig.scatter("x", "y", source=self._train_src, size=7, fill_color="color", line_color="white",
                    line_width=1.2, legend_label="train")
        fig.scatter("x", "y", source=self._test_src, marker="triangle", size=9, fill_color="color",
                    line_color=theme.INK, line_width=1.0, legend_label="test")
        fig.legend.location = "bottom_right"
        fig.legend.background_fill_alpha = 0.75
        fig.legend.label_text_font_size = "11px"
        fig.legend.padding = 4
        fig.legend.spacing = 0
        fig.xgrid.visible = fig.ygrid.visible = False
        fig.axis.visible = False                     # the picture needs no coordinates (and repaints faster)
        fig.min_border = 2
        self.boundary_fig = fig

        loss = figure(width=430, height=250, y_axis_type="log", **common)
        self._loss_src = ColumnDataSource(dict(step=[], train=[], test=[]))
        loss.line("step", "train", source=self._loss_src, color=theme.TRAIN_LOSS_COLOR, line_width=2,
                  legend_label="train loss")
        loss.line("step", "test", source=self._loss_src, color=theme.TEST_LOSS_COLOR, line_width=2,
                  line_dash="dashed", legend_label="test loss")
        loss.legend.location = "top_right"
        loss.legend.background_fill_alpha = 0.75
        loss.legend.label_text_font_size = "11px"
        loss.xaxis.axis_label = "step"
        loss.yaxis.axis_label = "cross-entropy loss"
        loss.xgrid.visible = False
        loss.ygrid.grid_line_color = theme.RULE
        self._style_axes(loss)
        self.loss_fig = loss

        self._neuron_mapper = LinearColorMapper(palette=theme.DIVERGING, low=-1.0, high=1.0,
                                                nan_color=(0, 0, 0, 0))
        nf = figure(width=300, height=100, x_range=Range1d(0, 1), y_range=Range1d(0, 1),
                    toolbar_location=None, background_fill_color=None, border_fill_color=None,
                    outline_line_color=None, min_border=4)
        self._neuron_src = ColumnDataSource(dict(image=[np.full((1, 1), np.nan, np.float32)], x=[0], y=[0],
                                                 dw=[1], dh=[1]))
        nf.image("image", x="x", y="y", dw="dw", dh="dh", source=self._neuron_src,
                 color_mapper=self._neuron_mapper)
        self._neuron_labels = ColumnDataSource(dict(x=[], y=[], text=[]))
        nf.text("x", "y", text="text", source=self._neuron_labels, text_align="right",
                text_baseline="middle", text_font_size="12px", text_color=theme.MUTED)
        self._neuron_cols = ColumnDataSource(dict(x=[], y=[], text=[]))
        nf.text("x", "y", text="text", source=self._neuron_cols, text_align="center",
                text_baseline="bottom", text_font_size="10px", text_color=theme.MUTED)
        nf.axis.visible = False
        nf.grid.visible = False
        self.neuron_fig = nf

    @staticmethod
    def _style_axes(fig) -> None:
        for ax in (fig.xaxis, fig.yaxis):
            ax.axis_label_text_font_style = "normal"
            ax.axis_label_text_color = theme.MUTED
            ax.major_label_text_color = theme.MUTED
            ax.axis_line_color = theme.RULE
            ax.major_tick_line_color = theme.RULE
            ax.minor_tick_line_color = None

    def _layout_neuron_fig(self) -> None:
        """Size the hidden-neuron figure for depth x breadth tiles (the one figure change allowed)."""
        d = self.demo
        t = d.grid_size // TILE_STEP
        w = d.breadth * t + (d.breadth - 1) * TILE_GAP
        h = d.depth * t + (d.depth - 1) * TILE_GAP
        scale = min(1.9, 860.0 / w)
        label_w = 64.0 / scale
        top = 16.0 / scale
        nf = self.neuron_fig
        nf.x_range.start, nf.x_range.end = -label_w, w
        nf.y_range.start, nf.y_range.end = 0, h + top
        nf.width = int(round((w + label_w) * scale)) + 8
        nf.height = int(round((h + top) * scale)) + 8
        self._neuron_src.data.update(x=[0], y=[0], dw=[w], dh=[h])
        rows = [h - (i * (t + TILE_GAP) + t / 2) for i in range(d.depth)]
        self._neuron_labels.data = dict(x=[-6.0 / scale] * d.depth, y=rows,
                                        text=[f"layer {i + 1}" for i in range(d.depth)])
        cols = [j * (t + TILE_GAP) + t / 2 for j in range(d.breadth)]
        self._neuron_cols.data = dict(x=cols, y=[h + 2.0 / scale] * d.breadth,
                                      text=[f"j={j + 1}" for j in range(d.breadth)])

    def _neuron_image(self, hidden: list[np.ndarray]) -> np.ndarray:
        """All hidden neurons as one image: row of tiles per layer (layer 1 on top), NaN between tiles."""
        d = self.demo
        t = d.grid_size // TILE_STEP
        w = d.breadth * t + (d.breadth - 1) * TILE_GAP
        h = d.depth * t + (d.depth - 1) * TILE_GAP
        img = np.full((h, w), np.nan, dtype=np.float32)
        off = TILE_STEP // 2
        for i, a in enumerate(hidden):
            a = a[off::TILE_STEP, off::TILE_STEP, :]
            if d.activation == "sigmoid":
                v = 2.0 * a - 1.0
            elif d.activation == "tanh":
                v = a
            else:                                    # (leaky) ReLU: unbounded, scale by the layer's largest
                m = float(np.max(np.abs(a))) if a.size else 0.0
                v = a / m if m > 0 and np.isfinite(m) else np.zeros_like(a)
            y0 = h - (i + 1) * t - i * TILE_GAP      # image row 0 is the bottom
            for j in range(d.breadth):
                x0 = j * (t + TILE_GAP)
                img[y0:y0 + t, x0:x0 + t] = v[:, :, j]
        return img

    def _on_new_demo(self, *, architecture_changed: bool) -> None:
        d = self.demo
        e = d.extent
        f = self.boundary_fig
        f.x_range.start, f.x_range.end = -e, e
        f.y_range.start, f.y_range.end = -e, e
        self._boundary_src.data.update(x=[-e], y=[-e], dw=[2 * e], dh=[2 * e])
        colors = np.array(theme.CLASS_COLORS)
        self._train_src.data = dict(x=d.X_train[:, 0], y=d.X_train[:, 1],
                                    color=list(colors[d.y_train % len(colors)]))
        self._test_src.data = dict(x=d.X_test[:, 0], y=d.X_test[:, 1],
                                   color=list(colors[d.y_test % len(colors)]))
        row = d.evaluate()                          # the curve starts with one point (a log axis needs data)
        self._loss_src.data = dict(step=[0], train=[max(row["train_loss"], 1e-12)],
                                   test=[max(row["test_loss"], 1e-12)])
        self._last_streamed = 0
        if architecture_changed:
            self._layout_neuron_fig()
        options = {f"l = {l}": l for l in range(1, d.n_layers)}
        options[f"l = {d.n_layers} (output)"] = d.n_layers
        if self._layer_widget.options != options:
            self._layer_widget.options = options
        if self.inspect_layer > d.n_layers:
            self.inspect_layer = d.n_layers          # triggers an inspector update
        self.refresh(inspector=True)

    # ------------------------------------------------------------------------------------------
    # refresh: new data into the existing plots
    # ------------------------------------------------------------------------------------------

    def refresh(self, *, inspector: bool = True, neurons: bool = True, loss: bool = True,
                stats: bool = True) -> None:
        """Push the current state into the decision boundary and, as asked, the other views."""
        d = self.demo
        grid = d.grid()
        rgba = theme.probabilities_to_rgba(grid["probs"])
        self._checksum = zlib.crc32(rgba.tobytes())
        self._boundary_src.data["image"] = [rgba]
        if neurons:
            self._neuron_src.data["image"] = [self._neuron_image(grid["hidden"])]
        if loss or stats:
            self._row = d.evaluate()
        if loss and self._row["step"] != self._last_streamed:
            row = self._row
            self._loss_src.stream(dict(step=[row["step"]], train=[max(row["train_loss"], 1e-12)],
                                       test=[max(row["test_loss"], 1e-12)]), rollover=LOSS_POINTS)
            self._last_streamed = row["step"]
        self.frames += 1
        if stats:
            self._update_stats()
        if inspector:
            self._update_inspector()

    def _update_stats(self) -> None:
        row = getattr(self, "_row", None)
        if row is None:
            return
        d = self.demo
        stats = [("step", "Step", row["step"], f"{row['step']:,}"),
                 ("train-loss", "Train loss", row["train_loss"], _loss_text(row["train_loss"])),
                 ("test-loss", "Test loss", row["test_loss"], _loss_text(row["test_loss"])),
                 ("train-acc", "Train acc.", row["train_acc"], f"{100 * row['train_acc']:.1f}%"),
                 ("test-acc", "Test acc.", row["test_acc"], f"{100 * row['test_acc']:.1f}%")]
        cells = "".join(
            f'<div class="stat"><span class="label">{label}</span>'
            f'<span class="value" data-testid="{key}" data-value="{value!r}">{text}</span></div>'
            for key, label, value, text in stats)
        if self.error:
            state = ('<div class="state diverged" data-testid="message"><span class="dot"></span>'
                     f'{escape(self.error)}</div>')
        elif self.playing:
            state = ('<div class="state playing" data-testid="message"><span class="dot"></span>Training: '
                     f'{d.batch_size} examples per step, learning rate {d.lr:g}</div>')
        else:
            state = ('<div class="state" data-testid="message"><span class="dot"></span>Paused. '
                     f'{d.n_layers} layers {d.layer_sizes}, {len(d.X_train)} training and '
                     f'{len(d.X_test)} test points</div>')
        self._stats.object = (
            f'<div class="stats" data-testid="stats" data-step="{row["step"]}" '
            f'data-playing="{int(self.playing)}" data-diverged="{int(bool(self.error))}" '
            f'data-frames="{self.frames}" data-frame-ms="{self._frame_ms:.1f}" '
            f'data-paused-at="{1000 * self._paused_at:.0f}" '
            f'data-boundary-checksum="{self._checksum}">{cells}</div>{state}')

    # ------------------------------------------------------------------------------------------
    # the inspector
    # ------------------------------------------------------------------------------------------

    def _update_inspector(self) -> None:
        d = self.demo
        l = int(min(self.inspect_layer, d.n_layers))
        r = d.inspect(l)
        out = l == d.n_layers
        self._f_act.object = FORMULAS["activation_out" if out else "activation"]
        self._f_delta.object = FORMULAS["delta_out" if out else "delta"]
        if r is None:
            self._insp_head.object = (
                '<p class="note" data-testid="inspector-step" data-step="0">No step yet: press <b>Step</b> '
                'to train one mini-batch and see every quantity of its backward pass.</p>')
            for pane in self._insp_panes:
                pane.object = ""
            return
        n = min(EXAMPLES_SHOWN, r["x"].shape[0])
        N = r["x"].shape[0]
        cols = lambda A: A[:n].T                    # noqa: E731  rows = units, columns = examples
        idx = ", ".join(str(i) for i in r["index"][:n])
        labels = ", ".join(str(v) for v in r["y"][:n])
        self._insp_head.object = (
            f'<p class="note" data-testid="inspector-step" data-step="{r["step"]}" data-layer="{l}" '
            f'data-batch="{N}">Step {r["step"]}: its mini-batch of N = {N} examples (training rows {idx}'
            f'{", ..." if N > n else ""}; labels y = {labels}{", ..." if N > n else ""}), forward with the '
            f'weights before the update, then backward. Showing the first {n} examples as columns; batch '
            f'loss = {_loss_text(r["loss"])}.</p>')
        sigma = "softmax" if out else ACTIVATION_NAMES.get(r["activation"], r["activation"])
        prev = "x" if l == 1 else _sup("a", l - 1)
        self._p_forward.object = ('<div class="op">'
                                  + matrix_html("W", _sup("W", l) + " (before the update)", r["W"],
                                                row_label="j", col_label="k")
                                  + _sym("·") + matrix_html("a_prev", prev, cols(r["a_prev"]), row_label="k")
                                  + _sym("+") + matrix_html("b", _sup("b", l), r["b"][:, None], row_label="j",
                                                            col_label="")
                                  + _sym("=") + matrix_html("z", _sup("z", l), cols(r["z"]), row_label="j")
                                  + "</div>")
        self._p_act.object = ('<div class="op">'
                              + matrix_html("a", f"{_sup('a', l)} = {sigma}({_sup('z', l)})", cols(r["a"]),
                                            row_label="j")
                              + "</div>")
        note = ""
        if out:
            note = (f'<span class="note">softmax and cross-entropy together give {_sup("δ", l)} = '
                    f'({_sup("a", l)} − onehot(y)) / N: the error of each class probability.</span>')
        self._p_delta.object = ('<div class="op">'
                                + matrix_html("delta", _sup("δ", l), cols(r["delta"]), row_label="j")
                                + note + "</div>")
        sum_delta = f"Σ<sub>n</sub> {_sup('δ', l)}<sub>n</sub>"
        dw_caption = f"∂L/∂{_sup('W', l)} = {sum_delta} ({prev}<sub>n</sub>)<sup>T</sup>, all N = {N} examples"
        self._p_dW.object = ('<div class="op">'
                             + matrix_html("dW", dw_caption, r["dW"], row_label="j", col_label="k")
                             + "</div>")
        self._p_db.object = ('<div class="op">'
                             + matrix_html("db", f"∂L/∂{_sup('b', l)} = {sum_delta}", r["db"][:, None],
                                           row_label="j", col_label="")
                             + "</div>")
        if l > 1:
            diff = float(np.max(np.abs(r["delta_prev"] - r["delta_prev_formula"])))
            scale = float(np.max(np.abs(r["delta_prev"]))) or 1.0
            ok = diff <= 1e-12 * scale + 1e-300
            act = ACTIVATION_NAMES.get(d.activation, d.activation)
            self._p_back.object = (
                '<div class="op">'
                + matrix_html("sigma_prime_prev", f"σ′({_sup('z', l - 1)}), σ = {act}",
                              cols(r["sigma_prime_prev"]), row_label="k")
                + matrix_html("delta_prev", f"{_sup('δ', l - 1)} from backprop", cols(r["delta_prev"]),
                              row_label="k")
                + f'<span class="check{"" if ok else " bad"}" data-testid="backprop-check" data-diff="{diff!r}">'
                  f'{"✓" if ok else "✗"} equals ({_sup("W", l)})<sup>T</sup>{_sup("δ", l)} ⊙ '
                  f'σ′({_sup("z", l - 1)}) computed from the numbers above: largest difference '
                  f'{diff:.1e}</span>'
                + "</div>")
        else:
            self._p_back.object = (
                '<p class="note" data-testid="backprop-stop">For l = 1 there is no δ<sup>0</sup>: '
                'a<sup>0</sup> = x is the data itself, with no weights below it to update. '
                'Backpropagation stops here.</p>')

    # ------------------------------------------------------------------------------------------
    # widgets and layout
    # ------------------------------------------------------------------------------------------

    def _build_widgets(self) -> None:
        W = pn.widgets
        p = self.param
        self._widgets = {
            "dataset": W.Select.from_param(p.dataset, label="Dataset", options=DATASET_LABELS),
            "noise": W.FloatSlider.from_param(p.noise, label="Noise", step=0.01, throttled=True),
            "seed": W.IntInput.from_param(p.seed, label="Seed"),
            "depth": W.IntSlider.from_param(p.depth, label="Hidden layers", throttled=True),
            "breadth": W.IntSlider.from_param(p.breadth, label="Neurons per layer", throttled=True),
            "activation": W.Select.from_param(p.activation, label="Activation", options=ACTIVATION_LABELS),
            "lr": W.Select.from_param(p.lr, label="Learning rate", options={f"{v:g}": v for v in LEARNING_RATES}),
            "batch_size": W.Select.from_param(p.batch_size, label="Batch size",
                                              options={str(v): v for v in BATCH_SIZES}),
            "steps_per_frame": W.Select.from_param(p.steps_per_frame, label="Steps per frame",
                                                   options=STEPS_PER_FRAME_LABELS),
        }
        for w in self._widgets.values():
            w.sizing_mode = "stretch_width"
        self._play = W.Button(label="Play", color="success", width=80)
        self._pause = W.Button(label="Pause", color="warning", width=80, disabled=True)
        self._step = W.Button(label="Step", color="primary", variant="outline", width=80)
        self._reset = W.Button(label="Reset", color="default", width=80)
        self._play.on_click(self.play)
        self._pause.on_click(self.pause)
        self._step.on_click(self.step)
        self._reset.on_click(self.reset)
        self._layer_widget = W.RadioButtonGroup(label="Inspect layer", options={"l = 1": 1}, value=1,
                                                color="primary", variant="outline")
        self._layer_widget.link(self, value="inspect_layer", bidirectional=True)

    def _sync_buttons(self) -> None:
        self._play.disabled = self.playing
        self._pause.disabled = not self.playing

    def _build_layout(self) -> None:
        card = [theme.CARD_CSS]
        prose = [theme.PROSE_CSS]
        w = self._widgets
        controls = pn.Column(
            pn.pane.HTML("<h3>Data</h3>", stylesheets=prose, margin=(0, 5)),
            w["dataset"], w["noise"], w["seed"],
            pn.pane.HTML("<h3>Network</h3>", stylesheets=prose, margin=(8, 5, 0, 5)),
            w["depth"], w["breadth"], w["activation"],
            pn.pane.HTML("<h3>Training</h3>", stylesheets=prose, margin=(8, 5, 0, 5)),
            w["lr"], w["batch_size"], w["steps_per_frame"],
            pn.Row(self._play, self._pause, margin=(8, 0, 0, 0)),
            pn.Row(self._step, self._reset),
            width=290, stylesheets=card, margin=(0, 16, 0, 0),
        )
        self._stats = pn.pane.HTML("", stylesheets=[theme.STATS_CSS], sizing_mode="stretch_width",
                                   margin=(4, 5, 12, 5))
        boundary = pn.Column(
            pn.pane.HTML("<h3>Decision boundary</h3><p class='muted'>Colour: the class the network predicts, "
                         "faded to white where it is unsure (the boundary). Points: ● train, ▲ test.</p>",
                         stylesheets=prose, width=430, margin=(0, 5)),
            pn.pane.Bokeh(self.boundary_fig),
        )
        curves = pn.Column(
            pn.pane.HTML("<h3>Loss</h3><p class='muted'>Mean cross-entropy on the whole train and test "
                         "sets (log scale).</p>", stylesheets=prose, margin=(0, 5)),
            pn.pane.Bokeh(self.loss_fig),
            pn.pane.HTML(TRY, stylesheets=prose + [theme.TRY_CSS], sizing_mode="stretch_width",
                         margin=(10, 5, 0, 5)),
            sizing_mode="stretch_width",
        )
        main = pn.Column(
            pn.pane.HTML(INTRO, stylesheets=prose, sizing_mode="stretch_width", disable_math=False),
            self._stats,
            pn.Row(boundary, curves, sizing_mode="stretch_width"),
            stylesheets=card, sizing_mode="stretch_width",
        )
        neurons = pn.Column(
            pn.pane.HTML(COMPOSITION, stylesheets=prose, sizing_mode="stretch_width", disable_math=False),
            pn.pane.Bokeh(self.neuron_fig),
            stylesheets=card, sizing_mode="stretch_width", margin=(16, 0, 0, 0),
        )

        table_css = [theme.TABLE_CSS]

        def formula(key):
            return pn.pane.HTML(FORMULAS[key], disable_math=False, width=240, stylesheets=prose,
                                margin=(14, 10, 6, 10))

        def values():
            return pn.pane.HTML("", stylesheets=table_css, sizing_mode="stretch_width", margin=(4, 5))

        self._insp_head = pn.pane.HTML("", stylesheets=table_css, sizing_mode="stretch_width")
        self._f_act, self._f_delta = formula("activation"), formula("delta")
        self._p_forward, self._p_act, self._p_delta = values(), values(), values()
        self._p_dW, self._p_db, self._p_back = values(), values(), values()
        self._insp_panes = [self._p_forward, self._p_act, self._p_delta, self._p_dW, self._p_db, self._p_back]
        self._back_row = pn.Row(formula("back"), self._p_back, sizing_mode="stretch_width")
        rows = [pn.Row(formula("forward"), self._p_forward, sizing_mode="stretch_width"),
                pn.Row(self._f_act, self._p_act, sizing_mode="stretch_width"),
                pn.Row(self._f_delta, self._p_delta, sizing_mode="stretch_width"),
                pn.Row(formula("dW"), self._p_dW, sizing_mode="stretch_width"),
                pn.Row(formula("db"), self._p_db, sizing_mode="stretch_width"),
                self._back_row]
        inspector = pn.Column(
            pn.pane.HTML(INSPECTOR_INTRO, stylesheets=prose, sizing_mode="stretch_width", disable_math=False),
            pn.Row(pn.pane.HTML("<b>Layer</b>", stylesheets=prose, margin=(12, 5, 5, 5)), self._layer_widget),
            self._insp_head,
            *rows,
            stylesheets=card, sizing_mode="stretch_width", margin=(16, 0, 0, 0),
        )
        self._layout = pn.Column(
            pn.Row(controls, pn.Column(main, neurons, sizing_mode="stretch_width"), sizing_mode="stretch_width"),
            inspector,
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return self._layout
