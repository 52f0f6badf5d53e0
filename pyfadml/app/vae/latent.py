"""The VAE section's latent space: the test set's codes on two planes (autoencoder and VAE, the same scale),
and a click on either plane decodes that point with both decoders.

With d = 2 the plane is the latent space; with d > 2 it is the plane of the codes' two principal axes
(:meth:`pyfadml.demos.generative.GenerativeDemo.latent_plane`), refitted at every refresh, so the markers
other parts put on the planes (prior draws, variations) are kept as latent points and projected again.
"""
from __future__ import annotations

from html import escape
from typing import Callable

import numpy as np
import panel as pn
from bokeh import events
from bokeh.models import ColumnDataSource, Range1d
from bokeh.palettes import Category10_10
from bokeh.transform import linear_cmap

from pyfadml.app import theme, ui
from pyfadml.app.vae.images import ImageGrid, pixels_attr, vector_text
from pyfadml.app.vae.training import AE_TEXT_COLOR, VAE_COLOR
from pyfadml.demos.generative import MODEL_KINDS, GenerativeDemo

CLASS_PALETTE = list(Category10_10)
EXTENT = 3.5                 # the planes show at least [-3.5, 3.5]^2: the prior's 2-sigma disc and more
NAMES = {"vae": "VAE", "ae": "AE"}

LATENT_TEXT = """
<h3>The latent space</h3>
<p>Each dot is one test image's code (for the VAE its mean \\(\\mu\\)), coloured by its class; the VAE's ellipses
show \\(\\sigma\\) for one image of each class. The dashed circles are 1 and 2 standard deviations of the prior
\\(N(0, I)\\). <b>Click anywhere on a plane</b> to decode that point, or <b>sample from the prior</b>: the same
\\(z\\) go through both decoders.</p>
<p class="secondary">The VAE was trained to fill that disc with meaningful codes, so its samples look like data;
nothing asked the autoencoder to: its codes sit wherever training put them (compare their means and spreads
below with the prior's 0 and 1).</p>
"""


class LatentView:
    """Both latent planes, the images decoded at the last click, and the codes' means and spreads."""

    def __init__(self, demo: Callable[[], GenerativeDemo]):
        self.demo = demo
        self.click: tuple[float, float] | None = None
        self.extent = EXTENT
        self._prior_z: np.ndarray | None = None
        self._var: tuple[np.ndarray, np.ndarray] | None = None     # (z (n, d), mu (d,))
        self._stats: dict[str, dict] = {}                          # kind -> the codes' mean and std
        self._cls_cmap = linear_cmap("cls", CLASS_PALETTE, low=0, high=len(CLASS_PALETTE) - 1)
        # the two planes share their ranges: the same scale makes the comparison honest
        self._xr, self._yr = Range1d(-EXTENT, EXTENT), Range1d(-EXTENT, EXTENT)
        self.figs, self._codes, self._circles, self._prior_pts, self._click_pts = {}, {}, {}, {}, {}
        self._names: dict[str, ColumnDataSource] = {}
        self.decoded = {kind: ImageGrid(f"decoded-{kind}") for kind in MODEL_KINDS}
        self.decoded_caption = {kind: ui.prose(sizing_mode=None) for kind in MODEL_KINDS}
        for kind in ("ae", "vae"):
            self._build_plane(kind)
        self.code_stats = ui.prose(margin=(4, 5))
        self.legend = ui.prose()

    def _build_plane(self, kind: str) -> None:
        title = "Autoencoder: codes y" if kind == "ae" else "VAE: means μ (ellipses: σ)"
        f = ui.figure(width=390, height=390, x_range=self._xr, y_range=self._yr, title=title, grid=True,
                      name=f"latent-{kind}")
        f.xgrid.visible = True
        f.xgrid.grid_line_color = theme.RULE
        f.title.text_font_size = "13px"
        f.title.text_color = theme.INK
        f.title.text_font_style = "normal"
        circles = ColumnDataSource(dict(x=[0.0, 0.0], y=[0.0, 0.0], r=[1.0, 2.0]))
        f.circle("x", "y", radius="r", source=circles, fill_alpha=0.0, line_color=theme.MUTED, line_dash="dashed",
                 line_width=1.2)
        self._circles[kind] = circles
        if kind == "vae":
            self._ellipses = ColumnDataSource(dict(x=[], y=[], w=[], h=[], angle=[], cls=[]))
            f.ellipse("x", "y", width="w", height="h", angle="angle", source=self._ellipses,
                      fill_color=self._cls_cmap, fill_alpha=0.18, line_color=self._cls_cmap, line_width=1.5)
        codes = ColumnDataSource(dict(x=[], y=[], cls=[]))
        f.scatter("x", "y", source=codes, size=5, fill_color=self._cls_cmap, line_color=None, fill_alpha=0.8)
        self._codes[kind] = codes
        # each class's name at the median of its codes: the class is read from text, not only from colour
        names = ColumnDataSource(dict(x=[], y=[], text=[], cls=[]))
        f.text("x", "y", text="text", source=names, text_color=self._cls_cmap, text_font_size="15px",
               text_font_style="bold", text_align="center", text_baseline="middle", background_fill_color="white",
               background_fill_alpha=0.75, padding=1)
        self._names[kind] = names
        if kind == "vae":
            self._var_pts = ColumnDataSource(dict(x=[], y=[]))
            f.scatter("x", "y", source=self._var_pts, size=6, marker="circle", fill_color="white",
                      line_color=theme.INK, line_width=1.2)
            self._var_mu = ColumnDataSource(dict(x=[], y=[]))
            f.scatter("x", "y", source=self._var_mu, size=11, marker="diamond", fill_color=theme.INK,
                      line_color="white")
        pts = ColumnDataSource(dict(x=[], y=[], text=[]))
        f.scatter("x", "y", source=pts, size=11, marker="x", line_color=theme.INK, line_width=2.5)
        f.text("x", "y", text="text", source=pts, x_offset=6, y_offset=-4, text_font_size="11px",
               text_color=theme.INK)
        self._prior_pts[kind] = pts
        click = ColumnDataSource(dict(x=[], y=[]))
        f.scatter("x", "y", source=click, size=22, marker="circle_cross", fill_alpha=0.0,
                  line_color=theme.DANGER, line_width=2.5)
        self._click_pts[kind] = click
        f.on_event(events.Tap, self._on_tap)
        f.on_event(events.DoubleTap, self._on_tap)      # a quick second click elsewhere is a "double tap"
        f.css_classes = [f"latent-{kind}", "latent-plane"]     # latent-plane: keyboard layer in index.js
        self.figs[kind] = f

    # ------------------------------------------------------------------------------------------
    # what other parts put on the planes
    # ------------------------------------------------------------------------------------------

    def show_prior(self, z: np.ndarray | None) -> None:
        """Mark the prior draws ``z`` (n, d), numbered, on both planes (None: no marks)."""
        self._prior_z = z
        for kind in MODEL_KINDS:
            if z is None:
                self._prior_pts[kind].data = dict(x=[], y=[], text=[])
            else:
                uv = self.demo().project(kind, z)
                self._prior_pts[kind].data = dict(x=uv[:, 0], y=uv[:, 1], text=[str(i + 1) for i in range(len(z))])

    def show_variations(self, z: np.ndarray | None, mu: np.ndarray | None = None) -> None:
        """Mark the variations' latent points ``z`` (n, d) and their centre ``mu`` (d,) on the VAE's plane."""
        self._var = None if z is None else (z, mu)
        if z is None:
            self._var_pts.data = dict(x=[], y=[])
            self._var_mu.data = dict(x=[], y=[])
            return
        uv = self.demo().project("vae", z)
        m = self.demo().project("vae", np.asarray(mu)[None])
        self._var_pts.data = dict(x=uv[:, 0], y=uv[:, 1])
        self._var_mu.data = dict(x=m[:, 0], y=m[:, 1])

    # ------------------------------------------------------------------------------------------
    # drawing
    # ------------------------------------------------------------------------------------------

    def reset(self) -> None:
        """A new demo: no click, no marks, the planes back to their first extent."""
        d = self.demo()
        self.click = None
        self._prior_z, self._var = None, None
        self._stats = {}
        for kind in MODEL_KINDS:
            self._click_pts[kind].data = dict(x=[], y=[])
            self._prior_pts[kind].data = dict(x=[], y=[], text=[])
            self._names[kind].data = dict(x=[], y=[], text=[], cls=[])
            self.decoded[kind].fit(d.image_shape, 1, 1, image_px=80)
        self._var_pts.data = dict(x=[], y=[])
        self._var_mu.data = dict(x=[], y=[])
        self.extent = EXTENT
        self._xr.start, self._xr.end = -EXTENT, EXTENT
        self._yr.start, self._yr.end = -EXTENT, EXTENT
        self.legend.object = "".join(
            f"<span style='display:inline-block;margin-right:14px;font-size:13px;color:{theme.TEXT}'>"
            f"<span style='display:inline-block;width:10px;height:10px;border-radius:50%;"
            f"background:{CLASS_PALETTE[i % len(CLASS_PALETTE)]};margin-right:5px'></span>{escape(name)}</span>"
            for i, name in enumerate(d.class_names))

    def draw(self, kinds=MODEL_KINDS) -> None:
        """The test set's codes on the planes of ``kinds`` (the projection is refitted for d > 2), the marks,
        and the codes' means and spreads."""
        d = self.demo()
        extent = self.extent
        with np.errstate(all="ignore"):
            for kind in kinds:
                lp = d.latent_plane(kind)
                self._codes[kind].data = dict(x=lp["u"], y=lp["v"], cls=lp["label"].astype(np.int32))
                m = lp["medians"]
                self._names[kind].data = dict(x=m["u"], y=m["v"], text=[str(d.class_names[k]) for k in m["class"]],
                                              cls=m["class"])
                o = lp["origin"]                            # where the prior's mean 0 lands on the plane
                self._circles[kind].data = dict(x=[o[0], o[0]], y=[o[1], o[1]], r=[1.0, 2.0])
                if lp["ellipses"] is not None:
                    e = lp["ellipses"]
                    self._ellipses.data = dict(x=e["u"], y=e["v"], w=e["width"], h=e["height"], angle=e["angle"],
                                               cls=d.y_test[e["index"]].astype(np.int32))
                extent = max(extent, lp["reach"] * 1.08)
                self._stats[kind] = {"mean": lp["mean"], "std": lp["std"]}
                f = self.figs[kind]
                f.xaxis.axis_label, f.yaxis.axis_label = lp["axis_labels"]
        if np.isfinite(extent) and extent > self.extent:   # grow only, in half units: clicks stay put
            self.extent = float(np.ceil(min(extent, 1e6) * 2.0) / 2.0)
            self._xr.start, self._xr.end = -self.extent, self.extent
            self._yr.start, self._yr.end = -self.extent, self.extent
        self.show_prior(self._prior_z)
        self.show_variations(*(self._var or (None,)))
        self._draw_code_stats()

    def _draw_code_stats(self) -> None:
        stats = self._stats
        if set(stats) != set(MODEL_KINDS):
            return

        def csv(v):
            return ",".join(f"{x:.4f}" for x in v)

        self.code_stats.object = ui.caption(
            "code-stats",
            f'Per latent dimension, the prior has mean 0 and std 1. Test codes now: '
            f'<b style="color:{VAE_COLOR}">VAE</b> mean {vector_text(stats["vae"]["mean"])}, '
            f'std {vector_text(stats["vae"]["std"])}; <b style="color:{AE_TEXT_COLOR}">AE</b> mean '
            f'{vector_text(stats["ae"]["mean"])}, std {vector_text(stats["ae"]["std"])}.',
            **{f"{kind}_{k}": csv(stats[kind][k]) for kind in ("vae", "ae") for k in ("mean", "std")})

    def _on_tap(self, event) -> None:
        if event.x is None or event.y is None:
            return
        self.click = (float(event.x), float(event.y))
        self.draw_decoded()

    def draw_decoded(self) -> None:
        """The images both decoders draw at the clicked point (a prompt before the first click)."""
        d = self.demo()
        if self.click is None:
            for kind in MODEL_KINDS:
                self.decoded[kind].show(None)
                self.decoded_caption[kind].object = ui.caption(
                    f"decoded-{kind}", f"Click the plane above: the {NAMES[kind]} decodes that point.", pixels="")
            return
        u, v = self.click
        for kind in MODEL_KINDS:
            with np.errstate(all="ignore"):
                img = d.decode_point(kind, u, v)
                z = d.lift(kind, np.array([[u, v]]))[0]
            self.decoded[kind].show(img[None])
            self._click_pts[kind].data = dict(x=[u], y=[v])
            self.decoded_caption[kind].object = ui.caption(f"decoded-{kind}", f"decoder(z), z = {vector_text(z)}",
                                                           u=repr(u), v=repr(v), pixels=pixels_attr(img[None]))

    # ------------------------------------------------------------------------------------------
    # layout
    # ------------------------------------------------------------------------------------------

    def panel(self, *below) -> pn.Column:
        """The latent-space card: text, class legend, both planes with their decoded images, the codes'
        statistics, then ``below`` (the prior samples)."""
        def plane(kind):
            return pn.Column(pn.pane.Bokeh(self.figs[kind]),
                             pn.Row(pn.pane.Bokeh(self.decoded[kind].fig), self.decoded_caption[kind]))

        return ui.card(ui.prose(LATENT_TEXT, math=True, margin=(5, 10)), self.legend,
                       pn.Row(plane("ae"), plane("vae"), sizing_mode="stretch_width"), self.code_stats, *below,
                       margin=(16, 0, 0, 0))
