"""The presentation layer: every HTML fragment comes from an autoescaping template, so text from a
CRM or typed in the room is shown as text wherever it lands, and a missing value has one mark."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from types import SimpleNamespace

import jinja2
import pandas as pd
import pytest

from sales_rca import render, resources
from sales_rca.batch.index import index_html
from sales_rca.batch.run import ClientResult
from sales_rca.crm import ImportReport
from sales_rca.findings import Finding
from sales_rca.report import Summary, hypotheses, plays_section, workshop
from sales_rca.rootcause import Indicator, Play, TargetMetric, Workshop
from sales_rca.rootcause.plays import Source

#: A script, an event handler and a quote that would close an attribute, in one text.
PAYLOAD = "<script>alert(1)</script>\"><img src=x onerror=alert(1)>'"
SHOWN = "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;&#39;"
TEMPLATES = resources.template_dir() / "html"


class Tags(HTMLParser):
    """The elements and attributes a browser would build from an HTML text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_inert(html: str) -> None:
    """No element or attribute came out of the payload: it is all text."""
    assert PAYLOAD not in html and "<script" not in html and "<img" not in html
    for tag, attrs in Tags(html).tags:
        assert tag not in ("script", "img"), tag
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)


def hostile(text: str) -> str:
    return f"{text} {PAYLOAD}"


def hostile_state():
    """A session where every text the team types, and every category label, carries the payload."""
    cats = [
        {"id": "buyer", "label": hostile("Buyer"), "description": "d", "within_control": False},
        {"id": "price", "label": hostile("Price"), "description": "d", "within_control": True},
    ]
    w = Workshop(hostile("Q3"), categories=cats, dots_per_person=3)
    finding = Finding(hostile("key"), hostile("439 deals lost"), "lost_here", 439.0, "deals")
    p = w.add_problem(text=hostile("Deals die"), finding=finding)
    a = w.add_why(parent_id=p, text=hostile("Reps pitch"), note=hostile("calls"))
    w.add_why(parent_id=a, text=hostile("No framework"), root_cause=True)
    b = w.add_why(parent_id=p, text=hostile("Single-threaded"))
    w.link_whys(why_ids=[a, b], relation="and")
    c1 = w.add_cause(text=hostile("No consensus"), category="buyer", why_ids=[a])
    c2 = w.add_cause(text=hostile("ROI"), category="price")
    w.select_play(play_id="buying_group_consensus", cause_ids=[c1])
    target = TargetMetric(hostile("conversion"), 0.5, 0.6, "share", stage=hostile("Demo"))
    w.add_action(
        title=hostile("Consensus check"), owner=hostile("Dana"), cause_id=c1, target=target
    )
    w.add_action(title=hostile("Coach"), owner=hostile("Sam"), due="2027-03-31")
    for _ in range(2):
        u = w.join(name=hostile("Ann"))
        w.vote(participant=u, cause_id=c1, dots=2)
        w.vote(participant=u, cause_id=c2, dots=1)
    before = w.snapshot()
    w.reveal()
    return before, w.snapshot()


def hostile_play() -> Play:
    return Play(
        id="buying_group_consensus",
        title=hostile("Consensus"),
        summary=hostile("Map the group"),
        categories=("buyer",),
        codes=(),
        days_30=(hostile("map"),),
        days_60=(hostile("kit"),),
        days_90=(hostile("compare"),),
        # The indicator's metric and the effort are validated choices (never typed text).
        indicator=Indicator("conversion", "stage", "up", at=hostile("discovery")),
        effort="medium",
        time_to_impact_days=90,
        evidence=(Source(hostile("claim"), hostile("Gartner"), 2019),),
    )


def hostile_report() -> ImportReport:
    return ImportReport(
        source=hostile("salesforce"),
        path=hostile("export.csv"),
        rows_in=3,
        rows_accepted=2,
        rows_quarantined=1,
        quarantine_reasons={hostile("duplicate id"): 1},
        mapping={hostile("account"): hostile("Account Name")},
        warnings=[hostile("dates are ambiguous")],
        notes=[hostile("no amounts")],
        history={"events": 12},
        delimiter=hostile(";"),
    )


@pytest.fixture
def invoked(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The names of the template macros rendered during a test (called directly or nested)."""
    names: set[str] = set()
    original = jinja2.runtime.Macro._invoke

    def spy(self, arguments, autoescape):  # type: ignore[no-untyped-def]
        names.add(self.name)
        return original(self, arguments, autoescape)

    monkeypatch.setattr(jinja2.runtime.Macro, "_invoke", spy)
    return names


def fragments() -> dict[str, str]:
    """Every fragment the app, the summary and the index show, each fed the payload."""
    before, after = hostile_state()
    play = hostile_play()
    tree = after.tree(after.problems[0].id)
    result = after.results()
    action = after.actions[0]
    override = SimpleNamespace(by=hostile("facilitator"))
    x = SimpleNamespace(won=2, lost=3, open=1, win_rate=0.4, win_rate_ci=(0.2, 0.6))
    frame = pd.DataFrame({hostile("col_a"): [hostile("cell"), None], "n": [1.0, math.nan]})
    ok = ClientResult(hostile("Acme"), "acme", "ok", outputs={"summary": "acme/summary.html"})
    ok.results = {
        "period": hostile("FY"),
        "win_rate": 0.4,
        "deals": {"won": 2, "lost": 3, "open": 1},
        "stages": [{"stage": hostile("Demo"), "conversion": 0.5, "lost_here": 3}],
        "top_categories": [{"label": hostile("Buyer"), "weight": 0.5}],
    }
    failed = ClientResult(
        hostile("Broken"),
        "broken",
        "failed",
        error=hostile("no file"),
        outputs={"notebook": "b.ipynb"},
    )
    finding = Finding("lost_here:Demo", hostile("Deals lost"), "lost_here", 3.0, "deals")
    progress = {action.id: (0.5, 0.55)}
    return {
        "why tree": render.why_tree(tree),
        "decisions before the reveal": render.decisions(before, [play]),
        "decisions": render.decisions(after, [play], currency=hostile("USD")),
        "ranking": render.ranking(after, result),
        "actions with progress": render.actions(after, progress=progress),
        "play card": render.play_card(play, hostile("For our causes"), chosen=True),
        "data check": render.data_check(hostile_report(), file=hostile("export.csv")),
        "table": render.table([hostile("h")], [[hostile("v")]], caption=hostile("c")),
        "frame table": render.frame_table(frame, formats={"n": str}, max_rows=1),
        "kpis": render.kpis([render.Tile(hostile("l"), hostile("v"), hostile("n"), "good")]),
        "note": render.note(hostile("note")),
        "heading": render.heading(hostile("h"), 3, sub=hostile("sub")),
        "notice": render.notice(hostile("saved"), "error"),
        "bullets": render.bullets([hostile("a")]),
        "bar": render.bar(0.3, hostile("30%")),
        "link": render.link(hostile("href"), hostile("text")),
        "section": render.section(hostile("title"), hostile("part")).html,
        "style": render.style(),
        "summary workshop": workshop(after, currency=hostile("USD"), playbook=[play]).html,
        "plays section": plays_section([], hostile("the causes")).html,
        "hypotheses": hypotheses([finding], currency=hostile("USD")).html,
        "executive summary": Summary.from_session(after, client=hostile("Acme")).html(),
        "index": index_html([ok, failed]),
        "anonymised index": index_html([ok, failed], anonymise=True),
        "app: paragraph": render.fragment("app.paragraph", hostile("p")),
        "app: muted": render.fragment("app.muted", hostile("m"), "basis"),
        "app: big line": render.fragment("app.big_line", hostile("Round 1"), "votes"),
        "app: timer": render.fragment("app.timer", hostile("-01:00"), True),
        "app: participants": render.fragment(
            "app.participants", hostile("http://x"), hostile("AB12"), 2, 1
        ),
        "app: x-ray headline": render.fragment("app.xray_headline", x, [hostile("note")]),
        "app: lead mark": render.fragment("app.lead_mark", hostile("lead"), hostile("tip")),
        "app: second coder": render.fragment("app.second_coder"),
        "app: over-attribution": render.fragment(
            "app.over_attribution", hostile("price"), "3", "1", "33%"
        ),
        "app: deal": render.fragment(
            "app.deal",
            hostile("X-1"),
            stage=hostile("Demo"),
            amount=hostile("USD 1k"),
            picklist=hostile("Price"),
            override=override,
            text=hostile("lost on price"),
            codes=hostile("Price too high"),
        ),
        "app: baseline": render.fragment("app.baseline", hostile("81%")),
        "app: action": render.fragment(
            "app.action", action, target=hostile("t"), play=hostile("p"), cause=hostile("c")
        ),
        "app: summary written": render.fragment("app.summary_written", 1.5, hostile("/tmp/s.html")),
        "app: join": render.fragment("app.join"),
        "app: participant header": render.fragment(
            "app.participant_header", hostile("Q3"), hostile("Ann"), hostile("code=1&me=2")
        ),
        "app: cause text": render.fragment("app.cause_text", hostile("cause")),
        "app: dots": render.fragment("app.dots", 2),
        "app: ballot status": render.fragment("app.ballot_status", 1, False, 2, 3),
        "app: ballot status revealed": render.fragment("app.ballot_status", 1, True, 0, 3),
        "app: findings list": render.fragment(
            "app.findings_list",
            [(1, hostile("finding"), hostile("lead"), True, hostile("p = 0.01"))],
            [(2, hostile("background"), "", False, "")],
            hostile("tip"),
        ),
        "app: room link": render.fragment("app.room_link"),
        "app: file written": render.fragment("app.file_written", hostile("3 actions"), "/tmp/a"),
        "app: review": render.fragment(
            "app.review", hostile("new.csv"), [(hostile("a"), "done", hostile("t"), "moved")]
        ),
        "room: alignment": render.fragment("room.alignment", hostile("agree")),
        "room: finding": render.fragment("room.finding", hostile("t"), [hostile("line")]),
        "room: ranked": render.fragment("room.ranked", [hostile("first")]),
        "process: overview": render.fragment(
            "process.overview",
            [render.Tile(hostile("followed the order"), "60%")],
            [(hostile("skipped Demo"), 10, "30%", hostile("reached Demo"), 40, "50%", "clear")],
            [(hostile("back to Discovery"), 5, "20%")],
            [(hostile("Discovery → Demo"), 12, "40%", "yes")],
            [(hostile("problem identification"), hostile("Discovery"), 3, "10%", "5%", "7")],
            [hostile("No buyer job: Demo.")],
            [hostile("note")],
        ),
    }


#: Fragments that show no text of anyone's: fixed wording, numbers or the stylesheet.
NO_TEXT = {"style", "app: second coder", "app: join", "app: dots", "app: ballot status"}
NO_TEXT |= {"app: ballot status revealed", "app: room link"}


def test_every_fragment_shows_hostile_text_as_text_and_every_macro_is_covered(invoked) -> None:
    shown = fragments()
    for name, html in shown.items():
        assert_inert(html)
        if name not in NO_TEXT:
            assert SHOWN in html, name  # the payload is there, as text
    defined = {
        m
        for path in TEMPLATES.glob("*.html.j2")
        for m in re.findall(r"macro (\w+)", path.read_text())
    }
    assert defined - invoked == set(), "add the new fragments to this test"


def test_a_quote_cannot_leave_an_attribute() -> None:
    html = render.fragment("app.lead_mark", "lead", PAYLOAD)
    ((tag, attrs),) = Tags(html).tags
    assert tag == "span" and attrs["title"] == PAYLOAD  # the whole payload stays the title


def test_a_missing_value_shows_one_mark_everywhere() -> None:
    cells = [None, math.nan, pd.NA, pd.NaT]
    html = render.table(["a"] * 4, [cells]) + render.kpis([("x", None)])
    html += render.frame_table(pd.DataFrame({"a": [None], "b": [math.nan]}))
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "None" not in text and "nan" not in text and "NaT" not in text and "<NA>" not in text
    assert text.count("–") == 7
    for value in (render.share(None), render.money(math.nan), render.number(pd.NA)):
        assert value == render.MISSING == "–"
    assert render.metric_value(None, "days") == render.date(None) == "–"


def test_the_summary_the_index_and_the_app_use_the_one_stylesheet() -> None:
    css = render.stylesheet()
    assert css.startswith("/* sales-rca's one stylesheet")
    summary_template = (resources.template_dir() / "summary" / "index.html.j2").read_text()
    assert "resources.stylesheet" in summary_template and "summary.css" not in summary_template
    assert css in index_html([])
    assert render.style() == f"<style>{css}</style>"
    voila = resources.jupyter_dir() / "voila" / "templates" / "sales_rca" / "index.html.j2"
    assert "<style" not in voila.read_text()
    css_files = [p for p in resources.packaged("resources").rglob("*.css")]
    assert css_files == [resources.template_dir() / render.STYLESHEET]
