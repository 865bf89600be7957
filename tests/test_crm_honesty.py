"""Imports that would be silently wrong are read honestly or told: no implicit index, repeated
headers, formulas Excel never calculated, numbers read differently by the two conventions, a
size budget, and CSV exports Excel opens without running formulas."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import Workbook

from sales_rca import demo_path, load_crm
from sales_rca.coding import code_losses
from sales_rca.coding.codebook import default_codebook
from sales_rca.coding.overrides import export_coding_csv, read_coding_csv
from sales_rca.crm import read as read_mod
from sales_rca.csvsafe import excel_safe, read_csv, write_csv
from sales_rca.errors import CrmImportError

HEADER = "Opportunity ID,Stage,Amount,Created Date,Close Date\n"


def _rows(n: int, start: int = 2) -> str:
    return "".join(
        f"OPP{i},Closed Won,{1000 + i},2025-01-0{1 + i % 9},2025-03-0{1 + i % 9}\n"
        for i in range(start, start + n)
    )


def test_a_first_row_with_an_extra_field_is_quarantined_not_shifted(tmp_path):
    path = tmp_path / "extra.csv"
    path.write_text(HEADER + "OPP1,Closed Won,500,2025-01-01,2025-03-01,SURPLUS\n" + _rows(40))
    crm = load_crm(path)
    opps = crm.opportunities
    # Every accepted row keeps its id in the id column and its amount in the amount column.
    assert opps["opportunity_id"].str.startswith("OPP").all()
    assert opps["amount"].between(1000, 2000).all()
    assert "OPP1" not in set(opps["opportunity_id"])
    assert len(crm.quarantine) == 1
    assert "SURPLUS" in crm.quarantine.iloc[0].to_string()


def test_trailing_empty_fields_hold_nothing_and_lose_nothing(tmp_path):
    path = tmp_path / "trailing.csv"
    body = "".join(line + ",,\n" for line in _rows(40).splitlines())
    path.write_text(HEADER + body)
    crm = load_crm(path)
    assert len(crm.opportunities) == 40
    assert crm.quarantine.empty


def test_repeated_and_case_variant_headers_are_warned(tmp_path):
    path = tmp_path / "repeated.csv"
    lines = [line + f",{i}" for i, line in enumerate(_rows(40).splitlines())]
    path.write_text(HEADER.strip() + ",amount \n" + "\n".join(lines) + "\n")
    crm = load_crm(path)
    warning = next(w for w in crm.report.warnings if "name one column" in w)
    assert "'Amount'" in warning and "'amount'" in warning
    assert crm.opportunities["amount"].between(1000, 2000).all()  # the first one is read


def test_formulas_without_saved_values_are_warned(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["Opportunity ID", "Stage", "Amount", "Created Date", "Close Date"])
    for i in range(2, 42):
        sheet.append([f"OPP{i}", "Closed Won", f"=1000+{i}", "2025-01-01", "2025-03-01"])
    path = tmp_path / "formulas.xlsx"
    book.save(path)  # openpyxl saves formulas without a calculated value, as some tools do
    crm = load_crm(path)
    warning = next(w for w in crm.report.warnings if "formula" in w)
    assert "40 formula cell(s)" in warning and "C2" in warning
    assert crm.opportunities["amount"].isna().all()  # unknown, not 0


def test_a_value_the_two_conventions_read_differently_is_warned(tmp_path):
    path = tmp_path / "mixed.csv"
    amounts = ['"1.234.567,89"', '"(1,000)"'] + [f'"{i}.500,00"' for i in range(1, 39)]
    rows = [f"OPP{i},Closed Won,{a},2025-01-01,2025-03-01" for i, a in enumerate(amounts, start=1)]
    path.write_text(HEADER + "\n".join(rows) + "\n")
    crm = load_crm(path)
    amount = crm.opportunities.set_index("opportunity_id")["amount"]
    assert amount["OPP1"] == pytest.approx(1234567.89)
    warning = next(w for w in crm.report.warnings if "'(1,000)'" in w)
    assert "decimal comma" in warning and "1,000" in warning
    # A column that writes three decimals everywhere is not warned about.
    ratios = tmp_path / "ratios.csv"
    rows = [f"OPP{i},Closed Won,0.{i:03d},2025-01-01,2025-03-01" for i in range(1, 41)]
    ratios.write_text(HEADER + "\n".join(rows) + "\n1,Closed Won,1.250,2025-01-01,2025-03-01\n")
    assert not any("decimal point" in w for w in load_crm(ratios).report.warnings)


def test_a_file_over_the_budget_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    path.write_text(HEADER + _rows(40))
    monkeypatch.setattr(read_mod, "MAX_FILE_BYTES", 100)
    with pytest.raises(CrmImportError, match=r"big.csv: expected an export of at most .* found"):
        load_crm(path)


PAYLOADS = ['=HYPERLINK("http://x","y")', "+SUM(1+1)*cmd|' /C calc'!A0", "@SUM(1)", "-2+3"]


def test_exported_csvs_neutralise_formulas_and_read_back_unchanged(tmp_path):
    frame = pd.DataFrame({"text": [*PAYLOADS, "\tx", "plain"], "n": [-1, 2, 3, 4, 5, 6]})
    path = write_csv(frame, tmp_path / "out.csv")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert all(v.startswith("'") for v in raw["text"][:5])
    assert raw["text"][5] == "plain" and raw["n"][0] == "-1"  # numbers stay numbers
    assert read_csv(path)["text"].tolist() == frame["text"].tolist()
    assert excel_safe(pd.DataFrame({"=bad header": [1]})).columns[0] == "'=bad header"


def test_quarantine_and_second_coder_exports_are_safe(tmp_path):
    from sales_rca.cli import main

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + _rows(40) + "=HYPERLINK(1),,@SUM(2),,\n")
    out = tmp_path / "quarantine.csv"
    with pytest.raises(SystemExit) as done:
        main(["check", str(bad), "--quarantine-out", str(out)])
    assert done.value.code in (0, None)
    cells = pd.read_csv(out, dtype=str, keep_default_na=False).to_numpy().ravel()
    assert any("'=HYPERLINK(1)" in str(c) for c in cells)
    assert not any(str(c).startswith(("=", "+", "@")) for c in cells)

    result = code_losses(load_crm(demo_path("salesforce_opportunities.csv")), default_codebook())
    deal = result.deals.index[0]
    result.deals.loc[deal, "loss_detail"] = PAYLOADS[1]
    coded = export_coding_csv(result, tmp_path / "second.csv")
    cells = pd.read_csv(coded, dtype=str, keep_default_na=False).to_numpy().ravel()
    assert not any(str(c).startswith(("=", "+", "@")) for c in cells)
    assert len(read_coding_csv(coded)) == len(result.deals)


def test_an_error_on_a_wrong_file_quotes_only_a_short_excerpt(tmp_path):
    path = tmp_path / "passwd.csv"
    lines = [f"user{i}:x:{i}:{i}:secret line {i} {'z' * 80}:/home/u{i}:/bin/sh" for i in range(30)]
    path.write_text(",".join(lines[:20]) + "\n" + ",".join(lines[:20]) + "\n")
    with pytest.raises(CrmImportError) as err:
        load_crm(path)
    message = str(err.value)
    assert "and 12 more" in message and "user19" not in message
    assert len(message) < 800 and "\n" not in message
