"""Columns nobody mapped (``extra_*``) arrive typed: numbers as float64, dates as datetime64,
codes and answers as text, whatever the file format and however the numbers are written."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from suite_paths import DEMO_DIR

from sales_rca.crm import load_crm
from sales_rca.crm.values import looks_like_code, parse_numbers
from sales_rca.pipeline import analyse_drivers

STAGES = ["Closed Won", "Closed Lost", "Prospecting"]


def write_csv(path: Path, columns: dict[str, list[str]], delimiter: str = ",") -> Path:
    """An export with an id and a stage column, then ``columns`` (all the same length)."""
    n = len(next(iter(columns.values())))
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["Opportunity ID", "Stage", *columns])
    for i in range(n):
        writer.writerow([f"OPP-{i}", STAGES[i % 3], *(col[i] for col in columns.values())])
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def write_xlsx(path: Path, columns: dict[str, list[object]]) -> Path:
    """The same export as a workbook; cells keep their Python type (numbers stay numbers)."""
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame(
        {
            "Opportunity ID": [f"OPP-{i}" for i in range(n)],
            "Stage": [STAGES[i % 3] for i in range(n)],
            **columns,
        }
    )
    frame.to_excel(path, index=False, engine="openpyxl")
    return path


def extra(tmp_path: Path, values: list[str], *, header: str = "Metric", delimiter: str = ","):
    """Import one extra column from a CSV; returns (column, report)."""
    crm = load_crm(write_csv(tmp_path / "export.csv", {header: values}, delimiter))
    name = crm.report.extra_columns[0]
    return crm.opportunities[name], crm.report


# --- the same numbers, however they are written ---------------------------------------------


def positional(v: float) -> str:
    """Shortest digits that read back as ``v``, never in scientific notation."""
    return np.format_float_positional(v, trim="-")


def grouped(v: float, thousands: str, decimal: str) -> str:
    """``v`` with its integer part in groups of three: 1234567.5 -> '1,234,567.5'."""
    text = positional(v)
    sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, fraction = text.partition(".")
    groups = [whole[max(i - 3, 0) : i] for i in range(len(whole), 0, -3)][::-1]
    return sign + thousands.join(groups) + (decimal + fraction if fraction else "")


numbers = st.one_of(
    st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(10**9), max_value=10**9).map(float),
).map(lambda v: v + 0.0)  # -0.0 and 0.0 are the same number to a reader
cells = st.lists(st.one_of(numbers, st.none()), min_size=4, max_size=25).filter(
    lambda vs: sum(v is not None for v in vs) >= 3
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=cells)
def test_numbers_arrive_identical_from_csv_text_separators_and_xlsx_cells(tmp_path, values):
    expected = pd.Series([np.nan if v is None else v for v in values], dtype="float64")

    def text(fmt) -> list[str]:
        return ["" if v is None else fmt(v) for v in values]

    files = {
        "csv plain": write_csv(tmp_path / "plain.csv", {"Metric": text(repr)}),
        "csv 1,234.5": write_csv(
            tmp_path / "us.csv", {"Metric": text(lambda v: grouped(v, ",", "."))}
        ),
        "csv 1.234,5 (semicolon file)": write_csv(
            tmp_path / "eu.csv", {"Metric": text(lambda v: grouped(v, ".", ","))}, ";"
        ),
        "csv 1 234.5": write_csv(
            tmp_path / "space.csv", {"Metric": text(lambda v: grouped(v, " ", "."))}
        ),
        "xlsx number cells": write_xlsx(tmp_path / "cells.xlsx", {"Metric": values}),
        "xlsx text cells": write_xlsx(
            tmp_path / "text.xlsx", {"Metric": text(lambda v: grouped(v, ",", "."))}
        ),
    }
    for how, path in files.items():
        crm = load_crm(path)
        got = crm.opportunities["extra_metric"]
        assert crm.report.extra_types["extra_metric"] == "number", how
        assert got.dtype == "float64", how
        pd.testing.assert_series_equal(got, expected, check_names=False, obj=how)


def test_buying_group_size_in_the_demo_is_a_number():
    crm = load_crm(DEMO_DIR / "salesforce_opportunities.csv")
    size = crm.opportunities["extra_buying_group_size"]
    assert size.dtype == "float64"
    assert size.min() == 2 and size.max() == 12


@pytest.mark.parametrize(
    ("written", "delimiter", "value"),
    [
        ("USD 48,500.00", ",", 48500.0),
        ("$1,200.50", ",", 1200.5),
        ("€1.200,50", ";", 1200.5),
        ("1.500", ";", 1500.0),  # a decimal-comma file: the dot groups thousands
        ("1.500", ",", 1.5),
        ("1 500", ",", 1500.0),
        ("1\u00a0500,25", ";", 1500.25),
        ("1'500.25", ",", 1500.25),
        ("(1,000)", ",", -1000.0),
        ("-7", ",", -7.0),
        ("7-", ",", -7.0),
        ("$3k", ",", 3000.0),
        ("€1.2M", ",", 1_200_000.0),
        ("1e-05", ",", 0.00001),
    ],
)
def test_numbers_are_read_as_people_write_them(tmp_path, written, delimiter, value):
    column, _ = extra(tmp_path, [written, "2", "3", "4"], delimiter=delimiter)
    assert column.dtype == "float64"
    assert column.iloc[0] == value


def test_percentages_are_fractions_and_the_report_says_so(tmp_path):
    column, report = extra(tmp_path, ["35%", "12.5 %", "100%", "0%"], header="Win Probability")
    assert column.tolist() == [0.35, 0.125, 1.0, 0.0]
    assert any(
        "extra_win_probability (Win Probability): 4 percentages read as fractions" in n
        for n in report.notes
    )


def test_blank_cells_are_unknown_not_zero(tmp_path):
    column, report = extra(tmp_path, ["5", "", "7", "  ", "9"])
    assert column.isna().tolist() == [False, True, False, True, False]
    assert not any("extra_metric" in w for w in report.warnings)


def test_a_few_unreadable_values_are_left_empty_and_named_in_a_warning(tmp_path):
    values = [str(i) for i in range(40)] + ["TBD"]
    column, report = extra(tmp_path, values, header="Seats")
    assert column.dtype == "float64"
    assert column.isna().sum() == 1
    [warning] = [w for w in report.warnings if "extra_seats" in w]
    assert warning.startswith("extra_seats (Seats): read as numbers, but 1 values are not numbers")
    assert "'TBD'" in warning
    assert "the file still holds them" in warning


def test_missing_markers_are_empty_without_a_warning(tmp_path):
    column, report = extra(tmp_path, ["5", "n/a", "7", "-", "9", "NULL"])
    assert column.isna().tolist() == [False, True, False, True, False, True]
    assert report.warnings == []


def test_a_column_of_mostly_words_stays_text(tmp_path):
    values = ["12", "15", "many", "few", "20", "unknown", "30", "40", "50", "60"]
    column, report = extra(tmp_path, values)
    assert report.extra_types["extra_metric"] == "text"
    assert column.tolist() == values  # nothing was changed or lost


def test_too_few_values_to_tell_stay_text(tmp_path):
    column, report = extra(tmp_path, ["5", "7", ""])
    assert report.extra_types["extra_metric"] == "text"
    assert column.tolist()[:2] == ["5", "7"]


@pytest.mark.parametrize(
    ("header", "values"),
    [
        ("Customer Ref", ["00123", "00456", "01789", "00042"]),  # leading zeros: a code
        ("Zip", ["94105", "10001", "60601", "73301"]),
        ("Account ID", ["1001", "1002", "1003", "1004"]),
        ("AccountId", ["1001", "1002", "1003", "1004"]),
        ("PO Number", ["4711", "4712", "4713", "4714"]),
        ("Phone", ["4155550100", "4155550101", "4155550102", "4155550103"]),
        ("Contact", ["+4930123456", "+4930123457", "+4930123458", "+4930123459"]),
        ("Card", ["4111111111111111", "4111111111111112", "4111111111111113", "4111111111111114"]),
        ("Reference", [f"{700000 + 37 * i}" for i in range(25)]),  # 25 ids of one width
    ],
)
def test_identifiers_and_codes_stay_text_with_their_zeros(tmp_path, header, values):
    column, report = extra(tmp_path, values, header=header)
    assert report.extra_types[column.name] == "text"
    assert column.tolist() == values


def test_years_and_amounts_are_not_mistaken_for_codes():
    years = pd.Series(["2019", "2020", "2021", "2022"], dtype="string[pyarrow]")
    assert not looks_like_code(years, "Year Established")
    assert not looks_like_code(years, "Number of Employees")


@pytest.mark.parametrize("answers", [["Yes", "No", "No", "Yes"], ["True", "False", "True", "True"]])
def test_yes_no_answers_stay_text(tmp_path, answers):
    column, report = extra(tmp_path, answers)
    assert report.extra_types["extra_metric"] == "text"
    assert column.tolist() == answers


# --- dates ---------------------------------------------------------------------------------------


def test_a_text_column_of_dates_becomes_datetime(tmp_path):
    column, report = extra(
        tmp_path, ["2025-01-31", "2025-02-28", "", "2025-03-31"], header="Signed"
    )
    assert report.extra_types["extra_signed"] == "date"
    assert column.dtype == "datetime64[ns]"
    assert column.iloc[0] == pd.Timestamp("2025-01-31")
    assert pd.isna(column.iloc[2])


def test_german_dates_in_a_semicolon_file_are_dates_not_numbers(tmp_path):
    column, report = extra(
        tmp_path, ["15.01.2024", "03.02.2024", "28.02.2024"], header="Termin", delimiter=";"
    )
    assert report.extra_types["extra_termin"] == "date"
    assert column.tolist() == [
        pd.Timestamp("2024-01-15"),
        pd.Timestamp("2024-02-03"),
        pd.Timestamp("2024-02-28"),
    ]


@pytest.mark.parametrize(("close", "april_3"), [("25/03/2025", True), ("03/25/2025", False)])
def test_ambiguous_extra_dates_follow_the_files_day_first_decision(tmp_path, close, april_3):
    # Close Date proves the file's order; the extra column alone could be read either way.
    path = write_csv(
        tmp_path / "export.csv",
        {"Close Date": [close] * 3, "Kick-off": ["03/04/2025", "05/06/2025", "01/02/2025"]},
    )
    crm = load_crm(path)
    kickoff = crm.opportunities["extra_kick_off"]
    assert kickoff.dtype == "datetime64[ns]"
    expected = pd.Timestamp("2025-04-03") if april_3 else pd.Timestamp("2025-03-04")
    assert kickoff.iloc[0] == expected


def test_xlsx_date_cells_and_number_cells_are_typed(tmp_path):
    path = write_xlsx(
        tmp_path / "export.xlsx",
        {
            "Signed": [
                pd.Timestamp("2025-01-31"),
                pd.Timestamp("2025-02-28"),
                None,
                pd.Timestamp("2025-03-31"),
            ],
            "Seats": [12, 7.5, None, 1250],
            "Seats As Text": ["12", "7.5", "", "1,250"],
            "Plan": ["Gold", "Silver", "Gold", "Gold"],
        },
    )
    crm = load_crm(path)
    opps = crm.opportunities
    assert crm.report.extra_types == {
        "extra_signed": "date",
        "extra_seats": "number",
        "extra_seats_as_text": "number",
        "extra_plan": "text",
    }
    assert opps["extra_signed"].dtype == "datetime64[ns]"
    assert opps["extra_seats"].tolist()[:2] == [12.0, 7.5]
    assert opps["extra_seats"].dtype == "float64"
    pd.testing.assert_series_equal(
        opps["extra_seats"], opps["extra_seats_as_text"], check_names=False
    )


# --- the parser itself ---------------------------------------------------------------------------


def test_parse_numbers_never_reads_malformed_groups_as_numbers():
    result = parse_numbers(pd.Series(["1,2,3", "15.01.2024", "1 5", "12"]))
    assert result.values.isna().tolist() == [True, True, True, False]
    assert result.unparseable == 3


def test_parse_numbers_keeps_amounts_and_percentages_apart():
    from sales_rca.crm.values import parse_amounts

    assert parse_numbers(pd.Series(["35%"])).values.tolist() == [0.35]
    assert parse_amounts(pd.Series(["35%"])).values.isna().all()


def test_a_number_gives_the_same_drivers_from_csv_text_separators_and_xlsx(tmp_path):
    rng = np.random.default_rng(11)
    values = [float(v) for v in rng.integers(100, 20_000, 150)]
    files = {
        "csv plain": write_csv(tmp_path / "plain.csv", {"Employees": [repr(v) for v in values]}),
        "csv 1,234": write_csv(
            tmp_path / "us.csv", {"Employees": [grouped(v, ",", ".") for v in values]}
        ),
        "csv 1.234 (semicolon file)": write_csv(
            tmp_path / "eu.csv", {"Employees": [grouped(v, ".", ",") for v in values]}, ";"
        ),
        "xlsx number cells": write_xlsx(tmp_path / "cells.xlsx", {"Employees": values}),
    }
    results = {}
    for how, path in files.items():
        drivers = analyse_drivers(load_crm(path).opportunities, min_group_size=5)
        groups = drivers.groups[drivers.groups["attribute"] == "extra_employees"]
        assert len(groups) <= 5, how  # banded, never one group per value
        results[how] = groups.reset_index(drop=True)
    first = results.pop("csv plain")
    for how, groups in results.items():
        pd.testing.assert_frame_equal(groups, first, obj=how)
