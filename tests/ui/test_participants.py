"""The participant page in a real browser: join from a phone, vote silently, see results on reveal."""

from __future__ import annotations

from playwright.sync_api import expect
from workshop_browser import go_to_step, guarded_context, open_app

from sales_rca.session import Session, open_or_create

XSS = ("<img src=x onerror=alert(1)>", "<script>alert(1)</script>")
WAIT = 30_000
PHONE = {"width": 390, "height": 844}


def open_phone(context, url: str):
    page = context.new_page()
    page.set_viewport_size(PHONE)
    page.goto(url)
    page.wait_for_selector("text=Join the workshop", timeout=90_000)
    return page


def join(page) -> None:
    page.click("button:has-text('Join')")
    expect(page.locator("[data-testid=me]")).to_contain_text("You are Anonymous", timeout=WAIT)


def give_dot(page, cause_text: str) -> None:
    row = page.locator(".srca-vote-row", has_text=cause_text)
    before = page.locator("[data-testid=ballot-status] b").inner_text()
    row.locator("button.srca-vote-plus").click()
    expect(page.locator("[data-testid=ballot-status] b")).not_to_have_text(before, timeout=WAIT)


def test_two_anonymous_participants_vote_silently_and_see_results_only_after_reveal(
    participant_server, browser, context, guard
):
    with open_or_create(participant_server.session, "Browser test workshop") as s:
        coach = s.add_cause("Managers do not coach discovery", "coaching")
        s.add_cause("ROI never quantified", "price")
    facilitator = open_app(context, participant_server.url)
    go_to_step(facilitator, "5. Fishbone")
    fishbone = facilitator.locator(".js-plotly-plot .annotation-text", has_text="ROI never")
    expect(fishbone).to_have_count(1, timeout=WAIT)
    count = facilitator.locator("[data-testid=vote-count]")
    expect(count).to_have_text("0 joined · 0 voted")
    url = f"{participant_server.join_url}?code={participant_server.join_code}"

    phones = []
    for n in range(2):
        ctx = guarded_context(browser, guard)
        phone = open_phone(ctx, url)
        join(phone)
        phones.append((ctx, phone))
        give_dot(phone, "Managers do not coach discovery")
        give_dot(phone, "Managers do not coach discovery" if n == 0 else "ROI never quantified")
        expect(phone.locator("[data-testid=hidden-note]")).to_contain_text(
            "Your votes are hidden until the facilitator reveals the results"
        )
        expect(phone.locator("[data-testid=vote-results]")).to_have_count(0)

    # The facilitator's counts move without a reload; the ballots stay hidden.
    expect(count).to_have_text("2 joined · 2 voted", timeout=WAIT)
    expect(facilitator.locator("[data-testid=fishbone-votes]")).to_contain_text(
        "2 of 2 joined have voted", timeout=WAIT
    )
    expect(facilitator.locator("[data-testid=vote-results]")).to_have_count(0)

    facilitator.click("button:has-text('Reveal results')")
    results = facilitator.locator("[data-testid=vote-results]")
    expect(results).to_contain_text("2 ballots", timeout=WAIT)
    expect(results.locator("tbody tr").first).to_contain_text("Managers do not coach discovery")
    expect(facilitator.locator("[data-testid=alignment]")).to_contain_text("Kendall's W")
    for ctx, phone in phones:
        expect(phone.locator("[data-testid=vote-results]")).to_contain_text(
            "Managers do not coach discovery", timeout=WAIT
        )
        expect(phone.locator("button.srca-vote-plus").first).to_be_disabled()
        ctx.close()
    with Session.open(participant_server.session) as s:
        state = s.state()
        assert [p.name for p in state.participants] == [None, None]
        assert sum(v.dots for v in state.votes if v.cause_id == coach) == 3
    assert guard.dialogs == []
    assert guard.blocked == []


def test_a_wrong_join_code_is_refused_and_typed_html_shows_as_text_after_a_reload(
    participant_server, context, guard
):
    with open_or_create(participant_server.session, "Browser test workshop") as s:
        s.add_cause("Managers do not coach discovery", "coaching")
    phone = open_phone(context, f"{participant_server.join_url}?code=WRONG9")
    code_box = phone.locator("input[placeholder^='Code shown']")
    expect(code_box).to_be_visible()
    code_box.fill("NOPE42")
    phone.click("button:has-text('Join')")
    expect(phone.locator(".srca-error")).to_contain_text("does not match", timeout=WAIT)
    with Session.open(participant_server.session) as s:
        assert s.state().participants == ()

    code_box.fill(participant_server.join_code.lower())
    phone.locator("input[placeholder^='Your name']").fill(XSS[0])
    phone.click("button:has-text('Join')")
    me = phone.locator("[data-testid=me]")
    expect(me).to_contain_text(f"You are {XSS[0]}", timeout=WAIT)
    phone.select_option(".srca-card:has-text('Add a cause') select", label="Buyer & buying group")
    box = phone.locator("input[placeholder^='A cause you see']")
    box.fill(XSS[1])
    box.press("Enter")
    expect(phone.locator(".srca-vote-row", has_text=XSS[1])).to_have_count(1, timeout=WAIT)
    give_dot(phone, XSS[1])

    # A reload through the personal link comes back as the same participant, with the vote.
    phone.goto(me.locator("a").evaluate("a => a.href"))
    expect(phone.locator("[data-testid=me]")).to_contain_text(f"You are {XSS[0]}", timeout=90_000)
    expect(phone.locator(".srca-vote-row", has_text=XSS[1]).locator(".srca-dots")).to_have_text(
        "●", timeout=WAIT
    )
    assert phone.locator("img[src='x']").count() == 0
    with Session.open(participant_server.session) as s:
        state = s.state(include_hidden=True)
        assert len(state.participants) == 1
        assert [c.text for c in state.causes][-1] == XSS[1]
    assert guard.dialogs == []
    assert guard.blocked == []


def test_a_participant_can_rank_the_top_three_silently_instead_of_placing_dots(
    participant_server, context, guard
):
    with open_or_create(participant_server.session, "Browser test workshop") as s:
        ids = [
            s.add_cause("Managers do not coach discovery", "coaching"),
            s.add_cause("ROI never quantified", "price"),
            s.add_cause(XSS[0], "buyer"),
        ]
    phone = open_phone(
        context, f"{participant_server.join_url}?code={participant_server.join_code}"
    )
    join(phone)
    card = phone.locator(".srca-card", has_text="Or rank your top three")
    selects = card.locator("select")
    expect(selects).to_have_count(3, timeout=WAIT)
    # Options: "—" first, then the causes in the order they were placed.
    for place, cause in enumerate([1, 2, 0]):
        selects.nth(place).select_option(index=cause + 1)
    card.locator("button:has-text('Save my ranking')").click()
    status = phone.locator("[data-testid=my-ranking]")
    expect(status).to_contain_text("1. ROI never quantified", timeout=WAIT)
    expect(status).to_contain_text(f"2. {XSS[0]}")
    assert phone.locator("img[src='x']").count() == 0
    with Session.open(participant_server.session) as s:
        state = s.state(include_hidden=True)
        assert [list(r.cause_ids) for r in state.rankings] == [[ids[1], ids[2], ids[0]]]
        assert len(state.voters) == 1
    assert guard.dialogs == []
    assert guard.blocked == []
