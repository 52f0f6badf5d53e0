"""The training loop, one mini-batch at a time.

``Trainer.step()`` does exactly one iteration of

    pick the next mini-batch  ->  forward  ->  loss (+ the model's aux_loss)  ->  backward
    ->  check loss and gradients are finite  ->  (clip)  ->  optimizer update

and returns a small record, so a live UI can call it from a timer and plot as it goes; ``fit(steps)`` is
just a loop over ``step()``. Mini-batches come from a fresh random permutation of the data each epoch
(drawn from the trainer's own ``rng``), so a run with the same seeds repeats bit for bit.
"""
from __future__ import annotations

import math
import time

import numpy as np

from pyfadml._checks import as_rng, check_array, check_finite, check_float, check_int
from pyfadml.failsafe import (  # noqa: F401  (_UNCHANGED: re-exported for the demos)
    _UNCHANGED, DIVERGENCE_REASONS, Checkpoint, DivergenceError, FailSafe, Threshold,
)
from pyfadml.history import History
from pyfadml.losses import get_loss, loss_name
from pyfadml.metrics import CLASSIFICATION_LOSSES, METRICS, accuracy
from pyfadml.optim import Optimizer, clip_grad_norm, get_optimizer, grad_norm

__all__ = ["Trainer", "DivergenceError", "DIVERGENCE_REASONS", "run_for", "accuracy"]


def run_for(step, seconds: float, *, max_steps: int | None = None, where: str = "train_for") -> int:
    """Call ``step()`` until ``seconds`` have passed (at least once) or ``max_steps`` calls are done.

    The time-boxed burst of a live page (short enough to keep it responsive). Returns the number of calls
    that returned; an exception from ``step`` (a DivergenceError) propagates.
    """
    seconds = check_float(seconds, f"{where}: seconds", minimum=0.0)
    if max_steps is not None:
        max_steps = check_int(max_steps, f"{where}: max_steps", minimum=0)
    deadline = time.perf_counter() + seconds
    done = 0
    while max_steps is None or done < max_steps:
        step()
        done += 1
        if time.perf_counter() >= deadline:
            break
    return done


class Trainer(FailSafe):
    """Trains ``model`` on (X, y) with ``loss`` and ``optimizer``, one mini-batch per :meth:`step`.

    model: a Sequential/Autoencoder/VAE (forward, backward, parameters, zero_grad, train/eval).
    loss: a name ("half_se", "mse", "cross_entropy", "bce_logits") or a function (pred, y) -> (loss, grad).
    optimizer: an optimizer object or a name for :func:`pyfadml.optim.get_optimizer`.
    X, y: the training set, first axis = samples (for an autoencoder pass y = X).
    batch_size: samples per step (the last batch of an epoch may be smaller).
    rng: Generator or int seed, used only for shuffling.
    X_val, y_val: optional validation set, evaluated every ``eval_every`` steps (default: once an epoch)
    into ``val_loss`` / ``val_<metric>`` entries of that step's record and a row of ``val_history``.
    clip_norm: if given, the gradients' joint L2 norm is clipped to it before each update (settable).
    metrics: ("accuracy",) or (); None (default) means accuracy for classification losses, none otherwise.
    callbacks: functions called as ``cb(trainer, record)`` after every step.

    Failing safe. A step is refused, with the parameters and the optimizer's state left as they were, and a
    :class:`DivergenceError` raised, when

    * the loss, a gradient or an update is NaN or infinite (``reason="nonfinite"``);
    * the loss exceeds ``max_loss_ratio`` (default 1e3) times its starting level, the loss of the first
      step (``"loss_explosion"``);
    * the update would move the weights by more than ``max_update_ratio`` (default 10) times their own
      size: ||delta W|| > max_update_ratio * max(||W||, 1), norms over all trainable parameters together
      (``"update_explosion"``). Healthy steps move the weights by a few thousandths of their size; on the
      MLP demo's 240 settings with SGD at lr 1 to 10, every run whose steps reached 25 times the weights'
      size ended at chance accuracy or in NaN, while runs up to 16 times could still reach 100 %.

    ``None`` switches a check off. Every ``checkpoint_every`` (default 10) steps the Trainer copies the
    parameters; a copy becomes the *last good* checkpoint once another ``checkpoint_every`` steps have
    succeeded after it (the start, step 0, is good from the outset), so the last good weights are from
    10 to 20 steps before a failure. :meth:`recover` goes back there and continues with a new learning rate
    or clipping.

    ``history`` is a :class:`~pyfadml.history.History` with one row per step: ``step``, ``loss``, each
    metric, ``grad_norm`` and the model's ``last_parts`` (a VAE's ``recon`` and ``kl``); ``val_history`` one
    row per validation: ``step``, ``loss``, each metric. ``last_batch`` holds the sample indices of the
    last step's mini-batch; ``seconds`` the wall-clock time spent in steps and ``steps_per_second`` the rate.
    """

    def __init__(self, model, loss, optimizer, X, y, *, batch_size: int = 32, rng, X_val=None, y_val=None,
                 clip_norm: float | None = None, metrics=None, callbacks=(), eval_every: int | None = None,
                 max_update_ratio: float | None = 10.0, max_loss_ratio: float | None = 1e3,
                 checkpoint_every: int = 10):
        for attr in ("forward", "backward", "parameters", "zero_grad"):
            if not callable(getattr(model, attr, None)):
                raise TypeError(f"Trainer: model must have a {attr}() method (a Sequential, Autoencoder or "
                                f"VAE), got {type(model).__name__}")
        self.model = model
        if isinstance(loss, str):
            self.loss_fn = get_loss(loss)
        elif callable(loss):
            self.loss_fn = loss
        else:
            raise TypeError(f"Trainer: loss must be a loss name or a function, got {type(loss).__name__}")
        self.loss_name = loss_name(self.loss_fn)
        if isinstance(optimizer, str):
            optimizer = get_optimizer(optimizer)
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"Trainer: optimizer must be an Optimizer (SGD, Adam) or its name, "
                            f"got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.X, self.y = self._check_data(X, y, "X", "y")
        if (X_val is None) != (y_val is None):
            raise ValueError("Trainer: give both X_val and y_val, or neither")
        self.X_val, self.y_val = (None, None) if X_val is None else self._check_data(X_val, y_val, "X_val", "y_val")
        if self.X_val is not None and (self.X_val.shape[1:] != self.X.shape[1:]
                                       or self.y_val.shape[1:] != self.y.shape[1:]):
            raise ValueError(f"Trainer: X_val and y_val must have samples shaped like X and y, "
                             f"{self.X.shape[1:]} and {self.y.shape[1:]}; got {self.X_val.shape[1:]} and "
                             f"{self.y_val.shape[1:]}")
        self.batch_size = check_int(batch_size, "Trainer: batch_size")
        self.rng = as_rng(rng, "Trainer: rng")
        self.clip_norm = clip_norm
        self.max_update_ratio = max_update_ratio
        self.max_loss_ratio = max_loss_ratio
        self.checkpoint_every = check_int(checkpoint_every, "Trainer: checkpoint_every")
        if metrics is None:
            metrics = ("accuracy",) if self.loss_name in CLASSIFICATION_LOSSES else ()
        if isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
            raise TypeError(f"Trainer: metrics must be a tuple of names such as ('accuracy',), got {metrics!r}")
        for m in metrics:
            if m not in METRICS:
                raise ValueError(f"Trainer: unknown metric {m!r}; expected one of {list(METRICS)}")
        if metrics and self.loss_name in ("half_se", "mse"):
            raise ValueError(f"Trainer: metrics {tuple(metrics)} need a classification loss "
                             f"(cross_entropy or bce_logits), got loss {self.loss_name!r}; use metrics=()")
        self.metrics = tuple(metrics)
        self.callbacks = [callbacks] if callable(callbacks) else callbacks
        self._eval_every = None if eval_every is None else check_int(eval_every, "Trainer: eval_every")
        self.step_count = 0
        self.epoch = 0
        self.divergence: DivergenceError | None = None
        self.history = History()
        self.val_history = History()
        self.last_batch = np.empty(0, dtype=np.intp)
        self.seconds = 0.0
        self.updates = 0                  # successful steps ever taken (recover does not undo them)
        self._perm = np.empty(0, dtype=np.intp)
        self._pos = 0
        self._good: Checkpoint | None = None
        self._pending: Checkpoint | None = None

    # ------------------------------------------------------------------------------------------
    # settings
    # ------------------------------------------------------------------------------------------

    @property
    def batch_size(self) -> int:
        """Samples per step; may be changed between steps (takes effect at the next batch)."""
        return self._batch_size

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        self._batch_size = check_int(value, "Trainer: batch_size")

    clip_norm = Threshold(0.0, "gradient-norm clipping threshold (None = no clipping)")
    max_update_ratio = Threshold(0.0, "update-explosion limit ||delta W|| / max(||W||, 1) (None = off)")
    max_loss_ratio = Threshold(1.0, "loss-explosion limit, loss / first loss (None = off)")

    @property
    def callbacks(self) -> list:
        return self._callbacks

    @callbacks.setter
    def callbacks(self, value) -> None:
        if value is None or isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise TypeError(f"Trainer: callbacks must be a list of functions cb(trainer, record) (or () for "
                            f"none), got {type(value).__name__}")
        value = list(value)
        for i, cb in enumerate(value):
            if not callable(cb):
                raise TypeError(f"Trainer: callbacks[{i}] must be callable, got {type(cb).__name__}")
        self._callbacks = value

    @property
    def steps_per_epoch(self) -> int:
        """ceil(N / batch_size): the steps that make one pass over the training set."""
        return math.ceil(self.X.shape[0] / self.batch_size)

    @property
    def eval_every(self) -> int:
        """Validation interval in steps (default: steps_per_epoch)."""
        return self.steps_per_epoch if self._eval_every is None else self._eval_every

    @property
    def diverged(self) -> bool:
        """True after a refused step, until a step succeeds or :meth:`recover` is called."""
        return self.divergence is not None

    @property
    def steps_per_second(self) -> float:
        """Successful steps per second of time spent in :meth:`step` (0 before the first)."""
        return self.updates / self.seconds if self.seconds > 0 else 0.0

    @property
    def last_good_step(self) -> int:
        """The step :meth:`recover` would go back to."""
        return 0 if self._good is None else self._good.step

    # ------------------------------------------------------------------------------------------
    # data
    # ------------------------------------------------------------------------------------------

    def _check_data(self, X, y, xname: str, yname: str):
        X = check_finite(check_array(X, f"Trainer: {xname}"), f"Trainer: {xname}")
        if X.ndim < 2 or X.shape[0] == 0:
            raise ValueError(f"Trainer: {xname} must be (N, ...) with N >= 1 samples, got shape {X.shape}")
        y = np.asarray(y)
        if np.iscomplexobj(y) or y.dtype == object or not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
            raise TypeError(f"Trainer: {yname} must hold real numbers (labels or targets), got dtype {y.dtype}")
        if np.issubdtype(y.dtype, np.floating):
            check_finite(y, f"Trainer: {yname}")
        if y.ndim == 0 or y.shape[0] != X.shape[0]:
            raise ValueError(f"Trainer: {yname} must have one entry per sample ({X.shape[0]}), "
                             f"got shape {y.shape}")
        return X, y

    def _next_indices(self) -> np.ndarray:
        if self._pos >= self._perm.size:
            self._perm = self.rng.permutation(self.X.shape[0])
            self._pos = 0
            if self.step_count:
                self.epoch += 1
        idx = self._perm[self._pos:self._pos + self.batch_size]
        self._pos += idx.size
        return idx

    def _as_model_dtype(self, x: np.ndarray) -> np.ndarray:
        dt = getattr(self.model, "dtype", None)
        if dt is not None and np.issubdtype(x.dtype, np.floating) and x.dtype != dt:
            return x.astype(dt)
        return x

    def _targets(self, y: np.ndarray) -> np.ndarray:
        if np.issubdtype(y.dtype, np.floating):
            return self._as_model_dtype(y)
        return y

    def _total_loss(self, out, y):
        result = self.loss_fn(out, y)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(f"Trainer: the loss function must return (loss, dL/dpred), got "
                            f"{type(result).__name__}")
        loss, dout = result
        if isinstance(loss, np.ndarray) and loss.size == 1:
            loss = loss.item()
        if isinstance(loss, (bool, np.bool_)) or not isinstance(loss, (int, float, np.integer, np.floating)):
            raise TypeError(f"Trainer: the loss function must return the batch loss as one number (the mean "
                            f"over the batch), got {type(loss).__name__} of shape {np.shape(loss)}")
        loss = float(loss)
        aux = getattr(self.model, "aux_loss", None)
        if callable(aux):
            loss += float(aux())
        return loss, dout

    # ------------------------------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------------------------------

    def step(self) -> dict:
        """One mini-batch: forward, loss, backward, checks, clip, update. Returns the step's record.

        Raises DivergenceError (parameters, optimizer state and the batch position untouched) when the
        step would diverge; see the class docstring.
        """
        t0 = time.perf_counter()
        if self._good is None:
            self._good = Checkpoint(self)
        position = (self._perm, self._pos, self.epoch, None)
        if self._pos >= self._perm.size:      # this step draws a new permutation: remember the rng
            position = position[:3] + (self.rng.bit_generator.state,)
        try:
            # overflow on the way to a NaN/inf is reported once, as a DivergenceError, not as NumPy warnings
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                record = self._step()
        except DivergenceError as err:
            self._perm, self._pos, self.epoch, rng_state = position
            if rng_state is not None:
                self.rng.bit_generator.state = rng_state
            self.divergence = err
            raise
        finally:
            self.seconds += time.perf_counter() - t0
        for cb in self.callbacks:
            cb(self, record)
        return record

    def train_for(self, seconds: float, *, max_steps: int | None = None) -> int:
        """Take steps until ``seconds`` have passed (at least one step) or ``max_steps`` are done.

        Made for live UIs: a burst short enough to keep a page responsive. Returns the number of steps
        taken; they are the same steps ``step()`` would take, only how many depends on the clock.
        A DivergenceError propagates.
        """
        return run_for(self.step, seconds, max_steps=max_steps, where="Trainer.train_for")

    def _step(self) -> dict:
        k = self.step_count + 1
        idx = self._next_indices()
        self.last_batch = idx
        xb = self._as_model_dtype(self.X[idx])
        yb = self._targets(self.y[idx])
        model = self.model
        model.zero_grad()
        out = model.forward(xb)
        loss, dout = self._total_loss(out, yb)
        if not math.isfinite(loss):
            raise self._diverging(k, "loss", loss)
        ref = self._loss_reference()
        if self.max_loss_ratio is not None and ref is not None and ref > 0 and loss > self.max_loss_ratio * ref:
            raise self._diverging(k, "loss", loss, "loss_explosion", limit=self.max_loss_ratio, ratio=loss / ref)
        model.backward(dout)
        params = model.parameters()
        for name, _, g in params:
            if not np.all(np.isfinite(g)):
                raise self._diverging(k, f"the gradient of {name}", float(g[~np.isfinite(g)].flat[0]))
        if self.clip_norm is not None:
            norm = clip_grad_norm(params, self.clip_norm)
        else:
            norm = grad_norm(params)
        if not math.isfinite(norm):
            raise self._diverging(k, "the gradient norm", norm)
        self.optimizer.step(params, guard=self._check_update(k, norm))
        self.divergence = None
        self.step_count = k
        self.updates += 1

        record = {"step": k, "loss": loss}
        for m in self.metrics:
            record[m] = accuracy(out, yb, self.loss_name)
        record["grad_norm"] = norm
        for key, value in getattr(model, "last_parts", {}).items():
            record[key] = value
        self.history.append(record)
        self._checkpoint(k)
        if self.X_val is not None and k % self.eval_every == 0:
            val = self.evaluate(self.X_val, self.y_val)
            self.val_history.append({"step": k, **val})
            record = {**record, **{f"val_{key}": v for key, v in val.items()}}
        return record

    def evaluate(self, X, y, *, batch_size: int = 1024) -> dict:
        """Loss (including the model's aux_loss) and metrics on (X, y), in eval mode, without updating.

        Computed in chunks of ``batch_size`` and averaged by sample count. The model's mode is restored.
        """
        X, y = self._check_data(X, y, "evaluate: X", "evaluate: y")
        if self.X.shape[1:] != X.shape[1:]:
            raise ValueError(f"Trainer.evaluate: X must have samples of shape {self.X.shape[1:]} like the "
                             f"training set, got {X.shape[1:]}")
        batch_size = check_int(batch_size, "Trainer.evaluate: batch_size")
        model = self.model
        was_training = getattr(model, "training", True)
        if callable(getattr(model, "eval", None)):
            model.eval()
        totals = {"loss": 0.0, **{m: 0.0 for m in self.metrics}}
        try:
            n = X.shape[0]
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                for start in range(0, n, batch_size):
                    xb = self._as_model_dtype(X[start:start + batch_size])
                    yb = self._targets(y[start:start + batch_size])
                    out = model.forward(xb)
                    loss, _ = self._total_loss(out, yb)
                    w = xb.shape[0] / n
                    totals["loss"] += w * loss
                    for m in self.metrics:
                        totals[m] += w * accuracy(out, yb, self.loss_name)
        finally:
            if was_training and callable(getattr(model, "train", None)):
                model.train()
        return totals

    def fit(self, steps: int) -> dict:
        """Run ``steps`` calls of :meth:`step`; returns ``history``. A DivergenceError propagates."""
        steps = check_int(steps, "Trainer.fit: steps", minimum=0)
        for _ in range(steps):
            self.step()
        return self.history
