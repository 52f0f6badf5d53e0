"""Benchmark: milliseconds per training step of each demo model, pyfadml vs PyTorch CPU.

One step = zero grads, forward, loss, backward, Adam update, on one mini-batch of random data of the
demo's shape. pyfadml runs in float64 (its default) and float32 (``model.astype``); PyTorch, where it is
importable, runs the same architecture with ``torch.set_num_threads(1)`` in float32 and float64.
BLAS is limited to one thread as well (as in the browser, where Pyodide has a single thread), so the
comparison is one core against one core.

Run:  .venv/bin/python tests/bench/bench_core.py [--seconds 0.3] [--only mlp,cnn16]

Not collected by pytest (the name is not test_*.py); it asserts nothing and only prints a table.
"""
from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy (and torch) load their BLAS

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pyfadml import (  # noqa: E402
    LSTM, RNN, VAE, Adam, Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential, half_squared_error,
    softmax_cross_entropy,
)

try:
    import torch
    from torch import nn
except ImportError:  # the benchmark still runs, pyfadml columns only
    torch = None


# ---------------------------------------------------------------- the demo models, as specs
# Each spec: input shape (without batch), batch size, number of classes (None: autoencoder), and builders.
def _cnn_out(size: int) -> int:
    # conv k3 pad 1 keeps the size, each pool halves it: 16 -> 8 -> 4, 8 -> 4 -> 2
    return 16 * (size // 4) ** 2


def pf_mlp(rng):
    return Sequential([Dense(2, 16, rng=rng, init="he"), ReLU(), Dense(16, 16, rng=rng, init="he"), ReLU(),
                       Dense(16, 2, rng=rng)])


def pf_cnn(size: int, k: int):
    def build(rng):
        return Sequential([Conv2D(1, 8, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2),
                           Conv2D(8, 16, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2), Flatten(),
                           Dense(_cnn_out(size), k, rng=rng)])
    return build


def pf_rnn(cell):
    def build(rng):
        return Sequential([cell(1, 32, rng=rng), Dense(32, 2, rng=rng)])
    return build


def pf_vae(rng):
    return VAE(64, 2, hidden=(64,), rng=rng)


SPECS = {
    "mlp":     dict(label="MLP 2-16-16-2, batch 32", shape=(2,), batch=32, k=2, pf=pf_mlp),
    "cnn16":   dict(label="CNN 1x16x16, batch 32", shape=(1, 16, 16), batch=32, k=6, pf=pf_cnn(16, 6)),
    "cnn8":    dict(label="CNN 1x8x8 digits, batch 32", shape=(1, 8, 8), batch=32, k=10, pf=pf_cnn(8, 10)),
    "rnn20":   dict(label="RNN H=32 T=20, batch 32", shape=(20, 1), batch=32, k=2, pf=pf_rnn(RNN)),
    "rnn50":   dict(label="RNN H=32 T=50, batch 32", shape=(50, 1), batch=32, k=2, pf=pf_rnn(RNN)),
    "lstm20":  dict(label="LSTM H=32 T=20, batch 32", shape=(20, 1), batch=32, k=2, pf=pf_rnn(LSTM)),
    "lstm50":  dict(label="LSTM H=32 T=50, batch 32", shape=(50, 1), batch=32, k=2, pf=pf_rnn(LSTM)),
    "vae":     dict(label="VAE 64-64-2, batch 64", shape=(64,), batch=64, k=None, pf=pf_vae),
}


def make_data(spec, rng):
    x = rng.random((spec["batch"], *spec["shape"]))
    y = x.copy() if spec["k"] is None else rng.integers(0, spec["k"], spec["batch"])
    return x, y


# ---------------------------------------------------------------- pyfadml step
def pyfadml_step_fn(spec, dtype):
    rng = np.random.default_rng(0)
    model = spec["pf"](rng).astype(dtype)
    x, y = make_data(spec, np.random.default_rng(1))
    x = x.astype(dtype)
    if spec["k"] is None:
        y = y.astype(dtype)
    loss_fn = half_squared_error if spec["k"] is None else softmax_cross_entropy
    opt = Adam(lr=1e-3)

    def step():
        model.zero_grad()
        out = model.forward(x)
        loss, dout = loss_fn(out, y)
        if hasattr(model, "aux_loss"):
            loss += model.aux_loss()
        model.backward(dout)
        opt.step(model.parameters())
        return loss

    return step


# ---------------------------------------------------------------- torch twins
def torch_model(name, spec):
    if name == "mlp":
        return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2))
    if name.startswith("cnn"):
        size = spec["shape"][-1]
        return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(_cnn_out(size), spec["k"]))
    if name.startswith(("rnn", "lstm")):
        cell = nn.RNN if name.startswith("rnn") else nn.LSTM

        class Many2One(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = cell(1, 32, batch_first=True)
                self.out = nn.Linear(32, 2)

            def forward(self, x):
                h, _ = self.rnn(x)
                return self.out(h[:, -1])

        return Many2One()
    if name == "vae":
        class TorchVAE(nn.Module):
            def __init__(self):
                super().__init__()
                self.enc = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))
                self.dec = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.Sigmoid())

            def forward(self, x):
                mu, logvar = self.enc(x).chunk(2, dim=1)
                z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
                self.kl = (-0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(dim=1)).mean()
                return self.dec(z)

        return TorchVAE()
    raise KeyError(name)


def torch_step_fn(name, spec, dtype):
    torch.manual_seed(0)
    model = torch_model(name, spec).to(dtype)
    x, y = make_data(spec, np.random.default_rng(1))
    xt = torch.tensor(x, dtype=dtype)
    if spec["k"] is None:
        yt = torch.tensor(y, dtype=dtype)
    else:
        yt = torch.tensor(y, dtype=torch.long)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    ce = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        out = model(xt)
        if spec["k"] is None:
            loss = 0.5 * ((out - yt) ** 2).sum(dim=1).mean() + model.kl
        else:
            loss = ce(out, yt)
        loss.backward()
        opt.step()
        return loss.item()

    return step


# ---------------------------------------------------------------- timing
def ms_per_step(step, seconds: float) -> float:
    """Best of 5 rounds of the mean time per step, each round ~seconds/5 long, after a warm-up."""
    for _ in range(3):
        step()
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < 0.05 or n < 3:
        step()
        n += 1
    per = (time.perf_counter() - t0) / n
    reps = max(3, int(seconds / 5 / per))
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            step()
        best = min(best, (time.perf_counter() - t0) / reps)
    return 1000.0 * best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per measurement (default 0.5 s)")
    parser.add_argument("--only", default="", help="comma-separated model keys: " + ",".join(SPECS))
    args = parser.parse_args(argv)
    keys = [k for k in args.only.split(",") if k] or list(SPECS)
    for k in keys:
        if k not in SPECS:
            parser.error(f"unknown model {k!r}; choose from {','.join(SPECS)}")
    if torch is not None:
        torch.set_num_threads(1)

    print(f"numpy {np.__version__}" + (f", torch {torch.__version__} (1 thread)" if torch else ", torch not importable")
          + "; BLAS threads: " + os.environ.get("OPENBLAS_NUM_THREADS", "?"))
    print("ms per training step (forward + loss + backward + Adam), best of 5 rounds\n")
    head = (f"{'model':<28}{'pf f64':>9}{'pf f32':>9}" +
            (f"{'torch f32':>11}{'torch f64':>11}{'f32 ratio':>11}{'f64 ratio':>11}" if torch else ""))
    print(head)
    print("-" * len(head))
    for k in keys:
        spec = SPECS[k]
        pf64 = ms_per_step(pyfadml_step_fn(spec, np.float64), args.seconds)
        pf32 = ms_per_step(pyfadml_step_fn(spec, np.float32), args.seconds)
        row = f"{spec['label']:<28}{pf64:>9.3f}{pf32:>9.3f}"
        if torch is not None:
            t32 = ms_per_step(torch_step_fn(k, spec, torch.float32), args.seconds)
            t64 = ms_per_step(torch_step_fn(k, spec, torch.float64), args.seconds)
            row += f"{t32:>11.3f}{t64:>11.3f}{pf32 / t32:>10.2f}x{pf64 / t64:>10.2f}x"
        print(row, flush=True)
    if torch is not None:
        print("\nratio = pyfadml time / torch time at the same dtype (> 1: pyfadml is slower)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
