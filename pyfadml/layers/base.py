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
"""Registry of layer classes by name, used by :mod:`pyfadml.io` to rebuild saved models: pyfadml's own layers
under their bare names ("Dense"), any other subclass under ``module.QualName`` ("__main__.MyLayer"), so a
class of yours called ``Dense`` never replaces pyfadml's. Loading only looks names up here (it never imports)."""


def registry_name(cls: type) -> str:
    """The name under which ``cls`` is registered in :data:`LAYERS` (and written into model files)."""
    if cls.__module__.split(".")[0] == "pyfadml":
        return cls.__name__
    return f"{cls.__module__}.{cls.__qualname__}"


class Layer:
    """Base class: ``params``/``grads`` dicts, ``forward``, ``backward``, ``get_config``.

    ``class MyLayer(Layer)`` registers it for :func:`pyfadml.io.load`; ``class Base(Layer, register=False)``
    keeps an abstract base out of the registry.
    """

    def __init_subclass__(cls, register: bool = True, **kwargs):
        super().__init_subclass__(**kwargs)
        if register:
            name = registry_name(cls)
            if cls.__module__.split(".")[0] == "pyfadml" and name in LAYERS and LAYERS[name] is not cls:
                raise TypeError(f"two pyfadml layers are named {name!r}")
            LAYERS[name] = cls

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

    @classmethod
    def param_shapes(cls, config: dict) -> dict[str, tuple[int, ...]] | None:
        """The shapes of ``params`` of a layer built from ``config``, computed without building it (so that
        :func:`pyfadml.io.load` checks a file before allocating anything); None when unknown."""
        return None

    def zero_grad(self) -> None:
        for k, g in self.grads.items():
            g[...] = 0.0

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
