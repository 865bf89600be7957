"""Phones in a real browser: the kernel-free join page, one ballot per person, voting only when
the facilitator opens it, suggestions through the facilitator, and the facilitator key."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request

import psutil
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
    page.wait_for_selector("#join:not([hidden]), #main:not([hidden])", timeout=WAIT)
    return page


def join(page, name: str = "") -> None:
    if name:
        page.fill("#name", name)
    page.click("button:has-text('Join')")
    expect(page.locator("#main")).to_be_visible(timeout=WAIT)


def give_dot(page, cause_text: str, dots: int) -> None:
    row = page.locator(".cause", has_text=cause_text)
    row.locator("button[aria-label='Give a dot']").click()
    expect(row.locator(".dots")).to_have_text("●" * dots, timeout=WAIT)


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def test_without_the_key_nothing_but_the_join_page_answers_and_no_kernel_starts(
    participant_server,
):
    base = participant_server.url.split("/voila/")[0]
    for path in (
        "/",
        "/voila/render/workshop.ipynb",
        "/voila/render/diagnostic.ipynb",
        "/voila/api/contents",
        "/voila/tree",
        "/api/kernels",
        "/login",
        "/voila/render/workshop.ipynb?token=wrong",
        "/room/",
        "/room/api/state",
        "/room/plotly.min.js",
        "/room/?token=wrong",
    ):
        assert status(base + path) in (403, 404), path
    assert status(base + "/join/") == 200
    assert "Voilà" not in urllib.request.urlopen(base + "/join/").read().decode()
    assert status(participant_server.url.replace("workshop.ipynb", "diagnostic.ipynb")) == 404
    # None of those requests, the join page included, started a kernel: the only kernel is the
    # pre-heated one the server keeps ready for the facilitator's next page.
    kernels = [
        p
        for p in psutil.Process(participant_server.process.pid).children(recursive=True)
        if "ipykernel" in " ".join(p.cmdline())
    ]
    assert len(kernels) <= 1, kernels


def test_two_phones_vote_only_when_open_silently_and_see_results_after_reveal(
    participant_server, browser, context, guard
):
    with open_or_create(participant_server.session, "Browser test workshop") as s:
        coach = s.add_cause("Managers do not coach discovery", "coaching")
        s.add_cause("ROI never quantified", "price")
    facilitator = open_app(context, participant_server.url)
    go_to_step(facilitator, "5. Fishbone")
    count = facilitator.locator("[data-testid=vote-count]")
    expect(count).to_have_text("0 joined · 0 voted", timeout=WAIT)
    url = f"{participant_server.join_url}?code={participant_server.join_code}"

    phones = []
    for _ in range(2):
        ctx = guarded_context(browser, guard)
        phone = open_phone(ctx, url)
        join(phone)
        phones.append((ctx, phone))
    first = phones[0][1]
    expect(first.locator("[data-testid=ballot-status]")).to_contain_text("not open yet")
    expect(first.locator("button[aria-label='Give a dot']").first).to_be_disabled()

    facilitator.click("button:has-text('Open voting on the phones')")
    for n, (_, phone) in enumerate(phones):
        expect(phone.locator("[data-testid=ballot-status]")).to_contain_text(
            "Your votes are hidden", timeout=WAIT
        )
        give_dot(phone, "Managers do not coach discovery", 1)
        if n == 0:
            give_dot(phone, "Managers do not coach discovery", 2)
        else:
            give_dot(phone, "ROI never quantified", 1)
        expect(phone.locator("#results")).to_be_hidden()

    expect(count).to_have_text("2 joined · 2 voted", timeout=WAIT)
    facilitator.click("button:has-text('Reveal results')")
    results = facilitator.locator("[data-testid=vote-results]")
    expect(results).to_contain_text("2 ballots", timeout=WAIT)
    for ctx, phone in phones:
        expect(phone.locator("#results")).to_contain_text(
            "Managers do not coach discovery", timeout=WAIT
        )
        expect(phone.locator("[data-testid=ballot-status]")).to_contain_text("Voting is closed")
        ctx.close()
    with Session.open(participant_server.session) as s:
        state = s.state()
        assert len(state.participants) == 2
        assert sum(v.dots for v in state.votes if v.cause_id == coach) == 3
    assert guard.dialogs == [] and guard.blocked == []


def test_a_wrong_code_is_refused_a_refresh_is_the_same_person_and_html_stays_text(
    participant_server, context, guard
):
    with open_or_create(participant_server.session, "Browser test workshop") as s:
        s.add_cause("Managers do not coach discovery", "coaching")
        s.open_voting()
    phone = open_phone(context, f"{participant_server.join_url}?code=WRONG9")
    phone.fill("#code", "NOPE42")
    phone.click("button:has-text('Join')")
    expect(phone.locator("#message")).to_contain_text("does not match", timeout=WAIT)
    with Session.open(participant_server.session) as s:
        assert s.state().participants == ()

    phone.fill("#code", participant_server.join_code.lower())
    join(phone, XSS[0])
    expect(phone.locator("[data-testid=me]")).to_have_text(XSS[0], timeout=WAIT)
    give_dot(phone, "Managers do not coach discovery", 1)
    phone.reload()  # a refresh: the same person, the same ballot, no new participant
    expect(phone.locator("[data-testid=me]")).to_have_text(XSS[0], timeout=WAIT)
    row = phone.locator(".cause", has_text="Managers do not coach discovery")
    expect(row.locator(".dots")).to_have_text("●", timeout=WAIT)
    assert phone.locator("img[src='x']").count() == 0
    with Session.open(participant_server.session) as s:
        assert len(s.state().participants) == 1
    assert guard.dialogs == [] and guard.blocked == []


def test_a_suggestion_waits_for_the_facilitator_and_typing_fast_loses_nothing(
    participant_server, context, guard
):
    with open_or_create(participant_server.session, "Browser test workshop") as s:
        s.add_cause("Managers do not coach discovery", "coaching")
    facilitator = open_app(context, participant_server.url)
    go_to_step(facilitator, "5. Fishbone")
    phone = open_phone(
        context, f"{participant_server.join_url}?code={participant_server.join_code}"
    )
    join(phone)
    typed = [f"Cause number {n} typed fast {XSS[1]}" for n in range(4)]
    for text in typed:
        phone.select_option("#category", label="Buyer & buying group")
        phone.locator("#cause-text").press_sequentially(text, delay=15)
        phone.locator("#cause-text").press("Enter")
        expect(phone.locator("#message")).to_contain_text("Sent", timeout=WAIT)
        expect(phone.locator("#cause-text")).to_have_value("", timeout=WAIT)
    with Session.open(participant_server.session) as s:
        waiting = [k.text for k in s.state().proposed_causes]
        assert waiting == typed  # every text whole, none merged, none lost
        assert len(s.state().causes) == 1  # nothing reached the fishbone by itself
    assert phone.locator(".cause", has_text="Cause number").count() == 0

    card = facilitator.locator(".srca-card", has_text="Suggested from the phones")
    expect(card.locator("input")).to_have_count(4, timeout=WAIT)
    card.locator("button:has-text('Add to the fishbone')").first.click()
    expect(phone.locator(".cause", has_text="Cause number 0")).to_have_count(1, timeout=WAIT)
    assert phone.locator("script").count() == 1  # only the page's own join.js
    assert guard.dialogs == [] and guard.blocked == []


def test_a_stopped_server_shows_a_banner_and_a_restart_keeps_the_person(
    participant_server, context, guard
):
    with open_or_create(participant_server.session, "Browser test workshop") as s:
        s.add_cause("Managers do not coach discovery", "coaching")
        s.open_voting()
    phone = open_phone(
        context, f"{participant_server.join_url}?code={participant_server.join_code}"
    )
    join(phone, "Ana")
    participant_server.stop()
    expect(phone.locator("#offline")).to_be_visible(timeout=WAIT)
    expect(phone.locator("button[aria-label='Give a dot']").first).to_be_disabled()
    participant_server.start()
    base = participant_server.join_url
    if base not in phone.url:  # the test server may come back on another port
        phone.goto(base)
    expect(phone.locator("#offline")).to_be_hidden(timeout=WAIT)
    expect(phone.locator("[data-testid=me]")).to_have_text("Ana", timeout=WAIT)
    give_dot(phone, "Managers do not coach discovery", 1)
    with Session.open(participant_server.session) as s:
        assert [p.name for p in s.state().participants] == ["Ana"]
    body = json.loads(
        urllib.request.urlopen(participant_server.join_url + "api/state").read().decode()
    )
    assert body == {"joined": False, "title": "Browser test workshop"}  # no cookie, no ballot
    assert guard.blocked == []


def test_the_facilitator_page_says_when_the_server_is_gone_and_when_it_restarted(
    workshop_server, context
):
    app = open_app(context, workshop_server.url)
    banner = app.locator("#srca-offline")
    expect(banner).to_be_hidden(timeout=WAIT)
    port = workshop_server.port
    workshop_server.stop()
    expect(banner).to_be_visible(timeout=WAIT)
    expect(banner).to_contain_text("Nothing you type now can be saved")
    workshop_server.start()
    if workshop_server.port == port:  # the page can only see a server on its own port
        expect(banner).to_contain_text("reload this page", timeout=WAIT)


def test_a_closed_facilitator_tab_gives_its_kernel_back(workshop_server, context):
    server = psutil.Process(workshop_server.process.pid)

    def kernels() -> int:
        running = 0
        for child in server.children(recursive=True):
            with contextlib.suppress(psutil.Error):  # exited (a zombie until reaped)
                running += "ipykernel" in " ".join(child.cmdline())
        return running

    page = open_app(context, workshop_server.url)
    assert kernels() == 1
    page.close(run_before_unload=True)  # the page's beacon shuts its kernel down (with _xsrf)
    deadline = time.monotonic() + 30
    while kernels() and time.monotonic() < deadline:
        time.sleep(0.25)  # polling the server's processes until the kernel is gone
    assert kernels() == 0
