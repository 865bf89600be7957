"""`sales-rca check`: a readable data check, a JSON object, or one line on stderr and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

SALES_RCA = Path(sys.executable).parent / "sales-rca"


def test_the_installed_command_prints_one_line_and_exits_2_on_an_unusable_file(corpus):
    # The one test that starts the real `sales-rca` (the others call main(argv) in this process).
    result = subprocess.run(
        [str(SALES_RCA), "check", str(corpus / "header_only.csv")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "found a header only" in result.stderr and "Traceback" not in result.stderr


def test_help_lists_commands_with_descriptions(cli):
    result = cli("--help")
    assert result.returncode == 0
    assert "check" in result.stdout
    assert "Check a CRM export" in result.stdout


def test_check_json_has_the_documented_fields(corpus, cli):
    result = cli("check", str(corpus / "duplicate_ids.csv"), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    for key in (
        "source",
        "rows_in",
        "rows_accepted",
        "rows_quarantined",
        "quarantine_reasons",
        "mapping",
        "outcomes",
        "amount_missing",
        "warnings",
    ):
        assert key in data
    assert data["rows_in"] == 4
    assert data["quarantine_reasons"] == {
        "exact repeat of an earlier row": 1,
        "duplicate opportunity id with different content": 1,
    }
    assert data["duplicates"]["exact_rows"] == 1
    assert data["duplicates"]["conflicting_ids"] == 1
    assert data["outcomes"] == {"won": 1, "lost": 1, "open": 0}
    assert data["mapping"]["opportunity_id"] == "Opportunity ID"


def test_check_text_report_and_quarantine_file(corpus, tmp_path, cli):
    out = tmp_path / "q" / "rejected.csv"
    result = cli("check", str(corpus / "missing_ids.csv"), "--quarantine-out", str(out))
    assert result.returncode == 0, result.stderr
    assert "4 in, 2 accepted, 2 quarantined" in result.stdout
    assert "missing opportunity id: 2" in result.stdout
    rejected = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert rejected["source_row"].tolist() == ["3", "4"]
    assert rejected["reason"].tolist() == ["missing opportunity id"] * 2


def test_check_text_tells_exact_repeats_from_reused_ids(corpus, cli):
    result = cli("check", str(corpus / "duplicate_ids.csv"))
    assert result.returncode == 0, result.stderr
    assert "exact repeat of an earlier row: 1" in result.stdout
    assert "duplicate opportunity id with different content: 1" in result.stdout
    assert (
        "Duplicates     : exact repeats of an earlier row: 1, quarantined; "
        "ids reused with other content: 1" in result.stdout
    )


def test_check_text_says_how_extra_columns_were_read(tmp_path, cli):
    path = tmp_path / "export.csv"
    path.write_text(
        "Opportunity ID,Stage,Seats,Signed,Plan\n"
        + "".join(f"O-{i},Closed Won,{i},2025-01-0{i},Gold\n" for i in range(1, 5)),
        encoding="utf-8",
    )
    result = cli("check", str(path))
    assert result.returncode == 0, result.stderr
    assert "Kept as extra  : 3 columns (1 numbers, 1 dates, 1 text)" in result.stdout


def test_unusable_file_gives_one_line_and_exit_2(corpus, cli):
    result = cli("check", str(corpus / "header_only.csv"))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "found a header only" in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_mapping_gives_one_line_and_exit_2(corpus, cli):
    result = cli(
        "check",
        str(corpus / "custom_columns.csv"),
        "--mapping",
        str(corpus / "mapping_missing_column.yaml"),
    )
    assert result.returncode == 2
    assert "no such column" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_library_exposes_its_main_names_lazily():
    code = (
        "import sys, sales_rca as rca; assert 'sales_rca.pipeline' not in sys.modules; "
        "from sales_rca import load_crm, xray, code_losses, Session; "
        "assert rca.load_crm is load_crm; print(rca.__version__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0.1.0"


def test_every_lazy_export_is_listed():
    import sales_rca

    assert sorted(sales_rca._EXPORTS) == sorted(n for n in sales_rca.__all__ if n != "__version__")
