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
