"""save/load: one .npz with the architecture as JSON and all weights; identical outputs in another process."""
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pyfadml import (
    LSTM, RNN, VAE, Adam, Autoencoder, Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential, Tanh, Trainer,
    load, save,
)
from pyfadml.io import architecture

REPO = Path(__file__).resolve().parents[1]


def trained(model, x):
    """Perturb the weights away from their seeded initial values, so loading must really copy them."""
    rng = np.random.default_rng(123)
    for _, p, _ in model.parameters():
        p += 0.1 * rng.standard_normal(p.shape)
    return model, x


def mlp():
    rng = np.random.default_rng(1)
    return trained(Sequential([Dense(2, 16, rng=rng, init="he"), ReLU(), Dense(16, 16, rng=rng), Tanh(),
                               Dense(16, 2, rng=rng)]), rng.standard_normal((5, 2)))


def cnn():
    rng = np.random.default_rng(2)
    return trained(Sequential([Conv2D(1, 4, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2),
                               Conv2D(4, 8, 3, stride=1, rng=rng), ReLU(), Flatten(), Dense(8 * 2 * 2, 3, rng=rng)]),
                   rng.random((3, 1, 8, 8)))


def lstm():
    rng = np.random.default_rng(3)
    return trained(Sequential([LSTM(3, 8, return_sequences=True, forget_bias=0.5, rng=rng),
                               RNN(8, 5, recurrent_scale=0.9, rng=rng), Dense(5, 2, rng=rng)]),
                   rng.standard_normal((4, 7, 3)))


def ae():
    rng = np.random.default_rng(4)
    return trained(Autoencoder(12, 3, hidden=(8, 6), activation="tanh", rng=rng), rng.random((4, 12)))


def vae():
    rng = np.random.default_rng(5)
    return trained(VAE(12, 2, hidden=(10,), beta=0.25, activation="leaky_relu", rng=rng), rng.random((4, 12)))


MODELS = {"mlp": mlp, "cnn": cnn, "lstm": lstm, "ae": ae, "vae": vae}

LOAD_IN_CHILD = """
import sys
import numpy as np
import pyfadml
model = pyfadml.load(sys.argv[1])
x = np.load(sys.argv[2])
np.save(sys.argv[3], model.predict(x))
"""


@pytest.mark.parametrize("kind", list(MODELS))
def test_load_in_another_process_gives_identical_outputs(kind, tmp_path):
    model, x = MODELS[kind]()
    expected = model.predict(x)
    save(model, tmp_path / "model.npz")
    np.save(tmp_path / "x.npy", x)
    subprocess.run([sys.executable, "-c", LOAD_IN_CHILD, str(tmp_path / "model.npz"), str(tmp_path / "x.npy"),
                    str(tmp_path / "out.npy")], cwd=REPO, check=True, capture_output=True, timeout=120)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)


@pytest.mark.parametrize("kind", list(MODELS))
def test_round_trip_in_process(kind, tmp_path):
    model, x = MODELS[kind]()
    save(model, tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz")
    assert type(loaded) is type(model)
    assert loaded.get_config() == json.loads(json.dumps(model.get_config()))
    assert [n for n, _, _ in loaded.parameters()] == [n for n, _, _ in model.parameters()]
    for (n, p, _), (_, q, _) in zip(model.parameters(), loaded.parameters()):
        np.testing.assert_array_equal(p, q, err_msg=n)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.training


def test_vae_extras_survive_loading(tmp_path):
    model, x = vae()
    save(model, tmp_path / "v.npz")
    loaded = load(tmp_path / "v.npz")
    assert loaded.beta == 0.25 and loaded.activation == "leaky_relu"
    np.testing.assert_array_equal(loaded.sample(3, rng=7), model.sample(3, rng=7))
    mu1, lv1 = model.encode(x)
    mu2, lv2 = loaded.encode(x)
    np.testing.assert_array_equal(mu1, mu2)
    np.testing.assert_array_equal(lv1, lv2)


def test_the_file_holds_json_architecture_and_named_weights(tmp_path):
    model, _ = ae()
    save(model, tmp_path / "a.npz")
    with np.load(tmp_path / "a.npz", allow_pickle=False) as f:
        arch = json.loads(str(f["__pyfadml__"]))
        keys = set(f.files)
    assert arch["format"] == "pyfadml" and arch["version"] == 1 and arch["dtype"] == "float64"
    assert arch["model"]["class"] == "Autoencoder"
    assert arch["model"]["config"] == {"D": 12, "d": 3, "hidden": [8, 6], "activation": "tanh"}
    assert arch["model"]["parts"]["encoder"]["layers"][0] == {
        "class": "Dense", "config": {"n_in": 12, "n_out": 8, "init": "xavier"}}
    assert keys == {"__pyfadml__"} | {f"param/{n}" for n, _, _ in model.parameters()}
    assert arch == architecture(model)


def test_float32_models_load_as_float32(tmp_path):
    model, x = mlp()
    model.astype(np.float32)
    save(model, tmp_path / "f.npz")
    loaded = load(tmp_path / "f.npz")
    assert loaded.dtype == np.float32
    x32 = x.astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x32), model.predict(x32))


def test_save_writes_exactly_at_the_path_and_to_file_objects(tmp_path):
    model, x = mlp()
    save(model, tmp_path / "no_suffix")
    assert (tmp_path / "no_suffix").exists() and not (tmp_path / "no_suffix.npz").exists()
    np.testing.assert_array_equal(load(str(tmp_path / "no_suffix")).predict(x), model.predict(x))
    buf = io.BytesIO()
    save(model, buf)
    buf.seek(0)
    np.testing.assert_array_equal(load(buf).predict(x), model.predict(x))


def test_a_loaded_model_trains_on(tmp_path):
    model, _ = mlp()
    save(model, tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2))
    Trainer(loaded, "cross_entropy", Adam(), X, (X[:, 0] > 0).astype(int), rng=0).fit(3)


# ---------------------------------------------------------------- errors
def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.npz")


@pytest.mark.parametrize("write, why", [
    (lambda f: f.write(b"hello, I am text"), "unreadable"),
    (lambda f: np.save(f, np.arange(3)), "single array"),
    (lambda f: np.savez(f, a=np.arange(3)), "no '__pyfadml__' architecture entry"),
    (lambda f: np.savez(f, __pyfadml__=np.array("{not json")), "not valid JSON"),
    (lambda f: np.savez(f, __pyfadml__=np.array('{"format": "keras"}')), "no 'format': 'pyfadml' marker"),
])
def test_not_a_pyfadml_file(tmp_path, write, why):
    path = tmp_path / "bad.npz"
    with open(path, "wb") as f:
        write(f)
    with pytest.raises(ValueError, match=rf"load: '.*bad.npz' is not a pyfadml model file \(.*{why}"):
        load(path)


def _tamper(path, *, arch=None, drop=None, reshape=None):
    with np.load(path, allow_pickle=False) as f:
        files = {k: f[k] for k in f.files}
    if arch is not None:
        files["__pyfadml__"] = np.array(json.dumps(arch))
    if drop is not None:
        del files[drop]
    if reshape is not None:
        files[reshape] = np.zeros((1, 1))
    with open(path, "wb") as f:
        np.savez(f, **files)


def test_weights_that_do_not_match_the_architecture(tmp_path):
    model, _ = mlp()
    path = tmp_path / "m.npz"
    save(model, path)
    _tamper(path, reshape="param/2.W")
    with pytest.raises(ValueError, match=r"weight '2.W' must have shape \(16, 16\), got \(1, 1\)"):
        load(path)
    save(model, path)
    _tamper(path, drop="param/0.b")
    with pytest.raises(ValueError, match=r"do not match the architecture: missing \['0.b'\]"):
        load(path)


def test_unknown_classes_and_versions(tmp_path):
    model, _ = mlp()
    path = tmp_path / "m.npz"
    save(model, path)
    arch = architecture(model)
    arch["model"]["config"]["layers"][1]["class"] = "Dropout"
    _tamper(path, arch=arch)
    with pytest.raises(ValueError, match="cannot rebuild the saved architecture: unknown layer class 'Dropout'"):
        load(path)
    arch = architecture(model)
    arch["model"]["class"] = "Transformer"
    _tamper(path, arch=arch)
    with pytest.raises(ValueError, match="unknown model class 'Transformer'"):
        load(path)
    arch = architecture(model)
    arch["version"] = 99
    _tamper(path, arch=arch)
    with pytest.raises(ValueError, match="unsupported pyfadml file version 99"):
        load(path)


def test_save_refuses_non_models(tmp_path):
    with pytest.raises(TypeError, match="save: model must be a Sequential, Autoencoder or VAE, got Dense"):
        save(Dense(2, 2, rng=0), tmp_path / "d.npz")
    with pytest.raises(TypeError, match="save: path must be a filename or a binary file object, got int"):
        save(mlp()[0], 3)
    with pytest.raises(TypeError, match="load: path must be a filename or a binary file object"):
        load(3.5)


# ---------------------------------------------------------------------------------------------
# in memory, and does a file fit the model you have
# ---------------------------------------------------------------------------------------------

def test_from_bytes_refuses_big_empty_and_foreign_files():
    from pyfadml.io import MAX_BYTES, from_bytes, to_bytes

    model, x = mlp()
    np.testing.assert_array_equal(from_bytes(to_bytes(model)).predict(x), model.predict(x))
    with pytest.raises(ValueError, match="a.npz is empty"):
        from_bytes(b"", "a.npz")
    with pytest.raises(ValueError, match="at most 20 MB"):
        from_bytes(b"x" * (MAX_BYTES + 1), "big.npz")
    with pytest.raises(ValueError, match="m.npz.*more than max_params=10"):
        from_bytes(to_bytes(model), "m.npz", max_params=10)
    buffer = io.BytesIO()
    np.savez(buffer, W=np.ones(3))
    with pytest.raises(ValueError, match="w.npz is not a pyfadml model file"):
        from_bytes(buffer.getvalue(), "w.npz")


def test_check_same_names_the_first_difference_and_copy_weights_makes_outputs_equal():
    from pyfadml.io import check_same, copy_weights, layer_specs

    rng = np.random.default_rng(5)
    a = Sequential([Dense(2, 4, rng=rng), Tanh(), Dense(4, 3, rng=rng)])
    b = Sequential([Dense(2, 4, rng=rng, init="he"), Tanh(), Dense(4, 3, rng=rng)])
    check_same("b.npz", b, a)                                  # the init scheme does not count
    copy_weights(a, b)
    x = rng.standard_normal((5, 2))
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    wide = Sequential([Dense(2, 5, rng=rng), Tanh(), Dense(5, 3, rng=rng)])
    with pytest.raises(ValueError, match=r"w.npz does not fit: its layer 1 is Dense\(n_in=2, n_out=5"):
        check_same("w.npz", wide, a, whose="the demo's")
    with pytest.raises(ValueError, match="it has 2 layers, the demo's network has 3"):
        check_same("s.npz", Sequential([Dense(2, 4, rng=rng), Tanh()]), a, whose="the demo's")
    with pytest.raises(ValueError, match="it holds a VAE, this section's model is a Sequential"):
        check_same("v.npz", VAE(4, 2, hidden=(3,), rng=rng), a)
    before = [p.copy() for _, p, _ in a.parameters()]
    with pytest.raises(ValueError, match="weight 0.W has shape"):
        copy_weights(a, wide)
    assert all(np.array_equal(p, q) for (_, p, _), q in zip(a.parameters(), before))   # nothing copied
    assert [c for c, _ in layer_specs(a)] == ["Dense", "Tanh", "Dense"]
    with pytest.raises(ValueError, match="holds a VAE; a Sequential network is needed"):
        layer_specs(VAE(4, 2, hidden=(3,), rng=rng))


def test_history_csv_round_trips_every_float_exactly():
    import csv
    import math

    from pyfadml.history import History, to_csv

    h = History(("loss", "acc"))
    h.append({"step": 0, "loss": 0.1 + 0.2, "acc": np.float64(1 / 3)})
    h.append({"step": np.int64(3), "loss": math.nan, "acc": 0.5})
    rows = list(csv.DictReader(io.StringIO(to_csv(h))))
    assert [r["step"] for r in rows] == ["0", "3"]
    assert float(rows[0]["loss"]) == 0.1 + 0.2 and float(rows[0]["acc"]) == 1 / 3
    assert to_csv({"step": [1], "x": [math.nan], "name": ['a,"b"']}) == 'step,x,name\n1,nan,"a,""b"""\n'
