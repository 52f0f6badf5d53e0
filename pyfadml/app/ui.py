"""What every section draws the same way: numbers, the stats bar, figures, inline notes.

One place for each of these, so a fix reaches every section:

* :func:`num` — any number for a person: 3 significant digits, a real minus sign, ``1.2e-5`` / ``3.4e+12``
  outside [0.01, 1000), ``∞`` / ``NaN`` spelled out; :func:`loss_text` for losses (never "0.0000");
  :func:`exact` — the full value for ``data-`` attributes (tests read these).
* :func:`stats_html` — the bar of big numbers above a section's plots (``data-testid`` per number, the full
  value in ``data-value``).
* :func:`figure` — a Bokeh figure without the default tools, in the page's colours; :func:`style_axes`;
  :func:`keeps_shape` — on a screen narrower than the figure (a phone) it shrinks to the width, shape kept;
  :func:`sign_marks` / :func:`sign_bars` — '+' and '−' over a diverging heat map (sign not by colour only).
* :func:`note_html` — the short red (or grey) note a control shows beside itself for a bad value.
* layout: :func:`prose` (text), :func:`muted` (a small label), :func:`card`, :func:`controls`, :func:`screen`
  (controls left, card right), :func:`stats_pane`; widgets: :func:`select`, :func:`toggle`, :func:`seed_input`.
* :class:`View` — a part of the page laid out once in ``_layout``; :class:`Section` — a section whose live
  controllers the shell pauses, only one of them training at a time.
"""
from __future__ import annotations

import math
from html import escape
from typing import Any, Callable

import numpy as np
import panel as pn
from bokeh.plotting import figure as _bokeh_figure

from pyfadml.app import theme

MINUS = "\u2212"


def num(v, digits: int = 3) -> str:
    """A number for people: ``0.123``, ``−4.56``, ``1.2e−5``, ``3.4e+12``, ``∞``, ``NaN``."""
    try:
        v = float(v)
    except (TypeError, ValueError):
        return escape(str(v))
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return ("" if v > 0 else MINUS) + "∞"
    if v == 0.0:
        return "0"
    if v == round(v) and abs(v) < 10 ** digits * 10:
        text = str(int(round(v)))
    elif 0.01 <= abs(v) < 1000:
        text = f"{v:.{digits}g}"
    else:
        mantissa, exponent = f"{v:.{max(digits - 2, 0)}e}".split("e")
        text = f"{mantissa}e{int(exponent):+d}"
    return text.replace("-", MINUS)


def loss_text(v) -> str:
    """A loss: 4 significant digits (``0.6931``, ``0.0001234`` -> ``1.234e−4``), blown-up values short."""
    v = float(v)
    if not math.isfinite(v):
        return num(v)
    if v == 0.0:
        return "0"
    if 0.001 <= abs(v) < 1000:
        return f"{v:.4g}".replace("-", MINUS)
    return num(v, 4)


def pct(v, digits: int = 1) -> str:
    """A fraction as a percentage: ``0.975`` -> ``97.5%`` (``–`` when unknown)."""
    v = float(v)
    return f"{100 * v:.{digits}f}%" if math.isfinite(v) else "–"


def exact(v) -> str:
    """The value in full for a ``data-`` attribute: ``repr`` of the float, integers without ``.0``."""
    v = float(v)
    return str(int(v)) if math.isfinite(v) and v == round(v) and abs(v) < 2 ** 53 else repr(v)


def attrs(**values) -> str:
    """``data-`` attributes from keyword arguments (``frame_ms=3`` -> ``data-frame-ms="3"``), escaped."""
    return " ".join(f'data-{k.replace("_", "-")}="{escape(str(v), quote=True)}"' for k, v in values.items())


def stats_html(stats, *, testid: str = "stats", **data) -> str:
    """The bar of big numbers: ``stats`` is a list of ``(key, label, value, text)``.

    Each number is a ``<span data-testid=key data-value=...>``; ``data`` adds ``data-`` attributes to the
    bar itself (e.g. ``step=12``)."""
    cells = "".join(
        f'<div class="stat"><span class="label">{escape(label)}</span>'
        f'<span class="value" data-testid="{key}" data-value="{exact(value) if _is_number(value) else escape(str(value))}">'
        f'{text}</span></div>'
        for key, label, value, text in stats)
    return f'<div class="stats" data-testid="{testid}" {attrs(**data)}>{cells}</div>'


def stats_pane(*css: str, margin=(4, 5, 8, 5)) -> pn.pane.HTML:
    """The pane :func:`stats_html` goes into (``css``: more stylesheets)."""
    return pn.pane.HTML("", stylesheets=[theme.STATS_CSS, *css], sizing_mode="stretch_width", margin=margin)


def train_test_stats(row: dict, prefix: str = "", *, acc: bool = True) -> list:
    """The stats of an evaluation ``row``: train and test loss (and accuracy), keys ``<prefix>train-loss`` ..."""
    out = [(f"{prefix}{k}-loss", f"{k.capitalize()} loss", row[f"{k}_loss"], loss_text(row[f"{k}_loss"]))
           for k in ("train", "test")]
    return out + ([(f"{prefix}{k}-acc", f"{k.capitalize()} acc.", row[f"{k}_acc"], pct(row[f"{k}_acc"]))
                   for k in ("train", "test")] if acc else [])


def stream_new(source, point: dict, *, key: str = "step", rollover: int | None = None) -> bool:
    """Append ``point`` (a dict of one-item lists) to ``source`` unless its ``key`` is already the last one."""
    shown = source.data[key]
    if len(shown) and shown[-1] == point[key][0]:
        return False
    source.stream(point, rollover=rollover)
    return True


def caption(testid: str, text: str, **data) -> str:
    """A small grey paragraph (``text`` is HTML) with the ``data-testid`` and ``data-`` attributes tests read."""
    return f'<p class="muted" data-testid="{testid}" {attrs(**data)}>{text}</p>'


def stats_line(text: str, *, secondary: bool = False) -> str:
    """The line of small text under the stats bar (a demo's ``describe()``), escaped."""
    return (f'<p class="muted{" secondary" if secondary else ""}" style="margin:4px 12px 0 12px">{escape(text)}'
            f'</p>')


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def note_html(text: str = "", *, kind: str = "error", testid: str = "") -> str:
    """An inline note beside a control: ``kind`` "error" (red) or "info" (grey); empty text -> nothing."""
    if not text:
        return f'<div class="note-empty" data-testid="{testid}" data-kind="none"></div>' if testid else ""
    return (f'<div class="inline-note {kind}" role="{"alert" if kind == "error" else "status"}" '
            f'data-testid="{testid}" data-kind="{kind}">{text}</div>')


NOTE_CSS = f"""
.inline-note {{ font-size: 13px; line-height: 1.35; padding: 4px 8px; border-radius: 6px; margin: 2px 0; }}
.inline-note.error {{ color: {theme.DANGER}; background: #fef2f2; border: 1px solid #fecaca; }}
.inline-note.info {{ color: {theme.TEXT}; background: {theme.PAGE_BG}; border: 1px solid {theme.RULE}; }}
"""


def style_axes(fig) -> None:
    """Muted axes, no minor ticks, normal-weight labels."""
    for ax in (fig.xaxis, fig.yaxis):
        ax.axis_label_text_font_style = "normal"
        ax.axis_label_text_color = theme.MUTED
        ax.major_label_text_color = theme.MUTED
        ax.axis_line_color = theme.RULE
        ax.major_tick_line_color = theme.RULE
        ax.minor_tick_line_color = None


def legend(fig, items: dict, place: str = "center", **kw):
    """A legend of ``items`` (label -> renderer) in small type, added to ``fig`` at ``place``; returns it."""
    from bokeh.models import Legend, LegendItem

    legend = Legend(items=[LegendItem(label=k, renderers=[r]) for k, r in items.items()],
                    label_text_font_size="11px", **kw)
    fig.add_layout(legend, place)
    return legend


def style_legend(fig, location: str = "top_right") -> None:
    """A small, see-through legend, placed where it covers the least (outside the plot for curves)."""
    if not fig.legend:
        return
    legend = fig.legend[0]
    legend.location = location
    legend.background_fill_alpha = 0.8
    legend.label_text_font_size = "11px"
    legend.padding = 3
    legend.spacing = 0
    legend.margin = 4
    legend.glyph_height = legend.glyph_width = 14


def figure(*, axes: bool = True, grid: bool = False, **kw):
    """A Bokeh figure in the page's style, with no tools (a page that only shows needs none)."""
    kw.setdefault("toolbar_location", None)
    kw.setdefault("tools", "")
    kw.setdefault("background_fill_color", theme.PANEL_BG)
    kw.setdefault("border_fill_color", theme.PANEL_BG)
    kw.setdefault("outline_line_color", theme.RULE)
    kw.setdefault("min_border", 4)
    fig = _bokeh_figure(**kw)
    keeps_shape(fig)
    fig.xgrid.visible = False
    fig.ygrid.visible = grid
    if grid:
        fig.ygrid.grid_line_color = theme.RULE
    if axes:
        style_axes(fig)
    else:
        fig.axis.visible = False
    return fig


def keeps_shape(fig) -> None:
    """The figure shrinks with its shape kept where the page is narrower than it (a phone): Bokeh already
    gives a figure ``max-width: 100%``; with ``aspect_ratio`` set its height follows the width it gets (CSS
    ``aspect-ratio``, height ``auto``) instead of staying fixed. Where it fits, width and height are as set.
    ``aspect_ratio`` follows later changes of ``width`` or ``height``."""
    def follow(attr, old, new):
        fig.aspect_ratio = fig.width / fig.height
    follow("width", None, fig.width)
    fig.stylesheets = [*fig.stylesheets, theme.FIGURE_NARROW_CSS]
    fig.on_change("width", follow)
    fig.on_change("height", follow)


SIGN_THRESHOLD = 0.1
"""Where a diverging colour is paler than this (a tenth of the scale), no sign is drawn: it reads as zero."""


def sign_marks(fig, *, color: str = theme.INK, alpha: float = 0.75):
    """A layer of '+' and '−' on ``fig`` (the sign of a diverging heat map said by shape as well as colour);
    returns its source, to fill with :func:`sign_bars`."""
    from bokeh.models import ColumnDataSource

    source = ColumnDataSource(dict(x=[], y=[], w=[], h=[], sign=[]))
    fig.rect("x", "y", "w", "h", source=source, fill_color=color, fill_alpha=alpha, line_color=None)
    return source


def sign_bars(fig, x, y, v, *, size: tuple[float, float] = (9, 9), stroke: float = 2.0, cell=None,
              threshold: float = SIGN_THRESHOLD) -> dict:
    """The data of :func:`sign_marks`: a '+' at each (x, y) where ``v > threshold``, a '−' where
    ``v < -threshold``, nothing in between. ``size`` (width, height) and ``stroke`` are screen pixels at the
    figure's set size, turned into data units, so the marks shrink with the figure on a phone; ``cell``
    (width, height in data units) caps a mark at 70% of the square it sits in. A '−' is one bar, a '+' two;
    ``sign`` names the mark each bar belongs to."""
    x, y, v = (np.asarray(a, dtype=np.float64).ravel() for a in (x, y, v))
    ux = (fig.x_range.end - fig.x_range.start) / fig.width           # data units per pixel
    uy = abs(fig.y_range.end - fig.y_range.start) / fig.height
    w, h = size[0] * ux, size[1] * uy
    if cell is not None:
        w, h = min(w, 0.7 * cell[0]), min(h, 0.7 * cell[1])
    sx, sy = min(stroke * ux, w / 3), min(stroke * uy, h / 3)
    with np.errstate(invalid="ignore"):
        pos, neg = v > threshold, v < -threshold
    marked, n_pos = pos | neg, int(pos.sum())
    return dict(x=np.concatenate([x[marked], x[pos]]).tolist(), y=np.concatenate([y[marked], y[pos]]).tolist(),
                w=[w] * int(marked.sum()) + [sx] * n_pos, h=[sy] * int(marked.sum()) + [h] * n_pos,
                sign=np.where(pos[marked], "+", MINUS).tolist() + ["+"] * n_pos)


def checked(owner, name: str, widget, *, parse: Callable[[Any], Any] | None = None, testid: str = ""):
    """``widget`` bound to ``owner.<name>`` through ``parse``, which raises ``ValueError`` with a message a
    student can act on for a bad value (empty box, out of range). A bad value never reaches ``owner``: the
    widget goes back to the value in force and a red note below it says why. Returns the widget and its note
    as one column."""
    note = pn.pane.HTML("", stylesheets=[NOTE_CSS], sizing_mode="stretch_width", margin=(0, 5))
    widget.sizing_mode = "stretch_width"
    widget.value = getattr(owner, name)

    def changed(event):
        if event.new == getattr(owner, name):
            return
        try:
            value = parse(event.new) if parse else event.new
            setattr(owner, name, value)
        except ValueError as exc:
            note.object = note_html(escape(str(exc)), testid=testid)
            widget.value = getattr(owner, name)
        else:
            note.object = ""

    widget.param.watch(changed, "value")
    owner.param.watch(lambda event: setattr(widget, "value", event.new), name)
    return pn.Column(widget, note, margin=0, sizing_mode="stretch_width")


def whole_number(label: str, low: int, high: int) -> Callable[[Any], int]:
    """A parser for :func:`checked`: a whole number in [low, high], or a message naming the range."""
    def parse(value) -> int:
        if value is None or value == "":
            raise ValueError(f"{label}: the box is empty. Type a whole number from {low} to {high}.")
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{label}: {value!r} is not a number. Type a whole number from {low} to {high}.")
        if not math.isfinite(v) or v != int(v) or not low <= v <= high:
            raise ValueError(f"{label}: {value:g} is not a whole number from {low} to {high}.")
        return int(v)
    return parse


def loss_figure(*, width: int = 430, height: int = 250):
    """Train (solid) and test (dashed) loss against the step on a log axis, the legend above the plot so it
    never covers a curve. Returns the figure and its source (columns ``step``, ``train``, ``test``)."""
    from bokeh.models import ColumnDataSource

    fig = figure(width=width, height=height, y_axis_type="log", grid=True)
    source = ColumnDataSource(dict(step=[], train=[], test=[]))
    train_test_lines(fig, source, "train", "test", labels=("train loss", "test loss"))
    legend_above(fig)
    fig.xaxis.axis_label = "step"
    return fig, source


def train_test_lines(fig, source, train: str, test: str, *, labels=("train", "test")) -> None:
    """The train (solid) and test (dashed) curves of columns ``train`` and ``test`` against ``step``."""
    fig.line("step", train, source=source, color=theme.TRAIN_LOSS_COLOR, line_width=2, legend_label=labels[0])
    fig.line("step", test, source=source, color=theme.TEST_LOSS_COLOR, line_width=2, line_dash="dashed",
             legend_label=labels[1])


def legend_above(fig, *, spacing: int = 14):
    """The figure's legend in one row above the plot, where it never covers a curve (``spacing``: room
    between one label and the next glyph). Returns the legend."""
    style_legend(fig, "top_left")
    legend = fig.legend[0]
    legend.orientation = "horizontal"
    legend.spacing = spacing
    fig.add_layout(legend, "above")
    return legend


def prose(text: str = "", *, math: bool = False, css: str | list = theme.PROSE_CSS, **kw) -> pn.pane.HTML:
    """HTML in the page's style (``css``: its stylesheet or stylesheets; ``math``: render \\( \\) and $$
    formulas), as wide as its column unless it has a ``width`` or another ``sizing_mode``."""
    kw.setdefault("margin", (0, 5))
    if "width" not in kw:
        kw.setdefault("sizing_mode", "stretch_width")
    return pn.pane.HTML(text, stylesheets=[css] if isinstance(css, str) else list(css), disable_math=not math, **kw)


def muted(text: str, **kw) -> pn.pane.HTML:
    """A small grey label above a control or a figure."""
    kw.setdefault("margin", (4, 5, 0, 5))
    kw.setdefault("sizing_mode", None)
    return prose(f"<p class='muted' style='margin:0'>{text}</p>", **kw)


def card(*items, **kw) -> pn.Column:
    """A white card (what a section draws), as wide as the page allows."""
    return pn.Column(*items, stylesheets=[theme.CARD_CSS], sizing_mode="stretch_width", **kw)


def screen(controls_: list, main: list, *, width: int = 300) -> pn.Row:
    """A section's screen: the :func:`controls` column on the left, the :func:`card` of ``main`` on the right."""
    return pn.Row(controls(*controls_, width=width), card(*main), sizing_mode="stretch_width")


def select(p, label: str, options=None, **kw):
    """A drop-down for the Selector ``p``; ``options`` default to its objects labelled ``f"{v:g}"``."""
    return pn.widgets.Select.from_param(p, label=label, options=options or {f"{v:g}": v for v in p.objects}, **kw)


def toggle(p, options=None, **kw):
    """A row of outlined buttons, one of them chosen, for the Selector ``p``."""
    if options is not None:
        kw["options"] = options
    return pn.widgets.RadioButtonGroup.from_param(p, color="primary", variant="outline", **kw)


def seed_input(owner, testid: str) -> pn.Column:
    """The random seed box of ``owner.seed`` (0 to 9999) with its inline note (:func:`checked`)."""
    return checked(owner, "seed", pn.widgets.IntInput(label="Seed", start=0, end=9999),
                   parse=whole_number("Seed", 0, 9999), testid=testid)


def heading(text: str, top: int = 8) -> pn.pane.HTML:
    """A heading in a section's controls column or card."""
    return pn.pane.HTML(f"<h3>{text}</h3>", stylesheets=[theme.PROSE_CSS], margin=(top, 5, 0, 5))


def controls(*items, width: int = 300) -> pn.Column:
    """A section's controls column, left of its card: sticky, so Play and the main controls stay in view at
    1280x720. Widgets among ``items`` stretch to its width."""
    for item in items:
        if isinstance(item, pn.widgets.Widget):
            item.sizing_mode = "stretch_width"
    return pn.Column(*items, width=width, stylesheets=[theme.CONTROLS_CSS], margin=(0, 16, 0, 0))


class View(pn.viewable.Viewer):
    """A part of the page, laid out once into ``self._layout``."""

    def __panel__(self):
        return self._layout


class Section(View):
    """A section of the page: ``live_controllers`` (by default its ``live``) are what the shell pauses when
    the section is left and what :meth:`pause` pauses; after :meth:`one_at_a_time`, Play on one of them pauses
    the others."""

    @property
    def live_controllers(self) -> tuple:
        return (self.live,)

    def pause(self, event=None, *, away: bool = False) -> None:
        for live in self.live_controllers:
            live.pause(away=away)

    def one_at_a_time(self, *lives) -> None:
        for live in lives:
            live.param.watch(self._one_at_a_time, "playing")

    def _one_at_a_time(self, event) -> None:
        if event.new:
            for live in self.live_controllers:
                if live is not event.obj and getattr(live, "playing", False):
                    live.pause()
