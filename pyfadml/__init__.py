"""pyfadml: deep learning from first principles, in NumPy, with every backward pass written out.

Each module holds one concept of the lecture:

* :mod:`pyfadml.layers`  Dense, activations, Conv2D/MaxPool2D/Flatten, RNN, LSTM
* :mod:`pyfadml.losses`  half squared error, MSE, softmax cross-entropy, BCE with logits
* :mod:`pyfadml.optim`   SGD (with momentum), Adam, gradient-norm clipping
* :mod:`pyfadml.init`    Xavier / He / orthogonal initialisation with an explicit ``rng``
* :mod:`pyfadml.models`  Sequential, Autoencoder, VAE
* :mod:`pyfadml.train`   Trainer: one mini-batch per ``step()``, made for live UIs, failing safe
* :mod:`pyfadml.history` History: the one table shape of training records
* :mod:`pyfadml.io`      save / load a model to one ``.npz``
* :mod:`pyfadml.data`    offline datasets: 2-D toys, the lecture's X, shapes, digits, sequences
* :mod:`pyfadml.gradcheck` numerical gradients, the proof that every backward is right
"""
from pyfadml.layers import (
    Layer, Dense, Sigmoid, Tanh, ReLU, LeakyReLU, Identity, get_activation,
    Conv2D, Conv2DNaive, MaxPool2D, Flatten, RNN, LSTM,
)
from pyfadml.losses import (
    half_squared_error, half_squared_errors, mse, softmax_cross_entropy, binary_cross_entropy_with_logits, get_loss,
)
from pyfadml.optim import SGD, Adam, clip_grad_norm, get_optimizer
from pyfadml.models import Sequential, Autoencoder, VAE
from pyfadml.train import Trainer, DivergenceError
from pyfadml.history import History
from pyfadml.io import save, load

__version__ = "0.1.0"

__all__ = [
    "Layer", "Dense", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Identity", "get_activation",
    "Conv2D", "Conv2DNaive", "MaxPool2D", "Flatten", "RNN", "LSTM",
    "half_squared_error", "half_squared_errors", "mse", "softmax_cross_entropy", "binary_cross_entropy_with_logits", "get_loss",
    "SGD", "Adam", "clip_grad_norm", "get_optimizer",
    "Sequential", "Autoencoder", "VAE", "Trainer", "DivergenceError", "History", "save", "load",
]
