"""Looking inside :class:`~pyfadml.demos.mlp.MLPDemo`: the plane as the network sees it, every hidden neuron's
activation as one picture, and the lecture's backprop quantities of the last step.

A mixin, so the demo's file reads in one sitting: it uses the demo's ``model`` (which captures its last
training step), ``trainer``, ``y_train``, ``grid_size``, ``extent``, ``depth``, ``breadth``, ``activation``,
``n_layers`` and ``step_count``.
"""
from __future__ import annotations

import copy

import numpy as np

from pyfadml._checks import check_int
from pyfadml.losses import softmax, softmax_cross_entropy

__all__ = ["MLPInside", "TILE_STEP", "TILE_GAP"]

TILE_STEP = 2                # a neuron's tile uses every 2nd grid point (60 -> 30 pixels a side)
TILE_GAP = 4                 # empty (NaN) pixels between tiles


class MLPInside:
    """The decision boundary's grid, the hidden neurons' picture and the backprop inspector's numbers."""

    # ------------------------------------------------------------------------------------------
    # what the plane looks like to the network
    # ------------------------------------------------------------------------------------------

    @property
    def grid_axis(self) -> np.ndarray:
        """Centres of the grid cells along x (and y): ``grid_size`` values in ``[-extent, extent]``."""
        g, e = self.grid_size, self.extent
        return -e + (np.arange(g) + 0.5) * (2.0 * e / g)

    def grid(self) -> dict:
        """Evaluate the network on every cell centre of a ``grid_size x grid_size`` grid over the plane.

        Returns ``{"step", "x", "y", "probs", "hidden"}``: ``x``/``y`` the cell centres (G,), ``probs`` (G, G, K)
        the softmax class probabilities with ``probs[i, j]`` at the point ``(x[j], y[i])`` (row i = height y[i],
        the layout of an image), and ``hidden`` a list with one (G, G, breadth) array per hidden layer: each
        neuron's activation ``a^l_j`` over the plane. Cached until the next training step.
        """
        if self._grid_cache is not None and self._grid_cache[0] == self.step_count:
            return self._grid_cache[1]
        axis = self.grid_axis
        g = axis.size
        xx, yy = np.meshgrid(axis, axis)                     # xx[i, j] = x[j], yy[i, j] = y[i]
        a = np.stack([xx.ravel(), yy.ravel()], axis=1)
        hidden = []
        model = self.model
        was_training = model.training
        model.eval()
        try:
            for i, layer in enumerate(model.layers):
                a = layer.forward(a)
                if i % 2 == 1:                           # after each hidden activation
                    hidden.append(a.reshape(g, g, -1))
            probs = softmax(a).reshape(g, g, -1)
        finally:
            if was_training:
                model.train()
        out = {"step": self.step_count, "x": axis, "y": axis, "probs": probs, "hidden": hidden}
        self._grid_cache = (self.step_count, out)
        return out

    def neuron_layout(self, *, step: int = TILE_STEP, gap: int = TILE_GAP) -> dict:
        """Where :meth:`neuron_image` puts each hidden neuron: one row of ``breadth`` tiles per hidden layer
        (layer 1 on top), each tile the grid seen at every ``step``-th point, ``gap`` pixels between tiles.

        Returns ``{"tile", "width", "height", "rows", "cols"}``: a tile's side and the image's size in pixels,
        the y of each layer's row centre (y up: pixel row 0 is the bottom, as the image is plotted) and the
        x of each neuron's column centre."""
        t = self.grid_size // check_int(step, "MLPDemo.neuron_layout: step")
        gap = check_int(gap, "MLPDemo.neuron_layout: gap", minimum=0)
        w, h = self.breadth * t + (self.breadth - 1) * gap, self.depth * t + (self.depth - 1) * gap
        return {"tile": t, "width": w, "height": h,
                "rows": [h - (i * (t + gap) + t / 2) for i in range(self.depth)],
                "cols": [j * (t + gap) + t / 2 for j in range(self.breadth)]}

    def neuron_image(self, *, step: int = TILE_STEP, gap: int = TILE_GAP) -> dict:
        """Every hidden neuron's activation over the plane (:meth:`grid`) as one image laid out by
        :meth:`neuron_layout`, scaled to [-1, 1]: ``2a - 1`` for sigmoid, ``a`` for tanh, and for the
        unbounded (leaky) ReLU ``a`` over the layer's largest ``|a|``. NaN between tiles.

        Returns ``{"image"}`` (height, width) float32, pixel row 0 at the bottom, and the values at 3 x 3
        points of every tile, ``"sign_x"``, ``"sign_y"`` (pixel centres) and ``"sign_v"``, where a picture
        can mark the sign by shape as well as by colour."""
        lay = self.neuron_layout(step=step, gap=gap)
        t, w, h = lay["tile"], lay["width"], lay["height"]
        img = np.full((h, w), np.nan, dtype=np.float32)
        off = step // 2
        for i, a in enumerate(self.grid()["hidden"]):
            a = a[off::step, off::step, :]
            if self.activation == "sigmoid":
                v = 2.0 * a - 1.0
            elif self.activation == "tanh":
                v = a
            else:
                m = float(np.max(np.abs(a))) if a.size else 0.0
                v = a / m if m > 0 and np.isfinite(m) else np.zeros_like(a)
            y0 = h - (i + 1) * t - i * gap           # image row 0 is the bottom
            for j in range(self.breadth):
                img[y0:y0 + t, j * (t + gap):j * (t + gap) + t] = v[:, :, j]
        at = np.arange(3) * t // 3 + t // 6                        # 5, 15, 25 in a 30-pixel tile
        cols = np.concatenate([j * (t + gap) + at for j in range(self.breadth)])
        rows = np.concatenate([h - (i + 1) * t - i * gap + at for i in range(self.depth)])
        r, c = np.meshgrid(rows, cols, indexing="ij")
        return {"image": img, "sign_x": c + 0.5, "sign_y": r + 0.5, "sign_v": img[r, c]}

    # ------------------------------------------------------------------------------------------
    # the backprop inspector
    # ------------------------------------------------------------------------------------------

    def inspect(self, layer: int) -> dict | None:
        """The lecture's backprop quantities of Dense layer ``layer`` (1..L) for step ``k``'s mini-batch.

        ``k = step_count``: the values are those the Trainer computed in its last step (forward with the
        weights before that step's update, then backward), taken from the real layers' outputs, the
        gradients they passed down and their ``grads``. Returns ``None`` before the first step.

        Keys (N = batch size, rows = examples; the lecture's column vectors are these rows transposed):

        ``step``, ``layer``, ``n_layers``, ``is_output``, ``activation`` (name of sigma; "softmax" for the
        output layer), ``x`` (N, 2) the batch, ``y`` (N,) its labels, ``index`` (N,) its rows in ``X_train``,
        ``a_prev`` (N, n_{l-1}) = a^{l-1} (x for l = 1), ``W`` (n_l, n_{l-1}) and ``b`` (n_l,) before the update,
        ``z`` (N, n_l), ``a`` (N, n_l) = sigma(z) (softmax for the output layer), ``delta`` (N, n_l) = dL/dz^l,
        ``dW`` (n_l, n_{l-1}) and ``db`` (n_l,) the layer's grads,
        ``delta_prev`` (N, n_{l-1}) = dL/dz^{l-1} as backprop computed it, ``z_prev`` (N, n_{l-1}) and
        ``sigma_prime_prev`` = sigma'(z^{l-1}) and ``delta_prev_formula`` = (W^l)^T delta^l * sigma'(z^{l-1})
        evaluated directly from those arrays (these four are ``None`` for l = 1: x has no activation),
        ``delta_prev_diff`` the largest difference between the two and ``delta_prev_agrees`` whether it is
        rounding error (at most 1e-12 of the largest ``|delta_prev|``; both ``None`` for l = 1),
        ``loss`` the batch loss.
        """
        L = self.n_layers
        layer = check_int(layer, "MLPDemo.inspect: layer")
        if layer > L:
            raise ValueError(f"MLPDemo.inspect: layer must be between 1 and L={L}, got {layer}")
        cap = self.model.capture
        if cap is None or self.step_count == 0:
            return None
        outs, gout, params, grads = cap["outputs"], cap["grads_out"], cap["params"], cap["grads"]
        d = 2 * (layer - 1)                        # index of Dense layer l in model.layers
        x = outs[0]
        z_L = outs[-1]
        is_output = layer == L
        z = outs[d + 1]
        if is_output:
            a = softmax(z)
            sigma = "softmax"
        else:
            a = outs[d + 2]
            sigma = self.activation
        delta = gout[d]                            # dL/d(output of Dense l) = dL/dz^l
        index = self.trainer.last_batch
        y = self.y_train[index]
        loss, _ = softmax_cross_entropy(z_L, y)
        out = {
            "step": self.step_count, "layer": layer, "n_layers": L, "is_output": is_output,
            "activation": sigma, "x": x, "y": y, "index": index, "loss": loss,
            "a_prev": outs[d], "W": params[d]["W"], "b": params[d]["b"],
            "z": z, "a": a, "delta": delta,
            "dW": grads[d]["W"], "db": grads[d]["b"],
            "delta_prev": None, "z_prev": None, "sigma_prime_prev": None, "delta_prev_formula": None,
        }
        if layer > 1:
            act = self.model.layers[d - 1]          # the activation of layer l-1
            z_prev = outs[d - 1]
            out["z_prev"] = z_prev
            out["sigma_prime_prev"] = act.derivative(z_prev)
            out["delta_prev"] = gout[d - 2]         # dL/d(output of Dense l-1) = dL/dz^{l-1}
            # the lecture's formula evaluated directly, beside what backprop passed down
            out["delta_prev_formula"] = (delta @ params[d]["W"]) * out["sigma_prime_prev"]
        return _compare_back(out)

    def inspect_example(self, layer: int, n: int = 1) -> dict | None:
        """The lecture's per-example backprop (N = 1) for example ``n`` (1-based) of step ``k``'s mini-batch.

        The lecture writes one example as a column vector and its own loss ``L_n`` (no mean over a batch):
        ``delta^L = a^L - y`` (y one-hot), ``dL/dW^l = delta^l (a^{l-1})^T``, ``dL/db^l = delta^l``. These are
        computed here by a real forward and backward pass of the library's layers on that one example, with
        the weights step ``k`` started from (copies of the model's layers holding the captured parameters),
        so nothing of the live model is touched.

        Returns the keys of :meth:`inspect` (arrays with N = 1; ``loss`` is ``L_n``) plus ``n``,
        ``batch_size`` (N of the step), ``dW_batch`` and ``db_batch`` (the step's mean-loss gradients, which
        equal the mean over the batch of the per-example ones: :meth:`example_mean_diff`). ``None`` before
        the first step.
        """
        batch = self.inspect(layer)
        if batch is None:
            return None
        N = int(batch["x"].shape[0])
        n = check_int(n, "MLPDemo.inspect_example: n")
        if n > N:
            raise ValueError(f"MLPDemo.inspect_example: n must be between 1 and the batch size {N}, got {n}")
        cap = self.model.capture
        layers = copy.deepcopy(self.model.layers)
        for lay, saved in zip(layers, cap["params"]):
            for k, v in saved.items():
                lay.params[k] = v.copy()
        x = batch["x"][n - 1:n]
        y = batch["y"][n - 1:n]
        outs = [x]
        for lay in layers:
            outs.append(lay.forward(outs[-1]))
        loss, dz = softmax_cross_entropy(outs[-1], y)              # N = 1: dz = softmax(z^L) - onehot(y)
        gout = [None] * len(layers)
        g = dz
        for i in range(len(layers) - 1, -1, -1):
            gout[i] = g
            g = layers[i].backward(g)
        d = 2 * (layer - 1)
        out = dict(batch)
        out.update({
            "n": n, "batch_size": N, "x": x, "y": y, "index": batch["index"][n - 1:n], "loss": loss,
            "a_prev": outs[d], "z": outs[d + 1], "a": softmax(outs[d + 1]) if batch["is_output"] else outs[d + 2],
            "delta": gout[d], "dW": layers[d].grads["W"].copy(), "db": layers[d].grads["b"].copy(),
            "dW_batch": batch["dW"], "db_batch": batch["db"],
        })
        if layer > 1:
            act = layers[d - 1]
            out["z_prev"] = outs[d - 1]
            out["sigma_prime_prev"] = act.derivative(outs[d - 1])
            out["delta_prev"] = gout[d - 2]
            out["delta_prev_formula"] = (gout[d] @ layers[d].params["W"]) * out["sigma_prime_prev"]
        return _compare_back(out)

    def example_mean_diff(self, layer: int) -> float | None:
        """The largest difference between the step's ``dL/dW^l`` and the mean over its mini-batch of the
        per-example gradients of :meth:`inspect_example` (rounding error: the mean loss's gradient is the
        mean of the examples' gradients). ``None`` before the first step."""
        batch = self.inspect(layer)
        if batch is None:
            return None
        per = [self.inspect_example(layer, n)["dW"] for n in range(1, batch["x"].shape[0] + 1)]
        return float(np.max(np.abs(np.mean(per, axis=0) - batch["dW"])))


def _compare_back(out: dict) -> dict:
    """``out`` with ``delta_prev_diff`` and ``delta_prev_agrees``: backprop's delta^{l-1} against the formula."""
    out["delta_prev_diff"] = out["delta_prev_agrees"] = None
    if out["delta_prev"] is not None:
        diff = float(np.max(np.abs(out["delta_prev"] - out["delta_prev_formula"])))
        scale = float(np.max(np.abs(out["delta_prev"]))) or 1.0
        out["delta_prev_diff"], out["delta_prev_agrees"] = diff, diff <= 1e-12 * scale + 1e-300
    return out
