"""Metrics of a training step besides the loss: what fraction of the predictions is right.

:class:`~pyfadml.train.Trainer` computes the metrics it is given (``metrics=("accuracy",)``) for every step's
mini-batch and every validation.
"""
from __future__ import annotations

import numpy as np

METRICS = ("accuracy",)
CLASSIFICATION_LOSSES = ("cross_entropy", "bce_logits")


def accuracy(output: np.ndarray, y: np.ndarray, loss: str | None) -> float:
    """Fraction of correct predictions.

    Softmax outputs (N, K) / (N, T, K) with integer labels (N,) / (N, T): argmax over the last axis.
    Binary logits (N, 1) or (N,) with 0/1 targets: predicted class is 1 where the logit is > 0.
    """
    y = np.asarray(y)
    binary = loss == "bce_logits" or (loss is None and output.shape[-1] == 1 and output.ndim == 2)
    if binary:
        pred = (output > 0).reshape(output.shape[0], -1)
        return float(np.mean(pred == (y.reshape(pred.shape) > 0.5)))
    if output.shape[:-1] != y.shape:
        raise ValueError(f"accuracy: labels must have shape {output.shape[:-1]} for outputs "
                         f"{output.shape}, got {y.shape}")
    return float(np.mean(np.argmax(output, axis=-1) == y))
