"""Two-dimensional toy classification sets: the pictures behind "stacked layers draw complex boundaries".

Every generator has the signature ``make_<name>(n, *, noise, rng) -> (X, y)`` with
``X: (n, 2) float64`` points and ``y: (n,) int64`` class labels. Classes are as balanced as ``n`` allows
(sizes differ by at most one) and the rows are shuffled. ``noise`` is the standard deviation of the
Gaussian jitter added to the points (the clean shapes live roughly in the square [-1.5, 1.5]^2).
"""
from __future__ import annotations

import numpy as np

from pyfadml._checks import as_rng, check_choice, check_float, check_int

__all__ = [
    "make_xor", "make_circles", "make_moons", "make_spiral", "make_gaussians",
    "TOY_DATASETS", "make_toy", "train_test_split",
]


def _class_sizes(n: int, k: int) -> np.ndarray:
    """Split ``n`` samples into ``k`` class sizes that differ by at most one."""
    sizes = np.full(k, n // k, dtype=np.intp)
    sizes[: n % k] += 1
    return sizes


def _labels(n: int, k: int) -> np.ndarray:
    return np.repeat(np.arange(k, dtype=np.int64), _class_sizes(n, k))


def _finish(X: np.ndarray, y: np.ndarray, noise: float, rng: np.random.Generator):
    """Add the jitter, then shuffle the rows so that classes are interleaved."""
    X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(len(y))
    return np.ascontiguousarray(X[order], dtype=np.float64), y[order]


def _check(n, noise, rng, where, *, min_n=1):
    n = check_int(n, f"{where}: n", minimum=min_n)
    noise = check_float(noise, f"{where}: noise", minimum=0.0)
    return n, noise, as_rng(rng, f"{where}: rng")


def make_xor(n: int = 200, *, noise: float = 0.1, rng):
    """XOR: four clusters at (+-1, +-1); label 1 where the signs of x1 and x2 differ.

    No straight line separates the classes, one hidden layer does.

    Returns X (n, 2) float64, y (n,) int64 in {0, 1}.
    """
    n, noise, rng = _check(n, noise, rng, "make_xor")
    y = _labels(n, 2)
    cluster = 2 * y + np.arange(n) % 2                # alternate between the two clusters of a class
    signs = np.array([[1, 1], [-1, -1], [1, -1], [-1, 1]], dtype=np.float64)
    X = signs[cluster]
    return _finish(X, y, noise, rng)


def make_circles(n: int = 200, *, noise: float = 0.05, factor: float = 0.5, rng):
    """Two concentric circles: class 0 on the unit circle, class 1 on the circle of radius ``factor``.

    Returns X (n, 2) float64, y (n,) int64 in {0, 1}.
    """
    n, noise, rng = _check(n, noise, rng, "make_circles")
    factor = check_float(factor, "make_circles: factor", minimum=0.0, strict=True)
    if factor >= 1.0:
        raise ValueError(f"make_circles: factor must be in (0, 1), got {factor}")
    y = _labels(n, 2)
    angle = rng.uniform(0.0, 2.0 * np.pi, n)
    radius = np.where(y == 0, 1.0, factor)
    X = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return _finish(X, y, noise, rng)


def make_moons(n: int = 200, *, noise: float = 0.1, rng):
    """Two interleaving half circles ("moons"), centred on the origin.

    Class 0: (cos t, sin t) for t in [0, pi]; class 1: (1 - cos t, 0.5 - sin t); then shifted by (-0.5, -0.25).

    Returns X (n, 2) float64, y (n,) int64 in {0, 1}.
    """
    n, noise, rng = _check(n, noise, rng, "make_moons")
    y = _labels(n, 2)
    t = rng.uniform(0.0, np.pi, n)
    X = np.where((y == 0)[:, None],
                 np.stack([np.cos(t), np.sin(t)], axis=1),
                 np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1))
    X = X - np.array([0.5, 0.25])
    return _finish(X, y, noise, rng)


def make_spiral(n: int = 300, *, noise: float = 0.05, n_classes: int = 3, turns: float = 1.0, rng):
    """``n_classes`` interleaved spiral arms (the classic CS231n spiral).

    Arm k: radius r in [0.05, 1], angle = 2 pi turns r + 2 pi k / n_classes.
    ``noise`` is added to the points (not to the angle), like the other sets.

    Returns X (n, 2) float64, y (n,) int64 in {0, ..., n_classes - 1}.
    """
    n, noise, rng = _check(n, noise, rng, "make_spiral")
    k = check_int(n_classes, "make_spiral: n_classes", minimum=2)
    turns = check_float(turns, "make_spiral: turns", minimum=0.0, strict=True)
    if n < k:
        raise ValueError(f"make_spiral: n must be >= n_classes ({k}) so every arm gets a point, got {n}")
    y = _labels(n, k)
    r = rng.uniform(0.05, 1.0, n)
    angle = 2.0 * np.pi * turns * r + 2.0 * np.pi * y / k
    X = r[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return _finish(X, y, noise, rng)


def make_gaussians(n: int = 200, *, noise: float = 0.3, n_classes: int = 2, rng):
    """``n_classes`` isotropic Gaussian blobs with std ``noise``, centres evenly spaced on the unit circle.

    With two classes the blobs are linearly separable: the case a single neuron (one line) can solve.

    Returns X (n, 2) float64, y (n,) int64 in {0, ..., n_classes - 1}.
    """
    n, noise, rng = _check(n, noise, rng, "make_gaussians")
    k = check_int(n_classes, "make_gaussians: n_classes", minimum=2)
    y = _labels(n, k)
    phase = 2.0 * np.pi * np.arange(k) / k + np.pi / 4
    centres = np.stack([np.cos(phase), np.sin(phase)], axis=1)
    return _finish(centres[y], y, noise, rng)


TOY_DATASETS = {
    "xor": make_xor,
    "circles": make_circles,
    "moons": make_moons,
    "spiral": make_spiral,
    "gaussians": make_gaussians,
}
"""Name -> generator, for menus: ``TOY_DATASETS["moons"](200, noise=0.1, rng=0)``."""


def make_toy(name: str, n: int = 200, *, noise: float | None = None, rng, **kwargs):
    """Build the toy set called ``name`` (a key of :data:`TOY_DATASETS`).

    ``noise=None`` uses that generator's default; extra keyword arguments (``n_classes``, ``factor``,
    ``turns``) are passed on. Returns X (n, 2) float64, y (n,) int64.
    """
    check_choice(name, "toy dataset name", TOY_DATASETS)
    fn = TOY_DATASETS[name]
    if noise is not None:
        kwargs["noise"] = noise
    try:
        return fn(n, rng=rng, **kwargs)
    except TypeError as exc:
        if "unexpected keyword" in str(exc):
            raise TypeError(f"make_toy: dataset {name!r} does not take {exc}") from None
        raise


def train_test_split(X, y, *, test_fraction: float = 0.25, rng):
    """Shuffle and split ``(X, y)`` along the first axis.

    Returns ``X_train, X_test, y_train, y_test`` with ``round(test_fraction * N)`` test rows
    (at least one row on each side). Works for any X with N rows: (N, 2) points, (N, C, H, W) images,
    (N, T, D) sequences.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"train_test_split: X and y must have a first (sample) axis, got shapes "
                         f"{X.shape} and {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"train_test_split: X and y must have the same number of rows, got {len(X)} and {len(y)}")
    if len(X) < 2:
        raise ValueError(f"train_test_split: need at least 2 samples to split, got {len(X)}")
    frac = check_float(test_fraction, "train_test_split: test_fraction", minimum=0.0, strict=True)
    if frac >= 1.0:
        raise ValueError(f"train_test_split: test_fraction must be in (0, 1), got {frac}")
    rng = as_rng(rng, "train_test_split: rng")
    n_test = min(max(int(round(frac * len(X))), 1), len(X) - 1)
    order = rng.permutation(len(X))
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]
