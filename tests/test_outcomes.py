"""Outcomes: the library's models, trained on its own datasets, do what the lecture says they can.

Each test trains a small model to an accuracy target with fixed seeds, so a pass is reproducible bit for bit
on a given platform. They are marked ``slow`` (run them alone with ``pytest -m slow``); the whole file takes
well under two minutes on two idle cores.
"""
import numpy as np
import pytest

from pyfadml import (
    LSTM, RNN, VAE, Adam, Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential, Tanh, Trainer,
)
from pyfadml.data import (
    load_digits, make_memory_task, make_shapes, make_spiral, make_xor, memory_task_chance, train_test_split,
)

pytestmark = pytest.mark.slow


def fit(model, X, y, steps, *, lr, seed, loss="cross_entropy", batch_size=32, clip_norm=None):
    trainer = Trainer(model, loss, Adam(lr=lr), X, y, batch_size=batch_size, rng=seed, clip_norm=clip_norm)
    trainer.fit(steps)
    return trainer


def accuracy(model, X, y):
    return float(np.mean(model.predict(X).argmax(axis=-1) == y))


# --------------------------------------------------------------------------------------------- MLP

def test_mlp_separates_xor():
    X, y = make_xor(200, noise=0.15, rng=0)
    model = Sequential([Dense(2, 8, rng=1), Tanh(), Dense(8, 2, rng=2)])
    fit(model, X, y, 300, lr=0.05, seed=3)
    assert accuracy(model, X, y) >= 0.99


def test_mlp_separates_the_spiral():
    X, y = make_spiral(300, noise=0.03, n_classes=3, rng=0)
    model = Sequential([Dense(2, 64, init="he", rng=1), ReLU(), Dense(64, 64, init="he", rng=2), ReLU(),
                        Dense(64, 3, rng=3)])
    fit(model, X, y, 1500, lr=0.01, seed=4)
    assert accuracy(model, X, y) >= 0.99


def test_a_single_layer_cannot_separate_xor():
    """The contrast that motivates hidden layers: a linear classifier stays near chance on XOR."""
    X, y = make_xor(200, noise=0.15, rng=0)
    model = Sequential([Dense(2, 2, rng=1)])
    fit(model, X, y, 300, lr=0.05, seed=3)
    assert accuracy(model, X, y) <= 0.75


# --------------------------------------------------------------------------------------------- CNN

def test_cnn_recognises_shapes_under_all_variations():
    X, y = make_shapes(1600, size=16, rng=0)          # orientation, brightness, occlusion, shades, shift, noise
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_fraction=0.25, rng=1)
    model = Sequential([
        Conv2D(1, 8, 3, padding=1, rng=2), ReLU(), MaxPool2D(2),          # 8 x 8 x 8
        Conv2D(8, 16, 3, padding=1, rng=3), ReLU(), MaxPool2D(2),         # 16 x 4 x 4
        Flatten(), Dense(16 * 4 * 4, 64, init="he", rng=4), ReLU(), Dense(64, 6, rng=6),
    ])
    trainer = fit(model, X_tr, y_tr, 600, lr=3e-3, seed=5)
    trainer.optimizer.lr = 1e-3                       # a smaller final step size settles the weights
    trainer.fit(200)
    assert accuracy(model, X_te, y_te) >= 0.95


def test_cnn_reads_digits():
    X, y = load_digits(rng=0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_fraction=0.25, rng=1)
    model = Sequential([Conv2D(1, 8, 3, padding=1, rng=2), ReLU(), MaxPool2D(2), Flatten(),
                        Dense(8 * 4 * 4, 10, rng=3)])
    fit(model, X_tr, y_tr, 500, lr=3e-3, seed=4)
    assert accuracy(model, X_te, y_te) >= 0.90


# --------------------------------------------------------------------------------------------- RNN vs LSTM

def test_lstm_remembers_the_first_symbol_where_a_vanilla_rnn_does_not():
    """Recall the first of 8 symbols after T = 70 steps of distractors from the same alphabet.

    Same data, same mini-batch order, same Adam (lr 3e-3), same global-norm clipping (1.0), same hidden
    size (32) and the same 600 steps for both. The LSTM's forget-gate bias starts at 3 (sigmoid(3) = 0.95),
    a standard initialisation; the RNN has its own standard one (orthogonal Wh, scale 1). Why this task
    and this T: see :func:`pyfadml.data.make_memory_task`.
    """
    T, steps = 70, 600
    X, y = make_memory_task(2000, T=T, n_symbols=8, rng=0)
    X_te, y_te = make_memory_task(1000, T=T, n_symbols=8, rng=1000)
    results = {}
    for name, cell in [("LSTM", LSTM(9, 32, forget_bias=3.0, rng=0)), ("RNN", RNN(9, 32, rng=0))]:
        model = Sequential([cell, Dense(32, 8, rng=1)])
        fit(model, X, y, steps, lr=3e-3, seed=2, clip_norm=1.0)
        results[name] = accuracy(model, X_te, y_te)
    assert memory_task_chance(n_symbols=8) == 0.125
    assert results["LSTM"] >= 0.95, results
    assert results["RNN"] <= 0.70, results


# --------------------------------------------------------------------------------------------- VAE

def test_vae_learns_digits_and_samples_pixels():
    X, _ = load_digits(rng=0)
    X = X.reshape(len(X), -1)
    mean_image_error = 0.5 * np.mean(np.sum((X - X.mean(axis=0)) ** 2, axis=1))
    model = VAE(64, 4, hidden=(64,), beta=0.1, rng=0)
    trainer = fit(model, X, X, 800, lr=3e-3, seed=1, loss="half_se", batch_size=64)
    loss, recon, kl = (np.array(trainer.history[k]) for k in ("loss", "recon", "kl"))
    assert loss[-50:].mean() < 0.5 * loss[:20].mean()
    assert recon[-50:].mean() < 0.6 * mean_image_error          # better than drawing the mean digit
    assert kl[-50:].mean() > 1.0                                # the latent code is in use
    samples = model.sample(32, rng=2)
    assert samples.shape == (32, 64)
    assert samples.min() >= 0.0 and samples.max() <= 1.0 and samples.std() > 0.05


# --------------------------------------------------------------------------------------------- reproducibility

def test_a_seeded_run_repeats_bit_for_bit():
    def run():
        X, y = make_memory_task(64, T=10, n_symbols=4, rng=7)
        model = Sequential([LSTM(5, 8, rng=1), Dense(8, 4, rng=2)])
        trainer = fit(model, X, y, 20, lr=1e-2, seed=3, clip_norm=1.0)
        shapes, labels = make_shapes(32, size=8, rng=4)
        cnn = Sequential([Conv2D(1, 2, 3, rng=5), Tanh(), Flatten(), Dense(2 * 6 * 6, 6, rng=6)])
        fit(cnn, shapes, labels, 10, lr=1e-2, seed=7)
        return trainer.history["loss"], [p.copy() for _, p, _ in model.parameters() + cnn.parameters()]

    loss_a, params_a = run()
    loss_b, params_b = run()
    assert loss_a == loss_b
    for a, b in zip(params_a, params_b):
        assert a.tobytes() == b.tobytes()
