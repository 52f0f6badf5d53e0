"""Work in and out of a section: download the model being trained, load a model saved by ``pyfadml.save``,
download the training history as CSV.

:class:`TakeAway` is the little card a section puts under its Play/Pause/Step/Reset row. The section says
what to save (``model()``, ``step()``, ``history()``) and how to take a model in (``accept(model, name)``):

* **Download model** writes ``<key>-step<k>.npz`` in the format of :func:`pyfadml.save` (an ``.npz`` with
  the architecture as JSON and one array per parameter, no pickle); natively ``pyfadml.load(path)`` rebuilds
  it.
* **Load model** reads an ``.npz`` with :func:`pyfadml.io.from_bytes` (which checks the file before it allocates
  anything), then hands the model to the section's ``accept``, which checks that it fits (architecture,
  input and output sizes) *before* it changes anything and raises ``ValueError`` naming the mismatch
  otherwise. Every refusal is an inline note under the control; the page is left as it was.
* **Figures as PNG**: the figures a section names get Bokeh's own save tool (a toolbar shown while the
  pointer is over the plot), which draws the canvas into a PNG in the page, offline and under the CSP.
* **Download history (CSV)** writes the section's :class:`pyfadml.history.History`, one row per evaluated
  step, every number in full precision (``repr``), so a notebook reads exactly what the page computed.

The downloads are Panel ``FileDownload`` buttons: a click asks Python for the bytes, which come back as a
``data:`` URL that the page turns into a Blob and saves (no request, nothing leaves the computer; the CSP
allows it).
"""
from __future__ import annotations

import io
from html import escape
from typing import Any, Callable

import panel as pn

from pyfadml.app import theme, ui
from pyfadml.history import to_csv
from pyfadml.io import from_bytes, to_bytes

MAX_MODEL_PARAMS = 1_000_000         # no section trains more than ~100k parameters

TAKEAWAY_CSS = f"""
.takeaway-title {{ font-size: 13px; font-weight: 600; color: {theme.INK}; margin: 8px 0 0 0; }}
.takeaway-hint {{ font-size: 12px; color: {theme.MUTED}; margin: 0; line-height: 1.3; }}
"""


def add_save_tool(fig, filename: str) -> None:
    """Bokeh's own save tool on ``fig``: a toolbar inside the plot, shown while the pointer is over it; the
    click saves the figure as ``<filename>.png`` (drawn by BokehJS from its canvas: nothing leaves the page)."""
    from bokeh.models import SaveTool

    fig.add_tools(SaveTool(filename=filename, description="Save this figure as a PNG image"))
    fig.toolbar_location = "right"
    fig.toolbar_inner = True
    fig.toolbar.autohide = True
    fig.toolbar.logo = None


class TakeAway(ui.View):
    """Download model / Load model / Download history (CSV) for one live section (``key`` names it:
    ``<key>-step<k>.npz``, ``<key>-history-step<k>.csv``, CSS classes ``<key>-download-model``,
    ``<key>-load-model``, ``<key>-download-history``, note ``data-testid=<key>-model-note``); ``figures``
    (``{name: bokeh figure}``) get Bokeh's save tool, saving ``<key>-<name>.png``. A section training several
    models side by side passes ``models={name: getter}`` instead of ``model``: one "Download <name>" button
    each (``<key>-<name>-step<k>.npz``, CSS class ``<key>-download-<name>``)."""

    def __init__(self, key: str, *, model: Callable[[], Any] | None = None, step: Callable[[], int],
                 history: Callable[[], dict], accept: Callable[[Any, str], str] | None = None,
                 max_params: int = MAX_MODEL_PARAMS, figures: dict | None = None,
                 models: dict[str, Callable[[], Any]] | None = None, **params):
        super().__init__(**params)
        for name, fig in (figures or {}).items():          # each figure saves itself as <key>-<name>.png
            add_save_tool(fig, f"{key}-{name}")
        self.key, self.model, self.step, self.history, self.accept = key, model, step, history, accept
        self.max_params = max_params
        self.last_note = ""
        W = pn.widgets
        self._downloads = {}
        for name, getter in (models or {"model": model}).items():
            suffix = "" if models is None else f"-{name.lower()}"
            self._downloads[name] = W.FileDownload(
                filename=f"{key}{suffix}-step0.npz", label=f"Download {name}", auto=True,
                embed=False, color="primary", variant="outline", sizing_mode="stretch_width",
                css_classes=[f"{key}-download-{name.lower()}"], margin=(4, 3),
                description="Save the weights being trained, in pyfadml.save's format: "
                            "pyfadml.load(path) rebuilds the model in Python.")
            self._downloads[name].callback = (lambda name=name, getter=getter, suffix=suffix:
                                              self._model_file(name, getter, suffix))
        self._download = next(iter(self._downloads.values()))
        self._csv = W.FileDownload(
            callback=self._history_file, filename=f"{key}-history.csv", label="History (CSV)", auto=True,
            embed=False, color="default", sizing_mode="stretch_width",
            css_classes=[f"{key}-download-history"], margin=(4, 3),
            description="The loss and accuracy of every evaluated step, as a CSV table.")
        buttons = [*self._downloads.values(), self._csv]       # two a row: the labels fit the 300 px column
        rows: list = [pn.Row(*buttons[i:i + 2], margin=0, sizing_mode="stretch_width")
                      for i in range(0, len(buttons), 2)]
        if accept is not None:
            self._upload = W.FileInput(accept=".npz", multiple=False, sizing_mode="stretch_width",
                                       css_classes=[f"{key}-load-model"], margin=(2, 5),
                                       description="A model saved by pyfadml.save (or downloaded here) "
                                                   "that fits this section.")
            self._upload.param.watch(self._uploaded, ["value", "filename"])   # one call when both change
            self._last_upload: tuple | None = None
            rows += [pn.pane.HTML("<p class='takeaway-title'>Load model (.npz from pyfadml.save)</p>",
                                  stylesheets=[TAKEAWAY_CSS], margin=(0, 5)), self._upload]
        self._note = pn.pane.HTML(ui.note_html(testid=f"{key}-model-note"), stylesheets=[ui.NOTE_CSS],
                                  sizing_mode="stretch_width", margin=(0, 5))
        self._layout = pn.Column(*rows, self._note, margin=(6, 0, 0, 0), sizing_mode="stretch_width")

    # downloads -----------------------------------------------------------------------------------

    def _model_file(self, name: str = "model", getter=None, suffix: str = "") -> io.BytesIO:
        self._downloads[name].filename = f"{self.key}{suffix}-step{int(self.step())}.npz"
        return io.BytesIO(to_bytes((getter or self.model)()))

    def _history_file(self) -> io.BytesIO:
        self._csv.filename = f"{self.key}-history-step{int(self.step())}.csv"
        return io.BytesIO(to_csv(self.history()).encode("utf-8"))

    # upload --------------------------------------------------------------------------------------

    def set_note(self, text: str, kind: str = "error") -> None:
        self.last_note = text
        self._note.object = ui.note_html(escape(text), kind=kind, testid=f"{self.key}-model-note")

    def _uploaded(self, *events) -> None:
        data, name = self._upload.value, self._upload.filename or "the file"
        if data is None or (name, len(data), hash(data)) == self._last_upload:
            return
        self._last_upload = (name, len(data), hash(data))
        self.load_bytes(data, name)

    def load_bytes(self, data: bytes, name: str = "the file") -> bool:
        """Read a model from ``data`` and hand it to the section; the note says what happened. True if
        the section took it."""
        try:
            model = from_bytes(data, name, max_params=self.max_params)
            message = self.accept(model, name)
        except ValueError as exc:
            self.set_note(str(exc))
            return False
        self.set_note(message, kind="info")
        return True

