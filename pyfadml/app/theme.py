"""Colours, palettes and stylesheets shared by the app's sections (presentation only, no maths).

Class colours are Okabe-Ito (distinguishable with the common colour-vision deficiencies and on a
projector): class 0 orange, class 1 blue, then green and vermillion. Diverging maps run from orange
(negative) through white (zero) to blue (positive), so "blue" means "class 1" and "large activation"
throughout the page.
"""
from __future__ import annotations

import numpy as np

INK = "#0f172a"         # headings, numbers
TEXT = "#334155"        # body text
MUTED = "#64748b"       # captions, axis labels
RULE = "#e2e8f0"        # borders
PANEL_BG = "#ffffff"
PAGE_BG = "#f8fafc"
ACCENT = "#2563eb"
DANGER = "#b91c1c"

CLASS_COLORS = ["#E69F00", "#0072B2", "#009E73", "#D55E00"]
CLASS_MARKERS = ["circle", "square", "triangle", "diamond", "inverted_triangle", "hex", "star", "plus"]
"""A class is told by its marker's shape as well as its colour (colour-blind readers, greyscale prints)."""
TRAIN_LOSS_COLOR = INK
TEST_LOSS_COLOR = "#D55E00"

_NEG = np.array([0xE6, 0x9F, 0x00], dtype=np.float64)   # orange
_POS = np.array([0x00, 0x72, 0xB2], dtype=np.float64)   # blue
_WHITE = np.array([255.0, 255.0, 255.0])


def _hex(rgb) -> str:
    r, g, b = (int(round(float(c))) for c in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def diverging_palette(n: int = 255) -> list[str]:
    """``n`` hex colours from orange (-1) through white (0) to blue (+1)."""
    return [_hex(_WHITE + abs(v) * ((_POS if v >= 0 else _NEG) - _WHITE)) for v in np.linspace(-1.0, 1.0, n)]


DIVERGING = diverging_palette()


def diverging_rgb(v: np.ndarray) -> np.ndarray:
    """RGB (..., 3) in 0-255 for values ``v`` clipped to [-1, 1] (orange - white - blue)."""
    v = np.clip(np.nan_to_num(np.asarray(v, dtype=np.float64)), -1.0, 1.0)[..., None]
    return np.where(v >= 0, _WHITE + v * (_POS - _WHITE), _WHITE - v * (_NEG - _WHITE))


def class_rgb(k: int) -> np.ndarray:
    h = CLASS_COLORS[k % len(CLASS_COLORS)].lstrip("#")
    return np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)


def probabilities_to_rgba(probs: np.ndarray, strength: float = 0.55) -> np.ndarray:
    """Decision-region image: each cell takes its most likely class's colour, faded to white as the
    network becomes unsure. probs (H, W, K) -> uint32 (H, W) RGBA for Bokeh's ``image_rgba``.

    confidence = (p_max - 1/K) / (1 - 1/K) in [0, 1]: 0 on the decision boundary, 1 where certain.
    """
    probs = np.nan_to_num(np.asarray(probs, dtype=np.float64), nan=0.0)
    k = probs.shape[-1]
    best = np.argmax(probs, axis=-1)
    conf = (probs.max(axis=-1) - 1.0 / k) / (1.0 - 1.0 / k)
    colors = np.stack([class_rgb(i) for i in range(k)])[best]          # (H, W, 3)
    w = (strength * np.clip(conf, 0.0, 1.0))[..., None]
    rgb = _WHITE + w * (colors - _WHITE)
    rgba = np.empty(probs.shape[:2] + (4,), dtype=np.uint8)
    rgba[..., :3] = np.round(rgb).astype(np.uint8)
    rgba[..., 3] = 255
    return rgba.view(np.uint32).reshape(probs.shape[:2])


# ---------------------------------------------------------------------------------------------
# stylesheets (Panel components render into shadow roots: each gets its own)
# ---------------------------------------------------------------------------------------------

# Narrow screens (a phone, or 1280 px at 200% zoom): a card takes the whole width, a sticky side panel of
# controls becomes a plain block above the plots, and what is still wider than the card (a fixed-size figure)
# scrolls inside the card, never the page. index.js makes every row wrap at the same width.
NARROW = "(max-width: 760px)"
NARROW_CSS = f"""
@media {NARROW} {{
  :host {{ position: static !important; max-height: none !important; width: 100% !important;
           max-width: 100% !important; margin: 0 0 12px 0 !important; padding: 10px 8px !important;
           overflow-x: auto !important; overflow-y: visible !important; }}
}}
"""

# A figure on a narrow screen (ui.keeps_shape): Bokeh caps its width at the card's (max-width: 100%) and, with
# aspect_ratio set, leaves its height to CSS aspect-ratio; but a column fixes each child's height through its
# flex-basis (flex: 0 0 <height>px): let the height follow the width instead.
FIGURE_NARROW_CSS = f"""
@media {NARROW} {{ :host {{ flex-basis: auto !important; }} }}
"""

CARD_CSS = f"""
:host {{
  background: {PANEL_BG}; border: 1px solid {RULE}; border-radius: 10px;
  box-shadow: 0 1px 2px #0f172a0d; padding: 14px 16px;
}}
""" + NARROW_CSS

CONTROLS_CSS = CARD_CSS + """
:host { position: sticky; top: 8px; align-self: flex-start; max-height: calc(100vh - 16px); overflow-y: auto; }
"""
"""A section's controls column: it stays in view while the page scrolls (Play and the main controls always
visible at 1280x720)."""

# Presenter mode (a class on the page's <body>) sets --pf-scale and --pf-secondary; custom properties are
# inherited into the shadow roots Panel renders into, so every stylesheet below follows it.
PROSE_CSS = f"""
:host {{ color: {TEXT}; font-size: calc(15px * var(--pf-scale, 1)); line-height: 1.5; }}
.secondary {{ display: var(--pf-secondary, block); }}
h1, h2, h3 {{ color: {INK}; margin: 0 0 6px 0; }}
h2 {{ font-size: calc(20px * var(--pf-scale, 1)); }}
h3 {{ font-size: calc(16px * var(--pf-scale, 1)); }}
p {{ margin: 4px 0 8px 0; }}
.muted {{ color: {MUTED}; font-size: calc(13px * var(--pf-scale, 1)); }}
"""

STATS_CSS = f"""
.stats {{ display: flex; flex-wrap: wrap; gap: 6px 36px; align-items: baseline; padding: 8px 12px;
          background: {PAGE_BG}; border-radius: 8px; }}
.stat {{ display: flex; flex-direction: column; min-width: 74px; }}
.stat .label {{ font-size: calc(12px * var(--pf-scale, 1)); color: {MUTED}; text-transform: uppercase; letter-spacing: .04em; }}
.stat .value {{ font-size: calc(24px * var(--pf-scale, 1)); font-weight: 650; color: {INK}; font-variant-numeric: tabular-nums; }}
.state {{ margin: 6px 12px 0 12px; font-size: 13px; color: {MUTED}; }}
.state.diverged {{ color: {DANGER}; font-weight: 600; font-size: 14px; }}
.state .dot {{ display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 6px;
               background: {MUTED}; }}
.state.playing .dot {{ background: #16a34a; }}
.state.diverged .dot {{ background: {DANGER}; }}
"""

TABLE_CSS = f"""
:host {{ color: {TEXT}; }}
.op {{ display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }}
.sym {{ font-size: 20px; color: {MUTED}; padding: 0 2px; }}
figure.mx {{ margin: 0; display: inline-flex; flex-direction: column; align-items: flex-start; }}
figure.mx figcaption {{ font-size: calc(12px * var(--pf-scale, 1)); color: {MUTED}; margin-bottom: 2px; white-space: nowrap; }}
table.mx {{ border-collapse: separate; border-spacing: 1px; font-variant-numeric: tabular-nums;
            font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: calc(11px * var(--pf-scale, 1)); }}
table.mx td {{ min-width: 34px; height: 17px; padding: 0 2px; text-align: right; border-radius: 2px;
               color: {INK}; white-space: nowrap; }}
table.mx th {{ font-weight: 400; color: {MUTED}; font-size: 10px; padding: 0 2px; }}
.note {{ font-size: calc(13px * var(--pf-scale, 1)); color: {MUTED}; }}
.check {{ font-size: 13px; color: #15803d; }}
.check.bad {{ color: {DANGER}; }}
"""

TRY_CSS = f"""
ul.try {{ margin: 4px 0 0 0; padding-left: 18px; font-size: 13px; color: {TEXT}; }}
ul.try li {{ margin: 3px 0; }}
"""

NAV_CSS = f"""
:host(.coming) .bk-btn::after {{
  content: "coming"; margin-left: 8px; padding: 1px 6px; border-radius: 8px; font-size: 11px;
  background: #e2e8f0; color: {MUTED}; vertical-align: 1px;
}}
:host(.coming) .bk-btn[disabled] {{ opacity: 1; color: #94a3b8; cursor: default; }}
.bk-btn {{ font-size: 15px; border-radius: 8px; }}
"""

# The live-training status line (pyfadml.app.live)
LIVE_CSS = f"""
.live-state {{ font-size: 13px; color: {MUTED}; margin: 2px 4px; line-height: 1.4; }}
.live-state .dot {{ display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-right: 6px;
                   background: {MUTED}; vertical-align: 0; }}
.live-state.playing .dot {{ background: #15803d; }}
.live-state.away {{ color: {INK}; }}
.live-state.away .dot {{ background: #b45309; }}
.live-state.diverged {{ color: {DANGER}; font-weight: 600; }}
.live-state.diverged .dot {{ background: {DANGER}; }}
.live-state.recovered {{ color: {INK}; }}
.live-state b {{ font-variant-numeric: tabular-nums; }}
"""

# Bokeh's default green and amber buttons put white text at 3:1 (WCAG asks 4.5:1 for text): darker shades.
BUTTON_CSS = """
.bk-btn-success { background-color: #15803d; border-color: #166534; color: #ffffff; }
.bk-btn-success:hover:not([disabled]) { background-color: #166534; }
.bk-btn-warning { background-color: #b45309; border-color: #92400e; color: #ffffff; }
.bk-btn-warning:hover:not([disabled]) { background-color: #92400e; }
"""
