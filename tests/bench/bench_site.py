"""Benchmark of the offline site in headless Chromium, as ratios to a bare Pyodide + numpy boot (issue 10).

    .venv/bin/python tests/bench/bench_site.py [--site site] [--site /tmp/before/site] [--runs 2]
                                               [--pause-clicks 10] [--json out.json]

Every figure is measured in this run, next to a **bare** page: the same server (one per site) also answers
``/__bare__/``, a page that only boots the site's Pyodide in the main thread, loads numpy through the site's
lock and imports it. Absolute seconds vary 2x from run to run on a shared machine; the ratios to the bare
boot measured minutes apart do not (much). With several ``--site``, the sites are measured in turns, round
after round, and every ratio is to the bare boot of the *first* site (the reference: main, usually).

Per site and round, in a fresh browser profile (empty HTTP cache, code cache, Cache Storage):

* **cold**: the page loaded, time to interactive (TTI: ``performance.now()`` when
  ``body[data-app-state=ready]``: rendered and linked to Python, widgets answer). Bytes and requests are
  counted by the server (bytes of the bodies sent: .gz transfers count compressed; 304 answers 0), up to
  interactive and up to "saved for offline use" (``body[data-offline=ready]``: the service worker has the
  whole site; that is what a student's laptop pulls through the room's Wi-Fi).
* **warm**: the same page reloaded in the same profile once it is saved for offline use: TTI, and every
  byte and request that still reaches the server (target: none).
* **first open** of each section (navigation click -> its first live element visible and Python idle), in
  the cold page, in the navigation's order, after ``--read-s`` seconds on the first section (a student
  reads it: the page may use that time); ``settled`` also waits for what the section builds after it is
  shown (the CNN's screen 2).
* **stages** of the start (cold): the worker's stage marks (``window.pyfadmlTimings.worker``, moved onto
  the page's clock with the worker's ``origin``), the render and the link.
* **Pause**: in each section with live training (round 1 only): Play, train ~1 s, click Pause (in the
  page, no driver round trip) and time until the status element ``[data-testid=<key>-live]`` says
  ``data-state=paused``; median of ``--pause-clicks``. **Plot updates per second**: the growth of the
  status element's ``data-frames`` while training (frames of training + redrawn plots).

Prints a table (medians over rounds, ranges in brackets) and the issue's targets. Asserts nothing.

``--write-stdlib-core PATH`` / ``--write-wheels-core PATH`` (either or both) measure instead what the page imports
in a whole session (start, every section opened, each live section played and paused, an exercise checked): the
stdlib modules and the modules of the eager wheels, the lists build.py splits python_stdlib.zip and each eager
wheel by (pyfadml/app/web/stdlib-core.txt, wheels-core.txt).  Imports that missed the start's modules, fetched a
rest archive and failed are listed too; so run it once more on the rebuilt site until the lists stop changing.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

import conftest as helpers  # noqa: E402  (Chromium path and flags, the build module)

# Sections in the navigation's order: (key, nav title, selector shown when the section is open,
# selector attached once everything the section builds after showing itself is there).
SECTIONS = [
    ("backprop", "Backprop & decision boundaries", '[data-testid="backprop-live"]', None),
    ("cnn", "Convolution & CNN", '[data-testid="step-through"]', '[data-testid="cnn-live"]'),
    ("rnn", "RNN & LSTM", '[data-testid="rnn-modes-live"]', None),
    ("autoencoder", "Autoencoder & VAE", '[data-testid="vae-live"]', None),
    ("exercises", "Exercises", '[data-testid="exercise-progress"]', None),
]
# Where Pause is measured: section -> (live key, a button to press first to show the training, or None).
PAUSE = {"backprop": ("backprop", None), "cnn": ("cnn", "2. A CNN learns its kernels"),
         "rnn": ("rnn-modes", None), "autoencoder": ("vae", None)}

BARE_HTML = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bare Pyodide + numpy</title></head>
<body data-state="loading"><script src="../pyodide/pyodide.js"></script>
<script src="bare.js"></script></body></html>
"""
BARE_JS = b"""// The reference: Pyodide booted in the main thread, numpy loaded (site lock, sha256 checked) and imported.
(async () => {
  const py = await loadPyodide({ indexURL: new URL("../pyodide/", location.href).href,
                                 lockFileURL: new URL("../pyodide/pyodide-lock.json", location.href).href });
  const booted = performance.now();
  await py.loadPackage(["numpy"], { checkIntegrity: true });
  const loaded = performance.now();
  py.runPython("import numpy");
  window.bareTimings = { booted: booted, loaded: loaded, ready: performance.now() };
  document.body.dataset.state = "ready";
})().catch((e) => { document.body.dataset.error = String(e); document.body.dataset.state = "error"; });
"""

# Runs in the page (Playwright's evaluate goes through the DevTools protocol: the page's CSP forbids eval
# to the page, not to it).  Finds elements through open shadow roots (Bokeh renders into them).
DEEP = """
const deepAll = (sel, root = document, out = []) => {
  root.querySelectorAll(sel).forEach((el) => out.push(el));
  root.querySelectorAll("*").forEach((el) => { if (el.shadowRoot) deepAll(sel, el.shadowRoot, out); });
  return out;
};
const shown = (el) => el.checkVisibility ? el.checkVisibility() : el.offsetParent !== null;
"""
STATUS_JS = DEEP + """
(key) => {
  const el = deepAll(`[data-testid="${key}-live"]`).find(shown);
  return el ? { ...el.dataset, t: performance.now() } : null;
}
"""
PRESS_JS = DEEP + """
(cls) => {
  const host = deepAll("." + cls).find(shown);
  const button = host && (host.shadowRoot || host).querySelector("button");
  if (!button || button.disabled) return false;
  button.click();
  return true;
}
"""
# Click Pause and time until the status says "paused" (checked every 2 ms and on every DOM mutation of
# the status pane's shadow root).
PAUSE_JS = DEEP + """
async (key) => {
  const sel = `[data-testid="${key}-live"]`;
  const statusEl = deepAll(sel).find(shown);
  if (!statusEl || statusEl.dataset.state !== "playing") return { error: "not playing" };
  const root = statusEl.getRootNode();
  const host = deepAll(".live-pause").find(shown);
  const button = host && (host.shadowRoot || host).querySelector("button");
  if (!button || button.disabled) return { error: "no Pause button" };
  const paused = () => {
    const el = (root.isConnected !== false ? root : document).querySelector(sel) || deepAll(sel).find(shown);
    return el && el.dataset.state === "paused";
  };
  return await new Promise((resolve) => {
    const t0 = performance.now();
    let observer = null, timer = null;
    const done = (ok) => {
      observer && observer.disconnect(); clearInterval(timer);
      resolve(ok ? { ms: performance.now() - t0 } : { error: "timeout" });
    };
    observer = new MutationObserver(() => { if (paused()) done(true); });
    observer.observe(root, { subtree: true, childList: true, attributes: true, characterData: true });
    timer = setInterval(() => {
      if (paused()) done(true);
      else if (performance.now() - t0 > 10000) done(false);
    }, 2);
    button.click();
  });
}
"""


class Counter:
    """Bodies and requests the server sent, per path (thread-safe)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.files: dict[str, int] = {}
            self.requests: list[tuple[str, int]] = []
            self.bytes = 0
            self.timed: list[tuple[float, int]] = []      # (time.time() the request came, body bytes)

    def until(self, epoch_s: float) -> tuple[int, int]:
        """Bytes and requests of the requests that came before ``epoch_s``."""
        with self.lock:
            before = [n for t, n in self.timed if t <= epoch_s]
        return sum(before), len(before)

    def snapshot(self) -> dict:
        with self.lock:
            return {"bytes": self.bytes, "requests": len(self.requests), "files": dict(self.files),
                    "statuses": list(self.requests)}


def start_server(build, site: Path, counter: Counter):
    class Handler(build.SiteHandler):
        quiet = True

        def send_head(self):
            self._came = time.time()
            path = self.path.split("?")[0]
            if path in ("/__bare__/", "/__bare__/index.html", "/__bare__/bare.js"):
                body = BARE_JS if path.endswith(".js") else BARE_HTML
                self.send_response(200)
                self.send_header("Content-Type", "text/javascript" if path.endswith(".js") else "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                import io
                return io.BytesIO(body)
            return super().send_head()

        def send_response(self, code, message=None):
            with counter.lock:
                counter.requests.append((self.path.split("?")[0], code))
                if code != 200:
                    counter.timed.append((getattr(self, "_came", time.time()), 0))
            super().send_response(code, message)

        def copyfile(self, source, outputfile):
            n = 0
            while chunk := source.read(1 << 16):
                outputfile.write(chunk)
                n += len(chunk)
            with counter.lock:
                path = self.path.split("?")[0]
                counter.files[path] = counter.files.get(path, 0) + n
                counter.bytes += n
                counter.timed.append((getattr(self, "_came", time.time()), n))

    handler = functools.partial(Handler, directory=str(site))
    server = build.SiteServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def new_context(pw, profile: str):
    context = pw.chromium.launch_persistent_context(
        profile, executable_path=helpers.CHROMIUM, args=helpers.CHROMIUM_ARGS, headless=True,
        viewport={"width": 1280, "height": 720})
    # Requests elsewhere are recorded, not blocked: Playwright's request interception (context.route)
    # turns Chromium's HTTP cache off, which would make every revalidation a full download.
    external = []
    context.on("request", lambda r: None if helpers._is_loopback(r.url) else external.append(r.url))
    context.external = external
    return context


def bare_boot(pw, url: str) -> dict:
    with tempfile.TemporaryDirectory() as profile:
        context = new_context(pw, profile)
        page = context.new_page()
        page.goto(url + "__bare__/")
        page.locator('body[data-state="ready"], body[data-state="error"]').wait_for(state="attached",
                                                                                   timeout=120_000)
        if page.evaluate("document.body.dataset.state") != "ready":
            raise SystemExit("the bare page failed: " + page.evaluate("document.body.dataset.error"))
        t = page.evaluate("window.bareTimings")
        context.close()
    return {"s": t["ready"] / 1000, "boot_s": t["booted"] / 1000, "numpy_s": (t["loaded"] - t["booted"]) / 1000}


def wait_ready(page, timeout_ms: int = 180_000) -> None:
    page.locator('body[data-app-state="ready"], body[data-app-state="error"]').wait_for(
        state="attached", timeout=timeout_ms)
    if page.evaluate("document.body.dataset.appState") != "ready":
        raise SystemExit("the app failed:\n" + page.evaluate(
            "document.getElementById('pyfadml-error').innerText"))


def wait_idle(page, quiet_ms: int = 300, limit_s: float = 120) -> None:
    """Python idle: body[data-busy=0] for quiet_ms in a row."""
    end = time.time() + limit_s
    calm = 0
    while time.time() < end and calm < quiet_ms:
        calm = calm + 50 if page.evaluate("document.body.dataset.busy") == "0" else 0
        page.wait_for_timeout(50)


def stages_of(page) -> dict:
    """Start-up stages on the page's clock (ms since navigation start)."""
    timings = page.evaluate("window.pyfadmlTimings") or {}
    page_origin = page.evaluate("performance.timeOrigin")
    worker = dict(timings.get("worker", {}))
    origin = worker.pop("origin", None)
    shift = (origin - page_origin) if origin else 0.0
    out = {"page: worker started": round(shift)} if origin else {}
    for name, t in worker.items():
        out[f"worker: {name}"] = round(t + shift)
    for name in ("prerendered", "render", "rendered", "ready"):
        if name in timings:
            out[f"page: {name}"] = timings[name]
    return dict(sorted(out.items(), key=lambda kv: kv[1]))


def open_section(page, title: str, shown_sel: str, settled_sel: str | None) -> dict:
    exact = re.compile(r"^\s*" + re.escape(title) + r"\s*$")
    button = page.locator("button.bk-btn").filter(has_text=exact).first
    t0 = page.evaluate("performance.now()")
    button.click()
    page.locator(shown_sel).first.wait_for(state="visible", timeout=120_000)
    t_shown = page.evaluate("performance.now()")
    out = {"shown_s": (t_shown - t0) / 1000}
    if settled_sel:
        page.locator(settled_sel).first.wait_for(state="attached", timeout=120_000)
    wait_idle(page, 200)
    out["settled_s"] = (page.evaluate("performance.now()") - t0 - 200) / 1000
    return out


def measure_pause(page, key: str, clicks: int, play_s: float = 1.0) -> dict:
    """Median Pause latency over ``clicks`` and the plot updates per second seen while training."""
    latencies, rates, errors = [], [], []
    for _ in range(clicks):
        wait_idle(page, 200, 60)
        if not page.evaluate(PRESS_JS, "live-play"):
            errors.append("no Play button")
            continue
        start = None
        end = time.time() + 30
        while time.time() < end:
            st = page.evaluate(STATUS_JS, key)
            if st and st.get("state") == "playing":
                start = st
                break
            page.wait_for_timeout(20)
        if start is None:
            errors.append("never playing")
            continue
        page.wait_for_timeout(int(play_s * 1000))
        st = page.evaluate(STATUS_JS, key)
        if st and st.get("state") == "playing":
            rates.append((int(st["frames"]) - int(start["frames"])) / ((st["t"] - start["t"]) / 1000))
        result = page.evaluate(PAUSE_JS, key)
        if "ms" in result:
            latencies.append(result["ms"])
        else:
            errors.append(result["error"])
    return {"pause_ms": statistics.median(latencies) if latencies else None,
            "pause_ms_all": [round(x) for x in latencies],
            "updates_per_s": statistics.median(rates) if rates else None, "errors": errors}


def measure_site(pw, url: str, counter: Counter, pause_clicks: int, only: str | None = None,
                 read_s: float = 10.0) -> dict:
    out: dict = {}
    with tempfile.TemporaryDirectory() as profile:
        context = new_context(pw, profile)
        page = context.new_page()
        counter.reset()
        page.goto(url)
        wait_ready(page)
        out["cold_s"] = page.evaluate("window.pyfadmlTimings.ready") / 1000
        ready_epoch = (page.evaluate("performance.timeOrigin + window.pyfadmlTimings.ready")) / 1000
        out["cold_bytes_to_interactive"], out["cold_requests_to_interactive"] = counter.until(ready_epoch)
        out["stages"] = stages_of(page)
        wait_idle(page, 300)
        if only != "pause":
            page.wait_for_timeout(int(read_s * 1000))     # the student reads the first section
        out["sections"] = {}
        for key, title, shown_sel, settled_sel in SECTIONS:
            if key == "backprop" or only == "pause":
                continue           # shown at start
            out["sections"][key] = open_section(page, title, shown_sel, settled_sel)
        if only == "sections":
            print("    " + ", ".join(f"{k} {v['shown_s']:.2f}/{v['settled_s']:.2f} s"
                                     for k, v in out["sections"].items()), flush=True)
        if pause_clicks and only != "sections":
            out["pause"] = {}
            for key, title, shown_sel, settled_sel in SECTIONS:
                if key not in PAUSE:
                    continue
                live_key, screen = PAUSE[key]
                open_section(page, title, shown_sel, settled_sel)
                if screen:
                    page.locator("button.bk-btn").filter(
                        has_text=re.compile(r"^\s*" + re.escape(screen) + r"\s*$")).first.click()
                    page.locator(f'[data-testid="{live_key}-live"]').first.wait_for(state="visible")
                    wait_idle(page, 300)
                out["pause"][key] = measure_pause(page, live_key, pause_clicks)
                print(f"    Pause {key}: {out['pause'][key]}", flush=True)
        if only:
            context.close()
            return out
        try:
            page.locator('body[data-offline="ready"]').wait_for(state="attached", timeout=120_000)
            offline = True
        except Exception:
            offline = False
        page.wait_for_timeout(500)
        total = counter.snapshot()
        out["cold_bytes_total"] = total["bytes"]
        out["cold_requests_total"] = total["requests"]
        out["cold_files"] = total["files"]
        out["offline_ready"] = offline
        counter.reset()
        page.reload()
        wait_ready(page)
        out["warm_s"] = page.evaluate("window.pyfadmlTimings.ready") / 1000
        out["warm_stages"] = stages_of(page)
        page.wait_for_timeout(1000)
        warm = counter.snapshot()
        out["warm_bytes"] = warm["bytes"]
        out["warm_requests"] = warm["requests"]
        out["warm_request_list"] = warm["statuses"]
        out["external_requests"] = list(context.external)
        context.close()
    return out


STDLIB_CORE_HEAD = """# Standard-library modules the page imports (issue 10), one per line: measured in Chromium by
# tests/bench/bench_site.py --write-stdlib-core (start, every section opened, each live section played and
# paused, an exercise checked and its solution shown), from the worker's {type: "modules"} answer.
# build.py ships these in pyodide/python_stdlib.zip (the zip Pyodide mounts at start) and every other
# stdlib module in pyodide/python_stdlib_rest.zip, which the worker fetches (sha256-checked) the first time
# an import needs it: a module missing here costs one download, never an ImportError.
"""


WHEELS_CORE_HEAD = """# Modules of the eagerly loaded wheels the page imports (issue 10), one per line: measured in Chromium by
# tests/bench/bench_site.py --write-wheels-core (the same session as stdlib-core.txt), from the worker's
# {type: "modules"} answer (every module in sys.modules, plus any whose import missed the wheel and failed).
# build.py ships each eager wheel with these modules (+ dist-info and the data files of their packages) and
# every other module in pyodide/<wheel>-rest.zip, which the worker fetches (sha256-checked) and unpacks into
# site-packages the first time an import needs it: a module missing here costs one download, never an ImportError.
"""
SITE_PACKAGES = "/lib/python3.12/site-packages/"


def module_of_file(path: str) -> str | None:
    """The dotted module a file in the stdlib zips or site-packages holds, else None."""
    for prefix in ("/lib/python312.zip/", "/lib/python312_rest.zip/", SITE_PACKAGES):
        if path.startswith(prefix):
            rel = path[len(prefix):]
            folder, _, base = rel.rpartition("/")
            if folder.endswith("__pycache__"):
                folder = folder[:-len("__pycache__")].rstrip("/")
            name = (folder + "/" if folder else "") + base.split(".", 1)[0]
            if name.endswith("/__init__"):
                name = name[:-len("/__init__")]
            return name.replace("/", ".")
    return None


def session_modules(pw, url: str) -> tuple[set[str], set[str]]:
    """Drive a whole session (start, every section opened, each live section played and paused, an exercise
    checked and its solution shown): the files of the modules it imported, and the imports that missed the
    modules loaded at start (the worker's {type: "modules"} answer)."""
    with tempfile.TemporaryDirectory() as profile:
        context = new_context(pw, profile)
        page = context.new_page()
        page.goto(url)
        wait_ready(page)
        answer = helpers.worker_modules(page)
        files, missed = set(answer["files"]), set(answer.get("missed", []))
        for key, title, shown_sel, settled_sel in SECTIONS:
            open_section(page, title, shown_sel, settled_sel)
            if key in PAUSE:
                live_key, screen = PAUSE[key]
                if screen:
                    page.locator("button.bk-btn").filter(
                        has_text=re.compile(r"^\s*" + re.escape(screen) + r"\s*$")).first.click()
                    page.locator(f'[data-testid="{live_key}-live"]').first.wait_for(state="visible")
                    wait_idle(page, 300)
                measure_pause(page, live_key, 2)
        for label in ("Check", "Show solution", "Check"):
            page.locator("button.bk-btn:visible").filter(
                has_text=re.compile(r"^\s*" + re.escape(label) + r"\s*$")).first.click()
            wait_idle(page, 500)
        answer = helpers.worker_modules(page)
        files |= set(answer["files"])
        missed |= set(answer.get("missed", []))
        context.close()
    return files, missed


def write_core_lists(pw, url: str, stdlib_out: Path | None, wheels_out: Path | None) -> None:
    """Drive a whole session and write the stdlib modules and the eager wheels' modules it imported (for a
    site built whole, or with the current split: modules found in the rest archives are added)."""
    files, missed = session_modules(pw, url)
    if missed:
        print(f"imports that missed the modules loaded at start: {sorted(missed)}")
    config = json.loads(urllib.request.urlopen(url + "config.json").read())
    lazy = {imp for entry in config.get("lazyPackages", {}).values() for imp in entry["imports"]}
    stdlib, wheels = set(), set()
    for f in files:
        module = module_of_file(f)
        if module is None:
            continue
        if f.startswith(SITE_PACKAGES):
            if module.split(".")[0] not in lazy:       # lazy wheels are installed whole on first import
                wheels.add(module)
        else:
            stdlib.add(module)
    # an import that missed, fetched a rest archive and then failed (an optional dependency absent in Pyodide) is
    # not in sys.modules: keep it in the core too, or every start would fetch that archive
    stdlib |= missed & set((config.get("stdlibRest") or {}).get("modules", []))
    wheels |= missed & {m for entry in config.get("wheelRest", {}).values() for m in entry["modules"]}
    if stdlib_out:
        stdlib_out.write_text(STDLIB_CORE_HEAD + "\n".join(sorted(stdlib)) + "\n")
        print(f"{len(stdlib)} stdlib modules written to {stdlib_out}")
    if wheels_out:
        wheels_out.write_text(WHEELS_CORE_HEAD + "\n".join(sorted(wheels)) + "\n")
        print(f"{len(wheels)} modules of the eager wheels written to {wheels_out}")
    used_lazy = sorted({m.split(".")[0] for m in map(module_of_file, files) if m and m.split(".")[0] in lazy})
    print(f"lazy wheels the session imported: {used_lazy or 'none'}")


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def fmt_range(values, scale=1.0, digits=2):
    values = [v * scale for v in values if v is not None]
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.median(values):.{digits}f} [{min(values):.{digits}f}-{max(values):.{digits}f}]"


def report(sites: list[Path], bare: list[dict], results: dict[Path, list[dict]]) -> None:
    bare_s = [b["s"] for b in bare]
    ref = statistics.median(bare_s)
    names = [f"site {i + 1}" for i in range(len(sites))]
    rows = []

    def ratio_row(label, getter, target):
        cells = []
        for site in sites:
            values = [getter(r) for r in results[site]]
            secs = [v for v in values if v is not None]
            ratios = [v / b for v, b in zip(values, bare_s) if v is not None]
            cells.append(f"{fmt_range(ratios)} ({med(secs):.2f} s)" if secs else "n/a")
        rows.append((label, cells, target))

    ratio_row("app cold, to interactive", lambda r: r["cold_s"], "<= 1.5")
    ratio_row("app warm reload, to interactive", lambda r: r["warm_s"], "<= 1.0")
    for key, title, *_ in SECTIONS[1:]:
        ratio_row(f"first open of {title} (shown)", lambda r, k=key: r["sections"][k]["shown_s"], "<= 0.35")
        ratio_row(f"first open of {title} (settled)", lambda r, k=key: r["sections"][k]["settled_s"], "")
    for label, key, target in [("bytes of a cold load, to interactive (MB)", "cold_bytes_to_interactive", ""),
                               ("bytes of a cold load, + offline copy (MB)", "cold_bytes_total", "<= 10"),
                               ("bytes of a warm reload (MB)", "warm_bytes", "0")]:
        rows.append((label, [fmt_range([r[key] for r in results[s]], 1e-6) for s in sites], target))
    rows.append(("requests of a cold load, to interactive",
                 [fmt_range([r["cold_requests_to_interactive"] for r in results[s]], digits=0) for s in sites], ""))
    rows.append(("requests of a warm reload (to server)",
                 [fmt_range([r["warm_requests"] for r in results[s]], digits=0) for s in sites], "0"))
    for key in PAUSE:
        rows.append((f"Pause -> Paused, {key} (ms, median)",
                     [fmt_range([(r.get("pause") or {}).get(key, {}).get("pause_ms") for r in results[s]], digits=0)
                      for s in sites], "<= 150"))
        rows.append((f"plot updates/s while training, {key}",
                     [fmt_range([(r.get("pause") or {}).get(key, {}).get("updates_per_s") for r in results[s]],
                                digits=1) for s in sites], ">= 10"))
    rows.append(("external requests", [str(sum(len(r["external_requests"]) for r in results[s])) for s in sites],
                 "0"))
    width = max(len(r[0]) for r in rows) + 2
    colw = max(28, max(len(c) for r in rows for c in r[1]) + 2)
    print()
    print(f"bare Pyodide + numpy (site 1, main thread): {fmt_range(bare_s)} s "
          f"(boot {fmt_range([b['boot_s'] for b in bare])} s, numpy {fmt_range([b['numpy_s'] for b in bare])} s)")
    print("ratio to bare: median [min-max] over rounds (median seconds); MB and ms are absolute")
    print(f"{'measure':<{width}}" + "".join(f"{n:>{colw}}" for n in names) + "  target")
    print("-" * (width + colw * len(names) + 8))
    for label, cells, target in rows:
        print(f"{label:<{width}}" + "".join(f"{c:>{colw}}" for c in cells) + f"  {target}")
    for site, name in zip(sites, names):
        print(f"\n{name}: {site}")
        first = results[site][0]
        stage_names = list(first["stages"])
        print("  stages of the cold start (ms since navigation; median over rounds; ratio to bare):")
        for stage in stage_names:
            values = [r["stages"].get(stage) for r in results[site]]
            m = med(values)
            print(f"    {m:8.0f}  {m / 1000 / ref:5.2f}  {stage}")
        print("  warm start stages (ms, round 1): " + ", ".join(f"{k} {v}" for k, v in first["warm_stages"].items()))
        biggest = sorted(first["cold_files"].items(), key=lambda kv: -kv[1])[:12]
        print("  biggest cold transfers (round 1): " + ", ".join(f"{p} {n / 1e6:.2f} MB" for p, n in biggest))
        warm = [f"{p} {c}" for p, c in first["warm_request_list"]]
        print(f"  warm reload requests (round 1): {warm if warm else 'none'}")
        if first.get("pause"):
            for key, p in first["pause"].items():
                print(f"  Pause {key}: {p['pause_ms_all']} ms; errors {p['errors'] or 'none'}")
        if not first.get("offline_ready"):
            print("  (the service worker did not report the site saved for offline use)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", action="append", help="a built site (repeat to compare; default site/)")
    parser.add_argument("--runs", type=int, default=2, help="rounds (each: bare + every site, fresh profiles)")
    parser.add_argument("--pause-clicks", type=int, default=10, help="Pause clicks per section (round 1)")
    parser.add_argument("--pause-rounds", type=int, default=1, help="rounds that also measure Pause")
    parser.add_argument("--read-s", type=float, default=10.0,
                        help="seconds the student reads the first section before opening the others (default 10)")
    parser.add_argument("--only", choices=["pause", "sections"], help="development: a cold start and this measure only")
    parser.add_argument("--write-stdlib-core", type=Path, metavar="PATH",
                        help="instead: drive a whole session on the first site and write the stdlib modules it "
                             "imports to PATH (pyfadml/app/web/stdlib-core.txt), then rebuild")
    parser.add_argument("--write-wheels-core", type=Path, metavar="PATH",
                        help="instead (or with --write-stdlib-core, in the same session): write the modules of the "
                             "eager wheels it imports to PATH (pyfadml/app/web/wheels-core.txt), then rebuild")
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    args = parser.parse_args(argv)
    sites = [Path(s).resolve() for s in (args.site or [str(ROOT / "site")])]
    for s in sites:
        if not (s / "index.html").is_file():
            parser.error(f"{s} is not a built site (run python build.py)")
    build = helpers.load_build_module()
    servers = []
    for s in sites:
        counter = Counter()
        server, url = start_server(build, s, counter)
        servers.append((s, server, url, counter))
    print(f"load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs; "
          f"{args.runs} round(s)", flush=True)
    from playwright.sync_api import sync_playwright
    if args.write_stdlib_core or args.write_wheels_core:
        try:
            with sync_playwright() as pw:
                write_core_lists(pw, servers[0][2], args.write_stdlib_core, args.write_wheels_core)
        finally:
            for _s, server, _u, _c in servers:
                server.shutdown()
        return 0
    bare, results = [], {s: [] for s in sites}
    try:
        with sync_playwright() as pw:
            for round_ in range(args.runs):
                bare.append(bare_boot(pw, servers[0][2]))
                print(f"round {round_ + 1}: bare {bare[-1]['s']:.2f} s", flush=True)
                for s, _server, url, counter in servers:
                    clicks = args.pause_clicks if round_ < args.pause_rounds else 0
                    r = measure_site(pw, url, counter, clicks, args.only, args.read_s)
                    if args.only:
                        continue
                    results[s].append(r)
                    print(f"  {s}: cold {r['cold_s']:.2f} s ({r['cold_bytes_total'] / 1e6:.1f} MB), warm "
                          f"{r['warm_s']:.2f} s ({r['warm_bytes'] / 1e6:.2f} MB, {r['warm_requests']} requests), "
                          + ", ".join(f"{k} {v['shown_s']:.2f}/{v['settled_s']:.2f} s"
                                      for k, v in r["sections"].items()), flush=True)
    finally:
        for _s, server, _u, _c in servers:
            server.shutdown()
    if args.only:
        return 0
    report(sites, bare, results)
    if args.json:
        args.json.write_text(json.dumps({"bare": bare, "sites": {str(s): r for s, r in results.items()}},
                                        indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
