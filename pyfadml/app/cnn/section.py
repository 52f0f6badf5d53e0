"""Section "Convolution & CNN": two screens, the lecture's convolution step by step and a CNN trained live.

Screen 1 (:class:`~pyfadml.app.cnn.convolution.ConvolutionScreen`) is shown at once. Screen 2
(:class:`~pyfadml.app.cnn.training.TrainingScreen`: a data set, a network and a dozen plots) takes a few
seconds to build in the browser, so in a live page it is built just after screen 1 has been sent, while its
screen says so ("Building the CNN…" with a spinner).
"""
from __future__ import annotations

import asyncio
import time

import panel as pn
import param

from pyfadml.app import ui
from pyfadml.app.cnn.convolution import ConvolutionScreen
from pyfadml.app.cnn.helpers import BUILDING_CSS, building_html
from pyfadml.app.cnn.training import TrainingScreen

INTRO = """
<h2>Convolution &amp; CNN</h2>
<p class="secondary">In a convolutional neural network, <b>features are extracted from an image</b> to
understand objects, and by composing these features we can recognize them. A fully connected layer sees the
pixels as one long list and loses where they are; a convolution looks at small zones of neighbouring pixels,
keeping the spatial information.</p>
"""
SCREENS = {"1. Convolution, step by step": 1, "2. A CNN learns its kernels": 2, "3. Demerits of CNN": 3}
SCREENS_CSS = """
.bk-btn-group .bk-btn { font-size: calc(15px * var(--pf-scale, 1)); padding: 6px 16px; }
.bk-btn-group .bk-btn.bk-active { font-weight: 600; }
"""


TRAINING_SCENE = ("dataset", "variations", "n_samples", "filters1", "filters2", "kernel_size", "first_layer", "lr",
                  "batch_size", "seed")


class CNNSection(ui.Section):
    """The two screens, one shown at a time (``screen``); ``training`` is None until screen 2 is built (see
    :meth:`build_training`).

    A screen is hidden, never taken out of the page: Panel clears the Python callbacks of a Bokeh figure it
    removes from a layout, which would silence the clickable grids.
    """

    title = "Convolution & CNN"
    screen = param.Selector(default=1, objects=[1, 2, 3])  # 1: convolution, 2: the live CNN, 3: demerits

    def __init__(self, **params):
        training_params = {k: params.pop(k) for k in list(params) if k in TrainingScreen.param}
        super().__init__(**params)
        self._training_params = training_params
        self.convolution = ConvolutionScreen()
        self.training: TrainingScreen | None = None
        self.demerits = None                        # screen 3, built when first shown (build_demerits)
        self.build_ms: tuple[float, ...] = ()
        def slot(text, testid):                     # where a screen goes once built; until then, a spinner
            return pn.Column(ui.prose(building_html(text, testid), css=BUILDING_CSS, margin=(5, 10)),
                             sizing_mode="stretch_width", margin=0)

        self._slot = slot("Building the CNN: generating the images and the network…", "cnn-building")
        self._slot3 = slot("Building the experiments: generating the images and the networks…", "cnn-demerits-building")
        self._screens = {1: pn.Column(self.convolution, sizing_mode="stretch_width", margin=0),
                         2: pn.Column(self._slot, sizing_mode="stretch_width", margin=0, visible=False),
                         3: pn.Column(self._slot3, sizing_mode="stretch_width", margin=0, visible=False)}
        switch = ui.toggle(self.param.screen, SCREENS, stylesheets=[SCREENS_CSS], css_classes=["cnn-screens"],
                           margin=(0, 5, 10, 5))
        self._layout = pn.Column(ui.prose(INTRO, margin=(0, 5, 4, 5)), switch, *self._screens.values(),
                                 sizing_mode="stretch_width")
        if pn.state.curdoc is None:
            self.build_training()                   # plain Python (tests, notebooks): everything at once
        else:                                       # a live page: screen 1 goes out first
            pn.state.execute(self._build_training_later)

    async def _build_training_later(self) -> None:
        await asyncio.sleep(0.05)
        self._make_training()
        # Built before the page shows the section (the shell's idle prebuild): screen 2 goes into the page
        # only once screen 1 is there, so opening the section still sends screen 1 alone first.
        while not self._layout._models:          # Panel's models of this layout: empty until it is rendered
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.05)
        self.build_training()

    def _make_training(self) -> TrainingScreen:
        if self.training is None:
            t0 = time.perf_counter()
            self.training = TrainingScreen(**self._training_params)
            self.build_ms = (1000 * (time.perf_counter() - t0), 0.0)
        return self.training

    def build_training(self) -> TrainingScreen:
        """Build screen 2 (once) and put it in its tab."""
        if not any(obj is self.training for obj in self._slot.objects) or self.training is None:
            self._make_training()
            t1 = time.perf_counter()
            self._slot.objects = [self.training]
            self.build_ms = (self.build_ms[0], 1000 * (time.perf_counter() - t1))
            if callable(getattr(self, "scene_refresh", None)):
                self.scene_refresh()                # the address's settings for screen 2 apply now
            self.one_at_a_time(self.training.live)
        return self.training

    scene_deferred = TRAINING_SCENE                 # settings of screen 2, which is built after screen 1

    def scene_params(self) -> list:
        """The settings the page's address holds (:mod:`pyfadml.app.scene`): the screen, screen 1's image and
        kernel, and screen 2's settings once it is built."""
        out = [("screen", self, "screen"), ("image", self.convolution, "image_preset"),
               ("kernel", self.convolution, "kernel_preset"), ("relu", self.convolution, "apply_relu"),
               ("pool", self.convolution, "apply_pool")]
        if self.training is not None:
            out += [(name, self.training, name) for name in TRAINING_SCENE]
        return out

    def build_demerits(self):
        """Build screen 3 (once, when first shown: two data sets and three networks)."""
        if self.demerits is None:
            from pyfadml.app.cnn.demerits import DemeritsScreen
            self.demerits = DemeritsScreen()
            self._slot3.objects = [self.demerits]
            self.one_at_a_time(*self.demerits.live_controllers)
        return self.demerits

    async def _build_demerits_later(self) -> None:
        await asyncio.sleep(0.05)
        self.build_demerits()

    @property
    def live_controllers(self) -> tuple:
        """What the shell pauses when the section is left: the training, and screen 1's sliding kernel."""
        return ((self.convolution,) + ((self.training.live,) if self.training is not None else ())
                + (self.demerits.live_controllers if self.demerits is not None else ()))

    @param.depends("screen", watch=True)
    def _screen_changed(self) -> None:
        if self.screen != 2 and self.training is not None:
            self.training.live.pause(away=True)     # no training behind the student's back
        if self.screen != 3 and self.demerits is not None:
            for live in self.demerits.live_controllers:
                live.pause(away=True)
        if self.screen == 3 and self.demerits is None:
            if pn.state.curdoc is None:
                self.build_demerits()
            else:
                pn.state.execute(self._build_demerits_later)
        for key, column in self._screens.items():
            column.visible = key == self.screen
