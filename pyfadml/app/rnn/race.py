"""Tab "Vanishing & exploding gradients": an RNN and an LSTM trained side by side on the memory task.

Everything drawn comes from :class:`pyfadml.demos.gradients.GradientRace`: heatmaps of ``||dL/dh_t||`` (x: t,
y: training step), the latest step's profile, both test accuracies. Play / Pause / Step / Reset, clipping and
divergence are the shared :class:`~pyfadml.app.live.LiveTraining` (key ``rnn-race``). The race's own
lesson, the guard that refuses an exploding update, is a divergence like any other: the box offers to go on
with clipping ("clip and continue") and, for an exploding update, to take the step anyway
(:meth:`RaceTab.force_step`, added to the box with :meth:`~pyfadml.app.live.LiveTraining.add_recovery`).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import panel as pn
import param
from bokeh.models import ColorBar, ColumnDataSource, FixedTicker, LinearColorMapper, Range1d, Span
from bokeh.palettes import Viridis256

from pyfadml.app import theme, ui
from pyfadml.app.recovery import RECOVERY_CLIP
from pyfadml.app.rnn.parts import CLIP, live_training
from pyfadml.app.workio import TakeAway
from pyfadml.demos.gradients import DEFAULT_LR, MODELS, ExplodingGradientError, GradientRace
from pyfadml.demos.race_inside import log_decades

LEARNING_RATES = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0]
OPTIMIZERS = {"Adam": "adam", "SGD": "sgd"}
COLORS = {"RNN": "#D55E00", "LSTM": "#0072B2"}
HEATMAP_ROWS = 240            # training steps shown in a gradient heatmap (evenly spread over the run)
# colour ranges of the heatmaps: log10 ||dL/dh_t|| (absolute), log10 ||dL/dh_t|| / ||dL/dh_T|| (relative)
SCALES = {"relative": (-6.0, 2.0), "absolute": (-8.0, 4.0)}
LOG_LOW, LOG_HIGH = SCALES["absolute"]
COLOURS = {"Relative to t = T": "relative", "Absolute": "absolute"}
HEAT_TITLES = {"relative": "{name}: log10 ||dL/dh_t|| / ||dL/dh_T||", "absolute": "{name}: log10 ||dL/dh_t||"}
# One step of both models takes ~55 ms in the page (tests/bench/bench_rnn.py): frames of a few steps each,
# so the fixed cost of a frame (status line, sending it to the page) is paid less often.
BURST, PERIOD = 0.15, 0.2

INTRO = """
<p class="secondary">Backpropagation through time sends the gradient from the loss at the last step back to
every earlier \\(h_t\\); each step back multiplies it by \\(\\mathrm{diag}(1-h_t^2)\\,W_h^T\\). Over \\(T\\)
steps it <b>vanishes</b> when that factor is small and <b>explodes</b> when it is large. The LSTM's cell
state \\(c_t = f_t \\odot c_{t-1} + i_t \\odot g_t\\) carries it back multiplied only by the forget gate.</p>
<p>Both networks learn the same task with the same data, optimizer and clipping: <i>remember the first of
T symbols (one of 8) until the last step</i>; the other T − 1 symbols are random distractors.</p>
"""

TRY = """<div class="secondary">
<p class="muted"><b>Vanishing:</b> press Play with the defaults. The RNN's gradient fades towards t = 1
(dark on the left; its ||dL/dh<sub>1</sub>|| / ||dL/dh<sub>T</sub>|| falls far below 1), the LSTM's stays alive, and
the LSTM learns the task long before the RNN.</p>
<p class="muted"><b>Exploding:</b> choose SGD, set the recurrent scale to 5 and gradient clipping to off,
press Play. (Adam divides each step by the running size of the gradient, which hides an explosion; with SGD
the step is learning rate × gradient.)</p></div>
"""


# the ratio's label is notation (h, not H): not upper-cased like the other labels
REACH_CSS = '.stat:has([data-testid$="-reach"]) .label { text-transform: none; font-size: 13px; }'
HEAT_TEXT = """<h3>Gradient reaching each time step</h3><p class='muted secondary'>Each row is one training
step (newest at the top); each column a time step t = 1 … T. Colour (<i>relative</i>, the default): log<sub>10</sub>
of ||dL/dh<sub>t</sub>|| / ||dL/dh<sub>T</sub>||, the share of the gradient at the loss that reaches step t
(batch means, from backpropagation through time, before clipping), so a model that has learned the task and
has small gradients everywhere still shows how far back they reach. Dark on the left: the gradient vanished
before reaching the first inputs; yellow: it grew (exploded). <i>Absolute</i> colours log<sub>10</sub>
||dL/dh<sub>t</sub>|| itself. The numbers ||dL/dh<sub>1</sub>|| / ||dL/dh<sub>T</sub>|| above are the
latest step's first column.</p>"""


class RaceTab(ui.View):
    """Controls on the left; numbers, what happened, the two heatmaps, the profile and the accuracies."""

    seq_len = param.Integer(default=40, bounds=(5, 100))
    optimizer = param.Selector(default="adam", objects=list(OPTIMIZERS.values()))
    recurrent_scale = param.Number(default=1.0, bounds=(0.25, 6.0), step=0.25)
    lr = param.Selector(default=DEFAULT_LR["adam"], objects=LEARNING_RATES)
    colour = param.Selector(default="relative", objects=list(COLOURS.values()),
                            doc="Heatmap colour: each row relative to its last time step, or absolute norms.")

    def __init__(self, *, on_redraw: Callable[[], None] = lambda: None, **params):
        super().__init__(**params)
        self.on_redraw = on_redraw
        self.demo = self._new_demo()
        self._row: dict | None = None
        self._heat_info = {m: (0, 0) for m in MODELS}
        self._build_plots()
        self.live = live_training("rnn-race", self, resets=("seq_len", "recurrent_scale"), burst=BURST, period=PERIOD)
        self.takeaway = TakeAway("race", models={"RNN": lambda: self.demo.models["RNN"],
                                                 "LSTM": lambda: self.demo.models["LSTM"]},
                                 step=lambda: self.demo.step_count, history=lambda: self.demo.history)
        self.live.add_recovery("Take the step anyway", self._take_step_anyway,
                               when=lambda exc: isinstance(exc, ExplodingGradientError),
                               css_class="live-recover-force")
        self._build_layout()
        self._on_new_demo()

    # ------------------------------------------------------------------------------------------
    # the demo, and the ways out of an explosion
    # ------------------------------------------------------------------------------------------

    def _new_demo(self) -> GradientRace:
        scale = round(float(self.recurrent_scale) * 4) / 4      # the slider's steps of 0.25, without float drift
        return GradientRace(T=int(self.seq_len), recurrent_scale=scale, clip_norm=CLIP, optimizer=self.optimizer,
                            lr=float(self.lr))

    def _reset_demo(self) -> None:
        self.demo = self._new_demo()
        self._on_new_demo(redraw=False)

    @param.depends("optimizer", watch=True)
    def _optimizer_changed(self) -> None:
        self.lr = DEFAULT_LR[self.optimizer]          # each optimizer starts at its own default
        self.live.reset()

    @param.depends("colour", watch=True)
    def _colour_changed(self) -> None:
        self._set_scale()
        self._draw_views()

    def _set_scale(self) -> None:
        low, high = SCALES[self.colour]
        self._log_mapper.low, self._log_mapper.high = low, high
        self._bar.ticker.ticks = list(range(int(low), int(high) + 1, 2))
        for name, f in self.heat_figs.items():
            f.title.text = HEAT_TITLES[self.colour].format(name=name)

    def _take_step_anyway(self) -> str:
        rec = self.demo.step(1, guard=False)
        gn = rec["RNN"]["grad_norm"] if rec and "RNN" in rec else math.nan
        return (f"Took step {self.demo.step_count:,} without the guard (RNN gradient norm {ui.num(gn)}): watch "
                f"what it did to the RNN. Reset to start again.")

    def force_step(self, event=None) -> None:
        """Take the refused (exploding) step anyway, to see what it does to the RNN."""
        self.live.run_recovery(self._take_step_anyway)

    def clip_and_continue(self, event=None) -> None:
        """Go on from the last good weights with gradient clipping at 1, and play."""
        self.live.recover(clip_norm=RECOVERY_CLIP)
        self.live.play()

    # ------------------------------------------------------------------------------------------
    # plots (built once)
    # ------------------------------------------------------------------------------------------

    def _build_plots(self) -> None:
        self._log_mapper = LinearColorMapper(palette=Viridis256, low=LOG_LOW, high=LOG_HIGH, nan_color="#e2e8f0")
        self._heat_src: dict[str, ColumnDataSource] = {}
        self.heat_figs = {}
        for name in MODELS:
            f = ui.figure(width=400, height=280, x_range=Range1d(0.5, 20.5), y_range=Range1d(0, 1),
                          title=HEAT_TITLES[self.colour].format(name=name))
            f.title.text_color = COLORS[name]
            f.title.text_font_size = "14px"
            src = ColumnDataSource(dict(image=[np.full((1, 1), np.nan)], x=[0.5], y=[0], dw=[20], dh=[1]))
            f.image("image", x="x", y="y", dw="dw", dh="dh", source=src, color_mapper=self._log_mapper)
            f.xaxis.axis_label = "time step t = 1 … T (the loss is at t = T)"
            f.yaxis.axis_label = "training step"
            self._heat_src[name] = src
            self.heat_figs[name] = f
        bar = self._bar = ColorBar(color_mapper=self._log_mapper, width=10, title="log10",
                                   title_text_font_size="11px", major_label_text_font_size="10px",
                                   ticker=FixedTicker(ticks=list(range(-8, 5, 2))))
        self.heat_figs["LSTM"].add_layout(bar, "right")
        self._set_scale()
        self.heat_figs["LSTM"].width = 450

        # explicit ranges: Bokeh finds no range in NaN data (no step yet) and logs a warning at every change
        prof = ui.figure(width=430, height=260, y_axis_type="log", grid=True, x_range=Range1d(0.5, 40.5),
                         y_range=Range1d(1e-3, 10.0),
                         title="Latest step: ||dL/dh_t|| against t")
        self._profile_src = ColumnDataSource(dict(t=[], RNN=[], LSTM=[]))
        ui.legend(prof, self._model_lines(prof, "t", self._profile_src, dots=True), "right", border_line_color=None,
                  padding=2)
        prof.xaxis.axis_label = "time step t = 1 … T"
        self.profile_fig = prof

        acc = ui.figure(width=430, height=260, y_range=Range1d(0, 1.04), grid=True,
                        title="Test accuracy (dotted: chance)")
        self._acc_src = ColumnDataSource(dict(step=[], RNN=[], LSTM=[]))
        ui.legend(acc, self._model_lines(acc, "step", self._acc_src), "right", border_line_color=None, padding=2)
        self._chance = Span(location=0.5, dimension="width", line_color=theme.MUTED, line_dash="dotted",
                            line_width=1.5)
        acc.add_layout(self._chance)
        acc.xaxis.axis_label = "training step"
        self.acc_fig = acc

    @staticmethod
    def _model_lines(fig, x: str, source, dots: bool = False) -> dict:
        """A line per model (and its points, with ``dots``); returns the lines by name, for the legend."""
        lines = {}
        for name in MODELS:
            lines[name] = fig.line(x, name, source=source, color=COLORS[name], line_width=2.2)
            if dots:
                fig.scatter(x, name, source=source, color=COLORS[name], size=4)
        return lines

    # ------------------------------------------------------------------------------------------
    # drawing
    # ------------------------------------------------------------------------------------------

    def _on_new_demo(self, *, redraw: bool = True) -> None:
        r = self.demo
        row = self._row = r.evaluate()
        # the curve starts with this point: a range to find in no data makes Bokeh log a warning per change
        self._acc_src.data = dict(step=[row["step"]], RNN=[row["RNN_acc"]], LSTM=[row["LSTM_acc"]])
        self._chance.location = r.chance
        for f in (*self.heat_figs.values(), self.profile_fig):
            f.x_range.start, f.x_range.end = 0.5, r.T + 0.5
        if redraw:
            self.redraw()

    def redraw(self) -> None:
        """Everything (after Pause, Step, Reset, a divergence and a recovery), and the LSTM's gates tab."""
        self._evaluate()
        self._draw_views()
        self.on_redraw()

    def _evaluate(self) -> None:
        row = self._row = self.demo.evaluate()
        ui.stream_new(self._acc_src, dict(step=[row["step"]], RNN=[row["RNN_acc"]], LSTM=[row["LSTM_acc"]]))
        self._update_stats()

    def _draw_views(self) -> None:
        r = self.demo
        profile = {"t": list(range(1, r.T + 1))}
        for name in MODELS:
            hm = r.log_heatmap(name, relative=self.colour == "relative", max_rows=HEATMAP_ROWS,
                               floor=SCALES[self.colour][0])
            image = hm["image"] if hm["rows"] else np.full((1, r.T), np.nan)
            self._heat_src[name].data = dict(image=[image.astype(np.float32)], x=[0.5], y=[hm["low"]], dw=[r.T],
                                             dh=[hm["high"] - hm["low"]])
            y = self.heat_figs[name].y_range
            y.start, y.end = hm["low"], hm["high"]
            profile[name] = hm["profile"]
            self._heat_info[name] = (hm["rows"], hm["finite_cols"])
        self._profile_src.data = profile
        decades = log_decades([v for m in MODELS for v in profile[m]])     # the profile's log axis
        if decades is not None:
            self.profile_fig.y_range.start, self.profile_fig.y_range.end = decades
        self._update_stats()

    def _update_stats(self) -> None:
        r, row = self.demo, self._row
        if row is None:
            return
        exc = self.live.divergence
        gn = r.grad_norms(exc)             # one number for the stats and the message (issue 9, item 7)
        stats = [("race-step", "Step", r.step_count, f"{r.step_count:,}")]
        stats += [(f"race-{m.lower()}-acc", f"{m} test acc.", row[f"{m}_acc"], ui.pct(row[f"{m}_acc"]))
                  for m in MODELS]
        stats += [(f"race-{m.lower()}-gn", f"{m} grad. norm" + (f" (step {gn[m][0]})" if gn[m][0] else ""),
                   gn[m][1], ui.num(gn[m][1]) if gn[m][0] else "–") for m in MODELS]
        reach = {m: r.reach(m) for m in MODELS}
        stats += [(f"race-{m.lower()}-reach", f"{m} ‖∂L/∂h₁‖ / ‖∂L/∂h_T‖", reach[m],
                   ui.num(reach[m]) if math.isfinite(reach[m]) else "–") for m in MODELS]
        rows = {m: self._heat_info[m][0] for m in MODELS}
        cols = {m: self._heat_info[m][1] for m in MODELS}
        clip = r.clip_norm
        sps = r.steps_per_second()             # each model's own clock (tests/bench/bench_rnn.py reads it)
        self._stats.object = ui.stats_html(
            stats, testid="race-stats", step=r.step_count, T=r.T, scale=ui.exact(r.recurrent_scale),
            clip="off" if clip is None else ui.exact(clip), optimizer=r.optimizer_name, lr=ui.exact(r.lr),
            rnn_acc=ui.exact(row["RNN_acc"]), lstm_acc=ui.exact(row["LSTM_acc"]), eval_step=row["step"],
            chance=ui.exact(r.chance), rnn_rows=rows["RNN"], lstm_rows=rows["LSTM"], rnn_cols=cols["RNN"],
            lstm_cols=cols["LSTM"], exploded=int(isinstance(exc, ExplodingGradientError)),
            rnn_gn=ui.exact(gn["RNN"][1]), lstm_gn=ui.exact(gn["LSTM"][1]), colour=self.colour,
            rnn_reach=ui.exact(reach["RNN"]), lstm_reach=ui.exact(reach["LSTM"]),
            rnn_sps=ui.exact(sps["RNN"]), lstm_sps=ui.exact(sps["LSTM"])) + ui.stats_line(r.describe())
        self._message.object = ui.note_html(r.explain(exc) if exc is not None else "", testid="race-message")

    # ------------------------------------------------------------------------------------------
    # widgets and layout
    # ------------------------------------------------------------------------------------------

    def _build_layout(self) -> None:
        W, p = pn.widgets, self.param
        w = self._widgets = {
            "seq_len": W.IntSlider.from_param(p.seq_len, name="Sequence length T", step=5, throttled=True),
            "recurrent_scale": W.FloatSlider.from_param(p.recurrent_scale, name="Recurrent scale (RNN)",
                                                        step=0.25, format="0.00", throttled=True),
            "optimizer": ui.toggle(p.optimizer, OPTIMIZERS, name="Optimizer"),
            "lr": ui.select(p.lr, "Learning rate"),
            "colour": ui.toggle(p.colour, COLOURS, name="Heatmap colour"),
        }
        self._stats = ui.stats_pane(REACH_CSS, margin=(4, 5, 4, 5))
        self._message = ui.prose(css=ui.NOTE_CSS)
        self._layout = ui.screen(
            [self.live, ui.heading("The task"), w["seq_len"], ui.heading("The RNN"), w["recurrent_scale"],
             ui.heading("Training (both)"), w["optimizer"], w["lr"], ui.heading("Heatmap colour"), w["colour"],
             ui.heading("Models and history"), self.takeaway],
            [ui.prose(INTRO, math=True), self._stats, self._message,
             ui.prose(HEAT_TEXT),
             pn.Row(pn.pane.Bokeh(self.heat_figs["RNN"]), pn.pane.Bokeh(self.heat_figs["LSTM"])),
             pn.Row(pn.pane.Bokeh(self.profile_fig), pn.pane.Bokeh(self.acc_fig)),
             ui.prose(TRY, margin=(10, 5, 0, 5))])
