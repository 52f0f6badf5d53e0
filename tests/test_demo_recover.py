"""Every demo that trains fails safe the same way: diverged / divergence / clip_norm / recover(lr, clip_norm)."""
from __future__ import annotations

import numpy as np
import pytest

from pyfadml import DivergenceError
from pyfadml.demos.cnn import CNNDemo
from pyfadml.demos.generative import GenerativeDemo
from pyfadml.demos.gradients import GradientRace
from pyfadml.demos.mlp import MLPDemo
from pyfadml.demos.sequence import SequenceDemo

DEMOS = {
    "mlp": (lambda: MLPDemo(dataset="moons", activation="relu", depth=2, breadth=8, lr=0.3), 1e4, 0.1),
    "cnn": (lambda: CNNDemo(n_samples=120, batch_size=16), 1e6, 0.01),
    "sequence": (lambda: SequenceDemo(n_train=64, n_test=16, clip_norm=None, optimizer="sgd", lr=0.3), 1e5, 0.3),
    "generative": (lambda: GenerativeDemo(batch_size=32, lr=0.01), 1e4, 0.01),
    "race": (lambda: GradientRace(T=10, n_train=64, n_test=8, optimizer="sgd", clip_norm=None), 1e5, 0.1),
}


def _weights(demo):
    models = demo.models.values() if isinstance(getattr(demo, "models", None), dict) else [demo.model]
    return [p.copy() for m in models for _, p, _ in m.parameters()]


@pytest.mark.parametrize("kind", list(DEMOS))
def test_diverge_then_recover_with_a_smaller_learning_rate(kind):
    make, huge, good = DEMOS[kind]
    d = make()
    d.step(23)
    if hasattr(d, "evaluate"):
        d.evaluate()
    assert not d.diverged and d.divergence is None
    d.lr = huge
    with pytest.raises(DivergenceError) as info:
        d.step(20)
    err = info.value
    assert d.diverged and d.divergence is err and err.reason in ("nonfinite", "loss_explosion", "update_explosion")
    assert err.last_good_step in (0, 10, 20) and all(np.all(np.isfinite(w)) for w in _weights(d))
    start = d.recover(lr=good)
    assert start == err.last_good_step == d.step_count and not d.diverged and d.divergence is None
    assert d.lr == good
    histories = [h for h in (getattr(d, "history", None), getattr(d, "eval_history", None),
                             getattr(d, "evals", None)) if h is not None]
    for h in histories:
        assert all(s <= start for s in h["step"])
    d.step(25)
    assert d.step_count == start + 25 and not d.diverged


@pytest.mark.parametrize("kind", list(DEMOS))
def test_clip_norm_is_read_and_set_on_every_trainer(kind):
    d = DEMOS[kind][0]()
    d.clip_norm = 0.5
    trainers = list(d.trainers.values()) if isinstance(getattr(d, "trainers", None), dict) else [d.trainer]
    assert d.clip_norm == 0.5 and all(tr.clip_norm == 0.5 for tr in trainers)
    d.clip_norm = None
    assert d.clip_norm is None and all(tr.clip_norm is None for tr in trainers)
    with pytest.raises(ValueError, match="clip_norm must be > 0"):
        d.clip_norm = 0.0
    with pytest.raises(ValueError, match="recover: lr"):
        d.recover(lr=-1.0)
    d.step(2)
    assert d.recover(clip_norm=2.0) == 0 and d.clip_norm == 2.0 and d.step_count == 0


def test_mlp_recovers_and_learns_after_a_divergence():
    d = MLPDemo(dataset="xor", lr=0.1)
    d.step(30)
    d.lr = 1e4
    with pytest.raises(DivergenceError):
        d.step(1)
    assert d.recover(lr=0.1) == 20
    first = d.evaluate()["train_loss"]
    d.step(400)
    assert d.evaluate()["train_loss"] < 0.5 * first
    assert d.inspect(1)["step"] == d.step_count


def test_the_race_recovers_with_clipping():
    r = GradientRace(T=30, recurrent_scale=5.0, clip_norm=None, optimizer="sgd", n_train=64, n_test=8, seed=0)
    with pytest.raises(DivergenceError):
        r.step(1)
    assert r.recover(clip_norm=1.0) == 0
    r.step(5)
    assert r.step_count == 5 and not r.diverged
