"""The demo export, read through the real import and x-ray, tells the story a workshop should find."""

from __future__ import annotations

import pandas as pd
import pytest
from suite_paths import DEMO_DIR

from sales_rca.crm import load_crm
from sales_rca.pipeline import findings, xray

EARLY = ["Prospecting", "Qualification", "Needs Analysis", "Value Proposition"]


@pytest.fixture(scope="module")
def demo_xray():
    crm = load_crm(
        DEMO_DIR / "salesforce_opportunities.csv",
        history=DEMO_DIR / "salesforce_opportunity_history.csv",
    )
    return crm, xray(crm)


def test_demo_import_is_clean_but_not_perfect(demo_xray):
    crm, _ = demo_xray
    r = crm.report
    assert r.source == "salesforce"
    assert r.rows_in == r.rows_accepted + r.rows_quarantined
    assert r.quarantine_reasons == {
        "duplicate opportunity id with different content": 1,
        "missing opportunity id": 1,
    }
    assert r.footer_lines_removed == 4
    assert r.history["rows_quarantined"] == 0


def test_needs_analysis_is_where_most_deals_die(demo_xray):
    _, x = demo_xray
    table = x.stage_table.set_index("stage")
    assert table["lost_here"].idxmax() == "Needs Analysis"


def test_needs_analysis_is_the_slowest_early_stage(demo_xray):
    _, x = demo_xray
    table = x.stage_table.set_index("stage")
    assert table.loc[EARLY, "median_days"].idxmax() == "Needs Analysis"


def test_formally_coached_teams_win_more(demo_xray):
    _, x = demo_xray
    groups = x.drivers.groups
    coaching = groups[groups["attribute"] == "extra_manager_coaching"].set_index("group")
    assert coaching.loc["Formal", "win_rate"] > coaching.loc["Informal", "win_rate"] + 0.05


def test_xray_is_taken_at_the_snapshot_not_at_forecast_close_dates(demo_xray):
    crm, x = demo_xray
    # Open deals carry expected close dates in 2027; the export was taken on 30 Sep 2026.
    assert crm.opportunities["close_date"].max().year == 2027
    assert x.as_of.normalize() == pd.Timestamp("2026-09-30")


def test_stalled_deals_pile_up_at_needs_analysis(demo_xray):
    _, x = demo_xray
    assert 0 < len(x.stalls) < x.open
    assert x.stalls["stage"].value_counts().idxmax() == "Needs Analysis"


def test_the_demo_story_survives_honest_statistics(demo_xray):
    _, x = demo_xray
    r = x.drivers.ranking.set_index("attribute")
    # group size: banded, significant, not explained away by deal type
    size = r.loc["extra_buying_group_size"]
    assert size["kind"] == "numeric" and size["significant"] and size["explained_by"] is None
    # coaching is a manager-level attribute with four managers: a lead, not proof
    coaching = r.loc["extra_manager_coaching"]
    assert coaching["unit"] == "manager" and "few_clusters" in coaching["flags"]
    ranked = findings(x)
    top = [f for f in ranked if f.strength != "context"][:6]
    assert len({f.key for f in top}) == len(top)
    assert any(f.stage == "Needs Analysis" for f in top)
    assert any("buying group size" in f.title for f in top)
    assert any("coaching" in f.title and "too few to prove" in f.title for f in ranked)


def test_the_coaching_lead_is_its_own_caution_finding_in_plain_words(demo_xray):
    _, x = demo_xray
    (lead,) = [f for f in findings(x) if f.details.get("attribute") == "extra_manager_coaching"]
    assert lead.strength == "caution" and "only 4 managers carry this" in lead.title
    assert "same_fact" not in lead.details  # a lead never absorbs a stronger attribute
    assert "manager coaching is Informal" in lead.title and "extra_" not in lead.title
    assert "p adjusted" in lead.figures and "p adjusted" not in lead.title


def test_the_demo_reps_are_described_not_named(demo_xray):
    crm, x = demo_xray
    reps = set(crm.opportunities["owner"].dropna()) | set(crm.opportunities["manager"].dropna())
    (about_reps,) = [f for f in findings(x) if f.details.get("attribute") == "owner"]
    assert about_reps.title.startswith("Win rates differ between reps: the lowest-rate rep's")
    assert not any(name in about_reps.title for name in reps)
    assert "competitor is None" not in " ".join(f.title for f in findings(x))
