"""The x-ray as a whole: its findings, its JSON shape and the ``sales-rca xray`` command."""

from __future__ import annotations

import json

import pytest
from pipeline_fixtures import N, P, Q, story_crm

from sales_rca.cli import main
from sales_rca.errors import PipelineError
from sales_rca.findings import Finding
from sales_rca.pipeline import findings, xray

#: The story has two won deals: stall thresholds from any number of them, one for all segments.
SMALL = {"stall_min_won": 1, "stall_segment": None}


@pytest.fixture(scope="module")
def story():
    return xray(story_crm(), **SMALL)


def test_one_finding_per_stage_holds_its_three_numbers(story):
    by_key = {f.key: f for f in findings(story)}
    f = by_key[f"lost_here:{N}"]
    assert (f.value, f.unit, f.stage, f.kind) == (2, "deals", N, "stage")
    assert (
        f.title
        == f"{N}: 2 deals lost here (370), 60% move on (lowest of all stages), median 9 days in the stage"
    )
    assert sorted(f.opportunity_ids) == ["L2", "L3"] and f.deals == 2
    d = f.details
    assert d["value_lost"] == 370.0 and d["share_of_lost"] == pytest.approx(2 / 3)
    assert d["conversion"] == pytest.approx(0.6) and d["lowest_conversion"]
    assert d["median_days"] == 9.0
    assert by_key[f"lost_here:{Q}"].opportunity_ids == ("L1",)
    assert not [k for k in by_key if k.endswith(f":{P}")]  # nothing lost there, not the slowest
    assert not [k for k in by_key if k.startswith("conversion:")]  # part of the stage finding


def test_a_stage_that_loses_nothing_but_waits_longest_is_a_finding(story):
    by_key = {f.key: f for f in findings(story)}
    # Negotiation's median (10 days) is the longest; no deal was lost there
    slow = by_key["median_days:Negotiation"]
    assert slow.value == 10.0 and slow.details["longest_wait"]


def test_stalled_and_dead_open_deals_are_separate_findings(story):
    by_key = {f.key: f for f in findings(story)}
    stalled = by_key["stalled_value"]
    # O2 is slow (at risk); O1 has sat more than 3x its stage's threshold: dead, not at risk
    assert (stalled.value, stalled.unit, stalled.opportunity_ids) == (500.0, "currency", ("O2",))
    assert stalled.kind == "stall" and stalled.value_at_stake == 500.0
    dead = by_key["hygiene:dead"]
    assert dead.opportunity_ids == ("O1",) and dead.kind == "hygiene"
    assert by_key["paths:won_on_official_path"].value == 0.5


def test_findings_are_ranked_by_strength_then_value_at_stake(story):
    ranked = findings(story)
    tiers = {"strong": 0, "caution": 1, "context": 2}
    order = [tiers[f.strength] for f in ranked]
    assert order == sorted(order)
    assert ranked[-1].strength == "context"
    assert {f.key for f in ranked if f.kind == "overall"} == {"win_rate:overall"}


def test_findings_round_trip_through_dicts_and_keep_the_same_keys(story):
    first = findings(story)
    again = findings(xray(story_crm(), **SMALL))
    assert [f.key for f in first] == [f.key for f in again]
    assert all(Finding.from_dict(json.loads(json.dumps(f.to_dict()))) == f for f in first)


def test_findings_cap_the_cited_ids_but_keep_the_full_count(story):
    f = next(f for f in findings(story, max_ids=1) if f.key == f"lost_here:{N}")
    assert len(f.opportunity_ids) == 1 and f.deals == 2


def _needs_def_crm():
    from pipeline_fixtures import make_crm

    rows = (
        [("Yes", "won")] * 30
        + [("Yes", "lost")] * 10
        + [("No", "won")] * 10
        + [("No", "lost")] * 30
    )
    return make_crm(
        [
            {"opportunity_id": str(i), "outcome": o, "extra_needs_def": g, "amount": 1000.0}
            for i, (g, o) in enumerate(rows)
        ]
    )


def test_a_driver_finding_states_the_worst_group_against_the_best_in_plain_words():
    found = [f for f in findings(xray(_needs_def_crm())) if f.kind == "driver"]
    assert len(found) == 1
    f = found[0]
    assert f.key == "win_rate:extra_needs_def=No" and f.segment == "extra_needs_def=No"
    assert f.title == "Deals where needs def is No win 25% vs 75% where it is Yes"
    assert "extra_" not in f.title
    assert f.value == 0.25 and f.details["best_win_rate"] == 0.75
    assert f.details["rank"] == "worst" and len(f.opportunity_ids) == 40
    # at stake: the 40 "No" deals winning at the rest's 75% instead of 25%, at 1,000 a won deal
    assert f.value_at_stake == pytest.approx(40 * 0.5 * 1000)


def test_two_attributes_that_are_the_same_deals_give_one_finding():
    crm = _needs_def_crm()
    crm.opportunities["extra_discovery_done"] = crm.opportunities["extra_needs_def"].map(
        {"Yes": "Done", "No": "Skipped"}
    )
    found = [f for f in findings(xray(crm)) if f.kind == "driver"]
    assert len(found) == 1
    title = found[0].title
    assert "discovery done is Skipped" in title and "needs def is No" in title
    assert len(found[0].details["same_fact"]) == 1


def test_to_dict_is_json_with_the_fields_the_cli_promises(story):
    data = json.loads(json.dumps(story.to_dict()))
    assert (data["won"], data["lost"], data["open"]) == (2, 3, 3)
    assert data["win_rate"] == 0.4
    assert [s["stage"] for s in data["stages"]] == story.stages
    needs = data["stages"][1]
    assert {k: needs[k] for k in ("entered", "advanced", "lost_here", "open_here", "median_days")} == {
        "entered": 6, "advanced": 3, "lost_here": 2, "open_here": 1, "median_days": 9.0,
    }  # fmt: skip
    assert data["stalled"][0] == {
        "opportunity_id": "O1", "stage": P, "days_in_stage": 15.0, "threshold_days": 2.0,
        "threshold_source": "stage", "status": "dead", "past_due": None, "amount": 400.0,
    }  # fmt: skip
    assert data["hygiene"]["at_risk_value"] == 500.0
    kinds = {f["kind"] for f in data["findings"]}
    assert {"stage", "stall", "hygiene", "overall"} <= kinds
    for f in data["findings"]:
        assert {"title", "kind", "value", "deals", "value_at_stake"} <= f.keys()
    assert data["trend"]["by_created_quarter"][0]["period"] == "2024Q1"
    assert isinstance(data["drivers"], list)
    assert data["velocity"]["per_day"] == pytest.approx(3 * 0.4 * 150 / 21.5)


def test_missing_numbers_become_null_in_json():
    from pipeline_fixtures import make_crm

    crm = make_crm([{"opportunity_id": "1", "outcome": "open", "stage": Q}], stages=[Q])
    data = json.loads(json.dumps(xray(crm).to_dict(), allow_nan=False))
    assert data["win_rate"] is None and data["stages"][0]["entered"] is None


def test_as_of_defaults_to_the_latest_date_in_the_data(story):
    assert story.as_of.isoformat() == "2024-01-25T00:00:00"
    later = xray(story_crm(), as_of="2024-01-31", **SMALL)
    assert later.stalls.set_index("opportunity_id").loc["O1", "days_in_stage"] == 21.0


def test_an_empty_export_or_a_bad_percentile_is_refused():
    from pipeline_fixtures import make_crm

    with pytest.raises(PipelineError, match="between 0 and 1"):
        xray(story_crm(), stall_percentile=75)
    empty = make_crm([{"opportunity_id": "x", "outcome": "open"}])
    empty.opportunities = empty.opportunities.iloc[0:0]
    with pytest.raises(PipelineError, match="no opportunities"):
        xray(empty)


# --- CLI ------------------------------------------------------------------------------------


@pytest.fixture
def export(tmp_path):
    opps = tmp_path / "opps.csv"
    opps.write_text(
        "Opportunity ID,Stage,Amount,Created Date,Close Date\n"
        "W1,Closed Won,100,2024-01-01,2024-01-20\n"
        "L1,Closed Lost,50,2024-01-02,2024-01-06\n"
        "O1,Proposal,400,2024-01-03,\n"
    )
    hist = tmp_path / "history.csv"
    hist.write_text(
        "Opportunity ID,Stage,Date\n"
        "W1,Qualify,2024-01-01\nW1,Proposal,2024-01-08\nW1,Closed Won,2024-01-20\n"
        "L1,Qualify,2024-01-02\nL1,Closed Lost,2024-01-06\n"
        "O1,Qualify,2024-01-03\nO1,Proposal,2024-01-10\n"
    )
    return opps, hist


def test_cli_json_prints_one_object_in_official_stage_order(export, capsys):
    opps, hist = export
    with pytest.raises(SystemExit) as exit_:
        main(["xray", str(opps), "--history", str(hist), "--stages", "Qualify,Proposal", "--json"])
    assert exit_.value.code == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["won"], data["lost"], data["open"]) == (1, 1, 1)
    assert [(s["stage"], s["entered"], s["lost_here"]) for s in data["stages"]] == [
        ("Qualify", 3, 1),
        ("Proposal", 2, 0),
    ]
    assert data["stage_order"]["source"] == "argument"


def test_cli_report_is_readable_text(export, capsys):
    opps, hist = export
    with pytest.raises(SystemExit):
        main(["xray", str(opps), "--history", str(hist)])
    out = capsys.readouterr().out
    assert "Pipeline x-ray as of 2024-01-20" in out
    assert "Qualify: 1 deal lost here (50)" in out
    assert "extra_" not in out and "nan" not in out.lower().replace("financ", "")


def test_cli_prints_a_bad_stage_order_as_one_line_and_exits_2(export, capsys):
    opps, _ = export
    with pytest.raises(SystemExit) as exit_:
        main(["xray", str(opps), "--stages", "Qualify,Qualify"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sales-rca: error:") and "\n" not in err


def test_without_any_loss_stage_lost_here_is_unknown_not_zero(tmp_path):
    from sales_rca.crm import load_crm
    from sales_rca.pipeline import findings, xray

    path = tmp_path / "hubspot.csv"
    path.write_text(
        "Record ID,Deal Name,Deal Stage,Amount,Create Date\n"
        "1,A,closedlost,100,2025-01-01\n2,B,Qualified To Buy,200,2025-01-02\n"
        "3,C,Appointment Scheduled,300,2025-01-03\n4,D,closedwon,400,2025-01-04\n",
        encoding="utf-8",
    )
    x = xray(load_crm(path))
    # HubSpot's default pipeline gives the order when the export has no history.
    assert x.order.stages == ["Appointment Scheduled", "Qualified To Buy"]
    assert x.order.source == "default pipeline"
    assert x.stage_table["lost_here"].isna().all()
    assert not [f for f in findings(x) if f.metric == "lost_here"]
    assert any("where they died is unknown" in n for n in x.notes)


def test_a_twelve_deal_file_gives_cautions_not_confident_findings():
    from pipeline_fixtures import make_crm

    rows = [
        {
            "opportunity_id": f"D{i}",
            "outcome": "won" if i % 3 == 0 else "lost",
            "loss_stage": None if i % 3 == 0 else Q,
            "extra_region": "North" if i < 6 else "South",
            "amount": 100.0,
        }
        for i in range(12)
    ]
    x = xray(make_crm(rows, stages=[Q, N]))
    assert x.drivers.ranking.empty
    assert any("too few to test" in n for n in x.notes)
    assert all(f.strength in ("caution", "context") for f in findings(x))
