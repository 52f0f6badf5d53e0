"""Benchmark: VAE training steps per second natively and in the page, and the time to recognisable digits.

One VAE step = forward (encoder, z = mu + sigma * eps, decoder), 1/2 ||x - x'||^2 + beta * KL, backward and an
Adam update on one mini-batch of 64 8x8 digits, as :class:`pyfadml.demos.generative.GenerativeDemo` trains
(hidden layer 128, float32 unless said). The section trains the VAE and the AE together; "pair" steps count
one step of each. Natively BLAS is limited to one thread; Pyodide in the page has one thread and no BLAS.

"Recognisable" is measured, not eyeballed: the fraction of test reconstructions whose nearest training image
(Euclidean) has the right label (:meth:`GenerativeDemo.recognised_fraction`: 99 % on the original test digits,
10 % for the mean image). The goal is >= ``--target`` (default 70 %) within 30 s of training in the page.

Run:  .venv/bin/python tests/bench/bench_vae.py [--seconds 3] [--page] [--page-seconds 40] [--site site]

``--page`` serves the built site on 127.0.0.1, opens the section in headless Chromium, presses Play and reads
the controller's status every second (``data-step``; at the end ``data-steps-per-s`` over the last second and
``data-frame-ms``), the ``recognised`` stat, each refresh group's last cost (``data-refresh-ms`` of the
stats) and how long Pause takes to show ("paused" on the status line). Not collected by pytest; it asserts
nothing.
"""
from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pyfadml.demos.generative import GenerativeDemo  # noqa: E402

CONFIGS = ({"latent": 2}, {"latent": 2, "dtype": "float64"}, {"latent": 8}, {"latent": 2, "hidden": "64"})


def _label(cfg: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in cfg.items())


def native(seconds: float, target: float) -> list[dict]:
    rows = []
    for cfg in CONFIGS:
        g = GenerativeDemo(**cfg)
        g.step(3)                                        # warm-up
        vt = g.trainers["vae"]
        t0, n = time.perf_counter(), 0
        while time.perf_counter() - t0 < seconds:
            vt.step()
            n += 1
        vae_sps = n / (time.perf_counter() - t0)
        g = GenerativeDemo(**cfg)
        t0, train, reached = time.perf_counter(), 0.0, None
        while train < 4 * seconds and reached is None:
            t = time.perf_counter()
            g.train_for(0.25)
            train += time.perf_counter() - t
            if g.recognised_fraction("vae") >= target:
                reached = (train, g.step_count)
        pair_sps = g.step_count / train
        rows.append({"config": _label(cfg), "vae_sps": vae_sps, "pair_sps": pair_sps, "reached": reached,
                     "recognised": g.recognised_fraction("vae")})
    return rows


def _set_latent(page, helpers, d: int) -> None:
    helpers.widget(page, "Latent size d").locator("select").select_option(str(d))


def in_page(seconds: float, target: float, site: Path, latents=(2, 8)) -> list[dict]:
    sys.path.insert(0, str(ROOT / "tests" / "browser"))
    import conftest as helpers  # noqa: E402  (the browser tests' helpers)
    from playwright.sync_api import sync_playwright

    if not (site / "index.html").is_file():
        subprocess.run([sys.executable, str(ROOT / "build.py")], cwd=ROOT, check=True)
    build = helpers.load_build_module()
    server = build.make_server(site, host="127.0.0.1", port=0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    rows = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=helpers.CHROMIUM, args=helpers.CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.route("**/*", lambda r: r.continue_() if helpers._is_loopback(r.request.url) else r.abort())
            page.goto(f"http://{host}:{port}/")
            helpers.wait_until_ready(page)
            helpers.section_link(page, "Autoencoder & VAE").click()
            stats = page.locator("[data-testid=vae-stats]").first
            stats.wait_for(state="attached", timeout=90_000)
            helpers.wait_for_python(page, 90_000)
            live = page.locator('[data-testid="vae-live"]').first
            for d in latents:
                _set_latent(page, helpers, d)
                helpers.wait_for_python(page, 90_000)
                page.locator('[data-testid="vae-live"][data-step="0"]').wait_for(state="attached", timeout=60_000)
                helpers.click_button(page, "Play")
                t0, reached, trace = time.monotonic(), None, []
                while time.monotonic() - t0 < seconds:
                    page.wait_for_timeout(1000)
                    wall = time.monotonic() - t0
                    rec = float(page.locator("[data-testid=recognised]").first.get_attribute("data-value"))
                    step = int(live.get_attribute("data-step"))
                    trace.append((wall, step, rec))
                    if reached is None and rec >= target:
                        reached = (wall, step)
                frame_ms, sps = live.get_attribute("data-frame-ms"), live.get_attribute("data-steps-per-s")
                t_pause = time.monotonic()
                helpers.click_button(page, "Pause")
                page.locator('[data-testid="vae-live"][data-state="paused"]').wait_for(state="attached",
                                                                                      timeout=30_000)
                pause_s = time.monotonic() - t_pause
                helpers.wait_for_python(page, 60_000)
                wall = t_pause - t0
                rows.append({"config": f"latent={d}", "pair_sps_status": float(sps),
                             "pair_sps_wall": int(live.get_attribute("data-step")) / wall,
                             "reached": reached, "trace": trace, "pause_s": pause_s,
                             "recognised": float(page.locator("[data-testid=recognised]").first
                                                 .get_attribute("data-value")),
                             "refresh_ms": " ".join([stats.get_attribute("data-refresh-ms") or "",
                                                     f"frame:{frame_ms}"])})
            browser.close()
    finally:
        server.shutdown()
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="native: seconds per measurement")
    ap.add_argument("--target", type=float, default=0.70, help="recognised fraction called recognisable")
    ap.add_argument("--page", action="store_true", help="also measure in the page (headless Chromium)")
    ap.add_argument("--page-seconds", type=float, default=40.0, help="page: seconds of play per latent size")
    ap.add_argument("--site", type=Path, default=ROOT / "site")
    args = ap.parse_args(argv)

    print(f"native (1 BLAS thread), recognisable = nearest-neighbour label right for >= {args.target:.0%}")
    print(f"{'config':<28} {'VAE steps/s':>12} {'pair steps/s':>13} {'recognisable after':>26}")
    for r in native(args.seconds, args.target):
        when = f"{r['reached'][0]:.1f} s ({r['reached'][1]} steps)" if r["reached"] else \
            f"not yet ({r['recognised']:.0%})"
        print(f"{r['config']:<28} {r['vae_sps']:>12.0f} {r['pair_sps']:>13.0f} {when:>26}")
    if args.page:
        print(f"\nin the page (Pyodide, no BLAS), {args.page_seconds:.0f} s of Play per latent size")
        print(f"{'config':<12} {'pair steps/s (status)':>22} {'(wall)':>8} {'recognisable after':>26} "
              f"{'final':>6} {'Pause':>7}  refresh ms")
        for r in in_page(args.page_seconds, args.target, args.site):
            when = f"{r['reached'][0]:.0f} s ({r['reached'][1]} steps)" if r["reached"] else "not reached"
            print(f"{r['config']:<12} {r['pair_sps_status']:>22.0f} {r['pair_sps_wall']:>8.0f} {when:>26} "
                  f"{r['recognised']:>6.0%} {r['pause_s']:>6.2f}s  {r['refresh_ms']}")
            print("   trace (s, step, recognised): " +
                  " ".join(f"{w:.0f}/{s}/{q:.2f}" for w, s, q in r["trace"][::5]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
