"""Benchmark of the offline site in headless Chromium: time to interactive, bytes, requests.

    .venv/bin/python tests/bench/bench_site.py [--runs 3] [--site site] [--json out.json]

Cold = a fresh browser profile (empty HTTP and code caches); warm = the page loaded again in the
same profile.  Time to interactive (TTI) is the page's own clock (performance.now(), 0 = start of
navigation) when ``document.body.dataset.appState`` turned "ready": the app is rendered and its
Python document is linked, so widgets answer.  Bytes and requests are counted by the server (body
bytes actually sent, so .gz transfers count compressed; 304 answers count 0).  Stage timings come
from ``window.pyfadmlTimings`` (worker clock, 0 = worker start).

The figures depend on the machine and on what else runs on it: the load average at the start is
printed with them.  Issue targets: cold TTI <= 4 s, <= 20 MB transferred.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def load_build():
    spec = importlib.util.spec_from_file_location("pyfadml_build", ROOT / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Counter:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.files: dict[str, int] = {}
        self.requests = 0
        self.bytes = 0

    def add(self, path: str, n: int):
        with self.lock:
            self.files[path] = self.files.get(path, 0) + n
            self.bytes += n

    def request(self):
        with self.lock:
            self.requests += 1


def start_server(build, site: Path, counter: Counter):
    class CountingHandler(build.SiteHandler):
        quiet = True

        def send_head(self):
            counter.request()
            return super().send_head()

        def copyfile(self, source, outputfile):
            n = 0
            while chunk := source.read(1 << 16):
                outputfile.write(chunk)
                n += len(chunk)
            counter.add(self.path.split("?")[0], n)

    import functools
    import http.server
    handler = functools.partial(CountingHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def load_once(page, url: str, counter: Counter, timeout_ms: int = 120_000) -> dict:
    counter.reset()
    started = time.perf_counter()
    page.goto(url)
    page.locator('body[data-app-state="ready"], body[data-app-state="error"]').wait_for(
        state="attached", timeout=timeout_ms)
    wall = time.perf_counter() - started
    state = page.evaluate("document.body.dataset.appState")
    if state != "ready":
        raise SystemExit("the app failed:\n" + page.evaluate(
            "document.getElementById('pyfadml-error').innerText"))
    timings = page.evaluate("window.pyfadmlTimings")
    stages = page.evaluate("window.pyfadmlStages")
    page.wait_for_timeout(300)         # let late requests (fonts, lazy CSS) finish
    return {"tti_s": timings["ready"] / 1000, "wall_s": round(wall, 2), "bytes": counter.bytes,
            "requests": counter.requests, "files": dict(counter.files),
            "prerendered_s": (timings.get("prerendered") or 0) / 1000,
            "worker": timings.get("worker", {}), "stages": stages}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="cold runs (each with a warm reload)")
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    build = load_build()
    if not (args.site / "index.html").exists():
        raise SystemExit(f"{args.site} is not built: run python3 build.py first")
    counter = Counter()
    server, url = start_server(build, args.site, counter)
    load = os.getloadavg()

    from playwright.sync_api import sync_playwright
    results = []
    with sync_playwright() as pw:
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as profile:
                context = pw.chromium.launch_persistent_context(
                    profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                page = context.new_page()
                cold = load_once(page, url, counter)
                warm = load_once(page, url, counter)
                context.close()
            results.append({"cold": cold, "warm": warm})
            print(f"cold TTI {cold['tti_s']:.2f} s ({cold['bytes'] / 1e6:.1f} MB, "
                  f"{cold['requests']} requests)   warm TTI {warm['tti_s']:.2f} s "
                  f"({warm['bytes'] / 1e6:.2f} MB, {warm['requests']} requests)", flush=True)
    server.shutdown()

    cold_tti = [r["cold"]["tti_s"] for r in results]
    warm_tti = [r["warm"]["tti_s"] for r in results]
    first = results[0]["cold"]
    biggest = sorted(first["files"].items(), key=lambda kv: -kv[1])[:10]
    steps = first["worker"]
    summary = {
        "loadavg_at_start": [round(x, 2) for x in load],
        "cpus": os.cpu_count(),
        "runs": len(results),
        "cold_tti_s": {"median": statistics.median(cold_tti), "min": min(cold_tti),
                       "max": max(cold_tti)},
        "warm_tti_s": {"median": statistics.median(warm_tti), "min": min(warm_tti),
                       "max": max(warm_tti)},
        "cold_bytes": first["bytes"], "cold_requests": first["requests"],
        "warm_bytes": results[0]["warm"]["bytes"], "warm_requests": results[0]["warm"]["requests"],
        "prerendered_layout_s": first["prerendered_s"],
        "worker_steps_ms (first cold run)": steps,
        "biggest_transfers (first cold run)": biggest,
    }
    print(json.dumps(summary, indent=1))
    print(f"targets: cold TTI <= 4 s -> median {summary['cold_tti_s']['median']:.2f} s; "
          f"<= 20 MB -> {first['bytes'] / 1e6:.1f} MB")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "runs": results}, indent=1))


if __name__ == "__main__":
    main()
