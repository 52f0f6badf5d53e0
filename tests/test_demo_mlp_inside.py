"""pyfadml.demos.mlp_inside: the hidden neurons' picture and the inspector's checks, driven natively."""
from __future__ import annotations

import numpy as np
import pytest

from pyfadml.demos.mlp import MLPDemo


def test_neuron_layout_places_a_row_of_tiles_per_hidden_layer():
    d = MLPDemo(depth=3, breadth=5, grid_size=60)
    lay = d.neuron_layout()
    assert lay["tile"] == 30                                  # every 2nd of 60 grid points
    assert (lay["width"], lay["height"]) == (5 * 30 + 4 * 4, 3 * 30 + 2 * 4)
    assert lay["rows"] == [lay["height"] - 15, lay["height"] - 49, lay["height"] - 83]   # layer 1 on top
    assert lay["cols"] == [15, 49, 83, 117, 151]
    lay = d.neuron_layout(step=3, gap=0)
    assert (lay["tile"], lay["width"], lay["height"]) == (20, 100, 60)
    with pytest.raises(ValueError):
        d.neuron_layout(step=0)
    with pytest.raises(ValueError):
        d.neuron_layout(gap=-1)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_neuron_image_holds_each_neurons_activation_scaled_to_plus_minus_one(activation):
    d = MLPDemo(depth=2, breadth=3, grid_size=20, activation=activation, seed=2)
    d.step(4)
    lay, n = d.neuron_layout(), d.neuron_image()
    img, t, hidden = n["image"], lay["tile"], d.grid()["hidden"]
    assert img.shape == (lay["height"], lay["width"]) and img.dtype == np.float32
    assert np.isnan(img[:, t:t + 4]).all() and np.isnan(img[t:t + 4, :]).all()       # the gaps
    a = hidden[1][1::2, 1::2, 2]                   # layer 2, neuron j = 3, every 2nd grid point
    want = {"tanh": a, "sigmoid": 2 * a - 1, "relu": a / max(np.abs(hidden[1][1::2, 1::2]).max(), 1e-300)}[activation]
    np.testing.assert_allclose(img[0:t, 2 * (t + 4):2 * (t + 4) + t], want, rtol=1e-6, atol=1e-7)  # row 0: bottom
    assert np.nanmax(np.abs(img)) <= 1.0 + 1e-6
    xs, ys = n["sign_x"].astype(int), n["sign_y"].astype(int)
    assert n["sign_v"].shape == (3 * 2, 3 * 3)                # 3 x 3 points per tile
    np.testing.assert_array_equal(n["sign_v"], img[ys, xs])
    assert np.isfinite(n["sign_v"]).all()                     # every point lies on a tile, none in a gap


def test_inspector_checks_backprop_against_the_formula_and_the_batch_mean():
    d = MLPDemo(depth=2, breadth=4, batch_size=6, seed=3)
    assert d.example_mean_diff(2) is None                     # nothing before the first step
    d.step(5)
    r = d.inspect(2)
    assert r["delta_prev_agrees"] is True and 0.0 <= r["delta_prev_diff"] < 1e-12
    assert r["delta_prev_diff"] == float(np.max(np.abs(r["delta_prev"] - r["delta_prev_formula"])))
    assert d.inspect(1)["delta_prev_diff"] is None and d.inspect(1)["delta_prev_agrees"] is None
    e = d.inspect_example(3, 2)
    assert e["delta_prev_agrees"] is True
    assert 0.0 <= d.example_mean_diff(2) < 1e-12
    d.model.capture["params"][2]["W"] += 1.0                  # a wrong captured weight breaks the formula's side
    assert d.inspect(2)["delta_prev_agrees"] is False
