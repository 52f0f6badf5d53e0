"""pyfadml.demos.mlp: the logic behind the "Backprop & decision boundaries" section, driven natively."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from pyfadml import DivergenceError
from pyfadml.demos.mlp import ACTIVATIONS, DATASETS, MLPDemo
from pyfadml.gradcheck import numerical_gradient, rel_error
from pyfadml.layers import LeakyReLU, ReLU, Sigmoid, Tanh
from pyfadml.losses import softmax, softmax_cross_entropy

# sigma and sigma' written out here, independently of the layers the demo uses
SIGMA = {
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "sigmoid": (lambda z: 1.0 / (1.0 + np.exp(-z)),
                lambda z: np.exp(-z) / (1.0 + np.exp(-z)) ** 2),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float)),
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.01 * z), lambda z: np.where(z > 0, 1.0, 0.01)),
}
ACTIVATION_CLASS = {"tanh": Tanh, "sigmoid": Sigmoid, "relu": ReLU, "leaky_relu": LeakyReLU}


def test_does_not_import_panel_or_bokeh():
    code = ("import sys, pyfadml.demos.mlp as m; d = m.MLPDemo(); d.step(3); d.grid(); d.inspect(1); "
            "print(any(k.split('.')[0] in ('panel', 'bokeh', 'param') for k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("dataset", DATASETS)
def test_builds_every_dataset(dataset):
    d = MLPDemo(dataset=dataset, seed=3, depth=3, breadth=5)
    assert d.X_train.shape[1] == 2 and len(d.X_train) + len(d.X_test) == d.n_samples
    assert d.n_classes == int(max(d.y_train.max(), d.y_test.max())) + 1
    assert d.layer_sizes == [2, 5, 5, 5, d.n_classes]
    assert np.abs(np.concatenate([d.X_train, d.X_test])).max() < d.extent
    assert [layer.params["W"].shape for layer in d.model.layers[::2]] == [(5, 2), (5, 5), (5, 5), (d.n_classes, 5)]


def test_bad_settings_name_the_parameter():
    with pytest.raises(ValueError, match="dataset"):
        MLPDemo(dataset="donut")
    with pytest.raises(ValueError, match="depth"):
        MLPDemo(depth=5)
    with pytest.raises(ValueError, match="breadth"):
        MLPDemo(breadth=17)
    with pytest.raises(ValueError, match="activation"):
        MLPDemo(activation="swish")
    with pytest.raises(ValueError, match="lr"):
        MLPDemo(lr=0.0)
    d = MLPDemo()
    with pytest.raises(ValueError, match="layer"):
        d.step(1)
        d.inspect(d.n_layers + 1)


def test_same_seed_same_run_and_bursts_equal_single_steps():
    settings = dict(dataset="moons", depth=2, breadth=6, activation="relu", lr=0.05, batch_size=8, seed=11)
    a, b = MLPDemo(**settings), MLPDemo(**settings)
    a.step(37)
    for n in (1, 5, 0, 30, 1):
        b.step(n)
    for (_, pa, _), (_, pb, _) in zip(a.model.parameters(), b.model.parameters()):
        np.testing.assert_array_equal(pa, pb)
    ia, ib = a.inspect(2), b.inspect(2)
    for key in ("x", "z", "a", "delta", "dW", "db", "delta_prev"):
        np.testing.assert_array_equal(ia[key], ib[key])
    c = MLPDemo(**settings)
    done = 0
    while done < 37:
        done += c.train_for(0.0, max_steps=37 - done)     # one step per call: the clock never matters
    np.testing.assert_array_equal(c.inspect(1)["dW"], a.inspect(1)["dW"])
    assert MLPDemo(**{**settings, "seed": 12}).X_train.tolist() != a.X_train.tolist()


def test_train_for_respects_max_steps_and_takes_at_least_one():
    d = MLPDemo()
    assert d.train_for(10.0, max_steps=3) == 3
    assert d.train_for(0.0) == 1
    assert d.step_count == 4


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("layer", [1, 2, 3])
def test_inspector_values_satisfy_the_lectures_formulas(activation, layer):
    d = MLPDemo(dataset="spiral", depth=2, breadth=5, activation=activation, lr=0.1, batch_size=7, seed=5)
    assert d.inspect(1) is None                  # nothing to show before the first step
    d.step(23)
    r = d.inspect(layer)
    L = d.n_layers
    sigma, sigma_prime = SIGMA[activation]
    N = r["x"].shape[0]
    assert r["step"] == 23 and r["layer"] == layer and r["n_layers"] == L == 3 and N == 7
    np.testing.assert_array_equal(r["x"], d.X_train[r["index"]])
    np.testing.assert_array_equal(r["y"], d.y_train[r["index"]])

    # forward: z^l = W^l a^{l-1} + b^l (rows: z = a W^T + b), a^l = sigma(z^l)
    np.testing.assert_allclose(r["z"], r["a_prev"] @ r["W"].T + r["b"], rtol=1e-12, atol=1e-12)
    if r["is_output"]:
        np.testing.assert_allclose(r["a"], softmax(r["z"]), rtol=1e-12)
        onehot = np.eye(d.n_classes)[r["y"]]
        np.testing.assert_allclose(r["delta"], (r["a"] - onehot) / N, rtol=1e-10, atol=1e-15)
        loss, _ = softmax_cross_entropy(r["z"], r["y"])
        assert r["loss"] == pytest.approx(loss)
    else:
        np.testing.assert_allclose(r["a"], sigma(r["z"]), rtol=1e-12, atol=1e-15)
    if layer == 1:
        np.testing.assert_array_equal(r["a_prev"], r["x"])
        assert r["delta_prev"] is None and r["z_prev"] is None

    # gradients: dL/dW^l = sum_n delta^l_n (a^{l-1}_n)^T, dL/db^l = sum_n delta^l_n
    np.testing.assert_allclose(r["dW"], r["delta"].T @ r["a_prev"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r["db"], r["delta"].sum(axis=0), rtol=1e-12, atol=1e-15)
    dense = d.model.layers[2 * (layer - 1)]
    np.testing.assert_array_equal(r["dW"], dense.grads["W"])     # what the optimizer used
    np.testing.assert_array_equal(r["db"], dense.grads["b"])
    # ... and plain SGD applied exactly that update to the weights shown
    np.testing.assert_allclose(dense.params["W"], r["W"] - 0.1 * r["dW"], rtol=1e-13, atol=1e-15)

    # delta^{l-1} = (W^l)^T delta^l (.) sigma'(z^{l-1}), computed here independently of backprop
    if layer > 1:
        expected = (r["delta"] @ r["W"]) * sigma_prime(r["z_prev"])
        np.testing.assert_allclose(r["delta_prev"], expected, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(r["sigma_prime_prev"], sigma_prime(r["z_prev"]), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(r["sigma_prime_prev"],
                                   ACTIVATION_CLASS[activation].derivative(r["z_prev"]), rtol=1e-15)


def test_inspected_gradient_matches_a_numerical_gradient_of_the_batch_loss():
    """dL/dW^l shown is the true derivative of step k's batch loss w.r.t. the weights before the update."""
    d = MLPDemo(dataset="circles", depth=2, breadth=4, activation="tanh", batch_size=5, seed=2)
    d.step(9)
    r1, r2, r3 = (d.inspect(l) for l in (1, 2, 3))
    Ws = [r["W"].copy() for r in (r1, r2, r3)]
    bs = [r["b"].copy() for r in (r1, r2, r3)]

    def batch_loss(_):
        a = r1["x"]
        for i, (W, b) in enumerate(zip(Ws, bs)):
            z = a @ W.T + b
            a = np.tanh(z) if i < 2 else z
        return softmax_cross_entropy(a, r1["y"])[0]

    for i, r in enumerate((r1, r2, r3)):
        assert rel_error(numerical_gradient(batch_loss, Ws[i]), r["dW"]) < 1e-7
        assert rel_error(numerical_gradient(batch_loss, bs[i]), r["db"]) < 1e-7
    assert r3["loss"] == pytest.approx(batch_loss(None), rel=1e-12)


def test_grid_probabilities_and_hidden_activations():
    d = MLPDemo(dataset="xor", depth=3, breadth=3, grid_size=20, seed=1)
    d.step(5)
    g = d.grid()
    assert g["probs"].shape == (20, 20, 2) and len(g["hidden"]) == 3
    assert all(h.shape == (20, 20, 3) for h in g["hidden"])
    np.testing.assert_allclose(g["probs"].sum(axis=2), 1.0)
    i, j = 4, 13                                          # row i is y[i], column j is x[j]
    point = np.array([[g["x"][j], g["y"][i]]])
    np.testing.assert_allclose(g["probs"][i, j], softmax(d.model.predict(point))[0], rtol=1e-12)
    first = d.model.layers[0]
    np.testing.assert_allclose(g["hidden"][0][i, j], np.tanh(point @ first.params["W"].T + first.params["b"])[0])
    assert g["x"][0] > -d.extent and g["x"][-1] < d.extent
    assert d.grid() is g                                  # cached until the weights change
    d.step(1)
    assert d.grid() is not g and d.grid()["step"] == 6
    assert d.inspect(1)["step"] == 6                     # the grid's forward does not disturb the inspector


def test_evaluate_appends_history_once_per_step():
    d = MLPDemo(seed=4)
    first = d.evaluate()
    assert set(first) == {"step", "train_loss", "test_loss", "train_acc", "test_acc"}
    d.evaluate()
    d.step(3)
    d.evaluate()
    assert d.history["step"] == [0, 3]
    assert d.history["train_loss"][0] == first["train_loss"]


def test_lr_and_batch_size_apply_from_the_next_step():
    d = MLPDemo(batch_size=16, lr=0.1)
    d.step(2)
    d.lr, d.batch_size = 0.5, 4
    d.step(1)
    assert d.inspect(1)["x"].shape[0] == 4
    assert d.trainer.optimizer.lr == 0.5 and d.settings["lr"] == 0.5 and d.settings["batch_size"] == 4
    with pytest.raises(ValueError, match="lr"):
        d.lr = -1.0


def test_xor_is_learned():
    """The browser test's play run: XOR, 2 hidden tanh layers of 4, lr 0.1, batch 16, seed 0."""
    d = MLPDemo(dataset="xor", depth=2, breadth=4, activation="tanh", lr=0.1, batch_size=16, seed=0)
    start = d.evaluate()
    assert start["train_loss"] > 0.6                      # about log 2 at the start
    d.step(1000)
    end = d.evaluate()
    assert end["train_loss"] < 0.1 and end["test_acc"] == 1.0


def test_divergence_raises_and_keeps_the_weights():
    d = MLPDemo(dataset="spiral", depth=3, breadth=16, activation="leaky_relu", lr=10.0, seed=0)
    with pytest.raises(DivergenceError) as info:
        d.step(200)
    assert d.diverged
    before = [p.copy() for _, p, _ in d.model.parameters()]
    with pytest.raises(DivergenceError):
        d.step(1)
    assert info.value.step == d.step_count + 1
    for p, q in zip(before, (p for _, p, _ in d.model.parameters())):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("layer", [1, 2, 3])
def test_per_example_inspection_is_the_lectures_n_equals_1_backprop(layer):
    """Issue 13, item 6: delta^L = a^L - y, dL/dW^l = delta^l (a^{l-1})^T, dL/db^l = delta^l for one example
    and its own loss; the batch's gradients are the mean of the per-example ones; the live model is untouched."""
    d = MLPDemo(dataset="spiral", depth=2, breadth=5, activation="tanh", batch_size=6, seed=3)
    assert d.inspect_example(1) is None
    d.step(11)
    before = [p.copy() for _, p, _ in d.model.parameters()]
    batch = d.inspect(layer)
    per = [d.inspect_example(layer, n) for n in range(1, 7)]
    for n, r in enumerate(per, start=1):
        assert r["n"] == n and r["batch_size"] == 6 and r["x"].shape == (1, 2) and r["step"] == 11
        np.testing.assert_array_equal(r["x"][0], batch["x"][n - 1])
        np.testing.assert_allclose(r["z"][0], batch["z"][n - 1], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(r["delta"][0], 6 * batch["delta"][n - 1], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(r["dW"], np.outer(r["delta"][0], r["a_prev"][0]), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(r["db"], r["delta"][0], rtol=1e-12, atol=1e-15)
        if layer == 3:
            onehot = np.eye(d.n_classes)[r["y"][0]]
            np.testing.assert_allclose(r["delta"][0], r["a"][0] - onehot, rtol=1e-12, atol=1e-15)
            assert r["loss"] == pytest.approx(-np.log(r["a"][0][r["y"][0]]), rel=1e-10)
        if layer > 1:
            np.testing.assert_allclose(r["delta_prev"], r["delta_prev_formula"], rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(np.mean([r["dW"] for r in per], axis=0), batch["dW"], rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(np.mean([r["db"] for r in per], axis=0), batch["db"], rtol=1e-10, atol=1e-15)
    for a, b in zip(before, (p for _, p, _ in d.model.parameters())):
        np.testing.assert_array_equal(a, b)
    assert d.inspect(layer)["step"] == 11
    with pytest.raises(ValueError, match="batch size 6"):
        d.inspect_example(layer, 7)
    with pytest.raises(ValueError, match="n"):
        d.inspect_example(layer, 0)


def test_a_model_from_a_file_fits_a_demo_through_settings_for_and_load_weights():
    native = MLPDemo(depth=1, breadth=3, activation="relu", seed=4)
    native.step(5)
    demo = MLPDemo()
    settings = demo.settings_for(native.model, "m.npz")
    assert settings == dict(depth=1, breadth=3, activation="relu")
    with pytest.raises(ValueError, match="m.npz does not fit: its layer 1 is Dense"):
        demo.load_weights(native.model, "m.npz")           # the demo's own architecture differs
    demo = MLPDemo(**{**demo.settings, **settings})
    demo.load_weights(native.model, "m.npz")
    np.testing.assert_array_equal(demo.model.predict(demo.X_test), native.model.predict(demo.X_test))
    assert demo.grid()["step"] == 0 and demo.step_count == 0
    with pytest.raises(ValueError, match="3 outputs, the dataset xor has 2 classes"):
        demo.settings_for(MLPDemo(dataset="spiral").model, "s.npz")


def test_describe_names_the_layers_the_data_and_the_settings():
    assert MLPDemo(depth=1, breadth=3, lr=0.03).describe() == (
        "2 layers [2, 3, 2], 192 training and 64 test points; 16 examples per step, learning rate 0.03.")
