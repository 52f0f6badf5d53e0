"""Small image sets: the lecture's 9x9 X, a shapes set with the lecture's variations, and 8x8 digits.

* :func:`lecture_x` / :func:`lecture_x_variant` and :data:`X_KERNEL`: Fig. 3 of the lecture ("X and chi"),
  pixels +1 (black) / -1 (white). Correlating ``X_KERNEL`` over ``lecture_x()`` gives exactly 9 at the
  centre of the X and less everywhere else; on the deformed ``lecture_x_variant()`` it never reaches 9.
* :func:`make_shapes`: X, O, +, square, triangle and bar drawn with NumPy geometry, under the variations the
  lecture lists for feature extraction (orientation, brightness, occlusion, shades) plus shift and noise.
* :func:`grey_picture`: a 48x48 grey-level scene (a house, the sun, a striped fence, film grain) on which
  blurring, sharpening and edge kernels visibly change the image.
* :func:`load_digits`: the UCI 8x8 hand-written digits as shipped with scikit-learn (bundled, offline).

Images are channel-first, ``(N, 1, H, W)`` float64 in [0, 1] (1 = ink), ready for ``Conv2D``.
"""
from __future__ import annotations

from importlib import resources

import numpy as np

from pyfadml._checks import as_rng, check_choice, check_int

__all__ = [
    "X_KERNEL", "lecture_x", "lecture_x_variant", "grey_picture",
    "SHAPE_CLASSES", "SHAPE_VARIATIONS", "make_shapes", "render_shape",
    "DIGITS_SHAPE", "load_digits", "mosaic",
]

X_KERNEL = np.array([[1.0, -1.0, 1.0],
                     [-1.0, 1.0, -1.0],
                     [1.0, -1.0, 1.0]])
"""The lecture's 3x3 kernel: the centre of an X (a crossing of two diagonals), in +1/-1 pixels."""


def _draw_line(img: np.ndarray, r0: int, c0: int, r1: int, c1: int) -> None:
    """Set the pixels of the straight line (r0, c0) -> (r1, c1) to +1 (one pixel per step)."""
    steps = max(abs(r1 - r0), abs(c1 - c0))
    k = np.arange(steps + 1)
    rows = np.rint(r0 + (r1 - r0) * k / steps).astype(int)
    cols = np.rint(c0 + (c1 - c0) * k / steps).astype(int)
    img[rows, cols] = 1.0


def lecture_x() -> np.ndarray:
    """The lecture's X: a 9x9 image, +1 = black pixel, -1 = white pixel.

    Both diagonals of the inner 7x7 square are black, with a white border, so the 3x3 zone around the
    centre pixel (4, 4) is exactly ``X_KERNEL``: correlating the kernel over the image ("valid", 7x7 output)
    gives sum(kernel * zone) = 9 at the centre and at most 5 anywhere else.

    Returns a (9, 9) float64 array.
    """
    img = -np.ones((9, 9))
    _draw_line(img, 1, 1, 7, 7)
    _draw_line(img, 1, 7, 7, 1)
    return img


def grey_picture(size: int = 48) -> np.ndarray:
    """A grey-level scene for smoothing and sharpening kernels: ``(size, size)`` float64 in [0, 1], 1 = black
    (ink, as the X's black pixels are +1) and 0 = white.

    A sky that darkens towards the top, a bright sun with a dark rim, a house (wall, roof, a window with a
    cross, a door), a fence of 1-pixel stripes (fine detail a blur washes out), a ground line, and a fixed
    film grain (amplitude 0.04, the same every time) that a blur smooths away and a sharpen amplifies.
    Drawn in NumPy on a ``size`` grid (24 to 128 pixels; the shapes scale with it).
    """
    size = check_int(size, "grey_picture: size", minimum=24)
    if size > 128:
        raise ValueError(f"grey_picture: size must be between 24 and 128, got {size}")
    u = (np.arange(size) + 0.5) / size                      # 0..1 across the picture
    y, x = np.meshgrid(u, u, indexing="ij")
    img = 0.35 - 0.25 * y                                   # sky: darker at the top
    sun = (x - 0.76) ** 2 + (y - 0.2) ** 2
    img = np.where(sun < 0.011, 0.02, img)                  # the sun: almost white
    img = np.where((sun >= 0.011) & (sun < 0.016), 0.6, img)   # its rim
    wall = (x > 0.12) & (x < 0.56) & (y > 0.52) & (y < 0.9)
    img = np.where(wall, 0.55, img)
    roof = (y > 0.3) & (y <= 0.52) & (np.abs(x - 0.34) < (y - 0.3) * 1.2)
    img = np.where(roof, 0.85, img)
    window = (x > 0.18) & (x < 0.32) & (y > 0.58) & (y < 0.72)
    img = np.where(window, 0.1, img)
    bars = window & ((np.abs(x - 0.25) < 0.5 / size) | (np.abs(y - 0.65) < 0.5 / size))
    img = np.where(bars, 0.9, img)
    door = (x > 0.4) & (x < 0.5) & (y > 0.66) & (y < 0.9)
    img = np.where(door, 0.95, img)
    fence = (x > 0.62) & (x < 0.95) & (y > 0.66) & (y < 0.9)
    stripes = (np.arange(size)[None, :] % 2 == 0) & np.ones((size, 1), dtype=bool)
    img = np.where(fence, np.where(stripes, 0.8, 0.25), img)
    img = np.where(y >= 0.9, 0.7, img)                      # the ground
    grain = np.random.default_rng(20250318).normal(0.0, 0.04, (size, size))
    return np.clip(img + grain, 0.0, 1.0)


def lecture_x_variant() -> np.ndarray:
    """The lecture's second drawing, "chi": the same X written differently (9x9, +1 black, -1 white).

    One stroke is steeper, so the two strokes no longer cross in a single pixel but in a 2x2 blob, off the
    centre. Pixel for pixel it differs from :func:`lecture_x` in only a few places, yet the X kernel no longer
    finds a zone that matches it exactly: its best score is 5, not 9, and it is reached in several zones.
    A single whole-pattern template is brittle; small features (the diagonal arms) still match, which is
    why a CNN learns several small kernels and composes them.

    Returns a (9, 9) float64 array.
    """
    img = -np.ones((9, 9))
    _draw_line(img, 1, 1, 7, 7)
    _draw_line(img, 1, 7, 7, 3)
    return img


# ---------------------------------------------------------------------------------------------------------
# Shapes

SHAPE_CLASSES = ("X", "O", "+", "square", "triangle", "-")
"""Default classes of :func:`make_shapes`; label k is ``classes[k]``."""

SHAPE_VARIATIONS = ("orientation", "brightness", "occlusion", "shades", "shift", "noise")
"""All variations :func:`make_shapes` knows (the lecture's four, then shift and noise)."""

_ARM = 0.62          # half length of the strokes, in the [-1, 1] image frame
_STROKE = 1.6        # stroke width, in pixels
_MAX_ANGLE = np.deg2rad(30.0)
_MAX_SHIFT = 0.18    # in the [-1, 1] frame, i.e. up to 9 % of the width each way


def _segment_distance(px, py, ax, ay, bx, by):
    """Euclidean distance from the points (px, py) to the segment (ax, ay) -> (bx, by)."""
    dx, dy = bx - ax, by - ay
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    return np.hypot(px - ax - t * dx, py - ay - t * dy)


def _shape_distance(name: str, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Distance from the points (px, py) (shape frame, y down) to the outline of shape ``name``."""
    a = _ARM
    if name == "X":
        return np.minimum(_segment_distance(px, py, -a, -a, a, a), _segment_distance(px, py, -a, a, a, -a))
    if name == "+":
        return np.minimum(_segment_distance(px, py, -a, 0, a, 0), _segment_distance(px, py, 0, -a, 0, a))
    if name == "-":
        return _segment_distance(px, py, -a, 0, a, 0)
    if name == "O":
        return np.abs(np.hypot(px, py) - a)
    if name == "square":
        s = 0.8 * a
        qx, qy = np.abs(px) - s, np.abs(py) - s
        outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
        inside = np.minimum(np.maximum(qx, qy), 0.0)
        return np.abs(outside + inside)
    if name == "triangle":
        top, base, half = -a, 0.75 * a, 1.05 * a
        return np.minimum.reduce([
            _segment_distance(px, py, 0.0, top, half, base),
            _segment_distance(px, py, half, base, -half, base),
            _segment_distance(px, py, -half, base, 0.0, top),
        ])
    raise ValueError(f"unknown shape {name!r}; expected one of {sorted(SHAPE_CLASSES)}")


def render_shape(name: str, size: int = 16, *, angle: float = 0.0, shift=(0.0, 0.0)) -> np.ndarray:
    """Draw one anti-aliased outline shape: (size, size) float64, 1 on the stroke, 0 on the background.

    ``angle`` is a rotation in radians (counter-clockwise on screen), ``shift`` = (dx, dy) a translation in
    the [-1, 1] image frame. The ink of each pixel falls off linearly over one pixel at the stroke edge.
    """
    check_choice(name, "shape", SHAPE_CLASSES)
    size = check_int(size, "render_shape: size", minimum=5)
    return _render(name, size, np.array([float(angle)]), np.array([shift], dtype=np.float64))[0]


def _render(name: str, size: int, angle: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Vectorised renderer: angle (m,), shift (m, 2) -> (m, size, size)."""
    centres = (np.arange(size) + 0.5) * 2.0 / size - 1.0       # pixel centres in [-1, 1]
    gy, gx = np.meshgrid(centres, centres, indexing="ij")       # y down (row), x right (column)
    ux = gx[None] - shift[:, 0, None, None]
    uy = gy[None] - shift[:, 1, None, None]
    # inverse rotation; on screen y points down, so +angle turns the shape counter-clockwise
    c, s = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    px = c * ux - s * uy
    py = s * ux + c * uy
    pixel = 2.0 / size
    dist = _shape_distance(name, px, py)
    return np.clip((0.5 * _STROKE * pixel - dist) / pixel + 0.5, 0.0, 1.0)


def make_shapes(n: int = 600, *, size: int = 16, classes=SHAPE_CLASSES, variations=SHAPE_VARIATIONS,
                noise_std: float = 0.05, rng):
    """Images of simple shapes for a first CNN: ``X (n, 1, size, size)`` float64 in [0, 1], ``y (n,)`` int64.

    ``y[i]`` indexes ``classes`` (any subset/order of :data:`SHAPE_CLASSES`); classes are balanced (sizes
    differ by at most one) and shuffled. With ``variations=()`` every image of a class is the same clean,
    centred, upright drawing. Each name in ``variations`` switches on one source of variety, applied in
    this order:

    * ``"orientation"``: rotation by a uniform angle in [-30, 30] degrees;
    * ``"shift"``: translation by up to 9 % of the width in x and y;
    * ``"brightness"``: the ink is scaled by a factor in [0.4, 1];
    * ``"shades"``: a linear illumination gradient in a random direction (ink dimmed by up to 60 % on one
      side) plus a faint background gradient (up to 0.25);
    * ``"occlusion"``: a random rectangle (20-40 % of each side) is blanked to 0;
    * ``"noise"``: Gaussian pixel noise with std ``noise_std``; the result is clipped to [0, 1].
    """
    n = check_int(n, "make_shapes: n", minimum=1)
    size = check_int(size, "make_shapes: size", minimum=5)
    if isinstance(classes, str):
        raise TypeError(f"make_shapes: classes must be a sequence of shape names, got the string {classes!r}")
    classes = tuple(classes)
    if len(classes) < 1 or len(set(classes)) != len(classes):
        raise ValueError(f"make_shapes: classes must be distinct names from {list(SHAPE_CLASSES)}, got {classes}")
    for name in classes:
        check_choice(name, "make_shapes: class", SHAPE_CLASSES)
    if isinstance(variations, str):
        raise TypeError(f"make_shapes: variations must be a sequence of names, got the string {variations!r}")
    variations = frozenset(variations)
    for v in variations:
        check_choice(v, "make_shapes: variation", SHAPE_VARIATIONS)
    if isinstance(noise_std, bool) or not np.isscalar(noise_std) or not np.isfinite(noise_std) or noise_std < 0:
        raise ValueError(f"make_shapes: noise_std must be a finite number >= 0, got {noise_std!r}")
    rng = as_rng(rng, "make_shapes: rng")

    k = len(classes)
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    y = rng.permutation(np.repeat(np.arange(k, dtype=np.int64), sizes))

    # Every random draw happens whether or not its variation is on, so switching one variation off
    # leaves the others' randomness unchanged for the same seed.
    angle = rng.uniform(-_MAX_ANGLE, _MAX_ANGLE, n)
    shift = rng.uniform(-_MAX_SHIFT, _MAX_SHIFT, (n, 2))
    ink = rng.uniform(0.4, 1.0, n)
    light_dir = rng.uniform(0.0, 2.0 * np.pi, n)
    light_depth = rng.uniform(0.0, 0.6, n)
    bg_level = rng.uniform(0.0, 0.25, n)
    box_hw = rng.uniform(0.2, 0.4, (n, 2))
    box_corner = rng.uniform(0.0, 1.0, (n, 2))
    pixel_noise = rng.standard_normal((n, size, size))

    if "orientation" not in variations:
        angle[:] = 0.0
    if "shift" not in variations:
        shift[:] = 0.0
    images = np.empty((n, size, size))
    for label, name in enumerate(classes):
        idx = np.flatnonzero(y == label)
        if idx.size:
            images[idx] = _render(name, size, angle[idx], shift[idx])

    if "brightness" in variations:
        images *= ink[:, None, None]
    if "shades" in variations:
        centres = (np.arange(size) + 0.5) / size                  # [0, 1]
        gy, gx = np.meshgrid(centres, centres, indexing="ij")
        ramp = (np.cos(light_dir)[:, None, None] * (gx - 0.5) + np.sin(light_dir)[:, None, None] * (gy - 0.5))
        ramp = (ramp - ramp.min(axis=(1, 2), keepdims=True))
        ramp /= np.maximum(ramp.max(axis=(1, 2), keepdims=True), 1e-12)   # 0 on the dark side, 1 on the bright
        light = 1.0 - light_depth[:, None, None] * (1.0 - ramp)
        images = images * light + bg_level[:, None, None] * (1.0 - ramp) * (1.0 - images)
    if "occlusion" in variations:
        h = np.maximum(np.rint(box_hw * size).astype(int), 1)            # (n, 2): rows, cols
        top = np.floor(box_corner[:, 0] * (size - h[:, 0] + 1)).astype(int)
        left = np.floor(box_corner[:, 1] * (size - h[:, 1] + 1)).astype(int)
        r = np.arange(size)
        rows = (r[None] >= top[:, None]) & (r[None] < (top + h[:, 0])[:, None])
        cols = (r[None] >= left[:, None]) & (r[None] < (left + h[:, 1])[:, None])
        images[rows[:, :, None] & cols[:, None, :]] = 0.0
    if "noise" in variations:
        images = images + noise_std * pixel_noise
    images = np.clip(images, 0.0, 1.0)
    return images[:, None, :, :], y


# ---------------------------------------------------------------------------------------------------------
# Digits

DIGITS_SHAPE = (1797, 1, 8, 8)


def load_digits(*, rng=None):
    """The UCI 8x8 hand-written digits (1797 images, 10 classes), as shipped with scikit-learn.

    Returns ``X (1797, 1, 8, 8)`` float64 in [0, 1] (the 0..16 pixel counts divided by 16) and
    ``y (1797,)`` int64 in 0..9. With ``rng`` (a Generator or an int seed) the rows are shuffled;
    with ``rng=None`` they come in the original order. Read from the bundled ``digits.npz``
    (see ``DIGITS_LICENSE.txt``: E. Alpaydin and C. Kaynak, UCI ML repository, CC BY 4.0).
    """
    with resources.files("pyfadml.data").joinpath("digits.npz").open("rb") as fh:
        with np.load(fh) as data:
            images = data["images"]
            labels = data["labels"]
    X = images.astype(np.float64)[:, None, :, :] / 16.0
    y = labels.astype(np.int64)
    if rng is not None:
        order = as_rng(rng, "load_digits: rng").permutation(len(y))
        X, y = X[order], y[order]
    return X, y


def mosaic(images, cols: int, *, rows: int | None = None, gap: int = 1, label_rows: int = 0) -> np.ndarray:
    """Tile ``images`` (n, h, w) row by row, ``cols`` a row, into one (H, W) float64 image for ``imshow``
    (row 0 at the top): NaN in the ``gap`` pixels between images and in ``label_rows`` empty rows above each
    row of images (room for captions). ``rows``: the grid's rows (default: as many as the images fill);
    the cells no image fills are NaN. H = rows (h + label_rows) + (rows - 1) gap, W = cols w + (cols - 1) gap.

    >>> mosaic(np.ones((3, 2, 2)), 2).shape
    (5, 5)
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3:
        raise ValueError(f"mosaic: images must be (n, h, w), got shape {images.shape}")
    n, h, w = images.shape
    cols = check_int(cols, "mosaic: cols")
    rows = -(-n // cols) if rows is None else check_int(rows, "mosaic: rows")
    out = np.full((rows * (h + label_rows) + (rows - 1) * gap, cols * w + (cols - 1) * gap), np.nan)
    for k in range(min(n, rows * cols)):
        r, c = divmod(k, cols)
        top, left = r * (h + label_rows + gap) + label_rows, c * (w + gap)
        out[top:top + h, left:left + w] = images[k]
    return out
