"""Models: layers composed into networks.

* :class:`Sequential`  a list of layers; forward is a loop, backward is the same loop reversed
  (each layer turns dL/d(its output) into dL/d(its input), the lecture's delta^l -> delta^{l-1}).
* :class:`Autoencoder` encoder x (D) -> y (d < D) -> decoder x' (D), trained on 1/2 ||x - x'||^2.
* :class:`VAE`          the encoder outputs a Gaussian (mu, logvar) instead of a point; a sample
  z = mu + sigma * eps is decoded, and a KL term keeps the latent codes close to N(0, I).

Every model has ``forward``, ``backward``, ``parameters()`` -> ``[(name, param, grad)]`` (what the
optimizers consume), ``zero_grad``, ``train``/``eval``, ``predict``, ``astype`` and ``get_config``.
"""
from __future__ import annotations

import inspect

import numpy as np

from pyfadml._checks import as_rng, check_array, check_float, check_int
from pyfadml.layers.activations import Sigmoid, get_activation
from pyfadml.layers.base import LAYERS, Layer, registry_name
from pyfadml.layers.dense import Dense
from pyfadml.losses import half_squared_error

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
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: layers[{i}] must be a Layer, got {type(layer).__name__}")
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


def _check_sizes(D, d, hidden, where: str):
    D = check_int(D, f"{where}: D")
    d = check_int(d, f"{where}: d")
    if d >= D:
        raise ValueError(f"{where}: the latent size d must be smaller than the input size D={D} "
                         f"(a compression), got d={d}")
    if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
        hidden = (hidden,)
    if not isinstance(hidden, (list, tuple)):
        raise TypeError(f"{where}: hidden must be a tuple of layer widths, got {type(hidden).__name__}")
    hidden = tuple(check_int(h, f"{where}: hidden[{i}]") for i, h in enumerate(hidden))
    return D, d, hidden


def _encoder_decoder_shapes(cls, config: dict, code_width: int) -> dict[str, tuple[int, ...]]:
    """Param shapes of an Autoencoder / VAE built from ``config`` (Dense layers at the even indices)."""
    if not isinstance(config, dict):
        raise ValueError(f"{cls.__name__}: config must be a dict, got {type(config).__name__}")
    D, d, hidden = _check_sizes(config.get("D"), config.get("d"), config.get("hidden", (64,)), cls.__name__)
    shapes = {}
    for prefix, sizes in (("encoder", (D, *hidden, code_width * d)), ("decoder", (d, *hidden[::-1], D))):
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            shapes[f"{prefix}.{2 * i}.W"] = (n_out, n_in)
            shapes[f"{prefix}.{2 * i}.b"] = (n_out,)
    return shapes


def _mlp(sizes, activation: str, rng, *, final: Layer | None) -> Sequential:
    """Dense layers through ``sizes`` with ``activation`` between them and ``final`` (or nothing) at the end."""
    init = "he" if activation in ("relu", "leaky_relu") else "xavier"
    layers: list[Layer] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        layers.append(Dense(n_in, n_out, rng=rng, init="xavier" if last else init))
        if not last:
            layers.append(get_activation(activation))
    if final is not None:
        layers.append(final)
    return Sequential(layers)


class Autoencoder(Model):
    """x (N, D) -> encoder -> y (N, d), d < D -> decoder -> x' (N, D) in [0, 1].

    encoder: Dense(D, h1), act, ..., Dense(h_last, d)   (the code y is linear)
    decoder: Dense(d, h_last), act, ..., Dense(h1, D), Sigmoid   (pixels in [0, 1])
    Train with half_squared_error(x', x) (the lecture's eq. 1), targets = inputs.
    """

    def __init__(self, D: int, d: int, hidden=(64,), *, activation: str = "relu", rng):
        D, d, hidden = _check_sizes(D, d, hidden, "Autoencoder")
        get_activation(activation)  # ValueError listing the known names
        rng = as_rng(rng, "Autoencoder: rng")
        self.D, self.d, self.hidden, self.activation = D, d, hidden, activation
        self.encoder = _mlp((D, *hidden, d), activation, rng, final=None)
        self.decoder = _mlp((d, *hidden[::-1], D), activation, rng, final=Sigmoid())
        self.training = True

    def _parts(self):
        return [("encoder", self.encoder), ("decoder", self.decoder)]

    def forward(self, x):
        """x' = decoder(encoder(x)).  x: (N, D) -> (N, D)."""
        return self.decoder.forward(self.encoder.forward(x))

    def __call__(self, x):
        return self.forward(x)

    def backward(self, dx_hat):
        """dL/dx' -> through the decoder -> dL/dy -> through the encoder -> dL/dx."""
        return self.encoder.backward(self.decoder.backward(dx_hat))

    def encode(self, x):
        """The code y = encoder(x): (N, D) -> (N, d)."""
        return self.encoder.forward(x)

    def decode(self, z):
        """x' = decoder(z): (N, d) -> (N, D)."""
        z = check_array(z, "Autoencoder.decode: z", shape=(None, self.d))
        return self.decoder.forward(z)

    def reconstruct(self, x):
        """x' for x, in eval mode."""
        return self.predict(x)

    def get_config(self) -> dict:
        return {"D": self.D, "d": self.d, "hidden": list(self.hidden), "activation": self.activation}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config, rng=0)

    @classmethod
    def param_shapes(cls, config: dict) -> dict[str, tuple[int, ...]]:
        return _encoder_decoder_shapes(cls, config, 1)


class VAE(Model):
    """Variational autoencoder.

    encoder: Dense(D, h1), act, ..., Dense(h_last, 2d); its output is split into mu = out[:, :d] and
    logvar = out[:, d:] (one head of width 2d, not two heads).
    z = mu + sigma * eps,  sigma = exp(logvar / 2),  eps ~ N(0, I) from ``self.rng`` when training
    (the reparameterisation: the randomness is an input, so gradients flow to mu and logvar);
    in eval mode z = mu.   decoder: as in the Autoencoder, ending in a Sigmoid.

    Loss = 1/2 ||x - x'||^2 (mean over the batch) + beta * KL, with
    KL = mean_n -1/2 sum_j (1 + logvar - mu^2 - exp(logvar))   (KL(N(mu, sigma^2) || N(0, I))).
    ``forward`` returns x'; ``aux_loss()`` gives beta * KL of that forward, and ``backward(dL/dx')`` adds
    its gradient: dKL/dmu = mu / N,  dKL/dlogvar = (exp(logvar) - 1) / (2N).
    ``last_parts`` = {"recon": 1/2||x - x'||^2 mean, "kl": KL} of the last forward, for plotting.
    """

    def __init__(self, D: int, d: int, hidden=(64,), *, beta: float = 1.0, activation: str = "relu", rng):
        D, d, hidden = _check_sizes(D, d, hidden, "VAE")
        self.beta = check_float(beta, "VAE: beta", minimum=0.0)
        get_activation(activation)
        self.rng = as_rng(rng, "VAE: rng")
        self.D, self.d, self.hidden, self.activation = D, d, hidden, activation
        self.encoder = _mlp((D, *hidden, 2 * d), activation, self.rng, final=None)
        self.decoder = _mlp((d, *hidden[::-1], D), activation, self.rng, final=Sigmoid())
        # sample() draws from its own stream, so showing samples never changes the training eps
        self._sample_rng = np.random.default_rng(int(self.rng.integers(2**63)))
        self.training = True
        self.last_parts: dict[str, float] = {}
        self._cache = None

    def _parts(self):
        return [("encoder", self.encoder), ("decoder", self.decoder)]

    def encode(self, x):
        """(mu, logvar), each (N, d)."""
        h = self.encoder.forward(x)
        return h[:, :self.d].copy(), h[:, self.d:].copy()

    def decode(self, z):
        """x' = decoder(z): (N, d) -> (N, D) in [0, 1]."""
        z = check_array(z, "VAE.decode: z", shape=(None, self.d))
        return self.decoder.forward(z.astype(self.dtype, copy=False))

    def forward(self, x):
        """x (N, D) -> x' (N, D); caches mu, logvar, eps and sets ``last_parts``."""
        x = check_array(x, "VAE.forward: x", shape=(None, self.D))
        h = self.encoder.forward(x)
        mu, logvar = h[:, :self.d], h[:, self.d:]
        if self.training:
            eps = self.rng.standard_normal(mu.shape).astype(mu.dtype, copy=False)
        else:
            eps = np.zeros_like(mu)
        sigma = np.exp(0.5 * logvar)
        z = mu + sigma * eps
        x_hat = self.decoder.forward(z)
        n = x.shape[0]
        kl = -0.5 * float(np.sum(1.0 + logvar - mu * mu - sigma * sigma)) / n
        recon, _ = half_squared_error(x_hat, x)
        self.last_parts = {"recon": recon, "kl": kl}
        self._cache = (mu, logvar, sigma, eps, n)
        return x_hat

    def __call__(self, x):
        return self.forward(x)

    def aux_loss(self) -> float:
        """beta * KL of the last forward (the Trainer adds it to the reconstruction loss)."""
        if self._cache is None:
            raise RuntimeError("VAE.aux_loss: call forward first")
        return self.beta * self.last_parts["kl"]

    def backward(self, dx_hat):
        """dL/dx' -> dL/dx, with L = (the loss that gave dx_hat) + beta * KL.

        dz = decoder.backward(dx_hat);  dmu = dz + beta mu / N;
        dlogvar = dz * eps * sigma / 2 + beta (sigma^2 - 1) / (2N).
        """
        if self._cache is None:
            raise RuntimeError("VAE.backward: call forward first")
        mu, logvar, sigma, eps, n = self._cache
        dz = self.decoder.backward(dx_hat)
        dmu = dz + (self.beta / n) * mu
        dlogvar = dz * eps * (0.5 * sigma) + (0.5 * self.beta / n) * (sigma * sigma - 1.0)
        return self.encoder.backward(np.concatenate([dmu, dlogvar], axis=1))

    def reconstruct(self, x):
        """decoder(mu(x)), in eval mode."""
        return self.predict(x)

    def sample(self, n: int, *, rng=None):
        """Decode n draws z ~ N(0, I) from the prior: (n, D) in [0, 1].

        Without ``rng`` the draws come from the model's own sampling stream (seeded from the constructor's
        ``rng``), separate from the eps of training: sampling between training steps changes nothing.
        """
        n = check_int(n, "VAE.sample: n")
        gen = self._sample_rng if rng is None else as_rng(rng, "VAE.sample: rng")
        z = gen.standard_normal((n, self.d))
        return self.decode(z)

    def get_config(self) -> dict:
        return {"D": self.D, "d": self.d, "hidden": list(self.hidden), "beta": self.beta,
                "activation": self.activation}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config, rng=0)

    @classmethod
    def param_shapes(cls, config: dict) -> dict[str, tuple[int, ...]]:
        return _encoder_decoder_shapes(cls, config, 2)


MODELS = {"Sequential": Sequential, "Autoencoder": Autoencoder, "VAE": VAE}
"""Model classes by name, used by :mod:`pyfadml.io`."""
