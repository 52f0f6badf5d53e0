"""The "Convolution & CNN" section natively (no browser): both screens show the library's numbers, every
control answers a bad value inline, the live controller trains, pauses, resets and survives a divergence."""
from __future__ import annotations

import re

import numpy as np
import pytest

pn = pytest.importorskip("panel")

from pyfadml.app.cnn import CNNSection  # noqa: E402
from pyfadml.app.cnn.convolution import KERNEL_LIMIT, cell_size  # noqa: E402
from pyfadml.data.images import X_KERNEL, lecture_x, lecture_x_variant  # noqa: E402
from pyfadml.demos import conv  # noqa: E402
from pyfadml.layers import MaxPool2D, ReLU  # noqa: E402
from pyfadml.layers.conv import correlate2d  # noqa: E402


def attr(html: str, name: str) -> str:
    return re.search(rf'{name}="([^"]*)"', html).group(1)


def grid_values(editor) -> np.ndarray:
    return np.array([[float(v) for v in row.split()] for row in editor.as_text().split(";")])


@pytest.fixture(scope="module")
def section():
    return CNNSection(n_samples=300)


@pytest.fixture
def screen1(section):
    s = section.convolution
    s.param.update(image_preset="x", kernel_preset="x", apply_relu=False, apply_pool=False, position=0)
    s.image_editor.value = lecture_x()
    yield s
    s._kernel_text.value = conv.format_kernel(X_KERNEL)


@pytest.fixture
def screen2(section):
    t = section.training
    t.param.update(dataset="shapes", n_samples=300, lr=0.01, batch_size=32, seed=0)
    t.live.reset()
    return t


# ---------------------------------------------------------------------------------------------
# screen 1: convolution
# ---------------------------------------------------------------------------------------------

def test_feature_map_is_the_librarys_for_every_edit(screen1):
    s = screen1
    np.testing.assert_array_equal(s.fmap_view.value, correlate2d(lecture_x(), X_KERNEL))
    assert s.fmap_view.highlight == [(3, 3)]
    assert attr(s._summary.object, "data-centre") == "9"
    s.image_editor.set_pixel(4, 4, -1.0)            # what a click does
    edited = lecture_x()
    edited[4, 4] = -1.0
    np.testing.assert_array_equal(grid_values(s.fmap_view), correlate2d(edited, X_KERNEL))
    assert attr(s._summary.object, "data-centre") == "7"
    assert s.image_editor.label.startswith("Input image X, edited")
    s.image_preset = "variant"
    np.testing.assert_array_equal(s.fmap_view.value, correlate2d(lecture_x_variant(), X_KERNEL))


def test_the_captions_name_the_image_shown(screen1):
    s = screen1
    assert s.image_editor.label.startswith("Input image X ") and "X ⋆ K" in s.fmap_view.label
    s.image_preset = "variant"                       # issue 9, item 8: χ is not called X
    assert s.image_editor.label.startswith("Input image χ ") and "χ ⋆ K" in s.fmap_view.label
    assert "zone of χ" in s._step_view.object


def test_step_through_matches_the_library_at_every_position(screen1):
    s = screen1
    for key in ("x", "sharpen", "blur_box"):
        s.kernel_preset = key
        fm = correlate2d(s.image, s.kernel)
        for pos in (0, 5, 24, 48):
            s.position = pos
            r, c = divmod(pos, 7)
            html = s._step_view.object
            assert f'data-row="{r}" data-col="{c}"' in html
            assert float(attr(html, "data-library")) == fm[r, c]
            assert float(attr(html, "data-total")) == pytest.approx(fm[r, c], abs=1e-12)
            assert s.image_editor.window == (r, c, 3, 3)


def test_relu_pool_and_typed_kernels(screen1):
    s = screen1
    s.apply_relu, s.apply_pool = True, True
    fm = correlate2d(lecture_x(), X_KERNEL)
    np.testing.assert_array_equal(s.fmap_view.value, ReLU().forward(fm))
    np.testing.assert_array_equal(s.pool_view.value,
                                  MaxPool2D(2).forward(ReLU().forward(fm)[None, None, :6, :6])[0, 0])
    assert s.pool_view.visible
    s.apply_relu, s.apply_pool = False, False
    assert not s.pool_view.visible
    s._kernel_text.value = "0 0 0\n0 1 0\n0 0 0"
    assert s.kernel_preset == "identity" and s._kernel_msg.object == ""
    np.testing.assert_array_equal(s.fmap_view.value, lecture_x()[1:-1, 1:-1])
    s.kernel_editor.set_pixel(0, 0, 1.0)             # a click on the kernel
    assert s.kernel_preset == "custom"
    np.testing.assert_array_equal(conv.parse_kernel(s._kernel_text.value), s.kernel)


@pytest.mark.parametrize("text, says", [
    ("\n".join(["1e308 1e308 1e308"] * 3), "too large"),     # issue 9, item 4
    ("\n".join(["1e400 1 1", "1 1 1", "1 1 1"]), "too large"),
    ("", "empty"),
    ("1/0 1 1\n1 1 1\n1 1 1", "divides by zero"),
    ("1 2 3\n4 five 6\n7 8 9", "'five' is not a number"),
    ("1 2\n3 4", "expected 3 rows"),
])
def test_a_bad_kernel_answers_inline_and_changes_nothing(screen1, text, says):
    s = screen1
    s._kernel_text.value = "1e308 1 1\n1 1 1\n1 1 1"            # one bad value first: later ones still answer
    s._kernel_text.value = text
    note = s._kernel_msg.object
    assert 'data-testid="kernel-error"' in note and says in note.replace("&#x27;", "'")
    np.testing.assert_array_equal(s.kernel, X_KERNEL)
    np.testing.assert_array_equal(grid_values(s.fmap_view), correlate2d(lecture_x(), X_KERNEL))
    s._kernel_text.value = f"{KERNEL_LIMIT:g} 0 0\n0 0 0\n0 0 0"  # the limit itself is allowed
    assert s._kernel_msg.object == "" and s.kernel[0, 0] == KERNEL_LIMIT


def test_fractional_feature_maps_get_cells_wide_enough_for_their_numbers(screen1):
    s = screen1
    assert s.fmap_view.cell_size == 34                 # whole numbers up to "−7"
    s.kernel_preset = "blur_box"                       # issue 9, item 8: "−0.56" in every cell
    assert s.fmap_view.cell_size >= 8 * len("−0.56") + 8
    assert cell_size(np.array([[-0.5555]])) > cell_size(np.array([[-5.0]]))


def test_pause_stops_the_sliding_kernel(section, screen1):
    s = screen1
    s.sliding = True
    s._slide_tick()
    assert s.position == 1
    section.pause(away=True)
    assert not s.sliding and s._slide_cb is None


# ---------------------------------------------------------------------------------------------
# screen 2: the CNN, live
# ---------------------------------------------------------------------------------------------

def test_steps_show_the_demos_numbers(screen2):
    t = screen2
    t.live.step()
    t.live.step()
    d = t.demo
    assert d.step_count == 2 and attr(t.live._status.object, "data-step") == "2"
    assert float(attr(t._stats.object, "data-test-acc")) == d.history["test_acc"][-1]
    assert attr(t.views._confusion.object, "data-correct") == str(int(np.trace(d.confusion())))
    t.views.draw_editor.set_pixel(8, 8, 1.0)
    p = d.predict_proba(t.views.draw_editor.value)
    assert attr(t.views._prediction.object, "data-class") == d.class_names[int(np.argmax(p))]
    assert list(t._curve_src.data["step"]) == [0, 1, 2]


def test_frames_train_and_pause_redraws(screen2):
    t = screen2
    before = t.views.kernels_now.checksum
    t.live.playing = True
    for _ in range(3):
        t.live.frame()
    assert t.demo.step_count >= 3
    t.live.pause()
    k = t.demo.step_count
    assert attr(t._stats.object, "data-step") == str(k) and t._curve_src.data["step"][-1] == k
    assert t.views.kernels_now.checksum != before
    t.live.frame()                                     # a late frame after Pause does nothing
    assert t.demo.step_count == k


def test_a_new_network_keeps_the_previous_curve(screen2):
    t = screen2
    t.live.step()
    t.live.step()
    t.filters1 = 4
    assert t.demo.filters == (4, 12) and t.demo.step_count == 0
    assert list(t._prev_src.data["step"]) == [0, 1, 2]
    assert list(t._curve_src.data["step"]) == [0]
    t.filters1 = 6


def test_digits_hide_the_shapes_only_controls(screen2):
    t = screen2
    t.dataset = "digits"                               # issue 9, item 8: no stale "Images" select
    assert t.views.draw_editor.value.shape == (8, 8) and t.demo.n_classes == 10
    assert not t._widgets["n_samples"].visible and not t._variations.visible
    assert t._digits_note.visible and "1,797" in t._digits_note.object
    t.dataset = "shapes"
    assert t._widgets["n_samples"].visible and not t._digits_note.visible


def test_an_empty_seed_box_answers_inline_and_keeps_the_seed(screen2):
    t = screen2
    box, note = t._widgets["seed"].objects
    box.value = None                                   # issue 9, item 3: empty box + Enter
    assert t.seed == 0 and box.value == 0 and "empty" in note.object
    box.value = 7
    assert t.seed == 7 and t.demo.seed == 7 and note.object == ""


def test_learning_rate_and_batch_size_apply_without_reset(screen2):
    t = screen2
    t.live.step()
    t.lr, t.batch_size = 0.003, 64
    assert t.demo.lr == 0.003 and t.demo.batch_size == 64 and t.demo.step_count == 1


def _diverge(t) -> int:
    """25 good steps, then an explosion; returns the step of the last good weights the Trainer kept."""
    t.demo.step(25)
    t.live.redraw()
    t.demo.lr = 1e30                                   # far beyond the menu, to force an explosion
    t.live.playing = True
    for _ in range(20):
        t.live.frame()
        if not t.live.playing:
            break
    assert t.live.state == "diverged" and attr(t.live._status.object, "data-diverged") == "1"
    assert "diverged" in t.live._status.object
    for _, p, _ in t.demo.model.parameters():
        assert np.all(np.isfinite(p))
    assert f"Restore step {t.live.divergence.last_good_step}" in t.live.box.lr_button.label
    return t.live.divergence.last_good_step


def test_divergence_pauses_and_a_smaller_rate_goes_on_from_the_last_good_step(screen2):
    t = screen2
    good = _diverge(t)
    step = t.live.recover(lr=0.001)
    assert 0 < step == good == t.demo.step_count and t.lr == 0.001 and t.demo.lr == 0.001
    assert t.live.state == "paused" and "Restored the weights" in t.live._status.object
    assert max(t._curve_src.data["step"]) == good       # the curves lost the refused steps
    t.live.step()
    assert t.demo.step_count == good + 1 and t.live.state == "paused"


def test_divergence_then_reset_starts_again(screen2):
    t = screen2
    _diverge(t)
    t.live.reset()
    assert t.live.state == "paused" and t.demo.step_count == 0
    t.live.step()
    assert t.demo.step_count == 1 and t.live.state == "paused"


def test_leaving_screen_2_pauses_the_training(section, screen2):
    t = screen2
    section.screen = 2
    t.live.playing = True
    t.live.frame()
    section.screen = 1
    assert t.live.state == "away" and not t.live.playing
    assert section.live_controllers == (section.convolution, t.live)
    assert not section._screens[2].visible and section._screens[1].visible


def test_in_a_live_page_screen_2_is_built_after_screen_1_behind_a_spinner(monkeypatch):
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    scheduled = []
    monkeypatch.setattr(pn.state, "execute", lambda callback, schedule="auto": scheduled.append(callback))
    with set_curdoc(Document()):
        s = CNNSection(n_samples=120)
    assert s.training is None and len(scheduled) == 1         # screen 2 comes after screen 1 is sent
    assert 'data-testid="cnn-building"' in s._slot.objects[0].object and "spinner" in s._slot.objects[0].object
    assert s.live_controllers == (s.convolution,)
    s.screen = 2                                               # a student who is quick: the spinner shows
    assert s._screens[2].visible and not s._screens[1].visible
    s.build_training()
    assert s._slot.objects[0] is s.training.__panel__() and s.training.demo.n_samples == 120
    assert s.live_controllers == (s.convolution, s.training.live)


def test_kernel_positions_are_counted_from_1(screen1):
    """Issue 13, item 6: the slider and its caption count positions, rows and columns from 1 (the lecture's
    "row 1, column 1"); the screen's own ``position`` stays 0-based."""
    s = screen1
    s.position = 0
    assert s._pos_slider.value == 1 and (s._pos_slider.start, s._pos_slider.end) == (1, 49)
    assert 'data-row="1" data-col="1"' in s._pos_where.object and "Position 1 of 49" in s._pos_where.object
    s._pos_slider.value = 9                            # the student drags to 9: row 2, column 2 of the 7x7 map
    assert s.position == 8
    assert 'data-row="2" data-col="2"' in s._pos_where.object
    s._move(-9)
    assert s._pos_slider.value == 49 and "row 7, column 7" in s._pos_where.object


def test_the_chosen_kernel_is_drawn_on_the_grey_picture(screen1):
    """Issue 13, item 3: the picture view follows the kernel and shows the library's numbers."""
    from pyfadml.data.images import grey_picture

    s = screen1
    s.kernel_preset = "sharpen"
    want = conv.filter_picture(grey_picture(), conv.preset_kernel("sharpen"))
    assert s.picture.result["kind"] == "sharpen"
    np.testing.assert_array_equal(s.picture.result["output"], want["output"])
    assert f'data-detail="{want["detail_ratio"]!r}"' in s.picture._numbers.object
    checksum = s.picture.tiles.checksum
    s.kernel_preset = "blur_box"
    assert s.picture.result["kind"] == "smooth" and s.picture.tiles.checksum != checksum
    s.kernel_preset = "x"


# ---------------------------------------------------------------------------------------------
# issue 13, item 1: the demerits of CNN (screen 3) and the occlusion map (screen 2)
# ---------------------------------------------------------------------------------------------

def test_occlusion_map_follows_the_input_and_waits_while_training(screen2):
    t = screen2
    for _ in range(3):
        t.live.step()
    occ = t.views.occlusion
    d = t.demo
    img, _ = d.example(int(t.views.test_index))
    want = d.occlusion(img, patch=4)
    np.testing.assert_allclose(occ.result["map"], want["map"])
    cap = occ._caption.object
    assert 'data-state=\'fresh\'' in cap and f"data-step='{d.step_count}'" in cap
    assert "breast-cancer detection" in occ._layout[-1].object
    t.live.playing = True                      # a frame while training: the map is kept, and said to be old
    t.views.draw_maps()
    assert "data-state='stale'" in occ._caption.object and "press Pause" in occ._caption.object
    t.live.pause()
    assert "data-state='fresh'" in occ._caption.object
    t.views.map_source = "drawing"             # an empty drawing: nothing to hide
    assert "data-state='empty'" in occ._caption.object
    t.views.map_source = "test"


def test_demerits_screen_is_built_when_shown_and_trains_one_thing_at_a_time(section):
    s = section
    s.screen = 3
    d = s.build_demerits()
    assert s.demerits is d and d.hunger_live in s.live_controllers and d.race_live in s.live_controllers
    d.hunger_live.reset()
    d.hunger_live.step()
    assert attr(d._hunger_stats.object, "data-step") == "1" and attr(d._hunger_stats.object, "data-points") == "0"
    d.hunger.step(149)                         # the first size is done: one point
    d._draw_hunger()
    assert attr(d._hunger_stats.object, "data-sizes") == "30"
    assert d._hunger_src.data["size"] == [30]
    d.hunger_live.play()
    d.race_live.play()                         # one training at a time in the section
    assert d.race_live.playing and not d.hunger_live.playing
    s.training.live.play()
    assert not d.race_live.playing
    s.training.live.pause()
    d.race_live.play()
    s.screen = 1                               # leaving the screen pauses its trainings
    assert not d.race_live.playing and d.race_live.state == "away"
    assert "cnn-cost-table" in d._layout[1][-1].object


def test_the_race_table_shows_the_demo_numbers_and_a_verdict_when_done(section):
    d = section.build_demerits()
    d.race_live.reset()
    r = d.race
    while not r.done and r.step_count < 1500:
        r.step(10)
    d._draw_race()
    html = d._race_stats.object
    assert r.done and attr(html, "data-done") == "1"
    assert attr(html, "data-cnn-step") == str(r.reached["CNN"]["step"])
    assert float(attr(html, "data-mlp-seconds")) == r.reached["MLP"]["seconds"]
    assert "data-testid='race-verdict'" in html and "fewer parameters" in html
    assert len(d._race_src["CNN"].data["acc"]) == len(r.curve["CNN"])


def test_kernels_show_now_minus_start_and_deeper_features_follow_the_network(screen2):
    """Issue 13, item 5: kernels 84 px large with a "now − start" row; top patches of level 2 and 3."""
    t = screen2
    v = t.views
    assert v.kernels_now.tile_px >= 80
    t.live.step()
    d = t.demo
    assert float(re.search(r"data-change='([^']*)'", v._kernels_caption.object).group(1)) > 0
    np.testing.assert_allclose(v.kernels_diff.src.data["image"][0].shape, v.kernels_now.src.data["image"][0].shape)
    f = v.features
    want = d.top_patches(2, k=4)
    np.testing.assert_array_equal(f.results[2]["patches"], want["patches"])
    assert "data-state='fresh'" in f._caption.object and f"data-step='{d.step_count}'" in f._caption.object
    t.live.playing = True
    f.draw()
    assert "data-state='stale'" in f._caption.object
    t.live.pause()
    assert "data-state='fresh'" in f._caption.object


def test_a_tile_figure_sends_its_labels_and_frames_only_when_they_change():
    """While training, a redraw of the kernels changes the picture and the sign marks only: the labels and
    the tile frames go to the page again only when the layout or the labels change."""
    from pyfadml.app import theme
    from pyfadml.app.cnn.helpers import TileFigure

    tiles = TileFigure(palette=theme.DIVERGING, symmetric=True)
    changed = []
    for name, src in (("image", tiles.src), ("labels", tiles.labels), ("frames", tiles.frames),
                      ("signs", tiles.signs)):
        src.on_change("data", lambda attr, old, new, name=name: changed.append(name))
    rng = np.random.default_rng(0)
    tiles.show(list(rng.normal(size=(4, 3, 3))), ["a", "b", "c", "d"])
    assert {"labels", "frames"} <= set(changed)
    changed.clear()
    tiles.show(list(rng.normal(size=(4, 3, 3))), ["a", "b", "c", "d"])     # new values, same layout and labels
    assert "labels" not in changed and "frames" not in changed and "signs" in changed
    changed.clear()
    tiles.show(list(rng.normal(size=(4, 3, 3))), ["a", "b", "c", "e"])     # a new label
    assert "labels" in changed and tiles.labels.data["text"] == ["a", "b", "c", "e"]
    tiles.show(list(rng.normal(size=(6, 3, 3))), None)                     # a new layout, no labels
    assert tiles.labels.data["text"] == [] and len(tiles.frames.data["x"]) == 6
