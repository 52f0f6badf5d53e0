"""The live CNN demo, natively: it learns the shapes and digits, and every view it offers is consistent."""
import numpy as np
import pytest

from pyfadml.data.images import SHAPE_CLASSES
from pyfadml.demos import conv
from pyfadml.demos.cnn import (CNNDemo, DivergenceError, FIRST_LAYER_MODES, LECTURE_VARIATIONS, PRESET_ORDER,
                               preset_bank, preset_names)
from pyfadml.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from pyfadml.models import Sequential


@pytest.fixture(scope="module")
def trained():
    d = CNNDemo(seed=0)
    d.step(60)
    d.evaluate()
    return d


def test_architecture_is_conv_relu_pool_twice_then_dense():
    d = CNNDemo(filters=(4, 8), kernel_size=5, image_size=12)
    kinds = [type(layer) for layer in d.model.layers]
    assert kinds == [Conv2D, ReLU, MaxPool2D, Conv2D, ReLU, MaxPool2D, Flatten, Dense]
    c1, c2 = d.conv_layers
    assert c1.params["W"].shape == (4, 1, 5, 5) and c2.params["W"].shape == (8, 4, 5, 5)
    assert d.model.layers[-1].params["W"].shape == (6, 8 * 3 * 3)
    assert d.model.dtype == np.float32 and d.X_train.dtype == np.float32
    assert "12x12" in d.describe() and "6 classes" in d.describe()


def test_shapes_reach_ninety_percent_on_the_test_set(trained):
    assert trained.history["test_acc"][-1] >= 0.9
    assert trained.history["train_acc"][-1] >= 0.9
    assert trained.variations == LECTURE_VARIATIONS
    assert trained.class_names == SHAPE_CLASSES


def test_digits_reach_ninety_percent():
    d = CNNDemo(dataset="digits", filters=(8, 16), seed=1)
    assert d.input_shape == (8, 8) and d.n_classes == 10
    d.step(200)
    assert d.evaluate()["test_acc"] >= 0.9


def test_same_seed_same_weights_whatever_the_burst_sizes():
    a, b = CNNDemo(seed=3), CNNDemo(seed=3)
    a.step(12)
    b.step(5)
    b.train_for(60.0, max_steps=7)
    for (_, p, _), (_, q, _) in zip(a.model.parameters(), b.model.parameters()):
        np.testing.assert_array_equal(p, q)


def test_train_for_takes_at_least_one_step_and_respects_max_steps():
    d = CNNDemo()
    assert d.train_for(0.0) == 1
    assert d.train_for(10.0, max_steps=3) == 3
    assert d.step_count == 4


def test_lr_and_batch_size_change_live():
    d = CNNDemo(lr=0.01, batch_size=16)
    d.step(1)
    d.lr, d.batch_size = 0.002, 64
    assert d.trainer.optimizer.lr == 0.002 and d.batch_size == 64
    assert d.settings["lr"] == 0.002 and d.settings["batch_size"] == 64
    with pytest.raises(ValueError, match="lr"):
        d.lr = -1.0


def test_history_has_one_row_per_step_count(trained):
    d = CNNDemo()
    d.evaluate()
    d.evaluate()
    d.step(2)
    d.evaluate()
    assert d.history["step"] == [0, 2]
    assert all(len(v) == 2 for v in d.history.values())


def test_confusion_matrix_counts_the_test_set(trained):
    C = trained.confusion()
    assert C.shape == (6, 6) and C.sum() == len(trained.y_test)
    np.testing.assert_array_equal(C.sum(axis=1), np.bincount(trained.y_test, minlength=6))
    pred = np.argmax(trained.model.predict(trained.X_test), axis=1)
    assert np.trace(C) == np.sum(pred == trained.y_test)
    assert np.trace(C) / C.sum() == pytest.approx(trained.history["test_acc"][-1])


def test_feature_maps_follow_the_network(trained):
    img, label = trained.example(0)
    maps = trained.feature_maps(img)
    names = [m["name"] for m in maps]
    assert names == ["input", "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "probs"]
    by = {m["name"]: m["maps"] for m in maps}
    f1, f2 = trained.filters
    assert by["conv1"].shape == (f1, 16, 16) and by["pool1"].shape == (f1, 8, 8)
    assert by["conv2"].shape == (f2, 8, 8) and by["pool2"].shape == (f2, 4, 4)
    np.testing.assert_array_equal(by["relu1"], np.maximum(by["conv1"], 0))
    # the first level is the library's Conv2D applied to the input
    np.testing.assert_allclose(by["conv1"], trained.conv_layers[0].forward(img[None, None].astype(np.float32))[0],
                               rtol=1e-6)
    np.testing.assert_allclose(by["probs"], trained.predict_proba(img), rtol=1e-12)
    assert by["probs"].sum() == pytest.approx(1.0)
    assert trained.model.training                 # inspection leaves training mode on


def test_predict_proba_of_drawn_and_batched_inputs(trained):
    X = trained.X_test[:10]
    P = trained.predict_proba(X)
    assert P.shape == (10, 6)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(P[3], trained.predict_proba(X[3, 0]), rtol=1e-4, atol=1e-7)
    drawn = np.zeros((16, 16))
    drawn[8, 2:14] = 1.0                          # a horizontal bar, drawn by hand
    p = trained.predict_proba(drawn)
    assert p.shape == (6,) and p.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"image must have shape \(16, 16\)"):
        trained.predict_proba(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="NaN"):
        trained.predict_proba(np.full((16, 16), np.nan))


def test_kernels_are_copies_of_the_conv_weights(trained):
    K = trained.kernels(0)
    np.testing.assert_array_equal(K, trained.conv_layers[0].params["W"])
    K[...] = 0
    assert np.any(trained.conv_layers[0].params["W"] != 0)
    assert trained.kernels(1).shape == (12, 6, 3, 3)
    assert not np.allclose(trained.kernels(0), trained.initial_kernels)    # learned
    with pytest.raises(ValueError, match="layer must be 0 or 1"):
        trained.kernels(2)


def test_preset_bank_holds_the_hand_picked_kernels():
    bank = preset_bank(10, 3, norm=None)
    assert bank.shape == (10, 1, 3, 3)
    for i, name in enumerate(PRESET_ORDER):
        np.testing.assert_array_equal(bank[i, 0], conv.preset_kernel(name))
    np.testing.assert_array_equal(bank[8, 0], -conv.preset_kernel(PRESET_ORDER[0]))
    scaled = preset_bank(4, 5)
    assert scaled.shape == (4, 1, 5, 5)
    np.testing.assert_allclose(np.linalg.norm(scaled.reshape(4, -1), axis=1), np.sqrt(2.0))
    assert np.all(scaled[:, :, 0, :] == 0) and np.all(scaled[:, :, :, 4] == 0)     # 3x3 in the centre
    assert preset_names(9)[2] == conv.KERNEL_PRESETS["x"]["label"]
    assert preset_names(9)[8].startswith("-")


def test_presets_start_then_learn_and_frozen_stays_fixed():
    start = CNNDemo(first_layer="presets", filters=(6, 8))
    frozen = CNNDemo(first_layer="presets_frozen", filters=(6, 8))
    np.testing.assert_allclose(start.kernels(0), preset_bank(6, 3), rtol=1e-6)
    np.testing.assert_array_equal(start.kernels(0), frozen.kernels(0))
    W2_before = frozen.kernels(1)
    start.step(20)
    frozen.step(20)
    assert not np.allclose(start.kernels(0), preset_bank(6, 3), atol=1e-4)
    np.testing.assert_array_equal(frozen.kernels(0), frozen.initial_kernels)
    assert not np.allclose(frozen.kernels(1), W2_before)
    names = [n for n, _, _ in frozen.model.parameters()]
    assert "0.W" not in names and "0.b" not in names and "3.W" in names


@pytest.mark.parametrize("mode", FIRST_LAYER_MODES)
def test_every_first_layer_mode_learns_the_shapes(mode):
    d = CNNDemo(first_layer=mode, n_samples=600, seed=1)
    d.step(75)
    assert d.evaluate()["test_acc"] >= 0.85


def test_divergence_is_reported_and_leaves_the_weights():
    d = CNNDemo(lr=1e30, optimizer="sgd")
    with pytest.raises(DivergenceError):
        d.step(20)
    assert d.diverged
    for _, p, _ in d.model.parameters():
        assert np.all(np.isfinite(p))


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="dataset"):
        CNNDemo(dataset="cifar")
    with pytest.raises(ValueError, match="multiple of 4"):
        CNNDemo(image_size=10)
    with pytest.raises(ValueError, match="kernel_size"):
        CNNDemo(kernel_size=4)
    with pytest.raises(ValueError, match="filters"):
        CNNDemo(filters=(4, 40))
    with pytest.raises(ValueError, match="filters must be a pair"):
        CNNDemo(filters=4)
    with pytest.raises(ValueError, match="variation"):
        CNNDemo(variations=("colour",))
    with pytest.raises(ValueError, match="first_layer"):
        CNNDemo(first_layer="random")
    with pytest.raises(ValueError, match="index"):
        CNNDemo().example(10_000)


def test_the_demo_model_is_a_plain_sequential():
    d = CNNDemo()
    assert isinstance(d.model, Sequential)
    assert len(d.model.parameters()) == 6


def test_settings_for_and_load_weights_take_a_cnn_from_a_file():
    native = CNNDemo(n_samples=120, filters=(3, 5), kernel_size=5, first_layer="presets_frozen")
    native.step(2)
    demo = CNNDemo(n_samples=120)
    s = demo.settings_for(native.model, "c.npz")
    assert s == dict(filters=(3, 5), kernel_size=5, first_layer="presets_frozen")
    demo = CNNDemo(**{**demo.settings, **s})
    demo.load_weights(native.model, "c.npz")
    np.testing.assert_array_equal(demo.model.predict(native.X_test), native.model.predict(native.X_test))
    np.testing.assert_array_equal(demo.initial_kernels, native.kernels(0))     # the loaded kernels are the start
    with pytest.raises(ValueError, match="10 outputs, the dataset shapes has 6 classes"):
        demo.settings_for(CNNDemo(dataset="digits").model, "d.npz")
