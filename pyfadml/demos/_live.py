"""What every live demo shares: its settings read through to the library's Trainer(s).

A demo holds a :class:`pyfadml.train.Trainer` as ``self.trainer`` (or several, the same mini-batches in
lock-step, as a dict ``self.trainers``); the page changes the learning rate, the batch size or the clipping
between bursts of training, reads the step count and the divergence state, and recovers after a
divergence, through these.
"""
from __future__ import annotations

from pyfadml._checks import check_float, check_int
from pyfadml.io import check_same, copy_weights
from pyfadml.train import _UNCHANGED, DivergenceError, run_for


class TrainerDemo:
    """Mixin: ``lr``, ``batch_size``, ``clip_norm``, ``step_count``, ``diverged``, ``divergence``,
    ``recover`` and ``train_for`` over ``self.trainer`` (or every trainer of ``self.trainers``).

    A demo implements ``step(n)`` and may override ``_recovered(step)`` to drop what it computed after
    ``step`` (histories, caches). A demo that takes a model from a file implements ``settings_for(model)``:
    the settings that make its own model the same architecture (ValueError naming the misfit otherwise);
    :meth:`load_weights` then puts the file's weights into it.
    """

    trainer = None  # set by the demo's constructor / reset

    def _all_trainers(self) -> list:
        trainers = getattr(self, "trainers", None)
        return list(trainers.values()) if trainers else [self.trainer]

    @property
    def lr(self) -> float:
        return self._all_trainers()[0].optimizer.lr

    @lr.setter
    def lr(self, value: float) -> None:
        value = check_float(value, f"{type(self).__name__}: lr", minimum=0.0, strict=True)
        for tr in self._all_trainers():
            tr.optimizer.lr = value

    @property
    def batch_size(self) -> int:
        return self._all_trainers()[0].batch_size

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        value = check_int(value, f"{type(self).__name__}: batch_size")
        for tr in self._all_trainers():
            tr.batch_size = value

    @property
    def clip_norm(self) -> float | None:
        """Gradient-norm clipping threshold of every trainer (None = off)."""
        return self._all_trainers()[0].clip_norm

    @clip_norm.setter
    def clip_norm(self, value: float | None) -> None:
        if value is not None:
            value = check_float(value, f"{type(self).__name__}: clip_norm", minimum=0.0, strict=True)
        for tr in self._all_trainers():
            tr.clip_norm = value

    @property
    def step_count(self) -> int:
        """Number of completed training steps (updates; of every model, when there are several)."""
        return min(tr.step_count for tr in self._all_trainers())

    @property
    def divergence(self) -> DivergenceError | None:
        """The DivergenceError of the last refused step, or None (cleared by a good step or ``recover``)."""
        for tr in self._all_trainers():
            if tr.divergence is not None:
                return tr.divergence
        return None

    @property
    def diverged(self) -> bool:
        """True after a refused step, until a step succeeds or :meth:`recover` is called."""
        return self.divergence is not None

    def recover(self, lr: float | None = None, clip_norm=_UNCHANGED) -> int:
        """Go back to the last good weights and continue (see :meth:`pyfadml.train.Trainer.recover`).

        ``lr`` (if given) and ``clip_norm`` (if given; None = off) apply from there. The demo's own records
        after that step are dropped. Returns the step training resumes from (the new ``step_count``).
        """
        name = type(self).__name__
        if lr is not None:
            lr = check_float(lr, f"{name}.recover: lr", minimum=0.0, strict=True)
        if clip_norm is not _UNCHANGED and clip_norm is not None:
            clip_norm = check_float(clip_norm, f"{name}.recover: clip_norm", minimum=0.0, strict=True)
        step = min([tr.recover(lr=lr, clip_norm=clip_norm) for tr in self._all_trainers()])
        self._lockstep = {}
        self._recovered(step)
        return step

    def _recovered(self, step: int) -> None:
        history = getattr(self, "history", None)
        if history is not None:
            history.truncate(step)

    def load_weights(self, model, name: str = "the model", *, target: str | None = None) -> None:
        """Copy the weights of ``model`` (e.g. from :func:`pyfadml.load`) into this demo's model (or into
        ``self.models[target]``); ValueError naming the first difference, with nothing changed, unless the
        architectures are the same. What the demo computed from the old weights (caches) is dropped; its
        history keeps its rows (``evaluate()`` again records the loaded weights)."""
        mine = self.model if target is None else self.models[target]
        check_same(name, model, mine, whose="the demo's")
        copy_weights(mine, model)
        self._recovered(self.step_count)

    def _step_all(self) -> dict:
        """One lock-step: every trainer that has not yet done step ``step_count + 1`` takes it.

        Returns ``{name: record}`` of every trainer for that step. A DivergenceError propagates; the models
        that already stepped keep their step (and record) and the next call completes it for the others.
        """
        k = self.step_count + 1
        done = self.__dict__.get("_lockstep", {}) if self.__dict__.get("_lockstep_k") == k else {}
        self._lockstep, self._lockstep_k = done, k
        for name, tr in self.trainers.items():
            if tr.step_count < k:
                done[name] = tr.step()
        self._lockstep = {}
        return done

    def train_for(self, seconds: float, *, max_steps: int | None = None) -> int:
        """Train until ``seconds`` have passed (at least one step) or ``max_steps`` are done (see
        :func:`pyfadml.train.run_for`). Returns the number of steps taken; a DivergenceError propagates."""
        return run_for(lambda: self.step(1), seconds, max_steps=max_steps,
                       where=f"{type(self).__name__}.train_for")
