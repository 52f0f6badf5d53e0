"""Benchmark: training steps per second in the page, for every section and tab that has a Play button.

Serves one or more built sites on 127.0.0.1 and drives headless Chromium (offline: every non-loopback request
is refused). For each site: open each section, then each of its tabs; press each visible Play, let it train
for ``--seconds``, press Pause, and read the ``data-step`` of every visible ``.stats`` element before and
after. steps/s = steps done / seconds between the two readings (training, evaluations and plot updates
together: what a user sees). Sites are measured one after the other, in the order given, ``--rounds`` times
(alternating), so that "before" and "after" builds share the machine's conditions; the best round counts.

Run:  .venv/bin/python tests/bench/bench_page_steps.py [--site site] [--site /tmp/old/site] [--seconds 10]

Not collected by pytest; it asserts nothing and prints a table. Figures vary with the machine's load (the
load average is printed); compare sites measured in one run.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

import conftest as helpers  # noqa: E402  (the browser tests' helpers: Chromium path and flags, build module)

PLAY = re.compile(r"^\s*Play\s*$")
PAUSE = re.compile(r"^\s*Pause\s*$")


def _idle(page, ms: int = 500, limit_s: float = 120) -> None:
    page.wait_for_timeout(ms)
    end = time.time() + limit_s
    while time.time() < end and page.evaluate("document.body.dataset.busy") != "0":
        page.wait_for_timeout(100)


def _steps(page) -> dict:
    loc = page.locator(".stats[data-step]")
    out = {}
    for k in range(loc.count()):
        el = loc.nth(k)
        if el.is_visible():
            out[el.get_attribute("data-testid") or f"stats{k}"] = int(el.get_attribute("data-step"))
    return out


def measure(site: Path, seconds: float) -> dict:
    """``{(section, tab, stats testid): steps/s}`` for one built site."""
    from playwright.sync_api import sync_playwright

    build = helpers.load_build_module()
    server = build.make_server(site, host="127.0.0.1", port=0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    results = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=helpers.CHROMIUM, args=helpers.CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.route("**/*", lambda r: r.continue_() if helpers._is_loopback(r.request.url) else r.abort())
            page.goto(url)
            page.locator('body[data-app-state="ready"], body[data-app-state="error"]').wait_for(
                state="attached", timeout=180_000)
            nav = page.locator("button.bk-btn").filter(has_text=re.compile("&"))
            sections = []
            for k in range(nav.count()):
                text = nav.nth(k).inner_text().strip()
                if text and text not in sections:
                    sections.append(text)
            for section in sections:
                page.locator("button.bk-btn").filter(
                    has_text=re.compile(rf"^\s*{re.escape(section)}\s*$")).first.dispatch_event("click")
                _idle(page, 1500, 180)
                tabs = page.locator(".bk-tab")
                names = [tabs.nth(k).inner_text().strip() for k in range(tabs.count()) if tabs.nth(k).is_visible()]
                for tab in [None] + names[1:]:
                    if tab is not None:
                        page.locator(".bk-tab").filter(has_text=tab).first.click()
                        _idle(page, 1500, 120)
                    play = page.locator("button.bk-btn").filter(has_text=PLAY)
                    for k in [k for k in range(play.count()) if play.nth(k).is_visible()]:
                        before, t0 = _steps(page), time.time()
                        page.locator("button.bk-btn").filter(has_text=PLAY).nth(k).click()
                        page.wait_for_timeout(int(seconds * 1000))
                        after, dt = _steps(page), time.time() - t0
                        pause = page.locator("button.bk-btn").filter(has_text=PAUSE)
                        for j in range(pause.count()):
                            if pause.nth(j).is_visible() and pause.nth(j).is_enabled():
                                pause.nth(j).click()
                        _idle(page, 800, 60)
                        for key, n in after.items():
                            if n > before.get(key, n):
                                results[(section, tab or "", key)] = (n - before[key]) / dt
            browser.close()
    finally:
        server.shutdown()
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", action="append", help="a built site (repeat to compare; default: site/)")
    parser.add_argument("--seconds", type=float, default=10.0, help="training time per Play (default 10)")
    parser.add_argument("--rounds", type=int, default=1, help="measure every site this many times (default 1)")
    args = parser.parse_args(argv)
    sites = [Path(s).resolve() for s in (args.site or [str(ROOT / "site")])]
    for s in sites:
        if not (s / "index.html").is_file():
            parser.error(f"{s} is not a built site (run python build.py)")
    print(f"load average {os.getloadavg()[0]:.2f}; {args.seconds:g} s per Play, best of {args.rounds} round(s)")
    best: dict = {}
    for _ in range(args.rounds):
        for s in sites:
            for key, sps in measure(s, args.seconds).items():
                best[(s, key)] = max(best.get((s, key), 0.0), sps)
    keys = sorted({k for _, k in best}, key=lambda k: (k[0], k[1], k[2]))
    head = f"{'section / tab / stats':<62}" + "".join(f"{'site ' + str(i + 1):>12}" for i in range(len(sites)))
    print(head)
    print("-" * len(head))
    for key in keys:
        label = " / ".join(part for part in key if part)
        print(f"{label[:61]:<62}" + "".join(f"{best.get((s, key), float('nan')):>12.2f}" for s in sites))
    for i, s in enumerate(sites):
        print(f"site {i + 1}: {s}")
    print("steps/s in the page (training + evaluations + plot updates)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
