"""What the API refuses (issue 14, item 4): each bad input gets a named error that says what to do."""
import numpy as np
import pytest

from pyfadml import (
    SGD, VAE, Adam, Autoencoder, Dense, Flatten, ReLU, Sequential, Tanh, Trainer, clip_grad_norm,
)


def mlp(seed=0):
    rng = np.random.default_rng(seed)
    return Sequential([Dense(2, 4, rng=rng), Tanh(), Dense(4, 2, rng=rng)])


def data(n=16):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 2))
    return X, (X[:, 0] > 0).astype(int)


def test_the_same_layer_object_twice_is_refused():
    rng = np.random.default_rng(0)
    shared = Dense(3, 3, rng=rng)
    with pytest.raises(ValueError, match=r"layers\[2\] is the same object as layers\[0\].*make a new Dense"):
        Sequential([shared, ReLU(), shared])
    act = Tanh()
    with pytest.raises(ValueError, match=r"layers\[3\] is the same object as layers\[1\]"):
        Sequential([Dense(3, 3, rng=rng), act, Dense(3, 3, rng=rng), act])


def test_complex_input_is_refused_not_silently_truncated():
    with pytest.raises(TypeError, match=r"must hold real numbers, got dtype complex128; pass x.real"):
        Dense(2, 1, rng=0).forward(np.array([[1 + 2j, 0.5]]))
    X, y = data()
    with pytest.raises(TypeError, match="Trainer: X must hold real numbers"):
        Trainer(mlp(), "cross_entropy", Adam(), X.astype(complex), y, rng=0)
    with pytest.raises(TypeError, match="Trainer: y must hold real numbers"):
        Trainer(mlp(), "mse", Adam(), X, X.astype(complex), rng=0)


def test_one_optimizer_shared_by_two_models_is_refused():
    X, y = data()
    opt = Adam(lr=0.01)
    a, b = Trainer(mlp(0), "cross_entropy", opt, X, y, rng=0), Trainer(mlp(1), "cross_entropy", opt, X, y, rng=0)
    a.step()
    before = [p.copy() for _, p, _ in b.model.parameters()]
    with pytest.raises(ValueError, match=r"'0.W' is not the array this optimizer has been updating.*own optimizer"):
        b.step()
    for p, q in zip(before, (p for _, p, _ in b.model.parameters())):
        np.testing.assert_array_equal(p, q)
    opt.reset()                            # a fresh start for the other model is allowed
    b.step()


def test_x_val_of_the_wrong_width_is_refused_before_any_update():
    X, y = data()
    model = mlp()
    before = [p.copy() for _, p, _ in model.parameters()]
    with pytest.raises(ValueError, match=r"X_val and y_val must have samples shaped like X and y, \(2,\).*\(3,\)"):
        Trainer(model, "cross_entropy", Adam(), X, y, rng=0, X_val=np.zeros((4, 3)), y_val=np.zeros(4, int))
    for p, (_, q, _) in zip(before, model.parameters()):
        np.testing.assert_array_equal(p, q)
    tr = Trainer(model, "cross_entropy", Adam(), X, y, rng=0)
    with pytest.raises(ValueError, match=r"evaluate: X must have samples of shape \(2,\)"):
        tr.evaluate(np.zeros((4, 3)), np.zeros(4, int))


def test_activation_names_are_case_insensitive_and_the_init_follows():
    upper, lower = Autoencoder(8, 2, (6,), activation="RELU", rng=0), Autoencoder(8, 2, (6,), activation="relu", rng=0)
    assert upper.activation == "relu"
    for (_, p, _), (_, q, _) in zip(upper.parameters(), lower.parameters()):
        np.testing.assert_array_equal(p, q)           # He init, like "relu"
    assert VAE(8, 2, activation="Tanh", rng=0).activation == "tanh"


def test_vae_on_an_empty_batch_and_flatten_on_n_0():
    with pytest.raises(ValueError, match=r"VAE.forward: x must hold at least one sample.*got shape \(0, 6\)"):
        VAE(6, 2, rng=0).forward(np.zeros((0, 6)))
    f = Flatten()
    out = f.forward(np.zeros((0, 2, 3, 3)))
    assert out.shape == (0, 18) and f.backward(out).shape == (0, 2, 3, 3)


@pytest.mark.parametrize("rng, exc, match", [
    (-1, ValueError, "an int seed must be >= 0, got -1"),
    ("0", TypeError, "expected a numpy Generator"),
    (True, TypeError, "expected a numpy Generator"),
])
def test_bad_rng(rng, exc, match):
    with pytest.raises(exc, match=match):
        Dense(2, 2, rng=rng)


def test_callbacks_none_and_a_custom_loss_returning_an_array():
    X, y = data()
    with pytest.raises(TypeError, match=r"callbacks must be a list of functions cb\(trainer, record\)"):
        Trainer(mlp(), "cross_entropy", Adam(), X, y, rng=0, callbacks=None)

    def per_sample_loss(pred, target):
        return np.sum(pred ** 2, axis=1), 2 * pred / len(pred)

    tr = Trainer(mlp(), per_sample_loss, Adam(), X, y, rng=0, metrics=())
    with pytest.raises(TypeError, match=r"the batch loss as one number \(the mean over the batch\), got ndarray "
                                        r"of shape \(16,\)"):
        tr.step()
    tr2 = Trainer(mlp(), lambda p, t: 1.0, Adam(), X, y, rng=0, metrics=())
    with pytest.raises(TypeError, match=r"must return \(loss, dL/dpred\), got float"):
        tr2.step()
    assert tr.step_count == 0 and not tr.diverged


def test_integer_parameters_are_refused_by_the_optimizers_and_clipping():
    p, g = np.array([1, 2]), np.array([1, 1])
    for fn in (SGD(lr=0.1).step, Adam().step, lambda t: clip_grad_norm(t, 1.0)):
        with pytest.raises(TypeError, match=r"must hold floating-point arrays .* got int64 and int64; convert"):
            fn([("w", p, g)])
    np.testing.assert_array_equal(p, [1, 2])
    q = np.array([1.0, 2.0])
    SGD(lr=1).step([("w", q, np.ones(2))])          # an int learning rate is fine
    np.testing.assert_array_equal(q, [0.0, 1.0])

