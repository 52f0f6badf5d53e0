"""Benchmark: milliseconds per training step of each demo model, pyfadml vs PyTorch CPU, at the demo's sizes
and at 4x the sizes, side by side in one run.

One step = zero grads, forward, loss, backward, Adam update, on one mini-batch of random data of the
demo's shape. pyfadml runs in float32 (``model.astype``; ``--f64`` adds float64); PyTorch, where it is
importable, runs the same architecture with ``torch.set_num_threads(1)`` at the same dtype. BLAS is limited
to one thread as well (as in the browser, where Pyodide has a single thread), so the comparison is one core
against one core. "4x" = 4x the batch and 4x every width (hidden units, conv filters, the MLP's and VAE's
hidden layers); the input shape (T, image size, features) is the demo's. pyfadml and torch are timed in
interleaved rounds, so a change of the machine's load hits both alike; the ratio is the figure to read.
The clock is the process's CPU time (``--clock wall`` for elapsed time): with one thread each, it is the time
the step needs on a core, and other jobs on the machine inflate it far less than they inflate elapsed time.

Run:  .venv/bin/python tests/bench/bench_core.py [--seconds 0.5] [--only mlp,cnn16] [--scales 1,4] [--f64] [--clock cpu]
      [--repeats 5]

``--repeats R`` measures every cell R times (each time best of 5 interleaved rounds, fresh models) and prints
the medians of the times and of the ratios, with the range of the ratios: on a shared machine one
measurement can be off by 10-20 %, the median of five rarely is.

The first line names NumPy's BLAS kernel (threadpoolctl). OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, if set in
the environment, force an older kernel; to compare against what a current NumPy does on this CPU, unset them
for the benchmark command alone:  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python ...

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
# Each spec: input shape (without batch), batch size, number of classes (None: autoencoder), the width ``w``
# (hidden units, or the first conv layer's filters) and builders. ``scaled(spec, s)`` multiplies the batch and
# every width by s and keeps the input shape (T, the image size, the data's features), which a demo's task
# fixes: "4x the sizes" = 4x the batch and 4x the widths.
def _cnn_out(size: int, w: int) -> int:
    # conv k3 pad 1 keeps the size, each pool halves it: 16 -> 8 -> 4, 8 -> 4 -> 2; conv2 has 2w filters
    return 2 * w * (size // 4) ** 2


def pf_mlp(spec, rng):
    w = spec["w"]
    return Sequential([Dense(2, w, rng=rng, init="he"), ReLU(), Dense(w, w, rng=rng, init="he"), ReLU(),
                       Dense(w, 2, rng=rng)])


def pf_cnn(spec, rng):
    w, size = spec["w"], spec["shape"][-1]
    return Sequential([Conv2D(1, w, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2),
                       Conv2D(w, 2 * w, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2), Flatten(),
                       Dense(_cnn_out(size, w), spec["k"], rng=rng)])


def pf_rnn(spec, rng):
    cell = LSTM if spec["cell"] == "lstm" else RNN
    return Sequential([cell(1, spec["w"], rng=rng), Dense(spec["w"], 2, rng=rng)])


def pf_vae(spec, rng):
    return VAE(64, 2, hidden=(spec["w"],), rng=rng)


SPECS = {
    "mlp":    dict(label="MLP 2-{w}-{w}-2", shape=(2,), batch=32, k=2, w=16, pf=pf_mlp),
    "cnn16":  dict(label="CNN 1x16x16 {w}/{w2}f", shape=(1, 16, 16), batch=32, k=6, w=8, pf=pf_cnn),
    "cnn8":   dict(label="CNN 1x8x8 {w}/{w2}f", shape=(1, 8, 8), batch=32, k=10, w=8, pf=pf_cnn),
    "rnn20":  dict(label="RNN H={w} T=20", shape=(20, 1), batch=32, k=2, w=32, cell="rnn", pf=pf_rnn),
    "rnn50":  dict(label="RNN H={w} T=50", shape=(50, 1), batch=32, k=2, w=32, cell="rnn", pf=pf_rnn),
    "lstm20": dict(label="LSTM H={w} T=20", shape=(20, 1), batch=32, k=2, w=32, cell="lstm", pf=pf_rnn),
    "lstm50": dict(label="LSTM H={w} T=50", shape=(50, 1), batch=32, k=2, w=32, cell="lstm", pf=pf_rnn),
    "vae":    dict(label="VAE 64-{w}-2", shape=(64,), batch=64, k=None, w=64, pf=pf_vae),
}


def scaled(spec: dict, s: int) -> dict:
    """The spec with s times the batch and s times every width."""
    out = dict(spec, batch=spec["batch"] * s, w=spec["w"] * s)
    out["label"] = spec["label"].format(w=out["w"], w2=2 * out["w"]) + f", batch {out['batch']}"
    return out


def make_data(spec, rng):
    x = rng.random((spec["batch"], *spec["shape"]))
    y = x.copy() if spec["k"] is None else rng.integers(0, spec["k"], spec["batch"])
    return x, y


# ---------------------------------------------------------------- pyfadml step
def pyfadml_step_fn(spec, dtype):
    rng = np.random.default_rng(0)
    model = spec["pf"](spec, rng).astype(dtype)
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
    w = spec["w"]
    if name == "mlp":
        return nn.Sequential(nn.Linear(2, w), nn.ReLU(), nn.Linear(w, w), nn.ReLU(), nn.Linear(w, 2))
    if name.startswith("cnn"):
        size = spec["shape"][-1]
        return nn.Sequential(nn.Conv2d(1, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(_cnn_out(size, w), spec["k"]))
    if name.startswith(("rnn", "lstm")):
        cell = nn.RNN if name.startswith("rnn") else nn.LSTM

        class Many2One(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = cell(1, w, batch_first=True)
                self.out = nn.Linear(w, 2)

            def forward(self, x):
                h, _ = self.rnn(x)
                return self.out(h[:, -1])

        return Many2One()
    if name == "vae":
        class TorchVAE(nn.Module):
            def __init__(self):
                super().__init__()
                self.enc = nn.Sequential(nn.Linear(64, w), nn.ReLU(), nn.Linear(w, 4))
                self.dec = nn.Sequential(nn.Linear(2, w), nn.ReLU(), nn.Linear(w, 64), nn.Sigmoid())

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
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
clock = time.process_time


def _reps(step, seconds: float) -> int:
    """Warm up, then the number of steps that take about ``seconds``."""
    for _ in range(3):
        step()
    t0 = clock()
    n = 0
    while clock() - t0 < 0.05 or n < 3:
        step()
        n += 1
    return max(3, int(seconds / ((clock() - t0) / n)))


def ms_per_step(steps: dict, seconds: float, rounds: int = 5) -> dict:
    """``{name: ms per step}`` for several step functions, best of ``rounds`` rounds each.

    The rounds are interleaved (a, b, a, b, ...) so that a change in the machine's load hits every
    contender alike, and each round lasts ~seconds/rounds.
    """
    reps = {k: _reps(f, seconds / rounds) for k, f in steps.items()}
    best = dict.fromkeys(steps, float("inf"))
    for _ in range(rounds):
        for k, f in steps.items():
            t0 = clock()
            for _ in range(reps[k]):
                f()
            best[k] = min(best[k], (clock() - t0) / reps[k])
    return {k: 1000.0 * v for k, v in best.items()}


def blas_kernel() -> str:
    """NumPy's BLAS and the kernel it picked (OPENBLAS_CORETYPE forces one), via threadpoolctl if installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    for info in threadpool_info():
        if info.get("user_api") == "blas" and "numpy" in info.get("filepath", ""):
            return f"{info.get('internal_api')} {info.get('version')} kernel {info.get('architecture')}"
    return "numpy BLAS not found by threadpoolctl"


TARGETS = {1: 1.0, 4: 1.5}  # issue 14: <= 1.0x torch f32 at demo sizes, <= 1.5x at 4x the sizes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per measurement (default 0.5 s)")
    parser.add_argument("--only", default="", help="comma-separated model keys: " + ",".join(SPECS))
    parser.add_argument("--scales", default="1,4", help="comma-separated size factors (default 1,4)")
    parser.add_argument("--f64", action="store_true", help="also time float64 (pyfadml and torch)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="measure every cell this many times and print medians (default 1)")
    parser.add_argument("--clock", choices=CLOCKS, default="cpu",
                        help="cpu: the process's CPU time (default; robust when other jobs share the cores), "
                             "wall: elapsed time")
    args = parser.parse_args(argv)
    global clock
    clock = CLOCKS[args.clock]
    keys = [k for k in args.only.split(",") if k] or list(SPECS)
    for k in keys:
        if k not in SPECS:
            parser.error(f"unknown model {k!r}; choose from {','.join(SPECS)}")
    scales = [int(s) for s in args.scales.split(",") if s]
    if torch is not None:
        torch.set_num_threads(1)
    dtypes = [("f32", np.float32, torch and torch.float32)]
    if args.f64:
        dtypes.append(("f64", np.float64, torch and torch.float64))

    print(f"numpy {np.__version__} ({blas_kernel()}; OPENBLAS_CORETYPE="
          f"{os.environ.get('OPENBLAS_CORETYPE', 'unset')}, OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE', 'unset')})"
          + (f", torch {torch.__version__} ({torch.get_num_threads()} thread)" if torch else ", torch not importable")
          + "; BLAS threads: " + os.environ.get("OPENBLAS_NUM_THREADS", "?"))
    print(f"ms per training step (forward + loss + backward + Adam), {args.clock} time, best of 5 interleaved rounds"
          f"{f', median of {args.repeats} repeats' if args.repeats > 1 else ''}; "
          "ratio = pyfadml / torch (> 1: pyfadml is slower)")
    print("sizes: 1x = the demo model; 4x = 4x the batch and 4x every width (hidden units, filters), same input\n")
    cols = []
    for s in scales:
        for tag, _, _ in dtypes:
            cols.append((s, tag))
    head = f"{'model (1x sizes)':<30}"
    for s, tag in cols:
        head += f"{f'pf {tag} {s}x':>12}" + (f"{f'torch {s}x':>10}{'ratio':>9}" if torch else "")
    print(head)
    print("-" * len(head))
    worst = {}
    spread = []
    for k in keys:
        row = f"{scaled(SPECS[k], 1)['label']:<30}"
        for s, tag in cols:
            spec = scaled(SPECS[k], s)
            np_dtype, t_dtype = dict((d[0], d[1:]) for d in dtypes)[tag]
            runs = []
            for _ in range(max(1, args.repeats)):
                steps = {"pf": pyfadml_step_fn(spec, np_dtype)}
                if torch is not None:
                    steps["torch"] = torch_step_fn(k, spec, t_dtype)
                runs.append(ms_per_step(steps, args.seconds))
            ms = {key: float(np.median([r[key] for r in runs])) for key in runs[0]}
            row += f"{ms['pf']:>12.3f}"
            if torch is not None:
                ratios = [r["pf"] / r["torch"] for r in runs]
                ratio = float(np.median(ratios))
                if len(runs) > 1:
                    spread.append(f"{k} {s}x {tag}: {min(ratios):.2f}-{max(ratios):.2f}")
                mark = "*" if tag == "f32" and ratio > TARGETS.get(s, float("inf")) else " "
                row += f"{ms['torch']:>10.3f}{ratio:>8.2f}{mark}"
                if tag == "f32":
                    worst[s] = max(worst.get(s, 0.0), ratio)
        print(row, flush=True)
    if torch is not None:
        print("\n* = above the issue's target (f32: <= " + ", ".join(
            f"{t:.1f}x at {s}x sizes" for s, t in TARGETS.items()) + ")")
        print("worst f32 ratio: " + ", ".join(f"{w:.2f}x at {s}x sizes" for s, w in worst.items()))
        if spread:
            print(f"range of the ratio over the {args.repeats} repeats: " + "; ".join(spread))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
