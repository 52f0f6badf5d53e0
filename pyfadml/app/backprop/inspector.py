"""The backprop inspector: the numbers of the last training step for one layer l, beside the lecture's formulas.

Every number comes from :meth:`pyfadml.demos.mlp.MLPDemo.inspect`; this module only lays them out as small
heat-mapped tables (full precision in each cell's ``data-v``, which the tests compare with the library).
"""
from __future__ import annotations

import numpy as np
import panel as pn
import param

from pyfadml.app import theme, ui

EXAMPLES_SHOWN = 4           # columns (examples) of the mini-batch shown

INTRO = """
<h3>Backprop inspector</h3>
<p class="secondary">The actual numbers of the last training step, for one layer \\(l\\), beside the lecture's formulas.
Each column \\(n\\) is one example (a column vector, as in the lecture: \\(z^l = W^l a^{l-1} + b^l\\); the RNN
section writes row vectors, \\(x_t W_x\\), the same product transposed).
<b>One example (N = 1)</b> shows the lecture's formulas exactly: one example and its own loss, so
\\(\\delta^L = a^L - y\\) and \\(\\partial \\mathcal{L}/\\partial b^l = \\delta^l\\).
<b>Mini-batch</b> shows what the training step used: the loss is the mean over the batch's \\(N\\) examples, so
\\(\\delta^l\\) carries a factor \\(1/N\\) and the parameter gradients add up all \\(N\\) contributions (the mean of
the per-example gradients).</p>
"""

MODES = {"One example (N = 1)": "example", "Mini-batch (mean over N)": "batch"}

FORMULAS = {
    "forward": r"$$z^l = W^l a^{l-1} + b^l$$",
    "activation": r"$$a^l = \sigma(z^l)$$",
    "activation_out": r"$$a^L = \mathrm{softmax}(z^L)$$",
    "delta": r"$$\delta^l = \frac{\partial \mathcal{L}}{\partial z^l}$$",
    "delta_out": r"$$\delta^L = \frac{\partial \mathcal{L}}{\partial z^L} = \frac{1}{N}\left(a^L - y\right)$$",
    "delta_out_1": r"$$\delta^L = \frac{\partial \mathcal{L}}{\partial z^L} = a^L - y$$",
    "dW": r"$$\frac{\partial \mathcal{L}}{\partial W^l} = \delta^l (a^{l-1})^T$$",
    "db": r"$$\frac{\partial \mathcal{L}}{\partial b^l} = \delta^l$$",
    "dW_batch": r"$$\frac{\partial \mathcal{L}}{\partial W^l} = \sum_n \delta^l_n (a^{l-1}_n)^T$$",
    "db_batch": r"$$\frac{\partial \mathcal{L}}{\partial b^l} = \sum_n \delta^l_n$$",
    "back": r"$$\delta^{l-1} = (W^l)^T \delta^l \odot \sigma'(z^{l-1})$$",
}

TABLE_CSS = theme.TABLE_CSS + """
.op { flex-wrap: nowrap; overflow-x: auto; padding-bottom: 4px; }
"""


def _sup(name: str, l: int) -> str:
    return f"{name}<sup>{l}</sup>"


def _sym(s: str) -> str:
    return f'<span class="sym">{s}</span>'


def _op(*parts) -> str:
    """One row of matrices; tabindex: a row wider than the card scrolls sideways, by keyboard too (WCAG 2.1.1)."""
    return ('<div class="op" tabindex="0" role="group" aria-label="matrices of this step">' + "".join(parts)
            + "</div>")


def matrix_html(name: str, caption: str, M, *, row_label: str = "", col_label: str = "n",
                col_offset: int = 0) -> str:
    """A small heat-mapped table with the numbers printed; full precision in each cell's ``data-v``."""
    M = np.atleast_2d(np.asarray(M, dtype=np.float64))
    rows, cols = M.shape
    finite = M[np.isfinite(M)]
    scale = float(np.max(np.abs(finite))) if finite.size else 0.0
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
            cells.append(f'<td data-v="{v!r}" title="{v!r}" style="background:rgb({r},{g},{b})">{ui.num(v)}</td>')
        label = f"{row_label}{i + 1}" if row_label else ""
        out.append(f"<tr><th>{label}</th>{''.join(cells)}</tr>")
    out.append("</table></figure>")
    return "".join(out)


class Inspector(ui.View):
    """The inspector card: a layer chooser, then one row per formula with that step's numbers."""

    layer = param.Integer(default=1, bounds=(1, None), doc="The layer l shown (1 = first hidden layer).")
    mode = param.Selector(default="example", objects=list(MODES.values()),
                          doc="example: the lecture's N = 1 formulas for one example; batch: the step's mini-batch.")
    example = param.Integer(default=1, bounds=(1, EXAMPLES_SHOWN), doc="The example n shown (N = 1 mode).")

    def __init__(self, demo, activation_names: dict[str, str], **params):
        super().__init__(**params)
        self.demo = demo                    # a callable: the section's current MLPDemo
        self._names = activation_names

        def formula(key):
            return ui.prose(FORMULAS[key], math=True, width=240, margin=(14, 10, 6, 10))

        def label(text):
            return ui.prose(f"<b>{text}</b>", margin=(12, 5, 5, 5), sizing_mode=None)

        self._chooser = pn.widgets.RadioButtonGroup(label="Inspect layer", options={"l = 1": 1}, value=1,
                                                    color="primary", variant="outline")
        self._chooser.param.watch(lambda event: self._chosen("layer", event.new), "value")
        self.head = ui.prose(css=TABLE_CSS, margin=(5, 10))
        self._mode = ui.toggle(self.param.mode, MODES, name="Inspect")
        self._example = pn.widgets.RadioButtonGroup(options={f"n = {k}": k for k in range(1, EXAMPLES_SHOWN + 1)},
                                                    value=1, color="primary", variant="outline")
        self._example.param.watch(lambda event: self._chosen("example", event.new), "value")
        self._f_act, self._f_delta = formula("activation"), formula("delta")
        self._f_dW, self._f_db = formula("dW"), formula("db")
        self.panes = {k: ui.prose(css=TABLE_CSS, margin=(4, 5)) for k in ("forward", "act", "delta", "dW", "db", "back")}
        p = self.panes
        rows = [(formula("forward"), p["forward"]), (self._f_act, p["act"]), (self._f_delta, p["delta"]),
                (self._f_dW, p["dW"]), (self._f_db, p["db"]), (formula("back"), p["back"])]
        self._layout = ui.card(
            ui.prose(INTRO, math=True, margin=(5, 10)),
            pn.Row(label("Show"), self._mode, self._example), pn.Row(label("Layer"), self._chooser), self.head,
            *[pn.Row(f, v, sizing_mode="stretch_width") for f, v in rows], margin=(16, 0, 0, 0))

    def _chosen(self, name: str, value) -> None:
        """A button of the layer or example row was pressed: show that one."""
        if value is not None and value != getattr(self, name):
            setattr(self, name, int(value))

    @param.depends("layer", "mode", "example", watch=True)
    def _layer_changed(self) -> None:
        self._example.visible = self.mode == "example"
        self.update()

    def set_layers(self, n_layers: int) -> None:
        """Offer l = 1 ... n_layers (the last is the output layer); keep the chosen layer if it still exists."""
        options = {f"l = {l}": l for l in range(1, n_layers)}
        options[f"l = {n_layers} (output)"] = n_layers
        layer = min(self.layer, n_layers)
        # options and value in one update, so the widget never holds a value its options lack
        self._chooser.param.update(options=options, value=layer)
        if layer != self.layer:
            self.layer = layer                       # updates the tables through _layer_changed

    def waiting(self) -> None:
        self.head.object = (
            '<p class="note" data-testid="inspector-step" data-step="-1">Training is running: the inspector '
            'waits. Press <b>Pause</b> or <b>Step</b> to see the numbers of the step just done.</p>')

    def update(self) -> None:
        d = self.demo()
        l = int(min(self.layer, d.n_layers))
        one = self.mode == "example"
        r = d.inspect(l)
        if r is not None and one:
            N = r["x"].shape[0]
            self._example.options = {f"n = {k}": k for k in range(1, min(EXAMPLES_SHOWN, N) + 1)}
            if self.example > N:
                self.example = 1                     # re-enters through the watcher
                return
            self._example.value = self.example
            r = d.inspect_example(l, self.example)
        out = l == d.n_layers
        self._f_act.object = FORMULAS["activation_out" if out else "activation"]
        self._f_delta.object = FORMULAS[("delta_out_1" if one else "delta_out") if out else "delta"]
        self._f_dW.object = FORMULAS["dW" if one else "dW_batch"]
        self._f_db.object = FORMULAS["db" if one else "db_batch"]
        p = self.panes
        if r is None:
            self.head.object = (
                '<p class="note" data-testid="inspector-step" data-step="0">No step yet: press <b>Step</b> '
                'to train one mini-batch and see every quantity of its backward pass.</p>')
            for pane in p.values():
                pane.object = ""
            return
        if one:
            self._show_example(r, l, out)
            return
        N = r["x"].shape[0]
        n = min(EXAMPLES_SHOWN, N)
        more = ", ..." if N > n else ""
        cols = lambda A: A[:n].T                    # noqa: E731  rows = units, columns = examples
        self.head.object = (
            f'<p class="note" data-testid="inspector-step" data-step="{r["step"]}" data-layer="{l}" '
            f'data-batch="{N}" data-mode="batch">Step {r["step"]}: its mini-batch of N = {N} examples (training rows '
            f'{", ".join(str(i + 1) for i in r["index"][:n])}{more}; labels y = '
            f'{", ".join(str(v) for v in r["y"][:n])}{more}), forward with the weights before the update, then '
            f'backward. Showing the first {n} examples as columns; batch loss = {ui.loss_text(r["loss"])}.</p>')
        prev = self._show_forward(r, l, out, cols, {})
        note = (f'<span class="note">softmax and cross-entropy together give {_sup("δ", l)} = '
                f'({_sup("a", l)} − onehot(y)) / N: the error of each class probability.</span>') if out else ""
        p["delta"].object = _op(matrix_html("delta", _sup("δ", l), cols(r["delta"]), row_label="j"), note)
        sum_delta = f"Σ<sub>n</sub> {_sup('δ', l)}<sub>n</sub>"
        p["dW"].object = _op(matrix_html(
            "dW", f"∂L/∂{_sup('W', l)} = {sum_delta} ({prev}<sub>n</sub>)<sup>T</sup>, all N = {N} examples",
            r["dW"], row_label="j", col_label="k"))
        p["db"].object = _op(matrix_html("db", f"∂L/∂{_sup('b', l)} = {sum_delta}", r["db"][:, None],
                                        row_label="j", col_label=""))
        self._show_back(r, l, cols, dict(row_label="k"))

    def _show_forward(self, r: dict, l: int, out: bool, cols, kw: dict) -> str:
        """z = W a + b and a = sigma(z) of the examples ``cols`` picks; returns the name of the layer's input."""
        sigma = "softmax" if out else self._names.get(r["activation"], r["activation"])
        prev = "x" if l == 1 else _sup("a", l - 1)
        self.panes["forward"].object = _op(
            matrix_html("W", _sup("W", l) + " (before the update)", r["W"], row_label="j", col_label="k"),
            _sym("·"), matrix_html("a_prev", prev, cols(r["a_prev"]), row_label="k", **kw),
            _sym("+"), matrix_html("b", _sup("b", l), r["b"][:, None], row_label="j", col_label=""),
            _sym("="), matrix_html("z", _sup("z", l), cols(r["z"]), row_label="j", **kw))
        self.panes["act"].object = _op(matrix_html("a", f"{_sup('a', l)} = {sigma}({_sup('z', l)})", cols(r["a"]),
                                                   row_label="j", **kw))
        return prev

    def _show_example(self, r: dict, l: int, out: bool) -> None:
        """The N = 1 view: example n of the step's mini-batch with its own loss, the lecture's formulas."""
        d, p, n, N = self.demo(), self.panes, r["n"], r["batch_size"]
        col = lambda A: A.T                          # noqa: E731  one column: the example
        self.head.object = (
            f'<p class="note" data-testid="inspector-step" data-step="{r["step"]}" data-layer="{l}" '
            f'data-batch="{N}" data-mode="example" data-example="{n}">Step {r["step"]}: example n = {n} of its '
            f'mini-batch of N = {N} (training row {int(r["index"][0]) + 1}, label y = {int(r["y"][0])}) alone, '
            f'with its own loss L<sub>{n}</sub> = {ui.loss_text(r["loss"])}; the weights are those before the '
            f'step\'s update. The step itself used the mean over all N examples: see <b>Mini-batch</b>.</p>')
        kw = dict(row_label="j", col_offset=n - 1)
        prev = self._show_forward(r, l, out, col, dict(col_offset=n - 1))
        note = (f'<span class="note">softmax and cross-entropy together give {_sup("δ", l)} = {_sup("a", l)} − y '
                f'(y one-hot): the error of each class probability.</span>') if out else ""
        p["delta"].object = _op(matrix_html("delta", _sup("δ", l), col(r["delta"]), **kw), note)
        rel = d.example_mean_diff(l)
        p["dW"].object = _op(
            matrix_html("dW", f"∂L<sub>{n}</sub>/∂{_sup('W', l)} = {_sup('δ', l)} ({prev})<sup>T</sup>", r["dW"],
                        row_label="j", col_label="k"),
            f'<span class="note" data-testid="inspector-mean" data-diff="{rel!r}">The mini-batch\'s '
            f'∂L/∂{_sup("W", l)} is the mean of these matrices over its N = {N} examples (largest difference '
            f'{rel:.1e}).</span>')
        p["db"].object = _op(matrix_html("db", f"∂L<sub>{n}</sub>/∂{_sup('b', l)} = {_sup('δ', l)}",
                                        r["db"][:, None], row_label="j", col_label=""))
        self._show_back(r, l, col, kw)

    def _show_back(self, r: dict, l: int, col, kw: dict) -> None:
        """delta^{l-1} from backprop beside the lecture's formula (or: backprop stops at l = 1)."""
        d, p = self.demo(), self.panes
        kw = {**kw, "row_label": "k"}
        if l > 1:
            diff, ok = r["delta_prev_diff"], r["delta_prev_agrees"]
            act = self._names.get(d.activation, d.activation)
            p["back"].object = _op(
                matrix_html("sigma_prime_prev", f"σ′({_sup('z', l - 1)}), σ = {act}", col(r["sigma_prime_prev"]),
                            **kw),
                matrix_html("delta_prev", f"{_sup('δ', l - 1)} from backprop", col(r["delta_prev"]), **kw),
                f'<span class="check{"" if ok else " bad"}" data-testid="backprop-check" data-diff="{diff!r}">'
                f'{"✓" if ok else "✗"} equals ({_sup("W", l)})<sup>T</sup>{_sup("δ", l)} ⊙ '
                f'σ′({_sup("z", l - 1)}) computed from the numbers above: largest difference {diff:.1e}</span>')
        else:
            p["back"].object = (
                '<p class="note" data-testid="backprop-stop">For l = 1 there is no δ<sup>0</sup>: '
                'a<sup>0</sup> = x is the data itself, with no weights below it to update. '
                'Backpropagation stops here.</p>')
