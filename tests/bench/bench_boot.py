"""Benchmark: the worker's Python start (worker.js's BOOT) under Node.js, in CPU time, per stage (issue 10).

    .venv/bin/python tests/bench/bench_boot.py [--site site] [--site /tmp/before/site] [--runs 3]
                                               [--profile cprofile|importtime --out /tmp/boot-profile.txt]

For each built site: boots the site's Pyodide under Node with every wheel of its config.json (as the worker
does), then runs the very BOOT program of the site's worker.js (``import panel``, the app's module,
``create_app()``, ``write_doc()``) with the worker's globals, and records at every stage mark the **CPU time**
of the Node process (``process.cpuUsage``: user + system). On a shared machine at load 5-15 wall times in the
browser vary 2x from run to run (see bench_site.py, which measures what a student sees); CPU time of one
process varies far less, so a change to the Python side of the start shows here first. Sites are measured in
turns, run after run. What Node does not show: the page (rendering, Bokeh's JavaScript), downloads, and
anything the browser runs in parallel with Python.

``--profile cprofile`` writes cProfile's tables (cumulative, then internal time) from ``import panel`` to the
end of BOOT of the first site; ``--profile importtime`` writes ``python -X importtime``'s lines. cProfile's own
overhead inflates functions with many small calls: confirm a lever with plain runs before believing it.

Needs ``node`` and a built site. Not collected by pytest; it asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

RUNNER = r"""
const [site, mode, out] = process.argv.slice(2);
const fs = await import("fs");
const { loadPyodide } = await import(site + "/pyodide/pyodide.mjs");
const config = JSON.parse(fs.readFileSync(site + "/config.json"));
const workerJs = fs.readFileSync(site + "/worker.js", "utf8");
let boot = workerJs.slice(workerJs.indexOf("const BOOT = `") + 14);
boot = boot.slice(0, boot.indexOf("\n`;"));
// The worker's synchronous requests (lazy wheels, the rest of the stdlib) read the site's files.
globalThis.XMLHttpRequest = class {
  open(method, url) { this.url = url; }
  send() {
    const b = fs.readFileSync(site + decodeURIComponent(new URL(this.url).pathname).replace(/^\/site/, ""));
    this.status = 200;
    this.response = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  }
};
globalThis.pyfadmlPrecompiledJs = () => null;
const c0 = process.cpuUsage(), w0 = performance.now(), cpu = {}, wall = {};
const mark = (k) => { const c = process.cpuUsage(c0); cpu[k] = (c.user + c.system) / 1000; wall[k] = performance.now() - w0; };
const errs = [];
const py = await loadPyodide({
  indexURL: site + "/pyodide/", lockFileURL: site + "/pyodide/pyodide-lock.json",
  packages: (config.firstPackages || []).concat(config.packages),
  args: mode === "importtime" ? ["-X", "importtime"] : [], stderr: (l) => errs.push(l), stdout: () => {},
});
mark("BOOT's set-up (shims, finders)");
for (const [k, v] of Object.entries({
  sendPatch: () => {}, PROGRESS: (detail) => mark(detail), APP: config.app,
  LAZY_PACKAGES: JSON.stringify(config.lazyPackages || {}), STDLIB_REST: JSON.stringify(config.stdlibRest || null),
  WHEEL_REST: JSON.stringify(config.wheelRest || {}),
  PACKAGE_BASE_URL: "file:///site/pyodide/", PANEL_CDN_ROOT: "http://127.0.0.1/static/panel/", PAGE_SCENE: "",
})) py.globals.set(k, v);
if (mode === "cprofile") {
  boot = boot.replace(/\nPROGRESS\("import panel"/, "\nimport cProfile as _cp\n_prof = _cp.Profile()\n_prof.enable()$&");
  boot = boot.replace(/\nawait write_doc\(\)\s*$/, "\n_res = await write_doc()\n_prof.disable()\nimport io as _io, pstats as _ps\n" +
    "_b = _io.StringIO()\n_ps.Stats(_prof, stream=_b).sort_stats('cumulative').print_stats(120)\n" +
    "_ps.Stats(_prof, stream=_b).sort_stats('tottime').print_stats(60)\nPROFILE = _b.getvalue()\n_res\n");
}
await py.runPythonAsync(boot);
mark("written");
if (mode === "cprofile") fs.writeFileSync(out, py.globals.get("PROFILE"));
if (mode === "importtime") fs.writeFileSync(out, errs.filter((l) => l.startsWith("import time")).join("\n") + "\n");
console.log(JSON.stringify({ cpu, wall }));
process.exit(0);    // the app's idle prebuild keeps Pyodide's event loop alive
"""


def run_once(runner: Path, site: Path, mode: str = "plain", out: Path | None = None) -> dict:
    res = subprocess.run([shutil.which("node"), str(runner), str(site), mode, str(out or "")],
                         capture_output=True, text=True, timeout=600)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise SystemExit(f"the start failed under Node for {site}:\n{res.stderr[-3000:]}")
    return json.loads(lines[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", action="append", help="a built site (repeat to compare; default site/)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", choices=["cprofile", "importtime"], help="profile the first site once instead")
    parser.add_argument("--out", type=Path, default=Path("/tmp/boot-profile.txt"), help="where --profile writes")
    args = parser.parse_args(argv)
    sites = [Path(s).resolve() for s in (args.site or [str(ROOT / "site")])]
    if shutil.which("node") is None:
        parser.error("needs node (bash tests/run.sh installs it with npm)")
    for s in sites:
        if not (s / "worker.js").is_file() or not (s / "pyodide" / "pyodide.mjs").is_file():
            parser.error(f"{s} is not a built site (python build.py)")
    with tempfile.TemporaryDirectory() as tmp:
        runner = Path(tmp) / "boot.mjs"
        runner.write_text(RUNNER)
        if args.profile:
            run_once(runner, sites[0], args.profile, args.out)
            print(f"{args.profile} of {sites[0]}'s start written to {args.out}")
            return 0
        results: dict[Path, list[dict]] = {s: [] for s in sites}
        for r in range(args.runs):
            for s in sites:
                results[s].append(run_once(runner, s))
                print(f"run {r + 1}: {s}: {results[s][-1]['cpu']['written']:.0f} ms CPU", flush=True)
    print("\nCPU ms of each stage of the worker's start under Node (median over runs [min-max])")
    marks = list(results[sites[0]][0]["cpu"])
    # a mark is where a stage starts (worker.js's PROGRESS); the first stage is everything before the first mark
    stages = [("boot Pyodide, install the wheels", marks[0])] + [(marks[j - 1], marks[j]) for j in range(1, len(marks))]
    width = max(len(label) for label, _ in stages) + 2
    print(f"{'stage':<{width}}" + "".join(f"{'site ' + str(i + 1):>22}" for i in range(len(sites))))
    for label, end in stages + [("total", "written")]:
        cells = []
        for s in sites:
            values = []
            for run in results[s]:
                names = list(run["cpu"])
                if end in names:
                    j = names.index(end)
                    start = 0.0 if j == 0 or label == "total" else run["cpu"][names[j - 1]]
                    values.append(run["cpu"][end] - start)
            cells.append(f"{statistics.median(values):.0f} [{min(values):.0f}-{max(values):.0f}]" if values else "n/a")
        print(f"{label:<{width}}" + "".join(f"{c:>22}" for c in cells))
    for i, s in enumerate(sites):
        print(f"site {i + 1}: {s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
