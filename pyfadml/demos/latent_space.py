"""The latent side of :class:`~pyfadml.demos.generative.GenerativeDemo`: the plane, variations, anomalies.

A mixin, so the demo's file reads in one sitting: it uses the demo's ``vae``/``ae``, ``test_pass``,
``_images``, ``as_images``, ``reconstruct``, ``latent``, ``dtype``, the test set and its ``_projection`` cache.

The plane. With d = 2 the plane *is* the latent space (axes z1, z2). With d > 2 it is the plane of the two
principal axes of the test set's codes, through their centre: a point (u, v) of the plot stands for
z = centre + u * axis1 + v * axis2, and the projection is recomputed by each call of :meth:`latent_plane`.
"""
from __future__ import annotations

import math

import numpy as np

from pyfadml._checks import as_rng, check_array, check_choice, check_float, check_int
from pyfadml.losses import half_squared_errors

__all__ = ["LatentSpace", "MODEL_KINDS", "ANOMALY_PERCENTILE"]

MODEL_KINDS = ("vae", "ae")
ANOMALY_PERCENTILE = 95.0
"""An image whose reconstruction error is above this percentile of the test set's errors is called anomalous."""


class LatentSpace:
    """Codes, the latent plane, prior samples, controlled variations and anomaly scores of both models."""

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
        the projected covariance  A diag(sigma^2) A^T  (A = the plane's axes). ``"reach"``: the largest
        ``|u|`` or ``|v|`` of a finite code (how far the plane must extend), ``"mean"`` and ``"std"`` (d,):
        :meth:`code_stats` of these codes.
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
        finite = np.isfinite(uv).all(axis=1)
        out = {"u": uv[:, 0], "v": uv[:, 1], "label": self.y_test, "codes": codes, "sigma": sigma,
               "axis_labels": names, "ellipses": None, "origin": -(centre @ axes.T), "medians": medians,
               "reach": float(np.max(np.abs(uv[finite]))) if finite.any() else 0.0,
               "mean": codes.mean(axis=0), "std": codes.std(axis=0)}
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

    def error_histogram(self, errors, *, bins: int = 30, top_percentile: float = 99.5) -> dict | None:
        """A histogram of test errors (:meth:`error_distribution`) on ``[0, top]``, ``top`` 1.15 times their
        ``top_percentile``-th percentile (1 if that is not positive), a larger error counted in the last bin.
        Returns ``{"left", "right", "counts"}`` (bins,) and ``"top"``; None without a finite error."""
        errors = np.asarray(errors, dtype=np.float64)
        errors = errors[np.isfinite(errors)]
        bins = check_int(bins, "GenerativeDemo.error_histogram: bins")
        if not errors.size:
            return None
        top = float(np.percentile(errors, check_float(top_percentile, "top_percentile", minimum=0.0))) * 1.15
        top = top if top > 0 else 1.0
        counts, edges = np.histogram(np.clip(errors, 0, top), bins=bins, range=(0.0, top))
        return {"left": edges[:-1], "right": edges[1:], "counts": counts, "top": top}

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
