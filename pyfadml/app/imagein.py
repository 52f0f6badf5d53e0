"""A photo or a scan on a drawing pad: a PNG or JPEG converted to the pad's size and grey levels.

:class:`ImageUpload` is a file input placed under a :class:`pyfadml.app.widgets.PixelEditor` whose pixels are
ink levels in [0, 1] (1 = ink). The conversion is :func:`pyfadml.data.photos.image_to_pad`; in the browser
the worker decodes the image itself (:func:`decode`: ``createImageBitmap`` and an ``OffscreenCanvas``,
reached from Python through Pyodide's ``js`` module), which reads every PNG and JPEG the browser reads,
without any download. A file that is not a PNG or JPEG, too large, or undecodable gets an inline note; the
pad is left as it was.
"""
from __future__ import annotations

import sys
from html import escape

import numpy as np
import panel as pn

from pyfadml.app import ui
from pyfadml.data import photos


async def decode(data: bytes, shape: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """In the browser: the centred square of the image, ``OVERSAMPLE`` times the pad's size, as RGBA uint8,
    and the image's own (width, height)."""
    import js
    from pyodide.ffi import to_js

    h, w = shape[0] * photos.OVERSAMPLE, shape[1] * photos.OVERSAMPLE
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


async def image_to_pad(data: bytes, shape: tuple[int, int], name: str = "the file") -> tuple[np.ndarray, str]:
    """:func:`pyfadml.data.photos.image_to_pad`, decoded by the browser in the page (natively: Pillow)."""
    decoded = None
    if sys.platform == "emscripten":
        photos.check_image(data, name)                    # before the browser decodes anything
        try:
            decoded = await decode(data, shape)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    return photos.image_to_pad(data, shape, name, decoded=decoded)


class ImageUpload(ui.View):
    """A file input that puts a PNG or JPEG on ``editor`` (a PixelEditor of ink levels); ``key`` names its CSS
    class ``<key>-load-image`` and its note ``data-testid=<key>-image-note``."""

    def __init__(self, key: str, editor, **params):
        super().__init__(**params)
        self.key, self.editor = key, editor
        self.last_note = ""
        self._last = None
        self._latest = None
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
        # The browser may send a new file's bytes and its name in two messages, so two loads can overlap:
        # only the latest one started may change the pad and the note.
        self._latest = token = object()
        try:
            pad, message = await image_to_pad(data, tuple(self.editor.value.shape), name)
        except ValueError as exc:
            if token is self._latest:
                self._set_note(str(exc), "error")
            return False
        if token is not self._latest:
            return False
        self.editor.value = pad
        self._set_note(message, "info")
        return True
