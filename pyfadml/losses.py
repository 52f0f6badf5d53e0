"""Loss functions: each returns ``(loss, dL/dinput)``, the start of every backward pass.

The loss is a Python ``float``, averaged over the batch; the gradient has the shape and dtype of the
prediction, so ``model.backward(grad)`` can follow directly:

* ``half_squared_error``  L = mean_n 1/2 ||x_n - x'_n||^2          (the lecture's eq. 1;
  ``half_squared_errors`` gives the N terms themselves)
* ``mse``                 L = mean over all elements of (x - x')^2
* ``softmax_cross_entropy``  L = mean_n -log softmax(z_n)[y_n]     (logits, integer labels)
* ``binary_cross_entropy_with_logits``  L = mean -[y log s(z) + (1-y) log(1-s(z))]

Everything is computed in a numerically stable form: no ``exp`` of a large positive number, no ``log(0)``.
"""
from __future__ import annotations

import numpy as np

from pyfadml._checks import check_array, check_choice, check_labels


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """p_k = exp(z_k - max z) / sum_j exp(z_j - max z) along ``axis`` (default: the last, the classes).

    Subtracting the maximum changes nothing mathematically and keeps ``exp`` from overflowing.
    """
    z = check_array(z, "softmax: z")
    shifted = z - np.max(z, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def _pred_target(pred, target, where: str):
    """Check a prediction/target pair of equal shape; the target takes the prediction's float dtype."""
    pred = check_array(pred, f"{where}: pred")
    if pred.ndim < 1:
        raise ValueError(f"{where}: pred must have a batch axis, got shape {pred.shape}")
    target = check_array(target, f"{where}: target")
    if target.shape != pred.shape:
        raise ValueError(f"{where}: target must have the shape of pred {pred.shape}, got {target.shape}")
    return pred, target.astype(pred.dtype, copy=False)


def half_squared_error(pred, target) -> tuple[float, np.ndarray]:
    """Lecture eq. (1), averaged over the batch.

    L = (1/N) sum_n 1/2 ||x_n - x'_n||^2,   dL/dx = (x - x') / N.
    pred, target: (N, ...) of equal shape; the squared norm runs over every axis but the first.
    """
    pred, target = _pred_target(pred, target, "half_squared_error")
    n = pred.shape[0]
    if n == 0:
        raise ValueError("half_squared_error: pred must hold at least one sample, got shape "
                         f"{pred.shape}")
    diff = pred - target
    loss = 0.5 * float(np.sum(diff * diff)) / n
    return loss, diff / n


def half_squared_errors(pred, target) -> np.ndarray:
    """Lecture eq. (1) of every example, not averaged: ``e_n = 1/2 ||x_n - x'_n||^2``, shape (N,), float64.

    Their mean is :func:`half_squared_error`'s loss. For per-image errors (anomaly scores, plots); no gradient.
    """
    pred, target = _pred_target(pred, target, "half_squared_errors")
    diff = pred.astype(np.float64) - target
    return 0.5 * np.sum((diff * diff).reshape(diff.shape[0], -1), axis=1)


def mse(pred, target) -> tuple[float, np.ndarray]:
    """Mean squared error over all elements.

    L = (1/M) sum_i (x_i - x'_i)^2 with M = pred.size,   dL/dx = 2 (x - x') / M.
    """
    pred, target = _pred_target(pred, target, "mse")
    if pred.size == 0:
        raise ValueError(f"mse: pred must not be empty, got shape {pred.shape}")
    diff = pred - target
    loss = float(np.mean(diff * diff))
    return loss, (2.0 / pred.size) * diff


def softmax_cross_entropy(logits, labels) -> tuple[float, np.ndarray]:
    """Softmax + negative log-likelihood of integer labels, in one stable step.

    logits (N, K) with labels (N,), or a sequence: logits (N, T, K) with labels (N, T).
    log p_k = z_k - logsumexp(z);  L = -mean log p_{y};  dL/dz = (softmax(z) - onehot(y)) / M,
    where M = N (or N*T for sequences), the number of predictions averaged over.
    """
    logits = check_array(logits, "softmax_cross_entropy: logits", ndim=(2, 3))
    k = logits.shape[-1]
    if k < 1 or logits.shape[0] == 0:
        raise ValueError(f"softmax_cross_entropy: logits must have N >= 1 and K >= 1, got {logits.shape}")
    labels = check_labels(labels, "softmax_cross_entropy: labels", n_classes=k, shape=logits.shape[:-1])
    z = logits.reshape(-1, k)
    y = labels.reshape(-1)
    m = z.shape[0]
    rows = np.arange(m)
    shifted = z - z.max(axis=1, keepdims=True)
    dz = np.exp(shifted)
    total = dz.sum(axis=1)
    loss = -float((shifted[rows, y] - np.log(total)).sum()) / m   # -mean log p_y
    dz /= total[:, None]                                          # softmax(z)
    dz[rows, y] -= 1.0
    dz /= m
    return loss, dz.reshape(logits.shape)


def binary_cross_entropy_with_logits(logits, targets) -> tuple[float, np.ndarray]:
    """Sigmoid + binary cross-entropy from logits z, stable for any z.

    -[y log s(z) + (1-y) log(1 - s(z))] = max(z, 0) - z y + log(1 + exp(-|z|)).
    L is the mean over all M elements; dL/dz = (s(z) - y) / M.
    targets in [0, 1] (soft labels allowed), same shape as logits; for logits (N, 1) the targets
    may also be given as (N,).
    """
    where = "binary_cross_entropy_with_logits"
    logits = check_array(logits, f"{where}: logits")
    if logits.ndim < 1 or logits.size == 0:
        raise ValueError(f"{where}: logits must be a non-empty batch, got shape {logits.shape}")
    targets = check_array(targets, f"{where}: targets")
    if logits.ndim == 2 and logits.shape[1] == 1 and targets.shape == (logits.shape[0],):
        targets = targets[:, None]
    if targets.shape != logits.shape:
        raise ValueError(f"{where}: targets must have the shape of logits {logits.shape}, got {targets.shape}")
    if targets.size and (np.min(targets) < 0 or np.max(targets) > 1):
        raise ValueError(f"{where}: targets must lie in [0, 1], got values from {np.min(targets)} "
                         f"to {np.max(targets)}")
    y = targets.astype(logits.dtype, copy=False)
    z = logits
    loss = float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))
    # stable sigmoid: exp only of non-positive numbers
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)
    return loss, (s - y) / z.size


LOSSES = {
    "half_se": half_squared_error,
    "mse": mse,
    "cross_entropy": softmax_cross_entropy,
    "bce_logits": binary_cross_entropy_with_logits,
}
"""Loss functions by the short name the Trainer and the app use."""


def get_loss(name: str):
    """The loss function called ``name``: "half_se" | "mse" | "cross_entropy" | "bce_logits"."""
    if not isinstance(name, str):
        raise TypeError(f"get_loss: name must be a str, got {type(name).__name__}")
    return LOSSES[check_choice(name, "loss name", LOSSES)]


def loss_name(fn) -> str | None:
    """The registered short name of a loss function, or None for a user-supplied one."""
    for name, f in LOSSES.items():
        if f is fn:
            return name
    return None
