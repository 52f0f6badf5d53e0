"""The lecture's demerits of CNN, by experiment (no UI here).

"Demerits of CNN: training time is high; requires high amount of training examples; loss of explainability."
Each is measured on the same shapes a student trains in the CNN section:

* :class:`DataHunger` — *requires many training examples*: the same CNN trained from scratch, for the same
  number of steps, on 30, 60, 120, 300 and 1,200 images, each time tested on the same 400 unseen images.
  The test accuracy climbs with the training-set size (measured below), live, one point per size.
* :class:`CNNvsMLP` — *training time is high*: a CNN and a fully connected network (MLP) trained side by side
  on the same images and mini-batches until each reaches the same test accuracy; their parameters, steps
  and seconds. :func:`cost_by_image_size`: how the work of one forward pass (multiply-adds) and the number of
  parameters grow with the image size for both.
* explainability: :meth:`pyfadml.demos.cnn.CNNDemo.occlusion` (which pixels the decision depends on).

The data: :func:`pyfadml.data.images.make_shapes` with every variation (orientation, shift, brightness,
shades, occlusion, noise) so that a few examples do not cover them. Reproducibility: ``seed`` feeds
``np.random.SeedSequence(seed)``, whose children drive, in order, the images, the weights and the
mini-batch order (the same weights and batch order for every training-set size, and for both models of the
race where their shapes allow).
"""
from __future__ import annotations

import math

import numpy as np

from pyfadml._checks import check_float, check_int
from pyfadml.data.images import SHAPE_CLASSES, SHAPE_VARIATIONS, make_shapes
from pyfadml.demos._live import TrainerDemo
from pyfadml.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from pyfadml.models import Sequential
from pyfadml.optim import get_optimizer
from pyfadml.train import Trainer

__all__ = ["DataHunger", "CNNvsMLP", "cost_by_image_size", "make_cnn", "make_mlp", "cnn_macs", "mlp_macs",
           "HUNGER_SIZES"]

HUNGER_SIZES = (30, 60, 120, 300, 1200)
"""Training-set sizes of :class:`DataHunger` (the lecture: "requires high amount of training examples")."""
N_TEST = 400
FILTERS = (6, 12)          # the CNN section's default network
HIDDEN = 64                # the MLP's hidden layer


def make_cnn(image_size: int, n_classes: int, *, filters=FILTERS, kernel_size: int = 3, rng) -> Sequential:
    """The CNN section's network: (conv k×k → ReLU → 2×2 max pool) twice, then one dense layer."""
    f1, f2 = filters
    side = image_size // 4
    return Sequential([Conv2D(1, f1, kernel_size, padding=kernel_size // 2, rng=rng), ReLU(), MaxPool2D(2),
                       Conv2D(f1, f2, kernel_size, padding=kernel_size // 2, rng=rng), ReLU(), MaxPool2D(2),
                       Flatten(), Dense(f2 * side * side, n_classes, rng=rng, init="xavier")])


def make_mlp(image_size: int, n_classes: int, *, hidden: int = HIDDEN, rng) -> Sequential:
    """A fully connected network on the same pixels: flatten → dense (``hidden``, ReLU) → dense."""
    return Sequential([Flatten(), Dense(image_size * image_size, hidden, rng=rng, init="he"), ReLU(),
                       Dense(hidden, n_classes, rng=rng, init="xavier")])


def cnn_macs(image_size: int, n_classes: int = len(SHAPE_CLASSES), *, filters=FILTERS, kernel_size: int = 3) -> int:
    """Multiply-adds of one forward pass of :func:`make_cnn` on one image (backward costs about twice that)."""
    s, (f1, f2), kk = image_size, filters, kernel_size * kernel_size
    return int(s * s * f1 * kk + (s // 2) ** 2 * f2 * f1 * kk + f2 * (s // 4) ** 2 * n_classes)


def mlp_macs(image_size: int, n_classes: int = len(SHAPE_CLASSES), *, hidden: int = HIDDEN) -> int:
    """Multiply-adds of one forward pass of :func:`make_mlp` on one image."""
    return int(image_size * image_size * hidden + hidden * n_classes)


def cost_by_image_size(sizes=(8, 16, 32, 64, 128), n_classes: int = len(SHAPE_CLASSES)) -> list[dict]:
    """For each image size (a multiple of 4): parameters and multiply-adds per image of the CNN and the MLP.

    Both grow with the number of pixels, but a convolution does ``filters × k²`` multiply-adds *per pixel*
    and per layer, while it keeps its parameters (only the last dense layer grows); the MLP's parameters grow
    with the pixels instead. Returns rows ``{"size", "cnn_params", "mlp_params", "cnn_macs", "mlp_macs"}``.
    """
    rows = []
    for s in sizes:
        s = check_int(s, "cost_by_image_size: size", minimum=4)
        if s % 4:
            raise ValueError(f"cost_by_image_size: sizes must be multiples of 4 (two 2x2 poolings), got {s}")
        rng = np.random.default_rng(0)
        rows.append({"size": s, "cnn_params": make_cnn(s, n_classes, rng=rng).n_params(),
                     "mlp_params": make_mlp(s, n_classes, rng=rng).n_params(),
                     "cnn_macs": cnn_macs(s, n_classes), "mlp_macs": mlp_macs(s, n_classes)})
    return rows


def _shapes(n: int, image_size: int, rng) -> tuple[np.ndarray, np.ndarray]:
    X, y = make_shapes(n, size=image_size, variations=SHAPE_VARIATIONS, rng=rng)
    return X.astype(np.float32), y


class DataHunger(TrainerDemo):
    """Test accuracy against the training-set size: one CNN per size, trained from the same start.

    Settings: ``sizes`` (increasing training-set sizes, at most 1,200), ``steps`` per size (default 150
    mini-batches of ``batch_size`` 32 with Adam, learning rate 0.01), ``image_size`` (16), ``seed``. The 400
    test images are the same for every size. :meth:`step` trains the current size; after its ``steps`` it
    evaluates, appends a point to :attr:`points` and starts the next size. :attr:`done` when all are trained.

    Measured natively (seed 0, 150 steps per size; test accuracy): 30 → 0.63, 60 → 0.76, 120 → 0.85,
    300 → 0.93, 600 → 0.94, 1,200 → 0.96.
    """

    def __init__(self, *, sizes=HUNGER_SIZES, steps: int = 150, batch_size: int = 32, lr: float = 0.01,
                 image_size: int = 16, seed: int = 0):
        sizes = tuple(check_int(s, "DataHunger: size", minimum=8) for s in sizes)
        if not sizes or list(sizes) != sorted(set(sizes)) or sizes[-1] > 1200:
            raise ValueError(f"DataHunger: sizes must be increasing, distinct, from 8 to 1200, got {sizes}")
        self.sizes = sizes
        self.steps = check_int(steps, "DataHunger: steps")
        self.batch_size_setting = check_int(batch_size, "DataHunger: batch_size")
        self.lr_setting = check_float(lr, "DataHunger: lr", minimum=0.0, strict=True)
        self.image_size = check_int(image_size, "DataHunger: image_size", minimum=8)
        if self.image_size % 4:
            raise ValueError(f"DataHunger: image_size must be a multiple of 4, got {image_size}")
        self.seed = check_int(seed, "DataHunger: seed", minimum=0)
        data_ss, self._init_ss, self._batch_ss = np.random.SeedSequence(self.seed).spawn(3)
        X, y = _shapes(sizes[-1] + N_TEST, self.image_size, np.random.default_rng(data_ss))
        self.X_pool, self.y_pool = X[:sizes[-1]], y[:sizes[-1]]
        self.X_test, self.y_test = X[sizes[-1]:], y[sizes[-1]:]
        self.class_names = SHAPE_CLASSES
        self.points: list[dict] = []          # {"size", "test_acc", "train_acc", "steps", "seconds"}
        self._done_steps = 0
        self._start(0)

    def _start(self, i: int) -> None:
        self.index = i
        n = self.sizes[min(i, len(self.sizes) - 1)]
        model = make_cnn(self.image_size, len(self.class_names), rng=np.random.default_rng(self._init_ss))
        model.astype(np.float32)
        self.trainer = Trainer(model, "cross_entropy", get_optimizer("adam", lr=self.lr_setting),
                               self.X_pool[:n], self.y_pool[:n], batch_size=self.batch_size_setting,
                               rng=np.random.default_rng(self._batch_ss))

    @property
    def done(self) -> bool:
        return self.index >= len(self.sizes)

    @property
    def current_size(self) -> int | None:
        """The training-set size being trained (None when all are done)."""
        return None if self.done else self.sizes[self.index]

    @property
    def step_count(self) -> int:
        """Steps over all sizes so far."""
        return self._done_steps + (0 if self.done else self.trainer.step_count)

    @property
    def total_steps(self) -> int:
        return self.steps * len(self.sizes)

    def remaining(self) -> int:
        """Steps left until every size is trained (what the live page's ``max_steps`` asks)."""
        return self.total_steps - self.step_count

    def step(self, n: int = 1) -> dict | None:
        """Train ``n`` mini-batches (fewer when the last size finishes); returns the last record."""
        n = check_int(n, "DataHunger.step: n", minimum=0)
        record = None
        for _ in range(n):
            if self.done:
                break
            record = self.trainer.step()
            if self.trainer.step_count >= self.steps:
                self._finish_size()
        return record

    def _finish_size(self) -> None:
        tr, n = self.trainer, self.sizes[self.index]
        test = tr.evaluate(self.X_test, self.y_test)
        train = tr.evaluate(self.X_pool[:n], self.y_pool[:n])
        self.points.append({"size": n, "test_acc": float(test["accuracy"]), "train_acc": float(train["accuracy"]),
                            "steps": tr.step_count, "seconds": float(tr.seconds)})
        self._done_steps += tr.step_count
        self._start(self.index + 1)

    def evaluate_current(self) -> dict | None:
        """The size being trained, tested now: ``{"size", "test_acc", "step"}`` (None when done)."""
        if self.done:
            return None
        ev = self.trainer.evaluate(self.X_test, self.y_test)
        return {"size": self.current_size, "test_acc": float(ev["accuracy"]), "step": self.trainer.step_count}


class CNNvsMLP(TrainerDemo):
    """A CNN and an MLP trained side by side (the same images, the same mini-batches) to the same accuracy.

    Settings: ``target`` test accuracy (0.9), ``n_train`` images (1,200; 400 more for the test),
    ``image_size`` (16), ``eval_every`` steps between test evaluations (10), ``lr`` per model
    (``{"CNN": 0.01, "MLP": 0.003}``: each its own best of 0.001-0.03), ``seed``. :attr:`reached` holds, per
    model, the first evaluation at or above ``target``: ``{"step", "seconds", "test_acc"}`` (``seconds`` is
    that model's own training time). :attr:`curve` holds every evaluation.

    Measured natively (seed 0, target 0.9): the CNN (1,878 parameters) reaches it after 75 steps, the MLP
    (16,838 parameters) after 275; one CNN step costs about 20 MLP steps, so the CNN needs about 3 times the
    seconds.
    """

    MODELS = ("CNN", "MLP")

    def __init__(self, *, target: float = 0.9, n_train: int = 1200, image_size: int = 16, eval_every: int = 10,
                 batch_size: int = 32, lr: dict | None = None, seed: int = 0):
        self.target = check_float(target, "CNNvsMLP: target", minimum=0.0, strict=True)
        if self.target > 1.0:
            raise ValueError(f"CNNvsMLP: target must be a test accuracy in (0, 1], got {target}")
        self.n_train = check_int(n_train, "CNNvsMLP: n_train", minimum=10)
        self.image_size = check_int(image_size, "CNNvsMLP: image_size", minimum=8)
        if self.image_size % 4:
            raise ValueError(f"CNNvsMLP: image_size must be a multiple of 4, got {image_size}")
        self.eval_every = check_int(eval_every, "CNNvsMLP: eval_every")
        self.seed = check_int(seed, "CNNvsMLP: seed", minimum=0)
        lrs = {"CNN": 0.01, "MLP": 0.003, **(lr or {})}
        data_ss, init_ss, batch_ss = np.random.SeedSequence(self.seed).spawn(3)
        X, y = _shapes(self.n_train + N_TEST, self.image_size, np.random.default_rng(data_ss))
        self.X_train, self.y_train = X[:self.n_train], y[:self.n_train]
        self.X_test, self.y_test = X[self.n_train:], y[self.n_train:]
        K = len(SHAPE_CLASSES)
        self.models = {"CNN": make_cnn(self.image_size, K, rng=np.random.default_rng(init_ss)),
                       "MLP": make_mlp(self.image_size, K, rng=np.random.default_rng(init_ss))}
        self.trainers = {}
        for name, model in self.models.items():
            model.astype(np.float32)
            self.trainers[name] = Trainer(model, "cross_entropy", get_optimizer("adam", lr=lrs[name]),
                                          self.X_train, self.y_train, batch_size=batch_size,
                                          rng=np.random.default_rng(batch_ss))
        self.params = {m: self.models[m].n_params() for m in self.MODELS}
        self.reached: dict[str, dict | None] = {m: None for m in self.MODELS}
        self.curve: dict[str, list[dict]] = {m: [] for m in self.MODELS}
        self._k = 0

    @property
    def done(self) -> bool:
        return all(self.reached[m] is not None for m in self.MODELS)

    def step(self, n: int = 1) -> dict | None:
        """``n`` lock-steps: each model still short of the target trains one mini-batch (the same one, as
        both trainers shuffle with copies of one stream); every ``eval_every`` steps those are tested."""
        n = check_int(n, "CNNvsMLP.step: n", minimum=0)
        out = None
        for _ in range(n):
            if self.done:
                break
            out = {m: self.trainers[m].step() for m in self.MODELS if self.reached[m] is None}
            self._k += 1
            if self._k % self.eval_every == 0:
                self._evaluate()
        return out

    @property
    def step_count(self) -> int:
        """Lock-steps so far (a model stops once it has reached the target)."""
        return self._k

    def _evaluate(self) -> None:
        for m in self.MODELS:
            tr = self.trainers[m]
            if self.reached[m] is not None:
                continue
            acc = float(tr.evaluate(self.X_test, self.y_test)["accuracy"])
            row = {"step": tr.step_count, "seconds": float(tr.seconds), "test_acc": acc}
            self.curve[m].append(row)
            if acc >= self.target:
                self.reached[m] = row

    def _recovered(self, step: int) -> None:
        self._k = step
        for m in self.MODELS:
            self.curve[m] = [r for r in self.curve[m] if r["step"] <= step]
            if self.reached[m] is not None and self.reached[m]["step"] > step:
                self.reached[m] = None

    def ms_per_step(self) -> dict:
        """Each model's measured milliseconds per training step so far (NaN before its first)."""
        return {m: (1000.0 / self.trainers[m].steps_per_second if self.trainers[m].step_count
                    and self.trainers[m].steps_per_second > 0 else math.nan) for m in self.MODELS}

    def verdict(self) -> str | None:
        """Once both reached the target (None before): what one CNN step costs in MLP steps, and the CNN's
        steps, seconds and parameters against the MLP's, as measured in this run."""
        if not self.done:
            return None
        cnn, mlp = self.reached["CNN"], self.reached["MLP"]
        ms = self.ms_per_step()
        sec = cnn["seconds"] / mlp["seconds"]
        how = ("so the CNN took longer to get there" if sec > 1 else
               f"so on these tiny {self.image_size}×{self.image_size} images its fewer steps made up for them; on "
               f"real images each step costs far more")
        return (f"Measured here: one CNN step costs {ms['CNN'] / ms['MLP']:.1f} MLP steps; the CNN needed "
                f"{cnn['step'] / mlp['step']:.2f}× the MLP's steps and {sec:.2f}× its seconds to reach "
                f"{self.target:.0%} ({how}), with {self.params['MLP'] / self.params['CNN']:.0f} times fewer "
                f"parameters.")
