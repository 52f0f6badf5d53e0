"""Colours of the page (issue 15): text contrast (WCAG 1.4.3) and classes that stay apart for the common
colour-vision deficiencies (deuteranopia, protanopia), simulated with Machado et al. (2009), severity 1.

Distances are CIE76 Delta E in CIELAB (about 2.3 is just noticeable; above 10 is clearly different)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from pyfadml.app import theme
from pyfadml.app.vae.training import AE_TEXT_COLOR

MACHADO = {
    "normal": np.eye(3),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
}


def _rgb(hex_colour: str) -> np.ndarray:
    h = hex_colour.lstrip("#")
    return np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)


def _linear(rgb: np.ndarray) -> np.ndarray:
    c = rgb / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def luminance(hex_colour: str) -> float:
    return float(np.array([0.2126, 0.7152, 0.0722]) @ _linear(_rgb(hex_colour)))


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def lab_seen(hex_colour: str, vision: str) -> np.ndarray:
    lin = np.clip(MACHADO[vision] @ _linear(_rgb(hex_colour)), 0.0, 1.0)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ lin
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a: str, b: str, vision: str) -> float:
    return float(np.linalg.norm(lab_seen(a, vision) - lab_seen(b, vision)))


def test_contrast_formula_matches_wcag_examples():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)      # the classic just-fails grey


@pytest.mark.parametrize("name", ["INK", "TEXT", "MUTED", "DANGER", "ACCENT"])
@pytest.mark.parametrize("background", ["PANEL_BG", "PAGE_BG"])
def test_text_colours_reach_4_5_to_1(name, background):
    ratio = contrast(getattr(theme, name), getattr(theme, background))
    assert ratio >= 4.5, f"theme.{name} on theme.{background}: {ratio:.2f}:1 < 4.5:1"


def test_coloured_text_and_buttons_reach_4_5_to_1():
    from pyfadml.app.theme import BUTTON_CSS
    assert contrast(AE_TEXT_COLOR, theme.PANEL_BG) >= 4.5
    for colour in ("#15803d", "#b45309"):                  # Play and Pause backgrounds, white text
        assert colour in BUTTON_CSS and contrast(colour, "#ffffff") >= 4.5


@pytest.mark.parametrize("vision", list(MACHADO))
def test_class_colours_stay_apart_with_colour_blindness(vision):
    colours = theme.CLASS_COLORS
    worst_three = min(delta_e(a, b, vision) for a, b in itertools.combinations(colours[:3], 2))
    worst_all = min(delta_e(a, b, vision) for a, b in itertools.combinations(colours, 2))
    assert worst_three > 40, f"{vision}: two of the first three classes are only {worst_three:.1f} apart"
    assert worst_all > 15, f"{vision}: two classes are only {worst_all:.1f} apart"
    # the diverging map's two ends (negative orange, positive blue)
    neg, pos = theme.DIVERGING[0], theme.DIVERGING[-1]
    assert delta_e(neg, pos, vision) > 60


def test_simulation_does_collapse_red_and_green():
    """The check can fail: pure red and green, far apart to normal vision, nearly merge for deuteranopia."""
    assert delta_e("#d00000", "#00a000", "normal") > 80
    assert delta_e("#d00000", "#00a000", "deuteranopia") < delta_e("#d00000", "#00a000", "normal") / 2


# ---------------------------------------------------------------------------------------------
# text alternatives of the pixel grids (widgets.PixelEditor)
# ---------------------------------------------------------------------------------------------

def _table_cells(html: str) -> list[list[str]]:
    import re
    rows = re.findall(r"<tr><th scope='row'>row \d+</th>(.*?)</tr>", html)
    return [re.findall(r"<td>(.*?)</td>", row) for row in rows]


def test_small_grid_is_read_as_a_table_that_follows_its_value():
    from pyfadml.app.widgets import PixelEditor
    editor = PixelEditor(value=np.array([[1.0, -1.5], [0.0, np.nan]]), label="Feature map", grid_id="fm")
    html = editor.text_alternative()
    assert "<caption>Feature map: 2 by 2 values</caption>" in html and "data-testid='sr-fm'" in html
    assert _table_cells(html) == [["1", "\u22121.5"], ["0", "no value"]]
    editor.set_pixel(1, 0, 7.0)                       # as a click would
    assert _table_cells(editor._caption.object) == [["1", "\u22121.5"], ["7", "no value"]]
    assert editor.as_text() == "1 -1.5;7 nan"         # a NaN cell no longer breaks the caption


def test_big_grid_gets_a_summary_instead_of_a_table():
    from pyfadml.app.widgets import TABLE_CELLS, PixelEditor
    v = np.zeros((28, 28))
    v[3, 4] = v[5, 6] = 1.0
    assert v.size > TABLE_CELLS
    html = PixelEditor(value=v, label="Drawing pad").text_alternative()
    assert "<table" not in html and "Drawing pad: 28 by 28 grid, 2 cells not zero, values from 0 to 1." in html


# ---------------------------------------------------------------------------------------------
# prefers-reduced-motion: the live views redraw at most once a second; the shell passes the page's preference
# ---------------------------------------------------------------------------------------------

def test_reduced_motion_slows_every_refresh_group():
    from pyfadml.app import live as live_mod
    from pyfadml.app import schedule
    class Demo:
        step_count, clip_norm = 0, None

    counts = {"n": 0}
    demo = Demo()
    ctrl = live_mod.LiveTraining("t", demo=lambda: demo, reset=lambda: None, redraw=lambda: None,
                                 refresh=[live_mod.Refresh(lambda: counts.__setitem__("n", counts["n"] + 1))])
    group = ctrl.refresh_groups[0]
    try:
        group.last = 100.0
        assert ctrl.draw_due(100.2) == [0]                    # every frame normally
        schedule.set_reduced_motion(True)
        assert ctrl.draw_due(100.5) == []                     # 0.3 s later: not yet
        assert ctrl.draw_due(100.2 + schedule.REDUCED_MOTION_EVERY) == [0]
    finally:
        schedule.set_reduced_motion(False)
    assert counts["n"] == 2


def test_shell_passes_the_page_preference(monkeypatch):
    from pyfadml.app import schedule
    from pyfadml.app.shell import AppShell, Section
    shell = AppShell(sections=(Section("a", "A", "panel:Spacer"),), section="a")
    try:
        shell._prefs.value = '{"reducedMotion": true}'
        assert schedule.reduced_motion()
        shell._prefs.value = "not json"                       # ignored, never raises
        assert schedule.reduced_motion()
        shell._prefs.value = '{"reducedMotion": false}'
        assert not schedule.reduced_motion()
    finally:
        schedule.set_reduced_motion(False)


def test_only_editable_grids_are_marked_for_the_keyboard():
    from pyfadml.app.widgets import PixelEditor
    editor = PixelEditor(value=np.zeros((3, 3)), grid_id="g")
    assert editor._fig.css_classes == ["pixel-editor", "pe-g", "pe-editable"]
    editor.editable = False                               # a read-only heatmap: no tab stop
    assert "pe-editable" not in editor._fig.css_classes


def test_latent_planes_name_each_class_at_its_codes():
    """The latent planes colour codes by class; each class's name is also written at the median of its codes."""
    from pyfadml.app.vae import VAESection

    s = VAESection()
    s.live.step()
    d = s.demo
    for kind in ("ae", "vae"):
        names = s.planes._names[kind].data
        lp = d.latent_plane(kind)
        assert names["text"] == [str(n) for n in d.class_names]
        k = 3
        keep = lp["label"] == k
        assert names["x"][k] == pytest.approx(float(np.median(lp["u"][keep])))
        assert names["y"][k] == pytest.approx(float(np.median(lp["v"][keep])))
    s.dataset = s.param.dataset.objects[-1] if s.dataset != s.param.dataset.objects[-1] else s.param.dataset.objects[0]
    assert s.planes._names["vae"].data["text"] == [str(n) for n in s.demo.class_names]   # a new data set: its names


# ---------------------------------------------------------------------------------------------
# phones: a figure wider than the screen shrinks to the width with its shape kept (ui.keeps_shape)
# ---------------------------------------------------------------------------------------------

def test_every_figure_of_every_section_keeps_its_shape_when_it_shrinks():
    """Every figure in the page (each section shown) carries aspect_ratio = width / height and the narrow-screen
    rule that lets its height follow the width it gets; a figure resized later keeps the two in step."""
    from bokeh.document import Document
    from bokeh.models import Plot

    from pyfadml.app.shell import SECTIONS, AppShell
    from pyfadml.app.widgets import PixelEditor

    doc = Document()
    shell = AppShell()
    doc.add_root(shell.__panel__().get_root(doc))
    plots = set()
    try:
        for key in [s.key for s in SECTIONS if s.factory]:
            shell.section = key
            plots |= {m for m in doc.models if isinstance(m, Plot)}
    finally:
        doc.clear()
    assert len(plots) >= 30, len(plots)          # 37 when written
    wrong = [(p.name or p.title.text if p.title else "", p.width, p.height, p.aspect_ratio) for p in plots
             if p.aspect_ratio is None or abs(p.aspect_ratio - p.width / p.height) > 1e-12
             or theme.FIGURE_NARROW_CSS not in p.stylesheets]
    assert wrong == []
    editor = PixelEditor(value=np.zeros((3, 5)), cell_size=20)
    editor.cell_size = 30
    editor.value = np.zeros((4, 4))
    fig = editor._fig
    assert (fig.width, fig.height) == (122, 122) and fig.aspect_ratio == 1.0


# ---------------------------------------------------------------------------------------------
# sign not by colour only: '+' / '−' over the diverging pictures (ui.sign_marks)
# ---------------------------------------------------------------------------------------------

def _marks(data) -> dict:
    """(x, y) -> '+' or '−' from a sign_bars source; a '+' is two bars (one of them upright), a '−' one."""
    out, bars = {}, {}
    for x, y, w, h, sign in zip(*(data[k] for k in ("x", "y", "w", "h", "sign"))):
        out.setdefault((x, y), sign)
        assert out[(x, y)] == sign
        bars[(x, y)] = bars.get((x, y), 0) + 1
    assert all(bars[k] == (2 if s == "+" else 1) for k, s in out.items())
    return out


def test_sign_bars_draw_plus_minus_and_nothing_near_zero():
    from pyfadml.app import ui
    fig = ui.figure(width=200, height=100, x_range=(0, 20), y_range=(0, 10))
    data = ui.sign_bars(fig, [1, 2, 3, 4], [1, 1, 1, 1], [0.5, -0.5, 0.05, float("nan")], size=(10, 10), stroke=2)
    assert _marks(data) == {(1.0, 1.0): "+", (2.0, 1.0): ui.MINUS}
    wide = [(w, h) for w, h in zip(data["w"], data["h"]) if w > h]
    assert wide == [(1.0, 0.2), (1.0, 0.2)]                      # 10 x 2 pixels, in data units


def _assert_marks_follow(marks: dict, value_at, threshold=0.1) -> int:
    for (x, y), sign in marks.items():
        v = value_at(x, y)
        assert (v > threshold if sign == "+" else v < -threshold), ((x, y), sign, v)
    return len(marks)


def test_backprop_neuron_tiles_carry_their_sign_after_a_step():
    """The hidden-neuron tiles: a '+' or '−' at 3 x 3 points of every tile, from the value drawn there, kept
    in step with the colours when training moves them."""
    from pyfadml.app.backprop.section import BackpropSection
    s = BackpropSection()
    s.activation = "tanh"
    for _ in range(2):
        s.live.step()
        img = s._neuron_src.data["image"][0]
        at = lambda x, y: float(img[int(y - 0.5), int(x - 0.5)])          # noqa: E731
        marks = _marks(s._neuron_signs.data)
        tiles = s.demo.depth * s.demo.breadth
        assert 0.5 * 9 * tiles <= _assert_marks_follow(marks, at) <= 9 * tiles
        assert {"+", "\u2212"} <= set(marks.values())


def test_rnn_hidden_squares_and_cell_state_carry_their_sign_after_a_step():
    """The unfolded network's hidden squares (one per unit and step) and the LSTM's cell-state heatmap: every
    square paler than a tenth of the scale has no mark, every other one its '+' or '−', after each step."""
    from pyfadml.app.rnn import RNNSection
    s = RNNSection()
    tab, view = s.modes, s.modes.unfolded
    for _ in range(2):
        tab.live.step()
        cells = view.cells.data
        value = {(x, y): v for x, y, v in zip(cells["x"], cells["y"], cells["v"])}
        marks = _marks(view.signs.data)
        assert _assert_marks_follow(marks, lambda x, y: value[(x, y)]) == sum(abs(v) > 0.1 for v in value.values())
    s.race.live.step()
    c = s.gates._src["c"].data["image"][0]                                  # (units, steps)
    m = max(float(np.max(np.abs(c))), 0.1)
    marks = _marks(s.gates._cell_signs.data)
    assert _assert_marks_follow(marks, lambda x, y: c[int(y), int(x)] / m) == int((np.abs(c / m) > 0.1).sum())


def test_cnn_kernel_tiles_carry_their_sign_after_a_step():
    """The learned kernels (start, now, now − start): a '+' or '−' on every weight of at least a tenth of the
    largest |weight|, none on the others, following the weights as training moves them."""
    from pyfadml.app.cnn.helpers import TileFigure
    from pyfadml.app.cnn.section import CNNSection

    t = CNNSection(n_samples=300).training
    for _ in range(2):
        t.live.step()
        t.views.draw_kernels()
        tiles = t.views.kernels_now
        img = tiles.src.data["image"][0]                                    # Bokeh's row 0 is the bottom
        marks = _marks(tiles.signs.data)
        count = int((np.abs(img[np.isfinite(img)]) > 0.1).sum())
        assert _assert_marks_follow(marks, lambda x, y: float(img[int(y - 0.5), int(x - 0.5)])) == count
        assert {"+", "\u2212"} <= set(marks.values())
    assert TileFigure(palette=["#000", "#fff"], symmetric=False).signs is None    # one-signed pictures: no marks
