"""The lecture's convolution example, as data for the browser section (no panel/bokeh here).

The lecture draws an X with pixels +1 (black) and -1 (white), slides the 3x3 kernel

    K = [[ 1, -1,  1],
         [-1,  1, -1],
         [ 1, -1,  1]]

over every overlapping 3x3 zone, multiplies zone and kernel entry by entry and sums the nine products:

    F[i, j] = sum_{u, v} X[i + u, j + v] K[u, v]          (cross-correlation, "valid" positions only)

The zone that matches K exactly gives 9 (nine products of +1) and only the centre of the X matches it, so
the maximum of the feature map marks the centre of the X. Then ReLU keeps the strong responses,
``max(0, val)``, and max pooling keeps the largest value of each 2x2 block.

Every number shown comes from the library: the feature map from :func:`pyfadml.layers.conv.correlate2d`,
ReLU from :class:`pyfadml.layers.ReLU`, pooling from :class:`pyfadml.layers.MaxPool2D`. The step-through
(:func:`window_products`) only spells out the nine products of one position; its sum is the library's value.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np

from pyfadml._checks import check_array, check_int
from pyfadml.data.images import lecture_x, lecture_x_variant
from pyfadml.layers import MaxPool2D, ReLU
from pyfadml.layers.conv import correlate2d

# ---------------------------------------------------------------------------------------------
# kernels
# ---------------------------------------------------------------------------------------------

KERNEL_PRESETS: dict[str, dict] = {
    "x": dict(
        label="X kernel (lecture)",
        kernel=[[1, -1, 1], [-1, 1, -1], [1, -1, 1]],
        note="The lecture's kernel: the centre of an X, +1 on the diagonals and -1 elsewhere. On the X "
             "image it gives 9, the largest possible value, at exactly one place: the centre of the X.",
    ),
    "identity": dict(
        label="Identity",
        kernel=[[0, 0, 0], [0, 1, 0], [0, 0, 0]],
        note="Copies the centre pixel: the feature map is the image itself, one pixel smaller on every side.",
    ),
    "edge_vertical": dict(
        label="Vertical edges (Sobel)",
        kernel=[[1, 0, -1], [2, 0, -2], [1, 0, -1]],
        note="Left column minus right column: large where the image changes from left to right, zero on a "
             "flat area. A first-level feature in the lecture's hierarchy (edges).",
    ),
    "edge_horizontal": dict(
        label="Horizontal edges (Sobel)",
        kernel=[[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
        note="Top row minus bottom row: responds to changes from top to bottom.",
    ),
    "edge_all": dict(
        label="All edges (Laplacian)",
        kernel=[[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
        note="Eight times the centre minus its eight neighbours: zero on a flat area, large on edges and "
             "corners in every direction.",
    ),
    "blur_box": dict(
        label="Blur (box, 1/9)",
        kernel=[[Fraction(1, 9)] * 3] * 3,
        note="Smoothing: every output is the mean of the nine pixels, so sharp changes are averaged away "
             "and the image looks blurred.",
    ),
    "blur_gaussian": dict(
        label="Smooth (Gaussian, 1/16)",
        kernel=[[Fraction(1, 16), Fraction(2, 16), Fraction(1, 16)],
                [Fraction(2, 16), Fraction(4, 16), Fraction(2, 16)],
                [Fraction(1, 16), Fraction(2, 16), Fraction(1, 16)]],
        note="Smoothing with more weight on the centre: a softer blur that keeps more of the shape.",
    ),
    "sharpen": dict(
        label="Sharpen",
        kernel=[[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
        note="Sharpening: the centre counts five times and its four neighbours are subtracted, so "
             "differences between a pixel and its surroundings are amplified (the opposite of smoothing).",
    ),
}
"""Kernel presets by id: ``label`` for menus, ``kernel`` (3x3, exact fractions allowed), ``note`` to explain."""


def preset_kernel(name: str) -> np.ndarray:
    """The 3x3 float64 kernel of preset ``name`` (a key of :data:`KERNEL_PRESETS`)."""
    if name not in KERNEL_PRESETS:
        raise ValueError(f"unknown kernel preset {name!r}; expected one of {list(KERNEL_PRESETS)}")
    return np.array([[float(v) for v in row] for row in KERNEL_PRESETS[name]["kernel"]], dtype=np.float64)


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _parse_number(token: str, where: str) -> float:
    if "/" in token:
        top, _, bottom = token.partition("/")
        if _NUMBER.match(top) and _NUMBER.match(bottom):
            den = float(bottom)
            if den == 0:
                raise ValueError(f"{where}: {token!r} divides by zero")
            return float(top) / den
    elif _NUMBER.match(token):
        return float(token)
    raise ValueError(f"{where}: {token!r} is not a number (write e.g. 1, -0.5, 2e-1 or 1/9)")


def parse_kernel(text: str, size: int = 3, *, limit: float | None = None) -> np.ndarray:
    """Read a ``size`` x ``size`` kernel typed as text.

    Rows are separated by new lines or ``;``, values by spaces or commas; fractions such as ``1/9`` are
    allowed. Brackets are ignored, so ``[[1, -1, 1], [-1, 1, -1], [1, -1, 1]]`` works too. Every value must
    be finite and, with ``limit``, within ``[-limit, limit]``.
    Raises ValueError saying which row or value is wrong.
    """
    if not isinstance(text, str):
        raise TypeError(f"kernel text must be a str, got {type(text).__name__}")
    size = check_int(size, "size")
    if not text.strip(" \t\r\n;,[]()"):
        raise ValueError(f"kernel: the text is empty: expected {size} rows of {size} numbers, e.g. 1 -1 1 "
                         f"(fractions such as 1/9 work too).")
    cleaned = text.replace("[", " ").replace("]", ";").replace("(", " ").replace(")", ";")
    rows = [r for r in re.split(r"[;\n]", cleaned) if r.strip(" ,\t\r")]
    if len(rows) != size:
        raise ValueError(f"kernel: expected {size} rows (one per line or separated by ';'), got {len(rows)}")
    out = np.empty((size, size), dtype=np.float64)
    rows_tokens = []
    for i, row in enumerate(rows):
        tokens = [t for t in re.split(r"[,\s]+", row.strip(" ,\t\r")) if t]
        rows_tokens.append(tokens)
        if len(tokens) != size:
            raise ValueError(f"kernel: row {i + 1} has {len(tokens)} value(s), expected {size}")
        for j, tok in enumerate(tokens):
            out[i, j] = _parse_number(tok, f"kernel row {i + 1}, value {j + 1}")
    bad = np.argwhere(~np.isfinite(out) | (np.abs(out) > (math.inf if limit is None else limit)))
    if len(bad):
        i, j = bad[0]
        span = "finite values" if limit is None else f"values from {format_value(-limit)} to {format_value(limit)}"
        raise ValueError(f"kernel row {i + 1}, value {j + 1}: {rows_tokens[i][j]} is too large. Use {span}.")
    return out


def matching_preset(kernel) -> str | None:
    """The key of the :data:`KERNEL_PRESETS` entry equal to ``kernel`` (to 1e-9), or None."""
    k = np.asarray(kernel, dtype=np.float64)
    for key in KERNEL_PRESETS:
        if k.shape == preset_kernel(key).shape and np.allclose(preset_kernel(key), k, rtol=0, atol=1e-9):
            return key
    return None


def format_value(v: float) -> str:
    """A short, exact-looking text for a kernel or feature-map value (``1``, ``-0.5``, ``0.111``)."""
    v = float(v)
    if v == 0:
        return "0"
    if v == round(v) and abs(v) < 1e6:
        return str(int(round(v)))
    return f"{v:.3g}"


def format_kernel(kernel) -> str:
    """The text form of a kernel, one row per line (the inverse of :func:`parse_kernel` up to rounding).

    Preset fractions keep their exact form (``1/9``) so that the text can be edited and re-read exactly.
    """
    rows = []
    for row in kernel:
        cells = []
        for v in row:
            if isinstance(v, Fraction) and v.denominator != 1:
                cells.append(f"{v.numerator}/{v.denominator}")
            else:
                frac = Fraction(float(v)).limit_denominator(64)
                if frac.denominator != 1 and abs(float(frac) - float(v)) < 1e-12:
                    cells.append(f"{frac.numerator}/{frac.denominator}")
                else:
                    cells.append(format_value(v))
        rows.append(" ".join(cells))
    return "\n".join(rows)


# ---------------------------------------------------------------------------------------------
# the pipeline: correlate -> ReLU -> max pool
# ---------------------------------------------------------------------------------------------

def _check_image(image, name="image") -> np.ndarray:
    img = check_array(image, name, ndim=2)
    return img.astype(np.float64, copy=False)


def _check_kernel(kernel, image_shape) -> np.ndarray:
    k = check_array(kernel, "kernel", ndim=2).astype(np.float64, copy=False)
    if k.shape[0] != k.shape[1]:
        raise ValueError(f"kernel must be square, got shape {k.shape}")
    if not np.all(np.isfinite(k)):
        raise ValueError("kernel contains NaN or inf")
    if k.shape[0] > min(image_shape):
        raise ValueError(f"kernel of size {k.shape[0]} does not fit in an image of shape {image_shape}")
    return k


def feature_map(image, kernel) -> np.ndarray:
    """``F = X (*) K`` at every valid position: (H, W), (k, k) -> (H - k + 1, W - k + 1), by the library."""
    img = _check_image(image)
    k = _check_kernel(kernel, img.shape)
    return np.asarray(correlate2d(img, k), dtype=np.float64)


def relu(fmap) -> np.ndarray:
    """``max(0, val)`` on every cell, through the library's ReLU layer."""
    return ReLU().forward(check_array(fmap, "feature map", ndim=2))


def max_pool(fmap, size: int = 2) -> np.ndarray:
    """``size`` x ``size`` max pooling (stride ``size``) through the library's MaxPool2D.

    A last row/column that does not fill a whole block is dropped (as MaxPool2D does).
    """
    fm = check_array(fmap, "feature map", ndim=2)
    size = check_int(size, "size")
    if size > min(fm.shape):
        raise ValueError(f"pool size {size} is larger than the feature map {fm.shape}")
    h, w = (fm.shape[0] // size) * size, (fm.shape[1] // size) * size
    return MaxPool2D(size).forward(fm[None, None, :h, :w])[0, 0]


def argmax_cells(fmap) -> list[tuple[int, int]]:
    """Every (row, col) where the map reaches its maximum (the lecture: 9 only at the centre of X)."""
    fm = check_array(fmap, "feature map", ndim=2)
    if fm.size == 0:
        return []
    rows, cols = np.nonzero(fm == fm.max())
    return [(int(r), int(c)) for r, c in zip(rows, cols)]


def window_products(image, kernel, row: int, col: int) -> dict:
    """The step-through at one position: the zone, the nine products and their sum.

    Returns ``dict(zone=(k, k), products=(k, k), total=float, row=row, col=col, library=float,
    agrees=bool)``: ``total`` the sum written out here, ``library`` the cell of the library's
    ``feature_map(image, kernel)``, ``agrees`` whether they are equal up to rounding (1e-9 relative).
    """
    img = _check_image(image)
    k = _check_kernel(kernel, img.shape)
    n = k.shape[0]
    out_h, out_w = img.shape[0] - n + 1, img.shape[1] - n + 1
    row = check_int(row, "row", minimum=0)
    col = check_int(col, "col", minimum=0)
    if row >= out_h or col >= out_w:
        raise ValueError(f"position ({row}, {col}) is outside the feature map of shape ({out_h}, {out_w})")
    zone = img[row:row + n, col:col + n]
    products = zone * k
    total, library = float(products.sum()), float(feature_map(img, k)[row, col])
    return dict(zone=zone.copy(), products=products, total=total, row=row, col=col, library=library,
                agrees=abs(total - library) <= 1e-9 * max(1.0, abs(library)))


def positions(image_shape, kernel_size: int) -> list[tuple[int, int]]:
    """The order in which the kernel slides: row by row, left to right."""
    h, w = image_shape
    return [(i, j) for i in range(h - kernel_size + 1) for j in range(w - kernel_size + 1)]


def pipeline(image, kernel, *, apply_relu: bool = False, pool: int | None = None) -> dict:
    """Everything the section shows for one image and kernel.

    Returns ``feature_map`` (raw correlation), ``output`` (after ReLU when asked), ``pooled`` (None unless
    ``pool``), ``max_value`` and ``argmax`` (cells of the maximum of ``output``).
    """
    fm = feature_map(image, kernel)
    out = relu(fm) if apply_relu else fm
    pooled = max_pool(out, pool) if pool else None
    return dict(feature_map=fm, output=out, pooled=pooled,
                max_value=float(out.max()), argmax=argmax_cells(out))


# ---------------------------------------------------------------------------------------------
# smoothing and sharpening on a grey-level picture (issue 13, item 3)
# ---------------------------------------------------------------------------------------------

PICTURE_KERNELS = ("blur_gaussian", "sharpen", "edge_all")
"""The kernels shown side by side on the grey picture: smoothing, sharpening, edges."""

_LAPLACE4 = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def detail(image) -> float:
    """How much fine detail a picture has: the mean absolute 4-neighbour Laplacian (a pixel against the
    mean of its neighbours). A blur lowers it, a sharpen raises it."""
    img = _check_image(image)
    if min(img.shape) < 3:
        raise ValueError(f"detail: the image must be at least 3x3, got {img.shape}")
    return float(np.mean(np.abs(correlate2d(img, _LAPLACE4))))


def filter_picture(image, kernel) -> dict:
    """The kernel on a grey-level picture, ready to draw, with the numbers that say what it did.

    Returns ``output`` (the library's feature map, ``valid`` positions: 2 pixels smaller for a 3x3 kernel),
    ``shown`` (what to draw on a 0..1 grey scale, 1 = black) and ``how`` (how ``shown`` was made from
    ``output``), ``kind`` ("smooth", "sharpen", "edges", "copy" or "other"), ``kernel_sum`` and ``detail_ratio``
    (:func:`detail` of the output over that of the picture's same interior).

    * a kernel whose entries sum to ``s > 0`` keeps a flat area's grey level times ``s``: ``shown`` is
      ``output / s``, clipped to [0, 1] (a sharpen's overshoot saturates, as in any photo editor);
      "smooth" if every entry is >= 0 (an average), "sharpen" if the centre is the only positive entry;
    * a kernel summing to 0 answers only to changes ("edges"): ``shown`` is ``|output|`` over its 99th
      percentile, clipped to 1 (so a few strong corners do not make every other edge faint);
    * a negative sum: ``-output / |s|`` clipped (the picture in negative), "other".
    """
    img = _check_image(image)
    k = _check_kernel(kernel, img.shape)
    out = feature_map(img, k)
    total = float(k.sum())
    n = k.shape[0]
    scale = max(1.0, float(np.max(np.abs(k))))
    if abs(total) <= 1e-9 * scale:
        peak = float(np.percentile(np.abs(out), 99))         # a few corners must not make every edge faint
        peak = peak if peak > 0 else float(np.max(np.abs(out)))
        shown = np.clip(np.abs(out) / (peak if peak > 0 else 1.0), 0.0, 1.0)
        how, kind = "|F|, its top 1% black", "edges"
    else:
        shown, how = np.clip(out / total, 0.0, 1.0), ("F / sum(K)" if total > 0 else "−F / |sum(K)|")
        c = n // 2
        others = np.delete(k.ravel(), c * n + c)
        if np.count_nonzero(k) == 1:
            kind = "copy"                                   # one nonzero entry: a (shifted, scaled) copy
        elif total > 0 and np.all(k >= 0):
            kind = "smooth"
        elif total > 0 and k[c, c] > 0 and np.all(others <= 0):
            kind = "sharpen"
        else:
            kind = "other"
    r = (n - 1) // 2
    inner = img[r:img.shape[0] - (n - 1 - r), r:img.shape[1] - (n - 1 - r)]
    base = detail(inner)
    ratio = detail(shown) / base if base > 0 else float("nan")
    return dict(output=out, shown=shown, how=how, kind=kind, kernel_sum=total, detail_ratio=ratio)


def explain(image, kernel, *, apply_relu: bool = False, pool: bool = False) -> list[tuple[str, str]]:
    """What the lecture says about this convolution, as ``(title, text)`` paragraphs (a title may be empty):
    why the maximum marks the centre of X (the lecture's X and kernel), what changes for the X written
    differently, the kernel's preset note or what a typed kernel's sum does to a flat area, and what ReLU
    and max pooling do when they are applied."""
    img, k = _check_image(image), np.asarray(kernel, dtype=np.float64)
    key = matching_preset(k)
    out = []
    if key == "x" and np.array_equal(img, lecture_x()):
        out.append(("Why the maximum marks the centre of X",
                    "A product is +1 when the pixel agrees with the kernel entry and −1 when it disagrees, so the "
                    "sum counts agreements minus disagreements. Only one zone agrees in all nine places and gives "
                    "9, the largest possible value: the crossing of the two strokes. Hence, on convolving, the "
                    "zone which gives the maximum value is the centre of X."))
    elif key == "x" and np.array_equal(img, lecture_x_variant()):
        out.append(("The same X, written differently (χ)",
                    "No zone matches the kernel exactly any more: the best is 5, reached in several places. One "
                    "whole-pattern template is brittle; small features (the diagonal strokes) still match, which "
                    "is why a CNN learns many small kernels and composes them."))
    elif key == "x":
        out.append(("", f"The largest value is {format_value(feature_map(img, k).max())}: the zone that agrees "
                        "best with the kernel. Every edited pixel changes the sums of the (up to) nine zones that "
                        "contain it."))
    if key is not None:
        out.append((KERNEL_PRESETS[key]["label"], KERNEL_PRESETS[key]["note"]))
    else:
        total = float(k.sum())
        out.append(("Your kernel", "sums to 1, so a flat area keeps its value (smoothing-like)" if abs(total - 1) < 1e-9
                    else "sums to 0, so a flat area gives 0 and only changes respond (edge-like)" if abs(total) < 1e-9
                    else f"sums to {format_value(total)}: a flat area of value v gives {format_value(total)}·v"))
    if apply_relu:
        out.append(("ReLU", "keeps the significant, positive values and replaces the others with zero, "
                            "val = max(0, val): the feature becomes prominent."))
    if pool:
        out.append(("Max pooling", "keeps the largest value of each 2×2 block: the map is half as large but the "
                                   "strongest response survives. (The last row and column, which do not fill a "
                                   "block, are dropped.)"))
    return out
