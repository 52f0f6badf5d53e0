"""pyfadml.demos.gradients: the RNN-versus-LSTM gradient race of the "RNN & LSTM" section, natively."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from pyfadml import LSTM, RNN, DivergenceError
from pyfadml.demos.gradients import (
    MODELS, ExplodingGradientError, GradientRace, explain_divergence, relative_norms,
)


def _params(model):
    return [p.copy() for _, p, _ in model.parameters()]


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_does_not_import_panel_or_bokeh():
    code = ("import sys, pyfadml.demos.gradients as m; r = m.GradientRace(T=8, n_train=32, n_test=8); r.step(2); "
            "r.evaluate(); r.gates(0); r.grad_heatmap('RNN'); "
            "print(any(k.split('.')[0] in ('panel', 'bokeh', 'param') for k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_models_are_the_library_layers_with_the_settings():
    r = GradientRace(T=12, recurrent_scale=0.5, hidden=8, forget_bias=2.0, n_train=32, n_test=8)
    rnn, lstm = r.layers["RNN"], r.layers["LSTM"]
    assert isinstance(rnn, RNN) and isinstance(lstm, LSTM)
    assert rnn.recurrent_scale == 0.5 and lstm.forget_bias == 2.0
    # orthogonal * scale: every singular value of Wh is the scale
    np.testing.assert_allclose(np.linalg.svd(rnn.params["Wh"], compute_uv=False), 0.5, rtol=1e-10)
    assert r.X_train.shape == (32, 12, r.n_in) and r.X_test.shape == (8, 12, r.n_in)
    assert 0.0 < r.chance < 1.0


def test_heatmap_rows_are_the_layers_dh_norms():
    r = GradientRace(T=15, n_train=64, n_test=8, seed=1)
    for k in range(1, 4):
        out = r.step(1)
        assert out["step"] == k and set(out) == {"step", *MODELS}
        for name in MODELS:
            steps, norms = r.grad_heatmap(name)
            assert steps.tolist() == list(range(1, k + 1)) and norms.shape == (k, 15)
            np.testing.assert_array_equal(norms[-1], r.layers[name].dh_norms)
            assert np.all(np.isfinite(norms)) and np.all(norms > 0)     # data for every time step
    steps, norms = r.grad_heatmap("LSTM", max_rows=2)
    assert steps.tolist() == [2, 3]
    assert r.history["step"] == [1, 2, 3]
    assert len(r.history["RNN_grad_norm"]) == 3


def test_relative_heatmap_and_reach_divide_by_the_last_time_step():
    """Issue 13, item 4: each row relative to ||dL/dh_T||, and ||dL/dh_1|| / ||dL/dh_T|| as one number."""
    r = GradientRace(T=12, n_train=64, n_test=8, seed=2)
    assert math.isnan(r.reach("RNN"))
    r.step(3)
    for name in MODELS:
        steps, norms = r.grad_heatmap(name)
        _, rel = r.grad_heatmap(name, relative=True)
        np.testing.assert_allclose(rel, norms / norms[:, -1:], rtol=1e-12)
        np.testing.assert_array_equal(rel[:, -1], 1.0)
        d = r.layers[name].dh_norms
        assert r.reach(name) == pytest.approx(d[0] / d[-1], rel=1e-12)
    zero = relative_norms(np.array([[1.0, 2.0, 0.0], [2.0, 4.0, 8.0]]))
    assert np.all(np.isnan(zero[0])) and zero[1].tolist() == [0.25, 0.5, 1.0]
    with pytest.raises(ValueError, match="model"):
        r.reach("GRU")


def test_the_relative_picture_stays_honest_after_the_lstm_has_learned():
    """The issue's complaint: once the LSTM solves the task its gradients are small everywhere, so on an
    absolute scale its first column is darker than the RNN's. Relative to the last time step the LSTM's
    gradient still reaches t = 1 (ratio near 1) while the RNN's has vanished (measured: RNN 10^-3.2,
    LSTM 10^-0.9 after 300 steps, LSTM at 100% test accuracy)."""
    r = GradientRace(seed=0)
    r.step(300)
    assert r.evaluate()["LSTM_acc"] >= 0.95
    reach = {m: r.reach(m) for m in MODELS}
    assert reach["RNN"] < 1e-2 and reach["LSTM"] > 30 * reach["RNN"]
    # on the absolute scale the trained LSTM is as dark as (or darker than) the RNN at its last step
    last = {m: r.layers[m].dh_norms[-1] for m in MODELS}
    assert last["LSTM"] < last["RNN"]


def test_both_models_see_the_same_batches():
    r = GradientRace(T=6, n_train=64, n_test=8, batch_size=16)
    r.step(5)
    a, b = r.trainers["RNN"], r.trainers["LSTM"]
    np.testing.assert_array_equal(a._perm, b._perm)
    assert a.step_count == b.step_count == 5


def test_same_seed_same_race_whatever_the_bursts():
    a = GradientRace(T=10, n_train=64, n_test=8, seed=3)
    b = GradientRace(T=10, n_train=64, n_test=8, seed=3)
    a.step(6)
    b.step(2)
    b.train_for(10.0, max_steps=4)
    for name in MODELS:
        for pa, pb in zip(_params(a.models[name]), _params(b.models[name])):
            np.testing.assert_array_equal(pa, pb)


def test_rnn_gradient_vanishes_towards_the_first_step_and_the_lstms_does_much_less():
    """At initialisation (recurrent scale 1) with T = 50, ||dL/dh_0|| is orders of magnitude below
    ||dL/dh_49|| for the RNN; the LSTM's cell-state highway keeps far more of it."""
    r = GradientRace(T=50, n_train=64, n_test=8, seed=0)
    r.step(1)
    ratio = {m: r.layers[m].dh_norms[0] / r.layers[m].dh_norms[-1] for m in MODELS}
    assert ratio["RNN"] < 1e-2
    assert ratio["LSTM"] > 10 * ratio["RNN"]
    small = GradientRace(T=50, recurrent_scale=0.5, n_train=64, n_test=8, seed=0)
    small.step(1)
    assert small.layers["RNN"].dh_norms[0] / small.layers["RNN"].dh_norms[-1] < 1e-6


def test_large_recurrent_scale_without_clipping_explodes_and_pauses_before_the_damage():
    r = GradientRace(T=50, recurrent_scale=5.0, clip_norm=None, optimizer="sgd", n_train=64, n_test=8, seed=0)
    before = {m: _params(r.models[m]) for m in MODELS}
    with pytest.raises(ExplodingGradientError) as info:
        r.step(3)
    err = info.value
    assert isinstance(err, DivergenceError)          # the page handles both the same way
    assert err.model == "RNN" and err.step == 1 and r.step_count == 0 and r.diverged
    assert err.grad_norm > 1e4 and err.ratio > 1.0
    # nothing was updated: neither the RNN (undone) nor the LSTM (not stepped)
    for m in MODELS:
        for p, q in zip(_params(r.models[m]), before[m]):
            np.testing.assert_array_equal(p, q)
    assert r.trainers["RNN"].optimizer.state == {}
    assert r.divergence is err and r.trainers["RNN"].divergence is err and err.reason == "update_explosion"
    # the exploding gradient is in the heatmap: huge at t = 0, ordinary at the last step
    steps, norms = r.grad_heatmap("RNN")
    assert steps.tolist() == [1]
    assert norms[0, 0] > 1e4 * norms[0, -1]
    text = r.explain()
    assert text.startswith("Exploding gradients.") and "clipping" in text
    # clipping tames it: training goes on, each update is at most lr * clip
    r.clip_norm = 1.0
    r.step(10)
    assert r.step_count == 10 and not r.diverged
    for m in MODELS:
        assert all(np.all(np.isfinite(p)) for p in _params(r.models[m]))
    assert max(r.history["RNN_grad_norm"]) > 1e3     # still exploding before clipping, but harmless
    assert r.grad_steps["RNN"][:2] == [1, 2]          # the retried step 1 replaced the failed attempt


def test_adam_hides_the_explosion():
    """Adam's step is about lr per weight whatever the gradient's size: the same exploding gradient passes
    the guard (what the page says when it suggests SGD for this lesson)."""
    r = GradientRace(T=50, recurrent_scale=5.0, clip_norm=None, optimizer="adam", n_train=64, n_test=8, seed=0)
    r.step(3)
    assert r.step_count == 3 and not r.diverged
    assert min(r.history["RNN_grad_norm"]) > 1e4


def test_defaults():
    r = GradientRace(n_train=32, n_test=8)
    assert (r.T, r.hidden, r.optimizer_name, r.lr, r.clip_norm, r.forget_bias) == (40, 16, "adam", 1e-2, 1.0, 3.0)
    assert r.trainers["RNN"].batch_size == 32 and r.n_classes == 8 and r.chance == 1 / 8
    assert GradientRace(optimizer="sgd", n_train=32, n_test=8).lr == 0.1


@pytest.mark.slow
def test_lstm_learns_the_memory_task_while_the_rnn_lags_far_behind():
    """The page's claim, natively with the page's defaults (T = 40, seed 0): after 250 steps the LSTM
    recalls the first symbol almost always and the RNN is still near chance (measured: LSTM 1.00, RNN
    0.15 at 200 steps, 1.00 / 0.12 at 300; chance 0.125). The browser test asserts the same thresholds."""
    r = GradientRace()
    r.step(250)
    e = r.evaluate()
    assert e["LSTM_acc"] >= 0.85
    assert e["LSTM_acc"] - e["RNN_acc"] >= 0.3


def test_taking_the_exploding_step_anyway_wrecks_the_rnn():
    r = GradientRace(T=50, recurrent_scale=5.0, clip_norm=None, optimizer="sgd", n_train=64, n_test=8, seed=0)
    with pytest.raises(ExplodingGradientError):
        r.step(1)
    wh_before = np.linalg.norm(r.layers["RNN"].params["Wh"])
    r.step(1, guard=False)
    assert r.step_count == 1 and not r.diverged
    assert np.linalg.norm(r.layers["RNN"].params["Wh"]) > 1e3 * wh_before
    r.step(3, guard=False)
    # every unit saturated: tanh' = 0, so no gradient reaches the early steps any more
    assert r.layers["RNN"].dh_norms[0] == 0.0
    assert np.abs(r.layers["RNN"].hiddens).min() > 0.999


def test_a_real_nan_raises_the_trainers_divergence_error():
    r = GradientRace(T=8, n_train=32, n_test=8)
    r.trainers["RNN"].X = np.full_like(r.X_train, np.nan)
    with pytest.raises(DivergenceError) as info:
        r.step(1)
    assert not isinstance(info.value, ExplodingGradientError)
    assert info.value.model == "RNN" and r.diverged
    assert r.explain().startswith("Training diverged at step 1")


def test_lock_step_after_a_failure_of_the_second_model():
    r = GradientRace(T=8, n_train=32, n_test=8)
    r.step(2)
    r.trainers["LSTM"].X = np.full_like(r.X_train, np.nan)     # the trainers share X_train: replace, not fill
    with pytest.raises(DivergenceError):
        r.step(1)
    assert r.trainers["RNN"].step_count == 3 and r.trainers["LSTM"].step_count == 2 and r.step_count == 2
    r.trainers["LSTM"].X = r.X_train
    r.step(1)                                            # completes step 3 for the LSTM only
    assert r.trainers["RNN"].step_count == 3 and r.trainers["LSTM"].step_count == 3
    assert r.history["step"] == [1, 2, 3]


def test_recover_after_an_explosion_goes_back_and_trains_with_clipping():
    r = GradientRace(T=30, recurrent_scale=5.0, clip_norm=1.0, optimizer="sgd", n_train=64, n_test=8, seed=0)
    r.step(12)
    r.evaluate()
    r.clip_norm = None
    with pytest.raises(ExplodingGradientError):
        r.step(5)
    assert r.diverged and r.divergence.model == "RNN"
    start = r.recover(clip_norm=1.0)
    assert start == 0 and r.step_count == 0 and not r.diverged and r.divergence is None
    assert r.history["step"] == [] and r.evals["step"] == [] and r.grad_steps["RNN"] == []
    r.step(3)
    assert r.step_count == 3 and r.history["step"] == [1, 2, 3] and r.clip_norm == 1.0


def test_explain_ordinary_divergence_mentions_the_learning_rate():
    err = DivergenceError(4, "loss", float("nan"))
    text = explain_divergence(err, model="LSTM", clip_norm=1.0, recurrent_scale=1.0, T=20, lr=0.3)
    assert "step 4" in text and "LSTM" in text and "0.3" in text and "Clipping is on at 1" in text


def test_gates_are_the_layers_values():
    r = GradientRace(T=9, hidden=5, n_train=32, n_test=8, seed=2)
    r.step(3)
    g = r.gates(4)
    lstm = r.layers["LSTM"]
    Wx, Wh, b = lstm.params["Wx"], lstm.params["Wh"], lstm.params["b"]
    H = 5
    h, c = np.zeros(H), np.zeros(H)
    for t, x_t in enumerate(r.X_test[4]):
        a = x_t @ Wx + h @ Wh + b
        i, f, o, gg = _sigmoid(a[:H]), _sigmoid(a[H:2 * H]), _sigmoid(a[2 * H:3 * H]), np.tanh(a[3 * H:])
        c = f * c + i * gg
        h = o * np.tanh(c)
        for k, v in zip("ifog", (i, f, o, gg)):
            np.testing.assert_allclose(g["gates"][k][t], v, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g["c"][t], c, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g["h"][t], h, rtol=1e-12, atol=1e-14)
    assert g["label"] == r.y_test[4] and g["step"] == 3
    np.testing.assert_allclose(g["probs"].sum(), 1.0)


def test_live_settings_and_bad_input():
    r = GradientRace(T=6, n_train=32, n_test=8)
    r.clip_norm = None
    assert all(tr.clip_norm is None for tr in r.trainers.values())
    r.clip_norm = 2.0
    r.lr = 0.03
    assert all(tr.clip_norm == 2.0 and tr.optimizer.lr == 0.03 for tr in r.trainers.values())
    assert GradientRace(**r.settings).settings == r.settings
    with pytest.raises(ValueError, match="T"):
        GradientRace(T=101)
    with pytest.raises(ValueError, match="T"):
        GradientRace(T=2)
    with pytest.raises(ValueError, match="recurrent_scale"):
        GradientRace(recurrent_scale=-1.0)
    with pytest.raises(ValueError, match="optimizer"):
        GradientRace(optimizer="lbfgs")
    with pytest.raises(ValueError, match="clip_norm"):
        r.clip_norm = 0.0
    with pytest.raises(ValueError, match="model"):
        r.grad_heatmap("GRU")
    with pytest.raises(ValueError, match="index"):
        r.gates(8)


def test_the_section_draws_these_values():
    """The page's heatmaps are log10 of the layers' dh_norms; its gate heatmaps are the LSTM's gates."""
    pytest.importorskip("panel")
    from pyfadml.app.rnn import RNNSection

    s = RNNSection()
    s.race.seq_len = 10
    for _ in range(3):
        s.race.live.step()
    r = s.race.demo
    assert s.race.colour == "relative"                 # issue 13, item 4: the honest scale is the default
    for name in MODELS:
        steps, norms = r.grad_heatmap(name)
        _, rel = r.grad_heatmap(name, relative=True)
        np.testing.assert_allclose(s.race._heat_src[name].data["image"][0], np.log10(rel).astype(np.float32))
        np.testing.assert_array_equal(norms[-1], r.layers[name].dh_norms)
        assert f'data-{name.lower()}-reach="{r.reach(name)!r}"' in s.race._stats.object
    s.race.colour = "absolute"
    for name in MODELS:
        steps, norms = r.grad_heatmap(name)
        np.testing.assert_allclose(s.race._heat_src[name].data["image"][0], np.log10(norms).astype(np.float32))
    assert (s.race._log_mapper.low, s.race._log_mapper.high) == (-8.0, 4.0)
    assert 'data-colour="absolute"' in s.race._stats.object
    g = r.gates(int(s.gates.example))
    for k in "ifo":
        np.testing.assert_array_equal(s.gates._src[k].data["image"][0], g["gates"][k].T.astype(np.float32))
    np.testing.assert_array_equal(s.gates._src["c"].data["image"][0], g["c"].T.astype(np.float32))
    assert f'data-rnn-acc="{r.evals["RNN_acc"][-1]!r}"' in s.race._stats.object


def test_grad_heatmap_spreads_its_rows_over_the_whole_run():
    r = GradientRace(T=8, n_train=64, n_test=16)
    r.step(7)
    steps, norms = r.grad_heatmap("RNN", max_rows=3, spread=True)
    assert steps.tolist() == [1, 4, 7] and norms.shape == (3, 8)
    np.testing.assert_array_equal(norms, np.stack([r.grad_rows["RNN"][i] for i in (0, 3, 6)]))
    assert r.grad_heatmap("RNN", max_rows=3)[0].tolist() == [5, 6, 7]


def test_describe_says_the_lesson_settings():
    r = GradientRace(T=8, recurrent_scale=5.0, optimizer="sgd", clip_norm=None, n_train=64, n_test=16)
    assert r.describe() == (f"T = 8, RNN recurrent scale 5, SGD with learning rate 0.1, no clipping; chance is "
                            f"{r.chance:.1%}.")


def test_grad_norms_are_the_latest_steps_or_the_refused_one():
    r = GradientRace(T=8, n_train=64, n_test=16)
    assert all(step == 0 and math.isnan(v) for step, v in r.grad_norms().values())
    r.step(2)
    assert r.grad_norms() == {m: (2, r.history[f"{m}_grad_norm"][-1]) for m in ("RNN", "LSTM")}
    boom = GradientRace(T=20, recurrent_scale=5.0, optimizer="sgd", clip_norm=None, n_train=64, n_test=16)
    with pytest.raises(ExplodingGradientError) as info:
        boom.step(5)
    err = info.value
    assert boom.grad_norms(err)[err.model] == (err.step, float(err.grad_norm))
