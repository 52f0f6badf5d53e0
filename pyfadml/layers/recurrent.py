"""Recurrent layers: a vanilla RNN and an LSTM, trained by backpropagation through time (BPTT).

Both read a batch of sequences ``x (N, T, D)`` one time step at a time, carrying a hidden state ``h`` (and,
for the LSTM, a cell state ``c``) from step to step, starting from zeros. They return the last hidden state
``(N, H)`` ("many to one", ``return_sequences=False``) or all of them ``(N, T, H)`` ("many to many").

BPTT is ordinary backpropagation on the network unrolled over time: walking from t = T-1 back to 0, the
gradient reaching ``h_t`` is what the output at step t receives *plus* what flows back from step t+1:

    dL/dh_t = dout_t + (dL/dz_{t+1}) Wh^T

Repeated multiplication by ``Wh^T`` (and by tanh' <= 1) makes this shrink or grow geometrically with the
distance: the vanishing / exploding gradient problem of the lecture. After ``backward`` the layers expose
``dh_norms[t]`` = batch mean of ``||dL/dh_t||_2`` so it can be plotted against t. The LSTM's cell state is
updated additively (``c_t = f * c_{t-1} + i * g``), so dL/dc flows back multiplied only by the forget gate:
``dc_norms[t]`` shows that "gradient highway".
"""
from __future__ import annotations

import numpy as np

from pyfadml._checks import as_rng, check_array, check_bool, check_float, check_int, require_forward
from pyfadml.init import orthogonal, xavier_uniform
from pyfadml.layers.activations import sigmoid
from pyfadml.layers.base import Layer


def _check_sequence(x, n_in: int, dtype, where: str) -> np.ndarray:
    """``x`` as an ``(N, T, n_in)`` array of ``dtype`` with T >= 1."""
    x = check_array(x, f"{where}: x", ndim=3)
    if x.shape[2] != n_in:
        raise ValueError(f"{where}: x must have shape (N, T, {n_in}) (n_in={n_in} features per step), "
                         f"got {x.shape}")
    if x.shape[1] < 1:
        raise ValueError(f"{where}: x must have at least one time step, got shape {x.shape}")
    return x.astype(dtype, copy=False)


def _dout_per_step(dout, x_shape, n_hidden: int, return_sequences: bool, dtype, where: str) -> np.ndarray:
    """dL/d(output) as an ``(N, T, H)`` array: the gradient arriving at each ``h_t`` from the layer's output.

    With ``return_sequences=False`` only the last step is an output, so only ``h_{T-1}`` receives ``dout``.
    """
    N, T, _ = x_shape
    if return_sequences:
        return check_array(dout, f"{where}: dout", shape=(N, T, n_hidden)).astype(dtype, copy=False)
    dout = check_array(dout, f"{where}: dout", shape=(N, n_hidden)).astype(dtype, copy=False)
    d_seq = np.zeros((N, T, n_hidden), dtype=dtype)
    d_seq[:, -1] = dout
    return d_seq


def _mean_norm(d: np.ndarray) -> float:
    """Batch mean of the per-example Euclidean norm of ``d (N, H)``."""
    return float(np.mean(np.linalg.norm(d, axis=1)))


class RNN(Layer):
    """Vanilla (Elman) RNN:  ``h_t = tanh(x_t Wx + h_{t-1} Wh + b)``,  ``h_{-1} = 0``.

    Shapes: ``x (N, T, D) -> h_{T-1} (N, H)`` or, with ``return_sequences=True``, ``(h_0 ... h_{T-1}) (N, T, H)``.
    Params: ``Wx (D, H)`` (Xavier), ``Wh (H, H)`` (orthogonal * ``recurrent_scale``), ``b (H,)`` (zeros).
    ``recurrent_scale < 1`` makes gradients vanish faster, ``> 1`` lets them explode: a knob for the demo.

    After forward: ``hiddens (N, T, H)``. After backward: ``dh_norms (T,)``.
    """

    def __init__(self, n_in: int, n_hidden: int, *, return_sequences: bool = False,
                 recurrent_scale: float = 1.0, rng):
        super().__init__()
        self.n_in = check_int(n_in, "RNN: n_in")
        self.n_hidden = check_int(n_hidden, "RNN: n_hidden")
        self.return_sequences = check_bool(return_sequences, "RNN: return_sequences")
        self.recurrent_scale = check_float(recurrent_scale, "RNN: recurrent_scale", minimum=0.0)
        rng = as_rng(rng, "RNN: rng")
        D, H = self.n_in, self.n_hidden
        self.params = {"Wx": xavier_uniform((D, H), D, H, rng=rng),
                       "Wh": orthogonal(H, rng=rng) * self.recurrent_scale,
                       "b": np.zeros(H)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.hiddens = None
        self.dh_norms = None
        self._cache = None

    def forward(self, x) -> np.ndarray:
        Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
        x = _check_sequence(x, self.n_in, Wx.dtype, "RNN.forward")
        N, T, _ = x.shape
        hiddens = np.empty((N, T, self.n_hidden), dtype=Wx.dtype)
        h = np.zeros((N, self.n_hidden), dtype=Wx.dtype)
        for t in range(T):
            h = np.tanh(x[:, t] @ Wx + h @ Wh + b)
            hiddens[:, t] = h
        self._cache = (x, hiddens)
        self.hiddens = hiddens
        return hiddens.copy() if self.return_sequences else hiddens[:, -1].copy()

    def backward(self, dout) -> np.ndarray:
        """BPTT. ``dout (N, H)`` (or ``(N, T, H)`` with return_sequences) -> ``dL/dx (N, T, D)``.

        Per step, with ``z_t = x_t Wx + h_{t-1} Wh + b`` and ``dz_t = dL/dh_t * (1 - h_t^2)``:
        ``dWx += x_t^T dz_t``, ``dWh += h_{t-1}^T dz_t``, ``db += sum dz_t``, ``dx_t = dz_t Wx^T``,
        and ``dz_t Wh^T`` is the gradient passed on to ``h_{t-1}``.
        """
        require_forward(self._cache, "RNN.backward")
        x, hiddens = self._cache
        Wx, Wh = self.params["Wx"], self.params["Wh"]
        d_seq = _dout_per_step(dout, x.shape, self.n_hidden, self.return_sequences, Wx.dtype, "RNN.backward")
        N, T, _ = x.shape
        dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(self.params["b"])
        dx = np.empty_like(x)
        dh_norms = np.empty(T)
        dh_from_next = np.zeros((N, self.n_hidden), dtype=Wx.dtype)
        for t in reversed(range(T)):
            dh = d_seq[:, t] + dh_from_next               # total gradient reaching h_t
            dh_norms[t] = _mean_norm(dh)
            dz = dh * (1 - hiddens[:, t] ** 2)            # through tanh
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

    def get_config(self) -> dict:
        return {"n_in": self.n_in, "n_hidden": self.n_hidden, "return_sequences": self.return_sequences,
                "recurrent_scale": self.recurrent_scale}

    @classmethod
    def param_shapes(cls, config: dict) -> dict[str, tuple[int, ...]]:
        D, H = check_int(config["n_in"], "RNN: n_in"), check_int(config["n_hidden"], "RNN: n_hidden")
        return {"Wx": (D, H), "Wh": (H, H), "b": (H,)}


class LSTM(Layer):
    """Long short-term memory. With ``a_t = x_t Wx + h_{t-1} Wh + b`` split into four blocks of H columns:

        i_t = sigmoid(a_t[i])   input gate       how much of the candidate to write
        f_t = sigmoid(a_t[f])   forget gate      how much of the old cell to keep
        o_t = sigmoid(a_t[o])   output gate      how much of the cell to show
        g_t = tanh(a_t[g])      candidate values
        c_t = f_t * c_{t-1} + i_t * g_t          (element-wise; c_{-1} = 0)
        h_t = o_t * tanh(c_t)                    (h_{-1} = 0)

    Shapes: ``x (N, T, D) -> h_{T-1} (N, H)`` or ``(N, T, H)`` with ``return_sequences=True``.
    Params: ``Wx (D, 4H)`` (Xavier per gate), ``Wh (H, 4H)`` (one orthogonal block per gate), ``b (4H,)``;
    gate order ``[i, f, o, g]``; ``b_f = forget_bias`` (default 1: remember by default at the start of training).

    After forward: ``gates`` dict ``{"i", "f", "o", "g"}`` each ``(N, T, H)``, ``cells`` and ``hiddens``
    ``(N, T, H)``. After backward: ``dh_norms (T,)`` and ``dc_norms (T,)`` (batch mean of ``||dL/dc_t||``).
    """

    def __init__(self, n_in: int, n_hidden: int, *, return_sequences: bool = False,
                 forget_bias: float = 1.0, rng):
        super().__init__()
        self.n_in = check_int(n_in, "LSTM: n_in")
        self.n_hidden = check_int(n_hidden, "LSTM: n_hidden")
        self.return_sequences = check_bool(return_sequences, "LSTM: return_sequences")
        self.forget_bias = check_float(forget_bias, "LSTM: forget_bias")
        rng = as_rng(rng, "LSTM: rng")
        D, H = self.n_in, self.n_hidden
        b = np.zeros(4 * H)
        b[H:2 * H] = self.forget_bias
        self.params = {"Wx": xavier_uniform((D, 4 * H), D, H, rng=rng),
                       "Wh": np.concatenate([orthogonal(H, rng=rng) for _ in range(4)], axis=1),
                       "b": b}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.gates = None
        self.cells = None
        self.hiddens = None
        self.dh_norms = None
        self.dc_norms = None
        self._cache = None

    def forward(self, x) -> np.ndarray:
        Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
        x = _check_sequence(x, self.n_in, Wx.dtype, "LSTM.forward")
        N, T, _ = x.shape
        H = self.n_hidden
        gates = {k: np.empty((N, T, H), dtype=Wx.dtype) for k in "ifog"}
        cells = np.empty((N, T, H), dtype=Wx.dtype)
        hiddens = np.empty((N, T, H), dtype=Wx.dtype)
        h = np.zeros((N, H), dtype=Wx.dtype)
        c = np.zeros((N, H), dtype=Wx.dtype)
        for t in range(T):
            a = x[:, t] @ Wx + h @ Wh + b                      # (N, 4H)
            i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H])
            g = np.tanh(a[:, 3 * H:])
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
        """BPTT. ``dout (N, H)`` (or ``(N, T, H)`` with return_sequences) -> ``dL/dx (N, T, D)``.

        Per step, from ``dh = dL/dh_t`` and ``dc = dL/dc_t`` (both totals, including what flows back from t+1):

            dc  = dc_from_next + dh * o * (1 - tanh(c_t)^2)      (h_t = o tanh(c_t) also depends on c_t)
            do  = dh * tanh(c_t),   di = dc * g,   dg = dc * i,   df = dc * c_{t-1}
            da  = [di i(1-i), df f(1-f), do o(1-o), dg (1-g^2)]  (through the sigmoids and the tanh)
            dWx += x_t^T da,  dWh += h_{t-1}^T da,  db += sum da,  dx_t = da Wx^T
            passed back:  dL/dh_{t-1} gets da Wh^T,  dL/dc_{t-1} gets dc * f
        """
        require_forward(self._cache, "LSTM.backward")
        x, gates, cells, hiddens = self._cache
        Wx, Wh = self.params["Wx"], self.params["Wh"]
        d_seq = _dout_per_step(dout, x.shape, self.n_hidden, self.return_sequences, Wx.dtype, "LSTM.backward")
        N, T, _ = x.shape
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

            dh = d_seq[:, t] + dh_from_next                       # total gradient reaching h_t
            dc = dc_from_next + dh * o * (1 - tanh_c ** 2)        # total gradient reaching c_t
            dh_norms[t], dc_norms[t] = _mean_norm(dh), _mean_norm(dc)

            di, df, do, dg = dc * g, dc * c_prev, dh * tanh_c, dc * i
            da = np.concatenate([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g ** 2)],
                                axis=1)                           # (N, 4H), gate order [i, f, o, g]
            dWx += x[:, t].T @ da
            dWh += h_prev.T @ da
            db += da.sum(axis=0)
            dx[:, t] = da @ Wx.T
            dh_from_next = da @ Wh.T
            dc_from_next = dc * f
        self.grads["Wx"][...] = dWx
        self.grads["Wh"][...] = dWh
        self.grads["b"][...] = db
        self.dh_norms, self.dc_norms = dh_norms, dc_norms
        return dx

    def get_config(self) -> dict:
        return {"n_in": self.n_in, "n_hidden": self.n_hidden, "return_sequences": self.return_sequences,
                "forget_bias": self.forget_bias}

    @classmethod
    def param_shapes(cls, config: dict) -> dict[str, tuple[int, ...]]:
        D, H = check_int(config["n_in"], "LSTM: n_in"), check_int(config["n_hidden"], "LSTM: n_hidden")
        return {"Wx": (D, 4 * H), "Wh": (H, 4 * H), "b": (4 * H,)}
