"""A small CNN trained live on shapes or digits: everything the browser section shows, without a UI.

The network is the lecture's pipeline twice, then a classifier::

    x (N, 1, H, W)
      -> Conv2D(1 -> f1, k x k, same padding) -> ReLU -> MaxPool 2x2        level 1: edges
      -> Conv2D(f1 -> f2, k x k, same padding) -> ReLU -> MaxPool 2x2       level 2: boundaries, parts
      -> Flatten -> Dense(f2 * H/4 * W/4 -> K)                              class scores (logits)

trained with softmax cross-entropy. :class:`CNNDemo` owns the data, the model and the
:class:`~pyfadml.train.Trainer`, and answers the questions the page asks:

* :meth:`CNNDemo.step` / :meth:`CNNDemo.train_for`   train mini-batches (time-boxed for a live page);
* :meth:`CNNDemo.evaluate`       loss and accuracy on the train and test sets (appended to ``history``);
* :meth:`CNNDemo.kernels`        the learned kernels of a conv layer;
* :meth:`CNNDemo.feature_maps`   what each layer makes of one input (the lecture's hierarchy);
* :meth:`CNNDemo.confusion`      the test set's confusion matrix;
* :meth:`CNNDemo.predict_proba`  class probabilities for one image, e.g. drawn by the student;
* :meth:`CNNDemo.top_patches`    the test patches that excite each level-1 / level-2 feature / class most;
* :meth:`CNNDemo.occlusion`      which pixels the decision depends on (the lecture's "explainability").

The last three live in :class:`~pyfadml.demos.cnn_inside.LookInside` (their own file), mixed into
:class:`CNNDemo`.

"How to select kernel?" (the lecture): ``first_layer="presets"`` starts the first conv layer from hand-picked
kernels (edge detectors, the X kernel, blur, sharpen: :data:`pyfadml.demos.conv.KERNEL_PRESETS`) and lets
training change them; ``"presets_frozen"`` keeps them fixed and learns only the rest; ``"learned"`` (default)
starts from random (He) kernels and learns them all.

Reproducibility: ``seed`` feeds ``np.random.SeedSequence(seed)``, whose four children drive, in order, the
dataset, the train/test split, the weight initialisation and the mini-batch shuffling, so the same settings
and the same number of steps always give the same weights.
"""
from __future__ import annotations


import numpy as np

from pyfadml._checks import check_array, check_choice, check_float, check_int
from pyfadml.data.images import SHAPE_CLASSES, SHAPE_VARIATIONS, load_digits, make_shapes
from pyfadml.data.toy2d import train_test_split
from pyfadml.demos.conv import KERNEL_PRESETS, preset_kernel
from pyfadml.demos._live import TrainerDemo
from pyfadml.demos.cnn_inside import LookInside
from pyfadml.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from pyfadml.losses import softmax, softmax_cross_entropy
from pyfadml.models import Sequential
from pyfadml.history import History
from pyfadml.io import check_same, layer_specs
from pyfadml.optim import OPTIMIZERS, get_optimizer
from pyfadml.train import DivergenceError, Trainer

__all__ = ["CNNDemo", "DATASETS", "FIRST_LAYER_MODES", "OPTIMIZERS", "LECTURE_VARIATIONS", "PRESET_ORDER",
           "preset_bank", "DivergenceError"]

DATASETS = ("shapes", "digits")
"""``shapes``: :func:`pyfadml.data.images.make_shapes` (6 classes); ``digits``: the UCI 8x8 digits (10 classes)."""
FIRST_LAYER_MODES = ("learned", "presets", "presets_frozen")
KERNEL_SIZES = (3, 5)
LECTURE_VARIATIONS = ("orientation", "brightness", "occlusion", "shades")
"""The four properties of data the lecture says feature extraction must cope with."""
PRESET_ORDER = ("edge_vertical", "edge_horizontal", "x", "edge_all", "sharpen", "blur_box", "identity",
                "blur_gaussian")
"""Which hand-picked kernel goes to which first-layer filter (then again, negated, if there are more filters)."""
MAX_FILTERS = 16
DIGIT_CLASSES = tuple(str(d) for d in range(10))


def preset_bank(n_filters: int, kernel_size: int = 3, *, norm: float | None = np.sqrt(2.0)) -> np.ndarray:
    """``n_filters`` hand-picked kernels for a first conv layer: shape ``(n_filters, 1, k, k)``, float64.

    Filter i is ``PRESET_ORDER[i]`` (after the eight presets: the same again with the sign flipped, so a
    detector of dark-to-light is paired with light-to-dark). A 3x3 preset is placed in the centre of a larger
    ``kernel_size``. Each kernel is scaled to the Frobenius ``norm`` (default sqrt(2), the expected norm of a
    He-initialised single-channel kernel, so training starts on the same scale as from random kernels);
    ``norm=None`` keeps the presets' own values.
    """
    n_filters = check_int(n_filters, "preset_bank: n_filters")
    kernel_size = check_int(kernel_size, "preset_bank: kernel_size", minimum=3)
    if n_filters > 2 * len(PRESET_ORDER):
        raise ValueError(f"preset_bank: n_filters must be at most {2 * len(PRESET_ORDER)}, got {n_filters}")
    off = (kernel_size - 3) // 2
    bank = np.zeros((n_filters, 1, kernel_size, kernel_size))
    for i in range(n_filters):
        k = preset_kernel(PRESET_ORDER[i % len(PRESET_ORDER)])
        if i >= len(PRESET_ORDER):
            k = -k
        if norm is not None:
            k = k * (norm / np.linalg.norm(k))
        bank[i, 0, off:off + 3, off:off + 3] = k
    return bank


def preset_names(n_filters: int) -> list[str]:
    """The labels of :func:`preset_bank`'s filters, e.g. ``"Vertical edges (Sobel)"`` or ``"-Sharpen"``."""
    return [("" if i < len(PRESET_ORDER) else "-") + KERNEL_PRESETS[PRESET_ORDER[i % len(PRESET_ORDER)]]["label"]
            for i in range(n_filters)]


class CNNDemo(LookInside, TrainerDemo):
    """A live CNN classifier on shapes or digits.

    Settings (keyword-only): ``dataset`` ("shapes" or "digits"); for shapes ``n_samples`` (default 1200),
    ``image_size`` (a multiple of 4, default 16) and ``variations`` (names of
    :data:`pyfadml.data.images.SHAPE_VARIATIONS`, default the lecture's four); ``test_fraction`` (0.25);
    ``filters`` = (f1, f2) filters of the two conv layers (1..16 each); ``kernel_size`` (3 or 5);
    ``lr``, ``batch_size``, ``optimizer`` ("sgd", "momentum", "adam"); ``first_layer`` (one of
    :data:`FIRST_LAYER_MODES`); ``dtype`` ("float32", the fast default, or "float64"); ``seed``.
    """

    def __init__(self, *, dataset: str = "shapes", n_samples: int = 1200, image_size: int = 16,
                 variations=LECTURE_VARIATIONS, test_fraction: float = 0.25, filters=(6, 12),
                 kernel_size: int = 3, lr: float = 0.01, batch_size: int = 32, optimizer: str = "adam",
                 first_layer: str = "learned", dtype: str = "float32", seed: int = 0):
        self.dataset = check_choice(dataset, "dataset", DATASETS)
        self.n_samples = check_int(n_samples, "CNNDemo: n_samples", minimum=20)
        self.image_size = check_int(image_size, "CNNDemo: image_size", minimum=8)
        if self.image_size % 4:
            raise ValueError(f"CNNDemo: image_size must be a multiple of 4 (two 2x2 poolings), got {image_size}")
        if isinstance(variations, str):
            raise TypeError(f"CNNDemo: variations must be a sequence of names, got the string {variations!r}")
        self.variations = tuple(v for v in SHAPE_VARIATIONS if v in set(variations))
        for v in variations:
            check_choice(v, "variation", SHAPE_VARIATIONS)
        self.test_fraction = check_float(test_fraction, "CNNDemo: test_fraction", minimum=0.0, strict=True)
        if isinstance(filters, (int, np.integer)) or len(filters) != 2:
            raise ValueError(f"CNNDemo: filters must be a pair (f1, f2), got {filters!r}")
        self.filters = tuple(check_int(f, f"CNNDemo: filters[{i}]") for i, f in enumerate(filters))
        if max(self.filters) > MAX_FILTERS:
            raise ValueError(f"CNNDemo: filters must be between 1 and {MAX_FILTERS}, got {self.filters}")
        self.kernel_size = check_int(kernel_size, "CNNDemo: kernel_size")
        if self.kernel_size not in KERNEL_SIZES:
            raise ValueError(f"CNNDemo: kernel_size must be one of {KERNEL_SIZES}, got {kernel_size}")
        self.optimizer_name = check_choice(optimizer, "optimizer", OPTIMIZERS)
        self.first_layer = check_choice(first_layer, "first_layer", FIRST_LAYER_MODES)
        self.dtype = np.dtype(check_choice(str(np.dtype(dtype)), "dtype", ("float32", "float64")))
        self.seed = check_int(seed, "CNNDemo: seed", minimum=0)
        lr = check_float(lr, "CNNDemo: lr", minimum=0.0, strict=True)
        batch_size = check_int(batch_size, "CNNDemo: batch_size")

        data_ss, split_ss, init_ss, batch_ss = np.random.SeedSequence(self.seed).spawn(4)
        if self.dataset == "shapes":
            X, y = make_shapes(self.n_samples, size=self.image_size, variations=self.variations,
                               rng=np.random.default_rng(data_ss))
            self.class_names = SHAPE_CLASSES
        else:
            X, y = load_digits(rng=np.random.default_rng(data_ss))
            self.class_names = DIGIT_CLASSES
            self.image_size = X.shape[-1]
            self.n_samples = X.shape[0]
        X = X.astype(self.dtype)
        self.X_train, self.X_test, self.y_train, self.y_test = train_test_split(
            X, y, test_fraction=self.test_fraction, rng=np.random.default_rng(split_ss))
        self.n_classes = len(self.class_names)

        init_rng = np.random.default_rng(init_ss)
        k, pad = self.kernel_size, self.kernel_size // 2
        f1, f2 = self.filters
        side = self.image_size // 4
        layers = [Conv2D(1, f1, k, padding=pad, rng=init_rng), ReLU(), MaxPool2D(2),
                  Conv2D(f1, f2, k, padding=pad, rng=init_rng), ReLU(), MaxPool2D(2),
                  Flatten(), Dense(f2 * side * side, self.n_classes, rng=init_rng, init="xavier")]
        if self.first_layer != "learned":
            layers[0].params["W"][...] = preset_bank(f1, k)
        layers[0].trainable = self.first_layer != "presets_frozen"
        self.model = Sequential(layers)
        self.model.astype(self.dtype)
        self.initial_kernels = self.kernels(0)

        self.trainer = Trainer(self.model, "cross_entropy", get_optimizer(self.optimizer_name, lr=lr),
                               self.X_train, self.y_train, batch_size=batch_size, rng=np.random.default_rng(batch_ss))
        self.history = History(("step", "train_loss", "test_loss", "train_acc", "test_acc"))
        self._test_pred = None

    # ------------------------------------------------------------------------------------------
    # settings and state
    # ------------------------------------------------------------------------------------------

    @property
    def settings(self) -> dict:
        """The keyword arguments that rebuild this demo from scratch (with the current lr and batch size)."""
        return dict(dataset=self.dataset, n_samples=self.n_samples, image_size=self.image_size,
                    variations=self.variations, test_fraction=self.test_fraction, filters=self.filters,
                    kernel_size=self.kernel_size, lr=self.lr, batch_size=self.batch_size,
                    optimizer=self.optimizer_name, first_layer=self.first_layer, dtype=str(self.dtype),
                    seed=self.seed)

    @property
    def epoch(self) -> float:
        """Passes over the training set so far (fractional)."""
        return self.step_count * self.batch_size / len(self.y_train)

    @property
    def input_shape(self) -> tuple[int, int]:
        return (self.image_size, self.image_size)

    @property
    def conv_layers(self) -> list[Conv2D]:
        return [layer for layer in self.model.layers if isinstance(layer, Conv2D)]

    def settings_for(self, model, name: str = "the model") -> dict:
        """``{"filters", "kernel_size", "first_layer"}`` that make this demo's CNN ``model``'s architecture,
        on the same data: the same layers, 1-channel input, one output per class, a frozen first layer
        meaning ``"presets_frozen"``. ValueError naming the first misfit otherwise."""
        specs = layer_specs(model)
        kinds = [c for c, _ in specs]
        expected = ["Conv2D", "ReLU", "MaxPool2D", "Conv2D", "ReLU", "MaxPool2D", "Flatten", "Dense"]
        if kinds != expected:
            raise ValueError(f"{name} does not fit: this section trains {', '.join(expected)}; the file has "
                             f"{', '.join(kinds[:12])}.")
        c1, c2, dense = specs[0][1], specs[3][1], specs[7][1]
        if c1["c_in"] != 1:
            raise ValueError(f"{name} does not fit: its input has {c1['c_in']} channels, these images have 1.")
        if dense["n_out"] != self.n_classes:
            raise ValueError(f"{name} does not fit: it has {dense['n_out']} outputs, the dataset {self.dataset} "
                             f"has {self.n_classes} classes.")
        filters = (c1["c_out"], c2["c_out"])
        if not all(1 <= f <= MAX_FILTERS for f in filters) or c1["kernel_size"] not in KERNEL_SIZES:
            raise ValueError(f"{name} does not fit: filters {filters} and kernel size {c1['kernel_size']} are "
                             f"beyond this section's 1-{MAX_FILTERS} filters and 3x3 or 5x5 kernels.")
        frozen = not model.layers[0].trainable
        first = (self.first_layer if frozen == (self.first_layer == "presets_frozen")
                 else "presets_frozen" if frozen else "learned")
        settings = dict(filters=filters, kernel_size=c1["kernel_size"], first_layer=first)
        check_same(name, model, CNNDemo(**{**self.settings, "n_samples": 20, **settings}).model)
        return settings

    def load_weights(self, model, name: str = "the model", *, target=None) -> None:
        """:meth:`TrainerDemo.load_weights`; the loaded kernels become the starting kernels."""
        super().load_weights(model, name, target=target)
        self.initial_kernels = self.kernels(0)

    def describe(self) -> str:
        """One line: the architecture with its shapes, e.g. for a caption."""
        s, (f1, f2), k = self.image_size, self.filters, self.kernel_size
        return (f"1x{s}x{s} -> conv {k}x{k} x{f1} -> ReLU -> pool -> {f1}x{s // 2}x{s // 2} -> conv {k}x{k} x{f2} "
                f"-> ReLU -> pool -> {f2}x{s // 4}x{s // 4} -> dense -> {self.n_classes} classes "
                f"({self.model.n_params()} trained parameters)")

    # ------------------------------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------------------------------

    def step(self, n: int = 1) -> dict | None:
        """Train ``n`` mini-batches; returns the last step's record (``None`` if ``n == 0``).

        A :class:`~pyfadml.train.DivergenceError` propagates (the weights stay as before the failing step).
        """
        n = check_int(n, "CNNDemo.step: n", minimum=0)
        record = None
        for _ in range(n):
            record = self.trainer.step()
        return record

    def _recovered(self, step: int) -> None:
        super()._recovered(step)
        self._test_pred = None

    @property
    def train_seconds(self) -> float:
        """Wall-clock time spent training so far."""
        return self.trainer.seconds

    @property
    def steps_per_second(self) -> float:
        """Training steps per second of training time so far (0 before the first step)."""
        return self.trainer.steps_per_second

    def evaluate(self, *, train_samples: int | None = 300) -> dict:
        """Loss and accuracy on the test set and on (the first ``train_samples`` of) the training set.

        ``train_samples=None`` uses the whole training set; the default keeps a live page fast and is an
        unbiased sample (the training set is shuffled). Appended to :attr:`history` (one row per step count).
        The test predictions are kept for :meth:`confusion` until the next step.
        Returns ``{"step", "train_loss", "test_loss", "train_acc", "test_acc"}``.
        """
        n_tr = len(self.y_train) if train_samples is None else min(
            check_int(train_samples, "CNNDemo.evaluate: train_samples"), len(self.y_train))
        tr_loss, tr_acc, _ = self._evaluate_set(self.X_train[:n_tr], self.y_train[:n_tr])
        te_loss, te_acc, pred = self._evaluate_set(self.X_test, self.y_test)
        self._test_pred = (self.step_count, pred)
        return self.history.put({"step": self.step_count, "train_loss": tr_loss, "test_loss": te_loss,
                                 "train_acc": tr_acc, "test_acc": te_acc})

    def _evaluate_set(self, X, y, chunk: int = 1024):
        """Mean cross-entropy, accuracy and the predicted classes on (X, y), in eval mode."""
        logits = np.concatenate([self.model.predict(X[i:i + chunk]) for i in range(0, len(y), chunk)])
        loss, _ = softmax_cross_entropy(logits.astype(np.float64), y)
        pred = np.argmax(logits, axis=1)
        return float(loss), float(np.mean(pred == y)), pred

    # ------------------------------------------------------------------------------------------
    # inspection
    # ------------------------------------------------------------------------------------------

    def kernels(self, layer: int = 0) -> np.ndarray:
        """A copy of conv layer ``layer``'s kernels (0 = first): ``(c_out, c_in, k, k)`` float64."""
        convs = self.conv_layers
        layer = check_int(layer, "CNNDemo.kernels: layer", minimum=0)
        if layer >= len(convs):
            raise ValueError(f"CNNDemo.kernels: layer must be 0 or 1, got {layer}")
        return convs[layer].params["W"].astype(np.float64)

    def _as_batch(self, image, where: str) -> np.ndarray:
        s = self.image_size
        x = check_array(image, f"{where}: image", ndim=(2, 3, 4))
        if x.shape[-2:] != (s, s) or x.ndim == 3 and x.shape[0] != 1 or x.ndim == 4 and x.shape[1] != 1:
            raise ValueError(f"{where}: image must have shape ({s}, {s}), (1, {s}, {s}) or (N, 1, {s}, {s}), "
                             f"got {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{where}: image contains NaN or inf")
        return x.reshape(-1, 1, s, s).astype(self.dtype)

    def predict_proba(self, image) -> np.ndarray:
        """Class probabilities (softmax of the logits): (H, W) or (1, H, W) -> (K,); (N, 1, H, W) -> (N, K)."""
        x = self._as_batch(image, "CNNDemo.predict_proba")
        p = softmax(self.model.predict(x).astype(np.float64))
        return p[0] if np.ndim(image) < 4 else p

    def confusion(self) -> np.ndarray:
        """Test-set confusion matrix ``C (K, K)`` of counts: ``C[i, j]`` = images of class i predicted as j."""
        cached = self._test_pred
        if cached is not None and cached[0] == self.step_count:
            pred = cached[1]
        else:
            pred = self._evaluate_set(self.X_test, self.y_test)[2]
        C = np.zeros((self.n_classes, self.n_classes), dtype=np.int64)
        np.add.at(C, (self.y_test, pred), 1)
        return C

    def example(self, index: int, *, split: str = "test") -> tuple[np.ndarray, int]:
        """Image ``index`` of the train or test set as ``(H, W)`` float64, with its label."""
        check_choice(split, "split", ("train", "test"))
        X, y = (self.X_test, self.y_test) if split == "test" else (self.X_train, self.y_train)
        index = check_int(index, "CNNDemo.example: index", minimum=0)
        if index >= len(y):
            raise ValueError(f"CNNDemo.example: index must be below {len(y)} for the {split} set, got {index}")
        return X[index, 0].astype(np.float64), int(y[index])
