"""Benchmark: the live workshop in a real browser, on the demo data.

Prints (issue 6 targets in brackets):
- time from navigation to the first step being interactive, median of several loads (< 4 s);
- median round trip of one edit: click "Make this a problem" until the app confirms it, i.e.
  the change is committed to the session store and the view redrawn (< 250 ms);
and, as a baseline in the same run, the time of the same edit made directly on the session
store in this process (no browser, no kernel round trip).

    .venv/bin/python benchmarks/bench_workshop.py [--loads 5] [--edits 8]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sales_rca.ui.serve import DEMO_DATA, DEMO_HISTORY, build_server  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("voila exited")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("voila did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--edits", type=int, default=8)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        session = Path(tmp) / "bench.session"
        port = free_port()
        server = build_server(data=DEMO_DATA, history=DEMO_HISTORY, session=session, port=port)
        server.prepare()  # the session and its facilitator key (in server.url)
        with open(os.devnull, "wb") as devnull:
            proc = subprocess.Popen(
                server.command,
                env=server.env,
                stdout=devnull,
                stderr=devnull,
                start_new_session=True,
            )
        try:
            wait_for_port(port, proc)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(server.url)  # warm-up: first kernel start, imports, caches
                page.wait_for_selector("button:has-text('1. Data check')", timeout=120_000)
                loads = []
                for _ in range(args.loads):
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    t0 = time.perf_counter()
                    page.goto(server.url)
                    page.wait_for_selector("text=opportunities used", timeout=120_000)
                    loads.append(time.perf_counter() - t0)
                    page.close()
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(server.url)
                page.wait_for_selector("button:has-text('2. Pipeline x-ray')", timeout=120_000)
                page.click("button:has-text('2. Pipeline x-ray')")
                page.locator("button:has-text('Make this a problem')").first.wait_for(
                    timeout=120_000
                )
                edits = []
                for i in range(args.edits):
                    button = page.locator("button:has-text('Make this a problem')").first
                    t0 = time.perf_counter()
                    button.click()
                    page.wait_for_function(
                        "n => document.querySelectorAll('button[title^=\"Start a five-whys\"]:disabled').length >= n",
                        arg=i + 1,
                        timeout=30_000,
                    )
                    edits.append(time.perf_counter() - t0)
                browser.close()
        finally:
            os.killpg(proc.pid, 15)
            proc.wait(20)

    from sales_rca.session import Session

    direct = []
    with tempfile.TemporaryDirectory() as tmp:
        s = Session.create(Path(tmp) / "direct.session", "bench")
        for i in range(50):
            t0 = time.perf_counter()
            s.add_problem(f"problem {i}")
            s.state()
            direct.append(time.perf_counter() - t0)

    print(
        f"first step interactive: median {statistics.median(loads):.2f} s over {len(loads)} loads "
        f"(min {min(loads):.2f}, max {max(loads):.2f}) [target < 4 s]"
    )
    print(
        f"edit round trip in the browser: median {statistics.median(edits) * 1000:.0f} ms over "
        f"{len(edits)} edits (max {max(edits) * 1000:.0f} ms) [target < 250 ms]"
    )
    med_direct = statistics.median(direct)
    print(
        f"same edit on the session store directly: median {med_direct * 1000:.2f} ms; "
        f"browser round trip / direct = {statistics.median(edits) / med_direct:.0f}x"
    )


if __name__ == "__main__":
    main()
