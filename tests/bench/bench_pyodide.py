"""Benchmark: bench_core's training steps inside Pyodide under Node.js: the page's NumPy (no BLAS, 32-bit,
WebAssembly), without the page.

For each source tree given (default: this checkout), mounts the tree into Pyodide's file system, imports its
``pyfadml`` and ``tests/bench/bench_core.py``, and times one float32 training step of each demo model (best of
5 rounds, after every model has run for 0.5 s), at the demo's sizes (and others with ``--scales``). Trees are measured one after the other in one
run, so an old checkout (``git worktree add /tmp/old <commit>``, or ``git archive``) and this one share the
machine's conditions.

Run:  .venv/bin/python tests/bench/bench_pyodide.py [--tree /tmp/old] [--tree .] [--only lstm50,cnn16]

Needs ``node`` and a built site (it takes Pyodide and the NumPy wheel from ``site/pyodide``). Not collected by
pytest; it asserts nothing and prints a table of ms per step.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_core import SPECS  # noqa: E402

RUNNER = """
import { loadPyodide } from "%(core)s/pyodide.mjs";
const py = await loadPyodide({ indexURL: "%(core)s/" });
await py.loadPackage(["%(core)s/%(numpy)s"]);
py.FS.mkdirTree("/mnt/src");
py.FS.mount(py.FS.filesystems.NODEFS, { root: %(tree)s }, "/mnt/src");
const out = await py.runPythonAsync(`
import sys, time, json
sys.path.insert(0, "/mnt/src"); sys.path.insert(0, "/mnt/src/tests/bench")
import numpy as np, bench_core as bc
res = {}
steps = {f"{key} {s}x": bc.pyfadml_step_fn(bc.scaled(bc.SPECS[key], s), np.float32)
         for key in %(keys)s for s in %(scales)s}
for step in steps.values():          # warm up every model first: WebAssembly is compiled by tiers
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 0.5:
        step()
for name, step in steps.items():
    best = 1e9
    for r in range(5):
        n, t0 = 0, time.perf_counter()
        while n < 2 or time.perf_counter() - t0 < %(seconds)s / 5:
            step()
            n += 1
        best = min(best, (time.perf_counter() - t0) / n)
    res[name] = 1000 * best
json.dumps(res)
`);
console.log(out);
"""


def run_tree(tree: Path, keys, scales, seconds: float) -> dict:
    core = ROOT / "site" / "pyodide"
    numpy_wheel = next(core.glob("numpy-*.whl")).name
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "run.mjs"
        script.write_text(RUNNER % dict(core=core, numpy=numpy_wheel, tree=json.dumps(str(tree)),
                                        keys=json.dumps(keys), scales=json.dumps(scales), seconds=seconds))
        res = subprocess.run([shutil.which("node"), str(script)], capture_output=True, text=True, timeout=3600)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise SystemExit(f"Pyodide run failed for {tree}:\n{res.stderr[-3000:]}")
    return json.loads(lines[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", help="a source checkout (repeat to compare; default: .)")
    parser.add_argument("--only", default="", help="comma-separated model keys: " + ",".join(SPECS))
    parser.add_argument("--scales", default="1", help="comma-separated size factors (default 1)")
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement (default 1 s)")
    args = parser.parse_args(argv)
    if shutil.which("node") is None or not (ROOT / "site" / "pyodide" / "pyodide.mjs").is_file():
        parser.error("needs node and a built site (python build.py)")
    keys = [k for k in args.only.split(",") if k] or list(SPECS)
    for k in keys:
        if k not in SPECS:
            parser.error(f"unknown model {k!r}; choose from {','.join(SPECS)}")
    scales = [int(s) for s in args.scales.split(",") if s]
    trees = [Path(t).resolve() for t in (args.tree or [str(ROOT)])]
    results = [run_tree(t, keys, scales, args.seconds) for t in trees]
    print("ms per float32 training step in Pyodide (Node.js), best of 5 rounds")
    head = f"{'model':<14}" + "".join(f"{'tree ' + str(i + 1):>12}" for i in range(len(trees)))
    if len(trees) == 2:
        head += f"{'2 vs 1':>10}"
    print(head)
    print("-" * len(head))
    for key in results[0]:
        row = f"{key:<14}" + "".join(f"{r[key]:>12.2f}" for r in results)
        if len(trees) == 2:
            row += f"{results[0][key] / results[1][key]:>9.2f}x"
        print(row)
    for i, t in enumerate(trees):
        print(f"tree {i + 1}: {t}")
    if len(trees) == 2:
        print("2 vs 1 = tree 1 time / tree 2 time (> 1: tree 2 is faster)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
