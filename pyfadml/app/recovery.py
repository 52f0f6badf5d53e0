"""The divergence box of :class:`pyfadml.app.live.LiveTraining`: the ways out of a training that blew up.

When the library refuses an exploding step (:class:`pyfadml.train.DivergenceError`), the controller pauses
and shows this box: "Restore step k, learning rate x" (the next option at least ten times smaller) and
"Restore step k, clip gradients at 1". A section may add its own way out (:meth:`DivergenceBox.add`, the
RNN race's "take the step anyway"), shown only for the divergences it fits.
"""
from __future__ import annotations

from typing import Any, Callable

import panel as pn

from pyfadml.app import ui
from pyfadml.train import DivergenceError

RECOVERY_CLIP = 1.0      # what "clip gradients" in the divergence box sets


def smaller_option(options, current: float, factor: float = 10.0) -> float:
    """The largest of ``options`` at most ``current / factor`` (else the smallest option below ``current``,
    else ``current / factor``): the learning rate the divergence box offers."""
    below = sorted(float(v) for v in options if float(v) < current)
    target = [v for v in below if v <= current / factor * (1 + 1e-9)]
    if target:
        return target[-1]
    if below:
        return below[0]
    return current / factor


def last_good_step(exc: DivergenceError) -> int:
    """The step whose weights a recovery restores (an error that does not say: the step before)."""
    good = getattr(exc, "last_good_step", None)
    return int(exc.step - 1 if good is None else good)


class DivergenceBox(ui.View):
    """The buttons offered after a divergence. ``live`` is the controller: a click calls its
    ``recover(lr=...)``, ``recover(clip_norm=...)`` or, for a section's own button, ``run_recovery(action)``."""

    def __init__(self, live):
        self.live = live
        self.lr_button = pn.widgets.Button(
            label="Restore, smaller learning rate", color="primary", sizing_mode="stretch_width",
            css_classes=["live-recover-lr"], on_click=lambda e: live.recover(lr=live.smaller_lr()))
        self.clip_button = pn.widgets.Button(
            label=f"Restore, clip gradients at {RECOVERY_CLIP:g}", color="primary", variant="outline",
            sizing_mode="stretch_width", css_classes=["live-recover-clip"],
            on_click=lambda e: live.recover(clip_norm=RECOVERY_CLIP))
        self.extra: list[tuple[Any, Callable[[DivergenceError], bool]]] = []
        self._layout = pn.Column(self.lr_button, self.clip_button, visible=False, margin=(2, 0),
                                 sizing_mode="stretch_width")

    @property
    def visible(self) -> bool:
        return self._layout.visible

    @visible.setter
    def visible(self, value: bool) -> None:
        self._layout.visible = value

    def add(self, label: str, action: Callable[[], str | None], *,
            when: Callable[[DivergenceError], bool] = lambda exc: True, css_class: str = "live-recover-extra"):
        """A section's own way out: a button shown when ``when(exc)`` holds (see
        :meth:`pyfadml.app.live.LiveTraining.add_recovery`). Returns the button."""
        button = pn.widgets.Button(label=label, color="danger", variant="outline", sizing_mode="stretch_width",
                                   css_classes=[css_class], visible=False,
                                   on_click=lambda event: self.live.run_recovery(action))
        self.extra.append((button, when))
        self._layout.append(button)
        return button

    def show(self, exc: DivergenceError) -> None:
        """Label the buttons for this divergence (the step they restore, the learning rate they offer)."""
        step = last_good_step(exc)
        self.lr_button.label = f"Restore step {step:,}, learning rate {self.live.smaller_lr():g}"
        self.clip_button.label = f"Restore step {step:,}, clip gradients at {RECOVERY_CLIP:g}"
        for button, when in self.extra:
            button.visible = bool(when(exc))
