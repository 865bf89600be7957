"""The pipeline over time, the cohort artefact in account growth, and velocity's unknowns.

Every figure is counted by hand in the test; intervals are checked against their formula.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from pipeline_fixtures import make_crm
from scipy import stats
from suite_paths import REAL_DATA

from sales_rca.pipeline.accounts import analyse_accounts, compare_within_quarters
from sales_rca.pipeline.stages import build_visits
from sales_rca.pipeline.trend import (
    KAPLAN_MEIER,
    MATURE_MAX_OPEN_SHARE,
    QUARTER_END_DAYS,
    UNKNOWN_AMOUNT,
    is_mature,
    quarter_label,
    trend,
)
from sales_rca.pipeline.velocity import MIN_CLOSED_DEALS, velocity

MAVEN = REAL_DATA / "maven_crm_sales_opportunities" / "sales_pipeline.csv"
Z = stats.norm.ppf(0.975)


def _opps(rows: list[dict]) -> pd.DataFrame:
    return make_crm([{"opportunity_id": f"D{i}", **r} for i, r in enumerate(rows)]).opportunities


def _deals(outcome: str, n: int, **fields) -> list[dict]:
    return [{"outcome": outcome, **fields} for _ in range(n)]


def _wilson(won: int, n: int) -> tuple[float, float]:
    p = won / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / (1 + Z**2 / n)
    return centre - half, centre + half


# --- win rate per created quarter -----------------------------------------------------------


def _quarters() -> pd.DataFrame:
    q1 = {"created_date": "2024-02-10", "close_date": "2024-05-01"}
    q2 = {"created_date": "2024-05-20", "close_date": "2024-06-20"}
    q3 = {"created_date": "2024-08-01"}
    open1, open2 = {"created_date": "2024-03-01"}, {"created_date": "2024-06-01"}
    return _opps(
        # 2024Q1: 6 won, 3 lost, 1 open (10% open: mature)
        _deals("won", 6, **q1) + _deals("lost", 3, **q1) + _deals("open", 1, **open1)
        # 2024Q2: 1 won, 2 lost, 2 open (40% open: too young to read)
        + _deals("won", 1, **q2) + _deals("lost", 2, **q2) + _deals("open", 2, **open2)
        # 2024Q3: 2 open, nothing closed yet; one deal without a created date
        + _deals("open", 2, **q3) + _deals("lost", 1, close_date="2024-06-01")
    )  # fmt: skip


def test_win_rate_per_created_quarter_counts_each_quarter_and_its_open_deals():
    t = trend(_quarters(), as_of="2024-09-30")
    q = t.by_created_quarter.set_index("period")
    assert q.index.tolist() == ["2024Q1", "2024Q2", "2024Q3"]
    assert q.loc["2024Q1", ["created", "won", "lost", "open"]].tolist() == [10, 6, 3, 1]
    assert q.loc["2024Q2", ["created", "won", "lost", "open"]].tolist() == [5, 1, 2, 2]
    assert q.loc["2024Q1", "win_rate"] == pytest.approx(6 / 9)
    assert q.loc["2024Q2", "win_rate"] == pytest.approx(1 / 3)
    assert math.isnan(q.loc["2024Q3", "win_rate"])  # nothing closed: unknown, not 0
    assert any("1 deal without a created date is left out" in n for n in t.notes)


def test_win_rate_interval_is_the_wilson_score_interval():
    q = trend(_quarters(), as_of="2024-09-30").by_created_quarter.set_index("period")
    low, high = _wilson(6, 9)
    assert q.loc["2024Q1", "ci_low"] == pytest.approx(low)
    assert q.loc["2024Q1", "ci_high"] == pytest.approx(high)


def test_a_quarter_with_more_than_a_fifth_of_its_deals_open_is_not_mature():
    assert MATURE_MAX_OPEN_SHARE == 0.20
    # at most 20% open is mature; a cohort without deals is not
    assert is_mature([1, 2, 0, 0], [5, 5, 0, 3]).tolist() == [True, False, False, True]
    t = trend(_quarters(), as_of="2024-09-30")
    assert t.by_created_quarter["mature"].tolist() == [True, False, False]
    young = [n for n in t.notes if "cannot be read yet" in n]
    assert young and "2024Q2 and 2024Q3" in young[0]


def test_quarter_labels_are_pandas_period_strings():
    for day in ("2025-07-01", "1969-12-31", "2000-03-31"):
        ts = pd.Timestamp(day)
        code = (ts.year - 1970) * 4 + (ts.month - 1) // 3
        assert quarter_label(code) == str(ts.to_period("Q"))


def test_to_dict_is_json_with_none_for_unknown():
    data = json.loads(json.dumps(trend(_quarters(), as_of="2024-09-30").to_dict()))
    rows = data["by_created_quarter"]
    assert {k: rows[0][k] for k in ("period", "created", "won", "lost", "open", "mature")} == {
        "period": "2024Q1", "created": 10, "won": 6, "lost": 3, "open": 1, "mature": True,
    }  # fmt: skip
    assert rows[2]["win_rate"] is None and rows[2]["ci_low"] is None
    assert {"stage_by_quarter", "quarter_end", "cycle", "by_size", "notes"} <= set(data)


def test_a_file_without_dates_gives_an_empty_trend_with_a_note():
    opps = _opps(_deals("won", 3, amount=100) + _deals("lost", 2, amount=50))
    t = trend(opps)
    assert t.empty and t.as_of is None and t.quarter_end is None
    assert t.by_created_quarter.empty and t.stage_by_quarter.empty and t.cycle.empty
    assert "No created or close dates" in t.notes[0]
    data = json.loads(json.dumps(t.to_dict()))
    assert data["by_created_quarter"] == [] and data["quarter_end"] is None
    # deal size needs no date: it is still there
    assert sum(b["deals"] for b in data["by_size"]) == 5


# --- stage conversion per quarter -----------------------------------------------------------

Q, P = "Qualify", "Proposal"


def test_stage_conversion_per_quarter_counts_each_deals_last_visit_in_its_entry_quarter():
    opps = [
        {"opportunity_id": "W", "outcome": "won", "created_date": "2024-01-05"},
        {"opportunity_id": "L1", "outcome": "lost", "created_date": "2024-01-10"},
        {"opportunity_id": "L2", "outcome": "lost", "created_date": "2024-04-05"},
        {"opportunity_id": "O", "outcome": "open", "created_date": "2024-04-06"},
        {"opportunity_id": "B", "outcome": "lost", "created_date": "2024-01-03"},
    ]
    events = [
        ("W", Q, "2024-01-05"), ("W", P, "2024-02-01"), ("W", "Closed Won", "2024-02-20"),
        ("L1", Q, "2024-01-10"), ("L1", P, "2024-04-02"), ("L1", "Closed Lost", "2024-04-20"),
        ("L2", Q, "2024-04-05"), ("L2", "Closed Lost", "2024-04-25"),
        ("O", Q, "2024-04-06"),
        # B goes back from Proposal to Qualify (last Qualify visit in February) and dies there
        ("B", Q, "2024-01-03"), ("B", P, "2024-01-20"), ("B", Q, "2024-02-01"),
        ("B", "Closed Lost", "2024-02-15"),
    ]  # fmt: skip
    crm = make_crm(opps, events, stages=[Q, P])
    visits, _ = build_visits(crm, [Q, P], pd.Timestamp("2024-06-30"))
    t = trend(crm.opportunities, visits, as_of="2024-06-30")
    s = t.stage_by_quarter.set_index(["stage", "period"])
    cols = ["entered", "advanced", "lost", "open"]
    # Qualify in Q1: W and L1 moved on, B died there
    assert s.loc[(Q, "2024Q1"), cols].tolist() == [3, 2, 1, 0]
    assert s.loc[(Q, "2024Q1"), "conversion"] == pytest.approx(2 / 3)
    # Qualify in Q2: L2 died there, O is still in it (half open: not mature)
    assert s.loc[(Q, "2024Q2"), cols].tolist() == [2, 0, 1, 1]
    assert not s.loc[(Q, "2024Q2"), "mature"]
    # Proposal in Q1: W moved on; B went back (neither advanced nor lost here)
    assert s.loc[(P, "2024Q1"), cols].tolist() == [2, 1, 0, 0]
    assert s.loc[(P, "2024Q2"), cols].tolist() == [1, 0, 1, 0]
    assert s.loc[(P, "2024Q2"), "conversion"] == 0.0
    assert t.stage_by_quarter["stage"].tolist() == [Q, Q, P, P]  # official order, then quarter
    low, high = _wilson(2, 3)
    assert s.loc[(Q, "2024Q1"), "ci_low"] == pytest.approx(low)
    assert s.loc[(Q, "2024Q1"), "ci_high"] == pytest.approx(high)


def test_no_stage_history_gives_no_stage_conversion_per_quarter():
    t = trend(_quarters(), pd.DataFrame(), as_of="2024-09-30")
    assert t.stage_by_quarter.empty and not t.by_created_quarter.empty


# --- quarter end ----------------------------------------------------------------------------


def test_won_deals_closed_in_the_last_days_of_the_quarter_are_compared_with_the_calendar():
    # the data sees closes from 1 Jan to 31 Mar 2024: all 91 days of the quarter
    rows = [
        {"outcome": "lost", "created_date": "2023-12-01", "close_date": "2024-01-01"},
        {"outcome": "lost", "created_date": "2023-12-01", "close_date": "2024-03-31"},
        {"outcome": "won", "created_date": "2023-12-01", "close_date": "2024-02-10"},
    ] + [
        {"outcome": "won", "created_date": "2023-12-01", "close_date": d}
        for d in ("2024-03-18", "2024-03-25", "2024-03-28", "2024-03-31")
    ]
    qe = trend(_opps(rows)).quarter_end
    assert QUARTER_END_DAYS == 14  # 18 to 31 March
    assert (qe.won, qe.won_in_window) == (5, 4)
    assert qe.share == pytest.approx(0.8)
    assert qe.expected_share == pytest.approx(14 / 91)
    assert (qe.ci_low, qe.ci_high) == pytest.approx(_wilson(4, 5))
    assert qe.p_value == pytest.approx(stats.binomtest(4, 5, 14 / 91).pvalue)
    assert qe.verdict == "bunched" and "bunch" in qe.text
    # closed in the window: 4 won, 1 lost; at other times: 1 won, 1 lost
    assert (qe.closed_in_window, qe.closed_rest) == (5, 2)
    assert qe.win_rate_in_window == pytest.approx(0.8) and qe.win_rate_rest == 0.5
    assert qe.win_rate_p_value == pytest.approx(stats.fisher_exact([[4, 1], [1, 1]])[1])


def test_the_quarter_end_calendar_counts_only_the_days_the_data_observes():
    # closes seen from 1 March to 30 April: March is 31 days with its 14-day window; April's
    # window (end of June) is not observed at all
    rows = [
        {"outcome": "lost", "created_date": "2024-01-01", "close_date": "2024-03-01"},
        {"outcome": "lost", "created_date": "2024-01-01", "close_date": "2024-04-30"},
        {"outcome": "won", "created_date": "2024-01-01", "close_date": "2024-03-25"},
        {"outcome": "won", "created_date": "2024-01-01", "close_date": "2024-04-10"},
    ]
    qe = trend(_opps(rows)).quarter_end
    assert qe.expected_share == pytest.approx((14 / 31 + 0) / 2)
    assert qe.won_in_window == 1 and qe.verdict == "no evidence"


def test_a_small_if_significant_quarter_end_excess_is_not_called_bunching():
    days = pd.date_range("2024-01-01", "2024-03-31").strftime("%Y-%m-%d")
    rows = [{"outcome": "won", "close_date": d} for d in days for _ in range(100)]
    rows += [{"outcome": "won", "close_date": "2024-03-31"} for _ in range(150)]
    qe = trend(_opps(rows)).quarter_end
    # 1,550 of 9,250 in the window (16.8%) against 15.4%: clear, but only 1.09 times the calendar
    assert qe.won_in_window == 1550 and qe.ci_low > qe.expected_share
    assert qe.ratio == pytest.approx((1550 / 9250) / (14 / 91))
    assert qe.verdict == "no evidence" and "about as often" in qe.text


# --- cycle length ---------------------------------------------------------------------------


def test_cycle_of_won_and_lost_deals_and_the_kaplan_meier_time_to_close_of_all_deals():
    rows = [
        {"outcome": "won", "created_date": "2023-12-01", "close_date": "2023-12-11"},  # 10 days
        {"outcome": "lost", "created_date": "2023-11-01", "close_date": "2023-11-21"},  # 20
        {"outcome": "won", "created_date": "2023-10-01", "close_date": "2023-10-31"},  # 30
        {"outcome": "lost", "created_date": "2023-09-01", "close_date": "2023-10-11"},  # 40
        {"outcome": "open", "created_date": "2024-01-01"},  # 15 days open at 16 January
    ]
    t = trend(_opps(rows), as_of="2024-01-16")
    c = t.cycle.set_index("group")
    assert c.loc["won", ["median_days", "p75_days"]].tolist() == [20.0, 25.0]
    assert c.loc["lost", ["median_days", "p75_days"]].tolist() == [30.0, 35.0]
    km = c.loc["all deals"]
    assert km["method"] == KAPLAN_MEIER
    assert (km["deals"], km["closed"], km["censored"]) == (5, 4, 1)
    # S(10) = 4/5; the open deal leaves the risk set at 15; S(20) = 4/5 * 2/3 = 0.53;
    # S(30) = 0.53 * 1/2 = 0.27 -> half have closed by day 30; S(40) = 0 -> 75% by day 40
    assert km["median_days"] == 30.0 and km["p75_days"] == 40.0
    assert any("half of all deals close within 30 days" in n for n in t.notes)


# --- deal size ------------------------------------------------------------------------------


def test_win_rate_by_deal_size_in_quantile_bands_with_unknown_amounts_apart():
    outcomes = ["won", "lost", "won", "won", "lost", "lost", "won", "lost", "won", "won"]
    rows = [
        {"outcome": o, "amount": 1000 * (i + 1), "created_date": "2024-01-01"}
        for i, o in enumerate(outcomes)
    ] + [{"outcome": "won", "amount": None, "created_date": "2024-01-01"}]
    b = trend(_opps(rows)).by_size
    # quintile edges of 1k..10k: 1k, 2.8k, 4.6k, 6.4k, 8.2k, 10k (two deals a band); a band is
    # named by the smallest and largest deal in it, as the driver bands are
    assert b["band"].tolist() == [
        "1.0k-2.0k", "3.0k-4.0k", "5.0k-6.0k", "7.0k-8.0k", "9.0k-10.0k", UNKNOWN_AMOUNT,
    ]  # fmt: skip
    assert b["deals"].tolist() == [2, 2, 2, 2, 2, 1]
    assert b["won"].tolist() == [1, 2, 0, 1, 2, 1]
    assert b["win_rate"].tolist() == [0.5, 1.0, 0.0, 0.5, 1.0, 1.0]
    assert b["low"].tolist()[:5] == [1000, 3000, 5000, 7000, 9000]
    assert (b.loc[0, "ci_low"], b.loc[0, "ci_high"]) == pytest.approx(_wilson(1, 2))


def test_deal_size_is_skipped_when_lost_deals_all_book_zero():
    rows = _deals("won", 3, amount=500) + _deals("lost", 3, amount=0)
    t = trend(_opps(rows))
    assert t.by_size.empty
    assert any("booked values, not deal sizes" in n for n in t.notes)


def test_no_amounts_give_no_deal_size_bands_and_a_note():
    t = trend(_opps(_deals("won", 2, created_date="2024-01-01")))
    assert t.by_size.empty and any("needs amounts" in n for n in t.notes)


# --- existing accounts vs new business, within created quarters ------------------------------


def _kind_deals(quarter_day: str, kind: str, won: int, lost: int, open_: int = 0) -> list[dict]:
    deal_type = "Expansion" if kind == "existing" else "New"
    base = {"created_date": quarter_day, "deal_type": deal_type}
    return (
        _deals("won", won, close_date="2024-12-01", **base)
        + _deals("lost", lost, close_date="2024-12-01", **base)
        + _deals("open", open_, **base)
    )


def test_existing_vs_new_is_compared_within_mature_created_quarters_by_mantel_haenszel():
    opps = _opps(
        _kind_deals("2024-01-15", "existing", 3, 1) + _kind_deals("2024-01-15", "new", 2, 4)
        + _kind_deals("2024-04-15", "existing", 5, 5) + _kind_deals("2024-04-15", "new", 1, 9)
        # 2024Q3: 3 of 5 deals still open: not mature
        + _kind_deals("2024-07-15", "existing", 1, 0, 3) + _kind_deals("2024-07-15", "new", 0, 1)
        # 2024Q4: only new deals
        + _kind_deals("2024-10-15", "new", 2, 1)
    )  # fmt: skip
    acc = analyse_accounts(opps, pd.Series(None, index=opps.index, dtype=object))
    c = acc.comparison
    assert [s["period"] for s in c["strata"]] == ["2024Q1", "2024Q2"]
    assert c["excluded"] == [
        {"period": "2024Q3", "reason": "not mature"},
        {"period": "2024Q4", "reason": "only new deals closed"},
    ]
    # sum(a d / n) / sum(b c / n) over the two quarters
    mh = (3 * 4 / 10 + 5 * 9 / 20) / (1 * 2 / 10 + 5 * 1 / 20)
    assert c["mh_odds_ratio"] == pytest.approx(mh)  # 7.67
    assert c["crude_odds_ratio"] == pytest.approx((8 / 6) / (3 / 13))
    # raw, all closed deals: existing 9 won 6 lost, new 5 won 15 lost
    assert c["raw_odds_ratio"] == pytest.approx((9 / 6) / (5 / 15))
    assert c["existing_win_rate"] == pytest.approx(9 / 15)
    # Mantel-Haenszel weighted rates: weights 4*6/10 and 10*10/20
    w = np.array([2.4, 5.0])
    assert c["adjusted_existing_win_rate"] == pytest.approx(w @ [3 / 4, 5 / 10] / w.sum())
    assert c["adjusted_new_win_rate"] == pytest.approx(w @ [2 / 6, 1 / 10] / w.sum())
    assert c["ci"][0] < mh < c["ci"][1] and 0 < c["p_value"] < 0.05
    assert c["verdict"] == "holds within quarters" and c["cohort_artefact"] is False
    json.dumps(c)


def test_a_raw_gap_that_vanishes_within_quarters_is_flagged_as_a_cohort_artefact():
    # new business was mostly created in the good quarter, existing deals in the bad one;
    # within each quarter both kinds win equally often
    opps = _opps(
        _kind_deals("2024-01-15", "new", 80, 20) + _kind_deals("2024-01-15", "existing", 8, 2)
        + _kind_deals("2024-04-15", "new", 8, 12) + _kind_deals("2024-04-15", "existing", 40, 60)
    )  # fmt: skip
    acc = analyse_accounts(opps, pd.Series(None, index=opps.index, dtype=object))
    c = acc.comparison
    kinds = acc.by_kind.set_index("kind")
    assert kinds.loc["existing", "win_rate"] == pytest.approx(48 / 110)  # by_kind is unchanged
    assert c["raw_ci"][1] < 1  # the raw gap is clear ...
    assert c["mh_odds_ratio"] == pytest.approx(1.0)  # ... and gone within quarters
    assert c["cohort_artefact"] is True
    assert c["verdict"] == "explained by when the deals were created"
    assert any("explained by when the deals were created" in n for n in acc.notes)


def test_without_a_quarter_holding_both_kinds_the_comparison_says_so():
    opps = _opps(
        _kind_deals("2024-01-15", "new", 3, 1) + _kind_deals("2024-04-15", "existing", 2, 2)
    )
    c = compare_within_quarters(
        opps["created_date"], opps["outcome"], opps["deal_type"] == "Expansion"
    )
    assert c["strata"] == [] and c["cohort_artefact"] is None and c["mh_odds_ratio"] is None
    assert "could not be compared within created quarters" in c["notes"][0]


@pytest.mark.skipif(not MAVEN.is_file(), reason="public datasets not present")
def test_on_maven_the_existing_account_gap_is_explained_by_when_deals_were_created():
    import sales_rca

    opps = sales_rca.load_crm(MAVEN).opportunities
    acc = analyse_accounts(opps, pd.Series(None, index=opps.index, dtype=object))
    kinds = acc.by_kind.set_index("kind")
    assert kinds.loc["existing", "win_rate"] == pytest.approx(0.614, abs=0.001)
    assert kinds.loc["new", "win_rate"] == pytest.approx(0.721, abs=0.001)
    c = acc.comparison
    assert c["raw_ci"][1] < 1
    assert c["ci"][0] < 1 < c["ci"][1]
    assert c["cohort_artefact"] is True


# --- velocity: unknown is not zero ----------------------------------------------------------


def _velocity_deals(won: int, lost: int, open_: int, **extra) -> pd.DataFrame:
    closed = {"created_date": "2024-01-01", "close_date": "2024-01-21", "amount": 100}
    return _opps(
        _deals("won", won, **closed, **extra)
        + _deals("lost", lost, **closed, **extra)
        + _deals("open", open_, created_date="2024-01-10", amount=100, **extra)
    )


def test_velocity_is_unknown_without_open_deals_and_says_why():
    v = velocity(_velocity_deals(20, 20, 0))
    assert math.isnan(v.per_day) and v.open_deals == 0
    assert any("No open deals" in n and "unknown, not 0" in n for n in v.notes)
    assert not any("velocity is 0" in n for n in v.notes)


def test_velocity_is_unknown_without_won_deals_and_says_why():
    v = velocity(_velocity_deals(0, 40, 5))
    assert math.isnan(v.per_day) and v.win_rate == 0.0
    assert any("None of the 40 closed deals was won" in n for n in v.notes)
    assert not any("amounts on won deals" in n for n in v.notes)


def test_velocity_on_few_closed_deals_carries_a_caution():
    v = velocity(_velocity_deals(6, 6, 3, segment="SMB"))
    # 3 open x 50% x 100 / 20 days: the figure stays, marked with caution
    assert v.per_day == pytest.approx(3 * 0.5 * 100 / 20)
    assert v.closed_deals == 12 and v.caution and MIN_CLOSED_DEALS == 30
    assert any("only 12 closed deals" in n for n in v.notes)
    assert v.by_group.loc[0, ["group", "closed_deals", "caution"]].tolist() == ["SMB", 12, True]


def test_velocity_groups_below_the_minimum_are_listed_after_the_reliable_ones():
    opps = pd.concat(
        [_velocity_deals(20, 20, 2, segment="ENT"), _velocity_deals(2, 2, 50, segment="SMB")],
        ignore_index=True,
    )
    g = velocity(opps).by_group
    # SMB would be fastest (50 open), but rests on 4 closed deals
    assert g["group"].tolist() == ["ENT", "SMB"]
    assert g["caution"].tolist() == [False, True]


def test_no_open_deals_give_velocity_null_in_the_xray_json_with_a_note():
    from sales_rca.pipeline import xray

    rows = [
        {"opportunity_id": f"D{i}", "outcome": o, "amount": 100, "stage": s,
         "created_date": "2024-01-01", "close_date": "2024-01-21"}
        for i, (o, s) in enumerate([("won", "Closed Won"), ("lost", "Closed Lost")] * 3)
    ]  # fmt: skip
    x = xray(make_crm(rows))
    data = json.loads(json.dumps(x.to_dict()))
    assert data["velocity"]["per_day"] is None
    assert any("No open deals" in n for n in data["notes"])
