"""The CEO brief: one page, plain words, every typed text escaped; `sales-rca export --brief`."""

from __future__ import annotations

import re

import pytest
from batch_fixtures import make_session
from impact_fixtures import demo_xray
from suite_paths import DEMO_DIR

from sales_rca.report.brief import ceo_brief
from sales_rca.rootcause import load_playbook
from sales_rca.session import Session

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def session(tmp_path):
    path = make_session(tmp_path / "acme.session", text=HOSTILE)
    with Session.open(path) as s:
        s.select_play("buying_group_consensus", cause_ids=[s.state().causes[0].id])
    return path


@pytest.fixture(scope="module")
def demo():
    return demo_xray()


def test_the_brief_tells_problem_cause_fix_value_indicator_and_stop(session, demo):
    with Session.open(session) as s:
        state = s.state()
    b = ceo_brief(state, xray=demo, playbook=load_playbook(), currency="USD")
    assert any("Needs Analysis" in line for line in b.problem)
    assert b.root_cause.startswith("No consensus in the buying group")
    assert "silent vote of 2 people" in b.alignment
    title, sources = b.plays[0]
    assert "consensus" in title.lower() and sources
    assert b.value.startswith("All targets met: about USD ")
    assert b.action_values and b.action_values[0][1].startswith("worth about USD ")
    (indicator,) = b.indicators
    assert indicator[3] == "2026-12-31" and "→" in indicator[2]
    assert any("late-stage" in line for line in b.stop)


def test_the_page_escapes_typed_text_and_uses_no_statistics_jargon(session, demo):
    with Session.open(session) as s:
        state = s.state()
    page = ceo_brief(state, xray=demo, playbook=load_playbook()).page()
    assert HOSTILE not in page and "&lt;script&gt;" in page
    text = re.sub(r"<[^>]+>", " ", page.split("</style>")[1])
    for jargon in ("p-value", "Kendall", "confidence interval", "bootstrap", "Wilson", " W "):
        assert jargon not in text
    brief_rules = re.findall(r"\.ceo-brief \{[^}]*\}", page)
    assert "@page" in page and brief_rules  # the brief has its print rules...
    assert not any("overflow" in r or "max-height" in r for r in brief_rules)  # ...none clips


@pytest.mark.browser
@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_the_brief_prints_on_one_page_with_nothing_cut(session, demo, tmp_path, paper):
    import shutil

    playwright = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with Session.open(session) as s:
        state = s.state()
    html = tmp_path / "brief.html"
    html.write_text(ceo_brief(state, xray=demo, playbook=load_playbook()).page(), "utf-8")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(html.as_uri())
        page.emulate_media(media="print")
        pdf = page.pdf(format=paper, print_background=True)
        browser.close()
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert pages == 1, f"the brief takes {pages} {paper} pages"


def test_export_writes_the_brief_from_the_session_and_the_data(session, tmp_path, cli):
    out = tmp_path / "brief.html"
    r = cli(
        "export", session, "--brief", out,
        "--data", DEMO_DIR / "salesforce_opportunities.csv",
        "--history", DEMO_DIR / "salesforce_opportunity_history.csv",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    page = out.read_text("utf-8")
    assert "The problem in numbers" in page and "worth about" in page


def test_export_without_a_target_file_says_what_it_expected(session, cli):
    r = cli("export", session)
    assert r.returncode == 2 and "expected --html OUT.html or --brief OUT.html" in r.stderr
