"""The VAE section's training screen: the numbers bar, the loss curves of both models and the test images
beside their reconstructions.

The curves are mini-batch losses (one point per refresh: the mean of the steps trained since the last one)
and, as dots, the whole test set. Their axis is logarithmic; its range and ticks are chosen here
(:func:`visible_range`, :func:`log_ticks`), because Bokeh's own log ticker falls back to linear ticks
1, 2, …, 9 when the curves span less than two decades, and their labels then overlap at the top of the axis.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource, FixedTicker, Range1d

from pyfadml.app import theme, ui
from pyfadml.app.vae.images import ImageGrid
from pyfadml.demos.generative import GenerativeDemo

VAE_COLOR = "#0072B2"
AE_COLOR = "#D55E00"
AE_TEXT_COLOR = "#B84F00"     # AE_COLOR darkened for text on white: 5.0:1 (WCAG AA asks 4.5:1)
KL_COLOR = "#009E73"
LOSS_POINTS = 5000           # each curve keeps its last 5000 points
MAX_TICKS = 6                # labels on the log axis
LOG_MANTISSAS = ((1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8), (1, 2, 5), (1, 3), (1,))
"""Tick values per decade, from fine to coarse: the finest that gives at most MAX_TICKS ticks is used."""
PAD = 1.15                   # the loss axis shows its values' range and this factor more on each side
MIN_RATIO = 3.0              # and at least a factor 3 (the curves start as one point)


def log_ticks(low: float, high: float, max_ticks: int = MAX_TICKS) -> list[float]:
    """Ticks for a log axis showing [low, high]: m * 10^k for the finest mantissas m of
    :data:`LOG_MANTISSAS` giving at most ``max_ticks`` of them, else every n-th power of ten; a range too
    narrow for two of those gets evenly spaced ticks."""
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low <= high):
        return [1.0]
    k0, k1 = math.floor(math.log10(low)), math.ceil(math.log10(high))
    for mantissas in LOG_MANTISSAS:
        ticks = [float(f"{m}e{k}") for k in range(k0, k1 + 1) for m in mantissas if low <= m * 10.0 ** k <= high]
        if len(ticks) <= max_ticks:
            break
    else:
        every = math.ceil((k1 - k0 + 1) / max_ticks)
        return [float(f"1e{k}") for k in range(k0, k1 + 1) if k % every == 0 and low <= 10.0 ** k <= high]
    if len(ticks) >= 2:
        return ticks
    e = math.floor(math.log10(high - low))
    for step in (m * 10.0 ** k for k in (e, e - 1, e - 2) for m in (5, 2, 1)):
        ticks = [float(f"{i * step:.12g}") for i in range(math.ceil(low / step), math.floor(high / step) + 1)]
        if len(ticks) >= 2:
            return ticks[:max_ticks]
    return ticks


def visible_range(low: float, high: float) -> tuple[float, float]:
    """What the loss axis shows for values in [low, high]: a factor :data:`PAD` more on each side, and at
    least a factor :data:`MIN_RATIO` from bottom to top (around the values' geometric mean)."""
    low, high = low / PAD, high * PAD
    if high / low < MIN_RATIO:
        mid = math.sqrt(low * high)
        low, high = mid / math.sqrt(MIN_RATIO), mid * math.sqrt(MIN_RATIO)
    return low, high


def tick_labels(ticks: list[float]) -> dict[float, str]:
    """Labels for ``ticks``: as few significant digits as keep them apart (at least 3)."""
    for digits in range(3, 10):
        labels = {t: ui.num(t, digits) for t in ticks}
        if len(set(labels.values())) == len(labels):
            return labels
    return {t: repr(t) for t in ticks}


class TrainingView:
    """The stats bar, the loss curves and the reconstruction grid, for the demo ``demo()`` returns."""

    def __init__(self, demo: Callable[[], GenerativeDemo]):
        self.demo = demo
        self.row: dict | None = None           # the last test-set evaluation
        self.recognised = math.nan
        self._streamed = 0
        self._range = (math.inf, 0.0)          # smallest and largest value on the loss axis
        self._ticks: list[float] = []
        self._build_loss()
        self.recon = ImageGrid("reconstructions")
        self.stats = ui.stats_pane(theme.PROSE_CSS, margin=(4, 5, 12, 5))
        self.recon_caption = ui.prose(sizing_mode=None)

    def _build_loss(self) -> None:
        fig = ui.figure(width=430, height=270, y_axis_type="log", grid=True, y_range=Range1d(0.5, 5.0))
        self._loss_src = ColumnDataSource(dict(step=[], vae_recon=[], vae_kl=[], ae_recon=[]))
        self._eval_src = ColumnDataSource(dict(step=[], vae_recon=[], ae_recon=[]))
        fig.line("step", "vae_recon", source=self._loss_src, color=VAE_COLOR, line_width=2,
                 legend_label="VAE ½‖x−x′‖²")
        fig.line("step", "ae_recon", source=self._loss_src, color=AE_COLOR, line_width=2,
                 legend_label="AE ½‖x−x′‖²")
        fig.line("step", "vae_kl", source=self._loss_src, color=KL_COLOR, line_width=2, legend_label="VAE KL")
        fig.scatter("step", "vae_recon", source=self._eval_src, color=VAE_COLOR, size=5,
                    legend_label="test set (dots)")
        fig.scatter("step", "ae_recon", source=self._eval_src, color=AE_COLOR, size=5)
        legend = ui.legend_above(fig, spacing=10)
        legend.nrows = 2                        # two rows above the plot
        legend.border_line_color = None
        legend.click_policy = "hide"
        self._ticker = FixedTicker(ticks=[1.0], minor_ticks=[])
        fig.yaxis.ticker = self._ticker
        fig.xaxis.axis_label = "step"
        fig.yaxis.axis_label = "per image (log scale)"
        self.loss_fig = fig

    # ------------------------------------------------------------------------------------------
    # drawing
    # ------------------------------------------------------------------------------------------

    def reset(self) -> None:
        """A new demo: the curves start at the untrained test-set values, the grid fits its images."""
        d = self.demo()
        self.recognised = math.nan
        self.row = d.evaluate()
        self._streamed = 0
        r = self.row
        first = dict(step=[0], vae_recon=[r["vae_recon"]], vae_kl=[max(r["vae_kl"], 1e-6)], ae_recon=[r["ae_recon"]])
        self._loss_src.data = first
        self._eval_src.data = dict(step=[0], vae_recon=[r["vae_recon"]], ae_recon=[r["ae_recon"]])
        self._range = (math.inf, 0.0)
        self._ticks = []
        self._extend_axis(first)
        self.recon.fit(d.image_shape, 3, len(d.showcase_indices()), ("input", "VAE", "AE"), label_px=44)

    def draw_losses(self) -> None:
        """Append the mean of the rows trained since the last point as one point of each curve (after a
        recovery went back to an earlier step, the curves first drop what came after it)."""
        h = self.demo().history
        if self._streamed > self.demo().step_count:
            self._cut(self.demo().step_count)
        m = h.mean_after(self._streamed)
        if m is None:
            return
        self._streamed = m["step"]
        point = dict(step=[m["step"]], vae_recon=[m["vae_recon"]], vae_kl=[max(m["vae_kl"], 1e-6)],
                     ae_recon=[m["ae_recon"]])
        self._loss_src.stream(point, rollover=LOSS_POINTS)
        self._extend_axis(point)

    def _cut(self, step: int) -> None:
        """Keep the points of both curves up to ``step``."""
        for src in (self._loss_src, self._eval_src):
            keep = np.asarray(src.data["step"]) <= step
            src.data = {k: np.asarray(v)[keep] for k, v in src.data.items()}
        self._streamed = step

    def draw_test(self) -> None:
        """Evaluate both models on the test set: a dot on each curve and the numbers."""
        self.row = row = self.demo().evaluate()
        point = dict(step=[row["step"]], vae_recon=[row["vae_recon"]], ae_recon=[row["ae_recon"]])
        if ui.stream_new(self._eval_src, point, rollover=LOSS_POINTS):
            self._extend_axis(point)

    def draw_reconstructions(self) -> None:
        r = self.demo().reconstructions()
        self.recon.show(np.concatenate([r["x"], r["vae"], r["ae"]]))
        vae, ae = float(np.mean(r["vae_error"])), float(np.mean(r["ae_error"]))
        self.recon_caption.object = ui.caption(
            "reconstructions", f"One test image of each class. Mean ½‖x−x′‖² of these: VAE {ui.loss_text(vae)}, "
            f"AE {ui.loss_text(ae)}.", vae_error=repr(vae), ae_error=repr(ae))

    def draw_scores(self) -> None:
        """The share of VAE reconstructions a nearest-neighbour reader recognises (the costliest number)."""
        with np.errstate(all="ignore"):
            self.recognised = self.demo().recognised_fraction("vae")

    def draw_stats(self, **data) -> None:
        """The numbers bar; ``data``: more ``data-`` attributes for it."""
        row, d = self.row, self.demo()
        if row is None:
            return
        base = d.mean_image_error()
        stats = [("step", "Step", row["step"], f"{row['step']:,}"),
                 ("vae-recon", "VAE ½‖x−x′‖²", row["vae_recon"], ui.loss_text(row["vae_recon"])),
                 ("vae-kl", "VAE KL", row["vae_kl"], ui.loss_text(row["vae_kl"])),
                 ("ae-recon", "AE ½‖x−x′‖²", row["ae_recon"], ui.loss_text(row["ae_recon"])),
                 ("mean-image", "Mean image", base, ui.loss_text(base)),
                 ("recognised", "Recognised", self.recognised, ui.pct(self.recognised, 0))]
        self.stats.object = ui.stats_html(stats, testid="vae-stats", step=row["step"], **data) + ui.stats_line(
            d.describe() + ' Test-set errors are means over images; "mean image" is the error of always drawing '
            'the average image; recognised: VAE reconstructions whose nearest training image has the right label.',
            secondary=True)

    def _extend_axis(self, point: dict) -> None:
        """Widen the loss axis (an explicit range, so its ticks are known) to the new values."""
        values = [v for key, vs in point.items() if key != "step" for v in vs if math.isfinite(v) and v > 0]
        if not values:
            return
        low, high = min(self._range[0], *values), max(self._range[1], *values)
        if (low, high) == self._range:
            return
        self._range = (low, high)
        y = self.loss_fig.y_range
        if y.start <= low / PAD * 1.0001 and high * PAD <= y.end * 1.0001 and self._ticks:
            return                             # still inside what the axis shows
        low, high = visible_range(low, high)
        y.start, y.end = low, high
        ticks = log_ticks(low, high)
        if ticks != self._ticks:
            self._ticks = ticks
            self._ticker.ticks = ticks
            self.loss_fig.yaxis.major_label_overrides = tick_labels(ticks)

    # ------------------------------------------------------------------------------------------
    # layout
    # ------------------------------------------------------------------------------------------

    def panel(self, intro: str) -> pn.Column:
        return ui.card(
            ui.prose(intro, math=True, margin=(5, 10)), self.stats,
            pn.Row(pn.Column(ui.prose("<h3>Loss</h3><p class='muted'>Lines: the mini-batches (the mean of the steps "
                                      "between two points); dots: the whole test set, with z = μ. Click a legend "
                                      "entry to hide its curve.</p>", width=430), pn.pane.Bokeh(self.loss_fig)),
                   pn.Column(ui.prose("<h3>Test images and their reconstructions</h3>", sizing_mode=None),
                             pn.pane.Bokeh(self.recon.fig), self.recon_caption),
                   sizing_mode="stretch_width"))
