"""The whole workshop as one pure model: problems, whys, causes, votes, plays, actions, overrides.

:class:`Workshop` applies operations and enforces every rule (no verification without evidence, no
cycles, dots per person, ...). Each operation is a method whose name and JSON-ready arguments are
exactly what :mod:`sales_rca.session` stores as an event, so replaying a log is calling the methods
again. An operation either applies completely or raises :class:`ModelError` and changes nothing.
:meth:`Workshop.snapshot` gives an immutable :class:`WorkshopState` for views and reports.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from sales_rca.errors import ModelError
from sales_rca.findings import Finding
from sales_rca.rootcause import _validate as check
from sales_rca.rootcause.actions import Action, ActionStatus, TargetMetric
from sales_rca.rootcause.fishbone import Category, Cause, categories_from_data, causes_by_category
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


@dataclass(frozen=True)
class Participant:
    """Someone in the room who votes; ``name`` is ``None`` for an anonymous participant."""

    id: str
    number: int
    name: str | None = None

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
    problems: tuple[Problem, ...] = ()
    whys: tuple[Why, ...] = ()
    removed_whys: tuple[Why, ...] = ()
    causes: tuple[Cause, ...] = ()
    removed_causes: tuple[Cause, ...] = ()
    round: int = 1
    revealed: bool = False
    votes: tuple[Vote, ...] = ()
    rankings: tuple[Ranking, ...] = ()
    voters: tuple[str, ...] = ()
    hidden: bool = False
    selected_plays: tuple[PlaySelection, ...] = ()
    actions: tuple[Action, ...] = ()
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
        try:
            return _state_adapter().validate_python(data)
        except ValidationError as exc:
            raise ModelError(f"expected a workshop state, found {_first_error(exc)}") from None

    def to_json(self) -> bytes:
        """Compact UTF-8 JSON of :meth:`to_dict`."""
        return _state_adapter().dump_json(self)

    @classmethod
    def from_json(cls, data: bytes | str) -> WorkshopState:
        """Inverse of :meth:`to_json`."""
        try:
            return _state_adapter().validate_json(data)
        except ValidationError as exc:
            raise ModelError(f"expected a workshop state, found {_first_error(exc)}") from None

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


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{err['msg'].lower()} at {where or 'top level'}"


def _find(items: Iterable[Any], item_id: str, kind: str) -> Any:
    for item in items:
        if item.id == item_id:
            return item
    raise ModelError(
        f"expected an existing {kind} id, found {item_id!r}", expected=kind, found=item_id
    )


def _finding(value: Any) -> Finding | None:
    if value is None or isinstance(value, Finding):
        return value
    if not isinstance(value, Mapping):
        raise ModelError(f"expected a finding, found {value!r:.60}")
    try:
        finding = Finding.from_dict(dict(value))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(
            f"expected a finding with key, title, metric and value, found {exc}"
        ) from None
    check.text(finding.key, "finding key")
    check.text(finding.title, "finding title")
    check.number(finding.value, "finding value")
    return finding


def _target(value: Any) -> TargetMetric | None:
    if value is None or isinstance(value, TargetMetric):
        return value
    if not isinstance(value, Mapping):
        raise ModelError(f"expected a target metric, found {value!r:.60}")
    known = {f.name for f in dataclasses.fields(TargetMetric)}
    extra = sorted(set(value) - known)
    if extra:
        raise ModelError(
            f"expected target fields among {', '.join(sorted(known))}, found {extra[0]}"
        )
    data = dict(value)
    return TargetMetric(
        metric=check.text(data.get("metric"), "target metric"),
        baseline=check.number(data.get("baseline"), "target baseline"),
        target=check.number(data.get("target"), "target value"),
        unit=data.get("unit") or "",
        stage=check.optional_text(data.get("stage"), "target stage"),
        segment=check.optional_text(data.get("segment"), "target segment"),
        category=check.optional_text(data.get("category"), "target category"),
        finding_key=check.optional_text(data.get("finding_key"), "target finding_key"),
    )


def _date(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ModelError(f"expected a due date like 2025-03-31, found {value!r:.60}")


#: Operations a session may store as events (the method names of :class:`Workshop`).
OPERATIONS: tuple[str, ...] = (
    "join",
    "rename",
    "add_problem",
    "update_problem",
    "add_why",
    "update_why",
    "remove_why",
    "restore_why",
    "attach_evidence",
    "detach_evidence",
    "link_whys",
    "add_cause",
    "update_cause",
    "remove_cause",
    "start_round",
    "vote",
    "rank",
    "reveal",
    "select_play",
    "unselect_play",
    "add_action",
    "update_action",
    "override_code",
    "clear_override",
    "set_setting",
)


class Workshop:
    """The workshop being built: apply operations to it, read it with :meth:`snapshot`.

    Every operation takes keyword ``by`` (who) and ``at`` (ISO timestamp) for the record. Ids are
    given by the caller (the session derives them from the event number) or allocated here.

    Example:
        >>> w = Workshop("Q3 losses")
        >>> p = w.add_problem(text="38% of lost deals die at Needs Analysis")
        >>> w.add_why(parent_id=p, text="Reps pitch instead of diagnosing")
        'W2'
    """

    def __init__(
        self,
        title: str,
        *,
        categories: Sequence[Category | Mapping[str, Any]] | None = None,
        dots_per_person: int = 3,
        created_at: str | None = None,
    ) -> None:
        from sales_rca.rootcause.fishbone import load_categories

        self.title = check.text(title, "title")
        if categories is None:
            cats = load_categories()
        else:
            cats = categories_from_data({"categories": [_category_dict(c) for c in categories]})
        self.categories: dict[str, Category] = {c.id: c for c in cats}
        self.dots_per_person = check.count(dots_per_person, "dots_per_person", minimum=1)
        self.created_at = created_at
        self.participants: dict[str, Participant] = {}
        self.problems: dict[str, Problem] = {}
        self.whys: dict[str, Why] = {}
        self.causes: dict[str, Cause] = {}
        self.round = 1
        self.revealed = False
        self.votes: dict[tuple[str, str], Vote] = {}
        self.rankings: dict[str, Ranking] = {}
        self.selected_plays: dict[str, PlaySelection] = {}
        self.actions: dict[str, Action] = {}
        self.code_overrides: dict[str, CodeOverride] = {}
        self.settings: dict[str, str | None] = {}
        self.next_id = 1
        self.event_count = 0

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
        why = self.whys.get(why_id)
        if why is None or why.removed:
            raise ModelError(
                f"expected an existing why id, found {why_id!r}", expected="why", found=str(why_id)
            )
        return why

    def _live_cause(self, cause_id: Any) -> Cause:
        cause = self.causes.get(cause_id)
        if cause is None or cause.removed:
            raise ModelError(
                f"expected an existing cause id, found {cause_id!r}",
                expected="cause",
                found=str(cause_id),
            )
        return cause

    def _participant(self, participant: Any) -> Participant:
        found = self.participants.get(participant)
        if found is None:
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
        base: str, note: Any, finding: Any, by: str | None, at: str | None
    ) -> tuple[Evidence, ...]:
        items = []
        f = _finding(finding)
        if f is not None:
            items.append(Evidence(id=f"{base}.1", finding=f, by=by, at=at))
        n = check.optional_text(note, "note")
        if n is not None:
            items.append(Evidence(id=f"{base}.{len(items) + 1}", note=n, by=by, at=at))
        return tuple(items)

    # ----------------------------------------------------------------- operations
    def join(self, *, id: str | None = None, name: str | None = None, by=None, at=None) -> str:
        """Add a participant, named or anonymous (``name=None``); returns their id."""
        name = check.optional_text(name, "name")
        pid = self._new_id("U", id, self.participants)
        self.participants[pid] = Participant(pid, len(self.participants) + 1, name)
        return pid

    def rename(self, *, title: str, by=None, at=None) -> None:
        """Change the workshop's title."""
        self.title = check.text(title, "title")

    def add_problem(
        self,
        *,
        text: str,
        id: str | None = None,
        finding: Any = None,
        note: str | None = None,
        by=None,
        at=None,
    ) -> str:
        """Add a problem statement (a tree's root); a finding's numbers become its evidence."""
        text = check.text(text, "problem text")
        taken = {**self.problems, **self.whys}
        pid = self._new_id("P", id, taken)
        evidence = self._evidence(pid, note, finding, by, at)
        self.problems[pid] = Problem(pid, text, evidence, by, at)
        return pid

    def update_problem(self, *, id: str, text: str, by=None, at=None) -> None:
        """Reword a problem statement."""
        problem = self.problems.get(id)
        if problem is None:
            raise ModelError(f"expected an existing problem id, found {id!r}")
        self.problems[id] = replace(problem, text=check.text(text, "problem text"))

    def add_why(
        self,
        *,
        parent_id: str,
        text: str,
        id: str | None = None,
        status: str = "hypothesis",
        root_cause: bool = False,
        finding: Any = None,
        note: str | None = None,
        by=None,
        at=None,
    ) -> str:
        """Add a why under a problem or a live why; returns its id."""
        text = check.text(text, "why text")
        if parent_id in self.problems:
            problem_id = parent_id
        else:
            problem_id = self._live_why(parent_id).problem_id
        status_ = Status(check.choice(status, "status", [s.value for s in Status]))
        root_cause = check.flag(root_cause, "root_cause")
        taken = {**self.problems, **self.whys}
        wid = self._new_id("W", id, taken)
        evidence = self._evidence(wid, note, finding, by, at)
        why = Why(wid, parent_id, problem_id, text, evidence=evidence, by=by, at=at)
        check_status(why, status_, root_cause, evidence)
        self.whys[wid] = replace(why, status=status_, root_cause=root_cause)
        return wid

    def update_why(
        self,
        *,
        id: str,
        text: str | None = None,
        status: str | None = None,
        root_cause: bool | None = None,
        parent_id: str | None = None,
        by=None,
        at=None,
    ) -> None:
        """Change a why's text, status, root-cause flag or parent (within the same problem)."""
        why = self._live_why(id)
        changes: dict[str, Any] = {}
        if text is not None:
            changes["text"] = check.text(text, "why text")
        new_status = (
            why.status
            if status is None
            else Status(check.choice(status, "status", [s.value for s in Status]))
        )
        new_root = why.root_cause if root_cause is None else check.flag(root_cause, "root_cause")
        check_status(why, new_status, new_root, why.evidence)
        changes.update(status=new_status, root_cause=new_root)
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
            if would_cycle(self.whys, id, parent_id):
                raise ModelError(
                    f"cannot move why {id} under {parent_id}: {parent_id} is below {id}, which would make a cycle",
                    expected="a parent outside the why's own branch",
                    found=parent_id,
                )
            changes.update(parent_id=parent_id, and_group=None)
        self.whys[id] = replace(why, **changes)

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

    def remove_why(self, *, id: str, by=None, at=None) -> None:
        """Hide a why and the branch below it (soft: :meth:`restore_why` brings it back)."""
        self._live_why(id)
        for wid in self._subtree(id):
            if not self.whys[wid].removed:
                self.whys[wid] = replace(self.whys[wid], removed_with=id)

    def restore_why(self, *, id: str, by=None, at=None) -> None:
        """Bring back a removed why and the branch removed with it."""
        why = self.whys.get(id)
        if why is None or why.removed_with != id:
            raise ModelError(f"expected a why removed with remove_why, found {id!r}")
        if why.parent_id not in self.problems:
            self._live_why(why.parent_id)
        for wid in self._subtree(id):
            if self.whys[wid].removed_with == id:
                self.whys[wid] = replace(self.whys[wid], removed_with=None)

    def _node(self, node_id: Any) -> Problem | Why:
        if node_id in self.problems:
            return self.problems[node_id]
        return self._live_why(node_id)

    def attach_evidence(
        self,
        *,
        node_id: str,
        id: str | None = None,
        note: str | None = None,
        finding: Any = None,
        by=None,
        at=None,
    ) -> str:
        """Attach one note or one finding to a problem or why; returns the evidence id."""
        node = self._node(node_id)
        if (note is None) == (finding is None):
            raise ModelError("expected either a note or a finding as evidence, found both or none")
        taken = {e.id: e for e in node.evidence}
        eid = self._new_id("E", id, taken)
        f = _finding(finding)
        item = Evidence(eid, note=check.optional_text(note, "note"), finding=f, by=by, at=at)
        self._put(replace(node, evidence=(*node.evidence, item)))
        return eid

    def detach_evidence(self, *, node_id: str, evidence_id: str, by=None, at=None) -> None:
        """Remove one piece of evidence; a verified why keeps at least one."""
        node = self._node(node_id)
        kept = tuple(e for e in node.evidence if e.id != evidence_id)
        if len(kept) == len(node.evidence):
            raise ModelError(f"expected evidence of {node_id}, found no {evidence_id!r} there")
        if isinstance(node, Why):
            check_status(node, node.status, node.root_cause, kept)
        self._put(replace(node, evidence=kept))

    def _put(self, node: Problem | Why) -> None:
        if isinstance(node, Why):
            self.whys[node.id] = node
        else:
            self.problems[node.id] = node

    def link_whys(self, *, why_ids: Sequence[str], relation: str, by=None, at=None) -> None:
        """Mark sibling whys as needing each other (``"and"``) or as alternatives (``"or"``)."""
        ids = check.keys(why_ids, "why_ids")
        rel = Relation(check.choice(relation, "relation", [r.value for r in Relation]))
        whys = [self._live_why(i) for i in ids]
        parents = {w.parent_id for w in whys}
        if len(parents) > 1:
            raise ModelError(
                f"expected siblings (one parent), found parents {', '.join(sorted(parents))}"
            )
        if rel is Relation.AND:
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

    def add_cause(
        self,
        *,
        text: str,
        category: str,
        id: str | None = None,
        why_ids: Sequence[str] = (),
        codes: Sequence[str] = (),
        by=None,
        at=None,
    ) -> str:
        """Place a cause on a fishbone category, linked to whys and loss codes; returns its id."""
        text = check.text(text, "cause text")
        category = self._category(category)
        whys = check.keys(why_ids, "why_ids")
        for w in whys:
            self._live_why(w)
        codes_ = check.idents(codes, "codes")
        cid = self._new_id("C", id, self.causes)
        self.causes[cid] = Cause(cid, text, category, whys, codes_, by=by, at=at)
        return cid

    def update_cause(
        self,
        *,
        id: str,
        text: str | None = None,
        category: str | None = None,
        why_ids: Sequence[str] | None = None,
        codes: Sequence[str] | None = None,
        by=None,
        at=None,
    ) -> None:
        """Change a cause's text, category, linked whys or codes."""
        cause = self._live_cause(id)
        changes: dict[str, Any] = {}
        if text is not None:
            changes["text"] = check.text(text, "cause text")
        if category is not None:
            changes["category"] = self._category(category)
        if why_ids is not None:
            whys = check.keys(why_ids, "why_ids")
            for w in whys:
                self._live_why(w)
            changes["why_ids"] = whys
        if codes is not None:
            changes["codes"] = check.idents(codes, "codes")
        self.causes[id] = replace(cause, **changes)

    def remove_cause(self, *, id: str, by=None, at=None) -> None:
        """Take a cause off the fishbone (soft); its votes stop counting."""
        cause = self._live_cause(id)
        self.causes[id] = replace(cause, removed=True)

    def start_round(self, *, dots_per_person: int | None = None, by=None, at=None) -> None:
        """Start a new silent voting round: ballots cleared and hidden again."""
        if dots_per_person is not None:
            self.dots_per_person = check.count(dots_per_person, "dots_per_person", minimum=1)
        self.round += 1
        self.revealed = False
        self.votes = {}
        self.rankings = {}

    def _open_ballot(self, participant: Any) -> str:
        self._participant(participant)
        if self.revealed:
            raise ModelError(
                f"round {self.round} is revealed, so ballots are closed: start a new round to vote again"
            )
        return participant

    def vote(self, *, participant: str, cause_id: str, dots: int = 1, by=None, at=None) -> None:
        """Set how many dots ``participant`` puts on a cause (0 takes them back)."""
        self._open_ballot(participant)
        self._live_cause(cause_id)
        dots = check.count(dots, "dots")
        used = sum(
            v.dots
            for (p, c), v in self.votes.items()
            if p == participant and c != cause_id and not self.causes[c].removed
        )
        if used + dots > self.dots_per_person:
            raise ModelError(
                f"expected at most {self.dots_per_person} dots per person, found {used + dots} for "
                f"{self.participants[participant].label}: take dots back from another cause first",
                expected=str(self.dots_per_person),
                found=str(used + dots),
            )
        if dots == 0:
            self.votes.pop((participant, cause_id), None)
        else:
            self.votes[(participant, cause_id)] = Vote(participant, cause_id, dots, self.round)

    def rank(self, *, participant: str, cause_ids: Sequence[str], by=None, at=None) -> None:
        """Record ``participant``'s ranking of causes, best first (replaces an earlier one)."""
        self._open_ballot(participant)
        ids = check.keys(cause_ids, "cause_ids")
        if not ids:
            raise ModelError("expected a ranking of at least one cause, found none")
        for c in ids:
            self._live_cause(c)
        self.rankings[participant] = Ranking(participant, ids, self.round)

    def reveal(self, *, by=None, at=None) -> None:
        """Reveal the current round's ballots and results to everyone."""
        if self.revealed:
            raise ModelError(f"expected a hidden round, found round {self.round} already revealed")
        self.revealed = True

    def select_play(self, *, play_id: str, cause_ids: Sequence[str] = (), by=None, at=None) -> None:
        """Pick a play for some causes (picking it again updates the causes)."""
        play_id = check.ident(play_id, "play_id")
        ids = check.keys(cause_ids, "cause_ids")
        for c in ids:
            self._live_cause(c)
        self.selected_plays[play_id] = PlaySelection(play_id, ids, by, at)

    def unselect_play(self, *, play_id: str, by=None, at=None) -> None:
        """Drop a picked play."""
        if play_id not in self.selected_plays:
            raise ModelError(f"expected a selected play, found {play_id!r}")
        del self.selected_plays[play_id]

    def add_action(
        self,
        *,
        title: str,
        owner: str,
        id: str | None = None,
        due: Any = None,
        cause_id: str | None = None,
        play_id: str | None = None,
        target: Any = None,
        by=None,
        at=None,
    ) -> str:
        """Commit to an action with owner, due date, cause, play and target metric; returns its id."""
        action = Action(
            id="",
            title=check.text(title, "action title"),
            owner=check.text(owner, "owner"),
            due=_date(due),
            cause_id=None if cause_id is None else self._live_cause(cause_id).id,
            play_id=None if play_id is None else check.ident(play_id, "play_id"),
            target=_target(target),
            by=by,
            at=at,
        )
        aid = self._new_id("A", id, self.actions)
        self.actions[aid] = replace(action, id=aid)
        return aid

    _UNSET: Any = object()

    def update_action(
        self,
        *,
        id: str,
        title: str | None = None,
        owner: str | None = None,
        due: Any = _UNSET,
        status: str | None = None,
        cause_id: Any = _UNSET,
        play_id: Any = _UNSET,
        target: Any = _UNSET,
        by=None,
        at=None,
    ) -> None:
        """Change an action; pass ``None`` to clear due / cause / play / target."""
        action = self.actions.get(id)
        if action is None:
            raise ModelError(f"expected an existing action id, found {id!r}")
        changes: dict[str, Any] = {}
        if title is not None:
            changes["title"] = check.text(title, "action title")
        if owner is not None:
            changes["owner"] = check.text(owner, "owner")
        if status is not None:
            changes["status"] = ActionStatus(
                check.choice(status, "status", [s.value for s in ActionStatus])
            )
        if due is not self._UNSET:
            changes["due"] = _date(due)
        if cause_id is not self._UNSET:
            changes["cause_id"] = None if cause_id is None else self._live_cause(cause_id).id
        if play_id is not self._UNSET:
            changes["play_id"] = None if play_id is None else check.ident(play_id, "play_id")
        if target is not self._UNSET:
            changes["target"] = _target(target)
        self.actions[id] = replace(action, **changes)

    def override_code(
        self,
        *,
        opportunity_id: str,
        codes: Sequence[str],
        note: str | None = None,
        by=None,
        at=None,
    ) -> None:
        """Record the team's loss codes for one deal (an empty list means "none of the codes")."""
        opp = check.text(opportunity_id, "opportunity_id")
        self.code_overrides[opp] = CodeOverride(
            opp, check.idents(codes, "codes"), check.optional_text(note, "note"), by, at
        )

    def clear_override(self, *, opportunity_id: str, by=None, at=None) -> None:
        """Go back to the automatic codes for one deal."""
        if opportunity_id not in self.code_overrides:
            raise ModelError(f"expected a deal with an override, found {opportunity_id!r}")
        del self.code_overrides[opportunity_id]

    def set_setting(self, *, key: str, value: str | None, by=None, at=None) -> None:
        """Remember an app setting (e.g. the open step); ``None`` forgets it."""
        if not isinstance(key, str) or not key.isidentifier():
            raise ModelError(f"expected a setting name like 'step', found {key!r:.60}")
        if value is not None and not isinstance(value, str):
            raise ModelError(f"expected a text value for setting {key}, found {value!r:.60}")
        if value is None:
            self.settings.pop(key, None)
        else:
            self.settings[key] = value

    # ----------------------------------------------------------------- applying and reading
    def apply(
        self,
        operation: str,
        data: Mapping[str, Any],
        *,
        by: str | None = None,
        at: str | None = None,
    ) -> Any:
        """Apply one stored operation (``operation`` is a name in :data:`OPERATIONS`)."""
        if operation not in OPERATIONS:
            raise ModelError(
                f"expected an operation among {', '.join(OPERATIONS)}, found {operation!r}"
            )
        method: Callable[..., Any] = getattr(self, operation)
        if not isinstance(data, Mapping):
            raise ModelError(
                f"expected the data of {operation} to be a mapping, found {data!r:.60}"
            )
        try:
            result = method(**data, by=by, at=at)
        except TypeError as exc:
            raise ModelError(f"expected the arguments of {operation}, found {exc}") from None
        self.event_count += 1
        return result

    def snapshot(self) -> WorkshopState:
        """An immutable copy of everything, with every ballot (use ``redacted()`` for a viewer)."""
        votes = tuple(v for v in self.votes.values() if not self.causes[v.cause_id].removed)
        return WorkshopState(
            title=self.title,
            categories=tuple(self.categories.values()),
            dots_per_person=self.dots_per_person,
            created_at=self.created_at,
            participants=tuple(self.participants.values()),
            problems=tuple(self.problems.values()),
            whys=tuple(w for w in self.whys.values() if not w.removed),
            removed_whys=tuple(w for w in self.whys.values() if w.removed),
            causes=tuple(c for c in self.causes.values() if not c.removed),
            removed_causes=tuple(c for c in self.causes.values() if c.removed),
            round=self.round,
            revealed=self.revealed,
            votes=votes,
            rankings=tuple(self.rankings.values()),
            voters=tuple(sorted({v.participant for v in votes} | set(self.rankings))),
            selected_plays=tuple(self.selected_plays.values()),
            actions=tuple(self.actions.values()),
            code_overrides=tuple(self.code_overrides.values()),
            settings=dict(self.settings),
            next_id=self.next_id,
            event_count=self.event_count,
        )

    @classmethod
    def from_state(cls, state: WorkshopState) -> Workshop:
        """A workshop that continues from ``state`` (which must hold every ballot)."""
        if state.hidden:
            raise ModelError("expected a full state, found one with hidden ballots")
        w = cls(state.title, categories=state.categories, dots_per_person=state.dots_per_person)
        w.created_at = state.created_at
        w.participants = {p.id: p for p in state.participants}
        w.problems = {p.id: p for p in state.problems}
        # Restore the insertion order of live and removed whys / causes by id number.
        whys = sorted((*state.whys, *state.removed_whys), key=_id_order)
        w.whys = {x.id: x for x in whys}
        causes = sorted((*state.causes, *state.removed_causes), key=_id_order)
        w.causes = {c.id: c for c in causes}
        w.round = state.round
        w.revealed = state.revealed
        w.votes = {(v.participant, v.cause_id): v for v in state.votes}
        w.rankings = {r.participant: r for r in state.rankings}
        w.selected_plays = {s.play_id: s for s in state.selected_plays}
        w.actions = {a.id: a for a in state.actions}
        w.code_overrides = {o.opportunity_id: o for o in state.code_overrides}
        w.settings = dict(state.settings)
        w.next_id = state.next_id
        w.event_count = state.event_count
        return w


def _category_dict(category: Category | Mapping[str, Any]) -> dict[str, Any]:
    data = dataclasses.asdict(category) if isinstance(category, Category) else dict(category)
    if isinstance(data.get("examples"), tuple):
        data["examples"] = list(data["examples"])
    return data


def _id_order(item: Any) -> tuple[int, str]:
    digits = "".join(ch for ch in item.id if ch.isdigit())
    return (int(digits) if digits else 0, item.id)
