"""The gradient checker itself: numerical gradients, relative error, and check_layer catching a wrong backward."""
import numpy as np
import pytest

from pyfadml.gradcheck import check_layer, numerical_gradient, rel_error
from pyfadml.layers.activations import Tanh
from pyfadml.layers.base import Layer
from pyfadml.layers.dense import Dense


def test_numerical_gradient_of_known_functions():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    g = numerical_gradient(lambda v: np.sum(v ** 3), x)
    np.testing.assert_allclose(g, 3 * x ** 2, rtol=1e-8, atol=1e-8)
    g = numerical_gradient(lambda v: np.sum(np.sin(v)), x)
    np.testing.assert_allclose(g, np.cos(x), rtol=1e-8, atol=1e-8)


def test_numerical_gradient_restores_x_and_supports_closures():
    x = np.array([1.0, -2.0, 3.0])
    before = x.copy()
    w = np.array([2.0, 5.0, -1.0])
    g = numerical_gradient(lambda _: float(w @ x), x)  # reads x through the closure
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(g, w, rtol=1e-7)


def test_numerical_gradient_is_centred():
    # f(x) = x^2 at x = 1: the one-sided difference would be 2 + h, the centred one is exactly 2 (up to rounding)
    g = numerical_gradient(lambda v: float(v[0] ** 2), np.array([1.0]), h=1e-3)
    assert abs(g[0] - 2.0) < 1e-9


def test_numerical_gradient_bad_input():
    with pytest.raises(TypeError, match="floating"):
        numerical_gradient(lambda v: 0.0, np.array([1, 2, 3]))
    with pytest.raises(TypeError, match="callable"):
        numerical_gradient(3.0, np.array([1.0]))
    ro = np.array([1.0, 2.0])
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        numerical_gradient(lambda v: 0.0, ro)
    with pytest.raises(ValueError, match="h"):
        numerical_gradient(lambda v: 0.0, np.array([1.0]), h=0.0)


def test_rel_error_values():
    a = np.array([1.0, -2.0, 4.0])
    assert rel_error(a, a) == 0.0
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    # max|a-b| = 0.5; max(|a|+|b|) = 4 + 4.5
    assert rel_error(a, np.array([1.0, -2.0, 4.5])) == pytest.approx(0.5 / 8.5)
    assert rel_error(np.array([1.0]), np.array([-1.0])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same shape"):
        rel_error(np.zeros(2), np.zeros(3))


def test_check_layer_passes_a_correct_layer_and_reports_every_param():
    layer = Dense(4, 3, rng=0)
    x = np.random.default_rng(1).normal(size=(5, 4))
    errors = check_layer(layer, x, rng=2)
    assert set(errors) == {"x", "W", "b"}
    assert max(errors.values()) < 1e-7


def test_check_layer_leaves_layer_at_the_unperturbed_point():
    layer = Dense(3, 2, rng=0)
    rng = np.random.default_rng(1)
    x, dout = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    W0 = layer.params["W"].copy()
    check_layer(layer, x, dout=dout)
    np.testing.assert_array_equal(layer.params["W"], W0)
    np.testing.assert_allclose(layer.grads["W"], dout.T @ x)
    np.testing.assert_allclose(layer.grads["b"], dout.sum(axis=0))


class _WrongScale(Layer):
    """y = 3x with a backward that forgets the factor 3 in dW: the checker must notice."""

    def __init__(self):
        super().__init__()
        self.params = {"w": np.array([2.0])}
        self.grads = {"w": np.zeros(1)}

    def forward(self, x):
        self._x = np.asarray(x, dtype=float)
        return 3 * self.params["w"] * self._x

    def backward(self, dout):
        self.grads["w"][...] = np.sum(dout * self._x)  # wrong: should be 3 * sum(dout * x)
        return 3 * self.params["w"] * dout


def test_check_layer_catches_a_wrong_backward():
    errors = check_layer(_WrongScale(), np.array([[1.0, 2.0], [0.5, -1.0]]), rng=0)
    assert errors["x"] < 1e-7
    assert errors["w"] > 0.1


class _TwoDense:
    """A minimal model with parameters() triples, as models.Sequential has: Dense -> Tanh -> Dense."""

    def __init__(self):
        self.layers = [Dense(3, 4, rng=0), Tanh(), Dense(4, 2, rng=1)]

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def parameters(self):
        return [(f"{i}.{k}", layer.params[k], layer.grads[k])
                for i, layer in enumerate(self.layers) for k in layer.params]


def test_check_layer_accepts_models_with_parameters():
    errors = check_layer(_TwoDense(), np.random.default_rng(0).normal(size=(3, 3)), rng=0)
    assert set(errors) == {"x", "0.W", "0.b", "2.W", "2.b"}
    assert max(errors.values()) < 1e-7


def test_check_layer_bad_input():
    layer = Dense(2, 2, rng=0)
    x = np.ones((1, 2))
    with pytest.raises(TypeError, match="rng"):
        check_layer(layer, x)
    with pytest.raises(ValueError, match="dout"):
        check_layer(layer, x, dout=np.ones((3, 3)))
    layer.params["W"] = layer.params["W"].astype(np.float32)
    with pytest.raises(ValueError, match="float64"):
        check_layer(layer, x, rng=0)
    with pytest.raises(TypeError, match="Layer"):
        check_layer(object(), x, rng=0)
