"""Numerical gradients: the proof that every hand-written backward pass is right.

For a scalar function f and a small step h, the centred difference

    df/dx_i  ~=  ( f(x + h e_i) - f(x - h e_i) ) / (2 h)

has error O(h^2) (the one-sided difference only O(h)). In float64 with h = 1e-6 the two errors that matter,
truncation ~h^2 and rounding ~1e-16 |f| / h, are both around 1e-10, so an analytic gradient that agrees to a
relative error below 1e-7 is correct, and a wrong one is typically off by more than 1e-2.

To check a layer we need a scalar, so we pick a random ``dout`` of the output's shape and use

    L = sum(out * dout),     for which     dL/dout = dout,

and compare ``layer.backward(dout)`` (and ``layer.grads``) with the numerical gradients of L.
"""
from __future__ import annotations

import numpy as np

from pyfadml._checks import as_rng, check_array, check_float

_TINY = np.finfo(np.float64).tiny


def numerical_gradient(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Centred-difference gradient of the scalar function ``f`` at ``x``.

    ``x`` must be a writable floating array: each entry is nudged *in place* to ``x_i + h`` and ``x_i - h``,
    ``f(x)`` is evaluated, and the entry is restored. So ``f`` may either use its argument or read ``x``
    through a closure (e.g. ``lambda _: loss(layer.forward(x))`` while ``x`` is ``layer.params["W"]``).

    Returns an array of ``x``'s shape, float64. Cost: ``2 * x.size`` calls of ``f``.
    """
    if not callable(f):
        raise TypeError(f"numerical_gradient: f must be callable, got {type(f).__name__}")
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"numerical_gradient: x must be a floating numpy array (it is nudged in place), got {got}")
    if not x.flags.writeable:
        raise ValueError("numerical_gradient: x must be writable (it is nudged in place and restored)")
    h = check_float(h, "numerical_gradient: h", minimum=0.0, strict=True)
    grad = np.zeros(x.shape, dtype=np.float64)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = float(f(x))
        x[i] = old - h
        f_minus = float(f(x))
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2.0 * h)
    return grad


def rel_error(a, b) -> float:
    """Relative error ``max|a - b| / max(|a| + |b|)`` over all entries (0.0 if both are all zeros).

    Scaling by the largest entry (not entry by entry) keeps tiny entries, where the numerical gradient is
    mostly rounding noise, from dominating.
    """
    a = check_array(a, "rel_error: a", dtype=np.float64)
    b = check_array(b, "rel_error: b", dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: a and b must have the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(a) + np.abs(b))), _TINY))


def _named_params(layer) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (param, grad) for a Layer (``params``/``grads``) or a model (``parameters()`` triples)."""
    if hasattr(layer, "params") and isinstance(layer.params, dict):
        return {k: (p, layer.grads[k]) for k, p in layer.params.items()}
    if callable(getattr(layer, "parameters", None)):
        return {name: (p, g) for name, p, g in layer.parameters()}
    raise TypeError(f"check_layer: expected a Layer (with params/grads) or a model with parameters(), "
                    f"got {type(layer).__name__}")


def check_layer(layer, x, rng=None, *, dout=None, h: float = 1e-6) -> dict[str, float]:
    """Compare a layer's backward pass with centred differences.

    Uses ``L = sum(layer.forward(x) * dout)`` with ``dout`` drawn from ``rng`` (standard normal) unless given.
    Returns ``{"x": rel_error(dx), "W": rel_error(dW), ...}``: one entry for the input and one per parameter.
    The layer must hold float64 parameters (float32 cannot resolve h = 1e-6). Afterwards the layer's cache
    and ``grads`` are those of the unperturbed ``x``.

    Works for any object with ``forward``/``backward`` and either ``params``/``grads`` dicts (a Layer) or
    ``parameters()`` -> ``[(name, param, grad)]`` (a model such as Sequential).
    """
    for name, (p, _) in _named_params(layer).items():
        if p.dtype != np.float64:
            raise ValueError(f"check_layer: parameter {name!r} is {p.dtype}; gradient checks need float64 "
                             f"(call .astype(np.float64) on the model first)")
    x = check_array(x, "check_layer: x", dtype=np.float64).copy()
    out = np.asarray(layer.forward(x))
    if dout is None:
        if rng is None:
            raise TypeError("check_layer: give rng (a numpy Generator or int seed) to draw dout, or dout itself")
        dout = as_rng(rng, "check_layer: rng").standard_normal(out.shape)
    else:
        dout = check_array(dout, "check_layer: dout", shape=out.shape, dtype=np.float64)

    dx = np.array(layer.backward(dout), dtype=np.float64)
    analytic = {name: np.array(g, dtype=np.float64) for name, (_, g) in _named_params(layer).items()}

    def loss(_):
        return np.sum(np.asarray(layer.forward(x), dtype=np.float64) * dout)

    errors = {"x": rel_error(dx, numerical_gradient(loss, x, h))}
    for name, (p, _) in _named_params(layer).items():
        errors[name] = rel_error(analytic[name], numerical_gradient(loss, p, h))

    layer.forward(x)  # leave caches and grads as they are at the unperturbed point
    layer.backward(dout)
    return errors
