"""The live workshop in a real browser: it loads offline, shows no code, keeps every edit."""

from __future__ import annotations

import csv

from workshop_browser import go_to_step, make_problem, open_app

from sales_rca.session import Session

XSS = ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>"]


def step_labels(page) -> list[str]:
    return [t.strip() for t in page.locator(".srca-nav button").all_inner_texts()]


def test_demo_loads_offline_with_no_code_and_every_step_renders(workshop_server, context, guard):
    page = open_app(context, workshop_server.url)
    labels = step_labels(page)
    assert labels[:2] == ["1. Data check", "2. Pipeline x-ray"]
    for label in labels:
        go_to_step(page, label)  # returns once the step's view is built
        body = page.inner_text("body")
        assert "Traceback" not in body
        assert "Something went wrong" not in body, (
            f"step {label} failed: {workshop_server.server_log()[-3000:]}"
        )
    # No notebook code is ever shown to the room.
    assert (
        page.locator(".jp-InputArea-editor, .jp-InputPrompt, .CodeMirror, .cm-editor").count() == 0
    )
    assert "WorkshopApp" not in page.content()
    assert guard.blocked == []
    assert guard.dialogs == []


def test_data_step_shows_the_import_report_and_quarantine(workshop_server, context):
    page = open_app(context, workshop_server.url)
    page.wait_for_selector("text=opportunities used")
    text = page.inner_text("body")
    assert "3,000" in text
    assert "recognised as salesforce" in text
    assert "duplicate opportunity id with different content: 1" in text
    assert "missing opportunity id: 1" in text


def test_a_finding_becomes_a_problem_that_survives_refresh_and_restart(workshop_server, context):
    page = open_app(context, workshop_server.url)
    go_to_step(page, "2. Pipeline x-ray")
    title = make_problem(page)
    problems = Session.open(workshop_server.session).state().problems
    assert [p.text for p in problems] == [title]
    assert problems[0].findings, "the finding's numbers are attached as evidence"

    page.reload()
    page.wait_for_selector(
        ".srca-nav button.mod-primary:has-text('2. Pipeline x-ray')", timeout=90_000
    )
    page.wait_for_selector("[data-testid=used-mark]", timeout=60_000)

    workshop_server.restart()
    page = open_app(
        context,
        workshop_server.url,
        ready=".srca-nav button.mod-primary:has-text('2. Pipeline x-ray')",
    )
    page.wait_for_selector("[data-testid=used-mark]", timeout=60_000)
    assert [p.text for p in Session.open(workshop_server.session).state().problems] == [title]


def test_two_tabs_editing_at_once_lose_nothing(workshop_server, context):
    pages = [open_app(context, workshop_server.url) for _ in range(2)]
    for page in pages:
        go_to_step(page, "2. Pipeline x-ray")
        page.locator(".srca-finding-choice select").wait_for(timeout=60_000)
    # Both tabs opened before either edit: each picks another finding from the same list.
    make_problem(pages[0], index=0)
    make_problem(pages[1], index=1)
    assert len(Session.open(workshop_server.session).state().problems) == 2


def test_crm_text_is_shown_as_text_never_run(make_server, context, guard, tmp_path):
    export = tmp_path / "hostile.csv"
    with export.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["Opportunity ID", "Account Name", "Stage", "Amount", "Loss Reason Detail"])
        out.writerow(["X-1", XSS[0], "Closed Lost", "100", XSS[1]])
        out.writerow(["X-2", XSS[1], "Closed Won", "200", ""])
        out.writerow(
            ["X-2", XSS[0], "Closed Won", "200", XSS[0]]
        )  # duplicate: shown in the quarantine
        out.writerow(["X-3", "Acme", "Negotiation", "300", ""])
    server = make_server(data=export, history=None)
    page = open_app(context, server.url)
    page.wait_for_selector("text=Rows set aside")
    assert XSS[0] in page.inner_text("body")
    for label in step_labels(page):
        go_to_step(page, label)  # each view built (and its text drawn) before the next
    assert guard.dialogs == []
    assert page.locator("img[src='x']").count() == 0


def test_the_chart_library_loads_early_and_tabs_bring_their_charts(workshop_server, context):
    """Once step 1 has drawn, a chart out of sight loads plotly.js (no second of waiting when the
    x-ray opens); the x-ray sends a tab's charts only when the tab is opened."""
    page = open_app(context, workshop_server.url)
    warm = page.locator(".srca-offscreen .js-plotly-plot")
    warm.wait_for(state="attached", timeout=60_000)
    box = warm.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 0  # out of sight
    assert page.locator("button:has-text('warm')").count() == 0  # it fires once, then goes
    go_to_step(page, "2. Pipeline x-ray")
    app = page.locator(".srca-app .srca-figure .js-plotly-plot")
    app.first.wait_for(timeout=60_000)
    assert app.count() == 1  # the funnel; the other tabs' charts wait
    page.locator(".lm-TabBar-tab:has-text('Survival')").click()
    page.wait_for_function(
        "document.querySelectorAll('.srca-app .srca-figure .js-plotly-plot').length === 2",
        timeout=60_000,
    )
    assert app.nth(1).bounding_box()["height"] >= 300  # the survival chart, drawn full size
