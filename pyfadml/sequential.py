"""The model base class and :class:`Sequential`: layers composed into a network.

* :class:`Model`       what every model shares: ``parameters()`` -> ``[(name, param, grad)]`` (what the
  optimizers consume), ``zero_grad``, ``train``/``eval``, ``predict``, ``astype``, ``dtype``, ``n_params``;
* :class:`Sequential`  a list of layers; forward is a loop, backward is the same loop reversed
  (each layer turns dL/d(its output) into dL/d(its input), the lecture's delta^l -> delta^{l-1});
* ``layer_spec`` / ``layer_from_spec`` / ``layer_param_shapes``: a layer as ``{"class", "config"}``, what
  model files store.

Import them from :mod:`pyfadml.models` (or ``pyfadml``), which also holds the Autoencoder and the VAE.
"""
from __future__ import annotations

import inspect

import numpy as np

from pyfadml.layers.base import LAYERS, Layer, registry_name

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _check_dtype(dtype, where: str) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{where}: dtype must be float32 or float64, got {dtype!r}") from None
    if dt not in _FLOAT_DTYPES:
        raise ValueError(f"{where}: dtype must be float32 or float64, got {dt}")
    return dt


def layer_spec(layer: Layer) -> dict:
    """``{"class": name, "config": kwargs}`` (and ``"trainable": False`` for a frozen layer)."""
    spec = {"class": registry_name(type(layer)), "config": layer.get_config()}
    if not layer.trainable:
        spec["trainable"] = False
    return spec


def layer_from_spec(spec: dict) -> Layer:
    """Rebuild a layer from ``{"class": name, "config": kwargs}`` (weights are random until loaded).

    Layers that take an ``rng`` get a fixed seed: the weights are meant to be overwritten.
    """
    cls, kwargs = _layer_class(spec)
    if "rng" in inspect.signature(cls).parameters and "rng" not in kwargs:
        kwargs["rng"] = np.random.default_rng(0)
    layer = cls(**kwargs)
    layer.trainable = spec.get("trainable", True)
    return layer


def _layer_class(spec) -> tuple[type, dict]:
    """The registered class and the config of a layer spec, checked."""
    if not isinstance(spec, dict) or not isinstance(spec.get("class"), str):
        raise ValueError(f"layer spec must be a dict with 'class' and 'config', got {spec!r:.80}")
    name = spec["class"]
    if name not in LAYERS:
        raise ValueError(f"unknown layer class {name!r:.80}; known layers: {sorted(LAYERS)} (a layer class of "
                         f"your own must be defined, i.e. imported, before load)")
    config = spec.get("config", {})
    if not isinstance(config, dict):
        raise ValueError(f"the config of layer {name!r} must be a dict, got {type(config).__name__}")
    if not isinstance(spec.get("trainable", True), bool):
        raise ValueError(f"'trainable' of layer {name!r} must be true or false, got {spec['trainable']!r:.40}")
    return LAYERS[name], dict(config)


def layer_param_shapes(spec: dict) -> dict[str, tuple[int, ...]]:
    """The param shapes of the layer ``spec`` describes; built only when its class cannot tell them."""
    cls, config = _layer_class(spec)
    shapes = cls.param_shapes(config)
    if shapes is None:
        shapes = {k: p.shape for k, p in layer_from_spec(spec).params.items()}
    return shapes


class Model:
    """What all models share. A subclass lists its parts in ``_parts()`` as (prefix, Sequential)."""

    training: bool = True

    def _parts(self) -> list[tuple[str, "Sequential"]]:
        raise NotImplementedError

    def parameters(self, *, trainable_only: bool = True) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """``[(name, param, grad)]`` over the trainable layers (all with ``trainable_only=False``), names
        like ``"encoder.0.W"``."""
        return [(f"{prefix}.{name}", p, g) for prefix, part in self._parts()
                for name, p, g in part.parameters(trainable_only=trainable_only)]

    def zero_grad(self) -> None:
        for _, part in self._parts():
            part.zero_grad()

    def train(self):
        """Training mode (the VAE samples eps). Returns the model."""
        self.training = True
        for _, part in self._parts():
            part.train()
        return self

    def eval(self):
        """Evaluation mode (the VAE uses z = mu). Returns the model."""
        self.training = False
        for _, part in self._parts():
            part.eval()
        return self

    def predict(self, x):
        """Forward pass in eval mode; the previous mode is restored afterwards."""
        was_training = self.training
        self.eval()
        try:
            return self.forward(x)
        finally:
            if was_training:
                self.train()

    def astype(self, dtype):
        """Convert every parameter (and grad) to float32 or float64, in place. Returns the model.

        Make the optimizer after this call: its state is created with the parameters' dtype.
        """
        dt = _check_dtype(dtype, f"{type(self).__name__}.astype")
        for _, part in self._parts():
            part.astype(dt)
        return self

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the parameters (float64 unless ``astype`` was called)."""
        for _, p, _ in self.parameters(trainable_only=False):
            return p.dtype
        return np.dtype(np.float64)

    def n_params(self) -> int:
        """Number of learnable scalars (of the trainable layers)."""
        return int(sum(p.size for _, p, _ in self.parameters()))

    def get_config(self) -> dict:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Sequential(Model):
    """Layers applied one after another.

    forward:  a^0 = x,  a^l = layer_l(a^{l-1});   backward: delta = dL/da^L, then delta <- layer_l.backward(delta)
    for l = L..1, each layer filling its own grads on the way. Returns dL/dx.
    """

    def __init__(self, layers):
        if isinstance(layers, Layer) or not isinstance(layers, (list, tuple)):
            raise TypeError(f"Sequential: layers must be a list of Layer objects, got {type(layers).__name__}")
        seen: dict[int, int] = {}
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: layers[{i}] must be a Layer, got {type(layer).__name__}")
            if id(layer) in seen:
                raise ValueError(f"Sequential: layers[{i}] is the same object as layers[{seen[id(layer)]}]; a "
                                 f"layer caches its input for backward, so each position needs its own layer "
                                 f"object (make a new {type(layer).__name__})")
            seen[id(layer)] = i
        if not layers:
            raise ValueError("Sequential: layers must hold at least one Layer, got an empty list")
        self.layers: list[Layer] = list(layers)
        self.training = True
        for layer in self.layers:
            layer.training = True

    def _parts(self):
        return []

    def forward(self, x):
        """a^L = layer_L(... layer_1(x)).  Each layer checks its own input shape."""
        a = x
        for layer in self.layers:
            a = layer.forward(a)
        return a

    def backward(self, dout):
        """Backpropagate dL/d(output) through the layers in reverse; returns dL/dx."""
        delta = dout
        for layer in reversed(self.layers):
            delta = layer.backward(delta)
        return delta

    def __call__(self, x):
        return self.forward(x)

    def parameters(self, *, trainable_only: bool = True):
        """``[(f"{i}.{k}", param, grad)]`` for layer index i and parameter name k (e.g. ``"0.W"``).

        What an optimizer updates: layers with ``trainable = False`` (frozen) are left out unless
        ``trainable_only=False`` (what :func:`pyfadml.io.save` stores).
        """
        out = []
        for i, layer in enumerate(self.layers):
            if trainable_only and not layer.trainable:
                continue
            for k, p in layer.params.items():
                g = layer.grads.get(k)
                if g is None or g.shape != p.shape:
                    g = np.zeros_like(p)
                    layer.grads[k] = g
                out.append((f"{i}.{k}", p, g))
        return out

    def zero_grad(self) -> None:
        for layer in self.layers:
            layer.zero_grad()

    def train(self):
        self.training = True
        for layer in self.layers:
            layer.training = True
        return self

    def eval(self):
        self.training = False
        for layer in self.layers:
            layer.training = False
        return self

    def astype(self, dtype):
        dt = _check_dtype(dtype, "Sequential.astype")
        for layer in self.layers:
            if callable(getattr(layer, "astype", None)):
                layer.astype(dt)
                continue
            for k in list(layer.params):
                layer.params[k] = layer.params[k].astype(dt)
                g = layer.grads.get(k)
                layer.grads[k] = np.zeros_like(layer.params[k]) if g is None else g.astype(dt)
        return self

    def get_config(self) -> dict:
        """``{"layers": [{"class": name, "config": layer.get_config()}, ...]}``"""
        return {"layers": [layer_spec(layer) for layer in self.layers]}

    @classmethod
    def param_shapes(cls, config: dict) -> dict[str, tuple[int, ...]]:
        """``{"0.W": shape, ...}`` of the model :meth:`from_config` would build, without building it."""
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError(f"Sequential: config must be {{'layers': [...]}}, got {config!r:.80}")
        return {f"{i}.{k}": shape for i, spec in enumerate(config["layers"])
                for k, shape in layer_param_shapes(spec).items()}

    @classmethod
    def from_config(cls, config: dict) -> "Sequential":
        """Rebuild from :meth:`get_config` (fresh weights)."""
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError(f"Sequential.from_config: config must be {{'layers': [...]}}, got {config!r:.80}")
        return cls([layer_from_spec(spec) for spec in config["layers"]])

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Sequential(self.layers[i])
        return self.layers[i]

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential([\n  {inner}\n])"
