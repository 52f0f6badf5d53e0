"""RNN and LSTM: BPTT gradient checks, per-step gradient norms against an independent reference, gates, init."""
import copy

import numpy as np
import pytest

from pyfadml.gradcheck import check_layer, numerical_gradient
from pyfadml.layers import _matmul
from pyfadml.layers.base import LAYERS
from pyfadml.layers.recurrent import LSTM, RNN
from pyfadml.layers.recurrent_naive import LSTMNaive, RNNNaive

TOL = 1e-7


def _make(cls, return_sequences, seed=0, D=3, H=4):
    rng = np.random.default_rng(seed)
    layer = cls(D, H, return_sequences=return_sequences, rng=rng)
    layer.params["b"][...] += 0.1 * rng.normal(size=layer.params["b"].shape)
    return layer


@pytest.mark.parametrize("cls", [RNN, LSTM, RNNNaive, LSTMNaive])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("T", [1, 5])
def test_gradcheck(cls, return_sequences, T):
    rng = np.random.default_rng(1)
    layer = _make(cls, return_sequences)
    errors = check_layer(layer, rng.normal(size=(2, T, 3)), rng=rng)
    assert set(errors) == {"x", "Wx", "Wh", "b"}
    assert max(errors.values()) < TOL, errors


# ------------------------------------------------------------------ the fast layers equal their step-by-step twins

@pytest.mark.parametrize("fast_cls,naive_cls", [(RNN, RNNNaive), (LSTM, LSTMNaive)])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("no_blas", [False, True], ids=["blas", "browser-products"])
def test_fast_equals_naive_twin(fast_cls, naive_cls, return_sequences, dtype, tol, no_blas, monkeypatch):
    monkeypatch.setattr(_matmul, "NO_BLAS", no_blas)   # True: the einsum products Pyodide uses
    rng = np.random.default_rng(8)
    fast, naive = _make(fast_cls, return_sequences, seed=9, D=3, H=5), _make(naive_cls, return_sequences, seed=9, D=3, H=5)
    for layer in (fast, naive):
        for k in layer.params:
            layer.params[k] = layer.params[k].astype(dtype)
            layer.grads[k] = layer.grads[k].astype(dtype)
    for N, T in [(4, 7), (1, 1), (3, 2), (4, 7)]:     # shapes change and come back: reused arrays stay right
        x = 2 * rng.normal(size=(N, T, 3))
        out_fast, out_naive = fast.forward(x), naive.forward(x)
        assert out_fast.dtype == out_naive.dtype == dtype
        np.testing.assert_allclose(out_fast, out_naive, rtol=tol, atol=tol)
        dout = rng.normal(size=out_fast.shape)
        np.testing.assert_allclose(fast.backward(dout), naive.backward(dout), rtol=tol, atol=tol)
        for k in fast.grads:
            np.testing.assert_allclose(fast.grads[k], naive.grads[k], rtol=tol, atol=tol * T * N, err_msg=k)
        names = ["hiddens", "dh_norms"] + (["cells", "dc_norms"] if fast_cls is LSTM else [])
        for name in names:
            np.testing.assert_allclose(getattr(fast, name), getattr(naive, name), rtol=tol, atol=tol, err_msg=name)
        if fast_cls is LSTM:
            for k in "ifog":
                np.testing.assert_allclose(fast.gates[k], naive.gates[k], rtol=tol, atol=tol, err_msg=k)


@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_outputs_do_not_change_with_the_next_call(cls):
    """The layer reuses its arrays from call to call; what forward and backward return stays the caller's."""
    rng = np.random.default_rng(10)
    layer = _make(cls, True, seed=11)
    x1, x2 = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 4, 3))
    out1 = layer.forward(x1)
    dx1 = layer.backward(np.ones_like(out1))
    kept = out1.copy(), dx1.copy()
    layer.forward(x2)
    layer.backward(np.ones_like(out1))
    np.testing.assert_array_equal(out1, kept[0])
    np.testing.assert_array_equal(dx1, kept[1])


@pytest.mark.parametrize("fast_cls,naive_cls", [(RNN, RNNNaive), (LSTM, LSTMNaive)])
def test_copied_layers_compute_right(fast_cls, naive_cls):
    """A deep copy (e.g. a kept checkpoint) gets its own arrays, and both layers keep computing right."""
    rng = np.random.default_rng(12)
    layer = _make(fast_cls, True, seed=13)
    x = rng.normal(size=(3, 5, 3))
    layer.forward(x)
    layer.backward(np.ones((3, 5, 4)))
    twin = copy.deepcopy(layer)
    reference = _make(naive_cls, True, seed=13)
    for model in (twin, layer, twin):
        x = rng.normal(size=(3, 5, 3))
        np.testing.assert_allclose(model.forward(x), reference.forward(x), rtol=1e-12, atol=1e-12)
        dout = rng.normal(size=(3, 5, 4))
        np.testing.assert_allclose(model.backward(dout), reference.backward(dout), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ an independent forward, with a probe

def _sig(a):
    return 1 / (1 + np.exp(-a))


def _reference(layer, x, probe=None):
    """The layer's output recomputed step by step from its params, written separately from the library.

    ``probe = (kind, t, offset)`` adds ``offset`` to h_t (kind "h") or to c_t (kind "c", LSTM) right after
    it is computed, so d(loss)/d(offset) at offset 0 is the total gradient reaching h_t (or c_t).
    """
    Wx, Wh, b = layer.params["Wx"], layer.params["Wh"], layer.params["b"]
    N, T, _ = x.shape
    H = layer.n_hidden
    h, c, hs = np.zeros((N, H)), np.zeros((N, H)), []
    for t in range(T):
        if isinstance(layer, RNN):
            h = np.tanh(x[:, t] @ Wx + h @ Wh + b)
        else:
            blocks = {name: x[:, t] @ Wx[:, j * H:(j + 1) * H] + h @ Wh[:, j * H:(j + 1) * H] + b[j * H:(j + 1) * H]
                      for j, name in enumerate("ifog")}
            c = _sig(blocks["f"]) * c + _sig(blocks["i"]) * np.tanh(blocks["g"])
            if probe is not None and probe[0] == "c" and probe[1] == t:
                c = c + probe[2]
            h = _sig(blocks["o"]) * np.tanh(c)
        if probe is not None and probe[0] == "h" and probe[1] == t:
            h = h + probe[2]
        hs.append(h)
    hs = np.stack(hs, axis=1)
    return hs if layer.return_sequences else hs[:, -1]


def _true_norms(layer, x, dout, kind):
    """Batch mean of ||dL/dh_t|| (or dL/dc_t) for every t, by centred differences on the probe."""
    N, T, _ = x.shape
    norms = []
    for t in range(T):
        def loss(offset):
            return np.sum(_reference(layer, x, (kind, t, offset)) * dout)
        g = numerical_gradient(loss, np.zeros((N, layer.n_hidden)))
        norms.append(np.mean(np.linalg.norm(g, axis=1)))
    return np.array(norms)


@pytest.mark.parametrize("cls", [RNN, LSTM])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("T", [1, 2, 5])
def test_gradient_norms_per_step_match_the_true_gradients(cls, return_sequences, T):
    rng = np.random.default_rng(2)
    layer = _make(cls, return_sequences, seed=3)
    x = rng.normal(size=(3, T, 3))
    out = layer.forward(x)
    np.testing.assert_allclose(out, _reference(layer, x), rtol=1e-12, atol=1e-12)  # the reference is right
    dout = rng.normal(size=out.shape)
    layer.backward(dout)
    assert layer.dh_norms.shape == (T,)
    np.testing.assert_allclose(layer.dh_norms, _true_norms(layer, x, dout, "h"), rtol=1e-6)
    if cls is LSTM:
        assert layer.dc_norms.shape == (T,)
        np.testing.assert_allclose(layer.dc_norms, _true_norms(layer, x, dout, "c"), rtol=1e-6)


def test_last_step_norm_is_the_norm_of_dout():
    rng = np.random.default_rng(0)
    layer = _make(RNN, False)
    layer.forward(rng.normal(size=(4, 3, 3)))
    dout = rng.normal(size=(4, 4))
    layer.backward(dout)
    assert layer.dh_norms[-1] == pytest.approx(np.mean(np.linalg.norm(dout, axis=1)))


def test_small_recurrent_scale_makes_gradients_vanish_back_in_time():
    rng = np.random.default_rng(0)
    layer = RNN(3, 8, recurrent_scale=0.3, rng=rng)
    layer.forward(rng.normal(size=(4, 12, 3)))
    layer.backward(rng.normal(size=(4, 8)))
    assert np.all(np.diff(layer.dh_norms) > 0)          # smaller and smaller towards t = 0
    assert layer.dh_norms[0] < 1e-4 * layer.dh_norms[-1]


# ------------------------------------------------------------------------------ outputs, state, init

@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_outputs_and_hiddens(cls):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 6, 3))
    many_to_one, many_to_many = _make(cls, False, seed=5), _make(cls, True, seed=5)
    last, seq = many_to_one.forward(x), many_to_many.forward(x)
    assert last.shape == (2, 4) and seq.shape == (2, 6, 4)
    assert many_to_one.hiddens.shape == (2, 6, 4)
    np.testing.assert_array_equal(seq, many_to_many.hiddens)
    np.testing.assert_array_equal(last, seq[:, -1])
    # the first step only sees x_0: later inputs cannot change it (causality)
    x2 = x.copy()
    x2[:, 3:] += 1.0
    np.testing.assert_allclose(many_to_many.forward(x2)[:, :3], seq[:, :3])


def test_lstm_gates_and_cells():
    rng = np.random.default_rng(6)
    layer = _make(LSTM, True, seed=7)
    x = 3 * rng.normal(size=(5, 4, 3))
    h = layer.forward(x)
    assert set(layer.gates) == {"i", "f", "o", "g"}
    for k in "ifo":
        assert layer.gates[k].shape == (5, 4, 4)
        assert np.all((layer.gates[k] > 0) & (layer.gates[k] < 1))
    assert np.all((layer.gates["g"] > -1) & (layer.gates["g"] < 1))
    assert layer.cells.shape == (5, 4, 4)
    g = layer.gates
    np.testing.assert_allclose(layer.cells[:, 0], g["i"][:, 0] * g["g"][:, 0])     # c_{-1} = 0
    np.testing.assert_allclose(layer.cells[:, 1], g["f"][:, 1] * layer.cells[:, 0] + g["i"][:, 1] * g["g"][:, 1])
    np.testing.assert_allclose(h, g["o"] * np.tanh(layer.cells))


def test_rnn_init_and_config():
    layer = RNN(3, 6, return_sequences=True, recurrent_scale=0.5, rng=0)
    Wh = layer.params["Wh"]
    assert layer.params["Wx"].shape == (3, 6) and Wh.shape == (6, 6) and layer.params["b"].shape == (6,)
    np.testing.assert_allclose(Wh.T @ Wh, 0.25 * np.eye(6), atol=1e-12)   # orthogonal * 0.5
    cfg = layer.get_config()
    assert cfg == {"n_in": 3, "n_hidden": 6, "return_sequences": True, "recurrent_scale": 0.5}
    rebuilt = LAYERS["RNN"](**cfg, rng=0)
    for k in layer.params:
        np.testing.assert_array_equal(rebuilt.params[k], layer.params[k])


def test_lstm_init_and_config():
    layer = LSTM(3, 5, rng=0)
    H = 5
    assert layer.params["Wx"].shape == (3, 20) and layer.params["Wh"].shape == (5, 20)
    b = layer.params["b"]
    np.testing.assert_array_equal(b[H:2 * H], 1.0)                         # forget_bias defaults to 1
    np.testing.assert_array_equal(np.delete(b, np.s_[H:2 * H]), 0.0)
    for j in range(4):
        block = layer.params["Wh"][:, j * H:(j + 1) * H]
        np.testing.assert_allclose(block.T @ block, np.eye(H), atol=1e-12)
    assert np.all(LSTM(3, 5, forget_bias=0.0, rng=0).params["b"] == 0)
    cfg = layer.get_config()
    assert cfg == {"n_in": 3, "n_hidden": 5, "return_sequences": False, "forget_bias": 1.0}
    rebuilt = LAYERS["LSTM"](**cfg, rng=0)
    np.testing.assert_array_equal(rebuilt.params["Wx"], layer.params["Wx"])


@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_dtypes(cls):
    layer = cls(2, 3, rng=0)
    assert layer.forward(np.ones((1, 2, 2), dtype=np.float32)).dtype == np.float64
    for k in layer.params:
        layer.params[k] = layer.params[k].astype(np.float32)
    assert layer.forward(np.ones((1, 2, 2))).dtype == np.float32
    assert layer.backward(np.ones((1, 3))).dtype == np.float32
    assert layer.forward(np.ones((1, 2, 2), dtype=np.int64)).dtype == np.float32


@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_bad_input(cls):
    name = cls.__name__
    layer = cls(3, 4, rng=0)
    with pytest.raises(RuntimeError, match=f"{name}.backward called before forward"):
        layer.backward(np.ones((2, 4)))
    with pytest.raises(ValueError, match=rf"{name}.forward: x must be 3-dimensional, got shape \(2, 3\)"):
        layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=rf"{name}.forward: x must have shape \(N, T, 3\).*got \(2, 5, 4\)"):
        layer.forward(np.ones((2, 5, 4)))
    with pytest.raises(ValueError, match="at least one time step"):
        layer.forward(np.ones((2, 0, 3)))
    with pytest.raises(TypeError, match="numbers"):
        layer.forward(np.full((2, 5, 3), "a"))
    layer.forward(np.ones((2, 5, 3)))
    with pytest.raises(ValueError, match=rf"{name}.backward: dout must have shape \(2, 4\), got \(2, 5, 4\)"):
        layer.backward(np.ones((2, 5, 4)))
    seq = cls(3, 4, return_sequences=True, rng=0)
    seq.forward(np.ones((2, 5, 3)))
    with pytest.raises(ValueError, match=rf"{name}.backward: dout must have shape \(2, 5, 4\), got \(2, 4\)"):
        seq.backward(np.ones((2, 4)))


def test_bad_constructor_arguments():
    with pytest.raises(TypeError, match="return_sequences"):
        RNN(3, 4, return_sequences="yes", rng=0)
    with pytest.raises(ValueError, match="n_hidden"):
        LSTM(3, 0, rng=0)
    with pytest.raises(ValueError, match="recurrent_scale"):
        RNN(3, 4, recurrent_scale=-1.0, rng=0)
    with pytest.raises(TypeError, match="forget_bias"):
        LSTM(3, 4, forget_bias="1", rng=0)
    with pytest.raises(TypeError):
        RNN(3, 4)  # rng required
