"""Screen 3 of "Convolution & CNN": the lecture's demerits of CNN, each shown by an experiment.

* *Requires a high amount of training examples*: :class:`pyfadml.demos.cnn_costs.DataHunger`, trained live
  (its own :class:`~pyfadml.app.live.LiveTraining`, key ``cnn-hunger``): test accuracy against the
  training-set size, one point per size.
* *Training time is high*: :class:`pyfadml.demos.cnn_costs.CNNvsMLP` (key ``cnn-vs-mlp``): a CNN and an MLP
  on the same images to the same test accuracy, their parameters, steps and seconds as measured in this page;
  and :func:`~pyfadml.demos.cnn_costs.cost_by_image_size`.
* *Loss of explainability*: the occlusion map lives beside the live CNN's feature maps (screen 2), with the
  lecture's application, breast-cancer detection.
"""
from __future__ import annotations

import math
from html import escape

import panel as pn
from bokeh.models import ColumnDataSource, Range1d, Span

from pyfadml.app import theme, ui
from pyfadml.app.cnn.helpers import SECTION_CSS
from pyfadml.app.live import LiveTraining, Refresh
from pyfadml.demos.cnn_costs import CNNvsMLP, DataHunger, cost_by_image_size

COLORS = {"CNN": "#0072B2", "MLP": "#D55E00"}
DRAW_EVERY = 0.4

INTRO = """
<h3>Demerits of CNN, measured</h3>
<p class="secondary">The lecture lists three: <b>training time is high</b>, it <b>requires a high amount of
training examples</b>, and the <b>explainability</b> aspect is lost. Each is an experiment here, on the shapes
of screen 2 with every variation switched on (rotation, shift, brightness, shades, occlusion, noise). The third,
an occlusion map of what the network looks at, is on screen 2 beside the feature maps, with the lecture's
application: breast-cancer detection.</p>
"""

HUNGER_TEXT = """<h3>1. Many training examples</h3><p class="muted secondary">The same CNN (the same starting
weights, 150 mini-batches of 32) trained from scratch on 30, 60, 120, 300 and 1,200 images, each time tested on
the same 400 images it never saw. A small training set is learned by heart (train accuracy near 100%) and
generalises badly: to cope with rotation, shift, shades and occlusion the kernels need many examples of each.
Press <b>Play</b> under "Many examples": the curve grows one point per size.</p>"""

RACE_TEXT = """<h3>2. Training time</h3><p class="muted secondary">A CNN and a fully connected network (MLP:
256 pixels → 64 ReLU → 6) learn the same 1,200 images from the same mini-batches until each reaches {target}
test accuracy. A CNN step slides every kernel over every position of every image: each of its weights is used
about 30 times per image (once per position), each MLP weight once. Press <b>Play</b> under "Training time";
steps, seconds (each model's own training time) and milliseconds per step are measured in this page.</p>"""

COST_TEXT = """<p class="muted secondary"><b>And for larger images?</b> The work of one forward pass
(multiply-adds per image) grows with the number of pixels for both, but the CNN does
<i>filters × kernel size²</i> of them at every pixel of every layer, while its parameters barely grow (only the
last dense layer sees the pixels), so each of its weights is used more and more often per image (last
column; the MLP uses each weight about once); the MLP's parameters grow with the pixels instead. Real CNNs have dozens of
layers and hundreds of filters on images of 224×224 and more: days of training on GPUs.</p>"""


def cost_table_html() -> str:
    rows = cost_by_image_size()
    body = "".join(
        f"<tr data-size='{r['size']}'><th>{r['size']}×{r['size']}</th><td>{r['cnn_params']:,}</td>"
        f"<td>{r['mlp_params']:,}</td><td>{r['cnn_macs']:,}</td><td>{r['mlp_macs']:,}</td>"
        f"<td>{r['cnn_macs'] / r['mlp_macs']:.1f}×</td><td>{r['cnn_macs'] / r['cnn_params']:.0f}</td></tr>"
        for r in rows)
    return ("<table class='cm' data-testid='cnn-cost-table'><tr><th class='corner'>image</th><th>CNN params</th>"
            "<th>MLP params</th><th>CNN multiply-adds</th><th>MLP multiply-adds</th><th>CNN / MLP work</th>"
            "<th>CNN work per param</th></tr>"
            f"{body}</table>")


class DemeritsScreen(ui.View):
    """Two live experiments (data hunger, CNN against MLP) and the cost table."""

    def __init__(self, **params):
        super().__init__(**params)
        self.hunger = DataHunger()
        self.race = CNNvsMLP()
        self._build_plots()
        self.hunger_live = LiveTraining(
            "cnn-hunger", demo=lambda: self.hunger, reset=self._reset_hunger, redraw=self._draw_hunger,
            refresh=[Refresh(self._draw_hunger, every=DRAW_EVERY)], max_steps=lambda: self.hunger.remaining(),
            burst=0.06, period=0.12)
        self.race_live = LiveTraining(
            "cnn-vs-mlp", demo=lambda: self.race, reset=self._reset_race, redraw=self._draw_race,
            refresh=[Refresh(self._draw_race, every=DRAW_EVERY)],
            max_steps=lambda: 0 if self.race.done else None, burst=0.06, period=0.12)
        self._hunger_stats, self._race_stats = ui.prose(css=SECTION_CSS), ui.prose(css=SECTION_CSS)
        self._layout = self._build_layout()
        self._draw_hunger()
        self._draw_race()

    @property
    def live_controllers(self) -> tuple[LiveTraining, ...]:
        return (self.hunger_live, self.race_live)

    def _reset_hunger(self) -> None:
        self.hunger = DataHunger()

    def _reset_race(self) -> None:
        self.race = CNNvsMLP()

    # ------------------------------------------------------------------------------------------
    # plots
    # ------------------------------------------------------------------------------------------

    def _build_plots(self) -> None:
        f = ui.figure(width=430, height=250, x_axis_type="log", x_range=Range1d(20, 1800), y_range=Range1d(0, 1.02),
                      grid=True, title="Test accuracy against the training-set size")
        self._hunger_src = ColumnDataSource(dict(size=[], test=[], train=[]))
        test = f.line("size", "test", source=self._hunger_src, color=theme.TEST_LOSS_COLOR, line_width=2.2)
        f.scatter("size", "test", source=self._hunger_src, color=theme.TEST_LOSS_COLOR, size=8)
        train = f.line("size", "train", source=self._hunger_src, color=theme.TRAIN_LOSS_COLOR, line_width=1.5,
                       line_dash="dashed")
        f.scatter("size", "train", source=self._hunger_src, color=theme.TRAIN_LOSS_COLOR, size=5)
        ui.legend(f, {"test (400 unseen images)": test, "train": train}, location="bottom_right",
                  background_fill_alpha=0.8)
        f.xaxis.axis_label = "training images (log scale)"
        f.xaxis.ticker = [30, 60, 120, 300, 600, 1200]
        f.yaxis.axis_label = "accuracy"
        self.hunger_fig = f

        g = ui.figure(width=430, height=250, x_range=Range1d(0, 5), y_range=Range1d(0, 1.02), grid=True,
                      title="Test accuracy against training seconds")
        self._race_src = {m: ColumnDataSource(dict(seconds=[], acc=[], step=[])) for m in CNNvsMLP.MODELS}
        items = {}
        for m, src in self._race_src.items():
            items[m] = g.line("seconds", "acc", source=src, color=COLORS[m], line_width=2.2)
            g.scatter("seconds", "acc", source=src, color=COLORS[m], size=4)
        ui.legend(g, items, location="bottom_right", background_fill_alpha=0.8)
        self._target = Span(location=self.race.target, dimension="width", line_color=theme.MUTED,
                            line_dash="dotted", line_width=1.5)
        g.add_layout(self._target)
        g.xaxis.axis_label = "seconds of training (each model's own)"
        self.race_fig = g

    # ------------------------------------------------------------------------------------------
    # drawing
    # ------------------------------------------------------------------------------------------

    def _draw_hunger(self) -> None:
        h = self.hunger
        pts = h.points
        if len(self._hunger_src.data["size"]) != len(pts):
            self._hunger_src.data = dict(size=[p["size"] for p in pts], test=[p["test_acc"] for p in pts],
                                         train=[p["train_acc"] for p in pts])
        if h.done and self.hunger_live.playing:
            self.hunger_live.pause()
            return
        now = (f"training on <b>{h.current_size:,}</b> images: step {h.trainer.step_count} of {h.steps}"
               if not h.done else "all sizes trained")
        cells = "".join(f"<td>{ui.pct(p['test_acc'])}</td>" for p in pts)
        heads = "".join(f"<th>{p['size']:,}</th>" for p in pts)
        self._hunger_stats.object = (
            "<div class='summary' data-testid='hunger-stats' "
            + ui.attrs(points=len(pts), sizes=",".join(str(p["size"]) for p in pts),
                       test_acc=",".join(ui.exact(p["test_acc"]) for p in pts), done=int(h.done), step=h.step_count)
            + f">{now} ({h.step_count:,} of {h.total_steps:,} steps).</div>"
            + (f"<table class='cm'><tr><th class='corner'>training images</th>{heads}</tr>"
               f"<tr><th class='corner'>test accuracy</th>{cells}</tr></table>" if pts else ""))

    def _draw_race(self) -> None:
        r = self.race
        xmax = 1.0
        for m, src in self._race_src.items():
            rows = r.curve[m]
            if len(src.data["step"]) != len(rows):
                src.data = dict(seconds=[x["seconds"] for x in rows], acc=[x["test_acc"] for x in rows],
                                step=[x["step"] for x in rows])
            if rows:
                xmax = max(xmax, rows[-1]["seconds"])
        self.race_fig.x_range.end = 1.1 * xmax
        if r.done and self.race_live.playing:
            self.race_live.pause()
            return
        ms = r.ms_per_step()
        cells, data = [], {}
        for m in r.MODELS:
            got = r.reached[m]
            last = r.curve[m][-1] if r.curve[m] else None
            data[m] = got
            steps = f"<b>{got['step']:,}</b>" if got else (f"not yet ({last['step']:,}: {ui.pct(last['test_acc'])})"
                                                            if last else "–")
            secs = f"<b>{ui.num(got['seconds'])} s</b>" if got else "–"
            cells.append(f"<tr data-model='{m}'><th>{m}</th><td>{r.params[m]:,}</td><td>{steps}</td><td>{secs}</td>"
                         f"<td>{ui.num(ms[m]) if math.isfinite(ms[m]) else '–'}</td></tr>")
        verdict = r.verdict()
        ratio = f"<p data-testid='race-verdict'>{escape(verdict)}</p>" if verdict else ""
        attrs = ui.attrs(done=int(r.done), step=r.step_count,
                         cnn_step=data["CNN"]["step"] if data["CNN"] else "", mlp_step=data["MLP"]["step"] if data["MLP"] else "",
                         cnn_seconds=ui.exact(data["CNN"]["seconds"]) if data["CNN"] else "",
                         mlp_seconds=ui.exact(data["MLP"]["seconds"]) if data["MLP"] else "",
                         cnn_params=r.params["CNN"], mlp_params=r.params["MLP"],
                         cnn_ms=ui.exact(ms["CNN"]), mlp_ms=ui.exact(ms["MLP"]))
        self._race_stats.object = (
            f"<div class='summary' data-testid='race-costs' {attrs}>"
            f"<table class='cm'><tr><th class='corner'>model</th><th>parameters</th><th>steps to "
            f"{ui.pct(r.target, 0)}</th><th>seconds</th><th>ms per step</th></tr>{''.join(cells)}</table>{ratio}</div>")

    # ------------------------------------------------------------------------------------------
    # layout
    # ------------------------------------------------------------------------------------------

    def _build_layout(self):
        return ui.screen(
            [ui.heading("Many examples", 0), self.hunger_live, ui.heading("Training time", 10), self.race_live],
            [ui.prose(INTRO),
             pn.Row(pn.Column(ui.prose(HUNGER_TEXT), self._hunger_stats, width=430), pn.pane.Bokeh(self.hunger_fig),
                    sizing_mode="stretch_width"),
             pn.Row(pn.Column(ui.prose(RACE_TEXT.format(target=ui.pct(self.race.target, 0))), self._race_stats,
                              width=430), pn.pane.Bokeh(self.race_fig), sizing_mode="stretch_width"),
             ui.prose(COST_TEXT), ui.prose(cost_table_html(), css=SECTION_CSS, sizing_mode=None)])
