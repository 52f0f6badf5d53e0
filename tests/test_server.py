"""build.py's server, hardened for a room: malformed paths, folders, timeouts, "/" and the Share data."""
from __future__ import annotations

import gzip
import http.client
import importlib.util
import json
import socket
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_build():
    spec = importlib.util.spec_from_file_location("pyfadml_build_server", ROOT / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_build()


@pytest.fixture
def site(tmp_path) -> Path:
    folder = tmp_path / "site"
    (folder / "static" / "js").mkdir(parents=True)
    (folder / "pyodide").mkdir()
    (folder / "index.html").write_text("<!doctype html><title>t</title>" + "x" * 9000)
    with gzip.open(folder / "index.html.gz", "wb") as f:
        f.write((folder / "index.html").read_bytes())
    (folder / "static" / "js" / "a.js").write_text("1;")
    (folder / "pyodide" / "pyodide.asm.wasm").write_bytes(b"\0asm")
    return folder


@pytest.fixture
def serve(site, monkeypatch):
    servers = []

    def start(timeout=None, share_urls=()):
        if timeout is not None:
            monkeypatch.setattr(build.SiteHandler, "timeout", timeout)
        server = build.make_server(site, host="127.0.0.1", port=0, quiet=True,
                                   share_urls=share_urls)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def raw_request(port: int, target: bytes, timeout=5.0) -> bytes:
    """Send a request line as given (no client-side normalisation) and read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def get(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response, body


@pytest.mark.parametrize("target", [b"/%00", b"/index.html%00", b"/" + b"a" * 300,
                                    b"/static/" + b"b" * 256 + b"/x.js", b"/../etc/passwd",
                                    b"/static/%2e%2e/%2e%2e/build.py", b"/%ff%fe",
                                    b"/static\\js\\a.js", b"/" + b"c/" * 1100, b"/a%0d%0ab"])
def test_malformed_paths_get_400_and_the_server_lives_on(serve, target):
    server = serve()
    port = server.server_address[1]
    assert status_of(raw_request(port, target)) == 400
    assert status_of(raw_request(port, b"/index.html")) == 200


@pytest.mark.parametrize("path", ["/static/", "/pyodide/", "/static/js/", "/static", "/nope",
                                  "/nope/"])
def test_folders_are_404_never_a_listing(serve, path):
    port = serve().server_address[1]
    response, body = get(port, path)
    assert response.status == 404
    assert b"Directory listing" not in body and b"a.js" not in body


def test_root_is_served_like_index_html(serve):
    port = serve().server_address[1]
    accept = {"Accept-Encoding": "gzip"}
    root, root_body = get(port, "/", accept)
    index, index_body = get(port, "/index.html", accept)
    assert root.status == index.status == 200
    assert root.getheader("Content-Encoding") == index.getheader("Content-Encoding") == "gzip"
    assert root.getheader("ETag") == index.getheader("ETag") is not None
    assert root.getheader("Content-Type") == index.getheader("Content-Type") == "text/html"
    assert root.getheader("Content-Security-Policy") == build.CSP
    assert root_body == index_body
    again, body = get(port, "/", {**accept, "If-None-Match": root.getheader("ETag")})
    assert again.status == 304 and body == b""


def test_wasm_mime_type_and_nosniff(serve):
    port = serve().server_address[1]
    response, _ = get(port, "/pyodide/pyodide.asm.wasm")
    assert response.getheader("Content-Type") == "application/wasm"
    assert response.getheader("X-Content-Type-Options") == "nosniff"


def test_idle_connections_are_closed_after_the_timeout(serve):
    server = serve(timeout=0.5)
    port = server.server_address[1]
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(50)]
    time.sleep(0.3)
    threads_busy = threading.active_count()
    time.sleep(1.5)
    for s in idle:
        s.settimeout(2)
        assert s.recv(1) == b""        # the server hung up
        s.close()
    assert threading.active_count() <= threads_busy - 45
    assert status_of(raw_request(port, b"/")) == 200


def test_a_stalled_request_line_times_out(serve):
    port = serve(timeout=0.5).server_address[1]
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.sendall(b"GET /index.ht")          # never finished
        start = time.monotonic()
        assert s.recv(100) == b""
        assert time.monotonic() - start < 2.5


def test_share_data_only_for_the_servers_own_addresses(serve):
    url = "http://192.0.2.7:8000/"
    port = serve(share_urls=(url,)).server_address[1]
    response, body = get(port, "/share.json")
    assert response.status == 200 and json.loads(body) == {"urls": [url]}
    response, body = get(port, "/share-qr.svg?url=" + url)
    assert response.status == 200 and response.getheader("Content-Type") == "image/svg+xml"
    assert body.lstrip().startswith(b"<svg") and b"<path" in body
    response, _ = get(port, "/share-qr.svg?url=http://evil.example/")
    assert response.status == 404
    from urllib.parse import quote
    response, scene = get(port, "/share-qr.svg?url=" + quote(url + "#cnn&lr=0.03"))   # a scene (issue 12)
    assert response.status == 200 and scene.lstrip().startswith(b"<svg") and scene != body
    response, _ = get(port, "/share-qr.svg?url=" + quote("http://evil.example/#" + url))
    assert response.status == 404


def test_no_share_data_without_addresses(serve):
    port = serve().server_address[1]
    assert get(port, "/share.json")[0].status == 404


def test_room_addresses_are_never_loopback():
    addresses = build.room_addresses("0.0.0.0")
    assert all(not a.startswith("127.") for a in addresses)
    assert build.room_addresses("192.0.2.9") == ["192.0.2.9"]


def test_serve_prints_every_address_and_a_qr_code(site, monkeypatch, capsys):
    monkeypatch.setattr(build, "room_addresses", lambda host: ["192.0.2.7", "10.0.0.5"])
    monkeypatch.setattr(build.SiteServer, "serve_forever",
                        lambda self: (_ for _ in ()).throw(KeyboardInterrupt))
    build.serve(site, 0, host="0.0.0.0")
    out = capsys.readouterr().out
    assert "http://192.0.2.7:" in out and "http://10.0.0.5:" in out
    assert "\u2588" in out or "\u2580" in out       # the QR code's blocks


def test_default_host_is_loopback(site, monkeypatch, capsys):
    seen = {}
    monkeypatch.setattr(build, "SITE", site)
    monkeypatch.setattr(build, "serve", lambda site, port, host: seen.update(host=host))
    assert build.main(["--serve-only"]) == 0
    assert seen == {"host": "127.0.0.1"}
