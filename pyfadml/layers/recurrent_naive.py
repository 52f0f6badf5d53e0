"""The step-by-step twins of :class:`~pyfadml.layers.recurrent.RNN` and :class:`~pyfadml.layers.recurrent.LSTM`.

Same constructors, parameters and results as the fast layers (they subclass them), but forward and backward
walk the sequence one time step after the other with every formula written out as in the lecture: the code
to read first. Slower (several NumPy calls per formula, new arrays at every step); the tests check that the
fast layers compute exactly what these compute.
"""
from __future__ import annotations

import numpy as np

from pyfadml._checks import require_forward
from pyfadml.layers.activations import sigmoid
from pyfadml.layers.recurrent import LSTM, RNN, _check_sequence, _dout_time_major


def _mean_norm(d: np.ndarray) -> float:
    """Batch mean of the per-example Euclidean norm of ``d (N, H)``."""
    return float(np.mean(np.linalg.norm(d, axis=1)))


class RNNNaive(RNN):
    """The readable twin of :class:`RNN`: same constructor, params and results, one time step after the other.

    Forward: ``z_t = x_t Wx + h_{t-1} Wh + b``, ``h_t = tanh(z_t)``. Backward (BPTT), from t = T-1 down to 0:
    ``dh = dout_t + dh_from_next``, ``dz = dh * (1 - h_t^2)``, ``dWx += x_t^T dz``, ``dWh += h_{t-1}^T dz``,
    ``db += sum dz``, ``dx_t = dz Wx^T``, ``dh_from_next = dz Wh^T``.
    """

    def forward(self, x) -> np.ndarray:
        Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
        x = _check_sequence(x, self.n_in, Wx.dtype, "RNNNaive.forward")
        N, T, _ = x.shape
        hiddens = np.empty((N, T, self.n_hidden), dtype=Wx.dtype)
        h = np.zeros((N, self.n_hidden), dtype=Wx.dtype)
        for t in range(T):
            z = x[:, t] @ Wx + h @ Wh + b
            h = np.tanh(z)
            hiddens[:, t] = h
        self._cache = (x, hiddens)
        self.hiddens = hiddens
        return hiddens.copy() if self.return_sequences else hiddens[:, -1].copy()

    def backward(self, dout) -> np.ndarray:
        require_forward(self._cache, "RNNNaive.backward")
        x, hiddens = self._cache
        Wx, Wh = self.params["Wx"], self.params["Wh"]
        N, T, _ = x.shape
        d_out = _dout_time_major(dout, x.shape, self.n_hidden, self.return_sequences,
                                 np.empty((T, N, self.n_hidden), dtype=Wx.dtype), "RNNNaive.backward")
        dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(self.params["b"])
        dx = np.empty_like(x)
        dh_norms = np.empty(T)
        dh_from_next = np.zeros((N, self.n_hidden), dtype=Wx.dtype)
        for t in reversed(range(T)):
            dh = d_out[t] + dh_from_next                     # total gradient reaching h_t
            dh_norms[t] = _mean_norm(dh)
            dz = dh * (1 - hiddens[:, t] ** 2)               # through tanh
            h_prev = hiddens[:, t - 1] if t > 0 else np.zeros_like(dh)
            dWx += x[:, t].T @ dz
            dWh += h_prev.T @ dz
            db += dz.sum(axis=0)
            dx[:, t] = dz @ Wx.T
            dh_from_next = dz @ Wh.T
        self.grads["Wx"][...] = dWx
        self.grads["Wh"][...] = dWh
        self.grads["b"][...] = db
        self.dh_norms = dh_norms
        return dx


class LSTMNaive(LSTM):
    """The readable twin of :class:`LSTM`: same constructor, params and results, one time step after the other,
    every formula of the LSTM docstring as written (``z_t`` split into its four blocks of H columns).

    Backward, per step from t = T-1 down to 0, with ``dh``, ``dc`` the total gradients reaching h_t, c_t:
    ``dc = dc_from_next + dh * o * (1 - tanh(c_t)^2)``; ``di = dc * g``, ``df = dc * c_prev``,
    ``do = dh * tanh(c_t)``, ``dg = dc * i``; through the sigmoids and the tanh,
    ``dz = [di i(1-i), df f(1-f), do o(1-o), dg (1-g^2)]``; ``dWx += x_t^T dz``, ``dWh += h_prev^T dz``,
    ``db += sum dz``, ``dx_t = dz Wx^T``; passed back: ``dh_from_next = dz Wh^T``, ``dc_from_next = dc * f``.
    """

    def forward(self, x) -> np.ndarray:
        Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
        x = _check_sequence(x, self.n_in, Wx.dtype, "LSTMNaive.forward")
        N, T, _ = x.shape
        H = self.n_hidden
        gates = {k: np.empty((N, T, H), dtype=Wx.dtype) for k in "ifog"}
        cells = np.empty((N, T, H), dtype=Wx.dtype)
        hiddens = np.empty((N, T, H), dtype=Wx.dtype)
        h = np.zeros((N, H), dtype=Wx.dtype)
        c = np.zeros((N, H), dtype=Wx.dtype)
        for t in range(T):
            z = x[:, t] @ Wx + h @ Wh + b                      # (N, 4H): blocks [i | f | o | g]
            i, f, o = sigmoid(z[:, :H]), sigmoid(z[:, H:2 * H]), sigmoid(z[:, 2 * H:3 * H])
            g = np.tanh(z[:, 3 * H:])
            c = f * c + i * g
            h = o * np.tanh(c)
            for name, value in zip("ifog", (i, f, o, g)):
                gates[name][:, t] = value
            cells[:, t] = c
            hiddens[:, t] = h
        self._cache = (x, gates, cells, hiddens)
        self.gates, self.cells, self.hiddens = gates, cells, hiddens
        return hiddens.copy() if self.return_sequences else hiddens[:, -1].copy()

    def backward(self, dout) -> np.ndarray:
        require_forward(self._cache, "LSTMNaive.backward")
        x, gates, cells, hiddens = self._cache
        Wx, Wh = self.params["Wx"], self.params["Wh"]
        N, T, _ = x.shape
        d_out = _dout_time_major(dout, x.shape, self.n_hidden, self.return_sequences,
                                 np.empty((T, N, self.n_hidden), dtype=Wx.dtype), "LSTMNaive.backward")
        dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(self.params["b"])
        dx = np.empty_like(x)
        dh_norms, dc_norms = np.empty(T), np.empty(T)
        dh_from_next = np.zeros((N, self.n_hidden), dtype=Wx.dtype)
        dc_from_next = np.zeros((N, self.n_hidden), dtype=Wx.dtype)
        for t in reversed(range(T)):
            i, f, o, g = (gates[k][:, t] for k in "ifog")
            tanh_c = np.tanh(cells[:, t])
            c_prev = cells[:, t - 1] if t > 0 else np.zeros_like(tanh_c)
            h_prev = hiddens[:, t - 1] if t > 0 else np.zeros_like(tanh_c)

            dh = d_out[t] + dh_from_next                          # total gradient reaching h_t
            dc = dc_from_next + dh * o * (1 - tanh_c ** 2)        # total gradient reaching c_t
            dh_norms[t], dc_norms[t] = _mean_norm(dh), _mean_norm(dc)

            di, df, do, dg = dc * g, dc * c_prev, dh * tanh_c, dc * i
            dz = np.concatenate([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g ** 2)],
                                axis=1)                           # (N, 4H), gate order [i, f, o, g]
            dWx += x[:, t].T @ dz
            dWh += h_prev.T @ dz
            db += dz.sum(axis=0)
            dx[:, t] = dz @ Wx.T
            dh_from_next = dz @ Wh.T
            dc_from_next = dc * f
        self.grads["Wx"][...] = dWx
        self.grads["Wh"][...] = dWh
        self.grads["b"][...] = db
        self.dh_norms, self.dc_norms = dh_norms, dc_norms
        return dx
