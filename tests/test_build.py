"""build.py without a browser: pins are enforced, the site's checksums and lock are right."""
from __future__ import annotations

import base64
import csv
import hashlib
import importlib.util
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_build():
    spec = importlib.util.spec_from_file_location("pyfadml_build_under_test", ROOT / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_build()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty build cache in a temp dir (build.py's CACHE points there)."""
    folder = tmp_path / "cache"
    folder.mkdir()
    monkeypatch.setattr(build, "CACHE", folder)
    return folder


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The built site (tests/run.sh builds it first; built here if missing)."""
    folder = ROOT / "site"
    if not (folder / "SHA256SUMS").is_file():
        result = subprocess.run([sys.executable, str(ROOT / "build.py")], cwd=ROOT,
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-3000:]
    copy = tmp_path_factory.mktemp("site") / "site"
    with build.build_lock():            # not while another build replaces it
        shutil.copytree(folder, copy)
    return copy


def _tiny_wheel(path: Path, name="demo", version="1.0") -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{name}/__init__.py", "VALUE = 1\n")
        z.writestr(f"{name}/_speedups.c", "/* C */\n")
        z.writestr(f"{name}-{version}.dist-info/METADATA",
                   f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        z.writestr(f"{name}-{version}.dist-info/WHEEL",
                   "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp312-cp312-linux_x86_64\n")
        z.writestr(f"{name}-{version}.dist-info/RECORD", "")
    return path


# --- pins -----------------------------------------------------------------------------------

def test_tampered_pypi_wheel_is_refused_and_named(cache):
    name, version, file, sha = build.PYPI_WHEELS[0]
    (cache / "pypi").mkdir()
    (cache / "pypi" / file).write_bytes(b"not the wheel that was pinned")
    with pytest.raises(build.BuildError) as excinfo:
        build.pypi_wheels(build.Network(offline=True), pins=[(name, version, file, sha)])
    message = str(excinfo.value)
    assert file in message and "sha256 mismatch" in message and sha in message


def test_tampered_official_wheel_is_refused_against_the_official_lock(cache, monkeypatch):
    monkeypatch.setattr(build, "OFFICIAL_PACKAGES", ["numpy"])
    file = "numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl"
    lock = {"info": {"version": build.PYODIDE_VERSION},
            "packages": {"numpy": {"name": "numpy", "file_name": file, "depends": [],
                                   "sha256": hashlib.sha256(b"the real bytes").hexdigest()}}}
    (cache / "official").mkdir()
    (cache / "official" / file).write_bytes(b"tampered bytes")
    with pytest.raises(build.BuildError, match=file):
        build.official_wheels(build.Network(offline=True), lock)


def test_tampered_npm_tarball_is_refused(cache):
    (cache / "npm").mkdir()
    (cache / "npm" / build.PYODIDE_NPM_TARBALL).write_bytes(b"tampered")
    with pytest.raises(build.BuildError, match=build.PYODIDE_NPM_TARBALL):
        build.pyodide_core(build.Network(offline=True))


def test_offline_refuses_to_download(cache):
    with pytest.raises(build.BuildError, match="--offline"):
        build.pypi_wheels(build.Network(offline=True))
    assert not build.Network(offline=True).try_get("http://127.0.0.1:9/x", cache / "x")


def test_every_pypi_pin_has_version_and_sha256():
    for name, version, file, sha in build.PYPI_WHEELS:
        assert version in file, (name, file)
        assert len(sha) == 64 and int(sha, 16) >= 0, name
    assert len(build.PYODIDE_NPM_SHA256) == 64 and len(build.MIRROR_SHA256) == 64


# --- wheels ---------------------------------------------------------------------------------

def test_repack_is_deterministic_retags_and_regenerates_record(tmp_path, cache):
    src = _tiny_wheel(tmp_path / "demo-1.0-cp312-cp312-linux_x86_64.whl")
    first = build.repack_wheel(src, tmp_path / "a", drop_suffixes=(".c",), retag=True)
    build.CACHE = tmp_path / "other-cache"      # a second, uncached repack gives the same bytes
    second = build.repack_wheel(src, tmp_path / "b", drop_suffixes=(".c",), retag=True)
    assert first.name == "demo-1.0-py3-none-any.whl"
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as z:
        names = z.namelist()
        assert "demo/_speedups.c" not in names
        assert "Tag: py3-none-any" in z.read("demo-1.0.dist-info/WHEEL").decode()
        rows = list(csv.reader(io.StringIO(z.read("demo-1.0.dist-info/RECORD").decode())))
        for path, digest, size in rows:
            if path.endswith("RECORD"):
                continue
            data = z.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert digest == "sha256=" + expected.decode() and int(size) == len(data)
        assert sorted(r[0] for r in rows) == sorted(names)


def test_a_corrupted_wheel_is_a_named_build_error_not_a_zlib_traceback(tmp_path, cache):
    """A wheel whose bytes are damaged inside a compressed member (its sha256 matched a lock that was wrong
    too) fails to unpack: BuildError naming the file and what to do, not zlib.error."""
    src = tmp_path / "numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl"
    with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("numpy/__init__.py", bytes(range(256)) * 400)
        z.writestr("numpy-2.0.2.dist-info/WHEEL", "Wheel-Version: 1.0\n")
    data = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as z:
        info = z.getinfo("numpy/__init__.py")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for i in range(start + 5, start + 60):
        data[i] ^= 0xA5
    src.write_bytes(bytes(data))
    with pytest.raises(build.BuildError, match=r"numpy-2.0.2-cp312.*\.whl cannot be unpacked, the file is corrupted "
                                               r"\((error|BadZipFile)"):
        build.repack_wheel(src, tmp_path / "out", retag=True)


def test_render_template_insists_on_every_placeholder():
    assert build.render_template("a {{X}} b", {"X": "1"}, "t") == "a 1 b"
    with pytest.raises(build.BuildError, match="unknown placeholder"):
        build.render_template("{{Y}}", {}, "t")
    with pytest.raises(build.BuildError, match="not in the template"):
        build.render_template("none", {"X": "1"}, "t")


def test_csp_names_no_other_origin():
    assert "http" not in build.CSP and "*" not in build.CSP
    assert "'unsafe-eval'" not in build.CSP
    assert "default-src 'self'" in build.CSP and "connect-src 'self'" in build.CSP


# --- the built site -------------------------------------------------------------------------

def test_sha256sums_match_the_site_files(site):
    assert build.verify_checksums(site) == []


def test_checksums_notice_a_changed_file(tmp_path):
    folder = tmp_path / "site"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("b")
    build.checksums(folder)
    assert build.verify_checksums(folder) == []
    (folder / "sub" / "b.txt").write_text("B")
    (folder / "c.txt").write_text("c")
    assert build.verify_checksums(folder) == ["changed: sub/b.txt", "not listed: c.txt"]


def test_site_lock_lists_exactly_the_shipped_wheels(site):
    lock = json.loads((site / "pyodide" / "pyodide-lock.json").read_text())
    assert lock["info"]["version"] == build.PYODIDE_VERSION
    shipped = {p.name for p in (site / "pyodide").glob("*.whl")}
    listed = {entry["file_name"] for entry in lock["packages"].values()}
    assert shipped == listed
    for entry in lock["packages"].values():
        assert build.sha256_of(site / "pyodide" / entry["file_name"]) == entry["sha256"]
        assert entry["install_dir"] == "site" and entry["package_type"] == "package"
        assert all(dep in lock["packages"] for dep in entry["depends"])
    assert {"numpy", "panel", "bokeh", "pyfadml"} <= set(lock["packages"])
    assert not {"micropip", "pandas", "tornado"} & set(lock["packages"])


def test_official_inputs_match_the_official_lock(site):
    """Every official input (numpy...) had the official sha256; provenance.json records it."""
    official = json.loads((build.CACHE / f"pyodide-{build.PYODIDE_VERSION}" /
                           "pyodide-lock.json").read_text())
    origin = json.loads((site / "pyodide" / "provenance.json").read_text())
    lock = json.loads((site / "pyodide" / "pyodide-lock.json").read_text())
    for name in build.official_closure(official, build.OFFICIAL_PACKAGES):
        assert origin[name]["from_sha256"] == official["packages"][name]["sha256"]
        assert origin[name]["sha256"] == lock["packages"][name]["sha256"]
    assert set(origin) == set(lock["packages"])


def test_site_references_no_other_origin(site):
    for path in [site / "index.html", site / "index.js", site / "worker.js",
                 site / "config.json"]:
        text = path.read_text()
        assert "https://" not in text and "http://" not in text, path.name
    html = (site / "index.html").read_text()
    assert f'content="{build.CSP}"' in html


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_build_outputs_are_gitignored():
    """Nothing downloaded or generated by build.py can be committed by accident."""
    if subprocess.run(["git", "rev-parse", "--git-dir"], cwd=ROOT, capture_output=True).returncode:
        pytest.skip("not a git checkout")
    for path in ("site/index.html", ".cache/pypi/x.whl", "build/lib/x"):
        result = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT)
        assert result.returncode == 0, f"{path} is not git-ignored"
