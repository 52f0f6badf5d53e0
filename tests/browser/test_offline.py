"""Offline after one visit: the service worker caches the whole (verified) site, the app starts
again with the server gone, a new build is announced with a "new version" notice, the Share
dialog shows the address and its QR code, and the page is installable (web app manifest)."""
from __future__ import annotations

import importlib.util
import json
import shutil
import threading
import urllib.request
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("pyfadml_browser_helpers",
                                               Path(__file__).with_name("conftest.py"))
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)
load_build_module = _helpers.load_build_module
wait_until_ready = _helpers.wait_until_ready
UI = _helpers.UI

pytestmark = pytest.mark.browser
OFFLINE_READY_MS = 90_000


class Server:
    """build.py's server on a copy of the site, on a port kept across stop() and start()."""

    def __init__(self, site: Path, share_urls=()):
        self.build = load_build_module()
        self.site, self.share_urls, self.port, self.server = site, share_urls, 0, None

    def start(self):
        self.server = self.build.make_server(self.site, host="127.0.0.1", port=self.port,
                                             quiet=True, share_urls=self.share_urls)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.port}/"

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def own_site(site_dir, tmp_path) -> Path:
    copy = tmp_path / "site"
    shutil.copytree(site_dir, copy)
    return copy


@pytest.fixture
def server(own_site):
    server = Server(own_site)
    yield server
    server.stop()


def wait_offline_ready(page):
    page.locator('body[data-offline="ready"], body[data-offline="error"]').wait_for(
        state="attached", timeout=OFFLINE_READY_MS)
    assert page.evaluate("document.body.dataset.offline") == "ready", \
        page.locator("#pyfadml-offline-status").inner_text()


def test_reload_and_new_tab_work_with_the_server_gone(page, server, problems):
    url = server.start()
    page.goto(url)
    wait_until_ready(page)
    wait_offline_ready(page)
    cached = page.evaluate("""async () => {
        const names = await caches.keys();
        const cache = await caches.open(names[0]);
        return {names, urls: (await cache.keys()).map(r => r.url)};
    }""")
    assert len(cached["names"]) == 1
    listed = [line.split("  ", 1)[1] for line in
              (server.site / "SHA256SUMS").read_text().splitlines()]
    expected = {url + p for p in listed if not p.endswith(".gz")
                and p not in ("sw.js", "_headers", "nginx.conf")}
    assert set(cached["urls"]) == expected

    server.stop()
    # The update check after start finds no server: that failed request is expected.
    problems.allow(r"SHA256SUMS.*(ERR_CONNECTION_REFUSED|net::)")
    page.reload()
    wait_until_ready(page)
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    # a module left out of the wheels and the stdlib loaded at start: its rest archive comes from the offline copy
    answer = _helpers.worker_modules(page, ["numpy.polynomial", "xml.dom.minidom"])
    assert answer["type"] == "modules", answer
    assert "/lib/python3.12/site-packages/numpy/polynomial/__init__.pyc" in answer["files"]
    ui = UI(page)
    from pyfadml.app.shell import SECTIONS
    live = [s.title for s in SECTIONS if s.factory]
    ui.click(live[-1])
    ui.wait_for_python()
    page.locator(".current .bk-btn").filter(has_text=live[-1]).wait_for(timeout=30_000)
    assert page.evaluate("document.body.dataset.offline") == "ready"

    second = page.context.new_page()
    second.goto(url)
    wait_until_ready(second)
    second.close()


def test_a_new_build_is_announced_and_taken_on_reload(page, server, problems):
    url = server.start()
    page.goto(url)
    wait_until_ready(page)
    wait_offline_ready(page)
    page.reload()                           # now controlled by the service worker
    wait_until_ready(page)
    assert page.locator("#pyfadml-update").is_hidden()

    # A new build: a changed page file and its SHA256SUMS.
    css = server.site / "site.css"
    css.write_text(css.read_text() + "\n/* new-build-marker */\n")
    server.build.checksums(server.site)
    page.reload()                           # served from the cache: still the old build
    wait_until_ready(page)
    old = page.evaluate("fetch('site.css').then(r => r.text())")
    assert "new-build-marker" not in old
    notice = page.locator("#pyfadml-update")
    notice.wait_for(state="visible", timeout=OFFLINE_READY_MS)
    assert "new version" in notice.inner_text()
    assert page.evaluate("document.body.dataset.offline") == "update"
    with page.expect_navigation():
        page.locator("#pyfadml-update-reload").click()
    wait_until_ready(page)
    assert "new-build-marker" in page.evaluate("fetch('site.css').then(r => r.text())")
    wait_offline_ready(page)
    assert len(page.evaluate("caches.keys()")) == 1          # the old version is gone


def test_a_tampered_file_is_never_cached(page, server, problems):
    """The worker checks every file against SHA256SUMS: a wrong byte, and nothing is cached."""
    problems.allow(r"sha256|service ?worker|ServiceWorker")
    icon = server.site / "favicon.svg"
    icon.write_text(icon.read_text().replace("#1e3a8a", "#1e3a8b"))
    url = server.start()
    page.goto(url)
    wait_until_ready(page)
    page.locator('body[data-offline="error"]').wait_for(state="attached",
                                                        timeout=OFFLINE_READY_MS)
    assert page.evaluate("caches.keys()") == []


def test_share_dialog_shows_the_room_address_and_its_qr_code(page, own_site):
    room = "http://192.0.2.7:8000/"
    server = Server(own_site)
    url = server.start()
    server.server.share_urls = (room, "http://10.0.0.5:8000/")
    try:
        page.goto(url)
        page.get_by_test_id("share-button").click()
        dialog = page.get_by_test_id("share-dialog")
        dialog.wait_for(state="visible")
        assert page.get_by_test_id("share-url").inner_text() == room
        qr = page.get_by_test_id("share-qr")
        qr.wait_for(state="visible")
        page.wait_for_timeout(300)
        assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
        box = qr.bounding_box()
        assert box["width"] >= 300 and box["height"] >= 300     # readable from the back row
        assert "10.0.0.5" in dialog.inner_text()
        page.keyboard.press("Escape")
        dialog.wait_for(state="hidden")
        wait_until_ready(page)
    finally:
        server.stop()


def test_share_without_build_py_shows_the_page_address(page, server_url, problems):
    """On another host (no share.json) the dialog still gives the address, and no broken image."""
    problems.allow(r"share\.json|status of 404")
    page.route("**/share.json", lambda route: route.fulfill(status=404, body="not here"))
    page.goto(server_url)
    page.get_by_test_id("share-button").click()
    page.get_by_test_id("share-dialog").wait_for(state="visible")
    assert page.get_by_test_id("share-url").inner_text() == server_url
    assert page.get_by_test_id("share-qr").is_hidden()
    page.keyboard.press("Escape")
    wait_until_ready(page)


def test_the_manifest_makes_it_installable(server_url, site_dir):
    with urllib.request.urlopen(server_url + "manifest.webmanifest") as response:
        assert response.headers["Content-Type"] == "application/manifest+json"
        manifest = json.loads(response.read())
    assert manifest["start_url"] == "./" and manifest["scope"] == "./"
    assert manifest["display"] == "standalone" and manifest["name"]
    for icon in manifest["icons"]:
        assert (site_dir / icon["src"]).is_file()
    html = (site_dir / "index.html").read_text()
    assert '<link rel="manifest" href="manifest.webmanifest">' in html
