"""How training fails safe: the error a refused step raises, the thresholds of the checks, the checkpoint.

:class:`~pyfadml.train.Trainer` uses these and inherits the checks and :meth:`FailSafe.recover` from
:class:`FailSafe`; see its docstring for the rules. Kept apart so that the training loop in
:mod:`pyfadml.train` reads as the loop it is.
"""
from __future__ import annotations

import math

import numpy as np

from pyfadml._checks import check_float

DIVERGENCE_REASONS = ("nonfinite", "loss_explosion", "update_explosion")
_UNCHANGED = object()


class DivergenceError(RuntimeError):
    """A training step was refused because training is diverging; the parameters were not updated.

    Attributes: ``step`` (the refused step, counted from 1), ``quantity`` (what went wrong: "loss", "the
    gradient of 0.W", "the update"), ``value`` (its offending number), ``reason`` (one of
    :data:`DIVERGENCE_REASONS`: ``"nonfinite"`` NaN/inf, ``"loss_explosion"`` the loss grew far above its
    starting level, ``"update_explosion"`` the update would move the weights by more than their own size),
    ``last_good_step`` (the step of the checkpoint that :meth:`Trainer.recover` returns to, or None),
    ``limit`` (the threshold that was crossed, or None), ``ratio`` (value / reference for the explosions),
    ``grad_norm`` and ``weight_norm`` (for an update explosion: the gradient norm and ||W|| before it).
    """

    def __init__(self, step: int, quantity: str, value: float, reason: str = "nonfinite", *,
                 last_good_step: int | None = None, limit: float | None = None, ratio: float | None = None,
                 grad_norm: float | None = None, weight_norm: float | None = None):
        if reason not in DIVERGENCE_REASONS:
            raise ValueError(f"DivergenceError: reason must be one of {DIVERGENCE_REASONS}, got {reason!r}")
        self.step, self.quantity, self.value, self.reason = step, quantity, value, reason
        self.last_good_step, self.limit, self.ratio = last_good_step, limit, ratio
        self.grad_norm, self.weight_norm = grad_norm, weight_norm
        if reason == "loss_explosion":
            what = f"the loss jumped to {value:.3g}, {ratio:.3g} times its starting level"
        elif reason == "update_explosion":
            what = f"the update would move the weights by {ratio:.3g} times their own size"
        else:
            what = f"{quantity} is {value}"
        kept = "" if last_good_step is None else f"; training can resume from step {last_good_step}"
        super().__init__(f"Training diverged at step {step}: {what}. Lower the learning rate or turn on "
                         f"gradient clipping{kept}.")


class Threshold:
    """A Trainer setting that is a number > ``minimum`` or None (off), checked whenever it is set."""

    def __init__(self, minimum: float, doc: str):
        self.minimum, self.__doc__ = minimum, doc

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, obj, objtype=None):
        return self if obj is None else obj.__dict__[self.name]

    def __set__(self, obj, value) -> None:
        obj.__dict__[self.name] = None if value is None else check_float(
            value, f"Trainer: {self.name}", minimum=self.minimum, strict=True)


class Checkpoint:
    """Copies of the trainable parameters after ``step`` steps, and where the mini-batches were."""

    def __init__(self, trainer: "pyfadml.train.Trainer"):
        self.step = trainer.step_count
        self.params = {name: p.copy() for name, p, _ in trainer.model.parameters()}
        self.position = (trainer._perm, trainer._pos, trainer.epoch, trainer.rng.bit_generator.state)
        model_rng = getattr(trainer.model, "rng", None)
        self.model_rng = model_rng.bit_generator.state if isinstance(model_rng, np.random.Generator) else None

    def restore(self, trainer: "pyfadml.train.Trainer") -> None:
        for name, p, _ in trainer.model.parameters():
            if name in self.params:
                p[...] = self.params[name]
        trainer._perm, trainer._pos, trainer.epoch, rng_state = self.position
        trainer.rng.bit_generator.state = rng_state
        if self.model_rng is not None:
            trainer.model.rng.bit_generator.state = self.model_rng
        trainer.step_count = self.step


class FailSafe:
    """The Trainer's divergence checks, checkpoints and :meth:`recover` (a mixin of
    :class:`~pyfadml.train.Trainer`, which holds the attributes these read: ``model``, ``optimizer``,
    ``history``, ``max_update_ratio``, ``checkpoint_every``, ``_good``, ``_pending``, ...)."""

    def _diverging(self, k: int, quantity: str, value: float, reason: str = "nonfinite", **kw):
        return DivergenceError(k, quantity, value, reason, last_good_step=self.last_good_step, **kw)

    def _loss_reference(self) -> float | None:
        losses = self.history.get("loss")
        return losses[0] if losses else None

    def _check_update(self, k: int, grad_norm: float):
        limit = self.max_update_ratio

        def guard(triples, deltas):
            update = math.sqrt(sum(float(np.dot(d.ravel(), d.ravel())) for d in deltas))
            if not math.isfinite(update):
                raise self._diverging(k, "the update", update)
            if limit is None:
                return
            weights = math.sqrt(sum(float(np.dot(p.ravel(), p.ravel())) for _, p, _ in triples))
            ratio = update / max(weights, 1.0)
            if ratio > limit:
                raise self._diverging(k, "the update", update, "update_explosion", limit=limit, ratio=ratio,
                                      grad_norm=grad_norm, weight_norm=weights)
        return guard

    def _checkpoint(self, k: int) -> None:
        if k % self.checkpoint_every == 0:
            if self._pending is not None:
                self._good = self._pending       # checkpoint_every good steps followed it
            self._pending = Checkpoint(self)

    def recover(self, lr=None, clip_norm=_UNCHANGED) -> int:
        """Go back to the last good checkpoint and continue from there, e.g. after a DivergenceError.

        Restores the parameters, the step count and the mini-batch order of that checkpoint, drops the
        history rows after it, forgets the optimizer's state (momentum, Adam's moments), sets ``lr`` and
        ``clip_norm`` when given (``clip_norm=None`` turns clipping off) and clears :attr:`diverged`.
        Returns the step it resumed from (``step_count`` is now that step).
        """
        if lr is not None:
            lr = check_float(lr, "Trainer.recover: lr", minimum=0.0, strict=True)
        if clip_norm is not _UNCHANGED and clip_norm is not None:
            clip_norm = check_float(clip_norm, "Trainer.recover: clip_norm", minimum=0.0, strict=True)
        if self._good is None:
            self._good = Checkpoint(self)
        good = self._good
        good.restore(self)
        self._pending = None
        self.history.truncate(good.step)
        self.val_history.truncate(good.step)
        self.optimizer.reset()
        if lr is not None:
            self.optimizer.lr = lr
        if clip_norm is not _UNCHANGED:
            self.clip_norm = clip_norm
        self.divergence = None
        return good.step
