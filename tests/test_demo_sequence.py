"""pyfadml.demos.sequence: the three modes of the "RNN & LSTM" section, driven natively."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from pyfadml import LSTM, RNN, DivergenceError
from pyfadml.data.sequences import CAPTION_VOCAB, SENTIMENT_VOCAB
from pyfadml.demos.sequence import CELLS, MODE_INFO, MODES, SequenceDemo
from pyfadml.losses import softmax


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _unroll_by_hand(layer, x):
    """h_t (and c_t, gates) of one sequence x (T, D) written out from the layer's params, independently
    of the layer's forward."""
    Wx, Wh, b = layer.params["Wx"], layer.params["Wh"], layer.params["b"]
    H = layer.n_hidden
    h = np.zeros(H)
    c = np.zeros(H)
    hs, cs, gs = [], [], {k: [] for k in "ifog"}
    for x_t in x:
        a = x_t @ Wx + h @ Wh + b
        if isinstance(layer, RNN):
            h = np.tanh(a)
        else:
            i, f, o, g = _sigmoid(a[:H]), _sigmoid(a[H:2 * H]), _sigmoid(a[2 * H:3 * H]), np.tanh(a[3 * H:])
            c = f * c + i * g
            h = o * np.tanh(c)
            for k, v in zip("ifog", (i, f, o, g)):
                gs[k].append(v)
            cs.append(c)
        hs.append(h)
    return np.array(hs), (np.array(cs) if cs else None), ({k: np.array(v) for k, v in gs.items()} if cs else None)


def test_does_not_import_panel_or_bokeh():
    code = ("import sys, pyfadml.demos.sequence as m; d = m.SequenceDemo(n_train=64, n_test=8); d.step(2); "
            "d.evaluate(); d.unfold(0); "
            "print(any(k.split('.')[0] in ('panel', 'bokeh', 'param') for k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cell", CELLS)
def test_every_mode_trains_its_loss_falls(mode, cell):
    d = SequenceDemo(mode=mode, cell=cell, seed=1)
    before = d.evaluate()
    d.step(200)
    after = d.evaluate()
    assert d.step_count == 200
    assert after["train_loss"] < 0.5 * before["train_loss"]
    assert after["test_loss"] < 0.8 * before["test_loss"]
    assert d.history["step"] == [0, 200]
    if d.is_classification:
        assert after["train_acc"] > before["train_acc"]


def test_modes_reach_their_targets():
    """What the section promises: each task is learnt, not just a falling loss."""
    d = SequenceDemo(mode="many-to-many", cell="rnn", seed=0)      # toy translation: measured 99.2% of the
    d.step(100)                                                   # words after 100 steps, 100% after 300
    assert d.evaluate()["test_acc"] > 0.97
    d.step(200)
    pred = np.argmax(d.model.predict(d.X_test), axis=-1)
    assert np.mean(np.all(pred == d.Y_test, axis=1)) > 0.95        # whole sentences right, word order too
    d = SequenceDemo(mode="one-to-many", cell="rnn", seed=0)     # captioning: measured 98.4% of the words and
    d.step(300)                                                  # 93% of whole captions after 300 steps
    assert d.evaluate()["test_acc"] > 0.95
    pred = np.argmax(d.model.predict(d.X_test), axis=-1)
    assert np.mean(np.all(pred == d.Y_test, axis=1)) > 0.85
    d = SequenceDemo(mode="many-to-one", cell="lstm", seed=0)
    d.step(300)
    assert d.evaluate()["test_acc"] > 0.9


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cell", CELLS)
def test_unfold_shows_the_library_values(mode, cell):
    d = SequenceDemo(mode=mode, cell=cell, hidden=6, seed=2, n_train=64, n_test=16)
    d.step(5)
    u = d.unfold(3)
    x = d.X_test[3]
    T = MODE_INFO[mode]["T"]
    assert u["T"] == T and u["step"] == 5 and u["x"].shape == (T, d.n_in)
    np.testing.assert_array_equal(u["x"], x)
    h, c, gates = _unroll_by_hand(d.layer, x)
    np.testing.assert_allclose(u["h"], h, rtol=1e-12, atol=1e-12)
    if cell == "lstm":
        np.testing.assert_allclose(u["c"], c, rtol=1e-12, atol=1e-12)
        for k in "ifog":
            np.testing.assert_allclose(u["gates"][k], gates[k], rtol=1e-12, atol=1e-12)
    else:
        assert u["c"] is None and u["gates"] is None
    dense = d.model.layers[1]
    z = h @ dense.params["W"].T + dense.params["b"]            # the read-out at every step
    steps = u["out_steps"]
    if mode == "many-to-one":
        np.testing.assert_array_equal(steps, [T - 1])
        assert u["target"].tolist() == [d.Y_test[3]]
    else:
        np.testing.assert_array_equal(steps, np.arange(T))
    if d.is_classification:
        np.testing.assert_allclose(u["y"], softmax(z[steps]), rtol=1e-10)
        np.testing.assert_array_equal(u["pred"], np.argmax(z[steps], axis=1))
        np.testing.assert_array_equal(u["correct"], u["pred"] == u["target"])
        assert u["y_labels"] == [d.class_names[k] for k in u["pred"]]
    else:
        np.testing.assert_allclose(u["y"], z[:, 0], rtol=1e-10)
        np.testing.assert_array_equal(u["target"], d.Y_test[3, :, 0])


def test_input_labels_are_readable():
    d = SequenceDemo(mode="many-to-one", n_train=16, n_test=4)
    words = d.unfold(0)["x_labels"]
    assert len(words) == 10 and all(w in SENTIMENT_VOCAB for w in words)
    d = SequenceDemo(mode="one-to-many", n_train=16, n_test=4)
    u = d.unfold(1)
    assert u["x_labels"] == ["image", "0", "0", "0", "0"]
    assert u["target_labels"][0] == "a" and u["target_labels"][-1] == "." and d.class_names == CAPTION_VOCAB
    np.testing.assert_array_equal(d.image(1).ravel(), d.X_test[1, 0])
    d = SequenceDemo(mode="many-to-many", n_train=16, n_test=4)
    u = d.unfold(2)
    # toy translation: the French two words behind the English, "." before it starts
    from pyfadml.data.sequences import translate
    assert u["target_labels"][:2] == [".", "."]
    english = [w for w in u["x_labels"] if w != "."]
    assert [w for w in u["target_labels"] if w != "."] == translate(english)


def test_same_seed_same_run_whatever_the_bursts():
    a = SequenceDemo(mode="many-to-many", cell="lstm", seed=4, n_train=128, n_test=16)
    b = SequenceDemo(mode="many-to-many", cell="lstm", seed=4, n_train=128, n_test=16)
    a.step(10)
    b.step(3)
    b.step(7)
    for (_, pa, _), (_, pb, _) in zip(a.model.parameters(), b.model.parameters()):
        np.testing.assert_array_equal(pa, pb)
    c = SequenceDemo(mode="many-to-many", cell="lstm", seed=5, n_train=128, n_test=16)
    assert not np.array_equal(c.X_train, a.X_train)


def test_train_for_is_time_boxed():
    d = SequenceDemo(mode="many-to-one", n_train=64, n_test=8)
    assert d.train_for(0.0) == 1
    assert d.train_for(10.0, max_steps=4) == 4
    assert d.step_count == 5


def test_live_settings():
    d = SequenceDemo(n_train=64, n_test=8, clip_norm=None)
    assert d.clip_norm is None
    d.clip_norm = 0.5
    assert d.trainer.clip_norm == 0.5
    d.lr = 0.2
    assert d.trainer.optimizer.lr == 0.2
    assert SequenceDemo(**d.settings).settings == d.settings
    with pytest.raises(ValueError, match="lr"):
        d.lr = -1.0
    with pytest.raises(ValueError, match="clip_norm"):
        d.clip_norm = 0.0


def test_bad_settings_name_the_parameter():
    with pytest.raises(ValueError, match="mode"):
        SequenceDemo(mode="two-to-three")
    with pytest.raises(ValueError, match="cell"):
        SequenceDemo(cell="gru")
    with pytest.raises(ValueError, match="hidden"):
        SequenceDemo(hidden=33)
    with pytest.raises(TypeError, match="hidden"):
        SequenceDemo(hidden="16")
    with pytest.raises(ValueError, match="optimizer"):
        SequenceDemo(optimizer="rmsprop")
    d = SequenceDemo(n_train=16, n_test=4)
    with pytest.raises(ValueError, match="index"):
        d.unfold(4)
    with pytest.raises(ValueError, match="one-to-many"):
        d.image(0)


def test_divergence_propagates_and_leaves_the_weights():
    d = SequenceDemo(mode="one-to-many", cell="rnn", optimizer="sgd", lr=1e6, clip_norm=None,
                     n_train=64, n_test=8)
    with pytest.raises(DivergenceError):
        for _ in range(50):
            before = [p.copy() for _, p, _ in d.model.parameters()]
            d.step(1)
    assert d.diverged
    for (_, p, _), q in zip(d.model.parameters(), before):
        np.testing.assert_array_equal(p, q)
    # the demo still answers: evaluation and the unfolded view work on the last finite weights
    d.evaluate()
    d.unfold(0)


def test_models_are_the_library_layers():
    assert isinstance(SequenceDemo(cell="rnn", n_train=16, n_test=4).layer, RNN)
    assert isinstance(SequenceDemo(cell="lstm", n_train=16, n_test=4).layer, LSTM)


def test_the_section_draws_these_values():
    """The page's unfolded view holds exactly the library's hidden states and outputs (no second model)."""
    pytest.importorskip("panel")
    from pyfadml.app.rnn import RNNSection

    s = RNNSection()
    tab = s.modes
    tab.mode = "many-to-many"
    tab.live.step()
    u = tab.demo.unfold(int(tab.example))
    cells = tab.unfolded.cells.data
    np.testing.assert_array_equal(np.array(cells["v"]).reshape(u["h"].shape), u["h"])
    np.testing.assert_array_equal(u["h"], tab.demo.layer.hiddens[0])        # the last forward was unfold's
    np.testing.assert_array_equal(tab._pred_src.data["pred"], u["pred"].astype(float))
    np.testing.assert_array_equal(tab._pred_src.data["target"], u["target"].astype(float))
    assert f'data-step="{tab.demo.step_count}"' in tab._stats.object


def test_settings_for_finds_the_mode_of_a_sequence_model():
    native = SequenceDemo(mode="many-to-many", cell="lstm", hidden=8, n_train=64, n_test=16)
    native.step(2)
    demo = SequenceDemo(n_train=64, n_test=16)
    s = demo.settings_for(native.model, "q.npz")
    assert s == dict(mode="many-to-many", cell="lstm", hidden=8)
    demo = SequenceDemo(**{**demo.settings, **s})
    demo.load_weights(native.model)
    np.testing.assert_array_equal(demo.model.predict(native.X_test), native.model.predict(native.X_test))
    with pytest.raises(ValueError, match="an RNN or LSTM cell then a Dense layer"):
        demo.settings_for(native.model.__class__(native.model.layers[1:]), "d.npz")


def test_describe_says_the_cell_the_optimizer_and_the_clipping():
    d = SequenceDemo(cell="lstm", hidden=8, optimizer="momentum", clip_norm=None, n_train=64, n_test=16)
    assert d.describe() == ("The LSTM with 8 hidden units, SGD with momentum, learning rate 0.01, batch 32, "
                            f"no clipping; 64 training and 16 test sequences of {d.T} steps.")


def test_predictions_are_what_the_plot_of_predictions_against_targets_shows():
    d = SequenceDemo(n_train=64, n_test=20)
    p = d.predictions(n=16)
    np.testing.assert_allclose(p["pred"], softmax(d.model.predict(d.X_test[:16]))[:, 1])
    np.testing.assert_array_equal(p["target"], d.Y_test[:16])
    d = SequenceDemo(mode="many-to-many", n_train=64, n_test=20)
    p, u = d.predictions(3), d.unfold(3)
    assert p["pred"].tolist() == u["pred"].tolist() and p["target"].tolist() == u["target"].tolist()
