"""pyfadml.demos.latent_space: the numbers the VAE section's plane and histogram draw, driven natively."""
from __future__ import annotations

import numpy as np
import pytest

from pyfadml.demos.generative import GenerativeDemo


@pytest.mark.parametrize("latent", [2, 4])
def test_latent_plane_reports_its_reach_and_the_codes_statistics(latent):
    g = GenerativeDemo(latent=latent, seed=1, dtype="float64")
    g.step(20)
    for kind in ("ae", "vae"):
        lp = g.latent_plane(kind)
        assert lp["reach"] == pytest.approx(max(np.abs(lp["u"]).max(), np.abs(lp["v"]).max()), rel=1e-12)
        stats = g.code_stats(kind)
        np.testing.assert_allclose(lp["mean"], stats["mean"], rtol=1e-12)
        np.testing.assert_allclose(lp["std"], stats["std"], rtol=1e-12)
        assert lp["mean"].shape == (latent,)


def test_error_histogram_counts_every_finite_error_up_to_its_top():
    g = GenerativeDemo(seed=2)
    errors = g.error_distribution("vae")
    h = g.error_histogram(errors, bins=12)
    assert h["top"] == pytest.approx(1.15 * np.percentile(errors, 99.5))
    assert len(h["left"]) == len(h["right"]) == len(h["counts"]) == 12
    assert h["left"][0] == 0.0 and h["right"][-1] == pytest.approx(h["top"])
    assert h["counts"].sum() == errors.size                       # the largest errors land in the last bin
    with_nan = g.error_histogram(np.array([0.5, np.nan, 1.0, np.inf]), bins=4, top_percentile=100)
    assert with_nan["counts"].sum() == 2 and with_nan["top"] == pytest.approx(1.15)
    assert g.error_histogram(np.zeros(5), bins=3)["top"] == 1.0   # no spread at all: a unit axis
    assert g.error_histogram(np.array([np.nan])) is None
    with pytest.raises(ValueError):
        g.error_histogram(errors, bins=0)
