"""The room screen in a real browser: the projector sees the story in large type and no control,
follows the facilitator, keeps the fishbone drawn while causes arrive, and keeps the timer."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from workshop_browser import go_to_step, open_app

from sales_rca.session import open_or_create

WAIT = 30_000
SIZES = {"projector": (1920, 1080), "laptop": (1366, 768)}


def open_room(context, server, size):
    base = server.url.split("/voila/")[0]
    room = context.new_page()
    room.set_viewport_size({"width": size[0], "height": size[1]})
    room.goto(base + "/room/")
    expect(room.locator("[data-testid=room-step]")).not_to_be_empty(timeout=WAIT)
    return room


def drawn_height(page, scope: str) -> float:
    """Height of the plotly chart drawn in ``scope`` (0 when it vanished)."""
    box = page.locator(f"{scope} .main-svg").first.bounding_box()
    return 0.0 if box is None else box["height"]


@pytest.mark.parametrize("size", list(SIZES.values()), ids=list(SIZES))
def test_the_room_sees_the_fishbone_and_the_vote_without_controls_while_causes_arrive(
    participant_server, context, size
):
    with open_or_create(participant_server.session, "Browser test workshop") as s:
        s.add_problem("Deals die at discovery")
    facilitator = open_app(context, participant_server.url)
    room = open_room(context, participant_server, size)
    expect(room.locator("[data-testid=room-step]")).to_have_text("1. Data check")
    go_to_step(facilitator, "5. Fishbone")
    expect(room.locator("[data-testid=room-step]")).to_have_text(
        "5. Fishbone and vote", timeout=WAIT
    )
    expect(room.locator("[data-testid=room-figures] .main-svg").first).to_be_visible(timeout=WAIT)
    with open_or_create(participant_server.session, "Browser test workshop") as s:
        bone = s.state().categories[0].id
        for i in range(8):
            s.add_cause(f"Cause number {i} from a phone", bone)
            # Both screens keep the fishbone drawn while the causes arrive.
            expect(room.locator("[data-testid=room-figures]")).to_contain_text(
                f"Cause number {i}", timeout=WAIT
            )
            assert drawn_height(room, "[data-testid=room-figures]") > 200
        s.open_voting()
    expect(facilitator.locator(".srca-app .js-plotly-plot")).to_contain_text(
        "Cause number 7", timeout=WAIT
    )
    assert drawn_height(facilitator, ".srca-app") > 200
    # The vote line and the fishbone fit on the screen together; the room has no form control.
    expect(room.locator("[data-testid=room-lead]")).to_contain_text("have voted", timeout=WAIT)
    lead = room.locator("[data-testid=room-lead]").bounding_box()
    figure = room.locator("[data-testid=room-figures] .main-svg").first.bounding_box()
    assert lead is not None and figure is not None
    assert lead["y"] + lead["height"] <= figure["y"] + 1
    assert figure["y"] + figure["height"] <= size[1]
    assert room.locator("input, select, button, textarea, [contenteditable]").count() == 0


def test_the_timer_lives_in_the_session_a_refresh_keeps_it_and_the_room_shows_it(
    workshop_server, context
):
    facilitator = open_app(context, workshop_server.url)
    room = open_room(context, workshop_server, SIZES["projector"])
    timer = room.locator("[data-testid=room-timer]")
    expect(timer).to_have_text("10:00")
    expect(timer).to_have_class("srca-room-timer srca-paused")
    facilitator.click("button:has-text('Start timer')")
    expect(timer).not_to_have_class("srca-room-timer srca-paused", timeout=WAIT)
    expect(timer).not_to_have_text("10:00", timeout=WAIT)
    facilitator.reload()
    expect(facilitator.locator("button:has-text('Pause timer')")).to_be_visible(timeout=90_000)
    label = facilitator.locator(".srca-timer")
    expect(label).not_to_have_text("10:00", timeout=WAIT)
    facilitator.click("button:has-text('Pause timer')")
    expect(timer).to_have_class("srca-room-timer srca-paused", timeout=WAIT)
