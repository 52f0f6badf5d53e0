"""The lecture's section 5 models, built from :class:`~pyfadml.sequential.Sequential` parts.

* :class:`Autoencoder` encoder x (D) -> y (d < D) -> decoder x' (D), trained on 1/2 ||x - x'||^2.
* :class:`VAE`          the encoder outputs a Gaussian (mu, logvar) instead of a point; a sample
  z = mu + sigma * eps is decoded, and a KL term keeps the latent codes close to N(0, I).

Import them from :mod:`pyfadml.models` (or ``pyfadml``).
"""
from __future__ import annotations

import numpy as np

from pyfadml._checks import as_rng, check_array, check_float, check_int
from pyfadml.layers.activations import Sigmoid, get_activation
from pyfadml.layers.base import Layer
from pyfadml.layers.dense import Dense
from pyfadml.losses import half_squared_error
from pyfadml.sequential import Model, Sequential


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
        activation = activation.lower()
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
        activation = activation.lower()
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
        if x.shape[0] == 0:
            raise ValueError(f"VAE.forward: x must hold at least one sample (the loss is a mean over the batch), "
                             f"got shape {x.shape}")
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
        kl = float(np.mean(self.kl(mu, logvar)))
        recon, _ = half_squared_error(x_hat, x)
        self.last_parts = {"recon": recon, "kl": kl}
        self._cache = (mu, logvar, sigma, eps, n)
        return x_hat

    def __call__(self, x):
        return self.forward(x)

    @staticmethod
    def kl(mu, logvar) -> np.ndarray:
        """KL(N(mu, sigma^2) || N(0, I)) of every example: -1/2 sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j)).

        mu, logvar: (N, d) -> (N,). The training loss uses their mean; ``VAE.kl(*vae.encode(x))`` scores x.
        """
        mu, logvar = np.asarray(mu), np.asarray(logvar)
        return -0.5 * np.sum(1.0 + logvar - mu * mu - np.exp(logvar), axis=-1)

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
