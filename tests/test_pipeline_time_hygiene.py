"""Time in stage with censoring, conversion intervals, unknown values, and stall hygiene.

Every figure is worked out by hand in the test from a few hand-made deals.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from pipeline_fixtures import N, Q, make_crm, story_crm

from sales_rca.pipeline import build_deals, build_visits, stage_table, survival_curves, xray
from sales_rca.pipeline.stalls import (
    DEAD_STAGE_MULTIPLE,
    STALL_COLUMNS,
    STALL_STATUS_COLUMNS,
    THRESHOLD_COLUMNS,
    analyse_stalls,
    hygiene,
    stall_thresholds,
    stalls,
    threshold_table,
)

AS_OF = pd.Timestamp("2024-03-01")
Z95 = 1.959963984540054


def _day(ts: pd.Timestamp) -> str:
    return ts.isoformat()


def one_stage_deal(
    oid: str,
    outcome: str,
    days: float,
    *,
    stage: str = Q,
    segment: str | None = None,
    amount: float | None = None,
    created_days_before: float | None = None,
    close: str | None = None,
) -> tuple[dict, tuple[str, str, str]]:
    """A deal with one visit to ``stage``: closed deals leave it ``days`` after entering it (at
    their close date); open deals entered it ``days`` before ``AS_OF``."""
    if outcome == "open":
        entered = AS_OF - pd.Timedelta(days=days)
        close_date = close
    else:
        entered = pd.Timestamp("2024-01-01")
        close_date = _day(entered + pd.Timedelta(days=days))
    created = (
        entered if created_days_before is None else AS_OF - pd.Timedelta(days=created_days_before)
    )
    opp = {
        "opportunity_id": oid,
        "outcome": outcome,
        "stage": stage if outcome == "open" else {"won": "Closed Won"}.get(outcome, "Closed Lost"),
        "amount": amount,
        "created_date": _day(created),
        "close_date": close_date,
        "segment": segment,
    }
    return opp, (oid, stage, _day(entered))


def build(deals: list[tuple[dict, tuple]], order: list[str], extra_opps: list[dict] = ()):
    crm = make_crm([d[0] for d in deals] + list(extra_opps), [d[1] for d in deals], stages=order)
    visits, _ = build_visits(crm, order, AS_OF)
    return crm, visits, build_deals(crm, visits, AS_OF)


# --- time in stage: Kaplan-Meier, open deals censored --------------------------------------


@pytest.fixture(scope="module")
def censored_stage() -> pd.Series:
    # 4 visits that ended after 2, 4, 6 and 8 days; 2 deals still there after 10 and 20 days
    deals = [one_stage_deal(f"L{d}", "lost", d) for d in (2, 4, 6, 8)]
    deals += [one_stage_deal(f"O{d}", "open", d) for d in (10, 20)]
    _, visits, table_deals = build(deals, [Q])
    table = stage_table(visits, table_deals, [Q], has_history=True, as_of=AS_OF)
    return table.set_index("stage").loc[Q]


def test_open_visits_are_censored_in_the_median(censored_stage):
    # product-limit: at risk 6, 5, 4, 3 at days 2, 4, 6, 8, one exit each
    s2 = 5 / 6
    s4 = s2 * 4 / 5
    s6 = s4 * 3 / 4  # = 1/2: the median is the first day the curve reaches 1/2
    assert s6 == pytest.approx(0.5)
    assert censored_stage["median_days"] == 6.0
    # completed visits alone would say 5 days (between 4 and 6): the stage looked faster
    assert np.median([2, 4, 6, 8]) == 5.0
    assert censored_stage["p25_days"] == 4.0  # first S(t) <= 3/4 is S(4) = 2/3
    assert censored_stage["p10_days"] == 2.0  # S(2) = 5/6 <= 0.9
    assert censored_stage["completed_visits"] == 4
    assert censored_stage["censored_visits"] == 2


def test_a_quantile_the_curve_never_reaches_is_unknown_not_the_last_time(censored_stage):
    # S(8) = 1/2 * 2/3 = 1/3 and then only censored visits: S never falls to 1/4 or 1/10
    assert pd.isna(censored_stage["p75_days"])
    assert pd.isna(censored_stage["p90_days"])


def test_a_stage_where_nobody_has_left_has_no_time_in_stage_figures():
    deals = [one_stage_deal("O1", "open", 3), one_stage_deal("O2", "open", 9)]
    _, visits, table_deals = build(deals, [Q])
    row = stage_table(visits, table_deals, [Q], has_history=True, as_of=AS_OF).iloc[0]
    assert all(math.isnan(row[c]) for c in ("p10_days", "median_days", "p90_days"))
    assert (row["completed_visits"], row["censored_visits"]) == (0, 2)


def test_stage_table_median_is_where_the_survival_curve_crosses_one_half():
    x = xray(story_crm())
    table = stage_table(x.visits, x.deals, x.stages, has_history=True, as_of=x.as_of)
    curves = survival_curves(x.visits, x.stages, x.as_of)
    for stage, median in table.set_index("stage")["median_days"].items():
        curve = curves[curves["stage"] == stage]
        crossed = curve.loc[curve["still_in_stage"] <= 0.5 + 1e-9, "days"]
        assert crossed.min() == median  # whole-day durations in the story: same grid


# --- conversion interval --------------------------------------------------------------------


def _wilson(k: int, n: int) -> tuple[float, float]:
    p = k / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n**2)) / (1 + Z95**2 / n)
    return centre - half, centre + half


def test_conversion_comes_with_a_wilson_interval():
    t = xray(story_crm()).stage_table.set_index("stage")
    # Qualify: 6 moved on, 1 lost there
    low, high = _wilson(6, 7)
    assert t.loc[Q, "conversion"] == pytest.approx(6 / 7)
    assert t.loc[Q, "conversion_ci_low"] == pytest.approx(low)
    assert t.loc[Q, "conversion_ci_high"] == pytest.approx(high)
    # Needs Analysis: 3 moved on, 2 lost there
    assert (t.loc[N, "conversion_ci_low"], t.loc[N, "conversion_ci_high"]) == pytest.approx(
        _wilson(3, 5)
    )


def test_conversion_interval_is_unknown_when_conversion_is():
    crm = make_crm(
        [
            {"opportunity_id": "1", "outcome": "lost", "stage": "Closed Lost", "loss_stage": Q},
            {"opportunity_id": "2", "outcome": "open", "stage": N},
        ],
        stages=[Q, N],
    )
    t = xray(crm).stage_table
    assert t["conversion"].isna().all()
    assert t["conversion_ci_low"].isna().all() and t["conversion_ci_high"].isna().all()


# --- values: unknown is not zero ------------------------------------------------------------


def test_value_columns_are_unknown_when_the_export_has_no_amounts():
    deals = [one_stage_deal("L1", "lost", 3), one_stage_deal("O1", "open", 2, stage=N)]
    _, visits, table_deals = build(deals, [Q, N])
    t = stage_table(visits, table_deals, [Q, N], has_history=True, as_of=AS_OF)
    assert t["value_lost"].isna().all() and t["value_open"].isna().all()


def test_open_deals_without_amounts_are_not_zero_at_risk():
    # lost deals carry amounts, open deals none (as in the Maven export)
    deals = [
        one_stage_deal("L1", "lost", 3, amount=100.0),
        one_stage_deal("L2", "lost", 5, amount=50.0),
        one_stage_deal("O1", "open", 2, stage=N),
    ]
    _, visits, table_deals = build(deals, [Q, N])
    t = stage_table(visits, table_deals, [Q, N], has_history=True, as_of=AS_OF).set_index("stage")
    assert t.loc[Q, "value_lost"] == 150.0
    assert t.loc[N, "value_lost"] == 0.0  # no deal lost there, and amounts exist
    assert math.isnan(t.loc[N, "value_open"])  # its open deal has no amount
    assert t.loc[Q, "value_open"] == 0.0  # no open deal there


# --- stall thresholds per stage and segment -------------------------------------------------


@pytest.fixture(scope="module")
def segmented():
    """Won deals in Qualify: segment A after 2, 4, 6 days; B after 10, 20. Nothing won in Needs
    Analysis. Open deals (days in stage, amount): OA 7 (100), OA2 4 (400), OB 12 (200, past due),
    OC 11 (300, segment with no won deal), OD 8 (500, created 100 days ago), ON 100 in Needs
    Analysis (600), and OX (700) with no stage history and a close date in the past."""
    won = [
        one_stage_deal(f"W{s}{d}", "won", d, segment=s)
        for s, days in (("A", (2, 4, 6)), ("B", (10, 20)))
        for d in days
    ]
    open_ = [
        one_stage_deal("OA", "open", 7, segment="A", amount=100.0),
        one_stage_deal("OA2", "open", 4, segment="A", amount=400.0),
        one_stage_deal("OB", "open", 12, segment="B", amount=200.0, close="2024-02-15"),
        one_stage_deal("OC", "open", 11, segment="C", amount=300.0),
        one_stage_deal("OD", "open", 8, segment="A", amount=500.0, created_days_before=100),
        one_stage_deal("ON", "open", 100, stage=N, segment="A", amount=600.0),
    ]
    no_history = {
        "opportunity_id": "OX",
        "outcome": "open",
        "stage": Q,
        "amount": 700.0,
        "created_date": "2024-02-01",
        "close_date": "2024-02-20",
        "segment": "A",
    }
    crm, visits, deals = build(won + open_, [Q, N], [no_history])
    analysis = analyse_stalls(visits, deals, crm.opportunities, [Q, N], AS_OF, min_won=3)
    return crm, visits, analysis


def test_thresholds_are_per_segment_with_enough_won_deals_else_the_stage(segmented):
    _, _, a = segmented
    t = a.thresholds
    assert tuple(t.columns) == THRESHOLD_COLUMNS
    q = t[t["stage"] == Q].set_index(t.loc[t["stage"] == Q, "segment"].fillna("(stage)"))
    # p75 with linear interpolation: A [2, 4, 6] -> 5; whole stage [2, 4, 6, 10, 20] -> 10
    assert q.loc["A", ["threshold_days", "won_deals", "source"]].tolist() == [5.0, 3, "segment"]
    assert q.loc["(stage)", ["threshold_days", "won_deals", "source"]].tolist() == [
        10.0,
        5,
        "stage",
    ]
    # B has 2 won deals (< 3): the stage's threshold; C has none: the stage's threshold too
    assert q.loc["B", ["threshold_days", "won_deals", "source"]].tolist() == [10.0, 2, "stage"]
    assert q.loc["C", ["threshold_days", "won_deals", "source"]].tolist() == [10.0, 0, "stage"]


def test_a_stage_with_too_few_won_deals_has_no_threshold_and_says_so(segmented):
    _, _, a = segmented
    n = a.thresholds[a.thresholds["stage"] == N]
    assert n["threshold_days"].isna().all() and n["source"].isna().all()
    assert "ON" not in set(a.stalls["opportunity_id"])  # 100 days, but nothing to compare with
    assert any("Fewer than 3 won deals" in note and N in note for note in a.notes)


def test_stalled_deals_are_judged_against_their_own_segments_threshold(segmented):
    _, _, a = segmented
    s = a.stalls.set_index("opportunity_id")
    # OA 7 > 5 (A); OB 12 > 10 (stage, B too small); OC 11 > 10 (stage); OD 8 > 5; OA2 4 < 5
    assert sorted(s.index) == ["OA", "OB", "OC", "OD"]
    assert s.loc["OA", ["threshold_days", "threshold_source", "segment"]].tolist() == [
        5.0,
        "segment",
        "A",
    ]
    assert s.loc["OB", ["threshold_days", "threshold_source"]].tolist() == [10.0, "stage"]
    assert s.loc["OA", "days_over"] == 2.0
    assert list(a.stalls.columns[: len(STALL_COLUMNS)]) == list(STALL_COLUMNS)
    assert set(STALL_STATUS_COLUMNS) <= set(a.stalls.columns)


def test_an_old_deal_is_dead_not_slow(segmented):
    _, _, a = segmented
    s = a.stalls.set_index("opportunity_id")
    # won cycles 2, 4, 6, 10, 20 days: p90 = 10 + 0.6 * 10 = 16; OD has been open 100 days
    assert a.dead_after_days == pytest.approx(16.0)
    assert s.loc["OD", "status"] == "dead" and s.loc["OD", "days_in_pipeline"] == 100.0
    assert s.loc[["OA", "OB", "OC"], "status"].tolist() == ["slow"] * 3


def test_a_deal_691_days_in_a_35_day_stage_is_dead_not_slow():
    deals = pd.DataFrame(
        {
            "opportunity_id": ["OLD", "LATE", "FRESH"],
            "outcome": "open",
            "amount": [1000.0, 500.0, 10.0],
            "current_stage": Q,
            "entered_current_at": pd.to_datetime(["2022-03-11", "2024-01-21", "2024-02-20"]),
            "days_in_current": [691.0, 40.0, 10.0],
        }
    )
    s = stalls(deals, pd.Series({Q: 35.0})).set_index("opportunity_id")
    assert 691 > DEAD_STAGE_MULTIPLE * 35 > 40
    assert s.loc["OLD", "status"] == "dead"
    assert s.loc["LATE", "status"] == "slow"
    assert "FRESH" not in s.index
    assert s["past_due"].isna().all()  # no close dates given: unknown, not False


def test_past_due_deals_are_flagged_and_reported_without_history(segmented):
    _, _, a = segmented
    s = a.stalls.set_index("opportunity_id")
    assert bool(s.loc["OB", "past_due"]) is True
    assert pd.isna(s.loc["OA", "past_due"])  # no close date
    # OX has no stage history at all, and its close date (20 Feb) has passed
    assert a.past_due["opportunity_id"].tolist() == ["OB", "OX"]
    assert a.past_due["days_past_due"].tolist() == [15.0, 10.0]
    assert (a.hygiene.past_due_deals, a.hygiene.past_due_value) == (2, 900.0)


def test_value_at_risk_is_slow_deals_only(segmented):
    _, _, a = segmented
    h = a.hygiene
    # open: OA 100, OA2 400, OB 200, OC 300, OD 500, ON 600, OX 700 = 2800
    assert (h.open_deals, h.open_value) == (7, 2800.0)
    assert (h.slow_deals, h.slow_value) == (3, 600.0)  # OA, OB, OC
    assert (h.dead_deals, h.dead_value) == (1, 500.0)  # OD
    assert h.at_risk_value == 600.0
    assert h.at_risk_share == pytest.approx(600 / 2800)
    assert h.unjudged_deals == 2  # ON (no threshold in Needs Analysis), OX (no history)


def test_the_rule_is_one_plain_sentence(segmented):
    _, _, a = segmented
    rule = a.hygiene.rule
    assert "75% of won deals did in the same segment" in rule
    assert "at least 3 won deals" in rule and "(16 days)" in rule
    assert "3 times the threshold" in rule and "not value at risk" in rule


def test_hygiene_without_history_reports_past_due_and_leaves_risk_unknown():
    crm = make_crm(
        [
            {
                "opportunity_id": "1",
                "outcome": "open",
                "stage": Q,
                "amount": 50.0,
                "close_date": "2024-01-10",
            },
            {"opportunity_id": "2", "outcome": "open", "stage": N, "amount": 150.0},
            {"opportunity_id": "3", "outcome": "won", "stage": "Closed Won", "amount": 80.0},
        ],
        stages=[Q, N],
    )
    visits, _ = build_visits(crm, [Q, N], AS_OF)
    deals = build_deals(crm, visits, AS_OF)
    a = analyse_stalls(visits, deals, crm.opportunities, [Q, N], AS_OF)
    h = a.hygiene
    assert (h.past_due_deals, h.past_due_value) == (1, 50.0)
    assert h.slow_deals is None and h.dead_deals is None
    assert math.isnan(h.at_risk_value) and math.isnan(h.at_risk_share)
    assert a.stalls.empty and any("No stage history" in n for n in a.notes)
    data = json.loads(json.dumps(h.to_dict(), allow_nan=False))
    assert data["slow_deals"] is None and data["at_risk_share"] is None
    assert data["open_value"] == 200.0


def test_hygiene_values_are_unknown_without_amounts():
    crm = make_crm(
        [{"opportunity_id": "1", "outcome": "open", "stage": Q, "close_date": "2024-01-10"}]
    )
    h = hygiene(crm.opportunities, AS_OF)
    assert h.past_due_deals == 1
    assert all(math.isnan(v) for v in (h.open_value, h.past_due_value, h.at_risk_share))


def test_stage_level_thresholds_are_the_stage_rows_of_the_same_table(segmented):
    _, visits, a = segmented
    series = stall_thresholds(visits, [Q, N], 0.75, min_won=3)
    stage_rows = a.thresholds[a.thresholds["segment"].isna()]
    assert series.tolist()[0] == stage_rows["threshold_days"].tolist()[0] == 10.0
    assert math.isnan(series[N])
    # without a segment column: one row per stage
    plain = threshold_table(visits, [Q, N], min_won=3)
    assert plain["segment"].isna().all() and plain["stage"].tolist() == [Q, N]


def test_grouped_durations_do_not_depend_on_how_they_are_counted(monkeypatch):
    import sales_rca.pipeline.stages as stages_module

    x = xray(story_crm())
    counted = stages_module.stage_durations(x.visits, x.as_of)
    monkeypatch.setattr(stages_module, "_BINCOUNT_MAX", 0)  # force the sorting path
    sorted_ = stages_module.stage_durations(x.visits, x.as_of)
    pd.testing.assert_frame_equal(counted, sorted_)
    # Proposal: W1 2 and L2 3 days ended; O1 censored after 15 days
    p = counted[counted["stage"] == "Proposal"]
    assert sorted(zip(p["days"], p["event"], p["n"], strict=True)) == [
        (2.0, True, 1),
        (3.0, True, 1),
        (15.0, False, 1),
    ]


def test_when_no_stage_has_enough_won_deals_slow_and_dead_are_unknown_not_zero():
    deals = [one_stage_deal("W1", "won", 3, amount=10.0)]
    deals += [one_stage_deal("O1", "open", 30, amount=90.0)]
    crm, visits, table_deals = build(deals, [Q])
    a = analyse_stalls(visits, table_deals, crm.opportunities, [Q], AS_OF)  # min_won 20
    h = a.hygiene
    assert a.stalls.empty and h.unjudged_deals == 1
    assert h.slow_deals is None and h.dead_deals is None
    assert math.isnan(h.at_risk_value) and h.open_value == 90.0
