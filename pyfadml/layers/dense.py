"""The fully connected (dense) layer: an affine map ``z = W a + b``.

Lecture notation for one example (column vectors): ``z^l = W^l a^{l-1} + b^l``. With a batch of N examples
stored as *rows* of ``a`` (shape ``(N, n_in)``) the same map reads ``z = a W^T + b`` and, with
``delta = dL/dz`` of shape ``(N, n_out)``, backpropagation gives

    dL/dW = delta^T a          (n_out, n_in)    -- the lecture's delta^l (a^{l-1})^T, summed over the batch
    dL/db = sum_n delta_n      (n_out,)         -- the lecture's delta^l, summed over the batch
    dL/da = delta W            (N, n_in)        -- the lecture's (W^l)^T delta^l, as rows

The activation's ``* sigma'(z^{l-1})`` is applied by the activation layer before this one.
"""
from __future__ import annotations

import numpy as np

from pyfadml._checks import as_rng, check_array, check_choice, check_int, require_forward
from pyfadml.init import he_normal, xavier_uniform
from pyfadml.layers.base import Layer


class Dense(Layer):
    """Fully connected layer ``z = x W^T + b``.

    Shapes: ``x (N, n_in) -> z (N, n_out)``, or on sequences ``x (N, T, n_in) -> z (N, T, n_out)``
    (the same W applied at every time step). Params: ``W (n_out, n_in)``, ``b (n_out,)`` (zeros).

    ``init="xavier"`` (uniform, for tanh/sigmoid) or ``"he"`` (normal, for ReLU); see :mod:`pyfadml.init`.
    """

    def __init__(self, n_in: int, n_out: int, *, rng, init: str = "xavier"):
        super().__init__()
        self.n_in = check_int(n_in, "Dense: n_in")
        self.n_out = check_int(n_out, "Dense: n_out")
        self.init = check_choice(init, "Dense init", ("xavier", "he"))
        rng = as_rng(rng, "Dense: rng")
        if self.init == "xavier":
            W = xavier_uniform((self.n_out, self.n_in), self.n_in, self.n_out, rng=rng)
        else:
            W = he_normal((self.n_out, self.n_in), self.n_in, rng=rng)
        self.params = {"W": W, "b": np.zeros(self.n_out)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._a = None  # the input a^{l-1}, cached by forward

    def forward(self, x) -> np.ndarray:
        """``z = x W^T + b``;  ``(N, n_in) -> (N, n_out)`` or ``(N, T, n_in) -> (N, T, n_out)``."""
        W, b = self.params["W"], self.params["b"]
        a = check_array(x, "Dense.forward: x", ndim=(2, 3))
        if a.shape[-1] != self.n_in:
            raise ValueError(f"Dense.forward: x must have n_in={self.n_in} features on its last axis, "
                             f"shape (N, {self.n_in}) or (N, T, {self.n_in}), got {a.shape}")
        a = a.astype(W.dtype, copy=False)
        self._a = a
        return a @ W.T + b

    def backward(self, dout) -> np.ndarray:
        """``dout = delta = dL/dz`` -> fills ``grads["W"] = delta^T a``, ``grads["b"] = sum delta``; returns ``delta W``."""
        require_forward(self._a, "Dense.backward")
        a, W = self._a, self.params["W"]
        delta = check_array(dout, "Dense.backward: dout", shape=a.shape[:-1] + (self.n_out,))
        delta = delta.astype(W.dtype, copy=False)
        # A sequence batch (N, T, .) is just N*T rows through the same W: flatten and sum over all of them.
        a_rows = a.reshape(-1, self.n_in)
        delta_rows = delta.reshape(-1, self.n_out)
        self.grads["W"][...] = delta_rows.T @ a_rows
        self.grads["b"][...] = delta_rows.sum(axis=0)
        return delta @ W

    def get_config(self) -> dict:
        return {"n_in": self.n_in, "n_out": self.n_out, "init": self.init}

    @classmethod
    def param_shapes(cls, config: dict) -> dict[str, tuple[int, ...]]:
        n_in, n_out = check_int(config["n_in"], "Dense: n_in"), check_int(config["n_out"], "Dense: n_out")
        return {"W": (n_out, n_in), "b": (n_out,)}
