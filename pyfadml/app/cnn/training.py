"""Screen 2 of "Convolution & CNN": a small CNN (conv -> ReLU -> pool, twice, then dense) trained live on
shapes or digits.

The state and every number come from :class:`pyfadml.demos.cnn.CNNDemo`; this module declares what to
train and what to draw. Play / Pause / Step / Reset, the schedule and divergence are the shared
:class:`pyfadml.app.live.LiveTraining`; what happens inside the network is drawn by
:class:`pyfadml.app.cnn.network.NetworkViews`.
"""
from __future__ import annotations

import time
from html import escape

import panel as pn
import param
from bokeh.core.properties import value as bk_value
from bokeh.models import ColumnDataSource, DataRange1d, Range1d

from pyfadml.app import ui
from pyfadml.app.cnn.network import NetworkViews
from pyfadml.app.live import LiveTraining, Refresh
from pyfadml.app.workio import TakeAway
from pyfadml.data.images import SHAPE_VARIATIONS
from pyfadml.demos.cnn import FIRST_LAYER_MODES, LECTURE_VARIATIONS, MAX_FILTERS, CNNDemo

BURST_SECONDS = 0.04          # training per frame (a few mini-batches in the browser), then the due views:
FRAME_SECONDS = 0.08          # ... half of each frame trains, and the plots update more than 10 times a second
CURVES_EVERY = 1.0            # the evaluation on the train and test sets (the slowest view) at most once a second,
EVAL_SHARE = 0.2              # ... and at most this share of the time: a Pause waits for a frame to end
MAPS_EVERY = 1.0             # the feature maps of one input and the drawing's prediction
KERNELS_EVERY = 0.5
LOSS_FLOOR = 1e-6             # the log axis cannot show 0

LEARNING_RATES = [0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3]
BATCH_SIZES = [8, 16, 32, 64, 128]
SAMPLE_SIZES = [120, 300, 600, 1200, 2400]
CURVES = ("step", "train_loss", "test_loss", "train_acc", "test_acc")
DATASET_LABELS = {"Shapes (X, O, +, square, triangle, bar)": "shapes", "Digits (8×8, 10 classes)": "digits"}
FIRST_LAYER_LABELS = {"Learned from a random start": "learned",
                      "Hand-picked presets, then learned": "presets",
                      "Hand-picked presets, frozen": "presets_frozen"}
FIRST_LAYER_NAMES = {v: k for k, v in FIRST_LAYER_LABELS.items()}
VARIATION_LABELS = {v: v for v in SHAPE_VARIATIONS}

INTRO = """
<h3>A CNN learns its own kernels</h3>
<p class="secondary">The operations of screen 1, stacked: <b>convolution → ReLU → max pool</b>, twice, then a
dense layer that makes the decision. Every kernel is a weight trained by backpropagation. The shapes vary the
way the lecture says features must cope with: <b>orientation, brightness, occlusion and shades</b>. Press
<b>Play</b>.</p>
"""


class TrainingScreen(ui.View):
    """Controls on the left (Play/Pause/Step/Reset on top, sticky); curves, kernels, maps, drawing pad."""

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

    def __init__(self, **params):
        super().__init__(**params)
        self.demo = self._new_demo()
        self._row: dict | None = None
        self._previous: dict | None = None        # the last run's test-accuracy curve, for comparison
        self.views = NetworkViews(lambda: self.demo)
        self._build_curves()
        self._curves = Refresh(self._draw_curves, every=CURVES_EVERY)
        self.live = LiveTraining(
            "cnn", demo=lambda: self.demo, reset=self._reset_demo, redraw=self.redraw,
            refresh=[Refresh(self.views.draw_kernels, every=KERNELS_EVERY),
                     Refresh(self.views.draw_maps, every=MAPS_EVERY), self._curves],
            settings=self, resets=("dataset", "variations", "n_samples", "filters1", "filters2", "kernel_size",
                                   "first_layer", "seed"),
            applies=("lr", "batch_size"), applied=self._draw_stats, burst=BURST_SECONDS, period=FRAME_SECONDS)
        self.takeaway = TakeAway("cnn", model=lambda: self.demo.model, step=lambda: self.demo.step_count,
                                 history=lambda: self.demo.history, accept=self.accept_model,
                                 figures={"loss": self.loss_fig, "accuracy": self.acc_fig})
        self.views.playing = lambda: self.live.playing
        self._layout = self._build_layout()
        self._on_new_demo()
        self.redraw()

    def accept_model(self, model, name: str = "the file") -> str:
        """Show ``model`` (e.g. from ``pyfadml.load``): its filter counts, kernel size and frozen first layer
        become the settings (a reset, same data), then its weights replace the new ones (step 0). Raises
        ValueError naming the mismatch, with nothing changed, unless :meth:`CNNDemo.settings_for` finds it
        fits."""
        s = self.demo.settings_for(model, name)
        self.live.restart(filters1=s["filters"][0], filters2=s["filters"][1], kernel_size=s["kernel_size"],
                          first_layer=s["first_layer"])
        self.demo.load_weights(model, name)
        self._on_new_demo()
        self.redraw()
        return self.live.say(f"Loaded {name}: {self.demo.describe()}, shown at step 0 of a new run.")

    # ------------------------------------------------------------------------------------------
    # model state
    # ------------------------------------------------------------------------------------------

    def _new_demo(self) -> CNNDemo:
        return CNNDemo(dataset=self.dataset, n_samples=int(self.n_samples), variations=tuple(self.variations),
                       filters=(int(self.filters1), int(self.filters2)), kernel_size=int(self.kernel_size),
                       lr=float(self.lr), batch_size=int(self.batch_size), first_layer=self.first_layer,
                       seed=int(self.seed))

    def _reset_demo(self) -> None:
        self._keep_previous()
        self.demo = self._new_demo()
        self._on_new_demo()

    def _keep_previous(self) -> None:
        """Remember this run's test-accuracy curve, to compare the next run with (same dataset only)."""
        h = self.demo.history
        if self.demo.dataset != self.dataset:
            self._previous = None
        elif self.demo.step_count > 0 and len(h["step"]) > 1:
            self._previous = dict(step=list(h["step"]), test_acc=list(h["test_acc"]),
                                  label=FIRST_LAYER_NAMES[self.demo.first_layer])

    def _on_new_demo(self) -> None:
        d = self.demo
        shapes = d.dataset == "shapes"
        self._variations.visible = self._widgets["n_samples"].visible = shapes
        self._digits_note.visible = not shapes
        self._digits_note.object = ui.caption("cnn-digits-note", f"The UCI handwritten digits: all "
                                              f"{len(d.y_train) + len(d.y_test):,} images of {d.image_size}×{d.image_size} pixels.")
        prev = self._previous
        self._prev_src.data = (dict(step=prev["step"], test_acc=prev["test_acc"]) if prev
                               else dict(step=[], test_acc=[]))
        self.acc_fig.legend[0].items[0].visible = bool(prev)
        if prev:
            self.acc_fig.legend[0].items[0].label = bk_value(f"previous run, test ({prev['label'].lower()})")
        self._arch.object = ui.caption("cnn-architecture", escape(d.describe()))
        self.views.new_demo()

    # ------------------------------------------------------------------------------------------
    # drawing
    # ------------------------------------------------------------------------------------------

    def redraw(self) -> None:
        """Everything (after Pause, Step, Reset, a recovery); the status line first, so a Pause shows at once."""
        self.live.update_status()
        self.views.draw_kernels()
        self.views.draw_maps()
        self.views.features.draw()
        self._draw_curves()

    def _draw_curves(self) -> None:
        """Evaluate, then the loss and accuracy curves, the numbers and the confusion matrix."""
        d = self.demo
        t0 = time.perf_counter()
        row = self._row = d.evaluate()
        self._curves.every = max(CURVES_EVERY, (time.perf_counter() - t0) / EVAL_SHARE)
        h, shown = d.history, self._curve_src.data["step"]
        if len(shown) == len(h["step"]) - 1 and (not len(shown) or shown[-1] < row["step"]):
            self._curve_src.stream({k: [max(row[k], LOSS_FLOOR) if "loss" in k else row[k]] for k in CURVES})
        else:                                   # a new run, or a recovery dropped the steps after it
            self._curve_src.data = {k: [max(v, LOSS_FLOOR) for v in h[k]] if "loss" in k else list(h[k])
                                    for k in CURVES}
        self.views.draw_confusion()
        self._draw_stats()

    def _draw_stats(self) -> None:
        row, d = self._row, self.demo
        if row is None:
            return
        stats = [("cnn-step", "Step", row["step"], f"{row['step']:,}"),
                 ("cnn-epoch", "Epoch", d.epoch, f"{d.epoch:.1f}"), *ui.train_test_stats(row, "cnn-")]
        self._stats.object = ui.stats_html(stats, testid="cnn-stats", step=row["step"],
                                           test_acc=ui.exact(row["test_acc"])) + ui.stats_line(
            f"{len(d.y_train):,} training and {len(d.y_test):,} test images; {d.batch_size} per step, learning "
            f"rate {d.lr:g}.")

    # ------------------------------------------------------------------------------------------
    # widgets and layout
    # ------------------------------------------------------------------------------------------

    def _build_curves(self) -> None:
        self._curve_src = ColumnDataSource({k: [] for k in CURVES})
        loss = ui.figure(width=380, height=220, y_axis_type="log", x_range=DataRange1d(start=0), grid=True)
        ui.train_test_lines(loss, self._curve_src, "train_loss", "test_loss")
        loss.yaxis.axis_label = "cross-entropy loss"
        acc = ui.figure(width=380, height=220, y_range=Range1d(0, 1.02), x_range=DataRange1d(start=0), grid=True)
        self._prev_src = ColumnDataSource(dict(step=[], test_acc=[]))
        acc.line("step", "test_acc", source=self._prev_src, color="#94a3b8", line_width=2, line_dash="dotted",
                 legend_label="previous run (test)")
        ui.train_test_lines(acc, self._curve_src, "train_acc", "test_acc")
        acc.yaxis.axis_label = "accuracy"
        for f in (loss, acc):
            f.xaxis.axis_label = "step"
            ui.legend_above(f, spacing=12)
        self.loss_fig, self.acc_fig = loss, acc

    def _build_layout(self):
        W, p = pn.widgets, self.param
        w = self._widgets = {
            "dataset": ui.select(p.dataset, "Dataset", DATASET_LABELS),
            "variations": W.CheckBoxGroup.from_param(p.variations, options=VARIATION_LABELS, inline=False,
                                                     sizing_mode="stretch_width"),
            "n_samples": ui.select(p.n_samples, "Images (train + test)", {f"{n:,}": n for n in SAMPLE_SIZES}),
            "filters1": W.IntSlider.from_param(p.filters1, label="Filters, layer 1"),
            "filters2": W.IntSlider.from_param(p.filters2, label="Filters, layer 2"),
            "kernel_size": ui.toggle(p.kernel_size, {"3×3": 3, "5×5": 5}),
            "first_layer": ui.select(p.first_layer, "First-layer kernels", FIRST_LAYER_LABELS),
            "lr": ui.select(p.lr, "Learning rate"),
            "batch_size": ui.select(p.batch_size, "Batch size"),
            "seed": ui.seed_input(self, "cnn-seed-note"),
        }
        self._digits_note = ui.prose(sizing_mode=None, visible=False)
        self._variations = pn.Column(ui.muted("Variations of the shapes"), w["variations"], margin=0,
                                     sizing_mode="stretch_width")
        self._stats = ui.stats_pane()
        self._arch = ui.prose()
        return ui.screen(
            [self.live,
             ui.heading("Training"), w["lr"], w["batch_size"],
             ui.heading("Data"), w["dataset"], self._digits_note, w["n_samples"], self._variations, w["seed"],
             ui.heading("Network"), w["filters1"], w["filters2"], ui.muted("Kernel size"), w["kernel_size"],
             w["first_layer"],
             ui.heading("Model and history"), self.takeaway],
            [ui.prose(INTRO), self._stats, self._arch,
             pn.Row(pn.pane.Bokeh(self.loss_fig), pn.pane.Bokeh(self.acc_fig)), self.views])
