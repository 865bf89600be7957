"""The whole workshop as one pure model: problems, whys, causes, votes, plays, actions, overrides.

:class:`Workshop` applies operations and enforces every rule (no verification without evidence, no
cycles, dots per person, ...). Each operation is a model in :mod:`~sales_rca.rootcause.operations`
(what :mod:`sales_rca.session` stores as an event) and one handler here, so replaying a log is
applying the models again. An operation either applies completely or raises :class:`ModelError`
and changes nothing. :meth:`Workshop.snapshot` gives an immutable :class:`WorkshopState`.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from operator import attrgetter
from typing import Any, Concatenate, TypeVar

from pydantic import TypeAdapter, ValidationError

from sales_rca import schema as check
from sales_rca.errors import ModelError
from sales_rca.findings import Finding
from sales_rca.rootcause import operations as ops
from sales_rca.rootcause.actions import Action, ActionStatus
from sales_rca.rootcause.fishbone import Category, Cause, categories_from_data, causes_by_category
from sales_rca.rootcause.operations import KEEP, OPERATIONS, Operation, P, R, operation
from sales_rca.rootcause.plays import Play, Recommendation, priorities, recommend
from sales_rca.rootcause.voting import Ranking, Vote, VoteResult, aggregate
from sales_rca.rootcause.whys import (
    Evidence,
    Problem,
    Relation,
    Status,
    Why,
    WhyTree,
    check_status,
    would_cycle,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Participant:
    """Someone in the room who votes; ``name`` is ``None`` for an anonymous participant."""

    id: str
    number: int
    name: str | None = None
    removed: bool = False

    @property
    def label(self) -> str:
        """The name, or ``"Anonymous 3"``."""
        return self.name if self.name is not None else f"Anonymous {self.number}"


@dataclass(frozen=True)
class CodeOverride:
    """A human decision on one lost deal's loss codes; it wins over the automatic coding."""

    opportunity_id: str
    codes: tuple[str, ...]
    note: str | None = None
    by: str | None = None
    at: str | None = None


@dataclass(frozen=True)
class PlaySelection:
    """A play the team picked, and the causes it is meant to fix."""

    play_id: str
    cause_ids: tuple[str, ...] = ()
    by: str | None = None
    at: str | None = None


@dataclass(frozen=True)
class WorkshopState:
    """An immutable snapshot of a workshop. Votes are hidden (``hidden=True``) until revealed."""

    title: str
    categories: tuple[Category, ...]
    dots_per_person: int
    created_at: str | None = None
    participants: tuple[Participant, ...] = ()
    removed_participants: tuple[Participant, ...] = ()
    problems: tuple[Problem, ...] = ()
    whys: tuple[Why, ...] = ()
    removed_whys: tuple[Why, ...] = ()
    causes: tuple[Cause, ...] = ()
    removed_causes: tuple[Cause, ...] = ()
    #: Causes participants suggested, waiting for the facilitator to put them on the fishbone.
    proposed_causes: tuple[Cause, ...] = ()
    round: int = 1
    revealed: bool = False
    #: Whether the phones may vote now ("open" / "closed"); the facilitator opens each round.
    voting: str = "closed"
    votes: tuple[Vote, ...] = ()
    rankings: tuple[Ranking, ...] = ()
    voters: tuple[str, ...] = ()
    hidden: bool = False
    selected_plays: tuple[PlaySelection, ...] = ()
    actions: tuple[Action, ...] = ()
    #: Actions the team deleted (undo brings them back).
    removed_actions: tuple[Action, ...] = ()
    code_overrides: tuple[CodeOverride, ...] = ()
    #: App settings kept with the session (open step, chosen export...), never part of the analysis.
    settings: dict[str, str | None] = dataclasses.field(default_factory=dict)
    next_id: int = 1
    event_count: int = 0

    def problem(self, problem_id: str) -> Problem:
        """The problem with this id (``ModelError`` if there is none)."""
        return _find(self.problems, problem_id, "problem")

    def why(self, why_id: str) -> Why:
        """The live why with this id."""
        return _find(self.whys, why_id, "why")

    def cause(self, cause_id: str) -> Cause:
        """The live cause with this id."""
        return _find(self.causes, cause_id, "cause")

    def action(self, action_id: str) -> Action:
        """The action with this id."""
        return _find(self.actions, action_id, "action")

    def participant(self, participant_id: str) -> Participant:
        """The participant with this id."""
        return _find(self.participants, participant_id, "participant")

    def tree(self, problem_id: str) -> WhyTree:
        """The five-whys tree of one problem (live whys only)."""
        return WhyTree(
            self.problem(problem_id), tuple(w for w in self.whys if w.problem_id == problem_id)
        )

    def fishbone(self) -> dict[str, tuple[Cause, ...]]:
        """Live causes per category id, every category present, in category order."""
        return causes_by_category(self.categories, self.causes)

    def results(self) -> VoteResult | None:
        """The current round's result, or ``None`` until the facilitator reveals it."""
        if self.hidden or not self.revealed:
            return None
        return aggregate([c.id for c in self.causes], self.votes, self.rankings)

    def recommendations(
        self, playbook: Iterable[Play], *, top: int | None = 3, limit: int | None = 5
    ) -> list[Recommendation]:
        """Plays ranked for the ``top`` causes of the revealed vote (all causes before a reveal)."""
        return recommend(playbook, priorities(self.causes, self.results(), top=top), limit=limit)

    def to_markdown(self) -> str:
        """Every problem's five-whys tree as a Markdown outline."""
        return "\n".join(self.tree(p.id).to_markdown() for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``from_dict`` gives an equal state back)."""
        return _state_adapter().dump_python(self, mode="json")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkshopState:
        """Inverse of :meth:`to_dict`; raises ``ModelError`` naming the first bad field."""
        return _validated(_state_adapter().validate_python, data)

    def to_json(self) -> bytes:
        """Compact UTF-8 JSON of :meth:`to_dict`."""
        return _state_adapter().dump_json(self)

    @classmethod
    def from_json(cls, data: bytes | str) -> WorkshopState:
        """Inverse of :meth:`to_json`."""
        return _validated(_state_adapter().validate_json, data)

    def redacted(self, viewer: str | None = None) -> WorkshopState:
        """This state as ``viewer`` may see it: before the reveal, only their own ballot."""
        if self.revealed or self.hidden:
            return self
        return replace(
            self,
            votes=tuple(v for v in self.votes if v.participant == viewer),
            rankings=tuple(r for r in self.rankings if r.participant == viewer),
            hidden=True,
        )


@cache
def _state_adapter() -> TypeAdapter[WorkshopState]:
    return TypeAdapter(WorkshopState)


def _validated(validate: Callable[[Any], WorkshopState], data: Any) -> WorkshopState:
    try:
        return validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "top level"
        raise ModelError(
            f"expected a workshop state, found {err['msg'].lower()} at {where}"
        ) from None


def _find(items: Iterable[Any], item_id: str, kind: str) -> Any:
    return _live({item.id: item for item in items}, item_id, kind)


def _live(items: Mapping[Any, T], item_id: Any, kind: str) -> T:
    """The item with this id that is not soft-removed, or ``ModelError`` naming the id."""
    item = items.get(item_id)
    if item is None or getattr(item, "removed", False) or getattr(item, "proposed", False):
        raise ModelError(
            f"expected an existing {kind} id, found {item_id!r}", expected=kind, found=str(item_id)
        )
    return item


#: How a :class:`Workshop` keeps each collection of :class:`WorkshopState`: a dict by this key.
_KEYS: dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(("categories", "participants", "problems", "whys", "causes"), attrgetter("id")),
    **{"actions": attrgetter("id"), "votes": attrgetter("participant", "cause_id")},
    **{"rankings": attrgetter("participant"), "selected_plays": attrgetter("play_id")},
    "code_overrides": attrgetter("opportunity_id"),
}
#: Soft-removed items live with the others in the workshop and apart in the state.
_REMOVED = {
    "removed_whys": ("whys", "removed"),
    "removed_causes": ("causes", "removed"),
    "proposed_causes": ("causes", "proposed"),
    "removed_participants": ("participants", "removed"),
    "removed_actions": ("actions", "removed"),
}
#: State fields that :meth:`Workshop.snapshot` computes rather than keeps.
_DERIVED = {*_REMOVED, "voters", "hidden"}

_Handler = Callable[["Workshop", Any, str | None, str | None], R]
_HANDLERS: dict[str, _Handler[Any]] = {}


def _handles(
    model: Callable[P, Operation[R]],
) -> Callable[[_Handler[R]], Callable[Concatenate[Any, P], R]]:
    """Register the decorated method as the one handler of ``model``; its name becomes the public
    method with the model's signature (``Workshop.add_why(parent_id=..., text=...)``)."""

    def register(handler: _Handler[R]) -> Callable[Concatenate[Any, P], R]:
        _HANDLERS[model.kind] = handler  # type: ignore[attr-defined]
        return operation(model)

    return register


class Workshop:
    """The workshop being built: apply operations to it, read it with :meth:`snapshot`.

    Each operation of :mod:`~sales_rca.rootcause.operations` is a method here with the model's
    arguments. Ids are given by the caller (the session derives them from the event number) or
    allocated here. :meth:`apply` applies a stored operation with who (``by``) and when (``at``).

    Example:
        >>> w = Workshop("Q3 losses")
        >>> p = w.add_problem(text="38% of lost deals die at Needs Analysis")
        >>> w.add_why(parent_id=p, text="Reps pitch instead of diagnosing")
        'W2'
    """

    # One attribute per kept field of WorkshopState (collections as dicts, see _KEYS).
    title: str
    categories: dict[str, Category]
    dots_per_person: int
    created_at: str | None
    participants: dict[str, Participant]
    problems: dict[str, Problem]
    whys: dict[str, Why]
    causes: dict[str, Cause]
    round: int
    revealed: bool
    voting: str
    votes: dict[tuple[str, str], Vote]
    rankings: dict[str, Ranking]
    selected_plays: dict[str, PlaySelection]
    actions: dict[str, Action]
    code_overrides: dict[str, CodeOverride]
    settings: dict[str, str | None]
    next_id: int
    event_count: int

    def __init__(
        self,
        title: str,
        *,
        categories: Sequence[Category | Mapping[str, Any]] | None = None,
        dots_per_person: int = 3,
        created_at: str | None = None,
    ) -> None:
        from sales_rca.rootcause.fishbone import load_categories

        if categories is None:
            cats = load_categories()
        else:
            cats = categories_from_data({"categories": [_category_dict(c) for c in categories]})
        self._restore(
            WorkshopState(
                title=check.text(title, "title"),
                categories=tuple(cats),
                dots_per_person=check.count(dots_per_person, "dots_per_person", minimum=1),
                created_at=created_at,
            )
        )

    def _restore(self, state: WorkshopState) -> None:
        for f in dataclasses.fields(WorkshopState):
            if f.name in _DERIVED:
                continue
            value = getattr(state, f.name)
            if f.name in _KEYS:
                apart = [
                    x
                    for r, (kept, _) in _REMOVED.items()
                    if kept == f.name
                    for x in getattr(state, r)
                ]
                if apart:  # restore the insertion order of live and removed items by id number
                    value = sorted((*value, *apart), key=_id_order)
                value = {_KEYS[f.name](item): item for item in value}
            elif isinstance(value, dict):
                value = dict(value)
            setattr(self, f.name, value)

    @classmethod
    def from_state(cls, state: WorkshopState) -> Workshop:
        """A workshop that continues from ``state`` (which must hold every ballot)."""
        if state.hidden:
            raise ModelError("expected a full state, found one with hidden ballots")
        workshop = cls.__new__(cls)
        workshop._restore(state)
        return workshop

    def snapshot(self) -> WorkshopState:
        """An immutable copy of everything, with every ballot (use ``redacted()`` for a viewer)."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(WorkshopState):
            if f.name not in _DERIVED:
                value = getattr(self, f.name)
                keyed = f.name in _KEYS
                values[f.name] = tuple(value.values()) if keyed else copy.copy(value)
        for apart, (
            kept,
            flag,
        ) in _REMOVED.items():  # removed first: a removed suggestion is removed
            values[apart] = tuple(x for x in values[kept] if getattr(x, flag))
            values[kept] = tuple(x for x in values[kept] if not getattr(x, flag))
        votes = tuple(v for v in values["votes"] if not self.causes[v.cause_id].removed)
        values["votes"] = votes
        values["voters"] = tuple(sorted({v.participant for v in votes} | set(self.rankings)))
        return WorkshopState(**values)

    # ----------------------------------------------------------------- applying
    def apply(
        self,
        operation: str,
        data: Mapping[str, Any],
        *,
        by: str | None = None,
        at: str | None = None,
    ) -> Any:
        """Apply one stored operation (``operation`` is a kind in :data:`OPERATIONS`).

        Raises ModelError when ``data`` does not fit the operation's model or breaks a rule; any
        other error is a bug and propagates as it is.
        """
        model = OPERATIONS.get(operation)
        if model is None:
            raise ModelError(
                f"expected an operation among {', '.join(OPERATIONS)}, found {operation!r}"
            )
        result = self._run(model.parse(data), by, at)
        self.event_count += 1
        return result

    def _run(self, op: Operation[Any], by: str | None, at: str | None) -> Any:
        return _HANDLERS[op.kind](self, op, by, at)

    def _perform(self, op: Operation[Any]) -> Any:
        return self._run(op, None, None)

    # ----------------------------------------------------------------- identity and lookup
    def _new_id(self, prefix: str, given: str | None, taken: Mapping[str, Any]) -> str:
        if given is not None:
            check.key(given, "id")
            if given in taken:
                raise ModelError(f"expected a new id, found {given!r} already used")
            return given
        while f"{prefix}{self.next_id}" in taken:
            self.next_id += 1
        new = f"{prefix}{self.next_id}"
        self.next_id += 1
        return new

    def _live_why(self, why_id: Any) -> Why:
        return _live(self.whys, why_id, "why")

    def _live_cause(self, cause_id: Any) -> Cause:
        return _live(self.causes, cause_id, "cause")

    @staticmethod
    def _live_ids(ids: Sequence[str], items: Mapping[str, Any], kind: str) -> tuple[str, ...]:
        keys = check.keys(ids, f"{kind}_ids")
        for key in keys:
            _live(items, key, kind)
        return keys

    def _participant(self, participant: Any) -> Participant:
        found = self.participants.get(participant)
        if found is None or found.removed:
            raise ModelError(
                f"expected a participant who joined, found {participant!r}: call join() first",
                expected="participant",
                found=str(participant),
            )
        return found

    def _category(self, category: Any) -> str:
        return check.choice(category, "category", self.categories)

    @staticmethod
    def _evidence(
        base: str, note: str | None, finding: Finding | None, by: str | None, at: str | None
    ) -> tuple[Evidence, ...]:
        items = []
        if finding is not None:
            items.append(Evidence(id=f"{base}.1", finding=finding, by=by, at=at))
        n = check.optional_text(note, "note")
        if n is not None:
            items.append(Evidence(id=f"{base}.{len(items) + 1}", note=n, by=by, at=at))
        return tuple(items)

    # ----------------------------------------------------------------- operations
    @_handles(ops.Join)
    def join(self, op: ops.Join, by: str | None, at: str | None) -> str:
        name = check.optional_text(op.name, "name")
        pid = self._new_id("U", op.id, self.participants)
        self.participants[pid] = Participant(pid, len(self.participants) + 1, name)
        return pid

    @_handles(ops.Rename)
    def rename(self, op: ops.Rename, by: str | None, at: str | None) -> None:
        self.title = check.text(op.title, "title")

    @_handles(ops.AddProblem)
    def add_problem(self, op: ops.AddProblem, by: str | None, at: str | None) -> str:
        text = check.text(op.text, "problem text")
        pid = self._new_id("P", op.id, {**self.problems, **self.whys})
        evidence = self._evidence(pid, op.note, op.finding, by, at)
        self.problems[pid] = Problem(pid, text, evidence, by, at)
        return pid

    @_handles(ops.UpdateProblem)
    def update_problem(self, op: ops.UpdateProblem, by: str | None, at: str | None) -> None:
        problem = _live(self.problems, op.id, "problem")
        self.problems[op.id] = replace(problem, text=check.text(op.text, "problem text"))

    def _status(self, status: str) -> Status:
        return Status(check.choice(status, "status", [s.value for s in Status]))

    @_handles(ops.AddWhy)
    def add_why(self, op: ops.AddWhy, by: str | None, at: str | None) -> str:
        text = check.text(op.text, "why text")
        if op.parent_id in self.problems:
            problem_id = op.parent_id
        else:
            problem_id = self._live_why(op.parent_id).problem_id
        status = self._status(op.status)
        wid = self._new_id("W", op.id, {**self.problems, **self.whys})
        evidence = self._evidence(wid, op.note, op.finding, by, at)
        why = Why(wid, op.parent_id, problem_id, text, evidence=evidence, by=by, at=at)
        check_status(why, status, op.root_cause, evidence)
        self.whys[wid] = replace(why, status=status, root_cause=op.root_cause)
        return wid

    @_handles(ops.UpdateWhy)
    def update_why(self, op: ops.UpdateWhy, by: str | None, at: str | None) -> None:
        why = self._live_why(op.id)
        changes: dict[str, Any] = {}
        if op.text is not None:
            changes["text"] = check.text(op.text, "why text")
        new_status = why.status if op.status is None else self._status(op.status)
        new_root = why.root_cause if op.root_cause is None else op.root_cause
        check_status(why, new_status, new_root, why.evidence)
        changes.update(status=new_status, root_cause=new_root)
        parent_id = op.parent_id
        if parent_id is not None and parent_id != why.parent_id:
            if parent_id in self.problems:
                parent_problem = parent_id
            else:
                parent_problem = self._live_why(parent_id).problem_id
            if parent_problem != why.problem_id:
                raise ModelError(
                    f"expected a new parent in problem {why.problem_id}, found one in {parent_problem}: "
                    "a why stays in its problem's tree"
                )
            if would_cycle(self.whys, op.id, parent_id):
                raise ModelError(
                    f"cannot move why {op.id} under {parent_id}: {parent_id} is below {op.id}, which would make a cycle",
                    expected="a parent outside the why's own branch",
                    found=parent_id,
                )
            changes.update(parent_id=parent_id, and_group=None)
        self.whys[op.id] = replace(why, **changes)

    def _subtree(self, why_id: str) -> list[str]:
        children: dict[str, list[str]] = {}
        for w in self.whys.values():
            children.setdefault(w.parent_id, []).append(w.id)
        out, stack = [], [why_id]
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(children.get(node, ()))
        return out

    @_handles(ops.RemoveWhy)
    def remove_why(self, op: ops.RemoveWhy, by: str | None, at: str | None) -> None:
        self._live_why(op.id)
        for wid in self._subtree(op.id):
            if not self.whys[wid].removed:
                self.whys[wid] = replace(self.whys[wid], removed_with=op.id)

    @_handles(ops.RestoreWhy)
    def restore_why(self, op: ops.RestoreWhy, by: str | None, at: str | None) -> None:
        why = self.whys.get(op.id)
        if why is None or why.removed_with != op.id:
            raise ModelError(f"expected a why removed with remove_why, found {op.id!r}")
        if why.parent_id not in self.problems:
            self._live_why(why.parent_id)
        for wid in self._subtree(op.id):
            if self.whys[wid].removed_with == op.id:
                self.whys[wid] = replace(self.whys[wid], removed_with=None)

    def _node(self, node_id: Any) -> Problem | Why:
        if node_id in self.problems:
            return self.problems[node_id]
        return self._live_why(node_id)

    @_handles(ops.AttachEvidence)
    def attach_evidence(self, op: ops.AttachEvidence, by: str | None, at: str | None) -> str:
        node = self._node(op.node_id)
        if (op.note is None) == (op.finding is None):
            raise ModelError("expected either a note or a finding as evidence, found both or none")
        eid = self._new_id("E", op.id, {e.id: e for e in node.evidence})
        note = check.optional_text(op.note, "note")
        item = Evidence(eid, note=note, finding=op.finding, by=by, at=at)
        self._put(replace(node, evidence=(*node.evidence, item)))
        return eid

    @_handles(ops.DetachEvidence)
    def detach_evidence(self, op: ops.DetachEvidence, by: str | None, at: str | None) -> None:
        node = self._node(op.node_id)
        kept = tuple(e for e in node.evidence if e.id != op.evidence_id)
        if len(kept) == len(node.evidence):
            raise ModelError(
                f"expected evidence of {op.node_id}, found no {op.evidence_id!r} there"
            )
        if isinstance(node, Why):
            check_status(node, node.status, node.root_cause, kept)
        self._put(replace(node, evidence=kept))

    def _put(self, node: Problem | Why) -> None:
        if isinstance(node, Why):
            self.whys[node.id] = node
        else:
            self.problems[node.id] = node

    @_handles(ops.LinkWhys)
    def link_whys(self, op: ops.LinkWhys, by: str | None, at: str | None) -> None:
        ids = check.keys(op.why_ids, "why_ids")
        whys = [self._live_why(i) for i in ids]
        parents = {w.parent_id for w in whys}
        if len(parents) > 1:
            raise ModelError(
                f"expected siblings (one parent), found parents {', '.join(sorted(parents))}"
            )
        if Relation(op.relation) is Relation.AND:
            if len(ids) < 2:
                raise ModelError(f"expected at least two whys to link with AND, found {len(ids)}")
            groups = {w.and_group for w in whys if w.and_group}
            members = set(ids) | {w.id for w in self.whys.values() if w.and_group in groups}
            token = min(members, key=lambda i: (len(i), i))
            for wid in members:
                self.whys[wid] = replace(self.whys[wid], and_group=token)
        else:
            for wid in ids:
                self.whys[wid] = replace(self.whys[wid], and_group=None)
        # A group left with one member is no group.
        sizes: dict[str, int] = {}
        for w in self.whys.values():
            if w.and_group:
                sizes[w.and_group] = sizes.get(w.and_group, 0) + 1
        for w in list(self.whys.values()):
            if w.and_group and sizes[w.and_group] < 2:
                self.whys[w.id] = replace(w, and_group=None)

    @_handles(ops.AddCause)
    def add_cause(self, op: ops.AddCause, by: str | None, at: str | None) -> str:
        text = check.text(op.text, "cause text")
        category = self._category(op.category)
        whys = self._live_ids(op.why_ids, self.whys, "why")
        codes = check.idents(op.codes, "codes")
        cid = self._new_id("C", op.id, self.causes)
        self.causes[cid] = Cause(cid, text, category, whys, codes, by=by, at=at)
        return cid

    @_handles(ops.UpdateCause)
    def update_cause(self, op: ops.UpdateCause, by: str | None, at: str | None) -> None:
        cause = self._live_cause(op.id)
        changes: dict[str, Any] = {}
        if op.text is not None:
            changes["text"] = check.text(op.text, "cause text")
        if op.category is not None:
            changes["category"] = self._category(op.category)
        if op.why_ids is not None:
            changes["why_ids"] = self._live_ids(op.why_ids, self.whys, "why")
        if op.codes is not None:
            changes["codes"] = check.idents(op.codes, "codes")
        self.causes[op.id] = replace(cause, **changes)

    @_handles(ops.RemoveCause)
    def remove_cause(self, op: ops.RemoveCause, by: str | None, at: str | None) -> None:
        cause = self._cause_or_suggestion(op.id)
        self._keep_revealed((cause.id,))
        self.causes[op.id] = replace(cause, removed=True)

    def _cause_or_suggestion(self, cause_id: Any) -> Cause:
        cause = self.causes.get(cause_id)
        if cause is None or cause.removed:
            return self._live_cause(cause_id)  # raises, naming the id
        return cause

    def _keep_revealed(self, cause_ids: Sequence[str]) -> None:
        """Nothing changes a revealed round: causes it voted on stay as they are."""
        if not self.revealed:
            return
        voted = {v.cause_id for v in self.votes.values()}
        voted |= {c for r in self.rankings.values() for c in r.cause_ids}
        if hit := [c for c in cause_ids if c in voted]:
            raise ModelError(
                f"round {self.round} is revealed and the room voted on {hit[0]}: start a new "
                "round before removing or merging it",
                expected="a cause without revealed votes",
                found=hit[0],
            )

    @_handles(ops.ProposeCause)
    def propose_cause(self, op: ops.ProposeCause, by: str | None, at: str | None) -> str:
        text = check.text(op.text, "cause text")
        category = self._category(op.category)
        cid = self._new_id("C", op.id, self.causes)
        self.causes[cid] = Cause(cid, text, category, by=by, at=at, proposed=True)
        return cid

    @_handles(ops.ApproveCause)
    def approve_cause(self, op: ops.ApproveCause, by: str | None, at: str | None) -> None:
        cause = self.causes.get(op.id)
        if cause is None or cause.removed or not cause.proposed:
            raise ModelError(
                f"expected a suggested cause waiting for approval, found {op.id!r}",
                expected="suggested cause",
                found=str(op.id),
            )
        text = cause.text if op.text is None else check.text(op.text, "cause text")
        category = cause.category if op.category is None else self._category(op.category)
        self.causes[op.id] = replace(cause, text=text, category=category, proposed=False)

    @_handles(ops.MergeCauses)
    def merge_causes(self, op: ops.MergeCauses, by: str | None, at: str | None) -> None:
        into = self._live_cause(op.into)
        ids = check.keys(op.ids, "ids")
        if not ids or op.into in ids:
            raise ModelError(
                f"expected other causes to merge into {op.into}, found {list(ids)!r}",
                expected="other cause ids",
                found=str(list(ids)),
            )
        merged = [self._cause_or_suggestion(c) for c in ids]
        self._keep_revealed(ids)
        whys = tuple(dict.fromkeys((*into.why_ids, *(w for m in merged for w in m.why_ids))))
        codes = tuple(dict.fromkeys((*into.codes, *(k for m in merged for k in m.codes))))
        self.causes[into.id] = replace(into, why_ids=whys, codes=codes)
        for m in merged:
            self.causes[m.id] = replace(m, removed=True)
        # The votes stay with the cause they were meant for: dots on a duplicate move to the
        # cause it merged into (a person's total is unchanged), rankings name it instead.
        gone = {m.id for m in merged}
        for key, vote in list(self.votes.items()):
            if vote.cause_id in gone:
                del self.votes[key]
                kept = self.votes.get((vote.participant, into.id))
                dots = vote.dots + (kept.dots if kept is not None else 0)
                self.votes[(vote.participant, into.id)] = replace(vote, cause_id=into.id, dots=dots)
        for who, ranking in list(self.rankings.items()):
            if gone & set(ranking.cause_ids):
                ids = tuple(into.id if c in gone else c for c in ranking.cause_ids)
                self.rankings[who] = replace(ranking, cause_ids=tuple(dict.fromkeys(ids)))

    @_handles(ops.RemoveParticipant)
    def remove_participant(self, op: ops.RemoveParticipant, by: str | None, at: str | None) -> None:
        person = self._participant(op.id)
        self.participants[op.id] = replace(person, removed=True)
        if not self.revealed:  # a revealed round keeps every ballot it counted
            self.votes = {k: v for k, v in self.votes.items() if v.participant != op.id}
            self.rankings.pop(op.id, None)

    @_handles(ops.OpenVoting)
    def open_voting(self, op: ops.OpenVoting, by: str | None, at: str | None) -> None:
        if self.revealed:
            raise ModelError(
                f"round {self.round} is revealed: start a new round to vote again",
                expected="a hidden round",
                found="revealed",
            )
        self.voting = "open"

    @_handles(ops.CloseVoting)
    def close_voting(self, op: ops.CloseVoting, by: str | None, at: str | None) -> None:
        self.voting = "closed"

    @_handles(ops.StartRound)
    def start_round(self, op: ops.StartRound, by: str | None, at: str | None) -> None:
        if op.dots_per_person is not None:
            self.dots_per_person = check.count(op.dots_per_person, "dots_per_person", minimum=1)
        self.round += 1
        self.revealed = False
        self.voting = "open"
        self.votes = {}
        self.rankings = {}

    def _open_ballot(self, participant: Any) -> str:
        self._participant(participant)
        if self.revealed:
            raise ModelError(
                f"round {self.round} is revealed, so ballots are closed: start a new round to vote again"
            )
        return participant

    @_handles(ops.Vote)
    def vote(self, op: ops.Vote, by: str | None, at: str | None) -> None:
        participant = self._open_ballot(op.participant)
        self._live_cause(op.cause_id)
        dots = check.count(op.dots, "dots")
        used = sum(
            v.dots
            for (p, c), v in self.votes.items()
            if p == participant and c != op.cause_id and not self.causes[c].removed
        )
        if used + dots > self.dots_per_person:
            raise ModelError(
                f"expected at most {self.dots_per_person} dots per person, found {used + dots} for "
                f"{self.participants[participant].label}: take dots back from another cause first",
                expected=str(self.dots_per_person),
                found=str(used + dots),
            )
        if dots == 0:
            self.votes.pop((participant, op.cause_id), None)
        else:
            vote = Vote(participant, op.cause_id, dots, self.round)
            self.votes[(participant, op.cause_id)] = vote

    @_handles(ops.Rank)
    def rank(self, op: ops.Rank, by: str | None, at: str | None) -> None:
        participant = self._open_ballot(op.participant)
        ids = self._live_ids(op.cause_ids, self.causes, "cause")
        if not ids:
            raise ModelError("expected a ranking of at least one cause, found none")
        self.rankings[participant] = Ranking(participant, ids, self.round)

    @_handles(ops.Reveal)
    def reveal(self, op: ops.Reveal, by: str | None, at: str | None) -> None:
        if self.revealed:
            raise ModelError(f"expected a hidden round, found round {self.round} already revealed")
        self.revealed = True
        self.voting = "closed"

    @_handles(ops.SelectPlay)
    def select_play(self, op: ops.SelectPlay, by: str | None, at: str | None) -> None:
        play_id = check.ident(op.play_id, "play_id")
        ids = self._live_ids(op.cause_ids, self.causes, "cause")
        self.selected_plays[play_id] = PlaySelection(play_id, ids, by, at)

    @_handles(ops.UnselectPlay)
    def unselect_play(self, op: ops.UnselectPlay, by: str | None, at: str | None) -> None:
        if op.play_id not in self.selected_plays:
            raise ModelError(f"expected a selected play, found {op.play_id!r}")
        del self.selected_plays[op.play_id]

    def _cause_or_none(self, cause_id: str | None) -> str | None:
        return None if cause_id is None else self._live_cause(cause_id).id

    @staticmethod
    def _play_or_none(play_id: str | None) -> str | None:
        return None if play_id is None else check.ident(play_id, "play_id")

    @_handles(ops.AddAction)
    def add_action(self, op: ops.AddAction, by: str | None, at: str | None) -> str:
        action = Action(
            id="",
            title=check.text(op.title, "action title"),
            owner=check.text(op.owner, "owner"),
            due=op.due,  # type: ignore[arg-type]  # a date once the model is built
            cause_id=self._cause_or_none(op.cause_id),
            play_id=self._play_or_none(op.play_id),
            target=op.target,
            by=by,
            at=at,
        )
        aid = self._new_id("A", op.id, self.actions)
        self.actions[aid] = replace(action, id=aid)
        return aid

    @_handles(ops.UpdateAction)
    def update_action(self, op: ops.UpdateAction, by: str | None, at: str | None) -> None:
        action = _live(self.actions, op.id, "action")
        changes: dict[str, Any] = {}
        if op.title is not None:
            changes["title"] = check.text(op.title, "action title")
        if op.owner is not None:
            changes["owner"] = check.text(op.owner, "owner")
        if op.status is not None:
            changes["status"] = ActionStatus(
                check.choice(op.status, "status", [s.value for s in ActionStatus])
            )
        if op.due is not KEEP:
            changes["due"] = op.due
        if op.cause_id is not KEEP:
            changes["cause_id"] = self._cause_or_none(op.cause_id)
        if op.play_id is not KEEP:
            changes["play_id"] = self._play_or_none(op.play_id)
        if op.target is not KEEP:
            changes["target"] = op.target
        self.actions[op.id] = replace(action, **changes)

    @_handles(ops.RemoveAction)
    def remove_action(self, op: ops.RemoveAction, by: str | None, at: str | None) -> None:
        action = _live(self.actions, op.id, "action")
        self.actions[op.id] = replace(action, removed=True)

    @_handles(ops.OverrideCode)
    def override_code(self, op: ops.OverrideCode, by: str | None, at: str | None) -> None:
        opp = check.text(op.opportunity_id, "opportunity_id")
        self.code_overrides[opp] = CodeOverride(
            opp, check.idents(op.codes, "codes"), check.optional_text(op.note, "note"), by, at
        )

    @_handles(ops.ClearOverride)
    def clear_override(self, op: ops.ClearOverride, by: str | None, at: str | None) -> None:
        if op.opportunity_id not in self.code_overrides:
            raise ModelError(f"expected a deal with an override, found {op.opportunity_id!r}")
        del self.code_overrides[op.opportunity_id]

    @_handles(ops.SetSetting)
    def set_setting(self, op: ops.SetSetting, by: str | None, at: str | None) -> None:
        if not op.key.isidentifier():
            raise ModelError(f"expected a setting name like 'step', found {op.key!r:.60}")
        if op.value is None:
            self.settings.pop(op.key, None)
        else:
            self.settings[op.key] = op.value


def _category_dict(category: Category | Mapping[str, Any]) -> Any:
    if not isinstance(category, Category | Mapping):
        return category  # categories_from_data names what it found
    data = dataclasses.asdict(category) if isinstance(category, Category) else dict(category)
    if isinstance(data.get("examples"), tuple):
        data["examples"] = list(data["examples"])
    return data


def _id_order(item: Any) -> tuple[int, str]:
    digits = "".join(ch for ch in item.id if ch.isdigit())
    return (int(digits) if digits else 0, item.id)
