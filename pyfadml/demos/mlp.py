"""Backprop and decision boundaries on 2-D toy data: everything the browser section shows, without a UI.

A small multilayer perceptron (``depth`` hidden layers of ``breadth`` neurons) classifies points of the
plane. :class:`MLPDemo` owns the data, the model, the optimizer and the :class:`~pyfadml.train.Trainer`,
and answers the questions the page asks:

* :meth:`MLPDemo.step` / :meth:`MLPDemo.train_for`  train one or more mini-batches;
* :meth:`MLPDemo.evaluate`   loss and accuracy on the whole train and test sets (appended to ``history``);
* :meth:`MLPDemo.grid`       class probabilities over a grid of the plane (the decision boundary) and every
  hidden neuron's activation over the same grid (how stacked layers compose boundaries);
* :meth:`MLPDemo.inspect`    the lecture's backprop quantities of one layer for the last mini-batch;
* :meth:`MLPDemo.neuron_image`  every hidden neuron's activation over the plane as one picture.

The looking-inside half (grid, neurons, inspector) is the mixin :class:`pyfadml.demos.mlp_inside.MLPInside`.

Notation (the lecture's, one example = one column vector)::

    z^l = W^l a^{l-1} + b^l,   a^l = sigma(z^l),   delta^l = dL/dz^l,
    dL/dW^l = delta^l (a^{l-1})^T,   dL/db^l = delta^l,   delta^{l-1} = (W^l)^T delta^l * sigma'(z^{l-1})

Layer ``l`` runs from 1 (the first hidden layer, ``a^0 = x``) to ``L = depth + 1`` (the output layer, whose
``z^L`` are the class logits and ``a^L = softmax(z^L)``). The library stores a batch of N examples as *rows*,
so the arrays returned here have shape ``(N, n_l)``; the loss is the batch mean, hence ``delta^l`` carries a
factor 1/N and the parameter gradients are sums over the batch: ``dL/dW^l = sum_n delta^l_n (a^{l-1}_n)^T``.

Reproducibility (what the browser test relies on)
-------------------------------------------------
Everything is a function of the settings and ``seed``. The seed feeds ``np.random.SeedSequence(seed)``, whose
four children drive, in order: the dataset, the train/test split, the weight initialisation and the
Trainer's mini-batch shuffling. So ``MLPDemo(**settings)`` followed by ``step(k)`` always reaches the same
weights, and after any sequence of steps that totals ``k`` (one at a time, or time-boxed bursts of any
length) ``inspect(l)`` returns the values of step ``k``'s mini-batch: the forward pass of that batch with the
weights *before* step ``k``'s update, and the gradients that update used. Changing ``lr`` or
``batch_size`` mid-run applies from the next step (the page does the same), so a run is reproduced by
replaying the same settings changes at the same step counts; a reset followed by ``k`` steps is simplest.
"""
from __future__ import annotations


import numpy as np

from pyfadml._checks import check_choice, check_float, check_int
from pyfadml.data.toy2d import TOY_DATASETS, make_toy, train_test_split
from pyfadml.demos._live import TrainerDemo
from pyfadml.demos.mlp_inside import MLPInside
from pyfadml.layers import Dense, get_activation
from pyfadml.models import Sequential
from pyfadml.history import History
from pyfadml.io import check_same, layer_specs
from pyfadml.optim import OPTIMIZERS, get_optimizer
from pyfadml.train import DivergenceError, Trainer

__all__ = ["MLPDemo", "DATASETS", "ACTIVATIONS", "OPTIMIZERS", "DivergenceError"]

DATASETS = tuple(TOY_DATASETS)
"""The 2-D toy sets of :mod:`pyfadml.data.toy2d`: xor, circles, moons, spiral, gaussians."""
ACTIVATIONS = ("tanh", "relu", "sigmoid", "leaky_relu")
CUSTOM = "custom"
"""The ``dataset`` of a demo built from your own ``points=(X, y)``."""
MAX_DEPTH, MAX_BREADTH = 4, 16
_ACTIVATION_CLASSES = {"Tanh": "tanh", "ReLU": "relu", "Sigmoid": "sigmoid", "LeakyReLU": "leaky_relu"}


class _CapturingMLP(Sequential):
    """A Sequential that keeps what the last *training* forward/backward saw, for the backprop inspector.

    forward records every layer's output (fresh arrays, so no copies) and a copy of each parameter as it was
    before the optimizer's update; backward records the gradient entering each layer from above and a copy
    of each layer's grads. Evaluation forwards (``predict``, ``Trainer.evaluate``) record nothing.
    """

    def __init__(self, layers):
        super().__init__(layers)
        self.capture: dict | None = None
        self._pending: dict | None = None

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        outputs = [np.asarray(x)]
        a = x
        for layer in self.layers:
            a = layer.forward(a)
            outputs.append(a)
        self._pending = {
            "outputs": outputs,
            "params": [{k: p.copy() for k, p in layer.params.items()} for layer in self.layers],
        }
        return a

    def backward(self, dout):
        pending = self._pending
        if pending is None or not self.training:
            return super().backward(dout)
        grads_out = [None] * len(self.layers)      # dL/d(output of layer i)
        delta = dout
        for i in range(len(self.layers) - 1, -1, -1):
            grads_out[i] = delta
            delta = self.layers[i].backward(delta)
        pending["grads_out"] = grads_out
        pending["dx"] = delta
        pending["grads"] = [{k: g.copy() for k, g in layer.grads.items()} for layer in self.layers]
        self.capture, self._pending = pending, None
        return delta


class MLPDemo(MLPInside, TrainerDemo):
    """A live MLP classifier on a 2-D toy dataset.

    Settings (all keyword-only): ``dataset`` (one of :data:`DATASETS`), ``n_samples`` points (default 256:
    192 train + 64 test, so batches of 1 to 64 divide an epoch evenly),
    ``noise`` (std of the jitter), ``test_fraction`` (0.25), ``depth`` hidden layers (1-4), ``breadth`` neurons
    per hidden layer (1-16), ``activation`` (one of :data:`ACTIVATIONS`), ``lr``, ``batch_size``,
    ``optimizer`` ("sgd", "momentum" = SGD with momentum 0.9, "adam"), ``seed`` and ``grid_size`` (points per
    side of the grid over the plane). ``points=(X, y)``: your own points (X (N, 2), y integer labels 0..K-1)
    instead of a toy set; ``dataset`` is then :data:`CUSTOM` and ``noise`` is unused.

    The loss is softmax cross-entropy over the dataset's classes (2, or 3 for the spiral). Hidden layers use
    He initialisation for (leaky) ReLU and Xavier otherwise.
    """

    def __init__(self, *, dataset: str = "xor", n_samples: int = 256, noise: float = 0.1,
                 test_fraction: float = 0.25, depth: int = 2, breadth: int = 4, activation: str = "tanh",
                 lr: float = 0.1, batch_size: int = 16, optimizer: str = "sgd", seed: int = 0,
                 grid_size: int = 60, points=None):
        if points is not None:          # your own points instead of a toy set: dataset and noise are unused
            dataset = CUSTOM
            X, y = points
            X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
            if X.ndim != 2 or X.shape[1] != 2 or y.shape != (X.shape[0],) or not np.all(np.isfinite(X)):
                raise ValueError(f"MLPDemo: points must be (X, y) with X (N, 2) finite and y (N,), got shapes "
                                 f"{X.shape} and {y.shape}")
            if y.dtype.kind not in "iu" or y.min() < 0 or np.unique(y).size < 2:
                raise ValueError("MLPDemo: the labels of points must be integers 0..K-1 of at least 2 classes")
            n_samples = X.shape[0]
        self.dataset = check_choice(dataset, "dataset", DATASETS + ((CUSTOM,) if points is not None else ()))
        self.n_samples = check_int(n_samples, "MLPDemo: n_samples", minimum=8)
        self.noise = check_float(noise, "MLPDemo: noise", minimum=0.0)
        self.test_fraction = check_float(test_fraction, "MLPDemo: test_fraction", minimum=0.0, strict=True)
        self.depth = check_int(depth, "MLPDemo: depth")
        if self.depth > MAX_DEPTH:
            raise ValueError(f"MLPDemo: depth must be between 1 and {MAX_DEPTH}, got {depth}")
        self.breadth = check_int(breadth, "MLPDemo: breadth")
        if self.breadth > MAX_BREADTH:
            raise ValueError(f"MLPDemo: breadth must be between 1 and {MAX_BREADTH}, got {breadth}")
        self.activation = check_choice(activation, "activation", ACTIVATIONS)
        self.optimizer_name = check_choice(optimizer, "optimizer", OPTIMIZERS)
        self.seed = check_int(seed, "MLPDemo: seed", minimum=0)
        self.grid_size = check_int(grid_size, "MLPDemo: grid_size", minimum=2)
        lr = check_float(lr, "MLPDemo: lr", minimum=0.0, strict=True)
        batch_size = check_int(batch_size, "MLPDemo: batch_size")

        data_ss, split_ss, init_ss, batch_ss = np.random.SeedSequence(self.seed).spawn(4)
        if points is None:
            X, y = make_toy(self.dataset, self.n_samples, noise=self.noise, rng=np.random.default_rng(data_ss))
        self.points = (X, y) if points is not None else None
        self.X_train, self.X_test, self.y_train, self.y_test = train_test_split(
            X, y, test_fraction=self.test_fraction, rng=np.random.default_rng(split_ss))
        self.n_classes = int(y.max()) + 1
        # A square view of the plane that holds every point with a margin, rounded to half units.
        self.extent = float(np.ceil((np.abs(X).max() + 0.3) * 2.0) / 2.0)

        init_rng = np.random.default_rng(init_ss)
        init = "he" if self.activation in ("relu", "leaky_relu") else "xavier"
        layers, n_in = [], 2
        for _ in range(self.depth):
            layers += [Dense(n_in, self.breadth, rng=init_rng, init=init), get_activation(self.activation)]
            n_in = self.breadth
        layers.append(Dense(n_in, self.n_classes, rng=init_rng, init="xavier"))
        self.model = _CapturingMLP(layers)

        self.trainer = Trainer(self.model, "cross_entropy", get_optimizer(self.optimizer_name, lr=lr),
                               self.X_train, self.y_train, batch_size=batch_size, rng=np.random.default_rng(batch_ss))
        self.history = History(("step", "train_loss", "test_loss", "train_acc", "test_acc"))
        self._grid_cache: tuple[int, dict] | None = None

    # ------------------------------------------------------------------------------------------
    # settings that may change during a run
    # ------------------------------------------------------------------------------------------

    @property
    def settings(self) -> dict:
        """The keyword arguments that rebuild this demo from scratch (current lr and batch size)."""
        return dict(dataset=self.dataset, n_samples=self.n_samples, noise=self.noise,
                    test_fraction=self.test_fraction, depth=self.depth, breadth=self.breadth,
                    activation=self.activation, lr=self.lr, batch_size=self.batch_size,
                    optimizer=self.optimizer_name, seed=self.seed, grid_size=self.grid_size, points=self.points)

    def settings_for(self, model, name: str = "the model") -> dict:
        """``{"depth", "breadth", "activation"}`` that make this demo's network ``model``'s architecture, on
        the same data: ``model`` must be Dense layers with one activation of :data:`ACTIVATIONS` between
        them, 2 inputs, 1 to :data:`MAX_DEPTH` hidden layers of one size (1 to :data:`MAX_BREADTH`) and one
        output per class of this demo's data. ValueError naming the first misfit otherwise."""
        specs = layer_specs(model)
        kinds = [c for c, _ in specs]
        if len(specs) < 3 or len(specs) % 2 == 0 or any(c != "Dense" for c in kinds[::2]):
            raise ValueError(f"{name} does not fit: this section trains Dense, activation, ..., Dense (1 to "
                             f"{MAX_DEPTH} hidden layers); the file has {', '.join(kinds[:12])}.")
        acts = {_ACTIVATION_CLASSES.get(c, c) for c in kinds[1::2]}
        if len(acts) != 1 or not acts <= set(ACTIVATIONS):
            raise ValueError(f"{name} does not fit: its activations are {', '.join(sorted(acts))}; this section "
                             f"uses one of {', '.join(ACTIVATIONS)} between all layers.")
        dense = [cfg for _, cfg in specs[::2]]
        depth, breadth = len(dense) - 1, dense[0]["n_out"]
        if dense[0]["n_in"] != 2:
            raise ValueError(f"{name} does not fit: its input size is {dense[0]['n_in']}; the points have 2 "
                             f"coordinates (x, y).")
        if depth > MAX_DEPTH or any(cfg["n_out"] != breadth for cfg in dense[:-1]) or breadth > MAX_BREADTH:
            sizes = [dense[0]["n_in"]] + [cfg["n_out"] for cfg in dense]
            raise ValueError(f"{name} does not fit: its layer sizes are {sizes}; this section draws 1 to "
                             f"{MAX_DEPTH} hidden layers of one size from 1 to {MAX_BREADTH}.")
        if dense[-1]["n_out"] != self.n_classes:
            raise ValueError(f"{name} does not fit: it has {dense[-1]['n_out']} outputs, the dataset "
                             f"{self.dataset} has {self.n_classes} classes. Choose a dataset with "
                             f"{dense[-1]['n_out']} classes first.")
        settings = dict(depth=depth, breadth=breadth, activation=acts.pop())
        check_same(name, model, MLPDemo(**{**self.settings, **settings}).model)
        return settings

    def describe(self) -> str:
        """One line: the layers, the data and the training settings, e.g. for a caption."""
        return (f"{self.n_layers} layers {self.layer_sizes}, {len(self.X_train)} training and {len(self.X_test)} "
                f"test points; {self.batch_size} examples per step, learning rate {self.lr:g}.")

    @property
    def layer_sizes(self) -> list[int]:
        """``[n_0, n_1, ..., n_L]``: 2 inputs, ``depth`` times ``breadth``, then the number of classes."""
        return [2] + [self.breadth] * self.depth + [self.n_classes]

    @property
    def n_layers(self) -> int:
        """L, the number of Dense layers (hidden layers + the output layer)."""
        return self.depth + 1

    # ------------------------------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------------------------------

    def step(self, n: int = 1) -> dict | None:
        """Train ``n`` mini-batches; returns the last step's record (``None`` if ``n == 0``).

        A :class:`~pyfadml.train.DivergenceError` propagates (the weights stay as before the failing step).
        """
        n = check_int(n, "MLPDemo.step: n", minimum=0)
        record = None
        for _ in range(n):
            record = self.trainer.step()
        return record

    def _recovered(self, step: int) -> None:
        super()._recovered(step)
        self._grid_cache = None
        self.model.capture = None

    def evaluate(self) -> dict:
        """Loss and accuracy on the whole train and test sets with the current weights.

        Appended to :attr:`history` (one row per distinct step count). Returns
        ``{"step", "train_loss", "test_loss", "train_acc", "test_acc"}``.
        """
        tr = self.trainer.evaluate(self.X_train, self.y_train)
        te = self.trainer.evaluate(self.X_test, self.y_test)
        return self.history.put({"step": self.step_count, "train_loss": tr["loss"], "test_loss": te["loss"],
                                 "train_acc": tr["accuracy"], "test_acc": te["accuracy"]})
