"""A photo or a scan as a small image of ink levels: a PNG or JPEG turned into an (h, w) array in [0, 1].

What the drawing pads of the page do with an image file, without the page: the CNN and the VAE take
``image_to_pad(open("seven.jpg", "rb").read(), (8, 8))[0]`` as one of their own inputs.

1. **checks** (:func:`check_image`): a PNG or a JPEG, at most :data:`MAX_IMAGE_BYTES` and
   :data:`MAX_SIDE` pixels a side (read from the PNG header, before anything is decoded);
2. **decode** (:func:`decode`): Pillow (``pip install pillow``) draws the centred square of the image at
   :data:`OVERSAMPLE` times the pad's size (the page's worker uses the browser's own decoder instead);
3. **grey levels** (:func:`to_pad`, NumPy): transparent pixels count as white paper, luminance
   0.299 R + 0.587 G + 0.114 B, mean over each pad cell's block; dark ink on light paper is inverted (the
   pad's ink is 1), then stretched so the faintest cell is 0 and the darkest 1.
"""
from __future__ import annotations

import io
import struct

import numpy as np

MAX_IMAGE_BYTES = 10 * 2 ** 20
MAX_SIDE = 8000             # pixels: a larger PNG is refused before it is decoded
OVERSAMPLE = 8


def kind_of(data: bytes) -> str | None:
    """``"PNG"``, ``"JPEG"`` or None, from the file's first bytes."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    return None


def check_image(data: bytes | None, name: str = "the file") -> str:
    """``"PNG"`` or ``"JPEG"``; ValueError for an empty, too large, foreign or oversized file."""
    if not data:
        raise ValueError(f"{name} is empty.")
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"{name} is {len(data) / 2 ** 20:.1f} MB; an image for the pad is at most "
                         f"{MAX_IMAGE_BYTES // 2 ** 20} MB.")
    kind = kind_of(data)
    if kind is None:
        raise ValueError(f"{name} is not a PNG or JPEG image.")
    if kind == "PNG" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        if w > MAX_SIDE or h > MAX_SIDE or w == 0 or h == 0:
            raise ValueError(f"{name} is {w}×{h} pixels; at most {MAX_SIDE}×{MAX_SIDE}.")
    return kind


def to_pad(rgba: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``rgba`` (H, W, 4) uint8 with H, W multiples of ``shape`` -> ink levels (h, w) float64 in [0, 1]."""
    h, w = shape
    rgba = np.asarray(rgba, dtype=np.float64) / 255.0
    H, W = rgba.shape[:2]
    if H % h or W % w:
        raise ValueError(f"to_pad: image {H}x{W} is not a multiple of the pad {h}x{w}")
    lum = rgba[..., :3] @ np.array([0.299, 0.587, 0.114])
    alpha = rgba[..., 3]
    paper = alpha * lum + (1.0 - alpha)                       # transparent = white paper
    cells = paper.reshape(h, H // h, w, W // w).mean(axis=(1, 3))
    border = np.concatenate([cells[0], cells[-1], cells[:, 0], cells[:, -1]])
    ink = 1.0 - cells if border.mean() > 0.5 else cells        # dark ink on light paper -> ink 1
    low, high = float(ink.min()), float(ink.max())
    if high - low < 1e-6:
        return np.zeros(shape)
    return (ink - low) / (high - low)


def decode(data: bytes, shape: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """The centred square of the image, :data:`OVERSAMPLE` times ``shape``, as RGBA uint8 (with Pillow);
    and the image's own (width, height). ValueError if Pillow is missing or cannot read it."""
    h, w = shape[0] * OVERSAMPLE, shape[1] * OVERSAMPLE
    try:
        from PIL import Image
    except ImportError:
        raise ValueError("reading images outside the browser needs Pillow (pip install pillow)") from None
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as exc:
        raise ValueError(f"it could not be decoded ({exc})") from None
    size = image.size
    side = min(size)
    left, top = (size[0] - side) // 2, (size[1] - side) // 2
    image = image.convert("RGBA").crop((left, top, left + side, top + side)).resize((w, h), Image.LANCZOS)
    return np.asarray(image, dtype=np.uint8), size


def image_to_pad(data: bytes, shape: tuple[int, int], name: str = "the file", *,
                 decoded: tuple[np.ndarray, tuple[int, int]] | None = None) -> tuple[np.ndarray, str]:
    """Ink levels for a pad of ``shape`` from PNG/JPEG bytes, and a line saying what was done.
    ``decoded``: ``(rgba, (width, height))`` from another decoder than :func:`decode` (the browser's)."""
    kind = check_image(data, name)
    try:
        rgba, (width, height) = decoded if decoded is not None else decode(data, shape)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    crop = "" if width == height else ", its centred square"
    return to_pad(rgba, shape), (f"{name} ({kind}, {width}×{height}{crop}) is on the pad as {shape[0]}×{shape[1]} "
                                 f"grey levels.")
