"""The x-ray on public exports: the artefacts a sales-ops analyst would reject never become findings."""

from __future__ import annotations

import pytest
from suite_paths import REAL_DATA

from sales_rca.crm import load_crm
from sales_rca.pipeline import findings, xray

pytestmark = pytest.mark.real_data

IBM_PROCESS = {
    "extra_elapsed_days_in_sales_stage",
    "extra_sales_stage_change_count",
    "extra_total_days_identified_through_closing",
    "extra_total_days_identified_through_qualified",
    "extra_ratio_days_identified_to_total_days",
    "extra_ratio_days_validated_to_total_days",
    "extra_ratio_days_qualified_to_total_days",
}


@pytest.fixture(scope="module")
def ibm():
    path = REAL_DATA / "WA_Fn-UseC_-Sales-Win-Loss.csv"
    if not path.exists():
        pytest.skip("public IBM data not present")
    return xray(load_crm(path))


def test_ibm_process_columns_are_left_out_as_outcome_derived(ibm):
    excluded = ibm.drivers.excluded.set_index("attribute")
    assert set(excluded.index) >= IBM_PROCESS
    assert (excluded.loc[sorted(IBM_PROCESS), "flag"] == "outcome_derived").all()
    assert IBM_PROCESS.isdisjoint(ibm.drivers.ranking["attribute"])
    for f in findings(ibm):
        assert not any(c.removeprefix("extra_").replace("_", " ") in f.title for c in IBM_PROCESS)
    # numbers are banded, never one group per value
    assert (ibm.drivers.groups.groupby("attribute").size() <= 12).all()


def test_ibm_json_lists_left_out_attributes_unranked_with_their_reason(ibm):
    drivers = ibm.to_dict()["drivers"]
    left_out = [d for d in drivers if "outcome_derived" in d["flags"]]
    assert {d["attribute"] for d in left_out} >= IBM_PROCESS
    assert all(d["rank"] is None and d["reason"] for d in left_out)
    ranked = [d for d in drivers if d["rank"] is not None]
    assert [d["rank"] for d in ranked] == list(range(1, len(ranked) + 1))


def test_maven_open_deals_without_amounts_give_unknown_values_not_zero(real_data):
    x = xray(load_crm(real_data / "maven_crm_sales_opportunities" / "sales_pipeline.csv"))
    data = x.to_dict()
    assert data["hygiene"]["open_value"] is None
    assert all(s["value_open"] is None for s in data["stages"])
    assert data["stalled_value"] is None


def test_maven_existing_account_gap_is_told_as_a_cohort_artefact_not_a_finding(real_data):
    x = xray(load_crm(real_data / "maven_crm_sales_opportunities" / "sales_pipeline.csv"))
    assert x.accounts.comparison["cohort_artefact"] is True
    assert "win_rate:existing_accounts" not in {f.key for f in findings(x)}


def test_salvirt_duplicate_rows_are_reported_and_one_fact_is_one_finding(real_data):
    crm = load_crm(real_data / "Salvirt_B2B_ML_dataset_HF.csv")
    assert crm.report.duplicates["exact_rows"] == 83
    drivers = [f for f in findings(xray(crm)) if f.kind == "driver"]
    titles = [f.title for f in drivers]
    # up-sale deals are (nearly) all current clients: one finding, not two
    assert sum(("up sale" in t) or ("client is" in t) for t in titles) == 1


def test_win_prediction_worst_manager_is_not_a_raw_extreme_of_a_tiny_group(real_data):
    x = xray(load_crm(real_data / "Win_Prediction_Data.csv"))
    manager = x.drivers.ranking.set_index("attribute").loc["manager"]
    groups = x.drivers.groups.set_index(["attribute", "group"])
    worst = groups.loc[("manager", manager["worst_group"])]
    assert worst["tested"] and worst["deals"] >= x.drivers.min_group_size
    # the shrunk estimate sits between the raw rate and the pooled rate
    assert worst["win_rate"] <= worst["win_rate_adjusted"] <= x.drivers.overall_win_rate
