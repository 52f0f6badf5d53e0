"""Trainer: one mini-batch per step, shuffling, metrics, clipping, history, callbacks, divergence, seeds."""
import numpy as np
import pytest

from pyfadml import (
    RNN, SGD, VAE, Adam, Autoencoder, Dense, DivergenceError, ReLU, Sequential, Trainer,
    half_squared_error,
)
from pyfadml.optim import grad_norm
from pyfadml.train import accuracy


def blobs(n=120, seed=0):
    """Two well separated Gaussian blobs in 2-D, labels 0/1."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.standard_normal((n, 2)) * 0.5 + np.where(y[:, None] == 1, 2.0, -2.0)
    return X, y


def small_mlp(seed=0, n_out=2):
    rng = np.random.default_rng(seed)
    return Sequential([Dense(2, 16, rng=rng, init="he"), ReLU(), Dense(16, 16, rng=rng, init="he"), ReLU(),
                       Dense(16, n_out, rng=rng)])


def params_copy(model):
    return {name: p.copy() for name, p, _ in model.parameters()}


# ---------------------------------------------------------------- step / fit / history
def test_step_returns_a_record_and_updates_params():
    X, y = blobs()
    model = small_mlp()
    before = params_copy(model)
    tr = Trainer(model, "cross_entropy", Adam(lr=0.01), X, y, batch_size=16, rng=0)
    rec = tr.step()
    assert set(rec) == {"step", "loss", "accuracy", "grad_norm"}
    assert rec["step"] == 1 and tr.step_count == 1
    assert isinstance(rec["loss"], float) and rec["loss"] > 0
    assert 0.0 <= rec["accuracy"] <= 1.0
    assert rec["grad_norm"] > 0
    assert any(not np.array_equal(before[n], p) for n, p, _ in model.parameters())
    assert tr.history == {k: [v] for k, v in rec.items()}


def test_the_record_is_the_loss_and_gradient_norm_of_that_batch():
    """Re-run the step by hand on the same batch: same loss, same grad norm, same update."""
    X, y = blobs()
    model, twin = small_mlp(), small_mlp()
    tr = Trainer(model, "cross_entropy", SGD(lr=0.1), X, y, batch_size=10, rng=4)
    rec = tr.step()
    idx = np.random.default_rng(4).permutation(len(X))[:10]
    from pyfadml import softmax_cross_entropy
    loss, dout = softmax_cross_entropy(twin.forward(X[idx]), y[idx])
    twin.backward(dout)
    assert rec["loss"] == loss
    assert rec["grad_norm"] == grad_norm(twin.parameters())
    SGD(lr=0.1).step(twin.parameters())
    for (n, p, _), (_, q, _) in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(p, q, err_msg=n)


def test_fit_runs_steps_and_returns_history():
    X, y = blobs()
    tr = Trainer(small_mlp(), "cross_entropy", Adam(lr=0.01), X, y, batch_size=32, rng=0)
    hist = tr.fit(25)
    assert hist is tr.history
    assert hist["step"] == list(range(1, 26))
    assert all(len(v) == 25 for v in hist.values())
    assert tr.fit(0) is hist and len(hist["loss"]) == 25
    tr.fit(5)
    assert hist["step"][-1] == 30


def test_training_learns_a_separable_problem():
    X, y = blobs(200)
    tr = Trainer(small_mlp(), "cross_entropy", Adam(lr=0.01), X, y, batch_size=32, rng=0)
    tr.fit(150)
    assert np.mean(tr.history["loss"][-10:]) < 0.1 * tr.history["loss"][0]
    assert tr.evaluate(X, y)["accuracy"] > 0.97


def test_each_epoch_is_a_fresh_permutation_of_the_data():
    n, bs = 10, 4
    X = np.arange(n, dtype=float)[:, None]
    seen = []

    def spy_loss(pred, target):
        seen.append(target[:, 0].astype(int).tolist())
        return half_squared_error(pred, target)

    tr = Trainer(Sequential([Dense(1, 1, rng=0)]), spy_loss, SGD(lr=1e-3), X, X.copy(), batch_size=bs, rng=3)
    assert tr.steps_per_epoch == 3
    tr.fit(6)
    assert [len(b) for b in seen] == [4, 4, 2, 4, 4, 2]  # one mini-batch per step, the last one smaller
    epoch1 = sum(seen[:3], [])
    epoch2 = sum(seen[3:], [])
    assert sorted(epoch1) == list(range(n)) and sorted(epoch2) == list(range(n))
    assert epoch1 != epoch2
    assert epoch1 == np.random.default_rng(3).permutation(n).tolist()
    assert tr.epoch == 1


def test_batch_larger_than_the_data_uses_all_of_it():
    X, y = blobs(10)
    tr = Trainer(small_mlp(), "cross_entropy", Adam(), X, y, batch_size=64, rng=0)
    tr.step()
    assert tr.steps_per_epoch == 1


def test_batch_size_can_change_between_steps():
    X, y = blobs(40)
    sizes = []

    def spy(pred, target):
        sizes.append(len(target))
        from pyfadml import softmax_cross_entropy
        return softmax_cross_entropy(pred, target)

    tr = Trainer(small_mlp(), spy, Adam(), X, y, batch_size=8, rng=0)
    tr.step()
    tr.batch_size = 16
    assert tr.steps_per_epoch == 3
    tr.step()
    assert sizes == [8, 16]
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        tr.batch_size = 0


def test_callbacks_get_trainer_and_record_after_each_step():
    X, y = blobs()
    calls = []
    tr = Trainer(small_mlp(), "cross_entropy", Adam(), X, y, rng=0,
                 callbacks=[lambda t, r: calls.append((t, dict(r)))])
    tr.fit(3)
    assert [c[1]["step"] for c in calls] == [1, 2, 3]
    assert all(c[0] is tr for c in calls)
    assert calls[-1][1]["loss"] == tr.history["loss"][-1]


def test_a_callback_may_stop_nothing_but_can_read_and_change_lr():
    X, y = blobs()
    opt = SGD(lr=0.1)

    def decay(trainer, record):
        trainer.optimizer.lr *= 0.5

    Trainer(small_mlp(), "cross_entropy", opt, X, y, rng=0, callbacks=decay).fit(3)
    assert opt.lr == pytest.approx(0.1 / 8)


# ---------------------------------------------------------------- metrics
def test_accuracy_function():
    out = np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    assert accuracy(out, np.array([0, 1, 1]), "cross_entropy") == pytest.approx(2 / 3)
    seq = np.zeros((2, 3, 4))
    seq[..., 2] = 1.0
    assert accuracy(seq, np.array([[2, 2, 2], [2, 0, 1]]), "cross_entropy") == pytest.approx(4 / 6)
    logits = np.array([[0.5], [-0.2], [3.0], [-1.0]])
    assert accuracy(logits, np.array([1, 0, 0, 0]), "bce_logits") == pytest.approx(3 / 4)
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\)"):
        accuracy(out, np.array([0, 1]), "cross_entropy")


def test_sequence_labels_accuracy_with_a_many_to_many_rnn():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 6, 1))
    y = (X[..., 0] > 0).astype(int)  # label each time step by the sign of its input
    model = Sequential([RNN(1, 8, return_sequences=True, rng=rng), Dense(8, 2, rng=rng)])
    tr = Trainer(model, "cross_entropy", Adam(lr=0.03), X, y, batch_size=20, rng=1)
    rec = tr.step()
    assert 0.0 <= rec["accuracy"] <= 1.0
    tr.fit(60)
    assert tr.evaluate(X, y)["accuracy"] > 0.9


def test_binary_logits_metrics():
    X, y = blobs()
    tr = Trainer(small_mlp(n_out=1), "bce_logits", Adam(lr=0.01), X, y, rng=0)
    tr.fit(60)
    assert tr.evaluate(X, y)["accuracy"] > 0.95


def test_metrics_default_to_none_for_regression_and_can_be_switched_off():
    X = np.random.default_rng(0).random((32, 6))
    tr = Trainer(Autoencoder(6, 2, rng=0), "half_se", Adam(), X, X, rng=0)
    assert set(tr.step()) == {"step", "loss", "grad_norm"}
    X2, y2 = blobs()
    tr2 = Trainer(small_mlp(), "cross_entropy", Adam(), X2, y2, rng=0, metrics=())
    assert "accuracy" not in tr2.step()


# ---------------------------------------------------------------- VAE / aux loss
def test_vae_total_loss_is_recon_plus_beta_kl_and_parts_are_recorded():
    X = np.random.default_rng(0).random((64, 8))
    vae = VAE(8, 2, hidden=(6,), beta=0.5, rng=0)
    tr = Trainer(vae, "half_se", Adam(lr=0.01), X, X, batch_size=16, rng=0)
    rec = tr.step()
    assert {"recon", "kl"} <= set(rec)
    assert rec["loss"] == pytest.approx(rec["recon"] + 0.5 * rec["kl"])
    tr.fit(10)
    assert len(tr.history["kl"]) == 11


# ---------------------------------------------------------------- validation, evaluate
def test_evaluate_is_eval_mode_and_touches_nothing():
    X = np.random.default_rng(0).random((50, 8))
    vae = VAE(8, 2, rng=0)
    tr = Trainer(vae, "half_se", Adam(), X, X, rng=0)
    before = params_copy(vae)
    rng_state = tr.rng.bit_generator.state
    vae_rng_state = vae.rng.bit_generator.state
    r1 = tr.evaluate(X, X, batch_size=7)
    r2 = tr.evaluate(X, X)
    assert r1["loss"] == pytest.approx(r2["loss"])  # chunking does not change the average
    assert vae.training
    assert tr.rng.bit_generator.state == rng_state and vae.rng.bit_generator.state == vae_rng_state
    for n, p, _ in vae.parameters():
        np.testing.assert_array_equal(before[n], p)


def test_validation_is_recorded_once_per_epoch_by_default():
    X, y = blobs(64)
    Xv, yv = blobs(30, seed=1)
    tr = Trainer(small_mlp(), "cross_entropy", Adam(lr=0.01), X, y, batch_size=16, rng=0, X_val=Xv, y_val=yv)
    records = [tr.step() for _ in range(8)]
    assert tr.val_history["step"] == [4, 8]
    assert set(tr.val_history) == {"step", "loss", "accuracy"} and len(tr.val_history["accuracy"]) == 2
    assert "val_loss" in records[3] and "val_loss" not in records[2]
    assert records[7]["val_loss"] == tr.val_history["loss"][-1]
    assert tr.val_history["loss"][-1] == pytest.approx(tr.evaluate(Xv, yv)["loss"])
    assert "val_loss" not in tr.history and tr.history["step"] == list(range(1, 9))   # one row shape
    tr2 = Trainer(small_mlp(), "cross_entropy", Adam(), X, y, rng=0, X_val=Xv, y_val=yv, eval_every=3)
    tr2.fit(7)
    assert tr2.val_history["step"] == [3, 6]


# ---------------------------------------------------------------- clipping
def test_clip_norm_reports_the_norm_before_and_limits_the_update():
    X, y = blobs()
    model = small_mlp()
    before = params_copy(model)
    tr = Trainer(model, "cross_entropy", SGD(lr=1.0), X, y, rng=0, clip_norm=1e-3)
    rec = tr.step()
    assert rec["grad_norm"] > 1e-3
    step = np.sqrt(sum(np.sum((p - before[n]) ** 2) for n, p, _ in model.parameters()))
    assert step == pytest.approx(1e-3)


# ---------------------------------------------------------------- divergence
def regression_data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    return X, X[:, :1] * X[:, 1:]


def max_abs(model):
    return max(float(np.abs(p).max()) for _, p, _ in model.parameters())


@pytest.mark.parametrize("loss, data, n_out", [("mse", regression_data, 1), ("cross_entropy", blobs, 2)])
def test_sgd_at_lr_1e6_is_refused_before_it_touches_the_weights(loss, data, n_out):
    """Before: with mse the error came at step 3 with |W| ~ 1e34 kept; with cross-entropy it never came
    (|W| ~ 1e46 after 100 steps). Now the first update is refused: the weights are the initial ones."""
    X, y = data()
    model = small_mlp(n_out=n_out)
    before = params_copy(model)
    tr = Trainer(model, loss, SGD(lr=1e6), X, y, rng=0)
    with pytest.raises(DivergenceError) as info:
        tr.fit(100)
    err = info.value
    assert (err.step, err.reason, err.quantity, err.last_good_step) == (1, "update_explosion", "the update", 0)
    assert err.ratio > 1e4 and err.limit == 10.0 and err.grad_norm > 0 and err.weight_norm > 0
    msg = str(err)
    assert msg.startswith("Training diverged at step 1: the update would move the weights by")
    assert "learning rate" in msg and "clipping" in msg and msg.count(". ") <= 2
    assert tr.diverged and tr.divergence is err and tr.step_count == 0 and tr.history["step"] == []
    for n, p, _ in model.parameters():
        np.testing.assert_array_equal(before[n], p)
    assert max_abs(model) < 3


def test_a_loss_explosion_is_caught_while_the_weights_are_still_finite():
    X, y = regression_data()
    model = small_mlp(n_out=1)
    tr = Trainer(model, "mse", SGD(lr=10.0), X, y, rng=0, max_update_ratio=None)
    with pytest.raises(DivergenceError) as info:
        tr.fit(100)
    err = info.value
    assert err.reason == "loss_explosion" and err.quantity == "loss" and err.ratio > 1e3 and err.limit == 1e3
    assert err.value == pytest.approx(err.ratio * tr.history["loss"][0])
    assert "times its starting level" in str(err)
    assert max_abs(model) < 1e3 and all(np.all(np.isfinite(p)) for _, p, _ in model.parameters())


def test_a_refused_step_leaves_weights_optimizer_state_and_batch_position_as_they_were():
    X, y = blobs()
    for opt in (SGD(lr=0.1, momentum=0.9), Adam(lr=0.01)):
        model = small_mlp()
        tr = Trainer(model, "cross_entropy", opt, X, y, batch_size=16, rng=0)
        tr.fit(3)
        weights = params_copy(model)
        state = {k: {n: a.copy() for n, a in st.items()} for k, st in opt.state.items()}
        t = getattr(opt, "t", None)
        batches = []
        tr.callbacks = [lambda t_, r: batches.append(t_.last_batch.copy())]
        opt.lr = 1e9
        with pytest.raises(DivergenceError, match="update would move"):
            tr.step()
        refused = tr.last_batch.copy()
        for n, p, _ in model.parameters():
            np.testing.assert_array_equal(weights[n], p)
        assert getattr(opt, "t", None) == t and opt.state.keys() == state.keys()
        for k, st in opt.state.items():
            for n, a in st.items():
                np.testing.assert_array_equal(a, state[k][n])
        opt.lr = 0.01                       # the retry takes the batch that was refused
        tr.step()
        np.testing.assert_array_equal(batches[-1], refused)
        assert not tr.diverged and tr.step_count == 4


def test_recover_with_a_smaller_learning_rate_trains_again():
    X, y = regression_data()
    model = small_mlp(n_out=1)
    tr = Trainer(model, "mse", SGD(lr=1e6), X, y, rng=0)
    with pytest.raises(DivergenceError):
        tr.fit(100)
    # without recover, the same step is refused again: nothing changed
    with pytest.raises(DivergenceError):
        tr.step()
    assert tr.recover(lr=0.01) == 0
    assert not tr.diverged and tr.divergence is None and tr.optimizer.lr == 0.01 and tr.step_count == 0
    tr.fit(150)
    loss = tr.history["loss"]
    assert tr.history["step"] == list(range(1, 151))
    assert np.mean(loss[-10:]) < 0.5 * loss[0]


@pytest.mark.parametrize("loss, data, n_out, lr", [("cross_entropy", blobs, 2, 100.0), ("mse", regression_data, 1, 10.0)])
def test_recover_with_clipping_trains_again(loss, data, n_out, lr):
    X, y = data()
    tr = Trainer(small_mlp(n_out=n_out), loss, SGD(lr=lr), X, y, rng=0)
    with pytest.raises(DivergenceError):
        tr.fit(50)
    assert tr.recover(clip_norm=0.01) == 0
    assert tr.clip_norm == 0.01 and tr.optimizer.lr == lr
    tr.fit(100)
    assert np.mean(tr.history["loss"][-10:]) < 0.5 * tr.history["loss"][0]


def test_recover_goes_back_to_the_checkpoint_and_replays_the_same_batches():
    """Checkpoints every 10 steps; one becomes the last good one after 10 more good steps. recover() restores
    its weights and the mini-batch order exactly, so (plain SGD, no state) the run repeats bit for bit."""
    X, y = blobs()
    model = small_mlp()
    tr = Trainer(model, "cross_entropy", SGD(lr=0.1), X, y, batch_size=16, rng=0, X_val=X[:20], y_val=y[:20],
                 eval_every=4)
    assert tr.checkpoint_every == 10 and tr.last_good_step == 0
    tr.fit(10)
    assert tr.last_good_step == 0
    at10 = params_copy(model)
    tr.fit(15)
    assert tr.last_good_step == 10
    loss_11_to_25 = tr.history["loss"][10:]
    opt_lr = tr.optimizer.lr
    assert tr.recover() == 10
    assert tr.step_count == 10 and tr.history["step"] == list(range(1, 11)) and tr.val_history["step"] == [4, 8]
    assert tr.optimizer.lr == opt_lr
    for n, p, _ in model.parameters():
        np.testing.assert_array_equal(at10[n], p)
    tr.fit(15)
    assert tr.history["loss"][10:] == loss_11_to_25
    assert tr.val_history["step"] == [4, 8, 12, 16, 20, 24]


def test_recover_and_clip_norm_refuse_bad_values_and_change_nothing():
    tr = make()
    tr.fit(2)
    for kwargs, exc in (({"lr": -1.0}, ValueError), ({"lr": "big"}, TypeError), ({"clip_norm": 0.0}, ValueError),
                        ({"clip_norm": "1"}, TypeError)):
        with pytest.raises(exc, match="recover"):
            tr.recover(**kwargs)
        assert tr.step_count == 2
    with pytest.raises(ValueError, match="clip_norm must be > 0"):
        tr.clip_norm = -1.0
    tr.clip_norm = 2
    assert tr.clip_norm == 2.0
    tr.clip_norm = None
    assert tr.recover(lr=0.5, clip_norm=3.0) == 0 and (tr.optimizer.lr, tr.clip_norm) == (0.5, 3.0)
    assert tr.recover(clip_norm=None) == 0 and tr.clip_norm is None
    with pytest.raises(ValueError, match="max_update_ratio"):
        make(max_update_ratio=0.0)
    with pytest.raises(ValueError, match="max_loss_ratio"):
        make(max_loss_ratio=0.5)


def test_nan_in_the_data_is_refused_when_the_trainer_is_made():
    X, y = blobs(8)
    X[3, 0] = np.nan
    with pytest.raises(ValueError, match=r"Trainer: X contains 1 NaN or inf value\(s\)"):
        Trainer(small_mlp(), "cross_entropy", Adam(), X, y, rng=0)


def test_a_nan_that_appears_later_is_caught_at_that_step_with_params_untouched():
    X, y = blobs(8)
    model = small_mlp()
    before = params_copy(model)
    tr = Trainer(model, "cross_entropy", Adam(), X, y, batch_size=8, rng=0)
    tr.X = X.copy()
    tr.X[3, 0] = np.nan
    with pytest.raises(DivergenceError, match=r"Training diverged at step 1: loss is nan") as info:
        tr.step()
    assert info.value.reason == "nonfinite"
    assert tr.diverged and tr.step_count == 0 and tr.history["step"] == []
    for n, p, _ in model.parameters():
        np.testing.assert_array_equal(before[n], p)


def test_a_nonfinite_gradient_is_caught_before_the_update():
    X, y = blobs(8)
    model = small_mlp()
    before = params_copy(model)

    def bad_grad_loss(pred, target):
        g = np.zeros_like(pred)
        g[0, 0] = np.inf
        return 1.0, g

    tr = Trainer(model, bad_grad_loss, Adam(), X, y, rng=0, metrics=())
    with pytest.raises(DivergenceError, match=r"step 1: the gradient of \d\.[Wb] is (nan|inf)"):
        tr.step()
    assert tr.optimizer.state == {}
    for n, p, _ in model.parameters():
        np.testing.assert_array_equal(before[n], p)


# ---------------------------------------------------------------- reproducibility
def run(seed_model, seed_trainer, model_fn, loss, X, y, steps=30):
    model = model_fn(seed_model)
    tr = Trainer(model, loss, Adam(lr=0.01), X, y, batch_size=16, rng=seed_trainer)
    tr.fit(steps)
    return tr.history, params_copy(model)


@pytest.mark.parametrize("kind", ["mlp", "vae"])
def test_a_seeded_run_repeats_bit_for_bit(kind):
    if kind == "mlp":
        X, y = blobs()
        args = (small_mlp, "cross_entropy", X, y)
    else:
        X = np.random.default_rng(0).random((80, 8))
        args = (lambda s: VAE(8, 2, hidden=(6,), rng=s), "half_se", X, X)
    h1, p1 = run(1, 2, *args)
    h2, p2 = run(1, 2, *args)
    assert h1 == h2  # exact float equality, list by list
    for n in p1:
        np.testing.assert_array_equal(p1[n], p2[n])
    h3, _ = run(1, 3, *args)  # another shuffling seed: another run
    assert h3["loss"] != h1["loss"]


def test_float32_training():
    X, y = blobs()
    model = small_mlp().astype(np.float32)
    tr = Trainer(model, "cross_entropy", Adam(lr=0.01), X, y, rng=0)
    tr.fit(20)
    assert all(p.dtype == np.float32 for _, p, _ in model.parameters())
    assert tr.evaluate(X, y)["accuracy"] > 0.9


def test_optimizer_by_name():
    X, y = blobs()
    tr = Trainer(small_mlp(), "cross_entropy", "momentum", X, y, rng=0)
    assert isinstance(tr.optimizer, SGD) and tr.optimizer.momentum == 0.9
    tr.step()


# ---------------------------------------------------------------- bad input
def make(**overrides):
    X, y = blobs(20)
    kwargs = dict(model=small_mlp(), loss="cross_entropy", optimizer=Adam(), X=X, y=y, rng=0)
    kwargs.update(overrides)
    args = [kwargs.pop(k) for k in ("model", "loss", "optimizer", "X", "y")]
    return Trainer(*args, **kwargs)


@pytest.mark.parametrize("overrides, exc, match", [
    ({"model": Dense(2, 2, rng=0).forward}, TypeError, r"model must have a forward\(\) method"),
    ({"loss": "hinge"}, ValueError, "unknown loss name 'hinge'"),
    ({"loss": 3}, TypeError, "loss must be a loss name or a function"),
    ({"optimizer": "rmsprop"}, ValueError, "unknown optimizer name"),
    ({"optimizer": object()}, TypeError, "optimizer must be an Optimizer"),
    ({"y": np.zeros(19, dtype=int)}, ValueError, r"y must have one entry per sample \(20\), got shape \(19,\)"),
    ({"X": np.zeros(20)}, ValueError, r"X must be \(N, \.\.\.\) with N >= 1 samples, got shape \(20,\)"),
    ({"X": np.array(["a"] * 20)}, TypeError, "X must hold numbers"),
    ({"batch_size": 0}, ValueError, "batch_size must be >= 1, got 0"),
    ({"batch_size": 2.5}, TypeError, "batch_size must be an int"),
    ({"rng": "seed"}, TypeError, "Trainer: rng"),
    ({"clip_norm": -1.0}, ValueError, "clip_norm must be > 0"),
    ({"metrics": ("f1",)}, ValueError, "unknown metric 'f1'"),
    ({"metrics": "accuracy"}, TypeError, "metrics must be a tuple"),
    ({"loss": "mse", "metrics": ("accuracy",)}, ValueError, "metrics .* need a classification loss"),
    ({"callbacks": [print, 3]}, TypeError, r"callbacks\[1\] must be callable"),
    ({"X_val": np.zeros((3, 2))}, ValueError, "give both X_val and y_val"),
    ({"X_val": np.zeros((3, 2)), "y_val": np.zeros(2)}, ValueError, "y_val must have one entry per sample"),
    ({"eval_every": 0}, ValueError, "eval_every must be >= 1"),
])
def test_bad_trainer_arguments(overrides, exc, match):
    with pytest.raises(exc, match=match):
        make(**overrides)


def test_bad_fit_and_evaluate_arguments():
    tr = make()
    with pytest.raises(ValueError, match="steps must be >= 0"):
        tr.fit(-1)
    with pytest.raises(TypeError, match="steps must be an int"):
        tr.fit(2.0)
    with pytest.raises(ValueError, match="evaluate: y must have one entry per sample"):
        tr.evaluate(np.zeros((4, 2)), np.zeros(3))


def test_labels_out_of_range_surface_from_the_loss():
    X, y = blobs(20)
    y[0] = 5
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        make(y=y, batch_size=20).step()


def test_train_for_takes_at_least_one_step_and_respects_max_steps():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 2))
    y = (X[:, 0] > 0).astype(int)
    model = Sequential([Dense(2, 4, rng=rng), ReLU(), Dense(4, 2, rng=rng)])
    trainer = Trainer(model, "cross_entropy", "adam", X, y, batch_size=8, rng=1)
    assert trainer.train_for(0.0) == 1                      # a zero budget still takes one step
    assert trainer.train_for(60.0, max_steps=5) == 5        # max_steps ends it long before the clock
    assert trainer.step_count == 6
    assert trainer.train_for(60.0, max_steps=0) == 0
    with pytest.raises(ValueError, match="seconds"):
        trainer.train_for(-1.0)
