"""The one base class every layer shares.

A layer is a small object with

* ``params``: dict name -> ndarray, the learnable parameters (empty for activations);
* ``grads``:  dict with the same keys, filled by ``backward``;
* ``forward(x)``: computes the output and caches what ``backward`` needs;
* ``backward(dout)``: takes dL/d(output), fills ``grads`` and returns dL/d(input);
* ``trainable``: False freezes the layer (its params are not given to the optimizer; backward still runs).

Composition is a loop over layers (see :class:`pyfadml.models.Sequential`).
"""
from __future__ import annotations

import numpy as np

LAYERS: dict[str, type] = {}
"""Registry of layer classes by name, used by :mod:`pyfadml.io` to rebuild saved models."""


class Layer:
    """Base class: ``params``/``grads`` dicts, ``forward``, ``backward``, ``get_config``."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        LAYERS[cls.__name__] = cls

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.training = True
        self.trainable = True  # False freezes the params: a model's parameters() leaves them out

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def get_config(self) -> dict:
        """Constructor keyword arguments that rebuild this layer (without its weights)."""
        return {}

    def zero_grad(self) -> None:
        for k, g in self.grads.items():
            g[...] = 0.0

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
