"""The Panel app builds natively and its callbacks run headless, driven through the Viewers' methods."""
from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import numpy as np
import pytest

pn = pytest.importorskip("panel")

from pyfadml.app import create_app  # noqa: E402
from pyfadml.app.backprop import BackpropSection  # noqa: E402
from pyfadml.app.shell import SECTIONS, AppShell  # noqa: E402
from pyfadml.demos.mlp import MLPDemo  # noqa: E402


class _Tables(HTMLParser):
    """name -> 2-D list of floats from the inspector's <table data-name=...><td data-v=...> cells."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[float]]] = {}
        self._name = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "data-name" in a:
            self._name = a["data-name"]
            self.tables[self._name] = []
        elif tag == "tr" and self._name is not None:
            self.tables[self._name].append([])
        elif tag == "td" and self._name is not None and "data-v" in a:
            self.tables[self._name][-1].append(float(a["data-v"]))

    def handle_endtag(self, tag):
        if tag == "table":
            self.tables[self._name] = [row for row in self.tables[self._name] if row]
            self._name = None


def inspector_tables(section: BackpropSection) -> dict[str, np.ndarray]:
    parser = _Tables()
    for pane in section.inspector.panes.values():
        parser.feed(pane.object or "")
    return {k: np.array(v) for k, v in parser.tables.items()}


def stat(section: BackpropSection, name: str) -> str:
    return re.search(rf'{name}="([^"]*)"', section._stats.object).group(1)


def live(section: BackpropSection, name: str) -> str:
    return re.search(rf'{name}="([^"]*)"', section.live._status.object).group(1)


@pytest.fixture
def section():
    return BackpropSection()


def test_create_app_builds_a_document():
    app = create_app()
    assert isinstance(app, pn.viewable.Viewable)
    doc = app.server_doc()
    assert doc.roots
    html = " ".join(str(getattr(m, "text", "")) for m in doc.models)
    assert "decision boundaries" in html and "Backprop inspector" in html


def test_shell_lists_the_lecture_sections_and_only_live_ones_open():
    shell = AppShell()
    titles = [b.label for b in shell._buttons.values()]
    assert titles == ["Backprop & decision boundaries", "Convolution & CNN", "RNN & LSTM", "Autoencoder & VAE",
                      "Exercises"]
    assert [b.disabled for b in shell._buttons.values()] == [s.factory is None for s in SECTIONS]
    assert "current" in shell._buttons["backprop"].css_classes
    assert isinstance(shell.view(), BackpropSection)
    assert [slot.objects for slot in shell._content.objects] == [[shell.view().__panel__()]]


def test_a_coming_section_is_shown_as_such_and_cannot_open():
    from pyfadml.app.shell import Section
    sections = (SECTIONS[0], Section("later", "Later part", None))
    shell = AppShell(sections=sections)
    button = shell._buttons["later"]
    assert button.disabled and "coming" in button.css_classes
    with pytest.raises(ValueError, match="not available"):
        shell.view("later")
    with pytest.raises(ValueError, match="section"):
        AppShell(sections=sections, section="later")


def test_a_section_that_fails_to_build_shows_its_error_and_the_others_work():
    from pyfadml.app.shell import BrokenSection, Section

    sections = (SECTIONS[0], Section("bad", "Bad part", "_pyfadml_no_such_module:Nothing"))
    shell = AppShell(sections=sections)
    shell.section = "bad"
    view = shell.view()
    assert isinstance(view, BrokenSection) and isinstance(view.error, ModuleNotFoundError)
    assert 'data-testid="section-error"' in view.__panel__().object
    assert "_pyfadml_no_such_module" in view.__panel__().object
    shell.section = "backprop"
    assert isinstance(shell.view(), BackpropSection)


def test_switching_sections_pauses_the_one_left():
    from pyfadml.app.shell import Section

    class Other(pn.viewable.Viewer):
        def __panel__(self):
            return pn.pane.HTML("other")

    import sys
    import types
    module = types.ModuleType("_pyfadml_test_other")
    module.Other = Other
    sys.modules[module.__name__] = module
    shell = AppShell(sections=(SECTIONS[0], Section("other", "Other", "_pyfadml_test_other:Other")))
    backprop = shell.view()
    backprop.live.playing = True
    shell.section = "other"
    assert not backprop.live.playing and backprop.live.state == "away"
    assert [slot.visible for slot in shell._content.objects] == [False, True]     # backprop hidden, kept
    assert shell._content.objects[1].objects[0].object == "other"
    assert "current" in shell._buttons["other"].css_classes


def _tap_patch(model, x: float, y: float) -> dict:
    """The JSON patch BokehJS sends for a click on ``model`` (as the page's worker receives it)."""
    values = {"type": "map", "entries": [
        ["model", {"id": model.id}], ["sx", 0], ["sy", 0], ["x", x], ["y", y],
        ["modifiers", {"type": "map", "entries": [["shift", False], ["ctrl", False], ["alt", False]]}]]}
    return {"events": [{"kind": "MessageSent", "msg_type": "bokeh_event",
                        "msg_data": {"type": "event", "name": "tap", "values": values}}]}


def test_figures_keep_their_click_callbacks_across_navigation():
    """Issue 9, item 1: after leaving a section and coming back, clicks still reach Python.

    Every figure of the document that asks BokehJS for taps (``subscribed_events``) must still have a
    Python callback for them after each section was left and shown again twice (Panel used to empty
    ``_event_callbacks`` of a figure taken out of the page), and a tap sent the way the browser sends
    it edits the CNN's input grid.
    """
    from bokeh.document import Document

    doc = Document()
    shell = AppShell()
    doc.add_root(shell.__panel__().get_root(doc))
    live = [s.key for s in SECTIONS if s.factory]
    for key in live * 2:                      # every section shown and left, twice
        shell.section = key
    tapped = set()
    for key in live:                          # ... and shown a third time: what is in the page now?
        shell.section = key
        tapped |= {m for m in doc.models if "tap" in m.subscribed_events}
    assert [m for m in tapped if not m._event_callbacks.get("tap")] == []
    assert len(tapped) >= 6          # the CNN's editable grids and heatmaps, the VAE's two latent planes
    shell.section = "cnn"
    grid = next(m for m in tapped if "pe-conv-input" in m.css_classes)
    caption = next(m for m in doc.models if "data-grid='conv-input'" in unescape(str(getattr(m, "text", ""))))
    assert "data-edits='0'" in unescape(caption.text)
    doc.apply_json_patch(_tap_patch(grid, 4.5, 4.5), setter="js")      # the centre pixel of the X
    assert "data-edits='1'" in unescape(caption.text)


def test_step_advances_exactly_one_step_and_shows_its_numbers(section):
    assert stat(section, "data-step") == "0"
    assert 'data-step="0"' in section.inspector.head.object         # nothing to inspect yet
    section.live.step()
    section.live.step()
    assert section.demo.step_count == 2 and stat(section, "data-step") == "2"
    native = MLPDemo(**section.demo.settings)
    native.step(2)
    row = native.evaluate()
    assert float(stat(section, 'data-testid="train-loss" data-value')) == row["train_loss"]
    assert float(stat(section, 'data-testid="test-acc" data-value')) == row["test_acc"]


@pytest.mark.parametrize("layer", [1, 2, 3])
def test_inspector_tables_hold_the_demo_values(section, layer):
    section.param.update(depth=2, breadth=5, dataset="moons", seed=3)
    for _ in range(4):
        section.live.step()
    section.inspector.layer = layer
    section.inspector.mode = "batch"
    shown = inspector_tables(section)
    native = MLPDemo(**section.demo.settings)
    native.step(4)
    r = native.inspect(layer)
    n = min(4, r["x"].shape[0])
    assert 'data-step="4"' in section.inspector.head.object
    np.testing.assert_array_equal(shown["W"], r["W"])
    np.testing.assert_array_equal(shown["a_prev"], r["a_prev"][:n].T)
    np.testing.assert_array_equal(shown["z"], r["z"][:n].T)
    np.testing.assert_array_equal(shown["a"], r["a"][:n].T)
    np.testing.assert_array_equal(shown["delta"], r["delta"][:n].T)
    np.testing.assert_array_equal(shown["dW"], r["dW"])
    np.testing.assert_array_equal(shown["db"], r["db"][:, None])
    if layer > 1:
        np.testing.assert_array_equal(shown["delta_prev"], r["delta_prev"][:n].T)
        assert "✓" in section.inspector.panes["back"].object
    else:
        assert "delta_prev" not in shown and "Backpropagation stops here" in section.inspector.panes["back"].object


@pytest.mark.parametrize("layer", [1, 3])
def test_inspector_shows_one_example_with_the_lectures_formulas_by_default(section, layer):
    """Issue 13, item 6: N = 1 (the default) shows inspect_example's numbers and the lecture's formulas."""
    section.param.update(depth=2, breadth=5, dataset="moons", seed=3)
    for _ in range(2):
        section.live.step()
    ins = section.inspector
    assert ins.mode == "example"
    ins.layer = layer
    ins.example = 2
    shown = inspector_tables(section)
    native = MLPDemo(**section.demo.settings)
    native.step(2)
    r = native.inspect_example(layer, 2)
    assert 'data-mode="example"' in ins.head.object and 'data-example="2"' in ins.head.object
    np.testing.assert_array_equal(shown["a_prev"], r["a_prev"].T)
    np.testing.assert_array_equal(shown["delta"], r["delta"].T)
    np.testing.assert_array_equal(shown["dW"], r["dW"])
    np.testing.assert_array_equal(shown["db"], r["db"][:, None])
    assert "n=2" in ins.panes["delta"].object                            # 1-based: the column of example 2
    assert "1}{N}" not in ins._f_delta.object and "\\sum" not in ins._f_dW.object
    if layer == 3:
        assert "a^L - y" in ins._f_delta.object
    diff = float(re.search(r'data-testid="inspector-mean" data-diff="([^"]*)"', ins.panes["dW"].object).group(1))
    assert diff < 1e-12
    ins.mode = "batch"
    assert "\\sum_n" in ins._f_dW.object and 'data-mode="batch"' in ins.head.object


def test_frames_train_and_redraw_the_boundary(section):
    before = (stat(section, "data-boundary-checksum"), section._boundary_src.data["image"][0].copy())
    section.live.playing = True
    for _ in range(4):
        section.live.frame()
    assert section.demo.step_count > 0
    assert not np.array_equal(section._boundary_src.data["image"][0], before[1])
    assert len(section._loss_src.data["step"]) >= 2
    section.live.pause()
    assert not section.live.playing and live(section, "data-playing") == "0"
    assert stat(section, "data-boundary-checksum") != before[0]      # Pause redraws the numbers too
    k = section.demo.step_count
    section.live.frame()                                # a late frame after pause does nothing
    assert section.demo.step_count == k


def test_plots_are_built_once_and_only_the_neuron_grid_resizes(section):
    figs = (section.boundary_fig, section.loss_fig, section.neuron_fig)
    sources = (section._boundary_src, section._loss_src, section._neuron_src)
    width, height = section.neuron_fig.width, section.neuron_fig.height
    section.param.update(depth=4, breadth=9)
    assert (section.boundary_fig, section.loss_fig, section.neuron_fig) == figs
    assert (section._boundary_src, section._loss_src, section._neuron_src) == sources
    assert (section.neuron_fig.width, section.neuron_fig.height) != (width, height)
    img = section._neuron_src.data["image"][0]
    t = section.demo.grid_size // 2
    assert img.shape == (4 * t + 3 * 4, 9 * t + 8 * 4)
    assert list(section.inspector._chooser.options.values()) == [1, 2, 3, 4, 5]
    section.inspector._chooser.value = 5                # the student clicks "l = 5 (output)"
    assert section.inspector.layer == 5
    section.depth = 1
    assert section.inspector.layer == 2 and list(section.inspector._chooser.options.values()) == [1, 2]
    assert section.inspector._chooser.value == 2 and "l = 2 (output)" in section.inspector._chooser.options


def test_learning_rate_and_batch_size_apply_without_reset(section):
    section.live.step()
    section.lr = 0.3
    section.batch_size = 4
    assert section.demo.step_count == 1 and section.demo.lr == 0.3 and section.demo.batch_size == 4
    section.live.step()
    assert 'data-batch="4"' in section.inspector.head.object


def test_settings_and_reset_rebuild_from_the_seed(section):
    section.live.step()
    section.dataset = "spiral"
    assert section.demo.step_count == 0 and section.demo.n_classes == 3
    section.live.step()
    section.live.reset()
    assert section.demo.step_count == 0 and stat(section, "data-step") == "0"
    assert section._loss_src.data["step"] == [0]
    np.testing.assert_array_equal(section.demo.X_train, MLPDemo(**section.demo.settings).X_train)


def test_divergence_pauses_with_a_message_and_a_smaller_rate_recovers(section):
    section.param.update(dataset="moons", activation="leaky_relu", lr=10.0)
    section.live.playing = True
    for _ in range(50):
        section.live.frame()
        if not section.live.playing:
            break
    assert section.live.state == "diverged" and live(section, "data-diverged") == "1"
    assert "learning rate" in section.live._status.object
    step = section.live.recover(lr=section.live.smaller_lr())
    assert section.lr == 1.0 and section.demo.lr == 1.0 and step == section.demo.step_count
    section.live.step()
    assert section.live.state == "paused" and section.demo.step_count == step + 1


def test_an_empty_seed_box_answers_inline_and_keeps_the_seed(section):
    box, note = section._widgets["seed"].objects                 # the Seed input and its note
    box.value = None                                              # the student empties the box, Enter
    assert section.seed == 0 and box.value == 0 and "empty" in note.object
    box.value = 7
    assert section.seed == 7 and section.demo.seed == 7 and note.object == ""


def test_idle_prebuild_builds_the_other_sections_and_puts_them_in_the_page_hidden(monkeypatch):
    """The browser builds the sections a student has not opened yet while nothing trains (issue 10): their
    Viewers exist and sit in the page, hidden, and opening one shows the prebuilt Viewer."""
    import asyncio
    import sys
    import types

    from pyfadml.app import shell as shell_module
    from pyfadml.app.shell import Section

    built = []

    class Other(pn.viewable.Viewer):
        def __init__(self, **params):
            super().__init__(**params)
            built.append(self)

        def __panel__(self):
            return pn.pane.HTML("other")

    module = types.ModuleType("_pyfadml_test_prebuild")
    module.Other = Other
    sys.modules[module.__name__] = module
    for name in ("PREBUILD_DELAY", "PREBUILD_QUIET", "PREBUILD_POLL", "PREBUILD_GAP"):
        monkeypatch.setattr(shell_module, name, 0.01)
    shell = AppShell(sections=(SECTIONS[0], Section("other", "Other", "_pyfadml_test_prebuild:Other")))
    backprop = shell.view()

    async def scenario():
        backprop.live.playing = True               # training: the prebuild waits
        task = asyncio.ensure_future(shell.prebuild_when_idle())
        await asyncio.sleep(0.1)
        waited = not built
        backprop.live.playing = False
        await asyncio.wait_for(task, timeout=5)
        return waited

    assert asyncio.run(scenario())
    assert len(built) == 1 and set(shell.prebuilt) == {"other"}
    # in the page, hidden: opening it only shows it
    assert shell._content.objects[0].objects == [backprop.__panel__()]
    assert shell._content.objects[1].objects[0].object == "other"
    assert [slot.visible for slot in shell._content.objects] == [True, False]
    shell.section = "other"
    assert len(built) == 1 and shell.view() is built[0] and shell._content.objects[1].objects[0].object == "other"
    assert [slot.visible for slot in shell._content.objects] == [False, True]


def test_two_sessions_show_every_section_side_by_side():
    """Under ``panel serve`` every visitor gets a document of their own: a Bokeh model shared at module level (the
    VAE's image colour mapper was) belongs to the first one, and the second visitor's section failed to build."""
    from bokeh.document import Document

    from pyfadml.app.shell import SECTIONS, AppShell

    keys = [s.key for s in SECTIONS if s.factory]
    docs, shells = [], []
    for _ in range(2):
        doc, shell = Document(), AppShell(prebuild=False)
        doc.add_root(shell.__panel__().get_root(doc))
        docs.append(doc)
        shells.append(shell)
    for key in keys:
        for shell in shells:
            shell.section = key
    for shell in shells:
        assert set(shell._views) == set(keys)
        assert not any(type(view).__name__ == "BrokenSection" for view in shell._views.values())
    first, second = ({id(m) for m in doc.models} for doc in docs)
    assert not first & second
