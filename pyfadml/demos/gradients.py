"""Vanishing and exploding gradients, live: a vanilla RNN and an LSTM trained side by side. No UI here.

Backpropagation through time sends the gradient from the loss at the last step back to every earlier
hidden state. For the RNN (``h_t = tanh(x_t Wx + h_{t-1} Wh + b)``) each step back multiplies it by
``diag(1 - h_t^2) Wh^T``:

    dL/dh_{t-1} = (dL/dh_t * (1 - h_t^2)) Wh^T

so over ``T`` steps its size changes roughly like ``(scale * tanh')^T``: it **vanishes** when the recurrent
weights are small (``RNN(recurrent_scale < 1)``, or saturated tanh units) and **explodes** when they are large
(``recurrent_scale`` well above 1). The LSTM's cell state is updated additively, ``c_t = f_t * c_{t-1} + i_t g_t``,
so dL/dc flows back multiplied only by the forget gate: gradients reach the first steps alive.

:class:`GradientRace` trains both models on the library's long-range memory task
(:func:`pyfadml.data.sequences.make_memory_task`: remember the first input until the last step) with the
*same* data, mini-batches, optimizer (Adam by default) and clipping, and records after every step the per-time-step gradient
norms ``||dL/dh_t||`` that the layers expose (``dh_norms``): one row of the page's heatmap per training step.

What an exploding gradient does to training, told truthfully
-----------------------------------------------------------
A tanh RNN's gradient can become enormous (1e8 at T = 50 with ``recurrent_scale = 5``) yet stay finite:
tanh keeps every hidden value in [-1, 1], so nothing overflows to inf or NaN. The damage is done by the
*update*: SGD moves the weights by ``lr * ||g||``, here millions of times their own size; every tanh unit
then saturates (``tanh' = 0``), the gradient dies and the RNN never learns again. The race therefore runs
each step under the Trainer's update guard: when an update would move the weights by more than
``max_update_ratio`` times their own norm, it is not applied and :class:`ExplodingGradientError` (a
:class:`~pyfadml.train.DivergenceError`) is raised, so the page pauses *before* the damage and can offer
gradient clipping (which bounds the step by ``lr * clip_norm``) or a reset. ``step(guard=False)`` takes the
step anyway, to watch the wreck. A real NaN/inf loss or gradient raises the Trainer's own DivergenceError.
Adam is hardly affected (its step is about ``lr`` per weight whatever the gradient's size), which the
page says: the lesson of exploding gradients is run with ``optimizer="sgd"``.

Reproducibility: ``np.random.SeedSequence(seed)`` spawns the streams of, in order, the dataset, the RNN's
weights, the LSTM's weights and the mini-batch order (one stream shared by both trainers, so both models see
the same batches in the same order).
"""
from __future__ import annotations

import math

import numpy as np

from pyfadml._checks import check_bool, check_choice, check_float, check_int
from pyfadml.data.sequences import make_memory_task, memory_task_chance
from pyfadml.demos._live import TrainerDemo
from pyfadml.demos.race_inside import MODELS, RaceInside, relative_norms
from pyfadml.history import History
from pyfadml.layers import LSTM, RNN, Dense
from pyfadml.models import Sequential
from pyfadml.optim import OPTIMIZER_NAMES, OPTIMIZERS, get_optimizer
from pyfadml.train import DivergenceError, Trainer, run_for

__all__ = ["GradientRace", "ExplodingGradientError", "MODELS", "explain_divergence", "DivergenceError",
           "relative_norms"]

DEFAULT_LR = {"adam": 1e-2, "sgd": 0.1, "momentum": 0.03}
"""Learning rate used when none is given (Adam's: see :class:`GradientRace` for why 1e-2)."""
MIN_T, MAX_T = 5, 100


class ExplodingGradientError(DivergenceError):
    """The Trainer refused an update that would have thrown the weights far away (reason "update_explosion").

    Attributes (besides DivergenceError's ``step``, ``quantity`` = "the update", ``value`` = the norm of the
    update, ``ratio`` = value / weight_norm, ``last_good_step``): ``grad_norm`` (the gradient norm that caused
    it), ``weight_norm`` (||theta|| before it), ``max_ratio`` (the guard's limit) and ``model`` ("RNN" or
    "LSTM").
    """

    def __init__(self, err: DivergenceError, model: str | None = None):
        super().__init__(err.step, err.quantity, err.value, "update_explosion", last_good_step=err.last_good_step,
                         limit=err.limit, ratio=err.ratio, grad_norm=err.grad_norm, weight_norm=err.weight_norm)
        self.max_ratio = err.limit
        self.model = model
        self.args = (f"exploding gradient at step {err.step}: the gradient norm is {err.grad_norm:.3g}, so the "
                     f"update would move the weights by {err.value:.3g}, {err.ratio:.3g} times their own size "
                     f"({err.weight_norm:.3g}; the limit is {err.limit:g} times). The update was not applied. "
                     f"Turn on gradient clipping (clip_norm) or lower the learning rate.",)


def explain_divergence(err: DivergenceError, *, model: str, clip_norm: float | None, recurrent_scale: float,
                       T: int, lr: float) -> str:
    """What happened, in the lecture's words, for the page (plain text, a few sentences)."""
    if isinstance(err, ExplodingGradientError):
        text = (f"Exploding gradients. At step {err.step} the {model}'s gradient norm reached {err.grad_norm:.2e}: "
                f"flowing back through {T} time steps it was multiplied again and again by the recurrent "
                f"weights (recurrent scale {recurrent_scale:g}), so it grew step after step (the bright band "
                f"on the left of the heatmap). The SGD update (learning rate × gradient) would move the weights by "
                f"{err.value:.2e}, {err.ratio:.1e} times their own size. Nothing overflows in a tanh RNN, but "
                f"such a step throws every unit into saturation (tanh' = 0): the gradient dies and the network "
                f"stops learning. Training is paused before that step.")
    else:
        text = (f"Training diverged at step {err.step}: the {model}'s {err.quantity} became {err.value} "
                f"(the numbers overflowed). Exploding gradients, or a learning rate ({lr:g}) too large, make "
                f"the updates grow until they leave the range of floating-point numbers. The weights are "
                f"those from before that step.")
    if clip_norm is None:
        text += " Turn on gradient clipping (it rescales the gradient to a norm of at most the threshold) " \
                "or reset with a smaller recurrent scale."
    else:
        text += f" Clipping is on at {clip_norm:g}: lower the threshold or the learning rate, or reset."
    return text


class GradientRace(RaceInside, TrainerDemo):
    """A vanilla RNN and an LSTM trained side by side on the long-range memory task.

    Settings (keyword-only): ``T`` sequence length (5-100), ``recurrent_scale`` of the RNN's ``Wh``
    (orthogonal times this; the LSTM is unaffected), ``clip_norm`` (gradient-norm clipping threshold for
    both, ``None`` = off), ``hidden`` units, ``lr`` (default: :data:`DEFAULT_LR` of the optimizer),
    ``optimizer`` ("sgd", "momentum", "adam"), ``momentum`` (for "momentum"), ``batch_size``,
    ``forget_bias`` of the LSTM, ``n_train`` / ``n_test`` sequences, ``max_update_ratio`` (the explosion
    guard, see the module docstring), ``seed``, and ``task`` (extra keyword arguments for
    :func:`~pyfadml.data.sequences.make_memory_task`, e.g. ``{"n_symbols": 8}``).

    The defaults follow the memory task's documented settings (Adam, global-norm clipping at 1, batch 32,
    LSTM forget-gate bias 3, 8 symbols) with 16 hidden units instead of 32 and a learning rate of 1e-2
    instead of 3e-3, at T = 40: a step then costs a third as much, which matters in the browser (no BLAS),
    and the contrast is sharper. Measured natively (test accuracy RNN / LSTM, chance 0.125):

    ====  ====  ===========  ===========  ===========  ===========
    T     seed  100 steps    200 steps    300 steps    500 steps
    ====  ====  ===========  ===========  ===========  ===========
    40    0     0.10 / 0.64  0.15 / 1.00  0.12 / 1.00  0.13 / 1.00
    40    1     0.10 / 0.55  0.15 / 0.91  0.55 / 1.00  0.66 / 1.00
    40    2     0.31 / 0.50  0.69 / 0.88  0.90 / 1.00  0.91 / 1.00
    50    0     0.14 / 0.21  0.15 / 0.49  0.09 / 0.79  0.12 / 0.94
    20    0     0.81 / 0.94  0.99 / 1.00  0.98 / 1.00  0.93 / 1.00
    ====  ====  ===========  ===========  ===========  ===========

    (With 32 units and 3e-3 the LSTM needs ~300 steps at T = 40 and the RNN catches up by ~500.) So at
    T = 40 the LSTM learns in about 200 steps while the RNN stays near chance for hundreds more (on some
    seeds it eventually gets there: a tanh RNN *can* latch 3 bits, it just rarely finds how through a
    vanishing gradient); at T = 20 both learn. Adam divides every step by the running size of the gradient,
    so an exploding gradient barely moves it: choose ``optimizer="sgd"``, whose step is ``lr * gradient``, to
    see what explosions do to training.
    """

    def __init__(self, *, T: int = 40, recurrent_scale: float = 1.0, clip_norm: float | None = 1.0,
                 hidden: int = 16, lr: float | None = None, optimizer: str = "adam", momentum: float = 0.9,
                 batch_size: int = 32, forget_bias: float = 3.0, n_train: int = 2000, n_test: int = 256,
                 max_update_ratio: float = 1.0, seed: int = 0, task: dict | None = None):
        self.T = check_int(T, "GradientRace: T", minimum=MIN_T)
        if self.T > MAX_T:
            raise ValueError(f"GradientRace: T must be between {MIN_T} and {MAX_T}, got {T}")
        self.recurrent_scale = check_float(recurrent_scale, "GradientRace: recurrent_scale", minimum=0.0)
        self.hidden = check_int(hidden, "GradientRace: hidden")
        self.optimizer_name = check_choice(optimizer, "optimizer", OPTIMIZERS)
        self.momentum = check_float(momentum, "GradientRace: momentum", minimum=0.0)
        self.forget_bias = check_float(forget_bias, "GradientRace: forget_bias")
        self.n_train = check_int(n_train, "GradientRace: n_train", minimum=8)
        self.n_test = check_int(n_test, "GradientRace: n_test")
        self.seed = check_int(seed, "GradientRace: seed", minimum=0)
        lr = DEFAULT_LR[self.optimizer_name] if lr is None else check_float(lr, "GradientRace: lr", minimum=0.0,
                                                                             strict=True)
        batch_size = check_int(batch_size, "GradientRace: batch_size")
        if clip_norm is not None:
            clip_norm = check_float(clip_norm, "GradientRace: clip_norm", minimum=0.0, strict=True)
        max_update_ratio = check_float(max_update_ratio, "GradientRace: max_update_ratio", minimum=0.0, strict=True)
        if task is not None and not isinstance(task, dict):
            raise TypeError(f"GradientRace: task must be a dict of make_memory_task arguments, "
                            f"got {type(task).__name__}")
        self.task = dict(task or {})

        data_ss, rnn_ss, lstm_ss, batch_ss = np.random.SeedSequence(self.seed).spawn(4)
        X, y = make_memory_task(self.n_train + self.n_test, T=self.T, rng=np.random.default_rng(data_ss),
                                **self.task)
        self.X_train, self.X_test = X[:self.n_train], X[self.n_train:]
        self.y_train, self.y_test = y[:self.n_train], y[self.n_train:]
        self.n_in = X.shape[2]
        self.n_classes = int(y.max()) + 1
        self.chance = float(memory_task_chance(T=self.T, **self.task))

        H, D, K = self.hidden, self.n_in, self.n_classes
        rnn_rng, lstm_rng = np.random.default_rng(rnn_ss), np.random.default_rng(lstm_ss)
        self.models = {
            "RNN": Sequential([RNN(D, H, recurrent_scale=self.recurrent_scale, rng=rnn_rng),
                               Dense(H, K, rng=rnn_rng)]),
            "LSTM": Sequential([LSTM(D, H, forget_bias=self.forget_bias, rng=lstm_rng),
                                Dense(H, K, rng=lstm_rng)]),
        }
        self.max_update_ratio = max_update_ratio
        self.trainers: dict[str, Trainer] = {}
        for name, model in self.models.items():
            opt = get_optimizer(self.optimizer_name, lr=lr,
                                **({"momentum": self.momentum} if self.optimizer_name == "momentum" else {}))
            # Each trainer gets an identical copy of the batch stream: same batches, same order. The guard is
            # the update check alone (the lesson); a forced, wrecking step may leave a huge loss behind.
            self.trainers[name] = Trainer(model, "cross_entropy", opt, self.X_train, self.y_train,
                                          batch_size=batch_size, rng=np.random.default_rng(batch_ss),
                                          clip_norm=clip_norm, max_update_ratio=max_update_ratio,
                                          max_loss_ratio=None)
        self.grad_rows: dict[str, list[np.ndarray]] = {m: [] for m in MODELS}
        self.grad_steps: dict[str, list[int]] = {m: [] for m in MODELS}
        self.history = History([f"{m}_{k}" for m in MODELS for k in ("loss", "acc", "grad_norm")])
        self.evals = History([f"{m}_{k}" for m in MODELS for k in ("loss", "acc")])
        self.last_error: DivergenceError | None = None
        self._records: dict[str, dict] = {}           # the records of a step that only one model completed

    # ------------------------------------------------------------------------------------------
    # settings and state
    # ------------------------------------------------------------------------------------------

    def describe(self) -> str:
        """One line: the task's length, the RNN's scale, the training settings and chance, e.g. for a caption."""
        clip = f"gradients clipped at {self.clip_norm:g}" if self.clip_norm else "no clipping"
        return (f"T = {self.T}, RNN recurrent scale {self.recurrent_scale:g}, {OPTIMIZER_NAMES[self.optimizer_name]} "
                f"with learning rate {self.lr:g}, {clip}; chance is {self.chance:.1%}.")

    @property
    def settings(self) -> dict:
        """The keyword arguments that rebuild this race from scratch (current lr and clipping)."""
        return dict(T=self.T, recurrent_scale=self.recurrent_scale, clip_norm=self.clip_norm, hidden=self.hidden,
                    lr=self.lr, optimizer=self.optimizer_name, momentum=self.momentum,
                    batch_size=self.batch_size, forget_bias=self.forget_bias, n_train=self.n_train,
                    n_test=self.n_test, max_update_ratio=self.max_update_ratio, seed=self.seed,
                    task=dict(self.task))

    @property
    def layers(self) -> dict:
        """The recurrent layers: ``{"RNN": RNN, "LSTM": LSTM}``."""
        return {m: self.models[m].layers[0] for m in MODELS}

    @property
    def divergence(self) -> DivergenceError | None:
        """The error of the last failed step (an ExplodingGradientError for a refused update), or None."""
        return self.last_error

    # ------------------------------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------------------------------

    def _record_grads(self, name: str, step: int) -> None:
        norms = np.array(self.layers[name].dh_norms, dtype=np.float64)
        rows, steps = self.grad_rows[name], self.grad_steps[name]
        if steps and steps[-1] == step:           # a retried step replaces the failed attempt
            rows[-1] = norms
        else:
            rows.append(norms)
            steps.append(step)

    def step(self, n: int = 1, *, guard: bool = True) -> dict | None:
        """Train both models ``n`` mini-batches (the same batch for both); returns the last step's records
        ``{"step", "RNN": record, "LSTM": record}`` (``None`` if ``n == 0``).

        A failed step raises :class:`~pyfadml.train.DivergenceError` (or :class:`ExplodingGradientError`,
        with ``guard=True``) with ``err.model`` naming the model; nothing was updated by the failing step and
        the row of gradient norms it computed is already in :attr:`grad_rows`, so the page can show it.
        The models stay in lock-step: the next call first completes the step for the model that lagged.
        """
        n = check_int(n, "GradientRace.step: n", minimum=0)
        guard = check_bool(guard, "GradientRace.step: guard")
        for tr in self.trainers.values():
            tr.max_update_ratio = self.max_update_ratio if guard else None
        out = None
        for _ in range(n):
            k = self.step_count + 1
            for name in MODELS:
                tr = self.trainers[name]
                if tr.step_count >= k:
                    continue
                try:
                    self._records[name] = tr.step()
                except DivergenceError as exc:
                    err = ExplodingGradientError(exc) if exc.reason == "update_explosion" else exc
                    err.model = name
                    if self.layers[name].dh_norms is not None and len(self.layers[name].dh_norms) == self.T:
                        self._record_grads(name, k)
                    tr.divergence = self.last_error = err
                    raise err from None
                self._record_grads(name, k)
            records, self._records = self._records, {}
            self.last_error = None
            self.history.append({"step": k, **{f"{m}_{key}": records[m][rec_key] for m in MODELS
                                               for key, rec_key in (("loss", "loss"), ("acc", "accuracy"),
                                                                    ("grad_norm", "grad_norm"))}})
            out = {"step": k, **records}
        return out

    def train_for(self, seconds: float, *, max_steps: int | None = None, guard: bool = True) -> int:
        """Train until ``seconds`` have passed (at least one step) or ``max_steps`` are done; returns the
        number of completed steps. A DivergenceError propagates."""
        return run_for(lambda: self.step(1, guard=guard), seconds, max_steps=max_steps,
                       where="GradientRace.train_for")

    def _recovered(self, step: int) -> None:
        super()._recovered(step)
        self.evals.truncate(step)
        for m in MODELS:
            keep = sum(1 for s in self.grad_steps[m] if s <= step)
            del self.grad_steps[m][keep:], self.grad_rows[m][keep:]
        self.last_error = None
        self._records = {}

    def evaluate(self) -> dict:
        """Test loss and accuracy of both models with the current weights, appended to :attr:`evals` (one
        row per distinct step count). Returns ``{"step", "RNN_loss", "RNN_acc", "LSTM_loss", "LSTM_acc"}``."""
        row = {"step": self.step_count}
        for name in MODELS:
            ev = self.trainers[name].evaluate(self.X_test, self.y_test)
            row[f"{name}_loss"] = ev["loss"]
            row[f"{name}_acc"] = ev["accuracy"]
        return self.evals.put(row)

    def steps_per_second(self) -> dict:
        """Training steps per second of each model so far (its forward, backward and update on one
        mini-batch; NaN before the first step): what the page and the benchmark report."""
        return {m: (self.trainers[m].steps_per_second if self.trainers[m].updates else math.nan) for m in MODELS}

    # ------------------------------------------------------------------------------------------
    # what the page draws
    # ------------------------------------------------------------------------------------------

    def grad_norms(self, err: DivergenceError | None = None) -> dict:
        """Per model: ``(step, gradient norm)`` of its latest step, ``(0, nan)`` before the first, or, for
        the model an :class:`ExplodingGradientError` ``err`` names, the step the guard refused and its norm
        (the number the error's message gives)."""
        hist = self.history
        out = {m: (hist["step"][-1], hist[f"{m}_grad_norm"][-1]) if hist["step"] else (0, math.nan) for m in MODELS}
        if err is not None and getattr(err, "grad_norm", None) is not None and getattr(err, "model", None) in out:
            out[err.model] = (err.step, float(err.grad_norm))
        return out

    def explain(self, err: DivergenceError | None = None) -> str:
        """:func:`explain_divergence` for ``err`` (default: the last failed step) with this race's settings."""
        err = err if err is not None else self.last_error
        if err is None:
            return ""
        return explain_divergence(err, model=getattr(err, "model", None) or "model", clip_norm=self.clip_norm,
                                  recurrent_scale=self.recurrent_scale, T=self.T, lr=self.lr)
