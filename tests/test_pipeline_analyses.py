"""Stalls, survival, paths, drivers, velocity and account growth, each number counted by hand."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from pipeline_fixtures import NEG, N, P, Q, make_crm, story_crm
from suite_paths import REAL_DATA

from sales_rca.pipeline import analyse_accounts, analyse_drivers, existing_account_deals, xray

SALVIRT = REAL_DATA / "Salvirt_B2B_ML_dataset_HF.csv"


#: The story has two won deals: stall thresholds from any number of them, one for all segments.
SMALL = {"stall_min_won": 1, "stall_segment": None}


@pytest.fixture(scope="module")
def story():
    return xray(story_crm(), **SMALL)


# --- stalls and survival --------------------------------------------------------------------


def test_stall_threshold_is_the_p75_of_won_deals_days_in_the_stage(story):
    # won deals: Qualify 2 and 4 days, Needs Analysis 5 and 10, Proposal 2, Negotiation 10 and 10
    assert story.stall_thresholds.tolist() == [3.5, 8.75, 2.0, 10.0]


def test_open_deals_past_the_threshold_are_stalled_longest_over_first(story):
    s = story.stalls
    # O1: 15 days in Proposal (normal 2); O2: 19.625 days in Needs Analysis (normal 8.75);
    # O3 has been 1 day in Qualify (normal 3.5) and is not stalled
    assert s["opportunity_id"].tolist() == ["O1", "O2"]
    assert s["stage"].tolist() == [P, N]
    assert s["days_in_stage"].tolist() == [15.0, 19.625]
    assert s["days_over"].tolist() == [13.0, 10.875]
    # O1 sits more than 3x its stage's threshold: dead, not at risk; O2 is slow
    assert s["status"].tolist() == ["dead", "slow"]
    assert story.stalled_value == 500.0
    assert s["owner"].tolist() == ["Alice", "Bob"]


def test_stall_percentile_is_configurable():
    x = xray(story_crm(), stall_percentile=0.99, **SMALL)
    # Needs Analysis p99 of 5 and 10 is 9.95: O2 (19.6 days) is still stalled; O1 too
    assert x.stall_thresholds[N] == pytest.approx(9.95)
    assert sorted(x.stalls["opportunity_id"]) == ["O1", "O2"]


def test_survival_counts_tied_exits_and_censors_open_deals(story):
    q = story.survival[story.survival["stage"] == Q].set_index("days")
    # 8 deals in Qualify: O2 leaves at day 0; L2, O1, L3 leave at day 1 and O3 is censored
    # there; W1 leaves at 2; W2 and L1 at 4
    assert q.loc[0.0, "still_in_stage"] == pytest.approx(7 / 8)
    assert q.loc[1.0, "still_in_stage"] == pytest.approx(7 / 8 * 4 / 7)
    assert q.loc[2.0, "still_in_stage"] == pytest.approx(0.5 * 2 / 3)
    assert q.loc[4.0, "still_in_stage"] == 0.0
    assert q.loc[1.0, "at_risk"] == 7 and q.loc[2.0, "at_risk"] == 3
    assert (q["ci_low"] <= q["still_in_stage"]).all() and (
        q["still_in_stage"] <= q["ci_high"]
    ).all()


def test_a_stage_where_open_deals_never_left_keeps_its_curve_at_one():
    crm = make_crm(
        [{"opportunity_id": i, "outcome": "open", "stage": Q} for i in "AB"],
        [("A", Q, "2024-01-01"), ("B", Q, "2024-01-05")],
        stages=[Q],
    )
    curve = xray(crm).survival
    assert curve["still_in_stage"].eq(1.0).all()
    assert curve["days"].max() == 4.0


# --- paths ----------------------------------------------------------------------------------


def test_path_variants_count_deals_and_win_rates(story):
    v = story.paths.variants.set_index("path")
    assert v.loc[f"{Q} → {N}", ["deals", "won", "lost", "open"]].tolist() == [2, 0, 1, 1]
    assert v.loc[Q, "win_rate"] == 0.0
    assert v.loc[f"{Q} → {N} → {P} → {N}", "lost"] == 1
    assert math.isnan(v.loc[f"{Q} → {N} → {P}", "win_rate"])  # only an open deal
    assert v["deals"].sum() == 8 and len(v) == 6


def test_official_path_vs_paths_won_deals_take(story):
    p = story.paths
    assert p.official_path == f"{Q} → {N} → {P} → {NEG}"
    assert p.won_on_official_path == 0.5  # W1 follows it, W2 skips Proposal
    assert p.variants.loc[p.variants["official"], "won"].tolist() == [1]


def test_skips_and_backward_moves_are_counted(story):
    p = story.paths
    assert p.deals_with_skips == 1  # W2: Needs Analysis → Negotiation
    assert p.deals_with_backward_moves == 1  # L2: Proposal → Needs Analysis
    t = p.transitions.set_index(["source", "target", "outcome"])
    assert t.loc[(N, NEG, "won"), "kind"] == "skip"
    assert t.loc[(P, N, "lost"), "kind"] == "backward"
    assert t.loc[(NEG, "Won", "won"), "moves"] == 2
    assert t.loc[(N, "Lost", "lost"), "moves"] == 2


def test_stage_usage_shows_which_stages_won_deals_skip(story):
    u = story.paths.stage_usage.set_index("stage")
    assert u["won_entered"].tolist() == [2, 2, 1, 2]
    assert u["won_skipped"].tolist() == [0, 0, 1, 0]
    assert u["lost_entered"].tolist() == [3, 2, 1, 0]
    assert u["lost_skipped"].tolist() == [0, 0, 0, 0]


def test_stages_outside_the_official_order_stay_in_paths_with_a_note():
    crm = make_crm(
        [{"opportunity_id": "A", "outcome": "won", "close_date": "2024-01-09"}],
        [("A", Q, "2024-01-01"), ("A", "On Hold", "2024-01-02"), ("A", N, "2024-01-04")],
        stages=[Q, N],
    )
    x = xray(crm)
    assert x.paths.variants["path"].tolist() == [f"{Q} → On Hold → {N}"]
    assert x.stage_table["entered"].tolist() == [1, 1]
    assert any("On Hold" in n for n in x.notes)


# --- drivers --------------------------------------------------------------------------------


def _deals(groups: dict[str, tuple[int, int]], column: str = "extra_needs_def") -> pd.DataFrame:
    rows = []
    for group, (won, lost) in groups.items():
        rows += [{column: group, "outcome": "won"}] * won + [
            {column: group, "outcome": "lost"}
        ] * lost
    frame = pd.DataFrame(rows)
    frame["opportunity_id"] = [str(i) for i in range(len(frame))]
    return make_crm(frame.to_dict("records")).opportunities


def test_win_rate_per_group_has_a_wilson_interval():
    d = analyse_drivers(_deals({"Yes": (30, 10), "No": (10, 30)}))
    yes = d.groups.set_index("group").loc["Yes"]
    assert yes["win_rate"] == 0.75
    # Wilson 95%: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)
    z, n, p = 1.959963984540054, 40, 0.75
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert yes["ci_low"] == pytest.approx((centre - half) / (1 + z * z / n))
    assert yes["ci_high"] == pytest.approx((centre + half) / (1 + z * z / n))


def test_drivers_are_tested_with_chi_square_and_ranked_by_effect_size():
    opps = _deals({"Yes": (30, 10), "No": (10, 30)})
    opps["extra_colour"] = np.where(np.arange(80) % 2 == 0, "red", "blue")  # no effect at all
    d = analyse_drivers(opps)
    top = d.ranking.iloc[0]
    # 2×2 table [[30, 10], [10, 30]]: χ² = N(ad − bc)² / (row and column sums) = 20
    assert top["attribute"] == "extra_needs_def"
    assert top["chi2"] == pytest.approx(80 * (30 * 30 - 10 * 10) ** 2 / 40**4)
    assert top["cramers_v"] == pytest.approx(0.5)
    assert (top["best_group"], top["worst_group"]) == ("Yes", "No")
    assert bool(top["significant"])
    assert not d.ranking.set_index("attribute").loc["extra_colour", "significant"]


def test_small_groups_are_pooled_and_too_small_pools_are_left_out_of_the_test():
    opps = _deals({"Yes": (30, 10), "No": (10, 30), "Poor": (0, 5)})
    d = analyse_drivers(opps, min_group_size=20)
    assert d.groups.set_index("group").loc["Poor", "tested"] == False  # noqa: E712
    assert d.ranking.iloc[0]["groups"] == 2  # "Poor" (5 deals) is too small even pooled
    d = analyse_drivers(opps, min_group_size=5)
    assert d.ranking.iloc[0]["groups"] == 3


def test_an_attribute_with_one_value_is_not_a_driver():
    opps = _deals({"Yes": (30, 10)})
    assert analyse_drivers(opps).ranking.empty


def test_many_valued_numbers_are_cut_into_at_most_five_bands():
    opps = _deals({"a": (20, 20)})
    opps["extra_employees"] = np.arange(40, dtype=float)
    groups = analyse_drivers(opps).groups
    assert (groups["attribute"] == "extra_employees").sum() == 5


@pytest.mark.real_data
@pytest.mark.skipif(not SALVIRT.exists(), reason="public Salvirt data not present")
def test_on_salvirt_a_clear_needs_definition_goes_with_winning():
    raw = pd.read_csv(SALVIRT, sep=";")
    opps = raw.drop(columns="Status").rename(
        columns=lambda c: "extra_" + re.sub(r"[^0-9a-z]+", "_", c.lower()).strip("_")
    )
    opps["opportunity_id"] = [f"S{i}" for i in range(len(raw))]
    opps["outcome"] = raw["Status"].str.lower()
    x = xray(make_crm(opps.to_dict("records")))
    ranking = x.drivers.ranking.set_index("attribute")
    needs = ranking.loc["extra_needs_def"]
    assert bool(needs["significant"])
    # 219 of 420 deals with a clear needs definition won; 8 of the 28 without one (pooled: no
    # other answer has 20 deals of its own)
    assert needs["best_group"] == "Yes" and needs["best_win_rate"] == pytest.approx(219 / 420)
    assert needs["groups"] == 2
    # the strongest signals in this data: up-sale to a current client, no competitors
    assert list(ranking.index[:3]) == ["extra_up_sale", "extra_client", "extra_competitors"]
    assert not ranking.loc["extra_growth", "significant"]


# --- velocity -------------------------------------------------------------------------------


def test_velocity_is_open_deals_times_win_rate_times_won_amount_over_cycle_days(story):
    v = story.velocity
    # 3 open; 2 won of 5 closed; won amounts 100 and 200; cycles 19 and 24 days
    assert (v.open_deals, v.win_rate, v.avg_won_amount, v.avg_cycle_days) == (3, 0.4, 150.0, 21.5)
    assert v.per_day == pytest.approx(3 * 0.4 * 150 / 21.5)


def test_velocity_by_segment(story):
    by = story.velocity.by_group.set_index("group")
    assert by.loc["SMB", "per_day"] == pytest.approx(2 * 0.5 * 100 / 19)
    assert by.loc["ENT", "per_day"] == pytest.approx(1 * (1 / 3) * 200 / 24)
    assert by.index.tolist() == ["SMB", "ENT"]  # fastest first


# --- accounts -------------------------------------------------------------------------------


def _account_deals():
    rows = [
        # account A: a won deal in Q1, then an expansion won and a renewal lost at Proposal
        ("a1", "A", "won", 100, "2024-01-01", "2024-02-01", None, "New"),
        ("a2", "A", "won", 50, "2024-03-01", "2024-05-10", None, "Expansion"),
        ("a3", "A", "lost", 80, "2024-04-01", "2024-06-01", P, "Renewal"),
        # account B: created before any win on B, so new business; lost in Qualify
        ("b1", "B", "lost", 30, "2024-01-05", "2024-01-20", Q, "New"),
        ("b2", "B", "won", 70, "2024-01-10", "2024-04-01", None, "New"),
        # account C: an up-sell still open
        ("c1", "C", "open", 20, "2024-05-01", None, None, "Upsell"),
    ]
    return make_crm(
        [
            {"opportunity_id": i, "account": a, "outcome": o, "amount": m, "created_date": c,
             "close_date": d, "loss_stage": ls, "deal_type": t}
            for i, a, o, m, c, d, ls, t in rows
        ]
    ).opportunities  # fmt: skip


def test_existing_account_deals_come_from_deal_type_or_an_earlier_win():
    opps = _account_deals()
    assert existing_account_deals(opps).tolist() == [False, True, True, False, False, True]


def test_account_growth_compares_existing_accounts_with_new_business():
    opps = _account_deals()
    acc = analyse_accounts(opps, opps["loss_stage"])
    kinds = acc.by_kind.set_index("kind")
    assert kinds.loc["existing", ["deals", "won", "lost", "open"]].tolist() == [3, 1, 1, 1]
    assert kinds.loc["new", "win_rate"] == pytest.approx(2 / 3)
    lost = acc.lost_by_stage.set_index("stage")
    assert lost.loc[P, "existing"] == 1 and lost.loc[Q, "new"] == 1
    rev = acc.revenue.set_index(["account", "period"])["won_amount"]
    assert rev.to_dict() == {("A", "2024Q1"): 100.0, ("A", "2024Q2"): 50.0, ("B", "2024Q2"): 70.0}
    a = acc.accounts.set_index("account").loc["A"]
    assert (a["won_amount"], a["periods_with_revenue"], a["existing_win_rate"]) == (150.0, 2, 0.5)
