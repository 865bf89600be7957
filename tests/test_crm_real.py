"""The CRM import on public sales datasets (../shared/data/real; skipped when absent)."""

from __future__ import annotations

import pandas as pd
import pytest

from sales_rca.crm import load_crm

pytestmark = pytest.mark.real_data


def test_ibm_win_loss_sample_quarantines_repeated_opportunity_numbers(real_data):
    crm = load_crm(real_data / "WA_Fn-UseC_-Sales-Win-Loss.csv")
    r = crm.report
    assert r.rows_in == 78_025
    assert r.rows_quarantined == 196
    # 55 rows are copies of an earlier row; 141 reuse one of 137 numbers for another deal.
    assert r.quarantine_reasons == {
        "exact repeat of an earlier row": 55,
        "duplicate opportunity id with different content": 141,
    }
    assert r.duplicates == {
        "exact_rows": 55,
        "exact_rows_kept": 0,
        "conflicting_rows": 141,
        "conflicting_ids": 137,
    }
    assert r.rows_accepted == 77_829
    assert crm.opportunities["opportunity_id"].is_unique
    assert r.outcomes["won"] + r.outcomes["lost"] == 77_829
    assert r.outcomes["open"] == 0
    assert crm.opportunities["region"].nunique() == 7


def test_maven_pipeline_outcomes_come_from_stage_names(real_data):
    crm = load_crm(real_data / "maven_crm_sales_opportunities" / "sales_pipeline.csv")
    assert crm.report.rows_in == 8_800
    assert crm.report.outcomes == {"won": 4_238, "lost": 2_473, "open": 2_089}
    opps = crm.opportunities
    assert opps["created_date"].min() == pd.Timestamp("2016-10-20")
    assert opps["close_date"].max() == pd.Timestamp("2017-12-31")
    assert opps.loc[opps["outcome"] == "open", "close_date"].isna().all()
    assert crm.report.mapping["owner"] == "sales_agent"


def test_win_prediction_bom_dates_and_generated_ids(real_data):
    crm = load_crm(real_data / "Win_Prediction_Data.csv")
    r = crm.report
    assert r.encoding == "utf-8-sig"
    assert r.ids_generated
    assert r.rows_accepted == 10_061
    assert r.outcomes == {"won": 3_755, "lost": 6_306, "open": 0}
    dates = crm.opportunities["created_date"]
    assert dates.notna().all()
    assert dates.min() == pd.Timestamp("2011-04-19")
    assert dates.max() == pd.Timestamp("2019-06-07")
    assert crm.report.mapping["amount"] == "Deal Cost"


def test_salvirt_semicolon_file_keeps_every_attribute_for_drivers(real_data):
    crm = load_crm(real_data / "Salvirt_B2B_ML_dataset_HF.csv")
    r = crm.report
    assert r.delimiter == "semicolon"
    assert r.rows_accepted == 448
    assert r.outcomes == {"won": 227, "lost": 221, "open": 0}
    assert "extra_needs_def" in crm.opportunities.columns
    # "Unknown" is an answer, not missing data.
    assert (crm.opportunities["extra_purch_dept"] == "Unknown").sum() > 0


def test_ibm_measures_arrive_as_numbers_for_driver_analysis(real_data):
    crm = load_crm(real_data / "WA_Fn-UseC_-Sales-Win-Loss.csv")
    opps = crm.opportunities
    for column in (
        "extra_elapsed_days_in_sales_stage",
        "extra_sales_stage_change_count",
        "extra_total_days_identified_through_closing",
        "extra_total_days_identified_through_qualified",
        "extra_client_size_by_revenue",
        "extra_client_size_by_employee_count",
        "extra_revenue_from_client_past_two_years",
        "extra_ratio_days_identified_to_total_days",
        "extra_ratio_days_validated_to_total_days",
        "extra_ratio_days_qualified_to_total_days",
        "extra_deal_size_category",
    ):
        assert opps[column].dtype == "float64", column
        assert opps[column].notna().all(), column
    assert opps["extra_ratio_days_identified_to_total_days"].between(0, 1).all()
    assert opps["extra_supplies_subgroup"].dtype == "string"
    assert not any("extra_" in w for w in crm.report.warnings)


def test_salvirt_identical_rows_are_kept_and_reported_as_exact_repeats(real_data):
    crm = load_crm(real_data / "Salvirt_B2B_ML_dataset_HF.csv")
    r = crm.report
    assert r.rows_quarantined == 0
    assert r.duplicates["exact_rows"] == r.duplicates["exact_rows_kept"] == 83
    assert any(w.startswith("83 rows repeat an earlier row exactly (18.5%)") for w in r.warnings)
