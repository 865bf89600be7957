"""The room screen (sales_rca.ui.screen) and the exercise timer kept in the session."""

from __future__ import annotations

import json

import pytest

from sales_rca.session import open_or_create
from sales_rca.ui.context import Settings
from sales_rca.ui.screen import MIN_FONT_PX, RoomScreen, screen_view
from sales_rca.ui.timer import TimerState, clock, timer_from

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def session(tmp_path):
    s = open_or_create(tmp_path / "s.session", "Acme workshop")
    yield s
    s.close()


def fonts(figure: dict) -> list[float]:
    """Every font size a plotly figure's JSON sets."""
    found: list[float] = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "size" and isinstance(value, int | float):
                    found.append(value)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for key in ("layout",):
        walk({k: v for k, v in figure[key].items() if k != "template"})
    return found


def test_the_timer_runs_pauses_and_resets_from_its_saved_state():
    t = TimerState(step="xray", total=600, left=600)
    running = t.start(now=1000.0)
    assert running.running and running.remaining(now=1030.0) == 570
    paused = running.pause(now=1100.0)
    assert not paused.running and paused.remaining(now=5000.0) == 500
    assert paused.reset().remaining() == 600
    assert clock(-61) == "-01:01" and clock(600) == "10:00"


def test_the_timer_survives_a_refresh_and_belongs_to_its_step(session):
    t = timer_from(session.state().settings, "xray", 1800).start(now=1000.0)
    session.set_setting("timer", t.to_json())
    # A refresh (or another tab) reads the same running timer back...
    again = timer_from(session.state().settings, "xray", 1800)
    assert again == t and again.remaining(now=1060.0) == 1740
    # ...another step starts from its own full time; a damaged record is not an error.
    assert timer_from(session.state().settings, "whys", 2400).remaining() == 2400
    assert timer_from({"timer": "{not json"}, "xray", 60).remaining() == 60


def test_the_room_follows_the_open_step_and_shows_what_the_app_pushed_for_it(session):
    settings = Settings(join_url="http://10.0.0.5:8866/join/?code=K7QX3M", join_code="K7QX3M")
    session.set_setting("step", "xray")
    view = screen_view(session.state(), None, settings)
    assert view["step_label"] == "2. Pipeline x-ray" and view["join"]["code"] == "K7QX3M"
    assert view["timer"] == {"step": "xray", "total": 1800.0, "remaining": 1800.0, "running": False}
    pushed = {"step": "xray", "heading": "What the data says", "html": "<ol></ol>", "figures": []}
    assert screen_view(session.state(), pushed, settings)["picture"]["heading"] == pushed["heading"]
    # A picture pushed for another step is not shown once the team moved on.
    session.set_setting("step", "coding")
    assert screen_view(session.state(), pushed, settings)["picture"]["heading"] == "Loss coding"


def test_the_room_shows_the_tree_and_the_fishbone_in_projector_type_and_escapes_text(session):
    pid = session.add_problem(f"Deals die at discovery {XSS}")
    session.add_why(pid, f"Nobody agrees the problem {XSS}")
    session.set_setting("step", "whys")
    tree = screen_view(session.state(), None, Settings())["picture"]
    assert tree["heading"].startswith("Deals die at discovery")  # text: the page sets textContent
    assert XSS not in tree["html"] and "&lt;img" in tree["html"]
    cats = session.state().categories
    for bone in cats:
        for i in range(8):
            session.add_cause(f"{bone.label} cause {i} {XSS}", bone.id)
    session.set_setting("step", "fishbone")
    fish = screen_view(session.state(), None, Settings())["picture"]
    (figure,) = fish["figures"]
    assert min(fonts(figure)) >= MIN_FONT_PX
    text = json.dumps(figure)
    assert "<img" not in text and "&lt;img" in text


def test_the_room_says_how_many_voted_never_how_until_the_reveal(session):
    session.add_problem("Deals die at discovery")
    cats = session.state().categories
    a = session.add_cause("Managers do not coach discovery", cats[0].id)
    b = session.add_cause("ROI never quantified", cats[1].id)
    session.set_setting("step", "fishbone")
    session.open_voting()
    for name, cause in (("Ann", a), ("Bo", a), ("Cy", b)):
        session.vote(cause, 2, participant=session.join(name))
    before = screen_view(session.state(), None, Settings())
    assert before["picture"]["lead"].startswith("3 of 3 have voted")
    assert len(before["picture"]["figures"]) == 1  # the fishbone only
    labels = json.dumps(before["picture"]["figures"][0]["layout"]["annotations"])
    assert "discovery (4)" not in labels and "discovery (" not in labels  # no dots before
    session.reveal()
    labels = json.dumps(before["picture"]["figures"][0]["layout"]["annotations"])
    assert "within the sales team" not in labels  # the colour key stays off the room screen
    after = screen_view(session.state(), None, Settings())["picture"]
    (bars,) = after["figures"]  # revealed: the bars have the screen to themselves
    assert bars["layout"]["title"]["text"].startswith("Ranked by dots")  # no empty "title: "
    texts = bars["data"][0]["text"]
    assert texts == ["2 dots · 1 voter", "4 dots · 2 voters"]
    assert bars["data"][0]["x"] == [2, 4]  # dots, best last (plotly draws bottom-up)
    assert bars["data"][0]["y"][-1].startswith("1. Managers do not coach")
    assert "agree" in after["html"].lower() or "split" in after["html"].lower()


def test_the_room_screen_recomputes_only_when_the_session_or_the_push_changed(session, tmp_path):
    screen = RoomScreen(session.path, Settings())
    first = screen.view()
    assert screen.view()["version"] == first["version"]
    session.push_screen({"step": "data", "heading": "Is this our pipeline?", "figures": []})
    pushed = screen.view()
    assert pushed["version"] != first["version"]
    assert pushed["picture"]["heading"] == "Is this our pipeline?"
    session.add_problem("Deals die at discovery")
    assert screen.view()["version"] != pushed["version"]


def test_the_data_step_puts_the_pipeline_in_a_few_numbers_on_the_room_screen(tmp_path):
    from sales_rca.ui.serve import DEMO_DATA, DEMO_HISTORY
    from sales_rca.ui.steps.data import DataView
    from sales_rca.ui.workbench import Workbench

    settings = Settings(data=DEMO_DATA, history=DEMO_HISTORY, session=tmp_path / "s.session")
    bench = Workbench(settings)
    view = DataView(bench, lambda text, kind="ok": None)
    view.on_show()
    view_ = screen_view(bench.session.state(), json.loads(bench.session.screen_raw()), settings)
    picture = view_["picture"]
    assert picture["heading"] == "Is this our pipeline?"
    assert "deals in the analysis" in picture["html"] and "still open" in picture["html"]
    assert "rows set aside" in picture["html"]  # the demo has two rows set aside, with reasons


def test_names_stay_off_until_the_facilitator_switches_them_on_for_the_session(tmp_path):
    from sales_rca.people import SHOW_NAMES
    from sales_rca.ui.serve import DEMO_DATA, DEMO_HISTORY
    from sales_rca.ui.steps.data import DataView
    from sales_rca.ui.workbench import Workbench

    settings = Settings(data=DEMO_DATA, history=DEMO_HISTORY, session=tmp_path / "s.session")
    bench = Workbench(settings)
    view = DataView(bench, lambda text, kind="ok": None)
    titles = " ".join(f.title for f in bench.findings())
    assert not view.names.value and "Chris Doyle" not in titles
    view.names.value = True  # the facilitator ticks the box
    assert bench.session.state().settings[SHOW_NAMES] == "true"
    assert "Chris Doyle" in " ".join(f.title for f in bench.findings())
    view.names.value = False
    assert SHOW_NAMES not in bench.session.state().settings
    assert "Chris Doyle" not in " ".join(f.title for f in bench.findings())


def test_the_xray_puts_the_open_tabs_chart_on_the_room_screen(tmp_path):
    from sales_rca.ui.serve import DEMO_DATA, DEMO_HISTORY
    from sales_rca.ui.steps.xray import XRayView
    from sales_rca.ui.workbench import Workbench

    settings = Settings(data=DEMO_DATA, history=DEMO_HISTORY, session=tmp_path / "s.session")
    bench = Workbench(settings)
    said: list[tuple[str, str]] = []
    view = XRayView(bench, lambda text, kind="ok": said.append((text, kind)))
    view.tabs.selected_index = 0  # the funnel
    view._show_chart()
    pushed = json.loads(bench.session.screen_raw())
    assert pushed["step"] == "xray" and pushed["heading"] == "Funnel"
    (figure,) = pushed["figures"]
    assert figure["data"] and min(fonts(figure)) >= MIN_FONT_PX
    titles = [view.tabs.get_title(i) for i in range(len(view.tabs.children))]
    view.tabs.selected_index = titles.index("Stage table")  # a table, no chart
    view._show_chart()
    assert said[-1] == ("This tab has no chart: open a tab with one.", "error")


def test_the_xray_sends_a_tabs_page_only_when_the_tab_is_opened(tmp_path):
    """A browser builds every page it is sent, hidden tabs and their figures included."""
    from sales_rca.ui import components as c
    from sales_rca.ui.serve import DEMO_DATA, DEMO_HISTORY
    from sales_rca.ui.steps.xray import XRayView
    from sales_rca.ui.workbench import Workbench

    settings = Settings(data=DEMO_DATA, history=DEMO_HISTORY, session=tmp_path / "s.session")
    view = XRayView(Workbench(settings), lambda text, kind="ok": None)
    view.refresh()
    holders = list(view.tabs.children)
    titles = list(view.tabs.titles)
    assert len(holders) >= 8 and titles[0] == "Funnel" and view.tabs.selected_index == 0
    assert c.figure_in(holders[0]) is not None  # the open tab is sent with its figure
    assert not any(h.children for h in holders[1:])  # the others wait
    for i, title in enumerate(titles):
        view.tabs.selected_index = i  # the facilitator opens each tab: its page arrives
        assert holders[i].children == (view.pages.page(i),), title
    assert c.figure_in(holders[titles.index("Survival")]) is not None
    view.tabs.selected_index = 3
    view.refresh()  # a redraw with the same analysis keeps the open tab
    assert view.tabs.selected_index == 3
