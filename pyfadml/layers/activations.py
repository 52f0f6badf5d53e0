"""Element-wise activation functions ``a = sigma(z)`` as layers.

Forward applies ``sigma`` to every entry; backward multiplies the incoming gradient by the derivative,

    dL/dz = dL/da * sigma'(z)          (element-wise; the lecture's  ... \\odot sigma'(z^{l-1}))

Each class has static ``function(z)`` and ``derivative(z)`` so the maths can be used (and plotted) without
a layer: ``Sigmoid.derivative(np.linspace(-5, 5, 101))``. Activations have no parameters and keep the float
dtype of their input (float32 stays float32; integers become float64).
"""
from __future__ import annotations

import functools

import numpy as np

from pyfadml._checks import check_array, check_float, require_forward
from pyfadml.layers.base import Layer


def sigmoid(z: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-z))`` without overflow.

    ``exp(-z)`` overflows for z < -710 (float64). With ``e = exp(-|z|)``, which is always in (0, 1],
    sigmoid(z) = 1 / (1 + e) for z >= 0 and e / (1 + e) for z < 0 (multiply top and bottom by exp(z)).
    """
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


class Activation(Layer, register=False):
    """Base of the element-wise activations: ``a = function(z)``, ``dL/dz = dL/da * derivative(z)``.

    Shapes: any, ``z (...) -> a (...)``. Subclasses define static ``function`` and ``derivative``.
    """

    function = None
    derivative = None

    def __init__(self):
        super().__init__()
        self._z = None  # the input z, cached by forward

    def forward(self, x) -> np.ndarray:
        z = check_array(x, f"{type(self).__name__}.forward: x")
        self._z = z
        return self.function(z)

    def backward(self, dout) -> np.ndarray:
        name = type(self).__name__
        require_forward(self._z, f"{name}.backward")
        da = check_array(dout, f"{name}.backward: dout", shape=self._z.shape).astype(self._z.dtype, copy=False)
        return da * self.derivative(self._z)


class Sigmoid(Activation):
    """``sigma(z) = 1 / (1 + e^{-z})`` in (0, 1);  ``sigma'(z) = sigma(z) (1 - sigma(z))`` <= 1/4."""

    @staticmethod
    def function(z):
        return sigmoid(z)

    @staticmethod
    def derivative(z):
        s = sigmoid(z)
        return s * (1 - s)


class Tanh(Activation):
    """``tanh(z)`` in (-1, 1);  ``tanh'(z) = 1 - tanh(z)^2`` <= 1."""

    @staticmethod
    def function(z):
        return np.tanh(z)

    @staticmethod
    def derivative(z):
        return 1 - np.tanh(z) ** 2


class ReLU(Activation):
    """``max(0, z)``;  derivative 1 for z > 0 and 0 for z <= 0 (we take 0 at the kink z = 0)."""

    @staticmethod
    def function(z):
        return np.maximum(z, 0)

    @staticmethod
    def derivative(z):
        return (z > 0).astype(z.dtype)


class LeakyReLU(Activation):
    """``z`` for z > 0, ``alpha z`` otherwise;  derivative 1 or ``alpha``. Keeps a small gradient for z < 0.

    The static ``LeakyReLU.derivative(z, alpha=0.01)`` takes alpha as an argument; on an instance,
    ``layer.function(z)`` and ``layer.derivative(z)`` use the layer's own ``alpha``.
    """

    def __init__(self, alpha: float = 0.01):
        super().__init__()
        self.alpha = check_float(alpha, "LeakyReLU: alpha", minimum=0.0)
        self.function = functools.partial(LeakyReLU.function, alpha=self.alpha)
        self.derivative = functools.partial(LeakyReLU.derivative, alpha=self.alpha)

    @staticmethod
    def function(z, alpha=0.01):
        return np.where(z > 0, z, alpha * z)

    @staticmethod
    def derivative(z, alpha=0.01):
        return np.where(z > 0, 1, alpha).astype(z.dtype)

    def get_config(self) -> dict:
        return {"alpha": self.alpha}


class Identity(Activation):
    """``a = z``;  derivative 1 (a "linear" output layer)."""

    @staticmethod
    def function(z):
        return z.copy()

    @staticmethod
    def derivative(z):
        return np.ones_like(z)


_ACTIVATIONS = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU,
                "identity": Identity, "linear": Identity}


def get_activation(name: str) -> Activation:
    """A new activation layer by name: ``"sigmoid" | "tanh" | "relu" | "leaky_relu" | "identity" | "linear"``."""
    if not isinstance(name, str):
        raise TypeError(f"get_activation: name must be a string, got {type(name).__name__} ({name!r})")
    key = name.lower()
    if key not in _ACTIVATIONS:
        raise ValueError(f"get_activation: unknown activation {name!r}; known names: {sorted(_ACTIVATIONS)}")
    return _ACTIVATIONS[key]()
