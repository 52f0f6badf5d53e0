"""build.py without a browser: pins are enforced, the site's checksums and lock are right."""
from __future__ import annotations

import base64
import csv
import hashlib
import importlib.util
import io
import json
import gzip
import shutil
import subprocess
import sys
import tarfile
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


def test_official_inputs_match_the_official_lock(site, tmp_path):
    """Every official input (numpy...) had the official sha256; provenance.json records it."""
    core = build.pyodide_core(build.Network(offline=True), tmp_path / "core")
    official = json.loads((core / "pyodide-lock.json").read_text())
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


# --- only verified bytes: derived files in .cache/ ------------------------------------------

def test_a_changed_repacked_wheel_is_made_again(tmp_path, cache, capsys):
    src = _tiny_wheel(tmp_path / "demo-1.0-cp312-cp312-linux_x86_64.whl")
    first = build.repack_wheel(src, tmp_path / "a", drop_suffixes=(".c",), retag=True)
    [cached] = (cache / "repacked").glob("*/demo-1.0-py3-none-any.whl")
    data = bytearray(cached.read_bytes())
    data[len(data) // 2] ^= 1                     # one changed byte
    cached.write_bytes(bytes(data))
    again = build.repack_wheel(src, tmp_path / "b", drop_suffixes=(".c",), retag=True)
    assert again.read_bytes() == first.read_bytes()
    assert cached.read_bytes() == first.read_bytes()
    assert "demo-1.0-py3-none-any.whl changed after it was made" in capsys.readouterr().out


def test_a_changed_gz_copy_is_made_again(tmp_path, cache):
    site = tmp_path / "site"
    site.mkdir()
    text = ("console.log('x');\n" * 1000).encode()
    (site / "a.js").write_bytes(text)
    assert build.compress(site) == 1
    [cached] = (cache / "gz").glob("*/a.js.gz")
    cached.write_bytes(gzip.compress(b"tampered"))
    (site / "a.js.gz").unlink()
    build.compress(site)
    assert gzip.decompress((site / "a.js.gz").read_bytes()) == text


@pytest.mark.skipif(build.find_python312() is None, reason="no CPython 3.12 to precompile with")
def test_a_changed_precompiled_stdlib_is_made_again(tmp_path, cache, capsys):
    src = tmp_path / "python_stdlib.zip"
    with zipfile.ZipFile(src, "w") as z:
        z.writestr("mod.py", "X = 1\n")
    python312 = build.find_python312()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = build.precompile_stdlib(src, tmp_path / "a" / src.name, python312)
    [cached] = (cache / "stdlib").glob("*/python_stdlib.zip")
    cached.write_bytes(cached.read_bytes()[:-1] + b"?")
    again = build.precompile_stdlib(src, tmp_path / "b" / src.name, python312)
    assert again.read_bytes() == first.read_bytes()
    assert "python_stdlib.zip changed after it was made" in capsys.readouterr().out


def _fake_pyodide_tarball(path: Path) -> str:
    with tarfile.open(path, "w:gz") as tar:
        for name in build.PYODIDE_CORE_FILES + ["pyodide-lock.json"]:
            data = (json.dumps({"info": {"version": build.PYODIDE_VERSION}, "packages": {}})
                    if name == "pyodide-lock.json" else f"official {name}").encode()
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_pyodide_core_comes_from_the_verified_tarball_every_time(cache, monkeypatch):
    (cache / "npm").mkdir()
    sha = _fake_pyodide_tarball(cache / "npm" / build.PYODIDE_NPM_TARBALL)
    monkeypatch.setattr(build, "PYODIDE_NPM_SHA256", sha)
    core = build.pyodide_core(build.Network(offline=True))
    (core / "pyodide.asm.js").write_text("tampered")
    stale = cache / f"pyodide-{build.PYODIDE_VERSION}"      # the layout of older builds
    stale.mkdir()
    (stale / "pyodide.asm.js").write_text("tampered")
    core = build.pyodide_core(build.Network(offline=True))
    assert (core / "pyodide.asm.js").read_text() == "official pyodide.asm.js"
    assert stale in build.clean_cache() and not stale.exists()


def test_unused_derived_files_are_removed(tmp_path, cache):
    src = _tiny_wheel(tmp_path / "demo-1.0-cp312-cp312-linux_x86_64.whl")
    build._used_derived.clear()
    build.repack_wheel(src, tmp_path / "a", retag=True)
    old = cache / "repacked" / "0123456789abcdef01234567"
    old.mkdir()
    (old / "pyfadml-0.1.0-py3-none-any.whl").write_bytes(b"from an older build")
    assert build.clean_cache() == [old]
    assert len(list((cache / "repacked").iterdir())) == 1


def test_same_inputs_give_a_byte_identical_site_even_after_tampering(tmp_path, capsys):
    """Two builds from the same inputs give the same SHA256SUMS; between them a byte is changed
    in a cached repacked wheel, a cached .gz and the unpacked Pyodide core: all are made again."""
    target = tmp_path / "site"
    with build.build_lock():
        build.build(offline=True, site=target)
        first = (target / "SHA256SUMS").read_text()
        for pattern in ("repacked/*/pyfadml-*.whl", "gz/*/pyodide.asm.js.gz"):
            [victim] = build.CACHE.glob(pattern)
            data = bytearray(victim.read_bytes())
            data[100] ^= 1
            victim.write_bytes(bytes(data))
        core = build.CACHE / "work" / "pyodide-core" / "pyodide.asm.js"
        core.write_text(core.read_text() + "// tampered")
        capsys.readouterr()
        build.build(offline=True, site=target)
    log = capsys.readouterr().out
    assert (target / "SHA256SUMS").read_text() == first
    assert build.verify_checksums(target) == []
    assert log.count("changed after it was made") == 2
    assert "pyfadml-" in log and "pyodide.asm.js.gz" in log


def test_missing_npm_is_named_with_how_to_install_it(tmp_path):
    """A fresh machine without npm: build.py says so, with no traceback."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copy2(ROOT / "build.py", checkout / "build.py")
    result = subprocess.run([sys.executable, str(checkout / "build.py")], cwd=checkout,
                            capture_output=True, text=True, env={"PATH": str(bin_dir)})
    assert result.returncode == 1
    assert "npm is not installed" in result.stderr and "apt-get install npm" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


# --- the README ------------------------------------------------------------------------------

def test_readme_starts_with_the_two_commands_and_links_only_inside_the_repository():
    text = (ROOT / "README.md").read_text()
    block = text.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    assert block[0].startswith("python3 -m venv .venv") and "build.py --serve" in block[0]
    assert block[1].startswith("bash tests/run.sh")
    assert "../" not in text
    import re
    for target in re.findall(r"\]\(([^)]+)\)", text):
        assert "://" not in target and not target.startswith("/"), target
        assert (ROOT / target.split("#")[0]).exists(), target
    for needed in ("--host 0.0.0.0", "npm", "~155 MB", ".venv", "_headers", "nginx.conf",
                   "Share", "offline"):
        assert needed in text, needed


def test_the_stdlib_is_split_into_what_the_page_imports_and_the_rest(site):
    """python_stdlib.zip (mounted at start) holds the modules of stdlib-core.txt, python_stdlib_rest.zip every
    other stdlib entry; config.json names the rest's sha256 and modules (the worker fetches it on demand)."""
    build = _load_build()
    core_zip, rest_zip = site / "pyodide" / "python_stdlib.zip", site / "pyodide" / build.STDLIB_REST
    with zipfile.ZipFile(core_zip) as z:
        core = {build.stdlib_module_of(n) for n in z.namelist()} - {None}
    with zipfile.ZipFile(rest_zip) as z:
        rest_names = z.namelist()
    rest = {build.stdlib_module_of(n) for n in rest_names} - {None}
    assert core == build.stdlib_core_modules() and not core & rest
    assert {"numpy", "json", "asyncio"} - core == {"numpy"} and {"xml.dom.minidom", "email.mime.text"} <= rest
    entry = json.loads((site / "config.json").read_text())["stdlibRest"]
    assert entry["file_name"] == rest_zip.name and entry["sha256"] == build.sha256_of(rest_zip)
    assert set(entry["modules"]) == rest
    with pytest.raises(build.BuildError, match="not_a_module"):
        build.split_stdlib(core_zip, {"json", "not_a_module"})


def test_a_wheel_keeps_the_modules_the_page_imports_and_the_data_of_their_packages():
    names = ["demo/__init__.pyc", "demo/used.pyc", "demo/unused.pyc", "demo/used.pyi",
             "demo/sub/__init__.pyc", "demo/sub/x.pyc", "demo/sub/deep/__init__.pyc", "demo/sub/deep/y.pyc",
             "demo/templates/page.html", "demo/sub/deep/style.css", "demo/include/demo.h",
             "demo/_ext.cpython-312-wasm32-emscripten.so", "demo/_tests.cpython-312-wasm32-emscripten.so",
             "demo/__pycache__/src.cpython-312.pyc", "demo/src.py",
             "demo-1.0.dist-info/METADATA", "demo-1.0.dist-info/RECORD"]
    assert build.wheel_module_of("demo/_ext.cpython-312-wasm32-emscripten.so") == "demo._ext"
    assert build.wheel_module_of("demo/__pycache__/src.cpython-312.pyc") == "demo.src"
    assert build.wheel_module_of("demo/sub/__init__.pyc") == "demo.sub"
    assert build.wheel_module_of("demo-1.0.dist-info/RECORD") is None
    core, rest = build.wheel_core_of(names, {"demo.used", "demo.sub.x", "demo._ext", "demo.src"})
    assert sorted(rest) == ["demo/_tests.cpython-312-wasm32-emscripten.so", "demo/include/demo.h",
                            "demo/sub/deep/__init__.pyc", "demo/sub/deep/style.css", "demo/sub/deep/y.pyc",
                            "demo/unused.pyc", "demo/used.pyi"]
    # parent packages of what is kept, the data of kept packages (templates/ belongs to demo), dist-info
    assert {"demo/__init__.pyc", "demo/sub/__init__.pyc", "demo/templates/page.html",
            "demo-1.0.dist-info/RECORD", "demo/__pycache__/src.cpython-312.pyc", "demo/src.py"} <= set(core)
    assert sorted(core + rest) == sorted(names)


def test_a_split_wheel_is_a_valid_wheel_plus_a_rest_archive_and_deterministic(tmp_path, cache, monkeypatch):
    src = tmp_path / "demo-1.0-py3-none-any.whl"
    noise = b"".join(hashlib.sha512(i.to_bytes(4, "big")).digest() for i in range(400))   # 25.6 kB, incompressible
    with zipfile.ZipFile(src, "w") as z:
        z.writestr("demo/__init__.py", "VALUE = 1\n")
        z.writestr("demo/big/__init__.py", "")
        z.writestr("demo/big/data.bin", noise)
        z.writestr("demo-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
        z.writestr("demo-1.0.dist-info/RECORD", "")
    wheel, rest = build.split_wheel(src, {"demo"}, tmp_path / "a")
    assert wheel.name == src.name and rest.name == "demo-1.0-rest.zip"
    with zipfile.ZipFile(wheel) as z:
        assert sorted(z.namelist()) == ["demo-1.0.dist-info/METADATA", "demo-1.0.dist-info/RECORD",
                                        "demo/__init__.py"]
        rows = list(csv.reader(io.StringIO(z.read("demo-1.0.dist-info/RECORD").decode())))
        assert sorted(r[0] for r in rows) == sorted(z.namelist())
    with zipfile.ZipFile(rest) as z:
        assert sorted(z.namelist()) == ["demo/big/__init__.py", "demo/big/data.bin"]
    build.CACHE = tmp_path / "other-cache"      # made again without the cache: the same bytes
    wheel2, rest2 = build.split_wheel(src, {"demo"}, tmp_path / "b")
    assert wheel2.read_bytes() == wheel.read_bytes() and rest2.read_bytes() == rest.read_bytes()
    monkeypatch.setattr(build, "WHEEL_REST_MIN_BYTES", 10 ** 9)     # a small rest: the wheel ships whole
    whole, none = build.split_wheel(src, {"demo"}, tmp_path / "c")
    assert none is None and whole.read_bytes() == src.read_bytes()
    with pytest.raises(build.BuildError, match=r"demo\.gone"):      # a stale list is named, never half-applied
        build.split_wheel(src, {"demo", "demo.gone", "other.module"}, tmp_path / "d")


def test_the_eager_wheels_are_split_into_what_the_page_imports_and_the_rest(site):
    """Each eager wheel holds the modules of wheels-core.txt it has (and their packages' data); its rest archive
    every other file; config.json names each rest's sha256 and modules (the worker fetches it on a miss); the
    lazy wheels ship whole."""
    lock = json.loads((site / "pyodide" / "pyodide-lock.json").read_text())
    config = json.loads((site / "config.json").read_text())
    rests = config["wheelRest"]
    wanted = build.wheels_core_modules()
    assert {"numpy", "panel", "bokeh"} <= set(rests) and not set(rests) & set(build.LAZY_PACKAGES)
    assert {"numpy", "panel.layout", "bokeh.models"} <= wanted
    for name, entry in rests.items():
        rest_zip = site / "pyodide" / entry["file_name"]
        assert entry["sha256"] == build.sha256_of(rest_zip)
        with zipfile.ZipFile(site / "pyodide" / lock["packages"][name]["file_name"]) as z:
            core_names = z.namelist()
        with zipfile.ZipFile(rest_zip) as z:
            rest_names = z.namelist()
        core = {build.wheel_module_of(n) for n in core_names} - {None}
        rest = {build.wheel_module_of(n) for n in rest_names} - {None}
        assert not core & rest and set(entry["modules"]) == rest, name
        assert rest.isdisjoint(wanted) and not any(".dist-info/" in n for n in rest_names)
        assert not set(core_names) & set(rest_names)
    assert "numpy._core._multiarray_umath" in wanted
    provenance = json.loads((site / "pyodide" / "provenance.json").read_text())
    assert provenance["numpy"]["rest"] == {k: rests["numpy"][k] for k in ("file_name", "sha256")}
