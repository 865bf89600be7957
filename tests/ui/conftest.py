"""Browser-test fixtures (see workshop_browser.py for the server and page helpers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from workshop_browser import CHROMIUM, CHROMIUM_ARGS, Guard, Server, _server, guarded_context


def pytest_collection_modifyitems(items):
    for item in items:
        if "/tests/ui/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def workshop_server(tmp_path) -> Iterator[Server]:
    """A fresh workshop server on the demo data with its own session file."""
    yield from _server(tmp_path)


@pytest.fixture
def participant_server(tmp_path) -> Iterator[Server]:
    """A workshop server with participants enabled (join URL and code)."""
    yield from _server(tmp_path, participants=True)


@pytest.fixture
def make_server(tmp_path):
    """Start a workshop server with other options (e.g. ``data=`` another export)."""
    started: list[Iterator[Server]] = []

    def start(**options) -> Server:
        gen = _server(tmp_path / f"server{len(started)}", **options)
        started.append(gen)
        return next(gen)

    yield start
    for gen in started:
        for _ in gen:
            pass


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def guard() -> Guard:
    return Guard()


@pytest.fixture
def context(browser, guard):
    ctx = guarded_context(browser, guard)
    yield ctx
    ctx.close()
