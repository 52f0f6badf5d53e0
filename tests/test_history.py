"""pyfadml.history.History.mean_after: the rows trained since a plot's last point, as one point."""
from __future__ import annotations

import math

import pytest

from pyfadml.history import History


def test_mean_after_averages_the_rows_after_a_step():
    h = History(("step", "loss", "kl"))
    assert h.mean_after(0) is None
    for step, loss, kl in ((1, 4.0, 1.0), (2, 2.0, math.nan), (3, 3.0, 5.0), (5, 1.0, math.nan)):
        h.append({"step": step, "loss": loss, "kl": kl})
    assert h.mean_after(0) == {"step": 5, "loss": 2.5, "kl": 3.0}       # NaN left out
    assert h.mean_after(2) == {"step": 5, "loss": 2.0, "kl": 5.0}
    assert h.mean_after(4) == {"step": 5, "loss": 1.0, "kl": pytest.approx(math.nan, nan_ok=True)}
    assert h.mean_after(5) is None and h.mean_after(9) is None
