"""Datasets: shapes, dtypes, ranges, determinism, balance, the lecture's X and bad-argument errors."""
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from pyfadml.data import (
    SHAPE_CLASSES, SHAPE_VARIATIONS, TOY_DATASETS, X_KERNEL, lecture_x, lecture_x_variant, load_digits,
    make_shapes, make_spiral, make_toy, render_shape, train_test_split,
)
from pyfadml.data import sequences as seq


def correlate_valid(img, kernel):
    """Reference cross-correlation ("valid"), independent of the library's conv code."""
    return (sliding_window_view(img, kernel.shape) * kernel).sum(axis=(-1, -2))


# --------------------------------------------------------------------------------------------- toy 2-D

@pytest.mark.parametrize("name", sorted(TOY_DATASETS))
def test_toy_shapes_dtypes_and_balance(name):
    X, y = TOY_DATASETS[name](301, rng=0)
    assert X.shape == (301, 2) and X.dtype == np.float64
    assert y.shape == (301,) and np.issubdtype(y.dtype, np.integer)
    assert np.all(np.isfinite(X))
    counts = np.bincount(y)
    assert counts.min() >= 1 and counts.max() - counts.min() <= 1
    assert np.abs(X).max() < 5


@pytest.mark.parametrize("name", sorted(TOY_DATASETS))
def test_toy_is_deterministic_given_a_seed(name):
    X1, y1 = make_toy(name, 50, rng=7)
    X2, y2 = make_toy(name, 50, rng=np.random.default_rng(7))
    X3, _ = make_toy(name, 50, rng=8)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


def test_toy_noise_zero_gives_the_clean_shapes():
    X, y = make_toy("xor", 40, noise=0.0, rng=0)
    np.testing.assert_array_equal(np.abs(X), 1.0)
    np.testing.assert_array_equal(y, (np.sign(X[:, 0]) != np.sign(X[:, 1])).astype(int))
    X, y = make_toy("circles", 40, noise=0.0, factor=0.3, rng=0)
    np.testing.assert_allclose(np.hypot(X[:, 0], X[:, 1]), np.where(y == 0, 1.0, 0.3))


def test_spiral_has_n_classes_arms():
    X, y = make_spiral(100, n_classes=5, rng=0)
    assert set(np.unique(y)) == set(range(5))
    assert np.bincount(y).tolist() == [20] * 5


def test_train_test_split_partitions_the_rows():
    X = np.arange(40.0).reshape(20, 2)
    y = np.arange(20)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_fraction=0.25, rng=0)
    assert len(X_te) == 5 and len(X_tr) == 15
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(20))
    np.testing.assert_array_equal(X_tr[:, 0], 2 * y_tr)      # rows stay paired with their labels
    again = train_test_split(X, y, test_fraction=0.25, rng=0)
    np.testing.assert_array_equal(again[3], y_te)


@pytest.mark.parametrize("call, err, words", [
    (lambda: make_toy("banana", 10, rng=0), ValueError, "banana"),
    (lambda: TOY_DATASETS["xor"](0, rng=0), ValueError, "n"),
    (lambda: TOY_DATASETS["moons"](10, noise=-1, rng=0), ValueError, "noise"),
    (lambda: TOY_DATASETS["moons"](10, rng=None), TypeError, "rng"),
    (lambda: TOY_DATASETS["moons"](2.5, rng=0), TypeError, "n"),
    (lambda: make_spiral(10, n_classes=1, rng=0), ValueError, "n_classes"),
    (lambda: make_toy("xor", 10, n_classes=3, rng=0), TypeError, "n_classes"),
    (lambda: train_test_split(np.zeros((4, 2)), np.zeros(3), rng=0), ValueError, "same number of rows"),
    (lambda: train_test_split(np.zeros((4, 2)), np.zeros(4), test_fraction=1.0, rng=0), ValueError,
     "test_fraction"),
])
def test_toy_bad_arguments(call, err, words):
    with pytest.raises(err, match=words):
        call()


# --------------------------------------------------------------------------------------------- lecture X

def test_lecture_x_is_plus_minus_one_with_both_diagonals():
    x = lecture_x()
    assert x.shape == (9, 9) and x.dtype == np.float64
    assert set(np.unique(x)) == {-1.0, 1.0}
    inner = x[1:8, 1:8]
    np.testing.assert_array_equal(np.diag(inner), 1.0)
    np.testing.assert_array_equal(np.diag(inner[:, ::-1]), 1.0)
    assert (x == 1).sum() == 13                       # 7 + 7 pixels, sharing the centre


def test_kernel_scores_nine_only_at_the_centre_of_x():
    assert X_KERNEL.shape == (3, 3)
    score = correlate_valid(lecture_x(), X_KERNEL)
    assert score.shape == (7, 7)
    assert score.max() == 9
    assert np.argwhere(score == 9).tolist() == [[3, 3]]    # zone centred on pixel (4, 4)
    assert np.sort(score.ravel())[-2] < 9


def test_variant_x_never_reaches_nine():
    v = lecture_x_variant()
    assert v.shape == (9, 9) and set(np.unique(v)) == {-1.0, 1.0}
    assert not np.array_equal(v, lecture_x())
    score = correlate_valid(v, X_KERNEL)
    assert score.max() < 9
    assert (score == score.max()).sum() > 1                  # no single zone stands out as "the centre"


# --------------------------------------------------------------------------------------------- shapes

def test_shapes_shape_dtype_range_and_balance():
    X, y = make_shapes(61, size=16, rng=0)
    assert X.shape == (61, 1, 16, 16) and X.dtype == np.float64
    assert X.min() >= 0.0 and X.max() <= 1.0
    assert y.shape == (61,) and np.issubdtype(y.dtype, np.integer)
    counts = np.bincount(y, minlength=len(SHAPE_CLASSES))
    assert len(counts) == len(SHAPE_CLASSES) and counts.max() - counts.min() <= 1
    assert len(SHAPE_CLASSES) >= 5 and len(set(SHAPE_CLASSES)) == len(SHAPE_CLASSES)


def test_shapes_deterministic_given_a_seed():
    a = make_shapes(20, rng=3)
    b = make_shapes(20, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], make_shapes(20, rng=4)[0])


def test_shapes_without_variations_are_identical_per_class():
    X, y = make_shapes(36, variations=(), rng=0)
    for k, name in enumerate(SHAPE_CLASSES):
        imgs = X[y == k, 0]
        assert len(imgs) == 6
        np.testing.assert_array_equal(imgs, np.broadcast_to(imgs[0], imgs.shape))
        np.testing.assert_array_equal(imgs[0], render_shape(name, 16))
        assert imgs[0].max() > 0.7 and imgs[0].sum() > 10
    # the classes differ from each other
    firsts = np.stack([X[y == k, 0][0] for k in range(len(SHAPE_CLASSES))]).reshape(len(SHAPE_CLASSES), -1)
    dists = np.abs(firsts[:, None] - firsts[None]).sum(-1)
    assert dists[~np.eye(len(SHAPE_CLASSES), dtype=bool)].min() > 3


@pytest.mark.parametrize("variation", SHAPE_VARIATIONS)
def test_each_variation_switch_changes_the_images(variation):
    clean, y0 = make_shapes(30, variations=(), rng=1)
    varied, y1 = make_shapes(30, variations=(variation,), rng=1)
    np.testing.assert_array_equal(y0, y1)
    assert not np.allclose(clean, varied)
    assert varied.min() >= 0 and varied.max() <= 1
    if variation == "brightness":
        ratio = varied.max(axis=(1, 2, 3)) / clean.max(axis=(1, 2, 3))
        assert ratio.min() >= 0.4 - 1e-12 and ratio.max() <= 1.0 and ratio.std() > 0.05
    if variation == "occlusion":
        assert np.all(varied <= clean) and np.all((clean - varied).sum(axis=(1, 2, 3)) >= 0)
        assert np.mean((clean - varied).sum(axis=(1, 2, 3)) > 0) > 0.5
    if variation in ("orientation", "shift"):
        # geometry moves the ink but keeps about the same amount of it
        np.testing.assert_allclose(varied.sum(axis=(1, 2, 3)), clean.sum(axis=(1, 2, 3)), rtol=0.35)


def test_switching_one_variation_off_keeps_the_others_randomness():
    full, _ = make_shapes(10, variations=("orientation", "noise"), rng=5)
    no_noise, _ = make_shapes(10, variations=("orientation",), rng=5)
    assert 0 < np.abs(full - no_noise).mean() < 0.05


def test_shapes_subset_of_classes_and_size():
    X, y = make_shapes(9, size=12, classes=("O", "X", "+"), rng=0)
    assert X.shape == (9, 1, 12, 12)
    assert sorted(np.bincount(y).tolist()) == [3, 3, 3]
    np.testing.assert_array_equal(make_shapes(3, size=12, classes=("O",), variations=(), rng=0)[0][0, 0],
                                  render_shape("O", 12))


@pytest.mark.parametrize("kwargs, err, words", [
    (dict(n=0), ValueError, "n"),
    (dict(size=3), ValueError, "size"),
    (dict(classes=("X", "hexagon")), ValueError, "hexagon"),
    (dict(classes=("X", "X")), ValueError, "distinct"),
    (dict(classes="X"), TypeError, "classes"),
    (dict(variations=("blur",)), ValueError, "blur"),
    (dict(variations="noise"), TypeError, "variations"),
    (dict(noise_std=-0.1), ValueError, "noise_std"),
    (dict(rng="seed"), TypeError, "rng"),
])
def test_shapes_bad_arguments(kwargs, err, words):
    args = dict(n=10, rng=0)
    args.update(kwargs)
    with pytest.raises(err, match=words):
        make_shapes(**args)


# --------------------------------------------------------------------------------------------- digits

def test_digits_count_shape_range_and_labels():
    X, y = load_digits()
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.float64
    assert y.shape == (1797,) and np.issubdtype(y.dtype, np.integer)
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(np.unique(X * 16), np.arange(17))   # the 0..16 counts, divided by 16
    assert set(np.unique(y)) == set(range(10))
    assert np.bincount(y).min() >= 170
    assert y[:10].tolist() == list(range(10))                           # scikit-learn's original order


def test_digits_shuffle_with_rng_is_a_permutation():
    X, y = load_digits()
    Xs, ys = load_digits(rng=0)
    assert not np.array_equal(ys, y)
    np.testing.assert_array_equal(np.sort(ys), np.sort(y))
    np.testing.assert_array_equal(load_digits(rng=0)[1], ys)
    # each shuffled image is one of the originals, with its label
    order = np.lexsort(Xs.reshape(1797, -1).T)
    ref = np.lexsort(X.reshape(1797, -1).T)
    np.testing.assert_array_equal(Xs[order], X[ref])
    with pytest.raises(TypeError, match="rng"):
        load_digits(rng="x")


def test_digits_licence_ships_with_the_data():
    from importlib import resources
    text = resources.files("pyfadml.data").joinpath("DIGITS_LICENSE.txt").read_text()
    assert "Alpaydin" in text and "CC BY 4.0" in text


# --------------------------------------------------------------------------------------------- sequences

SEQUENCE_MAKERS = {
    "sine": lambda rng, n=20: seq.make_sine(n, T=15, rng=rng),
    "memory": lambda rng, n=20: seq.make_memory_task(n, T=12, n_symbols=5, rng=rng),
    "sentiment": lambda rng, n=20: seq.make_sentiment(n, T=10, rng=rng),
    "one_to_many": lambda rng, n=20: seq.make_one_to_many(n, T=16, n_classes=4, rng=rng),
    "parity": lambda rng, n=20: seq.make_many_to_many(n, T=9, task="parity", rng=rng),
    "delay": lambda rng, n=20: seq.make_many_to_many(n, T=9, task="delay", delay=3, n_symbols=4, rng=rng),
}


@pytest.mark.parametrize("name", sorted(SEQUENCE_MAKERS))
def test_sequences_are_float64_n_t_d_and_deterministic(name):
    X, Y = SEQUENCE_MAKERS[name](0)
    assert X.ndim == 3 and X.shape[0] == 20 and X.dtype == np.float64
    assert Y.shape[0] == 20 and np.all(np.isfinite(X))
    X2, Y2 = SEQUENCE_MAKERS[name](np.random.default_rng(0))
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(Y, Y2)
    assert not np.array_equal(X, SEQUENCE_MAKERS[name](1)[0])


def test_sine_targets_are_the_next_inputs():
    X, Y = seq.make_sine(8, T=30, rng=0)
    assert X.shape == (8, 30, 1) and Y.shape == (8, 30, 1)
    np.testing.assert_array_equal(Y[:, :-1], X[:, 1:])
    assert np.abs(X).max() <= 1.0
    Xn, Yn = seq.make_sine(8, T=30, noise=0.1, rng=0)
    np.testing.assert_array_equal(Yn, Y)             # noise on the inputs only
    assert not np.array_equal(Xn, X)


def test_memory_task_layout_and_label():
    X, y = seq.make_memory_task(400, T=25, n_symbols=8, rng=0)
    assert X.shape == (400, 25, 9) and y.shape == (400,) and np.issubdtype(y.dtype, np.integer)
    assert set(np.unique(X)) == {0.0, 1.0}
    np.testing.assert_array_equal(X[:, :, :8].sum(-1), 1.0)          # one symbol per step
    np.testing.assert_array_equal(X[:, 0, 8], 1.0)                   # start marker at t = 0 only
    assert X[:, 1:, 8].sum() == 0
    np.testing.assert_array_equal(X[:, 0, :8].argmax(-1), y)         # the label is the first symbol
    assert np.bincount(y).tolist() == [50] * 8
    # distractors are symbols of the same alphabet and say nothing about the label
    later = X[:, 1:, :8].argmax(-1)
    assert set(np.unique(later)) == set(range(8))
    assert np.mean(later[:, -1] == y) < 0.3
    assert seq.memory_task_chance(n_symbols=8, T=25) == 1 / 8


def test_sentiment_labels_follow_negation():
    X, y = seq.make_sentiment(300, T=10, rng=0)
    V = len(seq.SENTIMENT_VOCAB)
    assert X.shape == (300, 10, V) and set(np.unique(y)) == {0, 1}
    np.testing.assert_array_equal(X.sum(-1), 1.0)
    assert abs(np.bincount(y)[0] - np.bincount(y)[1]) <= 1
    pos = {"good", "great", "fun", "love", "brilliant"}
    neg = {"bad", "awful", "boring", "hate", "dull"}
    n_negated = 0
    for x, label in zip(X, y):
        words = seq.decode_tokens(x)
        votes = []
        for t, w in enumerate(words):
            if w in pos or w in neg:
                flipped = any(v in ("not", "never") for v in words[max(0, t - 2):t])   # "not bad", "not a bad film"
                n_negated += flipped
                votes.append((w in pos) != flipped)
        assert votes and all(v == bool(label) for v in votes), words
    assert n_negated > 50


def test_sentiment_reviews_read_as_sentences():
    """Issue 13, item 2: "the plot was not boring and it is a great film", not word salad."""
    import re

    subj = r"(the (movie|film|plot|actor|story)|it)"
    adj = r"(good|great|brilliant|fun|bad|awful|boring|dull)"
    clause = rf"{subj} (was|is)( (not|never))? ({adj}|a (good|great|brilliant|fun|bad|boring|dull) (movie|film|plot|story))"
    grammar = re.compile(rf"^{clause}( and {clause})?$")
    for T in (4, 6, 7, 10, 12, 15):
        X, y = seq.make_sentiment(200, T=T, rng=T)
        for x in X:
            text = " ".join(seq.decode_tokens(x))
            assert grammar.match(text), text
            assert len(text.split()) == T
    with pytest.raises(ValueError, match="between 4 and 15"):
        seq.make_sentiment(5, T=16, rng=0)


def test_one_to_many_input_and_waveforms():
    X, Y = seq.make_one_to_many(30, T=16, n_classes=3, rng=0)
    assert X.shape == (30, 16, 3) and Y.shape == (30, 16, 1)
    labels = X[:, 0].argmax(1)
    np.testing.assert_array_equal(X[:, 0].sum(1), 1.0)
    assert X[:, 1:].sum() == 0
    np.testing.assert_allclose(Y[:, :, 0], seq.one_to_many_waveforms(3, 16)[labels])
    assert np.bincount(labels).tolist() == [10, 10, 10]


def test_many_to_many_parity_and_delay_targets():
    X, Y = seq.make_many_to_many(50, T=9, task="parity", rng=0)
    assert X.shape == (50, 9, 1) and Y.shape == (50, 9)
    np.testing.assert_array_equal(Y, np.cumsum(X[:, :, 0], axis=1) % 2)
    X, Y = seq.make_many_to_many(50, T=9, task="delay", delay=3, n_symbols=4, rng=0)
    assert X.shape == (50, 9, 4)
    np.testing.assert_array_equal(Y[:, :3], 4)
    np.testing.assert_array_equal(Y[:, 3:], X[:, :-3].argmax(-1))


@pytest.mark.parametrize("call, err, words", [
    (lambda: seq.make_memory_task(10, T=1, rng=0), ValueError, "T"),
    (lambda: seq.make_memory_task(10, T=10, n_symbols=1, rng=0), ValueError, "n_symbols"),
    (lambda: seq.make_memory_task(10, T=10, rng=None), TypeError, "rng"),
    (lambda: seq.make_sine(0, rng=0), ValueError, "n"),
    (lambda: seq.make_sine(5, noise=-0.1, rng=0), ValueError, "noise"),
    (lambda: seq.make_sentiment(5, T=3, rng=0), ValueError, "T"),
    (lambda: seq.make_sentiment(5, negation_prob=1.5, rng=0), ValueError, "negation_prob"),
    (lambda: seq.make_one_to_many(5, n_classes=1, rng=0), ValueError, "n_classes"),
    (lambda: seq.make_many_to_many(5, task="sort", rng=0), ValueError, "sort"),
    (lambda: seq.make_many_to_many(5, T=4, task="delay", delay=4, rng=0), ValueError, "delay"),
    (lambda: seq.decode_tokens(np.zeros((3, 5))), ValueError, "decode_tokens"),
])
def test_sequence_bad_arguments(call, err, words):
    with pytest.raises(err, match=words):
        call()


def test_translation_moves_colours_after_their_noun():
    """Issue 13, item 2: a tiny vocabulary where the word order changes between the languages."""
    X, Y = seq.make_translation(400, rng=0)
    assert X.shape == (400, 9, len(seq.EN_VOCAB)) and Y.shape == (400, 9) and Y.dtype == np.int64
    assert seq.translate("the big dog sees the red ball".split()) == "le grand chien voit le ballon rouge".split()
    assert seq.translate("the black cat likes the small ball".split()) == "le chat noir aime le petit ballon".split()
    swapped = 0
    for x, y in zip(X, Y):
        en = [seq.EN_VOCAB[i] for i in x.argmax(1)]
        fr = [seq.FR_VOCAB[i] for i in y]
        assert fr[:2] == [".", "."]                                   # two steps behind
        words = [w for w in en if w != "."]
        assert fr[2:2 + len(words)] == seq.translate(words) and set(fr[2 + len(words):]) <= {"."}
        assert sorted(seq.translate(words)) == sorted(seq._EN_TO_FR[w] for w in words)   # same words
        swapped += seq.translate(words) != [seq._EN_TO_FR[w] for w in words]
    assert swapped > 100                                              # the order changes in many sentences
    with pytest.raises(ValueError, match="delay"):
        seq.make_translation(5, delay=9, rng=0)


# ---------------------------------------------------------------------------------------------
# your own points (pyfadml.data.points)
# ---------------------------------------------------------------------------------------------

def test_parse_points_standardises_and_orders_the_labels():
    from pyfadml.data.points import parse_points

    rows = "".join(f"{10 + i};{-5 + 2 * (i % 3)};{['10', '2', 'cat'][i % 3]}\n" for i in range(12))
    p = parse_points(("\ufeffx;y;label\n" + rows).encode())             # a BOM, a header, semicolons
    assert p["labels"] == ["2", "10", "cat"]                            # numbers first, by value; then words
    assert p["X"].shape == (12, 2) and p["y"].dtype == np.int64
    np.testing.assert_allclose(p["X"].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose((p["X"] ** 2).sum(axis=1).mean(), 2.0)   # one scale for both axes
    np.testing.assert_allclose(p["X"] * p["scale"] + p["center"],
                               [[10 + i, -5 + 2 * (i % 3)] for i in range(12)])


@pytest.mark.parametrize("data, expected", [
    (b"", "is empty"),
    (b"\xff\xfe\x00", "not a text file"),
    (b"x,y,label\n" + b"1,2,a\n3,4,b\n" * 4 + b"5,nan,a\n", "row 10"),
    (b"x,y,label\n1,2,a\n3,four,b\n" + b"1,2,a\n" * 8, "row 3: y = 'four' is not a number"),
    (b"1,2,a\n3,4\n", "row 2: 2 columns"),
    (b"x,y,label\n" + b"1,2,a\n" * 10, "1 different label"),
    (b"".join(f"{i},{i},c{i}\n".encode() for i in range(9)), "9 different labels"),
    (b"".join(f"{i},{i},{i % 2}\n".encode() for i in range(5001)), "row 5001: more than 5,000"),
    (b"1,2,a\n3,4,b\n", "2 points; at least 8"),
    (b"1,2,\n" * 9, "row 1: the label is empty"),
])
def test_parse_points_names_the_first_bad_row(data, expected):
    from pyfadml.data.points import parse_points

    with pytest.raises(ValueError, match=expected):
        parse_points(data, "p.csv")


# ---------------------------------------------------------------------------------------------
# a photo on a pad (pyfadml.data.photos)
# ---------------------------------------------------------------------------------------------

def test_to_pad_makes_dark_ink_on_light_paper_ink_one():
    from pyfadml.data.photos import to_pad

    rgba = np.full((32, 32, 4), 255, np.uint8)
    rgba[8:16, 0:8, :3] = 0                                   # one black cell of a 4x4 pad
    rgba[24:32, 24:32, 3] = 0                                 # a transparent cell counts as paper
    pad = to_pad(rgba, (4, 4))
    expected = np.zeros((4, 4))
    expected[1, 0] = 1.0
    assert pad.shape == (4, 4)
    np.testing.assert_allclose(pad, expected, atol=1e-12)
    night = np.zeros((32, 32, 4), np.uint8)
    night[..., 3] = 255
    night[8:16, 0:8, :3] = 255                                # white ink on black paper: the same pad
    np.testing.assert_allclose(to_pad(night, (4, 4)), expected, atol=1e-12)
    assert not to_pad(np.full((8, 8, 4), 90, np.uint8), (2, 2)).any()      # flat: no ink
    with pytest.raises(ValueError, match="not a multiple of the pad"):
        to_pad(rgba, (5, 5))


def test_image_to_pad_reads_png_and_jpeg_and_refuses_the_rest():
    pytest.importorskip("PIL")
    import io

    from PIL import Image, ImageDraw

    from pyfadml.data.photos import MAX_SIDE, image_to_pad

    im = Image.new("RGB", (90, 60), "white")
    ImageDraw.Draw(im).ellipse((20, 5, 70, 55), outline="black", width=8)
    for fmt in ("PNG", "JPEG"):
        buffer = io.BytesIO()
        im.save(buffer, fmt)
        pad, note = image_to_pad(buffer.getvalue(), (8, 8), "ring")
        assert pad.shape == (8, 8) and pad.max() == 1.0 and pad[0, 0] < 0.1
        assert note == f"ring ({fmt}, 90×60, its centred square) is on the pad as 8×8 grey levels."
    huge = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8 + (MAX_SIDE + 1).to_bytes(4, "big") * 2
    for data, expected in ((b"", "empty"), (b"just text", "not a PNG or JPEG"), (huge, "at most 8000"),
                           (b"\xff\xd8\xff" + b"\x00" * 40, "x.jpg: it could not be decoded")):
        with pytest.raises(ValueError, match=expected):
            image_to_pad(data, (8, 8), "x.jpg")


def test_mosaic_tiles_images_with_nan_gaps_and_label_rows():
    from pyfadml.data.images import mosaic

    imgs = np.arange(3 * 2 * 3, dtype=float).reshape(3, 2, 3)
    m = mosaic(imgs, 2, gap=1, label_rows=2)
    assert m.shape == (2 * (2 + 2) + 1, 2 * 3 + 1)
    np.testing.assert_array_equal(m[2:4, 0:3], imgs[0])
    np.testing.assert_array_equal(m[2:4, 4:7], imgs[1])
    np.testing.assert_array_equal(m[7:9, 0:3], imgs[2])
    assert np.isnan(m[:2]).all() and np.isnan(m[:, 3]).all() and np.isnan(m[7:9, 4:7]).all()
    assert mosaic(imgs, 3, rows=2).shape == (5, 11) and np.isnan(mosaic(imgs, 3, rows=2)[3:]).all()
    with pytest.raises(ValueError, match=r"\(n, h, w\)"):
        mosaic(np.ones((2, 2)), 1)
