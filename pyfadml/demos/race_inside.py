"""Looking inside :class:`~pyfadml.demos.gradients.GradientRace`: how far back each model's gradient reaches
over a run, and the LSTM's gates on one test sequence.

A mixin, so the race's file reads in one sitting: it uses the race's ``grad_rows`` and ``grad_steps`` (one
row of ``||dL/dh_t||`` per training step and model), ``T``, ``models``, ``layers``, ``X_test``, ``y_test``,
``n_test`` and ``step_count``.
"""
from __future__ import annotations

import math

import numpy as np

from pyfadml._checks import check_bool, check_choice, check_int
from pyfadml.losses import softmax

__all__ = ["RaceInside", "relative_norms", "log_decades"]

MODELS = ("RNN", "LSTM")


def relative_norms(norms: np.ndarray) -> np.ndarray:
    """``norms (R, T)`` with each row divided by its last entry (NaN where that is 0 or not finite)."""
    norms = np.asarray(norms, dtype=np.float64)
    last = norms[:, -1:]
    ok = np.isfinite(last) & (last > 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(ok, norms / np.where(ok, last, 1.0), np.nan)


def log_decades(values) -> tuple[float, float] | None:
    """The whole powers of ten around the finite positive ``values`` (at least one decade apart), for a log
    axis; None when there is none."""
    seen = [v for v in values if v > 0 and math.isfinite(v)]
    if not seen:
        return None
    lo, hi = math.floor(math.log10(min(seen))), math.ceil(math.log10(max(seen)))
    return 10.0 ** lo, 10.0 ** max(hi, lo + 1)


class RaceInside:
    """The gradient heatmaps of both models and the LSTM's gates."""

    def grad_heatmap(self, name: str, *, max_rows: int | None = None, relative: bool = False,
                     spread: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """``(steps (R,), norms (R, T))``: ``norms[r, t] = ||dL/dh_t||`` (batch mean) at training step
        ``steps[r]`` for model ``name``; with ``max_rows``, only the last ``max_rows`` rows (``spread``:
        ``max_rows`` rows evenly spread over the whole run, the first and the last included).

        ``relative=True``: each row divided by its last entry, ``||dL/dh_t|| / ||dL/dh_T||`` (the fraction
        of the gradient at the loss that reaches time step t). This is the honest picture over a whole run:
        once a model has learned the task its loss, and so every gradient, is small, and an absolute colour
        scale would paint it dark although its gradient still reaches the first steps undiminished."""
        check_choice(name, "model", MODELS)
        relative = check_bool(relative, "GradientRace.grad_heatmap: relative")
        rows, steps = self.grad_rows[name], self.grad_steps[name]
        if max_rows is not None:
            max_rows = check_int(max_rows, "GradientRace.grad_heatmap: max_rows")
            if spread and len(rows) > max_rows:             # evenly spread rows, picked before stacking them
                idx = np.linspace(0, len(rows) - 1, max_rows).round().astype(np.intp)
                rows, steps = [rows[i] for i in idx], [steps[i] for i in idx]
            rows, steps = rows[-max_rows:], steps[-max_rows:]
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, self.T))
        norms = np.stack(rows)
        if relative:
            norms = relative_norms(norms)
        return np.array(steps, dtype=np.int64), norms

    def log_heatmap(self, name: str, *, relative: bool, max_rows: int | None = None, floor: float = -np.inf) -> dict:
        """:meth:`grad_heatmap` of ``max_rows`` rows spread over the run, as a picture draws it.

        Returns ``{"steps", "image", "low", "high", "profile", "rows", "finite_cols"}``: ``image`` (R, T) the
        log10 of the norms (``relative``: of ``||dL/dh_t|| / ||dL/dh_T||``) with a zero norm at ``floor``;
        ``low``/``high`` the training steps it spans (half a step beyond the first and last row);
        ``profile`` the latest step's ``||dL/dh_t||`` (NaN where not positive and finite, all NaN before the
        first step); ``rows`` = R and ``finite_cols`` the time steps finite in every row."""
        steps, norms = self.grad_heatmap(name, max_rows=max_rows, spread=True)
        if not len(steps):
            return {"steps": steps, "image": np.full((0, self.T), np.nan), "low": 0.0, "high": 1.0,
                    "profile": [math.nan] * self.T, "rows": 0, "finite_cols": 0}
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            image = np.log10(relative_norms(norms) if check_bool(relative, "relative") else norms)
        return {"steps": steps, "image": np.where(np.isneginf(image), floor, image),
                "low": float(steps[0]) - 0.5, "high": float(steps[-1]) + 0.5,
                "profile": [float(v) if v > 0 and math.isfinite(v) else math.nan for v in norms[-1]],
                "rows": len(steps), "finite_cols": int(np.sum(np.all(np.isfinite(norms), axis=0)))}

    def reach(self, name: str) -> float:
        """``||dL/dh_1|| / ||dL/dh_T||`` of the latest training step (time steps counted from 1, the loss at
        ``T``): how much of the gradient at the loss reaches the first hidden state. Far below 1: it
        vanished; far above: it exploded. NaN before the first step (or for a zero gradient at ``T``)."""
        check_choice(name, "model", MODELS)
        rows = self.grad_rows[name]
        if not rows:
            return math.nan
        return float(relative_norms(rows[-1][None])[0, 0])

    def gates(self, index: int = 0) -> dict:
        """The LSTM's inside on test sequence ``index``, with the current weights (one eval forward pass).

        Returns ``{"step", "index", "x" (T, D), "label" (the class to recall), "gates": {"i","f","o","g"} each
        (T, H), "c" (T, H) cell states, "h" (T, H) hidden states, "probs" (K,) the LSTM's prediction}`` -
        the arrays are the library layer's ``gates``, ``cells`` and ``hiddens`` after that forward.
        """
        index = check_int(index, "GradientRace.gates: index", minimum=0)
        if index >= self.n_test:
            raise ValueError(f"GradientRace.gates: index must be < n_test ({self.n_test}), got {index}")
        model = self.models["LSTM"]
        x = self.X_test[index]
        logits = model.predict(x[None])
        layer = self.layers["LSTM"]
        return {"step": self.step_count, "index": index, "x": x.copy(), "label": int(self.y_test[index]),
                "gates": {k: v[0].copy() for k, v in layer.gates.items()}, "c": layer.cells[0].copy(),
                "h": layer.hiddens[0].copy(), "probs": softmax(logits)[0]}

    def gate_values(self, gates: dict, t: int, unit: int) -> dict:
        """From :meth:`gates`: unit ``unit``'s ``i, f, o, g``, its cell and hidden state ``c, h`` at time step
        ``t`` and those of the step before, ``c_prev, h_prev`` (0 at t = 0: the states start at zero)."""
        T, H = gates["c"].shape
        t, unit = check_int(t, "t", minimum=0), check_int(unit, "unit", minimum=0)
        if t >= T or unit >= H:
            raise ValueError(f"GradientRace.gate_values: t must be < {T} and unit < {H}, got {t} and {unit}")
        v = {k: float(gates["gates"][k][t, unit]) for k in "ifog"}
        v["c"], v["h"] = float(gates["c"][t, unit]), float(gates["h"][t, unit])
        v["c_prev"] = float(gates["c"][t - 1, unit]) if t > 0 else 0.0
        v["h_prev"] = float(gates["h"][t - 1, unit]) if t > 0 else 0.0
        return v
