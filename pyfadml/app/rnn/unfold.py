"""The network unrolled over the time steps of one test sequence: every x_t, h_t and y_t in one figure.

Drawn from :meth:`pyfadml.demos.sequence.SequenceDemo.unfold` (the library layer's own hidden states).
"""
from __future__ import annotations

import math

import numpy as np
from bokeh.models import ColumnDataSource, HoverTool, Range1d

from pyfadml.app import theme, ui

ARROW = "#94a3b8"


def hex_colors(values: np.ndarray, scale: float = 1.0) -> list[str]:
    """Diverging colours (orange negative, white 0, blue positive) of ``values / scale``, as ``#rrggbb``."""
    with np.errstate(over="ignore", invalid="ignore"):
        rgb = theme.diverging_rgb(np.nan_to_num(np.asarray(values, dtype=np.float64) / scale))
    rgb = np.clip(np.round(rgb), 0, 255).astype(np.intp).reshape(-1, 3)
    return ["#%02x%02x%02x" % tuple(c) for c in rgb]


class UnfoldedView:
    """The figure (``fig``) and what it shows; :meth:`draw` puts one unfolded sequence into it."""

    def __init__(self):
        u = ui.figure(axes=False, width=900, height=330, x_range=Range1d(-1, 10), y_range=Range1d(-2.6, 6.2),
                      outline_line_color=None)
        self.arrows = ColumnDataSource(dict(x0=[], y0=[], x1=[], y1=[]))
        u.segment("x0", "y0", "x1", "y1", source=self.arrows, line_color=ARROW, line_width=1.4)
        self.heads = ColumnDataSource(dict(x=[], y=[], angle=[]))
        u.scatter("x", "y", source=self.heads, marker="triangle", angle="angle", size=7, color=ARROW)
        self.cells = ColumnDataSource(dict(x=[], y=[], w=[], h=[], fill=[], v=[], j=[]))
        cells = u.rect("x", "y", "w", "h", source=self.cells, fill_color="fill", line_color="white", line_width=0.5)
        u.add_tools(HoverTool(renderers=[cells], tooltips=[("t", "@x"), ("unit", "@j"), ("h_t", "@v{0.000}")]))
        self.signs = ui.sign_marks(u)            # each square's sign by shape too: '+' / '−'
        self.boxes = ColumnDataSource(dict(x=[], y=[], w=[], h=[], fill=[], line=[]))
        u.rect("x", "y", "w", "h", source=self.boxes, fill_color="fill", line_color="line", line_width=1.2)
        self.text = ColumnDataSource(dict(x=[], y=[], text=[], color=[], size=[]))
        u.text("x", "y", text="text", source=self.text, text_align="center", text_baseline="middle",
               text_color="color", text_font_size="size")
        self.side = ColumnDataSource(dict(x=[], y=[], text=[]))
        u.text("x", "y", text="text", source=self.side, text_align="right", text_baseline="middle",
               text_color=theme.MUTED, text_font_size="12px", text_font_style="italic")
        self.fig = u

    def draw(self, u: dict) -> None:
        """``u``: the dict of :meth:`~pyfadml.demos.sequence.SequenceDemo.unfold`."""
        T, H = u["T"], u["h"].shape[1]
        cell_h = 3.0 / H                         # the hidden column spans y in [0, 3]
        h = u["h"]
        t_idx, j_idx = np.meshgrid(np.arange(T), np.arange(H), indexing="ij")     # row-major: t, then unit
        self.cells.data = dict(x=t_idx.ravel().tolist(), y=((j_idx.ravel() + 0.5) * cell_h).tolist(),
                               w=[0.62] * (T * H), h=[cell_h] * (T * H), fill=hex_colors(h),
                               v=h.ravel().astype(float).tolist(), j=j_idx.ravel().tolist())
        bx, by, bw, bh, bf, bl = [], [], [], [], [], []
        tx, ty, tt, tc, ts = [], [], [], [], []
        small = "10px" if T > 14 else "12px"
        for t in range(T):                       # input boxes and time-step numbers
            bx.append(t), by.append(-1.25), bw.append(0.86), bh.append(0.8), bf.append("#f1f5f9"), bl.append(ARROW)
            tx.append(t), ty.append(-1.25), tt.append(u["x_labels"][t]), tc.append(theme.INK), ts.append(small)
            tx.append(t), ty.append(-2.2), tt.append(str(t)), tc.append(theme.MUTED), ts.append("10px")
        for s, t in enumerate(u["out_steps"]):   # outputs (green right, red wrong) and targets above them
            ok = bool(u["correct"][s])
            bx.append(t), by.append(4.35), bw.append(0.86), bh.append(0.8)
            bf.append("#dcfce7" if ok else "#fee2e2"), bl.append("#16a34a" if ok else "#dc2626")
            tx.append(t), ty.append(4.35), tt.append(u["y_labels"][s]), tc.append(theme.INK), ts.append(small)
            tx.append(t), ty.append(5.25), tt.append(u["target_labels"][s]), tc.append(theme.MUTED)
            ts.append("10px" if T > 14 else "11px")
        self.boxes.data = dict(x=bx, y=by, w=bw, h=bh, fill=bf, line=bl)
        self.text.data = dict(x=tx, y=ty, text=tt, color=tc, size=ts)
        x0, y0, x1, y1, hx, hy, ha = [], [], [], [], [], [], []
        for t in range(T):                       # x_t -> h_t and h_t -> h_{t+1}
            x0.append(t), y0.append(-0.85), x1.append(t), y1.append(-0.12)
            hx.append(t), hy.append(-0.14), ha.append(0.0)
            if t < T - 1:
                x0.append(t + 0.31), y0.append(1.5), x1.append(t + 0.66), y1.append(1.5)
                hx.append(t + 0.64), hy.append(1.5), ha.append(-math.pi / 2)
        for t in u["out_steps"]:                 # h_t -> y_t
            x0.append(t), y0.append(3.05), x1.append(t), y1.append(3.9)
            hx.append(t), hy.append(3.88), ha.append(0.0)
        self.arrows.data = dict(x0=x0, y0=y0, x1=x1, y1=y1)
        self.heads.data = dict(x=hx, y=hy, angle=ha)
        self.side.data = dict(x=[-0.55] * 5, y=[5.25, 4.35, 1.75, 1.25, -1.25],
                              text=["target", "output y_t", "hidden h_t", f"({H} units)", "input x_t"])
        f = self.fig
        f.x_range.start, f.x_range.end = -2.3 if T <= 12 else -3.2, T - 0.45
        width = int(min(900, max(560, 70 + T * (62 if T <= 12 else 36))))
        if f.width != width:
            f.width = width
        self.signs.data = ui.sign_bars(f, t_idx, (j_idx + 0.5) * cell_h, h, size=(10, 10), stroke=1.8,
                                       cell=(0.62, cell_h))
