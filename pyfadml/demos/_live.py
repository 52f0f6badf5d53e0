"""What every live demo shares: its settings read through to the library's Trainer.

A demo holds a :class:`pyfadml.train.Trainer` as ``self.trainer``; the page changes the learning rate or the
batch size between bursts of training, and reads the step count and the divergence flag, through these.
"""
from __future__ import annotations

from pyfadml._checks import check_float, check_int


class TrainerDemo:
    """Mixin: ``lr``, ``batch_size``, ``step_count``, ``diverged`` and ``train_for`` of ``self.trainer``."""

    trainer = None  # set by the demo's constructor / reset

    @property
    def lr(self) -> float:
        return self.trainer.optimizer.lr

    @lr.setter
    def lr(self, value: float) -> None:
        self.trainer.optimizer.lr = check_float(value, f"{type(self).__name__}: lr", minimum=0.0, strict=True)

    @property
    def batch_size(self) -> int:
        return self.trainer.batch_size

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        self.trainer.batch_size = check_int(value, f"{type(self).__name__}: batch_size")

    @property
    def step_count(self) -> int:
        """Number of completed training steps (updates)."""
        return self.trainer.step_count

    @property
    def diverged(self) -> bool:
        return self.trainer.diverged

    def train_for(self, seconds: float, *, max_steps: int | None = None) -> int:
        """Train until ``seconds`` have passed (at least one step) or ``max_steps`` are done; see
        :meth:`pyfadml.train.Trainer.train_for`. Returns the number of steps taken."""
        return self.trainer.train_for(seconds, max_steps=max_steps)
