"""Benchmark: training steps per second of the RNN and the LSTM of the "RNN & LSTM" section, natively and in
the page, at sequence lengths 20 and 50.

One step = forward, loss, backward (BPTT), clipping and an SGD-with-momentum update on one mini-batch of 32
sequences of the memory task, exactly as :class:`pyfadml.demos.gradients.GradientRace` trains (hidden size
16, float64). Natively BLAS is limited to one thread, as in the browser (Pyodide has a single thread and no
BLAS). In the page the race's own clock is read (``data-rnn-sps`` / ``data-lstm-sps`` of the race's stats,
from ``GradientRace.steps_per_second``) after letting it play.

Run:  .venv/bin/python tests/bench/bench_rnn.py [--seconds 3] [--page] [--page-seconds 12]

``--page`` builds the site if needed, serves it on 127.0.0.1 and drives headless Chromium. Not collected by
pytest; it asserts nothing and prints a table.
"""
from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pyfadml.demos.gradients import MODELS, GradientRace  # noqa: E402

LENGTHS = (20, 50)


def native(seconds: float) -> dict:
    out = {}
    for T in LENGTHS:
        race = GradientRace(T=T)
        race.step(3)                                   # warm-up
        for m in MODELS:
            race.trainers[m].seconds, race.trainers[m].updates = 0.0, 0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            race.step(1)
        out[T] = race.steps_per_second()
    return out


def _set_slider(page, widget, target: int) -> None:
    """Move a Bokeh IntSlider with the keyboard until its title shows ``target``."""
    handle = widget.locator(".noUi-handle").first
    handle.focus()
    for _ in range(60):
        text = widget.locator(".bk-slider-title").first.inner_text()
        value = int(re.search(r"(-?\d+)\s*$", text).group(1))
        if value == target:
            return
        handle.press("ArrowRight" if value < target else "ArrowLeft")
        page.wait_for_timeout(50)
    raise RuntimeError(f"could not set the slider to {target}")


def in_page(seconds: float) -> dict:
    sys.path.insert(0, str(ROOT / "tests" / "browser"))
    import conftest as helpers   # noqa: E402  (the browser tests' helpers: build module, wait_until_ready)
    from playwright.sync_api import sync_playwright

    site = ROOT / "site"
    if not (site / "index.html").is_file():
        subprocess.run([sys.executable, str(ROOT / "build.py")], cwd=ROOT, check=True)
    build = helpers.load_build_module()
    server = build.make_server(site, host="127.0.0.1", port=0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    out = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=helpers.CHROMIUM, args=helpers.CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.route("**/*", lambda r: r.continue_() if helpers._is_loopback(r.request.url) else r.abort())
            page.goto(f"http://{host}:{port}/")
            helpers.wait_until_ready(page)
            helpers.section_link(page, "RNN & LSTM").click()
            page.locator("[data-testid=seq-stats]").wait_for(timeout=60_000)
            page.locator(".bk-tab", has_text="Vanishing").first.click()
            stats = page.locator("[data-testid=race-stats]")
            for T in LENGTHS:
                _set_slider(page, helpers.widget(page, "Sequence length T"), T)
                helpers.wait_for_python(page)
                page.locator(f"[data-testid=race-stats][data-T='{T}']").wait_for(timeout=60_000)
                page.locator("button.bk-btn:visible", has_text="Play").first.click()
                page.wait_for_timeout(int(seconds * 1000))
                page.locator("button.bk-btn:visible", has_text="Pause").first.click()
                helpers.wait_for_python(page)
                page.wait_for_timeout(500)
                out[T] = {m: float(stats.get_attribute(f"data-{m.lower()}-sps")) for m in MODELS}
                out[T]["steps"] = int(stats.get_attribute("data-step"))
                page.locator("button.bk-btn:visible", has_text="Reset").first.click()
                helpers.wait_for_python(page)
            browser.close()
    finally:
        server.shutdown()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="native: seconds per sequence length")
    ap.add_argument("--page", action="store_true", help="also measure in the page (headless Chromium)")
    ap.add_argument("--page-seconds", type=float, default=12.0, help="page: seconds of play per length")
    args = ap.parse_args(argv)
    nat = native(args.seconds)
    page = in_page(args.page_seconds) if args.page else {}
    print(f"{'T':>4} {'model':>6} {'native steps/s':>15} {'page steps/s':>13} {'native/page':>12}")
    for T in LENGTHS:
        for m in MODELS:
            n = nat[T][m]
            p = page.get(T, {}).get(m, float("nan"))
            print(f"{T:>4} {m:>6} {n:>15.1f} {p:>13.1f} {n / p if p == p and p > 0 else float('nan'):>12.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
