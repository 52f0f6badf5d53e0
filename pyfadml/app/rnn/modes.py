"""Tab "Three modes": an RNN or LSTM trained live on many-to-one, one-to-many or many-to-many.

Everything drawn comes from :class:`pyfadml.demos.sequence.SequenceDemo`: the network unrolled over one test
sequence (:class:`~pyfadml.app.rnn.unfold.UnfoldedView`), the loss curves and the predictions against the
targets. Play / Pause / Step / Reset, clipping and divergence are the shared
:class:`~pyfadml.app.live.LiveTraining` (key ``rnn-modes``).
"""
from __future__ import annotations

from html import escape

import panel as pn
import param
from bokeh.models import ColumnDataSource, FixedTicker, Range1d, Span

from pyfadml.app import theme, ui
from pyfadml.app.rnn.parts import CLIP, live_training
from pyfadml.app.rnn.unfold import UnfoldedView
from pyfadml.app.workio import TakeAway
from pyfadml.demos.sequence import MODE_INFO, MODES, SequenceDemo

LEARNING_RATES = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0]
MODE_LABELS = {"Many-to-one: sentiment": "many-to-one", "One-to-many: image captioning": "one-to-many",
               "Many-to-many: toy translation": "many-to-many"}
EXAMPLES_M2O = 16             # test sentences in the many-to-one prediction plot


class ModesTab(ui.View):
    """Controls on the left; the task, the numbers, the unfolded network, loss and predictions."""

    mode = param.Selector(default="many-to-one", objects=list(MODES))
    cell = param.Selector(default="RNN", objects=["RNN", "LSTM"])
    hidden = param.Integer(default=16, bounds=(4, 32))
    lr = param.Selector(default=0.01, objects=LEARNING_RATES)
    example = param.Integer(default=0, bounds=(0, 15))

    def __init__(self, **params):
        super().__init__(**params)
        self.demo = self._new_demo()
        self._first: dict | None = None          # the evaluation at step 0 (the curve's start)
        self._row: dict | None = None            # the latest evaluation
        self.unfolded = UnfoldedView()
        self._build_plots()
        self.live = live_training("rnn-modes", self, resets=("mode", "cell", "hidden"))
        self.takeaway = TakeAway("rnn", model=lambda: self.demo.model, step=lambda: self.demo.step_count,
                                 history=lambda: self.demo.history, accept=self.accept_model,
                                 figures={"loss": self.loss_fig, "predictions": self.pred_fig})
        self._build_layout()
        self._on_new_demo()

    # ------------------------------------------------------------------------------------------
    # the demo
    # ------------------------------------------------------------------------------------------

    def accept_model(self, model, name: str = "the file") -> str:
        """Show ``model`` (e.g. from ``pyfadml.load``): an RNN or LSTM cell and a Dense layer, as one of the three
        modes builds them. Mode, cell and hidden size follow the file (a reset, same data), then its weights
        replace the new ones (step 0). Raises ValueError naming the mismatch, with nothing changed, otherwise."""
        s = self.demo.settings_for(model, name)
        low, high = self.param.hidden.bounds
        if not low <= s["hidden"] <= high:
            raise ValueError(f"{name} does not fit: {s['hidden']} hidden units; this tab has {low} to {high}.")
        self.live.restart(mode=s["mode"], cell=s["cell"].upper(), hidden=s["hidden"])
        self.demo.load_weights(model, name)
        self._on_new_demo()
        return self.live.say(f"Loaded {name}: {s['cell'].upper()} with {s['hidden']} hidden units for "
                             f"{s['mode']}, shown at step 0 of a new run.")

    def _new_demo(self) -> SequenceDemo:
        return SequenceDemo(mode=self.mode, cell=self.cell.lower(), hidden=int(self.hidden), lr=float(self.lr),
                            clip_norm=CLIP)

    def _reset_demo(self) -> None:
        self.demo = self._new_demo()
        self._on_new_demo(redraw=False)

    @param.depends("example", watch=True)
    def _example_changed(self) -> None:
        self._draw_views()

    # ------------------------------------------------------------------------------------------
    # plots (built once)
    # ------------------------------------------------------------------------------------------

    def _build_plots(self) -> None:
        loss, self._loss_src = ui.loss_figure(height=250)
        self.loss_fig = loss

        pred = ui.figure(width=430, height=250, x_range=Range1d(-0.7, 15.7), y_range=Range1d(-0.08, 1.08))
        self._pred_src = ColumnDataSource(dict(x=[], pred=[], target=[]))
        self._target_line = pred.line("x", "target", source=self._pred_src, color="#94a3b8", line_width=1.5)
        t_marks = pred.scatter("x", "target", source=self._pred_src, marker="square", size=10, fill_color=None,
                               line_color=theme.INK, line_width=1.4)
        self._pred_line = pred.line("x", "pred", source=self._pred_src, color=theme.ACCENT, line_width=2)
        p_marks = pred.scatter("x", "pred", source=self._pred_src, size=7, color=theme.ACCENT)
        self._half = Span(location=0.5, dimension="width", line_color=theme.MUTED, line_dash="dashed", line_width=1)
        pred.add_layout(self._half)
        ui.legend(pred, {"target": t_marks, "prediction": p_marks}, "above", orientation="horizontal", padding=2,
                  margin=2, border_line_color=None)
        self.pred_fig = pred

    def _set_y_axis(self, ticks: list[float], labels: list[str], label: str) -> None:
        """The prediction plot's y axis for this mode: its ticks, a label for *every* tick, its title.

        Every tick gets its label explicitly, so no label of another mode can survive a mode change
        (issue 9, item 6: the symbols A/B stayed on the many-to-one axis after visiting many-to-many)."""
        axis = self.pred_fig.yaxis[0]
        axis.ticker = FixedTicker(ticks=list(ticks), minor_ticks=[])
        axis.major_label_overrides = {float(t): text for t, text in zip(ticks, labels)}
        axis.axis_label = label

    def _layout_pred_fig(self) -> None:
        d, f = self.demo, self.pred_fig
        if d.mode == "many-to-one":
            f.x_range.start, f.x_range.end = -0.7, EXAMPLES_M2O - 0.3
            f.y_range.start, f.y_range.end = -0.08, 1.08
            f.xaxis.axis_label = f"test sentence (the first {EXAMPLES_M2O})"
            ticks = [0, 0.25, 0.5, 0.75, 1]
            self._set_y_axis(ticks, [ui.num(t) for t in ticks], "P(positive)")
        else:
            k = len(d.class_names)
            f.x_range.start, f.x_range.end = -0.5, d.T - 0.5
            f.y_range.start, f.y_range.end = -0.5, k - 0.5
            f.xaxis.axis_label = "time step t"
            self._set_y_axis(list(range(k)), list(d.class_names),
                             "French word" if d.mode == "many-to-many" else "caption word")
        self._half.visible = d.mode == "many-to-one"
        self._pred_line.visible = self._target_line.visible = False

    # ------------------------------------------------------------------------------------------
    # drawing
    # ------------------------------------------------------------------------------------------

    def _on_new_demo(self, *, redraw: bool = True) -> None:
        d = self.demo
        row = self._first = self._row = d.evaluate()
        # the curve starts with this point: a log axis with no data makes Bokeh log a warning at every change
        self._loss_src.data = self._loss_point(row)
        if self.example >= min(EXAMPLES_M2O, d.n_test):
            self.example = 0
        self._layout_pred_fig()
        info = MODE_INFO[d.mode]
        self._task.object = (f"<h3>{escape(d.mode.capitalize())}: {escape(info['task'])}</h3>"
                             f"<p>The {self.cell} {escape(info['what'])}</p>")
        if redraw:
            self.redraw()

    def redraw(self) -> None:
        """Everything (after Pause, Step, Reset and a recovery)."""
        self._evaluate()
        self._draw_views()

    def _evaluate(self) -> None:
        row = self._row = self.demo.evaluate()
        if self._first is None:
            self._first = row
        ui.stream_new(self._loss_src, self._loss_point(row))
        self._update_stats()

    @staticmethod
    def _loss_point(row: dict) -> dict:
        return dict(step=[row["step"]], train=[max(row["train_loss"], 1e-6)], test=[max(row["test_loss"], 1e-6)])

    def _draw_views(self) -> None:
        u = self.demo.unfold(int(self.example))
        self.unfolded.draw(u)
        self._draw_image(u)
        self._draw_predictions()
        self._update_stats()

    def _draw_image(self, u: dict) -> None:
        """One-to-many: the test image the caption is about (the input x at t = 0), the caption and what the
        network says."""
        d = self.demo
        self._image.visible = d.mode == "one-to-many"
        if d.mode != "one-to-many":
            return
        img = d.image(int(self.example))
        px = 9
        rects = "".join(f'<rect x="{j * px}" y="{i * px}" width="{px}" height="{px}" '
                        f'fill="rgb({int(255 - 230 * v)},{int(255 - 226 * v)},{int(255 - 214 * v)})"/>'
                        for i, row in enumerate(img) for j, v in enumerate(row))
        said = " ".join(u["y_labels"])
        want = " ".join(u["target_labels"])
        self._image.object = (
            f'<div style="display:flex;gap:14px;align-items:center" data-testid="caption-example" '
            f'data-said="{escape(said)}" data-target="{escape(want)}">'
            f'<svg width="{px * img.shape[1]}" height="{px * img.shape[0]}" role="img" '
            f'aria-label="test image {int(self.example)}" style="border:1px solid #cbd5e1">{rects}</svg>'
            f'<p style="margin:0">Test image {int(self.example)} (the input at t = 0, 10×10 pixels).<br>'
            f'Caption: <b>{escape(want)}</b><br>The network says: <b>{escape(said)}</b></p></div>')

    def _draw_predictions(self) -> None:
        p = self.demo.predictions(int(self.example), n=EXAMPLES_M2O)
        self._pred_src.data = dict(x=list(range(len(p["pred"]))), pred=p["pred"].tolist(), target=p["target"].tolist())

    def _update_stats(self) -> None:
        d, row = self.demo, self._row
        if row is None:
            return
        first = self._first or row
        stats = [("seq-step", "Step", d.step_count, f"{d.step_count:,}"), *ui.train_test_stats(row, "seq-", acc=False)]
        if d.is_classification:
            stats.append(("seq-test-acc", "Test acc.", row["test_acc"], ui.pct(row["test_acc"])))
        self._stats.object = ui.stats_html(
            stats, testid="seq-stats", mode=d.mode, cell=d.cell, step=d.step_count, lr=ui.exact(d.lr),
            clip="off" if d.clip_norm is None else ui.exact(d.clip_norm),
            first_loss=ui.exact(first["test_loss"]), loss=ui.exact(row["test_loss"]), eval_step=row["step"],
            y_ticks=",".join(f"{t:g}" for t in self.pred_fig.yaxis[0].ticker.ticks),
            y_labels=",".join(self.pred_fig.yaxis[0].major_label_overrides.values())) + ui.stats_line(d.describe())

    # ------------------------------------------------------------------------------------------
    # widgets and layout
    # ------------------------------------------------------------------------------------------

    def _build_layout(self) -> None:
        W, p = pn.widgets, self.param
        w = self._widgets = {
            "mode": W.Select.from_param(p.mode, name="Mode", options=MODE_LABELS),
            "cell": ui.toggle(p.cell, name="Cell"),
            "hidden": W.IntSlider.from_param(p.hidden, name="Hidden units", throttled=True),
            "lr": ui.select(p.lr, "Learning rate (Adam)"),
            "example": W.IntSlider.from_param(p.example, name="Test sequence shown", throttled=True),
        }
        self._task = ui.prose()
        self._image = ui.prose(visible=False)
        self._stats = ui.stats_pane()
        self._layout = ui.screen(
            [self.live, ui.heading("Task"), w["mode"], ui.prose("<span class='muted'>Cell</span>", margin=(6, 5, 0, 5)),
             w["cell"], ui.heading("Training"), w["hidden"], w["lr"], ui.heading("View"), w["example"],
             ui.heading("Model and history"), self.takeaway],
            [self._task, self._image, self._stats,
             ui.prose("<h3>Unfolded over time</h3><p class='muted secondary'>The same cell at every time step, for "
                   "one test sequence. Middle: the hidden state h<sub>t</sub> (one square per unit; blue "
                   "and + positive, orange and − negative; point at one to read its value), passed to the next step. "
                   "Bottom: the inputs x<sub>t</sub>. Top: the outputs y<sub>t</sub> (green right, red wrong) "
                   "and, above them, the targets.</p>"),
             pn.pane.Bokeh(self.unfolded.fig),
             pn.Row(pn.Column(ui.prose("<h3>Loss</h3><p class='muted'>Mean loss on the whole train and test sets "
                                    "(log scale).</p>"), pn.pane.Bokeh(self.loss_fig)),
                    pn.Column(ui.prose("<h3>Predictions against targets</h3><p class='muted'>□ target, ● the "
                                    "network's prediction.</p>"), pn.pane.Bokeh(self.pred_fig)))])
