"""Reusable widgets of the app's sections (presentation only, no maths).

:class:`PixelEditor` is a grid of pixels shown as coloured squares: an image the student can edit by
clicking (or dragging across), or a read-only heatmap with the value printed in each cell. Its state is one
parameter, ``value``, a 2-D NumPy array (row 0 at the top), so a section watches it like any other param::

    editor = PixelEditor(value=lecture_x(), values=(-1.0, 1.0), vmin=-1, vmax=1, cmap="ink")
    editor.param.watch(lambda event: redraw(event.new), "value")

A click sets the pixel under the pointer to the next entry of ``values`` (with two values: a toggle); with
``brush`` set, a click or a drag paints that value instead. The grid is drawn with Bokeh (one ``rect`` glyph
whose colours are computed here), and clicks arrive as Bokeh ``Tap``/``Pan`` events handled in Python: no
JavaScript of our own, so it works under the offline site's strict Content-Security-Policy.
"""
from __future__ import annotations

from html import escape

import numpy as np
import panel as pn
import param
from bokeh import events
from bokeh.models import ColumnDataSource, Range1d
from bokeh.plotting import figure

from pyfadml.app import theme, ui

__all__ = ["PixelEditor", "colour_cells"]

_BLACK = np.array([17.0, 24.0, 39.0])        # the lecture's black pixel (+1): near-black ink
_WHITE = np.array([255.0, 255.0, 255.0])

CMAPS = ("ink", "diverging", "gray")
"""``ink``: vmin white -> vmax black (the lecture's +1 black / -1 white, or ink on paper);
``diverging``: orange (negative) - white (0) - blue (positive), symmetric about 0;
``gray``: vmin black -> vmax white."""


def _hex(rgb: np.ndarray) -> list[str]:
    rgb = np.clip(np.round(rgb), 0, 255).astype(np.int64)
    return ["#%02x%02x%02x" % tuple(c) for c in rgb.reshape(-1, 3)]


def colour_cells(value: np.ndarray, cmap: str, vmin: float | None, vmax: float | None):
    """Fill colours and legible text colours (hex strings, row-major) for every cell of ``value``.

    ``vmin``/``vmax`` None: taken from the data (for ``diverging``, symmetric: +-max|v|). NaN cells are light
    grey.
    """
    v = np.asarray(value, dtype=np.float64)
    finite = np.isfinite(v)
    if cmap == "diverging":
        m = float(np.max(np.abs(v[finite]))) if finite.any() else 0.0
        hi = vmax if vmax is not None else (m if m > 0 else 1.0)
        rgb = theme.diverging_rgb(np.where(finite, v, 0.0) / hi)
        dark = np.abs(np.where(finite, v, 0.0)) / hi > 0.6
    else:
        lo = vmin if vmin is not None else (float(v[finite].min()) if finite.any() else 0.0)
        hi = vmax if vmax is not None else (float(v[finite].max()) if finite.any() else 1.0)
        t = np.clip((np.where(finite, v, lo) - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.0)[..., None]
        if cmap == "ink":
            rgb = _WHITE + t * (_BLACK - _WHITE)
            dark = t[..., 0] > 0.5
        else:
            rgb = _BLACK + t * (_WHITE - _BLACK)
            dark = t[..., 0] < 0.5
    rgb = np.where(finite[..., None], rgb, 235.0)
    fill = _hex(rgb)
    text = ["#ffffff" if d else theme.INK for d in dark.ravel()]
    return fill, text


class Grid(param.Array):
    """A ``param.Array`` that must be a non-empty 2-D numeric array (a grid of pixels)."""

    def _validate(self, val):
        super()._validate(val)
        if val is None:
            return
        if val.ndim != 2 or val.size == 0 or not np.issubdtype(val.dtype, np.number):
            raise ValueError(f"{self.name}: expected a non-empty 2-D numeric array, got shape {val.shape} "
                             f"and dtype {val.dtype}")


def _fmt(v: float) -> str:
    if not np.isfinite(v):
        return ""
    if v == round(v) and abs(v) < 1e4:
        return str(int(round(v))).replace("-", "\u2212")
    return f"{v:.2g}".replace("-", "\u2212")


class PixelEditor(ui.View):
    """A clickable pixel grid (or a read-only heatmap) whose state is ``value``, a 2-D array.

    Parameters: ``value`` (2-D float array; assign a new array to redraw, shape changes allowed),
    ``values`` (what a click cycles through), ``brush`` (None: cycle; a number: click/drag paints it),
    ``editable``, ``show_values`` (print each cell's value), ``highlight`` (list of (row, col) cells outlined,
    e.g. the maximum), ``window`` ((row, col, height, width) rectangle drawn over the grid, or None),
    ``cmap`` (one of :data:`CMAPS`), ``vmin``/``vmax`` (None: from the data), ``cell_size`` (pixels per
    cell on screen), ``label`` (caption above the grid), ``grid_id`` (names the grid in the page, for tests),
    ``visible``.

    Each edit replaces ``value`` with a new float64 array (so watchers fire once per click) and increments
    ``edits``. Tests and pages read the grid's values from :meth:`as_text`.
    """

    value = Grid(default=np.zeros((3, 3)), doc="The pixels, row 0 at the top (any numeric dtype).")
    values = param.List(default=[0.0, 1.0], item_type=(int, float),
                        doc="A click sets the pixel to the entry after its current value (cyclic).")
    brush = param.Number(default=None, allow_None=True, doc="If set, click/drag paints this value.")
    editable = param.Boolean(default=True)
    show_values = param.Boolean(default=False)
    highlight = param.List(default=[], doc="Cells (row, col) outlined in the accent colour.")
    window = param.Tuple(default=None, allow_None=True, length=4, doc="(row, col, height, width) overlay.")
    cmap = param.Selector(default="ink", objects=list(CMAPS))
    vmin = param.Number(default=None, allow_None=True)
    vmax = param.Number(default=None, allow_None=True)
    cell_size = param.Integer(default=28, bounds=(4, 120))
    label = param.String(default="")
    grid_id = param.String(default="", doc="Names the grid in the page: CSS class ``pe-<grid_id>`` on the "
                           "plot and ``data-grid`` on the caption, which also carries ``data-values``.")
    visible = param.Boolean(default=True)
    edits = param.Integer(default=0, doc="Number of edits made by clicking (read-only for users).")

    def __init__(self, **params):
        super().__init__(**params)
        self._source = ColumnDataSource(self._cell_data())
        self._hl_source = ColumnDataSource(self._highlight_data())
        self._win_source = ColumnDataSource(self._window_data())
        self._dragging_value = None
        self._fig = self._build_figure()
        self._fig.css_classes = self._css_classes()
        self._pane = pn.pane.Bokeh(self._fig, margin=(0, 5))
        self._caption = pn.pane.HTML(self._caption_html(), margin=(0, 5), stylesheets=[_CAPTION_CSS])
        self._layout = pn.Column(self._caption, self._pane, margin=0, visible=self.visible)
        self.param.watch(self._restyle, ["editable", "visible", "cmap", "vmin", "vmax", "show_values", "highlight",
                                         "window", "label", "cell_size"])

    # ------------------------------------------------------------------------------------------
    # value
    # ------------------------------------------------------------------------------------------

    @param.depends("value", watch=True)
    def _value_changed(self):
        arr = self.value
        if not hasattr(self, "_source"):
            return
        shape_changed = len(self._source.data["row"]) != arr.size or self._fig.x_range.end != arr.shape[1] \
            or self._fig.y_range.start != arr.shape[0]
        if shape_changed:
            self._resize()
        self._source.data = self._cell_data()
        self._caption.object = self._caption_html()

    def _css_classes(self) -> list[str]:
        # pe-editable: the page's keyboard layer (index.js) makes the grid focusable and clickable by keys
        return (["pixel-editor"] + ([f"pe-{self.grid_id}"] if self.grid_id else [])
                + (["pe-editable"] if self.editable else []))

    def _restyle(self, *events) -> None:
        """Redraw what the changed parameters (other than ``value``) show."""
        names = {e.name for e in events}
        if "editable" in names:
            self._fig.css_classes = self._css_classes()
        if "visible" in names:
            self._layout.visible = self.visible
        if names & {"cmap", "vmin", "vmax", "show_values"}:
            self._source.data = self._cell_data()
        if "highlight" in names:
            self._hl_source.data = self._highlight_data()
        if "window" in names:
            self._win_source.data = self._window_data()
        if "label" in names:
            self._caption.object = self._caption_html()
        if "cell_size" in names:
            self._resize()

    def set_pixel(self, row: int, col: int, v: float) -> None:
        """Set one pixel (as a click would) and notify watchers of ``value``."""
        h, w = self.value.shape
        if not (0 <= row < h and 0 <= col < w):
            raise ValueError(f"PixelEditor.set_pixel: ({row}, {col}) is outside the {h}x{w} grid")
        if self.value[row, col] == v:
            return
        new = self.value.astype(np.float64)      # a copy, so watchers see old and new
        new[row, col] = float(v)
        self.edits += 1
        self.value = new

    def as_text(self) -> str:
        """The grid as text, rows separated by ``;`` (what the page exposes in ``data-values``)."""
        return ";".join(" ".join(ui.exact(v) for v in row) for row in self.value)

    # ------------------------------------------------------------------------------------------
    # drawing
    # ------------------------------------------------------------------------------------------

    def _cell_data(self) -> dict:
        v = np.asarray(self.value, dtype=np.float64)
        h, w = v.shape
        rows, cols = np.divmod(np.arange(h * w), w)
        fill, text = colour_cells(v, self.cmap, self.vmin, self.vmax)
        flat = v.ravel()
        return dict(row=rows.tolist(), col=cols.tolist(), x=(cols + 0.5).tolist(), y=(rows + 0.5).tolist(),
                    v=flat.tolist(), fill=fill, text_color=text,
                    text=[_fmt(x) for x in flat] if self.show_values else [""] * flat.size)

    def _highlight_data(self) -> dict:
        cells = [(int(r), int(c)) for r, c in self.highlight]
        return dict(x=[c + 0.5 for _, c in cells], y=[r + 0.5 for r, _ in cells])

    def _window_data(self) -> dict:
        if self.window is None:
            return dict(x=[], y=[], w=[], h=[])
        r, c, hh, ww = self.window
        return dict(x=[c + ww / 2], y=[r + hh / 2], w=[ww], h=[hh])

    def _size_px(self) -> tuple[int, int]:
        h, w = self.value.shape
        return w * self.cell_size + 2, h * self.cell_size + 2

    def _build_figure(self):
        h, w = self.value.shape
        width, height = self._size_px()
        fig = figure(width=width, height=height, x_range=Range1d(0, w), y_range=Range1d(h, 0),
                     toolbar_location=None, tools="", min_border=1, outline_line_color=theme.RULE,
                     background_fill_color=None, border_fill_color=None)
        ui.keeps_shape(fig)
        fig.axis.visible = False
        fig.grid.visible = False
        fig.rect("x", "y", width=1, height=1, source=self._source, fill_color="fill", line_color="#cbd5e1",
                 line_width=0.6)
        fig.text("x", "y", text="text", source=self._source, text_color="text_color", text_align="center",
                 text_baseline="middle", text_font_size=self._font_size())
        fig.rect("x", "y", width=0.9, height=0.9, source=self._hl_source, fill_alpha=0.0,
                 line_color=theme.ACCENT, line_width=3)
        fig.rect("x", "y", width="w", height="h", source=self._win_source, fill_color=theme.ACCENT,
                 fill_alpha=0.10, line_color=theme.ACCENT, line_width=3)
        fig.on_event(events.Tap, self._on_tap)
        fig.on_event(events.DoubleTap, self._on_tap)     # two quick clicks arrive as Tap + DoubleTap
        fig.on_event(events.PanStart, self._on_pan_start)
        fig.on_event(events.Pan, self._on_pan)
        fig.on_event(events.PanEnd, self._on_pan_end)
        return fig

    def _font_size(self) -> str:
        return f"{max(8, min(14, int(self.cell_size * 0.42)))}px"

    def _resize(self) -> None:
        h, w = self.value.shape
        width, height = self._size_px()
        fig = self._fig
        fig.x_range.start, fig.x_range.end = 0, w
        fig.y_range.start, fig.y_range.end = h, 0
        fig.width, fig.height = width, height
        fig.renderers[1].glyph.text_font_size = self._font_size()

    def _caption_html(self) -> str:
        h, w = np.shape(self.value)
        return (f"<div class='cap' data-grid='{escape(self.grid_id)}' data-shape='{h}x{w}' "
                f"data-edits='{self.edits}' data-values='{self.as_text()}'>{escape(self.label)}</div>"
                + self.text_alternative())

    def text_alternative(self) -> str:
        """What a screen reader reads instead of the picture (visually hidden, redrawn with ``value``): the
        values as a table for a grid of at most :data:`TABLE_CELLS` cells, else a one-line summary."""
        v = np.asarray(self.value, dtype=np.float64)
        h, w = v.shape
        name = escape(self.label or self.grid_id or "Grid")
        testid = f" data-testid='sr-{escape(self.grid_id)}'" if self.grid_id else ""
        if v.size <= TABLE_CELLS:
            head = "<tr><td></td>" + "".join(f"<th scope='col'>column {c + 1}</th>" for c in range(w)) + "</tr>"
            rows = "".join(f"<tr><th scope='row'>row {r + 1}</th>"
                           + "".join(f"<td>{_fmt(x) or 'no value'}</td>" for x in v[r]) + "</tr>" for r in range(h))
            return (f"<div class='sr'><table{testid}><caption>{name}: {h} by {w} values</caption>{head}{rows}"
                    "</table></div>")   # a table ignores width: 1px, its wrapper does not
        finite = v[np.isfinite(v)]
        span = (f", values from {_fmt(finite.min())} to {_fmt(finite.max())}" if finite.size else "")
        return (f"<p class='sr'{testid}>{name}: {h} by {w} grid, {int(np.count_nonzero(finite))} cells not zero"
                f"{span}.</p>")

    # ------------------------------------------------------------------------------------------
    # events (Python callbacks of Bokeh UI events)
    # ------------------------------------------------------------------------------------------

    def _cell_at(self, x, y):
        if x is None or y is None:
            return None
        h, w = self.value.shape
        r, c = int(np.floor(y)), int(np.floor(x))
        if 0 <= r < h and 0 <= c < w:
            return r, c
        return None

    def _next_value(self, current: float) -> float:
        vals = [float(v) for v in self.values] or [0.0, 1.0]
        if current in vals:
            return vals[(vals.index(current) + 1) % len(vals)]
        return vals[-1]

    def _on_tap(self, event) -> None:
        self._on_pan_start(event)                 # a click is a drag of one cell
        self._dragging_value = None

    def _on_pan_start(self, event) -> None:
        if not self.editable:
            return
        cell = self._cell_at(event.x, event.y)
        if cell is None:
            return
        r, c = cell
        # a drag paints one value: the brush, or what the first cell's click would give
        self._dragging_value = self.brush if self.brush is not None else self._next_value(float(self.value[r, c]))
        self.set_pixel(r, c, self._dragging_value)

    def _on_pan(self, event) -> None:
        if self._dragging_value is None:
            return
        cell = self._cell_at(event.x, event.y)
        if cell is not None:
            self.set_pixel(*cell, self._dragging_value)

    def _on_pan_end(self, event) -> None:
        self._on_pan(event)
        self._dragging_value = None


TABLE_CELLS = 256
"""Grids of at most this many cells are read to screen readers as a table of values (bigger: a summary)."""

_CAPTION_CSS = f"""
.cap {{ font-size: 13px; color: {theme.MUTED}; margin: 0 0 2px 0; white-space: nowrap; }}
.sr {{ position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
       clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap; border: 0; }}
"""
