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

Weight layout. The examples of a batch are the *rows* of ``x_t`` and ``h_t``, and these layers keep the
usual row-vector RNN formula ``h_t = tanh(x_t Wx + h_{t-1} Wh + b)``: ``Wx (D, H)`` and ``Wh (H, H)`` multiply
from the right, so the code reads like the formula and the LSTM's four gates are four blocks of H columns.
:class:`~pyfadml.layers.dense.Dense` instead keeps the lecture's column-vector formula ``z = W a + b`` with
``W (n_out, n_in)`` (row j = the weights of neuron j, as in the lecture's figures) and computes
``a W^T + b`` on rows. Both layouts are kept because saved model files store these arrays as they are.

Two implementations compute exactly the same thing:

* :class:`~pyfadml.layers.recurrent_naive.RNNNaive` / :class:`~pyfadml.layers.recurrent_naive.LSTMNaive`
  (in :mod:`pyfadml.layers.recurrent_naive`): one time step after the other, forward and backward, every
  formula as written above: read these first;
* :class:`RNN` / :class:`LSTM`: the same maths reorganised so that only the recurrence itself stays in the
  Python loop. Everything that does not depend on the previous step is done for all T steps at once (the
  RNN's input projection ``x_t Wx + b`` before the forward loop; ``dWx``, ``dWh``, ``db``, ``dx`` after the
  backward loop, each one matrix product over all N*T rows; the gradient norms when read); the arrays live in
  time-major buffers ``(T, ...)``, allocated once and reused from call to call, so step t is one contiguous
  block and the loops write with ``out=`` instead of allocating. Tests check that the twins agree.
"""
from __future__ import annotations

import numpy as np

from pyfadml._checks import as_rng, check_bool, check_float, check_int, require_forward
from pyfadml.init import orthogonal, xavier_uniform
from pyfadml.layers import _matmul
from pyfadml.layers._sequences import (  # noqa: F401  (_check_sequence, _dout_time_major: the naive twins')
    _check_sequence, _dout_time_major, _mean_norms, _StepNorms, _time_major_rows, _Workspace,
)
from pyfadml.layers.base import Layer

_LOOP_ORDER = (2, 0, 1, 3)
"""The LSTM's loops keep the gates in the order ``[o, i, f, g]`` (the params: ``[i, f, o, g]``): the three
sigmoid gates o, i, f are side by side for the forward, the three that backward multiplies by ``dc`` (i, f, g)
too. Entry j: the params' block of the loops' block j."""
_LOOP_ORDER_INDEX = tuple(_LOOP_ORDER.index(j) for j in range(4))
"""Entry k: the loops' block of the params' block k (i, f, o, g)."""


def _loop_order(W: np.ndarray) -> np.ndarray:
    """``Wx (D, 4H)`` or ``Wh (H, 4H)`` with the gates' column blocks in the loops' order, a new array."""
    rows, cols = W.shape
    return np.take(W.reshape(rows, 4, cols // 4), _LOOP_ORDER, axis=1).reshape(rows, cols)


class RNN(Layer):
    """Vanilla (Elman) RNN:  ``h_t = tanh(z_t)``,  ``z_t = x_t Wx + h_{t-1} Wh + b``,  ``h_{-1} = 0``.

    Shapes: ``x (N, T, D) -> h_{T-1} (N, H)`` or, with ``return_sequences=True``, ``(h_0 ... h_{T-1}) (N, T, H)``.
    Params: ``Wx (D, H)`` (Xavier), ``Wh (H, H)`` (orthogonal * ``recurrent_scale``), ``b (H,)`` (zeros).
    ``recurrent_scale < 1`` makes gradients vanish faster, ``> 1`` lets them explode: a knob for the demo.

    After forward: ``hiddens (N, T, H)``. After backward: ``dh_norms (T,)`` (computed when first read).
    The step-by-step twin :class:`~pyfadml.layers.recurrent_naive.RNNNaive` computes the same (see the module
    docstring).
    """

    dh_norms = _StepNorms()

    def __init__(self, n_in: int, n_hidden: int, *, return_sequences: bool = False,
                 recurrent_scale: float = 1.0, rng):
        super().__init__()
        name = type(self).__name__
        self.n_in = check_int(n_in, f"{name}: n_in")
        self.n_hidden = check_int(n_hidden, f"{name}: n_hidden")
        self.return_sequences = check_bool(return_sequences, f"{name}: return_sequences")
        self.recurrent_scale = check_float(recurrent_scale, f"{name}: recurrent_scale", minimum=0.0)
        rng = as_rng(rng, f"{name}: rng")
        D, H = self.n_in, self.n_hidden
        self.params = {"Wx": xavier_uniform((D, H), D, H, rng=rng),
                       "Wh": orthogonal(H, rng=rng) * self.recurrent_scale,
                       "b": np.zeros(H)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.hiddens = None
        self.dh_norms = None
        self._cache = None
        self._work = _Workspace()

    def forward(self, x) -> np.ndarray:
        Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
        x = _check_sequence(x, self.n_in, Wx.dtype, "RNN.forward")
        N, T, _ = x.shape
        H, dtype = self.n_hidden, Wx.dtype
        # hs[t + 1] = h_t and hs[0] = h_{-1} = 0 (never written); z: the input part of z_t, for every t
        hs, z = self._work.get("forward", (N, T, dtype), lambda: (
            np.zeros((T + 1, N, H), dtype=dtype), np.empty((T * N, H), dtype=dtype)))
        x_rows = _time_major_rows(x)                             # (T*N, D)
        _matmul.matmul(x_rows, Wx, out=z)
        z += b
        z = z.reshape(T, N, H)
        for t in range(T):
            np.matmul(hs[t], Wh, out=hs[t + 1])                  # h_{t-1} Wh
            np.add(hs[t + 1], z[t], out=hs[t + 1])               # z_t
            np.tanh(hs[t + 1], out=hs[t + 1])                    # h_t
        self._cache = (x.shape, x_rows, hs)
        self.hiddens = hs[1:].transpose(1, 0, 2)
        return self.hiddens.copy() if self.return_sequences else hs[T].copy()

    def backward(self, dout) -> np.ndarray:
        """BPTT. ``dout (N, H)`` (or ``(N, T, H)`` with return_sequences) -> ``dL/dx (N, T, D)``.

        Per step, ``dz_t = dL/dh_t * (1 - h_t^2)`` (through tanh) and ``dz_t Wh^T`` is passed on to ``h_{t-1}``.
        Then, over all steps at once: ``dWx = sum_t x_t^T dz_t``, ``dWh = sum_t h_{t-1}^T dz_t``,
        ``db = sum_t sum_n dz_t``, ``dx_t = dz_t Wx^T``.
        """
        require_forward(self._cache, "RNN.backward")
        x_shape, x_rows, hs = self._cache
        Wx, Wh = self.params["Wx"], self.params["Wh"]
        N, T, D = x_shape
        H, dtype = self.n_hidden, Wx.dtype
        dh, dz, dh_back = self._work.get("backward", (N, T, dtype), lambda: (
            np.empty((T, N, H), dtype=dtype), np.empty((T, N, H), dtype=dtype), np.empty((N, H), dtype=dtype)))
        _dout_time_major(dout, x_shape, H, self.return_sequences, dh, "RNN.backward")
        np.square(hs[1:], out=dz)
        np.subtract(1, dz, out=dz)                               # tanh'(z_t) = 1 - h_t^2, for every t
        for t in range(T - 1, -1, -1):                           # dh[t]: total gradient reaching h_t
            np.multiply(dh[t], dz[t], out=dz[t])
            if t > 0:                                            # what h_{t-1} receives from step t
                np.add(dh[t - 1], np.matmul(dz[t], Wh.T, out=dh_back), out=dh[t - 1])
        dz_rows = dz.reshape(T * N, H)
        self.grads["Wx"][...] = _matmul.matmul(x_rows.T, dz_rows)
        self.grads["Wh"][...] = _matmul.matmul(hs[:-1].reshape(T * N, H).T, dz_rows)
        self.grads["b"][...] = dz_rows.sum(axis=0)
        self._norm_sources = {"dh_norms": dh}
        self.dh_norms = None
        return _matmul.matmul(dz_rows, Wx.T).reshape(T, N, D).transpose(1, 0, 2)

    def get_config(self) -> dict:
        return {"n_in": self.n_in, "n_hidden": self.n_hidden, "return_sequences": self.return_sequences,
                "recurrent_scale": self.recurrent_scale}

    @classmethod
    def param_shapes(cls, config: dict) -> dict[str, tuple[int, ...]]:
        D, H = check_int(config["n_in"], "RNN: n_in"), check_int(config["n_hidden"], "RNN: n_hidden")
        return {"Wx": (D, H), "Wh": (H, H), "b": (H,)}


class LSTM(Layer):
    """Long short-term memory. The pre-activation ``z_t = x_t Wx + h_{t-1} Wh + b`` has four blocks of H columns:

        i_t = sigmoid(z_t[i])   input gate       how much of the candidate to write
        f_t = sigmoid(z_t[f])   forget gate      how much of the old cell to keep
        o_t = sigmoid(z_t[o])   output gate      how much of the cell to show
        g_t = tanh(z_t[g])      candidate values
        c_t = f_t * c_{t-1} + i_t * g_t          (element-wise; c_{-1} = 0)
        h_t = o_t * tanh(c_t)                    (h_{-1} = 0)

    Shapes: ``x (N, T, D) -> h_{T-1} (N, H)`` or ``(N, T, H)`` with ``return_sequences=True``.
    Params: ``Wx (D, 4H)`` (Xavier per gate), ``Wh (H, 4H)`` (one orthogonal block per gate), ``b (4H,)``;
    gate order ``[i, f, o, g]``; ``b_f = forget_bias`` (default 1: remember by default at the start of training).

    After forward: ``gates`` dict ``{"i", "f", "o", "g"}`` each ``(N, T, H)``, ``cells`` and ``hiddens``
    ``(N, T, H)``. After backward: ``dh_norms (T,)`` and ``dc_norms (T,)`` (batch mean of ``||dL/dc_t||``;
    both computed when first read).

    :class:`~pyfadml.layers.recurrent_naive.LSTMNaive` computes the same one step at a time. Here, in addition to what the module docstring
    says, the loops are arranged so that each NumPy call does as much as it can (a call on arrays this small
    costs more in overhead than in arithmetic, in the page even more):

    * the arrays hold the batch in their last axis (the examples are columns, as in the lecture's
      ``z = W a + b``), so that all four gates of a step come out of one matrix product as one contiguous
      block ``(4, H, N)`` and every element-wise call works on contiguous memory;
    * the input, the recurrence and the bias are one matrix product per step: the columns of ``hx[t]`` are
      ``[h_{t-1}; x_t; 1]`` and the weights ``[Wh; Wx; b]^T`` (so ``z_t = x_t Wx + h_{t-1} Wh + b`` needs no
      separate input projection or addition), and backward gets ``[dWh; dWx; db]`` from one product too;
    * the four gates of a step are one block ``(4, H, N)``, so one matrix product and one ``tanh`` serve all
      of them: ``sigmoid(z) = (1 + tanh(z / 2)) / 2``, so the o, i, f rows of the weights are halved once per
      forward, ``tanh`` is applied to all four blocks, and o, i, f are mapped to (0, 1);
    * inside the loops the gates are in the order ``[o, i, f, g]`` (see ``_LOOP_ORDER``), and forward keeps
      ``c_{t-1}`` right after them, ``[o, i, f, g, c_{t-1}]``: the sigmoid gates o, i, f are one block,
      ``[i, f] * [g, c_{t-1}]`` is one product and ``c_t`` the sum of its two halves; in backward the gates
      that ``dc`` multiplies (i, f, g) are one block;
    * backward likewise keeps ``[dL/dh_t, dL/dc_{t+1}]`` together, so ``dc`` below is one product with
      ``[o tanh'(c_t), f_{t+1}]`` and one sum.
    """

    dh_norms = _StepNorms()
    dc_norms = _StepNorms()

    def __init__(self, n_in: int, n_hidden: int, *, return_sequences: bool = False,
                 forget_bias: float = 1.0, rng):
        super().__init__()
        name = type(self).__name__
        self.n_in = check_int(n_in, f"{name}: n_in")
        self.n_hidden = check_int(n_hidden, f"{name}: n_hidden")
        self.return_sequences = check_bool(return_sequences, f"{name}: return_sequences")
        self.forget_bias = check_float(forget_bias, f"{name}: forget_bias")
        rng = as_rng(rng, f"{name}: rng")
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
        self._work = _Workspace()

    def _weight_rows(self) -> np.ndarray:
        """``[Wh; Wx; b]^T`` as a new ``(4H, K)`` array, K = H + D + 1, in gate order ``[o, i, f, g]``, the rows
        of o, i, f halved.

        Row block j (H rows) holds gate j's weights; with the columns ``[h_{t-1}; x_t; 1]`` of ``hx[t] (K, N)``,
        ``rows @ hx[t]`` is ``z_t`` for every gate at once (halved for o, i, f): the recurrence, the input and
        the bias in one matrix product.
        """
        Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
        H, K = self.n_hidden, self.n_hidden + self.n_in + 1
        W = np.concatenate([Wh, Wx, b[None]], axis=0).T.reshape(4, H, K)   # rows [i | f | o | g]
        W = np.take(W, _LOOP_ORDER, axis=0).reshape(4 * H, K)              # rows [o | i | f | g], a new array
        W[:3 * H] *= 0.5
        return W

    @staticmethod
    def _forward_arrays(N: int, T: int, D: int, H: int, dtype) -> dict:
        """The forward's arrays, and for every step t the views of them the loop reads and writes.

        Everything is stored with the batch as the last axis (columns, the lecture's ``z = W a + b``), so that
        each step's blocks are contiguous. ``state[t] (5, H, N) = [o_t, i_t, f_t, g_t, c_{t-1}]``;
        ``c_{-1} = state[0, 4] = 0`` is never written; ``c_t = state[t + 1, 4]``. ``hx[t] (H + D + 1, N) =
        [h_{t-1}; x_t; 1]``: ``h_{-1} = 0`` and the ones are written once here, ``x_t`` by every forward,
        ``h_t`` by step t into ``hx[t + 1]``.
        """
        a = {"state": np.zeros((T + 1, 5, H, N), dtype=dtype), "hx": np.zeros((T + 1, H + D + 1, N), dtype=dtype),
             "tanh_c": np.empty((T, H, N), dtype=dtype), "products": np.empty((2, H, N), dtype=dtype),
             "half": np.array(0.5, dtype=dtype)}
        state, hx, tanh_c = a["state"], a["hx"], a["tanh_c"]
        hx[:, H + D] = 1
        a["steps"] = [(hx[t], state[t, :4].reshape(4 * H, N), state[t, :4], state[t, :3], state[t, 1:3],
                       state[t, 3:5], state[t, 0], state[t + 1, 4], tanh_c[t], hx[t + 1, :H]) for t in range(T)]
        return a

    def forward(self, x) -> np.ndarray:
        Wx = self.params["Wx"]
        x = _check_sequence(x, self.n_in, Wx.dtype, "LSTM.forward")
        N, T, D = x.shape
        H, dtype = self.n_hidden, Wx.dtype
        a = self._work.get("forward", (N, T, dtype), lambda: self._forward_arrays(N, T, D, H, dtype))
        state, hx, products, half = a["state"], a["hx"], a["products"], a["half"]
        hx[:T, H:H + D] = x.transpose(1, 2, 0)                             # x_t as columns, time-major
        W = self._weight_rows()                                            # (4H, K)
        matmul, tanh, multiply, add = np.matmul, np.tanh, np.multiply, np.add
        for hx_t, z_rows, z, oif, i_f, g_c_prev, o, c, tanh_c, h in a["steps"]:
            matmul(W, hx_t, z_rows)                                # z_t (o, i, f halved), all gates
            tanh(z, z)
            multiply(oif, half, oif)
            add(oif, half, oif)                                    # sigmoid(z) = (1 + tanh(z / 2)) / 2
            multiply(i_f, g_c_prev, products)                      # [i * g, f * c_{t-1}]
            add(products[0], products[1], c)                       # c_t = f * c_{t-1} + i * g
            tanh(c, tanh_c)
            multiply(o, tanh_c, h)                                 # h_t = o * tanh(c_t)
        self._cache = (x.shape, state, a["tanh_c"], hx)
        self.gates = {k: state[:T, j].transpose(2, 0, 1) for j, k in zip(_LOOP_ORDER_INDEX, "ifog")}
        self.cells = state[1:, 4].transpose(2, 0, 1)
        self.hiddens = hx[1:, :H].transpose(2, 0, 1)
        return self.hiddens.copy() if self.return_sequences else hx[T, :H].T.copy()

    @staticmethod
    def _backward_arrays(N: int, T: int, D: int, H: int, dtype) -> dict:
        """The backward's arrays (batch last, like the forward's), and for every step t (from T-1 down to 0)
        the views the loop uses.

        ``grad[t + 1] = [dL/dh_t, dL/dc_{t+1}]`` and ``slope[t + 1] = [o_t tanh'(c_t), f_{t+1}]``, so that
        ``dc_t = sum(grad[t + 1] * slope[t + 1])`` (``dc_T = 0``, ``f_T = 0``); ``dc_t`` is ``grad[t, 1]``.
        ``dz[t] (4, H, N)``: dL/dz_t in the order ``[o, i, f, g]``, which holds the gates' local derivatives
        until step t multiplies them by ``dh`` (o) and ``dc`` (i, f, g) in place. ``dz_cols`` and ``hx_cols``:
        ``dz`` and ``hx`` with the steps side by side, ``(rows, T * N)``, for the products over all steps.
        """
        a = {"grad": np.zeros((T + 1, 2, H, N), dtype=dtype), "slope": np.zeros((T + 1, 2, H, N), dtype=dtype),
             "dz": np.empty((T, 4, H, N), dtype=dtype), "products": np.empty((2, H, N), dtype=dtype),
             "dh_back": np.empty((H, N), dtype=dtype), "dz_cols": np.empty((4 * H, T, N), dtype=dtype),
             "hx_cols": np.empty((H + D + 1, T, N), dtype=dtype)}
        grad, slope, dz = a["grad"], a["slope"], a["dz"]
        a["steps"] = [(grad[t + 1], slope[t + 1], grad[t, 1], grad[t + 1, 0], dz[t, 1:], dz[t, 0],
                       dz[t].reshape(4 * H, N), grad[t, 0] if t > 0 else None) for t in range(T - 1, -1, -1)]
        return a

    def backward(self, dout) -> np.ndarray:
        """BPTT. ``dout (N, H)`` (or ``(N, T, H)`` with return_sequences) -> ``dL/dx (N, T, D)``.

        With ``dh = dL/dh_t`` and ``dc = dL/dc_t`` the totals (including what flows back from t+1), per step:

            dc   = dh * o * (1 - tanh(c_t)^2) + dc_{t+1} * f_{t+1}   (h_t = o tanh(c_t) also depends on c_t)
            dz_i = dc * g * i(1-i),   dz_f = dc * c_{t-1} * f(1-f),   dz_o = dh * tanh(c_t) * o(1-o),
            dz_g = dc * i * (1-g^2)                                  (the gates' local derivatives)
            passed back:  dL/dh_{t-1} gets dz Wh^T   (batch last: Wh dz)

        The factors of ``dh`` and ``dc`` depend on the forward values only: they are computed for all steps
        before the loop (``slope``, and ``dz`` itself), so a step costs a few products and one matmul.
        Then, over all steps at once, one matrix product gives all three weight gradients:
        ``[dWh; dWx; db] = sum_t [h_{t-1} | x_t | 1]^T dz_t``; and ``dx_t = dz_t Wx^T``.
        """
        require_forward(self._cache, "LSTM.backward")
        x_shape, state, tanh_c, hx = self._cache
        Wx, Wh = self.params["Wx"], self.params["Wh"]
        N, T, D = x_shape
        H, dtype = self.n_hidden, Wx.dtype
        a = self._work.get("backward", (N, T, dtype), lambda: self._backward_arrays(N, T, D, H, dtype))
        grad, slope, dz, products, dh_back = (a[k] for k in ("grad", "slope", "dz", "products", "dh_back"))
        dh, dc = grad[1:, 0], grad[:T, 1]                                  # dh[t] = dL/dh_t, dc[t] = dL/dc_t
        _dout_time_major(dout, x_shape, H, self.return_sequences, dh.transpose(0, 2, 1), "LSTM.backward",
                         fill=self.return_sequences)                       # else the loop writes dh[:-1]
        gates = state[:T, :4]
        o, i, f, g = (gates[:, j] for j in range(4))                       # each (T, H, N)
        dc_slope = slope[1:, 0]
        np.square(tanh_c, out=dc_slope)
        np.subtract(1, dc_slope, out=dc_slope)
        dc_slope *= o                                                      # o tanh'(c_t)
        slope[1:T, 1] = f[1:]
        np.square(gates, out=dz)
        np.subtract(gates[:, :3], dz[:, :3], out=dz[:, :3])                # sigmoid' = s - s^2: o, i, f
        np.subtract(1, dz[:, 3], out=dz[:, 3])                             # tanh' = 1 - g^2
        dz[:, 0] *= tanh_c
        dz[:, 1:3] *= state[:T, 3:5]                                       # [i, f] times [g, c_{t-1}]
        dz[:, 3] *= i
        Wh = _loop_order(Wh)                                               # (H, 4H), contiguous
        matmul, multiply, add = np.matmul, np.multiply, np.add
        sequences = self.return_sequences
        for grad_t, slope_t, dc_t, dh_t, dz_ifg, dz_o, dz_rows, dh_prev in a["steps"]:
            multiply(grad_t, slope_t, products)
            add(products[0], products[1], dc_t)                            # total gradient reaching c_t
            multiply(dz_ifg, dc_t, dz_ifg)                                 # dz_i, dz_f, dz_g
            multiply(dz_o, dh_t, dz_o)                                     # dz_o
            if dh_prev is None:                                            # t = 0
                break
            if sequences:                                                  # total reaching h_{t-1}
                add(dh_prev, matmul(Wh, dz_rows, dh_back), dh_prev)
            else:                                                          # only h_{T-1} is an output
                matmul(Wh, dz_rows, dh_prev)
        # every step's dz_t [h_{t-1}; x_t; 1]^T at once: both with the steps side by side, (rows, T*N)
        dz, hx_cols = a["dz_cols"], a["hx_cols"]
        np.copyto(dz, a["dz"].reshape(T, 4 * H, N).transpose(1, 0, 2))
        np.copyto(hx_cols, hx[:T].transpose(1, 0, 2))
        dz = dz.reshape(4 * H, T * N)
        dW = _matmul.matmul(dz, hx_cols.reshape(H + D + 1, T * N).T)           # (4H, K), gates o i f g
        dW = np.take(dW.reshape(4, H, H + D + 1), _LOOP_ORDER_INDEX, axis=0).reshape(4 * H, -1).T  # [dWh; dWx; db]
        dx = _matmul.matmul(_loop_order(Wx), dz).reshape(D, T, N).transpose(2, 1, 0)   # dx_t = Wx dz_t, (N, T, D)
        self.grads["Wh"][...] = dW[:H]
        self.grads["Wx"][...] = dW[H:H + D]
        self.grads["b"][...] = dW[H + D]
        self._norm_sources = {"dh_norms": dh.transpose(0, 2, 1), "dc_norms": dc.transpose(0, 2, 1)}
        self.dh_norms = self.dc_norms = None
        return dx

    def get_config(self) -> dict:
        return {"n_in": self.n_in, "n_hidden": self.n_hidden, "return_sequences": self.return_sequences,
                "forget_bias": self.forget_bias}

    @classmethod
    def param_shapes(cls, config: dict) -> dict[str, tuple[int, ...]]:
        D, H = check_int(config["n_in"], "LSTM: n_in"), check_int(config["n_hidden"], "LSTM: n_hidden")
        return {"Wx": (D, 4 * H), "Wh": (H, 4 * H), "b": (4 * H,)}
