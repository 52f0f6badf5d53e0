"""What the VAE section generates: samples of the prior through both decoders, and the lecture's controlled
variations mu + s * sigma * eps of one image.

Both mark their latent points on the planes of :class:`pyfadml.app.vae.latent.LatentView`.
"""
from __future__ import annotations

from html import escape
from typing import Callable

import numpy as np
import panel as pn
import param

from pyfadml.app import ui
from pyfadml.app.vae.images import ImageGrid, pixels_attr, vector_text
from pyfadml.app.vae.latent import LatentView
from pyfadml.app.vae.training import AE_TEXT_COLOR, VAE_COLOR
from pyfadml.demos.generative import GenerativeDemo

N_PRIOR = 8                  # prior samples drawn per click
N_VARIATIONS = 8
N_REALISM = 200              # prior draws behind the "can it be sampled" distances

VARIATIONS_TEXT = """
<h3>Controlled variations</h3>
<p>Encode one image to \\(\\mu\\) and \\(\\sigma\\), then decode \\(z_i = \\mu + s\\,\\sigma \\odot \\varepsilon_i\\)
for eight fixed \\(\\varepsilon_i \\sim N(0, I)\\). At \\(s = 0\\) every variation is the reconstruction; at
\\(s = 1\\) they are the VAE's own perturbations; larger \\(s\\) wanders further from the original.</p>
"""


class PriorSamples:
    """"Sample from the prior": N_PRIOR draws z ~ N(0, I) decoded by both models, and how close such draws
    come to real images."""

    def __init__(self, demo: Callable[[], GenerativeDemo], seed: Callable[[], int], planes: LatentView):
        self.demo, self.seed, self.planes = demo, seed, planes
        self.draws = 0
        self.grid = ImageGrid("prior-samples")
        self.button = pn.widgets.Button(label="Sample from the prior", color="primary", width=190)
        self.button.on_click(self.sample)
        self.caption = ui.prose(sizing_mode=None)
        self.realism = ui.prose(margin=(4, 5))

    def sample(self, event=None) -> None:
        """New draws."""
        self.draws += 1
        self.draw()

    def reset(self) -> None:
        self.grid.fit(self.demo().image_shape, 2, N_PRIOR, ("VAE", "AE"), label_px=44)

    def draw(self) -> None:
        """Decode the current draws (the same z while training goes on: the images change with the decoders)."""
        rng = np.random.default_rng([int(self.seed()), self.draws])
        with np.errstate(all="ignore"):
            s = self.demo().sample_prior(N_PRIOR, rng=rng)
        self.grid.show(np.concatenate([s["vae"], s["ae"]]))
        self.planes.show_prior(s["z"])
        self.caption.object = ui.caption(
            "prior-samples", f"{N_PRIOR} draws z ~ N(0, I), numbered ✕ on both planes, decoded by each model.",
            draw=self.draws, vae_pixels=pixels_attr(s["vae"]), ae_pixels=pixels_attr(s["ae"]))

    def draw_realism(self) -> None:
        """Median distance of N_REALISM decoded prior draws to the nearest training image (a slow number)."""
        with np.errstate(all="ignore"):
            r = self.demo().prior_realism(N_REALISM)
        self.realism.object = ui.caption(
            "prior-realism",
            f'Can the prior be sampled? Median distance of {N_REALISM} decoded draws z ~ N(0, I) to their nearest '
            f'training image: <b style="color:{VAE_COLOR}">VAE {ui.num(r["vae"])}</b>, '
            f'<b style="color:{AE_TEXT_COLOR}">AE {ui.num(r["ae"])}</b>; a real test image: {ui.num(r["test"])}. '
            '<span class="secondary">With d = 2 both decoders turn the whole disc into digit-like blurs; with more '
            'latent dimensions the AE\'s draws fall where it never put a code and decode further from any '
            'digit.</span>', **{k: repr(v) for k, v in r.items()})

    def panel(self) -> pn.Column:
        return pn.Column(pn.Row(self.button, self.caption, margin=(8, 0, 0, 0)), pn.pane.Bokeh(self.grid.fig),
                         self.realism, sizing_mode="stretch_width", margin=0)


class Variations(param.Parameterized):
    """The controlled variations of one test image (or of the drawing): decode(mu + s * sigma * eps_i)."""

    scale = param.Number(default=1.0, bounds=(0.0, 5.0), step=0.05, doc="s: the size of the perturbation.")
    index = param.Integer(default=0, bounds=(0, 10_000), doc="The test image varied.")
    source = param.Selector(default="test", objects=["test", "drawing"])

    def __init__(self, demo: Callable[[], GenerativeDemo], drawing: Callable[[], np.ndarray], planes: LatentView,
                 **params):
        super().__init__(**params)
        self.demo, self.drawing, self.planes = demo, drawing, planes
        self.eps_seed = 0
        self.pair = ImageGrid("variation-source")
        self.grid = ImageGrid("variations")
        self.caption = ui.prose()
        W = pn.widgets
        self._scale_w = W.FloatSlider.from_param(self.param.scale, label="Perturbation size s", throttled=True,
                                                 width=260)
        self._index_w = W.IntSlider.from_param(self.param.index, label="Test image", throttled=True, width=260)
        self._source_w = ui.toggle(self.param.source, {"Test image": "test", "My drawing": "drawing"})
        self._eps_btn = W.Button(label="New ε", color="default", width=80)
        self._eps_btn.on_click(self.new_eps)

    def new_eps(self, event=None) -> None:
        """Eight new eps_i."""
        self.eps_seed += 1
        self.draw()

    @param.depends("scale", "index", "source", watch=True)
    def _changed(self) -> None:
        self.draw()

    def drawing_changed(self) -> None:
        if self.source == "drawing":
            self.draw()

    def test_index(self) -> int:
        return min(int(self.index), len(self.demo().y_test) - 1)

    def reset(self) -> None:
        d = self.demo()
        self.pair.fit(d.image_shape, 1, 2, image_px=64)
        self.grid.fit(d.image_shape, 2, N_VARIATIONS // 2)
        self._index_w.end = len(d.y_test) - 1
        if self.index > len(d.y_test) - 1:
            self.index = 0

    def draw(self) -> None:
        d = self.demo()
        image = self.drawing() if self.source == "drawing" else self.test_index()
        with np.errstate(all="ignore"):
            v = d.variations(image, float(self.scale), n=N_VARIATIONS, seed=self.eps_seed)
        self.pair.show(np.stack([v["x"], v["recon"]]))
        self.grid.show(v["images"])
        self.planes.show_variations(v["z"], v["mu"])
        label = ("your drawing" if self.source == "drawing"
                 else f"test image {self.test_index()} (class {d.class_names[d.y_test[self.test_index()]]})")
        self.caption.object = ui.caption(
            "variations",
            f'Left: {escape(label)} and its reconstruction decode(μ). Right: decode(μ + s·σ⊙ε) with '
            f's = {float(self.scale):.2f}. μ = {vector_text(v["mu"])}, σ = {vector_text(v["sigma"])}. '
            '<span class="secondary">The diamond and white dots on the VAE plane are μ and the eight z.</span>',
            scale=repr(float(self.scale)), recon=pixels_attr(v["recon"][None]), images=pixels_attr(v["images"]))

    def panel(self) -> pn.Column:
        return ui.card(
            ui.prose(VARIATIONS_TEXT, math=True, margin=(5, 10)),
            pn.Row(pn.Column(self._source_w, self._index_w, self._scale_w, self._eps_btn, width=290),
                   pn.Column(ui.prose("<p class='muted'>input · decode(μ)</p>", sizing_mode=None),
                             pn.pane.Bokeh(self.pair.fig), margin=(0, 16)),
                   pn.Column(ui.prose("<p class='muted'>decode(μ + s·σ⊙ε<sub>i</sub>), i = 1…8</p>", sizing_mode=None),
                             pn.pane.Bokeh(self.grid.fig))),
            self.caption, margin=(16, 0, 0, 0))
