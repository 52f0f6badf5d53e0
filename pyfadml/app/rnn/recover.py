"""``recover(lr=, clip_norm=)`` for the RNN section's demos, as :class:`~pyfadml.app.live.LiveTraining` calls it.

A demo that has its own ``recover`` (the fail-safe Trainer's checkpoints) is returned as it is. Otherwise
the refused step never touched the weights (the Trainer checks the loss and the gradients, the race's
guard undoes an exploding update), so recovering means: go on from the current weights with the new
learning rate and clipping.
"""
from __future__ import annotations

_UNCHANGED = object()


def recoverable(demo):
    """``demo`` with a ``recover(lr=None, clip_norm=...)`` method returning the step it goes on from."""
    if callable(getattr(demo, "recover", None)):
        return demo

    def recover(lr: float | None = None, clip_norm=_UNCHANGED) -> int:
        if lr is not None:
            demo.lr = lr
        if clip_norm is not _UNCHANGED:
            demo.clip_norm = clip_norm
        if hasattr(demo, "last_error"):
            demo.last_error = None
        return int(demo.step_count)

    demo.recover = recover
    return demo
