"""The Backprop section's ways in and out of the page: the settings a link holds, a model loaded from a file
(:class:`pyfadml.app.workio.TakeAway` calls :meth:`WorkInOut.accept_model`) and your own points from a CSV.

A mixin of :class:`pyfadml.app.backprop.section.BackpropSection`, which owns the parameters, the demo, the
live controller and the widgets used here.
"""
from __future__ import annotations

from html import escape

import panel as pn

from pyfadml.app import ui
from pyfadml.data.points import parse_points
from pyfadml.demos.mlp import CUSTOM

DATASET_LABELS = {"XOR": "xor", "Circles": "circles", "Moons": "moons", "Spiral (3 classes)": "spiral",
                  "Gaussian blobs": "gaussians"}
ACTIVATION_LABELS = {"tanh": "tanh", "ReLU": "relu", "sigmoid": "sigmoid", "leaky ReLU": "leaky_relu"}


class WorkInOut:
    """Links, model files and CSV points for the Backprop section (a mixin)."""

    def scene_params(self) -> list:
        """The settings the page's address holds (:mod:`pyfadml.app.scene`)."""
        names = ("dataset", "noise", "seed", "depth", "breadth", "activation", "lr", "batch_size", "steps_per_frame")
        return [(name, self, name) for name in names if not (name == "dataset" and self.dataset == CUSTOM)]

    def accept_model(self, model, name: str = "the file") -> str:
        """Show ``model`` (e.g. from ``pyfadml.load``) in this section: its depth, breadth and activation become
        the settings (a reset, same data), then its weights replace the new ones (step 0). Raises ValueError
        naming the mismatch, with nothing changed, unless :meth:`MLPDemo.settings_for` finds it fits."""
        settings = self.demo.settings_for(model, name)
        self.live.restart(**settings)
        self.demo.load_weights(model, name)
        self._on_new_demo(architecture_changed=True)
        n = sum(p.size for _, p, _ in model.parameters(trainable_only=False))
        depth = settings["depth"]
        return self.live.say(f"Loaded {name}: {depth} hidden layer{'s' if depth > 1 else ''} of "
                             f"{settings['breadth']} ({settings['activation']}), {n} weights, shown at step 0 "
                             f"of a new run.")

    def load_points(self, data: bytes, name: str = "the file") -> bool:
        """Your own points from CSV bytes (see :mod:`pyfadml.data.points`): on success the dataset
        becomes them (a reset); otherwise a red note names the first bad row and nothing changes."""
        try:
            points = parse_points(data, name)
        except ValueError as exc:
            self._points_note.object = ui.note_html(escape(str(exc)), testid="points-note")
            return False
        self._points = {**points, "name": name}
        self._widgets["dataset"].options = {**DATASET_LABELS, f"Your points ({name})"[:60]: CUSTOM}
        if self.dataset == CUSTOM:
            self.live.reset()
        else:
            self.dataset = CUSTOM                    # a reset with the new points
        labels = ", ".join(points["labels"][:8])
        self._points_note.object = ui.note_html(
            escape(f"{len(points['y']):,} points of {len(points['labels'])} classes ({labels}) from {name}, "
                   f"centred and scaled by 1/{points['scale']:.3g} (the network sees these coordinates)."),
            kind="info", testid="points-note")
        return True

    def _points_uploaded(self, *events) -> None:
        box = self._points_input
        key = (box.filename, hash(box.value))
        if box.value is not None and key != getattr(self, "_last_points", None):
            self._last_points = key
            self.load_points(box.value, box.filename or "the file")

    def scene_check(self, name: str, value) -> None:
        """A link cannot carry your own points (:mod:`pyfadml.app.scene` asks before it applies a value)."""
        if name == "dataset" and value == CUSTOM:
            raise ValueError("one of the built-in datasets: your own points cannot travel in a link")

    def _points_column(self) -> pn.Column:
        """The CSV file input and its note, for the Data group."""
        W = pn.widgets
        self._points_input = W.FileInput(accept=".csv,text/csv,text/plain", multiple=False,
                                         sizing_mode="stretch_width", css_classes=["backprop-load-points"],
                                         margin=(2, 5),
                                         description="A CSV of x, y, label rows (2 to 8 classes, at most 5,000 "
                                                     "points): choose it or drop it here.")
        self._points_input.param.watch(self._points_uploaded, ["value", "filename"])
        self._points_note = ui.prose(ui.note_html(testid="points-note"), css=ui.NOTE_CSS)
        return pn.Column(ui.prose("<p class='muted' style='margin:4px 0 0 0'>Your own points (CSV: x, y, label), "
                                  "chosen or dropped here:</p>", sizing_mode=None),
                         self._points_input, self._points_note, margin=0, sizing_mode="stretch_width")


