"""Models: whole-network gradient checks (Sequential, Autoencoder, VAE), the VAE's maths, API and bad input."""
import numpy as np
import pytest

from pyfadml import (
    LSTM, RNN, VAE, Autoencoder, Conv2D, Dense, Flatten, LeakyReLU, MaxPool2D, ReLU, Sequential, Sigmoid,
    Tanh, half_squared_error,
)
from pyfadml.gradcheck import check_layer, numerical_gradient, rel_error

TOL = 1e-7


def mlp(rng=0):
    rng = np.random.default_rng(rng)
    return Sequential([Dense(3, 6, rng=rng, init="he"), ReLU(), Dense(6, 5, rng=rng), Tanh(),
                       Dense(5, 4, rng=rng), LeakyReLU(0.1), Dense(4, 2, rng=rng), Sigmoid()])


def cnn(rng=0):
    rng = np.random.default_rng(rng)
    return Sequential([Conv2D(1, 2, 3, rng=rng), ReLU(), MaxPool2D(2), Conv2D(2, 2, 2, padding=1, rng=rng),
                       Tanh(), Flatten(), Dense(18, 3, rng=rng)])


def lstm_model(rng=0):
    rng = np.random.default_rng(rng)
    return Sequential([LSTM(2, 4, return_sequences=True, rng=rng), RNN(4, 3, rng=rng), Dense(3, 2, rng=rng)])


def jitter_biases(model, rng):
    """Small random biases: with zero biases a ReLU whose inputs are all zero sits exactly on its kink."""
    for name, p, _ in model.parameters():
        if name.endswith(".b"):
            p[...] = 0.1 * rng.standard_normal(p.shape)


def assert_gradcheck(errors):
    worst = max(errors, key=errors.get)
    assert errors[worst] < TOL, f"{worst}: rel error {errors[worst]:.2e}"


# ---------------------------------------------------------------- Sequential: gradient checks
def test_gradcheck_sequential_mlp():
    rng = np.random.default_rng(1)
    assert_gradcheck(check_layer(mlp(), rng.standard_normal((5, 3)), rng))


def test_gradcheck_sequential_cnn():
    rng = np.random.default_rng(2)
    assert_gradcheck(check_layer(cnn(), rng.standard_normal((2, 1, 6, 6)), rng))


def test_gradcheck_sequential_recurrent():
    rng = np.random.default_rng(3)
    assert_gradcheck(check_layer(lstm_model(), rng.standard_normal((2, 4, 2)), rng))


def test_gradcheck_sequential_with_a_loss():
    """d(loss)/d(params) through loss gradient + Sequential.backward, as the Trainer uses them."""
    from pyfadml import softmax_cross_entropy
    rng = np.random.default_rng(4)
    model = mlp()
    model.layers[-1] = Tanh()
    x, y = rng.standard_normal((6, 3)), rng.integers(0, 2, 6)
    _, dout = softmax_cross_entropy(model.forward(x), y)
    model.zero_grad()
    model.backward(dout)
    for name, p, g in model.parameters():
        num = numerical_gradient(lambda _: softmax_cross_entropy(model.forward(x), y)[0], p)
        assert rel_error(g, num) < TOL, name


# ---------------------------------------------------------------- Sequential: API
def test_sequential_forward_is_the_loop_of_layers():
    model = mlp()
    x = np.random.default_rng(5).standard_normal((4, 3))
    a = x
    for layer in model.layers:
        a = layer.forward(a)
    np.testing.assert_array_equal(model.forward(x), a)
    assert model(x).shape == (4, 2)


def test_sequential_parameters_are_named_by_layer_index():
    model = mlp()
    names = [n for n, _, _ in model.parameters()]
    assert names == ["0.W", "0.b", "2.W", "2.b", "4.W", "4.b", "6.W", "6.b"]
    for name, p, g in model.parameters():
        i, k = name.split(".")
        assert p is model.layers[int(i)].params[k]
        assert g is model.layers[int(i)].grads[k]
    assert model.n_params() == 3 * 6 + 6 + 6 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2


def test_sequential_zero_grad_train_eval_predict():
    model = mlp()
    x = np.random.default_rng(6).standard_normal((4, 3))
    model.backward(np.ones_like(model.forward(x)))
    assert any(np.any(g != 0) for _, _, g in model.parameters())
    model.zero_grad()
    assert all(np.all(g == 0) for _, _, g in model.parameters())
    assert model.eval() is model and not model.training and not any(l.training for l in model.layers)
    assert model.train() is model and model.training and all(l.training for l in model.layers)
    np.testing.assert_array_equal(model.predict(x), model.forward(x))
    assert model.training  # predict restores the mode
    model.eval()
    model.predict(x)
    assert not model.training


def test_sequential_len_getitem_iter():
    model = mlp()
    assert len(model) == 8
    assert isinstance(model[0], Dense) and isinstance(model[-1], Sigmoid)
    head = model[:2]
    assert isinstance(head, Sequential) and head.layers == model.layers[:2]
    assert list(model) == model.layers


def test_sequential_astype_float32_and_back():
    model = mlp()
    x = np.random.default_rng(7).standard_normal((4, 3))
    ref = model.forward(x)
    assert model.astype(np.float32) is model
    assert model.dtype == np.float32
    assert all(p.dtype == np.float32 and g.dtype == np.float32 for _, p, g in model.parameters())
    out = model.forward(x.astype(np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    model.astype("float64")
    assert model.dtype == np.float64
    with pytest.raises(ValueError, match="dtype must be float32 or float64, got int32"):
        model.astype(np.int32)


@pytest.mark.parametrize("build, shape", [(cnn, (2, 1, 6, 6)), (lstm_model, (2, 4, 2))])
def test_astype_float32_carries_through_conv_and_recurrent_layers(build, shape):
    model = build().astype(np.float32)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    out = model.forward(x)
    assert out.dtype == np.float32
    assert model.backward(np.ones_like(out)).dtype == np.float32
    assert all(p.dtype == np.float32 and g.dtype == np.float32 for _, p, g in model.parameters())


def test_sequential_config_round_trip():
    model = cnn()
    config = model.get_config()
    assert config["layers"][0] == {"class": "Conv2D", "config": model.layers[0].get_config()}
    rebuilt = Sequential.from_config(config)
    assert rebuilt.get_config() == config
    assert [n for n, _, _ in rebuilt.parameters()] == [n for n, _, _ in model.parameters()]


def test_sequential_refuses_non_layers_naming_the_index():
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match=r"Sequential: layers\[1\] must be a Layer, got str"):
        Sequential([Dense(2, 2, rng=rng), "relu"])
    with pytest.raises(TypeError, match=r"layers\[0\] must be a Layer, got Sequential"):
        Sequential([mlp()])
    with pytest.raises(TypeError, match="layers must be a list of Layer objects, got Dense"):
        Sequential(Dense(2, 2, rng=rng))
    with pytest.raises(ValueError, match="at least one Layer"):
        Sequential([])


def test_sequential_forward_reports_the_layers_shape_error():
    with pytest.raises(ValueError, match="x"):
        mlp().forward(np.zeros((4, 5)))


# ---------------------------------------------------------------- Autoencoder
def test_autoencoder_structure_and_shapes():
    ae = Autoencoder(12, 3, hidden=(8, 5), rng=0)
    assert [type(l).__name__ for l in ae.encoder] == ["Dense", "ReLU", "Dense", "ReLU", "Dense"]
    assert [type(l).__name__ for l in ae.decoder] == ["Dense", "ReLU", "Dense", "ReLU", "Dense", "Sigmoid"]
    assert [(l.n_in, l.n_out) for l in ae.decoder if isinstance(l, Dense)] == [(3, 5), (5, 8), (8, 12)]
    x = np.random.default_rng(1).random((4, 12))
    y = ae.encode(x)
    assert y.shape == (4, 3)
    x_hat = ae.forward(x)
    assert x_hat.shape == (4, 12) and np.all((x_hat > 0) & (x_hat < 1))
    np.testing.assert_array_equal(ae.decode(y), x_hat)
    np.testing.assert_array_equal(ae.reconstruct(x), x_hat)
    assert ae.parameters()[0][0] == "encoder.0.W" and ae.parameters()[-1][0] == "decoder.4.b"


def test_gradcheck_autoencoder():
    rng = np.random.default_rng(2)
    ae = Autoencoder(6, 2, hidden=(5,), activation="tanh", rng=0)
    assert_gradcheck(check_layer(ae, rng.random((4, 6)), rng))


def test_gradcheck_autoencoder_half_squared_error_loss():
    rng = np.random.default_rng(3)
    ae = Autoencoder(6, 2, hidden=(4,), rng=0)
    jitter_biases(ae, rng)
    x = rng.random((5, 6))
    _, dout = half_squared_error(ae.forward(x), x)
    ae.zero_grad()
    ae.backward(dout)
    for name, p, g in ae.parameters():
        num = numerical_gradient(lambda _: half_squared_error(ae.forward(x), x)[0], p)
        assert rel_error(g, num) < TOL, name


def test_autoencoder_train_eval_and_astype_reach_both_halves():
    ae = Autoencoder(6, 2, rng=0)
    ae.eval()
    assert not any(l.training for l in [*ae.encoder, *ae.decoder])
    ae.train()
    ae.astype(np.float32)
    assert all(p.dtype == np.float32 for _, p, _ in ae.parameters())


@pytest.mark.parametrize("cls", [Autoencoder, VAE])
def test_autoencoders_refuse_bad_sizes(cls):
    with pytest.raises(ValueError, match=r"latent size d must be smaller than the input size D=4.*got d=4"):
        cls(4, 4, rng=0)
    with pytest.raises(ValueError, match="d must be >= 1"):
        cls(4, 0, rng=0)
    with pytest.raises(TypeError, match="D must be an int"):
        cls(4.5, 2, rng=0)
    with pytest.raises(ValueError, match=r"hidden\[1\] must be >= 1"):
        cls(8, 2, hidden=(4, 0), rng=0)
    with pytest.raises(TypeError, match="hidden must be a tuple"):
        cls(8, 2, hidden="64", rng=0)
    with pytest.raises(ValueError, match="unknown activation 'swish'.*relu"):
        cls(8, 2, activation="swish", rng=0)
    with pytest.raises(TypeError, match="rng"):
        cls(8, 2, rng="seed")


def test_autoencoder_decode_checks_the_code_shape():
    with pytest.raises(ValueError, match=r"z must have shape \(N, 2\), got \(3, 4\)"):
        Autoencoder(6, 2, rng=0).decode(np.zeros((3, 4)))


# ---------------------------------------------------------------- VAE
def vae_errors(vae, x, dout, seed=11):
    """rel errors of d(sum(x_hat * dout) + beta*KL)/d(x and every param), eps fixed by reseeding the rng."""
    def total(_):
        vae.rng = np.random.default_rng(seed)
        return float(np.sum(vae.forward(x) * dout)) + vae.aux_loss()

    total(None)
    vae.zero_grad()
    dx = vae.backward(dout)
    analytic = {name: g.copy() for name, _, g in vae.parameters()}
    errors = {"x": rel_error(dx, numerical_gradient(total, x))}
    for name, p, _ in vae.parameters():
        errors[name] = rel_error(analytic[name], numerical_gradient(total, p))
    return errors


@pytest.mark.parametrize("beta", [1.0, 0.3])
def test_gradcheck_vae_fixed_eps(beta):
    rng = np.random.default_rng(4)
    vae = VAE(6, 2, hidden=(5,), beta=beta, activation="tanh", rng=0)
    x = rng.random((4, 6))
    assert_gradcheck(vae_errors(vae, x, rng.standard_normal((4, 6))))


def test_gradcheck_vae_recon_plus_kl_loss():
    """The training objective itself: 1/2||x - x'||^2 + beta KL, with the gradient from the loss."""
    rng = np.random.default_rng(5)
    vae = VAE(5, 2, hidden=(4, 3), beta=2.0, rng=0)
    jitter_biases(vae, rng)
    x = rng.random((6, 5))

    def objective(_):
        vae.rng = np.random.default_rng(3)
        x_hat = vae.forward(x)
        return half_squared_error(x_hat, x)[0] + vae.aux_loss()

    vae.rng = np.random.default_rng(3)
    _, dout = half_squared_error(vae.forward(x), x)
    vae.zero_grad()
    vae.backward(dout)
    for name, p, g in vae.parameters():
        assert rel_error(g, numerical_gradient(objective, p)) < TOL, name


def test_gradcheck_vae_eval_mode():
    rng = np.random.default_rng(6)
    vae = VAE(6, 2, hidden=(5,), activation="tanh", rng=0).eval()
    assert_gradcheck(vae_errors(vae, rng.random((3, 6)), rng.standard_normal((3, 6))))


def test_vae_reparameterisation_and_kl_by_hand():
    vae = VAE(8, 3, hidden=(6,), beta=0.5, rng=0)
    x = np.random.default_rng(7).random((5, 8))
    mu, logvar = vae.encode(x)
    assert mu.shape == logvar.shape == (5, 3)
    vae.rng = np.random.default_rng(9)
    x_hat = vae.forward(x)
    eps = np.random.default_rng(9).standard_normal((5, 3))
    z = mu + np.exp(0.5 * logvar) * eps
    np.testing.assert_allclose(x_hat, vae.decode(z), rtol=1e-12)
    kl = np.mean(-0.5 * np.sum(1 + logvar - mu ** 2 - np.exp(logvar), axis=1))
    assert vae.last_parts["kl"] == pytest.approx(kl)
    assert vae.last_parts["recon"] == pytest.approx(half_squared_error(x_hat, x)[0])
    assert vae.aux_loss() == pytest.approx(0.5 * kl)


def test_vae_kl_is_zero_at_the_prior():
    vae = VAE(4, 2, hidden=(3,), rng=0)
    last = vae.encoder.layers[-1]
    last.params["W"][...] = 0.0
    last.params["b"][...] = 0.0  # mu = 0, logvar = 0: q(z|x) = N(0, I)
    vae.forward(np.random.default_rng(0).random((3, 4)))
    assert vae.last_parts["kl"] == pytest.approx(0.0, abs=1e-15)


def test_vae_eval_mode_uses_the_mean():
    vae = VAE(8, 2, rng=0)
    x = np.random.default_rng(8).random((4, 8))
    r1 = vae.reconstruct(x)
    r2 = vae.reconstruct(x)
    np.testing.assert_array_equal(r1, r2)
    mu, _ = vae.encode(x)
    np.testing.assert_array_equal(r1, vae.decode(mu))
    assert vae.training
    assert not np.array_equal(vae.forward(x), vae.forward(x))  # training: a new eps each call


def test_vae_sample_decodes_prior_draws():
    vae = VAE(10, 2, rng=0)
    s = vae.sample(7)
    assert s.shape == (7, 10) and np.all((s > 0) & (s < 1))
    np.testing.assert_array_equal(vae.sample(3, rng=5), vae.sample(3, rng=np.random.default_rng(5)))
    np.testing.assert_array_equal(vae.sample(2, rng=5), vae.decode(np.random.default_rng(5).standard_normal((2, 2))))
    with pytest.raises(ValueError, match="n must be >= 1"):
        vae.sample(0)


def test_vae_sampling_does_not_disturb_the_training_eps():
    a, b = VAE(6, 2, rng=3), VAE(6, 2, rng=3)
    x = np.random.default_rng(0).random((4, 6))
    a.sample(5)
    np.testing.assert_array_equal(a.forward(x), b.forward(x))
    np.testing.assert_array_equal(VAE(6, 2, rng=3).sample(4), VAE(6, 2, rng=3).sample(4))  # seeded too


def test_vae_same_seed_same_model_and_eps():
    a, b = VAE(6, 2, rng=3), VAE(6, 2, rng=3)
    x = np.random.default_rng(0).random((4, 6))
    np.testing.assert_array_equal(a.forward(x), b.forward(x))


def test_vae_float32():
    vae = VAE(6, 2, rng=0).astype(np.float32)
    out = vae.forward(np.random.default_rng(0).random((3, 6)).astype(np.float32))
    assert out.dtype == np.float32
    assert vae.backward(np.ones_like(out)).dtype == np.float32
    assert vae.sample(2).dtype == np.float32


def test_vae_bad_input():
    vae = VAE(6, 2, rng=0)
    with pytest.raises(RuntimeError, match="call forward first"):
        vae.aux_loss()
    with pytest.raises(RuntimeError, match="call forward first"):
        vae.backward(np.zeros((2, 6)))
    with pytest.raises(ValueError, match=r"VAE.forward: x must have shape \(N, 6\), got \(2, 5\)"):
        vae.forward(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="beta must be >= 0"):
        VAE(6, 2, beta=-1.0, rng=0)
    with pytest.raises(ValueError, match=r"z must have shape \(N, 2\)"):
        vae.decode(np.zeros((2, 3)))


def test_model_configs():
    assert Autoencoder(10, 3, hidden=(7,), activation="tanh", rng=0).get_config() == {
        "D": 10, "d": 3, "hidden": [7], "activation": "tanh"}
    assert VAE(10, 3, beta=0.5, rng=0).get_config() == {
        "D": 10, "d": 3, "hidden": [64], "beta": 0.5, "activation": "relu"}
    assert "VAE(D=10" in repr(VAE(10, 3, rng=0))


def test_vae_kl_and_the_per_example_loss():
    from pyfadml import half_squared_errors
    rng = np.random.default_rng(0)
    mu, logvar = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    kl = VAE.kl(mu, logvar)
    by_hand = [-0.5 * sum(1 + lv - m * m - np.exp(lv) for m, lv in zip(mu[n], logvar[n])) for n in range(5)]
    np.testing.assert_allclose(kl, by_hand, rtol=1e-12)
    assert np.all(VAE.kl(np.zeros((2, 3)), np.zeros((2, 3))) == 0.0)
    vae = VAE(6, 3, rng=0).eval()
    x = rng.random((4, 6))
    vae.forward(x)
    assert vae.last_parts["kl"] == pytest.approx(float(np.mean(VAE.kl(*vae.encode(x)))), rel=1e-12)
    a, b = rng.random((4, 2, 3)), rng.random((4, 2, 3))
    e = half_squared_errors(a, b)
    assert e.shape == (4,) and e[1] == pytest.approx(0.5 * np.sum((a[1] - b[1]) ** 2))
    assert float(np.mean(e)) == pytest.approx(half_squared_error(a, b)[0])
