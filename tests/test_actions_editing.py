"""Editing the team's work: actions the team can be held to, deleted and brought back."""

from __future__ import annotations

import datetime as dt

import pytest

from sales_rca.errors import ModelError
from sales_rca.rootcause.actions import TargetMetric, check_commitment
from sales_rca.session import open_or_create

TODAY = dt.date(2026, 12, 2)


def target(metric: str, baseline: float, value: float) -> TargetMetric:
    return TargetMetric(metric=metric, baseline=baseline, target=value, unit="share")


@pytest.mark.parametrize(
    ("due", "goal", "message"),
    [
        (None, None, "expected a due date for the action, found none"),
        ("2026-12-02", None, "expected a due date after today (02 Dec 2026), found 02 Dec 2026"),
        (dt.date(2026, 11, 1), None, "found 01 Nov 2026"),
        ("2027-03-01", target("conversion", 0.81, 0.75), "better is higher"),
        ("2027-03-01", target("win_rate", 0.44, 0.40), "expected a target above today's 44.0%"),
        ("2027-03-01", target("median_days", 27, 30), "better is lower"),
        ("2027-03-01", target("code_share", 0.30, 0.35), "expected a target below today's"),
    ],
)
def test_an_action_needs_a_future_due_date_and_a_target_that_improves(due, goal, message):
    with pytest.raises(ModelError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_commitment(due, goal, today=TODAY)


def test_a_good_commitment_passes_and_a_target_equal_to_the_baseline_is_refused():
    check_commitment("2027-03-01", target("conversion", 0.81, 0.86), today=TODAY)
    check_commitment(dt.date(2027, 1, 1), target("median_days", 27, 20), today=TODAY)
    check_commitment(dt.date(2027, 1, 1), None, today=TODAY)
    with pytest.raises(ModelError, match="different from the baseline"):
        target("conversion", 0.81, 0.81)


def test_an_action_is_deleted_and_undo_brings_it_back(tmp_path):
    with open_or_create(tmp_path / "s.session", "Acme") as s:
        keep = s.add_action("Weekly discovery coaching", "Dana", due="2027-03-01")
        gone = s.add_action("Duplicate of the first", "Dana", due="2027-03-01")
        s.remove_action(gone)
        state = s.state()
        assert [a.id for a in state.actions] == [keep]
        assert [a.title for a in state.removed_actions] == ["Duplicate of the first"]
        with pytest.raises(ModelError, match="expected an existing action id"):
            s.update_action(gone, title="edited after deletion")
        s.undo()
        assert [a.id for a in s.state().actions] == [keep, gone]
    # Reopened (replayed from the file): the same.
    with open_or_create(tmp_path / "s.session", "Acme") as s:
        assert len(s.state().actions) == 2


def test_merging_a_duplicate_cause_keeps_its_votes_on_the_cause_it_joins(tmp_path):
    with open_or_create(tmp_path / "s.session", "Acme") as s:
        bone = s.state().categories[0].id
        keep = s.add_cause("Managers do not coach discovery", bone)
        dup = s.add_cause("No coaching on discovery calls", bone)
        other = s.add_cause("ROI never quantified", bone)
        s.open_voting()
        ann, bo = s.join("Ann"), s.join("Bo")
        s.vote(keep, 1, participant=ann)
        s.vote(dup, 2, participant=ann)
        s.vote(dup, 2, participant=bo)
        s.vote(other, 1, participant=bo)
        s.merge_causes(keep, [dup])
        state = s.state(include_hidden=True)
        assert [k.id for k in state.causes] == [keep, other]
        dots = {(v.participant, v.cause_id): v.dots for v in state.votes}
        assert dots == {(ann, keep): 3, (bo, keep): 2, (bo, other): 1}
        s.reveal()
        top = s.state().results().causes[0]
        assert (top.cause_id, top.points, top.voters) == (keep, 5, 2)


def test_a_cause_moves_to_another_bone(tmp_path):
    with open_or_create(tmp_path / "s.session", "Acme") as s:
        cats = s.state().categories
        cid = s.add_cause("Pricing approvals take weeks", cats[0].id)
        s.update_cause(cid, category=cats[3].id)
        assert s.state().causes[0].category == cats[3].id


def test_actions_export_as_csv_for_a_tracker_and_excel_cannot_run_them(tmp_path, cli):
    from sales_rca.csvsafe import read_csv
    from sales_rca.rootcause import load_playbook

    play = load_playbook()[0]
    with open_or_create(tmp_path / "s.session", "Acme") as s:
        cause = s.add_cause("Managers do not coach discovery", s.state().categories[0].id)
        s.select_play(play.id, [cause])
        s.add_action(
            "=HYPERLINK(1) weekly coaching",
            "Dana",
            due="2027-03-01",
            cause_id=cause,
            play_id=play.id,
            target=target("conversion", 0.81, 0.86),
        )
        s.add_action("Clean the pipeline", "Sam", due="2027-01-15")
    done = cli("session", "actions", tmp_path / "s.session", tmp_path / "actions.csv")
    assert done.returncode == 0 and "Wrote 2 actions" in done.stdout
    raw = (tmp_path / "actions.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in raw  # a formula would run in Excel: it is quoted
    table = read_csv(tmp_path / "actions.csv")
    first, second = table.to_dict("records")
    assert first["action"] == "=HYPERLINK(1) weekly coaching"
    assert (first["owner"], first["due"], first["status"]) == ("Dana", "2027-03-01", "open")
    assert first["cause"] == "Managers do not coach discovery" and first["play"] == play.title
    assert (first["baseline"], first["target"]) == ("81.0%", "86.0%")
    assert (second["play"], second["target metric"], second["target"]) == ("", "", "")


def test_the_summary_names_the_plays_the_team_picked_with_the_causes_they_serve(tmp_path):
    from sales_rca.report.summary import Summary
    from sales_rca.rootcause import load_playbook

    play = load_playbook()[0]
    with open_or_create(tmp_path / "s.session", "Acme") as s:
        cause = s.add_cause("Managers do not coach discovery", s.state().categories[0].id)
        s.select_play(play.id, [cause])
        state = s.state()
    html = Summary.from_session(state, client="Acme").html()
    assert "The plays we picked" in html and play.title in html
    assert "Managers do not coach discovery" in html
