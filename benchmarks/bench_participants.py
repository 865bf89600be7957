"""Benchmark: a room of phones joining and voting at once on the kernel-free join page.

Starts `sales-rca workshop --participants` on the demo data, then N phones (threads, each with its
own cookies, as many browsers would) load the join page, join and give a dot, all at the same time.
Prints (issue 12 targets in brackets):
- join time per phone (page load + join request), p50 and p95 (p95 < 1 s);
- the server's memory growth per participant (< 10 MB);
- that every vote is recorded once (votes in the session == phones);
and, as a baseline in the same run, a plain GET of the static join page (join p95 / static p95).

    .venv/bin/python benchmarks/bench_participants.py [--phones 30]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sales_rca.session import Session  # noqa: E402
from sales_rca.ui.serve import DEMO_DATA, DEMO_HISTORY, build_server  # noqa: E402

RUNNING_AT = re.compile(r"running at:\s*https?://[^\s/]+:(\d+)/")


def wait_for_port(log: Path, proc: subprocess.Popen, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = RUNNING_AT.search(log.read_text(errors="replace"))
        if found:
            return int(found.group(1))
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()[-1500:]}")
        time.sleep(0.1)
    raise RuntimeError("the server did not start")


def rss(proc: psutil.Process) -> int:
    return proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))


class Phone:
    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> bytes:
        with self.opener.open(self.base + path, timeout=60) as r:
            return r.read()

    def post(self, path: str, body: dict) -> dict:
        xsrf = next((c.value for c in self.jar if c.name == "_xsrf"), "")
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "X-XSRFToken": xsrf},
        )
        with self.opener.open(request, timeout=60) as r:
            return json.loads(r.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        session = Path(tmp) / "bench.session"
        log = Path(tmp) / "server.log"
        server = build_server(
            data=DEMO_DATA,
            history=DEMO_HISTORY,
            session=session,
            participants=True,
            port=8870,
            port_retries=30,
        )
        server.prepare()
        with Session.open(session) as s:
            cause = s.add_cause("No champion on the customer side", "buyer")
            s.open_voting()
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                server.command,
                env=server.env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            port = wait_for_port(log, proc)
            base = f"http://127.0.0.1:{port}/join/"
            warm = Phone(base)
            warm.get("")
            static = []
            for _ in range(50):
                t0 = time.perf_counter()
                warm.get("")
                static.append(time.perf_counter() - t0)
            server_proc = psutil.Process(proc.pid)
            before = rss(server_proc)
            start = threading.Barrier(args.phones)
            joins: list[float] = []
            errors: list[str] = []

            def phone() -> None:
                p = Phone(base)
                start.wait()
                try:
                    t0 = time.perf_counter()
                    p.get("")
                    p.post("api/join", {"code": server.join_code, "name": ""})
                    joins.append(time.perf_counter() - t0)
                    p.post("api/vote", {"cause": cause, "dots": 1})
                except Exception as exc:  # report, do not hide
                    errors.append(repr(exc))

            threads = [threading.Thread(target=phone) for _ in range(args.phones)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            after = rss(server_proc)
        finally:
            os.killpg(proc.pid, 15)
            proc.wait(20)
        with Session.open(session) as s:
            state = s.state(include_hidden=True)
            votes = sum(v.dots for v in state.votes if v.cause_id == cause)
            joined = len(state.participants)
    joins.sort()
    p95 = joins[int(0.95 * (len(joins) - 1))] if joins else float("nan")
    static_p95 = sorted(static)[int(0.95 * (len(static) - 1))]
    print(f"phones: {args.phones}, errors: {len(errors)} {errors[:2]}")
    print(
        f"join (page + join request), all at once: p50 {statistics.median(joins):.3f} s, "
        f"p95 {p95:.3f} s [target p95 < 1 s]"
    )
    print(
        f"server memory growth: {(after - before) / 2**20:.1f} MB in all, "
        f"{(after - before) / 2**20 / args.phones:.2f} MB per participant [target < 10 MB]"
    )
    print(f"participants recorded: {joined}; votes recorded: {votes} [target {args.phones} each]")
    print(
        f"baseline: static join page p95 {static_p95 * 1000:.1f} ms; "
        f"join p95 / static p95 = {p95 / static_p95:.0f}x"
    )


if __name__ == "__main__":
    main()
