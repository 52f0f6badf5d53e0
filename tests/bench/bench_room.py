"""A room at once: N students (default 40) load the site from one ``build.py --serve-only`` at the
same moment.

    .venv/bin/python tests/bench/bench_room.py [--students 40] [--port 8765] [--files cold|all]
                                                 [--build]

1. starts ``build.py --serve-only`` (``--build``: ``build.py --serve``, which builds first) as its
   own process, on 127.0.0.1;
2. records the files a cold load requests, by loading the page once in headless Chromium (fresh
   profile) until the app is ready (``--files all``: every file of SHA256SUMS except .gz, i.e.
   what the service worker also fetches for the offline copy);
3. N simulated students, each with 6 keep-alive connections like a browser, fetch that list at
   the same time with ``Accept-Encoding: gzip`` (so the .gz copies are sent), reading every body;
4. prints the total time, the slowest and median student, MB sent and MB/s, failures (any
   error or non-200 answer), and the server's memory (peak RSS) and threads, sampled from /proc.

Target: no failure, memory bounded.  One machine plays server and room here, so MB/s is a floor
for the server (the clients' CPU competes with it), not a Wi-Fi figure.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CONNECTIONS_PER_STUDENT = 6         # what Chromium opens per host over HTTP/1.1


def proc_status(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                out[key] = int(value.split()[0])
    return out


def cold_load_paths(url: str) -> list[str]:
    from playwright.sync_api import sync_playwright
    paths = []
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = context.new_page()
        page.on("request", lambda r: paths.append(urlsplit(r.url).path)
                if r.url.startswith(url) else None)
        page.goto(url)
        page.locator('body[data-app-state="ready"], body[data-app-state="error"]').wait_for(
            state="attached", timeout=120_000)
        if page.evaluate("document.body.dataset.appState") != "ready":
            raise SystemExit("the app did not start in Chromium")
        page.wait_for_timeout(300)
        context.close()
    return paths


def student(port: int, paths: list[str], results: list, start: threading.Event) -> None:
    """One browser: CONNECTIONS_PER_STUDENT keep-alive connections sharing the file list."""
    todo: queue.Queue = queue.Queue()
    for p in paths:
        todo.put(p)
    stats = {"bytes": 0, "failures": [], "requests": 0}
    lock = threading.Lock()

    def connection():
        conn = None
        while True:
            try:
                path = todo.get_nowait()
            except queue.Empty:
                break
            for attempt in (1, 2):       # a browser retries once on a reset keep-alive connection
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    conn.request("GET", path, headers={"Accept-Encoding": "gzip, deflate, br"})
                    response = conn.getresponse()
                    body = response.read()
                    with lock:
                        stats["requests"] += 1
                        stats["bytes"] += len(body)
                        if response.status != 200:
                            stats["failures"].append(f"{path}: HTTP {response.status}")
                    if response.getheader("Connection", "").lower() == "close":
                        conn.close()
                        conn = None
                    break
                except (OSError, http.client.HTTPException) as exc:
                    if conn is not None:
                        conn.close()
                    conn = None
                    if attempt == 2:
                        with lock:
                            stats["failures"].append(f"{path}: {type(exc).__name__}: {exc}")
        if conn is not None:
            conn.close()

    start.wait()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=connection) for _ in range(CONNECTIONS_PER_STUDENT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats["seconds"] = time.perf_counter() - t0
    results.append(stats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--files", choices=["cold", "all"], default="cold")
    parser.add_argument("--build", action="store_true", help="build.py --serve (build first)")
    args = parser.parse_args()

    cmd = [sys.executable, str(ROOT / "build.py"), "--serve" if args.build else "--serve-only",
           "--port", str(args.port)]
    log = tempfile.TemporaryFile("w+")     # the server's console (read only if it fails)
    server = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{args.port}/"
    try:
        deadline = time.time() + 600
        while time.time() < deadline:
            if server.poll() is not None:
                log.seek(0)
                raise SystemExit(f"build.py exited:\n{log.read()}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", args.port)) == 0:
                    break
            time.sleep(0.2)
        print(f"server up at {url}; recording the files of a cold load in Chromium", flush=True)
        if args.files == "cold":
            paths = cold_load_paths(url)
        else:
            sums = (ROOT / "site" / "SHA256SUMS").read_text().splitlines()
            paths = ["/" + line.split("  ", 1)[1] for line in sums
                     if not line.endswith(".gz")]
        print(f"{len(paths)} files per student; {args.students} students start", flush=True)
        before = proc_status(server.pid)
        results: list = []
        start = threading.Event()
        students = [threading.Thread(target=student, args=(args.port, paths, results, start))
                    for _ in range(args.students)]
        for t in students:
            t.start()
        samples = []
        sampling = threading.Event()

        def sample():
            while not sampling.is_set():
                samples.append(proc_status(server.pid))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        t0 = time.perf_counter()
        start.set()
        for t in students:
            t.join()
        total = time.perf_counter() - t0
        sampling.set()
        sampler.join()
        time.sleep(0.5)
        after = proc_status(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)

    seconds = [r["seconds"] for r in results]
    sent = sum(r["bytes"] for r in results)
    failures = [f for r in results for f in r["failures"]]
    summary = {
        "students": args.students, "files_per_student": len(paths),
        "connections": args.students * CONNECTIONS_PER_STUDENT,
        "MB_per_student": round(results[0]["bytes"] / 1e6, 2),
        "total_s": round(total, 2), "slowest_student_s": round(max(seconds), 2),
        "median_student_s": round(statistics.median(seconds), 2),
        "MB_sent": round(sent / 1e6, 1), "MB_per_s": round(sent / 1e6 / total, 1),
        "requests": sum(r["requests"] for r in results), "failures": len(failures),
        "server_rss_MB": {"before": round(before["VmRSS"] / 1024, 1),
                          "peak": round(max(s["VmHWM"] for s in samples + [after]) / 1024, 1),
                          "after": round(after["VmRSS"] / 1024, 1)},
        "server_threads": {"before": before["Threads"],
                           "peak": max(s["Threads"] for s in samples),
                           "after": after["Threads"]},
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count(),
    }
    print(json.dumps(summary, indent=1))
    for failure in failures[:10]:
        print("failure:", failure)
    print(f"target: no failure -> {len(failures)}; memory bounded -> peak RSS "
          f"{summary['server_rss_MB']['peak']} MB for {args.students} students")


if __name__ == "__main__":
    main()
