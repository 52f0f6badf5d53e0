"""Layers: each a small class with ``params``, ``grads``, ``forward`` and ``backward``."""
from pyfadml.layers.base import Layer, LAYERS
from pyfadml.layers.dense import Dense
from pyfadml.layers.activations import Sigmoid, Tanh, ReLU, LeakyReLU, Identity, get_activation
from pyfadml.layers.conv import Conv2D, Conv2DNaive, MaxPool2D, MaxPool2DNaive, Flatten
from pyfadml.layers.recurrent import RNN, LSTM
from pyfadml.layers.recurrent_naive import RNNNaive, LSTMNaive

__all__ = ["Layer", "LAYERS", "Dense", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Identity",
           "get_activation", "Conv2D", "Conv2DNaive", "MaxPool2D", "MaxPool2DNaive", "Flatten", "RNN", "LSTM",
           "RNNNaive", "LSTMNaive"]
