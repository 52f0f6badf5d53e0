"""Autoencoder and VAE side by side: everything the browser's generative section shows, without a UI.

The lecture's section 5. An :class:`~pyfadml.models.Autoencoder` compresses an image x (D pixels) through
an encoder into a code y of d < D numbers and a decoder draws x' back from it; a
:class:`~pyfadml.models.VAE` makes the code a Gaussian, a mean mu and a spread sigma, decodes a perturbed
sample z = mu + sigma * eps, and adds beta * KL(N(mu, sigma^2) || N(0, I)) to the loss 1/2 ||x - x'||^2
(eq. 1) so that the codes stay near the prior N(0, I) and the prior can be sampled.

:class:`GenerativeDemo` owns one data set, both models and their Trainers (the same mini-batches in the same
order, so the comparison is fair) and answers the questions the page asks:

* :meth:`~GenerativeDemo.step` / :meth:`~GenerativeDemo.train_for`  train both models, one mini-batch a step;
* :meth:`~GenerativeDemo.evaluate`          test reconstruction error (and KL) of both models, from
  :meth:`~GenerativeDemo.test_pass` (one encode and decode of the test set per model, cached until a step);
* :meth:`~GenerativeDemo.recognised_fraction`  reconstructions whose nearest training image has the right label;
* :meth:`~GenerativeDemo.reconstructions`   inputs beside their AE and VAE reconstructions;
* :meth:`~GenerativeDemo.latent_plane`      the test set's codes (the VAE's means mu and spreads sigma) on a
  plane, with ellipses of one sigma;  :meth:`~GenerativeDemo.decode_point` draws a point of that plane;
* :meth:`~GenerativeDemo.sample_prior`      decode z ~ N(0, I) with both decoders;
  :meth:`~GenerativeDemo.prior_realism` how close such draws come to real images, per model;
* :meth:`~GenerativeDemo.variations`        the lecture's controlled variations: mu + s * sigma * eps;
* :meth:`~GenerativeDemo.error_distribution` / :meth:`~GenerativeDemo.anomaly_score`  anomaly or regular.

The latent plane, the variations and the anomaly score are :class:`~pyfadml.demos.latent_space.LatentSpace`
(its own file), mixed into :class:`GenerativeDemo`.

Why beta defaults to 0.05. With pixels in [0, 1] the reconstruction term 1/2 ||x - x'||^2 of an 8x8 digit is
about 2.4 for the mean image and about 1 for a good 2-D code, while the KL term costs several nats per
informative latent dimension. With beta = 1 the KL wins: the encoder gives up (mu = 0, sigma = 1 for every
input, KL = 0) and the decoder draws the average digit, the "posterior collapse" the page lets a student
provoke. A small beta is the same as a sharper Gaussian likelihood for the pixels.

Reproducibility: everything is a function of the settings and ``seed``. ``np.random.SeedSequence(seed)``
spawns, in order, the seeds of: the data set and its train/test split, the VAE (initialisation and its eps),
the AE initialisation and the mini-batch order (one seed, so both Trainers see the same batches).
"""
from __future__ import annotations

import math

import numpy as np

from pyfadml._checks import as_rng, check_array, check_choice, check_float, check_int
from pyfadml.data.images import SHAPE_CLASSES, load_digits, make_shapes
from pyfadml.data.toy2d import train_test_split
from pyfadml.demos._live import TrainerDemo
from pyfadml.demos.latent_space import ANOMALY_PERCENTILE, MODEL_KINDS, LatentSpace
from pyfadml.history import History
from pyfadml.io import check_same
from pyfadml.losses import half_squared_errors
from pyfadml.models import VAE, Autoencoder
from pyfadml.optim import Adam
from pyfadml.train import DivergenceError, Trainer

__all__ = ["GenerativeDemo", "load_images", "DATASETS", "HIDDEN_CHOICES", "MODEL_KINDS", "DivergenceError",
           "SHAPES_SIZE", "SHAPES_VARIATIONS", "ANOMALY_PERCENTILE"]

DATASETS = ("digits", "shapes")
"""``digits``: the UCI 8x8 hand-written digits; ``shapes``: :func:`~pyfadml.data.images.make_shapes` drawings."""
HIDDEN_CHOICES = {"64": (64,), "128": (128,), "128-64": (128, 64)}
"""Hidden layer widths of the encoder (the decoder mirrors them), by the label the page shows."""
SHAPES_SIZE = 12
"""Side of the shapes images: 12x12 = 144 pixels keeps a training step cheap in the browser."""
SHAPES_VARIATIONS = ("orientation", "shift", "brightness")
"""Smooth variations only: a generative model can learn them as directions of its latent space."""
SHAPES_N = 1500


def load_images(name: str, *, rng, test_fraction: float = 0.2):
    """One of :data:`DATASETS`, flattened for dense models, split into train and test.

    Returns ``dict(X_train (N, D), X_test (M, D), y_train (N,), y_test (M,), image_shape (H, W),
    class_names tuple)`` with pixels in [0, 1] (float64). ``rng`` is a Generator or an int seed; it draws
    the shapes (for ``shapes``), then the split.
    """
    check_choice(name, "dataset", DATASETS)
    gen = as_rng(rng, "load_images: rng")
    if name == "digits":
        X, y = load_digits()
        classes = tuple(str(k) for k in range(10))
    else:
        X, y = make_shapes(SHAPES_N, size=SHAPES_SIZE, variations=SHAPES_VARIATIONS,
                           rng=gen)
        classes = tuple(SHAPE_CLASSES)
    shape = X.shape[2:]
    X = X.reshape(len(X), -1)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=test_fraction,
                                                        rng=gen)
    return {"X_train": X_train, "X_test": X_test, "y_train": y_train, "y_test": y_test,
            "image_shape": tuple(int(s) for s in shape), "class_names": classes}


class GenerativeDemo(LatentSpace, TrainerDemo):
    """An Autoencoder and a VAE of the same size, trained together on one image data set.

    Settings (keyword-only): ``dataset`` (one of :data:`DATASETS`), ``latent`` d (2..16, and d < D),
    ``hidden`` (a key of :data:`HIDDEN_CHOICES` or a tuple of widths), ``lr`` (Adam's learning rate, both
    models), ``beta`` (the VAE's KL weight), ``batch_size``, ``seed``, ``dtype`` ("float32", the default, is
    about twice as fast in the browser's NumPy; "float64" for checks).
    """

    def __init__(self, *, dataset: str = "digits", latent: int = 2, hidden="128", lr: float = 0.01,
                 beta: float = 0.05, batch_size: int = 64, seed: int = 0, dtype: str = "float32"):
        self.dataset = check_choice(dataset, "dataset", DATASETS)
        self.latent = check_int(latent, "GenerativeDemo: latent")
        if self.latent > 16:
            raise ValueError(f"GenerativeDemo: latent must be between 1 and 16, got {latent}")
        if isinstance(hidden, str):
            self.hidden = HIDDEN_CHOICES[check_choice(hidden, "hidden", HIDDEN_CHOICES)]
        else:
            if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
                hidden = (hidden,)
            if not isinstance(hidden, (list, tuple)) or not hidden:
                raise TypeError(f"GenerativeDemo: hidden must be one of {list(HIDDEN_CHOICES)} or a tuple of "
                                f"widths, got {hidden!r}")
            self.hidden = tuple(check_int(h, f"GenerativeDemo: hidden[{i}]") for i, h in enumerate(hidden))
        self.seed = check_int(seed, "GenerativeDemo: seed", minimum=0)
        self.dtype = np.dtype(check_choice(str(dtype), "dtype", ("float32", "float64")))
        lr = check_float(lr, "GenerativeDemo: lr", minimum=0.0, strict=True)
        beta = check_float(beta, "GenerativeDemo: beta", minimum=0.0)
        batch_size = check_int(batch_size, "GenerativeDemo: batch_size")

        data_ss, vae_ss, ae_ss, batch_ss = np.random.SeedSequence(self.seed).spawn(4)
        data = load_images(self.dataset, rng=np.random.default_rng(data_ss))
        self.image_shape: tuple[int, int] = data["image_shape"]
        self.class_names: tuple[str, ...] = data["class_names"]
        self.X_train = data["X_train"].astype(self.dtype)
        self.X_test = data["X_test"].astype(self.dtype)
        self.y_train, self.y_test = data["y_train"], data["y_test"]
        self.D = self.X_train.shape[1]
        if self.latent >= self.D:
            raise ValueError(f"GenerativeDemo: latent must be smaller than the {self.D} pixels, got {latent}")

        self.vae = VAE(self.D, self.latent, self.hidden, beta=beta, rng=np.random.default_rng(vae_ss))
        self.ae = Autoencoder(self.D, self.latent, self.hidden, rng=np.random.default_rng(ae_ss))
        self.vae.astype(self.dtype)
        self.ae.astype(self.dtype)
        self.models = {"vae": self.vae, "ae": self.ae}
        # The same SeedSequence gives both Trainers the same shuffling stream: identical mini-batches.
        self.trainers = {
            kind: Trainer(model, "half_se", Adam(lr=lr), self.X_train, self.X_train, batch_size=batch_size,
                          rng=np.random.default_rng(batch_ss), metrics=())
            for kind, model in self.models.items()
        }
        self.history = History(("step", "vae_loss", "vae_recon", "vae_kl", "ae_recon"))
        self.eval_history = History(("step", "vae_recon", "vae_kl", "ae_recon"))
        self._projection: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._test_cache: dict[str, tuple[int, dict]] = {}
        self._mean_image_error: float | None = None
        self._test_distance: float | None = None

    # ------------------------------------------------------------------------------------------
    # settings that may change during a run
    # ------------------------------------------------------------------------------------------

    @property
    def settings(self) -> dict:
        """The keyword arguments that rebuild this demo from scratch (with the current lr, beta, batch size)."""
        return dict(dataset=self.dataset, latent=self.latent, hidden=self.hidden, lr=self.lr, beta=self.beta,
                    batch_size=self.batch_size, seed=self.seed, dtype=str(self.dtype))

    def settings_for(self, model, name: str = "the model") -> dict:
        """``{"kind", "latent", "hidden"}``: which of this demo's models ``model`` (a VAE or an Autoencoder)
        replaces (``"vae"`` or ``"ae"``) and the settings that give it ``model``'s architecture on the same
        images (``hidden``: a key of :data:`HIDDEN_CHOICES` when one matches). ValueError naming the misfit
        otherwise."""
        kind = type(model).__name__
        if kind not in ("VAE", "Autoencoder"):
            raise ValueError(f"{name} does not fit: it holds a {kind}; this section shows a VAE or an Autoencoder.")
        cfg = model.get_config()
        if cfg.get("D") != self.D:
            raise ValueError(f"{name} does not fit: it takes images of {cfg.get('D')} pixels, the dataset "
                             f"{self.dataset} has {self.D} ({self.image_shape[0]}×{self.image_shape[1]}).")
        hidden = tuple(cfg.get("hidden", ()))
        hidden = next((k for k, v in HIDDEN_CHOICES.items() if tuple(v) == hidden), hidden)
        settings = dict(latent=cfg.get("d"), hidden=hidden)
        try:
            template = GenerativeDemo(**{**self.settings, **settings})
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} does not fit: latent size {cfg.get('d')} and hidden layers "
                             f"{cfg.get('hidden')} ({exc}).") from None
        target = "vae" if kind == "VAE" else "ae"
        check_same(name, model, template.models[target])
        return dict(kind=target, **settings)

    def describe(self) -> str:
        """One line: the models' sizes, the data and the training settings, e.g. for a caption."""
        return (f"D = {self.D} pixels → d = {self.latent} → D; hidden layers {list(self.hidden)}; "
                f"{len(self.X_train)} training and {len(self.X_test)} test images; {self.batch_size} images per "
                f"step, learning rate {self.lr:g}, β = {self.beta:g}.")

    @property
    def beta(self) -> float:
        return self.vae.beta

    @beta.setter
    def beta(self, value: float) -> None:
        self.vae.beta = check_float(value, "GenerativeDemo: beta", minimum=0.0)

    @property
    def image_size(self) -> int:
        return self.D

    def _model(self, kind: str):
        return self.models[check_choice(kind, "model", MODEL_KINDS)]

    # ------------------------------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------------------------------

    def step(self, n: int = 1) -> dict | None:
        """Train both models for ``n`` mini-batches; returns the last row appended to :attr:`history`.

        Each row: ``step``, ``vae_loss`` (= recon + beta * KL, what the VAE minimises), ``vae_recon``
        (1/2 ||x - x'||^2, batch mean), ``vae_kl`` (KL, batch mean, before the beta weight), ``ae_recon``.
        A :class:`~pyfadml.train.DivergenceError` propagates with the failing model's parameters untouched;
        if only the AE diverged, the VAE keeps its step and the next call completes the step for the AE
        (the row is appended then).
        """
        n = check_int(n, "GenerativeDemo.step: n", minimum=0)
        row = None
        for _ in range(n):
            rec = self._step_all()
            rv = rec["vae"]
            row = self.history.append({"step": rv["step"], "vae_loss": rv["loss"], "vae_recon": rv["recon"],
                                       "vae_kl": rv["kl"], "ae_recon": rec["ae"]["loss"]})
        return row

    def _recovered(self, step: int) -> None:
        super()._recovered(step)
        self.eval_history.truncate(step)
        self._test_cache.clear()

    def reconstruct(self, kind: str, X) -> np.ndarray:
        """x' = decoder(code(x)) of model ``kind`` ("vae" decodes mu), in eval mode: (N, D) -> (N, D)."""
        model = self._model(kind)
        X = self._images(X, "GenerativeDemo.reconstruct: X")
        return model.reconstruct(X)

    def errors(self, kind: str, X) -> np.ndarray:
        """Per-image reconstruction error 1/2 ||x - x'||^2 of model ``kind``: (N, D) -> (N,)."""
        X = self._images(X, "GenerativeDemo.errors: X")
        return half_squared_errors(self.reconstruct(kind, X), X)

    def test_pass(self, kind: str) -> dict:
        """Model ``kind`` on the whole test set, one encode and one decode, cached until the next step.

        ``{"codes" (M, d) (VAE: mu), "logvar" (M, d) or None, "recon" (M, D), "errors" (M,)}`` (float64),
        with recon = decode(code): for the VAE decode(mu), what ``reconstruct`` (eval mode, z = mu) gives.
        Everything the page shows about the test set reads this, so a refresh costs one pass per model.
        """
        check_choice(kind, "model", MODEL_KINDS)
        hit = self._test_cache.get(kind)
        if hit is not None and hit[0] == self.step_count:
            return hit[1]
        model = self.models[kind]
        if kind == "vae":
            mu, logvar = self.vae.encode(self.X_test)
            codes, logvar = mu, logvar.astype(np.float64)
        else:
            codes, logvar = self.ae.encode(self.X_test), None
        recon = model.decode(codes).astype(np.float64)
        out = {"codes": codes.astype(np.float64), "logvar": logvar, "recon": recon,
               "errors": half_squared_errors(recon, self.X_test)}
        self._test_cache[kind] = (self.step_count, out)
        return out

    def evaluate(self) -> dict:
        """Test-set means of 1/2 ||x - x'||^2 for both models and the VAE's KL (eval mode: z = mu).

        Appended to :attr:`eval_history` (one row per step count). Returns ``{"step", "vae_recon",
        "vae_kl", "ae_recon"}``.
        """
        v, a = self.test_pass("vae"), self.test_pass("ae")
        mu, logvar = v["codes"], v["logvar"]
        kl = float(np.mean(VAE.kl(mu, logvar)))
        row = {"step": self.step_count, "vae_recon": float(np.mean(v["errors"])),
               "vae_kl": kl, "ae_recon": float(np.mean(a["errors"]))}
        return self.eval_history.put(row)

    def full_history(self) -> dict:
        """:attr:`history` (each step's mini-batch losses) with the test-set losses of the evaluated steps as
        columns ``test_vae_recon``, ``test_vae_kl``, ``test_ae_recon`` (NaN at the other steps): one table,
        e.g. for :func:`pyfadml.history.to_csv`."""
        h, e = self.history, self.eval_history
        at = {step: i for i, step in enumerate(e["step"])}
        out = dict(h)
        for name in [c for c in e if c != "step"]:
            out["test_" + name] = [e[name][at[k]] if k in at else math.nan for k in h["step"]]
        return out

    def mean_image_error(self) -> float:
        """The error of always drawing the training set's mean image: the bar a useful code must beat.

        This is what a collapsed VAE (beta too large) reaches, and close to where training starts.
        """
        if self._mean_image_error is None:
            mean_image = np.broadcast_to(self.X_train.mean(axis=0, dtype=np.float64), self.X_test.shape)
            self._mean_image_error = float(np.mean(half_squared_errors(mean_image, self.X_test)))
        return self._mean_image_error

    def distance_to_data(self, images) -> np.ndarray:
        """Euclidean distance from each image ((n, H, W) or (n, D)) to its nearest training image, (n,)."""
        X = self._images(images, "GenerativeDemo.distance_to_data: images").astype(np.float32)
        T = self.X_train.astype(np.float32)
        d2 = np.sum(X * X, axis=1)[:, None] - 2.0 * (X @ T.T) + np.sum(T * T, axis=1)[None, :]
        return np.sqrt(np.maximum(d2.min(axis=1), 0.0)).astype(np.float64)

    def prior_realism(self, n: int = 200, *, seed: int = 0) -> dict:
        """Can the model be sampled? Median distance of ``n`` decoded prior draws z ~ N(0, I) to their nearest
        training image, for each model (the same z for both), beside the same median for the real test images.

        Returns ``{"vae", "ae", "test"}``. A model whose prior draws decode to images as close to the data as
        real test images are, can be sampled; blurry or out-of-place draws are further away.
        """
        n = check_int(n, "GenerativeDemo.prior_realism: n")
        z = np.random.default_rng(check_int(seed, "GenerativeDemo.prior_realism: seed", minimum=0)) \
            .standard_normal((n, self.latent)).astype(self.dtype)
        if self._test_distance is None:
            self._test_distance = float(np.median(self.distance_to_data(self.X_test)))
        out = {kind: float(np.median(self.distance_to_data(self.models[kind].decode(z)))) for kind in MODEL_KINDS}
        out["test"] = self._test_distance
        return out

    def recognised_fraction(self, kind: str) -> float:
        """Fraction of test reconstructions whose nearest training image (Euclidean) has the right label.

        An objective stand-in for "a person recognises the reconstruction": on the original test digits this
        nearest-neighbour rule is right about 99 % of the time; on the mean image, 10 %. (Distances in
        float32: the largest product of the page's refresh, and ties do not matter here.)
        """
        R = self.test_pass(kind)["recon"].astype(np.float32)
        T = self.X_train.astype(np.float32)
        d2 = np.sum(T * T, axis=1)[None, :] - 2.0 * (R @ T.T)      # + |r|^2, the same for every candidate
        return float(np.mean(self.y_train[np.argmin(d2, axis=1)] == self.y_test))

    # ------------------------------------------------------------------------------------------
    # images
    # ------------------------------------------------------------------------------------------

    def _images(self, X, where: str) -> np.ndarray:
        X = check_array(X, where)
        if X.ndim == 1 or X.shape == self.image_shape:
            X = X.reshape(1, -1)
        elif X.ndim == 3:
            X = X.reshape(X.shape[0], -1)
        if X.ndim != 2 or X.shape[1] != self.D:
            h, w = self.image_shape
            raise ValueError(f"{where}: expected images of {h}x{w} = {self.D} pixels, shape (N, {self.D}), "
                             f"(N, {h}, {w}) or ({h}, {w}), got {np.shape(X)}")
        return X.astype(self.dtype, copy=False)

    def as_images(self, X) -> np.ndarray:
        """(N, D) -> (N, H, W)."""
        return np.asarray(X).reshape((-1,) + self.image_shape)

    def showcase_indices(self, k: int | None = None) -> np.ndarray:
        """Test-set indices for the input/reconstruction grid: the first test image of each class, then
        the next test images in order, ``k`` in all (default: one per class)."""
        n_cls = len(self.class_names)
        k = n_cls if k is None else check_int(k, "GenerativeDemo.showcase_indices: k")
        k = min(k, len(self.y_test))
        first = [int(np.flatnonzero(self.y_test == c)[0]) for c in range(n_cls) if np.any(self.y_test == c)]
        rest = [i for i in range(len(self.y_test)) if i not in set(first)]
        return np.array((first + rest)[:k], dtype=np.int64)

    def reconstructions(self, indices=None) -> dict:
        """Test images beside their reconstructions: ``{"index", "label", "x", "vae", "ae"}``, the images
        (k, H, W) in [0, 1] (float64) and the per-image errors ``vae_error``/``ae_error`` (k,)."""
        idx = self.showcase_indices() if indices is None else np.asarray(indices, dtype=np.int64).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= len(self.y_test)):
            raise ValueError(f"GenerativeDemo.reconstructions: indices must lie in [0, {len(self.y_test)}), "
                             f"got {idx.min()}..{idx.max()}")
        X = self.X_test[idx]
        out = {"index": idx, "label": self.y_test[idx], "x": self.as_images(X).astype(np.float64)}
        for kind in MODEL_KINDS:
            t = self.test_pass(kind)
            out[kind] = self.as_images(t["recon"][idx])
            out[f"{kind}_error"] = t["errors"][idx]
        return out
