"""What a change at a stage is worth: hand-computed funnels and a calibrated bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from impact_fixtures import demo_xray, simulated_funnel
from pipeline_fixtures import make_crm
from suite_paths import DEMO_DIR

from sales_rca.crm.data import CrmData
from sales_rca.errors import PipelineError
from sales_rca.impact import (
    Change,
    Effect,
    Scenario,
    days_cut,
    evaluate,
    funnel_model,
    points,
    revive,
)
from sales_rca.impact.actions import action_values, target_scenario, worth_text
from sales_rca.pipeline import xray
from sales_rca.rootcause.actions import Action, TargetMetric

AS_OF = "2026-01-01T06:00"  # 365.25 days after the first deal was created: one year of data


def two_stage_crm() -> CrmData:
    """Twelve deals created in one year through A -> B.

    At A: 5 advanced, 5 lost (conversion 50%), 2 still open there. At B: 2 won, 3 lost (40%).
    Won: W1 (amount 100, 10 days in A, 20 in B, cycle 30), W2 (300, 30 in A, 40 in B, cycle 70).
    """
    opps, events = [], []

    def deal(
        i: str, outcome: str, created: str, path: list[tuple[str, str]], amount: float
    ) -> None:
        close = path[-1][1] if outcome != "open" else None
        opps.append(
            {
                "opportunity_id": i,
                "stage": path[-1][0],
                "outcome": outcome,
                "amount": amount,
                "created_date": created,
                "close_date": close,
            }
        )
        events.extend((i, stage, at) for stage, at in path)

    deal(
        "W1",
        "won",
        "2025-01-01",
        [("A", "2025-01-01"), ("B", "2025-01-11"), ("Closed Won", "2025-01-31")],
        100,
    )
    deal(
        "W2",
        "won",
        "2025-03-01",
        [("A", "2025-03-01"), ("B", "2025-03-31"), ("Closed Won", "2025-05-10")],
        300,
    )
    for j in range(3):
        day = f"2025-04-{j + 1:02d}"
        deal(
            f"LB{j}",
            "lost",
            day,
            [("A", day), ("B", f"2025-05-{j + 1:02d}"), ("Closed Lost", f"2025-06-{j + 1:02d}")],
            50,
        )
    for j in range(5):
        day = f"2025-07-{j + 1:02d}"
        deal(f"LA{j}", "lost", day, [("A", day), ("Closed Lost", f"2025-08-{j + 1:02d}")], 50)
    for j in range(2):
        day = f"2025-11-{j + 1:02d}"
        deal(f"O{j}", "open", day, [("A", day)], 80)
    return make_crm(opps, events, stages=["A", "B"])


@pytest.fixture(scope="module")
def two_stage():
    return xray(two_stage_crm(), stages=["A", "B"], as_of=AS_OF)


def test_the_funnel_model_reads_inflow_conversion_and_won_per_year(two_stage):
    m = funnel_model(two_stage)
    assert m.inflow_per_month == pytest.approx(1.0)  # 12 deals in one year
    assert m.won_per_year == pytest.approx(12 * 2 / 10)  # open deals close like the closed ones
    assert m.avg_won_amount == pytest.approx(200)
    assert m.cycle_days == pytest.approx(50)
    conv = m.stages.set_index("stage")["conversion"]
    assert conv["A"] == pytest.approx(0.5) and conv["B"] == pytest.approx(0.4)


def test_ten_points_at_each_stage_are_worth_what_paper_says(two_stage):
    first, last = evaluate(two_stage, [points("A", 10), points("B", 10)], draws=200)
    # 2.4 won a year through A; 60% instead of 50% lets 1.2x as many through: +0.48 a year
    assert first.extra_won_deals_per_year == pytest.approx(2.4 * 0.1 / 0.5)
    assert first.extra_revenue_per_year == pytest.approx(2.4 * 0.1 / 0.5 * 200)
    # at B 50% instead of 40%: 1.25x as many won, +0.6 a year, worth more than the same at A
    assert last.extra_won_deals_per_year == pytest.approx(2.4 * 0.1 / 0.4)
    assert last.extra_revenue_per_year == pytest.approx(120)


def test_cutting_time_in_a_stage_shortens_the_cycle_and_speeds_velocity(two_stage):
    (v,) = evaluate(two_stage, [days_cut("A", 50)], draws=200)
    # won deals spend 20 days in A on average: half of it off a 50-day cycle
    assert v.cycle_days_change == pytest.approx(-10)
    # velocity 2 open x 20% x 200 / 50 days = 1.6 a day; at 40 days 2.0 a day
    assert v.velocity_change_per_day == pytest.approx(0.4)
    assert v.extra_revenue_per_year == pytest.approx(0.4 * 365.25)
    assert any("pipeline is kept" in n for n in v.notes)


def test_a_conversion_target_and_a_points_scenario_agree(two_stage):
    to_rate = Scenario("A to 60%", (Change(Effect.CONVERSION_TO, 0.6, "A"),))
    fewer_lost = Scenario("lost at A 5 -> 10/3", (Change(Effect.LOST_FACTOR, 2 / 3, "A"),))
    a, b, c = evaluate(two_stage, [to_rate, points("A", 10), fewer_lost], draws=100)
    assert a.extra_won_deals_per_year == pytest.approx(b.extra_won_deals_per_year)
    # 5 advanced, 10/3 lost: conversion 60% again
    assert c.extra_won_deals_per_year == pytest.approx(b.extra_won_deals_per_year)


def test_every_action_target_becomes_a_scenario_with_a_value(two_stage):
    targets = [
        TargetMetric("conversion", 0.5, 0.6, "share", stage="A"),
        TargetMetric("win_rate", 0.2, 0.25, "share"),
        TargetMetric("median_days", 20, 10, "days", stage="A"),
        TargetMetric("code_share", 0.4, 0.2, "share", category="price"),
    ]
    actions = [Action(f"a{i}", "fix", "Lead", target=t) for i, t in enumerate(targets)]
    values = action_values(actions, two_stage, draws=200)
    conv, win, days, code = (v.value for v in values)
    assert conv is not None and conv.extra_won_deals_per_year == pytest.approx(0.48)
    assert win is not None and win.extra_won_deals_per_year == pytest.approx(2.4 * 0.25)
    assert days is not None and days.cycle_days_change == pytest.approx(-10)
    assert code is None and values[3].reason
    assert (
        worth_text(conv)
        == "worth about 96 per year if the target is met (too few deals for a range)"
    )
    assert worth_text(code) == "–"
    assert target_scenario(TargetMetric("conversion", 0.5, 0.6, stage="Gone"), ["A", "B"]) is None


def test_a_stage_outside_the_order_is_one_clear_error(two_stage):
    with pytest.raises(PipelineError, match="expected one of the official stages"):
        evaluate(two_stage, [points("Nope", 5)])


def test_without_history_a_stage_change_says_it_needs_the_history():
    crm = two_stage_crm()
    crm.stage_events = crm.stage_events.iloc[0:0]
    x = xray(crm, stages=["A", "B"], as_of=AS_OF)
    with pytest.raises(PipelineError, match="stage history"):
        evaluate(x, [points("A", 5)])
    # the overall win rate needs no history
    (v,) = evaluate(x, [Scenario("win", (Change(Effect.WIN_RATE_TO, 0.3),))], draws=100)
    assert v.extra_won_deals_per_year == pytest.approx(2.4 * 0.5)


@pytest.fixture(scope="module")
def demo():
    return demo_xray()


def test_reviving_stalls_is_a_one_off_without_a_velocity(demo):
    x = demo
    stage = x.stalls.loc[x.stalls["status"] == "slow", "stage"].mode()[0]
    (v,) = evaluate(x, [revive(stage, 50)], draws=200)
    assert v.one_off and v.velocity_change_per_day is None
    assert v.extra_won_deals_per_year is not None and v.extra_won_deals_per_year > 0
    assert "once" in worth_text(v)


def test_a_met_target_on_the_demo_is_worth_a_range_of_money(demo):
    target = TargetMetric("conversion", 0.81, 0.86, "share", stage="Needs Analysis")
    (value,) = action_values([Action("a", "Discovery", "Lead", target=target)], demo)
    text = worth_text(value.value, "USD")
    lo, hi = value.value.extra_revenue_per_year_ci
    assert 0 < lo < value.value.extra_revenue_per_year < hi
    assert text.startswith("worth about USD ") and text.endswith("per year if the target is met")


# --- the bootstrap interval covers the truth at about its nominal rate --------------------------


@pytest.mark.slow
def test_the_bootstrap_interval_covers_the_truth_at_about_95_percent():
    rate, c1, c2, p = 500, 0.5, 0.4, 0.1
    truth = rate * p * c2 * 1000  # extra revenue a year from +10 points at A
    rng = np.random.default_rng(2026)
    runs, covered = 120, 0
    for r in range(runs):
        crm = simulated_funnel(rng, rate, c1, c2)
        x = xray(crm, stages=["A", "B"], as_of=pd.Timestamp("2026-01-01T06:00"))
        (v,) = evaluate(x, [points("A", 10)], draws=400, seed=r)
        lo, hi = v.extra_revenue_per_year_ci
        covered += lo <= truth <= hi
    assert 0.88 <= covered / runs <= 0.99


def test_the_best_segment_names_a_segment_but_never_a_person(demo):
    from sales_rca.impact import best_group, raise_to_best

    best = best_group(demo, "Needs Analysis")
    assert best is not None and best.decided >= 20
    conv = funnel_model(demo).stages.set_index("stage").loc["Needs Analysis", "conversion"]
    assert best.conversion > conv
    assert best.group in raise_to_best(demo, "Needs Analysis").label
    by_manager = raise_to_best(demo, "Needs Analysis", "manager")
    managers = set(demo.opportunities["manager"].dropna())
    assert by_manager is not None and not any(m in by_manager.label for m in managers)


def test_impact_command_prints_both_scenarios_as_json(cli):
    import json

    r = cli(
        "impact", DEMO_DIR / "salesforce_opportunities.csv",
        "--history", DEMO_DIR / "salesforce_opportunity_history.csv",
        "--stage", "Needs Analysis", "--points", "5", "--days-cut", "20", "--json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    for part in (data, data["last_stage"]):
        for key in ("extra_won_deals_per_year", "extra_revenue_per_year"):
            lo, hi = part[f"{key}_ci"]
            assert lo <= part[key] <= hi
    assert data["last_stage"]["changes"][0]["stage"] == "Negotiation/Review"
    assert data["cycle_days_change"] < 0


def test_impact_command_needs_a_change_and_says_so_in_one_line(cli):
    r = cli("impact", DEMO_DIR / "salesforce_opportunities.csv", "--stage", "Needs Analysis")
    assert (
        r.returncode == 2
        and "expected --points" in r.stderr
        and len(r.stderr.strip().splitlines()) == 1
    )


def test_the_workshop_panel_prices_stages_and_actions_and_escapes_titles(demo):
    from sales_rca.ui.steps.worth import worth_panel

    target = TargetMetric("conversion", 0.81, 0.86, "share", stage="Needs Analysis")
    html = worth_panel(demo, [Action("a", "<script>x</script>", "Lead", target=target)])
    assert "Needs Analysis +5 points" in html and "Negotiation/Review +5 points" in html
    assert "worth about" in html and "<script>" not in html and "&lt;script&gt;" in html


def test_an_old_stray_deal_does_not_dilute_the_monthly_inflow():
    crm = two_stage_crm()
    opps = crm.opportunities
    stray = opps.iloc[[-1]].assign(opportunity_id="OLD", created_date=pd.Timestamp("2019-05-01"))
    crm.opportunities = pd.concat([opps, stray], ignore_index=True)
    events = crm.stage_events
    old = pd.DataFrame(
        {"opportunity_id": ["OLD"], "stage": ["A"], "entered_at": [pd.Timestamp("2019-05-01")]}
    )
    crm.stage_events = pd.concat([events, old], ignore_index=True)
    m = funnel_model(xray(crm, stages=["A", "B"], as_of=AS_OF))
    assert m.inflow_per_month == pytest.approx(1.0)  # the last twelve months: 12 deals
    assert m.months > 80  # the data reaches back to 2019
