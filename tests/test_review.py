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
    decided_now = int(table.loc["A", "advanced"] + table.loc["A", "lost_here"])
    # of those, the deals old enough to have been decided (a few young ones wait)
    assert 0.8 * decided_now <= r.now_deals < decided_now
    assert any("days old count" in note for note in r.notes)


def _slow_wins_fast_losses(rng, n_per_year, start, days, export_days, prefix):
    """Deals in one stage A: 50% are won after about 60 days, the others are lost after about 3.
    Nothing changes over time."""
    from sales_rca.crm.data import OPPORTUNITY_COLUMNS, CrmData, ImportReport

    n = rng.poisson(n_per_year * days / 365.25)
    begin = np.datetime64(f"{start}T00:00", "s")
    created = begin + (rng.uniform(0, days, n) * 86400).astype("timedelta64[s]")
    won = rng.uniform(size=n) < 0.5
    took = np.where(won, rng.exponential(60, n), rng.exponential(3, n))
    close = created + (took * 86400).astype("timedelta64[s]")
    as_of = begin + np.timedelta64(int(export_days * 86400), "s")
    is_open = close > as_of
    ids = np.array([f"{prefix}{i}" for i in range(n)], dtype=object)
    opps = pd.DataFrame(
        {
            "opportunity_id": ids,
            "stage": "A",
            "outcome": pd.Categorical(
                np.where(is_open, "open", np.where(won, "won", "lost")),
                categories=["won", "lost", "open"],
            ),
            "amount": 1000.0,
            "created_date": created.astype("datetime64[ns]"),
            "close_date": np.where(is_open, np.datetime64("NaT"), close).astype("datetime64[ns]"),
        }
    )
    for col in OPPORTUNITY_COLUMNS:
        if col not in opps:
            opps[col] = None
    closed = ~is_open
    events = pd.DataFrame(
        {
            "opportunity_id": np.r_[ids, ids[closed]],
            "stage": np.r_[
                np.full(n, "A", object),
                np.where(won[closed], "Closed Won", "Closed Lost").astype(object),
            ],
            "entered_at": np.r_[created, close[closed]].astype("datetime64[ns]"),
        }
    ).sort_values(["opportunity_id", "entered_at"], kind="stable", ignore_index=True)
    return CrmData(
        opportunities=opps,
        stage_events=events,
        quarantine=pd.DataFrame(columns=["table", "source_row", "reason"]),
        report=ImportReport(source="test", path="<simulation>"),
        stages=["A"],
        won_stages=["Closed Won"],
        lost_stages=["Closed Lost"],
    )


@pytest.mark.parametrize("window", [75, 250])
def test_young_deals_quick_losses_do_not_read_as_a_change(window):
    """Wins take 20 times longer than losses and nothing changed. Among the new deals decided by
    the export, quick losses dominate (a naive win rate well below 50%). The review counts only
    deals old enough to have been decided: after 75 days none is, so it asks to wait; after 250
    days it sees no change."""
    from sales_rca.impact.review import UNKNOWN

    rng = np.random.default_rng(3)
    old = _slow_wins_fast_losses(rng, 3000, "2025-01-01", 365.25, 365.25 + window, "OLD")
    new = _slow_wins_fast_losses(rng, 3000, "2026-01-01", window, window, "NEW")
    young = new.opportunities[new.opportunities["outcome"] != "open"]
    assert (young["outcome"] == "won").mean() < 0.45  # what a naive review would compare
    target = TargetMetric("win_rate", 0.5, 0.6, "share")
    action = Action("W", "Win more", "Lead", target=target)
    (r,) = review_actions([action], combined(old, new), since=START)
    if window == 75:
        assert r.verdict == UNKNOWN and r.now is None
        assert "review again later" in " ".join(r.notes)
    else:
        assert r.verdict == NOISE, (r.before, r.now, r.notes)
        assert abs(r.now - 0.5) < 0.08 and r.now_deals > 100
        assert any("days old count" in note for note in r.notes)


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


def _session_and_export(pair, tmp_path):
    """A session with the three actions (the first done) and the new export as CSV files."""
    from sales_rca.session import Session

    old, new = pair
    path = tmp_path / "r.session"
    with Session.create(path, "Review") as s:
        ids = [s.add_action(a.title, a.owner, target=a.target) for a in actions(xray(old))]
        s.update_action(ids[0], status="done")
    opp_csv, hist_csv = tmp_path / "opps.csv", tmp_path / "history.csv"
    cols = ["opportunity_id", "stage", "outcome", "amount", "created_date", "close_date"]
    new.opportunities[cols].to_csv(opp_csv, index=False)
    new.stage_events.to_csv(hist_csv, index=False)
    return path, opp_csv, hist_csv


def test_review_command_prints_done_and_not_done_side_by_side(pair, tmp_path, cli):
    import json

    path, opp_csv, hist_csv = _session_and_export(pair, tmp_path)
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

    from sales_rca.ui.context import Settings
    from sales_rca.ui.steps.summary import SummaryView
    from sales_rca.ui.workbench import Workbench

    path, opp_csv, hist_csv = _session_and_export(pair, tmp_path)
    settings = Settings(session=path, review=opp_csv, review_history=hist_csv)
    view = SummaryView(Workbench(settings), lambda text, kind="ok": None)
    for job in [t for t in threading.enumerate() if t.name == "srca-review"]:
        job.join(120)
    html = view.review.value
    assert "90-day review on opps.csv" in html, html
    for title in ("Discovery workshop", "Proposal review", "Win more"):
        assert title in html
    assert "not done" in html and ">done<" in html
