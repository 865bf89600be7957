"""Steps 3 (loss coding), 6 (plays and actions) and 7 (summary) in a real browser."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect
from workshop_browser import due_in, go_to_step, open_app

from sales_rca.crm import load_crm
from sales_rca.pipeline import xray
from sales_rca.render import metric_value
from sales_rca.session import Session
from sales_rca.ui.serve import DEMO_DATA, DEMO_HISTORY

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
SLOW = 90_000


def open_coding(page) -> None:
    go_to_step(page, "3. Loss coding")
    page.wait_for_selector(".srca-deal", timeout=SLOW)


def field(form, label: str, kind: str = "select"):
    """The select or input of the form field with this description."""
    return form.locator(f".widget-inline-hbox:has(> label:text-is('{label}')) {kind}")


def first_deal(page):
    return page.locator(".srca-deal").first


def test_coding_shows_categories_and_the_queue_and_an_override_survives_refresh_and_restart(
    workshop_server, context, guard
):
    page = open_app(context, workshop_server.url)
    open_coding(page)
    cards = page.inner_text("[data-testid=coding-cards]")
    assert "the rules could not code" in cards
    assert re.search(r"\b0\s+reviewed by the team", cards)
    # The stage x category heatmap names the fishbone categories.
    page.wait_for_selector(".js-plotly-plot text:has-text('Buyer & buying group')", timeout=SLOW)
    deal = first_deal(page)
    assert "not reviewed" in deal.inner_text()
    # Not coded by the rules: "no code", or what the model suggests (it helps by default).
    before = deal.locator("[data-testid=deal-codes]").inner_text()
    assert before != "Price too high"
    head = deal.locator(".srca-deal-head b").first
    deal_id, deal_name = head.get_attribute("data-deal"), head.inner_text()
    assert not deal_name.startswith("006")  # named by its opportunity name, never its CRM id

    deal.locator("select").select_option(label="Price & commercials: Price too high")
    deal.locator("button:has-text('Set as the code')").click()
    page.wait_for_selector(f"text={deal_name}: Price too high.", timeout=30_000)
    expect(deal.locator("[data-testid=deal-codes]")).to_have_text("Price too high")
    expect(deal).to_contain_text("reviewed by facilitator")
    overrides = Session.open(workshop_server.session).state().code_overrides
    assert [(o.opportunity_id, o.codes) for o in overrides] == [(deal_id, ("price_too_high",))]

    def shows_the_override(page) -> None:
        open_coding(page)
        deal = first_deal(page)
        assert deal.locator(".srca-deal-head b").first.get_attribute("data-deal") == deal_id
        assert deal.locator("[data-testid=deal-codes]").inner_text() == "Price too high"
        assert "reviewed by facilitator" in deal.inner_text()
        assert re.search(
            r"\b1\s+reviewed by the team", page.inner_text("[data-testid=coding-cards]")
        )

    page.reload()
    page.wait_for_selector(".srca-nav button", timeout=SLOW)
    shows_the_override(page)

    workshop_server.restart()
    page = open_app(context, workshop_server.url)
    shows_the_override(page)
    page.click("button:has-text('Reviewed by the team')")
    expect(page.locator(".srca-deal")).to_have_count(1)
    assert guard.blocked == []
    assert guard.dialogs == []


def test_an_action_with_owner_and_target_takes_its_baseline_from_the_xray_and_reaches_the_summary(
    workshop_server, context, guard
):
    x = xray(load_crm(DEMO_DATA, history=DEMO_HISTORY))
    conversion = float(x.stage_table.set_index("stage").loc["Needs Analysis", "conversion"])

    page = open_app(context, workshop_server.url)
    # The room has placed two causes (one with hostile text) and revealed the vote.
    s = Session.open(workshop_server.session)
    cause = s.add_cause("The buying group never agrees on the problem", "buyer")
    s.add_cause(f"Reps {IMG} skip discovery {SCRIPT}", "process")
    alice, bob = s.join("Alice"), s.join("Bob")
    s.vote(cause, 2, participant=alice)
    s.vote(cause, 1, participant=bob)
    s.reveal()
    s.close()
    go_to_step(page, "6. Plays and actions")
    page.wait_for_selector("[data-testid=plays-basis]", timeout=SLOW)
    assert "ranked highest in the vote" in page.inner_text("[data-testid=plays-basis]")
    page.wait_for_selector("text=For our causes", timeout=SLOW)

    form = page.locator(".srca-action-form")
    form.locator("input[placeholder^='What will we do']").fill(SCRIPT)
    form.locator("input[placeholder='Who owns it?']").fill(IMG)
    form.locator("input[type=date]").fill(due_in())
    field(form, "Cause it fixes").select_option(
        label="The buying group never agrees on the problem"
    )
    field(form, "Play").select_option(
        label="Build consensus across the buying group before proposing"
    )
    # Choosing the play suggests its leading indicator, measured on our data.
    baseline = metric_value(conversion, "share")
    page.wait_for_selector(f"[data-testid=baseline]:has-text('{baseline}')", timeout=30_000)
    assert (
        field(form, "Target metric")
        .evaluate("s => s.options[s.selectedIndex].text")
        .replace("\xa0", " ")
        == f"Conversion at Needs Analysis: {baseline}"
    )
    # A target below today's conversion (worse) is refused where the button is, nothing saved.
    field(form, "Target value", "input").fill("50")
    field(form, "Target value", "input").press("Tab")
    form.locator("button:has-text('Commit to this action')").click()
    expect(page.locator(".srca-toast .srca-error")).to_contain_text("better is higher")
    assert Session.open(workshop_server.session).state().actions == ()
    field(form, "Target value", "input").fill("90")
    field(form, "Target value", "input").press("Tab")
    form.locator("button:has-text('Commit to this action')").click()
    action = page.locator("[data-testid=action]").first
    expect(action.locator(".srca-action-title")).to_have_text(SCRIPT, timeout=30_000)
    text = action.inner_text()
    assert f"owner {IMG}" in text
    assert f"{baseline} → {metric_value(0.9, 'share')}" in text
    assert page.locator("img[src=x]").count() == 0
    state = Session.open(workshop_server.session).state()
    [a] = state.actions
    assert (a.title, a.owner, str(a.due), a.cause_id) == (SCRIPT, IMG, due_in(), cause)
    assert a.target.metric == "conversion" and a.target.stage == "Needs Analysis"
    assert a.target.baseline == conversion and a.target.target == 0.9

    action_row = page.locator(".srca-card:has([data-testid=action])").first
    action_row.locator("button:has-text('Mark done')").click()
    page.wait_for_selector("[data-testid=action] .srca-tag:has-text('done')", timeout=30_000)

    go_to_step(page, "7. Summary")
    page.wait_for_selector("[data-testid=summary-actions]", timeout=SLOW)
    row = page.locator("[data-testid=summary-actions] tbody tr").first
    assert row.locator("td").nth(0).inner_text() == SCRIPT
    assert row.locator("td").nth(1).inner_text() == IMG
    assert "Alignment" in page.inner_text("body")
    page.click("button:has-text('Write the HTML summary')")
    # The diagnostic runs for seconds in the background: its progress shows, the button waits.
    expect(page.get_by_text(re.compile(r"Writing the summary.*step \d+ of \d+"))).to_be_visible()
    expect(page.locator("button:has-text('Write the HTML summary')")).to_be_disabled()
    page.wait_for_selector("[data-testid=summary-path]", timeout=SLOW)
    expect(page.locator("button:has-text('Write the HTML summary')")).to_be_enabled()
    written = Path(page.inner_text("[data-testid=summary-path]"))
    assert written.parent == workshop_server.session.parent
    html = written.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert SCRIPT not in html and IMG not in html

    # The written file opened in a browser shows the payloads as text and runs none of them.
    report = context.new_page()
    report.set_content(html)
    # Ready once every chart has drawn from its JSON: only then can nothing have run.
    report.wait_for_function(
        "n => document.querySelectorAll('.js-plotly-plot svg.main-svg').length >= n",
        arg=report.locator("script.plotly-figure").count(),
        timeout=SLOW,
    )
    assert SCRIPT in report.inner_text("body")
    assert report.locator("img[src=x]").count() == 0
    assert guard.dialogs == []
    assert guard.blocked == []
