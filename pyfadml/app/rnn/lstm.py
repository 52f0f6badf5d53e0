"""Tab "Inside the LSTM": the race's LSTM on one test sequence, its gates i, f, o and the cell state over
time, and the lecture's gate diagram labelled with the values of one unit at one time step.

Drawn from :meth:`pyfadml.demos.gradients.GradientRace.gates` (the library layer's own gates and cells).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import panel as pn
import param
from bokeh.models import ColorBar, ColumnDataSource, LinearColorMapper, Range1d
from bokeh.palettes import Viridis256

from pyfadml.app import theme, ui
from pyfadml.app.rnn.diagram import lstm_diagram_svg, signed
from pyfadml.demos.gradients import GradientRace

GATE_NAMES = {"i": "input gate i", "f": "forget gate f", "o": "output gate o", "c": "cell state c"}
EXAMPLES = 16                 # test sequences offered

INTRO = """
<p>An LSTM comprises <b>three gates</b>, each a sigmoid layer followed by element-wise multiplication: the
<b>input gate</b> \\(i_t\\) decides how much of the candidate \\(g_t\\) to add to the cell state, the
<b>forget gate</b> \\(f_t\\) how much of the old cell state to keep, the <b>output gate</b> \\(o_t\\) how
much of it to show as \\(h_t = o_t \\odot \\tanh(c_t)\\). These are the gates of the LSTM trained in the
previous tab, on one test sequence of the memory task.</p>
"""

HINT = """<p class='muted secondary'>Train the race (previous tab) and come back. Look for units whose cell
state is set at t = 0 (input gate open: write) and then carried unchanged to the end (forget gate near 1:
keep), whatever the distractors. Move the time step and the unit to read their values in the diagram.</p>"""


class GatesTab(ui.View):
    """Sliders for the sequence, time step and unit; the diagram, the values, four heatmaps."""

    example = param.Integer(default=0, bounds=(0, EXAMPLES - 1))
    t = param.Integer(default=0, bounds=(0, 99))
    unit = param.Integer(default=0, bounds=(0, 31))

    def __init__(self, race: Callable[[], GradientRace], **params):
        super().__init__(**params)
        self.race = race
        self._build_plots()
        self._build_layout()
        self.refresh()

    def _build_plots(self) -> None:
        self._src: dict[str, ColumnDataSource] = {}
        self.figs = {}
        self._gate_mapper = LinearColorMapper(palette=Viridis256, low=0.0, high=1.0)
        self._cell_mapper = LinearColorMapper(palette=theme.DIVERGING, low=-2.0, high=2.0)
        self._marker = ColumnDataSource(dict(x=[0], y=[0]))
        for k in ("i", "f", "o", "c"):
            f = ui.figure(width=320, height=210, x_range=Range1d(-0.5, 19.5), y_range=Range1d(-0.5, 15.5),
                          title=GATE_NAMES[k])
            src = ColumnDataSource(dict(image=[np.zeros((1, 1))], x=[-0.5], y=[-0.5], dw=[20], dh=[16]))
            f.image("image", x="x", y="y", dw="dw", dh="dh", source=src,
                    color_mapper=self._cell_mapper if k == "c" else self._gate_mapper)
            f.rect("x", "y", 1, 1, source=self._marker, fill_color=None, line_color="#ef4444", line_width=2)
            f.xaxis.axis_label = "time step t"
            f.yaxis.axis_label = "unit"
            f.title.text_font_size = "13px"
            self._src[k] = src
            self.figs[k] = f
        self._cell_signs = ui.sign_marks(self.figs["c"])      # the cell state's sign by shape too
        for k, mapper in (("f", self._gate_mapper), ("c", self._cell_mapper)):
            self.figs[k].add_layout(ColorBar(color_mapper=mapper, width=8, major_label_text_font_size="10px"),
                                    "right")
            self.figs[k].width = 360

    @param.depends("example", "t", "unit", watch=True)
    def refresh(self) -> None:
        """Draw the race's LSTM as it is now (after the race's Pause, Step, Reset; a slider moved)."""
        r = self.race()
        self._bound(r)
        ex = int(self.example)
        g = r.gates(ex)
        T, H = g["c"].shape
        for k in ("i", "f", "o", "c"):
            a = g["c"] if k == "c" else g["gates"][k]
            self._src[k].data = dict(image=[a.T.astype(np.float32)], x=[-0.5], y=[-0.5], dw=[T], dh=[H])
            f = self.figs[k]
            f.x_range.start, f.x_range.end = -0.5, T - 0.5
            f.y_range.start, f.y_range.end = -0.5, H - 0.5
        m = float(np.max(np.abs(g["c"]))) if g["c"].size else 1.0
        m = max(m, 0.1) if np.isfinite(m) else 1.0
        self._cell_mapper.low, self._cell_mapper.high = -m, m
        t_idx, j_idx = np.meshgrid(np.arange(T), np.arange(H), indexing="ij")
        self._cell_signs.data = ui.sign_bars(self.figs["c"], t_idx, j_idx, g["c"] / m, size=(8, 8), stroke=1.6,
                                             cell=(1, 1))
        t, j = int(self.t), int(self.unit)
        self._marker.data = dict(x=[t], y=[j])
        v = r.gate_values(g, t, j)
        self._diagram.object = lstm_diagram_svg(v, t=t, unit=j)
        pred = int(np.argmax(g["probs"]))
        self._info.object = (
            f'<p data-testid="lstm-info" {ui.attrs(example=ex, t=t, unit=j, step=g["step"])} '
            f'{ui.attrs(**{k: ui.exact(v[k]) for k in ("f", "i", "o", "c")})}>'
            f'Test sequence {ex}: the class to remember is <b>{g["label"]}</b>; the LSTM says <b>{pred}</b> '
            f'({ui.pct(float(g["probs"][pred]), 0)}) after step {g["step"]:,} of training. Values of unit {j} '
            f'at t = {t} (red square in the heatmaps): the new cell state is f·c<sub>t−1</sub> + i·g = '
            f'{ui.num(v["f"], 2)}·({signed(v["c_prev"])}) + {ui.num(v["i"], 2)}·({signed(v["g"])}) = '
            f'{signed(v["c"])}.</p>')

    def _bound(self, r: GradientRace) -> None:
        """Slider ranges for this race (T and the hidden size change with its settings)."""
        limits = {"example": min(EXAMPLES, r.n_test) - 1, "t": r.T - 1, "unit": r.hidden - 1}
        for name, high in limits.items():
            self.param[name].bounds = (0, high)
            self._widgets[name].end = high
            if getattr(self, name) > high:
                with param.parameterized.discard_events(self):
                    setattr(self, name, high)
                self._widgets[name].value = high

    def _build_layout(self) -> None:
        W, p = pn.widgets, self.param
        self._widgets = {
            "example": W.IntSlider.from_param(p.example, name="Test sequence", throttled=True),
            "t": W.IntSlider.from_param(p.t, name="Time step t", throttled=True),
            "unit": W.IntSlider.from_param(p.unit, name="Unit", throttled=True),
        }
        self._diagram = pn.pane.HTML("", margin=(0, 5), width=640)
        self._info = ui.prose()
        self._layout = ui.screen(
            [ui.heading("Show", 0), *self._widgets.values(), ui.prose(HINT, margin=(10, 5, 0, 5))],
            [ui.prose(INTRO, math=True), self._info, self._diagram,
             pn.Row(pn.pane.Bokeh(self.figs["i"]), pn.pane.Bokeh(self.figs["f"])),
             pn.Row(pn.pane.Bokeh(self.figs["o"]), pn.pane.Bokeh(self.figs["c"]))])
