"""Operations as data: one model per operation, one handler each, shape checked before any rule."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from sales_rca.errors import ModelError
from sales_rca.findings import Finding
from sales_rca.rootcause import OPERATIONS, Workshop, WorkshopState
from sales_rca.rootcause import workshop as workshop_module
from sales_rca.rootcause.operations import AddWhy, UpdateAction


def test_every_operation_has_one_model_one_handler_and_one_workshop_method():
    assert set(workshop_module._HANDLERS) == set(OPERATIONS)
    for kind, model in OPERATIONS.items():
        assert model.kind == kind and dataclasses.is_dataclass(model)
        method = getattr(Workshop, kind)
        assert list(inspect.signature(method).parameters)[1:] == list(
            inspect.signature(model).parameters
        )
        assert model.__doc__ and not model.__doc__.startswith(f"{model.__name__}(")
    undoable = {kind for kind, model in OPERATIONS.items() if model.undo}
    # settings and opening or closing the vote are not edits
    assert set(OPERATIONS) - undoable == {"set_setting", "open_voting", "close_voting"}


def test_a_model_gives_back_the_data_it_was_built_from():
    data = {"id": "W2", "parent_id": "P1", "text": "Reps pitch", "status": "supported"}
    op = AddWhy.parse(data)
    assert (op.parent_id, op.status, op.root_cause) == ("P1", "supported", False)
    assert op.to_data() == {**data, "root_cause": False, "finding": None, "note": None}
    # A sparse model stores only what was given; None clears, leaving a field out keeps it.
    assert UpdateAction.parse({"id": "A1", "due": None}).to_data() == {"id": "A1", "due": None}


@pytest.mark.parametrize(
    ("kind", "data", "message"),
    [
        ("drop_tables", {}, "expected an operation among join, rename, .* found 'drop_tables'"),
        ("add_why", ["P1"], "expected the data of add_why to be a mapping"),
        ("add_why", {"parent_id": "P1"}, "expected add_why to have text, found none"),
        (
            "add_why",
            {"parent_id": "P1", "text": "x", "colour": "red"},
            r"expected the fields of add_why \(id, parent_id, text, .*\), found 'colour'",
        ),
        (
            "add_why",
            {"parent_id": "P1", "text": "x", "root_cause": "yes"},
            "expected root_cause of add_why to be a valid boolean, found 'yes'",
        ),
        ("vote", {"participant": "U1", "cause_id": "C1", "dots": 2.5}, "dots of vote"),
        ("link_whys", {"why_ids": "W1"}, "why_ids of link_whys"),
        ("link_whys", {"why_ids": ["W1"], "relation": "xor"}, "relation of link_whys"),
        ("add_problem", {"text": "x", "finding": 3}, "expected a finding, found 3"),
        ("add_action", {"title": "t", "owner": "o", "due": "soon"}, "due date like 2025-03-31"),
    ],
)
def test_ill_shaped_data_is_refused_as_input_naming_what_was_expected(kind, data, message):
    w = Workshop("Q3")
    p = w.add_problem(text="Deals die early")
    before = w.snapshot()
    with pytest.raises(ModelError, match=message):
        w.apply(kind, data)
    assert w.snapshot() == before and p == "P1"


def test_a_type_error_inside_a_handler_is_a_bug_and_propagates_as_one(monkeypatch):
    def broken(self, op, by, at):
        return len(op)  # a programming error: operations have no len()

    monkeypatch.setitem(workshop_module._HANDLERS, "rename", broken)
    w = Workshop("Q3")
    with pytest.raises(TypeError, match="has no len"):
        w.apply("rename", {"title": "Q4"})
    with pytest.raises(TypeError, match="has no len"):
        w.rename(title="Q4")


def test_a_workshop_continues_from_its_snapshot_with_every_field_kept():
    w = Workshop("Q3", dots_per_person=2, created_at="2025-01-01T00:00:00+00:00")
    ann = w.join(name="Ann")
    p = w.add_problem(text="Deals die early", finding=Finding("k", "t", "lost_here", 0.4))
    a = w.add_why(parent_id=p, text="A")
    w.add_why(parent_id=a, text="B")
    w.remove_why(id=a)
    w.add_why(parent_id=p, text="C")
    c1 = w.add_cause(text="One", category="buyer")
    c2 = w.add_cause(text="Two", category="price")
    w.vote(participant=ann, cause_id=c1, dots=2)
    w.remove_cause(id=c2)
    w.rank(participant=ann, cause_ids=[c1])
    w.select_play(play_id="spin_discovery", cause_ids=[c1])
    w.add_action(title="Act", owner="Ann", due="2025-09-30")
    w.override_code(opportunity_id="OPP-1", codes=["no_decision"])
    w.set_setting(key="step", value="whys")
    w.apply("reveal", {})
    state = w.snapshot()
    assert state.event_count == 1 and state.revealed and len(state.removed_whys) == 2
    kept = {f.name for f in dataclasses.fields(WorkshopState)} - workshop_module._DERIVED
    assert set(inspect.get_annotations(Workshop)) == kept  # the state's fields, typed once more
    again = Workshop.from_state(state)
    assert again.snapshot() == state
    assert again.add_why(parent_id=p, text="D") == w.add_why(parent_id=p, text="D")
    assert Workshop.from_state(WorkshopState.from_json(state.to_json())).snapshot() == state
