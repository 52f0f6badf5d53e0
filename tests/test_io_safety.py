"""Model files that cannot hurt: checks before allocation, a size limit, a registry nobody can hijack,
the demos' models round-trip, and bad files get named errors."""
import json
import tracemalloc

import numpy as np
import pytest

from pyfadml import Dense as PyfadmlDense
from pyfadml import Layer, ReLU, Sequential, load, save
from pyfadml.layers import LAYERS


def _write(path, arch, **arrays):
    with open(path, "wb") as f:
        np.savez(f, __pyfadml__=np.array(json.dumps(arch)), **arrays)


def _arch(layers):
    return {"format": "pyfadml", "version": 1, "dtype": "float64",
            "model": {"class": "Sequential", "config": {"layers": layers}}}


def _peak_bytes(fn):
    tracemalloc.start()
    try:
        fn()
    except ValueError as exc:
        err = exc
    else:
        err = None
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, err


def test_a_small_file_declaring_a_huge_layer_is_refused_before_allocating(tmp_path):
    """Before: a 3 KB file declaring Dense(12000, 12000) took 24 s and 3.3 GB before failing."""
    path = tmp_path / "huge.npz"
    _write(path, _arch([{"class": "Dense", "config": {"n_in": 12000, "n_out": 12000}}]),
           **{"param/0.W": np.zeros((2, 2)), "param/0.b": np.zeros(2)})
    assert path.stat().st_size < 4000
    peak, err = _peak_bytes(lambda: load(path))
    assert err is not None and "weight '0.W' must have shape (12000, 12000), got (2, 2)" in str(err)
    assert peak < 5_000_000


def test_a_compressed_file_over_the_parameter_limit_is_refused_before_decompressing(tmp_path):
    """Before: a 1.5 MB compressed file took 1.56 GB. The declared sizes are checked against max_params
    from the headers, before a byte of the weights is decompressed."""
    path = tmp_path / "zeros.npz"
    with open(path, "wb") as f:
        np.savez_compressed(f, __pyfadml__=np.array(json.dumps(
            _arch([{"class": "Dense", "config": {"n_in": 1000, "n_out": 1000}}]))),
            **{"param/0.W": np.zeros((1000, 1000)), "param/0.b": np.zeros(1000)})
    assert path.stat().st_size < 100_000
    peak, err = _peak_bytes(lambda: load(path, max_params=100_000))
    assert err is not None and "1,001,000 parameters, more than max_params=100,000" in str(err)
    assert peak < 1_000_000
    assert load(path).layers[0].params["W"].shape == (1000, 1000)      # within the default limit


def test_a_class_of_yours_named_dense_does_not_replace_pyfadmls(tmp_path):
    class Dense(Layer):                       # a user's own layer that happens to share the name
        def __init__(self, scale: float = 2.0):
            super().__init__()
            self.scale = scale

        def forward(self, x):
            return self.scale * x

        def backward(self, dout):
            return self.scale * dout

        def get_config(self):
            return {"scale": self.scale}

    assert LAYERS["Dense"] is PyfadmlDense
    assert LAYERS[f"{__name__}.{Dense.__qualname__}"] is Dense
    rng = np.random.default_rng(0)
    model = Sequential([PyfadmlDense(2, 3, rng=rng), Dense(3.0), ReLU()])
    path = tmp_path / "m.npz"
    save(model, path)
    back = load(path)
    assert type(back.layers[0]) is PyfadmlDense and type(back.layers[1]) is Dense and back.layers[1].scale == 3.0
    x = rng.standard_normal((4, 2))
    np.testing.assert_array_equal(back.forward(x), model.forward(x))


@pytest.mark.parametrize("make", ["mlp", "cnn_frozen"])
def test_the_demos_models_round_trip(tmp_path, make):
    if make == "mlp":
        from pyfadml.demos.mlp import MLPDemo
        d = MLPDemo(depth=2, breadth=5)
        d.step(20)
        x = d.X_test
    else:
        from pyfadml.demos.cnn import CNNDemo
        d = CNNDemo(n_samples=60, first_layer="presets_frozen")
        d.step(3)
        x = d.X_test[:4]
    path = tmp_path / "demo.npz"
    save(d.model, path)
    back = load(path)
    assert type(back) is Sequential
    for (n, p, _), (m, q, _) in zip(d.model.parameters(trainable_only=False), back.parameters(trainable_only=False)):
        assert n == m and p.dtype == q.dtype
        np.testing.assert_array_equal(p, q)
    assert [layer.trainable for layer in back.layers] == [layer.trainable for layer in d.model.layers]
    np.testing.assert_array_equal(back.predict(x), d.model.predict(x))


def test_a_subclass_that_changes_its_config_is_refused_at_save(tmp_path):
    class Wide(Sequential):
        def get_config(self):
            return {"layers": [], "width": 3}

    with pytest.raises(TypeError, match="Wide changes get_config"):
        save(Wide([ReLU()]), tmp_path / "w.npz")


def test_deeply_nested_json_is_a_named_error(tmp_path):
    path = tmp_path / "deep.npz"
    with open(path, "wb") as f:
        np.savez(f, __pyfadml__=np.array("[" * 100_000 + "]" * 100_000))
    with pytest.raises(ValueError, match="nested too deeply"):
        load(path)


def test_a_string_weight_is_a_named_error(tmp_path):
    path = tmp_path / "s.npz"
    _write(path, _arch([{"class": "Dense", "config": {"n_in": 1, "n_out": 1}}]),
           **{"param/0.W": np.array([["one"]]), "param/0.b": np.zeros(1)})
    with pytest.raises(ValueError, match=r"weight '0.W' must hold real numbers, got dtype <U3"):
        load(path)


@pytest.mark.parametrize("spec, match", [
    ({"class": "Activation", "config": {}}, "unknown layer class 'Activation'"),
    ({"class": "Layer", "config": {}}, "unknown layer class 'Layer'"),
    ({"class": "os.system", "config": {}}, "unknown layer class 'os.system'"),
    ({"class": "Dense", "config": {"n_in": "2", "n_out": 2}}, "Dense: n_in must be an int"),
    ({"class": "Dense", "config": {"n_in": -2, "n_out": 2}}, "Dense: n_in must be >= 1"),
    ({"class": "Dense", "config": [1, 2]}, "config of layer 'Dense' must be a dict"),
    ({"class": "ReLU", "config": {}, "trainable": "no"}, "'trainable' of layer 'ReLU' must be true or false"),
    ({"class": "ReLU", "config": {"alpha": 1}}, "unexpected keyword argument 'alpha'"),
])
def test_bad_layer_specs_are_named_errors(tmp_path, spec, match):
    path = tmp_path / "bad.npz"
    _write(path, _arch([spec]))
    with pytest.raises(ValueError, match=match):
        load(path)


def test_nan_weights_and_extra_entries_are_refused(tmp_path):
    path = tmp_path / "n.npz"
    _write(path, _arch([{"class": "Dense", "config": {"n_in": 1, "n_out": 1}}]),
           **{"param/0.W": np.array([[np.nan]]), "param/0.b": np.zeros(1)})
    with pytest.raises(ValueError, match="weight '0.W' contains NaN or inf"):
        load(path)
    _write(path, _arch([]), junk=np.zeros(3))
    with pytest.raises(ValueError, match=r"unexpected \['junk'\]"):
        load(path)
