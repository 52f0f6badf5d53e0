"""Dense, the activations and the initialisers: values, gradient checks, dtypes, configs and bad input."""
import warnings

import numpy as np
import pytest

from pyfadml.gradcheck import check_layer, numerical_gradient
from pyfadml.init import he_normal, orthogonal, xavier_uniform
from pyfadml.layers.activations import (Identity, LeakyReLU, ReLU, Sigmoid, Tanh, get_activation, sigmoid)
from pyfadml.layers.base import LAYERS
from pyfadml.layers.dense import Dense

TOL = 1e-7


# ----------------------------------------------------------------------------------------------- Dense

@pytest.mark.parametrize("shape", [(5, 4), (1, 4), (3, 6, 4), (2, 1, 4)])
@pytest.mark.parametrize("init", ["xavier", "he"])
def test_dense_gradcheck(shape, init):
    rng = np.random.default_rng(0)
    layer = Dense(4, 3, rng=rng, init=init)
    layer.params["b"][...] = rng.normal(size=3)
    errors = check_layer(layer, rng.normal(size=shape), rng=rng)
    assert set(errors) == {"x", "W", "b"}
    assert max(errors.values()) < TOL, errors


def test_dense_forward_is_the_lecture_affine_map():
    rng = np.random.default_rng(1)
    layer = Dense(3, 2, rng=rng)
    layer.params["b"][...] = [0.5, -1.0]
    x = rng.normal(size=(4, 3))
    z = layer.forward(x)
    W, b = layer.params["W"], layer.params["b"]
    for n in range(4):  # z^l = W^l a^{l-1} + b^l, one column vector at a time
        np.testing.assert_allclose(z[n], W @ x[n] + b)


def test_dense_backward_formulas():
    rng = np.random.default_rng(2)
    layer = Dense(3, 2, rng=rng)
    x, delta = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    layer.forward(x)
    dx = layer.backward(delta)
    np.testing.assert_allclose(layer.grads["W"], delta.T @ x)
    np.testing.assert_allclose(layer.grads["b"], delta.sum(axis=0))
    np.testing.assert_allclose(dx, delta @ layer.params["W"])


def test_dense_on_sequences_is_dense_on_every_step():
    rng = np.random.default_rng(3)
    layer = Dense(4, 2, rng=rng)
    x = rng.normal(size=(2, 5, 4))
    z = layer.forward(x)
    assert z.shape == (2, 5, 2)
    for t in range(5):
        np.testing.assert_allclose(z[:, t], x[:, t] @ layer.params["W"].T + layer.params["b"])


def test_dense_params_shapes_and_init():
    layer = Dense(50, 40, rng=0)
    assert layer.params["W"].shape == (40, 50) and layer.params["b"].shape == (40,)
    assert layer.params["W"].dtype == np.float64
    assert np.all(layer.params["b"] == 0)
    assert np.abs(layer.params["W"]).max() <= np.sqrt(6 / 90)
    assert set(layer.grads) == set(layer.params)
    he = Dense(200, 100, rng=0, init="he")
    assert he.params["W"].std() == pytest.approx(np.sqrt(2 / 200), rel=0.05)


def test_dense_same_seed_same_weights_and_config_rebuilds():
    a = Dense(3, 5, rng=7, init="he")
    cfg = a.get_config()
    assert cfg == {"n_in": 3, "n_out": 5, "init": "he"}
    b = LAYERS["Dense"](**cfg, rng=7)
    np.testing.assert_array_equal(a.params["W"], b.params["W"])
    assert repr(a) == "Dense(n_in=3, n_out=5, init='he')"


def test_dense_dtypes():
    layer = Dense(3, 2, rng=0)
    assert layer.forward(np.ones((2, 3), dtype=np.float32)).dtype == np.float64  # cast to the params' dtype
    assert layer.forward(np.ones((2, 3), dtype=np.int64)).dtype == np.float64
    for k in layer.params:
        layer.params[k] = layer.params[k].astype(np.float32)
    out = layer.forward(np.ones((2, 3)))
    assert out.dtype == np.float32
    assert layer.backward(np.ones((2, 2))).dtype == np.float32


def test_dense_bad_input():
    layer = Dense(3, 2, rng=0)
    with pytest.raises(RuntimeError, match="Dense.backward called before forward"):
        layer.backward(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"Dense.forward: x must have n_in=3 .* got \(5, 4\)"):
        layer.forward(np.ones((5, 4)))
    with pytest.raises(ValueError, match=r"2 or 3-dimensional, got shape \(3,\)"):
        layer.forward(np.ones(3))
    with pytest.raises(TypeError, match="numbers"):
        layer.forward(np.array([["a", "b", "c"]]))
    with pytest.raises(TypeError):
        layer.forward(None)
    layer.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"Dense.backward: dout must have shape \(4, 2\), got \(4, 3\)"):
        layer.backward(np.ones((4, 3)))


def test_dense_bad_constructor_arguments():
    with pytest.raises(ValueError, match="n_in"):
        Dense(0, 2, rng=0)
    with pytest.raises(TypeError, match="n_out"):
        Dense(2, 2.5, rng=0)
    with pytest.raises(ValueError, match="init"):
        Dense(2, 2, rng=0, init="glorot")
    with pytest.raises(TypeError, match="rng"):
        Dense(2, 2, rng="seed")
    with pytest.raises(TypeError):
        Dense(2, 2)  # rng is required


# ----------------------------------------------------------------------------------------- activations

ACTIVATIONS = [Sigmoid, Tanh, ReLU, lambda: LeakyReLU(0.1), Identity]


def _away_from_zero(rng, shape):
    """Random inputs with |z| >= 0.1, so ReLU's kink at 0 is never inside a finite-difference step."""
    z = rng.normal(size=shape)
    return np.sign(z) * (0.1 + np.abs(z))


@pytest.mark.parametrize("make", ACTIVATIONS)
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4), (2, 1, 3, 3)])
def test_activation_gradcheck(make, shape):
    rng = np.random.default_rng(0)
    errors = check_layer(make(), 3 * _away_from_zero(rng, shape), rng=rng)
    assert errors["x"] < TOL, errors


@pytest.mark.parametrize("make", ACTIVATIONS)
def test_static_derivative_matches_numerical_derivative(make):
    act = make()
    z = _away_from_zero(np.random.default_rng(1), (20,)) * 2
    # the derivative of an element-wise function is the gradient of sum(function(z))
    num = numerical_gradient(lambda v: np.sum(act.function(v)), z.copy())
    np.testing.assert_allclose(act.derivative(z), num, rtol=1e-6, atol=1e-9)


def test_activation_values():
    z = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(Sigmoid().forward(z), 1 / (1 + np.exp(-z)))
    np.testing.assert_allclose(Tanh().forward(z), np.tanh(z))
    np.testing.assert_array_equal(ReLU().forward(z), [0, 0, 0, 0.5, 2])
    np.testing.assert_allclose(LeakyReLU(0.1).forward(z), [-0.2, -0.05, 0, 0.5, 2])
    np.testing.assert_array_equal(Identity().forward(z), z)
    np.testing.assert_array_equal(ReLU.derivative(z), [0, 0, 0, 1, 1])
    assert Sigmoid.derivative(np.array([0.0]))[0] == 0.25


def test_leaky_relu_instance_uses_its_alpha():
    act = LeakyReLU(alpha=0.2)
    z = np.array([-1.0, 1.0])
    np.testing.assert_allclose(act.derivative(z), [0.2, 1.0])
    np.testing.assert_allclose(LeakyReLU.derivative(z), [0.01, 1.0])
    np.testing.assert_allclose(LeakyReLU.derivative(z, alpha=0.3), [0.3, 1.0])
    act.forward(z)
    np.testing.assert_allclose(act.backward(np.ones(2)), [0.2, 1.0])
    assert act.get_config() == {"alpha": 0.2}


def test_sigmoid_is_stable_for_large_inputs():
    z = np.array([-1e308, -1000.0, -745.0, 0.0, 745.0, 1000.0, 1e308])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any overflow warning fails the test
        s = sigmoid(z)
        d = Sigmoid.derivative(z)
        s32 = Sigmoid().forward(np.float32([-1e4, 1e4]))
    assert s[0] == 0.0 and s[-1] == 1.0 and s[3] == 0.5
    assert np.all(np.isfinite(d)) and np.all(d >= 0)
    np.testing.assert_array_equal(s32, [0.0, 1.0])


@pytest.mark.parametrize("make", ACTIVATIONS)
def test_activations_keep_float_dtype(make):
    act = make()
    out = act.forward(np.ones((2, 3), dtype=np.float32))
    assert out.dtype == np.float32
    assert act.backward(np.ones((2, 3))).dtype == np.float32
    assert make().forward(np.ones((2, 3), dtype=np.int32)).dtype == np.float64


def test_get_activation():
    for name, cls in [("sigmoid", Sigmoid), ("tanh", Tanh), ("relu", ReLU), ("leaky_relu", LeakyReLU),
                      ("identity", Identity), ("linear", Identity)]:
        a, b = get_activation(name), get_activation(name)
        assert type(a) is cls and a is not b  # a new instance each time
    with pytest.raises(ValueError, match=r"unknown activation 'softplus'.*'leaky_relu'.*'sigmoid'"):
        get_activation("softplus")
    with pytest.raises(TypeError, match="string"):
        get_activation(None)


@pytest.mark.parametrize("make", ACTIVATIONS)
def test_activation_bad_input(make):
    act = make()
    name = type(act).__name__
    with pytest.raises(RuntimeError, match=f"{name}.backward called before forward"):
        act.backward(np.ones(3))
    with pytest.raises(TypeError, match="numbers"):
        act.forward(np.array(["x", "y"]))
    act.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=rf"{name}.backward: dout must have shape \(2, 3\), got \(3, 2\)"):
        act.backward(np.ones((3, 2)))


def test_leaky_relu_bad_alpha():
    with pytest.raises(ValueError, match="alpha"):
        LeakyReLU(-0.1)
    with pytest.raises(TypeError, match="alpha"):
        LeakyReLU("0.1")


# ------------------------------------------------------------------------------------------ initialisers

def test_orthogonal_is_orthogonal_and_seeded():
    q = orthogonal(6, rng=0)
    np.testing.assert_allclose(q.T @ q, np.eye(6), atol=1e-12)
    np.testing.assert_array_equal(q, orthogonal(6, rng=np.random.default_rng(0)))
    assert not np.allclose(q, orthogonal(6, rng=1))


def test_xavier_and_he_scales():
    w = xavier_uniform((300, 100), 100, 300, rng=0)
    a = np.sqrt(6 / 400)
    assert w.shape == (300, 100) and np.abs(w).max() <= a
    assert w.var() == pytest.approx(2 / 400, rel=0.05)
    w = he_normal((64, 3, 3, 3), 27, rng=0)
    assert w.std() == pytest.approx(np.sqrt(2 / 27), rel=0.05)


def test_init_bad_arguments():
    with pytest.raises(ValueError, match="fan_in"):
        xavier_uniform((2, 2), 0, 2, rng=0)
    with pytest.raises(TypeError, match="shape"):
        he_normal("2x2", 4, rng=0)
    with pytest.raises(TypeError, match="rng"):
        orthogonal(3, rng=None)
