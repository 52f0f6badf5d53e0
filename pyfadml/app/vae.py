"""Section "Autoencoder & VAE": the lecture's generative models, trained live in the page.

Every number and image comes from :class:`pyfadml.demos.generative.GenerativeDemo` (an
:class:`~pyfadml.models.Autoencoder` and a :class:`~pyfadml.models.VAE` of the same size, trained on the same
mini-batches); this module only draws. Plots are built once and updated through their ``ColumnDataSource``;
image grids are one Bokeh ``image`` each (a mosaic with transparent gaps), resized only when the data set
changes the image size.

Live training is a periodic callback, as in the backprop section: each tick trains for at most
:data:`BURST_SECONDS`, streams the loss curves and refreshes at most one group of plots (the most overdue
of :data:`REFRESH_EVERY`); then it awaits, so a click (Pause, the latent plane, the pixel editor)
is handled between ticks. The readable values tests use are ``data-*`` attributes of the captions.
"""
from __future__ import annotations

import asyncio
import time
from html import escape

import numpy as np
import panel as pn
import param
from bokeh import events
from bokeh.models import ColumnDataSource, LinearColorMapper, Range1d, Span
from bokeh.palettes import Category10_10
from bokeh.plotting import figure
from bokeh.transform import linear_cmap

from pyfadml.app import theme
from pyfadml.app.widgets import PixelEditor
from pyfadml.demos.generative import (
    ANOMALY_PERCENTILE, DATASETS, HIDDEN_CHOICES, DivergenceError, GenerativeDemo,
)

BURST_SECONDS = 0.2          # training time per tick (then at most one refresh group, then yield)
PERIOD_MS = 40               # tick period
STATS_EVERY = 0.5            # seconds between updates of the numbers and the loss curves
REFRESH_EVERY = {"training": 1.5, "latent": 2.0, "samples": 3.0, "anomaly": 4.0, "scores": 4.0}
"""While playing, each tick refreshes at most one group of plots, the most overdue of these (seconds):
the test-set numbers and reconstruction grid, the latent planes, the decoded images (click, prior samples,
variations), the anomaly histogram and the nearest-neighbour scores. On pause everything is refreshed."""
IMAGE_PX = 38                # screen pixels per image side in the grids
EDITOR_PX = 208              # the drawing (and its reconstruction beside it), screen pixels a side
N_PRIOR = 8                  # prior samples drawn per click
N_VARIATIONS = 8
N_REALISM = 200              # prior draws behind the "can it be sampled" distances

LATENT_SIZES = [2, 3, 4, 8, 16]
LEARNING_RATES = [0.001, 0.003, 0.01, 0.03, 0.1]
BETAS = [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
BATCH_SIZES = [16, 32, 64, 128]
DATASET_LABELS = {"8x8 digits": "digits", "Shapes (12x12)": "shapes"}
HIDDEN_LABELS = {"64": "64", "128": "128", "128 - 64": "128-64"}
BRUSHES = {"Ink": 1.0, "Half": 0.5, "Erase": 0.0}
CLASS_PALETTE = list(Category10_10)
INK_PALETTE = ["#%02x%02x%02x" % tuple(int(round(255.0 + t * (c - 255.0))) for c in (17, 24, 39))
               for t in np.linspace(0.0, 1.0, 256)]
"""0 = white paper, 1 = near-black ink (the PixelEditor's "ink" map), for every image the section draws."""
VAE_COLOR = "#0072B2"
AE_COLOR = "#D55E00"

INTRO = """
<h2>Autoencoder &amp; VAE</h2>
<p>An <b>autoencoder</b> passes an image \\(x\\) (\\(D\\) pixels) through an <b>encoder</b> into a latent code
of \\(d < D\\) numbers, a compression, and a <b>decoder</b> draws \\(x'\\) back from it. A <b>variational
autoencoder</b> makes the code stochastic: the encoder gives a mean \\(\\mu\\) and a spread \\(\\sigma\\), the
decoder draws from a perturbed \\(z = \\mu + \\sigma \\odot \\varepsilon\\), \\(\\varepsilon \\sim N(0, I)\\),
and a KL term keeps the codes close to \\(N(0, I)\\). Both are trained by backpropagation on
\\(\\tfrac12\\lVert x - x'\\rVert^2\\); the VAE adds \\(\\beta\\,\\mathrm{KL}\\). Press <b>Play</b>: both models
learn from the same mini-batches.</p>
"""

LATENT_TEXT = """
<h3>The latent space</h3>
<p>Each dot is one test image's code (for the VAE its mean \\(\\mu\\)), coloured by its class; the VAE's ellipses
show \\(\\sigma\\) for one image of each class. The dashed circles are 1 and 2 standard deviations of the prior
\\(N(0, I)\\). <b>Click anywhere on a plane</b> to decode that point, or <b>sample from the prior</b>: the same
\\(z\\) go through both decoders. The VAE was trained to fill that disc with meaningful codes, so its samples look
like data; nothing asked the autoencoder to: its codes sit wherever training put them (compare their means and
spreads below with the prior's 0 and 1).</p>
"""

VARIATIONS_TEXT = """
<h3>Controlled variations</h3>
<p>Encode one image to \\(\\mu\\) and \\(\\sigma\\), then decode \\(z_i = \\mu + s\\,\\sigma \\odot \\varepsilon_i\\)
for eight fixed \\(\\varepsilon_i \\sim N(0, I)\\). At \\(s = 0\\) every variation is the reconstruction; at
\\(s = 1\\) they are the VAE's own perturbations; larger \\(s\\) wanders further from the original.</p>
"""

ANOMALY_TEXT = f"""
<h3>Anomaly or regular?</h3>
<p>A model trained on one kind of image reconstructs that kind well and anything else badly. Draw an image
(click or drag; choose the brush), and compare its reconstruction error \\(\\tfrac12\\lVert x - x'\\rVert^2\\)
with the errors of the test images: above their {ANOMALY_PERCENTILE:.0f}th percentile we call it an
<b>anomaly</b>.</p>
"""


def mosaic(images: np.ndarray, rows: int, cols: int, gap: int = 1) -> np.ndarray:
    """Tile ``images`` (n, H, W), row-major, into one float32 array with NaN gaps, flipped for Bokeh
    (whose image row 0 is at the bottom). Missing tiles are NaN (transparent)."""
    images = np.asarray(images, dtype=np.float32)
    n, h, w = images.shape
    out = np.full((rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap), np.nan, dtype=np.float32)
    for k in range(min(n, rows * cols)):
        r, c = divmod(k, cols)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = images[k]
    return np.ascontiguousarray(out[::-1])


def pixels_attr(images: np.ndarray) -> str:
    """Images as text for a ``data-*`` attribute: 4 decimals, pixels by commas, images by semicolons."""
    images = np.asarray(images, dtype=np.float64)
    images = images.reshape(len(images), -1)
    return ";".join(",".join(f"{v:.4f}" for v in img) for img in images)


def _num(v: float) -> str:
    return "nan" if not np.isfinite(v) else f"{v:.4f}"


class VAESection(pn.viewable.Viewer):
    """The live section: controls left; training, latent space, variations and anomalies on the right."""

    title = "Autoencoder & VAE"

    dataset = param.Selector(default="digits", objects=list(DATASETS))
    latent = param.Selector(default=2, objects=LATENT_SIZES)
    hidden = param.Selector(default="128", objects=list(HIDDEN_CHOICES))
    seed = param.Integer(default=0, bounds=(0, 9999))
    lr = param.Selector(default=0.01, objects=LEARNING_RATES)
    beta = param.Selector(default=0.05, objects=BETAS)
    batch_size = param.Selector(default=64, objects=BATCH_SIZES)
    playing = param.Boolean(default=False)
    scale = param.Number(default=1.0, bounds=(0.0, 5.0), step=0.05)
    var_index = param.Integer(default=0, bounds=(0, 10_000))
    var_source = param.Selector(default="test", objects=["test", "drawing"])
    anomaly_model = param.Selector(default="vae", objects=["vae", "ae"])

    def __init__(self, **params):
        super().__init__(**params)
        self.demo = self._new_demo()
        self.error: str | None = None
        self.frames = 0
        self._cb = None
        self._train_seconds = 0.0          # time spent inside training bursts (for steps/s)
        self._train_steps = 0
        self._tick_ms = 0.0
        self._cycle_ms = 0.0
        self._tick_start: float | None = None
        self._last_stats = 0.0
        self._prior_draws = 0
        self._var_seed = 0
        self._click: tuple[float, float] | None = None
        self._prior: dict | None = None
        self._var: dict | None = None
        self._row: dict | None = None
        self.refresh_ms: dict[str, float] = {}
        self._last_refresh: dict[str, float] = {}
        self._recognised = float("nan")
        self._extent = 3.5
        self._build_plots()
        self._build_widgets()
        self._build_layout()
        self._on_new_demo()

    # ------------------------------------------------------------------------------------------
    # model state
    # ------------------------------------------------------------------------------------------

    def _new_demo(self) -> GenerativeDemo:
        return GenerativeDemo(dataset=self.dataset, latent=int(self.latent), hidden=self.hidden,
                              lr=float(self.lr), beta=float(self.beta), batch_size=int(self.batch_size),
                              seed=int(self.seed))

    @param.depends("dataset", "latent", "hidden", "seed", watch=True)
    def _settings_changed(self):
        """New data or architecture: fresh models at step 0 (training goes on if it was on)."""
        self.demo = self._new_demo()
        self.error = None
        self._on_new_demo()

    @param.depends("lr", watch=True)
    def _lr_changed(self):
        self.demo.lr = float(self.lr)
        self._update_stats()

    @param.depends("beta", watch=True)
    def _beta_changed(self):
        self.demo.beta = float(self.beta)
        self._update_stats()

    @param.depends("batch_size", watch=True)
    def _batch_size_changed(self):
        self.demo.batch_size = int(self.batch_size)

    @param.depends("scale", "var_index", "var_source", watch=True)
    def _variations_changed(self):
        self._update_variations()

    @param.depends("anomaly_model", watch=True)
    def _anomaly_model_changed(self):
        self._update_anomaly(recompute=True)

    # ------------------------------------------------------------------------------------------
    # buttons
    # ------------------------------------------------------------------------------------------

    def play(self, event=None) -> None:
        """Start (or keep) training both models in the background."""
        if self.playing or self.error:
            return
        self.playing = True
        self._tick_start = None
        self._sync_buttons()
        if self._cb is None:
            # Started once and never stopped: it idles while paused. (Stopping cancels its task inside
            # its await, which Pyodide reports on the console as a CancelledError.)
            self._cb = pn.state.add_periodic_callback(self._tick, period=PERIOD_MS, start=True)
        self._update_stats()

    def pause(self, event=None) -> None:
        """Stop after the current tick and refresh everything."""
        was_playing = self.playing
        self.playing = False
        self._sync_buttons()
        if was_playing:
            self.refresh()

    def reset(self, event=None) -> None:
        """Pause, then rebuild data and both models from the settings (step 0)."""
        self.playing = False
        self._sync_buttons()
        self.demo = self._new_demo()
        self.error = None
        self._on_new_demo()

    def sample(self, event=None) -> None:
        """Draw N_PRIOR new z ~ N(0, I) and decode them with both models."""
        self._prior_draws += 1
        self._update_prior()

    def new_eps(self, event=None) -> None:
        self._var_seed += 1
        self._update_variations()

    async def _tick(self) -> None:
        if not self.playing:
            return                 # idle: Panel's loop sleeps out the rest of the period
        t0 = time.perf_counter()
        if self._tick_start is not None:         # tick to tick: includes what Panel does between ticks
            self._cycle_ms = 0.8 * self._cycle_ms + 0.2 * 1000.0 * (t0 - self._tick_start)
        self._tick_start = t0
        try:
            with np.errstate(all="ignore"):        # an overflow ends in DivergenceError, explained below
                done = self.demo.train_for(BURST_SECONDS)
        except DivergenceError as exc:
            self.error = (f"{exc} Press Reset (perhaps with a smaller learning rate) to start again.")
            self.playing = False
            self._sync_buttons()
            self._stream_losses()
            self.refresh()
            return
        t1 = time.perf_counter()
        self._train_seconds += t1 - t0
        self._train_steps += done
        group = self._due_group()
        if group is not None:
            self.refresh((group,))
        elif t1 - self._last_stats >= STATS_EVERY:
            self._update_stats()
        self._tick_ms = 1000.0 * (time.perf_counter() - t0)
        await asyncio.sleep(0.002)

    # ------------------------------------------------------------------------------------------
    # plots (built once)
    # ------------------------------------------------------------------------------------------

    @staticmethod
    def _style(fig) -> None:
        for ax in (fig.xaxis, fig.yaxis):
            ax.axis_label_text_font_style = "normal"
            ax.axis_label_text_color = theme.MUTED
            ax.major_label_text_color = theme.MUTED
            ax.axis_line_color = theme.RULE
            ax.major_tick_line_color = theme.RULE
            ax.minor_tick_line_color = None

    def _image_fig(self, name: str):
        """A figure holding one mosaic image (ink palette) and text labels; sized by _fit_image_fig."""
        fig = figure(width=100, height=100, x_range=Range1d(0, 1), y_range=Range1d(0, 1), toolbar_location=None,
                     tools="", min_border=2, outline_line_color=None, background_fill_color=None,
                     border_fill_color=None, name=name)
        src = ColumnDataSource(dict(image=[np.full((1, 1), np.nan, np.float32)], x=[0], y=[0], dw=[1], dh=[1]))
        fig.image("image", x="x", y="y", dw="dw", dh="dh", source=src, color_mapper=self._ink)
        labels = ColumnDataSource(dict(x=[], y=[], text=[]))
        fig.text("x", "y", text="text", source=labels, text_align="right", text_baseline="middle",
                 text_font_size="12px", text_color=theme.MUTED)
        fig.axis.visible = False
        fig.grid.visible = False
        return fig, src, labels

    def _fit_image_fig(self, fig, src, labels, rows: int, cols: int, row_labels=(), label_px: int = 0,
                       image_px: int = IMAGE_PX):
        """Size ``fig`` for a rows x cols mosaic of the current image size (+ a label column on the left),
        ``image_px`` screen pixels per image side."""
        h, w = self.demo.image_shape
        W = cols * w + (cols - 1)
        H = rows * h + (rows - 1)
        unit = image_px / h
        label_units = label_px / unit
        fig.x_range.start, fig.x_range.end = -label_units, W
        fig.y_range.start, fig.y_range.end = 0, H
        fig.width = int(round((W + label_units) * unit)) + 4
        fig.height = int(round(H * unit)) + 4
        src.data.update(x=[0], y=[0], dw=[W], dh=[H])
        ys = [H - (r * (h + 1) + h / 2) for r in range(len(row_labels))]
        labels.data = dict(x=[-6.0 / unit] * len(row_labels), y=ys, text=list(row_labels))

    def _build_plots(self) -> None:
        self._ink = LinearColorMapper(palette=INK_PALETTE, low=0.0, high=1.0, nan_color=(0, 0, 0, 0))
        # class k -> CLASS_PALETTE[k]: integer columns travel as binary arrays, colour strings would not
        self._cls_cmap = linear_cmap("cls", CLASS_PALETTE, low=0, high=len(CLASS_PALETTE) - 1)
        common = dict(toolbar_location=None, background_fill_color=theme.PANEL_BG,
                      border_fill_color=theme.PANEL_BG, outline_line_color=theme.RULE)

        loss = figure(width=400, height=260, y_axis_type="log", tools="", **common)
        self._loss_src = ColumnDataSource(dict(step=[], vae_recon=[], vae_kl=[], ae_recon=[]))
        self._eval_src = ColumnDataSource(dict(step=[], vae_recon=[], ae_recon=[]))
        loss.line("step", "vae_recon", source=self._loss_src, color=VAE_COLOR, line_width=2,
                  legend_label="VAE ½‖x−x′‖²")
        loss.line("step", "vae_kl", source=self._loss_src, color="#009E73", line_width=2,
                  legend_label="VAE KL")
        loss.line("step", "ae_recon", source=self._loss_src, color=AE_COLOR, line_width=2,
                  legend_label="AE ½‖x−x′‖²")
        loss.scatter("step", "vae_recon", source=self._eval_src, color=VAE_COLOR, size=5, marker="circle",
                     legend_label="test set")
        loss.scatter("step", "ae_recon", source=self._eval_src, color=AE_COLOR, size=5, marker="circle")
        legend = loss.legend[0]
        legend.orientation = "horizontal"
        legend.label_text_font_size = "11px"
        legend.padding = 2
        legend.spacing = 8
        legend.border_line_color = None
        legend.click_policy = "hide"
        loss.add_layout(legend, "above")
        loss.xaxis.axis_label = "step"
        loss.yaxis.axis_label = "per image (log scale)"
        loss.xgrid.visible = False
        loss.ygrid.grid_line_color = theme.RULE
        self._style(loss)
        self.loss_fig = loss

        self.recon_fig, self._recon_src, self._recon_labels = self._image_fig("reconstructions")
        self.prior_fig, self._prior_src, self._prior_labels = self._image_fig("prior-samples")
        self.var_fig, self._var_src, self._var_labels = self._image_fig("variations")
        self.var_pair_fig, self._var_pair_src, self._var_pair_labels = self._image_fig("variation-source")
        self.anomaly_recon_fig, self._anomaly_recon_src, self._anomaly_recon_labels = \
            self._image_fig("anomaly-reconstruction")

        # the two latent planes share their ranges: the same scale makes the comparison honest
        self._xr, self._yr = Range1d(-3.5, 3.5), Range1d(-3.5, 3.5)
        self.latent_figs, self._codes_src, self._click_src, self._prior_pts, self._prior_circle_src = {}, {}, {}, {}, {}
        self._decoded = {}
        for kind, title in (("ae", "Autoencoder: codes y"), ("vae", "VAE: means μ (ellipses: σ)")):
            f = figure(width=390, height=390, x_range=self._xr, y_range=self._yr, title=title, tools="",
                       name=f"latent-{kind}", **common)
            f.title.text_font_size = "13px"
            f.title.text_color = theme.INK
            f.title.text_font_style = "normal"
            circ = ColumnDataSource(dict(x=[0.0, 0.0], y=[0.0, 0.0], r=[1.0, 2.0]))
            f.circle("x", "y", radius="r", source=circ, fill_alpha=0.0, line_color=theme.MUTED, line_dash="dashed",
                     line_width=1.2)
            self._prior_circle_src[kind] = circ
            if kind == "vae":
                self._ellipse_src = ColumnDataSource(dict(x=[], y=[], w=[], h=[], angle=[], cls=[]))
                f.ellipse("x", "y", width="w", height="h", angle="angle", source=self._ellipse_src,
                          fill_color=self._cls_cmap, fill_alpha=0.18, line_color=self._cls_cmap, line_width=1.5)
            src = ColumnDataSource(dict(x=[], y=[], cls=[]))
            f.scatter("x", "y", source=src, size=5, fill_color=self._cls_cmap, line_color=None, fill_alpha=0.8)
            self._codes_src[kind] = src
            if kind == "vae":
                self._var_pts = ColumnDataSource(dict(x=[], y=[]))
                f.scatter("x", "y", source=self._var_pts, size=6, marker="circle", fill_color="white",
                          line_color=theme.INK, line_width=1.2)
                self._var_mu = ColumnDataSource(dict(x=[], y=[]))
                f.scatter("x", "y", source=self._var_mu, size=11, marker="diamond", fill_color=theme.INK,
                          line_color="white")
            pts = ColumnDataSource(dict(x=[], y=[], text=[]))
            f.scatter("x", "y", source=pts, size=11, marker="x", line_color=theme.INK, line_width=2.5)
            f.text("x", "y", text="text", source=pts, x_offset=6, y_offset=-4, text_font_size="11px",
                   text_color=theme.INK)
            self._prior_pts[kind] = pts
            click = ColumnDataSource(dict(x=[], y=[]))
            f.scatter("x", "y", source=click, size=22, marker="circle_cross", fill_alpha=0.0,
                      line_color=theme.DANGER, line_width=2.5)
            self._click_src[kind] = click
            f.xgrid.grid_line_color = theme.RULE
            f.ygrid.grid_line_color = theme.RULE
            self._style(f)
            f.on_event(events.Tap, self._on_tap)
            f.on_event(events.DoubleTap, self._on_tap)      # a quick second click elsewhere is a "double tap"
            f.css_classes = [f"latent-{kind}"]
            self.latent_figs[kind] = f
            self._decoded[kind] = self._image_fig(f"decoded-{kind}")

        hist = figure(width=370, height=230, x_range=Range1d(0, 1), **common, tools="")
        self._hist_src = ColumnDataSource(dict(left=[], right=[], top=[]))
        hist.quad(left="left", right="right", bottom=0, top="top", source=self._hist_src, fill_color="#94a3b8",
                  line_color="white", legend_label="test images")
        self._err_span = Span(location=0.0, dimension="height", line_color=theme.DANGER, line_width=3)
        self._thr_span = Span(location=0.0, dimension="height", line_color=theme.INK, line_width=1.5,
                              line_dash="dashed")
        hist.add_layout(self._err_span)
        hist.add_layout(self._thr_span)
        hist.legend.location = "top_right"
        hist.legend.label_text_font_size = "11px"
        hist.xaxis.axis_label = "reconstruction error ½‖x−x′‖²"
        hist.yaxis.axis_label = "test images"
        hist.xgrid.visible = False
        hist.ygrid.grid_line_color = theme.RULE
        hist.y_range.start = 0
        self._style(hist)
        self.hist_fig = hist

    # ------------------------------------------------------------------------------------------
    # widgets and layout
    # ------------------------------------------------------------------------------------------

    def _build_widgets(self) -> None:
        W = pn.widgets
        p = self.param
        self._widgets = {
            "dataset": W.Select.from_param(p.dataset, label="Dataset", options=DATASET_LABELS),
            "seed": W.IntInput.from_param(p.seed, label="Seed"),
            "latent": W.Select.from_param(p.latent, label="Latent size d", options={str(v): v for v in LATENT_SIZES}),
            "hidden": W.Select.from_param(p.hidden, label="Hidden layers", options=HIDDEN_LABELS),
            "lr": W.Select.from_param(p.lr, label="Learning rate", options={f"{v:g}": v for v in LEARNING_RATES}),
            "beta": W.Select.from_param(p.beta, label="β (KL weight)", options={f"{v:g}": v for v in BETAS}),
            "batch_size": W.Select.from_param(p.batch_size, label="Batch size",
                                              options={str(v): v for v in BATCH_SIZES}),
        }
        for w in self._widgets.values():
            w.sizing_mode = "stretch_width"
        self._play = W.Button(label="Play", color="success", width=72)
        self._pause = W.Button(label="Pause", color="warning", width=72, disabled=True)
        self._reset = W.Button(label="Reset", color="default", width=72)
        self._play.on_click(self.play)
        self._pause.on_click(self.pause)
        self._reset.on_click(self.reset)
        self._sample_btn = W.Button(label="Sample from the prior", color="primary", width=190)
        self._sample_btn.on_click(self.sample)
        self._scale_w = W.FloatSlider.from_param(p.scale, label="Perturbation size s", throttled=True, width=260)
        self._index_w = W.IntSlider.from_param(p.var_index, label="Test image", throttled=True, width=260)
        self._source_w = W.RadioButtonGroup.from_param(p.var_source, options={"Test image": "test",
                                                                              "My drawing": "drawing"},
                                                       color="primary", variant="outline")
        self._eps_btn = W.Button(label="New ε", color="default", width=80)
        self._eps_btn.on_click(self.new_eps)
        self.editor = PixelEditor(value=np.zeros(self.demo.image_shape), values=[0.0, 1.0], brush=1.0,
                                  vmin=0.0, vmax=1.0, cmap="ink", label="your drawing",
                                  cell_size=EDITOR_PX // self.demo.image_shape[0],
                                  grid_id="vae-drawing")
        self.editor.param.watch(lambda event: self._update_anomaly(), "value")
        self.editor.param.watch(lambda event: self._update_variations() if self.var_source == "drawing"
                                else None, "value")
        self._brush_w = W.RadioButtonGroup(label="Brush", options=list(BRUSHES), value="Ink",
                                           color="primary", variant="outline")
        self._brush_w.param.watch(lambda event: setattr(self.editor, "brush", BRUSHES[event.new]), "value")
        self._clear_btn = W.Button(label="Clear", color="default", width=80)
        self._clear_btn.on_click(lambda event: setattr(self.editor, "value", np.zeros(self.demo.image_shape)))
        self._copy_btn = W.Button(label="Copy the test image", color="default", width=160)
        self._copy_btn.on_click(self._copy_test_image)
        self._anomaly_model_w = W.RadioButtonGroup.from_param(p.anomaly_model, options={"VAE": "vae", "AE": "ae"},
                                                              color="primary", variant="outline")

    def _copy_test_image(self, event=None) -> None:
        i = min(int(self.var_index), len(self.demo.y_test) - 1)
        self.editor.value = self.demo.as_images(self.demo.X_test[i]).astype(np.float64)[0]

    def _sync_buttons(self) -> None:
        self._play.disabled = self.playing or bool(self.error)
        self._pause.disabled = not self.playing

    def _build_layout(self) -> None:
        card = [theme.CARD_CSS]
        prose = [theme.PROSE_CSS]
        w = self._widgets

        def html(text, **kw):
            return pn.pane.HTML(text, stylesheets=prose, disable_math=False, **kw)

        controls = pn.Column(
            html("<h3>Data</h3>", margin=(0, 5)),
            w["dataset"], w["seed"],
            html("<h3>Models</h3>", margin=(8, 5, 0, 5)),
            w["latent"], w["hidden"],
            html("<p class='muted'>d = 2: the plane below is the latent space itself. Larger d reconstructs "
                 "better; the plane is then the codes' two principal axes.</p>", margin=(0, 5)),
            html("<h3>Training</h3>", margin=(8, 5, 0, 5)),
            w["lr"], w["beta"], w["batch_size"],
            html("<p class='muted'>Adam on ½‖x−x′‖² (+ β·KL for the VAE). Try β = 1: with pixels in [0, 1] "
                 "the KL wins and the VAE draws the average image for every input.</p>", margin=(0, 5)),
            pn.Row(self._play, self._pause, self._reset, margin=(8, 0, 0, 0)),
            width=290, stylesheets=card, margin=(0, 16, 0, 0),
        )
        self._stats = pn.pane.HTML("", stylesheets=[theme.STATS_CSS], sizing_mode="stretch_width",
                                   margin=(4, 5, 12, 5))
        self._recon_caption = html("", margin=(0, 5))
        training = pn.Column(
            html(INTRO, sizing_mode="stretch_width"),
            self._stats,
            pn.Row(
                pn.Column(html("<h3>Loss</h3><p class='muted'>Lines: the mini-batches (mean of each "
                               "refresh); dots: the whole test set, with z = μ.</p>", margin=(0, 5), width=400),
                          pn.pane.Bokeh(self.loss_fig)),
                pn.Column(html("<h3>Test images and their reconstructions</h3>", margin=(0, 5)),
                          pn.pane.Bokeh(self.recon_fig), self._recon_caption),
                sizing_mode="stretch_width"),
            stylesheets=card, sizing_mode="stretch_width",
        )

        self._legend = html("", margin=(0, 5), sizing_mode="stretch_width")
        self._decoded_caption = {k: html("", margin=(0, 5)) for k in ("ae", "vae")}
        self._code_stats = html("", margin=(4, 5), sizing_mode="stretch_width")
        self._prior_caption = html("", margin=(0, 5))
        self._realism = html("", margin=(4, 5), sizing_mode="stretch_width")

        def plane(kind):
            fig, _, _ = self._decoded[kind]
            return pn.Column(pn.pane.Bokeh(self.latent_figs[kind]),
                             pn.Row(pn.pane.Bokeh(fig), self._decoded_caption[kind]))

        latent = pn.Column(
            html(LATENT_TEXT, sizing_mode="stretch_width"),
            self._legend,
            pn.Row(plane("ae"), plane("vae"), sizing_mode="stretch_width"),
            self._code_stats,
            pn.Row(self._sample_btn, self._prior_caption, margin=(8, 0, 0, 0)),
            pn.pane.Bokeh(self.prior_fig),
            self._realism,
            stylesheets=card, sizing_mode="stretch_width", margin=(16, 0, 0, 0),
        )

        self._var_caption = html("", margin=(0, 5), sizing_mode="stretch_width")
        variations = pn.Column(
            html(VARIATIONS_TEXT, sizing_mode="stretch_width"),
            pn.Row(pn.Column(self._source_w, self._index_w, self._scale_w, self._eps_btn, width=290),
                   pn.Column(html("<p class='muted'>input · decode(μ)</p>", margin=(0, 5)),
                             pn.pane.Bokeh(self.var_pair_fig), margin=(0, 16)),
                   pn.Column(html("<p class='muted'>decode(μ + s·σ⊙ε<sub>i</sub>), i = 1…8</p>", margin=(0, 5)),
                             pn.pane.Bokeh(self.var_fig))),
            self._var_caption,
            stylesheets=card, sizing_mode="stretch_width", margin=(16, 0, 0, 0),
        )

        self._anomaly_caption = html("", margin=(0, 5), sizing_mode="stretch_width")
        anomaly = pn.Column(
            html(ANOMALY_TEXT, sizing_mode="stretch_width"),
            pn.Row(
                pn.Column(self.editor, self._brush_w, pn.Row(self._clear_btn, self._copy_btn)),
                pn.Column(html("<p class='muted'>its reconstruction</p>", margin=(0, 5)),
                          pn.pane.Bokeh(self.anomaly_recon_fig), margin=(0, 16)),
                pn.Column(pn.Row(html("<b>Model</b>", margin=(8, 5)), self._anomaly_model_w),
                          pn.pane.Bokeh(self.hist_fig)),
            ),
            self._anomaly_caption,
            stylesheets=card, sizing_mode="stretch_width", margin=(16, 0, 0, 0),
        )
        self._layout = pn.Row(
            controls,
            pn.Column(training, latent, variations, anomaly, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return self._layout

    # ------------------------------------------------------------------------------------------
    # refresh: new data into the existing plots
    # ------------------------------------------------------------------------------------------

    def _on_new_demo(self) -> None:
        d = self.demo
        self._loss_src.data = dict(step=[], vae_recon=[], vae_kl=[], ae_recon=[])
        self._streamed = 0
        self._eval_src.data = dict(step=[], vae_recon=[], ae_recon=[])
        self._train_seconds, self._train_steps = 0.0, 0
        self._click = None
        self._prior = None
        self._var = None
        for kind in ("ae", "vae"):
            self._click_src[kind].data = dict(x=[], y=[])
        self._extent = 3.5
        self._index_w.end = len(d.y_test) - 1
        if self.var_index > len(d.y_test) - 1:
            self.var_index = 0
        k = len(d.showcase_indices())
        self._fit_image_fig(self.recon_fig, self._recon_src, self._recon_labels, 3, k,
                            ("input", "VAE", "AE"), label_px=44)
        self._fit_image_fig(self.prior_fig, self._prior_src, self._prior_labels, 2, N_PRIOR,
                            ("VAE", "AE"), label_px=44)
        self._fit_image_fig(self.var_fig, self._var_src, self._var_labels, 2, N_VARIATIONS // 2)
        self._fit_image_fig(self.var_pair_fig, self._var_pair_src, self._var_pair_labels, 1, 2, image_px=64)
        self._fit_image_fig(self.anomaly_recon_fig, self._anomaly_recon_src, self._anomaly_recon_labels, 1, 1,
                            image_px=EDITOR_PX - 32)
        for kind in ("ae", "vae"):
            fig, src, labels = self._decoded[kind]
            self._fit_image_fig(fig, src, labels, 1, 1, image_px=80)
        self._legend.object = "".join(
            f"<span style='display:inline-block;margin-right:14px;font-size:13px;color:{theme.TEXT}'>"
            f"<span style='display:inline-block;width:10px;height:10px;border-radius:50%;"
            f"background:{CLASS_PALETTE[i % len(CLASS_PALETTE)]};margin-right:5px'></span>{escape(name)}</span>"
            for i, name in enumerate(d.class_names))
        if self.editor.value.shape != d.image_shape or not self.editor.edits:
            self.editor.cell_size = EDITOR_PX // d.image_shape[0]
            self._copy_test_image()
        self._sync_buttons()
        self.refresh()
        row = self._row                        # the curves start at the untrained test-set values
        self._loss_src.data = dict(step=[0], vae_recon=[row["vae_recon"]], vae_kl=[max(row["vae_kl"], 1e-6)],
                                   ae_recon=[row["ae_recon"]])

    def _stream_losses(self) -> None:
        """Append the mean of the rows trained since the last call as one point of each curve."""
        h = self.demo.history
        start = self._streamed
        if len(h["step"]) <= start:
            return
        self._streamed = len(h["step"])
        with np.errstate(all="ignore"):
            point = dict(step=[h["step"][-1]],
                         vae_recon=[float(np.mean(h["vae_recon"][start:]))],
                         vae_kl=[max(float(np.mean(h["vae_kl"][start:])), 1e-6)],
                         ae_recon=[float(np.nanmean(h["ae_recon"][start:]))])
        self._loss_src.stream(point)

    def refresh(self, groups=tuple(REFRESH_EVERY)) -> None:
        """Push the current state into the plots of ``groups`` (all by default) and the numbers.

        The time each group took is kept in ``refresh_ms`` (shown in the stats' ``data-refresh-ms``).
        """
        now = time.perf_counter()
        work = {"training": self._refresh_training, "latent": self._update_latent,
                "samples": self._refresh_samples, "anomaly": lambda: self._update_anomaly(recompute=True),
                "scores": self._refresh_scores}
        with np.errstate(all="ignore"):
            for name in groups:
                t = time.perf_counter()
                work[name]()
                self.refresh_ms[name] = 1000.0 * (time.perf_counter() - t)
                self._last_refresh[name] = now
        self.frames += 1
        self._update_stats()

    def _due_group(self) -> str | None:
        """The refresh group most overdue, if any."""
        now = time.perf_counter()
        late = {k: now - self._last_refresh.get(k, 0.0) - every for k, every in REFRESH_EVERY.items()}
        name = max(late, key=late.get)
        return name if late[name] >= 0 else None

    def _refresh_training(self) -> None:
        self._evaluate()
        self._update_reconstructions()

    def _refresh_samples(self) -> None:
        self._update_decoded()
        self._update_prior()
        self._update_variations()

    def _refresh_scores(self) -> None:
        d = self.demo
        self._recognised = d.recognised_fraction("vae")
        r = d.prior_realism(N_REALISM)
        self._realism.object = (
            f'<p class="muted" data-testid="prior-realism" data-vae="{r["vae"]!r}" data-ae="{r["ae"]!r}" '
            f'data-test="{r["test"]!r}">Can the prior be sampled? Median distance of {N_REALISM} decoded draws '
            f'z ~ N(0, I) to their nearest training image: <b style="color:{VAE_COLOR}">VAE {r["vae"]:.2f}</b>, '
            f'<b style="color:{AE_COLOR}">AE {r["ae"]:.2f}</b>; a real test image: {r["test"]:.2f}. With d = 2 both '
            'decoders turn the whole disc into digit-like blurs; with more latent dimensions the AE\'s draws fall '
            'where it never put a code and decode further from any digit.</p>')

    def _evaluate(self) -> None:
        self._row = self.demo.evaluate()
        if not self._eval_src.data["step"] or self._eval_src.data["step"][-1] != self._row["step"]:
            self._eval_src.stream(dict(step=[self._row["step"]], vae_recon=[self._row["vae_recon"]],
                                       ae_recon=[self._row["ae_recon"]]))

    def _update_stats(self) -> None:
        row = self._row
        if row is None:
            return
        t_start = time.perf_counter()
        self._last_stats = t_start
        self._stream_losses()                  # the curves move with the numbers
        d = self.demo
        sps = self._train_steps / self._train_seconds if self._train_seconds > 0 else float("nan")
        base = d.mean_image_error()
        stats = [("step", "Step", row["step"], f"{row['step']:,}"),
                 ("vae-recon", "VAE ½‖x−x′‖²", row["vae_recon"], f"{row['vae_recon']:.3f}"),
                 ("vae-kl", "VAE KL", row["vae_kl"], f"{row['vae_kl']:.2f}"),
                 ("ae-recon", "AE ½‖x−x′‖²", row["ae_recon"], f"{row['ae_recon']:.3f}"),
                 ("mean-image", "Mean image", base, f"{base:.3f}")]
        stats.append(("recognised", "Recognised", self._recognised,
                      "–" if not np.isfinite(self._recognised) else f"{100 * self._recognised:.0f}%"))
        stats.append(("steps-per-s", "Steps/s", sps, "–" if not np.isfinite(sps) else f"{sps:.0f}"))
        cells = "".join(
            f'<div class="stat"><span class="label">{label}</span>'
            f'<span class="value" data-testid="{key}" data-value="{float(value)!r}">{text}</span></div>'
            for key, label, value, text in stats)
        if self.error:
            state = (f'<div class="state diverged" data-testid="message"><span class="dot"></span>'
                     f'{escape(self.error)}</div>')
        elif self.playing:
            state = ('<div class="state playing" data-testid="message"><span class="dot"></span>Training both '
                     f'models: {d.batch_size} images per step, learning rate {d.lr:g}, β = {d.beta:g}</div>')
        else:
            state = ('<div class="state" data-testid="message"><span class="dot"></span>Paused. '
                     f'D = {d.D} pixels → d = {d.latent} → D; hidden layers {list(d.hidden)}; '
                     f'{len(d.X_train)} training and {len(d.X_test)} test images. Test-set errors are means '
                     f'over images; "mean image" is the error of always drawing the average image'
                     '; recognised: VAE reconstructions whose nearest training image has the right label.'
                     '</div>')
        self._stats.object = (
            f'<div class="stats" data-testid="vae-stats" data-step="{row["step"]}" '
            f'data-playing="{int(self.playing)}" data-diverged="{int(bool(self.error))}" '
            f'data-frames="{self.frames}" data-tick-ms="{self._tick_ms:.1f}" data-cycle-ms="{self._cycle_ms:.1f}" '
            f'data-train-steps="{self._train_steps}" data-train-seconds="{self._train_seconds:.3f}" '
            f'data-refresh-ms="{" ".join(f"{k}:{v:.0f}" for k, v in self.refresh_ms.items())}">'
            f'{cells}</div>{state}')
        self.refresh_ms["stats"] = 1000.0 * (time.perf_counter() - t_start)

    def _update_reconstructions(self) -> None:
        r = self.demo.reconstructions()
        k = len(r["index"])
        imgs = np.concatenate([r["x"], r["vae"], r["ae"]])
        self._recon_src.data["image"] = [mosaic(imgs, 3, k)]
        self._recon_caption.object = (
            f'<p class="muted" data-testid="reconstructions" data-vae-error="{float(np.mean(r["vae_error"]))!r}" '
            f'data-ae-error="{float(np.mean(r["ae_error"]))!r}">One test image of each class. Mean ½‖x−x′‖² '
            f'of these: VAE {np.mean(r["vae_error"]):.3f}, AE {np.mean(r["ae_error"]):.3f}.</p>')

    def _update_latent(self) -> None:
        d = self.demo
        extent = self._extent
        stats = {}
        for kind in ("ae", "vae"):
            lp = d.latent_plane(kind)
            self._codes_src[kind].data = dict(x=lp["u"], y=lp["v"], cls=lp["label"].astype(np.int32))
            centre, axes = d.projection(kind)
            o = -(centre @ axes.T)                      # where the prior's mean 0 lands on the plane
            self._prior_circle_src[kind].data = dict(x=[o[0], o[0]], y=[o[1], o[1]], r=[1.0, 2.0])
            if lp["ellipses"] is not None:
                e = lp["ellipses"]
                self._ellipse_src.data = dict(x=e["u"], y=e["v"], w=e["width"], h=e["height"], angle=e["angle"],
                                              cls=d.y_test[e["index"]].astype(np.int32))
            finite = np.isfinite(lp["u"]) & np.isfinite(lp["v"])
            if finite.any():
                m = float(np.max(np.abs(np.concatenate([lp["u"][finite], lp["v"][finite]]))))
                extent = max(extent, m * 1.08)
            stats[kind] = {"mean": lp["codes"].mean(axis=0), "std": lp["codes"].std(axis=0)}
            names = lp["axis_labels"]
            f = self.latent_figs[kind]
            f.xaxis.axis_label, f.yaxis.axis_label = names[0], names[1]
        if extent > self._extent:                      # grow only, in half units: clicks stay where they were
            self._extent = float(np.ceil(extent * 2.0) / 2.0)
            self._xr.start, self._xr.end = -self._extent, self._extent
            self._yr.start, self._yr.end = -self._extent, self._extent

        def vec(v):
            shown = ", ".join(f"{x:.2f}" for x in v[:4])
            return f"({shown}{', …' if len(v) > 4 else ''})"

        self._code_stats.object = (
            '<p class="muted" data-testid="code-stats" '
            f'data-vae-mean="{",".join(f"{x:.4f}" for x in stats["vae"]["mean"])}" '
            f'data-vae-std="{",".join(f"{x:.4f}" for x in stats["vae"]["std"])}" '
            f'data-ae-mean="{",".join(f"{x:.4f}" for x in stats["ae"]["mean"])}" '
            f'data-ae-std="{",".join(f"{x:.4f}" for x in stats["ae"]["std"])}">'
            f'Per latent dimension, the prior has mean 0 and std 1. Test codes now: '
            f'<b style="color:{VAE_COLOR}">VAE</b> mean {vec(stats["vae"]["mean"])}, std {vec(stats["vae"]["std"])}; '
            f'<b style="color:{AE_COLOR}">AE</b> mean {vec(stats["ae"]["mean"])}, std {vec(stats["ae"]["std"])}.</p>')
        self._update_variation_points()

    def _on_tap(self, event) -> None:
        if event.x is None or event.y is None:
            return
        self._click = (float(event.x), float(event.y))
        self._update_decoded()

    def _update_decoded(self) -> None:
        d = self.demo
        if self._click is None:
            for kind in ("ae", "vae"):
                fig, src, labels = self._decoded[kind]
                src.data["image"] = [np.full((1, 1), np.nan, np.float32)]
                self._decoded_caption[kind].object = (
                    f'<p class="muted" data-testid="decoded-{kind}" data-pixels="">Click the plane above: '
                    f'the {"VAE" if kind == "vae" else "AE"} decodes that point.</p>')
            return
        u, v = self._click
        for kind in ("ae", "vae"):
            img = d.decode_point(kind, u, v)
            fig, src, labels = self._decoded[kind]
            src.data["image"] = [mosaic(img[None], 1, 1)]
            self._click_src[kind].data = dict(x=[u], y=[v])
            z = d.lift(kind, np.array([[u, v]]))[0]
            zs = ", ".join(f"{x:.2f}" for x in z[:4]) + (", …" if len(z) > 4 else "")
            self._decoded_caption[kind].object = (
                f'<p class="muted" data-testid="decoded-{kind}" data-u="{u!r}" data-v="{v!r}" '
                f'data-pixels="{pixels_attr(img[None])}">decoder(z), z = ({zs})</p>')

    def _update_prior(self) -> None:
        d = self.demo
        rng = np.random.default_rng([int(self.seed), self._prior_draws])
        s = d.sample_prior(N_PRIOR, rng=rng)
        self._prior = s
        self._prior_src.data["image"] = [mosaic(np.concatenate([s["vae"], s["ae"]]), 2, N_PRIOR)]
        for kind in ("ae", "vae"):
            uv = s[f"{kind}_uv"]
            self._prior_pts[kind].data = dict(x=uv[:, 0], y=uv[:, 1], text=[str(i + 1) for i in range(N_PRIOR)])
        self._prior_caption.object = (
            f'<p class="muted" data-testid="prior-samples" data-draw="{self._prior_draws}" '
            f'data-vae-pixels="{pixels_attr(s["vae"])}" data-ae-pixels="{pixels_attr(s["ae"])}">'
            f'{N_PRIOR} draws z ~ N(0, I), numbered ✕ on both planes, decoded by each model.</p>')

    def _variation_input(self):
        if self.var_source == "drawing":
            return self.editor.value
        return min(int(self.var_index), len(self.demo.y_test) - 1)

    def _update_variations(self) -> None:
        d = self.demo
        with np.errstate(all="ignore"):
            v = d.variations(self._variation_input(), float(self.scale), n=N_VARIATIONS, seed=self._var_seed)
        self._var = v
        self._var_pair_src.data["image"] = [mosaic(np.stack([v["x"], v["recon"]]), 1, 2)]
        self._var_src.data["image"] = [mosaic(v["images"], 2, N_VARIATIONS // 2)]
        k = min(len(v["mu"]), 4)
        more = ", …" if len(v["mu"]) > k else ""
        label = ("your drawing" if self.var_source == "drawing"
                 else f"test image {int(self.var_index)} "
                      f"(class {d.class_names[d.y_test[int(self._variation_input())]]})")
        self._var_caption.object = (
            f'<p class="muted" data-testid="variations" data-scale="{float(self.scale)!r}" '
            f'data-recon="{pixels_attr(v["recon"][None])}" data-images="{pixels_attr(v["images"])}">'
            f'Left: {escape(label)} and its reconstruction decode(μ). Right: decode(μ + s·σ⊙ε) with '
            f's = {float(self.scale):.2f}. μ = ({", ".join(f"{x:.2f}" for x in v["mu"][:k])}{more}), '
            f'σ = ({", ".join(f"{x:.2f}" for x in v["sigma"][:k])}{more}). The diamond and white dots on '
            f'the VAE plane are μ and the eight z.</p>')
        self._update_variation_points()

    def _update_variation_points(self) -> None:
        v = getattr(self, "_var", None)
        if v is None:
            return
        uv = self.demo.project("vae", v["z"])
        mu = self.demo.project("vae", v["mu"][None])
        self._var_pts.data = dict(x=uv[:, 0], y=uv[:, 1])
        self._var_mu.data = dict(x=mu[:, 0], y=mu[:, 1])

    def _update_anomaly(self, recompute: bool = False) -> None:
        d = self.demo
        kind = self.anomaly_model
        if recompute or getattr(self, "_errors_kind", None) != (kind, d.step_count, id(d)):
            self._errors = d.error_distribution(kind)
            self._errors_kind = (kind, d.step_count, id(d))
            errs = self._errors[np.isfinite(self._errors)]
            if errs.size:
                top = float(np.percentile(errs, 99.5)) * 1.15
                counts, edges = np.histogram(np.clip(errs, 0, top), bins=30, range=(0.0, top))
                self._hist_src.data = dict(left=edges[:-1], right=edges[1:], top=counts)
                self._hist_top = top
        img = self.editor.value
        if img.shape != d.image_shape:
            return
        with np.errstate(all="ignore"):
            s = d.anomaly_score(np.clip(img, 0.0, 1.0), kind, errors=self._errors)
        self._anomaly_recon_src.data["image"] = [mosaic(s["recon"][None], 1, 1)]
        self._err_span.location = s["error"]
        top = getattr(self, "_hist_top", 1.0)
        self.hist_fig.x_range.start = 0.0
        self.hist_fig.x_range.end = max(top, s["error"] * 1.08, s["threshold"] * 1.08)
        self._thr_span.location = s["threshold"]
        model = "VAE" if kind == "vae" else "autoencoder"
        if s["anomalous"]:
            verdict = (f"<b style='color:{theme.DANGER}'>Anomaly</b>: the {model} reconstructs it worse than "
                       f"{s['percentile']:.0f}% of the test images")
        else:
            verdict = (f"<b style='color:#15803d'>Regular</b>: {s['percentile']:.0f}% of the test images are "
                       f"reconstructed better, {100 - s['percentile']:.0f}% worse")
        self._anomaly_caption.object = (
            f'<p data-testid="anomaly" data-error="{s["error"]!r}" data-threshold="{s["threshold"]!r}" '
            f'data-percentile="{s["percentile"]!r}" data-anomalous="{int(s["anomalous"])}" '
            f'data-edits="{self.editor.edits}" style="font-size:15px;color:{theme.TEXT}">{verdict} '
            f'(error {s["error"]:.3f}, red line; dashed: the {ANOMALY_PERCENTILE:.0f}th percentile, '
            f'{s["threshold"]:.3f}).</p>')
