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

The plane. With d = 2 the plane *is* the latent space (axes z1, z2). With d > 2 it is the plane of the two
principal axes of the test set's codes, through their centre: a point (u, v) of the plot stands for
z = centre + u * axis1 + v * axis2, and the projection is recomputed by each call of :meth:`latent_plane`.

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
MODEL_KINDS = ("vae", "ae")
SHAPES_SIZE = 12
"""Side of the shapes images: 12x12 = 144 pixels keeps a training step cheap in the browser."""
SHAPES_VARIATIONS = ("orientation", "shift", "brightness")
"""Smooth variations only: a generative model can learn them as directions of its latent space."""
SHAPES_N = 1500
ANOMALY_PERCENTILE = 95.0
"""An image whose reconstruction error is above this percentile of the test set's errors is called anomalous."""


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


class GenerativeDemo(TrainerDemo):
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

    # ------------------------------------------------------------------------------------------
    # the latent plane
    # ------------------------------------------------------------------------------------------

    def codes(self, kind: str, X=None):
        """The codes of ``X`` (default: the test set). VAE: ``(mu, sigma)``; AE: ``(y, None)``. Each (N, d)."""
        if X is None:
            t = self.test_pass(kind)
            return t["codes"], (None if t["logvar"] is None else np.exp(0.5 * t["logvar"]))
        X = self._images(X, "GenerativeDemo.codes: X")
        if check_choice(kind, "model", MODEL_KINDS) == "vae":
            mu, logvar = self.vae.encode(X)
            return mu.astype(np.float64), np.exp(0.5 * logvar.astype(np.float64))
        return self.ae.encode(X).astype(np.float64), None

    def _fit_projection(self, kind: str, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(centre (d,), axes (2, d)): the identity for d = 2, else the two principal axes of the codes."""
        d = self.latent
        if d == 1:
            return np.zeros(1), np.array([[1.0], [0.0]])
        if d == 2:
            return np.zeros(2), np.eye(2)
        centre = codes.mean(axis=0)
        _, _, vt = np.linalg.svd(codes - centre, full_matrices=False)
        axes = vt[:2].copy()
        # Fix each axis's sign (largest component positive), so the picture does not flip between refreshes.
        for i in range(2):
            j = int(np.argmax(np.abs(axes[i])))
            if axes[i, j] < 0:
                axes[i] = -axes[i]
        return centre, axes

    def projection(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """The (centre, axes) the plane of model ``kind`` uses now (fitted on the test codes if needed)."""
        if kind not in self._projection:
            self.latent_plane(kind)
        return self._projection[kind]

    def project(self, kind: str, Z) -> np.ndarray:
        """Latent points (N, d) -> plane coordinates (N, 2)."""
        centre, axes = self.projection(kind)
        Z = check_array(Z, "GenerativeDemo.project: Z", shape=(None, self.latent))
        return (Z.astype(np.float64) - centre) @ axes.T

    def lift(self, kind: str, uv) -> np.ndarray:
        """Plane coordinates (N, 2) -> latent points z = centre + u * axis1 + v * axis2, (N, d)."""
        centre, axes = self.projection(kind)
        uv = check_array(uv, "GenerativeDemo.lift: uv", shape=(None, 2))
        return centre + uv.astype(np.float64) @ axes

    def latent_plane(self, kind: str, *, n_ellipses_per_class: int = 1) -> dict:
        """The test set on the latent plane of model ``kind``; refits the plane's projection.

        Returns ``{"u", "v"}`` (N,) plane coordinates of the codes (the VAE's means mu), ``"label"`` (N,),
        ``"codes"`` (N, d), ``"sigma"`` (N, d) or None, ``"axis_labels"`` (2 strings), ``"origin"`` (2,) where
        z = 0 (the prior's mean) lands, ``"medians"``: lists ``class``, ``u``, ``v``, the median of each class's
        finite codes (where its name goes on a plot), and for the VAE
        ``"ellipses"``: a dict of equal-length lists ``index``, ``u``, ``v``, ``width``, ``height``, ``angle``
        (radians) for the one-sigma ellipses of ``n_ellipses_per_class`` test images per class: the shape of
        the projected covariance  A diag(sigma^2) A^T  (A = the plane's axes).
        """
        codes, sigma = self.codes(kind)
        centre, axes = self._fit_projection(kind, codes)
        self._projection[kind] = (centre, axes)
        uv = (codes - centre) @ axes.T
        if self.latent <= 2:
            names = ["z1", "z2"] if self.latent == 2 else ["z1", "(none)"]
        else:
            names = ["principal axis 1 of the codes", "principal axis 2 of the codes"]
        medians = {"class": [], "u": [], "v": []}
        for k in range(len(self.class_names)):
            keep = (self.y_test == k) & np.isfinite(uv).all(axis=1)
            if keep.any():
                medians["class"].append(k)
                medians["u"].append(float(np.median(uv[keep, 0])))
                medians["v"].append(float(np.median(uv[keep, 1])))
        out = {"u": uv[:, 0], "v": uv[:, 1], "label": self.y_test, "codes": codes, "sigma": sigma,
               "axis_labels": names, "ellipses": None, "origin": -(centre @ axes.T), "medians": medians}
        if sigma is not None:
            k = check_int(n_ellipses_per_class, "latent_plane: n_ellipses_per_class", minimum=0)
            chosen = [int(i) for c in range(len(self.class_names)) for i in np.flatnonzero(self.y_test == c)[:k]]
            ell = {key: [] for key in ("index", "u", "v", "width", "height", "angle")}
            for i in chosen:
                cov = (axes * sigma[i] ** 2) @ axes.T            # A diag(sigma^2) A^T, (2, 2)
                vals, vecs = np.linalg.eigh(cov)                 # ascending
                ell["index"].append(i)
                ell["u"].append(float(uv[i, 0]))
                ell["v"].append(float(uv[i, 1]))
                ell["width"].append(2.0 * math.sqrt(max(vals[1], 0.0)))
                ell["height"].append(2.0 * math.sqrt(max(vals[0], 0.0)))
                ell["angle"].append(float(math.atan2(vecs[1, 1], vecs[0, 1])))
            out["ellipses"] = ell
        return out

    def decode_point(self, kind: str, u: float, v: float) -> np.ndarray:
        """Decode the point (u, v) of model ``kind``'s plane: an (H, W) image in [0, 1] (float64)."""
        u = check_float(u, "GenerativeDemo.decode_point: u")
        v = check_float(v, "GenerativeDemo.decode_point: v")
        z = self.lift(kind, np.array([[u, v]]))
        return self.as_images(self._model(kind).decode(z.astype(self.dtype)))[0].astype(np.float64)

    def sample_prior(self, n: int = 8, *, rng) -> dict:
        """Draw z ~ N(0, I) (n, d) and decode the *same* z with both decoders.

        Returns ``{"z", "vae", "ae"}`` (images (n, H, W) in [0, 1]) and ``"vae_uv"``/``"ae_uv"`` (n, 2): where
        the draws fall on each model's plane. The VAE was trained to put its codes there; the AE was not.
        """
        n = check_int(n, "GenerativeDemo.sample_prior: n")
        z = as_rng(rng, "GenerativeDemo.sample_prior: rng").standard_normal((n, self.latent))
        out = {"z": z}
        for kind in MODEL_KINDS:
            out[kind] = self.as_images(self._model(kind).decode(z.astype(self.dtype))).astype(np.float64)
            out[f"{kind}_uv"] = self.project(kind, z)
        return out

    def code_stats(self, kind: str) -> dict:
        """Mean and standard deviation, per latent dimension, of the test set's codes (VAE: of mu).

        The prior N(0, I) that :meth:`sample_prior` draws from has mean 0 and std 1 on every axis; the VAE's
        KL term pulls its codes there, nothing pulls the AE's. Returns ``{"mean" (d,), "std" (d,)}``.
        """
        codes, _ = self.codes(kind)
        return {"mean": codes.mean(axis=0), "std": codes.std(axis=0)}

    # ------------------------------------------------------------------------------------------
    # controlled variations
    # ------------------------------------------------------------------------------------------

    def variations(self, image, scale: float, *, n: int = 8, seed: int = 0) -> dict:
        """The lecture's controlled variations of one image, with the VAE.

        ``image``: a test index (int) or an image ((H, W) or (D,)). Encode it to (mu, sigma), draw
        eps ~ N(0, I) (n, d) from ``seed`` and decode  z_i = mu + scale * sigma * eps_i.  The same eps for the
        same seed, so moving ``scale`` morphs the variations smoothly; at ``scale = 0`` every variation is the
        reconstruction decode(mu); at ``scale = 1`` they are draws from the VAE's own posterior N(mu, sigma^2).

        Returns ``{"x" (H, W), "mu" (d,), "sigma" (d,), "recon" (H, W), "z" (n, d), "images" (n, H, W)}``.
        """
        if isinstance(image, (int, np.integer)) and not isinstance(image, bool):
            if not 0 <= int(image) < len(self.y_test):
                raise ValueError(f"GenerativeDemo.variations: image index must lie in [0, {len(self.y_test)}), "
                                 f"got {image}")
            x = self.X_test[int(image)][None, :]
        else:
            x = self._images(image, "GenerativeDemo.variations: image")
            if x.shape[0] != 1:
                raise ValueError(f"GenerativeDemo.variations: give one image, got {x.shape[0]}")
        scale = check_float(scale, "GenerativeDemo.variations: scale", minimum=0.0)
        n = check_int(n, "GenerativeDemo.variations: n")
        seed = check_int(seed, "GenerativeDemo.variations: seed", minimum=0)
        mu, sigma = self.codes("vae", x)
        eps = np.random.default_rng(seed).standard_normal((n, self.latent))
        z = mu + scale * sigma * eps
        dec = self.vae.decode
        return {"x": self.as_images(x)[0].astype(np.float64), "mu": mu[0], "sigma": sigma[0],
                "recon": self.as_images(dec(mu.astype(self.dtype)))[0].astype(np.float64), "z": z,
                "images": self.as_images(dec(z.astype(self.dtype))).astype(np.float64)}

    # ------------------------------------------------------------------------------------------
    # anomaly or regular
    # ------------------------------------------------------------------------------------------

    def error_distribution(self, kind: str = "vae") -> np.ndarray:
        """Reconstruction errors 1/2 ||x - x'||^2 of every test image (M,): what "regular" looks like."""
        return self.test_pass(kind)["errors"].copy()

    def anomaly_score(self, image, kind: str = "vae", *, errors=None) -> dict:
        """Is ``image`` ((H, W) or (D,), pixels in [0, 1]) like the training images, for model ``kind``?

        Returns ``{"error", "percentile", "threshold", "anomalous", "recon" (H, W)}``: its reconstruction
        error, the percentage of test images reconstructed better than it, the :data:`ANOMALY_PERCENTILE`-th
        percentile of the test errors and whether the error lies above it. ``errors``: a precomputed
        :meth:`error_distribution` (the page passes it to avoid recomputing per pixel click).
        """
        x = self._images(image, "GenerativeDemo.anomaly_score: image")
        if x.shape[0] != 1:
            raise ValueError(f"GenerativeDemo.anomaly_score: give one image, got {x.shape[0]}")
        if not np.all(np.isfinite(x)) or x.min() < 0.0 or x.max() > 1.0:
            raise ValueError(f"GenerativeDemo.anomaly_score: pixels must lie in [0, 1], got values from "
                             f"{np.nanmin(x):.3g} to {np.nanmax(x):.3g}")
        errs = self.error_distribution(kind) if errors is None else np.asarray(errors, dtype=np.float64)
        recon = self.reconstruct(kind, x)
        err = float(half_squared_errors(recon, x)[0])
        threshold = float(np.percentile(errs, ANOMALY_PERCENTILE))
        return {"error": err, "percentile": float(100.0 * np.mean(errs < err)), "threshold": threshold,
                "anomalous": bool(err > threshold), "recon": self.as_images(recon)[0].astype(np.float64)}
