"""The address holds the scene: the section shown and its settings, as the page's ``#fragment``.

``#cnn&filters1=8&lr=0.03`` opens the CNN section with 8 first-layer filters and learning rate 0.03; every
setting left at its default is left out, so the page with every default is the bare address. A lecturer
prepares one link per slide; a student opens exactly that scene (and the same seed trains to the same
numbers).

A section declares its settings with ``scene_params()``: a list of ``(name, owner, param_name)``, ``name``
being the key in the address (unique within the section) and ``owner.param_name`` a ``param`` parameter
(Selector, ListSelector, Integer, Number, Boolean). :class:`Scene` does the rest:

* **writing**: it watches those parameters (and the shell's section) and writes the scene's text into a
  hidden text input (CSS class :data:`STORE_CLASS`). The page's index.js copies that value into the address
  with ``history.replaceState`` (no reload, no history entry per change). Python runs in a Web Worker, which
  cannot reach the page's address; this input is the one channel, as for the exercises' local storage.
* **reading**: the page starts the worker as ``worker.js#<fragment>``; the worker hands the fragment to
  :func:`pyfadml.app.create_app` (``scene=``), and the shell opens that section and applies its settings
  after building it. An address edited by hand later (a ``hashchange``) comes back through the same input.
  An unknown section, key or value is left at its default and listed in a short notice
  (``data-testid=scene-notice``); nothing fails.
"""
from __future__ import annotations

import math
from html import escape
from urllib.parse import quote, unquote

import panel as pn
import param

from pyfadml.app import ui

STORE_CLASS = "pyfadml-scene-store"


def format_value(value) -> str:
    """A parameter value as it appears in the address (``0.03``, ``8``, ``xor``, ``1``/``0``, ``a,b``)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.12g}"
    if isinstance(value, (list, tuple)):
        return ",".join(format_value(v) for v in value)
    return str(value)


def _range(p) -> str:
    low, high = p.bounds or (None, None)
    return f"from {format_value(low)} to {format_value(high)}" if low is not None and high is not None else ""


def parse_value(p: param.Parameter, text: str):
    """``text`` from the address as a value of parameter ``p``; ValueError says what is allowed."""
    if isinstance(p, param.ListSelector):
        items = [t for t in text.split(",") if t] if text else []
        out = [parse_value(param.Selector(objects=list(p.objects)), t) for t in items]
        return out
    if isinstance(p, param.Selector):
        objects = list(p.objects.values() if isinstance(p.objects, dict) else p.objects)
        for o in objects:
            if format_value(o) == text:
                return o
        try:
            x = float(text)
        except ValueError:
            x = None
        for o in objects:
            if x is not None and isinstance(o, (int, float)) and not isinstance(o, bool) and float(o) == x:
                return o
        raise ValueError(f"one of {', '.join(format_value(o) for o in objects)}")
    if isinstance(p, param.Boolean):
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError("1 or 0")
    if isinstance(p, param.Number):                       # param.Integer is a Number too
        whole = isinstance(p, param.Integer)
        try:
            v = float(text)
        except ValueError:
            v = math.nan
        low, high = p.bounds or (None, None)
        if (not math.isfinite(v) or (whole and v != int(v)) or (low is not None and v < low)
                or (high is not None and v > high)):
            raise ValueError(f"{'a whole number' if whole else 'a number'} {_range(p)}".strip())
        return int(v) if whole else v
    if isinstance(p, param.String):
        return text
    raise ValueError(f"a value this page cannot read ({type(p).__name__})")


def split(fragment: str) -> tuple[str | None, list[tuple[str, str]]]:
    """``"cnn&lr=0.03"`` -> ``("cnn", [("lr", "0.03")])`` (a leading ``#`` is ignored; ``section=cnn``
    works too)."""
    section, pairs = None, []
    for part in fragment.lstrip("#").split("&"):
        if not part:
            continue
        key, eq, value = part.partition("=")
        key, value = unquote(key).strip(), unquote(value).strip()
        if not eq or key == "section":
            section = value if eq else key
        else:
            pairs.append((key, value))
    return section, pairs


def encode(section: str | None, items: list[tuple[str, str]]) -> str:
    parts = [quote(section, safe="")] if section else []
    parts += [f"{quote(k, safe='')}={quote(v, safe=',.-_')}" for k, v in items]
    return "&".join(parts)


class Scene:
    """Keeps the shell's scene and the hidden input the page copies into its address (see the module)."""

    def __init__(self, shell, fragment: str = ""):
        self.shell = shell
        self.store = pn.widgets.TextInput(value="", visible=False, css_classes=[STORE_CLASS])
        self.notice = pn.pane.HTML(ui.note_html(testid="scene-notice"), stylesheets=[ui.NOTE_CSS],
                                   sizing_mode="stretch_width", margin=0)
        self._tracked: set[str] = set()
        self._watched: set[tuple[int, str]] = set()
        self._pending: dict[str, tuple[list, bool]] = {}   # section -> (settings to apply, the others default?)
        self._problems: list[str] = []        # what the address asked for in vain, not shown yet
        self._said: list[str] = []            # ... and shown
        self._applying = False
        self._read(fragment)
        self.store.param.watch(self._store_changed, "value")

    # reading ---------------------------------------------------------------------------------------

    def _read(self, fragment: str) -> str | None:
        """Remember what ``fragment`` asks for; returns the section to show first (None: the default)."""
        section, pairs = split(fragment or "")
        self._problems = []
        if section is not None and section not in self.shell.sections:
            self._problems.append(f"there is no section {escape(section)!r}")
            section = None
        elif section is not None and not self.shell.sections[section].factory:
            self._problems.append(f"the section {escape(section)!r} is not available yet")
            section = None
        target = section or self.shell.section
        self._pending[target] = (pairs, True)  # True: the settings not named go back to their defaults
        return section

    def _apply_pending(self, key: str, view) -> None:
        pending = self._pending.pop(key, None)
        if pending is None:
            self._show_notice()
            return
        pairs, full = pending
        known = {name: (owner, pname) for name, owner, pname in self.params_of(view)}
        named = {name for name, _ in pairs}
        later = set(getattr(view, "scene_deferred", ()))   # settings of a part built later (the CNN's screen 2)
        updates: dict[int, tuple[object, dict]] = {}
        for name, text in pairs:
            if name not in known and name in later:
                self._pending.setdefault(key, ([], False))[0].append((name, text))
                continue
            if name not in known:
                self._problems.append(f"{escape(name)} (not a setting of this section)")
                continue
            owner, pname = known[name]
            try:
                value = parse_value(owner.param[pname], text)
                if callable(getattr(view, "scene_check", None)):
                    view.scene_check(name, value)
            except ValueError as exc:
                self._problems.append(f"{escape(name)}={escape(text)} (needs {escape(str(exc))})")
                continue
            updates.setdefault(id(owner), (owner, {}))[1][pname] = value
        for name, (owner, pname) in known.items() if full else ():   # the same address, the same scene
            if name not in named:
                updates.setdefault(id(owner), (owner, {}))[1].setdefault(pname, owner.param[pname].default)
        self._applying = True
        try:
            for owner, values in updates.values():
                changed = {k: v for k, v in values.items() if getattr(owner, k) != v}
                if changed:
                    owner.param.update(**changed)
        finally:
            self._applying = False
        if full or self._problems:
            self._show_notice(reset=full)

    def _show_notice(self, reset: bool = True) -> None:
        """Say what the address asked for in vain (``reset``: a new address, else added to the notice)."""
        self._said = ([] if reset else self._said) + self._problems
        self._problems = []
        text = ""
        if self._said:
            text = ("The address asked for something this page does not have, so the default was kept: "
                    + "; ".join(self._said) + ".")
        self.notice.object = ui.note_html(text, kind="info", testid="scene-notice")
        self.notice.margin = (0, 5, 8, 5) if text else 0

    def _store_changed(self, event) -> None:
        """The page wrote a new fragment (the address was edited by hand): open that scene."""
        if event.new == self.text() or self._applying:
            return
        section = self._read(event.new)
        if section and section != self.shell.section:
            self.shell.section = section          # the shell's _show applies the pending settings
        else:
            self._apply_pending(self.shell.section, self.shell.view())
        self.write()

    # writing ---------------------------------------------------------------------------------------

    @staticmethod
    def params_of(view) -> list[tuple[str, param.Parameterized, str]]:
        get = getattr(view, "scene_params", None)
        return list(get()) if get else []

    def shown(self, key: str, view) -> None:
        """The shell shows section ``key`` (``view``): apply what the address asked for it, track its settings
        and write the scene."""
        if key not in self._tracked:
            self._tracked.add(key)
            if hasattr(view, "scene_deferred"):
                view.scene_refresh = lambda: self.refresh(key, view)
        self.refresh(key, view)

    def refresh(self, key: str, view) -> None:
        """Apply the settings waiting for ``view``, watch its (new) settings, write the scene. A section calls
        ``scene_refresh()`` when it builds a part with settings of its own."""
        if key in self._pending:
            self._apply_pending(key, view)
        elif self._problems:
            self._show_notice()
        for name, owner, pname in self.params_of(view):
            if (id(owner), pname) not in self._watched:
                self._watched.add((id(owner), pname))
                owner.param.watch(lambda event: self.write(), pname)
        self.write()

    def text(self) -> str:
        """The scene of the section shown: ``""`` for the first section with every default."""
        key = self.shell.section
        view = self.shell._views.get(key)
        items = []
        for name, owner, pname in self.params_of(view) if view is not None else []:
            value, default = getattr(owner, pname), owner.param[pname].default
            if value != default:
                items.append((name, format_value(value)))
        first = next(iter(self.shell.sections))
        return encode(None if key == first and not items else key, items)

    def write(self) -> None:
        if self._applying:
            return
        text = self.text()
        if self.store.value != text:
            self.store.value = text
