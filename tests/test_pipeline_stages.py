"""Stage order and the per-stage table of the x-ray, on eight deals counted by hand.

See ``pipeline_fixtures.story_crm`` for the deals; the x-ray is taken as of 25 January.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from pipeline_fixtures import NEG, OFFICIAL, N, P, Q, make_crm, story_crm

from sales_rca.errors import PipelineError
from sales_rca.pipeline import official_order, xray


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return xray(story_crm()).stage_table.set_index("stage")


def test_stage_table_lists_official_stages_in_order_without_closed_stages(table):
    assert table.index.tolist() == OFFICIAL


def test_every_deal_with_an_entry_counts_once_per_stage_even_after_a_backward_move(table):
    # L2 visits Needs Analysis twice (2 Jan and again 9 Jan): still one entry
    assert table["entered"].tolist() == [8, 6, 3, 2]


def test_advanced_means_a_later_official_stage_followed_the_last_visit_or_the_deal_was_won(table):
    # Qualify: all but L1 (lost in its first stage) and O3 (still there)
    # Needs Analysis: W1, W2 (won), O1 (now in Proposal); not L2, L3 (lost) nor O2 (still there)
    # Proposal: W1 only; L2 went back to Needs Analysis, O1 is still there
    assert table["advanced"].tolist() == [6, 3, 1, 2]


def test_lost_here_is_the_last_official_stage_before_the_loss(table):
    # L1 at Qualify; L2 (after moving back) and L3 at Needs Analysis
    assert table["lost_here"].tolist() == [1, 2, 0, 0]
    assert table["value_lost"].tolist() == [50.0, 370.0, 0.0, 0.0]


def test_open_here_counts_open_deals_in_their_current_stage(table):
    assert table["open_here"].tolist() == [1, 1, 1, 0]
    assert table["value_open"].tolist() == [600.0, 500.0, 400.0, 0.0]


def test_conversion_is_advanced_over_advanced_plus_lost_here(table):
    assert table.loc[Q, "conversion"] == pytest.approx(6 / 7)
    assert table.loc[N, "conversion"] == pytest.approx(3 / 5)
    assert table.loc[P, "conversion"] == 1.0
    assert table.loc[NEG, "conversion"] == 1.0


def test_days_in_stage_run_from_the_last_entry_to_the_next_entry_or_the_close(table):
    # Kaplan-Meier quantiles (definition changed from completed visits only, so that deals still
    # sitting in a stage count): the p-quantile is the first day with S(t) <= 1 - p.
    # Qualify: O2 0; L2, O1, L3 1 (O3 censored at 1); W1 2; W2 and L1 4 (L1 to its close).
    # S(0) = 7/8, S(1) = 7/8 * 4/7 = 1/2, S(2) = 1/2 * 2/3 = 1/3, S(4) = 0
    assert table.loc[Q, "completed_visits"] == 7
    assert table.loc[Q, "censored_visits"] == 1
    assert table.loc[Q, "p10_days"] == 0.0
    assert table.loc[Q, "median_days"] == 1.0
    assert table.loc[Q, "p75_days"] == 4.0
    assert table.loc[Q, "p90_days"] == 4.0
    # Needs Analysis: W1 5, O1 6, L3 9, W2 and L2 10 (second visit, to Closed Lost); O2 still
    # there after 19.625 days: S(9) = 1/2, S(10) = 1/6 and never below, so no p90
    assert table.loc[N, "median_days"] == 9.0
    assert table.loc[N, "p75_days"] == 10.0
    assert math.isnan(table.loc[N, "p90_days"])
    # Proposal: W1 2, L2 3; O1 still there (15 days, censored): S(2) = 2/3, S(3) = 1/3
    assert table.loc[P, "completed_visits"] == 2
    assert table.loc[P, "censored_visits"] == 1
    assert table.loc[P, "median_days"] == 3.0
    assert math.isnan(table.loc[P, "p90_days"])


def test_tied_timestamps_give_a_zero_day_visit_in_input_order():
    x = xray(story_crm())
    o2 = x.visits[x.visits["opportunity_id"] == "O2"]
    assert o2["stage"].tolist() == [Q, N]
    assert o2["days"].iloc[0] == 0.0
    assert bool(o2["advanced"].iloc[0])


def test_a_repeated_entry_into_the_current_stage_continues_the_visit():
    crm = make_crm(
        [{"opportunity_id": "A", "outcome": "lost", "close_date": "2024-01-10"}],
        [("A", Q, "2024-01-01"), ("A", Q, "2024-01-03"), ("A", N, "2024-01-04")],
        stages=[Q, N],
    )
    v = xray(crm).visits
    assert v["stage"].tolist() == [Q, N]
    assert v["days"].tolist() == [3.0, 6.0]


def test_stage_order_comes_from_the_argument_before_the_mapping():
    crm = story_crm(stages=[N, Q])
    assert official_order(crm, [Q, N, P]).stages == [Q, N, P]
    assert official_order(crm).stages == [N, Q]
    assert official_order(crm).source == "mapping"


def test_closed_stages_are_never_part_of_the_official_order():
    order = official_order(story_crm(stages=[Q, N, "Closed Won", "Closed Lost"]))
    assert order.stages == [Q, N]


def test_stage_order_is_inferred_from_the_order_most_deals_take():
    # without a mapping: W2 skips Proposal and L2 goes back, yet most deals go Q → N → P → Neg
    order = official_order(story_crm(stages=[]))
    assert order == type(order)(OFFICIAL, "history")


def test_without_history_stage_order_follows_numbered_stage_names():
    crm = make_crm(
        [
            {"opportunity_id": "1", "outcome": "open", "stage": "3 Proposal"},
            {"opportunity_id": "2", "outcome": "open", "stage": "1 Qualify"},
            {
                "opportunity_id": "3",
                "outcome": "lost",
                "stage": "Closed Lost",
                "loss_stage": "2 Demo",
            },
        ]
    )
    assert official_order(crm).stages == ["1 Qualify", "2 Demo", "3 Proposal"]


def test_a_stage_named_twice_in_the_order_is_refused():
    with pytest.raises(PipelineError, match="names a stage twice"):
        official_order(story_crm(), [Q, N, Q])


def test_without_history_only_counts_and_loss_stages_are_given_with_a_note():
    crm = make_crm(
        [
            {"opportunity_id": "1", "outcome": "won", "stage": "Closed Won", "amount": 10},
            {
                "opportunity_id": "2",
                "outcome": "lost",
                "stage": "Closed Lost",
                "loss_stage": Q,
                "amount": 5,
            },
            {
                "opportunity_id": "3",
                "outcome": "lost",
                "stage": "Closed Lost",
                "loss_stage": N,
                "amount": 7,
            },
            {
                "opportunity_id": "4",
                "outcome": "lost",
                "stage": "Closed Lost",
                "loss_stage": N,
                "amount": 1,
            },
            {"opportunity_id": "5", "outcome": "open", "stage": P, "amount": 3},
        ],
        stages=[Q, N, P],
    )
    x = xray(crm)
    t = x.stage_table.set_index("stage")
    assert (x.won, x.lost, x.open) == (1, 3, 1)
    assert x.win_rate == 0.25
    assert t["lost_here"].tolist() == [1, 2, 0]
    assert t["value_lost"].tolist() == [5.0, 8.0, 0.0]
    assert t["open_here"].tolist() == [0, 0, 1]
    assert t["entered"].isna().all() and t["advanced"].isna().all()
    assert t["conversion"].isna().all() and t["median_days"].isna().all()
    assert x.stalls.empty and x.survival.empty and x.paths.variants.empty
    assert any("No stage history" in n and "stalls" in n for n in x.notes)


def test_without_history_or_loss_stage_lost_here_is_unknown_and_said_so():
    crm = make_crm(
        [
            {"opportunity_id": "1", "outcome": "lost", "stage": "Closed Lost"},
            {"opportunity_id": "2", "outcome": "won", "stage": "Closed Won"},
        ]
    )
    x = xray(crm)
    assert x.stage_table.empty
    assert math.isclose(x.win_rate, 0.5)
    assert any("where they died is unknown" in n for n in x.notes)


def test_events_of_unknown_deals_are_ignored_with_a_note():
    crm = make_crm(
        [{"opportunity_id": "A", "outcome": "open", "stage": Q}],
        [("A", Q, "2024-01-01"), ("GHOST", Q, "2024-01-02")],
        stages=[Q],
    )
    x = xray(crm)
    assert x.stage_table["entered"].tolist() == [1]
    assert any("1 stage events were ignored" in n for n in x.notes)


def test_events_out_of_order_are_sorted_by_time():
    crm = make_crm(
        [{"opportunity_id": "A", "outcome": "lost", "close_date": "2024-01-09"}],
        [("A", N, "2024-01-05"), ("A", Q, "2024-01-01")],
        stages=[Q, N],
    )
    t = xray(crm).stage_table.set_index("stage")
    assert t["lost_here"].tolist() == [0, 1]
    assert t["median_days"].tolist() == [4.0, 4.0]
