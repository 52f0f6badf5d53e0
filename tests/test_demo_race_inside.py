"""pyfadml.demos.race_inside: the race's heatmaps as drawn, the profile's decades and the gate values."""
from __future__ import annotations

import math

import numpy as np
import pytest

from pyfadml.demos.gradients import GradientRace
from pyfadml.demos.race_inside import log_decades, relative_norms


def test_log_heatmap_is_the_log_of_the_norms_with_zero_at_the_floor():
    r = GradientRace(T=8, seed=1)
    empty = r.log_heatmap("RNN", relative=True, max_rows=5)
    assert (empty["rows"], empty["low"], empty["high"], empty["finite_cols"]) == (0, 0.0, 1.0, 0)
    assert all(math.isnan(v) for v in empty["profile"]) and len(empty["profile"]) == 8
    r.step(7)
    steps, norms = r.grad_heatmap("LSTM", max_rows=4, spread=True)
    for relative in (False, True):
        hm = r.log_heatmap("LSTM", relative=relative, max_rows=4, floor=-6.0)
        np.testing.assert_array_equal(hm["steps"], steps)
        want = np.log10(relative_norms(norms) if relative else norms)
        np.testing.assert_allclose(hm["image"], want, rtol=1e-12)
        assert (hm["rows"], hm["low"], hm["high"]) == (4, steps[0] - 0.5, steps[-1] + 0.5)
        assert hm["profile"] == pytest.approx(list(norms[-1]), rel=1e-12) and hm["finite_cols"] == 8
    r.grad_rows["RNN"][-1][0] = 0.0                       # a vanished gradient: at the floor, not -inf
    hm = r.log_heatmap("RNN", relative=False, max_rows=3, floor=-8.0)
    assert hm["image"][-1, 0] == -8.0 and math.isnan(hm["profile"][0])
    with pytest.raises(ValueError):
        r.log_heatmap("GRU", relative=True)


def test_log_decades_spans_whole_powers_of_ten():
    assert log_decades([0.03, 2.0, math.nan, -1.0, 0.0]) == (0.01, 10.0)
    assert log_decades([1.0]) == (1.0, 10.0)              # at least one decade
    assert log_decades([math.nan, 0.0]) is None


def test_gate_values_read_one_unit_at_one_time_step():
    r = GradientRace(T=6, seed=2)
    r.step(2)
    g = r.gates(1)
    v = r.gate_values(g, 3, 2)
    assert v["f"] == g["gates"]["f"][3, 2] and v["g"] == g["gates"]["g"][3, 2]
    assert v["c_prev"] == g["c"][2, 2] and v["h"] == g["h"][3, 2]
    assert v["c"] == pytest.approx(v["f"] * v["c_prev"] + v["i"] * v["g"], rel=1e-12)   # the cell's update
    first = r.gate_values(g, 0, 0)
    assert first["c_prev"] == first["h_prev"] == 0.0
    with pytest.raises(ValueError):
        r.gate_values(g, 6, 0)
    with pytest.raises(ValueError):
        r.gate_values(g, 0, r.hidden)
