"""Driving the workshop in a browser: a real `sales-rca workshop` server on loopback, Playwright
contexts that abort (and record) any request leaving loopback, and small page helpers. The
browser tests' fixtures (tests/ui/conftest.py) and `make screenshots` both use it."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from sales_rca.ui.serve import DEMO_DATA, DEMO_HISTORY, build_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOOPBACK = ("http://127.0.0.1", "ws://127.0.0.1", "http://localhost", "ws://localhost")


#: Voila binds the first free port from the one asked for (so no other process can take it between
#: a check and the bind) and logs the one it bound, which the tests read back.
PORT_RETRIES = 30
RUNNING_AT = re.compile(r"Voilà is running at:\s*https?://[^\s/]+:(\d+)/")
START_TIMEOUT_S = 120


def free_port() -> int:
    """A port that was free a moment ago: where Voila starts looking (it may bind another)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running workshop server."""

    url: str
    join_url: str | None
    join_code: str | None
    session: Path
    port: int
    process: subprocess.Popen | None = None
    log: Path | None = None
    options: dict = field(default_factory=dict)

    def start(self) -> None:
        """Start Voila (on :attr:`port` or the next free one) and wait until it listens."""
        server = build_server(port=self.port, port_retries=PORT_RETRIES, **self.options)
        server.prepare()  # the session, its facilitator key and join code (kept across restarts)
        assert self.log is not None
        self.log.touch()
        seen = self.log.stat().st_size  # a restart appends to the same log
        with self.log.open("ab") as fh:  # the child keeps its own copy of the handle
            self.process = subprocess.Popen(
                server.command,
                env=server.env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.port = self._bound_port(seen)
        server = replace(server, port=self.port)
        self.url, self.join_code = server.url, server.join_code
        # Phones on a real network get the LAN URL; the test's phones are on this machine.
        self.join_url = f"{server.base}/join/" if server.participants else None

    def _bound_port(self, offset: int) -> int:
        """The port Voila reports it listens on (its log line), once it does."""
        assert self.process is not None and self.log is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            with self.log.open("rb") as fh:
                fh.seek(offset)
                found = RUNNING_AT.search(fh.read().decode("utf-8", errors="replace"))
            if found:
                return int(found.group(1))
            if self.process.poll() is not None:
                raise RuntimeError(f"voila exited: {self.server_log()[-2000:]}")
            time.sleep(0.2)  # poll interval for the log file, not a wait for readiness
        raise RuntimeError(f"voila did not listen within {START_TIMEOUT_S} s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def server_log(self) -> str:
        return self.log.read_text(errors="replace") if self.log else ""


def _server(tmp_path: Path, **options) -> Iterator[Server]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    opts = {
        "data": DEMO_DATA,
        "history": DEMO_HISTORY,
        "session": tmp_path / "workshop.session",
        "title": "Browser test workshop",
        **options,
    }
    srv = Server(
        url="",
        join_url=None,
        join_code=None,
        session=opts["session"],
        port=free_port(),
        log=tmp_path / "voila.log",
        options=opts,
    )
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@dataclass
class Guard:
    """Requests that tried to leave loopback and dialogs (alert/confirm) that fired."""

    blocked: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


#: How long a page load (goto, reload) may take before a test fails.
NAVIGATION_TIMEOUT_MS = 120_000


def guarded_context(browser, guard: Guard, **kwargs):
    """A browser context that aborts every non-loopback request and records it and any dialog."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, **kwargs)

    def route(r):
        url = r.request.url
        if url.startswith(LOOPBACK) or url.startswith(("data:", "blob:", "about:")):
            r.continue_()
        else:
            guard.blocked.append(url)
            r.abort()

    context.route("**/*", route)
    # A Voila page starts a kernel and runs the notebook before "load": on a busy 2-core machine
    # that can take longer than Playwright's 30 s default. Waits stay waits for readiness.
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)

    def on_page(page):
        page.on("dialog", lambda d: (guard.dialogs.append(d.message), d.dismiss()))

    context.on("page", on_page)
    return context


def open_app(context, url: str, ready: str = "button:has-text('1. Data check')"):
    """Open the app and wait until it is interactive."""
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector(ready, timeout=90_000)
    return page


def go_to_step(page, label: str) -> None:
    """Click a step button by (part of) its label, e.g. '4. Five whys', and wait until the step's
    view is built: its heading (or, when it failed, the bare title the app shows) is on the page."""
    page.click(f".srca-nav button:has-text('{label}')")
    page.wait_for_selector(f".srca-nav button.mod-primary:has-text('{label}')", timeout=30_000)
    number, _, title = label.partition(". ")
    built = f".srca-app h2:text-matches('^{number}\\\\. ')"  # every step's heading: "4. Five whys"
    failed = f".srca-app h2:text-is('{title}')"  # a step that failed to build: its bare title
    page.wait_for_selector(f"{built}, {failed}", timeout=90_000)


def due_in(days: int = 90) -> str:
    """A due date ``days`` ahead (an action's due date must lie in the future)."""
    import datetime as dt

    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


def make_problem(page, contains: str | None = None, index: int = 0) -> str:
    """Pick a finding in the step's ranked list (the first whose title contains ``contains``,
    else the ``index``-th still free) and press "Make this a problem"; returns its title."""
    select = page.locator(".srca-finding-choice select").first
    select.wait_for(timeout=90_000)
    labels = select.evaluate("s => [...s.options].map(o => o.text)")
    # ipywidgets draws the spaces of an option as no-break spaces
    found = (
        [t for t in labels if contains in t.replace("\xa0", " ")]
        if contains is not None
        else labels[index:]
    )
    assert found, f"no finding with {contains!r} among {labels}"
    label = found[0]
    select.select_option(label=label)
    page.click("button:has-text('Make this a problem')")
    page.wait_for_selector(".srca-toast .srca-ok:has-text('Added the problem')", timeout=30_000)
    return label.replace("\xa0", " ").split(". ", 1)[1]


def work_on(page, number: str) -> None:
    """Select ``Why <number>`` (e.g. "1.1") in the five-whys step's "Work on" menu."""
    select = page.locator(".widget-dropdown:has(label:text('Work on')) select")
    wanted = f"Why {number} · "
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the menu redraws once the new why is saved
        labels = select.evaluate("s => [...s.options].map(o => o.text)")
        found = [t for t in labels if t.replace("\xa0", " ").lstrip(" ↳").startswith(wanted)]
        if found:
            select.select_option(label=found[0])
            return
        page.wait_for_timeout(200)  # polling the menu, not a fixed wait for readiness
    raise AssertionError(f"no {wanted!r} in the Work on menu: {labels}")
