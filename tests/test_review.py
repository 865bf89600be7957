"""The 90-day review: on a planted before/after pair, the metric that moved is called moved and the
one that did not is not."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from impact_fixtures import combined, simulated_funnel

from sales_rca.impact.review import MOVED, NOISE, WRONG, review_actions, review_text
from sales_rca.pipeline import xray
from sales_rca.rootcause.actions import Action, ActionStatus, TargetMetric

START = dt.date(2026, 1, 1)


@pytest.fixture(scope="module")
def pair():
    """The old export (2025, A converts 50%, B 40%) and the new one: the same deals six months
    later plus those created since 1 January 2026, when A converts 70% and B still 40%."""
    rng = np.random.default_rng(14)
    before = simulated_funnel(rng, 1500, 0.5, 0.4, prefix="OLD", export_days=365.25 + 181)
    after = simulated_funnel(
        rng, 1500, 0.7, 0.4, start="2026-01-01", days=150, export_days=181, prefix="NEW"
    )
    old = simulated_funnel(np.random.default_rng(14), 1500, 0.5, 0.4, prefix="OLD")
    return old, combined(before, after)


def actions(old_x) -> list[Action]:
    table = old_x.stage_table.set_index("stage")
    a, b = float(table.loc["A", "conversion"]), float(table.loc["B", "conversion"])
    return [
        Action("A1", "Discovery workshop", "Lead", target=TargetMetric("conversion", a, a + 0.1, "share", stage="A"),
               status=ActionStatus.DONE),
        Action("A2", "Proposal review", "Lead", target=TargetMetric("conversion", b, b + 0.1, "share", stage="B")),
        Action("A3", "Win more", "Lead", target=TargetMetric("win_rate", 0.2, 0.3, "share")),
    ]  # fmt: skip


def test_the_metric_that_moved_is_called_moved_and_the_other_is_not(pair):
    old, new = pair
    reviews = {r.action.id: r for r in review_actions(actions(xray(old)), new, since=START)}
    moved, still = reviews["A1"], reviews["A2"]
    assert moved.verdict == MOVED
    lo, hi = moved.change_ci
    assert 0 < lo < 0.2 < hi  # +20 points planted
    assert still.verdict == NOISE
    assert still.change_ci[0] < 0 < still.change_ci[1]
    # the win rate follows conversion at A: 0.5 x 0.4 = 20% -> 0.7 x 0.4 = 28%
    assert reviews["A3"].verdict == MOVED
    assert "moved beyond noise" in review_text(moved) and "points" in review_text(moved)


def test_only_deals_created_since_the_start_count_as_now(pair):
    old, new = pair
    (r,) = [r for r in review_actions(actions(xray(old)), new, since=START) if r.action.id == "A1"]
    created = new.opportunities["created_date"]
    x_now = xray(
        type(new)(
            **{
                **new.__dict__,
                "opportunities": new.opportunities[created >= pd.Timestamp(START)].reset_index(
                    drop=True
                ),
            }
        ),
        stages=["A", "B"],
    )
    table = x_now.stage_table.set_index("stage")
    assert r.now_deals == int(table.loc["A", "advanced"] + table.loc["A", "lost_here"])


def test_a_metric_moving_against_its_target_is_called_the_wrong_way(pair):
    old, new = pair
    a = float(xray(old).stage_table.set_index("stage").loc["A", "conversion"])
    down = Action("A9", "Tighten qualification", "Lead",
                  target=TargetMetric("conversion", a, a - 0.1, "share", stage="A"))  # fmt: skip
    (r,) = review_actions([down], new, since=START)
    assert r.verdict == WRONG


def test_done_actions_come_first(pair):
    old, new = pair
    reviews = review_actions(actions(xray(old)), new, since=START)
    assert [r.done for r in reviews] == [True, False, False]


def test_a_batch_rerun_with_a_baseline_reviews_the_actions_the_same_way(pair, tmp_path):
    """The summary of a re-run (``baseline:``) carries the same review, in HTML and results."""
    import dataclasses

    from sales_rca.pipeline import findings
    from sales_rca.report import Summary
    from sales_rca.session import Session

    old, new = pair
    with Session.create(tmp_path / "t.session", "Review") as s:
        for a in actions(xray(old)):
            s.add_action(a.title, a.owner, target=a.target, play_id="buying_group_consensus")
        state = s.state()
    started = "2026-01-01T00:00:00+00:00"
    state = dataclasses.replace(
        state, actions=tuple(dataclasses.replace(a, at=started) for a in state.actions)
    )
    x = xray(new, stages=["A", "B"])
    summary = Summary.build(
        client="T", xray=x, findings=findings(x), top_findings=[], state=state, baseline=[],
        crm=new,
    )  # fmt: skip
    verdicts = {r["action"]: r["verdict"] for r in summary.to_dict()["review"]}
    assert verdicts["Discovery workshop"] == MOVED
    assert verdicts["Proposal review"] == NOISE
    assert all(r["play_id"] == "buying_group_consensus" for r in summary.to_dict()["review"])
    html = summary.html()
    assert "Did it work? The 90-day review" in html and MOVED in html


def test_review_command_prints_done_and_not_done_side_by_side(pair, tmp_path, cli):
    import json

    from sales_rca.session import Session

    old, new = pair
    path = tmp_path / "r.session"
    with Session.create(path, "Review") as s:
        ids = [s.add_action(a.title, a.owner, target=a.target) for a in actions(xray(old))]
        s.update_action(ids[0], status="done")
    opp_csv, hist_csv = tmp_path / "opps.csv", tmp_path / "history.csv"
    o = new.opportunities.copy()
    o[["opportunity_id", "stage", "outcome", "amount", "created_date", "close_date"]].to_csv(
        opp_csv, index=False
    )
    new.stage_events.to_csv(hist_csv, index=False)
    args = ["review", path, "--data", opp_csv, "--history", hist_csv, "--since", "2026-01-01"]
    r = cli(*args)
    assert r.returncode == 0, r.stderr
    done, rest = r.stdout.split("Not done yet:")
    assert "Discovery workshop" in done and MOVED in done
    assert "Proposal review" in rest and NOISE in rest
    data = json.loads(cli(*args, "--json").stdout)
    assert [a["verdict"] for a in data["actions"]][:2] == [MOVED, NOISE]
    bad = cli("review", path, "--data", opp_csv, "--since", "March")
    assert bad.returncode == 2 and "expected --since as a date" in bad.stderr


def test_the_workshop_opened_with_review_shows_the_review_in_the_summary_step(pair, tmp_path):
    import threading

    from sales_rca.session import Session
    from sales_rca.ui.context import Settings
    from sales_rca.ui.steps.summary import SummaryView
    from sales_rca.ui.workbench import Workbench

    old, new = pair
    path = tmp_path / "r.session"
    with Session.create(path, "Review") as s:
        ids = [s.add_action(a.title, a.owner, target=a.target) for a in actions(xray(old))]
        s.update_action(ids[0], status="done")
    opp_csv, hist_csv = tmp_path / "opps.csv", tmp_path / "history.csv"
    cols = ["opportunity_id", "stage", "outcome", "amount", "created_date", "close_date"]
    new.opportunities[cols].to_csv(opp_csv, index=False)
    new.stage_events.to_csv(hist_csv, index=False)
    settings = Settings(session=path, review=opp_csv, review_history=hist_csv)
    view = SummaryView(Workbench(settings), lambda text, kind="ok": None)
    for job in [t for t in threading.enumerate() if t.name == "srca-review"]:
        job.join(120)
    html = view.review.value
    assert "90-day review on opps.csv" in html, html
    for title in ("Discovery workshop", "Proposal review", "Win more"):
        assert title in html
    assert "not done" in html and ">done<" in html
