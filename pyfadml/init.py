"""Weight initialisation with an explicit random generator.

The scale of the initial weights decides whether signals (forward) and gradients (backward) keep their size
as they pass through many layers:

* Xavier/Glorot (tanh, sigmoid):  W ~ U(-a, a),  a = sqrt(6 / (fan_in + fan_out)),  so Var(W) = 2 / (fan_in + fan_out);
* He/Kaiming (ReLU):              W ~ N(0, 2 / fan_in), which makes up for ReLU zeroing half of its inputs;
* orthogonal (recurrent weights): W^T W = I, so multiplying by W over and over neither grows nor shrinks h.

Every function takes ``rng`` (a ``np.random.Generator`` or an int seed) and returns a float64 array.
"""
from __future__ import annotations

import numpy as np

from pyfadml._checks import as_rng, check_int


def _check_shape(shape, where: str) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{where}: shape must be an int or a tuple of ints, got {shape!r}") from None
    return tuple(check_int(s, f"{where}: shape[{i}]") for i, s in enumerate(shape))


def xavier_uniform(shape, fan_in: int, fan_out: int, *, rng) -> np.ndarray:
    """Xavier/Glorot uniform: ``W ~ U(-a, a)`` with ``a = sqrt(6 / (fan_in + fan_out))``.

    ``fan_in`` is the number of inputs that feed one output unit, ``fan_out`` the number of outputs one input
    feeds. For ``Dense(n_in, n_out)``: ``shape = (n_out, n_in)``, ``fan_in = n_in``, ``fan_out = n_out``.
    """
    shape = _check_shape(shape, "xavier_uniform")
    fan_in = check_int(fan_in, "xavier_uniform: fan_in")
    fan_out = check_int(fan_out, "xavier_uniform: fan_out")
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return as_rng(rng, "xavier_uniform: rng").uniform(-a, a, size=shape)


def he_normal(shape, fan_in: int, *, rng) -> np.ndarray:
    """He/Kaiming normal: ``W ~ N(0, 2 / fan_in)``.

    For ``Conv2D(c_in, c_out, k)``: ``shape = (c_out, c_in, k, k)`` and ``fan_in = c_in * k * k``.
    """
    shape = _check_shape(shape, "he_normal")
    fan_in = check_int(fan_in, "he_normal: fan_in")
    return as_rng(rng, "he_normal: rng").normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


def orthogonal(n: int, *, rng) -> np.ndarray:
    """A random ``(n, n)`` orthogonal matrix Q (``Q^T Q = I``), uniformly distributed over rotations/reflections.

    Take the QR decomposition of a Gaussian matrix ``A = Q R``; multiplying each column of Q by the sign of
    the matching diagonal entry of R makes the result independent of the QR algorithm's sign convention.
    """
    n = check_int(n, "orthogonal: n")
    a = as_rng(rng, "orthogonal: rng").standard_normal((n, n))
    q, r = np.linalg.qr(a)
    return q * np.sign(np.where(np.diag(r) == 0, 1.0, np.diag(r)))
