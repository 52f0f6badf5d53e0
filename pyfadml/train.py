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

from pyfadml._checks import as_rng, check_array, check_float, check_int
from pyfadml.losses import get_loss, loss_name
from pyfadml.optim import Optimizer, clip_grad_norm, get_optimizer, grad_norm

METRICS = ("accuracy",)
CLASSIFICATION_LOSSES = ("cross_entropy", "bce_logits")


class DivergenceError(RuntimeError):
    """Training produced a NaN or infinite loss or gradient; the parameters were not updated.

    Attributes: ``step`` (the step that failed, counted from 1), ``quantity`` ("loss" or the parameter
    name), ``value`` (the offending number).
    """

    def __init__(self, step: int, quantity: str, value: float):
        self.step, self.quantity, self.value = step, quantity, value
        super().__init__(
            f"training diverged at step {step}: {quantity} is {value}. The parameters were left as they "
            f"were before this step. Try a smaller learning rate, or set clip_norm (gradient clipping).")


def accuracy(output: np.ndarray, y: np.ndarray, loss: str | None) -> float:
    """Fraction of correct predictions.

    Softmax outputs (N, K) / (N, T, K) with integer labels (N,) / (N, T): argmax over the last axis.
    Binary logits (N, 1) or (N,) with 0/1 targets: predicted class is 1 where the logit is > 0.
    """
    y = np.asarray(y)
    binary = loss == "bce_logits" or (loss is None and output.shape[-1] == 1 and output.ndim == 2)
    if binary:
        pred = (output > 0).reshape(output.shape[0], -1)
        return float(np.mean(pred == (y.reshape(pred.shape) > 0.5)))
    if output.shape[:-1] != y.shape:
        raise ValueError(f"accuracy: labels must have shape {output.shape[:-1]} for outputs "
                         f"{output.shape}, got {y.shape}")
    return float(np.mean(np.argmax(output, axis=-1) == y))


class Trainer:
    """Trains ``model`` on (X, y) with ``loss`` and ``optimizer``, one mini-batch per :meth:`step`.

    model: a Sequential/Autoencoder/VAE (forward, backward, parameters, zero_grad, train/eval).
    loss: a name ("half_se", "mse", "cross_entropy", "bce_logits") or a function (pred, y) -> (loss, grad).
    optimizer: an optimizer object or a name for :func:`pyfadml.optim.get_optimizer`.
    X, y: the training set, first axis = samples (for an autoencoder pass y = X).
    batch_size: samples per step (the last batch of an epoch may be smaller).
    rng: Generator or int seed, used only for shuffling.
    X_val, y_val: optional validation set, evaluated every ``eval_every`` steps (default: once an epoch)
    into ``val_loss`` / ``val_<metric>`` entries of that step's record.
    clip_norm: if given, the gradients' joint L2 norm is clipped to it before each update.
    metrics: ("accuracy",) or (); None (default) means accuracy for classification losses, none otherwise.
    callbacks: functions called as ``cb(trainer, record)`` after every step.

    ``history`` is a dict of lists: ``step``, ``loss``, ``grad_norm``, each metric, the model's
    ``last_parts`` (a VAE's ``recon`` and ``kl``) one entry per step; validation keys one entry per
    evaluation, with ``val_step`` saying at which step.
    """

    def __init__(self, model, loss, optimizer, X, y, *, batch_size: int = 32, rng, X_val=None, y_val=None,
                 clip_norm: float | None = None, metrics=None, callbacks=(), eval_every: int | None = None):
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
        self.batch_size = check_int(batch_size, "Trainer: batch_size")
        self.rng = as_rng(rng, "Trainer: rng")
        self.clip_norm = None if clip_norm is None else check_float(clip_norm, "Trainer: clip_norm",
                                                                    minimum=0.0, strict=True)
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
        if callable(callbacks):
            callbacks = (callbacks,)
        for i, cb in enumerate(callbacks):
            if not callable(cb):
                raise TypeError(f"Trainer: callbacks[{i}] must be callable, got {type(cb).__name__}")
        self.callbacks = list(callbacks)
        self._eval_every = None if eval_every is None else check_int(eval_every, "Trainer: eval_every")
        self.step_count = 0
        self.epoch = 0
        self.diverged = False
        self.history: dict[str, list] = {}
        self._perm = np.empty(0, dtype=np.int64)
        self._pos = 0

    @property
    def batch_size(self) -> int:
        """Samples per step; may be changed between steps (takes effect at the next batch)."""
        return self._batch_size

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        self._batch_size = check_int(value, "Trainer: batch_size")

    @property
    def steps_per_epoch(self) -> int:
        """ceil(N / batch_size): the steps that make one pass over the training set."""
        return math.ceil(self.X.shape[0] / self.batch_size)

    @property
    def eval_every(self) -> int:
        """Validation interval in steps (default: steps_per_epoch)."""
        return self.steps_per_epoch if self._eval_every is None else self._eval_every

    def _check_data(self, X, y, xname: str, yname: str):
        X = check_array(X, f"Trainer: {xname}")
        if X.ndim < 2 or X.shape[0] == 0:
            raise ValueError(f"Trainer: {xname} must be (N, ...) with N >= 1 samples, got shape {X.shape}")
        y = np.asarray(y)
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
        loss, dout = self.loss_fn(out, y)
        aux = getattr(self.model, "aux_loss", None)
        if callable(aux):
            loss += float(aux())
        return loss, dout

    def step(self) -> dict:
        """One mini-batch: forward, loss, backward, checks, clip, update. Returns the step's record.

        Raises DivergenceError (parameters and optimizer state untouched) on a NaN/inf loss or gradient.
        """
        # overflow on the way to a NaN/inf is reported once, as a DivergenceError, not as NumPy warnings
        with np.errstate(over="ignore", invalid="ignore"):
            record = self._step()
        for cb in self.callbacks:
            cb(self, record)
        return record

    def train_for(self, seconds: float, *, max_steps: int | None = None) -> int:
        """Take steps until ``seconds`` have passed (at least one step) or ``max_steps`` are done.

        Made for live UIs: a burst short enough to keep a page responsive. Returns the number of steps
        taken; they are the same steps ``step()`` would take, only how many depends on the clock.
        A DivergenceError propagates.
        """
        seconds = check_float(seconds, "Trainer.train_for: seconds", minimum=0.0)
        if max_steps is not None:
            max_steps = check_int(max_steps, "Trainer.train_for: max_steps", minimum=0)
        deadline = time.perf_counter() + seconds
        done = 0
        while max_steps is None or done < max_steps:
            self.step()
            done += 1
            if time.perf_counter() >= deadline:
                break
        return done

    def _step(self) -> dict:
        k = self.step_count + 1
        idx = self._next_indices()
        xb = self._as_model_dtype(self.X[idx])
        yb = self._targets(self.y[idx])
        model = self.model
        model.zero_grad()
        out = model.forward(xb)
        loss, dout = self._total_loss(out, yb)
        if not math.isfinite(loss):
            self.diverged = True
            raise DivergenceError(k, "loss", loss)
        model.backward(dout)
        params = model.parameters()
        for name, _, g in params:
            if not np.all(np.isfinite(g)):
                bad = g[~np.isfinite(g)].flat[0]
                self.diverged = True
                raise DivergenceError(k, f"the gradient of {name}", float(bad))
        if self.clip_norm is not None:
            norm = clip_grad_norm(params, self.clip_norm)
        else:
            norm = grad_norm(params)
        if not math.isfinite(norm):
            self.diverged = True
            raise DivergenceError(k, "the gradient norm", norm)
        self.optimizer.step(params)
        self.diverged = False
        self.step_count = k

        record = {"step": k, "loss": loss}
        for m in self.metrics:
            record[m] = accuracy(out, yb, self.loss_name)
        record["grad_norm"] = norm
        for key, value in getattr(model, "last_parts", {}).items():
            record[key] = value
        self._append(record)
        if self.X_val is not None and k % self.eval_every == 0:
            val = self.evaluate(self.X_val, self.y_val)
            record.update({f"val_{key}": v for key, v in val.items()})
            self._append({"val_step": k, **{f"val_{key}": v for key, v in val.items()}})
        return record

    def _append(self, record: dict) -> None:
        for key, value in record.items():
            self.history.setdefault(key, []).append(value)

    def evaluate(self, X, y, *, batch_size: int = 1024) -> dict:
        """Loss (including the model's aux_loss) and metrics on (X, y), in eval mode, without updating.

        Computed in chunks of ``batch_size`` and averaged by sample count. The model's mode is restored.
        """
        X, y = self._check_data(X, y, "evaluate: X", "evaluate: y")
        batch_size = check_int(batch_size, "Trainer.evaluate: batch_size")
        model = self.model
        was_training = getattr(model, "training", True)
        if callable(getattr(model, "eval", None)):
            model.eval()
        totals = {"loss": 0.0, **{m: 0.0 for m in self.metrics}}
        try:
            n = X.shape[0]
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
