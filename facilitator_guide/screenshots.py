"""Take the facilitator guide's screenshots from the real app, so they never go stale.

Run with ``make screenshots`` (or ``.venv/bin/python facilitator_guide/screenshots.py``). It reuses
the browser-test harness in ``tests/ui/conftest.py``: a real ``sales-rca workshop`` server on the
demo data, on a free loopback port, with a temporary session file; Debian's chromium driven by
Playwright, with every request that would leave loopback aborted. It clicks through the seven
steps the way a facilitator would, turns an x-ray finding into a problem, fills the rest of a
plausible workshop into the session (whys with evidence, causes, five silent ballots, plays and
actions), writes the HTML summary from step 7, and saves PNGs to ``facilitator_guide/images/``.

Needs chromium (``apt-get install -y chromium``) and the test extras (``make install``).
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "facilitator_guide" / "images"
sys.path.insert(0, str(ROOT))

from sales_rca.agenda import step_label, step_number  # noqa: E402
from sales_rca.ui.serve import DEMO_DATA, DEMO_HISTORY  # noqa: E402
from tests.ui.workshop_browser import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    Guard,
    Server,
    free_port,
    go_to_step,
    guarded_context,
    make_problem,
    open_app,
)

TITLE = "Northwind Demo Co. — why do our deals die?"
#: PNGs above this many bytes are reduced to a 256-colour palette.
MAX_BYTES = 300_000


def save(page_or_locator, name: str, **kwargs) -> Path:
    """Screenshot into ``images/<name>.png`` and keep the file small."""
    path = IMAGES / f"{name}.png"
    page_or_locator.screenshot(path=str(path), **kwargs)
    if path.stat().st_size > MAX_BYTES:
        from PIL import Image

        with Image.open(path) as im:
            im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
                path, optimize=True
            )
    print(f"  {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KB)")
    return path


def settle(page, seconds: float = 1.5) -> None:
    """Let charts draw and live updates arrive."""
    page.wait_for_load_state("networkidle")
    time.sleep(seconds)


def seed_workshop(session_path: Path) -> None:
    """Write what a team would build in steps 4 to 6 into the session, as the app would.

    The vote is left hidden; :func:`reveal` reveals it."""
    from sales_rca.coding import code_losses, coding_findings
    from sales_rca.crm import load_crm
    from sales_rca.pipeline import findings, xray
    from sales_rca.rootcause import TargetMetric
    from sales_rca.session import Session

    crm = load_crm(DEMO_DATA, history=DEMO_HISTORY)
    x = xray(crm)
    found = {f.key: f for f in [*findings(x), *coding_findings(code_losses(crm))]}
    s = Session.open(session_path, who="facilitator")
    state = s.state()
    problem = (
        state.problems[0].id
        if state.problems
        else s.add_problem(
            found["lost_here:Needs Analysis"].title, finding=found["lost_here:Needs Analysis"]
        )
    )
    w1 = s.add_why(
        problem,
        "The buying group never agrees on its problem during Needs Analysis",
        finding=found["stage_category:Needs Analysis:buyer"],
        status="supported",
    )
    w11 = s.add_why(w1, "Reps work with one contact and never map the rest of the group")
    s.add_note(w11, "Win rate falls as the buying group grows (x-ray: What goes with losing)")
    s.update_why(w11, status="verified")
    w111 = s.add_why(
        w11,
        "Our stage exit criteria are seller activities (demo given), not buyer agreement",
        note="Stage definitions in the CRM admin guide",
        status="supported",
        root_cause=True,
    )
    w12 = s.add_why(w1, "Managers review the forecast, not the deals")
    s.add_note(
        w12, "Teams of formally coaching managers win more often (x-ray: What goes with losing)"
    )
    s.update_why(w12, status="verified", root_cause=True)
    s.add_why(
        problem,
        "Our price is too high",
        finding=found["over_attribution:price"],
        status="rejected",
    )
    c1 = s.add_cause(
        "Stage exit criteria follow how we sell, not how customers buy", "process", why_ids=[w111]
    )
    c2 = s.add_cause("Nobody maps the buying group", "buyer", why_ids=[w11])
    c3 = s.add_cause(
        "Managers inspect the forecast instead of coaching deals", "coaching", why_ids=[w12]
    )
    c4 = s.add_cause("Discovery calls pitch instead of diagnose", "people")
    c5 = s.add_cause("Loss reasons picked from a list nobody trusts", "enablement")
    ballots = [
        {c1: 2, c3: 1},
        {c1: 1, c2: 1, c3: 1},
        {c3: 2, c1: 1},
        {c2: 2, c4: 1},
        {c1: 2, c5: 1},
    ]
    for ballot in ballots:
        voter = s.join(None)
        for cause, dots in ballot.items():
            s.vote(cause, dots, participant=voter)
    s.select_play("buyer_aligned_stages", [c1])
    s.select_play("formal_coaching_cadence", [c3])
    s.add_action(
        "Rewrite stage exit criteria as buyer actions; pilot with one team",
        "Head of Sales Operations",
        due=dt.date.today() + dt.timedelta(days=45),
        cause_id=c1,
        play_id="buyer_aligned_stages",
        target=TargetMetric(
            "conversion",
            float(x.stage_table.set_index("stage").loc["Needs Analysis", "conversion"]),
            0.86,
            "share",
            stage="Needs Analysis",
        ),
    )
    s.add_action(
        "30 minutes of deal coaching per rep per week, separate from the forecast call",
        "Regional sales managers",
        due=dt.date.today() + dt.timedelta(days=30),
        cause_id=c3,
        play_id="formal_coaching_cadence",
        target=TargetMetric.from_finding(found["win_rate:overall"], 0.48),
    )
    s.close()


def offline_context(browser, guard: Guard):
    """A context for opening a summary from ``file://`` with every network request aborted."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})

    def route(r):
        if r.request.url.startswith(("file:", "data:", "blob:", "about:")):
            r.continue_()
        else:
            guard.blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return context


def to_top(page) -> None:
    page.locator(".srca-app h1").first.evaluate("e => e.scrollIntoView({block: 'start'})")


def reveal(session_path: Path) -> None:
    """Press "Reveal results" from outside (as a second facilitator tab would)."""
    from sales_rca.session import Session

    with Session.open(session_path, who="facilitator") as s:
        s.reveal()


def step_page(page, step: str) -> None:
    go_to_step(page, step_label(step))
    page.wait_for_selector(f"h2:has-text('{step_label(step)}')", timeout=60_000)
    to_top(page)
    settle(page)


def main() -> int:
    from playwright.sync_api import sync_playwright

    from sales_rca.ui.steps import STEPS

    if not Path(CHROMIUM).exists():
        print("chromium is not installed (apt-get install -y chromium)", file=sys.stderr)
        return 2
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sales-rca-shots-") as tmp:
        tmp_path = Path(tmp)
        session = tmp_path / "workshop.session"
        participants = True
        server = Server(
            url="",
            join_url=None,
            join_code=None,
            session=session,
            port=free_port(),
            log=tmp_path / "voila.log",
            options={
                "data": DEMO_DATA,
                "history": DEMO_HISTORY,
                "session": session,
                "title": TITLE,
                "participants": participants,
            },
        )
        server.start()
        guard = Guard()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
                )
                context = guarded_context(browser, guard)
                page = open_app(context, server.url)
                settle(page, 3)
                print("Screenshots:")
                save(page, "01-data-check")

                step_page(page, "xray")
                save(page, "02-xray-findings")
                tabs = page.locator(".srca-app .widget-tab, .srca-app .jupyter-widget-tab").last
                tabs.scroll_into_view_if_needed()
                settle(page, 1)
                save(tabs, "02-xray-funnel")
                make_problem(page, contains="Needs Analysis")
                to_top(page)
                settle(page, 1)
                save(page, "02-xray-make-problem")

                seed_workshop(session)
                if participants and server.join_url:
                    phone = context.new_page()
                    phone.set_viewport_size({"width": 390, "height": 844})
                    phone.goto(server.join_url)
                    phone.wait_for_selector("button:has-text('Join')", timeout=90_000)
                    phone.fill("#code", server.join_code)
                    phone.click("button:has-text('Join')")
                    phone.wait_for_selector("#main:not([hidden])", timeout=60_000)
                    settle(phone, 2)
                    save(phone, "05-participant-phone")
                    phone.close()
                reveal(session)
                settle(page, 2)

                for step in ("coding", "whys", "fishbone", "plays"):
                    if step not in STEPS:
                        print(f"  (step {step_label(step)} is not in the app yet: skipped)")
                        continue
                    step_page(page, step)
                    save(page, f"0{step_number(step)}-{step}")
                    if step == "whys":
                        tree = page.locator(".srca-app .js-plotly-plot").first
                        tree.evaluate("e => e.scrollIntoView({block: 'center'})")
                        settle(page, 1)
                        save(page, "04-whys-tree")

                if "fishbone" in STEPS:
                    step_page(page, "fishbone")
                    results = page.locator("[data-testid=vote-results]").first
                    results.scroll_into_view_if_needed()
                    settle(page, 1)
                    save(page, "05-vote-results")
                    room = context.new_page()
                    room.set_viewport_size({"width": 1920, "height": 1080})
                    room.goto(server.url.split("/voila/")[0] + "/room/")
                    room.wait_for_selector("[data-testid=room-figures] .main-svg", timeout=60_000)
                    settle(room, 2)
                    save(room, "05-room-screen")
                    room.close()

                if "summary" in STEPS:
                    step_page(page, "summary")
                    page.click("button:has-text('Write the HTML summary')")
                    written = page.wait_for_selector("[data-testid=summary-path]", timeout=180_000)
                    summary = Path(written.inner_text().strip())
                    written.scroll_into_view_if_needed()
                    settle(page, 1)
                    save(page, "07-summary-written")
                    offline = offline_context(browser, guard)
                    report = offline.new_page()
                    report.goto(summary.as_uri())
                    settle(report, 3)
                    save(report, "08-html-summary")
                    offline.close()

                context.close()
                browser.close()
        finally:
            server.stop()
        if guard.blocked or guard.dialogs:
            print(f"unexpected: blocked {guard.blocked}, dialogs {guard.dialogs}", file=sys.stderr)
            return 1
        if "Traceback" in server.server_log():
            print("note: the server log has a traceback:", file=sys.stderr)
            print(server.server_log()[-3000:], file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
