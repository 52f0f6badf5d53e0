"""Benchmark of the "Convolution & CNN" section: the demo CNN's training speed natively, in Pyodide and in the
page, the time it takes the page to reach 90 % test accuracy on the shapes, and Conv2D against its loop twin.

One step = forward, softmax cross-entropy, backward and an Adam update on one mini-batch of 32 images, exactly
as :class:`pyfadml.demos.cnn.CNNDemo` trains by default (16x16 shapes, conv 3x3 x6 -> ReLU -> pool -> conv 3x3
x12 -> ReLU -> pool -> dense, float32). Natively BLAS is limited to one thread (the browser has one thread
and no BLAS).

* ``native``: steps/s of the default demo (float32 and float64) and of the digits demo; steps and seconds
  to 90 % test accuracy (evaluated every 5 steps); Conv2D (im2col) forward+backward against Conv2DNaive
  (plain loops) on the demo's two conv layers.
* ``--node``: the same default demo inside Pyodide under Node.js (numpy without BLAS, no page, no UI), with
  the site's own Pyodide core and numpy wheel (site/pyodide), if ``node`` is installed.
* ``--page``: headless Chromium on the built site: open the section, press Play, and time the page's own
  clock to 90 % test accuracy; report the training steps/s the section measures (``data-sps``: steps per
  second of training time) and the overall steps/s including the evaluations and plot updates.

Run:  .venv/bin/python tests/bench/bench_cnn.py [--seconds 3] [--node] [--page] [--runs 2]

The figures depend on what else runs on the machine: the load average is printed with them. Not collected by
pytest; it asserts nothing and prints a table.
"""
from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pyfadml.demos.cnn import CNNDemo  # noqa: E402
from pyfadml.layers import Conv2D, Conv2DNaive  # noqa: E402

SECTION = "Convolution & CNN"


def _sps(demo: CNNDemo, seconds: float) -> float:
    demo.step(3)                                         # warm-up
    n0, t0 = demo.step_count, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        demo.step(1)
    return (demo.step_count - n0) / (time.perf_counter() - t0)


def time_to_90(**settings) -> tuple[int, float]:
    """Steps and training seconds until the test accuracy (checked every 5 steps) reaches 90 %."""
    d = CNNDemo(**settings)
    while d.step_count < 2000:
        d.step(5)
        if d.evaluate()["test_acc"] >= 0.9:
            return d.step_count, d.train_seconds
    return -1, d.train_seconds


def conv_pair(shape, c_out, k=3, padding=1, repeats=3) -> dict:
    """ms per forward+backward of Conv2D and Conv2DNaive on the same input; their results agree."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    dout = rng.standard_normal((shape[0], c_out, shape[2], shape[3])).astype(np.float32)   # "same" padding
    out = {}
    layers = {}
    for cls in (Conv2D, Conv2DNaive):
        layer = cls(shape[1], c_out, k, padding=padding, rng=1)
        layer.params = {key: v.astype(np.float32) for key, v in layer.params.items()}
        layer.grads = {key: np.zeros_like(v) for key, v in layer.params.items()}
        z = layer.forward(x)
        times = []
        for _ in range(repeats if cls is Conv2D else 1):
            t0 = time.perf_counter()
            layer.forward(x)
            dx = layer.backward(dout)
            times.append(time.perf_counter() - t0)
        out[cls.__name__] = 1000 * min(times)
        layers[cls.__name__] = (z, dx, layer.grads["W"].copy())
    a, b = layers["Conv2D"], layers["Conv2DNaive"]
    out["max_rel_diff"] = max(float(np.max(np.abs(u - v)) / (np.max(np.abs(v)) or 1.0)) for u, v in zip(a, b))
    return out


def native(seconds: float) -> dict:
    res = {
        "shapes_f32_sps": _sps(CNNDemo(), seconds),
        "shapes_f64_sps": _sps(CNNDemo(dtype="float64"), seconds),
        "digits_sps": _sps(CNNDemo(dataset="digits", filters=(8, 16)), seconds),
    }
    res["to90_steps"], res["to90_seconds"] = time_to_90()
    res["conv1"] = conv_pair((32, 1, 16, 16), 6)
    res["conv2"] = conv_pair((32, 6, 8, 8), 12)
    return res


NODE_RUNNER = """
import { loadPyodide } from "%(core)s/pyodide.mjs";
const py = await loadPyodide({ indexURL: "%(core)s/" });
await py.loadPackage(["%(core)s/%(numpy)s", "%(core)s/%(own)s"]);
const out = await py.runPythonAsync(`
import time, json
from pyfadml.demos.cnn import CNNDemo
d = CNNDemo(); d.step(3)
n0, t0 = d.step_count, time.perf_counter()
while time.perf_counter() - t0 < %(seconds)s:
    d.step(1)
sps = (d.step_count - n0) / (time.perf_counter() - t0)
t0 = time.perf_counter(); d.evaluate(); ev = time.perf_counter() - t0
json.dumps({"sps": sps, "evaluate_ms": 1000 * ev})
`);
console.log(out);
"""


def in_node(seconds: float) -> dict:
    node = shutil.which("node")
    core = ROOT / "site" / "pyodide"
    if node is None or not (core / "pyodide.mjs").is_file():
        return {"error": "needs node and a built site (site/pyodide)"}
    wheels = {p.name.split("-")[0]: p.name for p in core.glob("*.whl")}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "run.mjs"
        script.write_text(NODE_RUNNER % dict(core=core, numpy=wheels["numpy"], own=wheels["pyfadml"],
                                             seconds=seconds))
        res = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=600)
    line = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    return json.loads(line[-1]) if line else {"error": res.stderr[-500:]}


def in_page(runs: int, extra_seconds: float) -> list[dict]:
    sys.path.insert(0, str(ROOT / "tests" / "browser"))
    import conftest as helpers   # noqa: E402  (the browser tests' helpers)
    from playwright.sync_api import sync_playwright

    site = ROOT / "site"
    if not (site / "index.html").is_file():
        subprocess.run([sys.executable, str(ROOT / "build.py")], cwd=ROOT, check=True)
    build = helpers.load_build_module()
    server = build.make_server(site, host="127.0.0.1", port=0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    results = []

    def click(page, label):
        page.locator("button.bk-btn").filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")).first.click()

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=helpers.CHROMIUM, args=helpers.CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.route("**/*", lambda r: r.continue_() if helpers._is_loopback(r.request.url) else r.abort())
            page.goto(f"http://{host}:{port}/")
            helpers.wait_until_ready(page)
            t0 = time.perf_counter()
            helpers.section_link(page, SECTION).click()
            page.locator("[data-testid=cnn-stats]").first.wait_for(state="attached", timeout=120_000)
            helpers.wait_for_python(page, 120_000)
            open_s = time.perf_counter() - t0
            stats = page.locator("[data-testid=cnn-stats]").first
            for run in range(runs):
                if run:
                    click(page, "Reset")
                    helpers.wait_for_python(page, 60_000)
                click(page, "Play")
                t0 = time.perf_counter()
                reached = None
                while time.perf_counter() - t0 < 120:
                    if float(stats.get_attribute("data-test-acc")) >= 0.9:
                        reached = (time.perf_counter() - t0, int(stats.get_attribute("data-step")))
                        break
                    page.wait_for_timeout(100)
                page.wait_for_timeout(int(extra_seconds * 1000))
                click(page, "Pause")
                helpers.wait_for_python(page, 60_000)
                wall = time.perf_counter() - t0
                steps = int(stats.get_attribute("data-step"))
                results.append({
                    "open_section_s": open_s, "to90_s": reached[0] if reached else None,
                    "to90_steps": reached[1] if reached else None, "steps": steps,
                    "overall_sps": steps / wall, "train_sps": float(stats.get_attribute("data-sps")),
                    "eval_ms": float(stats.get_attribute("data-eval-ms")),
                    "test_acc": float(stats.get_attribute("data-test-acc"))})
            browser.close()
    finally:
        server.shutdown()
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="native/node: seconds of training per figure")
    ap.add_argument("--node", action="store_true", help="also measure in Pyodide under Node.js")
    ap.add_argument("--page", action="store_true", help="also measure in the page (headless Chromium)")
    ap.add_argument("--runs", type=int, default=2, help="page: Play runs (Reset between them)")
    ap.add_argument("--extra-seconds", type=float, default=5.0, help="page: keep playing after 90 %%")
    args = ap.parse_args(argv)
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    nat = native(args.seconds)
    print("\nnative (NumPy, 1 BLAS thread)")
    print(f"  shapes 16x16, float32: {nat['shapes_f32_sps']:8.1f} steps/s")
    print(f"  shapes 16x16, float64: {nat['shapes_f64_sps']:8.1f} steps/s")
    print(f"  digits 8x8,   float32: {nat['digits_sps']:8.1f} steps/s")
    print(f"  90 % test accuracy on shapes after {nat['to90_steps']} steps, {nat['to90_seconds']:.2f} s of training")
    print("\nConv2D (im2col) vs Conv2DNaive (loops), forward + backward, batch 32, float32")
    for key, label in (("conv1", "1 -> 6 channels, 16x16, 3x3"), ("conv2", "6 -> 12 channels, 8x8, 3x3")):
        c = nat[key]
        print(f"  {label}: {c['Conv2D']:8.2f} ms vs {c['Conv2DNaive']:9.1f} ms  "
              f"({c['Conv2DNaive'] / c['Conv2D']:.0f}x faster; max relative difference {c['max_rel_diff']:.1e})")
    if args.node:
        nd = in_node(args.seconds)
        print("\nPyodide 0.27.7 under Node.js (numpy 2.0.2, no BLAS), no UI")
        if "error" in nd:
            print(f"  skipped: {nd['error']}")
        else:
            print(f"  shapes 16x16, float32: {nd['sps']:8.1f} steps/s "
                  f"({nat['shapes_f32_sps'] / nd['sps']:.1f}x slower than native); "
                  f"one evaluation (300 train + 300 test images) {nd['evaluate_ms']:.0f} ms")
    if args.page:
        print("\nin the page (headless Chromium, Pyodide in a Web Worker, live plots)")
        for r in in_page(args.runs, args.extra_seconds):
            to90 = (f"90 % after {r['to90_s']:.1f} s ({r['to90_steps']} steps)" if r["to90_s"] is not None
                    else "90 % not reached in 120 s")
            print(f"  {to90}; training {r['train_sps']:.1f} steps/s, overall {r['overall_sps']:.1f} steps/s "
                  f"with evaluations ({r['eval_ms']:.0f} ms each) and plots; final test accuracy "
                  f"{r['test_acc']:.3f}; section opened in {r['open_section_s']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
