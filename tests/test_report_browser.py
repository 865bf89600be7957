"""The summary in a real browser, offline: opened from ``file://`` with every network request
aborted, every chart must draw, and no script the data carried may run."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batch_fixtures import BatchRun

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def open_offline(browser: Any, path: Path) -> dict[str, Any]:
    """Open ``path`` with the network cut; return charts drawn, requests tried, errors and dialogs."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    tried: list[str] = []
    errors: list[str] = []
    dialogs: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            tried.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(path.as_uri(), wait_until="load")
    expected = page.locator("script.plotly-figure").count()
    page.wait_for_function(
        "n => document.querySelectorAll('.js-plotly-plot svg.main-svg').length >= n",
        arg=expected,
        timeout=15000,
    )
    drawn = page.evaluate(
        """() => [...document.querySelectorAll('.js-plotly-plot')]
              .filter(el => el.querySelector('svg.main-svg') && el.getBoundingClientRect().height > 0)
              .length"""
    )
    page.close()
    return {
        "expected": expected,
        "drawn": drawn,
        "tried": tried,
        "errors": errors,
        "dialogs": dialogs,
    }


@pytest.mark.parametrize(
    ("slug", "at_least"),
    [("northwind-demo-co", 6), ("contoso-analytics", 2), ("fabrikam-maschinenbau-gmbh", 2)],
)
def test_every_chart_renders_from_file_with_the_network_blocked(
    browser: Any, slug: str, at_least: int, demo_batch: BatchRun
) -> None:
    seen = open_offline(browser, demo_batch.out / slug / "summary.html")
    assert seen["errors"] == []
    assert seen["tried"] == []  # nothing even tried to leave the machine
    assert seen["drawn"] == seen["expected"] >= at_least


def test_the_index_opens_offline(browser: Any, demo_batch: BatchRun) -> None:
    page = browser.new_page()
    page.route(
        "**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort()
    )
    page.goto((demo_batch.out / "index.html").as_uri())
    assert page.locator("a[href$='summary.html']").count() == 3
    page.close()


def test_hostile_text_never_runs_as_script(browser: Any, hostile_batch: BatchRun) -> None:
    run = hostile_batch
    (client,) = run.manifest["clients"]
    seen = open_offline(browser, run.out / client["outputs"]["summary"])
    assert seen["dialogs"] == [] and seen["errors"] == []
    assert seen["drawn"] == seen["expected"]


def test_the_summary_prints_to_pdf_with_its_charts(browser: Any, demo_batch: BatchRun) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.route(
        "**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort()
    )
    page.goto((demo_batch.out / "northwind-demo-co" / "summary.html").as_uri())
    expected = page.locator("script.plotly-figure").count()
    page.wait_for_function(
        "n => document.querySelectorAll('.js-plotly-plot svg.main-svg').length >= n",
        arg=expected,
        timeout=15000,
    )
    page.emulate_media(media="print")
    # In print layout every chart keeps its drawing (none collapses to nothing) and the
    # controls a printout cannot use are gone.
    drawn = page.evaluate(
        """() => [...document.querySelectorAll('.js-plotly-plot svg.main-svg')]
              .filter(svg => svg.getBoundingClientRect().height > 100).length"""
    )
    assert drawn >= expected >= 6
    assert page.locator(".modebar-container:visible").count() == 0
    pdf = page.pdf(format="A4", print_background=True)
    page.close()
    assert pdf.startswith(b"%PDF") and len(pdf) > 100_000
