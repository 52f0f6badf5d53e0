"""Any static host: the site served by Debian's nginx with the site/nginx.conf that build.py
writes (only its listen port and root changed), at the root and under a sub-path; the app becomes
interactive with zero external requests (the ``page`` fixture fails on any)."""
from __future__ import annotations

import gzip
import importlib.util
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("pyfadml_browser_helpers",
                                               Path(__file__).with_name("conftest.py"))
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)
load_build_module = _helpers.load_build_module
wait_until_ready = _helpers.wait_until_ready

pytestmark = pytest.mark.browser
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SUB_PATH = "courses/fadml/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_nginx(tmp: Path, site: Path, root: Path):
    """nginx in the foreground with a minimal nginx.conf that includes the site's server block."""
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: apt-get install nginx (tests/run.sh does it)",
                    pytrace=False)
    server_block = (site / "nginx.conf").read_text()
    written_root = next(line.split()[1].rstrip(";") for line in server_block.splitlines()
                        if line.strip().startswith("root "))
    port = free_port()
    for old, new in [("listen 8000;", f"listen 127.0.0.1:{port};"),
                     (f"root {written_root};", f"root {root.as_posix()};")]:
        assert server_block.count(old) == 1, old
        server_block = server_block.replace(old, new)
    (tmp / "server.conf").write_text(server_block)
    temp = tmp / "temp"
    temp.mkdir()
    user = "user root;\n" if os.geteuid() == 0 else ""
    (tmp / "nginx.conf").write_text(f"""{user}worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {tmp}/server.conf;
}}
""")
    check = subprocess.run([NGINX, "-t", "-c", str(tmp / "nginx.conf")], capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen([NGINX, "-c", str(tmp / "nginx.conf")],
                               stderr=subprocess.PIPE, text=True)
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    else:
        process.kill()
        pytest.fail(f"nginx did not start: {process.stderr.read()}", pytrace=False)
    return process, port


@pytest.fixture
def nginx_root(site_dir, tmp_path):
    """nginx serving the site at http://127.0.0.1:PORT/."""
    process, port = start_nginx(tmp_path, site_dir, site_dir)
    yield f"http://127.0.0.1:{port}/"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def nginx_sub_path(site_dir, tmp_path):
    """nginx serving a folder in which the site is courses/fadml/."""
    docroot = tmp_path / "docroot"
    (docroot / SUB_PATH).parent.mkdir(parents=True)
    shutil.copytree(site_dir, docroot / SUB_PATH)
    (tmp_path / "nginx").mkdir()
    process, port = start_nginx(tmp_path / "nginx", site_dir, docroot)
    yield f"http://127.0.0.1:{port}/{SUB_PATH}"
    process.terminate()
    process.wait(timeout=10)


def fetch(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_nginx_conf_sends_the_sites_headers(nginx_root, site_dir):
    build = load_build_module()
    status, headers, body = fetch(nginx_root)
    assert status == 200 and b'id="pyfadml-app"' in body
    assert headers["Content-Security-Policy"] == build.CSP
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, _ = fetch(nginx_root + "pyodide/pyodide.asm.wasm",
                               {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Type"] == "application/wasm"
    assert headers["Content-Encoding"] == "gzip"           # gzip_static: the .gz beside it
    status, headers, body = fetch(nginx_root + "pyodide/pyodide.asm.js",
                                  {"Accept-Encoding": "gzip"})
    assert headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == (site_dir / "pyodide" / "pyodide.asm.js").read_bytes()
    assert fetch(nginx_root + "manifest.webmanifest")[1]["Content-Type"].startswith(
        "application/manifest+json")
    for folder in ("static/", "pyodide/", "static"):
        status, _, body = fetch(nginx_root + folder)
        assert status == 404 and b"Index of" not in body, folder


def test_app_is_interactive_from_nginx(nginx_root, page, problems):
    # nginx first: fixtures end in reverse order, so the page closes before nginx stops (a service
    # worker still fetching its script from a stopped server logs a console error)
    page.goto(nginx_root)
    wait_until_ready(page)
    assert problems.blocked == [] and problems.request_count >= 10
    urls = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert urls and all(u.startswith(nginx_root) for u in urls)


def test_app_works_under_a_sub_path(nginx_sub_path, page, problems):
    page.goto(nginx_sub_path)
    wait_until_ready(page)
    urls = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert urls and all(u.startswith(nginx_sub_path) for u in urls)
    # offline copy for this sub-path only (the service worker's scope is the site's folder)
    page.locator('body[data-offline="ready"], body[data-offline="error"]').wait_for(
        state="attached", timeout=90_000)
    assert page.evaluate("document.body.dataset.offline") == "ready"
    scope = page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.scope)")
    assert scope == nginx_sub_path


def test_headers_file_for_netlify_and_cloudflare(site_dir):
    build = load_build_module()
    text = (site_dir / "_headers").read_text()
    assert f"  Content-Security-Policy: {build.CSP}" in text
    assert "/*.wasm\n  Content-Type: application/wasm" in text
    assert "  X-Content-Type-Options: nosniff" in text
