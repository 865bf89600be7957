"""Coding the lost deals of a CrmData: pick-list fallback, review queue, overrides, findings,
charts and the CLI."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest
from typer.testing import CliRunner

from sales_rca.charts import category_bars, over_attribution_figure, stage_category_heatmap
from sales_rca.coding import (
    Override,
    apply_overrides,
    category_breakdown,
    code_losses,
    coding_findings,
    export_coding_csv,
    over_attribution,
    picklist_crosstab,
    read_coding_csv,
    stage_category_matrix,
    top_codes,
)
from sales_rca.crm.data import CrmData, ImportReport
from sales_rca.errors import CodebookError, SalesRcaError

ROWS = [
    # id, outcome, loss_stage, amount, pick-list, free text, owner, close
    (
        "o1",
        "lost",
        "Proposal",
        10000.0,
        "Price",
        "went with a competitor, price was not the issue",
        "ann",
        "2024-02-01",
    ),
    (
        "o2",
        "lost",
        "Proposal",
        5000.0,
        "Price",
        "Too expensive vs what they pay today",
        "ann",
        "2024-02-11",
    ),
    ("o3", "lost", "Discovery", 8000.0, "No Decision", "", "bob", "2024-05-01"),
    ("o4", "lost", "Discovery", None, "Other", "n/a", "bob", "2024-05-03"),
    ("o5", "won", "Closed Won", 9000.0, "", "", "ann", "2024-03-01"),
    (
        "o6",
        "lost",
        "Negotiation",
        20000.0,
        "Price",
        "EB never engaged, champion left",
        "cy",
        "2024-08-01",
    ),
    ("o7", "lost", "Negotiation", 7000.0, "Price", "Price", "cy", "2024-08-09"),
    ("o8", "lost", "Proposal", 3000.0, "Price", "no budget this year", "ann", "2024-09-09"),
    ("o9", "lost", "Proposal", 3000.0, "Price", "went dark", "ann", "2024-09-19"),
    ("o10", "lost", "Proposal", 3000.0, "Price", "security review failed", "bob", "2024-10-01"),
]


def make_crm() -> CrmData:
    opps = pd.DataFrame(
        ROWS,
        columns=[
            "opportunity_id",
            "outcome",
            "loss_stage",
            "amount",
            "loss_reason",
            "loss_detail",
            "owner",
            "close_date",
        ],
    )
    opps["outcome"] = opps["outcome"].astype(pd.CategoricalDtype(["won", "lost", "open"]))
    opps["close_date"] = pd.to_datetime(opps["close_date"])
    opps["segment"] = ["SMB", "SMB", "ENT", "ENT", "SMB", "ENT", "ENT", "SMB", "SMB", "ENT"]
    return CrmData(
        opportunities=opps,
        stage_events=pd.DataFrame(columns=["opportunity_id", "stage", "entered_at"]),
        quarantine=pd.DataFrame(columns=["table", "source_row", "reason"]),
        report=ImportReport(source="generic", path="memory"),
    )


@pytest.fixture
def result():
    return code_losses(make_crm())


def test_only_lost_deals_are_coded(result):
    assert "o5" not in set(result.deals["opportunity_id"])
    assert len(result.deals) == 9


def test_text_codes_win_over_the_pick_list(result):
    row = result.deals.set_index("opportunity_id").loc["o1"]
    assert row["categories"] == ("competition",)
    assert row["basis"] == "text"


def test_pick_list_is_used_when_the_text_is_empty(result):
    row = result.deals.set_index("opportunity_id").loc["o3"]
    assert row["codes"] == ("no_decision",)
    assert row["basis"] == "picklist"


def test_uncoded_deals_form_the_review_queue(result):
    assert list(result.uncoded["opportunity_id"]) == ["o4"]
    assert result.coverage == pytest.approx(8 / 9)


def test_summary_has_the_cli_json_keys(result):
    s = result.summary()
    assert {"rows", "coded", "coverage", "by_category", "by_code", "uncoded_examples"} <= set(s)
    assert s["rows"] == 9 and s["coded"] == 8
    assert s["by_category"]["price"] == 2  # o2, o7
    assert s["uncoded_examples"] == ["n/a"]


def test_over_attribution_counts_pick_list_price_the_notes_do_not_confirm(result):
    table = over_attribution(result)
    price = table.loc["price"]
    # pick-list says price on o1, o2, o6, o7, o8, o9, o10 (all with text codes); notes agree on o2, o7
    assert price["picklist"] == 7
    assert price["confirmed"] == 2
    assert price["over_attribution_rate"] == pytest.approx(5 / 7)
    cross = picklist_crosstab(result)
    assert cross.loc["price", "competition"] == 1


def test_stage_category_matrix_counts_deals_and_sums_lost_value(result):
    counts = stage_category_matrix(result, stages=["Discovery", "Proposal", "Negotiation"])
    assert (
        list(counts.index)
        == ["Discovery", "Proposal", "Negotiation", "(unknown stage)"][: len(counts)]
    )
    assert counts.loc["Negotiation", "process"] == 1
    amounts = stage_category_matrix(result, value="amount")
    assert amounts.loc["Negotiation", "buyer"] == 20000.0


def test_breakdowns_by_owner_and_quarter(result):
    by_owner = category_breakdown(result, "owner")
    assert by_owner.loc["ann", "price"] == 1
    by_q = category_breakdown(result, "quarter")
    assert "2024Q3" in by_q.index


def test_findings_cite_shares_and_hot_spots_with_their_deals(result):
    findings = coding_findings(result)
    keys = {f.key for f in findings}
    assert "code_share:buyer" in keys
    buyer = next(f for f in findings if f.key == "code_share:buyer")
    assert buyer.source == "coding" and buyer.unit == "share"
    assert set(buyer.opportunity_ids) >= {"o3", "o6", "o8", "o9"}
    assert "cite buyer" in buyer.title
    assert any(f.metric == "lost_here" and f.stage for f in findings)
    over = next(f for f in findings if f.key == "over_attribution:price")
    assert over.value == pytest.approx(5 / 7)


def test_top_codes_carry_example_texts(result):
    top = top_codes(result, n=3)
    assert len(top) == 3
    assert all(isinstance(e, list) for e in top["examples"])


def test_human_overrides_win_and_record_who_and_when(result):
    overrides = [
        Override(
            "o4", "add", code="crm_data_quality", who="facilitator", when=datetime(2024, 1, 2)
        ),
        Override(
            "o2",
            "change",
            code="price_too_high",
            new_code="roi_not_proven",
            who="vp",
            when="2024-01-03T10:00:00",
        ),
        Override("o6", "remove", code="lost_champion", who="vp", when="2024-01-03T11:00:00"),
        Override("o8", "accept", who="vp", when="2024-01-03T12:00:00"),
        Override("zzz", "add", code="went_dark", who="vp", when="2024-01-04"),
    ]
    out = apply_overrides(result, overrides)
    d = out.deals.set_index("opportunity_id")
    assert d.loc["o4", "codes"] == ("crm_data_quality",)
    assert d.loc["o4", "categories"] == ("enablement",)
    assert d.loc["o2", "codes"] == ("roi_not_proven",)
    assert "lost_champion" not in d.loc["o6", "codes"]
    assert d.loc["o8", "codes"] == result.deals.set_index("opportunity_id").loc["o8", "codes"]
    assert d.loc["o8", "basis"] == "human" and d.loc["o8", "reviewed_by"] == "vp"
    assert out.coverage == 1.0
    assert out.overrides["applied"].tolist() == [True, True, True, True, False]
    # the input is untouched (pure)
    assert result.deals.set_index("opportunity_id").loc["o4", "codes"] == ()


def test_later_override_wins_regardless_of_list_order(result):
    out = apply_overrides(
        result,
        [
            {"opportunity_id": "o4", "action": "remove", "code": "went_dark", "when": "2024-02-01"},
            {"opportunity_id": "o4", "action": "add", "code": "went_dark", "when": "2024-01-01"},
        ],
    )
    assert out.deals.set_index("opportunity_id").loc["o4", "codes"] == ()


def test_override_with_unknown_code_is_rejected(result):
    with pytest.raises(CodebookError, match="Unknown code 'nope'"):
        apply_overrides(result, [Override("o1", "add", code="nope")])
    with pytest.raises(CodebookError, match="unknown action"):
        apply_overrides(result, [{"opportunity_id": "o1", "action": "delete", "code": "went_dark"}])


def test_coding_exports_to_csv_and_imports_back(result, tmp_path: Path):
    path = export_coding_csv(result, tmp_path / "coding.csv")
    back = read_coding_csv(path)
    merged = back.set_index("opportunity_id")
    original = result.deals.set_index("opportunity_id")
    for oid in original.index:
        assert merged.loc[oid, "codes"] == original.loc[oid, "codes"]
        assert merged.loc[oid, "categories"] == original.loc[oid, "categories"]


def test_coding_file_without_needed_columns_is_a_clear_error(tmp_path: Path):
    p = tmp_path / "bad.csv"
    p.write_text("id,reason\n1,price\n", encoding="utf-8")
    with pytest.raises(SalesRcaError, match="expected columns opportunity_id"):
        read_coding_csv(p)
    p.write_text("opportunity_id,categories\n1,pricing\n", encoding="utf-8")
    with pytest.raises(CodebookError, match="unknown categories pricing"):
        read_coding_csv(p)


def test_charts_build_themed_figures_and_escape_labels(result):
    heat = stage_category_heatmap(stage_category_matrix(result))
    assert isinstance(heat, go.Figure) and heat.layout.template.layout.font.size == 16
    bars = category_bars(result.summary()["by_category"])
    assert len(bars.data[0].y) == 8
    over = over_attribution_figure(over_attribution(result))
    assert over.layout.barmode == "stack"
    m = stage_category_matrix(result)
    m.index = ["<b>x</b>", *list(m.index[1:])]
    assert "&lt;b&gt;" in stage_category_heatmap(m).data[0].y[0]


runner = CliRunner()


def test_cli_code_writes_one_row_per_lost_deal_and_prints_json(monkeypatch, tmp_path: Path):
    from sales_rca.cli import app
    from sales_rca.cli import code as code_cli

    monkeypatch.setattr(code_cli, "load_from_cli", lambda *a, **k: make_crm())
    out = tmp_path / "coded.csv"
    res = runner.invoke(app, ["code", "any.csv", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["rows"] == 9 and data["coded"] == 8
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(frame.columns[:5]) == [
        "opportunity_id",
        "codes",
        "categories",
        "primary_category",
        "evidence",
    ]
    by_id = frame.set_index("opportunity_id")
    assert by_id.loc["o4", "codes"] == "" and by_id.loc["o4", "primary_category"] == ""
    assert by_id.loc["o2", "primary_category"] == "price"
    assert set(data["by_primary_category"]) == set(data["by_category"])
    assert data["model"]["on"] is True and data["model"]["trained_on"] > 300
    text = runner.invoke(app, ["code", "any.csv"])
    assert "Lost deals: 9, coded: 8" in text.output


def test_cli_agreement_prints_kappa_alpha_and_per_category(tmp_path: Path):
    from sales_rca.cli import app

    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    a.write_text("opportunity_id,categories\n1,price\n2,buyer;process\n3,offer\n", encoding="utf-8")
    b.write_text("opportunity_id,categories\n1,price\n2,buyer\n3,offer\n", encoding="utf-8")
    res = runner.invoke(app, ["agreement", str(a), str(b), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["n"] == 3
    assert {"kappa", "alpha", "percent_agreement", "per_category"} <= set(data)
    assert data["per_category"]["buyer"]["kappa"] == 1.0
    text = runner.invoke(app, ["agreement", str(a), str(b)])
    assert "Cohen's kappa" in text.output and "Disagreements: 1" in text.output


def test_cli_agreement_with_a_bad_file_exits_2_with_one_line(tmp_path: Path, capsys):
    from sales_rca.cli import main

    bad = tmp_path / "bad.csv"
    bad.write_text("x\n1\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["agreement", str(bad), str(bad)])
    assert exc.value.code == 2
    assert "expected columns opportunity_id" in capsys.readouterr().err


def test_an_export_without_loss_reasons_says_there_is_nothing_to_code():
    import pandas as pd

    from sales_rca.coding import code_losses
    from sales_rca.crm import CrmData, ImportReport

    opps = pd.DataFrame(
        {
            "opportunity_id": ["1", "2"],
            "stage": ["Closed Lost", "Closed Won"],
            "outcome": pd.Categorical(["lost", "won"], categories=["won", "lost", "open"]),
            "loss_reason": pd.Series([None, None], dtype="string"),
            "loss_detail": pd.Series([None, None], dtype="string"),
        }
    )
    empty = pd.DataFrame(columns=["opportunity_id", "stage", "entered_at"])
    crm = CrmData(opps, empty, pd.DataFrame(), ImportReport(source="generic", path="x.csv"))
    result = code_losses(crm)
    assert result.summary()["coverage"] == 0.0
    assert "nothing to code" in result.summary()["notes"][0]
