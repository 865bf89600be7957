"""Steps 4 and 5 in a real browser: five-whys trees with evidence, the fishbone and the vote."""

from __future__ import annotations

from playwright.sync_api import expect
from workshop_browser import go_to_step, open_app, work_on

from sales_rca.session import Session, open_or_create

XSS = ("<img src=x onerror=alert(1)>", "<script>alert(1)</script>")
WAIT = 30_000


def no_injected_markup(page) -> None:
    """Typed payloads became text: no <img src=x> and no script running alert exists."""
    assert page.locator("img[src='x']").count() == 0
    scripts = page.evaluate(
        "[...document.querySelectorAll('script')].filter(s => s.textContent.includes('alert(1)')).length"
    )
    assert scripts == 0


def type_and_enter(page, placeholder: str, text: str) -> None:
    box = page.locator(f"input[placeholder^='{placeholder}']")
    box.fill(text)
    box.press("Enter")


def test_three_whys_with_evidence_from_the_data_build_a_tree_that_survives_a_reload(
    workshop_server, context, guard
):
    page = open_app(context, workshop_server.url)
    go_to_step(page, "4. Five whys")
    outline = page.locator("[data-testid=why-outline]")

    type_and_enter(page, "Or type a new problem", f"Deals die at Needs Analysis {XSS[0]}")
    expect(outline).to_contain_text(f"Deals die at Needs Analysis {XSS[0]}", timeout=WAIT)

    whys = [f"Reps pitch instead of diagnosing {XSS[1]}", "No discovery framework", XSS[0]]
    findings = page.locator(".widget-dropdown:has(label:text('Evidence from the data')) option")
    titles = findings.all_inner_texts()
    assert len(titles) >= 3
    for n, text in enumerate(whys):
        type_and_enter(page, "Why does this happen", text)
        expect(outline.locator("li[data-why]")).to_have_count(n + 1, timeout=WAIT)
        # "Work on" stays on the parent (for another answer); the test goes one level deeper.
        work_on(page, ".".join(["1"] * (n + 1)))
        page.select_option(
            ".widget-dropdown:has(label:text('Evidence from the data')) select", label=titles[n]
        )
        page.click("button:has-text('Attach finding')")
        # a long title is shortened in the menu ("…"); the outline shows it whole
        expect(outline).to_contain_text(titles[n].removesuffix("…"), timeout=WAIT)
    expect(outline).to_contain_text(whys[0])
    expect(outline).to_contain_text(XSS[0])

    # A note with a payload, a verified root cause; the figure redraws with the tree.
    type_and_enter(page, "Or a note as evidence", XSS[1])
    expect(outline.locator(".srca-evidence")).to_have_count(4, timeout=WAIT)
    page.click("button:has-text('Verified')")
    page.click("button:has-text('Mark as root cause')")
    expect(outline.locator(".srca-root")).to_have_count(1, timeout=WAIT)
    expect(outline.locator(".srca-status-verified")).to_have_count(1)
    expect(page.locator(".js-plotly-plot .annotation-text", has_text="onerror")).to_have_count(
        2, timeout=WAIT
    )

    page.reload()
    page.wait_for_selector(".srca-nav button.mod-primary:has-text('4. Five whys')", timeout=90_000)
    outline = page.locator("[data-testid=why-outline]")
    expect(outline.locator("li[data-why]")).to_have_count(3, timeout=WAIT)
    for title in titles[:3]:
        expect(outline).to_contain_text(title.removesuffix("…"))
    expect(outline.locator(".srca-root")).to_have_count(1)
    no_injected_markup(page)
    assert guard.dialogs == []
    assert guard.blocked == []


def test_verifying_without_evidence_shows_the_rule_and_undo_takes_back_a_removal(
    workshop_server, context, guard
):
    page = open_app(context, workshop_server.url)
    go_to_step(page, "4. Five whys")
    outline = page.locator("[data-testid=why-outline]")
    type_and_enter(page, "Or type a new problem", "Deals stall after the demo")
    type_and_enter(page, "Why does this happen", "Nobody agreed on the problem")
    expect(outline.locator("li[data-why]")).to_have_count(1, timeout=WAIT)
    # The problem stays selected for another answer: nothing to verify until a why is picked.
    expect(page.locator("button:has-text('Verified')")).to_be_disabled()
    work_on(page, "1")

    page.click("button:has-text('Verified')")
    expect(page.locator(".srca-error")).to_contain_text(
        "cannot be verified without evidence: attach a finding or a note first", timeout=WAIT
    )
    expect(outline.locator(".srca-status-verified")).to_have_count(0)

    # Reword with a payload (Enter saves), then remove and undo.
    type_and_enter(page, "New wording", XSS[1])
    expect(outline).to_contain_text(XSS[1], timeout=WAIT)
    page.click("button:has-text('Remove why')")
    expect(outline.locator("li[data-why]")).to_have_count(0, timeout=WAIT)
    page.click("button:has-text('Undo')")
    expect(page.locator(".srca-ok")).to_contain_text("Undone: removing a why", timeout=WAIT)
    expect(outline.locator("li[data-why]")).to_have_count(1, timeout=WAIT)
    no_injected_markup(page)
    assert guard.dialogs == []
    assert guard.blocked == []


def test_causes_are_placed_on_the_fishbone_with_root_causes_proposed_and_the_room_ballot_counts(
    workshop_server, context, guard
):
    # The team's five whys from step 4, written through the session as another tab would.
    with open_or_create(workshop_server.session, "Browser test workshop") as s:
        p = s.add_problem("Deals die at Needs Analysis")
        s.add_why(p, "Managers do not coach discovery", root_cause=True)
    page = open_app(context, workshop_server.url)
    go_to_step(page, "5. Fishbone")
    table = page.locator("[data-testid=cause-table]")

    candidates = page.locator(".widget-dropdown:has(label:text('From the five whys')) select")
    candidates.select_option(label="★ root cause: Managers do not coach discovery")
    page.select_option(
        ".widget-dropdown:has(label:text('Bone')) select", label="Management & coaching"
    )
    page.click("button:has-text('Place cause')")
    expect(table).to_contain_text("Managers do not coach discovery", timeout=WAIT)
    expect(table).to_contain_text("yes")  # placed from the five whys (no internal id shown)

    for bone, text in (("Buyer & buying group", XSS[0]), ("Price & commercials", XSS[1])):
        page.select_option(".widget-dropdown:has(label:text('Bone')) select", label=bone)
        type_and_enter(page, "A cause", text)
        expect(table).to_contain_text(text, timeout=WAIT)
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(page.locator(".js-plotly-plot .annotation-text", has_text="onerror")).to_have_count(
        1, timeout=WAIT
    )

    # A ballot for someone voting on paper: one anonymous voter, ballots still hidden.
    page.click("text=Record a ballot for someone in the room")
    boxes = page.locator(".widget-inline-hbox input[type=number]")
    boxes.nth(0).fill("2")
    boxes.nth(0).press("Tab")
    page.click("button:has-text('Record this ballot')")
    status = page.locator("[data-testid=fishbone-votes]")
    expect(status).to_contain_text("1 of 1 joined have voted", timeout=WAIT)
    expect(page.locator("[data-testid=vote-results]")).to_have_count(0)
    page.click("button:has-text('Reveal results')")
    expect(page.locator("[data-testid=vote-results]")).to_contain_text("1 ballots", timeout=WAIT)
    expect(page.locator("[data-testid=alignment]")).to_contain_text("not measured yet")
    no_injected_markup(page)
    assert guard.dialogs == []
    assert guard.blocked == []
    with Session.open(workshop_server.session) as s:
        assert [c.category for c in s.state().causes] == ["coaching", "buyer", "price"]


def test_causes_typed_fast_one_after_another_are_all_stored_whole(workshop_server, context):
    page = open_app(context, workshop_server.url)
    go_to_step(page, "5. Fishbone")
    box = page.locator("input[placeholder^='A cause']")
    typed = [f"Cause {n}: nobody owns step {n} {XSS[1]}" for n in range(8)]
    for n, text in enumerate(typed):
        box.press_sequentially(text, delay=60 + 8 * n)  # 60-116 ms per key, as people type
        box.press("Enter")  # and straight on to the next one, no wait
    with Session.open(workshop_server.session) as s:
        deadline = 0
        while len(s.state().causes) < len(typed) and deadline < 60:
            page.wait_for_timeout(500)  # polling the session file, not a fixed wait
            deadline += 0.5
        assert [k.text for k in s.state().causes] == typed  # none lost, cut short or glued
    expect(box).to_have_value("")
    no_injected_markup(page)
