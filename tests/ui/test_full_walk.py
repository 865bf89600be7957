"""One workshop from start to finish, through the screens only (no shortcut through the session):
a finding becomes a problem, three whys get evidence, causes go on the fishbone, two phones vote
silently, the facilitator reveals, an action gets an owner and a target, the summary is written."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect
from workshop_browser import (
    due_in,
    go_to_step,
    guarded_context,
    make_problem,
    open_app,
    work_on,
)

from sales_rca.session import Session

WAIT = 30_000
SLOW = 90_000


def enter(page, placeholder: str, text: str) -> None:
    box = page.locator(f"input[placeholder^='{placeholder}']")
    box.fill(text)
    box.press("Enter")


def option_texts(select) -> list[str]:
    return [t.replace("\xa0", " ") for t in select.evaluate("s => [...s.options].map(o => o.text)")]


def test_a_whole_workshop_from_finding_to_written_summary(
    participant_server, browser, context, guard
):
    page = open_app(context, participant_server.url)

    # 2. X-ray: the team picks where deals die as its problem.
    go_to_step(page, "2. Pipeline x-ray")
    make_problem(page, "Needs Analysis: ")

    # 4. Five whys: three levels, each with a number from the data as evidence.
    go_to_step(page, "4. Five whys")
    outline = page.locator("[data-testid=why-outline]")
    expect(outline).to_contain_text("Needs Analysis: ", timeout=SLOW)
    evidence = ".widget-dropdown:has(label:text('Evidence from the data'))"
    titles = page.locator(f"{evidence} option").all_inner_texts()
    whys = [
        "The buying group never agrees on its problem",
        "Reps pitch the product before the problem is shared",
        "Managers do not coach discovery",
    ]
    for n, text in enumerate(whys):
        enter(page, "Why does this happen", text)
        expect(outline.locator("li[data-why]")).to_have_count(n + 1, timeout=WAIT)
        work_on(page, ".".join(["1"] * (n + 1)))  # one level deeper: why 1, 1.1, 1.1.1
        page.select_option(f"{evidence} select", label=titles[n + 1])
        page.click("button:has-text('Attach finding')")
        expect(outline).to_contain_text(titles[n + 1].removesuffix("…"), timeout=WAIT)
    page.click("button:has-text('Verified')")
    page.click("button:has-text('Mark as root cause')")
    expect(outline.locator(".srca-root")).to_have_count(1, timeout=WAIT)

    # 5. Fishbone: the root cause and a second cause go on their bones.
    go_to_step(page, "5. Fishbone")
    table = page.locator("[data-testid=cause-table]")
    candidates = page.locator(".widget-dropdown:has(label:text('From the five whys')) select")
    expect(candidates.locator("option", has_text="root cause")).to_have_count(1, timeout=WAIT)
    root = [o for o in option_texts(candidates) if "root cause" in o]
    candidates.select_option(label=root[0])
    page.select_option(
        ".widget-dropdown:has(label:text('Bone')) select", label="Management & coaching"
    )
    page.click("button:has-text('Place cause')")
    expect(table).to_contain_text("Managers do not coach discovery", timeout=WAIT)
    page.select_option(
        ".widget-dropdown:has(label:text('Bone')) select", label="Buyer & buying group"
    )
    enter(page, "A cause", "No shared problem statement in the buying group")
    expect(table.locator("tbody tr")).to_have_count(2, timeout=WAIT)

    # Two participants vote silently from their phones once the facilitator opens voting.
    page.click("button:has-text('Open voting on the phones')")
    url = f"{participant_server.join_url}?code={participant_server.join_code}"
    phones = []
    for _ in range(2):
        ctx = guarded_context(browser, guard)
        phone = ctx.new_page()
        phone.set_viewport_size({"width": 390, "height": 844})
        phone.goto(url)
        phone.click("button:has-text('Join')", timeout=SLOW)
        row = phone.locator(".cause", has_text="Managers do not coach discovery")
        row.locator("button[aria-label='Give a dot']").click(timeout=WAIT)
        expect(row.locator(".dots")).to_have_text("●", timeout=WAIT)
        expect(phone.locator("[data-testid=ballot-status]")).to_contain_text("hidden")
        phones.append(ctx)
    expect(page.locator("[data-testid=vote-count]")).to_have_text(
        "2 joined · 2 voted", timeout=WAIT
    )
    page.click("button:has-text('Reveal results')")
    results = page.locator("[data-testid=vote-results]")
    expect(results.locator("tbody tr").first).to_contain_text(
        "Managers do not coach discovery", timeout=WAIT
    )
    for ctx in phones:
        ctx.close()

    # 6. Plays and actions: an owner, a date and a target measured on the team's own data.
    go_to_step(page, "6. Plays and actions")
    form = page.locator(".srca-action-form")
    form.wait_for(timeout=SLOW)
    form.locator("input[placeholder^='What will we do']").fill("Weekly discovery coaching")
    form.locator("input[placeholder='Who owns it?']").fill("Dana (VP Sales)")
    form.locator("input[type=date]").fill(due_in())
    form.locator(".widget-inline-hbox:has(> label:text-is('Cause it fixes')) select").select_option(
        label="Managers do not coach discovery"
    )
    target = form.locator(".widget-inline-hbox:has(> label:text-is('Target metric')) select")
    conversion = [o for o in option_texts(target) if "Conversion at Needs Analysis" in o]
    target.select_option(label=conversion[0])
    value = form.locator(".widget-inline-hbox:has(> label:text-is('Target value')) input")
    value.fill("90")
    value.press("Tab")
    form.locator("button:has-text('Commit to this action')").click()
    expect(page.locator("[data-testid=action] .srca-action-title").first).to_have_text(
        "Weekly discovery coaching", timeout=WAIT
    )

    # 7. Summary: the written file holds the decisions and the data behind them.
    go_to_step(page, "7. Summary")
    page.click("button:has-text('Write the HTML summary')", timeout=SLOW)
    page.wait_for_selector("[data-testid=summary-path]", timeout=180_000)
    html = Path(page.inner_text("[data-testid=summary-path]")).read_text(encoding="utf-8")
    for text in ("Weekly discovery coaching", "Dana (VP Sales)", "Managers do not coach discovery"):
        assert text in html
    assert "Needs Analysis" in html

    state = Session.open(participant_server.session).state()
    assert len(state.problems) == 1 and len(state.whys) == 3
    assert all(w.evidence for w in state.whys)
    assert len(state.causes) == 2 and len(state.participants) == 2 and state.revealed
    assert [a.owner for a in state.actions] == ["Dana (VP Sales)"]
    assert guard.blocked == []
    assert guard.dialogs == []
