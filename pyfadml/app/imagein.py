"""A photo or a scan on a drawing pad: a PNG or JPEG converted to the pad's size and grey levels.

:class:`ImageUpload` is a file input placed under a :class:`pyfadml.app.widgets.PixelEditor` whose pixels are
ink levels in [0, 1] (1 = ink). The conversion runs in the worker, without any download:

1. **decode** (:func:`decode`): in the browser, the worker's own image decoder (``createImageBitmap`` and an
   ``OffscreenCanvas``, reached from Python through Pyodide's ``js`` module), which reads every PNG and JPEG
   the browser reads; natively, Pillow when it is installed. The centred square of the image is drawn at
   ``OVERSAMPLE`` times the pad's size.
2. **grey levels** (:func:`to_pad`, NumPy): transparent pixels count as white paper, luminance
   0.299 R + 0.587 G + 0.114 B, mean over each pad cell's block; dark ink on light paper is inverted (the
   pad's ink is 1), then stretched so the faintest cell is 0 and the darkest 1.

A file that is not a PNG or JPEG, too large, or undecodable gets an inline note; the pad is left as it was.
"""
from __future__ import annotations

import io
import struct
import sys
from html import escape

import numpy as np
import panel as pn

from pyfadml.app import ui

MAX_IMAGE_BYTES = 10 * 2 ** 20
MAX_SIDE = 8000             # pixels: a larger PNG is refused before it is decoded
OVERSAMPLE = 8


def kind_of(data: bytes) -> str | None:
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


async def decode(data: bytes, shape: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """The centred square of the image, ``OVERSAMPLE`` times the pad's size, as RGBA uint8; and the image's
    own (width, height)."""
    h, w = shape[0] * OVERSAMPLE, shape[1] * OVERSAMPLE
    if sys.platform == "emscripten":
        import js
        from pyodide.ffi import to_js

        try:
            bitmap = await js.createImageBitmap(js.Blob.new(to_js([to_js(data)])))
        except Exception as exc:                              # a JsException: the browser could not decode it
            raise ValueError(f"the browser could not decode it ({str(exc).splitlines()[-1][:120]})") from None
        size = (int(bitmap.width), int(bitmap.height))
        side = min(size)
        canvas = js.OffscreenCanvas.new(w, h)
        ctx = canvas.getContext("2d")
        ctx.imageSmoothingQuality = "high"
        ctx.drawImage(bitmap, (size[0] - side) // 2, (size[1] - side) // 2, side, side, 0, 0, w, h)
        bitmap.close()
        pixels = ctx.getImageData(0, 0, w, h).data.to_py()
        return np.frombuffer(bytes(pixels), dtype=np.uint8).reshape(h, w, 4), size
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


async def image_to_pad(data: bytes, shape: tuple[int, int], name: str = "the file") -> tuple[np.ndarray, str]:
    """Ink levels for a pad of ``shape`` from PNG/JPEG bytes, and a line saying what was done."""
    kind = check_image(data, name)
    try:
        rgba, (width, height) = await decode(data, shape)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    pad = to_pad(rgba, shape)
    crop = "" if width == height else ", its centred square"
    return pad, (f"{name} ({kind}, {width}×{height}{crop}) is on the pad as {shape[0]}×{shape[1]} grey levels.")


class ImageUpload(pn.viewable.Viewer):
    """A file input that puts a PNG or JPEG on ``editor`` (a PixelEditor of ink levels); ``key`` names its CSS
    class ``<key>-load-image`` and its note ``data-testid=<key>-image-note``."""

    def __init__(self, key: str, editor, **params):
        super().__init__(**params)
        self.key, self.editor = key, editor
        self.last_note = ""
        self._last = None
        self.input = pn.widgets.FileInput(accept=".png,.jpg,.jpeg,image/png,image/jpeg", multiple=False,
                                          css_classes=[f"{key}-load-image"], margin=(2, 5), width=250,
                                          description="A PNG or JPEG: its centred square becomes the pad's "
                                                      "grey levels.")
        self.input.param.watch(self._uploaded, ["value", "filename"])
        self._note = pn.pane.HTML(ui.note_html(testid=f"{key}-image-note"), stylesheets=[ui.NOTE_CSS],
                                  margin=(0, 5), sizing_mode="stretch_width")
        self._layout = pn.Column(
            pn.pane.HTML("<span style='font-size:12px;color:#64748b'>Or an image (PNG, JPEG):</span>",
                         margin=(4, 5, 0, 5)),
            self.input, self._note, margin=0, sizing_mode="stretch_width")

    def __panel__(self):
        return self._layout

    def _set_note(self, text: str, kind: str) -> None:
        self.last_note = text
        self._note.object = ui.note_html(escape(text), kind=kind, testid=f"{self.key}-image-note")

    async def _uploaded(self, *events) -> None:
        data, name = self.input.value, self.input.filename or "the file"
        if data is None or (name, hash(data)) == self._last:
            return
        self._last = (name, hash(data))
        await self.load_bytes(data, name)

    async def load_bytes(self, data: bytes, name: str = "the file") -> bool:
        try:
            pad, message = await image_to_pad(data, tuple(self.editor.value.shape), name)
        except ValueError as exc:
            self._set_note(str(exc), "error")
            return False
        self.editor.value = pad
        self._set_note(message, "info")
        return True
