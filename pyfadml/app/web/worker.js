// Web Worker: boots Pyodide from this site, loads the shipped wheels through the site's
// pyodide-lock.json (Pyodide checks each sha256), builds the Panel app and renders it to JSON for
// the main thread.  Modelled on Panel's panel/_templates/pyodide_worker.js, without micropip.
"use strict";

let pyodide = null;
const t0 = performance.now();
const timings = {};

function post(msg) {
  self.postMessage(msg);
}

function status(stage, progress, detail) {
  const key = detail && stage === "Starting app" ? `${stage}: ${detail}` : stage;
  if (!(key in timings)) timings[key] = Math.round(performance.now() - t0);
  post({ type: "status", stage: stage, progress: progress, detail: detail || "",
         timings: { worker: { ...timings, origin: performance.timeOrigin + t0 } } });
}

function fail(text, fatal) {
  post({ type: "error", text: text, fatal: fatal });
}

// Called by Panel (panel.io.pyodide._link_docs_worker) for every change made in Python.  The page
// answers with "applied" (``count`` messages) once it has painted them; ``pyfadmlBacklog()`` is how many it
// has not painted yet
// (LiveTraining waits while the page is behind, so a click never queues behind a pile of old frames).
// Sending the changes of one Python step as one message was tried: the page then failed to decode
// some buffers ("Offset is outside the bounds of the DataView"), so each change leaves on its own.
let patchesInFlight = 0;

function sendPatch(patch, buffers, msg_id) {
  patchesInFlight += 1;
  post({ type: "patch", patch: patch, buffers: buffers });
}

self.pyfadmlBacklog = () => patchesInFlight;

// Panel builds one JS function with pyodide.code.run_js (a JS eval), which the site's CSP forbids
// ('unsafe-eval' is not allowed).  The same function, written here, is handed out instead; any
// other run_js call still goes to eval and is reported as a CSP violation.
const PRECOMPILED_JS = new Map([
  [`((entries) => {
  for (let entry of entries) {
    if (entry[1] === undefined) {
      entry[1] = null;
    }
  }
  return Object.fromEntries(entries);
})`, (entries) => {
    for (let entry of entries) {
      if (entry[1] === undefined) {
        entry[1] = null;
      }
    }
    return Object.fromEntries(entries);
  }],
]);
const compact = (code) => code.replace(/\s+/g, "");
const PRECOMPILED_BY_TEXT = new Map([...PRECOMPILED_JS].map(([code, fn]) => [compact(code), fn]));
self.pyfadmlPrecompiledJs = (code) => PRECOMPILED_BY_TEXT.get(compact(code)) || null;

const BOOT = `
import os
import js
import pyodide.code
import pyodide.ffi

_run_js_eval = pyodide.code.run_js

def _run_js(code, /):
    function = js.pyfadmlPrecompiledJs(code)
    return _run_js_eval(code) if function is None else function

pyodide.code.run_js = _run_js

# Panel >= 1.8 compares values with pyodide.ffi.jsnull (Pyodide >= 0.28).  On Pyodide 0.27 a JS
# null already arrives as None, so a fresh sentinel that nothing equals is the correct stand-in.
if not hasattr(pyodide.ffi, "jsnull"):
    class _JsNull:
        def __repr__(self):
            return "jsnull"
    pyodide.ffi.jsnull = _JsNull()

os.environ["PANEL_CDN_ROOT"] = PANEL_CDN_ROOT
os.environ["PYFADML_SCENE"] = PAGE_SCENE     # the page's #fragment: the scene to open (pyfadml.app.scene)

import hashlib
import importlib
import importlib.abc
import io
import json
import sys
import zipfile


# Imports that reached a finder below, i.e. missed the modules loaded at start: each fetched an archive, or found
# it fetched already (the worker's {type: "modules"} answer reports them: tests, and the measurement that writes
# stdlib-core.txt and wheels-core.txt, which must see an import that fetched an archive and then failed).
_MISSED = []


def _fetch(base_url, entry, what):
    """The bytes of the site file entry["file_name"] (a synchronous request, allowed in a worker), checked
    against entry["sha256"]."""
    xhr = js.XMLHttpRequest.new()
    xhr.open("GET", base_url + entry["file_name"], False)
    xhr.responseType = "arraybuffer"
    xhr.send()
    if xhr.status != 200:
        raise ImportError(f"{entry['file_name']}: HTTP {xhr.status}")
    data = xhr.response.to_py().tobytes()
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise ImportError(f"{entry['file_name']}: sha256 does not match the site's {what}")
    return data


def _invalidate_folders(target, names):
    """Make the import system see files just unpacked into target: only the finders of the folders that got
    new entries (site-packages and the package folders), never importlib.invalidate_caches(), which would also
    make every zipimporter of the stdlib zip (one per stdlib package imported so far, ~100) re-read its whole
    directory in Python (cProfile of the start under Node: 1.1 s of 11.7 s)."""
    folders = {target}
    for name in names:
        parts = name.split("/")[:-1]
        folders.update(target + "/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1))
    for folder in folders:
        finder = sys.path_importer_cache.get(folder)
        if finder is not None:
            finder.invalidate_caches()


class _LazyWheels(importlib.abc.MetaPathFinder):
    """Install a shipped wheel the first time one of its modules is imported.

    The wheels the app does not import at start (narwhals, Markdown, ...) are left out of
    loadPyodide's packages; a synchronous request (allowed in a worker) fetches one when it is needed and
    its sha256 is checked against the site's lock before it is unpacked into site-packages.
    """

    def __init__(self, packages, base_url, target):
        self.packages, self.base_url, self.target = packages, base_url, target
        self.by_import = {imp: name for name, entry in packages.items()
                          for imp in entry["imports"]}
        self.installed = set()

    def find_spec(self, fullname, path=None, target=None):
        name = self.by_import.get(fullname.partition(".")[0])
        if name is not None and name not in self.installed:
            self._install(name, fullname)
        return None       # the regular finders now find the unpacked modules

    def _install(self, name, fullname):
        self.installed.add(name)
        entry = self.packages[name]
        for dep in entry["depends"]:
            if dep in self.packages and dep not in self.installed:
                self._install(dep, fullname)
        _MISSED.append(fullname)
        data = _fetch(self.base_url, entry, "lock")
        zipfile.ZipFile(io.BytesIO(data)).extractall(self.target)
        # Only site-packages changed (a lazy wheel's packages are new folders): see _invalidate_folders.
        _invalidate_folders(self.target, [])


class _WheelRest(importlib.abc.MetaPathFinder):
    """The modules of the eager wheels the page does not import at start live in pyodide/<wheel>-rest.zip
    (build.py splits each wheel by pyfadml/app/web/wheels-core.txt).  Last on sys.meta_path, this finder only
    sees imports every other finder missed: for a module of a rest archive it fetches that archive once (a
    synchronous request, sha256 checked against config.json), unpacks it into site-packages, makes the
    folders' finders see the new files, and finds the module there."""

    def __init__(self, rests, base_url, target):
        self.rests, self.base_url, self.target = rests, base_url, target
        self.by_module = {m: name for name, entry in rests.items() for m in entry["modules"]}
        self.installed = set()

    def find_spec(self, fullname, path=None, target=None):
        name = self.by_module.get(fullname)
        if name is None:
            return None
        _MISSED.append(fullname)
        if name in self.installed:
            return None           # unpacked already: the import fails as it would with the whole wheel
        self.installed.add(name)
        data = _fetch(self.base_url, self.rests[name], "config.json")
        archive = zipfile.ZipFile(io.BytesIO(data))
        archive.extractall(self.target)
        _invalidate_folders(self.target, archive.namelist())
        return importlib.machinery.PathFinder.find_spec(fullname, path)


class _StdlibRest(importlib.abc.MetaPathFinder):
    """The standard-library modules the page does not import at start live in python_stdlib_rest.zip
    (build.py splits the stdlib by pyfadml/app/web/stdlib-core.txt).  Last on sys.meta_path, this finder
    only sees imports every other finder missed: for a stdlib name it fetches that zip once (a
    synchronous request, sha256 checked against config.json), puts it on sys.path and on the __path__
    of the stdlib packages, and finds the module there."""

    CORE = "/lib/python312.zip"
    REST = "/lib/python312_rest.zip"

    def __init__(self, entry, base_url):
        self.entry, self.base_url, self.installed = entry, base_url, False
        self.modules = frozenset(entry["modules"]) if entry else frozenset()

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.modules:
            return None
        _MISSED.append(fullname)
        if not self.installed:
            self._install()
        if path is not None:
            path = self._extend(path)
        return importlib.machinery.PathFinder.find_spec(fullname, path)

    def _extend(self, path):
        extra = [p.replace(self.CORE, self.REST, 1) for p in path if p.startswith(self.CORE + "/")]
        for p in extra:
            if p not in path:
                path.append(p)      # the package's own __path__: later submodules are found too
        return path

    def _install(self):
        self.installed = True
        data = _fetch(self.base_url, self.entry, "config.json")
        with open(self.REST, "wb") as f:
            f.write(data)
        sys.path.insert(sys.path.index(self.CORE) + 1 if self.CORE in sys.path else len(sys.path), self.REST)
        # A new path needs no invalidate_caches() (see _LazyWheels); drop any stale entry of it.
        sys.path_importer_cache.pop(self.REST, None)


import importlib.machinery

_site_packages = next(p for p in sys.path if p.endswith("site-packages"))
sys.meta_path.append(_StdlibRest(json.loads(STDLIB_REST), PACKAGE_BASE_URL))
sys.meta_path.append(_WheelRest(json.loads(WHEEL_REST), PACKAGE_BASE_URL, _site_packages))
sys.meta_path.insert(0, _LazyWheels(json.loads(LAZY_PACKAGES), PACKAGE_BASE_URL, _site_packages))

PROGRESS("import panel", 0.82)
from panel.io.pyodide import init_doc, write_doc

init_doc()
_module, _function = APP.split(":")
PROGRESS(f"import {_module}", 0.85)
_create_app = getattr(importlib.import_module(_module), _function)
PROGRESS(f"{_function}()", 0.88)
_create_app().servable()
PROGRESS("write_doc()", 0.92)
await write_doc()
`;

async function start() {
  const config = await (await fetch("config.json")).json();
  const base = new URL(".", self.location.href);
  const indexURL = new URL(config.indexURL, base).href;

  // Every wheel is named in loadPyodide's ``packages``: Pyodide then downloads them (each checked against
  // the sha256 in the site's lock) as soon as it has the lock, while the WebAssembly compiles and Python
  // boots, and installs them once Python is up. A separate loadPackage after the boot (as before) only
  // started the downloads then, and numpy's and Panel's in two rounds (tests/bench/bench_site.py).
  const packages = config.packages;
  status("Loading Python", 0.02, `Pyodide ${config.pyodideVersion} with ${packages.join(", ")}`);
  importScripts(indexURL + "pyodide.js");
  pyodide = await loadPyodide({
    indexURL: indexURL,
    lockFileURL: new URL(config.lockFileURL, base).href,
    packages: packages,
    stdout: (line) => console.log(line),
    stderr: (line) => console.warn(line),
  });
  const missing = packages.filter((name) => !(name in pyodide.loadedPackages));
  if (missing.length) throw new Error(`these packages could not be loaded (see the console): ${missing.join(", ")}`);

  status("Starting app", 0.8, "start");
  pyodide.globals.set("sendPatch", sendPatch);
  pyodide.globals.set("PROGRESS", (detail, progress) => status("Starting app", progress, detail));
  pyodide.globals.set("APP", config.app);
  pyodide.globals.set("LAZY_PACKAGES", JSON.stringify(config.lazyPackages || {}));
  pyodide.globals.set("STDLIB_REST", JSON.stringify(config.stdlibRest || null));
  pyodide.globals.set("WHEEL_REST", JSON.stringify(config.wheelRest || {}));
  pyodide.globals.set("PACKAGE_BASE_URL", indexURL);
  pyodide.globals.set("PANEL_CDN_ROOT", new URL(config.panelCdnRoot, base).href);
  // index.js starts this worker as worker.js#<the page's fragment>: the scene the address holds
  pyodide.globals.set("PAGE_SCENE", decodeURIComponent(self.location.hash.slice(1)));
  const [docsJson, renderItems, rootIds] = await pyodide.runPythonAsync(BOOT);
  status("Starting app", 0.94, "render");
  post({ type: "render", docs_json: docsJson, render_items: renderItems, root_ids: rootIds });
}

const LINK = `
from panel.io.state import state
from panel.io.pyodide import _link_docs_worker

_link_docs_worker(state.curdoc, sendPatch, setter="js")
`;

const PATCH = `
from panel.io.state import state
from panel.io.pyodide import _convert_json_patch

state.curdoc.apply_json_patch(_convert_json_patch(patch), setter="js")
`;

const LOCATION = `
import json
from panel.io.state import state
from panel.util import edit_readonly

if state.location:
    loc_data = json.loads(location)
    with edit_readonly(state.location):
        state.location.param.update({
            k: v for k, v in loc_data.items() if k in state.location.param
        })
`;

async function handle(msg) {
  if (msg.type === "rendered") {
    await pyodide.runPythonAsync(LINK);
    post({ type: "linked" });
  } else if (msg.type === "patch") {
    try {
      pyodide.globals.set("patch", msg.patch);
      await pyodide.runPythonAsync(PATCH);
    } catch (e) {
      fail(`Python raised an error while handling a change:\n${e.message || e}`, false);
    } finally {
      post({ type: "idle" });
    }
  } else if (msg.type === "modules") {
    // The files of every imported module (tests and build measurements: which stdlib and wheel modules are
    // used) and the imports that missed them (see _MISSED), after importing msg.importing (names; tests use it to import
    // a module outside the core stdlib or a wheel's core).
    for (const name of msg.importing || []) pyodide.pyimport(name);
    const answer = JSON.parse(pyodide.runPython(
      "import json, sys\njson.dumps({'files': sorted({str(getattr(m, '__file__', None)) for m in list(sys.modules.values())}), " +
      "'missed': _MISSED})"));
    post({ type: "modules", files: answer.files.filter((f) => f !== "None"), missed: answer.missed });
  } else if (msg.type === "location") {
    pyodide.globals.set("location", msg.location);
    await pyodide.runPythonAsync(LOCATION);
  }
}

// Messages are handled one after the other, in the order they came.
let queue = Promise.resolve();
self.onmessage = (event) => {
  const msg = event.data;
  if (msg.type === "applied") {         // not queued: it only counts (the page acks after painting)
    patchesInFlight = Math.max(0, patchesInFlight - (msg.count || 1));
    return;
  }
  queue = queue.then(() => handle(msg)).catch((e) => fail(`${e.message || e}`, msg.type === "rendered"));
};

self.addEventListener("unhandledrejection", (event) => {
  fail(`Unhandled error in the Python worker: ${event.reason && event.reason.message || event.reason}`, false);
});

start().catch((e) => fail(`Python failed to start:\n${e && e.message ? e.message : e}`, true));
