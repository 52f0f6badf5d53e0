"""pyfadml.demos.generative: the logic behind the "Autoencoder & VAE" section, driven natively.

What the page shows must be what the library computes: every value below is checked against a direct call
of pyfadml.VAE / pyfadml.Autoencoder / pyfadml.losses on the same weights.
"""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from pyfadml import VAE, Autoencoder, DivergenceError
from pyfadml.data.images import SHAPE_CLASSES
from pyfadml.demos.generative import (
    ANOMALY_PERCENTILE, DATASETS, HIDDEN_CHOICES, SHAPES_SIZE, GenerativeDemo, load_images,
)
from pyfadml.losses import half_squared_error


@pytest.fixture(scope="module")
def trained2():
    """The page's default settings (d = 2, float32), trained 1500 steps (about 4 s natively)."""
    g = GenerativeDemo(seed=0)
    g.step(1500)
    return g


@pytest.fixture(scope="module")
def trained8():
    """d = 8 in float64, trained 600 steps: sharper reconstructions, and exact comparisons."""
    g = GenerativeDemo(latent=8, seed=1, dtype="float64")
    g.step(600)
    return g


def test_does_not_import_panel_or_bokeh():
    code = ("import sys, pyfadml.demos.generative as m; g = m.GenerativeDemo(); g.step(2); g.latent_plane('vae'); "
            "g.sample_prior(2, rng=0); g.variations(0, 1.0); "
            "print(any(k.split('.')[0] in ('panel', 'bokeh', 'param') for k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------------------------------------
# data and settings


@pytest.mark.parametrize("name", DATASETS)
def test_load_images(name):
    a = load_images(name, rng=4)
    b = load_images(name, rng=4)
    X, Xt = a["X_train"], a["X_test"]
    h, w = a["image_shape"]
    assert X.ndim == 2 and X.shape[1] == h * w == Xt.shape[1]
    assert X.min() >= 0.0 and X.max() <= 1.0
    assert len(X) == len(a["y_train"]) and len(Xt) == len(a["y_test"])
    assert abs(len(Xt) / (len(X) + len(Xt)) - 0.2) < 0.01
    assert set(np.unique(a["y_train"])) == set(range(len(a["class_names"])))
    np.testing.assert_array_equal(X, b["X_train"])            # same seed, same split
    if name == "digits":
        assert (h, w) == (8, 8) and a["class_names"] == tuple("0123456789") and len(X) + len(Xt) == 1797
    else:
        assert (h, w) == (SHAPES_SIZE, SHAPES_SIZE) and a["class_names"] == SHAPE_CLASSES
    assert not np.array_equal(X, load_images(name, rng=5)["X_train"])


def test_builds_both_models_with_the_settings():
    g = GenerativeDemo(dataset="shapes", latent=3, hidden="128-64", beta=0.2, seed=2)
    assert isinstance(g.vae, VAE) and isinstance(g.ae, Autoencoder)
    assert g.D == SHAPES_SIZE ** 2 and g.image_shape == (SHAPES_SIZE, SHAPES_SIZE)
    for m in (g.vae, g.ae):
        assert m.D == g.D and m.d == 3 and m.hidden == (128, 64) and m.dtype == np.float32
    assert g.vae.beta == 0.2
    assert g.vae.encoder[0].params["W"].shape == (128, g.D) and g.vae.encoder[-1].params["W"].shape == (6, 64)
    assert g.ae.encoder[-1].params["W"].shape == (3, 64)
    assert set(HIDDEN_CHOICES) == {"64", "128", "128-64"}
    assert GenerativeDemo(**g.settings).settings == g.settings


def test_bad_settings_name_the_parameter():
    with pytest.raises(ValueError, match="dataset"):
        GenerativeDemo(dataset="faces")
    with pytest.raises(ValueError, match="latent"):
        GenerativeDemo(latent=17)
    with pytest.raises(ValueError, match="latent"):
        GenerativeDemo(latent=0)
    with pytest.raises(ValueError, match="hidden"):
        GenerativeDemo(hidden="256")
    with pytest.raises(ValueError, match="lr"):
        GenerativeDemo(lr=0.0)
    with pytest.raises(ValueError, match="beta"):
        GenerativeDemo(beta=-1.0)
    with pytest.raises(ValueError, match="dtype"):
        GenerativeDemo(dtype="float16")
    g = GenerativeDemo()
    with pytest.raises(ValueError, match="lr"):
        g.lr = -1.0
    with pytest.raises(ValueError, match="model"):
        g.latent_plane("gan")
    with pytest.raises(ValueError, match="8x8"):
        g.anomaly_score(np.zeros((5, 5)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        g.anomaly_score(np.full((8, 8), 2.0))
    with pytest.raises(ValueError, match="index"):
        g.variations(10_000, 1.0)


def test_live_settings_reach_both_models():
    g = GenerativeDemo()
    g.lr = 0.002
    g.beta = 0.5
    g.batch_size = 16
    assert g.trainers["vae"].optimizer.lr == g.trainers["ae"].optimizer.lr == 0.002
    assert g.vae.beta == 0.5
    row = g.step()
    assert g.trainers["vae"].batch_size == g.trainers["ae"].batch_size == 16
    assert row["vae_loss"] == pytest.approx(row["vae_recon"] + 0.5 * row["vae_kl"], rel=1e-12)


# ----------------------------------------------------------------------------------------------------------
# training: the numbers come from the library


def test_history_rows_are_the_library_values():
    g = GenerativeDemo(dtype="float64", seed=3)
    row = g.step(3)
    assert row["step"] == g.step_count == 3 and g.history["step"] == [1, 2, 3]
    # the Trainer's records are the VAE's own last_parts and the AE's half squared error
    assert row["vae_recon"] == g.vae.last_parts["recon"] and row["vae_kl"] == g.vae.last_parts["kl"]
    assert row["vae_loss"] == g.trainers["vae"].history["loss"][-1]
    assert row["ae_recon"] == g.trainers["ae"].history["loss"][-1]
    assert row["vae_loss"] == pytest.approx(row["vae_recon"] + g.beta * row["vae_kl"])


def test_same_seed_same_run_and_both_models_see_the_same_batches():
    a, b = GenerativeDemo(seed=7), GenerativeDemo(seed=7)
    a.step(20)
    assert b.train_for(60.0, max_steps=5) == 5
    b.step(15)
    assert a.history == b.history
    np.testing.assert_array_equal(a.trainers["vae"]._perm, a.trainers["ae"]._perm)
    assert a.trainers["vae"]._pos == a.trainers["ae"]._pos
    assert GenerativeDemo(seed=8).step(1) != GenerativeDemo(seed=7).step(1)


def test_evaluate_matches_the_library(trained8):
    g = trained8
    ev = g.evaluate()
    X = g.X_test
    vae_loss, _ = half_squared_error(g.vae.reconstruct(X), X)
    ae_loss, _ = half_squared_error(g.ae.reconstruct(X), X)
    assert ev["vae_recon"] == pytest.approx(vae_loss, rel=1e-12)
    assert ev["ae_recon"] == pytest.approx(ae_loss, rel=1e-12)
    g.vae.predict(X)                        # eval forward: z = mu, the VAE's own KL
    assert ev["vae_kl"] == pytest.approx(g.vae.last_parts["kl"], rel=1e-9)
    assert g.eval_history["step"][-1] == g.step_count
    g.evaluate()
    assert g.eval_history["step"].count(g.step_count) == 1


def test_training_makes_recognisable_reconstructions(trained2, trained8):
    """The bar: the mean-image error (what an untrained or collapsed model draws) and the nearest-neighbour
    rule, which recognises 99 % of the original test digits and 10 % of the mean image."""
    for g, max_ratio, min_recognised in ((trained2, 0.55, 0.75), (trained8, 0.3, 0.93)):
        base = g.mean_image_error()
        ev = g.evaluate()
        assert ev["vae_recon"] < max_ratio * base and ev["ae_recon"] < max_ratio * base
        assert g.recognised_fraction("vae") > min_recognised
        assert g.recognised_fraction("ae") > min_recognised
    g = GenerativeDemo()
    assert g.evaluate()["vae_recon"] > 0.9 * g.mean_image_error()        # before training: no better than that


def test_beta_one_collapses_to_the_mean_image():
    """With 1/2 ||x - x'||^2 on [0, 1] pixels, beta = 1 makes the KL win: mu = 0, sigma = 1 for every input."""
    g = GenerativeDemo(beta=1.0, seed=0)
    g.step(800)
    ev = g.evaluate()
    assert ev["vae_kl"] < 0.05
    assert ev["vae_recon"] == pytest.approx(g.mean_image_error(), rel=0.05)
    assert ev["ae_recon"] < 0.7 * g.mean_image_error()           # the AE, without a KL term, does learn


def test_divergence_propagates_and_leaves_finite_weights():
    g = GenerativeDemo(lr=10.0, seed=0)
    with np.errstate(all="ignore"), pytest.raises(DivergenceError):
        g.step(200)
    assert g.trainers["vae"].diverged or g.trainers["ae"].diverged
    for model in (g.vae, g.ae):
        assert all(np.all(np.isfinite(p)) for _, p, _ in model.parameters())
    assert len(g.history["step"]) == g.step_count


# ----------------------------------------------------------------------------------------------------------
# reconstructions and the latent plane


def test_reconstructions_grid(trained8):
    g = trained8
    idx = g.showcase_indices()
    assert len(idx) == 10 and sorted(g.y_test[idx]) == list(range(10))       # one of each class first
    r = g.reconstructions()
    np.testing.assert_array_equal(r["index"], idx)
    np.testing.assert_array_equal(r["x"].reshape(10, -1), g.X_test[idx])
    np.testing.assert_allclose(r["vae"].reshape(10, -1), g.vae.reconstruct(g.X_test[idx]))
    np.testing.assert_allclose(r["ae"].reshape(10, -1), g.ae.reconstruct(g.X_test[idx]))
    err = 0.5 * np.sum((r["vae"] - r["x"]) ** 2, axis=(1, 2))
    np.testing.assert_allclose(r["vae_error"], err)
    assert g.showcase_indices(15)[:10].tolist() == idx.tolist() and len(set(g.showcase_indices(15))) == 15


def test_latent_plane_in_two_dimensions(trained2):
    g = trained2
    lp = g.latent_plane("vae")
    mu, logvar = g.vae.encode(g.X_test)
    np.testing.assert_allclose(lp["u"], mu[:, 0], rtol=1e-6)
    np.testing.assert_allclose(lp["v"], mu[:, 1], rtol=1e-6)
    assert lp["axis_labels"] == ["z1", "z2"]
    ell = lp["ellipses"]
    assert len(ell["index"]) == 10 and sorted(g.y_test[ell["index"]]) == list(range(10))
    sigma = np.exp(0.5 * logvar.astype(np.float64))[ell["index"]]
    # diagonal covariance: the ellipse's axes are 2 sigma_1 and 2 sigma_2
    np.testing.assert_allclose(ell["width"], 2 * sigma.max(axis=1), rtol=1e-6)
    np.testing.assert_allclose(ell["height"], 2 * sigma.min(axis=1), rtol=1e-6)
    assert g.latent_plane("ae")["ellipses"] is None
    np.testing.assert_allclose(g.latent_plane("ae")["u"], g.ae.encode(g.X_test)[:, 0], rtol=1e-6)


def test_latent_plane_in_more_dimensions_is_the_principal_plane(trained8):
    g = trained8
    lp = g.latent_plane("vae")
    centre, axes = g.projection("vae")
    np.testing.assert_allclose(axes @ axes.T, np.eye(2), atol=1e-12)        # orthonormal
    mu, _ = g.codes("vae")
    np.testing.assert_allclose(centre, mu.mean(axis=0))
    np.testing.assert_allclose(np.stack([lp["u"], lp["v"]], 1), (mu - centre) @ axes.T)
    var = np.var(np.stack([lp["u"], lp["v"]], 1), axis=0)
    # no other direction spreads the codes more than the first principal axis
    rand = np.random.default_rng(0).standard_normal((50, g.latent))
    rand /= np.linalg.norm(rand, axis=1, keepdims=True)
    assert var[0] >= np.var((mu - centre) @ rand.T, axis=0).max()
    uv = np.array([[0.3, -0.4]])
    np.testing.assert_allclose(g.project("vae", g.lift("vae", uv)), uv, atol=1e-12)
    # the ellipse is the projected covariance A diag(sigma^2) A^T: its area and axes
    i = lp["ellipses"]["index"][0]
    cov = (axes * lp["sigma"][i] ** 2) @ axes.T
    w, h = lp["ellipses"]["width"][0], lp["ellipses"]["height"][0]
    assert w * h / 4 == pytest.approx(math.sqrt(np.linalg.det(cov)))
    assert (w / 2) ** 2 + (h / 2) ** 2 == pytest.approx(np.trace(cov))


def test_clicking_the_plane_decodes_that_point(trained2, trained8):
    for g in (trained2, trained8):
        for kind in ("vae", "ae"):
            g.latent_plane(kind)
            img = g.decode_point(kind, 0.5, -1.0)
            assert img.shape == g.image_shape and 0.0 <= img.min() and img.max() <= 1.0
            z = g.lift(kind, np.array([[0.5, -1.0]]))
            model = g.vae if kind == "vae" else g.ae
            np.testing.assert_allclose(img.ravel(), model.decode(z.astype(g.dtype))[0], rtol=1e-6)
            assert np.abs(g.decode_point(kind, -1.5, 1.0) - img).max() > 0.1      # another point, another image


def test_prior_samples(trained2):
    g = trained2
    s = g.sample_prior(6, rng=11)
    z = np.random.default_rng(11).standard_normal((6, 2))
    np.testing.assert_array_equal(s["z"], z)
    np.testing.assert_allclose(s["vae"].reshape(6, -1), g.vae.decode(z.astype(np.float32)))
    np.testing.assert_allclose(s["ae"].reshape(6, -1), g.ae.decode(z.astype(np.float32)))
    np.testing.assert_allclose(s["vae_uv"], z)            # d = 2: the plane is the latent space
    # the VAE's own sampler draws the same images from the same seed
    np.testing.assert_allclose(s["vae"].reshape(6, -1), g.vae.sample(6, rng=11), rtol=1e-6)
    for kind in ("vae", "ae"):
        imgs = s[kind]
        assert imgs.min() >= 0.0 and imgs.max() <= 1.0
        assert np.abs(imgs[0] - imgs[1]).max() > 0.05
    assert not np.array_equal(g.sample_prior(6, rng=12)["vae"], s["vae"])


def test_the_vae_codes_match_the_prior_and_the_ae_codes_need_not(trained2):
    v, a = trained2.code_stats("vae"), trained2.code_stats("ae")
    np.testing.assert_allclose(v["mean"], 0.0, atol=0.25)
    np.testing.assert_allclose(v["std"], 1.0, atol=0.25)
    mu, _ = trained2.codes("vae")
    np.testing.assert_allclose(v["std"], mu.std(axis=0))
    # the AE is under no such pull: after the same training its codes sit off-centre or spread wider
    assert np.abs(a["mean"]).max() > 0.4 or np.abs(a["std"] - 1.0).max() > 0.4


# ----------------------------------------------------------------------------------------------------------
# controlled variations and anomalies


def test_variations_at_zero_reproduce_the_reconstruction(trained8):
    g = trained8
    v0 = g.variations(4, 0.0, n=5, seed=3)
    np.testing.assert_allclose(v0["recon"].ravel(), g.vae.reconstruct(g.X_test[4:5])[0])
    for img in v0["images"]:
        np.testing.assert_allclose(img, v0["recon"], atol=1e-12)
    mu, logvar = g.vae.encode(g.X_test[4:5])
    np.testing.assert_allclose(v0["mu"], mu[0])
    np.testing.assert_allclose(v0["sigma"], np.exp(0.5 * logvar[0]))


def test_variations_grow_with_the_slider(trained8):
    g = trained8
    eps = np.random.default_rng(3).standard_normal((8, g.latent))
    dist = []
    for s in (0.5, 1.0, 2.0, 4.0):
        v = g.variations(4, s, seed=3)
        np.testing.assert_allclose(v["z"], v["mu"] + s * v["sigma"] * eps)      # z = mu + s sigma eps
        np.testing.assert_allclose(v["images"].reshape(8, -1), g.vae.decode(v["z"]))
        dist.append(np.mean(np.abs(v["images"] - v["recon"])))
    assert dist == sorted(dist) and dist[0] > 0
    # a drawn image works as well as a test index
    v = g.variations(g.X_test[4].reshape(8, 8), 1.0, seed=3)
    np.testing.assert_allclose(v["images"], g.variations(4, 1.0, seed=3)["images"])


def test_anomaly_score(trained8):
    g = trained8
    errs = g.error_distribution("vae")
    np.testing.assert_allclose(errs, 0.5 * np.sum((g.vae.reconstruct(g.X_test) - g.X_test) ** 2, axis=1))
    threshold = np.percentile(errs, ANOMALY_PERCENTILE)
    typical = int(np.argsort(errs)[len(errs) // 2])
    s = g.anomaly_score(g.X_test[typical].reshape(8, 8))
    assert s["error"] == pytest.approx(errs[typical]) and not s["anomalous"]
    assert s["threshold"] == pytest.approx(threshold) and 40 <= s["percentile"] <= 60
    noise = np.random.default_rng(0).random((8, 8))
    n = g.anomaly_score(noise, errors=errs)
    loss, _ = half_squared_error(g.vae.reconstruct(noise.reshape(1, -1)), noise.reshape(1, -1))
    assert n["error"] == pytest.approx(loss) and n["anomalous"] and n["percentile"] == 100.0
    np.testing.assert_allclose(n["recon"].ravel(), g.vae.reconstruct(noise.reshape(1, -1))[0])
    # a blank canvas and a full one are not digits either
    assert g.anomaly_score(np.ones((8, 8)), errors=errs)["anomalous"]
    a = g.anomaly_score(g.X_test[typical], "ae")
    assert a["error"] == pytest.approx(g.error_distribution("ae")[typical])


def test_test_pass_is_one_cached_pass_per_model_and_step():
    g = GenerativeDemo(dtype="float64", seed=5)
    g.step(2)
    for kind, model in (("vae", g.vae), ("ae", g.ae)):
        t = g.test_pass(kind)
        assert g.test_pass(kind) is t                       # cached
        np.testing.assert_array_equal(t["recon"], model.reconstruct(g.X_test))
        np.testing.assert_allclose(t["errors"], 0.5 * np.sum((t["recon"] - g.X_test) ** 2, axis=1))
    mu, logvar = g.vae.encode(g.X_test)
    np.testing.assert_array_equal(g.test_pass("vae")["codes"], mu)
    np.testing.assert_array_equal(g.test_pass("vae")["logvar"], logvar)
    np.testing.assert_array_equal(g.test_pass("ae")["codes"], g.ae.encode(g.X_test))
    before = g.test_pass("vae")
    g.step()
    after = g.test_pass("vae")
    assert after is not before and not np.array_equal(after["recon"], before["recon"])


def test_recognised_fraction_is_the_nearest_neighbour_rule(trained8):
    g = trained8
    R = g.vae.reconstruct(g.X_test)
    d2 = ((R[:, None, :] - g.X_train[None, :, :]) ** 2).sum(axis=2)
    expected = np.mean(g.y_train[np.argmin(d2, axis=1)] == g.y_test)
    assert g.recognised_fraction("vae") == pytest.approx(expected, abs=2 / len(g.y_test))   # float32 ties


def test_prior_realism_the_vae_can_be_sampled_the_ae_less(trained8):
    g = trained8
    r = g.prior_realism(200, seed=0)
    z = np.random.default_rng(0).standard_normal((200, 8))
    assert r["vae"] == pytest.approx(np.median(g.distance_to_data(g.vae.decode(z))))
    T = g.X_train
    for img in g.vae.decode(z[:3]):
        assert g.distance_to_data(img[None])[0] == pytest.approx(np.sqrt(((T - img) ** 2).sum(axis=1).min()),
                                                                 rel=1e-4)
    assert r["test"] == pytest.approx(np.median(g.distance_to_data(g.X_test)))
    # d = 8: the VAE's prior draws decode much closer to real digits than the AE's
    assert r["test"] < r["vae"] < r["ae"] and r["ae"] - r["vae"] > 0.2


# ----------------------------------------------------------------------------------------------------------
# the Panel section, natively (its frames and clicks driven through its methods)


def _data(html: str, name: str) -> str:
    import re
    return re.search(rf'{name}="([^"]*)"', html).group(1)


def _pixels(text: str) -> np.ndarray:
    return np.array([[float(v) for v in img.split(",")] for img in text.split(";")])


@pytest.fixture
def section():
    pytest.importorskip("panel")
    from pyfadml.app.vae import VAESection

    return VAESection()


def _status(s, name: str = "data-state") -> str:
    return _data(s.live._status.object, name)


def test_section_trains_in_frames_and_shows_the_library_values(section):
    from types import SimpleNamespace

    s = section
    assert _data(s.training.stats.object, "data-step") == "0" and _status(s) == "paused"
    s.live.playing = True
    for _ in range(3):
        s.live.frame()
    s.live.pause()
    d = s.demo
    assert d.step_count > 0 and _data(s.training.stats.object, "data-step") == str(d.step_count)
    assert _status(s, "data-step") == str(d.step_count) and _status(s, "data-playing") == "0"
    ev = d.evaluate()
    assert float(_data(s.training.stats.object.split('data-testid="vae-recon"')[1], "data-value")) == ev["vae_recon"]
    s.live.frame()                                           # a late frame after Pause trains nothing
    assert d.step_count == int(_status(s, "data-step"))
    # a click on the plane: the caption holds the decoder's output at that point
    s.planes._on_tap(SimpleNamespace(x=0.5, y=-1.0))
    cap = s.planes.decoded_caption["vae"].object
    np.testing.assert_allclose(_pixels(_data(cap, "data-pixels"))[0], d.decode_point("vae", 0.5, -1.0).ravel(),
                               atol=6e-5)
    # the perturbation slider at 0: every variation is the reconstruction decode(mu)
    s.variations.scale = 0.0
    cap = s.variations.caption.object
    recon = _pixels(_data(cap, "data-recon"))[0]
    np.testing.assert_allclose(recon, d.vae.reconstruct(d.X_test[:1])[0], atol=6e-5)
    assert np.abs(_pixels(_data(cap, "data-images")) - recon).max() <= 1e-4
    # prior samples: in [0, 1], two differ, a new draw differs
    old = _pixels(_data(s.prior.caption.object, "data-vae-pixels"))
    s.prior.sample()
    vae = _pixels(_data(s.prior.caption.object, "data-vae-pixels"))
    assert vae.shape == (8, 64) and vae.min() >= 0 and vae.max() <= 1 and np.abs(vae[0] - vae[1]).max() > 0.01
    assert np.abs(vae - old).max() > 0.01


def test_section_refresh_groups_are_the_documented_ones(section):
    from pyfadml.app.vae import REFRESH_EVERY

    assert [g.every for g in section.live.refresh_groups] == list(REFRESH_EVERY.values())
    assert section.live_controllers == (section.live,)


def test_section_step_trains_exactly_one_step_and_redraws_everything(section):
    s = section
    prior = _data(s.prior.caption.object, "data-vae-pixels")
    s.live.step()
    s.live.step()
    assert s.demo.step_count == 2 and _status(s, "data-step") == "2"
    assert _data(s.training.stats.object, "data-step") == "2"
    assert _data(s.prior.caption.object, "data-vae-pixels") != prior          # the decoders changed
    native = GenerativeDemo()
    native.step(2)
    assert float(_data(s.training.stats.object.split('data-testid="ae-recon"')[1], "data-value")) == \
        pytest.approx(native.evaluate()["ae_recon"], rel=1e-6)


def test_section_leaving_pauses_and_says_so(section):
    s = section
    s.live.play()
    s.live.frame()
    step = s.demo.step_count
    s.live.pause(away=True)
    assert _status(s) == "away" and "while you were away" in s.live._status.object
    s.live.frame()
    assert s.demo.step_count == step                          # nothing trains in the background
    s.live.play()
    assert _status(s) == "playing"
    s.live.reset()                                            # Reset while playing: paused at step 0
    assert _status(s) == "paused" and s.demo.step_count == 0 and not s.live.playing


def _play_until_diverged(s) -> None:
    """Frames at a learning rate far beyond the page's choices, until the controller stops on a blow-up."""
    s.demo.lr = 1e4
    s.live.playing = True
    with np.errstate(all="ignore"):
        for _ in range(50):
            s.live.frame()
            if not s.live.playing:
                break


def test_section_divergence_pauses_and_explains(section):
    s = section
    _play_until_diverged(s)
    assert s.live.state == "diverged" and _status(s, "data-diverged") == "1"
    assert "diverged" in s.live._status.object
    assert np.isfinite(float(_data(s.training.stats.object.split('data-testid="vae-recon"')[1], "data-value")))
    s.live.reset()
    assert s.live.state == "paused" and s.demo.step_count == 0 and _status(s, "data-diverged") == "0"


def test_section_recovers_from_a_divergence_with_a_smaller_rate(section):
    s = section
    s.demo.step(25)
    s.redraw()                                 # the curves reach step 25
    s.lr = 0.1
    _play_until_diverged(s)
    assert s.live.state == "diverged"
    step = s.live.recover(lr=0.01)
    assert s.lr == 0.01 and s.demo.lr == 0.01 and s.live.state == "paused"
    assert step < 25 and max(s.training._loss_src.data["step"]) <= step   # the curves go back there too
    assert "Restored the weights" in s.live._status.object
    s.live.step()
    assert s.demo.step_count == step + 1 and s.live.state == "paused"


def test_section_settings_rebuild_the_models(section):
    s = section
    s.live.step()
    s.dataset = "shapes"
    assert s.demo.image_shape == (SHAPES_SIZE, SHAPES_SIZE) and s.demo.step_count == 0
    assert s.anomaly.editor.value.shape == (SHAPES_SIZE, SHAPES_SIZE)
    assert _data(s.variations.caption.object, "data-images").count(";") == 7
    s.latent = 8
    assert s.demo.latent == 8 and "principal axis 1" in s.planes.figs["vae"].xaxis[0].axis_label
    s.live.step()
    s.beta = 1.0                              # applies to the next step, no reset
    assert s.demo.beta == 1.0 and s.demo.step_count == 1
    s.batch_size = 16
    assert s.demo.batch_size == 16 and s.demo.step_count == 1


def test_section_empty_seed_box_answers_inline_and_keeps_the_seed(section):
    s = section
    box, note = s._widgets["seed"].objects
    box.value = None                                          # the student empties the box, Enter
    assert s.seed == 0 and box.value == 0 and "empty" in note.object
    box.value = 7
    assert s.seed == 7 and s.demo.seed == 7 and note.object == ""


def test_section_drawing_feeds_the_variations_and_the_verdict(section):
    s = section
    s.variations.source = "drawing"
    s.anomaly.clear()
    assert float(_data(s.anomaly.caption.object, "data-error")) > 0
    assert _data(s.anomaly.caption.object, "data-anomalous") == "1"           # a blank page is no digit
    blank = _pixels(_data(s.variations.caption.object, "data-recon"))
    np.testing.assert_allclose(blank[0], s.demo.vae.reconstruct(np.zeros((1, 64)))[0], atol=6e-5)
    s.anomaly.copy_test_image()
    assert np.abs(_pixels(_data(s.variations.caption.object, "data-recon")) - blank).max() > 0.01
    s.anomaly.model = "ae"
    assert float(_data(s.anomaly.caption.object, "data-error")) == pytest.approx(
        float(s.demo.errors("ae", s.demo.X_test[:1])[0]), rel=1e-6)


@pytest.mark.parametrize("low, high", [(0.3, 6.5), (1.1, 1.9), (1.27, 1.28), (1e-6, 10.0), (2.0, 2.0),
                                       (0.02, 84689.9), (5.0, 6.0)])
def test_loss_axis_ticks_are_few_apart_and_labelled_once(low, high):
    pytest.importorskip("panel")
    from pyfadml.app.vae.training import MAX_TICKS, log_ticks, tick_labels, visible_range

    lo, hi = visible_range(low, high)
    assert lo < low and high < hi and hi / lo >= 3.0 * (1 - 1e-9)
    ticks = log_ticks(lo, hi)
    assert 2 <= len(ticks) <= MAX_TICKS and all(lo <= t <= hi for t in ticks)
    # on a 270 px axis, neighbouring labels are at least 11% of its height (~30 px) apart: no overlap
    gaps = np.diff(np.log(ticks)) / np.log(hi / lo)
    assert gaps.min() > 0.1
    labels = tick_labels(ticks)
    assert len(set(labels.values())) == len(ticks)


def test_section_loss_axis_uses_its_ticks(section):
    s = section
    fig = s.training.loss_fig
    assert fig.yaxis[0].ticker.ticks == s.training._ticks and len(s.training._ticks) >= 2
    assert all(fig.y_range.start <= t <= fig.y_range.end for t in s.training._ticks)
    s.live.step()
    values = [v for key, vs in s.training._loss_src.data.items() if key != "step" for v in vs]
    assert fig.y_range.start < min(values) and max(values) < fig.y_range.end     # every point is shown
    legend = fig.legend[0]
    assert legend in fig.above                                  # above the plot: it covers no curve


def test_settings_for_says_which_model_a_file_replaces():
    native = GenerativeDemo(latent=3, hidden="64")
    native.step(2)
    demo = GenerativeDemo()
    s = demo.settings_for(native.ae, "a.npz")
    assert s == dict(kind="ae", latent=3, hidden="64")
    demo = GenerativeDemo(**{**demo.settings, "latent": 3, "hidden": "64"})
    demo.load_weights(native.ae, "a.npz", target="ae")
    np.testing.assert_array_equal(demo.ae.encode(native.X_test), native.ae.encode(native.X_test))
    with pytest.raises(ValueError, match="144 pixels"):
        demo.settings_for(GenerativeDemo(dataset="shapes").vae, "s.npz")


def test_full_history_puts_the_test_losses_beside_the_steps():
    g = GenerativeDemo()
    g.step(2)
    g.evaluate()
    g.step(1)
    h = g.full_history()
    assert h["step"] == [1, 2, 3] and h["vae_recon"] == g.history["vae_recon"]
    assert h["test_vae_recon"][1] == g.eval_history["vae_recon"][-1]
    assert math.isnan(h["test_ae_recon"][0]) and math.isnan(h["test_vae_kl"][2])


def test_describe_gives_the_sizes_and_the_settings():
    g = GenerativeDemo(latent=3, hidden="128-64", beta=0.1)
    assert g.describe() == (f"D = 64 pixels → d = 3 → D; hidden layers [128, 64]; {len(g.X_train)} training and "
                            f"{len(g.X_test)} test images; 64 images per step, learning rate 0.01, β = 0.1.")


def test_latent_plane_gives_each_class_median_and_the_prior_origin():
    g = GenerativeDemo(latent=3)
    lp = g.latent_plane("vae")
    centre, axes = g.projection("vae")
    np.testing.assert_allclose(lp["origin"], g.project("vae", np.zeros((1, 3)))[0])
    for k, u, v in zip(*(lp["medians"][c] for c in ("class", "u", "v"))):
        keep = lp["label"] == k
        assert (u, v) == (float(np.median(lp["u"][keep])), float(np.median(lp["v"][keep])))
    g = GenerativeDemo(latent=2)                   # the plane is the latent space: no fit to break
    codes, sigma = g.codes("vae")
    codes = codes.astype(np.float64)
    codes[g.y_test == 1] = np.nan                  # a class with no finite code gets no median
    g.codes = lambda kind: (codes, sigma)
    medians = g.latent_plane("vae")["medians"]["class"]
    assert 1 not in medians and 0 in medians
