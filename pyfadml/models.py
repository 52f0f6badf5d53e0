"""Models: layers composed into networks.

* :class:`Sequential`  a list of layers; forward is a loop, backward is the same loop reversed
  (each layer turns dL/d(its output) into dL/d(its input), the lecture's delta^l -> delta^{l-1}).
* :class:`Autoencoder` encoder x (D) -> y (d < D) -> decoder x' (D), trained on 1/2 ||x - x'||^2.
* :class:`VAE`          the encoder outputs a Gaussian (mu, logvar) instead of a point; a sample
  z = mu + sigma * eps is decoded, and a KL term keeps the latent codes close to N(0, I).

Every model has ``forward``, ``backward``, ``parameters()`` -> ``[(name, param, grad)]`` (what the
optimizers consume), ``zero_grad``, ``train``/``eval``, ``predict``, ``astype`` and ``get_config``.

The code lives in :mod:`pyfadml.sequential` (Model, Sequential, layer specs) and :mod:`pyfadml.autoencoders`
(Autoencoder, VAE); this module gathers them, with the registry :data:`MODELS` that model files use.
"""
from __future__ import annotations

from pyfadml.autoencoders import VAE, Autoencoder
from pyfadml.sequential import (  # noqa: F401  (the names model files and callers import from here)
    Model, Sequential, _check_dtype, layer_from_spec, layer_param_shapes, layer_spec,
)

__all__ = ["Model", "Sequential", "Autoencoder", "VAE", "MODELS", "layer_spec", "layer_from_spec",
           "layer_param_shapes"]

MODELS = {"Sequential": Sequential, "Autoencoder": Autoencoder, "VAE": VAE}
"""Model classes by name, used by :mod:`pyfadml.io`."""
