"""Section "RNN & LSTM": the three modes trained live, vanishing/exploding gradients, and the LSTM's gates.

Three tabs, one module each, every number from a demo of :mod:`pyfadml.demos` (these modules only draw):

* **Three modes** (:class:`~pyfadml.app.rnn.modes.ModesTab`, :class:`~pyfadml.demos.sequence.SequenceDemo`);
* **Vanishing & exploding gradients** (:class:`~pyfadml.app.rnn.race.RaceTab`,
  :class:`~pyfadml.demos.gradients.GradientRace`), with the exploding-gradient guard;
* **Inside the LSTM** (:class:`~pyfadml.app.rnn.lstm.GatesTab`): the race's LSTM, and the lecture's gate
  diagram (:func:`~pyfadml.app.rnn.diagram.lstm_diagram_svg`).

The two trainable tabs each have a :class:`~pyfadml.app.live.LiveTraining` (keys ``rnn-modes`` and
``rnn-race``); only one trains at a time: playing one pauses the other.
"""
from __future__ import annotations

import panel as pn

from pyfadml.app import ui
from pyfadml.app.live import LiveTraining
from pyfadml.app.rnn.diagram import lstm_diagram_svg
from pyfadml.app.rnn.lstm import GatesTab
from pyfadml.app.rnn.modes import ModesTab
from pyfadml.app.rnn.race import RaceTab
from pyfadml.demos.gradients import ExplodingGradientError

__all__ = ["RNNSection", "ModesTab", "RaceTab", "GatesTab", "lstm_diagram_svg", "ExplodingGradientError"]

INTRO = """
<h2>RNN &amp; LSTM</h2>
<p class="secondary">A recurrent network <b>stores past information in an internal memory</b>, its hidden
state, updated after each element of the sequence. Unfolded over time it is a deep network with one layer per
time step, all sharing the same weights, and it learns by backpropagation through time.</p>
"""

FORMULAS = {
    "RNN": ('<p data-testid="rnn-formula" data-cell="RNN">The vanilla RNN cell: '
            "\\(h_t = \\tanh(x_t W_x + h_{t-1} W_h + b)\\).</p>"),
    "LSTM": ('<p data-testid="rnn-formula" data-cell="LSTM">The LSTM cell: gates '
             "\\(i_t, f_t, o_t = \\sigma(x_t W_x + h_{t-1} W_h + b)\\) (each its own weights), candidate "
             "\\(g_t = \\tanh(x_t W_x^g + h_{t-1} W_h^g + b^g)\\), cell state "
             "\\(c_t = f_t \\odot c_{t-1} + i_t \\odot g_t\\), hidden state "
             "\\(h_t = o_t \\odot \\tanh(c_t)\\). The lecture's <b>four interacting layers</b> of the repeating "
             "module are these four: three sigmoid layers (the forget, input and output gates, each followed by "
             "an element-wise multiplication) and one tanh layer (the candidate values g<sub>t</sub> that may be "
             "added to the cell state).</p>"),
}
ROW_VECTORS = ('<p class="muted secondary" data-testid="rnn-row-vectors">Here a time step\'s input '
               "\\(x_t\\) and hidden state \\(h_t\\) are <b>row vectors</b>, multiplied from the right "
               "(\\(x_t W_x\\)), as the library stores a batch (one row per sequence). The Backprop section "
               "writes one example as a <b>column vector</b>, \\(z^l = W^l a^{l-1} + b^l\\), as the lecture "
               "does: the same product, transposed (\\(W_x\\) here plays the role of \\((W^l)^T\\) there).</p>")
TABS = ("Three modes", "Vanishing & exploding gradients", "Inside the LSTM")


class RNNSection(ui.Section):
    """Three tabs: the three modes, the gradient race (RNN vs LSTM), the LSTM's gates."""

    title = "RNN & LSTM"

    def __init__(self, **params):
        super().__init__(**params)
        self.modes = ModesTab()
        self.gates = None
        self.race = RaceTab(on_redraw=self._race_redrawn)
        self.gates = GatesTab(lambda: self.race.demo)
        self.one_at_a_time(*self.live_controllers)
        self._intro = ui.prose(INTRO)
        self._formula = ui.prose(math=True, margin=(0, 5, 4, 5))
        self.modes.param.watch(lambda event: self._show_formula(), "cell")
        self._show_formula()
        self._tabs = pn.Tabs(*zip(TABS, (self.modes, self.race, self.gates)), dynamic=True,
                             sizing_mode="stretch_width")
        self._tabs.param.watch(self._tab_changed, "active")
        self._layout = pn.Column(self._intro, self._formula, self._tabs, sizing_mode="stretch_width")

    @property
    def live_controllers(self) -> tuple[LiveTraining, ...]:
        return (self.modes.live, self.race.live)

    def scene_params(self) -> list:
        """The settings the page's address holds (:mod:`pyfadml.app.scene`): the tab, the modes tab's and the
        race's settings."""
        return ([("tab", self._tabs, "active")]
                + [(name, self.modes, name) for name in ("mode", "cell", "hidden", "lr")]
                + [("race_" + name, self.race, name) for name in ("seq_len", "optimizer", "recurrent_scale", "lr")])

    def _show_formula(self) -> None:
        """The header shows the formula of the cell chosen in the modes tab (the race always runs both)."""
        self._formula.object = FORMULAS[self.modes.cell] + ROW_VECTORS

    def _race_redrawn(self) -> None:
        if self.gates is not None:
            self.gates.refresh()

    def _tab_changed(self, event) -> None:
        if event.new == 2:
            self.gates.refresh()

    # the race's ways out of an explosion, also here for scripts and tests
    def force_step(self, event=None) -> None:
        self.race.force_step()

    def clip_and_continue(self, event=None) -> None:
        self.race.clip_and_continue()
