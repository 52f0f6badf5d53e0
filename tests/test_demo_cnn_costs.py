"""pyfadml.demos.cnn_costs and CNNDemo.occlusion: the lecture's demerits of CNN, measured (issue 13, item 1)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from pyfadml.demos.cnn import CNNDemo
from pyfadml.demos.cnn_costs import (
    HUNGER_SIZES, CNNvsMLP, DataHunger, cnn_macs, cost_by_image_size, make_cnn, make_mlp, mlp_macs,
)


def test_data_hunger_accuracy_rises_with_the_training_set_size():
    """Natively, seed 0, 150 steps per size: 30 -> 0.63, 60 -> 0.76, 120 -> 0.85, 300 -> 0.93, 1200 -> 0.96;
    here fewer sizes: the 30-image CNN fits its training set yet generalises far worse than the 1,200-image one."""
    h = DataHunger(sizes=(30, 120, 1200), steps=150)
    assert h.current_size == 30 and h.remaining() == 450 and not h.done
    while not h.done:
        h.step(64)
    assert h.step_count == 450 and h.remaining() == 0 and h.current_size is None
    sizes = [p["size"] for p in h.points]
    acc = [p["test_acc"] for p in h.points]
    assert sizes == [30, 120, 1200] and all(p["steps"] == 150 for p in h.points)
    assert acc[0] < acc[1] < acc[2], acc
    assert acc[2] - acc[0] >= 0.2 and acc[2] >= 0.9, acc
    assert h.points[0]["train_acc"] >= 0.95              # the small set is learned by heart, not understood
    assert h.step(5) is None and h.step_count == 450      # nothing left to train


def test_data_hunger_sizes_share_the_test_set_and_the_start():
    h = DataHunger(sizes=(30, 60), steps=3, seed=4)
    w0 = [p.copy() for _, p, _ in h.trainer.model.parameters()]
    test = h.X_test.copy()
    h.step(3)
    assert h.current_size == 60 and len(h.points) == 1
    for a, (_, b, _) in zip(w0, h.trainer.model.parameters()):
        np.testing.assert_array_equal(a, b)              # the next size starts from the same weights
    np.testing.assert_array_equal(h.X_test, test)
    assert len(h.X_test) == 400 and h.evaluate_current()["size"] == 60
    with pytest.raises(ValueError, match="increasing"):
        DataHunger(sizes=(60, 30))
    with pytest.raises(ValueError, match="1200"):
        DataHunger(sizes=(30, 5000))
    assert HUNGER_SIZES[0] < HUNGER_SIZES[-1] == 1200


def test_cnn_and_mlp_reach_the_same_accuracy_the_cnn_with_fewer_parameters_and_steps():
    """Measured natively (seed 0, target 0.9): CNN 1,878 parameters, 70 steps; MLP 16,838 parameters, 240."""
    r = CNNvsMLP()
    assert r.params == {"CNN": 1878, "MLP": 16838} and r.verdict() is None
    r.step(1)                                            # both see the same mini-batches (one shuffling stream)
    np.testing.assert_array_equal(r.trainers["CNN"]._perm, r.trainers["MLP"]._perm)
    np.testing.assert_array_equal(r.trainers["CNN"].last_batch, r.trainers["MLP"].last_batch)
    while not r.done and r.step_count < 1500:
        r.step(10)
    assert r.done, r.curve
    cnn, mlp = r.reached["CNN"], r.reached["MLP"]
    assert cnn["test_acc"] >= 0.9 and mlp["test_acc"] >= 0.9
    assert cnn["step"] < mlp["step"]
    assert cnn["seconds"] > 0 and mlp["seconds"] > 0
    ms = r.ms_per_step()
    assert all(math.isfinite(v) and v > 0 for v in ms.values())
    assert (f"needed {cnn['step'] / mlp['step']:.2f}× the MLP's steps" in r.verdict()
            and "with 9 times fewer parameters" in r.verdict())
    n = r.step_count
    assert r.step(3) is None and r.step_count == n       # done: nothing trains


def test_cost_grows_with_the_pixels_the_cnn_keeps_its_parameters():
    rows = cost_by_image_size((8, 16, 32, 64))
    assert [r["size"] for r in rows] == [8, 16, 32, 64]
    for r in rows:
        rng = np.random.default_rng(0)
        assert r["cnn_params"] == make_cnn(r["size"], 6, rng=rng).n_params()
        assert r["mlp_params"] == make_mlp(r["size"], 6, rng=rng).n_params()
        assert r["cnn_macs"] == cnn_macs(r["size"]) and r["mlp_macs"] == mlp_macs(r["size"])
        assert r["cnn_macs"] > r["mlp_macs"] and r["cnn_params"] < r["mlp_params"]
    # quadrupling the pixels quadruples the work of both (up to the small last layers)
    assert rows[3]["cnn_macs"] / rows[2]["cnn_macs"] == pytest.approx(4.0, rel=0.01)
    assert rows[3]["mlp_macs"] / rows[2]["mlp_macs"] == pytest.approx(4.0, rel=0.01)
    # cnn_macs counts what the layers do: 16x16 conv1 6 filters 3x3, conv2 8x8 12x6x3x3, dense 12*4*4 -> 6
    assert cnn_macs(16) == 256 * 6 * 9 + 64 * 12 * 6 * 9 + 192 * 6
    with pytest.raises(ValueError, match="multiples of 4"):
        cost_by_image_size((10,))


@pytest.fixture(scope="module")
def trained():
    d = CNNDemo()
    d.step(150)
    return d


def test_occlusion_map_is_largest_on_the_strokes_of_the_shape(trained):
    """Measured (150 steps, log-probability drops): over 20 test images the mean drop on the strokes is
    several times that on the background, and on 19 of 20 images the strokes matter more."""
    d = trained
    ink_drop, bg_drop, wins, counted = [], [], 0, 0
    for i in range(20):
        img, _ = d.example(i)
        o = d.occlusion(img)
        assert o["map"].shape == img.shape and o["drops"].shape == (13, 13)
        assert o["class"] == int(np.argmax(d.predict_proba(img)))
        ink = img > 0.5 * img.max()
        pos = np.clip(o["map"], 0.0, None)
        assert o["ink_pixels"] == pytest.approx(ink.mean())
        assert o["ink_share"] == pytest.approx(pos[ink].sum() / pos.sum()) if pos.sum() > 0 else np.isnan(o["ink_share"])
        ink_drop.append(o["map"][ink].mean())
        bg_drop.append(o["map"][~ink].mean())
        if np.abs(o["map"]).max() > 1e-4:
            counted += 1
            wins += ink_drop[-1] > bg_drop[-1]
    assert np.mean(ink_drop) > 2 * np.mean(bg_drop)
    assert wins >= 0.8 * counted and counted >= 10


def test_occlusion_is_the_drop_of_the_predicted_class(trained):
    d = trained
    img, _ = d.example(3)
    o = d.occlusion(img, patch=5)
    hidden = img.copy()
    hidden[2:7, 6:11] = 0.0
    want = np.log(o["prob"]) - np.log(d.predict_proba(hidden)[o["class"]])
    assert o["drops"][2, 6] == pytest.approx(want, rel=1e-4, abs=1e-5)
    assert 0.0 <= o["min_prob"] <= o["prob"] <= 1.0
    with pytest.raises(ValueError, match="patch"):
        d.occlusion(img, patch=40)
    with pytest.raises(ValueError, match="shape"):
        d.occlusion(np.zeros((5, 5)))


# issue 13, item 5: deeper features you can read ---------------------------------------------

def test_top_patches_are_the_receptive_fields_of_the_strongest_responses(trained):
    d = trained
    from pyfadml.layers.conv import correlate2d

    r1 = d.top_patches(1, k=3)
    W, b = d.kernels(0), d.conv_layers[0].params["b"].astype(np.float64)
    assert r1["patches"].shape == (6, 3, 3, 3) and r1["size"] == 3
    for c in range(6):
        assert np.all(np.diff(r1["values"][c]) <= 0)                  # strongest first
        got = max(0.0, float(correlate2d(r1["patches"][c, 0], W[c, 0])[0, 0] + b[c]))
        assert got == pytest.approx(r1["values"][c, 0], rel=1e-5, abs=1e-6)
    r2 = d.top_patches(2, k=2)
    assert r2["patches"].shape == (12, 2, 8, 8) and r2["size"] == 8
    # the 8x8 field is all a level-2 unit sees: blank everything else and its response is unchanged
    for c in (0, 5, 11):
        img_i, i, j = r2["where"][c, 0]
        img = d.X_test[img_i, 0].astype(np.float64)
        keep = np.zeros((16 + 16, 16 + 16))
        keep[8:24, 8:24] = 1.0
        mask = np.zeros_like(keep)
        mask[8 + 2 * i - 3:8 + 2 * i + 5, 8 + 2 * j - 3:8 + 2 * j + 5] = 1.0
        blanked = img * (mask * keep)[8:24, 8:24]
        a = blanked[None, None].astype(np.float32)
        for layer in d.model.layers[:5]:
            a = layer.forward(a)
        assert float(a[0, c, i, j]) == pytest.approx(r2["values"][c, 0], rel=1e-4, abs=1e-5)
    r3 = d.top_patches(3, k=2)
    assert r3["patches"].shape == (6, 2, 16, 16)
    for c in range(6):                                   # the top image of each class is one of that class
        assert d.y_test[r3["where"][c, 0, 0]] == c
    with pytest.raises(ValueError, match="level"):
        d.top_patches(4)
