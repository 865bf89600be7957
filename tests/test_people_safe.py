"""What the room reads is people-safe and plain by default: no rep or manager named, no column
name, no raw statistic, no CRM id, on realistic and hostile exports; names appear only when the
session (or the summary) is told to show them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from suite_paths import CRM_CORPUS, DEMO_DIR, REAL_DATA

from sales_rca import display, people
from sales_rca.charts import win_rate_figure
from sales_rca.crm import load_crm
from sales_rca.findings import Finding
from sales_rca.pipeline import findings, xray
from sales_rca.pipeline.evidence import without_names
from sales_rca.report import Summary, top_findings, xray_figures, xray_overview
from sales_rca.report.sections import hypotheses, question
from sales_rca.rootcause.actions import baseline_metrics, metric_label

#: Exports with people in them: the demo, vendors' shapes from the corpus, public datasets.
EXPORTS: dict[str, tuple[Path, Path | None]] = {
    "demo": (
        DEMO_DIR / "salesforce_opportunities.csv",
        DEMO_DIR / "salesforce_opportunity_history.csv",
    ),
    "salesforce report": (CRM_CORPUS / "salesforce_report.csv", None),
    "salesforce api": (CRM_CORPUS / "salesforce_api_export.csv", None),
    "hubspot": (CRM_CORPUS / "hubspot_deals.xlsx", None),
    "pipedrive": (CRM_CORPUS / "pipedrive_deals.csv", None),
    "dynamics": (CRM_CORPUS / "dynamics_opportunities.csv", None),
    "freshsales": (CRM_CORPUS / "freshsales_deals.csv", None),
    "copper": (CRM_CORPUS / "copper_opportunities.csv", None),
    "custom columns": (CRM_CORPUS / "custom_columns.csv", None),
    "maven": (REAL_DATA / "maven_crm_sales_opportunities" / "sales_pipeline.csv", None),
    "win prediction": (REAL_DATA / "Win_Prediction_Data.csv", None),
}
#: A column's name as code writes it (``deal_type``, ``extra_buying_group_size``).
COLUMN_NAME = re.compile(r"\b[A-Za-z_]+_[a-z_]+\b")
RAW_STATISTIC = re.compile(r"\bp\s*=|p adjusted|\de-\d|Kendall|odds ratio|Cramér", re.I)
SALESFORCE_ID = re.compile(r"\b006[A-Za-z0-9]{12,15}\b")


#: Reps of the hostile export: markup, accents, apostrophes; one of them wins far less often.
HOSTILE_REPS = ("<b>Zed</b> Okoro", "Renée Müller", "Liam O'Brien", "Ana-Sofía Ruiz", "Tom Bauer")
HOSTILE_CREATORS = ("Quentin Marsh", "Yolanda Pike")


def write_hostile_export(folder: Path) -> Path:
    """A Salesforce-shaped export whose people drive the outcome: one rep and one creator lose
    most deals, a boolean partner flag, "None" competitors, pick-list API values, real-looking
    Salesforce ids."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    n = 900
    rep = rng.integers(0, len(HOSTILE_REPS), n)
    creator = rng.integers(0, len(HOSTILE_CREATORS), n)
    p_win = np.where(rep == 0, 0.12, 0.55) - np.where(creator == 1, 0.1, 0.0)
    won = rng.random(n) < p_win
    closed = rng.random(n) < 0.85
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    stage = np.where(~closed, "Proposal", np.where(won, "Closed Won", "Closed Lost"))
    frame = pd.DataFrame(
        {
            "Opportunity ID": [f"0065g00000{i:08d}" for i in range(n)],
            "Opportunity Name": [f"Deal {i} – Acme & Co" for i in range(n)],
            "Account Name": [f"Account {i % 150}" for i in range(n)],
            "Opportunity Owner": np.array(HOSTILE_REPS, dtype=object)[rep],
            "Owner Manager": np.where(rep < 3, "Grace Hopper-Lane", "Marcus Ohlsson"),
            "Created By": np.array(HOSTILE_CREATORS, dtype=object)[creator],
            "Stage": stage,
            "Amount": rng.integers(5, 200, n) * 1000,
            "Created Date": created.strftime("%Y-%m-%d"),
            "Close Date": (created + pd.to_timedelta(60, unit="D")).strftime("%Y-%m-%d"),
            "Competitor": np.where(rng.random(n) < 0.5, "None", "Corvex"),
            "Is Partner": np.where(rng.random(n) < 0.5, "True", "False"),
            "Deal Source": np.where(rng.random(n) < 0.5, "Inbound_web", "Outbound_call"),
        }
    )
    path = folder / "hostile_salesforce.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module", params=[*sorted(EXPORTS), "hostile"])
def export(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    if request.param == "hostile":
        path, history = write_hostile_export(tmp_path_factory.mktemp("hostile")), None
    else:
        path, history = EXPORTS[request.param]
    if not path.exists():
        pytest.skip(f"{path.name} not present")
    crm = load_crm(path, history=history)
    return request.param, crm, xray(crm)


def person_names(crm: Any) -> set[str]:
    """Every name in a people column of the export (long enough to be told from a word)."""
    opps = crm.opportunities
    names: set[str] = set()
    for column in opps.columns:
        if people.is_people(column):
            names |= {str(v).strip() for v in opps[column].dropna() if display.recorded(v)}
    others = {
        str(v).strip()
        for c in opps.columns
        if not people.is_people(c) and opps[c].dtype == object
        for v in opps[c].dropna().unique()
    }
    return {n for n in names - others if len(n) >= 4}


def figure_texts(fig: Any) -> Iterator[str]:
    """Every label a figure draws: title, axis titles, category ticks, bar and point texts,
    annotations and trace names."""
    layout = fig.layout
    if layout.title and layout.title.text:
        yield layout.title.text
    for axis in (layout.xaxis, layout.yaxis):
        if axis and axis.title and axis.title.text:
            yield axis.title.text
    for a in layout.annotations or ():
        yield str(a.text)
    for trace in fig.data:
        if getattr(trace, "name", None):
            yield str(trace.name)
        for attr in ("x", "y", "text"):
            values = getattr(trace, attr, None)
            if values is not None and not isinstance(values, str):
                yield from (str(v) for v in values if isinstance(v, str))
            elif isinstance(values, str):
                yield values


def visible(html: str) -> str:
    """The text of an HTML fragment, tags and the facilitator's folded details left out."""
    html = re.sub(r"(?s)<details class=\"columns\">.*?</details>", " ", str(html))
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def room_texts(crm: Any, x: Any, *, names: bool) -> dict[str, list[str]]:
    """What a person reads of the x-ray: findings and their questions, the target-metric menu,
    the x-ray's charts, the stalled-deals table, and the summary's sections."""
    from sales_rca.ui.steps.xray import stalled_deals_frame

    found = findings(x, names=names)
    top = top_findings(found, n=5)
    summary = Summary.build(client="Client", xray=x, findings=found, top_findings=top, names=names)
    stalled = stalled_deals_frame(x, names=names)
    return {
        "finding": [f.title for f in found] + [question(f) for f in found],
        "menu": [metric_label(f) for f in baseline_metrics(x, names=names)],
        "chart": [t for fig in xray_figures(x, names=names) for t in figure_texts(fig)],
        "table": [*map(str, stalled.columns), *(str(v) for v in stalled.to_numpy().ravel())],
        "summary": [
            visible(xray_overview(x, names=names).html),
            visible(hypotheses(top).html),
            visible(summary.html()),
        ],
    }


def test_no_rep_or_manager_is_named_by_default(export):
    _, crm, x = export
    names = person_names(crm)
    for where, texts in room_texts(crm, x, names=False).items():
        for text in texts:
            named = [n for n in names if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", text)]
            assert not named, f"{where} names {named}: {text[:200]}"


def test_the_room_reads_no_column_name_raw_statistic_or_crm_id(export):
    _, crm, x = export
    for where, texts in room_texts(crm, x, names=False).items():
        for text in texts:
            assert not COLUMN_NAME.search(text), f"{where}: {COLUMN_NAME.search(text)} in {text}"
            assert not RAW_STATISTIC.search(text), f"{where}: {text[:200]}"
            if where in ("chart", "table"):
                assert not SALESFORCE_ID.search(text), f"{where}: {text}"
            assert not re.search(r"\b(None|True|False|nan)\b", text), f"{where}: {text[:200]}"


def test_names_appear_only_with_show_names_on():
    crm = load_crm(*EXPORTS["demo"])
    x = xray(crm)
    reps = {str(v) for v in crm.opportunities["owner"].dropna()}
    shown = room_texts(crm, x, names=True)
    for where in ("finding", "menu", "summary"):
        assert any(r in t for t in shown[where] for r in reps), where
    by_rep = {
        n: list(figure_texts(win_rate_figure(x.drivers.groups, "owner", names=n)))
        for n in (True, False)
    }
    assert any(r in t for t in by_rep[True] for r in reps)
    assert not any(r in t for t in by_rep[False] for r in reps)
    assert "Rep A (" in " ".join(by_rep[False]) and "Win rate by rep" in by_rep[False]
    assert "owner" in shown["table"]
    hidden = room_texts(crm, x, names=False)
    assert "owner" not in hidden["table"] and "deal" in hidden["table"]
    # the same fact keeps its key whether names are shown or not
    assert {f.key for f in findings(x)} == {f.key for f in findings(x, names=True)}


def test_the_hostile_export_has_people_findings_that_name_nobody_by_default(tmp_path):
    crm = load_crm(write_hostile_export(tmp_path))
    x = xray(crm)
    about_people = [f for f in findings(x) if f.details.get("people")]
    assert about_people, "the losing rep and creator should give a finding"
    for f in about_people:
        assert not any(n in f.title for n in (*HOSTILE_REPS, *HOSTILE_CREATORS)), f.title
    named = " ".join(f.title for f in findings(x, names=True))
    assert "<b>Zed</b> Okoro" in named  # the text as it is; escaping is the renderer's job
    html = xray_overview(x, names=True).html
    assert "&lt;b&gt;Zed&lt;/b&gt; Okoro" in html and "<b>Zed</b>" not in html


def test_a_finding_stored_while_names_were_on_reads_without_them_in_the_summary():
    crm = load_crm(*EXPORTS["demo"])
    named = next(f for f in findings(xray(crm), names=True) if f.details.get("people"))
    assert "Chris Doyle" in named.title
    safe = without_names(Finding.from_dict(named.to_dict()))
    assert "Chris Doyle" not in safe.title and "Priya Raman" not in safe.title
    assert safe.title.startswith("Win rates differ between reps") and safe.key == named.key


def test_the_show_names_setting_is_off_unless_switched_on():
    assert people.show_names({}) is False
    assert people.show_names({people.SHOW_NAMES: None}) is False
    assert people.show_names({people.SHOW_NAMES: people.ON}) is True


def test_the_setting_lives_in_the_session(tmp_path):
    from sales_rca.session import Session

    with Session.create(tmp_path / "w.session", "Q3") as s:
        assert people.show_names(s.state().settings) is False
        s.set_setting(people.SHOW_NAMES, people.ON)
        assert people.show_names(s.state().settings) is True
        s.set_setting(people.SHOW_NAMES, None)
        assert people.show_names(s.state().settings) is False


@pytest.mark.parametrize(
    ("column", "person"),
    [
        ("owner", True),
        ("manager", True),
        ("extra_opportunity_owner", True),
        ("extra_sales_rep", True),
        ("extra_created_by", True),
        ("extra_account_executive_email", True),
        ("extra_sales_agent", True),
        ("extra_vp_name", True),
        ("extra_manager_coaching", False),  # a practice of managers, not a person
        ("extra_owner_region", False),
        ("extra_team", False),  # a team is an aggregate
        ("extra_buying_group_size", False),
        ("segment", False),
    ],
)
def test_people_columns_are_recognised_across_vendors_names(column, person):
    assert people.is_people(column) is person


@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("deal_type", "Deal type"),
        ("extra_buying_group_size", "Buying group size"),
        ("created_date", "Date created"),
        ("extra_NPS_score", "NPS score"),
        ("source", "Lead source"),
    ],
)
def test_every_column_has_one_plain_label(field, label):
    assert display.label(field) == label


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "not recorded"),
        ("", "not recorded"),
        ("None", "not recorded"),
        (float("nan"), "not recorded"),
        (True, "yes"),
        (False, "no"),
        ("True", "yes"),
        ("false", "no"),
        ("Retail_market", "Retail market"),
        ("Renewal", "Renewal"),
    ],
)
def test_values_read_as_words(value, text):
    assert display.value_text(value) == text


def test_no_competitor_recorded_is_said_so():
    assert display.where_text("competitor", "None") == "no competitor recorded"
    assert display.where_text("competitor", "Corvex") == "competitor is Corvex"


def test_a_deal_is_named_by_its_name_or_account_never_its_id():
    import pandas as pd

    opps = pd.DataFrame(
        {
            "opportunity_id": ["0065g00000AbCdEfGh", "0065g00000AbCdEfGi", "3", "4"],
            "extra_opportunity_name": ["Acme renewal", None, None, "Acme renewal"],
            "account": ["Acme", "Globex", None, "Acme"],
            "stage": ["Proposal", "Proposal", "Negotiation", "Proposal"],
        }
    )
    assert display.deal_names(opps).tolist() == [
        "Acme renewal",
        "Globex",
        "a deal at Negotiation",
        "Acme renewal (2)",
    ]


def test_the_summary_describes_a_rep_cited_while_names_were_shown(tmp_path):
    from sales_rca.report import workshop
    from sales_rca.session import Session

    crm = load_crm(*EXPORTS["demo"])
    named = next(f for f in findings(xray(crm), names=True) if f.details.get("people"))
    with Session.create(tmp_path / "w.session", "Q3") as s:
        s.set_setting(people.SHOW_NAMES, people.ON)
        problem = s.add_problem("Some reps lose more", finding=named)
        s.add_why(problem, "Deals are not reviewed")
        state = s.state()
    html = workshop(state).html
    assert "Chris Doyle" not in html and "Win rates differ between reps" in html
    assert "Chris Doyle" in workshop(state, names=True).html
    page = Summary.from_session(state).html()
    assert "Chris Doyle" not in page
