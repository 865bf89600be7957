"""The CRM import on the corpus of odd and broken exports in tests/data/crm/.

Each test names what a user would see: the one-line error, the quarantine reason, the warning.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from sales_rca.crm import CrmImportError, MappingError, load_crm


def assert_invariant(crm):
    r = crm.report
    assert r.rows_in == r.rows_accepted + r.rows_quarantined
    assert len(crm.opportunities) == r.rows_accepted
    assert (crm.quarantine["table"] == "opportunities").sum() == r.rows_quarantined


# --- files that cannot be used: one line saying what was expected and what was found -----------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.csv", "expected a header row and data rows, found an empty file"),
        ("blank_lines_only.csv", "found an empty file"),
        ("header_only.csv", "found a header only (3 columns: Opportunity ID, Stage, Amount)"),
        ("binary.csv", "found binary data"),
        ("no_stage_or_outcome.csv", "expected a stage or outcome column"),
        ("unterminated_quote.csv", "a quote opened on line 3 that never closes"),
        ("damaged.xlsx", "found a damaged or unsupported spreadsheet"),
        ("legacy_binary.xls", "found a binary Excel 97-2003 workbook"),
    ],
)
def test_unusable_files_raise_one_line_error(corpus, name, message):
    with pytest.raises(CrmImportError) as err:
        load_crm(corpus / name)
    text = str(err.value)
    assert message in text
    assert text.startswith(name)
    assert "\n" not in text


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CrmImportError, match="found nothing at that path"):
        load_crm(tmp_path / "nope.csv")


def test_no_stage_error_lists_the_columns_found(corpus):
    with pytest.raises(CrmImportError, match="found columns: Opportunity ID, Name, Amount"):
        load_crm(corpus / "no_stage_or_outcome.csv")


# --- delimiters and encodings -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "delimiter"),
    [
        ("european_semicolon.csv", "semicolon"),
        ("tab_delimited.tsv", "tab"),
        ("pipe_delimited.txt", "pipe"),
        ("salesforce_report.csv", "comma"),
    ],
)
def test_delimiter_is_detected(corpus, name, delimiter):
    crm = load_crm(corpus / name)
    assert crm.report.delimiter == delimiter
    assert crm.opportunities["stage"].notna().all()


def test_european_amounts_and_dates(corpus):
    crm = load_crm(corpus / "european_semicolon.csv")
    amounts = crm.opportunities.set_index("opportunity_id")["amount"]
    assert amounts["EU-1"] == 12500.0
    assert amounts["EU-2"] == 1234567.89
    assert amounts["EU-3"] == -2000.5  # negative in parentheses
    assert amounts["EU-4"] == 750.5
    assert crm.report.decimal == ","
    close = crm.opportunities.set_index("opportunity_id")["close_date"]
    assert close["EU-1"] == pd.Timestamp("2025-01-31")
    assert close["EU-4"] == pd.Timestamp("2025-03-05")
    assert crm.opportunities["account"].tolist()[1] == "Société Générale"


def test_windows_cp1252_export_is_decoded(corpus):
    crm = load_crm(corpus / "windows_cp1252.csv")
    assert crm.report.encoding == "cp1252"
    assert crm.opportunities["account"].tolist() == ["Café Müller", "Señor Frío"]
    assert crm.opportunities["loss_detail"].iloc[0] == "Preis zu hoch – Budget gekürzt"


def test_utf8_bom_does_not_leak_into_the_first_header(corpus):
    crm = load_crm(corpus / "utf8_bom.csv")
    assert crm.report.mapping["opportunity_id"] == "Opportunity ID"
    assert crm.opportunities["opportunity_id"].tolist() == ["B-1", "B-2"]


def test_excel_unicode_text_utf16_is_read(corpus):
    crm = load_crm(corpus / "excel_unicode_text.txt")
    assert crm.report.encoding == "utf-16"
    assert crm.report.outcomes == {"won": 1, "lost": 1, "open": 0}


# --- vendor shapes ---------------------------------------------------------------------------------


def test_salesforce_report_footer_is_not_data(corpus):
    crm = load_crm(corpus / "salesforce_report.csv")
    assert crm.report.source == "salesforce"
    assert crm.report.rows_in == 3
    assert crm.report.footer_lines_removed == 4
    assert crm.report.rows_quarantined == 0
    assert crm.opportunities["amount"].tolist() == [12000.0, 8500.0, 4000.0]
    assert crm.opportunities["owner"].tolist() == ["Ann Lee", "Ann Lee", "Bo Chen"]
    assert_invariant(crm)


def test_salesforce_export_to_excel_html_xls(corpus):
    crm = load_crm(corpus / "salesforce_export_to_excel.xls")
    assert crm.report.source == "salesforce"
    assert crm.report.rows_in == 2
    assert crm.opportunities["account"].tolist() == ["Globex & Co", "Initech"]
    assert crm.report.outcomes == {"won": 1, "lost": 1, "open": 0}
    assert crm.report.warnings == []


def test_salesforce_api_export_uses_iswon_isclosed(corpus):
    crm = load_crm(corpus / "salesforce_api_export.csv")
    assert crm.report.source == "salesforce"
    assert crm.opportunities["outcome"].tolist() == ["won", "lost", "open"]
    assert crm.opportunities["created_date"].iloc[0] == pd.Timestamp("2024-10-01 09:00")


def test_hubspot_xlsx_with_internal_stage_names(corpus):
    crm = load_crm(corpus / "hubspot_deals.xlsx")
    assert crm.report.source == "hubspot"
    assert crm.report.sheet == "Deals"
    opps = crm.opportunities.set_index("opportunity_id")
    assert opps["outcome"].to_dict() == {
        "9001": "won",
        "9002": "lost",
        "9003": "open",
        "9004": "lost",
    }
    assert opps.loc["9001", "close_date"] == pd.Timestamp("2025-03-31")
    assert opps.loc["9002", "loss_reason"] == "Went with competitor"
    assert pd.isna(opps.loc["9003", "amount"])


def test_pipedrive_status_and_loss_stage(corpus):
    crm = load_crm(corpus / "pipedrive_deals.csv")
    assert crm.report.source == "pipedrive"
    opps = crm.opportunities.set_index("opportunity_id")
    assert opps["outcome"].to_dict() == {"101": "won", "102": "lost", "103": "open"}
    # Pipedrive keeps a lost deal in the stage where it died.
    assert opps.loc["102", "loss_stage"] == "Proposal Made"
    assert opps.loc["102", "loss_reason"] == "Too expensive"


def test_dynamics_opportunities(corpus):
    crm = load_crm(corpus / "dynamics_opportunities.csv")
    assert crm.report.source == "dynamics"
    opps = crm.opportunities.set_index("opportunity_id")
    assert opps["outcome"].to_dict() == {"a1b2": "won", "a1b3": "lost", "a1b4": "open"}
    assert opps.loc["a1b2", "amount"] == 25000.0
    assert opps.loc["a1b3", "loss_stage"] == "2-Develop"
    assert opps.loc["a1b3", "account"] == "Fabrikam"


def test_spreadsheet_with_title_rows_and_a_named_sheet(corpus):
    crm = load_crm(corpus / "report_with_title_rows.xlsx")
    assert crm.report.sheet == "Report"
    assert crm.report.header_row == 4
    assert crm.opportunities["close_date"].tolist() == [
        pd.Timestamp("2025-01-31"),
        pd.Timestamp("2025-02-28"),
        pd.Timestamp("2025-03-31"),
    ]


def test_named_sheet_that_does_not_exist_lists_the_sheets(corpus):
    with pytest.raises(CrmImportError, match="found sheets: 'Empty', 'Report'"):
        load_crm(corpus / "report_with_title_rows.xlsx", mapping={"sheet": "Pipeline"})


def test_forcing_an_unknown_source_is_an_error(corpus):
    with pytest.raises(CrmImportError, match="expected --source to be auto or one of"):
        load_crm(corpus / "pipe_delimited.txt", source="sugarcrm")


# --- rows: quarantine and warnings -------------------------------------------------------------


def test_missing_ids_are_quarantined_with_row_numbers(corpus):
    crm = load_crm(corpus / "missing_ids.csv")
    q = crm.quarantine
    assert q["reason"].tolist() == ["missing opportunity id"] * 2
    assert q["source_row"].tolist() == [3, 4]
    assert q["Stage"].tolist() == ["Closed Lost", "Prospecting"]
    assert_invariant(crm)


def test_repeated_rows_and_conflicting_ids_are_quarantined_for_different_reasons(corpus):
    # D-1 appears three times: first kept, then repeated exactly, then with other content.
    crm = load_crm(corpus / "duplicate_ids.csv")
    assert crm.opportunities["opportunity_id"].tolist() == ["D-1", "D-2"]
    assert crm.opportunities["amount"].tolist() == [10.0, 20.0]
    assert crm.quarantine["source_row"].tolist() == [4, 5]
    assert crm.quarantine["reason"].tolist() == [
        "exact repeat of an earlier row",
        "duplicate opportunity id with different content",
    ]
    assert crm.report.duplicates == {
        "exact_rows": 1,
        "exact_rows_kept": 0,
        "conflicting_rows": 1,
        "conflicting_ids": 1,
    }
    assert_invariant(crm)


def test_identical_rows_in_a_file_without_ids_are_kept_and_counted(tmp_path):
    path = tmp_path / "no_ids.csv"
    path.write_text(
        "Stage,Product\nClosed Won,A\nClosed Won,A\nClosed Lost,B\nClosed Won,A\nClosed Lost,C\n",
        encoding="utf-8",
    )
    crm = load_crm(path)
    assert crm.report.rows_accepted == 5  # two identical deals cannot be told from one copied
    assert crm.quarantine.empty
    assert crm.report.duplicates == {
        "exact_rows": 2,
        "exact_rows_kept": 2,
        "conflicting_rows": 0,
        "conflicting_ids": 0,
    }
    assert any(
        w.startswith("2 rows repeat an earlier row exactly (40.0%)") and "kept" in w
        for w in crm.report.warnings
    )


def test_a_row_set_aside_for_another_reason_does_not_make_its_id_a_duplicate(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(
        "Opportunity ID,Stage,Amount\nX-1,,10\nX-1,Closed Won,10\nX-2,Closed Lost,5\n",
        encoding="utf-8",
    )
    crm = load_crm(path)
    assert crm.opportunities["opportunity_id"].tolist() == ["X-1", "X-2"]
    assert crm.report.quarantine_reasons == {"missing stage and outcome": 1}
    assert_invariant(crm)


def test_rows_without_stage_or_outcome_are_quarantined(corpus):
    crm = load_crm(corpus / "missing_stage_and_outcome.csv")
    assert crm.opportunities["opportunity_id"].tolist() == ["S-1", "S-3"]
    assert crm.report.quarantine_reasons == {
        "missing stage and outcome": 1,
        "outcome not recognised and no stage": 1,
    }
    assert_invariant(crm)


def test_rows_with_too_many_fields_are_quarantined_not_fatal(corpus):
    crm = load_crm(corpus / "overlong_rows.csv")
    assert crm.opportunities["opportunity_id"].tolist() == ["O-1", "O-3"]
    q = crm.quarantine
    assert q["reason"].tolist() == ["more fields than the header"]
    assert q["source_row"].tolist() == [3]
    assert "surprise" in q["raw_line"].iloc[0]
    assert_invariant(crm)


def test_unparseable_amounts_keep_the_row_and_warn(corpus):
    crm = load_crm(corpus / "bad_amounts.csv")
    assert crm.report.rows_accepted == 4
    assert crm.opportunities["amount"].isna().tolist() == [True, True, False, True]
    assert crm.report.amount_missing == 3
    assert any(
        "3 values could not be read as numbers" in w and "'TBD'" in w for w in crm.report.warnings
    )


def test_unparseable_dates_keep_the_row_and_warn(corpus):
    crm = load_crm(corpus / "bad_dates.csv")
    assert crm.report.rows_accepted == 3
    assert crm.opportunities["close_date"].isna().tolist() == [False, True, True]
    assert any("2 values could not be read as dates" in w for w in crm.report.warnings)


def test_ambiguous_dates_are_month_first_and_reported(corpus):
    crm = load_crm(corpus / "ambiguous_dates.csv")
    assert crm.opportunities["close_date"].iloc[0] == pd.Timestamp("2025-03-04")
    assert crm.report.date_formats["close_date"]["decided_by"] == "default"
    assert any("every date is ambiguous" in w for w in crm.report.warnings)


def test_mapping_dayfirst_decides_ambiguous_dates(corpus):
    crm = load_crm(corpus / "ambiguous_dates.csv", mapping=corpus / "mapping_dayfirst.yaml")
    assert crm.opportunities["close_date"].iloc[0] == pd.Timestamp("2025-04-03")
    assert crm.report.date_formats["close_date"] == {
        "column": "Close Date",
        "format": "%d/%m/%Y",
        "dayfirst": True,
        "decided_by": "mapping",
    }


def test_one_unambiguous_value_decides_day_first_for_the_column(corpus):
    crm = load_crm(corpus / "dayfirst_dates.csv")
    assert crm.opportunities["close_date"].tolist() == [
        pd.Timestamp("2025-04-03"),
        pd.Timestamp("2025-06-25"),
        pd.Timestamp("2025-08-07"),
    ]
    assert crm.report.date_formats["close_date"]["decided_by"] == "data"


def test_excel_serial_dates(corpus):
    crm = load_crm(corpus / "excel_serial_dates.csv")
    assert crm.opportunities["close_date"].tolist() == [
        pd.Timestamp("2025-01-01"),
        pd.Timestamp("2025-02-01 12:00"),
    ]


def test_blank_rows_are_skipped_and_counted(corpus):
    crm = load_crm(corpus / "blank_rows_inside.csv")
    assert crm.opportunities["opportunity_id"].tolist() == ["K-1", "K-2"]
    assert crm.report.rows_in == 2
    assert crm.report.blank_rows_skipped == 2
    assert crm.quarantine.empty


def test_no_id_column_makes_ids_from_row_numbers(corpus):
    crm = load_crm(corpus / "no_id_column.csv")
    assert crm.report.ids_generated
    assert crm.opportunities["opportunity_id"].tolist() == ["R2", "R3", "R4"]
    assert any("ids were made from row numbers" in n for n in crm.report.notes)


def test_unmapped_columns_are_kept_as_extra(corpus):
    crm = load_crm(corpus / "salesforce_api_export.csv")
    assert "extra_name" in crm.opportunities.columns
    assert "extra_accountid" in crm.report.extra_columns


# --- mapping files ---------------------------------------------------------------------------


def test_mapping_names_columns_and_closed_stages(corpus):
    crm = load_crm(corpus / "custom_columns.csv", mapping=corpus / "custom_mapping.yaml")
    opps = crm.opportunities.set_index("opportunity_id")
    assert opps["outcome"].to_dict() == {"C-1": "won", "C-2": "lost", "C-3": "open"}
    assert opps.loc["C-2", "loss_detail"] == "client had no budget"
    assert crm.stages == ["Talking", "Won it"]
    assert crm.report.mapping["owner"] == "Rep"


def test_mapping_naming_a_missing_column_lists_the_file_columns(corpus):
    with pytest.raises(MappingError) as err:
        load_crm(corpus / "custom_columns.csv", mapping=corpus / "mapping_missing_column.yaml")
    assert "'Loss Notes'" in str(err.value)
    assert "its columns are: 'Deal Ref', 'Phase', 'Money', 'Why we lost', 'Rep'" in str(err.value)


def test_mapping_with_unknown_key_is_rejected(corpus):
    with pytest.raises(MappingError, match="found unknown key 'win_reason'") as err:
        load_crm(corpus / "custom_columns.csv", mapping=corpus / "mapping_unknown_key.yaml")
    assert "mapping_unknown_key.yaml: expected keys among opportunity_id, stage," in str(err.value)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"dayfirst": "yes"}, "mapping: dayfirst: expected true or false, found 'yes'"),
        ({"decimal": ";"}, "mapping: decimal: expected one of '.', ',', found ';'"),
        ({"stage": " "}, "mapping: stage: expected non-empty text, found ' '"),
        ({"history": {"stagex": "A"}}, "history: expected keys among opportunity_id, stage,"),
        (["stage"], "mapping: expected a mapping, found a list of 1"),
    ],
)
def test_a_bad_mapping_value_says_what_was_expected_and_found(corpus, mapping, message):
    with pytest.raises(MappingError, match=re.escape(message)):
        load_crm(corpus / "custom_columns.csv", mapping=mapping)


def test_source_in_a_mapping_names_the_export_shape_or_the_lead_source_column():
    from sales_rca.crm import load_mapping

    shape = load_mapping({"source": "hubspot", "stages": "Qualify, Demo"})
    assert (shape.source, shape.columns, shape.stages) == ("hubspot", {}, ["Qualify", "Demo"])
    column = load_mapping({"source": "Lead Origin"})
    assert (column.source, column.columns) == (None, {"source": "Lead Origin"})


def test_mapping_with_bad_yaml_is_one_line(corpus):
    with pytest.raises(MappingError) as err:
        load_crm(corpus / "custom_columns.csv", mapping=corpus / "mapping_bad_yaml.yaml")
    assert "expected valid YAML" in str(err.value)
    assert "\n" not in str(err.value)


# --- stage history ---------------------------------------------------------------------------


def test_salesforce_history_gives_ordered_stage_events(corpus):
    crm = load_crm(corpus / "history_opportunities.csv", history=corpus / "salesforce_history.csv")
    events = crm.stage_events
    h1 = events[events["opportunity_id"] == "H-1"]
    # The amount edit (Needs Analysis -> Needs Analysis) is not a new stage entry.
    assert h1["stage"].tolist() == ["Prospecting", "Needs Analysis", "Closed Lost"]
    assert h1["entered_at"].is_monotonic_increasing
    hist = crm.report.history
    assert hist["footer_lines_removed"] == 4
    assert hist["quarantine_reasons"] == {
        "opportunity not in the export": 1,
        "missing opportunity id": 1,
        "missing or unreadable date": 1,
    }
    assert hist["rows_in"] == hist["rows_accepted"] + hist["rows_quarantined"]


def test_loss_stage_is_the_last_stage_before_closed_lost(corpus):
    crm = load_crm(corpus / "history_opportunities.csv", history=corpus / "salesforce_history.csv")
    opps = crm.opportunities.set_index("opportunity_id")
    assert opps.loc["H-1", "loss_stage"] == "Needs Analysis"
    assert pd.isna(opps.loc["H-2", "loss_stage"])
    assert "stage history" in crm.report.loss_stage_from


def test_field_history_adds_the_stage_a_deal_was_created_in(corpus):
    crm = load_crm(
        corpus / "history_opportunities.csv", history=corpus / "salesforce_field_history.csv"
    )
    assert crm.report.history["source"] == "salesforce_field_history"
    assert crm.report.history["rows_ignored"] == 1  # the Amount change
    h1 = crm.stage_events[crm.stage_events["opportunity_id"] == "H-1"]
    assert h1["stage"].tolist() == ["Prospecting", "Needs Analysis", "Closed Lost"]
    assert h1["entered_at"].iloc[0] == pd.Timestamp("2025-01-01")  # the deal's created date


def test_hubspot_date_entered_columns_are_a_stage_history(corpus):
    crm = load_crm(corpus / "hubspot_with_stage_dates.csv")
    assert crm.report.source == "hubspot"
    assert crm.report.history["source"] == "stage date columns"
    first = crm.stage_events[crm.stage_events["opportunity_id"] == "1"]
    assert first["stage"].tolist() == ["Appointment Scheduled", "Qualified To Buy", "Closed Lost"]
    opps = crm.opportunities.set_index("opportunity_id")
    assert opps.loc["1", "loss_stage"] == "Qualified To Buy"
    # The date columns are used as history, not kept as extra columns.
    assert crm.report.extra_columns == ["extra_deal_name"]


def test_zoho_deals_export(corpus):
    crm = load_crm(corpus / "zoho_deals.csv")
    assert crm.report.source == "zoho"
    opps = crm.opportunities.set_index("opportunity_id")
    assert opps["outcome"].to_dict() == {"zcrm_1": "won", "zcrm_2": "lost", "zcrm_3": "open"}
    # "Reason For Loss__s" is a custom field: the suffix does not hide it.
    assert opps.loc["zcrm_2", "loss_reason"] == "Price"
    assert opps.loc["zcrm_1", "created_date"] == pd.Timestamp("2025-01-01 10:00")


def test_copper_status_abandoned_counts_as_lost(corpus):
    crm = load_crm(corpus / "copper_opportunities.csv")
    opps = crm.opportunities.set_index("opportunity_id")
    assert opps["outcome"].to_dict() == {"1": "won", "2": "lost", "3": "lost", "4": "open"}
    assert crm.report.mapping["created_date"] == "Created At"
    assert opps.loc["3", "loss_stage"] == "Demo"


def test_freshsales_deals_map_through_the_generic_aliases(corpus):
    crm = load_crm(corpus / "freshsales_deals.csv")
    m = crm.report.mapping
    assert (m["owner"], m["created_date"], m["loss_reason"]) == (
        "Sales owner",
        "Created at",
        "Lost reason",
    )
    assert crm.report.outcomes == {"won": 1, "lost": 1, "open": 1}


def test_a_central_european_export_is_read_in_its_own_code_page(tmp_path):
    path = tmp_path / "cz.csv"
    path.write_bytes(
        (
            "Opportunity ID,Stage,Account Name\n"
            "CZ-1,Closed Lost,Příliš žluťoučký kůň úpěl ďábelské ódy\n"
            "CZ-2,Closed Won,Zażółć gęślą jaźń Łódź\n"
        ).encode("cp1250")
    )
    crm = load_crm(path)
    assert crm.report.encoding == "cp1250"
    assert crm.opportunities["account"].tolist()[0] == "Příliš žluťoučký kůň úpěl ďábelské ódy"
