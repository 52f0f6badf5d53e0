"""Section "Autoencoder & VAE": the lecture's generative models, trained live in the page.

Every number and image comes from :class:`pyfadml.demos.generative.GenerativeDemo` (an
:class:`~pyfadml.models.Autoencoder` and a :class:`~pyfadml.models.VAE` of the same size, trained on the same
mini-batches); this package only draws, one module per part of the screen:

* :mod:`.training` — the numbers, the loss curves and the reconstructions;
* :mod:`.latent` — the two latent planes (click to decode a point);
* :mod:`.samples` — samples of the prior and the controlled variations;
* :mod:`.anomaly` — the drawing pad: anomaly or regular?

Play / Pause / Step / Reset, the schedule and divergence are the shared
:class:`pyfadml.app.live.LiveTraining`: short bursts of training, then the views that are due
(:data:`REFRESH_EVERY`), then a yield, so a click is answered within a frame. The values tests read are
``data-*`` attributes of the captions and of the status line ``[data-testid="vae-live"]``.
"""
from __future__ import annotations

import time

import panel as pn
import param

from pyfadml.app import ui
from pyfadml.app.live import LiveTraining, Refresh
from pyfadml.app.workio import TakeAway
from pyfadml.app.vae.anomaly import AnomalyView
from pyfadml.app.vae.latent import LatentView
from pyfadml.app.vae.samples import PriorSamples, Variations
from pyfadml.app.vae.training import TrainingView
from pyfadml.demos.generative import DATASETS, HIDDEN_CHOICES, GenerativeDemo

__all__ = ["VAESection"]

BURST_SECONDS = 0.05         # training per frame (a VAE and an AE step: ~1 ms natively, a few in the browser)
PERIOD_SECONDS = 0.07        # a frame: the burst, the due views, a yield (kept short: Pause waits for it)
REFRESH_EVERY = {"curves": 0.5, "test": 1.5, "latent-ae": 2.0, "latent-vae": 2.0, "prior": 3.0, "variations": 3.0,
                 "anomaly": 4.0, "recognised": 4.0, "realism": 6.0}
"""While playing, each view is redrawn at most this often (seconds), the most overdue first, within a frame:
the loss curves, the test set's numbers and reconstructions, each latent plane, the decoded images (click and
prior samples), the variations, the drawing's verdict, and the two nearest-neighbour scores. Each costs a
few tens of milliseconds in the browser: small groups keep every frame short, so a click (Pause) is
answered within about a tenth of a second. On Pause, Step and Reset everything is redrawn."""

LATENT_SIZES = [2, 3, 4, 8, 16]
LEARNING_RATES = [0.001, 0.003, 0.01, 0.03, 0.1]
BETAS = [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
BATCH_SIZES = [16, 32, 64, 128]
DATASET_LABELS = {"8x8 digits": "digits", "Shapes (12x12)": "shapes"}
HIDDEN_LABELS = {"64": "64", "128": "128", "128 - 64": "128-64"}

INTRO = """
<h2>Autoencoder &amp; VAE</h2>
<p>An <b>autoencoder</b> passes an image \\(x\\) (\\(D\\) pixels) through an <b>encoder</b> into a latent code
of \\(d < D\\) numbers, a compression, and a <b>decoder</b> draws \\(x'\\) back from it. A <b>variational
autoencoder</b> makes the code stochastic: the encoder gives a mean \\(\\mu\\) and a spread \\(\\sigma\\), the
decoder draws from a perturbed \\(z = \\mu + \\sigma \\odot \\varepsilon\\), \\(\\varepsilon \\sim N(0, I)\\),
and a KL term keeps the codes close to \\(N(0, I)\\).</p>
<p class="secondary">Both are trained by backpropagation on \\(\\tfrac12\\lVert x - x'\\rVert^2\\); the VAE
adds \\(\\beta\\,\\mathrm{KL}\\). Press <b>Play</b>: both models learn from the same mini-batches.</p>
"""

NOTES = """<div class="secondary">
<p class="muted">Adam on ½‖x−x′‖² (+ β·KL for the VAE). Try β = 1: with pixels in [0, 1] the KL wins and the
VAE draws the average image for every input.</p>
<p class="muted">d = 2: the planes are the latent space itself. Larger d reconstructs better; the planes are
then the codes' two principal axes.</p></div>
"""


class VAESection(ui.Section):
    """The live section: controls left; training, latent space, variations and anomalies on the right."""

    title = "Autoencoder & VAE"

    dataset = param.Selector(default="digits", objects=list(DATASETS))
    latent = param.Selector(default=2, objects=LATENT_SIZES)
    hidden = param.Selector(default="128", objects=list(HIDDEN_CHOICES))
    seed = param.Integer(default=0, bounds=(0, 9999))
    lr = param.Selector(default=0.01, objects=LEARNING_RATES)
    beta = param.Selector(default=0.05, objects=BETAS)
    batch_size = param.Selector(default=64, objects=BATCH_SIZES)

    def __init__(self, **params):
        super().__init__(**params)
        self.demo = self._new_demo()
        demo = lambda: self.demo                                        # noqa: E731
        self.training = TrainingView(demo)
        self.planes = LatentView(demo)
        self.prior = PriorSamples(demo, lambda: self.seed, self.planes)
        self.variations = Variations(demo, lambda: self.anomaly.editor.value, self.planes)
        self.anomaly = AnomalyView(demo, self.variations.test_index)
        self.anomaly.editor.param.watch(lambda event: self.variations.drawing_changed(), "value")
        self.refresh_ms: dict[str, float] = {}           # what each group took, last time (data-refresh-ms)
        draw = {"curves": self.training.draw_losses, "test": self._draw_test,
                "latent-ae": lambda: self.planes.draw(("ae",)), "latent-vae": lambda: self.planes.draw(("vae",)),
                "prior": self._draw_prior, "variations": self.variations.draw,
                "anomaly": lambda: self.anomaly.draw(recompute=True), "recognised": self._draw_recognised,
                "realism": self.prior.draw_realism}
        self.live = LiveTraining(
            "vae", demo=demo, reset=self._reset_demo, redraw=self.redraw, burst=BURST_SECONDS, period=PERIOD_SECONDS,
            settings=self, resets=("dataset", "latent", "hidden", "seed"), applies=("lr", "beta", "batch_size"),
            applied=self.training.draw_stats,
            refresh=[Refresh(self._timed(name, draw[name]), every=every) for name, every in REFRESH_EVERY.items()])
        self.takeaway = TakeAway("vae", model=lambda: self.demo.vae, step=lambda: self.demo.step_count,
                                 history=lambda: self.demo.full_history(), accept=self.accept_model,
                                 figures={"losses": self.training.loss_fig,
                                          **{f"latent-{k}": f for k, f in self.planes.figs.items()}})
        self._build_layout()
        self._on_new_demo()
        self.redraw()
        self.live.update_status()

    def accept_model(self, model, name: str = "the file") -> str:
        """Show ``model``, a VAE or an Autoencoder (e.g. from ``pyfadml.load``): its latent size and hidden
        layers become the settings (a reset, same data), then its weights replace those of the section's
        model of its kind (step 0; the other model starts afresh). Raises ValueError naming the mismatch,
        with nothing changed, unless it fits this dataset's image size and this section's choices."""
        s = self.demo.settings_for(model, name)
        if s["latent"] not in LATENT_SIZES or s["hidden"] not in HIDDEN_CHOICES:
            raise ValueError(f"{name} does not fit: latent size {s['latent']} and hidden layers {s['hidden']}; "
                             f"this section has d in {LATENT_SIZES} and hidden layers {', '.join(HIDDEN_CHOICES)}.")
        self.live.restart(latent=s["latent"], hidden=s["hidden"])
        self.demo.load_weights(model, name, target=s["kind"])
        self._on_new_demo()
        self.redraw()
        return self.live.say(f"Loaded {name}: the {'VAE' if s['kind'] == 'vae' else 'autoencoder'} with "
                             f"d = {s['latent']} and hidden layers {s['hidden']}, shown at step 0 of a new run.")

    def scene_params(self) -> list:
        """The settings the page's address holds (:mod:`pyfadml.app.scene`)."""
        return [(name, self, name) for name in ("dataset", "latent", "hidden", "seed", "lr", "beta", "batch_size")]

    # ------------------------------------------------------------------------------------------
    # model state
    # ------------------------------------------------------------------------------------------

    def _new_demo(self) -> GenerativeDemo:
        return GenerativeDemo(dataset=self.dataset, latent=int(self.latent), hidden=self.hidden,
                              lr=float(self.lr), beta=float(self.beta), batch_size=int(self.batch_size),
                              seed=int(self.seed))

    def _reset_demo(self) -> None:
        self.demo = self._new_demo()
        self._on_new_demo()

    def _on_new_demo(self) -> None:
        """Every part fits the new demo (image size, number of test images); the drawing before the
        variations, which may vary it."""
        self.training.reset()
        self.planes.reset()
        self.prior.reset()
        self.anomaly.reset()
        self.variations.reset()

    # ------------------------------------------------------------------------------------------
    # drawing (the refresh groups)
    # ------------------------------------------------------------------------------------------

    def _timed(self, name: str, draw):
        def timed():
            t0 = time.perf_counter()
            draw()
            self.refresh_ms[name] = 1000.0 * (time.perf_counter() - t0)
        return timed

    def redraw(self) -> None:
        """Everything (after Pause, Step, Reset and a recovery)."""
        self.training.draw_losses()
        self.training.draw_test()
        self.training.draw_reconstructions()
        self.planes.draw()
        self._draw_prior()
        self.variations.draw()
        self.anomaly.draw(recompute=True)
        self.prior.draw_realism()
        self._draw_recognised()

    def _draw_test(self) -> None:
        """The test set through both models once: the numbers, a dot on each curve, the reconstructions."""
        self.training.draw_test()
        self.training.draw_reconstructions()
        self._draw_stats()

    def _draw_stats(self) -> None:
        self.training.draw_stats(refresh_ms=" ".join(f"{k}:{v:.0f}" for k, v in self.refresh_ms.items()))

    def _draw_prior(self) -> None:
        self.planes.draw_decoded()
        self.prior.draw()

    def _draw_recognised(self) -> None:
        self.training.draw_scores()
        self._draw_stats()

    # ------------------------------------------------------------------------------------------
    # layout
    # ------------------------------------------------------------------------------------------

    def _build_layout(self) -> None:
        p = self.param
        w = self._widgets = {
            "dataset": ui.select(p.dataset, "Dataset", DATASET_LABELS),
            "seed": ui.seed_input(self, "vae-seed-note"),
            "latent": ui.select(p.latent, "Latent size d"),
            "hidden": ui.select(p.hidden, "Hidden layers", HIDDEN_LABELS),
            "lr": ui.select(p.lr, "Learning rate"),
            "beta": ui.select(p.beta, "β (KL weight)"),
            "batch_size": ui.select(p.batch_size, "Batch size"),
        }

        def pair(a, b):                                 # two controls side by side: all fit at 1280x720
            w[a].sizing_mode = w[b].sizing_mode = "stretch_width"
            return pn.Row(w[a], w[b], margin=0, sizing_mode="stretch_width")

        controls = ui.controls(
            self.live,
            ui.heading("Training"), pair("lr", "batch_size"), w["beta"],
            ui.heading("Data and models"), pair("dataset", "seed"), pair("latent", "hidden"),
            ui.prose(NOTES, margin=(4, 5), sizing_mode=None),
            ui.heading("Model and history"), self.takeaway)
        self._layout = pn.Row(
            controls,
            pn.Column(self.training.panel(INTRO), self.planes.panel(self.prior.panel()), self.variations.panel(),
                      self.anomaly.panel(), sizing_mode="stretch_width"),
            sizing_mode="stretch_width")
