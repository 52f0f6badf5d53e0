"""The page around the sections: a header with the lecture's parts as navigation, one section shown.

A section is a ``pn.viewable.Viewer`` class named by ``"module:Class"``; it is imported and built the first
time it is shown (so the browser pays only for what is opened) and kept while the page lives. A section
without a class yet is listed as "coming" and cannot be opened: the page never pretends it works.
When it navigates away, the shell pauses the section's ``live_controllers`` (no training in the background
of a hidden section; the section says "paused while you were away" when it is shown again).

Every section built stays in the page: navigation only shows one and hides the others (see
:meth:`AppShell._show` for why a section must never be taken out of the page and put back). While the page
is idle the sections not opened yet are built and put into the page, hidden (:meth:`AppShell.prebuild_when_idle`).
"""
from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import sys
import time
import traceback
from dataclasses import dataclass
from html import escape

import panel as pn
import param
from bokeh.models import Pane as BkPane
from panel.io.document import freeze_doc, hold
from panel.io.state import set_curdoc

from pyfadml.app import theme
from pyfadml.app.scene import Scene, split as split_scene


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    factory: str | None       # "module:Class" of a pn.viewable.Viewer; None while the section is coming


SECTIONS: tuple[Section, ...] = (
    Section("backprop", "Backprop & decision boundaries", "pyfadml.app.backprop:BackpropSection"),
    Section("cnn", "Convolution & CNN", "pyfadml.app.cnn:CNNSection"),
    Section("rnn", "RNN & LSTM", "pyfadml.app.rnn:RNNSection"),
    Section("autoencoder", "Autoencoder & VAE", "pyfadml.app.vae:VAESection"),
    Section("exercises", "Exercises", "pyfadml.app.exercises:ExercisesSection"),
)

HEADER_CSS = f"""
:host {{ background: {theme.INK}; border-radius: 0 0 12px 12px; padding: 10px 20px 12px 20px; }}
"""
BRAND_CSS = """
.brand { color: white; font-size: 22px; font-weight: 700; letter-spacing: .01em; }
.brand span { font-weight: 400; color: #cbd5e1; font-size: 15px; margin-left: 10px; }
@media (max-width: 760px) {   /* the tagline on its own line, below the fixed Presenter and Share buttons
                                 (top right, beside the short name): the whole width is the tagline's */
  .brand span { display: block; margin: 8px 0 0 0; }
}
"""

NAV_BUTTON_CSS = theme.NAV_CSS + """
:host(.current) .bk-btn { background: white; color: #0f172a; border-color: white; font-weight: 600; }
:host(:not(.current):not(.coming)) .bk-btn { background: transparent; color: white; border-color: #475569; }
:host(.coming) .bk-btn { background: transparent; border-color: #334155; }
"""

FOOTER = ("<p class='muted'>Every number on this page is computed by pyfadml, a NumPy library where each "
          "layer's backward pass is written out. In the browser it runs in Pyodide: nothing leaves your "
          "computer. FADML (CS60020), lecture of 18 March 2025.</p>")


_log = logging.getLogger("pyfadml.app")

IN_BROWSER = sys.platform == "emscripten"
PREBUILD_DELAY = 1.0     # s after the page is ready before the first idle build
PREBUILD_QUIET = 1.0     # s without navigation (and no training) before a build
PREBUILD_POLL = 0.25     # s between two looks at whether the page is idle
PREBUILD_GAP = 0.1       # s between two builds (clicks are handled there)

BROKEN_CSS = f"""
:host {{ background: #fef2f2; border: 1px solid #fca5a5; border-radius: 10px; padding: 14px 18px; }}
h3 {{ color: {theme.DANGER}; margin: 0 0 6px 0; }}
pre {{ white-space: pre-wrap; font-size: 12px; color: #7f1d1d; max-height: 360px; overflow: auto; }}
"""


class BrokenSection(pn.viewable.Viewer):
    """What the page shows instead of a section that raised while being built: the error itself."""

    def __init__(self, title: str, error: BaseException, **params):
        super().__init__(**params)
        self.title, self.error = title, error
        tb = "".join(traceback.format_exception(type(error), error, error.__traceback__)[-6:])
        self._pane = pn.pane.HTML(
            f'<div data-testid="section-error"><h3>{escape(title)} could not start</h3>'
            f"<p>Python raised an error while building this section (the other sections still work):</p>"
            f"<pre>{escape(tb)}</pre></div>",
            stylesheets=[BROKEN_CSS], sizing_mode="stretch_width")

    def __panel__(self):
        return self._pane


class SectionSlot(pn.layout.ListPanel):
    """Where one section sits in the page: a Bokeh ``Pane`` (a plain element, not a layout) around it.

    Why not a ``pn.Column``: BokehJS lays a page out from its layout root down through every nested layout
    (``LayoutDOMView.invalidate_layout`` climbs to the root, then ``update_layout``/``compute_layout`` and
    ``after_layout`` visit every layout below it, hidden ones included), and it does so for every change
    of a layout property anywhere (a navigation button's ``css_classes``, a section shown). With every
    built section in the page (see :meth:`AppShell._show`), opening the fifth section re-laid out the four
    hidden ones several times per click: seconds on the main thread (tests/bench/bench_site.py). A layout
    whose parent is not a layout is a layout root of its own (``is_layout_root``), so behind a ``Pane`` a
    section is laid out only when something in it changes, and the page's layout stops at the slot.
    The section arrives in the slot (``objects``) the first time it is shown; no Panel link (jslink) lives in
    the sections, so the slot skips Panel's preprocessing of the whole page (``_preprocess_params``).
    """

    _bokeh_model = BkPane
    _preprocess_params: list = []
    _rename = {"objects": "elements"}

    def _process_param_change(self, params):
        props = super()._process_param_change(params)
        return {k: v for k, v in props.items() if k in BkPane.properties()}

    def _compute_sizing_mode(self, children, props):
        return {}

    def _update_model(self, events, msg, root, model, doc, comm):
        msg = {k: v for k, v in msg.items() if k in BkPane.properties()}
        changed = "elements" in msg
        if changed:
            msg["elements"], _ = self._get_objects(model, events["objects"].old, doc, root, comm)
        with hold(doc), freeze_doc(doc, model, msg, force=changed):
            pn.reactive.Reactive._update_model(self, events, msg, root, model, doc, comm)


class SlotColumn(pn.Column):
    """A column of :class:`SectionSlot`: Panel's sizing inference reads its children's ``sizing_mode``,
    which a ``Pane`` does not have (the column's own sizing is explicit). A slot added skips Panel's
    preprocessing of the whole page too (see :class:`SectionSlot`)."""

    _preprocess_params: list = []

    def _compute_sizing_mode(self, children, props):
        return super()._compute_sizing_mode([c for c in children if not isinstance(c, BkPane)], props)


class AppShell(pn.viewable.Viewer):
    """Header + navigation + the current section."""

    section = param.String(default="backprop", doc="Key of the section shown.")

    def __init__(self, sections: tuple[Section, ...] = SECTIONS, scene: str = "", prebuild: bool = True,
                 **params):
        asked, _ = split_scene(scene or "")           # the address's section, if it is a live one
        if asked and "section" not in params and any(s.key == asked and s.factory for s in sections):
            params["section"] = asked
        super().__init__(**params)
        self.sections = {s.key: s for s in sections}
        live = [s.key for s in sections if s.factory]
        if not live:
            raise ValueError("AppShell: at least one section must have a factory")
        if self.section not in self.sections or not self.sections[self.section].factory:
            raise ValueError(f"AppShell: section must be one of the live sections {live}, got {self.section!r}")
        self._views: dict[str, pn.viewable.Viewer] = {}
        self._slots: dict[str, pn.Column] = {}     # key -> the section's wrapper in the page, once built
        self._buttons: dict[str, pn.widgets.Button] = {}
        for s in sections:
            b = pn.widgets.Button(
                label=s.title, disabled=s.factory is None, stylesheets=[NAV_BUTTON_CSS],
                description=None if s.factory else "This part of the lecture is being built.",
                css_classes=["coming"] if s.factory is None else [], margin=(4, 6, 0, 0))
            if s.factory:
                b.on_click(lambda event, key=s.key: setattr(self, "section", key))
            self._buttons[s.key] = b
        header = pn.Column(
            pn.pane.HTML("<div class='brand'>pyfadml<span>deep learning from first principles, "
                         "live in your browser</span></div>", stylesheets=[BRAND_CSS], margin=(0, 6)),
            pn.Row(*self._buttons.values(), margin=(4, 0, 0, 0)),
            stylesheets=[HEADER_CSS], sizing_mode="stretch_width", margin=(0, 0, 16, 0),
        )
        self._scene = Scene(self, scene)          # the address holds the scene (pyfadml.app.scene)
        self._content = SlotColumn(sizing_mode="stretch_width", margin=0)
        footer = pn.pane.HTML(FOOTER, stylesheets=[theme.PROSE_CSS], sizing_mode="stretch_width",
                              margin=(16, 5, 24, 5))
        # accessibility (issue 15): the page's preferences (index.js writes JSON here, e.g. reduced motion)
        self._prefs = pn.widgets.TextInput(value="", visible=False, css_classes=["pyfadml-prefs"])
        self._prefs.param.watch(self._prefs_changed, "value")
        self._layout = pn.Column(header, self._scene.notice, self._scene.store, self._content, footer, self._prefs,
                                 sizing_mode="stretch_width", styles={"background": theme.PAGE_BG},
                                 margin=(0, 16, 0, 16))
        self._doc = pn.state.curdoc
        self._show()
        self.prebuilt: dict[str, float] = {}        # key -> ms its idle build took (see prebuild_when_idle)
        if prebuild and IN_BROWSER and self._doc is not None:
            pn.state.onload(self.prebuild_when_idle)

    def view(self, key: str | None = None) -> pn.viewable.Viewer:
        """The section's Viewer (built on first use).

        A section that raises while it is imported or built is replaced by a :class:`BrokenSection`
        that shows the error: the other sections stay usable and nothing pretends to work.
        """
        key = key or self.section
        if key not in self._views:
            spec = self.sections[key]
            if spec.factory is None:
                raise ValueError(f"section {key!r} is not available yet")
            module, _, cls = spec.factory.partition(":")
            try:
                self._views[key] = getattr(importlib.import_module(module), cls)()
            except Exception as exc:
                _log.exception("section %r (%s) failed to build", spec.title, spec.factory)
                self._views[key] = BrokenSection(spec.title, exc)
        return self._views[key]

    @param.depends("section", watch=True)
    def _show(self) -> None:
        """Show the current section and hide the others; each built section stays in the page.

        Why sections are hidden, never removed: when Panel takes a pane out of a layout it calls the
        pane's ``_cleanup(root)`` (panel/reactive.py, ``Syncable._cleanup``), which pops the pane's Bokeh
        model and empties ``model._callbacks`` and ``model._event_callbacks``. For its own widgets that
        is harmless, because Panel builds them a new model next time. But a ``pn.pane.Bokeh`` hands
        Bokeh the *user's* figure itself (``_get_model`` returns ``self.object``), so the figure loses
        every Python ``on_event`` callback (the pixel grids' Tap/Pan, the VAE's latent planes) while its
        ``subscribed_events`` stay set. Shown again, the same figure returns to the document: BokehJS still
        sends each tap to Python, ``Document.callbacks.trigger_event`` still routes it to the figure, and
        the figure finds no callback: the click vanishes with no error (holoviz/panel#8365,
        bokeh/bokeh#14773). Keeping every section in the layout and switching ``visible`` means no
        section is ever cleaned up, and showing it again sends one property instead of the section.
        Each section sits in a :class:`SectionSlot`, so that BokehJS never lays out the hidden ones along
        with the page (``LayoutDOMView.invalidate_layout`` stops at a layout root).
        """
        for key, view in self._views.items():
            if key != self.section:
                for live in getattr(view, "live_controllers", ()):
                    live.pause(away=True)         # "paused while you were away" when the student comes back
        self._last_show = time.perf_counter()
        view = self.view()                      # built first: the section left stays until then
        # One batch of changes: the section left stays on screen until the new one arrives (its models
        # take a while to make the first time), never a blank page in between.
        with hold(self._doc) if self._doc is not None else contextlib.nullcontext():
            for key, slot in self._slots.items():   # hide before adding, so two never show at once
                slot.visible = key == self.section
            if self.section not in self._slots:
                self._place(self.section, view, visible=True)
        self._scene.shown(self.section, view)
        for key, b in self._buttons.items():
            classes = ["coming"] if self.sections[key].factory is None else []
            if key == self.section:
                classes.append("current")
            b.css_classes = classes

    def _place(self, key: str, view: pn.viewable.Viewer, visible: bool) -> None:
        """Put the section into the page in its :class:`SectionSlot` (class ``pyfadml-slot``, which the browser
        tests count to know the idle prebuild has placed every section)."""
        self._slots[key] = SectionSlot(view, visible=visible, css_classes=["pyfadml-slot"])
        self._content.append(self._slots[key])

    def _prefs_changed(self, event) -> None:
        """``{"reducedMotion": true}`` from the page (its prefers-reduced-motion): live views redraw less often."""
        import json

        from pyfadml.app.schedule import set_reduced_motion
        try:
            prefs = json.loads(event.new or "{}")
        except ValueError:
            return
        set_reduced_motion(bool(isinstance(prefs, dict) and prefs.get("reducedMotion")))

    # ---- idle prebuild (issue 10): the other sections are built while the student reads the first ----

    def _idle(self) -> bool:
        """Nothing trains and nobody has navigated for PREBUILD_QUIET seconds."""
        if time.perf_counter() - self._last_show < PREBUILD_QUIET:
            return False
        return not any(getattr(live, "playing", False) for view in self._views.values()
                       for live in getattr(view, "live_controllers", ()))

    async def prebuild_when_idle(self) -> None:
        """Build every section not built yet, one at a time, in the navigation's order, whenever the page is
        idle (:meth:`_idle`), and put it into the page, hidden: opening one later only shows it (one property
        sent; BokehJS already has its views). Only in the browser (``panel serve`` would pay it per session).

        Each section takes two slices, each waiting for a quiet moment: build the Viewer (Python objects,
        demos, first drawings), then make its Bokeh models and send them (the page builds their views while
        the student reads). A hidden section costs the page nothing later because it sits in a
        :class:`SectionSlot`, a layout root of its own; inside a plain column it was re-laid out with the
        page at every change, and this was measured slower than not placing it (tests/bench/bench_site.py).
        Every section in the page means about 1400 Panel views, each with Panel's CSS files: as one <link>
        per view and file, Chromium refused some of those requests (net::ERR_INSUFFICIENT_RESOURCES), which
        is why the page gives views those files as <style> text fetched once (pyfadml/app/web/stylesheets.js).
        A slice blocks Python for its duration (a second or two on a slow laptop): a click that arrives then
        waits for it."""
        await asyncio.sleep(PREBUILD_DELAY)
        for key, spec in self.sections.items():
            if spec.factory is None or key in self._slots:
                continue
            for step in ("build", "place"):         # two slices: clicks are handled in between
                while not self._idle():
                    await asyncio.sleep(PREBUILD_POLL)
                if key in self._slots:              # opened meanwhile
                    break
                t0 = time.perf_counter()
                with set_curdoc(self._doc):
                    view = self.view(key)
                    if step == "place":
                        with hold(self._doc):
                            self._place(key, view, visible=False)
                self.prebuilt[key] = self.prebuilt.get(key, 0.0) + 1000 * (time.perf_counter() - t0)
                await asyncio.sleep(PREBUILD_GAP)

    def __panel__(self):
        return self._layout
