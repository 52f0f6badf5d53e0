"""The convolution explorer's numbers: the lecture's X example, presets, parsing, the step-through."""
import numpy as np
import pytest

from pyfadml.data.images import X_KERNEL, lecture_x, lecture_x_variant
from pyfadml.demos import conv
from pyfadml.layers import Conv2D, Conv2DNaive, MaxPool2D, ReLU
from pyfadml.layers.conv import correlate2d


def test_x_kernel_on_x_peaks_at_nine_in_the_centre_only():
    fm = conv.feature_map(lecture_x(), conv.preset_kernel("x"))
    assert fm.shape == (7, 7)
    assert fm[3, 3] == 9.0
    assert conv.argmax_cells(fm) == [(3, 3)]
    assert np.sum(fm == 9.0) == 1


def test_x_kernel_on_the_variant_never_reaches_nine():
    fm = conv.feature_map(lecture_x_variant(), X_KERNEL)
    assert fm.max() < 9.0
    assert len(conv.argmax_cells(fm)) > 1          # no single zone stands out


def test_preset_x_is_the_data_modules_kernel():
    np.testing.assert_array_equal(conv.preset_kernel("x"), X_KERNEL)


@pytest.mark.parametrize("name", list(conv.KERNEL_PRESETS))
def test_feature_map_is_the_librarys_conv(name):
    """The section's feature map is the library's: correlate2d and a Conv2D layer with the same kernel."""
    rng = np.random.default_rng(0)
    img = rng.choice([-1.0, 1.0], size=(9, 9))
    k = conv.preset_kernel(name)
    fm = conv.feature_map(img, k)
    np.testing.assert_array_equal(fm, correlate2d(img, k))
    for cls in (Conv2D, Conv2DNaive):
        layer = cls(1, 1, 3, rng=0)
        layer.params["W"][...] = k
        layer.params["b"][...] = 0.0
        np.testing.assert_allclose(fm, layer.forward(img[None, None])[0, 0], rtol=1e-12, atol=1e-12)


def test_step_through_products_sum_to_the_library_value_everywhere():
    rng = np.random.default_rng(1)
    img = rng.choice([-1.0, 1.0], size=(9, 9))
    for name in conv.KERNEL_PRESETS:
        k = conv.preset_kernel(name)
        fm = correlate2d(img, k)
        order = conv.positions(img.shape, 3)
        assert len(order) == fm.size and order[0] == (0, 0) and order[1] == (0, 1)
        for i, j in order:
            w = conv.window_products(img, k, i, j)
            np.testing.assert_array_equal(w["zone"], img[i:i + 3, j:j + 3])
            np.testing.assert_array_equal(w["products"], w["zone"] * k)
            assert w["total"] == pytest.approx(fm[i, j], abs=1e-12)


def test_step_through_at_the_centre_of_x_is_nine_ones():
    w = conv.window_products(lecture_x(), X_KERNEL, 3, 3)
    np.testing.assert_array_equal(w["products"], np.ones((3, 3)))
    assert w["total"] == 9.0


def test_window_outside_the_map_is_refused():
    with pytest.raises(ValueError, match="outside the feature map"):
        conv.window_products(lecture_x(), X_KERNEL, 7, 0)


def test_editing_one_pixel_changes_exactly_the_windows_that_cover_it():
    img = lecture_x()
    before = conv.feature_map(img, X_KERNEL)
    img2 = img.copy()
    img2[4, 4] = -1.0                              # erase the centre pixel
    after = conv.feature_map(img2, X_KERNEL)
    diff = after - before
    changed = np.argwhere(diff != 0)
    assert set(map(tuple, changed)) == {(i, j) for i in range(2, 5) for j in range(2, 5)}
    # each covering window loses 2 * K[u, v] at the pixel's offset (4 - i, 4 - j)
    for i, j in changed:
        assert diff[i, j] == -2.0 * X_KERNEL[4 - i, 4 - j]
    assert after[3, 3] == 7.0


def test_relu_and_pool_use_the_library():
    fm = conv.feature_map(lecture_x(), X_KERNEL)
    r = conv.relu(fm)
    np.testing.assert_array_equal(r, ReLU().forward(fm))
    assert r.min() == 0.0 and r[3, 3] == 9.0
    p = conv.max_pool(r, 2)                         # 7x7 -> the 6x6 that tiles -> 3x3
    assert p.shape == (3, 3)
    np.testing.assert_array_equal(p, MaxPool2D(2).forward(r[None, None, :6, :6])[0, 0])
    assert p[1, 1] == 9.0


def test_pipeline_reports_max_and_argmax_after_relu():
    out = conv.pipeline(lecture_x(), X_KERNEL, apply_relu=True, pool=2)
    assert out["max_value"] == 9.0 and out["argmax"] == [(3, 3)]
    assert out["pooled"].shape == (3, 3)
    assert (out["output"] >= 0).all() and (out["feature_map"] < 0).any()
    assert conv.pipeline(lecture_x(), X_KERNEL)["pooled"] is None


def test_smoothing_and_sharpening_behave_as_the_lecture_says():
    img = lecture_x()
    blurred = conv.feature_map(img, conv.preset_kernel("blur_box"))
    sharp = conv.feature_map(img, conv.preset_kernel("sharpen"))
    inner = img[1:-1, 1:-1]
    # smoothing shrinks the contrast, sharpening amplifies it
    assert blurred.std() < inner.std() < sharp.std()
    np.testing.assert_array_equal(conv.feature_map(img, conv.preset_kernel("identity")), inner)
    flat = np.ones((5, 5))
    for name in ("edge_vertical", "edge_horizontal", "edge_all"):
        np.testing.assert_array_equal(conv.feature_map(flat, conv.preset_kernel(name)), 0.0)


@pytest.mark.parametrize("text, expected", [
    ("1 -1 1\n-1 1 -1\n1 -1 1", X_KERNEL),
    ("1,-1,1; -1,1,-1; 1,-1,1", X_KERNEL),
    ("[[1, -1, 1], [-1, 1, -1], [1, -1, 1]]", X_KERNEL),
    ("1/9 1/9 1/9\n1/9 1/9 1/9\n1/9 1/9 1/9", np.full((3, 3), 1 / 9)),
    ("0 0 0\n0 1.5e0 0\n0 0 -.5", np.array([[0, 0, 0], [0, 1.5, 0], [0, 0, -0.5]])),
])
def test_parse_kernel(text, expected):
    np.testing.assert_array_equal(conv.parse_kernel(text), expected)


@pytest.mark.parametrize("text, message", [
    ("1 2 3\n4 5 6", "expected 3 rows"),
    ("1 2 3\n4 5\n7 8 9", "row 2 has 2 value"),
    ("1 2 3\n4 x 6\n7 8 9", "row 2, value 2: 'x' is not a number"),
    ("1 2 3\n4 1/0 6\n7 8 9", "divides by zero"),
    ("nan 0 0\n0 0 0\n0 0 0", "is not a number"),
    ("", "expected 3 rows"),
])
def test_parse_kernel_errors_say_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        conv.parse_kernel(text)


@pytest.mark.parametrize("name", list(conv.KERNEL_PRESETS))
def test_format_then_parse_round_trips_every_preset(name):
    text = conv.format_kernel(conv.KERNEL_PRESETS[name]["kernel"])
    np.testing.assert_allclose(conv.parse_kernel(text), conv.preset_kernel(name), rtol=0, atol=1e-15)
    assert conv.KERNEL_PRESETS[name]["label"] and conv.KERNEL_PRESETS[name]["note"]


def test_format_value():
    assert conv.format_value(9.0) == "9"
    assert conv.format_value(-0.0) == "0"
    assert conv.format_value(1 / 9) == "0.111"


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="unknown kernel preset"):
        conv.preset_kernel("nope")
    with pytest.raises(ValueError, match="image must be 2-dimensional"):
        conv.feature_map(np.zeros((1, 9, 9)), X_KERNEL)
    with pytest.raises(ValueError, match="kernel must be square"):
        conv.feature_map(lecture_x(), np.ones((3, 2)))
    with pytest.raises(ValueError, match="does not fit"):
        conv.feature_map(np.ones((2, 2)), X_KERNEL)
    with pytest.raises(ValueError, match="NaN or inf"):
        conv.feature_map(lecture_x(), np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="pool size"):
        conv.max_pool(np.ones((1, 1)), 2)


# issue 13, item 3: smoothing and sharpening you can see --------------------------------------

def test_grey_picture_is_a_fixed_grey_scene_larger_than_the_x():
    from pyfadml.data.images import grey_picture

    a, b = grey_picture(), grey_picture()
    assert a.shape == (48, 48) and a.dtype == np.float64 and 0.0 <= a.min() and a.max() <= 1.0
    np.testing.assert_array_equal(a, b)                       # the same picture every time
    assert len(np.unique(np.round(a, 2))) > 50                # grey levels, not just ±1
    assert grey_picture(32).shape == (32, 32)
    with pytest.raises(ValueError, match="between 24 and 128"):
        grey_picture(200)


def test_blur_smooths_sharpen_sharpens_and_edges_keep_only_the_outlines():
    """Measured: detail ratio (mean |Laplacian| relative to the picture's) 0.18 for the Gaussian blur, 0.24
    for the box blur, 3.35 for the sharpen."""
    from pyfadml.data.images import grey_picture

    img = grey_picture()
    blur = conv.filter_picture(img, conv.preset_kernel("blur_gaussian"))
    box = conv.filter_picture(img, conv.preset_kernel("blur_box"))
    sharp = conv.filter_picture(img, conv.preset_kernel("sharpen"))
    edges = conv.filter_picture(img, conv.preset_kernel("edge_all"))
    assert (blur["kind"], box["kind"], sharp["kind"], edges["kind"]) == ("smooth", "smooth", "sharpen", "edges")
    assert blur["detail_ratio"] < 0.3 and box["detail_ratio"] < 0.3 and sharp["detail_ratio"] > 2.0
    # the library's feature map, and what is drawn from it
    np.testing.assert_array_equal(blur["output"], conv.feature_map(img, conv.preset_kernel("blur_gaussian")))
    assert blur["output"].shape == (46, 46)
    np.testing.assert_allclose(blur["shown"], np.clip(blur["output"], 0, 1))           # sum(K) = 1
    assert np.all((edges["shown"] >= 0) & (edges["shown"] <= 1))
    # edges: near zero inside the flat sky far from everything, strong on the house's wall outline
    flat = np.abs(edges["output"][2:8, 2:12])
    wall_edge = np.abs(edges["output"][30:40, int(0.12 * 48) - 2:int(0.12 * 48) + 1])
    assert flat.mean() < 0.25 * wall_edge.max()
    # the stripes of the fence: a blur averages them away, so its fence is far flatter than the picture's
    fence = (slice(34, 41), slice(32, 43))
    assert blur["output"][fence].std() < 0.5 * img[1:-1, 1:-1][fence].std()
    assert conv.filter_picture(img, conv.preset_kernel("identity"))["kind"] == "copy"


def test_detail_and_filter_picture_reject_bad_input():
    with pytest.raises(ValueError, match="at least 3x3"):
        conv.detail(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="does not fit"):
        conv.filter_picture(np.zeros((4, 4)), np.ones((5, 5)))
    with pytest.raises(ValueError, match="NaN"):
        conv.filter_picture(np.zeros((8, 8)), np.full((3, 3), np.nan))


def test_parse_kernel_holds_values_to_a_limit_and_finds_the_preset():
    assert conv.parse_kernel("1000 0 0\n0 0 0\n0 0 0", limit=1000)[0, 0] == 1000
    with pytest.raises(ValueError, match="row 1, value 2: -1001 is too large. Use values from -1000 to 1000"):
        conv.parse_kernel("0 -1001 0\n0 0 0\n0 0 0", limit=1000)
    with pytest.raises(ValueError, match="row 3, value 1: 1e400 is too large. Use finite values"):
        conv.parse_kernel("0 0 0\n0 0 0\n1e400 0 0")
    with pytest.raises(ValueError, match="empty"):
        conv.parse_kernel(" [ ] ")
    assert conv.matching_preset(conv.preset_kernel("sharpen") + 1e-12) == "sharpen"
    assert conv.matching_preset(np.ones((3, 3))) is None and conv.matching_preset(np.ones((5, 5))) is None


def test_explain_says_why_the_maximum_marks_the_centre_of_x():
    from pyfadml.data.images import lecture_x, lecture_x_variant

    titles = [t for t, _ in conv.explain(lecture_x(), X_KERNEL)]
    assert titles == ["Why the maximum marks the centre of X", conv.KERNEL_PRESETS["x"]["label"]]
    assert conv.explain(lecture_x_variant(), X_KERNEL)[0][0] == "The same X, written differently (χ)"
    edited = lecture_x()
    edited[4, 4] = -1
    assert conv.explain(edited, X_KERNEL)[0] == ("", conv.explain(edited, X_KERNEL)[0][1])
    assert "largest value is 7" in conv.explain(edited, X_KERNEL)[0][1]
    assert conv.explain(lecture_x(), np.full((3, 3), 0.5))[-1] == ("Your kernel", "sums to 4.5: a flat area of "
                                                                   "value v gives 4.5·v")
    assert "smoothing-like" in conv.explain(lecture_x(), np.full((3, 3), 1 / 9) + np.eye(3) * [1, -1, 0])[-1][1]
    assert "edge-like" in conv.explain(lecture_x(), np.array([[0, 2.0, 0], [2, -8, 2], [0, 2, 0]]))[-1][1]
    tail = [t for t, _ in conv.explain(lecture_x(), X_KERNEL, apply_relu=True, pool=True)][-2:]
    assert tail == ["ReLU", "Max pooling"]


def test_window_products_names_the_library_value_and_whether_the_hand_sum_agrees():
    img = np.random.default_rng(3).normal(size=(6, 7))
    k = np.random.default_rng(4).normal(size=(3, 3))
    w = conv.window_products(img, k, 2, 4)
    assert w["library"] == float(correlate2d(img, k)[2, 4]) and w["agrees"] is True
    assert w["total"] == pytest.approx(w["library"], rel=1e-12)
