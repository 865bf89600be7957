"""Every step, at projector and laptop size, in the words a Head of Sales reads: no internal id, no
CRM id, no column name, no raw p-value, no individual rep or manager named by default; on the
facilitator's screen (menus included) and on the room screen."""

from __future__ import annotations

import csv
import re

import pytest
from playwright.sync_api import expect
from workshop_browser import go_to_step, open_app

from sales_rca.agenda import app_steps, step_label
from sales_rca.session import open_or_create
from sales_rca.ui.serve import DEMO_DATA

SIZES = {"projector": (1920, 1080), "laptop": (1366, 768)}
INTERNAL_ID = re.compile(r"\b[PWCAU]\d{1,4}\b")
CRM_ID = re.compile(r"\b00[1-9A-Za-z][A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?\b")
COLUMN_NAME = re.compile(r"\b[a-z]+_[a-z_]+\b")
RAW_STATISTIC = re.compile(r"\bp\s*(?:adjusted|adj\.?)?\s*[=<]|\d\.\d+e-\d+|Kendall|Borda|\bNone\b")


def people() -> set[str]:
    """The reps and managers the demo export names."""
    with DEMO_DATA.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {r[c] for r in rows for c in ("Opportunity Owner", "Owner Manager") if r[c]}


def seed(session) -> None:
    """A team half-way through: a problem, whys, causes, a revealed vote, a play and an action."""
    with open_or_create(session, "Browser test workshop") as s:
        p = s.add_problem("Deals die at Needs Analysis")
        a = s.add_why(p, "The buying group never agrees on its problem")
        s.add_why(a, "Managers do not coach discovery", root_cause=True)
        bone = s.state().categories
        c1 = s.add_cause("Managers do not coach discovery", bone[0].id)
        c2 = s.add_cause("ROI never quantified", bone[1].id)
        s.open_voting()
        for name, cause in (("Ann", c1), ("Bo", c1), ("Cy", c2)):
            s.vote(cause, 2, participant=s.join(name))
        s.reveal()
        s.add_action("Weekly discovery coaching", "Dana (VP Sales)", due="2099-03-01", cause_id=c1)


def visible_words(page, scope: str) -> str:
    """The text a person sees in ``scope``: the page's text and every menu's options."""
    text = page.inner_text(scope)
    options = page.eval_on_selector_all(
        f"{scope} select option", "els => els.map(o => o.textContent)"
    )
    return "\n".join([text, *options])


FILE_NAME = re.compile(r"\S+\.(?:csv|tsv|txt|xlsx|xls|yaml|yml|json|html)\b")


def check(text: str, where: str, names: set[str]) -> None:
    text = FILE_NAME.sub("", text)  # an export's own file name is the team's, not our column
    for pattern, what in (
        (INTERNAL_ID, "an internal id"),
        (CRM_ID, "a CRM id"),
        (COLUMN_NAME, "a column name"),
        (RAW_STATISTIC, "a raw statistic"),
    ):
        found = pattern.search(text)
        assert found is None, f"{where} shows {what}: {found.group(0)!r}"
    named = sorted(n for n in names if n in text)
    assert named == [], f"{where} names people: {named}"


@pytest.mark.parametrize("size", list(SIZES.values()), ids=list(SIZES))
def test_no_step_shows_ids_column_names_statistics_or_names(workshop_server, context, size):
    seed(workshop_server.session)
    names = people()
    context.set_default_timeout(60_000)
    page = open_app(context, workshop_server.url)
    page.set_viewport_size({"width": size[0], "height": size[1]})
    room = context.new_page()
    room.set_viewport_size({"width": size[0], "height": size[1]})
    room.goto(workshop_server.url.split("/voila/")[0] + "/room/")
    for step_id in app_steps():
        label = step_label(step_id)
        go_to_step(page, label)
        tabs = page.locator(".srca-app .lm-TabBar-tab")
        for i in range(max(1, tabs.count())):
            if tabs.count():
                tabs.nth(i).click()
            check(visible_words(page, ".srca-app"), f"{label} (tab {i + 1})", names)
        expect(room.locator("[data-testid=room-step]")).to_have_text(label, timeout=30_000)
        check(room.inner_text("body"), f"the room screen on {label}", names)
