"""Looking inside :class:`~pyfadml.demos.cnn.CNNDemo`: feature maps, occlusion, the patches each feature likes.

The lecture's hierarchy read back from a trained network (level 1: edges; level 2: boundaries and parts) and
its "explainability" question (which pixels does the decision depend on?). A mixin, so the demo's file reads
in one sitting: it uses the demo's ``model``, ``_as_batch``, ``predict_proba``, ``image_size``,
``kernel_size`` and test set.
"""
from __future__ import annotations

import numpy as np

from pyfadml._checks import check_float, check_int
from pyfadml.losses import softmax

__all__ = ["LookInside"]


class LookInside:
    """What each layer makes of an input, and what the decision depends on."""

    def feature_maps(self, image) -> list[dict]:
        """Run one image through the network and keep every layer's output.

        ``image``: (H, W), (1, H, W) or (1, 1, H, W). Returns a list of dicts ``{"name", "label", "maps"}`` in
        order: ``input``; ``conv1``, ``relu1``, ``pool1`` (level 1, maps (f1, H, W) then (f1, H/2, W/2));
        ``conv2``, ``relu2``, ``pool2`` (level 2); ``probs`` (K,) the class probabilities. All float64.
        """
        x = self._as_batch(image, "CNNDemo.feature_maps")[:1]
        names = ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2"]
        labels = ["level 1: convolution", "level 1: ReLU (edges)", "level 1: max pool",
                  "level 2: convolution", "level 2: ReLU (boundaries, parts)", "level 2: max pool"]
        out = [{"name": "input", "label": "input", "maps": x[0].astype(np.float64)}]
        model = self.model
        was_training = model.training
        model.eval()
        try:
            a = x
            for i, layer in enumerate(model.layers):
                a = layer.forward(a)
                if i < len(names):
                    out.append({"name": names[i], "label": labels[i], "maps": a[0].astype(np.float64)})
            probs = softmax(a.astype(np.float64))[0]
        finally:
            if was_training:
                model.train()
        out.append({"name": "probs", "label": "class probabilities", "maps": probs})
        return out

    def occlusion(self, image, *, patch: int = 4, fill: float = 0.0) -> dict:
        """Which pixels the decision depends on: slide a ``patch`` x ``patch`` square of ``fill`` (0: the
        background) over ``image`` (H, W) and measure how much the predicted class's log-probability drops.

        Every position (stride 1) is one occluded copy, all predicted in one batch. The drop is measured in
        log-probability (nats) so that it stays visible for a confident network (a probability of 0.9999
        that falls to 0.99 is a drop of 0.0099 in probability but 0.01 in log-probability, and one that
        falls to 0.5 a drop of 0.69). Returns ``{"map" (H, W): each pixel's mean drop over the patches that
        cover it (positive: hiding it lowers the probability), "drops" (H - patch + 1, W - patch + 1) per
        patch position, "class" (the predicted class index), "prob" (its probability on the intact image),
        "min_prob" (its lowest probability under any patch), "ink_pixels" (the share of the image's pixels
        that are ink: at least half its darkest value), "ink_share" (the share of the map's positive drop
        that lies on those pixels: NaN when nothing drops)}``.
        """
        x = self._as_batch(image, "CNNDemo.occlusion")[:1]
        s = self.image_size
        patch = check_int(patch, "CNNDemo.occlusion: patch")
        if patch > s:
            raise ValueError(f"CNNDemo.occlusion: patch must be between 1 and the image size {s}, got {patch}")
        fill = check_float(fill, "CNNDemo.occlusion: fill")
        p0 = self.predict_proba(x)[0]
        k = int(np.argmax(p0))
        n = s - patch + 1
        batch = np.repeat(x, n * n, axis=0)
        for i in range(n):
            for j in range(n):
                batch[i * n + j, 0, i:i + patch, j:j + patch] = fill
        logits = self.model.predict(batch).astype(np.float64)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted[:, k] - np.log(np.exp(shifted).sum(axis=1))
        z0 = self.model.predict(x).astype(np.float64)[0]
        log_p0 = float(z0[k] - z0.max() - np.log(np.exp(z0 - z0.max()).sum()))
        drops = (log_p0 - log_p).reshape(n, n)
        total = np.zeros((s, s))
        count = np.zeros((s, s))
        for i in range(n):
            for j in range(n):
                total[i:i + patch, j:j + patch] += drops[i, j]
                count[i:i + patch, j:j + patch] += 1.0
        drop_map = total / count
        ink = x[0, 0] > 0.5 * x[0, 0].max()
        pos = np.clip(drop_map, 0.0, None)
        return {"map": drop_map, "drops": drops, "class": k, "prob": float(p0[k]),
                "min_prob": float(np.exp(log_p.min())), "ink_pixels": float(np.mean(ink)),
                "ink_share": float(pos[ink].sum() / pos.sum()) if pos.sum() > 0 else float("nan")}

    def top_patches(self, level: int = 2, *, k: int = 4, n_images: int | None = 300) -> dict:
        """The test-set inputs that excite each feature of ``level`` most (the lecture's hierarchy, read back).

        ``level`` 1 or 2: for each channel of that conv layer (after ReLU) the ``k`` strongest responses
        over every position of the first ``n_images`` test images, and the input patch each one sees: its
        *receptive field*, 3x3 pixels at level 1 and 8x8 at level 2 (conv 3x3, pool 2x2, conv 3x3; zero
        outside the image). ``level`` 3, the dense layer: its units are the classes, and the "patch" is the
        whole test image that scores highest for each class (a shape). Returns ``{"level", "patches" (C, k,
        r, r), "values" (C, k) the activations, "where" (C, k, 3) image index, row, column of each, "size"
        r}``. With a 5x5 kernel the fields are 5x5 and 14x14.
        """
        level = check_int(level, "CNNDemo.top_patches: level")
        if level not in (1, 2, 3):
            raise ValueError(f"CNNDemo.top_patches: level must be 1, 2 or 3, got {level}")
        k = check_int(k, "CNNDemo.top_patches: k")
        n = len(self.y_test) if n_images is None else min(check_int(n_images, "CNNDemo.top_patches: n_images"),
                                                          len(self.y_test))
        X = self.X_test[:n]
        model = self.model
        was_training = model.training
        model.eval()
        try:
            a = X
            acts = {}
            for i, layer in enumerate(model.layers):
                a = layer.forward(a)
                if i == 1:
                    acts[1] = a
                elif i == 4:
                    acts[2] = a
            acts[3] = a[:, :, None, None]             # logits (n, K) as (n, K, 1, 1)
        finally:
            if was_training:
                model.train()
        A = acts[level].astype(np.float64)            # (n, C, h, w)
        C, h, w = A.shape[1:]
        kk = self.kernel_size
        size = {1: kk, 2: 2 * kk + 2, 3: self.image_size}[level]
        flat = A.transpose(1, 0, 2, 3).reshape(C, -1)
        k = min(k, flat.shape[1])
        order = np.argsort(-flat, axis=1, kind="stable")[:, :k]
        s = self.image_size
        pad = size
        padded = np.zeros((n, s + 2 * pad, s + 2 * pad))
        padded[:, pad:pad + s, pad:pad + s] = X[:, 0]
        patches = np.zeros((C, k, size, size))
        where = np.zeros((C, k, 3), dtype=np.int64)
        for c in range(C):
            for r, idx in enumerate(order[c]):
                img, rest = divmod(int(idx), h * w)
                i, j = divmod(rest, w)
                if level == 3:
                    top, left = 0, 0
                elif level == 1:
                    top, left = i - kk // 2, j - kk // 2
                else:                                 # conv2 output (i, j) sees pool rows i-p..i+p, 2 pixels each
                    top, left = 2 * (i - kk // 2) - kk // 2, 2 * (j - kk // 2) - kk // 2
                patches[c, r] = padded[img, pad + top:pad + top + size, pad + left:pad + left + size]
                where[c, r] = (img, i, j)
        values = np.take_along_axis(flat, order, axis=1)
        return {"level": level, "patches": patches, "values": values, "where": where, "size": size}
