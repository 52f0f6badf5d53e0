"""Section "RNN & LSTM": the three modes trained live, vanishing/exploding gradients, and the LSTM's gates.

Three tabs, each driven by a demo of :mod:`pyfadml.demos` (this module only draws):

* **Three modes** (:class:`~pyfadml.demos.sequence.SequenceDemo`): the network unrolled over the time steps of
  one test sequence, with every ``x_t``, ``h_t`` and ``y_t``; loss curves; predictions against targets.
* **Vanishing & exploding gradients** (:class:`~pyfadml.demos.gradients.GradientRace`): an RNN and an LSTM
  trained side by side on the long-range memory task; heatmaps of ``||dL/dh_t||`` (x: t, y: training step);
  their test accuracies; sliders for T and the RNN's recurrent scale; clipping on/off and its threshold.
* **Inside the LSTM**: the race's LSTM on one test sequence: gates i, f, o and the cell state over time, and
  the lecture's gate diagram (inline SVG) labelled with the values at a chosen step and unit.

Live training is a periodic callback: each tick trains for at most :data:`BURST_SECONDS`, refreshes the
plots and yields, so the page (Python runs in a Web Worker) stays responsive. Only one of the two trainers
plays at a time. A DivergenceError (or the race's exploding-update guard) pauses and explains.
"""
from __future__ import annotations

import asyncio
import math
import time
from html import escape

import numpy as np
import panel as pn
import param
from bokeh.models import (
    ColorBar, ColumnDataSource, FixedTicker, HoverTool, Legend, LegendItem, LinearColorMapper, Range1d, Span,
)
from bokeh.palettes import Viridis256
from bokeh.plotting import figure

from pyfadml.app import theme
from pyfadml.demos.gradients import DEFAULT_LR, MODELS, DivergenceError, ExplodingGradientError, GradientRace
from pyfadml.demos.sequence import MODE_INFO, MODES, SequenceDemo

BURST_SECONDS = 0.035
PERIOD_MS = 40
EVAL_EVERY = 1.5              # seconds between test-set evaluations while playing
DRAW_EVERY = 0.3              # seconds between plot refreshes while playing
HEATMAP_ROWS = 240            # training steps shown in a gradient heatmap (evenly spread over the run)
LOG_LOW, LOG_HIGH = -8.0, 4.0  # colour range of log10 ||dL/dh_t||
EXAMPLES_M2O = 16             # test sentences in the many-to-one prediction plot

SEQ_LEARNING_RATES = [0.001, 0.003, 0.01, 0.03, 0.1]
RACE_LEARNING_RATES = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3]
RACE_OPTIMIZERS = {"Adam": "adam", "SGD": "sgd"}
CLIP_THRESHOLDS = [0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0]
MODE_LABELS = {"Many-to-one: sentiment": "many-to-one", "One-to-many: generate a wave": "one-to-many",
               "Many-to-many: delayed copy": "many-to-many"}
OPT_NAMES = {"adam": "Adam", "sgd": "SGD", "momentum": "SGD with momentum"}
RACE_COLORS = {"RNN": "#D55E00", "LSTM": "#0072B2"}
GATE_NAMES = {"i": "input gate i", "f": "forget gate f", "o": "output gate o", "c": "cell state c"}

INTRO = """
<h2>RNN &amp; LSTM</h2>
<p>A recurrent network <b>stores past information in an internal memory</b>, its hidden state
\\(h_t = \\tanh(x_t W_x + h_{t-1} W_h + b)\\), updated after each element of the sequence. Unfolded over time
it is a deep network with one layer per time step, all sharing the same weights, and it learns by
backpropagation through time.</p>
"""

RACE_INTRO = """
<p>Backpropagation through time sends the gradient from the loss at the last step back to every earlier
\\(h_t\\); each step back multiplies it by \\(\\mathrm{diag}(1-h_t^2)\\,W_h^T\\). Over \\(T\\) steps it
<b>vanishes</b> when that factor is small and <b>explodes</b> when it is large. The LSTM's cell state
\\(c_t = f_t \\odot c_{t-1} + i_t \\odot g_t\\) carries it back multiplied only by the forget gate.
Both networks below learn the same task with the same data, optimizer and clipping: <i>remember the
first of T symbols (one of 8) until the last step</i>; the other T − 1 symbols are random distractors.</p>
"""

RACE_TRY = """
<p class="muted"><b>Vanishing:</b> press Play with the defaults. The RNN's gradient fades towards t = 0
(dark on the left), the LSTM's stays alive, and the LSTM learns the task long before the RNN.</p>
<p class="muted"><b>Exploding:</b> choose SGD, set the recurrent scale to 5, untick clipping, press Play.
(Adam divides each step by the running size of the gradient, which hides an explosion; with SGD the step
is learning rate × gradient.)</p>
"""

LSTM_INTRO = """
<p>An LSTM comprises <b>three gates</b>, each a sigmoid layer followed by element-wise multiplication: the
<b>input gate</b> \\(i_t\\) decides how much of the candidate \\(g_t\\) to add to the cell state, the
<b>forget gate</b> \\(f_t\\) how much of the old cell state to keep, the <b>output gate</b> \\(o_t\\) how
much of it to show as \\(h_t = o_t \\odot \\tanh(c_t)\\). These are the gates of the LSTM trained in the
previous tab, on one test sequence of the memory task.</p>
"""


def _style(fig) -> None:
    for ax in (fig.xaxis, fig.yaxis):
        ax.axis_label_text_font_style = "normal"
        ax.axis_label_text_color = theme.MUTED
        ax.major_label_text_color = theme.MUTED
        ax.axis_line_color = theme.RULE
        ax.major_tick_line_color = theme.RULE
        ax.minor_tick_line_color = None
    fig.xgrid.visible = False
    fig.ygrid.grid_line_color = theme.RULE


def _figure(**kw):
    base = dict(tools="", toolbar_location=None, background_fill_color=theme.PANEL_BG,
                border_fill_color=theme.PANEL_BG, outline_line_color=theme.RULE)
    base.update(kw)
    return figure(**base)


def _hex_colors(values: np.ndarray, scale: float = 1.0) -> list[str]:
    rgb = theme.diverging_rgb(np.asarray(values, dtype=np.float64) / scale)
    rgb = np.clip(np.round(rgb), 0, 255).astype(np.int64).reshape(-1, 3)
    return ["#%02x%02x%02x" % tuple(c) for c in rgb]


def _fmt(v: float, digits: int = 3) -> str:
    if v is None or not math.isfinite(v):
        return "—"
    return f"{v:.{digits}g}"


def _num(v: float, sign: str = "") -> str:
    """Two decimals with a typographic minus (``sign="+"`` also shows the plus)."""
    return f"{v:{sign}.2f}".replace("-", "\u2212")


def _stat(key: str, label: str, value, text: str) -> str:
    return (f'<div class="stat"><span class="label">{label}</span>'
            f'<span class="value" data-testid="{key}" data-value="{value!r}">{text}</span></div>')


# ---------------------------------------------------------------------------------------------
# the lecture's gate diagram, as inline SVG (no scripts, no external images)
# ---------------------------------------------------------------------------------------------

def lstm_diagram_svg(v: dict | None, *, t: int = 0, unit: int = 0) -> str:
    """The LSTM cell (cell-state line on top, four interacting layers below) labelled with the values
    ``v = {"x", "h_prev", "c_prev", "i", "f", "o", "g", "c", "h"}`` of one unit at one time step."""
    def val(k):
        return "" if v is None else f" = {v[k]:+.2f}".replace("-", "−")

    def gate(x, label, name, color):
        return (f'<rect x="{x - 26}" y="176" width="52" height="34" rx="6" fill="{color}" stroke="#0f172a" '
                f'stroke-width="1.2"/><text x="{x}" y="198" class="op">{label}</text>'
                f'<text x="{x}" y="232" class="lab" data-gate="{name}">{name}<tspan class="num">{val(name)}'
                f'</tspan></text>')

    def op(x, y, sym):
        return (f'<circle cx="{x}" cy="{y}" r="13" fill="#fff7ed" stroke="#0f172a" stroke-width="1.2"/>'
                f'<text x="{x}" y="{y + 5}" class="op">{sym}</text>')

    line = 'stroke="#334155" stroke-width="1.6" fill="none" marker-end="url(#arrow)"'
    sig, tanh_c = "#dbeafe", "#fde68a"
    return f"""
<svg viewBox="0 0 640 330" width="620" role="img" aria-label="LSTM cell diagram" data-testid="lstm-diagram"
     data-t="{t}" data-unit="{unit}" xmlns="http://www.w3.org/2000/svg">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7"
  orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#334155"/></marker></defs>
<style>
 text {{ font-family: system-ui, sans-serif; font-size: 13px; fill: #0f172a; text-anchor: middle; }}
 .op {{ font-size: 15px; font-weight: 600; }}
 .lab {{ font-size: 12px; fill: #334155; }}
 .num {{ font-weight: 700; fill: #0f172a; }}
 .big {{ font-size: 13px; font-weight: 600; }}
</style>
<rect x="60" y="20" width="460" height="260" rx="14" fill="#f8fafc" stroke="#cbd5e1" stroke-width="1.5"/>
<path d="M 10 60 L 158 60" {line}/>
<path d="M 184 60 L 318 60" {line}/>
<path d="M 344 60 L 628 60" {line}/>
<text x="12" y="50" class="big" style="text-anchor:start">c<tspan baseline-shift="sub" font-size="10">t−1</tspan>{escape(val("c_prev"))}</text>
<text x="636" y="50" class="big" style="text-anchor:end">c<tspan baseline-shift="sub" font-size="10">t</tspan>{escape(val("c"))}</text>
{op(171, 60, "×")}
{op(331, 60, "+")}
{op(281, 120, "×")}
{op(451, 200, "×")}
<rect x="425" y="98" width="52" height="26" rx="13" fill="{tanh_c}" stroke="#0f172a" stroke-width="1.2"/>
<text x="451" y="116" class="op" style="font-size:12px">tanh</text>
<path d="M 451 60 L 451 96" {line}/>
<path d="M 451 124 L 451 185" {line}/>
<path d="M 10 300 L 100 300 L 100 260 L 391 260" stroke="#334155" stroke-width="1.6" fill="none"/>
<path d="M 100 320 L 100 300" stroke="#334155" stroke-width="1.6" fill="none"/>
<path d="M 151 260 L 151 212" {line}/>
<path d="M 231 260 L 231 212" {line}/>
<path d="M 311 260 L 311 212" {line}/>
<path d="M 391 260 L 391 212" {line}/>
<path d="M 151 176 L 171 74" {line}/>
<path d="M 231 176 L 270 129" {line}/>
<path d="M 311 176 L 292 131" {line}/>
<path d="M 281 106 L 326 73" {line}/>
<path d="M 417 193 L 437 198" {line}/>
<path d="M 464 200 L 560 200 L 560 300 L 628 300" {line}/>
<path d="M 560 200 L 560 14 L 600 14" {line}/>
{gate(151, "σ", "f", sig)}
{gate(231, "σ", "i", sig)}
{gate(311, "tanh", "g", tanh_c)}
{gate(391, "σ", "o", sig)}
<text x="12" y="292" class="big" style="text-anchor:start">h<tspan baseline-shift="sub" font-size="10">t−1</tspan>{escape(val("h_prev"))}</text>
<text x="116" y="326" class="big">x<tspan baseline-shift="sub" font-size="10">t</tspan></text>
<text x="636" y="292" class="big" style="text-anchor:end">h<tspan baseline-shift="sub" font-size="10">t</tspan>{escape(val("h"))}</text>
<text x="615" y="20" class="lab">h<tspan baseline-shift="sub" font-size="9">t</tspan></text>
<text x="290" y="16" class="lab">cell state: the memory, changed only by × f and + i·g</text>
</svg>"""


# ---------------------------------------------------------------------------------------------
# the section
# ---------------------------------------------------------------------------------------------

class RNNSection(pn.viewable.Viewer):
    """Three tabs: the three modes, the gradient race (RNN vs LSTM), the LSTM's gates."""

    title = "RNN & LSTM"

    # modes
    mode = param.Selector(default="many-to-one", objects=list(MODES))
    cell = param.Selector(default="RNN", objects=["RNN", "LSTM"])
    hidden = param.Integer(default=16, bounds=(4, 32))
    seq_lr = param.Selector(default=0.01, objects=SEQ_LEARNING_RATES)
    example = param.Integer(default=0, bounds=(0, 15))
    # race
    seq_len = param.Integer(default=40, bounds=(5, 100))
    race_optimizer = param.Selector(default="adam", objects=["adam", "sgd"])
    recurrent_scale = param.Number(default=1.0, bounds=(0.25, 6.0), step=0.25)
    clipping = param.Boolean(default=True)
    clip_threshold = param.Selector(default=1.0, objects=CLIP_THRESHOLDS)
    race_lr = param.Selector(default=0.01, objects=RACE_LEARNING_RATES)
    # inside the LSTM
    lstm_example = param.Integer(default=0, bounds=(0, 15))
    lstm_t = param.Integer(default=0, bounds=(0, 99))
    lstm_unit = param.Integer(default=0, bounds=(0, 31))

    playing = param.Selector(default=None, objects=[None, "seq", "race"], allow_None=True)

    def __init__(self, **params):
        super().__init__(**params)
        self.seq = self._new_seq()
        self.race = self._new_race()
        self.seq_error: str | None = None
        self.race_error: str | None = None
        self.frames = 0
        self._cb = None
        self._last_eval = 0.0
        self._last_draw = 0.0
        self._tick_ms = 0.0
        self._seq_first: dict | None = None
        self._race_row: dict | None = None
        self._build_seq_plots()
        self._build_race_plots()
        self._build_lstm_plots()
        self._build_widgets()
        self._build_layout()
        self._on_new_seq()
        self._on_new_race()

    # ------------------------------------------------------------------------------------------
    # demos
    # ------------------------------------------------------------------------------------------

    def _new_seq(self) -> SequenceDemo:
        return SequenceDemo(mode=self.mode, cell=self.cell.lower(), hidden=int(self.hidden), lr=float(self.seq_lr))

    def _new_race(self) -> GradientRace:
        scale = round(float(self.recurrent_scale) * 4) / 4      # the slider's steps of 0.25, without float drift
        return GradientRace(T=int(self.seq_len), recurrent_scale=scale,
                            clip_norm=float(self.clip_threshold) if self.clipping else None,
                            optimizer=self.race_optimizer, lr=float(self.race_lr))

    @param.depends("mode", "cell", "hidden", watch=True)
    def _seq_settings_changed(self):
        self._pause_if("seq")
        self.seq = self._new_seq()
        self.seq_error = None
        self._on_new_seq()

    @param.depends("seq_lr", watch=True)
    def _seq_lr_changed(self):
        self.seq.lr = float(self.seq_lr)

    @param.depends("example", watch=True)
    def _example_changed(self):
        self._refresh_seq_views()

    @param.depends("race_optimizer", watch=True)
    def _race_optimizer_changed(self):
        self.race_lr = DEFAULT_LR[self.race_optimizer]      # each optimizer starts at its own default
        self._race_settings_changed()

    @param.depends("seq_len", "recurrent_scale", watch=True)
    def _race_settings_changed(self):
        self._pause_if("race")
        self.race = self._new_race()
        self.race_error = None
        self._on_new_race()

    @param.depends("clipping", "clip_threshold", watch=True)
    def _clip_changed(self):
        self.race.clip_norm = float(self.clip_threshold) if self.clipping else None
        self._update_race_stats()

    @param.depends("race_lr", watch=True)
    def _race_lr_changed(self):
        self.race.lr = float(self.race_lr)

    @param.depends("lstm_example", "lstm_t", "lstm_unit", watch=True)
    def _lstm_view_changed(self):
        self._refresh_lstm()

    # ------------------------------------------------------------------------------------------
    # play / pause / step / reset
    # ------------------------------------------------------------------------------------------

    def play_seq(self, event=None) -> None:
        self._play("seq")

    def play_race(self, event=None) -> None:
        self._play("race")

    def _play(self, which: str) -> None:
        if self.playing == which:
            return
        if which == "seq":
            self.seq_error = None
        else:
            self.race_error = None
        self.playing = which
        self._last_eval = time.perf_counter()
        self._sync_buttons()
        if self._cb is None:
            self._cb = pn.state.add_periodic_callback(self._tick, period=PERIOD_MS, start=True)
        self._update_seq_stats()
        self._update_race_stats()

    def pause(self, event=None) -> None:
        """Stop whichever training is playing (the shell calls this when the section is hidden)."""
        was = self.playing
        self.playing = None
        self._stop_loop()
        self._sync_buttons()
        if was == "seq":
            self._refresh_seq()
        elif was == "race":
            self._refresh_race()

    def _pause_if(self, which: str) -> None:
        if self.playing == which:
            self.pause()

    def step_seq(self, event=None) -> None:
        self._pause_if("seq")
        self._pause_if("race")
        try:
            self.seq.step(1)
        except DivergenceError as exc:
            self.seq_error = self._seq_divergence_text(exc)
        self._refresh_seq()

    def step_race(self, event=None, *, guard: bool = True) -> None:
        self._pause_if("seq")
        self._pause_if("race")
        try:
            self.race.step(1, guard=guard)
            self.race_error = None
        except DivergenceError as exc:
            self.race_error = self.race.explain(exc)
        self._refresh_race()

    def force_step(self, event=None) -> None:
        """Take the refused (exploding) step anyway, to see what it does to the RNN."""
        self.step_race(guard=False)

    def clip_and_continue(self, event=None) -> None:
        self.clipping = True                       # _clip_changed updates the race
        self.race_error = None
        self._play("race")

    def reset_seq(self, event=None) -> None:
        self._pause_if("seq")
        self.seq = self._new_seq()
        self.seq_error = None
        self._on_new_seq()

    def reset_race(self, event=None) -> None:
        self._pause_if("race")
        self.race = self._new_race()
        self.race_error = None
        self._on_new_race()

    def _stop_loop(self) -> None:
        if self._cb is not None:
            cb, self._cb = self._cb, None
            cb.stop()

    async def _tick(self) -> None:
        which = self.playing
        if which is None:
            return
        t0 = time.perf_counter()
        try:
            if which == "seq":
                self.seq.train_for(BURST_SECONDS)
            else:
                self.race.train_for(BURST_SECONDS)
        except DivergenceError as exc:
            if which == "seq":
                self.seq_error = self._seq_divergence_text(exc)
            else:
                self.race_error = self.race.explain(exc)
            self.playing = None
            self._stop_loop()
            self._sync_buttons()
            self._refresh_seq() if which == "seq" else self._refresh_race()
            return
        now = time.perf_counter()
        # Drawing (and sending the plots to the page) costs about as much as training: do it a few times
        # a second, and train in the ticks between.
        if now - self._last_draw >= DRAW_EVERY:
            self._last_draw = now
            evaluate = now - self._last_eval >= EVAL_EVERY
            if evaluate:
                self._last_eval = now
            if which == "seq":
                self._refresh_seq(evaluate=evaluate)
            else:
                self._refresh_race(evaluate=evaluate)
        self._tick_ms = 1000.0 * (time.perf_counter() - t0)
        await asyncio.sleep(0.002)

    def _seq_divergence_text(self, exc: DivergenceError) -> str:
        return (f"Training diverged at step {exc.step}: the {exc.quantity} became {exc.value}. The updates "
                f"grew until the numbers overflowed (a learning rate too large, or exploding gradients). "
                f"The weights are those from before that step: lower the learning rate and press Play, "
                f"or Reset.")

    # ------------------------------------------------------------------------------------------
    # tab 1: the three modes
    # ------------------------------------------------------------------------------------------

    def _build_seq_plots(self) -> None:
        u = _figure(width=900, height=330, x_range=Range1d(-1, 10), y_range=Range1d(-2.6, 6.2),
                    min_border=4, outline_line_color=None)
        u.axis.visible = False
        u.grid.visible = False
        self._u_arrows = ColumnDataSource(dict(x0=[], y0=[], x1=[], y1=[]))
        u.segment("x0", "y0", "x1", "y1", source=self._u_arrows, line_color="#94a3b8", line_width=1.4)
        self._u_heads = ColumnDataSource(dict(x=[], y=[], angle=[]))
        u.scatter("x", "y", source=self._u_heads, marker="triangle", angle="angle", size=7, color="#94a3b8")
        self._u_cells = ColumnDataSource(dict(x=[], y=[], w=[], h=[], fill=[], v=[], j=[]))
        cells = u.rect("x", "y", "w", "h", source=self._u_cells, fill_color="fill", line_color="white",
                       line_width=0.5)
        u.add_tools(HoverTool(renderers=[cells], tooltips=[("t", "@x"), ("unit", "@j"), ("h_t", "@v{0.000}")]))
        self._u_boxes = ColumnDataSource(dict(x=[], y=[], w=[], h=[], fill=[], line=[]))
        u.rect("x", "y", "w", "h", source=self._u_boxes, fill_color="fill", line_color="line", line_width=1.2)
        self._u_text = ColumnDataSource(dict(x=[], y=[], text=[], color=[], size=[]))
        u.text("x", "y", text="text", source=self._u_text, text_align="center", text_baseline="middle",
               text_color="color", text_font_size="size")
        self._u_side = ColumnDataSource(dict(x=[], y=[], text=[]))
        u.text("x", "y", text="text", source=self._u_side, text_align="right", text_baseline="middle",
               text_color=theme.MUTED, text_font_size="12px", text_font_style="italic")
        self.unfold_fig = u

        loss = _figure(width=430, height=250, y_axis_type="log")
        self._seq_loss_src = ColumnDataSource(dict(step=[], train=[], test=[]))
        loss.line("step", "train", source=self._seq_loss_src, color=theme.TRAIN_LOSS_COLOR, line_width=2,
                  legend_label="train loss")
        loss.line("step", "test", source=self._seq_loss_src, color=theme.TEST_LOSS_COLOR, line_width=2,
                  line_dash="dashed", legend_label="test loss")
        loss.legend.location = "top_right"
        loss.legend.background_fill_alpha = 0.75
        loss.legend.label_text_font_size = "11px"
        loss.xaxis.axis_label = "step"
        _style(loss)
        self.seq_loss_fig = loss

        pred = _figure(width=430, height=250, x_range=Range1d(-0.7, 15.7), y_range=Range1d(-0.08, 1.08))
        self._pred_src = ColumnDataSource(dict(x=[], pred=[], target=[]))
        self._target_line = pred.line("x", "target", source=self._pred_src, color="#94a3b8", line_width=1.5)
        t_marks = pred.scatter("x", "target", source=self._pred_src, marker="square", size=10, fill_color=None,
                               line_color=theme.INK, line_width=1.4)
        self._pred_line = pred.line("x", "pred", source=self._pred_src, color=theme.ACCENT, line_width=2)
        p_marks = pred.scatter("x", "pred", source=self._pred_src, size=7, color=theme.ACCENT)
        self._half = Span(location=0.5, dimension="width", line_color=theme.MUTED, line_dash="dashed",
                          line_width=1)
        pred.add_layout(self._half)
        pred.add_layout(Legend(items=[LegendItem(label="target", renderers=[t_marks]),
                                      LegendItem(label="prediction", renderers=[p_marks])],
                               orientation="horizontal", label_text_font_size="11px", padding=2, margin=2,
                               border_line_color=None), "above")
        _style(pred)
        self.pred_fig = pred

    def _on_new_seq(self) -> None:
        d = self.seq
        self._seq_loss_src.data = dict(step=[], train=[], test=[])
        self._seq_first = None
        if self.example >= min(16, d.n_test):
            self.example = 0
        self._layout_pred_fig()
        self._task_text.object = self._task_html()
        self._refresh_seq()

    def _task_html(self) -> str:
        info = MODE_INFO[self.seq.mode]
        return (f"<h3>{escape(self.seq.mode.capitalize())}: {escape(info['task'])}</h3>"
                f"<p>The {self.cell} {escape(info['what'])}</p>")

    def _layout_pred_fig(self) -> None:
        d, f = self.seq, self.pred_fig
        f.yaxis.major_label_overrides = {}
        if d.mode == "many-to-one":
            f.x_range.start, f.x_range.end = -0.7, EXAMPLES_M2O - 0.3
            f.y_range.start, f.y_range.end = -0.08, 1.08
            f.xaxis.axis_label = f"test sentence (the first {EXAMPLES_M2O})"
            f.yaxis.axis_label = "P(positive)"
            f.yaxis.ticker = FixedTicker(ticks=[0, 0.25, 0.5, 0.75, 1])
            self._half.visible = True
            self._pred_line.visible = False
            self._target_line.visible = False
        elif d.mode == "one-to-many":
            f.x_range.start, f.x_range.end = -0.5, d.T - 0.5
            f.y_range.start, f.y_range.end = -1.1, 1.1
            f.xaxis.axis_label = "time step t"
            f.yaxis.axis_label = "y_t"
            f.yaxis.ticker = FixedTicker(ticks=[-1, -0.5, 0, 0.5, 1])
            self._half.visible = False
            self._pred_line.visible = True
            self._target_line.visible = True
        else:
            k = len(d.class_names)
            f.x_range.start, f.x_range.end = -0.5, d.T - 0.5
            f.y_range.start, f.y_range.end = -0.5, k - 0.5
            f.xaxis.axis_label = "time step t"
            f.yaxis.axis_label = "symbol"
            f.yaxis.ticker = FixedTicker(ticks=list(range(k)))
            f.yaxis.major_label_overrides = {i: n for i, n in enumerate(d.class_names)}
            self._half.visible = False
            self._pred_line.visible = False
            self._target_line.visible = False

    def _refresh_seq(self, *, evaluate: bool = True) -> None:
        d = self.seq
        if evaluate or not d.history["step"]:
            row = d.evaluate()
            if self._seq_first is None:
                self._seq_first = row
            data = self._seq_loss_src.data
            if not data["step"] or data["step"][-1] != row["step"]:
                self._seq_loss_src.stream(dict(step=[row["step"]], train=[max(row["train_loss"], 1e-6)],
                                               test=[max(row["test_loss"], 1e-6)]))
        self._refresh_seq_views()
        self.frames += 1

    def _refresh_seq_views(self) -> None:
        u = self.seq.unfold(int(self.example))
        self._draw_unfolded(u)
        self._draw_predictions(u)
        self._update_seq_stats()

    def _draw_unfolded(self, u: dict) -> None:
        d = self.seq
        T, H = u["T"], u["h"].shape[1]
        cell_h = 3.0 / H                         # the hidden column spans y in [0, 3]
        xs, ys, vs, js = [], [], [], []
        h = u["h"]
        fills = _hex_colors(h)                   # (T*H) row-major: t, then unit
        for t in range(T):
            for j in range(H):
                xs.append(t)
                ys.append((j + 0.5) * cell_h)
                vs.append(float(h[t, j]))
                js.append(j)
        self._u_cells.data = dict(x=xs, y=ys, w=[0.62] * len(xs), h=[cell_h] * len(xs), fill=fills, v=vs, j=js)
        # input and output boxes
        bx, by, bw, bh, bf, bl = [], [], [], [], [], []
        tx, ty, tt, tc, ts = [], [], [], [], []
        small = "10px" if T > 14 else "12px"
        for t in range(T):
            bx.append(t), by.append(-1.25), bw.append(0.86), bh.append(0.8), bf.append("#f1f5f9"), bl.append("#94a3b8")
            tx.append(t), ty.append(-1.25), tt.append(u["x_labels"][t]), tc.append(theme.INK), ts.append(small)
            tx.append(t), ty.append(-2.2), tt.append(str(t)), tc.append(theme.MUTED), ts.append("10px")
        for s, t in enumerate(u["out_steps"]):
            ok = bool(u["correct"][s])
            bx.append(t), by.append(4.35), bw.append(0.86), bh.append(0.8)
            bf.append("#dcfce7" if ok else "#fee2e2"), bl.append("#16a34a" if ok else "#dc2626")
            tx.append(t), ty.append(4.35), tt.append(u["y_labels"][s]), tc.append(theme.INK), ts.append(small)
            tx.append(t), ty.append(5.25), tt.append(u["target_labels"][s]), tc.append(theme.MUTED)
            ts.append("10px" if T > 14 else "11px")
        self._u_boxes.data = dict(x=bx, y=by, w=bw, h=bh, fill=bf, line=bl)
        self._u_text.data = dict(x=tx, y=ty, text=tt, color=tc, size=ts)
        # arrows: x_t -> h_t, h_t -> h_{t+1}, h_t -> y_t
        x0, y0, x1, y1, hx, hy, ha = [], [], [], [], [], [], []
        for t in range(T):
            x0.append(t), y0.append(-0.85), x1.append(t), y1.append(-0.12)
            hx.append(t), hy.append(-0.14), ha.append(0.0)
            if t < T - 1:
                x0.append(t + 0.31), y0.append(1.5), x1.append(t + 0.66), y1.append(1.5)
                hx.append(t + 0.64), hy.append(1.5), ha.append(-math.pi / 2)
        for t in u["out_steps"]:
            x0.append(t), y0.append(3.05), x1.append(t), y1.append(3.9)
            hx.append(t), hy.append(3.88), ha.append(0.0)
        self._u_arrows.data = dict(x0=x0, y0=y0, x1=x1, y1=y1)
        self._u_heads.data = dict(x=hx, y=hy, angle=ha)
        self._u_side.data = dict(x=[-0.55] * 5, y=[5.25, 4.35, 1.75, 1.25, -1.25],
                                 text=["target", "output y_t", "hidden h_t", f"({H} units)", "input x_t"])
        f = self.unfold_fig
        f.x_range.start, f.x_range.end = -2.3 if T <= 12 else -3.2, T - 0.45
        width = int(min(980, max(560, 70 + T * (62 if T <= 12 else 38))))
        if f.width != width:
            f.width = width

    def _draw_predictions(self, u: dict) -> None:
        d = self.seq
        if d.mode == "many-to-one":
            n = min(EXAMPLES_M2O, d.n_test)
            from pyfadml.losses import softmax
            probs = softmax(d.model.predict(d.X_test[:n]))[:, 1]
            self._pred_src.data = dict(x=list(range(n)), pred=probs.tolist(),
                                       target=d.Y_test[:n].astype(float).tolist())
        elif d.mode == "one-to-many":
            self._pred_src.data = dict(x=list(range(d.T)), pred=u["y"].tolist(), target=u["target"].tolist())
        else:
            self._pred_src.data = dict(x=list(range(d.T)), pred=u["pred"].astype(float).tolist(),
                                       target=u["target"].astype(float).tolist())

    def _update_seq_stats(self) -> None:
        d = self.seq
        h = d.history
        if not h["step"]:
            return
        last = {k: v[-1] for k, v in h.items()}
        first = self._seq_first or last
        stats = [_stat("seq-step", "Step", d.step_count, f"{d.step_count:,}"),
                 _stat("seq-train-loss", "Train loss", last["train_loss"], f"{last['train_loss']:.4f}"),
                 _stat("seq-test-loss", "Test loss", last["test_loss"], f"{last['test_loss']:.4f}")]
        if d.is_classification:
            stats.append(_stat("seq-test-acc", "Test acc.", last["test_acc"], f"{100 * last['test_acc']:.1f}%"))
        if self.seq_error:
            state = (f'<div class="state diverged" data-testid="seq-message"><span class="dot"></span>'
                     f'{escape(self.seq_error)}</div>')
        elif self.playing == "seq":
            state = (f'<div class="state playing" data-testid="seq-message"><span class="dot"></span>Training '
                     f'the {d.cell.upper()} ({d.hidden} units), Adam, learning rate {d.lr:g}</div>')
        else:
            state = (f'<div class="state" data-testid="seq-message"><span class="dot"></span>Paused. '
                     f'{len(d.X_train)} training and {len(d.X_test)} test sequences of {d.T} steps</div>')
        self._seq_stats.object = (
            f'<div class="stats" data-testid="seq-stats" data-mode="{d.mode}" data-cell="{d.cell}" '
            f'data-step="{d.step_count}" data-first-loss="{first["test_loss"]!r}" '
            f'data-loss="{last["test_loss"]!r}" data-eval-step="{last["step"]}" '
            f'data-playing="{int(self.playing == "seq")}" data-diverged="{int(bool(self.seq_error))}" '
            f'data-frames="{self.frames}" data-tick-ms="{self._tick_ms:.1f}">{"".join(stats)}</div>{state}')

    # ------------------------------------------------------------------------------------------
    # tab 2: the gradient race
    # ------------------------------------------------------------------------------------------

    def _build_race_plots(self) -> None:
        self._log_mapper = LinearColorMapper(palette=Viridis256, low=LOG_LOW, high=LOG_HIGH,
                                             nan_color="#e2e8f0")
        self._heat_src: dict[str, ColumnDataSource] = {}
        self.heat_figs: dict[str, figure] = {}
        for name in MODELS:
            f = _figure(width=400, height=300, x_range=Range1d(-0.5, 19.5), y_range=Range1d(0, 1),
                        title=f"{name}: log10 ||dL/dh_t||")
            f.title.text_color = RACE_COLORS[name]
            f.title.text_font_size = "14px"
            src = ColumnDataSource(dict(image=[np.full((1, 1), np.nan)], x=[-0.5], y=[0], dw=[20], dh=[1]))
            f.image("image", x="x", y="y", dw="dw", dh="dh", source=src, color_mapper=self._log_mapper)
            f.xaxis.axis_label = "time step t (the loss is at the last step)"
            f.yaxis.axis_label = "training step"
            _style(f)
            f.ygrid.visible = False
            self._heat_src[name] = src
            self.heat_figs[name] = f
        bar = ColorBar(color_mapper=self._log_mapper, width=10, title="log10", title_text_font_size="11px",
                       major_label_text_font_size="10px", ticker=FixedTicker(ticks=list(range(-8, 5, 2))))
        self.heat_figs["LSTM"].add_layout(bar, "right")
        self.heat_figs["LSTM"].width = 450

        prof = _figure(width=430, height=270, y_axis_type="log", title="Latest step: ||dL/dh_t|| against t")
        self._profile_src = ColumnDataSource(dict(t=[], RNN=[], LSTM=[]))
        items = []
        for name in MODELS:
            r = prof.line("t", name, source=self._profile_src, color=RACE_COLORS[name], line_width=2.2)
            prof.scatter("t", name, source=self._profile_src, color=RACE_COLORS[name], size=4)
            items.append(LegendItem(label=name, renderers=[r]))
        prof.add_layout(Legend(items=items, label_text_font_size="11px", border_line_color=None, padding=2), "right")
        prof.xaxis.axis_label = "time step t"
        _style(prof)
        self.profile_fig = prof

        acc = _figure(width=430, height=270, y_range=Range1d(0, 1.04), title="Test accuracy (dotted: chance)")
        self._acc_src = ColumnDataSource(dict(step=[], RNN=[], LSTM=[]))
        items = []
        for name in MODELS:
            r = acc.line("step", name, source=self._acc_src, color=RACE_COLORS[name], line_width=2.2)
            items.append(LegendItem(label=name, renderers=[r]))
        acc.add_layout(Legend(items=items, label_text_font_size="11px", border_line_color=None, padding=2), "right")
        self._chance = Span(location=0.5, dimension="width", line_color=theme.MUTED, line_dash="dotted", line_width=1.5)
        acc.add_layout(self._chance)
        acc.xaxis.axis_label = "training step"
        _style(acc)
        self.acc_fig = acc

    def _on_new_race(self) -> None:
        r = self.race
        self._acc_src.data = dict(step=[], RNN=[], LSTM=[])
        self._chance.location = r.chance
        self._race_row = None
        for name in MODELS:
            self.heat_figs[name].x_range.start, self.heat_figs[name].x_range.end = -0.5, r.T - 0.5
        self.param.lstm_example.bounds = (0, min(16, r.n_test) - 1)
        self.param.lstm_t.bounds = (0, r.T - 1)
        self.param.lstm_unit.bounds = (0, r.hidden - 1)
        if self.lstm_t > r.T - 1:
            self.lstm_t = r.T - 1
        self._lstm_widgets["t"].end = r.T - 1
        self._lstm_widgets["unit"].end = r.hidden - 1
        self._refresh_race()

    def _refresh_race(self, *, evaluate: bool = True) -> None:
        r = self.race
        if evaluate or self._race_row is None:
            row = r.evaluate()
            self._race_row = row
            data = self._acc_src.data
            if not data["step"] or data["step"][-1] != row["step"]:
                self._acc_src.stream(dict(step=[row["step"]], RNN=[row["RNN_acc"]], LSTM=[row["LSTM_acc"]]))
        self._draw_heatmaps()
        if self.playing != "race" or self._tabs.active == 2:
            self._refresh_lstm()
        self._update_race_stats()
        self.frames += 1

    def _draw_heatmaps(self) -> None:
        r = self.race
        profile = {"t": list(range(r.T))}
        self._heat_info = {}
        for name in MODELS:
            rows, all_steps = r.grad_rows[name], r.grad_steps[name]
            if len(rows) > HEATMAP_ROWS:              # pick evenly spread rows before stacking them
                idx = np.linspace(0, len(rows) - 1, HEATMAP_ROWS).round().astype(int)
                rows, all_steps = [rows[i] for i in idx], [all_steps[i] for i in idx]
            steps = np.asarray(all_steps)
            norms = np.stack(rows) if rows else np.zeros((0, r.T))
            src = self._heat_src[name]
            f = self.heat_figs[name]
            if len(steps) == 0:
                src.data = dict(image=[np.full((1, r.T), np.nan)], x=[-0.5], y=[0], dw=[r.T], dh=[1])
                f.y_range.start, f.y_range.end = 0, 1
                profile[name] = [float("nan")] * r.T
                self._heat_info[name] = (0, 0)
                continue
            with np.errstate(divide="ignore", invalid="ignore"):
                logn = np.log10(norms)
            logn = np.where(np.isneginf(logn), LOG_LOW, logn)
            lo = float(steps[0]) - 0.5
            hi = float(steps[-1]) + 0.5
            src.data = dict(image=[logn.astype(np.float32)], x=[-0.5], y=[lo], dw=[r.T], dh=[hi - lo])
            f.y_range.start, f.y_range.end = lo, hi
            last = norms[-1]
            profile[name] = [float(v) if v > 0 and math.isfinite(v) else float("nan") for v in last]
            finite_cols = int(np.sum(np.all(np.isfinite(norms), axis=0)))
            self._heat_info[name] = (len(steps), finite_cols)
        self._profile_src.data = profile

    def _update_race_stats(self) -> None:
        r = self.race
        row = self._race_row
        if row is None:
            return
        hist = r.history
        gn = {m: (hist[f"{m}_grad_norm"][-1] if hist["step"] else float("nan")) for m in MODELS}
        stats = [_stat("race-step", "Step", r.step_count, f"{r.step_count:,}")]
        for m in MODELS:
            stats.append(_stat(f"race-{m.lower()}-acc", f"{m} test acc.", row[f"{m}_acc"],
                               f"{100 * row[f'{m}_acc']:.1f}%"))
        for m in MODELS:
            stats.append(_stat(f"race-{m.lower()}-gn", f"{m} grad. norm", gn[m], _fmt(gn[m])))
        info = getattr(self, "_heat_info", {})
        rows = {m: info.get(m, (0, 0))[0] for m in MODELS}
        cols = {m: info.get(m, (0, 0))[1] for m in MODELS}
        clip = r.clip_norm
        sps = r.steps_per_second()
        if self.race_error:
            state = (f'<div class="state diverged" data-testid="race-message"><span class="dot"></span>'
                     f'{escape(self.race_error)}</div>')
        elif self.playing == "race":
            state = (f'<div class="state playing" data-testid="race-message"><span class="dot"></span>Training '
                     f'both on sequences of T = {r.T}: {OPT_NAMES[r.optimizer_name]}, learning rate {r.lr:g}, '
                     f'{"clipping at " + format(clip, "g") if clip else "no clipping"} '
                     f'({_fmt(sps["RNN"])} RNN and {_fmt(sps["LSTM"])} LSTM steps per second)</div>')
        else:
            state = (f'<div class="state" data-testid="race-message"><span class="dot"></span>Paused. '
                     f'T = {r.T}, RNN recurrent scale {r.recurrent_scale:g}, '
                     f'{"clipping at " + format(clip, "g") if clip else "no clipping"}; chance is '
                     f'{100 * r.chance:.1f}%</div>')
        self._race_stats.object = (
            f'<div class="stats" data-testid="race-stats" data-step="{r.step_count}" data-T="{r.T}" '
            f'data-scale="{r.recurrent_scale!r}" data-clip="{clip!r}" data-optimizer="{r.optimizer_name}" '
            f'data-rnn-acc="{row["RNN_acc"]!r}" data-lstm-acc="{row["LSTM_acc"]!r}" '
            f'data-eval-step="{row["step"]}" data-chance="{r.chance!r}" '
            f'data-rnn-rows="{rows["RNN"]}" data-lstm-rows="{rows["LSTM"]}" '
            f'data-rnn-cols="{cols["RNN"]}" data-lstm-cols="{cols["LSTM"]}" '
            f'data-playing="{int(self.playing == "race")}" data-diverged="{int(bool(self.race_error))}" '
            f'data-exploded="{int(isinstance(r.last_error, ExplodingGradientError))}" '
            f'data-rnn-sps="{sps["RNN"]!r}" data-lstm-sps="{sps["LSTM"]!r}" '
            f'data-frames="{self.frames}" data-tick-ms="{self._tick_ms:.1f}">{"".join(stats)}</div>{state}')
        self._race_actions.visible = bool(self.race_error)
        self._force_btn.visible = isinstance(r.last_error, ExplodingGradientError)

    # ------------------------------------------------------------------------------------------
    # tab 3: inside the LSTM
    # ------------------------------------------------------------------------------------------

    def _build_lstm_plots(self) -> None:
        self._gate_src: dict[str, ColumnDataSource] = {}
        self.gate_figs: dict[str, figure] = {}
        self._gate_mapper = LinearColorMapper(palette=Viridis256, low=0.0, high=1.0)
        self._cell_mapper = LinearColorMapper(palette=theme.DIVERGING, low=-2.0, high=2.0)
        self._marker_src = ColumnDataSource(dict(x=[0], y=[0]))
        for k in ("i", "f", "o", "c"):
            f = _figure(width=320, height=210, x_range=Range1d(-0.5, 19.5), y_range=Range1d(-0.5, 15.5),
                        title=GATE_NAMES[k])
            src = ColumnDataSource(dict(image=[np.zeros((1, 1))], x=[-0.5], y=[-0.5], dw=[20], dh=[16]))
            f.image("image", x="x", y="y", dw="dw", dh="dh", source=src,
                    color_mapper=self._cell_mapper if k == "c" else self._gate_mapper)
            f.rect("x", "y", 1, 1, source=self._marker_src, fill_color=None, line_color="#ef4444", line_width=2)
            f.xaxis.axis_label = "time step t"
            f.yaxis.axis_label = "unit"
            f.title.text_font_size = "13px"
            _style(f)
            f.ygrid.visible = False
            self._gate_src[k] = src
            self.gate_figs[k] = f
        self.gate_figs["f"].add_layout(ColorBar(color_mapper=self._gate_mapper, width=8,
                                                major_label_text_font_size="10px"), "right")
        self.gate_figs["c"].add_layout(ColorBar(color_mapper=self._cell_mapper, width=8,
                                                major_label_text_font_size="10px"), "right")
        self.gate_figs["f"].width = self.gate_figs["c"].width = 360

    def _refresh_lstm(self) -> None:
        if not hasattr(self, "_lstm_diagram"):
            return
        r = self.race
        ex = min(int(self.lstm_example), r.n_test - 1)
        g = r.gates(ex)
        T, H = g["c"].shape
        for k in ("i", "f", "o", "c"):
            a = g["c"] if k == "c" else g["gates"][k]
            self._gate_src[k].data = dict(image=[a.T.astype(np.float32)], x=[-0.5], y=[-0.5], dw=[T], dh=[H])
            f = self.gate_figs[k]
            f.x_range.start, f.x_range.end = -0.5, T - 0.5
            f.y_range.start, f.y_range.end = -0.5, H - 0.5
        m = float(np.max(np.abs(g["c"]))) if g["c"].size else 1.0
        self._cell_mapper.low, self._cell_mapper.high = -max(m, 0.1), max(m, 0.1)
        t = min(int(self.lstm_t), T - 1)
        j = min(int(self.lstm_unit), H - 1)
        self._marker_src.data = dict(x=[t], y=[j])
        v = {k: float(g["gates"][k][t, j]) for k in "ifog"}
        v["c"] = float(g["c"][t, j])
        v["h"] = float(g["h"][t, j])
        v["c_prev"] = float(g["c"][t - 1, j]) if t > 0 else 0.0
        v["h_prev"] = float(g["h"][t - 1, j]) if t > 0 else 0.0
        self._lstm_diagram.object = lstm_diagram_svg(v, t=t, unit=j)
        pred = int(np.argmax(g["probs"]))
        self._lstm_info.object = (
            f'<p data-testid="lstm-info" data-example="{ex}" data-t="{t}" data-unit="{j}" '
            f'data-f="{v["f"]!r}" data-i="{v["i"]!r}" data-o="{v["o"]!r}" data-c="{v["c"]!r}" '
            f'data-step="{g["step"]}">Test sequence {ex}: the class to remember is <b>{g["label"]}</b>; the LSTM '
            f'says <b>{pred}</b> ({100 * float(g["probs"][pred]):.0f}%) after step {g["step"]} of training. '
            f'Values of unit {j} at t = {t} (red square in the heatmaps): the new cell state is '
            f'f·c<sub>t−1</sub> + i·g = {_num(v["f"])}·({_num(v["c_prev"], "+")}) + {_num(v["i"])}·'
            f'({_num(v["g"], "+")}) = {_num(v["c"], "+")}.</p>')

    # ------------------------------------------------------------------------------------------
    # widgets and layout
    # ------------------------------------------------------------------------------------------

    def _build_widgets(self) -> None:
        W = pn.widgets
        p = self.param
        self._seq_widgets = {
            "mode": W.Select.from_param(p.mode, name="Mode", options=MODE_LABELS),
            "cell": W.RadioButtonGroup.from_param(p.cell, name="Cell", color="primary",
                                                  variant="outline"),
            "hidden": W.IntSlider.from_param(p.hidden, name="Hidden units", throttled=True),
            "seq_lr": W.Select.from_param(p.seq_lr, name="Learning rate (Adam)"),
            "example": W.IntSlider.from_param(p.example, name="Test sequence shown", throttled=True),
        }
        self._race_widgets = {
            "seq_len": W.IntSlider.from_param(p.seq_len, name="Sequence length T", step=5, throttled=True),
            "recurrent_scale": W.FloatSlider.from_param(p.recurrent_scale, name="Recurrent scale (RNN)",
                                                        step=0.25, format="0.00", throttled=True),
            "clipping": W.Checkbox.from_param(p.clipping, name="Gradient clipping"),
            "clip_threshold": W.Select.from_param(p.clip_threshold, name="Clip threshold"),
            "race_optimizer": W.RadioButtonGroup.from_param(p.race_optimizer, name="Optimizer",
                                                            options=RACE_OPTIMIZERS, color="primary",
                                                            variant="outline"),
            "race_lr": W.Select.from_param(p.race_lr, name="Learning rate"),
        }
        self._lstm_widgets = {
            "example": W.IntSlider.from_param(p.lstm_example, name="Test sequence", throttled=True),
            "t": W.IntSlider.from_param(p.lstm_t, name="Time step t", throttled=True, end=self.race.T - 1),
            "unit": W.IntSlider.from_param(p.lstm_unit, name="Unit", throttled=True, end=self.race.hidden - 1),
        }
        for w in [*self._seq_widgets.values(), *self._race_widgets.values(), *self._lstm_widgets.values()]:
            w.sizing_mode = "stretch_width"

        def button(name, kind, cb, style="solid"):
            b = W.Button(label=name, color=kind, variant=style, width=80)
            b.on_click(cb)
            return b

        self._seq_play = button("Play", "success", self.play_seq)
        self._seq_pause = button("Pause", "warning", self.pause)
        self._seq_step = button("Step", "primary", self.step_seq, "outline")
        self._seq_reset = button("Reset", "default", self.reset_seq)
        self._race_play = button("Play", "success", self.play_race)
        self._race_pause = button("Pause", "warning", self.pause)
        self._race_step = button("Step", "primary", self.step_race, "outline")
        self._race_reset = button("Reset", "default", self.reset_race)
        self._clip_btn = W.Button(label="Turn on clipping and continue", color="primary")
        self._clip_btn.on_click(self.clip_and_continue)
        self._force_btn = W.Button(label="Take the step anyway", color="danger", variant="outline")
        self._force_btn.on_click(self.force_step)
        self._reset_btn2 = W.Button(label="Reset the race", color="default")
        self._reset_btn2.on_click(self.reset_race)
        self._race_actions = pn.Row(self._clip_btn, self._force_btn, self._reset_btn2, visible=False)
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        self._seq_play.disabled = self.playing == "seq"
        self._seq_pause.disabled = self.playing != "seq"
        self._race_play.disabled = self.playing == "race"
        self._race_pause.disabled = self.playing != "race"

    def _build_layout(self) -> None:
        card = [theme.CARD_CSS]
        prose = [theme.PROSE_CSS]

        def heading(text, top=8):
            return pn.pane.HTML(f"<h3>{text}</h3>", stylesheets=prose, margin=(top, 5, 0, 5))

        def html(text, **kw):
            kw.setdefault("sizing_mode", "stretch_width")
            return pn.pane.HTML(text, stylesheets=prose, disable_math=False, **kw)

        sw = self._seq_widgets
        seq_controls = pn.Column(
            heading("Task", 0), sw["mode"], pn.pane.HTML("<span class='muted'>Cell</span>", stylesheets=prose,
                                                         margin=(6, 5, 0, 5)), sw["cell"],
            heading("Training"), sw["hidden"], sw["seq_lr"],
            pn.Row(self._seq_play, self._seq_pause, margin=(8, 0, 0, 0)), pn.Row(self._seq_step, self._seq_reset),
            heading("View"), sw["example"],
            width=280, stylesheets=card, margin=(0, 16, 0, 0))
        self._task_text = html("", margin=(0, 5))
        self._seq_stats = pn.pane.HTML("", stylesheets=[theme.STATS_CSS], sizing_mode="stretch_width",
                                       margin=(4, 5, 8, 5))
        seq_main = pn.Column(
            self._task_text, self._seq_stats,
            html("<h3>Unfolded over time</h3><p class='muted'>The same cell at every time step, for one test "
                 "sequence. Middle: the hidden state h<sub>t</sub> (one square per unit; blue positive, "
                 "orange negative; point at one to read its value), passed to the next step. Bottom: the "
                 "inputs x<sub>t</sub>. Top: the outputs y<sub>t</sub> (green right, red wrong) and, above "
                 "them, the targets.</p>",
                 margin=(0, 5)),
            pn.pane.Bokeh(self.unfold_fig),
            pn.Row(pn.Column(html("<h3>Loss</h3><p class='muted'>Mean loss on the whole train and test sets "
                                  "(log scale).</p>", margin=(0, 5)), pn.pane.Bokeh(self.seq_loss_fig)),
                   pn.Column(html("<h3>Predictions against targets</h3><p class='muted'>□ target, ● the "
                                  "network's prediction.</p>", margin=(0, 5)), pn.pane.Bokeh(self.pred_fig))),
            stylesheets=card, sizing_mode="stretch_width")
        modes_tab = pn.Row(seq_controls, seq_main, sizing_mode="stretch_width")

        rw = self._race_widgets
        race_controls = pn.Column(
            heading("The task", 0), rw["seq_len"], heading("The RNN"), rw["recurrent_scale"],
            heading("Training (both)"), rw["race_optimizer"], rw["race_lr"], rw["clipping"], rw["clip_threshold"],
            pn.Row(self._race_play, self._race_pause, margin=(8, 0, 0, 0)), pn.Row(self._race_step, self._race_reset),
            html(RACE_TRY, margin=(10, 5, 0, 5)),
            width=280, stylesheets=card, margin=(0, 16, 0, 0))
        self._race_stats = pn.pane.HTML("", stylesheets=[theme.STATS_CSS], sizing_mode="stretch_width",
                                        margin=(4, 5, 4, 5))
        race_main = pn.Column(
            html(RACE_INTRO, margin=(0, 5)), self._race_stats, self._race_actions,
            html("<h3>Gradient reaching each time step</h3><p class='muted'>Each row is one training step "
                 "(newest at the top); each column a time step t. Colour: log<sub>10</sub> of the batch "
                 "mean of ||dL/dh<sub>t</sub>|| as computed by backpropagation through time (before "
                 "clipping). Dark on the left: the gradient vanished before reaching the first inputs; "
                 "yellow: it exploded.</p>", margin=(0, 5)),
            pn.Row(pn.pane.Bokeh(self.heat_figs["RNN"]), pn.pane.Bokeh(self.heat_figs["LSTM"])),
            pn.Row(pn.pane.Bokeh(self.profile_fig), pn.pane.Bokeh(self.acc_fig)),
            stylesheets=card, sizing_mode="stretch_width")
        race_tab = pn.Row(race_controls, race_main, sizing_mode="stretch_width")

        lw = self._lstm_widgets
        self._lstm_diagram = pn.pane.HTML("", margin=(0, 5), width=640)
        self._lstm_info = html("", margin=(0, 5))
        lstm_controls = pn.Column(
            heading("Show", 0), lw["example"], lw["t"], lw["unit"],
            html("<p class='muted'>Train the race (previous tab) and come back. Look for units whose cell state "
                 "is set at t = 0 (input gate open: write) and then carried unchanged to the end (forget gate "
                 "near 1: keep), whatever the distractors. Move the time step and the unit to read their "
                 "values in the diagram.</p>", margin=(10, 5, 0, 5)),
            width=280, stylesheets=card, margin=(0, 16, 0, 0))
        lstm_main = pn.Column(
            html(LSTM_INTRO, margin=(0, 5)), self._lstm_info,
            pn.Row(self._lstm_diagram),
            pn.Row(pn.pane.Bokeh(self.gate_figs["i"]), pn.pane.Bokeh(self.gate_figs["f"])),
            pn.Row(pn.pane.Bokeh(self.gate_figs["o"]), pn.pane.Bokeh(self.gate_figs["c"])),
            stylesheets=card, sizing_mode="stretch_width")
        lstm_tab = pn.Row(lstm_controls, lstm_main, sizing_mode="stretch_width")

        self._tabs = pn.Tabs(("Three modes", modes_tab), ("Vanishing & exploding gradients", race_tab),
                             ("Inside the LSTM", lstm_tab), dynamic=True, sizing_mode="stretch_width")
        self._layout = pn.Column(html(INTRO, margin=(0, 5, 8, 5)), self._tabs, sizing_mode="stretch_width")

    def __panel__(self):
        return self._layout
